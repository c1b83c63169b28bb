//! The run figures' tests: which charts a report gets, their axes, bands and markers.

use super::*;
use sim_core::series::{BucketGrid, CdfSummary};
use sim_core::summary::Interval;

fn stat(name: &str, mean: Vec<f64>) -> SeriesStat {
    let n = mean.len();
    SeriesStat {
        name: name.to_string(),
        mean,
        ci95_half_width: vec![f64::NAN; n],
        peak: None,
    }
}

fn metric(name: &str, mean: f64) -> MetricSummary {
    MetricSummary {
        name: name.to_string(),
        mean,
        ci95: Some(Interval {
            low: mean * 0.9,
            high: mean * 1.1,
        }),
        ci99: None,
        per_replication: vec![mean],
    }
}

#[test]
fn names_and_runs() {
    assert_eq!(
        middle("backend.a.b.utilisation", "backend.", ".utilisation"),
        Some("a.b")
    );
    // Prefix and suffix overlapping, or nothing between them: no name, no panic.
    assert_eq!(
        middle("backend.utilisation", "backend.", ".utilisation"),
        None
    );
    assert_eq!(
        middle("backend..utilisation", "backend.", ".utilisation"),
        None
    );
    let s = stat(
        "x",
        vec![0.0, 1.0, 0.6, 0.0, 0.0, 1.0, 0.4, 1.0, f64::NAN, 1.0],
    );
    assert_eq!(on_runs(&s), vec![(1, 2), (5, 5), (7, 7), (9, 9)]);
    assert_eq!(
        join_runs(on_runs(&s), 0),
        vec![(1, 2), (5, 5), (7, 7), (9, 9)]
    );
    assert_eq!(join_runs(on_runs(&s), 1), vec![(1, 2), (5, 9)]);
    assert_eq!(join_runs(on_runs(&s), 2), vec![(1, 9)]);
    assert!(on_runs(&stat("x", vec![])).is_empty());
}

fn report(series: Vec<SeriesStat>, metrics: Vec<MetricSummary>) -> Report {
    let grid = BucketGrid::for_window(0, 100 * NANOS_PER_SEC);
    let summary = SeriesSummary { grid, series };
    Report::new("t", 1, 2, serde_json::json!({}), metrics).with_series(Some(summary), None)
}

fn stems(r: &Report) -> Vec<&'static str> {
    run_figures(r).iter().map(|f| f.stem).collect()
}

