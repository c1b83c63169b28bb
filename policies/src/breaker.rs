//! A circuit breaker per backend, with resilience4j's semantics.
//!
//! **Closed**: calls pass and their outcomes go into a sliding window (the last N calls, or the
//! calls of the last N seconds). Once the window holds `minimum_calls`, the breaker opens when the
//! failure rate or the slow-call rate reaches its threshold. **Open**: every call is rejected
//! until `until`. **Half-open**: the first call after `until` finds the breaker half-open (the
//! transition is lazy, as in resilience4j without `automaticTransitionFromOpenToHalfOpen`, and
//! dated at `until`); `half_open_permitted` trial calls are let through and, once all have
//! answered, the breaker closes if their rates are under the thresholds and re-opens otherwise.
//! Every transition clears the window, as resilience4j does.
//!
//! Extensions over resilience4j, each off by default:
//! - **Consecutive failures** (Envoy's outlier detection `consecutive_5xx`, default 5; Polly v7's
//!   `exceptionsAllowedBeforeBreaking`): open after N failures in a row, regardless of window or
//!   minimum calls. With the failure-rate threshold off, this is the only failure trigger, and one
//!   failed trial call in half-open re-opens at once (Polly's single trial call).
//! - **Growing open duration** (like Envoy's ejection time, which grows with each ejection up to
//!   `max_ejection_time`, and resilience4j's `IntervalFunction` backoff): each re-open from
//!   half-open multiplies the open duration, up to a cap; closing resets it.
//! - **Soft failures**: a response that arrived but was rejected by a validator is neither failed
//!   nor slow; it counts separately, by category (hallucination, refusal, ...: the caller's
//!   `u8` index), each with its own rate threshold, so a model that silently degrades can be
//!   taken out of rotation like one that errors.
//!
//! Outcomes are matched to the state they were permitted in through [`Permit`]: a result that
//! arrives after the state changed (a call let through while closed that answers during
//! half-open) is ignored, so stragglers cannot decide a half-open trial.
//!
//! Rates are integers in parts per million, compared exactly (`bad · 10⁶ ≥ threshold · calls`).

use crate::{PolicyError, PolicyErrorKind};
use sim_core::{NANOS_PER_SEC, Time};

/// Soft-failure categories with their own threshold (indices `0..MAX_SOFT_CATEGORIES`). A soft
/// failure with a larger index still counts toward [`SoftCategoryThresholds::any`].
pub const MAX_SOFT_CATEGORIES: usize = 8;

/// What the sliding window covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// The last `n` calls.
    Count(u32),
    /// The calls of the last `seconds` seconds, in one-second buckets.
    Time {
        /// The window's length in seconds, from 1 to 86,400 (a day).
        seconds: u32,
    },
}

/// How long the breaker stays open.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OpenDuration {
    /// The same duration, in nanoseconds, after every opening.
    Fixed(Time),
    /// `base` on the first opening; each re-open straight from half-open multiplies the
    /// previous duration by `multiplier` (≥ 1), up to `cap`.
    Growing {
        /// The first opening's duration, in nanoseconds.
        base: Time,
        /// The growth factor per re-open from half-open, at least 1.
        multiplier: f64,
        /// The longest the open duration may grow to, at least `base`.
        cap: Time,
    },
}

/// Soft-failure rate thresholds, in ppm of the calls in the window; `None` never opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SoftCategoryThresholds {
    /// Over soft failures of every category together.
    pub any: Option<u32>,
    /// Over soft failures of category `i` alone, at index `i`.
    pub per_category: [Option<u32>; MAX_SOFT_CATEGORIES],
}

impl SoftCategoryThresholds {
    /// No soft-failure threshold: soft failures never open the breaker.
    pub const NONE: SoftCategoryThresholds = SoftCategoryThresholds {
        any: None,
        per_category: [None; MAX_SOFT_CATEGORIES],
    };

