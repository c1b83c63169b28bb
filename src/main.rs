//! The `faultline` command line. Library crates do the work; this file parses arguments, renders
//! errors and maps them to exit codes: 0 success, 1 run-time failure, 2 bad input or usage.

mod execute;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "faultline",
    version,
    about = "Deterministic discrete-event simulation of LLM system reliability",
    long_about = "faultline replays a scenario (tenants, traffic, gateway policies, backends) over \
                  virtual hours and reports latency, throughput and success with confidence \
                  intervals. Same scenario and seed, same bytes.",
    after_help = "Example:\n  faultline run example:quickstart\n  faultline examples"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario; write DIR/report.json, DIR/report.html and DIR/plots/.
    #[command(after_help = "Examples:\n  faultline run example:mm1\n  \
        faultline run my.toml --seed 7 --replications 30 --set gateway.retry.max_attempts=3\n  \
        faultline run example:quickstart --set backends.llm-api.concurrency=12 --out out/q12\n  \
        faultline run example:mmc --format csv > mmc.csv")]
    Run {
        /// A scenario file (.toml or .json) or example:NAME.
        scenario: String,
        #[command(flatten)]
        settings: Settings,
        /// Worker threads for replications (default: all cores). Results do not depend on it.
        #[arg(long, value_name = "T")]
        threads: Option<usize>,
        /// Output directory (default: faultline-out/NAME).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// What to print on stdout: a summary table, the report JSON, or one CSV row per metric.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Redraw a report's plots and report.html from its JSON, without rerunning.
    #[command(
        after_help = "Examples:\n  faultline plot faultline-out/quickstart/report.json\n  \
        faultline plot faultline-out/quickstart/report.json --out /tmp/pictures"
    )]
    Plot {
        report: PathBuf,
        /// Where to write plots/ and report.html (default: the report's directory).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Rerun a report's scenario and seed and check the results digest matches.
    #[command(after_help = "Example:\n  faultline rerun faultline-out/quickstart/report.json")]
    Rerun {
        report: PathBuf,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long, value_name = "T")]
        threads: Option<usize>,
    },
    /// Check a scenario without running it.
    #[command(
        after_help = "Example:\n  faultline validate my.toml --set gateway.attempt_timeout=5s"
    )]
    Validate {
        scenario: String,
        #[command(flatten)]
        settings: Settings,
    },
    /// List the built-in examples, or print one as TOML.
    #[command(after_help = "Examples:\n  faultline examples\n  faultline examples mmc > mmc.toml")]
    Examples {
        /// The example to print.
        name: Option<String>,
    },
}

/// What `run` prints on stdout (files are written the same way whatever is chosen).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// SLO verdicts, then metrics with 95% confidence intervals, 100 columns wide.
    Table,
    /// The report JSON, byte for byte what report.json holds.
    Json,
    /// name,mean,ci95_low,ci95_high,ci99_low,ci99_high per metric.
    Csv,
}

/// Changes to the scenario, applied before validation.
#[derive(clap::Args)]
struct Settings {
    /// Master seed (overrides the scenario's `seed`).
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Independent replications (overrides the scenario's `replications`).
    #[arg(long, value_name = "R")]
    replications: Option<u32>,
    /// Override any field: KEY.PATH=VALUE (repeatable), e.g. gateway.retry.max_attempts=3.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

/// A failure and the exit code it maps to.
pub enum Failure {
    /// Bad input or usage: exit 2.
    Input(String),
    /// The run itself failed: exit 1.
    Runtime(String),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            scenario,
            settings,
            threads,
            out,
            format,
        } => execute::run(&scenario, &settings.overrides(), threads, out, format),
        Command::Plot { report, out } => execute::plot(&report, out),
        Command::Rerun { report, threads } => execute::rerun(&report, threads),
        Command::Validate { scenario, settings } => {
            execute::validate(&scenario, &settings.overrides())
        }
        Command::Examples { name } => execute::examples(name.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(Failure::Input(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

impl Settings {
    /// `--seed` and `--replications` are overrides of the scenario's own fields, so the
    /// canonical scenario in the report records the values that were used.
    fn overrides(&self) -> Vec<String> {
        let mut all = Vec::new();
        if let Some(seed) = self.seed {
            all.push(format!("seed={seed}"));
        }
        if let Some(r) = self.replications {
            all.push(format!("replications={r}"));
        }
        all.extend(self.set.iter().cloned());
        all
    }
}
