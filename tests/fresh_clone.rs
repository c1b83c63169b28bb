//! What a fresh clone or an installed binary needs: vendored data with matching digests, paths
//! that resolve the same from any directory, embedded example data, and a versioned binary.

mod common;
use common::{faultline, scratch_dir};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::process::{Command, Output};

const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// Runs the binary with `dir` as its current directory.
fn faultline_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the faultline binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn data_files_match_their_recorded_digests() {
    let readme = std::fs::read_to_string(Path::new(REPO).join("data/README.md")).unwrap();
    let mut checked = 0;
    for line in readme.lines() {
        let mut parts = line.split_whitespace();
        let (Some(hex), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let bytes = std::fs::read(Path::new(REPO).join("data").join(name))
            .unwrap_or_else(|e| panic!("data/{name} is listed in data/README.md: {e}"));
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, hex, "data/{name} differs from its recorded sha256");
        checked += 1;
    }
    // Every file in data/ (but the README) is listed.
    let mut files = 0;
    for sub in std::fs::read_dir(Path::new(REPO).join("data")).unwrap() {
        let sub = sub.unwrap().path();
        if sub.is_dir() {
            files += std::fs::read_dir(&sub).unwrap().count();
        }
    }
    assert_eq!(checked, files, "every vendored file has a digest line");
    assert!(checked >= 11, "{checked}");
}

#[test]
fn the_trace_example_runs_from_any_directory_with_the_same_digest() {
    let digest_from = |dir: &Path| {
        let out_dir = scratch_dir("anywhere-out");
        let o = faultline_in(
            dir,
            &[
                "run",
                "example:azure-code-replay",
                "--replications",
                "1",
                "--out",
                out_dir.to_str().unwrap(),
            ],
        );
        assert!(o.status.success(), "from {}: {}", dir.display(), stderr(&o));
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
        assert_eq!(report["metrics"]["arrivals"]["mean"], 8819.0);
        report["results_digest"].as_str().unwrap().to_string()
    };
    let empty = scratch_dir("empty-cwd");
    let at_root = digest_from(Path::new(REPO));
    assert_eq!(digest_from(&empty), at_root);
    assert_eq!(digest_from(Path::new("/")), at_root);
}

