//! The validator: whether an answer is silently bad (the route's soft-failure mix, raised by
//! the model's degradation and silent updates), whether the route's validator notices, and
//! what the route does then (accept, re-ask, fall back).

use super::{World, to_time};
use crate::config::ValidatorAction;
use crate::event::Event;
use crate::metrics::Outcome;
use policies::{AttemptFailure, FallbackTrigger, RetryDecision};
use sim_core::{Key, Time};

impl World<'_> {
    /// An answer came back: is it silently bad, and does the route's validator notice?
    pub(super) fn judge_answer(&mut self, now: Time, request: Key) {
        let r = self.requests.get_mut(request).expect("live request");
        let route_cfg = &self.config.routes[r.route as usize];
        let route = &mut self.routes[r.route as usize];
        let b = &self.backends[r.backend as usize];
        let mut soft = 0u8;
        if route_cfg.soft.iter().any(|&p| p > 0.0) {
            let k = b.provider.update_multiplier
                * if b.provider.degraded {
                    self.config.backends[r.backend as usize]
                        .degradation
                        .map_or(1.0, |d| d.multiplier)
                } else {
                    1.0
                };
            let u = route.soft_rng.next_f64();
            let mut acc = 0.0;
            for (c, &p) in route_cfg.soft.iter().enumerate() {
                acc += (p * k).min(1.0);
                if u < acc {
                    soft = c as u8 + 1;
                    break;
                }
            }
        }
        if soft == 0
            && let Some(c) = &mut self.chaos
            && let Some(category) = c.corrupt(r.backend, r.tenant)
        {
            soft = category + 1;
        }
        if soft > 0 {
            self.stats.soft_failure(r.route as usize, soft - 1);
        }
        let Some(v) = &route_cfg.validator else {
            let (backend, permit) = (r.backend as usize, r.permit.take());
            let latency = now.saturating_sub(r.call_started);
            r.validate_at = 0;
            self.attempt_result(now, backend, permit, true, latency, None);
            self.answered(now, request, soft);
            return;
        };
        let p = if soft > 0 {
            v.recall[soft as usize - 1]
        } else {
            v.false_positive_rate
        };
        r.pending_soft = soft;
        r.pending_detected = route.validator_rng.bernoulli(p);
        let latency = v
            .latency
            .as_ref()
            .map_or(0, |d| to_time(d.sample(&mut route.validator_rng)));
        if latency == 0 {
            self.on_validated(now, request);
        } else {
            r.validate_at = now.saturating_add(latency);
            let at = r.validate_at;
            self.sched.schedule(at, Event::validated(request));
        }
    }

    pub(super) fn on_validated(&mut self, now: Time, request: Key) {
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        if r.validate_at != now && r.validate_at != 0 {
            return;
        }
        r.validate_at = 0;
        let (soft, detected) = (r.pending_soft, r.pending_detected);
        let latency = now.saturating_sub(r.call_started);
        let (backend, permit) = (r.backend as usize, r.permit.take());
        let category = if detected { soft.checked_sub(1) } else { None };
        self.attempt_result(now, backend, permit, true, latency, category);
        let r = self.requests.get_mut(request).expect("live request");
        if !detected {
            self.answered(now, request, soft);
            return;
        }
        let hop = if self.config.tenants[r.tenant as usize].agent_loop.is_some() {
            r.turn.min(u16::MAX as u32 - 2) as u16
        } else {
            r.step
        };
        self.stats.rejected_by_validator(soft.checked_sub(1), hop);
        let v = self.config.routes[r.route as usize]
            .validator
            .as_ref()
            .expect("only validated routes get here");
        match v.action {
            ValidatorAction::Error => self.complete(now, request, Outcome::DetectedHandled),
            ValidatorAction::Fallback => self.fall_back(
                now,
                request,
                FallbackTrigger::ValidationFailed,
                Outcome::DetectedHandled,
            ),
            ValidatorAction::Reask => {
                let mut rules = self.config.gateway.retry;
                rules.reask = true;
                let decision = rules.decide(
                    r.attempts,
                    r.last_delay,
                    AttemptFailure::SoftFailure,
                    &mut self.retry_rng,
                );
                match decision {
                    RetryDecision::RetryAfter(delay) if self.retry_allowed(now, request, delay) => {
                        let r = self.requests.get_mut(request).expect("live request");
                        r.prompt_tokens = r.prompt_tokens.saturating_add(v.reask_extra_tokens);
                        self.retry(now, request, delay, None);
                    }
                    _ => self.complete(now, request, Outcome::DetectedHandled),
                }
            }
        }
    }
}
