use super::*;
use sim_core::summary::t_interval;

const SEC: Time = NANOS_PER_SEC;

fn rate(per_s: f64) -> Rate {
    Rate::per_second(per_s).unwrap()
}

/// Arrival times in `[0, horizon)` from one fresh generator.
fn arrivals(spec: &ArrivalSpec, seed: u64, horizon: Time) -> Vec<Time> {
    let mut state = ArrivalState::new(spec).unwrap();
    let mut rng = RandomStream::from_seed(seed);
    let mut out = Vec::new();
    let mut now = 0;
    while let Some(t) = state.next_arrival(now, &mut rng) {
        assert!(t >= now, "arrivals go forward");
        if t >= horizon {
            break;
        }
        out.push(t);
        now = t;
    }
    out
}

/// The empirical rate (per second) over `reps` independent replications of length
/// `horizon`, and its Student-t interval at `level` across replications.
fn rate_interval(
    spec: &ArrivalSpec,
    reps: u64,
    horizon: Time,
    level: f64,
) -> (f64, sim_core::summary::Interval) {
    let rates: Vec<f64> = (0..reps)
        .map(|seed| arrivals(spec, 1000 + seed, horizon).len() as f64 / (horizon / SEC) as f64)
        .collect();
    let mean = rates.iter().sum::<f64>() / rates.len() as f64;
    (mean, t_interval(&rates, level).unwrap())
}

/// Asserts that the configured mean rate lies in the 99.9% interval of the empirical rate
/// and that the interval's relative half-width is below `max_rel_half_width`.
fn assert_rate(spec: &ArrivalSpec, reps: u64, horizon: Time, max_rel_half_width: f64) {
    let expected = spec.mean_rate_per_s();
    let (mean, ci) = rate_interval(spec, reps, horizon, 0.999);
    eprintln!(
        "rate {mean:.5}/s, 99.9% CI ±{:.5} ({:.2}%), expected {expected:.5}/s",
        ci.half_width(),
        100.0 * ci.half_width() / expected
    );
    assert!(
        ci.contains(expected),
        "{spec:?}: rate {mean}/s, 99.9% CI {ci:?}, expected {expected}/s"
    );
    assert!(
        ci.half_width() < max_rel_half_width * expected,
        "{spec:?}: CI {ci:?} too wide to mean anything"
    );
}

/// Counts per window of `width` over `[0, horizon)`.
fn window_counts(times: &[Time], width: Time, horizon: Time) -> Vec<f64> {
    let mut counts = vec![0.0; (horizon / width) as usize];
    for t in times {
        if let Some(c) = counts.get_mut((t / width) as usize) {
            *c += 1.0;
        }
    }
    counts
}

fn dispersion(counts: &[f64]) -> f64 {
    let n = counts.len() as f64;
    let mean = counts.iter().sum::<f64>() / n;
    let var = counts.iter().map(|c| (c - mean) * (c - mean)).sum::<f64>() / (n - 1.0);
    var / mean
}

fn gaps_cv(times: &[Time]) -> f64 {
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<f64>() / n;
    let var = gaps.iter().map(|g| (g - mean) * (g - mean)).sum::<f64>() / (n - 1.0);
    var.sqrt() / mean
}

#[test]
fn poisson_rate_and_dispersion() {
    let spec = ArrivalSpec::Poisson { rate: rate(5.0) };
    // 20 replications × 2,000 s × 5/s: half-width ≈ 3.9 · √(5/2000)/√20 ≈ 1.2% of the rate.
    assert_rate(&spec, 20, 2_000 * SEC, 0.02);
    let times = arrivals(&spec, 7, 20_000 * SEC);
    let idc = dispersion(&window_counts(&times, 10 * SEC, 20_000 * SEC));
    // 2,000 windows: the dispersion index's standard error is ≈ √(2/1999) ≈ 0.032.
    eprintln!("Poisson IDC(10 s) {idc:.4}, gap CV {:.4}", gaps_cv(&times));
    assert!(
        (idc - 1.0).abs() < 0.12,
        "Poisson counts have IDC ≈ 1, got {idc}"
    );
    assert!(
        (gaps_cv(&times) - 1.0).abs() < 0.02,
        "exponential gaps have CV 1"
    );
}

