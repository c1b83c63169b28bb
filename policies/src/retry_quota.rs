//! Client-side retry quotas: a token bucket per client (per tenant) that retries spend and
//! successes refill, so a client stops retrying when most of its recent attempts fail.
//!
//! This is the AWS SDKs' "standard" retry mode (botocore `retries/quota.py`, the Java, Rust and
//! Swift SDKs alike): the bucket starts full at 500 tokens; a retry takes 5, a retry after a
//! timeout 10; a call answered at its first attempt gives back 1, a call answered by a retry
//! gives back what that retry took. With the bucket unable to cover a retry, the retry is not
//! made and the error goes back to the caller. The per-client token buckets of the published
//! retry analyses (a bucket refilled by a fraction of a token per call started, drained by one
//! token per retry) are the same machine with other numbers: `refill_per_call` instead of
//! `refill_per_success`.
//!
//! Unlike a gateway's one retry budget ([`crate::retry_budget`]), each client keeps its own:
//! one tenant's failures do not stop another's retries.
//!
//! Integer tokens, so a bucket is exact however long it runs.

use crate::{PolicyError, PolicyErrorKind};

/// What a retry quota costs and refills, in tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaConfig {
    /// Tokens the bucket holds, and starts with (AWS: 500).
    pub capacity: u32,
    /// Tokens a retry takes (AWS: 5).
    pub retry_cost: u32,
    /// Tokens a retry after an attempt timeout takes (AWS: 10).
    pub timeout_cost: u32,
    /// Tokens a call answered at its first attempt gives back (AWS: 1). A call answered by a
    /// retry gives back that retry's cost instead, as the AWS SDKs do.
    pub refill_per_success: u32,
    /// Tokens every call gives back when it starts (AWS: 0; the per-client budgets of the
    /// retry analyses refill per request).
    pub refill_per_call: u32,
}

impl QuotaConfig {
    /// The AWS SDKs' standard retry mode.
    pub const AWS_STANDARD: QuotaConfig = QuotaConfig {
        capacity: 500,
        retry_cost: 5,
        timeout_cost: 10,
        refill_per_success: 1,
        refill_per_call: 0,
    };

    /// Checks the numbers: a bucket must hold at least one token (else `Zero` of `capacity`)
    /// and one retry of either kind (else `OutOfOrder` of `retry_cost`, or of `timeout_cost`).
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.capacity == 0 {
            return Err(PolicyError::new(
                "retry quota",
                "capacity",
                PolicyErrorKind::Zero,
                "a retry quota must hold at least 1 token",
            ));
        }
        if self.retry_cost > self.capacity || self.timeout_cost > self.capacity {
            return Err(PolicyError::new(
                "retry quota",
                if self.retry_cost > self.capacity {
                    "retry_cost"
                } else {
                    "timeout_cost"
                },
                PolicyErrorKind::OutOfOrder,
                format!(
                    "a retry costs more ({} tokens, {} after a timeout) than the quota holds \
                     ({}): no retry could ever be made",
                    self.retry_cost, self.timeout_cost, self.capacity
                ),
            ));
        }
        Ok(())
    }
}

/// One client's retry quota.
#[derive(Debug, Clone)]
pub struct RetryQuota {
    config: QuotaConfig,
    tokens: u32,
    /// Whether the last retry asked for was denied: a run of denials is one exhaustion.
    dry: bool,
}

/// What the quota said to a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaDecision {
    /// Go ahead: this many tokens were taken (given back if the retry is answered).
    Granted(u32),
    /// Not enough tokens; `newly_exhausted` when the retry before was granted (the start of
    /// an exhaustion).
    Denied {
        /// The first denial since the quota last granted a retry.
        newly_exhausted: bool,
    },
}

impl RetryQuota {
    /// A full bucket.
    pub fn new(config: QuotaConfig) -> RetryQuota {
        RetryQuota {
            config,
            tokens: config.capacity,
            dry: false,
        }
    }

    /// Tokens left.
    pub fn tokens(&self) -> u32 {
        self.tokens
    }

    /// A retry is wanted after a failure (`timeout`: an attempt timeout).
    pub fn try_retry(&mut self, timeout: bool) -> QuotaDecision {
        let cost = if timeout {
            self.config.timeout_cost
        } else {
            self.config.retry_cost
        };
        if cost <= self.tokens {
            self.tokens -= cost;
            self.dry = false;
            QuotaDecision::Granted(cost)
        } else {
            let newly_exhausted = !self.dry;
            self.dry = true;
            QuotaDecision::Denied { newly_exhausted }
        }
    }

