//! The breaker's unit tests (hand-worked traces against resilience4j's semantics) and properties.

use super::*;
use proptest::prelude::*;

const S: Time = NANOS_PER_SEC;

fn small(window: WindowKind) -> BreakerConfig {
    BreakerConfig {
        window,
        minimum_calls: 4,
        open_duration: OpenDuration::Fixed(60 * S),
        half_open_permitted: 3,
        ..BreakerConfig::default()
    }
}

fn call(b: &mut CircuitBreaker, now: Time, r: CallResult) -> Option<BreakerState> {
    let p = b.allow(now).expect("permitted");
    b.record(now, p, r)
}

#[test]
fn resilience4j_defaults() {
    let c = BreakerConfig::default();
    assert_eq!(c.window, WindowKind::Count(100));
    assert_eq!(c.minimum_calls, 100);
    assert_eq!(c.failure_rate_threshold_ppm, Some(500_000));
    assert_eq!(c.slow_call_rate_threshold_ppm, Some(1_000_000));
    assert_eq!(c.slow_call_duration, 60 * S);
    assert_eq!(c.open_duration, OpenDuration::Fixed(60 * S));
    assert_eq!(c.half_open_permitted, 10);
    assert!(c.validate().is_ok());
}

#[test]
fn slow_calls_open_the_breaker_at_the_slow_call_rate_threshold() {
    // Failures never open it; half the last four calls slower than 1 s do.
    let cfg = BreakerConfig {
        failure_rate_threshold_ppm: None,
        slow_call_rate_threshold_ppm: Some(500_000),
        slow_call_duration: S,
        ..small(WindowKind::Count(4))
    };
    assert!(!cfg.is_slow(S), "exactly the duration is not slow");
    assert!(cfg.is_slow(S + 1));
    let slow = CallResult {
        slow: true,
        ..CallResult::SUCCESS
    };
    let mut b = CircuitBreaker::new(cfg).unwrap();
    // slow, fast, fast, fast: 1 of 4; then slow: the last four hold 1 of 4 again.
    for (k, r) in [slow, CallResult::SUCCESS, CallResult::SUCCESS]
        .into_iter()
        .chain([CallResult::SUCCESS, slow])
        .enumerate()
    {
        assert_eq!(call(&mut b, k as Time * S, r), None, "call {k}");
    }
    // fast, fast, slow, slow: 2 of 4 reaches 50%.
    assert_eq!(
        call(&mut b, 5 * S, slow),
        Some(BreakerState::Open { until: 65 * S })
    );
    // Trials: three slow ones re-open it; three fast ones close it.
    for k in 0..3 {
        let p = b.allow(65 * S + k).expect("a trial");
        let state = b.record(66 * S, p, slow);
        assert_eq!(state.is_some(), k == 2, "trial {k}");
    }
    assert_eq!(b.state(66 * S), BreakerState::Open { until: 126 * S });
    for k in 0..3 {
        let p = b.allow(126 * S + k).expect("a trial");
        b.record(127 * S, p, CallResult::SUCCESS);
    }
    assert_eq!(b.state(127 * S), BreakerState::Closed);
    // Failures that are not slow leave it closed: the failure rule is off.
    for k in 0..8 {
        assert_eq!(call(&mut b, 130 * S + k, CallResult::FAILURE), None);
    }
}

#[test]
fn opens_and_half_opens_at_the_configured_moments() {
    let mut b = CircuitBreaker::new(small(WindowKind::Count(4))).unwrap();
    assert_eq!(call(&mut b, S, CallResult::SUCCESS), None);
    assert_eq!(call(&mut b, 2 * S, CallResult::FAILURE), None);
    assert_eq!(call(&mut b, 3 * S, CallResult::SUCCESS), None);
    // Fourth call: minimum reached, 2 of 4 failed = 50% ≥ 50%.
    assert_eq!(
        call(&mut b, 4 * S, CallResult::FAILURE),
        Some(BreakerState::Open { until: 64 * S })
    );
    assert_eq!(b.allow(64 * S - 1), None);
    assert_eq!(
        b.state_since(64 * S - 1),
        (BreakerState::Open { until: 64 * S }, 4 * S)
    );
    assert_eq!(b.state_since(100 * S), (BreakerState::HalfOpen, 64 * S));
    let trials: Vec<Permit> = (0..3).map(|_| b.allow(100 * S).unwrap()).collect();
    assert!(trials.iter().all(Permit::is_trial));
    assert_eq!(b.allow(100 * S), None, "only 3 trial calls");
    assert_eq!(b.record(101 * S, trials[0], CallResult::SUCCESS), None);
    assert_eq!(b.record(101 * S, trials[1], CallResult::FAILURE), None);
    assert_eq!(
        b.record(101 * S, trials[2], CallResult::SUCCESS),
        Some(BreakerState::Closed),
        "1 of 3 failed: under 50%"
    );
    let s = b.stats();
    assert_eq!(
        (s.opened, s.half_opened, s.closed, s.rejected),
        (1, 1, 1, 2)
    );
}