    /// These thresholds plus `threshold_ppm` for `category`.
    pub fn with_category(
        mut self,
        category: u8,
        threshold_ppm: u32,
    ) -> Result<SoftCategoryThresholds, PolicyError> {
        let slot = self
            .per_category
            .get_mut(usize::from(category))
            .ok_or_else(|| {
                PolicyError::new(
                    "circuit breaker",
                    "category",
                    PolicyErrorKind::TooLarge,
                    format!(
                        "soft-failure category {category} has no threshold slot; categories 0 \
                         to {} can have one",
                        MAX_SOFT_CATEGORIES - 1
                    ),
                )
            })?;
        *slot = Some(threshold_ppm);
        Ok(self)
    }
}

/// A breaker's configuration. [`Default`] is resilience4j's `CircuitBreakerConfig` defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Which calls the failure, slow and soft rates are computed over.
    pub window: WindowKind,
    /// Calls the window must hold before rates are evaluated.
    pub minimum_calls: u32,
    /// Opens when failures / calls ≥ this (ppm); `None`: failure rate never opens.
    pub failure_rate_threshold_ppm: Option<u32>,
    /// Opens when slow calls / calls ≥ this (ppm); `None`: slowness never opens.
    pub slow_call_rate_threshold_ppm: Option<u32>,
    /// A call longer than this is slow (see [`BreakerConfig::is_slow`]).
    pub slow_call_duration: Time,
    /// Opens after this many failures in a row; `None`: off.
    pub consecutive_failures: Option<u32>,
    /// How long the breaker rejects calls once open.
    pub open_duration: OpenDuration,
    /// Trial calls let through in half-open.
    pub half_open_permitted: u32,
    /// Soft-failure rate thresholds; [`SoftCategoryThresholds::NONE`] by default.
    pub soft: SoftCategoryThresholds,
}

impl Default for BreakerConfig {
    /// resilience4j's `CircuitBreakerConfig` defaults: count-based window of 100 calls,
    /// minimum 100 calls, failure-rate threshold 50%, slow-call-rate threshold 100% with
    /// slow-call duration 60 s, 60 s wait in open, 10 permitted calls in half-open. No
    /// consecutive-failure trigger, fixed open duration, no soft-failure thresholds.
    fn default() -> BreakerConfig {
        BreakerConfig {
            window: WindowKind::Count(100),
            minimum_calls: 100,
            failure_rate_threshold_ppm: Some(500_000),
            slow_call_rate_threshold_ppm: Some(1_000_000),
            slow_call_duration: 60 * NANOS_PER_SEC,
            consecutive_failures: None,
            open_duration: OpenDuration::Fixed(60 * NANOS_PER_SEC),
            half_open_permitted: 10,
            soft: SoftCategoryThresholds::NONE,
        }
    }
}

impl BreakerConfig {
    /// An Envoy-style consecutive-failures breaker: opens after `failures` failures in a row
    /// (Envoy's `consecutive_5xx` default is 5), stays open `open_for` (Envoy's
    /// `base_ejection_time` default is 30 s), and closes after one successful trial call.
    pub fn consecutive(failures: u32, open_for: Time) -> BreakerConfig {
        BreakerConfig {
            failure_rate_threshold_ppm: None,
            slow_call_rate_threshold_ppm: None,
            consecutive_failures: Some(failures),
            open_duration: OpenDuration::Fixed(open_for),
            half_open_permitted: 1,
            ..BreakerConfig::default()
        }
    }

    /// Whether a call that took `latency` counts as slow (strictly longer than the duration,
    /// as in resilience4j).
    pub fn is_slow(&self, latency: Time) -> bool {
        latency > self.slow_call_duration
    }

