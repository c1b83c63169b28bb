//! The gateway: what it does to a job's call, in a fixed order.
//!
//! 1. **Budget** — a tenant past its `budget_usd` is refused ([`World::new_job`]).
//! 2. **Guardrail** — the input guardrail may catch a prompt injection, or a clean prompt
//!    ([`World::new_job`]).
//! 3. **Limits** — the gateway's rate and concurrency limits, all or nothing, on a job's first
//!    call ([`World::pass_gateway_limits`] in `limits`); a delaying limit holds the job.
//! 4. **Cache** — the route's exact or semantic cache may answer (`World::cache`).
//! 5. **Context window** — a prompt that cannot fit on the backend falls back
//!    (`World::context_window`).
//! 6. **Queue / admission** — breaker and cooldown, adaptive throttling, the idempotency
//!    resend, then a free slot, a 529 when the backend sheds at capacity, or the queue (its
//!    capacity and admission control) ([`World::try_attempt`]).
//! 7. **Attempt** — the provider or the GPU pool serves it (`super::provider`, `super::gpu`).
//!
//! Steps 3 to 6 are [`World::pass_gateway`], one function in that order.
//!
//! After a failed attempt, `recovery` decides: retry (budget, deadline), hedge, fallback chain.

mod limits;
mod recovery;

pub(in crate::world) use limits::{limiter, take_limits};
pub(in crate::world) use recovery::Closed;

use super::call::{Attempt, CLEAN, INPUT_HOP, Request};
use super::idempotency::Resend;
use super::{ROUND_TRIP, Route, World, to_time};
use crate::cache::{CacheState, Lookup, SemanticLookup};
use crate::event::Event;
use crate::metrics::Outcome;
use crate::record::Kind;
use crate::workload::token_count;
use policies::{AttemptFailure, ErrorClass, FairQueue, FallbackTrigger};
use policies::{Deadline, RetryBudget};
use sim_core::{Key, Time};
use std::collections::VecDeque;

/// A backend's waiting calls: plain FIFO, or fair across tenants.
pub(in crate::world) enum Queue {
    Fifo(VecDeque<Key>),
    Fair(FairQueue<Key>),
}

impl Queue {
    pub(in crate::world) fn len(&self) -> usize {
        match self {
            Queue::Fifo(q) => q.len(),
            Queue::Fair(q) => q.len(),
        }
    }

    pub(in crate::world) fn push(&mut self, tenant: u16, attempt: Key) {
        match self {
            Queue::Fifo(q) => q.push_back(attempt),
            Queue::Fair(q) => {
                // Unbounded per tenant: the gateway's queue capacity is checked before.
                let _ = q.push(tenant as usize, attempt, 1);
            }
        }
    }

    pub(in crate::world) fn pop(&mut self) -> Option<Key> {
        match self {
            Queue::Fifo(q) => q.pop_front(),
            Queue::Fair(q) => q.pop().map(|(_, k)| k),
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

/// What a stage of the gateway did with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::world) enum Step {
    /// Passed it on to the next stage.
    Next,
    /// Dealt with it: refused, held, answered or fell back.
    Done,
}

impl World<'_> {
    /// A job of `tenant` enters the gateway (an arrival of its process, or an extra job a chaos
    /// experiment injects); `recorded` are a replayed trace's token counts.
    pub(in crate::world) fn new_job(
        &mut self,
        now: Time,
        tenant: u16,
        recorded: Option<crate::workload::TraceTokens>,
    ) {
        self.new_job_for(now, tenant, recorded, 0, None);
    }

    /// A job that starts at chain step `step`, as the activity attempt `workflow` when it is
    /// one. Returns `false` when it was blocked before it became a job (its first call found
    /// the queue full): nothing then reports its end.
    pub(in crate::world) fn new_job_for(
        &mut self,
        now: Time,
        tenant: u16,
        recorded: Option<crate::workload::TraceTokens>,
        step: u16,
        workflow: Option<crate::world::workflow::WorkflowLink>,
    ) -> bool {
        self.stats.arrival(now, tenant as usize);
        let cfg = &self.config.tenants[tenant as usize];
        let t = &mut self.tenants[tenant as usize];
        // Workload draws first, whatever the gateway then decides: the traffic is the same for
        // every architecture fed the same seed.
        let injection = cfg.injection_share > 0.0 && t.injection_rng.bernoulli(cfg.injection_share);
        let turns = match &cfg.agent_loop {
            Some(l) => token_count(l.turns.sample(&mut t.turns_rng)),
            None => 1,
        };
        let cache_key = match t.keyed_by {
            Some(route) => self.routes[route as usize]
                .cache
                .as_ref()
                .map_or(0, |c| c.draw_key(&mut t.cache_key_rng)),
            None => 0,
        };
        let request = self.requests.insert(Request {
            tenant,
            route: 0,
            backend: 0,
            step,
            turn: 0,
            turns,
            arrived: now,
            call_started: now,
            attempts: 0,
            job_attempts: 0,
            tokens_used: 0,
            poisoned: CLEAN,
            pending_soft: 0,
            pending_detected: false,
            validate_at: 0,
            first_token: None,
            cost: 0.0,
            depth: 0,
            deadline: Deadline::unbounded(now),
            permit: None,
            degraded: false,
            gate_hold: false,
            deadline_hit: false,
            call_seq: 0,
            in_flight: 0,
            extra_sent: 0,
            hedge_at: 0,
            dormant_hedge: None,
            cache_key,
            from_cache: false,
            last_delay: 0,
            retry_at: 0,
            prompt_tokens: 0,
            output_tokens: 0,
            max_tokens: 0,
            orphan: None,
            workflow,
        });
        if let Some(rec) = &mut self.recorder {
            rec.job_arrived(now, request, tenant);
        }
        // Every job counts as in flight until `complete` (or a block on arrival) ends it.
        self.in_flight[tenant as usize] += 1;
        if let Some(budget) = cfg.budget_usd
            && self.stats.tenants.spend(tenant as usize) >= budget
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
            self.in_flight[tenant as usize] -= 1;
            self.stats.blocked_on_arrival(now, tenant as usize);
            return false;
        }
        true
    }

