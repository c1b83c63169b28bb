//! Multi-window, multi-burn-rate alerting on an SLO's error budget.
//!
//! The *burn rate* of a window is how fast the error budget is being spent there, relative to
//! spending it evenly over the SLO window: `(bad / total) / (1 − objective)`. A burn rate of 1
//! exhausts the budget exactly at the end of the SLO window; 1000 (a total outage against a 99.9%
//! objective) exhausts a 30-day budget in 43.2 minutes.
//!
//! A rule fires when the burn rate exceeds its factor over *both* a long window (which makes the
//! alert significant: enough budget was spent to matter) and a short window (which makes it
//! resolve soon after the problem stops, instead of an hour later when the long window forgets
//! it). That is the design the Google SRE workbook recommends (ch. 5, "Alerting on SLOs",
//! approach 6), and the one sloth and pyrra generate as Prometheus rules. Comparisons are strict
//! (`>`), as in those rules (`error_ratio > factor × (1 − objective)`).
//!
//! Everything here is integer arithmetic on counts: objectives and budgets in parts per million,
//! burn-rate factors in millionths ([`BURN_UNIT`]), so that "fires iff the threshold is crossed"
//! is exact and replays bit for bit.
//!
//! The pieces, smallest first:
//! - [`burn_exceeds`]: the threshold test on one window's counts.
//! - [`RuleState`]: one rule's state machine (inactive → pending → firing → inactive), fed the
//!   counts of its two windows at each evaluation. It holds no clock and no counts, so it is
//!   trivially property-testable.
//! - [`RollingCounts`]: good/total counts in slots of one evaluation interval, with running sums
//!   for any number of trailing windows. Memory is `longest window / interval` slots, whatever
//!   the horizon and whatever the traffic.
//! - [`BurnRateAlerter`]: rules + rolling counts + an evaluation clock at a fixed virtual-time
//!   interval + a log of firings and resolutions.
//! - [`grade`]: precision, recall, detection time and reset time of the alert episodes against
//!   the ground-truth fault windows that a simulator (unlike production) knows exactly;
//!   [`faults_while_armed`] picks the faults a rule could have seen.
//!
//! **Arming.** A simulated run starts with no history, and a window is never padded with
//! invented traffic, so early in a run a long window covers only what was measured so far. A
//! rule judged on that would be a different rule: the workbook's 1× ticket over 3 days acts as a
//! 1× alert over the last few hours, and fires on ordinary noise. So a rule is *armed* only once
//! its long window is filled by measured (post-warm-up) data ([`BurnRateRule::armed_at`]);
//! before that it is not evaluated, and a rule whose long window is longer than the run is
//! never armed, which reports say instead of grading it.
//!
//! Sources: Google SRE workbook, ch. 5 "Alerting on SLOs" (table "Recommended parameters for an
//! SLO-based alert"); sloth (`internal/alert/windows/google-30d.yaml`, factor = budget share ×
//! SLO period / long window); pyrra (`slo/rules.go`, `Windows`: windows scaled from a 28-day
//! SLO, factors 14/7/2/1, with a `for` duration).

use crate::{PolicyError, PolicyErrorKind};
use sim_core::Time;

/// Parts per million: objectives and error budgets are stored in these.
pub const PPM: u64 = 1_000_000;

/// Burn-rate factors are stored in millionths: 14.4× is `14_400_000`.
pub const BURN_UNIT: u64 = 1_000_000;

/// The largest burn-rate factor accepted (10⁶×): beyond it no objective with a whole-ppm budget
/// could ever be crossed, and it keeps every product below `u128::MAX`.
pub const MAX_FACTOR: u64 = 1_000_000 * BURN_UNIT;

/// The default evaluation interval: one minute. Prometheus evaluates rule groups every 1 min by
/// default (`evaluation_interval`); sloth's rules inherit it and pyrra's use 30 s. At a 1000×
/// burn the fastest preset rule needs 51.8 s of outage, so a minute keeps the reported detection
/// time within one interval of the analytic one.
pub const DEFAULT_INTERVAL: Time = 60 * sim_core::NANOS_PER_SEC;

/// Good and total counts of one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowCounts {
    /// Good events (successes by the SLI's definition), at most `total`.
    pub good: u64,
    /// All events the SLI counts.
    pub total: u64,
}

