//! One row per call, as CSV (with a header) or JSON Lines: the format a data frame reads.
//!
//! A row's attempts are one CSV column holding a compact list, `KIND:BACKEND:SENT:START:END:
//! OUTCOME` per attempt, separated by `;` (START is empty for an attempt that never left the
//! queue, END and OUTCOME say `running` for one still out when the call ended); in JSON Lines
//! they are an array of objects with those keys. Times are seconds of virtual time.

use sim_core::Time;
use std::fmt::Write as _;
use std::io::{self, Write};

/// How the rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallFormat {
    Csv,
    JsonLines,
}

impl CallFormat {
    /// JSON Lines for a path ending in `.jsonl` or `.ndjson`, CSV otherwise.
    pub fn for_path(path: &std::path::Path) -> CallFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("ndjson") => {
                CallFormat::JsonLines
            }
            _ => CallFormat::Csv,
        }
    }
}

/// The columns, in order (the README's table documents each).
pub const COLUMNS: [&str; 22] = [
    "job",
    "tenant",
    "route",
    "step",
    "turn",
    "arrival_s",
    "start_s",
    "end_s",
    "latency_s",
    "queue_wait_s",
    "ttft_s",
    "prompt_tokens",
    "output_tokens",
    "cost_usd",
    "fallback_depth",
    "attempt_count",
    "attempts",
    "outcome",
    "soft_failure",
    "validator",
    "cached",
    "hedges",
];

/// One attempt of a row.
pub(super) struct AttemptOut<'a> {
    pub kind: &'static str,
    pub backend: &'a str,
    pub sent: Time,
    pub started: Option<Time>,
    pub ended: Option<Time>,
    pub outcome: &'static str,
}

/// One call, ready to write.
pub(super) struct Row<'a> {
    pub job: u64,
    pub tenant: &'a str,
    pub route: &'a str,
    pub step: u16,
    pub turn: u32,
    pub arrival: Time,
    pub start: Time,
    pub end: Option<Time>,
    pub queue_wait: Time,
    pub ttft: Option<Time>,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    pub cost_usd: f64,
    /// Unknown for a call still open at the horizon.
    pub depth: Option<u8>,
    pub outcome: &'a str,
    pub soft: &'a str,
    pub validator: &'a str,
    pub cached: bool,
}

fn secs(t: Time) -> f64 {
    t as f64 / 1e9
}

/// Streams rows; remembers the first write error and then writes nothing.
pub(super) struct CallSink {
    format: CallFormat,
    csv: Option<csv::Writer<Box<dyn Write + Send>>>,
    out: Option<Box<dyn Write + Send>>,
    field: String,
    error: Option<io::Error>,
    pub(super) rows: u64,
}

impl CallSink {
    pub(super) fn new(out: Box<dyn Write + Send>, format: CallFormat) -> CallSink {
        let mut sink = CallSink {
            format,
            csv: None,
            out: None,
            field: String::new(),
            error: None,
            rows: 0,
        };
        match format {
            CallFormat::Csv => {
                let mut w = csv::Writer::from_writer(out);
                if let Err(e) = w.write_record(COLUMNS) {
                    sink.error = Some(e.into());
                }
                sink.csv = Some(w);
            }
            CallFormat::JsonLines => sink.out = Some(out),
        }
        sink
    }

