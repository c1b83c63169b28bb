//! What a run says first: every built-in example's finding in the first 15 lines of its
//! summary, no summary line wider than 100 columns, no interval outside its metric's domain,
//! and `--fail-on` turning a failed verdict into exit code 3 after every output is written.

mod common;

use common::{faultline, mean, per_rep, run_report, scratch_dir};
use sim_core::summary::Domain;

/// The words each example's finding (the README's examples table) is stated in, beyond the
/// `[report] headline` names the test reads from the example itself: the verdict words and the
/// diagnosis that carry it.
const FINDINGS: &[(&str, &[&str])] = &[
    ("quickstart", &["SLOs: none defined"]),
    ("mm1", &[]),
    ("mmc", &[]),
    ("erlang-b", &[]),
    ("retry-feedback", &[]),
    ("retry-amplification", &[]),
    (
        // 33.4× the day's error budget, the 1h/5m page first.
        "provider-outage",
        &[
            "MISSED SLO availability: ≥ 99.5% over 1d",
            "× the budget",
            "met 0/10",
            "alerts:",
        ],
    ),
    ("agent-chain", &[]),
    ("azure-code-replay", &["retries are"]),
    (
        // The mild update: invisible to the pages, below the objective over the run.
        "silent-model-update",
        &[
            "PROJECTED MISSED SLO correctness",
            "observed SLI",
            "below the objective",
            "projected over 30d",
        ],
    ),
    ("token-runaway", &[]),
    (
        // The SLO holds through the outage; no alert fires.
        "fallback-chain",
        &[
            "MET SLO availability: ≥ 99.5% over 1d",
            "met 10/10",
            "alerts: 0 firings",
        ],
    ),
    ("breaker-vs-retry-storm", &[]),
    ("fair-share", &[]),
    (
        // Exactly the KV storm is aborted, in every replication.
        "chaos-game-day",
        &[
            "RAN 429-storm",
            "RAN latency-injection",
            "ABORTED kv-storm",
            "safety gate aborted 10/10",
        ],
    ),
    // Retries take most attempts in the storm.
    ("retry-storm", &["retries are"]),
    ("noisy-neighbor", &[]),
    // Open or half-open most of the run after the update.
    ("breaker-soft-failures", &["breaker of primary flaps"]),
    ("kv-eviction-storm", &["preemption storm in pool pool"]),
    ("self-hosted-vs-api", &[]),
    ("autoscale-burst", &[]),
    (
        // A 12-hour run of a 30-day SLO: observed and projected, labelled.
        "slo-burn-alerts",
        &[
            "PROJECTED MISSED SLO correctness: ≥ 99% over 30d, run 12h",
            "observed SLI",
            "below the objective",
            "so far (met 10/10)",
            "projected over 30d",
        ],
    ),
    ("oom-retry-storm", &[]),
    ("codel-overload", &[]),
    ("aws-retry-quota", &[]),
    ("adaptive-concurrency", &[]),
    (
        // 0.25% of jobs end with a broken stream: the 99.9% SLO over them is missed.
        "streaming-failures",
        &["MISSED SLO unbroken-streams"],
    ),
    ("rag-latency-spike", &[]),
    ("pipeline-crash-resume", &[]),
    ("training-checkpoint", &[]),
    ("ingestion-backlog", &[]),
    // The anomaly alert fires after the prompt update.
    ("prompt-cost-spike", &["cost guard fired"]),
];

