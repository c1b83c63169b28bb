//! `[[backends]]`: what serves calls, an API provider or (with `gpu_pool`) a self-hosted GPU
//! pool, and its conversion to `models` [`BackendConfig`]s. A backend's resilience policies
//! (breaker, cooldown), its outages and its pool are their own sections' types; this module
//! holds the rest and checks the rules between them.

use crate::build_error::{BuildError, err};
use crate::dists::{DurationDist, duration_sampler};
use crate::names::check_name;
use crate::sections::episodes::{Outage, Slowdown, build_episodes};
use crate::sections::gpu_pool::GpuPool;
use crate::sections::resilience::{CircuitBreaker, Cooldown};
use crate::sections::transport::{
    Memory, Network, StreamFailures, build_memory, build_network, build_stream_failures,
    check_not_pooled,
};
use crate::values::{Duration, Limit, NonNegative, Positive, Probability};
use models::BackendConfig;
use models::config::ServiceModel;
use models::config::{DegradationConfig, Price as ModelPrice, ProviderLimits as ModelLimits};
use models::gpu::GpuPoolConfig;
use policies::ErrorClass;
use serde::{Deserialize, Serialize};
use sim_core::Sampler;
use std::collections::BTreeMap;

fn default_concurrency() -> Limit<1> {
    Limit::finite(1)
}

/// Something that serves calls: `concurrency` slots, a service time, a failure probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    pub name: String,
    /// What the backend is (default `llm`): a model, or a dependency around it that is not one:
    /// `vector_db` (retrieval), `tool` (an HTTP API), `embedding` (an embedding service) or
    /// `cache` (a cache or database). A dependency is the same provider machinery (its
    /// `service` latency, `concurrency`, `errors`, `outages`, `slowdowns`) without a token
    /// latency model, and is usually priced per call (`price.per_call_usd`).
    #[serde(default)]
    pub kind: BackendKind,
    /// Calls served at once (default 1; "unlimited" for an infinite-server system).
    #[serde(default = "default_concurrency")]
    pub concurrency: Limit<1>,
    /// What a call finds when every slot is busy: `queue` (default: it waits in the gateway's
    /// queue) or `overloaded` (the provider answers 529 at once, as APIs do at capacity).
    #[serde(default)]
    pub when_busy: WhenBusy,
    /// Service time of one attempt, whatever the call: give either this, or `ttft` and
    /// `per_output_token` for latency that grows with the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<DurationDist>,
    /// Time to first token of an attempt (an LLM API's latency model, with `per_output_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft: Option<DurationDist>,
    /// Time per output token after the first; one draw per attempt, times its output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_output_token: Option<DurationDist>,
    /// Probability that a finished attempt fails, independently (default 0).
    #[serde(default)]
    pub failure_probability: Probability,
    /// Largest prompt + max_tokens the model accepts (default: no limit). A call beyond it
    /// fails with `context_overflow`, which is never retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u32>,
    /// A circuit breaker in front of this backend (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breaker: Option<CircuitBreaker>,
    /// LiteLLM-style cooldown after repeated failures (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<Cooldown>,
    /// The hidden quality state of the model behind this backend, shared by every call to it
    /// (default: always normal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degradation: Option<Degradation>,
    /// Silent model updates: from `at` on, soft-failure rates are multiplied by `multiplier`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_updates: Vec<ModelUpdate>,
    /// Token prices in USD (default: free).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// Hard errors per attempt by class, drawn when the attempt starts, e.g.
    /// `{ rate_limited = 0.01, server_error = 0.002 }` (default: none). Classes: rate_limited,
    /// server_error, bad_gateway, unavailable, gateway_timeout, overloaded, connection_reset,
    /// connection_refused, bad_request, unauthorized, payload_too_large. (A
    /// `stream_interrupted` comes from `stream_failures`.)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, Probability>,
    /// How long an error takes to come back (default: the attempt's own latency model: its
    /// time to first token, or its service time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_latency: Option<DurationDist>,
    /// The Retry-After a 429 from this provider carries (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<Duration>,
    /// The provider's own rate limits (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<ProviderLimits>,
    /// Outages: scheduled windows (`start`, `duration`) or an up/down process (`mtbf`, `mttr`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub outages: Vec<Outage>,
    /// Latency-degradation episodes: every attempt that starts during one takes `multiplier`
    /// times as long.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slowdowns: Vec<Slowdown>,
    /// Latency that grows with load, as a provider's does when it batches more calls per GPU:
    /// an attempt that starts while `n` others are in service (attempts its callers gave up on
    /// included: the provider does not know) takes `1 + latency_per_inflight · n` times its
    /// drawn time to first token and service time (default 0: latency ignores load). 0.01 makes
    /// 100 concurrent calls twice as slow. This is what lets retries feed on themselves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_per_inflight: Option<NonNegative>,
    /// A self-hosted GPU pool serves this backend (default: none, an API provider). It replaces
    /// `concurrency`, `service`, `ttft` and `per_output_token`: replicas batch calls and the
    /// step-time model times them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_pool: Option<GpuPool>,
    /// The network between the gateway and this backend: a delay each way, refused and reset
    /// connections (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// Streamed answers that break after their first token (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_failures: Option<StreamFailures>,
    /// A memory limit whose passing kills the serving process (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
}

