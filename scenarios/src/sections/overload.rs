//! The gateway's overload controls: `[gateway.retry.quota]` (a retry quota per tenant, the
//! AWS SDKs' standard and adaptive retry modes), `[gateway.concurrency_limit]` (an adaptive
//! concurrency limit per backend: AIMD, Vegas or Gradient2) and `[gateway.queue_discipline]`
//! (CoDel or adaptive LIFO in place of FIFO), and their conversion to a `models`
//! [`OverloadConfig`]. Every default is the published one (AWS's numbers, Netflix's
//! concurrency-limits library, RFC 8289, "Fail at scale").

use crate::build_error::{BuildError, err, policy_err};
use crate::sections::resilience::Scheduling;
use crate::values::{Duration, Positive};
use models::BackendConfig;
use models::config::{OverloadConfig, QueueDiscipline};
use policies::{LimitConfig, QuotaConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const MS: u64 = 1_000_000;

/// A retry quota: a token bucket per tenant that retries spend and answers refill; a tenant
/// whose bucket cannot pay for a retry gets its error back instead. The defaults are the AWS
/// SDKs' standard retry mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryQuota {
    /// Tokens each tenant's bucket holds and starts with (default 500).
    #[serde(default = "default_capacity")]
    pub capacity: u32,
    /// Tokens a retry takes (default 5).
    #[serde(default = "default_retry_cost")]
    pub retry_cost: u32,
    /// Tokens a retry after an attempt timeout takes (default 10).
    #[serde(default = "default_timeout_cost")]
    pub timeout_cost: u32,
    /// Tokens a call answered at its first attempt gives back (default 1); a call answered by
    /// a retry gives back what that retry took.
    #[serde(default = "default_refill_per_success")]
    pub refill_per_success: u32,
    /// Tokens every call gives back when it starts (default 0; the per-client budgets of the
    /// retry analyses refill per request).
    #[serde(default)]
    pub refill_per_call: u32,
    /// The AWS SDKs' adaptive mode: each tenant also paces its attempts with a client-side
    /// rate limiter whose rate follows CUBIC on throttling errors (429, 529) (default false).
    #[serde(default)]
    pub adaptive: bool,
    /// Per tenant, by name: the numbers that differ from the ones above for that tenant's
    /// bucket (`[gateway.retry.quota.tenants.batch] capacity = 50`); the others are the
    /// quota's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, QuotaOverride>,
}

/// One tenant's retry quota where it differs from the scenario's (`None`: the quota's number).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotaOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_cost: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_cost: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_per_success: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill_per_call: Option<u32>,
}

impl QuotaOverride {
    /// `base` with this tenant's numbers in place.
    fn apply(&self, base: QuotaConfig) -> QuotaConfig {
        QuotaConfig {
            capacity: self.capacity.unwrap_or(base.capacity),
            retry_cost: self.retry_cost.unwrap_or(base.retry_cost),
            timeout_cost: self.timeout_cost.unwrap_or(base.timeout_cost),
            refill_per_success: self.refill_per_success.unwrap_or(base.refill_per_success),
            refill_per_call: self.refill_per_call.unwrap_or(base.refill_per_call),
        }
    }
}

/// Checks a quota's numbers, naming the key under `path` that makes it impossible.
fn check_quota(c: &QuotaConfig, path: &str) -> Result<(), BuildError> {
    c.validate().map_err(|e| {
        policy_err(
            path,
            &[
                ("capacity", "capacity"),
                ("retry_cost", "retry_cost"),
                ("timeout_cost", "timeout_cost"),
            ],
            e,
        )
    })
}

fn default_capacity() -> u32 {
    QuotaConfig::AWS_STANDARD.capacity
}
fn default_retry_cost() -> u32 {
    QuotaConfig::AWS_STANDARD.retry_cost
}
fn default_timeout_cost() -> u32 {
    QuotaConfig::AWS_STANDARD.timeout_cost
}
fn default_refill_per_success() -> u32 {
    QuotaConfig::AWS_STANDARD.refill_per_success
}

