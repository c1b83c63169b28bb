//! An up-front estimate of a run's size: events per replication and bytes of memory, from the
//! configuration alone, before anything is allocated. The command line shows it (`validate`)
//! and refuses runs whose estimate exceeds the memory limit, so a typo such as 65,535 tenants
//! or four billion replications is an error with the figures, not an aborted process.
//!
//! The estimate counts what dominates: latency histograms (two per tenant, one per route,
//! three per GPU pool, one per threshold SLO, two for the whole run), time series (at most 500
//! buckets each), the output each finished replication keeps until the reduction, and calls in
//! flight (bounded separately at run time: see [`WorldConfig::max_in_flight`]). A test checks it
//! against the allocator's own count on every built-in example.

use crate::WorldConfig;
use sim_core::series::{BucketGrid, QuantileSeries};
use sim_core::stats::LatencyHistogram;

/// Bytes of memory per call in flight: its request and attempt records, its queue entry and its
/// events (measured sizes, rounded up).
pub const BYTES_PER_CALL: u64 = 512;

/// Events per call, about: an arrival, a service end and, with timeouts, retries, hedges and
/// validators, a few more (M/M/c runs take 2; resilient LLM gateways 3 to 5).
const EVENTS_PER_CALL: f64 = 3.0;

/// What one run of a configuration is expected to take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Footprint {
    /// Expected events per replication (calls × 3, a rough count of the events one call schedules).
    pub events_per_replication: f64,
    /// Bytes one replication's world holds at its start.
    pub world_bytes: u64,
    /// Bytes a finished replication's output keeps until the reduction.
    pub output_bytes: u64,
}

impl Footprint {
    /// Peak bytes for `replications` run `threads` at a time.
    pub fn peak_bytes(&self, replications: u32, threads: usize) -> u64 {
        let running = (threads.max(1) as u64).min(replications.max(1) as u64);
        running
            .saturating_mul(self.world_bytes)
            .saturating_add((replications as u64).saturating_mul(self.output_bytes))
    }
}

/// The footprint of `config`.
pub fn footprint(config: &WorldConfig) -> Footprint {
    let hist = LatencyHistogram::new().heap_bytes();
    let tenants = config.tenants.len() as u64;
    let routes = config.routes.len() as u64;
    let backends = config.backends.len() as u64;
    let pools = config.backends.iter().filter(|b| b.pool.is_some()).count() as u64;
    let slos = config.slos.len() as u64;
    let histograms = 2 + 2 * tenants + routes + 3 * pools + slos;
    let buckets = BucketGrid::for_window(config.warmup, config.horizon).len() as u64;
    // Series: the run's own, per backend (utilisation, breaker states, costs), per SLO (SLI,
    // budget, burn rate, alert, and its good/total counts), per pool (KV, replicas,
    // preemptions, TTFT mean and p99); a level series keeps a value and a time-weighted sum per
    // bucket.
    let series = 10 + 6 * backends + 8 * slos + 5 * pools;
    // A pool's TTFT tail keeps a small histogram per bucket.
    let grid = BucketGrid::for_window(config.warmup, config.horizon);
    let series_bytes = series * buckets * 16 + pools * QuantileSeries::bytes_for(grid);
    // Per entity records: names, streams, counters.
    let records = 2048 * (tenants + routes + backends) + 4096 * slos;
    let replica_bytes: u64 = config
        .backends
        .iter()
        .filter_map(|b| b.pool.as_ref())
        .map(|p| p.replicas as u64 * 1024)
        .sum();
    let world_bytes = 64 * 1024 + histograms * hist + series_bytes + records + replica_bytes;
    // The output: a value per metric (about 40 per backend, 10 per tenant and route, 30 per
    // SLO), the series means, and the latency distribution per tenant.
    let metrics = 60 + 40 * backends + 10 * (tenants + routes) + 30 * slos;
    let output_bytes = metrics * 64 + series * buckets * 8 + (tenants + 1) * 51 * 8;
    let seconds = config.horizon as f64 / 1e9;
    let calls: f64 = config
        .tenants
        .iter()
        .map(|t| {
            let turns = t.agent_loop.as_ref().map_or(1.0, |_| 4.0);
            let rate_jobs = t.arrivals.mean_rate_per_s() * seconds;
            // A trace replayed once brings at most its rows (all of them may share one
            // instant, where a rate would be infinite).
            let jobs = match &t.arrivals {
                crate::workload::ArrivalSpec::Trace { trace, replay } if !replay.looping => {
                    trace.len() as f64
                }
                _ if rate_jobs.is_finite() => rate_jobs,
                _ => 0.0,
            };
            jobs * t.steps.len().max(1) as f64 * turns
        })
        .sum();
    Footprint {
        events_per_replication: calls * EVENTS_PER_CALL + periodic_events(config),
        world_bytes,
        output_bytes,
    }
}

/// Events that come from clocks rather than calls: autoscaler looks, SLO evaluations and time
/// slices, outage and degradation processes, MMPP phase changes. A period of a nanosecond makes
/// these alone run for days; the estimate lets the command line refuse it.
fn periodic_events(config: &WorldConfig) -> f64 {
    use crate::config::EpisodeTiming;
    use crate::slo::Budgeting;
    use crate::workload::ArrivalSpec;
    let horizon = config.horizon as f64;
    // Events over the run of something that happens every `period` nanoseconds (at least one).
    let every = |period: f64| horizon / period.max(1.0);
    let mut events = 0.0;
    for b in &config.backends {
        if let Some(a) = b.pool.as_ref().and_then(|p| p.autoscale.as_ref()) {
            events += every(a.interval as f64);
        }
        for e in &b.episodes {
            if let EpisodeTiming::Process { up, down } = &e.timing {
                events += 2.0 * every(up.mean() + down.mean());
            }
        }
        if let Some(d) = &b.degradation {
            events += 2.0 * every((d.normal_mean + d.degraded_mean) as f64);
        }
    }
    for slo in &config.slos {
        events += every(slo.alerting.interval as f64);
        if let Budgeting::Timeslices { slice, .. } = slo.budgeting {
            events += every(slice as f64);
        }
    }
    for t in &config.tenants {
        if let ArrivalSpec::Mmpp {
            mean_base,
            mean_burst,
            ..
        } = &t.arrivals
        {
            events += 2.0 * every((mean_base + mean_burst) as f64);
        }
    }
    events
}
