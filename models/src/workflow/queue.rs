//! A work queue with backpressure: producers put items into a task queue that a pool of
//! workers drains, as an ingestion pipeline does (a bulk upload of documents to embed, a batch
//! of messages to classify). What goes wrong is the backlog: a bulk upload faster than the
//! workers grows it at `λ − c·μ`, and the oldest item ages with it. The strategies against it:
//!
//! - **producer backpressure**: past a high-water mark of backlog the producers are pushed back
//!   until the backlog falls to the low-water mark: the bulk upload blocks (the item it holds
//!   waits at the producer, not in the queue), the steady producer's items are refused (its
//!   users are told to come back later);
//! - **scaling workers**: every `interval` an autoscaler asks for `⌈backlog / per_worker⌉`
//!   workers (within its bounds); new workers start after a provisioning `delay`, surplus ones
//!   retire once idle;
//! - **low-priority items**: served in arrival order with the rest (`fifo`), only when no
//!   high-priority item waits (`delay`), or dropped when they arrive to a backlog of
//!   `drop_above` or more (`drop`).
//!
//! The queue is its own component: it owns its streams and state, and every event of it is one
//! [`Event::WorkQueue`] that the world hands to [`WorkQueue::on_event`], which schedules the
//! next ones itself. Items take a worker for a service time drawn from the queue's own
//! distribution; they do not pass the gateway. With Poisson arrivals and exponential service
//! the queue is M/M/c (Erlang C), which the tests check.

pub mod stats;

use crate::event::{Event, QueueEvent};
use sim_core::{RandomStream, Sampler, Scheduler, Streams, Time};
use stats::QueueStats;
use std::collections::VecDeque;

/// A work queue as the scenario defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkQueueConfig {
    pub name: String,
    /// Workers at the start (and the autoscaler's floor).
    pub workers: u32,
    /// One item's time on a worker.
    pub service: Sampler,
    /// A steady producer: Poisson arrivals of this mean interval, of this priority.
    pub steady: Option<(Time, Priority)>,
    /// A bulk upload.
    pub bulk: Option<BulkUpload>,
    pub backpressure: Option<Backpressure>,
    pub autoscale: Option<WorkerAutoscale>,
    pub low_priority: LowPriority,
    /// Price of one worker-hour (billed while a worker is up).
    pub worker_hour_usd: f64,
}

/// `items` put into the queue one every `spacing` from `at` (a constant rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BulkUpload {
    pub at: Time,
    pub items: u64,
    pub spacing: Time,
    pub priority: Priority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    High,
    Low,
}

/// Producers block once the backlog reaches `high_water` and resume once it is down to
/// `low_water`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backpressure {
    pub high_water: u64,
    pub low_water: u64,
}

/// Every `interval`, the workers wanted are `⌈backlog / per_worker⌉` within
/// `[min_workers, max_workers]`; more start after `delay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerAutoscale {
    pub min_workers: u32,
    pub max_workers: u32,
    pub per_worker: u64,
    pub interval: Time,
    pub delay: Time,
}

/// What happens to low-priority items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowPriority {
    /// Served in arrival order with the others.
    Fifo,
    /// Served only when no high-priority item waits.
    Delay,
    /// Dropped when they arrive to a backlog of `above` or more.
    Drop { above: u64 },
}

/// One work queue's state in a replication.
pub struct WorkQueue {
    /// Its index in the world's list, which its events carry.
    index: u16,
    /// When each waiting item entered the queue, by priority (oldest first).
    high: VecDeque<Time>,
    low: VecDeque<Time>,
    /// Workers up, busy, and wanted (surplus workers retire once idle).
    active: u32,
    busy: u32,
    wanted: u32,
    /// Workers being provisioned: when they start and how many, in order.
    provisioning: VecDeque<(Time, u32)>,
    /// Producers are blocked by backpressure; the item the bulk upload holds meanwhile.
    blocked: bool,
    held_bulk: bool,
    bulk_left: u64,
    /// The steady producer's interarrival times and priority, made when the world is built.
    arrivals: Option<(Sampler, Priority)>,
    arrivals_rng: RandomStream,
    service_rng: RandomStream,
    pub(crate) stats: QueueStats,
}

