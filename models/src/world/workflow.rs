//! The world's side of workflows (`crate::workflow`): executions of a tenant's workflow, each
//! activity attempt a job on the request path (or a checkpointing compute job the worker runs
//! itself), Temporal's retries and timeouts, worker crashes with or without durable execution,
//! and the dead-letter queue.
//!
//! Hooks elsewhere are few: an arrival of a workflow tenant starts an execution
//! (`start_workflow`), a job that belongs to an activity attempt reports its end
//! (`workflow_job_ended`, from `job::complete`), and one event kind, [`Event::Workflow`],
//! carries every timer of an execution to [`World::on_workflow`]. Timers are cancelled lazily:
//! each kind's due time is kept on the execution, and an event whose time is no longer the one
//! kept is dropped.

use super::World;
use crate::config::TenantId;
use crate::event::{Event, WorkflowTimer};
use crate::metrics::Outcome;
use crate::workflow::stats::WorkflowStats;
use crate::workflow::{ActivityKind, WorkflowConfig};
use sim_core::{Key, RandomStream, Slab, Streams, Time};

/// Which activity attempt of which execution a job is: its end is stale unless `seq` is still
/// the execution's current attempt.
/// Packed into 8 bytes (the job's `Request` stays small): the run's slab index and
/// generation, the low 8 bits of the attempt's id, and the activity (at most 64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WorkflowLink {
    run: u32,
    generation: u16,
    seq: u8,
    activity: u8,
}

impl WorkflowLink {
    /// A job that is no activity attempt.
    pub(super) const NONE: WorkflowLink = WorkflowLink {
        run: u32::MAX,
        generation: 0,
        seq: 0,
        activity: 0,
    };

    pub(super) fn get(self) -> Option<WorkflowLink> {
        (self.run != u32::MAX).then_some(self)
    }

    /// How many times longer this attempt's prompt is at `now` under its activity's prompt
    /// update (1 before it, or without one).
    pub(super) fn prompt_multiplier(self, flow: Option<&WorkflowConfig>, now: Time) -> f64 {
        let update = self
            .get()
            .and(flow)
            .and_then(|f| f.activities.get(self.activity as usize))
            .and_then(|a| a.prompt_update);
        match update {
            Some((at, m)) if now >= at => m,
            _ => 1.0,
        }
    }
}

/// One execution of a workflow.
struct Run {
    tenant: TenantId,
    arrived: Time,
    /// When the execution last started over from its first activity.
    run_started: Time,
    workflow_attempt: u32,
    activity: u16,
    /// Attempts of the current activity so far.
    attempt: u32,
    /// When the current activity was first scheduled, and its current attempt started.
    scheduled: Time,
    attempt_started: Time,
    /// The current attempt's id; `in_flight` while it runs.
    seq: u32,
    in_flight: bool,
    /// Due times of the pending timers (0: none).
    start_at: Time,
    close_at: Time,
    crash_at: Time,
    segment_at: Time,
    /// A compute activity: checkpointed segments, and whether the pending segment event is a
    /// checkpoint (else a node crash).
    segment: u64,
    segment_ok: bool,
    cost: f64,
    degraded: bool,
    /// Some activity's answer was wrong and accepted unnoticed.
    wrong: bool,
    /// Non-idempotent activities whose side effect has happened in this execution (bit per
    /// activity; workflows have at most 64).
    effects: u64,
}

/// Per workflow tenant: its statistics and its own streams.
struct Flows {
    stats: WorkflowStats,
    /// Worker crashes, and the compute jobs' node crashes.
    crash_rng: RandomStream,
    node_rng: RandomStream,
    /// Time between worker crashes, made once when the world is built (`None`: they don't).
    crashes: Option<sim_core::Sampler>,
}

/// Every execution in flight, and per tenant what its workflow did.
pub(super) struct Workflows {
    runs: Slab<Run>,
    tenants: Vec<Option<Flows>>,
}

impl Workflows {
    /// `None` when no tenant runs a workflow: the world then pays nothing for them.
    pub(super) fn build(config: &crate::WorldConfig, streams: &Streams) -> Option<Box<Workflows>> {
        if config.tenants.iter().all(|t| t.workflow.is_none()) {
            return None;
        }
        let tenants = config
            .tenants
            .iter()
            .map(|t| {
                t.workflow.as_ref().map(|w| {
                    let entity = format!("tenants.{}.workflow", t.name);
                    Flows {
                        stats: WorkflowStats::new(w),
                        crash_rng: streams.stream(&entity, "worker_crashes"),
                        node_rng: streams.stream(&entity, "node_crashes"),
                        crashes: w.crash_sampler(),
                    }
                })
            })
            .collect();
        Some(Box::new(Workflows {
            runs: Slab::new(),
            tenants,
        }))
    }

