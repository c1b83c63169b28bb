//! Reading the JSON that `vllm bench serve --save-result` writes, as one experiment of the
//! sim-to-real measurement format (`models::gpu::fidelity`), so that `faultline calibrate` fits
//! it like any other run.
//!
//! The file holds the client's side of the run: the request rate (a number, or `"inf"` for all
//! at once), how many prompts were sent and completed, token totals, and latency statistics in
//! milliseconds (`mean_ttft_ms`, `p99_ttft_ms`, `mean_tpot_ms`, `mean_itl_ms`, `mean_e2el_ms`,
//! `p99_e2el_ms`, ... for the percentiles asked with `--metric-percentiles`). With
//! `--save-detailed` (and in vLLM's older `benchmark_serving.py`) it also holds the per-request
//! lists `input_lens`, `output_lens`, `ttfts` and `itls` (seconds), from which every figure is
//! computed the way the fidelity harness computes the simulated ones. It does not say which GPU
//! served, at which tensor-parallel degree, or with which scheduler limits: the caller does.
//!
//! The workload becomes one Poisson stage at the stated rate, every prompt and output at the
//! run's mean lengths (the simulated replica sees fixed lengths; a dataset whose lengths vary
//! widely is fitted on its means, which the summary prints). Metrics the file lacks are left
//! out of the fit (NaN), never guessed.

use std::collections::BTreeMap;

use models::gpu::arch::HfConfig;
use models::gpu::fidelity::{Experiment, Figures};
use serde::Deserialize;
use serde_json::{Value, json};

/// Requests per second standing for `"inf"` (every prompt sent at once): all arrive within
/// microseconds.
pub const ALL_AT_ONCE_RATE: f64 = 1e6;

/// What the run itself does not say, given on the command line.
#[derive(Debug, Clone)]
pub struct Server {
    /// Catalogue name, Hugging Face repository or config.json path, as shown in outputs.
    pub model: String,
    pub config: HfConfig,
    pub gpu: String,
    pub tensor_parallel: u32,
    pub max_num_seqs: u32,
    pub max_num_batched_tokens: u32,
}

/// The fields of a `vllm bench serve` result that calibration reads; the many others are
/// ignored.
#[derive(Debug, Deserialize)]
pub struct BenchResult {
    #[serde(default)]
    pub model_id: Option<String>,
    /// A number, or `"inf"`.
    pub request_rate: Value,
    #[serde(default)]
    pub burstiness: Option<f64>,
    #[serde(default)]
    pub max_concurrency: Option<u64>,
    #[serde(default)]
    pub ramp_up_strategy: Option<String>,
    #[serde(default)]
    pub num_prompts: Option<u64>,
    pub completed: u64,
    #[serde(default)]
    pub total_input_tokens: Option<u64>,
    #[serde(default)]
    pub total_output_tokens: Option<u64>,
    #[serde(default)]
    pub input_lens: Option<Vec<u64>>,
    #[serde(default)]
    pub output_lens: Option<Vec<u64>>,
    /// Seconds, per request.
    #[serde(default)]
    pub ttfts: Option<Vec<f64>>,
    /// Seconds, per request and token after the first.
    #[serde(default)]
    pub itls: Option<Vec<Vec<f64>>>,
    /// Seconds, per request (newer vLLM).
    #[serde(default)]
    pub latencies: Option<Vec<f64>>,
    /// Empty for a request that succeeded.
    #[serde(default)]
    pub errors: Option<Vec<String>>,
    #[serde(default)]
    pub mean_ttft_ms: Option<f64>,
    #[serde(default)]
    pub p90_ttft_ms: Option<f64>,
    #[serde(default)]
    pub p99_ttft_ms: Option<f64>,
    #[serde(default)]
    pub mean_tpot_ms: Option<f64>,
    #[serde(default)]
    pub mean_itl_ms: Option<f64>,
    #[serde(default)]
    pub mean_e2el_ms: Option<f64>,
    #[serde(default)]
    pub p90_e2el_ms: Option<f64>,
    #[serde(default)]
    pub p99_e2el_ms: Option<f64>,
}

/// Whether parsed JSON looks like a `vllm bench serve` result rather than a measurement file.
pub fn looks_like_bench(v: &Value) -> bool {
    ["request_rate", "completed", "mean_ttft_ms"]
        .iter()
        .any(|k| v.get(k).is_some())
}

