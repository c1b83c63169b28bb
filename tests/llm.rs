//! The LLM world through the binary: provider rate limits and Retry-After, billing, time to
//! first token, context windows, outages, real traces, and bad provider settings.

mod common;

use common::{faultline, mean, run_scenario, scratch_dir, write_trace};
use serde_json::Value;
use std::path::Path;

fn run_toml(dir: &Path, scenario: &str) -> Value {
    run_scenario(dir, scenario, &[])
}

#[test]
fn the_429_share_follows_from_bucket_arithmetic() {
    // 6,000 requests, one every 100 ms, against 300 requests per minute (a bucket of 300 that
    // refills one token every 200 ms), no retries. The expected admissions come from the bucket
    // arithmetic done here, independently, in integer nanoseconds.
    let dir = scratch_dir("llm-bucket");
    let trace = dir.join("steady.jsonl");
    let rows: Vec<(u64, u32, u32)> = (0..6000).map(|k| (k * 100, 10, 10)).collect();
    write_trace(&trace, &rows);
    let report = run_toml(
        &dir,
        &format!(
            r#"
replications = 1
horizon = "20m"
[[tenants]]
name = "steady"
backend = "api"
arrivals = {{ process = "trace", path = "{}" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "50ms" }}
rate_limits = {{ requests_per_minute = 300 }}
"#,
            trace.display()
        ),
    );
    let (per, amount, capacity) = (60_000_000_000i128, 300i128, 300i128);
    let mut level = capacity * per;
    let mut last = 0i128;
    let mut admitted = 0u64;
    for k in 0..6000i128 {
        let t = k * 100_000_000;
        level = (level + (t - last) * amount).min(capacity * per);
        last = t;
        if level >= per {
            level -= per;
            admitted += 1;
        }
    }
    // About 300 at once, then one every 200 ms for the remaining ~540 s.
    assert!((3000..3400).contains(&admitted), "{admitted}");
    assert_eq!(mean(&report, "arrivals"), 6000.0);
    assert_eq!(
        mean(&report, "errors.rate_limited"),
        (6000 - admitted) as f64
    );
    assert_eq!(mean(&report, "throttled"), (6000 - admitted) as f64);
    assert_eq!(mean(&report, "success_ratio"), admitted as f64 / 6000.0);
}

#[test]
fn retry_after_is_respected_up_to_its_cap() {
    // 61 requests at once against 60 per minute: the 61st gets a 429 whose Retry-After is the
    // time to one more token, exactly 1 s. Honoured, its retry succeeds at 1.001 s (the 429 took
    // a 1 ms round trip) and finishes 50 ms later; with the cap at 0 s, the retry comes back at
    // once, is refused again, and the call is throttled.
    let dir = scratch_dir("llm-retry-after");
    let trace = dir.join("burst.jsonl");
    write_trace(&trace, &vec![(0, 10, 10); 61]);
    let scenario = |cap: &str| {
        format!(
            r#"
replications = 1
horizon = "1m"
[[tenants]]
name = "burst"
backend = "api"
arrivals = {{ process = "trace", path = "{}" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "50ms" }}
rate_limits = {{ requests_per_minute = 60 }}
[gateway.retry]
max_attempts = 2
retry_after_cap = "{cap}"
"#,
            trace.display()
        )
    };
    let honoured = run_toml(&dir, &scenario("60s"));
    assert_eq!(mean(&honoured, "success_ratio"), 1.0);
    assert_eq!(mean(&honoured, "throttled"), 0.0);
    let expected = (60.0 * 0.05 + 1.051) / 61.0;
    let got = mean(&honoured, "time_in_system_mean_s");
    assert!((got - expected).abs() < 1e-9, "{got} vs {expected}");

    let ignored = run_toml(&scratch_dir("llm-retry-after-0"), &scenario("0s"));
    assert_eq!(mean(&ignored, "throttled"), 1.0);
    assert_eq!(mean(&ignored, "errors.rate_limited"), 2.0);
}

