//! Workflows: each workflow example's finding, reproduced through the binary, against theory
//! where there is one.

mod common;
use common::{assert_in_ci99, mean, metric, per_rep, run_report};

/// Daly's exact expected completion time (seconds) of a job of `work` seconds checkpointing
/// every `tau` at cost `c`, on a node with exponential crashes of mean `m` and restart `r`
/// (interruptible): each segment needing `s` takes `m·e^(r/m)·(e^(s/m) − 1)`.
fn daly(work: f64, tau: f64, c: f64, m: f64, r: f64) -> f64 {
    let segment = |s: f64| m * (r / m).exp() * ((s / m).exp() - 1.0);
    let whole = (work / tau).floor();
    let rest = work - whole * tau;
    whole * segment(tau + c) + if rest > 0.0 { segment(rest + c) } else { 0.0 }
}

const MIN: f64 = 60.0;
const HOUR: f64 = 3600.0;

#[test]
fn training_checkpoint_matches_dalys_expected_completion_inside_its_99_ci() {
    let (r, _) = run_report("example:training-checkpoint", &[]);
    // W = 24 h, τ = 1 h, C = 5 min, M = 8 h, R = 10 min: 1705.73 min.
    let exact = daly(24.0 * HOUR, HOUR, 5.0 * MIN, 8.0 * HOUR, 10.0 * MIN);
    assert!((exact / 60.0 - 1705.73).abs() < 0.01, "{exact}");
    // Every job that started finished (no job cut off by the horizon biases the mean).
    assert_eq!(
        per_rep(&r, "workflow.finetune.started"),
        per_rep(&r, "workflow.finetune.succeeded")
    );
    // Half-width at most 0.1% of the value: containing the theory means something.
    assert_in_ci99(
        &r,
        "workflow.finetune.activity.train.latency_mean_s",
        exact,
        exact * 1e-3,
    );
    // 24 checkpoints per job, and crashes (restarts' included) at the rate the exposure
    // implies: a node is exposed for the job's whole completion time, at 1/M, so by Wald's
    // identity E[crashes] = E[T]/M = 3.55 per job.
    let jobs = mean(&r, "workflow.finetune.succeeded");
    assert_eq!(mean(&r, "workflow.finetune.checkpoints"), 24.0 * jobs);
    let crashes = mean(&r, "workflow.finetune.node_crashes") / jobs;
    let expected = exact / (8.0 * HOUR);
    assert!(
        (crashes / expected - 1.0).abs() < 0.01,
        "{crashes} vs {expected}"
    );
}

#[test]
fn a_sweep_over_the_interval_finds_young_dalys_optimum_within_one_grid_step() {
    let young = (2.0_f64 * 5.0 * MIN * 8.0 * HOUR).sqrt();
    assert!((young / MIN - 69.28).abs() < 0.01);
    let grid = [30.0, 45.0, 60.0, 75.0, 90.0, 105.0, 120.0];
    let step = 15.0 * MIN;
    let mut best = (f64::INFINITY, 0.0);
    for minutes in grid {
        let set = format!("tenants.0.workflow.activities.0.compute.checkpoint_every={minutes}m");
        let (r, _) = run_report("example:training-checkpoint", &["--set", &set]);
        let name = "workflow.finetune.activity.train.latency_mean_s";
        // Every point agrees with the closed form too.
        let exact = daly(
            24.0 * HOUR,
            minutes * MIN,
            5.0 * MIN,
            8.0 * HOUR,
            10.0 * MIN,
        );
        assert_in_ci99(&r, name, exact, exact * 2e-3);
        let m = metric(&r, name).mean;
        if m < best.0 {
            best = (m, minutes * MIN);
        }
    }
    assert!(
        (best.1 - young).abs() <= step,
        "the sweep's best interval {} s is not within {step} s of √(2CM) = {young} s",
        best.1
    );
}

/// The retrieval latency: lognormal, median 200 ms, p99 800 ms.
fn retrieval_sigma() -> f64 {
    (800.0_f64 / 200.0).ln() / 2.326_347_874
}

/// The standard normal CDF (Abramowitz–Stegun 7.1.26 via erf), good to 1e-7.
fn phi(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + erf)
    } else {
        0.5 * (1.0 - erf)
    }
}

