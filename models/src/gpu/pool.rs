//! A self-hosted GPU pool as a backend: its replicas, which of them serve, the router in front of
//! them, crashes and restarts, autoscaling, and the pool's own measurements.
//!
//! The pool decides and records; the world schedules. Every change to a replica goes through
//! [`Pool::touch`], which brings the pool's time-weighted statistics up to date for that replica
//! and tells the world whether the replica's next change moved (so it schedules one event for
//! it). Nothing here allocates after construction: completions and drained requests come back
//! through buffers the pool owns and the world borrows.

use sim_core::series::{BucketGrid, CountSeries, LevelSeries, QuantileSeries};
use sim_core::stats::{LatencyHistogram, Tally, TimeWeighted};
use sim_core::summary::MetricSet;
use sim_core::{RandomStream, Sampler, Time};

use super::autoscale::{AutoscaleConfig, Autoscaler, PoolMetrics, ScaleAction};
use super::kv::blocks_for;
use super::prefix::PromptKey;
use super::replica::{Completion, Drained, Replica, ReplicaConfig};
use super::routing::{Router, RoutingPolicy};
use crate::workload::SharedPrefix;

/// What happens to the requests on a replica when it crashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnCrash {
    /// They fail with a connection reset, which the caller's retry policy may retry.
    Fail,
    /// The pool sends them to another replica (or back to the gateway queue), from scratch.
    Requeue,
}

/// Replica failures as an up/down process: time to failure, then time to repair (detection and
/// rescheduling), after which the replica cold-starts.
#[derive(Debug, Clone, PartialEq)]
pub struct CrashProcess {
    pub mtbf: Sampler,
    pub mttr: Sampler,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PoolAutoscale {
    pub config: AutoscaleConfig,
    /// How often the autoscaler looks at the pool.
    pub interval: Time,
}

/// A GPU pool backend's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuPoolConfig {
    pub replica: ReplicaConfig,
    /// Replicas serving at time 0 (the autoscaler's starting point, when there is one).
    pub replicas: u32,
    pub gpus_per_replica: u32,
    pub usd_per_gpu_hour: f64,
    pub routing: RoutingPolicy,
    pub crashes: Option<CrashProcess>,
    /// From a restart (after a crash) to serving: model load and warm-up.
    pub cold_start: Time,
    pub on_crash: OnCrash,
    pub autoscale: Option<PoolAutoscale>,
    /// Admission control: the most KV blocks the requests sent to one replica may need at their
    /// longest (prompt plus output), summed. A call that fits under no replica's cap is turned
    /// away as `overloaded`, so replicas never have to preempt. `None`: no cap.
    pub kv_admission_blocks: Option<u64>,
}

impl GpuPoolConfig {
    /// Replicas the pool can ever have.
    pub fn max_replicas(&self) -> u32 {
        self.autoscale
            .as_ref()
            .map_or(self.replicas, |a| a.config.max_replicas.max(self.replicas))
    }

    /// Most tokens (prompt + output) one call may have: what fits in one replica's KV cache.
    pub fn context_tokens(&self) -> u64 {
        self.replica.kv_blocks as u64 * super::kv::BLOCK_TOKENS as u64
    }
}

/// What a replica is doing, from the pool's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Not provisioned: no GPU held, not billed.
    Stopped,
    /// Ordered by the autoscaler, loading.
    Provisioning,
    Serving,
    /// Finishing its requests before it stops; receives no new ones.
    Draining,
    /// Crashed; repaired and cold-started later. Still holds (and bills) its GPUs.
    Crashed,
}

