//! Chaos experiments in virtual time, shaped after the Chaos Toolkit's experiment format: a
//! *steady-state hypothesis* (probes with tolerances) checked before and after a *method* of
//! timed faults, a *rollback* of every fault, and a *journal* of what happened. Added here: a
//! **safety gate** that aborts the experiment (rolling its faults back) when the error budget
//! burns too fast, as a game day's abort criterion would.
//!
//! This module holds the configuration and the running state; the world calls its hooks
//! (`on_attempt`, `corrupt`, `record`, `fallback_answered`) and dispatches its events through
//! `world::chaos_hooks`. Nothing here allocates per event.
//!
//! ## Definitions
//!
//! - **Probe**: the SLI of a named ratio SLO (same indicator and tenant/route filters) over a
//!   probe window, compared with `objective − tolerance`, exactly in parts per million. The
//!   *before* window is `[start − window, start)`; the *after* window is `[end, end + window)`,
//!   where `end` is when the method finished or was aborted. A call counts where it completes.
//!   A probe window without calls is *deviated* (no evidence the system is steady).
//! - **Steady state before fails**: the method never runs, no fault is injected, the journal
//!   says why.
//! - **Safety gate**: evaluated every `interval` from the method's start while it runs. It
//!   trips at the first evaluation `t` where the burn rate of the gate's SLO over `[t − window,
//!   t)` exceeds `max_burn_rate`: `bad/total > max_burn_rate × (1 − objective)`, compared in
//!   integers. A burn rate of 1 spends the error budget exactly by the end of the SLO window
//!   (for a 30-day window: 1/30 of the budget per day, the *expected daily burn*); the default
//!   limit 2 therefore aborts when the trailing window spends budget at more than twice the
//!   even daily pace. Tripping ends every active fault of the experiment at `t` and cancels the
//!   ones not yet started.
//! - **Budget burned** (SLO impact): bad calls of the experiment's SLO between the method's start
//!   and end, as a share of the error budget of one SLO window at the run's average traffic:
//!   `bad / ((1 − objective) × calls_in_run × window / measured_span)`.
//! - **Fallback SLA**: time from the first injected fault to the first call answered by a
//!   fallback backend (depth ≥ 1) at or after it while the method runs; within the SLA when at
//!   most `fallback_sla` (a method during which no fallback answered is not within it).

use crate::outage::OutageMode;
use crate::slo::{CallFacts, Indicator, Objective, RatioSli, SloConfig};
use policies::burn_rate::{BURN_UNIT, PPM, RollingCounts, WindowCounts, burn_exceeds, burn_rate};
use sim_core::names::{
    CHAOS, CHAOS_ABORT_BURN_RATE, CHAOS_ABORTED, CHAOS_ABORTED_AT_S, CHAOS_BAD_CALLS,
    CHAOS_BUDGET_BURNED, CHAOS_FALLBACK_S, CHAOS_FALLBACK_WITHIN_SLA, CHAOS_GATE_LIMIT, CHAOS_RAN,
    CHAOS_STEADY_AFTER, CHAOS_STEADY_BEFORE,
};
use sim_core::summary::MetricSet;
use sim_core::time::as_secs_f64;
use sim_core::{RandomStream, Time};

