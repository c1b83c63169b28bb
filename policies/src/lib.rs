//! Resilience decisions as small pure state machines. Each policy takes `now` (and a random
//! stream where it jitters) and answers with a decision; none holds references into the world or
//! schedules anything itself, so each can be tested on its own. `policies` never depends on
//! `models`: it speaks its own vocabulary of attempts, delays and outcomes ([`outcome`]).
#![warn(missing_docs)]

pub mod adaptive_lifo;
pub mod admission;
pub mod backoff;
pub mod breaker;
pub mod burn_rate;
pub mod client_rate;
pub mod codel;
pub mod concurrency_limit;
pub mod cooldown;
pub mod deadline;
pub mod error;
pub mod fair_queue;
pub mod fallback;
pub mod hedge;
pub mod load_balance;
pub mod outcome;
pub mod rate_limit;
#[cfg(test)]
mod reach;
pub mod retry;
pub mod retry_budget;
pub mod retry_quota;
pub mod window;

pub use adaptive_lifo::AdaptiveLifo;
pub use admission::{Admission, PriorityShedding, ShedReason, estimated_wait, queue_timed_out};
pub use backoff::Backoff;
pub use breaker::{
    BreakerConfig, BreakerState, BreakerStats, CallResult, CircuitBreaker, OpenDuration, Permit,
    SoftCategoryThresholds, WindowKind,
};
pub use burn_rate::{
    AlertEvent, AlertGrade, AlertRules, BurnRateAlerter, BurnRateRule, Episode, FaultWindow,
    Preset, RollingCounts, RuleState, Severity, Transition, WindowCounts, grade,
};
pub use client_rate::ClientRateLimiter;
pub use codel::{Codel, CodelQueue};
pub use concurrency_limit::{ConcurrencyLimit, LimitConfig};
pub use cooldown::{Cooldown, CooldownConfig};
pub use deadline::{Deadline, check_timeouts};
pub use error::{PolicyError, PolicyErrorKind};
pub use fair_queue::{Discipline, FairQueue};
pub use fallback::{FallbackChain, FallbackStep, FallbackTrigger, FallbackTriggers};
pub use hedge::{HedgeDelay, HedgePolicy};
pub use load_balance::{LoadBalancer, Member, Strategy};
pub use outcome::{ErrorClass, RetryableClasses};
pub use rate_limit::{
    Gcra, RateDecision, RateLimiter, SlidingWindowCounter, SlidingWindowLog, TokenBucket,
};
pub use retry::{AttemptFailure, GiveUpReason, RetryDecision, RetryPolicy, RetryRules};
pub use retry_budget::{
    AdaptiveThrottle, AnyRetryBudget, FinagleBudget, GrpcThrottle, RetryBudget,
};
pub use retry_quota::{QuotaConfig, QuotaDecision, RetryQuota};
pub use window::SlidingWindow;
