//! Network delay per hop, refused and reset connections, streams that break after their first
//! token, and memory kills, through the binary: each against a hand computation or the finding
//! of its example.

mod common;

use common::*;
use serde_json::Value;

/// [`one_second_backend`] with `extra` appended to the backend's table.
fn deterministic(extra: &str, steps: &str, gateway: &str) -> String {
    one_second_backend("", steps, extra, gateway)
}

#[test]
fn a_constant_delay_adds_exactly_two_delays_per_hop_and_leaves_the_server_alone() {
    for (steps, hops) in [(ONE_CALL, 1.0), (TWO_CALLS, 2.0)] {
        let plain = run_fresh("net-plain", &deterministic("", steps, ""));
        let delayed = run_fresh("net-delayed", &deterministic(NETWORK_20MS, steps, ""));
        let (t0, t1) = (
            per_rep(&plain, "time_in_system_mean_s"),
            per_rep(&delayed, "time_in_system_mean_s"),
        );
        for (a, b) in t0.iter().zip(&t1) {
            // The same jobs (the arrival stream is untouched), each 2 × 20 ms per hop later.
            assert!(
                (b - a - hops * 0.040).abs() < 1e-9,
                "{a} → {b} over {hops} hops"
            );
            assert!(
                (a - hops).abs() < 1e-9,
                "{a}: a hop takes 1 s at the server"
            );
        }
        // The server's in-service count is the same, replication by replication: exactly for
        // one hop; with two, a job's second call starts one round trip later, so only the jobs
        // that straddle the horizon (a handful at 0.5/s and 2 s each) differ, each by at most
        // that round trip over the 2000 s.
        let (b0, b1) = (
            per_rep(&plain, "backend.api.busy_mean"),
            per_rep(&delayed, "backend.api.busy_mean"),
        );
        if hops == 1.0 {
            assert_eq!(b0, b1);
        }
        for (a, b) in b0.iter().zip(&b1) {
            assert!(
                (a - b).abs() <= (hops - 1.0) * 10.0 * 0.040 / 2000.0 + 1e-12,
                "{a} vs {b}"
            );
        }
        for r in per_rep(&delayed, "backend.api.round_trip_mean_s") {
            assert!((r - 0.040).abs() < 1e-12, "{r}");
        }
    }
}

#[test]
fn the_round_trip_counts_toward_the_attempt_timeout() {
    // 1 s of service fits 1.03 s; 1.04 s with the round trip does not.
    let gateway = "attempt_timeout = \"1030ms\"\nretry = { max_attempts = 1 }";
    let plain = run_fresh("net-timeout-plain", &deterministic("", ONE_CALL, gateway));
    let delayed = run_fresh(
        "net-timeout-delayed",
        &deterministic(NETWORK_20MS, ONE_CALL, gateway),
    );
    assert_eq!(mean(&plain, "success_ratio"), 1.0);
    assert_eq!(mean(&plain, "timeouts"), 0.0);
    assert_eq!(mean(&delayed, "success_ratio"), 0.0);
    assert_eq!(mean(&delayed, "timeouts"), mean(&delayed, "arrivals"));
}

#[test]
fn refused_and_reset_connections_come_at_their_rates_and_are_retried() {
    let link = "network = { connect_failure = 0.1, reset = 0.05 }";
    let single = run_fresh(
        "net-rates",
        &deterministic(link, ONE_CALL, "retry = { max_attempts = 1 }"),
    );
    let calls = mean(&single, "arrivals");
    let refused = mean(&single, "errors.connection_refused") / calls;
    let reset = mean(&single, "errors.connection_reset") / calls;
    // 4000 calls: binomial standard errors ≈ 0.0047 and 0.0033; 5 of them.
    assert!((refused - 0.1).abs() < 0.024, "{refused}");
    // A reset needs a connection first: 0.9 × 0.05.
    assert!((reset - 0.045).abs() < 0.017, "{reset}");
    assert_eq!(
        mean(&single, "backend.api.connections_refused"),
        mean(&single, "errors.connection_refused")
    );
    assert_eq!(
        mean(&single, "backend.api.connections_reset"),
        mean(&single, "errors.connection_reset")
    );
    let retried = run_fresh(
        "net-retried",
        &deterministic(link, ONE_CALL, "retry = { max_attempts = 5 }"),
    );
    assert!(mean(&retried, "retries.connection_refused") > 0.0);
    assert!(mean(&retried, "retries.connection_reset") > 0.0);
    // Five attempts leave a call unanswered with probability (1 − 0.9·0.95)^5 ≈ 6e-5.
    assert!(mean(&retried, "success_ratio") > 0.999);
}