/// An adaptive concurrency limit at the gateway, one per backend, chosen by `algorithm`:
/// attempts beyond the limit are turned away at once (shed, or sent down the route's fallback
/// chain), as Envoy's adaptive concurrency filter and Netflix's limiters do. The defaults are
/// the concurrency-limits library's, but `max_limit` (200 for AIMD, which the library leaves
/// unbounded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "algorithm", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConcurrencyLimit {
    /// Loss based: a drop (a 429/529, a timeout, or an RTT beyond `timeout`) multiplies the
    /// limit by `backoff_ratio`; an answer with at least half the limit in use adds one.
    Aimd {
        #[serde(default = "ten")]
        initial_limit: u32,
        #[serde(default = "one")]
        min_limit: u32,
        #[serde(default = "two_hundred")]
        max_limit: u32,
        /// In [0.5, 1) (default 0.9).
        #[serde(default = "default_backoff_ratio")]
        backoff_ratio: Positive,
        /// An RTT beyond this counts as a drop (default "5s").
        #[serde(default = "default_aimd_timeout")]
        timeout: Duration,
    },
    /// TCP Vegas: the queue the limit builds, `limit·(1 − min_rtt/rtt)`, is held between
    /// 3·log10(limit) and 6·log10(limit).
    Vegas {
        #[serde(default = "twenty")]
        initial_limit: u32,
        #[serde(default = "thousand")]
        max_limit: u32,
        /// Weight of a new estimate, in (0, 1] (default 1).
        #[serde(default = "unit")]
        smoothing: Positive,
        /// Samples per unit of limit between probes of the no-load RTT (default 30).
        #[serde(default = "thirty")]
        probe_multiplier: u32,
    },
    /// The gradient of a long-term average RTT over the latest one, plus `queue_size`.
    Gradient2 {
        #[serde(default = "twenty")]
        initial_limit: u32,
        #[serde(default = "twenty")]
        min_limit: u32,
        #[serde(default = "two_hundred")]
        max_limit: u32,
        /// Weight of a new estimate, in (0, 1] (default 0.2).
        #[serde(default = "default_gradient_smoothing")]
        smoothing: Positive,
        /// Samples in the long-term average (default 600).
        #[serde(default = "six_hundred")]
        long_window: u32,
        /// Calls of queue the limit may grow by while latency is flat (default 4).
        #[serde(default = "four")]
        queue_size: u32,
    },
}

fn one() -> u32 {
    1
}
fn four() -> u32 {
    4
}
fn ten() -> u32 {
    10
}
fn twenty() -> u32 {
    20
}
fn thirty() -> u32 {
    30
}
fn two_hundred() -> u32 {
    200
}
fn six_hundred() -> u32 {
    600
}
fn thousand() -> u32 {
    1000
}
fn unit() -> Positive {
    Positive(1.0)
}
fn default_backoff_ratio() -> Positive {
    Positive(0.9)
}
fn default_gradient_smoothing() -> Positive {
    Positive(0.2)
}
fn default_aimd_timeout() -> Duration {
    Duration(5_000 * MS)
}

impl ConcurrencyLimit {
    fn config(&self) -> LimitConfig {
        match *self {
            ConcurrencyLimit::Aimd {
                initial_limit,
                min_limit,
                max_limit,
                backoff_ratio,
                timeout,
            } => LimitConfig::Aimd {
                initial: initial_limit,
                min: min_limit,
                max: max_limit,
                backoff_ratio: backoff_ratio.0,
                timeout: timeout.0,
            },
            ConcurrencyLimit::Vegas {
                initial_limit,
                max_limit,
                smoothing,
                probe_multiplier,
            } => LimitConfig::Vegas {
                initial: initial_limit,
                max: max_limit,
                smoothing: smoothing.0,
                probe_multiplier,
            },
            ConcurrencyLimit::Gradient2 {
                initial_limit,
                min_limit,
                max_limit,
                smoothing,
                long_window,
                queue_size,
            } => LimitConfig::Gradient2 {
                initial: initial_limit,
                min: min_limit,
                max: max_limit,
                smoothing: smoothing.0,
                long_window,
                queue_size,
            },
        }
    }
}