    /// The warm-up is over: statistics restart (executions in flight go on).
    pub(super) fn restart(&mut self, config: &crate::WorldConfig) {
        for (f, t) in self.tenants.iter_mut().zip(&config.tenants) {
            if let (Some(f), Some(w)) = (f, &t.workflow) {
                f.stats = WorkflowStats::new(w);
            }
        }
    }

    pub(super) fn push_metrics(
        &self,
        config: &crate::WorldConfig,
        horizon: Time,
        out: &mut sim_core::summary::MetricSet,
    ) {
        for (f, t) in self.tenants.iter().zip(&config.tenants) {
            if let (Some(f), Some(w)) = (f, &t.workflow) {
                f.stats.push_metrics(&t.name, w, horizon, out);
            }
        }
    }
}

fn answered(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Correct | Outcome::WrongAccepted | Outcome::Degraded
    )
}

/// Why the world has its workflows wherever this code runs: it runs only for a workflow
/// tenant's arrival, an activity attempt's job, or a workflow timer, and `Workflows::build`
/// made them whenever some tenant runs a workflow.
const HAS_WORKFLOWS: &str = "workflow code runs only in a world with workflow tenants";
/// Why a tenant here runs a workflow: only its executions reach this code.
const IS_WORKFLOW_TENANT: &str = "an execution belongs to a tenant that runs a workflow";
/// Why an execution is still in the slab: these calls come from its own handlers (a timer
/// already checked against the slab, or the attempt's job end), before it is removed, and
/// nothing in between removes it.
const IS_LIVE: &str = "an execution's own handler reaches it before it is removed";

