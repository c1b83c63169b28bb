//! The world as `models` runs it: names resolved to indices, units to nanoseconds, every value
//! validated, and every stateful policy already constructed in its starting state (a breaker,
//! a cooldown, hedging, the gateway's limiters): a replication clones them, so building a world
//! cannot fail. `scenarios` builds this from a scenario file; tests and benchmarks may build it
//! directly.

pub use crate::outage::OutageMode;
use crate::workload::{ArrivalSpec, TokenSource};
use policies::{
    Admission, CircuitBreaker, Cooldown, ErrorClass, FairQueue, FallbackChain, HedgePolicy,
    RateLimiter, RetryRules,
};
use sim_core::{Sampler, Time};

/// Index of a tenant in [`WorldConfig::tenants`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(pub u16);

/// Index of a backend in [`WorldConfig::backends`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackendId(pub u16);

/// Index of a route in [`WorldConfig::routes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RouteId(pub u16);

/// Each id indexes the vectors that run parallel to its `WorldConfig` list (the configs, the
/// world's state, the per-entity counters), so the hot path never casts a raw `u16`. Events
/// keep the raw `u16` (they are 8 bytes) and become ids where they are dispatched.
macro_rules! entity_id {
    ($id:ident) => {
        impl $id {
            /// The position in its list.
            #[inline]
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The id of position `i` (lists are validated to fit a `u16`).
            #[inline]
            pub fn at(i: usize) -> $id {
                $id(i as u16)
            }
        }

        impl<T> std::ops::Index<$id> for [T] {
            type Output = T;
            #[inline]
            fn index(&self, id: $id) -> &T {
                &self[id.0 as usize]
            }
        }

        impl<T> std::ops::IndexMut<$id> for [T] {
            #[inline]
            fn index_mut(&mut self, id: $id) -> &mut T {
                &mut self[id.0 as usize]
            }
        }

        impl<T> std::ops::Index<$id> for Vec<T> {
            type Output = T;
            #[inline]
            fn index(&self, id: $id) -> &T {
                &self[id.0 as usize]
            }
        }

        impl<T> std::ops::IndexMut<$id> for Vec<T> {
            #[inline]
            fn index_mut(&mut self, id: $id) -> &mut T {
                &mut self[id.0 as usize]
            }
        }
    };
}

entity_id!(TenantId);
entity_id!(BackendId);
entity_id!(RouteId);

#[derive(Debug, Clone, PartialEq)]
pub struct WorldConfig {
    /// Virtual time at which the run stops.
    pub horizon: Time,
    /// Statistics before this time are discarded (steady-state studies).
    pub warmup: Time,
    pub tenants: Vec<TenantConfig>,
    pub backends: Vec<BackendConfig>,
    /// Every route a call may ask for, explicit or implied by a tenant naming a backend.
    pub routes: Vec<RouteConfig>,
    pub gateway: GatewayConfig,
    pub slos: Vec<crate::slo::SloConfig>,
    /// Chaos experiments (`None`: none).
    pub chaos: Option<crate::chaos::ChaosConfig>,
    pub cost_guard: Option<crate::cost_guard::CostGuardConfig>,
    /// Work queues drained by worker pools (`workflow::queue`; empty: none).
    pub work_queues: Vec<crate::workflow::WorkQueueConfig>,
    /// Calls in flight (arrived, not finished) beyond which a replication stops as overgrown:
    /// an overloaded system with an unbounded queue would otherwise grow until the machine runs
    /// out of memory. Set from the memory limit by the command line; unbounded by default.
    pub max_in_flight: u64,
}

/// The categories of silently bad answers, in the order every per-category array uses.
pub const SOFT_CATEGORIES: [&str; 5] = [
    "hallucination",
    "refusal",
    "format_violation",
    "instruction_drift",
    "quality_degradation",
];

/// A logical model: the backend that serves it, how often its answers are silently bad, and the
/// check applied to them.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteConfig {
    pub name: String,
    /// The primary backend.
    pub backend: BackendId,
    /// Backends to fall back to, in order, and the chain's rules; `None` without fallbacks.
    pub fallbacks: Vec<BackendId>,
    pub chain: Option<FallbackChain>,
    /// Base probability of a bad answer per category ([`SOFT_CATEGORIES`] order).
    pub soft: [f64; 5],
    pub validator: Option<ValidatorConfig>,
    pub cache: Option<crate::cache::CacheConfig>,
    /// Share of prompt tokens billed at the cached-input price.
    pub cached_prompt_share: f64,
    /// Declared in the scenario (reported per route), or implied by a tenant naming a backend.
    pub explicit: bool,
    /// Several backends share the chain's first place (`None`: `backend` alone).
    pub balance: Option<BalanceConfig>,
}