    /// A call starts.
    pub fn on_call(&mut self) {
        self.refill(self.config.refill_per_call);
    }

    /// A call was answered; `retry_cost` is what the retry that got the answer took (`None`:
    /// the first attempt answered).
    pub fn on_success(&mut self, retry_cost: Option<u32>) {
        self.refill(retry_cost.unwrap_or(self.config.refill_per_success));
    }

    fn refill(&mut self, amount: u32) {
        self.tokens = self.tokens.saturating_add(amount).min(self.config.capacity);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_standard_allows_100_retries_then_20_timeout_retries() {
        // 500 tokens at 5 a retry: exactly 100 retries before the first denial.
        let mut q = RetryQuota::new(QuotaConfig::AWS_STANDARD);
        for i in 0..100 {
            assert_eq!(q.try_retry(false), QuotaDecision::Granted(5), "retry {i}");
        }
        assert_eq!(q.tokens(), 0);
        assert_eq!(
            q.try_retry(false),
            QuotaDecision::Denied {
                newly_exhausted: true
            }
        );
        assert_eq!(
            q.try_retry(false),
            QuotaDecision::Denied {
                newly_exhausted: false
            }
        );
        let mut q = RetryQuota::new(QuotaConfig::AWS_STANDARD);
        let granted = (0..60)
            .filter(|_| matches!(q.try_retry(true), QuotaDecision::Granted(10)))
            .count();
        assert_eq!(granted, 50);
    }

    #[test]
    fn successes_refill_one_or_the_retry_cost_up_to_capacity() {
        let mut q = RetryQuota::new(QuotaConfig::AWS_STANDARD);
        q.on_success(None);
        assert_eq!(q.tokens(), 500, "never above capacity");
        assert_eq!(q.try_retry(true), QuotaDecision::Granted(10));
        assert_eq!(q.tokens(), 490);
        q.on_success(None);
        assert_eq!(q.tokens(), 491);
        q.on_success(Some(10));
        assert_eq!(q.tokens(), 500);
        // Starting calls refills nothing in AWS's mode.
        q.try_retry(false);
        q.on_call();
        assert_eq!(q.tokens(), 495);
    }

    #[test]
    fn a_per_call_refill_recovers_an_exhausted_quota() {
        let cfg = QuotaConfig {
            capacity: 10,
            retry_cost: 10,
            timeout_cost: 10,
            refill_per_success: 0,
            refill_per_call: 1,
        };
        let mut q = RetryQuota::new(cfg);
        assert_eq!(q.try_retry(false), QuotaDecision::Granted(10));
        assert!(matches!(q.try_retry(false), QuotaDecision::Denied { .. }));
        for _ in 0..9 {
            q.on_call();
        }
        assert!(matches!(
            q.try_retry(false),
            QuotaDecision::Denied {
                newly_exhausted: false
            }
        ));
        q.on_call();
        assert_eq!(q.try_retry(false), QuotaDecision::Granted(10));
        // A grant ends the exhaustion: the next denial starts a new one.
        assert_eq!(
            q.try_retry(false),
            QuotaDecision::Denied {
                newly_exhausted: true
            }
        );
        q.on_success(None);
        assert_eq!(q.tokens(), 0, "refill_per_success is 0 here");
    }

    #[test]
    fn validation_names_impossible_quotas() {
        assert!(QuotaConfig::AWS_STANDARD.validate().is_ok());
        let empty = QuotaConfig {
            capacity: 0,
            ..QuotaConfig::AWS_STANDARD
        };
        let err = empty.validate().unwrap_err();
        assert_eq!((err.param, err.kind), ("capacity", PolicyErrorKind::Zero));
        let dear = QuotaConfig {
            capacity: 8,
            ..QuotaConfig::AWS_STANDARD
        };
        let err = dear.validate().unwrap_err();
        assert!(err.message.contains("costs more"), "{err}");
        assert_eq!(
            (err.param, err.kind),
            ("timeout_cost", PolicyErrorKind::OutOfOrder)
        );
        let dearer = QuotaConfig {
            capacity: 4,
            ..QuotaConfig::AWS_STANDARD
        };
        let err = dearer.validate().unwrap_err();
        assert_eq!(
            (err.param, err.kind),
            ("retry_cost", PolicyErrorKind::OutOfOrder)
        );
        let exact = QuotaConfig {
            capacity: 10,
            ..QuotaConfig::AWS_STANDARD
        };
        assert!(exact.validate().is_ok());
    }
}
