//! The gateway: what it does to a job's call, in a fixed order.
//!
//! 1. **Budget** — a tenant past its `budget_usd` is refused ([`World::new_job`]).
//! 2. **Guardrail** — the input guardrail may catch a prompt injection, or a clean prompt
//!    ([`World::new_job`]).
//! 3. **Limits** — the gateway's rate and concurrency limits, all or nothing, on a job's first
//!    call ([`GatewayLimits::admit`] in `limits`); a delaying limit holds the job.
//! 4. **Cache** — the route's exact or semantic cache may answer.
//! 5. **Context window** — a prompt that cannot fit on the backend falls back.
//! 6. **Gate** — the backend's breaker and cooldown, then adaptive throttling.
//! 7. **Send** — the idempotency resend, then a free slot, a 529 when the backend sheds at
//!    capacity, or the queue (its capacity and admission control) ([`Place`]); the provider or
//!    the GPU pool serves it (`super::provider`, `super::gpu`).
//!
//! Steps 3 to 6 answer an [`Admit`] (`World::admit`, one function in that order); the world
//! applies it (`World::apply_admit`). After a failed attempt, `recovery` answers a `Next`:
//! retry (budget, deadline), the fallback chain, a stale or default answer, or giving up.

mod limits;
pub(in crate::world) mod overload;
mod recovery;

use limits::Limited;
pub(in crate::world) use limits::{GatewayLimits, take_limits};
pub(in crate::world) use recovery::Closed;

use super::call::{Attempt, CLEAN, INPUT_HOP, Request};
use super::idempotency::Resend;
use super::maybe::Maybe;
use super::{Backend, ROUND_TRIP, Route, Server, World, to_time};
use crate::cache::{CacheState, Lookup, SemanticLookup};
use crate::config::QueueDiscipline;
use crate::config::TenantId;
use crate::config::WorldConfig;
use crate::event::Event;
use crate::metrics::Outcome;
use crate::record::Kind;
use crate::workload::token_count;
use policies::RetryBudget;
use policies::{AdaptiveLifo, CodelQueue};
use policies::{AttemptFailure, ErrorClass, FairQueue, FallbackTrigger, Permit, ShedReason};
use sim_core::{Key, Time};
use std::collections::VecDeque;

/// A backend's waiting calls: plain FIFO, fair across tenants, or a discipline for overload
/// (CoDel, adaptive LIFO).
pub(in crate::world) enum Queue {
    Fifo(VecDeque<Key>),
    Fair(FairQueue<Key>),
    Codel(CodelQueue<Key>),
    Lifo(AdaptiveLifo<Key>),
}

impl Queue {
    /// An empty queue served by an overload discipline.
    pub(in crate::world) fn overload(d: QueueDiscipline) -> Queue {
        match d {
            QueueDiscipline::Codel { target, interval } => {
                Queue::Codel(CodelQueue::new(target, interval))
            }
            QueueDiscipline::AdaptiveLifo { congested_after } => {
                Queue::Lifo(AdaptiveLifo::new(congested_after))
            }
        }
    }

    #[inline]
    pub(in crate::world) fn len(&self) -> usize {
        match self {
            Queue::Fifo(q) => q.len(),
            Queue::Fair(q) => q.len(),
            Queue::Codel(q) => q.len(),
            Queue::Lifo(q) => q.len(),
        }
    }

    #[inline]
    pub(in crate::world) fn push(&mut self, tenant: TenantId, attempt: Key, now: Time) {
        match self {
            Queue::Fifo(q) => q.push_back(attempt),
            Queue::Fair(q) => {
                // Unbounded per tenant: the gateway's queue capacity is checked before.
                let _ = q.push(tenant.index(), attempt, 1);
            }
            Queue::Codel(q) => q.push(attempt, now),
            Queue::Lifo(q) => q.push(attempt, now),
        }
    }

    #[inline]
    /// The next call to serve at `now`. CoDel may drop calls on the way: the caller fails
    /// them ([`World::shed_dropped`]).
    pub(in crate::world) fn pop(&mut self, now: Time) -> Option<Key> {
        match self {
            Queue::Fifo(q) => q.pop_front(),
            Queue::Fair(q) => q.pop().map(|(_, k)| k),
            Queue::Codel(q) => q.pop(now),
            Queue::Lifo(q) => q.pop(now),
        }
    }