#[test]
fn reliability_figures_come_from_their_series_and_metrics() {
    let n = BucketGrid::for_window(0, 100 * NANOS_PER_SEC).len();
    let on = |from: usize, to: usize| {
        (0..n)
            .map(|i| if (from..to).contains(&i) { 1.0 } else { 0.0 })
            .collect()
    };
    let r = report(
        vec![
            stat("throughput_per_s", vec![1.0; n]),
            stat("faults.active", on(20, 40)),
            stat("cost_usd_per_s", vec![0.01; n]),
            stat("backend.a.breaker_openings", on(21, 22)),
            SeriesStat {
                // Few replications: an interval wider than the [0, 1] a share lives in.
                ci95_half_width: vec![0.8; n],
                ..stat("backend.a.breaker_open", on(21, 30))
            },
            stat("backend.a.breaker_half_open", on(30, 31)),
            stat("slo.avail.budget_remaining", vec![0.5; n]),
            stat("slo.avail.burn_rate", vec![2.0; n]),
            stat("slo.avail.alert_firing", on(25, 30)),
        ],
        vec![
            metric("backend.a.cost_usd", 2.0),
            metric("backend.b.cost_usd", 1.0),
            metric("fallback.depth1_share", 0.25),
            metric("fallback.depth0_share", 0.75),
            metric("errors.server_error", 3.0),
        ],
    );
    let figures = run_figures(&r);
    assert_eq!(
        stems(&r),
        [
            "slo_budget",
            "slo_burn_rate",
            "throughput",
            "errors_by_class",
            "breaker",
            "breaker_state",
            "fallback_depth",
            "cost_rate",
            "cost_breakdown"
        ]
    );
    let chart = |stem: &str| match &figures.iter().find(|f| f.stem == stem).unwrap().figure {
        Figure::Chart(c) => c.clone(),
        _ => panic!("{stem} is not a chart"),
    };
    // Every time series shades the one fault window: buckets 20..40 of 200 ms.
    for stem in [
        "slo_budget",
        "throughput",
        "breaker",
        "breaker_state",
        "cost_rate",
    ] {
        let c = chart(stem);
        assert_eq!(c.shaded.len(), 1, "{stem}");
        assert!((c.shaded[0].from - 4.0).abs() < 1e-9 && (c.shaded[0].to - 8.0).abs() < 1e-9);
    }
    let state = chart("breaker_state");
    let labels: Vec<&str> = state.lines.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["a open", "a half-open"]);
    let open_band = state.lines[0].band.as_ref().unwrap();
    assert!(
        open_band
            .iter()
            .all(|&(lo, hi)| (0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi))
    );
    assert!((open_band[25].0 - 0.2).abs() < 1e-12 && open_band[25].1 == 1.0);
    let budget = chart("slo_budget");
    assert_eq!(budget.markers.len(), 1);
    assert!((budget.markers[0].at - 5.0).abs() < 1e-9);
    assert_eq!(budget.markers[0].label, "alert");
    assert_eq!(budget.markers[0].kind, MarkerKind::Alert);
    // The level of an exhausted budget is a reference, not data: it takes no series colour.
    let exhausted = budget
        .lines
        .iter()
        .find(|l| l.label == "exhausted")
        .unwrap();
    assert_eq!(exhausted.kind, LineKind::Reference);
    assert!(
        budget
            .lines
            .iter()
            .filter(|l| l.label != "exhausted")
            .all(|l| l.kind == LineKind::Data)
    );
    let Figure::Bars(depth) = &figures
        .iter()
        .find(|f| f.stem == "fallback_depth")
        .unwrap()
        .figure
    else {
        panic!("bars")
    };
    assert_eq!(depth.rows[0].0, "depth 0 (primary)", "depths in order");
    for f in &figures {
        crate::plot::render_svg(&f.figure).unwrap();
    }
}

#[test]
fn plain_runs_and_odd_names_get_no_reliability_figures() {
    let n = BucketGrid::for_window(0, 100 * NANOS_PER_SEC).len();
    let r = report(
        vec![
            stat("throughput_per_s", vec![1.0; n]),
            stat("backend.utilisation", vec![1.0; n]),
            stat("backend.breaker_openings", vec![1.0; n]),
            stat("backend.breaker_open", vec![1.0; n]),
            stat("slo..budget_remaining", vec![1.0; n]),
        ],
        // One cost row is the total, not a breakdown.
        vec![
            metric("backend.a.cost_usd", 2.0),
            metric("fallback.depthX_share", 1.0),
        ],
    );
    assert_eq!(stems(&r), ["throughput"]);
    let Figure::Chart(c) = &run_figures(&r)[0].figure else {
        panic!("chart")
    };
    assert!(c.shaded.is_empty() && c.markers.is_empty());
}

fn chart_of(figures: &[RunFigure], stem: &str) -> Chart {
    match &figures.iter().find(|f| f.stem == stem).unwrap().figure {
        Figure::Chart(c) => c.clone(),
        _ => panic!("{stem} is not a chart"),
    }
}