/// A provider's rate limits, each its own bucket refilled continuously (a per-minute limit
/// refills one-sixtieth of itself every second). An attempt takes one request, its prompt tokens
/// and its `max_tokens` up front; output tokens are reconciled when it finishes. When any bucket
/// is short the attempt gets a 429 whose Retry-After is the time until it would not be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_minute: Option<u64>,
}

/// A two-state Markov chain: normal for an exponential time of mean `normal_sojourn`, then
/// degraded (soft-failure rates × `multiplier`) for a mean of `degraded_sojourn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Degradation {
    pub normal_sojourn: Duration,
    pub degraded_sojourn: Duration,
    pub multiplier: Positive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelUpdate {
    pub at: Duration,
    pub multiplier: Positive,
}

/// What a backend is: a model, or one of the dependencies around it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    #[default]
    Llm,
    VectorDb,
    Tool,
    Embedding,
    Cache,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WhenBusy {
    #[default]
    Queue,
    Overloaded,
}

/// What a provider charges, in USD per million tokens. Every attempt that reached the provider
/// and was served is billed, including attempts the caller abandoned at its timeout (the
/// provider finishes them); attempts that ended in an error are not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    #[serde(default)]
    pub input_per_mtok: NonNegative,
    #[serde(default)]
    pub output_per_mtok: NonNegative,
    /// Price of prompt tokens the provider's prompt cache already holds (default: the input
    /// price). How many that is comes from the route's `cached_prompt_share`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_mtok: Option<NonNegative>,
    /// USD per served call, whatever its tokens (default 0): how a vector database, a tool API
    /// or an embedding service is billed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_call_usd: Option<NonNegative>,
}

/// The backends, in file order (a backend's index is its id and keys its random streams), and
/// their ids by name for the sections that refer to them. `has_attempt_timeout` is whether the
/// gateway sets one, which a hanging outage needs.
pub(crate) fn build_backends(
    backends: &[Backend],
    has_attempt_timeout: bool,
) -> Result<(Vec<BackendConfig>, BTreeMap<&str, usize>), BuildError> {
    let mut ids = BTreeMap::new();
    let mut out = Vec::with_capacity(backends.len());
    for (i, b) in backends.iter().enumerate() {
        let path = format!("backends[{i}]");
        check_name(&b.name, &format!("{path}.name"))?;
        if ids.insert(b.name.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.name"),
                format!("another backend is already named `{}`", b.name),
            ));
        }
        out.push(build_backend(b, &path, has_attempt_timeout)?);
    }
    Ok((out, ids))
}

