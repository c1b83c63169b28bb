//! The resilience examples' documented findings.

use crate::common::resilience::*;
use crate::common::*;
use serde_json::Value;

#[test]
fn fallback_chain_keeps_the_availability_slo_through_the_outage() {
    let (r, _) = run_report("example:fallback-chain", &[]);
    assert_eq!(mean(&r, "slo.availability.met"), 1.0);
    assert_eq!(mean(&r, "slo.availability.alerts"), 0.0);
    let sli = mean(&r, "slo.availability.sli");
    assert!((0.9997..0.99995).contains(&sli), "{sli}");
    assert!(mean(&r, "slo.availability.budget_consumed") < 0.1);
    // The cache answers about half the calls; the outage is 4 of 24 hours, so the second
    // provider answers a sixth of the calls the fresh cache did not (the depth shares are of
    // those calls).
    let hits = mean(&r, "route.chat.cache_hit_ratio");
    assert!((0.5..0.6).contains(&hits), "{hits}");
    let depth1 = mean(&r, "fallback.depth1_share");
    let expected = 4.0 / 24.0;
    assert!((depth1 - expected).abs() < 0.005, "{depth1} vs {expected}");
    assert!(mean(&r, "route.chat.cache_stale_served") > 0.0);
    let breaker_503s = mean(&r, "errors.unavailable");
    assert!(breaker_503s < 2_000.0, "{breaker_503s}");
    let (never_opens, _) = run_report(
        "example:fallback-chain",
        &[
            "--set",
            "backends.llm-api.circuit_breaker.minimum_calls=1000000",
        ],
    );
    // Three attempts at the dead provider for each of the outage's ~6,450 cache misses.
    let storm = mean(&never_opens, "errors.unavailable");
    assert!((18_000.0..20_500.0).contains(&storm), "{storm}");
}

#[test]
fn breaker_vs_retry_storm_shows_the_backlog_outliving_the_outage() {
    let (r, _) = run_report("example:breaker-vs-retry-storm", &[]);
    assert!(mean(&r, "latency_p99_s") < 15.0);
    assert!(mean(&r, "backend.primary.breaker_rejected") > 20_000.0);
    let (storm, _) = run_report(
        "example:breaker-vs-retry-storm",
        &[
            "--set",
            "backends.primary.circuit_breaker.minimum_calls=1000000",
        ],
    );
    assert!(mean(&storm, "latency_p50_s") > 100.0);
    assert!(mean(&storm, "latency_p99_s") > 1_200.0);
    assert!(mean(&storm, "queue_wait_mean_s") > 300.0);
}

#[test]
fn fair_share_protects_the_interactive_tenant_from_the_bursts() {
    let (fair, _) = run_report("example:fair-share", &[]);
    let (fifo, _) = run_report("example:fair-share", &["--set", "gateway.scheduling=fifo"]);
    assert!(mean(&fair, "tenant.interactive.latency_p99_s") < 10.0);
    assert!(mean(&fifo, "tenant.interactive.latency_p99_s") > 100.0);
    // The batch tenant is served as much: its spend is within 2%.
    let (a, b) = (
        mean(&fair, "tenant.batch.cost_usd"),
        mean(&fifo, "tenant.batch.cost_usd"),
    );
    assert!((a - b).abs() / b < 0.02, "{a} vs {b}");
}

/// Mean of a series over the buckets that start in `[from_s, to_s)`, from a report.
fn series_mean(report: &Value, name: &str, from_s: f64, to_s: f64) -> f64 {
    let s = &report["series"];
    let width = s["bucket_width_ns"].as_f64().unwrap() / 1e9;
    let values = s["values"][name]["mean"]
        .as_array()
        .unwrap_or_else(|| panic!("no series `{name}`"));
    let picked: Vec<f64> = values
        .iter()
        .enumerate()
        .filter(|(i, _)| (from_s..to_s).contains(&(*i as f64 * width)))
        .map(|(_, v)| v.as_f64().unwrap())
        .collect();
    picked.iter().sum::<f64>() / picked.len() as f64
}