#[test]
fn time_axes_end_at_the_horizon_and_zero_series_are_not_drawn() {
    let n = BucketGrid::for_window(0, 100 * NANOS_PER_SEC).len();
    let r = report(
        vec![
            stat("throughput_per_s", vec![1.0; n]),
            stat("goodput_per_s", vec![0.0; n]),
            stat("errors.blocked_per_s", vec![0.0; n]),
            stat("errors.failed_per_s", vec![0.0; n]),
            stat("queue_length_mean", vec![0.0; n]),
            SeriesStat {
                // Peaks near 1 with a wide interval: the band must stay within [0, 1].
                ci95_half_width: vec![0.5; n],
                ..stat("pool.gpu.kv_utilisation", vec![0.9; n])
            },
            stat("pool.gpu.ttft_mean_s", vec![0.25; n]),
            stat("pool.gpu.ttft_p99_s", vec![2.5; n]),
            stat("slo.avail.budget_remaining", vec![0.5; n]),
        ],
        vec![],
    );
    let figures = run_figures(&r);
    let drawn: Vec<&str> = figures.iter().map(|f| f.stem).collect();
    // Errors and queue depth are zero throughout: no chart of nothing.
    assert!(!drawn.contains(&"errors"), "{drawn:?}");
    assert!(!drawn.contains(&"queue_depth"), "{drawn:?}");
    // Goodput is zero throughout: throughput is drawn alone.
    let throughput = chart_of(&figures, "throughput");
    assert_eq!(throughput.lines.len(), 1);
    assert_eq!(throughput.lines[0].label, "throughput");
    // 100 s of virtual time in seconds: every time axis is exactly [0, 100].
    for stem in ["throughput", "kv_utilisation", "ttft", "slo_budget"] {
        assert_eq!(
            chart_of(&figures, stem).x_range,
            Some((0.0, 100.0)),
            "{stem}"
        );
    }
    // Per-replication peaks: none in this report, so the KV chart has its mean line only.
    assert!(
        chart_of(&figures, "kv_utilisation")
            .lines
            .iter()
            .all(|l| l.kind == LineKind::Data)
    );
    // One pool's KV line has no legend to name it: the title does; goodput, all zero, is not
    // drawn, and the title says which line is.
    assert_eq!(
        chart_of(&figures, "kv_utilisation").title,
        "GPU pool KV-cache utilisation: gpu"
    );
    assert_eq!(throughput.title, "Throughput and goodput: throughput");
    // A GPU pool gets its TTFT over time: per pool its mean, then its p99 (not the scalar
    // metric of the same name, which is no series).
    let ttft = chart_of(&figures, "ttft");
    let lines: Vec<(&str, f64)> = ttft
        .lines
        .iter()
        .map(|l| (l.label.as_str(), l.points[0].1))
        .collect();
    assert_eq!(lines, [("gpu p99", 2.5), ("gpu mean", 0.25)]);
    // The tail has no band of its own; the mean keeps its.
    assert!(ttft.lines[0].band.is_none() && ttft.lines[1].band.is_some());
    let kv = chart_of(&figures, "kv_utilisation");
    for &(lo, hi) in kv.lines[0].band.as_ref().unwrap() {
        assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
    }
}

#[test]
fn the_latency_chart_shows_the_tail_on_a_log_axis() {
    let levels = vec![0.5, 0.9, 0.99, 0.999, 1.0];
    let cdf = CdfSummary {
        levels: levels.clone(),
        distributions: vec![SeriesStat {
            name: "tenant.chat".to_string(),
            mean: vec![1.0, 2.0, 5.0, 9.0, 12.0],
            ci95_half_width: vec![f64::NAN; 5],
            peak: None,
        }],
    };
    let r = Report::new("t", 1, 2, serde_json::json!({}), vec![]).with_series(None, Some(cdf));
    let c = chart_of(&run_figures(&r), "latency_cdf");
    assert_eq!(c.y_scale, Scale::Log);
    // The curve falls from the upper left: the legend goes elsewhere.
    assert_ne!(c.legend_corner(), super::super::Corner::UpperLeft);
    let ys: Vec<f64> = c.lines[0].points.iter().map(|p| p.1).collect();
    // 1 − F: the p99 at 0.01, the p99.9 at 0.001.
    for (y, f) in ys.iter().zip(&levels) {
        assert!((y - (1.0 - f)).abs() < 1e-12, "{ys:?}");
    }
    assert_eq!(c.lines[0].label, "chat");
}

