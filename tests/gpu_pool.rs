//! GPU pools through the whole world: the step formula end to end, Little's law per pool, events
//! per request as outputs grow, crashes, the KV admission cap, autoscaling, and the findings of
//! the pool examples.

mod common;

use common::{mean, run_report, run_scenario, scratch_dir};
use models::gpu::StepPreset;
use models::gpu::step_time::LLAMA2_7B_A100;
use models::run_replication;
use scenarios::load::{Format, Source, load};

fn world(text: &str) -> models::WorldConfig {
    let source = Source::from_text("test.toml", "test", text.to_string(), Format::Toml);
    load(&source, &[]).expect("a valid scenario").world
}

/// One tenant on one Llama-2-7B/A100 pool with stated token counts.
fn pool(rate: &str, prompt: u32, output: u32, horizon: &str, extra: &str) -> String {
    format!(
        r#"
seed = 3
replications = 1
horizon = "{horizon}"

[[tenants]]
name = "t"
backend = "pool"
arrivals = {{ process = "poisson", rate = "{rate}" }}
prompt_tokens = {{ dist = "fixed", value = {prompt} }}
output_tokens = {{ dist = "fixed", value = {output} }}

[[backends]]
name = "pool"

[backends.gpu_pool]
replicas = 2
step_time = "llama2-7b-a100"
kv = {{ blocks = 4000 }}
{extra}
"#
    )
}

/// Milliseconds of a prefill of one prompt of `p` tokens under `preset`.
fn prefill_ms(preset: &StepPreset, p: f64) -> f64 {
    let [a, b, c] = preset.prefill;
    a + b * p + c * p * p
}

/// Milliseconds of one decode step of a batch of one with `context` tokens.
fn decode_ms(preset: &StepPreset, context: f64) -> f64 {
    let [a, b, c] = preset.decode_small;
    a + b * context + c
}

#[test]
fn a_call_alone_gets_the_step_formula_ttft_and_time_per_token() {
    // Calls a minute apart never share a replica's batch.
    let dir = scratch_dir("gpu-alone");
    let (p, n) = (1000u32, 101u32);
    let report = run_scenario(&dir, &pool("1/min", p, n, "2h", ""), &[]);
    let ttft = prefill_ms(&LLAMA2_7B_A100, p as f64) / 1e3;
    // Decode steps attend over p + 1 .. p + n − 1 tokens: their mean context is p + n/2.
    let tpot = decode_ms(&LLAMA2_7B_A100, p as f64 + n as f64 / 2.0);
    // The latency histogram keeps three significant digits.
    let got = mean(&report, "pool.pool.ttft_p50_s");
    assert!(
        (got - ttft).abs() <= ttft * 2e-3,
        "TTFT {got} s against the formula's {ttft} s"
    );
    let got = mean(&report, "pool.pool.tpot_p50_ms");
    assert!(
        (got - tpot).abs() <= tpot * 2e-3,
        "time per output token {got} ms against the formula's {tpot} ms"
    );
    assert_eq!(mean(&report, "pool.pool.preemptions"), 0.0);
}

#[test]
fn littles_law_holds_per_pool() {
    let dir = scratch_dir("gpu-little");
    let text = pool("6/s", 700, 150, "4h", "").replace(
        "prompt_tokens = { dist = \"fixed\", value = 700 }",
        "prompt_tokens = { dist = \"lognormal\", median = 700, p99 = 4000 }",
    );
    let report = run_scenario(&dir, &text, &[]);
    let l = mean(&report, "pool.pool.in_pool_mean");
    let lambda = mean(&report, "pool.pool.throughput_per_s");
    let w = mean(&report, "pool.pool.sojourn_mean_s");
    // Calls still on the replicas at the horizon are in L but not yet in λ·W: a boundary effect
    // of a few calls over four hours, far below 1%.
    assert!(l > 5.0, "a loaded pool: L = {l}");
    assert!(
        (l - lambda * w).abs() <= 0.01 * l,
        "L = {l} but λW = {lambda} × {w} = {}",
        lambda * w
    );
}

