//! Idempotency keys and duplicate work after client timeouts.

use crate::common::resilience::*;
use crate::common::*;
use serde_json::Value;

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
