//! Random variate generators, written here rather than taken from `rand_distr` so that a
//! dependency release can never change a seeded result. Transcendental functions go through
//! `libm` for the same reason across platforms.
//!
//! Samplers are unit-free: callers decide whether a value is nanoseconds or tokens.

use crate::random::RandomStream;
use libm::{cos, exp, log, pow, sqrt, tgamma};

/// z such that P(Z ≤ z) = 0.99 for a standard normal Z.
pub const Z_99: f64 = 2.326_347_874_040_840_8;

/// Why a distribution's parameters were rejected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct SamplerError(pub String);

fn require(ok: bool, message: impl FnOnce() -> String) -> Result<(), SamplerError> {
    if ok {
        Ok(())
    } else {
        Err(SamplerError(message()))
    }
}

fn positive(name: &str, value: f64) -> Result<(), SamplerError> {
    require(value.is_finite() && value > 0.0, || {
        format!("{name} must be a positive finite number, found {value}")
    })
}

/// A probability distribution on the real line (mostly the non-negative half).
#[derive(Debug, Clone, PartialEq)]
pub enum Sampler {
    /// Always `value`.
    Deterministic {
        /// The single value returned by every draw.
        value: f64,
    },
    /// Exponential with the given mean (rate `1 / mean`); memoryless.
    Exponential {
        /// The mean, also the standard deviation.
        mean: f64,
    },
    /// Uniform on `[low, high)`.
    Uniform {
        /// The smallest value, inclusive.
        low: f64,
        /// The upper bound, exclusive.
        high: f64,
    },
    /// `exp(N(mu, sigma²))`.
    LogNormal {
        /// The mean of the underlying normal: `exp(mu)` is the median.
        mu: f64,
        /// The standard deviation of the underlying normal: the spread on a log scale.
        sigma: f64,
    },
    /// Gamma with density proportional to `x^(shape − 1)·e^(−x / scale)`; mean `shape·scale`.
    Gamma {
        /// The shape k; k = 1 is the exponential, large k is nearly normal.
        shape: f64,
        /// The scale θ, in the unit of the samples.
        scale: f64,
    },
    /// Weibull: `P(X > x) = exp(−(x / scale)^shape)`.
    Weibull {
        /// The shape k; k < 1 gives a heavier tail than the exponential, k = 1 is the exponential.
        shape: f64,
        /// The scale λ, in the unit of the samples: `P(X > λ) = 1/e` whatever the shape.
        scale: f64,
    },
    /// Pareto type I: `P(X > x) = (scale / x)^shape` for `x ≥ scale`.
    Pareto {
        /// The minimum value x_m, in the unit of the samples.
        scale: f64,
        /// The tail index α: the mean is finite only for α > 1, the variance only for α > 2.
        shape: f64,
    },
    /// Two-phase hyperexponential: with probability `p` exponential with `mean1`, else `mean2`.
    HyperExponential {
        /// The probability of the first phase, in [0, 1].
        p: f64,
        /// The mean of the first phase.
        mean1: f64,
        /// The mean of the second phase.
        mean2: f64,
    },
    /// Resampling of observed values, each equally likely.
    Empirical {
        /// The observed values; a value present twice is drawn twice as often.
        values: Box<[f64]>,
    },
}

impl Sampler {
    /// A constant; `value` must be finite and non-negative.
    pub fn deterministic(value: f64) -> Result<Sampler, SamplerError> {
        require(value.is_finite() && value >= 0.0, || {
            format!("value must be a non-negative finite number, found {value}")
        })?;
        Ok(Sampler::Deterministic { value })
    }

    /// The exponential with the given positive, finite mean.
    pub fn exponential(mean: f64) -> Result<Sampler, SamplerError> {
        positive("mean", mean)?;
        Ok(Sampler::Exponential { mean })
    }

