//! `faultline calibrate` end to end: a synthetic server with known efficiencies, replayed by the
//! fidelity harness and written as a measurement file, is calibrated back to those efficiencies;
//! a `vllm bench serve` result is read and fitted; a scenario that names the written preset
//! gets step times from its efficiencies; bad inputs exit 2 naming file, position or key, and
//! write nothing.
//!
//! `tests/fixtures/calibrate/vllm-bench-llama-3.1-8b-h100.json` is written by hand in the
//! format `vllm bench serve --save-result --percentile-metrics ttft,tpot,itl,e2el
//! --metric-percentiles 90,99` writes (vLLM's `vllm/benchmarks/serve.py`): plausible figures
//! for Llama-3.1-8B on one H100 at 4 requests/s of 1,024-token prompts and 128-token outputs,
//! not a measurement.

mod common;

use common::{faultline, mean, run_scenario, scratch_dir};
use models::gpu::arch::catalogue_model;
use models::gpu::fidelity::{Experiment, OutputLengths};
use models::gpu::hardware::{Efficiency, HOPPER_VLLM_V1, gpu};
use models::gpu::step_time::StepModel;
use scenarios::calibration::CalibrationPreset;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::Path;

/// How far the fitted step times may be from the synthetic server's.
const STEP_TOLERANCE: f64 = 0.10;
/// How far the fitted compute, bandwidth and KV-bandwidth shares may be from the server's.
const SHARE_TOLERANCE: f64 = 0.10;
/// How far the fitted fixed costs (step floor, all-reduce, request overhead) may be: each adds
/// a constant to every step or request, so they trade off against each other and against the
/// weights' bandwidth along a ridge of the loss that sampling noise leaves flat.
const COST_TOLERANCE: f64 = 0.50;

const BENCH: &str = "tests/fixtures/calibrate/vllm-bench-llama-3.1-8b-h100.json";

/// The synthetic server's efficiencies: away from the fit's starting point (0.5, 0.7, 0.5,
/// 1 ms, 5 µs, 10 ms) and from the built-in Hopper values.
const TRUE: Efficiency = Efficiency {
    compute: 0.58,
    bandwidth: 0.76,
    kv_bandwidth: 0.42,
    step_floor_ms: 1.8,
    allreduce_us: 9.0,
    request_overhead_ms: 14.0,
};

/// The `model_config` of a model (its config.json fields).
fn config(model: &str) -> Value {
    let (hidden, inter, heads, layers, vocab) = match model {
        "llama-3.1-8b" => (4096, 14336, 32, 32, 128256),
        "llama-3.1-70b" => (8192, 28672, 64, 80, 128256),
        "yi-34b" => (7168, 20480, 56, 60, 64000),
        other => panic!("no config for {other}"),
    };
    json!({
        "hidden_size": hidden, "intermediate_size": inter, "num_attention_heads": heads,
        "num_key_value_heads": 8, "num_hidden_layers": layers, "vocab_size": vocab,
        "torch_dtype": "bfloat16", "architectures": ["LlamaForCausalLM"]
    })
}

/// One experiment of the measurement format, its figures still to be filled in.
fn experiment(id: &str, model: &str, tp: u32, prompt: u32, output: u32, rate: f64) -> Value {
    let duration = 600.0;
    json!({
        "id": id, "model": model, "model_config": config(model), "hardware": "H100 SXM 80GB",
        "tensor_parallel": tp, "max_num_seqs": 128, "max_num_batched_tokens": 4096,
        "total_kv_blocks_gpu": 0,
        "workload": {
            "stages": [{ "duration": duration, "rate": rate }],
            "shared_prefix": {
                "num_unique_system_prompts": 1, "num_users_per_system_prompt": 1,
                "system_prompt_len": 0, "question_len": prompt, "output_len": output
            },
            "num_requests": (duration * rate) as u64
        },
        "measured_ms": {}
    })
}

