//! `report.json`: everything needed to rerun a result, the result itself, and a digest of it.
//!
//! The report holds no timestamps, host names or thread counts, so the same scenario and seed
//! give byte-identical reports anywhere.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sim_core::series::{BucketGrid, CdfSummary, SeriesStat, SeriesSummary};
use sim_core::summary::{Interval, MetricSummary};
use std::fmt;
use std::io::Write;
use std::marker::PhantomData;
use std::path::Path;

/// Bumped when the report's layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

/// The git commit this build came from (`unknown` outside a checkout); see `build.rs`.
pub const COMMIT: &str = env!("FAULTLINE_COMMIT");

/// `faultline --version`'s text: the crate version and the commit.
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("FAULTLINE_COMMIT"),
    ")"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
    /// The git commit of the build that wrote the report (absent from reports written before
    /// it was recorded: read as `unknown`).
    #[serde(default = "unknown_commit")]
    pub commit: String,
}

fn unknown_commit() -> String {
    "unknown".to_string()
}

impl Tool {
    /// This build of faultline.
    pub fn current() -> Tool {
        Tool {
            name: "faultline".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit: COMMIT.to_string(),
        }
    }

    /// `faultline 0.1.0 (commit 0123456789ab)`.
    pub fn describe(&self) -> String {
        format!("{} {} (commit {})", self.name, self.version, self.commit)
    }
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub format_version: u32,
    pub tool: Tool,
    /// The scenario's short name (file stem or example name).
    pub name: String,
    pub seed: u64,
    pub replications: u32,
    /// The canonical scenario: every default filled in, every override applied.
    pub scenario: serde_json::Value,
    #[serde(serialize_with = "serialize_metrics")]
    pub metrics: Vec<MetricSummary>,
    /// `sha256:` and the hex digest of every result in the report: metrics, series, latency
    /// distributions, journals (everything but what was run and by which build).
    pub results_digest: String,
    /// Per-bucket time series over the measured window.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_series"
    )]
    pub series: Option<SeriesSummary>,
    /// Latency quantiles per tenant, for CDF plots.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_cdf"
    )]
    pub latency_cdf: Option<CdfSummary>,
    /// Chaos experiment journals, derived from the `chaos.*` metrics.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub chaos_journal: Vec<crate::journal::Journal>,
    /// Cost-guard firings, derived from the `cost_guard.*` metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_guard: Option<crate::journal::CostGuardSummary>,
}

/// One series as it appears in the report: values per bucket, `null` where undefined.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SeriesJson {
    mean: Vec<Option<f64>>,
    ci95_half_width: Vec<Option<f64>>,
    /// The highest replication's value per bucket, for series that keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    peak: Option<Vec<Option<f64>>>,
}

fn finite(v: &[f64]) -> Vec<Option<f64>> {
    v.iter().map(|x| x.is_finite().then_some(*x)).collect()
}

fn nan_for_null(v: &[Option<f64>]) -> Vec<f64> {
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

struct SeriesMap<'a>(&'a [SeriesStat]);

impl Serialize for SeriesMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for stat in self.0 {
            map.serialize_entry(
                &stat.name,
                &SeriesJson {
                    mean: finite(&stat.mean),
                    ci95_half_width: finite(&stat.ci95_half_width),
                    peak: stat.peak.as_deref().map(finite),
                },
            )?;
        }
        map.end()
    }
}

fn series_stats(rows: Ordered<SeriesJson>) -> Vec<SeriesStat> {
    rows.0
        .into_iter()
        .map(|(name, j)| SeriesStat {
            name,
            mean: nan_for_null(&j.mean),
            ci95_half_width: nan_for_null(&j.ci95_half_width),
            peak: j.peak.as_deref().map(nan_for_null),
        })
        .collect()
}

#[derive(Serialize)]
struct SeriesSummaryJson<'a> {
    start_ns: u64,
    end_ns: u64,
    bucket_width_ns: u64,
    values: SeriesMap<'a>,
}

