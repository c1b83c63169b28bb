//! Whether and when to retry a failed attempt.
//!
//! [`RetryPolicy`] is the bare rule: how many attempts, spaced by which backoff. [`RetryRules`]
//! adds what a real client checks before that: whether the failure's class is worth resending
//! at all (never a 400), the server's Retry-After (honoured, but only up to a cap, so one
//! misbehaving server cannot park a request for an hour), and whether a response that arrived but
//! failed validation (a *soft* failure) may be asked again ("re-ask"). Re-asks count against the
//! same `max_attempts`: a re-ask is another billed attempt, and a separate allowance would let a
//! call cost more than the user configured.

use crate::backoff::Backoff;
use crate::outcome::{ErrorClass, RetryableClasses};
use sim_core::{RandomStream, Time};

/// A retry policy: at most `max_attempts` attempts in all (`None`: no limit), spaced by `backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (1: never retry); `None`: no limit.
    pub max_attempts: Option<u32>,
    /// The delay before each retry.
    pub backoff: Backoff,
}

/// What to do after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after this delay (0: at once).
    RetryAfter(Time),
    /// Report the failure to the caller.
    GiveUp,
}

impl RetryPolicy {
    /// Never retries.
    pub const NONE: RetryPolicy = RetryPolicy {
        max_attempts: Some(1),
        backoff: Backoff::None,
    };

    /// Decides after the `attempts_made`-th attempt failed; `previous_delay` is the delay used
    /// before that attempt (0 for the first).
    pub fn on_failure(
        &self,
        attempts_made: u32,
        previous_delay: Time,
        rng: &mut RandomStream,
    ) -> RetryDecision {
        if self.max_attempts.is_some_and(|max| attempts_made >= max) {
            return RetryDecision::GiveUp;
        }
        RetryDecision::RetryAfter(self.backoff.delay(attempts_made, previous_delay, rng))
    }
}

/// How an attempt failed, as [`RetryRules`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptFailure {
    /// A hard error; `retry_after` is the server's Retry-After, if it sent one.
    Error {
        /// What kind of error it was; decides whether it is retryable.
        class: ErrorClass,
        /// The server's Retry-After, in nanoseconds, if it sent one.
        retry_after: Option<Time>,
    },
    /// A response arrived but a validator rejected it (wrong format, refusal, ...).
    SoftFailure,
}

/// Why [`RetryRules`] gave up, for reporting retries by outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GiveUpReason {
    /// The error class is not in the retryable set.
    NotRetryable,
    /// A soft failure, and re-asking is off.
    ReaskDisabled,
    /// `max_attempts` attempts have been made.
    AttemptsExhausted,
}

impl GiveUpReason {
    /// A stable snake_case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            GiveUpReason::NotRetryable => "not_retryable",
            GiveUpReason::ReaskDisabled => "reask_disabled",
            GiveUpReason::AttemptsExhausted => "attempts_exhausted",
        }
    }
}

/// A retry policy with class filtering, Retry-After and re-ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryRules {
    /// Attempts and backoff.
    pub policy: RetryPolicy,
    /// Classes worth resending.
    pub retryable: RetryableClasses,
    /// Retry-After is honoured up to this long (`None`: ignored, only the backoff counts).
    pub retry_after_cap: Option<Time>,
    /// Whether a soft failure is retried (re-asked).
    pub reask: bool,
}

impl From<RetryPolicy> for RetryRules {
    /// The policy with the default retryable classes, Retry-After honoured up to 60 s (the
    /// OpenAI and Anthropic SDKs ignore longer Retry-After values and fall back to their own
    /// backoff; here the delay is capped instead), and no re-ask.
    fn from(policy: RetryPolicy) -> RetryRules {
        RetryRules {
            policy,
            retryable: RetryableClasses::default(),
            retry_after_cap: Some(60 * sim_core::NANOS_PER_SEC),
            reask: false,
        }
    }
}

impl RetryRules {
    /// Why the failure of the `attempts_made`-th attempt ends the call, or `None` if it may be
    /// retried. The class is checked first, so a 400 on the last attempt reports
    /// `NotRetryable`, not `AttemptsExhausted`.
    pub fn give_up_reason(
        &self,
        attempts_made: u32,
        failure: AttemptFailure,
    ) -> Option<GiveUpReason> {
        match failure {
            AttemptFailure::Error { class, .. } if !self.retryable.contains(class) => {
                Some(GiveUpReason::NotRetryable)
            }
            AttemptFailure::SoftFailure if !self.reask => Some(GiveUpReason::ReaskDisabled),
            _ if self
                .policy
                .max_attempts
                .is_some_and(|max| attempts_made >= max) =>
            {
                Some(GiveUpReason::AttemptsExhausted)
            }
            _ => None,
        }
    }