impl WorkQueue {
    pub fn new(
        index: u16,
        cfg: &WorkQueueConfig,
        streams: &Streams,
        warmup: Time,
        horizon: Time,
    ) -> WorkQueue {
        let entity = format!("work_queues.{}", cfg.name);
        WorkQueue {
            index,
            high: VecDeque::new(),
            low: VecDeque::new(),
            active: cfg.workers,
            busy: 0,
            wanted: cfg.workers,
            provisioning: VecDeque::new(),
            blocked: false,
            held_bulk: false,
            bulk_left: cfg.bulk.map_or(0, |b| b.items),
            arrivals: cfg.steady.and_then(|(mean, priority)| {
                Sampler::exponential(mean as f64)
                    .ok()
                    .map(|s| (s, priority))
            }),
            arrivals_rng: streams.stream(&entity, "arrivals"),
            service_rng: streams.stream(&entity, "service"),
            stats: QueueStats::new(warmup, horizon),
        }
    }

    fn schedule(&self, sched: &mut Scheduler<Event>, horizon: Time, at: Time, what: QueueEvent) {
        if at <= horizon {
            sched.schedule(
                at,
                Event::WorkQueue {
                    queue: self.index,
                    what,
                },
            );
        }
    }

    /// The first events: the steady producer's first arrival, the bulk upload's start, the
    /// autoscaler's first look.
    pub fn start(&mut self, cfg: &WorkQueueConfig, sched: &mut Scheduler<Event>, horizon: Time) {
        self.stats.workers(0, i64::from(self.active));
        if let Some((s, _)) = &self.arrivals {
            let at = sim_core::time::to_time(s.sample(&mut self.arrivals_rng));
            self.schedule(sched, horizon, at, QueueEvent::Produce);
        }
        if let Some(b) = cfg.bulk {
            self.schedule(sched, horizon, b.at, QueueEvent::Bulk);
        }
        if let Some(a) = cfg.autoscale {
            self.schedule(sched, horizon, a.interval, QueueEvent::Scale);
        }
    }

    /// Items waiting for a worker.
    pub fn backlog(&self) -> u64 {
        (self.high.len() + self.low.len()) as u64
    }

    pub fn on_event(
        &mut self,
        now: Time,
        what: QueueEvent,
        cfg: &WorkQueueConfig,
        sched: &mut Scheduler<Event>,
        horizon: Time,
    ) {
        self.stats.sample_oldest(now, self.oldest());
        match what {
            QueueEvent::Produce => self.produce_steady(now, cfg, sched, horizon),
            QueueEvent::Bulk => {
                if self.blocked {
                    self.held_bulk = true;
                    return;
                }
                self.produce_bulk(now, cfg, sched, horizon);
            }
            QueueEvent::Done => {
                self.busy -= 1;
                if self.active > self.wanted {
                    self.retire(now, 1);
                }
                self.serve(now, cfg, sched, horizon);
            }
            QueueEvent::Scale => self.autoscale(now, cfg, sched, horizon),
            QueueEvent::Provisioned => {
                if let Some((at, n)) = self.provisioning.front().copied()
                    && at == now
                {
                    self.provisioning.pop_front();
                    self.active += n;
                    self.stats.workers(now, i64::from(n));
                    self.serve(now, cfg, sched, horizon);
                }
            }
        }
    }

    fn produce_steady(
        &mut self,
        now: Time,
        cfg: &WorkQueueConfig,
        sched: &mut Scheduler<Event>,
        horizon: Time,
    ) {
        // Only a queue with a steady producer schedules its items.
        let Some((s, priority)) = &self.arrivals else {
            return;
        };
        let priority = *priority;
        let at = now.saturating_add(sim_core::time::to_time(s.sample(&mut self.arrivals_rng)));
        self.schedule(sched, horizon, at, QueueEvent::Produce);
        if self.blocked {
            // Its users are told to come back later: the item is refused, not held.
            self.stats.refused += 1;
            return;
        }
        self.put(now, priority, cfg, sched, horizon);
    }

    fn produce_bulk(
        &mut self,
        now: Time,
        cfg: &WorkQueueConfig,
        sched: &mut Scheduler<Event>,
        horizon: Time,
    ) {
        // Only a queue with a bulk upload schedules its items, while some are left.
        let (Some(b), 1..) = (cfg.bulk, self.bulk_left) else {
            return;
        };
        self.bulk_left -= 1;
        if self.bulk_left > 0 {
            self.schedule(
                sched,
                horizon,
                now.saturating_add(b.spacing),
                QueueEvent::Bulk,
            );
        } else {
            self.stats.upload_done(now - b.at);
        }
        self.put(now, b.priority, cfg, sched, horizon);
    }

