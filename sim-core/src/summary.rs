//! Metrics across replications: each replication reports one value per metric, and the summary
//! is the mean with Student-t confidence intervals. Percentiles are computed per replication and
//! then summarised across replications, which is the statistically sound way to put an interval
//! on a percentile from independent runs.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// The values one replication produced, in a fixed order, with units in the names
/// (`time_in_system_mean_s`, `throughput_per_s`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricSet {
    entries: Vec<(String, f64)>,
}

impl MetricSet {
    /// An empty set.
    pub fn new() -> MetricSet {
        MetricSet::default()
    }

    /// Appends `name = value`. The order of pushes is the order of the report, so every replication
    /// must push the same names in the same order.
    pub fn push(&mut self, name: impl Into<String>, value: f64) {
        self.entries.push((name.into(), value));
    }

    /// The value of the first entry called `name` (a linear search: for tests and reports, not the hot
    /// path).
    pub fn get(&self, name: &str) -> Option<f64> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| *v)
    }

    /// Every name and value, in the order pushed.
    pub fn entries(&self) -> &[(String, f64)] {
        &self.entries
    }
}

/// A confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The lower bound.
    pub low: f64,
    /// The upper bound, never below `low`.
    pub high: f64,
}

impl Interval {
    /// Whether `x` lies in the closed interval `[low, high]`.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    /// Half the interval's width: the "±" of a symmetric interval.
    pub fn half_width(&self) -> f64 {
        0.5 * (self.high - self.low)
    }

    /// The smallest interval holding both.
    pub fn hull(self, other: Interval) -> Interval {
        Interval {
            low: self.low.min(other.low),
            high: self.high.max(other.high),
        }
    }
}

/// One metric summarised across replications.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSummary {
    /// The metric's name, with its unit (`_s`, `_per_s`, `_ratio` ...).
    pub name: String,
    /// Mean over the replications that produced a finite value (NaN if none did).
    pub mean: f64,
    /// The 95% Student-t interval for the mean, clipped to the metric's [`Domain`] and, for a
    /// proportion over counts whose interval would pass a bound or have no width, widened to hold the
    /// Wilson interval of the pooled counts. `None` with fewer than two finite values.
    pub ci95: Option<Interval>,
    /// The 99% interval, built the same way as `ci95`.
    pub ci99: Option<Interval>,
    /// The value each replication reported, in replication order (NaN where it had none).
    pub per_replication: Vec<f64>,
}

/// The Student-t interval for the mean of `values` at `level` (e.g. 0.95), or `None` with fewer
/// than two finite values.
pub fn t_interval(values: &[f64], level: f64) -> Option<Interval> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len();
    if n < 2 {
        return None;
    }
    let mean = finite.iter().sum::<f64>() / n as f64;
    let var = finite.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    let t = StudentsT::new(0.0, 1.0, (n - 1) as f64)
        .ok()?
        .inverse_cdf(0.5 + level / 2.0);
    let half = t * (var / n as f64).sqrt();
    Some(Interval {
        low: mean - half,
        high: mean + half,
    })
}

/// The range of values a metric can physically take, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A probability, share or ratio of counts: `[0, 1]`.
    Unit,
    /// A count, duration, rate, cost or level: `[0, ∞)`.
    NonNegative,
    /// Anything (a remaining error budget goes negative once overspent).
    Real,
}

impl Domain {
    /// The domain of the metric called `name`, by the naming rules of the report: shares,
    /// ratios, probabilities, SLIs and 0/1 verdicts are unit-interval; remainders are real;
    /// everything else (counts, `_s`, `_per_s`, `_usd`, means of levels) is non-negative.
    pub fn of(name: &str) -> Domain {
        let last = name.rsplit('.').next().unwrap_or(name);
        const UNIT_SUFFIXES: [&str; 5] = [
            "_ratio",
            "_probability",
            "_share",
            "_fraction",
            "_within_sla",
        ];
        const UNIT_NAMES: [&str; 10] = [
            "sli",
            "correctness",
            "utilisation",
            "kv_utilisation_mean",
            "alert_precision",
            "alert_recall",
            "met",
            "aborted",
            "steady_before",
            "steady_after",
        ];
        if last.ends_with("_remaining") {
            Domain::Real
        } else if UNIT_SUFFIXES.iter().any(|s| last.ends_with(s))
            || UNIT_NAMES.contains(&last)
            || name.contains(".sli_before.")
            || name.contains(".sli_after.")
        {
            Domain::Unit
        } else {
            Domain::NonNegative
        }
    }

