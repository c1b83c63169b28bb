//! The `faultline` library: the report it returns is the one the command line writes, byte for
//! byte; options and overrides act as `--seed`, `--replications` and `--set` do; sweeps and
//! comparisons return the reports of their runs; bad input is an `Error::Input` naming the place.

mod common;
use common::run_report;
use faultline::{Error, RunOptions, Scenario, compare, sweep};

const SHORT: &str = "horizon=10m";

#[test]
fn the_library_report_is_the_commands_report_json() {
    let (_, path) = run_report(
        "example:quickstart",
        &["--seed", "3", "--replications", "2", "--set", SHORT],
    );
    let written = std::fs::read_to_string(&path).unwrap();
    let scenario = Scenario::example("quickstart").unwrap().set(SHORT).unwrap();
    let options = RunOptions::default().seed(3).replications(2);
    let report = scenario.run(&options).unwrap();
    assert_eq!(report.to_json(), written);
    assert_eq!(report.seed, 3);
    assert_eq!(report.replications, 2);
    assert_eq!(report.name, "quickstart");
    // Typed values: the metric the JSON holds, per replication too.
    let json: serde_json::Value = serde_json::from_str(&written).unwrap();
    let success = report.metric("success_ratio").unwrap();
    assert_eq!(
        success.mean,
        json["metrics"]["success_ratio"]["mean"].as_f64().unwrap()
    );
    assert_eq!(success.per_replication.len(), 2);
    assert!(report.metric("no_such_metric").is_none());

    // Threads change nothing; the scenario's own seed is used without an option.
    let one = scenario.run(&options.threads(1)).unwrap();
    assert_eq!(one.to_json(), written);
    let own = scenario
        .run(&RunOptions::default().replications(2))
        .unwrap();
    assert_eq!(own.seed, scenario.spec().seed);
    assert_ne!(own.results_digest, report.results_digest);
}

#[test]
fn text_and_files_load_like_the_command_line() {
    let toml = scenarios::examples::find("mm1").unwrap().toml;
    let from_text = Scenario::from_toml("mm1", toml).unwrap();
    assert_eq!(
        from_text.canonical_json(),
        Scenario::example("mm1").unwrap().canonical_json()
    );
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small.toml");
    let file = Scenario::from_path(fixture).unwrap();
    assert_eq!(file.name(), "small");
    let json = Scenario::from_json(
        "small",
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/small.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(file.canonical_json(), json.canonical_json());
    // The world is there to estimate a run before making it: M/M/1 over 100,000 s at 0.8
    // arrivals a second has 80,000 arrivals, each an event or a few.
    let events = faultline::models::footprint::footprint(from_text.world()).events_per_replication;
    assert!((8e4..1e6).contains(&events), "{events}");
    // Overrides apply in order and are validated whole.
    let set = file.set("gateway.retry.max_attempts=5").unwrap();
    assert_eq!(set.canonical_json()["gateway"]["retry"]["max_attempts"], 5);
    assert_eq!(file.canonical_json()["gateway"]["retry"]["max_attempts"], 3);
}

#[test]
fn bad_input_is_an_input_error_naming_the_place() {
    let typo = "horizon = \"1h\"\n[[tenants]]\nname = \"a\"\nbackend = \"b\"\narrivals = { process = \"poisson\", rate = \"1/s\" }\n[[backends]]\nname = \"b\"\nconcurrency = 1\nservice = { dist = \"exponential\", mean = \"1s\" }\nfailure_probabilty = 0.1\n";
    match Scenario::from_toml("typo.toml", typo) {
        Err(Error::Input(m)) => {
            assert!(m.contains("typo.toml:10:1"), "{m}");
            assert!(m.contains("failure_probabilty"), "{m}");
        }
        other => panic!("expected an input error, got {other:?}"),
    }
    let mm1 = Scenario::example("mm1").unwrap();
    for bad in [
        "gateway.retry.max_attempts",
        "backends.server.concurrency=-1",
    ] {
        assert!(
            matches!(mm1.set(bad), Err(Error::Input(_))),
            "`{bad}` is rejected"
        );
    }
    assert!(matches!(Scenario::example("nope"), Err(Error::Input(m)) if m.contains("mm1")));
    assert!(matches!(
        mm1.run(&RunOptions::default().threads(0)),
        Err(Error::Input(_))
    ));
    assert!(matches!(
        Scenario::from_path("/no/such/scenario.toml"),
        Err(Error::Input(m)) if m.contains("/no/such/scenario.toml")
    ));
}

#[test]
fn a_sweep_returns_each_points_report() {
    let base = Scenario::example("retry-amplification")
        .unwrap()
        .set(SHORT)
        .unwrap();
    let options = RunOptions::default().replications(2);
    let points = sweep(&base, &["gateway.retry.max_attempts=1,4"], false, &options).unwrap();
    assert_eq!(points.len(), 2);
    for (i, (p, attempts)) in points.iter().zip(["1", "4"]).enumerate() {
        assert_eq!(p.index, i);
        assert_eq!(
            p.settings,
            [(
                "gateway.retry.max_attempts".to_string(),
                attempts.to_string()
            )]
        );
        let alone = base
            .set(&format!("gateway.retry.max_attempts={attempts}"))
            .unwrap()
            .run(&options)
            .unwrap();
        assert_eq!(p.report.to_json(), alone.to_json(), "point {i}");
    }
    // The example's finding: p = 0.5 failures, so success is 1 − 0.5^attempts.
    let success = |p: &faultline::SweepPoint| p.report.metric("success_ratio").unwrap().mean;
    assert!((success(&points[0]) - 0.5).abs() < 0.05);
    assert!((success(&points[1]) - 0.9375).abs() < 0.03);
    assert!(matches!(
        sweep(&base, &["gateway.retry.max_attempts=1..x"], false, &options),
        Err(Error::Input(_))
    ));
}

#[test]
fn a_comparison_pairs_the_arms_on_common_random_numbers() {
    let base = Scenario::example("quickstart").unwrap().set(SHORT).unwrap();
    let same = base.clone();
    let fewer = base.set("gateway.retry.max_attempts=1").unwrap();
    let options = RunOptions::default().replications(3);
    let c = compare(&[base.clone(), same, fewer], &options).unwrap();
    assert_eq!(c.variants.len(), 2);
    assert_eq!(c.baseline.seed, base.spec().seed);
    // An identical arm sees the very same draws: every paired difference is exactly zero.
    let identical = &c.variants[0];
    assert_eq!(identical.report.to_json(), c.baseline.to_json());
    assert!(!identical.differences.is_empty());
    assert!(identical.differences.iter().all(|d| d.difference == 0.0));
    // Fewer attempts: the paired difference is the difference of the means.
    let d = c.variants[1]
        .differences
        .iter()
        .find(|d| d.name == "attempts_per_request")
        .unwrap();
    let base_mean = c.baseline.metric("attempts_per_request").unwrap().mean;
    let var_mean = c.variants[1]
        .report
        .metric("attempts_per_request")
        .unwrap()
        .mean;
    assert_eq!(d.baseline_mean, base_mean);
    assert_eq!(d.variant_mean, var_mean);
    assert!((d.difference - (var_mean - base_mean)).abs() < 1e-12);
    assert!(d.difference < 0.0, "one attempt per request is fewer");
    assert!(matches!(compare(&[base], &options), Err(Error::Input(_))));
}
