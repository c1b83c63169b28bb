//! One replication of the world: all state, the event loop and the handlers.
//!
//! The loop is single-threaded and allocation-free in the steady state: requests and attempts
//! live in slabs, queues are ring buffers that keep their capacity, events are 8-byte values
//! dispatched by `match`. A request passes the gateway in a fixed order: admission to its
//! backend's queue (blocked when full), service when a slot frees, the per-attempt timeout, and
//! on failure the retry policy, which either gives up or re-enqueues after a backoff.

use crate::cache::{CacheConfig, CacheState};
use crate::config::RetryBudgetConfig;
use crate::config::{
    EpisodeEffect, EpisodeTiming, OutageMode, Price, ProviderLimits, ServiceModel, ValidatorAction,
    WorldConfig,
};
use crate::event::{Event, key};
use crate::gpu::pool::{OnCrash, Pool};
use crate::metrics::{Outcome, Stats};
use crate::slo::SloTracker;
use crate::workload::{Arrival, ArrivalState, TokenSource};
use policies::{
    AdaptiveThrottle, AttemptFailure, CircuitBreaker, Cooldown, Discipline, ErrorClass, FairQueue,
    FallbackTrigger, FaultWindow, FinagleBudget, GrpcThrottle, HedgePolicy, RateLimiter,
    RetryDecision, TokenBucket,
};
use sim_core::series::{BucketGrid, CdfSet, SeriesSet};
use sim_core::summary::MetricSet;
use sim_core::{Key, RandomStream, Scheduler, Slab, Streams, Time};
use std::collections::VecDeque;

mod chaos_hooks;
mod gateway;
mod idempotency;
mod job;
use gateway::{Budget, Queue, limiter, take_limits};
use job::{Attempt, NO_REPLICA, Request};

struct Tenant {
    arrivals: ArrivalState,
    /// Prompt injections and agent-loop turn counts are part of the workload: own streams.
    injection_rng: RandomStream,
    turns_rng: RandomStream,
    /// Which prompt each job asks for, when a route it calls has an exact cache.
    cache_key_rng: RandomStream,
    /// The exact cache that keys its jobs (the first of its steps' routes with one).
    keyed_by: Option<u16>,
    /// The arrival scheduled next; it carries a replayed trace's token counts.
    pending: Option<Arrival>,
    arrivals_rng: RandomStream,
    prompt_tokens: Option<TokenSource>,
    output_tokens: Option<TokenSource>,
    /// Token draws have their own stream: the traffic is the same whatever the policies.
    tokens_rng: RandomStream,
    max_tokens: Option<u32>,
}

struct Backend {
    concurrency: u32,
    busy: u32,
    queue: Queue,
    /// Observed service times, for admission control's estimated wait.
    service_total: f64,
    services: u64,
    service_guess: f64,
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
    /// The model's hidden state: degraded or not, and the compounded silent updates.
    degraded: bool,
    update_multiplier: f64,
    degradation_rng: RandomStream,
    breaker: Option<CircuitBreaker>,
    cooldown: Option<Cooldown>,
    /// A self-hosted GPU pool serving this backend's calls instead of `concurrency` slots.
    pool: Option<Pool>,
}

struct Route {
    cache: Option<CacheState>,
    /// Semantic-cache draws (exact caches draw their keys from the tenant's stream).
    cache_rng: RandomStream,
    /// Whether an answer is silently bad, and whether the validator notices.
    soft_rng: RandomStream,
    validator_rng: RandomStream,
}

/// Errors that come back at once still take a round trip, so a retry loop without backoff
/// moves virtual time forward.
const ROUND_TRIP: Time = 1_000_000;

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

/// Events at one instant of virtual time beyond which a run counts as stalled. No scenario
/// that makes progress comes near it (a burst of a million simultaneous arrivals is a few million
/// events); a zero-delay retry loop passes it in about a second.
pub const STALL_LIMIT: u64 = 10_000_000;

/// A replication whose virtual time stopped advancing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stalled {
    /// The instant the clock stuck at.
    pub at: Time,
    /// Events processed at that instant.
    pub events: u64,
    /// What the last of them was, by kind and the entities it concerns.
    pub last: String,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "virtual time stopped advancing at {}: {} events at that instant, the last {}. \
             Something repeats without taking time: usually a call that fails at once and is \
             retried at once (a zero service or error latency with backoff `none` or a zero \
             base, and unlimited attempts); give it a latency, a backoff or an attempt limit",
            sim_core::time::format_duration(self.at),
            self.events,
            self.last
        )
    }
}

impl std::error::Error for Stalled {}

/// A replication whose calls in flight passed [`WorldConfig::max_in_flight`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overgrown {
    pub at: Time,
    pub in_flight: u64,
    pub limit: u64,
}

impl std::fmt::Display for Overgrown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} calls were in flight at {} (the limit is {}, about {} MiB at {} bytes per \
             call, from the memory limit): the system is overloaded and its queue keeps \
             growing. Bound the queue (gateway.queue_capacity, a queue_timeout or admission), \
             lower the load, or raise the limit with --max-memory",
            self.in_flight,
            sim_core::time::format_duration(self.at),
            self.limit,
            self.limit.saturating_mul(crate::footprint::BYTES_PER_CALL) >> 20,
            crate::footprint::BYTES_PER_CALL
        )
    }
}

/// Why a replication stopped before its horizon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAborted {
    Stalled(Stalled),
    Overgrown(Overgrown),
}

