//! `faultline fidelity`: replays a file of real vLLM measurements, fits the roofline's
//! efficiencies leave-one-experiment-out, and prints simulated against measured per metric and
//! stage with the mean absolute percentage error.

use std::fmt::Write as _;
use std::process::ExitCode;

use models::gpu::fidelity::{METRICS, MeasurementFile, OutputLengths, ape};
use models::gpu::fit::{self, FIT_START, Fold, TARGETS};
use models::gpu::hardware::{Efficiency, HOPPER_VLLM_V1};
use rayon::prelude::*;

use crate::failure::Failure;

/// Arguments of `faultline fidelity`.
#[derive(clap::Args)]
pub struct FidelityArgs {
    /// A measurement file, or builtin:sim-to-real/vllm_h100_measurements.json (the seven
    /// vendored experiments, embedded in the binary).
    file: String,
    /// Output lengths: `implied` (default) uses the mean the measurement implies where it departs
    /// from the workload's `output_len` by more than 5% (a base model stopping early); `spec`
    /// uses `output_len` as written.
    #[arg(long, value_enum, default_value_t = Lengths::Implied)]
    output_lengths: Lengths,
    /// Seed of the Poisson arrivals.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads for the folds (default: all cores). Results do not depend on it.
    #[arg(long, value_name = "T")]
    threads: Option<usize>,
    /// Skip fitting (a second instead of minutes): replay every experiment with the built-in
    /// Hopper efficiencies, which were fitted on all seven, so nothing is held out.
    #[arg(long)]
    no_fit: bool,
    /// Replay without automatic prefix caching. By default it is on, as in the real runs
    /// (vLLM V1's default), each request keyed by its group's shared system prompt; the
    /// built-in Hopper efficiencies and the README's table were fitted with it.
    #[arg(long)]
    no_prefix_caching: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Lengths {
    Implied,
    Spec,
}

/// Published whole-run MAPE of other simulators on these experiments (data/sim-to-real/README.md),
/// in the order of [`TARGETS`]; `None` where none is published.
const BLIS_TRAINED: [Option<f64>; 6] = [Some(14.0), None, Some(13.5), Some(15.0), None, Some(20.0)];

pub fn fidelity(args: FidelityArgs) -> Result<ExitCode, Failure> {
    let path = args.file.clone();
    let text = match path.strip_prefix(scenarios::builtin_data::PREFIX) {
        Some(name) => {
            String::from_utf8_lossy(scenarios::builtin_data::read(name).map_err(Failure::Input)?)
                .into_owned()
        }
        None => std::fs::read_to_string(&path)
            .map_err(|e| Failure::Input(format!("cannot read {path}: {e}")))?,
    };
    let mut file = parse(&path, &text)?;
    for e in &mut file.experiments {
        e.prefix_caching = !args.no_prefix_caching;
    }
    if file.experiments.is_empty() {
        return Err(Failure::Input(format!("{path}: `experiments` is empty")));
    }
    let lengths = match args.output_lengths {
        Lengths::Implied => OutputLengths::Implied,
        Lengths::Spec => OutputLengths::Spec,
    };
    let exps = &file.experiments;
    for e in exps {
        e.replica_config(&HOPPER_VLLM_V1).map_err(Failure::Input)?;
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .map_err(|e| Failure::Runtime(format!("thread pool: {e}")))?;
    let seed = args.seed;
    if args.no_fit {
        let folds = (0..exps.len())
            .map(|held_out| Fold {
                held_out,
                fitted: HOPPER_VLLM_V1,
            })
            .collect();
        let eval = fit::evaluate(exps, folds, lengths, seed).map_err(Failure::Runtime)?;
        let text = render(&file, &HOPPER_VLLM_V1, &eval, lengths).map_err(Failure::Runtime)?;
        print!(
            "{}",
            text.replace(
                "Efficiencies fitted on all",
                "Built-in Hopper efficiencies (--no-fit), fitted earlier on all"
            )
            .replace(
                "Leave one experiment out: each row is predicted with efficiencies fitted on the others",
                "Not held out (--no-fit): every row uses the built-in efficiencies"
            )
            .replace("fitted without it:", "efficiencies:")
            .replace(" held-out experiments (whole run)", " experiments (whole run, not held out)")
        );
        return Ok(ExitCode::SUCCESS);
    }
    let (all, folds): (Efficiency, Vec<Fold>) = pool.install(|| {
        let all_refs: Vec<_> = exps.iter().collect();
        rayon::join(
            || fit::fit(&all_refs, &FIT_START, lengths, seed),
            || {
                (0..exps.len())
                    .into_par_iter()
                    .map(|i| fit::fit_fold(exps, i, &FIT_START, lengths, seed))
                    .collect()
            },
        )
    });
    let eval = fit::evaluate(exps, folds, lengths, seed).map_err(Failure::Runtime)?;
    print!(
        "{}",
        render(&file, &all, &eval, lengths).map_err(Failure::Runtime)?
    );
    Ok(ExitCode::SUCCESS)
}

/// Parses a measurement file; errors name file:line:col and the key path.
pub fn parse(path: &str, text: &str) -> Result<MeasurementFile, Failure> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        Failure::Input(format!(
            "{path}:{}:{}: at `{}`: {}",
            inner.line(),
            inner.column(),
            e.path(),
            inner
        ))
    })
}

