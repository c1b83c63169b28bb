//! `[[slos]]` in scenario files: service level objectives shaped after the OpenSLO v1 `SLO`
//! kind (an indicator, an objective, a `time_window`, a `budgeting_method` with
//! `time_slice_target` and `time_slice_window`), plus burn-rate alerting, and the conversion to
//! `models`' configuration ([`build_slos`]).
//!
//! ```toml
//! [[slos]]
//! name = "availability"
//! objective = "99.9"              # or "99.9%", or 0.999
//! time_window = { duration = "30d", is_rolling = true }
//! indicator = { kind = "availability" }
//! alerting = { preset = "sre_workbook" }
//!
//! [[slos]]
//! name = "p95-ttft"
//! tenants = ["chat"]
//! objective = "99"
//! indicator = { kind = "threshold", metric = "ttft", quantile = 0.95, max = "2s" }
//! budgeting_method = "timeslices"
//! time_slice_window = "5m"
//! ```
//!
//! Values are validated as they are read where a value alone decides (objectives, outcome
//! names), so those errors carry a file position; cross-field rules (names that must exist,
//! windows that must fit the evaluation interval) are checked by [`build_slos`] with the key
//! path of the offending value.

use crate::build_error::{BuildError, err, policy_err};
use crate::values::Duration;
use models::slo::{
    AlertingConfig, Budgeting, DEFAULT_INCIDENT_WINDOW, EmptySlice, Indicator, Objective, Outcome,
    OutcomeSet, RatioSli, SloConfig, SloWindow, ThresholdMetric, ThresholdSli, decimal_scaled,
};
use policies::burn_rate::{BURN_UNIT, BurnRateRule, DEFAULT_INTERVAL, Preset, Severity};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

const DAY: u64 = 24 * 3600 * sim_core::NANOS_PER_SEC;

fn default_time_window() -> TimeWindow {
    TimeWindow {
        duration: Duration(30 * DAY),
        is_rolling: true,
    }
}
fn default_true() -> bool {
    true
}
fn default_incident_window() -> Duration {
    Duration(DEFAULT_INCIDENT_WINDOW)
}
fn default_interval() -> Duration {
    Duration(DEFAULT_INTERVAL)
}
fn default_quantile() -> Ratio {
    Ratio(950_000)
}

/// One SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SloSchema {
    /// Unique among SLOs; metrics are reported as `slo.NAME.*`.
    pub name: String,
    /// What the SLO promises, for people (default: empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Only calls of these tenants count (default: every tenant).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Only calls to these routes count (default: every route).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<String>,
    /// A tenant that runs a workflow: the units are its executions instead of calls, each
    /// counted once when it completes or fails for good (dead-lettered). `availability` is
    /// then the executions' success, `latency` their end-to-end time from arrival, `cost`
    /// their cost per execution; `ttft` does not apply, nor do `tenants` and `routes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<String>,
    pub indicator: IndicatorSchema,
    /// The share of good units to reach: a percentage string (`"99.9"`, `"99.9%"`) or a
    /// fraction (`0.999`); stored exactly in parts per million.
    pub objective: ObjectiveValue,
    /// The compliance window (default: 30 days, rolling). Calendar windows (`is_rolling =
    /// false`) are consecutive windows from the end of the warm-up: virtual time has no dates.
    #[serde(default = "default_time_window")]
    pub time_window: TimeWindow,
    /// `occurrences` (default: every counted call is a unit) or `timeslices` (every
    /// `time_slice_window` is a unit, good when its ratio reaches `time_slice_target`).
    #[serde(default)]
    pub budgeting_method: BudgetingMethod,
    /// Timeslices only: the share of good calls that makes a slice good (default: the
    /// objective). Ignored by threshold indicators, whose slices are good when the quantile is
    /// within the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slice_target: Option<ObjectiveValue>,
    /// Timeslices only: the slice length (default "1m").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_slice_window: Option<Duration>,
    /// Timeslices only: how a slice without counted calls is judged (default `good`: nobody
    /// was served badly; `bad`; or `skip` to leave it out).
    #[serde(default)]
    pub empty_slices: EmptySlices,
    /// Incidents are runs of evaluations at which the SLI over this trailing window is below
    /// the objective (default "5m").
    #[serde(default = "default_incident_window")]
    pub incident_window: Duration,
    #[serde(default)]
    pub alerting: AlertingSchema,
}

