//! Engine throughput on the built-in `mmc` example (M/M/4, rho = 0.8): one replication per
//! iteration, reported as simulated events per second of wall time.
//!
//! Run with `cargo bench -p faultline-benches`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use models::{WorldConfig, run_replication};
use scenarios::{Override, Source};
use std::hint::black_box;
use std::time::Duration;

const SEED: u64 = 1;

/// Short enough that one replication takes a few milliseconds (≈ 3.2 × 5000 arrivals).
const HORIZON: &str = "horizon=5000s";

/// The `mmc` example's world with `sets` applied, as `--set` would apply them.
fn mmc_world(sets: &[&str]) -> WorldConfig {
    let source = Source::example("mmc").expect("the mmc example exists");
    let overrides: Vec<Override> = sets
        .iter()
        .map(|s| Override::parse(s).expect("a well-formed override"))
        .collect();
    scenarios::load(&source, &overrides)
        .unwrap_or_else(|e| panic!("the mmc example loads with {sets:?}: {e}"))
        .world
}

/// Benchmarks one replication of `world`. The event count is deterministic for a fixed seed,
/// so one untimed run gives criterion the elements per iteration.
fn bench_world(c: &mut Criterion, name: &str, world: &WorldConfig) {
    let events = run_replication(world, SEED, 0)
        .expect("the benchmark scenario makes progress")
        .events;
    assert!(events > 0, "{name}: the replication processed no events");
    let mut group = c.benchmark_group("engine");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(events));
    group.bench_function(name, |b| {
        b.iter(|| {
            let out = run_replication(black_box(world), black_box(SEED), 0)
                .expect("the benchmark scenario makes progress");
            debug_assert_eq!(out.events, events);
            black_box(out)
        })
    });
    group.finish();
}

fn mmc(c: &mut Criterion) {
    let world = mmc_world(&[HORIZON, "warmup=0s", "replications=1"]);
    bench_world(c, "mmc", &world);
}

/// The same queue with at most 10 waiting calls: arrivals that find it full are blocked.
fn mmc_bounded_queue(c: &mut Criterion) {
    let world = mmc_world(&[
        HORIZON,
        "warmup=0s",
        "replications=1",
        "gateway.queue_capacity=10",
    ]);
    bench_world(c, "mmc_queue_capacity_10", &world);
}

criterion_group!(benches, mmc, mmc_bounded_queue);
criterion_main!(benches);
