//! The client's hop by hand: when a call leaves the client and reaches the gateway, and how
//! much later the client sees the gateway's answer, for a constant and a random delay.

use super::super::call::Request;
use super::super::gateway::tests::config;
use super::*;
use crate::config::{BackendId, TenantConfig};
use crate::metrics::{JobEnd, Outcome};
use crate::slo::CallFacts;

const MS: Time = 1_000_000;
const S: Time = 1_000_000_000;

/// The hand-made gateway config with a second tenant `u`; tenant `t` has `delay`.
fn hop_config(delay: Option<Sampler>) -> WorldConfig {
    let mut cfg = config();
    let other = TenantConfig {
        name: "u".into(),
        ..cfg.tenants[0].clone()
    };
    cfg.tenants.push(other);
    cfg.tenants[0].client_delay = delay;
    cfg
}

/// Tenant `t` 20 ms from the gateway each way, tenant `u` beside it.
fn hop_20ms() -> WorldConfig {
    hop_config(Some(Sampler::deterministic(2e7).unwrap()))
}

fn job(w: &mut World<'_>, tenant: TenantId) -> Key {
    w.requests.insert(Request::new(0, tenant, 2, 0))
}

#[test]
fn a_constant_delay_sends_each_call_one_way_back_after_the_last_answer() {
    let cfg = hop_20ms();
    let mut w = World::new(&cfg, 1, 0);
    let (t, u) = (TenantId(0), TenantId(1));
    let key = job(&mut w, t);
    // The first call leaves at once and reaches the gateway 20 ms later.
    assert_eq!(
        w.client_send(5 * S, key, t, true),
        Some(Sent {
            at: 5 * S,
            reaches_gateway: 5 * S + 20 * MS
        })
    );
    assert_eq!(w.client_lag(key, t), 20 * MS);
    // The gateway accepts its answer at 6 s: the client has it 20 ms later and sends the
    // next call then.
    assert_eq!(
        w.client_send(6 * S, key, t, false),
        Some(Sent {
            at: 6 * S + 20 * MS,
            reaches_gateway: 6 * S + 40 * MS
        })
    );
    // The job's end: its way back is handed over once, and the slot starts from nothing.
    let hops = w.client_hops.as_mut().unwrap();
    assert_eq!(hops.back_of(key), 20 * MS);
    assert_eq!(hops.take_back(key), 20 * MS);
    assert_eq!((hops.back_of(key), hops.take_back(key)), (0, 0));
    // A job in a slot the hop never saw has nothing to give back.
    let unseen = Key {
        index: 50,
        generation: 0,
    };
    assert_eq!((hops.back_of(unseen), hops.take_back(unseen)), (0, 0));
    // The other tenant has no hop: nothing is drawn for it, and it lags by nothing, even in
    // a slot that a job with a hop left a way back in.
    let other = job(&mut w, u);
    assert_eq!(w.client_send(5 * S, other, u, true), None);
    assert_eq!(w.client_lag(other, u), 0);
    w.client_send(7 * S, key, t, true);
    assert_eq!(w.client_lag(key, t), 20 * MS);
    assert_eq!(w.client_lag(key, u), 0);
}

#[test]
fn a_random_delay_draws_out_then_back_from_the_tenants_own_stream() {
    let delay = Sampler::uniform(1e6, 1e8).unwrap();
    let cfg = hop_config(Some(delay.clone()));
    let mut w = World::new(&cfg, 3, 1);
    let t = TenantId(0);
    let mut rng = Streams::new(3, 1).stream("tenants.t", "client_network");
    let mut draw = || sim_core::time::to_time(delay.sample(&mut rng));
    let first = job(&mut w, t);
    let second = job(&mut w, t);
    let (out1, back1, out2, back2) = (draw(), draw(), draw(), draw());
    assert_ne!(out1, back1);
    assert_eq!(
        w.client_send(S, first, t, true),
        Some(Sent {
            at: S,
            reaches_gateway: S + out1
        })
    );
    assert_eq!(
        w.client_send(2 * S, second, t, true),
        Some(Sent {
            at: 2 * S,
            reaches_gateway: 2 * S + out2
        })
    );
    // Each job keeps its own way back.
    assert_eq!(w.client_lag(first, t), back1);
    assert_eq!(w.client_lag(second, t), back2);
    let (out3, back3) = (draw(), draw());
    assert_eq!(
        w.client_send(3 * S, first, t, false),
        Some(Sent {
            at: 3 * S + back1,
            reaches_gateway: 3 * S + back1 + out3
        })
    );
    assert_eq!(w.client_lag(first, t), back3);
}

