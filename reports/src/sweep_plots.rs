//! Pictures of a sweep and of a comparison: lines with confidence bands for one parameter,
//! heatmaps for two, a Pareto scatter for a trade-off, and bars of paired differences.
//!
//! Only headline metrics are drawn (a sweep has dozens of metrics; `sweep.csv` has them all),
//! and only those the scenario produces.

use crate::paired::{Judgement, PairedDifference};
use crate::plot::{BarTone, PlotError, heatmap, line_with_band, paired_bars};
use crate::sweep::{SweepPlan, SweepPoint};
use std::path::Path;

/// The metrics worth a picture, in the order they are drawn.
pub const HEADLINE: [&str; 8] = [
    "success_ratio",
    "goodput_per_s",
    "time_in_system_mean_s",
    "latency_p99_s",
    "ttft_p99_s",
    "queue_wait_mean_s",
    "cost_usd",
    "cost_per_success_usd",
];

/// The parameter values as numbers, if they all are (a shared unit suffix such as `ms` is
/// allowed and named in the axis label).
fn numeric(values: &[&str]) -> Option<(Vec<f64>, String)> {
    let split = |v: &str| {
        let end = v
            .char_indices()
            .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && c == '-')))
            .map_or(v.len(), |(i, _)| i);
        let (n, unit) = v.split_at(end);
        n.parse::<f64>().ok().map(|n| (n, unit.to_string()))
    };
    let parsed: Vec<(f64, String)> = values.iter().map(|v| split(v)).collect::<Option<_>>()?;
    let unit = parsed.first()?.1.clone();
    if parsed.iter().any(|(_, u)| *u != unit) {
        return None;
    }
    Some((parsed.into_iter().map(|(n, _)| n).collect(), unit))
}

/// Writes `DIR/plots/METRIC.{png,svg}` for every headline metric: lines with 95% bands for a
/// one-parameter sweep with numeric values, heatmaps for a two-parameter grid. Other shapes
/// (three or more parameters, zipped lists) get no pictures: there is no honest 2-D view of them.
/// Returns the stems written.
pub fn write_sweep_plots(
    dir: &Path,
    plan: &SweepPlan,
    points: &[SweepPoint],
) -> Result<Vec<String>, PlotError> {
    let plots = dir.join("plots");
    let mut written = Vec::new();
    let metrics: Vec<&str> = HEADLINE
        .iter()
        .copied()
        .filter(|m| points.iter().any(|p| p.metric(m).is_some()))
        .collect();
    match (plan.parameters.as_slice(), plan.combine.as_str()) {
        ([param], _) => {
            let values: Vec<&str> = points.iter().map(|p| p.settings[0].1.as_str()).collect();
            let Some((xs, unit)) = numeric(&values) else {
                return Ok(written);
            };
            let x_label = if unit.is_empty() {
                param.clone()
            } else {
                format!("{param} ({unit})")
            };
            for m in metrics {
                let rows: Vec<(f64, f64, f64, f64)> = points
                    .iter()
                    .zip(&xs)
                    .filter_map(|(p, &x)| {
                        let line = p.metric(m)?;
                        let mean = line.mean?;
                        Some((
                            x,
                            mean,
                            line.ci95_low.unwrap_or(mean),
                            line.ci95_high.unwrap_or(mean),
                        ))
                    })
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                line_with_band(&plots.join(m), m, &x_label, m, &rows)?;
                written.push(m.to_string());
            }
        }
        ([rows_param, cols_param], "grid") => {
            // The grid's first parameter varies slowest: it indexes rows, the second columns.
            let mut y_ticks: Vec<String> = Vec::new();
            let mut x_ticks: Vec<String> = Vec::new();
            for p in points {
                if !y_ticks.contains(&p.settings[0].1) {
                    y_ticks.push(p.settings[0].1.clone());
                }
                if !x_ticks.contains(&p.settings[1].1) {
                    x_ticks.push(p.settings[1].1.clone());
                }
            }
            for m in metrics {
                let values: Vec<Vec<Option<f64>>> = y_ticks
                    .iter()
                    .map(|y| {
                        x_ticks
                            .iter()
                            .map(|x| {
                                points
                                    .iter()
                                    .find(|p| &p.settings[0].1 == y && &p.settings[1].1 == x)
                                    .and_then(|p| p.metric(m))
                                    .and_then(|l| l.mean)
                                    .filter(|v| v.is_finite())
                            })
                            .collect()
                    })
                    .collect();
                heatmap(
                    &plots.join(m),
                    m,
                    cols_param,
                    rows_param,
                    &x_ticks,
                    &y_ticks,
                    &values,
                )?;
                written.push(m.to_string());
            }
        }
        _ => {}
    }
    Ok(written)
}

