//! Paired comparison of two variants run on common random numbers.
//!
//! Replication i of every variant uses the same seed and the same workload streams, so the
//! per-replication differences cancel the noise the variants share. The interval is the
//! Student-t interval of those differences. The variance reduction compares the variance of the
//! difference with what independent seeds would have given, `Var(A) + Var(B)`, estimated from the
//! same replications (Law & Kelton, *Simulation Modeling and Analysis*, §11.2): a value of 10
//! means independent runs would need ten times as many replications for the same precision.

use crate::number::snap_zero;
use sim_core::names::{Better, better};
use sim_core::summary::{Interval, MetricSummary, t_interval};

/// What a difference means for the metric, by its direction ([`sim_core::names::better`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// The variant is better, and the 95% interval of the difference excludes 0.
    Better,
    /// The variant is worse, and the interval excludes 0.
    Worse,
    /// The interval includes 0: no difference the replications can tell.
    NotSignificant,
    /// No difference at all.
    Same,
    /// The metric has no better direction (a load, a count), or no difference was computed.
    Undirected,
}

impl Judgement {
    /// The word the tables show (empty for [`Judgement::Undirected`]).
    pub fn word(self) -> &'static str {
        match self {
            Judgement::Better => "better",
            Judgement::Worse => "worse",
            Judgement::NotSignificant => "n.s.",
            Judgement::Same => "same",
            Judgement::Undirected => "",
        }
    }
}

/// Judges a difference of `metric` with its interval.
pub fn judge(metric: &str, difference: f64, ci95: Option<Interval>) -> Judgement {
    if !difference.is_finite() {
        return Judgement::Undirected;
    }
    if difference == 0.0 && ci95.is_none_or(|c| c.low == 0.0 && c.high == 0.0) {
        return Judgement::Same;
    }
    let direction = better(metric);
    if direction == Better::Neither {
        return Judgement::Undirected;
    }
    if ci95.is_some_and(|c| c.low <= 0.0 && c.high >= 0.0) {
        return Judgement::NotSignificant;
    }
    match (direction, difference > 0.0) {
        (Better::Higher, true) | (Better::Lower, false) => Judgement::Better,
        _ => Judgement::Worse,
    }
}

/// One metric compared between a baseline and a variant.
#[derive(Debug, Clone, PartialEq)]
pub struct PairedDifference {
    pub name: String,
    pub baseline_mean: f64,
    pub variant_mean: f64,
    /// Mean of variant − baseline over the replications where both are finite.
    pub difference: f64,
    pub ci95: Option<Interval>,
    /// `(Var A + Var B) / Var(B − A)`; `None` when it is undefined (fewer than two pairs, or no
    /// variance at all).
    pub variance_reduction: Option<f64>,
    /// The difference as a percentage of the baseline mean's magnitude; `None` when the
    /// baseline is 0 or not finite.
    pub change_percent: Option<f64>,
    /// Better, worse or neither, by the metric's direction and the interval.
    pub judgement: Judgement,
}

fn variance(xs: &[f64]) -> Option<f64> {
    let n = xs.len();
    if n < 2 {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    Some(xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64)
}

/// Compares every metric the two runs share, in the baseline's order. Metrics only one side has
/// are left out: the caller lists them.
pub fn paired_differences(
    baseline: &[MetricSummary],
    variant: &[MetricSummary],
) -> Vec<PairedDifference> {
    baseline
        .iter()
        .filter_map(|a| {
            let b = variant.iter().find(|b| b.name == a.name)?;
            let pairs: Vec<(f64, f64)> = a
                .per_replication
                .iter()
                .zip(&b.per_replication)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|(x, y)| (*x, *y))
                .collect();
            let diffs: Vec<f64> = pairs.iter().map(|(x, y)| y - x).collect();
            let difference = if diffs.is_empty() {
                f64::NAN
            } else {
                diffs.iter().sum::<f64>() / diffs.len() as f64
            };
            let xs: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
            let variance_reduction = match (variance(&xs), variance(&ys), variance(&diffs)) {
                (Some(va), Some(vb), Some(vd)) if vd > 0.0 => Some((va + vb) / vd),
                _ => None,
            };
            // Differences within a few ulps of the operands are rounding: shown as 0.
            let scale = a.mean.abs().max(b.mean.abs());
            let scale = if scale.is_finite() { scale } else { 0.0 };
            let difference = snap_zero(difference, scale);
            let ci95 = t_interval(&diffs, 0.95).map(|c| Interval {
                low: snap_zero(c.low, scale),
                high: snap_zero(c.high, scale),
            });
            let change_percent = (a.mean.is_finite() && a.mean != 0.0 && difference.is_finite())
                .then(|| 100.0 * difference / a.mean.abs());
            Some(PairedDifference {
                name: a.name.clone(),
                baseline_mean: a.mean,
                variant_mean: b.mean,
                difference,
                judgement: judge(&a.name, difference, ci95),
                ci95,
                variance_reduction,
                change_percent,
            })
        })
        .collect()
}

