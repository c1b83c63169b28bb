//! Overload controls through the gateway: retry quotas per tenant (the AWS SDKs' standard and
//! adaptive modes), adaptive concurrency limits per backend (AIMD, Vegas, Gradient2), and the
//! CoDel and adaptive-LIFO queue disciplines. The state machines are unit-tested in
//! `policies`; these check the wiring and the behaviour each is for, at fixed seeds.

use crate::common::resilience::*;
use crate::common::*;

/// A backend down from 0.5 s on, a call a second, 3 attempts without backoff.
fn outage(quota: &str, timeout: bool) -> String {
    let (hang, attempt_timeout) = if timeout {
        ("mode = \"hang\", ", "attempt_timeout = \"1s\"\n")
    } else {
        ("", "")
    };
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
outages = [{{ {hang}start = "500ms", duration = "1h" }}]
[gateway]
{attempt_timeout}
[gateway.retry]
max_attempts = 3
{quota}
"#
    )
}

#[test]
fn the_aws_quota_allows_100_retries_then_denies_them() {
    // The first call (at 0 s) is answered before the outage; 99 fail. 500 tokens at 5 a retry:
    // 100 retries (calls 2–51 make both of theirs), then every call's first retry is denied
    // (calls 52–100), nothing refills (no later call is answered). One exhaustion. Without
    // the quota: 2 retries per failing call.
    let trace = every_second("quota-trace", 100);
    let none = run_with("quota-none", &outage("", false), Some(&trace));
    assert_eq!(mean(&none, "retries"), 2.0 * 99.0);
    assert!(!has(&none, "retry_quota.denied"), "only when configured");
    let aws = run_with("quota-aws", &outage("quota = {}", false), Some(&trace));
    assert_eq!(mean(&aws, "retries"), 100.0);
    assert_eq!(mean(&aws, "retry_quota.denied"), 49.0);
    assert_eq!(mean(&aws, "tenant.t.retry_quota.denied"), 49.0);
    assert_eq!(mean(&aws, "retry_quota.exhausted"), 1.0);
    // Timeouts cost 10: 50 retries.
    let timeouts = run_with("quota-timeouts", &outage("quota = {}", true), Some(&trace));
    assert_eq!(mean(&timeouts, "retries"), 50.0);
    // Two retries a second (two calls' first and second) until the 50th: about 25 calls
    // make both, and each of the other 74 failing calls is denied once.
    let denied = mean(&timeouts, "retry_quota.denied");
    assert!((73.0..=75.0).contains(&denied), "denied {denied}");
    // A per-call refill of 5 pays for one retry per call, forever: call 2 finds the bucket
    // full (10) and makes both retries, calls 3–100 one each.
    let per_call = run_with(
        "quota-per-call",
        &outage(
            "quota = { capacity = 10, retry_cost = 5, refill_per_call = 5, refill_per_success = 0 }",
            false,
        ),
        Some(&trace),
    );
    assert_eq!(mean(&per_call, "retries"), 2.0 + 98.0);
}

#[test]
fn each_tenant_keeps_its_own_quota() {
    // Two tenants on the dead backend, 50 calls each (the first answered before the outage):
    // each bucket pays for the 98 retries of its own tenant's 49 failing calls, where one
    // shared 500-token budget would pay for 100 in all.
    let scenario = r#"
replications = 1
horizon = "2m"
[[tenants]]
name = "a"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
[[tenants]]
name = "b"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
outages = [{ start = "500ms", duration = "1h" }]
[gateway.retry]
max_attempts = 3
quota = {}
"#;
    let trace = every_second("quota-two-trace", 50);
    let r = run_with("quota-two", scenario, Some(&trace));
    assert_eq!(mean(&r, "retries"), 2.0 * 98.0);
    assert_eq!(mean(&r, "tenant.a.retry_quota.denied"), 0.0);
    assert_eq!(mean(&r, "tenant.b.retry_quota.denied"), 0.0);
}

