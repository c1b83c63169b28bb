use super::*;
use sim_core::summary::{MetricSet, summarize};

/// A report of `reps` replications with the given metric values per replication, over a
/// scenario of `horizon` with one SLO of `objective` over `window`.
fn report(horizon: &str, window: &str, objective: &str, values: &[(&str, &[f64])]) -> Report {
    let reps = values[0].1.len();
    let sets: Vec<MetricSet> = (0..reps)
        .map(|i| {
            let mut s = MetricSet::new();
            for (name, v) in values {
                s.push(*name, v[i]);
            }
            s
        })
        .collect();
    let scenario = serde_json::json!({
        "horizon": horizon,
        "warmup": "0s",
        "slos": [{ "name": "avail", "objective": objective,
                   "time_window": { "duration": window, "is_rolling": true } }],
        "report": { "headline": ["success_ratio", "no.such.metric"] },
    });
    Report::new("t", 1, reps as u32, scenario, summarize(&sets))
}

fn slo_run(horizon: &str, window: &str, sli: f64, consumed: f64, met: f64) -> Report {
    report(
        horizon,
        window,
        "99%",
        &[
            ("success_ratio", &[sli, sli]),
            ("slo.avail.sli", &[sli, sli]),
            ("slo.avail.met", &[met, met]),
            ("slo.avail.budget_consumed", &[consumed, consumed]),
            (
                "slo.avail.budget_remaining",
                &[1.0 - consumed, 1.0 - consumed],
            ),
            ("slo.avail.alerts", &[3.0, 3.0]),
        ],
    )
}

#[test]
fn a_covered_window_reads_as_the_budget_multiple() {
    let r = slo_run("1d", "1d", 0.8, 20.0, 0.0);
    let h = slo_headlines(&r);
    assert_eq!(h.len(), 1);
    assert!(!h[0].partial());
    assert_eq!(h[0].word(), "MISSED");
    assert!(h[0].failed());
    let text = h[0].text();
    assert!(
        text.starts_with("MISSED SLO avail: ≥ 99% over 1d: SLI 0.8"),
        "{text}"
    );
    assert!(
        text.contains("below the objective; 20.0× the budget; met 0/2"),
        "{text}"
    );
}

/// A 12-hour run of a 30-day SLO whose SLI is below the objective: the model says met (the
/// budget is not yet gone), the headline says so and labels the projection, which misses.
#[test]
fn a_short_run_labels_observed_and_projected() {
    let r = slo_run("12h", "30d", 0.9, 0.2, 1.0);
    let h = &slo_headlines(&r)[0];
    assert!(h.partial());
    // 0.2 of the budget in 12 h is 0.2 × 60 = 12 budgets over 30 days.
    assert!((h.projected() - 12.0).abs() < 1e-9, "{}", h.projected());
    assert_eq!(h.word(), "PROJECTED MISSED");
    assert!(h.failed());
    let text = h.text();
    for part in [
        "≥ 99% over 30d, run 12h: observed SLI 0.9",
        "below the objective",
        "0.200× the budget so far (met 2/2)",
        "projected over 30d: 12.0× the budget",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(!text.starts_with("MET"), "{text}");
    // Within budget at this rate: a projected MET, which does not fail the gate.
    let ok = slo_run("12h", "30d", 0.995, 0.01, 1.0);
    let h = &slo_headlines(&ok)[0];
    assert_eq!(h.word(), "PROJECTED MET");
    assert!(!h.failed());
    // A budget already gone in the run is missed, not projected.
    let gone = slo_run("12h", "30d", 0.5, 3.0, 0.0);
    assert_eq!(slo_headlines(&gone)[0].word(), "MISSED");
}

#[test]
fn headline_lines_fit_and_name_missing_figures() {
    let r = slo_run("12h", "30d", 0.9, 0.2, 1.0);
    let text = render_headline(&r);
    assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
    assert!(text.starts_with("PROJECTED MISSED SLO avail"), "{text}");
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("; alerts: 3 firings per replication"),
        "{text}"
    );
    assert!(text.contains("Key figures:"), "{text}");
    assert!(text.contains("  success_ratio"), "{text}");
    assert!(
        text.contains("no.such.metric: not produced by this run"),
        "{text}"
    );
    assert_eq!(missing_names(&r), vec!["no.such.metric".to_string()]);
}

