//! The network between a tenant's clients and the gateway (`[tenants.network]`), through the
//! binary: a constant one-way delay against the hand computation (a job's latency grows by
//! exactly two delays per call; the gateway's and the server's timelines are only shifted), the
//! delay spending the call's deadline, per-call first tokens, bad tables, and thread counts.

mod common;

use common::*;

/// The tenant's hop: 20 ms each way.
const HOP: &str = NETWORK_20MS;

#[test]
fn a_constant_client_delay_adds_exactly_two_delays_per_call_and_leaves_the_server_alone() {
    for (steps, calls) in [(ONE_CALL, 1.0), (TWO_CALLS, 2.0)] {
        let plain = run_fresh("hop-plain", &one_second_backend("", steps, "", ""));
        let delayed = run_fresh("hop-delayed", &one_second_backend(HOP, steps, "", ""));
        let (t0, t1) = (
            per_rep(&plain, "time_in_system_mean_s"),
            per_rep(&delayed, "time_in_system_mean_s"),
        );
        for (a, b) in t0.iter().zip(&t1) {
            // The same jobs (the arrival stream is untouched), each 2 × 20 ms per call later.
            assert!(
                (b - a - calls * 0.040).abs() < 1e-9,
                "{a} → {b} over {calls} calls"
            );
            assert!((a - calls).abs() < 1e-9, "{a}: a call takes 1 s");
        }
        // The gateway sees each call 20 ms after it was sent and the server's work is unchanged:
        // its in-service count is the same in every replication, but for jobs straddling the
        // horizon (a job's calls are shifted by 20 ms and, for the second, 40 ms more).
        let (b0, b1) = (
            per_rep(&plain, "backend.api.busy_mean"),
            per_rep(&delayed, "backend.api.busy_mean"),
        );
        for (a, b) in b0.iter().zip(&b1) {
            assert!(
                (a - b).abs() <= 5.0 * calls * 0.060 / 2000.0 + 1e-12,
                "{a} vs {b}"
            );
        }
        // Nothing else changed: the same calls, attempts and answers.
        for name in [
            "arrivals",
            "completions",
            "success_ratio",
            "attempts_per_request",
        ] {
            assert_eq!(per_rep(&plain, name), per_rep(&delayed, name), "{name}");
        }
    }
}

#[test]
fn the_in_service_count_is_unchanged_for_single_calls() {
    // One call per job and a horizon no job straddles once shifted: exactly equal.
    let plain = run_fresh("hop-busy-plain", &one_second_backend("", ONE_CALL, "", ""));
    let delayed = run_fresh(
        "hop-busy-delayed",
        &one_second_backend(HOP, ONE_CALL, "", ""),
    );
    let (b0, b1) = (
        per_rep(&plain, "backend.api.busy_mean"),
        per_rep(&delayed, "backend.api.busy_mean"),
    );
    for (a, b) in b0.iter().zip(&b1) {
        // A job arriving in the last 20 ms of the horizon starts its service after it: at
        // 0.5/s, about one job in a hundred replications; a difference is at most 1 s over
        // 2000 s for each.
        assert!((a - b).abs() <= 1.0 / 2000.0 + 1e-12, "{a} vs {b}");
    }
}

#[test]
fn the_client_delay_spends_the_calls_deadline() {
    // 1 s of service fits a 1010 ms deadline at the gateway; 20 ms out leaves it 990 ms.
    let gateway = "deadline = \"1010ms\"\nretry = { max_attempts = 1 }";
    let plain = run_fresh(
        "hop-deadline-plain",
        &one_second_backend("", ONE_CALL, "", gateway),
    );
    let delayed = run_fresh(
        "hop-deadline-delayed",
        &one_second_backend(HOP, ONE_CALL, "", gateway),
    );
    assert_eq!(mean(&plain, "success_ratio"), 1.0);
    assert_eq!(mean(&delayed, "success_ratio"), 0.0);
    // The gateway cut every attempt at the deadline: 20 ms + 990 ms, then 20 ms back.
    for t in per_rep(&delayed, "time_in_system_mean_s") {
        assert!((t - 1.030).abs() < 1e-9, "{t}");
    }
}

