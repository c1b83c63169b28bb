//! Determinism with every policy on at once.

use crate::common::*;

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
validator = { recall = { format_violation = 0.9 }, false_positive_rate = 0.01, action = "fallback" }
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
admission = { max_queue_depth = 16, priority_shedding = { from_depth = 4, levels = 2 } }
rate_limits = [
    { scope = "tenant", limit = 500, per = "1m", burst = 100 },
    { unit = "tokens", limit = 600000, per = "1m", on_limit = "delay" },
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
    // Every family was exercised in every replication, so the comparison covers them (the
    // adaptive budget turns attempts away itself, as `adaptive_throttle.rejected_locally`; it
    // never denies a retry, so `retry_budget.denied` stays 0 by design).
    for name in [
        "fallbacks",
        "backend.main.breaker_rejected",
        "backend.second.cooldowns",
        "adaptive_throttle.rejected_locally",
        "rate_limit.rejected",
        "rate_limit.delayed",
        "context_overflows",
        "validator.false_positives",
        "shed.queue_full",
        "shed.low_priority",
        "shed.queue_timeout",
    ] {
        let counts = per_rep(&one, name);
        assert!(
            counts.iter().all(|&n| n > 0.0),
            "{name} did not happen in every replication: {counts:?}"
        );
    }
}
