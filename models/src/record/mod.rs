//! Per-call records and a timeline of one replication, for tools outside the simulator: a
//! data frame (`calls`: one CSV or JSON Lines row per call) and a trace viewer (`trace`:
//! Chrome Trace Event JSON for Perfetto).
//!
//! A [`CallRecorder`] is owned by the world of the one replication asked for
//! (`World::record`); every other world has none and pays one `if let Some` at each hook. The
//! world calls it where a job arrives, a call starts, an attempt is sent, starts service and
//! ends, a call is answered and a job ends, and where breakers, faults, chaos and alerts
//! change. It only reads what it is given: it draws nothing and schedules nothing, so a run with
//! it gives the same results, byte for byte, as one without.
//!
//! Memory stays bounded: its tables are indexed by the world's slab slots (jobs and attempts
//! in flight) and keep their capacity; rows and events are written as they finish.

mod calls;
mod trace;

pub use calls::{COLUMNS, CallFormat};
pub use trace::TraceWindow;

use crate::config::{SOFT_CATEGORIES, WorldConfig};
use crate::gpu::pool::Pool;
use crate::outcome::Outcome;
use calls::{AttemptOut, CallSink, Row};
use policies::{BreakerState, ErrorClass};
use sim_core::{Key, Time};
use std::io::{self, Write};
use trace::{BACKOFF_TIDS, Lanes, QUEUE_TIDS, REPLICA_TIDS, SLOT_TIDS, TraceSink, json_str};

/// What to record, and where: each a writer the caller opened (a buffered temporary file).
#[derive(Default)]
pub struct RecordOptions {
    pub calls: Option<(Box<dyn Write + Send>, CallFormat)>,
    pub trace: Option<(Box<dyn Write + Send>, TraceWindow)>,
}

/// What was written: rows and trace events, or the first write error of each.
#[derive(Debug)]
pub struct Recorded {
    pub calls: Option<io::Result<u64>>,
    pub trace: Option<io::Result<u64>>,
}

/// Why an attempt is being made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    First,
    Retry,
    Fallback,
    Hedge,
    /// A resend the provider answered with the stored result of an idempotency key.
    Replay,
}

impl Kind {
    /// From the call's attempt count at its backend (this one included) and its place in the
    /// fallback chain.
    pub fn of(hedge: bool, call_attempts: u32, depth: u8) -> Kind {
        match (hedge, call_attempts <= 1, depth) {
            (true, ..) => Kind::Hedge,
            (false, true, 0) => Kind::First,
            (false, true, _) => Kind::Fallback,
            (false, false, _) => Kind::Retry,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::First => "first",
            Kind::Retry => "retry",
            Kind::Fallback => "fallback",
            Kind::Hedge => "hedge",
            Kind::Replay => "replay",
        }
    }
}

/// How an attempt ended, as the caller saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Answered,
    Error(ErrorClass),
    /// Waited out the gateway's queue timeout: shed before reaching the backend.
    QueueTimeout,
    /// Reached the route's `latency_over`: abandoned for the fallback chain.
    TooSlow,
    /// Its GPU replica crashed and it went back to the queue.
    Requeued,
}

impl End {
    fn name(self) -> &'static str {
        match self {
            End::Answered => "answered",
            End::Error(c) => c.name(),
            End::QueueTimeout => "queue_timeout",
            End::TooSlow => "too_slow",
            End::Requeued => "requeued",
        }
    }
}

/// An attempt of the open call, as its row will list it.
struct AttemptRow {
    key: Key,
    kind: Kind,
    backend: u16,
    sent: Time,
    /// Sent into the backend's queue rather than straight into service.
    queued: bool,
    started: Option<Time>,
    ended: Option<(Time, End)>,
}

