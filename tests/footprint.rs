//! The up-front memory estimate against what the allocator actually hands out, and the limits
//! it enforces: runs too big for the machine are refused with the estimate, and an overloaded
//! run whose queue grows without bound stops with a clear error instead of being killed.

// A counting global allocator must implement the unsafe GlobalAlloc trait.
#![allow(unsafe_code)]

mod common;
use common::{faultline, scratch_dir};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Counts live heap bytes, so a test can measure what building a world allocates.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Held while measuring, so tests running beside each other do not count each other's bytes.
static MEASURING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The estimated bytes of a world for `config`, and what building one allocates.
fn estimated_and_allocated(config: &models::WorldConfig) -> (f64, f64) {
    let estimate = models::footprint::footprint(config).world_bytes as f64;
    let before = LIVE.load(Ordering::SeqCst);
    let world = models::World::new(config, 1, 0);
    let measured = (LIVE.load(Ordering::SeqCst) - before) as f64;
    drop(world);
    (estimate, measured)
}

#[test]
fn the_world_estimate_is_within_a_factor_of_two_of_the_allocation_for_every_example() {
    let _alone = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    for e in scenarios::examples::ALL {
        let loaded = scenarios::load(&scenarios::Source::example(e.name).unwrap(), &[]).unwrap();
        let (estimate, measured) = estimated_and_allocated(&loaded.world);
        let ratio = estimate / measured;
        assert!(
            (0.5..=2.0).contains(&ratio),
            "{}: estimated {estimate} bytes, allocated {measured} (ratio {ratio:.2})",
            e.name
        );
    }
}

#[test]
fn tenants_by_the_thousand_scale_the_estimate_and_the_allocation_alike() {
    let _alone = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    // 2,000 tenants sharing one backend: the per-tenant histograms dominate.
    let mut text = String::from("horizon = \"10s\"\nreplications = 1\n");
    for i in 0..2000 {
        text.push_str(&format!(
            "[[tenants]]\nname = \"t{i}\"\nbackend = \"api\"\narrivals = {{ process = \"poisson\", rate = \"1/s\" }}\n"
        ));
    }
    text.push_str(
        "[[backends]]\nname = \"api\"\nservice = { dist = \"exponential\", mean = \"1s\" }\n",
    );
    let source = scenarios::Source::from_text("many", "many", text, scenarios::Format::Toml);
    let loaded = scenarios::load(&source, &[]).unwrap();
    let (estimate, measured) = estimated_and_allocated(&loaded.world);
    let ratio = estimate / measured;
    assert!((0.5..=2.0).contains(&ratio), "ratio {ratio:.2}");
    assert!(
        measured > 2000.0 * 100_000.0,
        "histograms per tenant: {measured}"
    );
}

#[test]
fn a_run_beyond_the_memory_limit_is_refused_with_its_estimate() {
    let _alone = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let o = faultline(&[
        "run",
        "example:mmc",
        "--replications",
        "4294967294",
        "--max-memory",
        "8GiB",
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("4294967294 replications") && e.contains("--max-memory"),
        "{e}"
    );
    assert!(
        e.contains("8.0 GiB") || e.contains("8192 MiB"),
        "the limit is stated: {e}"
    );
    // validate shows the estimate; a generous limit admits the run.
    let o = faultline(&["validate", "example:mmc"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("estimate: about") && out.contains("peak memory"),
        "{out}"
    );
    let o = faultline(&["validate", "example:mmc", "--max-memory", "1KiB"]);
    assert_eq!(o.status.code(), Some(2));
    let o = faultline(&["validate", "example:mmc", "--max-memory", "lots"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-memory"));
}

#[test]
fn an_unbounded_queue_under_overload_stops_at_the_limit() {
    let _alone = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let dir = scratch_dir("flood");
    let file = dir.join("flood.toml");
    std::fs::write(
        &file,
        r#"horizon = "1h"
replications = 1
[[tenants]]
name = "flood"
backend = "api"
arrivals = { process = "poisson", rate = "1000000000/s" }
[[backends]]
name = "api"
concurrency = 4
service = { dist = "exponential", mean = "1s" }
"#,
    )
    .unwrap();
    let o = faultline(&[
        "run",
        file.to_str().unwrap(),
        "--max-memory",
        "256MiB",
        "--max-events",
        "unlimited",
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(
        e.contains("calls were in flight") && e.contains("overloaded"),
        "{e}"
    );
}

#[test]
fn a_run_whose_clocks_tick_every_nanosecond_is_refused_with_its_estimate() {
    let _alone = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    for set in [
        "backends.pool.gpu_pool.autoscale.interval=1ns",
        "backends.pool.gpu_pool.autoscale.interval=5ns",
    ] {
        let o = faultline(&[
            "validate",
            "example:autoscale-burst",
            "--set",
            "horizon=60s",
            "--set",
            set,
        ]);
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{set}: {e}");
        assert!(
            e.contains("events per replication") && e.contains("--max-events"),
            "{e}"
        );
    }
    // A microsecond period is 6e7 events in a minute: allowed.
    let o = faultline(&[
        "validate",
        "example:autoscale-burst",
        "--set",
        "horizon=60s",
        "--set",
        "backends.pool.gpu_pool.autoscale.interval=1us",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // And the limit can be lifted.
    let o = faultline(&[
        "validate",
        "example:autoscale-burst",
        "--set",
        "horizon=60s",
        "--set",
        "backends.pool.gpu_pool.autoscale.interval=1ns",
        "--max-events",
        "unlimited",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