/// One backend, its rules checked in the order of its fields below.
fn build_backend(
    b: &Backend,
    path: &str,
    has_attempt_timeout: bool,
) -> Result<BackendConfig, BuildError> {
    let pool = b
        .gpu_pool
        .as_ref()
        .map(|p| p.config(&format!("{path}.gpu_pool")))
        .transpose()?;
    if pool.is_some() && b.latency_per_inflight.is_some() {
        return Err(err(
            format!("{path}.latency_per_inflight"),
            "a GPU pool's latency already grows with its batch (its step-time model): leave out `latency_per_inflight`",
        ));
    }
    if b.kind != BackendKind::Llm {
        // A dependency that is not a model: no tokens to time, no pool, no context window.
        let model_only = [
            (b.ttft.is_some(), "ttft"),
            (b.per_output_token.is_some(), "per_output_token"),
            (b.gpu_pool.is_some(), "gpu_pool"),
            (b.context_window.is_some(), "context_window"),
        ];
        if let Some((_, key)) = model_only.iter().find(|(given, _)| *given) {
            return Err(err(
                format!("{path}.{key}"),
                "only an `llm` backend has this; a dependency (vector_db, tool, embedding, \
                 cache) takes `service`, its latency per call",
            ));
        }
        if b.service.is_none() {
            return Err(err(
                format!("{path}.service"),
                "a dependency needs `service`, its latency per call",
            ));
        }
    }
    let service = service_model(b, pool.as_ref(), path)?;
    if b.context_window == Some(0) {
        return Err(err(
            format!("{path}.context_window"),
            "a context window must hold at least one token",
        ));
    }
    let price = b
        .price
        .as_ref()
        .map_or(ModelPrice::default(), |p| ModelPrice {
            input_per_token: p.input_per_mtok.0 / 1e6,
            output_per_token: p.output_per_mtok.0 / 1e6,
            cached_input_per_token: p.cached_input_per_mtok.unwrap_or(p.input_per_mtok).0 / 1e6,
            per_call: p.per_call_usd.map_or(0.0, |c| c.0),
        });
    let errors = error_mix(&b.errors, path)?;
    let error_latency = b
        .error_latency
        .as_ref()
        .map(|d| duration_sampler(d).map_err(|m| err(format!("{path}.error_latency"), m)))
        .transpose()?;
    let limits = provider_limits(b.rate_limits.as_ref(), path)?;
    let episodes = build_episodes(&b.outages, &b.slowdowns, path, has_attempt_timeout)?;
    check_not_pooled(
        pool.is_some(),
        [
            (b.network.is_some(), "network"),
            (b.stream_failures.is_some(), "stream_failures"),
            (b.memory.is_some(), "memory"),
        ],
        path,
    )?;
    let link = build_network(b.network.as_ref(), path)?;
    let stream_failures = build_stream_failures(b.stream_failures.as_ref(), path)?;
    let memory = build_memory(b.memory.as_ref(), path)?;
    Ok(BackendConfig {
        link,
        stream_failures,
        memory,
        name: b.name.clone(),
        concurrency: if pool.is_some() {
            u32::MAX
        } else {
            b.concurrency.0.unwrap_or(u32::MAX)
        },
        service,
        pool,
        overload_when_busy: b.when_busy == WhenBusy::Overloaded,
        latency_per_inflight: b.latency_per_inflight.map_or(0.0, |k| k.0),
        failure_probability: b.failure_probability.0,
        context_window: b.context_window,
        price,
        errors,
        error_latency,
        retry_after: b.retry_after.map(|d| d.0),
        limits,
        episodes,
        breaker: b
            .circuit_breaker
            .as_ref()
            .map(|c| c.policy(&format!("{path}.circuit_breaker")))
            .transpose()?,
        cooldown: b
            .cooldown
            .as_ref()
            .map(|c| c.policy(&format!("{path}.cooldown")))
            .transpose()?,
        degradation: b
            .degradation
            .as_ref()
            .map(|d| degradation(d, path))
            .transpose()?,
        model_updates: {
            let mut updates: Vec<(sim_core::Time, f64)> = b
                .model_updates
                .iter()
                .map(|u| (u.at.0, u.multiplier.0))
                .collect();
            updates.sort_by_key(|u| u.0);
            updates
        },
    })
}

