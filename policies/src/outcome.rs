//! The policy vocabulary for why an attempt failed.
//!
//! Policies never see the world's provider types; they see an [`ErrorClass`]. The classes are the
//! hard errors an LLM API client actually meets (HTTP statuses, provider overload, transport
//! errors, its own timeout, a prompt longer than the model's context window), because retry and
//! fallback rules are written in those terms ("retry 429 and 5xx, never 400").
//!
//! [`RetryableClasses`] is a set of classes kept as a bitset, so asking "is this retryable?" costs
//! one mask and iteration order is fixed (declaration order), never hash order.

use crate::{PolicyError, PolicyErrorKind};
use std::fmt;
use std::str::FromStr;

/// Why an attempt failed, as far as resilience policies care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorClass {
    /// 429: the provider's rate limit; usually carries Retry-After.
    RateLimited,
    /// 500: internal server error.
    Server500,
    /// 502: bad gateway.
    BadGateway502,
    /// 503: service unavailable.
    Unavailable503,
    /// 504: gateway timeout (the provider's own proxy gave up).
    GatewayTimeout504,
    /// The provider says it is overloaded (Anthropic's 529 `overloaded_error`).
    Overloaded,
    /// The connection broke mid-call.
    ConnectionReset,
    /// No connection could be made.
    ConnectionRefused,
    /// The client's own per-attempt timeout fired.
    AttemptTimeout,
    /// 400: the request is malformed; resending it cannot help.
    BadRequest400,
    /// 401: bad credentials; resending cannot help.
    Unauthorized401,
    /// 413: the request body is too large.
    PayloadTooLarge413,
    /// The prompt does not fit the model's context window (a 400 from most providers, but it is
    /// kept apart because the right reaction is a larger-context model, not giving up).
    ContextOverflow,
    /// A streamed answer broke after its first token (the tokens streamed so far are billed).
    StreamInterrupted,
}

impl ErrorClass {
    /// Every class, in declaration order (which is also the bit order of [`RetryableClasses`]).
    pub const ALL: [ErrorClass; 14] = [
        ErrorClass::RateLimited,
        ErrorClass::Server500,
        ErrorClass::BadGateway502,
        ErrorClass::Unavailable503,
        ErrorClass::GatewayTimeout504,
        ErrorClass::Overloaded,
        ErrorClass::ConnectionReset,
        ErrorClass::ConnectionRefused,
        ErrorClass::AttemptTimeout,
        ErrorClass::BadRequest400,
        ErrorClass::Unauthorized401,
        ErrorClass::PayloadTooLarge413,
        ErrorClass::ContextOverflow,
        ErrorClass::StreamInterrupted,
    ];

    /// The HTTP status a provider answers with for this class; `None` for transport errors and
    /// the client's own timeout, which never produce a response.
    pub fn http_status(self) -> Option<u16> {
        match self {
            ErrorClass::RateLimited => Some(429),
            ErrorClass::Server500 => Some(500),
            ErrorClass::BadGateway502 => Some(502),
            ErrorClass::Unavailable503 => Some(503),
            ErrorClass::GatewayTimeout504 => Some(504),
            ErrorClass::Overloaded => Some(529),
            ErrorClass::ConnectionReset
            | ErrorClass::ConnectionRefused
            | ErrorClass::AttemptTimeout
            | ErrorClass::StreamInterrupted => None,
            ErrorClass::BadRequest400 | ErrorClass::ContextOverflow => Some(400),
            ErrorClass::Unauthorized401 => Some(401),
            ErrorClass::PayloadTooLarge413 => Some(413),
        }
    }

