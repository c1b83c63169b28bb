//! How a backend in an outage answers: shared by the configured episodes (`config`) and the
//! faults a chaos experiment injects (`chaos`), so neither module needs the other.

/// What callers of a backend in an outage see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutageMode {
    /// 503 after the error latency.
    ServerError,
    /// 429 with the backend's Retry-After.
    RateLimited,
    /// Refused at once.
    ConnectionRefused,
    /// No answer: the attempt ends at the caller's timeout.
    Hang,
}
