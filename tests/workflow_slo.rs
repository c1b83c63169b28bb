//! SLOs over a workflow's executions (`[[slos]] workflow = "TENANT"`): each execution is one
//! unit, counted when it completes or fails for good, judged by the usual indicators (success,
//! end-to-end latency, cost per execution), with the usual budgets, verdicts and alerts.
//!
//! The workflow here is deterministic, so every share is counted by hand: arrivals one a
//! second (a Gamma renewal process with cv 10⁻⁴: a gap is 1 s ± 0.1 ms, so over 1,000 gaps an
//! arrival drifts from `k` seconds by a few milliseconds at most), two activities on tool
//! backends with fixed service times and per-call prices, no retries anywhere, and an outage
//! of the second backend whose edges fall half a second away from any call.

mod common;
use common::{faultline, per_rep, run_scenario, scratch_dir};

/// Activity `first` takes 100 ms and costs $0.001; `second` takes 300 ms and costs $0.002,
/// and is down (503) from 200.5 s to 400.5 s. Execution `k` arrives at `k` s and calls
/// `second` at `k + 0.1` s, so executions 201 to 400 (`k + 0.1` in [200.5, 400.5)) fail for
/// good, 200 of them; every other one succeeds in exactly 400 ms for $0.003.
const SCENARIO: &str = r#"
seed = 7
replications = 3
horizon = "1000500ms"

[[tenants]]
name = "flow"
arrivals = { process = "gamma", rate = "1/s", cv = 0.0001 }

[tenants.workflow]

[[tenants.workflow.activities]]
name = "first"
backend = "a"
retry = { maximum_attempts = 1 }

[[tenants.workflow.activities]]
name = "second"
backend = "b"
retry = { maximum_attempts = 1 }

[[backends]]
name = "a"
kind = "tool"
concurrency = 16
service = { dist = "deterministic", value = "100ms" }
price = { per_call_usd = 0.001 }

[[backends]]
name = "b"
kind = "tool"
concurrency = 16
service = { dist = "deterministic", value = "300ms" }
price = { per_call_usd = 0.002 }
outages = [{ start = "200500ms", duration = "200s" }]

[[slos]]
name = "success"
workflow = "flow"
objective = "99"
time_window = { duration = "15m" }
indicator = { kind = "availability" }
alerting = { preset = "none", rules = [{ name = "fast", long_window = "5m", short_window = "1m", burn_rate = 10 }] }

[[slos]]
name = "success-lax"
workflow = "flow"
objective = "75"
time_window = { duration = "15m" }
indicator = { kind = "availability" }
alerting = { preset = "none" }

[[slos]]
name = "latency-400ms"
workflow = "flow"
objective = "99"
indicator = { kind = "latency", threshold = "400ms" }

[[slos]]
name = "latency-399ms"
workflow = "flow"
objective = "99"
indicator = { kind = "latency", threshold = "399ms" }

[[slos]]
name = "cost-3m"
workflow = "flow"
objective = "99"
indicator = { kind = "cost", max_usd = 0.003 }

[[slos]]
name = "cost-2m"
workflow = "flow"
objective = "99"
indicator = { kind = "cost", max_usd = 0.0029 }

[[slos]]
name = "calls"
tenants = ["flow"]
objective = "99"
indicator = { kind = "availability" }
"#;

fn all(report: &serde_json::Value, name: &str, expected: f64) {
    for (rep, v) in per_rep(report, name).iter().enumerate() {
        assert_eq!(*v, expected, "{name} in replication {rep}");
    }
}

