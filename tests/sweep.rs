//! Sweeps, merges and comparisons through the binary, as a user runs them.

mod common;

use common::{faultline, scratch_dir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SMALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small.toml");

/// Every file under `dir`, relative path → bytes.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn assert_same_tree(a: &Path, b: &Path) {
    let (ta, tb) = (tree(a), tree(b));
    let names = |t: &BTreeMap<PathBuf, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&ta),
        names(&tb),
        "{} and {} hold different files",
        a.display(),
        b.display()
    );
    for (k, v) in &ta {
        assert!(
            v == &tb[k],
            "{} differs between {} and {}",
            k.display(),
            a.display(),
            b.display()
        );
    }
}

fn ok(args: &[&str]) -> String {
    let out = faultline(args);
    assert!(
        out.status.success(),
        "faultline {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const GRID: [&str; 4] = [
    "--set",
    "backends.api.concurrency=1,2",
    "--set",
    "gateway.retry.max_attempts=1..3",
];

#[test]
fn each_point_of_a_2x3_grid_is_the_run_of_its_settings() {
    let dir = scratch_dir("sweep-grid");
    let out = dir.join("sweep");
    let mut args = vec!["sweep", SMALL, "--out", out.to_str().unwrap()];
    args.extend(GRID);
    ok(&args);

    let table: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let points = table["points"].as_array().unwrap();
    assert_eq!(points.len(), 6);
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "a header and one row per point");
    assert!(csv.starts_with("id,backends.api.concurrency,gateway.retry.max_attempts,"));
    for stem in ["success_ratio", "latency_p99_s"] {
        for ext in ["png", "svg"] {
            let plot = out.join("plots").join(format!("{stem}.{ext}"));
            assert!(
                plot.exists(),
                "a two-parameter grid draws heatmaps: {} is missing",
                plot.display()
            );
        }
    }

    // The grid varies the last axis fastest: point 4 is the second concurrency with the second
    // attempt count.
    assert_eq!(points[4]["settings"]["backends.api.concurrency"], "2");
    assert_eq!(points[4]["settings"]["gateway.retry.max_attempts"], "2");

    for p in points {
        let id = p["id"].as_str().unwrap();
        let c = p["settings"]["backends.api.concurrency"].as_str().unwrap();
        let m = p["settings"]["gateway.retry.max_attempts"]
            .as_str()
            .unwrap();
        let single = dir.join(format!("run-{id}"));
        ok(&[
            "run",
            SMALL,
            "--set",
            &format!("backends.api.concurrency={c}"),
            "--set",
            &format!("gateway.retry.max_attempts={m}"),
            "--out",
            single.to_str().unwrap(),
        ]);
        let from_sweep = std::fs::read(out.join("points").join(id).join("report.json")).unwrap();
        let from_run = std::fs::read(single.join("report.json")).unwrap();
        assert!(
            from_sweep == from_run,
            "point {id} differs from `faultline run` with its settings"
        );
    }

    // Any point reruns from its report.
    let rerun = ok(&[
        "rerun",
        out.join("points/0003/report.json").to_str().unwrap(),
    ]);
    assert!(rerun.starts_with("reproduced sha256:"), "{rerun}");
}

