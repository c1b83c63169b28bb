//! The world as `models` runs it: names resolved to indices, units to nanoseconds, every value
//! validated. `scenarios` builds this from a scenario file; tests and benchmarks may build it
//! directly.

use policies::RetryPolicy;
use sim_core::{Rate, Sampler, Time};

/// Index of a tenant in [`WorldConfig::tenants`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(pub u16);

/// Index of a backend in [`WorldConfig::backends`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BackendId(pub u16);

#[derive(Debug, Clone, PartialEq)]
pub struct WorldConfig {
    /// Virtual time at which the run stops.
    pub horizon: Time,
    /// Statistics before this time are discarded (steady-state studies).
    pub warmup: Time,
    pub tenants: Vec<TenantConfig>,
    pub backends: Vec<BackendConfig>,
    pub gateway: GatewayConfig,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TenantConfig {
    /// The tenant's name in the scenario: it keys the tenant's random streams.
    pub name: String,
    pub arrivals: ArrivalProcess,
    /// The backend every call of this tenant goes to.
    pub backend: BackendId,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ArrivalProcess {
    Poisson { rate: Rate },
}

#[derive(Debug, Clone, PartialEq)]
pub struct BackendConfig {
    pub name: String,
    /// Calls served at once; more wait in the gateway queue.
    pub concurrency: u32,
    /// Service time of one attempt, in nanoseconds.
    pub service: Sampler,
    /// Probability that a finished attempt fails, independently of everything else.
    pub failure_probability: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GatewayConfig {
    /// Calls that may wait for each backend; `None` is unbounded, `Some(0)` is a pure loss system.
    pub queue_capacity: Option<u32>,
    pub retry: RetryPolicy,
    /// Per-attempt timeout, counted from the start of service.
    pub attempt_timeout: Option<Time>,
}
