//! V8 (VALIDATION.md): trace replay reproduces the real traces exactly.
//!
//! The traces are vendored in the repository's `data/traces/` (provenance, licences and digests
//! in `data/README.md`). A test that needs one and does not find it fails, naming the file.
//!
//! Expected figures, computed independently below with a plain line split and also stated here:
//! - `AzureLLMInferenceTrace_code.csv`: 8,819 requests; ContextTokens sum 18,059,974;
//!   GeneratedTokens sum 245,896; first 2023-11-16 18:17:03.9799600, last 19:14:19.9280160, so
//!   the span is 3,435.9480560 s.
//! - `mooncake_synthetic_trace.jsonl`: 3,993 requests; input_length sum 61,194,628;
//!   output_length sum 595,432; last timestamp 1,022,025 ms.

use models::workload::{
    Arrival, ArrivalSpec, ArrivalState, ReplayOptions, ReplayState, RequestShape, TimeScale,
    TokenSource, Trace, TraceArrival, TraceFormat,
};
use sim_core::{NANOS_PER_SEC, RandomStream, Time};
use std::path::PathBuf;
use std::sync::Arc;

const AZURE_CODE: &str = "AzureLLMInferenceTrace_code.csv";
const AZURE_CONV: &str = "AzureLLMInferenceTrace_conv.csv";
const MOONCAKE: &str = "mooncake_synthetic_trace.jsonl";

/// The vendored data file `name`, or a failure naming it.
fn data_file(name: &str) -> PathBuf {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/traces")).join(name);
    assert!(
        path.is_file(),
        "this test needs the vendored data file {} (`{name}`, described in data/README.md), \
         and it is absent",
        path.display()
    );
    path
}

fn text(name: &str) -> String {
    std::fs::read_to_string(data_file(name)).unwrap()
}

/// Row count and column sums of an Azure CSV by plain line splitting (no csv crate), and the
/// offsets in ns of each row from the first (the trace holds a single day, so the time of day is
/// enough).
fn azure_by_hand(name: &str) -> (u64, u64, u64, Vec<Time>) {
    let text = text(name);
    let mut lines = text.lines();
    assert_eq!(
        lines.next().unwrap().trim(),
        "TIMESTAMP,ContextTokens,GeneratedTokens"
    );
    let (mut n, mut context, mut generated) = (0, 0, 0);
    let mut times = Vec::new();
    for line in lines {
        let fields: Vec<&str> = line.trim().split(',').collect();
        n += 1;
        context += fields[1].parse::<u64>().unwrap();
        generated += fields[2].parse::<u64>().unwrap();
        // "2023-11-16 18:17:03.9799600": seconds of the day, then 7 decimals (100 ns units).
        let (date, clock) = fields[0].split_once(' ').unwrap();
        assert_eq!(date, "2023-11-16");
        let (hms, frac) = clock.split_once('.').unwrap();
        let mut parts = hms.split(':').map(|p| p.parse::<u64>().unwrap());
        let (h, m, s) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert_eq!(frac.len(), 7);
        times.push((h * 3600 + m * 60 + s) * NANOS_PER_SEC + frac.parse::<u64>().unwrap() * 100);
    }
    let first = times[0];
    (
        n,
        context,
        generated,
        times.iter().map(|t| t - first).collect(),
    )
}

