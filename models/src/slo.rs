//! Service level objectives, error budgets and burn-rate alerts, measured in virtual time.
//!
//! An SLO here is plain configuration ([`SloConfig`]), shaped after the OpenSLO spec (v1 `SLO`:
//! an indicator, an objective, a time window, a budgeting method). The world feeds one
//! [`SloTracker`] per replication with the facts of every finished call
//! ([`SloTracker::record`]); the tracker classifies each call as good, bad or not counted per
//! SLO, adds it to integer counts, evaluates burn-rate alert rules at a fixed virtual-time
//! interval, and at the end ([`SloTracker::finish`]) yields per-SLO results, the alert log and
//! the grading of the alerts against the ground-truth fault windows.
//!
//! Memory does not grow with the number of calls, nor (beyond the ≤ 500 report buckets) with the
//! horizon: counts live in a ring of one evaluation interval per slot that spans the longest
//! window any SLO needs (capped at the measured span), threshold SLIs keep one histogram for the
//! slice in progress, and logs are capped.
//!
//! ## Definitions (all exact, in integers)
//!
//! - **Objective** in parts per million ([`Objective`]), parsed from decimal text, never through
//!   `1 − 0.999` in floating point. The error budget is `10⁶ − objective` ppm.
//! - **Units.** With *Occurrences* budgeting a unit is a counted call; with *Timeslices* it is a
//!   slice of time, good when the slice's ratio of good calls reaches the slice target (ratio
//!   SLIs) or when the slice's quantile is within the threshold (threshold SLIs). An empty slice
//!   is judged by [`EmptySlice`] (default: good, since nobody was served badly). The slice in
//!   progress when the run ends is judged on what it holds, and dropped if it holds nothing.
//! - **Compliance windows.** Rolling (the trailing window at each evaluation) or calendar.
//!   Virtual time has no calendar, so calendar windows are consecutive windows of the given
//!   length starting at the end of the warm-up.
//! - **Budget of a window** = budget fraction × the units the window holds. Before a window is
//!   complete its unit count is extrapolated at the rate seen so far (`units × window / elapsed`;
//!   Timeslices know it exactly: `window / slice`). So a 30-day window at 99.9% with steady
//!   traffic allows exactly 43.2 minutes of total outage wherever in the window it happens, and a
//!   run shorter than the window reports the share of a full window's budget it burned.
//! - **Budget consumed** = bad units / budget; remaining = 1 − consumed (negative once overspent).
//!   **Exhausted** at the first evaluation where consumed > 1; **time to exhaustion** is from the
//!   start of that window.
//! - **Breached window**: a complete window whose SLI is below the objective (equivalently,
//!   consumed > 1 at its end). Rolling windows count breach *episodes* over the evaluations with a
//!   complete trailing window. A run shorter than its window is judged on its extrapolated
//!   budget at the end. `met` means no window was breached.
//! - **Incidents**: maximal runs of evaluations at which the SLI over the trailing
//!   `incident_window` is below the objective. MTTR = mean incident duration; MTBF = time not in
//!   an incident / incidents (the operational definition). An incident open at the end is closed
//!   there.
//! - **Burn-rate alerts**: see [`policies::burn_rate`]; they run on the same units.
//!
//! Sources: OpenSLO specification v1 (SLO kind: `budgetingMethod` Occurrences/Timeslices,
//! `timeSliceTarget`, `timeSliceWindow`, rolling/calendar `timeWindow`); Google SRE workbook
//! ch. 2 "Implementing SLOs" and ch. 5 "Alerting on SLOs".

use policies::burn_rate::{
    AlertEvent, AlertGrade, BurnRateRule, FaultWindow, PPM, RollingCounts, RuleState, Transition,
    WindowCounts, burn_rate, episodes_from_log, grade, union_episodes,
};
use sim_core::series::BucketGrid;
use sim_core::stats::LatencyHistogram;
use sim_core::summary::MetricSet;
use sim_core::time::{Time, as_secs_f64, format_duration};

/// An objective in parts per million, strictly between 0 and 10⁶ (a 100% objective leaves no
/// budget, so nothing about it could be measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Objective(u64);

impl Objective {
    pub fn from_ppm(ppm: u64) -> Result<Objective, String> {
        if ppm == 0 || ppm >= PPM {
            return Err(format!(
                "an objective must be above 0% and below 100%, found {ppm} ppm"
            ));
        }
        Ok(Objective(ppm))
    }

    /// A percentage written as decimal text: `"99.9"` or `"99.9%"`, at most four decimals
    /// (a whole number of ppm).
    pub fn parse_percent(text: &str) -> Result<Objective, String> {
        let t = text.trim();
        let digits = t.strip_suffix('%').unwrap_or(t).trim_end();
        let ppm = decimal_scaled(digits, 4).map_err(|e| {
            format!("objective \"{text}\": {e} (write it like \"99.9\" or \"99.9%\")")
        })?;
        Objective::from_ppm(ppm)
    }

    /// A fraction written as decimal text, `"0.999"`, at most six decimals.
    pub fn parse_fraction(text: &str) -> Result<Objective, String> {
        let ppm = decimal_scaled(text.trim(), 6)
            .map_err(|e| format!("objective {text}: {e} (write it like 0.999)"))?;
        Objective::from_ppm(ppm)
    }

    /// A fraction given as a number, read through its shortest decimal representation (the one
    /// the user wrote: `0.999` prints as `"0.999"`), so no binary rounding leaks in.
    pub fn from_fraction(x: f64) -> Result<Objective, String> {
        if !x.is_finite() || x <= 0.0 || x >= 1.0 {
            return Err(format!(
                "an objective given as a number must be a fraction between 0 and 1 (like \
                 0.999), found {x}; write percentages as strings: \"99.9\" or \"99.9%\""
            ));
        }
        Objective::parse_fraction(&format!("{x}"))
    }

    pub fn ppm(self) -> u64 {
        self.0
    }

    /// The error budget in ppm: `10⁶ − objective`.
    pub fn budget_ppm(self) -> u64 {
        PPM - self.0
    }