fn serialize_series<S: Serializer>(v: &Option<SeriesSummary>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(v) => s.serialize_some(&SeriesSummaryJson {
            start_ns: v.grid.start,
            end_ns: v.grid.end,
            bucket_width_ns: v.grid.width,
            values: SeriesMap(&v.series),
        }),
    }
}

#[derive(Serialize)]
struct CdfJson<'a> {
    levels: &'a [f64],
    latency_s: SeriesMap<'a>,
}

fn serialize_cdf<S: Serializer>(v: &Option<CdfSummary>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        None => s.serialize_none(),
        Some(v) => s.serialize_some(&CdfJson {
            levels: &v.levels,
            latency_s: SeriesMap(&v.distributions),
        }),
    }
}

/// A JSON object read back in file order (serde_json's own map sorts its keys, and the order
/// of metrics and series is part of how a report reads).
#[derive(Debug, Clone)]
pub struct Ordered<T>(pub Vec<(String, T)>);

impl<T> Ordered<T> {
    pub fn get(&self, key: &str) -> Option<&T> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, T>()? {
                    entries.push((k, v));
                }
                Ok(Ordered(entries))
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// How one metric appears in the report.
#[derive(Serialize)]
struct MetricJson<'a> {
    mean: f64,
    ci95_low: Option<f64>,
    ci95_high: Option<f64>,
    ci99_low: Option<f64>,
    ci99_high: Option<f64>,
    per_replication: &'a [f64],
}

fn serialize_metrics<S: Serializer>(metrics: &[MetricSummary], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(metrics.len()))?;
    for m in metrics {
        map.serialize_entry(
            &m.name,
            &MetricJson {
                mean: m.mean,
                ci95_low: m.ci95.map(|c| c.low),
                ci95_high: m.ci95.map(|c| c.high),
                ci99_low: m.ci99.map(|c| c.low),
                ci99_high: m.ci99.map(|c| c.high),
                per_replication: &m.per_replication,
            },
        )?;
    }
    map.end()
}

fn sha256_hex(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The fields of a report that are not results: what was run, and by which build.
const NOT_RESULTS: [&str; 7] = [
    "format_version",
    "tool",
    "name",
    "seed",
    "replications",
    "scenario",
    "results_digest",
];

/// The digest of every result a report holds (metrics, series, latency distributions, chaos
/// journals, cost-guard firings): SHA-256 over the compact JSON of the report without the
/// fields in [`NOT_RESULTS`], so editing any result byte changes it.
fn whole_results_digest(report: &Report) -> String {
    let mut value = serde_json::to_value(report).expect("reports always serialize");
    if let Some(map) = value.as_object_mut() {
        for key in NOT_RESULTS {
            map.remove(key);
        }
    }
    sha256_hex(&serde_json::to_vec(&value).expect("JSON values serialize"))
}

/// The first place where two reports (as JSON) differ, ignoring which build wrote them
/// (`tool`): a key path and both values, or `None` when every other byte of meaning agrees.
pub fn first_field_difference(stored: &Value, fresh: &Value) -> Option<String> {
    fn walk(path: &str, a: &Value, b: &Value) -> Option<String> {
        let show = |v: Option<&Value>| match v {
            None => "absent".to_string(),
            Some(v) => {
                let s = v.to_string();
                if s.chars().count() > 80 {
                    s.chars().take(77).collect::<String>() + "..."
                } else {
                    s
                }
            }
        };
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for (k, v) in x {
                    if path.is_empty() && k == "tool" {
                        continue;
                    }
                    let here = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match y.get(k) {
                        Some(w) => {
                            if let Some(d) = walk(&here, v, w) {
                                return Some(d);
                            }
                        }
                        None => {
                            return Some(format!(
                                "`{here}`: stored {}, rerun absent",
                                show(Some(v))
                            ));
                        }
                    }
                }
                y.keys()
                    .find(|k| !(x.contains_key(*k) || path.is_empty() && *k == "tool"))
                    .map(|k| {
                        let here = if path.is_empty() {
                            k.clone()
                        } else {
                            format!("{path}.{k}")
                        };
                        format!("`{here}`: stored absent, rerun {}", show(y.get(k)))
                    })
            }
            (Value::Array(x), Value::Array(y)) => {
                for i in 0..x.len().max(y.len()) {
                    let here = format!("{path}[{i}]");
                    match (x.get(i), y.get(i)) {
                        (Some(v), Some(w)) => {
                            if let Some(d) = walk(&here, v, w) {
                                return Some(d);
                            }
                        }
                        (v, w) => {
                            return Some(format!(
                                "`{here}`: stored {}, rerun {}",
                                show(v),
                                show(w)
                            ));
                        }
                    }
                }
                None
            }
            _ if a == b => None,
            _ => Some(format!(
                "`{path}`: stored {}, rerun {}",
                show(Some(a)),
                show(Some(b))
            )),
        }
    }
    walk("", stored, fresh)
}

