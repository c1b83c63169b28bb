//! Resilience counters: what the gateway's defences did — admission shedding, gateway rate
//! limits, hedges, fallbacks and the depth that answered, default responses, deadlines, the
//! retry budget and adaptive throttling, retries by the failure they answer, and the duplicate
//! work idempotency keys absorbed (or did not).

use super::families::{ResilienceFamilies, retry_classes};
use super::ratio;
use crate::config::WorldConfig;
use policies::ErrorClass;
use sim_core::summary::MetricSet;
use sim_core::time::{Time, as_secs_f64};

#[derive(Debug, Clone)]
pub(crate) struct Resilience {
    families: ResilienceFamilies,
    /// Jobs answered by a fallback, a stale cache entry or a default response.
    pub(super) degraded_answers: u64,
    /// Jobs answered by a fallback backend only because the backends above it were full.
    pub(super) overflow_answers: u64,
    /// Calls answered by a stale cache entry after the chain's backends failed.
    stale_answers: u64,
    /// Calls shed, by [`policies::ShedReason`].
    shed_by: [u64; 4],
    gateway_rejected: u64,
    gateway_delayed: u64,
    hedges_sent: u64,
    hedges_won: u64,
    too_slow: u64,
    fallbacks: u64,
    default_responses: u64,
    deadline_exceeded: u64,
    budget_denied: u64,
    rejected_locally: u64,
    /// Retries by the class of the failure they answer ([`ErrorClass`] order), then re-asks
    /// after a validator caught a soft failure.
    retries_by: [u64; ErrorClass::ALL.len() + 1],
    /// Resends of timed-out attempts the provider worked on, those absorbed by idempotency
    /// keys, and the provider time and spend of the duplicates that were not.
    duplicates: u64,
    duplicates_absorbed: u64,
    duplicate_work: Time,
    duplicate_cost: f64,
    /// Answers by fallback depth (0: the primary backend).
    depth_answers: Vec<u64>,
}

impl Resilience {
    pub(super) fn new(config: &WorldConfig) -> Resilience {
        let families = ResilienceFamilies::of(config);
        Resilience {
            families,
            degraded_answers: 0,
            overflow_answers: 0,
            stale_answers: 0,
            shed_by: [0; 4],
            gateway_rejected: 0,
            gateway_delayed: 0,
            hedges_sent: 0,
            hedges_won: 0,
            too_slow: 0,
            fallbacks: 0,
            default_responses: 0,
            deadline_exceeded: 0,
            budget_denied: 0,
            rejected_locally: 0,
            retries_by: [0; ErrorClass::ALL.len() + 1],
            duplicates: 0,
            duplicates_absorbed: 0,
            duplicate_work: 0,
            duplicate_cost: 0.0,
            depth_answers: vec![0; families.max_depth],
        }
    }

    /// Admission control turned a call away (`QueueFull`, `WaitTooLong` or `LowPriority`), or
    /// it waited out its queue timeout (`QueueTimeout`).
    pub(crate) fn shed(&mut self, reason: policies::ShedReason) {
        self.shed_by[reason as usize] += 1;
    }

    /// A gateway rate limit held (`delayed`) or rejected a job.
    pub(crate) fn gateway_limited(&mut self, delayed: bool) {
        if delayed {
            self.gateway_delayed += 1;
        } else {
            self.gateway_rejected += 1;
        }
    }

    pub(crate) fn too_slow(&mut self) {
        self.too_slow += 1;
    }

    pub(crate) fn hedge_sent(&mut self) {
        self.hedges_sent += 1;
    }

    pub(crate) fn hedge_won(&mut self) {
        self.hedges_won += 1;
    }

    pub(crate) fn budget_denied(&mut self) {
        self.budget_denied += 1;
    }

    /// An attempt turned away by adaptive throttling before any call: the call failed locally.
    pub(crate) fn rejected_locally(&mut self) {
        self.rejected_locally += 1;
    }

    /// A call was answered: by a fresh cache hit (no backend involved, so no depth), by a
    /// stale cache entry (a last resort), or by the backend at `depth` of its chain.
    pub(crate) fn call_answered(&mut self, depth: u8, fresh_hit: bool, stale: bool) {
        if fresh_hit {
            return;
        }
        if stale {
            self.stale_answers += 1;
        } else if let Some(d) = self.depth_answers.get_mut(depth as usize) {
            *d += 1;
        }
    }

    pub(crate) fn fell_back(&mut self) {
        self.fallbacks += 1;
    }

    pub(crate) fn default_response(&mut self) {
        self.default_responses += 1;
    }

    pub(crate) fn deadline_exceeded(&mut self) {
        self.deadline_exceeded += 1;
    }