/// A job in flight and its open call (by the world's request slot).
#[derive(Default)]
struct JobSlot {
    key: Option<Key>,
    job: u64,
    tenant: u16,
    arrived: Time,
    open: bool,
    call: u64,
    step: u16,
    turn: u32,
    route: Option<u16>,
    start: Time,
    prompt: u32,
    output: u32,
    cost_before: f64,
    first_token: Option<Time>,
    soft: u8,
    verdict: Option<bool>,
    cached: bool,
    attempts: Vec<AttemptRow>,
}

/// An attempt out (by the world's attempt slot), for its spans.
#[derive(Clone, Copy)]
struct Live {
    key: Key,
    request: Key,
    call: u64,
    job: u64,
    kind: Kind,
    backend: u16,
    replica: u16,
    sent: Time,
    queued: bool,
    queue_lane: u32,
    started: Option<Time>,
    lane: u32,
    /// Its slot lane was handed back already (`slot_freed`): another attempt may hold it now.
    freed: bool,
}

/// Lanes of one backend: slots (per GPU replica for a pool), queue waits, backoffs.
struct BackendLanes {
    slots: Vec<Lanes>,
    queue: Lanes,
    backoff: Lanes,
    waiting: u64,
    /// Per replica: the last batch size and KV blocks in use written, and serving replicas.
    replica_seen: Vec<(u32, u32)>,
    serving: Option<u64>,
}

pub struct CallRecorder {
    tenants: Vec<String>,
    routes: Vec<String>,
    backends: Vec<String>,
    slos: Vec<String>,
    alerting: Vec<bool>,
    calls: Option<CallSink>,
    trace: Option<TraceSink>,
    lanes: Vec<BackendLanes>,
    validator_lanes: Vec<Lanes>,
    jobs: Vec<JobSlot>,
    live: Vec<Option<Live>>,
    next_job: u64,
    next_call: u64,
    /// Set by `finish`: where the waits of calls still open end.
    horizon: Option<Time>,
    /// Attempt spans written per backend (for tests against `backend.NAME.attempts`).
    pub spans: Vec<u64>,
}

/// The trace's process ids: the gateway, then backends, then routes.
const GATEWAY_PID: u64 = 1;

fn backend_pid(b: u16) -> u64 {
    2 + b as u64
}

/// The names a recorder writes, and each backend's GPU replicas (0 without a pool).
pub struct Names {
    pub tenants: Vec<String>,
    pub routes: Vec<String>,
    pub backends: Vec<String>,
    pub replicas: Vec<usize>,
    pub slos: Vec<String>,
}

impl Names {
    pub fn of(config: &WorldConfig) -> Names {
        Names {
            tenants: config.tenants.iter().map(|t| t.name.clone()).collect(),
            routes: config.routes.iter().map(|r| r.name.clone()).collect(),
            backends: config.backends.iter().map(|b| b.name.clone()).collect(),
            replicas: config
                .backends
                .iter()
                .map(|b| b.pool.as_ref().map_or(0, |p| p.max_replicas() as usize))
                .collect(),
            slos: config.slos.iter().map(|s| s.name.clone()).collect(),
        }
    }
}

impl CallRecorder {
    pub fn new(config: &WorldConfig, replication: u32, options: RecordOptions) -> CallRecorder {
        CallRecorder::with_names(Names::of(config), replication, options)
    }

