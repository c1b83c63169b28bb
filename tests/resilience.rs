//! The resilience policies through the gateway, run the way a user runs them: fallback chains,
//! circuit breakers, cooldowns, retry budgets, deadlines, gateway rate limits, admission control
//! and fair scheduling. The policies' own state machines are unit- and property-tested in
//! `policies`; these tests check that the gateway wires them in the documented order, with
//! deterministic traces where the expected counts can be worked out by hand, and 99% intervals at
//! fixed seeds otherwise.

mod common;

use common::{faultline, mean, run_report, run_scenario, scratch_dir, write_trace};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Writes `scenario` (TOML, with `TRACE` standing for `trace`'s path) into a fresh directory,
/// runs it and returns the report.
fn run_with(label: &str, scenario: &str, trace: Option<&Path>) -> Value {
    let text = match trace {
        Some(t) => scenario.replace("TRACE", &t.display().to_string()),
        None => scenario.to_string(),
    };
    run_scenario(&scratch_dir(label), &text, &[])
}

fn run(label: &str, scenario: &str) -> Value {
    run_with(label, scenario, None)
}

/// Validates `scenario` and returns the exit code and standard error.
fn validate(label: &str, scenario: &str) -> (Option<i32>, String) {
    let dir = scratch_dir(label);
    let file = dir.join("bad.toml");
    std::fs::write(&file, scenario).unwrap();
    let out = faultline(&["validate", file.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn has(report: &Value, name: &str) -> bool {
    report["metrics"][name].is_object()
}

/// A Mooncake-format trace in a fresh directory: one request per `(timestamp ms, input, output)`.
fn trace_file(label: &str, rows: &[(u64, u32, u32)]) -> PathBuf {
    let path = scratch_dir(label).join("trace.jsonl");
    write_trace(&path, rows);
    path
}

const TRACE_ARRIVALS: &str = r#"{ process = "trace", path = "TRACE" }"#;
const POISSON: &str = r#"{ process = "poisson", rate = "1/s" }"#;

/// `n` calls, one at every whole second from 0 s.
fn every_second(label: &str, n: u64) -> PathBuf {
    let rows: Vec<(u64, u32, u32)> = (0..n).map(|k| (k * 1000, 100, 10)).collect();
    trace_file(label, &rows)
}

// ---------------------------------------------------------------------------------------------
// Fallback chains

/// One call a second for 600 s; the primary is down from 100.5 s to 300.5 s, so exactly the
/// 200 calls at 101 … 300 s meet the outage. Errors take the 100 ms service time.
const OUTAGE_WITH_BACKUP: &str = r#"
replications = 1
horizon = "15m"
[[tenants]]
name = "t"
route = "chat"
arrivals = { process = "trace", path = "TRACE" }
[[routes]]
name = "chat"
backend = "main"
FALLBACKS
[[backends]]
name = "main"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
outages = [{ start = "100500ms", duration = "200s", mode = "OUTAGE_MODE" }]
[[backends]]
name = "backup"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
"#;

fn outage_with_backup(fallbacks: &str, mode: &str) -> String {
    OUTAGE_WITH_BACKUP
        .replace("FALLBACKS", fallbacks)
        .replace("OUTAGE_MODE", mode)
}

#[test]
fn a_fallback_answers_every_call_of_the_primarys_outage() {
    let trace = every_second("fb-outage-trace", 600);
    let with = run_with(
        "fb-outage",
        &outage_with_backup("fallbacks = [\"backup\"]", "server_error"),
        Some(&trace),
    );
    assert_eq!(mean(&with, "arrivals"), 600.0);
    assert_eq!(mean(&with, "success_ratio"), 1.0);
    assert_eq!(mean(&with, "errors.unavailable"), 200.0);
    assert_eq!(mean(&with, "fallbacks"), 200.0);
    assert_eq!(mean(&with, "degraded"), 200.0);
    assert_eq!(mean(&with, "default_responses"), 0.0);
    assert_eq!(mean(&with, "backend.backup.attempts"), 200.0);
    assert_eq!(mean(&with, "backend.main.attempts"), 600.0);
    assert_eq!(mean(&with, "fallback.depth0_share"), 400.0 / 600.0);
    assert_eq!(mean(&with, "fallback.depth1_share"), 200.0 / 600.0);
    // A degraded answer is an answer, but not goodput.
    assert!((mean(&with, "goodput_per_s") - 400.0 / 900.0).abs() < 1e-12);
    // The failed attempt and the fallback's service both count: 200 ms for a degraded call.
    let t = (400.0 * 0.1 + 200.0 * 0.2) / 600.0;
    assert!((mean(&with, "time_in_system_mean_s") - t).abs() < 1e-9);

    // Without the chain the same 200 calls fail, and no fallback metric is reported.
    let without = run_with(
        "fb-outage-none",
        &outage_with_backup("", "server_error"),
        Some(&trace),
    );
    assert_eq!(mean(&without, "success_ratio"), 400.0 / 600.0);
    assert_eq!(mean(&without, "backend.backup.attempts"), 0.0);
    assert!(!has(&without, "fallbacks"));
}

#[test]
fn the_depth_one_share_estimates_the_outage_fraction_under_poisson_traffic() {
    // 20 of 60 minutes down: a third of Poisson arrivals meet the outage.
    let report = run(
        "fb-poisson",
        r#"
replications = 10
horizon = "1h"
[[tenants]]
name = "t"
route = "chat"
arrivals = { process = "poisson", rate = "2/s" }
[[routes]]
name = "chat"
backend = "main"
fallbacks = ["backup"]
[[backends]]
name = "main"
concurrency = "unlimited"
service = { dist = "exponential", mean = "200ms" }
error_latency = { dist = "deterministic", value = "50ms" }
outages = [{ start = "20m", duration = "20m" }]
[[backends]]
name = "backup"
concurrency = "unlimited"
service = { dist = "exponential", mean = "400ms" }
"#,
    );
    assert!((mean(&report, "backend.main.outage_fraction") - 1.0 / 3.0).abs() < 1e-12);
    assert!(mean(&report, "success_ratio") > 0.9999);
    common::assert_in_ci99(&report, "fallback.depth1_share", 1.0 / 3.0, 0.01);
}

#[test]
fn a_context_overflow_goes_to_the_first_backend_with_a_large_enough_window() {
    // Short prompts fit the primary (8k); long ones (10,000 + 100) do not, skip the 4k backend
    // and land on the 32k one.
    let scenario = |fallbacks: &str| {
        format!(
            r#"
replications = 1
horizon = "10m"
[[tenants]]
name = "short"
route = "chat"
arrivals = {{ process = "poisson", rate = "2/s" }}
prompt_tokens = {{ dist = "fixed", value = 1000 }}
output_tokens = {{ dist = "fixed", value = 100 }}
[[tenants]]
name = "long"
route = "chat"
arrivals = {{ process = "poisson", rate = "1/s" }}
prompt_tokens = {{ dist = "fixed", value = 10000 }}
output_tokens = {{ dist = "fixed", value = 100 }}
[[routes]]
name = "chat"
backend = "small"
{fallbacks}
[[backends]]
name = "small"
concurrency = "unlimited"
context_window = 8000
service = {{ dist = "deterministic", value = "100ms" }}
[[backends]]
name = "tiny"
concurrency = "unlimited"
context_window = 4000
service = {{ dist = "deterministic", value = "100ms" }}
[[backends]]
name = "big"
concurrency = "unlimited"
context_window = 32000
service = {{ dist = "deterministic", value = "100ms" }}
"#
        )
    };
    let report = run("fb-context", &scenario("fallbacks = [\"tiny\", \"big\"]"));
    let (short, long) = (
        mean(&report, "tenant.short.arrivals"),
        mean(&report, "tenant.long.arrivals"),
    );
    assert!(long > 500.0, "{long}");
    assert_eq!(mean(&report, "success_ratio"), 1.0);
    assert_eq!(mean(&report, "context_overflows"), long);
    assert_eq!(mean(&report, "backend.big.attempts"), long);
    assert_eq!(mean(&report, "backend.tiny.attempts"), 0.0);
    assert_eq!(mean(&report, "backend.small.attempts"), short);
    assert_eq!(mean(&report, "degraded"), long);

    // Without the chain, every long prompt fails without reaching a backend.
    let without = run("fb-context-none", &scenario(""));
    assert_eq!(mean(&without, "tenant.long.success_ratio"), 0.0);
    assert_eq!(mean(&without, "tenant.short.success_ratio"), 1.0);
    assert_eq!(mean(&without, "backend.big.attempts"), 0.0);
}

#[test]
fn a_default_response_answers_when_every_backend_is_down() {
    let report = run(
        "fb-default",
        r#"
replications = 1
horizon = "10m"
[[tenants]]
name = "t"
route = "chat"
arrivals = { process = "poisson", rate = "2/s" }
[[routes]]
name = "chat"
backend = "main"
fallbacks = ["backup"]
fallback = { default_response = true }
[[backends]]
name = "main"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
outages = [{ start = "0s", duration = "1h" }]
[[backends]]
name = "backup"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
outages = [{ start = "0s", duration = "1h", mode = "connection_refused" }]
"#,
    );
    let calls = mean(&report, "completions");
    assert!(calls > 1000.0);
    assert_eq!(mean(&report, "default_responses"), calls);
    assert_eq!(mean(&report, "degraded"), calls);
    // Each call moved once, to the backup; the default answer is not a backend.
    assert_eq!(mean(&report, "fallbacks"), calls);
    assert_eq!(mean(&report, "backend.backup.attempts"), calls);
    assert_eq!(mean(&report, "errors.connection_refused"), calls);
    assert_eq!(mean(&report, "success_ratio"), 1.0);
    assert_eq!(mean(&report, "goodput_per_s"), 0.0);
}

#[test]
fn an_error_class_left_out_of_on_errors_does_not_fall_back() {
    let trace = every_second("fb-on-errors-trace", 600);
    let rules = |on: &str| format!("fallbacks = [\"backup\"]\nfallback = {{ on_errors = [{on}] }}");
    // The outage's 503s (`unavailable`) are not listed: those calls fail.
    let unlisted = run_with(
        "fb-on-errors-503",
        &outage_with_backup(&rules("\"rate_limited\""), "server_error"),
        Some(&trace),
    );
    assert_eq!(mean(&unlisted, "success_ratio"), 400.0 / 600.0);
    assert_eq!(mean(&unlisted, "fallbacks"), 0.0);
    assert_eq!(mean(&unlisted, "backend.backup.attempts"), 0.0);
    // The same outage answering 429s, which are listed: every call is answered.
    let listed = run_with(
        "fb-on-errors-429",
        &outage_with_backup(&rules("\"rate_limited\""), "rate_limited"),
        Some(&trace),
    );
    assert_eq!(mean(&listed, "success_ratio"), 1.0);
    assert_eq!(mean(&listed, "fallbacks"), 200.0);
}

// ---------------------------------------------------------------------------------------------
// Circuit breakers and cooldowns

/// One call a second; the backend answers in 100 ms, or fails after 100 ms during the outage.
fn breaker_scenario(calls_outage: (&str, &str), breaker: &str, extra: &str) -> String {
    format!(
        r#"
replications = 1
horizon = "10m"
[[tenants]]
name = "t"
route = "chat"
arrivals = {{ process = "trace", path = "TRACE" }}
[[routes]]
name = "chat"
backend = "api"
{extra}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "100ms" }}
outages = [{{ start = "{}", duration = "{}" }}]
{breaker}
[[backends]]
name = "backup"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "100ms" }}
"#,
        calls_outage.0, calls_outage.1
    )
}