#[test]
fn events_per_call_stay_bounded_as_outputs_grow() {
    let per_call = |n: u32| {
        let cfg = world(&pool("6/h", 500, n, "24h", ""));
        let out = run_replication(&cfg, 3, 0).expect("progress");
        let calls = out.metrics.get("pool.pool.completed").unwrap();
        out.events as f64 / calls
    };
    // An event per token would make it 5 000. Long calls overlap more often (a call arriving
    // mid-run cuts it once), hence a little more than the short calls' count, not 500 times.
    let (short, long) = (per_call(10), per_call(5000));
    assert!(
        long <= short * 1.5 && long < 5.0,
        "{long} events per call with 5000 output tokens against {short} with 10"
    );
}

#[test]
fn the_kv_block_count_of_a_stated_model_is_the_hand_computation() {
    // Llama-2-7B: 2 × 2 bytes × 128 × 32 heads × 32 layers = 524 288 bytes per token, 8 MiB per
    // 16-token block. 40 GiB × 0.9 − 12.6 GiB = 23.4 GiB = 23 961.6 MiB → 2 995 whole blocks.
    let cfg = world(&pool("1/s", 100, 10, "1h", "").replace(
        "kv = { blocks = 4000 }",
        "kv = { gpu_memory_gib = 40, model = \"llama2-7b\", weights_gib = 12.6 }",
    ));
    let kv = cfg.backends[0].pool.as_ref().unwrap().replica.kv_blocks;
    assert_eq!(kv, 2995);
    // With a stated shape and fp8: half the bytes per token, twice the blocks (less rounding).
    let cfg = world(&pool("1/s", 100, 10, "1h", "").replace(
        "kv = { blocks = 4000 }",
        "kv = { gpu_memory_gib = 40, weights_gib = 12.6, model = { layers = 32, kv_heads = 32, head_dim = 128, bytes_per_element = 1 } }",
    ));
    assert_eq!(
        cfg.backends[0].pool.as_ref().unwrap().replica.kv_blocks,
        5990
    );
}

#[test]
fn crashed_replicas_fail_or_requeue_their_calls() {
    let crashes = r#"crashes = { mtbf = { dist = "exponential", mean = "20min" }, mttr = { dist = "deterministic", value = "30s" } }
cold_start = "30s""#;
    let dir = scratch_dir("gpu-crash-fail");
    let failing = run_scenario(
        &dir,
        &pool("4/s", 600, 200, "6h", crashes),
        &[
            "--set",
            "gateway.retry.max_attempts=1",
            "--replications",
            "20",
        ],
    );
    // Each replica alternates up (exponential, mean 20 min), repair (30 s) and cold start
    // (30 s): a renewal process of 21-minute cycles, so 2 × 360/21 = 34.3 crashes in 6 h. The
    // count's variance is about T·σ²/μ³ = 360 · 400/21³ = 15.5 per replica (sd 5.6 for two),
    // so 20 replications give a 99% half-width near 2.86 × 5.6/√20 = 3.6.
    let crashes_expected = 2.0 * 360.0 / 21.0;
    common::assert_in_ci99(&failing, "pool.pool.crashes", crashes_expected, 5.0);
    let failed = mean(&failing, "pool.pool.crash_failed");
    assert!(failed > 0.0);
    assert!(mean(&failing, "success_ratio") < 1.0);
    let dir = scratch_dir("gpu-crash-requeue");
    let requeue = format!("{crashes}\non_crash = \"requeue\"");
    let requeued = run_scenario(
        &dir,
        &pool("4/s", 600, 200, "6h", &requeue),
        &["--set", "gateway.retry.max_attempts=1"],
    );
    assert!(mean(&requeued, "pool.pool.crash_requeued") > 0.0);
    assert_eq!(mean(&requeued, "pool.pool.crash_failed"), 0.0);
    assert_eq!(mean(&requeued, "success_ratio"), 1.0);
}

