//! `report.html`: one self-contained page per run. No scripts, no external assets (plots are
//! inline SVG), readable offline and in a mail attachment. The markup is also well-formed XML, so
//! a strict parser can check it. Every string that came from a scenario file (names,
//! descriptions, tenant and backend names inside metric names) passes through [`escape`].

use crate::number::format_number;
use crate::plot::run::{RunFigure, is_slo_figure};
use crate::report::Report;
use sim_core::summary::Interval;
use std::fmt::Write;

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Quotes a path for a POSIX shell when it needs it, so the rerun command can be pasted as is.
pub fn shell_quote(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./:=+@%,".contains(c));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

pub(crate) const STYLE: &str = "\
body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:2em auto;max-width:1000px;\
padding:0 1em;color:#222;background:#fff;line-height:1.4}\
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;\
margin-top:1.6em}table{border-collapse:collapse;font-size:.9em}\
th,td{padding:.25em .7em;border-bottom:1px solid #eee;text-align:left}\
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
th{background:#f3f3f3}figure{margin:1.2em 0}figure svg{max-width:100%;height:auto;\
border:1px solid #eee}figcaption{color:#555;font-size:.9em}\
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.85em}\
.meta{color:#555}.none{color:#555;font-style:italic}\
#headline{border:1px solid #ccc;background:#fafafa;padding:.2em 1em 1em}\
#headline h2{margin-top:.6em}.headline li{margin:.3em 0}.good{color:#1a7f37}.bad{color:#b42318}\
.flags li{color:#8a4b00}";

fn ci(c: Option<Interval>) -> String {
    match c {
        Some(c) => format!("[{}, {}]", format_number(c.low), format_number(c.high)),
        None => "—".to_string(),
    }
}

/// A scenario field shown in the header, if the canonical scenario has it as a string/number.
fn field(report: &Report, key: &str) -> Option<String> {
    match report.scenario.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn push_figure(h: &mut String, f: &RunFigure, svg: &str) {
    // plotters escapes every text and attribute it writes, so the SVG is safe to inline.
    let _ = writeln!(
        h,
        "<figure id=\"plot-{}\">\n{}<figcaption>{}</figcaption>\n</figure>",
        escape(f.stem),
        svg.trim_start(),
        escape(&f.caption)
    );
}

/// The headline at the top of the page: the verdicts in one line each, the scenario's key
/// figures and the diagnosis flags, the same words as the terminal's.
fn headline(h: &mut String, report: &Report) {
    h.push_str("<section id=\"headline\">\n<h2>Headline</h2>\n<ul class=\"headline\">\n");
    let slos = crate::headline::slo_texts(report);
    if slos.is_empty() {
        h.push_str("<li class=\"none\">No SLOs defined.</li>\n");
    }
    for (word, text, alerts) in &slos {
        let class = if word.contains("MISSED") || word == "AT RISK" {
            "bad"
        } else {
            "good"
        };
        let _ = write!(
            h,
            "<li><strong class=\"{class}\">{}</strong> {}",
            escape(word),
            escape(text)
        );
        if let Some(a) = alerts {
            let _ = write!(h, "; {}", escape(a));
        }
        h.push_str("</li>\n");
    }
    for j in crate::journal::journals(&report.metrics) {
        let class = if j.word() == "RAN" { "good" } else { "bad" };
        let short = j.short().replace('\n', "; ");
        let _ = writeln!(
            h,
            "<li><strong class=\"{class}\">{}</strong> {}</li>",
            escape(j.word()),
            escape(short.trim_start_matches(j.word()).trim())
        );
    }
    if let Some(c) = crate::journal::render_cost_guard(&report.metrics) {
        let _ = writeln!(h, "<li>{}</li>", escape(&c));
    }
    h.push_str("</ul>\n");
    let figures = crate::headline::key_figures(report);
    if !figures.is_empty() {
        h.push_str(
            "<table class=\"key\">\n<tr><th>key figure</th><th>mean</th><th>95% CI</th>\
             <th>unit</th></tr>\n",
        );
        for (name, row) in &figures {
            match row {
                Some((mean, ci, unit)) => {
                    let _ = writeln!(
                        h,
                        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                         <td>{}</td></tr>",
                        escape(name),
                        escape(mean),
                        escape(ci),
                        escape(unit)
                    );
                }
                None => {
                    let _ = writeln!(
                        h,
                        "<tr><td>{}</td><td colspan=\"3\" class=\"none\">not produced by \
                         this run</td></tr>",
                        escape(name)
                    );
                }
            }
        }
        h.push_str("</table>\n");
    }
    let flags = crate::headline::flags(report);
    if !flags.is_empty() {
        h.push_str("<ul class=\"flags\">\n");
        for f in &flags {
            let _ = writeln!(h, "<li>⚠ {}</li>", escape(f));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}

/// The page for `report`, with `figures` (and their SVG text) and the command that reruns it.
pub fn render_html(
    report: &Report,
    figures: &[(RunFigure, String)],
    rerun_command: &str,
) -> String {
    let mut h = String::new();
    let name = escape(&report.name);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n\
         <title>faultline report: {name}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>faultline report: {name}</h1>\n"
    );
    if let Some(d) = field(report, "description") {
        let _ = writeln!(h, "<p>{}</p>", escape(&d));
    }
    let horizon = field(report, "horizon").unwrap_or_else(|| "?".into());
    let warmup = field(report, "warmup").unwrap_or_else(|| "0s".into());
    let _ = writeln!(
        h,
        "<p class=\"meta\">{} replications × {} (warm-up {}), seed {}; {} {}; results digest \
         <code>{}</code></p>",
        report.replications,
        escape(&horizon),
        escape(&warmup),
        report.seed,
        escape(&report.tool.name),
        escape(&report.tool.version),
        escape(&report.results_digest)
    );

    headline(&mut h, report);
    // Without SLOs there is no verdict section: the headline says "No SLOs defined".
    let verdicts = crate::headline::slo_texts(report);
    let slo_figures = figures.iter().any(|(f, _)| is_slo_figure(f.stem));
    if !verdicts.is_empty() || slo_figures {
        h.push_str("<section id=\"slos\">\n<h2>SLO verdicts</h2>\n");
    }
    if !verdicts.is_empty() {
        h.push_str("<ul class=\"verdicts\">\n");
        for (word, text, alerts) in &verdicts {
            let _ = write!(h, "<li><strong>{}</strong> {}", escape(word), escape(text));
            if let Some(a) = alerts {
                let _ = write!(h, "<br/>{}", escape(a));
            }
            h.push_str("</li>\n");
        }
        h.push_str("</ul>\n");
    }
    // The SLO charts (budget and burn rate over time) belong with the verdicts they explain.
    for (f, svg) in figures.iter().filter(|(f, _)| is_slo_figure(f.stem)) {
        push_figure(&mut h, f, svg);
    }
    if !verdicts.is_empty() || slo_figures {
        h.push_str("</section>\n");
    }

    // Chaos journals and the cost guard, briefly; the numbers are in the metrics below.
    let journals = crate::journal::render_journals(&report.metrics);
    if !journals.is_empty() {
        h.push_str("<section id=\"chaos\">\n<h2>Chaos experiments and cost guard</h2>\n<pre>");
        h.push_str(&escape(&journals));
        h.push_str("</pre>\n</section>\n");
    }

    h.push_str("<section id=\"metrics\">\n<h2>Metrics</h2>\n");
    h.push_str(
        "<p class=\"meta\">Mean across replications with Student-t confidence intervals; \
         measured after the warm-up. — marks a value that does not exist.</p>\n",
    );
    h.push_str(
        "<table>\n<thead><tr><th>metric</th><th>mean</th><th>95% CI</th><th>99% CI</th>\
         </tr></thead>\n<tbody>\n",
    );
    // Grouped by section as in the terminal; a section of nothing but zeros is left out.
    let all: Vec<&sim_core::summary::MetricSummary> = report.metrics.iter().collect();
    for (section, rows) in crate::table::sections(&all, false) {
        let _ = writeln!(
            h,
            "<tr class=\"section\"><th colspan=\"4\">{}</th></tr>",
            escape(section.title())
        );
        for m in rows {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td></tr>",
                escape(&m.name),
                escape(&format_number(m.mean)),
                escape(&ci(m.ci95)),
                escape(&ci(m.ci99))
            );
        }
    }
    h.push_str("</tbody>\n</table>\n</section>\n");

    // A run with nothing else to plot has no plots section.
    let mut others = figures
        .iter()
        .filter(|(f, _)| !is_slo_figure(f.stem))
        .peekable();
    if others.peek().is_some() {
        h.push_str("<section id=\"plots\">\n<h2>Plots</h2>\n");
        for (f, svg) in others {
            push_figure(&mut h, f, svg);
        }
        h.push_str("</section>\n");
    }

    let scenario =
        serde_json::to_string_pretty(&report.scenario).unwrap_or_else(|_| "null".to_string());
    let _ = write!(
        h,
        "<section id=\"scenario\">\n<h2>Scenario</h2>\n<p class=\"meta\">Canonical: every \
         default filled in, every override applied.</p>\n<pre>{}</pre>\n</section>\n",
        escape(&scenario)
    );
    let _ = write!(
        h,
        "<section id=\"rerun\">\n<h2>Rerun</h2>\n<p class=\"meta\">Reproduces these results \
         exactly (same digest) on any machine and thread count:</p>\n<pre>{}</pre>\n</section>\n",
        escape(rerun_command)
    );
    h.push_str("</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::run_figures;
    use sim_core::series::{BucketGrid, CdfSummary, SeriesStat, SeriesSummary, cdf_levels};
    use sim_core::summary::MetricSummary;

    const EVIL: &str = "<script>alert(1)</script>";

    fn evil_report() -> Report {
        let scenario = serde_json::json!({
            "description": format!("desc {EVIL} & 'quotes' \"double\""),
            "horizon": "1h",
            "tenants": [{"name": EVIL}],
        });
        let metrics = vec![MetricSummary {
            name: format!("tenant.{EVIL}.latency_p99_s"),
            mean: 1.5,
            ci95: Some(Interval {
                low: 1.0,
                high: 2.0,
            }),
            ci99: None,
            per_replication: vec![1.0, 2.0],
        }];
        let grid = BucketGrid::for_window(0, 3_600_000_000_000);
        let n = grid.len();
        let series = SeriesSummary {
            grid,
            series: vec![SeriesStat {
                name: format!("backend.{EVIL}.utilisation"),
                mean: vec![0.5; n],
                ci95_half_width: vec![0.1; n],
                peak: None,
            }],
        };
        let levels = cdf_levels();
        let cdf = CdfSummary {
            distributions: vec![SeriesStat {
                name: format!("tenant.{EVIL}"),
                mean: levels.iter().map(|q| q * 2.0).collect(),
                ci95_half_width: vec![f64::NAN; levels.len()],
                peak: None,
            }],
            levels,
        };
        Report::new(EVIL, 1, 2, scenario, metrics).with_series(Some(series), Some(cdf))
    }

    fn page() -> String {
        let report = evil_report();
        let figures: Vec<_> = run_figures(&report)
            .into_iter()
            .map(|f| {
                let svg = crate::plot::render_svg(&f.figure).unwrap();
                (f, svg)
            })
            .collect();
        assert_eq!(figures.len(), 2, "a CDF and a utilisation chart");
        render_html(
            &report,
            &figures,
            &format!("faultline rerun {}", shell_quote(EVIL)),
        )
    }

    /// Text of every node, for looking at what a reader would see.
    fn all_text(doc: &roxmltree::Document) -> String {
        doc.descendants()
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn page_is_well_formed_and_escapes_scenario_strings() {
        let html = page();
        assert!(html.starts_with("<!DOCTYPE html>\n"));
        // The page is XML-well-formed after the doctype: a strict parser accepts it whole.
        let body = html.trim_start_matches("<!DOCTYPE html>\n");
        let doc = roxmltree::Document::parse(body).expect("report.html is well-formed");
        assert_eq!(doc.root_element().tag_name().name(), "html");
        // No element named script anywhere, inline SVG included, and no raw occurrence.
        assert!(doc.descendants().all(|n| n.tag_name().name() != "script"));
        assert!(!html.contains("<script"), "unescaped tag in the page");
        // The string is still there for the reader, as text: in the title, the table, the
        // legend of the plots, the scenario and the rerun command.
        let text = all_text(&doc);
        assert!(text.matches(EVIL).count() >= 5, "{text}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // Order: SLO verdicts before metrics before plots before scenario before rerun.
        let pos = |id: &str| html.find(&format!("<section id=\"{id}\">")).unwrap();
        assert!(pos("headline") < pos("metrics"));
        // No SLOs: the headline says so, and there is no empty verdict section.
        assert!(!html.contains("<section id=\"slos\">"));
        assert!(pos("metrics") < pos("plots"));
        assert!(pos("plots") < pos("scenario"));
        assert!(pos("scenario") < pos("rerun"));
        assert!(html.contains("No SLOs defined."));
        // Self-contained: nothing is fetched.
        for needle in ["src=", "href=", "url(", "@import"] {
            assert!(!html.contains(needle), "external reference `{needle}`");
        }
        assert_eq!(page(), html, "deterministic bytes");
    }

    /// The metrics table is grouped by section as in the terminal, and a run without calls has
    /// no `calls` section of zeros.
    #[test]
    fn the_metrics_table_leaves_out_a_section_of_zeros() {
        let m = |name: &str, v: f64| MetricSummary {
            name: name.to_string(),
            mean: v,
            ci95: None,
            ci99: None,
            per_replication: vec![v, v],
        };
        let scenario = serde_json::json!({ "horizon": "1h" });
        let metrics = vec![
            m("arrivals", 0.0),
            m("latency_p99_s", 0.0),
            m("workflow.w.succeeded", 7.0),
        ];
        let html = render_html(&Report::new("z", 1, 2, scenario.clone(), metrics), &[], "x");
        assert!(!html.contains("<th colspan=\"4\">calls</th>"), "{html}");
        assert!(!html.contains("<td>arrivals</td>"), "{html}");
        // Nothing to plot, no SLOs: neither section is there, empty.
        assert!(!html.contains("<section id=\"plots\">"), "{html}");
        assert!(!html.contains("<section id=\"slos\">"), "{html}");
        assert!(html.contains("No SLOs defined."), "{html}");
        assert!(html.contains("<td>workflow.w.succeeded</td>"), "{html}");
        let metrics = vec![m("arrivals", 5.0), m("workflow.w.succeeded", 7.0)];
        let html = render_html(&Report::new("z", 1, 2, scenario, metrics), &[], "x");
        let calls = html
            .find("<th colspan=\"4\">calls</th>")
            .expect("calls heading");
        assert!(calls < html.find("<td>arrivals</td>").unwrap(), "{html}");
    }

    #[test]
    fn escape_and_quote() {
        assert_eq!(
            escape(r#"a<b>&"c"'d'"#),
            "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;"
        );
        assert_eq!(shell_quote("out/x/report.json"), "out/x/report.json");
        assert_eq!(shell_quote("it's here"), r"'it'\''s here'");
    }
}
