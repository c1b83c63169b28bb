//! All-or-nothing over limiters: the gateway's configured rate and concurrency limits, and the
//! provider's request and token buckets. A call that passes takes from every limiter; one that
//! does not takes from none. [`all_or_nothing`] is that rule, once, for both.

use crate::config::{GatewayLimit, LimitKind, TenantId, WorldConfig};
use policies::{RateLimiter, TokenBucket};
use sim_core::Time;

/// A limiter an all-or-nothing pass can ask and take from.
pub(in crate::world) trait Limit {
    /// How long until `n` units would be admitted at `now` (`None`: never, `n` is bigger
    /// than the limiter).
    fn time_until(&mut self, now: Time, n: u64) -> Option<Time>;
    /// Takes `n` units now, if they are there.
    fn take(&mut self, now: Time, n: u64);
    /// Takes `n` units even into debt; how long until the debt is paid (a limiter that cannot
    /// go into debt takes what it can, as [`take`](Self::take), and answers 0).
    fn reserve(&mut self, now: Time, n: u64) -> Time;
}

impl Limit for TokenBucket {
    #[inline]
    fn time_until(&mut self, now: Time, n: u64) -> Option<Time> {
        TokenBucket::time_until(self, now, n)
    }
    #[inline]
    fn take(&mut self, now: Time, n: u64) {
        let _ = self.try_take(now, n);
    }
    #[inline]
    fn reserve(&mut self, now: Time, n: u64) -> Time {
        TokenBucket::reserve(self, now, n)
    }
}

impl Limit for RateLimiter {
    #[inline]
    fn time_until(&mut self, now: Time, n: u64) -> Option<Time> {
        RateLimiter::time_until(self, now, n)
    }
    #[inline]
    fn take(&mut self, now: Time, n: u64) {
        let _ = self.try_take(now, n);
    }
    #[inline]
    fn reserve(&mut self, now: Time, n: u64) -> Time {
        match self {
            RateLimiter::TokenBucket(bucket) => bucket.reserve(now, n),
            other => {
                let _ = other.try_take(now, n);
                0
            }
        }
    }
}

/// A limit not configured: it admits everything and holds nothing.
impl<L: Limit> Limit for Option<L> {
    #[inline]
    fn time_until(&mut self, now: Time, n: u64) -> Option<Time> {
        match self {
            Some(l) => l.time_until(now, n),
            None => Some(0),
        }
    }
    #[inline]
    fn take(&mut self, now: Time, n: u64) {
        if let Some(l) = self {
            l.take(now, n);
        }
    }
    #[inline]
    fn reserve(&mut self, now: Time, n: u64) -> Time {
        self.as_mut().map_or(0, |l| l.reserve(now, n))
    }
}

/// What a call needs from one limiter of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::world) struct Need {
    /// Which limiter (its index in the pass's slice).
    pub(in crate::world) at: usize,
    pub(in crate::world) amount: u64,
    /// Taken as a reservation that may go into debt (a delaying limit, a provider's output
    /// tokens that are reconciled later) rather than only when there.
    pub(in crate::world) reserve: bool,
    /// The call may wait for this limiter: it passes as long as the amount fits at all.
    pub(in crate::world) hold: bool,
}

/// The answer of an all-or-nothing pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::world) enum Pass {
    /// Every limiter took its amount; the call waits `wait` for its reservations (0: none).
    Taken { wait: Time },
    /// No limiter took anything. `retry_after`: how long until every limiter could cover the
    /// call (`None`: never, it is bigger than one of them).
    Refused { retry_after: Option<Time> },
}

/// Asks every limiter of `needs` (all of them, in order: asking brings a limiter up to `now`),
/// then takes from every one or from none.
#[inline]
pub(in crate::world) fn all_or_nothing<L: Limit>(
    now: Time,
    limiters: &mut [L],
    needs: impl Iterator<Item = Need> + Clone,
) -> Pass {
    let mut wait: Option<Time> = Some(0);
    let mut admitted = true;
    for n in needs.clone() {
        let w = limiters[n.at].time_until(now, n.amount);
        admitted &= w == Some(0) || (n.hold && w.is_some());
        wait = match (wait, w) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
    if !admitted {
        return Pass::Refused { retry_after: wait };
    }
    let mut wait = 0;
    for n in needs {
        let limiter = &mut limiters[n.at];
        if n.reserve {
            wait = wait.max(limiter.reserve(now, n.amount));
        } else {
            limiter.take(now, n.amount);
        }
    }
    Pass::Taken { wait }
}

/// Takes one request, the prompt and the asked-for output tokens from the provider's buckets,
/// all or nothing. `None` when admitted; otherwise the Retry-After of the 429: how long until
/// every bucket could cover the call (`None` inside: never, the call is bigger than a bucket).
#[inline]
pub(in crate::world) fn take_limits(
    buckets: &mut [Option<TokenBucket>; 3],
    now: Time,
    prompt: u32,
    asked: u32,
) -> Option<Option<Time>> {
    if buckets.iter().all(Option::is_none) {
        return None;
    }
    let need = |at: usize, amount: u32| Need {
        at,
        amount: amount as u64,
        // Output tokens are reserved up front and reconciled when the attempt ends.
        reserve: at == 2,
        hold: false,
    };
    let needs = [need(0, 1), need(1, prompt), need(2, asked)].into_iter();
    match all_or_nothing(now, buckets, needs) {
        Pass::Taken { .. } => None,
        Pass::Refused { retry_after } => Some(retry_after),
    }
}

/// What the gateway's limits say to a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::world) enum Limited {
    /// Within every limit: on to the cache.
    Pass,
    /// Over a limit: answered 429 (the job ends throttled).
    Refused,
    /// A delaying limit reserved the job's share: it goes on once that is covered.
    Hold { wait: Time },
}