    /// A stable snake_case name, used in scenario files and reports. Never change one: reports
    /// and scenario files written earlier refer to classes by these names.
    pub fn name(self) -> &'static str {
        match self {
            ErrorClass::RateLimited => "rate_limited",
            ErrorClass::Server500 => "server_error",
            ErrorClass::BadGateway502 => "bad_gateway",
            ErrorClass::Unavailable503 => "unavailable",
            ErrorClass::GatewayTimeout504 => "gateway_timeout",
            ErrorClass::Overloaded => "overloaded",
            ErrorClass::ConnectionReset => "connection_reset",
            ErrorClass::ConnectionRefused => "connection_refused",
            ErrorClass::AttemptTimeout => "attempt_timeout",
            ErrorClass::BadRequest400 => "bad_request",
            ErrorClass::Unauthorized401 => "unauthorized",
            ErrorClass::PayloadTooLarge413 => "payload_too_large",
            ErrorClass::ContextOverflow => "context_overflow",
            ErrorClass::StreamInterrupted => "stream_interrupted",
        }
    }

    /// Whether clients retry this class by default (see [`RetryableClasses::default`]).
    pub fn is_retryable_by_default(self) -> bool {
        RetryableClasses::default().contains(self)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ErrorClass {
    type Err = PolicyError;

    /// Parses a class from its [`name`](ErrorClass::name); the error (`Unknown` of `name`)
    /// lists every valid name.
    fn from_str(s: &str) -> Result<ErrorClass, PolicyError> {
        let wanted = s.trim();
        ErrorClass::ALL
            .into_iter()
            .find(|c| c.name() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = ErrorClass::ALL.iter().map(|c| c.name()).collect();
                PolicyError::new(
                    "error class",
                    "name",
                    PolicyErrorKind::Unknown,
                    format!(
                        "unknown error class `{wanted}`; expected one of: {}",
                        names.join(", ")
                    ),
                )
            })
    }
}

/// A set of error classes (a bitset in declaration order).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RetryableClasses(u16);

impl RetryableClasses {
    /// No class.
    pub const fn empty() -> RetryableClasses {
        RetryableClasses(0)
    }

    /// Every class, including the ones resending cannot fix.
    pub fn all() -> RetryableClasses {
        ErrorClass::ALL
            .into_iter()
            .fold(RetryableClasses::empty(), RetryableClasses::with)
    }

    /// The set with `class` added.
    pub fn with(self, class: ErrorClass) -> RetryableClasses {
        RetryableClasses(self.0 | class.bit())
    }

    /// The set with `class` removed.
    pub fn without(self, class: ErrorClass) -> RetryableClasses {
        RetryableClasses(self.0 & !class.bit())
    }

    /// Whether `class` is in the set.
    pub fn contains(self, class: ErrorClass) -> bool {
        self.0 & class.bit() != 0
    }

    /// Whether the set has no class (nothing is retried).
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// How many classes are in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The members in declaration order.
    pub fn iter(self) -> impl Iterator<Item = ErrorClass> {
        ErrorClass::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// A set from class names (as in a scenario file); the first unknown name is an error that
    /// lists the valid names ([`ErrorClass::from_str`]'s).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<RetryableClasses, PolicyError> {
        names
            .iter()
            .try_fold(RetryableClasses::empty(), |set, name| {
                Ok(set.with(name.as_ref().parse::<ErrorClass>()?))
            })
    }
}

impl Default for RetryableClasses {
    /// What client libraries retry (the OpenAI and Anthropic SDKs retry 408, 409, 429 and ≥ 500
    /// plus connection errors and timeouts; gRPC's usual retry policy names UNAVAILABLE): rate
    /// limits, every 5xx, overload, timeouts and connection errors. Never 400, 401, 413 or a
    /// context overflow, which fail identically when resent.
    fn default() -> RetryableClasses {
        [
            ErrorClass::RateLimited,
            ErrorClass::Server500,
            ErrorClass::BadGateway502,
            ErrorClass::Unavailable503,
            ErrorClass::GatewayTimeout504,
            ErrorClass::Overloaded,
            ErrorClass::ConnectionReset,
            ErrorClass::ConnectionRefused,
            ErrorClass::AttemptTimeout,
            ErrorClass::StreamInterrupted,
        ]
        .into_iter()
        .fold(RetryableClasses::empty(), RetryableClasses::with)
    }
}