    /// The gateway's fixed order for a call, from `from` on: the gateway's limits (a job's first
    /// call), the route's cache, the backend's context window, then the attempt (breaker and
    /// cooldown, adaptive throttling, a free slot or the queue). Each stage either passes the
    /// call on or deals with it (refuses, holds, answers, falls back). Returns `false` only when
    /// the attempt found the queue full: the caller decides what that means for the job.
    ///
    /// The tenant's budget and the input guardrail come before, once per job ([`World::new_job`]);
    /// a delaying limit's held call comes back at [`Stage::Cache`]; retries and fallbacks go
    /// straight to the attempt.
    pub(in crate::world) fn pass_gateway(&mut self, now: Time, request: Key, from: Stage) -> bool {
        if from <= Stage::Limits && self.pass_gateway_limits(now, request) == Step::Done {
            return true;
        }
        if self.cache(now, request) == Step::Done {
            return true;
        }
        if self.balanced {
            self.rebalance(now, request);
        }
        if self.context_window(now, request) == Step::Done {
            return true;
        }
        self.try_attempt(now, request)
    }

    /// The backend's context window: a prompt that cannot fit there is not sent. An overflow is
    /// never retried (every attempt would overflow too); the fallback chain may send it to a
    /// backend with a larger window.
    fn context_window(&mut self, now: Time, request: Key) -> Step {
        let r = self.requests.get(request).expect("live request");
        let need = r.prompt_tokens as u64 + r.max_tokens as u64;
        if let Some(window) = self.backends[r.backend as usize].context_window
            && need > window as u64
        {
            self.stats.context_overflow();
            let tokens = need.min(u32::MAX as u64) as u32;
            self.fall_back(
                now,
                request,
                FallbackTrigger::ContextOverflow { tokens },
                Outcome::Failed,
            );
            return Step::Done;
        }
        Step::Next
    }

    /// The route's cache: a hit (or a semantic cache's wrong hit) answers the call at once.
    fn cache(&mut self, now: Time, request: Key) -> Step {
        let r = self.requests.get_mut(request).expect("live request");
        let route = r.route as usize;
        let Route {
            cache, cache_rng, ..
        } = &mut self.routes[route];
        let Some(cache) = cache else {
            return Step::Next;
        };
        let answer = match cache {
            CacheState::Exact(c) => match c.cache.lookup(now, r.cache_key) {
                Lookup::Hit => Some(false),
                Lookup::Stale | Lookup::Miss => None,
            },
            CacheState::Semantic(c) => match c.lookup(cache_rng) {
                SemanticLookup::Hit => Some(false),
                SemanticLookup::WrongHit => Some(true),
                SemanticLookup::Miss => None,
            },
        };
        match answer {
            None => {
                self.stats.routes.cache_lookup(route, false, false);
                Step::Next
            }
            Some(wrong) => {
                self.stats.routes.cache_lookup(route, true, wrong);
                r.from_cache = true;
                if let Some(rec) = &mut self.recorder {
                    rec.cached(request);
                }
                if wrong && r.poisoned == CLEAN {
                    r.poisoned = r.step;
                }
                self.answered(now, request, 0);
                Step::Done
            }
        }
    }