    pub(super) fn write(&mut self, row: &Row<'_>, attempts: &[AttemptOut<'_>]) {
        if self.error.is_some() {
            return;
        }
        self.rows += 1;
        let result = match self.format {
            CallFormat::Csv => self.csv_row(row, attempts),
            CallFormat::JsonLines => self.json_row(row, attempts),
        };
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    fn csv_row(&mut self, row: &Row<'_>, attempts: &[AttemptOut<'_>]) -> io::Result<()> {
        let w = self.csv.as_mut().expect("a CSV sink");
        let f = &mut self.field;
        let latency = row.end.map(|e| e.saturating_sub(row.start));
        let hedges = attempts.iter().filter(|a| a.kind == "hedge").count();
        macro_rules! field {
            ($($arg:tt)*) => {{
                f.clear();
                let _ = write!(f, $($arg)*);
                w.write_field(f.as_bytes())?;
            }};
        }
        let opt = |t: Option<Time>| t.map(|t| secs(t).to_string()).unwrap_or_default();
        field!("{}", row.job);
        w.write_field(row.tenant)?;
        w.write_field(row.route)?;
        field!("{}", row.step);
        field!("{}", row.turn);
        field!("{}", secs(row.arrival));
        field!("{}", secs(row.start));
        field!("{}", opt(row.end));
        field!("{}", opt(latency));
        field!("{}", secs(row.queue_wait));
        field!("{}", opt(row.ttft));
        field!("{}", row.prompt_tokens);
        field!("{}", row.output_tokens);
        field!("{}", row.cost_usd);
        field!("{}", row.depth.map(|d| d.to_string()).unwrap_or_default());
        field!("{}", attempts.len());
        f.clear();
        for (i, a) in attempts.iter().enumerate() {
            if i > 0 {
                f.push(';');
            }
            let _ = write!(
                f,
                "{}:{}:{}:{}:{}:{}",
                a.kind,
                a.backend,
                secs(a.sent),
                opt(a.started),
                a.ended
                    .map(|t| secs(t).to_string())
                    .unwrap_or("running".into()),
                a.outcome
            );
        }
        w.write_field(f.as_bytes())?;
        w.write_field(row.outcome)?;
        w.write_field(row.soft)?;
        w.write_field(row.validator)?;
        w.write_field(if row.cached { "true" } else { "false" })?;
        field!("{hedges}");
        w.write_record(None::<&[u8]>)?;
        Ok(())
    }

    fn json_row(&mut self, row: &Row<'_>, attempts: &[AttemptOut<'_>]) -> io::Result<()> {
        use serde_json::{Value, json};
        let latency = row.end.map(|e| secs(e.saturating_sub(row.start)));
        let list: Vec<Value> = attempts
            .iter()
            .map(|a| {
                json!({
                    "kind": a.kind,
                    "backend": a.backend,
                    "sent_s": secs(a.sent),
                    "start_s": a.started.map(secs),
                    "end_s": a.ended.map(secs),
                    "outcome": a.outcome,
                })
            })
            .collect();
        let hedges = attempts.iter().filter(|a| a.kind == "hedge").count();
        let empty_none = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let value = json!({
            "job": row.job,
            "tenant": row.tenant,
            "route": empty_none(row.route),
            "step": row.step,
            "turn": row.turn,
            "arrival_s": secs(row.arrival),
            "start_s": secs(row.start),
            "end_s": row.end.map(secs),
            "latency_s": latency,
            "queue_wait_s": secs(row.queue_wait),
            "ttft_s": row.ttft.map(secs),
            "prompt_tokens": row.prompt_tokens,
            "output_tokens": row.output_tokens,
            "cost_usd": row.cost_usd,
            "fallback_depth": row.depth,
            "attempt_count": attempts.len(),
            "attempts": list,
            "outcome": row.outcome,
            "soft_failure": empty_none(row.soft),
            "validator": empty_none(row.validator),
            "cached": row.cached,
            "hedges": hedges,
        });
        let out = self.out.as_mut().expect("a JSON Lines sink");
        serde_json::to_writer(&mut *out, &value)?;
        out.write_all(b"\n")
    }

    /// Flushes: the rows written, or the first write error.
    pub(super) fn finish(mut self) -> io::Result<u64> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if let Some(w) = self.csv.take() {
            let mut inner = w.into_inner().map_err(|e| e.into_error())?;
            inner.flush()?;
        }
        if let Some(out) = &mut self.out {
            out.flush()?;
        }
        Ok(self.rows)
    }
}
