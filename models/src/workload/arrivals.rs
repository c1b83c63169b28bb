//! Arrival processes.
//!
//! [`ArrivalSpec`] is the configuration (plain data, validated once); [`ArrivalState`] is one
//! tenant's generator in one replication. The world keeps one pending arrival event per tenant:
//! when it fires at `now`, it asks the generator for the next one with
//! [`ArrivalState::next`]`(now, rng)` and schedules it. Generators never schedule anything
//! themselves, never allocate, and take every random draw from the stream passed in.
//!
//! The processes:
//! - **Poisson**: exponential gaps, bit-for-bit the draws the world made before this module
//!   existed (`Sampler::Exponential` with the mean gap in ns, rounded to the nearest ns).
//! - **Gamma renewal**: i.i.d. Gamma gaps with mean `1/rate` and coefficient of variation `cv`
//!   (shape `1/cv²`); `cv = 1` is Poisson, `cv < 1` smoother, `cv > 1` burstier. The first gap
//!   is an ordinary one (the renewal process starts with an arrival at time 0 "just before").
//! - **Diurnal**: a non-homogeneous Poisson process with a 24-hour rate profile whose daily mean
//!   is `rate`, generated exactly by thinning (Lewis and Shedler, 1979): candidates from a
//!   Poisson process at the peak rate, each kept with probability `λ(t)/λ_peak`.
//! - **MMPP**: a two-state Markov-modulated Poisson process (base and burst), with exponential
//!   sojourns. State switches happen inside the generator (no extra events): a candidate gap
//!   that would cross the next switch is discarded and drawing restarts at the switch, which is
//!   exact because exponential gaps are memoryless. The initial state is drawn from the
//!   stationary distribution, so the process is stationary from time 0.
//! - **Piecewise**: a Poisson process whose rate steps at given times (a load spike is three
//!   steps). Generated like the MMPP: a gap that would cross the next step is discarded and
//!   drawing restarts there, which is exact because exponential gaps are memoryless.
//! - **Trace replay**: see [`crate::workload::trace`].

use super::WorkloadError;
use super::trace::{ReplayOptions, ReplayState, Trace, TraceTokens};
use sim_core::time::to_time;
use sim_core::{NANOS_PER_SEC, RandomStream, Rate, Sampler, Time};
use std::sync::Arc;

/// One hour of virtual time.
pub const HOUR: Time = 3_600 * NANOS_PER_SEC;
/// One day of virtual time.
pub const DAY: Time = 24 * HOUR;

/// The shape of a day's traffic. Either way the profile is scaled so that the mean rate over a
/// day is the process's `rate`.
#[derive(Debug, Clone, PartialEq)]
pub enum DiurnalProfile {
    /// `λ(t) = rate · (1 + a·cos(2π (h − peak_hour) / 24))` with `h` the hour of day (fractional)
    /// and `a = (peak_to_trough − 1) / (peak_to_trough + 1)`, so that the peak rate is
    /// `peak_to_trough` times the trough rate (12 hours later). `peak_to_trough ≥ 1`;
    /// `peak_hour` in `[0, 24)`.
    Sinusoid { peak_to_trough: f64, peak_hour: f64 },
    /// A rate per hour of day, proportional to the weights: hour `h` runs at
    /// `rate · 24 · w[h] / Σw`. Weights are non-negative with a positive sum.
    Hourly { weights: [f64; 24] },
}

/// How a tenant's jobs arrive. Plain data; check it with [`ArrivalSpec::validate`].
#[derive(Debug, Clone, PartialEq)]
pub enum ArrivalSpec {
    Poisson {
        rate: Rate,
    },
    /// Renewal process with Gamma gaps: mean gap `1/rate`, coefficient of variation `cv > 0`.
    GammaRenewal {
        rate: Rate,
        cv: f64,
    },
    /// Non-homogeneous Poisson with a daily profile; `rate` is the mean over a day.
    Diurnal {
        rate: Rate,
        profile: DiurnalProfile,
        /// The time of day at virtual time 0 (0 = the run starts at midnight). Below one day.
        time_of_day_at_start: Time,
    },
    /// Two-state MMPP. Rates are per second (the base rate may be 0: an on/off source); mean
    /// sojourns are in nanoseconds. Long-run rate `(r_b·m_b + r_u·m_u)/(m_b + m_u)`.
    Mmpp {
        base_rate_per_s: f64,
        burst_rate_per_s: f64,
        mean_base: Time,
        mean_burst: Time,
    },
    /// Replay of a recorded trace, shared read-only across replications.
    Trace {
        trace: Arc<Trace>,
        replay: ReplayOptions,
    },
    /// Poisson at `rate_per_s` from each step's `from` until the next step's (the last lasts
    /// forever); steps start at 0 and are in increasing time order. Rates may be 0.
    Piecewise {
        steps: Vec<(Time, f64)>,
    },
}

