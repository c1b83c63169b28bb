//! `faultline import` and `faultline export`: the command-line side of the `interop` crate.
//! Every scenario an import writes is loaded and built before it is written, so what comes out
//! runs with `faultline run`.

use crate::failure::Failure;
use clap::Subcommand;
use scenarios::{Format, Source, load};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// A LiteLLM proxy/router config (model_list, router_settings, litellm_settings) → scenario
    /// TOML; `example:litellm-loadbalance`, `example:litellm-fallbacks` and
    /// `example:litellm-latency` are built in.
    #[command(
        after_help = "Example:\n  faultline import litellm config.yaml --out router.toml\n  \
        faultline run router.toml"
    )]
    Litellm {
        config: PathBuf,
        /// Write the scenario here (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// OpenSLO v1 (SLO, SLI, AlertPolicy, AlertCondition) or sloth specs → `[[slos]]`.
    #[command(
        after_help = "Example:\n  faultline import openslo slo.yaml sli.yaml --into router.toml \
        --out with-slos.toml"
    )]
    Openslo {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Append the SLOs to this scenario (TOML, without [[slos]]) and check the result.
        #[arg(long, value_name = "SCENARIO")]
        into: Option<PathBuf>,
        /// Write the result here (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
pub enum ExportCommand {
    /// Prometheus recording and multi-window burn-rate alerting rules for a scenario's SLOs.
    #[command(
        after_help = "Examples:\n  faultline export prometheus example:slo-burn-alerts > slo-rules.yaml\n  \
        faultline export prometheus faultline-out/quickstart/report.json --out rules.yaml"
    )]
    Prometheus {
        /// A scenario file, `example:NAME`, or a report.json (its embedded scenario).
        source: String,
        /// Write the rules here (default: stdout).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// LiteLLM configs built into the binary, written after LiteLLM's documented examples (the
/// ones `tests/interop.rs` imports): `example:NAME`.
const LITELLM_EXAMPLES: [(&str, &str); 3] = [
    (
        "litellm-loadbalance",
        include_str!("../tests/fixtures/interop/litellm-loadbalance.yaml"),
    ),
    (
        "litellm-fallbacks",
        include_str!("../tests/fixtures/interop/litellm-fallbacks.yaml"),
    ),
    (
        "litellm-latency",
        include_str!("../tests/fixtures/interop/litellm-latency.yaml"),
    ),
];

fn read_config(path: &Path) -> Result<String, Failure> {
    let spec = path.display().to_string();
    match spec.strip_prefix("example:") {
        Some(name) => LITELLM_EXAMPLES
            .iter()
            .find(|e| e.0 == name)
            .map(|e| e.1.to_string())
            .ok_or_else(|| {
                let names: Vec<&str> = LITELLM_EXAMPLES.iter().map(|e| e.0).collect();
                Failure::Input(format!(
                    "no built-in LiteLLM config named `{name}`; they are: {}",
                    names.join(", ")
                ))
            }),
        None => read(path),
    }
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .map_err(|e| Failure::Input(format!("{}: cannot read the file: {e}", path.display())))
}

fn emit(text: &str, out: Option<&Path>) -> Result<(), Failure> {
    match out {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| Failure::Runtime(format!("{}: cannot write: {e}", p.display()))),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Loads scenario text the way `faultline run` would, so an import never writes a scenario
/// that does not run.
fn check_scenario(origin: &str, text: &str) -> Result<(), Failure> {
    let source = Source::from_text(origin, "imported", text.to_string(), Format::Toml);
    load(&source, &[])
        .map(|_| ())
        .map_err(|e| Failure::Input(format!("the imported scenario does not load: {e}")))
}

pub fn import(cmd: ImportCommand) -> Result<ExitCode, Failure> {
    match cmd {
        ImportCommand::Litellm { config, out } => {
            let file = config.display().to_string();
            let text = read_config(&config)?;
            let imported = interop::litellm::import(&file, &text)
                .map_err(|e| Failure::Input(e.to_string()))?;
            check_scenario(&format!("{file} (imported)"), &imported.toml)?;
            for w in &imported.warnings {
                eprintln!("{w}");
            }
            emit(&imported.toml, out.as_deref())?;
        }
        ImportCommand::Openslo { files, into, out } => {
            let mut inputs = Vec::new();
            for f in &files {
                inputs.push((f.display().to_string(), read(f)?));
            }
            let imported =
                interop::openslo::import(&inputs).map_err(|e| Failure::Input(e.to_string()))?;
            let text = match &into {
                Some(base) => {
                    let mut t = read(base)?;
                    if !t.ends_with('\n') {
                        t.push('\n');
                    }
                    t.push('\n');
                    t.push_str(&imported.toml);
                    check_scenario(&format!("{} with imported SLOs", base.display()), &t)?;
                    t
                }
                None => imported.toml.clone(),
            };
            for w in &imported.warnings {
                eprintln!("{w}");
            }
            emit(&text, out.as_deref())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn export(cmd: ExportCommand) -> Result<ExitCode, Failure> {
    let ExportCommand::Prometheus { source, out } = cmd;
    let src = if source.ends_with(".json") && !source.starts_with("example:") {
        match reports::StoredReport::read(Path::new(&source)) {
            Ok(stored) => {
                let text =
                    serde_json::to_string_pretty(&stored.scenario).expect("JSON values serialize");
                let origin = format!("{source} (embedded scenario)");
                Source::from_text(&origin, &stored.name, text, Format::Json)
            }
            // A scenario written as JSON, not a report.
            Err(_) => Source::open(&source).map_err(|e| Failure::Input(e.to_string()))?,
        }
    } else {
        Source::open(&source).map_err(|e| Failure::Input(e.to_string()))?
    };
    let loaded = load(&src, &[]).map_err(|e| Failure::Input(e.to_string()))?;
    let (yaml, warnings) = interop::prometheus::rules(&src.origin, &loaded.world.slos);
    for w in &warnings {
        eprintln!("{w}");
    }
    emit(&yaml, out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}
