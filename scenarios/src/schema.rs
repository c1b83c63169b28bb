//! The scenario file format: one schema for TOML and JSON. Unknown keys are rejected everywhere.
//! Defaults are stated on each field; `faultline examples NAME` prints complete examples.

use crate::values::{Duration, Limit, NonNegative, Positive, Probability, RateValue};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn default_seed() -> u64 {
    1
}
fn default_replications() -> u32 {
    10
}
fn default_weight() -> u32 {
    1
}
fn default_concurrency() -> Limit<1> {
    Limit::finite(1)
}

/// A whole scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
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
    pub slos: Vec<crate::slo_schema::SloSchema>,
    /// Chaos experiments: timed faults with a steady-state hypothesis and a safety gate
    /// (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos: Option<crate::chaos_schema::ChaosSchema>,
    /// Spend per hour against a budget and a baseline (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_guard: Option<crate::chaos_schema::CostGuardSchema>,
}

/// A route: what a call asks for, served by a backend, with its own soft-failure rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Unique; keys the route's random streams.
    pub name: String,
    /// The backend that serves the route.
    pub backend: String,
    /// Backends to fall back to, in order, when `backend` fails (default: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
    /// What triggers a fallback, and the last resorts (default: every error but bad_request,
    /// timeouts, open breakers, validation failures and context overflows; no last resorts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<crate::resilience_schema::Fallback>,
    /// Load balancing across several backends in the chain's first place (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<crate::balance_schema::Balance>,
    /// Base probability that an answer is silently bad, by category (default: none):
    /// `hallucination`, `refusal`, `format_violation`, `instruction_drift`,
    /// `quality_degradation`. Each answer has at most one; the backend's hidden degradation
    /// state and model updates multiply these rates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub soft_failures: BTreeMap<String, Probability>,
    /// Share of each call's prompt tokens the provider's prompt cache holds (a shared system
    /// prompt, earlier turns), billed at the cached-input price (default 0).
    #[serde(default)]
    pub cached_prompt_share: Probability,
    /// A response cache in front of the route's backends (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<Cache>,
    /// The output check applied to every answer on this route (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<Validator>,
}

/// A response cache, chosen by `kind`. The gateway asks it after the rate limits and before the
/// queue; a hit answers the call without a backend (and without cost).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Cache {
    /// Exact-match: each job asks for one of `catalogue_size` prompts with Zipf popularity
    /// (exponent `zipf_exponent`, default 1); `capacity` entries, least recently used evicted,
    /// entries older than `ttl` not served (default: no expiry). The hit ratio emerges from
    /// these. With `serve_stale_on_outage` (default false) expired entries are kept and served,
    /// degraded, when the route's fallback reaches `stale_cache`.
    Exact {
        catalogue_size: u64,
        #[serde(default = "default_zipf")]
        zipf_exponent: f64,
        capacity: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl: Option<Duration>,
        #[serde(default)]
        serve_stale_on_outage: bool,
    },
    /// Semantic: a hit with probability `hit_probability`; a hit is another prompt's answer (wrong
    /// but accepted) with probability `wrong_hit_rate`.
    Semantic {
        hit_probability: Probability,
        #[serde(default)]
        wrong_hit_rate: Probability,
    },
}

fn default_zipf() -> f64 {
    1.0
}

/// An output guardrail: which bad answers it catches, how often it wrongly rejects a good one,
/// how long it takes, and what happens on a rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validator {
    /// Probability of catching a bad answer, by category (default 0 for a category not listed).
    #[serde(default)]
    pub recall: BTreeMap<String, Probability>,
    /// Probability of rejecting a good answer (default 0).
    #[serde(default)]
    pub false_positive_rate: Probability,
    /// Time the check takes (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<DurationDist>,
    /// On a rejection: `reask` (ask again, as a retry that counts against max_attempts, with
    /// `reask_extra_tokens` more prompt) or `error` (return an error: the bad answer never
    /// reaches the user). Default `reask`.
    #[serde(default)]
    pub action: ValidatorAction,
    /// Prompt tokens a re-ask adds (the feedback to the model; default 0).
    #[serde(default)]
    pub reask_extra_tokens: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorAction {
    #[default]
    Reask,
    Error,
    /// Ask the route's next backend instead.
    Fallback,
}

/// One step of an agent chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The route this step calls.
    pub route: String,
    /// Token counts of this step's call (default: the tenant's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<TokenDist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<TokenDist>,
}

/// An agent loop: the job calls its route turn after turn, the prompt growing each turn by
/// what came before (the context), until it is done or a cap stops it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentLoop {
    /// Turns the task needs, drawn per job.
    pub turns: TokenDist,
    /// Prompt tokens each turn adds besides the previous answer (default 0): a turn's prompt is
    /// the previous prompt, plus the previous answer, plus this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_growth: Option<u32>,
    /// Turns after which the job is stopped (default 50).
    #[serde(default = "default_turn_cap")]
    pub turn_cap: u32,
    /// Tokens (prompt plus output, over all turns) after which the job is stopped (default:
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_cap: Option<u64>,
}

