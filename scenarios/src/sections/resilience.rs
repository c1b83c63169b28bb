//! The scenario format of the resilience policies, and their conversion to `policies` and
//! `models` values: fallback chains on routes, circuit breakers and cooldowns on backends, and
//! at the gateway retry budgets, hedging, admission control and queue scheduling. The sections
//! that embed them (routes, backends, gateway) call these conversions; the gateway's rate
//! limits are their own section (`rate_limits`).
//!
//! Defaults follow the libraries people use, and say so: circuit breakers are resilience4j's
//! `CircuitBreakerConfig`, cooldowns LiteLLM's router, retry budgets gRPC's retry throttling,
//! Finagle's `RetryBudget` and the Google SRE book's client-side adaptive throttling.

use crate::build_error::{BuildError, policy_err};
use crate::values::{Duration, Positive, Probability};
use models::config::{RetryBudgetConfig, SOFT_CATEGORIES};
use policies::{
    BreakerConfig, CooldownConfig, ErrorClass, FallbackTriggers, OpenDuration, RetryableClasses,
    SoftCategoryThresholds, WindowKind,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

const SEC: u64 = sim_core::NANOS_PER_SEC;

fn yes() -> bool {
    true
}

/// What moves a call to the route's next backend, and what is left when none answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// Error classes that fall back once the retries at a backend are spent (default: every
    /// class but bad_request, as LiteLLM does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_errors: Option<Vec<String>>,
    /// Fall back on attempt timeouts (default true).
    #[serde(default = "yes")]
    pub on_timeout: bool,
    /// Skip a backend whose breaker is open or which is cooling down (default true).
    #[serde(default = "yes")]
    pub on_breaker_open: bool,
    /// Fall back when a validator rejects the answer and its action is `fallback` (default
    /// true).
    #[serde(default = "yes")]
    pub on_validation_failure: bool,
    /// Send a prompt too long for a backend to the next one with a larger context window
    /// (default true).
    #[serde(default = "yes")]
    pub on_context_overflow: bool,
    /// Fall back when an attempt has not answered within this long (default: never for
    /// slowness alone; timeouts are `gateway.attempt_timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_over: Option<Duration>,
    /// When every backend failed: answer from a stale cache entry if the route's cache has one
    /// (default false).
    #[serde(default)]
    pub stale_cache: bool,
    /// Last of all: answer with a canned default response (default false).
    #[serde(default)]
    pub default_response: bool,
}

impl Fallback {
    pub fn triggers(&self, path: &str) -> Result<FallbackTriggers, BuildError> {
        let errors = match &self.on_errors {
            None => RetryableClasses::all().without(ErrorClass::BadRequest400),
            Some(names) => RetryableClasses::from_names(names)
                .map_err(|e| policy_err(path, &[("name", "on_errors")], e))?,
        };
        Ok(FallbackTriggers {
            errors,
            timeout: self.on_timeout,
            breaker_open: self.on_breaker_open,
            latency_over: self.latency_over.map(|d| d.0).filter(|&d| d > 0),
            validation_failure: self.on_validation_failure,
            context_overflow: self.on_context_overflow,
        })
    }
}