#[test]
fn a_breaker_opens_after_minimum_calls_and_half_open_trials_close_it_after_the_outage() {
    // 120 calls, one a second; down from 10.5 s to 40.5 s. Window of the last 10 calls, judged
    // from 10 on, opens at 50% failures, 20 s open, 2 trial calls.
    //  * calls 0-10 succeed; 11-15 fail, and after 15 (at 15.1 s) the window holds 5 of 10
    //    failed: open until 35.1 s, and calls 16-35 are rejected without a call (20);
    //  * call 36 is the first trial, 37 the second; both fail (still down): open again at
    //    37.1 s until 57.1 s, calls 38-57 rejected (20);
    //  * calls 58 and 59 are trials that succeed: closed, and every later call succeeds.
    let trace = every_second("breaker-trace", 120);
    let breaker = "circuit_breaker = { window_size = 10, minimum_calls = 10, \
                   failure_rate_threshold = 0.5, open_duration = \"20s\", half_open_calls = 2 }";
    let report = run_with(
        "breaker",
        &breaker_scenario(("10500ms", "30s"), breaker, ""),
        Some(&trace),
    );
    assert_eq!(mean(&report, "backend.api.breaker_opened"), 2.0);
    assert_eq!(mean(&report, "backend.api.breaker_half_opened"), 2.0);
    assert_eq!(mean(&report, "backend.api.breaker_recovered"), 1.0);
    assert_eq!(mean(&report, "backend.api.breaker_rejected"), 40.0);
    assert_eq!(mean(&report, "errors.unavailable"), 7.0);
    assert_eq!(mean(&report, "backend.api.attempts"), 80.0);
    assert_eq!(mean(&report, "success_ratio"), 73.0 / 120.0);

    // With the backup as a fallback, the rejected calls go there instead of failing: 47 calls
    // (the 7 failures and the 40 rejections) end degraded, and none fails.
    let fallback = run_with(
        "breaker-fallback",
        &breaker_scenario(("10500ms", "30s"), breaker, "fallbacks = [\"backup\"]"),
        Some(&trace),
    );
    assert_eq!(mean(&fallback, "success_ratio"), 1.0);
    assert_eq!(mean(&fallback, "backend.backup.attempts"), 47.0);
    assert_eq!(mean(&fallback, "degraded"), 47.0);
}

#[test]
fn a_consecutive_failures_breaker_opens_after_exactly_n_failures() {
    // The failure-rate rule is out of reach (minimum 1000 calls); only N failures in a row open
    // the breaker, for 20 s, after which one trial call (the outage is over) closes it.
    let trace = every_second("consecutive-trace", 60);
    for n in [3u32, 5] {
        let breaker = format!(
            "circuit_breaker = {{ window_size = 1000, minimum_calls = 1000, \
             consecutive_failures = {n}, open_duration = \"20s\", half_open_calls = 1 }}"
        );
        // Down from 10.5 s for n + 15 s: the breaker, not the outage, stops the failures after
        // the calls at 11 … 10 + n s; the outage is over before the trial call at 11 + n + 20 s.
        let report = run_with(
            &format!("consecutive-{n}"),
            &breaker_scenario(("10500ms", &format!("{}s", n + 15)), &breaker, ""),
            Some(&trace),
        );
        assert_eq!(mean(&report, "attempt_failures"), n as f64, "n = {n}");
        assert_eq!(mean(&report, "backend.api.breaker_opened"), 1.0, "n = {n}");
        assert_eq!(
            mean(&report, "backend.api.breaker_rejected"),
            20.0,
            "n = {n}"
        );
        assert_eq!(
            mean(&report, "success_ratio"),
            (60.0 - n as f64 - 20.0) / 60.0,
            "n = {n}"
        );
    }
}