/// Three runs that pull the coefficients apart: long prompts (compute), a TP2 model (the
/// all-reduce), long decodes at load (weights and KV reads, the step floor); the request
/// overhead adds to every TTFT and E2E alike. Each is replayed on the synthetic server with
/// seed 7 (calibration replays with seed 1: other arrivals, as a real run's would be) and its
/// whole-run figures written as its measurement.
fn synthetic_measurements() -> Value {
    let mut runs = vec![
        experiment("prefill-heavy", "llama-3.1-8b", 1, 3000, 16, 2.0),
        experiment("decode-heavy", "llama-3.1-8b", 1, 1500, 300, 6.0),
        experiment("yi-34b-tp2", "yi-34b", 2, 800, 200, 2.0),
        experiment("llama-70b-tp4", "llama-3.1-70b", 4, 500, 150, 3.0),
    ];
    for run in &mut runs {
        let e: Experiment = serde_json::from_value(run.clone()).expect("a valid experiment");
        let sim = e
            .simulate(&TRUE, OutputLengths::Spec, 7)
            .expect("it simulates");
        let f = sim.whole_run;
        run["measured_ms"] = json!({ "whole_run": {
            "ttft_mean": f.ttft_mean, "ttft_p90": f.ttft_p90, "ttft_p99": f.ttft_p99,
            "itl_mean": f.itl_mean, "e2e_mean": f.e2e_mean, "e2e_p90": f.e2e_p90,
            "e2e_p99": f.e2e_p99
        }});
    }
    json!({ "experiments": runs })
}

