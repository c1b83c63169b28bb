//! SLO budget arithmetic and burn-rate detection, driven with synthetic traffic so every figure
//! is known in closed form (issue 6, item 7).

use models::slo::{
    AlertingConfig, Budgeting, CallFacts, EmptySlice, Indicator, Objective, Outcome, RatioSli,
    SloConfig, SloReport, SloTracker, SloWindow, ThresholdMetric, ThresholdSli,
};
use policies::burn_rate::{DEFAULT_INTERVAL, FaultWindow, Preset};
use sim_core::summary::MetricSet;
use sim_core::time::Time;

const S: Time = 1_000_000_000;
const MIN: Time = 60 * S;
const H: Time = 60 * MIN;
const DAY: Time = 24 * H;

fn call(outcome: Outcome, latency: Time) -> CallFacts {
    CallFacts {
        outcome,
        latency,
        ttft: None,
        cost_usd: 0.0,
    }
}

fn availability(name: &str, objective: &str, window: SloWindow) -> SloConfig {
    SloConfig {
        name: name.into(),
        indicator: Indicator::Ratio(RatioSli::availability()),
        tenants: vec![],
        routes: vec![],
        workflow: None,
        objective: Objective::parse_percent(objective).unwrap(),
        window,
        budgeting: Budgeting::Occurrences,
        alerting: AlertingConfig::default(),
        incident_window: models::slo::DEFAULT_INCIDENT_WINDOW,
    }
}

/// Runs one request every `every` over `[0, horizon)`, failed inside `outage`.
fn run(configs: &[SloConfig], horizon: Time, every: Time, outage: (Time, Time)) -> SloReport {
    let mut t = SloTracker::new(configs, &["t"], &[], 0, horizon).unwrap();
    let mut now = 0;
    while now < horizon {
        let o = if (outage.0..outage.1).contains(&now) {
            Outcome::Failed
        } else {
            Outcome::Correct
        };
        t.record(now, 0, 0, &call(o, S));
        now += every;
    }
    t.finish(
        horizon,
        &[FaultWindow {
            start: outage.0,
            end: outage.1,
        }],
    )
}

#[test]
fn objectives_are_parsed_exactly() {
    assert_eq!(Objective::parse_percent("99.9").unwrap().ppm(), 999_000);
    assert_eq!(Objective::parse_percent("99.9%").unwrap().ppm(), 999_000);
    assert_eq!(
        Objective::parse_percent(" 99.95 % ").unwrap().ppm(),
        999_500
    );
    assert_eq!(Objective::parse_percent("99.9999").unwrap().ppm(), 999_999);
    assert_eq!(Objective::from_fraction(0.999).unwrap().ppm(), 999_000);
    assert_eq!(
        Objective::parse_fraction("0.9995").unwrap().budget_ppm(),
        500
    );
    for bad in ["99.99995", "100", "0", "abc", "", "9.9.9", "-1", "1e2"] {
        assert!(Objective::parse_percent(bad).is_err(), "{bad}");
    }
    for bad in [1.0, 0.0, 99.9, f64::NAN, 0.1 + 0.2] {
        assert!(Objective::from_fraction(bad).is_err(), "{bad}");
    }
}

#[test]
fn thirty_days_at_three_nines_allow_exactly_43_2_minutes() {
    let o = Objective::parse_percent("99.9").unwrap();
    assert_eq!(o.allowed_outage(30 * DAY), 2_592_000_000_000); // 43.2 min in ns
    assert_eq!(o.allowed_outage(30 * DAY), 43 * MIN + 12 * S);

    // One request every 2 s for 30 days: 1,296,000 requests, a budget of exactly 1,296.
    let slo = availability("avail", "99.9", SloWindow::Rolling(30 * DAY));
    let start = 10 * DAY;
    let at_limit = run(
        std::slice::from_ref(&slo),
        30 * DAY,
        2 * S,
        (start, start + 43 * MIN + 12 * S),
    );
    let r = &at_limit.slos[0];
    assert_eq!((r.total, r.total - r.good), (1_296_000, 1_296));
    assert!(r.met, "{r:?}");
    assert_eq!(r.budget_consumed, 1.0);
    assert_eq!(r.exhausted_at, None);
    assert_eq!(r.windows_breached, 0);

    // Two seconds more: one failed request too many.
    let over = run(&[slo], 30 * DAY, 2 * S, (start, start + 43 * MIN + 14 * S));
    let r = &over.slos[0];
    assert!(!r.met);
    assert_eq!(r.windows_breached, 1);
    assert!(r.budget_consumed > 1.0);
    // Budget extrapolated at the steady rate: it runs out with the 1297th failure, at the
    // evaluation after it (10 days + 43m12s + 1 interval).
    assert_eq!(r.exhausted_at, Some(start + 44 * MIN));
}