#[test]
fn poisson_matches_the_worlds_former_draws() {
    // The world used `Sampler::Exponential { mean: rate.mean_interval_ns() }` and rounded to
    // the nearest ns: switching a tenant to `ArrivalState` must not move a single arrival.
    let r = rate(0.8);
    let mut state = ArrivalState::new(&ArrivalSpec::Poisson { rate: r }).unwrap();
    let sampler = Sampler::Exponential {
        mean: r.mean_interval_ns(),
    };
    let (mut a, mut b) = (RandomStream::from_seed(3), RandomStream::from_seed(3));
    let (mut now_a, mut now_b) = (0, 0);
    for _ in 0..10_000 {
        now_a = state.next_arrival(now_a, &mut a).unwrap();
        now_b += (sampler.sample(&mut b) + 0.5) as Time;
        assert_eq!(now_a, now_b);
    }
}

#[test]
fn gamma_renewal_rate_and_cv() {
    for (cv, reps, horizon, max_rel) in [
        // Count variance ≈ cv²·λ·T for a renewal process.
        (0.5, 20, 2_000 * SEC, 0.01),
        (3.0, 30, 20_000 * SEC, 0.03),
    ] {
        let spec = ArrivalSpec::GammaRenewal {
            rate: rate(2.0),
            cv,
        };
        assert_rate(&spec, reps, horizon, max_rel);
        // 200,000 gaps. The sample CV's relative standard error is about
        // √((κ − 1)/n)/2 with κ the gap kurtosis (3 + 6cv²): 0.2% at cv 0.5, 0.9% at cv 3.
        let times = arrivals(&spec, 11, 100_000 * SEC);
        let got = gaps_cv(&times);
        eprintln!("Gamma renewal: configured CV {cv}, measured {got:.4}");
        assert!(
            (got - cv).abs() < 0.035 * cv,
            "configured CV {cv}, measured {got}"
        );
    }
}

fn hourly_counts(times: &[Time], offset: Time) -> [f64; 24] {
    let mut counts = [0.0; 24];
    for t in times {
        counts[(((t % DAY) + offset) % DAY / HOUR) as usize] += 1.0;
    }
    counts
}

#[test]
fn diurnal_sinusoid_follows_its_profile() {
    let (ratio, peak_hour, days) = (3.0, 14.0, 20);
    let spec = ArrivalSpec::Diurnal {
        rate: rate(1.0),
        profile: DiurnalProfile::Sinusoid {
            peak_to_trough: ratio,
            peak_hour,
        },
        time_of_day_at_start: 0,
    };
    let horizon = days * DAY;
    let times = arrivals(&spec, 5, horizon);
    let counts = hourly_counts(&times, 0);
    // Exact expected count of hour h over the run: days · 3600 · λ̄ · (1 + a·s·cos(θ_h)),
    // where θ_h is the angle at mid-hour and s = sin(π/24)/(π/24) the hour-average of the
    // cosine. Each count is Poisson: allow 4 standard deviations (24 checks).
    let a = (ratio - 1.0) / (ratio + 1.0);
    let x = std::f64::consts::PI / 24.0;
    let s = x.sin() / x;
    for (h, count) in counts.iter().enumerate() {
        let theta = 2.0 * std::f64::consts::PI * (h as f64 + 0.5 - peak_hour) / 24.0;
        let expected = days as f64 * 3600.0 * (1.0 + a * s * theta.cos());
        assert!(
            (count - expected).abs() < 4.0 * expected.sqrt(),
            "hour {h}: {count} arrivals, expected {expected}"
        );
    }
    // The busiest hour is the peak hour, the quietest the trough, and their ratio is the
    // configured one (less the hour-averaging, ≈ 2.99 for ratio 3) within 3%.
    let max = counts.iter().copied().fold(0.0, f64::max);
    let min = counts.iter().copied().fold(f64::INFINITY, f64::min);
    let hourly_ratio = (1.0 + a * s * (x).cos()) / (1.0 - a * s * (x).cos());
    eprintln!(
        "diurnal hourly peak/trough {:.4}, expected {hourly_ratio:.4}",
        max / min
    );
    assert!(
        ((max / min) - hourly_ratio).abs() < 0.03 * hourly_ratio,
        "peak/trough of hourly counts {}, expected {hourly_ratio}",
        max / min
    );
    assert_eq!(counts[13].max(counts[14]), max);
    assert_eq!(counts[1].min(counts[2]), min);
    assert_rate(&spec, 10, DAY, 0.01);
}

