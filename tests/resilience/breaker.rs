//! Circuit breakers and cooldowns.

use crate::common::resilience::*;
use crate::common::*;

/// One call a second; the backend answers in 100 ms, or fails after 100 ms during the outage.
fn breaker_scenario(calls_outage: (&str, &str), breaker: &str, extra: &str) -> String {
    format!(
        r#"
replications = 1
horizon = "10m"
[[tenants]]
name = "t"
route = "chat"
arrivals = {{ process = "trace", path = "TRACE" }}
[[routes]]
name = "chat"
backend = "api"
{extra}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "100ms" }}
outages = [{{ start = "{}", duration = "{}" }}]
{breaker}
[[backends]]
name = "backup"
concurrency = "unlimited"
service = {{ dist = "deterministic", value = "100ms" }}
"#,
        calls_outage.0, calls_outage.1
    )
}

#[test]
fn a_breaker_opens_after_minimum_calls_and_half_open_trials_close_it_after_the_outage() {
    // 120 calls, one a second; down from 10.5 s to 40.5 s. Window of the last 10 calls, judged
    // from 10 on, opens at 50% failures, 20 s open, 2 trial calls.
    //  * calls 0-10 succeed; 11-15 fail, and after 15 (at 15.1 s) the window holds 5 of 10
    //    failed: open until 35.1 s, and calls 16-35 are rejected without a call (20);
    //  * call 36 is the first trial, 37 the second; both fail (still down): open again at
    //    37.1 s until 57.1 s, calls 38-57 rejected (20);
    //  * calls 58 and 59 are trials that succeed: closed, and every later call succeeds.
    let trace = every_second("breaker-trace", 120);
    let breaker = "circuit_breaker = { window_size = 10, minimum_calls = 10, \
                   failure_rate_threshold = 0.5, open_duration = \"20s\", half_open_calls = 2 }";
    let report = run_with(
        "breaker",
        &breaker_scenario(("10500ms", "30s"), breaker, ""),
        Some(&trace),
    );
    assert_eq!(mean(&report, "backend.api.breaker_opened"), 2.0);
    assert_eq!(mean(&report, "backend.api.breaker_half_opened"), 2.0);
    assert_eq!(mean(&report, "backend.api.breaker_recovered"), 1.0);
    assert_eq!(mean(&report, "backend.api.breaker_rejected"), 40.0);
    assert_eq!(mean(&report, "errors.unavailable"), 7.0);
    assert_eq!(mean(&report, "backend.api.attempts"), 80.0);
    assert_eq!(mean(&report, "success_ratio"), 73.0 / 120.0);

    // With the backup as a fallback, the rejected calls go there instead of failing: 47 calls
    // (the 7 failures and the 40 rejections) end degraded, and none fails.
    let fallback = run_with(
        "breaker-fallback",
        &breaker_scenario(("10500ms", "30s"), breaker, "fallbacks = [\"backup\"]"),
        Some(&trace),
    );
    assert_eq!(mean(&fallback, "success_ratio"), 1.0);
    assert_eq!(mean(&fallback, "backend.backup.attempts"), 47.0);
    assert_eq!(mean(&fallback, "degraded"), 47.0);
}

#[test]
fn a_consecutive_failures_breaker_opens_after_exactly_n_failures() {
    // The failure-rate rule is out of reach (minimum 1000 calls); only N failures in a row open
    // the breaker, for 20 s, after which one trial call (the outage is over) closes it.
    let trace = every_second("consecutive-trace", 60);
    for n in [3u32, 5] {
        let breaker = format!(
            "circuit_breaker = {{ window_size = 1000, minimum_calls = 1000, \
             consecutive_failures = {n}, open_duration = \"20s\", half_open_calls = 1 }}"
        );
        // Down from 10.5 s for n + 15 s: the breaker, not the outage, stops the failures after
        // the calls at 11 … 10 + n s; the outage is over before the trial call at 11 + n + 20 s.
        let report = run_with(
            &format!("consecutive-{n}"),
            &breaker_scenario(("10500ms", &format!("{}s", n + 15)), &breaker, ""),
            Some(&trace),
        );
        assert_eq!(mean(&report, "attempt_failures"), n as f64, "n = {n}");
        assert_eq!(mean(&report, "backend.api.breaker_opened"), 1.0, "n = {n}");
        assert_eq!(
            mean(&report, "backend.api.breaker_rejected"),
            20.0,
            "n = {n}"
        );
        assert_eq!(
            mean(&report, "success_ratio"),
            (60.0 - n as f64 - 20.0) / 60.0,
            "n = {n}"
        );
    }
}

