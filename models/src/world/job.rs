//! A job (a `Request`): the tenant's task as it moves through its chain of steps and an agent
//! loop's turns, the call it is making now, and its attempts. Here are issuing a call (token
//! draws, a growing agent-loop prompt), taking an answer (the next turn or step, token caps,
//! poisoning) and ending the job with its outcome.

use super::gateway::Stage;
use super::idempotency::Orphan;
use super::{Budget, World};
use crate::cache::CacheState;
use crate::event::Event;
use crate::metrics::Outcome;
use crate::slo::{CallFacts, CallOutcome};
use crate::workload::{TokenSource, token_count};
use policies::{ErrorClass, Permit};
use sim_core::{Key, RandomStream, Time};

/// `Request::poisoned` when every answer so far was good.
pub(super) const CLEAN: u16 = u16::MAX;

/// `Request::poisoned` when an undetected prompt injection got in.
pub(super) const INPUT_HOP: u16 = u16::MAX - 1;

/// A job, and the call it is making now.
pub(super) struct Request {
    pub(super) tenant: u16,
    pub(super) route: u16,
    pub(super) backend: u16,
    /// The chain step, and the agent-loop turn, of the current call.
    pub(super) step: u16,
    pub(super) turn: u32,
    /// Turns the task needs (1 without an agent loop).
    pub(super) turns: u32,
    pub(super) arrived: Time,
    /// When the current call was issued.
    pub(super) call_started: Time,
    /// Attempts of the current call (what the retry rules count), and of the whole job.
    pub(super) attempts: u32,
    pub(super) job_attempts: u32,
    /// Tokens of the job's answered calls so far (prompt plus output).
    pub(super) tokens_used: u64,
    /// The first hop whose bad answer got through: [`CLEAN`], [`INPUT_HOP`] or a hop index.
    pub(super) poisoned: u16,
    /// The answer under validation: its soft-failure category + 1 (0: good) and the verdict.
    pub(super) pending_soft: u8,
    pub(super) pending_detected: bool,
    pub(super) validate_at: Time,
    /// When the job's first answer began to stream (its time to first token).
    pub(super) first_token: Option<Time>,
    /// Spend on the job's attempts so far, in USD.
    pub(super) cost: f64,
    /// Position in the route's fallback chain: 0 is the primary backend.
    pub(super) depth: u8,
    /// The call's deadline, if the gateway sets one.
    pub(super) deadline: Option<Time>,
    /// The breaker permit of the answer under validation: the breaker hears how it went.
    pub(super) permit: Option<Permit>,
    /// Some call of the job was answered by a fallback (or a default response).
    pub(super) degraded: bool,
    /// Held by a gateway rate limit that delays rather than rejects.
    pub(super) gate_hold: bool,
    /// The call's deadline refused a retry.
    pub(super) deadline_hit: bool,
    /// Which call of the job this is (attempts of an earlier one are losers), how many of its
    /// attempts are out, how many hedges it sent, and when the next hedge is due.
    pub(super) call_seq: u32,
    pub(super) in_flight: u8,
    pub(super) extra_sent: u8,
    pub(super) hedge_at: Time,
    /// The prompt the job asks for (exact caches), and whether this call was answered from a
    /// cache.
    pub(super) cache_key: u64,
    pub(super) from_cache: bool,
    pub(super) last_delay: Time,
    pub(super) retry_at: Time,
    pub(super) prompt_tokens: u32,
    pub(super) output_tokens: u32,
    /// What the call asks for: its `max_tokens`, or its output tokens.
    pub(super) max_tokens: u32,
    /// The call's latest attempt its client timed out on (idempotency studies only).
    pub(super) orphan: Option<Orphan>,
}