#[test]
fn stale_results_are_ignored() {
    let mut b = CircuitBreaker::new(small(WindowKind::Count(4))).unwrap();
    let straggler = b.allow(0).unwrap();
    for t in 1..=4 {
        call(&mut b, t, CallResult::FAILURE);
    }
    assert!(matches!(b.state(5), BreakerState::Open { .. }));
    let trial = b.allow(100 * S).unwrap();
    assert_eq!(b.record(100 * S, straggler, CallResult::FAILURE), None);
    assert_eq!(b.state(100 * S), BreakerState::HalfOpen);
    b.release(trial);
    assert_eq!(b.allow(100 * S).map(|p| p.is_trial()), Some(true));
}

#[test]
fn time_window_forgets_old_calls() {
    let mut b = CircuitBreaker::new(small(WindowKind::Time { seconds: 10 })).unwrap();
    for t in 0..3 {
        call(&mut b, t * S, CallResult::FAILURE);
    }
    // 3 failures at 0–2 s have left the window by 12 s; 1 failure of 4 calls is 25%.
    for t in 12..15 {
        assert_eq!(call(&mut b, t * S, CallResult::SUCCESS), None);
    }
    assert_eq!(call(&mut b, 15 * S, CallResult::FAILURE), None);
    assert_eq!(call(&mut b, 15 * S, CallResult::FAILURE), None, "2 of 5");
    assert_eq!(
        call(&mut b, 16 * S, CallResult::FAILURE),
        Some(BreakerState::Open { until: 76 * S }),
        "3 of 6"
    );
}

#[test]
fn consecutive_mode_and_growing_open_duration() {
    let mut cfg = BreakerConfig::consecutive(3, 10 * S);
    cfg.open_duration = OpenDuration::Growing {
        base: 10 * S,
        multiplier: 2.0,
        cap: 25 * S,
    };
    let mut b = CircuitBreaker::new(cfg).unwrap();
    call(&mut b, 0, CallResult::FAILURE);
    call(&mut b, 0, CallResult::FAILURE);
    call(&mut b, 0, CallResult::SUCCESS);
    call(&mut b, 0, CallResult::FAILURE);
    call(&mut b, 0, CallResult::FAILURE);
    assert_eq!(
        call(&mut b, S, CallResult::FAILURE),
        Some(BreakerState::Open { until: 11 * S })
    );
    assert_eq!(
        call(&mut b, 11 * S, CallResult::FAILURE),
        Some(BreakerState::Open { until: 31 * S }),
        "a failed trial re-opens for twice as long"
    );
    assert_eq!(
        call(&mut b, 31 * S, CallResult::FAILURE),
        Some(BreakerState::Open { until: 56 * S }),
        "capped at 25 s"
    );
    assert_eq!(
        call(&mut b, 56 * S, CallResult::SUCCESS),
        Some(BreakerState::Closed)
    );
    for _ in 0..3 {
        call(&mut b, 57 * S, CallResult::FAILURE);
    }
    assert_eq!(
        b.state(57 * S),
        BreakerState::Open { until: 67 * S },
        "reset on close"
    );
}