#[test]
fn kv_utilisation_shows_the_highest_replication_beside_the_mean() {
    let n = BucketGrid::for_window(0, 100 * NANOS_PER_SEC).len();
    let r = report(
        vec![SeriesStat {
            peak: Some(vec![1.0; n]),
            ..stat("pool.gpu.kv_utilisation", vec![0.6; n])
        }],
        vec![],
    );
    let figures = run_figures(&r);
    let kv = chart_of(&figures, "kv_utilisation");
    let kinds: Vec<LineKind> = kv.lines.iter().map(|l| l.kind).collect();
    assert_eq!(kinds, [LineKind::Data, LineKind::Peak]);
    assert_eq!(kv.lines[1].label, "gpu, highest replication");
    // At the mean's bucket midpoints, at the peak's values.
    assert_eq!(kv.lines[1].points.len(), kv.lines[0].points.len());
    assert!(
        kv.lines[1]
            .points
            .iter()
            .zip(&kv.lines[0].points)
            .all(|(p, m)| p.0 == m.0 && p.1 == 1.0)
    );
    let caption = &figures
        .iter()
        .find(|f| f.stem == "kv_utilisation")
        .unwrap()
        .caption;
    assert!(caption.contains("highest replication"), "{caption}");
}

#[test]
fn goodput_equal_to_throughput_is_one_line() {
    let n = BucketGrid::for_window(0, 100 * NANOS_PER_SEC).len();
    let mut same = vec![3.0; n];
    same[7] = f64::NAN; // an empty bucket in both
    let both = |goodput: Vec<f64>| {
        let c = chart_of(
            &run_figures(&report(
                vec![
                    stat("throughput_per_s", same.clone()),
                    stat("goodput_per_s", goodput),
                ],
                vec![],
            )),
            "throughput",
        );
        let labels: Vec<String> = c.lines.iter().map(|l| l.label.clone()).collect();
        (c.title, labels)
    };
    // One line has no legend: the title says what it is.
    let (title, labels) = both(same.clone());
    assert_eq!(labels, ["throughput = goodput"]);
    assert_eq!(title, "Throughput and goodput: throughput = goodput");
    let mut lower = same.clone();
    lower[3] = 2.0;
    let (title, labels) = both(lower);
    assert_eq!(labels, ["throughput", "goodput"]);
    assert_eq!(title, "Throughput and goodput");
}

#[test]
fn cost_breakdown_keeps_the_groups_that_break_something_down() {
    let bars = |metrics: Vec<MetricSummary>| -> Option<Vec<String>> {
        let r = report(vec![], metrics);
        run_figures(&r)
            .into_iter()
            .find(|f| f.stem == "cost_breakdown")
            .map(|f| match f.figure {
                Figure::Bars(b) => b.rows.into_iter().map(|r| r.0).collect(),
                _ => panic!("bars"),
            })
    };
    // One backend and one route: each is the total; tenants of a pool billed by the hour: 0.
    assert_eq!(
        bars(vec![
            metric("backend.pool.cost_usd", 24.0),
            metric("tenant.chat.cost_usd", 0.0),
            metric("tenant.docs.cost_usd", 0.0),
            metric("route.r.cost_usd", 24.0),
        ]),
        None
    );
    // Two backends break the total down; the tenants still do not.
    assert_eq!(
        bars(vec![
            metric("backend.a.cost_usd", 20.0),
            metric("backend.b.cost_usd", 4.0),
            metric("tenant.chat.cost_usd", 0.0),
            metric("tenant.docs.cost_usd", 0.0),
        ]),
        Some(vec!["backend a".to_string(), "backend b".to_string()])
    );
}

