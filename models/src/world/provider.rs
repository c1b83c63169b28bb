//! An API backend as the provider behind it behaves: its outages and slowdowns (episodes), its
//! hidden degradation state and silent updates, its request and token buckets, its error mix,
//! latency and crowding, and billing. `start_service` settles how an attempt will end when it
//! starts; `on_service_done` and `on_attempt_timeout` take the attempt's end.

use super::maybe::Maybe;
use super::{ROUND_TRIP, Server, World, take_limits, to_time};
use crate::config::{
    BackendConfig, EpisodeEffect, EpisodeTiming, OutageMode, Price, ProviderLimits, ServiceModel,
};
use crate::config::{BackendId, RouteId};
use crate::event::Event;
use crate::metrics::Outcome;
use crate::record::End;
use policies::{AttemptFailure, ErrorClass, FallbackTrigger, FaultWindow, TokenBucket};
use sim_core::{Key, RandomStream, Streams, Time};

/// How the provider turns an attempt away: the error, its Retry-After, and a fixed latency
/// (`None`: the backend's error latency).
pub(super) type Refusal = (ErrorClass, Option<Time>, Option<Time>);

/// An API provider behind a backend: how it answers, and its state.
pub(super) struct Provider {
    pub(super) service: ServiceModel,
    pub(super) failure_probability: f64,
    pub(super) price: Price,
    pub(super) service_rng: RandomStream,
    pub(super) errors_rng: RandomStream,
    /// Draws of the error mix; a separate stream so adding a mix leaves other draws alone.
    pub(super) mix_rng: RandomStream,
    /// Outage and slowdown processes.
    pub(super) episodes_rng: RandomStream,
    /// Requests, input tokens and output tokens per minute.
    pub(super) buckets: [Option<TokenBucket>; 3],
    /// Which of the backend's episodes are under way.
    pub(super) active: Vec<bool>,
    /// The outage callers see now, if any (the latest-listed active one).
    pub(super) outage: Option<OutageMode>,
    /// Product of the active slowdowns' multipliers.
    pub(super) slowdown: f64,
    /// The model's hidden state: degraded or not, and the compounded silent updates.
    pub(super) degraded: bool,
    pub(super) update_multiplier: f64,
    pub(super) degradation_rng: RandomStream,
    /// The way to it and its process: network delay, refusals and resets, broken streams and a
    /// memory limit (`network`, `memory`); `None` when the backend has none of them.
    pub(super) transport: Option<Box<super::network::Transport>>,
}

impl Provider {
    /// A provider in its starting state, its streams named after `entity` (the backend).
    pub(super) fn new(b: &BackendConfig, streams: &Streams, entity: &str) -> Provider {
        Provider {
            service: b.service.clone(),
            failure_probability: b.failure_probability,
            price: b.price,
            service_rng: streams.stream(entity, "service"),
            errors_rng: streams.stream(entity, "errors"),
            mix_rng: streams.stream(entity, "error_mix"),
            episodes_rng: streams.stream(entity, "episodes"),
            buckets: buckets(&b.limits),
            active: vec![false; b.episodes.len()],
            outage: None,
            slowdown: 1.0,
            degraded: false,
            update_multiplier: 1.0,
            degradation_rng: streams.stream(entity, "degradation"),
            transport: super::network::Transport::new(b, streams, entity),
        }
    }

