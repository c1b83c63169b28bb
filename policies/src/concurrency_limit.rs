//! Adaptive concurrency limits: how many attempts a client lets be in flight to a backend at
//! once, found from what the attempts measure rather than configured. Beyond the limit an
//! attempt is turned away at once (Envoy's adaptive concurrency filter answers 503; Netflix's
//! `SimpleLimiter` rejects), so an overloaded backend sheds load instead of queueing it.
//!
//! Three algorithms, as Netflix's concurrency-limits library has them, each fed one sample per
//! finished attempt: its round-trip time, the attempts in flight when it was sent, and whether
//! it was dropped (rejected for overload, or timed out):
//!
//! - [`LimitConfig::Aimd`] — loss based: a drop (or an RTT beyond `timeout`) multiplies the
//!   limit by `backoff_ratio` (taking at least 1 off); an answer while at least half the limit
//!   was in use adds 1. The TCP Reno sawtooth: against a backend that rejects beyond `C` calls
//!   the limit climbs to `C + 1`, is cut to about `0.9·C`, and climbs again.
//! - [`LimitConfig::Vegas`] — delay based (TCP Vegas): with `rtt_noload` the smallest RTT seen,
//!   the queue the limit builds is `limit·(1 − rtt_noload/rtt)`; the limit grows fast while
//!   that queue is below `log10(limit)`, by `log10(limit)` while it is below `3·log10(limit)`,
//!   and shrinks by `log10(limit)` when it is above `6·log10(limit)` (or on a drop). Against a
//!   backend with `C` slots and a queue behind them, it settles a few calls above `C`. The
//!   library re-probes `rtt_noload` after a jittered `probe_multiplier · limit` samples; here
//!   the jitter is its mean (0.75), so the limiter draws nothing.
//! - [`LimitConfig::Gradient2`] — delay based on averages: `gradient = long_rtt / rtt`
//!   clamped to [0.5, 1] with `long_rtt` an exponential average over `long_window` samples;
//!   `limit ← (1 − smoothing)·limit + smoothing·(gradient·limit + queue_size)`, within
//!   `[min_limit, max_limit]`. Its baseline drifts up with a standing queue (the average
//!   follows the RTT it is compared with), which the library offsets by cutting `long_rtt` by
//!   10% whenever it is over twice the current RTT.
//!
//! All three skip the increase while fewer than half the limit were in flight ("app
//! limited"): a limit nobody tests is not raised. `log10` is libm's.

use crate::{PolicyError, PolicyErrorKind};
use sim_core::Time;

/// An algorithm and its parameters (the library's defaults in brackets on each builder).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LimitConfig {
    /// Additive increase, multiplicative decrease on drops.
    Aimd {
        /// The limit at the start (10).
        initial: u32,
        /// The smallest and largest limit (1; 200 here, unbounded in the library).
        min: u32,
        /// Largest limit.
        max: u32,
        /// Multiplier on a drop, in [0.5, 1) (0.9).
        backoff_ratio: f64,
        /// An RTT beyond this counts as a drop (5 s).
        timeout: Time,
    },
    /// TCP Vegas on the estimated queue.
    Vegas {
        /// The limit at the start (20).
        initial: u32,
        /// Largest limit (1000).
        max: u32,
        /// Weight of a new estimate, in (0, 1] (1).
        smoothing: f64,
        /// Samples, per unit of limit, between probes of the no-load RTT (30).
        probe_multiplier: u32,
    },
    /// Gradient of a long-term average RTT against the latest.
    Gradient2 {
        /// The limit at the start (20).
        initial: u32,
        /// Smallest limit (20).
        min: u32,
        /// Largest limit (200).
        max: u32,
        /// Weight of a new estimate, in (0, 1] (0.2).
        smoothing: f64,
        /// Samples in the long-term average (600).
        long_window: u32,
        /// Calls of queue the limit may grow by while latency is flat (4).
        queue_size: u32,
    },
}

