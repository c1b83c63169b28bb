//! Retry budgets: limits on how much retrying may add to the load, so that retries help with
//! sporadic failures but cannot multiply traffic during an outage (the cause of metastable
//! retry storms). Three designs people use:
//!
//! - [`GrpcThrottle`]: gRPC's retry throttling (gRFC A6). Tokens start full; every failed attempt
//!   takes one, every success gives back `token_ratio`; retries are allowed only while more than
//!   half the tokens remain. Kept in thousandths of a token, as the spec's three decimal places
//!   allow, so it is exact.
//! - [`FinagleBudget`]: Finagle's `RetryBudget(ttl, minRetriesPerSec, percentCanRetry)`. Each
//!   request deposits `percent` of a retry into a window of length `ttl`; each retry withdraws
//!   one; a reserve of `min_retries_per_sec` (refilled continuously, holding at most
//!   `min_retries_per_sec · ttl`) covers low traffic.
//! - [`AdaptiveThrottle`]: client-side adaptive throttling (Google SRE book, ch. 21). Over a
//!   window, a request is rejected locally with probability
//!   `max(0, (requests − K·accepts) / (requests + 1))`.
//!
//! Each is a pure state machine: the caller reports events with `now` and asks for decisions.

use crate::window::SlidingWindow;
use sim_core::{NANOS_PER_SEC, RandomStream, Time};

/// gRPC retry throttling.
#[derive(Debug, Clone)]
pub struct GrpcThrottle {
    max_milli: i64,
    ratio_milli: i64,
    milli: i64,
}

impl GrpcThrottle {
    /// `max_tokens` in (0, 1000]; `token_ratio` > 0 with at most three decimals (rounded).
    pub fn new(max_tokens: f64, token_ratio: f64) -> GrpcThrottle {
        let max_milli = (max_tokens * 1000.0).round() as i64;
        GrpcThrottle {
            max_milli,
            ratio_milli: (token_ratio * 1000.0).round() as i64,
            milli: max_milli,
        }
    }

    /// A successful attempt gives back `token_ratio` tokens, up to `max_tokens`.
    pub fn on_success(&mut self) {
        self.milli = (self.milli + self.ratio_milli).min(self.max_milli);
    }

    /// A failed attempt takes one token (never below zero).
    pub fn on_failure(&mut self) {
        self.milli = (self.milli - 1000).max(0);
    }

    /// Whether a retry may be sent now.
    pub fn allows_retry(&self) -> bool {
        2 * self.milli > self.max_milli
    }

    /// Tokens left, for reports and tests.
    pub fn tokens(&self) -> f64 {
        self.milli as f64 / 1000.0
    }
}

/// Finagle's retry budget.
#[derive(Debug, Clone)]
pub struct FinagleBudget {
    /// Deposits and withdrawals in the window, in thousandths of a retry.
    window: SlidingWindow,
    percent_milli: i64,
    reserve_capacity_milli: i64,
    reserve_milli: i64,
    reserve_rate_milli_per_sec: i64,
    reserve_updated: Time,
}

impl FinagleBudget {
    /// `percent_can_retry` in [0, 10] (1.0 = one retry per request), `ttl` the window.
    pub fn new(ttl: Time, min_retries_per_sec: u32, percent_can_retry: f64) -> FinagleBudget {
        let ttl_secs_milli = (ttl / 1_000_000) as i64; // ttl in milliseconds
        let capacity = i64::from(min_retries_per_sec) * ttl_secs_milli;
        FinagleBudget {
            window: SlidingWindow::new(ttl, 10),
            percent_milli: (percent_can_retry * 1000.0).round() as i64,
            reserve_capacity_milli: capacity,
            reserve_milli: capacity,
            reserve_rate_milli_per_sec: i64::from(min_retries_per_sec) * 1000,
            reserve_updated: 0,
        }
    }

    fn refill_reserve(&mut self, now: Time) {
        if now <= self.reserve_updated {
            return;
        }
        let elapsed = (now - self.reserve_updated) as i128;
        let gained = elapsed * self.reserve_rate_milli_per_sec as i128 / NANOS_PER_SEC as i128;
        if gained > 0 {
            self.reserve_milli = (self.reserve_milli as i128 + gained)
                .min(self.reserve_capacity_milli as i128) as i64;
            // Advance only by the time that produced whole milli-tokens, so nothing is lost.
            let used =
                gained * NANOS_PER_SEC as i128 / self.reserve_rate_milli_per_sec.max(1) as i128;
            self.reserve_updated += used as Time;
        }
        if self.reserve_milli >= self.reserve_capacity_milli {
            self.reserve_updated = now;
        }
    }