/// `duration` and `is_rolling`, as OpenSLO's `timeWindow`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    pub duration: Duration,
    /// Default true.
    #[serde(default = "default_true")]
    pub is_rolling: bool,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BudgetingMethod {
    #[default]
    Occurrences,
    Timeslices,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EmptySlices {
    #[default]
    Good,
    Bad,
    Skip,
}

fn set(names: &[Outcome]) -> OutcomeSet {
    OutcomeSet::of(names)
}

/// The SLI, chosen by `kind`. Answered calls are those that returned something: correct,
/// wrong_accepted, detected_handled, degraded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum IndicatorSchema {
    // The three without parameters are empty struct variants, not unit variants: serde lets a
    // unit variant of an internally tagged enum ignore any other key, so a typo beside
    // `kind = "availability"` would pass unnoticed.
    /// Every call counts; good unless failed, throttled or shed.
    Availability {},
    /// Every call counts; good only if correct.
    Goodput {},
    /// Answered calls count; good if correct or degraded.
    Correctness {},
    /// Answered calls count; good if they finished within `threshold`.
    Latency { threshold: Duration },
    /// Answered calls count; good if the first token came within `threshold`.
    Ttft { threshold: Duration },
    /// Every call counts; good if useful (correct or degraded) and it cost at most `max_usd`.
    Cost { max_usd: f64 },
    /// Any ratio: calls with an outcome in `total` count (default: all); good if the outcome
    /// is in `good` and within every limit given.
    Ratio {
        #[schemars(with = "Vec<OutcomeName>")]
        good: Vec<Outcome>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<Vec<OutcomeName>>")]
        total: Option<Vec<Outcome>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latency_max: Option<Duration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttft_max: Option<Duration>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cost_max_usd: Option<f64>,
    },
    /// Per time slice, the `quantile` (default 0.95) of `metric` over calls with an outcome in
    /// `outcomes` (default: answered) must be at most `max`. Needs `timeslices`.
    Threshold {
        metric: ThresholdMetricName,
        #[serde(default = "default_quantile")]
        quantile: Ratio,
        max: Duration,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<Vec<OutcomeName>>")]
        outcomes: Option<Vec<Outcome>>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdMetricName {
    Latency,
    Ttft,
}

/// Burn-rate alerting. The rules are the preset's followed by the custom `rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertingSchema {
    /// `sre_workbook` (default), `sloth`, `pyrra`, or `none` (custom rules only).
    #[serde(default)]
    pub preset: PresetName,
    /// How often rules are evaluated, in virtual time (default "1m", as Prometheus'
    /// `evaluation_interval`). Every window must be a whole number of intervals.
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// A firing that starts this long after a fault ended still detects it (default "0s").
    #[serde(default)]
    pub grace: Duration,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSchema>,
}

impl Default for AlertingSchema {
    fn default() -> Self {
        AlertingSchema {
            preset: PresetName::default(),
            interval: default_interval(),
            grace: Duration(0),
            rules: Vec::new(),
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PresetName {
    #[default]
    SreWorkbook,
    Sloth,
    Pyrra,
    None,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SeverityName {
    #[default]
    Page,
    Ticket,
}

/// A custom multi-window rule: fire when the burn rate exceeds `burn_rate` over both windows,
/// for at least `for`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSchema {
    pub name: String,
    /// Default `page`.
    #[serde(default)]
    pub severity: SeverityName,
    pub long_window: Duration,
    pub short_window: Duration,
    /// The burn-rate factor (14.4 = the budget gone in 1/14.4 of the window), exact to a
    /// millionth.
    pub burn_rate: BurnFactor,
    /// Default "0s": fire at the first evaluation that sees the condition.
    #[serde(default, rename = "for")]
    pub for_duration: Duration,
}

/// How a job ended (`models::Outcome`), by name: the schema of an outcome in an SLO's `good`,
/// `total` or `outcomes` list. `models` knows nothing of schemas, so its names are listed here
/// from `Outcome::ALL`.
struct OutcomeName;

impl schemars::JsonSchema for OutcomeName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Outcome".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        schemars::json_schema!({
            "description": "How a job ended",
            "type": "string",
            "enum": names,
        })
    }
}

