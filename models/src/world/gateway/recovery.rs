//! After a failed attempt: the retry policy (under the retry budget and the call's deadline),
//! hedging, the breaker's and cooldown's view of each attempt, and the route's fallback chain
//! (another backend, a stale cache entry, a default answer), or giving up.

use crate::cache::CacheState;
use crate::config::BackendId;
use crate::event::Event;
use crate::metrics::Outcome;
use crate::record::Kind;
use crate::world::call::Attempt;
use crate::world::maybe::Maybe;
use crate::world::{Backend, World};
use policies::RetryBudget;
use policies::{
    AttemptFailure, CallResult, ErrorClass, FallbackStep, FallbackTrigger, Permit, RetryDecision,
};
use sim_core::{Key, Time};

/// Why a backend turns a call away before any attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::world) enum Closed {
    /// It is cooling down after failures.
    CoolingDown,
    /// Its circuit breaker is open (or half-open with no probe to spare).
    BreakerOpen,
}

impl Backend {
    /// The breaker and cooldown gate in front of a backend, asked before each attempt (and
    /// hedge): the cooldown first, then the breaker. Open: the breaker's permit, if it has a
    /// breaker, to hand back with the attempt's result (or [`Backend::release`]).
    pub(in crate::world) fn gate(&mut self, now: Time) -> Result<Option<Permit>, Closed> {
        if self.cooldown.as_ref().is_some_and(|c| !c.is_available(now)) {
            return Err(Closed::CoolingDown);
        }
        match &mut self.breaker {
            None => Ok(None),
            Some(breaker) => breaker.allow(now).map(Some).ok_or(Closed::BreakerOpen),
        }
    }

    /// Hands back a permit unused: the attempt it was for was never made, or its outcome says
    /// nothing about the backend.
    pub(in crate::world) fn release(&mut self, permit: Option<Permit>) {
        if let (Some(p), Some(breaker)) = (permit, &mut self.breaker) {
            breaker.release(p);
        }
    }
}