#[test]
fn first_tokens_reach_the_client_one_way_back_later() {
    // A token model: 300 ms to the first token, 10 ms per further token, 50 tokens.
    let scenario = |hop: &str| {
        one_second_backend(
            &format!("output_tokens = {{ dist = \"fixed\", value = 50 }}\n{hop}"),
            ONE_CALL,
            "",
            "",
        )
        .replace(
            "service = { dist = \"deterministic\", value = \"1s\" }",
            "ttft = { dist = \"deterministic\", value = \"300ms\" }\n\
             per_output_token = { dist = \"deterministic\", value = \"10ms\" }",
        )
    };
    let plain = run_fresh("hop-ttft-plain", &scenario(""));
    let delayed = run_fresh("hop-ttft-delayed", &scenario(HOP));
    let (f0, f1) = (
        per_rep(&plain, "ttft_p50_s"),
        per_rep(&delayed, "ttft_p50_s"),
    );
    for (a, b) in f0.iter().zip(&f1) {
        // The first token: 20 ms out, 300 ms, 20 ms back (the quantile is read from a
        // histogram: within its 0.2% resolution).
        assert!((b - a - 0.040).abs() < 2e-3 * b, "{a} → {b}");
    }
    // The answer: 20 ms out, 300 ms + 49 × 10 ms, 20 ms back.
    for (a, b) in per_rep(&plain, "time_in_system_mean_s")
        .iter()
        .zip(per_rep(&delayed, "time_in_system_mean_s"))
    {
        assert!((a - 0.790).abs() < 1e-9, "{a}");
        assert!((b - a - 0.040).abs() < 1e-9, "{a} → {b}");
    }
}

#[test]
fn bad_client_networks_name_their_key() {
    for (tenant, key) in [
        ("network = {}", "tenants[0].network"),
        (
            "network = { delay = { dist = \"deterministic\", value = \"-1s\" } }",
            "tenants[0].network.delay",
        ),
        (
            "network = { delay = \"20ms\", jitter = 1 }",
            "tenants[0].network",
        ),
    ] {
        let scenario = one_second_backend(tenant, ONE_CALL, "", "");
        assert_rejected("hop-bad", &scenario, key, tenant);
    }
}

#[test]
fn a_random_client_delay_is_the_same_for_any_thread_count() {
    let toml = r#"
seed = 3
replications = 6
horizon = "300s"

[[tenants]]
name = "agent"
route = "r"
arrivals = { process = "poisson", rate = "5/s" }
agent_loop = { turns = { dist = "uniform", low = 1, high = 4 } }
network = { delay = { dist = "exponential", mean = "40ms" } }
output_tokens = { dist = "lognormal", median = 100, p99 = 800 }

[[tenants]]
name = "batch"
backend = "api"
arrivals = { process = "poisson", rate = "5/s" }
output_tokens = { dist = "lognormal", median = 100, p99 = 800 }

[[backends]]
name = "api"
concurrency = 8
ttft = { dist = "lognormal", median = "300ms", p99 = "2s" }
per_output_token = { dist = "uniform", low = "5ms", high = "15ms" }
errors = { server_error = 0.05 }

[[routes]]
name = "r"
backend = "api"

[gateway]
deadline = "6s"
retry = { max_attempts = 3, backoff = "full_jitter", base = "100ms" }
"#;
    let report = same_for_any_thread_count("hop-threads", toml);
    // The hop's tenant is slower than the other by at least its round trips (80 ms a call on
    // average), the same backend serving both.
    let agent = mean(&report, "tenant.agent.time_in_system_mean_s");
    let batch = mean(&report, "tenant.batch.time_in_system_mean_s");
    assert!(agent > batch + 0.08, "{agent} vs {batch}");
}
