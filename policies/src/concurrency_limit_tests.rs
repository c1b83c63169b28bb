use super::*;

const MS: Time = 1_000_000;

fn aimd(initial: u32) -> ConcurrencyLimit {
    ConcurrencyLimit::new(LimitConfig::Aimd {
        initial,
        min: 1,
        max: 1000,
        backoff_ratio: 0.9,
        timeout: 5_000 * MS,
    })
}

fn vegas(initial: u32) -> ConcurrencyLimit {
    ConcurrencyLimit::new(LimitConfig::Vegas {
        initial,
        max: 1000,
        smoothing: 1.0,
        probe_multiplier: 30,
    })
}

fn gradient2(initial: u32, min: u32) -> ConcurrencyLimit {
    ConcurrencyLimit::new(LimitConfig::Gradient2 {
        initial,
        min,
        max: 1000,
        smoothing: 0.2,
        long_window: 600,
        queue_size: 4,
    })
}

/// A closed loop with unbounded demand: attempts go out whenever fewer than the limit are in
/// flight, to a backend with `c` slots that each serve one call in a time of mean 100 ms
/// (`exponential`, or uniform in [90, 110] ms; drawn from a fixed-seed generator), first come
/// first served. `reject`: the backend turns away at once (after 1 ms) what finds every slot busy
/// instead of queueing it. Each finished attempt is one sample. Returns the limit after each
/// sample.
fn closed_loop(
    l: &mut ConcurrencyLimit,
    c: usize,
    samples: usize,
    reject: bool,
    exponential: bool,
) -> Vec<u32> {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};
    // A 64-bit LCG (Knuth's MMIX constants): fixed draws, no dependency.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut service = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let u = ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let scale = if exponential {
            -libm::log(u)
        } else {
            0.9 + 0.2 * u
        };
        (scale * 100.0 * MS as f64) as Time
    };
    // (done at, sent at, in flight when sent, dropped)
    let mut done: BinaryHeap<Reverse<(Time, Time, u32, bool)>> = BinaryHeap::new();
    let mut queue: VecDeque<(Time, u32)> = VecDeque::new();
    let (mut busy, mut in_flight, mut now) = (0usize, 0u32, 0);
    let mut out = Vec::new();
    while out.len() < samples {
        while l.allows(in_flight) {
            in_flight += 1;
            if busy < c {
                busy += 1;
                done.push(Reverse((now + service(), now, in_flight, false)));
            } else if reject {
                done.push(Reverse((now + MS, now, in_flight, true)));
            } else {
                queue.push_back((now, in_flight));
            }
        }
        let Reverse((at, sent, sent_with, dropped)) = done.pop().expect("something in flight");
        now = at;
        in_flight -= 1;
        if !dropped {
            busy -= 1;
            if let Some((q_sent, q_with)) = queue.pop_front() {
                busy += 1;
                done.push(Reverse((now + service(), q_sent, q_with, false)));
            }
        }
        l.on_sample(now - sent, sent_with, dropped);
        out.push(l.limit());
    }
    out
}

/// The mean, smallest and largest limit after the first 1000 samples.
fn settled(limits: &[u32]) -> (f64, u32, u32) {
    let tail = &limits[1000..];
    let mean = tail.iter().map(|&x| x as f64).sum::<f64>() / tail.len() as f64;
    (
        mean,
        *tail.iter().min().unwrap(),
        *tail.iter().max().unwrap(),
    )
}

#[test]
fn aimd_steps_exactly_as_the_library() {
    let mut l = aimd(10);
    // Answered with half the limit in use: +1.
    assert!(l.on_sample(50 * MS, 5, false));
    assert_eq!(l.limit(), 11);
    // App limited (4 of 11 in use): no change.
    assert!(!l.on_sample(50 * MS, 4, false));
    assert_eq!(l.limit(), 11);
    // A drop: ⌊11·0.9⌋ = 9.
    assert!(l.on_sample(50 * MS, 11, true));
    assert_eq!(l.limit(), 9);
    // An RTT beyond the timeout is a drop too.
    l.on_sample(6_000 * MS, 9, false);
    assert_eq!(l.limit(), 8);
    // At least one off: ⌊2·0.9⌋ = 1 and ⌊1·0.9⌋ = 0 floored at the minimum 1.
    let mut small = aimd(2);
    small.on_sample(MS, 2, true);
    assert_eq!(small.limit(), 1);
    small.on_sample(MS, 1, true);
    assert_eq!(small.limit(), 1);
    assert!(small.allows(0));
    assert!(!small.allows(1));
}

