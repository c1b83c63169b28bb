//! The replication's time series: per-bucket counts and levels over `[warm-up, horizon]`, the
//! data behind the report's charts. Series ignore the warm-up by construction (the grid starts
//! there) and follow levels from time 0, so they survive the end of the warm-up unchanged.

use crate::config::{EpisodeEffect, WorldConfig};
use sim_core::names::{self, BACKEND, BREAKER_HALF_OPEN, BREAKER_OPEN, BREAKER_OPENINGS};
use sim_core::series::{BucketGrid, CountSeries, LevelSeries, SeriesSet};
use sim_core::time::{Time, as_secs_f64};

/// Per-bucket series over `[warm-up, horizon]`. A series exists only when the configuration can
/// produce it (no blocked series without a finite queue, no timeout series without a timeout),
/// so reports and plots show only what the scenario has.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    grid: BucketGrid,
    pub(super) completions: CountSeries,
    pub(super) successes: CountSeries,
    pub(super) blocked: Option<CountSeries>,
    pub(super) failed: Option<CountSeries>,
    pub(super) timeouts: Option<CountSeries>,
    pub(super) queued: Option<LevelSeries>,
    /// Busy servers per backend; `None` for infinite-server backends (no utilisation).
    pub(super) busy: Vec<Option<LevelSeries>>,
    /// USD billed per bucket, when some backend has a price.
    pub(super) cost: Option<Vec<f64>>,
    /// 1 while some backend is faulty (outage, slowdown, degraded or updated model), when the
    /// scenario can have faults; with the number of faulty backends behind it.
    fault_active: Option<LevelSeries>,
    faulty_backends: u32,
    /// Breaker openings per bucket, per backend; `None` for backends without a breaker.
    breaker_openings: Vec<Option<CountSeries>>,
    /// Per backend with a breaker: the share of each bucket it spent open and half-open.
    breaker_states: Vec<Option<BreakerLevels>>,
}

/// A breaker's state as two 0/1 levels (open, half-open; closed is neither), integrated per
/// bucket: the state timeline. A breaker leaves open by itself at `until` and reports it
/// lazily, so that change is applied, at `until`, when the next one arrives (or at the end).
#[derive(Debug, Clone)]
struct BreakerLevels {
    open: LevelSeries,
    half_open: LevelSeries,
    /// 0 closed, 1 open until `until`, 2 half-open.
    state: u8,
    until: Time,
}

impl BreakerLevels {
    fn new(grid: BucketGrid) -> BreakerLevels {
        BreakerLevels {
            open: LevelSeries::new(grid),
            half_open: LevelSeries::new(grid),
            state: 0,
            until: 0,
        }
    }

    /// An open spell that ended by `now` turned half-open at its `until`.
    fn settle(&mut self, now: Time) {
        if self.state == 1 && self.until <= now {
            self.open.add(self.until, -1);
            self.half_open.add(self.until, 1);
            self.state = 2;
        }
    }

    fn enter(&mut self, now: Time, state: policies::BreakerState) {
        self.settle(now);
        match self.state {
            1 => self.open.add(now, -1),
            2 => self.half_open.add(now, -1),
            _ => {}
        }
        (self.state, self.until) = match state {
            policies::BreakerState::Closed => (0, 0),
            policies::BreakerState::Open { until } => (1, until),
            policies::BreakerState::HalfOpen => (2, 0),
        };
        match self.state {
            1 => self.open.add(now, 1),
            2 => self.half_open.add(now, 1),
            _ => {}
        }
    }
}

impl Series {
    pub(super) fn new(config: &WorldConfig) -> Series {
        let grid = BucketGrid::for_window(config.warmup, config.horizon);
        let finite = config.backends.iter().any(|b| b.concurrency != u32::MAX);
        let gw = &config.gateway;
        let can_fail = gw.attempt_timeout.is_some()
            || config.backends.iter().any(|b| {
                b.failure_probability > 0.0
                    || b.overload_when_busy
                    || !b.errors.is_empty()
                    || b.limits.any()
                    || b.context_window.is_some()
                    || b.episodes
                        .iter()
                        .any(|e| matches!(e.effect, EpisodeEffect::Outage(_)))
            });
        Series {
            grid,
            completions: CountSeries::new(grid),
            successes: CountSeries::new(grid),
            blocked: (finite && gw.queue_capacity.is_some()).then(|| CountSeries::new(grid)),
            failed: can_fail.then(|| CountSeries::new(grid)),
            timeouts: gw.attempt_timeout.map(|_| CountSeries::new(grid)),
            queued: (finite && gw.queue_capacity != Some(0)).then(|| LevelSeries::new(grid)),
            busy: config
                .backends
                .iter()
                // A pool's own series show its load; every other backend's attempts in service.
                .map(|b| {
                    (b.pool.is_none() || b.concurrency != u32::MAX).then(|| LevelSeries::new(grid))
                })
                .collect(),
            cost: config
                .backends
                .iter()
                .any(|b| {
                    !b.price.is_free() || b.pool.as_ref().is_some_and(|p| p.usd_per_gpu_hour > 0.0)
                })
                .then(|| vec![0.0; grid.len()]),
            fault_active: config
                .backends
                .iter()
                .any(|b| {
                    !b.episodes.is_empty() || b.degradation.is_some() || !b.model_updates.is_empty()
                })
                // Chaos faults are shaded like episodes.
                .then_some(())
                .or(config.chaos.as_ref().map(|_| ()))
                .map(|_| LevelSeries::new(grid)),
            faulty_backends: 0,
            breaker_openings: config
                .backends
                .iter()
                .map(|b| b.breaker.as_ref().map(|_| CountSeries::new(grid)))
                .collect(),
            breaker_states: config
                .backends
                .iter()
                .map(|b| b.breaker.as_ref().map(|_| BreakerLevels::new(grid)))
                .collect(),
        }
    }