    /// Checks the configuration: a window of at least one call or second (and at most a day), rate
    /// thresholds in (0, 1], at least one consecutive failure and one half-open trial call, and a
    /// growing open duration with multiplier ≥ 1 and cap ≥ base. The error names the field at
    /// fault (`window`, `failure_rate_threshold_ppm`, `slow_call_rate_threshold_ppm`,
    /// `soft.any`, `soft.per_category`, `consecutive_failures`, `half_open_permitted`,
    /// `open_duration.multiplier`, `open_duration.cap`) and says which rule failed.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let fail = |param, kind, message: String| {
            Err(PolicyError::new("circuit breaker", param, kind, message))
        };
        match self.window {
            WindowKind::Count(0) => {
                return fail(
                    "window",
                    PolicyErrorKind::Zero,
                    "breaker window must hold at least 1 call".into(),
                );
            }
            WindowKind::Time { seconds: 0 } => {
                return fail(
                    "window",
                    PolicyErrorKind::Zero,
                    "breaker time window must be at least 1 second".into(),
                );
            }
            WindowKind::Time { seconds } if seconds > 86_400 => {
                return fail(
                    "window",
                    PolicyErrorKind::TooLarge,
                    format!(
                        "breaker time window of {seconds} s is over a day; one-second buckets \
                         would use too much memory"
                    ),
                );
            }
            _ => {}
        }
        let rate = |param, name: &str, v: Option<u32>| match v {
            Some(p) if p == 0 || p > 1_000_000 => fail(
                param,
                PolicyErrorKind::OutOfRange,
                format!(
                    "breaker {name} must be in (0, 1], got {}",
                    f64::from(p) / 1e6
                ),
            ),
            _ => Ok(()),
        };
        rate(
            "failure_rate_threshold_ppm",
            "failure-rate threshold",
            self.failure_rate_threshold_ppm,
        )?;
        rate(
            "slow_call_rate_threshold_ppm",
            "slow-call-rate threshold",
            self.slow_call_rate_threshold_ppm,
        )?;
        rate("soft.any", "soft-failure threshold", self.soft.any)?;
        for (i, t) in self.soft.per_category.iter().enumerate() {
            rate(
                "soft.per_category",
                &format!("soft-failure threshold of category {i}"),
                *t,
            )?;
        }
        if self.consecutive_failures == Some(0) {
            return fail(
                "consecutive_failures",
                PolicyErrorKind::Zero,
                "breaker consecutive failures must be at least 1".into(),
            );
        }
        if self.half_open_permitted == 0 {
            return fail(
                "half_open_permitted",
                PolicyErrorKind::Zero,
                "breaker must permit at least 1 call in half-open".into(),
            );
        }
        if let OpenDuration::Growing {
            base,
            multiplier,
            cap,
        } = self.open_duration
        {
            if !(multiplier.is_finite() && multiplier >= 1.0) {
                return fail(
                    "open_duration.multiplier",
                    PolicyErrorKind::OutOfRange,
                    format!(
                        "breaker open-duration multiplier must be a number ≥ 1, got {multiplier}"
                    ),
                );
            }
            if cap < base {
                return fail(
                    "open_duration.cap",
                    PolicyErrorKind::OutOfOrder,
                    "breaker open-duration cap must be at least its base".into(),
                );
            }
        }
        Ok(())
    }

    fn base_open(&self) -> Time {
        match self.open_duration {
            OpenDuration::Fixed(d) | OpenDuration::Growing { base: d, .. } => d,
        }
    }

    fn grown_open(&self, previous: Time) -> Time {
        match self.open_duration {
            OpenDuration::Fixed(d) => d,
            OpenDuration::Growing {
                multiplier, cap, ..
            } => {
                // f64 multiplication is exactly rounded, hence the same on every platform.
                let grown = previous as f64 * multiplier;
                if grown >= cap as f64 {
                    cap
                } else {
                    (grown as Time).max(previous).min(cap)
                }
            }
        }
    }
}

/// The outcome of one permitted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CallResult {
    /// A hard failure (one the caller records, typically its retryable classes and timeouts).
    pub failed: bool,
    /// Slower than the slow-call duration.
    pub slow: bool,
    /// A soft failure detected by a validator, with its category index.
    pub soft_category: Option<u8>,
}

