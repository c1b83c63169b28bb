//! A scenario loaded for the library: read from a file, a string or the built-in examples,
//! with `--set`-style overrides, validated and built into a world ready to run.

use crate::error::Error;
use crate::run::{RunOptions, run_loaded};
use reports::Report;
use scenarios::{Format, Loaded, Override, Source, load};
use std::path::Path;

/// A valid scenario and the world built from it. Cheap to run many times; every run with the
/// same options gives the same report, byte for byte.
#[derive(Debug, Clone)]
pub struct Scenario {
    source: Source,
    overrides: Vec<Override>,
    loaded: Loaded,
}

impl Scenario {
    /// A scenario file (`.toml` or `.json`; other names are sniffed) or `example:NAME`, as the
    /// command line takes it.
    pub fn open(spec: &str) -> Result<Scenario, Error> {
        Scenario::from_source(Source::open(spec).map_err(input)?)
    }

    /// A scenario file (`.toml` or `.json`).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Scenario, Error> {
        let path = path.as_ref();
        let spec = path
            .to_str()
            .ok_or_else(|| Error::Input(format!("{}: the path is not UTF-8", path.display())))?;
        // A relative file named like `example:x` would read as an example: name it as a path.
        let spec = if spec.starts_with("example:") {
            format!("./{spec}")
        } else {
            spec.to_string()
        };
        Scenario::open(&spec)
    }

    /// A built-in example by name (`faultline examples` lists them).
    pub fn example(name: &str) -> Result<Scenario, Error> {
        Scenario::from_source(Source::example(name).map_err(input)?)
    }

    /// Scenario text in TOML; `name` names it in messages and reports. Relative paths inside
    /// it resolve against the current directory.
    pub fn from_toml(name: &str, text: &str) -> Result<Scenario, Error> {
        Scenario::from_source(Source::from_text(
            name,
            name,
            text.to_string(),
            Format::Toml,
        ))
    }

    /// Scenario text in JSON, as [`Scenario::from_toml`].
    pub fn from_json(name: &str, text: &str) -> Result<Scenario, Error> {
        Scenario::from_source(Source::from_text(
            name,
            name,
            text.to_string(),
            Format::Json,
        ))
    }

    fn from_source(source: Source) -> Result<Scenario, Error> {
        let loaded = load(&source, &[]).map_err(input)?;
        Ok(Scenario {
            source,
            overrides: Vec::new(),
            loaded,
        })
    }

    /// The scenario with one more override, `KEY.PATH=VALUE` as `--set` takes it (e.g.
    /// `gateway.retry.max_attempts=3`, `horizon=1h`). Overrides apply in order, before
    /// validation, so the result is checked whole.
    pub fn set(&self, assignment: &str) -> Result<Scenario, Error> {
        let mut overrides = self.overrides.clone();
        overrides.push(Override::parse(assignment).map_err(Error::Input)?);
        self.with_overrides(overrides)
    }

    pub(crate) fn with_overrides(&self, overrides: Vec<Override>) -> Result<Scenario, Error> {
        let loaded = load(&self.source, &overrides).map_err(input)?;
        Ok(Scenario {
            source: self.source.clone(),
            overrides,
            loaded,
        })
    }

    /// The overrides applied so far.
    pub(crate) fn overrides(&self) -> &[Override] {
        &self.overrides
    }

    /// The short name reports carry: the file stem or the example's name.
    pub fn name(&self) -> &str {
        &self.source.name
    }

    /// The scenario's typed values, every default filled in and every override applied.
    pub fn spec(&self) -> &scenarios::Scenario {
        &self.loaded.scenario
    }

    /// The canonical scenario as JSON: what `report.json` embeds and `faultline rerun` reads.
    pub fn canonical_json(&self) -> serde_json::Value {
        scenarios::canonical_json(&self.loaded.scenario)
    }

    /// The world built from the scenario, as the simulator runs it (for
    /// [`models::footprint::footprint`], say).
    pub fn world(&self) -> &models::WorldConfig {
        &self.loaded.world
    }

    /// Things that are valid but probably not meant, each naming its place.
    pub fn warnings(&self) -> &[String] {
        &self.loaded.warnings
    }

    /// Runs every replication (in parallel; the report does not depend on the thread count)
    /// and summarises them: the report `faultline run` writes as `report.json`.
    pub fn run(&self, options: &RunOptions) -> Result<Report, Error> {
        let with_options = self.with_overrides(options.overrides(self.overrides.clone())?)?;
        run_loaded(
            &with_options.source.name,
            &with_options.loaded,
            options.threads,
        )
    }

    pub(crate) fn loaded(&self) -> &Loaded {
        &self.loaded
    }
}

fn input(e: scenarios::ScenarioError) -> Error {
    Error::Input(e.to_string())
}
