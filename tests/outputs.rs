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
    // The fixture has a finite queue, failures and a timeout: every chart applies, the
    // errors by class too (server errors and timeouts, the only classes it can have).
    let expected: Vec<String> = [
        "errors",
        "errors_by_class",
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
    assert_eq!(html.matches("<svg").count(), 6);
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
    // Nor any of the reliability charts: no SLO, no faults, no prices, no breaker, no fallback.
    for stem in NEW_STEMS {
        assert!(
            !names.iter().any(|n| n.starts_with(&format!("{stem}."))),
            "{stem} for mm1: {names:?}"
        );
    }
    let html = std::fs::read_to_string(path.parent().unwrap().join("report.html")).unwrap();
    assert!(!html.contains("plot-slo_"), "SLO charts without SLOs");
    let svg = std::fs::read_to_string(path.parent().unwrap().join("plots/throughput.svg")).unwrap();
    assert!(!has_text(&svg, "fault"), "fault shading without faults");
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

/// Whether an SVG has a text element reading exactly `text` (plotters puts it on its own line).
fn has_text(svg: &str, text: &str) -> bool {
    svg.lines().any(|l| l.trim() == text)
}

/// The charts only some scenarios have.
const NEW_STEMS: &[&str] = &[
    "slo_budget",
    "slo_burn_rate",
    "cost_rate",
    "cost_breakdown",
    "fallback_depth",
    "errors_by_class",
    "breaker",
];

/// An outage of the primary backend behind a circuit breaker, a priced fallback, and an
/// availability SLO with burn-rate alerts: every reliability chart applies.
const OUTAGE_SCENARIO: &str = r#"
description = "Primary outage with a breaker and a fallback, under an availability SLO."
seed = 7
replications = 3
horizon = "2h"

[[tenants]]
name = "chat"
route = "chat"
arrivals = { process = "poisson", rate = "2/s" }
prompt_tokens = { dist = "lognormal", median = 800, p99 = 6000 }
output_tokens = { dist = "lognormal", median = 250, p99 = 1500 }

[[routes]]
name = "chat"
backend = "primary"
fallbacks = ["backup"]

[[backends]]
name = "primary"
concurrency = 64
ttft = { dist = "lognormal", median = "400ms", p99 = "3s" }
per_output_token = { dist = "uniform", low = "15ms", high = "30ms" }
error_latency = { dist = "deterministic", value = "200ms" }
price = { input_per_mtok = 2.5, output_per_mtok = 10 }
errors = { server_error = 0.01, overloaded = 0.005 }
outages = [{ start = "40m", duration = "25m", mode = "server_error" }]
circuit_breaker = { window_size = 50, minimum_calls = 20 }

[[backends]]
name = "backup"
concurrency = 64
ttft = { dist = "lognormal", median = "700ms", p99 = "5s" }
per_output_token = { dist = "uniform", low = "20ms", high = "40ms" }
price = { input_per_mtok = 5, output_per_mtok = 20 }
errors = { server_error = 0.2 }

[gateway]
attempt_timeout = "60s"

[gateway.retry]
max_attempts = 2

[[slos]]
name = "availability"
objective = "99"
time_window = { duration = "2h", is_rolling = false }
indicator = { kind = "availability" }
# A 2-hour run arms no workbook rule but the 1h/5m page; a 30-minute rule sees the outage.
alerting = { preset = "sre_workbook", rules = [{ name = "fast", severity = "page", long_window = "30m", short_window = "5m", burn_rate = 2 }] }
"#;

fn outage_run() -> std::path::PathBuf {
    let dir = scratch_dir("outage-scenario");
    let scenario = dir.join("outage.toml");
    std::fs::write(&scenario, OUTAGE_SCENARIO).unwrap();
    let (report, path) = run_report(scenario.to_str().unwrap(), &[]);
    let series: Vec<&str> = report["series"]["values"]
        .as_object()
        .expect("a series object")
        .keys()
        .map(|k| k.as_str())
        .collect();
    for name in [
        "cost_usd_per_s",
        "faults.active",
        "backend.primary.breaker_openings",
        "slo.availability.budget_remaining",
    ] {
        assert!(series.contains(&name), "no series {name}: {series:?}");
    }
    path
}

#[test]
fn outage_with_slo_prices_and_fallback_gets_the_reliability_charts() {
    let path = outage_run();
    let dir = path.parent().unwrap();
    let names = plot_names(dir);
    for stem in NEW_STEMS {
        for ext in ["png", "svg"] {
            let name = format!("{stem}.{ext}");
            assert!(names.contains(&name), "no {name}: {names:?}");
            let len = std::fs::metadata(dir.join("plots").join(&name))
                .unwrap()
                .len();
            assert!(len > 1000, "{name} is {len} bytes");
        }
    }
    let svg = |stem: &str| std::fs::read_to_string(dir.join(format!("plots/{stem}.svg"))).unwrap();
    // The outage is shaded on the time series, and the SLO charts mark the alert.
    for stem in [
        "throughput",
        "cost_rate",
        "breaker",
        "slo_budget",
        "slo_burn_rate",
    ] {
        assert!(has_text(&svg(stem), "fault"), "{stem} has no fault window");
    }
    for stem in ["slo_budget", "slo_burn_rate"] {
        assert!(has_text(&svg(stem), "alert"), "{stem} has no alert marker");
    }
    assert!(svg("cost_breakdown").contains("backend backup"));
    assert!(svg("fallback_depth").contains("depth 0 (primary)"));

    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), names.len() / 2);
    for stem in NEW_STEMS {
        assert!(
            html.contains(&format!("<figure id=\"plot-{stem}\">")),
            "{stem} not on the page"
        );
    }
    // The SLO charts come right after the verdicts, before the metrics table.
    let pos = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(pos("<section id=\"slos\">") < pos("<ul class=\"verdicts\">"));
    assert!(pos("<ul class=\"verdicts\">") < pos("plot-slo_budget"));
    assert!(pos("plot-slo_budget") < pos("plot-slo_burn_rate"));
    assert!(pos("plot-slo_burn_rate") < pos("<section id=\"metrics\">"));
    assert!(pos("<section id=\"plots\">") < pos("plot-throughput"));

    // The same scenario and seed give the same bytes, plots and page alike.
    let again = outage_run();
    let again_dir = again.parent().unwrap();
    assert_eq!(plot_names(again_dir), names);
    for name in &names {
        let a = std::fs::read(dir.join("plots").join(name)).unwrap();
        let b = std::fs::read(again_dir.join("plots").join(name)).unwrap();
        assert!(a == b, "{name} differs between two runs");
    }
    let page = |d: &Path| {
        std::fs::read_to_string(d.join("report.html"))
            .unwrap()
            .replace(d.to_str().unwrap(), "DIR")
    };
    assert_eq!(page(dir), page(again_dir));

    // `faultline plot` redraws them from the JSON alone, byte for byte.
    let redrawn = scratch_dir("outage-replot");
    let out = faultline(&[
        "plot",
        path.to_str().unwrap(),
        "--out",
        redrawn.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in &names {
        let a = std::fs::read(dir.join("plots").join(name)).unwrap();
        let b = std::fs::read(redrawn.join("plots").join(name)).unwrap();
        assert!(a == b, "{name} differs when redrawn from report.json");
    }
}
