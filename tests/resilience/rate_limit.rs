//! Gateway rate limits: token buckets that reject or delay, concurrency and spend limits.

use crate::common::resilience::*;
use crate::common::*;

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

// Regression: a defect this test found, since fixed in the gateway.
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