/// An objective or slice target: `"99.9"`, `"99.9%"` (percent) or `0.999` (fraction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectiveValue(pub Objective);

impl Serialize for ObjectiveValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}%", fixed(self.0.ppm(), 4)))
    }
}

/// `value / 10^decimals` as the shortest exact decimal text.
fn fixed(value: u64, decimals: u32) -> String {
    let p = 10u64.pow(decimals);
    let (int, frac) = (value / p, value % p);
    if frac == 0 {
        return int.to_string();
    }
    let f = format!("{frac:0width$}", width = decimals as usize);
    format!("{int}.{}", f.trim_end_matches('0'))
}

impl<'de> Deserialize<'de> for ObjectiveValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ObjectiveValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a percentage string like \"99.9\" or \"99.9%\", or a fraction like 0.999",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ObjectiveValue, E> {
                Objective::parse_percent(v)
                    .map(ObjectiveValue)
                    .map_err(E::custom)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ObjectiveValue, E> {
                Objective::from_fraction(v)
                    .map(ObjectiveValue)
                    .map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ObjectiveValue, E> {
                self.visit_f64(v as f64)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ObjectiveValue, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

/// A fraction in (0, 1], kept in ppm (quantiles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio(pub u64);

impl Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / 1e6)
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = f64::deserialize(d)?;
        let ppm = if x.is_finite() && x > 0.0 && x <= 1.0 {
            decimal_scaled(&format!("{x}"), 6).ok()
        } else {
            None
        };
        match ppm {
            Some(p) if p > 0 => Ok(Ratio(p)),
            _ => Err(de::Error::custom(format!(
                "expected a fraction above 0 and at most 1 with at most six decimals, found {x}"
            ))),
        }
    }
}

/// A burn-rate factor, in millionths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurnFactor(pub u64);

impl Serialize for BurnFactor {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0 as f64 / BURN_UNIT as f64)
    }
}

impl<'de> Deserialize<'de> for BurnFactor {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = f64::deserialize(d)?;
        let v = if x.is_finite() && x > 0.0 {
            decimal_scaled(&format!("{x}"), 6).ok()
        } else {
            None
        };
        match v {
            Some(f) if f > 0 && f <= policies::burn_rate::MAX_FACTOR => Ok(BurnFactor(f)),
            _ => Err(de::Error::custom(format!(
                "expected a burn rate above 0 and at most 1000000, with at most six decimals, \
                 found {x}"
            ))),
        }
    }
}