/// The pool's measurements over the measured window.
#[derive(Debug, Clone)]
struct PoolStats {
    ttft: LatencyHistogram,
    tpot: LatencyHistogram,
    e2e: LatencyHistogram,
    sojourn: Tally,
    queue_wait: Tally,
    completed: u64,
    output_tokens: u64,
    preemptions: u64,
    preempted_requests: u64,
    /// Restarts of finished calls (one per preemption), and the most any call had.
    restarts: u64,
    restarts_max: u32,
    reprefill_tokens: u64,
    crashes: u64,
    crash_failed: u64,
    crash_requeued: u64,
    scale_ups: u64,
    scale_downs: u64,
    /// Requests on replicas (waiting or running).
    in_pool: TimeWeighted,
    /// KV in use over KV of up replicas, in ppm.
    kv_ppm: TimeWeighted,
    kv_series: LevelSeries,
    kv_level: i64,
    /// Replicas holding GPUs (provisioning, serving, draining or crashed).
    provisioned: TimeWeighted,
    provisioned_series: LevelSeries,
    preemption_series: CountSeries,
    /// Completed calls per bucket of their first token, and the sum of their TTFTs in
    /// microseconds (nanoseconds could overflow a busy bucket): the mean TTFT over time.
    ttft_count_series: CountSeries,
    ttft_sum_us_series: CountSeries,
    /// The same calls' TTFTs binned per bucket, for the p99 over time (a tail the mean hides).
    ttft_tail_series: QuantileSeries,
    /// Replica-nanoseconds spent at each batch size (index = sequences running), up replicas only.
    batch_time: Vec<u128>,
    /// Prefix-cache lookups and hits (tokens) of all replicas at the end of the warm-up.
    prefix_at_start: (u64, u64),
    start: Time,
    grid: BucketGrid,
}

impl PoolStats {
    fn new(grid: BucketGrid) -> PoolStats {
        PoolStats {
            ttft: LatencyHistogram::new(),
            tpot: LatencyHistogram::new(),
            e2e: LatencyHistogram::new(),
            sojourn: Tally::new(),
            queue_wait: Tally::new(),
            completed: 0,
            output_tokens: 0,
            preemptions: 0,
            preempted_requests: 0,
            restarts: 0,
            restarts_max: 0,
            reprefill_tokens: 0,
            crashes: 0,
            crash_failed: 0,
            crash_requeued: 0,
            scale_ups: 0,
            scale_downs: 0,
            in_pool: TimeWeighted::new(0),
            kv_ppm: TimeWeighted::new(0),
            kv_series: LevelSeries::new(grid),
            kv_level: 0,
            provisioned: TimeWeighted::new(0),
            provisioned_series: LevelSeries::new(grid),
            preemption_series: CountSeries::new(grid),
            ttft_count_series: CountSeries::new(grid),
            ttft_sum_us_series: CountSeries::new(grid),
            ttft_tail_series: QuantileSeries::new(grid),
            batch_time: Vec::new(),
            prefix_at_start: (0, 0),
            start: 0,
            grid,
        }
    }
}

/// Per replica: what the statistics last saw of it.
#[derive(Debug, Clone, Copy)]
struct Seen {
    at: Time,
    batch: u32,
    used: u32,
    up: bool,
    preemptions: u64,
}

/// A pool's running state.
pub(crate) struct Pool {
    pub replicas: Vec<Replica>,
    role: Vec<Role>,
    /// Bumped whenever a replica's role changes, so pending crash and repair events for an
    /// earlier life of the replica are dropped.
    pub epoch: Vec<u16>,
    /// KV blocks the requests on each replica may need at their longest, for the admission cap.
    committed: Vec<u64>,
    seen: Vec<Seen>,
    kv_used: u64,
    kv_up: u64,
    router: Router,
    autoscaler: Option<Autoscaler>,
    /// Busy nanoseconds per replica at the last autoscaling look.
    busy_at_look: Vec<u64>,
    last_look: Time,
    /// The gateway-queue head that did not fit under the admission cap: it goes first.
    pub held: Option<sim_core::Key>,
    pub crash_rng: RandomStream,
    pub completions: Vec<Completion>,
    pub drained: Vec<Drained>,
    /// Replicas the last autoscaling look changed.
    pub changed: Vec<usize>,
    stats: PoolStats,
    on_crash: OnCrash,
    cap: Option<u64>,
    max_waiting: u32,
    /// Draws the shared-prefix group of calls from tenants that declare one.
    prefix_rng: Option<RandomStream>,
}