/// When a series first reaches `level` at or after `from_s`: the start of that bucket.
fn first_reaching(report: &Value, name: &str, from_s: f64, level: f64) -> Option<f64> {
    let s = &report["series"];
    let width = s["bucket_width_ns"].as_f64().unwrap() / 1e9;
    s["values"][name]["mean"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, v)| (i as f64 * width, v.as_f64().unwrap()))
        .find(|&(t, v)| t >= from_s && v >= level)
        .map(|(t, _)| t)
}

#[test]
fn retry_storm_stays_collapsed_with_immediate_retries_and_recovers_under_a_budget() {
    // As written: immediate retries, 3 attempts, no budget. Before the spike (60 s) goodput is
    // the offered 40/s; from shortly after it to the end of the run, none at all.
    let (storm, _) = run_report("example:retry-storm", &[]);
    let before = series_mean(&storm, "goodput_per_s", 10.0, 60.0);
    assert!((37.0..43.0).contains(&before), "before the spike {before}");
    let late = series_mean(&storm, "goodput_per_s", 300.0, 600.0);
    assert!(late < 0.5, "the storm recovered: {late}/s");
    assert!(mean(&storm, "attempts_per_request") > 2.7);
    // Retries feed the provider's load: thousands in service, against ~67 before the spike.
    assert!(mean(&storm, "backend.llm-api.busy_mean") > 2_000.0);
    // Backoff with jitter alone spreads the retries but sends as many: still collapsed.
    let (backoff, _) = run_report(
        "example:retry-storm",
        &["--set", "gateway.retry.backoff=full_jitter"],
    );
    assert!(series_mean(&backoff, "goodput_per_s", 300.0, 600.0) < 0.5);
    // With a Finagle budget the retries stop multiplying the load: goodput returns to the
    // offered rate within a minute of the spike's end and stays there.
    let (fixed, _) = run_report(
        "example:retry-storm",
        &[
            "--set",
            "gateway.retry.backoff=full_jitter",
            "--set",
            "gateway.retry.budget={ kind = \"finagle\" }",
        ],
    );
    let recovered = first_reaching(&fixed, "goodput_per_s", 66.0, 36.0).expect("recovers");
    assert!(recovered < 125.0, "recovered only at {recovered} s");
    let late = series_mean(&fixed, "goodput_per_s", 300.0, 600.0);
    assert!((38.0..42.0).contains(&late), "after recovery {late}/s");
    assert!(mean(&fixed, "retry_budget.denied") > 500.0);
    assert!(mean(&fixed, "attempts_per_request") < 1.1);
    // Idempotency keys defuse the storm another way: a resend attaches to the attempt still
    // running instead of adding load, so the immediate retries never pile up.
    let (keyed, _) = run_report(
        "example:retry-storm",
        &["--set", "gateway.idempotency={ keys = true }"],
    );
    let late = series_mean(&keyed, "goodput_per_s", 300.0, 600.0);
    assert!((38.0..42.0).contains(&late), "with keys {late}/s");
    let duplicates = mean(&keyed, "idempotency.duplicates");
    assert!(duplicates > 500.0);
    assert_eq!(mean(&keyed, "idempotency.absorbed"), duplicates);
    assert_eq!(mean(&keyed, "idempotency.duplicate_work_s"), 0.0);
}

#[test]
fn latency_grows_with_the_attempts_in_service_abandoned_ones_included() {
    // Deterministic 1 s service, each attempt already in service adds 50%, 1.2 s timeout, no
    // retries. Call A (0 s) starts alone: 1 s, answered. Call B (0.1 s) finds A in service:
    // 1.5 s, so it times out at 1.3 s; the provider works on it to 1.6 s. Call C (1.4 s) finds
    // only the abandoned B: 1.5 s again, and times out too. Were abandoned attempts not
    // counted, C would take 1 s and be answered.
    let trace = trace_file("crowding", &[(0, 10, 10), (100, 10, 10), (1_400, 10, 10)]);
    let report = run_with(
        "crowding",
        r#"
replications = 1
horizon = "10s"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "1s" }
latency_per_inflight = 0.5
[gateway]
attempt_timeout = "1200ms"
"#,
        Some(&trace),
    );
    assert_eq!(mean(&report, "completions"), 3.0);
    assert_eq!(mean(&report, "timeouts"), 2.0);
    assert!((mean(&report, "success_ratio") - 1.0 / 3.0).abs() < 1e-12);
    // Busy time: A 1 s, B 1.5 s, C 1.5 s over 10 s.
    assert!((mean(&report, "backend.api.busy_mean") - 0.4).abs() < 1e-9);
}