#[test]
fn timeslices_count_slices_and_judge_empty_ones_good() {
    // 99.9% of 1-minute slices over a 30-day calendar window: 43 bad slices allowed (43.2).
    let mut slo = availability("slices", "99.9", SloWindow::Calendar(30 * DAY));
    slo.budgeting = Budgeting::Timeslices {
        slice: MIN,
        target: Objective::parse_percent("99").unwrap(),
        empty: EmptySlice::Good,
    };
    // Traffic only every 30 s in the first day; afterwards silence (empty slices are good).
    let r = |outage_min: Time| {
        let mut t = SloTracker::new(std::slice::from_ref(&slo), &["t"], &[], 0, 30 * DAY).unwrap();
        let mut now = 0;
        while now < DAY {
            let o = if now < outage_min * MIN {
                Outcome::Failed
            } else {
                Outcome::Correct
            };
            t.record(now, 0, 0, &call(o, S));
            now += 30 * S;
        }
        t.finish(30 * DAY, &[]).slos.remove(0)
    };
    let ok = r(43);
    assert_eq!((ok.total, ok.total - ok.good), (43_200, 43));
    assert!(ok.met);
    assert_eq!(ok.windows, 1);
    let bad = r(44);
    assert!(!bad.met);
    assert_eq!(bad.windows_breached, 1);
    // The 44th bad slice ends at 44 min: the budget is gone at that evaluation.
    assert_eq!(bad.exhausted_at, Some(44 * MIN));
}

#[test]
fn fast_burn_page_fires_after_51_8_seconds_of_total_outage() {
    let mut slo = availability("avail", "99.9", SloWindow::Rolling(30 * DAY));
    slo.alerting = AlertingConfig {
        rules: Preset::SreWorkbook.rules(30 * DAY).unwrap(),
        interval: DEFAULT_INTERVAL,
        grace: 0,
    };
    // 100 requests per second; the outage starts at various offsets from the evaluation grid.
    for offset in [0, 7 * S, 30 * S, 59 * S] {
        let start = 2 * H + offset;
        let report = run(
            std::slice::from_ref(&slo),
            4 * H,
            S / 100,
            (start, start + 20 * MIN),
        );
        let r = &report.slos[0];
        let page = r
            .alert_log
            .iter()
            .find(|e| e.rule == 0)
            .expect("the 14.4× page fired");
        let detection = page.at - start;
        // 14.4 × 0.1% × 1 h = 0.0144 h = 51.84 s of total outage, within one interval.
        let analytic = 51_840_000_000i128;
        let diff = detection as i128 - analytic;
        assert!(
            (0..=DEFAULT_INTERVAL as i128).contains(&diff),
            "offset {offset}: detected after {detection} ns"
        );
        let mut m = MetricSet::new();
        report.push_metrics(&mut m);
        assert_eq!(m.get("slo.avail.alert_recall"), Some(1.0));
        assert_eq!(m.get("slo.avail.alert_precision"), Some(1.0));
        assert_eq!(r.rule_grades[0].detection[0], Some(detection));
        // In a 4-hour run only the 1h page is armed: the 6h page's and the 3d ticket's long
        // windows are never filled by measured data, so they never act on a few hours of
        // history. The SLO's alert (any rule) is the page.
        assert_eq!(r.armed, [true, false, false]);
        assert_eq!(r.firings, [1, 0, 0]);
        assert_eq!(m.get("slo.avail.armed.ticket-3d-6h"), Some(0.0));
        assert_eq!(m.get("slo.avail.armed.page-1h-5m"), Some(1.0));
        let d = m.get("slo.avail.detection_time_s").unwrap();
        assert_eq!(d, detection as f64 / 1e9);
        // Rules never armed are graded on nothing: recall undefined, not 0.
        assert_eq!(r.rule_grades[2].recall, None);
        // The page resolves once the 5m window is clean enough (error ratio ≤ 1.44%), about
        // five minutes after the outage, and with it the SLO's alert.
        let page_reset = r.rule_grades[0].reset[0].expect("the page resolved");
        assert!(
            page_reset > 4 * MIN && page_reset <= 5 * MIN + DEFAULT_INTERVAL,
            "{page_reset}"
        );
        assert_eq!(
            m.get("slo.avail.reset_time_s").unwrap(),
            page_reset as f64 / 1e9
        );
        // A 4-hour run of a 30-day SLO: the budget is extrapolated to the whole window (43.2
        // minutes of outage at this steady traffic), of which 20 minutes is 46.3%.
        assert_eq!(m.get("slo.avail.met"), Some(1.0));
        let consumed = m.get("slo.avail.budget_consumed").unwrap();
        assert!((consumed - 20.0 / 43.2).abs() < 1e-12, "{consumed}");
    }
}