/// The default burn-rate limit of a safety gate: twice the expected daily burn (see the module
/// documentation), in [`BURN_UNIT`]s.
pub const DEFAULT_GATE_LIMIT: u64 = 2 * BURN_UNIT;
/// The default trailing window of a safety gate: five minutes, the short window of the SRE
/// workbook's fastest page, so a gate reacts within minutes, not hours.
pub const DEFAULT_GATE_WINDOW: Time = 5 * 60 * sim_core::NANOS_PER_SEC;
/// The default evaluation interval of a safety gate.
pub const DEFAULT_GATE_INTERVAL: Time = 10 * sim_core::NANOS_PER_SEC;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChaosConfig {
    pub experiments: Vec<ExperimentConfig>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentConfig {
    pub name: String,
    /// When the method starts (absolute virtual time).
    pub start: Time,
    /// The SLO (index into the world's SLOs) the gate watches and the impact is measured on.
    pub slo: usize,
    pub probes: Vec<Probe>,
    pub probe_window: Time,
    pub faults: Vec<FaultConfig>,
    pub gate: Option<SafetyGate>,
    pub fallback_sla: Option<Time>,
}

impl ExperimentConfig {
    /// How long the method lasts when nothing aborts it: until its last fault ends.
    pub fn method_length(&self) -> Time {
        self.faults
            .iter()
            .map(|f| f.offset.saturating_add(f.duration))
            .max()
            .unwrap_or(0)
    }
}

/// A steady-state probe: the SLI of SLO `slo` must be at least its objective minus `tolerance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub slo: usize,
    pub tolerance_ppm: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafetyGate {
    /// Burn-rate limit in [`BURN_UNIT`]s.
    pub max_burn_rate: u64,
    pub window: Time,
    pub interval: Time,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// From the method's start.
    pub offset: Time,
    pub duration: Time,
    pub kind: FaultKind,
    pub radius: BlastRadius,
}

/// Where a fault lands: a share of the matching traffic (drawn per attempt, or per answer for
/// corruption), restricted to some tenants and some backends (empty lists: all).
#[derive(Debug, Clone, PartialEq)]
pub struct BlastRadius {
    pub share: f64,
    pub tenants: Vec<u16>,
    pub backends: Vec<u16>,
}

impl BlastRadius {
    fn covers(&self, backend: u16, tenant: u16) -> bool {
        (self.backends.is_empty() || self.backends.contains(&backend))
            && (self.tenants.is_empty() || self.tenants.contains(&tenant))
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FaultKind {
    /// The provider fails every attempt in the blast radius as in an outage episode.
    Outage(OutageMode),
    /// The gateway cannot reach the provider: refused or hanging connections.
    Partition(OutageMode),
    /// Attempts take `multiplier` times as long, plus `add`.
    Latency { add: Time, multiplier: f64 },
    /// An answer that would have been good is silently bad (category index into
    /// [`crate::config::SOFT_CATEGORIES`]) with probability `probability`.
    Corruption { probability: f64, category: u8 },
    /// Extra jobs of the tenants in the blast radius: `multiplier − 1` times their mean rate.
    Surge { multiplier: f64 },
    /// Extra jobs at `rate_per_s` whose prompts are `prompt_tokens` long.
    LongContext { rate_per_s: f64, prompt_tokens: u32 },
    /// `workers` slots of each backend in the blast radius are held by a malformed prompt.
    Stall { workers: u32 },
    /// `replicas` serving replicas of each GPU pool in the blast radius crash at the fault's
    /// start (lowest index first); they come back through the pool's own repair and cold start.
    ReplicaKill { replicas: u32 },
}

impl FaultKind {
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Outage(_) => "provider_outage",
            FaultKind::Partition(_) => "partition",
            FaultKind::Latency { .. } => "latency",
            FaultKind::Corruption { .. } => "corruption",
            FaultKind::Surge { .. } => "traffic_surge",
            FaultKind::LongContext { .. } => "long_context_burst",
            FaultKind::Stall { .. } => "worker_stall",
            FaultKind::ReplicaKill { .. } => "replica_kill",
        }
    }
}

/// What an attempt that starts now suffers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Injected {
    pub outage: Option<OutageMode>,
    pub add: Time,
    pub multiplier: f64,
}

impl Injected {
    pub const NONE: Injected = Injected {
        outage: None,
        add: 0,
        multiplier: 1.0,
    };

    /// An attempt's latency under the injected delay.
    pub fn stretch(&self, t: Time) -> Time {
        if self.multiplier == 1.0 && self.add == 0 {
            return t;
        }
        let scaled = (t as f64 * self.multiplier).round();
        let scaled = if scaled >= Time::MAX as f64 {
            Time::MAX
        } else {
            scaled.max(0.0) as Time
        };
        scaled.saturating_add(self.add)
    }
}

/// How an experiment ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    /// Its start is still ahead.
    Pending,
    Running,
    Completed,
    /// The safety gate tripped at `at` with this burn rate.
    Aborted {
        at: Time,
        burn_rate: f64,
    },
    /// The steady state did not hold before the method: nothing was injected.
    NotRun,
}

/// Good and total counts of one probe window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Counts {
    good: u64,
    total: u64,
}