    /// Every request (first attempts) deposits.
    pub fn deposit(&mut self, now: Time) {
        self.window.add(now, self.percent_milli);
    }

    /// Takes one retry from the window, else from the reserve; `false` if neither has one.
    pub fn try_withdraw(&mut self, now: Time) -> bool {
        if self.window.total(now) >= 1000 {
            self.window.add(now, -1000);
            return true;
        }
        self.refill_reserve(now);
        if self.reserve_milli >= 1000 {
            self.reserve_milli -= 1000;
            return true;
        }
        false
    }
}

/// Client-side adaptive throttling.
#[derive(Debug, Clone)]
pub struct AdaptiveThrottle {
    k: f64,
    requests: SlidingWindow,
    accepts: SlidingWindow,
}

impl AdaptiveThrottle {
    /// `k` is the multiplier (2 in the SRE book); `window` how far back to count (2 minutes).
    pub fn new(k: f64, window: Time) -> AdaptiveThrottle {
        AdaptiveThrottle {
            k,
            requests: SlidingWindow::new(window, 12),
            accepts: SlidingWindow::new(window, 12),
        }
    }

    /// The probability that a request is rejected locally now.
    pub fn reject_probability(&mut self, now: Time) -> f64 {
        let requests = self.requests.total(now) as f64;
        let accepts = self.accepts.total(now) as f64;
        ((requests - self.k * accepts) / (requests + 1.0)).max(0.0)
    }

    /// Decides a request: `true` to send it, `false` to reject it locally. Every decision
    /// counts as a request (as in the book: local rejections count too).
    pub fn admit(&mut self, now: Time, rng: &mut RandomStream) -> bool {
        let p = self.reject_probability(now);
        self.requests.add(now, 1);
        !rng.bernoulli(p)
    }

    /// The backend accepted a request (anything but overload or throttling).
    pub fn on_accept(&mut self, now: Time) {
        self.accepts.add(now, 1);
    }
}

/// What the gateway asks of a retry budget, whichever design it is. Each design answers only
/// the questions it cares about; the defaults say "no opinion".
pub trait RetryBudget {
    /// A new call (not a retry) starts.
    fn on_call(&mut self, _now: Time) {}
    /// An attempt ended: `accepted` unless the backend failed it, overloaded or throttled.
    fn on_result(&mut self, _now: Time, _accepted: bool) {}
    /// Whether a retry may go ahead now; a budget that keeps a balance spends from it.
    fn try_retry(&mut self, _now: Time) -> bool {
        true
    }
    /// Whether an attempt may be sent at all; client-side throttling turns some away before
    /// any call is made.
    fn admit(&mut self, _now: Time, _rng: &mut RandomStream) -> bool {
        true
    }
}

impl RetryBudget for GrpcThrottle {
    fn on_result(&mut self, _now: Time, accepted: bool) {
        if accepted {
            self.on_success();
        } else {
            self.on_failure();
        }
    }
    fn try_retry(&mut self, _now: Time) -> bool {
        self.allows_retry()
    }
}

impl RetryBudget for FinagleBudget {
    fn on_call(&mut self, now: Time) {
        self.deposit(now);
    }
    fn try_retry(&mut self, now: Time) -> bool {
        self.try_withdraw(now)
    }
}

impl RetryBudget for AdaptiveThrottle {
    fn on_result(&mut self, now: Time, accepted: bool) {
        if accepted {
            self.on_accept(now);
        }
    }
    fn admit(&mut self, now: Time, rng: &mut RandomStream) -> bool {
        AdaptiveThrottle::admit(self, now, rng)
    }
}

/// The configured budget: one of the designs, dispatched statically (a match, not a vtable, on
/// the per-attempt path).
#[derive(Debug, Clone)]
pub enum AnyRetryBudget {
    /// gRPC's retry throttling.
    Grpc(GrpcThrottle),
    /// Finagle's retry budget.
    Finagle(FinagleBudget),
    /// Client-side adaptive throttling.
    Adaptive(AdaptiveThrottle),
}

