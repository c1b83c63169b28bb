//! Whether and when to retry a failed attempt.

use crate::backoff::Backoff;
use sim_core::{RandomStream, Time};

/// A retry policy: at most `max_attempts` attempts in all (`None`: no limit), spaced by `backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: Option<u32>,
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

    proptest! {
        #[test]
        fn attempts_never_exceed_the_maximum(max in 1u32..20, seed in any::<u64>()) {
            let p = RetryPolicy { max_attempts: Some(max), backoff: Backoff::None };
            let mut rng = RandomStream::from_seed(seed);
            let mut attempts = 1;
            while let RetryDecision::RetryAfter(_) = p.on_failure(attempts, 0, &mut rng) {
                attempts += 1;
            }
            prop_assert_eq!(attempts, max);
        }
    }
}
