//! The scenario file format: serde types, loading TOML and JSON with precise error positions,
//! `--set` overrides, validation, built-in examples, and building a `models` world.

pub mod build;
pub mod build_error;
pub mod builtin_data;
pub mod calibration;
pub mod dists;
pub mod error;
pub mod examples;
pub mod json_schema;
pub mod load;
pub mod locate;
pub mod names;
pub mod overrides;
pub mod schema;
pub mod sections;
pub mod sweep;
pub mod values;

#[cfg(test)]
mod layout_tests;

pub use error::ScenarioError;
pub use json_schema::json_schema;
pub use load::{Format, Loaded, Source, canonical_json, load};
pub use overrides::Override;
pub use schema::Scenario;