/// How a route picks among the backends that share its first place.
#[derive(Debug, Clone, PartialEq)]
pub struct BalanceConfig {
    /// The deployments, in the balancer's member order (member `i` is `members[i]`).
    pub members: Vec<BackendId>,
    /// The balancer over them (strategy, weights, per-minute limits, latencies kept), built
    /// and checked by `scenarios`, in its starting state: nothing seen yet. Each replication
    /// clones it.
    pub balancer: policies::LoadBalancer,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ValidatorConfig {
    /// Probability of catching a bad answer per category.
    pub recall: [f64; 5],
    pub false_positive_rate: f64,
    pub latency: Option<Sampler>,
    pub action: ValidatorAction,
    pub reask_extra_tokens: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidatorAction {
    /// Ask again: a retry under the gateway's retry rules.
    Reask,
    /// Return an error instead of the answer.
    Error,
    /// Ask the route's next backend.
    Fallback,
}

/// A gateway rate limit.
#[derive(Debug, Clone, PartialEq)]
pub struct GatewayLimit {
    /// One limiter per tenant, or one for all.
    pub per_tenant: bool,
    pub kind: LimitKind,
    /// Counts tokens (prompt + output) rather than calls.
    pub tokens: bool,
    /// Counts estimated spend in micro-USD rather than calls.
    pub usd: bool,
    /// Holds calls until admitted, rather than answering 429.
    pub delay: bool,
}

/// What a gateway limit counts against.
#[derive(Debug, Clone, PartialEq)]
pub enum LimitKind {
    /// A rate limiter (token bucket, GCRA or sliding window) in its starting state.
    Rate(RateLimiter),
    /// Calls in flight at once.
    Concurrency { limit: u64 },
}

/// A retry budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RetryBudgetConfig {
    Grpc {
        max_tokens: f64,
        token_ratio: f64,
    },
    Finagle {
        percent: f64,
        min_retries_per_second: u32,
        window: Time,
    },
    Adaptive {
        k: f64,
        window: Time,
    },
}

/// The hidden quality state of a model: normal, or degraded with soft-failure rates multiplied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DegradationConfig {
    /// Mean sojourn times (exponential) in the normal and degraded states.
    pub normal_mean: Time,
    pub degraded_mean: Time,
    pub multiplier: f64,
}

/// One step of a job.
#[derive(Debug, Clone, PartialEq)]
pub struct StepConfig {
    pub route: RouteId,
    /// Token counts; `None` falls back to the tenant's.
    pub prompt_tokens: Option<TokenSource>,
    pub output_tokens: Option<TokenSource>,
}

