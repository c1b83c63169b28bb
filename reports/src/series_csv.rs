//! `series.csv`: the report's time series as one table, for pandas and spreadsheets. One row per
//! bucket, one column per series (its mean across replications); the first column, `time_s`, is
//! the bucket's start in seconds of virtual time. The 95% half-widths stay in `report.json`.

use sim_core::series::SeriesSummary;

/// The name of the first column: each bucket's start, in seconds.
pub const TIME_COLUMN: &str = "time_s";

/// The CSV text of `series`: a header (`time_s`, then the series in the report's order) and one
/// row per bucket. Numbers are in shortest round-trip form, so they read back to the very
/// values `report.json` holds; a value that does not exist (`null` in the report) is empty.
pub fn render_series_csv(series: &SeriesSummary) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = std::iter::once(TIME_COLUMN).chain(series.series.iter().map(|s| s.name.as_str()));
    w.write_record(header).expect("writing to memory");
    for i in 0..series.grid.len() {
        let start = series.grid.bucket_start(i) as f64 / 1e9;
        let row = std::iter::once(format!("{start}")).chain(series.series.iter().map(|s| {
            match s.mean.get(i) {
                Some(x) if x.is_finite() => format!("{x}"),
                _ => String::new(),
            }
        }));
        w.write_record(row).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 fields")
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::series::{BucketGrid, SeriesStat};

    fn summary() -> SeriesSummary {
        SeriesSummary {
            // 2.5 s of window in 1 s buckets: the last one is partial.
            grid: BucketGrid {
                start: 500_000_000,
                end: 3_000_000_000,
                width: 1_000_000_000,
            },
            series: vec![
                SeriesStat {
                    name: "throughput_per_s".into(),
                    mean: vec![1.5, 0.1 + 0.2, 7.0],
                    ci95_half_width: vec![0.0; 3],
                    peak: None,
                },
                SeriesStat {
                    name: "backend.a,\"b\".utilisation".into(),
                    mean: vec![f64::NAN, 0.25, f64::INFINITY],
                    ci95_half_width: vec![0.0; 3],
                    peak: None,
                },
            ],
        }
    }

    #[test]
    fn one_row_per_bucket_with_start_times_and_quoted_names() {
        let text = render_series_csv(&summary());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "time_s,throughput_per_s,\"backend.a,\"\"b\"\".utilisation\"",
                "0.5,1.5,",
                "1.5,0.30000000000000004,0.25",
                "2.5,7,",
            ]
        );
    }

    #[test]
    fn an_empty_window_has_only_the_header() {
        let mut s = summary();
        s.grid.end = s.grid.start;
        assert_eq!(
            render_series_csv(&s),
            "time_s,throughput_per_s,\"backend.a,\"\"b\"\".utilisation\"\n"
        );
    }
}
