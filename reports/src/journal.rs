//! Chaos experiment journals and cost-guard firings, read back from a run's metrics (the
//! `chaos.NAME.*` and `cost_guard.*` families `models` writes), so `report.json`, the terminal
//! summary and the HTML page tell the same story, and `faultline plot` can redraw it from a
//! stored report.

use crate::number::format_number;
use serde::Serialize;
use sim_core::names::{
    CHAOS, CHAOS_ABORT_BURN_RATE, CHAOS_ABORTED, CHAOS_ABORTED_AT_S, CHAOS_BAD_CALLS,
    CHAOS_BUDGET_BURNED, CHAOS_FALLBACK_S, CHAOS_FALLBACK_WITHIN_SLA, CHAOS_GATE_LIMIT, CHAOS_RAN,
    CHAOS_STEADY_AFTER, CHAOS_STEADY_BEFORE,
};
use sim_core::summary::MetricSummary;

/// One experiment across replications.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journal {
    pub experiment: String,
    pub replications: usize,
    /// Replications in which the method started (the steady state held before it).
    pub ran: usize,
    /// Replications in which the safety gate aborted it, when (mean, seconds of virtual time)
    /// and at what burn rate (mean) against which limit.
    pub aborted: usize,
    pub aborted_at_s: Option<f64>,
    pub abort_burn_rate: Option<f64>,
    pub gate_limit: Option<f64>,
    /// Why it ended early, or did not run, in words (`None` when it ran to its end everywhere).
    pub reason: Option<String>,
    /// Replications whose steady state held before and after the method.
    pub steady_before: usize,
    pub steady_after: usize,
    /// Mean bad calls of the experiment's SLO during the method, and the share of one SLO
    /// window's error budget they are.
    pub bad_calls: f64,
    pub budget_burned: f64,
    /// Mean time from the first fault to the first fallback answer (seconds; `None`: fallback
    /// never answered during the method) and in how many replications it was within the SLA.
    pub fallback_s: Option<f64>,
    pub fallback_within_sla: Option<usize>,
}

/// The cost guard across replications.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostGuardSummary {
    pub budget_alerts: f64,
    pub first_budget_alert_s: Option<f64>,
    pub anomaly_alerts: f64,
    pub first_anomaly_alert_s: Option<f64>,
    pub max_period_usd: f64,
}

fn get<'a>(metrics: &'a [MetricSummary], name: &str) -> Option<&'a MetricSummary> {
    metrics.iter().find(|m| m.name == name)
}

fn count(m: Option<&MetricSummary>) -> usize {
    m.map_or(0, |m| {
        m.per_replication.iter().filter(|&&v| v == 1.0).count()
    })
}

