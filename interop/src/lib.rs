//! Reading the configs people already run and writing what their monitoring deploys:
//! LiteLLM proxy/router configs and OpenSLO / sloth SLO specs become scenario TOML
//! ([`litellm`], [`openslo`]); a scenario's SLOs become Prometheus recording and multi-window
//! burn-rate alerting rules ([`prometheus`]). YAML is read into a tree that keeps every value's
//! line and column ([`yaml`]), so every error names `file:line:col` and the key path.

pub mod litellm;
pub mod openslo;
pub mod prometheus;
pub mod toml_out;
pub mod yaml;

pub use yaml::ImportError;

/// What an import produced: the scenario text and what it could not map, each warning naming
/// its place and key.
#[derive(Debug, Clone)]
pub struct Imported {
    pub toml: String,
    pub warnings: Vec<String>,
}
