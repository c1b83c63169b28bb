//! `[gateway]`: what stands between the tenants and the backends (queue capacity, timeouts and
//! the deadline, retries, the input guardrail, rate limits, admission, scheduling, hedging,
//! idempotency), and its conversion to a `models` [`GatewayConfig`]. The retry rules are
//! checked before the SLOs and chaos experiments ([`build_retry`]), the rest after them
//! ([`build_gateway`]), which is the order a scenario's errors are reported in.

use crate::build_error::{BuildError, err, policy_err};
use crate::sections::overload::{ConcurrencyLimit, QueueDisciplineSection, RetryQuota};
use crate::sections::rate_limits::{GatewayRateLimit, gateway_limits};
use crate::sections::resilience::{AdmissionControl, Hedge, RetryBudget, Scheduling};
use crate::values::{Duration, Limit, Probability};
use models::config::ServiceModel;
use models::{BackendConfig, GatewayConfig};
use policies::{Backoff, RetryPolicy, RetryRules, RetryableClasses};
use serde::{Deserialize, Serialize};
use sim_core::Sampler;

/// The gateway in front of the backends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gateway {
    /// Calls that may wait for each backend (default "unlimited"; 0 makes a loss system:
    /// arrivals that find every slot busy are blocked).
    #[serde(default = "Limit::<0>::default_unlimited")]
    pub queue_capacity: Limit<0>,
    /// Per-attempt timeout from the start of service (default: none). A timed-out attempt is
    /// abandoned by the caller but keeps its backend slot until its service ends.
    #[serde(default)]
    pub attempt_timeout: Option<Duration>,
    /// Per-call deadline across retries and fallbacks (default: none). Must be longer than
    /// `attempt_timeout`; an attempt never runs past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Duration>,
    #[serde(default)]
    pub retry: Retry,
    /// An input guardrail that screens every job for prompt injection (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_guardrail: Option<InputGuardrail>,
    /// Rate limits on calls (default: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<GatewayRateLimit>,
    /// Admission control at each backend's queue (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<AdmissionControl>,
    /// How queued calls are ordered across tenants (default `fifo`).
    #[serde(default)]
    pub scheduling: Scheduling,
    /// Hedged attempts (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge: Option<Hedge>,
    /// Calls that waited this long in a queue are shed (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_timeout: Option<Duration>,
    /// Resends of timed-out attempts, with or without idempotency keys (default: not studied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<Idempotency>,
    /// An adaptive concurrency limit per backend (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_limit: Option<ConcurrencyLimit>,
    /// CoDel or adaptive LIFO in place of first-come-first-served (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_discipline: Option<QueueDisciplineSection>,
}

/// A client that times out re-sends while the provider may still be working on its first
/// attempt. `keys = true`: every attempt of a call carries the call's idempotency key (Stripe's
/// `Idempotency-Key`), so the provider attaches the resend to the attempt still running, or
/// answers it with the result it stored when that attempt finished (errors included, as Stripe
/// does); no new work, no new bill. `keys = false`: the resend is new work, billed again. Either
/// way the report counts the duplicates, and what they cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Idempotency {
    pub keys: bool,
}

/// Screens prompts: catches an injection with probability `recall` and blocks it; blocks a
/// clean prompt with probability `false_positive_rate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InputGuardrail {
    pub recall: Probability,
    #[serde(default)]
    pub false_positive_rate: Probability,
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway {
            queue_capacity: Limit::UNLIMITED,
            attempt_timeout: None,
            deadline: None,
            retry: Retry::default(),
            input_guardrail: None,
            rate_limits: Vec::new(),
            admission: None,
            scheduling: Default::default(),
            queue_timeout: None,
            hedge: None,
            idempotency: None,
            concurrency_limit: None,
            queue_discipline: None,
        }
    }
}

impl Limit<0> {
    fn default_unlimited() -> Limit<0> {
        Limit::UNLIMITED
    }
}

/// How failed attempts are retried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    /// Attempts in all, the first included (default 1: no retries; "unlimited" retries forever).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: Limit<1>,
    /// Default "none": a failed call re-joins the queue at once.
    #[serde(default)]
    pub backoff: BackoffKind,
    /// Base delay of the backoff (default "100ms").
    #[serde(default = "default_base")]
    pub base: Duration,
    /// Largest delay (default "10s").
    #[serde(default = "default_cap")]
    pub cap: Duration,
    /// Error classes worth retrying (default: rate_limited, server_error, bad_gateway,
    /// unavailable, gateway_timeout, overloaded, connection_reset, connection_refused,
    /// attempt_timeout: what the OpenAI and Anthropic SDKs retry; never bad_request,
    /// unauthorized, payload_too_large or context_overflow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_on: Option<Vec<String>>,
    /// A server's Retry-After is honoured up to this long (default "60s"); the wait is the
    /// longer of the backoff and the capped Retry-After.
    #[serde(default = "default_retry_after_cap")]
    pub retry_after_cap: Duration,
    /// A retry budget (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<RetryBudget>,
    /// A retry quota per tenant (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<RetryQuota>,
}

fn default_retry_after_cap() -> Duration {
    Duration(60_000_000_000)
}