#[test]
fn a_world_without_a_hop_has_none() {
    let cfg = hop_config(None);
    let mut w = World::new(&cfg, 1, 0);
    assert!(w.client_hops.is_none());
    let key = job(&mut w, TenantId(0));
    assert_eq!(w.client_send(S, key, TenantId(0), true), None);
    assert_eq!(w.client_lag(key, TenantId(0)), 0);
}

#[test]
fn a_call_reaching_the_gateway_passes_its_stages() {
    let cfg = hop_20ms();
    let mut w = World::new(&cfg, 1, 0);
    let key = job(&mut w, TenantId(0));
    w.limits.in_flight[0] += 1;
    // The job's first call arrives after its way out: it starts on backend `a`'s one slot.
    w.on_client_hop(20 * MS, key);
    assert_eq!(w.backends[BackendId(0)].busy, 1);
    assert_eq!(w.requests.get(key).unwrap().attempts, 1);
    // A call whose job is gone (a stale event) does nothing.
    let gone = job(&mut w, TenantId(0));
    w.requests.remove(gone);
    w.on_client_hop(30 * MS, gone);
    assert_eq!(w.backends[BackendId(0)].busy, 1);
}

#[test]
fn a_first_call_finding_no_room_is_blocked_and_a_later_one_shed() {
    let mut cfg = hop_20ms();
    cfg.gateway.queue_capacity = Some(0);
    // (step, turn) of the call: only a job's very first call is blocked on arrival (the job
    // ends unseen, at once); a later one is shed, and the client hears of it one way back
    // later.
    for ((step, turn), first) in [((0, 0), true), ((1, 0), false), ((0, 1), false)] {
        let mut w = World::new(&cfg, 1, 0);
        w.backends[BackendId(0)].busy = 1;
        let key = job(&mut w, TenantId(0));
        let r = w.requests.get_mut(key).unwrap();
        (r.step, r.turn) = (step, turn);
        w.limits.in_flight[0] += 1;
        w.client_send(0, key, TenantId(0), first);
        w.on_client_hop(20 * MS, key);
        assert!(
            w.requests.get(key).is_none(),
            "({step}, {turn}): the job ended"
        );
        let returning = w.client_hops.as_ref().unwrap().returning.len();
        assert_eq!(returning, usize::from(!first), "({step}, {turn})");
        // Either way the gateway is done with the job: the tenant's count of jobs in flight
        // is back to 0.
        assert_eq!(w.limits.in_flight[0], 0, "({step}, {turn})");
    }
}

/// A job of `tenant` that arrived at 0 and ended well after one attempt.
fn ended(tenant: TenantId) -> Returning {
    Returning {
        tenant,
        route: RouteId(0),
        facts: CallFacts {
            outcome: Outcome::Correct,
            latency: 0,
            ttft: None,
            cost_usd: 0.0,
        },
        job: JobEnd {
            arrived: 0,
            attempts: 1,
            outcome: Outcome::Correct,
            cached: false,
            overflowed: false,
        },
    }
}

#[test]
fn a_jobs_end_reaches_its_client_one_way_back_later() {
    let (t, u) = (TenantId(0), TenantId(1));
    let cfg = hop_20ms();
    let mut w = World::new(&cfg, 1, 0);
    // Without a hop the end is recorded at once (given back).
    let plain = job(&mut w, u);
    assert!(w.client_return(S, plain, ended(u)).is_some());
    // With one, it is kept until the answer's way back has passed: an event at 1.02 s, and
    // the job's way back is handed over.
    let key = job(&mut w, t);
    w.client_send(0, key, t, true);
    let events = w.sched.len();
    assert!(w.client_return(S, key, ended(t)).is_none());
    assert_eq!(w.sched.len(), events + 1);
    let hops = w.client_hops.as_ref().unwrap();
    assert_eq!((hops.returning.len(), hops.back_of(key)), (1, 0));
    // The end arrives: it is recorded and forgotten; a second arrival is a stale event.
    let at = hops.returning.key_at(0).unwrap();
    w.on_client_return(S + 20 * MS, at);
    assert_eq!(w.client_hops.as_ref().unwrap().returning.len(), 0);
    w.on_client_return(S + 20 * MS, at);
    // A world without a hop gives every end back.
    let cfg = hop_config(None);
    let mut w = World::new(&cfg, 1, 0);
    let key = job(&mut w, t);
    assert!(w.client_return(S, key, ended(t)).is_some());
}