impl std::fmt::Display for RunAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunAborted::Stalled(s) => s.fmt(f),
            RunAborted::Overgrown(o) => o.fmt(f),
        }
    }
}

impl std::error::Error for RunAborted {}

pub struct World<'c> {
    config: &'c WorldConfig,
    sched: Scheduler<Event>,
    tenants: Vec<Tenant>,
    backends: Vec<Backend>,
    routes: Vec<Route>,
    requests: Slab<Request>,
    attempts: Slab<Attempt>,
    retry_rng: RandomStream,
    guardrail_rng: RandomStream,
    budget: Option<Budget>,
    budget_rng: RandomStream,
    hedge: Option<HedgePolicy>,
    /// The gateway's rate limiters: per configured limit, one per tenant or one for all.
    limiters: Vec<Vec<RateLimiter>>,
    /// Jobs in flight, per tenant, for concurrency limits.
    in_flight: Vec<u64>,
    stats: Stats,
    /// SLO evaluation, when the scenario defines SLOs.
    slo: Option<SloTracker>,
    /// Ground truth for grading alerts: when faults were under way.
    faults: Vec<FaultWindow>,
    /// Per backend: when its current outage or degradation began.
    fault_since: Vec<Option<Time>>,
    arrival_log: Option<Vec<(Time, u16)>>,
    events: u64,
    /// Chaos experiments and the cost guard, when the scenario has them (see `chaos_hooks`).
    chaos: Option<crate::chaos::ChaosState>,
    cost_guard: Option<crate::cost_guard::CostGuard>,
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
                    injection_rng: streams.stream(&entity, "injection"),
                    cache_key_rng: streams.stream(&entity, "cache_keys"),
                    keyed_by: t
                        .steps
                        .iter()
                        .find(|s| {
                            matches!(
                                config.routes[s.route as usize].cache,
                                Some(CacheConfig::Exact { .. })
                            )
                        })
                        .map(|s| s.route),
                    turns_rng: streams.stream(&entity, "turns"),
                    pending: None,
                    arrivals_rng: streams.stream(&entity, "arrivals"),
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
                    queue: if config.gateway.scheduling == Discipline::Fifo {
                        Queue::Fifo(VecDeque::new())
                    } else {
                        let weights: Vec<u32> =
                            config.tenants.iter().map(|t| t.weight.max(1)).collect();
                        Queue::Fair(
                            FairQueue::new(config.gateway.scheduling, &weights, usize::MAX)
                                .expect("weights are at least 1"),
                        )
                    },
                    service_total: 0.0,
                    services: 0,
                    service_guess: match &b.service {
                        ServiceModel::Duration(d) => d.mean(),
                        ServiceModel::Tokens { ttft, .. } => ttft.mean(),
                    },
                    service: b.service.clone(),
                    failure_probability: b.failure_probability,
                    // A call that cannot fit one replica's KV cache overflows its context.
                    context_window: match &b.pool {
                        None => b.context_window,
                        Some(p) => {
                            let kv = p.context_tokens().min(u32::MAX as u64) as u32;
                            Some(b.context_window.map_or(kv, |w| w.min(kv)))
                        }
                    },
                    price: b.price,
                    service_rng: streams.stream(&entity, "service"),
                    errors_rng: streams.stream(&entity, "errors"),
                    mix_rng: streams.stream(&entity, "error_mix"),
                    episodes_rng: streams.stream(&entity, "episodes"),
                    buckets: buckets(&b.limits),
                    active: vec![false; b.episodes.len()],
                    outage: None,
                    slowdown: 1.0,
                    degraded: false,
                    update_multiplier: 1.0,
                    degradation_rng: streams.stream(&entity, "degradation"),
                    breaker: b.breaker.map(|c| {
                        CircuitBreaker::new(c).expect("validated when the world is built")
                    }),
                    cooldown: b
                        .cooldown
                        .map(|c| Cooldown::new(c).expect("validated when the world is built")),
                    pool: b.pool.as_ref().map(|p| {
                        Pool::new(
                            p,
                            BucketGrid::for_window(config.warmup, config.horizon),
                            streams.stream(&entity, "replica_crashes"),
                        )
                    }),
                }
            })
            .collect();
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let entity = format!("routes.{}", r.name);
                Route {
                    cache: r
                        .cache
                        .as_ref()
                        .map(|c| CacheState::new(c).expect("validated when the world is built")),
                    cache_rng: streams.stream(&entity, "cache"),
                    soft_rng: streams.stream(&entity, "soft"),
                    validator_rng: streams.stream(&entity, "validator"),
                }
            })
            .collect();
        World {
            config,
            sched: Scheduler::new(),
            tenants,
            backends,
            routes,
            requests: Slab::new(),
            attempts: Slab::new(),
            slo: (!config.slos.is_empty()).then(|| {
                let tenants: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
                let routes: Vec<&str> = config.routes.iter().map(|r| r.name.as_str()).collect();
                SloTracker::new(
                    &config.slos,
                    &tenants,
                    &routes,
                    config.warmup,
                    config.horizon,
                )
                .expect("SLOs are validated when the world is built")
            }),
            faults: Vec::new(),
            fault_since: vec![None; config.backends.len()],
            retry_rng: streams.stream("gateway.retry", "jitter"),
            budget: config.gateway.retry_budget.map(|b| match b {
                RetryBudgetConfig::Grpc {
                    max_tokens,
                    token_ratio,
                } => Budget::Grpc(GrpcThrottle::new(max_tokens, token_ratio)),
                RetryBudgetConfig::Finagle {
                    percent,
                    min_retries_per_second,
                    window,
                } => Budget::Finagle(FinagleBudget::new(window, min_retries_per_second, percent)),
                RetryBudgetConfig::Adaptive { k, window } => {
                    Budget::Adaptive(AdaptiveThrottle::new(k, window))
                }
            }),
            budget_rng: streams.stream("gateway.retry_budget", "rejections"),
            hedge: config
                .gateway
                .hedge
                .map(|(d, m)| HedgePolicy::new(d, m).expect("validated when the world is built")),
            limiters: config
                .gateway
                .rate_limits
                .iter()
                .map(|l| {
                    let n = if l.per_tenant {
                        config.tenants.len()
                    } else {
                        1
                    };
                    (0..n).map(|_| limiter(l.kind)).collect()
                })
                .collect(),
            in_flight: vec![0; config.tenants.len()],
            guardrail_rng: streams.stream("gateway.input_guardrail", "detection"),
            stats: Stats::new(config),
            arrival_log: None,
            events: 0,
            chaos: config.chaos.as_ref().map(|c| {
                let tenants: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
                let routes: Vec<&str> = config.routes.iter().map(|r| r.name.as_str()).collect();
                crate::chaos::ChaosState::new(
                    c,
                    &config.slos,
                    &tenants,
                    &routes,
                    config.warmup,
                    streams.stream("chaos", "faults"),
                )
                .expect("chaos experiments are validated when the world is built")
            }),
            cost_guard: config
                .cost_guard
                .as_ref()
                .map(crate::cost_guard::CostGuard::new),
        }
    }

    /// Keeps every arrival's time and tenant (for tests of stream independence).
    pub fn record_arrivals(&mut self) {
        self.arrival_log = Some(Vec::new());
    }

    /// Runs to the horizon and returns the replication's metrics.
    /// An event in words, naming the tenant and backend it concerns, for the stall message.
    fn describe(&self, event: &Event) -> String {
        let tenant = |t: u16| format!("tenant `{}`", self.config.tenants[t as usize].name);
        let backend = |b: u16| format!("backend `{}`", self.config.backends[b as usize].name);
        let request = |r: u32, g: u16| {
            self.requests
                .get(key(r, g))
                .map(|q| {
                    format!(
                        " (a call of {} to {})",
                        tenant(q.tenant),
                        backend(q.backend)
                    )
                })
                .unwrap_or_default()
        };
        let attempt = |a: u32, g: u16| {
            self.attempts
                .get(key(a, g))
                .map(|x| {
                    format!(
                        " (an attempt of {} on {})",
                        tenant(x.tenant),
                        backend(x.backend)
                    )
                })
                .unwrap_or_default()
        };
        match *event {
            Event::Arrival { tenant: t } => format!("an arrival of {}", tenant(t)),
            Event::ServiceDone {
                attempt: a,
                generation,
            } => format!("the end of a service{}", attempt(a, generation)),
            Event::AttemptTimeout {
                attempt: a,
                generation,
            } => format!("an attempt timeout{}", attempt(a, generation)),
            Event::RetryDue {
                request: r,
                generation,
            } => format!("a retry{}", request(r, generation)),
            Event::Validated {
                request: r,
                generation,
            } => format!("a validation{}", request(r, generation)),
            Event::HedgeDue {
                request: r,
                generation,
            } => format!("a hedge{}", request(r, generation)),
            Event::GpuStep { backend: b, .. } => format!("a GPU batch step of {}", backend(b)),
            Event::Episode { backend: b, .. } => format!("an outage or slowdown of {}", backend(b)),
            Event::DegradationFlip { backend: b } | Event::ModelUpdate { backend: b, .. } => {
                format!("a model-state change of {}", backend(b))
            }
            Event::ReplicaFault { backend: b, .. } | Event::ReplicaRepair { backend: b, .. } => {
                format!("a replica fault or repair of {}", backend(b))
            }
            Event::Autoscale { backend: b } => format!("an autoscaling check of {}", backend(b)),
            Event::Chaos { .. } => "a chaos experiment event".to_string(),
            Event::WarmupEnd => "the end of the warm-up".to_string(),
        }
    }

    /// Runs the replication to its horizon, or stops with [`Stalled`] when virtual time stops
    /// advancing.
    pub fn run(mut self) -> Result<RunOutput, RunAborted> {
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
        for (b, cfg) in self.config.backends.iter().enumerate() {
            if let Some(d) = cfg.degradation {
                // Start in the stationary distribution, so the run is stationary from time 0.
                let state = &mut self.backends[b];
                let p_degraded =
                    d.degraded_mean as f64 / (d.normal_mean as f64 + d.degraded_mean as f64);
                state.degraded = state.degradation_rng.bernoulli(p_degraded);
                self.stats.model_degraded(0, b, state.degraded);
                self.schedule_degradation_flip(0, b);
            }
            for (i, &(at, _)) in cfg.model_updates.iter().enumerate() {
                if at <= horizon {
                    self.sched.schedule(
                        at,
                        Event::ModelUpdate {
                            backend: b as u16,
                            index: i as u16,
                        },
                    );
                }
            }
        }
        self.schedule_chaos();
        for (b, cfg) in self.config.backends.iter().enumerate() {
            let Some(p) = &cfg.pool else { continue };
            for i in 0..p.replicas as usize {
                self.schedule_crash(0, b, i);
            }
            if let Some(a) = &p.autoscale
                && a.interval <= horizon
            {
                self.sched
                    .schedule(a.interval, Event::Autoscale { backend: b as u16 });
            }
        }
        // The watchdog on virtual time: a run whose clock stops (a call that fails at once and
        // retries at once, forever) would never reach its horizon.
        let (mut instant, mut at_instant) = (0, 0u64);
        while let Some((now, event)) = self.sched.pop() {
            if now > horizon {
                break;
            }
            self.events += 1;
            if now == instant {
                at_instant += 1;
                if at_instant > STALL_LIMIT {
                    return Err(RunAborted::Stalled(Stalled {
                        at: now,
                        events: at_instant,
                        last: self.describe(&event),
                    }));
                }
            } else {
                (instant, at_instant) = (now, 1);
            }
            match event {
                Event::Arrival { tenant } => {
                    self.on_arrival(now, tenant);
                    let in_flight = self.requests.len() as u64;
                    if in_flight > self.config.max_in_flight {
                        return Err(RunAborted::Overgrown(Overgrown {
                            at: now,
                            in_flight,
                            limit: self.config.max_in_flight,
                        }));
                    }
                }
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
                Event::WarmupEnd => {
                    self.stats.restart(now, self.config);
                    for b in &mut self.backends {
                        if let Some(p) = &mut b.pool {
                            p.restart(now);
                        }
                    }
                }
                Event::Episode {
                    backend,
                    index,
                    begin,
                } => self.on_episode(now, backend as usize, index as usize, begin),
                Event::DegradationFlip { backend } => {
                    self.on_degradation_flip(now, backend as usize)
                }
                Event::ModelUpdate { backend, index } => {
                    let b = backend as usize;
                    let was = faulty(&self.backends[b]);
                    self.backends[b].update_multiplier *=
                        self.config.backends[b].model_updates[index as usize].1;
                    let is = faulty(&self.backends[b]);
                    self.fault_changed(now, b, was, is);
                }
                Event::Validated {
                    request,
                    generation,
                } => self.on_validated(now, key(request, generation)),
                Event::HedgeDue {
                    request,
                    generation,
                } => self.on_hedge_due(now, key(request, generation)),
                Event::Chaos { index, what } => self.on_chaos(now, index as usize, what),
                Event::GpuStep {
                    backend,
                    replica,
                    generation,
                } => self.on_gpu_step(now, backend as usize, replica as usize, generation),
                Event::ReplicaFault {
                    backend,
                    replica,
                    epoch,
                } => {
                    let (b, i) = (backend as usize, replica as usize);
                    let pool = self.backends[b].pool.as_ref().expect("a pool backend");
                    if pool.epoch[i] == epoch && pool.is_serving(i) {
                        self.crash_replica(now, b, i);
                    }
                }
                Event::ReplicaRepair {
                    backend,
                    replica,
                    epoch,
                } => self.on_replica_repair(now, backend as usize, replica as usize, epoch),
                Event::Autoscale { backend } => self.on_autoscale(now, backend as usize),
            }
        }
        // GPU pools bill their GPU-hours as a cost of the backend.
        let mut pool_metrics = MetricSet::new();
        let mut pool_series = Vec::new();
        for (b, cfg) in self.config.backends.iter().enumerate() {
            if let (Some(pool), Some(pc)) = (&mut self.backends[b].pool, &cfg.pool) {
                let (usd, buckets) =
                    pool.finish(horizon, &cfg.name, pc, &mut pool_metrics, &mut pool_series);
                self.stats.fixed_cost(b, usd, &buckets);
            }
        }
        self.close_chaos(horizon);
        let (mut metrics, mut series, latency_cdf) = self.stats.finish(horizon, self.config);
        for (name, value) in pool_metrics.entries() {
            metrics.push(name.clone(), *value);
        }
        series.series.extend(pool_series);
        if let Some(tracker) = self.slo.take() {
            // Faults still under way at the horizon end there.
            for since in self.fault_since.iter_mut() {
                if let Some(start) = since.take() {
                    self.faults.push(FaultWindow {
                        start,
                        end: horizon,
                    });
                }
            }
            self.faults.sort_by_key(|f| (f.start, f.end));
            let report = tracker.finish(horizon, &self.faults);
            report.push_metrics(&mut metrics);
            series.series.extend(report.series());
        }
        chaos_hooks::push_metrics(
            self.chaos.as_ref(),
            self.cost_guard.as_mut(),
            self.config,
            horizon,
            &mut metrics,
        );
        Ok(RunOutput {
            metrics,
            series,
            latency_cdf,
            events: self.events,
            arrivals: self.arrival_log,
        })
    }

    pub(super) fn start_service(&mut self, now: Time, attempt: Key, from_queue: bool) {
        let request = self.attempts.get(attempt).expect("live attempt").request;
        let (timeout, too_slow) = self.timeout_rule(request, now);
        let a = self.attempts.get_mut(attempt).expect("live attempt");
        a.too_slow = too_slow;
        let backend = a.backend as usize;
        let cfg = &self.config.backends[backend];
        let b = &mut self.backends[backend];
        b.busy += 1;
        a.started = now;
        a.queued = false;
        // Whether the provider answers at all is settled first: an outage, then its rate
        // limits, then its error mix. A doomed attempt holds its slot for the error's latency.
        let injected = match &mut self.chaos {
            Some(c) => c.on_attempt(a.backend, a.tenant),
            None => crate::chaos::Injected::NONE,
        };
        let mut doomed = match b.outage.or(injected.outage) {
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
        if doomed.is_none()
            && let Some(pool) = &mut b.pool
        {
            match pool.admit(now, attempt.index, a.prompt_tokens, a.output_tokens) {
                Some((i, before)) => {
                    // The replica says when the answer comes; until then only the timeout is
                    // known.
                    a.replica = i as u16;
                    a.done_at = Time::MAX;
                    if let Some(timeout) = timeout {
                        a.timeout_at = now.saturating_add(timeout);
                        self.sched
                            .schedule(a.timeout_at, Event::attempt_timeout(attempt));
                    }
                    let waited = now - a.enqueued;
                    self.stats.service_started(now, backend, waited, from_queue);
                    self.replica_changed(now, backend, i, Some(before));
                    return;
                }
                // Every replica went down or filled since the call was let in.
                None => doomed = Some((ErrorClass::Unavailable503, None, Some(ROUND_TRIP))),
            }
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
                // Crowding: the others already in service (this attempt is counted in `busy`).
                let crowd = 1.0 + cfg.latency_per_inflight * b.busy.saturating_sub(1) as f64;
                let (ttft, service) = if b.slowdown == 1.0 && crowd == 1.0 {
                    (ttft, service)
                } else {
                    let k = b.slowdown * crowd;
                    (to_time(ttft as f64 * k), to_time(service as f64 * k))
                };
                (injected.stretch(ttft), injected.stretch(service))
            }
        };
        a.ttft = ttft;
        a.done_at = now.saturating_add(service);
        b.service_total += service as f64;
        b.services += 1;
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
        let b = &mut self.backends[backend];
        if !a.slotless {
            self.stats.service_ended(now, backend);
            b.busy -= 1;
        }
        // A slot freed: the next waiting call starts (calls shed at their queue timeout are
        // still in the queue: skip them). A pool lets waiting calls in when replicas free up.
        // (A chaos stall may have taken slots out of service: only a free slot takes a call.)
        let pooled = self.backends[backend].pool.is_some();
        while !a.slotless
            && !pooled
            && self.backends[backend].busy < self.backends[backend].concurrency
            && let Some(next) = self.backends[backend].queue.pop()
        {
            if self.attempts.get(next).is_some_and(|a| a.abandoned) {
                self.attempts.remove(next);
                continue;
            }
            self.start_service(now, next, true);
            break;
        }
        let b = &mut self.backends[backend];
        if let Some((class, retry_after)) = a.error {
            // An error is not billed, and no output was produced: give back the reservation.
            if let Some(bucket) = &mut b.buckets[2] {
                bucket.reconcile(now, a.reserved_output as u64, 0);
            }
            if a.duplicate {
                self.stats.duplicate_work(now - a.started, 0.0);
            }
            if a.abandoned {
                self.orphan_finished(a.request, attempt, None);
                return;
            }
            self.attempt_result(now, backend, a.permit, false, now - a.started, None);
            self.stats.attempt_error(now, class);
            if self.settle(a.request, a.call_seq) {
                self.after_failure(now, a.request, AttemptFailure::Error { class, retry_after });
            }
            return;
        }
        if let Some(bucket) = &mut b.buckets[2] {
            bucket.reconcile(now, a.reserved_output as u64, a.output_tokens as u64);
        }
        // An abandoned attempt draws no outcome: nobody reads it (unless the provider keeps it
        // for an idempotency key). It is still billed below. A replayed result was drawn and
        // billed when it was first produced.
        let keeps = self.config.gateway.idempotency == Some(true);
        let failed =
            !a.replay && (!a.abandoned || keeps) && b.errors_rng.bernoulli(b.failure_probability);
        let mut cost = 0.0;
        if !failed && !a.replay {
            let cached = self.config.routes[a.route as usize].cached_prompt_share;
            let prompt = a.prompt_tokens as f64;
            cost = prompt * (1.0 - cached) * b.price.input_per_token
                + prompt * cached * b.price.cached_input_per_token
                + a.output_tokens as f64 * b.price.output_per_token;
            if let Some(r) = self.requests.get_mut(a.request) {
                r.cost += cost;
            }
            self.stats.billed(
                backend,
                a.tenant as usize,
                a.route as usize,
                a.prompt_tokens,
                a.output_tokens,
                cost,
            );
            self.stats.billed_at(now, cost);
            if let Some(g) = &mut self.cost_guard {
                g.billed(now, cost);
            }
        }
        if a.duplicate {
            self.stats.duplicate_work(now - a.started, cost);
        }
        if a.abandoned {
            // The caller already gave up on this attempt; the work was wasted, unless a resend
            // with its idempotency key picks up the result.
            let result = failed.then_some(ErrorClass::Server500);
            self.orphan_finished(a.request, attempt, Some(result));
            return;
        }
        if failed {
            self.attempt_result(now, backend, a.permit, false, now - a.started, None);
            self.stats.attempt_failed(now, false);
            if self.settle(a.request, a.call_seq) {
                self.after_failure(
                    now,
                    a.request,
                    AttemptFailure::Error {
                        class: ErrorClass::Server500,
                        retry_after: None,
                    },
                );
            }
        } else {
            if let Some(h) = &mut self.hedge {
                h.observe(now - a.started);
            }
            let winner = self
                .requests
                .get(a.request)
                .is_some_and(|r| r.call_seq == a.call_seq);
            if !winner {
                // A hedge race's loser (or an answer for a job already over): billed, ignored.
                if let (Some(p), Some(breaker)) = (a.permit, &mut self.backends[backend].breaker) {
                    breaker.release(p);
                }
                return;
            }
            if a.hedge {
                self.stats.hedge_won();
            }
            let r = self.requests.get_mut(a.request).expect("checked above");
            r.call_seq = r.call_seq.wrapping_add(1);
            r.in_flight = 0;
            if let Some(r) = self.requests.get_mut(a.request) {
                let ttft = (a.started + a.ttft).saturating_sub(r.call_started);
                self.stats.first_token(r.tenant as usize, ttft);
                r.first_token.get_or_insert(a.started + a.ttft);
                // The breaker hears about this answer once its validation is known.
                r.permit = a.permit;
            }
            self.judge_answer(now, a.request);
        }
    }

    fn on_attempt_timeout(&mut self, now: Time, attempt: Key) {
        let Some(a) = self.attempts.get_mut(attempt) else {
            return;
        };
        if a.queued {
            // Waited too long in the queue: shed, without ever reaching the backend.
            if a.abandoned || a.queued_until != now {
                return;
            }
            a.abandoned = true;
            let (request, backend, permit, seq) =
                (a.request, a.backend as usize, a.permit.take(), a.call_seq);
            if let (Some(p), Some(breaker)) = (permit, &mut self.backends[backend].breaker) {
                breaker.release(p);
            }
            self.stats.queue_timed_out(now);
            if self.settle(request, seq) {
                self.complete(now, request, Outcome::Blocked);
            }
            return;
        }
        if a.abandoned || a.timeout_at != now {
            return;
        }
        a.abandoned = true;
        let request = a.request;
        let (backend, permit, started, seq) =
            (a.backend as usize, a.permit.take(), a.started, a.call_seq);
        if a.too_slow {
            // Not a failure of the backend: the route just prefers a faster answer elsewhere.
            if let (Some(p), Some(breaker)) = (permit, &mut self.backends[backend].breaker) {
                breaker.release(p);
            }
            self.stats.too_slow();
            if self.settle(request, seq) {
                self.fall_back(now, request, FallbackTrigger::TooSlow, Outcome::Failed);
            }
            return;
        }
        self.attempt_result(now, backend, permit, false, now - started, None);
        self.stats.attempt_failed(now, true);
        self.orphaned(request, attempt, seq, backend as u16);
        if self.settle(request, seq) {
            self.after_failure(
                now,
                request,
                AttemptFailure::Error {
                    class: ErrorClass::AttemptTimeout,
                    retry_after: None,
                },
            );
        }
    }

    /// An answer came back: is it silently bad, and does the route's validator notice?
    fn judge_answer(&mut self, now: Time, request: Key) {
        let r = self.requests.get_mut(request).expect("live request");
        let route_cfg = &self.config.routes[r.route as usize];
        let route = &mut self.routes[r.route as usize];
        let b = &self.backends[r.backend as usize];
        let mut soft = 0u8;
        if route_cfg.soft.iter().any(|&p| p > 0.0) {
            let k = b.update_multiplier
                * if b.degraded {
                    self.config.backends[r.backend as usize]
                        .degradation
                        .map_or(1.0, |d| d.multiplier)
                } else {
                    1.0
                };
            let u = route.soft_rng.next_f64();
            let mut acc = 0.0;
            for (c, &p) in route_cfg.soft.iter().enumerate() {
                acc += (p * k).min(1.0);
                if u < acc {
                    soft = c as u8 + 1;
                    break;
                }
            }
        }
        if soft == 0
            && let Some(c) = &mut self.chaos
            && let Some(category) = c.corrupt(r.backend, r.tenant)
        {
            soft = category + 1;
        }
        if soft > 0 {
            self.stats.soft_failure(r.route as usize, soft - 1);
        }
        let Some(v) = &route_cfg.validator else {
            let (backend, permit) = (r.backend as usize, r.permit.take());
            let latency = now.saturating_sub(r.call_started);
            r.validate_at = 0;
            self.attempt_result(now, backend, permit, true, latency, None);
            self.answered(now, request, soft);
            return;
        };
        let p = if soft > 0 {
            v.recall[soft as usize - 1]
        } else {
            v.false_positive_rate
        };
        r.pending_soft = soft;
        r.pending_detected = route.validator_rng.bernoulli(p);
        let latency = v
            .latency
            .as_ref()
            .map_or(0, |d| to_time(d.sample(&mut route.validator_rng)));
        if latency == 0 {
            self.on_validated(now, request);
        } else {
            r.validate_at = now.saturating_add(latency);
            let at = r.validate_at;
            self.sched.schedule(at, Event::validated(request));
        }
    }

    fn on_validated(&mut self, now: Time, request: Key) {
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        if r.validate_at != now && r.validate_at != 0 {
            return;
        }
        r.validate_at = 0;
        let (soft, detected) = (r.pending_soft, r.pending_detected);
        let latency = now.saturating_sub(r.call_started);
        let (backend, permit) = (r.backend as usize, r.permit.take());
        let category = if detected { soft.checked_sub(1) } else { None };
        self.attempt_result(now, backend, permit, true, latency, category);
        let r = self.requests.get_mut(request).expect("live request");
        if !detected {
            self.answered(now, request, soft);
            return;
        }
        let hop = if self.config.tenants[r.tenant as usize].agent_loop.is_some() {
            r.turn.min(u16::MAX as u32 - 2) as u16
        } else {
            r.step
        };
        self.stats.rejected_by_validator(soft.checked_sub(1), hop);
        let v = self.config.routes[r.route as usize]
            .validator
            .as_ref()
            .expect("only validated routes get here");
        match v.action {
            ValidatorAction::Error => self.complete(now, request, Outcome::DetectedHandled),
            ValidatorAction::Fallback => self.fall_back(
                now,
                request,
                FallbackTrigger::ValidationFailed,
                Outcome::DetectedHandled,
            ),
            ValidatorAction::Reask => {
                let mut rules = self.config.gateway.retry;
                rules.reask = true;
                let decision = rules.decide(
                    r.attempts,
                    r.last_delay,
                    AttemptFailure::SoftFailure,
                    &mut self.retry_rng,
                );
                match decision {
                    RetryDecision::RetryAfter(delay) if self.retry_allowed(now, request, delay) => {
                        let r = self.requests.get_mut(request).expect("live request");
                        r.prompt_tokens = r.prompt_tokens.saturating_add(v.reask_extra_tokens);
                        self.retry(now, request, delay, None);
                    }
                    _ => self.complete(now, request, Outcome::DetectedHandled),
                }
            }
        }
    }

    /// After anything happened to GPU replica `i` of `backend` (whose generation was `before`;
    /// `None` when unknown): the pool's statistics catch up, and the replica's next change is
    /// scheduled if it moved. A duplicate of a pending event is dropped as stale when popped.
    fn replica_changed(&mut self, now: Time, backend: usize, i: usize, before: Option<u32>) {
        let pool = self.backends[backend]
            .pool
            .as_mut()
            .expect("a pool backend");
        pool.touch(now, i);
        let r = &pool.replicas[i];
        if before != Some(r.generation())
            && let Some(at) = r.next_change()
        {
            self.sched.schedule(
                at,
                Event::GpuStep {
                    backend: backend as u16,
                    replica: i as u16,
                    generation: r.generation() as u16,
                },
            );
        }
    }

    /// A replica's segment (or cold start) ended: finished calls are answered, waiting calls
    /// may enter.
    fn on_gpu_step(&mut self, now: Time, backend: usize, i: usize, generation: u16) {
        let pool = self.backends[backend]
            .pool
            .as_mut()
            .expect("a pool backend");
        let r = &pool.replicas[i];
        if r.generation() as u16 != generation || r.next_change() != Some(now) {
            return; // stale: the replica changed since this was scheduled
        }
        let before = r.generation();
        let mut done = std::mem::take(&mut pool.completions);
        done.clear();
        pool.replicas[i].advance(now, |c| done.push(c));
        let came_up = pool.came_up(now, i);
        self.replica_changed(now, backend, i, Some(before));
        if came_up {
            self.schedule_crash(now, backend, i);
        }
        for c in done.drain(..) {
            let Some(attempt) = self.attempts.key_at(c.id) else {
                continue;
            };
            let a = self.attempts.get_mut(attempt).expect("live attempt");
            let b = &mut self.backends[backend];
            let pool = b.pool.as_mut().expect("a pool backend");
            pool.record(&c);
            pool.release(now, i, a.prompt_tokens, a.output_tokens);
            a.ttft = c.first_token.saturating_sub(a.started);
            a.done_at = now;
            a.replica = NO_REPLICA;
            b.service_total += now.saturating_sub(a.started) as f64;
            b.services += 1;
            self.on_service_done(now, attempt);
        }
        self.backends[backend]
            .pool
            .as_mut()
            .expect("a pool backend")
            .completions = done;
        self.pump_pool(now, backend);
    }

    /// Lets calls waiting at the gateway onto the pool's replicas, in queue order, while they
    /// fit.
    fn pump_pool(&mut self, now: Time, backend: usize) {
        loop {
            let b = &mut self.backends[backend];
            let pool = b.pool.as_mut().expect("a pool backend");
            let Some(next) = pool.held.take().or_else(|| b.queue.pop()) else {
                return;
            };
            let Some(a) = self.attempts.get(next) else {
                continue;
            };
            if a.abandoned {
                self.attempts.remove(next);
                continue;
            }
            if !pool.fits(a.prompt_tokens, a.output_tokens) {
                pool.held = Some(next);
                return;
            }
            self.start_service(now, next, true);
        }
    }

    /// Draws when replica `i`, serving from `now`, next crashes (if the pool has crashes).
    fn schedule_crash(&mut self, now: Time, backend: usize, i: usize) {
        let Some(crashes) = self.config.backends[backend]
            .pool
            .as_ref()
            .and_then(|p| p.crashes.as_ref())
        else {
            return;
        };
        let pool = self.backends[backend]
            .pool
            .as_mut()
            .expect("a pool backend");
        let up = to_time(crashes.mtbf.sample(&mut pool.crash_rng));
        let at = now.saturating_add(up.max(1));
        if at <= self.config.horizon {
            let epoch = pool.epoch[i];
            self.sched.schedule(
                at,
                Event::ReplicaFault {
                    backend: backend as u16,
                    replica: i as u16,
                    epoch,
                },
            );
        }
    }

    /// Replica `i` crashes now: its calls fail or go back to the gateway queue, and it is
    /// repaired after a draw of the time to repair.
    pub(crate) fn crash_replica(&mut self, now: Time, backend: usize, i: usize) {
        let cfg = self.config.backends[backend]
            .pool
            .as_ref()
            .expect("a pool backend");
        let pool = self.backends[backend]
            .pool
            .as_mut()
            .expect("a pool backend");
        let before = pool.replicas[i].generation();
        pool.crash(now, i);
        let repair = match &cfg.crashes {
            Some(c) => to_time(c.mttr.sample(&mut pool.crash_rng)),
            None => 0,
        };
        let epoch = pool.epoch[i];
        let on_crash = pool.on_crash();
        let drained = std::mem::take(&mut pool.drained);
        self.sched.schedule(
            now.saturating_add(repair),
            Event::ReplicaRepair {
                backend: backend as u16,
                replica: i as u16,
                epoch,
            },
        );
        self.replica_changed(now, backend, i, Some(before));
        for d in &drained {
            let Some(attempt) = self.attempts.key_at(d.id) else {
                continue;
            };
            let a = self.attempts.get_mut(attempt).expect("live attempt");
            a.replica = NO_REPLICA;
            match on_crash {
                OnCrash::Fail => {
                    a.error = Some((ErrorClass::ConnectionReset, None));
                    a.reserved_output = 0;
                    a.done_at = now;
                    self.on_service_done(now, attempt);
                }
                OnCrash::Requeue => {
                    // Back to the gateway queue, from scratch; it holds no slot meanwhile, and
                    // the statistics see it leave service and join the queue.
                    let b = &mut self.backends[backend];
                    b.busy -= 1;
                    a.queued = true;
                    a.enqueued = now;
                    b.queue.push(a.tenant, attempt);
                    self.stats.service_ended(now, backend);
                    self.stats.enqueued(now);
                }
            }
        }
        self.backends[backend]
            .pool
            .as_mut()
            .expect("a pool backend")
            .drained = drained;
        self.pump_pool(now, backend);
    }

    fn on_replica_repair(&mut self, now: Time, backend: usize, i: usize, epoch: u16) {
        let cold_start = self.config.backends[backend]
            .pool
            .as_ref()
            .map_or(0, |p| p.cold_start);
        let pool = self.backends[backend]
            .pool
            .as_mut()
            .expect("a pool backend");
        if pool.epoch[i] != epoch {
            return;
        }
        let before = pool.replicas[i].generation();
        pool.repair(now, i, cold_start);
        self.replica_changed(now, backend, i, Some(before));
    }

    fn on_autoscale(&mut self, now: Time, backend: usize) {
        let b = &mut self.backends[backend];
        let queued = b.queue.len() as u32;
        let pool = b.pool.as_mut().expect("a pool backend");
        pool.autoscale(now, queued);
        let changed = std::mem::take(&mut pool.changed);
        for &i in &changed {
            self.replica_changed(now, backend, i, None);
        }
        self.backends[backend]
            .pool
            .as_mut()
            .expect("a pool backend")
            .changed = changed;
        self.pump_pool(now, backend);
        let interval = self.config.backends[backend]
            .pool
            .as_ref()
            .and_then(|p| p.autoscale.as_ref())
            .map_or(0, |a| a.interval);
        let next = now.saturating_add(interval);
        if interval > 0 && next <= self.config.horizon {
            self.sched.schedule(
                next,
                Event::Autoscale {
                    backend: backend as u16,
                },
            );
        }
    }

    fn schedule_degradation_flip(&mut self, now: Time, backend: usize) {
        let d = self.config.backends[backend]
            .degradation
            .expect("only degrading backends flip");
        let b = &mut self.backends[backend];
        let mean = if b.degraded {
            d.degraded_mean
        } else {
            d.normal_mean
        };
        let stay = to_time(
            sim_core::Sampler::Exponential { mean: mean as f64 }.sample(&mut b.degradation_rng),
        );
        let at = now.saturating_add(stay.max(1));
        if at <= self.config.horizon {
            self.sched.schedule(
                at,
                Event::DegradationFlip {
                    backend: backend as u16,
                },
            );
        }
    }

    /// Keeps the ground-truth fault windows alerts are graded against: a backend is faulty
    /// while it is in an outage, slowed down, or its model degraded.
    fn fault_changed(&mut self, now: Time, backend: usize, was: bool, is: bool) {
        self.stats.fault_level(now, was, is);
        if self.slo.is_none() || was == is {
            return;
        }
        if is {
            self.fault_since[backend].get_or_insert(now);
        } else if let Some(start) = self.fault_since[backend].take() {
            self.faults.push(FaultWindow { start, end: now });
        }
    }

    fn on_degradation_flip(&mut self, now: Time, backend: usize) {
        let b = &mut self.backends[backend];
        let was = faulty(b);
        b.degraded = !b.degraded;
        let degraded = b.degraded;
        let is = faulty(b);
        self.fault_changed(now, backend, was, is);
        self.stats.model_degraded(now, backend, degraded);
        self.schedule_degradation_flip(now, backend);
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
        let was_faulty = faulty(b);
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
        let is_faulty = faulty(b);
        self.fault_changed(now, backend, was_faulty, is_faulty);
        if was_down != outage.is_some() {
            self.stats.backend_down(now, backend, outage.is_some());
        }
    }
}

/// Whether a backend is under a fault alerts should catch: an outage, a slowdown, a degraded
/// model, or a silent update that made its model worse.
fn faulty(b: &Backend) -> bool {
    b.outage.is_some() || b.slowdown != 1.0 || b.degraded || b.update_multiplier > 1.0
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
pub fn run_replication(
    config: &WorldConfig,
    seed: u64,
    replication: u32,
) -> Result<RunOutput, RunAborted> {
    World::new(config, seed, replication).run()
}