    /// The time a total outage may last within `window` without breaching:
    /// `window × budget`, floored to a nanosecond (exact for every whole-ppm objective and
    /// whole-second window).
    pub fn allowed_outage(self, window: Time) -> Time {
        (window as u128 * self.budget_ppm() as u128 / PPM as u128) as Time
    }

    /// The objective as a fraction, for reports.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / PPM as f64
    }
}

/// `text` (digits with at most one decimal point) times 10^`scale`, which must be a whole
/// number: exact decimal arithmetic for objectives, targets and burn-rate factors.
pub fn decimal_scaled(text: &str, scale: u32) -> Result<u64, String> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("not a decimal number".into());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err("finer than one part per million".into());
    }
    let too_big = || "too large".to_string();
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_big())?
    };
    let frac_value: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().map_err(|_| too_big())? * 10u64.pow(scale - frac.len() as u32)
    };
    int.checked_mul(10u64.pow(scale))
        .and_then(|v| v.checked_add(frac_value))
        .ok_or_else(too_big)
}

/// How a call ended, as SLOs classify it (the world's step outcomes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CallOutcome {
    /// A correct answer.
    Correct,
    /// An undetected soft failure (hallucination, format violation ...) that was accepted.
    WrongAccepted,
    /// A soft failure that a validator caught and the gateway handled.
    DetectedHandled,
    /// Served from a cache, a default or a fallback model.
    Degraded,
    /// Rejected by a rate limit (ours or the provider's) in the end.
    Throttled,
    /// Dropped by admission control or load shedding.
    Shed,
    /// Every attempt failed.
    Failed,
}