impl CallResult {
    /// A fast success: neither failed, slow nor soft-failed.
    pub const SUCCESS: CallResult = CallResult {
        failed: false,
        slow: false,
        soft_category: None,
    };
    /// A hard failure that was not slow.
    pub const FAILURE: CallResult = CallResult {
        failed: true,
        slow: false,
        soft_category: None,
    };
}

/// The breaker's state as callers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Letting calls through and recording their outcomes in the window.
    Closed,
    /// Rejecting every call.
    Open {
        /// When the open period ends; the first call at or after it finds the breaker half-open.
        until: Time,
    },
    /// Letting through its trial calls, whose results decide between closing and re-opening.
    HalfOpen,
}

impl BreakerState {
    /// A stable snake_case name for reports.
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open { .. } => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

/// Leave to make one call, to be handed back with its result ([`CircuitBreaker::record`]) or,
/// if the call ends without one (cancelled hedge), with [`CircuitBreaker::release`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permit {
    epoch: u32,
    probe: bool,
}

impl Permit {
    /// Whether this is a half-open trial call.
    pub fn is_trial(&self) -> bool {
        self.probe
    }
}

/// Counters for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BreakerStats {
    /// Transitions into open (from closed or half-open).
    pub opened: u64,
    /// Transitions from open into half-open.
    pub half_opened: u64,
    /// Transitions from half-open back to closed.
    pub closed: u64,
    /// Calls refused by [`CircuitBreaker::allow`].
    pub rejected: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Tally {
    calls: u64,
    failures: u64,
    slow: u64,
    soft_any: u64,
    soft: [u64; MAX_SOFT_CATEGORIES],
}

impl Tally {
    fn add(&mut self, r: CallResult) {
        self.calls += 1;
        self.failures += u64::from(r.failed);
        self.slow += u64::from(r.slow);
        if let Some(c) = r.soft_category {
            self.soft_any += 1;
            if let Some(n) = self.soft.get_mut(usize::from(c)) {
                *n += 1;
            }
        }
    }

    fn sub(&mut self, r: CallResult) {
        self.calls -= 1;
        self.failures -= u64::from(r.failed);
        self.slow -= u64::from(r.slow);
        if let Some(c) = r.soft_category {
            self.soft_any -= 1;
            if let Some(n) = self.soft.get_mut(usize::from(c)) {
                *n -= 1;
            }
        }
    }

    fn unmerge(&mut self, o: &Tally) {
        self.calls -= o.calls;
        self.failures -= o.failures;
        self.slow -= o.slow;
        self.soft_any -= o.soft_any;
        for (a, b) in self.soft.iter_mut().zip(o.soft) {
            *a -= b;
        }
    }
}