impl World<'_> {
    fn flow(&self, tenant: TenantId) -> &WorkflowConfig {
        self.config.tenants[tenant]
            .workflow
            .as_ref()
            .expect(IS_WORKFLOW_TENANT)
    }

    fn workflow_state(&mut self) -> &mut Workflows {
        self.workflows.as_mut().expect(HAS_WORKFLOWS)
    }

    fn flows(&mut self, tenant: TenantId) -> &mut Flows {
        self.workflow_state().tenants[tenant.index()]
            .as_mut()
            .expect(IS_WORKFLOW_TENANT)
    }

    fn run_mut(&mut self, run: Key) -> Option<&mut Run> {
        self.workflows.as_mut()?.runs.get_mut(run)
    }

    /// The execution `run`, which its caller knows to be live.
    fn live(&mut self, run: Key) -> &mut Run {
        self.run_mut(run).expect(IS_LIVE)
    }

    /// Removes the finished execution `run`, which its caller knows to be live.
    fn remove_run(&mut self, run: Key) -> Run {
        self.workflow_state().runs.remove(run).expect(IS_LIVE)
    }

    fn schedule_timer(&mut self, at: Time, run: Key, what: WorkflowTimer) {
        if at <= self.config.horizon {
            self.sched.schedule(
                at,
                Event::Workflow {
                    run: run.index,
                    generation: run.generation,
                    what,
                },
            );
        }
    }

    /// An arrival of a workflow tenant: a new execution starts its first activity.
    pub(super) fn start_workflow(&mut self, now: Time, tenant: TenantId) {
        let cfg = self.flow(tenant);
        let timeout = cfg.execution_timeout;
        let crashes = self.flows(tenant).crashes.clone();
        let flows = self.workflow_state();
        let run = flows.runs.insert(Run {
            tenant,
            arrived: now,
            run_started: now,
            workflow_attempt: 1,
            activity: 0,
            attempt: 0,
            scheduled: now,
            attempt_started: now,
            seq: 0,
            in_flight: false,
            start_at: 0,
            close_at: 0,
            crash_at: 0,
            segment_at: 0,
            segment: 0,
            segment_ok: false,
            cost: 0.0,
            degraded: false,
            wrong: false,
            effects: 0,
        });
        let f = self.flows(tenant);
        f.stats.started += 1;
        if let Some(s) = crashes {
            let at = now.saturating_add(super::to_time(s.sample(&mut f.crash_rng)));
            self.live(run).crash_at = at;
            self.schedule_timer(at, run, WorkflowTimer::Crash);
        }
        if let Some(t) = timeout {
            self.schedule_timer(now.saturating_add(t), run, WorkflowTimer::Execution);
        }
        self.start_attempt(now, run);
    }

    /// The next attempt of the execution's current activity. Its last act may end the
    /// execution (a job refused at once reports back synchronously), so nothing follows it.
    fn start_attempt(&mut self, now: Time, run: Key) {
        let r = self.live(run);
        r.attempt += 1;
        r.seq = r.seq.wrapping_add(1);
        r.attempt_started = now;
        r.in_flight = true;
        let (tenant, a, seq) = (r.tenant, r.activity, r.seq);
        let activity = &self.flow(tenant).activities[a as usize];
        let (close, kind) = (activity.start_to_close, activity.kind.clone());
        self.flows(tenant).stats.activities[a as usize].attempts += 1;
        if let Some(stc) = close {
            let at = now.saturating_add(stc);
            self.live(run).close_at = at;
            self.schedule_timer(at, run, WorkflowTimer::StartToClose);
        }
        match kind {
            ActivityKind::Call { step } => {
                let link = WorkflowLink {
                    run: run.index,
                    generation: run.generation,
                    seq: seq as u8,
                    activity: a as u8,
                };
                if !self.new_job_for(now, tenant, None, step, link) {
                    // Blocked at the gateway before it became a job: a shed attempt.
                    self.attempt_failed(now, run, Outcome::Shed.as_str());
                }
            }
            ActivityKind::Compute(_) => self.try_segment(now, run),
        }
    }

    /// A compute activity tries its next segment from `now`.
    fn try_segment(&mut self, now: Time, run: Key) {
        let r = self.live(run);
        let (tenant, a, k) = (r.tenant, r.activity, r.segment);
        let ActivityKind::Compute(c) = &self.flow(tenant).activities[a as usize].kind else {
            unreachable!("a compute activity")
        };
        let c = c.clone();
        let need = c
            .segment(k)
            .expect("a compute activity tries a segment only while one is left");
        let tried = c.try_segment(need, &mut self.flows(tenant).node_rng);
        let (ok, after) = match tried {
            Ok(t) => (true, t),
            Err(t) => (false, t),
        };
        let at = now.saturating_add(after);
        let r = self.live(run);
        r.attempt_started = now;
        r.segment_at = at;
        r.segment_ok = ok;
        self.schedule_timer(at, run, WorkflowTimer::Segment);
    }

    /// A job that was an activity attempt ended with `outcome`, having spent `cost`.
    pub(super) fn workflow_job_ended(
        &mut self,
        now: Time,
        link: WorkflowLink,
        outcome: Outcome,
        cost: f64,
    ) {
        let run = Key {
            index: link.run,
            generation: link.generation,
        };
        let activity = link.activity as u16;
        let Some(r) = self.run_mut(run) else {
            return;
        };
        r.cost += cost;
        let tenant = r.tenant;
        self.flows(tenant).stats.activities[activity as usize].cost_usd += cost;
        let idempotent = self.flow(tenant).activities[activity as usize].idempotent;
        if answered(outcome) && !idempotent {
            let r = self.live(run);
            let bit = 1u64 << (activity.min(63));
            let again = r.effects & bit != 0;
            r.effects |= bit;
            if again {
                self.flows(tenant).stats.activities[activity as usize].duplicate_effects += 1;
            }
        }
        let r = self.live(run);
        if r.seq as u8 != link.seq || !r.in_flight {
            return; // an attempt the execution gave up on (timeout, crash)
        }
        r.in_flight = false;
        r.close_at = 0;
        if answered(outcome) {
            r.wrong |= outcome == Outcome::WrongAccepted;
            let degraded = outcome == Outcome::Degraded;
            self.activity_done(now, run, degraded);
        } else {
            self.attempt_failed(now, run, outcome.as_str());
        }
    }

    /// The current activity completed: on to the next (at `now`, through a timer, as this may
    /// run inside another job's end), or the execution succeeded.
    fn activity_done(&mut self, now: Time, run: Key, degraded: bool) {
        let r = self.live(run);
        r.degraded |= degraded;
        let (tenant, a, since) = (r.tenant, r.activity, r.scheduled);
        self.flows(tenant).stats.activities[a as usize].completed(now - since);
        let last = a as usize + 1 == self.flow(tenant).activities.len();
        if last {
            let r = self.remove_run(run);
            let latency = now - r.arrived;
            self.flows(tenant)
                .stats
                .ended(now, latency, r.cost, Some(r.degraded));
            let outcome = if r.wrong {
                Outcome::WrongAccepted
            } else if r.degraded {
                Outcome::Degraded
            } else {
                Outcome::Correct
            };
            self.execution_ended(now, &r, outcome);
            return;
        }
        let r = self.live(run);
        r.activity += 1;
        r.attempt = 0;
        r.segment = 0;
        r.scheduled = now;
        r.start_at = now;
        self.schedule_timer(now, run, WorkflowTimer::Start);
    }

    /// The current attempt failed with `error_type`: retry it after the policy's interval if
    /// the policy and the schedule-to-close timeout allow, or the workflow fails.
    fn attempt_failed(&mut self, now: Time, run: Key, error_type: &str) {
        let r = &*self.live(run);
        let (tenant, a, attempt, scheduled) = (r.tenant, r.activity, r.attempt, r.scheduled);
        let activity = &self.flow(tenant).activities[a as usize];
        let retry_at = activity
            .retry
            .retries(attempt, error_type)
            .then(|| now.saturating_add(activity.retry.interval(attempt)))
            .filter(|&at| {
                activity
                    .schedule_to_close
                    .is_none_or(|s| at < scheduled.saturating_add(s))
            });
        self.flows(tenant).stats.activities[a as usize].failures += 1;
        match retry_at {
            Some(at) => {
                self.live(run).start_at = at;
                self.schedule_timer(at, run, WorkflowTimer::Start);
            }
            None => self.workflow_failed(now, run),
        }
    }

    /// An activity failed for good: the workflow's own retry policy starts it over, or the
    /// execution goes to the dead-letter queue.
    fn workflow_failed(&mut self, now: Time, run: Key) {
        let r = &*self.live(run);
        let (tenant, attempt, arrived) = (r.tenant, r.workflow_attempt, r.arrived);
        let cfg = self.flow(tenant);
        let at = now.saturating_add(cfg.retry.interval(attempt));
        let again = cfg.retry.retries(attempt, "activity_failed")
            && cfg
                .execution_timeout
                .is_none_or(|t| at < arrived.saturating_add(t));
        if again {
            let r = self.live(run);
            let lost = (now - r.run_started) as f64 / 1e9;
            r.workflow_attempt += 1;
            r.run_started = at;
            r.activity = 0;
            r.attempt = 0;
            r.segment = 0;
            r.scheduled = at;
            r.start_at = at;
            let s = &mut self.flows(tenant).stats;
            s.workflow_retries += 1;
            s.restarts += 1;
            s.lost_work_s += lost;
            self.schedule_timer(at, run, WorkflowTimer::Start);
        } else {
            self.dead_letter(now, run);
        }
    }

    /// The execution failed for good.
    fn dead_letter(&mut self, now: Time, run: Key) {
        let r = self.remove_run(run);
        let latency = now - r.arrived;
        self.flows(r.tenant).stats.ended(now, latency, r.cost, None);
        self.execution_ended(now, &r, Outcome::Failed);
    }

    /// An execution ended with `outcome` (completed, or `failed` into the dead-letter queue):
    /// the SLOs over its workflow count it as one unit (`SloConfig::workflow`).
    fn execution_ended(&mut self, now: Time, r: &Run, outcome: Outcome) {
        if let Some(tracker) = &mut self.slo {
            let facts = crate::slo::CallFacts {
                outcome,
                latency: now - r.arrived,
                ttft: None,
                cost_usd: r.cost,
            };
            tracker.record_execution(now, r.tenant.0, &facts);
            if let Some(rec) = &mut self.recorder {
                rec.alerts(now, |s| tracker.is_alerting(s));
            }
        }
    }

    /// Gives up on the attempt in flight, if any: its job (if still running) is left to end on
    /// its own, its result unread. Returns the time it had run.
    fn abandon(&mut self, now: Time, run: Key) -> Option<Time> {
        let r = self.run_mut(run)?;
        if !r.in_flight {
            return None;
        }
        r.in_flight = false;
        r.close_at = 0;
        r.segment_at = 0;
        Some(now - r.attempt_started)
    }

    pub(super) fn on_workflow(&mut self, now: Time, run: Key, what: WorkflowTimer) {
        let Some(r) = self.run_mut(run) else {
            return;
        };
        match what {
            WorkflowTimer::Start => {
                if r.start_at != now {
                    return;
                }
                r.start_at = 0;
                self.start_attempt(now, run);
            }
            WorkflowTimer::StartToClose => {
                if r.close_at != now || !r.in_flight {
                    return;
                }
                let tenant = r.tenant;
                let a = r.activity as usize;
                self.abandon(now, run);
                self.flows(tenant).stats.activities[a].timeouts += 1;
                self.attempt_failed(now, run, "start_to_close_timeout");
            }
            WorkflowTimer::Segment => {
                if r.segment_at != now || !r.in_flight {
                    return;
                }
                r.segment_at = 0;
                let tenant = r.tenant;
                if r.segment_ok {
                    r.segment += 1;
                    let (a, k) = (r.activity as usize, r.segment);
                    self.flows(tenant).stats.checkpoints += 1;
                    let ActivityKind::Compute(c) = &self.flow(tenant).activities[a].kind else {
                        unreachable!("a compute activity")
                    };
                    if c.segment(k).is_some() {
                        self.try_segment(now, run);
                    } else {
                        let r = self.live(run);
                        r.in_flight = false;
                        r.close_at = 0;
                        self.activity_done(now, run, false);
                    }
                } else {
                    // The node crashed: the work since the last checkpoint is lost; it comes
                    // back (crashing again meanwhile, perhaps) and tries the segment again.
                    let (a, lost) = (r.activity as usize, now - r.attempt_started);
                    let ActivityKind::Compute(c) = &self.flow(tenant).activities[a].kind else {
                        unreachable!("a compute activity")
                    };
                    let c = c.clone();
                    let f = self.flows(tenant);
                    f.stats.node_crashes += 1;
                    f.stats.lost_work_s += lost as f64 / 1e9;
                    let (down, more) = c.recover(&mut f.node_rng);
                    f.stats.node_crashes += more;
                    self.try_segment(now.saturating_add(down), run);
                }
            }
            WorkflowTimer::Crash => {
                if r.crash_at != now {
                    return;
                }
                self.worker_crash(now, run);
            }
            WorkflowTimer::Execution => {
                let (tenant, a, arrived) = (r.tenant, r.activity as usize, r.arrived);
                let limit = self.flow(tenant).execution_timeout;
                if limit.is_some_and(|t| arrived.saturating_add(t) == now) {
                    if self.abandon(now, run).is_some() {
                        self.flows(tenant).stats.activities[a].timeouts += 1;
                    }
                    self.dead_letter(now, run);
                }
            }
        }
    }

    /// The worker running the execution crashed. Durable: the execution resumes at its current
    /// activity once the worker is back and the attempt in flight is known lost (a missed
    /// heartbeat, or its start-to-close timeout), under the activity's retry policy. Not
    /// durable: it starts over from its first activity once the worker is back.
    fn worker_crash(&mut self, now: Time, run: Key) {
        let r = &*self.live(run);
        let tenant = r.tenant;
        let cfg = self.flow(tenant);
        let (durable, back) = (cfg.durable, now.saturating_add(cfg.worker_mttr));
        let f = self.flows(tenant);
        let crashes = f
            .crashes
            .clone()
            .expect("a crash timer is set only for a workflow whose workers crash");
        f.stats.worker_crashes += 1;
        let next = back.saturating_add(super::to_time(crashes.sample(&mut f.crash_rng)));
        let r = self.live(run);
        r.crash_at = next;
        let (started, activity, run_started) = (r.attempt_started, r.activity, r.run_started);
        self.schedule_timer(next, run, WorkflowTimer::Crash);
        let ran = self.abandon(now, run);
        if durable {
            self.flows(tenant).stats.resumes += 1;
            let Some(ran) = ran else {
                // Between attempts: the pending start waits for the worker.
                let r = self.live(run);
                if r.start_at != 0 && r.start_at < back {
                    r.start_at = back;
                    self.schedule_timer(back, run, WorkflowTimer::Start);
                }
                return;
            };
            self.flows(tenant).stats.lost_work_s += ran as f64 / 1e9;
            let a = &self.flow(tenant).activities[activity as usize];
            let (noticed, why) = match (a.heartbeat_timeout, a.start_to_close) {
                (Some(h), _) => (now.saturating_add(h), "heartbeat_timeout"),
                (None, Some(s)) => (started.saturating_add(s), "start_to_close_timeout"),
                (None, None) => (back, "start_to_close_timeout"),
            };
            self.flows(tenant).stats.activities[activity as usize].timeouts += 1;
            self.attempt_failed(noticed.clamp(now, self.config.horizon.max(now)), run, why);
            if let Some(r) = self.run_mut(run)
                && r.start_at != 0
                && r.start_at < back
            {
                r.start_at = back;
                self.schedule_timer(back, run, WorkflowTimer::Start);
            }
        } else {
            let f = self.flows(tenant);
            f.stats.restarts += 1;
            f.stats.lost_work_s += (now - run_started.min(now)) as f64 / 1e9;
            let r = self.live(run);
            r.run_started = back;
            r.activity = 0;
            r.attempt = 0;
            r.segment = 0;
            r.scheduled = back;
            r.start_at = back;
            self.schedule_timer(back, run, WorkflowTimer::Start);
        }
    }
}