#[test]
fn errors_by_class_without_class_counts_splits_failures_from_timeouts() {
    let counts = |name: &str, per: Vec<f64>| MetricSummary {
        per_replication: per.clone(),
        ..metric(name, per.iter().sum::<f64>() / per.len() as f64)
    };
    let r = report(
        vec![],
        vec![
            counts("attempt_failures", vec![10.0, 14.0, 12.0]),
            counts("timeouts", vec![4.0, 4.0, 7.0]),
        ],
    );
    let figures = run_figures(&r);
    let f = figures
        .iter()
        .find(|f| f.stem == "errors_by_class")
        .unwrap();
    assert!(f.caption.contains("attempt failures less the timeouts"));
    let Figure::Bars(b) = &f.figure else {
        panic!("bars")
    };
    // Server errors per replication 6, 10, 5: mean 7, s = √7, half-width t(0.975, 2)·√(7/3).
    assert_eq!(b.rows[0].0, "server error");
    assert!((b.rows[0].1 - 7.0).abs() < 1e-12);
    let h = 4.302_652_7 * (7.0f64 / 3.0).sqrt();
    assert!(
        (b.rows[0].2 - (7.0 - h).max(0.0)).abs() < 1e-6,
        "{:?}",
        b.rows[0]
    );
    assert!((b.rows[0].3 - (7.0 + h)).abs() < 1e-6, "{:?}", b.rows[0]);
    assert_eq!(b.rows[1].0, "attempt timeout");
    assert!((b.rows[1].1 - 5.0).abs() < 1e-12);
    // A run that reports its classes keeps them; one that counts neither has no chart.
    let classes = report(
        vec![],
        vec![
            metric("attempt_failures", 5.0),
            metric("timeouts", 1.0),
            metric("errors.unavailable", 4.0),
            metric("errors.attempt_timeout", 1.0),
        ],
    );
    let figures = run_figures(&classes);
    let Figure::Bars(b) = &figures
        .iter()
        .find(|f| f.stem == "errors_by_class")
        .unwrap()
        .figure
    else {
        panic!("bars")
    };
    let labels: Vec<&str> = b.rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(labels, ["unavailable", "attempt timeout"]);
    // Every failure a timeout: no server-error bar of zeros.
    let timeouts_only = report(
        vec![],
        vec![metric("attempt_failures", 4.0), metric("timeouts", 4.0)],
    );
    let figures = run_figures(&timeouts_only);
    let Figure::Bars(b) = &figures
        .iter()
        .find(|f| f.stem == "errors_by_class")
        .unwrap()
        .figure
    else {
        panic!("bars")
    };
    let labels: Vec<&str> = b.rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(labels, ["attempt timeout"]);
    let none = report(
        vec![],
        vec![metric("attempt_failures", 0.0), metric("timeouts", 0.0)],
    );
    assert!(!stems(&none).contains(&"errors_by_class"));
}

#[test]
fn work_queue_backlog_is_drawn_per_queue_and_not_when_it_never_waited() {
    let n = BucketGrid::for_window(0, 100 * NANOS_PER_SEC).len();
    let ramp: Vec<f64> = (0..n).map(|i| (i % 7) as f64).collect();
    let figures = run_figures(&report(
        vec![
            stat("work_queue.ingest.backlog", ramp.clone()),
            stat("work_queue.idle.backlog", vec![0.0; n]),
            stat("work_queue.ingest.oldest_age_s", ramp.clone()),
        ],
        vec![],
    ));
    let c = chart_of(&figures, "work_queue_backlog");
    // The idle queue's all-zero backlog gets no line, so the one left is named in the title.
    assert_eq!(c.title, "Work queue backlog: ingest");
    assert_eq!(c.lines.len(), 1);
    assert_eq!(
        c.lines[0].points.iter().map(|p| p.1).collect::<Vec<_>>(),
        ramp
    );
    let none = run_figures(&report(
        vec![stat("work_queue.idle.backlog", vec![0.0; n])],
        vec![],
    ));
    assert!(none.iter().all(|f| f.stem != "work_queue_backlog"));
}
