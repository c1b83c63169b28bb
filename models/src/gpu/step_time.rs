//! How long one engine iteration (a "step") takes, as a function of what is in the batch.
//!
//! The form is DistServe's (simdistserve/estimators): a prefill step over prompts of lengths `Lᵢ`
//! takes `a + b·ΣL + c·ΣL²` ms (the linear layers cost per token, attention per token pair); a
//! decode step takes `a + b·Σcontext + c·batch` ms (reading each sequence's KV cache costs per
//! context token, the rest per sequence), with one set of decode coefficients for small batches and
//! another for large ones (DistServe switches at batch 95). Measured data show the shape this
//! cannot capture exactly — a step is nearly flat up to a knee of ~64–128 batched tokens — so each
//! preset states how well it reproduces its own source measurements.
//!
//! Internally coefficients are integers in picoseconds, so a step's duration, and the closed-form
//! duration of `k` consecutive decode steps, are exact integer sums: no float ever enters virtual
//! time, and the sum of `k` steps computed in one go equals the sum computed step by step.

/// Picoseconds per millisecond.
const PS_PER_MS: f64 = 1e9;

use super::arch::Architecture;
use super::hardware::{Efficiency, Gpu};
use super::roofline::Roofline;

/// One set of `[a, b, c]` coefficients in milliseconds, as the sources publish them.
pub type CoeffsMs = [f64; 3];

/// A fitted step-time preset with its provenance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepPreset {
    pub name: &'static str,
    /// Where the coefficients come from and how they were obtained.
    pub source: &'static str,
    /// Prefill `[a, b, c]`: `a + b·ΣL + c·ΣL²` ms.
    pub prefill: CoeffsMs,
    /// Decode `[a, b, c]` for batches of at most `threshold`: `a + b·Σcontext + c·batch` ms.
    pub decode_small: CoeffsMs,
    /// Decode `[a, b, c]` for batches above `threshold`.
    pub decode_large: CoeffsMs,
    pub threshold: u32,
    /// Median absolute percentage error of prefill and decode against the source measurements
    /// (as measured by `models/tests/gpu_calibration.rs`); `None` when the preset is copied
    /// verbatim from a source that publishes only coefficients.
    pub fit_mdape_pct: Option<(f64, f64)>,
}

/// Llama-2-70B, tensor parallel 2, on H100-80GB.
///
/// Source: splitwise-sim `data/perf_model.csv` (rows `llama2-70b,h100-80gb,…,2`): measured
/// `prompt_time` for batches of `b` prompts of `p` tokens (ΣL = b·p, ΣL² = b·p²) and mean
/// `token_time` over `t` generated tokens (Σcontext = b·(p + t/2), batch = b). Fitted by
/// least absolute relative error (IRLS, non-negative coefficients) in
/// `models/tests/gpu_calibration.rs`; the 5 rows at batch 64 are excluded because they are
/// physically inconsistent (32 768 prompt tokens measured faster than 4 096). Batches above 64
/// were not measured, so the large-batch decode coefficients repeat the small-batch ones.
pub const LLAMA2_70B_TP2_H100: StepPreset = StepPreset {
    name: "llama2-70b-tp2-h100",
    source: "splitwise-sim data/perf_model.csv, llama2-70b h100-80gb TP2 (batch-64 rows excluded)",
    prefill: [11.13466, 0.1408823, 2.607603e-06],
    decode_small: [36.62412, 9.090990e-05, 0.4311373],
    decode_large: [36.62412, 9.090990e-05, 0.4311373],
    threshold: 95,
    fit_mdape_pct: Some((0.81, 0.38)),
};

/// Llama-2-70B, tensor parallel 4, on H100-80GB. Source and method as for
/// [`LLAMA2_70B_TP2_H100`] (rows `…,4`; all 105 rows used).
pub const LLAMA2_70B_TP4_H100: StepPreset = StepPreset {
    name: "llama2-70b-tp4-h100",
    source: "splitwise-sim data/perf_model.csv, llama2-70b h100-80gb TP4",
    prefill: [7.140815, 0.1018377, 1.672545e-06],
    decode_small: [29.08924, 4.605891e-05, 0.2501530],
    decode_large: [29.08924, 4.605891e-05, 0.2501530],
    threshold: 95,
    fit_mdape_pct: Some((2.57, 0.98)),
};