fn finite_mean(m: Option<&MetricSummary>) -> Option<f64> {
    let m = m?;
    let v: Vec<f64> = m
        .per_replication
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Why an experiment did not run as planned, with the abort time written by `at`: a steady
/// state that deviated before the method, a safety gate that aborted it (`None`: neither).
fn reasons(
    ran: usize,
    replications: usize,
    aborted: usize,
    aborted_at_s: Option<f64>,
    abort_burn_rate: Option<f64>,
    gate_limit: Option<f64>,
    at: impl Fn(f64) -> String,
) -> Option<String> {
    let mut reasons = Vec::new();
    if ran < replications {
        reasons.push(format!(
            "steady state deviated before the method in {}/{replications}: no fault injected",
            replications - ran
        ));
    }
    if aborted > 0 {
        reasons.push(format!(
            "safety gate aborted {aborted}/{replications} at {} (burn rate {} > limit {})",
            aborted_at_s.map_or("? s".into(), at),
            abort_burn_rate.map_or("?".into(), |v| format_number((v * 10.0).round() / 10.0)),
            gate_limit.map_or("?".into(), format_number),
        ));
    }
    (!reasons.is_empty()).then(|| reasons.join("; "))
}

/// Every experiment's journal, in report order.
pub fn journals(metrics: &[MetricSummary]) -> Vec<Journal> {
    metrics
        .iter()
        .filter_map(|m| {
            let name = CHAOS.entity(&m.name, CHAOS_RAN)?;
            let g = |field: &str| get(metrics, &CHAOS.metric(name, field));
            let replications = m.per_replication.len();
            let ran = count(Some(m));
            let aborted = count(g(CHAOS_ABORTED));
            let aborted_at_s = finite_mean(g(CHAOS_ABORTED_AT_S));
            let abort_burn_rate = finite_mean(g(CHAOS_ABORT_BURN_RATE));
            let gate_limit = finite_mean(g(CHAOS_GATE_LIMIT));
            // The stored reason keeps seconds (it is part of the results digest); the
            // summary and the page say it in readable units (`Journal::reason_text`).
            let reason = reasons(
                ran,
                replications,
                aborted,
                aborted_at_s,
                abort_burn_rate,
                gate_limit,
                |v| format!("{} s", format_number((v * 10.0).round() / 10.0)),
            );
            let fallback_sla = g(CHAOS_FALLBACK_WITHIN_SLA);
            Some(Journal {
                experiment: name.to_string(),
                replications,
                ran,
                aborted,
                aborted_at_s,
                abort_burn_rate,
                gate_limit,
                reason,
                steady_before: count(g(CHAOS_STEADY_BEFORE)),
                steady_after: count(g(CHAOS_STEADY_AFTER)),
                bad_calls: g(CHAOS_BAD_CALLS).map_or(f64::NAN, |m| m.mean),
                budget_burned: g(CHAOS_BUDGET_BURNED).map_or(f64::NAN, |m| m.mean),
                fallback_s: finite_mean(g(CHAOS_FALLBACK_S)),
                fallback_within_sla: fallback_sla
                    .filter(|m| m.per_replication.iter().any(|v| v.is_finite()))
                    .map(|m| count(Some(m))),
            })
        })
        .collect()
}

pub fn cost_guard(metrics: &[MetricSummary]) -> Option<CostGuardSummary> {
    let budget = get(metrics, "cost_guard.budget_alerts")?;
    Some(CostGuardSummary {
        budget_alerts: budget.mean,
        first_budget_alert_s: finite_mean(get(metrics, "cost_guard.first_budget_alert_s")),
        anomaly_alerts: get(metrics, "cost_guard.anomaly_alerts").map_or(f64::NAN, |m| m.mean),
        first_anomaly_alert_s: finite_mean(get(metrics, "cost_guard.first_anomaly_alert_s")),
        max_period_usd: get(metrics, "cost_guard.max_period_usd").map_or(f64::NAN, |m| m.mean),
    })
}

impl Journal {
    /// `ABORTED`, `NOT RUN`, `RAN`, or `MIXED` when replications disagree.
    pub fn word(&self) -> &'static str {
        if self.ran == 0 {
            "NOT RUN"
        } else if self.aborted == self.replications {
            "ABORTED"
        } else if self.ran == self.replications && self.aborted == 0 {
            "RAN"
        } else {
            "MIXED"
        }
    }

    /// The reason as people read it: the stored one (a journal read back from a report
    /// keeps its own words), with the abort time in readable units when the journal has it.
    pub fn reason_text(&self) -> Option<String> {
        let stored = self.reason.as_ref()?;
        if self.aborted_at_s.is_none() {
            return Some(stored.clone());
        }
        reasons(
            self.ran,
            self.replications,
            self.aborted,
            self.aborted_at_s,
            self.abort_burn_rate,
            self.gate_limit,
            crate::number::duration_text,
        )
        .or_else(|| Some(stored.clone()))
    }

    /// One or two lines for the terminal summary.
    pub fn lines(&self) -> String {
        let n = self.replications;
        let mut out = format!(
            "{:<8} {}: steady before {}/{n}, after {}/{}, budget burned {}%, fallback {}",
            self.word(),
            self.experiment,
            self.steady_before,
            self.steady_after,
            self.ran,
            format_number((self.budget_burned * 10_000.0).round() / 100.0),
            match (self.fallback_s, self.fallback_within_sla) {
                (Some(s), Some(k)) => format!(
                    "after {} s, within SLA {k}/{}",
                    format_number((s * 10.0).round() / 10.0),
                    self.ran
                ),
                (Some(s), None) => format!("after {} s", format_number((s * 10.0).round() / 10.0)),
                (None, _) => "not engaged".to_string(),
            }
        );
        if let Some(r) = self.reason_text() {
            out.push_str("\n           ");
            out.push_str(&r);
        }
        out
    }
}

impl Journal {
    /// The experiment in one line for the headline (its reason, if any, on a second):
    /// `RAN 429-storm: steady 10/10 → 9/10, budget 0.01%, fallback 2.2 s (10/10 within SLA)`
    /// (a time past 5 minutes in minutes, past 3 hours in hours, as the headline's),
    /// the steady state held before → after the method.
    pub fn short(&self) -> String {
        let mut out = format!(
            "{} {}: steady {}/{} → {}/{}, budget {}%, {}",
            self.word(),
            self.experiment,
            self.steady_before,
            self.replications,
            self.steady_after,
            self.ran,
            format_number((self.budget_burned * 10_000.0).round() / 100.0),
            match (self.fallback_s, self.fallback_within_sla) {
                (Some(s), Some(k)) => format!(
                    "fallback {} ({k}/{} within SLA)",
                    crate::number::duration_text((s * 10.0).round() / 10.0),
                    self.ran
                ),
                (Some(s), None) => format!(
                    "fallback {}",
                    crate::number::duration_text((s * 10.0).round() / 10.0)
                ),
                (None, _) => "no fallback answer".to_string(),
            }
        );
        if let Some(r) = self.reason_text() {
            out.push('\n');
            out.push_str(&r);
        }
        out
    }
}

/// Whether the cost guard raised any alert (budget or anomaly) in some replication.
pub fn cost_guard_fired(metrics: &[MetricSummary]) -> bool {
    cost_guard(metrics).is_some_and(|c| c.budget_alerts > 0.0 || c.anomaly_alerts > 0.0)
}

