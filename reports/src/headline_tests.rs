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

/// Durations in the headline read in hours and minutes, not as raw seconds: the unit follows
/// the plots' time axes (seconds to 5 min, minutes to 3 h, hours to 2 days, then days).
#[test]
fn durations_read_in_units_people_use() {
    // 123456.7 s / 3600 = 34.2935 h, shown to three digits.
    assert_eq!(duration_text(123_456.7), "34.3 h");
    assert_eq!(duration_text(43.25), "43.3 s");
    assert_eq!(duration_text(300.0), "300 s");
    // 301 / 60 = 5.0167.
    assert_eq!(duration_text(301.0), "5.02 min");
    assert_eq!(duration_text(10_800.0), "180 min");
    // 10 801 / 3600 = 3.0003.
    assert_eq!(duration_text(10_801.0), "3 h");
    assert_eq!(duration_text(172_800.0), "48 h");
    // 302 400 / 86 400 = 3.5.
    assert_eq!(duration_text(302_400.0), "3.5 d");
    assert_eq!(duration_text(-600.0), "-10 min");
    assert_eq!(duration_text(f64::NAN), "—");
    assert_eq!(duration_unit(f64::INFINITY), ("s", 1.0));
}

/// A key figure in seconds (a training job's lost work, 123 456.7 s) is shown in hours in the
/// terminal and in report.html, its interval scaled with it; other units are left alone.
#[test]
fn a_key_figure_in_seconds_is_shown_in_hours() {
    let reps = [120_000.0, 126_913.4];
    let sets: Vec<MetricSet> = reps
        .iter()
        .map(|&v| {
            let mut s = MetricSet::new();
            s.push("workflow.finetune.lost_work_s", v);
            s.push("workflow.finetune.node_crashes", 2.0);
            s
        })
        .collect();
    let scenario = serde_json::json!({
        "horizon": "7d", "warmup": "0s",
        "report": { "headline": ["workflow.finetune.lost_work_s",
                                 "workflow.finetune.node_crashes"] },
    });
    let r = Report::new("t", 1, 2, scenario, summarize(&sets));
    let figures = key_figures(&r);
    let (mean, ci, unit) = figures[0].1.clone().expect("produced");
    // The mean 123 456.7 s is 34.2935 h.
    assert_eq!((mean.as_str(), unit.as_str()), ("34.2935", "h"));
    let m = &r.metrics.iter().find(|m| m.name == figures[0].0).unwrap();
    let c = m.ci95.unwrap();
    assert_eq!(
        ci,
        format!(
            "[{}, {}]",
            format_number(c.low / 3600.0),
            format_number(c.high / 3600.0)
        )
    );
    let pure = MetricSummary {
        name: "chaos.x.abort_burn_rate".to_string(),
        mean: 3.5,
        ci95: None,
        ci99: None,
        per_replication: vec![],
    };
    assert_eq!(
        figure_text(&pure.name, &pure),
        ("3.5".to_string(), "—".to_string(), String::new())
    );
    let (mean, _, unit) = figures[1].1.clone().expect("produced");
    assert_eq!((mean.as_str(), unit.as_str()), ("2", "crashes"));
    let text = render_headline(&r);
    let row = text
        .lines()
        .find(|l| l.contains("lost_work_s"))
        .expect("a row");
    assert!(
        row.contains("34.2935") && row.trim_end().ends_with(" h"),
        "{row}"
    );
    assert!(!text.contains("123456"), "{text}");
}

fn verdict(met: usize, replications: usize, sli: f64) -> crate::verdict::Verdict {
    crate::verdict::Verdict {
        name: "avail".to_string(),
        met,
        replications,
        sli,
        sli_ci95: None,
        budget_remaining: f64::NAN,
        alerts: f64::NAN,
    }
}

const HOUR: Time = 3_600_000_000_000;

fn headline(met: usize, span: Time, window: Option<Time>, consumed: f64) -> SloHeadline {
    SloHeadline {
        verdict: verdict(met, 2, 0.995),
        objective: Some(0.99),
        objective_text: "99%".to_string(),
        window,
        span,
        consumed,
    }
}

