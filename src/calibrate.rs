//! `faultline calibrate`: fits the roofline's six efficiencies to runs measured on one's own
//! server — measurement files in the `faultline fidelity` format, or results of `vllm bench
//! serve --save-result` — and writes them as a preset file that a GPU pool names
//! (`calibration = "preset.toml"`).
//!
//! The fit is the fidelity harness's (`models::gpu::fit`): every run replayed on a replica built
//! from its architecture, Nelder–Mead from fixed round starting values over squared log errors
//! of the measured metrics, for a stated number of replays. The summary (coefficients, each
//! metric simulated against measured, MAPE) is printed before the preset is written.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use models::gpu::arch::{CATALOGUE, HfConfig, catalogue_model};
use models::gpu::fidelity::{Experiment, METRICS, OutputLengths, ape};
use models::gpu::fit::{self, FIT_START, MAX_EVALUATIONS};
use models::gpu::hardware::{self, Efficiency};
use scenarios::calibration::{
    CalibrationPreset, FORMAT, FitSummary, FittedExperiment, FittedOn, InputFile, MetricError,
    PresetEfficiency, family_name,
};
use sha2::{Digest, Sha256};

use crate::failure::Failure;
use crate::fidelity::{Lengths, eff_line};
use crate::vllm_bench::{self, BenchResult, Server};

/// Arguments of `faultline calibrate`.
#[derive(clap::Args)]
pub struct CalibrateArgs {
    /// Measurement files (the `faultline fidelity` format, one or more experiments each) or
    /// results of `vllm bench serve --save-result` (JSON), any mix, all on one GPU family.
    #[arg(required = true, value_name = "INPUT")]
    inputs: Vec<String>,
    /// Where to write the preset (TOML). Nothing else is written.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// For `vllm bench serve` results: the model served, a catalogue name, its Hugging Face
    /// repository or a config.json path (default: the result's `model_id` if the catalogue
    /// has it).
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    /// For `vllm bench serve` results: the GPU (a100-40gb, a100-80gb, h100-sxm, h100-pcie,
    /// h200, l40s, l4, mi300x).
    #[arg(long, value_name = "GPU")]
    gpu: Option<String>,
    /// For `vllm bench serve` results: the tensor-parallel degree (default 1).
    #[arg(long, value_name = "N")]
    tp: Option<u32>,
    /// For `vllm bench serve` results: the server's `--max-num-seqs` (default 256).
    #[arg(long, value_name = "N")]
    max_num_seqs: Option<u32>,
    /// For `vllm bench serve` results: the server's `--max-num-batched-tokens` (default 8192).
    #[arg(long, value_name = "N")]
    max_num_batched_tokens: Option<u32>,
    /// Replays of every run Nelder–Mead may spend: fewer is faster and less exact.
    #[arg(long, value_name = "N", default_value_t = MAX_EVALUATIONS)]
    max_evaluations: usize,
    /// Output lengths, as for `faultline fidelity`.
    #[arg(long, value_enum, default_value_t = Lengths::Implied)]
    output_lengths: Lengths,
    /// Seed of the simulated Poisson arrivals.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Replay with automatic prefix caching (requests of a measurement file keyed by their
    /// group's system prompt).
    #[arg(long)]
    prefix_caching: bool,
}

/// The inputs, read.
struct Inputs {
    files: Vec<InputFile>,
    /// Each run and the input it came from.
    runs: Vec<(Experiment, String)>,
}