#[test]
fn a_kv_admission_cap_prevents_every_preemption() {
    // Long outputs on a small cache: without the cap the replicas preempt.
    let text = pool("2/s", 2000, 1500, "1h", "").replace("blocks = 4000", "blocks = 1500");
    let dir = scratch_dir("gpu-cap-off");
    let off = run_scenario(&dir, &text, &["--set", "gateway.retry.max_attempts=50"]);
    assert!(mean(&off, "pool.pool.preemptions") > 0.0);
    let dir = scratch_dir("gpu-cap-on");
    let on = run_scenario(
        &dir,
        &text,
        &[
            "--set",
            "backends.pool.gpu_pool.kv_admission=1.0",
            "--set",
            "gateway.retry.max_attempts=50",
        ],
    );
    assert_eq!(mean(&on, "pool.pool.preemptions"), 0.0);
    assert!(
        mean(&on, "attempts_per_request") > 1.0,
        "the cap turns calls away"
    );
}

#[test]
fn example_kv_eviction_storm() {
    let args = ["--replications", "3", "--set", "horizon=3h"];
    let (storm, _) = run_report("example:kv-eviction-storm", &args);
    let mut capped_args = args.to_vec();
    capped_args.extend(["--set", "backends.pool.gpu_pool.kv_admission=1.0"]);
    let (capped, _) = run_report("example:kv-eviction-storm", &capped_args);
    assert!(mean(&storm, "pool.pool.preemptions") > 100.0);
    assert_eq!(mean(&capped, "pool.pool.preemptions"), 0.0);
    let (before, after) = (
        mean(&storm, "tenant.chat.ttft_p99_s"),
        mean(&capped, "tenant.chat.ttft_p99_s"),
    );
    assert!(
        before > 10.0,
        "the storm collapses chat TTFT: p99 {before} s"
    );
    assert!(
        after < before / 5.0,
        "the cap restores chat TTFT: p99 {after} s against {before} s"
    );
}

#[test]
fn example_self_hosted_vs_api() {
    let (mixed, _) = run_report("example:self-hosted-vs-api", &["--replications", "1"]);
    let (api, _) = run_report(
        "example:self-hosted-vs-api",
        &[
            "--replications",
            "1",
            "--set",
            "routes.chat.backend=api",
            "--set",
            "routes.chat.fallbacks=[]",
        ],
    );
    let overflow = mean(&mixed, "fallback.depth1_share");
    assert!(
        overflow > 0.0 && overflow < 0.05,
        "overflow share {overflow}"
    );
    let api_spend = mean(&api, "backend.api.cost_usd");
    assert!(
        mean(&mixed, "cost_usd") < api_spend / 3.0,
        "self-hosting with overflow should cost well under the API alone"
    );
    assert!(mean(&mixed, "ttft_p99_s") < mean(&api, "ttft_p99_s"));
}

#[test]
fn example_autoscale_burst() {
    let args = ["--replications", "2"];
    let (scaled, _) = run_report("example:autoscale-burst", &args);
    let (fixed, _) = run_report(
        "example:autoscale-burst",
        &[
            "--replications",
            "2",
            "--set",
            "backends.pool.gpu_pool.replicas=8",
            "--set",
            "backends.pool.gpu_pool.autoscale.min_replicas=8",
        ],
    );
    let replicas = mean(&scaled, "pool.pool.replicas_mean");
    assert!(replicas > 1.0 && replicas < 4.0, "mean replicas {replicas}");
    assert!(mean(&scaled, "pool.pool.scale_ups") >= 2.0);
    assert!(mean(&scaled, "cost_usd") < 0.5 * mean(&fixed, "cost_usd"));
    // The provisioning delay shows in the tail.
    assert!(mean(&scaled, "ttft_p99_s") > 10.0 * mean(&fixed, "ttft_p99_s"));
}