/// The projection scales the spend by window / span, only for a run shorter than its window
/// and longer than nothing; a projection of exactly one budget is met.
#[test]
fn projections_scale_by_window_over_span() {
    // A run as long as its window is judged on the window, not projected.
    let h = headline(2, 24 * HOUR, Some(24 * HOUR), 0.5);
    assert!(!h.partial());
    assert_eq!(h.projected(), 0.5);
    assert_eq!(h.word(), "MET");
    // Longer than the window (a run of 2 d against 1 d): not projected either.
    let h = headline(2, 48 * HOUR, Some(24 * HOUR), 3.0);
    assert!(!h.partial());
    assert_eq!(h.projected(), 3.0);
    // Half the window: 0.5 budgets so far is 1.0 over the window, exactly the budget: met.
    let h = headline(2, 12 * HOUR, Some(24 * HOUR), 0.5);
    assert!(h.partial());
    assert_eq!(h.projected(), 1.0);
    assert_eq!(h.word(), "PROJECTED MET");
    assert!(!h.failed());
    // A third of the window: 0.5 × 3 = 1.5 budgets, over.
    let h = headline(2, 8 * HOUR, Some(24 * HOUR), 0.5);
    assert!((h.projected() - 1.5).abs() < 1e-12, "{}", h.projected());
    assert_eq!(h.word(), "PROJECTED MISSED");
    assert!(h.failed());
    // A run of no measured time projects nothing: the spend as it is, never a division by 0.
    let h = headline(2, 0, Some(24 * HOUR), 0.25);
    assert!(h.partial());
    assert_eq!(h.projected(), 0.25);
    // No window known: never partial.
    let h = headline(2, HOUR, None, 0.25);
    assert!(!h.partial());
    assert_eq!(h.projected(), 0.25);
    // Replications that disagree over a partial window: AT RISK, never projected.
    let h = headline(1, 12 * HOUR, Some(24 * HOUR), 0.1);
    assert_eq!(h.word(), "AT RISK");
    assert!(h.failed());
    let h = headline(0, 12 * HOUR, Some(24 * HOUR), 0.1);
    assert_eq!(h.word(), "MISSED");
    let h = headline(2, 24 * HOUR, Some(24 * HOUR), 0.1);
    assert_eq!(h.word(), "MET");
    assert!(!h.failed());
}

/// An SLI equal to its objective is not below it; the objective's percent is read as a
/// fraction (99% → 0.99), whether the scenario wrote it as text or as a number.
#[test]
fn the_objective_is_read_as_a_fraction() {
    let at = slo_run("1d", "1d", 0.99, 1.0, 1.0);
    let text = slo_headlines(&at)[0].text();
    assert!(!text.contains("below"), "{text}");
    assert!(
        text.contains("≥ 99% over 1d: SLI 0.99 [0.99, 0.99]; 1.00× the budget"),
        "{text}"
    );
    let above = slo_run("1d", "1d", 0.995, 0.5, 1.0);
    let h = &slo_headlines(&above)[0];
    assert_eq!(h.objective, Some(0.99));
    assert!(!h.text().contains("below"), "{}", h.text());
    // A number: the fraction itself.
    let mut numeric = slo_run("1d", "1d", 0.9, 0.5, 1.0);
    numeric.scenario["slos"][0]["objective"] = serde_json::json!(0.995);
    let h = &slo_headlines(&numeric)[0];
    assert_eq!(h.objective, Some(0.995));
    assert_eq!(h.objective_text, "99.5%");
    assert!(h.text().contains("≥ 99.5% over 1d"), "{}", h.text());
    // Neither: unknown, said so.
    numeric.scenario["slos"][0]["objective"] = serde_json::json!(true);
    let h = &slo_headlines(&numeric)[0];
    assert_eq!((h.objective, h.objective_text.as_str()), (None, "?"));
    // The SLO is matched to its own schema by name, among several.
    let mut two = slo_run("1d", "1d", 0.9, 0.5, 1.0);
    two.scenario["slos"] = serde_json::json!([
        { "name": "other", "objective": "50%", "time_window": { "duration": "7d" } },
        { "name": "avail", "objective": "99.9%", "time_window": { "duration": "1d" } },
    ]);
    let h = &slo_headlines(&two)[0];
    assert_eq!(h.objective_text, "99.9%");
    assert_eq!(h.window, Some(24 * HOUR));
    assert_eq!(h.span, 24 * HOUR);
    assert_eq!(h.consumed, 0.5);
}

