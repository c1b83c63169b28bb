//! faultline as a library: load a scenario (a file, a string or a built-in example, with
//! `--set`-style overrides), run it with options (threads, replications, seed), and read the
//! report as typed values or as the JSON `faultline run` writes; sweep a parameter grid or
//! compare architectures on common random numbers the same way.
//!
//! ```
//! use faultline::{RunOptions, Scenario};
//!
//! // The M/M/1 example (λ = 0.8/s, μ = 1/s): mean time in system W = 1/(μ − λ) = 5 s.
//! let scenario = Scenario::example("mm1")?.set("horizon=20000s")?;
//! let report = scenario.run(&RunOptions::default().replications(4).seed(11))?;
//! let w = report.metric("time_in_system_mean_s").expect("every run measures it");
//! let ci = w.ci95.expect("four replications give an interval");
//! assert!(ci.low < 5.0 && 5.0 < ci.high, "W = {} [{}, {}]", w.mean, ci.low, ci.high);
//! let json = report.to_json(); // byte for byte what report.json would hold
//! assert!(json.contains("\"results_digest\": \"sha256:"));
//! # Ok::<(), faultline::Error>(())
//! ```
//!
//! A run is a pure function of the scenario, its overrides and the seed: the same call gives
//! the same report, byte for byte, for any thread count. The command line (`src/main.rs`) is
//! a thin layer of arguments, files and exit codes over the same crates. Unlike the command
//! line, the library does not refuse runs by their estimated size (`--max-memory`,
//! `--max-events`): estimate one first with [`models::footprint::footprint`] of
//! [`Scenario::world`] when the scenario comes from someone else.
//!
//! The workspace's crates are re-exported for what this surface does not cover: [`scenarios`]
//! (the file format, its serde types and JSON Schema), [`models`] (the simulated world),
//! [`reports`] (report JSON, tables, plots, HTML) and [`sim_core`] (the engine).

mod error;
pub mod run;
mod scenario;
mod study;

pub use error::Error;
pub use reports::Report;
pub use reports::paired::PairedDifference;
pub use run::{Replicated, RunOptions};
pub use scenario::Scenario;
pub use sim_core::summary::{Interval, MetricSummary};
pub use study::{Comparison, SweepPoint, Variant, compare, sweep};
pub use {models, reports, scenarios, sim_core};

/// The JSON Schema (draft 2020-12) of the scenario format, as `faultline schema` prints it.
pub fn scenario_schema() -> String {
    scenarios::json_schema()
}

// The README's code blocks are tested with the library's (its Rust example must compile and
// run); it is not part of the rendered documentation.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