pub fn calibrate(args: CalibrateArgs) -> Result<ExitCode, Failure> {
    if args.out.is_dir() {
        return Err(Failure::Input(format!(
            "--out {}: is a directory; expected the path of the preset file to write",
            args.out.display()
        )));
    }
    if args.max_evaluations < 7 {
        return Err(Failure::Input(format!(
            "--max-evaluations {}: expected at least 7 (the starting simplex of six coefficients)",
            args.max_evaluations
        )));
    }
    let mut inputs = read_inputs(&args)?;
    for (e, _) in &mut inputs.runs {
        e.prefix_caching = args.prefix_caching;
    }
    let family = family_of(&inputs.runs)?;
    let lengths = match args.output_lengths {
        Lengths::Implied => OutputLengths::Implied,
        Lengths::Spec => OutputLengths::Spec,
    };
    let train: Vec<&Experiment> = inputs.runs.iter().map(|(e, _)| e).collect();
    eprintln!(
        "fitting six efficiencies to {} run(s), up to {} replays of each",
        train.len(),
        args.max_evaluations
    );
    let (eff, loss) = fit_restarting(&train, lengths, args.seed, args.max_evaluations);
    let (errors, mape) = score(&inputs.runs, &eff, lengths, args.seed).map_err(Failure::Runtime)?;
    let preset = CalibrationPreset {
        format: FORMAT.to_string(),
        efficiency: PresetEfficiency::from_efficiency(&eff),
        fitted_on: FittedOn {
            gpu_family: family_name(family).to_string(),
            experiments: inputs
                .runs
                .iter()
                .map(|(e, input)| FittedExperiment {
                    id: e.id.clone(),
                    input: input.clone(),
                    model: e.model.clone(),
                    gpu: e
                        .gpu()
                        .map_or_else(|_| e.hardware.clone(), |g| g.name.into()),
                    tensor_parallel: e.tensor_parallel,
                    max_num_seqs: e.max_num_seqs,
                    max_num_batched_tokens: e.max_num_batched_tokens,
                })
                .collect(),
        },
        inputs: inputs.files,
        fit: FitSummary {
            loss,
            max_evaluations: args.max_evaluations as u64,
            seed: args.seed,
            output_lengths: match lengths {
                OutputLengths::Implied => "implied",
                OutputLengths::Spec => "spec",
            }
            .to_string(),
            prefix_caching: args.prefix_caching,
            mape,
            errors,
        },
    };
    print!("{}", render(&preset, &eff, &inputs.runs, lengths));
    let text = preset.to_toml().map_err(Failure::Runtime)?;
    reports::write_atomic(&args.out, text.as_bytes())
        .map_err(|e| Failure::Runtime(format!("cannot write {}: {e}", args.out.display())))?;
    println!(
        "\nWrote {} — name it in a GPU pool of the {} family: calibration = \"{}\"",
        args.out.display(),
        family_name(family),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Replays a round of Nelder–Mead may spend before it starts again from its best point.
const ROUND: usize = 100;

/// Nelder–Mead from [`FIT_START`] in rounds of at most [`ROUND`] replays, each starting afresh
/// (a new simplex, half a unit wide in the transformed space) from the best point so far, until
/// `max_evaluations` are spent or a round gains nothing. One long run collapses its simplex along
/// the ridges where two coefficients trade off (the step floor against the weights' bandwidth,
/// both a fixed cost per step of one model) and stalls short of the minimum; a fresh simplex
/// walks on.
fn fit_restarting(
    train: &[&Experiment],
    lengths: OutputLengths,
    seed: u64,
    max_evaluations: usize,
) -> (Efficiency, f64) {
    let mut best = (FIT_START, f64::INFINITY);
    let mut left = max_evaluations;
    while left >= 7 {
        let budget = left.min(ROUND);
        left -= budget;
        let (eff, loss) = fit::fit_within(train, &best.0, lengths, seed, budget);
        // A round that gains nothing (or no more than rounding) would not be followed by one
        // that does: the next starts from the same point.
        let improved = loss < best.1 && best.1 - loss > 1e-12 * loss;
        if loss < best.1 {
            best = (eff, loss);
        }
        if !improved {
            break;
        }
    }
    best
}

/// Reads every input: its bytes (for the sha256), then a measurement file or a bench result.
fn read_inputs(args: &CalibrateArgs) -> Result<Inputs, Failure> {
    let mut files = Vec::new();
    let mut runs: Vec<(Experiment, String)> = Vec::new();
    let mut server: Option<Server> = None;
    let mut any_bench = false;
    for path in &args.inputs {
        let bytes = match path.strip_prefix(scenarios::builtin_data::PREFIX) {
            Some(name) => scenarios::builtin_data::read(name)
                .map_err(Failure::Input)?
                .to_vec(),
            None => std::fs::read(path)
                .map_err(|e| Failure::Input(format!("cannot read {path}: {e}")))?,
        };
        let text = String::from_utf8(bytes.clone())
            .map_err(|e| Failure::Input(format!("{path}: not UTF-8 text ({e}); expected JSON")))?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Failure::Input(format!(
                "{path}:{}:{}: {e}; expected JSON: a measurement file or a `vllm bench serve` result",
                e.line(),
                e.column()
            ))
        })?;
        files.push(InputFile {
            path: path.clone(),
            sha256: hex(&Sha256::digest(&bytes)),
        });
        if value.get("experiments").is_some() {
            let file = crate::fidelity::parse(path, &text)?;
            if file.experiments.is_empty() {
                return Err(Failure::Input(format!("{path}: `experiments` is empty")));
            }
            for e in file.experiments {
                e.replica_config(&FIT_START)
                    .map_err(|m| Failure::Input(format!("{path}: {m}")))?;
                runs.push((e, path.clone()));
            }
        } else if vllm_bench::looks_like_bench(&value) {
            any_bench = true;
            let result: BenchResult = {
                let de = &mut serde_json::Deserializer::from_str(&text);
                serde_path_to_error::deserialize(de).map_err(|e| {
                    let inner = e.inner();
                    Failure::Input(format!(
                        "{path}:{}:{}: at `{}`: {inner}",
                        inner.line(),
                        inner.column(),
                        e.path()
                    ))
                })?
            };
            if server.is_none() {
                server = Some(server_of(args, path, result.model_id.as_deref())?);
            }
            let server = server.as_ref().expect("set above");
            let id = unique_id(&runs, path);
            let e = vllm_bench::experiment(&id, &result, server)
                .map_err(|m| Failure::Input(format!("{path}: {m}")))?;
            e.replica_config(&FIT_START)
                .map_err(|m| Failure::Input(format!("{path}: {m}")))?;
            runs.push((e, path.clone()));
        } else {
            return Err(Failure::Input(format!(
                "{path}: expected a measurement file (an object with `experiments`) or a `vllm bench serve --save-result` file (with `request_rate`, `completed`, `mean_ttft_ms`, ...)"
            )));
        }
    }
    if !any_bench {
        let given = [
            ("--model", args.model.is_some()),
            ("--gpu", args.gpu.is_some()),
            ("--tp", args.tp.is_some()),
            ("--max-num-seqs", args.max_num_seqs.is_some()),
            (
                "--max-num-batched-tokens",
                args.max_num_batched_tokens.is_some(),
            ),
        ];
        if let Some((flag, _)) = given.iter().find(|(_, set)| *set) {
            return Err(Failure::Input(format!(
                "{flag} describes the server of a `vllm bench serve` result; the measurement files given name their own model, GPU, TP degree and limits"
            )));
        }
    }
    Ok(Inputs { files, runs })
}

