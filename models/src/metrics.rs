//! What one replication measures, recorded as it happens and turned into a [`MetricSet`] at the
//! end. Every statistic restarts at the end of the warm-up; levels (queue length, requests in
//! system) carry over so time averages stay exact.

use crate::config::{EpisodeEffect, OutageMode, SOFT_CATEGORIES, ServiceModel, WorldConfig};
use policies::ErrorClass;
use sim_core::series::{BucketGrid, CdfSet, CountSeries, LevelSeries, SeriesSet};
use sim_core::stats::{LatencyHistogram, Tally, TimeWeighted};
use sim_core::summary::MetricSet;
use sim_core::time::{Time, as_secs_f64};

pub use crate::outcome::Outcome;

#[derive(Debug, Clone)]
pub(crate) struct TenantStats {
    arrivals: u64,
    completions: u64,
    successes: u64,
    correct: u64,
    blocked: u64,
    time_in_system: Tally,
    latency: LatencyHistogram,
    ttft: LatencyHistogram,
    cost: f64,
}

impl TenantStats {
    fn new() -> TenantStats {
        TenantStats {
            arrivals: 0,
            completions: 0,
            successes: 0,
            correct: 0,
            blocked: 0,
            time_in_system: Tally::new(),
            latency: LatencyHistogram::new(),
            ttft: LatencyHistogram::new(),
            cost: 0.0,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct BackendStats {
    busy: TimeWeighted,
    attempts_started: u64,
    concurrency: u32,
    cost: f64,
}

/// Which families of metrics a world has: a scenario without tokens gets none of the token,
/// cost or time-to-first-token metrics, so queueing reports stay as they were.
#[derive(Debug, Clone, Copy)]
struct Families {
    /// Calls carry tokens, or something counts them (prices, context windows).
    llm: bool,
    /// Some backend has a time-to-first-token model.
    ttft: bool,
    /// Answers can be silently bad, or are checked.
    soft: bool,
    /// Prompt injections or an input guardrail.
    guardrail: bool,
    /// Agent loops.
    loops: bool,
    /// Multi-step chains: the most steps any tenant's jobs have.
    max_steps: usize,
    budgets: bool,
}

impl Families {
    fn of(config: &WorldConfig) -> Families {
        let ttft = config
            .backends
            .iter()
            .any(|b| matches!(b.service, ServiceModel::Tokens { .. }) || b.pool.is_some());
        let llm = ttft
            || config
                .tenants
                .iter()
                .any(|t| t.prompt_tokens.is_some() || t.output_tokens.is_some())
            || config
                .backends
                .iter()
                .any(|b| !b.price.is_free() || b.context_window.is_some());
        let soft = config.routes.iter().any(|r| {
            r.soft.iter().any(|&p| p > 0.0)
                || r.validator.is_some()
                || matches!(r.cache, Some(crate::cache::CacheConfig::Semantic { .. }))
        });
        Families {
            llm,
            ttft,
            soft,
            guardrail: config.gateway.input_guardrail.is_some()
                || config.tenants.iter().any(|t| t.injection_share > 0.0),
            loops: config.tenants.iter().any(|t| t.agent_loop.is_some()),
            max_steps: config
                .tenants
                .iter()
                .map(|t| t.steps.len())
                .max()
                .unwrap_or(1),
            budgets: config.tenants.iter().any(|t| t.budget_usd.is_some()),
        }
    }
}

/// Per-bucket series over `[warm-up, horizon]`. A series exists only when the configuration can
/// produce it (no blocked series without a finite queue, no timeout series without a timeout),
/// so reports and plots show only what the scenario has.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    grid: BucketGrid,
    completions: CountSeries,
    successes: CountSeries,
    blocked: Option<CountSeries>,
    failed: Option<CountSeries>,
    timeouts: Option<CountSeries>,
    queued: Option<LevelSeries>,
    /// Busy servers per backend; `None` for infinite-server backends (no utilisation).
    busy: Vec<Option<LevelSeries>>,
    /// USD billed per bucket, when some backend has a price.
    cost: Option<Vec<f64>>,
    /// 1 while some backend is faulty (outage, slowdown, degraded or updated model), when the
    /// scenario can have faults; with the number of faulty backends behind it.
    fault_active: Option<LevelSeries>,
    faulty_backends: u32,
    /// Breaker openings per bucket, per backend; `None` for backends without a breaker.
    breaker_openings: Vec<Option<CountSeries>>,
    /// Per backend with a breaker: the share of each bucket it spent open and half-open.
    breaker_states: Vec<Option<BreakerLevels>>,
}

/// A breaker's state as two 0/1 levels (open, half-open; closed is neither), integrated per
/// bucket: the state timeline. A breaker leaves open by itself at `until` and reports it
/// lazily, so that change is applied, at `until`, when the next one arrives (or at the end).
#[derive(Debug, Clone)]
struct BreakerLevels {
    open: LevelSeries,
    half_open: LevelSeries,
    /// 0 closed, 1 open until `until`, 2 half-open.
    state: u8,
    until: Time,
}

impl BreakerLevels {
    fn new(grid: BucketGrid) -> BreakerLevels {
        BreakerLevels {
            open: LevelSeries::new(grid),
            half_open: LevelSeries::new(grid),
            state: 0,
            until: 0,
        }
    }

    /// An open spell that ended by `now` turned half-open at its `until`.
    fn settle(&mut self, now: Time) {
        if self.state == 1 && self.until <= now {
            self.open.add(self.until, -1);
            self.half_open.add(self.until, 1);
            self.state = 2;
        }
    }

    fn enter(&mut self, now: Time, state: policies::BreakerState) {
        self.settle(now);
        match self.state {
            1 => self.open.add(now, -1),
            2 => self.half_open.add(now, -1),
            _ => {}
        }
        (self.state, self.until) = match state {
            policies::BreakerState::Closed => (0, 0),
            policies::BreakerState::Open { until } => (1, until),
            policies::BreakerState::HalfOpen => (2, 0),
        };
        match self.state {
            1 => self.open.add(now, 1),
            2 => self.half_open.add(now, 1),
            _ => {}
        }
    }
}

impl Series {
    fn new(config: &WorldConfig) -> Series {
        let grid = BucketGrid::for_window(config.warmup, config.horizon);
        let finite = config.backends.iter().any(|b| b.concurrency != u32::MAX);
        let gw = &config.gateway;
        let can_fail = gw.attempt_timeout.is_some()
            || config.backends.iter().any(|b| {
                b.failure_probability > 0.0
                    || b.overload_when_busy
                    || !b.errors.is_empty()
                    || b.limits.any()
                    || b.context_window.is_some()
                    || b.episodes
                        .iter()
                        .any(|e| matches!(e.effect, EpisodeEffect::Outage(_)))
            });
        Series {
            grid,
            completions: CountSeries::new(grid),
            successes: CountSeries::new(grid),
            blocked: (finite && gw.queue_capacity.is_some()).then(|| CountSeries::new(grid)),
            failed: can_fail.then(|| CountSeries::new(grid)),
            timeouts: gw.attempt_timeout.map(|_| CountSeries::new(grid)),
            queued: (finite && gw.queue_capacity != Some(0)).then(|| LevelSeries::new(grid)),
            busy: config
                .backends
                .iter()
                .map(|b| (b.concurrency != u32::MAX).then(|| LevelSeries::new(grid)))
                .collect(),
            cost: config
                .backends
                .iter()
                .any(|b| {
                    !b.price.is_free() || b.pool.as_ref().is_some_and(|p| p.usd_per_gpu_hour > 0.0)
                })
                .then(|| vec![0.0; grid.len()]),
            fault_active: config
                .backends
                .iter()
                .any(|b| {
                    !b.episodes.is_empty() || b.degradation.is_some() || !b.model_updates.is_empty()
                })
                // Chaos faults are shaded like episodes.
                .then_some(())
                .or(config.chaos.as_ref().map(|_| ()))
                .map(|_| LevelSeries::new(grid)),
            faulty_backends: 0,
            breaker_openings: config
                .backends
                .iter()
                .map(|b| b.breaker.as_ref().map(|_| CountSeries::new(grid)))
                .collect(),
            breaker_states: config
                .backends
                .iter()
                .map(|b| b.breaker.as_ref().map(|_| BreakerLevels::new(grid)))
                .collect(),
        }
    }

    fn finish(mut self, config: &WorldConfig) -> SeriesSet {
        let mut series = vec![
            (
                "throughput_per_s".to_string(),
                self.completions.rates_per_second(),
            ),
            (
                "goodput_per_s".to_string(),
                self.successes.rates_per_second(),
            ),
        ];
        let errors = [
            ("errors.blocked_per_s", &self.blocked),
            ("errors.failed_per_s", &self.failed),
            ("errors.attempt_timeouts_per_s", &self.timeouts),
        ];
        for (name, s) in errors {
            if let Some(s) = s {
                series.push((name.to_string(), s.rates_per_second()));
            }
        }
        if let Some(q) = &mut self.queued {
            series.push(("queue_length_mean".to_string(), q.means()));
        }
        for (busy, cfg) in self.busy.iter_mut().zip(&config.backends) {
            if let Some(busy) = busy {
                let c = cfg.concurrency as f64;
                let u = busy.means().into_iter().map(|b| b / c).collect();
                series.push((format!("backend.{}.utilisation", cfg.name), u));
            }
        }
        if let Some(cost) = &self.cost {
            let g = self.grid;
            let rate = cost
                .iter()
                .enumerate()
                .map(|(i, &usd)| {
                    let secs = as_secs_f64(g.bucket_len(i));
                    if secs > 0.0 { usd / secs } else { f64::NAN }
                })
                .collect();
            series.push(("cost_usd_per_s".to_string(), rate));
        }
        if let Some(f) = &mut self.fault_active {
            series.push(("faults.active".to_string(), f.means()));
        }
        for (opened, cfg) in self.breaker_openings.iter().zip(&config.backends) {
            if let Some(opened) = opened {
                let n = opened.counts().iter().map(|&c| c as f64).collect();
                series.push((format!("backend.{}.breaker_openings", cfg.name), n));
            }
        }
        let end = self.grid.end;
        for (levels, cfg) in self.breaker_states.iter_mut().zip(&config.backends) {
            if let Some(b) = levels {
                b.settle(end);
                let name = &cfg.name;
                series.push((format!("backend.{name}.breaker_open"), b.open.means()));
                series.push((
                    format!("backend.{name}.breaker_half_open"),
                    b.half_open.means(),
                ));
            }
        }
        SeriesSet {
            grid: self.grid,
            series,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Stats {
    start: Time,
    arrivals: u64,
    blocked_on_arrival: u64,
    blocked_on_retry: u64,
    completions: u64,
    successes: u64,
    attempts_failed: u64,
    timeouts: u64,
    retries: u64,
    attempts_per_request: Tally,
    queue_wait: Tally,
    waited: u64,
    time_in_system: Tally,
    latency: LatencyHistogram,
    in_system: TimeWeighted,
    queued: TimeWeighted,
    tenants: Vec<TenantStats>,
    backends: Vec<BackendStats>,
    families: Families,
    context_overflows: u64,
    ttft: LatencyHistogram,
    cost: f64,
    input_tokens_billed: u64,
    output_tokens_billed: u64,
    series: Series,
    /// Attempt errors by class (declaration order of [`ErrorClass`]).
    errors: [u64; ErrorClass::ALL.len()],
    /// The classes this world can produce: only they get a metric.
    possible_errors: Vec<ErrorClass>,
    throttled: u64,
    /// Per backend: 1 while an outage is under way, and 1 while its model is degraded.
    down: Vec<TimeWeighted>,
    degraded: Vec<TimeWeighted>,
    /// Spend per tenant since time 0 (budgets count the warm-up too).
    spend: Vec<f64>,
    correct: u64,
    wrong_accepted: u64,
    detected_handled: u64,
    budget_rejections: u64,
    /// Per soft-failure category: bad answers, those a validator caught, those that got through.
    soft_occurred: [u64; 5],
    soft_detected: [u64; 5],
    soft_missed: [u64; 5],
    false_positives: u64,
    injections_blocked: u64,
    injections_missed: u64,
    clean_blocked: u64,
    /// Per hop: jobs whose first bad answer came from it, and validator rejections at it.
    wrong_from_hop: Vec<u64>,
    detected_at_hop: Vec<u64>,
    wrong_from_input: u64,
    turn_cap_stops: u64,
    token_cap_stops: u64,
    prompt_limit_stops: u64,
    turns: Tally,
    job_tokens: Tally,
    routes: Vec<RouteStats>,
    degraded_answers: u64,
    /// Calls shed, by [`policies::ShedReason`].
    shed_by: [u64; 4],
    gateway_rejected: u64,
    gateway_delayed: u64,
    hedges_sent: u64,
    hedges_won: u64,
    too_slow: u64,
    fallbacks: u64,
    default_responses: u64,
    deadline_exceeded: u64,
    budget_denied: u64,
    rejected_locally: u64,
    /// Retries by the class of the failure they answer ([`ErrorClass`] order), then re-asks
    /// after a validator caught a soft failure.
    retries_by: [u64; ErrorClass::ALL.len() + 1],
    /// Resends of timed-out attempts the provider worked on, those absorbed by idempotency
    /// keys, and the provider time and spend of the duplicates that were not.
    duplicates: u64,
    duplicates_absorbed: u64,
    duplicate_work: Time,
    duplicate_cost: f64,
    /// Answers by fallback depth (0: the primary backend).
    depth_answers: Vec<u64>,
    /// Per backend: breaker openings, calls its breaker refused, cooldowns, calls skipped while
    /// cooling down.
    breaker_opened: Vec<u64>,
    /// Time each breaker spent closed, open and half-open.
    breaker_clock: Vec<BreakerClock>,
    breaker_rejected: Vec<u64>,
    cooldowns: Vec<u64>,
    cooldown_skips: Vec<u64>,
    resilience: Resilience,
}

/// Which resilience families a world has, so reports show only those.
#[derive(Debug, Clone, Copy)]
struct Resilience {
    fallbacks: bool,
    max_depth: usize,
    budget: bool,
    adaptive: bool,
    deadline: bool,
}

impl Resilience {
    fn of(config: &WorldConfig) -> Resilience {
        Resilience {
            fallbacks: config.routes.iter().any(|r| r.chain.is_some()),
            max_depth: config
                .routes
                .iter()
                .map(|r| r.fallbacks.len() + 1)
                .max()
                .unwrap_or(1),
            budget: config.gateway.retry_budget.is_some(),
            adaptive: matches!(
                config.gateway.retry_budget,
                Some(crate::config::RetryBudgetConfig::Adaptive { .. })
            ),
            deadline: config.gateway.deadline.is_some(),
        }
    }
}

/// Time a breaker spends in each state. A breaker leaves open by itself at `until` (it reports
/// that lazily), so an open spell is split there into open and half-open time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BreakerClock {
    /// 0 closed, 1 open (until `until`, then half-open), 2 half-open.
    state: u8,
    since: Time,
    until: Time,
    closed: Time,
    open: Time,
    half_open: Time,
    /// Transitions into half-open (trial calls begin) and back to closed (recovered).
    half_opened: u64,
    recovered: u64,
}

impl BreakerClock {
    /// Adds the time since the last change, up to `now`.
    fn account(&mut self, now: Time) {
        let from = self.since.min(now);
        match self.state {
            1 => {
                let end = self.until.clamp(from, now);
                self.open += end - from;
                self.half_open += now - end;
            }
            2 => self.half_open += now - from,
            _ => self.closed += now - from,
        }
        self.since = now;
    }

    fn enter(&mut self, now: Time, state: policies::BreakerState) {
        self.account(now);
        // An open spell that ran out became half-open at `until`, unreported until now.
        let mut was = self.state;
        if was == 1 && now >= self.until {
            self.half_opened += 1;
            was = 2;
        }
        match state {
            policies::BreakerState::HalfOpen if was != 2 => self.half_opened += 1,
            policies::BreakerState::Closed if was != 0 => self.recovered += 1,
            _ => {}
        }
        (self.state, self.until) = match state {
            policies::BreakerState::Closed => (0, 0),
            policies::BreakerState::Open { until } => (1, until),
            policies::BreakerState::HalfOpen => (2, 0),
        };
    }

    /// The same state from `now` on, with nothing accounted (the end of the warm-up).
    fn restarted(&self, now: Time) -> BreakerClock {
        BreakerClock {
            state: self.state,
            since: now,
            until: self.until,
            ..BreakerClock::default()
        }
    }

    /// Transitions into half-open and into closed up to `now`.
    fn transitions(&self, now: Time) -> (u64, u64) {
        let pending = u64::from(self.state == 1 && now >= self.until);
        (self.half_opened + pending, self.recovered)
    }

    /// Shares of `[start, now]` spent open and half-open.
    fn shares(&mut self, now: Time) -> (f64, f64) {
        self.account(now);
        let total = (self.closed + self.open + self.half_open).max(1) as f64;
        (self.open as f64 / total, self.half_open as f64 / total)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RouteStats {
    answers: u64,
    bad: u64,
    cost: f64,
    /// From a call's issue to its answer (served, cached or stale), per call.
    latency: LatencyHistogram,
    cache_lookups: u64,
    cache_hits: u64,
    cache_wrong_hits: u64,
    stale_served: u64,
}

/// Hops a job can have: chain steps, or agent-loop turns up to their cap.
fn hops(config: &WorldConfig) -> usize {
    config
        .tenants
        .iter()
        .map(|t| {
            t.agent_loop
                .as_ref()
                .map_or(t.steps.len(), |l| l.turn_cap as usize)
        })
        .max()
        .unwrap_or(1)
        .min(u16::MAX as usize - 2)
}

/// The failures this world can retry, in [`ErrorClass`] order and then the soft-failure re-ask
/// (`None`), with their metric names; nothing when its rules allow a single attempt.
fn retry_classes(
    config: &WorldConfig,
    possible: &[ErrorClass],
) -> Vec<(Option<ErrorClass>, &'static str)> {
    let rules = &config.gateway.retry;
    if rules.policy.max_attempts == Some(1) {
        return Vec::new();
    }
    let mut out: Vec<(Option<ErrorClass>, &'static str)> = ErrorClass::ALL
        .into_iter()
        .filter(|&c| rules.retryable.contains(c) && possible.contains(&c))
        .map(|c| (Some(c), c.name()))
        .collect();
    if config.routes.iter().any(|r| {
        r.validator
            .as_ref()
            .is_some_and(|v| v.action == crate::config::ValidatorAction::Reask)
    }) {
        out.push((None, "soft_failure"));
    }
    out
}

/// The error classes a world can produce, in declaration order.
fn possible_errors(config: &WorldConfig) -> Vec<ErrorClass> {
    ErrorClass::ALL
        .into_iter()
        .filter(|&c| {
            config.backends.iter().any(|b| {
                b.errors.iter().any(|&(e, _)| e == c)
                    || (c == ErrorClass::Overloaded && b.overload_when_busy)
                    || (c == ErrorClass::Server500 && b.failure_probability > 0.0)
                    || (c == ErrorClass::RateLimited && b.limits.any())
                    || b.episodes.iter().any(|e| {
                        matches!(
                            (e.effect, c),
                            (
                                EpisodeEffect::Outage(OutageMode::ServerError),
                                ErrorClass::Unavailable503
                            ) | (
                                EpisodeEffect::Outage(OutageMode::RateLimited),
                                ErrorClass::RateLimited
                            ) | (
                                EpisodeEffect::Outage(OutageMode::ConnectionRefused),
                                ErrorClass::ConnectionRefused
                            ) | (
                                EpisodeEffect::Outage(OutageMode::Hang),
                                ErrorClass::AttemptTimeout
                            )
                        )
                    })
            }) || (c == ErrorClass::AttemptTimeout && config.gateway.attempt_timeout.is_some())
                || (c == ErrorClass::ContextOverflow
                    && config.backends.iter().any(|b| b.context_window.is_some()))
        })
        .collect()
}

impl Stats {
    pub(crate) fn new(config: &WorldConfig) -> Stats {
        Stats {
            start: 0,
            arrivals: 0,
            blocked_on_arrival: 0,
            blocked_on_retry: 0,
            completions: 0,
            successes: 0,
            attempts_failed: 0,
            timeouts: 0,
            retries: 0,
            attempts_per_request: Tally::new(),
            queue_wait: Tally::new(),
            waited: 0,
            time_in_system: Tally::new(),
            latency: LatencyHistogram::new(),
            in_system: TimeWeighted::new(0),
            queued: TimeWeighted::new(0),
            tenants: config.tenants.iter().map(|_| TenantStats::new()).collect(),
            backends: config
                .backends
                .iter()
                .map(|b| BackendStats {
                    busy: TimeWeighted::new(0),
                    attempts_started: 0,
                    concurrency: b.concurrency,
                    cost: 0.0,
                })
                .collect(),
            families: Families::of(config),
            context_overflows: 0,
            ttft: LatencyHistogram::new(),
            cost: 0.0,
            input_tokens_billed: 0,
            output_tokens_billed: 0,
            series: Series::new(config),
            errors: [0; ErrorClass::ALL.len()],
            possible_errors: possible_errors(config),
            throttled: 0,
            down: config
                .backends
                .iter()
                .map(|_| TimeWeighted::new(0))
                .collect(),
            degraded: config
                .backends
                .iter()
                .map(|_| TimeWeighted::new(0))
                .collect(),
            spend: vec![0.0; config.tenants.len()],
            correct: 0,
            wrong_accepted: 0,
            detected_handled: 0,
            budget_rejections: 0,
            soft_occurred: [0; 5],
            soft_detected: [0; 5],
            soft_missed: [0; 5],
            false_positives: 0,
            injections_blocked: 0,
            injections_missed: 0,
            clean_blocked: 0,
            wrong_from_hop: vec![0; hops(config)],
            detected_at_hop: vec![0; hops(config)],
            wrong_from_input: 0,
            turn_cap_stops: 0,
            token_cap_stops: 0,
            prompt_limit_stops: 0,
            turns: Tally::new(),
            job_tokens: Tally::new(),
            routes: vec![RouteStats::default(); config.routes.len()],
            degraded_answers: 0,
            shed_by: [0; 4],
            gateway_rejected: 0,
            gateway_delayed: 0,
            hedges_sent: 0,
            hedges_won: 0,
            too_slow: 0,
            fallbacks: 0,
            default_responses: 0,
            deadline_exceeded: 0,
            budget_denied: 0,
            rejected_locally: 0,
            retries_by: [0; ErrorClass::ALL.len() + 1],
            duplicates: 0,
            duplicates_absorbed: 0,
            duplicate_work: 0,
            duplicate_cost: 0.0,
            depth_answers: vec![0; Resilience::of(config).max_depth],
            breaker_opened: vec![0; config.backends.len()],
            breaker_clock: vec![BreakerClock::default(); config.backends.len()],
            breaker_rejected: vec![0; config.backends.len()],
            cooldowns: vec![0; config.backends.len()],
            cooldown_skips: vec![0; config.backends.len()],
            resilience: Resilience::of(config),
        }
    }

    /// Forgets everything measured before `now`, keeping current levels.
    pub(crate) fn restart(&mut self, now: Time, config: &WorldConfig) {
        let mut fresh = Stats::new(config);
        fresh.start = now;
        fresh.in_system = self.in_system.clone();
        fresh.in_system.restart(now);
        fresh.queued = self.queued.clone();
        fresh.queued.restart(now);
        for (new, old) in fresh.backends.iter_mut().zip(&self.backends) {
            new.busy = old.busy.clone();
            new.busy.restart(now);
        }
        for (new, old) in fresh.down.iter_mut().zip(&self.down) {
            *new = old.clone();
            new.restart(now);
        }
        for (new, old) in fresh.degraded.iter_mut().zip(&self.degraded) {
            *new = old.clone();
            new.restart(now);
        }
        fresh.spend = std::mem::take(&mut self.spend);
        for (new, old) in fresh.breaker_clock.iter_mut().zip(&self.breaker_clock) {
            *new = old.restarted(now);
        }

        // Series ignore the warm-up by construction and follow levels from time 0: keep them.
        std::mem::swap(&mut fresh.series, &mut self.series);
        *self = fresh;
    }

    #[inline]
    pub(crate) fn arrival(&mut self, now: Time, tenant: usize) {
        self.arrivals += 1;
        self.tenants[tenant].arrivals += 1;
        self.in_system.add(now, 1);
    }

    #[inline]
    pub(crate) fn blocked_on_arrival(&mut self, now: Time, tenant: usize) {
        self.blocked_on_arrival += 1;
        self.tenants[tenant].blocked += 1;
        self.in_system.add(now, -1);
        if let Some(s) = &mut self.series.blocked {
            s.add(now, 1);
        }
    }

    #[inline]
    pub(crate) fn enqueued(&mut self, now: Time) {
        self.queued.add(now, 1);
        if let Some(q) = &mut self.series.queued {
            q.add(now, 1);
        }
    }

    #[inline]
    pub(crate) fn service_started(
        &mut self,
        now: Time,
        backend: usize,
        waited: Time,
        from_queue: bool,
    ) {
        if from_queue {
            self.queued.add(now, -1);
            if let Some(q) = &mut self.series.queued {
                q.add(now, -1);
            }
        }
        if let Some(busy) = &mut self.series.busy[backend] {
            busy.add(now, 1);
        }
        self.queue_wait.record(as_secs_f64(waited));
        if waited > 0 {
            self.waited += 1;
        }
        let b = &mut self.backends[backend];
        b.busy.add(now, 1);
        b.attempts_started += 1;
    }

    #[inline]
    pub(crate) fn service_ended(&mut self, now: Time, backend: usize) {
        self.backends[backend].busy.add(now, -1);
        if let Some(busy) = &mut self.series.busy[backend] {
            busy.add(now, -1);
        }
    }

    #[inline]
    pub(crate) fn attempt_failed(&mut self, now: Time, timed_out: bool) {
        self.attempts_failed += 1;
        self.errors[if timed_out {
            ErrorClass::AttemptTimeout
        } else {
            ErrorClass::Server500
        } as usize] += 1;
        if timed_out {
            self.timeouts += 1;
            if let Some(s) = &mut self.series.timeouts {
                s.add(now, 1);
            }
        }
    }

    #[inline]
    pub(crate) fn context_overflow(&mut self) {
        self.context_overflows += 1;
        self.errors[ErrorClass::ContextOverflow as usize] += 1;
    }

    /// An attempt that ended in an error the provider (or the way to it) returned.
    #[inline]
    pub(crate) fn attempt_error(&mut self, now: Time, class: ErrorClass) {
        if class == ErrorClass::AttemptTimeout {
            // A hanging provider: the caller's timeout ends the attempt.
            self.attempt_failed(now, true);
        } else {
            self.attempts_failed += 1;
            self.errors[class as usize] += 1;
        }
    }

    #[inline]
    pub(crate) fn model_degraded(&mut self, now: Time, backend: usize, degraded: bool) {
        let level = &mut self.degraded[backend];
        let target = i64::from(degraded);
        let current = level.level();
        level.add(now, target - current);
    }

    pub(crate) fn tenant_spend(&self, tenant: usize) -> f64 {
        self.spend[tenant]
    }

    pub(crate) fn backend_skipped(&mut self, backend: usize, by_breaker: bool) {
        if by_breaker {
            self.breaker_rejected[backend] += 1;
        } else {
            self.cooldown_skips[backend] += 1;
        }
    }

    pub(crate) fn breaker_changed(
        &mut self,
        now: Time,
        backend: usize,
        state: policies::BreakerState,
    ) {
        if matches!(state, policies::BreakerState::Open { .. }) {
            self.breaker_opened[backend] += 1;
        }
        self.breaker_clock[backend].enter(now, state);
    }

    pub(crate) fn cooldown_started(&mut self, backend: usize) {
        self.cooldowns[backend] += 1;
    }

    /// Admission control turned a call away (`QueueFull`, `WaitTooLong` or `LowPriority`).
    pub(crate) fn shed(&mut self, reason: policies::ShedReason) {
        self.shed_by[reason as usize] += 1;
    }

    /// A call waited out its queue timeout: it leaves the queue and is shed.
    pub(crate) fn queue_timed_out(&mut self, now: Time) {
        self.shed_by[policies::ShedReason::QueueTimeout as usize] += 1;
        self.queued.add(now, -1);
        if let Some(q) = &mut self.series.queued {
            q.add(now, -1);
        }
    }

    /// A gateway rate limit held (`delayed`) or rejected a job.
    pub(crate) fn gateway_limited(&mut self, delayed: bool) {
        if delayed {
            self.gateway_delayed += 1;
        } else {
            self.gateway_rejected += 1;
        }
    }

    pub(crate) fn cache_lookup(&mut self, route: usize, hit: bool, wrong: bool) {
        let r = &mut self.routes[route];
        r.cache_lookups += 1;
        if hit {
            r.cache_hits += 1;
        }
        if wrong {
            r.cache_wrong_hits += 1;
        }
    }

    pub(crate) fn stale_served(&mut self, route: usize) {
        self.routes[route].stale_served += 1;
    }

    pub(crate) fn too_slow(&mut self) {
        self.too_slow += 1;
    }

    pub(crate) fn hedge_sent(&mut self) {
        self.hedges_sent += 1;
    }

    pub(crate) fn hedge_won(&mut self) {
        self.hedges_won += 1;
    }

    pub(crate) fn budget_denied(&mut self) {
        self.budget_denied += 1;
    }

    /// An attempt turned away by adaptive throttling before any call: the call failed locally.
    pub(crate) fn rejected_locally(&mut self) {
        self.rejected_locally += 1;
    }

    pub(crate) fn answered_at_depth(&mut self, depth: u8) {
        if let Some(d) = self.depth_answers.get_mut(depth as usize) {
            *d += 1;
        }
    }

    pub(crate) fn fell_back(&mut self) {
        self.fallbacks += 1;
    }

    pub(crate) fn default_response(&mut self) {
        self.default_responses += 1;
    }

    pub(crate) fn deadline_exceeded(&mut self) {
        self.deadline_exceeded += 1;
    }

    pub(crate) fn budget_rejected(&mut self) {
        self.budget_rejections += 1;
    }

    /// An input guardrail's verdict on a job (or an injection that met no guardrail).
    pub(crate) fn guardrail(&mut self, injection: bool, caught: bool) {
        match (injection, caught) {
            (true, true) => self.injections_blocked += 1,
            (true, false) => self.injections_missed += 1,
            (false, true) => self.clean_blocked += 1,
            (false, false) => {}
        }
    }

    pub(crate) fn soft_failure(&mut self, route: usize, category: u8) {
        self.soft_occurred[category as usize] += 1;
        self.routes[route].bad += 1;
    }

    /// A validator rejected an answer: a bad one (`category`) or a good one (`None`).
    pub(crate) fn rejected_by_validator(&mut self, category: Option<u8>, hop: u16) {
        match category {
            Some(c) => self.soft_detected[c as usize] += 1,
            None => self.false_positives += 1,
        }
        if let Some(h) = self.detected_at_hop.get_mut(hop as usize) {
            *h += 1;
        }
    }

    pub(crate) fn soft_missed(&mut self, category: u8) {
        self.soft_missed[category as usize] += 1;
    }

    /// A job finished wrong; `hop` let the first bad answer in (or the input did).
    pub(crate) fn wrong_let_in(&mut self, hop: u16) {
        if hop == u16::MAX - 1 {
            self.wrong_from_input += 1;
        } else if let Some(h) = self.wrong_from_hop.get_mut(hop as usize) {
            *h += 1;
        }
    }

    pub(crate) fn turn_cap_stop(&mut self) {
        self.turn_cap_stops += 1;
    }

    pub(crate) fn token_cap_stop(&mut self) {
        self.token_cap_stops += 1;
    }

    /// An agent loop whose next prompt would pass `u32::MAX` tokens.
    pub(crate) fn prompt_limit_stop(&mut self) {
        self.prompt_limit_stops += 1;
    }

    pub(crate) fn job_finished(&mut self, turns: u32, tokens: u64) {
        self.turns.record(turns as f64);
        self.job_tokens.record(tokens as f64);
    }

    #[inline]
    pub(crate) fn backend_down(&mut self, now: Time, backend: usize, down: bool) {
        self.down[backend].add(now, if down { 1 } else { -1 });
    }

    /// Time from a request's arrival to the first token of the attempt that answered it.
    #[inline]
    pub(crate) fn first_token(&mut self, tenant: usize, ttft: Time) {
        self.ttft.record(ttft);
        self.tenants[tenant].ttft.record(ttft);
    }

    /// A call of `route` was answered `latency` after it was issued.
    #[inline]
    pub(crate) fn call_answered(&mut self, route: usize, latency: Time) {
        self.routes[route].latency.record(latency);
    }

    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn billed(
        &mut self,
        backend: usize,
        tenant: usize,
        route: usize,
        input_tokens: u32,
        output_tokens: u32,
        cost: f64,
    ) {
        self.cost += cost;
        self.spend[tenant] += cost;
        self.routes[route].cost += cost;
        self.routes[route].answers += 1;
        self.backends[backend].cost += cost;
        self.tenants[tenant].cost += cost;
        self.input_tokens_billed += input_tokens as u64;
        self.output_tokens_billed += output_tokens as u64;
    }

    /// Series only: `cost` USD billed at `now` (the cost-rate series).
    #[inline]
    /// A cost not tied to calls (a GPU pool's hours), added at the end with its spread over the
    /// series buckets.
    pub(crate) fn fixed_cost(&mut self, backend: usize, usd: f64, per_bucket: &[f64]) {
        self.cost += usd;
        self.backends[backend].cost += usd;
        if let Some(c) = &mut self.series.cost {
            for (c, x) in c.iter_mut().zip(per_bucket) {
                *c += x;
            }
        }
    }

    pub(crate) fn billed_at(&mut self, now: Time, cost: f64) {
        if let (Some(c), Some(i)) = (&mut self.series.cost, self.series.grid.index(now)) {
            c[i] += cost;
        }
    }

    /// Series only: a backend became faulty or recovered (the fault-active series).
    pub(crate) fn fault_level(&mut self, now: Time, was: bool, is: bool) {
        let s = &mut self.series;
        let Some(level) = &mut s.fault_active else {
            return;
        };
        let before = s.faulty_backends > 0;
        match (was, is) {
            (false, true) => s.faulty_backends += 1,
            (true, false) => s.faulty_backends = s.faulty_backends.saturating_sub(1),
            _ => return,
        }
        let after = s.faulty_backends > 0;
        if before != after {
            level.add(now, if after { 1 } else { -1 });
        }
    }

    /// Series only: a backend's breaker changed state (the breaker-openings series).
    pub(crate) fn breaker_at(&mut self, now: Time, backend: usize, state: policies::BreakerState) {
        if let Some(Some(b)) = self.series.breaker_states.get_mut(backend) {
            b.enter(now, state);
        }
        if matches!(state, policies::BreakerState::Open { .. })
            && let Some(Some(s)) = self.series.breaker_openings.get_mut(backend)
        {
            s.add(now, 1);
        }
    }

    /// A resend of a timed-out attempt the provider worked on; `absorbed` by an idempotency key.
    pub(crate) fn duplicate_resend(&mut self, absorbed: bool) {
        self.duplicates += 1;
        self.duplicates_absorbed += absorbed as u64;
    }

    /// A duplicate attempt ended at the provider after `busy` of work, billed `cost_usd`.
    pub(crate) fn duplicate_work(&mut self, busy: Time, cost_usd: f64) {
        self.duplicate_work = self.duplicate_work.saturating_add(busy);
        self.duplicate_cost += cost_usd;
    }

    /// A retry of a failure of `class`; `None`: a re-ask after a detected soft failure.
    #[inline]
    pub(crate) fn retry(&mut self, class: Option<ErrorClass>) {
        self.retries += 1;
        self.retries_by[class.map_or(ErrorClass::ALL.len(), |c| c as usize)] += 1;
    }

    #[inline]
    pub(crate) fn completed(
        &mut self,
        now: Time,
        tenant: usize,
        arrived: Time,
        attempts: u32,
        outcome: Outcome,
    ) {
        let t = now - arrived;
        self.in_system.add(now, -1);
        self.completions += 1;
        self.attempts_per_request.record(attempts as f64);
        self.time_in_system.record(as_secs_f64(t));
        self.latency.record(t);
        let ts = &mut self.tenants[tenant];
        ts.completions += 1;
        ts.time_in_system.record(as_secs_f64(t));
        ts.latency.record(t);
        self.series.completions.add(now, 1);
        let class = match outcome {
            Outcome::Correct | Outcome::WrongAccepted => {
                self.successes += 1;
                ts.successes += 1;
                if outcome == Outcome::Correct {
                    self.correct += 1;
                    ts.correct += 1;
                } else {
                    // Answered, but not goodput: the goodput series counts correct answers.
                    self.wrong_accepted += 1;
                    return;
                }
                &mut self.series.successes
            }
            Outcome::Degraded => {
                self.successes += 1;
                ts.successes += 1;
                self.degraded_answers += 1;
                return;
            }
            Outcome::DetectedHandled | Outcome::OverBudget => {
                if outcome == Outcome::DetectedHandled {
                    self.detected_handled += 1;
                }
                match &mut self.series.failed {
                    Some(s) => s,
                    None => return,
                }
            }
            Outcome::Shed => {
                self.blocked_on_retry += 1;
                match &mut self.series.blocked {
                    Some(s) => s,
                    None => return,
                }
            }
            Outcome::Failed => match &mut self.series.failed {
                Some(s) => s,
                None => return,
            },
            Outcome::Throttled => {
                self.throttled += 1;
                match &mut self.series.failed {
                    Some(s) => s,
                    None => return,
                }
            }
        };
        class.add(now, 1);
    }

    /// The replication's scalar metrics (in a fixed order, with units in their names), its time
    /// series, and its latency distributions per tenant (and overall, with several tenants).
    pub(crate) fn finish(
        mut self,
        now: Time,
        config: &WorldConfig,
    ) -> (MetricSet, SeriesSet, CdfSet) {
        let secs = as_secs_f64(now.saturating_sub(self.start)).max(f64::MIN_POSITIVE);
        let ratio = |num: u64, den: u64| {
            if den == 0 {
                f64::NAN
            } else {
                num as f64 / den as f64
            }
        };
        let mut m = MetricSet::new();
        let admitted = self.arrivals - self.blocked_on_arrival;
        m.push("arrivals", self.arrivals as f64);
        m.push("arrival_rate_per_s", self.arrivals as f64 / secs);
        m.push("admitted_rate_per_s", admitted as f64 / secs);
        m.push(
            "blocked",
            (self.blocked_on_arrival + self.blocked_on_retry) as f64,
        );
        m.push(
            "block_probability",
            ratio(self.blocked_on_arrival, self.arrivals),
        );
        m.push("completions", self.completions as f64);
        m.push("throughput_per_s", self.completions as f64 / secs);
        // Goodput counts correct answers; a silently bad answer is throughput, not goodput.
        m.push("goodput_per_s", self.correct as f64 / secs);
        m.push("success_ratio", ratio(self.successes, self.completions));
        if self.families.soft || self.families.guardrail {
            m.push("correct", self.correct as f64);
            m.push("wrong_accepted", self.wrong_accepted as f64);
            m.push("detected_handled", self.detected_handled as f64);
            m.push("correctness", ratio(self.correct, self.successes));
        }
        if self.families.soft {
            let mut any = [false; 5];
            for r in &config.routes {
                for (c, a) in any.iter_mut().enumerate() {
                    *a |= r.soft[c] > 0.0;
                }
            }
            for (c, name) in SOFT_CATEGORIES.iter().enumerate() {
                if any[c] {
                    m.push(format!("soft.{name}"), self.soft_occurred[c] as f64);
                    m.push(
                        format!("soft.{name}.detected"),
                        self.soft_detected[c] as f64,
                    );
                    m.push(format!("soft.{name}.missed"), self.soft_missed[c] as f64);
                }
            }
            if config.routes.iter().any(|r| r.validator.is_some()) {
                m.push("validator.false_positives", self.false_positives as f64);
            }
        }
        if self.families.guardrail {
            m.push(
                "guardrail.injections_blocked",
                self.injections_blocked as f64,
            );
            m.push("guardrail.injections_missed", self.injections_missed as f64);
            m.push("guardrail.clean_blocked", self.clean_blocked as f64);
        }
        if self.families.max_steps > 1 && (self.families.soft || self.families.guardrail) {
            for hop in 0..self.families.max_steps {
                m.push(
                    format!("chain.hop{hop}.wrong_let_in"),
                    self.wrong_from_hop[hop] as f64,
                );
                m.push(
                    format!("chain.hop{hop}.detected"),
                    self.detected_at_hop[hop] as f64,
                );
            }
            if self.families.guardrail {
                m.push("chain.input.wrong_let_in", self.wrong_from_input as f64);
            }
        }
        if self.families.loops {
            m.push("turns_per_job_mean", self.turns.mean());
            m.push("tokens_per_job_mean", self.job_tokens.mean());
            m.push("turn_cap_stops", self.turn_cap_stops as f64);
            m.push("token_cap_stops", self.token_cap_stops as f64);
            m.push("prompt_limit_stops", self.prompt_limit_stops as f64);
        }
        if self.families.budgets {
            m.push("budget_rejections", self.budget_rejections as f64);
        }
        let res = self.resilience;
        if res.fallbacks {
            if config.routes.iter().any(|r| {
                r.chain
                    .as_ref()
                    .is_some_and(|c| c.triggers().latency_over.is_some())
            }) {
                m.push("fallback.too_slow", self.too_slow as f64);
            }
            m.push("degraded", self.degraded_answers as f64);
            m.push("fallbacks", self.fallbacks as f64);
            m.push("default_responses", self.default_responses as f64);
            let answered: u64 = self.depth_answers.iter().sum();
            for (d, n) in self.depth_answers.iter().enumerate() {
                m.push(format!("fallback.depth{d}_share"), ratio(*n, answered));
            }
        }
        if config.gateway.admission.is_some() || config.gateway.queue_timeout.is_some() {
            for reason in [
                policies::ShedReason::QueueFull,
                policies::ShedReason::WaitTooLong,
                policies::ShedReason::LowPriority,
                policies::ShedReason::QueueTimeout,
            ] {
                m.push(
                    format!("shed.{}", reason.name()),
                    self.shed_by[reason as usize] as f64,
                );
            }
        }
        if !config.gateway.rate_limits.is_empty() {
            m.push("rate_limit.rejected", self.gateway_rejected as f64);
            m.push("rate_limit.delayed", self.gateway_delayed as f64);
        }
        if config.gateway.hedge.is_some() {
            m.push("hedges_sent", self.hedges_sent as f64);
            m.push("hedges_won", self.hedges_won as f64);
        }
        if res.deadline {
            m.push("deadline_exceeded", self.deadline_exceeded as f64);
        }
        if res.budget {
            m.push("retry_budget.denied", self.budget_denied as f64);
        }
        if res.adaptive {
            m.push(
                "adaptive_throttle.rejected_locally",
                self.rejected_locally as f64,
            );
        }
        if config.gateway.idempotency.is_some() {
            m.push("idempotency.duplicates", self.duplicates as f64);
            m.push("idempotency.absorbed", self.duplicates_absorbed as f64);
            m.push(
                "idempotency.duplicate_work_s",
                as_secs_f64(self.duplicate_work),
            );
            m.push("idempotency.duplicate_cost_usd", self.duplicate_cost);
        }
        m.push("attempts_per_request", self.attempts_per_request.mean());
        m.push("retries", self.retries as f64);
        // Retries by what they answer, for the classes this world can produce and its retry
        // rules resend (what amplifies load in a storm is seldom the class one expects).
        for (class, name) in retry_classes(config, &self.possible_errors) {
            let i = class.map_or(ErrorClass::ALL.len(), |c| c as usize);
            m.push(format!("retries.{name}"), self.retries_by[i] as f64);
        }
        m.push("attempt_failures", self.attempts_failed as f64);
        m.push("timeouts", self.timeouts as f64);
        // Classes beyond the queueing model's own (failures and timeouts) get their own counts.
        if self
            .possible_errors
            .iter()
            .any(|c| !matches!(c, ErrorClass::Server500 | ErrorClass::AttemptTimeout))
        {
            for &c in &self.possible_errors {
                m.push(
                    format!("errors.{}", c.name()),
                    self.errors[c as usize] as f64,
                );
            }
        }
        if self.possible_errors.contains(&ErrorClass::RateLimited)
            || !config.gateway.rate_limits.is_empty()
        {
            m.push("throttled", self.throttled as f64);
        }
        m.push("queue_wait_mean_s", self.queue_wait.mean());
        m.push(
            "queue_wait_probability",
            ratio(self.waited, self.queue_wait.count()),
        );
        m.push("queue_length_mean", self.queued.mean(now));
        m.push("time_in_system_mean_s", self.time_in_system.mean());
        m.push("number_in_system_mean", self.in_system.mean(now));
        m.push("latency_p50_s", self.latency.quantile_secs(0.50));
        m.push("latency_p95_s", self.latency.quantile_secs(0.95));
        m.push("latency_p99_s", self.latency.quantile_secs(0.99));
        if self.families.ttft {
            m.push("ttft_p50_s", self.ttft.quantile_secs(0.50));
            m.push("ttft_p95_s", self.ttft.quantile_secs(0.95));
            m.push("ttft_p99_s", self.ttft.quantile_secs(0.99));
        }
        if self.families.llm {
            let hours = secs / 3600.0;
            m.push("context_overflows", self.context_overflows as f64);
            m.push("input_tokens_billed", self.input_tokens_billed as f64);
            m.push("output_tokens_billed", self.output_tokens_billed as f64);
            m.push("cost_usd", self.cost);
            m.push("cost_per_hour_usd", self.cost / hours);
            m.push(
                "cost_per_success_usd",
                if self.successes == 0 {
                    f64::NAN
                } else {
                    self.cost / self.successes as f64
                },
            );
        }
        for (backend_index, (b, cfg)) in self.backends.iter_mut().zip(&config.backends).enumerate()
        {
            let name = &cfg.name;
            let busy = b.busy.mean(now);
            let utilisation = if b.concurrency == u32::MAX {
                f64::NAN
            } else {
                busy / b.concurrency as f64
            };
            m.push(format!("backend.{name}.busy_mean"), busy);
            m.push(format!("backend.{name}.utilisation"), utilisation);
            m.push(
                format!("backend.{name}.attempts"),
                b.attempts_started as f64,
            );
            if self.families.llm {
                m.push(format!("backend.{name}.cost_usd"), b.cost);
            }
            if cfg.breaker.is_some() {
                m.push(
                    format!("backend.{name}.breaker_opened"),
                    self.breaker_opened[backend_index] as f64,
                );
                m.push(
                    format!("backend.{name}.breaker_rejected"),
                    self.breaker_rejected[backend_index] as f64,
                );
                let (half_opened, recovered) = self.breaker_clock[backend_index].transitions(now);
                m.push(
                    format!("backend.{name}.breaker_half_opened"),
                    half_opened as f64,
                );
                m.push(
                    format!("backend.{name}.breaker_recovered"),
                    recovered as f64,
                );
                let (open, half) = self.breaker_clock[backend_index].shares(now);
                m.push(format!("backend.{name}.breaker_open_share"), open);
                m.push(format!("backend.{name}.breaker_half_open_share"), half);
            }
            if cfg.cooldown.is_some() {
                m.push(
                    format!("backend.{name}.cooldowns"),
                    self.cooldowns[backend_index] as f64,
                );
                m.push(
                    format!("backend.{name}.cooldown_skips"),
                    self.cooldown_skips[backend_index] as f64,
                );
            }
            if cfg.degradation.is_some() {
                m.push(
                    format!("backend.{name}.degraded_fraction"),
                    self.degraded[backend_index].mean(now),
                );
            }
            if cfg
                .episodes
                .iter()
                .any(|e| matches!(e.effect, EpisodeEffect::Outage(_)))
            {
                m.push(
                    format!("backend.{name}.outage_fraction"),
                    self.down[backend_index].mean(now),
                );
            }
        }
        if self.tenants.len() > 1 {
            for (t, cfg) in self.tenants.iter().zip(&config.tenants) {
                let name = &cfg.name;
                m.push(format!("tenant.{name}.arrivals"), t.arrivals as f64);
                m.push(format!("tenant.{name}.blocked"), t.blocked as f64);
                m.push(
                    format!("tenant.{name}.success_ratio"),
                    ratio(t.successes, t.completions),
                );
                m.push(
                    format!("tenant.{name}.time_in_system_mean_s"),
                    t.time_in_system.mean(),
                );
                m.push(
                    format!("tenant.{name}.latency_p99_s"),
                    t.latency.quantile_secs(0.99),
                );
                if self.families.llm {
                    m.push(format!("tenant.{name}.cost_usd"), t.cost);
                }
                if self.families.ttft {
                    m.push(
                        format!("tenant.{name}.ttft_p99_s"),
                        t.ttft.quantile_secs(0.99),
                    );
                }
                if self.families.soft || self.families.guardrail {
                    m.push(
                        format!("tenant.{name}.correctness"),
                        ratio(t.correct, t.successes),
                    );
                }
            }
        }
        // Per route, for the routes a scenario declares (not those implied by a backend name).
        if config.routes.iter().filter(|r| r.explicit).count() > 1
            || config.routes.iter().any(|r| r.cache.is_some())
            || (self.families.soft && config.routes.iter().any(|r| r.explicit))
        {
            for (r, cfg) in self.routes.iter().zip(&config.routes) {
                if !cfg.explicit {
                    continue;
                }
                let name = &cfg.name;
                m.push(format!("route.{name}.attempts_billed"), r.answers as f64);
                m.push(
                    format!("route.{name}.latency_p50_s"),
                    r.latency.quantile_secs(0.50),
                );
                m.push(
                    format!("route.{name}.latency_p99_s"),
                    r.latency.quantile_secs(0.99),
                );
                if cfg.cache.is_some() {
                    m.push(
                        format!("route.{name}.cache_lookups"),
                        r.cache_lookups as f64,
                    );
                    m.push(
                        format!("route.{name}.cache_hit_ratio"),
                        ratio(r.cache_hits, r.cache_lookups),
                    );
                    m.push(
                        format!("route.{name}.cache_wrong_hits"),
                        r.cache_wrong_hits as f64,
                    );
                    m.push(
                        format!("route.{name}.cache_stale_served"),
                        r.stale_served as f64,
                    );
                }
                m.push(format!("route.{name}.bad_answers"), r.bad as f64);
                if self.families.llm {
                    m.push(format!("route.{name}.cost_usd"), r.cost);
                }
            }
        }
        let mut cdf = CdfSet::default();
        if self.tenants.len() > 1 {
            cdf.push("all", &self.latency);
        }
        for (t, cfg) in self.tenants.iter().zip(&config.tenants) {
            cdf.push(format!("tenant.{}", cfg.name), &t.latency);
        }
        // Call latency per declared route, when a scenario has several (or chains of them).
        if config.routes.iter().filter(|r| r.explicit).count() > 1 {
            for (r, cfg) in self.routes.iter().zip(&config.routes) {
                if cfg.explicit {
                    cdf.push(format!("route.{}", cfg.name), &r.latency);
                }
            }
        }
        (m, self.series.finish(config), cdf)
    }
}