/// Forwards a call to the design inside, by a match on the variant.
macro_rules! each {
    ($self:ident, $b:ident => $call:expr) => {
        match $self {
            AnyRetryBudget::Grpc($b) => $call,
            AnyRetryBudget::Finagle($b) => $call,
            AnyRetryBudget::Adaptive($b) => $call,
        }
    };
}

impl RetryBudget for AnyRetryBudget {
    #[inline]
    fn on_call(&mut self, now: Time) {
        each!(self, b => b.on_call(now))
    }
    #[inline]
    fn on_result(&mut self, now: Time, accepted: bool) {
        each!(self, b => RetryBudget::on_result(b, now, accepted))
    }
    #[inline]
    fn try_retry(&mut self, now: Time) -> bool {
        each!(self, b => b.try_retry(now))
    }
    #[inline]
    fn admit(&mut self, now: Time, rng: &mut RandomStream) -> bool {
        each!(self, b => RetryBudget::admit(b, now, rng))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: Time = NANOS_PER_SEC;

    #[test]
    fn grpc_throttle_stops_retries_after_half_the_tokens_fail() {
        let mut t = GrpcThrottle::new(10.0, 0.1);
        assert!(t.allows_retry());
        for _ in 0..5 {
            t.on_failure();
        }
        assert_eq!(t.tokens(), 5.0);
        assert!(!t.allows_retry(), "exactly half is not more than half");
        t.on_success();
        assert!(t.allows_retry());
    }

    #[test]
    fn adaptive_throttle_rejects_when_accepts_fall() {
        let mut a = AdaptiveThrottle::new(2.0, 120 * S);
        let mut rng = RandomStream::from_seed(1);
        for i in 0..100 {
            a.admit(i * S / 10, &mut rng);
            a.on_accept(i * S / 10);
        }
        assert_eq!(
            a.reject_probability(10 * S),
            0.0,
            "healthy backend: nothing rejected"
        );
        for i in 0..300 {
            a.admit(10 * S + i * S / 10, &mut rng);
        }
        // 400 requests, 100 accepts: (400 − 200) / 401.
        let p = a.reject_probability(40 * S);
        assert!((p - 200.0 / 401.0).abs() < 1e-12, "{p}");
    }

    /// Under 100% failures, gRPC throttling allows at most max_tokens / 2 retries in all. The
    /// bound is approached: in about 100% (the test asks for 50%) of the cases the retries reach at least
    /// half of it.
    #[test]
    fn grpc_throttle_bounds_retries_in_an_outage() {
        crate::reach::check(
            (2u32..100, 1u32..1000, 1usize..500),
            [("retries at half the bound or more", 0.5)],
            |(max, ratio, requests)| {
                let mut t = GrpcThrottle::new(max as f64, ratio as f64 / 1000.0);
                let mut retries = 0;
                for _ in 0..requests {
                    t.on_failure();
                    while t.allows_retry() {
                        retries += 1;
                        t.on_failure();
                    }
                }
                prop_assert!(
                    retries as f64 <= max as f64 / 2.0,
                    "{retries} retries, max tokens {max}"
                );
                Ok([retries as f64 >= max as f64 / 4.0])
            },
        );
    }

    /// A Finagle budget never allows more retries than percent × requests plus its reserve.
    /// The bound is approached: in about 99% (the test asks for 50%) of the cases the retries reach at
    /// least half of it.
    #[test]
    fn finagle_budget_bounds_the_retry_ratio() {
        crate::reach::check(
            (0u32..100, 0u32..5, 1u64..2000, 1u64..50),
            [("retries at half the bound or more", 0.5)],
            |(percent, min_per_sec, requests, gap_ms)| {
                let ttl = 10 * S;
                let mut b = FinagleBudget::new(ttl, min_per_sec, percent as f64 / 100.0);
                let mut retries = 0u64;
                let mut now = 0;
                for _ in 0..requests {
                    b.deposit(now);
                    while b.try_withdraw(now) {
                        retries += 1;
                    }
                    now += gap_ms * 1_000_000;
                }
                let elapsed_s = now as f64 / S as f64;
                let bound = percent as f64 / 100.0 * requests as f64
                    + f64::from(min_per_sec) * (10.0 + elapsed_s);
                prop_assert!(retries as f64 <= bound + 1e-9, "{retries} > {bound}");
                Ok([retries as f64 >= bound / 2.0])
            },
        );
    }
    #[test]
    fn any_retry_budget_forwards_each_question_to_its_design() {
        let mut rng = RandomStream::from_seed(7);
        // gRPC, 4 tokens, 0.5 back per success: two failures leave 2 (not more than half),
        // a success 2.5. It never turns an attempt away.
        let mut g = AnyRetryBudget::Grpc(GrpcThrottle::new(4.0, 0.5));
        assert!(g.try_retry(0));
        g.on_result(0, false);
        g.on_result(0, false);
        assert!(!g.try_retry(0));
        g.on_result(0, true);
        assert!(g.try_retry(0));
        assert!(g.admit(0, &mut rng));
        // Finagle, no reserve, half a retry per call: nothing until two calls deposited one.
        let mut f = AnyRetryBudget::Finagle(FinagleBudget::new(10 * S, 0, 0.5));
        assert!(!f.try_retry(0));
        f.on_call(0);
        f.on_result(0, false);
        assert!(!f.try_retry(0), "half a retry is not one");
        f.on_call(0);
        assert!(f.try_retry(0));
        assert!(!f.try_retry(0), "spent");
        assert!(f.admit(0, &mut rng));
        // Adaptive (K = 2): the first request is always sent (p = 0); it never vetoes a retry;
        // after 3 requests and 1 accept, p = (3 − 2·1) / (3 + 1).
        let mut a = AnyRetryBudget::Adaptive(AdaptiveThrottle::new(2.0, 120 * S));
        assert!(a.admit(0, &mut rng));
        a.admit(0, &mut rng);
        a.admit(0, &mut rng);
        a.on_result(0, true);
        a.on_result(0, false);
        assert!(a.try_retry(0));
        let AnyRetryBudget::Adaptive(inner) = &mut a else {
            unreachable!()
        };
        assert_eq!(inner.reject_probability(0), 0.25);
    }

    #[test]
    fn adaptive_admit_sends_with_one_minus_the_reject_probability() {
        // No accepts: before request i, p = i / (i + 1), so request i is sent with probability
        // 1 / (i + 1) and 1000 requests send H(1000) = 7.49 on average (variance 5.84, sd
        // 2.42). The first is certain; more than mean + 5 sd = 19.6 would be a wrong sign.
        let mut a = AnyRetryBudget::Adaptive(AdaptiveThrottle::new(2.0, 120 * S));
        let mut rng = RandomStream::from_seed(11);
        let sent = (0..1000).filter(|_| a.admit(0, &mut rng)).count();
        assert!((1..=19).contains(&sent), "{sent} sent");
    }

    #[test]
    fn finagle_reserve_refills_at_min_retries_per_sec_without_losing_fractions() {
        // 2 retries a second, ttl 10 s: the reserve holds 20, refills one every 0.5 s.
        let mut b = FinagleBudget::new(10 * S, 2, 0.0);
        assert_eq!((0..25).filter(|_| b.try_withdraw(0)).count(), 20);
        assert!(b.try_withdraw(S / 2));
        assert!(!b.try_withdraw(S / 2));
        assert!(!b.try_withdraw(3 * S / 4), "half a retry");
        assert!(
            b.try_withdraw(S),
            "the half kept from 0.75 s and another half"
        );
        assert!(!b.try_withdraw(S));
        // 3 a second, ttl 1 s: 3 in reserve. Asked every 666,666 ns, each ask refills
        // 1.999998 thousandths, credited as 1 with the time of the rest carried over, so
        // the reserve follows 3000 · t and the next retry comes at t = 1/3 s (dropping the
        // rest would halve the rate and put it at 2/3 s).
        let mut b = FinagleBudget::new(S, 3, 0.0);
        assert_eq!((0..5).filter(|_| b.try_withdraw(0)).count(), 3);
        let step = 666_666;
        let first = (1..2000u64)
            .map(|k| k * step)
            .find(|&t| b.try_withdraw(t))
            .unwrap();
        assert!(
            (S / 3 - step..=S / 3 + 2 * step).contains(&first),
            "{first}"
        );
    }
}
