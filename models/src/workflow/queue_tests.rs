//! The work queue driven on its own scheduler, against queueing theory where it has an answer
//! (M/M/c, a fluid backlog growing at `λ − c·μ`) and against each strategy's rule.

use super::*;
use sim_core::summary::{MetricSet, t_interval};

const S: Time = 1_000_000_000;

fn queue(workers: u32, service_mean_s: f64) -> WorkQueueConfig {
    WorkQueueConfig {
        name: "q".into(),
        workers,
        service: Sampler::exponential(service_mean_s * 1e9).unwrap(),
        steady: None,
        bulk: None,
        backpressure: None,
        autoscale: None,
        low_priority: LowPriority::Fifo,
        worker_hour_usd: 0.0,
    }
}

/// One replication of `cfg` alone: its metrics and series.
fn run(
    cfg: &WorkQueueConfig,
    warmup: Time,
    horizon: Time,
    rep: u32,
) -> (MetricSet, Vec<(String, Vec<f64>)>) {
    let streams = Streams::new(11, rep);
    let mut q = WorkQueue::new(0, cfg, &streams, warmup, horizon);
    let mut sched = Scheduler::new();
    q.start(cfg, &mut sched, horizon);
    let mut restarted = warmup == 0;
    while let Some((now, e)) = sched.pop() {
        if now > horizon {
            break;
        }
        if !restarted && now >= warmup {
            q.restart(warmup);
            restarted = true;
        }
        let Event::WorkQueue { what, .. } = e else {
            unreachable!("only the queue schedules")
        };
        q.on_event(now, what, cfg, &mut sched, horizon);
    }
    let (mut m, mut series) = (MetricSet::new(), Vec::new());
    q.finish(cfg, horizon, &mut m, &mut series);
    (m, series)
}

fn get(m: &MetricSet, name: &str) -> f64 {
    m.get(&format!("work_queue.q.{name}"))
        .unwrap_or_else(|| panic!("no {name}"))
}

/// Erlang C: the probability that an arrival waits in M/M/c with offered load `a = λ/μ`.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / k as f64;
        sum += term;
    }
    let last = term * a / c as f64 * c as f64 / (c as f64 - a);
    last / (sum + last)
}

#[test]
fn a_poisson_fed_pool_of_exponential_workers_is_erlang_c() {
    // M/M/4, λ = 3.2/s, μ = 1/s: ρ = 0.8, P(wait) = 0.596432, Wq = C/(cμ − λ) = 0.745541 s,
    // Lq = λ·Wq = 2.385730.
    let (lambda, c) = (3.2, 4);
    let p_wait = erlang_c(c, lambda);
    assert!((p_wait - 0.596432).abs() < 1e-6, "{p_wait}");
    let wq = p_wait / (c as f64 - lambda);
    let lq = lambda * wq;
    let mut cfg = queue(c, 1.0);
    cfg.steady = Some(((1e9 / lambda) as Time, Priority::High));
    let (mut backlogs, mut waits) = (Vec::new(), Vec::new());
    for rep in 0..20 {
        let (m, _) = run(&cfg, 500 * S, 40_500 * S, rep);
        backlogs.push(get(&m, "backlog_mean"));
        waits.push(get(&m, "wait_mean_s"));
    }
    let l = t_interval(&backlogs, 0.99).unwrap();
    let w = t_interval(&waits, 0.99).unwrap();
    assert!(l.contains(lq), "Lq {lq} outside {l:?}");
    assert!(w.contains(wq), "Wq {wq} outside {w:?}");
    // Narrow enough for containing the theory to mean something: within 5%.
    assert!(
        l.half_width() < 0.05 * lq && w.half_width() < 0.05 * wq,
        "{l:?} {w:?}"
    );
}

