use super::*;

fn members(weights: &[f64]) -> Vec<Member> {
    weights
        .iter()
        .map(|&weight| Member {
            weight,
            rpm: None,
            tpm: None,
        })
        .collect()
}

fn all(_: usize) -> bool {
    true
}

fn idle(_: usize) -> u32 {
    0
}

#[test]
fn simple_shuffle_follows_the_weights() {
    // 3:1 weights over 40,000 picks: the share of the first is 0.75 with a standard error of
    // sqrt(0.75 × 0.25 / 40000) = 0.0022; 0.01 is 4.6 standard errors.
    let mut lb = LoadBalancer::new(Strategy::SimpleShuffle, members(&[3.0, 1.0]), 10).unwrap();
    let mut rng = RandomStream::from_seed(7);
    let n = 40_000;
    let first = (0..n)
        .filter(|_| lb.pick(0, 0, all, idle, &mut rng) == Some(0))
        .count();
    let share = first as f64 / n as f64;
    assert!((share - 0.75).abs() < 0.01, "share {share}");
}

#[test]
fn simple_shuffle_skips_unavailable_members_and_treats_zero_weights_as_uniform() {
    let mut lb = LoadBalancer::new(Strategy::SimpleShuffle, members(&[5.0, 1.0, 1.0]), 10).unwrap();
    let mut rng = RandomStream::from_seed(1);
    for _ in 0..1000 {
        let i = lb.pick(0, 0, |i| i != 0, idle, &mut rng).unwrap();
        assert_ne!(i, 0);
    }
    let mut zero = LoadBalancer::new(Strategy::SimpleShuffle, members(&[0.0, 0.0]), 10).unwrap();
    let firsts = (0..10_000)
        .filter(|_| zero.pick(0, 0, all, idle, &mut rng) == Some(0))
        .count();
    assert!((firsts as f64 / 10_000.0 - 0.5).abs() < 0.02, "{firsts}");
    assert_eq!(lb.pick(0, 0, |_| false, idle, &mut rng), None);
}