fn default_turn_cap() -> u32 {
    50
}

/// A source of traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Unique; also keys the tenant's random streams, so renaming a tenant changes its traffic.
    pub name: String,
    /// Name of the backend that serves this tenant's calls (or give `route`, `steps` or
    /// `agent_loop` with `route`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Name of the route this tenant's calls ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// A chain of calls per job, each to its own route: an agent pipeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Repeat the call (to `route`) turn after turn: an agent loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_loop: Option<AgentLoop>,
    /// Scheduling priority, higher is more important (default 0); used by priority shedding.
    #[serde(default)]
    pub priority: u8,
    /// Share under weighted fair scheduling (default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Share of this tenant's requests that are prompt injections (default 0).
    #[serde(default)]
    pub injection_share: Probability,
    /// Spend after which the tenant's new jobs are rejected, in USD over the run (default: no
    /// cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<NonNegative>,
    pub arrivals: Arrivals,
    /// Prompt (input) tokens per call (default: none; needed by token prices and context windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<TokenDist>,
    /// Output tokens a call generates (default: none; needed by per-token latency and prices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<TokenDist>,
    /// The `max_tokens` a call asks for (default: its output tokens). Checked against the
    /// backend's context window together with the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// A distribution of token counts, chosen by `dist`. Draws are rounded to whole tokens, at
/// least 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenDist {
    Fixed {
        value: u32,
    },
    Uniform {
        low: u32,
        high: u32,
    },
    Exponential {
        mean: Positive,
    },
    /// Lognormal given by its median and 99th percentile, as token lengths are usually described.
    Lognormal {
        median: Positive,
        p99: Positive,
    },
    Gamma {
        shape: Positive,
        mean: Positive,
    },
    /// Each listed value equally likely.
    Empirical {
        values: Vec<u32>,
    },
}

/// An arrival process, chosen by `process`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrivals {
    /// Exponential inter-arrival times at `rate` ("20/s").
    Poisson { rate: RateValue },
    /// A renewal process with Gamma gaps: mean rate `rate`, coefficient of variation `cv` of the
    /// gaps (1 is Poisson; above 1 is burstier, below 1 more regular).
    Gamma { rate: RateValue, cv: Positive },
    /// A daily cycle with mean rate `rate`: either `peak_to_trough` (a sinusoid peaking at
    /// `peak_hour`, default 14) or 24 `hourly_weights`. `start_time_of_day` (default "0s": the
    /// run starts at midnight) places virtual time 0 in the day.
    Diurnal {
        rate: RateValue,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_to_trough: Option<Positive>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_hour: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hourly_weights: Option<Vec<f64>>,
        #[serde(default)]
        start_time_of_day: Duration,
    },
    /// Bursts: a two-state Markov-modulated Poisson process, `base_rate` for a mean of
    /// `mean_base`, then `burst_rate` for a mean of `mean_burst` (exponential sojourns).
    Mmpp {
        base_rate: RateValue,
        burst_rate: RateValue,
        mean_base: Duration,
        mean_burst: Duration,
    },
    /// Replay of a recorded trace: `path` to an Azure LLM inference CSV (`.csv`) or a Mooncake
    /// JSONL (`.jsonl`) file, relative to the current directory. Token counts come from the trace
    /// unless the tenant gives `prompt_tokens` / `output_tokens`.
    Trace {
        path: String,
        /// `azure_csv` or `mooncake_jsonl` (default: from the file's extension).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<TraceFormatName>,
        /// Replay speed-up: "2" plays twice as fast, "1/2" half as fast (default "1").
        #[serde(default = "default_speedup")]
        speedup: String,
        /// Trace time skipped at the start (default "0s").
        #[serde(default)]
        start_offset: Duration,
        /// Replay again from the start after the end (default false: the tenant falls silent).
        #[serde(default, rename = "loop")]
        looping: bool,
    },
    /// Poisson arrivals whose rate steps at given times: each step's `rate` holds from its
    /// `from` until the next step's (the last one to the end). The first step starts at "0s".
    /// A load spike is three steps: `steps = [{ from = "0s", rate = "40/s" }, { from = "60s",
    /// rate = "200/s" }, { from = "65s", rate = "40/s" }]`.
    Piecewise { steps: Vec<RateStep> },
}

/// One step of a piecewise-constant rate: `rate` from `from` until the next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    pub from: Duration,
    pub rate: RateValue,
}

