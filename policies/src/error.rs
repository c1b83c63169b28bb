//! Why a policy cannot be built from its parameters.
//!
//! Every constructor and validator in this crate answers a [`PolicyError`]: the policy, the
//! parameter at fault (named as the policy's constructor or configuration names it), the kind of
//! rule it broke ([`PolicyErrorKind`]) and the rule in words. A caller that reads parameters from
//! a file (`scenarios`) maps the parameter to the key it came from, and shows the message there;
//! it never has to read the message to find out which value was wrong.

use std::fmt;

/// The kind of rule a parameter broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyErrorKind {
    /// A count, size or duration that must be positive is zero, or a list that must hold
    /// something is empty.
    Zero,
    /// A number lies outside the interval it must lie in (a rate threshold outside (0, 1], a
    /// multiplier below 1, a factor or budget beyond its bound, a negative or non-finite weight).
    OutOfRange,
    /// Two parameters are in the wrong order: the one at fault must be shorter or smaller than
    /// another (a short window longer than the long one, a cap below its base, an attempt
    /// timeout not shorter than the deadline).
    OutOfOrder,
    /// A size beyond what the policy can hold in bounded memory (buckets, slots, members).
    TooLarge,
    /// A duration that must be a whole number of another duration is not.
    NotMultiple,
    /// A name the policy's vocabulary does not have.
    Unknown,
}

/// A policy's parameters broke one of its rules: which policy, which parameter, which kind of
/// rule, and the rule in words (the message a scenario error shows, at the key the scenario gave
/// the parameter in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The policy, as its constructor names it (`"circuit breaker"`, `"token bucket"`, ...).
    pub policy: &'static str,
    /// The parameter at fault, as the policy's constructor or configuration names it
    /// (`"window"`, `"capacity"`, `"short"`, ...).
    pub param: &'static str,
    /// The kind of rule the parameter broke.
    pub kind: PolicyErrorKind,
    /// The rule that failed, with the value that broke it.
    pub message: String,
}

impl PolicyError {
    /// Parameter `param` of `policy` broke a rule of kind `kind`; `message` says which.
    pub fn new(
        policy: &'static str,
        param: &'static str,
        kind: PolicyErrorKind,
        message: impl Into<String>,
    ) -> PolicyError {
        PolicyError {
            policy,
            param,
            kind,
            message: message.into(),
        }
    }

    /// The same error with `prefix` before its message (a rule's name, an experiment's).
    pub fn prefixed(mut self, prefix: &str) -> PolicyError {
        self.message = format!("{prefix}{}", self.message);
        self
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
    fn an_error_reads_as_its_rule_and_names_its_policy_and_parameter() {
        let e = PolicyError::new(
            "token bucket",
            "capacity",
            PolicyErrorKind::Zero,
            "token bucket capacity must be at least 1",
        );
        assert_eq!(e.to_string(), "token bucket capacity must be at least 1");
        assert_eq!(e.policy, "token bucket");
        assert_eq!(e.param, "capacity");
        assert_eq!(e.kind, PolicyErrorKind::Zero);
        let dynamic: &dyn std::error::Error = &e;
        assert!(dynamic.source().is_none());
        let p = e.clone().prefixed("rule `x`: ");
        assert_eq!(
            p.message,
            "rule `x`: token bucket capacity must be at least 1"
        );
        assert_eq!((p.policy, p.param, p.kind), (e.policy, e.param, e.kind));
        assert_eq!(String::from(e), "token bucket capacity must be at least 1");
    }
}
