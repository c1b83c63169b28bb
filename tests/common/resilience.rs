//! Helpers the resilience tests (`tests/resilience/`) share: scenarios on hand-made traces.

/// Writes `scenario` into a fresh directory, runs it and returns the report (the resilience
/// tests' short name for [`super::run_fresh`]).
#[allow(unused_imports)] // only the resilience tests use it
pub use super::run_fresh as run;
use super::{run_scenario, scratch_dir, write_trace};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Writes `scenario` (TOML, with `TRACE` standing for `trace`'s path) into a fresh directory,
/// runs it and returns the report.
pub fn run_with(label: &str, scenario: &str, trace: Option<&Path>) -> Value {
    let text = match trace {
        Some(t) => scenario.replace("TRACE", &t.display().to_string()),
        None => scenario.to_string(),
    };
    run_scenario(&scratch_dir(label), &text, &[])
}

pub fn has(report: &Value, name: &str) -> bool {
    report["metrics"][name].is_object()
}

/// A Mooncake-format trace in a fresh directory: one request per `(timestamp ms, input, output)`.
pub fn trace_file(label: &str, rows: &[(u64, u32, u32)]) -> PathBuf {
    let path = scratch_dir(label).join("trace.jsonl");
    write_trace(&path, rows);
    path
}

pub const TRACE_ARRIVALS: &str = r#"{ process = "trace", path = "TRACE" }"#;
pub const POISSON: &str = r#"{ process = "poisson", rate = "1/s" }"#;

/// `n` calls, one at every whole second from 0 s.
pub fn every_second(label: &str, n: u64) -> PathBuf {
    let rows: Vec<(u64, u32, u32)> = (0..n).map(|k| (k * 1000, 100, 10)).collect();
    trace_file(label, &rows)
}
