//! Load balancing across a model group's deployments: which backend of a route serves the next
//! call, after the LiteLLM router's strategies (`litellm/router_strategy/*.py`).
//!
//! The world tells the balancer which members may be picked (not cooling down, breaker not
//! open) and how many calls each has in flight; the balancer answers with a member index and
//! keeps what it has seen of each member (latencies, this minute's usage). Ties and weighted
//! picks draw from the route's own stream, so adding balancing to one route moves no other
//! draw.
//!
//! - **simple shuffle** (LiteLLM's default): a random healthy deployment, weighted by `weight`
//!   (the importer turns LiteLLM's `weight`, else `rpm`, else `tpm` into these weights, as
//!   `simple_shuffle.py` does); all weights zero means uniform.
//! - **least busy** (`least_busy.py`): the healthy deployment with the fewest calls in flight;
//!   ties go to the first in the route's order, as LiteLLM's dict order does.
//! - **latency based** (`lowest_latency.py`): the lowest mean of the last `samples` (10)
//!   latencies, each divided by the answer's output tokens as LiteLLM does when usage is known;
//!   an attempt that timed out counts as 1000 s, a deployment never answered as 0 (so it is
//!   tried). Deployments over their `rpm` / `tpm` this minute are skipped; a random one among
//!   those within `buffer` × the lowest mean is picked (LiteLLM's `lowest_latency_buffer`).
//!   LiteLLM's list update keeps the first nine samples and overwrites the tenth; here the list
//!   is the last `samples`, which is what its docs describe.
//! - **usage based** (`lowest_tpm_rpm_v2.py`): the deployment with the fewest tokens used this
//!   minute (total tokens of answered calls) among those whose next call stays within its
//!   `tpm` and `rpm`; requests count when sent, tokens when answered; ties at random. Minutes
//!   are whole minutes of virtual time, as LiteLLM's are of the wall clock.
//!
//! When no member qualifies the balancer answers `None` and the caller sends the call to the
//! route's own backend, whose cooldown or breaker then moves it down the fallback chain.

use crate::{PolicyError, PolicyErrorKind};
use sim_core::{NANOS_PER_SEC, RandomStream, Time};

/// LiteLLM's `max_latency_list_size`.
pub const DEFAULT_SAMPLES: usize = 10;
/// The latency, in seconds, LiteLLM records for an attempt that timed out.
pub const TIMEOUT_PENALTY_S: f64 = 1000.0;
/// Deployments per balancer at most (the world passes their availability as a bit mask).
pub const MAX_MEMBERS: usize = 64;
const MINUTE: Time = 60 * NANOS_PER_SEC;

/// How a member is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Strategy {
    /// A random member, drawn in proportion to the weights (LiteLLM's default).
    SimpleShuffle,
    /// The member with the fewest calls in flight; ties go to the first listed.
    LeastBusy,
    /// The member with the lowest mean latency per output token over its recent samples.
    LatencyBased {
        /// Pick at random among members whose mean is within `(1 + buffer)` × the lowest
        /// (0: always the lowest).
        buffer: f64,
    },
    /// The member with the fewest tokens this minute, among those within their rpm/tpm.
    UsageBased,
}

/// One deployment of the group, as the router knows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    /// Share under simple shuffle (any non-negative number; only ratios matter).
    pub weight: f64,
    /// Requests per minute the router will send it (latency and usage based).
    pub rpm: Option<u64>,
    /// Tokens per minute the router will send it (latency and usage based).
    pub tpm: Option<u64>,
}

/// What the balancer has seen of one member.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    /// Ring of the last latencies, in seconds (per output token when known).
    latencies: Vec<f64>,
    next: usize,
    minute: u64,
    requests: u64,
    tokens: u64,
}

impl Seen {
    fn roll(&mut self, now: Time) {
        let minute = now / MINUTE;
        if minute != self.minute {
            self.minute = minute;
            self.requests = 0;
            self.tokens = 0;
        }
    }