fn default_speedup() -> String {
    "1".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormatName {
    AzureCsv,
    MooncakeJsonl,
}

/// Something that serves calls: `concurrency` slots, a service time, a failure probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    pub name: String,
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
    pub circuit_breaker: Option<crate::resilience_schema::CircuitBreaker>,
    /// LiteLLM-style cooldown after repeated failures (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown: Option<crate::resilience_schema::Cooldown>,
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
    /// connection_refused, bad_request, unauthorized, payload_too_large.
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
    pub gpu_pool: Option<crate::gpu_schema::GpuPool>,
}

/// A provider's rate limits, each its own bucket refilled continuously (a per-minute limit
/// refills one-sixtieth of itself every second). An attempt takes one request, its prompt tokens
/// and its `max_tokens` up front; output tokens are reconciled when it finishes. When any bucket
/// is short the attempt gets a 429 whose Retry-After is the time until it would not be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_tokens_per_minute: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens_per_minute: Option<u64>,
}

/// When an outage or slowdown happens: a window, or an alternating up/down process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// A scheduled window: its start and length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// Or a process: time between failures, then time to repair, drawn alternately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf: Option<DurationDist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr: Option<DurationDist>,
    /// What callers see (default `server_error`: 503s).
    #[serde(default)]
    pub mode: OutageMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slowdown {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf: Option<DurationDist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr: Option<DurationDist>,
    /// How many times slower attempts are (must be positive; 3 is three times slower).
    pub multiplier: Positive,
}

/// How an outage looks to a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageMode {
    /// 503 after the usual error latency.
    #[default]
    ServerError,
    /// 429 with the provider's Retry-After.
    RateLimited,
    /// The connection is refused at once.
    ConnectionRefused,
    /// The call hangs until the caller's attempt timeout (which must be set).
    Hang,
}

/// A two-state Markov chain: normal for an exponential time of mean `normal_sojourn`, then
/// degraded (soft-failure rates × `multiplier`) for a mean of `degraded_sojourn`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Degradation {
    pub normal_sojourn: Duration,
    pub degraded_sojourn: Duration,
    pub multiplier: Positive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelUpdate {
    pub at: Duration,
    pub multiplier: Positive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenBusy {
    #[default]
    Queue,
    Overloaded,
}

/// What a provider charges, in USD per million tokens. Every attempt that reached the provider
/// and was served is billed, including attempts the caller abandoned at its timeout (the
/// provider finishes them); attempts that ended in an error are not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// A distribution of durations, chosen by `dist`; every parameter with a unit is a duration
/// string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DurationDist {
    Deterministic {
        value: Duration,
    },
    Exponential {
        mean: Duration,
    },
    Uniform {
        low: Duration,
        high: Duration,
    },
    /// Lognormal given by its median and 99th percentile (how latency is usually described).
    Lognormal {
        median: Duration,
        p99: Duration,
    },
    /// Lognormal given by the mean `mu` and standard deviation `sigma` of ln(seconds).
    LognormalParams {
        mu: f64,
        sigma: f64,
    },
    Gamma {
        shape: Positive,
        mean: Duration,
    },
    Weibull {
        shape: Positive,
        scale: Duration,
    },
    /// Pareto type I: minimum `scale`, tail index `shape`.
    Pareto {
        shape: Positive,
        scale: Duration,
    },
    /// Two-phase hyperexponential with balanced means: `mean` and squared coefficient of
    /// variation `scv` (≥ 1).
    Hyperexponential {
        mean: Duration,
        scv: Positive,
    },
    /// Each listed value equally likely.
    Empirical {
        values: Vec<Duration>,
    },
}

/// The gateway in front of the backends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub rate_limits: Vec<crate::resilience_schema::GatewayRateLimit>,
    /// Admission control at each backend's queue (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admission: Option<crate::resilience_schema::AdmissionControl>,
    /// How queued calls are ordered across tenants (default `fifo`).
    #[serde(default)]
    pub scheduling: crate::resilience_schema::Scheduling,
    /// Hedged attempts (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hedge: Option<crate::resilience_schema::Hedge>,
    /// Calls that waited this long in a queue are shed (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_timeout: Option<Duration>,
    /// Resends of timed-out attempts, with or without idempotency keys (default: not studied).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<Idempotency>,
}

/// A client that times out re-sends while the provider may still be working on its first
/// attempt. `keys = true`: every attempt of a call carries the call's idempotency key (Stripe's
/// `Idempotency-Key`), so the provider attaches the resend to the attempt still running, or
/// answers it with the result it stored when that attempt finished (errors included, as Stripe
/// does); no new work, no new bill. `keys = false`: the resend is new work, billed again. Either
/// way the report counts the duplicates, and what they cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Idempotency {
    pub keys: bool,
}

/// Screens prompts: catches an injection with probability `recall` and blocks it; blocks a
/// clean prompt with probability `false_positive_rate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        }
    }
}

impl Limit<0> {
    fn default_unlimited() -> Limit<0> {
        Limit::UNLIMITED
    }
}

/// How failed attempts are retried.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub budget: Option<crate::resilience_schema::RetryBudget>,
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
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
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
