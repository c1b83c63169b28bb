//! The figures of one run, built from its report alone (so `faultline plot` can redraw them
//! without rerunning). A figure appears only when the run has its data: a scenario without a
//! finite queue gets no blocked-requests line, one without timeouts no timeout line, one without
//! SLOs no error-budget chart, one without prices no cost charts.
//!
//! Time series have the backend fault windows (the `faults.active` series) shaded; the SLO charts
//! also mark where an alert started firing.

use super::{Bars, Chart, Figure, Line, LineKind, Marker, MarkerKind, Scale, Shade};
use crate::report::Report;
use sim_core::names::{
    self, BACKEND, BREAKER_HALF_OPEN, BREAKER_OPEN, BREAKER_OPENINGS, CONCURRENCY_LIMIT, ROUTE,
    SLO, SLO_ALERT_FIRING, SLO_BUDGET_REMAINING, SLO_BURN_RATE, TENANT, UTILISATION, WORK_QUEUE,
    WORK_QUEUE_BACKLOG,
};
use sim_core::series::{SeriesStat, SeriesSummary};
use sim_core::summary::MetricSummary;
use sim_core::time::{NANOS_PER_SEC, Time};

/// Stems of every figure a run can have, in page order, so figures a previous run left in the
/// same directory do not linger as if current.
pub const ALL_STEMS: &[&str] = &[
    "slo_budget",
    "slo_burn_rate",
    "latency_cdf",
    "throughput",
    "errors",
    "errors_by_class",
    "queue_depth",
    "utilisation",
    "kv_utilisation",
    "ttft",
    "preemptions",
    "replicas",
    "breaker",
    "breaker_state",
    "concurrency_limit",
    "work_queue_backlog",
    "fallback_depth",
    "cost_rate",
    "cost_breakdown",
];

/// Stems of the SLO figures, which the page shows right after the verdicts.
pub fn is_slo_figure(stem: &str) -> bool {
    stem.starts_with("slo_")
}

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
        kind: LineKind::Data,
    }
}

/// Charts of shares (utilisation, time in a state): their bands are clipped to [0, 1], which a
/// t-interval from few replications can overshoot at both ends.
const SHARE_STEMS: [&str; 3] = ["utilisation", "kv_utilisation", "breaker_state"];

/// Time charts whose lines are per entity or per kind, so that a lone line's label says what
/// the title does not.
const NAMED_ALONE: [&str; 11] = [
    "throughput",
    "errors",
    "utilisation",
    "in_service",
    "kv_utilisation",
    "preemptions",
    "replicas",
    "breaker",
    "breaker_state",
    "concurrency_limit",
    "work_queue_backlog",
];

/// Whether a series is drawn with its 95% band. A pool's TTFT p99 per bucket is not: it runs
/// beside the mean, and two wide bands over each other hide both lines.
fn draws_band(name: &str) -> bool {
    !name.ends_with(".ttft_p99_s")
}

/// Whether every finite value of the series is 0 (or there is none).
fn all_zero(stat: &SeriesStat) -> bool {
    stat.mean.iter().all(|v| !v.is_finite() || *v == 0.0)
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
                label: TENANT.strip(&d.name).unwrap_or(&d.name).to_string(),
                // The tail: the share of requests slower than each latency (1 − F), on a log
                // axis, so the p99 and p99.9 are as far apart as the median and the p90.
                points: d
                    .mean
                    .iter()
                    .copied()
                    .zip(cdf.levels.iter().map(|f| 1.0 - f))
                    .collect(),
                band: None,
                kind: LineKind::Data,
            })
            .collect();
        if !lines.is_empty() {
            let (lo, hi) = lines
                .iter()
                .flat_map(|l| l.points.iter().map(|p| p.0))
                .filter(|x| x.is_finite() && *x > 0.0)
                .fold((f64::INFINITY, 0.0f64), |(l, h), x| (l.min(x), h.max(x)));
            let mut chart = Chart::new(
                "Latency tail (arrival to outcome)",
                "latency (s)",
                "share of requests slower (log scale)",
            );
            chart.y_scale = Scale::Log;
            chart.y_from_zero = false;
            // Heavy tails span decades; a log axis keeps the body and the tail both readable.
            if lo.is_finite() && hi / lo > 50.0 {
                chart.x_scale = Scale::Log;
            }
            chart.lines = lines;
            out.push(RunFigure {
                stem: "latency_cdf",
                caption: "Latency tail per tenant: the share of requests slower than each \
                          latency (1 − CDF, log scale: 0.01 is the p99), from the mean across \
                          replications of each quantile's latency."
                    .to_string(),
                figure: Figure::Chart(chart),
            });
        }
    }
    if let Some(series) = &report.series {
        time_figures(series, &report.scenario, &mut out);
    }
    bar_figures(report, &mut out);
    // Page order: SLO charts first (they follow the verdicts), then as `ALL_STEMS` lists them.
    out.sort_by_key(|f| {
        ALL_STEMS
            .iter()
            .position(|s| *s == f.stem)
            .unwrap_or(usize::MAX)
    });
    out
}

