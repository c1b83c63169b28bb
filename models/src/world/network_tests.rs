//! A backend's transport step by step, against hand-worked values: the round trip a constant
//! delay adds, a refusal's one round trip, where a broken stream or a reset ends the server's
//! work (the earlier wins), the memory an answer holds and the kill past the limit, what a
//! broken stream bills and how `resume` rewrites the call, and the metrics each part reports.

use super::super::call::{Attempt, Request};
use super::super::gateway::tests::{backend, config};
use super::*;
use crate::config::{BackendId, TenantId};
use crate::memory::MemoryConfig;
use crate::network::LinkConfig;
use crate::streaming::{CutPosition, StreamFailureConfig};
use sim_core::{Key, Sampler};

const MS: Time = 1_000_000;
const S: Time = 1_000_000_000;

fn link(delay_ms: Option<f64>, connect_failure: f64, reset: f64) -> LinkConfig {
    LinkConfig {
        delay: delay_ms.map(|d| Sampler::deterministic(d * 1e6).unwrap()),
        connect_failure,
        reset,
    }
}

/// Streams that always break, after exactly `at` tokens.
fn breaks_at(at: f64, retry: StreamRetry) -> StreamFailureConfig {
    StreamFailureConfig {
        probability: 1.0,
        position: CutPosition::Tokens(Sampler::deterministic(at).unwrap()),
        retry,
    }
}

/// 1,000 bytes; a call holds 100 and 1 a token; 5 s to restart.
const MEMORY: MemoryConfig = MemoryConfig {
    limit: 1000,
    per_call: 100,
    per_token: 1,
    restart: 5 * S,
};

fn with(
    link: Option<LinkConfig>,
    stream: Option<StreamFailureConfig>,
    memory: Option<MemoryConfig>,
) -> BackendConfig {
    let mut b = backend("api");
    b.link = link;
    b.stream_failures = stream;
    b.memory = memory;
    b
}

fn transport(b: &BackendConfig) -> Box<Transport> {
    Transport::new(b, &Streams::new(1, 0), "backends.api").expect("a transport")
}

/// An attempt of `prompt` and `output` tokens whose first token comes after `ttft`.
fn attempt(prompt: u32, output: u32, ttft: Time) -> Attempt {
    let mut r = Request::new(0, TenantId(0), 1, 0);
    r.prompt_tokens = prompt;
    r.output_tokens = output;
    r.max_tokens = output;
    let mut a = Attempt::of(
        Key {
            index: 0,
            generation: 0,
        },
        &r,
        0,
        None,
        false,
    );
    a.ttft = ttft;
    a
}

#[test]
fn only_a_backend_with_an_active_part_has_a_transport() {
    let streams = Streams::new(1, 0);
    let none = |b: &BackendConfig| Transport::new(b, &streams, "b").is_none();
    assert!(none(&with(None, None, None)));
    assert!(none(&with(Some(link(None, 0.0, 0.0)), None, None)));
    assert!(!none(&with(Some(link(Some(1.0), 0.0, 0.0)), None, None)));
    assert!(!none(&with(Some(link(None, 0.1, 0.0)), None, None)));
    assert!(!none(&with(
        None,
        Some(breaks_at(2.0, StreamRetry::Restart)),
        None
    )));
    assert!(!none(&with(None, None, Some(MEMORY))));
}

#[test]
fn a_constant_delay_adds_its_round_trip_and_is_counted_after_the_warmup() {
    let mut t = transport(&with(Some(link(Some(20.0), 0.0, 0.0)), None, None));
    let mut a = attempt(100, 10, 300 * MS);
    // 20 ms each way: the server's second is untouched, the answer is 40 ms later.
    assert_eq!(t.carry(5 * S, &mut a, S, false, 2 * S), (S, 40 * MS, false));
    assert_eq!((a.ttft, a.net, a.error), (340 * MS, 40 * MS, None));
    assert_eq!((t.counts.round_trips, t.counts.round_trip_ns), (1, 4e7));
    // Before the warm-up's end the round trip still happens but is not counted.
    let mut b = attempt(100, 10, 0);
    assert_eq!(t.carry(S, &mut b, S, false, 2 * S), (S, 40 * MS, false));
    assert_eq!(t.counts.round_trips, 1);
    assert_eq!((t.counts.refused, t.counts.resets), (0, 0));
}