#[test]
fn the_same_stream_gives_the_same_picks() {
    let run = || {
        let mut lb =
            LoadBalancer::new(Strategy::SimpleShuffle, members(&[1.0, 2.0, 3.0]), 10).unwrap();
        let mut rng = RandomStream::from_seed(99);
        (0..200)
            .map(|_| lb.pick(0, 0, all, idle, &mut rng).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

#[test]
fn least_busy_takes_the_fewest_in_flight_and_the_first_on_ties() {
    let mut lb = LoadBalancer::new(Strategy::LeastBusy, members(&[1.0; 3]), 10).unwrap();
    let mut rng = RandomStream::from_seed(1);
    let load = [4u32, 2, 2];
    assert_eq!(lb.pick(0, 0, all, |i| load[i], &mut rng), Some(1));
    assert_eq!(lb.pick(0, 0, |i| i != 1, |i| load[i], &mut rng), Some(2));
    assert_eq!(lb.pick(0, 0, all, idle, &mut rng), Some(0));
}

#[test]
fn latency_based_tries_the_unseen_then_prefers_the_fastest_per_token() {
    let strategy = Strategy::LatencyBased { buffer: 0.0 };
    let mut lb = LoadBalancer::new(strategy, members(&[1.0; 2]), 10).unwrap();
    let mut rng = RandomStream::from_seed(3);
    // Member 0 answered: 2 s for 100 tokens = 0.02 s/token; member 1 never answered (0).
    lb.answered(0, 0, 2 * NANOS_PER_SEC, 100, 500);
    assert_eq!(lb.pick(0, 0, all, idle, &mut rng), Some(1));
    // Member 1: 1 s for 10 tokens = 0.1 s/token, slower per token than member 0.
    lb.answered(0, 1, NANOS_PER_SEC, 10, 100);
    assert!((lb.mean_latency(1) - 0.1).abs() < 1e-12);
    for _ in 0..50 {
        assert_eq!(lb.pick(0, 0, all, idle, &mut rng), Some(0));
    }
    // A timeout is a 1000 s sample: member 0's mean becomes (0.02 + 1000) / 2.
    lb.timed_out(0);
    assert!((lb.mean_latency(0) - 500.01).abs() < 1e-9);
    assert_eq!(lb.pick(0, 0, all, idle, &mut rng), Some(1));
}

#[test]
fn latency_samples_are_the_last_n() {
    let mut lb =
        LoadBalancer::new(Strategy::LatencyBased { buffer: 0.0 }, members(&[1.0]), 3).unwrap();
    for s in [10, 1, 1, 1] {
        lb.answered(0, 0, s * NANOS_PER_SEC, 0, 0);
    }
    // The 10 s sample was overwritten by the fourth.
    assert!((lb.mean_latency(0) - 1.0).abs() < 1e-12);
}

#[test]
fn latency_buffer_spreads_over_members_near_the_lowest() {
    let strategy = Strategy::LatencyBased { buffer: 0.5 };
    let mut lb = LoadBalancer::new(strategy, members(&[1.0; 3]), 10).unwrap();
    lb.answered(0, 0, NANOS_PER_SEC, 0, 0); // 1.0
    lb.answered(0, 1, 1_400_000_000, 0, 0); // 1.4: within 1.5
    lb.answered(0, 2, 2 * NANOS_PER_SEC, 0, 0); // 2.0: outside
    let mut rng = RandomStream::from_seed(5);
    let mut counts = [0u32; 3];
    for _ in 0..4000 {
        counts[lb.pick(0, 0, all, idle, &mut rng).unwrap()] += 1;
    }
    assert_eq!(counts[2], 0);
    assert!(counts[0] > 1800 && counts[1] > 1800, "{counts:?}");
}

#[test]
fn usage_based_takes_the_least_used_within_limits_and_resets_each_minute() {
    let mut ms = members(&[1.0; 2]);
    ms[0].tpm = Some(1000);
    ms[1].rpm = Some(2);
    let mut lb = LoadBalancer::new(Strategy::UsageBased, ms, 10).unwrap();
    let mut rng = RandomStream::from_seed(2);
    lb.answered(0, 1, NANOS_PER_SEC, 10, 300);
    // Member 0 has used nothing this minute.
    assert_eq!(lb.pick(0, 100, all, idle, &mut rng), Some(0));
    lb.answered(0, 0, NANOS_PER_SEC, 10, 900);
    // Member 0 would pass its 1000 tpm with 200 more: member 1 (one request so far).
    assert_eq!(lb.pick(0, 200, all, idle, &mut rng), Some(1));
    assert_eq!(lb.pick(0, 0, |i| i == 1, idle, &mut rng), Some(1));
    // Member 1 has had its 2 requests this minute, member 0 is out of tokens.
    assert_eq!(lb.pick(0, 200, all, idle, &mut rng), None);
    // The next minute starts afresh.
    let next = 60 * NANOS_PER_SEC;
    assert_eq!(lb.pick(next, 200, |i| i == 1, idle, &mut rng), Some(1));
    lb.answered(next, 1, NANOS_PER_SEC, 10, 50);
    assert_eq!(lb.pick(next, 200, all, idle, &mut rng), Some(0));
}

#[test]
fn bad_settings_are_refused() {
    assert!(LoadBalancer::new(Strategy::LeastBusy, Vec::new(), 10).is_err());
    assert!(LoadBalancer::new(Strategy::LeastBusy, members(&[1.0]), 0).is_err());
    assert!(LoadBalancer::new(Strategy::SimpleShuffle, members(&[-1.0]), 10).is_err());
    let bad = Strategy::LatencyBased { buffer: f64::NAN };
    assert!(LoadBalancer::new(bad, members(&[1.0]), 10).is_err());
}

#[test]
fn the_latency_ring_overwrites_its_oldest_sample_each_time() {
    let mut lb =
        LoadBalancer::new(Strategy::LatencyBased { buffer: 0.0 }, members(&[1.0]), 3).unwrap();
    // Three samples of 5 s, then three of 1 s: every old sample is overwritten once.
    for s in [5, 5, 5, 1, 1, 1] {
        lb.answered(0, 0, s * NANOS_PER_SEC, 0, 0);
    }
    assert!(
        (lb.mean_latency(0) - 1.0).abs() < 1e-12,
        "{}",
        lb.mean_latency(0)
    );
    // Two more of 4 s replace the two oldest 1 s samples: (1 + 4 + 4) / 3.
    for s in [4, 4] {
        lb.answered(0, 0, s * NANOS_PER_SEC, 0, 0);
    }
    assert!(
        (lb.mean_latency(0) - 3.0).abs() < 1e-12,
        "{}",
        lb.mean_latency(0)
    );
}

#[test]
fn simple_shuffle_draws_every_member_in_proportion_among_three() {
    // Equal weights over three members: each gets a third (standard error 0.0024 at 40,000
    // picks; 0.012 is five of them).
    let mut lb = LoadBalancer::new(Strategy::SimpleShuffle, members(&[1.0, 1.0, 1.0]), 10).unwrap();
    let mut rng = RandomStream::from_seed(3);
    let mut counts = [0u32; 3];
    let n = 40_000;
    for _ in 0..n {
        counts[lb.pick(0, 0, all, idle, &mut rng).unwrap()] += 1;
    }
    for c in counts {
        let share = f64::from(c) / f64::from(n);
        assert!((share - 1.0 / 3.0).abs() < 0.012, "{counts:?}");
    }
    assert_eq!(lb.len(), 3);
    assert!(!lb.is_empty());
}

#[test]
fn simple_shuffle_picks_nothing_when_only_zero_weights_are_available() {
    // The weighted member is unavailable; the zero-weight one must not be drawn instead.
    let mut lb = LoadBalancer::new(Strategy::SimpleShuffle, members(&[1.0, 0.0]), 10).unwrap();
    let mut rng = RandomStream::from_seed(5);
    for _ in 0..100 {
        assert_eq!(lb.pick(0, 0, |i| i == 1, idle, &mut rng), None);
    }
}

#[test]
fn latency_based_never_picks_an_unavailable_member() {
    let mut lb = LoadBalancer::new(
        Strategy::LatencyBased { buffer: 0.0 },
        members(&[1.0, 1.0]),
        10,
    )
    .unwrap();
    // Member 0 is the faster, but cooling down.
    lb.answered(0, 0, NANOS_PER_SEC, 0, 0);
    lb.answered(0, 1, 5 * NANOS_PER_SEC, 0, 0);
    let mut rng = RandomStream::from_seed(9);
    assert_eq!(lb.pick(0, 0, all, idle, &mut rng), Some(0));
    assert_eq!(lb.pick(0, 0, |i| i == 1, idle, &mut rng), Some(1));
}

#[test]
fn usage_is_counted_per_whole_minute() {
    // Member 0 took 500 tokens at 0 s; within the same minute (30 s) it is still the busier.
    let mut lb = LoadBalancer::new(Strategy::UsageBased, members(&[1.0, 1.0]), 10).unwrap();
    lb.answered(0, 0, NANOS_PER_SEC, 10, 500);
    lb.answered(0, 1, NANOS_PER_SEC, 10, 100);
    for k in 0..20 {
        let mut fresh = lb.clone();
        let mut rng = RandomStream::from_seed(k);
        assert_eq!(
            fresh.pick(30 * NANOS_PER_SEC, 0, all, idle, &mut rng),
            Some(1)
        );
    }
    // In the next minute both start from zero again: a tie, drawn at random among the two.
    let mut picked = [false; 2];
    for k in 0..50 {
        let mut fresh = lb.clone();
        let mut rng = RandomStream::from_seed(k);
        picked[fresh
            .pick(61 * NANOS_PER_SEC, 0, all, idle, &mut rng)
            .unwrap()] = true;
    }
    assert_eq!(picked, [true, true]);
}

#[test]
fn errors_name_the_parameter_and_the_rule() {
    use crate::PolicyErrorKind as K;
    let at = |s, m: Vec<Member>, n| {
        LoadBalancer::new(s, m, n)
            .map(|_| ())
            .map_err(|e| (e.param, e.kind))
    };
    let lb = Strategy::LeastBusy;
    assert_eq!(at(lb, Vec::new(), 10), Err(("members", K::Zero)));
    let many = members(&vec![1.0; MAX_MEMBERS + 1]);
    assert_eq!(at(lb, many, 10), Err(("members", K::TooLarge)));
    assert_eq!(at(lb, members(&vec![1.0; MAX_MEMBERS]), 10), Ok(()));
    assert_eq!(at(lb, members(&[1.0]), 0), Err(("samples", K::Zero)));
    let shuffle = Strategy::SimpleShuffle;
    assert_eq!(
        at(shuffle, members(&[1.0, -1.0]), 10),
        Err(("members.weight", K::OutOfRange))
    );
    assert_eq!(
        at(shuffle, members(&[f64::INFINITY]), 10),
        Err(("members.weight", K::OutOfRange))
    );
    assert_eq!(at(shuffle, members(&[0.0]), 10), Ok(()));
    let buffer = |b| Strategy::LatencyBased { buffer: b };
    assert_eq!(
        at(buffer(-0.1), members(&[1.0]), 10),
        Err(("strategy.buffer", K::OutOfRange))
    );
    assert_eq!(
        at(buffer(f64::NAN), members(&[1.0]), 10),
        Err(("strategy.buffer", K::OutOfRange))
    );
    assert_eq!(at(buffer(0.0), members(&[1.0]), 10), Ok(()));
}
