//! A sweep's files: the plan (`sweep-plan.json`), each point's report under
//! `points/<id>/report.json`, and the tables built from them (`sweep.json`, `sweep.csv`).
//!
//! The tables are built from the plan and the point reports on disk, never from what happened to
//! be in memory. That is what makes a resumed sweep, or shards merged from several machines,
//! byte-identical to one uninterrupted run: the same files in, the same bytes out.

use crate::report::{FORMAT_VERSION, Tool};
use serde::de::{MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The plan's file name inside a sweep directory.
pub const PLAN_FILE: &str = "sweep-plan.json";

/// What a sweep will compute: written first, identical for every shard of the same sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPlan {
    pub format_version: u32,
    pub tool: Tool,
    /// The scenario's short name.
    pub name: String,
    /// `grid` or `zip`.
    pub combine: String,
    /// The swept key paths, in axis order.
    pub parameters: Vec<String>,
    /// The swept key paths whose values came from a `log:` range: their plots use a log axis.
    /// Absent from plans that have none, so older plans read the same.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_parameters: Vec<String>,
    /// The settings shared by every point (`--set` with one value, `--seed`, `--replications`).
    pub fixed: Vec<String>,
    /// The canonical scenario with the fixed settings applied: every point starts from it.
    pub scenario: serde_json::Value,
    pub points: Vec<PlannedPoint>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedPoint {
    pub id: String,
    /// `(path, value)` for every parameter, in parameter order.
    #[serde(
        serialize_with = "serialize_pairs",
        deserialize_with = "deserialize_pairs"
    )]
    pub settings: Vec<(String, String)>,
}

impl SweepPlan {
    pub fn new(
        name: &str,
        combine: &str,
        parameters: Vec<String>,
        fixed: Vec<String>,
        scenario: serde_json::Value,
        points: Vec<Vec<(String, String)>>,
    ) -> SweepPlan {
        let width = point_id_width(points.len());
        SweepPlan {
            format_version: FORMAT_VERSION,
            tool: Tool::current(),
            name: name.to_string(),
            combine: combine.to_string(),
            parameters,
            log_parameters: Vec::new(),
            fixed,
            scenario,
            points: points
                .into_iter()
                .enumerate()
                .map(|(i, settings)| PlannedPoint {
                    id: format!("{i:0width$}"),
                    settings,
                })
                .collect(),
        }
    }

    /// The plan with `paths` marked as swept on a log range.
    pub fn with_log_parameters(mut self, paths: Vec<String>) -> SweepPlan {
        self.log_parameters = paths;
        self
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("plans always serialize");
        s.push('\n');
        s
    }

    pub fn read(dir: &Path) -> Result<SweepPlan, String> {
        let path = dir.join(PLAN_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: cannot read the sweep plan ({e}); is this a sweep output directory?",
                path.display()
            )
        })?;
        let plan: SweepPlan = serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not a faultline sweep plan: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if plan.format_version != FORMAT_VERSION {
            return Err(format!(
                "{}: sweep format version {} is not supported (this faultline reads version {FORMAT_VERSION})",
                path.display(),
                plan.format_version
            ));
        }
        // Point ids become directory names: only plain names, never a path.
        if let Some(p) = plan.points.iter().find(|p| !is_plain_id(&p.id)) {
            return Err(format!(
                "{}: point id `{}` is not a plain name (1 to 64 letters, digits, `-` or `_`); it would be used as a path",
                path.display(),
                p.id.escape_debug()
            ));
        }
        Ok(plan)
    }
}

/// Whether `id` is safe as one path component: 1 to 64 ASCII letters, digits, `-` or `_`.
pub fn is_plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Point ids are zero-padded so that directory listings sort in point order.
fn point_id_width(count: usize) -> usize {
    count.saturating_sub(1).to_string().len().max(4)
}

/// Where a point's report lives, relative to the sweep directory.
pub fn point_report_path(id: &str) -> PathBuf {
    Path::new("points").join(id).join("report.json")
}

