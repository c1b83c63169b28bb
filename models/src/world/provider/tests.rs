//! The provider component on its own: the order in which it turns attempts away, its buckets'
//! all-or-nothing charge, its error mix, latency under slowdown and crowding, and billing —
//! each against a hand-computed expectation.

use super::*;
use crate::config::DegradationConfig;
use sim_core::{NANOS_PER_SEC, Sampler};

const S: Time = NANOS_PER_SEC;

/// A free provider answering in exactly 2 s, with no limits, episodes or errors.
fn config() -> BackendConfig {
    BackendConfig {
        name: "p".into(),
        concurrency: 4,
        service: ServiceModel::Duration(Sampler::deterministic(2e9).unwrap()),
        overload_when_busy: false,
        failure_probability: 0.0,
        context_window: None,
        price: Price {
            input_per_token: 0.0,
            output_per_token: 0.0,
            cached_input_per_token: 0.0,
            per_call: 0.0,
        },
        errors: Vec::new(),
        error_latency: None,
        retry_after: Some(7 * S),
        limits: ProviderLimits::default(),
        episodes: Vec::new(),
        degradation: None,
        breaker: None,
        cooldown: None,
        model_updates: Vec::new(),
        latency_per_inflight: 0.0,
        pool: None,
        link: None,
        stream_failures: None,
        memory: None,
    }
}

fn provider(cfg: &BackendConfig) -> Provider {
    Provider::new(cfg, &Streams::new(11, 0), "backends.p")
}

#[test]
fn an_outage_refuses_before_the_buckets_are_charged() {
    let mut cfg = config();
    cfg.limits.requests_per_minute = Some(1);
    let mut p = provider(&cfg);
    let mut reserved = 50;
    // A chaos outage in rate-limited mode: a 429 with the backend's Retry-After.
    let refusal = p.refuse(
        0,
        &cfg,
        Some(OutageMode::RateLimited),
        None,
        10,
        &mut reserved,
    );
    assert_eq!(refusal, Some((ErrorClass::RateLimited, Some(7 * S), None)));
    assert_eq!(
        reserved, 0,
        "a refused attempt gives its output reservation back"
    );
    // The bucket was not charged: the one request a minute is still there.
    let mut reserved = 50;
    assert_eq!(p.refuse(0, &cfg, None, None, 10, &mut reserved), None);
    assert_eq!(reserved, 50);
    // Now it is spent: the next is refused with the time until the bucket covers one request.
    let refusal = p.refuse(0, &cfg, None, None, 10, &mut reserved);
    let Some((ErrorClass::RateLimited, Some(after), Some(latency))) = refusal else {
        panic!("{refusal:?}");
    };
    assert!((59 * S..=60 * S).contains(&after), "Retry-After {after}");
    assert_eq!(latency, ROUND_TRIP);
}

#[test]
fn each_outage_mode_answers_as_documented() {
    let cfg = config();
    let mut p = provider(&cfg);
    let mut r = 0;
    let mut refuse = |mode| p.refuse(0, &cfg, Some(mode), Some(30 * S), 1, &mut r);
    assert_eq!(
        refuse(OutageMode::ServerError),
        Some((ErrorClass::Unavailable503, None, None))
    );
    assert_eq!(
        refuse(OutageMode::ConnectionRefused),
        Some((ErrorClass::ConnectionRefused, None, Some(ROUND_TRIP)))
    );
    // A hanging provider answers when the caller stops waiting.
    assert_eq!(
        refuse(OutageMode::Hang),
        Some((ErrorClass::AttemptTimeout, None, Some(30 * S)))
    );
}