    /// `interval` with its bounds clipped to this domain: a Student-t interval from few
    /// replications, or from replications that nearly agree at a bound, can otherwise reach
    /// past it (`success_ratio` above 1, a negative count).
    pub fn clip(self, interval: Interval) -> Interval {
        let (low, high) = match self {
            Domain::Unit => (0.0, 1.0),
            Domain::NonNegative => (0.0, f64::INFINITY),
            Domain::Real => (f64::NEG_INFINITY, f64::INFINITY),
        };
        Interval {
            low: interval.low.clamp(low, high),
            high: interval.high.clamp(low, high),
        }
    }
}

/// Proportions over counts, and the metric that counts their trials: `success_ratio` is
/// successes over `completions`, `block_probability` blocked arrivals over `arrivals`
/// (and a `PREFIX.success_ratio` over a `PREFIX.completions` beside it, where one exists).
const COUNT_BASES: [(&str, &str); 2] = [
    ("success_ratio", "completions"),
    ("block_probability", "arrivals"),
];

/// The index in `set` of the trial count behind the proportion `name`, if it has one there.
fn count_base(name: &str, set: &MetricSet) -> Option<usize> {
    let (prefix, last) = match name.rsplit_once('.') {
        Some((p, l)) => (format!("{p}."), l),
        None => (String::new(), name),
    };
    let base = COUNT_BASES.iter().find(|(r, _)| *r == last)?.1;
    let wanted = format!("{prefix}{base}");
    set.entries.iter().position(|(n, _)| *n == wanted)
}

/// The pooled proportion and trial count of metric `i` over the replications, with trials
/// from metric `j`.
fn pooled_counts(replications: &[MetricSet], i: usize, j: usize) -> (f64, f64) {
    let (mut hits, mut trials) = (0.0, 0.0);
    for set in replications {
        let (p, n) = (set.entries[i].1, set.entries[j].1);
        if p.is_finite() && n.is_finite() && n > 0.0 {
            hits += p * n;
            trials += n;
        }
    }
    if trials > 0.0 {
        ((hits / trials).clamp(0.0, 1.0), trials)
    } else {
        (f64::NAN, 0.0)
    }
}

