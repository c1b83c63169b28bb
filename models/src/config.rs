//! The world as `models` runs it: names resolved to indices, units to nanoseconds, every value
//! validated. `scenarios` builds this from a scenario file; tests and benchmarks may build it
//! directly.

use crate::workload::{ArrivalSpec, TokenSource};
use policies::{ErrorClass, RetryRules};
use sim_core::{Sampler, Time};

/// Index of a tenant in [`WorldConfig::tenants`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(pub u16);

/// Index of a backend in [`WorldConfig::backends`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackendId(pub u16);

#[derive(Debug, Clone, PartialEq)]
pub struct WorldConfig {
    /// Virtual time at which the run stops.
    pub horizon: Time,
    /// Statistics before this time are discarded (steady-state studies).
    pub warmup: Time,
    pub tenants: Vec<TenantConfig>,
    pub backends: Vec<BackendConfig>,
    pub gateway: GatewayConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TenantConfig {
    /// The tenant's name in the scenario: it keys the tenant's random streams.
    pub name: String,
    pub arrivals: ArrivalSpec,
    /// The backend every call of this tenant goes to.
    pub backend: BackendId,
    /// Token counts per call; `None` means calls carry no token counts (0).
    pub prompt_tokens: Option<TokenSource>,
    pub output_tokens: Option<TokenSource>,
    /// The `max_tokens` a call asks for; `None` means its output tokens.
    pub max_tokens: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackendConfig {
    pub name: String,
    /// Calls served at once; more wait in the gateway queue.
    pub concurrency: u32,
    pub service: ServiceModel,
    /// Probability that a finished attempt fails, independently of everything else.
    pub failure_probability: f64,
    /// Largest prompt + max_tokens accepted; beyond it a call fails with a context overflow.
    pub context_window: Option<u32>,
    pub price: Price,
    /// Hard errors drawn when an attempt starts: `(class, probability)`, probabilities summing
    /// to at most 1.
    pub errors: Vec<(ErrorClass, f64)>,
    /// How long an error takes to come back; `None`: the attempt's own latency model (TTFT, or
    /// the service time).
    pub error_latency: Option<Sampler>,
    /// Retry-After on this provider's 429s.
    pub retry_after: Option<Time>,
    pub limits: ProviderLimits,
    pub episodes: Vec<Episode>,
}

/// A provider's per-minute limits; each is its own continuously refilled bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProviderLimits {
    pub requests_per_minute: Option<u64>,
    pub input_tokens_per_minute: Option<u64>,
    pub output_tokens_per_minute: Option<u64>,
}

impl ProviderLimits {
    pub fn any(&self) -> bool {
        self.requests_per_minute.is_some()
            || self.input_tokens_per_minute.is_some()
            || self.output_tokens_per_minute.is_some()
    }
}

/// Something that happens to a backend for a while: an outage or a slowdown.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    pub effect: EpisodeEffect,
    pub timing: EpisodeTiming,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EpisodeEffect {
    Outage(OutageMode),
    /// Attempts starting meanwhile take this many times as long.
    Slowdown(f64),
}

/// What callers of a backend in an outage see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageMode {
    /// 503 after the error latency.
    ServerError,
    /// 429 with the backend's Retry-After.
    RateLimited,
    /// Refused at once.
    ConnectionRefused,
    /// No answer: the attempt ends at the caller's timeout.
    Hang,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EpisodeTiming {
    /// From `start` for `duration`.
    Window { start: Time, duration: Time },
    /// Alternating: up for a draw of `up`, then down for a draw of `down` (nanoseconds).
    Process { up: Sampler, down: Sampler },
}

/// How long an attempt holds its backend slot.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceModel {
    /// One draw per attempt, in nanoseconds, whatever the call.
    Duration(Sampler),
    /// Time to first token plus one per-token draw times the call's output tokens (both in
    /// nanoseconds): latency grows with the length of the answer.
    Tokens {
        ttft: Sampler,
        per_output_token: Sampler,
    },
}

/// USD per token (a scenario gives USD per million tokens).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    pub input_per_token: f64,
    pub output_per_token: f64,
}

impl Price {
    pub fn is_free(&self) -> bool {
        self.input_per_token == 0.0 && self.output_per_token == 0.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    /// Calls that may wait for each backend; `None` is unbounded, `Some(0)` is a pure loss system.
    pub queue_capacity: Option<u32>,
    pub retry: RetryRules,
    /// Per-attempt timeout, counted from the start of service.
    pub attempt_timeout: Option<Time>,
}