impl WindowCounts {
    /// Events that were not good: `total − good`, saturating at 0.
    pub fn bad(&self) -> u64 {
        self.total.saturating_sub(self.good)
    }
}

/// Whether the burn rate over `counts` exceeds `factor` (in [`BURN_UNIT`]s) against an error
/// budget of `budget_ppm` (= 10⁶ − objective in ppm): `bad/total > factor × budget`, compared
/// exactly as `bad · 10¹² > factor · budget · total`. An empty window never exceeds: no traffic
/// is no evidence of burning.
pub fn burn_exceeds(counts: WindowCounts, factor: u64, budget_ppm: u64) -> bool {
    if counts.total == 0 {
        return false;
    }
    let lhs = counts.bad() as u128 * (PPM as u128 * BURN_UNIT as u128);
    let factor = factor.min(MAX_FACTOR) as u128;
    let budget = budget_ppm.min(PPM) as u128;
    // factor ≤ 2^40, budget ≤ 2^20, total < 2^64: the product is below 2^124.
    lhs > factor * budget * counts.total as u128
}

/// The burn rate of `counts` as a number, for reports (`NaN` for an empty window or a zero
/// budget). Decisions never use it; they use [`burn_exceeds`].
pub fn burn_rate(counts: WindowCounts, budget_ppm: u64) -> f64 {
    if counts.total == 0 || budget_ppm == 0 {
        return f64::NAN;
    }
    (counts.bad() as f64 / counts.total as f64) / (budget_ppm as f64 / PPM as f64)
}

/// Who an alert is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Wake someone up (pyrra calls it `critical`).
    Page,
    /// Look at it in working hours (pyrra's `warning`).
    Ticket,
}

impl Severity {
    /// A stable lower-case name for reports: `page` or `ticket`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Page => "page",
            Severity::Ticket => "ticket",
        }
    }
}

/// One multi-window burn-rate rule: fire when the burn rate exceeds `factor` over both `long`
/// and `short`, continuously for at least `for_duration`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnRateRule {
    /// The rule's name, as reports and alert logs show it.
    pub name: String,
    /// Who the alert is for.
    pub severity: Severity,
    /// The long window, in nanoseconds: it makes the alert significant (enough budget burnt).
    pub long: Time,
    /// The short window, at most `long`: it makes the alert reset soon after the burn stops.
    pub short: Time,
    /// Burn-rate threshold in [`BURN_UNIT`]s.
    pub factor: u64,
    /// How long the condition must hold before the rule fires (Prometheus' `for:`; 0 fires at
    /// the first evaluation that sees the condition).
    pub for_duration: Time,
}

impl BurnRateRule {
    /// A validated rule: both windows positive, `short ≤ long`, `0 < factor ≤ MAX_FACTOR`. The
    /// error names the parameter at fault (`long`, `short` or `factor`) and, in its message, the
    /// rule.
    pub fn new(
        name: impl Into<String>,
        severity: Severity,
        long: Time,
        short: Time,
        factor: u64,
        for_duration: Time,
    ) -> Result<BurnRateRule, PolicyError> {
        let name = name.into();
        let fail = |param, kind, message: String| {
            Err(PolicyError::new(
                "burn-rate rule",
                param,
                kind,
                format!("rule `{name}`: {message}"),
            ))
        };
        if long == 0 || short == 0 {
            return fail(
                if long == 0 { "long" } else { "short" },
                PolicyErrorKind::Zero,
                "windows must be longer than zero".into(),
            );
        }
        if short > long {
            return fail(
                "short",
                PolicyErrorKind::OutOfOrder,
                format!(
                    "the short window ({}) is longer than the long window ({})",
                    sim_core::time::format_duration(short),
                    sim_core::time::format_duration(long)
                ),
            );
        }
        if factor == 0 || factor > MAX_FACTOR {
            return fail(
                "factor",
                PolicyErrorKind::OutOfRange,
                "the burn-rate factor must be above 0 and at most 1000000".into(),
            );
        }
        Ok(BurnRateRule {
            name,
            severity,
            long,
            short,
            factor,
            for_duration,
        })
    }

    /// The factor as a number, for reports.
    pub fn factor_f64(&self) -> f64 {
        self.factor as f64 / BURN_UNIT as f64
    }