/// The Wilson score interval at `level` for a proportion `p` observed over `n` trials: inside
/// `[0, 1]`, and never of zero width while `n` is finite (a run in which every call succeeded
/// still leaves room below 1).
pub fn wilson(p: f64, n: f64, level: f64) -> Interval {
    let z = Normal::new(0.0, 1.0)
        .map(|d| d.inverse_cdf(0.5 + level / 2.0))
        .unwrap_or(1.96);
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

fn finite_mean(values: &[f64]) -> f64 {
    let (sum, n) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// Summarises replications in order. Every set must have the same metric names in the same
/// order (the world produces them that way); a mismatch is a programming error.
pub fn summarize(replications: &[MetricSet]) -> Vec<MetricSummary> {
    let Some(first) = replications.first() else {
        return Vec::new();
    };
    first
        .entries
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let per_replication: Vec<f64> = replications
                .iter()
                .map(|set| {
                    let (n, v) = &set.entries[i];
                    assert_eq!(n, name, "replications report different metrics");
                    *v
                })
                .collect();
            let domain = Domain::of(name);
            let pooled = count_base(name, first).map(|j| pooled_counts(replications, i, j));
            // Student-t across replications; where it reaches past the range of a proportion
            // over counts, or has no width at all (every replication agrees, say on 1.0), the
            // Wilson interval of the pooled counts widens it: clipping alone would claim
            // certainty that a finite number of calls cannot give.
            let interval = |level: f64| {
                let raw = t_interval(&per_replication, level)?;
                let t = domain.clip(raw);
                let degenerate = raw.low < 0.0 || raw.high > 1.0 || raw.high <= raw.low;
                Some(match pooled {
                    Some((p, n)) if n > 0.0 && degenerate => t.hull(wilson(p, n, level)),
                    _ => t,
                })
            };
            MetricSummary {
                name: name.clone(),
                mean: finite_mean(&per_replication),
                ci95: interval(0.95),
                ci99: interval(0.99),
                per_replication,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_stay_in_the_metric_range() {
        let set = |values: &[(&str, f64)]| {
            let mut m = MetricSet::new();
            for (n, v) in values {
                m.push(*n, *v);
            }
            m
        };
        let reps = [
            set(&[
                ("success_ratio", 1.0),
                ("blocked", 0.0),
                ("slo.a.budget_remaining", -3.0),
            ]),
            set(&[
                ("success_ratio", 0.99999),
                ("blocked", 0.0),
                ("slo.a.budget_remaining", -1.0),
            ]),
            set(&[
                ("success_ratio", 1.0),
                ("blocked", 2.0),
                ("slo.a.budget_remaining", 0.5),
            ]),
        ];
        let s = summarize(&reps);
        let ci = |i: usize| s[i].ci95.unwrap();
        assert_eq!(ci(0).high, 1.0, "a ratio's interval stops at 1");
        assert!(ci(0).low < 1.0);
        assert_eq!(ci(1).low, 0.0, "a count's interval stops at 0");
        assert!(ci(1).high > 2.0);
        assert!(ci(2).low < -3.0, "a remaining budget may go negative");
        assert_eq!(Domain::of("pool.p.kv_utilisation_mean"), Domain::Unit);
        assert_eq!(Domain::of("chaos.x.sli_after.latency"), Domain::Unit);
        assert_eq!(Domain::of("backend.api.breaker_open_share"), Domain::Unit);
        assert_eq!(Domain::of("latency_p99_s"), Domain::NonNegative);
    }

    #[test]
    fn wilson_matches_a_worked_value_and_widens_a_certain_looking_ratio() {
        // p = 0.5, n = 100, 95%: 0.4038315 to 0.5961685; p = 1, n = 10: 0.7224672 to 1
        // (Wilson 1927, the score interval; standard tables give the first to four places).
        let w = wilson(0.5, 100.0, 0.95);
        assert!((w.low - 0.403_831_5).abs() < 1e-6, "{w:?}");
        assert!((w.high - 0.596_168_5).abs() < 1e-6, "{w:?}");
        let w = wilson(1.0, 10.0, 0.95);
        assert!((w.low - 0.722_467_2).abs() < 1e-6 && w.high == 1.0, "{w:?}");
        // Every one of 3 × 1,000 calls succeeded: the t interval is [1, 1]; the reported one
        // still admits a failure rate of about 1 in 800 (rule of three: 3/3000 at 95%).
        let set = |ratio: f64| {
            let mut m = MetricSet::new();
            m.push("completions", 1000.0);
            m.push("success_ratio", ratio);
            m
        };
        let s = summarize(&[set(1.0), set(1.0), set(1.0)]);
        let ci = s[1].ci95.unwrap();
        assert_eq!(ci.high, 1.0);
        assert!(ci.low < 0.9995 && ci.low > 0.998, "{ci:?}");
        // Unequal counts are pooled by weight: 10 + 10 + 995 successes of 1,020 calls is
        // 0.995098 (not the mean of the ratios, 0.998333); its Wilson interval is wider than
        // the clipped t interval, which reached past 1.
        let pair = |ratio: f64, n: f64| {
            let mut m = MetricSet::new();
            m.push("success_ratio", ratio);
            m.push("completions", n);
            m
        };
        let s = summarize(&[pair(1.0, 10.0), pair(1.0, 10.0), pair(0.995, 1000.0)]);
        let ci = s[0].ci95.unwrap();
        let expected = wilson(1015.0 / 1020.0, 1020.0, 0.95);
        assert!(
            (ci.low - expected.low).abs() < 1e-12,
            "{ci:?} vs {expected:?}"
        );
        assert!((ci.low - 0.988_576_4).abs() < 1e-6, "{ci:?}");
        assert_eq!(ci.high, 1.0);
        // Where the t interval is a proper one inside [0, 1], it stays.
        let s = summarize(&[set(0.9), set(0.99), set(0.95)]);
        let t = t_interval(&[0.9, 0.99, 0.95], 0.95).unwrap();
        assert_eq!(s[1].ci95.unwrap().low, t.low);
    }

    #[test]
    fn t_interval_matches_tables() {
        // n = 5, mean 3, s = sqrt(2.5); t(0.975, 4) = 2.776445.
        let ci = t_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.95).unwrap();
        let half = 2.776_445 * (2.5f64 / 5.0).sqrt();
        assert!((ci.low - (3.0 - half)).abs() < 1e-5);
        assert!((ci.high - (3.0 + half)).abs() < 1e-5);
        // t(0.995, 4) = 4.604095.
        let ci99 = t_interval(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.99).unwrap();
        assert!((ci99.half_width() - 4.604_095 * (0.5f64).sqrt()).abs() < 1e-5);
        assert!(t_interval(&[1.0], 0.95).is_none());
    }

    #[test]
    fn summary_keeps_order_and_skips_nan_in_mean() {
        let mut a = MetricSet::new();
        a.push("x", 1.0);
        a.push("y", f64::NAN);
        let mut b = MetricSet::new();
        b.push("x", 3.0);
        b.push("y", 4.0);
        let s = summarize(&[a, b]);
        assert_eq!(s[0].name, "x");
        assert_eq!(s[0].mean, 2.0);
        assert_eq!(s[1].mean, 4.0);
        assert!(s[1].ci95.is_none());
    }
}
