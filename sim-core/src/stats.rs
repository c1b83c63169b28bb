//! Streaming statistics recorded during one replication. Memory is O(1) per statistic (O(buckets)
//! for time series), never O(observations), so a run's memory stays flat as its horizon grows.

use crate::time::{NANOS_PER_SEC, Time};
use hdrhistogram::Histogram;

/// Mean, variance, minimum and maximum by Welford's online algorithm (numerically stable).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    count: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Tally {
    /// An empty tally: count 0, and NaN for every statistic until something is recorded.
    pub fn new() -> Tally {
        Tally::default()
    }

    /// Adds one observation, in O(1) time and memory.
    #[inline]
    pub fn record(&mut self, x: f64) {
        self.count += 1;
        if self.count == 1 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        let delta = x - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// How many observations have been recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The mean, or NaN with no observations (reported as null).
    pub fn mean(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.mean }
    }

    /// The sample variance (n − 1 denominator), or NaN with fewer than two observations.
    pub fn variance(&self) -> f64 {
        if self.count < 2 {
            f64::NAN
        } else {
            self.m2 / (self.count - 1) as f64
        }
    }

    /// The smallest observation, or NaN with none.
    pub fn min(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.min }
    }

    /// The largest observation, or NaN with none.
    pub fn max(&self) -> f64 {
        if self.count == 0 { f64::NAN } else { self.max }
    }
}

/// The time average of an integer level (queue length, busy servers, requests in system).
/// The integral is kept exactly, as an integer of level × nanoseconds.
#[derive(Debug, Clone)]
pub struct TimeWeighted {
    level: i64,
    since: Time,
    start: Time,
    area: i128,
    max: i64,
}

impl TimeWeighted {
    /// A level of 0 from `start` on; the average is taken over time from `start`.
    pub fn new(start: Time) -> TimeWeighted {
        TimeWeighted {
            level: 0,
            since: start,
            start,
            area: 0,
            max: 0,
        }
    }

    #[inline]
    fn advance(&mut self, now: Time) {
        if now > self.since {
            self.area += self.level as i128 * (now - self.since) as i128;
            self.since = now;
        }
    }

    /// Changes the level by `delta` at time `now` (times must not decrease).
    #[inline]
    pub fn add(&mut self, now: Time, delta: i64) {
        self.advance(now);
        self.level += delta;
        self.max = self.max.max(self.level);
    }

    /// Sets the level to `level` at `now` (times must not decrease), for callers that know the new level
    /// rather than the change.
    #[inline]
    pub fn set(&mut self, now: Time, level: i64) {
        self.advance(now);
        self.level = level;
        self.max = self.max.max(level);
    }

    /// The current level.
    pub fn level(&self) -> i64 {
        self.level
    }

    /// Forgets everything before `now` but keeps the current level (end of warm-up).
    pub fn restart(&mut self, now: Time) {
        self.advance(now);
        self.start = now;
        self.area = 0;
        self.max = self.level;
    }

    /// The time average over [start, now].
    pub fn mean(&mut self, now: Time) -> f64 {
        self.advance(now);
        if now <= self.start {
            return self.level as f64;
        }
        self.area as f64 / (now - self.start) as f64
    }

    /// The highest level reached since the start (or the last [`restart`](Self::restart)); 0 if the
    /// level never rose above it.
    pub fn max(&self) -> i64 {
        self.max
    }
}

/// A latency distribution with three significant digits, recorded in microseconds.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram covering 1 µs to one hour at 3 significant digits; it resizes itself if a
    /// longer latency arrives.
    pub fn new() -> LatencyHistogram {
        // One hour at 3 significant digits to start with; it grows if a longer value arrives.
        let mut hist = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .expect("static histogram bounds are valid");
        hist.auto(true);
        LatencyHistogram { hist }
    }

    /// Bytes of counters this histogram holds (for memory estimates; it grows only when a
    /// latency past an hour arrives).
    pub fn heap_bytes(&self) -> u64 {
        self.hist.distinct_values() as u64 * std::mem::size_of::<u64>() as u64
    }

    /// Records a latency of `latency` nanoseconds, truncated to whole microseconds (so anything under
    /// 1 µs counts as 0).
    #[inline]
    pub fn record(&mut self, latency: Time) {
        let micros = latency / 1_000;
        // With auto-resize on, recording only fails beyond u64 range, which cannot happen here.
        let _ = self.hist.record(micros);
    }

    /// How many latencies have been recorded.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The `q`-quantile (0 ≤ q ≤ 1) in seconds, or NaN with no observations.
    pub fn quantile_secs(&self, q: f64) -> f64 {
        if self.hist.is_empty() {
            return f64::NAN;
        }
        self.hist.value_at_quantile(q) as f64 * 1e-6
    }

    /// Forgets every observation but keeps the counters' memory (for the end of a warm-up).
    pub fn reset(&mut self) {
        self.hist.reset();
    }
}