impl CallOutcome {
    pub const ALL: [CallOutcome; 7] = [
        CallOutcome::Correct,
        CallOutcome::WrongAccepted,
        CallOutcome::DetectedHandled,
        CallOutcome::Degraded,
        CallOutcome::Throttled,
        CallOutcome::Shed,
        CallOutcome::Failed,
    ];

    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Correct => "correct",
            CallOutcome::WrongAccepted => "wrong_accepted",
            CallOutcome::DetectedHandled => "detected_handled",
            CallOutcome::Degraded => "degraded",
            CallOutcome::Throttled => "throttled",
            CallOutcome::Shed => "shed",
            CallOutcome::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<CallOutcome> {
        CallOutcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of outcomes, as a bitset (fixed order, no hashing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutcomeSet(u8);

impl OutcomeSet {
    pub const NONE: OutcomeSet = OutcomeSet(0);
    pub const ALL: OutcomeSet = OutcomeSet(0x7f);
    /// Calls that returned an answer: correct, wrong-but-accepted, detected-and-handled,
    /// degraded.
    pub const ANSWERED: OutcomeSet = OutcomeSet(0x0f);

    pub fn of(outcomes: &[CallOutcome]) -> OutcomeSet {
        OutcomeSet(outcomes.iter().fold(0, |m, o| m | o.bit()))
    }

    pub fn contains(self, o: CallOutcome) -> bool {
        self.0 & o.bit() != 0
    }

    pub fn without(self, outcomes: &[CallOutcome]) -> OutcomeSet {
        OutcomeSet(self.0 & !OutcomeSet::of(outcomes).0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// What the world tells the tracker about one finished call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CallFacts {
    pub outcome: CallOutcome,
    /// From arrival to the end of the call, whatever the outcome.
    pub latency: Time,
    /// Time to first token, when the call streamed one (`None`: no token model, or no answer).
    pub ttft: Option<Time>,
    /// Every attempt billed for this call, in USD.
    pub cost_usd: f64,
}

/// A ratio SLI: good / total over counted calls (OpenSLO `ratioMetric`). A call is counted if
/// its outcome is in `total`; it is good if its outcome is also in `good` and it meets every
/// limit given.
#[derive(Debug, Clone, PartialEq)]
pub struct RatioSli {
    pub total: OutcomeSet,
    pub good: OutcomeSet,
    pub latency_max: Option<Time>,
    /// A call without a first-token time is judged on its latency (its first token cannot have
    /// come later than its end).
    pub ttft_max: Option<Time>,
    pub cost_max_usd: Option<f64>,
}

impl RatioSli {
    /// Availability: every call counts; good unless it failed, was throttled or shed.
    pub fn availability() -> RatioSli {
        RatioSli {
            total: OutcomeSet::ALL,
            good: OutcomeSet::ALL.without(&[
                CallOutcome::Failed,
                CallOutcome::Throttled,
                CallOutcome::Shed,
            ]),
            latency_max: None,
            ttft_max: None,
            cost_max_usd: None,
        }
    }

    /// Goodput: every call counts; good only if correct.
    pub fn goodput() -> RatioSli {
        RatioSli {
            good: OutcomeSet::of(&[CallOutcome::Correct]),
            ..RatioSli::availability()
        }
    }

    /// Correctness of answers: answered calls count; good if correct or degraded (a fallback
    /// answer is a right answer, only a cheaper one); soft failures are bad.
    pub fn correctness() -> RatioSli {
        RatioSli {
            total: OutcomeSet::ANSWERED,
            good: OutcomeSet::of(&[CallOutcome::Correct, CallOutcome::Degraded]),
            ..RatioSli::availability()
        }
    }

    /// Latency: answered calls count; good if they finished within `max`.
    pub fn latency_under(max: Time) -> RatioSli {
        RatioSli {
            total: OutcomeSet::ANSWERED,
            good: OutcomeSet::ANSWERED,
            latency_max: Some(max),
            ..RatioSli::availability()
        }
    }

    /// Time to first token: answered calls count; good if the first token came within `max`.
    pub fn ttft_under(max: Time) -> RatioSli {
        RatioSli {
            latency_max: None,
            ttft_max: Some(max),
            ..RatioSli::latency_under(0)
        }
    }

    /// Cost per useful response: every call counts; good if it was useful (correct or
    /// degraded) and cost at most `max_usd` — so money spent on failures counts against it.
    pub fn cost_under(max_usd: f64) -> RatioSli {
        RatioSli {
            good: OutcomeSet::of(&[CallOutcome::Correct, CallOutcome::Degraded]),
            cost_max_usd: Some(max_usd),
            ..RatioSli::availability()
        }
    }

    /// `None`: not counted; `Some(good)` otherwise.
    pub fn classify(&self, f: &CallFacts) -> Option<bool> {
        if !self.total.contains(f.outcome) {
            return None;
        }
        let ttft = f.ttft.unwrap_or(f.latency);
        Some(
            self.good.contains(f.outcome)
                && self.latency_max.is_none_or(|m| f.latency <= m)
                && self.ttft_max.is_none_or(|m| ttft <= m)
                && self.cost_max_usd.is_none_or(|m| f.cost_usd <= m),
        )
    }
}

/// Which value a threshold SLI takes a quantile of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThresholdMetric {
    Latency,
    /// Calls without a first-token time contribute their latency.
    Ttft,
}

/// A threshold SLI (OpenSLO `thresholdMetric`): per time slice, the `quantile` of `metric`
/// over calls with an outcome in `outcomes` must be at most `max`. Needs Timeslices
/// budgeting. Quantiles come from a histogram with three significant digits.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdSli {
    pub metric: ThresholdMetric,
    /// In per mille: 950 is p95.
    pub quantile_per_mille: u32,
    pub max: Time,
    pub outcomes: OutcomeSet,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Indicator {
    Ratio(RatioSli),
    Threshold(ThresholdSli),
}

/// How an empty time slice (no counted calls) is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmptySlice {
    /// No one was served badly (the default).
    #[default]
    Good,
    /// No one was served at all, which for a service that should have traffic is an outage.
    Bad,
    /// Not a unit: the slice is left out of the SLI and the budget.
    Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budgeting {
    /// Units are calls.
    Occurrences,
    /// Units are slices of `slice`; a slice is good when its good/total ratio is at least
    /// `target` (ratio SLIs; ignored by threshold SLIs, whose slices are good when the quantile
    /// is within the threshold).
    Timeslices {
        slice: Time,
        target: Objective,
        empty: EmptySlice,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SloWindow {
    Rolling(Time),
    /// Consecutive windows from the end of the warm-up.
    Calendar(Time),
}

impl SloWindow {
    pub fn length(self) -> Time {
        match self {
            SloWindow::Rolling(w) | SloWindow::Calendar(w) => w,
        }
    }
}

/// Burn-rate alerting of one SLO.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertingConfig {
    pub rules: Vec<BurnRateRule>,
    /// Evaluation interval ([`policies::burn_rate::DEFAULT_INTERVAL`], one minute, by default).
    /// Every window (alert windows, the rolling SLO window, calendar windows, the incident
    /// window) must be a whole number of intervals.
    pub interval: Time,
    /// A firing that starts within this long after a fault ended still counts as detecting it.
    pub grace: Time,
}

impl Default for AlertingConfig {
    fn default() -> Self {
        AlertingConfig {
            rules: Vec::new(),
            interval: policies::burn_rate::DEFAULT_INTERVAL,
            grace: 0,
        }
    }
}

/// One SLO, with names not yet resolved (the tracker resolves them).
#[derive(Debug, Clone, PartialEq)]
pub struct SloConfig {
    /// Unique; metric names are `slo.NAME.*`.
    pub name: String,
    pub indicator: Indicator,
    /// Only calls of these tenants count (empty: all).
    pub tenants: Vec<String>,
    /// Only calls to these routes count (empty: all).
    pub routes: Vec<String>,
    pub objective: Objective,
    pub window: SloWindow,
    pub budgeting: Budgeting,
    pub alerting: AlertingConfig,
    /// Window over which incidents are judged (5 minutes by default).
    pub incident_window: Time,
}

/// The default incident window: 5 minutes, the short window of the fastest workbook alert.
pub const DEFAULT_INCIDENT_WINDOW: Time = 5 * 60 * sim_core::NANOS_PER_SEC;

impl SloConfig {
    /// Checks what the types cannot: windows that fit the evaluation interval, a budgeting
    /// method the indicator supports, limits that make sense.
    pub fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        let iv = self.alerting.interval;
        if iv == 0 {
            return Err(format!(
                "SLO `{name}`: the evaluation interval must be longer than zero"
            ));
        }
        let multiple = |what: &str, w: Time| {
            if w == 0 || !w.is_multiple_of(iv) {
                Err(format!(
                    "SLO `{name}`: {what} ({}) must be a positive whole number of evaluation \
                     intervals ({})",
                    format_duration(w),
                    format_duration(iv)
                ))
            } else {
                Ok(())
            }
        };
        multiple("the window", self.window.length())?;
        multiple("the incident window", self.incident_window)?;
        for r in &self.alerting.rules {
            multiple(&format!("the long window of rule `{}`", r.name), r.long)?;
            multiple(&format!("the short window of rule `{}`", r.name), r.short)?;
        }
        match (&self.indicator, self.budgeting) {
            (Indicator::Threshold(_), Budgeting::Occurrences) => {
                return Err(format!(
                    "SLO `{name}`: a threshold SLI is judged per time slice; use timeslices \
                     budgeting"
                ));
            }
            (_, Budgeting::Timeslices { slice, .. }) => {
                if slice == 0 {
                    return Err(format!(
                        "SLO `{name}`: the time slice must be longer than zero"
                    ));
                }
                if slice > self.window.length() {
                    return Err(format!(
                        "SLO `{name}`: the time slice ({}) is longer than the window ({})",
                        format_duration(slice),
                        format_duration(self.window.length())
                    ));
                }
            }
            _ => {}
        }
        match &self.indicator {
            Indicator::Ratio(r) => {
                if r.total.is_empty() {
                    return Err(format!("SLO `{name}`: no outcome is counted"));
                }
                if r.cost_max_usd.is_some_and(|c| !(c.is_finite() && c >= 0.0)) {
                    return Err(format!("SLO `{name}`: the cost limit must be zero or more"));
                }
            }
            Indicator::Threshold(t) => {
                if t.quantile_per_mille == 0 || t.quantile_per_mille > 1000 {
                    return Err(format!(
                        "SLO `{name}`: the quantile must be above 0 and at most 1"
                    ));
                }
                if t.outcomes.is_empty() {
                    return Err(format!("SLO `{name}`: no outcome is counted"));
                }
            }
        }
        Ok(())
    }
}

/// One compliance window's result.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowResult {
    pub start: Time,
    pub end: Time,
    pub good: u64,
    pub total: u64,
    /// Budget consumed at the end of the window (extrapolated for a partial window).
    pub budget_consumed: f64,
    pub breached: bool,
}

/// An incident: SLI over the incident window below the objective during `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incident {
    pub start: Time,
    pub end: Time,
}

/// Everything measured about one SLO in one replication.
#[derive(Debug, Clone, PartialEq)]
pub struct SloResult {
    pub name: String,
    pub objective: Objective,
    /// Good and total units over the measured run.
    pub good: u64,
    pub total: u64,
    /// `good / total` (NaN without units).
    pub sli: f64,
    pub met: bool,
    /// In the window current at the end of the run.
    pub budget_consumed: f64,
    /// The largest consumption seen at any evaluation.
    pub budget_consumed_max: f64,
    pub exhausted_at: Option<Time>,
    /// From the start of the window in which the budget ran out.
    pub time_to_exhaustion: Option<Time>,
    /// Calendar: windows (complete or not) seen; rolling: 1.
    pub windows: u64,
    pub windows_breached: u64,
    /// Calendar windows (the first [`MAX_STORED`]), or the final trailing window.
    pub window_results: Vec<WindowResult>,
    pub incidents: u64,
    pub incident_time: Time,
    /// The first [`MAX_STORED`] incidents.
    pub incident_list: Vec<Incident>,
    pub mttr: Option<Time>,
    pub mtbf: Option<Time>,
    pub rules: Vec<BurnRateRule>,
    pub firings: Vec<u64>,
    pub alert_log: Vec<AlertEvent>,
    pub alert_log_dropped: u64,
    /// Grading of the SLO's alert (any rule firing) against the fault windows.
    pub grade: AlertGrade,
    /// Grading of each rule on its own.
    pub rule_grades: Vec<AlertGrade>,
    /// Per report bucket: SLI over the compliance window at the bucket's last evaluation
    /// (carried forward through idle stretches).
    pub sli_series: Vec<f64>,
    pub budget_remaining_series: Vec<f64>,
    /// Per report bucket: burn rate of the units recorded in that bucket.
    pub burn_rate_series: Vec<f64>,
    /// Per report bucket: 1 if some rule was firing at some evaluation in it.
    pub alert_series: Vec<f64>,
}

/// How many windows and incidents a result lists (all are counted).
pub const MAX_STORED: usize = 1_000;

/// What a tracker produced.
#[derive(Debug, Clone, PartialEq)]
pub struct SloReport {
    pub grid: BucketGrid,
    pub slos: Vec<SloResult>,
}

fn nan_or(v: Option<Time>) -> f64 {
    v.map_or(f64::NAN, as_secs_f64)
}

impl SloReport {
    /// Appends the per-replication metrics, in a fixed order, for each SLO:
    /// `slo.NAME.sli`, `.met` (1/0), `.budget_consumed`, `.budget_remaining`,
    /// `.budget_consumed_max`, `.time_to_exhaustion_s` (NaN: not exhausted), `.windows`,
    /// `.windows_breached`, `.incidents`, `.mttr_s`, `.mtbf_s`, `.alerts` (firings of all
    /// rules), `.alerts.RULE`, `.alert_precision`, `.alert_recall`, `.detection_time_s`,
    /// `.reset_time_s`, `.detection_time_s.RULE` (NaN where undefined: no firings, no faults,
    /// nothing detected).
    pub fn push_metrics(&self, m: &mut MetricSet) {
        for s in &self.slos {
            let p = format!("slo.{}", s.name);
            m.push(format!("{p}.sli"), s.sli);
            m.push(format!("{p}.met"), if s.met { 1.0 } else { 0.0 });
            m.push(format!("{p}.budget_consumed"), s.budget_consumed);
            m.push(format!("{p}.budget_remaining"), 1.0 - s.budget_consumed);
            m.push(format!("{p}.budget_consumed_max"), s.budget_consumed_max);
            m.push(
                format!("{p}.time_to_exhaustion_s"),
                nan_or(s.time_to_exhaustion),
            );
            m.push(format!("{p}.windows"), s.windows as f64);
            m.push(format!("{p}.windows_breached"), s.windows_breached as f64);
            m.push(format!("{p}.incidents"), s.incidents as f64);
            m.push(format!("{p}.mttr_s"), nan_or(s.mttr));
            m.push(format!("{p}.mtbf_s"), nan_or(s.mtbf));
            m.push(format!("{p}.alerts"), s.firings.iter().sum::<u64>() as f64);
            for (r, n) in s.rules.iter().zip(&s.firings) {
                m.push(format!("{p}.alerts.{}", r.name), *n as f64);
            }
            m.push(
                format!("{p}.alert_precision"),
                s.grade.precision.unwrap_or(f64::NAN),
            );
            m.push(
                format!("{p}.alert_recall"),
                s.grade.recall.unwrap_or(f64::NAN),
            );
            m.push(format!("{p}.detection_time_s"), s.grade.mean_detection_s());
            m.push(format!("{p}.reset_time_s"), s.grade.mean_reset_s());
            // Per rule too: a page and a ticket on the same fault answer different questions.
            for (r, g) in s.rules.iter().zip(&s.rule_grades) {
                m.push(
                    format!("{p}.detection_time_s.{}", r.name),
                    g.mean_detection_s(),
                );
            }
        }
    }

    /// Time series on [`grid`](Self::grid): `slo.NAME.sli`, `slo.NAME.budget_remaining`,
    /// `slo.NAME.burn_rate`, `slo.NAME.alert_firing`.
    pub fn series(&self) -> Vec<(String, Vec<f64>)> {
        let mut out = Vec::new();
        for s in &self.slos {
            let p = format!("slo.{}", s.name);
            out.push((format!("{p}.sli"), s.sli_series.clone()));
            out.push((
                format!("{p}.budget_remaining"),
                s.budget_remaining_series.clone(),
            ));
            out.push((format!("{p}.burn_rate"), s.burn_rate_series.clone()));
            out.push((format!("{p}.alert_firing"), s.alert_series.clone()));
        }
        out
    }
}

/// The slice in progress (Timeslices budgeting).
#[derive(Debug, Clone)]
enum SliceAcc {
    Ratio { good: u64, total: u64 },
    Threshold(Box<LatencyHistogram>),
}

#[derive(Debug, Clone)]
struct Slices {
    length: Time,
    target: Objective,
    empty: EmptySlice,
    /// End of the slice in progress.
    end: Time,
    acc: SliceAcc,
}

/// Counts of the window in progress (calendar) or of the run so far.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    good: u64,
    total: u64,
}

impl Acc {
    fn add(&mut self, good: bool) {
        self.total += 1;
        self.good += u64::from(good);
    }
    fn bad(&self) -> u64 {
        self.total - self.good
    }
}

#[derive(Debug, Clone)]
struct SloState {
    config: SloConfig,
    /// Tenant and route ids that count (empty: all).
    tenant_ok: Vec<bool>,
    route_ok: Vec<bool>,
    slices: Option<Slices>,
    counts: RollingCounts,
    /// Indices into `counts`: rule `i` uses `2i` and `2i+1`.
    incident_idx: usize,
    rolling_idx: usize,
    /// The rolling window as used (capped at the measured span).
    window_len: Time,
    states: Vec<RuleState>,
    log: Vec<AlertEvent>,
    log_dropped: u64,
    firings: Vec<u64>,
    run: Acc,
    calendar: Acc,
    calendar_index: u64,
    windows: u64,
    windows_breached: u64,
    window_results: Vec<WindowResult>,
    rolling_breached: bool,
    consumed_last: f64,
    consumed_max: f64,
    exhausted_at: Option<Time>,
    time_to_exhaustion: Option<Time>,
    incident_open: Option<Time>,
    incidents: u64,
    incident_time: Time,
    incident_list: Vec<Incident>,
    bucket_good: Vec<u64>,
    bucket_total: Vec<u64>,
    sli_series: Vec<f64>,
    budget_series: Vec<f64>,
    alert_series: Vec<f64>,
    /// Since when some rule has been firing, as of the last evaluation (`None`: none was).
    firing_since: Option<Time>,
}

/// Per-replication SLO measurement. Feed it every finished call with [`record`](Self::record)
/// (times must not go backwards), then call [`finish`](Self::finish) once.
#[derive(Debug, Clone)]
pub struct SloTracker {
    slos: Vec<SloState>,
    start: Time,
    end: Time,
    grid: BucketGrid,
}

impl SloTracker {
    /// A tracker for `configs`, measuring `[start, horizon]` (`start` is the end of the
    /// warm-up). `tenants` and `routes` are the world's names by id, which resolve the SLOs'
    /// filters. Errors name the SLO and what is wrong.
    pub fn new(
        configs: &[SloConfig],
        tenants: &[&str],
        routes: &[&str],
        start: Time,
        horizon: Time,
    ) -> Result<SloTracker, String> {
        let grid = BucketGrid::for_window(start, horizon);
        let span = horizon.saturating_sub(start);
        let mut slos = Vec::with_capacity(configs.len());
        for (i, c) in configs.iter().enumerate() {
            c.validate()?;
            if configs[..i].iter().any(|o| o.name == c.name) {
                return Err(format!("two SLOs are named `{}`", c.name));
            }
            let resolve = |names: &[String], known: &[&str], what: &str| {
                let mut ok = vec![names.is_empty(); known.len()];
                for n in names {
                    let id = known
                        .iter()
                        .position(|k| k == n)
                        .ok_or_else(|| format!("SLO `{}`: no {what} is named `{n}`", c.name))?;
                    ok[id] = true;
                }
                Ok::<_, String>(ok)
            };
            let tenant_ok = resolve(&c.tenants, tenants, "tenant")?;
            let route_ok = resolve(&c.routes, routes, "route")?;
            let iv = c.alerting.interval;
            // No window needs to reach further back than the measured span.
            let cap = |w: Time| w.min(span.div_ceil(iv).max(1) * iv);
            let mut windows: Vec<Time> = c
                .alerting
                .rules
                .iter()
                .flat_map(|r| [cap(r.long), cap(r.short)])
                .collect();
            let incident_idx = windows.len();
            windows.push(cap(c.incident_window));
            let rolling_idx = windows.len();
            let window_len = cap(c.window.length());
            windows.push(window_len);
            let counts = RollingCounts::new(start, iv, &windows)
                .map_err(|e| format!("SLO `{}`: {e}", c.name))?;
            let slices = match c.budgeting {
                Budgeting::Occurrences => None,
                Budgeting::Timeslices {
                    slice,
                    target,
                    empty,
                } => Some(Slices {
                    length: slice,
                    target,
                    empty,
                    end: start.saturating_add(slice),
                    acc: match c.indicator {
                        Indicator::Ratio(_) => SliceAcc::Ratio { good: 0, total: 0 },
                        Indicator::Threshold(_) => {
                            SliceAcc::Threshold(Box::new(LatencyHistogram::new()))
                        }
                    },
                }),
            };
            let n = grid.len();
            slos.push(SloState {
                config: c.clone(),
                tenant_ok,
                route_ok,
                slices,
                counts,
                incident_idx,
                rolling_idx,
                window_len,
                states: vec![RuleState::new(); c.alerting.rules.len()],
                log: Vec::new(),
                log_dropped: 0,
                firings: vec![0; c.alerting.rules.len()],
                run: Acc::default(),
                calendar: Acc::default(),
                calendar_index: 0,
                windows: 0,
                windows_breached: 0,
                window_results: Vec::new(),
                rolling_breached: false,
                consumed_last: 0.0,
                consumed_max: 0.0,
                exhausted_at: None,
                time_to_exhaustion: None,
                incident_open: None,
                incidents: 0,
                incident_time: 0,
                incident_list: Vec::new(),
                bucket_good: vec![0; n],
                bucket_total: vec![0; n],
                sli_series: vec![f64::NAN; n],
                budget_series: vec![f64::NAN; n],
                alert_series: vec![0.0; n],
                firing_since: None,
            });
        }
        Ok(SloTracker {
            slos,
            start,
            end: horizon,
            grid,
        })
    }

