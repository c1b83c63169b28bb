//! `[report]` in scenario files: what the summary's headline shows besides the verdicts.
//!
//! ```toml
//! [report]
//! headline = ["success_ratio", "slo.availability.budget_consumed", "tenant.chat.latency_p99_s"]
//! ```
//!
//! Each name is checked when the scenario loads against the metric catalogue
//! (`sim_core::definitions`): a name no metric family has is an error naming
//! `report.headline[i]`. Whether this run produces the metric (a `ttft_p99_s` needs a `ttft`
//! model, a `tenant.NAME.*` a tenant of that name among several) is known only after the run;
//! a name the run did not produce is a warning then, and its headline row says so.

use crate::build_error::{BuildError, err};
use serde::{Deserialize, Serialize};

/// Headline rows beyond this would push the verdicts' context off the first screen.
pub const MAX_HEADLINE: usize = 8;

/// The `[report]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportSchema {
    /// Metric names shown as key figures at the top of the summary and of report.html, in
    /// this order (default: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headline: Vec<String>,
}

impl ReportSchema {
    /// Whether the section says nothing (so the canonical scenario leaves it out).
    pub fn is_empty(&self) -> bool {
        self.headline.is_empty()
    }
}

/// Checks the headline names: known metric families, no repeats, at most [`MAX_HEADLINE`].
pub fn check_report(r: &ReportSchema) -> Result<(), BuildError> {
    if r.headline.len() > MAX_HEADLINE {
        return Err(err(
            format!("report.headline[{MAX_HEADLINE}]"),
            format!("at most {MAX_HEADLINE} headline metrics; the table below has the rest"),
        ));
    }
    for (i, name) in r.headline.iter().enumerate() {
        let path = format!("report.headline[{i}]");
        if sim_core::definitions::definition(name).is_none() {
            return Err(err(
                path,
                format!(
                    "`{name}` is not a metric faultline reports; `faultline metrics` lists them \
                     (a scenario's own names take the place of `*`)"
                ),
            ));
        }
        if r.headline[..i].contains(name) {
            return Err(err(path, format!("`{name}` is already in the headline")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headline(names: &[&str]) -> ReportSchema {
        ReportSchema {
            headline: names.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn known_names_pass_and_others_name_their_place() {
        assert!(check_report(&headline(&["success_ratio", "slo.avail.budget_consumed"])).is_ok());
        let e = check_report(&headline(&["success_ratio", "sucess_ratio"])).unwrap_err();
        assert_eq!(e.path, "report.headline[1]");
        assert!(e.message.contains("`sucess_ratio`"), "{}", e.message);
        let e = check_report(&headline(&["cost_usd", "cost_usd"])).unwrap_err();
        assert_eq!(e.path, "report.headline[1]");
        let many = vec!["cost_usd"; MAX_HEADLINE + 1];
        let e = check_report(&headline(&many)).unwrap_err();
        assert_eq!(e.path, format!("report.headline[{MAX_HEADLINE}]"));
        assert!(check_report(&headline(&[])).is_ok());
    }
}
