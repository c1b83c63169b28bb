//! What one replication measures, recorded as it happens and turned into a [`MetricSet`] at the
//! end. Every statistic restarts at the end of the warm-up; levels (queue length, requests in
//! system) carry over so time averages stay exact.
//!
//! `Stats` holds the core call counters (arrivals, blocking, completions, attempts, queue
//! wait, latency, tokens, cost, errors by class) and one component per concern, each owning its
//! counters, its recorders and its block of metrics: `Backends`, `Tenants`, `Routes`,
//! `Correctness`, `Jobs`, `Resilience` and the time `Series`. A call site that touches
//! one concern reaches its component (`stats.resilience.hedge_sent()`); an event that touches
//! several (a completion, a bill) is one method here that records it in each. `Stats::finish`
//! asks the components for their blocks in a fixed order, which is the report's order.

mod backends;
mod correctness;
mod families;
mod jobs;
mod resilience;
mod routes;
mod series;
mod tenants;

pub(crate) use backends::Backends;
pub(crate) use correctness::Correctness;
pub(crate) use jobs::Jobs;
pub(crate) use resilience::Resilience;
pub(crate) use routes::Routes;
pub(crate) use series::Series;
pub(crate) use tenants::Tenants;

use crate::config::WorldConfig;
use families::{Families, possible_errors};
use policies::ErrorClass;
use sim_core::names;
use sim_core::series::{CdfSet, SeriesSet};
use sim_core::stats::{LatencyHistogram, Tally, TimeWeighted};
use sim_core::summary::MetricSet;
use sim_core::time::{Time, as_secs_f64};

pub use crate::outcome::Outcome;

/// `num / den`, NaN when nothing was counted.
fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        f64::NAN
    } else {
        num as f64 / den as f64
    }
}

/// How a job ended, as the statistics need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobEnd {
    pub(crate) arrived: Time,
    /// Attempts the job's calls sent to backends.
    pub(crate) attempts: u32,
    pub(crate) outcome: Outcome,
    /// Every call of the job was answered by a fresh cache hit: no backend saw it.
    pub(crate) cached: bool,
    /// Some call was answered by a fallback backend only because the ones above it were at
    /// capacity (planned overflow, not degradation).
    pub(crate) overflowed: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Stats {
    start: Time,
    arrivals: u64,
    blocked_on_arrival: u64,
    blocked_on_retry: u64,
    /// Jobs that arrived in the measured window and ended, and jobs that arrived during the
    /// warm-up and ended after it (counted apart, so completions never exceed arrivals).
    completions: u64,
    completions_from_warmup: u64,
    /// Jobs answered wholly by fresh cache hits, and their latency.
    cache_served: u64,
    cache_latency: Tally,
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
    families: Families,
    context_overflows: u64,
    ttft: LatencyHistogram,
    cost: f64,
    input_tokens_billed: u64,
    output_tokens_billed: u64,
    /// Attempt errors by class (declaration order of [`ErrorClass`]).
    errors: [u64; ErrorClass::ALL.len()],
    /// The classes this world can produce: only they get a metric.
    possible_errors: Vec<ErrorClass>,
    throttled: u64,
    pub(crate) series: Series,
    pub(crate) backends: Backends,
    pub(crate) tenants: Tenants,
    pub(crate) routes: Routes,
    pub(crate) correctness: Correctness,
    pub(crate) jobs: Jobs,
    pub(crate) resilience: Resilience,
}

