//! Time series and latency distributions as a run reports them: fixed buckets over the measured
//! window `[warm-up, horizon]`, sized once before the run so that recording never allocates and
//! memory does not grow with the horizon (the bucket *width* grows instead).
//!
//! Each replication produces a [`SeriesSet`] and a [`CdfSet`]; [`summarize_series`] and
//! [`summarize_cdf`] reduce them in replication order to a mean and a 95% confidence half-width
//! per point, so the reduced values are the same bytes for any thread count.

use crate::stats::LatencyHistogram;
use crate::time::{NANOS_PER_SEC, Time};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// The most buckets a series may have. 500 points is more than a chart's width in useful detail
/// and keeps a report's JSON small.
pub const MAX_BUCKETS: usize = 500;

const MS: Time = 1_000_000;
const S: Time = NANOS_PER_SEC;
const MIN: Time = 60 * S;
const H: Time = 60 * MIN;
const DAY: Time = 24 * H;

/// Widths a person reads at a glance on a time axis, smallest first.
const NICE_WIDTHS: &[Time] = &[
    MS,
    2 * MS,
    5 * MS,
    10 * MS,
    20 * MS,
    50 * MS,
    100 * MS,
    200 * MS,
    500 * MS,
    S,
    2 * S,
    5 * S,
    10 * S,
    15 * S,
    30 * S,
    MIN,
    2 * MIN,
    5 * MIN,
    10 * MIN,
    15 * MIN,
    30 * MIN,
    H,
    2 * H,
    3 * H,
    6 * H,
    12 * H,
    DAY,
    2 * DAY,
    7 * DAY,
];

/// The fixed bucket layout of a measured window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketGrid {
    /// Start of the first bucket (the end of the warm-up).
    pub start: Time,
    /// End of the window (the horizon); the last bucket may be shorter than `width`.
    pub end: Time,
    /// Length of every bucket but possibly the last, in nanoseconds: a "nice" width (1 ms, 2 ms,
    /// 5 ms, ... 1 week, then whole weeks), never zero when built by [`BucketGrid::for_window`].
    pub width: Time,
}

impl BucketGrid {
    /// The smallest "nice" width that covers `[start, end]` in at most [`MAX_BUCKETS`] buckets
    /// (whole weeks beyond the table). An empty window gets one zero-length bucket's grid with
    /// no buckets.
    pub fn for_window(start: Time, end: Time) -> BucketGrid {
        let span = end.saturating_sub(start);
        let fits = |w: Time| span.div_ceil(w) <= MAX_BUCKETS as u64;
        let width = NICE_WIDTHS
            .iter()
            .copied()
            .find(|&w| fits(w))
            .unwrap_or_else(|| {
                let week = 7 * DAY;
                span.div_ceil(MAX_BUCKETS as u64).div_ceil(week) * week
            });
        BucketGrid { start, end, width }
    }

    /// The number of buckets: the window's length divided by `width`, rounded up.
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start).div_ceil(self.width) as usize
    }

    /// Whether the window is empty (zero length), so that it has no buckets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bucket holding `now`, or `None` before the window. Times at or past the end fall in
    /// the last bucket (the horizon itself is measured).
    #[inline]
    pub fn index(&self, now: Time) -> Option<usize> {
        if now < self.start || self.end <= self.start {
            return None;
        }
        // One division: clamping the time (not the index) to the window's last nanosecond
        // lands in the last bucket, `len() − 1`, without computing `len()`.
        Some(((now.min(self.end - 1) - self.start) / self.width) as usize)
    }

    /// Start of bucket `i`.
    pub fn bucket_start(&self, i: usize) -> Time {
        self.start
            .saturating_add(self.width.saturating_mul(i as u64))
    }

    /// Length of bucket `i` (shorter for a partial last bucket).
    pub fn bucket_len(&self, i: usize) -> Time {
        let from = self.bucket_start(i).min(self.end);
        from.saturating_add(self.width).min(self.end) - from
    }
}

/// The bucket a series placed a time in last, with the times `[from, until)` it holds (the
/// last bucket holds every time from its start on). Times arrive in order and most fall in the
/// same bucket as the one before, which is then found without a division.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    index: usize,
    from: Time,
    until: Time,
}

impl Cursor {
    /// Holds no time, so the first lookup asks the grid.
    const NONE: Cursor = Cursor {
        index: 0,
        from: 1,
        until: 0,
    };

