//! Properties of the SLO tracker under arbitrary traffic: it never panics, replays exactly, and
//! never reports a burned budget or an alert without bad calls.

use models::slo::{
    AlertingConfig, Budgeting, CallFacts, EmptySlice, Indicator, Objective, Outcome, RatioSli,
    SloConfig, SloTracker, SloWindow, ThresholdMetric, ThresholdSli,
};
use policies::burn_rate::{FaultWindow, Preset};
use proptest::prelude::*;

mod reach;
use sim_core::time::Time;

const S: Time = 1_000_000_000;
const MIN: Time = 60 * S;

fn configs(kind: u8, calendar: bool, slices: bool, ppm: u64) -> Vec<SloConfig> {
    let objective = Objective::from_ppm(ppm).unwrap();
    let indicator = match kind % 4 {
        0 => Indicator::Ratio(RatioSli::availability()),
        1 => Indicator::Ratio(RatioSli::latency_under(2 * S)),
        2 => Indicator::Ratio(RatioSli::cost_under(0.01)),
        _ => Indicator::Threshold(ThresholdSli {
            metric: ThresholdMetric::Ttft,
            quantile_per_mille: 990,
            max: 2 * S,
            outcomes: models::slo::OutcomeSet::ANSWERED,
        }),
    };
    let threshold = matches!(indicator, Indicator::Threshold(_));
    vec![SloConfig {
        name: "s".into(),
        indicator,
        tenants: if kind.is_multiple_of(2) {
            vec![]
        } else {
            vec!["b".into()]
        },
        routes: vec![],
        workflow: None,
        objective,
        window: if calendar {
            SloWindow::Calendar(30 * MIN)
        } else {
            SloWindow::Rolling(2 * 60 * MIN)
        },
        budgeting: if slices || threshold {
            Budgeting::Timeslices {
                slice: MIN,
                target: objective,
                empty: [EmptySlice::Good, EmptySlice::Bad, EmptySlice::Skip][kind as usize % 3],
            }
        } else {
            Budgeting::Occurrences
        },
        alerting: AlertingConfig {
            rules: Preset::Pyrra.rules(7 * 24 * 60 * MIN).unwrap(),
            interval: MIN,
            grace: 0,
        },
        incident_window: 5 * MIN,
    }]
}

fn outcome(i: u8) -> Outcome {
    Outcome::ALL[i as usize % Outcome::ALL.len()]
}

/// Any traffic replays to the same report. The budget is burned in about 98% of the cases (the
/// test asks for 50%) and an alert fires in about 43% (the test asks for 20%).
#[test]
fn never_panics_and_replays_exactly() {
    let strategy = (
        // Half the objectives at 99% or above, where the alert thresholds (14.4× the budget
        // and less) can be crossed.
        (
            0u8..8,
            any::<bool>(),
            any::<bool>(),
            prop_oneof![1u64..1_000_000, 990_000u64..1_000_000],
        ),
        proptest::collection::vec(
            (
                0u64..120 * S,
                0u16..4,
                0u8..7,
                0u64..5 * S,
                any::<bool>(),
                0u32..100,
            ),
            0..300,
        ),
        proptest::collection::vec((0u64..6 * 60 * MIN, 0u64..60 * MIN), 0..4),
    );
    reach::check(
        256,
        strategy,
        [("budget burned", 0.5), ("an alert fired", 0.2)],
        |((kind, calendar, slices, ppm), calls, faults)| {
            let run = || {
                let cfg = configs(kind, calendar, slices, ppm);
                let mut t = SloTracker::new(&cfg, &["a", "b"], &[], 5 * MIN, 6 * 60 * MIN).unwrap();
                let mut now = 0;
                for &(dt, tenant, o, latency, has_ttft, cents) in &calls {
                    now += dt;
                    let f = CallFacts {
                        outcome: outcome(o),
                        latency,
                        ttft: has_ttft.then_some(latency / 2),
                        cost_usd: f64::from(cents) / 1000.0,
                    };
                    t.record(now, tenant, 0, &f);
                }
                let faults: Vec<FaultWindow> = faults
                    .iter()
                    .map(|&(s, d)| FaultWindow {
                        start: s,
                        end: s + d,
                    })
                    .collect();
                t.finish(6 * 60 * MIN, &faults)
            };
            let (first, second) = (run(), run());
            prop_assert_eq!(format!("{first:?}"), format!("{second:?}"));
            let r = &first.slos[0];
            Ok([r.budget_consumed_max > 0.0, !r.alert_log.is_empty()])
        },
    );
}

