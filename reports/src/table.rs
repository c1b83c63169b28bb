//! The terminal summary: SLO verdicts first, then one row per metric with its mean and 95%
//! confidence interval, at most 100 columns wide; and the same metrics as CSV for scripts.

use crate::number::format_number;
use sim_core::summary::MetricSummary;
use std::fmt::Write;

pub fn render_table(metrics: &[MetricSummary]) -> String {
    const NAME: usize = 44;
    let mut out = String::new();
    let _ = writeln!(out, "{:<NAME$} {:>14}  95% CI", "metric", "mean");
    let _ = writeln!(out, "{}", "─".repeat(NAME + 1 + 14 + 2 + 36));
    for m in metrics {
        let name = if m.name.chars().count() > NAME {
            let cut: String = m.name.chars().take(NAME - 1).collect();
            format!("{cut}…")
        } else {
            m.name.clone()
        };
        let ci = match m.ci95 {
            Some(c) => format!("[{}, {}]", format_number(c.low), format_number(c.high)),
            None => "—".to_string(),
        };
        let _ = writeln!(out, "{name:<NAME$} {:>14}  {ci}", format_number(m.mean));
    }
    out
}

/// The summary `faultline run` prints: the SLO line first (a reader's first question is "did
/// we meet them"), then the metrics table. Every line fits 100 columns.
pub fn render_summary(metrics: &[MetricSummary]) -> String {
    let mut out = crate::verdict::render_verdicts(metrics);
    out.push_str(&crate::alerts::render_unarmed(metrics));
    out.push_str(&crate::journal::render_journals(metrics));
    out.push('\n');
    out.push_str(&render_table(metrics));
    out
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180): metric names
/// carry tenant and backend names, which may hold anything.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// One row per metric: `name,mean,ci95_low,ci95_high,ci99_low,ci99_high`, numbers at full
/// precision (shortest round-trip form), empty where a value does not exist.
pub fn render_csv(metrics: &[MetricSummary]) -> String {
    let num = |x: Option<f64>| match x {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    };
    let mut out = String::from("name,mean,ci95_low,ci95_high,ci99_low,ci99_high\n");
    for m in metrics {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{}",
            csv_field(&m.name),
            num(Some(m.mean)),
            num(m.ci95.map(|c| c.low)),
            num(m.ci95.map(|c| c.high)),
            num(m.ci99.map(|c| c.low)),
            num(m.ci99.map(|c| c.high)),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim_core::summary::Interval;

    #[test]
    fn numbers_are_short_and_readable() {
        assert_eq!(format_number(4.0), "4");
        assert_eq!(format_number(0.745541234), "0.745541");
        assert_eq!(format_number(1234.56789), "1234.57");
        assert_eq!(format_number(f64::NAN), "—");
        assert_eq!(format_number(1.5e-7), "1.5000e-7");
    }

    #[test]
    fn table_layout_fits_100_columns() {
        let m = MetricSummary {
            name: "tenant.a-very-long-tenant-name-indeed.time_in_system_mean_s".to_string(),
            mean: 1.745541,
            ci95: Some(Interval {
                low: 1.70001,
                high: 1.79999,
            }),
            ci99: None,
            per_replication: vec![],
        };
        let table = render_table(&[m]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        for line in &lines {
            assert!(line.chars().count() <= 100, "{line}");
        }
        assert_eq!(
            lines[2].trim_end(),
            "tenant.a-very-long-tenant-name-indeed.time_…        1.74554  [1.70001, 1.79999]"
        );
    }

    fn synthetic() -> Vec<MetricSummary> {
        let m = |name: &str, mean: f64, ci: Option<(f64, f64)>| MetricSummary {
            name: name.to_string(),
            mean,
            ci95: ci.map(|(low, high)| Interval { low, high }),
            ci99: ci.map(|(low, high)| Interval {
                low: low - 1.0,
                high: high + 1.0,
            }),
            per_replication: vec![],
        };
        vec![
            m("arrivals", 35_961.0, Some((35_800.5, 36_121.5))),
            m("success_ratio", 0.999_96, Some((0.999_92, 1.000_003))),
            m("latency_p99_s", f64::NAN, None),
            m(
                "tenant.a,b \"quoted\".latency_p99_s",
                8.25,
                Some((7.5, 9.0)),
            ),
            m(
                "backend.x.utilisation",
                0.000_012_34,
                Some((1.5e-7, 2.5e-5)),
            ),
        ]
    }

    /// The layout people read every day: a change to it should be a decision, not an accident.
    #[test]
    fn summary_snapshot() {
        let expected = "\
SLOs: none defined

metric                                                 mean  95% CI
─────────────────────────────────────────────────────────────────────────────────────────────────
arrivals                                              35961  [35800.5, 36121.5]
success_ratio                                       0.99996  [0.99992, 1]
latency_p99_s                                             —  —
tenant.a,b \"quoted\".latency_p99_s                      8.25  [7.5, 9]
backend.x.utilisation                             1.2340e-5  [1.5000e-7, 2.5000e-5]
";
        let got = render_summary(&synthetic());
        assert_eq!(got, expected, "\n{got}");
        assert!(got.lines().all(|l| l.chars().count() <= 100));
    }

    #[test]
    fn csv_rows_are_exact_and_quoted() {
        let csv = render_csv(&synthetic());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines[0], "name,mean,ci95_low,ci95_high,ci99_low,ci99_high");
        assert_eq!(lines[1], "arrivals,35961,35800.5,36121.5,35799.5,36122.5");
        assert_eq!(lines[3], "latency_p99_s,,,,,");
        assert_eq!(
            lines[4],
            "\"tenant.a,b \"\"quoted\"\".latency_p99_s\",8.25,7.5,9,6.5,10"
        );
        assert_eq!(lines.len(), 6);
    }
}
