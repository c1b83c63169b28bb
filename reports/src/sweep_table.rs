//! A sweep's points as a table people read: one row per point with its parameter values, the
//! metrics the objective and constraints speak of (or a few headline metrics), whether the point
//! meets every constraint, and which points the objective chose. Printed by `faultline sweep` and
//! `merge`, and written as `sweep.html` with the sweep's plots.

use crate::html::{STYLE, escape};
use crate::number::format_number;
use crate::objective::{Constraint, column_value};
use crate::sweep::{SweepPlan, SweepPoint};
use crate::sweep_plots::HEADLINE;
use std::fmt::Write;

/// How many headline metrics a table shows when no objective names its own.
const DEFAULT_METRICS: usize = 3;

/// The most rows the terminal shows; `sweep.html` and `sweep.csv` have them all.
pub const MAX_TERMINAL_ROWS: usize = 40;

/// One point's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub id: String,
    /// Parameter values, in the plan's parameter order.
    pub params: Vec<String>,
    /// One value per metric column.
    pub values: Vec<Option<f64>>,
    /// Per constraint: whether the point meets it.
    pub constraints: Vec<bool>,
    pub chosen: bool,
}

/// The table of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepTable {
    pub parameters: Vec<String>,
    /// Metric columns (`name` or `name@ci95_low`).
    pub metrics: Vec<String>,
    /// The constraints as written.
    pub constraints: Vec<String>,
    pub rows: Vec<Row>,
}

/// Builds the table. `columns` are the objective's and constraints' metrics (empty: the first
/// few headline metrics the points have); `chosen` are the indices the objective chose.
pub fn sweep_table(
    plan: &SweepPlan,
    points: &[SweepPoint],
    columns: &[String],
    constraints: &[Constraint],
    chosen: &[usize],
) -> SweepTable {
    let metrics: Vec<String> = if columns.is_empty() {
        HEADLINE
            .iter()
            .filter(|m| points.iter().any(|p| p.metric(m).is_some()))
            .take(DEFAULT_METRICS)
            .map(|m| m.to_string())
            .collect()
    } else {
        columns.to_vec()
    };
    let rows = points
        .iter()
        .enumerate()
        .map(|(i, p)| Row {
            id: p.id.clone(),
            params: plan
                .parameters
                .iter()
                .map(|k| {
                    p.settings
                        .iter()
                        .find(|(n, _)| n == k)
                        .map_or(String::new(), |(_, v)| v.clone())
                })
                .collect(),
            values: metrics.iter().map(|m| column_value(p, m)).collect(),
            constraints: constraints.iter().map(|c| c.holds(p)).collect(),
            chosen: chosen.contains(&i),
        })
        .collect();
    SweepTable {
        parameters: plan.parameters.clone(),
        metrics,
        constraints: constraints.iter().map(|c| c.text().to_string()).collect(),
        rows,
    }
}

/// The last segment of a key path: `gateway.retry.max_attempts` → `max_attempts`.
fn short_name(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

fn cut(text: &str, width: usize) -> String {
    if text.chars().count() > width {
        let head: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{head}…")
    } else {
        text.to_string()
    }
}

impl Row {
    /// `yes` when every constraint holds, else the numbers (from 1) of those that fail.
    fn verdict(&self) -> String {
        let failed: Vec<String> = self
            .constraints
            .iter()
            .enumerate()
            .filter(|(_, ok)| !**ok)
            .map(|(i, _)| format!("#{}", i + 1))
            .collect();
        if failed.is_empty() {
            "yes".to_string()
        } else {
            format!("no {}", failed.join(","))
        }
    }
}

/// The terminal table, at most 100 columns: parameters by their last key segment, metric
/// columns that fit (the rest are in `sweep.csv`), a constraints column when there are
/// constraints, and `*` on the chosen points; a legend names each shortened column. At most
/// [`MAX_TERMINAL_ROWS`] rows, chosen points always among them.
pub fn render_sweep_table(t: &SweepTable) -> String {
    const WIDTH: usize = 100;
    const MAX_COL: usize = 22;
    let mut headers: Vec<String> = vec!["point".to_string()];
    let mut cells: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| vec![format!("{}{}", r.id, if r.chosen { " *" } else { "" })])
        .collect();
    let mut legend: Vec<String> = Vec::new();
    let mut push_column = |header: &str, full: &str, values: Vec<String>| {
        let header = cut(header, MAX_COL);
        if header != full {
            legend.push(format!("{header} = {full}"));
        }
        headers.push(header);
        for (row, v) in cells.iter_mut().zip(values) {
            row.push(cut(&v, MAX_COL));
        }
    };
    for (k, p) in t.parameters.iter().enumerate() {
        push_column(
            short_name(p),
            p,
            t.rows.iter().map(|r| r.params[k].clone()).collect(),
        );
    }
    for (k, m) in t.metrics.iter().enumerate() {
        push_column(
            m,
            m,
            t.rows
                .iter()
                .map(|r| r.values[k].map_or("—".to_string(), format_number))
                .collect(),
        );
    }
    if !t.constraints.is_empty() {
        push_column("meets", "meets", t.rows.iter().map(Row::verdict).collect());
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .chain([headers[c].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    // Keep the columns that fit, always the point and the constraints verdict.
    let last = headers.len() - 1;
    let mut shown: Vec<usize> = Vec::new();
    let mut used = 0;
    let reserve = if t.constraints.is_empty() {
        0
    } else {
        widths[last] + 2
    };
    for (c, &w) in widths.iter().enumerate() {
        let is_meets = !t.constraints.is_empty() && c == last;
        let need = w + if shown.is_empty() { 0 } else { 2 };
        if is_meets || used + need + if is_meets { 0 } else { reserve } <= WIDTH {
            shown.push(c);
            used += need;
        }
    }
    let omitted = headers.len() - shown.len();
    let line = |row: &[String]| {
        let mut s = String::new();
        for (n, &c) in shown.iter().enumerate() {
            if n > 0 {
                s.push_str("  ");
            }
            // Numbers and verdicts right of their parameters; text left.
            if c == 0 || c <= t.parameters.len() {
                let _ = write!(s, "{:<w$}", row[c], w = widths[c]);
            } else {
                let _ = write!(s, "{:>w$}", row[c], w = widths[c]);
            }
        }
        s.trim_end().to_string()
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(&headers));
    let _ = writeln!(out, "{}", "─".repeat(used.min(WIDTH)));
    let keep: Vec<usize> = if t.rows.len() <= MAX_TERMINAL_ROWS {
        (0..t.rows.len()).collect()
    } else {
        let mut k: Vec<usize> = (0..MAX_TERMINAL_ROWS).collect();
        k.extend((MAX_TERMINAL_ROWS..t.rows.len()).filter(|&i| t.rows[i].chosen));
        k
    };
    for &i in &keep {
        let _ = writeln!(out, "{}", line(&cells[i]));
    }
    if keep.len() < t.rows.len() {
        let n = t.rows.len() - keep.len();
        let _ = writeln!(
            out,
            "… {} more {} in sweep.html and sweep.csv",
            n,
            if n == 1 { "point" } else { "points" }
        );
    }
    for l in legend {
        let _ = writeln!(out, "{}", cut(&l, WIDTH));
    }
    for (i, c) in t.constraints.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}",
            cut(&format!("constraint #{}: {c}", i + 1), WIDTH)
        );
    }
    if t.rows.iter().any(|r| r.chosen) {
        let _ = writeln!(out, "* chosen by the objective");
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "({omitted} more {} in sweep.html and sweep.csv)",
            if omitted == 1 { "column" } else { "columns" }
        );
    }
    out
}

