//! The yardstick for `benches/compare_bare.sh`: the `mmc` example's M/M/4 queue (Poisson
//! arrivals at 3.2/s, four servers, exponential service with mean 1 s, FIFO) as the smallest
//! event loop that still does what a discrete-event simulator must: a binary heap of
//! `(time, insertion sequence)` events in integer nanoseconds, ChaCha8 streams, exponential draws
//! through `libm::log`, and the mean wait and time in system accumulated per customer.
//!
//! It runs the example's replications one after another (by default 20 of 51,000 s, the
//! example's 50,000 s horizon plus its 1,000 s warm-up, so the same customers as
//! `faultline run example:mmc`) and prints one JSON line: customers, events and the mean wait and
//! time in system, which the script checks against theory (W = 1.745541 s).
//!
//! Usage: `bare_mmc [REPLICATIONS] [HORIZON_SECONDS] [SEED]`

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

const NANOS: f64 = 1e9;
const LAMBDA: f64 = 3.2;
const SERVERS: u32 = 4;
const SERVICE_MEAN_S: f64 = 1.0;

/// One exponential draw in whole nanoseconds (rounded), from 53 random bits on (0, 1].
fn exp_ns(rng: &mut ChaCha8Rng, mean_s: f64) -> u64 {
    let u = 1.0 - (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
    libm::round(-mean_s * libm::log(u) * NANOS) as u64
}

#[derive(Default)]
struct Totals {
    customers: u64,
    events: u64,
    wait_ns: u128,
    time_in_system_ns: u128,
}

/// An event: `(time, sequence, kind)` with kind 0 for an arrival and 1 for a departure whose
/// customer arrived at `arrived`. Ordered by time, then by the order it was scheduled.
type Entry = Reverse<(u64, u64, u8, u64)>;

fn replication(seed: u64, horizon_ns: u64, totals: &mut Totals) {
    let mut arrivals = ChaCha8Rng::seed_from_u64(seed);
    let mut service = ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut heap: BinaryHeap<Entry> = BinaryHeap::with_capacity(64);
    let mut queue: VecDeque<u64> = VecDeque::with_capacity(64);
    let mut seq = 0u64;
    let mut busy = 0u32;
    heap.push(Reverse((exp_ns(&mut arrivals, 1.0 / LAMBDA), seq, 0, 0)));
    while let Some(Reverse((now, _, kind, arrived))) = heap.pop() {
        if now > horizon_ns {
            break;
        }
        totals.events += 1;
        if kind == 0 {
            seq += 1;
            heap.push(Reverse((
                now + exp_ns(&mut arrivals, 1.0 / LAMBDA),
                seq,
                0,
                0,
            )));
            if busy < SERVERS {
                busy += 1;
                seq += 1;
                heap.push(Reverse((
                    now + exp_ns(&mut service, SERVICE_MEAN_S),
                    seq,
                    1,
                    now,
                )));
            } else {
                queue.push_back(now);
            }
        } else {
            totals.customers += 1;
            totals.time_in_system_ns += u128::from(now - arrived);
            match queue.pop_front() {
                Some(waiting_since) => {
                    totals.wait_ns += u128::from(now - waiting_since);
                    seq += 1;
                    let done = now + exp_ns(&mut service, SERVICE_MEAN_S);
                    heap.push(Reverse((done, seq, 1, waiting_since)));
                }
                None => busy -= 1,
            }
        }
    }
}

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are whole numbers"))
        .collect();
    let replications = args.first().copied().unwrap_or(20);
    let horizon_s = args.get(1).copied().unwrap_or(51_000);
    let seed = args.get(2).copied().unwrap_or(1);
    let mut totals = Totals::default();
    for r in 0..replications {
        replication(
            seed.wrapping_mul(1_000_003).wrapping_add(r),
            horizon_s * 1_000_000_000,
            &mut totals,
        );
    }
    let n = totals.customers.max(1) as f64;
    println!(
        "{{\"customers\": {}, \"events\": {}, \"wait_mean_s\": {:.6}, \"time_in_system_mean_s\": {:.6}}}",
        totals.customers,
        totals.events,
        totals.wait_ns as f64 / n / NANOS,
        totals.time_in_system_ns as f64 / n / NANOS
    );
}
