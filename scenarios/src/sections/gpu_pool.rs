//! The scenario format of a self-hosted GPU pool, the `gpu_pool` table of a backend.
//!
//! Defaults follow vLLM's engine arguments where one exists (`max_num_seqs` 256,
//! `max_num_batched_tokens` 8192 with chunked prefill off, `gpu_memory_utilization` 0.9) and
//! Kubernetes' horizontal autoscaler for scaling (10% tolerance, 5-minute scale-down window).

use crate::build_error::{BuildError, err};
use crate::calibration::{CalibrationPreset, family_name};
use crate::dists::{DurationDist, duration_sampler};
use crate::values::{Duration, Positive};
use models::gpu::arch::{Architecture, CATALOGUE, HfConfig, catalogue_model};
use models::gpu::autoscale::{AutoscaleConfig, ScaleSignal};
use models::gpu::hardware::{self, Efficiency, Gpu};
use models::gpu::roofline::{VLLM_RESERVE_GIB, vllm_kv_blocks};
use models::gpu::step_time::{PRESETS, StepModel, preset};
use models::gpu::{
    CrashProcess, GpuPoolConfig, KvSpec, ModelShape, OnCrash, PoolAutoscale, ReplicaConfig,
    RoutingPolicy, Scheduling,
};
use serde::{Deserialize, Serialize};

const SEC: u64 = sim_core::NANOS_PER_SEC;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A pool of identical model replicas with continuous batching and a KV cache each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuPool {
    /// Replicas serving at time 0 (default 1).
    #[serde(default = "one")]
    pub replicas: u32,
    /// The model served, for step times and KV capacity from its architecture: a catalogue name
    /// (`llama-2-7b`, `llama-3.1-70b`, `qwen2.5-7b`, ... or the Hugging Face repository) or
    /// `{ config = "path/to/config.json" }`. Needs `gpu`; `gpus_per_replica` is the
    /// tensor-parallel degree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PoolModel>,
    /// The accelerator: `a100-40gb`, `a100-80gb`, `h100-sxm`, `h100-pcie`, `h200`, `l40s`, `l4`,
    /// `mi300x`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu: Option<String>,
    /// Overrides of the fitted efficiencies (default: the GPU family's, or the `calibration`
    /// preset's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efficiency: Option<EfficiencySpec>,
    /// A calibration preset written by `faultline calibrate` (a TOML file, relative to the
    /// scenario file): its efficiencies, fitted to one's own server, replace the GPU family's
    /// built-in ones; `efficiency` still overrides single values. The preset must have been
    /// fitted on the pool's GPU family.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<String>,
    /// Step-time model: a preset name (`llama2-7b-a100`, `llama2-70b-tp2-h100`,
    /// `llama2-70b-tp4-h100`, `llama2-70b-tp8-h100`, `opt-13b-a100-vllm`), or coefficients.
    /// Default, with `model` and `gpu`: the roofline from the architecture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_time: Option<StepTime>,
    /// KV cache per replica: `{ blocks = N }` (16-token blocks), or derived from memory and the
    /// model shape. Default, with `model` and `gpu`: vLLM's budget (utilisation 0.9, less the
    /// weight shard and a 1.5 GiB activation and runtime reserve per GPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv: Option<Kv>,
    /// Most sequences in a batch (vLLM `max_num_seqs`, default 256).
    #[serde(default = "default_max_batch")]
    pub max_batch: u32,
    /// Most tokens one iteration processes (vLLM `max_num_batched_tokens`, default 8192).
    #[serde(default = "default_max_batched_tokens")]
    pub max_batched_tokens: u32,
    /// Most requests waiting on one replica (default 4096); calls beyond it wait at the gateway.
    #[serde(default = "default_max_waiting")]
    pub max_waiting: u32,
    /// Sarathi-style chunked prefill (default false).
    #[serde(default)]
    pub chunked_prefill: bool,
    /// Automatic prefix caching, as vLLM V1 (block hashes; cached prompt blocks are shared and
    /// not prefilled again; freed blocks stay cached until reused, least recently used first).
    /// Default: on for a pool with `model` and `gpu` (vLLM V1's default), off for the dated
    /// step-time presets (the engines they were measured on had none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_caching: Option<bool>,
    /// vLLM's scheduling policy: `fcfs` (default; the victim of a preemption is the most
    /// recently scheduled call) or `priority` (the tenants' `priority`, larger first, then
    /// arrival; the victim is the least important call, the latest among equals).
    #[serde(default, skip_serializing_if = "is_fcfs")]
    pub scheduling: PoolScheduling,
    /// GPUs one replica holds (its tensor-parallel degree; default 1).
    #[serde(default = "one")]
    pub gpus_per_replica: u32,
    /// What one GPU costs per hour, in USD (default 0). Billed while a replica holds its GPUs:
    /// provisioning, serving, draining or crashed.
    #[serde(default)]
    pub usd_per_gpu_hour: f64,
    /// `round_robin`, `least_outstanding` (default) or `kv_aware`.
    #[serde(default)]
    pub routing: Routing,
    /// Replica crashes: `mtbf` and `mttr` distributions (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crashes: Option<Crashes>,
    /// From repair to serving after a crash: model load and warm-up (default 60s).
    #[serde(default = "default_cold_start")]
    pub cold_start: Duration,
    /// What a crash does to the calls on the replica: `fail` (default; a connection reset the
    /// retry policy may retry) or `requeue` (back to the gateway queue).
    #[serde(default)]
    pub on_crash: CrashAction,
    /// Admission control on KV: the share of one replica's KV cache that the calls sent to it
    /// may need at their longest (prompt + output), summed (default: no cap). At 1 a replica
    /// never has to preempt. A call that fits under no replica's cap is turned away at once as
    /// `overloaded` (a 529 the retry policy may retry), so small calls still get in while a
    /// burst of long ones waits out its backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_admission: Option<Positive>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscale: Option<Autoscale>,
}

