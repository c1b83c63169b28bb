//! What a tenant's workflow executions did, for the report: `workflow.TENANT.*` and
//! `workflow.TENANT.activity.NAME.*`. Emitted only for tenants that run a workflow, so
//! scenarios without one keep their metrics (and results digests) as they were.

use super::WorkflowConfig;
use sim_core::Time;
use sim_core::stats::{LatencyHistogram, Tally};
use sim_core::summary::MetricSet;

/// Per activity.
#[derive(Debug, Clone)]
pub struct ActivityStats {
    pub attempts: u64,
    pub failures: u64,
    pub timeouts: u64,
    /// Attempts whose side effect happened again (a non-idempotent activity run twice).
    pub duplicate_effects: u64,
    /// Activities completed: the time from scheduling to completion, retries included.
    pub latency: Tally,
    pub latency_hist: LatencyHistogram,
    /// The spend on the activity's attempts, abandoned ones included while their execution
    /// lasts (what the execution's cost adds up from).
    pub cost_usd: f64,
}

impl ActivityStats {
    fn new() -> ActivityStats {
        ActivityStats {
            attempts: 0,
            failures: 0,
            timeouts: 0,
            duplicate_effects: 0,
            latency: Tally::new(),
            latency_hist: LatencyHistogram::new(),
            cost_usd: 0.0,
        }
    }

    /// The activity completed `took` after it was first scheduled.
    pub fn completed(&mut self, took: Time) {
        self.latency.record(took as f64 / 1e9);
        self.latency_hist.record(took);
    }
}

/// Per workflow tenant.
#[derive(Debug, Clone)]
pub struct WorkflowStats {
    pub started: u64,
    pub succeeded: u64,
    /// Succeeded, but some activity answered through a fallback.
    pub degraded: u64,
    pub worker_crashes: u64,
    /// Executions that started over from the first activity (a non-durable crash, or a retry
    /// of the workflow).
    pub restarts: u64,
    /// Executions that resumed at their first incomplete activity after a crash.
    pub resumes: u64,
    pub workflow_retries: u64,
    /// Work done and then thrown away: activity time whose result was lost (seconds).
    pub lost_work_s: f64,
    pub node_crashes: u64,
    pub checkpoints: u64,
    /// The spend on every execution that ended (succeeded or failed for good), and its sum.
    pub cost: Tally,
    pub cost_total: f64,
    /// With a prompt update: when the first one takes effect, and the cost of the executions
    /// that arrived before it and after it.
    pub update_at: Option<Time>,
    pub cost_before: Tally,
    pub cost_after: Tally,
    pub latency: Tally,
    pub latency_hist: LatencyHistogram,
    /// Failed for good: the dead-letter queue, with when each landed there.
    pub dead_letters: Vec<Time>,
    pub activities: Vec<ActivityStats>,
}

impl WorkflowStats {
    pub fn new(cfg: &WorkflowConfig) -> WorkflowStats {
        WorkflowStats {
            started: 0,
            succeeded: 0,
            degraded: 0,
            worker_crashes: 0,
            restarts: 0,
            resumes: 0,
            workflow_retries: 0,
            lost_work_s: 0.0,
            node_crashes: 0,
            checkpoints: 0,
            cost: Tally::new(),
            cost_total: 0.0,
            update_at: cfg
                .activities
                .iter()
                .filter_map(|a| a.prompt_update.map(|(at, _)| at))
                .min(),
            cost_before: Tally::new(),
            cost_after: Tally::new(),
            latency: Tally::new(),
            latency_hist: LatencyHistogram::new(),
            dead_letters: Vec::new(),
            activities: vec![ActivityStats::new(); cfg.activities.len()],
        }
    }

    /// An execution ended: in success (`Some(degraded)`) or for good in the dead-letter queue.
    pub fn ended(&mut self, now: Time, latency: Time, cost: f64, success: Option<bool>) {
        self.cost.record(cost);
        self.cost_total += cost;
        if let Some(at) = self.update_at {
            if now - latency < at {
                self.cost_before.record(cost);
            } else {
                self.cost_after.record(cost);
            }
        }
        match success {
            Some(degraded) => {
                self.succeeded += 1;
                self.degraded += u64::from(degraded);
                self.latency.record(latency as f64 / 1e9);
                self.latency_hist.record(latency);
            }
            None => self.dead_letters.push(now),
        }
    }

    pub fn push_metrics(
        &self,
        tenant: &str,
        cfg: &WorkflowConfig,
        horizon: Time,
        out: &mut MetricSet,
    ) {
        let m = |what: &str| format!("workflow.{tenant}.{what}");
        let ended = self.succeeded + self.dead_letters.len() as u64;
        let share = |n: u64| {
            if ended == 0 {
                f64::NAN
            } else {
                n as f64 / ended as f64
            }
        };
        out.push(m("started"), self.started as f64);
        out.push(m("succeeded"), self.succeeded as f64);
        out.push(m("success_ratio"), share(self.succeeded));
        out.push(m("degraded"), self.degraded as f64);
        out.push(m("dlq"), self.dead_letters.len() as f64);
        out.push(m("dlq_share"), share(self.dead_letters.len() as u64));
        let oldest = self
            .dead_letters
            .first()
            .map_or(0.0, |&at| (horizon - at) as f64 / 1e9);
        out.push(m("dlq_oldest_age_s"), oldest);
        let latency = |t: &Tally| if t.count() == 0 { f64::NAN } else { t.mean() };
        out.push(m("latency_mean_s"), latency(&self.latency));
        let q = |p: f64| {
            if self.latency_hist.count() == 0 {
                f64::NAN
            } else {
                self.latency_hist.quantile_secs(p)
            }
        };
        out.push(m("latency_p50_s"), q(0.5));
        out.push(m("latency_p99_s"), q(0.99));
        out.push(m("cost_mean_usd"), latency(&self.cost));
        out.push(m("cost_usd"), self.cost_total);
        if self.update_at.is_some() {
            out.push(m("cost_mean_before_update_usd"), latency(&self.cost_before));
            out.push(m("cost_mean_after_update_usd"), latency(&self.cost_after));
        }
        out.push(m("worker_crashes"), self.worker_crashes as f64);
        out.push(m("restarts"), self.restarts as f64);
        out.push(m("resumes"), self.resumes as f64);
        out.push(m("retries"), self.workflow_retries as f64);
        out.push(m("lost_work_s"), self.lost_work_s);
        let duplicates: u64 = self.activities.iter().map(|a| a.duplicate_effects).sum();
        out.push(m("duplicate_effects"), duplicates as f64);
        if self.node_crashes > 0 || self.checkpoints > 0 {
            out.push(m("node_crashes"), self.node_crashes as f64);
            out.push(m("checkpoints"), self.checkpoints as f64);
        }
        for (a, s) in cfg.activities.iter().zip(&self.activities) {
            let m = |what: &str| format!("workflow.{tenant}.activity.{}.{what}", a.name);
            out.push(m("attempts"), s.attempts as f64);
            out.push(m("failures"), s.failures as f64);
            out.push(m("timeouts"), s.timeouts as f64);
            out.push(m("duplicate_effects"), s.duplicate_effects as f64);
            out.push(m("latency_mean_s"), latency(&s.latency));
            let p99 = if s.latency_hist.count() == 0 {
                f64::NAN
            } else {
                s.latency_hist.quantile_secs(0.99)
            };
            out.push(m("latency_p99_s"), p99);
            out.push(m("cost_usd"), s.cost_usd);
        }
    }
}
