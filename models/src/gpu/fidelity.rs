//! Sim-to-real: a measurement file of real vLLM runs (`data/sim-to-real/`), each experiment
//! replayed on one simulated replica, and the simulated figures beside the measured ones.
//!
//! An experiment names the model (its `config.json` fields), the GPU, the tensor-parallel degree,
//! vLLM's scheduler limits and the block count vLLM reported, and a workload: Poisson stages of
//! requests with fixed prompt and output lengths whose prompts start with one of a few shared
//! system prompts. The replica is built from the architecture alone (roofline step times, vLLM's
//! KV budget, chunked prefill on, as vLLM V1 runs it); nothing measured goes into the simulation.

use std::collections::BTreeMap;

use serde::Deserialize;
use sim_core::{RandomStream, Streams, Time};

use super::arch::{Architecture, HfConfig};
use super::hardware::{Efficiency, Gpu, gpu};
use super::prefix::PromptKey;
use super::replica::{Completion, Replica, ReplicaConfig};
use super::roofline::{VLLM_RESERVE_GIB, vllm_kv_blocks};
use super::step_time::StepModel;

/// vLLM's default `gpu_memory_utilization`, which the experiments ran with.
pub const MEMORY_FRACTION: f64 = 0.9;

/// A measurement file: `{ "experiments": [...] }`.
#[derive(Debug, Clone, Deserialize)]
pub struct MeasurementFile {
    pub experiments: Vec<Experiment>,
}

/// One real run.
#[derive(Debug, Clone, Deserialize)]
pub struct Experiment {
    pub id: String,
    pub model: String,
    pub model_config: HfConfig,
    pub hardware: String,
    pub tensor_parallel: u32,
    pub max_num_seqs: u32,
    pub max_num_batched_tokens: u32,
    pub total_kv_blocks_gpu: u32,
    pub workload: Workload,
    /// `whole_run` and `stage_<i>` → metric name → milliseconds.
    pub measured_ms: BTreeMap<String, Figures>,
    /// Replay with automatic prefix caching, each request keyed by its group's system prompt,
    /// as the real servers ran (not in the file; on unless the caller turns it off). The
    /// built-in Hopper efficiencies were fitted with it.
    #[serde(skip, default = "on")]
    pub prefix_caching: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Workload {
    pub stages: Vec<Stage>,
    pub shared_prefix: SharedPrefix,
    pub num_requests: u64,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Stage {
    /// Seconds.
    pub duration: f64,
    /// Requests per second (Poisson).
    pub rate: f64,
}

/// inference-perf's `shared_prefix` generator: `groups × users` users; each prompt is a group's
/// system prompt followed by a question.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct SharedPrefix {
    pub num_unique_system_prompts: u32,
    pub num_users_per_system_prompt: u32,
    pub system_prompt_len: u32,
    pub question_len: u32,
    pub output_len: u32,
}

fn on() -> bool {
    true
}

/// The figures compared, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Figures {
    pub ttft_mean: f64,
    pub ttft_p90: f64,
    pub ttft_p99: f64,
    pub itl_mean: f64,
    pub e2e_mean: f64,
    pub e2e_p90: f64,
    pub e2e_p99: f64,
}

/// A metric's name and how to read it from [`Figures`].
pub type Metric = (&'static str, fn(&Figures) -> f64);

/// The metrics, in the order tables print them, with their accessors.
pub const METRICS: [Metric; 7] = [
    ("ttft_mean", |f| f.ttft_mean),
    ("ttft_p90", |f| f.ttft_p90),
    ("ttft_p99", |f| f.ttft_p99),
    ("itl_mean", |f| f.itl_mean),
    ("e2e_mean", |f| f.e2e_mean),
    ("e2e_p90", |f| f.e2e_p90),
    ("e2e_p99", |f| f.e2e_p99),
];

/// Where a simulated request's output length comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputLengths {
    /// The workload's `output_len`, as specified.
    Spec,
    /// The mean the measurement itself implies, `1 + (E2E − TTFT) / ITL` over the whole run,
    /// where that departs from `output_len` by more than 5%: the server stopped early (a base
    /// model meeting its end-of-sequence token), so the specified length was not what ran.
    Implied,
}

/// The share by which an implied output length must depart from the specified one to be used.
pub const IMPLIED_TOLERANCE: f64 = 0.05;