#[test]
fn diurnal_hourly_weights_follow_their_profile() {
    let mut weights = [1.0; 24];
    weights[9] = 5.0;
    weights[10] = 4.0;
    weights[3] = 0.0;
    let offset = 6 * HOUR;
    let spec = ArrivalSpec::Diurnal {
        rate: rate(2.0),
        profile: DiurnalProfile::Hourly { weights },
        time_of_day_at_start: offset,
    };
    let days = 10;
    let times = arrivals(&spec, 9, days * DAY);
    let counts = hourly_counts(&times, offset);
    let sum: f64 = weights.iter().sum();
    for h in 0..24 {
        let expected = days as f64 * 3600.0 * 2.0 * 24.0 * weights[h] / sum;
        assert!(
            (counts[h] - expected).abs() <= 4.0 * expected.sqrt(),
            "hour {h}: {} arrivals, expected {expected}",
            counts[h]
        );
    }
    assert_eq!(counts[3], 0.0, "a zero weight means no traffic");
    assert_rate(&spec, 10, DAY, 0.01);
}

#[test]
fn mmpp_long_run_rate_and_overdispersion() {
    // Base 1/s for 60 s on average, bursts of 20/s for 10 s on average:
    // long-run rate (1·60 + 20·10)/70 = 3.714/s.
    let spec = ArrivalSpec::Mmpp {
        base_rate_per_s: 1.0,
        burst_rate_per_s: 20.0,
        mean_base: 60 * SEC,
        mean_burst: 10 * SEC,
    };
    assert!((spec.mean_rate_per_s() - 260.0 / 70.0).abs() < 1e-12);
    // Asymptotic count variance: λ̄ + 2(r_b − r_u)²·αβ/(α + β)³ ≈ 762 per second of
    // horizon (α = 1/60, β = 1/10): 30 × 20,000 s gives a half-width ≈ 2.5%.
    assert_rate(&spec, 30, 20_000 * SEC, 0.04);
    let times = arrivals(&spec, 21, 100_000 * SEC);
    let idc = dispersion(&window_counts(&times, 60 * SEC, 100_000 * SEC));
    // Index of dispersion of counts in windows of t = 60 s (Poisson: 1). For a two-state
    // MMPP with switching rates α = 1/m_b, β = 1/m_u, s = α + β:
    //   IDC(t) = 1 + 2(r_b − r_u)²αβ / (s³ λ̄) · (1 − (1 − e^(−st)) / (st))
    // = 1 + 204.1 · 0.857 = 175.9 here. Allow 15% (the window counts are correlated over
    // ~10 s sojourns, so the 1,666 windows estimate the variance to a few per cent).
    let (a, b): (f64, f64) = (1.0 / 60.0, 1.0 / 10.0);
    let s = a + b;
    let mean = 260.0 / 70.0;
    let st = s * 60.0;
    let theory =
        1.0 + 2.0 * 19.0 * 19.0 * a * b / (s * s * s * mean) * (1.0 - (1.0 - (-st).exp()) / st);
    eprintln!("MMPP IDC(60 s) {idc:.2}, theory {theory:.2}");
    assert!(
        (idc - theory).abs() < 0.15 * theory,
        "MMPP counts are overdispersed: IDC {idc}, theory {theory}"
    );
}

#[test]
fn mmpp_on_off_source() {
    let spec = ArrivalSpec::Mmpp {
        base_rate_per_s: 0.0,
        burst_rate_per_s: 10.0,
        mean_base: 30 * SEC,
        mean_burst: 10 * SEC,
    };
    assert_rate(&spec, 30, 10_000 * SEC, 0.05);
}