impl Counts {
    fn add(&mut self, good: bool) {
        self.total += 1;
        self.good += u64::from(good);
    }

    fn sli(&self) -> f64 {
        if self.total == 0 {
            f64::NAN
        } else {
            self.good as f64 / self.total as f64
        }
    }

    /// good/total ≥ objective − tolerance, exactly; an empty window never holds.
    fn holds(&self, objective: Objective, tolerance_ppm: u64) -> bool {
        let need = objective.ppm().saturating_sub(tolerance_ppm) as u128;
        self.total > 0 && self.good as u128 * PPM as u128 >= need * self.total as u128
    }
}

#[derive(Debug, Clone)]
struct ExpState {
    status: Status,
    /// When the method ended (completed or aborted); `None` while pending or running.
    end: Option<Time>,
    before: Vec<Counts>,
    after: Vec<Counts>,
    during: Counts,
    gate: Option<RollingCounts>,
    /// When the first fault went in, and the first fallback answer after it.
    first_fault: Option<Time>,
    first_fallback: Option<Time>,
}

/// The per-replication state of every experiment.
pub struct ChaosState {
    pub(crate) config: ChaosConfig,
    exps: Vec<ExpState>,
    /// Every fault, flattened in experiment order: (experiment, fault).
    pub(crate) faults: Vec<(usize, usize)>,
    /// Whether each flattened fault is injected now.
    pub(crate) active: Vec<bool>,
    /// Flattened indices of the active faults that touch attempts or answers.
    live: Vec<usize>,
    /// Per flattened fault: when its next extra arrival is due (surges, long-context bursts).
    pub(crate) next_arrival: Vec<Time>,
    /// A long-context job's prompt, handed to the call the world is about to start.
    pub(crate) pending_prompt: Option<u32>,
    /// Per flattened fault: when it went in (for the ground-truth fault windows).
    pub(crate) since: Vec<Time>,
    /// The SLOs' indicators and filters, for classifying calls.
    slos: Vec<SloView>,
    run_counts: Vec<Counts>,
    /// Blast-radius draws, corruption draws and extra arrivals.
    pub(crate) rng: RandomStream,
    start: Time,
    /// Every experiment is over, probe windows included: `record` only counts the run totals.
    settled: bool,
}

#[derive(Debug, Clone)]
struct SloView {
    ratio: Option<RatioSli>,
    objective: Objective,
    window: Time,
    tenants: Vec<bool>,
    routes: Vec<bool>,
}

impl SloView {
    fn classify(&self, tenant: u16, route: u16, f: &CallFacts) -> Option<bool> {
        let pass = |ok: &[bool], id: u16| ok.is_empty() || ok.get(id as usize) == Some(&true);
        if !pass(&self.tenants, tenant) || !pass(&self.routes, route) {
            return None;
        }
        self.ratio.as_ref()?.classify(f)
    }
}

impl ChaosState {
    /// The running state of `config`; `slos`, `tenants` and `routes` are the world's, `start`
    /// the end of the warm-up (the impact's measured span starts there).
    pub fn new(
        config: &ChaosConfig,
        slos: &[SloConfig],
        tenants: &[&str],
        routes: &[&str],
        start: Time,
        rng: RandomStream,
    ) -> Result<ChaosState, String> {
        let resolve = |names: &[String], known: &[&str]| -> Vec<bool> {
            if names.is_empty() {
                return Vec::new();
            }
            known.iter().map(|k| names.iter().any(|n| n == k)).collect()
        };
        let views = slos
            .iter()
            .map(|s| SloView {
                ratio: match &s.indicator {
                    Indicator::Ratio(r) => Some(r.clone()),
                    Indicator::Threshold(_) => None,
                },
                objective: s.objective,
                window: s.window.length(),
                tenants: resolve(&s.tenants, tenants),
                routes: resolve(&s.routes, routes),
            })
            .collect::<Vec<_>>();
        let mut exps = Vec::with_capacity(config.experiments.len());
        let mut faults = Vec::new();
        for (e, x) in config.experiments.iter().enumerate() {
            let needs_ratio = x.probes.iter().map(|p| p.slo).chain([x.slo]);
            for s in needs_ratio {
                match views.get(s) {
                    Some(v) if v.ratio.is_some() => {}
                    _ => {
                        return Err(format!(
                            "experiment `{}`: SLO {s} is not a ratio SLO",
                            x.name
                        ));
                    }
                }
            }
            let gate = match x.gate {
                None => None,
                Some(g) => {
                    // Evaluations fall on start + k·interval: slots are aligned to the start.
                    let back = (x.start / g.interval).min(g.window / g.interval);
                    let origin = x.start - back * g.interval;
                    Some(
                        RollingCounts::new(origin, g.interval, &[g.window])
                            .map_err(|m| format!("experiment `{}`: {m}", x.name))?,
                    )
                }
            };
            exps.push(ExpState {
                status: Status::Pending,
                end: None,
                before: vec![Counts::default(); x.probes.len()],
                after: vec![Counts::default(); x.probes.len()],
                during: Counts::default(),
                gate,
                first_fault: None,
                first_fallback: None,
            });
            for f in 0..x.faults.len() {
                faults.push((e, f));
            }
        }
        let n = faults.len();
        Ok(ChaosState {
            config: config.clone(),
            exps,
            faults,
            active: vec![false; n],
            live: Vec::with_capacity(n),
            next_arrival: vec![Time::MAX; n],
            pending_prompt: None,
            since: vec![0; n],
            run_counts: vec![Counts::default(); views.len()],
            slos: views,
            rng,
            start,
            settled: false,
        })
    }