/// Without bad calls nothing burns, nothing alerts and the SLO is met. The same traffic all
/// failed would have missed the SLO in about 100% of the cases (the test asks for 50%).
#[test]
fn no_bad_calls_means_no_burn() {
    let strategy = (
        any::<bool>(),
        1u64..1_000_000,
        proptest::collection::vec(0u64..300 * S, 1..300),
    );
    reach::check(
        256,
        strategy,
        [("the same traffic all failed misses the SLO", 0.5)],
        |(calendar, ppm, gaps)| {
            let cfg = configs(0, calendar, false, ppm);
            let mut t = SloTracker::new(&cfg, &["a", "b"], &[], 0, 6 * 60 * MIN).unwrap();
            let mut bad = SloTracker::new(&cfg, &["a", "b"], &[], 0, 6 * 60 * MIN).unwrap();
            let mut now = 0;
            for dt in gaps {
                now += dt;
                let f = CallFacts {
                    outcome: Outcome::Correct,
                    latency: S,
                    ttft: None,
                    cost_usd: 0.0,
                };
                t.record(now, 0, 0, &f);
                let failed = CallFacts {
                    outcome: Outcome::Failed,
                    ..f
                };
                bad.record(now, 0, 0, &failed);
            }
            let missed = !bad.finish(6 * 60 * MIN, &[]).slos[0].met;
            let r = t.finish(6 * 60 * MIN, &[]).slos.remove(0);
            prop_assert!(r.met);
            prop_assert_eq!(r.budget_consumed_max, 0.0);
            prop_assert!(r.alert_log.is_empty());
            prop_assert_eq!(r.incidents, 0);
            prop_assert_eq!(r.exhausted_at, None);
            prop_assert_eq!(r.good, r.total);
            Ok([missed])
        },
    );
}

/// Each rule of `SloConfig::validate` turns away the configuration that breaks it, with a
/// message naming the problem, and lets the boundary case through.
#[test]
fn validation_names_each_broken_rule() {
    let ratio = configs(0, false, true, 990_000).remove(0);
    let threshold = configs(3, false, true, 990_000).remove(0);
    assert_eq!(ratio.validate(), Ok(()));
    assert_eq!(threshold.validate(), Ok(()));
    let with_slice = |c: &SloConfig, slice: Time| {
        let mut c = c.clone();
        let Budgeting::Timeslices { target, empty, .. } = c.budgeting else {
            panic!("timeslices expected")
        };
        c.budgeting = Budgeting::Timeslices {
            slice,
            target,
            empty,
        };
        c
    };
    let err = |c: &SloConfig| c.validate().unwrap_err();
    // A threshold SLI has no per-call verdict to count occurrences of.
    let mut occurrences = threshold.clone();
    occurrences.budgeting = Budgeting::Occurrences;
    assert!(err(&occurrences).contains("use timeslices budgeting"));
    // The slice must be positive and fit the window (2 h here); a slice of the whole window is
    // allowed. Both indicators are checked.
    for c in [&ratio, &threshold] {
        assert!(err(&with_slice(c, 0)).contains("longer than zero"));
        assert!(err(&with_slice(c, 3 * 60 * MIN)).contains("longer than the window"));
        assert_eq!(with_slice(c, 2 * 60 * MIN).validate(), Ok(()));
    }
    let mut interval = ratio.clone();
    interval.alerting.interval = 0;
    assert!(err(&interval).contains("evaluation interval"));
    let mut odd = ratio.clone();
    odd.incident_window = MIN + 1;
    assert!(err(&odd).contains("incident window"));
    odd.incident_window = 0;
    assert!(err(&odd).contains("incident window"), "zero is no multiple");
}

