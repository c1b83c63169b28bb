//! The validator: whether an answer is silently bad (the route's soft-failure mix, raised by
//! the model's degradation and silent updates), whether the route's validator notices, and
//! what the route does then (accept, re-ask, fall back).

use super::{World, to_time};
use crate::config::{ValidatorAction, ValidatorConfig};
use crate::event::Event;
use crate::metrics::Outcome;
use policies::{AttemptFailure, FallbackTrigger, RetryDecision};
use sim_core::{Key, RandomStream, Streams, Time};

/// A route's answers as the validator sees them: its own streams for whether an answer is
/// silently bad and whether the validator notices.
pub(super) struct Validator {
    soft_rng: RandomStream,
    validator_rng: RandomStream,
}

impl Validator {
    /// The streams of the route named `entity`.
    pub(super) fn new(streams: &Streams, entity: &str) -> Validator {
        Validator {
            soft_rng: streams.stream(entity, "soft"),
            validator_rng: streams.stream(entity, "validator"),
        }
    }

    /// Whether an answer is silently bad: its soft-failure category + 1, or 0 for a good one.
    /// `soft` is the route's mix per category, each raised by `k` (the model's degradation and
    /// silent updates) up to 1. One draw, only when the mix can fail at all.
    #[inline]
    pub(super) fn draw_soft(&mut self, soft: &[f64; 5], k: f64) -> u8 {
        if !soft.iter().any(|&p| p > 0.0) {
            return 0;
        }
        let u = self.soft_rng.next_f64();
        let mut acc = 0.0;
        for (c, &p) in soft.iter().enumerate() {
            acc += (p * k).min(1.0);
            if u < acc {
                return c as u8 + 1;
            }
        }
        0
    }

    /// The validator's verdict on an answer of soft-failure category `soft` (0: good): whether
    /// it flags the answer, and how long it takes to check.
    pub(super) fn judge(&mut self, v: &ValidatorConfig, soft: u8) -> (bool, Time) {
        let p = if soft > 0 {
            v.recall[soft as usize - 1]
        } else {
            v.false_positive_rate
        };
        let detected = self.validator_rng.bernoulli(p);
        let latency = v
            .latency
            .as_ref()
            .map_or(0, |d| to_time(d.sample(&mut self.validator_rng)));
        (detected, latency)
    }
}

impl World<'_> {
    /// An answer came back: is it silently bad, and does the route's validator notice?
    pub(super) fn judge_answer(&mut self, now: Time, request: Key) {
        let r = self.requests.get_mut(request).expect("live request");
        let route_cfg = &self.config.routes[r.route];
        let route = &mut self.routes[r.route];
        let b = &self.backends[r.backend];
        let k = b.provider.soft_multiplier(&self.config.backends[r.backend]);
        let mut soft = route.validator.draw_soft(&route_cfg.soft, k);
        if soft == 0
            && let Some(c) = &mut self.chaos
            && let Some(category) = c.corrupt(r.backend.0, r.tenant.0)
        {
            soft = category + 1;
        }
        if soft > 0 {
            self.stats.soft_failure(r.route.index(), soft - 1);
        }
        if let Some(rec) = &mut self.recorder {
            rec.soft(request, soft);
        }
        let Some(v) = &route_cfg.validator else {
            let (backend, permit) = (r.backend, r.permit.take());
            let latency = now.saturating_sub(r.call_started);
            r.validate_at = 0;
            self.attempt_result(now, backend, permit, true, latency, None);
            self.answered(now, request, soft);
            return;
        };
        let (detected, latency) = route.validator.judge(v, soft);
        if let Some(rec) = &mut self.recorder {
            rec.validated(
                now,
                request,
                r.route.0,
                detected,
                now.saturating_add(latency),
            );
        }
        r.pending_soft = soft;
        r.pending_detected = detected;
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
        let (backend, permit) = (r.backend, r.permit.take());
        let category = if detected { soft.checked_sub(1) } else { None };
        self.attempt_result(now, backend, permit, true, latency, category);
        let r = self.requests.get_mut(request).expect("live request");
        if !detected {
            self.answered(now, request, soft);
            return;
        }
        let hop = if self.config.tenants[r.tenant].agent_loop.is_some() {
            r.turn.min(u16::MAX as u32 - 2) as u16
        } else {
            r.step
        };
        self.stats
            .correctness
            .rejected_by_validator(soft.checked_sub(1), hop);
        // Only a route with a validator rejects answers.
        let Some(v) = self.config.routes[r.route].validator.as_ref() else {
            return;
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn validator() -> Validator {
        Validator::new(&Streams::new(7, 0), "routes.main")
    }

    fn config(recall: f64, false_positive_rate: f64) -> ValidatorConfig {
        ValidatorConfig {
            recall: [recall; 5],
            false_positive_rate,
            latency: None,
            action: ValidatorAction::Reask,
            reask_extra_tokens: 0,
        }
    }

    #[test]
    fn a_mix_that_cannot_fail_draws_nothing() {
        let (mut a, mut b) = (validator(), validator());
        assert_eq!(a.draw_soft(&[0.0; 5], 3.0), 0);
        let mix = [0.2, 0.1, 0.0, 0.0, 0.3];
        for _ in 0..100 {
            assert_eq!(a.draw_soft(&mix, 1.0), b.draw_soft(&mix, 1.0));
        }
    }

    #[test]
    fn the_multiplier_raises_each_category_up_to_certainty() {
        let mut v = validator();
        for _ in 0..100 {
            assert_eq!(v.draw_soft(&[0.3, 0.0, 0.0, 0.0, 0.0], 10.0), 1);
        }
        let mix = [0.0, 0.0, 0.5, 0.0, 0.0];
        let bad = (0..10_000).filter(|_| v.draw_soft(&mix, 1.0) == 3).count();
        assert!((4_700..5_300).contains(&bad), "{bad}");
    }

    #[test]
    fn the_verdict_uses_recall_for_bad_answers_and_false_positives_for_good_ones() {
        let mut v = validator();
        assert_eq!(v.judge(&config(1.0, 0.0), 2), (true, 0));
        assert_eq!(v.judge(&config(1.0, 0.0), 0), (false, 0));
        assert_eq!(v.judge(&config(0.0, 1.0), 0), (true, 0));
        assert_eq!(v.judge(&config(0.0, 1.0), 5), (false, 0));
    }
}