    pub(crate) fn fault(&self, index: usize) -> &FaultConfig {
        let (e, f) = self.faults[index];
        &self.config.experiments[e].faults[f]
    }

    /// Whether an experiment's method is under way (its faults may act).
    pub(crate) fn running(&self, experiment: usize) -> bool {
        self.exps[experiment].status == Status::Running
    }

    /// What an attempt of `tenant` starting now at `backend` suffers.
    #[inline]
    pub fn on_attempt(&mut self, backend: u16, tenant: u16) -> Injected {
        let mut out = Injected::NONE;
        for &i in &self.live {
            let (e, f) = self.faults[i];
            let fault = &self.config.experiments[e].faults[f];
            if !fault.radius.covers(backend, tenant) {
                continue;
            }
            match fault.kind {
                FaultKind::Outage(mode) | FaultKind::Partition(mode)
                    if out.outage.is_none() && draw(&mut self.rng, fault.radius.share) =>
                {
                    out.outage = Some(mode);
                }
                FaultKind::Latency { add, multiplier }
                    if draw(&mut self.rng, fault.radius.share) =>
                {
                    out.add = out.add.saturating_add(add);
                    out.multiplier *= multiplier;
                }
                _ => {}
            }
        }
        out
    }

    /// Whether a good answer from `backend` to `tenant` is corrupted, and into which category.
    #[inline]
    pub fn corrupt(&mut self, backend: u16, tenant: u16) -> Option<u8> {
        for &i in &self.live {
            let (e, f) = self.faults[i];
            let fault = &self.config.experiments[e].faults[f];
            if let FaultKind::Corruption {
                probability,
                category,
            } = fault.kind
                && fault.radius.covers(backend, tenant)
                && self.rng.bernoulli(probability * fault.radius.share)
            {
                return Some(category);
            }
        }
        None
    }

    /// A call answered by a fallback backend at `now`.
    pub fn fallback_answered(&mut self, now: Time) {
        for x in &mut self.exps {
            if x.status == Status::Running
                && x.first_fallback.is_none()
                && x.first_fault.is_some_and(|t| now >= t)
            {
                x.first_fallback = Some(now);
            }
        }
    }