/// Converts `[[slos]]` to `models` configuration. `tenants` and `routes` are the scenario's
/// names, which the filters must use; `workflows` the tenants that run a workflow, which
/// `workflow` must name. Errors carry the key path (`slos[1].tenants[0]`).
pub fn build_slos(
    slos: &[SloSchema],
    tenants: &[&str],
    routes: &[&str],
    workflows: &[&str],
) -> Result<Vec<SloConfig>, BuildError> {
    let mut out = Vec::with_capacity(slos.len());
    for (i, s) in slos.iter().enumerate() {
        let p = format!("slos[{i}]");
        let name = s.name.trim();
        if name.is_empty() {
            return Err(err(format!("{p}.name"), "names must not be empty"));
        }
        if name.contains(['.', '=', ',']) {
            return Err(err(
                format!("{p}.name"),
                format!(
                    "`{name}` contains `.`, `=` or `,`, which metric names and `--set` paths cannot hold"
                ),
            ));
        }
        if slos[..i].iter().any(|o| o.name.trim() == name) {
            return Err(err(
                format!("{p}.name"),
                format!("another SLO is named `{name}`"),
            ));
        }
        for (list, known, what) in [
            (&s.tenants, tenants, "tenants"),
            (&s.routes, routes, "routes"),
        ] {
            for (j, n) in list.iter().enumerate() {
                if !known.contains(&n.as_str()) {
                    return Err(err(
                        format!("{p}.{what}[{j}]"),
                        format!(
                            "no {} is named `{n}` (known: {})",
                            &what[..what.len() - 1],
                            if known.is_empty() {
                                "none".to_string()
                            } else {
                                known.join(", ")
                            }
                        ),
                    ));
                }
            }
        }
        if let Some(w) = &s.workflow {
            workflow_population(s, w, workflows, &p)?;
        }
        let indicator = indicator(s, &p)?;
        let budgeting = match s.budgeting_method {
            BudgetingMethod::Occurrences => {
                for (set, key) in [
                    (s.time_slice_target.is_some(), "time_slice_target"),
                    (s.time_slice_window.is_some(), "time_slice_window"),
                ] {
                    if set {
                        return Err(err(
                            format!("{p}.{key}"),
                            "only timeslices budgeting uses time slices",
                        ));
                    }
                }
                Budgeting::Occurrences
            }
            BudgetingMethod::Timeslices => Budgeting::Timeslices {
                slice: s
                    .time_slice_window
                    .map_or(60 * sim_core::NANOS_PER_SEC, |d| d.0),
                target: s.time_slice_target.map_or(s.objective.0, |t| t.0),
                empty: match s.empty_slices {
                    EmptySlices::Good => EmptySlice::Good,
                    EmptySlices::Bad => EmptySlice::Bad,
                    EmptySlices::Skip => EmptySlice::Skip,
                },
            },
        };
        let w = s.time_window.duration.0;
        if w == 0 {
            return Err(err(
                format!("{p}.time_window.duration"),
                "the window must be longer than 0s",
            ));
        }
        let a = &s.alerting;
        let rules = alert_rules(a, w, &p)?;
        let config = SloConfig {
            name: name.to_string(),
            indicator,
            tenants: s.tenants.clone(),
            routes: s.routes.clone(),
            workflow: s.workflow.clone(),
            objective: s.objective.0,
            window: if s.time_window.is_rolling {
                SloWindow::Rolling(w)
            } else {
                SloWindow::Calendar(w)
            },
            budgeting,
            alerting: AlertingConfig {
                rules,
                interval: a.interval.0,
                grace: a.grace.0,
            },
            incident_window: s.incident_window.0,
        };
        config.validate().map_err(|e| {
            // Point at the value the message is about, where it says.
            let key = if e.contains("evaluation interval must") {
                "alerting.interval"
            } else if e.contains("incident window") {
                "incident_window"
            } else if e.contains("rule `") {
                "alerting.rules"
            } else if e.contains("the window") {
                "time_window.duration"
            } else if e.contains("time slice") {
                "time_slice_window"
            } else {
                "indicator"
            };
            err(format!("{p}.{key}"), e)
        })?;
        out.push(config);
    }
    Ok(out)
}

