//! `series.csv` beside report.json: the same series, bucket for bucket, in a table any CSV
//! reader takes.

mod common;
use common::{faultline, run_report, scratch_dir};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small.toml");

/// Reads `series.csv` with the `csv` crate and checks it against the report's `series`: the
/// columns are `time_s` and the series in the report's order, one row per bucket starting at
/// `start_ns + i * bucket_width_ns`, and every cell the series' mean (empty where it is null).
fn assert_csv_matches_report(dir: &std::path::Path, report: &serde_json::Value) {
    let series = &report["series"];
    let values = series["values"].as_object().expect("the run has series");
    let mut reader = csv::Reader::from_path(dir.join("series.csv")).expect("series.csv written");
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(header[0], "time_s");
    // Compare the names as sets, then their order against the report's text (a JSON map read
    // into a `Value` may not keep it).
    let mut names: Vec<&String> = values.keys().collect();
    names.sort();
    let mut columns: Vec<&String> = header[1..].iter().collect();
    columns.sort();
    assert_eq!(columns, names, "one column per series");
    let raw = std::fs::read_to_string(dir.join("report.json")).unwrap();
    let section = &raw[raw.find("\"series\": {").expect("a series section")..];
    let positions: Vec<usize> = header[1..]
        .iter()
        .map(|n| {
            section
                .find(&format!("\"{n}\": {{"))
                .expect("series in report.json")
        })
        .collect();
    assert!(
        positions.is_sorted(),
        "columns follow the report's order of series"
    );

    let start = series["start_ns"].as_u64().unwrap();
    let end = series["end_ns"].as_u64().unwrap();
    let width = series["bucket_width_ns"].as_u64().unwrap();
    let buckets = (end - start).div_ceil(width) as usize;
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), buckets, "one row per bucket");
    let mut cells = 0;
    for (i, row) in rows.iter().enumerate() {
        let t: f64 = row[0].parse().unwrap();
        assert_eq!(t, (start + i as u64 * width) as f64 / 1e9, "row {i}");
        for (k, name) in header[1..].iter().enumerate() {
            let want = &values[name]["mean"][i];
            let cell = &row[k + 1];
            if want.is_null() {
                assert_eq!(cell, "", "{name} at row {i}");
            } else {
                let got: f64 = cell.parse().unwrap();
                assert_eq!(got, want.as_f64().unwrap(), "{name} at row {i}");
                cells += 1;
            }
        }
    }
    assert!(cells > buckets, "the table holds values, not only blanks");
}

#[test]
fn series_csv_parses_and_holds_the_reports_series() {
    let (report, path) = run_report(FIXTURE, &[]);
    let dir = path.parent().unwrap();
    assert!(
        report["series"]["values"].as_object().unwrap().len() >= 4,
        "the fixture has throughput, goodput, errors, queue and utilisation series"
    );
    assert_csv_matches_report(dir, &report);

    // `faultline plot` writes the same table from the JSON alone.
    let again = scratch_dir("replot-series");
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
    assert_eq!(
        std::fs::read(dir.join("series.csv")).unwrap(),
        std::fs::read(again.join("series.csv")).unwrap()
    );
}

#[test]
fn an_llm_example_with_slos_writes_every_series() {
    let (report, path) = run_report(
        "example:slo-burn-alerts",
        &["--replications", "2", "--set", "horizon=2h"],
    );
    assert_csv_matches_report(path.parent().unwrap(), &report);
}