    /// Whether this queue drops calls on its own (CoDel): only such a queue needs
    /// [`Queue::next_dropped`] asked after each dequeue.
    #[inline]
    pub(in crate::world) fn drops(&self) -> bool {
        matches!(self, Queue::Codel(_))
    }

    /// A call CoDel dropped and the world has not failed yet.
    pub(in crate::world) fn next_dropped(&mut self) -> Option<Key> {
        match self {
            Queue::Codel(q) => q.next_dropped(),
            _ => None,
        }
    }
}

/// Where a call enters the gateway's order ([`World::pass_gateway`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(in crate::world) enum Stage {
    /// A job's first call, when the gateway has rate or concurrency limits.
    Limits,
    /// Any other call, and one a delaying limit held until now.
    Cache,
}

/// What the gateway answers for a call: the first stage that deals with it says how, and
/// the world applies it ([`World::pass_gateway`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::world) enum Admit {
    /// The job ends here with this outcome (over a rate or concurrency limit: throttled).
    Done(Outcome),
    /// A delaying limit holds the call for `wait`, then it goes on at [`Stage::Cache`].
    Hold { wait: Time },
    /// The route's cache answered (`wrong`: a semantic cache's wrong hit).
    Cached { wrong: bool },
    /// Not sent to this backend (a prompt too long for it, an open breaker, a cooldown):
    /// down the route's fallback chain.
    FallBack(FallbackTrigger),
    /// Refused at the client (adaptive throttling): given up on at this backend.
    GiveUp(AttemptFailure),
    /// Past the gate, with the breaker's permit: an attempt goes out ([`Place`] says where).
    Send(Option<Permit>),
    /// The job is no longer there.
    Gone,
    /// The tenant's adaptive client rate limiter holds the attempt until its token fills in
    /// (already scheduled, `overload`).
    Paced,
    /// Beyond the backend's adaptive concurrency limit: shed, or down the fallback chain.
    Limited,
}

/// Where an attempt that passed the gate goes at its backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::world) enum Place {
    /// Into service now.
    Start,
    /// Into the backend's queue.
    Enqueue,
    /// A backend that sheds at capacity answers 529 after a round trip, holding no slot.
    Overloaded,
    /// No room: the queue is full, or admission control shed it (the reason).
    Full(Option<ShedReason>),
}

/// The route's cache lookup: `Some(wrong)` when it answers (`wrong`: a semantic cache's wrong
/// hit), `None` on a miss or without a cache.
#[inline]
fn cache_stage(route: &mut Route, now: Time, key: u64) -> Option<bool> {
    let Route {
        cache, cache_rng, ..
    } = route;
    match cache.as_mut()? {
        CacheState::Exact(c) => match c.cache.lookup(now, key) {
            Lookup::Hit => Some(false),
            Lookup::Stale | Lookup::Miss => None,
        },
        CacheState::Semantic(c) => match c.lookup(cache_rng) {
            SemanticLookup::Hit => Some(false),
            SemanticLookup::WrongHit => Some(true),
            SemanticLookup::Miss => None,
        },
    }
}

/// The backend's context window: the tokens `r` needs when they cannot fit there. An overflow
/// is never retried (every attempt would overflow too); the fallback chain may send it to a
/// backend with a larger window.
#[inline]
pub(in crate::world) fn overflow(window: Option<u32>, r: &Request) -> Option<u32> {
    let need = r.prompt_tokens as u64 + r.max_tokens as u64;
    window
        .filter(|&w| need > w as u64)
        .map(|_| need.min(u32::MAX as u64) as u32)
}