pub(super) struct Attempt {
    pub(super) request: Key,
    pub(super) backend: u16,
    /// Copied from the request: an abandoned attempt is billed after its request may be gone.
    pub(super) tenant: u16,
    pub(super) route: u16,
    pub(super) prompt_tokens: u32,
    pub(super) output_tokens: u32,
    pub(super) enqueued: Time,
    /// When service started and how long until its first token (0 without a token model).
    pub(super) started: Time,
    pub(super) ttft: Time,
    pub(super) done_at: Time,
    pub(super) timeout_at: Time,
    /// The caller stopped waiting (timeout); the backend still works until `done_at`.
    pub(super) abandoned: bool,
    /// Set when the attempt was doomed at its start (error mix, outage, provider limit).
    pub(super) error: Option<(ErrorClass, Option<Time>)>,
    /// Output tokens taken from the provider's output bucket up front, reconciled at the end.
    pub(super) reserved_output: u32,
    /// Leave from the backend's breaker; handed back with the attempt's result.
    pub(super) permit: Option<Permit>,
    /// Waiting in the backend's queue (and until when, with a queue timeout).
    pub(super) queued: bool,
    pub(super) queued_until: Time,
    /// An instant `overloaded` answer that never held a backend slot.
    pub(super) slotless: bool,
    /// The call it belongs to ([`Request::call_seq`]), and whether it is a hedge.
    pub(super) call_seq: u32,
    pub(super) hedge: bool,
    /// Its timeout is the route's `latency_over`: reaching it falls back rather than retries.
    pub(super) too_slow: bool,
    /// A resend, without idempotency keys, of an attempt the provider worked on anyway.
    pub(super) duplicate: bool,
    /// A stored result the provider replays for an idempotency key: no work, no bill.
    pub(super) replay: bool,
    /// The GPU replica serving it, or [`NO_REPLICA`].
    pub(super) replica: u16,
}

/// `Attempt::replica` of an attempt not on a GPU replica.
pub(super) const NO_REPLICA: u16 = u16::MAX;

impl Attempt {
    /// A fresh attempt of `request`'s current call on its current backend, sent at `now`.
    pub(super) fn of(
        key: Key,
        r: &Request,
        now: Time,
        permit: Option<Permit>,
        queued: bool,
    ) -> Attempt {
        Attempt {
            request: key,
            backend: r.backend,
            tenant: r.tenant,
            route: r.route,
            prompt_tokens: r.prompt_tokens,
            output_tokens: r.output_tokens,
            enqueued: now,
            started: 0,
            ttft: 0,
            done_at: 0,
            timeout_at: 0,
            abandoned: false,
            error: None,
            reserved_output: r.max_tokens,
            permit,
            queued,
            queued_until: 0,
            slotless: false,
            call_seq: r.call_seq,
            hedge: false,
            too_slow: false,
            duplicate: false,
            replay: false,
            replica: NO_REPLICA,
        }
    }
}

/// A call's token count: drawn, or the replayed trace's; no source means the call carries no
/// tokens.
#[inline]
pub(super) fn draw_tokens(
    source: Option<&TokenSource>,
    recorded: Option<u32>,
    rng: &mut RandomStream,
) -> u32 {
    match source {
        None => 0,
        Some(TokenSource::Sampled(s)) => token_count(s.sample(rng)),
        Some(TokenSource::FromTrace) => recorded.unwrap_or(1),
    }
}