    /// The bucket of `now` in `grid` (as [`BucketGrid::index`]), remembering it.
    #[inline]
    fn locate(&mut self, grid: &BucketGrid, now: Time) -> Option<usize> {
        if now >= self.from && now < self.until {
            return Some(self.index);
        }
        let index = grid.index(now)?;
        let from = grid.bucket_start(index);
        let until = if index + 1 == grid.len() {
            Time::MAX
        } else {
            from + grid.width
        };
        *self = Cursor { index, from, until };
        Some(index)
    }
}

/// Integer event counts per bucket (completions, successes, errors of one class).
#[derive(Debug, Clone)]
pub struct CountSeries {
    grid: BucketGrid,
    counts: Vec<u64>,
    cursor: Cursor,
}

impl CountSeries {
    /// All-zero counts, one per bucket of `grid` (allocated now, never again).
    pub fn new(grid: BucketGrid) -> CountSeries {
        CountSeries {
            grid,
            counts: vec![0; grid.len()],
            cursor: Cursor::NONE,
        }
    }

    /// Adds `n` events at `now` to its bucket; events before the window (in the warm-up) are ignored.
    #[inline]
    pub fn add(&mut self, now: Time, n: u64) {
        if let Some(i) = self.cursor.locate(&self.grid, now) {
            self.counts[i] += n;
        }
    }

    /// The count in each bucket, in time order.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Events per second of each bucket's own length.
    pub fn rates_per_second(&self) -> Vec<f64> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let secs = self.grid.bucket_len(i) as f64 / NANOS_PER_SEC as f64;
                if secs > 0.0 {
                    c as f64 / secs
                } else {
                    f64::NAN
                }
            })
            .collect()
    }
}

/// The time average of an integer level within each bucket (queue depth, busy servers). The
/// level is followed from time 0, but only the part inside the window is integrated, so the
/// warm-up needs no special handling.
#[derive(Debug, Clone)]
pub struct LevelSeries {
    grid: BucketGrid,
    level: i64,
    since: Time,
    area: Vec<i128>,
    cursor: Cursor,
}

impl LevelSeries {
    /// A level of 0 from time 0, with one zero integral per bucket of `grid`.
    pub fn new(grid: BucketGrid) -> LevelSeries {
        LevelSeries {
            grid,
            level: 0,
            since: 0,
            area: vec![0; grid.len()],
            cursor: Cursor::NONE,
        }
    }

    /// Integrates the level from the last change to `now`, bucket by bucket.
    #[inline]
    fn advance(&mut self, now: Time) {
        let from = self.since.max(self.grid.start);
        let to = now.min(self.grid.end);
        if self.level != 0 && to > from {
            let c = self.cursor;
            if from >= c.from && to <= c.until {
                self.area[c.index] += self.level as i128 * (to - from) as i128;
            } else {
                self.spread(from, to);
            }
        }
        self.since = self.since.max(now);
    }

    /// Integrates the level over `[from, to)` across buckets.
    #[inline(never)]
    fn spread(&mut self, from: Time, to: Time) {
        let mut t = from;
        while t < to {
            let Some(i) = self.cursor.locate(&self.grid, t) else {
                break;
            };
            let until = self.cursor.until.min(to);
            self.area[i] += self.level as i128 * (until - t) as i128;
            t = until;
        }
    }

    /// Changes the level by `delta` at `now` (times must not decrease).
    #[inline]
    pub fn add(&mut self, now: Time, delta: i64) {
        self.advance(now);
        self.level += delta;
    }

    /// The mean level in each bucket, integrating up to the window's end.
    pub fn means(&mut self) -> Vec<f64> {
        self.advance(self.grid.end);
        self.area
            .iter()
            .enumerate()
            .map(|(i, &a)| {
                let len = self.grid.bucket_len(i);
                if len > 0 {
                    a as f64 / len as f64
                } else {
                    f64::NAN
                }
            })
            .collect()
    }
}

