//! Streamed answers that break after their first token.
//!
//! A failure cuts a stream after `k` of its `n` output tokens (`1 ≤ k < n`): the client has seen
//! those `k` and the provider bills them with the prompt. The cut is one event at the moment
//! token `k` is sent, not an event per token. What the retry asks for is the provider's option:
//! `restart` sends the whole call again; `resume` sends the prompt and the `k` tokens already
//! streamed as the new prompt and asks only for the `n − k` still missing (so each output token
//! is billed once, the streamed ones again as input).
//!
//! Where the cut falls is drawn per broken stream: a uniform share of the output (`k` uniform
//! on `1..n`, mean `n/2`), or a distribution over tokens (a drawn position at or past the end
//! means the stream finished first). Draws come from the backend's own `stream_failures`
//! stream, only when the backend configures stream failures.

use crate::workload::token_count;
use sim_core::{RandomStream, Sampler, Streams, Time};

/// Where a broken stream is cut.
#[derive(Debug, Clone, PartialEq)]
pub enum CutPosition {
    /// A uniform share of the output: `k` uniform on `1..n`.
    Uniform,
    /// After a drawn number of tokens; a stream shorter than that finishes.
    Tokens(Sampler),
}

/// What the retry of a broken stream sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRetry {
    /// The whole call again.
    Restart,
    /// The rest: the streamed tokens join the prompt, and only the missing ones are asked for.
    Resume,
}

/// A backend's stream failures as configured.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamFailureConfig {
    /// Probability that a streamed answer breaks.
    pub probability: f64,
    pub position: CutPosition,
    pub retry: StreamRetry,
}

/// A backend's stream failures with their stream.
#[derive(Debug, Clone)]
pub struct StreamFailures {
    pub config: StreamFailureConfig,
    rng: RandomStream,
}

impl StreamFailures {
    pub fn new(config: &StreamFailureConfig, streams: &Streams, entity: &str) -> StreamFailures {
        StreamFailures {
            config: config.clone(),
            rng: streams.stream(entity, "stream_failures"),
        }
    }

    /// Tokens streamed before this answer of `output_tokens` breaks, if it does: one Bernoulli
    /// draw per answer, then (for a broken one) one draw of the position. An answer of one token
    /// cannot break after its first.
    pub fn cut(&mut self, output_tokens: u32) -> Option<u32> {
        if !self.rng.bernoulli(self.config.probability) || output_tokens < 2 {
            return None;
        }
        let k = match &self.config.position {
            CutPosition::Uniform => 1 + self.rng.below(output_tokens as u64 - 1) as u32,
            CutPosition::Tokens(s) => token_count(s.sample(&mut self.rng)),
        };
        (k < output_tokens).then_some(k)
    }
}

/// When, into an answer of `n` tokens whose first comes at `ttft` and whose last at `service`,
/// token `k` is sent: tokens after the first are evenly spaced (the latency model draws one
/// time per output token per attempt). Integer arithmetic, so the cut is exact.
pub fn cut_time(ttft: Time, service: Time, n: u32, k: u32) -> Time {
    if n < 2 {
        return service;
    }
    let rest = service.saturating_sub(ttft) as u128;
    ttft + (rest * (k.saturating_sub(1)) as u128 / (n - 1) as u128) as Time
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(p: f64, position: CutPosition) -> StreamFailures {
        let config = StreamFailureConfig {
            probability: p,
            position,
            retry: StreamRetry::Restart,
        };
        StreamFailures::new(&config, &Streams::new(3, 1), "backends.b")
    }

    #[test]
    fn uniform_cuts_come_at_their_rate_and_average_half_the_output() {
        let mut f = failures(0.25, CutPosition::Uniform);
        let (n, answers) = (101u32, 200_000);
        let mut cuts = 0u64;
        let mut tokens = 0u64;
        for _ in 0..answers {
            if let Some(k) = f.cut(n) {
                assert!((1..n).contains(&k), "{k}");
                cuts += 1;
                tokens += k as u64;
            }
        }
        let rate = cuts as f64 / answers as f64;
        // Binomial standard error sqrt(0.25·0.75/200000) ≈ 0.00097: 5 of them.
        assert!((rate - 0.25).abs() < 0.005, "{rate}");
        // k uniform on 1..=100: mean 50.5, sd 28.9; standard error over 50000 cuts ≈ 0.13.
        let mean = tokens as f64 / cuts as f64;
        assert!((mean - 50.5).abs() < 0.65, "{mean}");
    }

    #[test]
    fn a_one_token_answer_never_breaks_and_a_late_position_finishes() {
        let mut f = failures(1.0, CutPosition::Uniform);
        assert_eq!(f.cut(1), None);
        assert_eq!(f.cut(2), Some(1));
        let mut f = failures(
            1.0,
            CutPosition::Tokens(Sampler::deterministic(10.0).unwrap()),
        );
        assert_eq!(
            f.cut(10),
            None,
            "a cut at the last token is a finished stream"
        );
        assert_eq!(f.cut(11), Some(10));
        let mut never = failures(0.0, CutPosition::Uniform);
        assert!((0..1000).all(|_| never.cut(100).is_none()));
    }

    #[test]
    fn the_cut_time_spaces_tokens_evenly_after_the_first() {
        // First token at 100, last (the 11th) at 1100: a token every 100.
        assert_eq!(cut_time(100, 1100, 11, 1), 100);
        assert_eq!(cut_time(100, 1100, 11, 2), 200);
        assert_eq!(cut_time(100, 1100, 11, 10), 1000);
        assert_eq!(cut_time(100, 1100, 11, 11), 1100);
        assert_eq!(cut_time(7, 9, 1, 1), 9);
        // Rounds down, never past the end.
        assert_eq!(cut_time(0, 10, 4, 2), 3);
    }
}