    pub fn with_names(names: Names, replication: u32, options: RecordOptions) -> CallRecorder {
        let Names {
            tenants,
            routes,
            backends,
            replicas,
            slos,
        } = names;
        let mut trace = options
            .trace
            .map(|(out, window)| TraceSink::new(out, window, replication));
        if let Some(t) = &mut trace {
            t.name_process(GATEWAY_PID, "gateway");
            for (b, name) in backends.iter().enumerate() {
                t.name_process(backend_pid(b as u16), &format!("backend {name}"));
            }
            for (r, name) in routes.iter().enumerate() {
                t.name_process(2 + (backends.len() + r) as u64, &format!("route {name}"));
            }
        }
        let lanes = replicas
            .iter()
            .map(|&replicas| BackendLanes {
                slots: (0..=replicas).map(|_| Lanes::default()).collect(),
                queue: Lanes::default(),
                backoff: Lanes::default(),
                waiting: 0,
                replica_seen: vec![(u32::MAX, u32::MAX); replicas],
                serving: None,
            })
            .collect();
        CallRecorder {
            tenants,
            alerting: vec![false; slos.len()],
            slos,
            validator_lanes: routes.iter().map(|_| Lanes::default()).collect(),
            spans: vec![0; backends.len()],
            routes,
            backends,
            calls: options.calls.map(|(out, f)| CallSink::new(out, f)),
            trace,
            lanes,
            jobs: Vec::new(),
            live: Vec::new(),
            next_job: 0,
            next_call: 0,
            horizon: None,
        }
    }

    fn job(&mut self, request: Key) -> Option<&mut JobSlot> {
        self.jobs
            .get_mut(request.index as usize)
            .filter(|j| j.key == Some(request))
    }

    /// A job of `tenant` entered the gateway.
    #[cold]
    pub fn job_arrived(&mut self, now: Time, request: Key, tenant: u16) {
        let i = request.index as usize;
        if self.jobs.len() <= i {
            self.jobs.resize_with(i + 1, JobSlot::default);
        }
        let j = &mut self.jobs[i];
        j.key = Some(request);
        j.job = self.next_job;
        j.tenant = tenant;
        j.arrived = now;
        j.open = false;
        j.attempts.clear();
        self.next_job += 1;
    }

