//! The simulated world: tenants and their traffic, the gateway and its policies, backends, and
//! the event loop that ties them together. `models` owns the event enum and its dispatch; the
//! engine underneath (`sim-core`) knows nothing of any of this.

pub mod cache;
pub mod chaos;
pub mod config;
pub mod cost_guard;
pub mod event;
pub mod footprint;
pub mod gpu;
pub mod memory;
pub mod metrics;
pub mod network;
pub mod outage;
pub mod outcome;
pub mod record;
pub mod slo;
pub mod streaming;
pub mod workflow;
pub mod workload;
pub mod world;

pub use config::{
    BackendConfig, BackendId, GatewayConfig, RouteId, TenantConfig, TenantId, WorldConfig,
};
pub use world::{
    Overgrown, RunAborted, RunOutput, STALL_LIMIT, Stalled, World, run_replication,
    run_replication_recorded,
};