impl ArrivalSpec {
    /// Checks every parameter; [`ArrivalState::new`] succeeds for any spec that passes.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        match self {
            ArrivalSpec::Poisson { .. } => Ok(()),
            ArrivalSpec::GammaRenewal { cv, .. } => {
                let shape = 1.0 / (cv * cv);
                if cv.is_finite() && *cv > 0.0 && shape.is_finite() && shape > 0.0 {
                    Ok(())
                } else {
                    Err(WorkloadError::new(
                        "cv",
                        format!(
                            "the coefficient of variation must be a positive finite number, found {cv}"
                        ),
                    ))
                }
            }
            ArrivalSpec::Diurnal {
                profile,
                time_of_day_at_start,
                ..
            } => {
                if *time_of_day_at_start >= DAY {
                    return Err(WorkloadError::new(
                        "time_of_day_at_start",
                        format!(
                            "must be less than one day, found {}",
                            sim_core::time::format_duration(*time_of_day_at_start)
                        ),
                    ));
                }
                match profile {
                    DiurnalProfile::Sinusoid {
                        peak_to_trough,
                        peak_hour,
                    } => {
                        if !(peak_to_trough.is_finite() && *peak_to_trough >= 1.0) {
                            return Err(WorkloadError::new(
                                "peak_to_trough",
                                format!(
                                    "must be a finite number of at least 1, found {peak_to_trough}"
                                ),
                            ));
                        }
                        if !(peak_hour.is_finite() && (0.0..24.0).contains(peak_hour)) {
                            return Err(WorkloadError::new(
                                "peak_hour",
                                format!("must be in [0, 24), found {peak_hour}"),
                            ));
                        }
                        Ok(())
                    }
                    DiurnalProfile::Hourly { weights } => {
                        if let Some((h, w)) = weights
                            .iter()
                            .enumerate()
                            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
                        {
                            return Err(WorkloadError::new(
                                "hourly_weights",
                                format!(
                                    "weight of hour {h} must be a non-negative finite number, found {w}"
                                ),
                            ));
                        }
                        let max = weights.iter().copied().fold(0.0, f64::max);
                        if max <= 0.0 {
                            return Err(WorkloadError::new(
                                "hourly_weights",
                                "at least one hour needs a positive weight",
                            ));
                        }
                        Ok(())
                    }
                }
            }
            ArrivalSpec::Mmpp {
                base_rate_per_s,
                burst_rate_per_s,
                mean_base,
                mean_burst,
            } => {
                for (field, r) in [
                    ("base_rate", base_rate_per_s),
                    ("burst_rate", burst_rate_per_s),
                ] {
                    if !(r.is_finite() && *r >= 0.0) {
                        return Err(WorkloadError::new(
                            field,
                            format!("must be a non-negative finite rate, found {r}/s"),
                        ));
                    }
                }
                if *base_rate_per_s == 0.0 && *burst_rate_per_s == 0.0 {
                    return Err(WorkloadError::new(
                        "burst_rate",
                        "the base and burst rates cannot both be zero",
                    ));
                }
                for (field, m) in [("mean_base", mean_base), ("mean_burst", mean_burst)] {
                    if *m == 0 {
                        return Err(WorkloadError::new(
                            field,
                            "the mean sojourn must be longer than zero",
                        ));
                    }
                }
                Ok(())
            }
            ArrivalSpec::Trace { trace, replay } => {
                ReplayState::new(trace.clone(), replay).map(drop)
            }
            ArrivalSpec::Piecewise { steps } => {
                if steps.first().is_none_or(|s| s.0 != 0) {
                    return Err(WorkloadError::new(
                        "steps",
                        "the first step must start at 0s (say what the rate is from the start)",
                    ));
                }
                if let Some(k) = steps.windows(2).position(|w| w[1].0 <= w[0].0) {
                    return Err(WorkloadError::new(
                        "steps",
                        format!(
                            "step {} does not start after step {k}: steps must be in increasing time order",
                            k + 1
                        ),
                    ));
                }
                if let Some((k, r)) = steps
                    .iter()
                    .enumerate()
                    .find(|(_, s)| !(s.1.is_finite() && s.1 >= 0.0))
                {
                    return Err(WorkloadError::new(
                        "steps",
                        format!("step {k} needs a non-negative finite rate, found {}/s", r.1),
                    ));
                }
                Ok(())
            }
        }
    }

    /// The long-run mean arrival rate per second (for a trace: of the replayed part, looping or
    /// not).
    pub fn mean_rate_per_s(&self) -> f64 {
        match self {
            ArrivalSpec::Poisson { rate }
            | ArrivalSpec::GammaRenewal { rate, .. }
            | ArrivalSpec::Diurnal { rate, .. } => rate.as_per_second(),
            ArrivalSpec::Mmpp {
                base_rate_per_s,
                burst_rate_per_s,
                mean_base,
                mean_burst,
            } => {
                let (mb, mu) = (*mean_base as f64, *mean_burst as f64);
                (base_rate_per_s * mb + burst_rate_per_s * mu) / (mb + mu)
            }
            ArrivalSpec::Trace { trace, replay } => match ReplayState::new(trace.clone(), replay) {
                Ok(r) => r.mean_rate_per_s(),
                Err(_) => f64::NAN,
            },
            // The rate it settles at: the last step lasts forever.
            ArrivalSpec::Piecewise { steps } => steps.last().map_or(f64::NAN, |s| s.1),
        }
    }
}

