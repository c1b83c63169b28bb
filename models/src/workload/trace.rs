//! Recorded request traces and their replay.
//!
//! A trace file is parsed once into a [`Trace`]: one 16-byte [`TraceArrival`] per request (the
//! offset from the trace's first request in integer nanoseconds, and the prompt and output token
//! counts). Put it in an `Arc` and share it read-only across replications; each replication
//! replays it with its own small [`ReplayState`].
//!
//! Formats (examples of each, with provenance, in the repository's `data/README.md`):
//! - **Azure LLM inference CSV** (`TIMESTAMP,ContextTokens,GeneratedTokens`): `TIMESTAMP` is an
//!   absolute date and time such as `2023-11-16 18:17:03.9799600`; it is converted to integer
//!   nanoseconds exactly (no floating point). Columns are found by name (any order, extra columns
//!   ignored, names compared without regard to case); CRLF line ends and a UTF-8 byte order mark
//!   are accepted.
//! - **Mooncake JSONL**: one JSON object per line with `timestamp` (whole milliseconds since the
//!   start), `input_length` and `output_length`; other fields (`hash_ids`) are ignored. Blank
//!   lines are skipped.
//!
//! Offsets are measured from the first request, which is therefore at offset 0.
//!
//! **Order.** Requests must be in non-decreasing time order (ties are fine); a row earlier than
//! the one before it is an error naming both lines. The published traces are sorted, so an
//! out-of-order row means a damaged or hand-concatenated file, and silently sorting it would
//! replay something other than what the user pointed at. Sort the file first if that is meant.
//!
//! **Errors** name the file and line and what was wrong, e.g.
//! `AzureLLMInferenceTrace_code.csv:17: GeneratedTokens: expected a whole number of tokens (0 to
//! 4294967295), found "x"`. No input makes the parsers panic (property-tested).
//!
//! **Replay** ([`ReplayOptions`]):
//! - `start_offset` (trace time, before scaling): requests before it are skipped, and replay
//!   time 0 is that point of the trace; a request at trace offset `o` arrives at
//!   `scale(o − start_offset)`.
//! - `speedup`, an exact fraction ([`TimeScale`]): `scale(d) = round(d / speedup)` to the nearest
//!   nanosecond (halves up), in integer arithmetic. `2` replays twice as fast.
//! - `looping`: after the last request the replayed part (from the start offset on) plays
//!   again, and again. **Rule:** the next loop's first request arrives one mean inter-arrival
//!   after the previous loop's last one, where the mean inter-arrival is the replayed part's
//!   span divided by its number of gaps, `g = round(span / (n − 1))` (at least 1 ns). So the
//!   loop period is `P = span + g` and loop `k` replays every request `k·P` later; the looped
//!   process has exactly `n` requests per `P`. A replayed part that spans no time (one request,
//!   or all at one instant) cannot loop: that is an error, not an infinite burst.

use super::WorkloadError;
use sim_core::{NANOS_PER_SEC, Time};
use std::fmt;
use std::path::Path;
use std::sync::Arc;

mod burstgpt;
mod time_scale;
pub use time_scale::TimeScale;

/// Token counts recorded in a trace for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceTokens {
    pub prompt: u32,
    pub output: u32,
}

/// The trace file formats faultline reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceFormat {
    /// Azure LLM inference trace: CSV `TIMESTAMP,ContextTokens,GeneratedTokens`.
    AzureCsv,
    /// Mooncake trace: JSON lines with `timestamp` (ms), `input_length`, `output_length`.
    MooncakeJsonl,
    /// BurstGPT trace: CSV `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log
    /// Type`, `Timestamp` in seconds from the trace's start. Never guessed from a file name (a
    /// `.csv` is Azure's): name it.
    BurstGptCsv,
}

