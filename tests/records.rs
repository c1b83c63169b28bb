//! `run --requests` (one row per call) and `--trace` (Chrome Trace Event JSON): the files parse,
//! their counts agree with the run's own metrics for that replication, the trace window limits
//! the timestamps, bad paths are refused, and recording changes no byte of the report.

mod common;

use common::{faultline, scratch_dir};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// Runs `faultline run SCENARIO --out DIR ARGS...`, asserts success, returns the report text.
fn run(scenario: &str, dir: &Path, args: &[&str]) -> String {
    let out = dir.join("out");
    let mut all = vec!["run", scenario, "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = faultline(&all);
    assert!(
        o.status.success(),
        "faultline {all:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    std::fs::read_to_string(out.join("report.json")).expect("report.json")
}

/// Metric `name` of replication `rep`.
fn per_rep(report: &Value, name: &str, rep: usize) -> f64 {
    report["metrics"][name]["per_replication"][rep]
        .as_f64()
        .unwrap_or_else(|| panic!("metric {name} replication {rep}"))
}

fn csv_rows(path: &Path) -> (Vec<String>, Vec<BTreeMap<String, String>>) {
    let mut r = csv::Reader::from_path(path).expect("calls CSV");
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.expect("a CSV record");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn trace_events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("trace written");
    let v: Value = serde_json::from_str(&text).expect("the trace is JSON");
    assert!(v.is_object(), "the JSON object form of the format");
    assert_eq!(v["displayTimeUnit"], "ms");
    v["traceEvents"].as_array().expect("traceEvents").clone()
}

/// Checks every event against the Trace Event Format: its phase, ids and times; complete
/// events on one thread never overlap (viewers nest slices by time on a thread).
fn check_format(events: &[Value]) {
    let mut by_thread: BTreeMap<(u64, u64), Vec<(f64, f64)>> = BTreeMap::new();
    for e in events {
        let ph = e["ph"].as_str().expect("ph");
        assert!(["X", "i", "C", "M"].contains(&ph), "phase {ph}");
        assert!(e["name"].is_string() && e["pid"].is_u64() && e["tid"].is_u64());
        if ph != "M" {
            let ts = e["ts"].as_f64().expect("ts in microseconds");
            assert!(ts >= 0.0);
        }
        if ph == "X" {
            let (ts, dur) = (e["ts"].as_f64().unwrap(), e["dur"].as_f64().expect("dur"));
            assert!(dur >= 0.0);
            by_thread
                .entry((e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap()))
                .or_default()
                .push((ts, ts + dur));
        }
        if ph == "i" {
            assert_eq!(e["s"], "p", "instants are process-scoped");
        }
        if ph == "C" {
            assert!(
                e["args"]
                    .as_object()
                    .unwrap()
                    .values()
                    .all(Value::is_number)
            );
        }
    }
    for (thread, mut spans) in by_thread {
        spans.sort_by(|a, b| a.partial_cmp(b).unwrap());
        for w in spans.windows(2) {
            assert!(w[1].0 >= w[0].1 - 1e-3, "overlap on {thread:?}: {w:?}");
        }
    }
}

/// `pid` → process name, from the `process_name` metadata events.
fn processes(events: &[Value]) -> BTreeMap<u64, String> {
    events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| {
            (
                e["pid"].as_u64().unwrap(),
                e["args"]["name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn count(events: &[Value], f: impl Fn(&Value) -> bool) -> usize {
    events.iter().filter(|e| f(e)).count()
}

#[test]
fn fallback_chain_rows_and_spans_agree_with_the_metrics_and_the_report_is_unchanged() {
    let dir = scratch_dir("records-fallback");
    let plain = run("example:fallback-chain", &dir.join("plain"), &[]);
    let (calls, trace) = (dir.join("calls.csv"), dir.join("trace.json"));
    let recorded = run(
        "example:fallback-chain",
        &dir.join("recorded"),
        &[
            "--requests",
            calls.to_str().unwrap(),
            "--trace",
            trace.to_str().unwrap(),
        ],
    );
    assert!(plain == recorded, "report.json changed with recording on");
    let report: Value = serde_json::from_str(&plain).unwrap();

    // Every job of this example is one call (one step, no agent loop), and there is no
    // warm-up: one row per arrival of replication 0, in flight at the horizon included.
    let (header, rows) = csv_rows(&calls);
    assert_eq!(header, models::record::COLUMNS);
    let arrivals = per_rep(&report, "arrivals", 0);
    assert_eq!(rows.len() as f64, arrivals);
    let jobs: HashSet<&str> = rows.iter().map(|r| r["job"].as_str()).collect();
    assert_eq!(jobs.len(), rows.len(), "one row per job");
    let ended = rows
        .iter()
        .filter(|r| !["unfinished", "blocked", "continued"].contains(&r["outcome"].as_str()))
        .count();
    assert_eq!(ended as f64, per_rep(&report, "completions", 0));
    let degraded = rows.iter().filter(|r| r["outcome"] == "degraded").count();
    assert_eq!(degraded as f64, per_rep(&report, "degraded", 0));
    // Attempts that reached a backend, per backend, from the rows' attempt lists.
    let mut started: BTreeMap<String, usize> = BTreeMap::new();
    for r in &rows {
        assert_eq!(
            r["attempts"].split(';').filter(|a| !a.is_empty()).count(),
            r["attempt_count"].parse::<usize>().unwrap()
        );
        for a in r["attempts"].split(';').filter(|a| !a.is_empty()) {
            let f: Vec<&str> = a.split(':').collect();
            assert_eq!(f.len(), 6, "{a}");
            if !f[3].is_empty() {
                *started.entry(f[1].to_string()).or_default() += 1;
            }
        }
    }
    // Cache hits answer without an attempt.
    let cached = rows.iter().filter(|r| r["cached"] == "true").count() as f64;
    let lookups = per_rep(&report, "route.chat.cache_lookups", 0);
    let hit_ratio = per_rep(&report, "route.chat.cache_hit_ratio", 0);
    assert_eq!(
        cached,
        (lookups * hit_ratio).round() + per_rep(&report, "route.chat.cache_stale_served", 0)
    );

    let events = trace_events(&trace);
    check_format(&events);
    let procs = processes(&events);
    let names: Vec<&str> = procs.values().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "gateway",
            "backend llm-api",
            "backend backup-api",
            "route chat"
        ]
    );
    for (pid, name) in &procs {
        let Some(backend) = name.strip_prefix("backend ") else {
            continue;
        };
        let spans = count(&events, |e| e["pid"] == *pid && e["cat"] == "attempt");
        let metric = per_rep(&report, &format!("backend.{backend}.attempts"), 0);
        assert_eq!(spans as f64, metric, "attempt spans of {backend}");
        assert_eq!(started.get(backend).copied().unwrap_or(0) as f64, metric);
        // Slot lanes: never more than the backend's 64 slots at once.
        let slots = count(&events, |e| {
            e["pid"] == *pid
                && e["name"] == "thread_name"
                && e["args"]["name"].as_str().unwrap().starts_with("slot ")
        });
        assert!((1..=64).contains(&slots), "{backend}: {slots} slot lanes");
    }
    let backoffs = count(&events, |e| e["cat"] == "backoff");
    assert_eq!(backoffs as f64, per_rep(&report, "retries", 0));
    let breaker = |state: &str| {
        count(&events, |e| {
            e["cat"] == "breaker" && e["name"] == format!("breaker {state}").as_str()
        }) as f64
    };
    assert_eq!(
        breaker("open"),
        per_rep(&report, "backend.llm-api.breaker_opened", 0)
    );
    assert_eq!(
        breaker("half_open"),
        per_rep(&report, "backend.llm-api.breaker_half_opened", 0)
    );
    assert_eq!(
        breaker("closed"),
        per_rep(&report, "backend.llm-api.breaker_recovered", 0)
    );
    // The one outage window, 10 h to 14 h.
    let at = |name: &str| -> Vec<f64> {
        events
            .iter()
            .filter(|e| e["name"] == name)
            .map(|e| e["ts"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(at("outage begins"), [10.0 * 3600e6]);
    assert_eq!(at("outage ends"), [14.0 * 3600e6]);
}

#[test]
fn json_lines_rows_parse_one_per_line_for_the_chosen_replication() {
    let dir = scratch_dir("records-jsonl");
    let calls = dir.join("calls.jsonl");
    let report = run(
        "example:quickstart",
        &dir,
        &[
            "--replications",
            "3",
            "--set",
            "warmup=0s",
            "--requests",
            calls.to_str().unwrap(),
            "--requests-replication",
            "2",
        ],
    );
    let report: Value = serde_json::from_str(&report).unwrap();
    let text = std::fs::read_to_string(&calls).unwrap();
    let mut rows = 0;
    for line in text.lines() {
        let row: Value = serde_json::from_str(line).expect("each line is a JSON object");
        for column in models::record::COLUMNS {
            assert!(row.get(column).is_some(), "{column} in {line}");
        }
        let attempts = row["attempts"].as_array().expect("attempts array");
        assert_eq!(
            attempts.len() as u64,
            row["attempt_count"].as_u64().unwrap()
        );
        for a in attempts {
            for key in ["kind", "backend", "sent_s", "start_s", "end_s", "outcome"] {
                assert!(a.get(key).is_some(), "{key} in {a}");
            }
        }
        rows += 1;
    }
    assert_eq!(rows as f64, per_rep(&report, "arrivals", 2));
    assert_ne!(
        per_rep(&report, "arrivals", 2),
        per_rep(&report, "arrivals", 0)
    );
}

#[test]
fn the_trace_window_limits_every_timestamp() {
    let dir = scratch_dir("records-window");
    let trace = dir.join("trace.json");
    run(
        "example:fallback-chain",
        &dir,
        &[
            "--replications",
            "1",
            "--trace",
            trace.to_str().unwrap(),
            "--trace-window",
            "10h..10h10m",
        ],
    );
    let events = trace_events(&trace);
    check_format(&events);
    let (from, to) = (10.0 * 3600e6, (10.0 * 3600.0 + 600.0) * 1e6);
    for e in events.iter().filter(|e| e["ph"] != "M") {
        let ts = e["ts"].as_f64().unwrap();
        let end = ts + e["dur"].as_f64().unwrap_or(0.0);
        assert!(ts >= from && end <= to, "{e} outside the window");
    }
    assert!(count(&events, |e| e["cat"] == "attempt") > 100);
    assert_eq!(count(&events, |e| e["name"] == "outage begins"), 1);
}

#[test]
fn queue_spans_and_gpu_counters_agree_with_the_metrics() {
    let dir = scratch_dir("records-queue");
    let (calls, trace) = (dir.join("calls.csv"), dir.join("trace.json"));
    let args = [
        "--replications",
        "1",
        "--set",
        "warmup=0s",
        "--set",
        "horizon=2000s",
        // Three servers for 3.2 calls a second: the queue grows, calls wait at the horizon.
        "--set",
        "backends.servers.concurrency=3",
        "--requests",
        calls.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ];
    let report: Value = serde_json::from_str(&run("example:mmc", &dir, &args)).unwrap();
    let events = trace_events(&trace);
    check_format(&events);
    // Every attempt that waited and then started is one queue span; so is every one still
    // waiting at the horizon (its row is unfinished with an attempt that never started).
    let started = per_rep(&report, "backend.servers.attempts", 0);
    let waited = (per_rep(&report, "queue_wait_probability", 0) * started).round();
    let (_, rows) = csv_rows(&calls);
    let still_waiting = rows
        .iter()
        .filter(|r| r["outcome"] == "unfinished" && r["attempts"].contains("::running"))
        .count() as f64;
    assert!(still_waiting > 0.0, "the run ends with calls waiting");
    let queued = count(&events, |e| e["cat"] == "queue") as f64;
    assert_eq!(queued, waited + still_waiting);
    // Three servers: three slot lanes, and a queue counter.
    let slots = count(&events, |e| {
        e["name"] == "thread_name" && e["args"]["name"].as_str().unwrap().starts_with("slot ")
    });
    assert_eq!(slots, 3);
    assert!(
        events
            .iter()
            .any(|e| e["name"] == "queue" && e["ph"] == "C")
    );

    let gpu_dir = scratch_dir("records-gpu");
    let trace = gpu_dir.join("trace.json");
    let args = [
        "--replications",
        "1",
        "--set",
        "horizon=10m",
        "--set",
        "warmup=0s",
        "--trace",
        trace.to_str().unwrap(),
    ];
    let report: Value =
        serde_json::from_str(&run("example:kv-eviction-storm", &gpu_dir, &args)).unwrap();
    let events = trace_events(&trace);
    check_format(&events);
    for (pid, name) in processes(&events) {
        let Some(backend) = name.strip_prefix("backend ") else {
            continue;
        };
        let spans = count(&events, |e| e["pid"] == pid && e["cat"] == "attempt");
        let metric = per_rep(&report, &format!("backend.{backend}.attempts"), 0);
        assert_eq!(spans as f64, metric, "{backend}");
        let replica_lanes = count(&events, |e| {
            e["pid"] == pid
                && e["name"] == "thread_name"
                && e["args"]["name"].as_str().unwrap().starts_with("replica ")
        });
        assert!(replica_lanes > 0, "{backend} has replica lanes");
        for counter in ["replicas", "replica 0 kv", "replica 0 batch"] {
            assert!(
                events
                    .iter()
                    .any(|e| e["pid"] == pid && e["name"] == counter),
                "{backend}: counter {counter}"
            );
        }
    }
}

#[test]
fn recordings_are_the_same_bytes_for_any_thread_count() {
    let dir = scratch_dir("records-threads");
    let files = |t: &str| {
        (
            dir.join(format!("c{t}.csv")),
            dir.join(format!("t{t}.json")),
        )
    };
    for t in ["1", "2"] {
        let (c, tr) = files(t);
        run(
            "example:retry-amplification",
            &dir.join(t),
            &[
                "--replications",
                "4",
                "--set",
                "horizon=10m",
                "--threads",
                t,
                "--requests-replication",
                "3",
                "--requests",
                c.to_str().unwrap(),
                "--trace",
                tr.to_str().unwrap(),
            ],
        );
    }
    let read = |p: std::path::PathBuf| std::fs::read(p).unwrap();
    assert!(read(files("1").0) == read(files("2").0));
    assert!(read(files("1").1) == read(files("2").1));
}

#[test]
fn paths_that_cannot_be_written_and_bad_flags_exit_2_naming_them() {
    let dir = scratch_dir("records-bad");
    let file = dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    let under_file = file.join("calls.csv");
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--requests".into(), under_file.display().to_string()],
            under_file.display().to_string(),
        ),
        (
            vec!["--trace".into(), dir.display().to_string()],
            dir.display().to_string(),
        ),
        (
            vec![
                "--requests".into(),
                dir.join("c.csv").display().to_string(),
                "--requests-replication".into(),
                "2".into(),
            ],
            "--requests-replication 2".into(),
        ),
        (
            vec![
                "--trace".into(),
                dir.join("t.json").display().to_string(),
                "--trace-window".into(),
                "2h..1h".into(),
            ],
            "--trace-window `2h..1h`".into(),
        ),
    ];
    for (extra, named) in cases {
        let out = dir.join("out");
        let mut args = vec![
            "run".to_string(),
            "example:mm1".into(),
            "--replications".into(),
            "2".into(),
            "--out".into(),
            out.display().to_string(),
        ];
        args.extend(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = faultline(&refs);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(&named), "{stderr} names {named}");
        assert!(!out.join("report.json").exists(), "refused before running");
    }
    // Nothing half-written is left behind.
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["a-file"]);
}