impl Report {
    pub fn new(
        name: &str,
        seed: u64,
        replications: u32,
        scenario: serde_json::Value,
        metrics: Vec<MetricSummary>,
    ) -> Report {
        let chaos_journal = crate::journal::journals(&metrics);
        let cost_guard = crate::journal::cost_guard(&metrics);
        let mut report = Report {
            format_version: FORMAT_VERSION,
            tool: Tool::current(),
            name: name.to_string(),
            seed,
            replications,
            scenario,
            metrics,
            results_digest: String::new(),
            series: None,
            latency_cdf: None,
            chaos_journal,
            cost_guard,
        };
        report.results_digest = whole_results_digest(&report);
        report
    }

    /// Adds the time series and latency distributions of the run.
    pub fn with_series(
        mut self,
        series: Option<SeriesSummary>,
        latency_cdf: Option<CdfSummary>,
    ) -> Report {
        self.series = series;
        self.latency_cdf = latency_cdf;
        self.results_digest = whole_results_digest(&self);
        self
    }

    /// The report as it was written, for regenerating plots and pages without rerunning. The
    /// stored means and intervals are used as they are (not recomputed), so the page shows the
    /// numbers of the JSON file.
    pub fn from_stored(stored: StoredReport) -> Report {
        let interval = |low: Option<f64>, high: Option<f64>| match (low, high) {
            (Some(low), Some(high)) => Some(Interval { low, high }),
            _ => None,
        };
        let metrics: Vec<MetricSummary> = stored
            .metrics
            .0
            .into_iter()
            .map(|(name, m)| MetricSummary {
                name,
                mean: m.mean.unwrap_or(f64::NAN),
                ci95: interval(m.ci95_low, m.ci95_high),
                ci99: interval(m.ci99_low, m.ci99_high),
                per_replication: nan_for_null(&m.per_replication),
            })
            .collect();
        let series = stored.series.map(|s| SeriesSummary {
            grid: BucketGrid {
                start: s.start_ns,
                end: s.end_ns,
                width: s.bucket_width_ns.max(1),
            },
            series: series_stats(s.values),
        });
        let latency_cdf = stored.latency_cdf.map(|c| CdfSummary {
            levels: c.levels,
            distributions: series_stats(c.latency_s),
        });
        let chaos_journal = crate::journal::journals(&metrics);
        let cost_guard = crate::journal::cost_guard(&metrics);
        Report {
            format_version: stored.format_version,
            tool: stored.tool,
            name: stored.name,
            seed: stored.seed,
            replications: stored.replications,
            scenario: stored.scenario,
            metrics,
            results_digest: stored.results_digest,
            series,
            latency_cdf,
            chaos_journal,
            cost_guard,
        }
    }

