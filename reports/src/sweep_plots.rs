//! Pictures of a sweep and of a comparison: lines with confidence bands for one parameter,
//! heatmaps for two, a Pareto scatter for a trade-off, and bars of paired differences.
//!
//! Only headline metrics are drawn (a sweep has dozens of metrics; `sweep.csv` has them all),
//! and only those the scenario produces.

use crate::paired::{Judgement, PairedDifference};
use crate::plot::{
    BarTone, Chart, Figure, Heatmap, Line, LineKind, Marker, MarkerKind, PlotError, Scale,
    paired_bars, write_figure,
};
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

/// At most this many ticks on a sweep's parameter axis; more swept values are thinned evenly.
const MAX_TICKS: usize = 12;

/// The x ticks of a one-parameter sweep: the swept values themselves (sorted, thinned evenly to
/// at most [`MAX_TICKS`], first and last kept), so an integer parameter gets integer ticks and a
/// `log:` sweep its own decades, never 1.5 attempts.
fn parameter_ticks(xs: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = xs.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.dedup();
    if v.len() <= MAX_TICKS {
        return v;
    }
    let step = v.len().div_ceil(MAX_TICKS - 1);
    let last = *v.last().expect("more than MAX_TICKS values");
    let mut out: Vec<f64> = v.iter().copied().step_by(step).collect();
    if out.last() != Some(&last) {
        // Keep the end of the range; drop the thinned tick just before it if it would crowd.
        if out.len() >= MAX_TICKS {
            out.pop();
        }
        out.push(last);
    }
    out
}