fn reaches(bad: u64, calls: u64, threshold_ppm: Option<u32>) -> bool {
    threshold_ppm.is_some_and(|t| {
        calls > 0 && u128::from(bad) * 1_000_000 >= u128::from(t) * u128::from(calls)
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Window {
    Count {
        ring: Vec<CallResult>,
        next: usize,
        tally: Tally,
    },
    Time {
        buckets: Vec<Tally>,
        /// Second (since time 0) of the newest bucket.
        head: u64,
        tally: Tally,
    },
}

impl Window {
    fn new(kind: WindowKind) -> Window {
        match kind {
            WindowKind::Count(n) => Window::Count {
                ring: Vec::with_capacity(n.max(1) as usize),
                next: 0,
                tally: Tally::default(),
            },
            WindowKind::Time { seconds } => Window::Time {
                buckets: vec![Tally::default(); seconds.max(1) as usize],
                head: 0,
                tally: Tally::default(),
            },
        }
    }

    fn clear(&mut self) {
        match self {
            Window::Count { ring, next, tally } => {
                ring.clear();
                *next = 0;
                *tally = Tally::default();
            }
            Window::Time { buckets, tally, .. } => {
                buckets.fill(Tally::default());
                *tally = Tally::default();
            }
        }
    }

    /// Drops the buckets that left a time window by `now` (lazily: nothing ticks).
    fn advance(&mut self, now: Time) {
        if let Window::Time {
            buckets,
            head,
            tally,
        } = self
        {
            let current = now / NANOS_PER_SEC;
            if current <= *head {
                return;
            }
            let n = buckets.len() as u64;
            for k in 1..=(current - *head).min(n) {
                let b = &mut buckets[((*head + k) % n) as usize];
                tally.unmerge(b);
                *b = Tally::default();
            }
            *head = current;
        }
    }

    fn record(&mut self, now: Time, r: CallResult, capacity: u32) {
        self.advance(now);
        match self {
            Window::Count { ring, next, tally } => {
                if ring.len() < capacity as usize {
                    ring.push(r);
                } else {
                    tally.sub(ring[*next]);
                    ring[*next] = r;
                    *next = (*next + 1) % ring.len();
                }
                tally.add(r);
            }
            Window::Time {
                buckets,
                head,
                tally,
            } => {
                let n = buckets.len() as u64;
                buckets[(*head % n) as usize].add(r);
                tally.add(r);
            }
        }
    }

    fn tally(&mut self, now: Time) -> Tally {
        self.advance(now);
        match self {
            Window::Count { tally, .. } | Window::Time { tally, .. } => *tally,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inner {
    Closed,
    Open { until: Time },
    HalfOpen { issued: u32, results: Tally },
}

/// A circuit breaker.
#[derive(Debug, Clone, PartialEq)]
pub struct CircuitBreaker {
    cfg: BreakerConfig,
    window: Window,
    state: Inner,
    /// Changes on every transition; permits from another epoch are stale.
    epoch: u32,
    consecutive: u32,
    open_for: Time,
    since: Time,
    stats: BreakerStats,
    #[cfg(test)]
    log: Vec<(&'static str, &'static str)>,
}

impl CircuitBreaker {
    /// A closed breaker with an empty window; fails with [`BreakerConfig::validate`]'s error if
    /// the configuration is invalid.
    pub fn new(cfg: BreakerConfig) -> Result<CircuitBreaker, PolicyError> {
        cfg.validate()?;
        Ok(CircuitBreaker {
            window: Window::new(cfg.window),
            cfg,
            state: Inner::Closed,
            epoch: 0,
            consecutive: 0,
            open_for: cfg.base_open(),
            since: 0,
            stats: BreakerStats::default(),
            #[cfg(test)]
            log: Vec::new(),
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &BreakerConfig {
        &self.cfg
    }

    /// Transition and rejection counts so far.
    pub fn stats(&self) -> BreakerStats {
        self.stats
    }

    fn public(state: Inner) -> BreakerState {
        match state {
            Inner::Closed => BreakerState::Closed,
            Inner::Open { until } => BreakerState::Open { until },
            Inner::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    fn transition(&mut self, to: Inner, at: Time) {
        #[cfg(test)]
        self.log
            .push((Self::public(self.state).name(), Self::public(to).name()));
        match to {
            Inner::Closed => self.stats.closed += 1,
            Inner::Open { .. } => self.stats.opened += 1,
            Inner::HalfOpen { .. } => self.stats.half_opened += 1,
        }
        self.state = to;
        self.since = at;
        self.epoch = self.epoch.wrapping_add(1);
        self.consecutive = 0;
        self.window.clear();
    }

    fn open(&mut self, now: Time) {
        self.open_for = match self.state {
            Inner::HalfOpen { .. } => self.cfg.grown_open(self.open_for),
            _ => self.cfg.base_open(),
        };
        let until = now.saturating_add(self.open_for);
        self.transition(Inner::Open { until }, now);
    }

    /// Half-opens an open breaker whose wait is over.
    fn advance(&mut self, now: Time) {
        if let Inner::Open { until } = self.state
            && now >= until
        {
            self.transition(
                Inner::HalfOpen {
                    issued: 0,
                    results: Tally::default(),
                },
                until,
            );
        }
    }

    /// The state at `now` (half-opening an open breaker whose wait is over).
    pub fn state(&mut self, now: Time) -> BreakerState {
        self.advance(now);
        Self::public(self.state)
    }

    /// The state at `now` and when it began (for time-in-state accounting; a lazy half-open
    /// is dated at the end of the wait, not at the call that noticed it).
    pub fn state_since(&mut self, now: Time) -> (BreakerState, Time) {
        let s = self.state(now);
        (s, self.since)
    }

    /// Asks to make a call at `now`: a permit, or `None` when open, or when half-open and all
    /// trial calls are taken.
    pub fn allow(&mut self, now: Time) -> Option<Permit> {
        self.advance(now);
        match &mut self.state {
            Inner::Closed => Some(Permit {
                epoch: self.epoch,
                probe: false,
            }),
            Inner::HalfOpen { issued, .. } if *issued < self.cfg.half_open_permitted => {
                *issued += 1;
                Some(Permit {
                    epoch: self.epoch,
                    probe: true,
                })
            }
            _ => {
                self.stats.rejected += 1;
                None
            }
        }
    }

    /// Hands back a permit whose call ended without a result (cancelled), freeing its trial
    /// slot in half-open.
    pub fn release(&mut self, permit: Permit) {
        if permit.epoch != self.epoch {
            return;
        }
        if let Inner::HalfOpen { issued, .. } = &mut self.state {
            *issued = issued.saturating_sub(1);
        }
    }

    fn trips(&self, t: &Tally, minimum_calls: u32) -> bool {
        if t.calls < u64::from(minimum_calls.max(1)) {
            return false;
        }
        let soft = &self.cfg.soft;
        reaches(t.failures, t.calls, self.cfg.failure_rate_threshold_ppm)
            || reaches(t.slow, t.calls, self.cfg.slow_call_rate_threshold_ppm)
            || reaches(t.soft_any, t.calls, soft.any)
            || t.soft
                .iter()
                .zip(soft.per_category)
                .any(|(&n, threshold)| reaches(n, t.calls, threshold))
    }

    /// Records the result of a permitted call at `now`. Returns the new state if this result
    /// changed it. Results under a stale permit (the state changed since) are ignored.
    pub fn record(
        &mut self,
        now: Time,
        permit: Permit,
        result: CallResult,
    ) -> Option<BreakerState> {
        self.advance(now);
        if permit.epoch != self.epoch {
            return None;
        }
        match self.state {
            Inner::Closed => {
                self.consecutive = if result.failed {
                    self.consecutive + 1
                } else {
                    0
                };
                self.window.record(now, result, self.window_capacity());
                let tally = self.window.tally(now);
                if self
                    .cfg
                    .consecutive_failures
                    .is_some_and(|n| self.consecutive >= n)
                    || self.trips(&tally, self.cfg.minimum_calls)
                {
                    self.open(now);
                }
            }
            Inner::HalfOpen {
                issued,
                mut results,
            } => {
                results.add(result);
                let permitted = self.cfg.half_open_permitted;
                let trial_failed_fast =
                    result.failed && self.cfg.failure_rate_threshold_ppm.is_none();
                if trial_failed_fast
                    || (results.calls >= u64::from(permitted) && self.trips(&results, permitted))
                {
                    self.open(now);
                } else if results.calls >= u64::from(permitted) {
                    self.transition(Inner::Closed, now);
                } else {
                    self.state = Inner::HalfOpen { issued, results };
                }
            }
            Inner::Open { .. } => return None,
        }
        (self.epoch != permit.epoch).then_some(Self::public(self.state))
    }

    fn window_capacity(&self) -> u32 {
        match self.cfg.window {
            WindowKind::Count(n) => n,
            WindowKind::Time { .. } => u32::MAX,
        }
    }
}

#[cfg(test)]
mod tests;
