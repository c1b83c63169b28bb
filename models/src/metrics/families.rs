//! Which metric families a world has. A metric exists only when the configuration can produce
//! it: a scenario without tokens gets none of the token, cost or time-to-first-token metrics,
//! one without fallbacks no fallback shares, so queueing reports stay as they were and every
//! report shows only what its scenario has. Decided once, from the configuration, at the start.

use crate::config::{EpisodeEffect, OutageMode, ServiceModel, WorldConfig};
use policies::ErrorClass;

/// The call-level families: tokens, correctness, agent loops, chains and budgets.
#[derive(Debug, Clone, Copy)]
pub(super) struct Families {
    /// Calls carry tokens, or something counts them (prices, context windows).
    pub(super) llm: bool,
    /// Some backend has a time-to-first-token model.
    pub(super) ttft: bool,
    /// Answers can be silently bad, or are checked.
    pub(super) soft: bool,
    /// Prompt injections or an input guardrail.
    pub(super) guardrail: bool,
    /// Agent loops.
    pub(super) loops: bool,
    /// Multi-step chains: the most steps any tenant's jobs have.
    pub(super) max_steps: usize,
    pub(super) budgets: bool,
}

impl Families {
    pub(super) fn of(config: &WorldConfig) -> Families {
        let ttft = config
            .backends
            .iter()
            .any(|b| matches!(b.service, ServiceModel::Tokens { .. }) || b.pool.is_some());
        let llm = ttft
            || config
                .tenants
                .iter()
                .any(|t| t.prompt_tokens.is_some() || t.output_tokens.is_some())
            || config
                .backends
                .iter()
                .any(|b| !b.price.is_free() || b.context_window.is_some());
        let soft = config.routes.iter().any(|r| {
            r.soft.iter().any(|&p| p > 0.0)
                || r.validator.is_some()
                || matches!(r.cache, Some(crate::cache::CacheConfig::Semantic { .. }))
        });
        Families {
            llm,
            ttft,
            soft,
            guardrail: config.gateway.input_guardrail.is_some()
                || config.tenants.iter().any(|t| t.injection_share > 0.0),
            loops: config.tenants.iter().any(|t| t.agent_loop.is_some()),
            max_steps: config
                .tenants
                .iter()
                .map(|t| t.steps.len())
                .max()
                .unwrap_or(1),
            budgets: config.tenants.iter().any(|t| t.budget_usd.is_some()),
        }
    }

    /// Calls can be judged right or wrong (soft failures or a guardrail).
    pub(super) fn judged(&self) -> bool {
        self.soft || self.guardrail
    }
}

/// Which resilience families a world has, so reports show only those.
#[derive(Debug, Clone, Copy)]
pub(super) struct ResilienceFamilies {
    pub(super) fallbacks: bool,
    /// The longest fallback chain plus its primary: the fallback depths a call can reach.
    pub(super) max_depth: usize,
    pub(super) budget: bool,
    pub(super) adaptive: bool,
    pub(super) deadline: bool,
}

impl ResilienceFamilies {
    pub(super) fn of(config: &WorldConfig) -> ResilienceFamilies {
        ResilienceFamilies {
            fallbacks: config.routes.iter().any(|r| r.chain.is_some()),
            max_depth: config
                .routes
                .iter()
                .map(|r| r.fallbacks.len() + 1)
                .max()
                .unwrap_or(1),
            budget: config.gateway.retry_budget.is_some(),
            adaptive: matches!(
                config.gateway.retry_budget,
                Some(crate::config::RetryBudgetConfig::Adaptive { .. })
            ),
            deadline: config.gateway.deadline.is_some(),
        }
    }
}

/// Hops a job can have: chain steps, or agent-loop turns up to their cap.
pub(super) fn hops(config: &WorldConfig) -> usize {
    config
        .tenants
        .iter()
        .map(|t| {
            t.agent_loop
                .as_ref()
                .map_or(t.steps.len(), |l| l.turn_cap as usize)
        })
        .max()
        .unwrap_or(1)
        .min(u16::MAX as usize - 2)
}

/// The failures this world can retry, in [`ErrorClass`] order and then the soft-failure re-ask
/// (`None`), with their metric names; nothing when its rules allow a single attempt.
pub(super) fn retry_classes(
    config: &WorldConfig,
    possible: &[ErrorClass],
) -> Vec<(Option<ErrorClass>, &'static str)> {
    let rules = &config.gateway.retry;
    if rules.policy.max_attempts == Some(1) {
        return Vec::new();
    }
    let mut out: Vec<(Option<ErrorClass>, &'static str)> = ErrorClass::ALL
        .into_iter()
        .filter(|&c| rules.retryable.contains(c) && possible.contains(&c))
        .map(|c| (Some(c), c.name()))
        .collect();
    if config.routes.iter().any(|r| {
        r.validator
            .as_ref()
            .is_some_and(|v| v.action == crate::config::ValidatorAction::Reask)
    }) {
        out.push((None, "soft_failure"));
    }
    out
}

/// The error classes a world can produce, in declaration order.
pub(super) fn possible_errors(config: &WorldConfig) -> Vec<ErrorClass> {
    ErrorClass::ALL
        .into_iter()
        .filter(|&c| {
            config.backends.iter().any(|b| {
                b.errors.iter().any(|&(e, _)| e == c)
                    || (c == ErrorClass::Overloaded && b.overload_when_busy)
                    || (c == ErrorClass::Server500 && b.failure_probability > 0.0)
                    || (c == ErrorClass::RateLimited && b.limits.any())
                    || b.can_fail_with(c)
                    || b.episodes.iter().any(|e| {
                        matches!(
                            (e.effect, c),
                            (
                                EpisodeEffect::Outage(OutageMode::ServerError),
                                ErrorClass::Unavailable503
                            ) | (
                                EpisodeEffect::Outage(OutageMode::RateLimited),
                                ErrorClass::RateLimited
                            ) | (
                                EpisodeEffect::Outage(OutageMode::ConnectionRefused),
                                ErrorClass::ConnectionRefused
                            ) | (
                                EpisodeEffect::Outage(OutageMode::Hang),
                                ErrorClass::AttemptTimeout
                            )
                        )
                    })
            }) || (c == ErrorClass::AttemptTimeout && config.gateway.attempt_timeout.is_some())
                || (c == ErrorClass::ContextOverflow
                    && config.backends.iter().any(|b| b.context_window.is_some()))
        })
        .collect()
}
