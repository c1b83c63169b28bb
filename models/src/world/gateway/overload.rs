//! The gateway's overload controls, kept apart from the rest of the gateway and reached through
//! a few one-line hooks: per-tenant retry quotas (the AWS SDKs' standard mode) and adaptive
//! client rate limiters (their adaptive mode), an adaptive concurrency limit per backend
//! (AIMD, Vegas, Gradient2), and the calls CoDel drops from a backend's queue. The decisions
//! are `policies`' state machines; this module keeps one per tenant or backend, acts on their
//! answers, and counts what they did. A world without overload controls has `None` here and
//! pays one branch per hook.
//!
//! Where the hooks sit:
//!
//! - a call starts (`job::start_call`): [`World::quota_call_started`];
//! - a retry is decided (`recovery::after_failure`): [`World::quota_allows`];
//! - an attempt is about to go out (`try_attempt`): [`World::client_rate_hold`], then
//!   [`World::limit_allows`], and [`World::limit_sent`] once it is out;
//! - an attempt ends (`provider`): [`World::client_response`], [`World::limit_done`], and
//!   [`World::quota_answered`] for the one that answered its call;
//! - a backend's queue is served: [`World::shed_dropped`] for what CoDel dropped.

use crate::config::{BackendId, TenantId, WorldConfig};
use crate::event::Event;
use crate::metrics::Outcome;
use crate::world::World;
use policies::{
    AttemptFailure, ClientRateLimiter, ConcurrencyLimit, ErrorClass, QuotaDecision, RetryQuota,
};
use sim_core::names::{BACKEND, CONCURRENCY_LIMIT, TENANT};
use sim_core::series::{BucketGrid, LevelSeries};
use sim_core::stats::TimeWeighted;
use sim_core::summary::MetricSet;
use sim_core::{Key, Time};

/// The overload controls' state for one replication.
pub(in crate::world) struct Overload {
    /// Per tenant, when quotas are on.
    quotas: Vec<RetryQuota>,
    /// Per tenant, when the adaptive client rate limit is on.
    rates: Vec<ClientRateLimiter>,
    /// Per backend, when adaptive concurrency limits are on.
    limits: Vec<ConcurrencyLimit>,
    /// Attempts out under each backend's limit.
    in_flight: Vec<u32>,
    /// Each backend's limit over time: per bucket, and its mean over the measured window.
    limit_series: Vec<LevelSeries>,
    limit_level: Vec<TimeWeighted>,
    /// Counters over the measured window.
    warmup: Time,
    denied: Vec<u64>,
    exhausted: Vec<u64>,
    delayed: u64,
    throttles: u64,
    rejected: Vec<u64>,
    codel_dropped: u64,
}

impl Overload {
    /// The controls `config` asks for; `None` when it asks for none.
    pub(in crate::world) fn new(config: &WorldConfig) -> Option<Overload> {
        let o = &config.gateway.overload;
        if !o.any() {
            return None;
        }
        let tenants = config.tenants.len();
        let backends = config.backends.len();
        let grid = BucketGrid::for_window(config.warmup, config.horizon);
        let limits: Vec<ConcurrencyLimit> = match o.concurrency_limit {
            Some(c) => (0..backends).map(|_| ConcurrencyLimit::new(c)).collect(),
            None => Vec::new(),
        };
        let mut limit_series = Vec::new();
        let mut limit_level = Vec::new();
        for l in &limits {
            let mut s = LevelSeries::new(grid);
            s.add(0, l.limit() as i64);
            limit_series.push(s);
            let mut t = TimeWeighted::new(0);
            t.add(0, l.limit() as i64);
            limit_level.push(t);
        }
        Some(Overload {
            quotas: match o.retry_quota {
                Some(q) => vec![RetryQuota::new(q); tenants],
                None => Vec::new(),
            },
            rates: if o.client_rate_limit {
                vec![ClientRateLimiter::new(); tenants]
            } else {
                Vec::new()
            },
            in_flight: vec![0; limits.len()],
            rejected: vec![0; limits.len()],
            limits,
            limit_series,
            limit_level,
            warmup: config.warmup,
            denied: vec![0; tenants],
            exhausted: vec![0; tenants],
            delayed: 0,
            throttles: 0,
            codel_dropped: 0,
        })
    }

    /// Whether `now` is in the measured window.
    fn counts(&self, now: Time) -> bool {
        now >= self.warmup
    }