#[test]
fn abandoned_attempts_are_billed_and_ttft_is_exact() {
    // Ten calls of 1,000 prompt and 100 output tokens at $2 and $10 per million: $0.003 each.
    // An attempt takes 1 s to its first token and 10 ms per further token: 1.99 s in all.
    let dir = scratch_dir("llm-billing");
    let trace = dir.join("ten.jsonl");
    let rows: Vec<(u64, u32, u32)> = (0..10).map(|k| (k * 10_000, 1000, 100)).collect();
    write_trace(&trace, &rows);
    let scenario = |timeout: &str| {
        format!(
            r#"
replications = 1
horizon = "10m"
[[tenants]]
name = "t"
backend = "api"
arrivals = {{ process = "trace", path = "{}" }}
[[backends]]
name = "api"
concurrency = "unlimited"
ttft = {{ dist = "deterministic", value = "1s" }}
per_output_token = {{ dist = "deterministic", value = "10ms" }}
price = {{ input_per_mtok = 2, output_per_mtok = 10 }}
[gateway]
{timeout}
[gateway.retry]
max_attempts = 2
"#,
            trace.display()
        )
    };
    let served = run_toml(&dir, &scenario(""));
    assert!((mean(&served, "cost_usd") - 10.0 * 0.003).abs() < 1e-12);
    assert_eq!(mean(&served, "input_tokens_billed"), 10_000.0);
    assert_eq!(mean(&served, "output_tokens_billed"), 1_000.0);
    assert!((mean(&served, "time_in_system_mean_s") - 1.99).abs() < 1e-9);
    // The histogram keeps three significant digits.
    assert!((mean(&served, "ttft_p50_s") - 1.0).abs() < 1e-3);

    // Every attempt now times out at 1.5 s and is retried once; the provider finishes both
    // attempts, so each call is billed twice and none succeeds.
    let abandoned = run_toml(
        &scratch_dir("llm-billing-timeout"),
        &scenario("attempt_timeout = \"1500ms\""),
    );
    assert_eq!(mean(&abandoned, "success_ratio"), 0.0);
    assert_eq!(mean(&abandoned, "timeouts"), 20.0);
    assert!((mean(&abandoned, "cost_usd") - 20.0 * 0.003).abs() < 1e-12);
    // No success, so no cost per success: the report says so with null rather than a number.
    assert!(abandoned["metrics"]["cost_per_success_usd"]["mean"].is_null());
}

#[test]
fn a_context_overflow_fails_at_once_and_is_never_retried() {
    let dir = scratch_dir("llm-context");
    let report = run_toml(
        &dir,
        r#"
replications = 2
horizon = "10m"
[[tenants]]
name = "long"
backend = "api"
arrivals = { process = "poisson", rate = "2/s" }
prompt_tokens = { dist = "fixed", value = 900 }
output_tokens = { dist = "fixed", value = 50 }
max_tokens = 200
[[backends]]
name = "api"
concurrency = 4
service = { dist = "exponential", mean = "1s" }
context_window = 1000
[gateway.retry]
max_attempts = 5
"#,
    );
    let arrivals = mean(&report, "arrivals");
    assert!(arrivals > 1000.0);
    // 900 + 200 > 1000: every call overflows, and none reaches the backend.
    assert_eq!(mean(&report, "errors.context_overflow"), arrivals);
    assert_eq!(mean(&report, "retries"), 0.0);
    assert_eq!(mean(&report, "backend.api.attempts"), 0.0);
    assert_eq!(mean(&report, "success_ratio"), 0.0);
}

#[test]
fn a_scheduled_outage_fails_every_call_inside_it() {
    // One hour down in three, no retries: a third of Poisson traffic fails. The outage fraction
    // is exact; the success ratio is 2/3 within its 99% interval.
    let dir = scratch_dir("llm-outage");
    let report = run_toml(
        &dir,
        r#"
replications = 20
horizon = "3h"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "poisson", rate = "1/s" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "10ms" }
error_latency = { dist = "deterministic", value = "10ms" }
outages = [{ start = "1h", duration = "1h", mode = "server_error" }]
"#,
    );
    assert!((mean(&report, "backend.api.outage_fraction") - 1.0 / 3.0).abs() < 1e-12);
    let m = &report["metrics"]["success_ratio"];
    let (lo, hi) = (
        m["ci99_low"].as_f64().unwrap(),
        m["ci99_high"].as_f64().unwrap(),
    );
    assert!(lo <= 2.0 / 3.0 && 2.0 / 3.0 <= hi, "[{lo}, {hi}]");
    assert!(
        hi - lo < 0.01,
        "the interval must be tight enough to mean something"
    );
    // Every failure is an outage 503 (means over replications, so compare with a tolerance).
    let failed = mean(&report, "completions") * (1.0 - mean(&report, "success_ratio"));
    assert!(
        (mean(&report, "errors.unavailable") - failed).abs() < 1.0,
        "{failed}"
    );
}

