//! `[[chaos.experiments]]` and `[cost_guard]` in scenario files, and their conversion to
//! `models`' configuration. Experiments are shaped after the Chaos Toolkit's format: a
//! `steady_state` hypothesis of SLO probes with tolerances, a `method` of timed faults (each with
//! its blast radius), a `safety_gate` that aborts and rolls back, and a journal in the report.
//! The exact rules (windows, the gate's burn rate, budget burned) are in [`models::chaos`].
//!
//! ```toml
//! [[chaos.experiments]]
//! name = "429-storm"
//! start = "2h"                      # the method starts here (virtual time)
//! slo = "availability"              # gate and impact SLO (default: the first SLO)
//! fallback_sla = "30s"              # first fallback answer within this of the first fault
//! steady_state = { window = "10m", probes = [{ slo = "availability", tolerance = "0.5" }] }
//! safety_gate = { max_burn_rate = 2, window = "5m", interval = "10s" }
//!
//! [[chaos.experiments.method]]
//! kind = "provider_outage"          # see `FaultKindName`
//! mode = "rate_limited"
//! offset = "0s"
//! duration = "15m"
//! backends = ["primary"]            # blast radius: backends, tenants, share of traffic
//!
//! [cost_guard]
//! budget_usd_per_hour = 50
//! anomaly_threshold = 1.0           # alert above 2× the baseline
//! ```

use crate::build_error::{BuildError, err};
use crate::sections::episodes::OutageMode as SchemaOutageMode;
use crate::sections::slos::BurnFactor;
use crate::values::{Duration, NonNegative, Positive, Probability, RateValue};
use models::chaos::{
    BlastRadius, ChaosConfig, DEFAULT_GATE_INTERVAL, DEFAULT_GATE_LIMIT, DEFAULT_GATE_WINDOW,
    ExperimentConfig, FaultConfig, FaultKind, Probe, SafetyGate,
};
use models::config::{OutageMode, SOFT_CATEGORIES};
use models::cost_guard::{AnomalyConfig, CostGuardConfig};
use models::slo::{Indicator, SloConfig, decimal_scaled};
use serde::{Deserialize, Serialize};

const MINUTE: u64 = 60 * sim_core::NANOS_PER_SEC;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChaosSchema {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub experiments: Vec<ExperimentSchema>,
}

/// One experiment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSchema {
    /// Unique; metrics are reported as `chaos.NAME.*`.
    pub name: String,
    /// What the experiment tests, for people (default: empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// When the method starts; the steady state is checked over the window just before.
    pub start: Duration,
    /// The SLO the safety gate watches and the budget burned is measured on (default: the
    /// scenario's first SLO). Must be a ratio SLO.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<String>,
    /// Fallback must answer a call within this long of the first fault (default: not judged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_sla: Option<Duration>,
    #[serde(default)]
    pub steady_state: SteadyState,
    /// On by default; `safety_gate = { enabled = false }` runs the method to its end whatever
    /// it burns.
    #[serde(default)]
    pub safety_gate: GateSchema,
    /// The timed faults.
    pub method: Vec<FaultSchema>,
}

fn default_probe_window() -> Duration {
    Duration(10 * MINUTE)
}

/// The hypothesis: every probe holds over `window` before the method (else the method does not
/// run) and over `window` after it (reported).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SteadyState {
    /// Default "10m".
    #[serde(default = "default_probe_window")]
    pub window: Duration,
    /// Default: none (the hypothesis holds vacuously and the method always runs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<ProbeSchema>,
}

impl Default for SteadyState {
    fn default() -> Self {
        SteadyState {
            window: default_probe_window(),
            probes: Vec::new(),
        }
    }
}

/// The SLI of `slo` over the window must be at least its objective minus `tolerance`
/// (percentage points as decimal text, `"0.5"`; default `"0"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProbeSchema {
    pub slo: String,
    #[serde(default = "default_tolerance")]
    pub tolerance: String,
}

fn default_tolerance() -> String {
    "0".to_string()
}

fn default_true() -> bool {
    true
}
fn default_gate_limit() -> BurnFactor {
    BurnFactor(DEFAULT_GATE_LIMIT)
}
fn default_gate_window() -> Duration {
    Duration(DEFAULT_GATE_WINDOW)
}
fn default_gate_interval() -> Duration {
    Duration(DEFAULT_GATE_INTERVAL)
}

