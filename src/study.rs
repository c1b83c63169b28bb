//! Many runs of one question: a sweep over a parameter grid, and a paired comparison of
//! architectures on common random numbers. The library's side of `faultline sweep` and
//! `faultline compare`, returning reports instead of writing directories.

use crate::error::Error;
use crate::run::{RunOptions, replicate, thread_pool};
use crate::scenario::Scenario;
use rayon::prelude::*;
use reports::Report;
use reports::paired::{PairedDifference, paired_differences};
use scenarios::sweep::{Combine, parse_axis, points};

/// One point of a sweep: its place in the grid, the value of every swept key, and its report.
#[derive(Debug, Clone)]
pub struct SweepPoint {
    /// The point's index in the grid (the first axis varies slowest).
    pub index: usize,
    /// `(key path, value)` for every axis, in the order the axes were given.
    pub settings: Vec<(String, String)>,
    /// The point's report, the bytes `faultline sweep` writes for it.
    pub report: Report,
}

/// Runs `base` at every point of a grid. Each axis is `KEY.PATH=SPEC` as `faultline sweep
/// --set` takes it: a list (`1,3,5`), a range (`1..5`, `100ms..1s:100ms`) or a log range
/// (`log:1..1000:4`). With `zip`, the i-th values of every axis pair up instead of taking every
/// combination. Points run in parallel; the reports do not depend on the thread count.
pub fn sweep(
    base: &Scenario,
    axes: &[&str],
    zip: bool,
    options: &RunOptions,
) -> Result<Vec<SweepPoint>, Error> {
    let axes = axes
        .iter()
        .map(|a| parse_axis(a).map_err(|e| Error::Input(format!("sweep axis {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let combine = if zip { Combine::Zip } else { Combine::Grid };
    let grid = points(&axes, combine).map_err(Error::Input)?;
    let fixed = options.overrides(base.overrides().to_vec())?;
    // Every point is checked before any runs, so a bad value fails fast.
    let loaded = grid
        .iter()
        .map(|p| {
            let mut all = fixed.clone();
            all.extend(p.overrides());
            base.with_overrides(all)
                .map_err(|e| Error::Input(format!("sweep point {}: {e}", p.index)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pool = thread_pool(options.threads)?;
    let reports: Vec<Result<Report, Error>> = pool.install(|| {
        loaded
            .par_iter()
            .map(|s| replicate(s.name(), s.loaded()))
            .collect()
    });
    grid.into_iter()
        .zip(reports)
        .map(|(p, report)| {
            Ok(SweepPoint {
                index: p.index,
                settings: p.settings,
                report: report.map_err(|e| Error::Run(format!("sweep point {}: {e}", p.index)))?,
            })
        })
        .collect()
}

/// A paired comparison: the baseline's report, and each variant's with its paired differences.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub baseline: Report,
    pub variants: Vec<Variant>,
}

/// One variant of a comparison.
#[derive(Debug, Clone)]
pub struct Variant {
    pub report: Report,
    /// Every metric both runs have, in the baseline's order: means, the mean paired difference
    /// (variant − baseline) with its 95% interval, and the variance common random numbers
    /// saved.
    pub differences: Vec<PairedDifference>,
}

/// Runs every arm with the same seed and replication count (the options', else the first
/// arm's), so replication i of every arm sees the same traffic and draws: common random
/// numbers, and differences far tighter than independent runs give. The first arm is the
/// baseline.
pub fn compare(arms: &[Scenario], options: &RunOptions) -> Result<Comparison, Error> {
    let [first, rest @ ..] = arms else {
        return Err(Error::Input(
            "compare needs at least two scenarios".to_string(),
        ));
    };
    if rest.is_empty() {
        return Err(Error::Input(
            "compare needs at least two scenarios".to_string(),
        ));
    }
    let common = RunOptions {
        seed: Some(options.seed.unwrap_or(first.spec().seed)),
        replications: Some(options.replications.unwrap_or(first.spec().replications)),
        threads: options.threads,
    };
    let baseline = first.run(&common)?;
    let variants = rest
        .iter()
        .map(|arm| {
            let report = arm.run(&common)?;
            let differences = paired_differences(&baseline.metrics, &report.metrics);
            Ok(Variant {
                report,
                differences,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(Comparison { baseline, variants })
}
