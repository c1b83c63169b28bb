//! The headline: what a run found, in the first lines of the terminal summary and of
//! report.html. SLO verdicts with their objective, window, observed SLI and interval and the
//! budget spent as a multiple; for a run shorter than the SLO's window, the observed value and
//! the projection over the window, each labelled as such; the scenario's key figures
//! (`[report] headline`); and diagnosis flags in plain words with the numbers behind them.
//!
//! Everything is read from the report (metrics, series and the canonical scenario), so
//! `faultline plot` redraws the same headline from a stored report.

use crate::number::{duration_text, duration_unit, format_number, short};
use crate::report::Report;
use sim_core::names::SLO;
use sim_core::summary::MetricSummary;
use sim_core::time::{Time, format_duration, parse_duration};

/// The widest line any summary prints.
pub const WIDTH: usize = 100;

/// One SLO's verdict, with what it was judged against.
#[derive(Debug, Clone, PartialEq)]
pub struct SloHeadline {
    pub verdict: crate::verdict::Verdict,
    /// The objective as a fraction, and as the scenario wrote it.
    pub objective: Option<f64>,
    pub objective_text: String,
    /// The compliance window, and the measured span of the run.
    pub window: Option<Time>,
    pub span: Time,
    /// Budget spent in the run, as a multiple of one window's budget.
    pub consumed: f64,
}

impl SloHeadline {
    /// Whether the run covers less than one compliance window, so the verdict on the window
    /// is a projection.
    pub fn partial(&self) -> bool {
        self.window.is_some_and(|w| self.span < w)
    }

    /// The budget the whole window would spend if the run's rate of bad events held
    /// throughout: the spend so far scaled by window / span.
    pub fn projected(&self) -> f64 {
        match self.window {
            Some(w) if self.span < w && self.span > 0 => {
                self.consumed * w as f64 / self.span as f64
            }
            _ => self.consumed,
        }
    }

    /// `MET`, `MISSED` or `AT RISK` (replications disagree) over a covered window; for a
    /// partial window `MISSED` once a budget ran out in the run, else `PROJECTED MET` or
    /// `PROJECTED MISSED` by the projection.
    pub fn word(&self) -> &'static str {
        let v = &self.verdict;
        if !self.partial() || v.met < v.replications {
            return v.word();
        }
        if self.projected() > 1.0 {
            "PROJECTED MISSED"
        } else {
            "PROJECTED MET"
        }
    }

    /// Whether `--fail-on slo` counts this SLO as failed: any word but `MET`/`PROJECTED MET`.
    pub fn failed(&self) -> bool {
        !matches!(self.word(), "MET" | "PROJECTED MET")
    }

    /// The verdict in words, unwrapped (the caller wraps it to [`WIDTH`]).
    pub fn text(&self) -> String {
        let v = &self.verdict;
        let window = self.window.map_or("?".to_string(), format_duration);
        let sli = match v.sli_ci95 {
            Some((lo, hi)) => format!(
                "{} [{}, {}]",
                format_number(v.sli),
                format_number(lo),
                format_number(hi)
            ),
            None => format_number(v.sli),
        };
        let below = match self.objective {
            Some(o) if v.sli < o => ", below the objective",
            _ => "",
        };
        if self.partial() {
            format!(
                "{} SLO {}: ≥ {} over {window}, run {}: observed SLI {sli}{below}; {} the budget \
                 so far (met {}/{}); projected over {window}: {} the budget",
                self.word(),
                v.name,
                self.objective_text,
                format_duration(self.span),
                times(self.consumed),
                v.met,
                v.replications,
                times(self.projected()),
            )
        } else {
            format!(
                "{} SLO {}: ≥ {} over {window}: SLI {sli}{below}; {} the budget; met {}/{}",
                self.word(),
                v.name,
                self.objective_text,
                times(self.consumed),
                v.met,
                v.replications,
            )
        }
    }
}

/// A budget multiple people read: `33.4×`, `0.829×`, `0.0031×`.
pub fn times(x: f64) -> String {
    if !x.is_finite() {
        return "—×".to_string();
    }
    let a = x.abs();
    let s = if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a == 0.0 {
        "0".to_string()
    } else {
        // Three significant digits below 1.
        let digits = (2 - a.log10().floor() as i32).clamp(2, 12) as usize;
        format!("{x:.digits$}")
    };
    format!("{s}×")
}

fn get<'a>(metrics: &'a [MetricSummary], name: &str) -> Option<&'a MetricSummary> {
    metrics.iter().find(|m| m.name == name)
}