#[test]
fn a_refusal_takes_one_round_trip_at_least() {
    // Without a delay, the SYN and RST still take the world's 1 ms round trip.
    let mut t = transport(&with(Some(link(None, 0.5, 0.0)), None, Some(MEMORY)));
    let mut a = attempt(100, 10, 0);
    a.error = Some((ErrorClass::ConnectionRefused, Maybe::NONE));
    assert_eq!(t.carry(5 * S, &mut a, 0, true, 0), (0, ROUND_TRIP, false));
    assert_eq!((a.ttft, a.net), (ROUND_TRIP, ROUND_TRIP));
    assert_eq!(t.counts.refused, 1);
    assert_eq!(t.counts.round_trips, 0, "no delay drawn");
    // A refused attempt holds no memory.
    assert!(!a.holds_memory);
    assert_eq!(t.memory.as_ref().unwrap().used(), 0);
    // Refused before the warm-up's end: not counted.
    let mut b = attempt(100, 10, 0);
    t.carry(S, &mut b, 0, true, 2 * S);
    assert_eq!(t.counts.refused, 1);
    // With a 20 ms delay a refusal takes the 40 ms round trip.
    let mut t = transport(&with(Some(link(Some(20.0), 0.5, 0.0)), None, None));
    let mut c = attempt(100, 10, 0);
    assert_eq!(t.carry(0, &mut c, 0, true, 0), (0, 40 * MS, false));
}

#[test]
fn a_stream_breaks_at_its_token_and_ends_the_servers_work_there() {
    let mut t = transport(&with(
        None,
        Some(breaks_at(4.0, StreamRetry::Restart)),
        None,
    ));
    let mut a = attempt(100, 10, 100 * MS);
    // Ten tokens over 1 s, the first at 100 ms and the rest every 100 ms: the fourth at
    // 100 + 3·900/9 = 400 ms.
    assert_eq!(t.carry(0, &mut a, S, false, 0), (400 * MS, 0, false));
    assert_eq!(a.cut, 4);
    assert_eq!(a.error, Some((ErrorClass::StreamInterrupted, Maybe::NONE)));
    assert_eq!(t.counts.resets, 0);
    // An attempt that already failed does not stream.
    let mut b = attempt(100, 10, 100 * MS);
    b.error = Some((ErrorClass::Server500, Maybe::NONE));
    assert_eq!(t.carry(0, &mut b, S, false, 0), (S, 0, false));
    assert_eq!(b.cut, 0);
}

#[test]
fn a_reset_cuts_the_service_and_the_earlier_of_reset_and_break_wins() {
    let mut t = transport(&with(Some(link(None, 0.0, 1.0)), None, None));
    let mut a = attempt(100, 10, 100 * MS);
    let at = t.link.clone().unwrap().reset_after(S).unwrap();
    assert!(at <= S);
    assert_eq!(t.carry(3 * S, &mut a, S, false, 0), (at, 0, false));
    assert_eq!(a.error, Some((ErrorClass::ConnectionReset, Maybe::NONE)));
    assert_eq!((a.cut, t.counts.resets), (0, 1));
    // Both: a break at 400 ms and a reset at a uniform point of the second.
    let mut t = transport(&with(
        Some(link(None, 0.0, 1.0)),
        Some(breaks_at(4.0, StreamRetry::Restart)),
        None,
    ));
    let (mut broke, mut reset) = (0, 0);
    for _ in 0..40 {
        let r = t.link.clone().unwrap().reset_after(S).unwrap();
        let mut a = attempt(100, 10, 100 * MS);
        let (service, _, _) = t.carry(0, &mut a, S, false, 0);
        if 400 * MS <= r {
            assert_eq!((service, a.cut), (400 * MS, 4), "reset at {r}");
            assert_eq!(a.error.unwrap().0, ErrorClass::StreamInterrupted);
            broke += 1;
        } else {
            assert_eq!((service, a.cut), (r, 0));
            assert_eq!(a.error.unwrap().0, ErrorClass::ConnectionReset);
            reset += 1;
        }
    }
    assert!(broke > 5 && reset > 5, "{broke} broke, {reset} reset");
    assert_eq!(t.counts.resets, reset);
}