    /// The first evaluation instant at which the rule is *armed*: its long window then holds
    /// nothing but measured history (`history_start + long`).
    ///
    /// Before that instant the long window would cover only part of its length, so a rule
    /// would judge a few hours with a threshold meant for days: a 3-day ticket at 1× would act
    /// as a 6-hour alert at the start of every run. An unarmed rule is never evaluated: it stays
    /// inactive and its time counts for nothing in its grade. (A production system has the
    /// history; a simulation that starts empty does not, and pretending otherwise would invent
    /// traffic.)
    pub fn armed_at(&self, history_start: Time) -> Time {
        history_start.saturating_add(self.long)
    }

    /// Whether the rule is armed at evaluation instant `at` for history since `history_start`.
    pub fn is_armed(&self, history_start: Time, at: Time) -> bool {
        at >= self.armed_at(history_start)
    }
}

const MIN: Time = 60 * sim_core::NANOS_PER_SEC;
const H: Time = 60 * MIN;
const DAY: Time = 24 * H;

/// Published rule sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Google SRE workbook, ch. 5, table "Recommended parameters for an SLO-based alert"
    /// (derived for a 30-day SLO; the factors are used as printed whatever the SLO window):
    /// page 14.4× over 1h and 5m (2% of the budget in an hour), page 6× over 6h and 30m (5% in
    /// six hours), ticket 1× over 3d and 6h (10% in three days).
    SreWorkbook,
    /// sloth's default alert windows (`google-30d.yaml`, `google-28d.yaml`): the workbook's
    /// three plus a ticket at 10% of the budget over 1d/2h, with every factor recomputed from
    /// the SLO period as `budget share × period / long window` (so 14.4×, 6×, 3×, 1× for 30 days;
    /// 13.44×, 5.6×, 2.8×, 0.933…× for 28 days).
    Sloth,
    /// pyrra's `Windows(sloWindow)`: four rules with windows scaled from those of a 28-day SLO
    /// (critical 14× over 1h/5m for 2m; critical 7× over 6h/30m for 15m; warning 2× over 1d/2h
    /// for 1h; warning 1× over 4d/6h for 3h), each rounded to the minute as pyrra does.
    Pyrra,
}

impl Preset {
    /// The rules of this preset for an SLO over `slo_window`: a zero window is a
    /// [`PolicyErrorKind::Zero`] of `slo_window`; a window so short that a scaled rule breaks
    /// [`BurnRateRule::new`] fails with that rule's error.
    pub fn rules(self, slo_window: Time) -> Result<Vec<BurnRateRule>, PolicyError> {
        if slo_window == 0 {
            return Err(PolicyError::new(
                "burn-rate preset",
                "slo_window",
                PolicyErrorKind::Zero,
                "the SLO window must be longer than zero",
            ));
        }
        match self {
            Preset::SreWorkbook => Ok(vec![
                BurnRateRule::new("page-1h-5m", Severity::Page, H, 5 * MIN, 14_400_000, 0)?,
                BurnRateRule::new("page-6h-30m", Severity::Page, 6 * H, 30 * MIN, 6_000_000, 0)?,
                BurnRateRule::new(
                    "ticket-3d-6h",
                    Severity::Ticket,
                    3 * DAY,
                    6 * H,
                    BURN_UNIT,
                    0,
                )?,
            ]),
            Preset::Sloth => {
                let specs: [(&str, Severity, u64, Time, Time); 4] = [
                    ("page-quick", Severity::Page, 2, H, 5 * MIN),
                    ("page-slow", Severity::Page, 5, 6 * H, 30 * MIN),
                    ("ticket-quick", Severity::Ticket, 10, DAY, 2 * H),
                    ("ticket-slow", Severity::Ticket, 10, 3 * DAY, 6 * H),
                ];
                specs
                    .iter()
                    .map(|&(name, sev, percent, long, short)| {
                        let f = factor_from_budget_share(percent * 10_000, slo_window, long);
                        BurnRateRule::new(name, sev, long, short, f, 0)
                    })
                    .collect()
            }
            Preset::Pyrra => {
                // (severity, long, short, for) as divisors of the SLO window, and the factor.
                let specs: [(&str, Severity, u64, u64, u64, u64); 4] = [
                    (
                        "critical-1",
                        Severity::Page,
                        28 * 24,
                        28 * 24 * 12,
                        28 * 24 * 30,
                        14,
                    ),
                    (
                        "critical-2",
                        Severity::Page,
                        28 * 4,
                        28 * 24 * 2,
                        28 * 24 * 4,
                        7,
                    ),
                    ("warning-1", Severity::Ticket, 28, 28 * 12, 28 * 24, 2),
                    ("warning-2", Severity::Ticket, 7, 28 * 4, 28 * 8, 1),
                ];
                specs
                    .iter()
                    .map(|&(name, sev, long, short, for_, factor)| {
                        let round = |d: u64| round_to_minute(slo_window / d);
                        BurnRateRule::new(
                            name,
                            sev,
                            round(long),
                            round(short),
                            factor * BURN_UNIT,
                            round(for_),
                        )
                    })
                    .collect()
            }
        }
    }
}