/// Llama-2-70B, tensor parallel 8, on H100-80GB. Source and method as for
/// [`LLAMA2_70B_TP2_H100`] (rows `…,8`; all 105 rows used).
pub const LLAMA2_70B_TP8_H100: StepPreset = StepPreset {
    name: "llama2-70b-tp8-h100",
    source: "splitwise-sim data/perf_model.csv, llama2-70b h100-80gb TP8",
    prefill: [27.41178, 0.04843741, 6.267515e-06],
    decode_small: [29.64788, 1.915015e-04, 0.2088305],
    decode_large: [29.64788, 1.915015e-04, 0.2088305],
    threshold: 95,
    fit_mdape_pct: Some((4.79, 1.41)),
};

/// Llama-2-7B, one A100-80GB.
///
/// No source measures this model end to end, so the preset is assembled from two, and says so:
/// - the token-proportional parts (prefill `a`, `b`; decode `a`, `c`) are fitted to Vidur's
///   per-operator profile `vidur_a100_Llama-2-7b-hf_mlp.csv` (TP 1): the time of one forward
///   pass's linear layers, norms, rotary embedding, activation and residual adds = `emb + 32 ×
///   Σ per-layer operator medians`, against the number of tokens (1…4096). A prefill of ΣL tokens
///   and a decode of `batch` sequences both push that many tokens through those operators. The
///   decode fits use batches ≤ 95 (small) and 96…1024 (large), as DistServe splits them.
/// - attention, which that file does not contain, is transferred from DistServe's vLLM profile of
///   OPT-13B on the same A100 (`distserve_profiler-a100-80g.vllm.json`, TP 1) scaled by the
///   models' ratio of KV bytes per token and of layers × hidden size, both 0.64 (Llama-2-7B: 32 ×
///   4096; OPT-13B: 40 × 5120): prefill `c` = 0.64 × 8.0766e-6, decode `b` = 0.64 × 5.9293e-4
///   (small) and 0.64 × 4.9077e-4 (large).
///
/// Vidur's operator times exclude the LM head, sampling and scheduler overhead, so absolute step
/// times are optimistic by a few milliseconds against a real vLLM server.
pub const LLAMA2_7B_A100: StepPreset = StepPreset {
    name: "llama2-7b-a100",
    source: "vidur a100 Llama-2-7b mlp.csv (linear ops, TP1) + DistServe OPT-13B A100 attention scaled 0.64",
    prefill: [5.197072, 0.06224919, 0.64 * 8.076584822611088e-06],
    decode_small: [8.873572, 0.64 * 0.000592934466077393, 0.02386192],
    decode_large: [4.931369, 0.64 * 0.0004907727036234946, 0.06057332],
    threshold: 95,
    fit_mdape_pct: Some((2.51, 2.95)),
};

/// OPT-13B, one A100-80GB, under vLLM: DistServe's fitted coefficients copied verbatim from
/// `distserve_profiler-a100-80g.vllm.json` (`facebook/opt-13b`, TP 1). DistServe publishes the
/// fit, not the measurements, so no fit error can be recomputed here.
pub const OPT_13B_A100_VLLM: StepPreset = StepPreset {
    name: "opt-13b-a100-vllm",
    source: "DistServe simdistserve profile_data distserve_profiler-a100-80g.vllm.json, opt-13b TP1",
    prefill: [
        22.052204789310185,
        0.14050923870128956,
        8.076584822611088e-06,
    ],
    decode_small: [
        23.475041008414784,
        0.000592934466077393,
        0.060726861260369455,
    ],
    decode_large: [
        20.206356173691958,
        0.0004907727036234946,
        0.1200031385587413,
    ],
    threshold: 95,
    fit_mdape_pct: None,
};

/// Every preset, for lookup by name.
pub const PRESETS: [StepPreset; 5] = [
    LLAMA2_7B_A100,
    LLAMA2_70B_TP2_H100,
    LLAMA2_70B_TP4_H100,
    LLAMA2_70B_TP8_H100,
    OPT_13B_A100_VLLM,
];

/// Looks a preset up by its name.
pub fn preset(name: &str) -> Option<StepPreset> {
    PRESETS.iter().copied().find(|p| p.name == name)
}

/// Integer coefficients `[a, b, c]` in picoseconds (per unit of their term).
type CoeffsPs = [u64; 3];

/// The step-time model in integer picoseconds: fitted coefficients (the presets), or a roofline
/// built from a model's architecture and a GPU's datasheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepModel {
    Fitted(Fitted),
    Roofline(Roofline),
}

/// DistServe-form coefficients in integer picoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fitted {
    prefill: CoeffsPs,
    decode_small: CoeffsPs,
    decode_large: CoeffsPs,
    threshold: u32,
}