    fn record(&mut self, value: f64, cap: usize) {
        if self.latencies.len() < cap {
            self.latencies.push(value);
        } else {
            self.latencies[self.next] = value;
            self.next = (self.next + 1) % cap;
        }
    }

    fn mean(&self) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        self.latencies.iter().sum::<f64>() / self.latencies.len() as f64
    }
}

/// One route's balancer.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadBalancer {
    strategy: Strategy,
    members: Vec<Member>,
    seen: Vec<Seen>,
    samples: usize,
    /// Reused for the members that qualify: no allocation per pick.
    scratch: Vec<(f64, usize)>,
}

impl LoadBalancer {
    /// A balancer over `members` (1 to `MAX_MEMBERS`: else `Zero` or `TooLarge` of
    /// `members`); `samples` latencies (at least 1) are kept per member. Weights must be finite
    /// and not negative (`OutOfRange` of `members.weight`), a latency buffer too
    /// (`OutOfRange` of `strategy.buffer`).
    pub fn new(
        strategy: Strategy,
        members: Vec<Member>,
        samples: usize,
    ) -> Result<LoadBalancer, PolicyError> {
        let fail = |param, kind, message: String| {
            Err(PolicyError::new("load balancer", param, kind, message))
        };
        if members.is_empty() || members.len() > MAX_MEMBERS {
            return fail(
                "members",
                if members.is_empty() {
                    PolicyErrorKind::Zero
                } else {
                    PolicyErrorKind::TooLarge
                },
                format!(
                    "a load balancer needs 1 to {MAX_MEMBERS} deployments, found {}",
                    members.len()
                ),
            );
        }
        if samples == 0 {
            return fail(
                "samples",
                PolicyErrorKind::Zero,
                "latency samples must be at least 1".into(),
            );
        }
        if let Some(m) = members
            .iter()
            .find(|m| !m.weight.is_finite() || m.weight < 0.0)
        {
            return fail(
                "members.weight",
                PolicyErrorKind::OutOfRange,
                format!(
                    "weights must be finite and not negative, found {}",
                    m.weight
                ),
            );
        }
        if let Strategy::LatencyBased { buffer } = strategy
            && !(buffer.is_finite() && buffer >= 0.0)
        {
            return fail(
                "strategy.buffer",
                PolicyErrorKind::OutOfRange,
                format!("the latency buffer must be a non-negative number, found {buffer}"),
            );
        }
        let seen = members
            .iter()
            .map(|_| Seen {
                latencies: Vec::with_capacity(samples),
                next: 0,
                minute: 0,
                requests: 0,
                tokens: 0,
            })
            .collect();
        Ok(LoadBalancer {
            strategy,
            scratch: Vec::with_capacity(members.len()),
            members,
            seen,
            samples,
        })
    }

    /// The strategy this balancer picks by.
    pub fn strategy(&self) -> Strategy {
        self.strategy
    }

