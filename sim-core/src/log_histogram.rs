//! A fixed log-linear histogram (HDR-style: 16 sub-buckets per power of two) for quantiles that
//! steer a run, such as a hedge delay at the observed p95.

use crate::Time;

/// Sub-buckets per power of two: 2^4 = 16, a relative error of at most 1/16.
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Values below `SUB` get one bucket each; above, 16 per power of two up to 2^63.
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * SUB;

/// A streaming histogram of durations in nanoseconds with fixed log-linear buckets.
///
/// Unlike [`crate::stats::LatencyHistogram`] (hdrhistogram at 3 significant digits, in
/// microseconds, for reported percentiles), this one is for decisions taken during a run (a
/// hedge delay at the observed p95): fixed memory allocated once, integer nanoseconds, and a
/// quantile that is a bucket's exact upper edge, so decisions are the same on every platform.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLinearHistogram {
    counts: Box<[u64]>,
    total: u64,
    tracked: Option<Cursor>,
}

/// One quantile kept up to date as observations arrive, so that reading it costs nothing: the
/// bucket holding the ⌈q·n⌉-th smallest observation and the count of observations up to and
/// including it. Each observation moves the rank by at most one, so the cursor moves by a bucket
/// or a few (past empty ones) instead of the whole histogram being scanned at every read.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Cursor {
    quantile_ppm: u32,
    bucket: usize,
    through: u64,
}

impl Default for LogLinearHistogram {
    fn default() -> LogLinearHistogram {
        LogLinearHistogram::new()
    }
}

impl LogLinearHistogram {
    /// An empty histogram. Allocates all 976 buckets (under 8 KiB) now, so recording never allocates.
    pub fn new() -> LogLinearHistogram {
        LogLinearHistogram {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            total: 0,
            tracked: None,
        }
    }

    /// An empty histogram that keeps the `quantile_ppm / 10⁶` quantile current as it records,
    /// for [`LogLinearHistogram::tracked_quantile`]: a decision read at every call (a hedge delay)
    /// then costs no scan of the buckets.
    pub fn tracking(quantile_ppm: u32) -> LogLinearHistogram {
        LogLinearHistogram {
            tracked: Some(Cursor {
                quantile_ppm: quantile_ppm.min(1_000_000),
                bucket: 0,
                through: 0,
            }),
            ..LogLinearHistogram::new()
        }
    }

    /// The rank ⌈q·n⌉ (at least 1) of the q-quantile among `total` observations.
    fn rank(quantile_ppm: u32, total: u64) -> u64 {
        let q = u128::from(quantile_ppm.min(1_000_000));
        (q * u128::from(total)).div_ceil(1_000_000).max(1) as u64
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

    /// Counts one observation of `latency` nanoseconds; every `Time` value has a bucket.
    pub fn record(&mut self, latency: Time) {
        let i = Self::index(latency);
        self.counts[i] += 1;
        self.total += 1;
        if let Some(c) = &mut self.tracked {
            if i <= c.bucket {
                c.through += 1;
            }
            let rank = Self::rank(c.quantile_ppm, self.total);
            // Up while the bucket holds fewer than `rank` observations up to it, down while the
            // buckets below it already hold `rank`: then it is the first bucket reaching `rank`.
            while c.through < rank {
                c.bucket += 1;
                c.through += self.counts[c.bucket];
            }
            while c.through - self.counts[c.bucket] >= rank {
                c.through -= self.counts[c.bucket];
                c.bucket -= 1;
            }
        }
    }

    /// The quantile given to [`LogLinearHistogram::tracking`], equal to `quantile` of it but read
    /// without a scan; `None` when empty or when the histogram tracks no quantile.
    pub fn tracked_quantile(&self) -> Option<Time> {
        match self.tracked {
            Some(c) if self.total > 0 => Some(Self::bucket_high(c.bucket)),
            _ => None,
        }
    }

    /// How many observations have been recorded.
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
        let rank = Self::rank(quantile_ppm, self.total);
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn buckets_tile_the_range() {
        assert_eq!(LogLinearHistogram::index(0), 0);
        assert_eq!(LogLinearHistogram::index(15), 15);
        assert_eq!(LogLinearHistogram::index(16), 16);
        assert_eq!(LogLinearHistogram::index(Time::MAX), BUCKETS - 1);
        assert_eq!(LogLinearHistogram::bucket_high(BUCKETS - 1), Time::MAX);
        for i in 0..BUCKETS - 1 {
            let high = LogLinearHistogram::bucket_high(i);
            assert_eq!(LogLinearHistogram::index(high), i);
            assert_eq!(LogLinearHistogram::index(high + 1), i + 1);
        }
    }

    proptest! {
        /// The streaming quantile is never below the exact sample quantile and at most 1/16
        /// above it.
        #[test]
        fn quantile_is_within_the_bucket_error(
            mut xs in proptest::collection::vec(0u64..1 << 50, 1..400),
            q in 1u32..=1_000_000,
        ) {
            let mut h = LogLinearHistogram::new();
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

        /// The tracked quantile equals the scanned one after every observation, whatever the
        /// order of the values (spread over many powers of two, with repeats, so the cursor
        /// moves both ways and across empty buckets).
        #[test]
        fn tracked_quantile_equals_the_scan(
            xs in proptest::collection::vec((0u32..40, 0u64..4), 1..300),
            q in 1u32..=1_000_000,
        ) {
            let mut h = LogLinearHistogram::tracking(q);
            prop_assert_eq!(h.tracked_quantile(), None);
            for &(exp, low) in &xs {
                h.record((1u64 << exp) + low);
                prop_assert_eq!(h.tracked_quantile(), h.quantile(q));
            }
        }
    }
}