impl TraceFormat {
    /// The format a file name suggests: `.csv` or `.jsonl`.
    pub fn from_path(path: &Path) -> Option<TraceFormat> {
        let ext = path.extension()?.to_str()?;
        if ext.eq_ignore_ascii_case("csv") {
            Some(TraceFormat::AzureCsv)
        } else if ext.eq_ignore_ascii_case("jsonl") {
            Some(TraceFormat::MooncakeJsonl)
        } else {
            None
        }
    }

    /// `"azure-csv"`, `"mooncake-jsonl"` or `"burstgpt-csv"`.
    pub fn from_name(name: &str) -> Option<TraceFormat> {
        match name {
            "azure-csv" => Some(TraceFormat::AzureCsv),
            "mooncake-jsonl" => Some(TraceFormat::MooncakeJsonl),
            "burstgpt-csv" => Some(TraceFormat::BurstGptCsv),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::AzureCsv => "azure-csv",
            TraceFormat::MooncakeJsonl => "mooncake-jsonl",
            TraceFormat::BurstGptCsv => "burstgpt-csv",
        }
    }
}

/// One recorded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceArrival {
    /// Time since the trace's first request, ns.
    pub offset: Time,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
}

/// A parsed trace: requests in time order, the first at offset 0.
#[derive(Clone, PartialEq, Eq)]
pub struct Trace {
    /// Where it came from (the path as given), for messages.
    pub source: String,
    pub arrivals: Vec<TraceArrival>,
}

impl fmt::Debug for Trace {
    /// A summary: a trace may hold millions of rows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("source", &self.source)
            .field("requests", &self.arrivals.len())
            .field("span_ns", &self.span())
            .finish()
    }
}

/// A trace that could not be read: the file, the line (when one is to blame) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TraceError {
    pub file: String,
    pub line: Option<u64>,
    pub kind: TraceErrorKind,
}

impl fmt::Display for TraceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.kind),
            None => write!(f, "{}: {}", self.file, self.kind),
        }
    }
}

/// What was wrong with a trace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceErrorKind {
    #[error("cannot read the trace: {0}")]
    Io(String),
    #[error(
        "cannot tell the trace format from the file name; expected a .csv (Azure LLM inference) or .jsonl (Mooncake) file"
    )]
    UnknownFormat,
    #[error("the file is empty; expected a header line `{expected}`")]
    NoHeader { expected: &'static str },
    #[error("missing column `{column}` (the header has: {header})")]
    MissingColumn {
        column: &'static str,
        header: String,
    },
    #[error("expected at least {expected} fields, found {found}")]
    FieldCount { expected: usize, found: usize },
    #[error("missing field `{field}`")]
    MissingField { field: &'static str },
    #[error("{field}: expected {expected}, found {found}")]
    BadField {
        field: &'static str,
        expected: &'static str,
        found: String,
    },
    #[error("not valid {format}: {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error(
        "timestamp {found} is earlier than the previous request's (line {previous_line}); requests must be in time order (sort the file by timestamp first)"
    )]
    OutOfOrder { previous_line: u64, found: String },
    #[error("{field}: more than 584 years after the first request")]
    TooLate { field: &'static str },
    #[error("the trace holds no requests")]
    Empty,
}

/// A CSV trace format: its header (for messages), the time, prompt and output columns (found
/// by name, any order, case ignored) and how a time reads as nanoseconds.
struct CsvSpec {
    header: &'static str,
    columns: [&'static str; 3],
    time: fn(&[u8]) -> Option<i128>,
    time_expected: &'static str,
}

const AZURE: CsvSpec = CsvSpec {
    header: "TIMESTAMP,ContextTokens,GeneratedTokens",
    columns: ["TIMESTAMP", "ContextTokens", "GeneratedTokens"],
    time: parse_datetime,
    time_expected: DATETIME_EXPECTED,
};
const TOKENS_EXPECTED: &str = "a whole number of tokens (0 to 4294967295)";
const DATETIME_EXPECTED: &str = "a date and time like 2023-11-16 18:17:03.9799600";

impl Trace {
    /// Reads and parses a trace file.
    pub fn load(path: impl AsRef<Path>, format: TraceFormat) -> Result<Trace, TraceError> {
        let path = path.as_ref();
        let source = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| TraceError {
            file: source.clone(),
            line: None,
            kind: TraceErrorKind::Io(e.to_string()),
        })?;
        Trace::parse(&source, &bytes, format)
    }

