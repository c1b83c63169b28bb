//! A tenant's `arrivals`: the arrival processes a scenario can name, and their conversion to a
//! `models` [`ArrivalSpec`]. A replayed trace is read here, once, and shared by every
//! replication.

use crate::build_error::{BuildError, err};
use crate::values::{Duration, Positive, RateValue};
use models::workload::{ArrivalSpec, DiurnalProfile, ReplayOptions, TimeScale, Trace, TraceFormat};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// An arrival process, chosen by `process`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "process", rename_all = "snake_case", deny_unknown_fields)]
pub enum Arrivals {
    /// Exponential inter-arrival times at `rate` ("20/s").
    Poisson { rate: RateValue },
    /// A renewal process with Gamma gaps: mean rate `rate`, coefficient of variation `cv` of the
    /// gaps (1 is Poisson; above 1 is burstier, below 1 more regular).
    Gamma { rate: RateValue, cv: Positive },
    /// A daily cycle with mean rate `rate`: either `peak_to_trough` (a sinusoid peaking at
    /// `peak_hour`, default 14) or 24 `hourly_weights`. `start_time_of_day` (default "0s": the
    /// run starts at midnight) places virtual time 0 in the day.
    Diurnal {
        rate: RateValue,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_to_trough: Option<Positive>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        peak_hour: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hourly_weights: Option<Vec<f64>>,
        #[serde(default)]
        start_time_of_day: Duration,
    },
    /// Bursts: a two-state Markov-modulated Poisson process, `base_rate` for a mean of
    /// `mean_base`, then `burst_rate` for a mean of `mean_burst` (exponential sojourns).
    Mmpp {
        base_rate: RateValue,
        burst_rate: RateValue,
        mean_base: Duration,
        mean_burst: Duration,
    },
    /// Replay of a recorded trace: `path` to an Azure LLM inference CSV (`.csv`) or a Mooncake
    /// JSONL (`.jsonl`) file, relative to the current directory. Token counts come from the trace
    /// unless the tenant gives `prompt_tokens` / `output_tokens`.
    Trace {
        path: String,
        /// `azure_csv`, `mooncake_jsonl` or `burstgpt_csv` (default: from the file's extension,
        /// `.csv` for Azure's and `.jsonl` for Mooncake's; BurstGPT's must be named).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        format: Option<TraceFormatName>,
        /// Replay speed-up: "2" plays twice as fast, "1/2" half as fast (default "1").
        #[serde(default = "default_speedup")]
        speedup: String,
        /// Trace time skipped at the start (default "0s").
        #[serde(default)]
        start_offset: Duration,
        /// Replay again from the start after the end (default false: the tenant falls silent).
        #[serde(default, rename = "loop")]
        looping: bool,
    },
    /// Poisson arrivals whose rate steps at given times: each step's `rate` holds from its
    /// `from` until the next step's (the last one to the end). The first step starts at "0s".
    /// A load spike is three steps: `steps = [{ from = "0s", rate = "40/s" }, { from = "60s",
    /// rate = "200/s" }, { from = "65s", rate = "40/s" }]`.
    Piecewise { steps: Vec<RateStep> },
}

/// One step of a piecewise-constant rate: `rate` from `from` until the next step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateStep {
    pub from: Duration,
    pub rate: RateValue,
}

