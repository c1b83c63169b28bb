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

use super::trace::{ReplayOptions, ReplayState, Trace};
use super::{WorkloadError, to_time};
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

/// Token counts recorded in a trace for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceTokens {
    pub prompt: u32,
    pub output: u32,
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
mod tests {
    use super::*;
    use sim_core::summary::t_interval;

    const SEC: Time = NANOS_PER_SEC;

    fn rate(per_s: f64) -> Rate {
        Rate::per_second(per_s).unwrap()
    }

    /// Arrival times in `[0, horizon)` from one fresh generator.
    fn arrivals(spec: &ArrivalSpec, seed: u64, horizon: Time) -> Vec<Time> {
        let mut state = ArrivalState::new(spec).unwrap();
        let mut rng = RandomStream::from_seed(seed);
        let mut out = Vec::new();
        let mut now = 0;
        while let Some(t) = state.next_arrival(now, &mut rng) {
            assert!(t >= now, "arrivals go forward");
            if t >= horizon {
                break;
            }
            out.push(t);
            now = t;
        }
        out
    }

    /// The empirical rate (per second) over `reps` independent replications of length
    /// `horizon`, and its Student-t interval at `level` across replications.
    fn rate_interval(
        spec: &ArrivalSpec,
        reps: u64,
        horizon: Time,
        level: f64,
    ) -> (f64, sim_core::summary::Interval) {
        let rates: Vec<f64> = (0..reps)
            .map(|seed| arrivals(spec, 1000 + seed, horizon).len() as f64 / (horizon / SEC) as f64)
            .collect();
        let mean = rates.iter().sum::<f64>() / rates.len() as f64;
        (mean, t_interval(&rates, level).unwrap())
    }

    /// Asserts that the configured mean rate lies in the 99.9% interval of the empirical rate
    /// and that the interval's relative half-width is below `max_rel_half_width`.
    fn assert_rate(spec: &ArrivalSpec, reps: u64, horizon: Time, max_rel_half_width: f64) {
        let expected = spec.mean_rate_per_s();
        let (mean, ci) = rate_interval(spec, reps, horizon, 0.999);
        eprintln!(
            "rate {mean:.5}/s, 99.9% CI ±{:.5} ({:.2}%), expected {expected:.5}/s",
            ci.half_width(),
            100.0 * ci.half_width() / expected
        );
        assert!(
            ci.contains(expected),
            "{spec:?}: rate {mean}/s, 99.9% CI {ci:?}, expected {expected}/s"
        );
        assert!(
            ci.half_width() < max_rel_half_width * expected,
            "{spec:?}: CI {ci:?} too wide to mean anything"
        );
    }

    /// Counts per window of `width` over `[0, horizon)`.
    fn window_counts(times: &[Time], width: Time, horizon: Time) -> Vec<f64> {
        let mut counts = vec![0.0; (horizon / width) as usize];
        for t in times {
            if let Some(c) = counts.get_mut((t / width) as usize) {
                *c += 1.0;
            }
        }
        counts
    }

    fn dispersion(counts: &[f64]) -> f64 {
        let n = counts.len() as f64;
        let mean = counts.iter().sum::<f64>() / n;
        let var = counts.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>() / (n - 1.0);
        var / mean
    }

    fn gaps_cv(times: &[Time]) -> f64 {
        let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
        let n = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / n;
        let var = gaps.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / (n - 1.0);
        var.sqrt() / mean
    }

    #[test]
    fn poisson_rate_and_dispersion() {
        let spec = ArrivalSpec::Poisson { rate: rate(5.0) };
        // 20 replications × 2,000 s × 5/s: half-width ≈ 3.9 · √(5/2000)/√20 ≈ 1.2% of the rate.
        assert_rate(&spec, 20, 2_000 * SEC, 0.02);
        let times = arrivals(&spec, 7, 20_000 * SEC);
        let idc = dispersion(&window_counts(&times, 10 * SEC, 20_000 * SEC));
        // 2,000 windows: the dispersion index's standard error is ≈ √(2/1999) ≈ 0.032.
        eprintln!("Poisson IDC(10 s) {idc:.4}, gap CV {:.4}", gaps_cv(&times));
        assert!(
            (idc - 1.0).abs() < 0.12,
            "Poisson counts have IDC ≈ 1, got {idc}"
        );
        assert!(
            (gaps_cv(&times) - 1.0).abs() < 0.02,
            "exponential gaps have CV 1"
        );
    }