    /// Reads a trace file whose format is given by its extension (`.csv`, `.jsonl`).
    pub fn load_by_extension(path: impl AsRef<Path>) -> Result<Trace, TraceError> {
        let path = path.as_ref();
        let format = TraceFormat::from_path(path).ok_or_else(|| TraceError {
            file: path.display().to_string(),
            line: None,
            kind: TraceErrorKind::UnknownFormat,
        })?;
        Trace::load(path, format)
    }

    /// Parses a trace held in memory; `source` names it in errors.
    pub fn parse(source: &str, bytes: &[u8], format: TraceFormat) -> Result<Trace, TraceError> {
        match format {
            TraceFormat::AzureCsv => Trace::parse_azure_csv(source, bytes),
            TraceFormat::MooncakeJsonl => Trace::parse_mooncake_jsonl(source, bytes),
            TraceFormat::BurstGptCsv => Trace::parse_burstgpt_csv(source, bytes),
        }
    }

    /// Parses the Azure LLM inference CSV format.
    pub fn parse_azure_csv(source: &str, bytes: &[u8]) -> Result<Trace, TraceError> {
        Trace::parse_csv(source, bytes, &AZURE)
    }

    /// Parses a CSV trace whose columns `spec` names.
    fn parse_csv(source: &str, bytes: &[u8], spec: &CsvSpec) -> Result<Trace, TraceError> {
        let fail = |line: Option<u64>, kind| TraceError {
            file: source.to_string(),
            line,
            kind,
        };
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut record = csv::ByteRecord::new();
        // Line numbers are counted here from byte offsets: the csv crate's own line count
        // comes out one short after a CRLF line end (the Azure traces use CRLF).
        let csv_error = |e: csv::Error| {
            let line = e
                .position()
                .map(|p| LineCounter::new(bytes).line_at(p.byte()));
            fail(
                line,
                TraceErrorKind::Syntax {
                    format: "CSV",
                    message: e.to_string(),
                },
            )
        };
        if !reader.read_byte_record(&mut record).map_err(csv_error)? {
            return Err(fail(
                None,
                TraceErrorKind::NoHeader {
                    expected: spec.header,
                },
            ));
        }
        let mut lines = LineCounter::new(bytes);
        let header_line = record.position().map_or(1, |p| lines.line_at(p.byte()));
        let mut columns = [0usize; 3];
        for (slot, name) in columns.iter_mut().zip(spec.columns) {
            *slot = record
                .iter()
                .position(|f| {
                    std::str::from_utf8(f).is_ok_and(|f| f.trim().eq_ignore_ascii_case(name))
                })
                .ok_or_else(|| {
                    let header = record
                        .iter()
                        .map(|f| String::from_utf8_lossy(f).trim().to_string())
                        .collect::<Vec<_>>()
                        .join(", ");
                    fail(
                        Some(header_line),
                        TraceErrorKind::MissingColumn {
                            column: name,
                            header: shown_text(&header),
                        },
                    )
                })?;
        }
        let needed = columns.iter().max().map_or(0, |m| m + 1);
        let mut rows = Rows::default();
        while reader.read_byte_record(&mut record).map_err(csv_error)? {
            let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
            if record.len() < needed {
                return Err(fail(
                    Some(line),
                    TraceErrorKind::FieldCount {
                        expected: needed,
                        found: record.len(),
                    },
                ));
            }
            let field = |i: usize| record.get(columns[i]).unwrap_or(b"");
            let bad = |name, expected, raw: &[u8]| {
                fail(
                    Some(line),
                    TraceErrorKind::BadField {
                        field: name,
                        expected,
                        found: shown(raw),
                    },
                )
            };
            let [time, prompt_column, output_column] = spec.columns;
            let at =
                (spec.time)(field(0)).ok_or_else(|| bad(time, spec.time_expected, field(0)))?;
            let prompt = parse_tokens(field(1))
                .ok_or_else(|| bad(prompt_column, TOKENS_EXPECTED, field(1)))?;
            let output = parse_tokens(field(2))
                .ok_or_else(|| bad(output_column, TOKENS_EXPECTED, field(2)))?;
            rows.push(at, prompt, output, line, time, || shown(field(0)))
                .map_err(|kind| fail(Some(line), kind))?;
        }
        rows.finish(source)
    }

