//! The network between the gateway and a backend: a random delay each way, connections refused
//! before anything is sent, and connections reset during a call.
//!
//! The delay travels with the attempt, not with the server: the server's timeline (its slot,
//! its crowding, its service time) is the one it would have with no network, and the attempt's
//! answer reaches the gateway one round trip after the server finished. With a constant one-way
//! delay `d` this is the server's timeline shifted by `d`, so an answer arrives exactly `2d`
//! later and the server's in-service count is unchanged; with a random delay the server sees
//! arrivals in the gateway's order. The caller's timeout and deadline run from the send, so the
//! round trip counts toward them.
//!
//! Each kind of draw has its own named stream (`network` for delays, `network_faults` for
//! refusals and resets), drawn only when the link configures it, so adding a link leaves every
//! other draw of a scenario alone.

use sim_core::{RandomStream, Sampler, Streams, Time};

/// A backend's link as configured: the one-way delay and the two transport failures' rates.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkConfig {
    /// One-way delay in nanoseconds, drawn once per direction per attempt (`None`: none).
    pub delay: Option<Sampler>,
    /// Probability that an attempt's connection is refused before anything is sent.
    pub connect_failure: f64,
    /// Probability that a connection is reset during a call that would have been answered; the
    /// reset comes at a uniform point of its service.
    pub reset: f64,
}

impl LinkConfig {
    /// Whether the link changes anything at all.
    pub fn is_active(&self) -> bool {
        self.delay.is_some() || self.connect_failure > 0.0 || self.reset > 0.0
    }
}

/// A backend's link with its streams.
#[derive(Debug, Clone)]
pub struct Link {
    config: LinkConfig,
    delay_rng: RandomStream,
    faults_rng: RandomStream,
}

impl Link {
    /// A link whose streams are named after `entity` (the backend).
    pub fn new(config: &LinkConfig, streams: &Streams, entity: &str) -> Link {
        Link {
            config: config.clone(),
            delay_rng: streams.stream(entity, "network"),
            faults_rng: streams.stream(entity, "network_faults"),
        }
    }

    /// Whether this attempt's connection is refused (one draw, only with a refusal rate).
    pub fn refused(&mut self) -> bool {
        self.config.connect_failure > 0.0 && self.faults_rng.bernoulli(self.config.connect_failure)
    }

    /// The attempt's round trip: one draw each way (0 without a delay).
    pub fn round_trip(&mut self) -> Time {
        match &self.config.delay {
            None => 0,
            Some(d) => {
                let out = sim_core::time::to_time(d.sample(&mut self.delay_rng));
                let back = sim_core::time::to_time(d.sample(&mut self.delay_rng));
                out.saturating_add(back)
            }
        }
    }

    /// When, into a `service` the server would complete, the connection is reset: `None` for
    /// most calls; else a uniform point of the service (two draws, only with a reset rate).
    pub fn reset_after(&mut self, service: Time) -> Option<Time> {
        if self.config.reset <= 0.0 || !self.faults_rng.bernoulli(self.config.reset) {
            return None;
        }
        let u = self.faults_rng.next_f64();
        Some(sim_core::time::to_time(u * service as f64).min(service))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(delay: Option<f64>, connect_failure: f64, reset: f64) -> Link {
        let config = LinkConfig {
            delay: delay.map(|d| Sampler::deterministic(d).unwrap()),
            connect_failure,
            reset,
        };
        Link::new(&config, &Streams::new(5, 0), "backends.b")
    }

    #[test]
    fn a_constant_delay_is_a_round_trip_of_twice_it() {
        let mut l = link(Some(20e6), 0.0, 0.0);
        for _ in 0..5 {
            assert_eq!(l.round_trip(), 40_000_000);
        }
        assert_eq!(link(None, 0.0, 0.0).round_trip(), 0);
    }

    #[test]
    fn refusals_and_resets_come_at_their_rates() {
        let n = 200_000;
        let mut l = link(None, 0.1, 0.0);
        let refused = (0..n).filter(|_| l.refused()).count() as f64 / n as f64;
        // Binomial standard error sqrt(0.1·0.9/n) ≈ 0.00067: 5 of them.
        assert!((refused - 0.1).abs() < 0.0034, "{refused}");
        let mut l = link(None, 0.0, 0.2);
        let mut resets = 0;
        let mut share = 0.0;
        for _ in 0..n {
            if let Some(at) = l.reset_after(1_000_000) {
                assert!(at <= 1_000_000);
                resets += 1;
                share += at as f64 / 1e6;
            }
        }
        let rate = resets as f64 / n as f64;
        assert!((rate - 0.2).abs() < 0.0045, "{rate}");
        // A uniform point: mean share 1/2, standard error sqrt(1/12 / 40000) ≈ 0.0014.
        let mean = share / resets as f64;
        assert!((mean - 0.5).abs() < 0.007, "{mean}");
    }

    #[test]
    fn a_link_without_rates_never_draws_a_failure() {
        let mut l = link(Some(1.0), 0.0, 0.0);
        for _ in 0..1000 {
            assert!(!l.refused());
            assert_eq!(l.reset_after(5), None);
        }
        assert!(!link(None, 0.0, 0.0).config.is_active());
        assert!(link(None, 0.0, 0.01).config.is_active());
        assert!(link(None, 0.01, 0.0).config.is_active());
        assert!(link(Some(1.0), 0.0, 0.0).config.is_active());
    }
}