/// A scenario and a trace side by side, with the trace named relative to the scenario.
fn scenario_beside_trace(dir: &Path, trace_name: &str) -> std::path::PathBuf {
    let sub = dir.join("project");
    std::fs::create_dir_all(sub.join("traces")).unwrap();
    std::fs::copy(
        Path::new(REPO).join("data/traces/AzureLLMInferenceTrace_code.csv"),
        sub.join("traces/code.csv"),
    )
    .unwrap();
    let text = format!(
        r#"seed = 3
replications = 1
horizon = "10m"

[[tenants]]
name = "code"
backend = "api"
arrivals = {{ process = "trace", path = "{trace_name}" }}

[[backends]]
name = "api"
concurrency = 64
ttft = {{ dist = "exponential", mean = "300ms" }}
per_output_token = {{ dist = "deterministic", value = "20ms" }}
"#
    );
    let file = sub.join("scenario.toml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn a_relative_path_in_a_scenario_resolves_against_the_scenario_file() {
    let dir = scratch_dir("relative");
    let file = scenario_beside_trace(&dir, "traces/code.csv");
    let project = file.parent().unwrap();
    // The same scenario run from its own directory, from its parent and from elsewhere.
    let run = |cwd: &Path, scenario: &str, label: &str| {
        let out = dir.join(label);
        let o = faultline_in(cwd, &["run", scenario, "--out", out.to_str().unwrap()]);
        assert!(o.status.success(), "{label}: {}", stderr(&o));
        std::fs::read(out.join("report.json")).unwrap()
    };
    let here = run(project, "scenario.toml", "here");
    let parent = run(&dir, "project/scenario.toml", "parent");
    let elsewhere = run(Path::new("/"), file.to_str().unwrap(), "elsewhere");
    assert_eq!(
        here, parent,
        "same bytes from the scenario's directory and its parent"
    );
    assert_eq!(here, elsewhere, "same bytes from /");
    // The report names the file that was read, so it reruns from anywhere.
    let report: serde_json::Value = serde_json::from_slice(&here).unwrap();
    let recorded = report["scenario"]["tenants"][0]["arrivals"]["path"]
        .as_str()
        .unwrap();
    assert!(Path::new(recorded).is_absolute(), "{recorded}");
    assert!(recorded.ends_with("project/traces/code.csv"), "{recorded}");
    let empty = scratch_dir("rerun-cwd");
    let report_path = dir.join("here/report.json");
    let o = faultline_in(&empty, &["rerun", report_path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("reproduced"));
}

#[test]
fn a_missing_trace_names_the_line_and_the_resolved_path() {
    let dir = scratch_dir("missing-trace");
    let file = scenario_beside_trace(&dir, "traces/absent.csv");
    let o = faultline_in(&dir, &["validate", "project/scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("scenario.toml:8:"), "file and line: {e}");
    assert!(e.contains("tenants[0].arrivals.path"), "key path: {e}");
    let resolved = file
        .parent()
        .unwrap()
        .canonicalize()
        .unwrap()
        .join("traces/absent.csv");
    assert!(
        e.contains(&resolved.display().to_string()),
        "the resolved path {}: {e}",
        resolved.display()
    );
}

#[test]
fn a_path_given_with_set_resolves_against_the_current_directory() {
    let dir = scratch_dir("set-path");
    let file = scenario_beside_trace(&dir, "traces/absent.csv");
    let project = file.parent().unwrap();
    // From the project directory, `traces/code.csv` names the copy there.
    let o = faultline_in(
        project,
        &[
            "validate",
            file.to_str().unwrap(),
            "--set",
            "tenants.0.arrivals.path=traces/code.csv",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // From its parent the same argument names a file that does not exist, and the error says
    // which argument and which resolved path.
    let o = faultline_in(
        &dir,
        &[
            "validate",
            file.to_str().unwrap(),
            "--set",
            "tenants.0.arrivals.path=traces/code.csv",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("--set tenants.0.arrivals.path=traces/code.csv"),
        "{e}"
    );
    let resolved = dir.canonicalize().unwrap().join("traces/code.csv");
    assert!(e.contains(&resolved.display().to_string()), "{e}");
}

#[test]
fn unknown_embedded_data_lists_what_is_embedded() {
    let o = faultline(&[
        "validate",
        "example:azure-code-replay",
        "--set",
        "tenants.0.arrivals.path=builtin:traces/none.csv",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("builtin:traces/AzureLLMInferenceTrace_code.csv"),
        "{e}"
    );
}

#[test]
fn version_names_the_crate_version_and_the_commit() {
    let o = faultline(&["--version"]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let expected = format!(
        "faultline {} (commit {})",
        env!("CARGO_PKG_VERSION"),
        reports::COMMIT
    );
    assert_eq!(text.trim(), expected);
    // In this checkout the commit is known: twelve hex digits.
    let in_git = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(REPO)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if in_git {
        assert_eq!(reports::COMMIT.len(), 12, "{}", reports::COMMIT);
        assert!(reports::COMMIT.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

#[test]
fn a_report_records_the_version_and_commit_and_rerun_notes_another_build() {
    let dir = scratch_dir("versioned");
    let o = faultline(&[
        "run",
        "example:mm1",
        "--replications",
        "2",
        "--set",
        "horizon=20000s",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let path = dir.join("report.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["tool"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["tool"]["commit"], reports::COMMIT);
    // The same build reruns quietly.
    let o = faultline(&["rerun", path.to_str().unwrap()]);
    assert!(o.status.success());
    assert!(!stderr(&o).contains("written by"), "{}", stderr(&o));
    // Another build: said on stderr, compared anyway, and it reproduces.
    report["tool"]["version"] = "0.0.9".into();
    report["tool"]["commit"] = "0123456789ab".into();
    let other = dir.join("other.json");
    std::fs::write(&other, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    let o = faultline(&["rerun", other.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("faultline 0.0.9 (commit 0123456789ab)") && e.contains(reports::COMMIT),
        "{e}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("reproduced"));
    // A report from before the commit was recorded reads as `unknown`.
    report["tool"].as_object_mut().unwrap().remove("commit");
    std::fs::write(&other, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    let o = faultline(&["rerun", other.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("(commit unknown)"), "{}", stderr(&o));
}

#[test]
fn nothing_tracked_reads_the_data_folder_outside_the_repository() {
    let o = Command::new("git")
        .args(["ls-files"])
        .current_dir(REPO)
        .output()
        .ok()
        .filter(|o| o.status.success());
    let Some(o) = o else {
        // A source tarball has no git: the CI step (.ci/run) checks the same on its clone.
        return;
    };
    let needle = ["..", "/shared"].concat();
    let mut offenders = Vec::new();
    for file in String::from_utf8_lossy(&o.stdout).lines() {
        if file == "data/README.md" {
            continue;
        }
        let Ok(text) = std::fs::read(Path::new(REPO).join(file)) else {
            continue;
        };
        if String::from_utf8_lossy(&text).contains(&needle) {
            offenders.push(file.to_string());
        }
    }
    assert!(
        offenders.is_empty(),
        "these mention {needle}: {offenders:?}"
    );
}
