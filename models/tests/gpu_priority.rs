//! FCFS and priority scheduling on a replica, against hand traces.

use models::gpu::{Completion, PromptKey, Replica, ReplicaConfig, Scheduling, StepModel};
use sim_core::Time;

const MS: Time = 1_000_000;

/// Prefill `10 + 0.1·ΣL + 0.0001·ΣL²` ms; decode `20 + 0.001·Σcontext + 0.5·batch` ms.
fn simple_model() -> StepModel {
    StepModel::from_ms(
        [10.0, 0.1, 0.0001],
        [20.0, 0.001, 0.5],
        [20.0, 0.001, 0.5],
        95,
    )
    .unwrap()
}

fn cfg(kv_blocks: u32, max_batch: u32, scheduling: Scheduling) -> ReplicaConfig {
    ReplicaConfig {
        kv_blocks,
        max_batch,
        max_batched_tokens: 8192,
        max_waiting: 100,
        chunked_prefill: false,
        prefix_caching: false,
        scheduling,
        step: simple_model(),
    }
}

/// Admits `(time, prompt, output, priority)` in order (ids are indices) and runs to the end.
fn replay(c: ReplicaConfig, arrivals: &[(Time, u32, u32, u8)]) -> Vec<Completion> {
    let mut r = Replica::new(c).unwrap();
    let mut done = Vec::new();
    for (i, &(t, p, n, prio)) in arrivals.iter().enumerate() {
        while let Some(next) = r.next_change().filter(|&x| x <= t) {
            r.advance(next, |c| done.push(c));
        }
        r.admit_with(t, i as u32, p, n, prio, PromptKey::Unique)
            .unwrap();
    }
    while let Some(next) = r.next_change() {
        r.advance(next, |c| done.push(c));
    }
    done.sort_by_key(|c| c.id);
    done
}

#[test]
fn the_waiting_queue_serves_priority_then_arrival() {
    // One sequence at a time; every request is a single 100-token prefill of 21 ms
    // (10 + 0.1·100 + 0.0001·100²) with one output token. A (priority 0) starts at 0; B (0),
    // C (5) and D (5) arrive at 1 ms and wait.
    // FCFS: A, B, C, D end at 21, 42, 63, 84 ms. Priority: A, C, D, B.
    let arrivals = [
        (0, 100, 1, 0),
        (MS, 100, 1, 0),
        (MS, 100, 1, 5),
        (MS, 100, 1, 5),
    ];
    let ends = |s| -> Vec<Time> {
        replay(cfg(100, 1, s), &arrivals)
            .iter()
            .map(|c| c.finish / MS)
            .collect()
    };
    assert_eq!(ends(Scheduling::Fcfs), [21, 42, 63, 84]);
    assert_eq!(ends(Scheduling::Priority), [21, 84, 42, 63]);
}

#[test]
fn the_preemption_victim_follows_the_policy() {
    // KV of 5 blocks. A (priority 5) prefills alone from 0; B (priority 0) and C (priority 3)
    // arrive at 0 and prefill together next. Each then holds one block (16 tokens) and its first
    // decode step needs a second: 3 blocks wanted, 2 free, so one is preempted. FCFS evicts the
    // last scheduled (C under FCFS order), priority the least important (B). With 10 output
    // tokens each needs at most 2 blocks (25 tokens), so the other two finish unpreempted.
    let arrivals = [(0, 16, 10, 5), (0, 16, 10, 0), (0, 16, 10, 3)];
    let preemptions = |s| -> Vec<u32> {
        replay(cfg(5, 8, s), &arrivals)
            .iter()
            .map(|c| c.preemptions)
            .collect()
    };
    assert_eq!(preemptions(Scheduling::Fcfs), [0, 0, 1]);
    assert_eq!(preemptions(Scheduling::Priority), [0, 1, 0]);
}

#[test]
fn equal_priorities_schedule_as_fcfs() {
    // With every priority equal the priority policy is FCFS: the same completions to the
    // nanosecond on a trace with preemptions.
    let arrivals: Vec<_> = (0..60u64)
        .map(|i| {
            (
                i * 37 * MS % (900 * MS),
                20 + (i * 53 % 300) as u32,
                5 + (i * 29 % 120) as u32,
                2,
            )
        })
        .collect();
    let mut sorted = arrivals.clone();
    sorted.sort_by_key(|a| a.0);
    let a = replay(cfg(60, 16, Scheduling::Fcfs), &sorted);
    let b = replay(cfg(60, 16, Scheduling::Priority), &sorted);
    assert!(a.iter().any(|c| c.preemptions > 0), "the trace preempts");
    assert_eq!(a, b);
}