/// Two tenants on a backend down from 0.5 s on, a call a second each, 3 attempts without
/// backoff, an AWS quota with `tenants` appended (per-tenant numbers).
fn two_tenants(tenants: &str) -> String {
    format!(
        r#"
replications = 1
horizon = "5m"
[[tenants]]
name = "a"
backend = "api"
arrivals = {{ process = "trace", path = "TRACE" }}
[[tenants]]
name = "b"
backend = "api"
arrivals = {{ process = "trace", path = "TRACE" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "100ms" }}
outages = [{{ start = "500ms", duration = "1h" }}]
[gateway.retry]
max_attempts = 3
[gateway.retry.quota]
{tenants}
"#
    )
}

#[test]
fn a_tenants_own_quota_numbers_apply_to_its_bucket_only() {
    // 100 calls each, the first answered before the outage. Tenant `a` keeps AWS's 500 tokens:
    // 100 retries, then 49 calls denied (as in the test above). Tenant `b`'s bucket holds 50:
    // 10 retries at 5 (calls 2–6 make both), then each of calls 7–100 is denied its first
    // retry: 94 denials, one exhaustion.
    let trace = every_second("quota-override-trace", 100);
    let r = run_with(
        "quota-override",
        &two_tenants("tenants.b = { capacity = 50 }"),
        Some(&trace),
    );
    assert_eq!(mean(&r, "retries"), 100.0 + 10.0);
    assert_eq!(mean(&r, "tenant.a.retry_quota.denied"), 49.0);
    assert_eq!(mean(&r, "tenant.b.retry_quota.denied"), 94.0);
    assert_eq!(mean(&r, "tenant.a.retry_quota.exhausted"), 1.0);
    assert_eq!(mean(&r, "tenant.b.retry_quota.exhausted"), 1.0);
    assert_eq!(mean(&r, "retry_quota.denied"), 49.0 + 94.0);
    // A dearer retry for `b` (25 of its 500 tokens): 20 retries, calls 2–11 both; calls
    // 12–100 are denied once each (89).
    let r = run_with(
        "quota-override-cost",
        &two_tenants("tenants.b = { retry_cost = 25 }"),
        Some(&trace),
    );
    assert_eq!(mean(&r, "retries"), 100.0 + 20.0);
    assert_eq!(mean(&r, "tenant.b.retry_quota.denied"), 89.0);
}

#[test]
fn bad_per_tenant_quotas_name_their_key() {
    for (tenants, key) in [
        (
            "tenants.nobody = { capacity = 50 }",
            "gateway.retry.quota.tenants.nobody",
        ),
        (
            "tenants.b = { capacity = 4 }",
            "gateway.retry.quota.tenants.b.retry_cost",
        ),
        (
            "tenants.b = { capacity = 0 }",
            "gateway.retry.quota.tenants.b.capacity",
        ),
        (
            "tenants.b = { timeout_cost = 501 }",
            "gateway.retry.quota.tenants.b.timeout_cost",
        ),
    ] {
        let scenario = two_tenants(tenants).replace(
            r#"{ process = "trace", path = "TRACE" }"#,
            r#"{ process = "poisson", rate = "1/s" }"#,
        );
        assert_rejected("quota-override-bad", &scenario, key, tenants);
    }
}

/// A provider that allows 600 calls a minute, asked for 20 a second, 3 attempts with backoff.
const RATE_LIMITED: &str = r#"
seed = 1
replications = 2
horizon = "5m"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "poisson", rate = "20/s" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "200ms" }
rate_limits = { requests_per_minute = 600 }
[gateway.retry]
max_attempts = 3
backoff = "full_jitter"
"#;

