//! `[tenants.workflow]`: a tenant whose arrivals each run a workflow (Temporal-style): its
//! activities in order, each with a retry policy and timeouts, the execution's timeout and
//! retry policy, whether execution is durable, and the crashes of the workers that run it.
//! Converted to `models` [`WorkflowConfig`]; each activity that calls a route becomes one of
//! the tenant's chain steps.

use crate::build_error::{BuildError, err};
use crate::dists::{TokenDist, token_sampler};
use crate::values::{Duration, Positive};
use models::config::StepConfig;
use models::workflow::{
    ActivityConfig, ActivityKind, CheckpointConfig, RetryPolicy as ModelRetry, WorkflowConfig,
};
use models::workload::TokenSource;
use serde::{Deserialize, Serialize};

/// A workflow: each arrival of the tenant is one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// The activities, run in order (at most 64).
    pub activities: Vec<Activity>,
    /// Durable execution (default true): completed activities' results are recorded, so after
    /// a worker crash the execution resumes at its first incomplete activity; `false` starts
    /// it over from the first.
    #[serde(default = "yes")]
    pub durable: bool,
    /// The whole execution's limit, workflow retries included (default: none); past it the
    /// execution fails for good and goes to the dead-letter queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_timeout: Option<Duration>,
    /// Retries of the whole workflow after an activity failed for good (default: none, as
    /// in Temporal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// Crashes of the worker running an execution (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_crashes: Option<WorkerCrashes>,
}

fn yes() -> bool {
    true
}

/// Exponential times between crashes of a worker, and the time to bring it back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerCrashes {
    pub mtbf: Duration,
    pub mttr: Duration,
}

/// Temporal's retry policy. The interval before retry `n` is
/// `min(initial_interval · backoff_coefficient^(n−1), maximum_interval)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Default 1s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_interval: Option<Duration>,
    /// At least 1 (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_coefficient: Option<Positive>,
    /// Default 100 × `initial_interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_interval: Option<Duration>,
    /// Attempts in all, the first included; 0 is unlimited (the activity default), 1 disables
    /// retries (the workflow default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_attempts: Option<u32>,
    /// Failure types never retried: an attempt's job outcome (`failed`, `throttled`, `shed`,
    /// `over_budget`, `detected_handled`) or `start_to_close_timeout`, `heartbeat_timeout`;
    /// for a workflow's policy, `activity_failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_retryable_error_types: Vec<String>,
}

/// One activity: a call to a route or backend (an LLM, a GPU pool, or a dependency such as a
/// vector database or a tool), or a long compute job with checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Activity {
    /// Unique in the workflow; names the activity's metrics.
    pub name: String,
    /// The route this activity calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Or the backend it calls (through a plain route).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Or a long job the worker runs itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<Compute>,
    /// Token counts of the call (default: the tenant's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<TokenDist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<TokenDist>,
    /// The activity's retry policy (default: Temporal's, 1s ×2 up to 100s, unlimited).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicy>,
    /// One attempt's limit (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_to_close_timeout: Option<Duration>,
    /// The limit across every attempt and backoff of the activity (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_to_close_timeout: Option<Duration>,
    /// How soon a crashed worker's attempt is noticed (default: at its start-to-close
    /// timeout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_timeout: Option<Duration>,
    /// Whether running it twice is harmless (default true); a non-idempotent activity run
    /// again counts a duplicate side effect.
    #[serde(default = "yes")]
    pub idempotent: bool,
    /// From `at` on, the call's prompt is `multiplier` times as long (a system prompt update;
    /// default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_update: Option<PromptUpdate>,
}

/// A prompt update: from `at` on, prompts are `multiplier` times as long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptUpdate {
    pub at: Duration,
    pub multiplier: Positive,
}

/// A long job: `work` of computation, a checkpoint costing `checkpoint_cost` after every
/// `checkpoint_every` of it and at the end; its node crashes at exponential times of mean
/// `mtbf` (default: never), losing the work since the last checkpoint, and takes `restart`
/// to come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Compute {
    pub work: Duration,
    /// Default: `work` (one checkpoint, at the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_cost: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart: Option<Duration>,
}

