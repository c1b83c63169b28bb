use super::*;

fn azure(text: &str) -> Result<Trace, TraceError> {
    Trace::parse_azure_csv("t.csv", text.as_bytes())
}

fn mooncake(text: &str) -> Result<Trace, TraceError> {
    Trace::parse_mooncake_jsonl("t.jsonl", text.as_bytes())
}

#[test]
fn datetimes_convert_exactly() {
    assert_eq!(parse_datetime(b"1970-01-01 00:00:00"), Some(0));
    assert_eq!(parse_datetime(b"1970-01-01 00:00:00.000000001"), Some(1));
    assert_eq!(
        parse_datetime(b"2023-11-16 18:17:03.9799600"),
        // 1700158623 s since the epoch (date -u -d '2023-11-16 18:17:03' +%s).
        Some(1_700_158_623_979_960_000)
    );
    assert_eq!(
        parse_datetime(b"2024-02-29T00:00:00.5"),
        Some(1_709_164_800_500_000_000)
    );
    assert_eq!(parse_datetime(b"1969-12-31 23:59:59"), Some(-1_000_000_000));
    for bad in [
        &b"2023-02-29 00:00:00"[..],
        b"2023-13-01 00:00:00",
        b"2023-11-16 24:00:00",
        b"2023-11-16 18:17:03.",
        b"2023-11-16 18:17:03.1234567890",
        b"2023-11-16 18:17:03.12a",
        b"2023-11-16",
        b"2023/11/16 18:17:03",
        b"+023-11-16 18:17:03",
        b"\xff\xfe",
    ] {
        assert_eq!(
            parse_datetime(bad),
            None,
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn parses_azure_rows() {
    let t = azure(
        "\u{feff}TIMESTAMP,ContextTokens,GeneratedTokens\r\n\
         2023-11-16 18:17:03.9799600,4808,10\r\n\
         2023-11-16 18:17:04.0319600,3180,8\r\n\
         2023-11-16 18:17:04.0319600,110,27",
    )
    .unwrap();
    assert_eq!(
        t.arrivals,
        vec![
            TraceArrival {
                offset: 0,
                prompt_tokens: 4808,
                output_tokens: 10
            },
            TraceArrival {
                offset: 52_000_000,
                prompt_tokens: 3180,
                output_tokens: 8
            },
            TraceArrival {
                offset: 52_000_000,
                prompt_tokens: 110,
                output_tokens: 27
            },
        ]
    );
    // Columns by name, in any order, extra columns ignored.
    let t =
        azure("GeneratedTokens,x,timestamp,ContextTokens\n5,?,2023-01-01 00:00:01,7\n").unwrap();
    assert_eq!(t.arrivals[0].prompt_tokens, 7);
    assert_eq!(t.arrivals[0].output_tokens, 5);
}

#[test]
fn azure_errors_name_file_line_and_problem() {
    let header = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
    let good = "2023-11-16 18:17:03.9799600,4808,10\n";
    let e = azure(&format!("{header}{good}{good}2023-11-16 18:17:04.0,1,x\n")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.csv:4: GeneratedTokens: expected a whole number of tokens (0 to 4294967295), found \"x\""
    );
    let e = azure(&format!("{header}{good}2023-11-16 18:17:04.0,-1,3\n")).unwrap_err();
    assert_eq!(
        (e.line, e.to_string().contains("ContextTokens")),
        (Some(3), true)
    );
    let e = azure(&format!("{header}yesterday,1,3\n")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.csv:2: TIMESTAMP: expected a date"),
        "{e}"
    );
    let e = azure(&format!("{header}{good}2023-11-16 18:17:04.0,1\n")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.csv:3: expected at least 3 fields, found 2"
    );
    let e = azure("TIMESTAMP,ContextTokens\n2023-11-16 18:17:04.0,1\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.csv:1: missing column `GeneratedTokens` (the header has: \"TIMESTAMP, ContextTokens\")"
    );
    assert_eq!(
        azure("").unwrap_err().kind,
        TraceErrorKind::NoHeader {
            expected: AZURE.header
        }
    );
    assert_eq!(
        azure(header).unwrap_err().to_string(),
        "t.csv: the trace holds no requests"
    );
    let e = azure(&format!("{header}2023-11-16 18:17:05.0,1,1\n{good}")).unwrap_err();
    assert_eq!(e.line, Some(3));
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
    let e = azure(&format!(
        "{header}{good}2023-11-16 18:17:04.0,99999999999,3\n"
    ))
    .unwrap_err();
    assert_eq!(e.line, Some(3));
}

#[test]
fn line_numbers_count_crlf_and_blank_lines() {
    let good = "2023-11-16 18:17:03.9799600,4808,10";
    for sep in ["\n", "\r\n"] {
        let text = format!(
            "TIMESTAMP,ContextTokens,GeneratedTokens{sep}{good}{sep}{sep}{good}{sep}2023-11-16 18:17:04.0,1,x{sep}"
        );
        let e = azure(&text).unwrap_err();
        assert_eq!(e.line, Some(5), "{sep:?}: {e}");
        let text = format!("{sep}TIMESTAMP,ContextTokens{sep}{good}");
        assert_eq!(azure(&text).unwrap_err().line, Some(2), "{sep:?}");
    }
}

#[test]
fn parses_mooncake_rows() {
    let t = mooncake(
        "{\"timestamp\": 0, \"input_length\": 40160, \"output_length\": 6, \"hash_ids\": [0, 1]}\n\
         \n\
         {\"timestamp\": 27, \"input_length\": 9, \"output_length\": 1, \"hash_ids\": []}\r\n",
    )
    .unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t.arrivals[1].offset, 27_000_000);
    assert_eq!(t.total_prompt_tokens(), 40169);
}

#[test]
fn mooncake_errors_name_file_line_and_problem() {
    let good = "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 2}\n";
    let e = mooncake(&format!(
        "{good}{{\"timestamp\": 6, \"input_length\": 1}}\n"
    ))
    .unwrap_err();
    assert_eq!(e.to_string(), "t.jsonl:2: missing field `output_length`");
    let e = mooncake(&format!(
        "{good}{good}{{\"timestamp\": 6.5, \"input_length\": 1, \"output_length\": 2}}\n"
    ))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "t.jsonl:3: timestamp: expected a whole number of milliseconds, found 6.5"
    );
    let e = mooncake(&format!(
        "{good}{{\"timestamp\": 6, \"input_length\": \"x\", \"output_length\": 2}}\n"
    ))
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("t.jsonl:2: input_length: expected a whole number"),
        "{e}"
    );
    let e = mooncake(&format!("{good}[1, 2]\n")).unwrap_err();
    assert!(
        e.to_string().starts_with("t.jsonl:2: not valid JSON"),
        "{e}"
    );
    let e = mooncake(&format!(
        "{good}{{\"timestamp\": 4, \"input_length\": 1, \"output_length\": 2}}\n"
    ))
    .unwrap_err();
    assert!(
        matches!(
            e.kind,
            TraceErrorKind::OutOfOrder {
                previous_line: 1,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(mooncake("\n \n").unwrap_err().kind, TraceErrorKind::Empty);
}

#[test]
fn load_names_the_missing_file() {
    let e = Trace::load("/nonexistent/trace.csv", TraceFormat::AzureCsv).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/trace.csv: cannot read"),
        "{e}"
    );
    let e = Trace::load_by_extension("trace.parquet").unwrap_err();
    assert_eq!(e.kind, TraceErrorKind::UnknownFormat);
}

#[test]
fn time_scales_are_exact_fractions() {
    assert_eq!(
        TimeScale::parse("2").unwrap(),
        TimeScale::new(2, 1).unwrap()
    );
    assert_eq!(
        TimeScale::parse("0.5").unwrap(),
        TimeScale::new(1, 2).unwrap()
    );
    assert_eq!(
        TimeScale::parse("2.50x").unwrap(),
        TimeScale::new(5, 2).unwrap()
    );
    assert_eq!(
        TimeScale::parse("3/2").unwrap(),
        TimeScale::new(3, 2).unwrap()
    );
    assert_eq!(
        TimeScale::parse("1.5/0.5").unwrap(),
        TimeScale::new(3, 1).unwrap()
    );
    assert_eq!(
        TimeScale::from_f64(0.1).unwrap(),
        TimeScale::new(1, 10).unwrap()
    );
    for bad in [
        "",
        "0",
        "-1",
        "x",
        "1/0",
        "1e3",
        ".",
        "99999999999999999999",
    ] {
        assert!(TimeScale::parse(bad).is_err(), "{bad:?}");
    }
    assert!(TimeScale::from_f64(f64::NAN).is_err());
    let s = TimeScale::new(3, 1).unwrap();
    assert_eq!(s.apply(10), 3); // 3.33 → 3
    assert_eq!(s.apply(11), 4); // 3.67 → 4
    assert_eq!(TimeScale::new(2, 1).unwrap().apply(5), 3); // 2.5 → 3 (halves up)
    assert_eq!(TimeScale::new(1, 3).unwrap().apply(u64::MAX), u64::MAX);
}

fn tiny() -> Arc<Trace> {
    // Requests at 0, 10, 20, 60 s with distinct token counts.
    Arc::new(Trace {
        source: "tiny".into(),
        arrivals: [0u64, 10, 20, 60]
            .iter()
            .enumerate()
            .map(|(i, s)| TraceArrival {
                offset: s * NANOS_PER_SEC,
                prompt_tokens: i as u32 + 1,
                output_tokens: 10 * (i as u32 + 1),
            })
            .collect(),
    })
}

fn replay(options: ReplayOptions, count: usize) -> Vec<(Time, TraceTokens)> {
    let mut r = ReplayState::new(tiny(), &options).unwrap();
    std::iter::from_fn(|| r.next_request())
        .take(count)
        .collect()
}

#[test]
fn replays_with_offset_scale_and_loops() {
    let s = NANOS_PER_SEC;
    let plain = replay(ReplayOptions::default(), 10);
    assert_eq!(
        plain.iter().map(|x| x.0).collect::<Vec<_>>(),
        [0, 10 * s, 20 * s, 60 * s]
    );
    let fast = ReplayOptions {
        speedup: TimeScale::new(2, 1).unwrap(),
        ..Default::default()
    };
    assert_eq!(
        replay(fast, 10).iter().map(|x| x.0).collect::<Vec<_>>(),
        [0, 5 * s, 10 * s, 30 * s]
    );
    // Start at trace time 5 s: the first request is skipped and replay time 0 is trace 5 s.
    let skip = ReplayOptions {
        start_offset: 5 * s,
        ..Default::default()
    };
    let skipped = replay(skip, 10);
    assert_eq!(
        skipped.iter().map(|x| x.0).collect::<Vec<_>>(),
        [5 * s, 15 * s, 55 * s]
    );
    assert_eq!(skipped[0].1.prompt, 2);
    // Looping the part from 5 s on: span 50 s over 2 gaps → mean gap 25 s, period 75 s.
    let looped = ReplayOptions {
        start_offset: 5 * s,
        looping: true,
        ..Default::default()
    };
    let times: Vec<Time> = replay(looped, 7).iter().map(|x| x.0).collect();
    assert_eq!(
        times,
        [5 * s, 15 * s, 55 * s, 80 * s, 90 * s, 130 * s, 155 * s]
    );
    let r = ReplayState::new(tiny(), &looped).unwrap();
    assert_eq!(r.period(), Some(75 * s));
    assert!((r.mean_rate_per_s() - 3.0 / 75.0).abs() < 1e-12);
}

#[test]
fn replay_rejects_impossible_options() {
    let e = ReplayState::new(
        tiny(),
        &ReplayOptions {
            start_offset: 61 * NANOS_PER_SEC,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.field, "start_offset");
    assert!(e.message.contains("tiny"), "{e}");
    let e = ReplayState::new(
        tiny(),
        &ReplayOptions {
            start_offset: 30 * NANOS_PER_SEC,
            looping: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.field, "loop");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    /// Lines that are nearly valid, to get past the header and reach the row checks.
    fn csv_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("2023-11-16 18:17:03.9799600,4808,10".to_string()),
            Just("TIMESTAMP,ContextTokens,GeneratedTokens".to_string()),
            "[0-9 :.T-]{0,30},[0-9x-]{0,12},[0-9]{0,12}",
            "\\PC{0,40}",
            Just("\"quoted,\"\",field\",1,2".to_string()),
            Just("2023-11-16 18:17:03,1,2,3,4".to_string()),
        ]
    }

    fn json_line() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 2}".to_string()),
            "\\{\"timestamp\": -?[0-9.e]{0,25}, \"input_length\": [0-9\"x]{0,12}, \"output_length\": [0-9]{0,11}\\}",
            "\\PC{0,40}",
            Just(
                "{\"timestamp\": 18446744073709551615, \"input_length\": 1, \"output_length\": 1}"
                    .to_string()
            ),
            Just("null".to_string()),
        ]
    }

    proptest! {
        #[test]
        fn parsers_never_panic_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = Trace::parse_azure_csv("p.csv", &bytes);
            let _ = Trace::parse_mooncake_jsonl("p.jsonl", &bytes);
        }

        #[test]
        fn parsers_never_panic_on_lines(
            csv in proptest::collection::vec(csv_line(), 0..12),
            json in proptest::collection::vec(json_line(), 0..12),
            crlf in any::<bool>(),
        ) {
            let sep = if crlf { "\r\n" } else { "\n" };
            let text = format!("TIMESTAMP,ContextTokens,GeneratedTokens{sep}{}", csv.join(sep));
            match Trace::parse_azure_csv("p.csv", text.as_bytes()) {
                Ok(t) => {
                    prop_assert!(!t.is_empty());
                    prop_assert_eq!(t.arrivals[0].offset, 0);
                    prop_assert!(t.arrivals.windows(2).all(|w| w[0].offset <= w[1].offset));
                }
                Err(e) => {
                    prop_assert!(e.to_string().starts_with("p.csv"));
                    let lines = text.split('\n').count() as u64;
                    prop_assert!(e.line.is_none_or(|l| (1..=lines).contains(&l)), "{e}");
                }
            }
            let text = json.join(sep);
            match Trace::parse_mooncake_jsonl("p.jsonl", text.as_bytes()) {
                Ok(t) => prop_assert!(t.arrivals.windows(2).all(|w| w[0].offset <= w[1].offset)),
                Err(e) => prop_assert!(e.to_string().starts_with("p.jsonl")),
            }
        }

        #[test]
        fn replay_is_monotone_and_scaling_is_exact(
            gaps in proptest::collection::vec(0u64..5_000_000_000, 1..40),
            numer in 1u64..10, denom in 1u64..10,
            start in 0u64..20_000_000_000,
            looping in any::<bool>(),
        ) {
            let mut offset = 0;
            let arrivals: Vec<TraceArrival> = gaps.iter().map(|g| {
                offset += g;
                TraceArrival { offset: offset - gaps[0], prompt_tokens: 1, output_tokens: 1 }
            }).collect();
            let trace = Arc::new(Trace { source: "p".into(), arrivals });
            let speedup = TimeScale::new(numer, denom).unwrap();
            let options = ReplayOptions { speedup, start_offset: start, looping };
            let Ok(mut r) = ReplayState::new(trace.clone(), &options) else { return Ok(()) };
            let n = r.requests_per_loop();
            let mut previous = 0;
            for i in 0..3 * n {
                match r.next_request() {
                    Some((at, _)) => {
                        prop_assert!(at >= previous);
                        let k = (i / n) as u64;
                        let a = trace.arrivals[trace.len() - n + i % n];
                        let expected = k * r.period().unwrap_or(0) + speedup.apply(a.offset - start);
                        prop_assert_eq!(at, expected);
                        previous = at;
                    }
                    None => { prop_assert!(!looping); prop_assert_eq!(i, n); break; }
                }
            }
        }
    }
}