/// Calls of exactly 101 output tokens on a backend with a 0.5 s first token and 10 ms per token
/// after it (1.5 s in all), whose streams break with probability 0.2.
fn streaming(retry: &str) -> String {
    format!(
        r#"
seed = 3
replications = 10
horizon = "4000s"

[[tenants]]
name = "app"
backend = "api"
arrivals = {{ process = "poisson", rate = "1/s" }}
prompt_tokens = {{ dist = "fixed", value = 50 }}
output_tokens = {{ dist = "fixed", value = 101 }}

[[backends]]
name = "api"
concurrency = "unlimited"
ttft = {{ dist = "deterministic", value = "500ms" }}
per_output_token = {{ dist = "deterministic", value = "10ms" }}
stream_failures = {{ probability = 0.2, retry = "{retry}" }}

[gateway]
retry = {{ max_attempts = 40 }}
"#
    )
}

/// Expected time to stream the `m` missing tokens under `resume`, by the recursion over where
/// the next break falls: `T(1) = F(1)`, `T(m) = (1 − p) F(m) + p · mean over k in 1..m of
/// (C(k) + T(m − k))`, with `F(m) = 0.5 + 0.01 (m − 1)` a whole stream and `C(k) = F(k)` the
/// time to the break after token k.
fn resume_time(n: usize, p: f64) -> f64 {
    let f = |m: usize| 0.5 + 0.01 * (m as f64 - 1.0);
    let mut t = vec![0.0; n + 1];
    t[1] = f(1);
    for m in 2..=n {
        let broken: f64 = (1..m).map(|k| f(k) + t[m - k]).sum::<f64>() / (m - 1) as f64;
        t[m] = (1.0 - p) * f(m) + p * broken;
    }
    t[n]
}

#[test]
fn broken_streams_bill_what_streamed_and_cost_time_as_computed_by_hand() {
    let (n, p) = (101.0, 0.2);
    // Restart: breaks before the answer are geometric with mean p / (1 − p) = 0.25; each bills
    // a uniform k on 1..100 (mean n / 2 = 50.5) and takes C(k), mean 0.5 + 0.01 · 49.5 = 0.995.
    let restart = run_fresh("stream-restart", &streaming("restart"));
    let breaks = p / (1.0 - p);
    let per_job = |r: &Value, name: &str| -> Vec<f64> {
        per_rep(r, name)
            .iter()
            .zip(per_rep(r, "completions"))
            .map(|(x, c)| x / c)
            .collect()
    };
    let mean_of = |xs: &[f64]| xs.iter().sum::<f64>() / xs.len() as f64;
    let billed = mean_of(&per_job(&restart, "output_tokens_billed"));
    let expect = n + breaks * n / 2.0;
    // 40 000 calls; the per-call sd is about 30 tokens: standard error ≈ 0.15.
    assert!(
        (billed - expect).abs() < 0.75,
        "restart: {billed} vs {expect}"
    );
    assert_in_ci99(
        &restart,
        "time_in_system_mean_s",
        1.5 + breaks * 0.995,
        0.02,
    );
    // Each break is an attempt error of its own class, counted per backend with its tokens.
    let broken = mean(&restart, "errors.stream_interrupted");
    assert_eq!(broken, mean(&restart, "backend.api.streams_broken"));
    // Breaks per call: sd 0.56, standard error over 40 000 calls ≈ 0.003; 5 of them.
    assert!((broken / mean(&restart, "completions") - breaks).abs() < 0.015);
    let tokens_per_break = mean(&restart, "backend.api.broken_stream_tokens") / broken;
    // About 10 000 breaks, k's sd 28.9: standard error ≈ 0.29; 5 of them.
    assert!((tokens_per_break - 50.5).abs() < 1.5, "{tokens_per_break}");

    // Resume: every output token is billed once; the time follows the recursion.
    let resume = run_fresh("stream-resume", &streaming("resume"));
    let billed = mean_of(&per_job(&resume, "output_tokens_billed"));
    // Exactly 101 a call, but for calls still streaming at the horizon (a few in 40 000).
    assert!((billed - n).abs() < 0.05, "resume: {billed}");
    let expect = resume_time(101, p);
    assert_in_ci99(&resume, "time_in_system_mean_s", expect, 0.02);
    // The client saw its first token when the first stream began: 0.5 s, whatever broke after.
    // (Restart shows the kept answer's first token, later whenever a stream broke.)
    let ttft = mean(&resume, "ttft_p99_s");
    assert!((ttft - 0.5).abs() < 0.5 * 0.05, "{ttft}");
    assert!(mean(&restart, "ttft_p99_s") > 1.0);
}

