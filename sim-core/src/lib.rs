//! The engine under faultline: virtual time, the event scheduler, named random streams, samplers,
//! streaming statistics and parallel replications. It knows nothing about LLMs; `models` builds
//! the simulated world on top of it.
#![warn(missing_docs)]

pub mod definitions;
pub mod log_histogram;
pub mod names;
pub mod random;
pub mod replications;
pub mod samplers;
pub mod scheduler;
pub mod series;
pub mod slab;
pub mod stats;
pub mod summary;
pub mod time;

pub use random::{RandomStream, Streams};
pub use samplers::Sampler;
pub use scheduler::Scheduler;
pub use slab::{Key, Slab};
pub use time::{NANOS_PER_SEC, Rate, Time};
