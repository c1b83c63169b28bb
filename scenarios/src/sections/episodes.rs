//! A backend's `outages` and `slowdowns`: when each happens (a scheduled window or an up/down
//! process) and what callers see during an outage ([`OutageMode`], which chaos experiments'
//! provider outages use too), and their conversion to `models` [`Episode`]s.

use crate::build_error::{BuildError, err};
use crate::dists::{DurationDist, duration_sampler};
use crate::values::{Duration, Positive};
use models::config::{Episode, EpisodeEffect, EpisodeTiming, OutageMode as ModelOutageMode};
use serde::{Deserialize, Serialize};

/// When an outage or slowdown happens: a window, or an alternating up/down process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Outage {
    /// A scheduled window: its start and length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    /// Or a process: time between failures, then time to repair, drawn alternately.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf: Option<DurationDist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr: Option<DurationDist>,
    /// What callers see (default `server_error`: 503s).
    #[serde(default)]
    pub mode: OutageMode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slowdown {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtbf: Option<DurationDist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mttr: Option<DurationDist>,
    /// How many times slower attempts are (must be positive; 3 is three times slower).
    pub multiplier: Positive,
}

/// How an outage looks to a caller.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OutageMode {
    /// 503 after the usual error latency.
    #[default]
    ServerError,
    /// 429 with the provider's Retry-After.
    RateLimited,
    /// The connection is refused at once.
    ConnectionRefused,
    /// The call hangs until the caller's attempt timeout (which must be set).
    Hang,
}

/// A backend's outages, then its slowdowns, as episodes in that order (the world names each
/// episode's random stream by its index). `path` is the backend's key path; a hanging outage
/// needs `has_attempt_timeout`.
pub(crate) fn build_episodes(
    outages: &[Outage],
    slowdowns: &[Slowdown],
    path: &str,
    has_attempt_timeout: bool,
) -> Result<Vec<Episode>, BuildError> {
    let mut episodes = Vec::new();
    for (k, o) in outages.iter().enumerate() {
        let here = format!("{path}.outages[{k}]");
        let mode = match o.mode {
            OutageMode::ServerError => ModelOutageMode::ServerError,
            OutageMode::RateLimited => ModelOutageMode::RateLimited,
            OutageMode::ConnectionRefused => ModelOutageMode::ConnectionRefused,
            OutageMode::Hang => {
                if !has_attempt_timeout {
                    return Err(err(
                        format!("{here}.mode"),
                        "a hanging outage needs gateway.attempt_timeout: without one, calls would wait forever",
                    ));
                }
                ModelOutageMode::Hang
            }
        };
        episodes.push(Episode {
            effect: EpisodeEffect::Outage(mode),
            timing: episode_timing(&o.start, &o.duration, &o.mtbf, &o.mttr, &here)?,
        });
    }
    for (k, o) in slowdowns.iter().enumerate() {
        let here = format!("{path}.slowdowns[{k}]");
        episodes.push(Episode {
            effect: EpisodeEffect::Slowdown(o.multiplier.0),
            timing: episode_timing(&o.start, &o.duration, &o.mtbf, &o.mttr, &here)?,
        });
    }
    if episodes.len() > u16::MAX as usize {
        return Err(err(path, "at most 65535 outages and slowdowns per backend"));
    }
    Ok(episodes)
}

/// When an outage or slowdown happens: exactly one of a window or a process.
fn episode_timing(
    start: &Option<Duration>,
    duration: &Option<Duration>,
    mtbf: &Option<DurationDist>,
    mttr: &Option<DurationDist>,
    path: &str,
) -> Result<EpisodeTiming, BuildError> {
    match (start, duration, mtbf, mttr) {
        (Some(start), Some(duration), None, None) => {
            if duration.0 == 0 {
                return Err(err(
                    format!("{path}.duration"),
                    "the duration must be longer than 0s",
                ));
            }
            Ok(EpisodeTiming::Window {
                start: start.0,
                duration: duration.0,
            })
        }
        (None, None, Some(up), Some(down)) => Ok(EpisodeTiming::Process {
            up: duration_sampler(up).map_err(|m| err(format!("{path}.mtbf"), m))?,
            down: duration_sampler(down).map_err(|m| err(format!("{path}.mttr"), m))?,
        }),
        _ => Err(err(
            path,
            "give either `start` and `duration` (a scheduled window) or `mtbf` and `mttr` (an up/down process)",
        )),
    }
}
