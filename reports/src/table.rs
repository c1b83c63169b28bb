//! The terminal summary: the headline first, then one row per metric with its mean and 95%
//! confidence interval, grouped by section, at most 100 columns wide; and the same metrics as
//! CSV for scripts.

use crate::number::format_number;
use crate::report::Report;
use sim_core::definitions::{self, Section};
use sim_core::summary::MetricSummary;
use std::fmt::Write;

/// Names up to this many columns share their row with the numbers; a longer name gets a line
/// of its own, whole, with the numbers on the next (2 + 44 + 1 + 14 + 2 + at most 26 for the
/// interval stays within 100 columns).
const NAME: usize = 44;

/// Whether `name` passes `--metrics` (no patterns: every metric).
pub fn selected(name: &str, patterns: &[String]) -> bool {
    patterns.is_empty()
        || patterns
            .iter()
            .any(|p| sim_core::definitions::glob_match(p, name))
}

/// Whether a metric holds nothing: zero or no value in every replication (a gateway that saw
/// no call still counts its arrivals, outcomes and latencies, all zero).
pub fn is_empty_metric(m: &MetricSummary) -> bool {
    let nothing = |v: f64| v == 0.0 || !v.is_finite();
    if m.per_replication.is_empty() {
        nothing(m.mean)
    } else {
        m.per_replication.iter().all(|&v| nothing(v))
    }
}

/// `metrics` grouped by section, in [`Section::ALL`]'s order and report order within each.
/// A section whose every metric holds nothing ([`is_empty_metric`]) is left out, so a run
/// without LLM calls prints no `calls` section of zeros; unless `keep_empty`, which a
/// `--metrics` filter asks for (what was asked for is shown).
pub fn sections<'a>(
    metrics: &[&'a MetricSummary],
    keep_empty: bool,
) -> Vec<(Section, Vec<&'a MetricSummary>)> {
    let out: Vec<_> = Section::ALL
        .into_iter()
        .filter_map(|section| {
            let rows: Vec<&MetricSummary> = metrics
                .iter()
                .copied()
                .filter(|m| definitions::section(&m.name) == section)
                .collect();
            let shown =
                !rows.is_empty() && (keep_empty || !rows.iter().all(|m| is_empty_metric(m)));
            shown.then_some((section, rows))
        })
        .collect();
    // A run of nothing but zeros still shows them rather than an empty table.
    if out.is_empty() && !keep_empty {
        return sections(metrics, true);
    }
    out
}

/// One row per metric with its mean and 95% interval, grouped by section (calls, tenants,
/// backends and routes, GPU pools, SLOs, chaos, cost) in report order within each, at most 100
/// columns wide; only the metrics `patterns` select (`*` and `?` wildcards; none: all, but
/// not a section of nothing but zeros).
pub fn render_table(metrics: &[MetricSummary], patterns: &[String]) -> String {
    let mut out = String::new();
    let chosen: Vec<&MetricSummary> = metrics
        .iter()
        .filter(|m| selected(&m.name, patterns))
        .collect();
    if chosen.is_empty() {
        let _ = writeln!(out, "no metric matches {}", patterns.join(", "));
        return out;
    }
    for (section, rows) in sections(&chosen, !patterns.is_empty()) {
        if !out.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "{:<w$} {:>14}  95% CI",
            section.title(),
            "mean",
            w = NAME + 2
        );
        let _ = writeln!(out, "{}", "─".repeat(NAME + 2 + 1 + 14 + 2 + 26));
        for m in rows {
            let ci = match m.ci95 {
                Some(c) => format!("[{}, {}]", format_number(c.low), format_number(c.high)),
                None => "—".to_string(),
            };
            let numbers = format!("{:>14}  {ci}", format_number(m.mean));
            if m.name.chars().count() > NAME {
                let _ = writeln!(out, "  {}", m.name);
                let _ = writeln!(out, "  {:<NAME$} {numbers}", "");
            } else {
                let _ = writeln!(out, "  {:<NAME$} {numbers}", m.name);
            }
        }
    }
    out
}

