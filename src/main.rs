//! The `faultline` command line. Library crates do the work; this file parses arguments, renders
//! errors and maps them to exit codes: 0 success, 1 run-time failure, 2 bad input or usage, 3 a
//! verdict named by `--fail-on` failed (every output written).

mod compare;
mod execute;
mod failure;
mod fidelity;
mod interop_cmd;
mod records;
mod replicate;
mod shell;
mod sweep;

use clap::{Parser, Subcommand};
use execute::OutputFormat;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "faultline",
    version = reports::VERSION_LINE,
    about = "Deterministic discrete-event simulation of LLM system reliability",
    long_about = "faultline replays a scenario (tenants, traffic, gateway policies, backends) over \
                  virtual hours and reports latency, throughput and success with confidence \
                  intervals. Same scenario and seed, same bytes.",
    after_help = "Examples:\n  faultline run example:quickstart\n  faultline examples\n  \
        faultline examples quickstart > my.toml   # a starting point for your own scenario"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Refuse runs whose estimated peak memory exceeds SIZE (e.g. 16GiB, 512MiB, unlimited);
    /// default: half of this machine's memory. Also bounds calls in flight in an overloaded run.
    #[arg(long, global = true, value_name = "SIZE")]
    max_memory: Option<String>,
    /// Refuse runs estimated to take more than N events per replication (or `unlimited`);
    /// default 1e10, about half an hour of simulation.
    #[arg(long, global = true, value_name = "N")]
    max_events: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario; write DIR/report.json, DIR/report.html and DIR/plots/.
    #[command(after_help = "Examples:\n  faultline run example:mm1\n  \
        faultline run my.toml --seed 7 --replications 30 --set gateway.retry.max_attempts=3\n  \
        faultline run example:quickstart --set backends.llm-api.concurrency=12 --out out/q12\n  \
        faultline run example:mmc --format csv > mmc.csv\n  \
        faultline run example:fallback-chain --fail-on slo,abort   # exit 3 if either fails\n  \
        faultline run example:chaos-game-day --metrics 'chaos.*' --metrics '*p99*'\n  \
        faultline run example:fallback-chain --requests calls.csv --trace trace.json \\\n      \
        --trace-window 10h..10h10m   # open trace.json in ui.perfetto.dev\n\n\
        Exit codes: 0 success; 1 the run failed; 2 bad input or usage; 3 a verdict named by \
        --fail-on failed (the report and every output are written first).")]
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
        /// Only the metrics whose names match GLOB (`*` any run of characters, `?` one) in the
        /// table or CSV (repeatable; report.json keeps every metric).
        #[arg(long = "metrics", value_name = "GLOB")]
        metrics: Vec<String>,
        /// Exit 3, after writing every output, when one of these verdicts fails: slo (an SLO
        /// missed, or projected to miss over its window), alert (a burn-rate alert fired),
        /// abort (a chaos experiment aborted or its steady state deviated), guard (the cost
        /// guard fired); comma-separated, or all.
        #[arg(long = "fail-on", value_name = "LIST")]
        fail_on: Vec<String>,
        #[command(flatten)]
        records: records::RecordArgs,
    },
    /// Redraw a report's plots and report.html from its JSON, without rerunning.
    #[command(
        after_help = "Examples:\n  faultline plot faultline-out/quickstart/report.json\n  \
        faultline plot faultline-out/quickstart/report.json --out pictures"
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
    /// Run a scenario at every point of a parameter grid; each point gets its own report.
    #[command(
        after_help = "SPEC is a list (a,b,c), a range (1..5, 0.1..0.5:0.1, 100ms..1s:100ms) \
        or a log range (log:1..1000:4). A --set with a single value applies to every point.\n\n\
        Examples:\n  faultline sweep example:retry-amplification --set gateway.retry.max_attempts=1..5\n  \
        faultline sweep my.toml --set backends.llm-api.concurrency=8,12,16 \\\n      \
        --set gateway.attempt_timeout=5s..15s:5s \\\n      \
        --objective min:latency_p99_s --constraint 'success_ratio>=0.99'\n\n\
        On a cluster each task runs one shard (--shard I/N, or from SLURM_ARRAY_TASK_ID or \
        JOB_COMPLETION_INDEX) into a shared directory or its own; merge then combines them:\n  \
        faultline sweep my.toml --set backends.llm-api.concurrency=8,12,16 --shard 0/2 --out shard0\n  \
        faultline sweep my.toml --set backends.llm-api.concurrency=8,12,16 --shard 1/2 --out shard1"
    )]
    Sweep {
        /// A scenario file (.toml or .json) or example:NAME.
        scenario: String,
        /// KEY.PATH=SPEC (repeatable): the values a field takes across the sweep.
        #[arg(long = "set", value_name = "KEY=SPEC")]
        set: Vec<String>,
        /// Pair the i-th values of every --set instead of taking every combination.
        #[arg(long)]
        zip: bool,
        /// Master seed for every point (default: the scenario's).
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Replications per point (default: the scenario's).
        #[arg(long, value_name = "R")]
        replications: Option<u32>,
        /// Output directory (default: faultline-out/NAME-sweep).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Skip points whose report is already in DIR.
        #[arg(long)]
        resume: bool,
        /// Write into DIR even if it holds files that are not this sweep's.
        #[arg(long)]
        force: bool,
        /// Run only the points whose index is I modulo N (default: from SLURM_ARRAY_TASK_ID
        /// and SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX and FAULTLINE_SHARDS, when set).
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long, value_name = "T")]
        threads: Option<usize>,
        /// Choose points: min:METRIC, max:METRIC or pareto:min:METRIC,max:METRIC.
        #[arg(long, value_name = "GOAL")]
        objective: Option<String>,
        /// Only consider points where METRIC>=VALUE (or <=, >, <; METRIC@ci95_low for a bound).
        #[arg(long = "constraint", value_name = "COND")]
        constraints: Vec<String>,
    },
    /// Combine the directories of a sharded sweep into the tables one machine would write.
    #[command(
        after_help = "Examples:\n  faultline merge shard0 shard1 --out merged\n  \
        faultline merge merged --objective max:goodput_per_s"
    )]
    Merge {
        /// Sweep directories holding shards of one sweep.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write the merged sweep (default: the first directory).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Choose points, as for `sweep`.
        #[arg(long, value_name = "GOAL")]
        objective: Option<String>,
        #[arg(long = "constraint", value_name = "COND")]
        constraints: Vec<String>,
    },
    /// Compare architectures on common random numbers: paired differences with 95% CIs.
    #[command(after_help = "Examples:\n  \
        faultline compare example:quickstart my.toml   # the example against your edited copy\n  \
        faultline compare example:retry-amplification --variant gateway.retry.max_attempts=1 \\\n      \
        --variant gateway.retry.max_attempts=5,gateway.retry.backoff=full_jitter\n\n\
        Exit codes: 0 success; 1 a run failed; 2 bad input or usage; 3 a verdict named by \
        --fail-on failed in some arm (every output written first).")]
    Compare {
        /// Scenario files (the first is the baseline), or one scenario with --variant.
        #[arg(required = true)]
        scenarios: Vec<String>,
        /// KEY=VALUE,KEY=VALUE (repeatable): a variant of the single scenario given.
        #[arg(long = "variant", value_name = "SETS")]
        variants: Vec<String>,
        /// Override a field in every arm (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Master seed shared by every arm (default: the first scenario's).
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// Replications per arm (default: the first scenario's).
        #[arg(long, value_name = "R")]
        replications: Option<u32>,
        /// Give each arm its own seed, to see what common random numbers save.
        #[arg(long)]
        independent: bool,
        /// Exit 3 when a verdict of any arm fails: slo, alert, abort, guard (as for `run`).
        #[arg(long = "fail-on", value_name = "LIST")]
        fail_on: Vec<String>,
        /// Output directory (default: faultline-out/NAME-compare).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long, value_name = "T")]
        threads: Option<usize>,
    },
    /// Print each metric's definition and unit (those matching GLOB, or all).
    #[command(
        after_help = "Examples:\n  faultline metrics\n  faultline metrics 'slo.*'\n  \
        faultline metrics latency_p99_s\n\n\
        `*` in a metric's name stands for a scenario's own names (a tenant, backend, SLO ...)."
    )]
    Metrics {
        /// A metric name or pattern (`*` any run of characters, `?` one).
        glob: Option<String>,
    },
    /// List the built-in examples, or print one as TOML.
    #[command(
        after_help = "Examples:\n  faultline examples\n  faultline examples mmc > mmc.toml\n  \
        faultline run mmc.toml --set backends.servers.concurrency=5"
    )]
    Examples {
        /// The example to print.
        name: Option<String>,
    },
    /// Turn a LiteLLM router config, or OpenSLO / sloth SLOs, into scenario TOML.
    #[command(
        subcommand,
        after_help = "Examples:\n  faultline import litellm example:litellm-fallbacks --out router.toml\n  \
        faultline run router.toml --set horizon=10m --replications 2"
    )]
    Import(interop_cmd::ImportCommand),
    /// Write Prometheus rules for a scenario's SLOs and burn-rate alerts.
    #[command(
        subcommand,
        after_help = "Example:\n  faultline export prometheus example:slo-burn-alerts --out slo-rules.yaml"
    )]
    Export(interop_cmd::ExportCommand),
    /// Replay real vLLM measurements; fit GPU efficiencies leave-one-experiment-out; print
    /// simulated against measured per metric and stage, with MAPE.
    #[command(
        after_help = "Examples:\n  faultline fidelity builtin:sim-to-real/vllm_h100_measurements.json --no-fit"
    )]
    Fidelity(fidelity::FidelityArgs),
    /// Print the JSON Schema (draft 2020-12) of the scenario format, for editors.
    #[command(after_help = "Example:\n  faultline schema > faultline.schema.json")]
    Schema,
    /// Print a shell completion script (bash, zsh, fish, powershell or elvish).
    #[command(after_help = "Example:\n  faultline completions bash > faultline.bash")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) on stdout.
    #[command(after_help = "Example:\n  faultline man > faultline.1")]
    Man,
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