    /// The warm-up ended: the limit's time average starts again.
    pub(in crate::world) fn restart(&mut self, now: Time) {
        for t in &mut self.limit_level {
            t.restart(now);
        }
    }
}

impl World<'_> {
    /// A call of `request` starts: it has taken no retry tokens yet, and its tenant's quota
    /// refills by its per-call amount.
    pub(in crate::world) fn quota_call_started(&mut self, request: Key) {
        let Some(o) = &mut self.overload else { return };
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        r.quota_cost = 0;
        if let Some(q) = o.quotas.get_mut(r.tenant.index()) {
            q.on_call();
        }
    }

    /// Whether the tenant's quota covers a retry after `failure` (taking its tokens).
    pub(in crate::world) fn quota_allows(
        &mut self,
        now: Time,
        request: Key,
        failure: AttemptFailure,
    ) -> bool {
        let Some(o) = &mut self.overload else {
            return true;
        };
        let r = self.requests.get_mut(request).expect("live request");
        let t = r.tenant.index();
        let Some(q) = o.quotas.get_mut(t) else {
            return true;
        };
        let timeout = matches!(
            failure,
            AttemptFailure::Error {
                class: ErrorClass::AttemptTimeout,
                ..
            }
        );
        match q.try_retry(timeout) {
            QuotaDecision::Granted(cost) => {
                r.quota_cost = cost;
                true
            }
            QuotaDecision::Denied { newly_exhausted } => {
                if o.counts(now) {
                    o.denied[t] += 1;
                    o.exhausted[t] += u64::from(newly_exhausted);
                }
                false
            }
        }
    }

    /// `request`'s call was answered: its tenant's quota gets back what its last retry took,
    /// or its per-success amount.
    pub(in crate::world) fn quota_answered(&mut self, request: Key) {
        let Some(o) = &mut self.overload else { return };
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        if let Some(q) = o.quotas.get_mut(r.tenant.index()) {
            q.on_success((r.quota_cost > 0).then_some(r.quota_cost));
            r.quota_cost = 0;
        }
    }

    /// The tenant's adaptive client rate limiter, before an attempt of `request`: `true` when
    /// it holds the attempt, which comes back (as a retry due) when the token it reserved
    /// has filled in.
    pub(in crate::world) fn client_rate_hold(&mut self, now: Time, request: Key) -> bool {
        let Some(o) = &mut self.overload else {
            return false;
        };
        let Some(r) = self.requests.get_mut(request) else {
            return false;
        };
        let Some(l) = o.rates.get_mut(r.tenant.index()) else {
            return false;
        };
        if r.client_token {
            // Back after its wait: the token it reserved is there.
            r.client_token = false;
            return false;
        }
        match l.reserve(now) {
            0 => false,
            wait => {
                r.client_token = true;
                r.retry_at = now.saturating_add(wait);
                self.sched.schedule(r.retry_at, Event::retry_due(request));
                if o.counts(now) {
                    o.delayed += 1;
                }
                true
            }
        }
    }

    /// An attempt of `tenant` got a response at `now` (`error`: its class, if it failed): the
    /// tenant's client rate limiter adapts, a throttle (429, 529) cutting its rate.
    pub(in crate::world) fn client_response(
        &mut self,
        now: Time,
        tenant: TenantId,
        error: Option<ErrorClass>,
    ) {
        let Some(o) = &mut self.overload else { return };
        let Some(l) = o.rates.get_mut(tenant.index()) else {
            return;
        };
        let throttled = matches!(
            error,
            Some(ErrorClass::RateLimited | ErrorClass::Overloaded)
        );
        l.on_response(now, throttled);
        if throttled && o.counts(now) {
            o.throttles += 1;
        }
    }

    /// Whether `backend`'s adaptive concurrency limit lets one more attempt out; one it turns
    /// away is counted.
    pub(in crate::world) fn limit_allows(&mut self, now: Time, backend: BackendId) -> bool {
        let Some(o) = &mut self.overload else {
            return true;
        };
        let b = backend.index();
        let Some(l) = o.limits.get(b) else {
            return true;
        };
        if l.allows(o.in_flight[b]) {
            return true;
        }
        if o.counts(now) {
            o.rejected[b] += 1;
        }
        false
    }

    /// `attempt` went out under its backend's limit: it counts as in flight until it ends.
    pub(in crate::world) fn limit_sent(&mut self, attempt: Key) {
        let Some(o) = &mut self.overload else { return };
        let Some(a) = self.attempts.get_mut(attempt) else {
            return;
        };
        let b = a.backend.index();
        if b < o.limits.len() {
            o.in_flight[b] += 1;
            a.limit_in_flight = o.in_flight[b];
        }
    }

    /// An attempt sent at `sent` with `sent_with` attempts out (0: not under a limit) ended:
    /// one sample for the backend's limit; `dropped` when it was rejected for overload, timed
    /// out or shed from the queue.
    #[inline]
    pub(in crate::world) fn limit_done(
        &mut self,
        now: Time,
        backend: BackendId,
        sent_with: u32,
        sent: Time,
        dropped: bool,
    ) {
        // Most attempts are under no adaptive limit: decided here, without a call.
        if sent_with != 0 {
            self.limit_sample(now, backend, sent_with, sent, dropped);
        }
    }

    fn limit_sample(
        &mut self,
        now: Time,
        backend: BackendId,
        sent_with: u32,
        sent: Time,
        dropped: bool,
    ) {
        let Some(o) = &mut self.overload else { return };
        let b = backend.index();
        o.in_flight[b] -= 1;
        let before = o.limits[b].limit();
        if o.limits[b].on_sample(now.saturating_sub(sent), sent_with, dropped) {
            let delta = o.limits[b].limit() as i64 - before as i64;
            o.limit_series[b].add(now, delta);
            o.limit_level[b].add(now, delta);
        }
    }

    /// Fails the calls CoDel dropped from `backend`'s queue: shed, as a queue timeout sheds
    /// them (a call already shed by its queue timeout is just let go).
    pub(in crate::world) fn shed_dropped(&mut self, now: Time, backend: BackendId) {
        while let Some(attempt) = self.backends[backend].queue.next_dropped() {
            let Some(a) = self.attempts.remove(attempt) else {
                continue;
            };
            if a.abandoned {
                continue;
            }
            self.backends[backend].release(a.permit);
            self.limit_done(now, a.backend, a.limit_in_flight, a.enqueued, true);
            if let Some(rec) = &mut self.recorder {
                rec.attempt_ended(now, attempt, crate::record::End::QueueTimeout);
            }
            self.stats.left_queue(now);
            if let Some(o) = &mut self.overload
                && o.counts(now)
            {
                o.codel_dropped += 1;
            }
            if self.settle(a.request, a.call_seq) {
                self.complete(now, a.request, Outcome::Shed);
            }
        }
    }
}