    /// How many members (deployments) it balances over.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether it has no members (a balancer is never built so; kept for `len`'s sake).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Chooses the member for a call of `input_tokens` at `now`, among those `available`
    /// says may be picked; `in_flight(i)` is member i's calls in flight (least busy). Counts
    /// the request against the chosen member's minute. `None`: no member qualifies.
    pub fn pick(
        &mut self,
        now: Time,
        input_tokens: u64,
        available: impl Fn(usize) -> bool,
        in_flight: impl Fn(usize) -> u32,
        rng: &mut RandomStream,
    ) -> Option<usize> {
        for s in &mut self.seen {
            s.roll(now);
        }
        self.scratch.clear();
        let chosen = match self.strategy {
            Strategy::SimpleShuffle => {
                for (i, m) in self.members.iter().enumerate() {
                    if available(i) {
                        self.scratch.push((m.weight, i));
                    }
                }
                // Every weight zero: uniform. Some weight elsewhere but none among the
                // available: nothing to pick (LiteLLM's weighted draw fails on a zero total).
                if self.members.iter().all(|m| m.weight == 0.0) {
                    uniform(&self.scratch, rng)
                } else {
                    self.scratch.retain(|x| x.0 > 0.0);
                    weighted(&self.scratch, rng)
                }
            }
            Strategy::LeastBusy => (0..self.members.len())
                .filter(|&i| available(i))
                .min_by_key(|&i| (in_flight(i), i)),
            Strategy::LatencyBased { buffer } => {
                for i in 0..self.members.len() {
                    if available(i) && self.within_limits(i, input_tokens) {
                        self.scratch.push((self.seen[i].mean(), i));
                    }
                }
                let lowest = self.scratch.iter().map(|x| x.0).reduce(f64::min);
                lowest.and_then(|low| {
                    let bar = low + buffer * low;
                    self.scratch.retain(|x| x.0 <= bar);
                    uniform(&self.scratch, rng)
                })
            }
            Strategy::UsageBased => {
                for i in 0..self.members.len() {
                    if available(i) && self.within_limits(i, input_tokens) {
                        self.scratch.push((self.seen[i].tokens as f64, i));
                    }
                }
                let lowest = self.scratch.iter().map(|x| x.0).reduce(f64::min);
                lowest.and_then(|low| {
                    self.scratch.retain(|x| x.0 <= low);
                    uniform(&self.scratch, rng)
                })
            }
        };
        if let Some(i) = chosen {
            self.seen[i].requests += 1;
        }
        chosen
    }

    fn within_limits(&self, i: usize, input_tokens: u64) -> bool {
        let (m, s) = (&self.members[i], &self.seen[i]);
        m.tpm
            .is_none_or(|t| s.tokens.saturating_add(input_tokens) <= t)
            && m.rpm.is_none_or(|r| s.requests < r)
    }

    /// Member `i` answered after `latency` with `output_tokens` of `total_tokens`.
    pub fn answered(
        &mut self,
        now: Time,
        i: usize,
        latency: Time,
        output_tokens: u32,
        total_tokens: u64,
    ) {
        let secs = latency as f64 / NANOS_PER_SEC as f64;
        let value = if output_tokens > 0 {
            secs / output_tokens as f64
        } else {
            secs
        };
        let s = &mut self.seen[i];
        s.roll(now);
        s.tokens = s.tokens.saturating_add(total_tokens);
        s.record(value, self.samples);
    }

    /// An attempt at member `i` timed out: LiteLLM's 1000 s penalty.
    pub fn timed_out(&mut self, i: usize) {
        self.seen[i].record(TIMEOUT_PENALTY_S, self.samples);
    }

    /// The mean latency the balancer holds for member `i` (0 before any answer).
    pub fn mean_latency(&self, i: usize) -> f64 {
        self.seen[i].mean()
    }
}

/// A weighted draw over `(weight, index)`; all-zero weights draw uniformly.
fn weighted(items: &[(f64, usize)], rng: &mut RandomStream) -> Option<usize> {
    let total: f64 = items.iter().map(|x| x.0).sum();
    if total.is_nan() || total <= 0.0 {
        return uniform(items, rng);
    }
    let mut u = rng.next_f64() * total;
    for &(w, i) in items {
        if u < w {
            return Some(i);
        }
        u -= w;
    }
    // Rounding left `u` at the total: the last member with weight.
    items.iter().rev().find(|x| x.0 > 0.0).map(|x| x.1)
}

/// A uniform draw; no draw when there is one candidate or none.
fn uniform(items: &[(f64, usize)], rng: &mut RandomStream) -> Option<usize> {
    match items.len() {
        0 => None,
        1 => Some(items[0].1),
        n => Some(items[rng.below(n as u64) as usize].1),
    }
}

#[cfg(test)]
#[path = "load_balance_tests.rs"]
mod tests;
