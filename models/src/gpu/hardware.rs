//! A catalogue of accelerators from their datasheets, and the efficiency coefficients that turn
//! datasheet peaks into the speeds a serving engine reaches.
//!
//! Peaks are dense (no sparsity) BF16/FP16 tensor throughput, HBM bandwidth, memory and the
//! per-GPU bandwidth of the link tensor parallelism all-reduces over. Memory is in GiB because
//! HBM stacks are binary-sized (an "80 GB" H100 has 80 GiB on the package).

/// One accelerator model, as its vendor's datasheet states it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gpu {
    pub name: &'static str,
    /// Dense BF16/FP16 tensor throughput, TFLOP/s.
    pub tflops: f64,
    /// HBM (or GDDR) bandwidth, TB/s.
    pub hbm_tb_s: f64,
    pub memory_gib: f64,
    /// Per-GPU bandwidth of the tensor-parallel link (NVLink, Infinity Fabric or PCIe), GB/s.
    pub link_gb_s: f64,
    /// Which set of fitted efficiencies applies.
    pub family: Family,
    pub source: &'static str,
}

/// GPUs that share kernels and so efficiencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Ampere,
    Hopper,
    Ada,
    Cdna3,
}

/// The built-in accelerators.
pub const GPUS: [Gpu; 8] = [
    Gpu {
        name: "a100-40gb",
        tflops: 312.0,
        hbm_tb_s: 1.555,
        memory_gib: 40.0,
        link_gb_s: 600.0,
        family: Family::Ampere,
        source: "NVIDIA A100 datasheet (SXM4 40GB): 312 TFLOP/s BF16, 1,555 GB/s, NVLink 600 GB/s",
    },
    Gpu {
        name: "a100-80gb",
        tflops: 312.0,
        hbm_tb_s: 2.039,
        memory_gib: 80.0,
        link_gb_s: 600.0,
        family: Family::Ampere,
        source: "NVIDIA A100 datasheet (SXM4 80GB): 312 TFLOP/s BF16, 2,039 GB/s, NVLink 600 GB/s",
    },
    Gpu {
        name: "h100-sxm",
        tflops: 989.0,
        hbm_tb_s: 3.35,
        memory_gib: 80.0,
        link_gb_s: 900.0,
        family: Family::Hopper,
        source: "NVIDIA H100 datasheet (SXM5 80GB): 989 TFLOP/s BF16, 3.35 TB/s, NVLink 900 GB/s",
    },
    Gpu {
        name: "h100-pcie",
        tflops: 756.0,
        hbm_tb_s: 2.0,
        memory_gib: 80.0,
        link_gb_s: 600.0,
        family: Family::Hopper,
        source: "NVIDIA H100 datasheet (PCIe 80GB): 756 TFLOP/s BF16, 2.0 TB/s, NVLink bridge 600 GB/s",
    },
    Gpu {
        name: "h200",
        tflops: 989.0,
        hbm_tb_s: 4.8,
        memory_gib: 141.0,
        link_gb_s: 900.0,
        family: Family::Hopper,
        source: "NVIDIA H200 datasheet (SXM 141GB): 989 TFLOP/s BF16, 4.8 TB/s, NVLink 900 GB/s",
    },
    Gpu {
        name: "l40s",
        tflops: 362.0,
        hbm_tb_s: 0.864,
        memory_gib: 48.0,
        link_gb_s: 64.0,
        family: Family::Ada,
        source: "NVIDIA L40S datasheet: 362 TFLOP/s BF16, 864 GB/s GDDR6, PCIe Gen4 x16 64 GB/s",
    },
    Gpu {
        name: "l4",
        tflops: 121.0,
        hbm_tb_s: 0.3,
        memory_gib: 24.0,
        link_gb_s: 64.0,
        family: Family::Ada,
        source: "NVIDIA L4 datasheet: 121 TFLOP/s BF16, 300 GB/s GDDR6, PCIe Gen4 x16 64 GB/s",
    },
    Gpu {
        name: "mi300x",
        tflops: 1307.0,
        hbm_tb_s: 5.3,
        memory_gib: 192.0,
        link_gb_s: 896.0,
        family: Family::Cdna3,
        source: "AMD Instinct MI300X datasheet: 1,307 TFLOP/s BF16, 5.3 TB/s, Infinity Fabric 7 × 128 GB/s",
    },
];

/// Looks a GPU up by name.
pub fn gpu(name: &str) -> Option<Gpu> {
    GPUS.iter().copied().find(|g| g.name == name)
}

/// The fitted part of the step-time model: how much of the datasheet peaks a serving engine
/// reaches, and the fixed costs the roofline does not see.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Efficiency {
    /// Share of peak FLOP/s the GEMMs and attention reach.
    pub compute: f64,
    /// Share of peak memory bandwidth that streaming the weights reaches.
    pub bandwidth: f64,
    /// Share of peak memory bandwidth that decode attention's paged KV reads reach (scattered
    /// 16-token blocks: lower than the weights' streaming).
    pub kv_bandwidth: f64,
    /// Fixed cost of every engine step (scheduling, sampling, kernel launches), ms.
    pub step_floor_ms: f64,
    /// Latency of one tensor-parallel all-reduce (two per layer per step), µs.
    pub allreduce_us: f64,
    /// Time a request spends outside the engine (HTTP, tokenising, detokenising), ms: it adds
    /// to time to first token and end-to-end latency.
    pub request_overhead_ms: f64,
}

/// Efficiencies of vLLM V1 on Hopper, fitted to all seven sim-to-real experiments
/// (`data/sim-to-real/`, H100 SXM, vLLM V1) replayed without prefix caching by `faultline
/// fidelity --no-prefix-caching` (the refit with caching, in the README, is not adopted here:
/// it would move every example on an architecture pool) from
/// [`super::fit::FIT_START`], rounded to three figures (`tests/gpu_fidelity.rs` checks they are
/// what the command prints). Other families have no measurement in the repository and borrow
/// these, which [`efficiency`] says. The request overhead applies in the fidelity harness only.
pub const HOPPER_VLLM_V1: Efficiency = Efficiency {
    compute: 0.695,
    bandwidth: 0.825,
    kv_bandwidth: 0.505,
    step_floor_ms: 1.04,
    allreduce_us: 2.99,
    request_overhead_ms: 6.08,
};

/// The efficiencies for a family, and where they come from.
pub fn efficiency(family: Family) -> (Efficiency, &'static str) {
    match family {
        Family::Hopper => (
            HOPPER_VLLM_V1,
            "fitted to real vLLM V1 runs on H100 SXM (data/sim-to-real)",
        ),
        Family::Ampere | Family::Ada | Family::Cdna3 => (
            HOPPER_VLLM_V1,
            "no measurement of this family in the repository: Hopper's fitted efficiencies, unverified",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_names_are_unique_and_values_positive() {
        for (i, g) in GPUS.iter().enumerate() {
            assert_eq!(gpu(g.name), Some(*g));
            assert!(GPUS[..i].iter().all(|o| o.name != g.name));
            assert!(g.tflops > 0.0 && g.hbm_tb_s > 0.0 && g.memory_gib > 0.0 && g.link_gb_s > 0.0);
        }
        // The 40 GB A100 has 24% less bandwidth than the 80 GB one: the two are not
        // interchangeable in a step-time model.
        let ratio = gpu("a100-40gb").unwrap().hbm_tb_s / gpu("a100-80gb").unwrap().hbm_tb_s;
        assert!((ratio - 0.7626).abs() < 1e-3, "{ratio}");
    }
}