#[test]
fn soft_failures_open_by_category() {
    let mut cfg = small(WindowKind::Count(10));
    cfg.soft = SoftCategoryThresholds::NONE
        .with_category(2, 300_000)
        .unwrap();
    let mut b = CircuitBreaker::new(cfg).unwrap();
    let soft = |c| CallResult {
        soft_category: Some(c),
        ..CallResult::SUCCESS
    };
    for _ in 0..6 {
        call(&mut b, 0, soft(1));
    }
    assert_eq!(
        b.state(0),
        BreakerState::Closed,
        "category 1 has no threshold"
    );
    call(&mut b, 0, soft(2));
    call(&mut b, 0, soft(2));
    assert_eq!(
        call(&mut b, 0, soft(2)),
        Some(BreakerState::Open { until: 60 * S }),
        "3 of 9 ≥ 30%"
    );
    assert!(SoftCategoryThresholds::NONE.with_category(8, 1).is_err());
}

#[test]
fn invalid_configs_are_rejected() {
    let bad = [
        BreakerConfig {
            window: WindowKind::Count(0),
            ..Default::default()
        },
        BreakerConfig {
            failure_rate_threshold_ppm: Some(0),
            ..Default::default()
        },
        BreakerConfig {
            half_open_permitted: 0,
            ..Default::default()
        },
        BreakerConfig {
            consecutive_failures: Some(0),
            ..Default::default()
        },
        BreakerConfig {
            open_duration: OpenDuration::Growing {
                base: 2,
                multiplier: 0.5,
                cap: 3,
            },
            ..Default::default()
        },
        BreakerConfig {
            open_duration: OpenDuration::Growing {
                base: 2,
                multiplier: f64::NAN,
                cap: 3,
            },
            ..Default::default()
        },
    ];
    for c in bad {
        assert!(CircuitBreaker::new(c).is_err(), "{c:?}");
    }
}

#[derive(Debug, Clone)]
enum Op {
    Wait(Time),
    Allow,
    Record(usize, bool, bool, Option<u8>),
    Release(usize),
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..30 * S).prop_map(Op::Wait),
        Just(Op::Allow),
        Just(Op::Allow),
        (
            any::<usize>(),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(0u8..10)
        )
            .prop_map(|(i, f, s, c)| Op::Record(i, f, s, c)),
        any::<usize>().prop_map(Op::Release),
    ]
}

fn any_config() -> impl Strategy<Value = BreakerConfig> {
    (
        1u32..12,
        any::<bool>(),
        0u32..12,
        proptest::option::of(1u32..=1_000_000),
        proptest::option::of(1u32..=1_000_000),
        proptest::option::of(1u32..6),
        1u32..5,
        0u64..40 * S,
        any::<bool>(),
    )
        .prop_map(
            |(n, time, min, fail, slow, consecutive, permitted, open, grow)| BreakerConfig {
                window: if time {
                    WindowKind::Time { seconds: n }
                } else {
                    WindowKind::Count(n)
                },
                minimum_calls: min,
                failure_rate_threshold_ppm: fail,
                slow_call_rate_threshold_ppm: slow,
                slow_call_duration: S,
                consecutive_failures: consecutive,
                open_duration: if grow {
                    OpenDuration::Growing {
                        base: open,
                        multiplier: 1.5,
                        cap: 4 * open,
                    }
                } else {
                    OpenDuration::Fixed(open)
                },
                half_open_permitted: permitted,
                soft: SoftCategoryThresholds::NONE
                    .with_category(1, 400_000)
                    .unwrap(),
            },
        )
}

/// Under any interleaving of calls, results, cancellations and waits: only the legal
/// transitions happen, no call is let through while open before `until`, and half-open never has
/// more trial calls out than permitted. The breaker opens in about 64% (the test asks for 30%) of the cases, and
/// goes half-open in about 62% (the test asks for 30%).
#[test]
fn breaker_makes_only_legal_transitions() {
    crate::reach::check(
        (any_config(), proptest::collection::vec(any_op(), 1..300)),
        [("opened", 0.3), ("went half-open", 0.3)],
        |(cfg, ops)| {
            let mut b = CircuitBreaker::new(cfg).unwrap();
            let mut now = 0;
            let mut out: Vec<Permit> = Vec::new();
            for op in ops {
                match op {
                    Op::Wait(d) => now += d,
                    Op::Allow => {
                        let before = b.state;
                        let permit = b.allow(now);
                        if let Inner::Open { until } = before
                            && now < until
                        {
                            prop_assert!(permit.is_none(), "allowed while open");
                        }
                        out.extend(permit);
                    }
                    Op::Record(i, failed, slow, soft_category) if !out.is_empty() => {
                        let p = out.swap_remove(i % out.len());
                        b.record(
                            now,
                            p,
                            CallResult {
                                failed,
                                slow,
                                soft_category,
                            },
                        );
                    }
                    Op::Release(i) if !out.is_empty() => {
                        let p = out.swap_remove(i % out.len());
                        b.release(p);
                    }
                    _ => {}
                }
                if let Inner::HalfOpen { .. } = b.state {
                    let trials = out.iter().filter(|p| p.probe && p.epoch == b.epoch).count();
                    prop_assert!(trials <= cfg.half_open_permitted as usize);
                }
            }
            for &(from, to) in &b.log {
                let legal = matches!(
                    (from, to),
                    ("closed", "open")
                        | ("open", "half_open")
                        | ("half_open", "closed")
                        | ("half_open", "open")
                );
                prop_assert!(legal, "{from} -> {to}");
            }
            let s = b.stats();
            prop_assert_eq!(
                s.opened,
                s.half_opened + u64::from(matches!(b.state, Inner::Open { .. }))
            );
            Ok([s.opened > 0, s.half_opened > 0])
        },
    );
}