#[test]
fn bad_provider_settings_and_traces_exit_2_naming_the_place() {
    let dir = scratch_dir("llm-bad");
    let base = r#"
horizon = "1h"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "poisson", rate = "1/s" }
[[backends]]
name = "api"
service = { dist = "exponential", mean = "1s" }
"#;
    let bad_trace = dir.join("bad.csv");
    std::fs::write(
        &bad_trace,
        "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.6805900,374,44\n2023-11-16 18:15:50.9951690,x,38\n",
    )
    .unwrap();
    // Each bad line is line 10; the last one clashes with `service` on line 9.
    for (extra, needle) in [
        ("errors = { teapot = 0.1 }", "unknown error class `teapot`"),
        (
            "errors = { server_error = 0.7, overloaded = 0.6 }",
            "add up to 1.3",
        ),
        ("errors = { attempt_timeout = 0.1 }", "not drawn"),
        (
            "outages = [{ start = \"1h\" }]",
            "give either `start` and `duration`",
        ),
        (
            "outages = [{ start = \"1h\", duration = \"1h\", mode = \"hang\" }]",
            "needs gateway.attempt_timeout",
        ),
        ("rate_limits = { requests_per_minute = 0 }", "a limit of 0"),
        (
            "ttft = { dist = \"exponential\", mean = \"1s\" }",
            "not both",
        ),
    ] {
        let file = dir.join("bad.toml");
        std::fs::write(&file, format!("{base}{extra}\n")).unwrap();
        let out = faultline(&["validate", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{extra}: expected `{needle}` in {stderr}"
        );
        let line = if extra.starts_with("ttft") { 9 } else { 10 };
        assert!(
            stderr.contains(&format!("bad.toml:{line}:")),
            "{extra}: the error must point at line {line}: {stderr}"
        );
    }
    let file = dir.join("trace.toml");
    std::fs::write(
        &file,
        base.replace(
            "{ process = \"poisson\", rate = \"1/s\" }",
            &format!(
                "{{ process = \"trace\", path = \"{}\" }}",
                bad_trace.display()
            ),
        ),
    )
    .unwrap();
    let out = faultline(&["validate", file.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.csv:3:"),
        "the trace error names file and line: {stderr}"
    );
    assert!(stderr.contains("ContextTokens"), "{stderr}");
}

#[test]
fn the_azure_code_trace_replays_exactly_through_a_scenario() {
    // V8 through the public scenario path: 8,819 jobs and the file's exact token sums.
    let trace = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/traces/AzureLLMInferenceTrace_code.csv"
    );
    assert!(
        Path::new(trace).exists(),
        "this test needs {trace} (vendored in data/traces, see data/README.md)"
    );
    let dir = scratch_dir("llm-azure");
    let report = run_toml(
        &dir,
        &format!(
            r#"
replications = 1
horizon = "2h"
[[tenants]]
name = "code"
backend = "api"
arrivals = {{ process = "trace", path = "{trace}" }}
[[backends]]
name = "api"
concurrency = "unlimited"
ttft = {{ dist = "deterministic", value = "300ms" }}
per_output_token = {{ dist = "deterministic", value = "15ms" }}
price = {{ input_per_mtok = 1, output_per_mtok = 1 }}
"#
        ),
    );
    assert_eq!(mean(&report, "arrivals"), 8819.0);
    assert_eq!(mean(&report, "input_tokens_billed"), 18_059_974.0);
    assert_eq!(mean(&report, "output_tokens_billed"), 245_896.0);
}

#[test]
fn cached_prompt_tokens_are_billed_at_the_cached_price() {
    // Ten calls of 1,000 prompt (half of it cached) and 100 output tokens at $2, $0.50 and
    // $10 per million: 500·2e-6 + 500·0.5e-6 + 100·1e-5 = $0.00225 each.
    let dir = scratch_dir("llm-cached-input");
    let trace = dir.join("ten.jsonl");
    let rows: Vec<(u64, u32, u32)> = (0..10).map(|k| (k * 10_000, 1000, 100)).collect();
    write_trace(&trace, &rows);
    let report = run_toml(
        &dir,
        &format!(
            r#"
replications = 1
horizon = "10m"
[[tenants]]
name = "t"
route = "r"
arrivals = {{ process = "trace", path = "{}" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "1s" }}
price = {{ input_per_mtok = 2, cached_input_per_mtok = 0.5, output_per_mtok = 10 }}
[[routes]]
name = "r"
backend = "api"
cached_prompt_share = 0.5
"#,
            trace.display()
        ),
    );
    assert!((mean(&report, "cost_usd") - 10.0 * 0.00225).abs() < 1e-12);
}