pub(crate) fn eff_line(e: &Efficiency) -> String {
    format!(
        "compute {:.3}  bandwidth {:.3}  kv_bandwidth {:.3}  step_floor {:.3} ms  allreduce {:.2} µs  request_overhead {:.2} ms",
        e.compute,
        e.bandwidth,
        e.kv_bandwidth,
        e.step_floor_ms,
        e.allreduce_us,
        e.request_overhead_ms
    )
}

/// The whole printed report.
pub fn render(
    file: &MeasurementFile,
    all: &Efficiency,
    eval: &fit::Evaluation,
    lengths: OutputLengths,
) -> Result<String, String> {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "KV blocks per GPU, computed from the architecture vs reported by vLLM"
    );
    let _ = writeln!(
        w,
        "  {:<18} {:<38} {:>3} {:>9} {:>9} {:>7}",
        "experiment", "model", "tp", "computed", "reported", "error"
    );
    for e in &file.experiments {
        let c = e.computed_kv_blocks()?;
        let _ = writeln!(
            w,
            "  {:<18} {:<38} {:>3} {:>9} {:>9} {:>6.2}%",
            e.id,
            e.model,
            e.tensor_parallel,
            c,
            e.total_kv_blocks_gpu,
            ape(c as f64, e.total_kv_blocks_gpu as f64)
        );
    }
    let _ = writeln!(
        w,
        "\nEfficiencies fitted on all {} experiments:",
        file.experiments.len()
    );
    let _ = writeln!(w, "  {}", eff_line(all));
    let _ = writeln!(
        w,
        "\nLeave one experiment out: each row is predicted with efficiencies fitted on the others"
    );
    for (fold, sim) in eval.folds.iter().zip(&eval.predicted) {
        let e = &file.experiments[fold.held_out];
        let note = match (lengths, e.implied_output_len()) {
            (OutputLengths::Implied, Some(n)) => format!(
                "; output {n} tokens as measured (spec {})",
                e.workload.shared_prefix.output_len
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            w,
            "\n{} {} TP{} ({} requests simulated, {} preemptions{note})",
            e.id, e.model, e.tensor_parallel, sim.requests, sim.preemptions
        );
        let _ = writeln!(w, "  fitted without it: {}", eff_line(&fold.fitted));
        let _ = writeln!(
            w,
            "  {:<10} {:<10} {:>10} {:>10} {:>7}",
            "stage", "metric", "simulated", "measured", "error"
        );
        let stages_spec = e.workload.stages.len();
        let measured_stages = e
            .measured_ms
            .keys()
            .filter(|k| k.starts_with("stage_"))
            .count();
        for (name, real) in &e.measured_ms {
            let simulated = if name == "whole_run" {
                Some(&sim.whole_run)
            } else {
                name.strip_prefix("stage_")
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| sim.stages.get(i))
            };
            let Some(s) = simulated else {
                let _ = writeln!(
                    w,
                    "  {name:<10} (the workload has {stages_spec} stage(s); the measurement has {measured_stages}: not compared)"
                );
                continue;
            };
            for (metric, get) in METRICS {
                let _ = writeln!(
                    w,
                    "  {name:<10} {metric:<10} {:>10.1} {:>10.1} {:>6.1}%",
                    get(s),
                    get(real),
                    ape(get(s), get(real))
                );
            }
        }
    }
    let _ = writeln!(
        w,
        "\nMAPE over the {} held-out experiments (whole run), beside BLIS's trained-physics model",
        file.experiments.len()
    );
    let _ = writeln!(
        w,
        "  {:<10} {:>9} {:>7} {:>7}",
        "metric", "faultline", "BLIS", "≤ 10%"
    );
    for (metric, _) in METRICS {
        let i = METRICS.iter().position(|(m, _)| *m == metric).unwrap_or(0);
        let target = TARGETS.iter().position(|(m, _)| *m == metric);
        let blis = target
            .and_then(|t| BLIS_TRAINED[t])
            .map_or("–".to_string(), |b| format!("{b:.1}%"));
        let verdict = match target {
            Some(_) if eval.mape[i] <= 10.0 => "yes",
            Some(_) => "no",
            None => "",
        };
        let _ = writeln!(
            w,
            "  {metric:<10} {:>8.1}% {blis:>7} {verdict:>7}",
            eval.mape[i]
        );
    }
    Ok(out)
}
