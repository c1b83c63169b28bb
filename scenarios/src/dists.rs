//! Distributions a scenario draws from: token counts ([`TokenDist`]) and durations
//! ([`DurationDist`]), and their conversion to `sim_core` samplers. A leaf module: tenants,
//! backends, routes and GPU pools all use it, and it uses none of them.

use crate::values::{Duration, Positive};
use serde::{Deserialize, Serialize};
use sim_core::Sampler;

/// A distribution of token counts, chosen by `dist`. Draws are rounded to whole tokens, at
/// least 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum TokenDist {
    Fixed {
        value: u32,
    },
    Uniform {
        low: u32,
        high: u32,
    },
    Exponential {
        mean: Positive,
    },
    /// Lognormal given by its median and 99th percentile, as token lengths are usually described.
    Lognormal {
        median: Positive,
        p99: Positive,
    },
    Gamma {
        shape: Positive,
        mean: Positive,
    },
    /// Each listed value equally likely.
    Empirical {
        values: Vec<u32>,
    },
}

/// A distribution of durations, chosen by `dist`; every parameter with a unit is a duration
/// string.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum DurationDist {
    Deterministic {
        value: Duration,
    },
    Exponential {
        mean: Duration,
    },
    Uniform {
        low: Duration,
        high: Duration,
    },
    /// Lognormal given by its median and 99th percentile (how latency is usually described).
    Lognormal {
        median: Duration,
        p99: Duration,
    },
    /// Lognormal given by the mean `mu` and standard deviation `sigma` of ln(seconds).
    LognormalParams {
        mu: f64,
        sigma: f64,
    },
    Gamma {
        shape: Positive,
        mean: Duration,
    },
    Weibull {
        shape: Positive,
        scale: Duration,
    },
    /// Pareto type I: minimum `scale`, tail index `shape`.
    Pareto {
        shape: Positive,
        scale: Duration,
    },
    /// Two-phase hyperexponential with balanced means: `mean` and squared coefficient of
    /// variation `scv` (≥ 1).
    Hyperexponential {
        mean: Duration,
        scv: Positive,
    },
    /// Each listed value equally likely.
    Empirical {
        values: Vec<Duration>,
    },
}

/// A sampler of token counts (the world rounds draws and keeps them at 1 or more).
pub(crate) fn token_sampler(d: &TokenDist) -> Result<Sampler, String> {
    let sampler = match d {
        TokenDist::Fixed { value } => Sampler::deterministic(*value as f64),
        TokenDist::Uniform { low, high } if low > high => {
            return Err(format!("low ({low}) must not exceed high ({high})"));
        }
        // Every whole count from low to high equally likely once the world rounds the draw.
        TokenDist::Uniform { low, high } => {
            Sampler::uniform((*low as f64 - 0.5).max(0.0), *high as f64 + 0.5)
        }
        TokenDist::Exponential { mean } => Sampler::exponential(mean.0),
        TokenDist::Lognormal { median, p99 } if p99.0 <= median.0 => {
            return Err(format!(
                "p99 ({}) must be greater than the median ({})",
                p99.0, median.0
            ));
        }
        TokenDist::Lognormal { median, p99 } => Sampler::lognormal_median_p99(median.0, p99.0),
        TokenDist::Gamma { shape, mean } => Sampler::gamma(shape.0, mean.0 / shape.0),
        TokenDist::Empirical { values } => {
            Sampler::empirical(values.iter().map(|&v| v as f64).collect())
        }
    };
    sampler.map_err(|e| e.0)
}

/// The longest median a `lognormal_params` duration may have: a century, in seconds.
const MAX_MEDIAN_S: f64 = 100.0 * 365.25 * 86_400.0;

/// A sampler of nanoseconds. The rules between parameters are checked here, in durations
/// rather than nanoseconds, so the message speaks the scenario's units.
pub(crate) fn duration_sampler(d: &DurationDist) -> Result<Sampler, String> {
    use sim_core::time::format_duration as show;
    let ns = |d: &Duration| d.0 as f64;
    // Rules between duration parameters, stated in durations rather than nanoseconds.
    match d {
        DurationDist::Exponential { mean: v }
        | DurationDist::Gamma { mean: v, .. }
        | DurationDist::Hyperexponential { mean: v, .. }
        | DurationDist::Weibull { scale: v, .. }
        | DurationDist::Pareto { scale: v, .. }
        | DurationDist::Lognormal { median: v, .. }
            if v.0 == 0 =>
        {
            return Err("this distribution's mean, median or scale must be longer than 0s".into());
        }
        DurationDist::Lognormal { median, p99 } if p99 <= median => {
            return Err(format!(
                "p99 ({}) must be greater than the median ({})",
                show(p99.0),
                show(median.0)
            ));
        }
        DurationDist::Uniform { low, high } if low > high => {
            return Err(format!(
                "low ({}) must not exceed high ({})",
                show(low.0),
                show(high.0)
            ));
        }
        // e^mu seconds is the median: past a century no call would ever finish in any horizon
        // (and past about 700 it is not even a finite number).
        DurationDist::LognormalParams { mu, .. }
            if mu.is_nan() || *mu > libm::log(MAX_MEDIAN_S) =>
        {
            return Err(format!(
                "mu = {mu:e} puts the median at e^mu seconds, longer than a century of virtual \
                 time (mu must be at most {:.2}); no call would ever finish",
                libm::log(MAX_MEDIAN_S)
            ));
        }
        _ => {}
    }
    let sampler = match d {
        DurationDist::Deterministic { value } => Sampler::deterministic(ns(value)),
        DurationDist::Exponential { mean } => Sampler::exponential(ns(mean)),
        DurationDist::Uniform { low, high } => Sampler::uniform(ns(low), ns(high)),
        DurationDist::Lognormal { median, p99 } => {
            Sampler::lognormal_median_p99(ns(median), ns(p99))
        }
        DurationDist::LognormalParams { mu, sigma } => {
            // mu and sigma describe ln(seconds); shift to ln(nanoseconds).
            Sampler::lognormal(mu + libm::log(1e9), *sigma)
        }
        DurationDist::Gamma { shape, mean } => Sampler::gamma(shape.0, ns(mean) / shape.0),
        DurationDist::Weibull { shape, scale } => Sampler::weibull(shape.0, ns(scale)),
        DurationDist::Pareto { shape, scale } => Sampler::pareto(ns(scale), shape.0),
        DurationDist::Hyperexponential { mean, scv } => Sampler::hyperexponential(ns(mean), scv.0),
        DurationDist::Empirical { values } => Sampler::empirical(values.iter().map(ns).collect()),
    };
    sampler.map_err(|e| e.0)
}
