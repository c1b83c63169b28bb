//! `--fail-on slo,alert,abort,guard`: which verdicts make `run` and `compare` exit with
//! [`VERDICT_FAILED`] after writing every output, so CI can gate on a simulated verdict.

use crate::headline::slo_headlines;
use crate::report::Report;
use sim_core::summary::MetricSummary;

/// The exit code of a run whose outputs were written but a verdict named by `--fail-on`
/// failed: distinct from 1 (the run failed) and 2 (bad input or usage).
pub const VERDICT_FAILED: u8 = 3;

/// A kind of verdict `--fail-on` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// An SLO missed in some replication, or projected to miss over its window.
    Slo,
    /// Any burn-rate alert fired in some replication.
    Alert,
    /// A chaos experiment aborted by its safety gate, or whose steady state did not hold
    /// before or after it (Chaos Toolkit's `aborted` and `deviated`).
    Abort,
    /// The cost guard fired a budget or anomaly alert.
    Guard,
}

/// The gates asked for (empty: never fail on a verdict).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailOn(pub Vec<Gate>);

impl FailOn {
    /// Reads `slo,alert,abort,guard` (any combination, any order; `all` for every one).
    pub fn parse(text: &str) -> Result<FailOn, String> {
        let mut gates = Vec::new();
        for word in text.split(',').map(str::trim) {
            let gate = match word {
                "slo" => vec![Gate::Slo],
                "alert" => vec![Gate::Alert],
                "abort" => vec![Gate::Abort],
                "guard" => vec![Gate::Guard],
                "all" => vec![Gate::Slo, Gate::Alert, Gate::Abort, Gate::Guard],
                _ => {
                    return Err(format!(
                        "--fail-on `{word}`: expected a comma-separated list of slo, alert, \
                         abort, guard (or all)"
                    ));
                }
            };
            for g in gate {
                if !gates.contains(&g) {
                    gates.push(g);
                }
            }
        }
        Ok(FailOn(gates))
    }

    /// Every list given on the command line, merged (`--fail-on slo --fail-on abort`).
    pub fn parse_all(texts: &[String]) -> Result<FailOn, String> {
        let mut all = FailOn::default();
        for t in texts {
            for g in FailOn::parse(t)?.0 {
                if !all.0.contains(&g) {
                    all.0.push(g);
                }
            }
        }
        Ok(all)
    }

    /// The failed verdicts of `report` this gate names, in words (empty: pass).
    pub fn failures(&self, report: &Report) -> Vec<String> {
        let mut out = Vec::new();
        let m = &report.metrics;
        for gate in &self.0 {
            match gate {
                Gate::Slo => {
                    for s in slo_headlines(report).iter().filter(|s| s.failed()) {
                        out.push(format!("SLO {} {}", s.verdict.name, s.word()));
                    }
                }
                Gate::Alert => {
                    for a in m.iter().filter(|a| {
                        sim_core::names::SLO
                            .entity(&a.name, sim_core::names::SLO_ALERTS)
                            .is_some()
                    }) {
                        let fired = replications_where(a, |v| v > 0.0);
                        if fired > 0 {
                            out.push(format!(
                                "{} fired in {fired}/{} replications",
                                a.name,
                                a.per_replication.len()
                            ));
                        }
                    }
                }
                Gate::Abort => {
                    for j in crate::journal::journals(m) {
                        let deviated = j.ran.saturating_sub(j.steady_after);
                        if j.aborted > 0 || j.ran < j.replications || deviated > 0 {
                            out.push(format!(
                                "chaos experiment {} {} (aborted {}/{n}, steady state not \
                                 held before {}/{n}, after {deviated}/{n})",
                                j.experiment,
                                j.word(),
                                j.aborted,
                                j.replications - j.ran,
                                n = j.replications
                            ));
                        }
                    }
                }
                Gate::Guard => {
                    for name in ["cost_guard.budget_alerts", "cost_guard.anomaly_alerts"] {
                        if let Some(a) = m.iter().find(|a| a.name == name) {
                            let fired = replications_where(a, |v| v > 0.0);
                            if fired > 0 {
                                out.push(format!(
                                    "{name} fired in {fired}/{} replications",
                                    a.per_replication.len()
                                ));
                            }
                        }
                    }
                }
            }
        }
        out
    }
}