/// The part of `name` between `prefix` and `suffix`, if it has both (and something between).
fn middle<'a>(name: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    name.strip_prefix(prefix)?
        .strip_suffix(suffix)
        .filter(|m| !m.is_empty())
}

/// Runs of consecutive buckets (first, last) where a 0/1 level series is mostly on: a mean
/// across replications of at least one half.
fn on_runs(stat: &SeriesStat) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, v) in stat.mean.iter().enumerate() {
        let on = *v >= 0.5;
        match (on, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push((s, i - 1));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        runs.push((s, stat.mean.len() - 1));
    }
    runs
}

/// Labels only the first of several nearby shades or markers, so labels do not pile up.
fn thin_labels<'a>(items: impl Iterator<Item = (f64, &'a mut String)>, min_gap: f64) {
    let mut last = f64::NEG_INFINITY;
    for (at, label) in items {
        if at - last < min_gap {
            label.clear();
        } else {
            last = at;
        }
    }
}

/// A horizontal reference line across the window.
fn level_line(label: &str, y: f64, from: f64, to: f64) -> Line {
    Line {
        label: label.to_string(),
        points: vec![(from, y), (to, y)],
        band: None,
        kind: LineKind::Reference,
    }
}

/// The evaluation interval of SLO `name`'s alerts in the canonical scenario (one minute, the
/// default, when the report does not say).
fn alert_interval(scenario: &serde_json::Value, name: &str) -> Time {
    scenario["slos"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"].as_str() == Some(name))
        .and_then(|s| s["alerting"]["interval"].as_str())
        .and_then(|t| sim_core::time::parse_duration(t).ok())
        .unwrap_or(60 * NANOS_PER_SEC)
}

/// Joins runs separated by at most `gap` off buckets.
fn join_runs(runs: Vec<(usize, usize)>, gap: usize) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
    for (a, b) in runs {
        match out.last_mut() {
            Some(last) if a.saturating_sub(last.1 + 1) <= gap => last.1 = b,
            _ => out.push((a, b)),
        }
    }
    out
}

