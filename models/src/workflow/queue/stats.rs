//! What a work queue did, for the report: `work_queue.NAME.*` and its series (backlog, age of
//! the oldest item, workers). Emitted only for the queues a scenario defines.

use super::{LowPriority, Priority, WorkQueueConfig};
use sim_core::Time;
use sim_core::series::{BucketGrid, LevelSeries};
use sim_core::stats::{LatencyHistogram, Tally, TimeWeighted};
use sim_core::summary::MetricSet;

const SECS: f64 = 1e9;

pub struct QueueStats {
    pub(crate) enqueued: u64,
    pub(crate) dropped: u64,
    pub(crate) refused: u64,
    pub(crate) scale_ups: u64,
    taken: u64,
    backlog: TimeWeighted,
    backlog_series: LevelSeries,
    workers: TimeWeighted,
    workers_series: LevelSeries,
    /// Waits of the items taken by a worker (from entering the queue), all and by priority.
    wait: Tally,
    wait_high: Tally,
    wait_low: Tally,
    wait_hist: LatencyHistogram,
    /// The longest wait seen: of an item taken, or of the oldest one at a bucket's end.
    oldest_max: Time,
    /// The oldest item's age at each bucket's end, filled as time passes them.
    grid: BucketGrid,
    oldest_series: Vec<f64>,
    /// Time the producers spent blocked, and since when they are.
    blocked_total: Time,
    blocked_since: Option<Time>,
    /// The bulk upload's duration, from its start to its last item put.
    upload: Option<Time>,
}

impl QueueStats {
    pub fn new(warmup: Time, horizon: Time) -> QueueStats {
        let grid = BucketGrid::for_window(warmup, horizon);
        QueueStats {
            enqueued: 0,
            dropped: 0,
            refused: 0,
            scale_ups: 0,
            taken: 0,
            backlog: TimeWeighted::new(0),
            backlog_series: LevelSeries::new(grid),
            workers: TimeWeighted::new(0),
            workers_series: LevelSeries::new(grid),
            wait: Tally::new(),
            wait_high: Tally::new(),
            wait_low: Tally::new(),
            wait_hist: LatencyHistogram::new(),
            oldest_max: 0,
            grid,
            oldest_series: Vec::with_capacity(grid.len()),
            blocked_total: 0,
            blocked_since: None,
            upload: None,
        }
    }

    /// Before anything changes at `now`: the oldest item's age at every bucket end passed
    /// since the last change (the oldest item was `oldest` all that time).
    #[inline]
    pub fn sample_oldest(&mut self, now: Time, oldest: Option<Time>) {
        while self.oldest_series.len() < self.grid.len() {
            let i = self.oldest_series.len();
            let end = self.grid.bucket_start(i) + self.grid.bucket_len(i);
            if end > now {
                break;
            }
            let age = oldest.map_or(0, |t| end - t.min(end));
            self.oldest_max = self.oldest_max.max(age);
            self.oldest_series.push(age as f64 / SECS);
        }
    }

    pub fn backlog(&mut self, now: Time, delta: i64) {
        self.backlog.add(now, delta);
        self.backlog_series.add(now, delta);
    }

    pub fn workers(&mut self, now: Time, delta: i64) {
        self.workers.add(now, delta);
        self.workers_series.add(now, delta);
    }

    /// A worker took an item that had waited `wait`.
    pub fn taken(&mut self, wait: Time, low: bool) {
        self.taken += 1;
        let secs = wait as f64 / SECS;
        self.wait.record(secs);
        if low {
            self.wait_low.record(secs);
        } else {
            self.wait_high.record(secs);
        }
        self.wait_hist.record(wait);
        self.oldest_max = self.oldest_max.max(wait);
    }

    pub fn blocked(&mut self, now: Time, blocked: bool) {
        match (blocked, self.blocked_since) {
            (true, None) => self.blocked_since = Some(now),
            (false, Some(since)) => {
                self.blocked_total += now - since;
                self.blocked_since = None;
            }
            _ => {}
        }
    }