impl Stats {
    pub(crate) fn new(config: &WorldConfig) -> Stats {
        Stats {
            start: 0,
            arrivals: 0,
            blocked_on_arrival: 0,
            blocked_on_retry: 0,
            completions: 0,
            completions_from_warmup: 0,
            cache_served: 0,
            cache_latency: Tally::new(),
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
            families: Families::of(config),
            context_overflows: 0,
            ttft: LatencyHistogram::new(),
            cost: 0.0,
            input_tokens_billed: 0,
            output_tokens_billed: 0,
            errors: [0; ErrorClass::ALL.len()],
            possible_errors: possible_errors(config),
            throttled: 0,
            series: Series::new(config),
            backends: Backends::new(config),
            tenants: Tenants::new(config),
            routes: Routes::new(config),
            correctness: Correctness::new(config),
            jobs: Jobs::new(),
            resilience: Resilience::new(config),
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
        fresh.backends.carry_levels(&self.backends, now);
        fresh.tenants.carry_spend(&mut self.tenants);

        // Series ignore the warm-up by construction and follow levels from time 0: keep them.
        std::mem::swap(&mut fresh.series, &mut self.series);
        *self = fresh;
    }

    /// Whether a job that arrived at `arrived` is one the per-job statistics count: it arrived
    /// in the measured window, as the arrivals it is compared with did.
    #[inline]
    pub(crate) fn in_window(&self, arrived: Time) -> bool {
        arrived >= self.start
    }

    #[inline]
    pub(crate) fn arrival(&mut self, now: Time, tenant: usize) {
        self.arrivals += 1;
        self.tenants.each[tenant].arrivals += 1;
        self.in_system.add(now, 1);
    }

    #[inline]
    pub(crate) fn blocked_on_arrival(&mut self, now: Time, tenant: usize) {
        self.blocked_on_arrival += 1;
        self.tenants.each[tenant].blocked += 1;
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
        self.backends.started(now, backend);
    }

    #[inline]
    pub(crate) fn service_ended(&mut self, now: Time, backend: usize) {
        self.backends.ended(now, backend);
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

    /// A backend's breaker changed state: its counters and its series.
    pub(crate) fn breaker_changed(
        &mut self,
        now: Time,
        backend: usize,
        state: policies::BreakerState,
    ) {
        self.backends.breaker_changed(now, backend, state);
        self.series.breaker_at(now, backend, state);
    }

    /// A call waited out its queue timeout: it leaves the queue and is shed.
    pub(crate) fn queue_timed_out(&mut self, now: Time) {
        self.resilience.shed(policies::ShedReason::QueueTimeout);
        self.queued.add(now, -1);
        if let Some(q) = &mut self.series.queued {
            q.add(now, -1);
        }
    }

    /// A call left the queue without being served or timing out (CoDel dropped it).
    pub(crate) fn left_queue(&mut self, now: Time) {
        self.queued.add(now, -1);
        if let Some(q) = &mut self.series.queued {
            q.add(now, -1);
        }
    }

    /// An answer of `route` went bad with soft failure `category`.
    pub(crate) fn soft_failure(&mut self, route: usize, category: u8) {
        self.correctness.soft_failure(category);
        self.routes.each[route].bad += 1;
    }

    /// Time from a request's arrival to the first token of the attempt that answered it.
    #[inline]
    pub(crate) fn first_token(&mut self, tenant: usize, ttft: Time) {
        self.ttft.record(ttft);
        self.tenants.first_token(tenant, ttft);
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
        self.tenants.billed(tenant, cost);
        self.routes.billed(route, cost);
        self.backends.add_cost(backend, cost);
        self.input_tokens_billed += input_tokens as u64;
        self.output_tokens_billed += output_tokens as u64;
    }

    /// A cost not tied to calls (a GPU pool's hours), added at the end with its spread over the
    /// series buckets.
    pub(crate) fn fixed_cost(&mut self, backend: usize, usd: f64, per_bucket: &[f64]) {
        self.cost += usd;
        self.backends.add_cost(backend, usd);
        self.series.fixed_cost(per_bucket);
    }

    /// A retry of a failure of `class`; `None`: a re-ask after a detected soft failure.
    #[inline]
    pub(crate) fn retry(&mut self, class: Option<ErrorClass>) {
        self.retries += 1;
        self.resilience.retried(class);
    }

    /// A job ended. The time series count it whenever it arrived (they show the run over
    /// time); the scalar statistics only when it arrived in the measured window.
    #[inline]
    pub(crate) fn completed(&mut self, now: Time, tenant: usize, job: JobEnd) {
        self.in_system.add(now, -1);
        self.series.completions.add(now, 1);
        let series = match job.outcome {
            Outcome::Correct => Some(&mut self.series.successes),
            Outcome::WrongAccepted | Outcome::Degraded => None,
            Outcome::Shed => self.series.blocked.as_mut(),
            Outcome::DetectedHandled
            | Outcome::OverBudget
            | Outcome::Failed
            | Outcome::BrokenStream
            | Outcome::Throttled => self.series.failed.as_mut(),
        };
        if let Some(s) = series {
            s.add(now, 1);
        }
        if !self.in_window(job.arrived) {
            self.completions_from_warmup += 1;
            return;
        }
        let t = now - job.arrived;
        self.completions += 1;
        self.time_in_system.record(as_secs_f64(t));
        let several = self.tenants.several;
        let ts = &mut self.tenants.each[tenant];
        ts.completions += 1;
        if several {
            ts.time_in_system.record(as_secs_f64(t));
        }
        // Latency and attempts describe the jobs a backend (or the gateway) handled; a job a
        // cache answered whole is counted apart, with its own latency.
        if job.cached {
            self.cache_served += 1;
            self.cache_latency.record(as_secs_f64(t));
        } else {
            self.attempts_per_request.record(job.attempts as f64);
            self.latency.record(t);
            if several {
                ts.latency.record(t);
            }
        }
        match job.outcome {
            Outcome::Correct | Outcome::WrongAccepted => {
                self.successes += 1;
                ts.successes += 1;
                if job.outcome == Outcome::Correct {
                    self.correctness.correct += 1;
                    ts.correct += 1;
                } else {
                    // Answered, but not goodput: the goodput series counts correct answers.
                    self.correctness.wrong_accepted += 1;
                }
                if job.overflowed {
                    self.resilience.overflow_answers += 1;
                }
            }
            Outcome::Degraded => {
                self.successes += 1;
                ts.successes += 1;
                self.resilience.degraded_answers += 1;
            }
            Outcome::DetectedHandled => self.correctness.detected_handled += 1,
            Outcome::Shed => self.blocked_on_retry += 1,
            Outcome::Throttled => self.throttled += 1,
            Outcome::OverBudget | Outcome::Failed | Outcome::BrokenStream => {}
        }
    }

    /// The replication's scalar metrics (in a fixed order, with units in their names), its time
    /// series, and its latency distributions per tenant (and overall, with several tenants).
    pub(crate) fn finish(
        mut self,
        now: Time,
        config: &WorldConfig,
    ) -> (MetricSet, SeriesSet, CdfSet) {
        let secs = as_secs_f64(now.saturating_sub(self.start)).max(f64::MIN_POSITIVE);
        let mut m = MetricSet::new();
        self.push_calls(&mut m, config, secs);
        self.correctness
            .finish(&mut m, config, &self.families, self.successes);
        self.jobs.finish(&mut m, &self.families);
        self.resilience.finish(&mut m, config);
        self.push_attempts(&mut m, config);
        self.push_times(&mut m, now, secs);
        self.backends.finish(&mut m, config, &self.families, now);
        self.tenants.finish(&mut m, config, &self.families);
        self.routes.finish(&mut m, config, &self.families);
        let mut cdf = CdfSet::default();
        if self.tenants.several() {
            cdf.push("all", &self.latency);
        }
        self.tenants.push_cdfs(&mut cdf, config, &self.latency);
        self.routes.push_cdfs(&mut cdf, config);
        (m, self.series.finish(config), cdf)
    }

    /// Arrivals, blocking, completions and the goodput they give.
    fn push_calls(&self, m: &mut MetricSet, config: &WorldConfig, secs: f64) {
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
        if config.warmup > 0 {
            m.push(
                "completions_from_warmup",
                self.completions_from_warmup as f64,
            );
        }
        if config.routes.iter().any(|r| r.cache.is_some()) {
            m.push("cache_served", self.cache_served as f64);
            m.push("cache_served_latency_mean_s", self.cache_latency.mean());
        }
        m.push("throughput_per_s", self.completions as f64 / secs);
        // Goodput counts correct answers; a silently bad answer is throughput, not goodput.
        m.push("goodput_per_s", self.correctness.correct as f64 / secs);
        m.push("success_ratio", ratio(self.successes, self.completions));
    }

    /// Attempts, retries (by class) and attempt errors by class.
    fn push_attempts(&self, m: &mut MetricSet, config: &WorldConfig) {
        m.push("attempts_per_request", self.attempts_per_request.mean());
        m.push("retries", self.retries as f64);
        self.resilience
            .push_retries_by(m, config, &self.possible_errors);
        m.push("attempt_failures", self.attempts_failed as f64);
        m.push("timeouts", self.timeouts as f64);
        // Classes beyond the queueing model's own (failures and timeouts) get their own counts.
        if self
            .possible_errors
            .iter()
            .any(|c| !matches!(c, ErrorClass::Server500 | ErrorClass::AttemptTimeout))
        {
            for &c in &self.possible_errors {
                m.push(names::error(c.name()), self.errors[c as usize] as f64);
            }
        }
        if self.possible_errors.contains(&ErrorClass::RateLimited)
            || !config.gateway.rate_limits.is_empty()
        {
            m.push("throttled", self.throttled as f64);
        }
    }

    /// Queueing, time in system, latency and time to first token, then tokens and cost.
    fn push_times(&mut self, m: &mut MetricSet, now: Time, secs: f64) {
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
    }
}
