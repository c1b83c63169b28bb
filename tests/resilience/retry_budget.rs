//! Retry budgets (gRPC, Finagle, adaptive throttling) and how retries are counted.

use crate::common::resilience::*;
use crate::common::*;

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

/// The SRE book's local rejection probability, `max(0, (requests − k·accepts) / (requests + 1))`
/// with k = 2, at the call at `t` s of a one-a-second trace whose calls up to `last_ok` s
/// succeed (answered 100 ms later) and whose later calls fail. The gateway counts over a 2-minute
/// window kept as twelve 10 s slices: at `t` it reaches back to the start of the slice eleven
/// before `t`'s. Every call before `t` in it is a request (sent or rejected locally); the
/// successful ones among them are accepts.
fn adaptive_reject_probability(t: u64, last_ok: u64) -> f64 {
    let from = (t / 10).saturating_sub(11) * 10;
    let requests = (t - from) as f64;
    let accepts = if last_ok >= from {
        (last_ok.min(t - 1) - from + 1) as f64
    } else {
        0.0
    };
    ((requests - 2.0 * accepts) / (requests + 1.0)).max(0.0)
}

#[test]
fn adaptive_throttling_rejects_locally_what_the_sre_book_formula_says() {
    // 600 calls, one a second; the backend goes down at 300.5 s for good. Before that every call
    // is accepted and the formula is negative: nothing is rejected, and the 301 calls at 0 …
    // 300 s succeed. In the outage accepts age out of the window: rejection starts once fewer
    // than half the window's requests were accepted (about a minute in) and tends to
    // 120/121. The expected number rejected is the sum of the probabilities; its variance the
    // sum of p(1 − p), about 12 a replication.
    let trace = every_second("adaptive-trace", 600);
    let scenario = r#"
replications = 20
horizon = "11m"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
outages = [{ start = "300500ms", duration = "1h" }]
[gateway.retry]
max_attempts = 1
budget = { kind = "adaptive", k = 2, window = "2m" }
"#;
    let report = run_with("adaptive", scenario, Some(&trace));
    let p: Vec<f64> = (301..600)
        .map(|t| adaptive_reject_probability(t, 300))
        .collect();
    let expected: f64 = p.iter().sum();
    let variance: f64 = p.iter().map(|p| p * (1.0 - p)).sum();
    assert!(p[..55].iter().all(|&p| p == 0.0), "no rejection for 55 s");
    assert!((p[200] - 120.0 / 121.0).abs() < 0.01, "{}", p[200]);
    // 20 replications: 99% half-width about 2.86 × √variance / √20.
    let half = 2.9 * (variance / 20.0).sqrt() * 1.3;
    assert_in_ci99(
        &report,
        "adaptive_throttle.rejected_locally",
        expected,
        half,
    );
    for (rejected, attempts) in per_rep(&report, "adaptive_throttle.rejected_locally")
        .into_iter()
        .zip(per_rep(&report, "backend.api.attempts"))
    {
        assert_eq!(rejected + attempts, 600.0);
    }
    assert_eq!(per_rep(&report, "success_ratio"), vec![301.0 / 600.0; 20]);
}