fn to_ps(what: &str, coeffs: CoeffsMs) -> Result<CoeffsPs, String> {
    let mut out = [0u64; 3];
    for (o, &ms) in out.iter_mut().zip(coeffs.iter()) {
        // Up to an hour per unit is far beyond any real step and keeps sums inside u128.
        if !ms.is_finite() || !(0.0..=3.6e6).contains(&ms) {
            return Err(format!(
                "{what} coefficient {ms} ms is not a finite value in [0, 3.6e6]"
            ));
        }
        *o = libm::round(ms * PS_PER_MS) as u64;
    }
    if out[0] < 1_000 {
        return Err(format!(
            "{what} intercept must be at least 1 µs so every step takes time, got {} ms",
            coeffs[0]
        ));
    }
    Ok(out)
}

/// Picoseconds to whole nanoseconds, rounding up so a non-empty step never takes zero time.
#[inline]
pub fn ps_to_ns(ps: u128) -> u64 {
    u64::try_from(ps.div_ceil(1000)).unwrap_or(u64::MAX)
}

impl StepModel {
    /// Builds the model from millisecond coefficients; errors on negative, non-finite or absurd
    /// values, or an intercept below 1 µs.
    pub fn from_ms(
        prefill: CoeffsMs,
        decode_small: CoeffsMs,
        decode_large: CoeffsMs,
        threshold: u32,
    ) -> Result<StepModel, String> {
        Ok(StepModel::Fitted(Fitted {
            prefill: to_ps("prefill", prefill)?,
            decode_small: to_ps("small-batch decode", decode_small)?,
            decode_large: to_ps("large-batch decode", decode_large)?,
            threshold,
        }))
    }

    pub fn from_preset(p: &StepPreset) -> Result<StepModel, String> {
        StepModel::from_ms(p.prefill, p.decode_small, p.decode_large, p.threshold)
    }

    /// The roofline model of `arch` at tensor-parallel degree `tp` on `gpu` (see
    /// [`super::roofline`]).
    pub fn roofline(
        arch: &Architecture,
        gpu: &Gpu,
        tp: u32,
        eff: &Efficiency,
    ) -> Result<StepModel, String> {
        Roofline::new(arch, gpu, tp, eff).map(StepModel::Roofline)
    }

    /// Prefill step over prompts (or chunks) totalling `sum_tokens`, with `sum_sq` the increase
    /// of `ΣL²`: `Σ c·(c + 2d)` over chunks of `c` tokens after `d` already prefilled, so a
    /// prompt's chunks add up to the cost of prefilling it whole.
    #[inline]
    pub fn prefill_ps(&self, sum_tokens: u64, sum_sq: u128) -> u128 {
        match self {
            StepModel::Fitted(f) => f.prefill_ps(sum_tokens, sum_sq),
            StepModel::Roofline(r) => r.step_ps(sum_tokens, 0, sum_sq, 0),
        }
    }

    /// Decode step of `batch` sequences attending over `sum_context` tokens in all.
    #[inline]
    pub fn decode_ps(&self, sum_context: u128, batch: u32) -> u128 {
        match self {
            StepModel::Fitted(f) => f.decode_ps(sum_context, batch),
            StepModel::Roofline(r) => r.step_ps(batch as u64, batch as u64, 0, sum_context),
        }
    }

    /// A mixed step: prefill chunks alongside `batch` decodes.
    #[inline]
    pub fn mixed_ps(&self, sum_tokens: u64, sum_sq: u128, sum_context: u128, batch: u32) -> u128 {
        match self {
            StepModel::Fitted(f) => f.mixed_ps(sum_tokens, sum_sq, sum_context, batch),
            StepModel::Roofline(r) => {
                r.step_ps(sum_tokens + batch as u64, batch as u64, sum_sq, sum_context)
            }
        }
    }

    /// Total time of `k` consecutive decode steps of an unchanged batch of `batch` sequences whose
    /// contexts sum to `s0` before the first step. Both forms are `base(batch) + b·Σcontext`
    /// per step, and step `j` (1-based) attends over `s0 + batch·j` tokens, so the total is the
    /// arithmetic series `k·(base + b·s0) + b·batch·k(k+1)/2`, exactly equal to summing the steps
    /// one by one.
    #[inline]
    pub fn decode_run_ps(&self, k: u64, batch: u32, s0: u128) -> u128 {
        let (base, b) = match self {
            StepModel::Fitted(f) => {
                let [a, b, c] = f.decode_coeffs(batch);
                (a as u128 + c as u128 * batch as u128, b as u128)
            }
            StepModel::Roofline(r) => (r.decode_base_ps(batch), r.kv_read as u128),
        };
        let k = k as u128;
        k * (base + b * s0) + b * batch as u128 * (k * (k + 1) / 2)
    }

