//! `compare.html`: a comparison on one self-contained page, beside the arms' reports. The same
//! tables as the terminal (means, change in percent, the interval of the paired difference,
//! variance reduction, better or worse by the metric's direction), each arm's SLO verdicts, the
//! bar chart of the headline changes, and links to every arm's report.

use crate::html::{STYLE, escape};
use crate::number::format_number;
use crate::paired::{Judgement, PairedDifference, percent};
use std::fmt::Write;

/// One arm as the page lists it.
pub struct ArmLink {
    pub label: String,
    /// Its `report.json`, relative to the page.
    pub report: String,
}

/// One variant compared with the baseline.
pub struct VariantSection<'a> {
    pub arm: ArmLink,
    pub diffs: &'a [PairedDifference],
    /// The chart of headline changes, as SVG text, if one was drawn.
    pub chart_svg: Option<String>,
}

/// An SLO verdict line of one arm: `(arm, verdict word, rest of the line)`.
pub type SloLine = (String, String, String);

fn class(j: Judgement) -> &'static str {
    match j {
        Judgement::Better => " class=\"better\"",
        Judgement::Worse => " class=\"worse\"",
        _ => "",
    }
}

/// The page. `summary` is the run line (arms, replications, random numbers).
pub fn render_compare_html(
    summary: &str,
    baseline: &ArmLink,
    slos: &[SloLine],
    variants: &[VariantSection<'_>],
) -> String {
    let mut h = String::new();
    h.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n\
         <title>faultline comparison</title>\n<style>",
    );
    h.push_str(STYLE);
    h.push_str("td.better{color:#1a7f37;font-weight:bold}td.worse{color:#c62828;font-weight:bold}");
    h.push_str("</style>\n</head>\n<body>\n<h1>Comparison</h1>\n");
    let _ = writeln!(h, "<p class=\"meta\">{}</p>", escape(summary));
    let _ = writeln!(
        h,
        "<p>Baseline: <strong>{}</strong> (<a href=\"{}\">report</a>)</p>",
        escape(&baseline.label),
        escape(&baseline.report)
    );
    h.push_str("<section id=\"slos\">\n<h2>SLO verdicts</h2>\n");
    if slos.is_empty() {
        h.push_str("<p class=\"none\">No SLOs defined in these scenarios.</p>\n");
    } else {
        h.push_str("<ul>\n");
        for (arm, word, rest) in slos {
            let _ = writeln!(
                h,
                "<li><strong>{}</strong> in {}: {}</li>",
                escape(word),
                escape(arm),
                escape(rest)
            );
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
    for (k, v) in variants.iter().enumerate() {
        let _ = writeln!(
            h,
            "<section id=\"variant-{}\">\n<h2>{} vs baseline</h2>\n<p><a href=\"{}\">report</a></p>",
            k + 1,
            escape(&v.arm.label),
            escape(&v.arm.report)
        );
        if let Some(svg) = &v.chart_svg {
            let _ = writeln!(
                h,
                "<figure>\n{}<figcaption>Headline metrics: change in percent of the baseline \
                 mean, with the 95% interval of the paired difference.</figcaption>\n</figure>",
                svg.trim_start()
            );
        }
        h.push_str(
            "<table>\n<thead><tr><th>metric</th><th>baseline</th><th>variant</th>\
             <th>change</th><th>95% CI of difference</th><th>VR</th><th>verdict</th></tr>\
             </thead>\n<tbody>\n",
        );
        for d in v.diffs {
            let ci = d.ci95.map_or("—".to_string(), |c| {
                format!("[{}, {}]", format_number(c.low), format_number(c.high))
            });
            let vr = d
                .variance_reduction
                .map_or("—".to_string(), |x| format!("{}×", format_number(x)));
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td{}>{}</td></tr>",
                escape(&d.name),
                format_number(d.baseline_mean),
                format_number(d.variant_mean),
                d.change_percent.map_or("—".to_string(), percent),
                ci,
                vr,
                class(d.judgement),
                d.judgement.word()
            );
        }
        h.push_str("</tbody>\n</table>\n</section>\n");
    }
    h.push_str(
        "<p class=\"meta\">Better and worse follow each metric's direction (lower latency, \
         errors and cost are better; higher success, SLI and budget left are better) and need \
         a 95% interval that excludes 0; n.s.: the interval includes 0. VR: variance reduction \
         from common random numbers, (Var A + Var B) / Var(B − A).</p>\n</body>\n</html>\n",
    );
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paired::paired_differences;
    use sim_core::summary::{MetricSet, summarize};

    #[test]
    fn the_page_marks_better_and_worse_and_escapes_names() {
        let set = |lat: f64, ok: f64| {
            let mut s = MetricSet::new();
            s.push("latency_p99_s", lat);
            s.push("tenant.<b>.success_ratio", ok);
            s
        };
        let a = summarize(&[set(2.0, 0.9), set(2.1, 0.91), set(1.9, 0.92)]);
        let b = summarize(&[set(1.0, 0.8), set(1.1, 0.81), set(0.9, 0.82)]);
        let diffs = paired_differences(&a, &b);
        let link = |l: &str| ArmLink {
            label: l.to_string(),
            report: format!("variants/{l}/report.json"),
        };
        let html = render_compare_html(
            "2 arms",
            &link("base"),
            &[(
                "base".to_string(),
                "MET".to_string(),
                "availability (SLI 0.999)".to_string(),
            )],
            &[VariantSection {
                arm: link("retries=3"),
                diffs: &diffs,
                chart_svg: None,
            }],
        );
        assert!(html.contains("<td class=\"better\">better</td>"), "{html}");
        assert!(html.contains("<td class=\"worse\">worse</td>"), "{html}");
        assert!(html.contains("tenant.&lt;b&gt;.success_ratio"));
        assert!(html.contains("-50.0%"), "{html}");
        assert!(html.contains("href=\"variants/retries=3/report.json\""));
        assert!(!html.contains("<b>"));
    }
}