    /// The job's next call starts (its step and turn, on `route`); `cost` is the job's spend
    /// so far.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    pub fn call_started(
        &mut self,
        now: Time,
        request: Key,
        step: u16,
        turn: u32,
        route: u16,
        tokens: (u32, u32),
        cost: f64,
    ) {
        let call = self.next_call;
        let Some(j) = self.job(request) else { return };
        j.open = true;
        j.call = call;
        j.step = step;
        j.turn = turn;
        j.route = Some(route);
        j.start = now;
        (j.prompt, j.output) = tokens;
        j.cost_before = cost;
        j.first_token = None;
        j.soft = 0;
        j.verdict = None;
        j.cached = false;
        j.attempts.clear();
        self.next_call += 1;
    }

    /// An attempt of `request`'s call was sent to `backend` (into its queue when `queued`).
    #[cold]
    pub fn attempt_sent(
        &mut self,
        now: Time,
        attempt: Key,
        request: Key,
        backend: u16,
        kind: Kind,
        queued: bool,
    ) {
        let (call, job) = match self.job(request) {
            Some(j) if j.open => {
                j.attempts.push(AttemptRow {
                    key: attempt,
                    kind,
                    backend,
                    sent: now,
                    queued,
                    started: None,
                    ended: None,
                });
                (j.call, j.job)
            }
            _ => (u64::MAX, u64::MAX),
        };
        let i = attempt.index as usize;
        if self.live.len() <= i {
            self.live.resize(i + 1, None);
        }
        let mut live = Live {
            key: attempt,
            request,
            call,
            job,
            kind,
            backend,
            replica: u16::MAX,
            sent: now,
            queued,
            queue_lane: 0,
            started: None,
            lane: 0,
            freed: false,
        };
        if queued {
            self.enqueue(now, &mut live);
        }
        self.live[i] = Some(live);
    }

    fn enqueue(&mut self, now: Time, live: &mut Live) {
        let l = &mut self.lanes[live.backend as usize];
        l.waiting += 1;
        let (lane, new) = l.queue.take(now, Time::MAX);
        live.queue_lane = lane;
        live.queued = true;
        live.sent = now;
        let waiting = l.waiting;
        if let Some(t) = &mut self.trace {
            let pid = backend_pid(live.backend);
            if new {
                t.name_thread(pid, QUEUE_TIDS + lane as u64, &format!("queue {lane}"));
            }
            t.counter(pid, "queue", "waiting", waiting, now);
        }
    }

    /// The attempt left the queue (for service or shed): its queue span.
    fn dequeue(&mut self, now: Time, live: &mut Live) {
        if !live.queued {
            return;
        }
        live.queued = false;
        let l = &mut self.lanes[live.backend as usize];
        l.waiting -= 1;
        l.queue.release(live.queue_lane, now);
        let waiting = l.waiting;
        if let Some(t) = &mut self.trace {
            let pid = backend_pid(live.backend);
            t.span(
                pid,
                QUEUE_TIDS + live.queue_lane as u64,
                "queue",
                "queued",
                live.sent,
                now,
                format_args!("\"job\":{}", live.job),
            );
            t.counter(pid, "queue", "waiting", waiting, now);
        }
    }

    fn live(&mut self, attempt: Key) -> Option<Live> {
        self.live
            .get(attempt.index as usize)
            .copied()
            .flatten()
            .filter(|l| l.key == attempt)
    }

    /// The attempt starts service (on GPU replica `replica`, or `u16::MAX`).
    #[cold]
    pub fn attempt_started(&mut self, now: Time, attempt: Key, replica: u16) {
        let Some(mut live) = self.live(attempt) else {
            return;
        };
        self.dequeue(now, &mut live);
        live.started = Some(now);
        live.replica = replica;
        let b = live.backend as usize;
        let (lane, new) = self.lanes[b].slots[family(replica)].take(now, Time::MAX);
        live.lane = lane;
        live.freed = false;
        if new && let Some(t) = &mut self.trace {
            t.name_thread(
                backend_pid(live.backend),
                slot_tid(replica, lane),
                &slot_name(replica, lane),
            );
        }
        self.live[attempt.index as usize] = Some(live);
        if let Some(j) = self.job(live.request)
            && j.open
            && j.call == live.call
            && let Some(a) = j.attempts.iter_mut().find(|a| a.key == attempt)
        {
            a.started.get_or_insert(now);
        }
    }

    /// The backend's slot is free again (the attempt's outcome comes after): a call waiting
    /// for it may take its lane at once.
    #[cold]
    pub fn slot_freed(&mut self, now: Time, attempt: Key) {
        if let Some(mut live) = self.live(attempt)
            && live.started.is_some()
            && !live.freed
        {
            self.lanes[live.backend as usize].slots[family(live.replica)].release(live.lane, now);
            live.freed = true;
            self.live[attempt.index as usize] = Some(live);
        }
    }

    /// The caller's view of the attempt ended (`Requeued`: it goes back to the queue).
    #[cold]
    pub fn attempt_ended(&mut self, now: Time, attempt: Key, end: End) {
        let Some(mut live) = self.live(attempt) else {
            return;
        };
        self.dequeue(now, &mut live);
        if let Some(started) = live.started {
            let b = live.backend as usize;
            if !live.freed {
                self.lanes[b].slots[family(live.replica)].release(live.lane, now);
            }
            self.spans[b] += 1;
            if let Some(t) = &mut self.trace {
                let tid = slot_tid(live.replica, live.lane);
                t.span(
                    backend_pid(live.backend),
                    tid,
                    "attempt",
                    live.kind.name(),
                    started,
                    now,
                    format_args!(
                        "\"job\":{},\"outcome\":\"{}\",\"queued_s\":{}",
                        live.job,
                        end.name(),
                        started.saturating_sub(live.sent) as f64 / 1e9
                    ),
                );
            }
        }
        if end == End::Requeued {
            live.started = None;
            self.enqueue(now, &mut live);
            self.live[attempt.index as usize] = Some(live);
            return;
        }
        self.live[attempt.index as usize] = None;
        if let Some(j) = self.job(live.request)
            && j.open
            && j.call == live.call
            && let Some(a) = j.attempts.iter_mut().find(|a| a.key == attempt)
        {
            a.ended = Some((now, end));
        }
    }

    /// The call's answer began to stream at `at`.
    #[cold]
    pub fn first_token(&mut self, request: Key, at: Time) {
        if let Some(j) = self.job(request) {
            j.first_token = Some(at);
        }
    }

    /// The answer's soft-failure category + 1 (0: good), drawn when it came back.
    #[cold]
    pub fn soft(&mut self, request: Key, soft: u8) {
        if let Some(j) = self.job(request) {
            j.soft = soft;
        }
    }

    /// The route's validator judged the answer: `caught` or passed; it took until `until`.
    #[cold]
    pub fn validated(&mut self, now: Time, request: Key, route: u16, caught: bool, until: Time) {
        let Some(j) = self.job(request) else { return };
        j.verdict = Some(caught);
        let job = j.job;
        if until > now
            && let Some(t) = &mut self.trace
        {
            let lanes = &mut self.validator_lanes[route as usize];
            let (lane, new) = lanes.take(now, until);
            let pid = 2 + (self.backends.len() + route as usize) as u64;
            if new {
                t.name_thread(pid, 1 + lane as u64, &format!("validator {lane}"));
            }
            t.span(
                pid,
                1 + lane as u64,
                "validator",
                if caught { "caught" } else { "passed" },
                now,
                until,
                format_args!("\"job\":{job}"),
            );
        }
    }

    /// The call was answered from a cache.
    #[cold]
    pub fn cached(&mut self, request: Key) {
        if let Some(j) = self.job(request) {
            j.cached = true;
        }
    }

    /// A retry of `request`'s call at `backend` waits `delay` first.
    #[cold]
    pub fn backoff(&mut self, now: Time, request: Key, backend: u16, delay: Time) {
        let job = self.job(request).map_or(u64::MAX, |j| j.job);
        let Some(t) = &mut self.trace else { return };
        let end = now.saturating_add(delay);
        let (lane, new) = self.lanes[backend as usize].backoff.take(now, end);
        let pid = backend_pid(backend);
        let tid = BACKOFF_TIDS + lane as u64;
        if new {
            t.name_thread(pid, tid, &format!("backoff {lane}"));
        }
        t.span(
            pid,
            tid,
            "backoff",
            "backoff",
            now,
            end,
            format_args!("\"job\":{job}"),
        );
    }

    /// The call was answered and the job goes on to its next call.
    #[cold]
    pub fn call_continued(&mut self, now: Time, request: Key, depth: u8, cost: f64) {
        self.close_call(Some(now), request, "continued", Some(depth), cost);
    }

    /// The job ended (`None`: blocked on arrival, a full queue), with the open call if any.
    #[cold]
    pub fn job_ended(
        &mut self,
        now: Time,
        request: Key,
        outcome: Option<Outcome>,
        depth: u8,
        cost: f64,
    ) {
        let name = outcome.map_or("blocked", Outcome::as_str);
        let Some(j) = self.job(request) else { return };
        if !j.open {
            // Turned away before any call (budget, guardrail): a row of its own.
            j.open = true;
            j.start = now;
            j.route = None;
            j.cost_before = cost;
            j.prompt = 0;
            j.output = 0;
        }
        self.close_call(Some(now), request, name, Some(depth), cost);
        if let Some(j) = self.job(request) {
            j.key = None;
        }
    }

    fn close_call(
        &mut self,
        end: Option<Time>,
        request: Key,
        outcome: &str,
        depth: Option<u8>,
        cost: f64,
    ) {
        let Some(j) = self
            .jobs
            .get_mut(request.index as usize)
            .filter(|j| j.key == Some(request) && j.open)
        else {
            return;
        };
        j.open = false;
        let Some(sink) = &mut self.calls else { return };
        let mut queue_wait = 0;
        let attempts: Vec<AttemptOut<'_>> = j
            .attempts
            .iter()
            .map(|a| {
                // A queued attempt waited until it started, left the queue (a timeout), the
                // call ended, or the run did.
                let waited_until = a
                    .queued
                    .then(|| a.started.or(a.ended.map(|e| e.0)).or(end).or(self.horizon))
                    .flatten();
                if let Some(t) = waited_until {
                    queue_wait += t.saturating_sub(a.sent);
                }
                AttemptOut {
                    kind: a.kind.name(),
                    backend: &self.backends[a.backend as usize],
                    sent: a.sent,
                    started: a.started,
                    ended: a.ended.map(|e| e.0),
                    outcome: a.ended.map_or(
                        if end.is_some() {
                            "running"
                        } else {
                            "unfinished"
                        },
                        |e| e.1.name(),
                    ),
                }
            })
            .collect();
        let row = Row {
            job: j.job,
            tenant: &self.tenants[j.tenant as usize],
            route: j.route.map_or("", |r| &self.routes[r as usize]),
            step: j.step,
            turn: j.turn,
            arrival: j.arrived,
            start: j.start,
            end,
            queue_wait,
            ttft: j.first_token.map(|t| t.saturating_sub(j.start)),
            prompt_tokens: j.prompt,
            output_tokens: j.output,
            cost_usd: (cost - j.cost_before).max(0.0),
            depth,
            outcome,
            soft: match j.soft {
                0 => "",
                s => SOFT_CATEGORIES[s as usize - 1],
            },
            validator: match j.verdict {
                None => "",
                Some(true) => "caught",
                Some(false) => "passed",
            },
            cached: j.cached,
        };
        sink.write(&row, &attempts);
    }

    /// A backend's breaker moved to `state`. An open breaker turns half-open at its `until`
    /// (the breaker notices at the next call; its clock in the metrics counts from `until`).
    #[cold]
    pub fn breaker(&mut self, now: Time, backend: u16, state: BreakerState) {
        if let Some(t) = &mut self.trace {
            let pid = backend_pid(backend);
            let name = json_str(&format!("breaker {}", state.name()));
            t.instant(pid, "breaker", &name, now, format_args!(""));
            if let BreakerState::Open { until } = state {
                let half = json_str("breaker half_open");
                t.instant(pid, "breaker", &half, until, format_args!(""));
            }
        }
    }

    /// A backend became faulty (an outage, slowdown, degradation or silent update) or recovered.
    #[cold]
    pub fn fault(&mut self, now: Time, backend: u16, faulty: bool) {
        if let Some(t) = &mut self.trace {
            let name = if faulty {
                "\"fault begins\""
            } else {
                "\"fault ends\""
            };
            t.instant(backend_pid(backend), "fault", name, now, format_args!(""));
        }
    }

    /// A backend's outage began or ended.
    #[cold]
    pub fn outage(&mut self, now: Time, backend: u16, down: bool) {
        if let Some(t) = &mut self.trace {
            let name = if down {
                "\"outage begins\""
            } else {
                "\"outage ends\""
            };
            t.instant(backend_pid(backend), "outage", name, now, format_args!(""));
        }
    }

    /// A chaos fault of kind `kind` went in (`begin`) or was rolled back.
    #[cold]
    pub fn chaos(&mut self, now: Time, experiment: &str, kind: &str, begin: bool) {
        if let Some(t) = &mut self.trace {
            let what = if begin { "begins" } else { "ends" };
            let name = json_str(&format!("chaos {kind} {what}"));
            let experiment = json_str(experiment);
            t.instant(
                GATEWAY_PID,
                "chaos",
                &name,
                now,
                format_args!("\"experiment\":{experiment}"),
            );
        }
    }

    /// After the SLO tracker ran: an instant where an SLO's alerting started or stopped
    /// (`firing(s)`: whether some burn-rate rule of SLO `s` fires now).
    #[cold]
    pub fn alerts(&mut self, now: Time, firing: impl Fn(usize) -> bool) {
        for s in 0..self.slos.len() {
            let firing = firing(s);
            if firing != self.alerting[s] {
                self.alerting[s] = firing;
                if let Some(t) = &mut self.trace {
                    let what = if firing { "fires" } else { "resets" };
                    let name = json_str(&format!("alert {} {what}", self.slos[s]));
                    t.instant(GATEWAY_PID, "alert", &name, now, format_args!(""));
                }
            }
        }
    }

    /// GPU replica `i` of a pool backend changed: its batch and KV counters, and the serving
    /// replicas.
    #[cold]
    pub(crate) fn replica(&mut self, now: Time, backend: usize, i: usize, pool: &Pool) {
        let Some(t) = &mut self.trace else { return };
        let l = &mut self.lanes[backend];
        let r = &pool.replicas[i];
        let seen = (r.running_len(), r.kv_used_blocks());
        let pid = backend_pid(backend as u16);
        if l.replica_seen.get(i) != Some(&seen) {
            if let Some(s) = l.replica_seen.get_mut(i) {
                *s = seen;
            }
            t.counter(
                pid,
                &format!("replica {i} batch"),
                "calls",
                seen.0 as u64,
                now,
            );
            t.counter(
                pid,
                &format!("replica {i} kv"),
                "used_blocks",
                seen.1 as u64,
                now,
            );
        }
        let serving = (0..pool.replicas.len())
            .filter(|&k| pool.is_serving(k) && pool.replicas[k].is_up())
            .count() as u64;
        if l.serving != Some(serving) {
            l.serving = Some(serving);
            t.counter(pid, "replicas", "serving", serving, now);
        }
    }

    /// At the horizon: calls still open get a row (`unfinished`), attempts still out a span
    /// ending there; then the files are closed. `state` gives a job's fallback depth and spend.
    pub fn finish(mut self, horizon: Time, state: impl Fn(Key) -> Option<(u8, f64)>) -> Recorded {
        self.horizon = Some(horizon);
        for i in 0..self.live.len() {
            if let Some(live) = self.live[i] {
                let mut live = live;
                self.dequeue(horizon, &mut live);
                if let Some(started) = live.started {
                    self.spans[live.backend as usize] += 1;
                    if let Some(t) = &mut self.trace {
                        let tid = slot_tid(live.replica, live.lane);
                        t.span(
                            backend_pid(live.backend),
                            tid,
                            "attempt",
                            live.kind.name(),
                            started,
                            horizon,
                            format_args!("\"job\":{},\"outcome\":\"unfinished\"", live.job),
                        );
                    }
                }
                self.live[i] = None;
            }
        }
        for i in 0..self.jobs.len() {
            let j = &self.jobs[i];
            if let (Some(key), true) = (j.key, j.open) {
                let (depth, cost) = state(key).map_or((None, j.cost_before), |(d, c)| (Some(d), c));
                self.close_call(None, key, "unfinished", depth, cost);
            }
        }
        Recorded {
            calls: self.calls.map(CallSink::finish),
            trace: self.trace.map(TraceSink::finish),
        }
    }
}

/// The slot-lane family of GPU replica `replica`: 0 for slots not on a replica (a backend
/// without a pool, or an attempt refused before a replica took it).
fn family(replica: u16) -> usize {
    if replica == u16::MAX {
        0
    } else {
        replica as usize + 1
    }
}

/// The thread of slot lane `lane` (on GPU replica `replica`, or `u16::MAX`).
fn slot_tid(replica: u16, lane: u32) -> u64 {
    if replica == u16::MAX {
        SLOT_TIDS + lane as u64
    } else {
        (replica as u64 + 1) * REPLICA_TIDS + lane as u64
    }
}

fn slot_name(replica: u16, lane: u32) -> String {
    if replica == u16::MAX {
        format!("slot {lane}")
    } else {
        format!("replica {replica} slot {lane}")
    }
}

#[cfg(test)]
mod tests;
