//! Bad input gets exit code 2 and a message naming file, line, column, key path and what was
//! expected; never a panic.

mod common;
use common::{faultline, scratch_dir};

const BASE: &str = r#"horizon = "1h"

[[tenants]]
name = "web"
backend = "api"
arrivals = { process = "poisson", rate = "2/s" }

[[backends]]
name = "api"
service = { dist = "exponential", mean = "1s" }
failure_probability = 0.1
"#;

/// Writes `text` to a file named `name`, validates it, and returns (exit code, stderr).
fn validate_text(name: &str, text: &[u8], extra: &[&str]) -> (Option<i32>, String) {
    let dir = scratch_dir("bad");
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let mut args = vec!["validate", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = faultline(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic on {name}: {stderr}");
    (out.status.code(), stderr)
}

/// BASE with line `line` (1-based) replaced.
fn with_line(line: usize, replacement: &str) -> String {
    BASE.lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { replacement } else { l })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts exit 2 and that the message starts with `s.toml:LINE:COL` and contains each part.
fn assert_rejected(text: &str, line: usize, column: usize, parts: &[&str]) {
    let (code, stderr) = validate_text("s.toml", text.as_bytes(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    let at = format!("s.toml:{line}:{column}: ");
    assert!(stderr.contains(&at), "expected `{at}` in:\n{stderr}");
    for part in parts {
        assert!(stderr.contains(part), "expected `{part}` in:\n{stderr}");
    }
}

#[test]
fn the_base_scenario_is_valid() {
    let (code, stderr) = validate_text("s.toml", BASE.as_bytes(), &[]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn unknown_key() {
    assert_rejected(
        &with_line(11, "failure_probabilty = 0.1"),
        11,
        1,
        &[
            "at `backends[0].failure_probabilty`",
            "unknown field `failure_probabilty`",
            "expected one of",
        ],
    );
}

#[test]
fn wrong_type() {
    assert_rejected(
        &with_line(4, "name = 42"),
        4,
        8,
        &["at `tenants[0].name`", "expected a string"],
    );
}

#[test]
fn negative_rate() {
    assert_rejected(
        &with_line(6, r#"arrivals = { process = "poisson", rate = "-2/s" }"#),
        6,
        12,
        &["at `tenants[0].arrivals`", "-2/s"],
    );
}

#[test]
fn probability_above_one() {
    assert_rejected(
        &with_line(11, "failure_probability = 1.5"),
        11,
        23,
        &[
            "at `backends[0].failure_probability`",
            "probability between 0 and 1, found 1.5",
        ],
    );
}

#[test]
fn malformed_duration() {
    assert_rejected(
        &with_line(1, r#"horizon = "10 parsecs""#),
        1,
        11,
        &["at `horizon`", "unknown time unit `parsecs`"],
    );
    assert_rejected(
        &with_line(1, "horizon = 3600"),
        1,
        11,
        &["at `horizon`", "a duration string with a unit"],
    );
}

#[test]
fn unknown_backend_reference() {
    assert_rejected(
        &with_line(5, r#"backend = "apii""#),
        5,
        11,
        &[
            "at `tenants[0].backend`",
            "no backend is named `apii`; the backends are: api",
        ],
    );
}

#[test]
fn toml_syntax_error() {
    assert_rejected(&with_line(9, "name = \"api"), 9, 12, &[]);
}

#[test]
fn empty_file() {
    let (code, stderr) = validate_text("s.toml", b"", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("s.toml:1:1: "), "{stderr}");
    assert!(stderr.contains("missing field `horizon`"), "{stderr}");
    let (code, stderr) = validate_text("s.json", b"", &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("s.json:1:"), "{stderr}");
    assert!(stderr.contains("empty"), "{stderr}");
}

#[test]
fn binary_garbage() {
    let garbage: Vec<u8> = (0..512u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    for name in ["g.toml", "g.json", "g.bin"] {
        let (code, stderr) = validate_text(name, &garbage, &[]);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.contains(&format!("{name}:1:")), "{name}: {stderr}");
    }
    let mut utf8_garbage = b"horizon = \"1h\"\n".to_vec();
    utf8_garbage.extend_from_slice(&[0xff, 0xfe, 0x00, 0x41]);
    let (code, stderr) = validate_text("u.toml", &utf8_garbage, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("u.toml:2:1: "), "{stderr}");
    assert!(stderr.contains("not UTF-8"), "{stderr}");
}

#[test]
fn json_errors_are_located_too() {
    let json = r#"{
  "horizon": "1h",
  "tenants": [{ "name": "web", "backend": "api",
                "arrivals": { "process": "poisson", "rate": "2/s" } }],
  "backends": [{ "name": "api", "service": { "dist": "exponential", "mean": "1s" },
                 "failure_probability": 1.5 }]
}"#;
    let (code, stderr) = validate_text("s.json", json.as_bytes(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("s.json:6:"), "{stderr}");
    assert!(
        stderr.contains("at `backends[0].failure_probability`"),
        "{stderr}"
    );
    let unknown = json.replace("\"horizon\"", "\"horizonn\"");
    let (code, stderr) = validate_text("s.json", unknown.as_bytes(), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("s.json:2:"), "{stderr}");
    assert!(stderr.contains("unknown field `horizonn`"), "{stderr}");
}

#[test]
fn bad_overrides_name_the_set_argument() {
    let (code, stderr) = validate_text(
        "s.toml",
        BASE.as_bytes(),
        &["--set", "backends.api.failure_probability=2"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--set backends.api.failure_probability=2"),
        "{stderr}"
    );
    assert!(stderr.contains("probability between 0 and 1"), "{stderr}");
    let (code, stderr) = validate_text("s.toml", BASE.as_bytes(), &["--set", "horizon"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("KEY.PATH=VALUE"), "{stderr}");
    let (code, stderr) = validate_text(
        "s.toml",
        BASE.as_bytes(),
        &["--set", "backends.nope.concurrency=2"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no element named `nope`"), "{stderr}");
    // A valid override of a file with an error elsewhere still points into the file.
    let (code, stderr) = validate_text(
        "s.toml",
        with_line(5, r#"backend = "apii""#).as_bytes(),
        &["--set", "horizon=2h"],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("s.toml:5:11: "), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["run"],
        vec!["frobnicate"],
        vec!["run", "example:nope"],
        vec!["run", "/nonexistent/scenario.toml"],
        vec!["run", "example:mm1", "--threads", "0"],
        vec!["run", "example:mm1", "--seed", "minus-one"],
        vec!["rerun", "/nonexistent/report.json"],
        vec!["examples", "nope"],
    ] {
        let out = faultline(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_report_that_is_not_a_report_exits_2() {
    let dir = scratch_dir("notreport");
    let path = dir.join("report.json");
    std::fs::write(&path, "{\"format_version\": 1}").unwrap();
    let out = faultline(&["rerun", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report.json:1:"), "{stderr}");
}

#[test]
fn a_closed_stdout_ends_the_process_quietly() {
    use std::process::{Command, Stdio};
    let dir = scratch_dir("closed-pipe");
    // The run simulates before it prints, so the pipe is closed by the time it writes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["run", "example:quickstart", "--out", dir.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
