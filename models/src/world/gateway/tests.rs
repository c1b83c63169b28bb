//! The gateway's and recovery's answers on a small world built by hand: which `Admit`, `Place`
//! and `Next` each situation gets, checked against what the rules say (the world applying
//! them is covered by the examples' digests).

use super::limits::{Limited, Need, Pass, all_or_nothing};
use super::recovery::Next;
use super::*;
use crate::config::{
    BackendConfig, BackendId, GatewayConfig, GatewayLimit, LimitKind, Price, ProviderLimits,
    RouteConfig, RouteId, ServiceModel, StepConfig, TenantConfig, TenantId,
};
use crate::workload::ArrivalSpec;
use policies::{
    BreakerConfig, CallResult, CircuitBreaker, FallbackChain, FallbackTriggers, RateLimiter,
    RetryPolicy, RetryRules, TokenBucket,
};
use sim_core::{NANOS_PER_SEC, Rate, Sampler};

const S: Time = NANOS_PER_SEC;

pub(in crate::world) fn backend(name: &str) -> BackendConfig {
    BackendConfig {
        name: name.into(),
        concurrency: 1,
        service: ServiceModel::Duration(Sampler::deterministic(1e9).unwrap()),
        overload_when_busy: false,
        failure_probability: 0.0,
        context_window: None,
        price: Price::default(),
        errors: Vec::new(),
        error_latency: None,
        retry_after: None,
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

/// One tenant calling route `r`: backend `a`, falling back to `b` on any failure.
pub(in crate::world) fn config() -> WorldConfig {
    WorldConfig {
        horizon: 100 * S,
        warmup: 0,
        tenants: vec![TenantConfig {
            name: "t".into(),
            arrivals: ArrivalSpec::Poisson {
                rate: Rate::per_second(1.0).unwrap(),
            },
            steps: vec![StepConfig {
                route: RouteId(0),
                prompt_tokens: None,
                output_tokens: None,
            }],
            agent_loop: None,
            injection_share: 0.0,
            priority: 0,
            weight: 1,
            budget_usd: None,
            prompt_tokens: None,
            output_tokens: None,
            max_tokens: None,
            workflow: None,
            client_delay: None,
            shared_prefix: None,
        }],
        backends: vec![backend("a"), backend("b")],
        routes: vec![RouteConfig {
            name: "r".into(),
            backend: BackendId(0),
            fallbacks: vec![BackendId(1)],
            chain: Some(
                FallbackChain::new(
                    vec![u32::MAX, u32::MAX],
                    FallbackTriggers::default(),
                    false,
                    false,
                )
                .unwrap(),
            ),
            soft: [0.0; 5],
            validator: None,
            cache: None,
            cached_prompt_share: 0.0,
            explicit: true,
            balance: None,
        }],
        gateway: GatewayConfig {
            queue_capacity: None,
            retry: RetryRules::from(RetryPolicy::NONE),
            attempt_timeout: None,
            input_guardrail: None,
            deadline: None,
            rate_limits: Vec::new(),
            admission: None,
            fair_queue: None,
            queue_timeout: None,
            hedge: None,
            retry_budget: None,
            idempotency: None,
            overload: Default::default(),
        },
        slos: Vec::new(),
        chaos: None,
        cost_guard: None,
        work_queues: Vec::new(),
        max_in_flight: u64::MAX,
    }
}

/// A job of the tenant on the route's primary backend, `prompt` tokens long, counted in
/// flight as `new_job` counts it.
fn job(w: &mut World<'_>, prompt: u32) -> Key {
    let mut r = Request::new(0, TenantId(0), 1, 0);
    r.route = RouteId(0);
    r.backend = BackendId(0);
    r.prompt_tokens = prompt;
    r.max_tokens = prompt;
    w.limits.in_flight[0] += 1;
    w.requests.insert(r)
}

fn limit(kind: LimitKind, delay: bool) -> GatewayLimit {
    GatewayLimit {
        per_tenant: false,
        kind,
        tokens: false,
        usd: false,
        delay,
    }
}

#[test]
fn a_concurrency_limit_ends_the_job_past_it_throttled() {
    let mut cfg = config();
    cfg.gateway.rate_limits = vec![limit(LimitKind::Concurrency { limit: 1 }, false)];
    let mut w = World::new(&cfg, 1, 0);
    let first = job(&mut w, 0);
    assert_eq!(
        w.admit(0, first, Stage::Limits),
        Admit::Send(None),
        "within the limit: on to the backend"
    );
    let second = job(&mut w, 0);
    assert_eq!(
        w.admit(0, second, Stage::Limits),
        Admit::Done(Outcome::Throttled)
    );
    // A call past the limits' stage (a retry, a later step) is not counted again.
    assert_eq!(w.admit(0, second, Stage::Cache), Admit::Send(None));
}

#[test]
fn a_delaying_bucket_holds_the_job_until_its_token_is_covered() {
    let mut cfg = config();
    // One call a second, a burst of one.
    let bucket = TokenBucket::new(1, 1, S).unwrap();
    cfg.gateway.rate_limits = vec![limit(
        LimitKind::Rate(RateLimiter::TokenBucket(bucket)),
        true,
    )];
    let mut w = World::new(&cfg, 1, 0);
    let first = job(&mut w, 0);
    assert_eq!(w.admit(0, first, Stage::Limits), Admit::Send(None));
    let second = job(&mut w, 0);
    assert_eq!(w.admit(0, second, Stage::Limits), Admit::Hold { wait: S });
    // The third waits behind the second's reservation: a queue in time.
    let third = job(&mut w, 0);
    assert_eq!(
        w.admit(0, third, Stage::Limits),
        Admit::Hold { wait: 2 * S }
    );
}

#[test]
fn a_prompt_too_long_for_the_backend_falls_back_with_its_size() {
    let mut cfg = config();
    cfg.backends[0].context_window = Some(100);
    let mut w = World::new(&cfg, 1, 0);
    // Prompt and max_tokens: 60 + 60 = 120 > 100.
    let long = job(&mut w, 60);
    assert_eq!(
        w.admit(0, long, Stage::Cache),
        Admit::FallBack(FallbackTrigger::ContextOverflow { tokens: 120 })
    );
    let short = job(&mut w, 50);
    assert_eq!(w.admit(0, short, Stage::Cache), Admit::Send(None));
}

#[test]
fn an_open_breaker_turns_the_call_down_the_chain_without_an_attempt() {
    let mut cfg = config();
    cfg.backends[0].breaker =
        Some(CircuitBreaker::new(BreakerConfig::consecutive(1, 10 * S)).unwrap());
    let mut w = World::new(&cfg, 1, 0);
    let r = job(&mut w, 0);
    let Admit::Send(Some(permit)) = w.attempt_stage(0, r) else {
        panic!("a closed breaker lets the call through with a permit");
    };
    let failed = CallResult {
        failed: true,
        slow: false,
        soft_category: None,
    };
    let breaker = w.backends[BackendId(0)].breaker.as_mut().unwrap();
    assert!(breaker.record(S, permit, failed).is_some(), "it opens");
    assert_eq!(
        w.attempt_stage(2 * S, r),
        Admit::FallBack(FallbackTrigger::BreakerOpen)
    );
}

#[test]
fn an_attempt_starts_queues_sheds_or_is_blocked_by_the_backend_s_state() {
    let mut cfg = config();
    let w = World::new(&cfg, 1, 0);
    let r = Request {
        backend: BackendId(0),
        ..Request::new(0, TenantId(0), 1, 0)
    };
    let mut b = &w.backends[BackendId(0)];
    assert_eq!(place(b, &cfg, &r), Place::Start, "a slot is free");
    let mut w = World::new(&cfg, 1, 0);
    w.backends[BackendId(0)].busy = 1;
    b = &w.backends[BackendId(0)];
    assert_eq!(place(b, &cfg, &r), Place::Enqueue, "every slot busy");
    cfg.gateway.queue_capacity = Some(0);
    assert_eq!(place(b, &cfg, &r), Place::Full(None), "no room to wait");
    cfg.backends[0].overload_when_busy = true;
    assert_eq!(
        place(b, &cfg, &r),
        Place::Overloaded,
        "a backend that sheds answers 529 before the queue is asked"
    );
}

#[test]
fn recovery_retries_while_the_rules_allow_then_walks_the_chain_then_gives_up() {
    let mut cfg = config();
    cfg.gateway.retry = RetryRules::from(RetryPolicy {
        max_attempts: Some(2),
        backoff: policies::Backoff::None,
    });
    let mut w = World::new(&cfg, 1, 0);
    let r = job(&mut w, 0);
    let failure = AttemptFailure::Error {
        class: ErrorClass::Server500,
        retry_after: None,
    };
    w.requests.get_mut(r).unwrap().attempts = 1;
    assert_eq!(
        w.recover(S, r, failure),
        Next::RetryAt {
            delay: 0,
            class: Some(ErrorClass::Server500)
        }
    );
    // Its attempts spent, the call moves to the next backend with a fresh count.
    w.requests.get_mut(r).unwrap().attempts = 2;
    assert_eq!(w.recover(S, r, failure), Next::FallBackTo);
    let moved = w.requests.get(r).unwrap();
    assert_eq!(
        (moved.backend, moved.depth, moved.attempts),
        (BackendId(1), 1, 0)
    );
    // At the chain's end it ends, throttled when the last failure was a 429.
    w.requests.get_mut(r).unwrap().attempts = 2;
    let limited = AttemptFailure::Error {
        class: ErrorClass::RateLimited,
        retry_after: None,
    };
    assert_eq!(w.recover(S, r, limited), Next::GiveUp(Outcome::Throttled));
}

#[test]
fn a_chain_with_a_default_response_answers_degraded_at_its_end() {
    let mut cfg = config();
    cfg.routes[0].chain =
        Some(FallbackChain::new(vec![u32::MAX], FallbackTriggers::default(), false, true).unwrap());
    cfg.routes[0].fallbacks.clear();
    let mut w = World::new(&cfg, 1, 0);
    let r = job(&mut w, 0);
    assert_eq!(
        w.fallback(0, r, FallbackTrigger::Timeout, Outcome::Failed),
        Next::Default
    );
    assert!(w.requests.get(r).unwrap().degraded);
}

#[test]
fn a_deadline_that_passed_ends_the_call_failed_whatever_the_chain() {
    let cfg = config();
    let mut w = World::new(&cfg, 1, 0);
    let r = job(&mut w, 0);
    w.requests.get_mut(r).unwrap().deadline = policies::Deadline::new(0, S);
    assert_eq!(
        w.fallback(2 * S, r, FallbackTrigger::Timeout, Outcome::Throttled),
        Next::GiveUp(Outcome::Failed)
    );
}

#[test]
fn all_or_nothing_takes_from_every_limiter_or_none() {
    let bucket = |n| Some(TokenBucket::new(n, n, S).unwrap());
    let mut limiters = [bucket(2), bucket(100)];
    let need = |at, amount, hold| Need {
        at,
        amount,
        reserve: hold,
        hold,
    };
    let call = [need(0, 1, false), need(1, 80, false)];
    assert_eq!(
        all_or_nothing(0, &mut limiters, call.into_iter()),
        Pass::Taken { wait: 0 }
    );
    // The first bucket could take a second call, the second cannot: neither takes it.
    assert_eq!(
        all_or_nothing(0, &mut limiters, call.into_iter()),
        Pass::Refused {
            retry_after: Some(S * 60 / 100)
        }
    );
    let small = [need(0, 1, false), need(1, 20, false)];
    assert_eq!(
        all_or_nothing(0, &mut limiters, small.into_iter()),
        Pass::Taken { wait: 0 }
    );
    // Bigger than a limiter: never, even for a call that may wait.
    let huge = [need(1, 101, true)];
    assert_eq!(
        all_or_nothing(0, &mut limiters, huge.into_iter()),
        Pass::Refused { retry_after: None }
    );
    // A call that may wait reserves into debt and is told how long.
    let wait = [need(1, 50, true)];
    assert_eq!(
        all_or_nothing(0, &mut limiters, wait.into_iter()),
        Pass::Taken { wait: S / 2 }
    );
}

#[test]
fn per_tenant_limits_keep_tenants_apart() {
    let mut cfg = config();
    let mut other = cfg.tenants[0].clone();
    other.name = "u".into();
    cfg.tenants.push(other);
    cfg.gateway.rate_limits = vec![GatewayLimit {
        per_tenant: true,
        ..limit(
            LimitKind::Rate(RateLimiter::TokenBucket(TokenBucket::new(1, 1, S).unwrap())),
            false,
        )
    }];
    let mut limits = GatewayLimits::new(&cfg);
    let l = &cfg.gateway.rate_limits;
    assert_eq!(limits.admit(0, l, TenantId(0), 0, 0), Limited::Pass);
    assert_eq!(limits.admit(0, l, TenantId(0), 0, 0), Limited::Refused);
    assert_eq!(limits.admit(0, l, TenantId(1), 0, 0), Limited::Pass);
}

#[test]
fn the_hot_structs_keep_their_size() {
    // A job and an attempt live in slabs touched on every event: growing them costs cache
    // misses on every run (a job grew 8 bytes once with its deadline). Their sizes on x86-64
    // before the typed ids and the gateway's answers, which left them unchanged.
    assert!(
        std::mem::size_of::<Request>() <= REQUEST_BYTES,
        "Request is {} bytes",
        std::mem::size_of::<Request>()
    );
    assert!(
        std::mem::size_of::<Attempt>() <= ATTEMPT_BYTES,
        "Attempt is {} bytes",
        std::mem::size_of::<Attempt>()
    );
    assert_eq!(std::mem::size_of::<crate::event::Event>(), 8);
}

// 208 and 120 before a broken stream's first-token time (Request, 16 bytes) and the network's
// round trip, a broken stream's tokens and the memory held (Attempt, 20 bytes) were added, and
// a job could be a workflow activity attempt (its 8-byte `WorkflowLink`), and a call could
// hold retry-quota tokens and a client rate-limiter reservation.
const REQUEST_BYTES: usize = 200;
const ATTEMPT_BYTES: usize = 128;