#[test]
fn a_breaker_keeps_an_outage_away_from_the_backend() {
    // Poisson 10/s for 30 minutes with a 20-minute outage. Without a breaker every call reaches
    // the backend; with one, after `minimum_calls` failures only the half-open trials do.
    let scenario = |breaker: &str| {
        format!(
            r#"
replications = 3
horizon = "30m"
[[tenants]]
name = "t"
backend = "api"
arrivals = {{ process = "poisson", rate = "10/s" }}
[[backends]]
name = "api"
concurrency = "unlimited"
service = {{ dist = "exponential", mean = "200ms" }}
outages = [{{ start = "5m", duration = "20m" }}]
{breaker}
"#
        )
    };
    let plain = run("breaker-poisson-none", &scenario(""));
    let guarded = run(
        "breaker-poisson",
        &scenario(
            "circuit_breaker = { window_size = 20, minimum_calls = 20, open_duration = \"30s\", half_open_calls = 3 }",
        ),
    );
    let arrivals = mean(&guarded, "arrivals");
    assert_eq!(
        mean(&plain, "backend.api.attempts"),
        mean(&plain, "arrivals")
    );
    let attempts = mean(&guarded, "backend.api.attempts");
    let rejected = mean(&guarded, "backend.api.breaker_rejected");
    // About 12,000 calls meet the outage; 40 half-open windows of 3 trials reach it.
    assert!(rejected > 11_000.0, "{rejected}");
    assert!(
        (attempts + rejected - arrivals).abs() < 1e-6,
        "{attempts} + {rejected}"
    );
    assert!(
        mean(&guarded, "errors.unavailable") < 200.0,
        "{}",
        mean(&guarded, "errors.unavailable")
    );
    // The breaker costs availability only for the calls it rejects after the outage, until its
    // trial calls succeed: at most one open period (30 s at 10/s).
    let lost = mean(&plain, "success_ratio") - mean(&guarded, "success_ratio");
    assert!((0.0..400.0 / arrivals).contains(&lost), "{lost}");
}

#[test]
fn allowed_fails_plus_one_failures_start_a_cooldown_of_the_configured_length() {
    // Calls at every second; the outage makes the calls at 11, 12, 13 and 14 s fail (at x.1 s).
    // With 3 allowed fails per minute, the fourth starts a cooldown at 14.1 s; the calls that
    // arrive while it lasts are skipped (and sent to the backup): exactly one per second of
    // cooldown. Three failures start nothing.
    let trace = every_second("cooldown-trace", 60);
    for (outage, cooldown, skips) in [("4s", 20u32, 20.0), ("4s", 7, 7.0), ("3s", 20, 0.0)] {
        let cfg = format!(
            "cooldown = {{ allowed_fails = 3, cooldown = \"{cooldown}s\", window = \"60s\" }}"
        );
        let report = run_with(
            &format!("cooldown-{outage}-{cooldown}"),
            &breaker_scenario(("10500ms", outage), &cfg, "fallbacks = [\"backup\"]"),
            Some(&trace),
        );
        let label = format!("outage {outage}, cooldown {cooldown}s");
        assert_eq!(
            mean(&report, "backend.api.cooldowns"),
            f64::from(skips > 0.0),
            "{label}"
        );
        assert_eq!(
            mean(&report, "backend.api.cooldown_skips"),
            skips,
            "{label}"
        );
        assert_eq!(
            mean(&report, "backend.api.attempts"),
            60.0 - skips,
            "{label}"
        );
        let failures = if outage == "4s" { 4.0 } else { 3.0 };
        assert_eq!(
            mean(&report, "backend.backup.attempts"),
            skips + failures,
            "{label}"
        );
        assert_eq!(mean(&report, "success_ratio"), 1.0, "{label}");
    }
}