    /// Whether the provider turns an attempt away at its start, settled in this order: an outage
    /// (its own, or one a chaos experiment injects), then its request and token buckets (all or
    /// nothing), then one draw of its error mix. A refused attempt's output reservation is given
    /// back (set to 0): the buckets were not charged. `timeout` is the attempt's: a hanging
    /// outage answers when the caller stops waiting (validated: it needs one).
    #[inline]
    pub(super) fn refuse(
        &mut self,
        now: Time,
        cfg: &BackendConfig,
        injected_outage: Option<OutageMode>,
        timeout: Option<Time>,
        prompt_tokens: u32,
        reserved_output: &mut u32,
    ) -> Option<Refusal> {
        let mut doomed = match self.outage.or(injected_outage) {
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
                take_limits(&mut self.buckets, now, prompt_tokens, *reserved_output)
        {
            doomed = Some((ErrorClass::RateLimited, retry_after, Some(ROUND_TRIP)));
        }
        if doomed.is_some() {
            // Turned away before the provider's buckets were charged: nothing to reconcile.
            *reserved_output = 0;
        } else if !cfg.errors.is_empty() {
            let u = self.mix_rng.next_f64();
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
        doomed
    }

    /// How long an error takes: `fixed` when the refusal says (a round trip, a timeout), else
    /// the backend's error latency, else as long as an answer's first token.
    pub(super) fn error_latency(&mut self, cfg: &BackendConfig, fixed: Option<Time>) -> Time {
        match (fixed, &cfg.error_latency) {
            (Some(t), _) => t,
            (None, Some(d)) => to_time(d.sample(&mut self.service_rng)),
            (None, None) => first_latency(&self.service, &mut self.service_rng),
        }
    }

    /// An answer's time to first token and total service time: drawn from the service model,
    /// stretched by the active slowdowns and by crowding (`busy`: attempts in service on the
    /// backend, this one included).
    #[inline]
    pub(super) fn answer_latency(
        &mut self,
        cfg: &BackendConfig,
        output_tokens: u32,
        busy: u32,
    ) -> (Time, Time) {
        let (ttft, service) = latency(&self.service, output_tokens, &mut self.service_rng);
        // Crowding: the others already in service.
        let crowd = 1.0 + cfg.latency_per_inflight * busy.saturating_sub(1) as f64;
        if self.slowdown == 1.0 && crowd == 1.0 {
            (ttft, service)
        } else {
            let k = self.slowdown * crowd;
            (to_time(ttft as f64 * k), to_time(service as f64 * k))
        }
    }

    /// What an answer costs in USD: the prompt (its cached share at the cached-input price) and
    /// the output.
    pub(super) fn bill(&self, prompt_tokens: u32, output_tokens: u32, cached_share: f64) -> f64 {
        let prompt = prompt_tokens as f64;
        prompt * (1.0 - cached_share) * self.price.input_per_token
            + prompt * cached_share * self.price.cached_input_per_token
            + output_tokens as f64 * self.price.output_per_token
            + self.price.per_call
    }

    /// How much more often than the route's mix the model answers silently badly now: its
    /// compounded silent updates, times its degradation's multiplier while degraded.
    pub(super) fn soft_multiplier(&self, cfg: &BackendConfig) -> f64 {
        self.update_multiplier
            * if self.degraded {
                cfg.degradation.map_or(1.0, |d| d.multiplier)
            } else {
                1.0
            }
    }

    /// Whether the provider is under a fault alerts should catch: an outage, a slowdown, a
    /// degraded model, or a silent update that made its model worse.
    pub(super) fn faulty(&self) -> bool {
        self.outage.is_some()
            || self.slowdown != 1.0
            || self.degraded
            || self.update_multiplier > 1.0
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

/// An attempt's time to first token and total service time under `model`.
#[inline]
pub(super) fn latency(
    model: &ServiceModel,
    output_tokens: u32,
    rng: &mut RandomStream,
) -> (Time, Time) {
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
pub(super) fn first_latency(model: &ServiceModel, rng: &mut RandomStream) -> Time {
    match model {
        ServiceModel::Duration(d) => to_time(d.sample(rng)),
        ServiceModel::Tokens { ttft, .. } => to_time(ttft.sample(rng)),
    }
}

impl World<'_> {
    pub(super) fn start_service(&mut self, now: Time, attempt: Key, from_queue: bool) {
        let request = self.attempts.get(attempt).expect("live attempt").request;
        let (timeout, too_slow) = self.timeout_rule(request, now);
        let a = self.attempts.get_mut(attempt).expect("live attempt");
        a.too_slow = too_slow;
        let backend = a.backend;
        let cfg = &self.config.backends[backend];
        let b = &mut self.backends[backend];
        b.busy += 1;
        a.started = now;
        a.queued = false;
        // Whether the provider answers at all is settled first: an outage, then its rate
        // limits, then its error mix. A doomed attempt holds its slot for the error's latency.
        let injected = match &mut self.chaos {
            Some(c) => c.on_attempt(a.backend.0, a.tenant.0),
            None => crate::chaos::Injected::NONE,
        };
        // A refused connection (or a process restarting after a kill) sends nothing at all.
        let refused = b
            .provider
            .transport
            .as_mut()
            .is_some_and(|t| t.connect_refused(now));
        let mut doomed = if refused {
            a.reserved_output = 0;
            Some((ErrorClass::ConnectionRefused, None, Some(0)))
        } else {
            b.provider.refuse(
                now,
                cfg,
                injected.outage,
                timeout,
                a.prompt_tokens,
                &mut a.reserved_output,
            )
        };
        if doomed.is_none()
            && let Server::Pool(pool) = &mut b.server
        {
            let tenant = &self.config.tenants[a.tenant];
            match pool.admit_shared(
                now,
                attempt.index,
                a.prompt_tokens,
                a.output_tokens,
                tenant.priority,
                a.tenant.index(),
                tenant.shared_prefix.as_ref(),
            ) {
                Some((i, before)) => {
                    // The replica says when the answer comes; until then only the timeout is
                    // known.
                    a.replica = i as u16;
                    a.done_at = Time::MAX;
                    if let Some(rec) = &mut self.recorder {
                        rec.attempt_started(now, attempt, i as u16);
                    }
                    if let Some(timeout) = timeout {
                        a.timeout_at = now.saturating_add(timeout);
                        self.sched
                            .schedule(a.timeout_at, Event::attempt_timeout(attempt));
                    }
                    let waited = now - a.enqueued;
                    self.stats
                        .service_started(now, backend.index(), waited, from_queue);
                    self.replica_changed(now, backend, i, Some(before));
                    return;
                }
                // Every replica went down or filled since the call was let in.
                None => doomed = Some((ErrorClass::Unavailable503, None, Some(ROUND_TRIP))),
            }
        }
        let (ttft, service) = match doomed {
            Some((class, retry_after, fixed)) => {
                a.error = Some((class, Maybe::from(retry_after)));
                (0, b.provider.error_latency(cfg, fixed))
            }
            None => {
                let (ttft, service) = b.provider.answer_latency(cfg, a.output_tokens, b.busy);
                (injected.stretch(ttft), injected.stretch(service))
            }
        };
        a.ttft = ttft;
        // The way back, a broken stream or connection, the memory it holds (`network`).
        let (service, net, killed) = match &mut b.provider.transport {
            Some(t) => t.carry(now, a, service, refused, self.config.warmup),
            None => (service, 0, false),
        };
        a.done_at = now.saturating_add(service).saturating_add(net);
        b.service_total += service as f64;
        b.services += 1;
        if net > 0 {
            // The server is done before its answer is back: the slot frees then.
            self.sched
                .schedule(now.saturating_add(service), Event::server_done(attempt));
        }
        self.sched.schedule(a.done_at, Event::service_done(attempt));
        // The timeout is scheduled only if it would fire first, so neither event goes stale.
        if let Some(timeout) = timeout
            && timeout < service.saturating_add(net)
        {
            a.timeout_at = now + timeout;
            self.sched
                .schedule(a.timeout_at, Event::attempt_timeout(attempt));
        }
        let waited = now - a.enqueued;
        self.stats
            .service_started(now, backend.index(), waited, from_queue);
        if let Some(rec) = &mut self.recorder {
            rec.attempt_started(now, attempt, u16::MAX);
        }
        if killed {
            self.oom_kill(now, backend);
        }
    }

    pub(super) fn on_service_done(&mut self, now: Time, attempt: Key) {
        let Some(a) = self.attempts.get(attempt) else {
            return;
        };
        if a.done_at != now {
            return; // stale: the slot holds a later attempt
        }
        let a = self
            .attempts
            .remove(attempt)
            .expect("the attempt was found live just above");
        let backend = a.backend;
        let dropped = a.abandoned
            || matches!(
                a.error,
                Some((ErrorClass::Overloaded | ErrorClass::RateLimited, _))
            );
        self.limit_done(now, a.backend, a.limit_in_flight, a.enqueued, dropped);
        if !a.slotless {
            self.free_slot(now, backend, attempt, a.held_memory());
        }
        if let Some((class, retry_after)) = a.error {
            let retry_after = retry_after.get();
            // An error is not billed, and no output was produced: give back the reservation
            // (a stream broken after its first token is billed for what it streamed).
            let streamed = self.stream_broken(now, &a);
            let b = &mut self.backends[backend];
            if let Some(bucket) = &mut b.provider.buckets[2] {
                bucket.reconcile(now, a.reserved_output as u64, streamed as u64);
            }
            if a.duplicate {
                self.stats.resilience.duplicate_work(now - a.started, 0.0);
            }
            if a.abandoned {
                self.orphan_finished(a.request, attempt, None);
                return;
            }
            if let Some(rec) = &mut self.recorder {
                rec.attempt_ended(now, attempt, End::Error(class));
            }
            self.client_response(now, a.tenant, Some(class));
            self.attempt_result(now, backend, a.permit, false, now - a.started, None);
            self.stats.attempt_error(now, class);
            if self.settle(a.request, a.call_seq) {
                self.after_failure(now, a.request, AttemptFailure::Error { class, retry_after });
            }
            return;
        }
        let b = &mut self.backends[backend];
        if let Some(bucket) = &mut b.provider.buckets[2] {
            bucket.reconcile(now, a.reserved_output as u64, a.output_tokens as u64);
        }
        // An abandoned attempt draws no outcome: nobody reads it (unless the provider keeps it
        // for an idempotency key). It is still billed below. A replayed result was drawn and
        // billed when it was first produced.
        let keeps = self.config.gateway.idempotency == Some(true);
        let failed = !a.replay
            && (!a.abandoned || keeps)
            && b.provider
                .errors_rng
                .bernoulli(b.provider.failure_probability);
        let mut cost = 0.0;
        if !failed && !a.replay {
            let cached = self.config.routes[a.route].cached_prompt_share;
            cost = b.provider.bill(a.prompt_tokens, a.output_tokens, cached);
            if let Some(r) = self.requests.get_mut(a.request) {
                r.cost += cost;
            }
            self.stats.billed(
                backend.index(),
                a.tenant.index(),
                a.route.index(),
                a.prompt_tokens,
                a.output_tokens,
                cost,
            );
            self.stats.series.billed_at(now, cost);
            if let Some(g) = &mut self.cost_guard {
                g.billed(now, cost);
            }
        }
        if a.duplicate {
            self.stats.resilience.duplicate_work(now - a.started, cost);
        }
        if a.abandoned {
            // The caller already gave up on this attempt; the work was wasted, unless a resend
            // with its idempotency key picks up the result.
            let result = failed.then_some(ErrorClass::Server500);
            self.orphan_finished(a.request, attempt, Some(result));
            return;
        }
        self.client_response(now, a.tenant, failed.then_some(ErrorClass::Server500));
        if failed {
            if let Some(rec) = &mut self.recorder {
                rec.attempt_ended(now, attempt, End::Error(ErrorClass::Server500));
            }
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
            let tokens = (a.prompt_tokens, a.output_tokens);
            self.balance_answered(now, a.route, a.backend, now - a.started, tokens);
            if let Some(rec) = &mut self.recorder {
                rec.attempt_ended(now, attempt, End::Answered);
            }
            let winner = self
                .requests
                .get(a.request)
                .is_some_and(|r| r.call_seq == a.call_seq);
            if !winner {
                // A hedge race's loser (or an answer for a job already over): billed, ignored.
                self.backends[backend].release(a.permit);
                return;
            }
            if a.hedge {
                self.stats.resilience.hedge_won();
            }
            self.quota_answered(a.request);
            // Through a client hop, the client sees the first token one way back later.
            let lag = self.client_lag(a.request, a.tenant);
            let r = self
                .requests
                .get_mut(a.request)
                .expect("a winner's request is live (checked above)");
            r.call_seq = r.call_seq.wrapping_add(1);
            r.in_flight = 0;
            if let Some(r) = self.requests.get_mut(a.request) {
                // A call that resumed a broken stream showed its first token then.
                let first = r.streamed.take().unwrap_or(a.started + a.ttft) + lag;
                let ttft = first.saturating_sub(r.call_started);
                self.stats.first_token(r.tenant.index(), ttft);
                r.first_token.get_or_insert(first);
                if let Some(rec) = &mut self.recorder {
                    rec.first_token(a.request, first);
                }
                // The breaker hears about this answer once its validation is known.
                r.permit = a.permit;
            }
            self.judge_answer(now, a.request);
        }
    }

    /// The server is done with an attempt: its slot frees (and the memory it held), and the next
    /// waiting call starts (calls shed at their queue timeout are still in the queue: skip
    /// them). A pool lets waiting calls in when replicas free up. (A chaos stall may have taken
    /// slots out of service: only a free slot takes a call.)
    pub(super) fn free_slot(
        &mut self,
        now: Time,
        backend: BackendId,
        attempt: Key,
        memory: Option<(u32, u32)>,
    ) {
        self.stats.service_ended(now, backend.index());
        let b = &mut self.backends[backend];
        b.busy -= 1;
        if let Some(t) = &mut b.provider.transport {
            t.release(memory);
        }
        if let Some(rec) = &mut self.recorder {
            rec.slot_freed(now, attempt);
        }
        while let Server::Api { concurrency } = self.backends[backend].server
            && self.backends[backend].busy < concurrency
            && let Some(next) = self.backends[backend].queue.pop(now)
        {
            if self.attempts.get(next).is_some_and(|a| a.abandoned) {
                self.attempts.remove(next);
                continue;
            }
            self.start_service(now, next, true);
            break;
        }
        if self.backends[backend].queue.drops() {
            self.shed_dropped(now, backend);
        }
    }

    pub(super) fn on_attempt_timeout(&mut self, now: Time, attempt: Key) {
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
                (a.request, a.backend, a.permit.take(), a.call_seq);
            let (sent, sent_with) = (a.enqueued, std::mem::take(&mut a.limit_in_flight));
            self.backends[backend].release(permit);
            self.limit_done(now, backend, sent_with, sent, true);
            if let Some(rec) = &mut self.recorder {
                rec.attempt_ended(now, attempt, End::QueueTimeout);
            }
            self.stats.queue_timed_out(now);
            if self.settle(request, seq) {
                self.complete(now, request, Outcome::Shed);
            }
            return;
        }
        if a.abandoned || a.timeout_at != now {
            return;
        }
        a.abandoned = true;
        let request = a.request;
        let (backend, permit, started, seq) = (a.backend, a.permit.take(), a.started, a.call_seq);
        if a.too_slow {
            // Not a failure of the backend: the route just prefers a faster answer elsewhere.
            self.backends[backend].release(permit);
            if let Some(rec) = &mut self.recorder {
                rec.attempt_ended(now, attempt, End::TooSlow);
            }
            self.stats.resilience.too_slow();
            if self.settle(request, seq) {
                self.fall_back(now, request, FallbackTrigger::TooSlow, Outcome::Failed);
            }
            return;
        }
        let (route, tenant) = self
            .attempts
            .get(attempt)
            .map_or((RouteId(0), crate::TenantId(0)), |a| (a.route, a.tenant));
        self.client_response(now, tenant, Some(ErrorClass::AttemptTimeout));
        self.balance_timed_out(route, backend);
        if let Some(rec) = &mut self.recorder {
            rec.attempt_ended(now, attempt, End::Error(ErrorClass::AttemptTimeout));
        }
        self.attempt_result(now, backend, permit, false, now - started, None);
        self.stats.attempt_failed(now, true);
        self.orphaned(request, attempt, seq, backend);
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

    pub(super) fn schedule_degradation_flip(&mut self, now: Time, backend: BackendId) {
        let Some(d) = self.config.backends[backend].degradation else {
            return;
        };
        let b = &mut self.backends[backend];
        let mean = if b.provider.degraded {
            d.degraded_mean
        } else {
            d.normal_mean
        };
        let stay = to_time(
            sim_core::Sampler::Exponential { mean: mean as f64 }
                .sample(&mut b.provider.degradation_rng),
        );
        let at = now.saturating_add(stay.max(1));
        if at <= self.config.horizon {
            self.sched
                .schedule(at, Event::DegradationFlip { backend: backend.0 });
        }
    }

    /// Keeps the ground-truth fault windows alerts are graded against: a backend is faulty
    /// while it is in an outage, slowed down, or its model degraded.
    pub(super) fn fault_changed(&mut self, now: Time, backend: BackendId, was: bool, is: bool) {
        if was != is
            && let Some(rec) = &mut self.recorder
        {
            rec.fault(now, backend.0, is);
        }
        self.stats.series.fault_level(now, was, is);
        if self.slo.is_none() || was == is {
            return;
        }
        if is {
            self.fault_since[backend].get_or_insert(now);
        } else if let Some(start) = self.fault_since[backend].take() {
            self.faults.push(FaultWindow { start, end: now });
        }
    }

    pub(super) fn on_degradation_flip(&mut self, now: Time, backend: BackendId) {
        let b = &mut self.backends[backend];
        let was = b.provider.faulty();
        b.provider.degraded = !b.provider.degraded;
        let degraded = b.provider.degraded;
        let is = b.provider.faulty();
        self.fault_changed(now, backend, was, is);
        self.stats
            .backends
            .model_degraded(now, backend.index(), degraded);
        self.schedule_degradation_flip(now, backend);
    }

    /// The backend's model is silently updated (its `index`-th scheduled update): its soft
    /// failures scale by the update's multiplier from now on.
    pub(super) fn on_model_update(&mut self, now: Time, backend: BackendId, index: usize) {
        let was = self.backends[backend].provider.faulty();
        self.backends[backend].provider.update_multiplier *=
            self.config.backends[backend].model_updates[index].1;
        let is = self.backends[backend].provider.faulty();
        self.fault_changed(now, backend, was, is);
    }

    pub(super) fn schedule_episode(
        &mut self,
        at: Time,
        backend: BackendId,
        index: usize,
        begin: bool,
    ) {
        if at <= self.config.horizon {
            self.sched.schedule(
                at,
                Event::Episode {
                    backend: backend.0,
                    index: index as u16,
                    begin,
                },
            );
        }
    }

    /// An outage or slowdown begins or ends; a process schedules its own next change.
    pub(super) fn on_episode(&mut self, now: Time, backend: BackendId, index: usize, begin: bool) {
        let cfg = &self.config.backends[backend];
        let b = &mut self.backends[backend];
        b.provider.active[index] = begin;
        if let EpisodeTiming::Process { up, down } = &cfg.episodes[index].timing {
            let gap = if begin { down } else { up };
            let at = now.saturating_add(to_time(gap.sample(&mut b.provider.episodes_rng)));
            self.schedule_episode(at, backend, index, !begin);
        }
        let b = &mut self.backends[backend];
        let mut outage = None;
        let was_faulty = b.provider.faulty();
        let mut slowdown = 1.0;
        for (e, &on) in cfg.episodes.iter().zip(&b.provider.active) {
            match (on, e.effect) {
                (true, EpisodeEffect::Outage(mode)) => outage = Some(mode),
                (true, EpisodeEffect::Slowdown(k)) => slowdown *= k,
                _ => {}
            }
        }
        let was_down = b.provider.outage.is_some();
        b.provider.outage = outage;
        b.provider.slowdown = slowdown;
        let is_faulty = b.provider.faulty();
        self.fault_changed(now, backend, was_faulty, is_faulty);
        if was_down != outage.is_some() {
            self.stats
                .backends
                .down(now, backend.index(), outage.is_some());
            if let Some(rec) = &mut self.recorder {
                rec.outage(now, backend.0, outage.is_some());
            }
        }
    }
}

#[cfg(test)]
mod tests;