#[test]
fn a_breaker_keeps_an_outage_away_from_the_backend() {
    // Poisson 10/s for 30 minutes with a 20-minute outage. Without a breaker every call reaches
    // the backend; with one, after `minimum_calls` failures only the half-open trials do.
    let scenario = |breaker: &str| {
        format!(
            r#"
replications = 3
horizon = "30m"
[[tenants]]
name = "t"
backend = "api"
arrivals = {{ process = "poisson", rate = "10/s" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "exponential", mean = "200ms" }}
outages = [{{ start = "5m", duration = "20m" }}]
{breaker}
"#
        )
    };
    let plain = run("breaker-poisson-none", &scenario(""));
    let guarded = run(
        "breaker-poisson",
        &scenario(
            "circuit_breaker = { window_size = 20, minimum_calls = 20, open_duration = \"30s\", half_open_calls = 3 }",
        ),
    );
    let arrivals = mean(&guarded, "arrivals");
    assert_eq!(
        mean(&plain, "backend.api.attempts"),
        mean(&plain, "arrivals")
    );
    let attempts = mean(&guarded, "backend.api.attempts");
    let rejected = mean(&guarded, "backend.api.breaker_rejected");
    // About 12,000 calls meet the outage; 40 half-open windows of 3 trials reach it.
    assert!(rejected > 11_000.0, "{rejected}");
    assert!(
        (attempts + rejected - arrivals).abs() < 1e-6,
        "{attempts} + {rejected}"
    );
    assert!(
        mean(&guarded, "errors.unavailable") < 200.0,
        "{}",
        mean(&guarded, "errors.unavailable")
    );
    // The breaker costs availability only for the calls it rejects after the outage, until its
    // trial calls succeed: at most one open period (30 s at 10/s).
    let lost = mean(&plain, "success_ratio") - mean(&guarded, "success_ratio");
    assert!((0.0..400.0 / arrivals).contains(&lost), "{lost}");
}

#[test]
fn allowed_fails_plus_one_failures_start_a_cooldown_of_the_configured_length() {
    // Calls at every second; the outage makes the calls at 11, 12, 13 and 14 s fail (at x.1 s).
    // With 3 allowed fails per minute, the fourth starts a cooldown at 14.1 s; the calls that
    // arrive while it lasts are skipped (and sent to the backup): exactly one per second of
    // cooldown. Three failures start nothing.
    let trace = every_second("cooldown-trace", 60);
    for (outage, cooldown, skips) in [("4s", 20u32, 20.0), ("4s", 7, 7.0), ("3s", 20, 0.0)] {
        let cfg = format!(
            "cooldown = {{ allowed_fails = 3, cooldown = \"{cooldown}s\", window = \"60s\" }}"
        );
        let report = run_with(
            &format!("cooldown-{outage}-{cooldown}"),
            &breaker_scenario(("10500ms", outage), &cfg, "fallbacks = [\"backup\"]"),
            Some(&trace),
        );
        let label = format!("outage {outage}, cooldown {cooldown}s");
        assert_eq!(
            mean(&report, "backend.api.cooldowns"),
            f64::from(skips > 0.0),
            "{label}"
        );
        assert_eq!(
            mean(&report, "backend.api.cooldown_skips"),
            skips,
            "{label}"
        );
        assert_eq!(
            mean(&report, "backend.api.attempts"),
            60.0 - skips,
            "{label}"
        );
        let failures = if outage == "4s" { 4.0 } else { 3.0 };
        assert_eq!(
            mean(&report, "backend.backup.attempts"),
            skips + failures,
            "{label}"
        );
        assert_eq!(mean(&report, "success_ratio"), 1.0, "{label}");
    }
}

// ---------------------------------------------------------------------------------------------
// Retry budgets

#[test]
fn grpc_throttling_stops_retrying_into_an_outage() {
    // 100 calls, one a second, the backend down from 0.5 s on; 3 attempts each, no backoff.
    // Without a budget: 2 retries per failing call. gRPC's throttle (10 tokens, 0.1 per success)
    // starts full; failures take one each and retries need more than 5 left: 9 and 8 allow call
    // 1's two retries, its last failure leaves 7, call 2's first failure 6 (a retry), its second
    // 5 (denied), and from then on every retry is denied. Three retries in all.
    let trace = every_second("grpc-trace", 100);
    let scenario = |budget: &str| {
        format!(
            r#"
replications = 1
horizon = "5m"
[[tenants]]
name = "t"
backend = "api"
arrivals = {{ process = "trace", path = "TRACE" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "100ms" }}
outages = [{{ start = "500ms", duration = "1h" }}]
[gateway.retry]
max_attempts = 3
{budget}
"#
        )
    };
    let none = run_with("grpc-none", &scenario(""), Some(&trace));
    assert_eq!(mean(&none, "retries"), 2.0 * 99.0);
    let grpc = run_with(
        "grpc",
        &scenario("budget = { kind = \"grpc\", max_tokens = 10, token_ratio = 0.1 }"),
        Some(&trace),
    );
    assert_eq!(mean(&grpc, "retries"), 3.0);
    assert_eq!(mean(&grpc, "retry_budget.denied"), 98.0);
    assert_eq!(mean(&grpc, "backend.api.attempts"), 103.0);
    assert_eq!(mean(&grpc, "success_ratio"), 1.0 / 100.0);
}

#[test]
fn grpc_throttling_bounds_retries_by_half_the_tokens_plus_the_ratio_of_successes() {
    // 30% of attempts fail at random, 4 attempts. A retry needs more than max/2 tokens, each
    // retried failure takes a whole token from above that line and only successes (ratio each)
    // put some back, so retries ≤ max/2 + ratio × successful attempts, whatever the traffic.
    let scenario = |budget: &str| {
        format!(
            r#"
replications = 1
horizon = "30m"
[[tenants]]
name = "t"
backend = "api"
arrivals = {{ process = "poisson", rate = "5/s" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "exponential", mean = "500ms" }}
failure_probability = 0.3
[gateway.retry]
max_attempts = 4
{budget}
"#
        )
    };
    let none = run("grpc-mixed-none", &scenario(""));
    for (max, ratio) in [(10.0, 0.1), (100.0, 0.3)] {
        let report = run(
            &format!("grpc-mixed-{max}"),
            &scenario(&format!(
                "budget = {{ kind = \"grpc\", max_tokens = {max}, token_ratio = {ratio} }}"
            )),
        );
        let successes = mean(&report, "completions") * mean(&report, "success_ratio");
        let retries = mean(&report, "retries");
        let bound = max / 2.0 + ratio * successes;
        assert!(retries <= bound, "{retries} > {bound}");
        assert!(retries < mean(&none, "retries"), "{retries}");
        println!(
            "grpc {max}/{ratio}: retries {retries}, bound {bound:.1}, without {}",
            mean(&none, "retries")
        );
    }
}

#[test]
fn a_finagle_budget_keeps_retries_to_its_percent_plus_the_reserve() {
    // A total outage, 20 calls a second for 5 minutes, 5 attempts each: without a budget 4
    // retries per call. Finagle's budget (20% of requests over 10 s, plus 10 retries a second
    // from a reserve that starts full at 10 × 10 s) allows at most
    // 0.2 × requests + 10 × (300 s + 10 s), and the demand is far above it, so it is used up.
    let report = run(
        "finagle",
        r#"
replications = 1
horizon = "300s"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "poisson", rate = "20/s" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "50ms" }
outages = [{ start = "0s", duration = "1h" }]
[gateway.retry]
max_attempts = 5
budget = { kind = "finagle", percent = 0.2, min_retries_per_second = 10, window = "10s" }
"#,
    );
    let requests = mean(&report, "arrivals");
    let retries = mean(&report, "retries");
    let bound = 0.2 * requests + 10.0 * (300.0 + 10.0);
    println!("finagle: {requests} requests, {retries} retries, bound {bound}");
    assert!(retries <= bound, "{retries} > {bound}");
    // Deposits still in the window at the horizon (at most 10 s of them) are the slack.
    assert!(
        retries >= bound - 0.2 * 20.0 * 10.0 - 50.0,
        "{retries} vs {bound}"
    );
    assert!(retries < 0.5 * 4.0 * requests);
}

