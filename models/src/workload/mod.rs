//! Workloads: when a tenant's jobs arrive and how big they are.
//!
//! - [`arrivals`]: arrival processes (Poisson, Gamma renewal, diurnal, two-state MMPP bursts,
//!   trace replay) behind one per-replication generator, [`ArrivalState`].
//! - [`trace`]: real request traces (Azure LLM inference CSV, Mooncake JSONL) parsed once into a
//!   compact [`Trace`] shared read-only across replications, and their replay.
//! - [`shapes`]: a tenant's request shape: prompt and output token counts (from a sampler or the
//!   trace), priority and route.
//!
//! How the world uses them, per tenant and replication:
//!
//! ```text
//! build:   spec.validate()?; shape.validate(&spec)?;             // once, with the scenario
//! start:   let mut arrivals = ArrivalState::new(&spec)?;           // per replication
//!          let mut rng = streams.stream("tenants.NAME", "arrivals");
//!          let mut tokens_rng = streams.stream("tenants.NAME", "tokens");
//!          if let Some(a) = arrivals.next(0, &mut rng) { schedule(a.at, Arrival { tenant }) }
//! arrival: let a = /* the arrival just popped, kept in the tenant's state */;
//!          let tokens = shape.tokens(&a, &mut tokens_rng);
//!          if let Some(n) = arrivals.next(now, &mut rng) { schedule(n.at, Arrival { tenant }) }
//! ```
//!
//! Everything is integer nanoseconds; every draw comes from the stream passed in; nothing
//! allocates per arrival.

pub mod arrivals;
pub mod shapes;
pub mod shared_prefix;
pub mod trace;

pub use arrivals::{Arrival, ArrivalSpec, ArrivalState, DAY, DiurnalProfile, HOUR};
pub use shapes::{RequestShape, RequestTokens, TokenSource, token_count};
pub use shared_prefix::SharedPrefix;
pub use trace::TraceTokens;
pub use trace::{
    ReplayOptions, ReplayState, TimeScale, Trace, TraceArrival, TraceError, TraceErrorKind,
    TraceFormat,
};

/// A workload setting that cannot be used, naming the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct WorkloadError {
    pub field: &'static str,
    pub message: String,
}

impl WorkloadError {
    pub(crate) fn new(field: &'static str, message: impl Into<String>) -> WorkloadError {
        WorkloadError {
            field,
            message: message.into(),
        }
    }
}
