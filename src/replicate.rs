//! Running a scenario's replications on a worker pool, with a progress bar: the machinery
//! `run`, `sweep`, `compare` and the recorded runs share.

use crate::failure::Failure;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use scenarios::Loaded;
use std::io::IsTerminal;

/// What a run produced, reduced across replications in replication order (the library's
/// reduction: the command line and the library give the same bytes).
pub(crate) type Simulated = faultline::Replicated;

/// Runs every replication of `loaded` on a pool of `threads` workers, with a progress bar.
pub(crate) fn simulate(loaded: &Loaded, threads: Option<usize>) -> Result<Simulated, Failure> {
    let pool = thread_pool(threads)?;
    let reps = loaded.scenario.replications;
    let bar = progress_bar(reps as u64, "replications");
    let result = pool.install(|| replicate(loaded, || bar.inc(1)));
    bar.finish_and_clear();
    result
}

/// A worker pool; results never depend on its size.
pub(crate) fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    if threads == Some(0) {
        return Err(Failure::Input("--threads must be at least 1".to_string()));
    }
    sim_core::replications::thread_pool(threads).map_err(|e| Failure::Runtime(e.to_string()))
}

/// Runs every replication of `loaded` in the current pool and reduces them in replication order.
/// A replication whose virtual time stops advancing fails the run (the first such, in
/// replication order, is named).
pub(crate) fn replicate(
    loaded: &Loaded,
    on_replication: impl Fn() + Sync,
) -> Result<Simulated, Failure> {
    let seed = loaded.scenario.seed;
    replicate_with(loaded, on_replication, |i| {
        models::run_replication(&loaded.world, seed, i)
    })
}

/// [`replicate`], running replication `i` with `run_one(i)`.
pub(crate) fn replicate_with(
    loaded: &Loaded,
    on_replication: impl Fn() + Sync,
    run_one: impl Fn(u32) -> Result<models::RunOutput, models::RunAborted> + Sync,
) -> Result<Simulated, Failure> {
    faultline::run::replicate_with(loaded, on_replication, run_one).map_err(Failure::from)
}

/// A progress bar on stderr when it is a terminal; hidden otherwise, so logs stay clean.
pub(crate) fn progress_bar(len: u64, unit: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(&format!("{{bar:40}} {{pos}}/{{len}} {unit}  eta {{eta}}"))
            .expect("static template"),
    );
    bar
}