/// `faultline ... | head` must end quietly when `head` stops reading, like any Unix tool, rather
/// than panic on the failed write: restore the default SIGPIPE action Rust's runtime replaces.
fn quiet_on_closed_pipe() {
    #[cfg(unix)]
    // The project's only unsafe code (the workspace denies it): libc::signal is an FFI call.
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    #[allow(unsafe_code)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    if let Some(text) = &cli.max_memory {
        match execute::parse_size(text) {
            Ok(limit) => {
                let _ = execute::MAX_MEMORY.set(limit);
            }
            Err(m) => {
                eprintln!("error: --max-memory {m}");
                return ExitCode::from(2);
            }
        }
    }
    if let Some(text) = &cli.max_events {
        match execute::parse_count(text) {
            Ok(limit) => {
                let _ = execute::MAX_EVENTS.set(limit);
            }
            Err(m) => {
                eprintln!("error: --max-events {m}");
                return ExitCode::from(2);
            }
        }
    }
    let result = match cli.command {
        Command::Run {
            scenario,
            settings,
            threads,
            out,
            format,
            metrics,
            fail_on,
            records,
        } => execute::run(execute::RunArgs {
            spec: &scenario,
            overrides: &settings.overrides(),
            threads,
            out,
            format,
            metrics,
            fail_on,
            records: &records,
        }),
        Command::Metrics { glob } => execute::metrics(glob.as_deref()),
        Command::Plot { report, out } => execute::plot(&report, out),
        Command::Rerun { report, threads } => execute::rerun(&report, threads),
        Command::Validate { scenario, settings } => {
            execute::validate(&scenario, &settings.overrides())
        }
        Command::Examples { name } => execute::examples(name.as_deref()),
        Command::Import(cmd) => interop_cmd::import(cmd),
        Command::Export(cmd) => interop_cmd::export(cmd),
        Command::Fidelity(args) => fidelity::fidelity(args),
        Command::Schema => {
            print!("{}", faultline::scenario_schema());
            Ok(ExitCode::SUCCESS)
        }
        Command::Completions { shell } => shell::completions(shell),
        Command::Man => shell::man(),
        Command::Sweep {
            scenario,
            set,
            zip,
            seed,
            replications,
            out,
            resume,
            force,
            shard,
            threads,
            objective,
            constraints,
        } => sweep::sweep(sweep::SweepArgs {
            scenario,
            sets: set,
            zip,
            seed,
            replications,
            out,
            resume,
            force,
            shard,
            threads,
            objective,
            constraints,
        }),
        Command::Merge {
            dirs,
            out,
            objective,
            constraints,
        } => sweep::merge(sweep::MergeArgs {
            dirs,
            out,
            objective,
            constraints,
        }),
        Command::Compare {
            scenarios,
            variants,
            set,
            seed,
            replications,
            independent,
            fail_on,
            out,
            threads,
        } => compare::compare(compare::CompareArgs {
            scenarios,
            variants,
            sets: set,
            seed,
            replications,
            independent,
            fail_on,
            out,
            threads,
        }),
    };
    match result {
        Ok(code) => code,
        Err(failure) => failure.report(),
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
