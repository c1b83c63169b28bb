//! Running a loaded scenario: every replication on a worker pool, reduced in replication order
//! into the same [`Report`] `faultline run` writes (`tests/library.rs` checks the bytes).

use crate::error::Error;
use reports::Report;
use scenarios::{Loaded, Override, canonical_json};
use sim_core::series::{summarize_cdf, summarize_series};
use sim_core::summary::summarize;

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
    let s = &loaded.scenario;
    let outputs: Vec<_> = sim_core::replications::in_order(s.replications, |i| {
        models::run_replication(&loaded.world, s.seed, i)
            .map_err(|stalled| Error::Run(format!("replication {i}: {stalled}")))
    })
    .into_iter()
    .collect::<Result<_, _>>()?;
    let mut metrics = Vec::with_capacity(outputs.len());
    let mut series = Vec::with_capacity(outputs.len());
    let mut cdfs = Vec::with_capacity(outputs.len());
    for o in outputs {
        metrics.push(o.metrics);
        series.push(o.series);
        cdfs.push(o.latency_cdf);
    }
    let series = summarize_series(&series).filter(|s| !s.grid.is_empty());
    Ok(Report::new(
        name,
        s.seed,
        s.replications,
        canonical_json(s),
        summarize(&metrics),
    )
    .with_series(series, Some(summarize_cdf(&cdfs))))
}
