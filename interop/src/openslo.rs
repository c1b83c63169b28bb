//! `faultline import openslo`: OpenSLO v1 documents (`SLO`, `SLI`, `AlertPolicy`,
//! `AlertCondition`) and sloth specs (`version: prometheus/v1`) → the scenario's `[[slos]]`.
//!
//! A metric source is a query against the user's monitoring, which faultline cannot run; the
//! SLI's kind is read from what the query names: a time to first token (`ttft`,
//! `first_token`) or a latency (`latency`, `duration`, `_seconds`, `_ms`) with a threshold,
//! correctness (`correct`, `hallucinat`, `quality`, `eval`), else availability (errors, 5xx,
//! status codes), and a warning says which was chosen when nothing matched. The mapping table
//! is in the README.

use crate::Imported;
use crate::toml_out::{duration, name, quote};
use crate::yaml::{At, ImportError, parse_documents};
use std::collections::BTreeMap;
use std::fmt::Write;

/// One SLO as faultline writes it.
struct Slo {
    name: String,
    description: String,
    indicator: String,
    objective: String,
    window: Option<(String, bool)>,
    budgeting: Option<(String, Option<String>, Option<String>)>,
    alerting: String,
}

/// Reads every document of every file (`(file, text)`); returns the `[[slos]]` TOML.
pub fn import(files: &[(String, String)]) -> Result<Imported, ImportError> {
    let mut docs = Vec::new();
    for (file, text) in files {
        for d in parse_documents(file, text)? {
            docs.push((file.as_str(), d));
        }
    }
    let mut warnings = Vec::new();
    let mut slis: BTreeMap<String, At> = BTreeMap::new();
    let mut policies: BTreeMap<String, At> = BTreeMap::new();
    let mut conditions: BTreeMap<String, At> = BTreeMap::new();
    let mut slo_docs = Vec::new();
    let mut sloth = Vec::new();
    for (file, d) in &docs {
        let at = At::root(file, d);
        if let Some(v) = at.get("version")? {
            let version = v.str()?;
            if version != "prometheus/v1" {
                return Err(v.error(format!(
                    "expected sloth's `prometheus/v1` spec, found \"{version}\""
                )));
            }
            sloth.push(at);
            continue;
        }
        let api = at
            .get("apiVersion")?
            .ok_or_else(|| at.error("expected `apiVersion: openslo/v1` or a sloth `version`"))?;
        if api.str()? != "openslo/v1" {
            return Err(api.error(format!(
                "expected `openslo/v1`, found {} (OpenSLO v1alpha is not read)",
                api.found()
            )));
        }
        let kind = at.get("kind")?.ok_or_else(|| at.error("expected `kind`"))?;
        let doc_name = metadata_name(&at)?;
        match kind.str()? {
            "SLO" => slo_docs.push(at),
            "SLI" => {
                slis.insert(doc_name, at);
            }
            "AlertPolicy" => {
                policies.insert(doc_name, at);
            }
            "AlertCondition" => {
                conditions.insert(doc_name, at);
            }
            other => warnings.push(kind.warning(format!(
                "OpenSLO kind `{other}` has no counterpart in a scenario; ignored"
            ))),
        }
    }
    let mut slos = Vec::new();
    for at in &slo_docs {
        slos.push(openslo_slo(
            at,
            &slis,
            &policies,
            &conditions,
            &mut warnings,
        )?);
    }
    for at in &sloth {
        sloth_spec(at, &mut slos, &mut warnings)?;
    }
    if slos.is_empty() {
        let (file, _) = files.first().map_or(("(no file)", ""), |f| (&f.0, ""));
        return Err(ImportError {
            file: file.to_string(),
            line: 0,
            col: 0,
            path: String::new(),
            message: "found no OpenSLO `SLO` document and no sloth spec".to_string(),
        });
    }
    let mut o = String::new();
    for s in &slos {
        let _ = writeln!(o, "[[slos]]");
        let _ = writeln!(o, "name = {}", quote(&s.name));
        if !s.description.is_empty() {
            let _ = writeln!(o, "description = {}", quote(&s.description));
        }
        let _ = writeln!(o, "indicator = {}", s.indicator);
        let _ = writeln!(o, "objective = {}", quote(&s.objective));
        if let Some((d, rolling)) = &s.window {
            let _ = writeln!(
                o,
                "time_window = {{ duration = {d}, is_rolling = {rolling} }}"
            );
        }
        if let Some((method, slice, target)) = &s.budgeting {
            let _ = writeln!(o, "budgeting_method = \"{method}\"");
            if let Some(w) = slice {
                let _ = writeln!(o, "time_slice_window = {w}");
            }
            if let Some(t) = target {
                let _ = writeln!(o, "time_slice_target = {}", quote(t));
            }
        }
        let _ = writeln!(o, "{}\n", s.alerting);
    }
    Ok(Imported { toml: o, warnings })
}