    /// The uniform on `[low, high)`; needs finite `0 ≤ low ≤ high`.
    pub fn uniform(low: f64, high: f64) -> Result<Sampler, SamplerError> {
        require(
            low.is_finite() && high.is_finite() && low >= 0.0 && low <= high,
            || format!("uniform needs 0 ≤ low ≤ high, found low = {low}, high = {high}"),
        )?;
        Ok(Sampler::Uniform { low, high })
    }

    /// `exp(N(mu, sigma²))`; needs a finite `mu` and a finite `sigma ≥ 0` (0 is a constant).
    pub fn lognormal(mu: f64, sigma: f64) -> Result<Sampler, SamplerError> {
        require(mu.is_finite(), || format!("mu must be finite, found {mu}"))?;
        require(sigma.is_finite() && sigma >= 0.0, || {
            format!("sigma must be non-negative, found {sigma}")
        })?;
        Ok(Sampler::LogNormal { mu, sigma })
    }

    /// The lognormal with the given median and 99th percentile: the way people describe latency.
    pub fn lognormal_median_p99(median: f64, p99: f64) -> Result<Sampler, SamplerError> {
        positive("median", median)?;
        require(p99.is_finite() && p99 > median, || {
            format!("p99 ({p99}) must be greater than the median ({median})")
        })?;
        Sampler::lognormal(log(median), log(p99 / median) / Z_99)
    }

    /// The gamma with the given shape and scale, both positive and finite.
    pub fn gamma(shape: f64, scale: f64) -> Result<Sampler, SamplerError> {
        positive("shape", shape)?;
        positive("scale", scale)?;
        Ok(Sampler::Gamma { shape, scale })
    }

    /// The Weibull with the given shape and scale, both positive and finite.
    pub fn weibull(shape: f64, scale: f64) -> Result<Sampler, SamplerError> {
        positive("shape", shape)?;
        positive("scale", scale)?;
        Ok(Sampler::Weibull { shape, scale })
    }

    /// The Pareto type I with minimum `scale` and tail index `shape`, both positive and finite (note
    /// the order: scale first).
    pub fn pareto(scale: f64, shape: f64) -> Result<Sampler, SamplerError> {
        positive("scale", scale)?;
        positive("shape", shape)?;
        Ok(Sampler::Pareto { scale, shape })
    }

    /// The balanced-means two-phase hyperexponential with the given mean and squared coefficient
    /// of variation (scv ≥ 1; scv = 1 is the exponential).
    pub fn hyperexponential(mean: f64, scv: f64) -> Result<Sampler, SamplerError> {
        positive("mean", mean)?;
        require(scv.is_finite() && scv >= 1.0, || {
            format!("scv (squared coefficient of variation) must be at least 1, found {scv}")
        })?;
        let p = 0.5 * (1.0 + sqrt((scv - 1.0) / (scv + 1.0)));
        Ok(Sampler::HyperExponential {
            p,
            mean1: mean / (2.0 * p),
            mean2: mean / (2.0 * (1.0 - p)),
        })
    }