/// A breaker on `window` whose only rule is `kind` at 50% (0 failed, 1 slow, 2 soft of category
/// 0, 3 soft of any category), judged from 4 calls.
fn only_rule(window: WindowKind, kind: usize) -> (BreakerConfig, CallResult) {
    let soft = SoftCategoryThresholds::NONE;
    let (failure, slow, soft, bad) = match kind {
        0 => (Some(500_000), None, soft, CallResult::FAILURE),
        1 => (
            None,
            Some(500_000),
            soft,
            CallResult {
                slow: true,
                ..CallResult::SUCCESS
            },
        ),
        2 => (
            None,
            None,
            soft.with_category(0, 500_000).unwrap(),
            CallResult {
                soft_category: Some(0),
                ..CallResult::SUCCESS
            },
        ),
        _ => (
            None,
            None,
            SoftCategoryThresholds {
                any: Some(500_000),
                ..soft
            },
            CallResult {
                soft_category: Some(5),
                ..CallResult::SUCCESS
            },
        ),
    };
    let cfg = BreakerConfig {
        failure_rate_threshold_ppm: failure,
        slow_call_rate_threshold_ppm: slow,
        soft,
        ..small(window)
    };
    (cfg, bad)
}

#[test]
fn a_count_window_forgets_the_oldest_call_of_every_kind() {
    // Window of 4: bad, then four good ones push it out; one bad of the last four (25%)
    // leaves it closed, a second (50%) opens it.
    for kind in 0..4 {
        let (cfg, bad) = only_rule(WindowKind::Count(4), kind);
        let mut b = CircuitBreaker::new(cfg).unwrap();
        let ok = CallResult::SUCCESS;
        for (k, r) in [bad, ok, ok, ok, ok, bad].into_iter().enumerate() {
            assert_eq!(
                call(&mut b, k as Time * S, r),
                None,
                "kind {kind}, call {k}"
            );
        }
        assert!(
            matches!(call(&mut b, 6 * S, bad), Some(BreakerState::Open { .. })),
            "kind {kind}"
        );
    }
}

#[test]
fn a_time_window_forgets_calls_older_than_its_seconds() {
    // Ten one-second buckets. Bad, four good, bad in the first 6 s (at most 33%) leave it
    // closed; 30 s later they are gone: bad, good, good (3 calls, under the minimum), then bad
    // makes 2 of 4 and opens it.
    for kind in 0..4 {
        let (cfg, bad) = only_rule(WindowKind::Time { seconds: 10 }, kind);
        let mut b = CircuitBreaker::new(cfg).unwrap();
        let ok = CallResult::SUCCESS;
        for (k, r) in [bad, ok, ok, ok, ok, bad].into_iter().enumerate() {
            assert_eq!(
                call(&mut b, k as Time * S, r),
                None,
                "kind {kind}, call {k}"
            );
        }
        for (k, r) in [bad, ok, ok].into_iter().enumerate() {
            assert_eq!(call(&mut b, (30 + k as Time) * S, r), None, "kind {kind}");
        }
        assert!(
            matches!(call(&mut b, 33 * S, bad), Some(BreakerState::Open { .. })),
            "kind {kind}"
        );
    }
}