/// The next arrival: its time and, for a replayed trace, the request's recorded token counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arrival {
    pub at: Time,
    pub tokens: Option<TraceTokens>,
}

/// One tenant's arrival generator in one replication.
#[derive(Debug, Clone)]
pub struct ArrivalState {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Poisson and Gamma renewal: i.i.d. gaps in ns.
    Renewal {
        gap: Sampler,
    },
    Diurnal {
        /// Mean candidate gap at the peak rate, ns.
        peak_gap: f64,
        accept: Acceptance,
        time_of_day_at_start: Time,
    },
    Mmpp {
        /// Mean gap in each state (ns); infinite for a zero rate.
        mean_gap: [f64; 2],
        mean_sojourn: [f64; 2],
        /// Current state and the time it ends; `None` before the first draw.
        phase: Option<(usize, Time)>,
    },
    Replay(ReplayState),
    Piecewise {
        /// Per step: when it starts and its mean gap in ns (infinite for a zero rate).
        steps: Vec<(Time, f64)>,
        /// The step in force at the last arrival.
        current: usize,
    },
}

/// `λ(t) / λ_peak` as a function of the time of day.
#[derive(Debug, Clone)]
enum Acceptance {
    Sinusoid { amplitude: f64, peak_hour: f64 },
    Hourly { ratio: [f64; 24] },
}

impl Acceptance {
    #[inline]
    fn at(&self, time_of_day: Time) -> f64 {
        match self {
            Acceptance::Sinusoid {
                amplitude,
                peak_hour,
            } => {
                let h = time_of_day as f64 / HOUR as f64;
                let angle = 2.0 * std::f64::consts::PI * (h - peak_hour) / 24.0;
                (1.0 + amplitude * libm::cos(angle)) / (1.0 + amplitude)
            }
            Acceptance::Hourly { ratio } => ratio[(time_of_day / HOUR) as usize],
        }
    }
}

impl ArrivalState {
    /// A fresh generator (validates `spec` first).
    pub fn new(spec: &ArrivalSpec) -> Result<ArrivalState, WorkloadError> {
        spec.validate()?;
        let kind = match spec {
            ArrivalSpec::Poisson { rate } => Kind::Renewal {
                gap: Sampler::Exponential {
                    mean: rate.mean_interval_ns(),
                },
            },
            ArrivalSpec::GammaRenewal { rate, cv } => {
                let shape = 1.0 / (cv * cv);
                Kind::Renewal {
                    gap: Sampler::gamma(shape, rate.mean_interval_ns() / shape)
                        .map_err(|e| WorkloadError::new("cv", e.0))?,
                }
            }
            ArrivalSpec::Diurnal {
                rate,
                profile,
                time_of_day_at_start,
            } => {
                let (peak_factor, accept) = match profile {
                    DiurnalProfile::Sinusoid {
                        peak_to_trough,
                        peak_hour,
                    } => {
                        let amplitude = (peak_to_trough - 1.0) / (peak_to_trough + 1.0);
                        (
                            1.0 + amplitude,
                            Acceptance::Sinusoid {
                                amplitude,
                                peak_hour: *peak_hour,
                            },
                        )
                    }
                    DiurnalProfile::Hourly { weights } => {
                        // Relative to the largest weight first: weights near f64::MAX must not
                        // overflow the sum or the peak factor (an infinite factor made every gap
                        // between arrivals zero).
                        let max = weights.iter().copied().fold(0.0, f64::max);
                        let mut ratio = [0.0; 24];
                        for (r, w) in ratio.iter_mut().zip(weights) {
                            *r = w / max;
                        }
                        let relative_sum: f64 = ratio.iter().sum();
                        (24.0 / relative_sum, Acceptance::Hourly { ratio })
                    }
                };
                Kind::Diurnal {
                    peak_gap: rate.mean_interval_ns() / peak_factor,
                    accept,
                    time_of_day_at_start: *time_of_day_at_start,
                }
            }
            ArrivalSpec::Mmpp {
                base_rate_per_s,
                burst_rate_per_s,
                mean_base,
                mean_burst,
            } => {
                let gap = |r: f64| {
                    if r > 0.0 {
                        NANOS_PER_SEC as f64 / r
                    } else {
                        f64::INFINITY
                    }
                };
                Kind::Mmpp {
                    mean_gap: [gap(*base_rate_per_s), gap(*burst_rate_per_s)],
                    mean_sojourn: [*mean_base as f64, *mean_burst as f64],
                    phase: None,
                }
            }
            ArrivalSpec::Trace { trace, replay } => {
                Kind::Replay(ReplayState::new(trace.clone(), replay)?)
            }
            ArrivalSpec::Piecewise { steps } => Kind::Piecewise {
                steps: steps
                    .iter()
                    .map(|&(from, r)| {
                        let gap = if r > 0.0 {
                            NANOS_PER_SEC as f64 / r
                        } else {
                            f64::INFINITY
                        };
                        (from, gap)
                    })
                    .collect(),
                current: 0,
            },
        };
        Ok(ArrivalState { kind })
    }