/// The indicator's own limits: a ratio SLI counts some outcome and its cost limit is a finite
/// amount ≥ 0 (0 allowed); a threshold SLI's quantile is in (0, 1] (1 allowed) and it counts
/// some outcome.
#[test]
fn validation_of_indicator_limits() {
    let ratio = configs(0, false, true, 990_000).remove(0);
    let threshold = configs(3, false, true, 990_000).remove(0);
    let with_ratio = |f: &dyn Fn(&mut RatioSli)| {
        let mut c = ratio.clone();
        let Indicator::Ratio(r) = &mut c.indicator else {
            unreachable!()
        };
        f(r);
        c.validate()
    };
    let with_threshold = |f: &dyn Fn(&mut ThresholdSli)| {
        let mut c = threshold.clone();
        let Indicator::Threshold(t) = &mut c.indicator else {
            unreachable!()
        };
        f(t);
        c.validate()
    };
    for bad in [-0.01, f64::NAN, f64::INFINITY] {
        let e = with_ratio(&|r| r.cost_max_usd = Some(bad)).unwrap_err();
        assert!(e.contains("cost limit"), "{bad}: {e}");
    }
    assert_eq!(with_ratio(&|r| r.cost_max_usd = Some(0.0)), Ok(()));
    let none = models::slo::OutcomeSet::of(&[]);
    assert!(
        with_ratio(&|r| r.total = none)
            .unwrap_err()
            .contains("no outcome")
    );
    assert!(
        with_threshold(&|t| t.outcomes = none)
            .unwrap_err()
            .contains("no outcome")
    );
    for q in [0, 1001] {
        let e = with_threshold(&|t| t.quantile_per_mille = q).unwrap_err();
        assert!(e.contains("quantile"), "{q}: {e}");
    }
    assert_eq!(with_threshold(&|t| t.quantile_per_mille = 1000), Ok(()));
}

/// Objectives as numbers: strictly between 0 and 1 and finite, read through their shortest
/// decimal text so 0.999 is exactly 999,000 ppm.
#[test]
fn objectives_from_numbers() {
    assert_eq!(
        Objective::from_fraction(0.999).map(Objective::ppm),
        Ok(999_000)
    );
    assert_eq!(
        Objective::from_fraction(0.000001).map(Objective::ppm),
        Ok(1)
    );
    for bad in [
        0.0,
        1.0,
        -0.5,
        1.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
    ] {
        let e = Objective::from_fraction(bad).unwrap_err();
        assert!(
            e.contains("must be a fraction between 0 and 1"),
            "{bad}: {e}"
        );
    }
    assert!(Objective::from_ppm(0).is_err() && Objective::from_ppm(1_000_000).is_err());
    assert_eq!(
        Objective::parse_percent("99.9%").map(Objective::ppm),
        Ok(999_000)
    );
}

/// Decimal text to whole parts per million, exactly: trailing zeros dropped, finer digits,
/// non-digits, an empty number and overflow refused; an objective's fraction, budget and
/// allowed outage (99.9% of 30 days leaves 43.2 minutes).
#[test]
fn decimals_and_budgets_are_exact() {
    use models::slo::decimal_scaled;
    assert_eq!(decimal_scaled("99.9", 4), Ok(999_000));
    assert_eq!(decimal_scaled("99.90000", 4), Ok(999_000));
    assert_eq!(decimal_scaled(".5", 6), Ok(500_000));
    assert_eq!(decimal_scaled("5.", 6), Ok(5_000_000));
    assert_eq!(decimal_scaled("7", 0), Ok(7));
    assert!(decimal_scaled("99.99999", 4).unwrap_err().contains("finer"));
    for bad in ["", ".", "abc", "1.2.3", "-1", "1e3", "9 9"] {
        assert_eq!(
            decimal_scaled(bad, 4),
            Err("not a decimal number".into()),
            "{bad:?}"
        );
    }
    assert!(
        decimal_scaled("18446744073709551616", 0)
            .unwrap_err()
            .contains("too large")
    );
    assert!(
        decimal_scaled("1844674407370956", 4)
            .unwrap_err()
            .contains("too large")
    );
    let o = Objective::parse_percent("99.9").unwrap();
    assert_eq!(o.as_f64(), 0.999);
    assert_eq!(o.budget_ppm(), 1_000);
    assert_eq!(o.allowed_outage(30 * 24 * 60 * MIN), 43 * MIN + 12 * S);
    assert_eq!(
        Objective::parse_fraction("0.25").map(Objective::as_f64),
        Ok(0.25)
    );
    assert!(Objective::parse_percent("100").is_err());
}

