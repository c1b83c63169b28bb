//! The scenario file format: one schema for TOML and JSON. Unknown keys are rejected everywhere.
//! Defaults are stated on each field; `faultline examples NAME` prints complete examples.
//!
//! This module holds the root, [`Scenario`]; each of its sections is a module of
//! [`crate::sections`] holding that section's types and its conversion to `models`.

use crate::sections::backends::Backend;
use crate::sections::chaos::{ChaosSchema, CostGuardSchema};
use crate::sections::gateway::Gateway;
use crate::sections::report::ReportSchema;
use crate::sections::routes::Route;
use crate::sections::slos::SloSchema;
use crate::sections::tenants::Tenant;
use crate::values::Duration;
use serde::{Deserialize, Serialize};

fn default_seed() -> u64 {
    1
}
fn default_replications() -> u32 {
    10
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The JSON Schema a JSON scenario file names for its editor (`"$schema":
    /// "./faultline.schema.json"`, from `faultline schema`). Ignored by the simulator and left
    /// out of the canonical scenario, so it changes no result.
    #[serde(rename = "$schema", default, skip_serializing)]
    pub json_schema: Option<String>,
    /// What the scenario is for, in a sentence or two (shown by `faultline examples`).
    #[serde(default)]
    pub description: String,
    /// Master seed of every random stream (default 1; `--seed` overrides).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Independent replications, each with its own streams (default 10; `--replications`).
    #[serde(default = "default_replications")]
    pub replications: u32,
    /// Virtual time simulated per replication.
    pub horizon: Duration,
    /// Initial period excluded from every statistic (default "0s").
    #[serde(default)]
    pub warmup: Duration,
    pub tenants: Vec<Tenant>,
    pub backends: Vec<Backend>,
    /// Logical models that calls ask for: a backend, soft-failure rates and a validator
    /// (default: none; a tenant may name a backend directly).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub gateway: Gateway,
    /// Service level objectives, evaluated on every job (default: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slos: Vec<SloSchema>,
    /// Chaos experiments: timed faults with a steady-state hypothesis and a safety gate
    /// (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos: Option<ChaosSchema>,
    /// Spend per hour against a budget and a baseline (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_guard: Option<CostGuardSchema>,
    /// Task queues drained by pools of workers (default: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub work_queues: Vec<crate::sections::work_queues::WorkQueue>,
    /// What the summary's headline shows besides the verdicts (default: nothing more).
    #[serde(default, skip_serializing_if = "ReportSchema::is_empty")]
    pub report: ReportSchema,
}
