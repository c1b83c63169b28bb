//! SLO verdicts, read back from a run's metrics: a reader's first question is "did we meet
//! them", so every output (terminal, HTML, comparisons) opens with these lines.

use crate::number::format_number;
use sim_core::names::{SLO, SLO_ALERTS, SLO_BUDGET_REMAINING, SLO_MET, SLO_SLI};
use sim_core::summary::MetricSummary;

/// One SLO's verdict across replications.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub name: String,
    /// Replications in which the SLO was met, and how many there were.
    pub met: usize,
    pub replications: usize,
    pub sli: f64,
    pub sli_ci95: Option<(f64, f64)>,
    pub budget_remaining: f64,
    pub alerts: f64,
}

impl Verdict {
    /// `MET`, `MISSED`, or `AT RISK` when replications disagree.
    pub fn word(&self) -> &'static str {
        if self.met == self.replications {
            "MET"
        } else if self.met == 0 {
            "MISSED"
        } else {
            "AT RISK"
        }
    }

    /// One line, at most 100 columns (with the two-space indent of the summary) for names up
    /// to 20 characters.
    pub fn line(&self) -> String {
        // The SLI's interval is in the metrics table below; here, the verdict at a glance.
        format!(
            "{:<7} {}: SLI {}, met {}/{}, budget {}%, alerts {}",
            self.word(),
            self.name,
            format_number(self.sli),
            self.met,
            self.replications,
            format_number((self.budget_remaining * 1000.0).round() / 10.0),
            format_number((self.alerts * 10.0).round() / 10.0)
        )
    }
}

/// The verdicts of every SLO in `metrics` (the `slo.NAME.*` family), in report order.
pub fn verdicts(metrics: &[MetricSummary]) -> Vec<Verdict> {
    let get = |name: &str| metrics.iter().find(|m| m.name == name);
    metrics
        .iter()
        .filter_map(|m| {
            let name = SLO.entity(&m.name, SLO_MET)?;
            let met = m.per_replication.iter().filter(|&&v| v == 1.0).count();
            let sli = get(&SLO.metric(name, SLO_SLI));
            Some(Verdict {
                name: name.to_string(),
                met,
                replications: m.per_replication.len(),
                sli: sli.map_or(f64::NAN, |s| s.mean),
                sli_ci95: sli.and_then(|s| s.ci95).map(|c| (c.low, c.high)),
                budget_remaining: get(&SLO.metric(name, SLO_BUDGET_REMAINING))
                    .map_or(f64::NAN, |s| s.mean),
                alerts: get(&SLO.metric(name, SLO_ALERTS)).map_or(f64::NAN, |s| s.mean),
            })
        })
        .collect()
}

/// The SLO block of the terminal summary.
pub fn render_verdicts(metrics: &[MetricSummary]) -> String {
    let all = verdicts(metrics);
    if all.is_empty() {
        return "SLOs: none defined\n".to_string();
    }
    let mut out = String::from("SLOs:\n");
    for v in &all {
        out.push_str("  ");
        out.push_str(&v.line());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::summary::{MetricSet, summarize};

    #[test]
    fn verdicts_follow_the_replications() {
        let sets: Vec<MetricSet> = [(1.0, 0.9995), (0.0, 0.998), (1.0, 0.9991)]
            .iter()
            .map(|&(met, sli)| {
                let mut s = MetricSet::new();
                s.push("slo.availability.sli", sli);
                s.push("slo.availability.met", met);
                s.push("slo.availability.budget_remaining", -34.0115234);
                s.push("slo.availability.alerts", 12.333333);
                s
            })
            .collect();
        let v = verdicts(&summarize(&sets));
        let mut long = v[0].clone();
        long.name = "a-twenty-char-name-x".to_string();
        long.sli_ci95 = Some((-0.123456789, 123456.789));
        assert!(long.line().chars().count() + 2 <= 100, "{}", long.line());
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].met, v[0].replications), (2, 3));
        assert_eq!(v[0].word(), "AT RISK");
        let text = render_verdicts(&summarize(&sets));
        assert!(
            text.starts_with(
                "SLOs:\n  AT RISK availability: SLI 0.998867, met 2/3, budget -3401.2%"
            ),
            "{text}"
        );
        assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
        assert_eq!(render_verdicts(&[]), "SLOs: none defined\n");
    }
}
