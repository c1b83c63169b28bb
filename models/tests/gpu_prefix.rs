//! Automatic prefix caching on a replica, against hand computations.

use models::gpu::{Completion, PromptKey, Replica, ReplicaConfig, StepModel};
use sim_core::Time;

const MS: Time = 1_000_000;

/// Round-number coefficients: prefill `10 + 0.1·ΣL + 0.0001·ΣL²` ms.
fn simple_model() -> StepModel {
    StepModel::from_ms(
        [10.0, 0.1, 0.0001],
        [20.0, 0.001, 0.5],
        [20.0, 0.001, 0.5],
        95,
    )
    .unwrap()
}

fn cfg(kv_blocks: u32, chunked: bool, prefix_caching: bool) -> ReplicaConfig {
    ReplicaConfig {
        kv_blocks,
        max_batch: 64,
        max_batched_tokens: 8192,
        max_waiting: 10_000,
        chunked_prefill: chunked,
        prefix_caching,
        scheduling: Default::default(),
        step: simple_model(),
    }
}

/// An arrival: time, prompt and output tokens, and its shared prefix (group, tokens) if any.
type Arrival = (Time, u32, u32, Option<(u64, u32)>);

/// Replays `arrivals` on one replica, advancing it between arrivals exactly as the world does.
fn replay(c: ReplicaConfig, arrivals: &[Arrival]) -> (Vec<Completion>, Replica) {
    let mut r = Replica::new(c).unwrap();
    let mut done = Vec::new();
    for (i, &(t, p, n, group)) in arrivals.iter().enumerate() {
        while let Some(next) = r.next_change().filter(|&x| x <= t) {
            r.advance(next, |c| done.push(c));
        }
        let key = match group {
            Some((group, tokens)) => PromptKey::Shared { group, tokens },
            None => PromptKey::Unique,
        };
        r.admit_keyed(t, i as u32, p, n, key).unwrap();
    }
    while let Some(next) = r.next_change() {
        r.advance(next, |c| done.push(c));
    }
    done.sort_by_key(|c| c.id);
    (done, r)
}

#[test]
fn the_second_request_of_a_group_prefills_only_its_suffix() {
    // Group 1's system prompt is 64 tokens (4 blocks); both prompts are 100 tokens, one output
    // token, so each request is one prefill step.
    // A alone at 0: 10 + 0.1·100 + 0.0001·100² = 21 ms.
    // B at 30 ms finds A's 4 freed-but-cached blocks and computes 36 tokens after 64 cached:
    //   10 + 0.1·36 + 0.0001·36·(36 + 2·64) = 10 + 3.6 + 0.5904 = 14.1904 ms → 44.1904 ms.
    for chunked in [false, true] {
        let arrivals = [(0, 100, 1, Some((1, 64))), (30 * MS, 100, 1, Some((1, 64)))];
        let (done, r) = replay(cfg(100, chunked, true), &arrivals);
        assert_eq!(done[0].first_token, 21 * MS);
        assert_eq!(done[1].first_token, 44_190_400);
        let k = r.prefix_counters().unwrap();
        // Each lookup covers 99 tokens (one token is always computed); B hit 64.
        assert_eq!((k.query_tokens, k.hit_tokens), (198, 64));
        // Without prefix caching B costs what A did.
        let (plain, r) = replay(cfg(100, chunked, false), &arrivals);
        assert_eq!(plain[1].first_token, 51 * MS);
        assert!(r.prefix_counters().is_none());
    }
}

#[test]
fn hit_ratio_of_a_hand_computable_workload() {
    // Ten requests, one every second (each finishes long before the next), two groups taking
    // turns, system prompt 160 tokens (10 blocks), prompts 400 tokens. The first of each group
    // misses; the other eight each hit 10 blocks = 160 tokens. Lookups cover 399 tokens each.
    let arrivals: Vec<_> = (0..10u64)
        .map(|i| (i * 1_000 * MS, 400, 4, Some((i % 2, 160))))
        .collect();
    let (done, r) = replay(cfg(1000, true, true), &arrivals);
    assert_eq!(done.len(), 10);
    let k = r.prefix_counters().unwrap();
    assert_eq!(k.query_tokens, 10 * 399);
    assert_eq!(k.hit_tokens, 8 * 160);
    // Hit ratio 1280 / 3990.
    assert!((k.hit_tokens as f64 / k.query_tokens as f64 - 1280.0 / 3990.0).abs() < 1e-12);
}

#[test]
fn unique_prompts_behave_as_without_prefix_caching() {
    // With nothing shared and no preemption, prefix caching changes nothing: the same
    // completions at the same nanoseconds, chunked or not.
    let mut arrivals = Vec::new();
    let mut t = 0;
    for i in 0..300u64 {
        t += (i * 7919 % 113 + 5) * MS;
        arrivals.push((
            t,
            50 + (i * 31 % 700) as u32,
            1 + (i * 17 % 90) as u32,
            None,
        ));
    }
    for chunked in [false, true] {
        let (a, _) = replay(cfg(100_000, chunked, false), &arrivals);
        let (b, _) = replay(cfg(100_000, chunked, true), &arrivals);
        assert_eq!(a, b);
    }
}

#[test]
fn a_preempted_request_re_prefills_only_what_was_evicted() {
    // KV of 40 blocks. Three requests of 300-token prompts (19 blocks each) and long outputs
    // cannot all fit: the scheduler preempts. With prefix caching the victim's freed blocks
    // stay cached at the free queue's tail, so its re-prefill finds most of them.
    let arrivals = [
        (0, 300, 200, None),
        (0, 300, 200, None),
        (MS, 300, 200, None),
    ];
    let (plain, rp) = replay(cfg(40, false, false), &arrivals);
    let (cached, rc) = replay(cfg(40, false, true), &arrivals);
    assert_eq!(plain.len(), 3);
    assert_eq!(cached.len(), 3);
    let (p, c) = (rp.counters(), rc.counters());
    assert!(p.preemptions > 0 && c.preemptions > 0);
    assert!(
        c.reprefill_tokens < p.reprefill_tokens,
        "re-prefill with caching {} vs without {}",
        c.reprefill_tokens,
        p.reprefill_tokens
    );
    assert!(rc.prefix_counters().unwrap().hit_tokens > 0);
}