#[test]
fn incidents_give_mttr_and_mtbf() {
    let slo = availability("avail", "99.9", SloWindow::Rolling(DAY));
    // One request per second; 10 minutes down from 1h; 5-minute incident window.
    let r = run(&[slo], 4 * H, S, (H, H + 10 * MIN));
    let r = &r.slos[0];
    assert_eq!(r.incidents, 1);
    // Opens at the first evaluation after the outage starts (60 bad of the last 300), closes
    // when the last 5 minutes are clean again.
    assert_eq!(r.incident_list[0].start, H + MIN);
    assert_eq!(r.incident_list[0].end, H + 15 * MIN);
    assert_eq!(r.mttr, Some(14 * MIN));
    assert_eq!(r.mtbf, Some(4 * H - 14 * MIN));
}

#[test]
fn threshold_sli_judges_each_slice_by_its_quantile() {
    let slo = SloConfig {
        name: "p95ttft".into(),
        indicator: Indicator::Threshold(ThresholdSli {
            metric: ThresholdMetric::Ttft,
            quantile_per_mille: 950,
            max: 2 * S,
            outcomes: models::slo::OutcomeSet::ANSWERED,
        }),
        budgeting: Budgeting::Timeslices {
            slice: 10 * MIN,
            target: Objective::parse_percent("99").unwrap(),
            empty: EmptySlice::Skip,
        },
        ..availability("x", "90", SloWindow::Calendar(H))
    };
    let mut t = SloTracker::new(&[slo], &["t"], &[], 0, 2 * H).unwrap();
    for i in 0..(2 * H / S) {
        let now = i * S;
        // In the third slice every 10th call's first token is slow: p95 is slow there.
        let slow = (20 * MIN..30 * MIN).contains(&now) && i % 10 == 0;
        let ttft = if slow { 5 * S } else { S / 2 };
        let f = CallFacts {
            outcome: Outcome::Correct,
            latency: 3 * S,
            ttft: Some(ttft),
            cost_usd: 0.001,
        };
        t.record(now, 0, 0, &f);
    }
    let r = t.finish(2 * H, &[]).slos.remove(0);
    assert_eq!((r.total, r.good), (12, 11));
    assert_eq!(r.windows, 2);
    // 1 bad slice of 6 in the first hour: 83% < 90%.
    assert_eq!(r.windows_breached, 1);
    assert!(r.window_results[0].breached && !r.window_results[1].breached);
}

#[test]
fn filters_and_validation_reject_what_cannot_work() {
    let mut slo = availability("a", "99", SloWindow::Rolling(DAY));
    slo.tenants = vec!["nobody".into()];
    let e = SloTracker::new(&[slo.clone()], &["t"], &[], 0, H).unwrap_err();
    assert!(e.contains("no tenant is named `nobody`"), "{e}");
    slo.tenants.clear();
    slo.window = SloWindow::Rolling(90 * S);
    let e = SloTracker::new(&[slo.clone()], &["t"], &[], 0, H).unwrap_err();
    assert!(e.contains("whole number of evaluation intervals"), "{e}");
    slo.window = SloWindow::Rolling(DAY);
    let e = SloTracker::new(&[slo.clone(), slo.clone()], &["t"], &[], 0, H).unwrap_err();
    assert!(e.contains("two SLOs"), "{e}");
}

#[test]
fn tenant_filters_count_only_their_tenant() {
    let mut slo = availability("b-only", "99", SloWindow::Rolling(H));
    slo.tenants = vec!["b".into()];
    let mut t = SloTracker::new(&[slo], &["a", "b"], &[], 0, H).unwrap();
    for i in 0..100 {
        t.record(i * S, 0, 0, &call(Outcome::Failed, S));
        t.record(i * S, 1, 0, &call(Outcome::Correct, S));
    }
    let r = t.finish(H, &[]).slos.remove(0);
    assert_eq!((r.good, r.total), (100, 100));
}