fn replications_where(m: &MetricSummary, f: impl Fn(f64) -> bool) -> usize {
    m.per_replication.iter().filter(|&&v| f(v)).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::summary::{MetricSet, summarize};

    fn report(values: &[(&str, &[f64])]) -> Report {
        let reps = values[0].1.len();
        let sets: Vec<MetricSet> = (0..reps)
            .map(|i| {
                let mut s = MetricSet::new();
                for (name, v) in values {
                    s.push(*name, v[i]);
                }
                s
            })
            .collect();
        let scenario = serde_json::json!({
            "horizon": "1d", "warmup": "0s",
            "slos": [{ "name": "a", "objective": "99%", "time_window": { "duration": "1d" } }],
        });
        Report::new("t", 1, reps as u32, scenario, summarize(&sets))
    }

    /// A replication counts as firing when its count is above 0: with three replications that
    /// fired 0, 1 and 3 times, two fired (neither one, the count of zeros, nor three).
    #[test]
    fn firings_are_counted_by_replication() {
        let r = report(&[
            ("slo.a.alerts", &[0.0, 1.0, 3.0]),
            ("cost_guard.budget_alerts", &[2.0, 0.0, 0.5]),
            ("cost_guard.anomaly_alerts", &[0.0, 0.0, 0.0]),
        ]);
        let f = |g: &str| FailOn::parse(g).unwrap().failures(&r);
        assert_eq!(f("alert"), vec!["slo.a.alerts fired in 2/3 replications"]);
        assert_eq!(
            f("guard"),
            vec!["cost_guard.budget_alerts fired in 2/3 replications"]
        );
        let get = |n: &str| r.metrics.iter().find(|m| m.name == n).unwrap();
        assert_eq!(replications_where(get("slo.a.alerts"), |v| v > 0.0), 2);
        assert_eq!(
            replications_where(get("cost_guard.anomaly_alerts"), |v| v > 0.0),
            0
        );
    }

    #[test]
    fn lists_parse_and_refuse_unknown_words() {
        assert_eq!(
            FailOn::parse("slo, abort").unwrap().0,
            vec![Gate::Slo, Gate::Abort]
        );
        assert_eq!(FailOn::parse("all").unwrap().0.len(), 4);
        assert_eq!(FailOn::parse("guard,guard").unwrap().0, vec![Gate::Guard]);
        let e = FailOn::parse("slo,alerts").unwrap_err();
        assert!(e.contains("`alerts`"), "{e}");
        let merged = FailOn::parse_all(&["slo".into(), "alert,slo".into()]).unwrap();
        assert_eq!(merged.0, vec![Gate::Slo, Gate::Alert]);
    }

    #[test]
    fn each_gate_fails_only_on_its_own_verdict() {
        let r = report(&[
            ("slo.a.sli", &[0.98, 0.995]),
            ("slo.a.met", &[0.0, 1.0]),
            ("slo.a.budget_consumed", &[2.0, 0.5]),
            ("slo.a.alerts", &[0.0, 1.0]),
            ("chaos.x.ran", &[1.0, 1.0]),
            ("chaos.x.aborted", &[0.0, 1.0]),
            ("chaos.x.steady_before", &[1.0, 1.0]),
            ("chaos.x.steady_after", &[1.0, 1.0]),
            ("cost_guard.budget_alerts", &[0.0, 0.0]),
            ("cost_guard.anomaly_alerts", &[0.0, 2.0]),
        ]);
        let f = |g: &str| FailOn::parse(g).unwrap().failures(&r);
        assert_eq!(f("slo"), vec!["SLO a AT RISK".to_string()]);
        assert_eq!(
            f("alert"),
            vec!["slo.a.alerts fired in 1/2 replications".to_string()]
        );
        assert_eq!(f("abort").len(), 1);
        assert!(f("abort")[0].contains("aborted 1/2"), "{:?}", f("abort"));
        assert_eq!(
            f("guard"),
            vec!["cost_guard.anomaly_alerts fired in 1/2 replications".to_string()]
        );
        assert_eq!(FailOn::default().failures(&r), Vec::<String>::new());

        let quiet = report(&[
            ("slo.a.sli", &[0.995, 0.995]),
            ("slo.a.met", &[1.0, 1.0]),
            ("slo.a.budget_consumed", &[0.5, 0.5]),
            ("slo.a.alerts", &[0.0, 0.0]),
            ("chaos.x.ran", &[1.0, 1.0]),
            ("chaos.x.aborted", &[0.0, 0.0]),
            ("chaos.x.steady_before", &[1.0, 1.0]),
            ("chaos.x.steady_after", &[1.0, 1.0]),
            ("cost_guard.budget_alerts", &[0.0, 0.0]),
            ("cost_guard.anomaly_alerts", &[0.0, 0.0]),
        ]);
        assert!(
            FailOn::parse("all").unwrap().failures(&quiet).is_empty(),
            "{:?}",
            FailOn::parse("all").unwrap().failures(&quiet)
        );
        // A steady state that did not come back after the method is a deviation.
        let deviated = report(&[
            ("chaos.x.ran", &[1.0, 1.0]),
            ("chaos.x.aborted", &[0.0, 0.0]),
            ("chaos.x.steady_before", &[1.0, 1.0]),
            ("chaos.x.steady_after", &[1.0, 0.0]),
        ]);
        let fails = FailOn::parse("abort").unwrap().failures(&deviated);
        assert_eq!(fails.len(), 1);
        assert!(fails[0].contains("after 1/2"), "{fails:?}");
        // A steady state that did not hold before: the method never ran there (no fault
        // injected), which is a deviation too, though nothing was aborted or failed after.
        let not_run = report(&[
            ("chaos.x.ran", &[1.0, 0.0]),
            ("chaos.x.aborted", &[0.0, 0.0]),
            ("chaos.x.steady_before", &[1.0, 0.0]),
            ("chaos.x.steady_after", &[1.0, f64::NAN]),
        ]);
        let fails = FailOn::parse("abort").unwrap().failures(&not_run);
        assert_eq!(fails.len(), 1, "{fails:?}");
        assert!(fails[0].contains("before 1/2, after 0/2"), "{fails:?}");
    }
}