fn metadata_name(at: &At) -> Result<String, ImportError> {
    let meta = at
        .get("metadata")?
        .ok_or_else(|| at.error("expected `metadata.name`"))?;
    let n = meta
        .get("name")?
        .ok_or_else(|| meta.error("expected `name`"))?;
    Ok(n.str()?.to_string())
}

/// A duration as OpenSLO and sloth write them (`28d`, `1h`, `5m`) → a scenario duration.
fn openslo_duration(at: &At) -> Result<String, ImportError> {
    let s = at.str()?;
    let digits: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    let unit = &s[digits.len()..];
    let ok = !digits.is_empty() && matches!(unit, "s" | "m" | "h" | "d" | "w");
    if !ok {
        return Err(at.error(format!(
            "expected a duration like \"28d\", \"1h\" or \"5m\", found \"{s}\""
        )));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| at.error("duration out of range"))?;
    Ok(match unit {
        "w" => format!("\"{}d\"", n * 7),
        u => format!("\"{n}{u}\""),
    })
}

/// An objective from a `target` (fraction) or `targetPercent`.
fn objective(obj: &At) -> Result<String, ImportError> {
    if let Some(t) = obj.get("target")? {
        let x = t.f64()?;
        if !(x > 0.0 && x < 1.0) {
            return Err(t.error(format!("expected a fraction between 0 and 1, found {x}")));
        }
        return Ok(percent(x));
    }
    if let Some(t) = obj.get("targetPercent")? {
        let x = t.f64()?;
        if !(x > 0.0 && x < 100.0) {
            return Err(t.error(format!(
                "expected a percentage between 0 and 100, found {x}"
            )));
        }
        return Ok(format!("{x}"));
    }
    Err(obj.error("expected `target` (a fraction) or `targetPercent`"))
}

/// A fraction as a percentage, exact to a millionth: 0.995 → "99.5".
fn percent(x: f64) -> String {
    let ppm = (x * 1e6).round() as u64;
    let (int, frac) = (ppm / 10_000, ppm % 10_000);
    if frac == 0 {
        return int.to_string();
    }
    format!("{int}.{}", format!("{frac:04}").trim_end_matches('0'))
}

/// What kind of SLI a query's text names.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Ttft,
    Latency,
    Correctness,
    Availability,
}

fn kind_of(text: &str) -> Option<Kind> {
    let t = text.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["ttft", "first_token", "time_to_first"]) {
        Some(Kind::Ttft)
    } else if has(&["latency", "duration", "_seconds", "_ms", "response_time"]) {
        Some(Kind::Latency)
    } else if has(&["correct", "hallucinat", "quality", "eval", "judge"]) {
        Some(Kind::Correctness)
    } else if has(&[
        "error", "5..", "5xx", "status", "code", "success", "availab", "fail",
    ]) {
        Some(Kind::Availability)
    } else {
        None
    }
}

/// Every string under `at`, joined: the queries of a metric source, whatever its type.
fn all_text(at: &At, out: &mut String) {
    use crate::yaml::Value;
    match &at.node.value {
        Value::Str(s) => {
            out.push_str(s);
            out.push(' ');
        }
        Value::Map(_) => {
            for (k, v) in at.entries().unwrap_or_default() {
                out.push_str(k);
                out.push(' ');
                all_text(&v, out);
            }
        }
        Value::Seq(_) => {
            for v in at.items().unwrap_or_default() {
                all_text(&v, out);
            }
        }
        _ => {}
    }
}