    /// Records one finished call at `now` for tenant `tenant` and route `route` (ids as in the
    /// name lists given to [`new`](Self::new); an unknown id counts only for SLOs without that
    /// filter). Calls before the end of the warm-up are ignored. Runs the evaluations due first.
    pub fn record(&mut self, now: Time, tenant: u16, route: u16, facts: &CallFacts) {
        if now < self.start {
            return;
        }
        // Nothing after the horizon is simulated; a late timestamp counts at the horizon, which
        // also bounds the evaluation loop by the horizon whatever the input.
        let now = now.min(self.end);
        for s in &mut self.slos {
            s.advance(now, self.start, self.end, &self.grid);
            let passes = |ok: &[bool], id: u16| {
                ok.is_empty()
                    || ok
                        .get(id as usize)
                        .copied()
                        .unwrap_or(ok.iter().all(|&b| b))
            };
            if !passes(&s.tenant_ok, tenant) || !passes(&s.route_ok, route) {
                continue;
            }
            s.observe(now, facts, &self.grid);
        }
    }

    /// Runs every evaluation due by `now`, without recording anything. Optional: `record` and
    /// `finish` do it; a world may call it at its own checkpoints.
    pub fn advance(&mut self, now: Time) {
        let now = now.min(self.end);
        for s in &mut self.slos {
            s.advance(now, self.start, self.end, &self.grid);
        }
    }