#[test]
fn bad_pool_settings_name_the_key_and_exit_2() {
    let cases = [
        (
            pool("1/s", 100, 10, "1h", "").replace("llama2-7b-a100", "llama9-a100"),
            "unknown step-time preset `llama9-a100`",
        ),
        (
            pool("1/s", 100, 10, "1h", "").replace(
                "kv = { blocks = 4000 }",
                "kv = { gpu_memory_gib = 16, model = \"llama2-70b\", weights_gib = 130 }",
            ),
            "do not fit",
        ),
        (
            pool(
                "1/s",
                100,
                10,
                "1h",
                "ttft = { dist = \"deterministic\", value = \"1s\" }",
            )
            .replace("[backends.gpu_pool]", "")
            .replace("replicas = 2", "[backends.gpu_pool]\nreplicas = 2"),
            "unknown field `ttft`",
        ),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let dir = scratch_dir(&format!("gpu-bad-{i}"));
        let file = dir.join("bad.toml");
        std::fs::write(&file, text).unwrap();
        let out = common::faultline(&["validate", file.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(expected),
            "expected `{expected}` in: {stderr}"
        );
        assert!(stderr.contains("gpu_pool"), "the key path: {stderr}");
    }
}

#[test]
fn pools_with_crashes_and_autoscaling_are_deterministic_across_threads() {
    // Crashes, repairs, autoscaling and preemptions together: every byte the same.
    let args = [
        "--replications",
        "4",
        "--set",
        "horizon=2h",
        "--set",
        "backends.pool.gpu_pool.crashes={ mtbf = { dist = \"exponential\", mean = \"30min\" }, mttr = { dist = \"exponential\", mean = \"1min\" } }",
    ];
    let one = run_report(
        "example:autoscale-burst",
        &[&args[..], &["--threads", "1"]].concat(),
    )
    .1;
    let two = run_report(
        "example:autoscale-burst",
        &[&args[..], &["--threads", "2"]].concat(),
    )
    .1;
    assert!(
        std::fs::read(one).unwrap() == std::fs::read(two).unwrap(),
        "report.json differs between --threads 1 and --threads 2"
    );
}

#[test]
fn a_pool_naming_a_model_and_gpu_gets_vllms_kv_budget_and_roofline_steps() {
    let text = |model: &str, gpu: &str, tp: u32| {
        pool("1/s", 100, 10, "1h", "").replace(
            "step_time = \"llama2-7b-a100\"\nkv = { blocks = 4000 }",
            &format!("model = {model}\ngpu = \"{gpu}\"\ngpus_per_replica = {tp}"),
        )
    };
    // Llama-2-7B on an A100-40GB: 40 GiB × 0.9 = 38 654 705 664 B, less 6 738 415 616 × 2 B of
    // weights and the 1.5 GiB reserve = 23 567 261 696 B, over 8 MiB a block → 2 809 blocks.
    let cfg = world(&text("\"llama-2-7b\"", "a100-40gb", 1));
    let replica = cfg.backends[0].pool.as_ref().unwrap().replica;
    assert_eq!(replica.kv_blocks, 2809);
    // The same model from a config.json file gives the same replica.
    let dir = scratch_dir("gpu-config-json");
    let path = dir.join("config.json");
    std::fs::write(
        &path,
        r#"{"architectures": ["LlamaForCausalLM"], "hidden_size": 4096, "intermediate_size": 11008,
            "num_attention_heads": 32, "num_key_value_heads": 32, "num_hidden_layers": 32,
            "vocab_size": 32000, "torch_dtype": "float16", "rms_norm_eps": 1e-5}"#,
    )
    .unwrap();
    let from_file = world(&text(
        &format!("{{ config = \"{}\" }}", path.display()),
        "a100-40gb",
        1,
    ));
    assert_eq!(
        from_file.backends[0].pool.as_ref().unwrap().replica,
        replica
    );
    // Llama-3.1-70B at TP8 has one KV head per GPU; at TP16 each GPU still holds one
    // (replicated), so per-GPU blocks stop growing with the KV share and grow only with the
    // smaller weight shard.
    let blocks = |tp| {
        world(&text("\"llama-3.1-70b\"", "h100-sxm", tp)).backends[0]
            .pool
            .as_ref()
            .unwrap()
            .replica
            .kv_blocks
    };
    let (b4, b8, b16) = (blocks(4), blocks(8), blocks(16));
    assert!(b8 > 2 * b4, "{b4} {b8}");
    assert!(b16 < 2 * b8 && b16 > b8, "{b8} {b16}");
    // Errors name the key and what was expected.
    let bad = |t: String| {
        let source = Source::from_text("test.toml", "test", t, Format::Toml);
        load(&source, &[]).map(|_| ()).unwrap_err().to_string()
    };
    let e = bad(text("\"llama-9b\"", "h100-sxm", 1));
    assert!(
        e.contains("gpu_pool.model") && e.contains("llama-3.1-70b"),
        "{e}"
    );
    let e = bad(text("\"llama-2-7b\"", "h100-sxl", 1));
    assert!(e.contains("gpu_pool.gpu") && e.contains("h100-sxm"), "{e}");
    let e = bad(pool("1/s", 100, 10, "1h", "").replace(
        "step_time = \"llama2-7b-a100\"\nkv = { blocks = 4000 }",
        "model = \"llama-2-7b\"",
    ));
    assert!(e.contains("needs a `gpu`"), "{e}");
    let e = bad(text(
        "{ config = \"/nonexistent/config.json\" }",
        "h100-sxm",
        1,
    ));
    assert!(
        e.contains("model.config") && e.contains("cannot read"),
        "{e}"
    );
    // Far too big for one 24 GiB L4: the weights do not fit.
    let e = bad(text("\"llama-3.1-70b\"", "l4", 1));
    assert!(e.contains("gpu_pool.model"), "{e}");
}