#[test]
fn response_caches_answer_without_the_backend() {
    // A semantic cache: 30% hits, a tenth of them another prompt's answer. Wrong hits are the
    // only wrong answers, and their share of lookups is 0.03 within the run's 99% interval.
    let dir = scratch_dir("llm-semantic");
    let report = run_toml(
        &dir,
        r#"
replications = 10
horizon = "1h"
[[tenants]]
name = "t"
route = "r"
arrivals = { process = "poisson", rate = "5/s" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "200ms" }
[[routes]]
name = "r"
backend = "api"
cache = { kind = "semantic", hit_probability = 0.3, wrong_hit_rate = 0.1 }
"#,
    );
    assert_eq!(
        mean(&report, "wrong_accepted"),
        mean(&report, "route.r.cache_wrong_hits")
    );
    let share = &report["metrics"]["route.r.cache_hit_ratio"];
    let (lo, hi) = (
        share["ci99_low"].as_f64().unwrap(),
        share["ci99_high"].as_f64().unwrap(),
    );
    assert!(lo <= 0.3 && 0.3 <= hi, "hit ratio [{lo}, {hi}]");
    assert!(mean(&report, "backend.api.attempts") < 0.75 * mean(&report, "route.r.cache_lookups"));

    // An exact cache that keeps expired entries answers from them during a total outage:
    // every answer in the outage is a stale one, and nothing else answers then.
    let dir = scratch_dir("llm-stale");
    let report = run_toml(
        &dir,
        r#"
replications = 3
horizon = "2h"
[[tenants]]
name = "t"
route = "r"
arrivals = { process = "poisson", rate = "5/s" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "200ms" }
error_latency = { dist = "deterministic", value = "10ms" }
outages = [{ start = "1h", duration = "1h" }]
[[routes]]
name = "r"
backend = "api"
cache = { kind = "exact", catalogue_size = 1000, capacity = 1000, ttl = "1m", serve_stale_on_outage = true }
fallback = { stale_cache = true }
"#,
    );
    let stale = mean(&report, "route.r.cache_stale_served");
    assert!(stale > 10_000.0, "{stale}");
    assert_eq!(mean(&report, "degraded"), stale);
}

#[test]
fn a_busy_provider_can_answer_overloaded_instead_of_queueing() {
    // Two calls at once against one slot: with `when_busy = "overloaded"` the second gets a
    // 529 at once (and, retried after the 1 s backoff, is served then); with the default queue
    // it waits for the slot instead.
    let dir = scratch_dir("llm-overloaded");
    let trace = dir.join("two.jsonl");
    write_trace(&trace, &[(0, 10, 10), (0, 10, 10)]);
    let scenario = |busy: &str, attempts: u32| {
        format!(
            r#"
replications = 1
horizon = "1m"
[[tenants]]
name = "t"
backend = "api"
arrivals = {{ process = "trace", path = "{}" }}
[[backends]]
name = "api"
concurrency = 1
when_busy = "{busy}"
service = {{ dist = "deterministic", value = "1s" }}
[gateway.retry]
max_attempts = {attempts}
backoff = "constant"
base = "1s"
cap = "1s"
"#,
            trace.display()
        )
    };
    let once = run_toml(&dir, &scenario("overloaded", 1));
    assert_eq!(mean(&once, "errors.overloaded"), 1.0);
    assert_eq!(mean(&once, "success_ratio"), 0.5);
    let retried = run_toml(&scratch_dir("llm-overloaded-2"), &scenario("overloaded", 2));
    assert_eq!(mean(&retried, "success_ratio"), 1.0);
    // 1 s for the first; 1 ms round trip + 1 s backoff + 1 s service for the second.
    assert!((mean(&retried, "time_in_system_mean_s") - (1.0 + 2.001) / 2.0).abs() < 1e-9);
    let queued = run_toml(&scratch_dir("llm-overloaded-3"), &scenario("queue", 1));
    assert_eq!(mean(&queued, "success_ratio"), 1.0);
    assert!((mean(&queued, "time_in_system_mean_s") - 1.5).abs() < 1e-9);
}
