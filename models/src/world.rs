//! One replication of the world: all state, the event loop and the handlers.
//!
//! The loop is single-threaded and allocation-free in the steady state: requests and attempts
//! live in slabs, queues are ring buffers that keep their capacity, events are 8-byte values
//! dispatched by `match`. A request passes the gateway in a fixed order: admission to its
//! backend's queue (blocked when full), service when a slot frees, the per-attempt timeout, and
//! on failure the retry policy, which either gives up or re-enqueues after a backoff.

use crate::config::{
    EpisodeEffect, EpisodeTiming, OutageMode, Price, ProviderLimits, ServiceModel, WorldConfig,
};
use crate::event::{Event, key};
use crate::metrics::{Outcome, Stats};
use crate::workload::{Arrival, ArrivalState, TokenSource, token_count};
use policies::{AttemptFailure, ErrorClass, RetryDecision, TokenBucket};
use sim_core::series::{CdfSet, SeriesSet};
use sim_core::summary::MetricSet;
use sim_core::{Key, RandomStream, Scheduler, Slab, Streams, Time};
use std::collections::VecDeque;

struct Tenant {
    arrivals: ArrivalState,
    /// The arrival scheduled next; it carries a replayed trace's token counts.
    pending: Option<Arrival>,
    arrivals_rng: RandomStream,
    backend: u16,
    prompt_tokens: Option<TokenSource>,
    output_tokens: Option<TokenSource>,
    /// Token draws have their own stream: the traffic is the same whatever the policies.
    tokens_rng: RandomStream,
    max_tokens: Option<u32>,
}

struct Backend {
    concurrency: u32,
    busy: u32,
    queue: VecDeque<Key>,
    service: ServiceModel,
    failure_probability: f64,
    context_window: Option<u32>,
    price: Price,
    service_rng: RandomStream,
    errors_rng: RandomStream,
    /// Draws of the error mix; a separate stream so adding a mix leaves other draws alone.
    mix_rng: RandomStream,
    /// Outage and slowdown processes.
    episodes_rng: RandomStream,
    /// Requests, input tokens and output tokens per minute.
    buckets: [Option<TokenBucket>; 3],
    /// Which of the backend's episodes are under way.
    active: Vec<bool>,
    /// The outage callers see now, if any (the latest-listed active one).
    outage: Option<OutageMode>,
    /// Product of the active slowdowns' multipliers.
    slowdown: f64,
}

/// Errors that come back at once still take a round trip, so a retry loop without backoff
/// moves virtual time forward.
const ROUND_TRIP: Time = 1_000_000;

struct Request {
    tenant: u16,
    backend: u16,
    arrived: Time,
    attempts: u32,
    last_delay: Time,
    retry_at: Time,
    prompt_tokens: u32,
    output_tokens: u32,
    /// What the call asks for: its `max_tokens`, or its output tokens.
    max_tokens: u32,
}

struct Attempt {
    request: Key,
    backend: u16,
    /// Copied from the request: an abandoned attempt is billed after its request may be gone.
    tenant: u16,
    prompt_tokens: u32,
    output_tokens: u32,
    enqueued: Time,
    /// When service started and how long until its first token (0 without a token model).
    started: Time,
    ttft: Time,
    done_at: Time,
    timeout_at: Time,
    /// The caller stopped waiting (timeout); the backend still works until `done_at`.
    abandoned: bool,
    /// Set when the attempt was doomed at its start (error mix, outage, provider limit).
    error: Option<(ErrorClass, Option<Time>)>,
    /// Output tokens taken from the provider's output bucket up front, reconciled at the end.
    reserved_output: u32,
}

/// What a replication produced.
pub struct RunOutput {
    pub metrics: MetricSet,
    /// Per-bucket series over the measured window.
    pub series: SeriesSet,
    /// Latency quantiles per tenant (and `all`, with several tenants).
    pub latency_cdf: CdfSet,
    /// Events processed, for throughput measurements.
    pub events: u64,
    /// Arrival times per tenant, when recording was requested.
    pub arrivals: Option<Vec<(Time, u16)>>,
}