/// The overload controls' metrics and series, for those the scenario configured.
pub(in crate::world) fn push_metrics(
    overload: Option<&mut Overload>,
    config: &WorldConfig,
    horizon: Time,
    metrics: &mut MetricSet,
    series: &mut Vec<(String, Vec<f64>)>,
) {
    let Some(o) = overload else { return };
    let cfg = &config.gateway.overload;
    if cfg.retry_quota.is_some() {
        metrics.push("retry_quota.denied", o.denied.iter().sum::<u64>() as f64);
        metrics.push(
            "retry_quota.exhausted",
            o.exhausted.iter().sum::<u64>() as f64,
        );
        for (t, tc) in config.tenants.iter().enumerate() {
            metrics.push(
                TENANT.metric(&tc.name, "retry_quota.denied"),
                o.denied[t] as f64,
            );
            metrics.push(
                TENANT.metric(&tc.name, "retry_quota.exhausted"),
                o.exhausted[t] as f64,
            );
        }
    }
    if cfg.client_rate_limit {
        metrics.push("client_rate.delayed", o.delayed as f64);
        metrics.push("client_rate.throttles", o.throttles as f64);
    }
    if cfg.concurrency_limit.is_some() {
        metrics.push(
            "concurrency_limit.rejected",
            o.rejected.iter().sum::<u64>() as f64,
        );
        for (b, bc) in config.backends.iter().enumerate() {
            metrics.push(
                BACKEND.metric(&bc.name, "concurrency_limit_mean"),
                o.limit_level[b].mean(horizon),
            );
            metrics.push(
                BACKEND.metric(&bc.name, "concurrency_limit_rejected"),
                o.rejected[b] as f64,
            );
            series.push((
                BACKEND.metric(&bc.name, CONCURRENCY_LIMIT),
                o.limit_series[b].means(),
            ));
        }
    }
    if matches!(
        cfg.queue_discipline,
        Some(crate::config::QueueDiscipline::Codel { .. })
    ) {
        metrics.push("codel.dropped", o.codel_dropped as f64);
    }
}