/// Where a call activity goes, resolved by the tenants section.
pub(crate) enum Target<'a> {
    Route(&'a str),
    Backend(&'a str),
}

/// The workflow, and for each call activity its step's target and token counts (the tenants
/// section resolves the targets into routes). `path` is the workflow's key path.
pub(crate) fn build_workflow<'a>(
    w: &'a Workflow,
    path: &str,
) -> Result<(WorkflowConfig, Vec<(Target<'a>, StepConfig)>), BuildError> {
    if w.activities.is_empty() || w.activities.len() > 64 {
        return Err(err(
            format!("{path}.activities"),
            "a workflow needs between 1 and 64 activities",
        ));
    }
    let mut steps = Vec::new();
    let mut activities = Vec::with_capacity(w.activities.len());
    for (i, a) in w.activities.iter().enumerate() {
        let here = format!("{path}.activities[{i}]");
        crate::names::check_name(&a.name, &format!("{here}.name"))?;
        if w.activities[..i].iter().any(|b| b.name == a.name) {
            return Err(err(
                format!("{here}.name"),
                format!("another activity is already named `{}`", a.name),
            ));
        }
        let given = [a.route.is_some(), a.backend.is_some(), a.compute.is_some()];
        if given.iter().filter(|&&g| g).count() != 1 {
            return Err(err(
                &here,
                "an activity needs exactly one of `route`, `backend` or `compute`",
            ));
        }
        let kind = if let Some(c) = &a.compute {
            if a.prompt_tokens.is_some() || a.output_tokens.is_some() {
                return Err(err(
                    format!("{here}.prompt_tokens"),
                    "a compute activity makes no call: leave out its token counts",
                ));
            }
            if a.prompt_update.is_some() {
                return Err(err(
                    format!("{here}.prompt_update"),
                    "a compute activity makes no call: it has no prompt to update",
                ));
            }
            ActivityKind::Compute(compute(c, &format!("{here}.compute"))?)
        } else {
            if let Some(u) = &a.prompt_update
                && u.multiplier.0 > 1000.0
            {
                return Err(err(
                    format!("{here}.prompt_update.multiplier"),
                    format!("at most 1000 (a prompt {} times as long)", u.multiplier.0),
                ));
            }
            let tokens = |d: &Option<TokenDist>, key: &str| {
                d.as_ref()
                    .map(|d| token_sampler(d).map(TokenSource::Sampled))
                    .transpose()
                    .map_err(|m| err(format!("{here}.{key}"), m))
            };
            let step = StepConfig {
                route: models::RouteId(0),
                prompt_tokens: tokens(&a.prompt_tokens, "prompt_tokens")?,
                output_tokens: tokens(&a.output_tokens, "output_tokens")?,
            };
            let target = match (&a.route, &a.backend) {
                (Some(r), _) => Target::Route(r),
                (_, Some(b)) => Target::Backend(b),
                _ => unreachable!("checked above"),
            };
            steps.push((target, step));
            ActivityKind::Call {
                step: (steps.len() - 1) as u16,
            }
        };
        let positive = |d: &Option<Duration>, key: &str| -> Result<Option<u64>, BuildError> {
            match d {
                Some(Duration(0)) => Err(err(
                    format!("{here}.{key}"),
                    "a timeout must be longer than 0s",
                )),
                Some(d) => Ok(Some(d.0)),
                None => Ok(None),
            }
        };
        activities.push(ActivityConfig {
            name: a.name.clone(),
            kind,
            retry: retry(
                a.retry.as_ref(),
                RetryPolicy::activity_default(),
                &format!("{here}.retry"),
            )?,
            start_to_close: positive(&a.start_to_close_timeout, "start_to_close_timeout")?,
            schedule_to_close: positive(&a.schedule_to_close_timeout, "schedule_to_close_timeout")?,
            heartbeat_timeout: positive(&a.heartbeat_timeout, "heartbeat_timeout")?,
            idempotent: a.idempotent,
            prompt_update: a.prompt_update.as_ref().map(|u| (u.at.0, u.multiplier.0)),
        });
    }
    if w.execution_timeout.as_ref().is_some_and(|d| d.0 == 0) {
        return Err(err(
            format!("{path}.execution_timeout"),
            "a timeout must be longer than 0s",
        ));
    }
    if let Some(c) = &w.worker_crashes
        && c.mtbf.0 == 0
    {
        return Err(err(
            format!("{path}.worker_crashes.mtbf"),
            "a worker's MTBF must be longer than 0s",
        ));
    }
    let config = WorkflowConfig {
        activities,
        durable: w.durable,
        execution_timeout: w.execution_timeout.as_ref().map(|d| d.0),
        retry: retry(
            w.retry.as_ref(),
            RetryPolicy::workflow_default(),
            &format!("{path}.retry"),
        )?,
        worker_mtbf: w.worker_crashes.as_ref().map(|c| c.mtbf.0),
        worker_mttr: w.worker_crashes.as_ref().map_or(0, |c| c.mttr.0),
    };
    Ok((config, steps))
}

impl RetryPolicy {
    fn activity_default() -> ModelRetry {
        ModelRetry::activity_default()
    }

    fn workflow_default() -> ModelRetry {
        ModelRetry::no_retries()
    }
}

/// The error types a policy may name: job outcomes, the workflow's timeouts, and (for a
/// workflow's own policy) `activity_failed`.
const ERROR_TYPES: [&str; 9] = [
    "failed",
    "broken_stream",
    "throttled",
    "shed",
    "over_budget",
    "detected_handled",
    "start_to_close_timeout",
    "heartbeat_timeout",
    "activity_failed",
];

fn retry(
    given: Option<&RetryPolicy>,
    default: ModelRetry,
    path: &str,
) -> Result<ModelRetry, BuildError> {
    let Some(p) = given else {
        return Ok(default);
    };
    let initial = p
        .initial_interval
        .as_ref()
        .map_or(default.initial_interval, |d| d.0);
    if initial == 0 {
        return Err(err(
            format!("{path}.initial_interval"),
            "the initial interval must be longer than 0s",
        ));
    }
    let coefficient = p
        .backoff_coefficient
        .map_or(default.backoff_coefficient, |c| c.0);
    if coefficient < 1.0 {
        return Err(err(
            format!("{path}.backoff_coefficient"),
            format!("the backoff coefficient must be at least 1, not {coefficient}"),
        ));
    }
    let maximum = p
        .maximum_interval
        .as_ref()
        .map_or(initial.saturating_mul(100), |d| d.0);
    if maximum < initial {
        return Err(err(
            format!("{path}.maximum_interval"),
            "the maximum interval must be at least the initial interval",
        ));
    }
    for (k, t) in p.non_retryable_error_types.iter().enumerate() {
        if !ERROR_TYPES.contains(&t.as_str()) {
            return Err(err(
                format!("{path}.non_retryable_error_types[{k}]"),
                format!(
                    "unknown error type `{t}`; the types are: {}",
                    ERROR_TYPES.join(", ")
                ),
            ));
        }
    }
    Ok(ModelRetry {
        initial_interval: initial,
        backoff_coefficient: coefficient,
        maximum_interval: maximum,
        maximum_attempts: p.maximum_attempts.unwrap_or(default.maximum_attempts),
        non_retryable: p.non_retryable_error_types.clone(),
    })
}

fn compute(c: &Compute, path: &str) -> Result<CheckpointConfig, BuildError> {
    if c.work.0 == 0 {
        return Err(err(
            format!("{path}.work"),
            "the work must be longer than 0s",
        ));
    }
    let interval = c.checkpoint_every.as_ref().map_or(c.work.0, |d| d.0);
    if interval == 0 {
        return Err(err(
            format!("{path}.checkpoint_every"),
            "the checkpoint interval must be longer than 0s",
        ));
    }
    if c.work.0 / interval > 1_000_000 {
        return Err(err(
            format!("{path}.checkpoint_every"),
            "at most a million checkpoints per job",
        ));
    }
    if let Some(m) = &c.mtbf {
        let restart = c.restart.as_ref().map_or(0, |d| d.0);
        // A restart is begun again after every crash that interrupts it: e^(R/M) tries on
        // average, so R ≫ M would never come back.
        if m.0 == 0 || restart / m.0 >= 10 {
            return Err(err(
                format!("{path}.mtbf"),
                "the MTBF must be longer than 0s and more than a tenth of the restart time",
            ));
        }
    }
    Ok(CheckpointConfig {
        work: c.work.0,
        interval,
        cost: c.checkpoint_cost.as_ref().map_or(0, |d| d.0),
        mtbf: c.mtbf.as_ref().map(|d| d.0),
        restart: c.restart.as_ref().map_or(0, |d| d.0),
    })
}