/// The alert part of a verdict: firings, detection time in readable units, precision and
/// recall, rounded.
#[test]
fn alerts_are_told_with_detection_precision_and_recall() {
    let r = report(
        "1d",
        "1d",
        "99%",
        &[
            ("slo.avail.met", &[1.0, 1.0]),
            ("slo.avail.alerts", &[1.0, 2.0]),
            ("slo.avail.detection_time_s", &[3000.0, 4200.0]),
            ("slo.avail.alert_precision", &[0.5, 1.0]),
            ("slo.avail.alert_recall", &[1.0, 0.8]),
        ],
    );
    // Means: 1.5 firings, 3600 s = 60 min, precision 0.75, recall 0.9.
    assert_eq!(
        alert_text(&r.metrics, "avail").unwrap(),
        "alerts: 1.5 firings per replication, first 60 min after a fault (precision 0.75, \
         recall 0.9)"
    );
    let texts = slo_texts(&r);
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].0, "MET");
    assert!(
        texts[0].1.starts_with("SLO avail: ≥ 99% over 1d"),
        "{:?}",
        texts[0]
    );
    assert!(
        texts[0]
            .2
            .as_deref()
            .unwrap()
            .starts_with("alerts: 1.5 firings"),
        "{:?}",
        texts[0]
    );
    // One firing is one firing.
    let one = report("1d", "1d", "99%", &[("slo.avail.alerts", &[1.0, 1.0])]);
    assert_eq!(
        alert_text(&one.metrics, "avail").unwrap(),
        "alerts: 1 firing per replication"
    );
    // Without alert rules: no alert text at all.
    let quiet = report("1d", "1d", "99%", &[("slo.avail.met", &[1.0, 1.0])]);
    assert_eq!(alert_text(&quiet.metrics, "avail"), None);
    assert_eq!(slo_texts(&quiet)[0].2, None);
    assert_eq!(slo_texts(&quiet)[0].0, "MET");
}

#[test]
fn counts_group_thousands_and_round_by_size() {
    assert_eq!(short(123_456.0), "123,456");
    assert_eq!(short(1000.0), "1,000");
    assert_eq!(short(999.6), "1000");
    assert_eq!(short(150.5), "151");
    assert_eq!(short(5.0), "5");
    assert_eq!(short(f64::NAN), "—");
    assert_eq!(short(f64::INFINITY), "—");
    assert_eq!(percent(0.25), "25%");
    assert_eq!(times(f64::NAN), "—×");
    assert_eq!(times(-2.5), "-2.50×");
    assert_eq!(times(100.0), "100×");
    assert_eq!(times(10.0), "10.0×");
    assert_eq!(times(1.0), "1.00×");
}