#[test]
fn noisy_neighbor_starves_interactive_tenants_under_fifo_and_fairness_or_token_limits_fix_it() {
    let (fifo, _) = run_report("example:noisy-neighbor", &[]);
    let (fair, _) = run_report(
        "example:noisy-neighbor",
        &["--set", "gateway.scheduling=weighted_fair"],
    );
    let (limited, _) = run_report(
        "example:noisy-neighbor",
        &[
            "--set",
            "gateway.rate_limits=[{ scope = \"tenant\", unit = \"tokens\", limit = 1500000, per = \"1m\", on_limit = \"delay\" }]",
        ],
    );
    // Under FIFO the interactive tenants wait behind the burst for minutes.
    for tenant in ["chat", "search"] {
        let p99 = format!("tenant.{tenant}.latency_p99_s");
        assert!(
            mean(&fifo, &p99) > 500.0,
            "{tenant} FIFO {}",
            mean(&fifo, &p99)
        );
        assert!(
            mean(&fair, &p99) < 15.0,
            "{tenant} fair {}",
            mean(&fair, &p99)
        );
        assert!(
            mean(&limited, &p99) < 20.0,
            "{tenant} limited {}",
            mean(&limited, &p99)
        );
    }
    // The token limit holds the bulk calls back (delays, not rejections) ...
    assert!(mean(&limited, "rate_limit.delayed") > 1_000.0);
    assert_eq!(mean(&limited, "rate_limit.rejected"), 0.0);
    // ... and every fix serves the bulk tenant in full (the same spend) while it waits longer.
    let bulk_cost = mean(&fifo, "tenant.bulk.cost_usd");
    for fixed in [&fair, &limited] {
        let c = mean(fixed, "tenant.bulk.cost_usd");
        assert!(
            (c - bulk_cost).abs() / bulk_cost < 0.005,
            "{c} vs {bulk_cost}"
        );
        assert!(
            mean(fixed, "tenant.bulk.time_in_system_mean_s")
                > mean(&fifo, "tenant.bulk.time_in_system_mean_s")
        );
    }
}

#[test]
fn a_breaker_counting_soft_failures_opens_on_the_degraded_model_and_the_backup_answers() {
    let (on, _) = run_report("example:breaker-soft-failures", &[]);
    // Not before the silent update at 2 h: detected violations stay near 0.8% of calls.
    let early = series_mean(&on, "backend.primary.breaker_openings", 0.0, 7_200.0);
    assert_eq!(early, 0.0, "the breaker opened before the update");
    assert!(mean(&on, "backend.primary.breaker_opened") >= 5.0);
    // After it, the breaker keeps most calls away from the primary: the update covers 4 of
    // the 6 hours, and the backup answers most of that time.
    let away = mean(&on, "backend.primary.breaker_open_share")
        + mean(&on, "backend.primary.breaker_half_open_share");
    assert!((0.5..0.667).contains(&away), "open or half-open {away}");
    let backup = mean(&on, "fallback.depth1_share");
    assert!((0.5..0.667).contains(&backup), "backup share {backup}");
    let (never, _) = run_report(
        "example:breaker-soft-failures",
        &[
            "--set",
            "backends.primary.circuit_breaker.minimum_calls=1000000",
        ],
    );
    assert_eq!(mean(&never, "fallback.depth1_share"), 0.0);
    // Wrong answers reaching users: under a third with the breaker.
    let (wrong_on, wrong_never) = (mean(&on, "wrong_accepted"), mean(&never, "wrong_accepted"));
    assert!(wrong_on < wrong_never / 3.0, "{wrong_on} vs {wrong_never}");
    // The price: the backup is dearer.
    assert!(mean(&on, "cost_usd") > mean(&never, "cost_usd"));
}
