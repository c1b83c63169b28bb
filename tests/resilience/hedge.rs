//! Hedged requests.

use crate::common::resilience::*;
use crate::common::*;

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
