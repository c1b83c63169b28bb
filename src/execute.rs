//! The commands: load, run replications in parallel, summarise, write and print.

use crate::failure::Failure;
use clap::ValueEnum;
use reports::html::shell_quote;
use reports::number::count_of;
use reports::{
    Report, StoredReport, first_difference, render_csv, render_summary, write_atomic,
    write_run_outputs,
};
use scenarios::{Format, Loaded, Override, Source, load};
use sim_core::time::format_duration;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

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

pub(crate) fn parse_overrides(args: &[String]) -> Result<Vec<Override>, Failure> {
    args.iter()
        .map(|a| Override::parse(a).map_err(Failure::Input))
        .collect()
}

pub(crate) fn load_spec(spec: &str, overrides: &[String]) -> Result<(Source, Loaded), Failure> {
    let overrides = parse_overrides(overrides)?;
    let source = Source::open(spec).map_err(|e| Failure::Input(e.to_string()))?;
    let mut loaded = load(&source, &overrides).map_err(|e| Failure::Input(e.to_string()))?;
    admit(&mut loaded, &source.origin)?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    Ok((source, loaded))
}

/// Events per replication beyond which a run is refused unless `--max-events` says otherwise:
/// about half an hour of simulation at this machine class's speed (the largest built-in
/// study, a thousand-hour LLM day, takes under 2e8).
pub(crate) const DEFAULT_MAX_EVENTS: u64 = 10_000_000_000;

/// The events limit (`--max-events`; `None`: unlimited), set once by `main`.
pub(crate) static MAX_EVENTS: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();

/// The memory limit runs are held to (`--max-memory`; `None`: unlimited), set once by `main`.
pub(crate) static MAX_MEMORY: std::sync::OnceLock<Option<u64>> = std::sync::OnceLock::new();

/// Reads `--max-memory`: `unlimited`, or a size such as `16GiB`, `512MiB`, `2G`, `1000000`.
pub(crate) fn parse_size(text: &str) -> Result<Option<u64>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("unlimited") || t.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let unit_bytes: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "`{text}`: unknown unit `{unit}`; expected B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a size; expected e.g. 16GiB, 512MiB or unlimited"))?;
    let bytes = n * unit_bytes;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(format!("`{text}` is not a usable memory limit"));
    }
    Ok(Some(bytes as u64))
}

/// This machine's physical memory, when the system says.
fn machine_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The limit in force: `--max-memory`, else half of this machine's memory (8 GiB when unknown).
fn memory_limit() -> (Option<u64>, String) {
    match MAX_MEMORY.get() {
        Some(Some(b)) => (Some(*b), "--max-memory".to_string()),
        Some(None) => (None, "--max-memory unlimited".to_string()),
        None => match machine_memory() {
            Some(m) => (Some(m / 2), "half of this machine's memory".to_string()),
            None => (
                Some(8 << 30),
                "the default when the machine's memory is unknown".to_string(),
            ),
        },
    }
}

fn mib(bytes: u64) -> String {
    let b = bytes as f64;
    let (kib, mib, gib) = (1024.0, 1024.0 * 1024.0, 1024.0 * 1024.0 * 1024.0);
    if b < mib {
        format!("{:.0} KiB", b / kib)
    } else if b < 10.0 * gib {
        format!("{:.0} MiB", b / mib)
    } else if b < 10240.0 * gib {
        format!("{:.1} GiB", b / gib)
    } else {
        format!("{:.1} TiB", b / (1024.0 * gib))
    }
}

/// Replications that may run at once: every core (the estimate assumes the worst).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The up-front estimate for `loaded` on every core: (events per replication, peak bytes).
pub(crate) fn estimate(loaded: &Loaded) -> (models::footprint::Footprint, u64) {
    let fp = models::footprint::footprint(&loaded.world);
    (fp, fp.peak_bytes(loaded.scenario.replications, cores()))
}