#[test]
fn breaker_time_in_state_follows_its_open_and_trial_cycle() {
    // A backend down for the whole run, one call a second from 0 s, 100 ms errors. The call at
    // 0 s is sent before the outage that starts at the same instant (events at one time run in
    // the order they were scheduled), so the first failure is the call at 1 s. The breaker
    // opens on it (at 1.1 s) for 10 s, goes half-open at 11.1 s, lets
    // the call at 12 s through as its trial, which fails at 12.1 s and opens it again: a cycle
    // of 10 s open and 1 s half-open. The ninth opening (89.1 s) lasts to 99.1 s, and the
    // breaker is half-open, untried, to the end at 100 s: 1.1 s closed, 9 × 10 s open,
    // 8 × 1 s + 0.9 s half-open.
    let trace = every_second("breaker-clock", 95);
    let report = run_with(
        "breaker-clock",
        r#"
replications = 1
horizon = "100s"
[[tenants]]
name = "t"
backend = "api"
arrivals = { process = "trace", path = "TRACE" }
[[backends]]
name = "api"
concurrency = "unlimited"
service = { dist = "deterministic", value = "100ms" }
error_latency = { dist = "deterministic", value = "100ms" }
outages = [{ start = "0s", duration = "1000s" }]
circuit_breaker = { consecutive_failures = 1, open_duration = "10s", half_open_calls = 1 }
"#,
        Some(&trace),
    );
    let (open, half) = (90.0, 8.9);
    let got_open = mean(&report, "backend.api.breaker_open_share");
    let got_half = mean(&report, "backend.api.breaker_half_open_share");
    assert!(
        (got_open - open / 100.0).abs() < 1e-9,
        "open {got_open} vs {}",
        open / 100.0
    );
    assert!(
        (got_half - half / 100.0).abs() < 1e-9,
        "half {got_half} vs {}",
        half / 100.0
    );
    // The state timeline the breaker plot draws integrates to the same times, and shows the
    // first opening at 1.1 s and the first trial spell from 11.1 s to 12.1 s.
    let s = &report["series"];
    let (start, end, width) = (
        s["start_ns"].as_f64().unwrap() / 1e9,
        s["end_ns"].as_f64().unwrap() / 1e9,
        s["bucket_width_ns"].as_f64().unwrap() / 1e9,
    );
    let timeline = |name: &str| -> Vec<(f64, f64, f64)> {
        s["values"][name]["mean"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let from = start + i as f64 * width;
                (from, (from + width).min(end), v.as_f64().unwrap())
            })
            .collect()
    };
    let integral = |name: &str| -> f64 { timeline(name).iter().map(|(a, b, v)| (b - a) * v).sum() };
    assert!((integral("backend.api.breaker_open") - open).abs() < 1e-6);
    assert!((integral("backend.api.breaker_half_open") - half).abs() < 1e-6);
    let at = |name: &str, t: f64| -> f64 { timeline(name)[((t - start) / width) as usize].2 };
    assert_eq!(at("backend.api.breaker_open", 0.5), 0.0);
    assert_eq!(at("backend.api.breaker_open", 5.0), 1.0);
    assert_eq!(at("backend.api.breaker_half_open", 11.6), 1.0);
    assert_eq!(at("backend.api.breaker_open", 11.6), 0.0);
    // Transitions: nine openings, nine half-open spells (the last from 99.1 s, never reported
    // by the breaker before the end), no recovery while the backend stays down.
    assert_eq!(mean(&report, "backend.api.breaker_opened"), 9.0);
    assert_eq!(mean(&report, "backend.api.breaker_half_opened"), 9.0);
    assert_eq!(mean(&report, "backend.api.breaker_recovered"), 0.0);
}

#[test]
fn slow_calls_open_the_breaker_at_minimum_calls() {
    // Every call takes 2.5 s against a 1 s slow-call duration at threshold 0.5, and none fails.
    // One call a second: the tenth answers at 11.5 s and the window holds 10 slow calls of 10, so
    // the breaker opens then (for longer than the run); the calls at 0 … 11 s were sent, the 48
    // after them are rejected. A threshold of 1.0 is also reached (every call is slow); with
    // calls just under the duration nothing opens.
    let trace = every_second("slow-trace", 60);
    let scenario = |service: &str, threshold: &str| {
        breaker_scenario(
            ("20m", "1s"),
            &format!(
                "circuit_breaker = {{ window_size = 10, minimum_calls = 10, \
                 failure_rate_threshold = 0.5, slow_call_rate_threshold = {threshold}, \
                 slow_call_duration = \"1s\", open_duration = \"1h\" }}"
            ),
            "",
        )
        .replace(
            "value = \"100ms\" }\noutages",
            &format!("value = \"{service}\" }}\noutages"),
        )
    };
    for threshold in ["0.5", "1.0"] {
        let report = run_with(
            &format!("slow-{threshold}"),
            &scenario("2500ms", threshold),
            Some(&trace),
        );
        assert_eq!(
            mean(&report, "backend.api.breaker_opened"),
            1.0,
            "{threshold}"
        );
        assert_eq!(mean(&report, "backend.api.attempts"), 12.0, "{threshold}");
        assert_eq!(
            mean(&report, "backend.api.breaker_rejected"),
            48.0,
            "{threshold}"
        );
        assert_eq!(mean(&report, "attempt_failures"), 0.0, "{threshold}");
    }
    let fast = run_with("slow-under", &scenario("1s", "0.5"), Some(&trace));
    assert_eq!(mean(&fast, "backend.api.breaker_opened"), 0.0);
    assert_eq!(mean(&fast, "backend.api.attempts"), 60.0);
}
