//! Inputs that once panicked, hung, aborted or gave a silently wrong number: each answers with a
//! clear error and the right exit code, or with a number that is right.

mod common;
use common::{faultline, mean, run_report, scratch_dir};
use std::path::Path;

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

/// A backend that fails every call without taking any time, retried with no delay.
const INSTANT_FAILURES: &str = r#"horizon = "10s"
replications = 1

[[tenants]]
name = "web"
backend = "api"
arrivals = { process = "poisson", rate = "2/s" }

[[backends]]
name = "api"
service = { dist = "deterministic", value = "0s" }
failure_probability = 1.0

[gateway.retry]
max_attempts = "unlimited"
backoff = "none"
"#;

#[test]
fn an_error_far_along_a_minified_line_is_shown_not_a_panic() {
    // A one-line JSON scenario with the bad value past column 65,535.
    let dir = scratch_dir("minified");
    let padding = "x".repeat(70_000);
    let text = format!(
        r#"{{"description": "{padding}", "horizon": "1h", "tenants": [{{"name": "web", "backend": "api", "arrivals": {{"process": "poisson", "rate": "2/s"}}}}], "backends": [{{"name": "api", "service": {{"dist": "exponential", "mean": "1s"}}, "failure_probability": 1.5}}]}}"#
    );
    let path = write(&dir, "min.json", &text);
    let o = faultline(&["validate", &path]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    assert!(e.contains("min.json:1:"), "{e}");
    assert!(e.contains("failure_probability"), "{e}");
    // The caret points at the value, inside a window of the line.
    let lines: Vec<&str> = e.lines().collect();
    let caret = lines
        .iter()
        .position(|l| l.trim_end().ends_with('^'))
        .unwrap();
    let at = lines[caret].chars().position(|c| c == '^').unwrap();
    let shown: Vec<char> = lines[caret - 1].chars().collect();
    // (JSON positions sit at the end of the value.)
    let near: String = shown[at.saturating_sub(3)..=at].iter().collect();
    assert!(near.contains("1.5"), "caret under the value: {e}");
    assert!(
        shown.len() < 200,
        "the line is cut to a window: {}",
        shown.len()
    );
}

#[test]
fn instant_retries_of_instant_failures_are_refused_up_front() {
    let dir = scratch_dir("instant-retries");
    let path = write(&dir, "loop.toml", INSTANT_FAILURES);
    for extra in [
        &[][..],
        &[
            "--set",
            "gateway.retry.backoff=exponential",
            "--set",
            "gateway.retry.base=0s",
        ][..],
        &[
            "--set",
            "backends.api.service={ dist = \"exponential\", mean = \"1s\" }",
            "--set",
            "backends.api.error_latency={ dist = \"deterministic\", value = \"0s\" }",
        ][..],
    ] {
        let mut args = vec!["validate", path.as_str()];
        args.extend_from_slice(extra);
        let o = faultline(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {e}");
        assert!(e.contains("gateway.retry.max_attempts"), "{e}");
        assert!(e.contains("backend `api`"), "{e}");
    }
    // A latency, a backoff or a limit makes it a valid scenario.
    for fix in [
        "gateway.retry.max_attempts=5",
        "gateway.retry.backoff=constant",
        "backends.api.service={ dist = \"deterministic\", value = \"1ms\" }",
    ] {
        let o = faultline(&["validate", &path, "--set", fix]);
        assert!(o.status.success(), "{fix}: {}", stderr(&o));
    }
}

#[test]
fn a_run_whose_clock_stops_fails_naming_what_loops() {
    // A finite but enormous attempt limit passes validation; the watchdog stops the run.
    let dir = scratch_dir("stall");
    let path = write(&dir, "loop.toml", INSTANT_FAILURES);
    let out = dir.join("out");
    let o = faultline(&[
        "run",
        &path,
        "--set",
        "gateway.retry.max_attempts=4000000000",
        "--out",
        out.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.contains("virtual time stopped advancing"), "{e}");
    assert!(
        e.contains("tenant `web`") && e.contains("backend `api`"),
        "{e}"
    );
    assert!(
        !out.join("report.json").exists(),
        "no report for a stalled run"
    );
}

#[test]
fn adaptive_throttling_fails_rejected_calls_locally() {
    // The provider is down from 10:00 to 14:00 (20/24 of the day available). Rejected calls
    // used to be retried as local 429s outside max_attempts, waiting the outage out: 0.998
    // success from 484 M events. Now they fail at the client, so success cannot exceed the
    // availability, and the run stays small.
    let (r, _) = run_report(
        "example:provider-outage",
        &[
            "--set",
            "gateway.retry.budget={ kind = \"adaptive\" }",
            "--replications",
            "2",
        ],
    );
    let success = mean(&r, "success_ratio");
    assert!(success <= 20.0 / 24.0 + 0.002, "success {success}");
    assert!(success > 0.75, "success {success}");
    let rejected = mean(&r, "adaptive_throttle.rejected_locally");
    assert!(
        rejected > 1000.0,
        "the throttle rejects during the outage: {rejected}"
    );
    // Every call ends within its attempt limit: attempts per call stay under max_attempts.
    assert!(mean(&r, "attempts_per_request") < 4.0);
}

/// The first number found under `v` (depth first), for editing.
fn first_number(v: &mut serde_json::Value) -> Option<&mut serde_json::Value> {
    match v {
        serde_json::Value::Number(_) => Some(v),
        serde_json::Value::Array(a) => a.iter_mut().find_map(first_number),
        serde_json::Value::Object(m) => m.values_mut().find_map(first_number),
        _ => None,
    }
}

#[test]
fn rerun_refuses_a_report_edited_anywhere_in_its_results() {
    let (report, path) = run_report(
        "example:mm1",
        &[
            "--replications",
            "2",
            "--set",
            "horizon=2000s",
            "--set",
            "warmup=0s",
        ],
    );
    let o = faultline(&["rerun", path.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "the untouched report reproduces: {}",
        stderr(&o)
    );
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 5] = [
        ("metrics.completions.mean", |r| {
            r["metrics"]["completions"]["mean"] = 1.5.into()
        }),
        ("metrics.completions.ci95_high", |r| {
            r["metrics"]["completions"]["ci95_high"] = 1e9.into()
        }),
        ("series", |r| {
            let n = first_number(&mut r["series"]["values"]).expect("a series value");
            *n = 123456.0.into();
        }),
        ("latency_cdf", |r| {
            let n = first_number(&mut r["latency_cdf"]).expect("a quantile");
            *n = 0.5.into();
        }),
        ("results_digest", |r| {
            r["results_digest"] = "sha256:00".into()
        }),
    ];
    for (field, edit) in edits {
        let mut forged = report.clone();
        edit(&mut forged);
        let file = path.with_file_name(format!("forged-{}.json", field.replace('.', "_")));
        std::fs::write(&file, serde_json::to_string_pretty(&forged).unwrap()).unwrap();
        let o = faultline(&["rerun", file.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(o.status.code(), Some(1), "{field}: {stdout}");
        assert!(
            stdout.starts_with(&format!("differs: `{field}")),
            "{field}: {stdout}"
        );
    }
}

#[test]
fn merge_refuses_a_point_id_that_is_a_path() {
    let dir = scratch_dir("escape");
    let sweep_dir = dir.join("sweep");
    let o = faultline(&[
        "sweep",
        "example:mm1",
        "--set",
        "horizon=1000s,2000s",
        "--set",
        "warmup=0s",
        "--replications",
        "1",
        "--out",
        sweep_dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let plan_path = sweep_dir.join("sweep-plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    plan["points"][0]["id"] = "../../escape/0000".into();
    std::fs::write(&plan_path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    let out = dir.join("merged");
    let o = faultline(&[
        "merge",
        sweep_dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("../../escape/0000") && e.contains("not a plain name"),
        "{e}"
    );
    assert!(!dir.join("escape").exists() && !dir.parent().unwrap().join("escape").exists());
}

#[test]
fn a_sweep_does_not_write_into_a_directory_that_is_not_its_own() {
    let dir = scratch_dir("foreign");
    let target = dir.join("out");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("notes.txt"), "mine").unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "sweep",
            "example:mm1",
            "--set",
            "horizon=1000s,2000s",
            "--set",
            "warmup=0s",
            "--replications",
            "1",
            "--out",
            target.to_str().unwrap(),
        ];
        if force {
            a.push("--force");
        }
        a
    };
    let o = faultline(&args(false));
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("notes.txt") && e.contains("--force"), "{e}");
    assert!(!target.join("sweep-plan.json").exists());
    // A temporary left by an interrupted write is cleaned up by the next sweep.
    let stale = target.join("points/0000/.report.json.tmp-1-2-3");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "half").unwrap();
    let o = faultline(&args(true));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(target.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(target.join("points/0001/report.json").exists());
    assert!(!stale.exists(), "the stale temporary is removed");
}

#[test]
fn a_scenario_named_dots_gets_a_safe_default_output_directory() {
    let dir = scratch_dir("dots");
    std::fs::write(dir.join("report.json"), "precious").unwrap();
    let text = faultline(&["examples", "mm1"]).stdout;
    std::fs::write(dir.join("...toml"), text).unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args([
            "run",
            "...toml",
            "--set",
            "horizon=1000s",
            "--set",
            "warmup=0s",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_to_string(dir.join("report.json")).unwrap(),
        "precious"
    );
    assert!(dir.join("faultline-out/scenario/report.json").exists());
}

#[test]
fn errors_from_set_name_the_argument() {
    for (arg, expected) in [
        (
            "no_such.key=3",
            "--set no_such.key=3: at `no_such`: unknown field",
        ),
        (
            "tenants.0.arrivals.rate=0/s",
            "--set tenants.0.arrivals.rate=0/s: at `tenants[0].arrivals`",
        ),
        (
            "backends.0.service.nope=1",
            "--set backends.0.service.nope=1: at `backends[0].service`",
        ),
    ] {
        let o = faultline(&["validate", "example:mm1", "--set", arg]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.starts_with(&format!("error: {expected}")), "{arg}: {e}");
        assert!(!e.contains("example:mm1:1:1"), "{e}");
    }
    // A rule between two fields broken by an override of one: the file's line of the other,
    // and the override named.
    let o = faultline(&["validate", "example:mm1", "--set", "horizon=2000s"]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("example:mm1:7:") && e.contains("at `warmup`"),
        "{e}"
    );
    assert!(e.contains("changed by --set horizon=2000s"), "{e}");
}

#[test]
fn silent_wrong_values_are_refused_or_counted() {
    let dir = scratch_dir("silent");
    // A JSON array is not a scenario, even one with as many elements as a scenario has fields.
    let array = format!("[{}]", ["null"; 12].join(","));
    let path = write(&dir, "array.json", &array);
    let o = faultline(&["validate", &path]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("array.json:1:1") && e.contains("expected a JSON object"),
        "{e}"
    );
    // A lognormal whose median is e^(1e308) seconds: refused, not a run where nothing finishes.
    let o = faultline(&[
        "validate",
        "example:erlang-b",
        "--set",
        "backends.trunks.service={ dist = \"lognormal_params\", mu = 1e308, sigma = 1.0 }",
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("mu = 1e308") && e.contains("century"), "{e}");
    // A sweep range past the precision of its arithmetic: refused, not wrapped.
    let big = format!("1{}", "0".repeat(29));
    let o = faultline(&[
        "sweep",
        "example:mm1",
        "--set",
        &format!("seed={big}..{big}:0.00000000000000000001"),
        "--out",
        dir.join("sweep").to_str().unwrap(),
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(e.contains("more precision"), "{e}");
    // An agent loop whose prompt would pass u32::MAX tokens stops there, counted; its token
    // count is not saturated.
    let text = String::from_utf8(faultline(&["examples", "token-runaway"]).stdout).unwrap();
    let text: String = text
        .lines()
        .filter(|l| !l.starts_with("context_window"))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = common::run_scenario(
        &dir,
        &text,
        &[
            "--set",
            "tenants.0.agent_loop.prompt_growth=2000000000",
            "--set",
            "horizon=10m",
            "--replications",
            "1",
        ],
    );
    let stops = mean(&r, "prompt_limit_stops");
    assert!(stops > 10.0, "{stops}");
    // Jobs that reach the second turn bill more than 2e9 tokens each: no saturation at 4.29e9
    // per prompt means the mean over jobs exceeds what saturated counts could give.
    let turns = mean(&r, "turns_per_job_mean");
    assert!(turns > 1.5 && turns < 3.0, "{turns}");
    assert!(
        mean(&r, "tokens_per_job_mean") > 2.0e9 * (turns - 1.0),
        "no saturation"
    );
}

/// Levels are never negative and Little's law holds for the whole system and for the gateway
/// queue: L = λW, with λ the rate of attempts that left the queue for service (every one records
/// its wait, zero or not) over the measured `seconds`.
fn assert_queue_invariants(r: &serde_json::Value, seconds: f64) {
    let lq = mean(r, "queue_length_mean");
    assert!(lq >= 0.0, "a queue length is never negative: {lq}");
    let l = mean(r, "number_in_system_mean");
    let lambda = mean(r, "admitted_rate_per_s");
    let w = mean(r, "time_in_system_mean_s");
    assert!(
        (l - lambda * w).abs() <= 0.01 * l,
        "L = {l}, λW = {}",
        lambda * w
    );
    let started: f64 = r["metrics"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("backend.") && k.ends_with(".attempts"))
        .map(|(_, m)| m["mean"].as_f64().unwrap())
        .sum();
    let wq = mean(r, "queue_wait_mean_s");
    let expected = started / seconds * wq;
    assert!(
        (lq - expected).abs() <= 0.02 * lq.max(0.05),
        "queue: L = {lq}, λW = {expected}"
    );
}

#[test]
fn calls_requeued_by_a_crash_are_counted_in_the_queue_and_out_of_service() {
    // Requeued calls used to re-enter the queue without being counted in: the mean queue length
    // went negative and the busy mean was inflated (44.7 against a true 6.65 on a long run).
    let dir = scratch_dir("requeue-stats");
    let text = r#"seed = 3
replications = 2
horizon = "6h"

[[tenants]]
name = "t"
backend = "pool"
arrivals = { process = "poisson", rate = "9/s" }
prompt_tokens = { dist = "fixed", value = 600 }
output_tokens = { dist = "fixed", value = 200 }

[[backends]]
name = "pool"

[backends.gpu_pool]
replicas = 2
step_time = "llama2-7b-a100"
kv = { blocks = 4000 }
crashes = { mtbf = { dist = "exponential", mean = "20min" }, mttr = { dist = "deterministic", value = "30s" } }
cold_start = "30s"
on_crash = "requeue"

[gateway.retry]
max_attempts = 1
"#;
    let r = common::run_scenario(&dir, text, &[]);
    assert!(mean(&r, "pool.pool.crash_requeued") > 100.0);
    assert_queue_invariants(&r, 6.0 * 3600.0);
    // The gateway's count of calls in service is the pool's own.
    let busy = mean(&r, "backend.pool.busy_mean");
    let in_pool = mean(&r, "pool.pool.in_pool_mean");
    assert!(
        (busy - in_pool).abs() <= 1e-9 * in_pool,
        "{busy} vs {in_pool}"
    );
}

#[test]
fn calls_shed_at_their_queue_timeout_leave_the_plotted_queue_too() {
    // A burst fills the queue; calls shed at a 2 s queue timeout used to leave the metric but
    // stay in the plotted series (~1,203 after a burst while the metric read 5.5).
    let dir = scratch_dir("queue-timeout-series");
    let text = r#"seed = 5
replications = 1
horizon = "20m"

[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "piecewise", steps = [{ from = "0s", rate = "5/s" }, { from = "300s", rate = "100/s" }, { from = "330s", rate = "5/s" }] }

[[backends]]
name = "api"
concurrency = 8
service = { dist = "exponential", mean = "1s" }

[gateway]
queue_timeout = "2s"
"#;
    let r = common::run_scenario(&dir, text, &[]);
    let series = r["series"]["values"]["queue_length_mean"]["mean"]
        .as_array()
        .expect("a queue length series");
    let values: Vec<f64> = series.iter().filter_map(|v| v.as_f64()).collect();
    let width_s = r["series"]["bucket_width_ns"].as_f64().unwrap() / 1e9;
    // The series' time average is the metric (same level, bucketed).
    let avg = values.iter().sum::<f64>() / values.len() as f64;
    let metric = mean(&r, "queue_length_mean");
    assert!(
        (avg - metric).abs() <= 0.02 * metric.max(0.1),
        "series {avg} vs metric {metric}"
    );
    // After the burst the queue drains: the last minutes hold (almost) nothing.
    let tail = (120.0 / width_s) as usize;
    let last = &values[values.len() - tail..];
    assert!(last.iter().all(|v| *v < 8.0), "{last:?}");
    assert!(values.iter().all(|v| *v >= 0.0));
}

#[test]
fn an_alert_fires_in_every_bucket_while_it_fires() {
    // Buckets of 2 min, evaluations every 5 min: the series used to be 1 only in the bucket of
    // each evaluation (a comb), 0 in between, while the alert fired throughout.
    let (r, _) = run_report(
        "example:slo-burn-alerts",
        &[
            "--set",
            "slos.0.alerting.interval=5m",
            "--replications",
            "3",
        ],
    );
    let width = r["series"]["bucket_width_ns"].as_f64().unwrap() / 1e9;
    assert!(
        width < 300.0,
        "buckets shorter than the interval: {width} s"
    );
    let series: Vec<f64> = r["series"]["values"]["slo.correctness.alert_firing"]["mean"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    // Before the update at 6 h nothing fires; in the last two hours (the ticket and pages
    // fire on to the end in every replication) every bucket is 1.
    let per_hour = (3600.0 / width) as usize;
    assert!(series[..5 * per_hour].iter().all(|v| *v == 0.0));
    let tail = &series[series.len() - 2 * per_hour..];
    assert!(tail.iter().all(|v| *v == 1.0), "{tail:?}");
}

#[test]
fn a_latency_whose_median_outlasts_the_run_is_warned_about() {
    let set = "backends.trunks.service={ dist = \"lognormal_params\", mu = 12, sigma = 1.0 }";
    let o = faultline(&["validate", "example:erlang-b", "--set", set]);
    let e = stderr(&o);
    assert!(o.status.success(), "valid, with a warning: {e}");
    assert!(
        e.starts_with("warning: --set backends.trunks.service="),
        "{e}"
    );
    assert!(
        e.contains("at `backends[0].service`") && e.contains("1.9 days"),
        "{e}"
    );
    // A median inside the run: no warning.
    let o = faultline(&["validate", "example:erlang-b"]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}
