//! Hedged requests: if the first attempt has not answered after a delay, send another and take
//! whichever answers first ("The Tail at Scale", Dean and Barroso, 2013; gRPC's `hedgingPolicy`
//! with `maxAttempts` and `hedgingDelay`; tower's `hedge`, which also waits a latency
//! percentile).
//!
//! The delay is either fixed or the q-quantile of the latencies observed so far. Hedging at the
//! p95 adds about 5% load and cuts the tail above it; a fixed delay cannot follow a provider
//! whose latency drifts. Until `min_observations` latencies have been seen the percentile means
//! little, so a configured initial delay is used.
//!
//! Latencies go into a [`LogLinearHistogram`] (sim-core): a quantile within 1/16 of the true
//! sample quantile, bounded memory, no allocation per observation, integer arithmetic only.

use crate::{PolicyError, PolicyErrorKind};
use sim_core::Time;
use sim_core::log_histogram::LogLinearHistogram;

/// How long to wait before hedging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HedgeDelay {
    /// Always this long.
    Fixed(Time),
    /// The `quantile_ppm / 10⁶` quantile of observed latencies once `min_observations` have been
    /// seen; `initial` before that.
    Quantile {
        /// The quantile in parts per million, in `1..=1_000_000` (950,000 is the p95).
        quantile_ppm: u32,
        /// Latencies to observe before the quantile is trusted (at least one is always needed).
        min_observations: u64,
        /// The delay used until then, in nanoseconds.
        initial: Time,
    },
}

/// A hedging policy with its latency estimator.
#[derive(Debug, Clone, PartialEq)]
pub struct HedgePolicy {
    delay: HedgeDelay,
    max_extra_attempts: u32,
    latencies: LogLinearHistogram,
}

impl HedgePolicy {
    /// `max_extra_attempts` hedges at most per call (gRPC's `maxAttempts` minus one); 0 turns
    /// hedging off. The quantile must be in (0, 1] (in ppm).
    pub fn new(delay: HedgeDelay, max_extra_attempts: u32) -> Result<HedgePolicy, PolicyError> {
        if let HedgeDelay::Quantile { quantile_ppm, .. } = delay
            && !(1..=1_000_000).contains(&quantile_ppm)
        {
            return Err(PolicyError::new(
                "hedging",
                "quantile_ppm",
                PolicyErrorKind::OutOfRange,
                format!(
                    "hedging quantile must be in (0, 1], got {}",
                    f64::from(quantile_ppm) / 1e6
                ),
            ));
        }
        Ok(HedgePolicy {
            delay,
            max_extra_attempts,
            latencies: match delay {
                HedgeDelay::Quantile { quantile_ppm, .. } => {
                    LogLinearHistogram::tracking(quantile_ppm)
                }
                HedgeDelay::Fixed(_) => LogLinearHistogram::new(),
            },
        })
    }

    /// Hedges allowed per call besides the first attempt; 0 means hedging is off.
    pub fn max_extra_attempts(&self) -> u32 {
        self.max_extra_attempts
    }

    /// How long after the latest attempt started to send a hedge; `None` when hedging is off.
    pub fn hedge_delay(&self) -> Option<Time> {
        if self.max_extra_attempts == 0 {
            return None;
        }
        Some(match self.delay {
            HedgeDelay::Fixed(d) => d,
            HedgeDelay::Quantile {
                quantile_ppm,
                min_observations,
                initial,
            } => {
                if self.latencies.count() < min_observations.max(1) {
                    initial
                } else {
                    // The histogram tracks `quantile_ppm`: read without a scan of its buckets.
                    debug_assert_eq!(
                        self.latencies.tracked_quantile(),
                        self.latencies.quantile(quantile_ppm)
                    );
                    self.latencies.tracked_quantile().unwrap_or(initial)
                }
            }
        })
    }

    /// Whether another hedge may be sent when `extra_sent` hedges are already out.
    pub fn may_hedge(&self, extra_sent: u32) -> bool {
        extra_sent < self.max_extra_attempts
    }

    /// Records the latency of a completed attempt. Feed it every attempt's latency, winners and
    /// losers alike where known, so the estimate is of the backend, not of the hedged call.
    pub fn observe(&mut self, latency: Time) {
        self.latencies.record(latency);
    }

    /// The latencies observed so far, which the quantile delay is read from.
    pub fn latencies(&self) -> &LogLinearHistogram {
        &self.latencies
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Time = 1_000_000;

    #[test]
    fn falls_back_to_the_initial_delay_until_warmed_up() {
        let mut h = HedgePolicy::new(
            HedgeDelay::Quantile {
                quantile_ppm: 950_000,
                min_observations: 20,
                initial: 500 * MS,
            },
            1,
        )
        .unwrap();
        for ms in 1..=19 {
            h.observe(ms * 10 * MS);
        }
        assert_eq!(h.hedge_delay(), Some(500 * MS));
        h.observe(200 * MS);
        assert_eq!(h.latencies().count(), 20);
        // 20 samples 10..=200 ms: the 19th smallest is 190 ms, reported within 1/16 above.
        let d = h.hedge_delay().unwrap();
        assert!((190 * MS..=190 * MS + 190 * MS / 16).contains(&d), "{d}");
        assert!(h.may_hedge(0) && !h.may_hedge(1));
        let two = HedgePolicy::new(HedgeDelay::Fixed(MS), 2).unwrap();
        assert_eq!(two.max_extra_attempts(), 2);
        assert!(two.may_hedge(1) && !two.may_hedge(2));
        assert_eq!(two.hedge_delay(), Some(MS));
    }

    #[test]
    fn off_and_invalid() {
        let h = HedgePolicy::new(HedgeDelay::Fixed(MS), 0).unwrap();
        assert_eq!(h.hedge_delay(), None);
        assert_eq!(h.max_extra_attempts(), 0);
        assert!(!h.may_hedge(0));
        let q = |quantile_ppm| HedgeDelay::Quantile {
            quantile_ppm,
            min_observations: 1,
            initial: 0,
        };
        assert!(HedgePolicy::new(q(0), 1).is_err());
        assert!(HedgePolicy::new(q(1_000_001), 1).is_err());
        assert!(HedgePolicy::new(q(1_000_000), 1).is_ok());
    }

    #[test]
    fn a_quantile_outside_its_range_names_the_quantile() {
        let q = |quantile_ppm| HedgeDelay::Quantile {
            quantile_ppm,
            min_observations: 1,
            initial: 1,
        };
        for bad in [0, 1_000_001] {
            let e = HedgePolicy::new(q(bad), 1).unwrap_err();
            assert_eq!(
                (e.policy, e.param, e.kind),
                (
                    "hedging",
                    "quantile_ppm",
                    crate::PolicyErrorKind::OutOfRange
                )
            );
        }
        assert!(HedgePolicy::new(q(1), 1).is_ok());
        assert!(HedgePolicy::new(q(1_000_000), 1).is_ok());
    }
}
