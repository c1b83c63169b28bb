//! Burn-rate rules that were never armed, read back from a run's metrics (`slo.NAME.armed.RULE`).
//!
//! A rule is armed once its long window is filled by measured data; in a run shorter than that
//! window it is never evaluated. Its firings (0) and grade (undefined) would read as "quiet",
//! so the headline and report.html say instead that it could not have fired, in one phrasing
//! ([`unarmed_note`]).

use sim_core::names::{SLO, SLO_ARMED, SLO_MET};
use sim_core::summary::MetricSummary;

/// `(slo, rule)` for every rule not armed in some replication, in report order.
pub fn unarmed_rules(metrics: &[MetricSummary]) -> Vec<(String, String)> {
    let slos: Vec<&str> = metrics
        .iter()
        .filter_map(|m| SLO.entity(&m.name, SLO_MET))
        .collect();
    let mut out = Vec::new();
    for m in metrics {
        let Some(rule) = slos.iter().find_map(|s| {
            let prefix = format!("{}.", SLO.metric(s, SLO_ARMED));
            m.name
                .strip_prefix(&prefix)
                .filter(|r| !r.is_empty())
                .map(|r| (s.to_string(), r.to_string()))
        }) else {
            continue;
        };
        if m.per_replication.iter().any(|&v| v != 1.0) {
            out.push(rule);
        }
    }
    out
}

/// The note on `slo`'s rules that were never armed, as the headline and report.html both say
/// it (`not armed (run too short): RULE, RULE`), or `None` when every rule was armed. One
/// phrasing, so the terminal and the page never disagree.
pub fn unarmed_note(metrics: &[MetricSummary], slo: &str) -> Option<String> {
    let rules: Vec<String> = unarmed_rules(metrics)
        .into_iter()
        .filter(|(s, _)| s == slo)
        .map(|(_, rule)| rule)
        .collect();
    (!rules.is_empty()).then(|| format!("not armed (run too short): {}", rules.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::summary::{MetricSet, summarize};

    #[test]
    fn names_the_rules_never_armed() {
        let mut set = MetricSet::new();
        set.push("slo.latency.met", 1.0);
        set.push("slo.latency.armed.page-1h-5m", 1.0);
        set.push("slo.latency.armed.ticket-3d-6h", 0.0);
        set.push("slo.latency.armed.page-6h-30m", 0.0);
        set.push("backend.armed.x", 0.0);
        let m = summarize(&[set.clone(), set]);
        assert_eq!(
            unarmed_rules(&m),
            [
                ("latency".to_string(), "ticket-3d-6h".to_string()),
                ("latency".to_string(), "page-6h-30m".to_string())
            ]
        );
        assert_eq!(
            unarmed_note(&m, "latency").as_deref(),
            Some("not armed (run too short): ticket-3d-6h, page-6h-30m")
        );
        assert_eq!(unarmed_note(&m, "other"), None);
        let mut all = MetricSet::new();
        all.push("slo.a.met", 1.0);
        all.push("slo.a.armed.t", 1.0);
        assert_eq!(unarmed_note(&summarize(&[all]), "a"), None);
        // Armed in one replication and not in another: not armed in every run, so named.
        let mut armed = MetricSet::new();
        armed.push("slo.a.met", 1.0);
        armed.push("slo.a.armed.t", 1.0);
        let mut not = MetricSet::new();
        not.push("slo.a.met", 1.0);
        not.push("slo.a.armed.t", 0.0);
        assert_eq!(
            unarmed_note(&summarize(&[armed, not]), "a").as_deref(),
            Some("not armed (run too short): t")
        );
    }
}