    /// Resampling of `values`: at least one, each finite and non-negative.
    pub fn empirical(values: Vec<f64>) -> Result<Sampler, SamplerError> {
        require(!values.is_empty(), || {
            "empirical needs at least one value".to_string()
        })?;
        if let Some(bad) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(SamplerError(format!(
                "empirical values must be non-negative finite numbers, found {bad}"
            )));
        }
        Ok(Sampler::Empirical {
            values: values.into_boxed_slice(),
        })
    }

    /// Draws one value.
    #[inline]
    pub fn sample(&self, rng: &mut RandomStream) -> f64 {
        match self {
            Sampler::Deterministic { value } => *value,
            Sampler::Exponential { mean } => -mean * log(rng.next_open01()),
            Sampler::Uniform { low, high } => rng.uniform(*low, *high),
            Sampler::LogNormal { mu, sigma } => exp(mu + sigma * standard_normal(rng)),
            Sampler::Gamma { shape, scale } => scale * standard_gamma(*shape, rng),
            Sampler::Weibull { shape, scale } => scale * pow(-log(rng.next_open01()), 1.0 / shape),
            Sampler::Pareto { scale, shape } => scale / pow(rng.next_open01(), 1.0 / shape),
            Sampler::HyperExponential { p, mean1, mean2 } => {
                let mean = if rng.bernoulli(*p) { mean1 } else { mean2 };
                -mean * log(rng.next_open01())
            }
            Sampler::Empirical { values } => values[rng.below(values.len() as u64) as usize],
        }
    }

    /// The distribution's median (for a gamma, the Wilson–Hilferty approximation, within a
    /// few percent; used for warnings, never for sampling).
    pub fn median(&self) -> f64 {
        match self {
            Sampler::Deterministic { value } => *value,
            Sampler::Exponential { mean } => mean * core::f64::consts::LN_2,
            Sampler::Uniform { low, high } => 0.5 * (low + high),
            Sampler::LogNormal { mu, .. } => exp(*mu),
            Sampler::Gamma { shape, scale } => {
                let k = 1.0 - 1.0 / (9.0 * shape);
                shape * scale * k * k * k
            }
            Sampler::Weibull { shape, scale } => scale * pow(core::f64::consts::LN_2, 1.0 / shape),
            Sampler::Pareto { scale, shape } => scale * pow(2.0, 1.0 / shape),
            Sampler::HyperExponential { p, mean1, mean2 } => {
                // P(X > x) = p·e^(−x/m1) + (1 − p)·e^(−x/m2) falls from 1 to 0: bisect for ½.
                let tail = |x: f64| p * exp(-x / mean1) + (1.0 - p) * exp(-x / mean2);
                let (mut lo, mut hi) = (0.0, mean1.max(*mean2) * 2.0);
                for _ in 0..100 {
                    let mid = 0.5 * (lo + hi);
                    if tail(mid) > 0.5 {
                        lo = mid;
                    } else {
                        hi = mid;
                    }
                }
                0.5 * (lo + hi)
            }
            Sampler::Empirical { values } => {
                let mut sorted = values.to_vec();
                sorted.sort_by(f64::total_cmp);
                sorted[(sorted.len() - 1) / 2]
            }
        }
    }

    /// The distribution's mean (infinite where it does not exist).
    pub fn mean(&self) -> f64 {
        match self {
            Sampler::Deterministic { value } => *value,
            Sampler::Exponential { mean } => *mean,
            Sampler::Uniform { low, high } => 0.5 * (low + high),
            Sampler::LogNormal { mu, sigma } => exp(mu + 0.5 * sigma * sigma),
            Sampler::Gamma { shape, scale } => shape * scale,
            Sampler::Weibull { shape, scale } => scale * tgamma(1.0 + 1.0 / shape),
            Sampler::Pareto { scale, shape } => {
                if *shape > 1.0 {
                    shape * scale / (shape - 1.0)
                } else {
                    f64::INFINITY
                }
            }
            Sampler::HyperExponential { p, mean1, mean2 } => p * mean1 + (1.0 - p) * mean2,
            Sampler::Empirical { values } => values.iter().sum::<f64>() / values.len() as f64,
        }
    }

    /// The distribution's variance (infinite where it does not exist).
    pub fn variance(&self) -> f64 {
        match self {
            Sampler::Deterministic { .. } => 0.0,
            Sampler::Exponential { mean } => mean * mean,
            Sampler::Uniform { low, high } => (high - low) * (high - low) / 12.0,
            Sampler::LogNormal { mu, sigma } => {
                let s2 = sigma * sigma;
                (exp(s2) - 1.0) * exp(2.0 * mu + s2)
            }
            Sampler::Gamma { shape, scale } => shape * scale * scale,
            Sampler::Weibull { shape, scale } => {
                let g1 = tgamma(1.0 + 1.0 / shape);
                let g2 = tgamma(1.0 + 2.0 / shape);
                scale * scale * (g2 - g1 * g1)
            }
            Sampler::Pareto { scale, shape } => {
                if *shape > 2.0 {
                    scale * scale * shape / ((shape - 1.0) * (shape - 1.0) * (shape - 2.0))
                } else {
                    f64::INFINITY
                }
            }
            Sampler::HyperExponential { p, mean1, mean2 } => {
                let second = 2.0 * (p * mean1 * mean1 + (1.0 - p) * mean2 * mean2);
                let m = self.mean();
                second - m * m
            }
            Sampler::Empirical { values } => {
                let m = self.mean();
                values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / values.len() as f64
            }
        }
    }
}