/// The per-replication metrics: an SLO whose every call fails is missed, burns its budget a
/// hundred times over, exhausts it at a finite time and has an incident; one whose every call succeeds is met with its whole
/// budget left, and its time to exhaustion, MTTR and MTBF are NaN (undefined), not 0.
#[test]
fn metrics_mark_the_undefined_as_nan() {
    let run = |outcome: Outcome| {
        let cfg = configs(0, false, false, 990_000);
        let mut t = SloTracker::new(&cfg, &["a", "b"], &[], 0, 6 * 60 * MIN).unwrap();
        for k in 1..=600 {
            let f = CallFacts {
                outcome,
                latency: S,
                ttft: None,
                cost_usd: 0.0,
            };
            t.record(k * 36 * S, 0, 0, &f);
        }
        let mut m = sim_core::summary::MetricSet::new();
        t.finish(6 * 60 * MIN, &[]).push_metrics(&mut m);
        move |name: &str| m.get(&format!("slo.s.{name}")).unwrap()
    };
    let good = run(Outcome::Correct);
    assert_eq!(good("met"), 1.0);
    assert_eq!(good("budget_remaining"), 1.0);
    for undefined in ["time_to_exhaustion_s", "mttr_s", "mtbf_s"] {
        assert!(good(undefined).is_nan(), "{undefined}: {}", good(undefined));
    }
    let bad = run(Outcome::Failed);
    assert_eq!(bad("met"), 0.0);
    // Every call bad against a 1% budget, calls up to the end: 100 budgets, at the end too.
    assert_eq!(bad("budget_consumed_max"), 100.0);
    assert_eq!(bad("budget_consumed"), 100.0);
    assert_eq!(bad("budget_remaining"), 1.0 - 100.0);
    let exhausted = bad("time_to_exhaustion_s");
    assert!(exhausted.is_finite() && exhausted > 0.0, "{exhausted}");
    assert!(bad("incidents") >= 1.0);
}

/// The standard ratio SLIs judge the outcomes their names say: availability counts a degraded
/// answer as good, goodput only a correct one; correctness counts answered calls only, so a
/// failed call is not counted at all; latency and TTFT judge their own limit; cost counts only
/// useful answers as good.
#[test]
fn standard_indicators_judge_their_outcomes() {
    let facts = |outcome| CallFacts {
        outcome,
        latency: S,
        ttft: None,
        cost_usd: 0.0,
    };
    let availability = RatioSli::availability();
    let goodput = RatioSli::goodput();
    let correctness = RatioSli::correctness();
    assert_eq!(availability.classify(&facts(Outcome::Degraded)), Some(true));
    assert_eq!(goodput.classify(&facts(Outcome::Degraded)), Some(false));
    assert_eq!(goodput.classify(&facts(Outcome::Correct)), Some(true));
    assert_eq!(availability.classify(&facts(Outcome::Failed)), Some(false));
    assert_eq!(correctness.classify(&facts(Outcome::Failed)), None);
    assert_eq!(correctness.classify(&facts(Outcome::Degraded)), Some(true));
    assert_eq!(
        correctness.classify(&facts(Outcome::WrongAccepted)),
        Some(false)
    );
    // Latency (2 s): answered calls only, good within the limit.
    let latency = RatioSli::latency_under(2 * S);
    assert_eq!(latency.classify(&facts(Outcome::Failed)), None);
    assert_eq!(latency.classify(&facts(Outcome::Correct)), Some(true));
    let slow = CallFacts {
        latency: 3 * S,
        ..facts(Outcome::Correct)
    };
    assert_eq!(latency.classify(&slow), Some(false));
    // TTFT (1 s): judged on the first token, not on a slow end.
    let ttft = RatioSli::ttft_under(S);
    let early = CallFacts {
        latency: 5 * S,
        ttft: Some(S / 2),
        ..facts(Outcome::Correct)
    };
    let late = CallFacts {
        ttft: Some(2 * S),
        ..early
    };
    assert_eq!(ttft.classify(&early), Some(true));
    assert_eq!(ttft.classify(&late), Some(false));
    // Cost: a cheap but wrongly accepted answer is no useful response.
    let cost = RatioSli::cost_under(0.01);
    assert_eq!(cost.classify(&facts(Outcome::WrongAccepted)), Some(false));
    assert_eq!(cost.classify(&facts(Outcome::Degraded)), Some(true));
    let dear = CallFacts {
        cost_usd: 0.02,
        ..facts(Outcome::Correct)
    };
    assert_eq!(cost.classify(&dear), Some(false));
}
