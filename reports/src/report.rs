//! `report.json`: everything needed to rerun a result, the result itself, and a digest of it.
//!
//! The report holds no timestamps, host names or thread counts, so the same scenario and seed
//! give byte-identical reports anywhere.

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sim_core::summary::MetricSummary;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// Bumped when the report's layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Tool {
    /// This build of faultline.
    pub fn current() -> Tool {
        Tool {
            name: "faultline".to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
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
    /// `sha256:` and the hex digest of the canonical metrics JSON.
    pub results_digest: String,
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

struct Metrics<'a>(&'a [MetricSummary]);

impl Serialize for Metrics<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_metrics(self.0, s)
    }
}

/// The digest of the results: SHA-256 over the compact JSON of the metrics, in order.
pub fn results_digest(metrics: &[MetricSummary]) -> String {
    let bytes = serde_json::to_vec(&Metrics(metrics)).expect("metrics always serialize");
    let hash = Sha256::digest(&bytes);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl Report {
    pub fn new(
        name: &str,
        seed: u64,
        replications: u32,
        scenario: serde_json::Value,
        metrics: Vec<MetricSummary>,
    ) -> Report {
        let results_digest = results_digest(&metrics);
        Report {
            format_version: FORMAT_VERSION,
            tool: Tool::current(),
            name: name.to_string(),
            seed,
            replications,
            scenario,
            metrics,
            results_digest,
        }
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
    pub metrics: BTreeMap<String, StoredMetric>,
    pub results_digest: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoredMetric {
    pub per_replication: Vec<Option<f64>>,
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
        .keys()
        .find(|k| !fresh.iter().any(|m| &m.name == *k))
    {
        return Some(format!(
            "`{name}` is in the stored report but not in the rerun"
        ));
    }
    None
}