#[test]
fn closing_clears_the_window_and_permits_say_whether_they_are_trials() {
    let cfg = small(WindowKind::Count(4));
    let mut b = CircuitBreaker::new(cfg).unwrap();
    assert_eq!(b.config(), &cfg);
    let p = b.allow(0).unwrap();
    assert!(!p.is_trial());
    b.record(0, p, CallResult::FAILURE);
    for k in 1..4 {
        call(&mut b, k * S, CallResult::FAILURE);
    }
    assert_eq!(b.state(4 * S), BreakerState::Open { until: 63 * S });
    // Half-open: three trials, a fourth refused until one is handed back unused.
    let trials: Vec<Permit> = (0..3).map(|_| b.allow(63 * S).unwrap()).collect();
    assert!(trials.iter().all(Permit::is_trial));
    assert!(b.allow(63 * S).is_none());
    b.release(trials[0]);
    let again = b.allow(63 * S).expect("a freed trial slot");
    for p in [trials[1], trials[2], again] {
        b.record(64 * S, p, CallResult::SUCCESS);
    }
    assert_eq!(b.state(64 * S), BreakerState::Closed);
    // The four failures before the opening are gone: three new ones are under the minimum.
    for k in 0..3 {
        assert_eq!(call(&mut b, 65 * S + k, CallResult::FAILURE), None);
    }
    assert!(call(&mut b, 66 * S, CallResult::FAILURE).is_some());
}

#[test]
fn validation_bounds_the_time_window_and_the_growing_duration() {
    let time = |seconds| BreakerConfig {
        window: WindowKind::Time { seconds },
        ..BreakerConfig::default()
    };
    assert!(time(0).validate().is_err());
    assert!(time(1).validate().is_ok());
    assert!(time(86_400).validate().is_ok());
    assert!(time(86_401).validate().is_err());
    let growing = |base, cap| BreakerConfig {
        open_duration: OpenDuration::Growing {
            base,
            multiplier: 2.0,
            cap,
        },
        ..BreakerConfig::default()
    };
    assert!(growing(10 * S, 10 * S).validate().is_ok());
    assert!(growing(10 * S, 20 * S).validate().is_ok());
    assert!(growing(10 * S, 10 * S - 1).validate().is_err());
}

/// Each rule of [`BreakerConfig::validate`], broken alone, names its field and kind (what the
/// scenario maps to a key); [`CircuitBreaker::new`] answers the same error.
#[test]
fn validation_errors_name_the_field_and_the_rule() {
    use crate::PolicyErrorKind as K;
    let base = BreakerConfig::default();
    let at = |c: BreakerConfig| c.validate().map_err(|e| (e.param, e.kind));
    let with = |f: &dyn Fn(&mut BreakerConfig)| {
        let mut c = base;
        f(&mut c);
        at(c)
    };
    assert_eq!(at(base), Ok(()));
    assert_eq!(
        with(&|c| c.window = WindowKind::Count(0)),
        Err(("window", K::Zero))
    );
    assert_eq!(
        with(&|c| c.window = WindowKind::Time { seconds: 0 }),
        Err(("window", K::Zero))
    );
    assert_eq!(
        with(&|c| c.window = WindowKind::Time { seconds: 86_401 }),
        Err(("window", K::TooLarge))
    );
    for bad in [0, 1_000_001] {
        assert_eq!(
            with(&|c| c.failure_rate_threshold_ppm = Some(bad)),
            Err(("failure_rate_threshold_ppm", K::OutOfRange))
        );
        assert_eq!(
            with(&|c| c.slow_call_rate_threshold_ppm = Some(bad)),
            Err(("slow_call_rate_threshold_ppm", K::OutOfRange))
        );
        assert_eq!(
            with(&|c| c.soft.any = Some(bad)),
            Err(("soft.any", K::OutOfRange))
        );
        assert_eq!(
            with(&|c| c.soft.per_category[7] = Some(bad)),
            Err(("soft.per_category", K::OutOfRange))
        );
    }
    assert_eq!(
        with(&|c| c.failure_rate_threshold_ppm = Some(1_000_000)),
        Ok(())
    );
    assert_eq!(with(&|c| c.soft.any = Some(1)), Ok(()));
    assert_eq!(
        with(&|c| c.consecutive_failures = Some(0)),
        Err(("consecutive_failures", K::Zero))
    );
    assert_eq!(with(&|c| c.consecutive_failures = Some(1)), Ok(()));
    assert_eq!(
        with(&|c| c.half_open_permitted = 0),
        Err(("half_open_permitted", K::Zero))
    );
    let growing = |multiplier, cap| {
        with(&|c| {
            c.open_duration = OpenDuration::Growing {
                base: 10 * S,
                multiplier,
                cap,
            }
        })
    };
    assert_eq!(
        growing(0.99, 20 * S),
        Err(("open_duration.multiplier", K::OutOfRange))
    );
    assert_eq!(
        growing(f64::NAN, 20 * S),
        Err(("open_duration.multiplier", K::OutOfRange))
    );
    assert_eq!(growing(1.0, 20 * S), Ok(()));
    assert_eq!(
        growing(2.0, 10 * S - 1),
        Err(("open_duration.cap", K::OutOfOrder))
    );
    let bad = BreakerConfig {
        half_open_permitted: 0,
        ..base
    };
    assert_eq!(
        CircuitBreaker::new(bad).unwrap_err(),
        bad.validate().unwrap_err()
    );
    let e = SoftCategoryThresholds::NONE
        .with_category(MAX_SOFT_CATEGORIES as u8, 1)
        .unwrap_err();
    assert_eq!((e.param, e.kind), ("category", K::TooLarge));
    assert!(
        SoftCategoryThresholds::NONE
            .with_category(MAX_SOFT_CATEGORIES as u8 - 1, 1)
            .is_ok()
    );
}