#[test]
fn answers_hold_memory_until_one_does_not_fit_and_releases_free_it() {
    let mut t = transport(&with(None, None, Some(MEMORY)));
    // Each holds 100 + 200 tokens = 300 bytes: three fit in 1,000, the fourth kills.
    for i in 0..3 {
        let mut a = attempt(150, 50, 0);
        assert_eq!(t.carry(0, &mut a, S, false, 0), (S, 0, false), "call {i}");
        assert!(a.holds_memory);
        assert_eq!(a.held_memory(), Some((150, 50)));
    }
    assert_eq!(t.memory.as_ref().unwrap().used(), 900);
    t.release(Some((150, 50)));
    assert_eq!(t.memory.as_ref().unwrap().used(), 600);
    t.release(None);
    assert_eq!(t.memory.as_ref().unwrap().used(), 600);
    let mut a = attempt(150, 50, 0);
    t.carry(0, &mut a, S, false, 0);
    let mut b = attempt(300, 100, 0);
    assert_eq!(
        t.carry(7 * S, &mut b, S, false, 0),
        (S, 0, true),
        "1,300 > 1,000"
    );
    let m = t.memory.as_ref().unwrap();
    assert_eq!(m.used(), 0);
    assert!(m.is_down(12 * S - 1) && !m.is_down(12 * S));
    // A call that costs nothing holds nothing.
    let free = MemoryConfig {
        per_call: 0,
        ..MEMORY
    };
    let mut t = transport(&with(None, None, Some(free)));
    let mut c = attempt(0, 0, 0);
    t.carry(0, &mut c, S, false, 0);
    assert!(!c.holds_memory);
}

#[test]
fn the_transport_failure_classes_follow_the_configured_parts() {
    use ErrorClass::{ConnectionRefused as Refused, ConnectionReset as Reset};
    let classes = |b: &BackendConfig| {
        [
            Refused,
            Reset,
            ErrorClass::StreamInterrupted,
            ErrorClass::Server500,
        ]
        .map(|c| b.can_fail_with(c))
    };
    assert_eq!(classes(&with(None, None, None)), [false; 4]);
    let delay_only = with(Some(link(Some(1.0), 0.0, 0.0)), None, None);
    assert_eq!(classes(&delay_only), [false; 4]);
    let refusing = with(Some(link(None, 0.1, 0.0)), None, None);
    assert_eq!(classes(&refusing), [true, false, false, false]);
    let resetting = with(Some(link(None, 0.0, 0.1)), None, None);
    assert_eq!(classes(&resetting), [false, true, false, false]);
    let streaming = with(None, Some(breaks_at(2.0, StreamRetry::Resume)), None);
    assert_eq!(classes(&streaming), [false, false, true, false]);
    // A memory limit kills (resets) and then refuses while the process restarts.
    let memory = with(None, None, Some(MEMORY));
    assert_eq!(classes(&memory), [true, true, false, false]);
}

/// A world on the hand-made gateway config whose primary backend has `b`'s transport, with a
/// price of $1 a prompt token and $2 an output token, and warm-up `warmup`.
fn world_config(b: BackendConfig, warmup: Time) -> WorldConfig {
    let mut cfg = config();
    let mut b = BackendConfig {
        name: "a".into(),
        ..b
    };
    b.price.input_per_token = 1.0;
    b.price.output_per_token = 2.0;
    cfg.backends[0] = b;
    cfg.warmup = warmup;
    cfg
}

/// Backend `a`'s transport in `w`.
fn transport_of<'w>(w: &'w World<'_>) -> &'w Transport {
    w.backends[BackendId(0)]
        .provider
        .transport
        .as_ref()
        .expect("a transport")
}

