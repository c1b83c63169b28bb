//! The library's one error type: bad input (a scenario, an override, an option) or a run that
//! failed. The command line maps them to exit codes 2 and 1.

/// Why a library call failed. The message names the place (file:line:col and key path for a
/// scenario) and what was expected, as the command line prints it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The scenario, an override or an option is not valid.
    #[error("{0}")]
    Input(String),
    /// The simulation itself failed (virtual time stopped advancing, or calls in flight grew
    /// past their bound).
    #[error("{0}")]
    Run(String),
}