    /// A finished call: probes, the gates' windows, the impact counts.
    pub fn record(&mut self, now: Time, tenant: u16, route: u16, facts: &CallFacts) {
        for (s, v) in self.slos.iter().enumerate() {
            if now >= self.start
                && let Some(good) = v.classify(tenant, route, facts)
            {
                self.run_counts[s].add(good);
            }
        }
        if self.settled {
            return;
        }
        for (x, cfg) in self.exps.iter_mut().zip(&self.config.experiments) {
            let w = cfg.probe_window;
            for (i, p) in cfg.probes.iter().enumerate() {
                let in_before = now < cfg.start && now >= cfg.start.saturating_sub(w);
                let in_after = x.end.is_some_and(|e| now >= e && now < e.saturating_add(w));
                if (in_before || in_after)
                    && let Some(good) = self.slos[p.slo].classify(tenant, route, facts)
                {
                    if in_before {
                        x.before[i].add(good);
                    } else {
                        x.after[i].add(good);
                    }
                }
            }
            let Some(good) = self.slos[cfg.slo].classify(tenant, route, facts) else {
                continue;
            };
            if x.status == Status::Running {
                x.during.add(good);
            }
            if let Some(g) = &mut x.gate
                && now >= g.next_boundary().saturating_sub(g.interval())
                && matches!(x.status, Status::Pending | Status::Running)
            {
                while g.next_boundary() <= now {
                    g.close_slot();
                }
                g.add(u64::from(good), 1);
            }
        }
        // Once every experiment has ended (or did not run) and its probe window after is over,
        // nothing above can change again: later calls only count towards the SLOs' run totals.
        self.settled = self
            .exps
            .iter()
            .zip(&self.config.experiments)
            .all(|(x, cfg)| {
                !matches!(x.status, Status::Pending | Status::Running)
                    && x.end
                        .is_none_or(|e| now >= e.saturating_add(cfg.probe_window))
            });
    }

    /// The method of experiment `e` is due: checks the steady state. Returns whether it runs.
    pub(crate) fn begin(&mut self, e: usize) -> bool {
        let cfg = &self.config.experiments[e];
        let x = &mut self.exps[e];
        let holds = cfg
            .probes
            .iter()
            .zip(&x.before)
            .all(|(p, c)| c.holds(self.slos[p.slo].objective, p.tolerance_ppm));
        x.status = if holds {
            Status::Running
        } else {
            Status::NotRun
        };
        holds
    }

    /// A fault went in at `now`.
    pub(crate) fn fault_began(&mut self, now: Time, index: usize) {
        let (e, _) = self.faults[index];
        self.active[index] = true;
        self.since[index] = now;
        if matches!(
            self.fault(index).kind,
            FaultKind::Outage(_)
                | FaultKind::Partition(_)
                | FaultKind::Latency { .. }
                | FaultKind::Corruption { .. }
        ) {
            self.live.push(index);
        }
        self.exps[e].first_fault.get_or_insert(now);
    }

    /// A fault was rolled back.
    pub(crate) fn fault_ended(&mut self, index: usize) {
        self.active[index] = false;
        self.next_arrival[index] = Time::MAX;
        self.live.retain(|&i| i != index);
    }

    /// The method of experiment `e` ended at `now` (all its faults are over).
    pub(crate) fn complete(&mut self, now: Time, e: usize) {
        let x = &mut self.exps[e];
        if x.status == Status::Running {
            x.status = Status::Completed;
            x.end = Some(now);
        }
    }

    /// A gate evaluation of experiment `e` at `now`: whether it trips (the world then rolls the
    /// faults back and calls [`abort`](Self::abort)).
    pub(crate) fn gate_trips(&mut self, now: Time, e: usize) -> Option<f64> {
        let cfg = &self.config.experiments[e];
        let gate = cfg.gate?;
        let x = &mut self.exps[e];
        if x.status != Status::Running {
            return None;
        }
        let counts = x.gate.as_mut()?;
        while counts.next_boundary() <= now {
            counts.close_slot();
        }
        let w: WindowCounts = counts.window(0);
        let budget = self.slos[cfg.slo].objective.budget_ppm();
        burn_exceeds(w, gate.max_burn_rate, budget).then(|| burn_rate(w, budget))
    }

    pub(crate) fn abort(&mut self, now: Time, e: usize, burn_rate: f64) {
        let x = &mut self.exps[e];
        x.status = Status::Aborted { at: now, burn_rate };
        x.end = Some(now);
    }

    /// Experiment `e`'s status.
    pub fn status(&self, e: usize) -> Status {
        self.exps[e].status
    }

