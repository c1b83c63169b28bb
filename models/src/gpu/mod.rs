//! Self-hosted GPU pools: KV-cache capacity, step times (calibrated presets, or a roofline from a
//! model's architecture and a GPU's datasheet), continuous batching with
//! recompute preemption, routing across replicas and autoscaling decisions.
//!
//! Everything here is a pure state machine in integer nanoseconds: it schedules nothing itself.
//! The world drives a [`replica::Replica`] with one pending event per replica (see that module),
//! routes calls with [`routing::Router`], and asks [`autoscale::Autoscaler`] what to do.

pub mod arch;
pub mod autoscale;
pub mod fidelity;
pub mod fit;
pub mod hardware;
pub mod kv;
pub(crate) mod pool;
pub mod prefix;
pub mod replica;
pub mod roofline;
pub mod routing;
pub mod step_time;

pub use autoscale::{AutoscaleConfig, Autoscaler, PoolMetrics, ScaleAction, ScaleSignal};
pub use kv::{BLOCK_TOKENS, KvSpec, ModelShape};
pub use pool::{CrashProcess, GpuPoolConfig, OnCrash, PoolAutoscale};
pub use prefix::{PrefixCounters, PromptKey};
pub use replica::{
    AdmitError, Completion, Drained, Replica, ReplicaConfig, ReplicaCounters, Scheduling,
};
pub use routing::{Router, RoutingPolicy};
pub use step_time::{StepModel, StepPreset};
