//! Hand-computable traces through the whole world for wiring that aggregate checks miss: the
//! GPU pool's KV admission cap, calls requeued by a crash, and the SLO burn-rate series. Each
//! expected value is worked out in the comment above it from the scenario alone.

mod common;

use common::{mean, per_rep, run_scenario, scratch_dir, series_values, write_trace};

/// Writes `rows` as a trace next to `scenario` (which names it `TRACE`) and runs it.
fn run_trace(label: &str, scenario: &str, rows: &[(u64, u32, u32)]) -> serde_json::Value {
    let dir = scratch_dir(label);
    let trace = dir.join("trace.jsonl");
    write_trace(&trace, rows);
    let text = scenario.replace("TRACE", &trace.display().to_string());
    run_scenario(&dir, &text, &[])
}

/// One replica with `blocks` KV blocks behind a gateway that does not retry.
fn one_replica(blocks: u32, extra: &str) -> String {
    format!(
        r#"
replications = 1
horizon = "5m"
[[tenants]]
name = "t"
backend = "pool"
arrivals = {{ process = "trace", path = "TRACE" }}
[[backends]]
name = "pool"
[backends.gpu_pool]
replicas = 1
step_time = "llama2-7b-a100"
kv = {{ blocks = {blocks} }}
{extra}
[gateway.retry]
max_attempts = 1
"#
    )
}

#[test]
fn the_kv_admission_cap_admits_what_fits_under_its_share_of_the_cache() {
    // Five calls at 0 s, each 160 prompt + 160 output tokens: at their longest 319 tokens in
    // the cache, 20 blocks of 16. A replica of 100 blocks with a cap of 0.5 takes calls while
    // their blocks together stay within floor(0.5 × 100) = 50: two (40), and the other three
    // are turned away as overloaded. At 0.3 (30 blocks): one; at 1.0 (100 blocks): all five.
    let rows = vec![(0, 160, 160); 5];
    for (share, served) in [(0.3, 1.0), (0.5, 2.0), (1.0, 5.0)] {
        let r = run_trace(
            &format!("kv-cap-{share}"),
            &one_replica(100, &format!("kv_admission = {share}")),
            &rows,
        );
        assert_eq!(mean(&r, "pool.pool.completed"), served, "cap {share}");
        // Turned away (the only failure here), and not retried.
        assert_eq!(mean(&r, "attempt_failures"), 5.0 - served, "cap {share}");
        assert_eq!(mean(&r, "pool.pool.preemptions"), 0.0, "cap {share}");
        // Calls in the cache never hold more than the cap's share of it.
        let (_, kv) = series_values(&r, "pool.pool.kv_utilisation");
        let peak = kv
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .fold(0.0, f64::max);
        assert!(
            peak > 0.0 && peak <= share,
            "cap {share}: KV utilisation reached {peak}"
        );
    }
}

#[test]
fn a_crash_requeues_or_fails_every_call_on_the_replica() {
    // Four calls at 0 s with 5,000-token answers (over a minute of decoding) are all on the
    // one replica when it crashes at 5 s (a deterministic time between failures); repair takes
    // longer than the run, so there is exactly one crash. Requeued, the four go back to the
    // gateway queue (and wait there to the end); failed, each ends with a connection reset.
    let rows = vec![(0, 100, 5000); 4];
    let crashes = r#"crashes = { mtbf = { dist = "deterministic", value = "5s" }, mttr = { dist = "deterministic", value = "1h" } }
cold_start = "30s""#;
    let requeue = run_trace(
        "crash-requeue",
        &one_replica(4000, &format!("{crashes}\non_crash = \"requeue\"")),
        &rows,
    );
    assert_eq!(mean(&requeue, "pool.pool.crashes"), 1.0);
    assert_eq!(mean(&requeue, "pool.pool.crash_requeued"), 4.0);
    assert_eq!(mean(&requeue, "pool.pool.crash_failed"), 0.0);
    assert_eq!(mean(&requeue, "completions"), 0.0);
    let fail = run_trace(
        "crash-fail",
        &one_replica(4000, &format!("{crashes}\non_crash = \"fail\"")),
        &rows,
    );
    assert_eq!(mean(&fail, "pool.pool.crashes"), 1.0);
    assert_eq!(mean(&fail, "pool.pool.crash_failed"), 4.0);
    assert_eq!(mean(&fail, "pool.pool.crash_requeued"), 0.0);
    assert_eq!(mean(&fail, "attempt_failures"), 4.0);
    assert_eq!(mean(&fail, "success_ratio"), 0.0);
    assert_eq!(mean(&fail, "completions"), 4.0);
}

#[test]
fn the_burn_rate_series_is_each_buckets_bad_share_over_the_budget() {
    // One call a second for 1,000 s, each answered (or failed) 100 ms later; the backend is down
    // from 500.5 s to 600.5 s, so the calls at 501 … 600 s fail. A 99% availability SLO has a
    // budget of 0.01: a bucket's burn rate is (failed / calls ended in it) / 0.01, 100 in the
    // outage and 0 outside it.
    let scenario = r#"
replications = 1
horizon = "1000s"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
outages = [{ start = "500500ms", duration = "100s" }]
[[slos]]
name = "availability"
objective = "99"
indicator = { kind = "availability" }
"#;
    let rows: Vec<(u64, u32, u32)> = (0..1000).map(|k| (k * 1000, 100, 10)).collect();
    let r = run_trace("burn-series", scenario, &rows);
    assert_eq!(mean(&r, "attempt_failures"), 100.0);
    let (width, burn) = series_values(&r, "slo.availability.burn_rate");
    let mut checked = 0;
    for (i, &got) in burn.iter().enumerate() {
        let (from, to) = (i as f64 * width, (i + 1) as f64 * width);
        let ended: Vec<u64> = (0..1000u64)
            .filter(|&k| (from..to).contains(&(k as f64 + 0.1)))
            .collect();
        if ended.is_empty() {
            assert!(got.is_nan(), "bucket {i}: no calls, burn {got}");
            continue;
        }
        let bad = ended.iter().filter(|&&k| (501..=600).contains(&k)).count();
        let expected = bad as f64 / ended.len() as f64 / 0.01;
        assert!(
            (got - expected).abs() < 1e-9,
            "bucket {i} [{from}, {to}) s: burn {got}, expected {expected}"
        );
        checked += 1;
    }
    assert!(checked >= 100, "{checked} buckets with calls");
    assert!(burn.contains(&100.0), "a bucket inside the outage");
    assert_eq!(per_rep(&r, "slo.availability.sli"), vec![0.9]);
}

#[test]
fn the_pool_ttft_series_is_the_mean_ttft_of_each_bucket() {
    // One call at 0 s on an idle replica: its first token comes after its prefill, in the
    // first bucket. The series has that TTFT there and nothing (not zero) in every other bucket.
    let r = run_trace("ttft-series", &one_replica(100, ""), &[(0, 160, 160)]);
    let (_, ttft) = series_values(&r, "pool.pool.ttft_mean_s");
    let finite: Vec<(usize, f64)> = ttft
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .collect();
    assert_eq!(finite.len(), 1, "{ttft:?}");
    assert_eq!(finite[0].0, 0);
    // The histogram's p50 of a single value is that value to within its bin width.
    let p50 = mean(&r, "pool.pool.ttft_p50_s");
    assert!(
        finite[0].1 > 0.0 && (finite[0].1 - p50).abs() <= 0.05 * p50,
        "series {} vs ttft_p50_s {p50}",
        finite[0].1
    );
}
