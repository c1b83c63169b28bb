//! Burn-rate rules that were never armed, read back from a run's metrics (`slo.NAME.armed.RULE`).
//!
//! A rule is armed once its long window is filled by measured data; in a run shorter than that
//! window it is never evaluated. Its firings (0) and grade (undefined) would read as "quiet",
//! so the summary says instead that it could not have fired.

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

/// The alert rules not armed, wrapped at 100 columns, or nothing when every rule was armed.
pub fn render_unarmed(metrics: &[MetricSummary]) -> String {
    let rules = unarmed_rules(metrics);
    if rules.is_empty() {
        return String::new();
    }
    let whose = if rules.len() == 1 { "its" } else { "their" };
    let mut out =
        format!("  not armed (never evaluated: the run is shorter than {whose} long window):\n");
    let mut line = String::from("   ");
    for (i, (s, r)) in rules.iter().enumerate() {
        let item = format!(" {s} {r}{}", if i + 1 < rules.len() { "," } else { "" });
        if line.len() + item.len() > 100 && line.len() > 3 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("   ");
        }
        line.push_str(&item);
    }
    out.push_str(&line);
    out.push('\n');
    out
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
        let text = render_unarmed(&m);
        assert_eq!(
            text,
            "  not armed (never evaluated: the run is shorter than their long window):\n    \
             latency ticket-3d-6h, latency page-6h-30m\n"
        );
        let mut one = MetricSet::new();
        one.push("slo.a.met", 1.0);
        one.push("slo.a.armed.t", 0.0);
        assert!(render_unarmed(&summarize(&[one])).contains("than its long window"));
        // Many rules wrap within 100 columns.
        let mut many = MetricSet::new();
        many.push("slo.availability-of-everything.met", 1.0);
        for i in 0..12 {
            many.push(
                format!("slo.availability-of-everything.armed.rule-{i}"),
                0.0,
            );
        }
        let text = render_unarmed(&summarize(&[many]));
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert_eq!(text.matches("rule-").count(), 12);
        let mut all = MetricSet::new();
        all.push("slo.a.met", 1.0);
        all.push("slo.a.armed.t", 1.0);
        assert_eq!(render_unarmed(&summarize(&[all])), "");
    }
}