/// What one experiment's simulation gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulated {
    pub kv_blocks: u32,
    pub whole_run: Figures,
    /// Per stage, in order.
    pub stages: Vec<Figures>,
    pub requests: u64,
    pub preemptions: u64,
}

impl Experiment {
    pub fn architecture(&self) -> Result<Architecture, String> {
        self.model_config
            .architecture()
            .map_err(|m| format!("experiment {}: model_config: {m}", self.id))
    }

    /// The catalogue GPU the `hardware` string names (`H100 SXM 80GB` → `h100-sxm`).
    pub fn gpu(&self) -> Result<Gpu, String> {
        let h = self.hardware.to_ascii_lowercase();
        let name = if h.contains("h100") && h.contains("pcie") {
            "h100-pcie"
        } else if h.contains("h100") {
            "h100-sxm"
        } else if h.contains("h200") {
            "h200"
        } else if h.contains("a100") && h.contains("40") {
            "a100-40gb"
        } else if h.contains("a100") {
            "a100-80gb"
        } else if h.contains("l40s") {
            "l40s"
        } else if h.contains("mi300x") {
            "mi300x"
        } else if h.contains("l4") {
            "l4"
        } else {
            ""
        };
        gpu(name).ok_or_else(|| {
            format!(
                "experiment {}: unknown hardware `{}`",
                self.id, self.hardware
            )
        })
    }

    /// KV blocks per replica as computed from the architecture (vLLM's budget).
    pub fn computed_kv_blocks(&self) -> Result<u32, String> {
        vllm_kv_blocks(
            &self.architecture()?,
            &self.gpu()?,
            self.tensor_parallel,
            MEMORY_FRACTION,
            VLLM_RESERVE_GIB,
        )
        .map_err(|m| format!("experiment {}: {m}", self.id))
    }

    /// The replica vLLM V1 runs for this experiment: chunked prefill, its scheduler limits, the
    /// computed KV capacity, roofline step times with `eff` and, if asked, prefix caching.
    pub fn replica_config(&self, eff: &Efficiency) -> Result<ReplicaConfig, String> {
        let step = StepModel::roofline(
            &self.architecture()?,
            &self.gpu()?,
            self.tensor_parallel,
            eff,
        )
        .map_err(|m| format!("experiment {}: {m}", self.id))?;
        Ok(ReplicaConfig {
            prefix_caching: self.prefix_caching,
            scheduling: Default::default(),
            kv_blocks: self.computed_kv_blocks()?,
            max_batch: self.max_num_seqs,
            max_batched_tokens: self.max_num_batched_tokens,
            max_waiting: u32::try_from(self.workload.num_requests.saturating_mul(2))
                .unwrap_or(u32::MAX),
            chunked_prefill: true,
            step,
        })
    }

    /// Poisson arrival times (ns) of every stage, back to back, from the stream
    /// `fidelity.<id>/arrivals`.
    pub fn arrivals(&self, seed: u64) -> Result<Vec<(Time, usize)>, String> {
        let mut rng: RandomStream =
            Streams::new(seed, 0).stream(&format!("fidelity.{}", self.id), "arrivals");
        let mut out = Vec::new();
        let mut stage_start = 0.0f64;
        for (i, s) in self.workload.stages.iter().enumerate() {
            if !(s.rate.is_finite() && s.rate > 0.0 && s.duration.is_finite() && s.duration > 0.0) {
                return Err(format!(
                    "experiment {}: stage {i} needs a positive rate and duration",
                    self.id
                ));
            }
            let end = stage_start + s.duration;
            let mut t = stage_start;
            loop {
                t += -libm::log(rng.next_open01()) / s.rate;
                if t >= end {
                    break;
                }
                out.push((libm::round(t * 1e9) as Time, i));
            }
            stage_start = end;
        }
        Ok(out)
    }