/// The factor that spends `share_ppm` of the budget of an SLO window `period` within `long`:
/// `share × period / long`, floored to a millionth.
pub fn factor_from_budget_share(share_ppm: u64, period: Time, long: Time) -> u64 {
    if long == 0 {
        return MAX_FACTOR;
    }
    let f = share_ppm as u128 * period as u128 * BURN_UNIT as u128 / (PPM as u128 * long as u128);
    f.min(MAX_FACTOR as u128) as u64
}

/// Go's `Duration.Round(time.Minute)`: to the nearest minute, halves away from zero; never 0
/// here (a zero window would be invalid), so at least one minute.
fn round_to_minute(d: Time) -> Time {
    let r = (d / MIN + u64::from(d % MIN >= MIN / 2)) * MIN;
    r.max(MIN)
}

/// A change of a rule's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The condition had held for the rule's `for` duration: the alert started firing.
    Fired,
    /// The condition stopped holding while the alert was firing.
    Resolved,
}

/// One rule's state: Prometheus' alert states (inactive, pending, firing) driven by the counts
/// of its two windows at each evaluation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RuleState {
    /// When the condition started to hold continuously (pending or firing).
    active_since: Option<Time>,
    firing: bool,
}

impl RuleState {
    /// Inactive: the condition has not been seen to hold.
    pub fn new() -> RuleState {
        RuleState::default()
    }

    /// Whether the rule is firing (not merely pending).
    pub fn is_firing(&self) -> bool {
        self.firing
    }

    /// Whether the rule's condition holds for these counts.
    pub fn condition(
        rule: &BurnRateRule,
        long: WindowCounts,
        short: WindowCounts,
        budget_ppm: u64,
    ) -> bool {
        burn_exceeds(long, rule.factor, budget_ppm) && burn_exceeds(short, rule.factor, budget_ppm)
    }

    /// One evaluation at `now`. Fires once the condition has held for `for_duration`; resolves
    /// at the first evaluation where it no longer holds.
    pub fn evaluate(
        &mut self,
        rule: &BurnRateRule,
        now: Time,
        long: WindowCounts,
        short: WindowCounts,
        budget_ppm: u64,
    ) -> Option<Transition> {
        if RuleState::condition(rule, long, short, budget_ppm) {
            let since = *self.active_since.get_or_insert(now);
            if !self.firing && now.saturating_sub(since) >= rule.for_duration {
                self.firing = true;
                return Some(Transition::Fired);
            }
            None
        } else {
            self.active_since = None;
            if self.firing {
                self.firing = false;
                return Some(Transition::Resolved);
            }
            None
        }
    }
}

/// The most slots a [`RollingCounts`] may hold (2²¹ ≈ 2.1 million: 24 days at one second, four
/// years at one minute); beyond it, evaluate less often.
pub const MAX_SLOTS: u64 = 1 << 21;

/// Good/total counts in slots of one evaluation interval, with running sums over several
/// trailing windows, each a whole number of slots.
///
/// Slot `k` holds what was added in `[start + k·interval, start + (k+1)·interval)`. Closing a
/// slot moves the *boundary* one interval on; the sums then cover the last `n` closed slots, so
/// an evaluation at the boundary `t` sees exactly what happened in `[t − window, t)` (or since
/// `start`, early in a run: a window is never padded with invented traffic, as Prometheus' `rate`
/// over a short history is not).
#[derive(Debug, Clone)]
pub struct RollingCounts {
    interval: Time,
    /// Slots per window.
    lengths: Vec<u64>,
    sums: Vec<WindowCounts>,
    ring: Vec<WindowCounts>,
    /// Index of the open slot (the one being added to); slots below it are closed.
    open: u64,
    /// The last slot that received any events, to know when every window is empty.
    last_busy: Option<u64>,
    start: Time,
}

