//! The error every section's build returns: the key path of the value at fault and what is
//! wrong with it. A leaf module, so that every section can use it without importing the
//! orchestrator in `build` (which imports the sections).

/// A rule broken by a scenario, at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub path: String,
    pub message: String,
}

/// A [`BuildError`] at `path`; every section builds its errors with this one helper.
pub(crate) fn err(path: impl Into<String>, message: impl Into<String>) -> BuildError {
    BuildError {
        path: path.into(),
        message: message.into(),
    }
}
