//! Temporal's retry policy, as its documentation defines it: the interval before the first
//! retry is `initial_interval`; each later one is the previous times `backoff_coefficient`,
//! capped at `maximum_interval` (default 100 × `initial_interval`); `maximum_attempts` counts
//! every attempt, the first included (1 disables retries, 0 means unlimited, up to the
//! timeouts); an error whose type is listed in `non_retryable_error_types` (an exact match) is
//! never retried. No jitter: Temporal's server schedules retries at exactly these intervals.

use sim_core::Time;

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    pub initial_interval: Time,
    pub backoff_coefficient: f64,
    pub maximum_interval: Time,
    /// Attempts in all, the first included; 0: unlimited.
    pub maximum_attempts: u32,
    pub non_retryable: Vec<String>,
}

impl RetryPolicy {
    /// Temporal's activity default: 1 s, ×2, capped at 100 s, unlimited attempts.
    pub fn activity_default() -> RetryPolicy {
        RetryPolicy {
            initial_interval: 1_000_000_000,
            backoff_coefficient: 2.0,
            maximum_interval: 100_000_000_000,
            maximum_attempts: 0,
            non_retryable: Vec::new(),
        }
    }

    /// Temporal's workflow default: no retries.
    pub fn no_retries() -> RetryPolicy {
        RetryPolicy {
            maximum_attempts: 1,
            ..RetryPolicy::activity_default()
        }
    }

    /// The wait before the retry that follows attempt `attempt` (1 for the first attempt):
    /// `min(initial · coefficient^(attempt−1), maximum)`.
    pub fn interval(&self, attempt: u32) -> Time {
        let exponent = attempt.saturating_sub(1).min(1_000) as f64;
        let grown = self.initial_interval as f64 * libm::pow(self.backoff_coefficient, exponent);
        if grown >= self.maximum_interval as f64 {
            self.maximum_interval
        } else {
            (grown + 0.5) as Time
        }
    }

    /// Whether attempt `attempt` (1 for the first), which failed with `error_type`, may be
    /// followed by another.
    pub fn retries(&self, attempt: u32, error_type: &str) -> bool {
        (self.maximum_attempts == 0 || attempt < self.maximum_attempts)
            && !self.non_retryable.iter().any(|t| t == error_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Time = 1_000_000_000;

    #[test]
    fn intervals_grow_by_the_coefficient_and_stop_at_the_cap() {
        let p = RetryPolicy {
            initial_interval: S,
            backoff_coefficient: 2.0,
            maximum_interval: 10 * S,
            maximum_attempts: 0,
            non_retryable: vec![],
        };
        let got: Vec<Time> = (1..=6).map(|a| p.interval(a)).collect();
        assert_eq!(got, vec![S, 2 * S, 4 * S, 8 * S, 10 * S, 10 * S]);
        let flat = RetryPolicy {
            backoff_coefficient: 1.0,
            ..p.clone()
        };
        assert_eq!(flat.interval(9), S);
        let slow = RetryPolicy {
            backoff_coefficient: 1.5,
            maximum_interval: 100 * S,
            ..p
        };
        assert_eq!(slow.interval(3), 2_250_000_000);
    }

    #[test]
    fn zero_attempts_is_unlimited_and_one_disables_retries() {
        let mut p = RetryPolicy::activity_default();
        assert!(p.retries(1_000_000, "failed"));
        p.maximum_attempts = 1;
        assert!(!p.retries(1, "failed"));
        p.maximum_attempts = 3;
        assert!(p.retries(2, "failed"));
        assert!(!p.retries(3, "failed"));
    }

    #[test]
    fn listed_types_are_never_retried_and_match_exactly() {
        let p = RetryPolicy {
            non_retryable: vec!["over_budget".into()],
            ..RetryPolicy::activity_default()
        };
        assert!(!p.retries(1, "over_budget"));
        assert!(p.retries(1, "over"));
        assert!(p.retries(1, "failed"));
    }

    #[test]
    fn the_defaults_are_temporals() {
        let a = RetryPolicy::activity_default();
        assert_eq!(a.interval(1), S);
        assert_eq!(a.maximum_interval, 100 * a.initial_interval);
        assert_eq!(a.maximum_attempts, 0);
        assert_eq!(RetryPolicy::no_retries().maximum_attempts, 1);
    }
}