/// The integer after `"key": ` in a JSON line.
fn json_int(line: &str, key: &str) -> u64 {
    let pattern = format!("\"{key}\": ");
    let start = line.find(&pattern).unwrap() + pattern.len();
    let digits: String = line[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// Replays `spec` through the same generator the world uses, with token counts from the trace,
/// up to (excluding) `until`: returns the number of jobs, the two token sums and the last time.
fn replay_jobs(spec: &ArrivalSpec, until: Time) -> (u64, u64, u64, Time) {
    let shape = RequestShape {
        prompt_tokens: TokenSource::FromTrace,
        output_tokens: TokenSource::FromTrace,
        priority: 0,
        route: 0,
    };
    shape.validate(spec).unwrap();
    let mut state = ArrivalState::new(spec).unwrap();
    let mut rng = RandomStream::from_seed(1);
    let mut tokens_rng = RandomStream::from_seed(2);
    let (mut jobs, mut prompt, mut output, mut last) = (0, 0, 0, 0);
    let mut now = 0;
    while let Some(arrival @ Arrival { at, .. }) = state.next(now, &mut rng) {
        assert!(at >= now);
        if at >= until {
            break;
        }
        let t = shape.tokens(&arrival, &mut tokens_rng);
        jobs += 1;
        prompt += u64::from(t.prompt);
        output += u64::from(t.output);
        (now, last) = (at, at);
    }
    (jobs, prompt, output, last)
}

fn azure_code() -> Arc<Trace> {
    Arc::new(Trace::load(data_file(AZURE_CODE), TraceFormat::AzureCsv).unwrap())
}

const CODE_SPAN: Time = 3_435_948_056_000;

#[test]
fn v8_azure_code_trace_gives_exactly_its_jobs_and_token_sums() {
    let (n, context, generated, offsets) = azure_by_hand(AZURE_CODE);
    // Stated figures (see the module comment), cross-checked against the hand count.
    assert_eq!(
        (n, context, generated),
        (8_819, 18_059_974, 245_896),
        "hand count"
    );
    assert_eq!(*offsets.last().unwrap(), CODE_SPAN);

    let trace = azure_code();
    assert_eq!(trace.len(), 8_819);
    assert_eq!(trace.total_prompt_tokens(), 18_059_974);
    assert_eq!(trace.total_output_tokens(), 245_896);
    assert_eq!(trace.span(), CODE_SPAN);
    // Every timestamp converted exactly (integer ns from the 7-decimal strings).
    let parsed: Vec<Time> = trace.arrivals.iter().map(|a| a.offset).collect();
    assert_eq!(parsed, offsets);
    // Compact: 16 bytes a request.
    assert_eq!(std::mem::size_of::<TraceArrival>(), 16);

    // Through the generator the world calls: every row is one job, in order, and nothing else.
    let spec = ArrivalSpec::Trace {
        trace,
        replay: ReplayOptions::default(),
    };
    let (jobs, prompt, output, last) = replay_jobs(&spec, Time::MAX);
    assert_eq!(
        (jobs, prompt, output, last),
        (8_819, 18_059_974, 245_896, CODE_SPAN)
    );
    // The mean rate the README quotes (2.57/s): 8,818 gaps over the span.
    let rate = spec.mean_rate_per_s();
    assert!((rate - 8_818.0 / 3_435.948_056).abs() < 1e-9, "{rate}");
}

#[test]
fn mooncake_trace_gives_exactly_its_rows_and_token_sums() {
    let text = text(MOONCAKE);
    let (mut n, mut input, mut output, mut last_ms) = (0u64, 0u64, 0u64, 0u64);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        n += 1;
        input += json_int(line, "input_length");
        output += json_int(line, "output_length");
        last_ms = json_int(line, "timestamp");
    }
    assert_eq!(
        (n, input, output, last_ms),
        (3_993, 61_194_628, 595_432, 1_022_025),
        "hand count"
    );
    let trace = Arc::new(Trace::load_by_extension(data_file(MOONCAKE)).unwrap());
    assert_eq!(trace.len(), 3_993);
    assert_eq!(trace.total_prompt_tokens(), 61_194_628);
    assert_eq!(trace.total_output_tokens(), 595_432);
    assert_eq!(trace.span(), 1_022_025 * 1_000_000);
    let spec = ArrivalSpec::Trace {
        trace,
        replay: ReplayOptions::default(),
    };
    assert_eq!(
        replay_jobs(&spec, Time::MAX),
        (3_993, 61_194_628, 595_432, 1_022_025 * 1_000_000)
    );
}

#[test]
fn azure_conv_trace_parses_exactly() {
    let (n, context, generated, offsets) = azure_by_hand(AZURE_CONV);
    assert_eq!(n, 19_366);
    let trace = Trace::load_by_extension(data_file(AZURE_CONV)).unwrap();
    assert_eq!(trace.len() as u64, n);
    assert_eq!(trace.total_prompt_tokens(), context);
    assert_eq!(trace.total_output_tokens(), generated);
    assert_eq!(trace.span(), *offsets.last().unwrap());
}

#[test]
fn time_scaling_halves_the_span() {
    let trace = azure_code();
    let fast = ArrivalSpec::Trace {
        trace: trace.clone(),
        replay: ReplayOptions {
            speedup: TimeScale::parse("2").unwrap(),
            ..Default::default()
        },
    };
    let (jobs, prompt, _, last) = replay_jobs(&fast, Time::MAX);
    assert_eq!((jobs, prompt), (8_819, 18_059_974));
    assert_eq!(last, CODE_SPAN / 2); // the span is even: exactly half
    // Every arrival is exactly half its trace offset, rounded to the nearest ns (halves up).
    let mut state = ArrivalState::new(&fast).unwrap();
    let mut rng = RandomStream::from_seed(0);
    for a in &trace.arrivals {
        assert_eq!(state.next_arrival(0, &mut rng), Some(a.offset.div_ceil(2)));
    }
    assert_eq!(state.next_arrival(0, &mut rng), None);
    // Half speed doubles it.
    let slow = ArrivalSpec::Trace {
        trace,
        replay: ReplayOptions {
            speedup: TimeScale::from_f64(0.5).unwrap(),
            ..Default::default()
        },
    };
    assert_eq!(replay_jobs(&slow, Time::MAX).3, 2 * CODE_SPAN);
}

#[test]
fn looping_continues_past_the_end_by_the_documented_rule() {
    let trace = azure_code();
    let spec = ArrivalSpec::Trace {
        trace: trace.clone(),
        replay: ReplayOptions {
            looping: true,
            ..Default::default()
        },
    };
    // Rule: the next loop starts one mean inter-arrival after the last request,
    // g = round(span / (n − 1)) = round(3,435,948,056,000 / 8,818) = 389,651,628 ns, so the
    // period is span + g.
    let gap = (CODE_SPAN + 8_818 / 2) / 8_818;
    assert_eq!(gap, 389_651_628);
    let period = CODE_SPAN + gap;
    let ArrivalSpec::Trace { replay, .. } = &spec else {
        unreachable!()
    };
    assert_eq!(
        ReplayState::new(trace.clone(), replay).unwrap().period(),
        Some(period)
    );

    let mut state = ArrivalState::new(&spec).unwrap();
    let mut rng = RandomStream::from_seed(0);
    let times: Vec<Time> = (0..3 * 8_819)
        .map(|_| state.next_arrival(0, &mut rng).unwrap())
        .collect();
    assert_eq!(times[8_818], CODE_SPAN);
    assert_eq!(
        times[8_819],
        CODE_SPAN + gap,
        "second pass starts one mean gap later"
    );
    assert_eq!(times[2 * 8_819], 2 * period);
    for (i, t) in times.iter().enumerate() {
        let a = trace.arrivals[i % 8_819];
        assert_eq!(*t, (i / 8_819) as Time * period + a.offset);
    }
    // Three periods hold exactly three copies of the trace: jobs and tokens triple.
    assert_eq!(
        replay_jobs(&spec, 3 * period),
        (
            3 * 8_819,
            3 * 18_059_974,
            3 * 245_896,
            2 * period + CODE_SPAN
        )
    );
}

#[test]
fn start_offset_skips_the_first_rows() {
    let trace = azure_code();
    let (_, _, _, offsets) = azure_by_hand(AZURE_CODE);
    let start = 600 * NANOS_PER_SEC; // skip the first 10 minutes of the trace
    let skipped = offsets.iter().filter(|o| **o < start).count();
    assert!(skipped > 0 && skipped < 8_819);
    let spec = ArrivalSpec::Trace {
        trace: trace.clone(),
        replay: ReplayOptions {
            start_offset: start,
            ..Default::default()
        },
    };
    let kept = &trace.arrivals[skipped..];
    let (jobs, prompt, output, last) = replay_jobs(&spec, Time::MAX);
    assert_eq!(jobs as usize, 8_819 - skipped);
    assert_eq!(
        prompt,
        kept.iter().map(|a| u64::from(a.prompt_tokens)).sum::<u64>()
    );
    assert_eq!(
        output,
        kept.iter().map(|a| u64::from(a.output_tokens)).sum::<u64>()
    );
    // Replay time 0 is trace time 10 min.
    assert_eq!(last, CODE_SPAN - start);
    let mut state = ArrivalState::new(&spec).unwrap();
    let first = state.next(0, &mut RandomStream::from_seed(0)).unwrap();
    assert_eq!(first.at, kept[0].offset - start);
    assert_eq!(first.tokens.unwrap().prompt, kept[0].prompt_tokens);
}

#[test]
#[should_panic(expected = "needs the vendored data file")]
fn an_absent_data_file_is_named() {
    data_file("no_such_trace.csv");
}

#[test]
fn a_damaged_real_trace_is_reported_with_file_and_line() {
    // The real file with row 16 (line 17) damaged, parsed under the file's own name.
    let text = text(AZURE_CODE);
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let (keep, _) = lines[16].rsplit_once(',').unwrap();
    lines[16] = format!("{keep},x\r");
    let e = Trace::parse_azure_csv(AZURE_CODE, lines.join("\n").as_bytes()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "AzureLLMInferenceTrace_code.csv:17: GeneratedTokens: expected a whole number of tokens \
         (0 to 4294967295), found \"x\""
    );
    // Two rows swapped: out of order, naming both lines.
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    lines.swap(100, 101);
    let e = Trace::parse_azure_csv(AZURE_CODE, lines.join("\n").as_bytes()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("AzureLLMInferenceTrace_code.csv:102: timestamp \"2023-11-16 18:20:16.1421010\" is earlier"),
        "{e}"
    );
    assert!(e.to_string().contains("(line 101)"), "{e}");
}