    /// Appends the journal of every experiment as metrics, in a fixed order, for experiment
    /// `X`: `chaos.X.ran` (1 when the method started), `.aborted`, `.aborted_at_s` (NaN: not
    /// aborted), `.abort_burn_rate`, `.gate_limit`, `.method_s` (how long faults could act),
    /// `.steady_before` and `.steady_after` (1 held, 0 deviated; after is NaN when not run),
    /// `.sli_before.SLO` and `.sli_after.SLO` per probe, `.bad_calls` and `.budget_burned`
    /// during the method, `.fallback_s` and `.fallback_within_sla` (NaN without a fallback
    /// answer, or without a `fallback_sla`).
    pub fn push_metrics(&self, m: &mut MetricSet, end: Time, slo_names: &[String]) {
        let span = end.saturating_sub(self.start);
        for (x, cfg) in self.exps.iter().zip(&self.config.experiments) {
            let p = CHAOS.entity_name(&cfg.name);
            let ran = matches!(x.status, Status::Completed | Status::Aborted { .. })
                || x.status == Status::Running;
            let (aborted, at, burn) = match x.status {
                Status::Aborted { at, burn_rate } => (1.0, as_secs_f64(at), burn_rate),
                _ => (0.0, f64::NAN, f64::NAN),
            };
            m.push(CHAOS.metric(&cfg.name, CHAOS_RAN), f64::from(u8::from(ran)));
            m.push(CHAOS.metric(&cfg.name, CHAOS_ABORTED), aborted);
            m.push(CHAOS.metric(&cfg.name, CHAOS_ABORTED_AT_S), at);
            m.push(CHAOS.metric(&cfg.name, CHAOS_ABORT_BURN_RATE), burn);
            m.push(
                CHAOS.metric(&cfg.name, CHAOS_GATE_LIMIT),
                cfg.gate
                    .map_or(f64::NAN, |g| g.max_burn_rate as f64 / BURN_UNIT as f64),
            );
            let method_end = x.end.unwrap_or(if ran { end } else { cfg.start }).min(end);
            m.push(
                format!("{p}.method_s"),
                as_secs_f64(method_end.saturating_sub(cfg.start)),
            );
            let judge = |counts: &[Counts]| {
                cfg.probes
                    .iter()
                    .zip(counts)
                    .all(|(pr, c)| c.holds(self.slos[pr.slo].objective, pr.tolerance_ppm))
            };
            m.push(
                CHAOS.metric(&cfg.name, CHAOS_STEADY_BEFORE),
                f64::from(u8::from(judge(&x.before))),
            );
            m.push(
                CHAOS.metric(&cfg.name, CHAOS_STEADY_AFTER),
                if ran {
                    f64::from(u8::from(judge(&x.after)))
                } else {
                    f64::NAN
                },
            );
            for (i, pr) in cfg.probes.iter().enumerate() {
                let name = slo_names.get(pr.slo).map_or("?", String::as_str);
                m.push(format!("{p}.sli_before.{name}"), x.before[i].sli());
                m.push(
                    format!("{p}.sli_after.{name}"),
                    if ran { x.after[i].sli() } else { f64::NAN },
                );
            }
            let bad = x.during.total - x.during.good;
            m.push(CHAOS.metric(&cfg.name, CHAOS_BAD_CALLS), bad as f64);
            let v = &self.slos[cfg.slo];
            let run = self.run_counts[cfg.slo].total;
            let budget = v.objective.budget_ppm() as f64 / PPM as f64;
            let per_window = if span == 0 {
                0.0
            } else {
                run as f64 * v.window as f64 / span as f64
            };
            m.push(
                CHAOS.metric(&cfg.name, CHAOS_BUDGET_BURNED),
                if per_window > 0.0 {
                    bad as f64 / (budget * per_window)
                } else {
                    0.0
                },
            );
            let fallback = match (x.first_fault, x.first_fallback) {
                (Some(f), Some(b)) => Some(b - f),
                _ => None,
            };
            m.push(
                CHAOS.metric(&cfg.name, CHAOS_FALLBACK_S),
                fallback.map_or(f64::NAN, as_secs_f64),
            );
            m.push(
                CHAOS.metric(&cfg.name, CHAOS_FALLBACK_WITHIN_SLA),
                match (cfg.fallback_sla, ran) {
                    (Some(sla), true) => f64::from(u8::from(fallback.is_some_and(|t| t <= sla))),
                    _ => f64::NAN,
                },
            );
        }
    }
}