    /// Starts a new attempt of `request`: into service if a slot is free, else into the queue.
    /// Returns `false` when the queue is full (the attempt is blocked).
    pub(in crate::world) fn try_attempt(&mut self, now: Time, request: Key) -> bool {
        let Some(r) = self.requests.get_mut(request) else {
            return false;
        };
        let backend_index = r.backend;
        let tenant = r.tenant;
        // A backend whose breaker is open, or which is cooling down, is skipped without a call.
        let permit = match self.backends[backend_index as usize].gate(now) {
            Ok(permit) => permit,
            Err(closed) => {
                let breaker = closed == Closed::BreakerOpen;
                self.stats.backends.skipped(backend_index as usize, breaker);
                self.fall_back(now, request, FallbackTrigger::BreakerOpen, Outcome::Failed);
                return true;
            }
        };
        // Adaptive throttling (the SRE book's client-side throttling) turns attempts away at the
        // client, before any call: the call fails locally, as throttled, and is not retried (a
        // retry would only be turned away again while the backend keeps rejecting); a fallback
        // chain may still send it elsewhere.
        if let Some(budget) = &mut self.budget
            && !budget.admit(now, &mut self.budget_rng)
        {
            self.backends[backend_index as usize].release(permit);
            self.stats.resilience.rejected_locally();
            self.give_up(
                now,
                request,
                AttemptFailure::Error {
                    class: ErrorClass::RateLimited,
                    retry_after: None,
                },
            );
            return true;
        }
        // Every way on from here may put an attempt in flight.
        self.wake_hedge(request);
        let duplicate = match self.resend(now, request, permit) {
            Resend::Absorbed => return true,
            Resend::Duplicate => true,
            Resend::Fresh => false,
        };
        let r = self.requests.get(request).expect("live request");
        let b = &self.backends[backend_index as usize];
        let can_start = match &b.pool {
            // Calls keep their order: none overtakes one already waiting at the gateway.
            Some(p) => {
                p.held.is_none() && b.queue.len() == 0 && p.fits(r.prompt_tokens, r.output_tokens)
            }
            None => b.busy < b.concurrency,
        };
        let bc = &self.config.backends[backend_index as usize];
        // A pool with a KV admission cap turns away what does not fit under it, as a server
        // that sheds load does: a 529 the caller may retry later.
        let sheds = bc.overload_when_busy
            || bc
                .pool
                .as_ref()
                .is_some_and(|p| p.kv_admission_blocks.is_some());
        if !can_start && sheds {
            // At capacity the provider answers 529 after a round trip, holding no slot.
            let r = self.requests.get_mut(request).expect("live request");
            r.attempts += 1;
            r.job_attempts += 1;
            let attempt = self.attempts.insert(Attempt {
                started: now,
                done_at: now + ROUND_TRIP,
                error: Some((ErrorClass::Overloaded, None)),
                reserved_output: 0,
                slotless: true,
                ..Attempt::of(request, r, now, permit, false)
            });
            if let Some(rec) = &mut self.recorder {
                let kind = Kind::of(false, r.attempts, r.depth);
                rec.attempt_sent(now, attempt, request, r.backend, kind, false);
            }
            r.in_flight += 1;
            self.sched
                .schedule(now + ROUND_TRIP, Event::service_done(attempt));
            return true;
        }
        let mut room = self
            .config
            .gateway
            .queue_capacity
            .is_none_or(|cap| b.queue.len() < cap as usize);
        if !can_start
            && room
            && let Some(adm) = &self.config.gateway.admission
        {
            let mean = if b.services > 0 {
                b.service_total / b.services as f64
            } else {
                b.service_guess
            };
            let priority = self.config.tenants[tenant as usize].priority;
            if let Err(reason) =
                adm.admit(b.queue.len() as u64, to_time(mean), b.concurrency, priority)
            {
                self.stats.resilience.shed(reason);
                room = false;
            }
        }
        if !can_start && !room {
            self.backends[backend_index as usize].release(permit);
            return false;
        }
        let r = self.requests.get_mut(request).expect("live request");
        r.attempts += 1;
        r.job_attempts += 1;
        let attempt = self.attempts.insert(Attempt {
            duplicate,
            ..Attempt::of(request, r, now, permit, !can_start)
        });
        if let Some(rec) = &mut self.recorder {
            let kind = Kind::of(false, r.attempts, r.depth);
            rec.attempt_sent(now, attempt, request, r.backend, kind, !can_start);
        }
        r.in_flight += 1;
        self.reserve_hedge(now, request);
        if can_start {
            self.start_service(now, attempt, false);
            // A provider's answer time is known when it starts (a pool's is not: `Time::MAX`);
            // its timeout, if any, only ends it sooner.
            if self.hedge.is_some() {
                let ends_by = self.attempts.get(attempt).map(|a| a.done_at);
                self.arm_hedge(request, ends_by);
            }
        } else {
            self.arm_hedge(request, None);
            self.backends[backend_index as usize]
                .queue
                .push(tenant, attempt);
            self.stats.enqueued(now);
            if let Some(q) = self.config.gateway.queue_timeout {
                let a = self.attempts.get_mut(attempt).expect("just inserted");
                a.queued_until = now.saturating_add(q);
                let at = a.queued_until;
                self.sched.schedule(at, Event::attempt_timeout(attempt));
            }
        }
        true
    }

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
            .and_then(|r| self.config.routes[r.route as usize].chain.as_ref())
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