// ---------------------------------------------------------------------------------------------
// Deadlines

const SLOW_BACKEND: &str = r#"
replications = 1
horizon = "5m"
[[tenants]]
name = "t"
route = "chat"
arrivals = { process = "trace", path = "TRACE" }
[[routes]]
name = "chat"
backend = "slow"
FALLBACKS
[[backends]]
name = "slow"
concurrency = "unlimited"
service = { dist = "deterministic", value = "10s" }
[[backends]]
name = "other"
concurrency = "unlimited"
service = { dist = "deterministic", value = "10s" }
[gateway]
attempt_timeout = "4s"
DEADLINE
[gateway.retry]
max_attempts = 3
"#;

#[test]
fn the_deadline_caps_the_last_attempt_and_ends_the_call() {
    // Every attempt would take 10 s; each times out at 4 s. Without a deadline a call makes 3
    // attempts and fails after 12 s. With a 6 s deadline the second attempt gets only the 2 s
    // left, and there is no third: 6 s and 2 attempts.
    let trace = every_second("deadline-trace", 20);
    let plain = run_with(
        "deadline-none",
        &SLOW_BACKEND
            .replace("FALLBACKS", "")
            .replace("DEADLINE", ""),
        Some(&trace),
    );
    assert!((mean(&plain, "time_in_system_mean_s") - 12.0).abs() < 1e-9);
    assert_eq!(mean(&plain, "attempts_per_request"), 3.0);
    let capped = run_with(
        "deadline",
        &SLOW_BACKEND
            .replace("FALLBACKS", "")
            .replace("DEADLINE", "deadline = \"6s\""),
        Some(&trace),
    );
    assert!((mean(&capped, "time_in_system_mean_s") - 6.0).abs() < 1e-9);
    assert_eq!(mean(&capped, "attempts_per_request"), 2.0);
    assert_eq!(mean(&capped, "timeouts"), 40.0);
    assert_eq!(mean(&capped, "success_ratio"), 0.0);

    // The deadline spans the fallback chain too: the call never reaches `other`.
    let chain = run_with(
        "deadline-chain",
        &SLOW_BACKEND
            .replace("FALLBACKS", "fallbacks = [\"other\"]")
            .replace("DEADLINE", "deadline = \"6s\""),
        Some(&trace),
    );
    assert!((mean(&chain, "time_in_system_mean_s") - 6.0).abs() < 1e-9);
    assert_eq!(mean(&chain, "backend.other.attempts"), 0.0);
    assert_eq!(mean(&chain, "deadline_exceeded"), 20.0);
}

