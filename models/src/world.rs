//! One replication of the world: its state, the event loop and the dispatch of events to the
//! components that handle them.
//!
//! The loop is single-threaded and allocation-free in the steady state: jobs and attempts live
//! in slabs, queues are ring buffers that keep their capacity, events are 8-byte values
//! dispatched by `match`, and a stale event (its job or attempt gone, or its time no longer the
//! one expected) is dropped when it comes up rather than cancelled.
//!
//! A job's call passes the gateway in a fixed order (see `gateway`): the tenant's budget, the
//! input guardrail, the gateway's rate and concurrency limits (first call of a job), the
//! route's cache, the backend's context window, then the breaker or cooldown, adaptive
//! throttling and the queue (its capacity, admission control, or a 529 from a backend that sheds
//! at capacity) before the attempt starts on the provider (`provider`) or a GPU pool (`gpu`).
//! Its answer goes to the validator (`validator`); a failed attempt goes to recovery
//! (`gateway::recovery`: retry under the budget and deadline, hedge, fallback chain or give up),
//! and an answered call moves the job to its next turn or step or ends it (`job`).
//!
//! Where the code lives: `build` (a fresh world), `job`, `gateway`, `provider`, `validator`,
//! `gpu`, `idempotency` (timed-out attempts the provider still works on) and `chaos_hooks`.

use crate::cache::CacheState;
use crate::config::{BackendId, EpisodeTiming, RouteId, TenantId, WorldConfig};
use crate::event::{Event, key};
use crate::gpu::pool::Pool;
use crate::metrics::Stats;
use crate::slo::SloTracker;
use crate::workload::{Arrival, ArrivalState, TokenSource};
use policies::{CircuitBreaker, Cooldown, FaultWindow, HedgePolicy};
use sim_core::series::{CdfSet, SeriesSet};
use sim_core::summary::MetricSet;
use sim_core::time::to_time;
use sim_core::{RandomStream, Scheduler, Slab, Time};

mod aborted;
mod balance;
mod build;
mod call;
mod chaos_hooks;
mod client_hop;
mod gateway;
mod gpu;
mod idempotency;
mod job;
mod maybe;
mod memory;
mod network;
mod provider;
mod validator;
mod workflow;
pub use aborted::{Overgrown, RunAborted, STALL_LIMIT, Stalled};
use call::{Attempt, Request};
use gateway::{GatewayLimits, Queue, take_limits};
use provider::Provider;
use validator::Validator;

struct Tenant {
    arrivals: ArrivalState,
    /// Prompt injections and agent-loop turn counts are part of the workload: own streams.
    injection_rng: RandomStream,
    turns_rng: RandomStream,
    /// Which prompt each job asks for, when a route it calls has an exact cache.
    cache_key_rng: RandomStream,
    /// The exact cache that keys its jobs (the first of its steps' routes with one).
    keyed_by: Option<RouteId>,
    /// The arrival scheduled next; it carries a replayed trace's token counts.
    pending: Option<Arrival>,
    arrivals_rng: RandomStream,
    prompt_tokens: Option<TokenSource>,
    output_tokens: Option<TokenSource>,
    /// Token draws have their own stream: the traffic is the same whatever the policies.
    tokens_rng: RandomStream,
    max_tokens: Option<u32>,
}

/// A backend: the gateway's view of it (slots, queue, breaker, cooldown, observed service
/// times), the endpoint the provider runs (its faults, buckets, error mix and bill, which a GPU
/// pool's endpoint has as well) and what serves its calls ([`Server`]).
struct Backend {
    busy: u32,
    queue: Queue,
    /// Observed service times, for admission control's estimated wait.
    service_total: f64,
    services: u64,
    service_guess: f64,
    context_window: Option<u32>,
    /// The provider's state: its episodes, degradation, buckets, error mix and latency.
    provider: Provider,
    breaker: Option<CircuitBreaker>,
    cooldown: Option<Cooldown>,
    server: Server,
}

/// What serves a backend's calls.
enum Server {
    /// An API provider's slots: this many calls in service at once (fewer while a chaos stall
    /// holds workers), each timed by the provider's latency model.
    Api { concurrency: u32 },
    /// A self-hosted GPU pool: its replicas let calls in, batch them and time them.
    Pool(Box<Pool>),
}