/// Checks an SLO over workflow `w`'s executions: `w` runs a workflow, no call filter is
/// given beside it, and its indicator judges nothing an execution lacks (a first token).
fn workflow_population(
    s: &SloSchema,
    w: &str,
    workflows: &[&str],
    p: &str,
) -> Result<(), BuildError> {
    if !workflows.contains(&w) {
        return Err(err(
            format!("{p}.workflow"),
            format!(
                "no tenant named `{w}` runs a workflow (tenants with one: {})",
                if workflows.is_empty() {
                    "none".to_string()
                } else {
                    workflows.join(", ")
                }
            ),
        ));
    }
    for (set, key) in [
        (!s.tenants.is_empty(), "tenants"),
        (!s.routes.is_empty(), "routes"),
    ] {
        if set {
            return Err(err(
                format!("{p}.{key}"),
                "an SLO over a workflow counts its executions, not calls: leave out `tenants` \
                 and `routes`",
            ));
        }
    }
    let ttft = match &s.indicator {
        IndicatorSchema::Ttft { .. } => Some("kind"),
        IndicatorSchema::Ratio { ttft_max, .. } => ttft_max.map(|_| "ttft_max"),
        IndicatorSchema::Threshold { metric, .. } => {
            (*metric == ThresholdMetricName::Ttft).then_some("metric")
        }
        _ => None,
    };
    if let Some(key) = ttft {
        return Err(err(
            format!("{p}.indicator.{key}"),
            "a workflow execution has no first token: judge its latency (`latency`, \
             `latency_max`, metric = \"latency\")",
        ));
    }
    Ok(())
}

/// The SLI of one SLO; `p` is the SLO's key path. A threshold indicator is judged per time
/// slice, so it needs timeslices budgeting.
fn indicator(s: &SloSchema, p: &str) -> Result<Indicator, BuildError> {
    Ok(match &s.indicator {
        IndicatorSchema::Availability {} => Indicator::Ratio(RatioSli::availability()),
        IndicatorSchema::Goodput {} => Indicator::Ratio(RatioSli::goodput()),
        IndicatorSchema::Correctness {} => Indicator::Ratio(RatioSli::correctness()),
        IndicatorSchema::Latency { threshold } => {
            Indicator::Ratio(RatioSli::latency_under(threshold.0))
        }
        IndicatorSchema::Ttft { threshold } => Indicator::Ratio(RatioSli::ttft_under(threshold.0)),
        IndicatorSchema::Cost { max_usd } => {
            if !(max_usd.is_finite() && *max_usd >= 0.0) {
                return Err(err(
                    format!("{p}.indicator.max_usd"),
                    format!("expected an amount of zero or more, found {max_usd}"),
                ));
            }
            Indicator::Ratio(RatioSli::cost_under(*max_usd))
        }
        IndicatorSchema::Ratio {
            good,
            total,
            latency_max,
            ttft_max,
            cost_max_usd,
        } => {
            if let Some(c) = cost_max_usd
                && !(c.is_finite() && *c >= 0.0)
            {
                return Err(err(
                    format!("{p}.indicator.cost_max_usd"),
                    format!("expected an amount of zero or more, found {c}"),
                ));
            }
            let total = total.as_deref().map_or(OutcomeSet::ALL, set);
            if total.is_empty() {
                return Err(err(format!("{p}.indicator.total"), "no outcome is counted"));
            }
            Indicator::Ratio(RatioSli {
                total,
                good: set(good),
                latency_max: latency_max.map(|d| d.0),
                ttft_max: ttft_max.map(|d| d.0),
                cost_max_usd: *cost_max_usd,
            })
        }
        IndicatorSchema::Threshold {
            metric,
            quantile,
            max,
            outcomes,
        } => {
            let outcomes = outcomes.as_deref().map_or(OutcomeSet::ANSWERED, set);
            if outcomes.is_empty() {
                return Err(err(
                    format!("{p}.indicator.outcomes"),
                    "no outcome is counted",
                ));
            }
            if s.budgeting_method != BudgetingMethod::Timeslices {
                return Err(err(
                    format!("{p}.budgeting_method"),
                    "a threshold indicator is judged per time slice: set \
                     budgeting_method = \"timeslices\"",
                ));
            }
            if !quantile.0.is_multiple_of(1_000) {
                return Err(err(
                    format!("{p}.indicator.quantile"),
                    "quantiles are kept to three decimals (0.95, 0.999)",
                ));
            }
            Indicator::Threshold(ThresholdSli {
                metric: match metric {
                    ThresholdMetricName::Latency => ThresholdMetric::Latency,
                    ThresholdMetricName::Ttft => ThresholdMetric::Ttft,
                },
                quantile_per_mille: (quantile.0 / 1_000) as u32,
                max: max.0,
                outcomes,
            })
        }
    })
}