impl RollingCounts {
    /// `windows` must each be a positive multiple of `interval` (else a `Zero` or
    /// `NotMultiple` error of `windows`), and the longest at most `MAX_SLOTS − 1` intervals (else
    /// `TooLarge` of `interval`: a longer interval is the fix). A zero `interval` is `Zero`.
    pub fn new(
        start: Time,
        interval: Time,
        windows: &[Time],
    ) -> Result<RollingCounts, PolicyError> {
        let fail = |param, kind, message: String| {
            Err(PolicyError::new("rolling counts", param, kind, message))
        };
        if interval == 0 {
            return fail(
                "interval",
                PolicyErrorKind::Zero,
                "the evaluation interval must be longer than zero".into(),
            );
        }
        let mut lengths = Vec::with_capacity(windows.len());
        for &w in windows {
            if w == 0 || !w.is_multiple_of(interval) {
                return fail(
                    "windows",
                    if w == 0 {
                        PolicyErrorKind::Zero
                    } else {
                        PolicyErrorKind::NotMultiple
                    },
                    format!(
                        "window {} is not a whole number of evaluation intervals ({})",
                        sim_core::time::format_duration(w),
                        sim_core::time::format_duration(interval)
                    ),
                );
            }
            lengths.push(w / interval);
        }
        let longest = lengths.iter().copied().max().unwrap_or(1);
        if longest + 1 > MAX_SLOTS {
            return fail(
                "interval",
                PolicyErrorKind::TooLarge,
                format!(
                    "a window of {longest} evaluation intervals needs more than {MAX_SLOTS} \
                     slots; use a longer evaluation interval"
                ),
            );
        }
        Ok(RollingCounts {
            interval,
            sums: vec![WindowCounts::default(); lengths.len()],
            lengths,
            ring: vec![WindowCounts::default(); (longest + 1) as usize],
            open: 0,
            last_busy: None,
            start,
        })
    }

    /// Whether every window is empty and stays empty until something is added: the last slot
    /// with events has left even the longest window.
    pub fn is_idle(&self) -> bool {
        let longest = self.ring.len() as u64 - 1;
        self.last_busy
            .is_none_or(|b| self.open > b.saturating_add(longest))
    }

    /// When idle, moves straight to the slot holding `now`: the evaluations skipped would all
    /// have seen empty windows. Does nothing otherwise.
    pub fn skip_idle(&mut self, now: Time) {
        if self.is_idle() && now >= self.start {
            let slot = (now - self.start) / self.interval;
            self.open = self.open.max(slot);
        }
    }

    /// The evaluation interval: the width of a slot, in nanoseconds.
    pub fn interval(&self) -> Time {
        self.interval
    }

    /// The end of the open slot: the next evaluation instant.
    pub fn next_boundary(&self) -> Time {
        self.start
            .saturating_add((self.open + 1).saturating_mul(self.interval))
    }

    /// Adds to the open slot. The caller closes slots up to `now` first; whatever it adds goes
    /// to the open slot.
    pub fn add(&mut self, good: u64, total: u64) {
        let n = self.ring.len() as u64;
        let slot = &mut self.ring[(self.open % n) as usize];
        slot.good = slot.good.saturating_add(good.min(total));
        slot.total = slot.total.saturating_add(total);
        if total > 0 {
            self.last_busy = Some(self.open);
        }
    }

    /// Closes the open slot: every window takes it in and drops its oldest slot.
    pub fn close_slot(&mut self) {
        let n = self.ring.len() as u64;
        let closing = self.ring[(self.open % n) as usize];
        for (sum, &len) in self.sums.iter_mut().zip(&self.lengths) {
            sum.good = sum.good.saturating_add(closing.good);
            sum.total = sum.total.saturating_add(closing.total);
            if self.open >= len {
                let old = self.ring[((self.open - len) % n) as usize];
                sum.good -= old.good.min(sum.good);
                sum.total -= old.total.min(sum.total);
            }
        }
        self.open += 1;
        // The slot that becomes open last held slot `open − n`, which no window needs any more
        // (the longest window reaches back to `open − (n − 1)`).
        self.ring[(self.open % n) as usize] = WindowCounts::default();
    }