/// The HfConfig fields of a catalogue architecture (what its `config.json` says).
pub fn hf_config(a: &models::gpu::arch::Architecture) -> HfConfig {
    HfConfig {
        hidden_size: a.hidden,
        intermediate_size: a.intermediate,
        num_attention_heads: a.heads,
        num_key_value_heads: Some(a.kv_heads),
        num_hidden_layers: a.layers,
        vocab_size: a.vocab,
        head_dim: Some(a.head_dim),
        tie_word_embeddings: a.tied_embeddings,
        torch_dtype: Some(
            if a.dtype_bytes == 4 {
                "float32"
            } else {
                "bfloat16"
            }
            .to_string(),
        ),
        architectures: vec![
            if a.qkv_bias {
                "Qwen2ForCausalLM"
            } else {
                "LlamaForCausalLM"
            }
            .to_string(),
        ],
    }
}

/// The experiment `r` describes, named `id`, served by `server`. Errors name the key and what
/// was expected.
pub fn experiment(id: &str, r: &BenchResult, server: &Server) -> Result<Experiment, String> {
    let rate = match &r.request_rate {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite() && *x > 0.0),
        Value::String(s) if s == "inf" => Some(ALL_AT_ONCE_RATE),
        _ => None,
    }
    .ok_or_else(|| {
        format!(
            "at `request_rate`: expected a positive number of requests per second or \"inf\", found {}",
            r.request_rate
        )
    })?;
    if let Some(c) = r.max_concurrency {
        return Err(format!(
            "at `max_concurrency`: expected null, found {c}: a run capped at a concurrency is a closed loop, and calibration replays open Poisson arrivals; run `vllm bench serve` without --max-concurrency"
        ));
    }
    if let Some(b) = r.burstiness.filter(|&b| b != 1.0) {
        return Err(format!(
            "at `burstiness`: expected 1.0 (Poisson arrivals), found {b}"
        ));
    }
    if let Some(s) = &r.ramp_up_strategy {
        return Err(format!(
            "at `ramp_up_strategy`: expected null (a constant rate), found \"{s}\""
        ));
    }
    if r.completed == 0 {
        return Err("at `completed`: expected at least one completed request, found 0".into());
    }
    let sent = r.num_prompts.unwrap_or(r.completed).max(r.completed);
    let (measured, input_mean, output_mean) = match &r.ttfts {
        Some(ttfts) => detailed(r, ttfts)?,
        None => summary(r)?,
    };
    let round = |x: f64| x.round().max(1.0) as u32;
    let mut e: Experiment = serde_json::from_value(json!({
        "id": id,
        "model": server.model,
        "model_config": {
            "hidden_size": server.config.hidden_size,
            "intermediate_size": server.config.intermediate_size,
            "num_attention_heads": server.config.num_attention_heads,
            "num_key_value_heads": server.config.num_key_value_heads,
            "num_hidden_layers": server.config.num_hidden_layers,
            "vocab_size": server.config.vocab_size,
            "head_dim": server.config.head_dim,
            "tie_word_embeddings": server.config.tie_word_embeddings,
            "torch_dtype": server.config.torch_dtype,
            "architectures": server.config.architectures,
        },
        "hardware": server.gpu,
        "tensor_parallel": server.tensor_parallel,
        "max_num_seqs": server.max_num_seqs,
        "max_num_batched_tokens": server.max_num_batched_tokens,
        "total_kv_blocks_gpu": 0,
        "workload": {
            "stages": [{ "duration": sent as f64 / rate, "rate": rate }],
            "shared_prefix": {
                "num_unique_system_prompts": 1,
                "num_users_per_system_prompt": 1,
                "system_prompt_len": 0,
                "question_len": round(input_mean),
                "output_len": round(output_mean),
            },
            "num_requests": sent,
        },
        "measured_ms": {},
    }))
    .map_err(|e| format!("cannot describe the run as an experiment: {e}"))?;
    e.measured_ms = BTreeMap::from([("whole_run".to_string(), measured)]);
    // vLLM's own count is not in the file: the computed one stands in for it.
    e.total_kv_blocks_gpu = e.computed_kv_blocks()?;
    Ok(e)
}