#[test]
fn metrics_and_series_have_fixed_names() {
    let mut slo = availability("avail", "99.9", SloWindow::Rolling(DAY));
    slo.alerting.rules = Preset::Sloth.rules(30 * DAY).unwrap();
    let report = run(&[slo], 6 * H, S, (H, H + 5 * MIN));
    let mut m = MetricSet::new();
    report.push_metrics(&mut m);
    let names: Vec<&str> = m.entries().iter().map(|(n, _)| n.as_str()).collect();
    for n in [
        "slo.avail.sli",
        "slo.avail.met",
        "slo.avail.budget_remaining",
        "slo.avail.time_to_exhaustion_s",
        "slo.avail.alerts",
        "slo.avail.alerts.page-quick",
        "slo.avail.detection_time_s",
        "slo.avail.mttr_s",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let series = report.series();
    assert_eq!(series.len(), 4);
    for (name, values) in &series {
        assert_eq!(values.len(), report.grid.len(), "{name}");
    }
    let budget = &series[1].1;
    assert!(budget.first().unwrap() > budget.last().unwrap());
}

/// An SLO over a workflow counts that tenant's executions only; an SLO over calls counts no
/// execution; both see the same clock.
#[test]
fn a_workflow_slo_counts_its_tenants_executions_and_no_calls() {
    let flow = SloConfig {
        workflow: Some("flow".into()),
        indicator: Indicator::Ratio(RatioSli::latency_under(10 * S)),
        ..availability("flow", "99", SloWindow::Rolling(H))
    };
    let calls = availability("calls", "99", SloWindow::Rolling(H));
    let mut t = SloTracker::new(&[flow.clone(), calls], &["chat", "flow"], &[], 0, H).unwrap();
    // Calls of both tenants: counted by `calls` only (3, 1 failed).
    t.record(MIN, 1, 0, &call(Outcome::Correct, S));
    t.record(MIN, 0, 0, &call(Outcome::Correct, S));
    t.record(2 * MIN, 1, 0, &call(Outcome::Failed, S));
    // Executions: of `flow` (tenant 1) counted by `flow` only — answered within 10 s (good),
    // answered in 11 s (bad), dead-lettered (not counted by a latency SLI); of `chat` by none.
    t.record_execution(3 * MIN, 1, &call(Outcome::Degraded, 10 * S));
    t.record_execution(4 * MIN, 1, &call(Outcome::Correct, 11 * S));
    t.record_execution(5 * MIN, 1, &call(Outcome::Failed, S));
    t.record_execution(5 * MIN, 0, &call(Outcome::Correct, S));
    // Before the warm-up nothing counts (the tracker here starts at 0, so nothing is before).
    let r = t.finish(H, &[]);
    assert_eq!((r.slos[0].good, r.slos[0].total), (1, 2));
    assert_eq!((r.slos[1].good, r.slos[1].total), (2, 3));

    // The tenant must exist; the filters and a first-token SLI are refused beside it.
    let e = SloTracker::new(std::slice::from_ref(&flow), &["chat"], &[], 0, H).unwrap_err();
    assert!(e.contains("no tenant is named `flow`"), "{e}");
    let with_tenants = SloConfig {
        tenants: vec!["flow".into()],
        ..flow.clone()
    };
    assert!(
        with_tenants
            .validate()
            .unwrap_err()
            .contains("do not apply")
    );
    let with_routes = SloConfig {
        routes: vec!["r".into()],
        ..flow.clone()
    };
    assert!(with_routes.validate().unwrap_err().contains("do not apply"));
    let ttft = SloConfig {
        indicator: Indicator::Ratio(RatioSli::ttft_under(S)),
        ..flow.clone()
    };
    assert!(ttft.validate().unwrap_err().contains("no first token"));
    let threshold_ttft = SloConfig {
        indicator: Indicator::Threshold(ThresholdSli {
            metric: ThresholdMetric::Ttft,
            quantile_per_mille: 950,
            max: S,
            outcomes: models::slo::OutcomeSet::ANSWERED,
        }),
        budgeting: Budgeting::Timeslices {
            slice: MIN,
            target: Objective::parse_percent("99").unwrap(),
            empty: EmptySlice::Skip,
        },
        ..flow.clone()
    };
    assert!(
        threshold_ttft
            .validate()
            .unwrap_err()
            .contains("no first token")
    );
    let threshold_latency = SloConfig {
        indicator: Indicator::Threshold(ThresholdSli {
            metric: ThresholdMetric::Latency,
            ..match threshold_ttft.indicator {
                Indicator::Threshold(t) => t,
                Indicator::Ratio(_) => unreachable!(),
            }
        }),
        ..threshold_ttft
    };
    assert_eq!(threshold_latency.validate(), Ok(()));
    assert_eq!(flow.validate(), Ok(()));
}