#[test]
fn multiples_and_counts_read_plainly() {
    assert_eq!(times(33.434), "33.4×");
    assert_eq!(times(1.234), "1.23×");
    assert_eq!(times(0.82912), "0.829×");
    assert_eq!(times(0.0030827), "0.00308×");
    assert_eq!(times(250.4), "250×");
    assert_eq!(times(0.0), "0×");
    assert_eq!(short(29102.2), "29,102");
    assert_eq!(short(1234567.0), "1,234,567");
    assert_eq!(short(-1500.0), "-1,500");
    assert_eq!(short(180.0), "180");
    assert_eq!(short(43.25), "43.3");
    assert_eq!(short(0.4567), "0.46");
}

#[test]
fn wrapping_keeps_words_and_width() {
    let text = "word ".repeat(60);
    let lines = wrap(&text, "  ", "    ");
    assert!(lines.len() > 2);
    assert!(lines.iter().all(|l| l.chars().count() <= WIDTH));
    assert!(lines[1].starts_with("    word"));
    let words: usize = lines.iter().map(|l| l.split_whitespace().count()).sum();
    assert_eq!(words, 60);
    let budget = format!("{}33.4× the budget", "x ".repeat(48));
    let lines = wrap(&budget, "", "");
    assert!(lines[1].starts_with("33.4× the"), "{lines:?}");
}

fn flag_run(values: &[(&str, &[f64])]) -> Vec<String> {
    let reps = values[0].1.len();
    let sets: Vec<MetricSet> = (0..reps)
        .map(|i| {
            let mut s = MetricSet::new();
            for (name, v) in values {
                s.push(*name, v[i]);
            }
            s
        })
        .collect();
    let scenario = serde_json::json!({ "horizon": "10h", "warmup": "0s" });
    flags(&Report::new(
        "t",
        1,
        reps as u32,
        scenario,
        summarize(&sets),
    ))
}

#[test]
fn flags_say_what_crossed_which_line() {
    let f = flag_run(&[
        ("retries", &[300.0]),
        ("backend.a.attempts", &[1000.0]),
        ("backend.a.utilisation", &[0.97]),
        ("backend.a.breaker_opened", &[20.0]),
        ("pool.p.preemptions", &[500.0]),
        ("pool.p.completed", &[10_000.0]),
        ("cost_guard.budget_alerts", &[1.0]),
        ("cost_guard.anomaly_alerts", &[0.0]),
    ]);
    let all = f.join("\n");
    for part in [
        "backend a is 97% utilised (above 95%)",
        "retries are 30% of attempts (300 of 1,000 per replication)",
        "preemption storm in pool p: 500 preemptions for 10,000 calls finished",
        "breaker of a flaps: opened 20 times per replication (2 an hour)",
        "cost guard fired: 1 budget and 0 anomaly alerts",
    ] {
        assert!(all.contains(part), "{part} in\n{all}");
    }
    // Just under each line: no flag.
    let quiet = flag_run(&[
        ("retries", &[100.0]),
        ("backend.a.attempts", &[1000.0]),
        ("backend.a.utilisation", &[0.95]),
        ("backend.a.breaker_opened", &[4.0]),
        ("pool.p.preemptions", &[100.0]),
        ("pool.p.completed", &[10_000.0]),
        ("cost_guard.budget_alerts", &[0.0]),
        ("cost_guard.anomaly_alerts", &[0.0]),
    ]);
    assert!(quiet.is_empty(), "{quiet:?}");
}

#[test]
fn a_dead_letter_queue_is_flagged_with_its_count_share_and_age() {
    let r = report(
        "1h",
        "1h",
        "99%",
        &[
            ("workflow.rag.dlq", &[10.0, 14.0]),
            ("workflow.rag.dlq_share", &[0.2, 0.3]),
            ("workflow.rag.dlq_oldest_age_s", &[100.0, 200.0]),
            ("workflow.rag.activity.retrieve.dlq", &[1.0, 1.0]),
            ("workflow.ok.dlq", &[0.0, 0.0]),
        ],
    );
    let flags = flags(&r);
    let dlq: Vec<&String> = flags.iter().filter(|f| f.contains("dead-letter")).collect();
    assert_eq!(dlq.len(), 1, "{flags:?}");
    assert!(dlq[0].contains("workflow rag: 12 executions"), "{}", dlq[0]);
    assert!(dlq[0].contains("(25% of those"), "{}", dlq[0]);
    assert!(dlq[0].contains("150 s at the end"), "{}", dlq[0]);
}
