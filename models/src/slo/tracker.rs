//! The per-replication tracker: counts in rolling slots, slices, evaluations, incidents,
//! compliance windows and the burn-rate rules, in time order.

use super::config::{SloConfig, SloWindow};
use super::objective::Objective;
use super::report::{Incident, MAX_STORED, SloReport, SloResult, WindowResult};
use super::sli::{Budgeting, CallFacts, EmptySlice, Indicator, ThresholdMetric};
use policies::burn_rate::{
    AlertRules, FaultWindow, PPM, RollingCounts, WindowCounts, burn_rate, faults_while_armed,
    grade, union_episodes,
};
use sim_core::series::BucketGrid;
use sim_core::stats::LatencyHistogram;
use sim_core::time::Time;

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
    /// The tenant whose workflow executions are the units (`None`: calls are).
    workflow: Option<u16>,
    slices: Option<Slices>,
    counts: RollingCounts,
    /// Indices into `counts`: rule `i` uses `2i` and `2i+1`.
    incident_idx: usize,
    rolling_idx: usize,
    /// The rolling window as used (capped at the measured span).
    window_len: Time,
    /// The burn-rate rules; they read the first windows of `counts`.
    alerts: AlertRules,
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
            let workflow = match &c.workflow {
                None => None,
                Some(w) => Some(tenants.iter().position(|k| k == w).ok_or_else(|| {
                    format!("SLO `{}`: no tenant is named `{w}` (its workflow)", c.name)
                })? as u16),
            };
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
                workflow,
                slices,
                counts,
                incident_idx,
                rolling_idx,
                window_len,
                alerts: AlertRules::new(c.alerting.rules.clone(), c.objective.budget_ppm(), start)?,
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
    /// SLOs over a workflow's executions do not count calls.
    pub fn record(&mut self, now: Time, tenant: u16, route: u16, facts: &CallFacts) {
        let passes = |ok: &[bool], id: u16| {
            ok.is_empty()
                || ok
                    .get(id as usize)
                    .copied()
                    .unwrap_or(ok.iter().all(|&b| b))
        };
        self.feed(now, facts, |s| {
            s.workflow.is_none() && passes(&s.tenant_ok, tenant) && passes(&s.route_ok, route)
        });
    }

    /// Records one workflow execution of tenant `tenant` that ended at `now` (completed, or
    /// failed for good): counted by the SLOs over that tenant's workflow only. `facts` are the
    /// execution's: its outcome, its latency from arrival, no first token, its whole cost.
    pub fn record_execution(&mut self, now: Time, tenant: u16, facts: &CallFacts) {
        self.feed(now, facts, |s| s.workflow == Some(tenant));
    }

    /// Runs every SLO's evaluations due by `now`, then adds `facts` to those `counts` accepts.
    fn feed(&mut self, now: Time, facts: &CallFacts, counts: impl Fn(&SloState) -> bool) {
        if now < self.start {
            return;
        }
        // Nothing after the horizon is simulated; a late timestamp counts at the horizon, which
        // also bounds the evaluation loop by the horizon whatever the input.
        let now = now.min(self.end);
        for s in &mut self.slos {
            s.advance(now, self.start, self.end, &self.grid);
            if counts(s) {
                s.observe(now, facts, &self.grid);
            }
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
        self.slos.get(slo).is_some_and(|s| s.alerts.any_firing())
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
        // An alert holds its state between evaluations: the one found firing at the last
        // evaluation fired through every bucket up to this one.
        if let Some(since) = self.firing_since {
            self.mark_firing(grid, since, at);
        }
        let mut firing = false;
        if rules {
            self.alerts.evaluate(at, &self.counts);
            firing = self.alerts.any_firing();
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
            .map(|r| self.alerts.episodes(r))
            .collect();
        // Each rule is graded on the faults it could see once armed; the SLO's alert (any rule)
        // on those the first-armed rule could see. A rule never armed is graded on nothing.
        let grace = self.config.alerting.grace;
        let armed_at: Vec<Time> = (0..per_rule.len())
            .map(|r| self.alerts.armed_at(r).unwrap_or(Time::MAX))
            .collect();
        let armed: Vec<bool> = armed_at.iter().map(|&a| a <= end).collect();
        let rule_grades = per_rule
            .iter()
            .zip(&armed_at)
            .map(|(e, &a)| grade(e, &faults_while_armed(faults, a, end, grace), grace))
            .collect();
        let first_armed = armed_at.iter().copied().min().unwrap_or(Time::MAX);
        let grade_all = grade(
            &union_episodes(&per_rule),
            &faults_while_armed(faults, first_armed, end, grace),
            grace,
        );
        let up = span.saturating_sub(self.incident_time);
        let (firings, alert_log, alert_log_dropped) = self.alerts.into_parts();
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
            armed,
            firings,
            alert_log,
            alert_log_dropped,
            grade: grade_all,
            rule_grades,
            sli_series: self.sli_series,
            budget_remaining_series: self.budget_series,
            burn_rate_series,
            alert_series: self.alert_series,
        }
    }
}