/// Figures from the summary statistics (milliseconds), and the mean lengths from the token
/// totals. ITL is vLLM's TPOT — the mean over requests of `(E2E − TTFT) / (output − 1)`, the
/// harness's definition — or its token-weighted ITL where TPOT is absent.
fn summary(r: &BenchResult) -> Result<(Figures, f64, f64), String> {
    let need = |key: &str, v: Option<u64>| {
        v.ok_or_else(|| {
            format!(
                "at `{key}`: expected the run's token total (or the per-request lists of --save-detailed), found nothing"
            )
        })
    };
    let ttft_mean = r.mean_ttft_ms.ok_or(
        "at `mean_ttft_ms`: expected the mean time to first token (or per-request `ttfts`), found nothing",
    )?;
    let n = r.completed as f64;
    let input = need("total_input_tokens", r.total_input_tokens)? as f64 / n;
    let output = need("total_output_tokens", r.total_output_tokens)? as f64 / n;
    let v = |x: Option<f64>| x.unwrap_or(f64::NAN);
    Ok((
        Figures {
            ttft_mean,
            ttft_p90: v(r.p90_ttft_ms),
            ttft_p99: v(r.p99_ttft_ms),
            itl_mean: v(r.mean_tpot_ms.or(r.mean_itl_ms)),
            e2e_mean: v(r.mean_e2el_ms),
            e2e_p90: v(r.p90_e2el_ms),
            e2e_p99: v(r.p99_e2el_ms),
        },
        input,
        output,
    ))
}

/// Figures from the per-request lists, over the requests that succeeded, computed as the
/// harness computes the simulated ones (means, nearest-rank percentiles).
fn detailed(r: &BenchResult, ttfts: &[f64]) -> Result<(Figures, f64, f64), String> {
    let n = ttfts.len();
    let list = |key: &str, len: Option<usize>| match len {
        Some(l) if l == n => Ok(()),
        Some(l) => Err(format!(
            "at `{key}`: expected {n} entries, one per request as in `ttfts`, found {l}"
        )),
        None => Err(format!(
            "at `{key}`: expected a list beside `ttfts`, found nothing"
        )),
    };
    list("input_lens", r.input_lens.as_ref().map(Vec::len))?;
    list("output_lens", r.output_lens.as_ref().map(Vec::len))?;
    if r.latencies.is_none() {
        list("itls", r.itls.as_ref().map(Vec::len))?;
    } else {
        list("latencies", r.latencies.as_ref().map(Vec::len))?;
    }
    let (ins, outs) = (r.input_lens.as_deref(), r.output_lens.as_deref());
    let (mut ttft, mut e2e, mut tpot) = (Vec::new(), Vec::new(), Vec::new());
    let (mut sum_in, mut sum_out) = (0.0, 0.0);
    for i in 0..n {
        let failed = r
            .errors
            .as_ref()
            .and_then(|e| e.get(i))
            .is_some_and(|e| !e.is_empty());
        let out = outs.map_or(0, |o| o[i]);
        if failed || out == 0 {
            continue;
        }
        let t = ttfts[i];
        let total = match (&r.latencies, &r.itls) {
            (Some(l), _) => l[i],
            (None, Some(itls)) => t + itls[i].iter().sum::<f64>(),
            (None, None) => t,
        };
        if !(t.is_finite() && t >= 0.0 && total.is_finite() && total >= t) {
            return Err(format!(
                "at `ttfts[{i}]`: expected a time to first token of 0 s or more, within the request's latency, found {t}"
            ));
        }
        ttft.push(t * 1e3);
        e2e.push(total * 1e3);
        if out > 1 {
            tpot.push((total - t) * 1e3 / (out - 1) as f64);
        }
        sum_in += ins.map_or(0, |v| v[i]) as f64;
        sum_out += out as f64;
    }
    if ttft.is_empty() {
        return Err("at `ttfts`: expected at least one request that succeeded, found none".into());
    }
    let k = ttft.len() as f64;
    Ok((
        Figures {
            ttft_mean: mean(&ttft),
            ttft_p90: percentile(&mut ttft, 90),
            ttft_p99: percentile(&mut ttft, 99),
            itl_mean: if tpot.is_empty() {
                f64::NAN
            } else {
                mean(&tpot)
            },
            e2e_mean: mean(&e2e),
            e2e_p90: percentile(&mut e2e, 90),
            e2e_p99: percentile(&mut e2e, 99),
        },
        sum_in / k,
        sum_out / k,
    ))
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Nearest rank, as the fidelity harness reads its simulated percentiles.
fn percentile(v: &mut [f64], p: usize) -> f64 {
    v.sort_by(f64::total_cmp);
    v[(p * v.len()).div_ceil(100).max(1) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;
    use models::gpu::arch::CATALOGUE;

    #[test]
    fn every_catalogue_model_round_trips_through_its_config() {
        for m in CATALOGUE {
            assert_eq!(hf_config(&m.arch).architecture(), Ok(m.arch), "{}", m.name);
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let mut v: Vec<f64> = (1..=10).rev().map(f64::from).collect();
        assert_eq!(percentile(&mut v, 90), 9.0);
        assert_eq!(percentile(&mut v, 99), 10.0);
        assert_eq!(percentile(&mut v, 50), 5.0);
    }
}