/// One metric of a point, as the sweep tables show it.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
pub struct MetricLine {
    pub mean: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
}

/// The parts of a point's report the sweep tables need, metrics in report order.
#[derive(Debug, Clone, Deserialize)]
pub struct PointReport {
    pub results_digest: String,
    pub scenario: serde_json::Value,
    #[serde(deserialize_with = "deserialize_ordered")]
    pub metrics: Vec<(String, MetricLine)>,
}

impl PointReport {
    pub fn read(path: &Path) -> Result<PointReport, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read the point's report: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: not a faultline report: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }
}

/// A finished point: its plan entry and its results.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    pub id: String,
    pub settings: Vec<(String, String)>,
    pub results_digest: String,
    pub metrics: Vec<(String, MetricLine)>,
}

impl SweepPoint {
    pub fn metric(&self, name: &str) -> Option<&MetricLine> {
        self.metrics.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    /// The point's settings as `a=1, b=x`, for messages.
    pub fn describe(&self) -> String {
        self.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Reads every planned point's report from `dir`; lists the missing ones if any are.
pub fn read_points(dir: &Path, plan: &SweepPlan) -> Result<Vec<SweepPoint>, String> {
    let mut points = Vec::with_capacity(plan.points.len());
    let mut missing = Vec::new();
    for p in &plan.points {
        let path = dir.join(point_report_path(&p.id));
        if !path.exists() {
            missing.push(p.id.clone());
            continue;
        }
        let report = PointReport::read(&path)?;
        points.push(SweepPoint {
            id: p.id.clone(),
            settings: p.settings.clone(),
            results_digest: report.results_digest,
            metrics: report.metrics,
        });
    }
    if !missing.is_empty() {
        let shown: Vec<_> = missing.iter().take(10).cloned().collect();
        return Err(format!(
            "{}: {} of {} points have no report yet ({}{}); finish them with `faultline sweep ... --resume`, or merge the other shards' directories",
            dir.display(),
            missing.len(),
            plan.points.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        ));
    }
    Ok(points)
}

/// The metric names over all points, in the order they first appear.
fn metric_names(points: &[SweepPoint]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for p in points {
        for (n, _) in &p.metrics {
            if !names.contains(&n.as_str()) {
                names.push(n);
            }
        }
    }
    names
}

#[derive(Serialize)]
struct SweepJson<'a> {
    format_version: u32,
    tool: &'a Tool,
    name: &'a str,
    combine: &'a str,
    parameters: &'a [String],
    fixed: &'a [String],
    points: Vec<PointJson<'a>>,
}

#[derive(Serialize)]
struct PointJson<'a> {
    id: &'a str,
    #[serde(serialize_with = "serialize_pairs")]
    settings: &'a [(String, String)],
    report: String,
    results_digest: &'a str,
    #[serde(serialize_with = "serialize_pairs")]
    metrics: &'a [(String, MetricLine)],
}

/// `sweep.json`: every point's settings, digest and metric means with 95% CIs.
pub fn sweep_json(plan: &SweepPlan, points: &[SweepPoint]) -> String {
    let json = SweepJson {
        format_version: FORMAT_VERSION,
        tool: &plan.tool,
        name: &plan.name,
        combine: &plan.combine,
        parameters: &plan.parameters,
        fixed: &plan.fixed,
        points: points
            .iter()
            .map(|p| PointJson {
                id: &p.id,
                settings: &p.settings,
                report: point_report_path(&p.id)
                    .to_string_lossy()
                    .replace('\\', "/"),
                results_digest: &p.results_digest,
                metrics: &p.metrics,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&json).expect("sweeps always serialize");
    s.push('\n');
    s
}

/// `sweep.csv`: one row per point; its parameters, then each metric's mean and 95% CI bounds.
/// A metric a point does not have, or a CI that does not exist (one replication), is empty.
pub fn sweep_csv(plan: &SweepPlan, points: &[SweepPoint]) -> String {
    let names = metric_names(points);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["id".to_string()];
    header.extend(plan.parameters.iter().cloned());
    for n in &names {
        header.push(format!("{n}.mean"));
        header.push(format!("{n}.ci95_low"));
        header.push(format!("{n}.ci95_high"));
    }
    w.write_record(&header).expect("writing to memory");
    let cell = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for p in points {
        let mut row: Vec<String> = vec![p.id.clone()];
        row.extend(p.settings.iter().map(|(_, v)| v.clone()));
        for n in &names {
            let m = p.metric(n);
            row.push(cell(m.and_then(|m| m.mean)));
            row.push(cell(m.and_then(|m| m.ci95_low)));
            row.push(cell(m.and_then(|m| m.ci95_high)));
        }
        w.write_record(&row).expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 is UTF-8")
}

fn serialize_pairs<S: Serializer, V: Serialize>(
    pairs: &[(String, V)],
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

fn deserialize_pairs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    deserialize_ordered(d)
}

/// A JSON object read into `(key, value)` pairs in file order (serde_json's own map sorts keys).
fn deserialize_ordered<'de, D, V>(d: D) -> Result<Vec<(String, V)>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Ordered<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> Visitor<'de> for Ordered<V> {
        type Value = Vec<(String, V)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    d.deserialize_map(Ordered(std::marker::PhantomData))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: &str, a: &str, mean: f64) -> SweepPoint {
        SweepPoint {
            id: id.to_string(),
            settings: vec![("gateway.retry.backoff".to_string(), a.to_string())],
            results_digest: "sha256:0".to_string(),
            metrics: vec![
                (
                    "z_first".to_string(),
                    MetricLine {
                        mean: Some(mean),
                        ci95_low: Some(mean - 1.0),
                        ci95_high: None,
                    },
                ),
                (
                    "a_second".to_string(),
                    MetricLine {
                        mean: None,
                        ci95_low: None,
                        ci95_high: None,
                    },
                ),
            ],
        }
    }

    fn plan() -> SweepPlan {
        SweepPlan::new(
            "demo",
            "grid",
            vec!["gateway.retry.backoff".to_string()],
            vec!["seed=3".to_string()],
            serde_json::json!({"seed": 3}),
            vec![
                vec![("gateway.retry.backoff".to_string(), "a".to_string())],
                vec![(
                    "gateway.retry.backoff".to_string(),
                    "{ x = 1, y = \"q\" }".to_string(),
                )],
            ],
        )
    }

    #[test]
    fn csv_quotes_values_and_keeps_metric_order() {
        let plan = plan();
        let csv = sweep_csv(
            &plan,
            &[
                point("0000", "a", 1.5),
                point("0001", "{ x = 1, y = \"q\" }", 2.0),
            ],
        );
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(
            lines[0],
            "id,gateway.retry.backoff,z_first.mean,z_first.ci95_low,z_first.ci95_high,a_second.mean,a_second.ci95_low,a_second.ci95_high"
        );
        assert_eq!(lines[1], "0000,a,1.5,0.5,,,,");
        assert_eq!(lines[2], "0001,\"{ x = 1, y = \"\"q\"\" }\",2,1,,,,");
    }

    #[test]
    fn plans_round_trip_with_ordered_settings() {
        let plan = plan();
        let text = plan.to_json();
        let back: SweepPlan = serde_json::from_str(&text).unwrap();
        assert_eq!(back, plan);
        assert_eq!(plan.points[1].id, "0001");
        assert_eq!(point_id_width(100_001), 6);
    }

    #[test]
    fn point_reports_keep_metric_order() {
        let text = r#"{"results_digest":"sha256:1","scenario":{},"metrics":{"b":{"mean":1.0,"ci95_low":null,"ci95_high":null,"per_replication":[1.0]},"a":{"mean":2.0,"ci95_low":1.0,"ci95_high":3.0}}}"#;
        let r: PointReport = serde_json::from_str(text).unwrap();
        assert_eq!(r.metrics[0].0, "b");
        assert_eq!(r.metrics[1].1.ci95_high, Some(3.0));
    }
}