fn mean(metrics: &[MetricSummary], name: &str) -> Option<f64> {
    get(metrics, name).map(|m| m.mean).filter(|v| v.is_finite())
}

/// An objective as the canonical scenario holds it: `"99.5%"`, `"99.5"` (percent) or a
/// fraction as a number.
fn objective(value: Option<&serde_json::Value>) -> (Option<f64>, String) {
    match value {
        Some(serde_json::Value::String(s)) => {
            let t = s.trim().trim_end_matches('%');
            let f = t.parse::<f64>().ok().map(|p| p / 100.0);
            (f, format!("{t}%"))
        }
        Some(serde_json::Value::Number(n)) => {
            let f = n.as_f64();
            (
                f,
                f.map_or("?".into(), |f| format!("{}%", format_number(f * 100.0))),
            )
        }
        _ => (None, "?".to_string()),
    }
}

fn duration_field(v: &serde_json::Value, key: &str) -> Option<Time> {
    parse_duration(v.get(key)?.as_str()?).ok()
}

/// The measured span of the run: horizon − warm-up.
fn span(report: &Report) -> Time {
    let h = duration_field(&report.scenario, "horizon").unwrap_or(0);
    let w = duration_field(&report.scenario, "warmup").unwrap_or(0);
    h.saturating_sub(w)
}

/// Every SLO's headline, in report order.
pub fn slo_headlines(report: &Report) -> Vec<SloHeadline> {
    let slos = report.scenario.get("slos").and_then(|s| s.as_array());
    crate::verdict::verdicts(&report.metrics)
        .into_iter()
        .map(|verdict| {
            let schema = slos.and_then(|all| {
                all.iter()
                    .find(|s| s.get("name").and_then(|n| n.as_str()) == Some(&verdict.name))
            });
            let (objective, objective_text) = objective(schema.and_then(|s| s.get("objective")));
            let window = schema
                .and_then(|s| s.get("time_window"))
                .and_then(|w| duration_field(w, "duration"));
            let consumed = mean(
                &report.metrics,
                &SLO.metric(&verdict.name, "budget_consumed"),
            )
            .unwrap_or(f64::NAN);
            SloHeadline {
                verdict,
                objective,
                objective_text,
                window,
                span: span(report),
                consumed,
            }
        })
        .collect()
}

/// The alerts of one SLO in words, when it has alert rules.
fn alert_text(metrics: &[MetricSummary], slo: &str) -> Option<String> {
    let alerts = mean(metrics, &SLO.metric(slo, "alerts"))?;
    let mut s = format!(
        "alerts: {} per replication",
        crate::number::count_of((alerts * 10.0).round() / 10.0, "firing", "firings")
    );
    if let Some(t) = mean(metrics, &SLO.metric(slo, "detection_time_s")) {
        s.push_str(&format!(", first {} after a fault", duration_text(t)));
    }
    let p = mean(metrics, &SLO.metric(slo, "alert_precision"));
    let r = mean(metrics, &SLO.metric(slo, "alert_recall"));
    if let (Some(p), Some(r)) = (p, r) {
        s.push_str(&format!(
            " (precision {}, recall {})",
            format_number((p * 100.0).round() / 100.0),
            format_number((r * 100.0).round() / 100.0)
        ));
    }
    Some(s)
}

/// A key figure's mean, 95% interval and unit as text; a duration in seconds is scaled to the
/// unit its mean reads best in ([`duration_unit`]), the interval with it.
fn figure_text(name: &str, m: &MetricSummary) -> FigureText {
    // A pure number (unit `1`) shows no unit: a lone `1` beside the interval reads as a value.
    let unit = sim_core::definitions::definition(name).map_or("", |d| d.unit);
    let unit = if unit == "1" { "" } else { unit };
    let (unit, per) = if unit == "s" {
        duration_unit(m.mean)
    } else {
        (unit, 1.0)
    };
    (
        format_number(m.mean / per),
        m.ci95.map_or("—".to_string(), |c| {
            format!(
                "[{}, {}]",
                format_number(c.low / per),
                format_number(c.high / per)
            )
        }),
        unit.to_string(),
    )
}

fn percent(x: f64) -> String {
    format!("{}%", short(x * 100.0))
}