/// Sub-bins per octave of a [`QuantileSeries`] bucket: 2^3 = 8, so a bin is at most 1/8 of its
/// lower edge wide and its midpoint within 1/16 (6.25%) of every value in it.
const TAIL_SUB_BITS: u32 = 3;
const TAIL_SUB: usize = 1 << TAIL_SUB_BITS;
/// Values are binned in units of 2^17 ns (131 µs): below 8 units (1.05 ms) one bin per unit,
/// an absolute error of at most 66 µs, which no time to first token needs finer.
const TAIL_UNIT_SHIFT: u32 = 17;
/// Octaves from 2^3 units (1.05 ms) to 2^32 units (2^49 ns, 6.5 days); longer values share the
/// last bin.
const TAIL_OCTAVES: usize = 29;
/// Bins per bucket: the linear part and 8 per octave.
pub const TAIL_BINS: usize = TAIL_SUB + TAIL_OCTAVES * TAIL_SUB;

/// A quantile of durations per bucket (the p99 of the times to first token of the calls whose
/// first token came in each bucket), from a small log-linear histogram kept per bucket.
///
/// An exact per-bucket quantile would keep every value; this keeps [`TAIL_BINS`] counters per
/// bucket (240 × 4 bytes, under 0.5 MB for the 500 buckets a grid has at most), allocated once,
/// so memory is bounded whatever the horizon and recording never allocates. Values are recorded
/// in any time order (a call's first token is known only when it finishes). The quantile read
/// back is the midpoint of the bin holding the ⌈q·n⌉-th smallest value of the bucket: within
/// 6.25% of that value, or 66 µs below 1 ms.
#[derive(Debug, Clone)]
pub struct QuantileSeries {
    grid: BucketGrid,
    /// `TAIL_BINS` counts per bucket, bucket after bucket.
    counts: Vec<u32>,
    cursor: Cursor,
}

impl QuantileSeries {
    /// Bytes one series holds for `grid` (for memory estimates).
    pub fn bytes_for(grid: BucketGrid) -> u64 {
        (grid.len() * TAIL_BINS * std::mem::size_of::<u32>()) as u64
    }

    /// No values yet: every bucket's counters allocated now, never again.
    pub fn new(grid: BucketGrid) -> QuantileSeries {
        QuantileSeries {
            grid,
            counts: vec![0; grid.len() * TAIL_BINS],
            cursor: Cursor::NONE,
        }
    }

    /// The bin of a duration of `value` nanoseconds.
    fn bin(value: Time) -> usize {
        let u = value >> TAIL_UNIT_SHIFT;
        if u < TAIL_SUB as Time {
            return u as usize;
        }
        let exp = 63 - u.leading_zeros(); // ≥ TAIL_SUB_BITS
        let sub = ((u >> (exp - TAIL_SUB_BITS)) as usize) & (TAIL_SUB - 1);
        (TAIL_SUB + (exp - TAIL_SUB_BITS) as usize * TAIL_SUB + sub).min(TAIL_BINS - 1)
    }

    /// The midpoint of bin `i` in nanoseconds.
    fn bin_mid(i: usize) -> f64 {
        let (low, width) = if i < TAIL_SUB {
            (i as u64, 1)
        } else {
            let exp = ((i - TAIL_SUB) / TAIL_SUB) as u32 + TAIL_SUB_BITS;
            let sub = ((i - TAIL_SUB) % TAIL_SUB) as u64;
            let width = 1u64 << (exp - TAIL_SUB_BITS);
            ((1u64 << exp) + sub * width, width)
        };
        ((low << TAIL_UNIT_SHIFT) as f64) + ((width << TAIL_UNIT_SHIFT) as f64) / 2.0
    }

    /// Counts a duration of `value` nanoseconds in the bucket of `at`; ignored before the window.
    #[inline]
    pub fn record(&mut self, at: Time, value: Time) {
        if let Some(b) = self.cursor.locate(&self.grid, at) {
            let c = &mut self.counts[b * TAIL_BINS + Self::bin(value)];
            *c = c.saturating_add(1);
        }
    }

    /// The `quantile_ppm / 10⁶` quantile of each bucket in seconds (NaN where a bucket has no
    /// value): the midpoint of the bin holding the ⌈q·n⌉-th smallest (at least the first).
    pub fn quantiles_secs(&self, quantile_ppm: u32) -> Vec<f64> {
        let q = u64::from(quantile_ppm.min(1_000_000));
        self.counts
            .chunks_exact(TAIL_BINS)
            .map(|bins| {
                let n: u64 = bins.iter().map(|&c| u64::from(c)).sum();
                if n == 0 {
                    return f64::NAN;
                }
                let rank = (q * n).div_ceil(1_000_000).max(1);
                let mut seen = 0u64;
                let i = bins
                    .iter()
                    .position(|&c| {
                        seen += u64::from(c);
                        seen >= rank
                    })
                    .unwrap_or(TAIL_BINS - 1);
                Self::bin_mid(i) / NANOS_PER_SEC as f64
            })
            .collect()
    }
}