fn openslo_slo(
    at: &At,
    slis: &BTreeMap<String, At>,
    policies: &BTreeMap<String, At>,
    conditions: &BTreeMap<String, At>,
    warnings: &mut Vec<String>,
) -> Result<Slo, ImportError> {
    let slo_name = name(&metadata_name(at)?);
    let spec = at.get("spec")?.ok_or_else(|| at.error("expected `spec`"))?;
    let sli_spec = match (spec.get("indicator")?, spec.get("indicatorRef")?) {
        (Some(inline), _) => inline
            .get("spec")?
            .ok_or_else(|| inline.error("expected `spec`"))?,
        (None, Some(r)) => {
            let n = r.str()?;
            let doc = slis.get(n).ok_or_else(|| {
                r.error(format!("no SLI document is named `{n}` in the files given"))
            })?;
            doc.get("spec")?
                .ok_or_else(|| doc.error("expected `spec`"))?
        }
        (None, None) => return Err(spec.error("expected `indicator` or `indicatorRef`")),
    };
    let objectives = spec
        .get("objectives")?
        .ok_or_else(|| spec.error("expected `objectives`"))?
        .items()?;
    let Some(obj) = objectives.first() else {
        return Err(spec.error("expected at least one objective"));
    };
    if objectives.len() > 1 {
        warnings.push(
            objectives[1].warning(
                "faultline's SLO has one objective: the first is used, the others ignored",
            ),
        );
    }
    let mut text = String::new();
    let (threshold, metric_at) = if let Some(t) = sli_spec.get("thresholdMetric")? {
        all_text(&t, &mut text);
        (true, t)
    } else if let Some(r) = sli_spec.get("ratioMetric")? {
        all_text(&r, &mut text);
        (false, r)
    } else {
        return Err(sli_spec.error("expected `ratioMetric` or `thresholdMetric`"));
    };
    let found = kind_of(&text);
    let kind = match (found, threshold) {
        (Some(k @ (Kind::Ttft | Kind::Latency)), _) => k,
        (_, true) => Kind::Latency,
        (Some(k), false) => k,
        (None, false) => Kind::Availability,
    };
    if found.is_none() {
        warnings.push(metric_at.warning(format!(
            "the metric source names nothing faultline recognises; mapped to {}",
            match kind {
                Kind::Latency => "a latency SLI",
                _ => "availability",
            }
        )));
    }
    let indicator = match kind {
        Kind::Ttft | Kind::Latency => {
            let v = obj.get("value")?.ok_or_else(|| {
                obj.error("a latency objective needs `value`, the threshold (in milliseconds)")
            })?;
            let ms = v.f64()?;
            if ms <= 0.0 {
                return Err(v.error("expected a threshold above 0"));
            }
            let secs = if text.to_ascii_lowercase().contains("second") && ms < 600.0 {
                ms
            } else {
                ms / 1000.0
            };
            let k = if kind == Kind::Ttft {
                "ttft"
            } else {
                "latency"
            };
            format!("{{ kind = \"{k}\", threshold = {} }}", duration(secs))
        }
        Kind::Correctness => "{ kind = \"correctness\" }".to_string(),
        Kind::Availability => "{ kind = \"availability\" }".to_string(),
    };
    let window = match spec.get("timeWindow")? {
        Some(w) => {
            let items = w.items()?;
            let first = items
                .first()
                .ok_or_else(|| w.error("expected one time window"))?;
            let d = first
                .get("duration")?
                .ok_or_else(|| first.error("expected `duration`"))?;
            let rolling = first
                .get("isRolling")?
                .map(|r| r.bool())
                .transpose()?
                .unwrap_or(false);
            Some((openslo_duration(&d)?, rolling))
        }
        None => None,
    };
    let budgeting = match spec.get("budgetingMethod")? {
        None => None,
        Some(b) => match b.str()? {
            "Occurrences" => None,
            "Timeslices" | "RatioTimeslices" => {
                let slice = obj
                    .get("timeSliceWindow")?
                    .map(|w| openslo_duration(&w))
                    .transpose()?;
                let target = obj
                    .get("timeSliceTarget")?
                    .map(|t| t.f64().map(percent))
                    .transpose()?;
                Some(("timeslices".to_string(), slice, target))
            }
            other => {
                return Err(b.error(format!(
                    "expected Occurrences, Timeslices or RatioTimeslices, found \"{other}\""
                )));
            }
        },
    };
    let description = spec
        .get("description")?
        .map(|d| d.str().map(str::to_string))
        .transpose()?
        .unwrap_or_default();
    let alerting = alert_policies(&spec, policies, conditions, warnings)?;
    Ok(Slo {
        name: slo_name,
        description,
        indicator,
        objective: objective(obj)?,
        window,
        budgeting,
        alerting,
    })
}