#[test]
fn a_bulk_upload_above_capacity_grows_the_backlog_at_lambda_minus_c_mu() {
    // 10 items/s for 1,000 s into 4 workers of 1 item/s: the backlog grows at 6/s, to about
    // 6,000 when the upload ends (departures are Poisson(4,000): sd 63, 1%).
    let mut cfg = queue(4, 1.0);
    cfg.bulk = Some(BulkUpload {
        at: 100 * S,
        items: 10_000,
        spacing: S / 10,
        priority: Priority::High,
    });
    let (m, series) = run(&cfg, 0, 1_100 * S, 0);
    let at_end = get(&m, "backlog_end");
    assert!((at_end / 6_000.0 - 1.0).abs() < 0.03, "{at_end}");
    assert_eq!(get(&m, "upload_s"), 999.9);
    assert_eq!(get(&m, "enqueued"), 10_000.0);
    // The oldest item is the one taken last: it entered about 4,000 items (1,000 s of
    // capacity) before the last, so it has waited ~ 1,000 − 4,000/10 = 600 s.
    let oldest = get(&m, "oldest_age_end_s");
    assert!((oldest / 600.0 - 1.0).abs() < 0.03, "{oldest}");
    // The backlog series rises linearly: each 100 s bucket of the upload adds ~600.
    let (_, backlog) = series
        .iter()
        .find(|(n, _)| n.ends_with(".backlog"))
        .unwrap();
    let width = 1_100.0 / backlog.len() as f64;
    let late = backlog[backlog.len() * 9 / 11 - 1];
    let early = backlog[backlog.len() * 3 / 11];
    let slope =
        (late - early) / ((backlog.len() * 9 / 11 - 1 - backlog.len() * 3 / 11) as f64 * width);
    assert!((slope / 6.0 - 1.0).abs() < 0.05, "{slope}");
}

fn bulk(items: u64, per_s: u64, priority: Priority) -> Option<BulkUpload> {
    Some(BulkUpload {
        at: 0,
        items,
        spacing: S / per_s,
        priority,
    })
}

#[test]
fn backpressure_holds_the_backlog_under_its_high_water_mark_and_stretches_the_upload() {
    let mut cfg = queue(4, 1.0);
    cfg.bulk = bulk(4_000, 10, Priority::High);
    cfg.backpressure = Some(Backpressure {
        high_water: 200,
        low_water: 100,
    });
    let (m, series) = run(&cfg, 0, 2_000 * S, 0);
    assert_eq!(get(&m, "backlog_max"), 200.0);
    // The producer waits while the workers drain: the upload takes ~ N/(cμ) = 1,000 s, not
    // N/λ = 400 s, and it was blocked for most of the difference.
    let upload = get(&m, "upload_s");
    assert!((upload / 1_000.0 - 1.0).abs() < 0.05, "{upload}");
    let blocked = get(&m, "producer_blocked_s");
    assert!(
        blocked > 0.6 * (upload - 400.0) && blocked < upload,
        "{blocked}"
    );
    // Every item is served, none waits more than ~ 200 items' worth of capacity.
    assert_eq!(get(&m, "processed"), 4_000.0);
    assert!(get(&m, "oldest_age_max_s") < 80.0);
    let (_, backlog) = series
        .iter()
        .find(|(n, _)| n.ends_with(".backlog"))
        .unwrap();
    assert!(backlog.iter().all(|&b| b <= 200.0));
    // Without it, the same upload peaks near 400·(10 − 4)/10... the whole excess: 2,400.
    cfg.backpressure = None;
    let (m, _) = run(&cfg, 0, 2_000 * S, 0);
    assert!(get(&m, "backlog_max") > 2_200.0);
    assert!(get(&m, "oldest_age_max_s") > 500.0);
}

#[test]
fn a_steady_producer_is_refused_while_backpressure_holds() {
    // The bulk upload of the test above holds the queue at its high-water mark; a steady
    // Poisson producer of 1 item/s beside it is refused whenever the producer is blocked, so
    // its refusals are Poisson of mean λ × blocked time (within 5 standard deviations).
    let mut cfg = queue(4, 1.0);
    cfg.bulk = bulk(4_000, 10, Priority::High);
    cfg.steady = Some((S, Priority::High));
    cfg.backpressure = Some(Backpressure {
        high_water: 200,
        low_water: 100,
    });
    let (m, _) = run(&cfg, 0, 2_000 * S, 0);
    let (refused, blocked) = (get(&m, "refused"), get(&m, "producer_blocked_s"));
    assert!(blocked > 300.0, "{blocked}");
    assert!(
        (refused - blocked).abs() < 5.0 * blocked.sqrt(),
        "{refused} refused in {blocked} s blocked"
    );
    // Without backpressure nothing is refused (and no count is reported).
    cfg.backpressure = None;
    let (m, _) = run(&cfg, 0, 2_000 * S, 0);
    assert!(m.get("work_queue.q.refused").is_none());
}

