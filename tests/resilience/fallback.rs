//! Fallback chains: failover on errors, outages, context overflow and slow answers; default responses.

use crate::common::resilience::*;
use crate::common::*;

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
    assert_in_ci99(&report, "fallback.depth1_share", 1.0 / 3.0, 0.01);
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