/// The abort criterion: the burn rate of the experiment's SLO over the trailing `window`,
/// evaluated every `interval` from the method's start, above `max_burn_rate` (default 2: twice
/// the pace that spends exactly the SLO window's budget, e.g. 2/30 of a 30-day budget per day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GateSchema {
    #[serde(default = "default_true")]
    pub enabled: bool,
    #[serde(default = "default_gate_limit")]
    pub max_burn_rate: BurnFactor,
    /// Default "5m"; a whole number of intervals.
    #[serde(default = "default_gate_window")]
    pub window: Duration,
    /// Default "10s".
    #[serde(default = "default_gate_interval")]
    pub interval: Duration,
}

impl Default for GateSchema {
    fn default() -> Self {
        GateSchema {
            enabled: true,
            max_burn_rate: default_gate_limit(),
            window: default_gate_window(),
            interval: default_gate_interval(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FaultKindName {
    /// Every attempt in the blast radius fails as in an outage (`mode`: server_error,
    /// rate_limited, connection_refused, hang).
    ProviderOutage,
    /// The gateway cannot reach the provider (`mode`: connection_refused or hang).
    Partition,
    /// Attempts take `multiplier` times as long (default 1), plus `add` (default "0s").
    Latency,
    /// Good answers become silently bad (`category`, default quality_degradation) with
    /// `probability`.
    Corruption,
    /// `multiplier` times the arrival volume of the tenants in the blast radius.
    TrafficSurge,
    /// Extra jobs at `rate` with `prompt_tokens`-long prompts.
    LongContextBurst,
    /// A malformed prompt holds `workers` slots (default 1) of each backend in the blast
    /// radius for the fault's duration.
    WorkerStall,
    /// `replicas` serving replicas (default 1) of each GPU pool in the blast radius crash at
    /// the fault's start and come back through the pool's repair and cold start.
    ReplicaKill,
}

/// One timed fault; which fields apply depends on `kind` (the others are rejected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSchema {
    pub kind: FaultKindName,
    /// From the method's start (default "0s").
    #[serde(default)]
    pub offset: Duration,
    pub duration: Duration,
    /// Share of the matching attempts (answers, for corruption) hit, drawn independently
    /// (default 1). Surges and bursts ignore it.
    #[serde(default = "one")]
    pub share: Probability,
    /// Only these tenants' calls (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tenants: Vec<String>,
    /// Only these backends (default: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backends: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SchemaOutageMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<Positive>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<Probability>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<RateValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
}

fn one() -> Probability {
    Probability(1.0)
}

fn default_period() -> Duration {
    Duration(60 * MINUTE)
}
fn default_baseline() -> u32 {
    6
}

/// Spend per period (default one hour) against a budget, and against the trailing mean of the
/// previous `baseline_periods` periods (default 6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CostGuardSchema {
    /// Alert when a period's spend exceeds this (default: no budget alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd_per_hour: Option<NonNegative>,
    /// Alert when a period's spend exceeds the baseline by this share: 1.0 is twice the
    /// baseline (default: no anomaly alert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_threshold: Option<NonNegative>,
    #[serde(default = "default_baseline")]
    pub baseline_periods: u32,
    /// Default "1h"; the budget is per period.
    #[serde(default = "default_period")]
    pub period: Duration,
}

fn index_of(names: &[&str], name: &str, path: String, what: &str) -> Result<u16, BuildError> {
    names
        .iter()
        .position(|n| *n == name)
        .map(|i| i as u16)
        .ok_or_else(|| {
            err(
                path,
                format!(
                    "no {what} is named `{name}` (known: {})",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            )
        })
}

/// Converts `[chaos]` to `models` configuration. Errors carry the key path
/// (`chaos.experiments[0].method[1].mode`).
pub fn build_chaos(
    chaos: &ChaosSchema,
    slos: &[SloConfig],
    tenants: &[&str],
    backends: &[&str],
    pools: &[bool],
    attempt_timeout: bool,
) -> Result<ChaosConfig, BuildError> {
    let slo_names: Vec<&str> = slos.iter().map(|s| s.name.as_str()).collect();
    let ratio_slo = |name: &str, path: String| -> Result<usize, BuildError> {
        let i = index_of(&slo_names, name, path.clone(), "SLO")? as usize;
        if matches!(slos[i].indicator, Indicator::Threshold(_)) {
            return Err(err(
                path,
                format!(
                    "SLO `{name}` has a threshold indicator; probes and safety gates need a ratio SLI (good/total per call)"
                ),
            ));
        }
        if slos[i].workflow.is_some() {
            return Err(err(
                path,
                format!(
                    "SLO `{name}` counts workflow executions; probes and safety gates need an SLI over calls"
                ),
            ));
        }
        Ok(i)
    };
    let mut experiments = Vec::with_capacity(chaos.experiments.len());
    for (i, x) in chaos.experiments.iter().enumerate() {
        let p = format!("chaos.experiments[{i}]");
        let name = x.name.trim();
        if name.is_empty() || name.contains(['.', '=', ',']) {
            return Err(err(
                format!("{p}.name"),
                "a name must be non-empty and hold no `.`, `=` or `,` (it is part of metric names)",
            ));
        }
        if chaos.experiments[..i].iter().any(|o| o.name.trim() == name) {
            return Err(err(
                format!("{p}.name"),
                format!("another experiment is named `{name}`"),
            ));
        }
        let slo = match &x.slo {
            Some(s) => ratio_slo(s, format!("{p}.slo"))?,
            None => {
                if slos.is_empty() {
                    return Err(err(
                        format!("{p}.slo"),
                        "an experiment measures its impact on an SLO: define one under [[slos]]",
                    ));
                }
                ratio_slo(slo_names[0], format!("{p}.slo"))?
            }
        };
        if x.steady_state.window.0 == 0 {
            return Err(err(
                format!("{p}.steady_state.window"),
                "the probe window must be longer than 0s",
            ));
        }
        let mut probes = Vec::with_capacity(x.steady_state.probes.len());
        for (j, pr) in x.steady_state.probes.iter().enumerate() {
            let pp = format!("{p}.steady_state.probes[{j}]");
            let slo = ratio_slo(&pr.slo, format!("{pp}.slo"))?;
            let t = pr.tolerance.trim();
            let tolerance_ppm = decimal_scaled(t.strip_suffix('%').unwrap_or(t).trim_end(), 4)
                .map_err(|e| {
                    err(
                        format!("{pp}.tolerance"),
                        format!(
                            "\"{}\": {e} (percentage points as text, like \"0.5\")",
                            pr.tolerance
                        ),
                    )
                })?;
            if tolerance_ppm > 1_000_000 {
                return Err(err(
                    format!("{pp}.tolerance"),
                    "a tolerance is at most 100 percentage points",
                ));
            }
            probes.push(Probe { slo, tolerance_ppm });
        }
        let gate = safety_gate(&x.safety_gate, &p)?;
        if x.method.is_empty() {
            return Err(err(
                format!("{p}.method"),
                "an experiment needs at least one fault in its method",
            ));
        }
        if x.method.len() > 1_000 {
            return Err(err(
                format!("{p}.method"),
                "at most 1000 faults per experiment",
            ));
        }
        let mut faults = Vec::with_capacity(x.method.len());
        for (j, f) in x.method.iter().enumerate() {
            faults.push(build_fault(
                f,
                &format!("{p}.method[{j}]"),
                tenants,
                backends,
                pools,
                attempt_timeout,
            )?);
        }
        experiments.push(ExperimentConfig {
            name: name.to_string(),
            start: x.start.0,
            slo,
            probes,
            probe_window: x.steady_state.window.0,
            faults,
            gate,
            fallback_sla: x.fallback_sla.map(|d| d.0),
        });
    }
    let total: usize = experiments.iter().map(|e| e.faults.len()).sum();
    if experiments.len() > u16::MAX as usize || total > u16::MAX as usize {
        return Err(err(
            "chaos.experiments",
            "at most 65535 experiments and 65535 faults in all",
        ));
    }
    Ok(ChaosConfig { experiments })
}

fn build_fault(
    f: &FaultSchema,
    p: &str,
    tenants: &[&str],
    backends: &[&str],
    pools: &[bool],
    attempt_timeout: bool,
) -> Result<FaultConfig, BuildError> {
    use FaultKindName as K;
    if f.duration.0 == 0 {
        return Err(err(
            format!("{p}.duration"),
            "a fault must last longer than 0s",
        ));
    }
    let kind_name = check_fields(f, p)?;
    let mut t = Vec::with_capacity(f.tenants.len());
    for (k, n) in f.tenants.iter().enumerate() {
        t.push(index_of(tenants, n, format!("{p}.tenants[{k}]"), "tenant")?);
    }
    let mut b = Vec::with_capacity(f.backends.len());
    for (k, n) in f.backends.iter().enumerate() {
        b.push(index_of(
            backends,
            n,
            format!("{p}.backends[{k}]"),
            "backend",
        )?);
    }
    let need = |v: bool, field: &str| {
        if v {
            Ok(())
        } else {
            Err(err(
                format!("{p}.{field}"),
                format!("a `{kind_name}` fault needs `{field}`"),
            ))
        }
    };
    let kind = match f.kind {
        K::ProviderOutage => FaultKind::Outage(outage_mode(f.mode, false, attempt_timeout, p)?),
        K::Partition => FaultKind::Partition(outage_mode(f.mode, true, attempt_timeout, p)?),
        K::Latency => {
            let add = f.add.map_or(0, |d| d.0);
            let multiplier = f.multiplier.map_or(1.0, |m| m.0);
            if add == 0 && multiplier == 1.0 {
                return Err(err(
                    p.to_string(),
                    "a latency fault needs `add` (\"2s\") or `multiplier` (3)",
                ));
            }
            FaultKind::Latency { add, multiplier }
        }
        K::Corruption => {
            need(f.probability.is_some(), "probability")?;
            let name = f.category.as_deref().unwrap_or("quality_degradation");
            let category = SOFT_CATEGORIES
                .iter()
                .position(|c| *c == name)
                .ok_or_else(|| {
                    err(
                        format!("{p}.category"),
                        format!(
                            "no soft-failure category `{name}` (known: {})",
                            SOFT_CATEGORIES.join(", ")
                        ),
                    )
                })?;
            FaultKind::Corruption {
                probability: f.probability.map_or(0.0, |q| q.0),
                category: category as u8,
            }
        }
        K::TrafficSurge => {
            need(f.multiplier.is_some(), "multiplier")?;
            let m = f.multiplier.map_or(1.0, |m| m.0);
            if m < 1.0 {
                return Err(err(
                    format!("{p}.multiplier"),
                    "a surge multiplies the volume by at least 1",
                ));
            }
            FaultKind::Surge { multiplier: m }
        }
        K::LongContextBurst => {
            need(f.rate.is_some(), "rate")?;
            need(f.prompt_tokens.is_some(), "prompt_tokens")?;
            let rate = f.rate.map_or(0.0, |r| r.0.as_per_second());
            if rate <= 0.0 || f.prompt_tokens == Some(0) {
                return Err(err(
                    format!("{p}.rate"),
                    "a burst needs a positive rate and prompts of at least one token",
                ));
            }
            FaultKind::LongContext {
                rate_per_s: rate,
                prompt_tokens: f.prompt_tokens.unwrap_or(1),
            }
        }
        K::WorkerStall => {
            let workers = f.workers.unwrap_or(1);
            if workers == 0 {
                return Err(err(
                    format!("{p}.workers"),
                    "a stall holds at least one worker",
                ));
            }
            FaultKind::Stall { workers }
        }
        K::ReplicaKill => replica_kill(f, p, &b, backends.len(), pools)?,
    };
    Ok(FaultConfig {
        offset: f.offset.0,
        duration: f.duration.0,
        kind,
        radius: BlastRadius {
            share: f.share.0,
            tenants: t,
            backends: b,
        },
    })
}

/// Converts `[cost_guard]`.
pub fn build_cost_guard(c: &CostGuardSchema) -> Result<CostGuardConfig, BuildError> {
    if c.period.0 == 0 {
        return Err(err(
            "cost_guard.period",
            "the period must be longer than 0s",
        ));
    }
    if c.budget_usd_per_hour.is_none() && c.anomaly_threshold.is_none() {
        return Err(err(
            "cost_guard",
            "give `budget_usd_per_hour`, `anomaly_threshold`, or both",
        ));
    }
    if c.baseline_periods == 0 || c.baseline_periods > 10_000 {
        return Err(err(
            "cost_guard.baseline_periods",
            "between 1 and 10000 periods",
        ));
    }
    // The budget is stated per hour; a guard on other periods scales it.
    let hours = c.period.0 as f64 / (60 * MINUTE) as f64;
    Ok(CostGuardConfig {
        period: c.period.0,
        budget_usd: c.budget_usd_per_hour.map(|b| b.0 * hours),
        anomaly: c.anomaly_threshold.map(|t| AnomalyConfig {
            threshold: t.0,
            baseline_periods: c.baseline_periods,
        }),
    })
}

/// The experiment's safety gate, if enabled: its window must be a whole number of evaluation
/// intervals, so the burn rate is measured over exactly the window.
fn safety_gate(g: &GateSchema, p: &str) -> Result<Option<SafetyGate>, BuildError> {
    if !g.enabled {
        return Ok(None);
    }
    let gp = format!("{p}.safety_gate");
    if g.interval.0 == 0 {
        return Err(err(
            format!("{gp}.interval"),
            "the interval must be longer than 0s",
        ));
    }
    if g.window.0 == 0 || !g.window.0.is_multiple_of(g.interval.0) {
        return Err(err(
            format!("{gp}.window"),
            "the window must be a positive whole number of intervals",
        ));
    }
    if g.window.0 / g.interval.0 > 100_000 {
        return Err(err(
            format!("{gp}.window"),
            "the window spans more than 100000 intervals; use a longer interval",
        ));
    }
    Ok(Some(SafetyGate {
        max_burn_rate: g.max_burn_rate.0,
        window: g.window.0,
        interval: g.interval.0,
    }))
}

/// What callers see during a provider outage or partition fault; a partition refuses or hangs
/// connections, and a hang needs an attempt timeout to end.
fn outage_mode(
    m: Option<SchemaOutageMode>,
    partition: bool,
    attempt_timeout: bool,
    p: &str,
) -> Result<OutageMode, BuildError> {
    let m = match (m, partition) {
        (Some(m), _) => m,
        (None, false) => SchemaOutageMode::ServerError,
        (None, true) => SchemaOutageMode::ConnectionRefused,
    };
    Ok(match m {
        SchemaOutageMode::ServerError | SchemaOutageMode::RateLimited if partition => {
            return Err(err(
                format!("{p}.mode"),
                "a partition refuses or hangs connections: `connection_refused` or `hang`",
            ));
        }
        SchemaOutageMode::ServerError => OutageMode::ServerError,
        SchemaOutageMode::RateLimited => OutageMode::RateLimited,
        SchemaOutageMode::ConnectionRefused => OutageMode::ConnectionRefused,
        SchemaOutageMode::Hang => {
            if !attempt_timeout {
                return Err(err(
                    format!("{p}.mode"),
                    "a hanging fault needs gateway.attempt_timeout: without one, calls would wait forever",
                ));
            }
            OutageMode::Hang
        }
    })
}

/// Fields that do not belong to the fault's kind are mistakes, not silently ignored values.
/// Answers the kind's name as written in a scenario, for the messages.
fn check_fields(f: &FaultSchema, p: &str) -> Result<String, BuildError> {
    use FaultKindName as K;
    let allowed: &[&str] = match f.kind {
        K::ProviderOutage | K::Partition => &["mode"],
        K::Latency => &["add", "multiplier"],
        K::Corruption => &["probability", "category"],
        K::TrafficSurge => &["multiplier"],
        K::LongContextBurst => &["rate", "prompt_tokens"],
        K::WorkerStall => &["workers"],
        K::ReplicaKill => &["replicas"],
    };
    let given = [
        ("mode", f.mode.is_some()),
        ("add", f.add.is_some()),
        ("multiplier", f.multiplier.is_some()),
        ("probability", f.probability.is_some()),
        ("category", f.category.is_some()),
        ("rate", f.rate.is_some()),
        ("prompt_tokens", f.prompt_tokens.is_some()),
        ("workers", f.workers.is_some()),
        ("replicas", f.replicas.is_some()),
    ];
    let kind_name = serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    for (field, set) in given {
        if set && !allowed.contains(&field) {
            return Err(err(
                format!("{p}.{field}"),
                format!(
                    "`{field}` does not apply to a `{kind_name}` fault (it takes: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(kind_name)
}

/// A replica kill's size, and its targets: the listed backends (every one a GPU pool), or
/// every backend when none is listed (at least one of them a pool).
fn replica_kill(
    f: &FaultSchema,
    p: &str,
    b: &[u16],
    backend_count: usize,
    pools: &[bool],
) -> Result<FaultKind, BuildError> {
    let replicas = f.replicas.unwrap_or(1);
    if replicas == 0 {
        return Err(err(
            format!("{p}.replicas"),
            "a replica kill takes down at least one replica",
        ));
    }
    let targets: Vec<usize> = if b.is_empty() {
        (0..backend_count).collect()
    } else {
        b.iter().map(|&i| i as usize).collect()
    };
    if let Some(k) = b.iter().position(|&i| !pools[i as usize]) {
        return Err(err(
            format!("{p}.backends[{k}]"),
            format!(
                "`{}` is not a GPU pool: only pool replicas can be killed",
                f.backends[k]
            ),
        ));
    }
    if !targets.iter().any(|&i| pools[i]) {
        return Err(err(
            p.to_string(),
            "a replica kill needs a GPU pool backend (`[backends.gpu_pool]`)",
        ));
    }
    Ok(FaultKind::ReplicaKill { replicas })
}