/// Reads `--max-events`: `unlimited`, or a number of events such as `1e12`.
pub(crate) fn parse_count(text: &str) -> Result<Option<u64>, String> {
    if text.trim().eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n >= 1.0)
        .map(|n| Some(n as u64))
        .ok_or_else(|| format!("`{text}`: expected a number of events (like 1e12) or unlimited"))
}

/// Refuses a run whose estimated peak memory exceeds the limit (exit 2, with the estimate and
/// how to override it), and bounds calls in flight by what the rest of the limit can hold.
pub(crate) fn admit(loaded: &mut Loaded, origin: &str) -> Result<(), Failure> {
    let (fp, peak) = estimate(loaded);
    if let Some(max) = MAX_EVENTS
        .get()
        .copied()
        .unwrap_or(Some(DEFAULT_MAX_EVENTS))
        && fp.events_per_replication > max as f64
    {
        return Err(Failure::Input(format!(
            "{origin}: this run would take about {:.2e} events per replication (at about 5 \
             million a second, {:.0} hours each), more than the limit of {max:.2e}: something \
             happens far too often for the horizon (a period or mean time of nanoseconds, a \
             rate of millions a second). Check the scenario, or raise the limit with \
             --max-events N (or unlimited)",
            fp.events_per_replication,
            fp.events_per_replication / 5e6 / 3600.0
        )));
    }
    let (limit, why) = memory_limit();
    let Some(limit) = limit else {
        return Ok(());
    };
    if peak > limit {
        return Err(Failure::Input(format!(
            "{origin}: this run would need about {} of memory ({} replications; {} per \
             replication's world, {} per finished replication's results), more than the limit of \
             {} ({why}). Use fewer replications, tenants or a shorter horizon, or raise the limit \
             with --max-memory SIZE (e.g. --max-memory 64GiB, or unlimited)",
            mib(peak),
            loaded.scenario.replications,
            mib(fp.world_bytes),
            mib(fp.output_bytes),
            mib(limit)
        )));
    }
    loaded.world.max_in_flight =
        ((limit - peak) / cores() as u64 / models::footprint::BYTES_PER_CALL).max(1);
    Ok(())
}

/// What `faultline run` was asked to do.
pub struct RunArgs<'a> {
    pub spec: &'a str,
    pub overrides: &'a [String],
    pub threads: Option<usize>,
    pub out: Option<PathBuf>,
    pub format: OutputFormat,
    /// `--metrics`: the rows of the table or CSV.
    pub metrics: Vec<String>,
    /// `--fail-on`: verdicts that make the run exit 3.
    pub fail_on: Vec<String>,
    /// `--requests` and `--trace`: one replication's calls and timeline.
    pub records: &'a crate::records::RecordArgs,
}

/// The exit code after every output is written: 0, or [`reports::gate::VERDICT_FAILED`] with
/// each failed verdict named on stderr.
pub(crate) fn verdict_exit(failed: &[String]) -> ExitCode {
    if failed.is_empty() {
        return ExitCode::SUCCESS;
    }
    for f in failed {
        eprintln!("verdict failed (--fail-on): {f}");
    }
    ExitCode::from(reports::gate::VERDICT_FAILED)
}