/// A job that calls its route turn after turn with a growing prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopConfig {
    /// Turns the task needs (a count sampler).
    pub turns: Sampler,
    /// Prompt tokens added per turn; `None`: the previous turn's output.
    pub prompt_growth: Option<u32>,
    pub turn_cap: u32,
    pub token_cap: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TenantConfig {
    /// The tenant's name in the scenario: it keys the tenant's random streams.
    pub name: String,
    pub arrivals: ArrivalSpec,
    /// The calls of a job, in order (one for a plain request).
    pub steps: Vec<StepConfig>,
    /// Repeats the (single) step turn after turn.
    pub agent_loop: Option<LoopConfig>,
    /// Share of jobs that are prompt injections.
    pub injection_share: f64,
    pub priority: u8,
    pub weight: u32,
    /// Spend (USD) after which new jobs are rejected.
    pub budget_usd: Option<f64>,
    /// Default token counts per call; `None` means calls carry no token counts (0).
    pub prompt_tokens: Option<TokenSource>,
    pub output_tokens: Option<TokenSource>,
    /// The `max_tokens` a call asks for; `None` means its output tokens.
    pub max_tokens: Option<u32>,
    /// Each arrival runs this workflow, its call activities being `steps` (`None`: each
    /// arrival is one job through `steps`).
    pub workflow: Option<crate::workflow::WorkflowConfig>,
    /// The network between the tenant's clients and the gateway: a one-way delay in
    /// nanoseconds, drawn each way per call (`None`: the clients sit at the gateway).
    pub client_delay: Option<Sampler>,
    /// Shared system prompts of its calls, for GPU pools' prefix caching (`None`: every
    /// prompt is its own).
    pub shared_prefix: Option<crate::workload::SharedPrefix>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackendConfig {
    pub name: String,
    /// Calls served at once; more wait in the gateway queue.
    pub concurrency: u32,
    pub service: ServiceModel,
    /// Answer `overloaded` at once when every slot is busy, instead of queueing.
    pub overload_when_busy: bool,
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
    pub degradation: Option<DegradationConfig>,
    pub breaker: Option<CircuitBreaker>,
    pub cooldown: Option<Cooldown>,
    /// Silent model updates: `(at, multiplier)`, in time order; multipliers compound.
    pub model_updates: Vec<(Time, f64)>,
    /// Crowding: an attempt that starts while `n` others are in service takes
    /// `1 + latency_per_inflight · n` times its drawn latency (0: latency ignores load).
    pub latency_per_inflight: f64,
    /// A self-hosted GPU pool serves this backend's calls (its replicas replace `concurrency`
    /// and `service`, which then only time the errors of outage episodes).
    pub pool: Option<crate::gpu::GpuPoolConfig>,
    /// The network between the gateway and this backend (`None`: instant and reliable).
    pub link: Option<crate::network::LinkConfig>,
    /// Streamed answers that break after their first token (`None`: never).
    pub stream_failures: Option<crate::streaming::StreamFailureConfig>,
    /// A memory limit whose passing kills the serving process (`None`: no limit).
    pub memory: Option<crate::memory::MemoryConfig>,
}

impl BackendConfig {
    /// Whether this backend can fail an attempt with `class` through its transport or its
    /// process (its link's connection failures and resets, an out-of-memory kill, a stream
    /// that breaks): those classes have no rate of their own in `errors`.
    pub(crate) fn can_fail_with(&self, class: ErrorClass) -> bool {
        let link = |f: fn(&crate::network::LinkConfig) -> f64| {
            self.link.as_ref().is_some_and(|l| f(l) > 0.0)
        };
        match class {
            ErrorClass::ConnectionRefused => link(|l| l.connect_failure) || self.memory.is_some(),
            ErrorClass::ConnectionReset => link(|l| l.reset) || self.memory.is_some(),
            ErrorClass::StreamInterrupted => self.stream_failures.is_some(),
            _ => false,
        }
    }
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
    pub cached_input_per_token: f64,
    /// USD per answered call, whatever its tokens (a vector database, a tool API).
    pub per_call: f64,
}

impl Price {
    pub fn is_free(&self) -> bool {
        self.input_per_token == 0.0
            && self.output_per_token == 0.0
            && self.cached_input_per_token == 0.0
            && self.per_call == 0.0
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    /// Calls that may wait for each backend; `None` is unbounded, `Some(0)` is a pure loss system.
    pub queue_capacity: Option<u32>,
    pub retry: RetryRules,
    /// Per-attempt timeout, counted from the start of service.
    pub attempt_timeout: Option<Time>,
    /// Prompt-injection screening: `(recall, false_positive_rate)`.
    pub input_guardrail: Option<(f64, f64)>,
    /// Per-call deadline across retries and fallbacks.
    pub deadline: Option<Time>,
    pub rate_limits: Vec<GatewayLimit>,
    pub admission: Option<Admission>,
    /// How each backend's queue orders calls across tenants: `None` first come, first served;
    /// else an empty fair queue over the tenants (round robin or weighted fair, their weights),
    /// built and checked by `scenarios`, that each backend of each replication clones.
    pub fair_queue: Option<FairQueue<sim_core::Key>>,
    pub queue_timeout: Option<Time>,
    /// Hedging: the delay rule and the most hedges per call, no latency observed yet.
    pub hedge: Option<HedgePolicy>,
    pub retry_budget: Option<RetryBudgetConfig>,
    /// Resends of timed-out attempts are studied: `Some(true)` with idempotency keys (the
    /// provider absorbs a duplicate), `Some(false)` without (a duplicate is new work); `None`
    /// reports nothing about them.
    pub idempotency: Option<bool>,
    /// Overload controls (`world::gateway::overload`); all off by default.
    pub overload: OverloadConfig,
}

/// The gateway's overload controls: per-tenant retry quotas and adaptive client rate limits,
/// adaptive concurrency limits per backend, and the queue discipline under overload. Each is
/// off (`None`, `false`) unless the scenario asks for it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OverloadConfig {
    /// A retry quota per tenant (its own token bucket each).
    pub retry_quota: Option<policies::QuotaConfig>,
    /// Each tenant's quota, in tenant order, when some tenant's numbers differ from
    /// `retry_quota`'s (empty: every tenant has `retry_quota`).
    pub retry_quota_per_tenant: Vec<policies::QuotaConfig>,
    /// The AWS SDKs' adaptive mode: a CUBIC client rate limiter per tenant.
    pub client_rate_limit: bool,
    /// An adaptive concurrency limit per backend.
    pub concurrency_limit: Option<policies::LimitConfig>,
    /// How each backend's queue is served under overload (`None`: `scheduling` decides).
    pub queue_discipline: Option<QueueDiscipline>,
}

/// A queue discipline for overload, in place of FIFO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueDiscipline {
    /// CoDel (RFC 8289): drops from the head while the sojourn time stands above `target`.
    Codel { target: Time, interval: Time },
    /// FIFO, but newest first once the queue has stood for `congested_after`.
    AdaptiveLifo { congested_after: Time },
}

impl OverloadConfig {
    /// Whether any control is on (the world keeps their state only then).
    pub fn any(&self) -> bool {
        self.retry_quota.is_some()
            || self.client_rate_limit
            || self.concurrency_limit.is_some()
            || self.queue_discipline.is_some()
    }
}
