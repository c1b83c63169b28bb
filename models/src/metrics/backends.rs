//! Per-backend counters: how busy each backend was, the attempts it started and what it billed,
//! the time it spent down or degraded, and what its circuit breaker and cooldown did. One
//! record per backend, in configuration order, so the report lists backends as declared.

use super::families::Families;
use crate::config::{EpisodeEffect, WorldConfig};
use sim_core::names::{BACKEND, UTILISATION};
use sim_core::stats::TimeWeighted;
use sim_core::summary::MetricSet;
use sim_core::time::Time;

/// What one backend did.
#[derive(Debug, Clone)]
struct BackendStats {
    busy: TimeWeighted,
    attempts_started: u64,
    concurrency: u32,
    cost: f64,
    /// 1 while an outage is under way, and 1 while its model is degraded.
    down: TimeWeighted,
    degraded: TimeWeighted,
    /// Breaker openings, calls its breaker refused, cooldowns, calls skipped while cooling down.
    breaker_opened: u64,
    breaker_rejected: u64,
    cooldowns: u64,
    cooldown_skips: u64,
    /// Time the breaker spent closed, open and half-open.
    breaker_clock: BreakerClock,
}

/// Every backend's counters, in configuration order.
#[derive(Debug, Clone)]
pub(crate) struct Backends {
    each: Vec<BackendStats>,
}

impl Backends {
    pub(super) fn new(config: &WorldConfig) -> Backends {
        Backends {
            each: config
                .backends
                .iter()
                .map(|b| BackendStats {
                    busy: TimeWeighted::new(0),
                    attempts_started: 0,
                    concurrency: b.concurrency,
                    cost: 0.0,
                    down: TimeWeighted::new(0),
                    degraded: TimeWeighted::new(0),
                    breaker_opened: 0,
                    breaker_rejected: 0,
                    cooldowns: 0,
                    cooldown_skips: 0,
                    breaker_clock: BreakerClock::default(),
                })
                .collect(),
        }
    }

    /// Carries `old`'s levels (busy, down, degraded, breaker state) over into these fresh
    /// counters at the end of the warm-up, so time averages stay exact.
    pub(super) fn carry_levels(&mut self, old: &Backends, now: Time) {
        for (new, old) in self.each.iter_mut().zip(&old.each) {
            new.busy = old.busy.clone();
            new.busy.restart(now);
            new.down = old.down.clone();
            new.down.restart(now);
            new.degraded = old.degraded.clone();
            new.degraded.restart(now);
            new.breaker_clock = old.breaker_clock.restarted(now);
        }
    }

    /// An attempt took a slot of `backend`.
    #[inline]
    pub(super) fn started(&mut self, now: Time, backend: usize) {
        let b = &mut self.each[backend];
        b.busy.add(now, 1);
        b.attempts_started += 1;
    }

    /// An attempt left its slot of `backend`.
    #[inline]
    pub(super) fn ended(&mut self, now: Time, backend: usize) {
        self.each[backend].busy.add(now, -1);
    }

    #[inline]
    pub(super) fn add_cost(&mut self, backend: usize, usd: f64) {
        self.each[backend].cost += usd;
    }

    #[inline]
    pub(crate) fn model_degraded(&mut self, now: Time, backend: usize, degraded: bool) {
        let level = &mut self.each[backend].degraded;
        let target = i64::from(degraded);
        let current = level.level();
        level.add(now, target - current);
    }

    #[inline]
    pub(crate) fn down(&mut self, now: Time, backend: usize, down: bool) {
        self.each[backend].down.add(now, if down { 1 } else { -1 });
    }

    /// A call skipped `backend`: its breaker refused it, or it was cooling down.
    pub(crate) fn skipped(&mut self, backend: usize, by_breaker: bool) {
        let b = &mut self.each[backend];
        if by_breaker {
            b.breaker_rejected += 1;
        } else {
            b.cooldown_skips += 1;
        }
    }

    pub(super) fn breaker_changed(
        &mut self,
        now: Time,
        backend: usize,
        state: policies::BreakerState,
    ) {
        let b = &mut self.each[backend];
        if matches!(state, policies::BreakerState::Open { .. }) {
            b.breaker_opened += 1;
        }
        b.breaker_clock.enter(now, state);
    }

    pub(crate) fn cooldown_started(&mut self, backend: usize) {
        self.each[backend].cooldowns += 1;
    }

