//! Step times and KV capacity from a model's architecture and a GPU's datasheet.
//!
//! A step that pushes `n` tokens through the model (prefill chunks plus one token per decoding
//! sequence) costs, on each of the `tp` GPUs:
//!
//! ```text
//! floor + max(GEMM FLOPs / (peak · compute), weight bytes / (bandwidth · bw))   matrix multiplies
//!       + attention FLOPs of the prefill chunks / (peak · compute)               prefill attention
//!       + KV bytes the decodes read / (bandwidth · kv_bw)                        decode attention
//!       + 2 · layers · (all-reduce latency + n · hidden bytes · 2(tp−1)/tp / link)  (tp > 1)
//! ```
//!
//! The GEMMs read every weight once a step and do `2 · params` FLOPs a token, so they are
//! memory-bound for small batches and compute-bound past the roofline's ridge; that is what makes
//! short prompts cost a floor and long batched prefills curve. Every term is converted once to
//! integer picoseconds per unit, so a step's time is an exact integer function of the batch and
//! a run of decode steps still sums in closed form (see [`super::step_time`]).
//!
//! KV capacity follows vLLM's start-up profile: per GPU, `gpu_memory_utilization × memory` less
//! the weight shard and a reserve for the activation peak and non-torch memory (CUDA graphs,
//! NCCL buffers), divided by the bytes of one 16-token block on that GPU.

use super::arch::Architecture;
use super::hardware::{Efficiency, Gpu};
use super::kv::{KvSpec, ModelShape};

/// vLLM's memory outside weights and KV cache, per GPU, in GiB: the activation peak of the
/// profiling forward pass plus non-torch allocations. Against the seven H100 experiments of
/// `data/sim-to-real` the per-GPU remainder (at 80 GiB and utilisation 0.9) spans 1.14–2.01 GiB;
/// 1.5 GiB puts every computed block count within 1.2% of the reported one
/// (`models/tests/gpu_fidelity.rs`).
pub const VLLM_RESERVE_GIB: f64 = 1.5;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// The integer coefficients of the roofline step model, in picoseconds per unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roofline {
    /// Per step: the floor plus the all-reduces' latency.
    pub fixed: u64,
    /// GEMM compute per token through the layers.
    pub per_token: u64,
    /// LM head per sampled (decoding) token.
    pub per_sample: u64,
    /// Reading the weight shard once.
    pub weights: u64,
    /// All-reduce transfer per token.
    pub allreduce_per_token: u64,
    /// Prefill attention per unit of `Σ c·(c + 2d)` (twice the (query, key) pairs).
    pub attention: u64,
    /// Decode attention per context token read.
    pub kv_read: u64,
}

fn ps(seconds: f64) -> u64 {
    // Coefficients stay far below u64::MAX ps (~213 days); non-finite inputs are rejected earlier.
    libm::round(seconds * 1e12) as u64
}

impl Roofline {
    /// The coefficients for `arch` at tensor-parallel degree `tp` on `gpu` with `eff`.
    pub fn new(
        arch: &Architecture,
        gpu: &Gpu,
        tp: u32,
        eff: &Efficiency,
    ) -> Result<Roofline, String> {
        check_efficiency(eff)?;
        if tp == 0 {
            return Err("tensor-parallel degree must be at least 1".into());
        }
        let t = tp as f64;
        let flops = gpu.tflops * 1e12 * eff.compute;
        let bytes = gpu.hbm_tb_s * 1e12 * eff.bandwidth;
        let kv_bytes = gpu.hbm_tb_s * 1e12 * eff.kv_bandwidth;
        let allreduces = 2.0 * arch.layers as f64;
        let (ar_fixed, ar_token) = if tp > 1 {
            let ring = 2.0 * (t - 1.0) / t;
            (
                allreduces * eff.allreduce_us * 1e-6,
                allreduces * arch.allreduce_bytes_per_token() as f64 * ring / (gpu.link_gb_s * 1e9),
            )
        } else {
            (0.0, 0.0)
        };
        let fixed = ps(eff.step_floor_ms * 1e-3 + ar_fixed);
        if fixed < 1_000 {
            return Err("the step floor must be at least 1 µs so every step takes time".into());
        }
        Ok(Roofline {
            fixed,
            per_token: ps(arch.gemm_flops_per_token() as f64 / t / flops),
            per_sample: ps(arch.head_flops_per_token() as f64 / t / flops),
            weights: ps(arch.weight_bytes_per_gpu(tp) as f64 / bytes),
            allreduce_per_token: ps(ar_token),
            attention: ps(arch.attention_flops_per_pair() as f64 / 2.0 / t / flops),
            kv_read: ps(arch.kv_bytes_per_token_per_gpu(tp) as f64 / kv_bytes),
        })
    }