/// The pictures of a sweep, by file stem, as descriptions ([`Figure`]s): lines with 95% bands
/// for a one-parameter sweep with numeric values (ticks at the swept values, a log axis for a
/// `log:` range, a marker at each chosen point), heatmaps with a colour bar for a two-parameter
/// grid (the chosen cells outlined). Other shapes (three or more parameters, zipped lists) get
/// no pictures: there is no honest 2-D view of them. `chosen` indexes `points`.
pub fn sweep_figures(
    plan: &SweepPlan,
    points: &[SweepPoint],
    chosen: &[usize],
) -> Vec<(String, Figure)> {
    let mut out = Vec::new();
    let metrics: Vec<&str> = HEADLINE
        .iter()
        .copied()
        .filter(|m| points.iter().any(|p| p.metric(m).is_some()))
        .collect();
    match (plan.parameters.as_slice(), plan.combine.as_str()) {
        ([param], _) => {
            let values: Vec<&str> = points.iter().map(|p| p.settings[0].1.as_str()).collect();
            let Some((xs, unit)) = numeric(&values) else {
                return out;
            };
            let log = plan.log_parameters.contains(param) && xs.iter().all(|x| *x > 0.0);
            let x_label = if unit.is_empty() {
                param.clone()
            } else {
                format!("{param} ({unit})")
            };
            for m in metrics {
                let mut rows: Vec<(f64, f64, f64, f64)> = points
                    .iter()
                    .zip(&xs)
                    .filter_map(|(p, &x)| {
                        let line = p.metric(m)?;
                        let mean = line.mean.filter(|v| v.is_finite())?;
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
                rows.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut chart = Chart::new(m, &x_label, m);
                chart.y_from_zero = false;
                chart.x_scale = if log { Scale::Log } else { Scale::Linear };
                chart.x_ticks = Some(parameter_ticks(&xs));
                chart.lines.push(Line {
                    label: m.to_string(),
                    points: rows.iter().map(|p| (p.0, p.1)).collect(),
                    band: Some(rows.iter().map(|p| (p.2, p.3)).collect()),
                    kind: LineKind::Data,
                });
                chart.markers = chosen
                    .iter()
                    .filter_map(|&i| xs.get(i))
                    .map(|&at| Marker {
                        at,
                        label: "chosen".to_string(),
                        kind: MarkerKind::Chosen,
                    })
                    .collect();
                out.push((m.to_string(), Figure::Chart(chart)));
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
            let marked: Vec<(usize, usize)> = chosen
                .iter()
                .filter_map(|&i| {
                    let p = points.get(i)?;
                    let row = y_ticks.iter().position(|y| *y == p.settings[0].1)?;
                    let col = x_ticks.iter().position(|x| *x == p.settings[1].1)?;
                    Some((row, col))
                })
                .collect();
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
                let figure = Figure::Heatmap(Heatmap {
                    title: m.to_string(),
                    x_label: cols_param.clone(),
                    y_label: rows_param.clone(),
                    x_ticks: x_ticks.clone(),
                    y_ticks: y_ticks.clone(),
                    values,
                    marked: marked.clone(),
                });
                out.push((m.to_string(), figure));
            }
        }
        _ => {}
    }
    out
}

/// Writes `DIR/plots/METRIC.{png,svg}` for every figure of [`sweep_figures`] and returns the
/// stems written.
pub fn write_sweep_plots(
    dir: &Path,
    plan: &SweepPlan,
    points: &[SweepPoint],
    chosen: &[usize],
) -> Result<Vec<String>, PlotError> {
    let plots = dir.join("plots");
    let mut written = Vec::new();
    for (stem, figure) in sweep_figures(plan, points, chosen) {
        write_figure(&figure, &plots.join(&stem))?;
        written.push(stem);
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

    use crate::sweep::MetricLine;

    /// A sweep of `path` over `grid` (one setting list per point), each point with a
    /// success ratio that grows with its index.
    fn sweep(params: &[&str], grid: Vec<Vec<&str>>) -> (SweepPlan, Vec<SweepPoint>) {
        let settings: Vec<Vec<(String, String)>> = grid
            .iter()
            .map(|vals| {
                params
                    .iter()
                    .zip(vals)
                    .map(|(p, v)| (p.to_string(), v.to_string()))
                    .collect()
            })
            .collect();
        let plan = SweepPlan::new(
            "demo",
            "grid",
            params.iter().map(|p| p.to_string()).collect(),
            Vec::new(),
            serde_json::json!({}),
            settings,
        );
        let points = plan
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| SweepPoint {
                id: p.id.clone(),
                settings: p.settings.clone(),
                results_digest: String::new(),
                metrics: vec![(
                    "success_ratio".to_string(),
                    MetricLine {
                        mean: Some(0.5 + i as f64 / 100.0),
                        ci95_low: None,
                        ci95_high: None,
                    },
                )],
            })
            .collect();
        (plan, points)
    }

    fn chart(figures: &[(String, Figure)]) -> &Chart {
        match &figures[0].1 {
            Figure::Chart(c) => c,
            other => panic!("not a chart: {other:?}"),
        }
    }

    #[test]
    fn integer_parameters_get_integer_ticks_and_the_choice_a_marker() {
        let (plan, points) = sweep(
            &["gateway.retry.max_attempts"],
            vec![vec!["1"], vec!["2"], vec!["3"], vec!["4"], vec!["5"]],
        );
        let figures = sweep_figures(&plan, &points, &[3]);
        let c = chart(&figures);
        assert_eq!(c.x_scale, Scale::Linear);
        assert_eq!(c.x_ticks.as_deref(), Some(&[1.0, 2.0, 3.0, 4.0, 5.0][..]));
        assert_eq!(c.markers.len(), 1);
        assert_eq!(
            (c.markers[0].at, c.markers[0].kind),
            (4.0, MarkerKind::Chosen)
        );
        // Many values are thinned, still to swept (so integer) values, ends kept.
        let many: Vec<f64> = (1..=50).map(f64::from).collect();
        let t = parameter_ticks(&many);
        assert!(t.len() <= MAX_TICKS, "{t:?}");
        assert!(t.iter().all(|v| v.fract() == 0.0), "{t:?}");
        assert_eq!((t[0], *t.last().unwrap()), (1.0, 50.0));
    }

    #[test]
    fn log_sweeps_are_drawn_on_a_log_axis() {
        // What `log:1..1000:4` expands to.
        let grid = vec![vec!["1"], vec!["10"], vec!["100"], vec!["1000"]];
        let (plan, points) = sweep(&["gateway.timeout"], grid);
        let linear = sweep_figures(&plan, &points, &[]);
        assert_eq!(chart(&linear).x_scale, Scale::Linear);
        let plan = plan.with_log_parameters(vec!["gateway.timeout".to_string()]);
        // The flag survives the plan file.
        let plan = serde_json::from_str::<SweepPlan>(&plan.to_json()).unwrap();
        let figures = sweep_figures(&plan, &points, &[]);
        let c = chart(&figures);
        assert_eq!(c.x_scale, Scale::Log);
        assert_eq!(c.x_ticks.as_deref(), Some(&[1.0, 10.0, 100.0, 1000.0][..]));
    }

    #[test]
    fn heatmaps_carry_their_colour_range_and_outline_the_choice() {
        let (plan, points) = sweep(
            &["a", "b"],
            vec![
                vec!["1", "x"],
                vec!["1", "y"],
                vec!["2", "x"],
                vec!["2", "y"],
            ],
        );
        let figures = sweep_figures(&plan, &points, &[2]);
        let Figure::Heatmap(h) = &figures[0].1 else {
            panic!("not a heatmap")
        };
        // Point 2 is a=2 (second row), b=x (first column).
        assert_eq!(h.marked, [(1, 0)]);
        assert_eq!(h.colour_range(), Some((0.5, 0.53)));
        // The colour bar's ends are drawn as ticks beside the grid.
        let svg = crate::plot::render_svg(&figures[0].1).unwrap();
        let texts: Vec<&str> = svg
            .split('>')
            .filter_map(|t| t.split_once("</text").map(|(a, _)| a.trim()))
            .collect();
        assert!(
            texts.contains(&"0.5") && texts.contains(&"0.53"),
            "{texts:?}"
        );
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