    #[test]
    fn poisson_matches_the_worlds_former_draws() {
        // The world used `Sampler::Exponential { mean: rate.mean_interval_ns() }` and rounded to
        // the nearest ns: switching a tenant to `ArrivalState` must not move a single arrival.
        let r = rate(0.8);
        let mut state = ArrivalState::new(&ArrivalSpec::Poisson { rate: r }).unwrap();
        let sampler = Sampler::Exponential {
            mean: r.mean_interval_ns(),
        };
        let (mut a, mut b) = (RandomStream::from_seed(3), RandomStream::from_seed(3));
        let (mut now_a, mut now_b) = (0, 0);
        for _ in 0..10_000 {
            now_a = state.next_arrival(now_a, &mut a).unwrap();
            now_b += (sampler.sample(&mut b) + 0.5) as Time;
            assert_eq!(now_a, now_b);
        }
    }

    #[test]
    fn gamma_renewal_rate_and_cv() {
        for (cv, reps, horizon, max_rel) in [
            // Count variance ≈ cv²·λ·T for a renewal process.
            (0.5, 20, 2_000 * SEC, 0.01),
            (3.0, 30, 20_000 * SEC, 0.03),
        ] {
            let spec = ArrivalSpec::GammaRenewal {
                rate: rate(2.0),
                cv,
            };
            assert_rate(&spec, reps, horizon, max_rel);
            // 200,000 gaps. The sample CV's relative standard error is about
            // √((κ − 1)/n)/2 with κ the gap kurtosis (3 + 6cv²): 0.2% at cv 0.5, 0.9% at cv 3.
            let times = arrivals(&spec, 11, 100_000 * SEC);
            let got = gaps_cv(&times);
            eprintln!("Gamma renewal: configured CV {cv}, measured {got:.4}");
            assert!(
                (got - cv).abs() < 0.035 * cv,
                "configured CV {cv}, measured {got}"
            );
        }
    }

    fn hourly_counts(times: &[Time], offset: Time) -> [f64; 24] {
        let mut counts = [0.0; 24];
        for t in times {
            counts[(((t % DAY) + offset) % DAY / HOUR) as usize] += 1.0;
        }
        counts
    }

    #[test]
    fn diurnal_sinusoid_follows_its_profile() {
        let (ratio, peak_hour, days) = (3.0, 14.0, 20);
        let spec = ArrivalSpec::Diurnal {
            rate: rate(1.0),
            profile: DiurnalProfile::Sinusoid {
                peak_to_trough: ratio,
                peak_hour,
            },
            time_of_day_at_start: 0,
        };
        let horizon = days * DAY;
        let times = arrivals(&spec, 5, horizon);
        let counts = hourly_counts(&times, 0);
        // Exact expected count of hour h over the run: days · 3600 · λ̄ · (1 + a·s·cos(θ_h)),
        // where θ_h is the angle at mid-hour and s = sin(π/24)/(π/24) the hour-average of the
        // cosine. Each count is Poisson: allow 4 standard deviations (24 checks).
        let a = (ratio - 1.0) / (ratio + 1.0);
        let x = std::f64::consts::PI / 24.0;
        let s = x.sin() / x;
        for (h, count) in counts.iter().enumerate() {
            let theta = 2.0 * std::f64::consts::PI * (h as f64 + 0.5 - peak_hour) / 24.0;
            let expected = days as f64 * 3600.0 * (1.0 + a * s * theta.cos());
            assert!(
                (count - expected).abs() < 4.0 * expected.sqrt(),
                "hour {h}: {count} arrivals, expected {expected}"
            );
        }
        // The busiest hour is the peak hour, the quietest the trough, and their ratio is the
        // configured one (less the hour-averaging, ≈ 2.99 for ratio 3) within 3%.
        let max = counts.iter().copied().fold(0.0, f64::max);
        let min = counts.iter().copied().fold(f64::INFINITY, f64::min);
        let hourly_ratio = (1.0 + a * s * (x).cos()) / (1.0 - a * s * (x).cos());
        eprintln!(
            "diurnal hourly peak/trough {:.4}, expected {hourly_ratio:.4}",
            max / min
        );
        assert!(
            ((max / min) - hourly_ratio).abs() < 0.03 * hourly_ratio,
            "peak/trough of hourly counts {}, expected {hourly_ratio}",
            max / min
        );
        assert_eq!(counts[13].max(counts[14]), max);
        assert_eq!(counts[1].min(counts[2]), min);
        assert_rate(&spec, 10, DAY, 0.01);
    }