impl Default for Fallback {
    fn default() -> Fallback {
        Fallback {
            on_errors: None,
            on_timeout: true,
            on_breaker_open: true,
            on_validation_failure: true,
            on_context_overflow: true,
            latency_over: None,
            stale_cache: false,
            default_response: false,
        }
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BreakerWindow {
    /// The last `window_size` calls.
    #[default]
    Count,
    /// The calls of the last `window_size` seconds.
    Time,
}

/// A circuit breaker on a backend (defaults: resilience4j's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CircuitBreaker {
    /// `count` (default) or `time`.
    #[serde(default)]
    pub window: BreakerWindow,
    /// Calls (count window) or seconds (time window) the window holds (default 100).
    #[serde(default = "default_window_size")]
    pub window_size: u32,
    /// Calls needed before rates are judged (default 100).
    #[serde(default = "default_minimum_calls")]
    pub minimum_calls: u32,
    /// Opens when this share of calls failed (default 0.5).
    #[serde(default = "default_failure_rate")]
    pub failure_rate_threshold: Probability,
    /// Opens when this share of calls was slow (default 1: all of them).
    #[serde(default = "default_slow_rate")]
    pub slow_call_rate_threshold: Probability,
    /// A call longer than this is slow (default "60s").
    #[serde(default = "default_slow_duration")]
    pub slow_call_duration: Duration,
    /// Also opens after this many failures in a row (default: off; Envoy uses 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consecutive_failures: Option<u32>,
    /// Time spent open before trial calls (default "60s").
    #[serde(default = "default_open_duration")]
    pub open_duration: Duration,
    /// Each re-opening multiplies the open duration by this (default: fixed duration) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_duration_multiplier: Option<Positive>,
    /// ... up to this (default "10m").
    #[serde(default = "default_open_cap")]
    pub open_duration_cap: Duration,
    /// Trial calls in half-open (default 10).
    #[serde(default = "default_half_open")]
    pub half_open_calls: u32,
    /// Opens when this share of calls had a soft failure a validator detected (default: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub soft_failure_rate_threshold: Option<Probability>,
    /// The same, per soft-failure category (default: none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub soft_failure_thresholds: BTreeMap<String, Probability>,
}

fn default_window_size() -> u32 {
    100
}
fn default_minimum_calls() -> u32 {
    100
}
fn default_failure_rate() -> Probability {
    Probability(0.5)
}
fn default_slow_rate() -> Probability {
    Probability(1.0)
}
fn default_slow_duration() -> Duration {
    Duration(60 * SEC)
}
fn default_open_duration() -> Duration {
    Duration(60 * SEC)
}
fn default_open_cap() -> Duration {
    Duration(600 * SEC)
}
fn default_half_open() -> u32 {
    10
}

fn ppm(p: Probability) -> u32 {
    (p.0 * 1e6).round() as u32
}

impl CircuitBreaker {
    /// The backend's breaker, closed, with an empty window.
    pub fn policy(&self, path: &str) -> Result<policies::CircuitBreaker, BuildError> {
        let err = |key: &str, message: String| BuildError {
            path: format!("{path}.{key}"),
            message,
        };
        if self.window_size == 0 {
            return Err(err("window_size", "the window must hold at least 1".into()));
        }
        let mut soft = SoftCategoryThresholds::NONE;
        soft.any = self.soft_failure_rate_threshold.map(ppm);
        for (name, p) in &self.soft_failure_thresholds {
            let i = SOFT_CATEGORIES
                .iter()
                .position(|c| c == name)
                .ok_or_else(|| {
                    err(
                        &format!("soft_failure_thresholds.{name}"),
                        format!(
                            "unknown soft-failure category `{name}`; expected one of: {}",
                            SOFT_CATEGORIES.join(", ")
                        ),
                    )
                })?;
            soft = soft
                .with_category(i as u8, ppm(*p))
                .map_err(|e| err("soft_failure_thresholds", e.message))?;
        }
        let open_duration = match self.open_duration_multiplier {
            None => OpenDuration::Fixed(self.open_duration.0),
            Some(m) => OpenDuration::Growing {
                base: self.open_duration.0,
                multiplier: m.0,
                cap: self.open_duration_cap.0,
            },
        };
        let cfg = BreakerConfig {
            window: match self.window {
                BreakerWindow::Count => WindowKind::Count(self.window_size),
                BreakerWindow::Time => WindowKind::Time {
                    seconds: self.window_size,
                },
            },
            minimum_calls: self.minimum_calls,
            failure_rate_threshold_ppm: Some(ppm(self.failure_rate_threshold)),
            slow_call_rate_threshold_ppm: Some(ppm(self.slow_call_rate_threshold)),
            slow_call_duration: self.slow_call_duration.0,
            consecutive_failures: self.consecutive_failures,
            open_duration,
            half_open_permitted: self.half_open_calls,
            soft,
        };
        policies::CircuitBreaker::new(cfg).map_err(|e| {
            policy_err(
                path,
                &[
                    ("window", "window_size"),
                    ("failure_rate_threshold_ppm", "failure_rate_threshold"),
                    ("slow_call_rate_threshold_ppm", "slow_call_rate_threshold"),
                    ("soft.any", "soft_failure_rate_threshold"),
                    ("soft.per_category", "soft_failure_thresholds"),
                    ("consecutive_failures", "consecutive_failures"),
                    ("half_open_permitted", "half_open_calls"),
                    ("open_duration.multiplier", "open_duration_multiplier"),
                    ("open_duration.cap", "open_duration_cap"),
                ],
                e,
            )
        })
    }
}

/// LiteLLM-style cooldown: more than `allowed_fails` failures within `window` and the backend
/// is skipped for `cooldown` (defaults: LiteLLM's 3 fails, 5 s, per minute).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cooldown {
    #[serde(default = "default_allowed_fails")]
    pub allowed_fails: u32,
    #[serde(default = "default_cooldown")]
    pub cooldown: Duration,
    #[serde(default = "default_cooldown_window")]
    pub window: Duration,
}