#[test]
fn an_attempt_timeout_not_shorter_than_the_deadline_is_rejected() {
    for (timeout, deadline) in [("6s", "6s"), ("10s", "6s")] {
        let scenario = SLOW_BACKEND
            .replace("FALLBACKS", "")
            .replace(TRACE_ARRIVALS, POISSON)
            .replace(
                "attempt_timeout = \"4s\"",
                &format!("attempt_timeout = \"{timeout}\""),
            )
            .replace("DEADLINE", &format!("deadline = \"{deadline}\""));
        let (code, stderr) = validate("deadline-bad", &scenario);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("gateway.attempt_timeout"), "{stderr}");
        assert!(
            stderr.contains("must be shorter than the call deadline"),
            "{stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Gateway rate limits

/// Calls every 100 ms to a backend that answers in 50 ms, behind one gateway limit.
fn gateway_scenario(limit: &str) -> String {
    format!(
        r#"
replications = 1
horizon = "1h"
[[tenants]]
name = "t"
backend = "api"
arrivals = {{ process = "trace", path = "TRACE" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "50ms" }}
[gateway]
rate_limits = [{limit}]
"#
    )
}

/// The gateway's token bucket (300 per minute, burst 300) in integer nanoseconds: for each call
/// at `k × 100 ms`, whether it passes at once (reject mode), or how long it waits (delay mode).
fn bucket(calls: i128, delay: bool) -> Vec<i128> {
    let (per, amount, capacity) = (60_000_000_000i128, 300i128, 300i128);
    let mut level = capacity * per;
    let mut last = 0i128;
    let mut out = Vec::new();
    for k in 0..calls {
        let t = k * 100_000_000;
        level = (level + (t - last) * amount).min(capacity * per);
        last = t;
        if delay {
            level -= per;
            out.push(if level >= 0 {
                0
            } else {
                (-level + amount - 1) / amount
            });
        } else if level >= per {
            level -= per;
            out.push(0);
        } else {
            out.push(-1);
        }
    }
    out
}

#[test]
fn a_rejecting_token_bucket_throttles_exactly_what_the_bucket_arithmetic_says() {
    let rows: Vec<(u64, u32, u32)> = (0..6000).map(|k| (k * 100, 10, 10)).collect();
    let trace = trace_file("gw-reject-trace", &rows);
    let report = run_with(
        "gw-reject",
        &gateway_scenario("{ limit = 300, per = \"1m\" }"),
        Some(&trace),
    );
    let admitted = bucket(6000, false).iter().filter(|&&w| w == 0).count() as f64;
    assert!((3000.0..3400.0).contains(&admitted), "{admitted}");
    assert_eq!(mean(&report, "rate_limit.rejected"), 6000.0 - admitted);
    assert_eq!(mean(&report, "rate_limit.delayed"), 0.0);
    assert_eq!(mean(&report, "success_ratio"), admitted / 6000.0);
    assert_eq!(mean(&report, "backend.api.attempts"), admitted);
}

#[test]
fn a_delaying_token_bucket_throttles_nothing_and_adds_the_reservation_wait() {
    // 1,200 calls at 10/s against 5/s with a burst of 300: the first 300 or so pass, the rest
    // queue in time, each waiting until its reserved token is covered.
    let rows: Vec<(u64, u32, u32)> = (0..1200).map(|k| (k * 100, 10, 10)).collect();
    let trace = trace_file("gw-delay-trace", &rows);
    let report = run_with(
        "gw-delay",
        &gateway_scenario("{ limit = 300, per = \"1m\", on_limit = \"delay\" }"),
        Some(&trace),
    );
    let waits = bucket(1200, true);
    let delayed = waits.iter().filter(|&&w| w > 0).count() as f64;
    let mean_wait = waits.iter().sum::<i128>() as f64 / 1200.0 / 1e9;
    assert!(delayed > 500.0, "{delayed}");
    assert_eq!(mean(&report, "rate_limit.rejected"), 0.0);
    assert_eq!(mean(&report, "rate_limit.delayed"), delayed);
    assert_eq!(mean(&report, "success_ratio"), 1.0);
    let got = mean(&report, "time_in_system_mean_s");
    assert!(
        (got - (0.05 + mean_wait)).abs() < 1e-6,
        "{got} vs {}",
        0.05 + mean_wait
    );
}

#[test]
fn delay_needs_a_token_bucket_and_concurrency_can_only_reject() {
    let base = gateway_scenario("LIMIT").replace(TRACE_ARRIVALS, POISSON);
    for (limit, needle) in [
        (
            "{ algorithm = \"gcra\", limit = 10, per = \"1s\", on_limit = \"delay\" }",
            "needs algorithm = \"token_bucket\"",
        ),
        (
            "{ algorithm = \"sliding_window\", limit = 10, per = \"1s\", on_limit = \"delay\" }",
            "needs algorithm = \"token_bucket\"",
        ),
        (
            "{ unit = \"concurrency\", limit = 10, on_limit = \"delay\" }",
            "can only reject",
        ),
        ("{ limit = 0 }", "a limit of 0 admits nothing"),
    ] {
        let (code, stderr) = validate("gw-bad", &base.replace("LIMIT", limit));
        assert_eq!(code, Some(2), "{limit}: {stderr}");
        assert!(
            stderr.contains("gateway.rate_limits[0]"),
            "{limit}: {stderr}"
        );
        assert!(stderr.contains(needle), "{limit}: {stderr}");
    }
}

#[test]
fn a_concurrency_limit_rejects_calls_beyond_it() {
    // Ten calls at 0 s and ten at 5 s, each taking 1 s, with at most 4 in flight: 4 of each ten
    // pass.
    let rows: Vec<(u64, u32, u32)> = (0..20).map(|k| ((k / 10) * 5000, 10, 10)).collect();
    let trace = trace_file("gw-concurrency-trace", &rows);
    let report = run_with(
        "gw-concurrency",
        &gateway_scenario("{ unit = \"concurrency\", limit = 4 }").replace("\"50ms\"", "\"1s\""),
        Some(&trace),
    );
    assert_eq!(mean(&report, "rate_limit.rejected"), 12.0);
    assert_eq!(mean(&report, "backend.api.attempts"), 8.0);
    assert_eq!(mean(&report, "success_ratio"), 8.0 / 20.0);
}

// ---------------------------------------------------------------------------------------------
// Admission control and scheduling

/// Two tenants on one backend that serves one call at a time.
fn admission_scenario(service: &str, gateway: &str) -> String {
    format!(
        r#"
replications = 1
horizon = "1h"
[[tenants]]
name = "lo"
backend = "api"
priority = 0
arrivals = {{ process = "trace", path = "LO" }}
[[tenants]]
name = "hi"
backend = "api"
priority = 1
arrivals = {{ process = "trace", path = "HI" }}
[[backends]]
name = "api"
concurrency = 1
service = {{ dist = "deterministic", value = "{service}" }}
[gateway]
{gateway}
"#
    )
}

fn run_two(label: &str, scenario: &str, lo: &[(u64, u32, u32)], hi: &[(u64, u32, u32)]) -> Value {
    let lo = trace_file(&format!("{label}-lo"), lo);
    let hi = trace_file(&format!("{label}-hi"), hi);
    run(
        label,
        &scenario
            .replace("LO", &lo.display().to_string())
            .replace("HI", &hi.display().to_string()),
    )
}

#[test]
fn a_full_queue_sheds_and_priority_shedding_sheds_the_low_priority_tenant_first() {
    // One call in service, room for 6 waiting; from depth 2 only priority 1 gets in. Both
    // traces start at 0 s (a trace's first row is its time 0): one of those two calls is
    // served, the other waits. lo's calls at 1-4 ms: the first waits (depth 2), three are shed
    // for their priority. hi's calls at 10-14 ms: four wait (depth 3 … 6), the fifth finds the
    // queue full.
    let lo: Vec<_> = (0..5).map(|k| (k, 10, 10)).collect();
    let hi: Vec<_> = std::iter::once(0)
        .chain(10..15)
        .map(|k| (k, 10, 10))
        .collect();
    let report = run_two(
        "shed-priority",
        &admission_scenario(
            "100s",
            "admission = { max_queue_depth = 6, priority_shedding = { from_depth = 2, levels = 2 } }",
        ),
        &lo,
        &hi,
    );
    assert_eq!(mean(&report, "shed.low_priority"), 3.0);
    assert_eq!(mean(&report, "shed.queue_full"), 1.0);
    assert_eq!(mean(&report, "tenant.lo.blocked"), 3.0);
    assert_eq!(mean(&report, "tenant.hi.blocked"), 1.0);

    // Without priority shedding the queue fills in arrival order: lo is never shed, and hi
    // loses four calls to the full queue instead.
    let report = run_two(
        "shed-full",
        &admission_scenario("100s", "admission = { max_queue_depth = 6 }"),
        &lo,
        &hi,
    );
    assert_eq!(mean(&report, "shed.low_priority"), 0.0);
    assert_eq!(mean(&report, "shed.queue_full"), 4.0);
    assert_eq!(mean(&report, "tenant.lo.blocked"), 0.0);
    assert_eq!(mean(&report, "tenant.hi.blocked"), 4.0);
}

#[test]
fn a_queue_timeout_sheds_calls_that_waited_too_long() {
    // Eleven calls at once (lo's ten, hi's one), served one at a time in 1 s each: one starts at
    // once, three more at 1, 2 and 3 s; the other seven would start at 4 s or later, and are
    // shed when their 3.5 s queue timeout runs out.
    let lo: Vec<_> = (0..10).map(|_| (0, 10, 10)).collect();
    let hi = vec![(0, 10, 10)];
    let report = run_two(
        "queue-timeout",
        &admission_scenario("1s", "queue_timeout = \"3500ms\""),
        &lo,
        &hi,
    );
    assert_eq!(mean(&report, "shed.queue_timeout"), 7.0);
    assert_eq!(mean(&report, "backend.api.attempts"), 4.0);
    assert_eq!(mean(&report, "success_ratio"), 4.0 / 11.0);
}

#[test]
fn weighted_fair_queuing_shares_a_saturated_backend_by_weight() {
    // Both tenants send far more than the backend serves (2 per second): "heavy" 6/s with
    // weight 1, "light" 2/s with weight 3. Each served call of 1,000 prompt tokens costs
    // $0.001, so a tenant's cost counts its served calls. FIFO serves in arrival order: shares
    // follow the arrival rates (3:1 for heavy). Weighted fair queuing: 1:3, by weight.
    let scenario = |scheduling: &str| {
        format!(
            r#"
replications = 1
horizon = "1200s"
[[tenants]]
name = "heavy"
backend = "api"
weight = 1
arrivals = {{ process = "poisson", rate = "6/s" }}
prompt_tokens = {{ dist = "fixed", value = 1000 }}
[[tenants]]
name = "light"
backend = "api"
weight = 3
arrivals = {{ process = "poisson", rate = "2/s" }}
prompt_tokens = {{ dist = "fixed", value = 1000 }}
[[backends]]
name = "api"
concurrency = 2
service = {{ dist = "deterministic", value = "1s" }}
price = {{ input_per_mtok = 1 }}
[gateway]
scheduling = "{scheduling}"
"#
        )
    };
    let share = |report: &Value| {
        let heavy = mean(report, "tenant.heavy.cost_usd");
        let light = mean(report, "tenant.light.cost_usd");
        let served = (heavy + light) / 0.001;
        assert!((2390.0..=2400.0).contains(&served), "{served}");
        light / (heavy + light)
    };
    let fifo = share(&run("fair-fifo", &scenario("fifo")));
    let fair = share(&run("fair-wfq", &scenario("weighted_fair")));
    println!("light's share: fifo {fifo:.4}, weighted_fair {fair:.4}");
    // Deficit round robin is exact once both are backlogged (from the first seconds on).
    assert!((fair - 0.75).abs() < 0.005, "{fair}");
    // FIFO: the arrival share 2/8, within 3 binomial sd of ~2,400 calls (0.027).
    assert!((fifo - 0.25).abs() < 0.027, "{fifo}");
}

// ---------------------------------------------------------------------------------------------
// Determinism

#[test]
fn a_scenario_with_every_policy_is_byte_identical_across_thread_counts() {
    let dir = scratch_dir("every-policy");
    let file = dir.join("every.toml");
    std::fs::write(
        &file,
        r#"
replications = 4
horizon = "20m"
[[tenants]]
name = "a"
route = "chat"
priority = 1
weight = 3
arrivals = { process = "poisson", rate = "8/s" }
prompt_tokens = { dist = "lognormal", median = 1500, p99 = 20000 }
output_tokens = { dist = "lognormal", median = 200, p99 = 1000 }
[[tenants]]
name = "b"
route = "chat"
arrivals = { process = "gamma", rate = "4/s", cv = 3 }
prompt_tokens = { dist = "lognormal", median = 800, p99 = 6000 }
output_tokens = { dist = "lognormal", median = 150, p99 = 800 }
[[routes]]
name = "chat"
backend = "main"
fallbacks = ["second", "large"]
fallback = { default_response = true }
soft_failures = { format_violation = 0.05 }
validator = { recall = { format_violation = 0.9 }, action = "fallback" }
[[backends]]
name = "main"
concurrency = 16
context_window = 16000
ttft = { dist = "lognormal", median = "300ms", p99 = "3s" }
per_output_token = { dist = "uniform", low = "10ms", high = "20ms" }
errors = { server_error = 0.02, rate_limited = 0.01 }
retry_after = "1s"
outages = [{ start = "5m", duration = "3m" }]
circuit_breaker = { window_size = 50, minimum_calls = 20, open_duration = "20s", open_duration_multiplier = 2, half_open_calls = 3 }
[[backends]]
name = "second"
concurrency = 8
context_window = 16000
ttft = { dist = "lognormal", median = "500ms", p99 = "4s" }
per_output_token = { dist = "uniform", low = "15ms", high = "25ms" }
errors = { overloaded = 0.05 }
cooldown = { allowed_fails = 3, cooldown = "10s" }
[[backends]]
name = "large"
concurrency = 8
context_window = 128000
ttft = { dist = "lognormal", median = "800ms", p99 = "5s" }
per_output_token = { dist = "uniform", low = "20ms", high = "30ms" }
[gateway]
attempt_timeout = "8s"
deadline = "20s"
queue_timeout = "5s"
scheduling = "weighted_fair"
admission = { max_queue_depth = 64, priority_shedding = { from_depth = 32, levels = 2 } }
rate_limits = [
    { scope = "tenant", limit = 500, per = "1m", burst = 100 },
    { unit = "tokens", limit = 2000000, per = "1m", on_limit = "delay" },
    { algorithm = "gcra", limit = 15, per = "1s", burst = 20 },
    { algorithm = "sliding_window", limit = 900, per = "1m" },
    { unit = "concurrency", limit = 40 },
]
[gateway.retry]
max_attempts = 3
backoff = "decorrelated_jitter"
base = "200ms"
cap = "5s"
budget = { kind = "adaptive" }
"#,
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (one, a) = run_report(path, &["--threads", "1"]);
    let (_, b) = run_report(path, &["--threads", "2"]);
    assert!(
        std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
        "report.json differs between --threads 1 and --threads 2"
    );
    // Every family was exercised, so the comparison covers them.
    for name in [
        "fallbacks",
        "backend.main.breaker_rejected",
        "backend.second.cooldowns",
        "retry_budget.denied",
        "rate_limit.rejected",
        "rate_limit.delayed",
        "context_overflows",
        "validator.false_positives",
    ] {
        assert!(has(&one, name), "{name}");
    }
    for name in [
        "fallbacks",
        "backend.main.breaker_rejected",
        "rate_limit.rejected",
    ] {
        assert!(mean(&one, name) > 0.0, "{name} never happened");
    }
}

// ---------------------------------------------------------------------------------------------
// The examples' documented findings

#[test]
fn fallback_chain_keeps_the_availability_slo_through_the_outage() {
    let (r, _) = run_report("example:fallback-chain", &[]);
    assert_eq!(mean(&r, "slo.availability.met"), 1.0);
    assert_eq!(mean(&r, "slo.availability.alerts"), 0.0);
    let sli = mean(&r, "slo.availability.sli");
    assert!((0.9997..0.99995).contains(&sli), "{sli}");
    assert!(mean(&r, "slo.availability.budget_consumed") < 0.1);
    // The cache answers about half the calls; the outage is 4 of 24 hours, so the second
    // provider answers a sixth of the misses.
    let hits = mean(&r, "route.chat.cache_hit_ratio");
    assert!((0.5..0.6).contains(&hits), "{hits}");
    let depth1 = mean(&r, "fallback.depth1_share");
    let expected = (1.0 - hits) / 6.0;
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

// ---------------------------------------------------------------------------------------------
// Regressions: defects found by these tests and fixed in the gateway

#[test]
fn a_call_that_overflows_the_primary_still_passes_the_gateway_rate_limits() {
    let report = run(
        "overflow-limits",
        r#"
replications = 1
horizon = "10m"
[[tenants]]
name = "t"
route = "chat"
arrivals = { process = "poisson", rate = "2/s" }
prompt_tokens = { dist = "fixed", value = 10000 }
output_tokens = { dist = "fixed", value = 100 }
[[routes]]
name = "chat"
backend = "small"
fallbacks = ["big"]
[[backends]]
name = "small"
concurrency = "unlimited"
context_window = 8000
service = { dist = "deterministic", value = "100ms" }
[[backends]]
name = "big"
concurrency = "unlimited"
context_window = 32000
service = { dist = "deterministic", value = "100ms" }
[gateway]
rate_limits = [{ limit = 10, per = "1m" }]
"#,
    );
    // 10 a minute with a burst of 10: at most 110 of the ~1,200 calls in 10 minutes.
    assert!(mean(&report, "backend.big.attempts") <= 110.0);
    assert!(mean(&report, "rate_limit.rejected") > 1000.0);
}

#[test]
fn deadline_exceeded_counts_calls_ended_by_their_deadline_without_a_chain() {
    let trace = every_second("deadline-count-trace", 20);
    let capped = run_with(
        "deadline-count",
        &SLOW_BACKEND
            .replace("FALLBACKS", "")
            .replace("DEADLINE", "deadline = \"6s\""),
        Some(&trace),
    );
    assert_eq!(mean(&capped, "deadline_exceeded"), 20.0);
}

// ---------------------------------------------------------------------------------------------
// Hedging

#[test]
fn a_hedge_races_the_first_attempt_and_the_loser_is_billed() {
    // Ten calls a second apart; every attempt takes exactly 2 s and costs $0.002. A hedge goes
    // out after 1 s, so each call sends one; the first attempt still answers first (at 2 s,
    // the hedge would at 3 s), so no hedge wins, latency stays 2 s, and the provider bills both.
    let trace = every_second("hedge-race", 10);
    let report = run_with(
        "hedge-race",
        r#"
replications = 1
horizon = "1m"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
prompt_tokens = { dist = "fixed", value = 1000 }
output_tokens = { dist = "fixed", value = 100 }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "2s" }
price = { input_per_mtok = 1, output_per_mtok = 10 }
[gateway]
hedge = { delay = "1s" }
"#,
        Some(&trace),
    );
    assert_eq!(mean(&report, "hedges_sent"), 10.0);
    assert_eq!(mean(&report, "hedges_won"), 0.0);
    assert_eq!(mean(&report, "backend.api.attempts"), 20.0);
    assert_eq!(mean(&report, "success_ratio"), 1.0);
    assert!((mean(&report, "time_in_system_mean_s") - 2.0).abs() < 1e-9);
    assert!((mean(&report, "cost_usd") - 20.0 * 0.002).abs() < 1e-12);
}

#[test]
fn hedging_at_the_p95_cuts_the_tail_for_a_few_percent_more_attempts() {
    // Heavy-tailed latency (median 1.2 s, p99 8 s) on a backend without a queue: hedging once
    // at the observed p95 must bring the p99 down by at least 15% while adding at most 10%
    // attempts (measured at seed 7: p99 8.27 s → 6.23 s, +4.5% attempts).
    let base = r#"
seed = 7
replications = 8
horizon = "2h"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "poisson", rate = "7/s" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "lognormal", median = "1200ms", p99 = "8s" }
"#;
    let plain = run("hedge-tail-plain", base);
    let hedged = run(
        "hedge-tail-hedged",
        &format!("{base}[gateway]\nhedge = {{ quantile = 0.95 }}\n"),
    );
    let (p99, p99h) = (
        mean(&plain, "latency_p99_s"),
        mean(&hedged, "latency_p99_s"),
    );
    assert!(p99h < 0.85 * p99, "p99 {p99} → {p99h}");
    let (a, ah) = (
        mean(&plain, "backend.api.attempts"),
        mean(&hedged, "backend.api.attempts"),
    );
    assert!(ah < 1.10 * a && ah > a, "attempts {a} → {ah}");
    assert!(mean(&hedged, "hedges_won") > 0.0);
}

#[test]
fn a_hedge_needs_a_delay_rule() {
    let (code, stderr) = validate(
        "hedge-bad",
        r#"
horizon = "1h"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "poisson", rate = "1/s" }
[[backends]]
name = "api"
service = { dist = "exponential", mean = "1s" }
[gateway]
hedge = { max_extra = 1 }
"#,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("gateway.hedge") && stderr.contains("`delay`"),
        "{stderr}"
    );
}

#[test]
fn a_slow_backend_is_left_for_the_next_one_after_latency_over() {
    // The primary answers in 5 s, the secondary in 1 s; the route falls back after 2 s without
    // an answer. Every call is answered by the secondary at 3 s, and the abandoned primary
    // attempts are still billed.
    let trace = every_second("too-slow", 10);
    let report = run_with(
        "too-slow",
        r#"
replications = 1
horizon = "1m"
[[tenants]]
name = "t"
route = "r"
arrivals = { process = "trace", path = "TRACE" }
prompt_tokens = { dist = "fixed", value = 1000 }
output_tokens = { dist = "fixed", value = 100 }
[[backends]]
name = "slow"
concurrency = "unlimited"
service = { dist = "deterministic", value = "5s" }
price = { input_per_mtok = 1, output_per_mtok = 10 }
[[backends]]
name = "fast"
concurrency = "unlimited"
service = { dist = "deterministic", value = "1s" }
price = { input_per_mtok = 1, output_per_mtok = 10 }
[[routes]]
name = "r"
backend = "slow"
fallbacks = ["fast"]
fallback = { latency_over = "2s" }
"#,
        Some(&trace),
    );
    assert_eq!(mean(&report, "fallback.too_slow"), 10.0);
    assert_eq!(mean(&report, "fallback.depth1_share"), 1.0);
    assert!((mean(&report, "time_in_system_mean_s") - 3.0).abs() < 1e-9);
    assert!((mean(&report, "backend.slow.cost_usd") - 10.0 * 0.002).abs() < 1e-12);
    assert_eq!(mean(&report, "timeouts"), 0.0);
}

#[test]
fn a_spend_limit_admits_what_the_budget_covers() {
    // 150 calls within 150 ms, each estimated at 1,000 prompt tokens × $10 per million = $0.01,
    // against $1 per hour (a $1 bucket refilling $0.000278 a second): exactly 100 pass.
    let rows: Vec<(u64, u32, u32)> = (0..150).map(|k| (k, 1000, 1)).collect();
    let trace = trace_file("usd-limit", &rows);
    let report = run_with(
        "usd-limit",
        r#"
replications = 1
horizon = "1m"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
price = { input_per_mtok = 10, output_per_mtok = 0 }
[gateway]
rate_limits = [{ unit = "usd", limit = 1, per = "1h" }]
"#,
        Some(&trace),
    );
    assert_eq!(mean(&report, "rate_limit.rejected"), 50.0);
    assert_eq!(mean(&report, "success_ratio"), 100.0 / 150.0);
}

#[test]
fn a_retry_budget_of_ratio_r_keeps_attempts_per_request_at_most_1_plus_r_in_an_outage() {
    // A total outage, five attempts allowed, Finagle budget of 10% with no minimum: retries
    // may be at most a tenth of requests, so attempts per request stay at or below 1.1 (the
    // 99% interval's upper bound is asserted), against 5 without the budget.
    let scenario = |budget: &str| {
        format!(
            r#"
replications = 10
horizon = "30m"
[[tenants]]
name = "t"
backend = "api"
arrivals = {{ process = "poisson", rate = "20/s" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "50ms" }}
error_latency = {{ dist = "deterministic", value = "50ms" }}
outages = [{{ start = "0s", duration = "30m" }}]
[gateway.retry]
max_attempts = 5
backoff = "exponential"
base = "100ms"
cap = "1s"
{budget}
"#
        )
    };
    let free = run("budget-ratio-free", &scenario(""));
    assert!((mean(&free, "attempts_per_request") - 5.0).abs() < 0.01);
    let budgeted = run(
        "budget-ratio",
        &scenario("budget = { kind = \"finagle\", percent = 0.1, min_retries_per_second = 0 }"),
    );
    let m = &budgeted["metrics"]["attempts_per_request"];
    let high = m["ci99_high"].as_f64().unwrap();
    assert!(high <= 1.1 + 1e-9, "attempts per request up to {high}");
    assert!(
        m["mean"].as_f64().unwrap() > 1.05,
        "the budget should still allow some retries"
    );
}

#[test]
fn retries_are_counted_by_the_class_they_answer() {
    // One call a second from 0 s to 29 s, 100 ms answers, 3 attempts at once, and every answer
    // is a hallucination the validator catches. 503s from 0.5 s to 9.5 s: the calls at 1..9 s
    // each retry two 503s (18). The provider hangs from 20.5 s to 25 s: the calls at 21..24 s
    // each time out three times at 300 ms (8 retries). The other 17 calls are answered and
    // re-asked twice (34).
    let trace = every_second("retry-classes", 30);
    let report = run_with(
        "retry-classes",
        r#"
replications = 1
horizon = "30s"
[[tenants]]
name = "t"
route = "chat"
arrivals = { process = "trace", path = "TRACE" }
[[routes]]
name = "chat"
backend = "api"
soft_failures = { hallucination = 1.0 }
validator = { recall = { hallucination = 1.0 }, action = "reask" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
error_latency = { dist = "deterministic", value = "100ms" }
outages = [
    { start = "500ms", duration = "9s" },
    { start = "20500ms", duration = "4500ms", mode = "hang" },
]
[gateway]
attempt_timeout = "300ms"
[gateway.retry]
max_attempts = 3
"#,
        Some(&trace),
    );
    assert_eq!(mean(&report, "retries.unavailable"), 18.0);
    assert_eq!(mean(&report, "retries.attempt_timeout"), 8.0);
    assert_eq!(mean(&report, "retries.soft_failure"), 34.0);
    assert_eq!(mean(&report, "retries"), 60.0);
    // Only classes this world can produce get a metric.
    assert!(!has(&report, "retries.rate_limited"));
    // Without retries, no family at all.
    let single = run_with(
        "retry-classes-single",
        &format!(
            r#"
replications = 1
horizon = "30s"
[[tenants]]
name = "t"
backend = "api"
arrivals = {POISSON}
[[backends]]
name = "api"
service = {{ dist = "deterministic", value = "100ms" }}
failure_probability = 0.5
"#
        ),
        None,
    );
    assert!(!has(&single, "retries.server_error"));
}

/// One call at 0 s to a provider that takes 5 s, a 2 s client timeout and 3 attempts after
/// `backoff`, with or without idempotency keys; each attempt served costs $0.0002.
fn idempotency_scenario(label: &str, keys: bool, backoff: &str) -> Value {
    let trace = trace_file(label, &[(0, 100, 10)]);
    run_with(
        label,
        &format!(
            r#"
replications = 1
horizon = "30s"
[[tenants]]
name = "t"
backend = "api"
arrivals = {TRACE_ARRIVALS}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "5s" }}
price = {{ input_per_mtok = 1, output_per_mtok = 10 }}
[gateway]
attempt_timeout = "2s"
idempotency = {{ keys = {keys} }}
[gateway.retry]
max_attempts = 3
{backoff}
"#
        ),
        Some(&trace),
    )
}

