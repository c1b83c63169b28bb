//! Running a loaded scenario: every replication on a worker pool, reduced in replication order
//! into the same [`Report`] `faultline run` writes (`tests/library.rs` checks the bytes).

use crate::error::Error;
use reports::Report;
use scenarios::{Loaded, Override, canonical_json};
use sim_core::series::{CdfSummary, SeriesSummary, summarize_cdf, summarize_series};
use sim_core::summary::{MetricSummary, summarize};

/// How to run: the seed and replication count override the scenario's own (and are recorded
/// in the report's canonical scenario, as `--seed` and `--replications` are); the thread count
/// changes nothing but the time it takes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Worker threads (default: all cores).
    pub threads: Option<usize>,
    /// Independent replications (default: the scenario's).
    pub replications: Option<u32>,
    /// Master seed (default: the scenario's).
    pub seed: Option<u64>,
}

impl RunOptions {
    /// These options with `threads` workers.
    pub fn threads(self, threads: usize) -> RunOptions {
        RunOptions {
            threads: Some(threads),
            ..self
        }
    }

    /// These options with `replications` replications.
    pub fn replications(self, replications: u32) -> RunOptions {
        RunOptions {
            replications: Some(replications),
            ..self
        }
    }

    /// These options with master seed `seed`.
    pub fn seed(self, seed: u64) -> RunOptions {
        RunOptions {
            seed: Some(seed),
            ..self
        }
    }

    /// `before`, then the seed and replications as overrides (so the canonical scenario
    /// records them).
    pub(crate) fn overrides(&self, mut before: Vec<Override>) -> Result<Vec<Override>, Error> {
        if let Some(seed) = self.seed {
            before.push(Override::parse(&format!("seed={seed}")).map_err(Error::Input)?);
        }
        if let Some(r) = self.replications {
            before.push(Override::parse(&format!("replications={r}")).map_err(Error::Input)?);
        }
        Ok(before)
    }
}

/// Runs every replication of `loaded` on a pool of `threads` workers and builds its report.
pub(crate) fn run_loaded(
    name: &str,
    loaded: &Loaded,
    threads: Option<usize>,
) -> Result<Report, Error> {
    let pool = thread_pool(threads)?;
    pool.install(|| replicate(name, loaded))
}

/// A worker pool of `threads` (default: all cores).
pub(crate) fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Error> {
    if threads == Some(0) {
        return Err(Error::Input("threads must be at least 1".to_string()));
    }
    sim_core::replications::thread_pool(threads).map_err(|e| Error::Run(e.to_string()))
}

/// Every replication of `loaded` in the current pool, reduced in replication order: the first
/// replication that fails (in replication order) fails the run.
pub(crate) fn replicate(name: &str, loaded: &Loaded) -> Result<Report, Error> {
    let seed = loaded.scenario.seed;
    let replicated = replicate_with(
        loaded,
        || {},
        |i| models::run_replication(&loaded.world, seed, i),
    )?;
    Ok(replicated.report(name, &loaded.scenario))
}

/// What a run produced, reduced across replications in replication order: the summaries a
/// [`Report`] holds, plus the events simulated and what a recorded replication wrote.
pub struct Replicated {
    /// Every metric with its mean and intervals across replications.
    pub metrics: Vec<MetricSummary>,
    /// The time series (none when the run has no buckets).
    pub series: Option<SeriesSummary>,
    /// The end-to-end latency distribution.
    pub latency_cdf: CdfSummary,
    /// Events simulated, summed over replications.
    pub events: u64,
    /// What the recorded replication wrote (`--requests`, `--trace`), if one was recorded.
    pub recorded: Option<models::record::Recorded>,
}

impl Replicated {
    /// The report of this run: the same bytes whether it came from `run`, a sweep point or a
    /// comparison arm.
    pub fn report(self, name: &str, scenario: &scenarios::Scenario) -> Report {
        Report::new(
            name,
            scenario.seed,
            scenario.replications,
            canonical_json(scenario),
            self.metrics,
        )
        .with_series(self.series, Some(self.latency_cdf))
    }
}

/// Runs replication `i` of `loaded` with `run_one(i)` for every `i` in the current pool and
/// reduces them in replication order, calling `on_replication` as each ends (a progress bar).
/// A replication whose virtual time stops advancing fails the run (the first such, in
/// replication order, is named). The command line and the library both run through here.
pub fn replicate_with(
    loaded: &Loaded,
    on_replication: impl Fn() + Sync,
    run_one: impl Fn(u32) -> Result<models::RunOutput, models::RunAborted> + Sync,
) -> Result<Replicated, Error> {
    let outputs: Vec<_> = sim_core::replications::in_order(loaded.scenario.replications, |i| {
        let out = run_one(i);
        on_replication();
        out.map_err(|stalled| Error::Run(format!("replication {i}: {stalled}")))
    })
    .into_iter()
    .collect::<Result<_, _>>()?;
    let events = outputs.iter().map(|o| o.events).sum();
    let mut metrics = Vec::with_capacity(outputs.len());
    let mut series = Vec::with_capacity(outputs.len());
    let mut cdfs = Vec::with_capacity(outputs.len());
    let mut recorded = None;
    for o in outputs {
        recorded = recorded.or(o.recorded);
        metrics.push(o.metrics);
        series.push(o.series);
        cdfs.push(o.latency_cdf);
    }
    Ok(Replicated {
        metrics: summarize(&metrics),
        series: summarize_series(&series).filter(|s| !s.grid.is_empty()),
        latency_cdf: summarize_cdf(&cdfs),
        events,
        recorded,
    })
}
