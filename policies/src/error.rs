//! Why a policy cannot be built from its parameters.

use std::fmt;

/// A policy's parameters broke one of its rules: which policy, and the rule in words (the
/// message a scenario error shows, at the key the scenario gave the parameter in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The policy, as its constructor names it (`"circuit breaker"`, `"token bucket"`, ...).
    pub policy: &'static str,
    /// The rule that failed, with the value that broke it.
    pub message: String,
}

impl PolicyError {
    /// An error of `policy`: `message` says which rule failed.
    pub fn new(policy: &'static str, message: impl Into<String>) -> PolicyError {
        PolicyError {
            policy,
            message: message.into(),
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// The message alone, for callers that report errors as text at a key of their own.
impl From<PolicyError> for String {
    fn from(e: PolicyError) -> String {
        e.message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_reads_as_its_rule_and_names_its_policy() {
        let e = PolicyError::new("token bucket", "token bucket capacity must be at least 1");
        assert_eq!(e.to_string(), "token bucket capacity must be at least 1");
        assert_eq!(e.policy, "token bucket");
        let dynamic: &dyn std::error::Error = &e;
        assert!(dynamic.source().is_none());
        assert_eq!(String::from(e), "token bucket capacity must be at least 1");
    }
}