/// A job in `w` whose call has `prompt` tokens and asks for `output` (`max_tokens` `max`).
fn job(w: &mut World<'_>, prompt: u32, output: u32, max: u32) -> Key {
    let mut r = Request::new(0, TenantId(0), 1, 0);
    (r.prompt_tokens, r.output_tokens, r.max_tokens) = (prompt, output, max);
    w.requests.insert(r)
}

/// What `key`'s call asks for: prompt, output and `max_tokens`.
fn asks(w: &World<'_>, key: Key) -> (u32, u32, u32) {
    let r = w.requests.get(key).unwrap();
    (r.prompt_tokens, r.output_tokens, r.max_tokens)
}

#[test]
fn a_broken_stream_bills_what_streamed_and_resume_asks_for_the_rest() {
    for retry in [StreamRetry::Restart, StreamRetry::Resume] {
        let cfg = world_config(with(None, Some(breaks_at(4.0, retry)), None), 0);
        let mut w = World::new(&cfg, 1, 0);
        let key = job(&mut w, 100, 10, 12);
        let r = w.requests.get(key).unwrap();
        let mut a = Attempt::of(key, r, 0, None, false);
        (a.started, a.ttft, a.cut) = (2 * S, 300 * MS, 4);
        // 100 prompt tokens at $1 and 4 output tokens at $2.
        assert_eq!(w.stream_broken(3 * S, &a), 4);
        let r = w.requests.get(key).unwrap();
        assert_eq!(r.cost, 108.0);
        let t = transport_of(&w);
        assert_eq!((t.counts.broken, t.counts.broken_tokens), (1, 4));
        if retry == StreamRetry::Resume {
            // The four streamed tokens join the prompt; the client saw its first token at
            // 2.3 s.
            assert_eq!(asks(&w, key), (104, 6, 8));
            assert_eq!(r.streamed.get(), Some(2_300 * MS));
        } else {
            assert_eq!(asks(&w, key), (100, 10, 12));
            assert_eq!(r.streamed.get(), None);
        }
        // An attempt that did not break bills nothing here.
        a.cut = 0;
        assert_eq!(w.stream_broken(3 * S, &a), 0);
        assert_eq!(w.requests.get(key).unwrap().cost, 108.0);
    }
}

#[test]
fn only_the_calls_own_waited_for_attempt_resumes() {
    let cfg = world_config(
        with(None, Some(breaks_at(4.0, StreamRetry::Resume)), None),
        10 * S,
    );
    let mut w = World::new(&cfg, 1, 0);
    let key = job(&mut w, 100, 10, 4);
    let fresh = |w: &World<'_>| Attempt::of(key, w.requests.get(key).unwrap(), 0, None, false);
    let unchanged = |w: &World<'_>| asks(w, key) == (100, 10, 4);
    type Change = fn(&mut Attempt);
    let others: [(&str, Change); 4] = [
        ("the caller gave up on it", |a| a.abandoned = true),
        ("an earlier call's attempt", |a| a.call_seq = 7),
        ("asked for other tokens", |a| a.output_tokens = 9),
        ("asked with another prompt", |a| a.prompt_tokens = 99),
    ];
    for (what, change) in others {
        let mut a = fresh(&w);
        a.cut = 4;
        change(&mut a);
        w.stream_broken(S, &a);
        assert!(unchanged(&w), "{what}");
    }
    // Its own: the rest of ten is six, and max_tokens 4 − 4 is kept at 1.
    let mut own = fresh(&w);
    own.cut = 4;
    w.stream_broken(S, &own);
    let r = w.requests.get(key).unwrap();
    assert_eq!(asks(&w, key), (104, 6, 1));
    // Before the warm-up's end (10 s) none of them was counted, but all were billed: four
    // at 100 + 4·2 = $108, the one with a 99-token prompt at $107.
    let t = transport_of(&w);
    assert_eq!((t.counts.broken, t.counts.broken_tokens), (0, 0));
    assert_eq!(r.cost, 5.0 * 108.0 - 1.0);
}