impl Pool {
    pub fn new(cfg: &GpuPoolConfig, grid: BucketGrid, crash_rng: RandomStream) -> Pool {
        let n = cfg.max_replicas() as usize;
        let mut replicas = Vec::with_capacity(n);
        let mut role = Vec::with_capacity(n);
        for i in 0..n {
            let mut r = Replica::new(cfg.replica).expect("validated when the world is built");
            if i < cfg.replicas as usize {
                role.push(Role::Serving);
            } else {
                r.stop();
                role.push(Role::Stopped);
            }
            replicas.push(r);
        }
        let mut stats = PoolStats::new(grid);
        let serving = cfg.replicas.min(n as u32) as i64;
        stats.provisioned.add(0, serving);
        stats.provisioned_series.add(0, serving);
        let seen = role
            .iter()
            .map(|r| Seen {
                at: 0,
                batch: 0,
                used: 0,
                up: *r == Role::Serving,
                preemptions: 0,
            })
            .collect();
        Pool {
            kv_up: serving as u64 * cfg.replica.kv_blocks as u64,
            kv_used: 0,
            seen,
            committed: vec![0; n],
            epoch: vec![0; n],
            busy_at_look: vec![0; n],
            last_look: 0,
            replicas,
            role,
            router: Router::new(cfg.routing),
            autoscaler: cfg
                .autoscale
                .as_ref()
                .map(|a| Autoscaler::new(a.config).expect("validated when the world is built")),
            held: None,
            crash_rng,
            completions: Vec::new(),
            drained: Vec::new(),
            changed: Vec::with_capacity(n),
            stats,
            on_crash: cfg.on_crash,
            cap: cfg.kv_admission_blocks,
            max_waiting: cfg.replica.max_waiting,
            prefix_rng: None,
        }
    }

    pub fn on_crash(&self) -> OnCrash {
        self.on_crash
    }

    pub fn is_serving(&self, replica: usize) -> bool {
        self.role[replica] == Role::Serving
    }

    /// Whether some serving replica would take a call of this size now.
    pub fn fits(&self, prompt: u32, output: u32) -> bool {
        let need = need_blocks(prompt, output);
        (0..self.replicas.len()).any(|i| self.eligible(i, need))
    }

    fn eligible(&self, i: usize, need: u64) -> bool {
        self.role[i] == Role::Serving
            && self.replicas[i].is_up()
            && self.replicas[i].waiting_len() < self.max_waiting
            && self
                .cap
                .is_none_or(|cap| self.committed[i].saturating_add(need) <= cap)
    }

    /// The stream shared-prefix groups are drawn from (`shared_prefix` of the pool's backend).
    pub fn with_prefix_stream(mut self, rng: RandomStream) -> Pool {
        self.prefix_rng = Some(rng);
        self
    }

    /// Sends call `id` (of scheduling `priority`, larger first under priority scheduling) of
    /// tenant `tenant` to a replica the router picks among those it fits; `None` when none does.
    /// Its prompt starts with one of the tenant's shared prefixes if it declares them (the
    /// group drawn now). Returns the replica and its generation before the call arrived, for
    /// the world to reschedule it.
    #[allow(clippy::too_many_arguments)]
    pub fn admit_shared(
        &mut self,
        now: Time,
        id: u32,
        prompt: u32,
        output: u32,
        priority: u8,
        tenant: usize,
        shared: Option<&SharedPrefix>,
    ) -> Option<(usize, u32)> {
        let key = match (shared, &mut self.prefix_rng) {
            (Some(s), Some(rng)) => PromptKey::Shared {
                group: s.draw_group(tenant, rng),
                tokens: s.tokens,
            },
            _ => PromptKey::Unique,
        };
        self.admit_keyed(now, id, prompt, output, priority, key)
    }

    fn admit_keyed(
        &mut self,
        now: Time,
        id: u32,
        prompt: u32,
        output: u32,
        priority: u8,
        key: PromptKey<'_>,
    ) -> Option<(usize, u32)> {
        let need = need_blocks(prompt, output);
        // The router is set aside while it reads the pool, so one eligibility rule serves both
        // `fits` and the pick.
        let mut router =
            std::mem::replace(&mut self.router, Router::new(RoutingPolicy::RoundRobin));
        let pick = router.pick_where(&self.replicas, prompt, |i| self.eligible(i, need));
        self.router = router;
        let i = pick?;
        let before = self.replicas[i].generation();
        self.replicas[i]
            .admit_with(now, id, prompt, output, priority, key)
            .ok()?;
        self.committed[i] += need;
        self.stats.in_pool.add(now, 1);
        Some((i, before))
    }

