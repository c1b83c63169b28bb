//! The AWS SDKs' "adaptive" retry mode's client-side rate limiter: a token bucket whose fill
//! rate follows CUBIC (the TCP congestion-control curve) on the client's own throttling errors.
//!
//! As botocore's `retries/adaptive.py`, `throttling.py` and `bucket.py` do it:
//!
//! - The limiter is off until the first throttling error; then every attempt takes a token
//!   first, waiting for one when the bucket is empty.
//! - Every response (answer or error) updates the rate. The client measures its own sending
//!   rate (responses per half-second bucket, smoothed 0.8 new / 0.2 old). A throttling error
//!   sets CUBIC's `w_max` to the rate in use (the measured rate, or the bucket's fill rate if
//!   lower) and multiplies it by β = 0.7; any other response moves it along the cubic
//!   `C·(t − t_fail − K)³ + w_max`, C = 0.4, K = ∛(w_max·(1 − β)/C), which climbs back to
//!   `w_max` after `K` seconds and probes beyond it after.
//! - The fill rate is never above twice the measured rate, and never below 0.5 per second; the
//!   bucket holds at most `max(1, rate)` tokens.
//!
//! Times are virtual nanoseconds turned into seconds; the cube root is libm's.

use sim_core::{NANOS_PER_SEC, Time};

const SCALE: f64 = 0.4;
const BETA: f64 = 0.7;
const SMOOTHING: f64 = 0.8;
/// Half-second buckets for the measured rate: twice a second.
const BUCKETS_PER_SEC: f64 = 2.0;
const MIN_FILL_RATE: f64 = 0.5;
const MAX_RATE_ADJUST: f64 = 2.0;

fn secs(t: Time) -> f64 {
    t as f64 / NANOS_PER_SEC as f64
}

/// One client's adaptive rate limiter.
#[derive(Debug, Clone)]
pub struct ClientRateLimiter {
    enabled: bool,
    // CUBIC.
    w_max: f64,
    k: f64,
    last_fail: f64,
    // The token bucket.
    fill_rate: f64,
    max_capacity: f64,
    capacity: f64,
    refilled: Option<f64>,
    // The measured sending rate.
    measured: f64,
    count: f64,
    last_bucket: f64,
}

impl Default for ClientRateLimiter {
    fn default() -> Self {
        ClientRateLimiter::new()
    }
}

impl ClientRateLimiter {
    /// Off until the first throttling error, as a fresh SDK client is.
    pub fn new() -> ClientRateLimiter {
        ClientRateLimiter {
            enabled: false,
            w_max: 0.0,
            k: 0.0,
            last_fail: 0.0,
            fill_rate: 1.0,
            max_capacity: 1.0,
            capacity: 0.0,
            refilled: None,
            measured: 0.0,
            count: 0.0,
            last_bucket: 0.0,
        }
    }

    /// Whether a throttling error has switched the limiter on.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The bucket's fill rate: attempts per second the client may send.
    pub fn rate(&self) -> f64 {
        self.fill_rate
    }

    /// The client's measured sending rate (responses per second, smoothed).
    pub fn measured_rate(&self) -> f64 {
        self.measured
    }

    /// Tokens in the bucket (negative: owed to attempts waiting for them).
    pub fn tokens(&self) -> f64 {
        self.capacity
    }

    fn refill(&mut self, t: f64) {
        if let Some(last) = self.refilled {
            let gained = (t - last).max(0.0) * self.fill_rate;
            self.capacity = (self.capacity + gained).min(self.max_capacity);
        }
        self.refilled = Some(t);
    }

    fn set_rate(&mut self, t: f64, rate: f64) {
        self.refill(t);
        self.fill_rate = rate.max(MIN_FILL_RATE);
        self.max_capacity = rate.max(1.0);
        self.capacity = self.capacity.min(self.max_capacity);
    }

    /// An attempt is about to be sent: it takes a token, waiting first when the bucket has
    /// none. Returns the wait (0: go now, or the limiter is off). Waiting attempts queue for
    /// tokens in the order they asked (the SDK's blocked threads, woken one per token): the
    /// bucket goes into debt, and each waits until its own token has filled in at the present
    /// rate.
    pub fn reserve(&mut self, now: Time) -> Time {
        if !self.enabled {
            return 0;
        }
        let t = secs(now);
        self.refill(t);
        self.capacity -= 1.0;
        // A token that floating-point rounding left a hair short of whole is whole.
        if self.capacity >= -1e-9 {
            self.capacity = self.capacity.max(0.0);
            return 0;
        }
        let wait = -self.capacity / self.fill_rate * NANOS_PER_SEC as f64;
        (wait.ceil() as Time).max(1)
    }