#[test]
fn the_autoscaler_adds_workers_after_its_delay_and_retires_them_when_idle() {
    let mut cfg = queue(2, 1.0);
    cfg.bulk = bulk(3_000, 10, Priority::High);
    cfg.autoscale = Some(WorkerAutoscale {
        min_workers: 2,
        max_workers: 20,
        per_worker: 50,
        interval: 10 * S,
        delay: 60 * S,
    });
    let (m, series) = run(&cfg, 0, 2_000 * S, 0);
    let (_, workers) = series
        .iter()
        .find(|(n, _)| n.ends_with(".workers"))
        .unwrap();
    // Up to the maximum while the backlog lasts, back to the floor when it is gone.
    let peak = workers.iter().cloned().fold(0.0, f64::max);
    assert!(peak > 10.0 && peak <= 20.0, "{peak}");
    assert_eq!(*workers.last().unwrap(), 2.0);
    // Nobody arrives before the first look plus the delay: the first bucket is the floor.
    assert_eq!(workers[0], 2.0);
    assert!(get(&m, "scale_ups") >= 2.0);
    assert_eq!(get(&m, "processed"), 3_000.0);
    let scaled = get(&m, "oldest_age_max_s");
    cfg.autoscale = None;
    let (fixed, _) = run(&cfg, 0, 2_000 * S, 0);
    assert!(
        scaled < 0.5 * get(&fixed, "oldest_age_max_s"),
        "{scaled} vs {}",
        get(&fixed, "oldest_age_max_s")
    );
    assert!(get(&m, "worker_hours") > get(&fixed, "worker_hours"));
}

#[test]
fn low_priority_items_are_dropped_above_the_mark_or_served_after_the_rest() {
    let mut cfg = queue(4, 1.0);
    cfg.steady = Some((S / 2, Priority::High));
    cfg.bulk = bulk(2_000, 10, Priority::Low);
    cfg.low_priority = LowPriority::Drop { above: 100 };
    // The bulk alone: it fills the queue to the mark and no further; past it, its items are
    // dropped (about the 6/s excess of its 10/s over the workers' 4/s for 200 s: 1,200).
    let steady = cfg.steady.take();
    let (m, _) = run(&cfg, 0, 1_000 * S, 0);
    assert_eq!(get(&m, "backlog_max"), 100.0);
    let dropped = get(&m, "dropped");
    assert!((dropped / 1_200.0 - 1.0).abs() < 0.1, "{dropped}");
    assert_eq!(get(&m, "enqueued") + dropped, 2_000.0);
    // With the steady producer, only low-priority items are dropped: its 2/s all get in.
    cfg.steady = steady;
    let (m, _) = run(&cfg, 0, 1_000 * S, 0);
    assert!(get(&m, "enqueued") - (2_000.0 - get(&m, "dropped")) > 1_800.0);

    cfg.low_priority = LowPriority::Delay;
    let (m, _) = run(&cfg, 0, 1_000 * S, 0);
    assert_eq!(get(&m, "dropped"), 0.0);
    // The steady items (2/s, half of capacity) pass the bulk's backlog: a worker frees every
    // 1/4 s, so they wait about a quarter of a second, the bulk hundreds.
    assert!(
        get(&m, "high_wait_mean_s") < 1.0,
        "{}",
        get(&m, "high_wait_mean_s")
    );
    assert!(get(&m, "low_wait_mean_s") > 100.0);
    cfg.low_priority = LowPriority::Fifo;
    let (fifo, _) = run(&cfg, 0, 1_000 * S, 0);
    assert!(fifo.get("work_queue.q.high_wait_mean_s").is_none());
    assert!(get(&fifo, "wait_mean_s") > 100.0);
}

#[test]
fn the_oldest_age_series_is_read_at_each_buckets_end() {
    // One worker, 1 s per item, ten items at once at 0: the oldest item at t has waited t
    // until the last is taken at 9 s; at 10 s and after, none waits.
    let mut cfg = queue(1, 1.0);
    cfg.service = Sampler::deterministic(1e9).unwrap();
    cfg.bulk = Some(BulkUpload {
        at: 0,
        items: 10,
        spacing: 0,
        priority: Priority::High,
    });
    let (m, series) = run(&cfg, 0, 20 * S, 0);
    let (_, ages) = series
        .iter()
        .find(|(n, _)| n.ends_with("oldest_age_s"))
        .unwrap();
    // 20 s in 50 ms buckets (the nice width for at most 500): ends at 0.05, 0.1, ...
    assert_eq!(ages.len(), 400);
    // At 0.5 s the item taken at 0 is gone and the next waits since 0: age 0.5. At every
    // bucket end the oldest entered at 0 too (every item did): its age is the time, up to
    // 9 s, when the last is taken (the bucket end 9.0 comes before the event at 9.0).
    assert_eq!(ages[9], 0.5);
    assert_eq!(ages[169], 8.5);
    assert_eq!(ages[179], 9.0);
    assert_eq!(ages[180], 0.0);
    assert_eq!(get(&m, "oldest_age_max_s"), 9.0);
    assert_eq!(get(&m, "wait_mean_s"), 4.5);
}