/// One bar: `(label, value, ci_low, ci_high)`.
pub type BarRow = (String, f64, f64, f64);

/// The colour a paired difference gets: its judgement by the metric's direction.
pub fn tone(d: &PairedDifference) -> BarTone {
    match d.judgement {
        Judgement::Better => BarTone::Better,
        Judgement::Worse => BarTone::Worse,
        Judgement::NotSignificant | Judgement::Same => BarTone::Unclear,
        Judgement::Undirected => BarTone::Amount,
    }
}

/// The rows and colours of a comparison chart: each headline metric's paired difference as a
/// percentage of the baseline mean, with its 95% interval (percentages, because the metrics'
/// units differ and they share one axis). Metrics with a zero or missing baseline are left out.
pub fn comparison_rows(diffs: &[PairedDifference]) -> (Vec<BarRow>, Vec<BarTone>) {
    HEADLINE
        .iter()
        .filter_map(|m| {
            let d = diffs.iter().find(|d| d.name == *m)?;
            let base = d.baseline_mean;
            if !base.is_finite() || base == 0.0 || !d.difference.is_finite() {
                return None;
            }
            let pct = |v: f64| 100.0 * v / base.abs();
            let (low, high) = d
                .ci95
                .map_or((d.difference, d.difference), |c| (c.low, c.high));
            Some((
                (m.to_string(), pct(d.difference), pct(low), pct(high)),
                tone(d),
            ))
        })
        .unzip()
}

/// Writes `DIR/plots/variant-K.{png,svg}` from [`comparison_rows`]: green where the variant is
/// better by the metric's direction, red where worse, grey where the interval includes 0.
pub fn write_comparison_plot(
    dir: &Path,
    variant: usize,
    label: &str,
    diffs: &[PairedDifference],
) -> Result<bool, PlotError> {
    let (rows, tones) = comparison_rows(diffs);
    if rows.is_empty() {
        return Ok(false);
    }
    paired_bars(
        &dir.join("plots").join(format!("variant-{variant}")),
        &format!("{label} vs baseline"),
        "change, % of the baseline mean (green better, red worse, grey not significant)",
        &rows,
        &tones,
    )?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_values_keep_a_shared_unit() {
        assert_eq!(
            numeric(&["100ms", "200ms"]),
            Some((vec![100.0, 200.0], "ms".to_string()))
        );
        assert_eq!(
            numeric(&["1", "2.5"]),
            Some((vec![1.0, 2.5], String::new()))
        );
        assert_eq!(numeric(&["1s", "200ms"]), None);
        assert_eq!(numeric(&["none", "full_jitter"]), None);
    }

    #[test]
    fn comparison_bars_are_coloured_by_direction_not_sign() {
        use sim_core::summary::{MetricSet, summarize};
        let set = |lat: f64, ok: f64| {
            let mut s = MetricSet::new();
            s.push("success_ratio", ok);
            s.push("latency_p99_s", lat);
            s
        };
        let a = summarize(&[set(2.0, 0.9), set(2.1, 0.91), set(1.9, 0.92)]);
        let b = summarize(&[set(1.0, 0.8), set(1.1, 0.81), set(0.9, 0.82)]);
        let (rows, tones) = comparison_rows(&crate::paired::paired_differences(&a, &b));
        // Both went down; only the latency drop is better.
        assert_eq!(rows[0].0, "success_ratio");
        assert!(rows[0].1 < 0.0 && rows[1].1 < 0.0);
        assert_eq!(tones, [BarTone::Worse, BarTone::Better]);
    }
}