/// `alertPolicies` → `alerting`: each burn-rate condition a custom rule. OpenSLO gives one
/// lookback window; the short window is a twelfth of it, the SRE workbook's ratio.
fn alert_policies(
    spec: &At,
    policies: &BTreeMap<String, At>,
    conditions: &BTreeMap<String, At>,
    warnings: &mut Vec<String>,
) -> Result<String, ImportError> {
    let Some(list) = spec.get("alertPolicies")? else {
        return Ok(
            "alerting = { preset = \"sre_workbook\" }  # no alertPolicies: the default".into(),
        );
    };
    let mut rules = Vec::new();
    for p in list.items()? {
        // A name, `{ alertPolicyRef: name }`, or the policy inline.
        let reference = match &p.node.value {
            crate::yaml::Value::Str(_) => Some(p.clone()),
            _ => p.get("alertPolicyRef")?,
        };
        let policy = match reference {
            Some(r) => {
                let n = r.str()?;
                policies
                    .get(n)
                    .cloned()
                    .ok_or_else(|| r.error(format!("no AlertPolicy is named `{n}`")))?
            }
            None => p,
        };
        let pspec = policy
            .get("spec")?
            .ok_or_else(|| policy.error("expected `spec`"))?;
        let conds = pspec
            .get("conditions")?
            .ok_or_else(|| pspec.error("expected `conditions`"))?;
        for c in conds.items()? {
            let cond = match c.get("conditionRef")? {
                Some(r) => {
                    let n = r.str()?;
                    conditions
                        .get(n)
                        .cloned()
                        .ok_or_else(|| r.error(format!("no AlertCondition is named `{n}`")))?
                }
                None => c,
            };
            let cname =
                metadata_name(&cond).unwrap_or_else(|_| format!("rule-{}", rules.len() + 1));
            let cspec = cond
                .get("spec")?
                .ok_or_else(|| cond.error("expected `spec`"))?;
            let severity = match cspec.get("severity")? {
                Some(s) => match s.str()?.to_ascii_lowercase().as_str() {
                    "page" | "critical" | "high" => "page",
                    _ => "ticket",
                },
                None => "page",
            };
            let cc = cspec
                .get("condition")?
                .ok_or_else(|| cspec.error("expected `condition`"))?;
            let kind = cc
                .get("kind")?
                .map(|k| k.str().map(str::to_string))
                .transpose()?;
            if kind.as_deref().is_some_and(|k| k != "burnrate") {
                warnings.push(cc.warning("only `burnrate` conditions are simulated; ignored"));
                continue;
            }
            let threshold = cc
                .get("threshold")?
                .ok_or_else(|| cc.error("expected `threshold`, the burn rate"))?;
            let factor = threshold.f64()?;
            if factor <= 0.0 {
                return Err(threshold.error("expected a burn rate above 0"));
            }
            let lookback = cc
                .get("lookbackWindow")?
                .ok_or_else(|| cc.error("expected `lookbackWindow`"))?;
            let long = openslo_duration(&lookback)?;
            let long_s = seconds_of(&long);
            let short = duration((long_s / 12.0).max(60.0).round());
            warnings.push(lookback.warning(format!(
                "OpenSLO gives one window; the short window is a twelfth of it, {short}"
            )));
            let for_d = cc
                .get("alertAfter")?
                .map(|a| openslo_duration(&a))
                .transpose()?
                .unwrap_or_else(|| "\"0s\"".to_string());
            rules.push(format!(
                "{{ name = {}, severity = \"{severity}\", long_window = {long}, short_window = \
                 {short}, burn_rate = {factor}, for = {for_d} }}",
                quote(&name(&cname))
            ));
        }
    }
    Ok(format!(
        "alerting = {{ preset = \"none\", rules = [\n    {},\n] }}",
        rules.join(",\n    ")
    ))
}

