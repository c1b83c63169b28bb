//! Why a replication stops before its horizon: its virtual time stopped advancing
//! ([`Stalled`]), or its calls in flight outgrew the memory limit ([`Overgrown`]).

use sim_core::Time;

/// Events at one instant of virtual time beyond which a run counts as stalled. No scenario
/// that makes progress comes near it (a burst of a million simultaneous arrivals is a few million
/// events); a zero-delay retry loop passes it in about a second.
pub const STALL_LIMIT: u64 = 10_000_000;

/// A replication whose virtual time stopped advancing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stalled {
    /// The instant the clock stuck at.
    pub at: Time,
    /// Events processed at that instant.
    pub events: u64,
    /// What the last of them was, by kind and the entities it concerns.
    pub last: String,
}

impl std::fmt::Display for Stalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hint = if self.last.starts_with("an arrival") {
            "arrivals come closer together than a nanosecond, the clock's resolution (a rate \
             of billions a second, or a burst process whose gaps round to zero); lower the \
             rate or the burstiness"
        } else {
            "usually a call that fails at once and is retried at once (a zero service or error \
             latency with backoff `none` or a zero base, and unlimited attempts); give it a \
             latency, a backoff or an attempt limit"
        };
        write!(
            f,
            "virtual time stopped advancing at {}: {} events at that instant, the last {}. \
             Something repeats without taking time: {hint}",
            sim_core::time::format_duration(self.at),
            self.events,
            self.last
        )
    }
}

impl std::error::Error for Stalled {}

/// A replication whose calls in flight passed [`crate::config::WorldConfig::max_in_flight`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overgrown {
    pub at: Time,
    pub in_flight: u64,
    pub limit: u64,
}

impl std::fmt::Display for Overgrown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} calls were in flight at {} (the limit is {}, about {} MiB at {} bytes per \
             call, from the memory limit): the system is overloaded and its queue keeps \
             growing. Bound the queue (gateway.queue_capacity, a queue_timeout or admission), \
             lower the load, or raise the limit with --max-memory",
            self.in_flight,
            sim_core::time::format_duration(self.at),
            self.limit,
            self.limit.saturating_mul(crate::footprint::BYTES_PER_CALL) >> 20,
            crate::footprint::BYTES_PER_CALL
        )
    }
}

/// Why a replication stopped before its horizon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAborted {
    Stalled(Stalled),
    Overgrown(Overgrown),
}

impl std::fmt::Display for RunAborted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunAborted::Stalled(s) => s.fmt(f),
            RunAborted::Overgrown(o) => o.fmt(f),
        }
    }
}

impl std::error::Error for RunAborted {}