/// A standard normal variate by the Box–Muller transform (one of the pair is used, so each draw
/// consumes exactly two uniforms and the sampler holds no state).
#[inline]
fn standard_normal(rng: &mut RandomStream) -> f64 {
    let u1 = rng.next_open01();
    let u2 = rng.next_f64();
    sqrt(-2.0 * log(u1)) * cos(2.0 * std::f64::consts::PI * u2)
}

/// Gamma(shape, 1) by Marsaglia and Tsang (2000); shapes below one use the boost
/// `Gamma(a) = Gamma(a + 1) · U^(1/a)`.
fn standard_gamma(shape: f64, rng: &mut RandomStream) -> f64 {
    if shape < 1.0 {
        let u = rng.next_open01();
        return standard_gamma(shape + 1.0, rng) * pow(u, 1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / sqrt(9.0 * d);
    loop {
        let x = standard_normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = rng.next_open01();
        if u < 1.0 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1.0 - v + log(v)) {
            return d * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws `n` values and checks the sample mean and variance against the distribution's own,
    /// within `tol` relative error. The sample sizes make the standard error of each estimate a
    /// small fraction of `tol` for these (finite fourth moment) distributions, and the seed is
    /// fixed, so the test is deterministic.
    fn check_moments(sampler: &Sampler, n: usize, tol: f64) {
        let mut rng = RandomStream::from_seed(2024);
        let mut mean = 0.0;
        let mut m2 = 0.0;
        for i in 0..n {
            let x = sampler.sample(&mut rng);
            let delta = x - mean;
            mean += delta / (i + 1) as f64;
            m2 += delta * (x - mean);
        }
        let var = m2 / (n - 1) as f64;
        let (em, ev) = (sampler.mean(), sampler.variance());
        assert!(
            (mean - em).abs() <= tol * em.abs().max(1e-12),
            "{sampler:?}: mean {mean} vs {em}"
        );
        if ev == 0.0 {
            assert!(var.abs() < 1e-12, "{sampler:?}: variance {var} vs 0");
        } else {
            assert!(
                (var - ev).abs() <= tol * ev,
                "{sampler:?}: variance {var} vs {ev}"
            );
        }
    }

    const N: usize = 400_000;

    #[test]
    fn medians_split_the_draws_in_half() {
        let samplers = [
            Sampler::deterministic(2.0).unwrap(),
            Sampler::exponential(3.0).unwrap(),
            Sampler::uniform(1.0, 5.0).unwrap(),
            Sampler::lognormal(0.5, 1.2).unwrap(),
            Sampler::gamma(2.5, 1.5).unwrap(),
            Sampler::weibull(1.7, 2.0).unwrap(),
            Sampler::pareto(1.0, 2.5).unwrap(),
            Sampler::hyperexponential(2.0, 4.0).unwrap(),
            Sampler::empirical(vec![5.0, 1.0, 3.0, 9.0, 7.0]).unwrap(),
        ];
        for s in samplers {
            let median = s.median();
            let mut rng = RandomStream::from_seed(7);
            let n = 100_000;
            let below = (0..n).filter(|_| s.sample(&mut rng) <= median).count() as f64 / n as f64;
            // Half the draws at or below (a point mass or discrete values sit at 1 or above);
            // the gamma's approximation is within a percent of the median's probability.
            assert!(
                below >= 0.49,
                "{s:?}: {below} of draws at or below {median}"
            );
            if !matches!(s, Sampler::Deterministic { .. } | Sampler::Empirical { .. }) {
                assert!(
                    below <= 0.51,
                    "{s:?}: {below} of draws at or below {median}"
                );
            }
        }
    }

    #[test]
    fn deterministic_moments() {
        check_moments(&Sampler::deterministic(3.5).unwrap(), 1000, 1e-12);
    }

    #[test]
    fn exponential_moments() {
        check_moments(&Sampler::exponential(2.0).unwrap(), N, 0.02);
    }

    #[test]
    fn uniform_moments() {
        check_moments(&Sampler::uniform(1.0, 5.0).unwrap(), N, 0.02);
    }

    #[test]
    fn lognormal_moments() {
        check_moments(&Sampler::lognormal(0.5, 0.5).unwrap(), N, 0.03);
    }

    #[test]
    fn lognormal_by_median_and_p99_hits_its_quantiles() {
        let s = Sampler::lognormal_median_p99(0.8, 6.0).unwrap();
        let mut rng = RandomStream::from_seed(5);
        let mut xs: Vec<f64> = (0..200_001).map(|_| s.sample(&mut rng)).collect();
        xs.sort_by(f64::total_cmp);
        let median = xs[100_000];
        let p99 = xs[198_000];
        assert!((median - 0.8).abs() < 0.8 * 0.02, "median {median}");
        assert!((p99 - 6.0).abs() < 6.0 * 0.05, "p99 {p99}");
        check_moments(&s, N, 0.05);
    }

    #[test]
    fn gamma_moments() {
        check_moments(&Sampler::gamma(2.5, 1.5).unwrap(), N, 0.02);
        check_moments(&Sampler::gamma(0.4, 3.0).unwrap(), N, 0.03);
    }

    #[test]
    fn weibull_moments() {
        check_moments(&Sampler::weibull(1.5, 2.0).unwrap(), N, 0.02);
        check_moments(&Sampler::weibull(0.8, 1.0).unwrap(), N, 0.04);
    }

    #[test]
    fn pareto_moments() {
        // Shape 5 keeps the fourth moment finite, so the sample variance converges.
        check_moments(&Sampler::pareto(1.0, 5.0).unwrap(), N, 0.03);
        assert_eq!(Sampler::pareto(1.0, 1.0).unwrap().mean(), f64::INFINITY);
    }

    #[test]
    fn hyperexponential_moments() {
        let h = Sampler::hyperexponential(1.0, 4.0).unwrap();
        assert!((h.mean() - 1.0).abs() < 1e-12);
        assert!((h.variance() - 4.0).abs() < 1e-9, "scv 4 with mean 1");
        check_moments(&h, N, 0.04);
        let e = Sampler::hyperexponential(2.0, 1.0).unwrap();
        assert!(
            (e.variance() - 4.0).abs() < 1e-9,
            "scv 1 is the exponential"
        );
    }

    #[test]
    fn empirical_moments() {
        check_moments(
            &Sampler::empirical(vec![1.0, 2.0, 2.0, 7.0]).unwrap(),
            N,
            0.02,
        );
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(Sampler::exponential(0.0).is_err());
        assert!(Sampler::exponential(-1.0).is_err());
        assert!(Sampler::exponential(f64::NAN).is_err());
        assert!(Sampler::uniform(5.0, 1.0).is_err());
        assert!(Sampler::lognormal_median_p99(1.0, 0.5).is_err());
        assert!(Sampler::hyperexponential(1.0, 0.5).is_err());
        assert!(Sampler::empirical(vec![]).is_err());
        assert!(Sampler::gamma(0.0, 1.0).is_err());
    }
}