    /// The `backend.NAME.*` metrics, per backend in configuration order.
    pub(super) fn finish(
        &mut self,
        m: &mut MetricSet,
        config: &WorldConfig,
        families: &Families,
        now: Time,
    ) {
        for (b, cfg) in self.each.iter_mut().zip(&config.backends) {
            let name = &cfg.name;
            let busy = b.busy.mean(now);
            m.push(BACKEND.metric(name, "busy_mean"), busy);
            // A share of a limit only where there is one: with unlimited concurrency the mean
            // in service (`busy_mean`) is the figure, and no ratio stands in for it.
            if b.concurrency != u32::MAX {
                m.push(
                    BACKEND.metric(name, UTILISATION),
                    busy / b.concurrency as f64,
                );
            }
            m.push(BACKEND.metric(name, "attempts"), b.attempts_started as f64);
            if families.llm {
                m.push(BACKEND.metric(name, "cost_usd"), b.cost);
            }
            if cfg.breaker.is_some() {
                m.push(
                    BACKEND.metric(name, "breaker_opened"),
                    b.breaker_opened as f64,
                );
                m.push(
                    BACKEND.metric(name, "breaker_rejected"),
                    b.breaker_rejected as f64,
                );
                let (half_opened, recovered) = b.breaker_clock.transitions(now);
                m.push(
                    BACKEND.metric(name, "breaker_half_opened"),
                    half_opened as f64,
                );
                m.push(BACKEND.metric(name, "breaker_recovered"), recovered as f64);
                let (open, half) = b.breaker_clock.shares(now);
                m.push(BACKEND.metric(name, "breaker_open_share"), open);
                m.push(BACKEND.metric(name, "breaker_half_open_share"), half);
            }
            if cfg.cooldown.is_some() {
                m.push(BACKEND.metric(name, "cooldowns"), b.cooldowns as f64);
                m.push(
                    BACKEND.metric(name, "cooldown_skips"),
                    b.cooldown_skips as f64,
                );
            }
            if cfg.degradation.is_some() {
                m.push(
                    BACKEND.metric(name, "degraded_fraction"),
                    b.degraded.mean(now),
                );
            }
            if cfg
                .episodes
                .iter()
                .any(|e| matches!(e.effect, EpisodeEffect::Outage(_)))
            {
                m.push(BACKEND.metric(name, "outage_fraction"), b.down.mean(now));
            }
        }
    }
}

/// Time a breaker spends in each state. A breaker leaves open by itself at `until` (it reports
/// that lazily), so an open spell is split there into open and half-open time.
#[derive(Debug, Clone, Copy, Default)]
struct BreakerClock {
    /// 0 closed, 1 open (until `until`, then half-open), 2 half-open.
    state: u8,
    since: Time,
    until: Time,
    closed: Time,
    open: Time,
    half_open: Time,
    /// Transitions into half-open (trial calls begin) and back to closed (recovered).
    half_opened: u64,
    recovered: u64,
}
impl BreakerClock {
    /// Adds the time since the last change, up to `now`.
    fn account(&mut self, now: Time) {
        let from = self.since.min(now);
        match self.state {
            1 => {
                let end = self.until.clamp(from, now);
                self.open += end - from;
                self.half_open += now - end;
            }
            2 => self.half_open += now - from,
            _ => self.closed += now - from,
        }
        self.since = now;
    }

    fn enter(&mut self, now: Time, state: policies::BreakerState) {
        self.account(now);
        // An open spell that ran out became half-open at `until`, unreported until now.
        let mut was = self.state;
        if was == 1 && now >= self.until {
            self.half_opened += 1;
            was = 2;
        }
        match state {
            policies::BreakerState::HalfOpen if was != 2 => self.half_opened += 1,
            policies::BreakerState::Closed if was != 0 => self.recovered += 1,
            _ => {}
        }
        (self.state, self.until) = match state {
            policies::BreakerState::Closed => (0, 0),
            policies::BreakerState::Open { until } => (1, until),
            policies::BreakerState::HalfOpen => (2, 0),
        };
    }

    /// The same state from `now` on, with nothing accounted (the end of the warm-up).
    fn restarted(&self, now: Time) -> BreakerClock {
        BreakerClock {
            state: self.state,
            since: now,
            until: self.until,
            ..BreakerClock::default()
        }
    }

    /// Transitions into half-open and into closed up to `now`.
    fn transitions(&self, now: Time) -> (u64, u64) {
        let pending = u64::from(self.state == 1 && now >= self.until);
        (self.half_opened + pending, self.recovered)
    }

    /// Shares of `[start, now]` spent open and half-open.
    fn shares(&mut self, now: Time) -> (f64, f64) {
        self.account(now);
        let total = (self.closed + self.open + self.half_open).max(1) as f64;
        (self.open as f64 / total, self.half_open as f64 / total)
    }
}