/// How each backend's queue is served under overload, in place of FIFO, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum QueueDisciplineSection {
    /// CoDel (RFC 8289): once the time calls waited has stayed above `target` for an
    /// `interval`, calls are dropped from the head (shed), the next `interval/√count` later,
    /// until a call's wait falls below `target`.
    Codel {
        /// Default "5ms" (RFC 8289's, for packets; a gateway in front of an LLM wants more).
        #[serde(default = "default_target")]
        target: Duration,
        /// Default "100ms".
        #[serde(default = "default_interval")]
        interval: Duration,
    },
    /// Adaptive LIFO ("Fail at scale"): first come first served, but newest first once the
    /// queue has held calls for `congested_after` without emptying.
    AdaptiveLifo {
        /// Default "100ms".
        #[serde(default = "default_interval")]
        congested_after: Duration,
    },
}

fn default_target() -> Duration {
    Duration(5 * MS)
}
fn default_interval() -> Duration {
    Duration(100 * MS)
}

/// The overload controls of `quota`, `limit` and `discipline` (the gateway's sections),
/// checked against the `scheduling` they replace, the built `backends` and the `tenants`'
/// names (in file order; a quota's per-tenant numbers name them).
pub fn build_overload(
    quota: Option<&RetryQuota>,
    limit: Option<&ConcurrencyLimit>,
    discipline: Option<&QueueDisciplineSection>,
    scheduling: Scheduling,
    backends: &[BackendConfig],
    tenants: &[&str],
) -> Result<OverloadConfig, BuildError> {
    let retry_quota = match quota {
        None => None,
        Some(q) => {
            let c = QuotaConfig {
                capacity: q.capacity,
                retry_cost: q.retry_cost,
                timeout_cost: q.timeout_cost,
                refill_per_success: q.refill_per_success,
                refill_per_call: q.refill_per_call,
            };
            check_quota(&c, "gateway.retry.quota")?;
            Some(c)
        }
    };
    let mut retry_quota_per_tenant = Vec::new();
    if let (Some(q), Some(base)) = (quota, retry_quota)
        && !q.tenants.is_empty()
    {
        for name in q.tenants.keys() {
            if !tenants.contains(&name.as_str()) {
                return Err(err(
                    format!("gateway.retry.quota.tenants.{name}"),
                    format!(
                        "no tenant is named `{name}`; the tenants are: {}",
                        tenants.join(", ")
                    ),
                ));
            }
        }
        for name in tenants {
            let c = q.tenants.get(*name).map_or(base, |o| o.apply(base));
            check_quota(&c, &format!("gateway.retry.quota.tenants.{name}"))?;
            retry_quota_per_tenant.push(c);
        }
    }
    let concurrency_limit = match limit {
        None => None,
        Some(l) => {
            if let Some(b) = backends.iter().find(|b| b.pool.is_some()) {
                return Err(err(
                    "gateway.concurrency_limit",
                    format!(
                        "adaptive concurrency limits apply to API backends; backend `{}` is a \
                         GPU pool, whose own admission (KV cache, batch size) limits it",
                        b.name
                    ),
                ));
            }
            let c = l.config();
            // The limit's parameters are named as the section's keys.
            c.validate()
                .map_err(|e| err(format!("gateway.concurrency_limit.{}", e.param), e.message))?;
            Some(c)
        }
    };
    let queue_discipline = match discipline {
        None => None,
        Some(d) => {
            if scheduling != Scheduling::Fifo {
                return Err(err(
                    "gateway.queue_discipline",
                    "a queue discipline replaces first-come-first-served order; it cannot be \
                     combined with fair scheduling (gateway.scheduling must be \"fifo\")",
                ));
            }
            Some(match *d {
                QueueDisciplineSection::Codel { target, interval } => {
                    policies::Codel::validate(target.0, interval.0).map_err(|e| {
                        policy_err(
                            "gateway.queue_discipline",
                            &[("target", "target"), ("interval", "interval")],
                            e,
                        )
                    })?;
                    QueueDiscipline::Codel {
                        target: target.0,
                        interval: interval.0,
                    }
                }
                QueueDisciplineSection::AdaptiveLifo { congested_after } => {
                    QueueDiscipline::AdaptiveLifo {
                        congested_after: congested_after.0,
                    }
                }
            })
        }
    };
    Ok(OverloadConfig {
        retry_quota,
        retry_quota_per_tenant,
        client_rate_limit: quota.is_some_and(|q| q.adaptive),
        concurrency_limit,
        queue_discipline,
    })
}
