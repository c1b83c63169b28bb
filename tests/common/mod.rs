//! Running the `faultline` binary the way a user does, and reading what it wrote.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

pub fn faultline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .output()
        .expect("the faultline binary runs")
}

/// A fresh, empty directory under the target directory for one test's outputs.
pub fn scratch_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

/// Runs `faultline run SCENARIO ARGS... --out DIR`, asserts success, returns the report.
pub fn run_report(scenario: &str, args: &[&str]) -> (Value, PathBuf) {
    let dir = scratch_dir(&scenario.replace([':', '/', '.'], "_"));
    let out = dir.to_str().unwrap();
    let mut all = vec!["run", scenario, "--out", out];
    all.extend_from_slice(args);
    let result = faultline(&all);
    assert!(
        result.status.success(),
        "faultline {all:?} failed:\n{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).expect("report.json written");
    (serde_json::from_str(&text).expect("report is JSON"), path)
}

/// One metric's summary from a report.
pub struct Metric {
    pub mean: f64,
    pub ci99: (f64, f64),
}

pub fn metric(report: &Value, name: &str) -> Metric {
    let m = &report["metrics"][name];
    assert!(m.is_object(), "the report has no metric `{name}`");
    Metric {
        mean: m["mean"].as_f64().unwrap(),
        ci99: (
            m["ci99_low"].as_f64().unwrap(),
            m["ci99_high"].as_f64().unwrap(),
        ),
    }
}

/// Asserts that `exact` lies in the metric's 99% confidence interval and that the interval's
/// half-width is at most `max_half_width` (so that containing the value means something).
pub fn assert_in_ci99(report: &Value, name: &str, exact: f64, max_half_width: f64) {
    let m = metric(report, name);
    let (low, high) = m.ci99;
    let half = (high - low) / 2.0;
    assert!(
        low <= exact && exact <= high,
        "{name}: theory {exact} outside the 99% CI [{low}, {high}] (mean {})",
        m.mean
    );
    assert!(
        half <= max_half_width,
        "{name}: 99% CI half-width {half} exceeds the required {max_half_width}"
    );
}

/// Writes `scenario` (TOML) into `dir`, runs it with `args` and `--format json`, asserts
/// success, and returns the report it printed.
pub fn run_scenario(dir: &Path, scenario: &str, args: &[&str]) -> Value {
    let file = dir.join("scenario.toml");
    std::fs::write(&file, scenario).unwrap();
    let out = dir.join("out");
    let mut all = vec![
        "run",
        file.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ];
    all.extend_from_slice(args);
    let result = faultline(&all);
    assert!(
        result.status.success(),
        "{}: {}",
        file.display(),
        String::from_utf8_lossy(&result.stderr)
    );
    serde_json::from_slice(&result.stdout).expect("--format json prints the report")
}

/// Writes `scenario` (TOML) into a fresh directory named for `label`, runs it and returns the
/// report (see [`run_scenario`]).
pub fn run_fresh(label: &str, scenario: &str) -> Value {
    run_scenario(&scratch_dir(label), scenario, &[])
}

/// Validates `scenario` (TOML, written into a fresh directory) and returns the exit code and
/// standard error.
pub fn validate(label: &str, scenario: &str) -> (Option<i32>, String) {
    let file = scratch_dir(label).join("bad.toml");
    std::fs::write(&file, scenario).unwrap();
    let out = faultline(&["validate", file.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts that `faultline validate` refuses `scenario` as bad input (exit 2) and names `key`
/// (a key path such as `backends[0].network`) in its message; `what` says which case failed.
pub fn assert_rejected(label: &str, scenario: &str, key: &str, what: &str) {
    let (code, stderr) = validate(label, scenario);
    assert_eq!(code, Some(2), "{what}: {stderr}");
    assert!(stderr.contains(key), "{what}: expected `{key}` in {stderr}");
}

/// Runs `scenario` with `--threads 1` and with `--threads 3`, asserts that both wrote the same
/// `report.json`, byte for byte, and returns that report.
pub fn same_for_any_thread_count(label: &str, scenario: &str) -> Value {
    let dir = scratch_dir(label);
    let file = dir.join("scenario.toml");
    std::fs::write(&file, scenario).unwrap();
    let report = |threads: &str| {
        let out = dir.join(format!("threads-{threads}"));
        let o = faultline(&[
            "run",
            file.to_str().unwrap(),
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(out.join("report.json")).expect("report.json written")
    };
    let (one, three) = (report("1"), report("3"));
    assert!(
        one == three,
        "{label}: report.json differs between --threads 1 and --threads 3"
    );
    serde_json::from_slice(&one).expect("report is JSON")
}

/// A network table (a backend's or a tenant's) with a constant one-way delay of 20 ms.
pub const NETWORK_20MS: &str =
    r#"network = { delay = { dist = "deterministic", value = "20ms" } }"#;

/// [`one_second_backend`]'s tenant calling the backend once per job.
pub const ONE_CALL: &str = r#"backend = "api""#;
/// [`one_second_backend`]'s tenant making two calls per job, on route `r`.
pub const TWO_CALLS: &str = r#"steps = [{ route = "r" }, { route = "r" }]"#;

/// A tenant `app` at 0.5 calls a second on a backend `api` that always takes exactly 1 s and
/// never queues, so that every delay a mechanism adds can be worked out by hand: `tenant`,
/// `backend` and `gateway` extend their tables, `steps` names the backend
/// (`backend = "api"`) or steps on route `r` (to the same backend).
pub fn one_second_backend(tenant: &str, steps: &str, backend: &str, gateway: &str) -> String {
    format!(
        r#"
seed = 7
replications = 4
horizon = "2000s"

[[tenants]]
name = "app"
{steps}
arrivals = {{ process = "poisson", rate = "0.5/s" }}
{tenant}

[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "1s" }}
{backend}

[[routes]]
name = "r"
backend = "api"

[gateway]
{gateway}
"#
    )
}

/// A metric's mean across replications; panics naming the metric when the report lacks it.
pub fn mean(report: &Value, name: &str) -> f64 {
    report["metrics"][name]["mean"]
        .as_f64()
        .unwrap_or_else(|| panic!("no metric `{name}` in {}", report["metrics"]))
}

/// A Mooncake-format trace at `path`: one request per `(timestamp ms, input, output)`.
pub fn write_trace(path: &Path, rows: &[(u64, u32, u32)]) {
    let text: String = rows
        .iter()
        .map(|(t, i, o)| {
            format!("{{\"timestamp\": {t}, \"input_length\": {i}, \"output_length\": {o}, \"hash_ids\": []}}\n")
        })
        .collect();
    std::fs::write(path, text).unwrap();
}

/// One metric's value in each replication, in replication order.
pub fn per_rep(report: &Value, name: &str) -> Vec<f64> {
    report["metrics"][name]["per_replication"]
        .as_array()
        .unwrap_or_else(|| panic!("no metric `{name}`"))
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect()
}

/// A series' bucket width (seconds) and its per-bucket means across replications.
pub fn series_values(report: &Value, name: &str) -> (f64, Vec<f64>) {
    let s = &report["series"];
    let width = s["bucket_width_ns"].as_f64().unwrap() / 1e9;
    let values = s["values"][name]["mean"]
        .as_array()
        .unwrap_or_else(|| panic!("no series `{name}`"))
        .iter()
        .map(|v| v.as_f64().unwrap_or(f64::NAN))
        .collect();
    (width, values)
}

pub mod resilience;
