//! Fallback chains: when a call to one backend fails in a way the chain is configured to react
//! to, where to go next.
//!
//! A chain is an ordered list of backends (the primary first), each with its context window,
//! followed by optional last resorts: a stale cache entry, then a default response. Positions
//! in the chain are its *depth*: backend `i` is depth `i`, the stale cache is depth `n` and the
//! default response `n + 1` (for `n` backends), so fallback depth means the same in every report
//! whichever resorts a chain has.
//!
//! A context overflow does not go to the next backend but to the next one with a *larger*
//! context window (LiteLLM's `context_window_fallbacks`): a model with the same window would fail
//! the same way. Retries on the same backend happen before the chain is consulted (LiteLLM:
//! "if a call fails after num_retries, fall back").

use crate::outcome::{ErrorClass, RetryableClasses};
use crate::{PolicyError, PolicyErrorKind};
use sim_core::Time;

/// What happened to the call at the current depth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackTrigger {
    /// A hard error (after any retries). `Error(ContextOverflow)` is treated as
    /// `ContextOverflow { tokens: 0 }`.
    Error(ErrorClass),
    /// The attempt or call timed out.
    Timeout,
    /// The backend's breaker is open or it is cooling down: skipped without a call.
    BreakerOpen,
    /// The answer came, but later than the chain's latency threshold.
    TooSlow,
    /// A validator rejected the answer.
    ValidationFailed,
    /// The prompt did not fit; `tokens` is its size if known (0: unknown).
    ContextOverflow {
        /// The prompt's size in tokens.
        tokens: u32,
    },
    /// The stale cache had nothing for this call.
    CacheMiss,
}

/// Which triggers move the call down the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FallbackTriggers {
    /// Error classes (after any retries) that move the call on.
    pub errors: RetryableClasses,
    /// Whether a timed-out attempt or call moves the call on.
    pub timeout: bool,
    /// Whether a backend skipped for an open breaker or a cooldown moves the call on.
    pub breaker_open: bool,
    /// Fall back when an answer took longer than this; `None`: never for slowness.
    pub latency_over: Option<Time>,
    /// Whether an answer a validator rejected moves the call on.
    pub validation_failure: bool,
    /// Whether a prompt too long for the backend moves the call on, to the next backend with a larger
    /// context window that holds it.
    pub context_overflow: bool,
}

impl Default for FallbackTriggers {
    /// Every error class except 400 (the request itself is wrong; another model would reject
    /// it too), timeouts, open breakers, validation failures and context overflows; not
    /// slowness, which needs a threshold. LiteLLM likewise falls back on any error that
    /// survives retries.
    fn default() -> FallbackTriggers {
        FallbackTriggers {
            errors: RetryableClasses::all().without(ErrorClass::BadRequest400),
            timeout: true,
            breaker_open: true,
            latency_over: None,
            validation_failure: true,
            context_overflow: true,
        }
    }
}

/// Where to go next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackStep {
    /// Call the backend at this index of the chain.
    Backend(usize),
    /// Answer from a stale cache entry, if there is one.
    StaleCache,
    /// Answer with the configured default response.
    Default,
    /// Nothing left: the call fails.
    GiveUp,
}

/// An ordered fallback chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FallbackChain {
    context_windows: Vec<u32>,
    triggers: FallbackTriggers,
    stale_cache: bool,
    default_response: bool,
}

impl FallbackChain {
    /// A chain over backends with these context windows (tokens), primary first: at least one
    /// (else `Zero` of `context_windows`) and at most 2³² − 3, so that every depth, the last
    /// resorts' included, fits a `u32` (else `TooLarge`).
    pub fn new(
        context_windows: Vec<u32>,
        triggers: FallbackTriggers,
        stale_cache: bool,
        default_response: bool,
    ) -> Result<FallbackChain, PolicyError> {
        if context_windows.is_empty() {
            return Err(PolicyError::new(
                "fallback chain",
                "context_windows",
                PolicyErrorKind::Zero,
                "a fallback chain needs at least one backend",
            ));
        }
        if context_windows.len() > u32::MAX as usize - 2 {
            return Err(PolicyError::new(
                "fallback chain",
                "context_windows",
                PolicyErrorKind::TooLarge,
                "a fallback chain is limited to 2³² − 3 backends",
            ));
        }
        Ok(FallbackChain {
            context_windows,
            triggers,
            stale_cache,
            default_response,
        })
    }

    /// Backends in the chain, the primary included (at least one).
    pub fn backends(&self) -> usize {
        self.context_windows.len()
    }

    /// The triggers that move a call down this chain.
    pub fn triggers(&self) -> &FallbackTriggers {
        &self.triggers
    }