#[test]
fn rag_latency_spike_dead_letters_the_spikes_share_of_executions() {
    let (r, _) = run_report("example:rag-latency-spike", &[]);
    // During the spike (30 of 120 minutes) a retrieval takes 25 × lognormal(200 ms): one
    // attempt beats its 1 s start-to-close timeout with p = Φ(ln(1/5)/σ); all three fail with
    // (1 − p)³. Outside the spike an attempt exceeds 1 s with 1 − Φ(ln 5/σ), three in a row
    // practically never.
    let p = phi((0.2_f64).ln() / retrieval_sigma());
    assert!(p < 0.005, "{p}");
    let exact = 0.25 * (1.0 - p).powi(3);
    assert_in_ci99(&r, "workflow.rag.dlq_share", exact, 0.005);
    assert_eq!(mean(&r, "workflow.rag.degraded"), 0.0);
    // Retrieval is what failed: each dead-lettered execution spent its three retrieval
    // attempts.
    let dlq = per_rep(&r, "workflow.rag.dlq");
    let failed = per_rep(&r, "workflow.rag.activity.retrieve.failures");
    for (d, f) in dlq.iter().zip(&failed) {
        assert!(*f >= 3.0 * d, "{f} retrieval failures for {d} dead letters");
    }
    // The success SLO over the executions is the workflow's own success ratio (both count the
    // executions that ended, once each), and 0.75 is far below 99%: missed in every run.
    assert_eq!(
        per_rep(&r, "slo.pipeline-success.sli"),
        per_rep(&r, "workflow.rag.success_ratio")
    );
    assert_eq!(mean(&r, "slo.pipeline-success.met"), 0.0);
    // Its page (14.4× over 1h/5m, so a failed share above 14.4% over the last hour, the short
    // window long since all bad) is armed at 1 h, as the spike begins. Executions arrive at a
    // steady rate and every one whose retrieval starts in the spike fails 3.6 s later (three
    // 1 s timeouts, 200 and 400 ms apart), so the share passes 14.4% at 0.144 h + 3.6 s =
    // 522 s into the spike on average; rules run every minute: it fires at 540 s, or at 600 s
    // when the Poisson arrivals of those 9 minutes fall a standard deviation short. Once per
    // run, detecting the spike and nothing else.
    for (i, t) in per_rep(&r, "slo.pipeline-success.detection_time_s.page")
        .iter()
        .enumerate()
    {
        assert!(*t == 540.0 || *t == 600.0, "replication {i}: {t} s");
    }
    assert!(
        per_rep(&r, "slo.pipeline-success.alerts.page")
            .iter()
            .all(|&n| n == 1.0)
    );
    assert_eq!(mean(&r, "slo.pipeline-success.alert_recall"), 1.0);
    assert_eq!(mean(&r, "slo.pipeline-success.alert_precision"), 1.0);
}

#[test]
fn rag_latency_spike_with_a_fallback_degrades_instead_of_dead_lettering() {
    let (r, _) = run_report(
        "example:rag-latency-spike",
        &[
            "--set",
            "routes.retrieval.fallback={ latency_over = \"800ms\", default_response = true }",
        ],
    );
    assert_eq!(mean(&r, "workflow.rag.dlq"), 0.0);
    // Degraded: every execution whose retrieval ran in the spike, and outside it the 1% of
    // retrievals slower than 800 ms (the p99).
    let degraded: Vec<f64> = per_rep(&r, "workflow.rag.degraded")
        .iter()
        .zip(per_rep(&r, "workflow.rag.succeeded"))
        .map(|(d, s)| d / s)
        .collect();
    let share = degraded.iter().sum::<f64>() / degraded.len() as f64;
    let exact = 0.25 + 0.75 * 0.01;
    assert!((share - exact).abs() < 0.004, "{share} vs {exact}");
}

#[test]
fn pipeline_crash_resume_durable_execution_loses_less_and_repeats_fewer_side_effects() {
    let (durable, _) = run_report("example:pipeline-crash-resume", &[]);
    let (restart, _) = run_report(
        "example:pipeline-crash-resume",
        &["--set", "tenants.0.workflow.durable=false"],
    );
    let m = |r: &serde_json::Value, name: &str| metric(r, &format!("workflow.research.{name}"));
    // Resumes in one, restarts in the other, one per crash.
    assert_eq!(
        m(&durable, "resumes").mean,
        m(&durable, "worker_crashes").mean
    );
    assert_eq!(m(&durable, "restarts").mean, 0.0);
    assert_eq!(
        m(&restart, "restarts").mean,
        m(&restart, "worker_crashes").mean
    );
    // Worse without durability, each beyond the other's 99% interval.
    for (name, factor) in [
        ("lost_work_s", 1.5),
        ("duplicate_effects", 5.0),
        ("latency_p99_s", 1.05),
    ] {
        let (d, r) = (m(&durable, name), m(&restart, name));
        assert!(
            r.mean > factor * d.mean && r.ci99.0 > d.ci99.1,
            "{name}: restart {} vs durable {}",
            r.mean,
            d.mean
        );
    }
    // The repeated calls cost more on average (about 2.5%: the replications' spread is as
    // large, so only the means are compared).
    let cost = |r: &serde_json::Value| m(r, "cost_mean_usd").mean;
    assert!(cost(&restart) > 1.01 * cost(&durable));
    // Crashes are a Poisson process over each execution's exposure (its time in flight, less
    // the 30 s a crashed worker is down): crashes ≈ exposure / 10 min.
    let executions = m(&durable, "succeeded").mean;
    let crashes = m(&durable, "worker_crashes");
    let exposure = m(&durable, "latency_mean_s").mean * executions - crashes.mean * 30.0;
    let expected = exposure / 600.0;
    assert!(
        crashes.ci99.0 <= expected && expected <= crashes.ci99.1,
        "crashes {:?} vs {expected}",
        crashes.ci99
    );
    // Every execution succeeds either way: the activities' default retries are unlimited.
    assert_eq!(m(&durable, "dlq").mean, 0.0);
    assert_eq!(m(&restart, "dlq").mean, 0.0);
}