    /// A call left replica `i` (finished, or drained by a crash).
    pub fn release(&mut self, now: Time, i: usize, prompt: u32, output: u32) {
        self.committed[i] = self.committed[i].saturating_sub(need_blocks(prompt, output));
        self.stats.in_pool.add(now, -1);
    }

    /// Records a finished call's serving times.
    pub fn record(&mut self, c: &Completion) {
        let s = &mut self.stats;
        s.completed += 1;
        s.output_tokens += c.output_tokens as u64;
        let ttft = c.first_token.saturating_sub(c.arrival);
        s.ttft.record(ttft);
        s.ttft_count_series.add(c.first_token, 1);
        s.ttft_sum_us_series.add(c.first_token, ttft / 1_000);
        s.ttft_tail_series.record(c.first_token, ttft);
        if c.output_tokens > 1 {
            let per = c.finish.saturating_sub(c.first_token) / (c.output_tokens as u64 - 1);
            s.tpot.record(per);
        }
        s.e2e.record(c.finish.saturating_sub(c.arrival));
        s.sojourn
            .record(c.finish.saturating_sub(c.arrival) as f64 / 1e9);
        s.queue_wait
            .record(c.first_scheduled.saturating_sub(c.arrival) as f64 / 1e9);
        s.restarts += c.preemptions as u64;
        s.restarts_max = s.restarts_max.max(c.preemptions);
        if c.preemptions > 0 {
            s.preempted_requests += 1;
            s.reprefill_tokens += c.reprefill_tokens;
        }
    }

    /// Brings the statistics up to date with replica `i` after anything happened to it, and
    /// once it is draining and empty, stops it.
    pub fn touch(&mut self, now: Time, i: usize) {
        if self.role[i] == Role::Draining && self.replicas[i].outstanding() == 0 {
            self.replicas[i].stop();
            self.set_role(now, i, Role::Stopped);
        }
        let r = &self.replicas[i];
        let seen = self.seen[i];
        let up = r.is_up();
        let (batch, used) = (r.running_len(), r.kv_used_blocks());
        let s = &mut self.stats;
        if seen.up && now > seen.at {
            let from = seen.at.max(s.start);
            if now > from {
                let b = seen.batch as usize;
                if s.batch_time.len() <= b {
                    s.batch_time.resize(b + 1, 0);
                }
                s.batch_time[b] += (now - from) as u128;
            }
        }
        let preemptions = r.counters().preemptions;
        let new = preemptions - seen.preemptions;
        if new > 0 {
            s.preemptions += new;
            s.preemption_series.add(now, new);
        }
        self.kv_used = self.kv_used + used as u64 - seen.used as u64;
        if up != seen.up {
            let cap = r.kv_blocks() as u64;
            if up {
                self.kv_up += cap;
            } else {
                self.kv_up -= cap;
            }
        }
        let level = (self.kv_used as u128 * 1_000_000)
            .checked_div(self.kv_up as u128)
            .unwrap_or(0) as i64;
        if level != s.kv_level {
            s.kv_ppm.set(now, level);
            s.kv_series.add(now, level - s.kv_level);
            s.kv_level = level;
        }
        self.seen[i] = Seen {
            at: now,
            batch,
            used,
            up,
            preemptions,
        };
    }

    fn set_role(&mut self, now: Time, i: usize, role: Role) {
        let holds = |r: Role| r != Role::Stopped;
        let before = holds(self.role[i]);
        self.role[i] = role;
        self.epoch[i] = self.epoch[i].wrapping_add(1);
        let after = holds(role);
        if before != after {
            let d = if after { 1 } else { -1 };
            self.stats.provisioned.add(now, d);
            self.stats.provisioned_series.add(now, d);
        }
    }

    /// Crashes replica `i`: its requests go to [`Pool::drained`] for the world to fail or requeue.
    pub fn crash(&mut self, now: Time, i: usize) {
        let Pool {
            replicas, drained, ..
        } = self;
        drained.clear();
        replicas[i].crash(now, |d| drained.push(d));
        self.committed[i] = 0;
        self.stats.crashes += 1;
        match self.on_crash {
            OnCrash::Fail => self.stats.crash_failed += self.drained.len() as u64,
            OnCrash::Requeue => self.stats.crash_requeued += self.drained.len() as u64,
        }
        self.stats.in_pool.add(now, -(self.drained.len() as i64));
        self.set_role(now, i, Role::Crashed);
    }