impl World<'_> {
    /// A job of `tenant` enters the gateway (an arrival of its process, or an extra job a chaos
    /// experiment injects); `recorded` are a replayed trace's token counts.
    pub(in crate::world) fn new_job(
        &mut self,
        now: Time,
        tenant: TenantId,
        recorded: Option<crate::workload::TraceTokens>,
    ) {
        self.new_job_for(
            now,
            tenant,
            recorded,
            0,
            crate::world::workflow::WorkflowLink::NONE,
        );
    }

    /// A job that starts at chain step `step`, as the activity attempt `workflow` when it is
    /// one. Returns `false` when it was blocked before it became a job (its first call found
    /// the queue full): nothing then reports its end.
    pub(in crate::world) fn new_job_for(
        &mut self,
        now: Time,
        tenant: TenantId,
        recorded: Option<crate::workload::TraceTokens>,
        step: u16,
        workflow: crate::world::workflow::WorkflowLink,
    ) -> bool {
        self.stats.arrival(now, tenant.index());
        let cfg = &self.config.tenants[tenant];
        let t = &mut self.tenants[tenant];
        // Workload draws first, whatever the gateway then decides: the traffic is the same for
        // every architecture fed the same seed.
        let injection = cfg.injection_share > 0.0 && t.injection_rng.bernoulli(cfg.injection_share);
        let turns = match &cfg.agent_loop {
            Some(l) => token_count(l.turns.sample(&mut t.turns_rng)),
            None => 1,
        };
        let cache_key = match t.keyed_by {
            Some(route) => self.routes[route]
                .cache
                .as_ref()
                .map_or(0, |c| c.draw_key(&mut t.cache_key_rng)),
            None => 0,
        };
        let request = self.requests.insert(Request {
            step,
            workflow,
            ..Request::new(now, tenant, turns, cache_key)
        });
        if let Some(rec) = &mut self.recorder {
            rec.job_arrived(now, request, tenant.0);
        }
        // Every job counts as in flight until `complete` (or a block on arrival) ends it.
        self.limits.in_flight[tenant] += 1;
        if let Some(budget) = cfg.budget_usd
            && self.stats.tenants.spend(tenant.index()) >= budget
        {
            self.stats.jobs.budget_rejected();
            self.complete(now, request, Outcome::OverBudget);
            return true;
        }
        if let Some((recall, false_positive_rate)) = self.config.gateway.input_guardrail {
            let caught = self.guardrail_rng.bernoulli(if injection {
                recall
            } else {
                false_positive_rate
            });
            self.stats.correctness.guardrail(injection, caught);
            if caught {
                let outcome = if injection {
                    Outcome::DetectedHandled
                } else {
                    Outcome::Failed
                };
                self.complete(now, request, outcome);
                return true;
            }
        } else if injection {
            self.stats.correctness.guardrail(true, false);
        }
        if injection && let Some(r) = self.requests.get_mut(request) {
            r.poisoned = INPUT_HOP;
        }
        let tokens = recorded.map(|r| (r.prompt, r.output));
        if !self.start_call(now, request, tokens) {
            if let Some(rec) = &mut self.recorder {
                rec.job_ended(now, request, None, 0, 0.0);
            }
            self.requests.remove(request);
            self.limits.in_flight[tenant] -= 1;
            self.stats.blocked_on_arrival(now, tenant.index());
            return false;
        }
        true
    }

    /// The gateway's fixed order for a call, from `from` on: the gateway's limits (a job's first
    /// call), the route's cache, the backend's context window, then the attempt (breaker and
    /// cooldown, adaptive throttling, a free slot or the queue). [`admit`](Self::admit) asks
    /// the stages in that order and answers with what became of the call; this applies it.
    /// Returns `false` only when the attempt found the queue full: the caller decides what
    /// that means for the job.
    ///
    /// The tenant's budget and the input guardrail come before, once per job ([`World::new_job`]);
    /// a delaying limit's held call comes back at [`Stage::Cache`]; retries and fallbacks go
    /// straight to the attempt ([`World::try_attempt`]).
    #[inline]
    pub(in crate::world) fn pass_gateway(&mut self, now: Time, request: Key, from: Stage) -> bool {
        let admit = self.admit(now, request, from);
        self.apply_admit(now, request, admit)
    }

    /// The stages, in order, each answering whether the call goes on: the first that deals
    /// with it answers for the gateway.
    #[inline(always)]
    fn admit(&mut self, now: Time, request: Key, from: Stage) -> Admit {
        if from <= Stage::Limits {
            match self.limit_stage(now, request) {
                Limited::Pass => {}
                Limited::Refused => return Admit::Done(Outcome::Throttled),
                Limited::Hold { wait } => return Admit::Hold { wait },
            }
        }
        let r = match self.requests.get_mut(request) {
            Some(r) => r,
            None => return Admit::Gone,
        };
        if let Some(wrong) = cache_stage(&mut self.routes[r.route], now, r.cache_key) {
            self.stats.routes.cache_lookup(r.route.index(), true, wrong);
            return Admit::Cached { wrong };
        }
        if self.routes[r.route].cache.is_some() {
            self.stats
                .routes
                .cache_lookup(r.route.index(), false, false);
        }
        if self.balanced {
            self.rebalance(now, request);
        }
        let Some(r) = self.requests.get(request) else {
            return Admit::Gone;
        };
        if let Some(tokens) = overflow(self.backends[r.backend].context_window, r) {
            self.stats.context_overflow();
            return Admit::FallBack(FallbackTrigger::ContextOverflow { tokens });
        }
        self.attempt_stage(now, request)
    }

    /// The gateway's rate and concurrency limits ([`GatewayLimits::admit`]), with the job's
    /// estimated tokens and spend.
    fn limit_stage(&mut self, now: Time, request: Key) -> Limited {
        let Some(r) = self.requests.get(request) else {
            return Limited::Pass;
        };
        let tokens = r.prompt_tokens as u64 + r.output_tokens as u64;
        let price = self.config.backends[r.backend].price;
        // Estimated spend in micro-USD, rounded up so that every priced call counts.
        let micro_usd = ((r.prompt_tokens as f64 * price.input_per_token
            + r.output_tokens as f64 * price.output_per_token)
            * 1e6)
            .ceil() as u64;
        let limits = &self.config.gateway.rate_limits;
        let answer = self.limits.admit(now, limits, r.tenant, tokens, micro_usd);
        match answer {
            Limited::Pass => {}
            Limited::Refused => self.stats.resilience.gateway_limited(false),
            Limited::Hold { .. } => self.stats.resilience.gateway_limited(true),
        }
        answer
    }

    /// Applies the gateway's answer to the call; `false` when it found the queue full.
    #[inline]
    fn apply_admit(&mut self, now: Time, request: Key, admit: Admit) -> bool {
        match admit {
            Admit::Gone => return false,
            Admit::Paced => {}
            Admit::Limited => self.fall_back(
                now,
                request,
                FallbackTrigger::Error(ErrorClass::Overloaded),
                Outcome::Shed,
            ),
            Admit::Done(outcome) => self.complete(now, request, outcome),
            Admit::Hold { wait } => {
                let r = self.requests.get_mut(request).expect("live request");
                r.gate_hold = true;
                r.retry_at = now.saturating_add(wait);
                let at = r.retry_at;
                self.sched.schedule(at, Event::retry_due(request));
            }
            Admit::Cached { wrong } => {
                let r = self.requests.get_mut(request).expect("live request");
                r.from_cache = true;
                if let Some(rec) = &mut self.recorder {
                    rec.cached(request);
                }
                if wrong && r.poisoned == CLEAN {
                    r.poisoned = r.step;
                }
                self.answered(now, request, 0);
            }
            Admit::FallBack(trigger) => self.fall_back(now, request, trigger, Outcome::Failed),
            Admit::GiveUp(failure) => {
                let next = self.give_up(now, request, failure);
                self.apply_next(now, request, next);
            }
            Admit::Send(permit) => return self.send(now, request, permit),
        }
        true
    }

    /// Starts a new attempt of `request` (a retry, a fallback, a held call's turn): the
    /// attempt stage of the gateway's order, applied. Returns `false` when the queue is full
    /// (the attempt is blocked).
    #[inline]
    pub(in crate::world) fn try_attempt(&mut self, now: Time, request: Key) -> bool {
        let admit = self.attempt_stage(now, request);
        self.apply_admit(now, request, admit)
    }

    /// The backend's gate: its breaker or cooldown may turn the call away (down the fallback
    /// chain), and adaptive throttling may refuse it at the client (the SRE book's client-side
    /// throttling: it fails locally, as throttled, and is not retried, since a retry would only
    /// be turned away again while the backend keeps rejecting; a fallback chain may still send
    /// it elsewhere). Past both, the call is sent with the breaker's permit.
    #[inline(always)]
    fn attempt_stage(&mut self, now: Time, request: Key) -> Admit {
        let Some(r) = self.requests.get(request) else {
            return Admit::Gone;
        };
        let backend = r.backend;
        // The tenant's adaptive client rate limiter (the AWS SDKs' adaptive mode) may hold the
        // attempt until it has a token.
        if self.client_rate_hold(now, request) {
            return Admit::Paced;
        }
        // A backend whose breaker is open, or which is cooling down, is skipped without a call.
        let permit = match self.backends[backend].gate(now) {
            Ok(permit) => permit,
            Err(closed) => {
                let breaker = closed == Closed::BreakerOpen;
                self.stats.backends.skipped(backend.index(), breaker);
                return Admit::FallBack(FallbackTrigger::BreakerOpen);
            }
        };
        if let Some(budget) = &mut self.budget
            && !budget.admit(now, &mut self.budget_rng)
        {
            self.backends[backend].release(permit);
            self.stats.resilience.rejected_locally();
            return Admit::GiveUp(AttemptFailure::Error {
                class: ErrorClass::RateLimited,
                retry_after: None,
            });
        }
        // The backend's adaptive concurrency limit turns away what is beyond it at once, as
        // Envoy's adaptive concurrency filter does (a 503 from the gateway): the call is shed,
        // or falls back down its chain.
        if !self.limit_allows(now, backend) {
            self.backends[backend].release(permit);
            return Admit::Limited;
        }
        Admit::Send(permit)
    }

    /// Sends an attempt past the gate: an idempotency resend may be absorbed; otherwise
    /// [`place`](Self::place) says where it goes, and it goes there.
    fn send(&mut self, now: Time, request: Key, permit: Option<Permit>) -> bool {
        // Every way on from here may put an attempt in flight.
        self.wake_hedge(request);
        let duplicate = match self.resend(now, request, permit) {
            Resend::Absorbed => return true,
            Resend::Duplicate => true,
            Resend::Fresh => false,
        };
        let Some(r) = self.requests.get_mut(request) else {
            return false;
        };
        let (backend, tenant) = (r.backend, r.tenant);
        let place = place(&self.backends[backend], self.config, r);
        if let Place::Full(shed) = place {
            if let Some(reason) = shed {
                self.stats.resilience.shed(reason);
            }
            self.backends[backend].release(permit);
            return false;
        }
        r.attempts += 1;
        r.job_attempts += 1;
        let queued = place == Place::Enqueue;
        // Whether this attempt is the capacity's 529: a fallback after it is planned overflow.
        r.at_capacity = place == Place::Overloaded;
        let attempt = match place {
            // At capacity the provider answers 529 after a round trip, holding no slot.
            Place::Overloaded => self.attempts.insert(Attempt {
                started: now,
                done_at: now + ROUND_TRIP,
                error: Some((ErrorClass::Overloaded, Maybe::NONE)),
                reserved_output: 0,
                slotless: true,
                ..Attempt::of(request, r, now, permit, false)
            }),
            _ => self.attempts.insert(Attempt {
                duplicate,
                ..Attempt::of(request, r, now, permit, queued)
            }),
        };
        if let Some(rec) = &mut self.recorder {
            let kind = Kind::of(false, r.attempts, r.depth);
            rec.attempt_sent(now, attempt, request, r.backend.0, kind, queued);
        }
        r.in_flight += 1;
        self.limit_sent(attempt);
        match place {
            Place::Overloaded => {
                self.sched
                    .schedule(now + ROUND_TRIP, Event::service_done(attempt));
            }
            Place::Start => {
                self.reserve_hedge(now, request);
                self.start_service(now, attempt, false);
                // A provider's answer time is known when it starts (a pool's is not:
                // `Time::MAX`); its timeout, if any, only ends it sooner.
                if self.hedge.is_some() {
                    let ends_by = self.attempts.get(attempt).map(|a| a.done_at);
                    self.arm_hedge(request, ends_by);
                }
            }
            Place::Enqueue | Place::Full(_) => {
                self.reserve_hedge(now, request);
                self.arm_hedge(request, None);
                self.backends[backend].queue.push(tenant, attempt, now);
                self.stats.enqueued(now);
                if let Some(q) = self.config.gateway.queue_timeout {
                    let a = self.attempts.get_mut(attempt).expect("just inserted");
                    a.queued_until = now.saturating_add(q);
                    let at = a.queued_until;
                    self.sched.schedule(at, Event::attempt_timeout(attempt));
                }
            }
        }
        true
    }
}