    /// Whether the chain ends in a stale cache entry, and in a default response: its last
    /// resorts.
    pub fn last_resorts(&self) -> (bool, bool) {
        (self.stale_cache, self.default_response)
    }

    /// The depth of a step (`None` for giving up).
    pub fn depth(&self, step: FallbackStep) -> Option<u32> {
        let n = self.backends() as u32;
        match step {
            FallbackStep::Backend(i) => Some(i as u32),
            FallbackStep::StaleCache => Some(n),
            FallbackStep::Default => Some(n + 1),
            FallbackStep::GiveUp => None,
        }
    }

    /// Whether an answer after `latency` should count as [`FallbackTrigger::TooSlow`].
    pub fn is_too_slow(&self, latency: Time) -> bool {
        self.triggers.latency_over.is_some_and(|t| latency > t)
    }

    /// Whether `trigger` moves a call down this chain at all.
    pub fn fires(&self, trigger: FallbackTrigger) -> bool {
        let t = &self.triggers;
        match trigger {
            FallbackTrigger::Error(ErrorClass::ContextOverflow)
            | FallbackTrigger::ContextOverflow { .. } => t.context_overflow,
            FallbackTrigger::Error(class) => t.errors.contains(class),
            FallbackTrigger::Timeout => t.timeout,
            FallbackTrigger::BreakerOpen => t.breaker_open,
            FallbackTrigger::TooSlow => t.latency_over.is_some(),
            FallbackTrigger::ValidationFailed => t.validation_failure,
            FallbackTrigger::CacheMiss => true,
        }
    }

