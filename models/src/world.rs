//! One replication of the world: all state, the event loop and the handlers.
//!
//! The loop is single-threaded and allocation-free in the steady state: requests and attempts
//! live in slabs, queues are ring buffers that keep their capacity, events are 8-byte values
//! dispatched by `match`. A request passes the gateway in a fixed order: admission to its
//! backend's queue (blocked when full), service when a slot frees, the per-attempt timeout, and
//! on failure the retry policy, which either gives up or re-enqueues after a backoff.

use crate::config::{Price, ServiceModel, WorldConfig};
use crate::event::{Event, key};
use crate::metrics::{Outcome, Stats};
use crate::workload::{Arrival, ArrivalState, TokenSource, token_count};
use policies::RetryDecision;
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
}

struct Request {
    tenant: u16,
    backend: u16,
    arrived: Time,
    attempts: u32,
    last_delay: Time,
    retry_at: Time,
    prompt_tokens: u32,
    output_tokens: u32,
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
        let a = self.attempts.get_mut(attempt).expect("live attempt");
        let backend = a.backend as usize;
        let output_tokens = a.output_tokens;
        let b = &mut self.backends[backend];
        b.busy += 1;
        let (ttft, service) = match &b.service {
            ServiceModel::Duration(d) => (0, to_time(d.sample(&mut b.service_rng))),
            ServiceModel::Tokens {
                ttft,
                per_output_token,
            } => {
                let first = to_time(ttft.sample(&mut b.service_rng));
                let per = per_output_token.sample(&mut b.service_rng);
                let rest = to_time(per * output_tokens.saturating_sub(1) as f64);
                (first, first.saturating_add(rest))
            }
        };
        a.started = now;
        a.ttft = ttft;
        a.done_at = now.saturating_add(service);
        self.sched.schedule(a.done_at, Event::service_done(attempt));
        // The timeout is scheduled only if it would fire first, so neither event goes stale.
        if let Some(timeout) = self.config.gateway.attempt_timeout
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
            self.after_failure(now, a.request);
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
        self.after_failure(now, request);
    }

    /// The retry policy's turn: give up, retry at once, or retry after a backoff.
    fn after_failure(&mut self, now: Time, request: Key) {
        let r = self.requests.get_mut(request).expect("live request");
        match self
            .config
            .gateway
            .retry
            .on_failure(r.attempts, r.last_delay, &mut self.retry_rng)
        {
            RetryDecision::GiveUp => self.complete(now, request, Outcome::Failed),
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

    fn complete(&mut self, now: Time, request: Key, outcome: Outcome) {
        let r = self.requests.remove(request).expect("live request");
        self.stats
            .completed(now, r.tenant as usize, r.arrived, r.attempts, outcome);
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