/// A key figure's row: name and numbers on one line when they fit 100 columns, else the
/// numbers on a line of their own; the boundary is exact.
#[test]
fn a_key_row_splits_only_past_the_width() {
    let m = |mean: f64, low: f64, high: f64| MetricSummary {
        name: "retries".to_string(),
        mean,
        ci95: Some(sim_core::summary::Interval { low, high }),
        ci99: None,
        per_replication: vec![],
    };
    // `retries` is counted in attempts (8 columns): the row is 2 + 46 (the name field) + 1 +
    // 12 (the mean) + 2 + the interval + 2 + 8 = 73 + the interval, and the interval
    // `[-999999999999, 9999999999]` is 4 + 13 + 10 = 27 columns: exactly 100.
    let exact = m(1.0, -999_999_999_999.0, 9_999_999_999.0);
    let rows = key_row("retries", Some(&exact), 46);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].chars().count(), 100, "{rows:?}");
    assert!(rows[0].starts_with("  retries "), "{rows:?}");
    assert!(
        rows[0].ends_with("[-999999999999, 9999999999]  attempts"),
        "{rows:?}"
    );
    // One digit more (101 columns): the numbers go on the next line, under the name field.
    let over = m(1.0, -999_999_999_999.0, 99_999_999_999.0);
    let rows = key_row("retries", Some(&over), 46);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], "  retries");
    assert_eq!(rows[1].chars().count(), 101, "{rows:?}");
    assert!(rows[1].starts_with(&" ".repeat(49 + 11)), "{rows:?}");
    // A short row: one line whatever the field.
    let small = m(2.0, 1.0, 3.0);
    assert_eq!(
        key_row("retries", Some(&small), 10),
        vec![format!("  {:<10} {:>12}  [1, 3]  attempts", "retries", "2")]
    );
    // A name longer than the field: its own line.
    let rows = key_row("retries", Some(&small), 5);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], "  retries");
    assert_eq!(
        key_row("x", None, 5),
        vec!["  x: not produced by this run".to_string()]
    );
}

/// Breaking at the width: a line of exactly 100 columns stays whole, 101 wraps; runs of
/// spaces do not make empty words.
#[test]
fn wrapping_is_exact_at_the_width() {
    let word = "x".repeat(49);
    let text = format!("{word} {word}  y");
    // 49 + 1 + 49 = 99, then ` y` makes 101: y wraps.
    let lines = wrap(&text, "", "");
    assert_eq!(lines, vec![format!("{word} {word}"), "y".to_string()]);
    // 49 + 1 + 50 = 100 fits; 101 wraps.
    let lines = wrap(&format!("{word} {word}x"), "", "");
    assert_eq!(lines, vec![format!("{word} {word}x")]);
    let lines = wrap(&format!("{word} {word}xy"), "", "> ");
    assert_eq!(lines, vec![word.clone(), format!("> {word}xy")]);
    assert_eq!(wrap("", "a", "b"), vec!["a".to_string()]);
    assert_eq!(wrap("one  two", "", ""), vec!["one two".to_string()]);
}

fn series_report(queue: &[f64]) -> Report {
    use sim_core::series::{BucketGrid, SeriesStat, SeriesSummary};
    let grid = BucketGrid::for_window(0, 3_600_000_000_000);
    let series = SeriesSummary {
        grid,
        series: vec![SeriesStat {
            name: "queue_length_mean".to_string(),
            mean: queue.to_vec(),
            ci95_half_width: vec![0.0; queue.len()],
            peak: None,
        }],
    };
    let scenario = serde_json::json!({ "horizon": "1h", "warmup": "0s" });
    Report::new("t", 1, 2, scenario, Vec::new()).with_series(Some(series), None)
}

/// A queue that grows: the last quarter's mean above 10 and above twice the first quarter's,
/// over at least 8 buckets; missing values are skipped.
#[test]
fn a_growing_queue_is_flagged_by_its_quarters() {
    // 8 buckets: first quarter (2) mean 4, last quarter mean (20 + 22) / 2 = 21.
    let grows = [4.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 22.0];
    let f = flags(&series_report(&grows));
    assert_eq!(
        f,
        vec![
            "queue grows through the run: 4 calls waiting on average in the first quarter, 21 \
             in the last"
                .to_string()
        ]
    );
    // 7 buckets: too few to tell.
    assert!(flags(&series_report(&grows[1..])).is_empty());
    // Exactly twice the first quarter (21 = 2 × 10.5): not growing.
    let twice = [10.0, 11.0, 6.0, 8.0, 10.0, 15.0, 20.0, 22.0];
    assert!(flags(&series_report(&twice)).is_empty());
    // A last quarter of exactly 10: short, not flagged.
    let ten = [1.0, 1.0, 6.0, 8.0, 10.0, 15.0, 10.0, 10.0];
    assert!(flags(&series_report(&ten)).is_empty());
    // NaN buckets are left out of the means: first quarter (4) = 4, last (22) = 22.
    let gaps = [4.0, f64::NAN, 6.0, 8.0, 10.0, 15.0, f64::NAN, 22.0];
    let f = flags(&series_report(&gaps));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].contains("4 calls waiting") && f[0].contains("22 in the last"),
        "{f:?}"
    );
    // A quarter with no value at all: nothing to compare.
    let none = [f64::NAN, f64::NAN, 6.0, 8.0, 10.0, 15.0, 20.0, 22.0];
    assert!(flags(&series_report(&none)).is_empty());
}

