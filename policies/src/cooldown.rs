//! LiteLLM-style deployment cooldown: a backend that fails more than `allowed_fails` times within
//! a minute is skipped by routing for `cooldown` and then simply used again (no half-open trial,
//! unlike a [`CircuitBreaker`](crate::CircuitBreaker)).
//!
//! Defaults follow LiteLLM's `litellm/constants.py`: `DEFAULT_ALLOWED_FAILS = 3` and
//! `DEFAULT_COOLDOWN_TIME_SECONDS = 5`; the router cools a deployment down when a new failure
//! would make the count exceed `allowed_fails` (`updated_fails > allowed_fails`). LiteLLM keeps
//! that count in a cache entry with a TTL; here it is a sliding window of `window` (default one
//! minute, the "fails per minute" of LiteLLM's docs) at one-second resolution, which is what the
//! docs describe and does not depend on cache expiry details. The count is cleared when a
//! cooldown starts, so a backend returns with its full allowance; failures reported while it is
//! cooling down (calls sent before it started) are ignored.
//!
//! LiteLLM also cools down at once on errors that cannot be retried (401, 404) and, without an
//! allowed-fails policy, on a failure rate over 50% in the minute; callers wanting those call
//! [`Cooldown::cool_down`] themselves.

use crate::window::SlidingWindow;
use crate::{PolicyError, PolicyErrorKind};
use sim_core::{NANOS_PER_SEC, Time};

/// Cooldown settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CooldownConfig {
    /// Failures tolerated within `window`; one more starts a cooldown.
    pub allowed_fails: u32,
    /// How long the backend is skipped.
    pub cooldown: Time,
    /// The span failures are counted over.
    pub window: Time,
}

impl Default for CooldownConfig {
    /// LiteLLM's defaults: 3 allowed fails per minute, 5 s cooldown.
    fn default() -> CooldownConfig {
        CooldownConfig {
            allowed_fails: 3,
            cooldown: 5 * NANOS_PER_SEC,
            window: 60 * NANOS_PER_SEC,
        }
    }
}

/// One-second slices (at most an hour's worth: longer windows get coarser slices).
fn failure_window(cfg: &CooldownConfig) -> SlidingWindow {
    SlidingWindow::new(cfg.window, (cfg.window / NANOS_PER_SEC).min(3_600) as usize)
}

/// One backend's cooldown state.
#[derive(Debug, Clone, PartialEq)]
pub struct Cooldown {
    cfg: CooldownConfig,
    fails: SlidingWindow,
    until: Option<Time>,
    cooldowns: u64,
}

impl Cooldown {
    /// A backend not cooling down, with no failures counted; the failure window must be at least one
    /// second (it is counted in one-second slices).
    pub fn new(cfg: CooldownConfig) -> Result<Cooldown, PolicyError> {
        if cfg.window < NANOS_PER_SEC {
            return Err(PolicyError::new(
                "cooldown",
                "window",
                PolicyErrorKind::Zero,
                "cooldown failure window must be at least 1 second",
            ));
        }
        Ok(Cooldown {
            cfg,
            fails: failure_window(&cfg),
            until: None,
            cooldowns: 0,
        })
    }

    /// Whether the backend may be picked at `now`.
    pub fn is_available(&self, now: Time) -> bool {
        self.cooling_until(now).is_none()
    }

    /// The end of the current cooldown, if the backend is cooling down at `now`.
    pub fn cooling_until(&self, now: Time) -> Option<Time> {
        self.until.filter(|&until| now < until)
    }

    /// Records a failure at `now`; returns `true` if it started a cooldown.
    pub fn on_failure(&mut self, now: Time) -> bool {
        if !self.is_available(now) {
            return false;
        }
        self.fails.add(now, 1);
        if self.fails.total(now) > i64::from(self.cfg.allowed_fails) {
            self.cool_down(now);
            return true;
        }
        false
    }

    /// Starts a cooldown at `now` regardless of the count (for errors that warrant one at
    /// once). Extends, never shortens, a running one.
    pub fn cool_down(&mut self, now: Time) {
        let until = now.saturating_add(self.cfg.cooldown);
        if self.cooling_until(now).is_none() {
            self.cooldowns += 1;
        }
        self.until = Some(self.until.map_or(until, |u| u.max(until)));
        self.fails = failure_window(&self.cfg);
    }

    /// Cooldowns started so far (for reports).
    pub fn cooldowns(&self) -> u64 {
        self.cooldowns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Time = NANOS_PER_SEC;

    #[test]
    fn the_fourth_failure_in_a_minute_cools_down_for_five_seconds() {
        let mut c = Cooldown::new(CooldownConfig::default()).unwrap();
        assert!(!c.on_failure(S));
        assert!(!c.on_failure(2 * S));
        assert!(!c.on_failure(3 * S));
        assert!(c.is_available(3 * S));
        assert!(c.on_failure(4 * S));
        assert_eq!(c.cooling_until(4 * S), Some(9 * S));
        assert!(!c.is_available(9 * S - 1));
        assert!(!c.on_failure(5 * S), "ignored while cooling down");
        assert!(c.is_available(9 * S));
        assert!(!c.on_failure(10 * S), "allowance restored");
        assert_eq!(c.cooldowns(), 1);
        // Three more failures within the minute make the second cooldown; a forced one while
        // it runs extends it without counting another.
        for t in [11, 12, 13] {
            assert_eq!(c.on_failure(t * S), t == 13, "failure at {t} s");
        }
        assert_eq!(c.cooling_until(13 * S), Some(18 * S));
        c.cool_down(15 * S);
        assert_eq!(c.cooling_until(15 * S), Some(20 * S));
        assert_eq!(c.cooldowns(), 2);
    }

    /// The window slides a second at a time: three failures in the last second of one minute
    /// still count early in the next, so a fourth at 61 s cools down (a window cleared once a
    /// minute would have forgotten them at 60 s).
    #[test]
    fn the_window_slides_by_the_second() {
        let mut c = Cooldown::new(CooldownConfig::default()).unwrap();
        assert_eq!(c.cooldowns(), 0);
        for t in [59_000, 59_500, 59_900] {
            assert!(!c.on_failure(t * S / 1_000));
        }
        assert!(c.on_failure(61 * S));
        // Past the window (failures at 59 s leave it at 120 s) the count starts over.
        let mut d = Cooldown::new(CooldownConfig::default()).unwrap();
        for t in [59, 59, 59] {
            assert!(!d.on_failure(t * S));
        }
        assert!(!d.on_failure(120 * S));
    }

    #[test]
    fn failures_spread_over_more_than_a_minute_do_not_cool_down() {
        let mut c = Cooldown::new(CooldownConfig::default()).unwrap();
        for i in 0..20 {
            assert!(!c.on_failure(i * 30 * S), "failure {i}");
        }
        assert!(
            Cooldown::new(CooldownConfig {
                window: 0,
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn a_window_under_a_second_names_the_window() {
        let cfg = |window| CooldownConfig {
            allowed_fails: 3,
            cooldown: NANOS_PER_SEC,
            window,
        };
        let e = Cooldown::new(cfg(NANOS_PER_SEC - 1)).unwrap_err();
        assert_eq!((e.param, e.kind), ("window", crate::PolicyErrorKind::Zero));
        assert!(Cooldown::new(cfg(NANOS_PER_SEC)).is_ok());
    }
}