impl Backend {
    /// Calls that may be in service at once: an API's slots; a pool is bounded by its
    /// replicas' KV caches instead, not by a count.
    #[inline]
    fn concurrency(&self) -> u32 {
        match &self.server {
            Server::Api { concurrency } => *concurrency,
            Server::Pool(_) => u32::MAX,
        }
    }

    #[inline]
    fn pool(&self) -> Option<&Pool> {
        match &self.server {
            Server::Pool(p) => Some(p),
            Server::Api { .. } => None,
        }
    }

    #[inline]
    fn pool_mut(&mut self) -> Option<&mut Pool> {
        match &mut self.server {
            Server::Pool(p) => Some(p),
            Server::Api { .. } => None,
        }
    }
}

struct Route {
    cache: Option<CacheState>,
    /// Semantic-cache draws (exact caches draw their keys from the tenant's stream).
    cache_rng: RandomStream,
    /// Whether an answer is silently bad, and whether the validator notices.
    validator: Validator,
    /// Picks among the deployments sharing the chain's first place (`balance`).
    balance: Option<balance::Balance>,
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
    /// What the call recorder wrote, when this replication had one.
    pub recorded: Option<crate::record::Recorded>,
}

pub struct World<'c> {
    config: &'c WorldConfig,
    sched: Scheduler<Event>,
    tenants: Vec<Tenant>,
    backends: Vec<Backend>,
    routes: Vec<Route>,
    /// Some route balances its first place: only then does a call ask `rebalance` (a check
    /// per call otherwise, on every scenario).
    balanced: bool,
    requests: Slab<Request>,
    attempts: Slab<Attempt>,
    retry_rng: RandomStream,
    guardrail_rng: RandomStream,
    budget: Option<policies::AnyRetryBudget>,
    budget_rng: RandomStream,
    hedge: Option<HedgePolicy>,
    /// The gateway's rate and concurrency limits, and the jobs in flight per tenant.
    limits: GatewayLimits,
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
    /// Per-call rows and the trace, for the one replication that writes them (`record`).
    recorder: Option<Box<crate::record::CallRecorder>>,
    /// Retry quotas, client rate limits, adaptive concurrency limits, CoDel drops (`None`: none
    /// configured).
    overload: Option<gateway::overload::Overload>,
    /// Workflow executions, when some tenant runs a workflow (see `workflow`).
    workflows: Option<Box<workflow::Workflows>>,
    /// The network between tenants' clients and the gateway (`None`: no tenant has one).
    client_hops: Option<Box<client_hop::ClientHops>>,
    /// Work queues and their worker pools (`crate::workflow::queue`; empty: none).
    work_queues: Vec<crate::workflow::queue::WorkQueue>,
}

impl<'c> World<'c> {
    /// Keeps every arrival's time and tenant (for tests of stream independence).
    pub fn record_arrivals(&mut self) {
        self.arrival_log = Some(Vec::new());
    }

    /// Writes this replication's calls and timeline as it runs (see `crate::record`).
    pub fn record(&mut self, recorder: crate::record::CallRecorder) {
        self.recorder = Some(Box::new(recorder));
    }