    /// A lower bound on the time any step producing `tokens` output tokens can take; used for the
    /// saturation bound on throughput (every produced token rides on a prefill or decode step).
    pub fn min_step_ps_for(&self, tokens: u32) -> u128 {
        match self {
            StepModel::Fitted(f) => f.min_step_ps_for(tokens),
            // A step producing `tokens` tokens processes at least that many; the cheapest is a
            // decode with no context or a prefill without attention.
            StepModel::Roofline(r) => r.step_ps(tokens as u64, 0, 0, 0),
        }
    }
}

impl Fitted {
    /// The decode coefficients for a batch of `batch` sequences.
    #[inline]
    fn decode_coeffs(&self, batch: u32) -> CoeffsPs {
        if batch <= self.threshold {
            self.decode_small
        } else {
            self.decode_large
        }
    }

    /// Prefill step: `a + b·ΣL + c·ΣL²` in picoseconds. With chunked prefill, `sum_sq` is
    /// `Σ c·(c + 2d)` over chunks of `c` tokens after `d` already prefilled: the increase of `L²`,
    /// so a prompt's chunks add up to the quadratic cost of prefilling it whole.
    #[inline]
    pub fn prefill_ps(&self, sum_tokens: u64, sum_sq: u128) -> u128 {
        let [a, b, c] = self.prefill;
        a as u128 + b as u128 * sum_tokens as u128 + c as u128 * sum_sq
    }

    /// Decode step: `a + b·Σcontext + c·batch` in picoseconds.
    #[inline]
    pub fn decode_ps(&self, sum_context: u128, batch: u32) -> u128 {
        let [a, b, c] = self.decode_coeffs(batch);
        a as u128 + b as u128 * sum_context + c as u128 * batch as u128
    }

    /// A mixed step (chunked prefill alongside decodes): one iteration pays one intercept, the
    /// larger of the two, plus both token-proportional parts. DistServe fits the two phases
    /// separately; adding their variable parts is the Sarathi/Vidur convention.
    #[inline]
    pub fn mixed_ps(&self, sum_tokens: u64, sum_sq: u128, sum_context: u128, batch: u32) -> u128 {
        if batch == 0 {
            return self.prefill_ps(sum_tokens, sum_sq);
        }
        if sum_tokens == 0 {
            return self.decode_ps(sum_context, batch);
        }
        let [pa, pb, pc] = self.prefill;
        let [da, db, dc] = self.decode_coeffs(batch);
        pa.max(da) as u128
            + pb as u128 * sum_tokens as u128
            + pc as u128 * sum_sq
            + db as u128 * sum_context
            + dc as u128 * batch as u128
    }

    /// A lower bound on the time any step producing `tokens` output tokens can take; used for the
    /// saturation bound on throughput (every produced token rides on a prefill or decode step).
    pub fn min_step_ps_for(&self, tokens: u32) -> u128 {
        let [pa, pb, _] = self.prefill;
        let [da, db, dc] = self.decode_coeffs(tokens);
        let t = tokens as u128;
        let prefill = pa as u128 + pb as u128 * t;
        let decode = da as u128 + (db as u128 + dc as u128) * t;
        prefill.min(decode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_builds() {
        for p in PRESETS {
            assert!(StepModel::from_preset(&p).is_ok(), "{}", p.name);
            assert_eq!(preset(p.name), Some(p));
        }
    }

    #[test]
    fn run_sum_equals_step_by_step_sum() {
        let m = StepModel::from_preset(&LLAMA2_70B_TP4_H100).unwrap();
        for batch in [1u32, 7, 96, 200] {
            let s0 = 1234u128 * batch as u128;
            let mut total = 0u128;
            for j in 1..=300u64 {
                total += m.decode_ps(s0 + batch as u128 * j as u128, batch);
                assert_eq!(m.decode_run_ps(j, batch, s0), total);
            }
        }
    }

    #[test]
    fn invalid_coefficients_are_errors() {
        let ok = [1.0, 0.1, 0.0];
        assert!(StepModel::from_ms([-1.0, 0.0, 0.0], ok, ok, 95).is_err());
        assert!(StepModel::from_ms(ok, [f64::NAN, 0.0, 0.0], ok, 95).is_err());
        assert!(StepModel::from_ms(ok, ok, [0.0, 0.0, 0.0], 95).is_err());
        assert!(StepModel::from_ms(ok, ok, [1.0, f64::INFINITY, 0.0], 95).is_err());
    }
}