#[test]
fn the_oom_retry_storm_example_kills_again_and_again_and_a_retry_budget_stops_it() {
    let (storm, _) = run_report("example:oom-retry-storm", &[]);
    let (budget, _) = run_report(
        "example:oom-retry-storm",
        &["--set", "gateway.retry.budget={ kind = \"finagle\" }"],
    );
    let kills = |r: &Value| per_rep(r, "backend.self-hosted.oom_kills");
    let (k_storm, k_budget) = (kills(&storm), kills(&budget));
    eprintln!("kills without a budget {k_storm:?}, with {k_budget:?}");
    // Without a budget every replication is killed again and again; with one, the spike's kill
    // is the only one.
    assert!(k_storm.iter().all(|&k| k >= 5.0), "{k_storm:?}");
    assert!(k_budget.iter().all(|&k| k <= 1.0), "{k_budget:?}");
    assert!(mean(&budget, "goodput_per_s") > 2.0 * mean(&storm, "goodput_per_s"));
}

#[test]
fn bad_transport_tables_name_their_key() {
    for (extra, key) in [
        ("network = {}", "backends[0].network"),
        (
            "stream_failures = { probability = 0 }",
            "backends[0].stream_failures.probability",
        ),
        (
            "memory = { limit_mb = 10, restart = \"1s\" }",
            "backends[0].memory",
        ),
        (
            "memory = { limit_mb = 10, per_call_mb = 1, restart = \"0s\" }",
            "backends[0].memory.restart",
        ),
        (
            "errors = { stream_interrupted = 0.1 }",
            "backends[0].errors.stream_interrupted",
        ),
    ] {
        let scenario = deterministic(extra, ONE_CALL, "");
        assert_rejected("netfail-bad", &scenario, key, extra);
    }
}

#[test]
fn all_three_at_once_are_the_same_for_any_thread_count() {
    let toml = r#"
seed = 11
replications = 6
horizon = "300s"

[[tenants]]
name = "app"
backend = "api"
arrivals = { process = "poisson", rate = "30/s" }
prompt_tokens = { dist = "lognormal", median = 500, p99 = 4000 }
output_tokens = { dist = "lognormal", median = 200, p99 = 1000 }

[[backends]]
name = "api"
concurrency = "unlimited"
ttft = { dist = "lognormal", median = "300ms", p99 = "2s" }
per_output_token = { dist = "uniform", low = "5ms", high = "15ms" }
latency_per_inflight = 0.01
network = { delay = { dist = "exponential", mean = "30ms" }, connect_failure = 0.01, reset = 0.01 }
stream_failures = { probability = 0.05, at_tokens = { dist = "exponential", mean = 100 }, retry = "resume" }
memory = { limit_mb = 3000, per_call_mb = 20, per_token_kb = 10, restart = "5s" }

[gateway]
attempt_timeout = "4s"
retry = { max_attempts = 4, backoff = "full_jitter", base = "200ms" }
"#;
    let report = same_for_any_thread_count("netfail-threads", toml);
    // Every mechanism took part.
    for name in [
        "backend.api.connections_refused",
        "backend.api.connections_reset",
        "backend.api.streams_broken",
        "errors.stream_interrupted",
    ] {
        assert!(mean(&report, name) > 0.0, "{name}");
    }
    let rtt = mean(&report, "backend.api.round_trip_mean_s");
    // Two exponential draws of mean 30 ms: 60 ms; thousands of attempts, sd 42 ms.
    assert!((rtt - 0.060).abs() < 0.004, "{rtt}");
}
