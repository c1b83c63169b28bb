//! Admission control and load shedding: whether a request may join a queue.
//!
//! An unbounded queue turns overload into unbounded latency: every request is eventually served,
//! too late to matter, while the ones behind it time out too. Bounding the queue by depth, or by
//! the wait a newcomer can expect (`depth × mean service / servers`, Little's law for a FIFO
//! queue), rejects early and cheaply instead. Under pressure, priority shedding drops the least
//! important work first (as in Google's criticality-based shedding and Envoy's overload
//! manager): above a threshold depth only the higher priorities are admitted, and the bar rises
//! with the depth until, at the limit, only the top priority gets in. A request that has waited
//! longer than its queue timeout is dropped when it reaches the head (its caller has given up).

use crate::{PolicyError, PolicyErrorKind};
use sim_core::Time;

/// Why a request was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ShedReason {
    /// The queue is at its maximum depth.
    QueueFull,
    /// The expected wait is over the limit.
    WaitTooLong,
    /// Shed by priority under pressure.
    LowPriority,
    /// Waited in the queue past its timeout.
    QueueTimeout,
}

impl ShedReason {
    /// A stable snake_case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            ShedReason::QueueFull => "queue_full",
            ShedReason::WaitTooLong => "wait_too_long",
            ShedReason::LowPriority => "low_priority",
            ShedReason::QueueTimeout => "queue_timeout",
        }
    }
}

/// The expected wait for a newcomer behind `depth` requests served by `servers` servers with
/// mean service time `mean_service`: `⌈depth · mean_service / servers⌉`, saturating; with no
/// server at all, forever.
pub fn estimated_wait(depth: u64, mean_service: Time, servers: u32) -> Time {
    if servers == 0 {
        return if depth == 0 { 0 } else { Time::MAX };
    }
    let total = u128::from(depth) * u128::from(mean_service);
    Time::try_from(total.div_ceil(u128::from(servers))).unwrap_or(Time::MAX)
}

/// Whether a request enqueued at `enqueued_at` has overstayed `timeout` by `now`.
pub fn queue_timed_out(enqueued_at: Time, now: Time, timeout: Option<Time>) -> bool {
    timeout.is_some_and(|t| now.saturating_sub(enqueued_at) > t)
}

/// Priority shedding: priorities `0..levels`, higher is more important.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriorityShedding {
    /// Depth from which low priorities are shed.
    pub from_depth: u64,
    /// Number of priority levels.
    pub levels: u8,
}

/// An admission policy for one queue. Every limit is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Admission {
    /// Requests the queue may hold; a newcomer to a full queue is shed as [`ShedReason::QueueFull`].
    pub max_depth: Option<u64>,
    /// The longest [`estimated_wait`] a newcomer may face, in nanoseconds; beyond it the newcomer is
    /// shed as [`ShedReason::WaitTooLong`].
    pub max_estimated_wait: Option<Time>,
    /// Shedding of low priorities from a threshold depth (see [`Admission::min_priority`]).
    pub priority: Option<PriorityShedding>,
}