    /// What request `i`'s prompt shares: its user's group's system prompt. inference-perf hands
    /// requests to the `groups × users` users in turn; the question after the system prompt is
    /// the request's own.
    pub fn prompt_key(&self, i: u64) -> PromptKey<'static> {
        let sp = self.workload.shared_prefix;
        let users = sp.num_users_per_system_prompt.max(1) as u64;
        let all = (sp.num_unique_system_prompts.max(1) as u64).saturating_mul(users);
        PromptKey::Shared {
            group: (i % all) / users,
            tokens: sp.system_prompt_len,
        }
    }

    /// The output length the measurement implies (see [`OutputLengths::Implied`]), if it
    /// departs from the specified one.
    pub fn implied_output_len(&self) -> Option<u32> {
        let m = self.measured_ms.get("whole_run")?;
        let n = 1.0 + (m.e2e_mean - m.ttft_mean) / m.itl_mean;
        let spec = self.workload.shared_prefix.output_len as f64;
        (n.is_finite() && n >= 1.0 && (n - spec).abs() > IMPLIED_TOLERANCE * spec)
            .then(|| libm::round(n) as u32)
    }

    /// Replays the workload on one replica and measures it as a client would, adding the
    /// per-request overhead (outside the engine) to time to first token and end to end.
    pub fn simulate(
        &self,
        eff: &Efficiency,
        lengths: OutputLengths,
        seed: u64,
    ) -> Result<Simulated, String> {
        let cfg = self.replica_config(eff)?;
        let sp = self.workload.shared_prefix;
        let prompt = sp.system_prompt_len.saturating_add(sp.question_len);
        let output = match lengths {
            OutputLengths::Spec => sp.output_len,
            OutputLengths::Implied => self.implied_output_len().unwrap_or(sp.output_len),
        }
        .max(1);
        let arrivals = self.arrivals(seed)?;
        let mut replica = Replica::new(cfg).map_err(|m| format!("experiment {}: {m}", self.id))?;
        let mut done: Vec<Completion> = Vec::with_capacity(arrivals.len());
        for (i, &(t, _)) in arrivals.iter().enumerate() {
            while let Some(next) = replica.next_change().filter(|&n| n <= t) {
                replica.advance(next, |c| done.push(c));
            }
            replica
                .admit_keyed(t, i as u32, prompt, output, self.prompt_key(i as u64))
                .map_err(|e| format!("experiment {}: request {i} refused: {e:?}", self.id))?;
        }
        while let Some(next) = replica.next_change() {
            replica.advance(next, |c| done.push(c));
        }
        let overhead_ms = eff.request_overhead_ms;
        let stages = self.workload.stages.len();
        let mut per_stage: Vec<Samples> = (0..stages).map(|_| Samples::default()).collect();
        let mut whole = Samples::default();
        for c in &done {
            let stage = arrivals[c.id as usize].1;
            let ttft = (c.first_token - c.arrival) as f64 / 1e6 + overhead_ms;
            let e2e = (c.finish - c.arrival) as f64 / 1e6 + overhead_ms;
            let itl = if c.output_tokens > 1 {
                (e2e - ttft) / (c.output_tokens - 1) as f64
            } else {
                0.0
            };
            per_stage[stage].push(ttft, itl, e2e);
            whole.push(ttft, itl, e2e);
        }
        Ok(Simulated {
            kv_blocks: cfg.kv_blocks,
            whole_run: whole.figures(),
            stages: per_stage.iter_mut().map(Samples::figures).collect(),
            requests: done.len() as u64,
            preemptions: replica.counters().preemptions,
        })
    }
}

/// Per-request latencies of one group of requests.
#[derive(Debug, Default)]
struct Samples {
    ttft: Vec<f64>,
    itl: Vec<f64>,
    e2e: Vec<f64>,
}

impl Samples {
    fn push(&mut self, ttft: f64, itl: f64, e2e: f64) {
        self.ttft.push(ttft);
        self.itl.push(itl);
        self.e2e.push(e2e);
    }

    fn figures(&mut self) -> Figures {
        Figures {
            ttft_mean: mean(&self.ttft),
            ttft_p90: percentile(&mut self.ttft, 90),
            ttft_p99: percentile(&mut self.ttft, 99),
            itl_mean: mean(&self.itl),
            e2e_mean: mean(&self.e2e),
            e2e_p90: percentile(&mut self.e2e, 90),
            e2e_p99: percentile(&mut self.e2e, 99),
        }
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.iter().sum::<f64>() / v.len() as f64
}

/// Nearest-rank percentile.
fn percentile(v: &mut [f64], p: u32) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let rank = (p as usize * v.len()).div_ceil(100).max(1);
    v[rank - 1]
}

/// Absolute percentage error of `sim` against `real`.
pub fn ape(sim: f64, real: f64) -> f64 {
    100.0 * (sim - real).abs() / real.abs()
}
