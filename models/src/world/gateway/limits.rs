//! All-or-nothing over limiters: the gateway's configured rate and concurrency limits, and the
//! provider's request and token buckets. A call that passes takes from every limiter; one that
//! does not takes from none.

use super::Step;
use crate::config::{GatewayLimit, LimitKind};
use crate::event::Event;
use crate::metrics::Outcome;
use crate::world::World;
use policies::{Gcra, RateLimiter, SlidingWindowCounter, SlidingWindowLog, TokenBucket};
use sim_core::{Key, Time};

/// A gateway limiter in its starting state.
pub(in crate::world) fn limiter(kind: LimitKind) -> RateLimiter {
    match kind {
        LimitKind::TokenBucket {
            capacity,
            amount,
            per,
        } => RateLimiter::TokenBucket(
            TokenBucket::new(capacity, amount, per).expect("validated when the world is built"),
        ),
        LimitKind::Gcra { limit, per, burst } => RateLimiter::Gcra(
            Gcra::from_rate(limit, per, burst).expect("validated when the world is built"),
        ),
        LimitKind::SlidingWindow { limit, window } => RateLimiter::SlidingLog(
            SlidingWindowLog::new(limit, window).expect("validated when the world is built"),
        ),
        // Concurrency is counted by the world; this limiter is never asked.
        LimitKind::Concurrency { .. } => RateLimiter::SlidingCounter(
            SlidingWindowCounter::new(1, 1).expect("a valid placeholder"),
        ),
    }
}

/// Takes one request, the prompt and the asked-for output tokens from the provider's buckets,
/// all or nothing. `None` when admitted; otherwise the Retry-After of the 429: how long until
/// every bucket could cover the call (`None` inside: never, the call is bigger than a bucket).
pub(in crate::world) fn take_limits(
    buckets: &mut [Option<TokenBucket>; 3],
    now: Time,
    prompt: u32,
    asked: u32,
) -> Option<Option<Time>> {
    if buckets.iter().all(Option::is_none) {
        return None;
    }
    let needs = [1u64, prompt as u64, asked as u64];
    let mut wait: Option<Time> = Some(0);
    for (bucket, &n) in buckets.iter_mut().zip(&needs) {
        if let Some(bucket) = bucket {
            wait = match (wait, bucket.time_until(now, n)) {
                (Some(w), Some(t)) => Some(w.max(t)),
                _ => None,
            };
        }
    }
    if wait == Some(0) {
        for (i, (bucket, &n)) in buckets.iter_mut().zip(&needs).enumerate() {
            if let Some(bucket) = bucket {
                if i == 2 {
                    bucket.reserve(now, n);
                } else {
                    let _ = bucket.try_take(now, n);
                }
            }
        }
        None
    } else {
        Some(wait)
    }
}

impl World<'_> {
    /// The gateway's rate limits, all or nothing: a job that passes takes from every limiter;
    /// one that does not is answered 429. A delaying limit (a token bucket) instead reserves
    /// the job's tokens and holds it until they are covered, in arrival order: a queue in time,
    /// with no re-polling.
    pub(in crate::world) fn pass_gateway_limits(&mut self, now: Time, request: Key) -> Step {
        let r = self.requests.get_mut(request).expect("live request");
        let tenant = r.tenant as usize;
        let tokens = r.prompt_tokens as u64 + r.output_tokens as u64;
        let price = self.config.backends[r.backend as usize].price;
        // Estimated spend in micro-USD, rounded up so that every priced call counts.
        let micro_usd = ((r.prompt_tokens as f64 * price.input_per_token
            + r.output_tokens as f64 * price.output_per_token)
            * 1e6)
            .ceil() as u64;
        let amount = |l: &GatewayLimit| {
            if l.usd {
                micro_usd
            } else if l.tokens {
                tokens
            } else {
                1
            }
        };
        let limits = &self.config.gateway.rate_limits;
        let mut admitted = true;
        for (l, limiters) in limits.iter().zip(&mut self.limiters) {
            let i = if l.per_tenant { tenant } else { 0 };
            admitted &= match l.kind {
                LimitKind::Concurrency { limit } => {
                    let in_flight = if l.per_tenant {
                        self.in_flight[tenant]
                    } else {
                        self.in_flight.iter().sum()
                    };
                    // This job is already counted.
                    in_flight <= limit
                }
                _ => {
                    let wait = limiters[i].time_until(now, amount(l));
                    wait == Some(0) || (l.delay && wait.is_some())
                }
            };
        }
        if !admitted {
            self.stats.resilience.gateway_limited(false);
            self.complete(now, request, Outcome::Throttled);
            return Step::Done;
        }
        let mut wait = 0;
        for (l, limiters) in limits.iter().zip(&mut self.limiters) {
            let i = if l.per_tenant { tenant } else { 0 };
            let n = amount(l);
            match (&mut limiters[i], l.delay) {
                (_, _) if matches!(l.kind, LimitKind::Concurrency { .. }) => {}
                (RateLimiter::TokenBucket(bucket), true) => wait = wait.max(bucket.reserve(now, n)),
                (limiter, _) => {
                    let _ = limiter.try_take(now, n);
                }
            }
        }
        if wait == 0 {
            return Step::Next;
        }
        self.stats.resilience.gateway_limited(true);
        r.gate_hold = true;
        r.retry_at = now.saturating_add(wait);
        let at = r.retry_at;
        self.sched.schedule(at, Event::retry_due(request));
        Step::Done
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
