//! `[[gateway.rate_limits]]`: the gateway's own limits on calls, tokens, spend or concurrency
//! (token bucket, GCRA or an exact sliding window), and their conversion to `models`
//! [`GatewayLimit`]s, each checked by building its limiter once.

use crate::build_error::{BuildError, err, policy_err};
use crate::values::Duration;
use models::config::{GatewayLimit, LimitKind};
use policies::RateLimiter;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// One limiter for all traffic.
    #[default]
    Global,
    /// One limiter per tenant.
    Tenant,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LimitAlgorithm {
    /// A bucket of `burst` refilled by `limit` per `per`.
    #[default]
    TokenBucket,
    /// The generic cell rate algorithm: `limit` per `per` with `burst` tolerance.
    Gcra,
    /// At most `limit` in any sliding window of `per` (exact log).
    SlidingWindow,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LimitUnit {
    /// Calls.
    #[default]
    Requests,
    /// Prompt plus output tokens of each call (estimated before the call).
    Tokens,
    /// Calls in flight at once (a concurrency limit; `per` and `algorithm` do not apply).
    Concurrency,
    /// Estimated spend: `limit` whole USD per `per` (e.g. 50 per "1h"), each call charged its
    /// prompt and output tokens at the route's primary backend's prices before it is sent.
    Usd,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OnLimit {
    /// Answer 429 with Retry-After: the call ends throttled.
    #[default]
    Reject,
    /// Hold the call until the limiter admits it.
    Delay,
}

/// A gateway rate limit, checked on every call before the cache and the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayRateLimit {
    #[serde(default)]
    pub scope: LimitScope,
    #[serde(default)]
    pub algorithm: LimitAlgorithm,
    #[serde(default)]
    pub unit: LimitUnit,
    /// How many units per `per` (or in flight, for concurrency).
    pub limit: u64,
    /// The period of `limit` (default "1m").
    #[serde(default = "default_per")]
    pub per: Duration,
    /// Bucket size or burst tolerance, in units (default: `limit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u64>,
    #[serde(default)]
    pub on_limit: OnLimit,
}

fn default_per() -> Duration {
    Duration(60 * sim_core::NANOS_PER_SEC)
}

/// The gateway's rate limits, each checked for validity by building it once.
pub(crate) fn gateway_limits(limits: &[GatewayRateLimit]) -> Result<Vec<GatewayLimit>, BuildError> {
    limits
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let path = format!("gateway.rate_limits[{i}]");
            if l.limit == 0 {
                return Err(err(format!("{path}.limit"), "a limit of 0 admits nothing"));
            }
            if l.per.0 == 0 {
                return Err(err(format!("{path}.per"), "the period must be longer than 0s"));
            }
            // Spend is counted in micro-USD, so that a call's fraction of a cent counts.
            let scale = if l.unit == LimitUnit::Usd { 1_000_000 } else { 1 };
            let limit = l.limit.checked_mul(scale).ok_or_else(|| {
                err(format!("{path}.limit"), "the limit is too large")
            })?;
            let burst = l.burst.unwrap_or(l.limit).saturating_mul(scale);
            let l = &GatewayRateLimit {
                limit,
                ..l.clone()
            };
            let kind = match (l.unit, l.algorithm) {
                (LimitUnit::Concurrency, _) => {
                    if l.on_limit == OnLimit::Delay {
                        return Err(err(
                            format!("{path}.on_limit"),
                            "a concurrency limit can only reject; `delay` needs a rate",
                        ));
                    }
                    LimitKind::Concurrency { limit: l.limit }
                }
                (_, LimitAlgorithm::Gcra | LimitAlgorithm::SlidingWindow)
                    if l.on_limit == OnLimit::Delay =>
                {
                    return Err(err(
                        format!("{path}.on_limit"),
                        "`delay` reserves tokens ahead, which needs algorithm = \"token_bucket\"",
                    ));
                }
                (_, LimitAlgorithm::TokenBucket) => LimitKind::Rate(RateLimiter::TokenBucket(
                    policies::TokenBucket::new(burst, l.limit, l.per.0).map_err(|e| {
                        policy_err(
                            &path,
                            &[("capacity", "burst"), ("amount", "limit"), ("per", "per")],
                            e,
                        )
                    })?,
                )),
                (_, LimitAlgorithm::Gcra) => LimitKind::Rate(RateLimiter::Gcra(
                    policies::Gcra::from_rate(l.limit, l.per.0, burst).map_err(|e| {
                        policy_err(
                            &path,
                            &[("burst", "burst"), ("limit", "limit"), ("period", "per")],
                            e,
                        )
                    })?,
                )),
                (_, LimitAlgorithm::SlidingWindow) => {
                    // The exact log keeps one entry per admitted unit in the window.
                    if l.limit > 1_000_000 {
                        return Err(err(
                            format!("{path}.limit"),
                            "a sliding window keeps every admission it counts; above 1,000,000 use token_bucket or gcra",
                        ));
                    }
                    LimitKind::Rate(RateLimiter::SlidingLog(
                        policies::SlidingWindowLog::new(l.limit, l.per.0).map_err(|e| {
                            policy_err(&path, &[("limit", "limit"), ("window", "per")], e)
                        })?,
                    ))
                }
            };
            Ok(GatewayLimit {
                per_tenant: l.scope == LimitScope::Tenant,
                kind,
                tokens: l.unit == LimitUnit::Tokens,
                usd: l.unit == LimitUnit::Usd,
                delay: l.on_limit == OnLimit::Delay,
            })
        })
        .collect()
}