/// Where an attempt of `r` goes at its backend `b`: into service when a slot is free (a pool:
/// when it fits and no call waits before it), a 529 when the backend sheds at capacity, else
/// the queue, unless it is full or admission control sheds the call.
#[inline]
fn place(b: &Backend, config: &WorldConfig, r: &Request) -> Place {
    let can_start = match &b.server {
        // Calls keep their order: none overtakes one already waiting at the gateway.
        Server::Pool(p) => {
            p.held.is_none() && b.queue.len() == 0 && p.fits(r.prompt_tokens, r.output_tokens)
        }
        Server::Api { concurrency } => b.busy < *concurrency,
    };
    if can_start {
        return Place::Start;
    }
    let bc = &config.backends[r.backend];
    // A pool with a KV admission cap turns away what does not fit under it, as a server
    // that sheds load does: a 529 the caller may retry later.
    let sheds = bc.overload_when_busy
        || bc
            .pool
            .as_ref()
            .is_some_and(|p| p.kv_admission_blocks.is_some());
    if sheds {
        return Place::Overloaded;
    }
    let room = config
        .gateway
        .queue_capacity
        .is_none_or(|cap| b.queue.len() < cap as usize);
    if !room {
        return Place::Full(None);
    }
    if let Some(adm) = &config.gateway.admission {
        let mean = if b.services > 0 {
            b.service_total / b.services as f64
        } else {
            b.service_guess
        };
        let priority = config.tenants[r.tenant].priority;
        if let Err(reason) = adm.admit(
            b.queue.len() as u64,
            to_time(mean),
            b.concurrency(),
            priority,
        ) {
            return Place::Full(Some(reason));
        }
    }
    Place::Enqueue
}