/// The gateway's rate and concurrency limits: one limiter per configured limit (and per tenant,
/// for a per-tenant limit), and the jobs in flight per tenant.
pub(in crate::world) struct GatewayLimits {
    /// Flat: limit `k`'s limiters start at `first[k]` (one, or one per tenant).
    limiters: Vec<RateLimiter>,
    first: Vec<usize>,
    /// Jobs in flight, per tenant, for concurrency limits.
    pub(in crate::world) in_flight: Vec<u64>,
}

impl GatewayLimits {
    pub(in crate::world) fn new(config: &WorldConfig) -> GatewayLimits {
        let mut limiters = Vec::new();
        let mut first = Vec::new();
        for l in &config.gateway.rate_limits {
            first.push(limiters.len());
            // Concurrency is counted in `in_flight`: no limiter.
            if let LimitKind::Rate(limiter) = &l.kind {
                let n = if l.per_tenant {
                    config.tenants.len()
                } else {
                    1
                };
                limiters.extend((0..n).map(|_| limiter.clone()));
            }
        }
        GatewayLimits {
            limiters,
            first,
            in_flight: vec![0; config.tenants.len()],
        }
    }

    /// Whether the gateway has any rate or concurrency limit.
    #[inline]
    pub(in crate::world) fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// The gateway's limits, all or nothing, for a job of `tenant` asking for `tokens`
    /// (prompt + output) at an estimated `micro_usd`: a job within every limit takes from every
    /// limiter; one that is not takes from none and is answered 429. A delaying limit (a token
    /// bucket) instead reserves the job's share and holds it until that is covered, in arrival
    /// order: a queue in time, with no re-polling.
    pub(in crate::world) fn admit(
        &mut self,
        now: Time,
        limits: &[GatewayLimit],
        tenant: TenantId,
        tokens: u64,
        micro_usd: u64,
    ) -> Limited {
        let in_flight = &self.in_flight;
        // Concurrency is a count, not a limiter: this job is already counted.
        let concurrent = limits.iter().all(|l| match &l.kind {
            LimitKind::Concurrency { limit } => {
                let n = if l.per_tenant {
                    in_flight[tenant]
                } else {
                    in_flight.iter().sum()
                };
                n <= *limit
            }
            _ => true,
        });
        let first = &self.first;
        let needs = limits
            .iter()
            .enumerate()
            .filter(|(_, l)| !matches!(l.kind, LimitKind::Concurrency { .. }))
            .map(|(k, l)| Need {
                at: first[k] + if l.per_tenant { tenant.index() } else { 0 },
                amount: if l.usd {
                    micro_usd
                } else if l.tokens {
                    tokens
                } else {
                    1
                },
                reserve: l.delay,
                hold: l.delay,
            });
        if !concurrent {
            // Refused: asked, but nothing taken.
            for n in needs {
                let _ = self.limiters[n.at].time_until(now, n.amount);
            }
            return Limited::Refused;
        }
        match all_or_nothing(now, &mut self.limiters, needs) {
            Pass::Refused { .. } => Limited::Refused,
            Pass::Taken { wait: 0 } => Limited::Pass,
            Pass::Taken { wait } => Limited::Hold { wait },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Time = 60 * sim_core::NANOS_PER_SEC;

    fn bucket(n: u64) -> Option<TokenBucket> {
        Some(TokenBucket::new(n, n, MINUTE).unwrap())
    }

    #[test]
    fn no_buckets_admit_everything() {
        let mut buckets = [None, None, None];
        assert_eq!(take_limits(&mut buckets, 0, 1_000_000, 1_000_000), None);
    }

    #[test]
    fn a_refused_call_takes_from_no_bucket() {
        // Two requests a minute, 100 input tokens a minute.
        let mut buckets = [bucket(2), bucket(100), None];
        assert_eq!(take_limits(&mut buckets, 0, 80, 0), None);
        // The request bucket could cover a second call, the token bucket cannot.
        let refused = take_limits(&mut buckets, 0, 80, 0);
        assert!(matches!(refused, Some(Some(w)) if w > 0), "{refused:?}");
        // Nothing was taken: a small call still fits both.
        assert_eq!(take_limits(&mut buckets, 0, 20, 0), None);
        assert!(take_limits(&mut buckets, 0, 1, 0).is_some());
    }

    #[test]
    fn a_call_bigger_than_a_bucket_never_fits() {
        let mut buckets = [None, bucket(100), None];
        assert_eq!(take_limits(&mut buckets, 0, 101, 0), Some(None));
    }
}