    /// A crashed replica is repaired and begins its cold start.
    pub fn repair(&mut self, now: Time, i: usize, cold_start: Time) {
        if self.role[i] == Role::Crashed {
            self.replicas[i].start(now, cold_start);
            self.set_role(now, i, Role::Provisioning);
        }
    }

    /// After [`Replica::advance`]: a replica whose cold start ended begins serving. Returns
    /// whether it did.
    pub fn came_up(&mut self, now: Time, i: usize) -> bool {
        if self.role[i] == Role::Provisioning && self.replicas[i].is_up() {
            self.set_role(now, i, Role::Serving);
            return true;
        }
        false
    }

    /// The autoscaler's look at the pool: orders or stops replicas, listing those it changed in
    /// [`Pool::changed`] (the world reschedules them).
    pub fn autoscale(&mut self, now: Time, gateway_queue: u32) {
        self.changed.clear();
        let Some(scaler) = &mut self.autoscaler else {
            return;
        };
        let span = now.saturating_sub(self.last_look);
        let (mut ready, mut provisioning, mut busy) = (0u32, 0u32, 0u128);
        for (i, r) in self.replicas.iter().enumerate() {
            match self.role[i] {
                Role::Serving => {
                    ready += 1;
                    busy += (r.counters().busy_ns - self.busy_at_look[i]) as u128;
                }
                Role::Provisioning => provisioning += 1,
                _ => {}
            }
        }
        for (i, r) in self.replicas.iter().enumerate() {
            self.busy_at_look[i] = r.counters().busy_ns;
        }
        self.last_look = now;
        let utilisation_ppm = if ready == 0 || span == 0 {
            0
        } else {
            (busy * 1_000_000 / (span as u128 * ready as u128)).min(1_000_000) as u32
        };
        let queue_depth =
            self.replicas.iter().map(|r| r.waiting_len()).sum::<u32>() + gateway_queue;
        let metrics = PoolMetrics {
            ready,
            provisioning,
            utilisation_ppm,
            queue_depth,
        };
        match scaler.decide(now, &metrics) {
            ScaleAction::Hold => {}
            ScaleAction::Up { replicas, ready_at } => {
                let mut left = replicas;
                // Draining replicas are taken back first: they are warm.
                for i in 0..self.replicas.len() {
                    if left > 0 && self.role[i] == Role::Draining {
                        self.set_role(now, i, Role::Serving);
                        left -= 1;
                        self.changed.push(i);
                    }
                }
                for i in 0..self.replicas.len() {
                    if left > 0 && self.role[i] == Role::Stopped {
                        self.replicas[i].start(now, ready_at.saturating_sub(now));
                        self.set_role(now, i, Role::Provisioning);
                        left -= 1;
                        self.changed.push(i);
                    }
                }
                self.stats.scale_ups += 1;
            }
            ScaleAction::Down { replicas } => {
                let mut left = replicas;
                for i in (0..self.replicas.len()).rev() {
                    if left > 0 && self.role[i] == Role::Serving {
                        self.set_role(now, i, Role::Draining);
                        left -= 1;
                        self.changed.push(i);
                    }
                }
                self.stats.scale_downs += 1;
            }
        }
    }

    /// End of the warm-up: the measurements restart, the state carries on.
    pub fn restart(&mut self, now: Time) {
        for i in 0..self.replicas.len() {
            self.touch(now, i);
        }
        let s = &mut self.stats;
        s.ttft.reset();
        s.tpot.reset();
        s.e2e.reset();
        s.sojourn = Tally::new();
        s.queue_wait = Tally::new();
        s.completed = 0;
        s.output_tokens = 0;
        s.preemptions = 0;
        s.preempted_requests = 0;
        s.restarts = 0;
        s.restarts_max = 0;
        s.reprefill_tokens = 0;
        s.crashes = 0;
        s.crash_failed = 0;
        s.crash_requeued = 0;
        s.scale_ups = 0;
        s.scale_downs = 0;
        s.in_pool.restart(now);
        s.kv_ppm.restart(now);
        s.provisioned.restart(now);
        s.batch_time.iter_mut().for_each(|t| *t = 0);
        s.start = now;
        self.stats.prefix_at_start = self.prefix_totals();
    }

