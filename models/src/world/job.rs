//! A job (a `Request`): the tenant's task as it moves through its chain of steps and an agent
//! loop's turns, the call it is making now, and its attempts. Here are issuing a call (token
//! draws, a growing agent-loop prompt), taking an answer (the next turn or step, token caps,
//! poisoning) and ending the job with its outcome.

use super::World;
use super::call::{CLEAN, draw_tokens};
use super::gateway::Stage;
use crate::cache::CacheState;
use crate::config::TenantId;
use crate::event::Event;
use crate::metrics::{JobEnd, Outcome};
use crate::slo::CallFacts;
use policies::{Deadline, RetryBudget};
use sim_core::{Key, Time};

impl World<'_> {
    pub(super) fn schedule_next_arrival(&mut self, tenant: TenantId, now: Time) {
        let t = &mut self.tenants[tenant];
        t.pending = t
            .arrivals
            .next(now, &mut t.arrivals_rng)
            .filter(|a| a.at <= self.config.horizon);
        if let Some(a) = t.pending {
            self.sched
                .schedule(a.at, Event::Arrival { tenant: tenant.0 });
        }
    }

    pub(super) fn on_arrival(&mut self, now: Time, tenant: TenantId) {
        let arrival = self.tenants[tenant].pending;
        self.schedule_next_arrival(tenant, now);
        if let Some(log) = &mut self.arrival_log {
            log.push((now, tenant.0));
        }
        if self.config.tenants[tenant].workflow.is_some() {
            self.start_workflow(now, tenant);
            return;
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
        self.quota_call_started(request);
        let r = self.requests.get_mut(request).expect("live request");
        let cfg = &self.config.tenants[r.tenant];
        let step = &cfg.steps[r.step as usize];
        let route = &self.config.routes[step.route];
        let t = &mut self.tenants[r.tenant];
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
        r.backend = route.backend;
        r.depth = 0;
        r.deadline = match self.config.gateway.deadline {
            Some(d) => Deadline::new(now, d),
            None => Deadline::unbounded(),
        };
        r.deadline_hit = false;
        r.call_seq = r.call_seq.wrapping_add(1);
        r.in_flight = 0;
        r.extra_sent = 0;
        if let Some(budget) = &mut self.budget {
            budget.on_call(now);
        }
        r.call_started = now;
        r.attempts = 0;
        r.last_delay = 0;
        r.prompt_tokens = prompt;
        r.output_tokens = output;
        r.max_tokens = t.max_tokens.unwrap_or(output);
        r.from_cache = false;
        r.stale = false;
        r.failed_over = false;
        if let Some(rec) = &mut self.recorder {
            rec.call_started(
                now,
                request,
                r.step,
                r.turn,
                r.route.0,
                (prompt, output),
                r.cost,
            );
        }
        // The gateway's limits count jobs, not calls: only a job's first call meets them.
        let from = if r.step == 0 && r.turn == 0 && !self.limits.is_empty() {
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
        let cfg = &self.config.tenants[r.tenant];
        let hop = if cfg.agent_loop.is_some() {
            r.turn.min(u16::MAX as u32 - 2) as u16
        } else {
            r.step
        };
        if soft > 0 && r.poisoned == CLEAN {
            r.poisoned = hop;
        }
        if soft > 0 {
            self.stats.correctness.soft_missed(soft - 1);
        }
        if r.from_cache
            && let Some(rec) = &mut self.recorder
        {
            rec.cached(request);
        }
        r.tokens_used = r
            .tokens_used
            .saturating_add(r.prompt_tokens as u64 + r.output_tokens as u64);
        // A fresh cache hit is counted apart: no backend saw the call.
        let fresh_hit = r.from_cache && !r.stale;
        r.all_cached &= fresh_hit;
        if r.depth > 0 {
            // Moved down the chain after a failure: degraded; only because the backends above
            // were at capacity: planned overflow, a normal answer.
            if r.failed_over {
                r.degraded = true;
            } else {
                r.overflowed = true;
            }
            if let Some(c) = &mut self.chaos {
                c.fallback_answered(now);
            }
        }
        if !fresh_hit {
            self.stats
                .routes
                .call_answered(r.route.index(), now.saturating_sub(r.call_started));
        }
        if !r.from_cache
            && let Some(CacheState::Exact(c)) = &mut self.routes[r.route].cache
        {
            c.cache.insert(now, r.cache_key);
        }
        self.stats
            .resilience
            .call_answered(r.depth, fresh_hit, r.stale);
        // A workflow's job is one activity attempt: one step.
        let more_steps = r.workflow.get().is_none() && (r.step as usize) + 1 < cfg.steps.len();
        let more_turns = r.turn + 1 < r.turns;
        if more_steps {
            r.step += 1;
        } else if more_turns {
            let l = cfg.agent_loop.as_ref().expect("turns > 1 only with a loop");
            if r.turn + 1 >= l.turn_cap {
                self.stats.jobs.turn_cap_stop();
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
                self.stats.jobs.token_cap_stop();
                self.complete(now, request, Outcome::Failed);
                return;
            }
            // A prompt past u32::MAX tokens is beyond any model's context: the loop ends there,
            // counted, rather than sending a prompt whose count (and cost) would saturate.
            let next_prompt = r.prompt_tokens as u64 + r.output_tokens as u64 + growth;
            if next_prompt > u32::MAX as u64 {
                self.stats.jobs.prompt_limit_stop();
                self.complete(now, request, Outcome::Failed);
                return;
            }
            r.turn += 1;
        } else {
            let outcome = if r.poisoned != CLEAN {
                Outcome::WrongAccepted
            } else if r.degraded {
                Outcome::Degraded
            } else {
                Outcome::Correct
            };
            self.complete(now, request, outcome);
            return;
        }
        if let Some(rec) = &mut self.recorder {
            rec.call_continued(now, request, r.depth, r.cost);
        }
        if !self.start_call(now, request, None) {
            self.complete(now, request, Outcome::Shed);
        }
    }

    pub(super) fn complete(&mut self, now: Time, request: Key, outcome: Outcome) {
        let r = self.requests.remove(request).expect("live request");
        if let Some(rec) = &mut self.recorder {
            rec.job_ended(now, request, Some(outcome), r.depth, r.cost);
        }
        let t = &mut self.limits.in_flight[r.tenant];
        *t = t.saturating_sub(1);
        // Per-job counters count the jobs that arrived in the measured window.
        let counted = self.stats.in_window(r.arrived);
        // A call that ended unanswered because its deadline passed (or left no room to retry).
        if counted
            && matches!(outcome, Outcome::Failed | Outcome::Throttled)
            && (r.deadline_hit || r.deadline.is_expired(now))
        {
            self.stats.resilience.deadline_exceeded();
        }
        self.backends[r.backend].release(r.permit);
        if self.slo.is_some() || self.chaos.is_some() {
            let facts = CallFacts {
                outcome,
                latency: now - r.arrived,
                ttft: r.first_token.get().map(|t| t.saturating_sub(r.arrived)),
                cost_usd: r.cost,
            };
            if let Some(tracker) = &mut self.slo {
                tracker.record(now, r.tenant.0, r.route.0, &facts);
                if let Some(rec) = &mut self.recorder {
                    rec.alerts(now, |s| tracker.is_alerting(s));
                }
            }
            if let Some(c) = &mut self.chaos {
                c.record(now, r.tenant.0, r.route.0, &facts);
            }
        }
        if counted && matches!(outcome, Outcome::WrongAccepted) {
            self.stats.correctness.wrong_let_in(r.poisoned);
        }
        if counted && self.config.tenants[r.tenant].agent_loop.is_some() {
            self.stats.jobs.finished(r.turn + 1, r.tokens_used);
        }
        self.stats.completed(
            now,
            r.tenant.index(),
            JobEnd {
                arrived: r.arrived,
                attempts: r.job_attempts,
                outcome,
                cached: r.all_cached && r.from_cache && !r.stale,
                overflowed: r.overflowed,
            },
        );
        if let Some(link) = r.workflow.get() {
            self.workflow_job_ended(now, link, outcome, r.cost);
        }
    }
}
