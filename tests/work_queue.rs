//! Work queues and the prompt update: each example's finding, reproduced through the binary,
//! against theory where there is one.

mod common;
use common::{assert_in_ci99, mean, metric, per_rep, run_report};

/// The mean of a lognormal given by its median and 99th percentile.
fn lognormal_mean(median: f64, p99: f64) -> f64 {
    let sigma = (p99 / median).ln() / 2.326_347_874_040_841;
    median * (sigma * sigma / 2.0).exp()
}

const BACKPRESSURE: &str = "work_queues.0.backpressure={ high_water = 20000, low_water = 10000 }";
const AUTOSCALE: &str =
    "work_queues.0.autoscale={ max_workers = 400, backlog_per_worker = 1000, delay = \"2m\" }";

#[test]
fn ingestion_backlog_grows_at_lambda_minus_c_mu_and_each_strategy_trades_as_stated() {
    let (fifo, _) = run_report("example:ingestion-backlog", &[]);
    // 40 workers of lognormal (median 0.3 s, p99 2 s) service: 95.62/s. The upload brings
    // 1,000/s for 500 s on top of 20/s: the backlog grows at 924.4/s to 462,192.
    let capacity = 40.0 / lognormal_mean(0.3, 2.0);
    assert!((capacity - 95.616).abs() < 0.001, "{capacity}");
    let peak = (1_020.0 - capacity) * 500.0;
    assert_in_ci99(&fifo, "work_queue.ingest.backlog_max", peak, 0.002 * peak);
    // First come, first served: users' documents wait behind the bulk, over an hour at worst.
    assert!(mean(&fifo, "work_queue.ingest.oldest_age_max_s") > 3_600.0);
    assert!(mean(&fifo, "work_queue.ingest.wait_p99_s") > 3_600.0);
    // Everything is done by the horizon.
    assert_eq!(
        per_rep(&fifo, "work_queue.ingest.backlog_end"),
        vec![0.0; 4]
    );

    // Backpressure: the backlog never passes the high-water mark, the oldest age falls to what
    // 20,000 items of capacity take (209 s) and a little more, and the upload stretches to the
    // time the workers take for what it put: between (N − 20,000)/(c/E[S]) and
    // N/(c/E[S] − 20/s), refusing users meanwhile.
    let (bp, _) = run_report("example:ingestion-backlog", &["--set", BACKPRESSURE]);
    assert_eq!(
        per_rep(&bp, "work_queue.ingest.backlog_max"),
        vec![20_000.0; 4]
    );
    let oldest = mean(&bp, "work_queue.ingest.oldest_age_max_s");
    assert!(
        oldest > 20_000.0 / capacity && oldest < 1.1 * 20_000.0 / capacity,
        "{oldest}"
    );
    let upload = mean(&bp, "work_queue.ingest.upload_s");
    assert!(
        upload > 480_000.0 / capacity && upload < 500_000.0 / (capacity - 20.0),
        "{upload}"
    );
    // The steady producer is refused while blocked: 20/s of the blocked time.
    let blocked = mean(&bp, "work_queue.ingest.producer_blocked_s");
    let refused = mean(&bp, "work_queue.ingest.refused");
    assert!(
        (refused / (20.0 * blocked) - 1.0).abs() < 0.02,
        "{refused} vs {blocked}"
    );

    // Autoscaling: the oldest age falls by three quarters, the worker-hours rise.
    let (auto, _) = run_report("example:ingestion-backlog", &["--set", AUTOSCALE]);
    assert!(
        mean(&auto, "work_queue.ingest.oldest_age_max_s")
            < 0.3 * mean(&fifo, "work_queue.ingest.oldest_age_max_s")
    );
    assert!(mean(&auto, "work_queue.ingest.cost_usd") > mean(&fifo, "work_queue.ingest.cost_usd"));

    // Delaying the low-priority bulk: users' documents (20/s of a 95.6/s pool) barely wait.
    let (delay, _) = run_report(
        "example:ingestion-backlog",
        &["--set", "work_queues.0.low_priority=delay"],
    );
    assert!(mean(&delay, "work_queue.ingest.high_wait_mean_s") < 0.1);
    assert!(mean(&delay, "work_queue.ingest.low_wait_mean_s") > 1_000.0);
}

#[test]
fn a_prompt_three_times_as_long_raises_the_cost_per_execution_as_priced_and_alerts_on_time() {
    let (r, _) = run_report("example:prompt-cost-spike", &[]);
    // Per execution: the answer's prompt (lognormal 3,000/12,000) at $3/M, ×3 after 6 h; its
    // output (250/1,000) at $15/M; the retrieval at $0.0002 a call.
    let (p, o) = (
        lognormal_mean(3_000.0, 12_000.0),
        lognormal_mean(250.0, 1_000.0),
    );
    let before = p * 3e-6 + o * 15e-6 + 0.0002;
    let after = 3.0 * p * 3e-6 + o * 15e-6 + 0.0002;
    assert_in_ci99(
        &r,
        "workflow.support.cost_mean_before_update_usd",
        before,
        0.02 * before,
    );
    assert_in_ci99(
        &r,
        "workflow.support.cost_mean_after_update_usd",
        after,
        0.03 * after,
    );
    // The hour after the update crosses 1.5× the old hourly spend after 1.5/(after/before) of
    // the hour; the next hour's baseline (two old hours and one new) is crossed too, the one
    // after (one old, two new: 1.5 × 1.93 > 2.39) is not: two alerts in every replication.
    let alert = 6.0 * 3600.0 + 1.5 / (after / before) * 3600.0;
    assert_in_ci99(&r, "cost_guard.first_anomaly_alert_s", alert, 300.0);
    assert_eq!(per_rep(&r, "cost_guard.anomaly_alerts"), vec![2.0; 4]);
    // Before the update nothing alerts: the first alert comes after it.
    assert!(metric(&r, "cost_guard.first_anomaly_alert_s").ci99.0 > 6.0 * 3600.0);
}