fn seconds_of(d: &str) -> f64 {
    let d = d.trim_matches('"');
    let (n, unit) = d.split_at(d.len() - 1);
    let n: f64 = n.parse().unwrap_or(0.0);
    n * match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => 86_400.0,
    }
}

/// A sloth spec: each of its `slos`, with sloth's own alert windows (30-day window).
fn sloth_spec(at: &At, out: &mut Vec<Slo>, warnings: &mut Vec<String>) -> Result<(), ImportError> {
    let service = at
        .get("service")?
        .map(|s| s.str().map(str::to_string))
        .transpose()?;
    let list = at.get("slos")?.ok_or_else(|| at.error("expected `slos`"))?;
    for s in list.items()? {
        let n = s.get("name")?.ok_or_else(|| s.error("expected `name`"))?;
        let full = match &service {
            Some(svc) => format!("{svc}-{}", n.str()?),
            None => n.str()?.to_string(),
        };
        let o = s
            .get("objective")?
            .ok_or_else(|| s.error("expected `objective`"))?;
        let pct = o.f64()?;
        if !(pct > 0.0 && pct < 100.0) {
            return Err(o.error(format!(
                "expected a percentage between 0 and 100, found {pct}"
            )));
        }
        let sli = s.get("sli")?.ok_or_else(|| s.error("expected `sli`"))?;
        let mut text = String::new();
        all_text(&sli, &mut text);
        // A sloth SLI is an error ratio: status codes or errors in it mean availability,
        // whatever else the series is named after.
        let t = text.to_ascii_lowercase();
        let kind = if ["5..", "code", "status", "error"]
            .iter()
            .any(|w| t.contains(w))
        {
            Some(Kind::Availability)
        } else {
            kind_of(&text)
        };
        let indicator = match kind {
            Some(Kind::Correctness) => "{ kind = \"correctness\" }",
            Some(Kind::Availability) => "{ kind = \"availability\" }",
            other => {
                warnings.push(sli.warning(format!(
                    "sloth's SLI is an error ratio with no threshold to read{}; mapped to \
                     availability",
                    if other.is_some() {
                        " (it names a latency)"
                    } else {
                        ""
                    }
                )));
                "{ kind = \"availability\" }"
            }
        };
        let description = s
            .get("description")?
            .map(|d| d.str().map(str::to_string))
            .transpose()?
            .unwrap_or_default();
        let mut alerting = "alerting = { preset = \"sloth\" }".to_string();
        if let Some(a) = s.get("alerting")? {
            let disabled = |key: &str| -> Result<bool, ImportError> {
                Ok(match a.get(key)? {
                    Some(x) => x
                        .get("disable")?
                        .map(|d| d.bool())
                        .transpose()?
                        .unwrap_or(false),
                    None => false,
                })
            };
            match (disabled("page_alert")?, disabled("ticket_alert")?) {
                (true, true) => alerting = "alerting = { preset = \"none\" }".to_string(),
                (false, false) => {}
                _ => warnings.push(a.warning(
                    "faultline's sloth preset has both page and ticket alerts; one of them is \
                     disabled here but both are simulated",
                )),
            }
        }
        out.push(Slo {
            name: name(&full),
            description,
            indicator: indicator.to_string(),
            objective: format!("{pct}"),
            window: Some(("\"30d\"".to_string(), true)),
            budgeting: None,
            alerting,
        });
    }
    Ok(())
}