    #[test]
    fn diurnal_hourly_weights_follow_their_profile() {
        let mut weights = [1.0; 24];
        weights[9] = 5.0;
        weights[10] = 4.0;
        weights[3] = 0.0;
        let offset = 6 * HOUR;
        let spec = ArrivalSpec::Diurnal {
            rate: rate(2.0),
            profile: DiurnalProfile::Hourly { weights },
            time_of_day_at_start: offset,
        };
        let days = 10;
        let times = arrivals(&spec, 9, days * DAY);
        let counts = hourly_counts(&times, offset);
        let sum: f64 = weights.iter().sum();
        for h in 0..24 {
            let expected = days as f64 * 3600.0 * 2.0 * 24.0 * weights[h] / sum;
            assert!(
                (counts[h] - expected).abs() <= 4.0 * expected.sqrt(),
                "hour {h}: {} arrivals, expected {expected}",
                counts[h]
            );
        }
        assert_eq!(counts[3], 0.0, "a zero weight means no traffic");
        assert_rate(&spec, 10, DAY, 0.01);
    }

    #[test]
    fn mmpp_long_run_rate_and_overdispersion() {
        // Base 1/s for 60 s on average, bursts of 20/s for 10 s on average:
        // long-run rate (1·60 + 20·10)/70 = 3.714/s.
        let spec = ArrivalSpec::Mmpp {
            base_rate_per_s: 1.0,
            burst_rate_per_s: 20.0,
            mean_base: 60 * SEC,
            mean_burst: 10 * SEC,
        };
        assert!((spec.mean_rate_per_s() - 260.0 / 70.0).abs() < 1e-12);
        // Asymptotic count variance: λ̄ + 2(r_b − r_u)²·αβ/(α + β)³ ≈ 762 per second of
        // horizon (α = 1/60, β = 1/10): 30 × 20,000 s gives a half-width ≈ 2.5%.
        assert_rate(&spec, 30, 20_000 * SEC, 0.04);
        let times = arrivals(&spec, 21, 100_000 * SEC);
        let idc = dispersion(&window_counts(&times, 60 * SEC, 100_000 * SEC));
        // Index of dispersion of counts in windows of t = 60 s (Poisson: 1). For a two-state
        // MMPP with switching rates α = 1/m_b, β = 1/m_u, s = α + β:
        //   IDC(t) = 1 + 2(r_b − r_u)²αβ / (s³ λ̄) · (1 − (1 − e^(−st)) / (st))
        // = 1 + 204.1 · 0.857 = 175.9 here. Allow 15% (the window counts are correlated over
        // ~10 s sojourns, so the 1,666 windows estimate the variance to a few per cent).
        let (a, b): (f64, f64) = (1.0 / 60.0, 1.0 / 10.0);
        let s = a + b;
        let mean = 260.0 / 70.0;
        let st = s * 60.0;
        let theory =
            1.0 + 2.0 * 19.0 * 19.0 * a * b / (s * s * s * mean) * (1.0 - (1.0 - (-st).exp()) / st);
        eprintln!("MMPP IDC(60 s) {idc:.2}, theory {theory:.2}");
        assert!(
            (idc - theory).abs() < 0.15 * theory,
            "MMPP counts are overdispersed: IDC {idc}, theory {theory}"
        );
    }

    #[test]
    fn mmpp_on_off_source() {
        let spec = ArrivalSpec::Mmpp {
            base_rate_per_s: 0.0,
            burst_rate_per_s: 10.0,
            mean_base: 30 * SEC,
            mean_burst: 10 * SEC,
        };
        assert_rate(&spec, 30, 10_000 * SEC, 0.05);
    }