fn calibrate(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = dir.join("preset.toml");
    let mut all = vec!["calibrate"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", out.to_str().unwrap()]);
    faultline(&all)
}

fn preset(dir: &Path) -> CalibrationPreset {
    CalibrationPreset::read(&dir.join("preset.toml")).expect("the preset reads back")
}

fn sha256(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_synthetic_server_is_calibrated_back_to_its_efficiencies() {
    let dir = scratch_dir("calibrate-round-trip");
    let file = dir.join("measurements.json");
    std::fs::write(&file, synthetic_measurements().to_string()).unwrap();
    let out = calibrate(&dir, &[file.to_str().unwrap(), "--max-evaluations", "250"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = preset(&dir);
    let got = p.efficiency.efficiency().unwrap();
    println!("{stdout}\nfitted {got:?}\ntrue   {TRUE:?}");
    // What a pool uses the efficiencies for: step times. The fitted ones must give the
    // server's step times for prefills, small and large decode batches, on each model and TP
    // degree the runs covered.
    let gpu = gpu("h100-sxm").unwrap();
    let mut misses = Vec::new();
    for (model, tp) in [("llama-3.1-8b", 1), ("yi-34b", 2), ("llama-3.1-70b", 4)] {
        let arch = catalogue_model(model).unwrap().arch;
        let steps = |e: &Efficiency| {
            let m = StepModel::roofline(&arch, &gpu, tp, e).unwrap();
            [
                ("prefill of 2,000 tokens", m.prefill_ps(2000, 2000 * 2000)),
                ("decode of 1 at 1,000", m.decode_ps(1000, 1)),
                ("decode of 64 at 1,000", m.decode_ps(64 * 1000, 64)),
            ]
        };
        for ((what, fitted), (_, server)) in steps(&got).into_iter().zip(steps(&TRUE)) {
            let err = (fitted as f64 - server as f64).abs() / server as f64;
            let line = format!(
                "{model} TP{tp} {what}: fitted {fitted} ps, server {server} ps ({:.1}%)",
                err * 100.0
            );
            println!("{line}");
            if err > STEP_TOLERANCE {
                misses.push(line);
            }
        }
    }
    let mut close = |name: &str, got: f64, want: f64, tol: f64| {
        let err = (got - want).abs() / want;
        let line = format!(
            "{name}: fitted {got:.4}, server {want} ({:.1}%, tolerance {:.0}%)",
            err * 100.0,
            tol * 100.0
        );
        println!("{line}");
        if err > tol {
            misses.push(line);
        }
    };
    close("compute", got.compute, TRUE.compute, SHARE_TOLERANCE);
    close("bandwidth", got.bandwidth, TRUE.bandwidth, SHARE_TOLERANCE);
    close(
        "kv_bandwidth",
        got.kv_bandwidth,
        TRUE.kv_bandwidth,
        SHARE_TOLERANCE,
    );
    close(
        "step_floor_ms",
        got.step_floor_ms,
        TRUE.step_floor_ms,
        COST_TOLERANCE,
    );
    close(
        "allreduce_us",
        got.allreduce_us,
        TRUE.allreduce_us,
        COST_TOLERANCE,
    );
    close(
        "request_overhead_ms",
        got.request_overhead_ms,
        TRUE.request_overhead_ms,
        COST_TOLERANCE,
    );
    assert!(
        misses.is_empty(),
        "outside tolerance:\n{}",
        misses.join("\n")
    );
    // The summary comes first, then the preset's path.
    assert!(stdout.starts_with("Efficiencies fitted on 4 run(s) (hopper GPUs"));
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("Wrote ")
    );
    // The preset records what it was fitted on and the input's digest.
    assert_eq!(p.fitted_on.gpu_family, "hopper");
    let tps: Vec<u32> = p
        .fitted_on
        .experiments
        .iter()
        .map(|e| e.tensor_parallel)
        .collect();
    assert_eq!(tps, [1, 1, 2, 4]);
    assert_eq!(p.inputs.len(), 1);
    assert_eq!(p.inputs[0].sha256, sha256(&file));
    assert_eq!(p.fit.max_evaluations, 250);
    // Seven metrics of four runs, and each MAPE is the mean of its runs' errors.
    assert_eq!(p.fit.errors.len(), 28);
    for (metric, mape) in &p.fit.mape {
        let errs: Vec<f64> = p
            .fit
            .errors
            .iter()
            .filter(|e| &e.metric == metric)
            .map(|e| e.error_pct)
            .collect();
        assert_eq!(errs.len(), 4);
        let want = errs.iter().sum::<f64>() / 4.0;
        assert!((mape - want).abs() < 1e-9, "{metric}: {mape} vs {want}");
    }
}

/// The figures of a preset's fit for one metric of its one run: (simulated, measured).
fn figure(p: &CalibrationPreset, metric: &str) -> (f64, f64) {
    let e = p
        .fit
        .errors
        .iter()
        .find(|e| e.metric == metric)
        .unwrap_or_else(|| panic!("no {metric} in the fit"));
    (e.simulated_ms, e.measured_ms)
}

#[test]
fn a_vllm_bench_result_is_fitted_and_a_scenario_naming_the_preset_gets_its_step_times() {
    let dir = scratch_dir("calibrate-bench");
    // The model comes from the result's `model_id` (in the catalogue), the GPU from --gpu.
    let out = calibrate(
        &dir,
        &[BENCH, "--gpu", "h100-sxm", "--max-evaluations", "60"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("Efficiencies fitted on 1 run(s) (hopper GPUs"),
        "{stdout}"
    );
    let p = preset(&dir);
    assert_eq!(p.inputs[0].path, BENCH);
    assert_eq!(p.inputs[0].sha256, sha256(Path::new(BENCH)));
    let run = &p.fitted_on.experiments[0];
    assert_eq!(run.model, "meta-llama/Llama-3.1-8B-Instruct");
    assert_eq!((run.gpu.as_str(), run.tensor_parallel), ("h100-sxm", 1));
    assert_eq!((run.max_num_seqs, run.max_num_batched_tokens), (256, 8192));
    // The measured figures are the file's: TPOT stands for the harness's ITL.
    let file: Value = serde_json::from_str(&std::fs::read_to_string(BENCH).unwrap()).unwrap();
    for (metric, key) in [
        ("ttft_mean", "mean_ttft_ms"),
        ("ttft_p90", "p90_ttft_ms"),
        ("ttft_p99", "p99_ttft_ms"),
        ("itl_mean", "mean_tpot_ms"),
        ("e2e_mean", "mean_e2el_ms"),
        ("e2e_p90", "p90_e2el_ms"),
        ("e2e_p99", "p99_e2el_ms"),
    ] {
        assert_eq!(
            figure(&p, metric).1,
            file[key].as_f64().unwrap(),
            "{metric}"
        );
    }
    let eff = p.efficiency.efficiency().unwrap();

    // One call at a time on a pool that names the preset (relative to the scenario file): its
    // TTFT is one prefill step of the roofline with the preset's efficiencies (no request
    // overhead inside scenarios), not the built-in Hopper one.
    let prompt = 2000u64;
    let scenario = format!(
        r#"
seed = 3
replications = 1
horizon = "2h"

[[tenants]]
name = "t"
backend = "pool"
arrivals = {{ process = "poisson", rate = "1/min" }}
prompt_tokens = {{ dist = "fixed", value = {prompt} }}
output_tokens = {{ dist = "fixed", value = 50 }}

[[backends]]
name = "pool"

[backends.gpu_pool]
model = "llama-3.1-8b"
gpu = "h100-sxm"
calibration = "preset.toml"
"#
    );
    let report = run_scenario(&dir, &scenario, &[]);
    let arch = catalogue_model("llama-3.1-8b").unwrap().arch;
    let h100 = gpu("h100-sxm").unwrap();
    let prefill_s = |e: &Efficiency| {
        let m = StepModel::roofline(&arch, &h100, 1, e).unwrap();
        m.prefill_ps(prompt, (prompt * prompt) as u128) as f64 / 1e12
    };
    let (want, builtin) = (prefill_s(&eff), prefill_s(&HOPPER_VLLM_V1));
    let got = mean(&report, "pool.pool.ttft_p50_s");
    // The latency histogram keeps three significant digits.
    assert!(
        (got - want).abs() <= want * 2e-3,
        "TTFT {got} s against one prefill step with the preset's efficiencies, {want} s"
    );
    assert!(
        (want - builtin).abs() > 0.02 * builtin,
        "the preset ({want} s) must differ from the built-in efficiencies ({builtin} s) for this to show anything"
    );
}

#[test]
fn per_request_lists_give_the_figures_over_the_requests_that_succeeded() {
    let dir = scratch_dir("calibrate-detailed");
    // Three requests, the second failed: TTFTs 40 and 60 ms, latencies 40 + 3×10 = 70 and
    // 60 + 3×20 = 120 ms for 4 output tokens each, so TPOT 10 and 20 ms.
    let bench = json!({
        "model_id": "my-own-finetune", "request_rate": 2.0, "burstiness": 1.0,
        "max_concurrency": null, "num_prompts": 3, "completed": 2,
        "input_lens": [100, 300, 500], "output_lens": [4, 0, 4],
        "ttfts": [0.04, 0.0, 0.06], "itls": [[0.01, 0.01, 0.01], [], [0.02, 0.02, 0.02]],
        "errors": ["", "Internal Server Error", ""]
    });
    let file = dir.join("bench.json");
    std::fs::write(&file, bench.to_string()).unwrap();
    let out = calibrate(
        &dir,
        &[
            file.to_str().unwrap(),
            "--model",
            "qwen2.5-7b",
            "--gpu",
            "h100-pcie",
            "--tp",
            "2",
            "--max-num-seqs",
            "64",
            "--max-evaluations",
            "7",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let p = preset(&dir);
    let near = |metric: &str, want: f64| {
        let got = figure(&p, metric).1;
        assert!((got - want).abs() < 1e-9, "{metric}: {got} against {want}");
    };
    near("ttft_mean", 50.0);
    near("ttft_p90", 60.0);
    near("itl_mean", 15.0);
    near("e2e_mean", 95.0);
    near("e2e_p99", 120.0);
    let run = &p.fitted_on.experiments[0];
    assert_eq!(run.model, "qwen2.5-7b");
    assert_eq!(
        (run.gpu.as_str(), run.tensor_parallel, run.max_num_seqs),
        ("h100-pcie", 2, 64)
    );
    // Mean prompt of the two that succeeded: 300 tokens.
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("prompt 300 + output 4 tokens"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Runs `faultline calibrate` in `dir` on files written there; asserts exit 2, that stderr says
/// each of `says`, and that no preset was written.
fn refused(dir: &Path, files: &[(&str, &str)], args: &[&str], says: &[&str]) {
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    let _ = std::fs::remove_file(dir.join("preset.toml"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .current_dir(dir)
        .arg("calibrate")
        .args(args)
        .args(["--out", "preset.toml", "--max-evaluations", "7"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for s in says {
        assert!(stderr.contains(s), "{args:?}: expected `{s}` in: {stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.join("preset.toml").exists(), "{args:?} wrote a preset");
}

#[test]
fn bad_inputs_exit_2_naming_the_file_and_key_and_write_nothing() {
    let dir = scratch_dir("calibrate-bad");
    let bench = std::fs::read_to_string(BENCH).unwrap();
    let h100 = ["--gpu", "h100-sxm"];
    let with = |from: &str, to: &str| {
        assert!(bench.contains(from), "{from}");
        bench.replace(from, to)
    };
    let concurrency = with("\"max_concurrency\": null", "\"max_concurrency\": 64");
    refused(
        &dir,
        &[("b.json", &concurrency)],
        &["b.json", h100[0], h100[1]],
        &["b.json", "at `max_concurrency`", "closed loop"],
    );
    let rate = with("\"request_rate\": 4.0", "\"request_rate\": \"fast\"");
    refused(
        &dir,
        &[("b.json", &rate)],
        &["b.json", h100[0], h100[1]],
        &["b.json", "at `request_rate`", "\"inf\""],
    );
    let completed = with("\"completed\": 200", "\"completed\": \"all\"");
    refused(
        &dir,
        &[("b.json", &completed)],
        &["b.json", h100[0], h100[1]],
        &["b.json:1:", "at `completed`"],
    );
    refused(
        &dir,
        &[("b.json", &bench)],
        &["b.json"],
        &["b.json", "--gpu"],
    );
    refused(
        &dir,
        &[("b.json", &bench)],
        &["b.json", "--gpu", "h100-sxl"],
        &["--gpu h100-sxl", "h100-sxm"],
    );
    refused(
        &dir,
        &[("b.json", &bench)],
        &["b.json", "--gpu", "h100-sxm", "--model", "llama-9b"],
        &["--model llama-9b", "llama-3.1-8b"],
    );
    refused(
        &dir,
        &[("b.json", "{\"request_rate\": 4.0,\n  \"completed\": }")],
        &["b.json", h100[0], h100[1]],
        &["b.json:2:16:"],
    );
    // A measurement file: serde's position and key path; options that only describe a bench
    // result's server are refused beside it.
    let measurements = synthetic_measurements().to_string();
    let bad = measurements.replacen("\"tensor_parallel\":1", "\"tensor_parallel\":\"one\"", 1);
    assert_ne!(bad, measurements);
    refused(
        &dir,
        &[("m.json", &bad)],
        &["m.json"],
        &["m.json:1:", "at `experiments[0].tensor_parallel`"],
    );
    refused(
        &dir,
        &[("m.json", &measurements)],
        &["m.json", "--gpu", "h100-sxm"],
        &["--gpu"],
    );
    // Efficiencies are per family: an H100 file and an A100 bench result are not fitted together.
    refused(
        &dir,
        &[("m.json", &measurements), ("b.json", &bench)],
        &["m.json", "b.json", "--gpu", "a100-80gb"],
        &["b.json", "per GPU family"],
    );
    refused(
        &dir,
        &[("x.json", "{\"hello\": 1}")],
        &["x.json"],
        &["x.json", "expected a measurement file"],
    );
}

#[test]
fn a_scenario_naming_a_bad_preset_exits_2_at_its_key() {
    let dir = scratch_dir("calibrate-bad-preset");
    let out = calibrate(
        &dir,
        &[BENCH, "--gpu", "h100-sxm", "--max-evaluations", "7"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let good = std::fs::read_to_string(dir.join("preset.toml")).unwrap();
    let scenario = |gpu: &str, preset: &str| {
        format!(
            "horizon = \"1m\"\n\n[[tenants]]\nname = \"t\"\nbackend = \"pool\"\n\
             arrivals = {{ process = \"poisson\", rate = \"1/s\" }}\n\n[[backends]]\nname = \"pool\"\n\n\
             [backends.gpu_pool]\nmodel = \"llama-3.1-8b\"\ngpu = \"{gpu}\"\ncalibration = \"{preset}\"\n"
        )
    };
    let validate = |text: String| {
        std::fs::write(dir.join("s.toml"), text).unwrap();
        let out = faultline(&["validate", dir.join("s.toml").to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let compute = good
        .lines()
        .find(|l| l.starts_with("compute = "))
        .unwrap()
        .to_string();
    std::fs::write(
        dir.join("bad.toml"),
        good.replace(&compute, "compute = 1.5"),
    )
    .unwrap();
    let e = validate(scenario("h100-sxm", "bad.toml"));
    assert!(
        e.contains("s.toml:14:") && e.contains("backends[0].gpu_pool.calibration"),
        "{e}"
    );
    assert!(
        e.contains("bad.toml") && e.contains("efficiency.compute"),
        "{e}"
    );
    // Fitted on Hopper, named by an A100 pool.
    let e = validate(scenario("a100-80gb", "preset.toml"));
    assert!(
        e.contains("gpu_pool.calibration") && e.contains("hopper") && e.contains("ampere"),
        "{e}"
    );
    let e = validate(scenario("h100-sxm", "missing.toml"));
    assert!(
        e.contains("gpu_pool.calibration") && e.contains("cannot read"),
        "{e}"
    );
    // The good preset validates.
    std::fs::write(dir.join("s.toml"), scenario("h100-sxm", "preset.toml")).unwrap();
    let out = faultline(&["validate", dir.join("s.toml").to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