fn time_figures(series: &SeriesSummary, scenario: &serde_json::Value, out: &mut Vec<RunFigure>) {
    let g = series.grid;
    let (unit_name, unit) = time_unit(g.end.saturating_sub(g.start));
    let x_label = format!("virtual time ({unit_name})");
    let (x_start, x_end) = (g.start as f64 / unit, g.end as f64 / unit);
    let min_gap = (x_end - x_start) * 0.08;
    let bucket = |i: usize| {
        let from = g.bucket_start(i);
        (
            from as f64 / unit,
            from.saturating_add(g.bucket_len(i)) as f64 / unit,
        )
    };
    let find = |name: &str| series.series.iter().find(|s| s.name == name && has_data(s));
    let mut shaded: Vec<Shade> = find("faults.active")
        .map(|s| {
            on_runs(s)
                .into_iter()
                .map(|(a, b)| Shade {
                    from: bucket(a).0,
                    to: bucket(b).1,
                    label: "fault".to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    thin_labels(shaded.iter_mut().map(|s| (s.from, &mut s.label)), min_gap);
    let shade_note = if shaded.is_empty() {
        ""
    } else {
        " Shaded: a backend fault (outage, slowdown, degraded or updated model) for at least half \
         the bucket, on average across replications."
    };
    let width = sim_core::time::format_duration(g.width);
    // SLOs: error budget remaining and burn rate, one line per SLO, alert firings marked.
    let slos: Vec<&str> = series
        .series
        .iter()
        .filter_map(|s| SLO.entity(&s.name, SLO_BUDGET_REMAINING))
        .collect();
    let mut markers: Vec<Marker> = Vec::new();
    for name in &slos {
        if let Some(alert) = find(&SLO.metric(name, SLO_ALERT_FIRING)) {
            // The series is 1 only in buckets with an evaluation that found a rule firing: with
            // buckets shorter than the evaluation interval, a steady firing has gaps to bridge.
            let every = alert_interval(scenario, name);
            let gap = (every.div_ceil(g.width.max(1)) as usize).saturating_sub(1);
            for (a, _) in join_runs(on_runs(alert), gap) {
                markers.push(Marker {
                    at: bucket(a).0,
                    label: if slos.len() > 1 {
                        format!("{name} alert")
                    } else {
                        "alert".to_string()
                    },
                    kind: MarkerKind::Alert,
                });
            }
        }
    }
    markers.sort_by(|a, b| a.at.total_cmp(&b.at));
    thin_labels(markers.iter_mut().map(|m| (m.at, &mut m.label)), min_gap);
    let marker_note = if markers.is_empty() {
        ""
    } else {
        " Red lines: an alert started firing (in most replications)."
    };
    let slo_rows = |suffix: &str| -> Vec<(&SeriesStat, String)> {
        slos.iter()
            .filter_map(|n| find(&SLO.metric(n, suffix)).map(|s| (s, n.to_string())))
            .collect()
    };
    let budget = slo_rows(SLO_BUDGET_REMAINING);
    if !budget.is_empty() {
        let mut chart = Chart::new("SLO error budget remaining", &x_label, "fraction of budget");
        // Overspent budgets go negative; the band must not be clipped at zero.
        chart.y_from_zero = false;
        chart.lines = budget
            .iter()
            .map(|(s, label)| series_line(series, s, label, unit))
            .collect();
        chart
            .lines
            .push(level_line("exhausted", 0.0, x_start, x_end));
        chart.shaded = shaded.clone();
        chart.markers = markers.clone();
        chart.x_range = Some((x_start, x_end));
        out.push(RunFigure {
            stem: "slo_budget",
            caption: format!(
                "Share of each SLO's error budget left over its compliance window (1: untouched, \
                 0: exhausted, below 0: overspent), at the last evaluation in each {width} \
                 bucket.{shade_note}{marker_note}"
            ),
            figure: Figure::Chart(chart),
        });
    }
    let burn = slo_rows(SLO_BURN_RATE);
    if !burn.is_empty() {
        let mut chart = Chart::new("SLO burn rate", &x_label, "error budget burn rate (×)");
        chart.lines = burn
            .iter()
            .map(|(s, label)| series_line(series, s, label, unit))
            .collect();
        chart
            .lines
            .push(level_line("sustainable (1×)", 1.0, x_start, x_end));
        chart.shaded = shaded.clone();
        chart.markers = markers;
        chart.x_range = Some((x_start, x_end));
        out.push(RunFigure {
            stem: "slo_burn_rate",
            caption: format!(
                "How fast each SLO spends its error budget, per {width} bucket: 1× spends exactly \
                 the budget over the compliance window.{shade_note}{marker_note}"
            ),
            figure: Figure::Chart(chart),
        });
    }

    let mut time_chart = |stem: &'static str,
                          title: &str,
                          y_label: &str,
                          caption: &str,
                          rows: Vec<(&SeriesStat, String)>| {
        // A series that is zero throughout says nothing a caption could not: no line for it,
        // and no chart when every line would be one.
        let rows: Vec<_> = rows.into_iter().filter(|(s, _)| !all_zero(s)).collect();
        if rows.is_empty() {
            return;
        }
        // A chart draws a legend only for several lines: the one line of a chart per entity
        // (one backend's utilisation) or per kind (failed, not blocked) is named in the title.
        let title = match rows.as_slice() {
            [(s, label)] if NAMED_ALONE.contains(&stem) && s.peak.is_none() => {
                format!("{title}: {label}")
            }
            _ => title.to_string(),
        };
        let mut chart = Chart::new(&title, &x_label, y_label);
        chart.x_range = Some((x_start, x_end));
        // Series that keep their peak get it as a thin line beside their mean and band.
        chart.lines = rows
            .iter()
            .flat_map(|(s, label)| {
                let mut line = series_line(series, s, label, unit);
                if !draws_band(&s.name) {
                    line.band = None;
                }
                let peak = s.peak.as_ref().map(|peak| Line {
                    label: format!("{label}, highest replication"),
                    points: line
                        .points
                        .iter()
                        .map(|p| p.0)
                        .zip(peak.iter().copied())
                        .collect(),
                    band: None,
                    kind: LineKind::Peak,
                });
                std::iter::once(line).chain(peak)
            })
            .collect();
        let peak_note = if chart.lines.iter().any(|l| l.kind == LineKind::Peak) {
            " Thin line: the highest replication in each bucket, so a cache that some \
             replications filled is not averaged away."
        } else {
            ""
        };
        if SHARE_STEMS.contains(&stem) {
            // Shares live in [0, 1]: a t-interval from few replications can overshoot both ends.
            for band in chart.lines.iter_mut().filter_map(|l| l.band.as_mut()) {
                for (lo, hi) in band.iter_mut() {
                    (*lo, *hi) = (lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0));
                }
            }
        }
        chart.shaded = shaded.clone();
        out.push(RunFigure {
            stem,
            caption: format!("{caption}{peak_note}{shade_note}"),
            figure: Figure::Chart(chart),
        });
    };

    let mut rates: Vec<_> = [
        ("throughput_per_s", "throughput"),
        ("goodput_per_s", "goodput"),
    ]
    .iter()
    .filter_map(|(n, l)| find(n).map(|s| (s, l.to_string())))
    .collect();
    // Every completion a success: goodput would be drawn over throughput and hide it.
    if let [(t, _), (g, _)] = rates.as_slice()
        && t.mean.len() == g.mean.len()
        && t.mean
            .iter()
            .zip(&g.mean)
            .all(|(a, b)| a == b || a.is_nan() && b.is_nan())
    {
        rates = vec![(*t, "throughput = goodput".to_string())];
    }
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
        .filter(|s| has_data(s))
        .filter_map(|s| {
            let class = names::error_class(&s.name)?.trim_end_matches("_per_s");
            Some((s, class.replace('_', " ")))
        })
        .collect();
    time_chart(
        "errors",
        "Failures over time",
        "per second",
        "Requests blocked (queue full) or failed (every attempt failed) per second, and attempt \
         timeouts per second; only those this scenario can produce. The attempts' error \
         classes over the run are the errors_by_class chart.",
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
    let per_backend = |suffix: &str| -> Vec<(&SeriesStat, String)> {
        series
            .series
            .iter()
            .filter(|s| has_data(s))
            .filter_map(|s| BACKEND.entity(&s.name, suffix).map(|n| (s, n.to_string())))
            .collect()
    };
    time_chart(
        "utilisation",
        "Backend utilisation",
        "busy fraction of concurrency",
        "Busy slots over concurrency per backend, time-averaged within each bucket.",
        per_backend(UTILISATION),
    );
    time_chart(
        "in_service",
        "Attempts in service",
        "attempts in service (time average)",
        "Attempts a backend without a concurrency limit was working on (abandoned ones \
         included), per backend, time-averaged within each bucket: with no limit there is no \
         utilisation to show.",
        per_backend("busy_mean"),
    );
    let per_pool = |suffix: &str| -> Vec<(&SeriesStat, String)> {
        series
            .series
            .iter()
            .filter(|s| has_data(s))
            .filter_map(|s| middle(&s.name, "pool.", suffix).map(|n| (s, n.to_string())))
            .collect()
    };
    time_chart(
        "kv_utilisation",
        "GPU pool KV-cache utilisation",
        "share of KV blocks in use",
        "KV blocks in use over the KV blocks of replicas that are up, per pool, time-averaged \
         within each bucket.",
        per_pool(".kv_utilisation"),
    );
    // Per pool its tail, then its mean: a queue that only the slowest calls meet shows in the
    // p99 long before it moves the mean. The p99 comes first so that where the two are equal
    // (every call of a bucket met the same queue) the mean drawn over it stays visible.
    let ttft: Vec<_> = per_pool(".ttft_mean_s")
        .into_iter()
        .flat_map(|(mean, pool)| {
            let tail = find(&format!("pool.{pool}.ttft_p99_s")).map(|s| (s, format!("{pool} p99")));
            tail.into_iter()
                .chain(std::iter::once((mean, format!("{pool} mean"))))
        })
        .collect();
    time_chart(
        "ttft",
        "GPU pool time to first token",
        "TTFT (s)",
        "Time to first token of the calls whose first token came in each bucket, per pool \
         (queueing, prefill and any re-prefill after a preemption included): the mean, with its \
         95% band across replications, and the p99 of each bucket (from a histogram per bucket \
         with 8 bins per doubling, within 6.25% of the exact value), averaged across \
         replications. With fewer than 100 calls in a bucket its p99 is its slowest call.",
        ttft,
    );
    time_chart(
        "preemptions",
        "GPU pool preemptions",
        "preemptions per minute",
        "Requests evicted from a replica's batch by recompute preemption (their KV blocks were \
         needed), per minute, per pool.",
        per_pool(".preemptions_per_min"),
    );
    time_chart(
        "replicas",
        "GPU pool replicas",
        "replicas holding GPUs",
        "Replicas provisioning, serving, draining or crashed (all billed), per pool, \
         time-averaged within each bucket.",
        per_pool(".replicas"),
    );
    time_chart(
        "breaker",
        "Circuit breaker openings",
        &format!("openings per {width}"),
        &format!(
            "Times each backend's circuit breaker opened (from closed or half-open) per {width} \
             bucket, averaged across replications."
        ),
        per_backend(BREAKER_OPENINGS),
    );
    // The state timeline: per breaker, the share of each bucket it spent open and half-open
    // (closed is the rest). Averaged across replications a share says how often, in that
    // bucket, callers found the backend shut; one replication gives its exact timeline.
    let states: Vec<(&SeriesStat, String)> = series
        .series
        .iter()
        .filter(|s| has_data(s))
        .filter_map(|s| BACKEND.entity(&s.name, BREAKER_OPEN).map(|n| (s, n)))
        .flat_map(|(open, n)| {
            let half = find(&BACKEND.metric(n, BREAKER_HALF_OPEN));
            std::iter::once((open, format!("{n} open")))
                .chain(half.map(|h| (h, format!("{n} half-open"))))
        })
        .collect();
    time_chart(
        "breaker_state",
        "Circuit breaker state",
        "share of the bucket",
        &format!(
            "Share of each {width} bucket each backend's circuit breaker spent open (rejecting \
             calls) and half-open (letting trial calls through), averaged across replications; \
             closed the rest of the time."
        ),
        states,
    );
    time_chart(
        "concurrency_limit",
        "Adaptive concurrency limit",
        "attempts in flight allowed",
        "Each backend's adaptive concurrency limit (AIMD, Vegas or Gradient2), time-averaged \
         within each bucket.",
        per_backend(CONCURRENCY_LIMIT),
    );
    let backlogs: Vec<_> = series
        .series
        .iter()
        .filter(|s| has_data(s))
        .filter_map(|s| {
            WORK_QUEUE
                .entity(&s.name, WORK_QUEUE_BACKLOG)
                .map(|n| (s, n.to_string()))
        })
        .collect();
    time_chart(
        "work_queue_backlog",
        "Work queue backlog",
        "items waiting",
        &format!(
            "Items waiting in each work queue at the end of each {width} bucket, averaged \
             across replications."
        ),
        backlogs,
    );
    let cost: Vec<_> = find("cost_usd_per_s")
        .map(|s| (s, "cost".to_string()))
        .into_iter()
        .collect();
    time_chart(
        "cost_rate",
        "Cost rate",
        "USD per second",
        &format!(
            "Spend per second of virtual time: tokens billed to every attempt that got an answer \
             (retries and abandoned attempts included), per {width} bucket."
        ),
        cost,
    );
}

/// Bar charts from the scalar metrics: cost breakdown, fallback depth, errors by class.
fn bar_figures(report: &Report, out: &mut Vec<RunFigure>) {
    let row = |label: String, m: &MetricSummary| {
        let (lo, hi) = m.ci95.map_or((f64::NAN, f64::NAN), |c| (c.low, c.high));
        (label, m.mean, lo, hi)
    };
    let mut push = |stem: &'static str, title: &str, x_label: &str, caption: &str, rows| {
        out.push(RunFigure {
            stem,
            caption: caption.to_string(),
            figure: Figure::Bars(Bars {
                title: title.to_string(),
                x_label: x_label.to_string(),
                rows,
                tones: Vec::new(),
            }),
        });
    };
    // A bar chart needs a bar: rows that are all zero (or missing) draw nothing.
    let finite =
        |rows: &Vec<(String, f64, f64, f64)>| rows.iter().any(|r| r.1.is_finite() && r.1 != 0.0);

    let mut cost = Vec::new();
    for scope in [BACKEND, TENANT, ROUTE] {
        let group: Vec<_> = report
            .metrics
            .iter()
            .filter_map(|m| {
                let n = scope.entity(&m.name, "cost_usd")?;
                Some(row(format!("{} {n}", scope.word()), m))
            })
            .collect();
        // A group of one is the total, already in the table, and a group of zeros (tenants of
        // a GPU pool billed by the hour) breaks nothing down.
        if group.len() >= 2 && finite(&group) {
            cost.extend(group);
        }
    }
    if !cost.is_empty() {
        push(
            "cost_breakdown",
            "Cost breakdown",
            "USD over the measured window",
            "Spend per backend, per tenant and per declared route (each where there are several \
             and some spent): the mean across replications, with its 95% confidence interval as \
             a whisker. Backends add up to the run's cost_usd; tenants and routes to what calls \
             were billed for tokens, which leaves out a GPU pool's hourly cost.",
            cost,
        );
    }

    let mut depth: Vec<(usize, (String, f64, f64, f64))> = report
        .metrics
        .iter()
        .filter_map(|m| {
            let d: usize = middle(&m.name, "fallback.depth", "_share")?.parse().ok()?;
            let label = if d == 0 {
                "depth 0 (primary)".to_string()
            } else {
                format!("depth {d}")
            };
            Some((d, row(label, m)))
        })
        .collect();
    depth.sort_by_key(|(d, _)| *d);
    let mut depth: Vec<_> = depth.into_iter().map(|(_, r)| r).collect();
    // The last resorts close the chain: a stale cache entry, then the default response.
    for (name, label) in [
        ("fallback.stale_share", "stale cache"),
        ("fallback.default_share", "default response"),
    ] {
        if let Some(m) = report.metrics.iter().find(|m| m.name == name) {
            depth.push(row(label.to_string(), m));
        }
    }
    if finite(&depth) {
        push(
            "fallback_depth",
            "Fallback depth",
            "share of answered calls",
            "What answered each call that a fresh cache hit did not: depth 0 is the route's own \
             backend, depth 1 its first fallback, and so on, then the last resorts (a stale \
             cache entry, the default response) where the chain has them; the bars add up to 1.",
            depth,
        );
    }

    let mut errors: Vec<_> = report
        .metrics
        .iter()
        .filter_map(|m| {
            let class = names::error_class(&m.name)?;
            Some(row(class.replace('_', " "), m))
        })
        .collect();
    let mut derived = "";
    if errors.is_empty() {
        // A run whose attempts can only fail or time out counts no class apart: the failures
        // that were not timeouts are the server errors.
        // A class that never happened here is left out: none of its kind was possible.
        errors = server_errors_and_timeouts(report)
            .into_iter()
            .filter(|(_, m)| m.mean != 0.0)
            .map(|(label, m)| row(label.to_string(), &m))
            .collect();
        derived = " Here the only classes are server errors and timeouts: server errors are the \
                   attempt failures less the timeouts, per replication.";
    }
    if finite(&errors) {
        push(
            "errors_by_class",
            "Attempt errors by class",
            "attempts over the measured window",
            &format!(
                "Attempts that ended in each error class this scenario can produce, mean across \
                 replications with the 95% confidence interval as a whisker.{derived}"
            ),
            errors,
        );
    }
}

/// The two classes of a run that reports no `errors.*` counts (its attempts can only fail with
/// a server error or time out): `server error` = `attempt_failures` − `timeouts` and `attempt
/// timeout` = `timeouts`, each a summary of its per-replication values. Empty when the report has
/// neither count.
fn server_errors_and_timeouts(report: &Report) -> Vec<(&'static str, MetricSummary)> {
    let get = |name: &str| report.metrics.iter().find(|m| m.name == name);
    let (Some(failures), Some(timeouts)) = (get("attempt_failures"), get("timeouts")) else {
        return Vec::new();
    };
    let server: Vec<f64> = failures
        .per_replication
        .iter()
        .zip(&timeouts.per_replication)
        .map(|(f, t)| f - t)
        .collect();
    vec![
        ("server error", summary_of("errors.server_error", &server)),
        ("attempt timeout", timeouts.clone()),
    ]
}

/// The mean and 95%/99% t-intervals of `values` (a count: the intervals stay at or above 0).
fn summary_of(name: &str, values: &[f64]) -> MetricSummary {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let mean = if finite.is_empty() {
        f64::NAN
    } else {
        finite.iter().sum::<f64>() / finite.len() as f64
    };
    let clip = |i: sim_core::summary::Interval| sim_core::summary::Interval {
        low: i.low.max(0.0),
        high: i.high,
    };
    MetricSummary {
        name: name.to_string(),
        mean,
        ci95: sim_core::summary::t_interval(values, 0.95).map(clip),
        ci99: sim_core::summary::t_interval(values, 0.99).map(clip),
        per_replication: values.to_vec(),
    }
}

#[cfg(test)]
#[path = "run_tests.rs"]
mod tests;