pub struct World<'c> {
    config: &'c WorldConfig,
    sched: Scheduler<Event>,
    tenants: Vec<Tenant>,
    backends: Vec<Backend>,
    requests: Slab<Request>,
    attempts: Slab<Attempt>,
    retry_rng: RandomStream,
    stats: Stats,
    arrival_log: Option<Vec<(Time, u16)>>,
    events: u64,
}

impl<'c> World<'c> {
    /// A fresh world for replication `replication` of `config` under `seed`.
    pub fn new(config: &'c WorldConfig, seed: u64, replication: u32) -> World<'c> {
        let streams = Streams::new(seed, replication);
        let tenants = config
            .tenants
            .iter()
            .map(|t| {
                let entity = format!("tenants.{}", t.name);
                Tenant {
                    arrivals: ArrivalState::new(&t.arrivals)
                        .expect("arrival specs are validated when the world is built"),
                    pending: None,
                    arrivals_rng: streams.stream(&entity, "arrivals"),
                    backend: t.backend.0,
                    prompt_tokens: t.prompt_tokens.clone(),
                    output_tokens: t.output_tokens.clone(),
                    tokens_rng: streams.stream(&entity, "tokens"),
                    max_tokens: t.max_tokens,
                }
            })
            .collect();
        let backends = config
            .backends
            .iter()
            .map(|b| {
                let entity = format!("backends.{}", b.name);
                Backend {
                    concurrency: b.concurrency,
                    busy: 0,
                    queue: VecDeque::new(),
                    service: b.service.clone(),
                    failure_probability: b.failure_probability,
                    context_window: b.context_window,
                    price: b.price,
                    service_rng: streams.stream(&entity, "service"),
                    errors_rng: streams.stream(&entity, "errors"),
                    mix_rng: streams.stream(&entity, "error_mix"),
                    episodes_rng: streams.stream(&entity, "episodes"),
                    buckets: buckets(&b.limits),
                    active: vec![false; b.episodes.len()],
                    outage: None,
                    slowdown: 1.0,
                }
            })
            .collect();
        World {
            config,
            sched: Scheduler::new(),
            tenants,
            backends,
            requests: Slab::new(),
            attempts: Slab::new(),
            retry_rng: streams.stream("gateway.retry", "jitter"),
            stats: Stats::new(config),
            arrival_log: None,
            events: 0,
        }
    }

    /// Keeps every arrival's time and tenant (for tests of stream independence).
    pub fn record_arrivals(&mut self) {
        self.arrival_log = Some(Vec::new());
    }

    /// Runs to the horizon and returns the replication's metrics.
    pub fn run(mut self) -> RunOutput {
        let horizon = self.config.horizon;
        for t in 0..self.tenants.len() {
            self.schedule_next_arrival(t as u16, 0);
        }
        if self.config.warmup > 0 {
            self.sched.schedule(self.config.warmup, Event::WarmupEnd);
        }
        for (b, cfg) in self.config.backends.iter().enumerate() {
            for (i, e) in cfg.episodes.iter().enumerate() {
                match &e.timing {
                    EpisodeTiming::Window { start, duration } => {
                        self.schedule_episode(*start, b, i, true);
                        self.schedule_episode(start.saturating_add(*duration), b, i, false);
                    }
                    EpisodeTiming::Process { up, .. } => {
                        let gap = to_time(up.sample(&mut self.backends[b].episodes_rng));
                        self.schedule_episode(gap, b, i, true);
                    }
                }
            }
        }
        while let Some((now, event)) = self.sched.pop() {
            if now > horizon {
                break;
            }
            self.events += 1;
            match event {
                Event::Arrival { tenant } => self.on_arrival(now, tenant),
                Event::ServiceDone {
                    attempt,
                    generation,
                } => self.on_service_done(now, key(attempt, generation)),
                Event::AttemptTimeout {
                    attempt,
                    generation,
                } => self.on_attempt_timeout(now, key(attempt, generation)),
                Event::RetryDue {
                    request,
                    generation,
                } => self.on_retry_due(now, key(request, generation)),
                Event::WarmupEnd => self.stats.restart(now, self.config),
                Event::Episode {
                    backend,
                    index,
                    begin,
                } => self.on_episode(now, backend as usize, index as usize, begin),
            }
        }
        let (metrics, series, latency_cdf) = self.stats.finish(horizon, self.config);
        RunOutput {
            metrics,
            series,
            latency_cdf,
            events: self.events,
            arrivals: self.arrival_log,
        }
    }

    fn schedule_next_arrival(&mut self, tenant: u16, now: Time) {
        let t = &mut self.tenants[tenant as usize];
        t.pending = t
            .arrivals
            .next(now, &mut t.arrivals_rng)
            .filter(|a| a.at <= self.config.horizon);
        if let Some(a) = t.pending {
            self.sched.schedule(a.at, Event::Arrival { tenant });
        }
    }

    fn on_arrival(&mut self, now: Time, tenant: u16) {
        let arrival = self.tenants[tenant as usize].pending;
        self.schedule_next_arrival(tenant, now);
        if let Some(log) = &mut self.arrival_log {
            log.push((now, tenant));
        }
        self.stats.arrival(now, tenant as usize);
        let t = &mut self.tenants[tenant as usize];
        let backend = t.backend;
        let recorded = arrival.and_then(|a| a.tokens);
        let prompt_tokens = draw_tokens(
            t.prompt_tokens.as_ref(),
            recorded.map(|r| r.prompt),
            &mut t.tokens_rng,
        );
        let output_tokens = draw_tokens(
            t.output_tokens.as_ref(),
            recorded.map(|r| r.output),
            &mut t.tokens_rng,
        );
        let asked = t.max_tokens.unwrap_or(output_tokens);
        let request = self.requests.insert(Request {
            tenant,
            backend,
            arrived: now,
            attempts: 0,
            last_delay: 0,
            retry_at: 0,
            prompt_tokens,
            output_tokens,
            max_tokens: asked,
        });
        // A prompt that cannot fit fails at once and is never retried: every attempt would too.
        if let Some(window) = self.backends[backend as usize].context_window
            && prompt_tokens as u64 + asked as u64 > window as u64
        {
            self.stats.context_overflow();
            self.complete(now, request, Outcome::Failed);
            return;
        }
        if !self.try_attempt(now, request) {
            self.requests.remove(request);
            self.stats.blocked_on_arrival(now, tenant as usize);
        }
    }

    /// Starts a new attempt of `request`: into service if a slot is free, else into the queue.
    /// Returns `false` when the queue is full (the attempt is blocked).
    fn try_attempt(&mut self, now: Time, request: Key) -> bool {
        let Some(r) = self.requests.get_mut(request) else {
            return false;
        };
        let backend_index = r.backend;
        let (tenant, prompt_tokens, output_tokens) = (r.tenant, r.prompt_tokens, r.output_tokens);
        let reserved_output = r.max_tokens;
        let b = &self.backends[backend_index as usize];
        let can_start = b.busy < b.concurrency;
        let room = self
            .config
            .gateway
            .queue_capacity
            .is_none_or(|cap| b.queue.len() < cap as usize);
        if !can_start && !room {
            return false;
        }
        r.attempts += 1;
        let attempt = self.attempts.insert(Attempt {
            request,
            backend: backend_index,
            tenant,
            prompt_tokens,
            output_tokens,
            enqueued: now,
            started: 0,
            ttft: 0,
            done_at: 0,
            timeout_at: 0,
            abandoned: false,
            error: None,
            reserved_output,
        });
        if can_start {
            self.start_service(now, attempt, false);
        } else {
            self.backends[backend_index as usize]
                .queue
                .push_back(attempt);
            self.stats.enqueued(now);
        }
        true
    }

    fn start_service(&mut self, now: Time, attempt: Key, from_queue: bool) {
        let timeout = self.config.gateway.attempt_timeout;
        let a = self.attempts.get_mut(attempt).expect("live attempt");
        let backend = a.backend as usize;
        let cfg = &self.config.backends[backend];
        let b = &mut self.backends[backend];
        b.busy += 1;
        a.started = now;
        // Whether the provider answers at all is settled first: an outage, then its rate
        // limits, then its error mix. A doomed attempt holds its slot for the error's latency.
        let mut doomed = match b.outage {
            Some(OutageMode::ServerError) => Some((ErrorClass::Unavailable503, None, None)),
            Some(OutageMode::RateLimited) => Some((ErrorClass::RateLimited, cfg.retry_after, None)),
            Some(OutageMode::ConnectionRefused) => {
                Some((ErrorClass::ConnectionRefused, None, Some(ROUND_TRIP)))
            }
            // Validated: a hanging outage needs an attempt timeout.
            Some(OutageMode::Hang) => Some((ErrorClass::AttemptTimeout, None, timeout)),
            None => None,
        };
        if doomed.is_none()
            && let Some(retry_after) =
                take_limits(&mut b.buckets, now, a.prompt_tokens, a.reserved_output)
        {
            doomed = Some((ErrorClass::RateLimited, retry_after, Some(ROUND_TRIP)));
        }
        if doomed.is_some() {
            // Turned away before the provider's buckets were charged: nothing to reconcile.
            a.reserved_output = 0;
        } else if !cfg.errors.is_empty() {
            let u = b.mix_rng.next_f64();
            let mut acc = 0.0;
            doomed = cfg.errors.iter().find_map(|&(class, p)| {
                acc += p;
                (u < acc).then(|| {
                    let after = (class == ErrorClass::RateLimited)
                        .then_some(cfg.retry_after)
                        .flatten();
                    (class, after, None)
                })
            });
        }
        let (ttft, service) = match doomed {
            Some((class, retry_after, fixed)) => {
                a.error = Some((class, retry_after));
                let latency = match (fixed, &cfg.error_latency) {
                    (Some(t), _) => t,
                    (None, Some(d)) => to_time(d.sample(&mut b.service_rng)),
                    (None, None) => first_latency(&b.service, &mut b.service_rng),
                };
                (0, latency)
            }
            None => {
                let (ttft, service) = latency(&b.service, a.output_tokens, &mut b.service_rng);
                if b.slowdown == 1.0 {
                    (ttft, service)
                } else {
                    let k = b.slowdown;
                    (to_time(ttft as f64 * k), to_time(service as f64 * k))
                }
            }
        };
        a.ttft = ttft;
        a.done_at = now.saturating_add(service);
        self.sched.schedule(a.done_at, Event::service_done(attempt));
        // The timeout is scheduled only if it would fire first, so neither event goes stale.
        if let Some(timeout) = timeout
            && timeout < service
        {
            a.timeout_at = now + timeout;
            self.sched
                .schedule(a.timeout_at, Event::attempt_timeout(attempt));
        }
        let waited = now - a.enqueued;
        self.stats.service_started(now, backend, waited, from_queue);
    }

    fn on_service_done(&mut self, now: Time, attempt: Key) {
        let Some(a) = self.attempts.get(attempt) else {
            return;
        };
        if a.done_at != now {
            return; // stale: the slot holds a later attempt
        }
        let a = self.attempts.remove(attempt).expect("checked above");
        let backend = a.backend as usize;
        self.stats.service_ended(now, backend);
        let b = &mut self.backends[backend];
        b.busy -= 1;
        if let Some(next) = b.queue.pop_front() {
            self.start_service(now, next, true);
        }
        let b = &mut self.backends[backend];
        if let Some((class, retry_after)) = a.error {
            // An error is not billed, and no output was produced: give back the reservation.
            if let Some(bucket) = &mut b.buckets[2] {
                bucket.reconcile(now, a.reserved_output as u64, 0);
            }
            if a.abandoned {
                return;
            }
            self.stats.attempt_error(now, class);
            self.after_failure(now, a.request, AttemptFailure::Error { class, retry_after });
            return;
        }
        if let Some(bucket) = &mut b.buckets[2] {
            bucket.reconcile(now, a.reserved_output as u64, a.output_tokens as u64);
        }
        // An abandoned attempt draws no outcome: nobody reads it. It is still billed below.
        let failed = !a.abandoned && b.errors_rng.bernoulli(b.failure_probability);
        if !failed {
            let cost = a.prompt_tokens as f64 * b.price.input_per_token
                + a.output_tokens as f64 * b.price.output_per_token;
            self.stats.billed(
                backend,
                a.tenant as usize,
                a.prompt_tokens,
                a.output_tokens,
                cost,
            );
        }
        if a.abandoned {
            return; // the caller already gave up on this attempt; the work was wasted
        }
        if failed {
            self.stats.attempt_failed(now, false);
            self.after_failure(
                now,
                a.request,
                AttemptFailure::Error {
                    class: ErrorClass::Server500,
                    retry_after: None,
                },
            );
        } else {
            if let Some(r) = self.requests.get(a.request) {
                let ttft = (a.started + a.ttft).saturating_sub(r.arrived);
                self.stats.first_token(ttft);
            }
            self.complete(now, a.request, Outcome::Succeeded);
        }
    }

    fn on_attempt_timeout(&mut self, now: Time, attempt: Key) {
        let Some(a) = self.attempts.get_mut(attempt) else {
            return;
        };
        if a.abandoned || a.timeout_at != now {
            return;
        }
        a.abandoned = true;
        let request = a.request;
        self.stats.attempt_failed(now, true);
        self.after_failure(
            now,
            request,
            AttemptFailure::Error {
                class: ErrorClass::AttemptTimeout,
                retry_after: None,
            },
        );
    }

    /// The retry policy's turn: give up, retry at once, or retry after a backoff.
    fn after_failure(&mut self, now: Time, request: Key, failure: AttemptFailure) {
        let r = self.requests.get_mut(request).expect("live request");
        match self.config.gateway.retry.decide(
            r.attempts,
            r.last_delay,
            failure,
            &mut self.retry_rng,
        ) {
            RetryDecision::GiveUp => {
                let outcome = match failure {
                    AttemptFailure::Error {
                        class: ErrorClass::RateLimited,
                        ..
                    } => Outcome::Throttled,
                    _ => Outcome::Failed,
                };
                self.complete(now, request, outcome)
            }
            RetryDecision::RetryAfter(0) => {
                r.last_delay = 0;
                self.stats.retry();
                if !self.try_attempt(now, request) {
                    self.complete(now, request, Outcome::Blocked);
                }
            }
            RetryDecision::RetryAfter(delay) => {
                r.last_delay = delay;
                r.retry_at = now.saturating_add(delay);
                let at = r.retry_at;
                self.stats.retry();
                self.sched.schedule(at, Event::retry_due(request));
            }
        }
    }

    fn on_retry_due(&mut self, now: Time, request: Key) {
        let Some(r) = self.requests.get(request) else {
            return;
        };
        if r.retry_at != now {
            return;
        }
        if !self.try_attempt(now, request) {
            self.complete(now, request, Outcome::Blocked);
        }
    }

    fn schedule_episode(&mut self, at: Time, backend: usize, index: usize, begin: bool) {
        if at <= self.config.horizon {
            self.sched.schedule(
                at,
                Event::Episode {
                    backend: backend as u16,
                    index: index as u16,
                    begin,
                },
            );
        }
    }

    /// An outage or slowdown begins or ends; a process schedules its own next change.
    fn on_episode(&mut self, now: Time, backend: usize, index: usize, begin: bool) {
        let cfg = &self.config.backends[backend];
        let b = &mut self.backends[backend];
        b.active[index] = begin;
        if let EpisodeTiming::Process { up, down } = &cfg.episodes[index].timing {
            let gap = if begin { down } else { up };
            let at = now.saturating_add(to_time(gap.sample(&mut b.episodes_rng)));
            self.schedule_episode(at, backend, index, !begin);
        }
        let b = &mut self.backends[backend];
        let mut outage = None;
        let mut slowdown = 1.0;
        for (e, &on) in cfg.episodes.iter().zip(&b.active) {
            match (on, e.effect) {
                (true, EpisodeEffect::Outage(mode)) => outage = Some(mode),
                (true, EpisodeEffect::Slowdown(k)) => slowdown *= k,
                _ => {}
            }
        }
        let was_down = b.outage.is_some();
        b.outage = outage;
        b.slowdown = slowdown;
        if was_down != outage.is_some() {
            self.stats.backend_down(now, backend, outage.is_some());
        }
    }

    fn complete(&mut self, now: Time, request: Key, outcome: Outcome) {
        let r = self.requests.remove(request).expect("live request");
        self.stats
            .completed(now, r.tenant as usize, r.arrived, r.attempts, outcome);
    }
}

/// The provider's buckets: requests, input tokens and output tokens per minute.
fn buckets(limits: &ProviderLimits) -> [Option<TokenBucket>; 3] {
    let minute = 60 * sim_core::NANOS_PER_SEC;
    let make = |limit: Option<u64>| limit.and_then(|n| TokenBucket::new(n, n, minute).ok());
    [
        make(limits.requests_per_minute),
        make(limits.input_tokens_per_minute),
        make(limits.output_tokens_per_minute),
    ]
}

/// Takes one request, the prompt and the asked-for output tokens from the provider's buckets,
/// all or nothing. `None` when admitted; otherwise the Retry-After of the 429: how long until
/// every bucket could cover the call (`None` inside: never, the call is bigger than a bucket).
fn take_limits(
    buckets: &mut [Option<TokenBucket>; 3],
    now: Time,
    prompt: u32,
    asked: u32,
) -> Option<Option<Time>> {
    if buckets.iter().all(Option::is_none) {
        return None;
    }
    let needs = [1u64, prompt as u64, asked as u64];
    let mut wait: Option<Time> = Some(0);
    for (bucket, &n) in buckets.iter_mut().zip(&needs) {
        if let Some(bucket) = bucket {
            wait = match (wait, bucket.time_until(now, n)) {
                (Some(w), Some(t)) => Some(w.max(t)),
                _ => None,
            };
        }
    }
    if wait == Some(0) {
        for (i, (bucket, &n)) in buckets.iter_mut().zip(&needs).enumerate() {
            if let Some(bucket) = bucket {
                if i == 2 {
                    bucket.reserve(now, n);
                } else {
                    let _ = bucket.try_take(now, n);
                }
            }
        }
        None
    } else {
        Some(wait)
    }
}

/// An attempt's time to first token and total service time under `model`.
#[inline]
fn latency(model: &ServiceModel, output_tokens: u32, rng: &mut RandomStream) -> (Time, Time) {
    match model {
        ServiceModel::Duration(d) => (0, to_time(d.sample(rng))),
        ServiceModel::Tokens {
            ttft,
            per_output_token,
        } => {
            let first = to_time(ttft.sample(rng));
            let per = per_output_token.sample(rng);
            let rest = to_time(per * output_tokens.saturating_sub(1) as f64);
            (first, first.saturating_add(rest))
        }
    }
}

/// How long an error takes by default: as long as the first byte of an answer would.
#[inline]
fn first_latency(model: &ServiceModel, rng: &mut RandomStream) -> Time {
    match model {
        ServiceModel::Duration(d) => to_time(d.sample(rng)),
        ServiceModel::Tokens { ttft, .. } => to_time(ttft.sample(rng)),
    }
}

/// A call's token count: drawn, or the replayed trace's; no source means the call carries no
/// tokens.
#[inline]
fn draw_tokens(source: Option<&TokenSource>, recorded: Option<u32>, rng: &mut RandomStream) -> u32 {
    match source {
        None => 0,
        Some(TokenSource::Sampled(s)) => token_count(s.sample(rng)),
        Some(TokenSource::FromTrace) => recorded.unwrap_or(1),
    }
}

/// A sampled duration in nanoseconds, rounded to the nearest integer; NaN and negatives become
/// 0 and huge values saturate (samplers are validated, so neither happens in practice).
#[inline]
fn to_time(ns: f64) -> Time {
    if ns.is_nan() || ns <= 0.0 {
        0
    } else if ns >= Time::MAX as f64 {
        Time::MAX
    } else {
        (ns + 0.5) as Time
    }
}

/// Runs one replication.
pub fn run_replication(config: &WorldConfig, seed: u64, replication: u32) -> RunOutput {
    World::new(config, seed, replication).run()
}