    /// The next step after `trigger` at depth `current_depth`. Always strictly deeper, so a
    /// chain ends after at most `backends + 2` steps.
    pub fn next(&self, current_depth: u32, trigger: FallbackTrigger) -> FallbackStep {
        if !self.fires(trigger) {
            return FallbackStep::GiveUp;
        }
        let n = self.backends();
        let current = current_depth as usize;
        if current < n {
            let tokens = match trigger {
                FallbackTrigger::ContextOverflow { tokens } => Some(tokens),
                FallbackTrigger::Error(ErrorClass::ContextOverflow) => Some(0),
                _ => None,
            };
            let found = match tokens {
                None => (current + 1 < n).then_some(current + 1),
                Some(tokens) => {
                    let window = self.context_windows[current];
                    (current + 1..n).find(|&j| {
                        self.context_windows[j] > window && self.context_windows[j] >= tokens
                    })
                }
            };
            if let Some(j) = found {
                return FallbackStep::Backend(j);
            }
        }
        let next_resort = current.max(n.saturating_sub(1)) + 1;
        if next_resort <= n && self.stale_cache {
            FallbackStep::StaleCache
        } else if next_resort <= n + 1 && self.default_response {
            FallbackStep::Default
        } else {
            FallbackStep::GiveUp
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chain(windows: &[u32], cache: bool, default: bool) -> FallbackChain {
        FallbackChain::new(
            windows.to_vec(),
            FallbackTriggers::default(),
            cache,
            default,
        )
        .unwrap()
    }

    #[test]
    fn walks_the_chain_then_the_last_resorts() {
        let c = chain(&[8_000, 8_000, 128_000], true, true);
        let e = FallbackTrigger::Error(ErrorClass::Unavailable503);
        assert_eq!(c.next(0, e), FallbackStep::Backend(1));
        assert_eq!(
            c.next(1, FallbackTrigger::Timeout),
            FallbackStep::Backend(2)
        );
        assert_eq!(c.next(2, e), FallbackStep::StaleCache);
        assert_eq!(c.next(3, FallbackTrigger::CacheMiss), FallbackStep::Default);
        assert_eq!(c.next(4, FallbackTrigger::CacheMiss), FallbackStep::GiveUp);
        assert_eq!(c.depth(FallbackStep::StaleCache), Some(3));
        assert_eq!(c.depth(FallbackStep::Default), Some(4));
        assert_eq!(
            c.next(0, FallbackTrigger::Error(ErrorClass::BadRequest400)),
            FallbackStep::GiveUp
        );
        assert_eq!(
            c.next(0, FallbackTrigger::TooSlow),
            FallbackStep::GiveUp,
            "no threshold"
        );

        let bare = chain(&[8_000], false, true);
        assert_eq!(bare.next(0, e), FallbackStep::Default);
        assert_eq!(
            chain(&[8_000], false, false).next(0, e),
            FallbackStep::GiveUp
        );
    }

    #[test]
    fn context_overflow_skips_to_a_larger_window() {
        let c = chain(&[8_000, 8_000, 32_000, 128_000], false, false);
        let overflow = |tokens| FallbackTrigger::ContextOverflow { tokens };
        assert_eq!(c.next(0, overflow(0)), FallbackStep::Backend(2));
        assert_eq!(c.next(0, overflow(50_000)), FallbackStep::Backend(3));
        assert_eq!(
            c.next(1, FallbackTrigger::Error(ErrorClass::ContextOverflow)),
            FallbackStep::Backend(2)
        );
        assert_eq!(c.next(0, overflow(200_000)), FallbackStep::GiveUp);
        assert!(FallbackChain::new(vec![], FallbackTriggers::default(), true, true).is_err());
    }

    fn any_trigger() -> impl Strategy<Value = FallbackTrigger> {
        // Overflows weigh three times as much as each other trigger: they are where the walk
        // skips to a larger window.
        prop_oneof![
            1 => (0usize..13).prop_map(|i| FallbackTrigger::Error(ErrorClass::ALL[i])),
            1 => Just(FallbackTrigger::Timeout),
            1 => Just(FallbackTrigger::BreakerOpen),
            1 => Just(FallbackTrigger::TooSlow),
            1 => Just(FallbackTrigger::ValidationFailed),
            3 => (0u32..300_000).prop_map(|tokens| FallbackTrigger::ContextOverflow { tokens }),
            1 => Just(FallbackTrigger::CacheMiss),
        ]
    }

    /// Every step goes strictly deeper, so the walk ends within backends + 2 steps; a context
    /// overflow only ever lands on a larger window. A context overflow moves to a larger window
    /// in about 23% (the test asks for 10%) of the cases, and the walk reaches a last resort (stale cache or
    /// default) in about 61% (the test asks for 30%).
    #[test]
    fn steps_go_deeper_and_terminate() {
        let strategy = (
            proptest::collection::vec(1u32..200_000, 1..8),
            any::<bool>(),
            any::<bool>(),
            proptest::collection::vec(any_trigger(), 12),
        );
        crate::reach::check(
            strategy,
            [
                ("a context overflow moved to a larger window", 0.1),
                ("a last resort reached", 0.3),
            ],
            |(windows, cache, default, triggers)| {
                let c = chain(&windows, cache, default);
                let mut depth = 0u32;
                let mut steps = 0;
                let (mut overflow_step, mut last_resort) = (false, false);
                for t in triggers {
                    let step = c.next(depth, t);
                    let Some(d) = c.depth(step) else { break };
                    prop_assert!(d > depth, "{step:?} from depth {depth}");
                    if let (FallbackStep::Backend(j), FallbackTrigger::ContextOverflow { tokens }) =
                        (step, t)
                    {
                        prop_assert!(windows[j] > windows[depth as usize] && windows[j] >= tokens);
                        overflow_step = true;
                    }
                    if step == FallbackStep::StaleCache {
                        prop_assert!(cache);
                    }
                    if step == FallbackStep::Default {
                        prop_assert!(default);
                    }
                    last_resort |= matches!(step, FallbackStep::StaleCache | FallbackStep::Default);
                    depth = d;
                    steps += 1;
                    prop_assert!(steps <= windows.len() + 1);
                }
                Ok([overflow_step, last_resort])
            },
        );
    }

    #[test]
    fn an_empty_chain_is_a_zero_error() {
        let e = FallbackChain::new(vec![], FallbackTriggers::default(), true, true).unwrap_err();
        assert_eq!(
            (e.param, e.kind),
            ("context_windows", crate::PolicyErrorKind::Zero)
        );
        assert!(FallbackChain::new(vec![1], FallbackTriggers::default(), false, false).is_ok());
    }

    #[test]
    fn slowness_moves_on_only_past_the_threshold() {
        // Slower than 2 s (strictly) falls back; no threshold never does.
        let s = 1_000_000_000;
        let triggers = FallbackTriggers {
            latency_over: Some(2 * s),
            ..FallbackTriggers::default()
        };
        let c = FallbackChain::new(vec![8_000, 8_000], triggers, true, false).unwrap();
        assert!(!c.is_too_slow(s));
        assert!(
            !c.is_too_slow(2 * s),
            "exactly the threshold is not too slow"
        );
        assert!(c.is_too_slow(2 * s + 1));
        assert_eq!(
            c.next(0, FallbackTrigger::TooSlow),
            FallbackStep::Backend(1)
        );
        assert_eq!(
            c.next(1, FallbackTrigger::TooSlow),
            FallbackStep::StaleCache
        );
        assert!(!chain(&[8_000], true, true).is_too_slow(1_000 * s));
        // The last resorts are reported as configured.
        assert_eq!(c.last_resorts(), (true, false));
        assert_eq!(chain(&[8_000], false, true).last_resorts(), (false, true));
        assert_eq!(c.backends(), 2);
        assert_eq!(c.triggers(), &triggers);
    }
}
