//! Shared prompt prefixes of calls that come through the gateway: a tenant's
//! `shared_prefix = { groups, tokens }` makes a GPU pool with prefix caching find its system
//! prompt cached, and time to first token falls by the prefill it skips.

mod common;

use common::{faultline, mean, run_scenario, scratch_dir};
use models::gpu::step_time::LLAMA2_7B_A100;

/// One tenant sending a call about once a minute (Gamma gaps with a 5% spread, so calls never
/// share a batch) of `prompt` + 101 tokens to one Llama-2-7B/A100 replica with prefix caching;
/// the first ten minutes (the cold cache's first call) are warm-up.
fn scenario(prompt: u32, shared: &str) -> String {
    format!(
        r#"
seed = 5
replications = 2
horizon = "2h"
warmup = "10m"

[[tenants]]
name = "t"
backend = "pool"
arrivals = {{ process = "gamma", rate = "1/min", cv = 0.05 }}
prompt_tokens = {{ dist = "fixed", value = {prompt} }}
output_tokens = {{ dist = "fixed", value = 101 }}
{shared}

[[backends]]
name = "pool"

[backends.gpu_pool]
replicas = 1
step_time = "llama2-7b-a100"
kv = {{ blocks = 4000 }}
prefix_caching = true
"#
    )
}

/// The preset's prefill step, ms, for `c` new tokens after `d` cached ones: `a + b·c +
/// k·c·(c + 2d)` (the quadratic term is the increase of `L²`).
fn prefill_ms(c: f64, d: f64) -> f64 {
    let [a, b, k] = LLAMA2_7B_A100.prefill;
    a + b * c + k * c * (c + 2.0 * d)
}

#[test]
fn a_shared_system_prompt_hits_the_cache_by_the_hand_computed_share() {
    let dir = scratch_dir("gpu-shared-prefix");
    let p = 1000u32;
    // One system prompt of 808 tokens: its 50 full blocks (800 tokens) are shared; the block
    // holding its end and the question's start is each call's own.
    let shared = run_scenario(
        &dir,
        &scenario(p, "shared_prefix = { groups = 1, tokens = 808 }"),
        &[],
    );
    let plain = run_scenario(&dir, &scenario(p, ""), &[]);
    // Every call after the warm-up finds the 800 tokens cached out of the 999 it looks up (one
    // token is always computed).
    let ratio = mean(&shared, "pool.pool.prefix_hit_ratio");
    let by_hand = 800.0 / (p - 1) as f64;
    assert!((ratio - by_hand).abs() < 1e-12, "{ratio} vs {by_hand}");
    // Without shared prefixes nothing is shared: calls never meet, so nothing is ever hit.
    assert_eq!(mean(&plain, "pool.pool.prefix_hit_ratio"), 0.0);
    // Time to first token: a prefill of the 200 uncached tokens after 800 cached, against the
    // whole prompt's (the latency histogram keeps three significant digits).
    let ttft = |r: &_| mean(r, "pool.pool.ttft_p50_s") * 1e3;
    let (with, without) = (ttft(&shared), ttft(&plain));
    let (want_with, want_without) = (prefill_ms(200.0, 800.0), prefill_ms(1000.0, 0.0));
    assert!(
        (with - want_with).abs() <= 2e-3 * want_with,
        "{with} vs {want_with}"
    );
    assert!(
        (without - want_without).abs() <= 2e-3 * want_without,
        "{without} vs {want_without}"
    );
    assert!(with < 0.5 * without);
}

#[test]
fn tenants_never_share_a_prefix_and_a_bad_declaration_is_an_input_error() {
    // Two tenants declaring the same single system prompt, no warm-up, one replication: each
    // tenant's first call misses and every later one hits its 800 tokens, so the misses come
    // out at 2 (1 if the tenants shared their prefix).
    let dir = scratch_dir("gpu-shared-prefix-tenants");
    let second = r#"[[tenants]]
name = "u"
backend = "pool"
arrivals = { process = "gamma", rate = "1/min", cv = 0.05 }
prompt_tokens = { dist = "fixed", value = 1000 }
output_tokens = { dist = "fixed", value = 101 }
shared_prefix = { groups = 1, tokens = 808 }

[[backends]]"#;
    let text = scenario(1000, "shared_prefix = { groups = 1, tokens = 808 }")
        .replace("[[backends]]", second)
        .replace("warmup = \"10m\"", "warmup = \"0s\"")
        .replace("replications = 2", "replications = 1");
    let r = run_scenario(&dir, &text, &[]);
    let ratio = mean(&r, "pool.pool.prefix_hit_ratio");
    let n = mean(&r, "pool.pool.completed");
    assert!(n > 200.0, "{n}");
    // hits = (n − misses)·800 of n·999 looked up (a call still running at the horizon moves
    // this by well under one miss).
    let misses = n - ratio * n * 999.0 / 800.0;
    assert_eq!(misses.round(), 2.0, "{misses}");
    for (bad, key) in [
        ("groups = 0, tokens = 8", "shared_prefix.groups"),
        ("groups = 2, tokens = 0", "shared_prefix.tokens"),
    ] {
        let path = dir.join("bad.toml");
        std::fs::write(
            &path,
            scenario(1000, &format!("shared_prefix = {{ {bad} }}")),
        )
        .unwrap();
        let out = faultline(&["validate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{err}");
    }
}