/// The server of the bench results, from the command line.
fn server_of(args: &CalibrateArgs, path: &str, model_id: Option<&str>) -> Result<Server, Failure> {
    let names = || {
        CATALOGUE
            .iter()
            .map(|m| m.name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let model = match (&args.model, model_id) {
        (Some(m), _) => m.clone(),
        (None, Some(id)) if catalogue_model(id).is_some() => id.to_string(),
        (None, id) => {
            return Err(Failure::Input(format!(
                "{path}: the result does not say which architecture served{}; give --model with one of {}, or a config.json path",
                id.map_or(String::new(), |i| format!(
                    " (`model_id` \"{i}\" is not in the catalogue)"
                )),
                names()
            )));
        }
    };
    let config = match catalogue_model(&model) {
        Some(m) => vllm_bench::hf_config(&m.arch),
        None if Path::new(&model).is_file() => {
            let text = std::fs::read_to_string(&model)
                .map_err(|e| Failure::Input(format!("--model: cannot read {model}: {e}")))?;
            let c: HfConfig = serde_json::from_str(&text).map_err(|e| {
                Failure::Input(format!(
                    "--model {model}:{}:{}: {e}; expected a Hugging Face config.json",
                    e.line(),
                    e.column()
                ))
            })?;
            c.architecture()
                .map_err(|m| Failure::Input(format!("--model {model}: {m}")))?;
            c
        }
        None => {
            return Err(Failure::Input(format!(
                "--model {model}: not in the catalogue and not a file; expected one of {}, or a config.json path",
                names()
            )));
        }
    };
    let gpu = args.gpu.clone().ok_or_else(|| {
        Failure::Input(format!(
            "{path}: a `vllm bench serve` result does not say which GPU served; give --gpu"
        ))
    })?;
    if hardware::gpu(&gpu).is_none() {
        let names: Vec<&str> = hardware::GPUS.iter().map(|g| g.name).collect();
        return Err(Failure::Input(format!(
            "--gpu {gpu}: unknown GPU; expected one of {}",
            names.join(", ")
        )));
    }
    let positive = |flag: &str, v: Option<u32>, dflt: u32| match v {
        Some(0) => Err(Failure::Input(format!("{flag} 0: expected at least 1"))),
        v => Ok(v.unwrap_or(dflt)),
    };
    Ok(Server {
        model,
        config,
        gpu,
        tensor_parallel: positive("--tp", args.tp, 1)?,
        max_num_seqs: positive("--max-num-seqs", args.max_num_seqs, 256)?,
        max_num_batched_tokens: positive(
            "--max-num-batched-tokens",
            args.max_num_batched_tokens,
            8192,
        )?,
    })
}

/// An experiment id from the file's stem, made unique among the runs so far.
fn unique_id(runs: &[(Experiment, String)], path: &str) -> String {
    let stem = Path::new(path)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("bench")
        .to_string();
    let mut id = stem.clone();
    let mut n = 2;
    while runs.iter().any(|(e, _)| e.id == id) {
        id = format!("{stem}-{n}");
        n += 1;
    }
    id
}

/// The one GPU family of every run: efficiencies are per family.
fn family_of(runs: &[(Experiment, String)]) -> Result<hardware::Family, Failure> {
    let mut family = None;
    for (e, input) in runs {
        let g = e
            .gpu()
            .map_err(|m| Failure::Input(format!("{input}: {m}")))?;
        match family {
            None => family = Some((g.family, e.id.clone(), g.name)),
            Some((f, ref first, name)) if f != g.family => {
                return Err(Failure::Input(format!(
                    "{input}: experiment {} ran on {} ({}), experiment {first} on {name} ({}); efficiencies are per GPU family: calibrate one family at a time",
                    e.id,
                    g.name,
                    family_name(g.family),
                    family_name(f)
                )));
            }
            Some(_) => {}
        }
    }
    family
        .map(|(f, _, _)| f)
        .ok_or_else(|| Failure::Input("no runs to fit".into()))
}

/// Every run simulated with `eff` against its measurement, per metric it measured, and the
/// mean absolute percentage error per metric.
fn score(
    runs: &[(Experiment, String)],
    eff: &Efficiency,
    lengths: OutputLengths,
    seed: u64,
) -> Result<(Vec<MetricError>, std::collections::BTreeMap<String, f64>), String> {
    let mut errors = Vec::new();
    let mut sums: Vec<(f64, u32)> = vec![(0.0, 0); METRICS.len()];
    for (e, _) in runs {
        let Some(real) = e.measured_ms.get("whole_run") else {
            continue;
        };
        let sim = e.simulate(eff, lengths, seed)?;
        for (i, (metric, get)) in METRICS.iter().enumerate() {
            let (s, m) = (get(&sim.whole_run), get(real));
            if m.is_nan() {
                continue;
            }
            let err = ape(s, m);
            sums[i].0 += err;
            sums[i].1 += 1;
            errors.push(MetricError {
                experiment: e.id.clone(),
                metric: metric.to_string(),
                simulated_ms: s,
                measured_ms: m,
                error_pct: err,
            });
        }
    }
    let mape = METRICS
        .iter()
        .zip(&sums)
        .filter(|(_, (_, n))| *n > 0)
        .map(|((metric, _), (sum, n))| (metric.to_string(), sum / *n as f64))
        .collect();
    Ok((errors, mape))
}

/// The printed summary: coefficients, each run's metrics simulated against measured, MAPE.
fn render(
    preset: &CalibrationPreset,
    eff: &Efficiency,
    runs: &[(Experiment, String)],
    lengths: OutputLengths,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "Efficiencies fitted on {} run(s) ({} GPUs; loss {:.6}, at most {} replays of each):",
        runs.len(),
        preset.fitted_on.gpu_family,
        preset.fit.loss,
        preset.fit.max_evaluations
    );
    let _ = writeln!(w, "  {}", eff_line(eff));
    for (e, input) in runs {
        let sp = e.workload.shared_prefix;
        let output = match (lengths, e.implied_output_len()) {
            (OutputLengths::Implied, Some(n)) => {
                format!("{n} (as measured; the workload says {})", sp.output_len)
            }
            _ => sp.output_len.to_string(),
        };
        let _ = writeln!(
            w,
            "\n{} ({input}): {} on {} TP{}, prompt {} + output {output} tokens, {} KV blocks",
            e.id,
            e.model,
            e.hardware,
            e.tensor_parallel,
            sp.system_prompt_len + sp.question_len,
            e.total_kv_blocks_gpu
        );
        let _ = writeln!(
            w,
            "  {:<10} {:>10} {:>10} {:>7}",
            "metric", "simulated", "measured", "error"
        );
        for m in preset.fit.errors.iter().filter(|m| m.experiment == e.id) {
            let _ = writeln!(
                w,
                "  {:<10} {:>10.1} {:>10.1} {:>6.1}%",
                m.metric, m.simulated_ms, m.measured_ms, m.error_pct
            );
        }
        let missing: Vec<&str> = METRICS
            .iter()
            .filter(|(_, get)| {
                e.measured_ms
                    .get("whole_run")
                    .is_some_and(|f| get(f).is_nan())
            })
            .map(|(name, _)| *name)
            .collect();
        if !missing.is_empty() {
            let _ = writeln!(w, "  not measured, not fitted: {}", missing.join(", "));
        }
    }
    let _ = writeln!(w, "\nMAPE over the runs that measured each metric");
    for (metric, _) in METRICS {
        if let Some(value) = preset.fit.mape.get(metric) {
            let _ = writeln!(w, "  {metric:<10} {value:>6.1}%");
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