#[test]
fn the_adaptive_mode_paces_the_client_below_the_providers_limit() {
    // The standard mode retries into the provider's 429s; the adaptive mode's CUBIC limiter
    // slows the client to about the provider's rate after the first throttle, so far fewer
    // attempts are throttled and far more calls succeed, at the price of waiting client-side.
    let standard = run("adaptive-off", &format!("{RATE_LIMITED}quota = {{}}\n"));
    let adaptive = run(
        "adaptive-on",
        &format!("{RATE_LIMITED}quota = {{ adaptive = true }}\n"),
    );
    assert!(!has(&standard, "client_rate.delayed"));
    let (s429, a429) = (
        mean(&standard, "errors.rate_limited"),
        mean(&adaptive, "errors.rate_limited"),
    );
    assert!(a429 < 0.3 * s429, "429s: {a429} vs {s429}");
    assert!(mean(&adaptive, "success_ratio") > 0.9);
    assert!(mean(&standard, "success_ratio") < 0.7);
    assert!(mean(&adaptive, "client_rate.delayed") > 1000.0);
    assert_eq!(
        mean(&adaptive, "client_rate.throttles"),
        mean(&adaptive, "errors.rate_limited")
    );
}

/// 30 calls a second for a backend of 20 slots, 1 s each on average; measured after 1 minute.
fn capacity_20(backend: &str, limit: &str) -> String {
    format!(
        r#"
seed = 1
replications = 4
horizon = "10m"
warmup = "1m"
[[tenants]]
name = "app"
backend = "api"
arrivals = {{ process = "poisson", rate = "30/s" }}
[[backends]]
name = "api"
concurrency = 20
{backend}
[gateway.concurrency_limit]
{limit}
"#
    )
}

#[test]
fn adaptive_limits_converge_near_a_fixed_capacity() {
    // C = 20. AIMD against a backend that answers 529 beyond C (exponential service): the
    // sawtooth's time average lies within [C, 1.35·C] (it climbs between rejections, which
    // come back in a round trip). Vegas against a backend that queues beyond C with steady
    // latency (lognormal, p99 1.2× the median): within 10% of C. Gradient2 on the same
    // backend keeps a standing queue (its long-term average follows the RTT up): above C but
    // below 2·C.
    let aimd = run(
        "limit-aimd",
        &capacity_20(
            "when_busy = \"overloaded\"\nservice = { dist = \"exponential\", mean = \"1s\" }",
            "algorithm = \"aimd\"\ninitial_limit = 5",
        ),
    );
    let steady = "service = { dist = \"lognormal\", median = \"1s\", p99 = \"1.2s\" }";
    let vegas = run(
        "limit-vegas",
        &capacity_20(steady, "algorithm = \"vegas\"\ninitial_limit = 5"),
    );
    let gradient2 = run(
        "limit-gradient2",
        &capacity_20(
            steady,
            "algorithm = \"gradient2\"\ninitial_limit = 5\nmin_limit = 1",
        ),
    );
    let m = |r: &serde_json::Value| mean(r, "backend.api.concurrency_limit_mean");
    assert!((20.0..=27.0).contains(&m(&aimd)), "AIMD {}", m(&aimd));
    assert!((18.0..=22.0).contains(&m(&vegas)), "Vegas {}", m(&vegas));
    assert!(
        (20.0..40.0).contains(&m(&gradient2)),
        "Gradient2 {}",
        m(&gradient2)
    );
    for r in [&aimd, &vegas, &gradient2] {
        // The excess 10 calls a second are turned away, by the limit or the backend.
        assert!(mean(r, "concurrency_limit.rejected") > 1000.0);
        let (_, limit) = series_values(r, "backend.api.concurrency_limit");
        assert!(!limit.is_empty());
    }
    // Vegas keeps the queue short: well under a second of waiting.
    assert!(mean(&vegas, "queue_wait_mean_s") < 0.5);
}

/// 12 calls a second for 10 slots of 1 s on average: an overload that never ends.
const SUSTAINED: &str = r#"
seed = 1
replications = 4
horizon = "10m"
warmup = "1m"
[[tenants]]
name = "app"
backend = "api"
arrivals = { process = "poisson", rate = "12/s" }
[[backends]]
name = "api"
concurrency = 10
service = { dist = "exponential", mean = "1s" }
"#;