/// The `[report] headline` names of a built-in example, from its own text.
fn headline_names(example: &str) -> Vec<String> {
    let e = scenarios::examples::ALL
        .iter()
        .find(|e| e.name == example)
        .expect("a built-in example");
    let doc: toml::Value = toml::from_str(e.toml).expect("examples parse");
    doc.get("report")
        .and_then(|r| r.get("headline"))
        .and_then(|h| h.as_array())
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().expect("names are strings").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn every_example_says_its_finding_first_and_fits_100_columns() {
    let listed: Vec<&str> = FINDINGS.iter().map(|(n, _)| *n).collect();
    let all: Vec<&str> = scenarios::examples::ALL.iter().map(|e| e.name).collect();
    assert_eq!(
        listed
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<_>>(),
        all.iter().copied().collect(),
        "every example has its expected finding here"
    );
    for (example, words) in FINDINGS {
        let names = headline_names(example);
        assert!(!names.is_empty(), "{example} sets [report] headline");
        let dir = scratch_dir(&format!("headline-{example}"));
        let out = faultline(&[
            "run",
            &format!("example:{example}"),
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{example}: {out:?}");
        let stdout = String::from_utf8(out.stdout).expect("UTF-8");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("warning"),
            "{example}: every headline metric is produced: {stderr}"
        );
        let first: Vec<&str> = stdout.lines().take(15).collect();
        let head = first.join("\n");
        for name in &names {
            // The key figure's row: its name, then its mean (a number, not "not produced").
            let row = first
                .iter()
                .position(|l| l.trim_start().starts_with(name.as_str()))
                .unwrap_or_else(|| panic!("{example}: `{name}` in the first 15 lines:\n{head}"));
            let rest = first[row].trim_start()[name.len()..].trim();
            let rest = if rest.is_empty() {
                first.get(row + 1).map_or("", |l| l.trim())
            } else {
                rest
            };
            let mean = rest.split_whitespace().next().unwrap_or("");
            assert!(
                mean.parse::<f64>().is_ok(),
                "{example}: `{name}` has a number: {rest:?}"
            );
        }
        // Durations read in units people use: a key figure shown in seconds is at most 5
        // minutes (training-checkpoint's 102,335 s job reads 28.4 h).
        for line in &first {
            let words: Vec<&str> = line.split_whitespace().collect();
            if words.len() >= 3 && words.last() == Some(&"s") && line.starts_with("  ") {
                let mean = words
                    .iter()
                    .find_map(|w| w.parse::<f64>().ok())
                    .unwrap_or(0.0);
                assert!(
                    mean <= 300.0,
                    "{example}: raw seconds in the headline: {line}"
                );
            }
        }
        // A run without LLM calls has no `calls` section of zeros.
        if *example == "ingestion-backlog" {
            assert!(
                !stdout.lines().any(|l| l.starts_with("calls ")),
                "{example}: a calls section:\n{stdout}"
            );
        }
        // Wrapped lines read as one text: a phrase may continue on the next line.
        let flat = first
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect::<Vec<_>>()
            .join(" ");
        for w in *words {
            assert!(
                flat.contains(w),
                "{example}: `{w}` in the first 15 lines:\n{head}"
            );
        }
        // The summary, up to the footer of file paths (which are as long as the user's).
        let footer = format!("example:{example}: ");
        for line in stdout.lines().take_while(|l| !l.starts_with(&footer)) {
            assert!(
                line.chars().count() <= 100,
                "{example}: a line of {} columns:\n{line}",
                line.chars().count()
            );
        }
        // No interval outside its metric's domain, in the report itself.
        let report: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("report.json")).expect("report written"),
        )
        .expect("JSON");
        for (name, m) in report["metrics"].as_object().expect("metrics") {
            let (lo, hi) = match Domain::of(name) {
                Domain::Unit => (0.0, 1.0),
                Domain::NonNegative => (0.0, f64::INFINITY),
                Domain::Real => continue,
            };
            for key in ["ci95_low", "ci95_high", "ci99_low", "ci99_high"] {
                if let Some(v) = m[key].as_f64() {
                    assert!(
                        (lo..=hi).contains(&v),
                        "{example}: {name}.{key} = {v} outside [{lo}, {hi}]"
                    );
                }
            }
            // And every metric is in the catalogue `faultline metrics` prints.
            assert!(
                sim_core::definitions::definition(name).is_some(),
                "{example}: `{name}` has no definition"
            );
        }
    }
}