    pub(super) fn finish(mut self, config: &WorldConfig) -> SeriesSet {
        let mut series = vec![
            (
                "throughput_per_s".to_string(),
                self.completions.rates_per_second(),
            ),
            (
                "goodput_per_s".to_string(),
                self.successes.rates_per_second(),
            ),
        ];
        let errors = [
            ("blocked_per_s", &self.blocked),
            ("failed_per_s", &self.failed),
            ("attempt_timeouts_per_s", &self.timeouts),
        ];
        for (name, s) in errors {
            if let Some(s) = s {
                series.push((names::error(name), s.rates_per_second()));
            }
        }
        if let Some(q) = &mut self.queued {
            series.push(("queue_length_mean".to_string(), q.means()));
        }
        for (busy, cfg) in self.busy.iter_mut().zip(&config.backends) {
            if let Some(busy) = busy {
                let means = busy.means();
                if cfg.concurrency == u32::MAX {
                    // No limit, so no share of one: the number in service is the figure.
                    series.push((BACKEND.metric(&cfg.name, "busy_mean"), means));
                } else {
                    let c = cfg.concurrency as f64;
                    let u = means.into_iter().map(|b| b / c).collect();
                    series.push((BACKEND.metric(&cfg.name, names::UTILISATION), u));
                }
            }
        }
        if let Some(cost) = &self.cost {
            let g = self.grid;
            let rate = cost
                .iter()
                .enumerate()
                .map(|(i, &usd)| {
                    let secs = as_secs_f64(g.bucket_len(i));
                    if secs > 0.0 { usd / secs } else { f64::NAN }
                })
                .collect();
            series.push(("cost_usd_per_s".to_string(), rate));
        }
        if let Some(f) = &mut self.fault_active {
            series.push(("faults.active".to_string(), f.means()));
        }
        for (opened, cfg) in self.breaker_openings.iter().zip(&config.backends) {
            if let Some(opened) = opened {
                let n = opened.counts().iter().map(|&c| c as f64).collect();
                series.push((BACKEND.metric(&cfg.name, BREAKER_OPENINGS), n));
            }
        }
        let end = self.grid.end;
        for (levels, cfg) in self.breaker_states.iter_mut().zip(&config.backends) {
            if let Some(b) = levels {
                b.settle(end);
                let name = &cfg.name;
                series.push((BACKEND.metric(name, BREAKER_OPEN), b.open.means()));
                series.push((BACKEND.metric(name, BREAKER_HALF_OPEN), b.half_open.means()));
            }
        }
        SeriesSet {
            grid: self.grid,
            series,
        }
    }

    /// `cost` USD billed at `now` (the cost-rate series).
    #[inline]
    pub(crate) fn billed_at(&mut self, now: Time, cost: f64) {
        if let (Some(c), Some(i)) = (&mut self.cost, self.grid.index(now)) {
            c[i] += cost;
        }
    }

    /// A cost not tied to calls, spread over the buckets (`per_bucket`).
    pub(super) fn fixed_cost(&mut self, per_bucket: &[f64]) {
        if let Some(c) = &mut self.cost {
            for (c, x) in c.iter_mut().zip(per_bucket) {
                *c += x;
            }
        }
    }

    /// A backend became faulty or recovered (the fault-active series).
    pub(crate) fn fault_level(&mut self, now: Time, was: bool, is: bool) {
        let Some(level) = &mut self.fault_active else {
            return;
        };
        let before = self.faulty_backends > 0;
        match (was, is) {
            (false, true) => self.faulty_backends += 1,
            (true, false) => self.faulty_backends = self.faulty_backends.saturating_sub(1),
            _ => return,
        }
        let after = self.faulty_backends > 0;
        if before != after {
            level.add(now, if after { 1 } else { -1 });
        }
    }

    /// A backend's breaker changed state (the breaker-openings and state-timeline series).
    pub(super) fn breaker_at(&mut self, now: Time, backend: usize, state: policies::BreakerState) {
        if let Some(Some(b)) = self.breaker_states.get_mut(backend) {
            b.enter(now, state);
        }
        if matches!(state, policies::BreakerState::Open { .. })
            && let Some(Some(s)) = self.breaker_openings.get_mut(backend)
        {
            s.add(now, 1);
        }
    }
}