impl World<'_> {
    /// An attempt of `request`'s call `seq` ended without an answer. Whether the call reacts
    /// now (retry, fall back, end): not when it has moved on (a hedge race's loser, or a job
    /// already over), nor while another of its attempts is still out.
    pub(in crate::world) fn settle(&mut self, request: Key, seq: u32) -> bool {
        let Some(r) = self.requests.get_mut(request) else {
            return false;
        };
        if r.call_seq != seq {
            return false;
        }
        r.in_flight = r.in_flight.saturating_sub(1);
        r.in_flight == 0
    }

    /// Arms the call's next hedge, if hedging is on and it has hedges left.
    pub(in crate::world) fn schedule_hedge(&mut self, now: Time, request: Key) {
        self.reserve_hedge(now, request);
        self.arm_hedge(request, None);
    }

    /// Sets when the call's next hedge is due, if hedging is on and it has hedges left, and
    /// takes the timer's place among the events without putting it in the heap yet:
    /// [`arm_hedge`](Self::arm_hedge) does, once the attempt has started.
    pub(in crate::world) fn reserve_hedge(&mut self, now: Time, request: Key) {
        self.wake_hedge(request);
        let Some(h) = &self.hedge else {
            return;
        };
        let r = self.requests.get_mut(request).expect("live request");
        if !h.may_hedge(r.extra_sent as u32) {
            return;
        }
        let Some(delay) = h.hedge_delay() else {
            return;
        };
        r.hedge_at = now.saturating_add(delay.max(1));
        if r.hedge_at <= self.config.horizon {
            r.dormant_hedge = Maybe::some(self.sched.reserve());
        }
    }

    /// Puts the timer [`reserve_hedge`](Self::reserve_hedge) set in the heap, unless the call's
    /// only attempt ends (`ends_by`) before it is due: that timer would find nothing in flight
    /// and be dropped, as most hedge timers are, so it stays out of the heap unless a new
    /// attempt of the call makes it matter again ([`wake_hedge`](Self::wake_hedge)).
    pub(in crate::world) fn arm_hedge(&mut self, request: Key, ends_by: Option<Time>) {
        if self.hedge.is_none() {
            return;
        }
        let r = self.requests.get_mut(request).expect("live request");
        let Some(seq) = r.dormant_hedge.get() else {
            return;
        };
        if r.in_flight == 1 && ends_by.is_some_and(|t| t < r.hedge_at) {
            return;
        }
        r.dormant_hedge = Maybe::NONE;
        self.sched
            .schedule_reserved(r.hedge_at, seq, Event::hedge_due(request));
    }

    /// A new attempt of the call is about to go out, so a hedge timer left out of the heap may
    /// find an attempt in flight after all: it goes in, in its reserved place. One whose time
    /// has passed (it would have found nothing in flight and been dropped) is forgotten. With
    /// this, results are the same as with every timer in the heap.
    pub(in crate::world) fn wake_hedge(&mut self, request: Key) {
        if self.hedge.is_none() {
            return;
        }
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        let Some(seq) = r.dormant_hedge.take() else {
            return;
        };
        if self.sched.is_ahead(r.hedge_at, seq) {
            self.sched
                .schedule_reserved(r.hedge_at, seq, Event::hedge_due(request));
        }
    }

    /// The call still has no answer: send one more attempt to the same backend, unless its
    /// breaker or cooldown says no or it has no room (a hedge never sheds or falls back).
    pub(in crate::world) fn on_hedge_due(&mut self, now: Time, request: Key) {
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        if r.hedge_at != now || r.in_flight == 0 || r.gate_hold {
            return;
        }
        let backend_index = r.backend;
        let b = &mut self.backends[backend_index];
        let Ok(permit) = b.gate(now) else {
            return;
        };
        let can_start = b.busy < b.concurrency();
        let room = self
            .config
            .gateway
            .queue_capacity
            .is_none_or(|cap| b.queue.len() < cap as usize);
        if !can_start && (!room || self.config.backends[backend_index].overload_when_busy) {
            b.release(permit);
            return;
        }
        r.extra_sent += 1;
        r.job_attempts += 1;
        r.in_flight += 1;
        let attempt = self.attempts.insert(Attempt {
            hedge: true,
            ..Attempt::of(request, r, now, permit, !can_start)
        });
        if let Some(rec) = &mut self.recorder {
            rec.attempt_sent(
                now,
                attempt,
                request,
                backend_index.0,
                Kind::Hedge,
                !can_start,
            );
        }
        self.stats.resilience.hedge_sent();
        if can_start {
            self.start_service(now, attempt, false);
        } else {
            let tenant = r.tenant;
            self.backends[backend_index]
                .queue
                .push(tenant, attempt, now);
            self.stats.enqueued(now);
        }
        self.schedule_hedge(now, request);
    }

    /// An attempt of the call failed and the call reacts now: recovery answers what comes
    /// next ([`recover`](Self::recover)) and the world applies it.
    pub(in crate::world) fn after_failure(
        &mut self,
        now: Time,
        request: Key,
        failure: AttemptFailure,
    ) {
        let next = self.recover(now, request, failure);
        self.apply_next(now, request, next);
    }

    /// The retry policy's turn after `failure`: retry (at once or after a backoff) if the
    /// rules, the call's deadline and the retry budget allow, else give up at this backend
    /// ([`give_up`](Self::give_up)).
    pub(in crate::world) fn recover(
        &mut self,
        now: Time,
        request: Key,
        failure: AttemptFailure,
    ) -> Next {
        let Some(r) = self.requests.get(request) else {
            return Next::Gone;
        };
        let decision = self.config.gateway.retry.decide(
            r.attempts,
            r.last_delay,
            failure,
            &mut self.retry_rng,
        );
        match decision {
            RetryDecision::RetryAfter(delay)
                if self.retry_allowed(now, request, delay)
                    && self.quota_allows(now, request, failure) =>
            {
                let class = match failure {
                    AttemptFailure::Error { class, .. } => Some(class),
                    AttemptFailure::SoftFailure => None,
                };
                Next::RetryAt { delay, class }
            }
            _ => self.give_up(now, request, failure),
        }
    }

    /// Applies recovery's answer to the call.
    pub(in crate::world) fn apply_next(&mut self, now: Time, request: Key, next: Next) {
        match next {
            Next::RetryAt { delay, class } => self.retry(now, request, delay, class),
            Next::FallBackTo => {
                if !self.try_attempt(now, request) {
                    self.complete(now, request, Outcome::Shed);
                }
            }
            Next::ServeStale => self.answered(now, request, 0),
            Next::Default => self.complete(now, request, Outcome::Degraded),
            Next::GiveUp(outcome) => self.complete(now, request, outcome),
            Next::Gone => {}
        }
    }

    /// Tries the call again after `delay` (at once when it is 0), after a failure of `class`
    /// (`None`: a re-ask after a detected soft failure).
    pub(in crate::world) fn retry(
        &mut self,
        now: Time,
        request: Key,
        delay: Time,
        class: Option<ErrorClass>,
    ) {
        // A retry picks again among a balanced route's deployments, as LiteLLM's does.
        if self.balanced {
            self.rebalance(now, request);
        }
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        r.last_delay = delay;
        if let Some(rec) = &mut self.recorder {
            rec.backoff(now, request, r.backend.0, delay);
        }
        self.stats.retry(class);
        if delay == 0 {
            if !self.try_attempt(now, request) {
                self.complete(now, request, Outcome::Shed);
            }
        } else {
            r.retry_at = now.saturating_add(delay);
            let at = r.retry_at;
            self.sched.schedule(at, Event::retry_due(request));
        }
    }

    /// Tells the backend's breaker, cooldown and the retry budget how an attempt went.
    pub(in crate::world) fn attempt_result(
        &mut self,
        now: Time,
        backend: BackendId,
        permit: Option<Permit>,
        ok: bool,
        latency: Time,
        soft_category: Option<u8>,
    ) {
        let b = &mut self.backends[backend];
        if let (Some(p), Some(breaker)) = (permit, &mut b.breaker) {
            let result = CallResult {
                failed: !ok,
                slow: breaker.config().is_slow(latency),
                soft_category,
            };
            if let Some(state) = breaker.record(now, p, result) {
                self.stats.breaker_changed(now, backend.index(), state);
                if let Some(rec) = &mut self.recorder {
                    rec.breaker(now, backend.0, state);
                }
            }
        }
        let b = &mut self.backends[backend];
        if !ok
            && let Some(c) = &mut b.cooldown
            && c.on_failure(now)
        {
            self.stats.backends.cooldown_started(backend.index());
        }
        if let Some(budget) = &mut self.budget {
            budget.on_result(now, ok);
        }
    }

    /// Whether a retry after `delay` may go ahead: the call's deadline must still be ahead
    /// then, and the retry budget must allow it.
    pub(in crate::world) fn retry_allowed(&mut self, now: Time, request: Key, delay: Time) -> bool {
        let Some(r) = self.requests.get_mut(request) else {
            return false;
        };
        if !r.deadline.fits_after(now, delay) {
            r.deadline_hit = true;
            return false;
        }
        let allowed = self.budget.as_mut().is_none_or(|b| b.try_retry(now));
        if !allowed {
            self.stats.resilience.budget_denied();
        }
        allowed
    }

    /// The retries at this backend are over: down the route's chain, or the call ends.
    pub(in crate::world) fn give_up(
        &mut self,
        now: Time,
        request: Key,
        failure: AttemptFailure,
    ) -> Next {
        let (trigger, outcome) = match failure {
            AttemptFailure::Error {
                class: ErrorClass::RateLimited,
                ..
            } => (
                FallbackTrigger::Error(ErrorClass::RateLimited),
                Outcome::Throttled,
            ),
            AttemptFailure::Error {
                class: ErrorClass::AttemptTimeout,
                ..
            } => (FallbackTrigger::Timeout, Outcome::Failed),
            AttemptFailure::Error {
                class: ErrorClass::StreamInterrupted,
                ..
            } => (
                FallbackTrigger::Error(ErrorClass::StreamInterrupted),
                Outcome::BrokenStream,
            ),
            AttemptFailure::Error { class, .. } => (FallbackTrigger::Error(class), Outcome::Failed),
            AttemptFailure::SoftFailure => {
                (FallbackTrigger::ValidationFailed, Outcome::DetectedHandled)
            }
        };
        self.fallback(now, request, trigger, outcome)
    }

    /// Moves the call down its route's fallback chain after `trigger` and applies where it
    /// landed; without a chain, or at its end, the call ends with `outcome`.
    pub(in crate::world) fn fall_back(
        &mut self,
        now: Time,
        request: Key,
        trigger: FallbackTrigger,
        outcome: Outcome,
    ) {
        let next = self.fallback(now, request, trigger, outcome);
        self.apply_next(now, request, next);
    }

    /// Where the call lands down its route's fallback chain after `trigger` (`outcome`: how it
    /// ends at the chain's end). A backend whose context window is too small for the call is
    /// passed over at once (a context overflow of its own), so the chain is walked until the
    /// call lands somewhere.
    pub(in crate::world) fn fallback(
        &mut self,
        now: Time,
        request: Key,
        trigger: FallbackTrigger,
        outcome: Outcome,
    ) -> Next {
        let mut trigger = trigger;
        loop {
            return match self.fallback_step(now, request, trigger) {
                Landed::Backend { overflow: None } => Next::FallBackTo,
                Landed::Backend {
                    overflow: Some(tokens),
                } => {
                    trigger = FallbackTrigger::ContextOverflow { tokens };
                    continue;
                }
                Landed::Stale => Next::ServeStale,
                Landed::Default => Next::Default,
                Landed::End { deadline: true } => Next::GiveUp(Outcome::Failed),
                Landed::End { deadline: false } => Next::GiveUp(outcome),
                Landed::Gone => Next::Gone,
            };
        }
    }

    /// One step down the chain after `trigger`: the next backend (the call moved there, with
    /// a fresh attempt count; `overflow` when the prompt does not fit its window), a stale
    /// cache answer, the default response, or the end of the chain.
    fn fallback_step(&mut self, now: Time, request: Key, trigger: FallbackTrigger) -> Landed {
        let Some(r) = self.requests.get_mut(request) else {
            return Landed::Gone;
        };
        let route = &self.config.routes[r.route];
        let Some(chain) = &route.chain else {
            return Landed::End { deadline: false };
        };
        if r.deadline.is_expired(now) {
            return Landed::End { deadline: true };
        }
        let mut step = chain.next(r.depth as u32, trigger);
        if step == FallbackStep::StaleCache {
            let served = match &mut self.routes[r.route].cache {
                Some(CacheState::Exact(c)) => c.cache.stale_lookup(now, r.cache_key),
                _ => false,
            };
            if served {
                self.stats.routes.stale_served(r.route.index());
                r.degraded = true;
                r.from_cache = true;
                r.stale = true;
                return Landed::Stale;
            }
            step = chain.next(chain.backends() as u32, FallbackTrigger::CacheMiss);
        }
        match step {
            FallbackStep::Backend(j) => {
                // Attempts still out at the old backend (hedges) lose.
                r.call_seq = r.call_seq.wrapping_add(1);
                r.in_flight = 0;
                r.extra_sent = 0;
                r.depth = j as u8;
                r.backend = if j == 0 {
                    route.backend
                } else {
                    route.fallbacks[j - 1]
                };
                r.attempts = 0;
                r.last_delay = 0;
                // Turned away because the backend was full: moving on is planned overflow.
                r.failed_over |=
                    !(r.at_capacity && trigger == FallbackTrigger::Error(ErrorClass::Overloaded));
                self.stats.resilience.fell_back();
                // The next backend may have a smaller window than the prompt needs.
                let overflow = super::overflow(self.backends[r.backend].context_window, r);
                Landed::Backend { overflow }
            }
            FallbackStep::Default => {
                self.stats.resilience.default_response();
                r.degraded = true;
                Landed::Default
            }
            FallbackStep::StaleCache | FallbackStep::GiveUp => Landed::End { deadline: false },
        }
    }
}

/// What recovery answers after a failed attempt (or a call the gateway did not send): the
/// world applies it ([`World::apply_next`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::world) enum Next {
    /// Try the same backend again after `delay` (at once when 0), after a failure of `class`
    /// (`None`: a re-ask after a detected soft failure).
    RetryAt {
        delay: Time,
        class: Option<ErrorClass>,
    },
    /// The call moved down its chain to another backend: a fresh attempt there.
    FallBackTo,
    /// Answered from the cache, stale.
    ServeStale,
    /// Answered with the route's default response.
    Default,
    /// The call ends, unanswered, with this outcome.
    GiveUp(Outcome),
    /// The job is no longer there.
    Gone,
}

/// Where one step down a fallback chain put the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Landed {
    /// On the next backend; `overflow`: the tokens it needs, when they do not fit its window.
    Backend { overflow: Option<u32> },
    /// Answered from the cache, stale.
    Stale,
    /// Answered with the route's default response.
    Default,
    /// Nowhere: the chain is over (or the call's deadline passed).
    End { deadline: bool },
    /// The job is no longer there.
    Gone,
}