fn default_allowed_fails() -> u32 {
    3
}
fn default_cooldown() -> Duration {
    Duration(5 * SEC)
}
fn default_cooldown_window() -> Duration {
    Duration(60 * SEC)
}

impl Cooldown {
    /// The backend's cooldown, in its starting state.
    pub fn policy(&self, path: &str) -> Result<policies::Cooldown, BuildError> {
        let cfg = CooldownConfig {
            allowed_fails: self.allowed_fails,
            cooldown: self.cooldown.0,
            window: self.window.0,
        };
        policies::Cooldown::new(cfg).map_err(|e| policy_err(path, &[("window", "window")], e))
    }
}

/// A budget that stops retries from multiplying load when a backend is down, chosen by `kind`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RetryBudget {
    /// gRPC retry throttling: a token count that failures drain by 1 and successes refill by
    /// `token_ratio`; retries stop below half of `max_tokens` (gRPC's example: 10 and 0.1).
    Grpc {
        #[serde(default = "default_max_tokens")]
        max_tokens: Positive,
        #[serde(default = "default_token_ratio")]
        token_ratio: Positive,
    },
    /// Finagle's RetryBudget: retries may be `percent` of requests over `window`, plus
    /// `min_retries_per_second` (Finagle's defaults: 20%, 10/s, 10 s).
    Finagle {
        #[serde(default = "default_percent")]
        percent: Probability,
        #[serde(default = "default_min_retries")]
        min_retries_per_second: u32,
        #[serde(default = "default_budget_window")]
        window: Duration,
    },
    /// Client-side adaptive throttling (Google SRE book): every attempt is rejected locally
    /// with probability max(0, (requests − k·accepts) / (requests + 1)) over `window`
    /// (the book's K = 2, two minutes).
    Adaptive {
        #[serde(default = "default_k")]
        k: Positive,
        #[serde(default = "default_adaptive_window")]
        window: Duration,
    },
}

impl RetryBudget {
    /// The world's retry budget; the window was checked with the retry rules.
    pub fn config(&self) -> RetryBudgetConfig {
        match self {
            RetryBudget::Grpc {
                max_tokens,
                token_ratio,
            } => RetryBudgetConfig::Grpc {
                max_tokens: max_tokens.0,
                token_ratio: token_ratio.0,
            },
            RetryBudget::Finagle {
                percent,
                min_retries_per_second,
                window,
            } => RetryBudgetConfig::Finagle {
                percent: percent.0,
                min_retries_per_second: *min_retries_per_second,
                window: window.0,
            },
            RetryBudget::Adaptive { k, window } => RetryBudgetConfig::Adaptive {
                k: k.0,
                window: window.0,
            },
        }
    }
}

fn default_max_tokens() -> Positive {
    Positive(10.0)
}
fn default_token_ratio() -> Positive {
    Positive(0.1)
}
fn default_percent() -> Probability {
    Probability(0.2)
}
fn default_min_retries() -> u32 {
    10
}
fn default_budget_window() -> Duration {
    Duration(10 * SEC)
}
fn default_k() -> Positive {
    Positive(2.0)
}
fn default_adaptive_window() -> Duration {
    Duration(120 * SEC)
}

/// Hedging: when a call's attempt has not answered after a delay, send one more to the same
/// backend; the first answer wins and the others are abandoned (the provider still bills them).
/// Give either a fixed `delay` or a `quantile` of the latencies seen so far (after
/// `min_observations`, default 100; `initial` before that, default "1s").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hedge {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<Probability>,
    #[serde(default = "default_min_observations")]
    pub min_observations: u64,
    #[serde(default = "default_initial")]
    pub initial: Duration,
    /// Hedges per call at most (default 1).
    #[serde(default = "default_max_extra")]
    pub max_extra: u32,
}