impl fmt::Debug for RetryableClasses {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(ErrorClass::name))
            .finish()
    }
}

impl FromIterator<ErrorClass> for RetryableClasses {
    fn from_iter<I: IntoIterator<Item = ErrorClass>>(iter: I) -> RetryableClasses {
        iter.into_iter()
            .fold(RetryableClasses::empty(), RetryableClasses::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        for c in ErrorClass::ALL {
            assert_eq!(c.name().parse::<ErrorClass>(), Ok(c));
        }
        let mut names: Vec<&str> = ErrorClass::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ErrorClass::ALL.len());
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "teapot".parse::<ErrorClass>().unwrap_err();
        assert!(err.message.contains("`teapot`"), "{err}");
        assert!(err.message.contains("rate_limited"), "{err}");
        assert!(err.message.contains("context_overflow"), "{err}");
        assert_eq!((err.param, err.kind), ("name", PolicyErrorKind::Unknown));
        let set = RetryableClasses::from_names(&["rate_limited", "teapot"]).unwrap_err();
        assert_eq!(set, err, "the first unknown name is the error");
        assert_eq!(
            RetryableClasses::from_names(&[" rate_limited", "server_error"]),
            Ok(RetryableClasses::empty()
                .with(ErrorClass::RateLimited)
                .with(ErrorClass::Server500))
        );
    }

    #[test]
    fn default_retryable_set() {
        let d = RetryableClasses::default();
        for c in ErrorClass::ALL {
            let never = matches!(
                c,
                ErrorClass::BadRequest400
                    | ErrorClass::Unauthorized401
                    | ErrorClass::PayloadTooLarge413
                    | ErrorClass::ContextOverflow
            );
            assert_eq!(d.contains(c), !never, "{c}");
            assert_eq!(c.is_retryable_by_default(), !never, "{c}");
            assert_eq!(c.to_string(), c.name(), "Display is the stable name");
        }
        assert_eq!(d.len(), 10);
        assert_eq!(RetryableClasses::all().len(), 14);
    }

    /// Set algebra: adding a member twice keeps it, removing takes out that member only, and
    /// only the empty set is empty.
    #[test]
    fn with_without_and_empty() {
        let s = RetryableClasses::empty()
            .with(ErrorClass::RateLimited)
            .with(ErrorClass::RateLimited);
        assert!(s.contains(ErrorClass::RateLimited) && s.len() == 1);
        let d = RetryableClasses::default().without(ErrorClass::RateLimited);
        assert_eq!(d.len(), RetryableClasses::default().len() - 1);
        assert!(!d.contains(ErrorClass::RateLimited) && d.contains(ErrorClass::Server500));
        assert!(RetryableClasses::empty().is_empty());
        assert!(!s.is_empty());
        assert!(s.without(ErrorClass::RateLimited).is_empty());
        let collected: RetryableClasses = [ErrorClass::Overloaded, ErrorClass::ContextOverflow]
            .into_iter()
            .collect();
        assert_eq!(
            collected,
            RetryableClasses::empty()
                .with(ErrorClass::Overloaded)
                .with(ErrorClass::ContextOverflow)
        );
    }

    #[test]
    fn sets_from_names() {
        let s = RetryableClasses::from_names(&["rate_limited", "unavailable"]).unwrap();
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![ErrorClass::RateLimited, ErrorClass::Unavailable503]
        );
        assert!(RetryableClasses::from_names(&["rate_limited", "nope"]).is_err());
        assert_eq!(format!("{s:?}"), "{\"rate_limited\", \"unavailable\"}");
    }

    #[test]
    fn statuses() {
        assert_eq!(ErrorClass::RateLimited.http_status(), Some(429));
        assert_eq!(ErrorClass::ContextOverflow.http_status(), Some(400));
        assert_eq!(ErrorClass::AttemptTimeout.http_status(), None);
    }
}