    /// Whether any burn-rate rule of SLO `slo` (index in the configs) is firing now.
    pub fn is_alerting(&self, slo: usize) -> bool {
        self.slos
            .get(slo)
            .is_some_and(|s| s.states.iter().any(RuleState::is_firing))
    }

    /// The budget consumed in SLO `slo`'s current window, as of the last evaluation.
    pub fn budget_consumed(&self, slo: usize) -> f64 {
        self.slos.get(slo).map_or(f64::NAN, |s| s.consumed_last)
    }

    /// Closes the run at `end` (normally the horizon) and grades every SLO's alerts against
    /// `faults` (the ground truth the world injected; sorted or not).
    pub fn finish(mut self, end: Time, faults: &[FaultWindow]) -> SloReport {
        let end = end.clamp(self.start, self.end.max(self.start));
        let mut faults = faults.to_vec();
        faults.sort();
        let start = self.start;
        let slos = self
            .slos
            .drain(..)
            .map(|s| s.finish(start, end, &faults, &self.grid))
            .collect();
        SloReport {
            grid: self.grid,
            slos,
        }
    }
}

impl SloState {
    /// Classifies a call and adds it where it belongs.
    fn observe(&mut self, now: Time, f: &CallFacts, grid: &BucketGrid) {
        match (&self.config.indicator, &mut self.slices) {
            (Indicator::Ratio(r), None) => {
                if let Some(good) = r.classify(f) {
                    self.add_unit(now, good, grid);
                }
            }
            (Indicator::Ratio(r), Some(sl)) => {
                if let (Some(good), SliceAcc::Ratio { good: g, total }) =
                    (r.classify(f), &mut sl.acc)
                {
                    *g += u64::from(good);
                    *total += 1;
                }
            }
            (Indicator::Threshold(t), Some(sl)) => {
                if t.outcomes.contains(f.outcome)
                    && let SliceAcc::Threshold(h) = &mut sl.acc
                {
                    h.record(match t.metric {
                        ThresholdMetric::Latency => f.latency,
                        ThresholdMetric::Ttft => f.ttft.unwrap_or(f.latency),
                    });
                }
            }
            // Rejected by `validate`.
            (Indicator::Threshold(_), None) => {}
        }
    }