    /// The counts of window `i` (in the order given to `new`) as of the last closed slot.
    pub fn window(&self, i: usize) -> WindowCounts {
        self.sums.get(i).copied().unwrap_or_default()
    }
}

/// A log entry: rule `rule` fired or resolved at `at`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertEvent {
    /// The evaluation instant at which the transition happened.
    pub at: Time,
    /// The rule's index in the rule set.
    pub rule: usize,
    /// Whether the rule fired or resolved.
    pub transition: Transition,
    /// Burn rates over the rule's long and short windows at that evaluation.
    pub burn_long: f64,
    /// The burn rate over the short window (`burn_long` is over the long one); NaN for an empty window.
    pub burn_short: f64,
}

/// The most log entries an alerter keeps; later ones are counted but not stored, so a flapping
/// rule cannot make memory grow with the horizon.
pub const MAX_LOG: usize = 10_000;

/// A set of burn-rate rules and their state: what fired and resolved, and when. It keeps no
/// counts: each evaluation reads the rules' windows from a [`RollingCounts`] its owner keeps
/// (rule `i` reads windows `2i` (long) and `2i + 1` (short)), so an owner that needs other
/// windows over the same events (an SLO's compliance and incident windows) keeps one set of
/// counts for all of them.
#[derive(Debug, Clone)]
pub struct AlertRules {
    rules: Vec<BurnRateRule>,
    states: Vec<RuleState>,
    budget_ppm: u64,
    /// Where measured history begins: rule `i` is evaluated from `history_start + long` on.
    history_start: Time,
    log: Vec<AlertEvent>,
    log_dropped: u64,
    firings: Vec<u64>,
}

impl AlertRules {
    /// `budget_ppm` is 10⁶ minus the objective in ppm, and must be in `1..=10⁶`;
    /// `history_start` is where measured history begins (the end of a warm-up): each rule is
    /// [armed](BurnRateRule::armed_at) once its long window lies wholly after it.
    pub fn new(
        rules: Vec<BurnRateRule>,
        budget_ppm: u64,
        history_start: Time,
    ) -> Result<AlertRules, PolicyError> {
        if budget_ppm == 0 || budget_ppm > PPM {
            return Err(PolicyError::new(
                "burn-rate alerting",
                "budget_ppm",
                PolicyErrorKind::OutOfRange,
                format!("the error budget must be between 1 and 1000000 ppm, found {budget_ppm}"),
            ));
        }
        Ok(AlertRules {
            states: vec![RuleState::new(); rules.len()],
            firings: vec![0; rules.len()],
            rules,
            budget_ppm,
            history_start,
            log: Vec::new(),
            log_dropped: 0,
        })
    }

    /// The windows the rules read, in the order [`evaluate`](Self::evaluate) expects them at
    /// the front of the counts: long and short of each rule.
    pub fn windows(&self) -> Vec<Time> {
        self.rules.iter().flat_map(|r| [r.long, r.short]).collect()
    }

    /// The rules, in the order their indices refer to.
    pub fn rules(&self) -> &[BurnRateRule] {
        &self.rules
    }

    /// When rule `rule` is armed (`None` for an index past the last rule).
    pub fn armed_at(&self, rule: usize) -> Option<Time> {
        self.rules.get(rule).map(|r| r.armed_at(self.history_start))
    }

    /// One evaluation at `at` over `counts` (whose first windows are [`windows`](Self::windows)):
    /// each armed rule fires or resolves; the log records the transition with both burn rates.
    /// A rule not yet armed is skipped: it stays inactive.
    pub fn evaluate(&mut self, at: Time, counts: &RollingCounts) {
        for (i, rule) in self.rules.iter().enumerate() {
            if !rule.is_armed(self.history_start, at) {
                continue;
            }
            let long = counts.window(2 * i);
            let short = counts.window(2 * i + 1);
            if let Some(t) = self.states[i].evaluate(rule, at, long, short, self.budget_ppm) {
                if t == Transition::Fired {
                    self.firings[i] += 1;
                }
                if self.log.len() < MAX_LOG {
                    self.log.push(AlertEvent {
                        at,
                        rule: i,
                        transition: t,
                        burn_long: burn_rate(long, self.budget_ppm),
                        burn_short: burn_rate(short, self.budget_ppm),
                    });
                } else {
                    self.log_dropped += 1;
                }
            }
        }
    }

