//! The recorder driven by hand, hook by hook, against rows and events worked out here.

use super::*;
use std::sync::{Arc, Mutex};

const S: Time = 1_000_000_000;

/// A writer whose bytes the test reads back after the recorder is gone.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn names() -> Names {
    Names {
        tenants: vec!["chat".into()],
        routes: vec!["main".into()],
        backends: vec!["api".into(), "gpu".into()],
        replicas: vec![0, 2],
        slos: vec!["avail".into()],
    }
}

/// A recorder writing rows as `format` and a trace over `window`.
fn recorder(format: CallFormat, window: TraceWindow) -> (CallRecorder, Shared, Shared) {
    let (calls, trace) = (Shared::default(), Shared::default());
    let options = RecordOptions {
        calls: Some((Box::new(calls.clone()), format)),
        trace: Some((Box::new(trace.clone()), window)),
    };
    (CallRecorder::with_names(names(), 0, options), calls, trace)
}

fn key(index: u32, generation: u16) -> Key {
    Key { index, generation }
}

fn csv_rows(text: &str) -> Vec<BTreeMapRow> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, COLUMNS);
    r.records()
        .map(|rec| {
            header
                .iter()
                .cloned()
                .zip(rec.unwrap().iter().map(String::from))
                .collect()
        })
        .collect()
}

type BTreeMapRow = std::collections::BTreeMap<String, String>;

fn events(text: &str) -> Vec<serde_json::Value> {
    let v: serde_json::Value = serde_json::from_str(text).expect("the trace is JSON");
    assert_eq!(v["displayTimeUnit"], "ms");
    v["traceEvents"].as_array().unwrap().clone()
}

fn spans<'a>(events: &'a [serde_json::Value], cat: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["cat"] == cat).collect()
}

#[test]
fn kinds_follow_the_attempt_count_the_chain_and_hedging() {
    assert_eq!(Kind::of(false, 1, 0), Kind::First);
    assert_eq!(Kind::of(false, 0, 0), Kind::First);
    assert_eq!(Kind::of(false, 2, 0), Kind::Retry);
    assert_eq!(Kind::of(false, 1, 1), Kind::Fallback);
    assert_eq!(Kind::of(false, 3, 2), Kind::Retry);
    assert_eq!(Kind::of(true, 1, 0), Kind::Hedge);
    assert_eq!(Kind::of(true, 5, 1), Kind::Hedge);
}

#[test]
fn json_lines_by_extension_csv_otherwise() {
    let f = |p: &str| CallFormat::for_path(std::path::Path::new(p));
    assert_eq!(f("a.jsonl"), CallFormat::JsonLines);
    assert_eq!(f("dir/a.NDJSON"), CallFormat::JsonLines);
    assert_eq!(f("a.csv"), CallFormat::Csv);
    assert_eq!(f("a.json"), CallFormat::Csv);
    assert_eq!(f("jsonl"), CallFormat::Csv);
}

/// One job: a first attempt queued 1 s then failing after 2 s, a 0.5 s backoff, a retry
/// answered after 3 s (first token 0.25 s in), billed $0.75.
fn one_retried_call(rec: &mut CallRecorder) {
    let (job, a1, a2) = (key(3, 1), key(0, 1), key(1, 4));
    rec.job_arrived(10 * S, job, 0);
    rec.call_started(10 * S, job, 0, 0, 0, (100, 20), 0.5);
    rec.attempt_sent(10 * S, a1, job, 0, Kind::of(false, 1, 0), true);
    rec.attempt_started(11 * S, a1, u16::MAX);
    rec.slot_freed(13 * S, a1);
    rec.attempt_ended(13 * S, a1, End::Error(ErrorClass::Unavailable503));
    rec.backoff(13 * S, job, 0, S / 2);
    rec.attempt_sent(13 * S + S / 2, a2, job, 0, Kind::of(false, 2, 0), false);
    rec.attempt_started(13 * S + S / 2, a2, u16::MAX);
    rec.first_token(job, 13 * S + S / 2 + S / 4);
    rec.slot_freed(16 * S + S / 2, a2);
    rec.attempt_ended(16 * S + S / 2, a2, End::Answered);
    rec.soft(job, 2);
    rec.job_ended(16 * S + S / 2, job, Some(Outcome::WrongAccepted), 0, 1.25);
}

