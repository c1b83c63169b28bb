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

/// A policy's error at the key its parameter came from. `keys` maps each parameter the policy
/// names ([`policies::PolicyError::param`]) to its key under `path`; a parameter with no key of
/// its own (one the scenario derives, or a rule about the policy as a whole) points at `path`.
/// The message is the policy's own.
pub(crate) fn policy_err(
    path: &str,
    keys: &[(&str, &str)],
    e: policies::PolicyError,
) -> BuildError {
    let path = match keys.iter().find(|(param, _)| *param == e.param) {
        Some((_, key)) if !key.is_empty() => format!("{path}.{key}"),
        _ => path.to_string(),
    };
    BuildError {
        path,
        message: e.message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policies::{PolicyError, PolicyErrorKind};

    #[test]
    fn a_policy_error_lands_at_the_key_of_its_parameter() {
        let e = |param| PolicyError::new("p", param, PolicyErrorKind::Zero, "must be positive");
        let keys = [("window", "window_size"), ("cap", "")];
        assert_eq!(
            policy_err("b.breaker", &keys, e("window")),
            err("b.breaker.window_size", "must be positive")
        );
        assert_eq!(
            policy_err("b.breaker", &keys, e("cap")),
            err("b.breaker", "must be positive"),
            "an empty key means the policy's own path"
        );
        assert_eq!(
            policy_err("b.breaker", &keys, e("other")),
            err("b.breaker", "must be positive"),
            "an unmapped parameter points at the policy"
        );
    }
}
