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
//! Latencies go into [`LatencyHistogram`], a fixed log-linear histogram (HDR-style, 16
//! sub-buckets per power of two, so a quantile is within 1/16 of the true sample quantile):
//! bounded memory, no allocation per observation, integer arithmetic only.

use sim_core::Time;

/// Sub-buckets per power of two: 2^4 = 16, a relative error of at most 1/16.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Values below `SUB` get one bucket each; above, 16 per power of two up to 2^63.
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// A streaming latency histogram over nanoseconds.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
    total: u64,
}

impl Default for LatencyHistogram {
    fn default() -> LatencyHistogram {
        LatencyHistogram::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> LatencyHistogram {
        LatencyHistogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
        }
    }

    fn index(v: Time) -> usize {
        if v < SUB as Time {
            return v as usize;
        }
        let exp = 63 - v.leading_zeros(); // ≥ SUB_BITS
        let sub = ((v >> (exp - SUB_BITS)) as usize) & (SUB - 1);
        SUB + (exp - SUB_BITS) as usize * SUB + sub
    }

    /// The largest value that falls in bucket `i`.
    fn bucket_high(i: usize) -> Time {
        if i < SUB {
            return i as Time;
        }
        let exp = ((i - SUB) / SUB) as u32 + SUB_BITS;
        let sub = ((i - SUB) % SUB) as Time;
        let width = 1u64 << (exp - SUB_BITS);
        // The bucket starts at 2^exp + sub·width and holds `width` values.
        ((1u64 << exp) + sub * width).saturating_add(width - 1)
    }

    pub fn record(&mut self, latency: Time) {
        self.counts[Self::index(latency)] += 1;
        self.total += 1;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The q-quantile for `q = quantile_ppm / 10⁶`: the upper edge of the bucket holding the
    /// ⌈q·n⌉-th smallest observation (at least the first). An over-estimate by at most 1/16, which
    /// for hedging errs toward hedging slightly less. `None` when empty.
    pub fn quantile(&self, quantile_ppm: u32) -> Option<Time> {
        if self.total == 0 {
            return None;
        }
        let q = u128::from(quantile_ppm.min(1_000_000));
        let rank = (q * u128::from(self.total)).div_ceil(1_000_000).max(1) as u64;
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(Self::bucket_high(i));
            }
        }
        None
    }
}

/// How long to wait before hedging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HedgeDelay {
    /// Always this long.
    Fixed(Time),
    /// The `quantile_ppm / 10⁶` quantile of observed latencies once `min_observations` have been
    /// seen; `initial` before that.
    Quantile {
        quantile_ppm: u32,
        min_observations: u64,
        initial: Time,
    },
}

/// A hedging policy with its latency estimator.
#[derive(Debug, Clone)]
pub struct HedgePolicy {
    delay: HedgeDelay,
    max_extra_attempts: u32,
    latencies: LatencyHistogram,
}

impl HedgePolicy {
    /// `max_extra_attempts` hedges at most per call (gRPC's `maxAttempts` minus one); 0 turns
    /// hedging off. The quantile must be in (0, 1] (in ppm).
    pub fn new(delay: HedgeDelay, max_extra_attempts: u32) -> Result<HedgePolicy, String> {
        if let HedgeDelay::Quantile { quantile_ppm, .. } = delay
            && !(1..=1_000_000).contains(&quantile_ppm)
        {
            return Err(format!(
                "hedging quantile must be in (0, 1], got {}",
                f64::from(quantile_ppm) / 1e6
            ));
        }
        Ok(HedgePolicy {
            delay,
            max_extra_attempts,
            latencies: LatencyHistogram::new(),
        })
    }

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
                    self.latencies.quantile(quantile_ppm).unwrap_or(initial)
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

    pub fn latencies(&self) -> &LatencyHistogram {
        &self.latencies
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const MS: Time = 1_000_000;

    #[test]
    fn buckets_tile_the_range() {
        assert_eq!(LatencyHistogram::index(0), 0);
        assert_eq!(LatencyHistogram::index(15), 15);
        assert_eq!(LatencyHistogram::index(16), 16);
        assert_eq!(LatencyHistogram::index(Time::MAX), BUCKETS - 1);
        assert_eq!(LatencyHistogram::bucket_high(BUCKETS - 1), Time::MAX);
        for i in 0..BUCKETS - 1 {
            let high = LatencyHistogram::bucket_high(i);
            assert_eq!(LatencyHistogram::index(high), i);
            assert_eq!(LatencyHistogram::index(high + 1), i + 1);
        }
    }

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
        // 20 samples 10..=200 ms: the 19th smallest is 190 ms, reported within 1/16 above.
        let d = h.hedge_delay().unwrap();
        assert!((190 * MS..=190 * MS + 190 * MS / 16).contains(&d), "{d}");
        assert!(h.may_hedge(0) && !h.may_hedge(1));
    }

    #[test]
    fn off_and_invalid() {
        let h = HedgePolicy::new(HedgeDelay::Fixed(MS), 0).unwrap();
        assert_eq!(h.hedge_delay(), None);
        let q = |quantile_ppm| HedgeDelay::Quantile {
            quantile_ppm,
            min_observations: 1,
            initial: 0,
        };
        assert!(HedgePolicy::new(q(0), 1).is_err());
        assert!(HedgePolicy::new(q(1_000_001), 1).is_err());
        assert!(HedgePolicy::new(q(1_000_000), 1).is_ok());
    }

    proptest! {
        /// The streaming quantile is never below the exact sample quantile and at most 1/16
        /// above it.
        #[test]
        fn quantile_is_within_the_bucket_error(
            mut xs in proptest::collection::vec(0u64..1 << 50, 1..400),
            q in 1u32..=1_000_000,
        ) {
            let mut h = LatencyHistogram::new();
            for &x in &xs {
                h.record(x);
            }
            xs.sort_unstable();
            let rank = (u64::from(q) * xs.len() as u64).div_ceil(1_000_000).max(1);
            let exact = xs[rank as usize - 1];
            let est = h.quantile(q).unwrap();
            prop_assert!(est >= exact, "{est} < {exact}");
            prop_assert!(est - exact <= exact / 16, "{est} vs {exact}");
        }
    }
}