/// The series one replication produced, each with one value per bucket of `grid`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSet {
    /// The buckets every series is measured on.
    pub grid: BucketGrid,
    /// Name (with its unit, as metric names carry) and values, in a fixed order.
    pub series: Vec<(String, Vec<f64>)>,
}

/// One series reduced across replications.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesStat {
    /// The series' name, as in [`SeriesSet::series`].
    pub name: String,
    /// Mean over replications per bucket (NaN where no replication had a finite value).
    pub mean: Vec<f64>,
    /// Student-t 95% half-width per bucket (NaN with fewer than two finite values).
    pub ci95_half_width: Vec<f64>,
    /// The highest replication's value per bucket, for the series whose peaks matter
    /// ([`keeps_peak`]): a mean of 0.6 can hide replications that filled the cache.
    pub peak: Option<Vec<f64>>,
}

/// Whether a series keeps its per-bucket maximum over replications: KV-cache utilisation, where
/// a full cache (and the evictions it brings) in some replications is the finding, and a mean
/// across replications smooths it away.
pub fn keeps_peak(name: &str) -> bool {
    name.ends_with(".kv_utilisation")
}

/// Every series of a run, reduced across replications.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesSummary {
    /// The buckets, the same for every replication.
    pub grid: BucketGrid,
    /// Each series' per-bucket statistics, in the replications' order of series.
    pub series: Vec<SeriesStat>,
}

/// Quantile levels kept for each latency distribution, in per mille: dense in the tails, where
/// reliability questions live, and every 2.5% in between. Integers keep them exact.
const CDF_PER_MILLE: &[u32] = &[
    1, 2, 5, 10, 20, 30, 40, 50, 75, 100, 125, 150, 175, 200, 225, 250, 275, 300, 325, 350, 375,
    400, 425, 450, 475, 500, 525, 550, 575, 600, 625, 650, 675, 700, 725, 750, 775, 800, 825, 850,
    875, 900, 925, 950, 960, 970, 980, 990, 995, 998, 999,
];

/// The quantile levels of every [`CdfSet`], ascending in (0, 1).
pub fn cdf_levels() -> Vec<f64> {
    CDF_PER_MILLE.iter().map(|&k| k as f64 / 1000.0).collect()
}

/// Latency distributions of one replication: for each named population (a tenant, or `all`),
/// the latency in seconds at each of [`cdf_levels`] (NaN if it had no completions).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CdfSet {
    /// Population name and its latency in seconds at each level, in the order pushed.
    pub distributions: Vec<(String, Vec<f64>)>,
}

impl CdfSet {
    /// Appends the population `name`, read from `hist` at every level of [`cdf_levels`].
    pub fn push(&mut self, name: impl Into<String>, hist: &LatencyHistogram) {
        let values = CDF_PER_MILLE
            .iter()
            .map(|&k| hist.quantile_secs(k as f64 / 1000.0))
            .collect();
        self.distributions.push((name.into(), values));
    }
}

/// Latency distributions reduced across replications: the mean latency at each level.
#[derive(Debug, Clone, PartialEq)]
pub struct CdfSummary {
    /// The quantile levels, as [`cdf_levels`] gives them.
    pub levels: Vec<f64>,
    /// Per population, the mean latency in seconds at each level and its 95% half-width.
    pub distributions: Vec<SeriesStat>,
}

/// Mean and 95% half-width of the finite values in `column`, with `t95[n]` the t quantile for
/// n finite values (precomputed: one per replication count, not one per point).
fn reduce(column: impl Iterator<Item = f64>, t95: &[f64]) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0);
    let values: Vec<f64> = column.filter(|v| v.is_finite()).collect();
    for v in &values {
        n += 1;
        sum += v;
    }
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = sum / n as f64;
    if n < 2 {
        return (mean, f64::NAN);
    }
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    (mean, t95[n] * (var / n as f64).sqrt())
}