    /// A resend of a timed-out attempt the provider worked on; `absorbed` by an idempotency key.
    pub(crate) fn duplicate_resend(&mut self, absorbed: bool) {
        self.duplicates += 1;
        self.duplicates_absorbed += absorbed as u64;
    }

    /// A duplicate attempt ended at the provider after `busy` of work, billed `cost_usd`.
    pub(crate) fn duplicate_work(&mut self, busy: Time, cost_usd: f64) {
        self.duplicate_work = self.duplicate_work.saturating_add(busy);
        self.duplicate_cost += cost_usd;
    }

    /// A retry of a failure of `class`; `None`: a re-ask after a detected soft failure.
    #[inline]
    pub(super) fn retried(&mut self, class: Option<ErrorClass>) {
        self.retries_by[class.map_or(ErrorClass::ALL.len(), |c| c as usize)] += 1;
    }

    /// The resilience metrics, for the defences this world has.
    pub(super) fn finish(&self, m: &mut MetricSet, config: &WorldConfig) {
        let res = self.families;
        if res.fallbacks {
            if config.routes.iter().any(|r| {
                r.chain
                    .as_ref()
                    .is_some_and(|c| c.triggers().latency_over.is_some())
            }) {
                m.push("fallback.too_slow", self.too_slow as f64);
            }
            m.push("degraded", self.degraded_answers as f64);
            // A backend that turns calls away when full overflows to the next by design.
            if config.backends.iter().any(|b| {
                b.overload_when_busy
                    || b.pool
                        .as_ref()
                        .is_some_and(|p| p.kv_admission_blocks.is_some())
            }) {
                m.push("overflow", self.overflow_answers as f64);
            }
            m.push("fallbacks", self.fallbacks as f64);
            m.push("default_responses", self.default_responses as f64);
            // Shares of every answer that did not come from a fresh cache hit: by the depth of
            // the backend that gave it, then the last resorts (stale entry, default response).
            let (stale, default) = config
                .routes
                .iter()
                .filter_map(|r| r.chain.as_ref())
                .map(|c| c.last_resorts())
                .fold((false, false), |(s, d), (cs, cd)| (s || cs, d || cd));
            let answered: u64 = self.depth_answers.iter().sum::<u64>()
                + self.stale_answers
                + self.default_responses;
            for (d, n) in self.depth_answers.iter().enumerate() {
                m.push(format!("fallback.depth{d}_share"), ratio(*n, answered));
            }
            if stale {
                m.push("fallback.stale_share", ratio(self.stale_answers, answered));
            }
            if default {
                m.push(
                    "fallback.default_share",
                    ratio(self.default_responses, answered),
                );
            }
        }
        if config.gateway.admission.is_some() || config.gateway.queue_timeout.is_some() {
            for reason in [
                policies::ShedReason::QueueFull,
                policies::ShedReason::WaitTooLong,
                policies::ShedReason::LowPriority,
                policies::ShedReason::QueueTimeout,
            ] {
                m.push(
                    format!("shed.{}", reason.name()),
                    self.shed_by[reason as usize] as f64,
                );
            }
        }
        if !config.gateway.rate_limits.is_empty() {
            m.push("rate_limit.rejected", self.gateway_rejected as f64);
            m.push("rate_limit.delayed", self.gateway_delayed as f64);
        }
        if config.gateway.hedge.is_some() {
            m.push("hedges_sent", self.hedges_sent as f64);
            m.push("hedges_won", self.hedges_won as f64);
        }
        if res.deadline {
            m.push("deadline_exceeded", self.deadline_exceeded as f64);
        }
        if res.budget {
            m.push("retry_budget.denied", self.budget_denied as f64);
        }
        if res.adaptive {
            m.push(
                "adaptive_throttle.rejected_locally",
                self.rejected_locally as f64,
            );
        }
        if config.gateway.idempotency.is_some() {
            m.push("idempotency.duplicates", self.duplicates as f64);
            m.push("idempotency.absorbed", self.duplicates_absorbed as f64);
            m.push(
                "idempotency.duplicate_work_s",
                as_secs_f64(self.duplicate_work),
            );
            m.push("idempotency.duplicate_cost_usd", self.duplicate_cost);
        }
    }

    /// `retries.CLASS`: retries by what they answer, for the classes this world can produce
    /// and its retry rules resend (what amplifies load in a storm is seldom the class one
    /// expects).
    pub(super) fn push_retries_by(
        &self,
        m: &mut MetricSet,
        config: &WorldConfig,
        possible: &[ErrorClass],
    ) {
        for (class, name) in retry_classes(config, possible) {
            let i = class.map_or(ErrorClass::ALL.len(), |c| c as usize);
            m.push(format!("retries.{name}"), self.retries_by[i] as f64);
        }
    }
}