#[test]
fn the_consecutive_preset_has_no_rate_trigger_and_its_own_open_duration() {
    // Envoy's consecutive_5xx: 100 calls alternating failure and success (a 50% failure rate,
    // which resilience4j's default opens on at 100 calls) and 100 slow calls (a 100% slow rate,
    // its default slow threshold) never make three failures in a row, so it stays closed.
    let cfg = BreakerConfig::consecutive(3, 10 * S);
    let mut b = CircuitBreaker::new(cfg).unwrap();
    let slow = CallResult {
        slow: true,
        ..CallResult::SUCCESS
    };
    for k in 0..100 {
        let r = if k % 2 == 0 {
            CallResult::FAILURE
        } else {
            CallResult::SUCCESS
        };
        assert_eq!(call(&mut b, 0, r), None, "call {k}");
    }
    for k in 0..100 {
        assert_eq!(call(&mut b, 0, slow), None, "slow call {k}");
    }
    // Three in a row open it for the preset's 10 s (not the default 60 s) ...
    call(&mut b, S, CallResult::FAILURE);
    call(&mut b, S, CallResult::FAILURE);
    assert_eq!(
        call(&mut b, S, CallResult::FAILURE),
        Some(BreakerState::Open { until: 11 * S })
    );
    // ... and one successful trial call closes it (half_open_permitted 1, not 10).
    assert_eq!(
        call(&mut b, 11 * S, CallResult::SUCCESS),
        Some(BreakerState::Closed)
    );
}

#[test]
fn a_time_window_judges_anew_once_its_buckets_have_expired() {
    // Two bad calls of six in the first 6 s (each kind's rule at 50%). 30 s later every bucket
    // has expired, so the window holds only the new calls: bad, good, good, good is 1 of 4
    // (closed), a second bad 2 of 5 (closed), a third 3 of 6 (open). Bad calls that an
    // expiring bucket failed to give back would open it at the fourth new call.
    for kind in 0..4 {
        let (cfg, bad) = only_rule(WindowKind::Time { seconds: 10 }, kind);
        let mut b = CircuitBreaker::new(cfg).unwrap();
        let ok = CallResult::SUCCESS;
        for (k, r) in [bad, ok, ok, ok, ok, bad].into_iter().enumerate() {
            assert_eq!(call(&mut b, k as Time * S, r), None, "kind {kind}");
        }
        for (k, r) in [bad, ok, ok, ok, bad].into_iter().enumerate() {
            assert_eq!(
                call(&mut b, (30 + k as Time) * S, r),
                None,
                "kind {kind}, new call {k}"
            );
        }
        assert!(
            matches!(call(&mut b, 35 * S, bad), Some(BreakerState::Open { .. })),
            "kind {kind}"
        );
    }
}
