//! What one replication measures, recorded as it happens and turned into a [`MetricSet`] at the
//! end. Every statistic restarts at the end of the warm-up; levels (queue length, requests in
//! system) carry over so time averages stay exact.

use crate::config::{EpisodeEffect, OutageMode, ServiceModel, WorldConfig};
use policies::ErrorClass;
use sim_core::series::{BucketGrid, CdfSet, CountSeries, LevelSeries, SeriesSet};
use sim_core::stats::{LatencyHistogram, Tally, TimeWeighted};
use sim_core::summary::MetricSet;
use sim_core::time::{Time, as_secs_f64};

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// Every attempt allowed by the retry policy failed or timed out.
    Failed,
    /// A retry found the queue full.
    Blocked,
    /// The last attempt was turned away with a 429 and the retry policy gave up.
    Throttled,
}

#[derive(Debug, Clone)]
pub(crate) struct TenantStats {
    arrivals: u64,
    completions: u64,
    successes: u64,
    blocked: u64,
    time_in_system: Tally,
    latency: LatencyHistogram,
    cost: f64,
}

impl TenantStats {
    fn new() -> TenantStats {
        TenantStats {
            arrivals: 0,
            completions: 0,
            successes: 0,
            blocked: 0,
            time_in_system: Tally::new(),
            latency: LatencyHistogram::new(),
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
}

impl Families {
    fn of(config: &WorldConfig) -> Families {
        let ttft = config
            .backends
            .iter()
            .any(|b| matches!(b.service, ServiceModel::Tokens { .. }));
        let llm = ttft
            || config
                .tenants
                .iter()
                .any(|t| t.prompt_tokens.is_some() || t.output_tokens.is_some())
            || config
                .backends
                .iter()
                .any(|b| !b.price.is_free() || b.context_window.is_some());
        Families { llm, ttft }
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
}

impl Series {
    fn new(config: &WorldConfig) -> Series {
        let grid = BucketGrid::for_window(config.warmup, config.horizon);
        let finite = config.backends.iter().any(|b| b.concurrency != u32::MAX);
        let gw = &config.gateway;
        let can_fail = gw.attempt_timeout.is_some()
            || config.backends.iter().any(|b| {
                b.failure_probability > 0.0
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
    /// Per backend: 1 while an outage is under way.
    down: Vec<TimeWeighted>,
}

/// The error classes a world can produce, in declaration order.
fn possible_errors(config: &WorldConfig) -> Vec<ErrorClass> {
    ErrorClass::ALL
        .into_iter()
        .filter(|&c| {
            config.backends.iter().any(|b| {
                b.errors.iter().any(|&(e, _)| e == c)
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
    pub(crate) fn backend_down(&mut self, now: Time, backend: usize, down: bool) {
        self.down[backend].add(now, if down { 1 } else { -1 });
    }

    /// Time from a request's arrival to the first token of the attempt that answered it.
    #[inline]
    pub(crate) fn first_token(&mut self, ttft: Time) {
        self.ttft.record(ttft);
    }

    #[inline]
    pub(crate) fn billed(
        &mut self,
        backend: usize,
        tenant: usize,
        input_tokens: u32,
        output_tokens: u32,
        cost: f64,
    ) {
        self.cost += cost;
        self.backends[backend].cost += cost;
        self.tenants[tenant].cost += cost;
        self.input_tokens_billed += input_tokens as u64;
        self.output_tokens_billed += output_tokens as u64;
    }

    #[inline]
    pub(crate) fn retry(&mut self) {
        self.retries += 1;
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
            Outcome::Succeeded => {
                self.successes += 1;
                ts.successes += 1;
                &mut self.series.successes
            }
            Outcome::Blocked => {
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
        m.push("goodput_per_s", self.successes as f64 / secs);
        m.push("success_ratio", ratio(self.successes, self.completions));
        m.push("attempts_per_request", self.attempts_per_request.mean());
        m.push("retries", self.retries as f64);
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
        if self.possible_errors.contains(&ErrorClass::RateLimited) {
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
            }
        }
        let mut cdf = CdfSet::default();
        if self.tenants.len() > 1 {
            cdf.push("all", &self.latency);
        }
        for (t, cfg) in self.tenants.iter().zip(&config.tenants) {
            cdf.push(format!("tenant.{}", cfg.name), &t.latency);
        }
        (m, self.series.finish(config), cdf)
    }
}
