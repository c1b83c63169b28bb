//! The sweep table's tests: columns, verdicts, chosen points and the 100-column limit.

use super::*;
use crate::objective::{Objective, select};
use crate::sweep::MetricLine;

fn plan(params: &[&str], n: usize) -> SweepPlan {
    SweepPlan::new(
        "demo",
        "grid",
        params.iter().map(|p| p.to_string()).collect(),
        vec!["replications=3".to_string()],
        serde_json::json!({}),
        (0..n)
            .map(|i| {
                params
                    .iter()
                    .map(|p| (p.to_string(), (i + 1).to_string()))
                    .collect()
            })
            .collect(),
    )
}

fn point(plan: &SweepPlan, i: usize, cost: f64, success: f64) -> SweepPoint {
    let line = |mean: f64| MetricLine {
        mean: Some(mean),
        ci95_low: Some(mean * 0.99),
        ci95_high: Some(mean * 1.01),
    };
    SweepPoint {
        id: plan.points[i].id.clone(),
        settings: plan.points[i].settings.clone(),
        results_digest: String::new(),
        metrics: vec![
            ("success_ratio".to_string(), line(success)),
            ("latency_p99_s".to_string(), line(2.0)),
            ("cost_usd".to_string(), line(cost)),
            ("goodput_per_s".to_string(), line(1.0)),
        ],
    }
}

#[test]
fn rows_show_parameters_objective_metrics_and_constraint_verdicts() {
    let plan = plan(&["gateway.retry.max_attempts"], 3);
    let points = vec![
        point(&plan, 0, 10.0, 0.999),
        point(&plan, 1, 5.0, 0.95),
        point(&plan, 2, 7.0, 0.995),
    ];
    let objective = Objective::parse("min:cost_usd").unwrap();
    let constraint = Constraint::parse("success_ratio>=0.99").unwrap();
    let s = select(&points, &objective, std::slice::from_ref(&constraint)).unwrap();
    assert_eq!(s.chosen, [2]);
    let t = sweep_table(&plan, &points, &s.columns, &[constraint], &s.chosen);
    assert_eq!(t.metrics, ["cost_usd", "success_ratio"]);
    assert_eq!(t.rows[1].constraints, [false]);
    assert!(t.rows[2].chosen && !t.rows[0].chosen);
    let text = render_sweep_table(&t);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "point   max_attempts  cost_usd  success_ratio  meets",
        "{text}"
    );
    assert!(lines[3].starts_with("0001 "), "{text}");
    assert!(lines[3].ends_with("no #1"), "{text}");
    assert!(lines[4].starts_with("0002 *"), "{text}");
    assert!(lines[4].ends_with("yes"), "{text}");
    assert!(
        text.contains("max_attempts = gateway.retry.max_attempts"),
        "{text}"
    );
    assert!(
        text.contains("constraint #1: success_ratio>=0.99"),
        "{text}"
    );
    assert!(text.contains("* chosen by the objective"), "{text}");
    let html = render_sweep_html(&plan, &t, Some("min:cost_usd"), &[]);
    assert!(html.contains("<tr class=\"chosen\">"), "{html}");
    assert!(
        html.contains("2 of 3 points meet the constraints; 1 chosen"),
        "{html}"
    );
    assert!(html.contains("<td class=\"no\">no #1</td>"), "{html}");
}

#[test]
fn without_an_objective_a_few_headline_metrics_are_shown() {
    let plan = plan(&["a", "b"], 2);
    let points = vec![point(&plan, 0, 1.0, 0.9), point(&plan, 1, 2.0, 0.8)];
    let t = sweep_table(&plan, &points, &[], &[], &[]);
    // In HEADLINE order, the first three the points have.
    assert_eq!(
        t.metrics,
        ["success_ratio", "goodput_per_s", "latency_p99_s"]
    );
    let text = render_sweep_table(&t);
    assert!(
        !text.contains("meets") && !text.contains("chosen"),
        "{text}"
    );
}

#[test]
fn the_table_fits_100_columns_and_says_what_it_left_out() {
    let params = [
        "tenants.0.arrivals.rate",
        "backends.0.concurrency",
        "gateway.retry.max_attempts",
        "gateway.retry.backoff.base",
        "gateway.attempt_timeout",
    ];
    let plan = plan(&params, 60);
    let points: Vec<SweepPoint> = (0..60).map(|i| point(&plan, i, i as f64, 0.99)).collect();
    let columns: Vec<String> = [
        "success_ratio@ci95_low",
        "latency_p99_s",
        "cost_usd",
        "goodput_per_s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let constraint = Constraint::parse("success_ratio>=0.5").unwrap();
    let t = sweep_table(&plan, &points, &columns, &[constraint], &[55]);
    let text = render_sweep_table(&t);
    for l in text.lines() {
        assert!(l.chars().count() <= 100, "{l:?} is too wide");
    }
    assert!(
        text.contains("columns in sweep.html and sweep.csv"),
        "{text}"
    );
    // The constraint verdict is always kept, and the chosen point is listed past the limit.
    assert!(text.lines().next().unwrap().ends_with("meets"), "{text}");
    assert!(text.contains("0055 *"), "{text}");
    assert!(text.contains("more points in sweep.html"), "{text}");
}
