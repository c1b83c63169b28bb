//! The findings of the examples of the overload and streaming mechanisms (`aws-retry-quota`,
//! `adaptive-concurrency`, `streaming-failures`), reproduced from their runs against hand
//! computations; and an SLO over broken streams against the count of broken streams.

mod common;

use common::{mean, per_rep, run_report, run_scenario, scratch_dir};

#[test]
fn aws_retry_quota_pays_for_capacity_over_cost_retries_into_the_outage() {
    let (quota, _) = run_report("example:aws-retry-quota", &[]);
    let (unlimited, _) = run_report(
        "example:aws-retry-quota",
        &[
            "--set",
            "gateway.retry.quota.capacity=100000000",
            "--set",
            "gateway.retry.quota.tenants.batch.capacity=100000000",
        ],
    );
    // Into the 503s: chat's 500 tokens and batch's 100 at 5 a retry, 120 retries, plus the
    // few tokens answers of calls started before the outage give back in its first seconds.
    for r in per_rep(&quota, "retries.unavailable") {
        assert!((120.0..=126.0).contains(&r), "{r}");
    }
    // Without a binding quota every failing call of the outage makes both its retries: about
    // 2 × 20/s × 120 s = 4,800.
    let all = mean(&unlimited, "retries.unavailable");
    assert!((all - 4800.0).abs() < 0.05 * 4800.0, "{all}");
    // Each tenant runs dry once in the outage and its denials are about one per failing call
    // (10/s × 120 s), less the calls its bucket paid for.
    for t in ["chat", "batch"] {
        let d = mean(&quota, &format!("tenant.{t}.retry_quota.denied"));
        assert!((1000.0..1300.0).contains(&d), "{t}: {d}");
    }
    // The transient errors out of the outage are all retried but for the odd one in flight
    // when a bucket ran dry.
    assert!(mean(&quota, "retries.server_error") >= mean(&quota, "errors.server_error") - 2.0);
    // Retries into an outage buy nothing: success is the same within a percent.
    let (s0, s1) = (
        mean(&quota, "success_ratio"),
        mean(&unlimited, "success_ratio"),
    );
    assert!((s0 - s1).abs() < 0.01, "{s0} vs {s1}");
    assert!(mean(&unlimited, "attempts_per_request") > 1.3 * mean(&quota, "attempts_per_request"));
}

#[test]
fn adaptive_concurrency_settles_near_the_providers_slots() {
    let (vegas, _) = run_report("example:adaptive-concurrency", &[]);
    let (gradient2, _) = run_report(
        "example:adaptive-concurrency",
        &[
            "--set",
            "gateway.concurrency_limit={ algorithm = \"gradient2\", initial_limit = 5, min_limit = 1 }",
        ],
    );
    let limit = |r| mean(r, "backend.api.concurrency_limit_mean");
    // Within 10% of the 20 slots the gateway was not told of.
    assert!((18.0..=22.0).contains(&limit(&vegas)), "{}", limit(&vegas));
    // The excess (10 of 30 calls a second, over the 9 measured minutes: about 5,400) and
    // more is turned away; what gets through hardly waits.
    assert!(mean(&vegas, "concurrency_limit.rejected") > 5400.0);
    assert!(mean(&vegas, "queue_wait_mean_s") < 0.1);
    // Gradient2 lets a standing queue build: a higher limit and a longer wait.
    assert!(limit(&gradient2) > 1.5 * limit(&vegas));
    assert!(mean(&gradient2, "queue_wait_mean_s") > 5.0 * mean(&vegas, "queue_wait_mean_s"));
    // Nothing is served beyond the provider's 20 calls a second.
    assert!(mean(&vegas, "goodput_per_s") <= 20.0);
}

#[test]
fn streaming_failures_break_p_squared_of_jobs_and_resume_is_faster() {
    let (restart, _) = run_report("example:streaming-failures", &[]);
    let (resume, _) = run_report(
        "example:streaming-failures",
        &["--set", "backends.api.stream_failures.retry=resume"],
    );
    // Two attempts, each breaking with p = 0.05 (every answer has 200 tokens or more): a job
    // ends broken with p² = 0.0025. Over 4 × ~12,000 jobs the binomial standard error of the
    // share is 0.00023: 4 of them.
    let sli = mean(&restart, "slo.unbroken-streams.sli");
    assert!((1.0 - sli - 0.0025).abs() < 0.00092, "{sli}");
    assert_eq!(mean(&restart, "slo.unbroken-streams.met"), 0.0);
    // About p of attempts break, at a uniform point: (200 + 400) / 2 / 2 = 150 tokens each.
    let broken = mean(&restart, "backend.api.streams_broken");
    let tokens = mean(&restart, "backend.api.broken_stream_tokens") / broken;
    assert!((tokens - 150.0).abs() < 10.0, "{tokens}");
    assert!(mean(&resume, "latency_p99_s") < 0.8 * mean(&restart, "latency_p99_s"));
    assert!(mean(&resume, "cost_usd") < mean(&restart, "cost_usd"));
}

#[test]
fn an_slo_over_broken_streams_counts_exactly_the_jobs_whose_stream_broke() {
    // One attempt: every broken stream ends its job `broken_stream`, so the SLO's bad units
    // are the backend's broken streams, replication by replication, and its total the jobs.
    let toml = r#"
seed = 5
replications = 3
horizon = "5m"

[[tenants]]
name = "chat"
backend = "api"
arrivals = { process = "poisson", rate = "10/s" }
output_tokens = { dist = "uniform", low = 2, high = 300 }

[[backends]]
name = "api"
concurrency = "unlimited"
ttft = { dist = "lognormal", median = "300ms", p99 = "1s" }
per_output_token = { dist = "deterministic", value = "10ms" }
stream_failures = { probability = 0.1 }
errors = { server_error = 0.05 }

[gateway.retry]
max_attempts = 1

[[slos]]
name = "broken"
objective = "99"
time_window = { duration = "5m" }
indicator = { kind = "ratio", good = ["correct", "failed"], total = ["correct", "failed", "broken_stream"] }

[[slos]]
name = "availability"
objective = "99"
time_window = { duration = "5m" }
indicator = { kind = "availability" }
"#;
    let r = run_scenario(&scratch_dir("broken-slo"), toml, &[]);
    let broken = per_rep(&r, "backend.api.streams_broken");
    let done = per_rep(&r, "completions");
    let failed = per_rep(&r, "errors.server_error");
    let sli = per_rep(&r, "slo.broken.sli");
    let availability = per_rep(&r, "slo.availability.sli");
    for i in 0..sli.len() {
        assert!(broken[i] > 0.0 && failed[i] > 0.0);
        let share = 1.0 - broken[i] / done[i];
        assert!((sli[i] - share).abs() < 1e-12, "{} vs {share}", sli[i]);
        // Availability counts a broken stream as bad, as a failure.
        let up = 1.0 - (broken[i] + failed[i]) / done[i];
        assert!(
            (availability[i] - up).abs() < 1e-12,
            "{} vs {up}",
            availability[i]
        );
    }
}