impl LimitConfig {
    /// Checks the parameters; the error names the offending one (`min_limit`, `max_limit`,
    /// `initial_limit`, `backoff_ratio`, `timeout`, `smoothing`, `probe_multiplier`,
    /// `long_window`: the names of the gateway's `concurrency_limit` keys).
    pub fn validate(&self) -> Result<(), PolicyError> {
        let fail = |param, kind, message: String| {
            Err(PolicyError::new("concurrency limit", param, kind, message))
        };
        let bounds = |initial: u32, min: u32, max: u32| {
            if min == 0 {
                return fail(
                    "min_limit",
                    PolicyErrorKind::Zero,
                    "the smallest limit must be at least 1".into(),
                );
            }
            if max < min {
                return fail(
                    "max_limit",
                    PolicyErrorKind::OutOfOrder,
                    format!("the largest limit ({max}) is below the smallest ({min})"),
                );
            }
            if initial < min || initial > max {
                return fail(
                    "initial_limit",
                    PolicyErrorKind::OutOfRange,
                    format!("the initial limit ({initial}) must lie in [{min}, {max}]"),
                );
            }
            Ok(())
        };
        let unit = |name: &'static str, x: f64| {
            if x > 0.0 && x <= 1.0 {
                Ok(())
            } else {
                fail(
                    name,
                    PolicyErrorKind::OutOfRange,
                    format!("{x} must lie in (0, 1]"),
                )
            }
        };
        match *self {
            LimitConfig::Aimd {
                initial,
                min,
                max,
                backoff_ratio,
                timeout,
            } => {
                bounds(initial, min, max)?;
                if !(0.5..1.0).contains(&backoff_ratio) {
                    return fail(
                        "backoff_ratio",
                        PolicyErrorKind::OutOfRange,
                        format!("{backoff_ratio} must lie in [0.5, 1), as the library requires"),
                    );
                }
                if timeout == 0 {
                    return fail(
                        "timeout",
                        PolicyErrorKind::Zero,
                        "a timeout must be longer than 0s".into(),
                    );
                }
                Ok(())
            }
            LimitConfig::Vegas {
                initial,
                max,
                smoothing,
                probe_multiplier,
            } => {
                bounds(initial, 1, max)?;
                unit("smoothing", smoothing)?;
                if probe_multiplier == 0 {
                    return fail(
                        "probe_multiplier",
                        PolicyErrorKind::Zero,
                        "must be at least 1".into(),
                    );
                }
                Ok(())
            }
            LimitConfig::Gradient2 {
                initial,
                min,
                max,
                smoothing,
                long_window,
                ..
            } => {
                bounds(initial, min, max)?;
                unit("smoothing", smoothing)?;
                if long_window == 0 {
                    return fail(
                        "long_window",
                        PolicyErrorKind::Zero,
                        "must be at least 1 sample".into(),
                    );
                }
                Ok(())
            }
        }
    }
}

/// `max(1, ⌊log10 x⌋)`: the library's `Log10RootFunction` floored at 1, so a small limit
/// still moves.
fn log10_step(limit: f64) -> f64 {
    libm::floor(libm::log10(limit.max(1.0))).max(1.0)
}

/// An exponential average that starts as a plain mean over its first `WARMUP` samples (the
/// library's `ExpAvgMeasurement`).
#[derive(Debug, Clone)]
struct ExpAverage {
    value: f64,
    sum: f64,
    count: u32,
    factor: f64,
}

const WARMUP: u32 = 10;

impl ExpAverage {
    fn new(window: u32) -> ExpAverage {
        ExpAverage {
            value: 0.0,
            sum: 0.0,
            count: 0,
            factor: 2.0 / (window as f64 + 1.0),
        }
    }

    fn add(&mut self, x: f64) -> f64 {
        if self.count < WARMUP {
            self.count += 1;
            self.sum += x;
            self.value = self.sum / self.count as f64;
        } else {
            self.value = self.value * (1.0 - self.factor) + x * self.factor;
        }
        self.value
    }
}

#[derive(Debug, Clone)]
enum State {
    Aimd,
    Vegas { rtt_noload: Time, probe_count: u32 },
    Gradient2 { long_rtt: ExpAverage },
}

/// One backend's adaptive concurrency limit.
#[derive(Debug, Clone)]
pub struct ConcurrencyLimit {
    config: LimitConfig,
    limit: f64,
    state: State,
}

