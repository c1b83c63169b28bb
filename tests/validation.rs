//! VALIDATION.md V1–V6 through the public path: the built-in examples run by the `faultline`
//! binary, read back from `report.json`. Each check asserts the exact value lies in the run's
//! 99% confidence interval (fixed seeds, so deterministic) and states the half-width required.

mod common;
use common::{assert_in_ci99, metric, run_report};
use serde_json::Value;

/// V4, Little's law: L = λ·W with L (time-average number in system) and W (mean time in system
/// of completed requests) measured independently; λ is the rate of admitted arrivals.
fn assert_littles_law(report: &Value) {
    let l = metric(report, "number_in_system_mean").mean;
    let lambda = metric(report, "admitted_rate_per_s").mean;
    let w = metric(report, "time_in_system_mean_s").mean;
    let ratio = l / (lambda * w);
    assert!(
        (ratio - 1.0).abs() < 0.01,
        "Little's law: L / (λW) = {ratio}"
    );
}

#[test]
fn v1_mm1() {
    let (r, _) = run_report("example:mm1", &[]);
    // λ = 0.8, μ = 1: Wq = 4, W = 5, L = 4; half-widths at most 6% of each value.
    assert_in_ci99(&r, "queue_wait_mean_s", 4.0, 0.25);
    assert_in_ci99(&r, "time_in_system_mean_s", 5.0, 0.25);
    assert_in_ci99(&r, "number_in_system_mean", 4.0, 0.25);
    assert_in_ci99(&r, "backend.server.utilisation", 0.8, 0.005);
    assert_littles_law(&r);
}

#[test]
fn v2_mmc_erlang_c() {
    let (r, _) = run_report("example:mmc", &[]);
    // λ = 3.2, μ = 1, c = 4.
    assert_in_ci99(&r, "queue_wait_probability", 0.596_432, 0.01);
    assert_in_ci99(&r, "queue_wait_mean_s", 0.745_541, 0.04);
    assert_in_ci99(&r, "time_in_system_mean_s", 1.745_541, 0.04);
    assert_in_ci99(&r, "number_in_system_mean", 5.585_730, 0.12);
    assert_littles_law(&r);
}

#[test]
fn v3_erlang_b_exponential() {
    let (r, _) = run_report("example:erlang-b", &[]);
    // c = 10, a = 7: P(block) = 0.078741, half-width at most 0.002.
    assert_in_ci99(&r, "block_probability", 0.078_741, 0.002);
    assert_littles_law(&r);
}

#[test]
fn v3_erlang_b_is_insensitive_to_the_service_distribution() {
    // Lognormal with mu = -0.5, sigma = 1 has mean exp(-0.5 + 0.5) = 1 s, like the exponential.
    let (r, _) = run_report(
        "example:erlang-b",
        &[
            "--set",
            "backends.trunks.service={ dist = \"lognormal_params\", mu = -0.5, sigma = 1.0 }",
        ],
    );
    assert_in_ci99(&r, "block_probability", 0.078_741, 0.002);
    // Also with a deterministic service time of the same mean.
    let (r, _) = run_report(
        "example:erlang-b",
        &[
            "--set",
            "backends.trunks.service={ dist = \"deterministic\", value = \"1s\" }",
        ],
    );
    assert_in_ci99(&r, "block_probability", 0.078_741, 0.002);
}

#[test]
fn v5_retries_as_bernoulli_feedback() {
    let (r, _) = run_report("example:retry-feedback", &[]);
    // λ = 0.5, μ = 1, p = 0.2, immediate re-join: effective ρ = 0.625, T = 3.3333.
    assert_in_ci99(&r, "backend.server.utilisation", 0.625, 0.005);
    assert_in_ci99(&r, "time_in_system_mean_s", 10.0 / 3.0, 0.1);
    assert_in_ci99(&r, "attempts_per_request", 1.25, 0.01);
    assert_littles_law(&r);
}

#[test]
fn v6_retry_amplification() {
    let (r, _) = run_report("example:retry-amplification", &[]);
    // p = 0.5, 4 attempts: success 1 − p⁴, attempts (1 − p⁴)/(1 − p).
    assert_in_ci99(&r, "success_ratio", 0.9375, 0.003);
    assert_in_ci99(&r, "attempts_per_request", 1.875, 0.005);
}

#[test]
fn v4_littles_law_holds_in_the_quickstart() {
    let (r, _) = run_report("example:quickstart", &[]);
    assert_littles_law(&r);
}

#[test]
fn quickstart_retries_buy_success_with_extra_attempts() {
    // The quickstart's documented finding: with three attempts nearly every request succeeds;
    // without retries about 3% of requests (the failure probability plus timeouts) fail.
    let (with, _) = run_report("example:quickstart", &[]);
    let (without, _) = run_report(
        "example:quickstart",
        &["--set", "gateway.retry.max_attempts=1"],
    );
    let s_with = metric(&with, "success_ratio");
    let s_without = metric(&without, "success_ratio");
    assert!(s_with.ci99.0 > 0.999, "with retries: {}", s_with.mean);
    assert!(
        s_without.ci99.1 < 0.975 && s_without.ci99.0 > 0.96,
        "without retries: {}",
        s_without.mean
    );
    assert!(metric(&with, "attempts_per_request").mean > 1.02);
    assert_eq!(metric(&without, "attempts_per_request").mean, 1.0);
}