/// The cost guard in one line (`None` without one).
pub fn render_cost_guard(metrics: &[MetricSummary]) -> Option<String> {
    let c = cost_guard(metrics)?;
    // "(first at …)" only where an alert fired: never "first at - s".
    let alerts = |n: f64, first: Option<f64>, what: &str| {
        let n = (n * 10.0).round() / 10.0;
        let counted =
            crate::number::count_of(n, &format!("{what} alert"), &format!("{what} alerts"));
        match first {
            Some(t) if n > 0.0 => format!(
                "{counted} (first at {})",
                crate::number::duration_text(t.round())
            ),
            _ => counted,
        }
    };
    Some(format!(
        "Cost guard: {}, {}, max ${} per period",
        alerts(c.budget_alerts, c.first_budget_alert_s, "budget"),
        alerts(c.anomaly_alerts, c.first_anomaly_alert_s, "anomaly"),
        format_number((c.max_period_usd * 100.0).round() / 100.0),
    ))
}

/// The chaos and cost-guard block of the terminal summary (empty without either).
pub fn render_journals(metrics: &[MetricSummary]) -> String {
    let mut out = String::new();
    let all = journals(metrics);
    if !all.is_empty() {
        out.push_str("Chaos experiments:\n");
        for j in &all {
            out.push_str("  ");
            out.push_str(&j.lines());
            out.push('\n');
        }
    }
    if let Some(line) = render_cost_guard(metrics) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, v: &[f64]) -> MetricSummary {
        let sets: Vec<_> = v
            .iter()
            .map(|&x| {
                let mut s = sim_core::summary::MetricSet::new();
                s.push(name, x);
                s
            })
            .collect();
        sim_core::summary::summarize(&sets).remove(0)
    }

    #[test]
    fn an_aborted_experiment_reads_as_aborted_with_its_reason() {
        let metrics = vec![
            m("chaos.kv.ran", &[1.0]),
            m("chaos.kv.aborted", &[1.0]),
            m("chaos.kv.aborted_at_s", &[620.0]),
            m("chaos.kv.abort_burn_rate", &[5.5]),
            m("chaos.kv.gate_limit", &[2.0]),
            m("chaos.kv.steady_before", &[1.0]),
            m("chaos.kv.steady_after", &[1.0]),
            m("chaos.kv.budget_burned", &[0.001]),
            m("chaos.kv.fallback_s", &[f64::NAN]),
            m("chaos.kv.fallback_within_sla", &[0.0]),
        ];
        let j = journals(&metrics);
        assert_eq!(j.len(), 1);
        assert_eq!(j[0].word(), "ABORTED");
        let text = j[0].lines();
        assert!(
            text.contains("at 10.3 min (burn rate 5.5 > limit 2)"),
            "{text}"
        );
        assert!(text.contains("fallback not engaged"), "{text}");
        // The stored reason (in report.json, under the results digest) keeps its seconds.
        assert_eq!(
            j[0].reason.as_deref(),
            Some("safety gate aborted 1/1 at 620 s (burn rate 5.5 > limit 2)")
        );
        let short = j[0].short();
        assert_eq!(
            short,
            "ABORTED kv: steady 1/1 → 1/1, budget 0.1%, no fallback answer\n\
             safety gate aborted 1/1 at 10.3 min (burn rate 5.5 > limit 2)"
        );
    }

    /// The time to a fallback answer in the headline: seconds when short, minutes past five.
    #[test]
    fn fallback_times_read_in_readable_units() {
        let run = |fallback: f64| {
            let metrics = vec![
                m("chaos.x.ran", &[1.0]),
                m("chaos.x.aborted", &[0.0]),
                m("chaos.x.steady_before", &[1.0]),
                m("chaos.x.steady_after", &[1.0]),
                m("chaos.x.budget_burned", &[0.0]),
                m("chaos.x.fallback_s", &[fallback]),
                m("chaos.x.fallback_within_sla", &[0.0]),
            ];
            journals(&metrics).remove(0).short()
        };
        // 509 s = 8.48 min; 2.17 s rounds to 2.2 s.
        assert_eq!(
            run(509.0),
            "RAN x: steady 1/1 → 1/1, budget 0%, fallback 8.48 min (0/1 within SLA)"
        );
        assert!(
            run(2.17).ends_with("fallback 2.2 s (0/1 within SLA)"),
            "{}",
            run(2.17)
        );
    }

    #[test]
    fn the_cost_guard_line_names_a_first_alert_only_when_one_fired() {
        let quiet = vec![
            m("cost_guard.budget_alerts", &[0.0]),
            m("cost_guard.first_budget_alert_s", &[f64::NAN]),
            m("cost_guard.anomaly_alerts", &[1.0]),
            m("cost_guard.first_anomaly_alert_s", &[3600.4]),
            m("cost_guard.max_period_usd", &[207.714]),
        ];
        let text = render_journals(&quiet);
        assert_eq!(
            text,
            "Cost guard: 0 budget alerts, 1 anomaly alert (first at 60 min), max $207.71 per period\n"
        );
        assert!(!text.contains(" - s"));
    }
}