#[test]
fn aimd_converges_to_a_rejecting_backends_capacity() {
    // C = 50 slots that reject beyond: the sawtooth climbs to C + 1, a rejection cuts it by
    // 10% (a few at once when several attempts overshoot together), and it climbs again
    // (by one per answer, while rejections are still on their way back). The mean lies
    // within 10% of C, every value within [0.5·C, 1.1·C + 1].
    for exponential in [true, false] {
        let mut l = aimd(10);
        let (mean, lo, hi) = settled(&closed_loop(&mut l, 50, 20_000, true, exponential));
        assert!((mean - 50.0).abs() <= 5.0, "mean limit {mean}");
        assert!(lo >= 25 && hi <= 56, "limit range [{lo}, {hi}]");
    }
}

#[test]
fn vegas_steps_on_the_estimated_queue() {
    let mut l = vegas(20);
    // The first sample sets the no-load RTT and changes nothing.
    assert!(!l.on_sample(100 * MS, 20, false));
    // Same RTT: queue 0 ≤ log10(20) = 1 → +6·1.
    l.on_sample(100 * MS, 20, false);
    assert_eq!(l.limit(), 26);
    // RTT 1.1×: queue ⌈26·(1 − 1/1.1)⌉ = 3 → between 3 and 6: unchanged.
    assert!(!l.on_sample(110 * MS, 26, false));
    // RTT 1.5×: queue ⌈26/3⌉ = 9 > 6 → −1.
    l.on_sample(150 * MS, 26, false);
    assert_eq!(l.limit(), 25);
    // RTT 1.05×: queue ⌈25·0.0476⌉ = 2 → +1.
    l.on_sample(105 * MS, 25, false);
    assert_eq!(l.limit(), 26);
    // A drop: −1; app limited: no change.
    l.on_sample(100 * MS, 26, true);
    assert_eq!(l.limit(), 25);
    assert!(!l.on_sample(100 * MS, 12, false));
}

#[test]
fn vegas_settles_near_a_queueing_backends_slots_when_latency_is_steady() {
    // C = 40 slots with a queue behind them, service 90–110 ms: beyond C the RTT rises and
    // the estimated queue L·(1 − rtt_noload/rtt) ≈ L − C is held between 3 and 6. The limit
    // wanders (each re-probe of the no-load RTT may take a queued RTT), but its mean lies
    // within 10% of C.
    let mut l = vegas(20);
    let (mean, _, hi) = settled(&closed_loop(&mut l, 40, 20_000, false, false));
    assert!((mean - 40.0).abs() <= 4.0, "mean limit {mean}");
    assert!(hi < 1000);
}

#[test]
fn vegas_collapses_when_latency_varies_widely() {
    // Exponential service times: the smallest RTT seen is far below the typical one, so
    // every sample looks queued and the limit falls to a fraction of the slots. This is why
    // the library's Gradient2 compares averages rather than a minimum.
    let mut l = vegas(20);
    let (mean, _, _) = settled(&closed_loop(&mut l, 40, 20_000, false, true));
    assert!(mean < 10.0, "mean limit {mean}");
}

#[test]
fn vegas_reprobes_the_no_load_rtt() {
    let mut l = vegas(10);
    l.on_sample(100 * MS, 10, false);
    // 0.75 · 30 · limit samples later the next sample becomes the no-load RTT, however slow.
    let mut probed = false;
    for _ in 0..2000 {
        let before = l.clone();
        l.on_sample(300 * MS, 1, false);
        if let State::Vegas { rtt_noload, .. } = l.state
            && rtt_noload == 300 * MS
        {
            assert!(
                matches!(before.state, State::Vegas { rtt_noload, .. } if rtt_noload == 100 * MS)
            );
            probed = true;
            break;
        }
    }
    assert!(probed);
}

#[test]
fn gradient2_follows_the_library_formula() {
    let mut l = gradient2(20, 5);
    // Warm-up: the long RTT is the mean of the first samples; equal RTTs give gradient 1 and
    // growth by smoothing · queue_size = 0.8 a sample.
    l.on_sample(100 * MS, 20, false);
    assert!((l.limit - 20.8).abs() < 1e-9);
    // An RTT twice the average: gradient max(0.5, long/short).
    let long = (100.0 + 200.0) / 2.0;
    let expected = 20.8 * 0.8 + (20.8 * (long / 200.0) + 4.0) * 0.2;
    l.on_sample(200 * MS, 20, false);
    assert!(
        (l.limit - expected).abs() < 1e-9,
        "{} vs {expected}",
        l.limit
    );
    // App limited: no change.
    let before = l.limit;
    l.on_sample(100 * MS, 5, false);
    assert_eq!(l.limit, before);
    // Never below the minimum nor above the maximum.
    let pinned = |sample: Time| {
        let mut l = ConcurrencyLimit::new(LimitConfig::Gradient2 {
            initial: 20,
            min: 20,
            max: 20,
            smoothing: 0.2,
            long_window: 600,
            queue_size: 4,
        });
        l.on_sample(100 * MS, 20, false);
        l.on_sample(sample, 20, false);
        l.limit
    };
    // Growth (equal RTTs) is clamped to 20, and so is the cut (an RTT ten times the average:
    // 20·0.8 + (20·0.5 + 4)·0.2 = 18.8).
    assert_eq!(pinned(100 * MS), 20.0);
    assert_eq!(pinned(1_000 * MS), 20.0);
}