/// Diagnosis flags: plain words with the numbers behind them.
pub fn flags(report: &Report) -> Vec<String> {
    let m = &report.metrics;
    let mut out = Vec::new();
    // A queue that grows through the run: the last quarter's mean length against the first's.
    if let Some(series) = &report.series
        && let Some(q) = series.series.iter().find(|s| s.name == "queue_length_mean")
    {
        let n = q.mean.len();
        if n >= 8 {
            let avg = |v: &[f64]| {
                let f: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
                (!f.is_empty()).then(|| f.iter().sum::<f64>() / f.len() as f64)
            };
            if let (Some(first), Some(last)) = (avg(&q.mean[..n / 4]), avg(&q.mean[n - n / 4..]))
                && last > 10.0
                && last > 2.0 * first
            {
                out.push(format!(
                    "queue grows through the run: {} calls waiting on average in the first \
                     quarter, {} in the last",
                    short(first),
                    short(last)
                ));
            }
        }
    }
    // Saturated backends.
    for s in m {
        if let Some(b) = sim_core::names::BACKEND.entity(&s.name, sim_core::names::UTILISATION)
            && s.mean > 0.95
        {
            out.push(format!(
                "backend {b} is {} utilised (above 95%): calls wait or are refused",
                percent(s.mean)
            ));
        }
    }
    // Retries as a share of the attempts the backends started.
    let attempts: f64 = m
        .iter()
        .filter(|s| {
            sim_core::names::BACKEND
                .entity(&s.name, "attempts")
                .is_some()
        })
        .map(|s| s.mean)
        .filter(|v| v.is_finite())
        .sum();
    if let Some(retries) = mean(m, "retries")
        && attempts > 0.0
        && retries / attempts > 0.1
    {
        out.push(format!(
            "retries are {} of attempts ({} of {} per replication)",
            percent(retries / attempts),
            short(retries),
            short(attempts)
        ));
    }
    // Preemption storms in GPU pools.
    for s in m {
        if let Some(pool) = s
            .name
            .strip_prefix("pool.")
            .and_then(|r| r.strip_suffix(".preemptions"))
            && s.mean >= 1.0
        {
            let completed = mean(m, &format!("pool.{pool}.completed")).unwrap_or(f64::NAN);
            let reprefill = mean(m, &format!("pool.{pool}.reprefill_tokens"));
            if completed.is_finite() && s.mean > 0.01 * completed {
                out.push(format!(
                    "preemption storm in pool {pool}: {} preemptions for {} calls finished{}",
                    short(s.mean),
                    short(completed),
                    reprefill.map_or(String::new(), |t| format!(
                        ", {} prompt tokens prefilled again",
                        short(t)
                    ))
                ));
            }
        }
    }
    // Breakers that open again and again.
    let hours = span(report) as f64 / 3.6e12;
    for s in m {
        if let Some(b) = sim_core::names::BACKEND.entity(&s.name, "breaker_opened")
            && s.mean >= 5.0
        {
            out.push(format!(
                "breaker of {b} flaps: opened {} times per replication ({} an hour)",
                short(s.mean),
                short(s.mean / hours.max(1e-9))
            ));
        }
    }
    // Workflow executions that failed for good: the dead-letter queue.
    for s in m {
        if let Some(t) = s
            .name
            .strip_prefix("workflow.")
            .and_then(|r| r.strip_suffix(".dlq"))
            && !t.contains('.')
            && s.mean > 0.0
        {
            let share = mean(m, &format!("workflow.{t}.dlq_share")).unwrap_or(f64::NAN);
            let age = mean(m, &format!("workflow.{t}.dlq_oldest_age_s")).unwrap_or(f64::NAN);
            out.push(format!(
                "dead-letter queue of workflow {t}: {} executions per replication ({} of those \
                 that ended), the oldest there {} at the end",
                short(s.mean),
                percent(share),
                duration_text(age)
            ));
        }
    }
    // Cost-guard firings.
    let budget = mean(m, "cost_guard.budget_alerts").unwrap_or(0.0);
    let anomaly = mean(m, "cost_guard.anomaly_alerts").unwrap_or(0.0);
    if budget + anomaly > 0.0 {
        out.push(format!(
            "cost guard fired: {} budget and {} anomaly alerts per replication",
            short(budget),
            short(anomaly)
        ));
    }
    out
}

