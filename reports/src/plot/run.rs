//! The figures of one run, built from its report alone (so `faultline plot` can redraw them
//! without rerunning). A figure appears only when the run has its data: a scenario without a
//! finite queue gets no blocked-requests line, one without timeouts no timeout line.

use super::{Chart, Figure, Line, Scale};
use crate::report::Report;
use sim_core::series::{SeriesStat, SeriesSummary};
use sim_core::time::NANOS_PER_SEC;

/// One figure of a run: its file stem inside `plots/`, a sentence for the HTML page, the figure.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigure {
    pub stem: &'static str,
    pub caption: String,
    pub figure: Figure,
}

/// The time unit that keeps axis numbers short for a window of `span` nanoseconds.
fn time_unit(span: u64) -> (&'static str, f64) {
    let s = NANOS_PER_SEC as f64;
    if span > 48 * 3_600 * NANOS_PER_SEC {
        ("d", 86_400.0 * s)
    } else if span > 3 * 3_600 * NANOS_PER_SEC {
        ("h", 3_600.0 * s)
    } else if span > 5 * 60 * NANOS_PER_SEC {
        ("min", 60.0 * s)
    } else {
        ("s", s)
    }
}

/// A series as a line at bucket midpoints, with its 95% band.
fn series_line(summary: &SeriesSummary, stat: &SeriesStat, label: &str, unit: f64) -> Line {
    let g = summary.grid;
    let xs: Vec<f64> = (0..stat.mean.len())
        .map(|i| (g.bucket_start(i) as f64 + g.bucket_len(i) as f64 / 2.0) / unit)
        .collect();
    Line {
        label: label.to_string(),
        points: xs.iter().copied().zip(stat.mean.iter().copied()).collect(),
        band: Some(
            stat.mean
                .iter()
                .zip(&stat.ci95_half_width)
                .map(|(m, h)| {
                    // One replication has no interval: draw no band rather than a zero-width one.
                    let h = if h.is_finite() { *h } else { f64::NAN };
                    (m - h, m + h)
                })
                .collect(),
        ),
    }
}

fn has_data(stat: &SeriesStat) -> bool {
    stat.mean.iter().any(|v| v.is_finite())
}

/// Every figure the report's data supports, in the order the HTML page shows them.
pub fn run_figures(report: &Report) -> Vec<RunFigure> {
    let mut out = Vec::new();
    if let Some(cdf) = &report.latency_cdf {
        let lines: Vec<Line> = cdf
            .distributions
            .iter()
            .filter(|d| has_data(d))
            .map(|d| Line {
                label: d
                    .name
                    .strip_prefix("tenant.")
                    .unwrap_or(&d.name)
                    .to_string(),
                points: d
                    .mean
                    .iter()
                    .copied()
                    .zip(cdf.levels.iter().copied())
                    .collect(),
                band: None,
            })
            .collect();
        if !lines.is_empty() {
            let (lo, hi) = lines
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.0))
                .filter(|x| x.is_finite() && *x > 0.0)
                .fold((f64::INFINITY, 0.0f64), |(l, h), x| (l.min(x), h.max(x)));
            let mut chart = Chart::new(
                "Latency distribution (arrival to outcome)",
                "latency (s)",
                "fraction of requests at or below",
            );
            // Heavy tails span decades; a log axis keeps the body and the tail both readable.
            if lo.is_finite() && hi / lo > 50.0 {
                chart.x_scale = Scale::Log;
            }
            chart.lines = lines;
            out.push(RunFigure {
                stem: "latency_cdf",
                caption: "Latency CDF per tenant: each point is the mean, across replications, \
                          of that quantile's latency."
                    .to_string(),
                figure: Figure::Chart(chart),
            });
        }
    }
    let Some(series) = &report.series else {
        return out;
    };
    let (unit_name, unit) = time_unit(series.grid.end.saturating_sub(series.grid.start));
    let x_label = format!("virtual time ({unit_name})");
    let find = |name: &str| series.series.iter().find(|s| s.name == name && has_data(s));
    let mut time_chart = |stem: &'static str,
                          title: &str,
                          y_label: &str,
                          caption: &str,
                          rows: Vec<(&SeriesStat, String)>| {
        if rows.is_empty() {
            return;
        }
        let mut chart = Chart::new(title, &x_label, y_label);
        chart.lines = rows
            .iter()
            .map(|(s, label)| series_line(series, s, label, unit))
            .collect();
        out.push(RunFigure {
            stem,
            caption: caption.to_string(),
            figure: Figure::Chart(chart),
        });
    };
    let rates: Vec<_> = [
        ("throughput_per_s", "throughput"),
        ("goodput_per_s", "goodput"),
    ]
    .iter()
    .filter_map(|(n, l)| find(n).map(|s| (s, l.to_string())))
    .collect();
    let width = sim_core::time::format_duration(series.grid.width);
    time_chart(
        "throughput",
        "Throughput and goodput",
        "requests per second",
        &format!(
            "Completed requests per second (throughput) and successful ones (goodput), per \
             {width} bucket; the band is the 95% confidence interval across replications."
        ),
        rates,
    );
    let errors: Vec<_> = series
        .series
        .iter()
        .filter(|s| s.name.starts_with("errors.") && has_data(s))
        .map(|s| {
            let class = s.name["errors.".len()..].trim_end_matches("_per_s");
            (s, class.replace('_', " "))
        })
        .collect();
    time_chart(
        "errors",
        "Errors by class",
        "per second",
        "Requests blocked (queue full) or failed (every attempt failed) per second, and attempt \
         timeouts per second; only the classes this scenario can produce.",
        errors,
    );
    let queue: Vec<_> = find("queue_length_mean")
        .map(|s| (s, "queue length".to_string()))
        .into_iter()
        .collect();
    time_chart(
        "queue_depth",
        "Queue depth",
        "calls waiting (time average)",
        "Calls waiting in the gateway queue, time-averaged within each bucket.",
        queue,
    );
    let utilisation: Vec<_> = series
        .series
        .iter()
        .filter(|s| s.name.starts_with("backend.") && s.name.ends_with(".utilisation"))
        .filter(|s| has_data(s))
        .map(|s| {
            let name = &s.name["backend.".len()..s.name.len() - ".utilisation".len()];
            (s, name.to_string())
        })
        .collect();
    time_chart(
        "utilisation",
        "Backend utilisation",
        "busy fraction of concurrency",
        "Busy slots over concurrency per backend, time-averaged within each bucket.",
        utilisation,
    );
    out
}
