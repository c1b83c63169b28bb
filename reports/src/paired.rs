//! Paired comparison of two variants run on common random numbers.
//!
//! Replication i of every variant uses the same seed and the same workload streams, so the
//! per-replication differences cancel the noise the variants share. The interval is the
//! Student-t interval of those differences. The variance reduction compares the variance of the
//! difference with what independent seeds would have given, `Var(A) + Var(B)`, estimated from the
//! same replications (Law & Kelton, *Simulation Modeling and Analysis*, §11.2): a value of 10
//! means independent runs would need ten times as many replications for the same precision.

use sim_core::summary::{Interval, MetricSummary, t_interval};

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
            Some(PairedDifference {
                name: a.name.clone(),
                baseline_mean: a.mean,
                variant_mean: b.mean,
                difference,
                ci95: t_interval(&diffs, 0.95),
                variance_reduction,
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

/// The terminal table of one comparison, at most 100 columns wide.
pub fn render_comparison(diffs: &[PairedDifference]) -> String {
    use crate::number::format_number;
    use std::fmt::Write;
    const NAME: usize = 31;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<NAME$} {:>11} {:>11} {:>11}  {:<24} {:>6}",
        "metric", "baseline", "variant", "difference", "95% CI of difference", "VR"
    );
    let _ = writeln!(out, "{}", "─".repeat(NAME + 12 * 3 + 2 + 24 + 7));
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
        let _ = writeln!(
            out,
            "{name:<NAME$} {:>11} {:>11} {:>11}  {ci:<24} {vr:>6}",
            format_number(d.baseline_mean),
            format_number(d.variant_mean),
            format_number(d.difference),
        );
    }
    out
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
                .starts_with("tenant.a-rather-long-tenant-na…")
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
}