    #[test]
    fn piecewise_rates_hold_in_each_step_and_a_zero_rate_is_silent() {
        // 10/s for 100 s, a spike of 200/s for 5 s, 10/s again, and silence from 200 s.
        let spec = ArrivalSpec::Piecewise {
            steps: vec![
                (0, 10.0),
                (100 * SEC, 200.0),
                (105 * SEC, 10.0),
                (200 * SEC, 0.0),
            ],
        };
        spec.validate().unwrap();
        let windows = [(0, 100), (100, 105), (105, 200)];
        let mut counts = vec![Vec::new(); windows.len()];
        for seed in 0..30 {
            let times = arrivals(&spec, seed, 1_000 * SEC);
            assert!(times.iter().all(|&t| t < 200 * SEC), "nothing after 200 s");
            for (c, &(a, b)) in counts.iter_mut().zip(&windows) {
                let n = times
                    .iter()
                    .filter(|&&t| t >= a * SEC && t < b * SEC)
                    .count();
                c.push(n as f64);
            }
        }
        // 1,000, 1,000 and 950 expected: Poisson counts, so a 99% interval of 30 replications
        // has a half-width near 2.8·√(1000/30) ≈ 16 (1.6%).
        for (c, expected) in counts.iter().zip([1_000.0, 1_000.0, 950.0]) {
            let ci = t_interval(c, 0.99).unwrap();
            assert!(
                ci.low <= expected && expected <= ci.high,
                "{expected} outside [{}, {}]",
                ci.low,
                ci.high
            );
        }
    }

    #[test]
    fn piecewise_steps_must_start_at_zero_and_increase() {
        for steps in [
            vec![(SEC, 1.0)],
            vec![(0, 1.0), (5 * SEC, 2.0), (5 * SEC, 3.0)],
            vec![(0, -1.0)],
        ] {
            assert!(ArrivalSpec::Piecewise { steps }.validate().is_err());
        }
    }

    #[test]
    fn same_seed_same_arrivals() {
        let specs = [
            ArrivalSpec::Poisson { rate: rate(3.0) },
            ArrivalSpec::GammaRenewal {
                rate: rate(3.0),
                cv: 2.0,
            },
            ArrivalSpec::Diurnal {
                rate: rate(3.0),
                profile: DiurnalProfile::Sinusoid {
                    peak_to_trough: 4.0,
                    peak_hour: 20.5,
                },
                time_of_day_at_start: 0,
            },
            ArrivalSpec::Mmpp {
                base_rate_per_s: 1.0,
                burst_rate_per_s: 9.0,
                mean_base: 5 * SEC,
                mean_burst: SEC,
            },
        ];
        for spec in &specs {
            let a = arrivals(spec, 77, 1_000 * SEC);
            assert_eq!(a, arrivals(spec, 77, 1_000 * SEC));
            assert_ne!(a, arrivals(spec, 78, 1_000 * SEC));
        }
    }

