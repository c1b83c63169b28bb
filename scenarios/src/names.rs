//! Names in a scenario: the rule every tenant, backend and route name follows, and looking a
//! backend up by name with an error that lists the names there are.

use crate::build_error::{BuildError, err};
use std::collections::BTreeMap;

/// A name keys random streams and `--set` paths, so it must be non-empty and addressable.
pub(crate) fn check_name(name: &str, path: &str) -> Result<(), BuildError> {
    if name.trim().is_empty() {
        return Err(err(path, "names must not be empty"));
    }
    if name.contains('.') || name.contains('=') || name.contains(',') {
        return Err(err(
            path,
            format!("`{name}` contains `.`, `=` or `,`, which `--set` paths cannot address"),
        ));
    }
    Ok(())
}

/// The index of the backend named `name`, or an error at `path` listing the backends.
pub(crate) fn find_backend(
    ids: &BTreeMap<&str, usize>,
    name: &str,
    path: &str,
) -> Result<usize, BuildError> {
    ids.get(name).copied().ok_or_else(|| {
        err(
            path,
            format!(
                "no backend is named `{name}`; the backends are: {}",
                ids.keys().copied().collect::<Vec<_>>().join(", ")
            ),
        )
    })
}