#[test]
fn flags_need_their_denominators() {
    // Retries without any backend attempts counted: no share to speak of.
    assert!(flag_run(&[("retries", &[300.0])]).is_empty());
    // An anomaly alert alone fires the cost guard flag.
    let f = flag_run(&[
        ("cost_guard.budget_alerts", &[0.0]),
        ("cost_guard.anomaly_alerts", &[2.0]),
    ]);
    assert_eq!(
        f,
        vec!["cost guard fired: 0 budget and 2 anomaly alerts per replication".to_string()]
    );
    // A preemption storm needs a pool that finished calls, and the re-prefilled tokens are
    // told when counted.
    assert!(flag_run(&[("pool.p.preemptions", &[500.0])]).is_empty());
    let f = flag_run(&[
        ("pool.p.preemptions", &[0.5]),
        ("pool.p.completed", &[10.0]),
    ]);
    assert!(f.is_empty(), "{f:?}");
    let f = flag_run(&[
        ("pool.p.preemptions", &[200.0]),
        ("pool.p.completed", &[1000.0]),
        ("pool.p.reprefill_tokens", &[12_345.0]),
    ]);
    assert_eq!(
        f,
        vec![
            "preemption storm in pool p: 200 preemptions for 1,000 calls finished, 12,345 \
             prompt tokens prefilled again"
                .to_string()
        ]
    );
}

/// The headline block: no SLOs said so; chaos journals and a fired cost guard as lines of
/// their own; the flags under their heading; every line within the width.
#[test]
fn the_headline_block_says_each_part() {
    let none = Report::new(
        "t",
        1,
        1,
        serde_json::json!({ "horizon": "1h" }),
        Vec::new(),
    );
    assert_eq!(render_headline(&none), "SLOs: none defined\n");
    let r = report(
        "10h",
        "10h",
        "99%",
        &[
            ("chaos.kv.ran", &[1.0]),
            ("chaos.kv.aborted", &[0.0]),
            ("chaos.kv.steady_before", &[1.0]),
            ("chaos.kv.steady_after", &[1.0]),
            ("cost_guard.budget_alerts", &[0.0]),
            ("cost_guard.anomaly_alerts", &[0.0]),
            ("cost_guard.max_period_usd", &[5.0]),
            ("backend.a.utilisation", &[0.99]),
        ],
    );
    let text = render_headline(&r);
    assert!(
        text.starts_with("SLOs: none defined\nRAN kv: steady 1/1"),
        "{text}"
    );
    // A quiet cost guard is not a finding.
    assert!(!text.contains("Cost guard"), "{text}");
    assert!(
        text.contains("\nFlags:\n  ! backend a is 99% utilised"),
        "{text}"
    );
    assert!(text.contains("Key figures:"), "{text}");
    assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text}");
    let fired = report(
        "10h",
        "10h",
        "99%",
        &[
            ("cost_guard.budget_alerts", &[1.0]),
            ("cost_guard.anomaly_alerts", &[0.0]),
            ("cost_guard.max_period_usd", &[5.0]),
        ],
    );
    let text = render_headline(&fired);
    assert!(text.contains("\nCost guard: 1 budget alert"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= WIDTH), "{text}");
}