    /// Prefix-cache lookups and hits in tokens, summed over the replicas.
    fn prefix_totals(&self) -> (u64, u64) {
        self.replicas
            .iter()
            .filter_map(|r| r.prefix_counters())
            .fold((0, 0), |(q, h), c| (q + c.query_tokens, h + c.hit_tokens))
    }

    /// Writes the pool's metrics and series; returns its GPU cost in USD and the cost per bucket
    /// of the series grid.
    pub fn finish(
        &mut self,
        now: Time,
        name: &str,
        cfg: &GpuPoolConfig,
        m: &mut MetricSet,
        series: &mut Vec<(String, Vec<f64>)>,
    ) -> (f64, Vec<f64>) {
        for i in 0..self.replicas.len() {
            self.touch(now, i);
        }
        let (queries, hits) = self.prefix_totals();
        let s = &mut self.stats;
        let secs = now.saturating_sub(s.start) as f64 / 1e9;
        let per_s = |n: f64| if secs > 0.0 { n / secs } else { f64::NAN };
        let p = format!("pool.{name}");
        let replicas = s.provisioned.mean(now);
        let gpu_hours = replicas * secs / 3600.0 * cfg.gpus_per_replica as f64;
        let cost = gpu_hours * cfg.usd_per_gpu_hour;
        m.push(format!("{p}.completed"), s.completed as f64);
        m.push(format!("{p}.throughput_per_s"), per_s(s.completed as f64));
        m.push(
            format!("{p}.output_tokens_per_s"),
            per_s(s.output_tokens as f64),
        );
        m.push(format!("{p}.ttft_p50_s"), s.ttft.quantile_secs(0.50));
        m.push(format!("{p}.ttft_p99_s"), s.ttft.quantile_secs(0.99));
        m.push(format!("{p}.tpot_p50_ms"), s.tpot.quantile_secs(0.50) * 1e3);
        m.push(format!("{p}.tpot_p99_ms"), s.tpot.quantile_secs(0.99) * 1e3);
        m.push(format!("{p}.e2e_p50_s"), s.e2e.quantile_secs(0.50));
        m.push(format!("{p}.e2e_p99_s"), s.e2e.quantile_secs(0.99));
        m.push(format!("{p}.sojourn_mean_s"), s.sojourn.mean());
        m.push(format!("{p}.queue_wait_mean_s"), s.queue_wait.mean());
        m.push(format!("{p}.in_pool_mean"), s.in_pool.mean(now));
        m.push(format!("{p}.kv_utilisation_mean"), s.kv_ppm.mean(now) / 1e6);
        let (mean, p50, p90, max) = batch_quantiles(&s.batch_time);
        m.push(format!("{p}.batch_size_mean"), mean);
        m.push(format!("{p}.batch_size_p50"), p50);
        m.push(format!("{p}.batch_size_p90"), p90);
        m.push(format!("{p}.batch_size_max"), max);
        m.push(format!("{p}.preemptions"), s.preemptions as f64);
        m.push(
            format!("{p}.preemptions_per_min"),
            per_s(s.preemptions as f64) * 60.0,
        );
        m.push(
            format!("{p}.preempted_requests"),
            s.preempted_requests as f64,
        );
        m.push(
            format!("{p}.restarts_per_request_mean"),
            if s.completed == 0 {
                f64::NAN
            } else {
                s.restarts as f64 / s.completed as f64
            },
        );
        m.push(
            format!("{p}.restarts_per_request_max"),
            s.restarts_max as f64,
        );
        m.push(format!("{p}.reprefill_tokens"), s.reprefill_tokens as f64);
        if cfg.replica.prefix_caching {
            let (q, h) = (queries - s.prefix_at_start.0, hits - s.prefix_at_start.1);
            m.push(
                format!("{p}.prefix_hit_ratio"),
                if q == 0 {
                    f64::NAN
                } else {
                    h as f64 / q as f64
                },
            );
        }
        if cfg.crashes.is_some() {
            m.push(format!("{p}.crashes"), s.crashes as f64);
            m.push(format!("{p}.crash_failed"), s.crash_failed as f64);
            m.push(format!("{p}.crash_requeued"), s.crash_requeued as f64);
        }
        if cfg.autoscale.is_some() {
            m.push(format!("{p}.scale_ups"), s.scale_ups as f64);
            m.push(format!("{p}.scale_downs"), s.scale_downs as f64);
        }
        m.push(format!("{p}.replicas_mean"), replicas);
        m.push(format!("{p}.gpu_hours"), gpu_hours);
        m.push(format!("{p}.gpu_cost_usd"), cost);
        let kv: Vec<f64> = s.kv_series.means().into_iter().map(|x| x / 1e6).collect();
        series.push((format!("{p}.kv_utilisation"), kv));
        let per_min = s
            .preemption_series
            .rates_per_second()
            .into_iter()
            .map(|x| x * 60.0)
            .collect();
        series.push((format!("{p}.preemptions_per_min"), per_min));
        // Mean TTFT of the calls whose first token came in each bucket (NaN where none did).
        let ttft_mean: Vec<f64> = s
            .ttft_count_series
            .counts()
            .iter()
            .zip(s.ttft_sum_us_series.counts())
            .map(|(&n, &us)| {
                if n == 0 {
                    f64::NAN
                } else {
                    us as f64 / n as f64 / 1e6
                }
            })
            .collect();
        series.push((format!("{p}.ttft_mean_s"), ttft_mean));
        series.push((
            format!("{p}.ttft_p99_s"),
            s.ttft_tail_series.quantiles_secs(990_000),
        ));
        let provisioned = s.provisioned_series.means();
        let usd_per_replica_ns = cfg.gpus_per_replica as f64 * cfg.usd_per_gpu_hour / 3600.0 / 1e9;
        let grid = s.grid;
        let bucket_cost = provisioned
            .iter()
            .enumerate()
            .map(|(i, &r)| {
                let r = if r.is_nan() { 0.0 } else { r };
                r * grid.bucket_len(i) as f64 * usd_per_replica_ns
            })
            .collect();
        if cfg.autoscale.is_some() || cfg.crashes.is_some() {
            series.push((format!("{p}.replicas"), provisioned));
        }
        (cost, bucket_cost)
    }
}