    /// One step: `tokens` through the layers, `samples` of them decoding sequences, prefill
    /// attention `sum_sq` and decode KV reads over `sum_context` tokens.
    #[inline]
    pub fn step_ps(&self, tokens: u64, samples: u64, sum_sq: u128, sum_context: u128) -> u128 {
        let gemm = (self.per_token as u128 * tokens as u128
            + self.per_sample as u128 * samples as u128)
            .max(self.weights as u128);
        self.fixed as u128
            + gemm
            + self.allreduce_per_token as u128 * tokens as u128
            + self.attention as u128 * sum_sq
            + self.kv_read as u128 * sum_context
    }

    /// The part of a decode step of `batch` sequences that does not depend on their contexts.
    #[inline]
    pub fn decode_base_ps(&self, batch: u32) -> u128 {
        self.step_ps(batch as u64, batch as u64, 0, 0)
    }
}

fn check_efficiency(eff: &Efficiency) -> Result<(), String> {
    let share = |name: &str, v: f64| {
        if v.is_finite() && v > 0.0 && v <= 1.0 {
            Ok(())
        } else {
            Err(format!("efficiency `{name}` must be in (0, 1], got {v}"))
        }
    };
    share("compute", eff.compute)?;
    share("bandwidth", eff.bandwidth)?;
    share("kv_bandwidth", eff.kv_bandwidth)?;
    for (name, v) in [
        ("step_floor_ms", eff.step_floor_ms),
        ("allreduce_us", eff.allreduce_us),
        ("request_overhead_ms", eff.request_overhead_ms),
    ] {
        if !(v.is_finite() && (0.0..=3.6e6).contains(&v)) {
            return Err(format!(
                "`{name}` must be a finite value in [0, 3.6e6], got {v}"
            ));
        }
    }
    Ok(())
}

/// KV blocks per replica as vLLM computes them: the per-GPU budget, since every rank holds the
/// same number of blocks of its own KV heads.
pub fn vllm_kv_blocks(
    arch: &Architecture,
    gpu: &Gpu,
    tp: u32,
    memory_fraction: f64,
    reserve_gib: f64,
) -> Result<u32, String> {
    if !(memory_fraction.is_finite() && memory_fraction > 0.0 && memory_fraction <= 1.0) {
        return Err(format!(
            "memory fraction must be in (0, 1], got {memory_fraction}"
        ));
    }
    if !(reserve_gib.is_finite() && reserve_gib >= 0.0 && reserve_gib <= gpu.memory_gib) {
        return Err(format!(
            "the reserve must be between 0 and the GPU's {} GiB, got {reserve_gib}",
            gpu.memory_gib
        ));
    }
    let reserved = arch
        .weight_bytes_per_gpu(tp)
        .saturating_add(libm::round(reserve_gib * GIB) as u64);
    KvSpec::Memory {
        gpu_memory_bytes: libm::round(gpu.memory_gib * GIB) as u64,
        gpus: 1,
        memory_fraction_ppm: libm::round(memory_fraction * 1e6) as u32,
        reserved_bytes: reserved,
        shape: ModelShape {
            layers: arch.layers,
            kv_heads: arch.kv_heads_per_gpu(tp),
            head_dim: arch.head_dim,
            bytes_per_element: arch.dtype_bytes,
        },
    }
    .blocks()
}