    /// Whether rule `rule` is firing; `false` for an index past the last rule.
    pub fn is_firing(&self, rule: usize) -> bool {
        self.states.get(rule).is_some_and(RuleState::is_firing)
    }

    /// Whether any rule is firing.
    pub fn any_firing(&self) -> bool {
        self.states.iter().any(RuleState::is_firing)
    }

    /// Times each rule fired (counted even when the log is full).
    pub fn firings(&self) -> &[u64] {
        &self.firings
    }

    /// Every transition so far, in time order, up to [`MAX_LOG`] entries.
    pub fn log(&self) -> &[AlertEvent] {
        &self.log
    }

    /// Log entries not kept because the log was full.
    pub fn log_dropped(&self) -> u64 {
        self.log_dropped
    }

    /// The firing episodes of rule `rule` from the log; one still firing has no resolution.
    pub fn episodes(&self, rule: usize) -> Vec<Episode> {
        episodes_from_log(&self.log, |e| e.rule == rule)
    }

    /// Episodes during which at least one rule fired (the union over rules).
    pub fn any_episodes(&self) -> Vec<Episode> {
        let per_rule: Vec<Vec<Episode>> = (0..self.rules.len()).map(|r| self.episodes(r)).collect();
        union_episodes(&per_rule)
    }

    /// The firings, the log and how many entries it dropped, for a report.
    pub fn into_parts(self) -> (Vec<u64>, Vec<AlertEvent>, u64) {
        (self.firings, self.log, self.log_dropped)
    }
}

/// Burn-rate rules evaluated at a fixed virtual-time interval over the counts fed to it: an
/// [`AlertRules`] with its own [`RollingCounts`].
///
/// Evaluations happen at `start + k·interval` (k ≥ 1) and see what was recorded strictly before
/// that instant. Nothing ticks: [`advance`](Self::advance) runs every evaluation instant up to
/// `now` when it is called (recording calls it), so an idle stretch costs one cheap step per
/// interval when traffic resumes, and none if the run ends first.
#[derive(Debug, Clone)]
pub struct BurnRateAlerter {
    alerts: AlertRules,
    counts: RollingCounts,
}

impl BurnRateAlerter {
    /// `budget_ppm` is 10⁶ minus the objective in ppm, and must be in `1..=10⁶`; the errors are
    /// [`AlertRules::new`]'s and then [`RollingCounts::new`]'s over the rules' windows.
    pub fn new(
        rules: Vec<BurnRateRule>,
        budget_ppm: u64,
        interval: Time,
        start: Time,
    ) -> Result<BurnRateAlerter, PolicyError> {
        let alerts = AlertRules::new(rules, budget_ppm, start)?;
        let counts = RollingCounts::new(start, interval, &alerts.windows())?;
        Ok(BurnRateAlerter { alerts, counts })
    }

    /// The rules and their state: what is firing, the firings, the log and the episodes.
    pub fn alerts(&self) -> &AlertRules {
        &self.alerts
    }

    /// Runs every evaluation due by `now` (instants `≤ now`).
    pub fn advance(&mut self, now: Time) {
        while self.counts.next_boundary() <= now {
            // Every window was empty at the last evaluation, so every rule is inactive, and
            // the evaluations up to `now` would see nothing either.
            if self.counts.is_idle() {
                self.counts.skip_idle(now);
                break;
            }
            let at = self.counts.next_boundary();
            self.counts.close_slot();
            self.alerts.evaluate(at, &self.counts);
            if at == Time::MAX {
                break;
            }
        }
    }

    /// Records `good` good events out of `total` at `now` (after running the evaluations due).
    pub fn record(&mut self, now: Time, good: u64, total: u64) {
        self.advance(now);
        self.counts.add(good, total);
    }
}

mod grade;
pub use grade::{
    AlertGrade, Episode, FaultWindow, episodes_from_log, faults_while_armed, grade, union_episodes,
};

#[cfg(test)]
mod tests;
