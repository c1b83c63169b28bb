//! The definitions of the metrics of GPU pools (`pool.*`), SLOs (`slo.*`), chaos experiments
//! (`chaos.*`) and the cost guard (`cost_guard.*`), kept beside [`crate::definitions`] and
//! searched after it (see [`crate::definitions::all`]).

use super::{Definition, d};

/// Every pool, SLO, chaos and cost-guard metric family; within a family the more specific
/// patterns come first.
pub const DEFINITIONS: &[Definition] = &[
    // GPU pools.
    d(
        "pool.*.preemptions_per_min",
        "1/min",
        "KV-cache preemptions per minute",
    ),
    d(
        "pool.*.preemptions",
        "count",
        "KV-cache preemptions (a running call evicted to free blocks)",
    ),
    d(
        "pool.*.preempted_requests",
        "calls",
        "calls preempted at least once",
    ),
    d(
        "pool.*.reprefill_tokens",
        "tokens",
        "prompt tokens prefilled again after preemption",
    ),
    d(
        "pool.*.prefix_hit_ratio",
        "ratio",
        "share of prompt tokens looked up at admissions that the prefix cache held (with prefix caching)",
    ),
    d(
        "pool.*.restarts_per_request_mean",
        "1",
        "mean restarts per call",
    ),
    d(
        "pool.*.restarts_per_request_max",
        "1",
        "most restarts of one call",
    ),
    d(
        "pool.*.kv_utilisation_mean",
        "ratio",
        "time-weighted share of KV blocks in use",
    ),
    d("pool.*.batch_size_*", "calls", "running batch size"),
    d("pool.*.completed", "calls", "calls the pool finished"),
    d(
        "pool.*.throughput_per_s",
        "1/s",
        "calls finished per second",
    ),
    d(
        "pool.*.output_tokens_per_s",
        "tokens/s",
        "output tokens per second",
    ),
    d(
        "pool.*.in_pool_mean",
        "calls",
        "time-weighted mean calls in the pool",
    ),
    d(
        "pool.*.queue_wait_mean_s",
        "s",
        "mean wait for admission to a replica",
    ),
    d("pool.*.sojourn_mean_s", "s", "mean time in the pool"),
    d(
        "pool.*.ttft_p50_s",
        "s",
        "pool-side median time to first token",
    ),
    d(
        "pool.*.ttft_p99_s",
        "s",
        "pool-side 99th percentile time to first token",
    ),
    d("pool.*.tpot_p50_ms", "ms", "median time per output token"),
    d(
        "pool.*.tpot_p99_ms",
        "ms",
        "99th percentile time per output token",
    ),
    d(
        "pool.*.e2e_p50_s",
        "s",
        "median time in the pool, arrival to last token",
    ),
    d("pool.*.e2e_p99_s", "s", "99th percentile of that"),
    d(
        "pool.*.replicas_mean",
        "replicas",
        "time-weighted mean replicas provisioned",
    ),
    d("pool.*.scale_ups", "count", "autoscaler scale-ups"),
    d("pool.*.scale_downs", "count", "autoscaler scale-downs"),
    d("pool.*.gpu_hours", "GPU-h", "GPU-hours provisioned"),
    d("pool.*.gpu_cost_usd", "USD", "GPU-hours times their price"),
    // SLOs.
    d(
        "slo.*.sli",
        "ratio",
        "good / total events over the compliance window current at the end",
    ),
    d(
        "slo.*.met",
        "0/1",
        "1 when no compliance window's budget was exhausted (for a run shorter than the window: not yet)",
    ),
    d(
        "slo.*.budget_consumed_max",
        "budgets",
        "the largest budget_consumed of any window",
    ),
    d(
        "slo.*.budget_consumed",
        "budgets",
        "error budget spent in the window current at the end, as a multiple of the window's budget (so far, for a run shorter than the window)",
    ),
    d(
        "slo.*.budget_remaining",
        "budgets",
        "1 - budget_consumed (negative once overspent)",
    ),
    d(
        "slo.*.time_to_exhaustion_s",
        "s",
        "from the window's start to the budget running out",
    ),
    d(
        "slo.*.windows_breached",
        "windows",
        "compliance windows whose budget ran out",
    ),
    d("slo.*.windows", "windows", "compliance windows seen"),
    d(
        "slo.*.incidents",
        "count",
        "runs of evaluations with the SLI over the incident window below objective",
    ),
    d("slo.*.mttr_s", "s", "mean incident length"),
    d("slo.*.mtbf_s", "s", "mean time between incident starts"),
    d(
        "slo.*.armed.*",
        "1",
        "1 when that rule's long window filled with post-warm-up data, so it could fire; 0 when \
         the run ended first (never evaluated, not graded)",
    ),
    d(
        "slo.*.alerts.*",
        "firings",
        "firings of that burn-rate rule",
    ),
    d(
        "slo.*.alerts",
        "firings",
        "firings of all the SLO's burn-rate rules",
    ),
    d(
        "slo.*.alert_precision",
        "ratio",
        "firings that overlapped a fault window / firings",
    ),
    d(
        "slo.*.alert_recall",
        "ratio",
        "fault windows some firing overlapped / fault windows",
    ),
    d(
        "slo.*.detection_time_s.*",
        "s",
        "from a fault's start to that rule's first firing",
    ),
    d(
        "slo.*.detection_time_s",
        "s",
        "from a fault's start to the first firing of any rule",
    ),
    d(
        "slo.*.reset_time_s",
        "s",
        "from a fault's end to the alert going quiet",
    ),
    // Chaos.
    d(
        "chaos.*.ran",
        "0/1",
        "1 when the experiment's method started",
    ),
    d(
        "chaos.*.aborted_at_s",
        "s",
        "when the safety gate aborted it",
    ),
    d(
        "chaos.*.aborted",
        "0/1",
        "1 when the safety gate aborted it",
    ),
    d(
        "chaos.*.abort_burn_rate",
        "1",
        "the burn rate that aborted it",
    ),
    d(
        "chaos.*.gate_limit",
        "1",
        "the safety gate's burn-rate limit",
    ),
    d(
        "chaos.*.steady_before",
        "0/1",
        "1 when the steady state held before the method",
    ),
    d(
        "chaos.*.steady_after",
        "0/1",
        "1 when it held again after the method",
    ),
    d(
        "chaos.*.sli_before.*",
        "ratio",
        "a probe's SLI before the method",
    ),
    d(
        "chaos.*.sli_after.*",
        "ratio",
        "a probe's SLI after the method",
    ),
    d(
        "chaos.*.bad_calls",
        "calls",
        "bad calls of the experiment's SLO during the method",
    ),
    d(
        "chaos.*.budget_burned",
        "budgets",
        "their share of one SLO window's error budget",
    ),
    d(
        "chaos.*.fallback_s",
        "s",
        "from the first fault to the first fallback answer",
    ),
    d(
        "chaos.*.fallback_within_sla",
        "0/1",
        "1 when that was within the experiment's fallback_sla",
    ),
    d("chaos.*.method_s", "s", "how long the method ran"),
    // Cost.
    d(
        "input_tokens_billed",
        "tokens",
        "prompt tokens of billed attempts",
    ),
    d(
        "output_tokens_billed",
        "tokens",
        "output tokens of billed attempts",
    ),
    d("cost_usd", "USD", "spend over the measured window"),
    d("cost_per_hour_usd", "USD/h", "spend per hour"),
    d("cost_per_success_usd", "USD", "spend per successful job"),
    d(
        "cost_guard.budget_alerts",
        "count",
        "cost-guard budget alerts",
    ),
    d(
        "cost_guard.anomaly_alerts",
        "count",
        "cost-guard anomaly alerts",
    ),
    d(
        "cost_guard.first_budget_alert_s",
        "s",
        "when the first budget alert fired",
    ),
    d(
        "cost_guard.first_anomaly_alert_s",
        "s",
        "when the first anomaly alert fired",
    ),
    d(
        "cost_guard.max_period_usd",
        "USD",
        "the largest spend in one guard period",
    ),
];
