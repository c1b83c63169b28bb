//! `faultline sweep` and `faultline merge`: many points of one scenario, each a full run with
//! its own report, resumable and shardable across machines.

use crate::execute::load_spec;
use crate::failure::Failure;
use crate::replicate::{progress_bar, replicate, thread_pool};
use rayon::prelude::*;
use reports::number::format_number;
use reports::objective::{Constraint, Objective, column_value, select};
use reports::sweep::{PLAN_FILE, PointReport, SweepPlan, SweepPoint, point_report_path};
use reports::sweep_output::finalize;
use reports::sweep_plots::HEADLINE;
use reports::sweep_table::{render_sweep_html, render_sweep_table, sweep_table};
use reports::write_atomic;
use scenarios::sweep::{Combine, Point, parse_axis, parse_shard, points};
use scenarios::{Format, Loaded, Override, Source, canonical_json, load};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

/// Everything `faultline sweep` was asked to do.
pub struct SweepArgs {
    pub scenario: String,
    pub sets: Vec<String>,
    pub zip: bool,
    pub seed: Option<u64>,
    pub replications: Option<u32>,
    pub out: Option<PathBuf>,
    pub resume: bool,
    pub force: bool,
    pub shard: Option<String>,
    pub threads: Option<usize>,
    pub objective: Option<String>,
    pub constraints: Vec<String>,
}

/// Which share of the points this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shard {
    index: usize,
    count: usize,
}

/// `--shard I/N` if given; otherwise the batch system's array index, if there is one.
fn shard_from(arg: Option<&str>) -> Result<Shard, Failure> {
    if let Some(text) = arg {
        let (index, count) = parse_shard(text).map_err(Failure::Input)?;
        return Ok(Shard { index, count });
    }
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let number = |name: &str, v: String| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| Failure::Input(format!("{name}={v} is not a whole number")))
    };
    if let Some(id) = var("SLURM_ARRAY_TASK_ID") {
        let id = number("SLURM_ARRAY_TASK_ID", id)?;
        let Some(count) = var("SLURM_ARRAY_TASK_COUNT") else {
            return Err(Failure::Input(
                "SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not; pass --shard I/N"
                    .to_string(),
            ));
        };
        let count = number("SLURM_ARRAY_TASK_COUNT", count)?;
        // Arrays may start anywhere (--array=1-4): shards count from the lowest task id.
        let min = match var("SLURM_ARRAY_TASK_MIN") {
            Some(m) => number("SLURM_ARRAY_TASK_MIN", m)?,
            None => 0,
        };
        let index = id.checked_sub(min).filter(|&i| i < count).ok_or_else(|| {
            Failure::Input(format!(
                "SLURM_ARRAY_TASK_ID={id} is outside the array (min {min}, count {count}); the array must be contiguous, like --array=0-3"
            ))
        })?;
        return Ok(Shard { index, count });
    }
    if let Some(index) = var("JOB_COMPLETION_INDEX") {
        let index = number("JOB_COMPLETION_INDEX", index)?;
        // Kubernetes does not tell a pod how many completions its Job has: the manifest
        // passes it as FAULTLINE_SHARDS (the README's Indexed Job example does).
        let Some(count) = var("FAULTLINE_SHARDS") else {
            return Err(Failure::Input(
                "JOB_COMPLETION_INDEX is set but FAULTLINE_SHARDS (the Job's completions) is not; set it, or pass --shard I/N"
                    .to_string(),
            ));
        };
        let count = number("FAULTLINE_SHARDS", count)?;
        if index >= count {
            return Err(Failure::Input(format!(
                "JOB_COMPLETION_INDEX={index} is not below FAULTLINE_SHARDS={count}"
            )));
        }
        return Ok(Shard { index, count });
    }
    Ok(Shard { index: 0, count: 1 })
}