pub fn run(args: RunArgs) -> Result<ExitCode, Failure> {
    let RunArgs {
        spec,
        overrides,
        threads,
        out,
        format,
        metrics,
        fail_on,
        records,
    } = args;
    let fail_on = reports::gate::FailOn::parse_all(&fail_on).map_err(Failure::Input)?;
    if let Some(dir) = &out {
        check_out_dir(dir)?;
    }
    let (source, loaded) = load_spec(spec, overrides)?;
    let started = Instant::now();
    let simulated = crate::records::simulate(records, &loaded, threads)?;
    let events = simulated.events;
    let elapsed = started.elapsed().as_secs_f64();
    let s = &loaded.scenario;
    let report = simulated.report(&source.name, s);
    for name in reports::headline::missing_names(&report) {
        eprintln!(
            "warning: {}: `report.headline` names `{name}`, which this run does not produce \
             (`faultline metrics` says what each metric needs)",
            source.origin
        );
    }
    let dir = out.unwrap_or_else(|| Path::new("faultline-out").join(&source.name));
    let path = dir.join("report.json");
    let json = report.to_json();
    write_atomic(&path, json.as_bytes())
        .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display())))?;
    let rerun = rerun_command(&path);
    let written =
        write_run_outputs(&report, &dir, &rerun).map_err(|e| Failure::Runtime(e.to_string()))?;
    match format {
        OutputFormat::Json => print!("{json}"),
        OutputFormat::Csv => print!("{}", render_csv(&report.metrics, &metrics)),
        OutputFormat::Table => {
            print!("{}", render_summary(&report, &metrics));
            println!();
            println!(
                "{}: {} replications × {} (warm-up {}), seed {}",
                source.origin,
                s.replications,
                format_duration(s.horizon.0),
                format_duration(s.warmup.0),
                s.seed
            );
            println!("report: {}", path.display());
            println!("html:   {}", written.html.display());
            println!("plots:  {}", dir.join("plots").display());
            println!("rerun:  {rerun}");
        }
    }
    eprintln!(
        "simulated {events} events in {elapsed:.2} s ({:.1} M events/s)",
        events as f64 / elapsed.max(1e-9) / 1e6
    );
    Ok(verdict_exit(&fail_on.failures(&report)))
}

/// `faultline metrics [GLOB]`: each metric family's name, unit and definition, wrapped to 100
/// columns. GLOB selects by pattern (`slo.*`) or by a concrete name (`slo.availability.sli`
/// finds `slo.*.sli`); one that selects nothing is bad input.
pub fn metrics(glob: Option<&str>) -> Result<ExitCode, Failure> {
    use sim_core::definitions::{all, glob_match};
    let chosen: Vec<_> = all()
        .filter(|d| glob.is_none_or(|g| glob_match(g, d.pattern) || glob_match(d.pattern, g)))
        .collect();
    if chosen.is_empty() {
        return Err(Failure::Input(format!(
            "no metric matches `{}`; `faultline metrics` lists them all",
            glob.unwrap_or("")
        )));
    }
    let width = chosen
        .iter()
        .map(|d| d.pattern.len())
        .max()
        .unwrap_or(0)
        .min(36);
    let rest = " ".repeat(width + 15);
    for d in chosen {
        let first = if d.pattern.chars().count() > width {
            println!("{}", d.pattern);
            format!("{:<width$}  {:<12} ", "", d.unit)
        } else {
            format!("{:<width$}  {:<12} ", d.pattern, d.unit)
        };
        for l in reports::headline::wrap(d.meaning, &first, &rest) {
            println!("{l}");
        }
    }
    println!();
    println!("`*` stands for a scenario's own names (tenants, backends, routes, SLOs, ...).");
    Ok(ExitCode::SUCCESS)
}

/// The command that reproduces a report, quoted for a POSIX shell.
fn rerun_command(report: &Path) -> String {
    format!(
        "faultline rerun {}",
        shell_quote(&report.display().to_string())
    )
}

/// An output directory given on the command line must be a directory or not exist yet, and no
/// part of its path may be a file: bad usage (exit 2), found before any work is done.
pub(crate) fn check_out_dir(dir: &Path) -> Result<(), Failure> {
    for part in dir.ancestors().filter(|p| !p.as_os_str().is_empty()) {
        if let Ok(meta) = std::fs::metadata(part)
            && !meta.is_dir()
        {
            return Err(Failure::Input(format!(
                "--out {}: {} is a file, not a directory; choose another --out",
                dir.display(),
                part.display()
            )));
        }
    }
    Ok(())
}