#[test]
fn an_slo_over_a_workflow_counts_its_executions_as_counted_by_hand() {
    let dir = scratch_dir("workflow-slo");
    let r = run_scenario(&dir, SCENARIO, &[]);
    // Executions 1 to 1,000 arrive before the horizon and all end by 1,000.4 s.
    all(&r, "workflow.flow.started", 1000.0);
    all(&r, "workflow.flow.succeeded", 800.0);
    all(&r, "workflow.flow.dlq", 200.0);
    // Success: completed over ended, 800/1000, as the workflow's own success ratio says.
    all(&r, "slo.success.sli", 0.8);
    assert_eq!(
        per_rep(&r, "slo.success.sli"),
        per_rep(&r, "workflow.flow.success_ratio")
    );
    // Every complete 15-minute window holds the 200 failures among about 900 executions:
    // 22% bad, past a 1% budget, within a 25% one (200 < 0.25 × 900).
    all(&r, "slo.success.met", 0.0);
    all(&r, "slo.success-lax.met", 1.0);
    // The 10× rule over 5m/1m is armed at 300 s, inside the outage (200 of the first 300
    // executions bad: burn 67; the last minute all bad: 100), fires then, and resets once the
    // last minute holds fewer than 10% bad executions, after the outage: one firing, and the
    // outage it detects is the only fault.
    all(&r, "slo.success.alerts.fast", 1.0);
    all(&r, "slo.success.alert_recall", 1.0);
    all(&r, "slo.success.alert_precision", 1.0);
    // Latency over the 800 completed executions: each took 100 + 300 ms exactly.
    all(&r, "slo.latency-400ms.sli", 1.0);
    all(&r, "slo.latency-399ms.sli", 0.0);
    // Cost per execution: every ended execution counts; a completed one cost $0.003, a
    // dead-lettered one is bad whatever it cost.
    all(&r, "slo.cost-3m.sli", 0.8);
    all(&r, "slo.cost-2m.sli", 0.0);
    // The same tenant's calls are another population: 1,000 calls to `a`, all answered, and
    // 1,000 to `b`, 200 of them refused: 1,800 of 2,000.
    all(&r, "slo.calls.sli", 0.9);
}

#[test]
fn a_workflow_slo_is_byte_identical_across_thread_counts() {
    let dir = scratch_dir("workflow-slo-threads");
    let one = run_scenario(&dir, SCENARIO, &["--threads", "1"]);
    let two = run_scenario(&dir, SCENARIO, &["--threads", "2"]);
    assert_eq!(one["results_digest"], two["results_digest"]);
    assert!(one["results_digest"].is_string());
}

#[test]
fn bad_workflow_slos_exit_2_with_the_key_path() {
    // Two more (a tenant without a workflow, a `ttft` indicator) are in
    // `tests/bad_input_corpus.rs`, with their file positions.
    let cases = [
        (
            "workflow = \"flow\"\ntenants = [\"flow\"]\nindicator = { kind = \"availability\" }",
            "slos[0].tenants",
            "not calls",
        ),
        (
            "workflow = \"flow\"\nindicator = { kind = \"threshold\", metric = \"ttft\", max = \"1s\" }\nbudgeting_method = \"timeslices\"",
            "slos[0].indicator.metric",
            "no first token",
        ),
        (
            "workflow = \"flow\"\nindicator = { kind = \"ratio\", good = [\"correct\"], ttft_max = \"1s\" }",
            "slos[0].indicator.ttft_max",
            "no first token",
        ),
    ];
    let dir = scratch_dir("workflow-slo-bad");
    for (i, (slo, path, words)) in cases.iter().enumerate() {
        let text = format!(
            r#"horizon = "1h"
[[tenants]]
name = "flow"
arrivals = {{ process = "poisson", rate = "1/s" }}
[tenants.workflow]
[[tenants.workflow.activities]]
name = "first"
backend = "a"
[[tenants]]
name = "plain"
arrivals = {{ process = "poisson", rate = "1/s" }}
backend = "a"
[[backends]]
name = "a"
kind = "tool"
service = {{ dist = "deterministic", value = "100ms" }}
[[slos]]
name = "s"
objective = "99"
{slo}
"#
        );
        let file = dir.join(format!("bad-{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let out = faultline(&["validate", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "case {i}: {stderr}");
        assert!(stderr.contains(path), "case {i}: no `{path}` in {stderr}");
        assert!(stderr.contains(words), "case {i}: no `{words}` in {stderr}");
    }
}