    /// An item arrives: dropped, or queued (and taken at once by an idle worker).
    fn put(
        &mut self,
        now: Time,
        priority: Priority,
        cfg: &WorkQueueConfig,
        sched: &mut Scheduler<Event>,
        horizon: Time,
    ) {
        let backlog = self.backlog();
        if priority == Priority::Low
            && let LowPriority::Drop { above } = cfg.low_priority
            && backlog >= above
        {
            self.stats.dropped += 1;
            return;
        }
        self.stats.enqueued += 1;
        match (priority, cfg.low_priority) {
            (Priority::Low, LowPriority::Delay) => self.low.push_back(now),
            // Without a distinction, one FIFO order for every item.
            _ => self.high.push_back(now),
        }
        self.stats.backlog(now, 1);
        self.serve(now, cfg, sched, horizon);
        if let Some(bp) = cfg.backpressure
            && !self.blocked
            && self.backlog() >= bp.high_water
        {
            self.blocked = true;
            self.stats.blocked(now, true);
        }
    }

    /// Idle workers take the waiting items, high priority first.
    fn serve(
        &mut self,
        now: Time,
        cfg: &WorkQueueConfig,
        sched: &mut Scheduler<Event>,
        horizon: Time,
    ) {
        while self.busy < self.active.min(self.wanted) {
            let (since, low) = match self.high.pop_front() {
                Some(t) => (t, false),
                None => match self.low.pop_front() {
                    Some(t) => (t, true),
                    None => break,
                },
            };
            self.stats.backlog(now, -1);
            self.stats.taken(now - since, low);
            self.busy += 1;
            let took = sim_core::time::to_time(cfg.service.sample(&mut self.service_rng));
            self.schedule(sched, horizon, now.saturating_add(took), QueueEvent::Done);
        }
        if self.blocked
            && let Some(bp) = cfg.backpressure
            && self.backlog() <= bp.low_water
        {
            self.unblock(now, cfg, sched, horizon);
        }
    }

    /// The backlog is down to the low-water mark: the producers put the items they held and
    /// go on.
    fn unblock(
        &mut self,
        now: Time,
        cfg: &WorkQueueConfig,
        sched: &mut Scheduler<Event>,
        horizon: Time,
    ) {
        self.blocked = false;
        self.stats.blocked(now, false);
        if std::mem::take(&mut self.held_bulk) {
            self.produce_bulk(now, cfg, sched, horizon);
        }
    }

    fn retire(&mut self, now: Time, n: u32) {
        self.active -= n;
        self.stats.workers(now, -i64::from(n));
    }

    /// The autoscaler's look: start workers up to what the backlog asks for, or retire idle
    /// ones down to it (only when none are on their way).
    fn autoscale(
        &mut self,
        now: Time,
        cfg: &WorkQueueConfig,
        sched: &mut Scheduler<Event>,
        horizon: Time,
    ) {
        // Only a queue with an autoscaler schedules its looks.
        let Some(a) = cfg.autoscale else {
            return;
        };
        self.schedule(
            sched,
            horizon,
            now.saturating_add(a.interval),
            QueueEvent::Scale,
        );
        let want = self
            .backlog()
            .div_ceil(a.per_worker)
            .clamp(u64::from(a.min_workers), u64::from(a.max_workers)) as u32;
        let coming: u32 = self.provisioning.iter().map(|&(_, n)| n).sum();
        if want > self.active + coming {
            let n = want - self.active - coming;
            let at = now.saturating_add(a.delay);
            self.provisioning.push_back((at, n));
            self.stats.scale_ups += 1;
            self.wanted = want;
            self.schedule(sched, horizon, at, QueueEvent::Provisioned);
        } else if coming == 0 && want < self.active {
            self.wanted = want;
            let idle = self.active - self.busy;
            self.retire(now, idle.min(self.active - want));
        } else {
            // Enough up or on their way: keep them.
            self.wanted = self.active + coming;
        }
    }

    /// When the oldest waiting item entered the queue.
    fn oldest(&self) -> Option<Time> {
        match (self.high.front(), self.low.front()) {
            (Some(&h), Some(&l)) => Some(h.min(l)),
            (h, l) => h.or(l).copied(),
        }
    }

    /// The warm-up is over: statistics restart.
    pub fn restart(&mut self, now: Time) {
        self.stats.restart(now);
    }

    /// The queue's metrics and series at the horizon.
    pub fn finish(
        &mut self,
        cfg: &WorkQueueConfig,
        horizon: Time,
        metrics: &mut sim_core::summary::MetricSet,
        series: &mut Vec<(String, Vec<f64>)>,
    ) {
        let oldest = self.oldest();
        self.stats.sample_oldest(horizon, oldest);
        self.stats.finish(cfg, horizon, oldest, metrics, series);
    }
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