impl Admission {
    /// Checks that priority shedding has at least one level (else `Zero` of `priority.levels`)
    /// and starts below `max_depth` (else `OutOfOrder` of `priority.from_depth`).
    pub fn validate(&self) -> Result<(), PolicyError> {
        if let Some(p) = self.priority {
            if p.levels == 0 {
                return Err(PolicyError::new(
                    "admission control",
                    "priority.levels",
                    PolicyErrorKind::Zero,
                    "priority shedding needs at least 1 priority level",
                ));
            }
            if let Some(max) = self.max_depth
                && p.from_depth >= max
            {
                return Err(PolicyError::new(
                    "admission control",
                    "priority.from_depth",
                    PolicyErrorKind::OutOfOrder,
                    format!(
                        "priority shedding must start below the maximum queue depth ({} ≥ {max})",
                        p.from_depth
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The lowest priority admitted at `depth` (0 when nothing is shed). From `from_depth` the
    /// bar rises linearly from 1 toward the top priority, which it reaches only at `max_depth`,
    /// where the queue is full anyway: the top priority is never shed for its priority. Without
    /// a maximum it rises one level per `from_depth` requests beyond the threshold.
    pub fn min_priority(&self, depth: u64) -> u8 {
        let Some(p) = self.priority else { return 0 };
        if depth < p.from_depth || p.levels <= 1 {
            return 0;
        }
        let top = u64::from(p.levels - 1);
        let over = depth - p.from_depth;
        let bar = match self.max_depth {
            Some(max) if max > p.from_depth => {
                1 + over.saturating_mul(top.saturating_sub(1)) / (max - p.from_depth)
            }
            _ => over / p.from_depth.max(1) + 1,
        };
        bar.min(top) as u8
    }

    /// Decides a request of `priority` arriving at a queue holding `depth` requests, served by
    /// `servers` servers with mean service time `mean_service`.
    pub fn admit(
        &self,
        depth: u64,
        mean_service: Time,
        servers: u32,
        priority: u8,
    ) -> Result<(), ShedReason> {
        if self.max_depth.is_some_and(|max| depth >= max) {
            return Err(ShedReason::QueueFull);
        }
        if self
            .max_estimated_wait
            .is_some_and(|max| estimated_wait(depth, mean_service, servers) > max)
        {
            return Err(ShedReason::WaitTooLong);
        }
        if priority < self.min_priority(depth) {
            return Err(ShedReason::LowPriority);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Time = 1_000_000;

    #[test]
    fn depth_and_wait_limits() {
        let a = Admission {
            max_depth: Some(10),
            max_estimated_wait: Some(1_000 * MS),
            priority: None,
        };
        assert_eq!(a.admit(9, 100 * MS, 1, 0), Ok(()));
        assert_eq!(a.admit(10, 0, 1, 0), Err(ShedReason::QueueFull));
        assert_eq!(a.admit(5, 300 * MS, 1, 0), Err(ShedReason::WaitTooLong));
        assert_eq!(
            a.admit(5, 300 * MS, 2, 0),
            Ok(()),
            "750 ms with two servers"
        );
        assert_eq!(estimated_wait(3, 10, 0), Time::MAX);
        assert_eq!(estimated_wait(0, 10, 0), 0);
        assert_eq!(estimated_wait(u64::MAX, Time::MAX, 1), Time::MAX);
    }

    #[test]
    fn low_priorities_go_first() {
        let a = Admission {
            max_depth: Some(100),
            max_estimated_wait: None,
            priority: Some(PriorityShedding {
                from_depth: 50,
                levels: 4,
            }),
        };
        assert!(a.validate().is_ok());
        assert_eq!(a.min_priority(49), 0);
        assert_eq!(a.min_priority(50), 1);
        assert_eq!(a.min_priority(75), 2);
        assert_eq!(a.min_priority(99), 2);
        assert_eq!(a.admit(60, 0, 1, 0), Err(ShedReason::LowPriority));
        assert_eq!(a.admit(99, 0, 1, 3), Ok(()));
        assert!(queue_timed_out(0, 11, Some(10)));
        assert!(!queue_timed_out(0, 10, Some(10)));
        assert!(!queue_timed_out(0, 1_000, None));
        let bad = Admission {
            priority: Some(PriorityShedding {
                from_depth: 100,
                levels: 4,
            }),
            ..a
        };
        assert!(bad.validate().is_err());
    }

    /// The names reports key their shed counters by (`shed.queue_full`, ...): each reason its
    /// own snake_case name.
    #[test]
    fn shed_reasons_have_their_report_names() {
        let names = [
            ShedReason::QueueFull,
            ShedReason::WaitTooLong,
            ShedReason::LowPriority,
            ShedReason::QueueTimeout,
        ]
        .map(ShedReason::name);
        assert_eq!(
            names,
            [
                "queue_full",
                "wait_too_long",
                "low_priority",
                "queue_timeout"
            ]
        );
    }

    /// Without a maximum depth the bar rises one level per `from_depth` requests beyond the
    /// threshold: from 10 with 4 levels, 1 at 10..19, 2 at 20..29, and the top (3) is never
    /// reached because the bar stops one below it.
    #[test]
    fn without_a_maximum_the_bar_rises_one_level_per_threshold() {
        let a = Admission {
            max_depth: None,
            max_estimated_wait: None,
            priority: Some(PriorityShedding {
                from_depth: 10,
                levels: 4,
            }),
        };
        assert!(a.validate().is_ok());
        let bars: Vec<u8> = [9, 10, 19, 20, 29, 30, 1_000]
            .map(|d| a.min_priority(d))
            .to_vec();
        assert_eq!(bars, [0, 1, 1, 2, 2, 3, 3]);
        // From depth 0 the step is one request wide (`from_depth.max(1)`), not a division by 0.
        let zero = Admission {
            priority: Some(PriorityShedding {
                from_depth: 0,
                levels: 4,
            }),
            ..a
        };
        assert_eq!([0, 1, 2, 9].map(|d| zero.min_priority(d)), [1, 2, 3, 3]);
    }

    /// With one level there is nothing lower to shed; with none the policy is invalid. A
    /// threshold equal to the maximum depth is refused by `validate`, and `min_priority` on such
    /// an unvalidated policy falls back to the unbounded rule instead of dividing by zero.
    #[test]
    fn degenerate_levels_and_thresholds() {
        let one = Admission {
            max_depth: Some(10),
            max_estimated_wait: None,
            priority: Some(PriorityShedding {
                from_depth: 2,
                levels: 1,
            }),
        };
        assert!(one.validate().is_ok());
        assert_eq!(one.min_priority(9), 0);
        assert_eq!(one.admit(9, 0, 1, 0), Ok(()));
        let none = Admission {
            priority: Some(PriorityShedding {
                from_depth: 2,
                levels: 0,
            }),
            ..one
        };
        let err = none.validate().unwrap_err();
        assert!(err.message.contains("at least 1 priority level"), "{err}");
        assert_eq!(
            (err.param, err.kind),
            ("priority.levels", crate::PolicyErrorKind::Zero)
        );
        let two = Admission {
            priority: Some(PriorityShedding {
                from_depth: 2,
                levels: 2,
            }),
            ..one
        };
        // Two levels: priority 0 is shed from the threshold on, 1 never is.
        assert_eq!([1, 2, 9].map(|d| two.min_priority(d)), [0, 1, 1]);
        let at_max = Admission {
            max_depth: Some(10),
            priority: Some(PriorityShedding {
                from_depth: 10,
                levels: 4,
            }),
            ..one
        };
        let err = at_max.validate().unwrap_err();
        assert!(err.message.contains("(10 ≥ 10)"), "{err}");
        assert_eq!(
            (err.param, err.kind),
            ("priority.from_depth", crate::PolicyErrorKind::OutOfOrder)
        );
        let below_max = Admission {
            max_depth: Some(11),
            ..at_max
        };
        assert_eq!(below_max.validate(), Ok(()));
        assert_eq!(at_max.min_priority(10), 1);
        assert_eq!(at_max.min_priority(20), 2);
        // A wait exactly at the limit is admitted; one nanosecond over is not.
        let wait = Admission {
            max_depth: None,
            max_estimated_wait: Some(300),
            priority: None,
        };
        assert_eq!(wait.admit(3, 100, 1, 0), Ok(()));
        assert_eq!(wait.admit(3, 101, 1, 0), Err(ShedReason::WaitTooLong));
        assert_eq!(estimated_wait(3, 100, 2), 150);
        assert_eq!(estimated_wait(3, 101, 2), 152, "rounded up");
    }

    /// The bar never falls as the queue grows, and the top priority is never shed below the
    /// maximum depth. About a fifth of the cases fall inside the shedding band with more than one
    /// level (where the bar is above 0 and the top priority must still get in); the test asks for
    /// a tenth.
    #[test]
    fn shedding_is_monotone() {
        let strategy =
            (0u64..1_000, 1u64..1_000, 1u8..10).prop_flat_map(|(from, extra, levels)| {
                (Just(from), Just(extra), Just(levels), 0..2 * (from + extra))
            });
        crate::reach::check(
            strategy,
            [("a request shed below the maximum depth", 0.1)],
            |(from, extra, levels, depth)| {
                let a = Admission {
                    max_depth: Some(from + extra),
                    max_estimated_wait: None,
                    priority: Some(PriorityShedding {
                        from_depth: from,
                        levels,
                    }),
                };
                prop_assert!(a.min_priority(depth) <= a.min_priority(depth + 1));
                let inside = depth < from + extra;
                if inside {
                    prop_assert_eq!(a.admit(depth, 0, 1, levels - 1), Ok(()));
                }
                Ok([inside && a.admit(depth, 0, 1, 0).is_err()])
            },
        );
    }
}