/// `t[n]`: the two-sided 95% Student-t quantile for a mean of n values (NaN for n < 2).
fn t95_table(max_n: usize) -> Vec<f64> {
    (0..=max_n)
        .map(|n| {
            if n < 2 {
                return f64::NAN;
            }
            StudentsT::new(0.0, 1.0, (n - 1) as f64)
                .map(|t| t.inverse_cdf(0.975))
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// Reduces `sets[i][k]` over `i` for every named row `k`, in order. Every replication must
/// report the same rows in the same order (the world produces them that way).
fn reduce_rows(sets: &[&[(String, Vec<f64>)]]) -> Vec<SeriesStat> {
    let Some(first) = sets.first() else {
        return Vec::new();
    };
    let t95 = t95_table(sets.len());
    first
        .iter()
        .enumerate()
        .map(|(k, (name, values))| {
            let (mean, ci95_half_width) = (0..values.len())
                .map(|b| {
                    reduce(
                        sets.iter().map(|rows| {
                            let (n, v) = &rows[k];
                            assert_eq!(n, name, "replications report different series");
                            v.get(b).copied().unwrap_or(f64::NAN)
                        }),
                        &t95,
                    )
                })
                .unzip();
            let peak = keeps_peak(name).then(|| {
                (0..values.len())
                    .map(|b| {
                        sets.iter()
                            .filter_map(|rows| rows[k].1.get(b).copied())
                            .filter(|v| v.is_finite())
                            .fold(f64::NAN, f64::max)
                    })
                    .collect()
            });
            SeriesStat {
                name: name.clone(),
                mean,
                ci95_half_width,
                peak,
            }
        })
        .collect()
}

/// Reduces per-replication series in replication order; `None` with no replications.
pub fn summarize_series(sets: &[SeriesSet]) -> Option<SeriesSummary> {
    let grid = sets.first()?.grid;
    let rows: Vec<&[(String, Vec<f64>)]> = sets.iter().map(|s| s.series.as_slice()).collect();
    Some(SeriesSummary {
        grid,
        series: reduce_rows(&rows),
    })
}

/// Reduces per-replication latency distributions in replication order.
pub fn summarize_cdf(sets: &[CdfSet]) -> CdfSummary {
    let rows: Vec<&[(String, Vec<f64>)]> =
        sets.iter().map(|s| s.distributions.as_slice()).collect();
    CdfSummary {
        levels: cdf_levels(),
        distributions: reduce_rows(&rows),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kv_utilisation_keeps_the_highest_replication_per_bucket() {
        let grid = BucketGrid::for_window(0, 100 * S);
        let set = |kv: Vec<f64>, q: Vec<f64>| SeriesSet {
            grid,
            series: vec![
                ("pool.p.kv_utilisation".to_string(), kv),
                ("queue_length_mean".to_string(), q),
            ],
        };
        let s = summarize_series(&[
            set(vec![0.2, 1.0, f64::NAN], vec![1.0, 2.0, 3.0]),
            set(vec![0.6, 0.0, f64::NAN], vec![3.0, 2.0, 1.0]),
        ])
        .unwrap();
        let peak = s.series[0].peak.as_ref().unwrap();
        assert_eq!(&peak[..2], &[0.6, 1.0]);
        assert!(peak[2].is_nan(), "no replication had a value");
        assert_eq!(s.series[0].mean[1], 0.5);
        // Other series do not carry one.
        assert_eq!(s.series[1].peak, None);
    }

    #[test]
    fn widths_are_nice_and_bounded() {
        let g = BucketGrid::for_window(0, 100 * S);
        assert_eq!((g.width, g.len()), (200 * MS, 500));
        let g = BucketGrid::for_window(5 * MIN, 2 * H + 5 * MIN);
        assert_eq!((g.width, g.len()), (15 * S, 480));
        let g = BucketGrid::for_window(0, 1000 * H);
        assert_eq!(g.width, 2 * H);
        assert!(g.len() <= MAX_BUCKETS);
        // Far beyond the table: whole weeks, still bounded.
        let g = BucketGrid::for_window(0, 100 * 365 * DAY);
        assert_eq!(g.width % (7 * DAY), 0);
        assert!(g.len() <= MAX_BUCKETS, "{}", g.len());
        assert!(BucketGrid::for_window(7, 7).is_empty());
    }

    #[test]
    fn counts_ignore_the_warmup_and_keep_the_horizon() {
        let grid = BucketGrid {
            start: 10 * S,
            end: 25 * S,
            width: 10 * S,
        };
        assert_eq!(grid.len(), 2);
        let mut c = CountSeries::new(grid);
        c.add(5 * S, 1); // warm-up: not counted
        c.add(10 * S, 1);
        c.add(19 * S, 2);
        c.add(20 * S, 1);
        c.add(25 * S, 4); // the horizon itself falls in the last bucket
        assert_eq!(c.counts(), &[3, 5]);
        // The last bucket is 5 s long.
        assert_eq!(c.rates_per_second(), vec![0.3, 1.0]);
    }

    #[test]
    fn counts_land_in_their_bucket_in_any_order() {
        let grid = BucketGrid {
            start: 10 * S,
            end: 35 * S,
            width: 10 * S,
        };
        let mut c = CountSeries::new(grid);
        for (t, n) in [
            (40, 1),
            (12, 2),
            (29, 4),
            (20, 8),
            (5, 16),
            (35, 32),
            (19, 64),
        ] {
            c.add(t * S, n);
        }
        assert_eq!(c.counts(), &[2 + 64, 4 + 8, 1 + 32]);
    }

    #[test]
    fn levels_are_time_weighted_within_each_bucket() {
        let grid = BucketGrid {
            start: 10,
            end: 40,
            width: 10,
        };
        let mut l = LevelSeries::new(grid);
        l.add(0, 2); // level 2 from 0; only [10, 15) counts in bucket 0
        l.add(15, -1); // level 1 over [15, 35)
        l.add(35, 2); // level 3 over [35, 40]
        let m = l.means();
        assert_eq!(
            m,
            vec![(2.0 * 5.0 + 5.0) / 10.0, 1.0, (5.0 + 3.0 * 5.0) / 10.0]
        );
    }

    #[test]
    fn levels_match_a_nanosecond_by_nanosecond_integral() {
        // A partial last bucket ([40, 47]), changes inside a bucket, on its edges, twice at one
        // instant, before the window and past its end: each bucket's mean must be the level
        // summed one nanosecond at a time over the bucket, divided by its length.
        let grid = BucketGrid {
            start: 10,
            end: 47,
            width: 10,
        };
        let changes: [(Time, i64); 12] = [
            (3, 1),
            (12, 2),
            (14, -1),
            (14, 3),
            (20, -2),
            (21, 4),
            (29, -1),
            (30, 1),
            (38, -5),
            (44, 2),
            (47, 1),
            (60, -1),
        ];
        let mut l = LevelSeries::new(grid);
        for &(t, d) in &changes {
            l.add(t, d);
        }
        let level_at =
            |ns: Time| -> i64 { changes.iter().filter(|c| c.0 <= ns).map(|c| c.1).sum() };
        let expected: Vec<f64> = (0..grid.len())
            .map(|i| {
                let from = grid.bucket_start(i);
                let to = (from + grid.width).min(grid.end);
                let area: i64 = (from..to).map(level_at).sum();
                area as f64 / (to - from) as f64
            })
            .collect();
        assert_eq!(l.means(), expected);
    }

    #[test]
    fn a_time_falls_in_the_bucket_that_holds_it() {
        let grid = BucketGrid {
            start: 10,
            end: 47,
            width: 10,
        };
        let got: Vec<Option<usize>> = [0, 9, 10, 19, 20, 39, 40, 46, 47, 1_000]
            .iter()
            .map(|&t| grid.index(t))
            .collect();
        let last = Some(3);
        assert_eq!(
            got,
            vec![
                None,
                None,
                Some(0),
                Some(0),
                Some(1),
                Some(2),
                Some(3),
                last,
                last,
                last
            ]
        );
        let empty = BucketGrid {
            start: 10,
            end: 10,
            width: 10,
        };
        assert_eq!(empty.index(10), None);
    }

    #[test]
    fn bucket_quantiles_are_within_a_sixteenth() {
        let grid = BucketGrid {
            start: 10 * S,
            end: 30 * S,
            width: 10 * S,
        };
        let mut q = QuantileSeries::new(grid);
        q.record(5 * S, 1_000 * S); // warm-up: not counted
        // Bucket 0: 1, 2, ..., 100 ms, recorded out of order; its p99 is the 99th, 99 ms, and
        // its median the 50th, 50 ms.
        for ms in (1..=100u64).rev() {
            q.record(12 * S, ms * MS);
        }
        // Bucket 1: one value of 3 s, past the horizon's instant (the last bucket keeps it).
        q.record(30 * S, 3 * S);
        let p99 = q.quantiles_secs(990_000);
        let p50 = q.quantiles_secs(500_000);
        assert_eq!(p99.len(), 2);
        // 99 ms = 755.3 units of 131.072 µs: octave [512, 1024) in bins 64 units wide, the bin
        // [704, 768), midpoint 736 units = 96.47 ms.
        assert!((p99[0] - 736.0 * 131_072e-9).abs() < 1e-12, "{}", p99[0]);
        assert!((p99[0] - 0.099).abs() <= 0.099 / 16.0);
        // 50 ms = 381.5 units: bin [352, 384) (32 wide), midpoint 368 units = 48.23 ms.
        assert!((p50[0] - 368.0 * 131_072e-9).abs() < 1e-12, "{}", p50[0]);
        // One value: every quantile is its bin, 3 s = 22888.2 units in [22528, 24576).
        assert!((p99[1] - 23_552.0 * 131_072e-9).abs() < 1e-12, "{}", p99[1]);
        assert_eq!(p50[1], p99[1]);
        // The extremes: the largest value of a bucket and its smallest.
        assert!((q.quantiles_secs(1_000_000)[0] - 0.1).abs() <= 0.1 / 16.0);
        assert!((q.quantiles_secs(0)[0] - 0.001).abs() <= 66e-6);
        // An empty bucket has no quantile.
        let empty = QuantileSeries::new(grid).quantiles_secs(990_000);
        assert!(empty.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn tail_bins_cover_the_range_in_order() {
        // Every bin's midpoint falls in that bin, and bins rise with the value, from 0 to the
        // last bin (values past 2^49 ns share it).
        for i in 0..TAIL_BINS {
            assert_eq!(QuantileSeries::bin(QuantileSeries::bin_mid(i) as Time), i);
        }
        assert_eq!(QuantileSeries::bin(0), 0);
        assert_eq!(QuantileSeries::bin((1 << 49) - 1), TAIL_BINS - 1);
        assert_eq!(QuantileSeries::bin(Time::MAX), TAIL_BINS - 1);
        let mut last = 0;
        for v in (0..60)
            .map(|k| 1u64 << k)
            .chain((0..1000).map(|k| k * 7_919_777))
        {
            let b = QuantileSeries::bin(v);
            if v < (1 << 49) {
                // The midpoint is within a sixteenth of the value (or 66 µs below 1 ms).
                let mid = QuantileSeries::bin_mid(b);
                assert!(
                    (mid - v as f64).abs() <= (v as f64 / 16.0).max(65_536.0),
                    "{v}"
                );
            }
            if v.is_power_of_two() {
                assert!(b >= last);
                last = b;
            }
        }
        let grid = BucketGrid::for_window(0, 100 * S);
        assert_eq!(QuantileSeries::bytes_for(grid), 500 * 240 * 4);
    }

    #[test]
    fn reduction_is_mean_and_t_half_width() {
        let grid = BucketGrid::for_window(0, 2 * S);
        let set = |a: f64, b: f64| SeriesSet {
            grid,
            series: vec![("x".into(), vec![a, b])],
        };
        let s = summarize_series(&[set(1.0, f64::NAN), set(3.0, 4.0)]).unwrap();
        assert_eq!(s.series[0].mean, vec![2.0, 4.0]);
        // n = 2, s = sqrt(2): half-width t(0.975, 1) · 1 = 12.7062.
        assert!((s.series[0].ci95_half_width[0] - 12.706_2).abs() < 1e-3);
        assert!(s.series[0].ci95_half_width[1].is_nan());
        assert!(summarize_series(&[]).is_none());
    }

    #[test]
    fn cdf_levels_are_ascending_and_exact() {
        let levels = cdf_levels();
        assert!(levels.windows(2).all(|w| w[0] < w[1]));
        assert_eq!((levels[0], *levels.last().unwrap()), (0.001, 0.999));
        let mut h = LatencyHistogram::new();
        for ms in 1..=1000u64 {
            h.record(ms * MS);
        }
        let mut set = CdfSet::default();
        set.push("all", &h);
        let at = |q: f64| set.distributions[0].1[levels.iter().position(|&l| l == q).unwrap()];
        assert!((at(0.5) - 0.5).abs() < 1e-3);
        assert!((at(0.99) - 0.99).abs() < 2e-3);
    }
}