    /// One unit (a call or a slice) at `at`.
    fn add_unit(&mut self, at: Time, good: bool, grid: &BucketGrid) {
        self.counts.add(u64::from(good), 1);
        self.run.add(good);
        self.calendar.add(good);
        if let Some(i) = grid.index(at) {
            self.bucket_total[i] += 1;
            self.bucket_good[i] += u64::from(good);
        }
    }

    /// Judges the slice in progress and starts the next one.
    fn close_slice(&mut self, grid: &BucketGrid, final_partial: bool) {
        let Some(sl) = &mut self.slices else { return };
        let slice_start = sl.end - sl.length.min(sl.end);
        let verdict = match &mut sl.acc {
            SliceAcc::Ratio { good, total } => {
                let v = if *total == 0 {
                    None
                } else {
                    // good/total ≥ target, exactly.
                    Some(*good as u128 * PPM as u128 >= sl.target.ppm() as u128 * *total as u128)
                };
                *good = 0;
                *total = 0;
                v
            }
            SliceAcc::Threshold(h) => {
                let v = if h.count() == 0 {
                    None
                } else if let Indicator::Threshold(t) = &self.config.indicator {
                    let q = h.quantile_secs(f64::from(t.quantile_per_mille) / 1000.0);
                    let micros = (q * 1e6).round() as u64;
                    Some(micros <= t.max / 1_000)
                } else {
                    None
                };
                h.reset();
                v
            }
        };
        let verdict = match verdict {
            Some(v) => Some(v),
            None if final_partial => None,
            None => match sl.empty {
                EmptySlice::Good => Some(true),
                EmptySlice::Bad => Some(false),
                EmptySlice::Skip => None,
            },
        };
        sl.end = sl.end.saturating_add(sl.length);
        if let Some(good) = verdict {
            self.add_unit(slice_start, good, grid);
        }
    }