/// The scenario's `[report] headline` names.
pub fn headline_names(report: &Report) -> Vec<String> {
    report
        .scenario
        .get("report")
        .and_then(|r| r.get("headline"))
        .and_then(|h| h.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Headline names this run did not produce (the command warns about them).
pub fn missing_names(report: &Report) -> Vec<String> {
    headline_names(report)
        .into_iter()
        .filter(|n| get(&report.metrics, n).is_none())
        .collect()
}

/// `text` broken at spaces into lines of at most [`WIDTH`] columns: the first starting with
/// `first`, the rest with `rest` (a word longer than a line is left whole on its own line; a
/// multiple like `33.4×` keeps the word after it on its line).
pub fn wrap(text: &str, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    // A multiple stays with what it multiplies: `33.4× the budget` is never split after `×`.
    let mut words: Vec<String> = Vec::new();
    for w in text.split(' ').filter(|w| !w.is_empty()) {
        match words.last_mut() {
            Some(last) if last.ends_with('×') => {
                last.push(' ');
                last.push_str(w);
            }
            _ => words.push(w.to_string()),
        }
    }
    for word in &words {
        let need = line.chars().count() + usize::from(!empty) + word.chars().count();
        if !empty && need > WIDTH {
            lines.push(std::mem::replace(&mut line, rest.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

/// One key figure as a row: the name, its mean and 95% interval, and its unit; a name too long
/// for one row goes on its own line.
fn key_row(name: &str, m: Option<&MetricSummary>, width: usize) -> Vec<String> {
    let Some(m) = m else {
        return vec![format!("  {name}: not produced by this run")];
    };
    let (mean, ci, unit) = figure_text(name, m);
    let numbers = format!("{mean:>12}  {ci}  {unit}");
    let name_fits = name.chars().count() <= width;
    if name_fits && 2 + width + 1 + numbers.chars().count() <= WIDTH {
        vec![format!("  {name:<width$} {numbers}").trim_end().to_string()]
    } else {
        vec![
            format!("  {name}"),
            format!("  {:<width$} {numbers}", "").trim_end().to_string(),
        ]
    }
}

/// The headline block of the terminal summary: every line at most [`WIDTH`] columns.
pub fn render_headline(report: &Report) -> String {
    let mut lines: Vec<String> = Vec::new();
    let slos = slo_headlines(report);
    if slos.is_empty() {
        lines.push("SLOs: none defined".to_string());
    }
    for s in &slos {
        let mut text = s.text();
        if let Some(a) = alert_text(&report.metrics, &s.verdict.name) {
            text.push_str("; ");
            text.push_str(&a);
        }
        // Rules that could not fire are said to be unarmed, not left to read as quiet.
        if let Some(note) = crate::alerts::unarmed_note(&report.metrics, &s.verdict.name) {
            text.push_str("; ");
            text.push_str(&note);
        }
        lines.extend(wrap(&text, "", "    "));
    }
    for j in crate::journal::journals(&report.metrics) {
        let short = j.short();
        let mut parts = short.lines();
        lines.extend(wrap(parts.next().unwrap_or(""), "", "    "));
        for reason in parts {
            lines.extend(wrap(reason, "    ", "    "));
        }
    }
    // The cost guard is a finding when it fired (a quiet one shows in the table's cost rows).
    if crate::journal::cost_guard_fired(&report.metrics)
        && let Some(c) = crate::journal::render_cost_guard(&report.metrics)
    {
        lines.extend(wrap(&c, "", "    "));
    }
    let names = headline_names(report);
    if !names.is_empty() {
        let width = names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0)
            .min(46);
        lines.push(format!(
            "{:<w$} {:>12}  95% CI",
            "Key figures:",
            "mean",
            w = width + 2
        ));
        for n in &names {
            lines.extend(key_row(n, get(&report.metrics, n), width));
        }
    }
    let flags = flags(report);
    if !flags.is_empty() {
        lines.push("Flags:".to_string());
        for f in &flags {
            lines.extend(wrap(f, "  ! ", "    "));
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The SLO lines of the headline for report.html (the same words as the terminal).
pub fn slo_texts(report: &Report) -> Vec<(String, String, Option<String>)> {
    slo_headlines(report)
        .iter()
        .map(|s| {
            let text = s.text();
            let rest = text
                .strip_prefix(s.word())
                .unwrap_or(&text)
                .trim()
                .to_string();
            // The alerts, then the rules that could not fire, as the terminal says them.
            let alerts = [
                alert_text(&report.metrics, &s.verdict.name),
                crate::alerts::unarmed_note(&report.metrics, &s.verdict.name),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
            (
                s.word().to_string(),
                rest,
                (!alerts.is_empty()).then(|| alerts.join("; ")),
            )
        })
        .collect()
}

/// One key figure's mean, interval and unit as text.
pub type FigureText = (String, String, String);

/// The key figures for report.html: name, mean, interval text, unit (`None`: not produced).
pub fn key_figures(report: &Report) -> Vec<(String, Option<FigureText>)> {
    headline_names(report)
        .into_iter()
        .map(|n| {
            let row = get(&report.metrics, &n).map(|m| figure_text(&n, m));
            (n, row)
        })
        .collect()
}

#[cfg(test)]
#[path = "headline_tests.rs"]
mod tests;
