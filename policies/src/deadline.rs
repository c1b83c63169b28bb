//! A per-call deadline across retries and fallbacks.
//!
//! A per-attempt timeout alone lets a call with three retries and two fallbacks run for six
//! timeouts plus backoffs; what the caller actually waits for is bounded by one deadline set when
//! the call starts (gRPC deadlines, and the "total timeout" of most HTTP clients). Each attempt
//! then gets `min(attempt timeout, time left)`, and a retry whose backoff would end past the
//! deadline is not started at all: its attempt could never answer in time but would still be
//! billed.

use crate::{PolicyError, PolicyErrorKind};
use sim_core::Time;

/// The deadline of one call.
///
/// Eight bytes: every job carries one and is moved whole, so the expiry is kept as a plain
/// time with `Time::MAX` (a time no run reaches) standing for "no deadline", not as an
/// `Option` (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// Absolute expiry; [`UNBOUNDED`] for a call without a deadline.
    end: Time,
}

/// `Deadline::end` of a call without a deadline.
const UNBOUNDED: Time = Time::MAX;

impl Deadline {
    /// A call started at `start` that must finish within `budget`. A budget reaching the end
    /// of time (the sum saturates) is no deadline at all.
    pub fn new(start: Time, budget: Time) -> Deadline {
        Deadline {
            end: start.saturating_add(budget),
        }
    }

    /// A call without a deadline: only per-attempt timeouts bound it.
    pub fn unbounded() -> Deadline {
        Deadline { end: UNBOUNDED }
    }

    /// The absolute expiry time; `None` for an unbounded call.
    pub fn expires_at(&self) -> Option<Time> {
        (self.end != UNBOUNDED).then_some(self.end)
    }

    /// Time left at `now` (0 once expired); `None` if unbounded.
    pub fn remaining(&self, now: Time) -> Option<Time> {
        self.expires_at().map(|end| end.saturating_sub(now))
    }

    /// Whether the deadline has passed at `now` (expiry itself counts as passed); never for an
    /// unbounded call.
    pub fn is_expired(&self, now: Time) -> bool {
        self.expires_at().is_some_and(|end| now >= end)
    }

    /// Whether an attempt started after waiting `delay` from `now` would still have some time
    /// before the deadline. Callers that want an attempt to have at least some useful time (say,
    /// the time to first token) add it to `delay`.
    pub fn fits_after(&self, now: Time, delay: Time) -> bool {
        match self.expires_at() {
            None => true,
            Some(end) => now.saturating_add(delay) < end,
        }
    }

    /// The timeout to arm for an attempt starting at `now`: `min(attempt_timeout, remaining)`,
    /// `None` when neither bounds it. Zero means the deadline has passed: do not start it.
    pub fn attempt_timeout(&self, now: Time, attempt_timeout: Option<Time>) -> Option<Time> {
        match (attempt_timeout, self.remaining(now)) {
            (Some(a), Some(r)) => Some(a.min(r)),
            (a, r) => a.or(r),
        }
    }
}

/// Rejects a per-attempt timeout that is not shorter than the call deadline: with
/// `attempt_timeout >= deadline` the deadline always fires first, so retries can never happen
/// and the configuration almost certainly says something its author did not mean. Both errors
/// are of `attempt_timeout`: `Zero`, or `OutOfOrder` against the deadline.
pub fn check_timeouts(attempt_timeout: Time, deadline: Time) -> Result<(), PolicyError> {
    if attempt_timeout == 0 {
        return Err(PolicyError::new(
            "deadline",
            "attempt_timeout",
            PolicyErrorKind::Zero,
            "the attempt timeout must be positive",
        ));
    }
    if attempt_timeout >= deadline {
        return Err(PolicyError::new(
            "deadline",
            "attempt_timeout",
            PolicyErrorKind::OutOfOrder,
            format!(
                "the attempt timeout ({}) must be shorter than the call deadline ({}): otherwise \
                 the deadline always expires first and no retry or fallback can ever start",
                sim_core::time::format_duration(attempt_timeout),
                sim_core::time::format_duration(deadline),
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Time = sim_core::NANOS_PER_SEC;

    #[test]
    fn budget_shrinks_as_the_call_goes_on() {
        let d = Deadline::new(10 * S, 30 * S);
        assert_eq!(d.expires_at(), Some(40 * S));
        assert_eq!(d.remaining(25 * S), Some(15 * S));
        assert_eq!(d.attempt_timeout(25 * S, Some(10 * S)), Some(10 * S));
        assert_eq!(d.attempt_timeout(35 * S, Some(10 * S)), Some(5 * S));
        assert_eq!(d.attempt_timeout(35 * S, None), Some(5 * S));
        assert!(d.fits_after(35 * S, 4 * S));
        assert!(
            !d.fits_after(35 * S, 5 * S),
            "would start exactly at the deadline"
        );
        assert!(d.is_expired(40 * S));
        assert!(!d.is_expired(40 * S - 1), "a nanosecond before expiry");
        assert_eq!(d.attempt_timeout(50 * S, Some(S)), Some(0));
    }

    #[test]
    fn unbounded_calls() {
        let d = Deadline::unbounded();
        assert!(!d.is_expired(Time::MAX), "never expires");
        assert_eq!(d.remaining(5), None);
        assert!(d.fits_after(Time::MAX, Time::MAX));
        assert_eq!(d.attempt_timeout(5, None), None);
        assert_eq!(d.attempt_timeout(5, Some(3)), Some(3));
        assert_eq!(
            Deadline::new(5, Time::MAX),
            d,
            "a budget to the end of time is no deadline"
        );
        assert_eq!(
            Deadline::new(5, Time::MAX - 6).expires_at(),
            Some(Time::MAX - 1)
        );
        assert_eq!(std::mem::size_of::<Deadline>(), 8, "carried by every job");
    }

    #[test]
    fn inner_timeout_must_be_shorter() {
        assert!(check_timeouts(10 * S, 30 * S).is_ok());
        assert!(check_timeouts(30 * S - 1, 30 * S).is_ok());
        let err = check_timeouts(30 * S, 30 * S).unwrap_err();
        assert!(
            err.message.contains("30s") && err.message.contains("shorter"),
            "{err}"
        );
        assert_eq!(
            (err.param, err.kind),
            ("attempt_timeout", PolicyErrorKind::OutOfOrder)
        );
        let zero = check_timeouts(0, 30 * S).unwrap_err();
        assert_eq!(
            (zero.param, zero.kind),
            ("attempt_timeout", PolicyErrorKind::Zero)
        );
    }

    /// An attempt's timeout never reaches past the deadline nor exceeds its own timeout. The
    /// deadline cuts the timeout short (to more than 0) in about 33% (the test asks for 15%) of the cases,
    /// and the attempt's own timeout is the tighter in about 17% (the test asks for 7%).
    #[test]
    fn attempt_never_outlives_the_deadline() {
        crate::reach::check(
            (0u64..1 << 40, 0u64..1 << 40, 0u64..1 << 40, 0u64..1 << 40),
            [
                ("the deadline binds", 0.15),
                ("the attempt's timeout binds", 0.07),
            ],
            |(start, budget, elapsed, timeout)| {
                let d = Deadline::new(start, budget);
                let now = start + elapsed;
                let t = d.attempt_timeout(now, Some(timeout)).unwrap();
                prop_assert!(t <= timeout);
                prop_assert!(now + t <= (start + budget).max(now));
                Ok([t > 0 && t < timeout, t == timeout])
            },
        )
    }
}