    /// The summary of the metric `name` (`latency_p99_s`, `backend.NAME.utilisation`, ...),
    /// if the run has it.
    pub fn metric(&self, name: &str) -> Option<&MetricSummary> {
        self.metrics.iter().find(|m| m.name == name)
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("reports always serialize");
        s.push('\n');
        s
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it into place, so a crash never
/// leaves a half-written file under the final name.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("output");
    // Unique per process, thread and call: shards on several machines may share a directory,
    // and the points of one sweep are written from several threads.
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = path.with_file_name(format!(
        ".{file_name}.tmp-{}-{call}-{nanos}",
        std::process::id()
    ));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A report read back from disk, for reruns.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredReport {
    pub format_version: u32,
    pub tool: Tool,
    pub name: String,
    pub seed: u64,
    pub replications: u32,
    pub scenario: serde_json::Value,
    pub metrics: Ordered<StoredMetric>,
    pub results_digest: String,
    #[serde(default)]
    series: Option<StoredSeries>,
    #[serde(default)]
    latency_cdf: Option<StoredCdf>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoredMetric {
    #[serde(default)]
    pub mean: Option<f64>,
    #[serde(default)]
    pub ci95_low: Option<f64>,
    #[serde(default)]
    pub ci95_high: Option<f64>,
    #[serde(default)]
    pub ci99_low: Option<f64>,
    #[serde(default)]
    pub ci99_high: Option<f64>,
    pub per_replication: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Deserialize)]
struct StoredSeries {
    start_ns: u64,
    end_ns: u64,
    bucket_width_ns: u64,
    values: Ordered<SeriesJson>,
}

#[derive(Debug, Clone, Deserialize)]
struct StoredCdf {
    levels: Vec<f64>,
    latency_s: Ordered<SeriesJson>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadReportError {
    #[error("{path}: cannot read the report: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: not a faultline report: {message}")]
    Format {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: report format version {found} is not supported (this faultline reads version {FORMAT_VERSION})"
    )]
    Version { path: String, found: u32 },
}

impl StoredReport {
    pub fn read(path: &Path) -> Result<StoredReport, ReadReportError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ReadReportError::Io {
            path: shown.clone(),
            source,
        })?;
        let report: StoredReport =
            serde_json::from_str(&text).map_err(|e| ReadReportError::Format {
                path: shown.clone(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        if report.format_version != FORMAT_VERSION {
            return Err(ReadReportError::Version {
                path: shown,
                found: report.format_version,
            });
        }
        Ok(report)
    }
}

/// The first metric (in the new run's order) whose per-replication values differ from the
/// stored ones, with a description of the difference.
pub fn first_difference(stored: &StoredReport, fresh: &[MetricSummary]) -> Option<String> {
    for m in fresh {
        let Some(old) = stored.metrics.get(&m.name) else {
            return Some(format!("`{}` is not in the stored report", m.name));
        };
        let new: Vec<Option<f64>> = m
            .per_replication
            .iter()
            .map(|v| v.is_finite().then_some(*v))
            .collect();
        if new != old.per_replication {
            let i = new
                .iter()
                .zip(&old.per_replication)
                .position(|(a, b)| a != b)
                .unwrap_or(new.len().min(old.per_replication.len()));
            let show = |v: Option<&Option<f64>>| match v {
                Some(Some(x)) => format!("{x}"),
                Some(None) => "null".to_string(),
                None => "absent".to_string(),
            };
            return Some(format!(
                "`{}` differs in replication {i}: stored {}, rerun {}",
                m.name,
                show(old.per_replication.get(i)),
                show(new.get(i))
            ));
        }
    }
    if let Some(name) = stored
        .metrics
        .0
        .iter()
        .map(|(k, _)| k)
        .find(|k| !fresh.iter().any(|m| &m.name == *k))
    {
        return Some(format!(
            "`{name}` is in the stored report but not in the rerun"
        ));
    }
    None
}