/// The Welch interval for the difference of means of two independent samples: what a comparison
/// without common random numbers can claim.
pub fn independent_interval(a: &[f64], b: &[f64]) -> Option<Interval> {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let a: Vec<f64> = a.iter().copied().filter(|v| v.is_finite()).collect();
    let b: Vec<f64> = b.iter().copied().filter(|v| v.is_finite()).collect();
    let (va, vb) = (variance(&a)?, variance(&b)?);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let se2 = va / na + vb / nb;
    let mean = b.iter().sum::<f64>() / nb - a.iter().sum::<f64>() / na;
    if se2 == 0.0 {
        return Some(Interval {
            low: mean,
            high: mean,
        });
    }
    let df = se2 * se2 / ((va / na).powi(2) / (na - 1.0) + (vb / nb).powi(2) / (nb - 1.0));
    let t = StudentsT::new(0.0, 1.0, df).ok()?.inverse_cdf(0.975);
    let half = t * se2.sqrt();
    Some(Interval {
        low: mean - half,
        high: mean + half,
    })
}

/// The terminal table of one comparison, at most 100 columns wide: each shared metric's means,
/// the change in percent of the baseline, the 95% interval of the difference, the variance
/// reduction and whether the variant is better or worse by the metric's direction.
pub fn render_comparison(diffs: &[PairedDifference]) -> String {
    use crate::number::format_number;
    use std::fmt::Write;
    const NAME: usize = 25;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<NAME$} {:>11} {:>11} {:>8}  {:<25} {:>6} verdict",
        "metric", "baseline", "variant", "change", "95% CI of difference", "VR"
    );
    let _ = writeln!(out, "{}", "─".repeat(100));
    for d in diffs {
        let name = if d.name.chars().count() > NAME {
            let cut: String = d.name.chars().take(NAME - 1).collect();
            format!("{cut}…")
        } else {
            d.name.clone()
        };
        let ci = match d.ci95 {
            Some(c) => format!("[{}, {}]", format_number(c.low), format_number(c.high)),
            None => "—".to_string(),
        };
        let vr = d
            .variance_reduction
            .map_or("—".to_string(), |v| format!("{}×", short(v)));
        let line = format!(
            "{name:<NAME$} {:>11} {:>11} {:>8}  {ci:<25} {vr:>6} {}",
            format_number(d.baseline_mean),
            format_number(d.variant_mean),
            d.change_percent.map_or("—".to_string(), percent),
            d.judgement.word()
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// A signed percentage in at most eight characters: `+12.3%`, `-0.42%`, `0%`.
pub fn percent(p: f64) -> String {
    let a = p.abs();
    if p == 0.0 {
        "0%".to_string()
    } else if a >= 99_999.5 {
        if p > 0.0 { ">+1e5%" } else { "<-1e5%" }.to_string()
    } else if a >= 99.95 {
        format!("{p:+.0}%")
    } else if a >= 9.995 {
        format!("{p:+.1}%")
    } else {
        format!("{p:+.2}%")
    }
}

/// A ratio in at most five characters.
fn short(v: f64) -> String {
    if v >= 9999.5 {
        ">9999".to_string()
    } else if v >= 99.95 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::summary::{MetricSet, summarize};

    fn summaries(values: &[(&str, &[f64])]) -> Vec<MetricSummary> {
        let reps = values[0].1.len();
        let sets: Vec<MetricSet> = (0..reps)
            .map(|i| {
                let mut s = MetricSet::new();
                for (n, v) in values {
                    s.push(*n, v[i]);
                }
                s
            })
            .collect();
        summarize(&sets)
    }

    #[test]
    fn shared_noise_cancels_in_the_paired_difference() {
        // The variant is the baseline plus 1 plus a little noise of its own.
        let base = [10.0, 14.0, 9.0, 20.0, 12.0, 17.0];
        let var: Vec<f64> = base
            .iter()
            .zip([0.1, -0.1, 0.05, 0.0, -0.05, 0.1])
            .map(|(b, e)| b + 1.0 + e)
            .collect();
        let a = summaries(&[("w", &base), ("only_a", &base)]);
        let b = summaries(&[("w", &var)]);
        let d = paired_differences(&a, &b);
        assert_eq!(d.len(), 1, "metrics only one side has are left out");
        let d = &d[0];
        assert!((d.difference - 1.0167).abs() < 1e-3);
        let ci = d.ci95.unwrap();
        assert!(ci.contains(1.0) && ci.half_width() < 0.1, "{ci:?}");
        assert!(d.variance_reduction.unwrap() > 1000.0);
        let wide = independent_interval(&base, &var).unwrap();
        assert!(wide.half_width() > 20.0 * ci.half_width());
    }

    #[test]
    fn comparison_table_fits_100_columns() {
        let d = PairedDifference {
            name: "tenant.a-rather-long-tenant-name.time_in_system_p99_s".to_string(),
            baseline_mean: 123456.789,
            variant_mean: -0.000123456,
            difference: -123456.789123,
            ci95: Some(Interval {
                low: -123999.12345,
                high: -122999.98765,
            }),
            variance_reduction: Some(123456.0),
            change_percent: Some(-100.0),
            judgement: Judgement::Better,
        };
        let table = render_comparison(&[d]);
        for line in table.lines() {
            assert!(line.chars().count() <= 100, "{line:?} is too wide");
        }
        assert!(table.contains(">9999×"), "{table}");
        assert!(
            table
                .lines()
                .nth(2)
                .unwrap()
                .starts_with("tenant.a-rather-long-ten…")
        );
    }

    #[test]
    fn no_variance_means_no_reduction_figure() {
        let a = summaries(&[("x", &[1.0, 1.0, 1.0])]);
        let b = summaries(&[("x", &[2.0, 2.0, 2.0])]);
        let d = &paired_differences(&a, &b)[0];
        assert_eq!(d.difference, 1.0);
        assert_eq!(d.variance_reduction, None);
    }

    #[test]
    fn changes_are_judged_by_the_metric_direction_not_the_sign() {
        let a = summaries(&[
            ("latency_p99_s", &[2.0, 2.2, 1.9]),
            ("success_ratio", &[0.90, 0.92, 0.91]),
            ("arrivals", &[100.0, 101.0, 99.0]),
            ("cost_usd", &[5.0, 5.1, 4.9]),
        ]);
        let b = summaries(&[
            ("latency_p99_s", &[1.0, 1.2, 0.9]),
            ("success_ratio", &[0.80, 0.82, 0.81]),
            ("arrivals", &[200.0, 201.0, 199.0]),
            ("cost_usd", &[5.2, 4.8, 5.0]),
        ]);
        let d = paired_differences(&a, &b);
        // Latency went down: better, by 50.5% of 2.033.
        assert_eq!(d[0].judgement, Judgement::Better);
        assert!((d[0].change_percent.unwrap() + 100.0 / 2.0333333).abs() < 1e-3);
        // Success went down: worse.
        assert_eq!(d[1].judgement, Judgement::Worse);
        // Arrivals doubled: neither better nor worse.
        assert_eq!(d[2].judgement, Judgement::Undirected);
        // Cost moved within its noise: not significant.
        assert_eq!(d[3].judgement, Judgement::NotSignificant);
        let table = render_comparison(&d);
        let row = |m: &str| {
            table
                .lines()
                .find(|l| l.starts_with(m))
                .unwrap()
                .to_string()
        };
        assert!(row("latency_p99_s").ends_with(" better"), "{table}");
        assert!(row("latency_p99_s").contains("-49.2%"), "{table}");
        assert!(row("success_ratio").ends_with(" worse"), "{table}");
        assert!(row("arrivals").contains("+100%"), "{table}");
        assert!(row("cost_usd").ends_with(" n.s."), "{table}");
    }

    #[test]
    fn rounding_noise_is_no_difference() {
        // 0.3 against 0.1 + 0.2 in every replication: a difference of 5.6e-17, which is
        // rounding. It shows as 0 and "same", not 5.5511e-17.
        let a = summaries(&[("success_ratio", &[0.3, 0.3])]);
        let b = summaries(&[("success_ratio", &[0.1 + 0.2, 0.1 + 0.2])]);
        let d = &paired_differences(&a, &b)[0];
        assert_eq!(d.difference, 0.0);
        assert_eq!(d.judgement, Judgement::Same);
        assert_eq!(d.change_percent, Some(0.0));
        let table = render_comparison(std::slice::from_ref(d));
        assert!(!table.contains("e-1"), "{table}");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(-0.4213), "-0.42%");
        assert_eq!(percent(1e6), ">+1e5%");
    }
}