    /// The next arrival at or after `now`, where `now` is the time of the previous arrival (or
    /// the start time, for the first call). `None` when there are no more arrivals (a trace that
    /// does not loop has ended, or time would pass `u64::MAX` ns).
    ///
    /// Trace replay ignores `now` and `rng`: its times are fixed by the trace and the options.
    #[inline]
    pub fn next(&mut self, now: Time, rng: &mut RandomStream) -> Option<Arrival> {
        let at = match &mut self.kind {
            Kind::Renewal { gap } => now.checked_add(to_time(gap.sample(rng)))?,
            Kind::Diurnal {
                peak_gap,
                accept,
                time_of_day_at_start,
            } => {
                let mut t = now;
                loop {
                    t = t.checked_add(to_time(exponential(*peak_gap, rng)))?;
                    let tod = ((t % DAY) + *time_of_day_at_start) % DAY;
                    if rng.next_f64() < accept.at(tod) {
                        break t;
                    }
                }
            }
            Kind::Mmpp {
                mean_gap,
                mean_sojourn,
                phase,
            } => {
                let (mut state, mut ends) = match *phase {
                    Some(p) => p,
                    None => {
                        let p_base = mean_sojourn[0] / (mean_sojourn[0] + mean_sojourn[1]);
                        let state = if rng.next_f64() < p_base { 0 } else { 1 };
                        (state, now.checked_add(sojourn(mean_sojourn[state], rng))?)
                    }
                };
                let mut t = now;
                loop {
                    while ends <= t {
                        state ^= 1;
                        ends = ends.checked_add(sojourn(mean_sojourn[state], rng))?;
                    }
                    if mean_gap[state].is_finite() {
                        let at = t.checked_add(to_time(exponential(mean_gap[state], rng)))?;
                        if at < ends {
                            *phase = Some((state, ends));
                            break at;
                        }
                    }
                    // No arrival before the switch: restart at the switch (memoryless gaps).
                    t = ends;
                }
            }
            Kind::Piecewise { steps, current } => {
                let mut t = now;
                loop {
                    while *current + 1 < steps.len() && steps[*current + 1].0 <= t {
                        *current += 1;
                    }
                    let ends = steps.get(*current + 1).map_or(Time::MAX, |s| s.0);
                    let gap = steps[*current].1;
                    if gap.is_finite() {
                        let at = t.checked_add(to_time(exponential(gap, rng)))?;
                        if at < ends {
                            break at;
                        }
                    }
                    if ends == Time::MAX {
                        return None; // a last step at rate 0: silent from then on
                    }
                    // No arrival before the step: restart there (memoryless gaps).
                    t = ends;
                }
            }
            Kind::Replay(replay) => {
                let (at, tokens) = replay.next_request()?;
                return Some(Arrival {
                    at,
                    tokens: Some(tokens),
                });
            }
        };
        Some(Arrival { at, tokens: None })
    }

    /// [`ArrivalState::next`] without the token counts.
    #[inline]
    pub fn next_arrival(&mut self, now: Time, rng: &mut RandomStream) -> Option<Time> {
        self.next(now, rng).map(|a| a.at)
    }
}

/// An exponential variate with the given mean, drawn exactly as `Sampler::Exponential` does.
#[inline]
fn exponential(mean: f64, rng: &mut RandomStream) -> f64 {
    -mean * libm::log(rng.next_open01())
}

/// A sojourn time: exponential, at least 1 ns so that switching always moves time forward.
#[inline]
fn sojourn(mean: f64, rng: &mut RandomStream) -> Time {
    to_time(exponential(mean, rng)).max(1)
}

#[cfg(test)]
mod tests;