impl ConcurrencyLimit {
    /// A limiter at its initial limit; `config` must be valid ([`LimitConfig::validate`]).
    pub fn new(config: LimitConfig) -> ConcurrencyLimit {
        let (initial, state) = match config {
            LimitConfig::Aimd { initial, .. } => (initial, State::Aimd),
            LimitConfig::Vegas { initial, .. } => (
                initial,
                State::Vegas {
                    rtt_noload: 0,
                    probe_count: 0,
                },
            ),
            LimitConfig::Gradient2 {
                initial,
                long_window,
                ..
            } => (
                initial,
                State::Gradient2 {
                    long_rtt: ExpAverage::new(long_window),
                },
            ),
        };
        ConcurrencyLimit {
            config,
            limit: initial as f64,
            state,
        }
    }

    /// Attempts that may be in flight now.
    pub fn limit(&self) -> u32 {
        self.limit as u32
    }

    /// Whether another attempt may go out with `in_flight` already out.
    pub fn allows(&self, in_flight: u32) -> bool {
        in_flight < self.limit()
    }

    /// An attempt finished: it took `rtt`, `in_flight` attempts were out when it was sent (it
    /// included), and `dropped` when it was rejected for overload or timed out. Returns whether
    /// the (whole) limit changed.
    pub fn on_sample(&mut self, rtt: Time, in_flight: u32, dropped: bool) -> bool {
        let before = self.limit();
        let inflight = in_flight as f64;
        match (&mut self.state, self.config) {
            (
                State::Aimd,
                LimitConfig::Aimd {
                    min,
                    max,
                    backoff_ratio,
                    timeout,
                    ..
                },
            ) => {
                let current = self.limit() as f64;
                if dropped || rtt > timeout {
                    let cut = libm::floor(current * backoff_ratio).min(current - 1.0);
                    self.limit = cut.max(min as f64);
                } else if inflight * 2.0 >= current {
                    self.limit = (current + 1.0).min(max as f64);
                }
            }
            (
                State::Vegas {
                    rtt_noload,
                    probe_count,
                },
                LimitConfig::Vegas {
                    max,
                    smoothing,
                    probe_multiplier,
                    ..
                },
            ) => {
                let rtt = rtt.max(1);
                *probe_count += 1;
                // The library probes after a jitter in [0.5, 1) times this; 0.75 is its mean.
                if 0.75 * probe_multiplier as f64 * self.limit <= *probe_count as f64 {
                    *probe_count = 0;
                    *rtt_noload = rtt;
                    return false;
                }
                if *rtt_noload == 0 || rtt < *rtt_noload {
                    *rtt_noload = rtt;
                    return false;
                }
                let limit = self.limit;
                let queue = libm::ceil(limit * (1.0 - *rtt_noload as f64 / rtt as f64));
                let step = log10_step(limit);
                let target = if dropped {
                    limit - step
                } else if inflight * 2.0 < limit {
                    return false;
                } else if queue <= step {
                    limit + 6.0 * step
                } else if queue < 3.0 * step {
                    limit + step
                } else if queue > 6.0 * step {
                    limit - step
                } else {
                    return false;
                };
                let target = target.clamp(1.0, max as f64);
                self.limit = (1.0 - smoothing) * limit + smoothing * target;
            }
            (
                State::Gradient2 { long_rtt },
                LimitConfig::Gradient2 {
                    min,
                    max,
                    smoothing,
                    queue_size,
                    ..
                },
            ) => {
                let short = rtt.max(1) as f64;
                let long = long_rtt.add(short);
                // After a long overload the baseline is far above the present: pull it down
                // (from the next sample on, as the library does).
                if long / short > 2.0 {
                    long_rtt.value *= 0.9;
                }
                let limit = self.limit;
                if inflight < limit / 2.0 {
                    return false;
                }
                let gradient = (long / short).clamp(0.5, 1.0);
                let target = limit * gradient + queue_size as f64;
                let smoothed = limit * (1.0 - smoothing) + target * smoothing;
                self.limit = smoothed.clamp(min as f64, max as f64);
            }
            _ => unreachable!("the state is built from the config"),
        }
        self.limit() != before
    }
}

#[cfg(test)]
#[path = "concurrency_limit_tests.rs"]
mod tests;