pub fn sweep(args: SweepArgs) -> Result<ExitCode, Failure> {
    if let Some(dir) = &args.out {
        crate::execute::check_out_dir(dir)?;
    }
    let shard = shard_from(args.shard.as_deref())?;
    let objective = parse_objective(args.objective.as_deref(), &args.constraints)?;

    // Settings with one value are the same for every point; the rest are the grid's axes.
    let mut fixed: Vec<String> = Vec::new();
    if let Some(seed) = args.seed {
        fixed.push(format!("seed={seed}"));
    }
    if let Some(r) = args.replications {
        fixed.push(format!("replications={r}"));
    }
    let mut axes = Vec::new();
    for set in &args.sets {
        let axis = parse_axis(set).map_err(|e| Failure::Input(format!("--set {e}")))?;
        if axis.values.len() == 1 {
            fixed.push(format!("{}={}", axis.path, axis.values[0]));
        } else {
            axes.push(axis);
        }
    }
    let combine = if args.zip {
        Combine::Zip
    } else {
        Combine::Grid
    };
    let grid: Vec<Point> = points(&axes, combine).map_err(Failure::Input)?;

    let (source, base) = load_spec(&args.scenario, &fixed)?;
    let fixed_overrides = crate::execute::parse_overrides(&fixed)?;
    let plan = SweepPlan::new(
        &source.name,
        if args.zip { "zip" } else { "grid" },
        axes.iter().map(|a| a.path.clone()).collect(),
        fixed.clone(),
        canonical_json(&base.scenario),
        grid.iter().map(|p| p.settings.clone()).collect(),
    )
    .with_log_parameters(
        axes.iter()
            .filter(|a| a.log)
            .map(|a| a.path.clone())
            .collect(),
    );

    // Every point is checked before any runs: a typo in the last value of a range must not
    // surface hours into a sweep.
    let mine: Vec<&Point> = grid
        .iter()
        .filter(|p| p.index % shard.count == shard.index)
        .collect();
    // Each point is loaded (and checked against the memory limit) here and dropped: points
    // are loaded again, one at a time, when they run, so a sweep's memory does not grow with
    // its number of points.
    let load_point = |p: &Point| -> Result<Loaded, Failure> {
        let mut all = fixed_overrides.clone();
        all.extend(p.overrides());
        let context = |m: String| {
            Failure::Input(format!(
                "sweep point {} ({}):\n{m}",
                plan.points[p.index].id,
                describe(&p.settings)
            ))
        };
        let mut loaded = load(&source, &all).map_err(|e| context(e.to_string()))?;
        crate::execute::admit(&mut loaded, &source.origin).map_err(|f| match f {
            Failure::Input(m) | Failure::Runtime(m) => context(m),
        })?;
        Ok(loaded)
    };
    for p in &mine {
        load_point(p)?;
    }

    let dir = args
        .out
        .unwrap_or_else(|| Path::new("faultline-out").join(format!("{}-sweep", source.name)));
    claim_directory(&dir, &plan, args.force)?;

    let mut todo: Vec<&Point> = Vec::with_capacity(mine.len());
    for p in &mine {
        let id = &plan.points[p.index].id;
        clean_stale_temporaries(&dir, id);
        if args.resume {
            let canonical = canonical_json(&load_point(p)?.scenario);
            if point_is_done(&dir, id, &canonical) {
                continue;
            }
        }
        todo.push(p);
    }
    let skipped = mine.len() - todo.len();
    if shard.count > 1 {
        eprintln!(
            "shard {}/{}: {} of {} points",
            shard.index,
            shard.count,
            mine.len(),
            plan.points.len()
        );
    }
    if skipped > 0 {
        eprintln!(
            "resuming: {skipped} points already done, {} to run",
            todo.len()
        );
    }

    let pool = thread_pool(args.threads)?;
    let bar = progress_bar(todo.len() as u64, "points");
    let failure: Mutex<Option<Failure>> = Mutex::new(None);
    let name = source.name.clone();
    pool.install(|| {
        todo.par_iter().for_each(|p| {
            if failure.lock().expect("no panics while held").is_some() {
                return;
            }
            let id = &plan.points[p.index].id;
            let report = match load_point(p).and_then(|loaded| {
                replicate(&loaded, || {}).map(|s| s.report(&name, &loaded.scenario))
            }) {
                Ok(report) => report,
                Err(Failure::Runtime(m)) | Err(Failure::Input(m)) => {
                    let mut f = failure.lock().expect("no panics while held");
                    f.get_or_insert(Failure::Runtime(format!("point {id}: {m}")));
                    return;
                }
            };
            let path = dir.join(point_report_path(id));
            if let Err(e) = write_atomic(&path, report.to_json().as_bytes()) {
                let mut f = failure.lock().expect("no panics while held");
                f.get_or_insert(Failure::Runtime(format!(
                    "cannot write {}: {e}",
                    path.display()
                )));
            }
            bar.inc(1);
        })
    });
    bar.finish_and_clear();
    if let Some(f) = failure.into_inner().expect("no panics while held") {
        return Err(f);
    }

    if shard.count > 1 {
        println!(
            "shard {}/{}: {} points in {}",
            shard.index,
            shard.count,
            mine.len(),
            dir.display()
        );
        println!(
            "when every shard is done: faultline merge {}",
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let finished = finalize(&dir, &plan).map_err(Failure::Runtime)?;
    summarize_sweep(&dir, &plan, &finished, objective, args.objective.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

pub struct MergeArgs {
    pub dirs: Vec<PathBuf>,
    pub out: Option<PathBuf>,
    pub objective: Option<String>,
    pub constraints: Vec<String>,
}

/// Combines shard directories: every point's report is taken from whichever directory has it
/// (identical bytes if several do) and the tables are rebuilt, exactly as a single-machine sweep
/// would have built them.
pub fn merge(args: MergeArgs) -> Result<ExitCode, Failure> {
    let objective = parse_objective(args.objective.as_deref(), &args.constraints)?;
    let Some(first) = args.dirs.first() else {
        return Err(Failure::Input(
            "merge needs at least one sweep directory".to_string(),
        ));
    };
    let plan = SweepPlan::read(first).map_err(Failure::Input)?;
    let plan_text = plan.to_json();
    for d in &args.dirs[1..] {
        let other = SweepPlan::read(d).map_err(Failure::Input)?;
        if other.to_json() != plan_text {
            return Err(Failure::Input(format!(
                "{} and {} hold different sweeps (their {PLAN_FILE} differ); merge only shards of one sweep",
                first.display(),
                d.display()
            )));
        }
    }
    if let Some(dir) = &args.out {
        crate::execute::check_out_dir(dir)?;
    }
    let out = args.out.clone().unwrap_or_else(|| first.clone());
    let base = Source::from_text(
        &format!(
            "{} (the sweep's base scenario)",
            first.join(PLAN_FILE).display()
        ),
        &plan.name,
        serde_json::to_string_pretty(&plan.scenario).expect("JSON values serialize"),
        Format::Json,
    );
    let mut missing = Vec::new();
    for p in &plan.points {
        let rel = point_report_path(&p.id);
        let mut found: Option<(PathBuf, Vec<u8>)> = None;
        for d in &args.dirs {
            let path = d.join(&rel);
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            match &found {
                None => found = Some((path, bytes)),
                Some((seen, b)) if *b != bytes => {
                    return Err(Failure::Input(format!(
                        "{} and {} differ: the same point computed twice gave different reports",
                        seen.display(),
                        path.display()
                    )));
                }
                Some(_) => {}
            }
        }
        let Some((path, bytes)) = found else {
            missing.push(p.id.clone());
            continue;
        };
        let expected = point_scenario(&base, &p.settings)?;
        let report = PointReport::read(&path).map_err(Failure::Input)?;
        if report.scenario != expected {
            return Err(Failure::Input(format!(
                "{}: this report's scenario is not point {} of the plan ({}); was it copied from another sweep?",
                path.display(),
                p.id,
                describe(&p.settings)
            )));
        }
        let target = out.join(&rel);
        if std::fs::read(&target).ok().as_deref() != Some(&bytes[..]) {
            write_atomic(&target, &bytes)
                .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", target.display())))?;
        }
    }
    if !missing.is_empty() {
        let looked: Vec<String> = args
            .dirs
            .iter()
            .map(|d| d.join(point_report_path(&missing[0])).display().to_string())
            .collect();
        return Err(Failure::Input(format!(
            "{} of {} points are in none of the directories given ({}); no readable report at {}; run the missing shards (or `faultline sweep ... --resume`) first",
            missing.len(),
            plan.points.len(),
            missing
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            looked.join(" or ")
        )));
    }
    let plan_path = out.join(PLAN_FILE);
    if std::fs::read_to_string(&plan_path).ok().as_deref() != Some(plan_text.as_str()) {
        write_atomic(&plan_path, plan_text.as_bytes())
            .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", plan_path.display())))?;
    }
    let finished = finalize(&out, &plan).map_err(Failure::Runtime)?;
    summarize_sweep(&out, &plan, &finished, objective, args.objective.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// The canonical scenario of the point with `settings`, built from the plan's base scenario.
fn point_scenario(
    base: &Source,
    settings: &[(String, String)],
) -> Result<serde_json::Value, Failure> {
    let overrides: Vec<Override> = settings
        .iter()
        .map(|(k, v)| Override::parse(&format!("{k}={v}")).map_err(Failure::Input))
        .collect::<Result<_, _>>()?;
    let loaded = load(base, &overrides).map_err(|e| Failure::Input(e.to_string()))?;
    Ok(canonical_json(&loaded.scenario))
}

type Goal = (Objective, Vec<Constraint>);

fn parse_objective(
    objective: Option<&str>,
    constraints: &[String],
) -> Result<Option<Goal>, Failure> {
    let constraints: Vec<Constraint> = constraints
        .iter()
        .map(|c| Constraint::parse(c).map_err(Failure::Input))
        .collect::<Result<_, _>>()?;
    match objective {
        Some(o) => Ok(Some((
            Objective::parse(o).map_err(Failure::Input)?,
            constraints,
        ))),
        None if !constraints.is_empty() => Err(Failure::Input(
            "--constraint needs an --objective to apply to, e.g. --objective min:METRIC"
                .to_string(),
        )),
        None => Ok(None),
    }
}

/// Writes the plan, or checks that the directory's plan is this one: shards share a directory,
/// and a rerun into the same directory is fine, but two different sweeps must not mix.
fn claim_directory(dir: &Path, plan: &SweepPlan, force: bool) -> Result<(), Failure> {
    let path = dir.join(PLAN_FILE);
    let text = plan.to_json();
    match std::fs::read_to_string(&path) {
        Ok(existing) if existing == text => Ok(()),
        // The same sweep planned by another build (the plan records the tool): still this sweep.
        Ok(existing)
            if serde_json::from_str::<SweepPlan>(&existing).is_ok_and(|mut p| {
                p.tool = plan.tool.clone();
                p == *plan
            }) =>
        {
            Ok(())
        }
        Ok(_) => Err(Failure::Input(format!(
            "{} already holds a different sweep (its {PLAN_FILE} differs from this one); choose another --out, or delete it",
            dir.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // A directory with other content (another command's output, a sweep whose plan was
            // deleted) is not ours to write into.
            let foreign: Vec<String> = std::fs::read_dir(dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| !n.starts_with(&format!(".{PLAN_FILE}.tmp-")))
                        .collect()
                })
                .unwrap_or_default();
            if !foreign.is_empty() && !force {
                return Err(Failure::Input(format!(
                    "{} is not empty and holds no sweep plan ({}{}); choose another --out, or pass --force to write into it",
                    dir.display(),
                    foreign
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if foreign.len() > 5 { ", ..." } else { "" }
                )));
            }
            write_atomic(&path, text.as_bytes())
                .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display())))
        }
        Err(e) => Err(Failure::Runtime(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// A point is done when its report exists, parses, and is for this point's exact scenario.
fn point_is_done(dir: &Path, id: &str, canonical: &serde_json::Value) -> bool {
    PointReport::read(&dir.join(point_report_path(id))).is_ok_and(|r| &r.scenario == canonical)
}

/// A killed run can leave a half-written temporary beside a point's report; it never reached
/// its final name, so it is garbage.
fn clean_stale_temporaries(dir: &Path, id: &str) {
    let Some(point_dir) = dir
        .join(point_report_path(id))
        .parent()
        .map(Path::to_path_buf)
    else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(&point_dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with(".report.json.tmp-")
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn describe(settings: &[(String, String)]) -> String {
    if settings.is_empty() {
        return "the base scenario".to_string();
    }
    settings
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a finished sweep prints and writes beside its tables: the run line, the table of
/// points, the objective's choice, and `sweep.html` with the table and the plots.
fn summarize_sweep(
    dir: &Path,
    plan: &SweepPlan,
    points: &[SweepPoint],
    objective: Option<Goal>,
    objective_text: Option<&str>,
) -> Result<(), Failure> {
    print_done(dir, plan, points);
    let (columns, constraints, chosen) = match &objective {
        Some((o, c)) => {
            let s = select(points, o, c).map_err(Failure::Input)?;
            (s.columns, c.clone(), s.chosen)
        }
        None => (Vec::new(), Vec::new(), Vec::new()),
    };
    reports::sweep_plots::write_sweep_plots(dir, plan, points, &chosen)
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    let table = sweep_table(plan, points, &columns, &constraints, &chosen);
    println!();
    print!("{}", render_sweep_table(&table));
    if let Some((o, c)) = &objective {
        print_selection(dir, points, o, c)?;
    }
    // The plots the sweep drew, headline metrics first, then the Pareto front.
    let figures: Vec<(String, String)> = HEADLINE
        .iter()
        .copied()
        .chain(["pareto"])
        .filter_map(|stem| {
            let svg =
                std::fs::read_to_string(dir.join("plots").join(format!("{stem}.svg"))).ok()?;
            Some((stem.to_string(), svg))
        })
        .collect();
    let html = render_sweep_html(plan, &table, objective_text, &figures);
    let path = dir.join("sweep.html");
    write_atomic(&path, html.as_bytes())
        .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", path.display())))?;
    println!("html:   {}", path.display());
    Ok(())
}

fn print_done(dir: &Path, plan: &SweepPlan, points: &[SweepPoint]) {
    println!(
        "{}: {} points ({} × {} replications)",
        plan.name,
        points.len(),
        if plan.parameters.is_empty() {
            "no parameters".to_string()
        } else {
            plan.parameters.join(" × ")
        },
        plan.scenario["replications"]
    );
    println!("table:  {}", dir.join("sweep.csv").display());
    println!("        {}", dir.join("sweep.json").display());
    println!(
        "rerun a point: faultline rerun {}",
        dir.join(point_report_path("ID")).display()
    );
}

fn print_selection(
    dir: &Path,
    points: &[SweepPoint],
    objective: &Objective,
    constraints: &[Constraint],
) -> Result<(), Failure> {
    let s = select(points, objective, constraints).map_err(Failure::Input)?;
    println!();
    println!(
        "objective: {} of {} points meet the constraints; {} chosen",
        s.feasible,
        points.len(),
        s.chosen.len()
    );
    if let Objective::Pareto(parts) = objective
        && let [(_, x), (_, y)] = parts.as_slice()
    {
        let shown: Vec<(f64, f64, bool, String)> = points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                let vx = column_value(p, &x.name)?;
                let vy = column_value(p, &y.name)?;
                Some((vx, vy, s.chosen.contains(&i), p.id.clone()))
            })
            .collect();
        let stem = dir.join("plots").join("pareto");
        reports::plot::pareto_scatter(&stem, "Pareto front", &x.name, &y.name, &shown)
            .map_err(|e| Failure::Runtime(e.to_string()))?;
        println!("plot: {}.png", stem.display());
    }
    for &i in &s.chosen {
        let p = &points[i];
        let values: Vec<String> = s
            .columns
            .iter()
            .map(|c| {
                format!(
                    "{c} = {}",
                    column_value(p, c).map_or("—".to_string(), format_number)
                )
            })
            .collect();
        println!("  point {}: {}", p.id, describe(&p.settings));
        println!("    {}", values.join(", "));
        println!(
            "    faultline rerun {}",
            dir.join(point_report_path(&p.id)).display()
        );
    }
    Ok(())
}