fn default_speedup() -> String {
    "1".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TraceFormatName {
    AzureCsv,
    MooncakeJsonl,
    BurstgptCsv,
}

/// The arrival process of a tenant; a trace is read here, once, and shared by every replication.
pub(crate) fn arrival_spec(a: &Arrivals, path: &str) -> Result<ArrivalSpec, BuildError> {
    let spec = match a {
        Arrivals::Poisson { rate } => ArrivalSpec::Poisson { rate: rate.0 },
        Arrivals::Gamma { rate, cv } => ArrivalSpec::GammaRenewal {
            rate: rate.0,
            cv: cv.0,
        },
        Arrivals::Diurnal {
            rate,
            peak_to_trough,
            peak_hour,
            hourly_weights,
            start_time_of_day,
        } => {
            let profile = match (peak_to_trough, hourly_weights) {
                (Some(ratio), None) => DiurnalProfile::Sinusoid {
                    peak_to_trough: ratio.0,
                    peak_hour: peak_hour.unwrap_or(14.0),
                },
                (None, Some(w)) => {
                    if peak_hour.is_some() {
                        return Err(err(
                            format!("{path}.peak_hour"),
                            "peak_hour goes with peak_to_trough, not with hourly_weights",
                        ));
                    }
                    let weights: [f64; 24] = w.as_slice().try_into().map_err(|_| {
                        err(
                            format!("{path}.hourly_weights"),
                            format!("expected 24 weights (one per hour), found {}", w.len()),
                        )
                    })?;
                    DiurnalProfile::Hourly { weights }
                }
                (Some(_), Some(_)) => {
                    return Err(err(
                        path,
                        "give either peak_to_trough or hourly_weights, not both",
                    ));
                }
                (None, None) => {
                    return Err(err(
                        path,
                        "a diurnal profile needs peak_to_trough (e.g. 3) or 24 hourly_weights",
                    ));
                }
            };
            ArrivalSpec::Diurnal {
                rate: rate.0,
                profile,
                time_of_day_at_start: start_time_of_day.0,
            }
        }
        Arrivals::Mmpp {
            base_rate,
            burst_rate,
            mean_base,
            mean_burst,
        } => ArrivalSpec::Mmpp {
            base_rate_per_s: base_rate.0.as_per_second(),
            burst_rate_per_s: burst_rate.0.as_per_second(),
            mean_base: mean_base.0,
            mean_burst: mean_burst.0,
        },
        Arrivals::Piecewise { steps } => ArrivalSpec::Piecewise {
            steps: steps
                .iter()
                .map(|s| (s.from.0, s.rate.0.as_per_second()))
                .collect(),
        },
        Arrivals::Trace {
            path: file,
            format,
            speedup,
            start_offset,
            looping,
        } => {
            let speedup =
                TimeScale::parse(speedup).map_err(|e| err(format!("{path}.speedup"), e.message))?;
            let format = match format {
                Some(TraceFormatName::AzureCsv) => TraceFormat::AzureCsv,
                Some(TraceFormatName::MooncakeJsonl) => TraceFormat::MooncakeJsonl,
                Some(TraceFormatName::BurstgptCsv) => TraceFormat::BurstGptCsv,
                None => TraceFormat::from_path(std::path::Path::new(file)).ok_or_else(|| {
                    err(
                        format!("{path}.path"),
                        format!(
                            "cannot tell the format of `{file}` from its extension; set format = \"azure_csv\" or \"mooncake_jsonl\""
                        ),
                    )
                })?,
            };
            let trace = match file.strip_prefix(crate::builtin_data::PREFIX) {
                Some(name) => {
                    let bytes = crate::builtin_data::read(name)
                        .map_err(|m| err(format!("{path}.path"), m))?;
                    Trace::parse(file, bytes, format)
                }
                None => Trace::load(file, format),
            }
            .map_err(|e| err(format!("{path}.path"), e.to_string()))?;
            ArrivalSpec::Trace {
                trace: Arc::new(trace),
                replay: ReplayOptions {
                    speedup,
                    start_offset: start_offset.0,
                    looping: *looping,
                },
            }
        }
    };
    spec.validate().map_err(|e| {
        let field = match e.field {
            "rate" | "cv" | "peak_to_trough" | "peak_hour" | "hourly_weights" | "speedup"
            | "start_offset" => format!("{path}.{}", e.field),
            _ => path.to_string(),
        };
        err(field, e.message)
    })?;
    Ok(spec)
}
