//! Deadlines over a call's attempts.

use crate::common::resilience::*;
use crate::common::*;

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

// Regression: a defect this test found, since fixed in the gateway.
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