#[test]
fn each_part_reports_its_own_metrics() {
    let all = with(
        Some(LinkConfig {
            delay: Some(Sampler::deterministic(2e7).unwrap()),
            connect_failure: 0.1,
            reset: 0.1,
        }),
        Some(breaks_at(4.0, StreamRetry::Restart)),
        Some(MEMORY),
    );
    let cfg = world_config(all, 0);
    let mut w = World::new(&cfg, 1, 0);
    {
        let t = w.backends[BackendId(0)]
            .provider
            .transport
            .as_mut()
            .unwrap();
        (t.counts.round_trips, t.counts.round_trip_ns) = (4, 2e8);
        (t.counts.refused, t.counts.resets) = (3, 2);
        (t.counts.broken, t.counts.broken_tokens) = (5, 20);
        (t.counts.kills, t.counts.killed) = (6, 7);
        t.memory.as_mut().unwrap().admit(0, 250);
    }
    let mut m = MetricSet::new();
    push_metrics(&w.backends, &cfg, &mut m);
    for (name, value) in [
        ("round_trip_mean_s", 0.05),
        ("connections_reset", 2.0),
        ("connections_refused", 3.0),
        ("streams_broken", 5.0),
        ("broken_stream_tokens", 20.0),
        ("oom_kills", 6.0),
        ("oom_killed_calls", 7.0),
        ("memory_peak_ratio", 0.25),
    ] {
        assert_eq!(m.get(&format!("backend.a.{name}")), Some(value), "{name}");
    }
    assert_eq!(
        m.get("backend.b.connections_refused"),
        None,
        "b has no transport"
    );
    // No round trip counted: the mean is not a number; and a link without a delay or a reset
    // rate reports neither.
    let refusing = with(Some(link(None, 0.1, 0.0)), None, None);
    let cfg = world_config(refusing, 0);
    let w = World::new(&cfg, 1, 0);
    let mut m = MetricSet::new();
    push_metrics(&w.backends, &cfg, &mut m);
    assert_eq!(m.get("backend.a.connections_refused"), Some(0.0));
    assert_eq!(m.get("backend.a.round_trip_mean_s"), None);
    assert_eq!(m.get("backend.a.connections_reset"), None);
    assert_eq!(m.get("backend.a.streams_broken"), None);
    assert_eq!(m.get("backend.a.oom_kills"), None);
    let cfg = world_config(with(Some(link(Some(20.0), 0.0, 0.0)), None, None), 0);
    let w = World::new(&cfg, 1, 0);
    let mut m = MetricSet::new();
    push_metrics(&w.backends, &cfg, &mut m);
    assert!(m.get("backend.a.round_trip_mean_s").unwrap().is_nan());
    assert_eq!(m.get("backend.a.connections_refused"), None);
}

/// A world whose primary backend has a memory limit, with `n` attempts on it, each holding
/// memory for 150 + 50 tokens (300 bytes) and sent with a 20 ms round trip; returns their keys.
fn holding(w: &mut World<'_>, n: usize) -> Vec<Key> {
    let key = w.requests.insert(Request::new(0, TenantId(0), 1, 0));
    (0..n)
        .map(|_| {
            let mut a = attempt(150, 50, 0);
            a.request = key;
            (a.holds_memory, a.net, a.done_at) = (true, 40 * MS, 9 * S);
            let t = w.backends[BackendId(0)]
                .provider
                .transport
                .as_mut()
                .unwrap();
            t.memory.as_mut().unwrap().admit(0, 300);
            w.backends[BackendId(0)].busy += 1;
            w.attempts.insert(a)
        })
        .collect()
}

