//! `[routes.balance]`: load balancing across several backends for a route's first position,
//! after the LiteLLM router's strategies (see `policies::load_balance`).
//!
//! ```toml
//! [[routes]]
//! name = "gpt-4o"
//! backend = "gpt-4o-eu"            # must be one of the deployments
//! fallbacks = ["claude"]
//! balance = { strategy = "simple_shuffle", deployments = [
//!     { backend = "gpt-4o-eu", weight = 2 },
//!     { backend = "gpt-4o-us", weight = 1 },
//! ] }
//! ```

use crate::build_error::{BuildError, policy_err};
use models::BackendId;
use models::config::BalanceConfig;
use policies::{LoadBalancer, Member, Strategy};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Balance {
    pub strategy: StrategyName,
    /// The backends of the group, in order (least busy breaks ties by it).
    pub deployments: Vec<Deployment>,
    /// Latency based: pick at random among deployments whose mean latency is within
    /// `(1 + latency_buffer)` × the lowest (default 0, LiteLLM's `lowest_latency_buffer`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub latency_buffer: f64,
    /// Latency based: latencies kept per deployment (default 10, LiteLLM's
    /// `max_latency_list_size`).
    #[serde(default = "default_samples")]
    pub latency_samples: u32,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

fn default_samples() -> u32 {
    policies::load_balance::DEFAULT_SAMPLES as u32
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StrategyName {
    SimpleShuffle,
    LeastBusy,
    LatencyBased,
    UsageBased,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub backend: String,
    /// Share under simple shuffle (default 1).
    #[serde(default = "one")]
    pub weight: f64,
    /// Requests per minute the router sends it at most (latency and usage based; default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u64>,
    /// Tokens per minute the router sends it at most (latency and usage based; default none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<u64>,
}

fn one() -> f64 {
    1.0
}

/// Checks a route's `balance` (at `path`) against the backends and the route's own `backend`,
/// and builds its balancer.
pub fn build_balance(
    b: &Balance,
    route_backend: usize,
    backend_ids: &BTreeMap<&str, usize>,
    path: &str,
) -> Result<BalanceConfig, BuildError> {
    let err = |p: String, m: String| BuildError {
        path: p,
        message: m,
    };
    let most = policies::load_balance::MAX_MEMBERS;
    if b.deployments.is_empty() || b.deployments.len() > most {
        return Err(err(
            format!("{path}.deployments"),
            format!(
                "expected 1 to {most} deployments, found {}",
                b.deployments.len()
            ),
        ));
    }
    let mut members = Vec::with_capacity(b.deployments.len());
    for (k, d) in b.deployments.iter().enumerate() {
        let here = format!("{path}.deployments[{k}]");
        let id = backend_ids
            .get(d.backend.as_str())
            .copied()
            .ok_or_else(|| {
                err(
                    format!("{here}.backend"),
                    format!(
                        "no backend is named `{}`; the backends are: {}",
                        d.backend,
                        backend_ids.keys().copied().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
        if members
            .iter()
            .any(|(b, _): &(BackendId, Member)| b.0 as usize == id)
        {
            return Err(err(
                format!("{here}.backend"),
                format!("backend `{}` is listed twice", d.backend),
            ));
        }
        if !d.weight.is_finite() || d.weight < 0.0 {
            return Err(err(
                format!("{here}.weight"),
                format!("expected a non-negative weight, found {}", d.weight),
            ));
        }
        if d.rpm == Some(0) || d.tpm == Some(0) {
            return Err(err(
                here,
                "`rpm` and `tpm` must be at least 1 (leave them out for no limit)".to_string(),
            ));
        }
        members.push((
            BackendId(id as u16),
            Member {
                weight: d.weight,
                rpm: d.rpm,
                tpm: d.tpm,
            },
        ));
    }
    if !members.iter().any(|(b, _)| b.0 as usize == route_backend) {
        return Err(err(
            format!("{path}.deployments"),
            "the route's `backend` must be one of its deployments".to_string(),
        ));
    }
    if !b.latency_buffer.is_finite() || b.latency_buffer < 0.0 {
        return Err(err(
            format!("{path}.latency_buffer"),
            format!("expected a non-negative number, found {}", b.latency_buffer),
        ));
    }
    if b.latency_samples == 0 || b.latency_samples > 1000 {
        return Err(err(
            format!("{path}.latency_samples"),
            format!("expected 1 to 1000, found {}", b.latency_samples),
        ));
    }
    let strategy = match b.strategy {
        StrategyName::SimpleShuffle => Strategy::SimpleShuffle,
        StrategyName::LeastBusy => Strategy::LeastBusy,
        StrategyName::LatencyBased => Strategy::LatencyBased {
            buffer: b.latency_buffer,
        },
        StrategyName::UsageBased => Strategy::UsageBased,
    };
    let (ids, members): (Vec<BackendId>, Vec<Member>) = members.into_iter().unzip();
    let balancer =
        LoadBalancer::new(strategy, members, b.latency_samples as usize).map_err(|e| {
            policy_err(
                path,
                &[
                    ("members", "deployments"),
                    ("members.weight", "deployments"),
                    ("samples", "latency_samples"),
                    ("strategy.buffer", "latency_buffer"),
                ],
                e,
            )
        })?;
    Ok(BalanceConfig {
        members: ids,
        balancer,
    })
}