#[test]
fn idempotency_keys_absorb_every_duplicate_a_timed_out_client_sends() {
    const ATTEMPT_USD: f64 = 100e-6 + 10.0 * 10e-6;
    // Without keys: attempts at 0, 2 and 4 s each run 5 s at the provider; the call fails at
    // 6 s. Two duplicates, 10 s of duplicate work, 3 attempts billed.
    let plain = idempotency_scenario("idem-plain", false, r#"backoff = "none""#);
    assert_eq!(mean(&plain, "idempotency.duplicates"), 2.0);
    assert_eq!(mean(&plain, "idempotency.absorbed"), 0.0);
    assert!((mean(&plain, "idempotency.duplicate_work_s") - 10.0).abs() < 1e-9);
    assert!((mean(&plain, "idempotency.duplicate_cost_usd") - 2.0 * ATTEMPT_USD).abs() < 1e-12);
    assert!((mean(&plain, "cost_usd") - 3.0 * ATTEMPT_USD).abs() < 1e-12);
    assert!((mean(&plain, "backend.api.busy_mean") - 15.0 / 30.0).abs() < 1e-9);
    assert_eq!(mean(&plain, "success_ratio"), 0.0);
    // With keys: the resends at 2 and 4 s attach to the first attempt, which answers at 5 s.
    // No new work, one bill.
    let keyed = idempotency_scenario("idem-keys", true, r#"backoff = "none""#);
    assert_eq!(mean(&keyed, "idempotency.duplicates"), 2.0);
    assert_eq!(mean(&keyed, "idempotency.absorbed"), 2.0);
    assert_eq!(mean(&keyed, "idempotency.duplicate_work_s"), 0.0);
    assert_eq!(mean(&keyed, "idempotency.duplicate_cost_usd"), 0.0);
    assert!((mean(&keyed, "cost_usd") - ATTEMPT_USD).abs() < 1e-12);
    assert!((mean(&keyed, "backend.api.busy_mean") - 5.0 / 30.0).abs() < 1e-9);
    assert_eq!(mean(&keyed, "success_ratio"), 1.0);
    assert!((mean(&keyed, "time_in_system_mean_s") - 5.0).abs() < 1e-9);
    assert_eq!(mean(&keyed, "attempts_per_request"), 3.0);
}

#[test]
fn a_resend_after_the_original_finished_gets_its_stored_result() {
    const ATTEMPT_USD: f64 = 100e-6 + 10.0 * 10e-6;
    let backoff = r#"backoff = "constant"
base = "3500ms""#;
    // With keys: the first attempt times out at 2 s and finishes at 5 s; the resend at 5.5 s
    // gets the stored answer after a 1 ms round trip.
    let keyed = idempotency_scenario("idem-stored-keys", true, backoff);
    assert_eq!(mean(&keyed, "idempotency.absorbed"), 1.0);
    assert_eq!(mean(&keyed, "success_ratio"), 1.0);
    assert!((mean(&keyed, "time_in_system_mean_s") - 5.501).abs() < 1e-9);
    assert!((mean(&keyed, "cost_usd") - ATTEMPT_USD).abs() < 1e-12);
    // Without: the resend at 5.5 s is served again (to 10.5 s) and times out at 7.5 s, and so
    // is the one at 11 s (to 16 s): two duplicates of finished work, 10 s, two more bills.
    let plain = idempotency_scenario("idem-stored-plain", false, backoff);
    assert_eq!(mean(&plain, "idempotency.duplicates"), 2.0);
    assert!((mean(&plain, "idempotency.duplicate_work_s") - 10.0).abs() < 1e-9);
    assert!((mean(&plain, "cost_usd") - 3.0 * ATTEMPT_USD).abs() < 1e-12);
    assert_eq!(mean(&plain, "success_ratio"), 0.0);
}

#[test]
fn idempotency_needs_an_attempt_timeout() {
    let (code, err) = validate(
        "idem-no-timeout",
        r#"
horizon = "1m"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "poisson", rate = "1/s" }
[[backends]]
name = "api"
service = { dist = "deterministic", value = "1s" }
[gateway]
idempotency = { keys = true }
"#,
    );
    assert_eq!(code, Some(2));
    assert!(err.contains("gateway.idempotency"), "{err}");
}

#[test]
fn breaker_time_in_state_follows_its_open_and_trial_cycle() {
    // A backend down for the whole run, one call a second from 0 s, 100 ms errors. The call at
    // 0 s is sent before the outage that starts at the same instant (events at one time run in
    // the order they were scheduled), so the first failure is the call at 1 s. The breaker
    // opens on it (at 1.1 s) for 10 s, goes half-open at 11.1 s, lets
    // the call at 12 s through as its trial, which fails at 12.1 s and opens it again: a cycle
    // of 10 s open and 1 s half-open. The ninth opening (89.1 s) lasts to 99.1 s, and the
    // breaker is half-open, untried, to the end at 100 s: 1.1 s closed, 9 × 10 s open,
    // 8 × 1 s + 0.9 s half-open.
    let trace = every_second("breaker-clock", 95);
    let report = run_with(
        "breaker-clock",
        r#"
replications = 1
horizon = "100s"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
error_latency = { dist = "deterministic", value = "100ms" }
outages = [{ start = "0s", duration = "1000s" }]
circuit_breaker = { consecutive_failures = 1, open_duration = "10s", half_open_calls = 1 }
"#,
        Some(&trace),
    );
    let (open, half) = (90.0, 8.9);
    let got_open = mean(&report, "backend.api.breaker_open_share");
    let got_half = mean(&report, "backend.api.breaker_half_open_share");
    assert!(
        (got_open - open / 100.0).abs() < 1e-9,
        "open {got_open} vs {}",
        open / 100.0
    );
    assert!(
        (got_half - half / 100.0).abs() < 1e-9,
        "half {got_half} vs {}",
        half / 100.0
    );
    // The state timeline the breaker plot draws integrates to the same times, and shows the
    // first opening at 1.1 s and the first trial spell from 11.1 s to 12.1 s.
    let s = &report["series"];
    let (start, end, width) = (
        s["start_ns"].as_f64().unwrap() / 1e9,
        s["end_ns"].as_f64().unwrap() / 1e9,
        s["bucket_width_ns"].as_f64().unwrap() / 1e9,
    );
    let timeline = |name: &str| -> Vec<(f64, f64, f64)> {
        s["values"][name]["mean"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let from = start + i as f64 * width;
                (from, (from + width).min(end), v.as_f64().unwrap())
            })
            .collect()
    };
    let integral = |name: &str| -> f64 { timeline(name).iter().map(|(a, b, v)| (b - a) * v).sum() };
    assert!((integral("backend.api.breaker_open") - open).abs() < 1e-6);
    assert!((integral("backend.api.breaker_half_open") - half).abs() < 1e-6);
    let at = |name: &str, t: f64| -> f64 { timeline(name)[((t - start) / width) as usize].2 };
    assert_eq!(at("backend.api.breaker_open", 0.5), 0.0);
    assert_eq!(at("backend.api.breaker_open", 5.0), 1.0);
    assert_eq!(at("backend.api.breaker_half_open", 11.6), 1.0);
    assert_eq!(at("backend.api.breaker_open", 11.6), 0.0);
    // Transitions: nine openings, nine half-open spells (the last from 99.1 s, never reported
    // by the breaker before the end), no recovery while the backend stays down.
    assert_eq!(mean(&report, "backend.api.breaker_opened"), 9.0);
    assert_eq!(mean(&report, "backend.api.breaker_half_opened"), 9.0);
    assert_eq!(mean(&report, "backend.api.breaker_recovered"), 0.0);
}