/// KV blocks a call may need at its longest: prompt plus output, less the last token's.
fn need_blocks(prompt: u32, output: u32) -> u64 {
    blocks_for((prompt.max(1) as u64 + output.max(1) as u64).saturating_sub(1))
}

/// Mean, median, 90th percentile and largest batch size over the time replicas were busy (a
/// batch of 0 is an idle replica, left out).
fn batch_quantiles(time: &[u128]) -> (f64, f64, f64, f64) {
    let total: u128 = time.iter().skip(1).sum();
    if total == 0 {
        return (f64::NAN, f64::NAN, f64::NAN, f64::NAN);
    }
    let mean = time
        .iter()
        .enumerate()
        .map(|(b, &t)| b as f64 * t as f64)
        .sum::<f64>()
        / total as f64;
    let quantile = |q: f64| {
        let target = (total as f64 * q).ceil() as u128;
        let mut acc = 0u128;
        for (b, &t) in time.iter().enumerate().skip(1) {
            acc += t;
            if acc >= target.max(1) {
                return b as f64;
            }
        }
        (time.len() - 1) as f64
    };
    let max = time
        .iter()
        .enumerate()
        .rev()
        .find(|(b, t)| *b > 0 && **t > 0)
        .map_or(f64::NAN, |(b, _)| b as f64);
    (mean, quantile(0.5), quantile(0.9), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_quantiles_weigh_by_time_and_skip_idle() {
        // 10 ns idle, 30 ns at batch 1, 60 ns at batch 3.
        let t = [10u128, 30, 0, 60];
        let (mean, p50, p90, max) = batch_quantiles(&t);
        assert!((mean - (30.0 + 180.0) / 90.0).abs() < 1e-12);
        assert_eq!(p50, 3.0);
        assert_eq!(p90, 3.0);
        assert_eq!(max, 3.0);
        let (_, p10, ..) = batch_quantiles(&[0, 50, 50]);
        assert_eq!(p10, 1.0);
    }

    #[test]
    fn need_blocks_counts_prompt_and_output_less_one() {
        assert_eq!(need_blocks(16, 1), 1);
        assert_eq!(need_blocks(16, 2), 2);
        assert_eq!(need_blocks(0, 0), 1);
    }
}
