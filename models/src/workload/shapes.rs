//! Request shapes: how big a tenant's requests are and where they go.
//!
//! Token counts come from any `sim_core` [`Sampler`] (rounded to the nearest whole token and
//! clamped to at least 1) or from the replayed trace. Priority and route are plain per-tenant
//! values. Draws come from the tenant's own token stream (e.g. purpose `"tokens"`), separate from
//! its arrivals stream, so changing a token distribution never moves an arrival.

use super::WorkloadError;
use super::arrivals::{Arrival, ArrivalSpec};
use sim_core::{RandomStream, Sampler};

/// Where a token count comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenSource {
    /// Drawn per request, rounded to the nearest whole token, at least 1.
    Sampled(Sampler),
    /// The count recorded in the replayed trace (only with trace arrivals).
    FromTrace,
}

/// A tenant's requests: token counts, priority and route.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestShape {
    pub prompt_tokens: TokenSource,
    pub output_tokens: TokenSource,
    /// Scheduling priority; larger is more important (how it is used is the gateway's business).
    pub priority: u8,
    /// Index of the route (logical model) the tenant's calls go to, in the world's route table.
    pub route: u16,
}

/// Token counts of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestTokens {
    pub prompt: u32,
    pub output: u32,
}

impl RequestShape {
    /// Checks that token counts said to come from the trace have a trace to come from.
    pub fn validate(&self, arrivals: &ArrivalSpec) -> Result<(), WorkloadError> {
        let is_trace = matches!(arrivals, ArrivalSpec::Trace { .. });
        for (field, source) in [
            ("prompt_tokens", &self.prompt_tokens),
            ("output_tokens", &self.output_tokens),
        ] {
            if matches!(source, TokenSource::FromTrace) && !is_trace {
                return Err(WorkloadError::new(
                    field,
                    "\"from trace\" needs trace arrivals; give a distribution instead",
                ));
            }
        }
        Ok(())
    }

    /// The token counts of the request that arrived as `arrival`. Samplers are drawn prompt
    /// first, then output, each only when used. A count said to come from the trace when the
    /// arrival carries none (prevented by [`RequestShape::validate`]) is 1.
    #[inline]
    pub fn tokens(&self, arrival: &Arrival, rng: &mut RandomStream) -> RequestTokens {
        let prompt = match &self.prompt_tokens {
            TokenSource::Sampled(s) => token_count(s.sample(rng)),
            TokenSource::FromTrace => arrival.tokens.map_or(1, |t| t.prompt),
        };
        let output = match &self.output_tokens {
            TokenSource::Sampled(s) => token_count(s.sample(rng)),
            TokenSource::FromTrace => arrival.tokens.map_or(1, |t| t.output),
        };
        RequestTokens { prompt, output }
    }
}

/// A sampled value as a token count: rounded to the nearest whole number, clamped to
/// `[1, u32::MAX]` (NaN counts as 1).
#[inline]
pub fn token_count(x: f64) -> u32 {
    if x.is_nan() || x < 1.5 {
        1
    } else if x >= u32::MAX as f64 {
        u32::MAX
    } else {
        libm::round(x) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::TraceTokens;
    use crate::workload::trace::{ReplayOptions, Trace, TraceArrival};
    use proptest::prelude::*;
    use sim_core::Rate;
    use std::sync::Arc;

    fn shape(prompt: TokenSource, output: TokenSource) -> RequestShape {
        RequestShape {
            prompt_tokens: prompt,
            output_tokens: output,
            priority: 3,
            route: 1,
        }
    }

    #[test]
    fn token_counts_round_and_clamp() {
        assert_eq!(token_count(f64::NAN), 1);
        assert_eq!(token_count(-5.0), 1);
        assert_eq!(token_count(0.0), 1);
        assert_eq!(token_count(1.49), 1);
        assert_eq!(token_count(1.5), 2);
        assert_eq!(token_count(2.5), 3);
        assert_eq!(token_count(1e12), u32::MAX);
        assert_eq!(token_count(f64::INFINITY), u32::MAX);
    }

    #[test]
    fn sampled_tokens_have_the_samplers_mean() {
        let s = shape(
            TokenSource::Sampled(Sampler::lognormal_median_p99(800.0, 6000.0).unwrap()),
            TokenSource::Sampled(Sampler::exponential(200.0).unwrap()),
        );
        let arrival = Arrival {
            at: 0,
            tokens: None,
        };
        let mut rng = RandomStream::from_seed(4);
        let n = 200_000;
        let (mut p, mut o) = (0u64, 0u64);
        for _ in 0..n {
            let t = s.tokens(&arrival, &mut rng);
            assert!(t.prompt >= 1 && t.output >= 1);
            p += u64::from(t.prompt);
            o += u64::from(t.output);
        }
        let (p, o) = (p as f64 / n as f64, o as f64 / n as f64);
        // Lognormal mean exp(μ + σ²/2) ≈ 1,459 (σ ≈ 0.866), sd ≈ 1,500: SE ≈ 3.4 tokens.
        let lognormal_mean = Sampler::lognormal_median_p99(800.0, 6000.0).unwrap().mean();
        assert!((p - lognormal_mean).abs() < 0.02 * lognormal_mean, "{p}");
        // Exponential 200 rounded: mean ≈ 200 (+ P(x < 1.5)·… negligible); SE ≈ 0.45.
        assert!((o - 200.0).abs() < 2.0, "{o}");
    }

    #[test]
    fn trace_tokens_pass_through() {
        let s = shape(
            TokenSource::FromTrace,
            TokenSource::Sampled(Sampler::deterministic(7.0).unwrap()),
        );
        let arrival = Arrival {
            at: 5,
            tokens: Some(TraceTokens {
                prompt: 4808,
                output: 10,
            }),
        };
        let mut rng = RandomStream::from_seed(1);
        assert_eq!(
            s.tokens(&arrival, &mut rng),
            RequestTokens {
                prompt: 4808,
                output: 7
            }
        );
        let trace = ArrivalSpec::Trace {
            trace: Arc::new(Trace {
                source: "x".into(),
                arrivals: vec![TraceArrival {
                    offset: 0,
                    prompt_tokens: 1,
                    output_tokens: 1,
                }],
            }),
            replay: ReplayOptions::default(),
        };
        assert!(s.validate(&trace).is_ok());
        let poisson = ArrivalSpec::Poisson {
            rate: Rate::per_second(1.0).unwrap(),
        };
        let e = s.validate(&poisson).unwrap_err();
        assert_eq!(e.field, "prompt_tokens");
    }

    proptest! {
        #[test]
        fn token_count_is_always_at_least_one(x in any::<f64>()) {
            let n = token_count(x);
            prop_assert!(n >= 1);
            if x.is_finite() && (1.0..4e9).contains(&x) {
                prop_assert!((n as f64 - x).abs() <= 0.5);
            }
        }
    }
}