#[test]
fn gradient2_cuts_a_stale_baseline() {
    let mut l = gradient2(20, 1);
    for _ in 0..20 {
        l.on_sample(1_000 * MS, 20, false);
    }
    let State::Gradient2 { long_rtt } = &l.state else {
        unreachable!()
    };
    let high = long_rtt.value;
    // Latency back to a tenth: the baseline is over twice the RTT and is cut by 10%.
    l.on_sample(100 * MS, 20, false);
    let State::Gradient2 { long_rtt } = &l.state else {
        unreachable!()
    };
    let factor = 2.0 / 601.0;
    let averaged = high * (1.0 - factor) + 100e6 * factor;
    assert!((long_rtt.value - 0.9 * averaged).abs() < 1e-3);
}

#[test]
fn gradient2_holds_a_queueing_backend_near_its_slots() {
    // Against C = 40 slots with a queue (service 90–110 ms), growth by queue_size per sample
    // meets the gradient's cut once RTTs rise above the long-term average; the average
    // follows the RTT up, so the limit swings more widely than AIMD's, but its mean lies
    // within 25% of C and it never runs to its maximum.
    let mut l = gradient2(20, 1);
    let (mean, lo, hi) = settled(&closed_loop(&mut l, 40, 20_000, false, false));
    assert!((mean - 40.0).abs() <= 10.0, "mean limit {mean}");
    assert!(lo >= 1 && hi < 200, "limit range [{lo}, {hi}]");
}

#[test]
fn validation_names_the_parameter() {
    let ok = LimitConfig::Aimd {
        initial: 10,
        min: 1,
        max: 100,
        backoff_ratio: 0.9,
        timeout: MS,
    };
    assert!(ok.validate().is_ok());
    let bad = |c: LimitConfig| c.validate().unwrap_err().param;
    if let LimitConfig::Aimd {
        initial,
        min,
        max,
        timeout,
        ..
    } = ok
    {
        let with = |backoff_ratio| LimitConfig::Aimd {
            initial,
            min,
            max,
            backoff_ratio,
            timeout,
        };
        assert_eq!(bad(with(1.0)), "backoff_ratio");
        assert_eq!(bad(with(0.4)), "backoff_ratio");
        assert!(with(0.5).validate().is_ok());
    }
    let aimd = |initial, min, max, timeout| LimitConfig::Aimd {
        initial,
        min,
        max,
        backoff_ratio: 0.9,
        timeout,
    };
    assert_eq!(bad(aimd(10, 0, 100, MS)), "min_limit");
    assert_eq!(bad(aimd(10, 20, 10, MS)), "max_limit");
    assert_eq!(bad(aimd(200, 1, 100, MS)), "initial_limit");
    assert_eq!(bad(aimd(0, 1, 100, MS)), "initial_limit");
    assert_eq!(bad(aimd(10, 1, 100, 0)), "timeout");
    assert!(aimd(100, 1, 100, MS).validate().is_ok());
    assert!(aimd(1, 1, 100, MS).validate().is_ok());
    let vegas = |smoothing, probe_multiplier| LimitConfig::Vegas {
        initial: 20,
        max: 100,
        smoothing,
        probe_multiplier,
    };
    assert_eq!(bad(vegas(0.0, 30)), "smoothing");
    assert_eq!(bad(vegas(1.5, 30)), "smoothing");
    assert_eq!(bad(vegas(1.0, 0)), "probe_multiplier");
    assert!(vegas(1.0, 1).validate().is_ok());
    let g = |long_window| LimitConfig::Gradient2 {
        initial: 20,
        min: 20,
        max: 200,
        smoothing: 0.2,
        long_window,
        queue_size: 4,
    };
    assert_eq!(bad(g(0)), "long_window");
    assert!(g(1).validate().is_ok());
}