/// The summary `faultline run` prints: the headline first (verdicts, chaos journals, key
/// figures, flags: what the run found), then the metrics table, filtered by `patterns`. Every
/// line fits 100 columns.
pub fn render_summary(report: &Report, patterns: &[String]) -> String {
    let mut out = crate::headline::render_headline(report);
    out.push('\n');
    out.push_str(&render_table(&report.metrics, patterns));
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
pub fn render_csv(metrics: &[MetricSummary], patterns: &[String]) -> String {
    let num = |x: Option<f64>| match x {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => String::new(),
    };
    let mut out = String::from("name,mean,ci95_low,ci95_high,ci99_low,ci99_high\n");
    for m in metrics.iter().filter(|m| selected(&m.name, patterns)) {
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
    fn a_long_name_gets_its_own_line_whole() {
        let name = "tenant.a-very-long-tenant-name-indeed.time_in_system_mean_s";
        let m = MetricSummary {
            name: name.to_string(),
            mean: 1.745541,
            ci95: Some(Interval {
                low: 1.70001,
                high: 1.79999,
            }),
            ci99: None,
            per_replication: vec![],
        };
        let table = render_table(&[m], &[]);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table}");
        assert!(lines[0].starts_with("tenants "), "{table}");
        for line in &lines {
            assert!(line.chars().count() <= 100, "{line}");
        }
        assert_eq!(lines[2], format!("  {name}"));
        assert_eq!(lines[3].trim(), "1.74554  [1.70001, 1.79999]");
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
    fn table_snapshot() {
        let expected = "\
calls                                                    mean  95% CI
─────────────────────────────────────────────────────────────────────────────────────────
  arrivals                                              35961  [35800.5, 36121.5]
  success_ratio                                       0.99996  [0.99992, 1]
  latency_p99_s                                             —  —

tenants                                                  mean  95% CI
─────────────────────────────────────────────────────────────────────────────────────────
  tenant.a,b \"quoted\".latency_p99_s                      8.25  [7.5, 9]

backends and routes                                      mean  95% CI
─────────────────────────────────────────────────────────────────────────────────────────
  backend.x.utilisation                             1.2340e-5  [1.5000e-7, 2.5000e-5]
";
        let got = render_table(&synthetic(), &[]);
        assert_eq!(got, expected, "\n{got}");
        assert!(got.lines().all(|l| l.chars().count() <= 100));
    }

    #[test]
    fn patterns_choose_rows() {
        let only = |p: &[&str]| {
            let p: Vec<String> = p.iter().map(|s| s.to_string()).collect();
            render_csv(&synthetic(), &p)
                .lines()
                .skip(1)
                .map(|l| l.split(',').next().unwrap_or("").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(only(&["*p99*"]), vec!["latency_p99_s", "\"tenant.a"]);
        assert_eq!(
            only(&["arrivals", "backend.*"]),
            vec!["arrivals", "backend.x.utilisation"]
        );
        assert!(only(&["nothing"]).is_empty());
        let table = render_table(&synthetic(), &["nothing".to_string()]);
        assert_eq!(table, "no metric matches nothing\n");
    }

    /// A run without LLM calls (a workflow of batch jobs) has a `calls` section of zeros: it is
    /// left out, the sections with something in them stay, and asking for the rows by name
    /// shows them.
    #[test]
    fn a_section_of_nothing_but_zeros_is_not_printed() {
        let m = |name: &str, reps: &[f64]| MetricSummary {
            name: name.to_string(),
            mean: reps.iter().sum::<f64>() / reps.len() as f64,
            ci95: None,
            ci99: None,
            per_replication: reps.to_vec(),
        };
        let metrics = vec![
            m("arrivals", &[0.0, 0.0]),
            m("success_ratio", &[f64::NAN, f64::NAN]),
            m("latency_p99_s", &[0.0, 0.0]),
            m("backend.x.utilisation", &[0.0, 0.25]),
            m("backend.x.attempts", &[0.0, 0.0]),
        ];
        let table = render_table(&metrics, &[]);
        assert!(!table.lines().any(|l| l.starts_with("calls")), "{table}");
        assert!(!table.contains("arrivals"), "{table}");
        assert!(table.starts_with("backends and routes "), "{table}");
        // A section keeps its zero rows when some row has a value.
        assert!(table.contains("  backend.x.attempts "), "{table}");
        let asked = render_table(&metrics, &["arrivals".to_string()]);
        assert!(asked.starts_with("calls "), "{asked}");
        assert!(asked.contains("  arrivals "), "{asked}");
        // Nothing but zeros anywhere: shown rather than an empty table.
        let all_zero = render_table(&metrics[..3], &[]);
        assert!(all_zero.starts_with("calls "), "{all_zero}");
        assert!(is_empty_metric(&m("a", &[0.0, f64::NAN])));
        assert!(!is_empty_metric(&m("a", &[0.0, -1.0])));
        assert!(is_empty_metric(&MetricSummary {
            per_replication: vec![],
            ..m("a", &[0.0])
        }));
        assert!(!is_empty_metric(&MetricSummary {
            per_replication: vec![],
            ..m("a", &[2.0])
        }));
    }

    #[test]
    fn csv_rows_are_exact_and_quoted() {
        let csv = render_csv(&synthetic(), &[]);
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