#[test]
fn piecewise_rates_hold_in_each_step_and_a_zero_rate_is_silent() {
    // 10/s for 100 s, a spike of 200/s for 5 s, 10/s again, and silence from 200 s.
    let spec = ArrivalSpec::Piecewise {
        steps: vec![
            (0, 10.0),
            (100 * SEC, 200.0),
            (105 * SEC, 10.0),
            (200 * SEC, 0.0),
        ],
    };
    spec.validate().unwrap();
    let windows = [(0, 100), (100, 105), (105, 200)];
    let mut counts = vec![Vec::new(); windows.len()];
    for seed in 0..30 {
        let times = arrivals(&spec, seed, 1_000 * SEC);
        assert!(times.iter().all(|&t| t < 200 * SEC), "nothing after 200 s");
        for (c, &(a, b)) in counts.iter_mut().zip(&windows) {
            let n = times
                .iter()
                .filter(|&&t| t >= a * SEC && t < b * SEC)
                .count();
            c.push(n as f64);
        }
    }
    // 1,000, 1,000 and 950 expected: Poisson counts, so a 99% interval of 30 replications
    // has a half-width near 2.8·√(1000/30) ≈ 16 (1.6%).
    for (c, expected) in counts.iter().zip([1_000.0, 1_000.0, 950.0]) {
        let ci = t_interval(c, 0.99).unwrap();
        assert!(
            ci.low <= expected && expected <= ci.high,
            "{expected} outside [{}, {}]",
            ci.low,
            ci.high
        );
    }
}

#[test]
fn piecewise_steps_must_start_at_zero_and_increase() {
    for steps in [
        vec![(SEC, 1.0)],
        vec![(0, 1.0), (5 * SEC, 2.0), (5 * SEC, 3.0)],
        vec![(0, -1.0)],
    ] {
        assert!(ArrivalSpec::Piecewise { steps }.validate().is_err());
    }
}

#[test]
fn same_seed_same_arrivals() {
    let specs = [
        ArrivalSpec::Poisson { rate: rate(3.0) },
        ArrivalSpec::GammaRenewal {
            rate: rate(3.0),
            cv: 2.0,
        },
        ArrivalSpec::Diurnal {
            rate: rate(3.0),
            profile: DiurnalProfile::Sinusoid {
                peak_to_trough: 4.0,
                peak_hour: 20.5,
            },
            time_of_day_at_start: 0,
        },
        ArrivalSpec::Mmpp {
            base_rate_per_s: 1.0,
            burst_rate_per_s: 9.0,
            mean_base: 5 * SEC,
            mean_burst: SEC,
        },
    ];
    for spec in &specs {
        let a = arrivals(spec, 77, 1_000 * SEC);
        assert_eq!(a, arrivals(spec, 77, 1_000 * SEC));
        assert_ne!(a, arrivals(spec, 78, 1_000 * SEC));
    }
}

#[test]
fn rejects_bad_specs() {
    let bad = [
        ArrivalSpec::GammaRenewal {
            rate: rate(1.0),
            cv: 0.0,
        },
        ArrivalSpec::GammaRenewal {
            rate: rate(1.0),
            cv: f64::NAN,
        },
        ArrivalSpec::GammaRenewal {
            rate: rate(1.0),
            cv: 1e300,
        },
        ArrivalSpec::Diurnal {
            rate: rate(1.0),
            profile: DiurnalProfile::Sinusoid {
                peak_to_trough: 0.5,
                peak_hour: 3.0,
            },
            time_of_day_at_start: 0,
        },
        ArrivalSpec::Diurnal {
            rate: rate(1.0),
            profile: DiurnalProfile::Sinusoid {
                peak_to_trough: 2.0,
                peak_hour: 24.0,
            },
            time_of_day_at_start: 0,
        },
        ArrivalSpec::Diurnal {
            rate: rate(1.0),
            profile: DiurnalProfile::Hourly { weights: [0.0; 24] },
            time_of_day_at_start: 0,
        },
        ArrivalSpec::Diurnal {
            rate: rate(1.0),
            profile: DiurnalProfile::Hourly { weights: [1.0; 24] },
            time_of_day_at_start: DAY,
        },
        ArrivalSpec::Mmpp {
            base_rate_per_s: 0.0,
            burst_rate_per_s: 0.0,
            mean_base: SEC,
            mean_burst: SEC,
        },
        ArrivalSpec::Mmpp {
            base_rate_per_s: -1.0,
            burst_rate_per_s: 1.0,
            mean_base: SEC,
            mean_burst: SEC,
        },
        ArrivalSpec::Mmpp {
            base_rate_per_s: 1.0,
            burst_rate_per_s: 2.0,
            mean_base: 0,
            mean_burst: SEC,
        },
    ];
    for spec in &bad {
        let err = ArrivalState::new(spec).unwrap_err();
        assert!(!err.to_string().is_empty());
    }
    let mut weights = [1.0; 24];
    weights[5] = -1.0;
    let err = ArrivalSpec::Diurnal {
        rate: rate(1.0),
        profile: DiurnalProfile::Hourly { weights },
        time_of_day_at_start: 0,
    }
    .validate()
    .unwrap_err();
    assert_eq!(err.field, "hourly_weights");
    assert!(err.message.contains("hour 5"), "{err}");
}

