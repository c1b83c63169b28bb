//! An SLO as configured: indicator, objective, window, budgeting and alert rules, checked.

use super::objective::Objective;
use super::sli::{Budgeting, Indicator};
use policies::burn_rate::BurnRateRule;
use sim_core::time::{Time, format_duration};

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
    /// The units are this tenant's workflow executions instead of calls (`None`: calls). An
    /// execution ends once: completed (its outcome `correct`, or `degraded` when an activity
    /// answered through a fallback, or `wrong_accepted` when one answered wrongly unnoticed)
    /// or failed for good into the dead-letter queue (`failed`); its latency is from arrival to
    /// that end and its cost every attempt it paid for. So availability is the execution's
    /// success, `latency_under` its end-to-end time and `cost_under` its cost per execution,
    /// with the same budgets and alerts as over calls. `tenants` and `routes` do not apply.
    pub workflow: Option<String>,
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
        if self.workflow.is_some() {
            if !(self.tenants.is_empty() && self.routes.is_empty()) {
                return Err(format!(
                    "SLO `{name}`: a workflow SLO counts that workflow's executions; tenant and \
                     route filters do not apply to it"
                ));
            }
            if self.indicator.uses_ttft() {
                return Err(format!(
                    "SLO `{name}`: a workflow execution has no first token; use its latency"
                ));
            }
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