    /// Runs slice closes and evaluations due by `now`, in time order (a slice ending at an
    /// evaluation instant is part of what that evaluation sees).
    fn advance(&mut self, now: Time, start: Time, end: Time, grid: &BucketGrid) {
        loop {
            let b = self.counts.next_boundary();
            let s = self.slices.as_ref().map_or(Time::MAX, |sl| sl.end);
            if s <= now && s <= b && s != Time::MAX {
                self.close_slice(grid, false);
            } else if b <= now && b != Time::MAX {
                if self.slices.is_none() && self.counts.is_idle() && self.incident_open.is_none() {
                    // Nothing to see until `now`: every window is empty, so no rule, incident
                    // or breach can change; only calendar windows roll over, which `evaluate`
                    // catches up on.
                    self.counts.skip_idle(now);
                    if self.counts.next_boundary() > now {
                        break;
                    }
                }
                let b = self.counts.next_boundary();
                self.counts.close_slot();
                self.evaluate(b, start, end, grid, true);
            } else {
                break;
            }
        }
    }

    /// Budget consumed by `bad` of `total` units after `elapsed` of a window of `window`.
    fn consumed(&self, bad: u64, total: u64, elapsed: Time, window: Time) -> (f64, bool) {
        let budget = self.config.objective.budget_ppm();
        match self.slices {
            Some(ref sl) => {
                let per_window = (window / sl.length).max(1);
                let c = bad as f64 / (budget as f64 / PPM as f64 * per_window as f64);
                let over = bad as u128 * PPM as u128 > budget as u128 * per_window as u128;
                (c, over)
            }
            None => {
                if total == 0 || elapsed == 0 {
                    return (0.0, false);
                }
                let elapsed = elapsed.min(window);
                // bad > budget × total × window / elapsed, exactly.
                let lhs = (bad as u128)
                    .saturating_mul(PPM as u128)
                    .saturating_mul(elapsed as u128);
                let rhs = (budget as u128)
                    .saturating_mul(total as u128)
                    .saturating_mul(window as u128);
                let c = bad as f64 * PPM as f64 * elapsed as f64
                    / (budget as f64 * total as f64 * window as f64);
                (c, lhs > rhs)
            }
        }
    }

    /// One evaluation at `at` (a boundary, or the end of the run when `rules` is false).
    fn evaluate(&mut self, at: Time, start: Time, end: Time, grid: &BucketGrid, rules: bool) {
        let budget = self.config.objective.budget_ppm();
        // An alert holds its state between evaluations: the one found firing at the last
        // evaluation fired through every bucket up to this one.
        if let Some(since) = self.firing_since {
            self.mark_firing(grid, since, at);
        }
        let mut firing = false;
        if rules {
            for (i, rule) in self.config.alerting.rules.iter().enumerate() {
                let long = self.counts.window(2 * i);
                let short = self.counts.window(2 * i + 1);
                if let Some(t) = self.states[i].evaluate(rule, at, long, short, budget) {
                    if t == Transition::Fired {
                        self.firings[i] += 1;
                    }
                    if self.log.len() < policies::burn_rate::MAX_LOG {
                        self.log.push(AlertEvent {
                            at,
                            rule: i,
                            transition: t,
                            burn_long: burn_rate(long, budget),
                            burn_short: burn_rate(short, budget),
                        });
                    } else {
                        self.log_dropped += 1;
                    }
                }
                firing |= self.states[i].is_firing();
            }
        }

        // Incidents.
        let iw = self.counts.window(self.incident_idx);
        let below = iw.total > 0
            && (iw.good as u128 * PPM as u128)
                < self.config.objective.ppm() as u128 * iw.total as u128;
        match (below, self.incident_open) {
            (true, None) => self.incident_open = Some(at),
            (false, Some(since)) => self.close_incident(since, at),
            _ => {}
        }

        // Compliance window.
        let (wc, elapsed, window, window_start) = match self.config.window {
            SloWindow::Rolling(_) => {
                let w = self.counts.window(self.rolling_idx);
                let elapsed = at.saturating_sub(start).min(self.window_len);
                (
                    w,
                    elapsed,
                    self.config.window.length(),
                    at.saturating_sub(elapsed),
                )
            }
            SloWindow::Calendar(w) => {
                let idx = at.saturating_sub(start).saturating_sub(1) / w;
                while self.calendar_index < idx {
                    self.finish_calendar_window(start, w, None);
                }
                let ws = start + self.calendar_index * w;
                (
                    WindowCounts {
                        good: self.calendar.good,
                        total: self.calendar.total,
                    },
                    at.saturating_sub(ws),
                    w,
                    ws,
                )
            }
        };
        let (consumed, over) = self.consumed(wc.bad(), wc.total, elapsed, window);
        self.consumed_last = consumed;
        if consumed > self.consumed_max {
            self.consumed_max = consumed;
        }
        if over && self.exhausted_at.is_none() {
            self.exhausted_at = Some(at);
            self.time_to_exhaustion = Some(at - window_start);
        }
        if let SloWindow::Rolling(_) = self.config.window {
            // Breach episodes over complete trailing windows.
            let complete = at.saturating_sub(start) >= self.config.window.length();
            let breached = complete && over;
            if breached && !self.rolling_breached {
                self.windows_breached += 1;
            }
            self.rolling_breached = breached;
        }

        // Report series: the last evaluation in a bucket speaks for it.
        if let Some(i) = grid.index(at.saturating_sub(1).max(grid.start)) {
            self.sli_series[i] = if wc.total == 0 {
                f64::NAN
            } else {
                wc.good as f64 / wc.total as f64
            };
            self.budget_series[i] = 1.0 - consumed;
        }
        if rules {
            self.firing_since = firing.then_some(at);
        }

        if let SloWindow::Calendar(w) = self.config.window
            && at < end
            && at.saturating_sub(start).is_multiple_of(w)
        {
            self.finish_calendar_window(start, w, Some((consumed, over)));
        }
    }

