//! A backend's `network` (the hop between the gateway and it), `stream_failures` (answers that
//! break after their first token) and `memory` (a limit whose passing kills the process), and
//! their conversion to `models` configuration. Each is off unless its table is given.

use crate::build_error::{BuildError, err};
use crate::dists::{DurationDist, TokenDist, duration_sampler, token_sampler};
use crate::values::{Duration, NonNegative, Positive, Probability};
use models::memory::MemoryConfig;
use models::network::LinkConfig;
use models::streaming::{CutPosition, StreamFailureConfig, StreamRetry};
use serde::{Deserialize, Serialize};

/// The network between the gateway and this backend. Its delay counts toward the attempt's
/// timeout and the call's deadline, but not toward the backend's slots or service time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// One-way delay, drawn once each way per attempt (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DurationDist>,
    /// Probability that an attempt's connection is refused before anything is sent
    /// (`connection_refused`, after one round trip; default 0).
    #[serde(default)]
    pub connect_failure: Probability,
    /// Probability that a connection is reset during a call that would have been answered, at
    /// a uniform point of its service (`connection_reset`, not billed; default 0).
    #[serde(default)]
    pub reset: Probability,
}

/// Streamed answers that break after their first token (`stream_interrupted`): the tokens
/// streamed so far are billed with the prompt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamFailures {
    /// Probability that an answer of two tokens or more breaks.
    pub probability: Probability,
    /// Tokens streamed before the break (default: a uniform share of the output, `k` uniform
    /// on `1..n`); a drawn position at or past the end means the answer finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_tokens: Option<TokenDist>,
    /// What the retry asks for: `restart` (default: the whole call again) or `resume` (the
    /// streamed tokens join the prompt and only the missing ones are asked for).
    #[serde(default)]
    pub retry: Retry,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Retry {
    #[default]
    Restart,
    Resume,
}

/// The serving process's memory: past `limit_mb` it is killed, every call in service fails
/// with `connection_reset`, and it refuses connections for `restart`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Memory {
    /// What the process may hold, in MB (10⁶ bytes).
    pub limit_mb: Positive,
    /// Memory each call in service holds, in MB (default 0).
    #[serde(default)]
    pub per_call_mb: NonNegative,
    /// Memory per token (prompt and output) of a call in service, in kB (default 0).
    #[serde(default)]
    pub per_token_kb: NonNegative,
    /// How long the killed process takes to serve again.
    pub restart: Duration,
}

/// The link, `None` when it is not given.
pub(crate) fn build_network(
    n: Option<&Network>,
    path: &str,
) -> Result<Option<LinkConfig>, BuildError> {
    let Some(n) = n else { return Ok(None) };
    let path = format!("{path}.network");
    let delay = n
        .delay
        .as_ref()
        .map(|d| duration_sampler(d).map_err(|m| err(format!("{path}.delay"), m)))
        .transpose()?;
    if delay.is_none() && n.connect_failure.0 == 0.0 && n.reset.0 == 0.0 {
        return Err(err(
            path,
            "a network needs a `delay`, a `connect_failure` or a `reset` rate; leave the table out for none",
        ));
    }
    Ok(Some(LinkConfig {
        delay,
        connect_failure: n.connect_failure.0,
        reset: n.reset.0,
    }))
}

/// The stream failures, `None` when they are not given.
pub(crate) fn build_stream_failures(
    s: Option<&StreamFailures>,
    path: &str,
) -> Result<Option<StreamFailureConfig>, BuildError> {
    let Some(s) = s else { return Ok(None) };
    let path = format!("{path}.stream_failures");
    if s.probability.0 == 0.0 {
        return Err(err(
            format!("{path}.probability"),
            "a probability of 0 never breaks a stream; leave `stream_failures` out for none",
        ));
    }
    let position = match &s.at_tokens {
        None => CutPosition::Uniform,
        Some(d) => {
            CutPosition::Tokens(token_sampler(d).map_err(|m| err(format!("{path}.at_tokens"), m))?)
        }
    };
    Ok(Some(StreamFailureConfig {
        probability: s.probability.0,
        position,
        retry: match s.retry {
            Retry::Restart => StreamRetry::Restart,
            Retry::Resume => StreamRetry::Resume,
        },
    }))
}

/// The memory limit, `None` when it is not given.
pub(crate) fn build_memory(
    m: Option<&Memory>,
    path: &str,
) -> Result<Option<MemoryConfig>, BuildError> {
    let Some(m) = m else { return Ok(None) };
    let path = format!("{path}.memory");
    if m.per_call_mb.0 == 0.0 && m.per_token_kb.0 == 0.0 {
        return Err(err(
            path,
            "calls that hold no memory never pass the limit: give `per_call_mb` or `per_token_kb`",
        ));
    }
    if m.restart.0 == 0 {
        return Err(err(
            format!("{path}.restart"),
            "a killed process takes time to come back: the restart must be longer than 0s",
        ));
    }
    let bytes = |x: f64| libm::round(x).min(u64::MAX as f64) as u64;
    Ok(Some(MemoryConfig {
        limit: bytes(m.limit_mb.0 * 1e6),
        per_call: bytes(m.per_call_mb.0 * 1e6),
        per_token: bytes(m.per_token_kb.0 * 1e3),
        restart: m.restart.0,
    }))
}

/// None of the three applies to a GPU pool, whose replicas model their own memory (the KV
/// cache) and answer from the step-time model.
pub(crate) fn check_not_pooled(
    pooled: bool,
    given: [(bool, &str); 3],
    path: &str,
) -> Result<(), BuildError> {
    if let Some((_, key)) = given.iter().find(|(g, _)| pooled && *g) {
        return Err(err(
            format!("{path}.{key}"),
            "not available on a GPU pool backend (its replicas model their memory as a KV cache); give it to an API backend",
        ));
    }
    Ok(())
}