    /// Parses the Mooncake JSONL format.
    pub fn parse_mooncake_jsonl(source: &str, bytes: &[u8]) -> Result<Trace, TraceError> {
        #[derive(serde::Deserialize)]
        struct Row {
            timestamp: Option<serde_json::Value>,
            input_length: Option<serde_json::Value>,
            output_length: Option<serde_json::Value>,
        }
        let fail = |line: u64, kind| TraceError {
            file: source.to_string(),
            line: Some(line),
            kind,
        };
        let mut rows = Rows::default();
        for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = i as u64 + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // Each line is one JSON object: serde would also read a struct from an array of
            // its fields' values, in order, without a single key.
            if raw.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
                return Err(fail(
                    line,
                    TraceErrorKind::Syntax {
                        format: "JSON",
                        message: "expected an object like {\"timestamp\": 0, \"input_length\": \
                                  100, \"output_length\": 10}"
                            .to_string(),
                    },
                ));
            }
            let row: Row = serde_json::from_slice(raw).map_err(|e| {
                fail(
                    line,
                    TraceErrorKind::Syntax {
                        format: "JSON",
                        message: e.to_string(),
                    },
                )
            })?;
            let whole = |name: &'static str, expected, value: Option<serde_json::Value>| {
                let value = value
                    .ok_or_else(|| fail(line, TraceErrorKind::MissingField { field: name }))?;
                value.as_u64().ok_or_else(|| {
                    fail(
                        line,
                        TraceErrorKind::BadField {
                            field: name,
                            expected,
                            found: shown_json(&value),
                        },
                    )
                })
            };
            let ms = whole("timestamp", "a whole number of milliseconds", row.timestamp)?;
            let prompt = whole("input_length", TOKENS_EXPECTED, row.input_length)?;
            let output = whole("output_length", TOKENS_EXPECTED, row.output_length)?;
            let tokens = |name, n: u64| {
                u32::try_from(n).map_err(|_| {
                    fail(
                        line,
                        TraceErrorKind::BadField {
                            field: name,
                            expected: TOKENS_EXPECTED,
                            found: n.to_string(),
                        },
                    )
                })
            };
            let (prompt, output) = (
                tokens("input_length", prompt)?,
                tokens("output_length", output)?,
            );
            let at = i128::from(ms) * 1_000_000;
            rows.push(at, prompt, output, line, "timestamp", || format!("{ms} ms"))
                .map_err(|kind| fail(line, kind))?;
        }
        rows.finish(source)
    }

    pub fn len(&self) -> usize {
        self.arrivals.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arrivals.is_empty()
    }

    /// Time from the first request to the last, ns.
    pub fn span(&self) -> Time {
        self.arrivals.last().map_or(0, |a| a.offset)
    }

    pub fn total_prompt_tokens(&self) -> u64 {
        self.arrivals
            .iter()
            .map(|a| u64::from(a.prompt_tokens))
            .sum()
    }

    pub fn total_output_tokens(&self) -> u64 {
        self.arrivals
            .iter()
            .map(|a| u64::from(a.output_tokens))
            .sum()
    }
}