fn default_max_attempts() -> Limit<1> {
    Limit::finite(1)
}
fn default_base() -> Duration {
    Duration(100_000_000)
}
fn default_cap() -> Duration {
    Duration(10_000_000_000)
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            max_attempts: default_max_attempts(),
            backoff: BackoffKind::None,
            base: default_base(),
            cap: default_cap(),
            retry_on: None,
            retry_after_cap: default_retry_after_cap(),
            budget: None,
            quota: None,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BackoffKind {
    #[default]
    None,
    Constant,
    Exponential,
    FullJitter,
    EqualJitter,
    DecorrelatedJitter,
}

/// The gateway's retry rules, checked against the built `backends`: unlimited instant retries
/// of a backend that can fail in zero time would stop virtual time. Also checks the attempt
/// timeout and deadline, which bound every attempt.
pub fn build_retry(g: &Gateway, backends: &[BackendConfig]) -> Result<RetryRules, BuildError> {
    let r = &g.retry;
    if r.base.0 > r.cap.0 && r.backoff != BackoffKind::None {
        return Err(err(
            "gateway.retry.cap",
            format!(
                "the backoff cap ({}) is smaller than its base ({})",
                sim_core::time::format_duration(r.cap.0),
                sim_core::time::format_duration(r.base.0)
            ),
        ));
    }
    let (base, cap) = (r.base.0, r.cap.0);
    let backoff = match r.backoff {
        BackoffKind::None => Backoff::None,
        BackoffKind::Constant => Backoff::Constant { base, cap },
        BackoffKind::Exponential => Backoff::Exponential { base, cap },
        BackoffKind::FullJitter => Backoff::FullJitter { base, cap },
        BackoffKind::EqualJitter => Backoff::EqualJitter { base, cap },
        BackoffKind::DecorrelatedJitter => Backoff::DecorrelatedJitter { base, cap },
    };
    let instant_retries = matches!(r.backoff, BackoffKind::None) || base == 0 || cap == 0;
    if r.max_attempts.0.is_none()
        && instant_retries
        && let Some(b) = backends.iter().find(|b| fails_instantly(b))
    {
        return Err(err(
            "gateway.retry.max_attempts",
            format!(
                "unlimited attempts with no delay between them, and backend `{}` can fail \
                 without taking any time: a failed call would be retried at the same instant \
                 forever and virtual time would stop. Limit the attempts, give the retries a \
                 backoff with a positive base, or give the backend's failures a latency",
                b.name
            ),
        ));
    }
    if let (Some(timeout), Some(deadline)) = (g.attempt_timeout, g.deadline) {
        policies::check_timeouts(timeout.0, deadline.0)
            .map_err(|e| policy_err("gateway", &[("attempt_timeout", "attempt_timeout")], e))?;
    }
    if let Some(RetryBudget::Finagle { window, .. } | RetryBudget::Adaptive { window, .. }) =
        &r.budget
        && window.0 < sim_core::NANOS_PER_SEC
    {
        return Err(err(
            "gateway.retry.budget.window",
            "a budget window must be at least 1s",
        ));
    }
    let retryable = match &r.retry_on {
        None => RetryableClasses::default(),
        Some(names) => {
            RetryableClasses::from_names(names).map_err(|m| err("gateway.retry.retry_on", m))?
        }
    };
    if let Some(t) = g.attempt_timeout
        && t.0 == 0
    {
        return Err(err(
            "gateway.attempt_timeout",
            "a timeout must be longer than 0s",
        ));
    }
    Ok(RetryRules {
        policy: RetryPolicy {
            max_attempts: r.max_attempts.0,
            backoff,
        },
        retryable,
        retry_after_cap: Some(r.retry_after_cap.0),
        reask: false,
    })
}

/// The gateway's configuration, its rules checked in the order of its fields; `retry` comes
/// from [`build_retry`].
pub fn build_gateway(g: &Gateway, retry: RetryRules) -> Result<GatewayConfig, BuildError> {
    Ok(GatewayConfig {
        queue_capacity: g.queue_capacity.0,
        idempotency: match &g.idempotency {
            Some(_) if g.attempt_timeout.is_none() => {
                return Err(err(
                    "gateway.idempotency",
                    "duplicates come from resends after an attempt timeout: set gateway.attempt_timeout",
                ));
            }
            other => other.as_ref().map(|i| i.keys),
        },
        retry,
        attempt_timeout: g.attempt_timeout.map(|d| d.0),
        deadline: g.deadline.map(|d| d.0),
        rate_limits: gateway_limits(&g.rate_limits)?,
        admission: g
            .admission
            .as_ref()
            .map(|a| a.policy("gateway.admission"))
            .transpose()?,
        hedge: g
            .hedge
            .as_ref()
            .map(|h| h.policy("gateway.hedge"))
            .transpose()?,
        // Built once the tenants (their weights) are: `Scheduling::fair_queue`.
        fair_queue: None,
        queue_timeout: match g.queue_timeout {
            Some(d) if d.0 == 0 => {
                return Err(err(
                    "gateway.queue_timeout",
                    "a queue timeout must be longer than 0s",
                ));
            }
            other => other.map(|d| d.0),
        },
        retry_budget: g.retry.budget.as_ref().map(RetryBudget::config),
        input_guardrail: g
            .input_guardrail
            .as_ref()
            .map(|i| (i.recall.0, i.false_positive_rate.0)),
        overload: Default::default(),
    })
}

/// Whether some failure of `b` can come back in zero time: an error latency that is always
/// zero, or (without one) a service model that is.
fn fails_instantly(b: &BackendConfig) -> bool {
    let zero = |s: &Sampler| matches!(s, Sampler::Deterministic { value } if *value <= 0.0);
    let can_fail = b.failure_probability > 0.0
        || b.errors.iter().any(|(_, p)| *p > 0.0)
        || !b.episodes.is_empty();
    let latency_zero = match &b.error_latency {
        Some(s) => zero(s),
        None => match &b.service {
            ServiceModel::Duration(s) => zero(s),
            ServiceModel::Tokens { ttft, .. } => zero(ttft),
        },
    };
    can_fail && latency_zero
}
