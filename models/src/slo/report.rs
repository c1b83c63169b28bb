//! What an SLO measured over one replication, and how it becomes metrics and series.

use super::objective::Objective;
use policies::burn_rate::{AlertEvent, AlertGrade, BurnRateRule};
use sim_core::names::{
    SLO, SLO_ALERT_FIRING, SLO_ALERTS, SLO_ARMED, SLO_BUDGET_REMAINING, SLO_BURN_RATE, SLO_MET,
    SLO_SLI,
};
use sim_core::series::BucketGrid;
use sim_core::summary::MetricSet;
use sim_core::time::{Time, as_secs_f64};

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
    /// Per rule: whether it was armed before the end of the run (its long window filled by
    /// measured data, [`BurnRateRule::armed_at`]); a rule never armed was never evaluated.
    pub armed: Vec<bool>,
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
    /// nothing detected), `.armed.RULE` (1 if the rule was armed before the end of the run).
    pub fn push_metrics(&self, m: &mut MetricSet) {
        for s in &self.slos {
            let n = &s.name;
            let p = SLO.entity_name(n);
            m.push(SLO.metric(n, SLO_SLI), s.sli);
            m.push(SLO.metric(n, SLO_MET), if s.met { 1.0 } else { 0.0 });
            m.push(format!("{p}.budget_consumed"), s.budget_consumed);
            m.push(SLO.metric(n, SLO_BUDGET_REMAINING), 1.0 - s.budget_consumed);
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
            m.push(
                SLO.metric(n, SLO_ALERTS),
                s.firings.iter().sum::<u64>() as f64,
            );
            for (r, n) in s.rules.iter().zip(&s.firings) {
                m.push(format!("{p}.alerts.{}", r.name), *n as f64);
            }
            for (r, &armed) in s.rules.iter().zip(&s.armed) {
                m.push(
                    format!("{}.{}", SLO.metric(n, SLO_ARMED), r.name),
                    if armed { 1.0 } else { 0.0 },
                );
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
            let n = &s.name;
            out.push((SLO.metric(n, SLO_SLI), s.sli_series.clone()));
            out.push((
                SLO.metric(n, SLO_BUDGET_REMAINING),
                s.budget_remaining_series.clone(),
            ));
            out.push((SLO.metric(n, SLO_BURN_RATE), s.burn_rate_series.clone()));
            out.push((SLO.metric(n, SLO_ALERT_FIRING), s.alert_series.clone()));
        }
        out
    }
}
