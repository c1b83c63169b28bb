//! The terminal summary: one row per metric with its mean and 95% confidence interval, at most
//! 100 columns wide.

use sim_core::summary::MetricSummary;
use std::fmt::Write;

/// A number with about six significant digits, without exponent noise for everyday magnitudes.
pub fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs();
    if x.fract() == 0.0 && magnitude < 1e12 {
        return format!("{x:.0}");
    }
    if (1e-3..1e9).contains(&magnitude) {
        let digits = (5 - magnitude.log10().floor() as i32).clamp(0, 8) as usize;
        let s = format!("{x:.digits$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        return s;
    }
    format!("{x:.4e}")
}

pub fn render_table(metrics: &[MetricSummary]) -> String {
    const NAME: usize = 44;
    let mut out = String::new();
    let _ = writeln!(out, "{:<NAME$} {:>14}  {:<36}", "metric", "mean", "95% CI");
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
        let _ = writeln!(out, "{name:<NAME$} {:>14}  {ci:<36}", format_number(m.mean));
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
}
