//! `[[work_queues]]`: task queues drained by pools of workers, fed by a steady producer and a
//! bulk upload, with the strategies against a backlog (producer backpressure, scaling workers,
//! delaying or dropping low-priority items). Converted to `models` [`WorkQueueConfig`].

use crate::build_error::{BuildError, err};
use crate::dists::{DurationDist, duration_sampler};
use crate::values::{Duration, RateValue};
use models::workflow::queue::{
    Backpressure as ModelBackpressure, BulkUpload as ModelBulk, LowPriority as ModelLow, Priority,
    WorkQueueConfig, WorkerAutoscale,
};
use serde::{Deserialize, Serialize};

/// A task queue and the pool of workers that drains it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkQueue {
    /// Unique among the work queues; names the `work_queue.NAME.*` metrics.
    pub name: String,
    /// Workers at the start (with an autoscaler, its floor).
    pub workers: u32,
    /// One item's time on a worker.
    pub service: DurationDist,
    /// Price of a worker-hour, billed while a worker is up (default 0).
    #[serde(default)]
    pub worker_hour_usd: f64,
    /// A steady producer: Poisson arrivals (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steady: Option<Steady>,
    /// A bulk upload: `items` put at a constant `rate` from `at` (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_upload: Option<BulkUpload>,
    /// Producers block at `high_water` items of backlog until it is down to `low_water`
    /// (default: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backpressure: Option<Backpressure>,
    /// Workers added as the backlog grows (default: a fixed pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
    /// What happens to low-priority items: `fifo` (default: served in arrival order with the
    /// rest), `delay` (served only when no high-priority item waits) or `drop` (dropped when
    /// they arrive to a backlog of `drop_above` or more).
    #[serde(default)]
    pub low_priority: LowPriority,
    /// The backlog at which `drop` drops low-priority items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_above: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Steady {
    pub rate: RateValue,
    /// `high` (default) or `low`.
    #[serde(default)]
    pub priority: ItemPriority,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkUpload {
    /// When the upload starts (default 0s).
    #[serde(default)]
    pub at: Duration,
    pub items: u64,
    pub rate: RateValue,
    /// `high` (default) or `low`.
    #[serde(default)]
    pub priority: ItemPriority,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backpressure {
    pub high_water: u64,
    pub low_water: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    pub max_workers: u32,
    /// Workers wanted: one per this many items of backlog.
    pub backlog_per_worker: u64,
    /// How often the autoscaler looks (default 30s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<Duration>,
    /// Time for a new worker to start (default 0s).
    #[serde(default)]
    pub delay: Duration,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ItemPriority {
    #[default]
    High,
    Low,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LowPriority {
    #[default]
    Fifo,
    Delay,
    Drop,
}

fn priority(p: ItemPriority) -> Priority {
    match p {
        ItemPriority::High => Priority::High,
        ItemPriority::Low => Priority::Low,
    }
}

/// The most items a bulk upload may hold: each is an event, and each waiting one 8 bytes.
const MAX_ITEMS: u64 = 100_000_000;

pub(crate) fn build_work_queues(queues: &[WorkQueue]) -> Result<Vec<WorkQueueConfig>, BuildError> {
    if queues.len() > u16::MAX as usize {
        return Err(err("work_queues", "at most 65535 work queues"));
    }
    let mut out = Vec::with_capacity(queues.len());
    for (i, q) in queues.iter().enumerate() {
        let here = format!("work_queues[{i}]");
        crate::names::check_name(&q.name, &format!("{here}.name"))?;
        if queues[..i].iter().any(|p| p.name == q.name) {
            return Err(err(
                format!("{here}.name"),
                format!("another work queue is already named `{}`", q.name),
            ));
        }
        if q.workers == 0 {
            return Err(err(
                format!("{here}.workers"),
                "a work queue needs at least one worker",
            ));
        }
        let service =
            duration_sampler(&q.service).map_err(|m| err(format!("{here}.service"), m))?;
        if !(q.worker_hour_usd.is_finite() && q.worker_hour_usd >= 0.0) {
            return Err(err(
                format!("{here}.worker_hour_usd"),
                "a price must be a finite number of 0 or more",
            ));
        }
        let spacing = |r: &RateValue| (1e9 / r.0.as_per_second()).round() as u64;
        let bulk = match &q.bulk_upload {
            Some(b) if b.items == 0 || b.items > MAX_ITEMS => {
                return Err(err(
                    format!("{here}.bulk_upload.items"),
                    format!("a bulk upload holds between 1 and {MAX_ITEMS} items"),
                ));
            }
            Some(b) => Some(ModelBulk {
                at: b.at.0,
                items: b.items,
                spacing: spacing(&b.rate),
                priority: priority(b.priority),
            }),
            None => None,
        };
        let steady = q
            .steady
            .as_ref()
            .map(|s| (spacing(&s.rate).max(1), priority(s.priority)));
        if steady.is_none() && bulk.is_none() {
            return Err(err(
                &here,
                "a work queue needs a producer: `steady`, `bulk_upload` or both",
            ));
        }
        let backpressure = match q.backpressure {
            Some(b) if b.high_water == 0 || b.low_water >= b.high_water => {
                return Err(err(
                    format!("{here}.backpressure.low_water"),
                    format!(
                        "the low-water mark ({}) must be below the high-water mark ({}), which \
                         must be above 0",
                        b.low_water, b.high_water
                    ),
                ));
            }
            Some(b) => Some(ModelBackpressure {
                high_water: b.high_water,
                low_water: b.low_water,
            }),
            None => None,
        };
        let autoscale = match &q.autoscale {
            Some(a) if a.max_workers < q.workers => {
                return Err(err(
                    format!("{here}.autoscale.max_workers"),
                    format!(
                        "the maximum ({}) must be at least the starting workers ({})",
                        a.max_workers, q.workers
                    ),
                ));
            }
            Some(a) if a.backlog_per_worker == 0 => {
                return Err(err(
                    format!("{here}.autoscale.backlog_per_worker"),
                    "must be at least 1",
                ));
            }
            Some(a) if a.interval.is_some_and(|d| d.0 == 0) => {
                return Err(err(
                    format!("{here}.autoscale.interval"),
                    "the interval must be longer than 0s",
                ));
            }
            Some(a) => Some(WorkerAutoscale {
                min_workers: q.workers,
                max_workers: a.max_workers,
                per_worker: a.backlog_per_worker,
                interval: a.interval.map_or(30_000_000_000, |d| d.0),
                delay: a.delay.0,
            }),
            None => None,
        };
        let low_priority = match (q.low_priority, q.drop_above) {
            (LowPriority::Drop, Some(above)) => ModelLow::Drop { above },
            (LowPriority::Drop, None) => {
                return Err(err(
                    format!("{here}.drop_above"),
                    "`low_priority = \"drop\"` needs the backlog to drop at: `drop_above`",
                ));
            }
            (_, Some(_)) => {
                return Err(err(
                    format!("{here}.drop_above"),
                    "`drop_above` applies only with `low_priority = \"drop\"`",
                ));
            }
            (LowPriority::Fifo, None) => ModelLow::Fifo,
            (LowPriority::Delay, None) => ModelLow::Delay,
        };
        out.push(WorkQueueConfig {
            name: q.name.clone(),
            workers: q.workers,
            service,
            steady,
            bulk,
            backpressure,
            autoscale,
            low_priority,
            worker_hour_usd: q.worker_hour_usd,
        });
    }
    Ok(out)
}