#[test]
fn ends_instead_of_overflowing() {
    let mut state = ArrivalState::new(&ArrivalSpec::Poisson {
        rate: Rate::per_second(1e-12).unwrap(),
    })
    .unwrap();
    let mut rng = RandomStream::from_seed(1);
    let mut now = Time::MAX - 10;
    let mut ended = false;
    for _ in 0..100 {
        match state.next_arrival(now, &mut rng) {
            Some(t) => now = t,
            None => {
                ended = true;
                break;
            }
        }
    }
    assert!(ended);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn spec() -> impl Strategy<Value = ArrivalSpec> {
        let r = 0.001f64..1000.0;
        prop_oneof![
            r.clone()
                .prop_map(|x| ArrivalSpec::Poisson { rate: rate(x) }),
            (r.clone(), 0.05f64..20.0)
                .prop_map(|(x, cv)| ArrivalSpec::GammaRenewal { rate: rate(x), cv }),
            (r.clone(), 1.0f64..100.0, 0.0f64..24.0, 0..DAY).prop_map(|(x, k, h, tod)| {
                ArrivalSpec::Diurnal {
                    rate: rate(x),
                    profile: DiurnalProfile::Sinusoid {
                        peak_to_trough: k,
                        peak_hour: h.min(23.999),
                    },
                    time_of_day_at_start: tod,
                }
            }),
            (r.clone(), proptest::array::uniform24(0.0f64..10.0), 0..DAY).prop_map(
                |(x, mut weights, tod)| {
                    weights[7] += 0.1;
                    ArrivalSpec::Diurnal {
                        rate: rate(x),
                        profile: DiurnalProfile::Hourly { weights },
                        time_of_day_at_start: tod,
                    }
                }
            ),
            (0.0f64..100.0, r, 1..1_000 * SEC, 1..1_000 * SEC).prop_map(|(b, u, mb, mu)| {
                ArrivalSpec::Mmpp {
                    base_rate_per_s: b,
                    burst_rate_per_s: u,
                    mean_base: mb,
                    mean_burst: mu,
                }
            }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        /// Arrivals never go back in time, and a clone of a generator (as each replication
        /// gets) replays the same sequence from the same stream.
        #[test]
        fn arrivals_move_forward_and_replay_exactly(spec in spec(), seed in any::<u64>(), start in 0..DAY) {
            let mut a = ArrivalState::new(&spec).unwrap();
            let mut b = a.clone();
            let (mut ra, mut rb) = (RandomStream::from_seed(seed), RandomStream::from_seed(seed));
            let (mut now_a, mut now_b) = (start, start);
            for _ in 0..200 {
                let x = a.next_arrival(now_a, &mut ra).unwrap();
                let y = b.next_arrival(now_b, &mut rb).unwrap();
                prop_assert!(x >= now_a);
                prop_assert_eq!(x, y);
                (now_a, now_b) = (x, y);
            }
        }
    }
}