/// Two tenants on one replica that preempts: `gold` (priority 5) and `bronze` (priority 0).
fn two_classes(extra: &str) -> String {
    format!(
        r#"
seed = 5
replications = 2
horizon = "1h"

[[tenants]]
name = "gold"
backend = "pool"
priority = 5
arrivals = {{ process = "poisson", rate = "1/s" }}
prompt_tokens = {{ dist = "uniform", low = 600, high = 1400 }}
output_tokens = {{ dist = "uniform", low = 100, high = 400 }}

[[tenants]]
name = "bronze"
backend = "pool"
arrivals = {{ process = "poisson", rate = "1/s" }}
prompt_tokens = {{ dist = "uniform", low = 600, high = 1400 }}
output_tokens = {{ dist = "uniform", low = 100, high = 400 }}

[[backends]]
name = "pool"

[backends.gpu_pool]
replicas = 1
step_time = "llama2-7b-a100"
kv = {{ blocks = 400 }}
{extra}
"#
    )
}

#[test]
fn priority_scheduling_serves_and_spares_the_important_tenant_first() {
    let dir = scratch_dir("gpu-priority");
    let fcfs = run_scenario(&dir, &two_classes(""), &[]);
    let prio = run_scenario(&dir, &two_classes("scheduling = \"priority\""), &[]);
    let p99 = |r: &_, t: &str| mean(r, &format!("tenant.{t}.ttft_p99_s"));
    assert!(
        mean(&fcfs, "pool.pool.preemptions") > 0.0,
        "the pool preempts"
    );
    // Under FCFS the two tenants are alike; under priority gold waits less and bronze more.
    assert!(
        p99(&prio, "gold") < 0.5 * p99(&fcfs, "gold"),
        "gold TTFT p99 {} (priority) vs {} (fcfs)",
        p99(&prio, "gold"),
        p99(&fcfs, "gold")
    );
    assert!(p99(&prio, "bronze") > p99(&fcfs, "bronze"));
    assert!(p99(&prio, "gold") < p99(&prio, "bronze"));
}

#[test]
fn prefix_caching_spares_re_prefill_after_preemption() {
    // The same overloaded pool with and without prefix caching: nothing is shared between calls,
    // so every hit is a preempted call finding its own blocks still cached.
    let dir = scratch_dir("gpu-prefix");
    let plain = run_scenario(&dir, &two_classes(""), &[]);
    let cached = run_scenario(&dir, &two_classes("prefix_caching = true"), &[]);
    let re = |r: &_| mean(r, "pool.pool.reprefill_tokens");
    assert!(re(&plain) > 0.0);
    assert!(
        re(&cached) < 0.5 * re(&plain),
        "re-prefilled {} with caching vs {} without",
        re(&cached),
        re(&plain)
    );
    let hits = mean(&cached, "pool.pool.prefix_hit_ratio");
    assert!(hits > 0.0 && hits < 1.0, "hit ratio {hits}");
    // Without prefix caching the metric is not produced.
    assert!(
        plain["metrics"]
            .as_object()
            .is_none_or(|m| !m.contains_key("pool.pool.prefix_hit_ratio"))
    );
}
