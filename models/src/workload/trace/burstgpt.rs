//! The BurstGPT trace format (Wang et al., "BurstGPT: A Real-world Workload Dataset to Optimize
//! LLM Serving Systems", 2024; github.com/HPMLL/BurstGPT): CSV with the header
//! `Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type`, one row per request,
//! `Timestamp` in seconds since the trace's start. Only `Timestamp`, `Request tokens` and
//! `Response tokens` are read (columns found by name); failed requests, which the trace records
//! with 0 response tokens, are replayed as they are (a replica generates at least one token).

use super::{CsvSpec, Trace, TraceError};

const SECONDS_EXPECTED: &str = "a number of seconds like 5 or 12.25 (at most 9 decimals)";

const BURSTGPT: CsvSpec = CsvSpec {
    header: "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type",
    columns: ["Timestamp", "Request tokens", "Response tokens"],
    time: parse_seconds,
    time_expected: SECONDS_EXPECTED,
};

impl Trace {
    /// Parses the BurstGPT CSV format.
    pub fn parse_burstgpt_csv(source: &str, bytes: &[u8]) -> Result<Trace, TraceError> {
        Trace::parse_csv(source, bytes, &BURSTGPT)
    }
}

/// Non-negative decimal seconds as nanoseconds, exactly: `12.25` is 12 250 000 000.
pub(super) fn parse_seconds(raw: &[u8]) -> Option<i128> {
    let text = std::str::from_utf8(raw).ok()?.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 20 || !digits(whole) || frac.len() > 9 || !digits(frac) {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let mut nanos: i128 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac.as_bytes().get(i).map_or(0, |b| i128::from(b - b'0'));
    }
    Some(whole * 1_000_000_000 + nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::trace::{TraceErrorKind, TraceFormat};

    /// A hand-written fixture in BurstGPT's layout (no BurstGPT data is vendored): a
    /// conversation log, an API log, a failure (0 response tokens) and a fractional time.
    const FIXTURE: &str = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
        5,ChatGPT,472,18,490,Conversation log\n\
        45,ChatGPT,1087,230,1317,API log\n\
        45,GPT-4,200,0,200,Conversation log\n\
        118.5,GPT-4,35,120,155,API log\n";

    #[test]
    fn reads_times_and_token_counts() {
        let t = Trace::parse("b.csv", FIXTURE.as_bytes(), TraceFormat::BurstGptCsv).unwrap();
        let rows: Vec<_> = t
            .arrivals
            .iter()
            .map(|a| (a.offset, a.prompt_tokens, a.output_tokens))
            .collect();
        assert_eq!(
            rows,
            [
                (0, 472, 18),
                (40_000_000_000, 1087, 230),
                (40_000_000_000, 200, 0),
                (113_500_000_000, 35, 120),
            ]
        );
        assert_eq!(
            TraceFormat::from_name("burstgpt-csv"),
            Some(TraceFormat::BurstGptCsv)
        );
        assert_eq!(TraceFormat::BurstGptCsv.name(), "burstgpt-csv");
    }

    #[test]
    fn seconds_parse_exactly_or_not_at_all() {
        assert_eq!(parse_seconds(b"12.25"), Some(12_250_000_000));
        assert_eq!(parse_seconds(b" 7 "), Some(7_000_000_000));
        assert_eq!(parse_seconds(b"0.000000001"), Some(1));
        for bad in [
            &b""[..],
            b"-1",
            b"1e3",
            b"1.0000000001",
            b".5",
            b"1.2.3",
            b"x",
        ] {
            assert_eq!(
                parse_seconds(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn errors_name_the_line_and_column() {
        let bad = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
            5,ChatGPT,472,18,490,Conversation log\n\
            6,ChatGPT,many,18,490,API log\n";
        let e = Trace::parse("b.csv", bad.as_bytes(), TraceFormat::BurstGptCsv).unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(
            matches!(
                e.kind,
                TraceErrorKind::BadField {
                    field: "Request tokens",
                    ..
                }
            ),
            "{e}"
        );
        let no_column = "Timestamp,Model,Total tokens\n5,ChatGPT,490\n";
        let e = Trace::parse("b.csv", no_column.as_bytes(), TraceFormat::BurstGptCsv).unwrap_err();
        assert!(
            matches!(
                e.kind,
                TraceErrorKind::MissingColumn {
                    column: "Request tokens",
                    ..
                }
            ),
            "{e}"
        );
        let late = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n\
            9,ChatGPT,1,1,2,API log\n\
            3,ChatGPT,1,1,2,API log\n";
        let e = Trace::parse("b.csv", late.as_bytes(), TraceFormat::BurstGptCsv).unwrap_err();
        assert!(
            matches!(
                e.kind,
                TraceErrorKind::OutOfOrder {
                    previous_line: 2,
                    ..
                }
            ),
            "{e}"
        );
    }
}