#[test]
fn a_retried_call_is_one_row_with_both_attempts() {
    let (mut rec, calls, trace) = recorder(CallFormat::Csv, TraceWindow::ALL);
    one_retried_call(&mut rec);
    let done = rec.finish(100 * S, |_| None);
    assert_eq!(done.calls.unwrap().unwrap(), 1);
    let rows = csv_rows(&calls.text());
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    let want = [
        ("job", "0"),
        ("tenant", "chat"),
        ("route", "main"),
        ("arrival_s", "10"),
        ("start_s", "10"),
        ("end_s", "16.5"),
        ("latency_s", "6.5"),
        ("queue_wait_s", "1"),
        ("ttft_s", "3.75"),
        ("prompt_tokens", "100"),
        ("output_tokens", "20"),
        ("cost_usd", "0.75"),
        ("fallback_depth", "0"),
        ("attempt_count", "2"),
        (
            "attempts",
            "first:api:10:11:13:unavailable;retry:api:13.5:13.5:16.5:answered",
        ),
        ("outcome", "wrong_accepted"),
        ("soft_failure", "refusal"),
        ("validator", ""),
        ("cached", "false"),
        ("hedges", "0"),
    ];
    for (column, value) in want {
        assert_eq!(r[column], value, "{column}");
    }
    let ev = events(&trace.text());
    let attempts = spans(&ev, "attempt");
    assert_eq!(attempts.len(), 2);
    assert_eq!(rec_spans(&attempts), [(11e6, 2e6), (13.5e6, 3e6)]);
    // Both on the first slot lane: the second started after the first was over.
    assert!(attempts.iter().all(|e| e["tid"] == SLOT_TIDS));
    assert_eq!(attempts[0]["args"]["outcome"], "unavailable");
    assert_eq!(attempts[0]["args"]["queued_s"], 1.0);
    let queue = spans(&ev, "queue");
    assert_eq!(rec_spans(&queue), [(10e6, 1e6)]);
    assert_eq!(rec_spans(&spans(&ev, "backoff")), [(13e6, 0.5e6)]);
    // The queue counter went to 1 and back to 0.
    let counts: Vec<(f64, u64)> = ev
        .iter()
        .filter(|e| e["name"] == "queue" && e["ph"] == "C")
        .map(|e| {
            (
                e["ts"].as_f64().unwrap(),
                e["args"]["waiting"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts, [(10e6, 1), (11e6, 0)]);
}

fn rec_spans(spans: &[&serde_json::Value]) -> Vec<(f64, f64)> {
    spans
        .iter()
        .map(|e| (e["ts"].as_f64().unwrap(), e["dur"].as_f64().unwrap()))
        .collect()
}

#[test]
fn json_lines_hold_the_same_row() {
    let (mut rec, calls, _) = recorder(CallFormat::JsonLines, TraceWindow::ALL);
    one_retried_call(&mut rec);
    rec.finish(100 * S, |_| None);
    let text = calls.text();
    assert_eq!(text.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(v["latency_s"], 6.5);
    assert_eq!(v["validator"], serde_json::Value::Null);
    assert_eq!(v["soft_failure"], "refusal");
    assert_eq!(v["attempts"][0]["start_s"], 11.0);
    assert_eq!(v["attempts"][1]["kind"], "retry");
    assert_eq!(v["attempts"].as_array().unwrap().len(), 2);
    // The same values as the CSV row's columns.
    assert_eq!(v["hedges"], 0);
    assert_eq!(v["attempt_count"], 2);
    assert_eq!(v["queue_wait_s"], 1.0);
    assert_eq!(v["ttft_s"], 3.75);
    assert_eq!(v["cost_usd"], 0.75);
    assert_eq!(v["outcome"], "wrong_accepted");
    assert_eq!(v["cached"], false);
}

#[test]
fn a_run_without_calls_writes_no_rows() {
    let (rec, calls, _) = recorder(CallFormat::JsonLines, TraceWindow::ALL);
    let done = rec.finish(100 * S, |_| None);
    assert_eq!(done.calls.unwrap().unwrap(), 0);
    assert_eq!(calls.text(), "");
}

#[test]
fn a_slot_freed_at_an_instant_is_taken_by_the_call_starting_then() {
    let (mut rec, _, trace) = recorder(CallFormat::Csv, TraceWindow::ALL);
    let (j1, j2) = (key(0, 0), key(1, 0));
    let (a1, a2) = (key(0, 0), key(1, 0));
    for j in [j1, j2] {
        rec.job_arrived(0, j, 0);
        rec.call_started(0, j, 0, 0, 0, (1, 1), 0.0);
    }
    rec.attempt_sent(0, a1, j1, 0, Kind::First, false);
    rec.attempt_started(0, a1, u16::MAX);
    rec.attempt_sent(0, a2, j2, 0, Kind::First, true);
    // The world frees the slot, starts the waiting call, then settles the first attempt.
    rec.slot_freed(5 * S, a1);
    rec.attempt_started(5 * S, a2, u16::MAX);
    rec.attempt_ended(5 * S, a1, End::Answered);
    // A third attempt while the second is in service needs a second lane.
    let (j3, a3) = (key(2, 0), key(2, 0));
    rec.job_arrived(6 * S, j3, 0);
    rec.call_started(6 * S, j3, 0, 0, 0, (1, 1), 0.0);
    rec.attempt_sent(6 * S, a3, j3, 0, Kind::First, false);
    rec.attempt_started(6 * S, a3, u16::MAX);
    rec.finish(9 * S, |_| None);
    let ev = events(&trace.text());
    let lanes: Vec<u64> = spans(&ev, "attempt")
        .iter()
        .map(|e| e["tid"].as_u64().unwrap())
        .collect();
    assert_eq!(lanes, [SLOT_TIDS, SLOT_TIDS, SLOT_TIDS + 1]);
    let named = ev.iter().filter(|e| e["name"] == "thread_name").count();
    assert_eq!(named, 3, "slot 0, queue 0, slot 1");
}

#[test]
fn open_calls_and_attempts_end_at_the_horizon() {
    let (mut rec, calls, trace) = recorder(CallFormat::Csv, TraceWindow::ALL);
    let (j, a, h) = (key(0, 2), key(4, 0), key(5, 0));
    rec.job_arrived(S, j, 0);
    rec.call_started(S, j, 1, 2, 0, (7, 8), 0.25);
    rec.attempt_sent(S, a, j, 1, Kind::Fallback, false);
    rec.attempt_started(S, a, 1);
    rec.attempt_sent(2 * S, h, j, 1, Kind::Hedge, true);
    let done = rec.finish(4 * S, |k| (k == j).then_some((1, 1.0)));
    assert_eq!(done.calls.unwrap().unwrap(), 1);
    let r = &csv_rows(&calls.text())[0];
    assert_eq!(r["outcome"], "unfinished");
    assert_eq!(r["end_s"], "");
    assert_eq!(r["latency_s"], "");
    assert_eq!(r["fallback_depth"], "1");
    assert_eq!(r["cost_usd"], "0.75");
    assert_eq!(r["step"], "1");
    assert_eq!(r["turn"], "2");
    assert_eq!(r["hedges"], "1");
    assert_eq!(
        r["attempts"],
        "fallback:gpu:1:1:running:unfinished;hedge:gpu:2::running:unfinished"
    );
    // The queued hedge waited until the horizon.
    assert_eq!(r["queue_wait_s"], "2");
    let ev = events(&trace.text());
    let a = spans(&ev, "attempt");
    assert_eq!(rec_spans(&a), [(1e6, 3e6)]);
    assert_eq!(a[0]["args"]["outcome"], "unfinished");
    // On GPU replica 1's first slot lane, in the `gpu` backend's process.
    assert_eq!(a[0]["tid"], 2 * REPLICA_TIDS);
    assert_eq!(a[0]["pid"], 3);
    assert_eq!(rec_spans(&spans(&ev, "queue")), [(2e6, 2e6)]);
}

#[test]
fn calls_that_move_the_job_on_and_jobs_turned_away_get_rows_of_their_own() {
    let (mut rec, calls, _) = recorder(CallFormat::Csv, TraceWindow::ALL);
    let j = key(0, 0);
    rec.job_arrived(0, j, 0);
    rec.call_started(0, j, 0, 0, 0, (1, 2), 0.0);
    rec.cached(j);
    rec.call_continued(S, j, 0, 0.0);
    rec.call_started(S, j, 1, 0, 0, (3, 4), 0.0);
    rec.validated(S, j, 0, true, S);
    rec.job_ended(2 * S, j, Some(Outcome::DetectedHandled), 2, 0.5);
    // A stale key (another generation of the slot) is ignored.
    rec.job_ended(3 * S, key(0, 1), Some(Outcome::Failed), 0, 0.0);
    let turned_away = key(1, 0);
    rec.job_arrived(4 * S, turned_away, 0);
    rec.job_ended(4 * S, turned_away, Some(Outcome::OverBudget), 0, 0.0);
    let blocked = key(2, 0);
    rec.job_arrived(5 * S, blocked, 0);
    rec.call_started(5 * S, blocked, 0, 0, 0, (1, 1), 0.0);
    rec.job_ended(5 * S, blocked, None, 0, 0.0);
    rec.finish(9 * S, |_| None);
    let rows = csv_rows(&calls.text());
    let got: Vec<(&str, &str, &str, &str, &str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["job"].as_str(),
                r["step"].as_str(),
                r["outcome"].as_str(),
                r["cached"].as_str(),
                r["validator"].as_str(),
                r["route"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("0", "0", "continued", "true", "", "main"),
            ("0", "1", "detected_handled", "false", "caught", "main"),
            ("1", "0", "over_budget", "false", "", ""),
            ("2", "0", "blocked", "false", "", "main"),
        ]
    );
    assert_eq!(rows[1]["fallback_depth"], "2");
    assert_eq!(rows[1]["cost_usd"], "0.5");
    assert_eq!(rows[1]["prompt_tokens"], "3");
}

#[test]
fn the_window_keeps_only_what_lies_in_it() {
    let window = TraceWindow {
        from: 10 * S,
        to: 20 * S,
    };
    let (mut rec, _, trace) = recorder(CallFormat::Csv, window);
    rec.breaker(5 * S, 0, BreakerState::Open { until: 15 * S });
    rec.outage(12 * S, 0, true);
    rec.outage(25 * S, 0, false);
    rec.fault(12 * S, 1, true);
    rec.chaos(19 * S, "x", "latency", true);
    let j = key(0, 0);
    rec.job_arrived(8 * S, j, 0);
    rec.call_started(8 * S, j, 0, 0, 0, (1, 1), 0.0);
    rec.backoff(8 * S, j, 0, 4 * S);
    rec.validated(18 * S, j, 0, false, 30 * S);
    rec.finish(40 * S, |_| None);
    let ev = events(&trace.text());
    let named = |n: &str| -> Vec<f64> {
        ev.iter()
            .filter(|e| e["name"] == n)
            .map(|e| e["ts"].as_f64().unwrap())
            .collect()
    };
    assert_eq!(named("breaker open"), Vec::<f64>::new());
    assert_eq!(named("breaker half_open"), [15e6]);
    assert_eq!(named("outage begins"), [12e6]);
    assert_eq!(named("outage ends"), Vec::<f64>::new());
    assert_eq!(named("fault begins"), [12e6]);
    assert_eq!(named("chaos latency begins"), [19e6]);
    assert_eq!(rec_spans(&spans(&ev, "backoff")), [(10e6, 2e6)]);
    assert_eq!(rec_spans(&spans(&ev, "validator")), [(18e6, 2e6)]);
    let chaos = ev.iter().find(|e| e["cat"] == "chaos").unwrap();
    assert_eq!(chaos["pid"], 1);
    assert_eq!(chaos["args"]["experiment"], "x");
    let fault = ev.iter().find(|e| e["cat"] == "fault").unwrap();
    assert_eq!(fault["pid"], 3);
}

#[test]
fn alerts_mark_each_change_of_an_slo_once() {
    let (mut rec, _, trace) = recorder(CallFormat::Csv, TraceWindow::ALL);
    for (t, firing) in [(1, false), (2, true), (3, true), (4, false), (5, true)] {
        rec.alerts(t * S, |_| firing);
    }
    rec.finish(9 * S, |_| None);
    let ev = events(&trace.text());
    let got: Vec<(String, f64)> = ev
        .iter()
        .filter(|e| e["cat"] == "alert")
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["ts"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("alert avail fires".to_string(), 2e6),
            ("alert avail resets".to_string(), 4e6),
            ("alert avail fires".to_string(), 5e6),
        ]
    );
}

#[test]
fn a_requeued_attempt_waits_again_and_its_next_service_is_a_span_of_its_own() {
    let (mut rec, calls, trace) = recorder(CallFormat::Csv, TraceWindow::ALL);
    let (j, a) = (key(0, 0), key(0, 0));
    rec.job_arrived(0, j, 0);
    rec.call_started(0, j, 0, 0, 0, (1, 1), 0.0);
    rec.attempt_sent(0, a, j, 1, Kind::First, false);
    rec.attempt_started(0, a, 0);
    rec.attempt_ended(2 * S, a, End::Requeued);
    rec.attempt_started(3 * S, a, 1);
    rec.slot_freed(4 * S, a);
    rec.attempt_ended(4 * S, a, End::Answered);
    rec.job_ended(4 * S, j, Some(Outcome::Correct), 0, 0.0);
    assert_eq!(rec.spans, [0, 2]);
    rec.finish(9 * S, |_| None);
    let ev = events(&trace.text());
    let a = spans(&ev, "attempt");
    assert_eq!(rec_spans(&a), [(0.0, 2e6), (3e6, 1e6)]);
    assert_eq!(a[0]["args"]["outcome"], "requeued");
    assert_eq!(a[0]["tid"], REPLICA_TIDS);
    assert_eq!(a[1]["tid"], 2 * REPLICA_TIDS);
    assert_eq!(rec_spans(&spans(&ev, "queue")), [(2e6, 1e6)]);
    let r = &csv_rows(&calls.text())[0];
    assert_eq!(r["attempts"], "first:gpu:0:0:4:answered");
}

#[test]
fn a_call_shed_from_the_queue_waited_there_and_never_reached_the_backend() {
    let (mut rec, calls, trace) = recorder(CallFormat::Csv, TraceWindow::ALL);
    let (j, a) = (key(0, 0), key(0, 0));
    rec.job_arrived(0, j, 0);
    rec.call_started(0, j, 0, 0, 0, (1, 1), 0.0);
    rec.attempt_sent(S, a, j, 0, Kind::First, true);
    rec.attempt_ended(3 * S, a, End::QueueTimeout);
    rec.job_ended(3 * S, j, Some(Outcome::Shed), 0, 0.0);
    rec.finish(9 * S, |_| None);
    let ev = events(&trace.text());
    assert_eq!(rec_spans(&spans(&ev, "queue")), [(1e6, 2e6)]);
    assert!(
        spans(&ev, "attempt").is_empty(),
        "it never reached the backend"
    );
    let r = &csv_rows(&calls.text())[0];
    assert_eq!(r["queue_wait_s"], "2");
    assert_eq!(r["attempts"], "first:api:1::3:queue_timeout");
}

#[test]
fn the_trace_counts_its_events_and_names_every_process() {
    let (mut rec, _, trace) = recorder(CallFormat::Csv, TraceWindow::ALL);
    one_retried_call(&mut rec);
    let done = rec.finish(100 * S, |_| None);
    let ev = events(&trace.text());
    // The count the run reports is the number of events in the file.
    assert_eq!(done.trace.unwrap().unwrap(), ev.len() as u64);
    // One process for the gateway, one per backend (api, gpu) and one per route (main).
    let named: Vec<&str> = ev
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        named,
        ["gateway", "backend api", "backend gpu", "route main"]
    );
    let sorted = ev
        .iter()
        .filter(|e| e["name"] == "process_sort_index")
        .count();
    assert_eq!(sorted, named.len());
}