#[test]
fn a_kill_fails_every_attempt_holding_memory_on_that_backend_only() {
    let cfg = world_config(with(None, None, Some(MEMORY)), 2 * S);
    let mut w = World::new(&cfg, 1, 0);
    let keys = holding(&mut w, 3);
    // One whose server already finished (its answer on the way back), one holding nothing,
    // one on the other backend: none of them is on the process.
    w.attempts.get_mut(keys[1]).unwrap().slotless = true;
    w.attempts.get_mut(keys[2]).unwrap().holds_memory = false;
    let mut elsewhere = attempt(150, 50, 0);
    (elsewhere.backend, elsewhere.holds_memory, elsewhere.done_at) = (BackendId(1), true, 9 * S);
    let elsewhere = w.attempts.insert(elsewhere);
    // A broken stream not yet ended, with no round trip, and one more with a round trip.
    let mut cut = attempt(150, 50, 0);
    (cut.holds_memory, cut.cut, cut.done_at) = (true, 4, 9 * S);
    let cut = w.attempts.insert(cut);
    let mut far = attempt(150, 50, 0);
    (far.holds_memory, far.net, far.done_at) = (true, 40 * MS, 9 * S);
    let far = w.attempts.insert(far);
    let events = w.sched.len();
    w.oom_kill(3 * S, BackendId(0));
    for k in [keys[0], cut, far] {
        let a = w.attempts.get(k).unwrap();
        assert_eq!(a.error, Some((ErrorClass::ConnectionReset, Maybe::NONE)));
        assert!(!a.holds_memory);
        assert_eq!(a.cut, 0, "a reset, not a broken stream");
    }
    // Those with a round trip free their server now and answer 40 ms later (two events
    // each); the one with none answers now (one event).
    assert_eq!(w.attempts.get(keys[0]).unwrap().done_at, 3 * S + 40 * MS);
    assert_eq!(w.attempts.get(far).unwrap().done_at, 3 * S + 40 * MS);
    assert_eq!(w.attempts.get(cut).unwrap().done_at, 3 * S);
    assert_eq!(w.sched.len(), events + 5);
    for k in [keys[1], keys[2], elsewhere] {
        let a = w.attempts.get(k).unwrap();
        assert_eq!((a.error, a.done_at), (None, 9 * S));
    }
    let t = transport_of(&w);
    assert_eq!((t.counts.kills, t.counts.killed), (1, 3));
    // Before the warm-up's end a kill is not counted.
    w.oom_kill(S, BackendId(0));
    let t = transport_of(&w);
    assert_eq!((t.counts.kills, t.counts.killed), (1, 3));
}

#[test]
fn a_killed_process_refuses_connections_until_it_has_restarted() {
    let mut t = transport(&with(None, None, Some(MEMORY)));
    assert!(!t.connect_refused(S));
    let m = t.memory.as_mut().unwrap();
    assert_eq!(m.admit(S, 1001), crate::memory::Admit::Killed);
    // Down for the 5 s restart.
    assert!(t.connect_refused(S));
    assert!(t.connect_refused(6 * S - 1));
    assert!(!t.connect_refused(6 * S));
    // A link that refuses every connection.
    let mut t = transport(&with(Some(link(None, 1.0, 0.0)), None, None));
    assert!(t.connect_refused(S));
}

#[test]
fn the_server_is_done_one_round_trip_before_the_answer_arrives() {
    let cfg = world_config(with(None, None, Some(MEMORY)), 0);
    let mut w = World::new(&cfg, 1, 0);
    let keys = holding(&mut w, 2);
    let used = |w: &World<'_>| {
        let t = transport_of(w);
        t.memory.as_ref().unwrap().used()
    };
    assert_eq!(used(&w), 600);
    // Not at 9 s − 40 ms: a stale event (the attempt ended otherwise); nothing changes.
    w.on_server_done(9 * S, keys[0]);
    assert!(!w.attempts.get(keys[0]).unwrap().slotless);
    assert_eq!((used(&w), w.backends[BackendId(0)].busy), (600, 2));
    // At 8.96 s: the slot and the 300 bytes free, the answer is still on its way.
    w.on_server_done(9 * S - 40 * MS, keys[0]);
    let a = w.attempts.get(keys[0]).unwrap();
    assert!(a.slotless && !a.holds_memory);
    assert_eq!((used(&w), w.backends[BackendId(0)].busy), (300, 1));
    // Twice is once.
    w.on_server_done(9 * S - 40 * MS, keys[0]);
    assert_eq!((used(&w), w.backends[BackendId(0)].busy), (300, 1));
}