    pub fn upload_done(&mut self, took: Time) {
        self.upload = Some(took);
    }

    /// The warm-up is over: counts and averages restart (levels and waiting items stay).
    pub fn restart(&mut self, now: Time) {
        self.enqueued = 0;
        self.dropped = 0;
        self.refused = 0;
        self.scale_ups = 0;
        self.taken = 0;
        self.backlog.restart(now);
        self.workers.restart(now);
        self.wait = Tally::new();
        self.wait_high = Tally::new();
        self.wait_low = Tally::new();
        self.wait_hist.reset();
        self.oldest_max = 0;
        self.blocked_total = 0;
        if self.blocked_since.is_some() {
            self.blocked_since = Some(now);
        }
    }

    pub fn finish(
        &mut self,
        cfg: &WorkQueueConfig,
        horizon: Time,
        oldest: Option<Time>,
        out: &mut MetricSet,
        series: &mut Vec<(String, Vec<f64>)>,
    ) {
        let m = |what: &str| format!("work_queue.{}.{what}", cfg.name);
        let mean = |t: &Tally| if t.count() == 0 { f64::NAN } else { t.mean() };
        self.blocked(horizon, false);
        let end_age = oldest.map_or(0, |t| horizon - t.min(horizon));
        self.oldest_max = self.oldest_max.max(end_age);
        out.push(m("enqueued"), self.enqueued as f64);
        out.push(m("processed"), self.taken as f64);
        out.push(m("dropped"), self.dropped as f64);
        out.push(m("backlog_mean"), self.backlog.mean(horizon));
        out.push(m("backlog_max"), self.backlog.max() as f64);
        out.push(m("backlog_end"), self.backlog.level() as f64);
        out.push(m("wait_mean_s"), mean(&self.wait));
        let p99 = if self.wait_hist.count() == 0 {
            f64::NAN
        } else {
            self.wait_hist.quantile_secs(0.99)
        };
        out.push(m("wait_p99_s"), p99);
        out.push(m("oldest_age_max_s"), self.oldest_max as f64 / SECS);
        out.push(m("oldest_age_end_s"), end_age as f64 / SECS);
        let workers = self.workers.mean(horizon);
        out.push(m("workers_mean"), workers);
        let window = horizon.saturating_sub(self.grid.start) as f64 / 3600e9;
        out.push(m("worker_hours"), workers * window);
        if cfg.worker_hour_usd > 0.0 {
            out.push(m("cost_usd"), workers * window * cfg.worker_hour_usd);
        }
        let low = cfg.steady.is_some_and(|(_, p)| p == Priority::Low)
            || cfg.bulk.is_some_and(|b| b.priority == Priority::Low);
        if low && cfg.low_priority == LowPriority::Delay {
            out.push(m("high_wait_mean_s"), mean(&self.wait_high));
            out.push(m("low_wait_mean_s"), mean(&self.wait_low));
        }
        if cfg.backpressure.is_some() {
            out.push(m("producer_blocked_s"), self.blocked_total as f64 / SECS);
            out.push(m("refused"), self.refused as f64);
        }
        if cfg.bulk.is_some() {
            out.push(
                m("upload_s"),
                self.upload.map_or(f64::NAN, |t| t as f64 / SECS),
            );
        }
        if cfg.autoscale.is_some() {
            out.push(m("scale_ups"), self.scale_ups as f64);
        }
        let name = |what: &str| sim_core::names::WORK_QUEUE.metric(&cfg.name, what);
        series.push((
            name(sim_core::names::WORK_QUEUE_BACKLOG),
            self.backlog_series.means(),
        ));
        self.oldest_series.resize(self.grid.len(), f64::NAN);
        series.push((
            name("oldest_age_s"),
            std::mem::take(&mut self.oldest_series),
        ));
        if cfg.autoscale.is_some() {
            series.push((name("workers"), self.workers_series.means()));
        }
    }
}