    /// Sets the alert series to 1 in every bucket that `[from, to)` touches.
    fn mark_firing(&mut self, grid: &BucketGrid, from: Time, to: Time) {
        if to <= from {
            return;
        }
        let (Some(first), Some(last)) = (
            grid.index(from.max(grid.start)),
            grid.index(to.saturating_sub(1).max(grid.start)),
        ) else {
            return;
        };
        for v in &mut self.alert_series[first..=last] {
            *v = 1.0;
        }
    }

    fn close_incident(&mut self, since: Time, at: Time) {
        self.incident_open = None;
        self.incidents += 1;
        self.incident_time += at.saturating_sub(since);
        if self.incident_list.len() < MAX_STORED {
            self.incident_list.push(Incident {
                start: since,
                end: at,
            });
        }
    }

    /// Ends calendar window `calendar_index`; `judged` is its consumption at its end, when the
    /// caller has it (an empty window skipped while idle has none: it is met).
    fn finish_calendar_window(&mut self, start: Time, w: Time, judged: Option<(f64, bool)>) {
        let ws = start + self.calendar_index * w;
        let (consumed, over) =
            judged.unwrap_or_else(|| self.consumed(self.calendar.bad(), self.calendar.total, w, w));
        self.windows += 1;
        self.windows_breached += u64::from(over);
        if self.window_results.len() < MAX_STORED {
            self.window_results.push(WindowResult {
                start: ws,
                end: ws.saturating_add(w),
                good: self.calendar.good,
                total: self.calendar.total,
                budget_consumed: consumed,
                breached: over,
            });
        }
        self.calendar = Acc::default();
        self.calendar_index += 1;
    }

    fn finish(
        mut self,
        start: Time,
        end: Time,
        faults: &[FaultWindow],
        grid: &BucketGrid,
    ) -> SloResult {
        self.advance(end, start, end, grid);
        // The slice in progress is judged on what it holds.
        if self
            .slices
            .as_ref()
            .is_some_and(|sl| sl.end > end && end > start)
        {
            self.close_slice(grid, true);
        }
        // A last evaluation at the end of the run. If the run ends inside an interval, that
        // interval is closed early so the windows hold everything recorded; if it ends on an
        // evaluation instant, the windows are as that evaluation saw them (calls at the
        // horizon itself count in the run's totals only). No rule runs: rules keep the grid.
        let open_start = self.counts.next_boundary() - self.counts.interval();
        if open_start < end {
            self.counts.close_slot();
        }
        self.evaluate(end, start, end, grid, false);
        if let Some(since) = self.incident_open {
            self.close_incident(since, end);
        }
        let span = end.saturating_sub(start);
        match self.config.window {
            SloWindow::Calendar(w) => {
                let ws = start + self.calendar_index * w;
                if self.calendar.total > 0 || ws < end || self.windows == 0 {
                    let (consumed, over) = self.consumed(
                        self.calendar.bad(),
                        self.calendar.total,
                        end.saturating_sub(ws),
                        w,
                    );
                    self.finish_calendar_window(start, w, Some((consumed, over)));
                }
            }
            SloWindow::Rolling(w) => {
                self.windows = 1;
                let wc = self.counts.window(self.rolling_idx);
                let (consumed, over) = self.consumed(wc.bad(), wc.total, span, w);
                if span < w {
                    // Never a complete window: judged on the extrapolated budget at the end.
                    self.windows_breached = u64::from(over);
                }
                self.window_results.push(WindowResult {
                    start: end.saturating_sub(w.min(span)),
                    end,
                    good: wc.good,
                    total: wc.total,
                    budget_consumed: consumed,
                    breached: over,
                });
            }
        }

        // Carry series values forward through buckets without an evaluation.
        for series in [&mut self.sli_series, &mut self.budget_series] {
            let mut last = f64::NAN;
            for v in series.iter_mut() {
                if v.is_nan() {
                    *v = last;
                } else {
                    last = *v;
                }
            }
        }
        let budget = self.config.objective.budget_ppm();
        let burn_rate_series = self
            .bucket_good
            .iter()
            .zip(&self.bucket_total)
            .map(|(&good, &total)| burn_rate(WindowCounts { good, total }, budget))
            .collect();

        let per_rule: Vec<_> = (0..self.config.alerting.rules.len())
            .map(|r| episodes_from_log(&self.log, |e| e.rule == r))
            .collect();
        let grace = self.config.alerting.grace;
        let rule_grades = per_rule.iter().map(|e| grade(e, faults, grace)).collect();
        let grade_all = grade(&union_episodes(&per_rule), faults, grace);
        let up = span.saturating_sub(self.incident_time);
        SloResult {
            name: self.config.name.clone(),
            objective: self.config.objective,
            good: self.run.good,
            total: self.run.total,
            sli: if self.run.total == 0 {
                f64::NAN
            } else {
                self.run.good as f64 / self.run.total as f64
            },
            met: self.windows_breached == 0,
            budget_consumed: self.consumed_last,
            budget_consumed_max: self.consumed_max,
            exhausted_at: self.exhausted_at,
            time_to_exhaustion: self.time_to_exhaustion,
            windows: self.windows,
            windows_breached: self.windows_breached,
            window_results: self.window_results,
            incidents: self.incidents,
            incident_time: self.incident_time,
            incident_list: self.incident_list,
            mttr: (self.incidents > 0).then(|| self.incident_time / self.incidents),
            mtbf: (self.incidents > 0).then(|| up / self.incidents),
            rules: self.config.alerting.rules.clone(),
            firings: self.firings,
            alert_log: self.log,
            alert_log_dropped: self.log_dropped,
            grade: grade_all,
            rule_grades,
            sli_series: self.sli_series,
            budget_remaining_series: self.budget_series,
            burn_rate_series,
            alert_series: self.alert_series,
        }
    }
}