    #[test]
    fn rejects_bad_specs() {
        let bad = [
            ArrivalSpec::GammaRenewal {
                rate: rate(1.0),
                cv: 0.0,
            },
            ArrivalSpec::GammaRenewal {
                rate: rate(1.0),
                cv: f64::NAN,
            },
            ArrivalSpec::GammaRenewal {
                rate: rate(1.0),
                cv: 1e300,
            },
            ArrivalSpec::Diurnal {
                rate: rate(1.0),
                profile: DiurnalProfile::Sinusoid {
                    peak_to_trough: 0.5,
                    peak_hour: 3.0,
                },
                time_of_day_at_start: 0,
            },
            ArrivalSpec::Diurnal {
                rate: rate(1.0),
                profile: DiurnalProfile::Sinusoid {
                    peak_to_trough: 2.0,
                    peak_hour: 24.0,
                },
                time_of_day_at_start: 0,
            },
            ArrivalSpec::Diurnal {
                rate: rate(1.0),
                profile: DiurnalProfile::Hourly { weights: [0.0; 24] },
                time_of_day_at_start: 0,
            },
            ArrivalSpec::Diurnal {
                rate: rate(1.0),
                profile: DiurnalProfile::Hourly { weights: [1.0; 24] },
                time_of_day_at_start: DAY,
            },
            ArrivalSpec::Mmpp {
                base_rate_per_s: 0.0,
                burst_rate_per_s: 0.0,
                mean_base: SEC,
                mean_burst: SEC,
            },
            ArrivalSpec::Mmpp {
                base_rate_per_s: -1.0,
                burst_rate_per_s: 1.0,
                mean_base: SEC,
                mean_burst: SEC,
            },
            ArrivalSpec::Mmpp {
                base_rate_per_s: 1.0,
                burst_rate_per_s: 2.0,
                mean_base: 0,
                mean_burst: SEC,
            },
        ];
        for spec in &bad {
            let err = ArrivalState::new(spec).unwrap_err();
            assert!(!err.to_string().is_empty());
        }
        let mut weights = [1.0; 24];
        weights[5] = -1.0;
        let err = ArrivalSpec::Diurnal {
            rate: rate(1.0),
            profile: DiurnalProfile::Hourly { weights },
            time_of_day_at_start: 0,
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.field, "hourly_weights");
        assert!(err.message.contains("hour 5"), "{err}");
    }

    #[test]
    fn ends_instead_of_overflowing() {
        let mut state = ArrivalState::new(&ArrivalSpec::Poisson {
            rate: Rate::per_second(1e-12).unwrap(),
        })
        .unwrap();
        let mut rng = RandomStream::from_seed(1);
        let mut now = Time::MAX - 10;
        let mut ended = false;
        for _ in 0..100 {
            match state.next_arrival(now, &mut rng) {
                Some(t) => now = t,
                None => {
                    ended = true;
                    break;
                }
            }
        }
        assert!(ended);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn spec() -> impl Strategy<Value = ArrivalSpec> {
            let r = 0.001f64..1000.0;
            prop_oneof![
                r.clone()
                    .prop_map(|x| ArrivalSpec::Poisson { rate: rate(x) }),
                (r.clone(), 0.05f64..20.0)
                    .prop_map(|(x, cv)| ArrivalSpec::GammaRenewal { rate: rate(x), cv }),
                (r.clone(), 1.0f64..100.0, 0.0f64..24.0, 0..DAY).prop_map(|(x, k, h, tod)| {
                    ArrivalSpec::Diurnal {
                        rate: rate(x),
                        profile: DiurnalProfile::Sinusoid {
                            peak_to_trough: k,
                            peak_hour: h.min(23.999),
                        },
                        time_of_day_at_start: tod,
                    }
                }),
                (r.clone(), proptest::array::uniform24(0.0f64..10.0), 0..DAY).prop_map(
                    |(x, mut weights, tod)| {
                        weights[7] += 0.1;
                        ArrivalSpec::Diurnal {
                            rate: rate(x),
                            profile: DiurnalProfile::Hourly { weights },
                            time_of_day_at_start: tod,
                        }
                    }
                ),
                (0.0f64..100.0, r, 1..1_000 * SEC, 1..1_000 * SEC).prop_map(|(b, u, mb, mu)| {
                    ArrivalSpec::Mmpp {
                        base_rate_per_s: b,
                        burst_rate_per_s: u,
                        mean_base: mb,
                        mean_burst: mu,
                    }
                }),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]
            /// Arrivals never go back in time, and a clone of a generator (as each replication
            /// gets) replays the same sequence from the same stream.
            #[test]
            fn arrivals_move_forward_and_replay_exactly(spec in spec(), seed in any::<u64>(), start in 0..DAY) {
                let mut a = ArrivalState::new(&spec).unwrap();
                let mut b = a.clone();
                let (mut ra, mut rb) = (RandomStream::from_seed(seed), RandomStream::from_seed(seed));
                let (mut now_a, mut now_b) = (start, start);
                for _ in 0..200 {
                    let x = a.next_arrival(now_a, &mut ra).unwrap();
                    let y = b.next_arrival(now_b, &mut rb).unwrap();
                    prop_assert!(x >= now_a);
                    prop_assert_eq!(x, y);
                    (now_a, now_b) = (x, y);
                }
            }
        }
    }
}