#[test]
fn the_error_mix_is_drawn_in_its_proportions() {
    let mut cfg = config();
    cfg.errors = vec![(ErrorClass::Server500, 0.2), (ErrorClass::RateLimited, 0.1)];
    let mut p = provider(&cfg);
    let n = 20_000;
    let (mut e500, mut e429) = (0u32, 0u32);
    for _ in 0..n {
        let mut r = 0;
        match p.refuse(0, &cfg, None, None, 1, &mut r) {
            Some((ErrorClass::Server500, None, None)) => e500 += 1,
            // A 429 from the mix carries the backend's Retry-After.
            Some((ErrorClass::RateLimited, Some(after), None)) if after == 7 * S => e429 += 1,
            None => {}
            other => panic!("{other:?}"),
        }
    }
    // Binomial standard deviations: sqrt(n p (1-p)) = 56.6 and 42.4; allow 4 of them.
    assert!((e500 as f64 - 4_000.0).abs() < 4.0 * 56.6, "{e500}");
    assert!((e429 as f64 - 2_000.0).abs() < 4.0 * 42.4, "{e429}");
}

#[test]
fn slowdown_and_crowding_stretch_the_drawn_latency() {
    let mut cfg = config();
    cfg.latency_per_inflight = 0.25;
    let mut p = provider(&cfg);
    // Alone: the drawn 2 s.
    assert_eq!(p.answer_latency(&cfg, 10, 1), (0, 2 * S));
    // With three others in service: 2 s × (1 + 0.25 × 3).
    assert_eq!(p.answer_latency(&cfg, 10, 4), (0, 3_500_000_000));
    // A slowdown of 2 multiplies on top.
    p.slowdown = 2.0;
    assert_eq!(p.answer_latency(&cfg, 10, 4), (0, 7 * S));
    assert!(p.faulty(), "a slowdown is a fault alerts should catch");
}

#[test]
fn token_latency_is_first_token_plus_the_rest() {
    let mut cfg = config();
    cfg.service = ServiceModel::Tokens {
        ttft: Sampler::deterministic(0.5e9).unwrap(),
        per_output_token: Sampler::deterministic(0.02e9).unwrap(),
    };
    let mut p = provider(&cfg);
    // 0.5 s to the first token, then 99 more at 20 ms.
    assert_eq!(
        p.answer_latency(&cfg, 100, 1),
        (S / 2, S / 2 + 99 * 20_000_000)
    );
    // An error takes as long as a first token unless the backend says otherwise.
    assert_eq!(p.error_latency(&cfg, None), S / 2);
    assert_eq!(p.error_latency(&cfg, Some(3)), 3);
}

#[test]
fn the_bill_charges_the_cached_share_at_its_price() {
    let mut cfg = config();
    cfg.price = Price {
        input_per_token: 3e-6,
        output_per_token: 15e-6,
        cached_input_per_token: 0.3e-6,
        per_call: 0.0,
    };
    let p = provider(&cfg);
    // 1,000 prompt tokens, 40% cached; 200 output tokens.
    let usd = p.bill(1_000, 200, 0.4);
    let expected = 600.0 * 3e-6 + 400.0 * 0.3e-6 + 200.0 * 15e-6;
    assert!((usd - expected).abs() < 1e-15, "{usd} vs {expected}");
}

#[test]
fn degradation_and_updates_multiply_the_soft_failure_rate() {
    let mut cfg = config();
    cfg.degradation = Some(DegradationConfig {
        normal_mean: 3_600 * S,
        degraded_mean: 600 * S,
        multiplier: 4.0,
    });
    let mut p = provider(&cfg);
    assert_eq!(p.soft_multiplier(&cfg), 1.0);
    assert!(!p.faulty());
    p.update_multiplier = 1.5;
    assert_eq!(p.soft_multiplier(&cfg), 1.5);
    p.degraded = true;
    assert_eq!(p.soft_multiplier(&cfg), 6.0);
}

#[test]
fn a_per_call_price_is_charged_once_per_answer_whatever_its_tokens() {
    let mut cfg = config();
    cfg.price.per_call = 0.002;
    let p = provider(&cfg);
    assert_eq!(p.bill(0, 0, 0.0), 0.002);
    assert_eq!(p.bill(100_000, 5_000, 0.5), 0.002);
    cfg.price.output_per_token = 1e-6;
    let p = provider(&cfg);
    assert!((p.bill(0, 1_000, 0.0) - 0.003).abs() < 1e-15);
}