#[test]
fn a_killed_sweep_resumes_to_the_same_bytes() {
    let dir = scratch_dir("sweep-resume");
    let whole = dir.join("whole");
    let resumed = dir.join("resumed");
    // Eight points of about a third of a second each on one thread, so a kill lands mid-sweep.
    let sweep = |out: &Path| -> Vec<String> {
        [
            "sweep",
            SMALL,
            "--set",
            "horizon=100h",
            "--set",
            "backends.api.concurrency=2..9",
            "--threads",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    ok(&sweep(&whole).iter().map(String::as_str).collect::<Vec<_>>());

    let mut child = Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(sweep(&resumed))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let done = |d: &Path| {
        (0..8)
            .filter(|i| d.join(format!("points/{i:04}/report.json")).exists())
            .count()
    };
    let start = Instant::now();
    while done(&resumed) < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the sweep made no progress"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no chance to clean up.
    child.wait().unwrap();
    let finished = done(&resumed);
    assert!(
        finished < 8,
        "the kill came too late to test anything ({finished} points done)"
    );
    assert!(!resumed.join("sweep.json").exists());

    let mut args = sweep(&resumed);
    args.push("--resume".to_string());
    let out = faultline(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("resuming: {finished} points already done")),
        "{stderr}"
    );
    assert_same_tree(&whole, &resumed);
}

#[test]
fn merged_shards_equal_the_unsharded_sweep() {
    let dir = scratch_dir("sweep-shards");
    let whole = dir.join("whole");
    let run = |out: &Path, extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec!["sweep", SMALL, "--out", out.to_str().unwrap()];
        args.extend(GRID);
        args.extend(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_faultline"))
            .args(&args)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    run(&whole, &[], &[]);

    // Separate directories, merged into a third.
    let (s0, s1, merged) = (dir.join("s0"), dir.join("s1"), dir.join("merged"));
    let said = run(&s0, &["--shard", "0/2"], &[]);
    assert!(said.contains("faultline merge"), "{said}");
    run(&s1, &["--shard", "1/2"], &[]);
    assert!(
        !s0.join("sweep.json").exists(),
        "a shard alone writes no tables"
    );
    assert!(s0.join("points/0002/report.json").exists() && !s0.join("points/0001").exists());
    let incomplete = faultline(&["merge", s0.to_str().unwrap()]);
    assert_eq!(incomplete.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&incomplete.stderr).contains("3 of 6 points"));
    ok(&[
        "merge",
        s0.to_str().unwrap(),
        s1.to_str().unwrap(),
        "--out",
        merged.to_str().unwrap(),
    ]);
    assert_same_tree(&whole, &merged);

    // One shared directory, with the shard taken from a Slurm array's environment.
    let shared = dir.join("shared");
    for task in ["4", "5"] {
        run(
            &shared,
            &[],
            &[
                ("SLURM_ARRAY_TASK_ID", task),
                ("SLURM_ARRAY_TASK_COUNT", "2"),
                ("SLURM_ARRAY_TASK_MIN", "4"),
            ],
        );
    }
    ok(&["merge", shared.to_str().unwrap()]);
    assert_same_tree(&whole, &shared);
}

#[test]
fn objectives_pick_points_and_print_their_rerun_commands() {
    let dir = scratch_dir("sweep-objective");
    let out = dir.join("sweep");
    let mut args = vec!["sweep", SMALL, "--out", out.to_str().unwrap()];
    args.extend(GRID);
    ok(&args);
    let table: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("sweep.json")).unwrap()).unwrap();
    let mean = |p: &Value, m: &str| p["metrics"][m]["mean"].as_f64().unwrap();
    let points = table["points"].as_array().unwrap();
    // The fastest point among those that succeed at least 97% of the time, found by hand.
    let expected = points
        .iter()
        .filter(|p| mean(p, "success_ratio") >= 0.97)
        .min_by(|a, b| {
            mean(a, "time_in_system_mean_s").total_cmp(&mean(b, "time_in_system_mean_s"))
        })
        .expect("some point meets the constraint");
    let id = expected["id"].as_str().unwrap();
    let said = ok(&[
        "merge",
        out.to_str().unwrap(),
        "--objective",
        "min:time_in_system_mean_s",
        "--constraint",
        "success_ratio>=0.97",
    ]);
    assert!(said.contains(&format!("point {id}:")), "{said}");
    // The table of points: every point, its parameters, the objective's metric, the constraint
    // verdict, and `*` on the chosen one; no line wider than 100 columns.
    let header = said
        .lines()
        .find(|l| l.starts_with("point "))
        .expect("a table of points");
    assert!(header.contains("time_in_system_mean_s"), "{said}");
    assert!(header.ends_with("meets"), "{said}");
    let rows: Vec<&str> = said
        .lines()
        .filter(|l| {
            points
                .iter()
                .any(|p| l.starts_with(p["id"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(rows.len(), points.len(), "{said}");
    for (row, p) in rows.iter().zip(points) {
        let meets = mean(p, "success_ratio") >= 0.97;
        assert_eq!(row.ends_with("yes"), meets, "{row}");
        assert_eq!(row.contains(" * "), p["id"] == id, "{row}");
    }
    let out_path = out.display().to_string();
    assert!(
        said.lines()
            .filter(|l| !l.contains(&out_path))
            .all(|l| l.chars().count() <= 100),
        "{said}"
    );
    // The same table in sweep.html, with the chosen point highlighted and the plots inline.
    let html = std::fs::read_to_string(out.join("sweep.html")).unwrap();
    assert_eq!(html.matches("<tr class=\"chosen\">").count(), 1, "{html}");
    assert!(html.contains(&format!("points/{id}/report.json")), "{html}");
    assert!(html.contains("<svg"), "the sweep's plots are in the page");
    assert!(
        said.contains(&format!(
            "faultline rerun {}",
            out.join(format!("points/{id}/report.json")).display()
        )),
        "{said}"
    );
    let front = ok(&[
        "merge",
        out.to_str().unwrap(),
        "--objective",
        "pareto:min:attempts_per_request,max:success_ratio",
    ]);
    assert!(front.contains("chosen"), "{front}");
    let bad = faultline(&[
        "merge",
        out.to_str().unwrap(),
        "--objective",
        "min:no_such_metric",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("no point has a metric `no_such_metric`")
    );
}

#[test]
fn bad_sweep_input_exits_2_with_a_clear_message() {
    let dir = scratch_dir("sweep-bad");
    let out = dir.join("x");
    for (args, needle) in [
        (
            vec!["--set", "gateway.retry.max_attempts=5..1"],
            "runs downwards",
        ),
        (
            vec!["--set", "gateway.retry.max_attempts=1..3:0"],
            "step of",
        ),
        (
            vec!["--set", "backends.api.concurrency=0.5..2"],
            "needs a step",
        ),
        (vec!["--set", "gateway.retry.max_attempts"], "KEY.PATH=SPEC"),
        (
            vec!["--set", "gateway.retry.max_attempts=1,2,x"],
            "sweep point 0002",
        ),
        (
            vec!["--set", "a=1,2", "--set", "b=1,2,3", "--zip"],
            "--zip pairs",
        ),
        (vec!["--shard", "2/2"], "expected I/N"),
        (
            vec!["--constraint", "success_ratio>=1"],
            "needs an --objective",
        ),
    ] {
        let mut all = vec!["sweep", SMALL, "--out", out.to_str().unwrap()];
        all.extend(args.iter().copied());
        let result = faultline(&all);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(
            stderr.contains(needle),
            "{all:?}: expected `{needle}` in:\n{stderr}"
        );
    }
    // A different sweep must not be written into a directory that holds another.
    ok(&[
        "sweep",
        SMALL,
        "--set",
        "seed=1,2",
        "--out",
        out.to_str().unwrap(),
    ]);
    let clash = faultline(&[
        "sweep",
        SMALL,
        "--set",
        "seed=3,4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(clash.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&clash.stderr).contains("different sweep"));
}

#[test]
fn common_random_numbers_narrow_the_comparison() {
    // Stated case: the M/M/4 example over 2 h with 20 replications, service mean 1 s against
    // 0.95 s. The 95% CI of the difference in mean time in system must be at most half as wide
    // with common random numbers as with independent seeds, and the estimated variance reduction
    // above 4 (at seed 1 the half-widths are about 0.010 s and 0.034 s, the reduction about 11).
    let dir = scratch_dir("compare");
    let half_width = |independent: bool| {
        let out = dir.join(format!("c-{independent}"));
        let mut args = vec![
            "compare",
            "example:mmc",
            "--variant",
            "backends.servers.service.mean=0.95s",
            "--replications",
            "20",
            "--set",
            "horizon=2h",
            "--set",
            "warmup=10m",
            "--out",
            out.to_str().unwrap(),
        ];
        if independent {
            args.push("--independent");
        }
        let said = ok(&args);
        assert!(said.contains("SLOs:"), "{said}");
        // A faster server: time in system goes down, which is better, in percent of the
        // baseline; the page beside the reports says the same.
        let row = said
            .lines()
            .find(|l| l.starts_with("time_in_system_mean_s "))
            .expect("a time-in-system row");
        assert!(row.ends_with(" better"), "{row}");
        assert!(row.contains("%") && row.contains(" -"), "{row}");
        // Every line but those naming the output files fits 100 columns.
        let out_path = out.display().to_string();
        assert!(
            said.lines()
                .filter(|l| !l.contains(&out_path))
                .all(|l| l.chars().count() <= 100),
            "{said}"
        );
        let html = std::fs::read_to_string(out.join("compare.html")).unwrap();
        assert!(html.contains("<td class=\"better\">better</td>"), "{html}");
        assert!(html.contains("href=\"variants/1/report.json\""), "{html}");
        let json: Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("compare.json")).unwrap())
                .unwrap();
        assert_eq!(
            json["random_numbers"],
            if independent { "independent" } else { "common" }
        );
        let d = json["variants"][0]["differences"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["metric"] == "time_in_system_mean_s")
            .unwrap()
            .clone();
        let ci = (d["ci95_high"].as_f64().unwrap() - d["ci95_low"].as_f64().unwrap()) / 2.0;
        assert_eq!(d["verdict"], "better");
        let pct = d["change_percent"].as_f64().unwrap();
        let expected =
            100.0 * d["difference"].as_f64().unwrap() / d["baseline_mean"].as_f64().unwrap();
        assert!((pct - expected).abs() < 1e-9 && pct < 0.0, "{pct}");
        // Each arm's report reruns.
        let rerun = ok(&[
            "rerun",
            out.join("variants/1/report.json").to_str().unwrap(),
        ]);
        assert!(rerun.starts_with("reproduced"), "{rerun}");
        (ci, d["variance_reduction"].as_f64().unwrap())
    };
    let (common, reduction) = half_width(false);
    let (independent, _) = half_width(true);
    assert!(
        common <= 0.5 * independent,
        "common random numbers: ±{common}, independent seeds: ±{independent}"
    );
    assert!(reduction > 4.0, "estimated variance reduction {reduction}");
}

#[test]
fn compare_rejects_a_lone_scenario() {
    let out = faultline(&["compare", SMALL]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--variant"));
}