#[test]
fn codel_holds_the_wait_of_served_calls_near_its_target() {
    // FIFO: the queue grows by 2 calls a second for 10 minutes; served calls waited a minute
    // on average. CoDel (target 100 ms, interval 1 s) drops about the excess from the head and
    // the calls it serves waited under target + interval on average.
    let fifo = run("codel-fifo", SUSTAINED);
    let codel = run(
        "codel",
        &format!(
            "{SUSTAINED}[gateway.queue_discipline]\nkind = \"codel\"\ntarget = \"100ms\"\ninterval = \"1s\"\n"
        ),
    );
    assert!(!has(&fifo, "codel.dropped"));
    assert!(mean(&fifo, "queue_wait_mean_s") > 30.0);
    let wait = mean(&codel, "queue_wait_mean_s");
    assert!((0.1..1.1).contains(&wait), "CoDel wait {wait}");
    // Drops match the excess: 2 calls a second over 9 minutes is 1,080, within 25%.
    let dropped = mean(&codel, "codel.dropped");
    assert!((810.0..1350.0).contains(&dropped), "dropped {dropped}");
    // The backend stays busy: goodput near its capacity of 10 a second.
    assert!(mean(&codel, "goodput_per_s") > 9.0);
}

#[test]
fn adaptive_lifo_keeps_median_latency_low_under_a_burst() {
    // 8 calls a second for 10 slots, then 30 a second for 30 s; calls wait at most 10 s. FIFO
    // serves the backlog oldest first, so every served call waits; adaptive LIFO serves the
    // newest once the queue stands, and the old ones time out instead.
    let burst = r#"
seed = 1
replications = 4
horizon = "5m"
[[tenants]]
name = "app"
backend = "api"
arrivals = { process = "piecewise", steps = [{ from = "0s", rate = "8/s" }, { from = "60s", rate = "30/s" }, { from = "90s", rate = "8/s" }] }
[[backends]]
name = "api"
concurrency = 10
service = { dist = "exponential", mean = "1s" }
[gateway]
queue_timeout = "10s"
"#;
    let fifo = run("lifo-fifo", burst);
    let lifo = run(
        "lifo",
        &format!("{burst}[gateway.queue_discipline]\nkind = \"adaptive_lifo\"\n"),
    );
    let (f, l) = (mean(&fifo, "latency_p50_s"), mean(&lifo, "latency_p50_s"));
    assert!(l < 0.7 * f, "p50 {l} vs {f}");
    assert!(mean(&lifo, "queue_wait_mean_s") < 0.25 * mean(&fifo, "queue_wait_mean_s"));
}

#[test]
fn overload_controls_are_byte_identical_across_threads() {
    let scenario = format!(
        "{SUSTAINED}[gateway.queue_discipline]\nkind = \"codel\"\n[gateway.concurrency_limit]\nalgorithm = \"vegas\"\n[gateway.retry]\nmax_attempts = 2\nquota = {{ adaptive = true }}\n"
    );
    same_for_any_thread_count("overload-threads", &scenario);
    // The other discipline and limiters, and the standard (per-tenant) quota.
    for (label, controls) in [
        (
            "overload-threads-lifo-aimd",
            "[gateway.queue_discipline]\nkind = \"adaptive_lifo\"\n[gateway.concurrency_limit]\nalgorithm = \"aimd\"\n",
        ),
        (
            "overload-threads-gradient2",
            "[gateway.concurrency_limit]\nalgorithm = \"gradient2\"\nmin_limit = 1\n",
        ),
    ] {
        let scenario = format!(
            "{SUSTAINED}{controls}[gateway.retry]\nmax_attempts = 3\nquota = {{ capacity = 50 }}\n"
        );
        same_for_any_thread_count(label, &scenario);
    }
}