/// Line numbers from byte offsets, counted incrementally (offsets only grow while reading).
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> LineCounter<'a> {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    /// The line of the record the reader reported at `byte`: the reader's offset may point at
    /// the line end it has just passed (the `\n` of a CRLF, or blank lines), so skip those.
    fn line_at(&mut self, byte: u64) -> u64 {
        let len = self.bytes.len();
        let mut target = usize::try_from(byte).map_or(len, |b| b.min(len));
        while target < len && matches!(self.bytes[target], b'\r' | b'\n') {
            target += 1;
        }
        if target < self.pos {
            (self.pos, self.line) = (0, 1);
        }
        self.line += self.bytes[self.pos..target]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.pos = target;
        self.line
    }
}

/// Rows as they are parsed: checks order and converts absolute times to offsets.
#[derive(Default)]
struct Rows {
    arrivals: Vec<TraceArrival>,
    /// Absolute time of the first row and of the previous row (ns, any epoch), and its line.
    first: i128,
    previous: (i128, u64),
}

impl Rows {
    fn push(
        &mut self,
        at: i128,
        prompt_tokens: u32,
        output_tokens: u32,
        line: u64,
        field: &'static str,
        found: impl FnOnce() -> String,
    ) -> Result<(), TraceErrorKind> {
        if self.arrivals.is_empty() {
            self.first = at;
        } else if at < self.previous.0 {
            return Err(TraceErrorKind::OutOfOrder {
                previous_line: self.previous.1,
                found: found(),
            });
        }
        let offset =
            Time::try_from(at - self.first).map_err(|_| TraceErrorKind::TooLate { field })?;
        self.previous = (at, line);
        self.arrivals.push(TraceArrival {
            offset,
            prompt_tokens,
            output_tokens,
        });
        Ok(())
    }

    fn finish(mut self, source: &str) -> Result<Trace, TraceError> {
        if self.arrivals.is_empty() {
            return Err(TraceError {
                file: source.to_string(),
                line: None,
                kind: TraceErrorKind::Empty,
            });
        }
        self.arrivals.shrink_to_fit();
        Ok(Trace {
            source: source.to_string(),
            arrivals: self.arrivals,
        })
    }
}

/// A field as it appears in a message: quoted, escaped, cut to 60 characters.
fn shown(raw: &[u8]) -> String {
    shown_text(&String::from_utf8_lossy(raw))
}