/// The SLO's burn-rate alert rules: the preset's for window `w`, then the ones written out,
/// every rule's name unique within the SLO.
fn alert_rules(
    a: &AlertingSchema,
    w: sim_core::Time,
    p: &str,
) -> Result<Vec<BurnRateRule>, BuildError> {
    let preset = match a.preset {
        PresetName::SreWorkbook => Some(Preset::SreWorkbook),
        PresetName::Sloth => Some(Preset::Sloth),
        PresetName::Pyrra => Some(Preset::Pyrra),
        PresetName::None => None,
    };
    let mut rules = match preset {
        Some(preset) => preset
            .rules(w)
            .map_err(|e| err(format!("{p}.alerting.preset"), e))?,
        None => Vec::new(),
    };
    for (j, r) in a.rules.iter().enumerate() {
        if rules.iter().any(|o| o.name == r.name) {
            return Err(err(
                format!("{p}.alerting.rules[{j}].name"),
                format!("another rule of this SLO is named `{}`", r.name),
            ));
        }
        let severity = match r.severity {
            SeverityName::Page => Severity::Page,
            SeverityName::Ticket => Severity::Ticket,
        };
        let rule = BurnRateRule::new(
            r.name.clone(),
            severity,
            r.long_window.0,
            r.short_window.0,
            r.burn_rate.0,
            r.for_duration.0,
        )
        .map_err(|e| {
            policy_err(
                &format!("{p}.alerting.rules[{j}]"),
                &[
                    ("long", "long_window"),
                    ("short", "short_window"),
                    ("factor", "burn_rate"),
                ],
                e,
            )
        })?;
        rules.push(rule);
    }
    Ok(rules)
}