/// The acceptance gate: a missed SLO exits 3 with `--fail-on slo`, after writing the report,
/// the page and the plots; without the flag (or gating on a verdict that held) it exits 0.
#[test]
fn fail_on_gates_the_exit_code_after_writing_everything() {
    let run = |extra: &[&str]| {
        let dir = scratch_dir("fail-on");
        let mut args = vec![
            "run",
            "example:provider-outage",
            "--replications",
            "2",
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        (faultline(&args), dir)
    };
    let (out, dir) = run(&["--fail-on", "slo"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    for file in ["report.json", "report.html"] {
        assert!(dir.join(file).is_file(), "{file} written before exit 3");
    }
    assert!(dir.join("plots").is_dir());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("verdict failed (--fail-on): SLO availability MISSED"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("MISSED SLO availability"));

    let (out, _) = run(&[]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // The outage has no chaos experiment and no cost guard: those gates pass.
    let (out, _) = run(&["--fail-on", "abort,guard"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Its alerts fire: the alert gate fails too.
    let (out, _) = run(&["--fail-on", "alert"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    // A word that is no verdict is bad usage, found before the run.
    let (out, dir) = run(&["--fail-on", "slos"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(!dir.join("report.json").exists());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`slos`"));
}

#[test]
fn compare_gates_on_any_arm() {
    let dir = scratch_dir("fail-on-compare");
    let out = faultline(&[
        "compare",
        "example:provider-outage",
        "--variant",
        "gateway.retry.max_attempts=1",
        "--replications",
        "2",
        "--set",
        "horizon=12h",
        "--fail-on",
        "slo",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(dir.join("compare.json").is_file());
}

#[test]
fn metrics_lists_definitions_and_filters_rows() {
    let out = faultline(&["metrics", "slo.availability.sli"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("slo.*.sli"), "{text}");
    assert!(text.contains("ratio"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    let all = String::from_utf8(faultline(&["metrics"]).stdout).unwrap();
    assert!(all.lines().count() > sim_core::definitions::all().count());
    assert!(all.lines().all(|l| l.chars().count() <= 100), "{all}");
    let slo = String::from_utf8(faultline(&["metrics", "slo.*"]).stdout).unwrap();
    let rows: Vec<&str> = slo
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty() && !l.starts_with('`'))
        .collect();
    assert!(rows.len() >= 15, "{slo}");
    assert!(rows.iter().all(|r| r.starts_with("slo.*.")), "{slo}");
    let none = faultline(&["metrics", "no_such_*"]);
    assert_eq!(none.status.code(), Some(2));

    let dir = scratch_dir("metrics-filter");
    let out = faultline(&[
        "run",
        "example:mm1",
        "--replications",
        "2",
        "--format",
        "csv",
        "--metrics",
        "*p99*",
        "--metrics",
        "arrivals",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let rows: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    assert_eq!(rows, vec!["arrivals", "latency_p99_s"]);
}

#[test]
fn an_unknown_headline_name_is_an_error_at_its_place() {
    let dir = scratch_dir("headline-bad");
    let path = dir.join("s.toml");
    let text = scenarios::examples::ALL
        .iter()
        .find(|e| e.name == "mm1")
        .unwrap()
        .toml
        .replace("\"time_in_system_mean_s\"", "\"time_in_sytsem_mean_s\"");
    std::fs::write(&path, text).unwrap();
    let out = faultline(&["validate", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("report.headline[0]"), "{err}");
    assert!(err.contains("time_in_sytsem_mean_s"), "{err}");
    assert!(err.contains("s.toml:"), "{err}");
}

/// The definitions a reader used to trip on, each on the example that showed it: completions
/// count the arrivals' population (a warm-up's leftovers apart); a cache's answers are counted
/// apart, so latency and attempts per request describe the jobs a backend handled; planned
/// overflow is not degradation; a backend without a limit has no utilisation; the fallback
/// shares include the last resorts and add up to 1.
#[test]
fn metric_definitions_read_as_they_say() {
    let (mm1, _) = run_report("example:mm1", &["--replications", "2"]);
    let arrivals = per_rep(&mm1, "arrivals");
    for (i, done) in per_rep(&mm1, "completions").into_iter().enumerate() {
        assert!(
            done <= arrivals[i],
            "replication {i}: {done} > {}",
            arrivals[i]
        );
    }
    // A queue at ρ = 0.8 holds a few jobs when the warm-up ends; they end after it.
    assert!(mean(&mm1, "completions_from_warmup") > 0.0);

    let (fc, _) = run_report("example:fallback-chain", &["--replications", "2"]);
    // One call per job: the jobs a cache served are its hits.
    let hits = mean(&fc, "route.chat.cache_hit_ratio") * mean(&fc, "route.chat.cache_lookups");
    assert!((mean(&fc, "cache_served") - hits).abs() < 1.0);
    assert!(mean(&fc, "cache_served_latency_mean_s") < 0.001);
    // Every job a backend handled made an attempt; the median such call streams for seconds.
    assert!(mean(&fc, "attempts_per_request") >= 1.0);
    assert!(mean(&fc, "latency_p50_s") > 1.0);
    let shares = [
        "fallback.depth0_share",
        "fallback.depth1_share",
        "fallback.stale_share",
    ];
    for i in 0..2 {
        let sum: f64 = shares.iter().map(|s| per_rep(&fc, s)[i]).sum();
        assert!(
            (sum - 1.0).abs() < 1e-9,
            "replication {i}: shares sum to {sum}"
        );
    }
    // The stale answers are the stale entries the route served.
    assert!(mean(&fc, "fallback.stale_share") > 0.0);
    let past_cache = mean(&fc, "completions") - mean(&fc, "cache_served");
    let stale = mean(&fc, "fallback.stale_share") * past_cache;
    assert!((stale - mean(&fc, "route.chat.cache_stale_served")).abs() < 1.0);

    // The pool turns calls away when full and the API takes them: overflow, not degradation.
    let (sh, _) = run_report("example:self-hosted-vs-api", &["--replications", "1"]);
    let (overflow, degraded) = (mean(&sh, "overflow"), mean(&sh, "degraded"));
    assert!(
        overflow > 100.0 * degraded.max(1.0),
        "{overflow} vs {degraded}"
    );
    assert!(overflow + degraded <= mean(&sh, "fallbacks"));

    // No limit, no utilisation: the number in service is the figure (thousands in the storm).
    let (rs, _) = run_report("example:retry-storm", &["--replications", "2"]);
    assert!(rs["metrics"].get("backend.llm-api.utilisation").is_none());
    assert!(mean(&rs, "backend.llm-api.busy_mean") > 1_000.0);
}
