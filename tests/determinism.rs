//! Same scenario and seed, same bytes: across reruns, thread counts and unrelated changes.

mod common;
use common::{faultline, run_report, scratch_dir};

#[test]
fn rerun_reproduces_the_digest() {
    let (_, path) = run_report("example:quickstart", &["--replications", "3"]);
    let out = faultline(&["rerun", path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("reproduced sha256:"), "{stdout}");
}

/// Runs a short mm1, applies `edit` to its report, reruns it; returns (exit code, stdout).
fn rerun_after_editing(edit: impl FnOnce(&mut serde_json::Value)) -> (Option<i32>, String) {
    let short = [
        "--replications",
        "2",
        "--set",
        "horizon=2000s",
        "--set",
        "warmup=0s",
    ];
    let (mut report, path) = run_report("example:mm1", &short);
    edit(&mut report);
    std::fs::write(&path, serde_json::to_string_pretty(&report).unwrap()).unwrap();
    let out = faultline(&["rerun", path.to_str().unwrap()]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn rerun_names_the_first_metric_that_differs() {
    let (code, stdout) = rerun_after_editing(|r| {
        r["metrics"]["completions"]["per_replication"][1] = serde_json::json!(12345.0);
    });
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("`completions` differs in replication 1"),
        "{stdout}"
    );
}

#[test]
fn rerun_of_a_changed_scenario_fails_and_says_where() {
    let (code, stdout) = rerun_after_editing(|r| {
        r["scenario"]["horizon"] = serde_json::json!("2001s");
    });
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.starts_with("differs: `"), "{stdout}");
}

#[test]
fn thread_count_does_not_change_a_single_byte() {
    let args = ["--replications", "6", "--set", "horizon=20m"];
    let one = run_report(
        "example:quickstart",
        &[&args[..], &["--threads", "1"]].concat(),
    )
    .1;
    let two = run_report(
        "example:quickstart",
        &[&args[..], &["--threads", "2"]].concat(),
    )
    .1;
    let a = std::fs::read(one).unwrap();
    let b = std::fs::read(two).unwrap();
    assert!(
        a == b,
        "report.json differs between --threads 1 and --threads 2"
    );
}

#[test]
fn a_different_seed_gives_different_results() {
    let short_mmc = |seed: &str| {
        let args = [
            "--seed",
            seed,
            "--replications",
            "2",
            "--set",
            "horizon=1000s",
            "--set",
            "warmup=0s",
        ];
        run_report("example:mmc", &args).0
    };
    let (a, b) = (short_mmc("1"), short_mmc("2"));
    assert_ne!(a["results_digest"], b["results_digest"]);
    assert_ne!(
        a["metrics"]["arrivals"]["per_replication"],
        b["metrics"]["arrivals"]["per_replication"]
    );
}

#[test]
fn the_report_carries_what_a_rerun_needs() {
    let (r, _) = run_report(
        "example:mm1",
        &[
            "--seed",
            "9",
            "--replications",
            "2",
            "--set",
            "horizon=500s",
            "--set",
            "warmup=0s",
        ],
    );
    assert_eq!(r["format_version"], 1);
    assert_eq!(r["tool"]["name"], "faultline");
    assert_eq!(r["seed"], 9);
    assert_eq!(r["replications"], 2);
    assert_eq!(
        r["scenario"]["seed"], 9,
        "the canonical scenario records the seed used"
    );
    assert_eq!(
        r["scenario"]["horizon"], "500s",
        "overrides are applied in the canonical form"
    );
    assert_eq!(
        r["scenario"]["gateway"]["retry"]["max_attempts"], 1,
        "defaults are filled in"
    );
    let digest = r["results_digest"].as_str().unwrap();
    assert!(
        digest.starts_with("sha256:") && digest.len() == 7 + 64,
        "{digest}"
    );
    let m = &r["metrics"]["time_in_system_mean_s"];
    for key in ["mean", "ci95_low", "ci95_high", "per_replication"] {
        assert!(!m[key].is_null(), "metric field {key}");
    }
}

/// Arrival times of tenant 0 in one replication of `toml`.
fn arrivals_of_first_tenant(toml: &str) -> Vec<u64> {
    let source = scenarios::Source::from_text(
        "test.toml",
        "test",
        toml.to_string(),
        scenarios::Format::Toml,
    );
    let loaded = scenarios::load(&source, &[]).expect("valid scenario");
    let mut world = models::World::new(&loaded.world, loaded.scenario.seed, 0);
    world.record_arrivals();
    let out = world.run().expect("progress");
    out.arrivals
        .unwrap()
        .into_iter()
        .filter(|(_, tenant)| *tenant == 0)
        .map(|(t, _)| t)
        .collect()
}

#[test]
fn adding_a_tenant_leaves_the_first_tenants_arrivals_unchanged() {
    let one = r#"
        horizon = "1h"
        [[tenants]]
        name = "chat"
        backend = "api"
        arrivals = { process = "poisson", rate = "5/s" }
        [[backends]]
        name = "api"
        concurrency = 2
        service = { dist = "exponential", mean = "300ms" }
    "#;
    let two = format!(
        "{one}\n[[tenants]]\nname = \"batch\"\nbackend = \"api\"\narrivals = {{ process = \"poisson\", rate = \"9/s\" }}\n"
    );
    let a = arrivals_of_first_tenant(one);
    let b = arrivals_of_first_tenant(&two);
    assert!(
        a.len() > 17_000,
        "about 18,000 arrivals expected, got {}",
        a.len()
    );
    assert_eq!(a, b);
}

#[test]
fn json_and_toml_forms_of_a_scenario_give_the_same_report() {
    let dir = scratch_dir("formats");
    let toml = dir.join("s.toml");
    let json = dir.join("s.json");
    std::fs::write(&toml, include_str!("fixtures/small.toml")).unwrap();
    std::fs::write(&json, include_str!("fixtures/small.json")).unwrap();
    let (a, _) = run_report(toml.to_str().unwrap(), &[]);
    let (b, _) = run_report(json.to_str().unwrap(), &[]);
    assert_eq!(a["results_digest"], b["results_digest"]);
    assert_eq!(a["scenario"], b["scenario"]);
}

#[test]
fn idempotency_and_load_dependent_latency_keep_thread_counts_byte_identical() {
    let args = [
        "--replications",
        "4",
        "--set",
        "horizon=3m",
        "--set",
        "gateway.idempotency={ keys = true }",
    ];
    let one = run_report(
        "example:retry-storm",
        &[&args[..], &["--threads", "1"]].concat(),
    )
    .1;
    let two = run_report(
        "example:retry-storm",
        &[&args[..], &["--threads", "2"]].concat(),
    )
    .1;
    assert!(
        std::fs::read(one).unwrap() == std::fs::read(two).unwrap(),
        "report.json differs between --threads 1 and --threads 2"
    );
}

/// Workflows: executions, their timers and crash draws keep replications independent of the
/// thread that runs them.
#[test]
fn workflows_keep_thread_counts_byte_identical() {
    for (example, extra) in [
        (
            "example:pipeline-crash-resume",
            "tenants.0.workflow.durable=false",
        ),
        ("example:rag-latency-spike", "horizon=80m"),
    ] {
        let args = ["--replications", "4", "--set", extra];
        let one = run_report(example, &[&args[..], &["--threads", "1"]].concat()).1;
        let a = std::fs::read(one).unwrap();
        let two = run_report(example, &[&args[..], &["--threads", "2"]].concat()).1;
        let b = std::fs::read(two).unwrap();
        assert!(
            a == b,
            "{example}: report.json differs between thread counts"
        );
    }
}