fn one() -> u32 {
    1
}

/// A replica's scheduling policy.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PoolScheduling {
    #[default]
    Fcfs,
    Priority,
}

fn is_fcfs(s: &PoolScheduling) -> bool {
    *s == PoolScheduling::Fcfs
}
fn default_max_batch() -> u32 {
    256
}
fn default_max_batched_tokens() -> u32 {
    8192
}
fn default_max_waiting() -> u32 {
    4096
}
fn default_cold_start() -> Duration {
    Duration(60 * SEC)
}

/// A model named from the catalogue, or read from a Hugging Face `config.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum PoolModel {
    Name(String),
    Config { config: String },
}

/// Efficiency overrides; each defaults to the GPU family's fitted value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EfficiencySpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_bandwidth: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_floor_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allreduce_us: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum StepTime {
    Preset(String),
    /// `a + b·ΣL + c·ΣL²` ms for prefill; `a + b·Σcontext + c·batch` ms for decode, with
    /// `decode_large` above `threshold` sequences (default: the same as `decode`).
    Coefficients {
        prefill: [f64; 3],
        decode: [f64; 3],
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decode_large: Option<[f64; 3]>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        threshold: Option<u32>,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Kv {
    /// Capacity in 16-token blocks, stated directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocks: Option<u32>,
    /// Or derived: memory of one GPU in GiB (an "80 GB" A100 has 80 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_memory_gib: Option<Positive>,
    /// Share of memory the server may use (vLLM `gpu_memory_utilization`, default 0.9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_fraction: Option<Positive>,
    /// Memory that is not KV cache, in GiB across the replica: weights (parameters × bytes per
    /// parameter) plus any activation reserve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_gib: Option<Positive>,
    /// The model's shape: `llama2-7b`, `llama2-70b`, or `{ layers, kv_heads, head_dim,
    /// bytes_per_element }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum Model {
    Name(String),
    Shape {
        layers: u32,
        kv_heads: u32,
        head_dim: u32,
        /// 2 for fp16/bf16, 1 for fp8 (default 2).
        #[serde(default = "two")]
        bytes_per_element: u32,
    },
}

fn two() -> u32 {
    2
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Routing {
    RoundRobin,
    #[default]
    LeastOutstanding,
    KvAware,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CrashAction {
    #[default]
    Fail,
    Requeue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Crashes {
    /// Time from serving to the next crash.
    pub mtbf: DurationDist,
    /// Time from a crash to the start of the cold start (detection, rescheduling).
    pub mttr: DurationDist,
}

/// Scale on utilisation or queue depth, Kubernetes-style: `desired = ceil(ready × metric /
/// target)`, within `[min_replicas, max_replicas]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Autoscale {
    /// Target busy share of ready replicas over the last interval (e.g. 0.7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_utilisation: Option<Positive>,
    /// Or: target requests waiting per ready replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_queue_per_replica: Option<u32>,
    #[serde(default = "one")]
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// From ordering a replica to it serving (default 120s).
    #[serde(default = "default_provisioning")]
    pub provisioning_delay: Duration,
    /// No scale-down sooner than this after any scaling (default 300s, Kubernetes' window).
    #[serde(default = "default_cooldown")]
    pub scale_down_cooldown: Duration,
    /// How often the autoscaler looks (default 15s, Kubernetes' sync period).
    #[serde(default = "default_interval")]
    pub interval: Duration,
    /// No action within this relative distance of the target (default 0.1).
    #[serde(default = "default_tolerance")]
    pub tolerance: f64,
}

fn default_provisioning() -> Duration {
    Duration(120 * SEC)
}
fn default_cooldown() -> Duration {
    Duration(300 * SEC)
}
fn default_interval() -> Duration {
    Duration(15 * SEC)
}
fn default_tolerance() -> f64 {
    0.1
}

impl GpuPool {
    /// The architecture and GPU, when `model` and `gpu` are given.
    fn hardware(&self, path: &str) -> Result<Option<(Architecture, Gpu)>, BuildError> {
        let (model, gpu_name) = match (&self.model, &self.gpu) {
            (None, None) => return Ok(None),
            (Some(m), Some(g)) => (m, g),
            (Some(_), None) => {
                return Err(err(
                    format!("{path}.gpu"),
                    "a pool that names a `model` needs a `gpu` too",
                ));
            }
            (None, Some(_)) => {
                return Err(err(
                    format!("{path}.model"),
                    "a pool that names a `gpu` needs a `model` too",
                ));
            }
        };
        let gpu = hardware::gpu(gpu_name).ok_or_else(|| {
            let names: Vec<&str> = hardware::GPUS.iter().map(|g| g.name).collect();
            err(
                format!("{path}.gpu"),
                format!(
                    "unknown GPU `{gpu_name}`; expected one of {}",
                    names.join(", ")
                ),
            )
        })?;
        let arch = match model {
            PoolModel::Name(name) => catalogue_model(name)
                .ok_or_else(|| {
                    let names: Vec<&str> = CATALOGUE.iter().map(|m| m.name).collect();
                    err(
                        format!("{path}.model"),
                        format!(
                            "unknown model `{name}`; expected one of {}, or {{ config = \"path/to/config.json\" }}",
                            names.join(", ")
                        ),
                    )
                })?
                .arch,
            PoolModel::Config { config } => {
                let here = format!("{path}.model.config");
                let text = std::fs::read_to_string(config)
                    .map_err(|e| err(&here, format!("cannot read {config}: {e}")))?;
                let hf: HfConfig = serde_json::from_str(&text).map_err(|e| {
                    err(
                        &here,
                        format!("{config}:{}:{}: {e}", e.line(), e.column()),
                    )
                })?;
                hf.architecture()
                    .map_err(|m| err(&here, format!("{config}: {m}")))?
            }
        };
        Ok(Some((arch, gpu)))
    }

    fn efficiency(&self, gpu: &Gpu, path: &str) -> Result<Efficiency, BuildError> {
        let (mut eff, _) = hardware::efficiency(gpu.family);
        if let Some(file) = &self.calibration {
            let here = format!("{path}.calibration");
            let preset =
                CalibrationPreset::read(std::path::Path::new(file)).map_err(|m| err(&here, m))?;
            if preset.family() != gpu.family {
                return Err(err(
                    &here,
                    format!(
                        "{file} was fitted on {} GPUs, and `gpu` {} is {}: expected a preset of the pool's GPU family",
                        preset.fitted_on.gpu_family,
                        gpu.name,
                        family_name(gpu.family)
                    ),
                ));
            }
            eff = preset
                .efficiency
                .efficiency()
                .map_err(|m| err(&here, format!("{file}: {m}")))?;
        }
        if let Some(o) = &self.efficiency {
            let share = |name: &str, v: Option<f64>, dflt: f64| match v {
                None => Ok(dflt),
                Some(x) if x.is_finite() && x > 0.0 && x <= 1.0 => Ok(x),
                Some(x) => Err(err(
                    format!("{path}.efficiency.{name}"),
                    format!("expected a share in (0, 1], got {x}"),
                )),
            };
            let cost = |name: &str, v: Option<f64>, dflt: f64| match v {
                None => Ok(dflt),
                Some(x) if x.is_finite() && (0.0..=3.6e6).contains(&x) => Ok(x),
                Some(x) => Err(err(
                    format!("{path}.efficiency.{name}"),
                    format!("expected a value of 0 or more, got {x}"),
                )),
            };
            eff.compute = share("compute", o.compute, eff.compute)?;
            eff.bandwidth = share("bandwidth", o.bandwidth, eff.bandwidth)?;
            eff.kv_bandwidth = share("kv_bandwidth", o.kv_bandwidth, eff.kv_bandwidth)?;
            eff.step_floor_ms = cost("step_floor_ms", o.step_floor_ms, eff.step_floor_ms)?;
            eff.allreduce_us = cost("allreduce_us", o.allreduce_us, eff.allreduce_us)?;
        }
        Ok(eff)
    }

    pub fn config(&self, path: &str) -> Result<GpuPoolConfig, BuildError> {
        let hw = self.hardware(path)?;
        if self.efficiency.is_some() && hw.is_none() {
            return Err(err(
                format!("{path}.efficiency"),
                "efficiencies apply to the roofline of a pool with `model` and `gpu`",
            ));
        }
        if self.calibration.is_some() && (hw.is_none() || self.step_time.is_some()) {
            return Err(err(
                format!("{path}.calibration"),
                "a calibration preset applies to the roofline of a pool with `model` and `gpu` and no `step_time`",
            ));
        }
        let step = match (&self.step_time, &hw) {
            (None, Some((arch, gpu))) => {
                let eff = self.efficiency(gpu, path)?;
                StepModel::roofline(arch, gpu, self.gpus_per_replica.max(1), &eff)
            }
            (None, None) => {
                return Err(err(
                    format!("{path}.step_time"),
                    "give `step_time`, or `model` and `gpu` for step times from the architecture",
                ));
            }
            (Some(StepTime::Preset(name)), _) => {
                let p = preset(name).ok_or_else(|| {
                    let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
                    err(
                        format!("{path}.step_time"),
                        format!(
                            "unknown step-time preset `{name}`; expected one of {}",
                            names.join(", ")
                        ),
                    )
                })?;
                StepModel::from_preset(&p)
            }
            (
                Some(StepTime::Coefficients {
                    prefill,
                    decode,
                    decode_large,
                    threshold,
                }),
                _,
            ) => StepModel::from_ms(
                *prefill,
                *decode,
                decode_large.unwrap_or(*decode),
                threshold.unwrap_or(u32::MAX),
            ),
        }
        .map_err(|m| err(format!("{path}.step_time"), m))?;
        let kv_blocks = match (&self.kv, &hw) {
            (Some(kv), _) => self.kv_blocks(kv, &format!("{path}.kv"))?,
            (None, Some((arch, gpu))) => vllm_kv_blocks(
                arch,
                gpu,
                self.gpus_per_replica.max(1),
                0.9,
                VLLM_RESERVE_GIB,
            )
            .map_err(|m| err(format!("{path}.model"), m))?,
            (None, None) => {
                return Err(err(
                    format!("{path}.kv"),
                    "give `kv`, or `model` and `gpu` for vLLM's KV budget",
                ));
            }
        };
        if self.replicas == 0 {
            return Err(err(
                format!("{path}.replicas"),
                "a pool needs at least one replica at the start",
            ));
        }
        if self.replicas > u16::MAX as u32 {
            return Err(err(format!("{path}.replicas"), "at most 65535 replicas"));
        }
        if self.gpus_per_replica == 0 {
            return Err(err(
                format!("{path}.gpus_per_replica"),
                "a replica needs at least one GPU",
            ));
        }
        if !(self.usd_per_gpu_hour.is_finite() && self.usd_per_gpu_hour >= 0.0) {
            return Err(err(
                format!("{path}.usd_per_gpu_hour"),
                "expected a price of 0 or more",
            ));
        }
        if self.max_waiting == 0 {
            return Err(err(
                format!("{path}.max_waiting"),
                "a replica must let at least one request wait",
            ));
        }
        let replica = ReplicaConfig {
            prefix_caching: self.prefix_caching.unwrap_or(self.model.is_some()),
            scheduling: match self.scheduling {
                PoolScheduling::Fcfs => Scheduling::Fcfs,
                PoolScheduling::Priority => Scheduling::Priority,
            },
            kv_blocks,
            max_batch: self.max_batch,
            max_batched_tokens: self.max_batched_tokens,
            max_waiting: self.max_waiting,
            chunked_prefill: self.chunked_prefill,
            step,
        };
        models::gpu::Replica::new(replica).map_err(|m| err(path, m))?;
        let crashes = self
            .crashes
            .as_ref()
            .map(|c| {
                Ok::<_, BuildError>(CrashProcess {
                    mtbf: duration_sampler(&c.mtbf)
                        .map_err(|m| err(format!("{path}.crashes.mtbf"), m))?,
                    mttr: duration_sampler(&c.mttr)
                        .map_err(|m| err(format!("{path}.crashes.mttr"), m))?,
                })
            })
            .transpose()?;
        let autoscale = match &self.autoscale {
            None => None,
            Some(a) => Some(self.autoscale_config(a, &format!("{path}.autoscale"))?),
        };
        let kv_admission_blocks = self.kv_admission.map(|share| {
            let cap = (share.0 * kv_blocks as f64).floor();
            cap.max(1.0) as u64
        });
        Ok(GpuPoolConfig {
            replica,
            replicas: self.replicas,
            gpus_per_replica: self.gpus_per_replica,
            usd_per_gpu_hour: self.usd_per_gpu_hour,
            routing: match self.routing {
                Routing::RoundRobin => RoutingPolicy::RoundRobin,
                Routing::LeastOutstanding => RoutingPolicy::LeastOutstanding,
                Routing::KvAware => RoutingPolicy::KvAware,
            },
            crashes,
            cold_start: self.cold_start.0,
            on_crash: match self.on_crash {
                CrashAction::Fail => OnCrash::Fail,
                CrashAction::Requeue => OnCrash::Requeue,
            },
            autoscale,
            kv_admission_blocks,
        })
    }

    fn kv_blocks(&self, kv: &Kv, path: &str) -> Result<u32, BuildError> {
        let spec = match (kv.blocks, kv.gpu_memory_gib, &kv.model) {
            (Some(n), None, None) if kv.weights_gib.is_none() && kv.memory_fraction.is_none() => {
                KvSpec::Blocks(n)
            }
            (None, Some(mem), Some(model)) => {
                let shape = match model {
                    Model::Name(n) => match n.as_str() {
                        "llama2-7b" => ModelShape::LLAMA2_7B_FP16,
                        "llama2-70b" => ModelShape::LLAMA2_70B_FP16,
                        other => {
                            return Err(err(
                                format!("{path}.model"),
                                format!(
                                    "unknown model `{other}`; expected llama2-7b, llama2-70b or a shape {{ layers, kv_heads, head_dim, bytes_per_element }}"
                                ),
                            ));
                        }
                    },
                    Model::Shape {
                        layers,
                        kv_heads,
                        head_dim,
                        bytes_per_element,
                    } => ModelShape {
                        layers: *layers,
                        kv_heads: *kv_heads,
                        head_dim: *head_dim,
                        bytes_per_element: *bytes_per_element,
                    },
                };
                let fraction = kv.memory_fraction.map_or(0.9, |f| f.0);
                if fraction > 1.0 {
                    return Err(err(
                        format!("{path}.memory_fraction"),
                        "a share of memory is at most 1",
                    ));
                }
                KvSpec::Memory {
                    gpu_memory_bytes: (mem.0 * GIB).round() as u64,
                    gpus: self.gpus_per_replica.max(1),
                    memory_fraction_ppm: (fraction * 1e6).round() as u32,
                    reserved_bytes: kv.weights_gib.map_or(0.0, |w| w.0 * GIB).round() as u64,
                    shape,
                }
            }
            _ => {
                return Err(err(
                    path,
                    "give either `blocks`, or `gpu_memory_gib` with `model` (and optionally `weights_gib`, `memory_fraction`)",
                ));
            }
        };
        spec.blocks().map_err(|m| err(path, m))
    }

    fn autoscale_config(&self, a: &Autoscale, path: &str) -> Result<PoolAutoscale, BuildError> {
        let signal = match (a.target_utilisation, a.target_queue_per_replica) {
            (Some(u), None) => {
                if u.0 > 1.0 {
                    return Err(err(
                        format!("{path}.target_utilisation"),
                        "a utilisation target is at most 1",
                    ));
                }
                ScaleSignal::Utilisation {
                    target_ppm: (u.0 * 1e6).round().max(1.0) as u32,
                }
            }
            (None, Some(q)) => ScaleSignal::QueueDepth {
                target_per_replica: q,
            },
            _ => {
                return Err(err(
                    path,
                    "give one of `target_utilisation` or `target_queue_per_replica`",
                ));
            }
        };
        if a.interval.0 == 0 {
            return Err(err(
                format!("{path}.interval"),
                "the interval must be longer than 0s",
            ));
        }
        if !(0.0..1.0).contains(&a.tolerance) {
            return Err(err(
                format!("{path}.tolerance"),
                "a tolerance is a share in [0, 1)",
            ));
        }
        if a.max_replicas < self.replicas || a.min_replicas > self.replicas {
            return Err(err(
                path,
                format!(
                    "the starting replicas ({}) must lie within min_replicas ({}) and max_replicas ({})",
                    self.replicas, a.min_replicas, a.max_replicas
                ),
            ));
        }
        if a.max_replicas > u16::MAX as u32 {
            return Err(err(
                format!("{path}.max_replicas"),
                "at most 65535 replicas",
            ));
        }
        let config = AutoscaleConfig {
            signal,
            min_replicas: a.min_replicas,
            max_replicas: a.max_replicas,
            provisioning_delay: a.provisioning_delay.0,
            scale_down_cooldown: a.scale_down_cooldown.0,
            tolerance_ppm: (a.tolerance * 1e6).round() as u32,
        };
        models::gpu::Autoscaler::new(config).map_err(|m| err(path, m))?;
        Ok(PoolAutoscale {
            config,
            interval: a.interval.0,
        })
    }
}