/// Integer counts in fixed-width time buckets: the raw material of time series, SLIs and burn
/// rates. Buckets are created as time advances, so memory grows with horizon / width only.
#[derive(Debug, Clone)]
pub struct TimeBuckets {
    width: Time,
    counts: Vec<u64>,
}

impl TimeBuckets {
    /// Empty buckets of `width` nanoseconds each, the first starting at time 0. Panics if `width` is 0.
    pub fn new(width: Time) -> TimeBuckets {
        assert!(width > 0, "bucket width must be positive");
        TimeBuckets {
            width,
            counts: Vec::new(),
        }
    }

    /// Adds `n` events at `now` to the bucket holding it, creating the buckets up to it if needed.
    #[inline]
    pub fn add(&mut self, now: Time, n: u64) {
        let index = (now / self.width) as usize;
        if index >= self.counts.len() {
            self.counts.resize(index + 1, 0);
        }
        self.counts[index] += n;
    }

    /// Each bucket's width in nanoseconds.
    pub fn width(&self) -> Time {
        self.width
    }

    /// The count in each bucket from time 0, up to the last bucket anything was added to.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Events per second in each bucket.
    pub fn rates_per_second(&self) -> Vec<f64> {
        let secs = self.width as f64 / NANOS_PER_SEC as f64;
        self.counts.iter().map(|&c| c as f64 / secs).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_matches_two_pass_formulas() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let mut t = Tally::new();
        xs.iter().for_each(|&x| t.record(x));
        assert_eq!(t.count(), 8);
        assert!((t.mean() - 5.0).abs() < 1e-12);
        assert!((t.variance() - 32.0 / 7.0).abs() < 1e-12);
        assert_eq!((t.min(), t.max()), (2.0, 9.0));
        assert!(Tally::new().mean().is_nan());
    }

    #[test]
    fn time_weighted_average_is_exact() {
        let mut l = TimeWeighted::new(0);
        l.add(10, 2); // level 2 over [10, 30)
        l.add(30, -1); // level 1 over [30, 40)
        assert!((l.mean(40) - (2.0 * 20.0 + 10.0) / 40.0).abs() < 1e-12);
        l.restart(40);
        assert!((l.mean(50) - 1.0).abs() < 1e-12);
        assert_eq!(l.max(), 1);
    }

    #[test]
    fn histogram_quantiles_within_three_digits() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=1000u64 {
            h.record(ms * 1_000_000);
        }
        assert_eq!(h.count(), 1000);
        let p50 = h.quantile_secs(0.5);
        let p99 = h.quantile_secs(0.99);
        assert!((p50 - 0.5).abs() < 0.5e-3 * 2.0, "{p50}");
        assert!((p99 - 0.99).abs() < 0.99e-3 * 2.0, "{p99}");
        h.record(10 * 3_600 * NANOS_PER_SEC); // ten hours: beyond the initial range
        assert!((h.quantile_secs(1.0) - 36_000.0).abs() < 36.0);
    }

    #[test]
    fn buckets_count_by_time() {
        let mut b = TimeBuckets::new(NANOS_PER_SEC);
        b.add(0, 1);
        b.add(999_999_999, 1);
        b.add(2 * NANOS_PER_SEC, 3);
        assert_eq!(b.counts(), &[2, 0, 3]);
        assert_eq!(b.rates_per_second(), vec![2.0, 0.0, 3.0]);
    }
}