/// How long an attempt takes: one duration, or time to first token plus time per output token.
/// A pool's replicas time its calls themselves.
fn service_model(
    b: &Backend,
    pool: Option<&GpuPoolConfig>,
    path: &str,
) -> Result<ServiceModel, BuildError> {
    Ok(match (&b.service, &b.ttft, &b.per_output_token) {
        // A pool's replicas time its calls; errors (outage episodes) take a round trip.
        (None, None, None) if pool.is_some() => {
            ServiceModel::Duration(Sampler::deterministic(0.001).expect("a positive constant"))
        }
        _ if pool.is_some() => {
            return Err(err(
                format!("{path}.gpu_pool"),
                "a GPU pool times its calls with its step-time model: leave out `service`, `ttft` and `per_output_token`",
            ));
        }
        (Some(d), None, None) => ServiceModel::Duration(
            duration_sampler(d).map_err(|m| err(format!("{path}.service"), m))?,
        ),
        (None, Some(ttft), Some(per)) => ServiceModel::Tokens {
            ttft: duration_sampler(ttft).map_err(|m| err(format!("{path}.ttft"), m))?,
            per_output_token: duration_sampler(per)
                .map_err(|m| err(format!("{path}.per_output_token"), m))?,
        },
        (Some(_), _, _) => {
            return Err(err(
                format!("{path}.service"),
                "give either `service` or `ttft` with `per_output_token`, not both",
            ));
        }
        (None, Some(_), None) => {
            return Err(err(
                path,
                "`ttft` needs `per_output_token` too (the time per generated token)",
            ));
        }
        (None, None, Some(_)) => {
            return Err(err(
                path,
                "`per_output_token` needs `ttft` too (the time to the first token)",
            ));
        }
        (None, None, None) => {
            return Err(err(
                path,
                "a backend needs a latency model: `service` (one duration per attempt), or `ttft` and `per_output_token`",
            ));
        }
    })
}

/// The hard errors drawn per attempt, by class, in class-name order; zero rates left out.
fn error_mix(
    table: &BTreeMap<String, Probability>,
    path: &str,
) -> Result<Vec<(ErrorClass, f64)>, BuildError> {
    let mut errors = Vec::with_capacity(table.len());
    for (name, p) in table {
        let class: ErrorClass = name
            .parse()
            .map_err(|e: policies::PolicyError| err(format!("{path}.errors.{name}"), e))?;
        if matches!(
            class,
            ErrorClass::AttemptTimeout
                | ErrorClass::ContextOverflow
                | ErrorClass::StreamInterrupted
        ) {
            return Err(err(
                format!("{path}.errors.{name}"),
                format!(
                    "`{name}` is not drawn: timeouts come from gateway.attempt_timeout, context overflows from context_window and broken streams from stream_failures"
                ),
            ));
        }
        if p.0 > 0.0 {
            errors.push((class, p.0));
        }
    }
    let total: f64 = errors.iter().map(|(_, p)| p).sum();
    if total > 1.0 + 1e-12 {
        return Err(err(
            format!("{path}.errors"),
            format!(
                "the error probabilities add up to {}, more than 1",
                (total * 1e9).round() / 1e9
            ),
        ));
    }
    Ok(errors)
}

/// The provider's own request and token buckets; a limit of 0 is refused rather than read as
/// "admit nothing".
fn provider_limits(l: Option<&ProviderLimits>, path: &str) -> Result<ModelLimits, BuildError> {
    let Some(l) = l else {
        return Ok(ModelLimits::default());
    };
    for (key, v) in [
        ("requests_per_minute", l.requests_per_minute),
        ("input_tokens_per_minute", l.input_tokens_per_minute),
        ("output_tokens_per_minute", l.output_tokens_per_minute),
    ] {
        if v == Some(0) {
            return Err(err(
                format!("{path}.rate_limits.{key}"),
                "a limit of 0 admits nothing; leave the limit out for none",
            ));
        }
    }
    Ok(ModelLimits {
        requests_per_minute: l.requests_per_minute,
        input_tokens_per_minute: l.input_tokens_per_minute,
        output_tokens_per_minute: l.output_tokens_per_minute,
    })
}

/// The hidden quality state's two sojourn means; an instant sojourn would flip forever.
fn degradation(d: &Degradation, path: &str) -> Result<DegradationConfig, BuildError> {
    if d.normal_sojourn.0 == 0 || d.degraded_sojourn.0 == 0 {
        return Err(err(
            format!("{path}.degradation"),
            "both sojourn times must be longer than 0s",
        ));
    }
    Ok(DegradationConfig {
        normal_mean: d.normal_sojourn.0,
        degraded_mean: d.degraded_sojourn.0,
        multiplier: d.multiplier.0,
    })
}