impl World<'_> {
    /// How long the caller waits for an attempt of `request` starting at `now`, and whether
    /// that wait is the route's `latency_over` (reaching it falls back rather than retries).
    pub(in crate::world) fn timeout_rule(&self, request: Key, now: Time) -> (Option<Time>, bool) {
        // An attempt never runs past its call's deadline.
        let attempt_timeout = self.config.gateway.attempt_timeout;
        let timeout = match self.requests.get(request) {
            Some(r) => r.deadline.attempt_timeout(now, attempt_timeout),
            None => attempt_timeout,
        };
        // A route that falls back on slowness gives up on the attempt sooner than its timeout.
        let too_slow = self
            .requests
            .get(request)
            .and_then(|r| self.config.routes[r.route].chain.as_ref())
            .and_then(|c| c.triggers().latency_over)
            .filter(|&l| timeout.is_none_or(|t| l < t));
        (too_slow.or(timeout), too_slow.is_some())
    }

    pub(in crate::world) fn on_retry_due(&mut self, now: Time, request: Key) {
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        if r.retry_at != now {
            return;
        }
        if r.gate_hold {
            // The reservation is covered now: on to the cache and the queue.
            r.gate_hold = false;
            if !self.pass_gateway(now, request, Stage::Cache) {
                self.complete(now, request, Outcome::Shed);
            }
            return;
        }
        if !self.try_attempt(now, request) {
            self.complete(now, request, Outcome::Shed);
        }
    }
}

#[cfg(test)]
mod tests;