    /// Decides after the `attempts_made`-th attempt failed with `failure`; `previous_delay` is
    /// the delay used before that attempt (0 for the first). The delay is
    /// `max(backoff, min(retry_after, retry_after_cap))`: the backoff still applies when the
    /// server asks for less, so Retry-After can only lengthen a wait. Draws from `rng` only when
    /// it retries with a jittered backoff.
    pub fn decide(
        &self,
        attempts_made: u32,
        previous_delay: Time,
        failure: AttemptFailure,
        rng: &mut RandomStream,
    ) -> RetryDecision {
        if self.give_up_reason(attempts_made, failure).is_some() {
            return RetryDecision::GiveUp;
        }
        let backoff = self
            .policy
            .backoff
            .delay(attempts_made, previous_delay, rng);
        let server = match (failure, self.retry_after_cap) {
            (
                AttemptFailure::Error {
                    retry_after: Some(after),
                    ..
                },
                Some(cap),
            ) => after.min(cap),
            _ => 0,
        };
        RetryDecision::RetryAfter(backoff.max(server))
    }

    /// The longest delay [`decide`](RetryRules::decide) can return.
    pub fn max_delay(&self) -> Time {
        self.policy
            .backoff
            .cap()
            .max(self.retry_after_cap.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn gives_up_after_max_attempts() {
        let p = RetryPolicy {
            max_attempts: Some(3),
            backoff: Backoff::Constant { base: 5, cap: 10 },
        };
        let mut rng = RandomStream::from_seed(1);
        assert_eq!(p.on_failure(1, 0, &mut rng), RetryDecision::RetryAfter(5));
        assert_eq!(p.on_failure(2, 5, &mut rng), RetryDecision::RetryAfter(5));
        assert_eq!(p.on_failure(3, 5, &mut rng), RetryDecision::GiveUp);
        assert_eq!(
            RetryPolicy::NONE.on_failure(1, 0, &mut rng),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn unlimited_keeps_retrying() {
        let p = RetryPolicy {
            max_attempts: None,
            backoff: Backoff::None,
        };
        let mut rng = RandomStream::from_seed(1);
        assert_eq!(
            p.on_failure(1_000_000, 0, &mut rng),
            RetryDecision::RetryAfter(0)
        );
    }

    const S: Time = sim_core::NANOS_PER_SEC;

    fn rules(max: u32) -> RetryRules {
        RetryRules::from(RetryPolicy {
            max_attempts: Some(max),
            backoff: Backoff::Constant { base: S, cap: S },
        })
    }

    fn error(class: ErrorClass, retry_after: Option<Time>) -> AttemptFailure {
        AttemptFailure::Error { class, retry_after }
    }

    #[test]
    fn non_retryable_classes_give_up_at_once() {
        let r = rules(5);
        let mut rng = RandomStream::from_seed(1);
        for class in [ErrorClass::BadRequest400, ErrorClass::ContextOverflow] {
            assert_eq!(
                r.decide(1, 0, error(class, None), &mut rng),
                RetryDecision::GiveUp
            );
            assert_eq!(
                r.give_up_reason(1, error(class, None)),
                Some(GiveUpReason::NotRetryable)
            );
        }
        assert_eq!(
            r.decide(1, 0, error(ErrorClass::Unavailable503, None), &mut rng),
            RetryDecision::RetryAfter(S)
        );
    }

    #[test]
    fn retry_after_lengthens_up_to_the_cap() {
        let mut r = rules(5);
        r.retry_after_cap = Some(10 * S);
        let mut rng = RandomStream::from_seed(1);
        let limited = |after| error(ErrorClass::RateLimited, Some(after));
        assert_eq!(
            r.decide(1, 0, limited(S / 2), &mut rng),
            RetryDecision::RetryAfter(S),
            "backoff wins over a shorter Retry-After"
        );
        assert_eq!(
            r.decide(1, 0, limited(4 * S), &mut rng),
            RetryDecision::RetryAfter(4 * S)
        );
        assert_eq!(
            r.decide(1, 0, limited(3_600 * S), &mut rng),
            RetryDecision::RetryAfter(10 * S)
        );
        r.retry_after_cap = None;
        assert_eq!(
            r.decide(1, 0, limited(4 * S), &mut rng),
            RetryDecision::RetryAfter(S),
            "ignored without a cap"
        );
    }

    /// A plain policy becomes rules with the SDKs' defaults: the default classes, Retry-After
    /// honoured up to 60 s, no re-ask; and each give-up reason has its report name.
    #[test]
    fn rules_from_a_policy_and_reason_names() {
        let r = RetryRules::from(RetryPolicy {
            max_attempts: Some(3),
            backoff: Backoff::None,
        });
        assert_eq!(r.retryable, RetryableClasses::default());
        assert_eq!(r.retry_after_cap, Some(60 * S));
        assert!(!r.reask);
        let names = [
            GiveUpReason::NotRetryable,
            GiveUpReason::ReaskDisabled,
            GiveUpReason::AttemptsExhausted,
        ]
        .map(GiveUpReason::name);
        assert_eq!(
            names,
            ["not_retryable", "reask_disabled", "attempts_exhausted"]
        );
    }

    #[test]
    fn reask_shares_the_attempt_limit() {
        let mut r = rules(3);
        let mut rng = RandomStream::from_seed(1);
        let soft = AttemptFailure::SoftFailure;
        assert_eq!(r.give_up_reason(1, soft), Some(GiveUpReason::ReaskDisabled));
        r.reask = true;
        assert!(matches!(
            r.decide(1, 0, soft, &mut rng),
            RetryDecision::RetryAfter(_)
        ));
        let e = error(ErrorClass::Server500, None);
        assert!(matches!(
            r.decide(2, S, e, &mut rng),
            RetryDecision::RetryAfter(_)
        ));
        assert_eq!(r.decide(3, S, soft, &mut rng), RetryDecision::GiveUp);
        assert_eq!(
            r.give_up_reason(3, soft),
            Some(GiveUpReason::AttemptsExhausted)
        );
    }

    fn any_failure() -> impl Strategy<Value = AttemptFailure> {
        (0usize..14, proptest::option::of(0u64..10_000 * S)).prop_map(|(i, after)| {
            if i == 13 {
                AttemptFailure::SoftFailure
            } else {
                AttemptFailure::Error {
                    class: ErrorClass::ALL[i],
                    retry_after: after,
                }
            }
        })
    }

    fn any_rules() -> impl Strategy<Value = RetryRules> {
        (
            proptest::option::of(1u32..10),
            0u64..100 * S,
            0u64..100 * S,
            any::<u16>(),
            proptest::option::of(0u64..100 * S),
            any::<bool>(),
        )
            .prop_map(|(max, base, cap, bits, after_cap, reask)| RetryRules {
                policy: RetryPolicy {
                    max_attempts: max,
                    backoff: Backoff::DecorrelatedJitter { base, cap },
                },
                retryable: ErrorClass::ALL
                    .into_iter()
                    .filter(|c| bits & (1 << (*c as u16)) != 0)
                    .collect(),
                retry_after_cap: after_cap,
                reask,
            })
    }

    /// Whatever fails, a call never retries a class outside the set, never re-asks when re-ask
    /// is off, never makes more than `max_attempts` attempts, and never waits longer than the
    /// larger of the backoff cap and the Retry-After cap. A call retries in about 48% (the test asks for 20%) of the
    /// cases and gives up in about 97% (the test asks for 50%).
    #[test]
    fn rules_respect_classes_attempts_and_delay_caps() {
        let strategy = (
            any_rules(),
            proptest::collection::vec(any_failure(), 1..30),
            any::<u64>(),
        );
        crate::reach::check(
            strategy,
            [("retried", 0.2), ("gave up", 0.5)],
            |(r, failures, seed)| {
                let mut rng = RandomStream::from_seed(seed);
                let mut attempts = 1u32;
                let mut previous = 0;
                let mut gave_up = false;
                for f in failures {
                    match r.decide(attempts, previous, f, &mut rng) {
                        RetryDecision::GiveUp => {
                            gave_up = true;
                            break;
                        }
                        RetryDecision::RetryAfter(d) => {
                            if let AttemptFailure::Error { class, .. } = f {
                                prop_assert!(r.retryable.contains(class), "retried {class}");
                            } else {
                                prop_assert!(r.reask);
                            }
                            prop_assert!(d <= r.max_delay(), "{d} > {}", r.max_delay());
                            attempts += 1;
                            previous = d;
                            if let Some(max) = r.policy.max_attempts {
                                prop_assert!(attempts <= max);
                            }
                        }
                    }
                }
                Ok([attempts > 1, gave_up])
            },
        );
    }

    /// A policy of `max` attempts retries until the `max`-th and no further, for every `max`
    /// from 1 to 19 (a loop, not a property: the policy draws nothing).
    #[test]
    fn attempts_never_exceed_the_maximum() {
        for max in 1u32..20 {
            let p = RetryPolicy {
                max_attempts: Some(max),
                backoff: Backoff::None,
            };
            let mut rng = RandomStream::from_seed(u64::from(max));
            let mut attempts = 1;
            while let RetryDecision::RetryAfter(_) = p.on_failure(attempts, 0, &mut rng) {
                attempts += 1;
            }
            assert_eq!(attempts, max);
        }
    }
}