/// Checks what depends on the horizon (slots per window, time slices) the way the world will:
/// by building one tracker per SLO, so that a scenario that validates can also run. Errors
/// point at the SLO, or at its alerting interval when that is what does not fit.
pub fn check_slos_fit(
    slos: &[SloConfig],
    tenants: &[&str],
    routes: &[&str],
    warmup: sim_core::Time,
    horizon: sim_core::Time,
) -> Result<(), BuildError> {
    for (i, slo) in slos.iter().enumerate() {
        models::slo::SloTracker::new(std::slice::from_ref(slo), tenants, routes, warmup, horizon)
            .map_err(|m| {
            let field = if m.contains("evaluation interval") {
                format!("slos[{i}].alerting.interval")
            } else {
                format!("slos[{i}]")
            };
            err(field, m)
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        slos: Vec<SloSchema>,
    }

    fn parse(text: &str) -> Result<Vec<SloSchema>, String> {
        toml::from_str::<File>(text)
            .map(|f| f.slos)
            .map_err(|e| e.to_string())
    }

    fn build(text: &str) -> Result<Vec<SloConfig>, BuildError> {
        build_slos(
            &parse(text).unwrap(),
            &["chat", "batch"],
            &["gpt"],
            &["batch"],
        )
    }

    #[test]
    fn a_minimal_slo_gets_the_documented_defaults() {
        let c = build("[[slos]]\nname = \"a\"\nobjective = \"99.9\"\nindicator = { kind = \"availability\" }\n")
            .unwrap();
        let c = &c[0];
        assert_eq!(c.objective.ppm(), 999_000);
        assert_eq!(c.window, SloWindow::Rolling(30 * DAY));
        assert_eq!(c.budgeting, Budgeting::Occurrences);
        assert_eq!(
            c.alerting.rules,
            Preset::SreWorkbook.rules(30 * DAY).unwrap()
        );
        assert_eq!(c.alerting.interval, DEFAULT_INTERVAL);
        assert_eq!(c.incident_window, DEFAULT_INCIDENT_WINDOW);
    }

    #[test]
    fn every_field_converts() {
        let text = r#"
[[slos]]
name = "p95-ttft"
tenants = ["chat"]
routes = ["gpt"]
objective = 0.99
time_window = { duration = "7d", is_rolling = false }
budgeting_method = "timeslices"
time_slice_window = "5m"
empty_slices = "skip"
incident_window = "10m"
indicator = { kind = "threshold", metric = "ttft", quantile = 0.95, max = "2s" }
[slos.alerting]
preset = "pyrra"
interval = "30s"
grace = "5m"
[[slos.alerting.rules]]
name = "fast"
severity = "ticket"
long_window = "10m"
short_window = "1m"
burn_rate = 14.4
for = "2m"
"#;
        let c = &build(text).unwrap()[0];
        assert_eq!(c.window, SloWindow::Calendar(7 * DAY));
        assert_eq!(
            c.budgeting,
            Budgeting::Timeslices {
                slice: 300 * sim_core::NANOS_PER_SEC,
                target: Objective::from_ppm(990_000).unwrap(),
                empty: EmptySlice::Skip
            }
        );
        assert_eq!(c.alerting.rules.len(), 5);
        assert_eq!(c.alerting.rules[4].factor, 14_400_000);
        let Indicator::Threshold(t) = &c.indicator else {
            panic!()
        };
        assert_eq!(t.quantile_per_mille, 950);
        // Round trip through serialization.
        let schema = parse(text).unwrap();
        let back = toml::to_string(&File {
            slos: schema.clone(),
        })
        .unwrap();
        assert_eq!(parse(&back).unwrap(), schema, "{back}");
    }

    #[test]
    fn errors_point_at_the_value() {
        let base = "[[slos]]\nname = \"a\"\nindicator = { kind = \"availability\" }\n";
        let e = parse(&format!("{base}objective = 99.9\n")).unwrap_err();
        assert!(e.contains("write percentages as strings"), "{e}");
        let e = parse(&format!("{base}objective = \"99.99995\"\n")).unwrap_err();
        assert!(e.contains("finer than one part per million"), "{e}");
        let e = parse(&format!("{base}objective = \"99\"\nbogus = 1\n")).unwrap_err();
        assert!(e.contains("bogus"), "{e}");

        let e = build(&format!(
            "{base}objective = \"99\"\ntenants = [\"chat\", \"nope\"]\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "slos[0].tenants[1]");
        assert!(e.message.contains("known: chat, batch"), "{}", e.message);

        let e = build(&format!(
            "{base}objective = \"99\"\nalerting = {{ interval = \"7m\" }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "slos[0].time_window.duration", "{}", e.message);

        let e = build(
            "[[slos]]\nname = \"t\"\nobjective = \"99\"\nindicator = { kind = \"threshold\", metric = \"latency\", max = \"1s\" }\n",
        )
        .unwrap_err();
        assert_eq!(e.path, "slos[0].budgeting_method");

        let e = build(&format!(
            "{base}objective = \"99\"\n[[slos]]\nname = \"a\"\nobjective = \"99\"\nindicator = {{ kind = \"goodput\" }}\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "slos[1].name");

        let e = build(&format!(
            "{base}objective = \"99\"\n[[slos.alerting.rules]]\nname = \"r\"\nlong_window = \"5m\"\nshort_window = \"1h\"\nburn_rate = 2\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "slos[0].alerting.rules[0].short_window");
        assert!(e.message.contains("short window"), "{}", e.message);

        let e = build(&format!(
            "{base}objective = \"99\"\n[[slos.alerting.rules]]\nname = \"r\"\nlong_window = \"0s\"\nshort_window = \"0s\"\nburn_rate = 2\n"
        ))
        .unwrap_err();
        assert_eq!(e.path, "slos[0].alerting.rules[0].long_window");
        assert!(
            e.message
                .contains("rule `r`: windows must be longer than zero"),
            "{}",
            e.message
        );
    }
}
