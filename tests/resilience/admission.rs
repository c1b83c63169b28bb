//! Admission control and scheduling: queue depth, priority shedding, queue timeouts, weighted fair queuing.

use crate::common::resilience::*;
use crate::common::*;
use serde_json::Value;

/// Two tenants on one backend that serves one call at a time.
fn admission_scenario(service: &str, gateway: &str) -> String {
    format!(
        r#"
replications = 1
horizon = "1h"
[[tenants]]
name = "lo"
backend = "api"
priority = 0
arrivals = {{ process = "trace", path = "LO" }}
[[tenants]]
name = "hi"
backend = "api"
priority = 1
arrivals = {{ process = "trace", path = "HI" }}
[[backends]]
name = "api"
concurrency = 1
service = {{ dist = "deterministic", value = "{service}" }}
[gateway]
{gateway}
"#
    )
}

fn run_two(label: &str, scenario: &str, lo: &[(u64, u32, u32)], hi: &[(u64, u32, u32)]) -> Value {
    let lo = trace_file(&format!("{label}-lo"), lo);
    let hi = trace_file(&format!("{label}-hi"), hi);
    run(
        label,
        &scenario
            .replace("LO", &lo.display().to_string())
            .replace("HI", &hi.display().to_string()),
    )
}

#[test]
fn a_full_queue_sheds_and_priority_shedding_sheds_the_low_priority_tenant_first() {
    // One call in service, room for 6 waiting; from depth 2 only priority 1 gets in. Both
    // traces start at 0 s (a trace's first row is its time 0): one of those two calls is
    // served, the other waits. lo's calls at 1-4 ms: the first waits (depth 2), three are shed
    // for their priority. hi's calls at 10-14 ms: four wait (depth 3 … 6), the fifth finds the
    // queue full.
    let lo: Vec<_> = (0..5).map(|k| (k, 10, 10)).collect();
    let hi: Vec<_> = std::iter::once(0)
        .chain(10..15)
        .map(|k| (k, 10, 10))
        .collect();
    let report = run_two(
        "shed-priority",
        &admission_scenario(
            "100s",
            "admission = { max_queue_depth = 6, priority_shedding = { from_depth = 2, levels = 2 } }",
        ),
        &lo,
        &hi,
    );
    assert_eq!(mean(&report, "shed.low_priority"), 3.0);
    assert_eq!(mean(&report, "shed.queue_full"), 1.0);
    assert_eq!(mean(&report, "tenant.lo.blocked"), 3.0);
    assert_eq!(mean(&report, "tenant.hi.blocked"), 1.0);

    // Without priority shedding the queue fills in arrival order: lo is never shed, and hi
    // loses four calls to the full queue instead.
    let report = run_two(
        "shed-full",
        &admission_scenario("100s", "admission = { max_queue_depth = 6 }"),
        &lo,
        &hi,
    );
    assert_eq!(mean(&report, "shed.low_priority"), 0.0);
    assert_eq!(mean(&report, "shed.queue_full"), 4.0);
    assert_eq!(mean(&report, "tenant.lo.blocked"), 0.0);
    assert_eq!(mean(&report, "tenant.hi.blocked"), 4.0);
}

#[test]
fn a_queue_timeout_sheds_calls_that_waited_too_long() {
    // Eleven calls at once (lo's ten, hi's one), served one at a time in 1 s each: one starts at
    // once, three more at 1, 2 and 3 s; the other seven would start at 4 s or later, and are
    // shed when their 3.5 s queue timeout runs out.
    let lo: Vec<_> = (0..10).map(|_| (0, 10, 10)).collect();
    let hi = vec![(0, 10, 10)];
    let report = run_two(
        "queue-timeout",
        &admission_scenario("1s", "queue_timeout = \"3500ms\""),
        &lo,
        &hi,
    );
    assert_eq!(mean(&report, "shed.queue_timeout"), 7.0);
    assert_eq!(mean(&report, "backend.api.attempts"), 4.0);
    assert_eq!(mean(&report, "success_ratio"), 4.0 / 11.0);
}

#[test]
fn weighted_fair_queuing_shares_a_saturated_backend_by_weight() {
    // Both tenants send far more than the backend serves (2 per second): "heavy" 6/s with
    // weight 1, "light" 2/s with weight 3. Each served call of 1,000 prompt tokens costs
    // $0.001, so a tenant's cost counts its served calls. FIFO serves in arrival order: shares
    // follow the arrival rates (3:1 for heavy). Weighted fair queuing: 1:3, by weight.
    let scenario = |scheduling: &str| {
        format!(
            r#"
replications = 1
horizon = "1200s"
[[tenants]]
name = "heavy"
backend = "api"
weight = 1
arrivals = {{ process = "poisson", rate = "6/s" }}
prompt_tokens = {{ dist = "fixed", value = 1000 }}
[[tenants]]
name = "light"
backend = "api"
weight = 3
arrivals = {{ process = "poisson", rate = "2/s" }}
prompt_tokens = {{ dist = "fixed", value = 1000 }}
[[backends]]
name = "api"
concurrency = 2
service = {{ dist = "deterministic", value = "1s" }}
price = {{ input_per_mtok = 1 }}
[gateway]
scheduling = "{scheduling}"
"#
        )
    };
    let share = |report: &Value| {
        let heavy = mean(report, "tenant.heavy.cost_usd");
        let light = mean(report, "tenant.light.cost_usd");
        let served = (heavy + light) / 0.001;
        assert!((2390.0..=2400.0).contains(&served), "{served}");
        light / (heavy + light)
    };
    let fifo = share(&run("fair-fifo", &scenario("fifo")));
    let fair = share(&run("fair-wfq", &scenario("weighted_fair")));
    println!("light's share: fifo {fifo:.4}, weighted_fair {fair:.4}");
    // Deficit round robin is exact once both are backlogged (from the first seconds on).
    assert!((fair - 0.75).abs() < 0.005, "{fair}");
    // FIFO: the arrival share 2/8, within 3 binomial sd of ~2,400 calls (0.027).
    assert!((fifo - 0.25).abs() < 0.027, "{fifo}");
}