/// `sweep.html`: the plan, the whole table (chosen rows marked), and the sweep's plots (their
/// SVG text, in the order given).
pub fn render_sweep_html(
    plan: &SweepPlan,
    t: &SweepTable,
    objective: Option<&str>,
    figures: &[(String, String)],
) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>faultline sweep: {}</title>\n<style>{STYLE}tr.chosen td{{background:#e8f4ea;\
         font-weight:bold}}td.no{{color:#c62828}}</style>\n</head>\n<body>\n<h1>Sweep: {}</h1>\n",
        escape(&plan.name),
        escape(&plan.name)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} {} over {} ({}); fixed: {}</p>",
        t.rows.len(),
        if t.rows.len() == 1 { "point" } else { "points" },
        if plan.parameters.is_empty() {
            "no parameters".to_string()
        } else {
            escape(&plan.parameters.join(" × "))
        },
        escape(&plan.combine),
        if plan.fixed.is_empty() {
            "nothing".to_string()
        } else {
            escape(&plan.fixed.join(", "))
        }
    );
    if let Some(o) = objective {
        let chosen = t.rows.iter().filter(|r| r.chosen).count();
        let feasible = t
            .rows
            .iter()
            .filter(|r| r.constraints.iter().all(|&c| c))
            .count();
        let _ = writeln!(
            h,
            "<p>Objective <code>{}</code>: {feasible} of {} points meet the constraints; {chosen} \
             chosen (highlighted).</p>",
            escape(o),
            t.rows.len()
        );
    }
    if !t.constraints.is_empty() {
        h.push_str("<ol>\n");
        for c in &t.constraints {
            let _ = writeln!(h, "<li><code>{}</code></li>", escape(c));
        }
        h.push_str("</ol>\n");
    }
    h.push_str("<table>\n<thead><tr><th>point</th>");
    for p in &t.parameters {
        let _ = write!(h, "<th>{}</th>", escape(p));
    }
    for m in &t.metrics {
        let _ = write!(h, "<th>{}</th>", escape(m));
    }
    if !t.constraints.is_empty() {
        h.push_str("<th>meets constraints</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        let _ = write!(
            h,
            "<tr{}><td><a href=\"points/{}/report.json\">{}</a>{}</td>",
            if r.chosen { " class=\"chosen\"" } else { "" },
            escape(&r.id),
            escape(&r.id),
            if r.chosen { " ★" } else { "" }
        );
        for p in &r.params {
            let _ = write!(h, "<td>{}</td>", escape(p));
        }
        for v in &r.values {
            let _ = write!(
                h,
                "<td class=\"num\">{}</td>",
                v.map_or("—".to_string(), format_number)
            );
        }
        if !t.constraints.is_empty() {
            let v = r.verdict();
            let _ = write!(
                h,
                "<td{}>{}</td>",
                if v == "yes" { "" } else { " class=\"no\"" },
                escape(&v)
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    for (stem, svg) in figures {
        let _ = writeln!(
            h,
            "<figure id=\"plot-{}\">\n{}<figcaption>{}</figcaption>\n</figure>",
            escape(stem),
            svg.trim_start(),
            escape(stem)
        );
    }
    h.push_str("</body>\n</html>\n");
    h
}

#[cfg(test)]
#[path = "sweep_table_tests.rs"]
mod tests;
