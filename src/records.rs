//! `run --requests PATH` and `--trace PATH`: one replication's calls as rows and its timeline as
//! a Chrome trace (`models::record` writes them). The files are written to temporaries in the
//! same directory while the run goes, and renamed into place only when it succeeded, so a
//! reader never sees half a file. Recording changes no result: the report is the same bytes.

use crate::failure::Failure;
use crate::replicate::{Simulated, progress_bar, replicate_with, simulate as simulate_plain};
use models::record::{CallFormat, RecordOptions, TraceWindow};
use scenarios::Loaded;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The recording flags of `run`.
#[derive(clap::Args)]
pub struct RecordArgs {
    /// Write one row per call of one replication to PATH: CSV, or JSON Lines when PATH ends in
    /// .jsonl or .ndjson.
    #[arg(long, value_name = "PATH")]
    requests: Option<PathBuf>,
    /// The replication --requests and --trace record (0 is the first).
    #[arg(long, value_name = "N", default_value_t = 0)]
    requests_replication: u32,
    /// Write the replication's timeline as Chrome Trace Event JSON, for Perfetto
    /// (ui.perfetto.dev) or chrome://tracing.
    #[arg(long, value_name = "PATH")]
    trace: Option<PathBuf>,
    /// Keep only this part of virtual time in the trace, FROM..TO (e.g. 2h..2h10m).
    #[arg(long, value_name = "FROM..TO", requires = "trace")]
    trace_window: Option<String>,
}

/// A file being written: its temporary, removed unless it was renamed into place.
struct Pending {
    flag: &'static str,
    path: PathBuf,
    tmp: PathBuf,
    done: bool,
}

impl Pending {
    /// Creates the temporary beside `path`: a path that cannot be written is bad usage.
    fn open(flag: &'static str, path: &Path) -> Result<(Pending, BufWriter<File>), Failure> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|_| !path.is_dir())
            .ok_or_else(|| Failure::Input(format!("{flag} {}: not a file name", path.display())))?;
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let cannot = |e: std::io::Error| {
            Failure::Input(format!(
                "{flag} {}: cannot write there: {e}",
                path.display()
            ))
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(cannot)?;
        }
        let file = File::create(&tmp).map_err(cannot)?;
        let pending = Pending {
            flag,
            path: path.to_path_buf(),
            tmp,
            done: false,
        };
        Ok((pending, BufWriter::with_capacity(1 << 16, file)))
    }

    /// Renames the temporary into place once everything was written.
    fn commit(&mut self, written: Option<std::io::Result<u64>>) -> Result<(), Failure> {
        let fail = |e: std::io::Error| {
            Failure::Runtime(format!(
                "{} {}: cannot write: {e}",
                self.flag,
                self.path.display()
            ))
        };
        match written {
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(fail(e)),
            None => return Err(fail(std::io::Error::other("the replication wrote nothing"))),
        }
        std::fs::rename(&self.tmp, &self.path).map_err(fail)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Reads `--trace-window FROM..TO` (durations as in scenario files).
fn parse_window(text: &str) -> Result<TraceWindow, Failure> {
    let bad = |why: String| {
        Failure::Input(format!(
            "--trace-window `{text}`: {why}; expected FROM..TO, e.g. 2h..2h10m"
        ))
    };
    let (from, to) = text
        .split_once("..")
        .ok_or_else(|| bad("no `..`".to_string()))?;
    let parse = |s: &str| sim_core::time::parse_duration(s).map_err(|e| bad(e.to_string()));
    let (from, to) = (parse(from)?, parse(to)?);
    if from >= to {
        return Err(bad("FROM must come before TO".to_string()));
    }
    Ok(TraceWindow { from, to })
}

/// Runs `loaded`'s replications; with `--requests` or `--trace`, the chosen one records.
pub(crate) fn simulate(
    args: &RecordArgs,
    loaded: &Loaded,
    threads: Option<usize>,
) -> Result<Simulated, Failure> {
    if args.requests.is_none() && args.trace.is_none() {
        return simulate_plain(loaded, threads);
    }
    let chosen = args.requests_replication;
    let replications = loaded.scenario.replications;
    if chosen >= replications {
        return Err(Failure::Input(format!(
            "--requests-replication {chosen}: the run has {replications} replication(s), \
             numbered from 0"
        )));
    }
    let window = match &args.trace_window {
        Some(w) => parse_window(w)?,
        None => TraceWindow::ALL,
    };
    let mut options = RecordOptions::default();
    let mut calls = None;
    if let Some(path) = &args.requests {
        let (pending, out) = Pending::open("--requests", path)?;
        options.calls = Some((Box::new(out), CallFormat::for_path(path)));
        calls = Some(pending);
    }
    let mut trace = None;
    if let Some(path) = &args.trace {
        let (pending, out) = Pending::open("--trace", path)?;
        options.trace = Some((Box::new(out), window));
        trace = Some(pending);
    }
    let pool = crate::replicate::thread_pool(threads)?;
    let bar = progress_bar(replications as u64, "replications");
    let seed = loaded.scenario.seed;
    let options = Mutex::new(Some(options));
    let result = pool.install(|| {
        replicate_with(
            loaded,
            || bar.inc(1),
            |i| {
                let taken = if i == chosen {
                    options.lock().expect("not poisoned").take()
                } else {
                    None
                };
                match taken {
                    Some(o) => models::run_replication_recorded(&loaded.world, seed, i, o),
                    None => models::run_replication(&loaded.world, seed, i),
                }
            },
        )
    });
    bar.finish_and_clear();
    let mut simulated = result?;
    let recorded = simulated.recorded.take();
    let (rows, events) = recorded.map_or((None, None), |r| (r.calls, r.trace));
    if let Some(p) = &mut calls {
        p.commit(rows)?;
    }
    if let Some(p) = &mut trace {
        p.commit(events)?;
    }
    Ok(simulated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_reads_two_durations_in_order() {
        let w = parse_window("2h..2h10m").ok().expect("valid");
        assert_eq!((w.from, w.to), (7_200_000_000_000, 7_800_000_000_000));
        for bad in ["2h", "2h..1h", "1h..1h", "x..2h", "1h..y"] {
            assert!(parse_window(bad).is_err(), "{bad}");
        }
    }
}
