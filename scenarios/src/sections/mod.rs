//! The sections of a scenario file, one module each: its serde types and the code that turns
//! it into `models` configuration. `build::build_world` calls them in order.
//!
//! Imports between sections go one way only: a section may use the types of the sections it
//! embeds (a backend embeds a GPU pool, a breaker and outages; a tenant embeds arrivals), and the
//! leaf modules `build_error`, `dists`, `names` and `values`; no section imports `build` or
//! `schema`.

pub mod arrivals;
pub mod backends;
pub mod balance;
pub mod chaos;
pub mod episodes;
pub mod gateway;
pub mod gpu_pool;
pub mod overload;
pub mod rate_limits;
pub mod report;
pub mod resilience;
pub mod routes;
pub mod slos;
pub mod tenants;
pub mod transport;
pub mod work_queues;
pub mod workflow;
