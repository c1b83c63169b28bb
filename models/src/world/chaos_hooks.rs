//! The world's side of chaos experiments and the cost guard: scheduling an experiment's
//! method, injecting and rolling back its faults, the safety gate's evaluations, and the extra
//! jobs of surges and long-context bursts. The experiments' own state and rules live in
//! [`crate::chaos`]; this keeps the event loop's edits to a few hooks.

use super::Server;
use super::World;
use crate::chaos::{FaultKind, Status};
use crate::config::{BackendId, TenantId};
use crate::event::{ChaosEvent, Event};
use policies::FaultWindow;
use sim_core::Time;
use sim_core::summary::MetricSet;

impl World<'_> {
    /// Schedules every experiment's start (run once, before the loop).
    pub(super) fn schedule_chaos(&mut self) {
        let Some(c) = &self.chaos else { return };
        for (e, x) in c.config.experiments.iter().enumerate() {
            if x.start <= self.config.horizon {
                self.sched.schedule(
                    x.start,
                    Event::Chaos {
                        index: e as u16,
                        what: ChaosEvent::Start,
                    },
                );
            }
        }
    }

    fn chaos_at(&mut self, at: Time, index: usize, what: ChaosEvent) {
        if at <= self.config.horizon {
            self.sched.schedule(
                at,
                Event::Chaos {
                    index: index as u16,
                    what,
                },
            );
        }
    }

    pub(super) fn on_chaos(&mut self, now: Time, index: usize, what: ChaosEvent) {
        let Some(c) = &mut self.chaos else { return };
        match what {
            ChaosEvent::Start => {
                if !c.begin(index) {
                    return; // the steady state did not hold: nothing is injected
                }
                let x = &c.config.experiments[index];
                let first = c.faults.iter().position(|&(e, _)| e == index);
                let end = now.saturating_add(x.method_length());
                let gate = x.gate.map(|g| g.interval);
                let n = x.faults.len();
                let offsets: Vec<(Time, Time)> = x
                    .faults
                    .iter()
                    .map(|f| (f.offset, f.offset.saturating_add(f.duration)))
                    .collect();
                if let Some(first) = first {
                    for (k, (begin, stop)) in offsets.into_iter().enumerate().take(n) {
                        self.chaos_at(now.saturating_add(begin), first + k, ChaosEvent::FaultBegin);
                        self.chaos_at(now.saturating_add(stop), first + k, ChaosEvent::FaultEnd);
                    }
                }
                // The end is scheduled after the faults' ends, so at the same instant they are
                // rolled back first.
                self.chaos_at(end, index, ChaosEvent::End);
                if let Some(iv) = gate {
                    self.chaos_at(now.saturating_add(iv), index, ChaosEvent::Gate);
                }
            }
            ChaosEvent::End => c.complete(now, index),
            ChaosEvent::FaultBegin => {
                let (e, _) = c.faults[index];
                if c.running(e) && !c.active[index] {
                    self.fault_begin(now, index);
                }
            }
            ChaosEvent::FaultEnd => {
                if c.active[index] {
                    self.fault_end(now, index);
                }
            }
            ChaosEvent::Gate => {
                if !c.running(index) {
                    return;
                }
                if let Some(burn) = c.gate_trips(now, index) {
                    c.abort(now, index, burn);
                    // Roll back: every active fault of the experiment ends now; the ones not
                    // yet begun find the experiment no longer running.
                    let faults: Vec<usize> = (0..c.faults.len())
                        .filter(|&i| c.faults[i].0 == index && c.active[i])
                        .collect();
                    for i in faults {
                        self.fault_end(now, i);
                    }
                } else {
                    let iv = c.config.experiments[index]
                        .gate
                        .map_or(Time::MAX, |g| g.interval);
                    self.chaos_at(now.saturating_add(iv), index, ChaosEvent::Gate);
                }
            }
            ChaosEvent::Arrival => {
                if !c.active[index] {
                    return;
                }
                let kind = c.fault(index).kind;
                let (tenant, rate) = self.extra_job_source(index);
                let Some(tenant) = tenant else { return };
                if let FaultKind::LongContext { prompt_tokens, .. } = kind
                    && let Some(c) = &mut self.chaos
                {
                    c.pending_prompt = Some(prompt_tokens);
                }
                self.new_job(now, TenantId(tenant), None);
                if let Some(c) = &mut self.chaos {
                    c.pending_prompt = None;
                }
                self.schedule_extra_job(now, index, rate);
            }
        }
    }

    /// A fault goes in.
    fn fault_begin(&mut self, now: Time, index: usize) {
        let c = self.chaos.as_mut().expect("chaos events need chaos");
        c.fault_began(now, index);
        let fault = c.fault(index).clone();
        if let Some(rec) = &mut self.recorder {
            let experiment = &c.config.experiments[c.faults[index].0].name;
            rec.chaos(now, experiment, fault.kind.name(), true);
        }
        self.stats.series.fault_level(now, false, true);
        match fault.kind {
            FaultKind::Stall { workers } => {
                for b in 0..self.backends.len() {
                    if fault.radius.backends.is_empty()
                        || fault.radius.backends.contains(&(b as u16))
                    {
                        // A pool's replicas are not workers a stall holds (`ReplicaKill` is).
                        if let Server::Api { concurrency } = &mut self.backends[b].server {
                            *concurrency = concurrency.saturating_sub(workers);
                        }
                    }
                }
            }
            FaultKind::ReplicaKill { replicas } => {
                for b in 0..self.backends.len() {
                    let in_radius = fault.radius.backends.is_empty()
                        || fault.radius.backends.contains(&(b as u16));
                    let Some(pool) = self.backends[b].pool().filter(|_| in_radius) else {
                        continue;
                    };
                    let mut left = replicas;
                    for i in 0..pool.replicas.len() {
                        if left == 0 {
                            break;
                        }
                        let serving = self.backends[b].pool().is_some_and(|p| p.is_serving(i));
                        if serving {
                            self.crash_replica(now, BackendId::at(b), i);
                            left -= 1;
                        }
                    }
                }
            }
            FaultKind::Surge { .. } | FaultKind::LongContext { .. } => {
                let (_, rate) = self.extra_job_source(index);
                self.schedule_extra_job(now, index, rate);
            }
            _ => {}
        }
    }

    /// A fault is rolled back (at its end, or by the safety gate).
    fn fault_end(&mut self, now: Time, index: usize) {
        let c = self.chaos.as_mut().expect("chaos events need chaos");
        c.fault_ended(index);
        let since = c.since[index];
        let fault = c.fault(index).clone();
        if let Some(rec) = &mut self.recorder {
            let experiment = &c.config.experiments[c.faults[index].0].name;
            rec.chaos(now, experiment, fault.kind.name(), false);
        }
        self.stats.series.fault_level(now, true, false);
        // A surge is load, not a failure: alerts are not graded on catching it.
        if self.slo.is_some() && !matches!(fault.kind, FaultKind::Surge { .. }) {
            self.faults.push(FaultWindow {
                start: since,
                end: now,
            });
        }
        if let FaultKind::Stall { workers } = fault.kind {
            for b in 0..self.backends.len() {
                if fault.radius.backends.is_empty() || fault.radius.backends.contains(&(b as u16)) {
                    let cap = self.config.backends[b].concurrency;
                    let Server::Api { concurrency } = &mut self.backends[b].server else {
                        continue;
                    };
                    *concurrency = concurrency.saturating_add(workers).min(cap);
                    // The freed slots take waiting calls (skipping those shed meanwhile).
                    while self.backends[b].busy < self.backends[b].concurrency()
                        && let Some(next) = self.backends[b].queue.pop()
                    {
                        if self.attempts.get(next).is_some_and(|a| a.abandoned) {
                            self.attempts.remove(next);
                            continue;
                        }
                        self.start_service(now, next, true);
                    }
                }
            }
        }
    }

    /// Which tenant an extra job of fault `index` belongs to (drawn in proportion to the
    /// tenants' mean rates within the blast radius), and the fault's extra rate per second.
    fn extra_job_source(&mut self, index: usize) -> (Option<u16>, f64) {
        let c = self.chaos.as_mut().expect("chaos events need chaos");
        let u = c.rng.next_f64();
        let fault = c.fault(index);
        let rate_of = |t: usize| self.config.tenants[t].arrivals.mean_rate_per_s().max(0.0);
        let in_radius = |t: usize| {
            fault.radius.tenants.is_empty() || fault.radius.tenants.contains(&(t as u16))
        };
        let total: f64 = (0..self.config.tenants.len())
            .filter(|&t| in_radius(t))
            .map(rate_of)
            .sum();
        let extra = match fault.kind {
            FaultKind::Surge { multiplier } => (multiplier - 1.0).max(0.0) * total,
            FaultKind::LongContext { rate_per_s, .. } => rate_per_s,
            _ => 0.0,
        };
        let mut candidates = (0..self.config.tenants.len()).filter(|&t| in_radius(t));
        let tenant = if total > 0.0 {
            let target = u * total;
            let mut acc = 0.0;
            let mut pick = None;
            for t in candidates {
                acc += rate_of(t);
                pick = Some(t as u16);
                if target < acc {
                    break;
                }
            }
            pick
        } else {
            candidates.next().map(|t| t as u16)
        };
        (tenant, extra)
    }

    /// The next extra job of fault `index`, a Poisson process at `rate` per second.
    fn schedule_extra_job(&mut self, now: Time, index: usize, rate: f64) {
        if rate <= 0.0 || !rate.is_finite() {
            return;
        }
        let c = self.chaos.as_mut().expect("chaos events need chaos");
        let mean = sim_core::NANOS_PER_SEC as f64 / rate;
        let gap = sim_core::Sampler::Exponential { mean }
            .sample(&mut c.rng)
            .round()
            .max(1.0);
        let at = if gap >= Time::MAX as f64 {
            Time::MAX
        } else {
            now.saturating_add(gap as Time)
        };
        c.next_arrival[index] = at;
        self.chaos_at(at, index, ChaosEvent::Arrival);
    }

    /// At the horizon: faults still in are closed there (ground truth for the grader).
    pub(super) fn close_chaos(&mut self, horizon: Time) {
        let Some(c) = &mut self.chaos else { return };
        for i in 0..c.faults.len() {
            if c.active[i] {
                c.fault_ended(i);
                let surge = matches!(c.fault(i).kind, FaultKind::Surge { .. });
                if self.slo.is_some() && !surge {
                    self.faults.push(FaultWindow {
                        start: c.since[i],
                        end: horizon,
                    });
                }
            }
        }
        // An experiment still running at the horizon ends there.
        for e in 0..c.config.experiments.len() {
            if c.status(e) == Status::Running {
                c.complete(horizon, e);
            }
        }
    }
}

/// Appends the experiments' journals and the cost guard's firings.
pub(super) fn push_metrics(
    chaos: Option<&crate::chaos::ChaosState>,
    guard: Option<&mut crate::cost_guard::CostGuard>,
    config: &crate::config::WorldConfig,
    horizon: Time,
    metrics: &mut MetricSet,
) {
    if let Some(c) = chaos {
        let names: Vec<String> = config.slos.iter().map(|s| s.name.clone()).collect();
        c.push_metrics(metrics, horizon, &names);
    }
    if let Some(g) = guard {
        g.push_metrics(metrics, horizon);
    }
}