    /// An event in words, naming the tenant and backend it concerns, for the stall message.
    fn describe(&self, event: &Event) -> String {
        let tenant = |t: TenantId| format!("tenant `{}`", self.config.tenants[t].name);
        let backend = |b: BackendId| format!("backend `{}`", self.config.backends[b].name);
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
            Event::Arrival { tenant: t } => format!("an arrival of {}", tenant(TenantId(t))),
            Event::ServiceDone {
                attempt: a,
                generation,
            } => format!("the end of a service{}", attempt(a, generation)),
            Event::ServerDone {
                attempt: a,
                generation,
            } => format!("the server's end of a service{}", attempt(a, generation)),
            Event::AttemptTimeout {
                attempt: a,
                generation,
            } => format!("an attempt timeout{}", attempt(a, generation)),
            Event::RetryDue {
                request: r,
                generation,
            } => format!("a retry{}", request(r, generation)),
            Event::ClientHop {
                request: r,
                generation,
            } => format!("a call reaching the gateway{}", request(r, generation)),
            Event::ClientReturn { .. } => "an answer reaching its client".to_string(),
            Event::Validated {
                request: r,
                generation,
            } => format!("a validation{}", request(r, generation)),
            Event::HedgeDue {
                request: r,
                generation,
            } => format!("a hedge{}", request(r, generation)),
            Event::GpuStep { backend: b, .. } => {
                format!("a GPU batch step of {}", backend(BackendId(b)))
            }
            Event::Episode { backend: b, .. } => {
                format!("an outage or slowdown of {}", backend(BackendId(b)))
            }
            Event::DegradationFlip { backend: b } | Event::ModelUpdate { backend: b, .. } => {
                format!("a model-state change of {}", backend(BackendId(b)))
            }
            Event::ReplicaFault { backend: b, .. } | Event::ReplicaRepair { backend: b, .. } => {
                format!("a replica fault or repair of {}", backend(BackendId(b)))
            }
            Event::Autoscale { backend: b } => {
                format!("an autoscaling check of {}", backend(BackendId(b)))
            }
            Event::Chaos { .. } => "a chaos experiment event".to_string(),
            Event::Workflow { what, .. } => format!("a workflow timer ({what:?})"),
            Event::WorkQueue { queue, what } => format!(
                "a work-queue event ({what:?}) of `{}`",
                self.config.work_queues[queue as usize].name
            ),
            Event::WarmupEnd => "the end of the warm-up".to_string(),
        }
    }

    /// Runs the replication to its horizon, or stops with [`Stalled`] when virtual time stops
    /// advancing.
    pub fn run(mut self) -> Result<RunOutput, RunAborted> {
        let horizon = self.config.horizon;
        for t in 0..self.tenants.len() {
            self.schedule_next_arrival(TenantId::at(t), 0);
        }
        if self.config.warmup > 0 {
            self.sched.schedule(self.config.warmup, Event::WarmupEnd);
        }
        for (b, cfg) in self.config.backends.iter().enumerate() {
            let b = BackendId::at(b);
            for (i, e) in cfg.episodes.iter().enumerate() {
                match &e.timing {
                    EpisodeTiming::Window { start, duration } => {
                        self.schedule_episode(*start, b, i, true);
                        self.schedule_episode(start.saturating_add(*duration), b, i, false);
                    }
                    EpisodeTiming::Process { up, .. } => {
                        let gap = to_time(up.sample(&mut self.backends[b].provider.episodes_rng));
                        self.schedule_episode(gap, b, i, true);
                    }
                }
            }
        }
        for (b, cfg) in self.config.backends.iter().enumerate() {
            let b = BackendId::at(b);
            if let Some(d) = cfg.degradation {
                // Start in the stationary distribution, so the run is stationary from time 0.
                let state = &mut self.backends[b];
                let p_degraded =
                    d.degraded_mean as f64 / (d.normal_mean as f64 + d.degraded_mean as f64);
                state.provider.degraded = state.provider.degradation_rng.bernoulli(p_degraded);
                self.stats
                    .backends
                    .model_degraded(0, b.index(), state.provider.degraded);
                self.schedule_degradation_flip(0, b);
            }
            for (i, &(at, _)) in cfg.model_updates.iter().enumerate() {
                if at <= horizon {
                    self.sched.schedule(
                        at,
                        Event::ModelUpdate {
                            backend: b.0,
                            index: i as u16,
                        },
                    );
                }
            }
        }
        self.schedule_chaos();
        for (q, cfg) in self.work_queues.iter_mut().zip(&self.config.work_queues) {
            q.start(cfg, &mut self.sched, horizon);
        }
        for (b, cfg) in self.config.backends.iter().enumerate() {
            let b = BackendId::at(b);
            let Some(p) = &cfg.pool else { continue };
            for i in 0..p.replicas as usize {
                self.schedule_crash(0, b, i);
            }
            if let Some(a) = &p.autoscale
                && a.interval <= horizon
            {
                self.sched
                    .schedule(a.interval, Event::Autoscale { backend: b.0 });
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
                    self.on_arrival(now, TenantId(tenant));
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
                Event::ServerDone {
                    attempt,
                    generation,
                } => self.on_server_done(now, key(attempt, generation)),
                Event::AttemptTimeout {
                    attempt,
                    generation,
                } => self.on_attempt_timeout(now, key(attempt, generation)),
                Event::RetryDue {
                    request,
                    generation,
                } => self.on_retry_due(now, key(request, generation)),
                Event::ClientHop {
                    request,
                    generation,
                } => self.on_client_hop(now, key(request, generation)),
                Event::ClientReturn { job, generation } => {
                    self.on_client_return(now, key(job, generation))
                }
                Event::WarmupEnd => {
                    self.stats.restart(now, self.config);
                    if let Some(o) = &mut self.overload {
                        o.restart(now);
                    }
                    if let Some(w) = &mut self.workflows {
                        w.restart(self.config);
                    }
                    for q in &mut self.work_queues {
                        q.restart(now);
                    }
                    for b in &mut self.backends {
                        if let Some(p) = b.pool_mut() {
                            p.restart(now);
                        }
                    }
                }
                Event::Episode {
                    backend,
                    index,
                    begin,
                } => self.on_episode(now, BackendId(backend), index as usize, begin),
                Event::DegradationFlip { backend } => {
                    self.on_degradation_flip(now, BackendId(backend))
                }
                Event::ModelUpdate { backend, index } => {
                    self.on_model_update(now, BackendId(backend), index as usize)
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
                Event::WorkQueue { queue, what } => self.work_queues[queue as usize].on_event(
                    now,
                    what,
                    &self.config.work_queues[queue as usize],
                    &mut self.sched,
                    horizon,
                ),
                Event::Workflow {
                    run,
                    generation,
                    what,
                } => self.on_workflow(now, key(run, generation), what),
                Event::GpuStep {
                    backend,
                    replica,
                    generation,
                } => self.on_gpu_step(now, BackendId(backend), replica as usize, generation),
                Event::ReplicaFault {
                    backend,
                    replica,
                    epoch,
                } => {
                    let (b, i) = (BackendId(backend), replica as usize);
                    if self.backends[b]
                        .pool()
                        .is_some_and(|p| p.epoch[i] == epoch && p.is_serving(i))
                    {
                        self.crash_replica(now, b, i);
                    }
                }
                Event::ReplicaRepair {
                    backend,
                    replica,
                    epoch,
                } => self.on_replica_repair(now, BackendId(backend), replica as usize, epoch),
                Event::Autoscale { backend } => self.on_autoscale(now, BackendId(backend)),
            }
        }
        // GPU pools bill their GPU-hours as a cost of the backend.
        let mut pool_metrics = MetricSet::new();
        let mut pool_series = Vec::new();
        for (b, cfg) in self.config.backends.iter().enumerate() {
            let b = BackendId::at(b);
            if let (Some(pool), Some(pc)) = (self.backends[b].pool_mut(), &cfg.pool) {
                let (usd, buckets) =
                    pool.finish(horizon, &cfg.name, pc, &mut pool_metrics, &mut pool_series);
                self.stats.fixed_cost(b.index(), usd, &buckets);
            }
        }
        self.close_chaos(horizon);
        let (mut metrics, mut series, latency_cdf) = self.stats.finish(horizon, self.config);
        for (name, value) in pool_metrics.entries() {
            metrics.push(name.clone(), *value);
        }
        series.series.extend(pool_series);
        gateway::overload::push_metrics(
            self.overload.as_mut(),
            self.config,
            horizon,
            &mut metrics,
            &mut series.series,
        );
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
        network::push_metrics(&self.backends, self.config, &mut metrics);
        if let Some(w) = &self.workflows {
            w.push_metrics(self.config, horizon, &mut metrics);
        }
        for (q, cfg) in self.work_queues.iter_mut().zip(&self.config.work_queues) {
            q.finish(cfg, horizon, &mut metrics, &mut series.series);
        }
        chaos_hooks::push_metrics(
            self.chaos.as_ref(),
            self.cost_guard.as_mut(),
            self.config,
            horizon,
            &mut metrics,
        );
        let requests = &self.requests;
        let recorded = self
            .recorder
            .take()
            .map(|r| r.finish(horizon, |k| requests.get(k).map(|q| (q.depth, q.cost))));
        Ok(RunOutput {
            metrics,
            series,
            latency_cdf,
            events: self.events,
            arrivals: self.arrival_log,
            recorded,
        })
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

/// Runs one replication that writes its calls and timeline as `options` says.
pub fn run_replication_recorded(
    config: &WorldConfig,
    seed: u64,
    replication: u32,
    options: crate::record::RecordOptions,
) -> Result<RunOutput, RunAborted> {
    let mut world = World::new(config, seed, replication);
    world.record(crate::record::CallRecorder::new(
        config,
        replication,
        options,
    ));
    world.run()
}