    /// A response came back at `now`; `throttled` when it was a throttling error (429, 529).
    pub fn on_response(&mut self, now: Time, throttled: bool) {
        let t = secs(now);
        // The measured rate: responses per half-second bucket, smoothed.
        let bucket = libm::floor(t * BUCKETS_PER_SEC) / BUCKETS_PER_SEC;
        self.count += 1.0;
        if bucket > self.last_bucket {
            let current = self.count / (bucket - self.last_bucket);
            self.measured = current * SMOOTHING + self.measured * (1.0 - SMOOTHING);
            self.count = 0.0;
            self.last_bucket = bucket;
        }
        let new_rate = if throttled {
            let in_use = if self.enabled {
                self.measured.min(self.fill_rate)
            } else {
                self.measured
            };
            self.enabled = true;
            self.w_max = in_use;
            self.k = libm::cbrt(self.w_max * (1.0 - BETA) / SCALE);
            self.last_fail = t;
            in_use * BETA
        } else {
            let d = t - self.last_fail - self.k;
            SCALE * d * d * d + self.w_max
        };
        self.set_rate(t, new_rate.min(MAX_RATE_ADJUST * self.measured));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Time = 1_000_000;
    const S: Time = NANOS_PER_SEC;

    #[test]
    fn off_until_the_first_throttle() {
        let mut l = ClientRateLimiter::new();
        for i in 0..100 {
            assert_eq!(l.reserve(i * MS), 0);
            l.on_response(i * MS, false);
        }
        assert!(!l.enabled());
        l.on_response(100 * MS, true);
        assert!(l.enabled());
    }

    #[test]
    fn cubic_matches_botocore_worked_values() {
        // botocore's CubicCalculator test values: w_max 10, β 0.7, C 0.4 give
        // K = ∛(10·0.3/0.4) = ∛7.5 ≈ 1.957, and the rate after an error is 7.
        let k = libm::cbrt(10.0 * (1.0 - BETA) / SCALE);
        assert!((k - 1.957_433_57).abs() < 1e-6);
        let mut l = ClientRateLimiter::new();
        // Ten responses a second for two seconds: the measured rate settles near 10/s.
        for i in 0..20 {
            l.on_response(i * 100 * MS, false);
        }
        let measured = l.measured_rate();
        assert!((8.0..=10.5).contains(&measured), "measured {measured}");
        l.on_response(2 * S, true);
        let after = l.rate();
        let in_use = l.measured_rate();
        assert!((after - in_use * BETA).abs() < 1e-9, "{after} vs {in_use}");
    }

    #[test]
    fn after_a_throttle_attempts_are_paced_at_the_fill_rate() {
        let mut l = ClientRateLimiter::new();
        for i in 0..40 {
            l.on_response(i * 50 * MS, false);
        }
        l.on_response(2 * S, true);
        let rate = l.rate();
        assert!(rate > MIN_FILL_RATE);
        // The bucket kept filling while the limiter was off: it holds at most max(1, rate)
        // tokens, then every further attempt waits for a token of its own, in turn.
        let now = 2 * S;
        // (At most 1,000 tries, so that a limiter that never makes an attempt wait fails here
        // rather than looping.)
        let mut burst = 0;
        while burst < 1000 && l.reserve(now) == 0 {
            burst += 1;
        }
        assert!(burst as f64 <= rate.max(1.0), "{burst} vs {rate}");
        // That one waits less than a token; the next ones one token more each.
        let owed = -l.tokens();
        assert!(owed > 0.0 && owed <= 1.0);
        let first = (owed / rate * S as f64).ceil();
        let second = l.reserve(now);
        let third = l.reserve(now);
        let token = S as f64 / rate;
        assert!(
            (second as f64 - first - token).abs() <= 2.0,
            "{second} vs {first} + {token}"
        );
        assert!((third as f64 - second as f64 - token).abs() <= 2.0);
    }

    #[test]
    fn successes_climb_back_past_w_max_after_k_seconds() {
        let mut l = ClientRateLimiter::new();
        for i in 0..200 {
            l.on_response(i * 10 * MS, false);
        }
        l.on_response(2 * S, true);
        let w_max = l.w_max;
        let k = l.k;
        // Keep responses coming at the old pace so the 2×measured cap does not bind.
        let mut t = 2 * S;
        while secs(t) < 2.0 + k - 0.2 {
            t += 10 * MS;
            l.on_response(t, false);
        }
        assert!(l.rate() < w_max, "still below w_max before K");
        while secs(t) < 2.0 + k + 1.5 {
            t += 10 * MS;
            l.on_response(t, false);
        }
        assert!(
            l.rate() > w_max,
            "beyond w_max after K: {} vs {w_max}",
            l.rate()
        );
        // Never above twice the measured rate.
        assert!(l.rate() <= 2.0 * l.measured_rate() + 1e-9);
    }

    #[test]
    fn the_fill_rate_has_a_floor() {
        let mut l = ClientRateLimiter::new();
        // Throttled at once, inside the first half-second (nothing measured yet): the rate in
        // use is 0 and the floor of 0.5/s holds; one token every two seconds.
        l.on_response(100 * MS, true);
        assert!(l.enabled());
        assert_eq!(l.rate(), MIN_FILL_RATE);
        assert_eq!(l.reserve(100 * MS), 2 * S);
        assert_eq!(l.reserve(100 * MS), 4 * S);
    }

    /// Asserts `a` is `b` to 1e-9.
    fn near(a: f64, b: f64, what: &str) {
        assert!((a - b).abs() < 1e-9, "{what}: {a} vs {b}");
    }

    #[test]
    fn a_hand_worked_trace_of_the_measured_rate_the_bucket_and_cubic() {
        let mut l = ClientRateLimiter::new();
        // 0.1 s, a success, in the first half-second bucket: nothing measured yet; the cubic
        // from w_max 0 gives 0.4·0.1³, capped at twice the measured rate (0): the floor 0.5.
        l.on_response(100 * MS, false);
        near(l.measured_rate(), 0.0, "measured at 0.1 s");
        near(l.rate(), 0.5, "rate at 0.1 s");
        near(l.tokens(), 0.0, "tokens at 0.1 s");
        // 0.6 s: bucket 0.5 s; two responses over 0.5 s are 4/s, smoothed 0.8·4 + 0.2·0 = 3.2.
        // The bucket filled 0.5 s at 0.5/s: 0.25 tokens. The cubic, 0.4·0.6³ = 0.0864, is below
        // the floor.
        l.on_response(600 * MS, false);
        near(l.measured_rate(), 3.2, "measured at 0.6 s");
        near(l.rate(), 0.5, "rate at 0.6 s");
        near(l.tokens(), 0.25, "tokens at 0.6 s");
        assert!(!l.enabled());
        // 1.2 s, throttled: bucket 1.0 s; one response in 0.5 s is 2/s, smoothed
        // 0.8·2 + 0.2·3.2 = 2.24, the rate in use (the limiter was off), so w_max = 2.24,
        // K = ∛(2.24·0.3/0.4) = ∛1.68, and the rate 0.7·2.24 = 1.568. Tokens: 0.25 + 0.6·0.5.
        l.on_response(1200 * MS, true);
        assert!(l.enabled());
        near(l.measured_rate(), 2.24, "measured at 1.2 s");
        near(l.w_max, 2.24, "w_max");
        near(l.k, 1.188_784_390_552_626, "K");
        near(l.rate(), 1.568, "rate after the throttle");
        near(l.tokens(), 0.55, "tokens at 1.2 s");
        // An attempt at 1.2 s owes 0.45 tokens: it waits 0.45 / 1.568 s = 286,989,795.9 ns.
        assert_eq!(l.reserve(1200 * MS), 286_989_796);
        near(l.tokens(), -0.45, "tokens owed");
        // 1.3 s, throttled again (same bucket: the measured rate stays 2.24): the rate in use
        // is now the lower fill rate, 1.568, so w_max = 1.568 and the rate 1.0976; the bucket
        // filled 0.1 s at 1.568/s.
        l.on_response(1300 * MS, true);
        near(l.w_max, 1.568, "w_max after a second throttle");
        near(l.rate(), 1.0976, "rate after a second throttle");
        near(l.tokens(), -0.2932, "tokens at 1.3 s");
        // 2.0 s, a success: bucket 2.0 s; two responses over 1 s, 2/s, smoothed
        // 0.8·2 + 0.2·2.24 = 2.048. The cubic at 0.7 s after the throttle, K = ∛1.176:
        // 0.4·(0.7 − 1.055526)³ + 1.568 = 1.550025. Tokens: −0.2932 + 0.7·1.0976 = 0.47512.
        l.on_response(2 * S, false);
        near(l.measured_rate(), 2.048, "measured at 2 s");
        near(l.rate(), 1.550_024_721_759_712, "rate on the cubic");
        near(l.tokens(), 0.47512, "tokens at 2 s");
    }
}
