//! The definitions of the workflow metrics (`workflow.TENANT.*`), kept beside
//! [`crate::definitions`] and searched with it: a tenant that runs a workflow reports them.

use super::{Definition, d};

/// Every workflow metric family; per-activity patterns come first, as they are more specific.
pub const DEFINITIONS: &[Definition] = &[
    d(
        "workflow.*.activity.*.attempts",
        "attempts",
        "attempts of the activity (each a job on the request path, or a compute run)",
    ),
    d(
        "workflow.*.activity.*.failures",
        "attempts",
        "failed attempts of the activity (errors, timeouts, crashes), retried or not",
    ),
    d(
        "workflow.*.activity.*.timeouts",
        "attempts",
        "attempts given up at their start-to-close or heartbeat timeout, or at the execution timeout",
    ),
    d(
        "workflow.*.activity.*.duplicate_effects",
        "runs",
        "runs of a non-idempotent activity whose side effect had already happened in the execution",
    ),
    d(
        "workflow.*.activity.*.latency_mean_s",
        "s",
        "mean time from scheduling the activity to its completion, retries and backoffs included",
    ),
    d(
        "workflow.*.activity.*.latency_p99_s",
        "s",
        "99th percentile of that",
    ),
    d(
        "workflow.*.activity.*.cost_usd",
        "USD",
        "spend on the activity's attempts, abandoned ones included, billed while their execution ran (what its cost adds up from)",
    ),
    d(
        "workflow.*.started",
        "executions",
        "workflow executions started",
    ),
    d(
        "workflow.*.succeeded",
        "executions",
        "executions whose every activity completed",
    ),
    d(
        "workflow.*.success_ratio",
        "ratio",
        "succeeded / executions that ended (succeeded or dead-lettered)",
    ),
    d(
        "workflow.*.degraded",
        "executions",
        "succeeded executions some activity of which answered through a fallback",
    ),
    d(
        "workflow.*.dlq",
        "executions",
        "executions that failed for good: the dead-letter queue at the horizon",
    ),
    d(
        "workflow.*.dlq_share",
        "ratio",
        "dead-lettered / executions that ended",
    ),
    d(
        "workflow.*.dlq_oldest_age_s",
        "s",
        "age at the horizon of the oldest dead-lettered execution (0: none)",
    ),
    d(
        "workflow.*.latency_mean_s",
        "s",
        "mean end-to-end time of succeeded executions, from arrival",
    ),
    d("workflow.*.latency_p50_s", "s", "median of that"),
    d("workflow.*.latency_p99_s", "s", "99th percentile of that"),
    d(
        "workflow.*.cost_mean_usd",
        "USD",
        "mean spend per ended execution, abandoned and repeated attempts included",
    ),
    d(
        "workflow.*.cost_usd",
        "USD",
        "spend of the executions that ended",
    ),
    d(
        "workflow.*.cost_mean_before_update_usd",
        "USD",
        "mean spend per ended execution that arrived before the first activity prompt update",
    ),
    d(
        "workflow.*.cost_mean_after_update_usd",
        "USD",
        "mean spend per ended execution that arrived from the first activity prompt update on",
    ),
    d(
        "workflow.*.worker_crashes",
        "crashes",
        "crashes of the workers running executions",
    ),
    d(
        "workflow.*.restarts",
        "executions",
        "starts over from the first activity (non-durable crash recovery, workflow retries)",
    ),
    d(
        "workflow.*.resumes",
        "executions",
        "durable resumptions at the first incomplete activity after a worker crash",
    ),
    d(
        "workflow.*.retries",
        "executions",
        "retries of whole workflows under the workflow's retry policy",
    ),
    d(
        "workflow.*.lost_work_s",
        "s",
        "work done and thrown away: attempts lost to crashes and progress discarded by restarts",
    ),
    d(
        "workflow.*.duplicate_effects",
        "runs",
        "duplicate side effects of non-idempotent activities, over all activities",
    ),
    d(
        "workflow.*.node_crashes",
        "crashes",
        "crashes of the nodes running compute activities",
    ),
    d(
        "workflow.*.checkpoints",
        "checkpoints",
        "checkpoints written by compute activities",
    ),
];

/// Every work-queue metric family (`work_queue.NAME.*`): a scenario's `[[work_queues]]` report
/// them.
pub const QUEUE_DEFINITIONS: &[Definition] = &[
    d(
        "work_queue.*.enqueued",
        "items",
        "items put into the queue (dropped ones and ones a blocked producer holds not counted)",
    ),
    d(
        "work_queue.*.processed",
        "items",
        "items a worker took from the queue",
    ),
    d(
        "work_queue.*.dropped",
        "items",
        "low-priority items dropped on arrival to a backlog at or above `drop_above`",
    ),
    d(
        "work_queue.*.backlog_mean",
        "items",
        "time-average number of items waiting for a worker",
    ),
    d(
        "work_queue.*.backlog_max",
        "items",
        "most items waiting at once",
    ),
    d(
        "work_queue.*.backlog_end",
        "items",
        "items still waiting at the horizon",
    ),
    d(
        "work_queue.*.wait_mean_s",
        "s",
        "mean time from entering the queue to a worker taking the item",
    ),
    d("work_queue.*.wait_p99_s", "s", "99th percentile of that"),
    d(
        "work_queue.*.high_wait_mean_s",
        "s",
        "mean wait of high-priority items (`low_priority = \"delay\"`)",
    ),
    d(
        "work_queue.*.low_wait_mean_s",
        "s",
        "mean wait of low-priority items (`low_priority = \"delay\"`)",
    ),
    d(
        "work_queue.*.oldest_age_max_s",
        "s",
        "the greatest age the oldest waiting item reached",
    ),
    d(
        "work_queue.*.oldest_age_end_s",
        "s",
        "age of the oldest item still waiting at the horizon (0: none waits)",
    ),
    d(
        "work_queue.*.workers_mean",
        "workers",
        "time-average workers up",
    ),
    d(
        "work_queue.*.worker_hours",
        "h",
        "worker-hours over the measured window",
    ),
    d(
        "work_queue.*.cost_usd",
        "USD",
        "worker-hours times `worker_hour_usd`",
    ),
    d(
        "work_queue.*.producer_blocked_s",
        "s",
        "time the producers were blocked by backpressure",
    ),
    d(
        "work_queue.*.refused",
        "items",
        "the steady producer's items refused while backpressure held the producers back",
    ),
    d(
        "work_queue.*.upload_s",
        "s",
        "time from the bulk upload's start to its last item put (NaN: not done by the horizon)",
    ),
    d(
        "work_queue.*.scale_ups",
        "decisions",
        "times the autoscaler asked for more workers",
    ),
];