/// A JSON value as it appears in a message: its JSON text, cut to 60 characters.
fn shown_json(value: &serde_json::Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn shown_text(text: &str) -> String {
    const MAX: usize = 60;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

/// A token count: a whole number in `u32`, surrounding spaces allowed.
fn parse_tokens(raw: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `YYYY-MM-DD HH:MM:SS[.fffffffff]` (or with `T` between date and time) as nanoseconds since
/// 1970-01-01 00:00:00 in the same (unstated) time zone, exactly. At most nine fractional digits.
fn parse_datetime(raw: &[u8]) -> Option<i128> {
    let text = std::str::from_utf8(raw).ok()?.trim().as_bytes();
    if text.len() < 19 {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    let sep = |i: usize, allowed: &[u8]| allowed.contains(&text[i]);
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b" T") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    let (hour, minute, second) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let mut nanos: i128 = 0;
    match &text[19..] {
        [] => {}
        [b'.', frac @ ..] if !frac.is_empty() && frac.len() <= 9 => {
            if !frac.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let value: i128 = std::str::from_utf8(frac).ok()?.parse().ok()?;
            nanos = value * 10i128.pow(9 - frac.len() as u32);
        }
        _ => return None,
    }
    let days = i128::from(days_from_civil(year, month, day));
    let seconds = days * 86_400 + i128::from(hour * 3_600 + minute * 60 + second);
    Some(seconds * i128::from(NANOS_PER_SEC) + nanos)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// How a trace is replayed (see the module documentation for the exact rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayOptions {
    /// Replay speed-up (2 = twice as fast).
    pub speedup: TimeScale,
    /// Trace time to skip (before scaling): requests before it are not replayed.
    pub start_offset: Time,
    /// Play the trace again after its end, forever.
    pub looping: bool,
}

/// One replication's position in a trace.
#[derive(Debug, Clone)]
pub struct ReplayState {
    trace: Arc<Trace>,
    scale: TimeScale,
    start_offset: Time,
    /// Index of the first replayed request.
    first: usize,
    /// Index of the next request to hand out.
    next: usize,
    /// Virtual time added to the current loop (`k · period`).
    loop_base: Time,
    /// Loop period, when looping.
    period: Option<Time>,
    /// Virtual times of the first and last replayed request of loop 0.
    first_at: Time,
    last_at: Time,
}

impl ReplayState {
    pub fn new(trace: Arc<Trace>, options: &ReplayOptions) -> Result<ReplayState, WorkloadError> {
        let n = trace.arrivals.len();
        let first = trace
            .arrivals
            .partition_point(|a| a.offset < options.start_offset);
        if first == n {
            return Err(WorkloadError::new(
                "start_offset",
                format!(
                    "{} skips all of {} (its last request is {} after its first)",
                    sim_core::time::format_duration(options.start_offset),
                    trace.source,
                    sim_core::time::format_duration(trace.span())
                ),
            ));
        }
        let scale = options.speedup;
        let at = |i: usize| scale.apply(trace.arrivals[i].offset - options.start_offset);
        let (first_at, last_at) = (at(first), at(n - 1));
        let period = if options.looping {
            let span = last_at - first_at;
            if span == 0 {
                return Err(WorkloadError::new(
                    "loop",
                    format!(
                        "cannot loop {}: the replayed part ({} requests) spans no time",
                        trace.source,
                        n - first
                    ),
                ));
            }
            let gaps = (n - first - 1) as u64;
            let mean_gap = ((span + gaps / 2) / gaps).max(1);
            Some(span.checked_add(mean_gap).ok_or_else(|| {
                WorkloadError::new("loop", "the loop period passes the end of time")
            })?)
        } else {
            None
        };
        Ok(ReplayState {
            trace,
            scale,
            start_offset: options.start_offset,
            first,
            next: first,
            loop_base: 0,
            period,
            first_at,
            last_at,
        })
    }

    /// The next request's arrival time and recorded token counts; `None` at the end of a trace
    /// that does not loop.
    #[inline]
    pub fn next_request(&mut self) -> Option<(Time, TraceTokens)> {
        if self.next == self.trace.arrivals.len() {
            self.loop_base = self.loop_base.checked_add(self.period?)?;
            self.next = self.first;
        }
        let a = self.trace.arrivals[self.next];
        self.next += 1;
        let at = self
            .loop_base
            .checked_add(self.scale.apply(a.offset - self.start_offset))?;
        Some((
            at,
            TraceTokens {
                prompt: a.prompt_tokens,
                output: a.output_tokens,
            },
        ))
    }

    /// The same interface as the synthetic generators; `now` and `rng` are not used.
    #[inline]
    pub fn next_arrival(&mut self, _now: Time, _rng: &mut sim_core::RandomStream) -> Option<Time> {
        self.next_request().map(|(at, _)| at)
    }

    /// Requests replayed per pass over the trace.
    pub fn requests_per_loop(&self) -> usize {
        self.trace.arrivals.len() - self.first
    }

    /// The loop period in virtual time, when looping.
    pub fn period(&self) -> Option<Time> {
        self.period
    }

    /// Virtual times of the first and last request of the first pass.
    pub fn first_and_last(&self) -> (Time, Time) {
        (self.first_at, self.last_at)
    }

    /// Requests per second: `n / period` when looping, else `(n − 1) / span` while the trace
    /// plays (NaN for a single request).
    pub fn mean_rate_per_s(&self) -> f64 {
        let n = self.requests_per_loop() as f64;
        match self.period {
            Some(p) => n * NANOS_PER_SEC as f64 / p as f64,
            None => (n - 1.0) * NANOS_PER_SEC as f64 / (self.last_at - self.first_at) as f64,
        }
    }
}

#[cfg(test)]
mod tests;
