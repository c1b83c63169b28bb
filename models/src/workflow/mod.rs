//! Durable multi-step pipelines (Temporal-style workflows): what a workflow is made of and the
//! rules it follows, kept apart from the world that runs it (`world/workflow.rs`).
//!
//! A tenant with a workflow runs one *execution* per arrival: an ordered list of activities.
//! An activity either calls a route (an LLM, a GPU pool, or a dependency that is not a model:
//! a vector database, a tool, an embedding service, a cache), each attempt being one job on the
//! request path, or runs a long compute job of its own that checkpoints (`checkpoint`). Failed
//! attempts are retried under Temporal's retry policy (`retry`); the workflow itself may be
//! retried; an execution that fails for good lands in the dead-letter queue. Workers crash:
//! a durable execution resumes at its first incomplete activity from recorded results, a
//! non-durable one starts over.

pub mod checkpoint;
pub mod queue;
pub mod retry;
pub mod stats;

pub use checkpoint::CheckpointConfig;
pub use queue::WorkQueueConfig;
pub use retry::RetryPolicy;
use sim_core::{Sampler, Time};

/// Why an activity attempt failed, as a retry policy's `non_retryable_error_types` names it:
/// the outcome of its job (`failed`, `throttled`, `shed`, `over_budget`, `detected_handled`) or
/// one of the workflow's own timeouts.
pub const TIMEOUT_TYPES: [&str; 2] = ["start_to_close_timeout", "heartbeat_timeout"];

/// A workflow: its activities in order and the execution's own rules.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkflowConfig {
    pub activities: Vec<ActivityConfig>,
    /// Whether completed activities' results are recorded (durable execution): after a worker
    /// crash the execution resumes at its first incomplete activity; otherwise it starts over.
    pub durable: bool,
    /// The whole execution, retries of the workflow included; past it the execution fails for
    /// good (`None`: unlimited, Temporal's default).
    pub execution_timeout: Option<Time>,
    /// Retries of the whole workflow after it failed (Temporal's default: none, one attempt).
    pub retry: RetryPolicy,
    /// The workers that run executions crash: time between crashes (exponential, each
    /// execution's worker on its own) and the time to bring one back.
    pub worker_mtbf: Option<Time>,
    pub worker_mttr: Time,
}

/// One activity of a workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityConfig {
    pub name: String,
    pub kind: ActivityKind,
    pub retry: RetryPolicy,
    /// One attempt's limit; past it the attempt fails with `start_to_close_timeout`.
    pub start_to_close: Option<Time>,
    /// The activity's limit across all its attempts and backoffs.
    pub schedule_to_close: Option<Time>,
    /// How soon a crashed worker's in-flight attempt is noticed (a missed heartbeat); without
    /// it, only at the attempt's start-to-close timeout.
    pub heartbeat_timeout: Option<Time>,
    /// Running it twice is harmless; otherwise a second run is a duplicate side effect.
    pub idempotent: bool,
    /// From `at` on, the call's prompt is `multiplier` times as long (a prompt update).
    pub prompt_update: Option<(Time, f64)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActivityKind {
    /// A call of the tenant's chain step `step` (its route and token counts).
    Call { step: u16 },
    /// A long job the worker runs itself, with checkpoints and node crashes.
    Compute(CheckpointConfig),
}

impl WorkflowConfig {
    /// An exponential sampler of the worker's time between crashes.
    pub fn crash_sampler(&self) -> Option<Sampler> {
        self.worker_mtbf
            .and_then(|m| Sampler::exponential(m as f64).ok())
    }
}