/// One Bernoulli draw for a share below 1; none (and no stream advance) for the whole traffic.
#[inline]
fn draw(rng: &mut RandomStream, share: f64) -> bool {
    share >= 1.0 || rng.bernoulli(share)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;
    use crate::slo::{AlertingConfig, Budgeting, SloWindow};

    fn slo() -> SloConfig {
        SloConfig {
            name: "availability".into(),
            indicator: Indicator::Ratio(RatioSli::availability()),
            tenants: vec![],
            routes: vec![],
            workflow: None,
            objective: Objective::from_ppm(990_000).unwrap(),
            window: SloWindow::Rolling(30 * 86_400 * sim_core::NANOS_PER_SEC),
            budgeting: Budgeting::Occurrences,
            alerting: AlertingConfig::default(),
            incident_window: crate::slo::DEFAULT_INCIDENT_WINDOW,
        }
    }

    fn facts(ok: bool) -> CallFacts {
        CallFacts {
            outcome: if ok {
                Outcome::Correct
            } else {
                Outcome::Failed
            },
            latency: 1,
            ttft: None,
            cost_usd: 0.0,
        }
    }

    const S: Time = sim_core::NANOS_PER_SEC;

    fn experiment(gate: Option<SafetyGate>) -> ChaosConfig {
        ChaosConfig {
            experiments: vec![ExperimentConfig {
                name: "x".into(),
                start: 600 * S,
                slo: 0,
                probes: vec![Probe {
                    slo: 0,
                    tolerance_ppm: 0,
                }],
                probe_window: 60 * S,
                faults: vec![],
                gate,
                fallback_sla: None,
            }],
        }
    }

    /// The running state of `cfg` for one tenant `t` on one route `r`, with the test SLO.
    fn state(cfg: &ChaosConfig) -> ChaosState {
        ChaosState::new(cfg, &[slo()], &["t"], &["r"], 0, RandomStream::from_seed(1)).unwrap()
    }

    #[test]
    fn the_gate_trips_at_the_first_evaluation_past_the_limit() {
        // One call per second, all good until 600 s, all bad from then on. Objective 99%
        // (budget 1%), limit 10× → more than 10% bad over the trailing 100 s: bad calls in
        // [t − 100, t) are t − 600, so the share exceeds 10% once t − 600 > 10, i.e. the first
        // evaluation strictly after 610 s. Evaluations every 5 s: 615 s.
        let gate = SafetyGate {
            max_burn_rate: 10 * BURN_UNIT,
            window: 100 * S,
            interval: 5 * S,
        };
        let cfg = experiment(Some(gate));
        let mut c = state(&cfg);
        let mut tripped = None;
        for s in 0..700u64 {
            let now = s * S;
            if now == 600 * S {
                assert!(c.begin(0), "steady before the method");
            }
            if now > 600 * S && (now - 600 * S).is_multiple_of(5 * S) {
                // Evaluations run before the calls completing at the same instant.
                if let Some(b) = c.gate_trips(now, 0) {
                    tripped = Some((now, b));
                    c.abort(now, 0, b);
                    break;
                }
            }
            c.record(now, 0, 0, &facts(now < 600 * S));
        }
        let (at, burn) = tripped.expect("the gate trips");
        assert_eq!(at, 615 * S);
        // [515, 615): 15 bad of 100 → 15% / 1% = 15×.
        assert!((burn - 15.0).abs() < 1e-9, "{burn}");
    }

    #[test]
    fn a_failed_steady_state_keeps_the_method_from_running() {
        let cfg = experiment(None);
        let mut c = state(&cfg);
        // 5% failures in the probe window: below 99% − 0.
        for s in 540..600u64 {
            c.record(s * S, 0, 0, &facts(s % 20 != 0));
        }
        assert!(!c.begin(0));
        assert_eq!(c.status(0), Status::NotRun);
    }

    #[test]
    fn an_empty_probe_window_is_no_evidence_of_steadiness() {
        let cfg = experiment(None);
        let mut c = state(&cfg);
        assert!(!c.begin(0));
    }

    #[test]
    fn latency_injection_stretches_then_adds() {
        let i = Injected {
            outage: None,
            add: 2 * S,
            multiplier: 3.0,
        };
        assert_eq!(i.stretch(S), 5 * S);
        assert_eq!(Injected::NONE.stretch(7), 7);
    }
}