impl World<'_> {
    pub(super) fn schedule_next_arrival(&mut self, tenant: u16, now: Time) {
        let t = &mut self.tenants[tenant as usize];
        t.pending = t
            .arrivals
            .next(now, &mut t.arrivals_rng)
            .filter(|a| a.at <= self.config.horizon);
        if let Some(a) = t.pending {
            self.sched.schedule(a.at, Event::Arrival { tenant });
        }
    }

    pub(super) fn on_arrival(&mut self, now: Time, tenant: u16) {
        let arrival = self.tenants[tenant as usize].pending;
        self.schedule_next_arrival(tenant, now);
        if let Some(log) = &mut self.arrival_log {
            log.push((now, tenant));
        }
        self.new_job(now, tenant, arrival.and_then(|a| a.tokens));
    }

    /// Issues the job's current call (its step and turn): token counts, the context-window
    /// check, then the first attempt. `recorded` are a replayed trace's counts for the first call.
    /// Returns `false` when the first attempt found the queue full; the caller decides what
    /// that means for the job.
    pub(super) fn start_call(
        &mut self,
        now: Time,
        request: Key,
        recorded: Option<(u32, u32)>,
    ) -> bool {
        let r = self.requests.get_mut(request).expect("live request");
        let cfg = &self.config.tenants[r.tenant as usize];
        let step = &cfg.steps[r.step as usize];
        let route = &self.config.routes[step.route as usize];
        let t = &mut self.tenants[r.tenant as usize];
        let prompt_source = step.prompt_tokens.as_ref().or(t.prompt_tokens.as_ref());
        let output_source = step.output_tokens.as_ref().or(t.output_tokens.as_ref());
        let output = draw_tokens(output_source, recorded.map(|x| x.1), &mut t.tokens_rng);
        let prompt = if r.turn == 0 {
            draw_tokens(prompt_source, recorded.map(|x| x.0), &mut t.tokens_rng)
        } else {
            // An agent loop's context grows: the last prompt, the last answer, and what the turn
            // adds.
            let growth = cfg
                .agent_loop
                .as_ref()
                .and_then(|l| l.prompt_growth)
                .unwrap_or(0);
            r.prompt_tokens
                .saturating_add(r.output_tokens)
                .saturating_add(growth)
        };
        // A long-context burst's job brings its own prompt.
        let prompt = match self.chaos.as_mut().and_then(|c| c.pending_prompt.take()) {
            Some(p) if r.turn == 0 => p,
            _ => prompt,
        };
        r.route = step.route;
        r.backend = route.backend.0;
        r.depth = 0;
        r.deadline = self.config.gateway.deadline.map(|d| now.saturating_add(d));
        r.deadline_hit = false;
        r.call_seq = r.call_seq.wrapping_add(1);
        r.in_flight = 0;
        r.extra_sent = 0;
        if let Some(Budget::Finagle(b)) = &mut self.budget {
            b.deposit(now);
        }
        r.call_started = now;
        r.attempts = 0;
        r.last_delay = 0;
        r.prompt_tokens = prompt;
        r.output_tokens = output;
        r.max_tokens = t.max_tokens.unwrap_or(output);
        r.from_cache = false;
        // The gateway's limits count jobs, not calls: only a job's first call meets them.
        let from = if r.step == 0 && r.turn == 0 && !self.limiters.is_empty() {
            Stage::Limits
        } else {
            Stage::Cache
        };
        self.pass_gateway(now, request, from)
    }

    /// The call's answer is accepted: record a bad one that got through, then go on to the
    /// job's next call, or finish the job.
    pub(super) fn answered(&mut self, now: Time, request: Key, soft: u8) {
        let r = self.requests.get_mut(request).expect("live request");
        let cfg = &self.config.tenants[r.tenant as usize];
        let hop = if cfg.agent_loop.is_some() {
            r.turn.min(u16::MAX as u32 - 2) as u16
        } else {
            r.step
        };
        if soft > 0 && r.poisoned == CLEAN {
            r.poisoned = hop;
        }
        if soft > 0 {
            self.stats.soft_missed(soft - 1);
        }
        r.tokens_used = r
            .tokens_used
            .saturating_add(r.prompt_tokens as u64 + r.output_tokens as u64);
        if r.depth > 0 {
            r.degraded = true;
            if let Some(c) = &mut self.chaos {
                c.fallback_answered(now);
            }
        }
        self.stats
            .call_answered(r.route as usize, now.saturating_sub(r.call_started));
        if !r.from_cache
            && let Some(CacheState::Exact(c)) = &mut self.routes[r.route as usize].cache
        {
            c.cache.insert(now, r.cache_key);
        }
        self.stats.answered_at_depth(r.depth);
        let more_steps = (r.step as usize) + 1 < cfg.steps.len();
        let more_turns = r.turn + 1 < r.turns;
        if more_steps {
            r.step += 1;
        } else if more_turns {
            let l = cfg.agent_loop.as_ref().expect("turns > 1 only with a loop");
            if r.turn + 1 >= l.turn_cap {
                self.stats.turn_cap_stop();
                self.complete(now, request, Outcome::Failed);
                return;
            }
            // The next turn's prompt is this one plus its answer plus the growth; its answer is
            // estimated at this turn's length.
            let growth = l.prompt_growth.unwrap_or(0) as u64;
            let next = r.prompt_tokens as u64
                + 2 * r.output_tokens as u64
                + growth
                + r.output_tokens as u64;
            if let Some(cap) = l.token_cap
                && r.tokens_used.saturating_add(next) > cap
            {
                self.stats.token_cap_stop();
                self.complete(now, request, Outcome::Failed);
                return;
            }
            // A prompt past u32::MAX tokens is beyond any model's context: the loop ends there,
            // counted, rather than sending a prompt whose count (and cost) would saturate.
            let next_prompt = r.prompt_tokens as u64 + r.output_tokens as u64 + growth;
            if next_prompt > u32::MAX as u64 {
                self.stats.prompt_limit_stop();
                self.complete(now, request, Outcome::Failed);
                return;
            }
            r.turn += 1;
        } else {
            let outcome = if r.poisoned != CLEAN {
                Outcome::WrongAccepted
            } else if r.degraded || r.depth > 0 {
                Outcome::Degraded
            } else {
                Outcome::Correct
            };
            self.complete(now, request, outcome);
            return;
        }
        if !self.start_call(now, request, None) {
            self.complete(now, request, Outcome::Blocked);
        }
    }

    pub(super) fn complete(&mut self, now: Time, request: Key, outcome: Outcome) {
        let r = self.requests.remove(request).expect("live request");
        let t = &mut self.in_flight[r.tenant as usize];
        *t = t.saturating_sub(1);
        // A call that ended unanswered because its deadline passed (or left no room to retry).
        if matches!(outcome, Outcome::Failed | Outcome::Throttled)
            && (r.deadline_hit || r.deadline.is_some_and(|d| now >= d))
        {
            self.stats.deadline_exceeded();
        }
        self.backends[r.backend as usize].release(r.permit);
        if self.slo.is_some() || self.chaos.is_some() {
            let facts = CallFacts {
                outcome: match outcome {
                    Outcome::Correct => CallOutcome::Correct,
                    Outcome::Degraded => CallOutcome::Degraded,
                    Outcome::WrongAccepted => CallOutcome::WrongAccepted,
                    Outcome::DetectedHandled => CallOutcome::DetectedHandled,
                    Outcome::Throttled => CallOutcome::Throttled,
                    Outcome::Blocked | Outcome::BudgetRejected => CallOutcome::Shed,
                    Outcome::Failed => CallOutcome::Failed,
                },
                latency: now - r.arrived,
                ttft: r.first_token.map(|t| t.saturating_sub(r.arrived)),
                cost_usd: r.cost,
            };
            if let Some(tracker) = &mut self.slo {
                tracker.record(now, r.tenant, r.route, &facts);
            }
            if let Some(c) = &mut self.chaos {
                c.record(now, r.tenant, r.route, &facts);
            }
        }
        if matches!(outcome, Outcome::WrongAccepted) {
            self.stats.wrong_let_in(r.poisoned);
        }
        if self.config.tenants[r.tenant as usize].agent_loop.is_some() {
            self.stats.job_finished(r.turn + 1, r.tokens_used);
        }
        self.stats
            .completed(now, r.tenant as usize, r.arrived, r.job_attempts, outcome);
    }
}