/// Redraws plots and report.html from a stored report: no simulation, the stored numbers as
/// they are.
pub fn plot(path: &Path, out: Option<PathBuf>) -> Result<ExitCode, Failure> {
    if let Some(dir) = &out {
        check_out_dir(dir)?;
    }
    let stored = StoredReport::read(path).map_err(|e| Failure::Input(e.to_string()))?;
    let report = Report::from_stored(stored);
    let dir = out.unwrap_or_else(|| {
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf()
    });
    let written = write_run_outputs(&report, &dir, &rerun_command(path))
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    println!("html:  {}", written.html.display());
    println!(
        "plots: {} files in {}",
        written.plots.len(),
        dir.join("plots").display()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn rerun(path: &Path, threads: Option<usize>) -> Result<ExitCode, Failure> {
    let stored = StoredReport::read(path).map_err(|e| Failure::Input(e.to_string()))?;
    let text = serde_json::to_string_pretty(&stored.scenario).expect("JSON values serialize");
    let origin = format!("{} (embedded scenario)", path.display());
    let source = Source::from_text(&origin, &stored.name, text, Format::Json);
    let mut loaded = load(&source, &[]).map_err(|e| Failure::Input(e.to_string()))?;
    admit(&mut loaded, &origin)?;
    if loaded.scenario.seed != stored.seed || loaded.scenario.replications != stored.replications {
        return Err(Failure::Input(format!(
            "{}: the embedded scenario's seed or replications disagree with the report's",
            path.display()
        )));
    }
    let current = reports::Tool::current();
    if stored.tool.version != current.version || stored.tool.commit != current.commit {
        eprintln!(
            "note: {} was written by {}; this is {}. Comparing the results anyway: \
             only a difference in them fails the rerun.",
            path.display(),
            stored.tool.describe(),
            current.describe()
        );
    }
    let simulated = crate::replicate::simulate(&loaded, threads)?;
    let metrics = simulated.metrics.clone();
    let fresh = simulated.report(&stored.name, &loaded.scenario);
    // Every result byte must agree: the metrics replication by replication (named plainly),
    // then every other field of the report (means, intervals, series, distributions, journals,
    // the digest itself). An edited report does not reproduce, whichever number was edited.
    let stored_value: serde_json::Value = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| {
            Failure::Input(format!("{}: cannot read the report again", path.display()))
        })?;
    let fresh_value: serde_json::Value =
        serde_json::from_str(&fresh.to_json()).expect("a report reads back");
    let difference = first_difference(&stored, &metrics)
        .or_else(|| reports::first_field_difference(&stored_value, &fresh_value));
    match difference {
        None => {
            println!("reproduced {}", fresh.results_digest);
            Ok(ExitCode::SUCCESS)
        }
        Some(why) => {
            println!("differs: {why}");
            println!(
                "stored {}, rerun {}",
                stored.results_digest, fresh.results_digest
            );
            Ok(ExitCode::from(1))
        }
    }
}

pub fn validate(spec: &str, overrides: &[String]) -> Result<ExitCode, Failure> {
    let (source, loaded) = load_spec(spec, overrides)?;
    let s = &loaded.scenario;
    println!(
        "{}: valid ({}, {}, {} × {})",
        source.origin,
        count_of(s.tenants.len() as f64, "tenant", "tenants"),
        count_of(s.backends.len() as f64, "backend", "backends"),
        count_of(f64::from(s.replications), "replication", "replications"),
        format_duration(s.horizon.0)
    );
    let (fp, peak) = estimate(&loaded);
    println!(
        "estimate: about {:.3e} events per replication, peak memory about {} (limit {})",
        fp.events_per_replication,
        mib(peak),
        memory_limit().0.map_or("none".to_string(), mib)
    );
    Ok(ExitCode::SUCCESS)
}

pub fn examples(name: Option<&str>) -> Result<ExitCode, Failure> {
    match name {
        None => {
            for e in scenarios::examples::ALL {
                println!("{:<22} {}", e.name, e.summary);
            }
            println!();
            println!(
                "Run one with `faultline run example:NAME`; print it with `faultline examples NAME`."
            );
        }
        Some(name) => {
            let source = Source::example(name).map_err(|e| Failure::Input(e.to_string()))?;
            print!("{}", source.text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
