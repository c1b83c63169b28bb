//! The scenario file format: serde types, loading TOML and JSON with precise error positions,
//! `--set` overrides, validation, built-in examples, and building a `models` world.

pub mod balance_schema;
pub mod build;
pub mod builtin_data;
pub mod chaos_schema;
pub mod error;
pub mod examples;
pub mod gpu_schema;
pub mod load;
pub mod locate;
pub mod overrides;
pub mod resilience_schema;
pub mod schema;
pub mod slo_schema;
pub mod sweep;
pub mod values;

pub use error::ScenarioError;
pub use load::{Format, Loaded, Source, canonical_json, load};
pub use overrides::Override;
pub use schema::Scenario;