fn default_min_observations() -> u64 {
    100
}
fn default_initial() -> Duration {
    Duration(SEC)
}
fn default_max_extra() -> u32 {
    1
}

impl Hedge {
    /// The gateway's hedging, with no latency observed yet.
    pub fn policy(&self, path: &str) -> Result<policies::HedgePolicy, BuildError> {
        let err = |m: String| BuildError {
            path: path.to_string(),
            message: m,
        };
        let delay = match (self.delay, self.quantile) {
            (Some(d), None) => policies::HedgeDelay::Fixed(d.0),
            (None, Some(q)) => policies::HedgeDelay::Quantile {
                quantile_ppm: (q.0 * 1e6).round() as u32,
                min_observations: self.min_observations,
                initial: self.initial.0,
            },
            _ => {
                return Err(err(
                    "give either `delay` (fixed) or `quantile` (of observed latencies)".into(),
                ));
            }
        };
        if self.max_extra > 16 {
            return Err(err("at most 16 hedges per call".into()));
        }
        policies::HedgePolicy::new(delay, self.max_extra)
            .map_err(|e| policy_err(path, &[("quantile_ppm", "quantile")], e))
    }
}

/// How queued calls are ordered across tenants.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Scheduling {
    /// First come, first served.
    #[default]
    Fifo,
    /// One call per waiting tenant in turn.
    RoundRobin,
    /// Deficit round robin in proportion to tenants' `weight`.
    WeightedFair,
}

impl Scheduling {
    /// The fair-queue discipline; weighted fair serves one unit of weight per round.
    pub fn discipline(self) -> policies::Discipline {
        match self {
            Scheduling::Fifo => policies::Discipline::Fifo,
            Scheduling::RoundRobin => policies::Discipline::RoundRobin,
            Scheduling::WeightedFair => policies::Discipline::WeightedFair { quantum: 1 },
        }
    }

    /// The empty queue every backend starts with under this scheduling, over tenants of these
    /// `weights` (in the tenants' order): `None` for first come, first served (the world's
    /// plain FIFO queue), else an unbounded fair queue (the gateway's `queue_capacity` bounds
    /// it). Errors point at `gateway.scheduling`, or at the tenants when a weight breaks a rule.
    pub fn fair_queue(
        self,
        weights: &[u32],
    ) -> Result<Option<policies::FairQueue<sim_core::Key>>, BuildError> {
        if self == Scheduling::Fifo {
            return Ok(None);
        }
        policies::FairQueue::new(self.discipline(), weights, usize::MAX)
            .map(Some)
            .map_err(|e| match e.param {
                "weights" => crate::build_error::err("tenants", e.message),
                _ => crate::build_error::err("gateway.scheduling", e.message),
            })
    }
}

/// Admission control in front of each backend's queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdmissionControl {
    /// Shed calls that would make the queue deeper than this (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue_depth: Option<u64>,
    /// Shed calls whose estimated wait (depth × mean service / concurrency) exceeds this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_estimated_wait: Option<Duration>,
    /// From this depth on, shed low-priority tenants first (`priority` on tenants,
    /// 0 ..= levels − 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_shedding: Option<PriorityShedding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityShedding {
    pub from_depth: u64,
    pub levels: u8,
}

impl AdmissionControl {
    /// The admission policy, checked for validity; errors point at `path`.
    pub fn policy(&self, path: &str) -> Result<policies::Admission, BuildError> {
        let adm = policies::Admission {
            max_depth: self.max_queue_depth,
            max_estimated_wait: self.max_estimated_wait.map(|d| d.0),
            priority: self
                .priority_shedding
                .as_ref()
                .map(|p| policies::PriorityShedding {
                    from_depth: p.from_depth,
                    levels: p.levels,
                }),
        };
        adm.validate().map_err(|e| {
            policy_err(
                path,
                &[
                    ("priority.levels", "priority_shedding.levels"),
                    ("priority.from_depth", "priority_shedding.from_depth"),
                ],
                e,
            )
        })?;
        Ok(adm)
    }
}
