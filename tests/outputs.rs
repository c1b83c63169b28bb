//! What a run leaves behind for people: plots, report.html, stdout formats, and `faultline plot`
//! redrawing them from the JSON alone.

mod common;
use common::{faultline, run_report, scratch_dir};
use std::path::Path;
use std::process::Command;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small.toml");
const EVIL: &str = "<script>alert(1)</script>";

fn plot_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn run_writes_plots_and_page_and_plot_redraws_them_byte_for_byte() {
    let (_, path) = run_report(FIXTURE, &[]);
    let dir = path.parent().unwrap();
    // The fixture has a finite queue, failures and a timeout: every chart applies.
    let expected: Vec<String> = [
        "errors",
        "latency_cdf",
        "queue_depth",
        "throughput",
        "utilisation",
    ]
    .iter()
    .flat_map(|s| [format!("{s}.png"), format!("{s}.svg")])
    .collect();
    assert_eq!(plot_names(dir), expected);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 5);
    assert!(html.contains(&format!("faultline rerun {}", path.display())));

    let again = scratch_dir("replot");
    let out = faultline(&[
        "plot",
        path.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(plot_names(&again), expected);
    for name in expected
        .iter()
        .map(|n| format!("plots/{n}"))
        .chain(["report.html".into()])
    {
        let a = std::fs::read(dir.join(&name)).unwrap();
        let b = std::fs::read(again.join(&name)).unwrap();
        assert!(a == b, "{name} differs when redrawn from report.json");
    }
}

#[test]
fn plots_show_only_what_the_scenario_has() {
    let short = [
        "--replications",
        "2",
        "--set",
        "horizon=500s",
        "--set",
        "warmup=0s",
    ];
    // mm1: unbounded queue, no failures, no timeouts: no error chart.
    let (_, path) = run_report("example:mm1", &short);
    let names = plot_names(path.parent().unwrap());
    assert!(names.contains(&"queue_depth.svg".to_string()), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("errors")), "{names:?}");
    // Infinite servers: no queue, no utilisation.
    let (_, path) = run_report("example:retry-amplification", &short);
    let names = plot_names(path.parent().unwrap());
    assert!(names.contains(&"errors.svg".to_string()), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("queue") || n.starts_with("util"))
    );
}

#[test]
fn stdout_formats() {
    let dir = scratch_dir("formats");
    let run = |format: &str| {
        let out = faultline(&[
            "run",
            FIXTURE,
            "--out",
            dir.to_str().unwrap(),
            "--format",
            format,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let json = run("json");
    assert_eq!(
        json,
        std::fs::read_to_string(dir.join("report.json")).unwrap()
    );
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let metrics = report["metrics"].as_object().unwrap().len();

    let csv = run("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "name,mean,ci95_low,ci95_high,ci99_low,ci99_high");
    assert_eq!(lines.len(), metrics + 1);
    let arrivals = report["metrics"]["arrivals"]["mean"].as_f64().unwrap();
    assert!(
        lines[1].starts_with(&format!("arrivals,{arrivals},")),
        "{}",
        lines[1]
    );

    let table = run("table");
    assert!(table.starts_with("SLOs: none defined\n"), "{table}");
    for line in table.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line}");
    }
    assert!(table.contains("report.html"));

    let bad = faultline(&["run", FIXTURE, "--format", "yaml"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn plot_rejects_missing_and_garbled_reports_naming_the_file() {
    let dir = scratch_dir("plot-bad");
    let missing = dir.join("nope.json");
    let out = faultline(&["plot", missing.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nope.json"), "{stderr}");
    for (name, text) in [
        ("garbled.json", "{ not json"),
        ("wrong.json", "{\"format_version\": 1}"),
        ("series.json", "[1, 2, 3]"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        let out = faultline(&["plot", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains(name) && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
}

/// A run whose tenant is named like an injection attack, in a page a browser renders.
fn evil_run() -> std::path::PathBuf {
    let name_set = format!("tenants.0.name={EVIL}");
    let (report, path) = run_report(FIXTURE, &["--set", &name_set]);
    assert_eq!(report["scenario"]["tenants"][0]["name"], EVIL);
    path.parent().unwrap().join("report.html")
}

#[test]
fn a_hostile_tenant_name_appears_only_escaped() {
    let html = std::fs::read_to_string(evil_run()).unwrap();
    assert!(!html.contains(EVIL), "raw tenant name in the page");
    assert!(!html.to_ascii_lowercase().contains("<script"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// Opens report.html in headless Chromium and checks the screenshot shows a page. Chromium is a
/// test requirement (`.ci/run` installs Debian's `chromium`): without it this test fails and
/// says so, rather than passing without having looked.
#[test]
fn report_renders_in_headless_chromium() {
    let html = evil_run();
    let shot = html.with_file_name("screenshot.png");
    let run = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,900",
            &format!("file://{}", html.display()),
        ])
        .output();
    let run = match run {
        Ok(r) => r,
        Err(e) => panic!(
            "cannot start `chromium` ({e}): install Debian's chromium package \
             (apt-get install -y --no-install-recommends chromium); .ci/run does this"
        ),
    };
    assert!(
        run.status.success() && shot.exists(),
        "chromium failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1200, 900));
    let ch = info.color_type.samples();
    let pixels = buf[..info.buffer_size()].chunks(ch);
    let (mut non_white, mut colours) = (0usize, std::collections::BTreeSet::new());
    let total = (info.width * info.height) as usize;
    for p in pixels {
        if p[0] < 240 || p[1] < 240 || p[2] < 240 {
            non_white += 1;
        }
        colours.insert((p[0], p[1], p[2]));
    }
    // A blank or error page is nearly all one colour; the report has text and a table.
    assert!(
        non_white * 100 > total * 2,
        "only {non_white} of {total} pixels are not white"
    );
    assert!(
        colours.len() > 30,
        "only {} distinct colours",
        colours.len()
    );
}
