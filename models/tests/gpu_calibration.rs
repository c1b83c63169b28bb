//! Step-time presets against the measurements they were fitted to.
//!
//! Each preset's coefficients are refitted here from the source data by least absolute relative
//! error (iteratively reweighted least squares, coefficients kept non-negative by dropping any
//! that go negative and refitting), printed (`-- --nocapture`), and compared: the stored preset
//! must reproduce the measurements with a median absolute percentage error of at most 10%, and
//! must be the refit (its error within 0.5 percentage points of the refit's). To re-derive a
//! preset, run this test with `--nocapture` and copy the printed coefficients.

use models::gpu::step_time::{
    LLAMA2_7B_A100, LLAMA2_70B_TP2_H100, LLAMA2_70B_TP4_H100, LLAMA2_70B_TP8_H100, StepPreset,
};

const SPLITWISE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/calibration/splitwise-sim_perf_model.csv"
);
const VIDUR_7B: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../data/calibration/vidur_a100_Llama-2-7b-hf_mlp.csv"
);

fn read(path: &str) -> csv::Reader<std::fs::File> {
    csv::Reader::from_path(path).unwrap_or_else(|e| {
        panic!("calibration data {path} is required (vendored in data/calibration, see data/README.md): {e}")
    })
}

/// Solves the small dense system `a·x = b` by Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Vec<f64> {
    let n = b.len();
    for i in 0..n {
        let p = (i..n)
            .max_by(|&x, &y| a[x][i].abs().total_cmp(&a[y][i].abs()))
            .unwrap();
        a.swap(i, p);
        b.swap(i, p);
        let pivot = a[i].clone();
        let pivot_b = b[i];
        for r in 0..n {
            if r != i && pivot[i] != 0.0 {
                let f = a[r][i] / pivot[i];
                for (x, p) in a[r].iter_mut().zip(&pivot).skip(i) {
                    *x -= f * p;
                }
                b[r] -= f * pivot_b;
            }
        }
    }
    (0..n).map(|i| b[i] / a[i][i]).collect()
}

/// Minimises Σ |x·c − y| / y over non-negative `c` (IRLS with 100 reweightings).
fn fit_l1_relative(x: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let k = x[0].len();
    let mut active: Vec<usize> = (0..k).collect();
    loop {
        let mut w: Vec<f64> = y.iter().map(|v| 1.0 / (v * v)).collect();
        let mut c = vec![0.0; active.len()];
        for _ in 0..100 {
            let mut a = vec![vec![0.0; active.len()]; active.len()];
            let mut b = vec![0.0; active.len()];
            for ((row, &v), &wi) in x.iter().zip(y).zip(&w) {
                for (i, &ai) in active.iter().enumerate() {
                    b[i] += wi * row[ai] * v;
                    for (j, &aj) in active.iter().enumerate() {
                        a[i][j] += wi * row[ai] * row[aj];
                    }
                }
            }
            c = solve(a, b);
            for ((row, &v), wi) in x.iter().zip(y).zip(w.iter_mut()) {
                let pred: f64 = active.iter().zip(&c).map(|(&ai, ci)| ci * row[ai]).sum();
                let rel = ((pred - v) / v).abs().max(1e-4);
                *wi = 1.0 / (rel * v * v);
            }
        }
        let negative: Vec<usize> = active
            .iter()
            .zip(&c)
            .filter(|(_, ci)| **ci < 0.0)
            .map(|(&a, _)| a)
            .collect();
        if negative.is_empty() {
            let mut full = vec![0.0; k];
            for (&ai, ci) in active.iter().zip(&c) {
                full[ai] = *ci;
            }
            return full;
        }
        active.retain(|a| !negative.contains(a));
    }
}

fn mdape(x: &[Vec<f64>], y: &[f64], c: &[f64]) -> f64 {
    let mut ape: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(row, v)| {
            let pred: f64 = row.iter().zip(c).map(|(a, b)| a * b).sum();
            (pred - v).abs() / v * 100.0
        })
        .collect();
    ape.sort_by(f64::total_cmp);
    let n = ape.len();
    if n % 2 == 1 {
        ape[n / 2]
    } else {
        (ape[n / 2 - 1] + ape[n / 2]) / 2.0
    }
}

/// Checks stored coefficients against the refit on the same data and prints both.
fn check(what: &str, x: &[Vec<f64>], y: &[f64], stored: &[f64]) -> f64 {
    let refit = fit_l1_relative(x, y);
    let e_stored = mdape(x, y, stored);
    let e_refit = mdape(x, y, &refit);
    let shown: Vec<String> = refit.iter().map(|c| format!("{c:.6e}")).collect();
    println!(
        "{what}: {} points, refit [{}] MdAPE {e_refit:.2}%, stored MdAPE {e_stored:.2}%",
        y.len(),
        shown.join(", ")
    );
    assert!(e_stored <= 10.0, "{what}: MdAPE {e_stored:.2}% > 10%");
    assert!(
        (e_stored - e_refit).abs() <= 0.5,
        "{what}: stored coefficients ({e_stored:.2}%) are not the refit ({e_refit:.2}%)"
    );
    e_stored
}

/// Llama-2-70B on H100 at one TP degree: splitwise-sim's measured prompt and token times.
/// A row measures a batch of `b` prompts of `p` tokens, generating `t` tokens each:
/// prefill ΣL = b·p, ΣL² = b·p²; mean decode step over the generation attends
/// Σcontext = b·(p + t/2) tokens with batch b (step j of the t − 1 attends p + j).
fn check_70b(preset: &StepPreset, tp: u32) {
    let mut xp = Vec::new();
    let mut yp = Vec::new();
    let mut xd = Vec::new();
    let mut yd = Vec::new();
    let mut excluded = 0;
    for rec in read(SPLITWISE).records() {
        let rec = rec.expect("a well-formed splitwise-sim row");
        if &rec[0] != "llama2-70b" || &rec[1] != "h100-80gb" || rec[10].parse::<u32>() != Ok(tp) {
            continue;
        }
        let f = |i: usize| rec[i].parse::<f64>().expect("a number");
        let (p, b, t) = (f(2), f(3), f(4));
        // Splitwise's TP2 batch-64 rows are physically inconsistent (32 768 prompt tokens
        // measured faster than 4 096); they are excluded from the fit and the error.
        if tp == 2 && b == 64.0 {
            excluded += 1;
            continue;
        }
        xp.push(vec![1.0, b * p, b * p * p]);
        yp.push(f(7));
        xd.push(vec![1.0, b * (p + t / 2.0), b]);
        yd.push(f(8));
    }
    assert!(
        !yp.is_empty(),
        "no llama2-70b h100 TP{tp} rows in {SPLITWISE}"
    );
    println!("{}: {excluded} rows excluded", preset.name);
    let ep = check(
        &format!("{} prefill", preset.name),
        &xp,
        &yp,
        &preset.prefill,
    );
    let ed = check(
        &format!("{} decode", preset.name),
        &xd,
        &yd,
        &preset.decode_small,
    );
    assert_eq!(preset.decode_small, preset.decode_large);
    let (sp, sd) = preset.fit_mdape_pct.unwrap();
    assert!(
        (sp - ep).abs() < 0.05 && (sd - ed).abs() < 0.05,
        "documented errors are stale: {ep:.2} {ed:.2}"
    );
}

#[test]
fn llama2_70b_tp2_h100_reproduces_splitwise() {
    check_70b(&LLAMA2_70B_TP2_H100, 2);
}

#[test]
fn llama2_70b_tp4_h100_reproduces_splitwise() {
    check_70b(&LLAMA2_70B_TP4_H100, 4);
}

#[test]
fn llama2_70b_tp8_h100_reproduces_splitwise() {
    check_70b(&LLAMA2_70B_TP8_H100, 8);
}

/// Llama-2-7B on A100: the preset's token-proportional parts against Vidur's per-operator
/// profile (TP 1): one forward pass over `n` tokens costs `emb + 32 × Σ per-layer operator
/// medians`. Attention is not in that file, so it is compared without the attention terms
/// (prefill `c`, decode `b`), which come from DistServe (see the preset's documentation).
#[test]
fn llama2_7b_a100_reproduces_vidur_linear_operators() {
    const PER_LAYER: [&str; 9] = [
        "input_layernorm",
        "attn_pre_proj",
        "attn_rope",
        "attn_post_proj",
        "post_attention_layernorm",
        "mlp_up_proj",
        "mlp_act",
        "mlp_down_proj",
        "add",
    ];
    let mut reader = read(VIDUR_7B);
    let headers = reader.headers().expect("a header row").clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("column {name} missing from {VIDUR_7B}"))
    };
    let per_layer: Vec<usize> = PER_LAYER
        .iter()
        .map(|op| col(&format!("time_stats.{op}.median")))
        .collect();
    let emb = col("time_stats.emb.median");
    let tokens = col("num_tokens");
    let tp = col("num_tensor_parallel_workers");
    // Mean over duplicate rows per token count, in token order.
    let mut by_n: std::collections::BTreeMap<u64, (f64, u32)> = Default::default();
    for rec in reader.records() {
        let rec = rec.expect("a well-formed vidur row");
        if &rec[tp] != "1" {
            continue;
        }
        let f = |i: usize| rec[i].parse::<f64>().expect("a number");
        let t = f(emb) + 32.0 * per_layer.iter().map(|&i| f(i)).sum::<f64>();
        let e = by_n
            .entry(rec[tokens].parse().expect("a token count"))
            .or_default();
        e.0 += t;
        e.1 += 1;
    }
    let pts: Vec<(f64, f64)> = by_n
        .iter()
        .map(|(&n, &(s, c))| (n as f64, s / c as f64))
        .collect();
    let split = |lo: f64, hi: f64| {
        let sel: Vec<&(f64, f64)> = pts.iter().filter(|(n, _)| *n >= lo && *n <= hi).collect();
        let x: Vec<Vec<f64>> = sel.iter().map(|(n, _)| vec![1.0, *n]).collect();
        let y: Vec<f64> = sel.iter().map(|(_, t)| *t).collect();
        (x, y)
    };
    let p = LLAMA2_7B_A100;
    let (x, y) = split(1.0, 4096.0);
    let ep = check(
        "llama2-7b-a100 prefill (linear ops)",
        &x,
        &y,
        &[p.prefill[0], p.prefill[1]],
    );
    let (x, y) = split(1.0, 95.0);
    let ed = check(
        "llama2-7b-a100 decode batch<=95 (linear ops)",
        &x,
        &y,
        &[p.decode_small[0], p.decode_small[2]],
    );
    let (x, y) = split(96.0, 1024.0);
    let el = check(
        "llama2-7b-a100 decode batch 96..1024 (linear ops)",
        &x,
        &y,
        &[p.decode_large[0], p.decode_large[2]],
    );
    println!("llama2-7b-a100 MdAPE: prefill {ep:.2}%, decode small {ed:.2}%, large {el:.2}%");
    let (sp, sd) = p.fit_mdape_pct.unwrap();
    assert!(
        (sp - ep).abs() < 0.05 && (sd - ed).abs() < 0.05,
        "documented errors are stale: {ep:.2} {ed:.2}"
    );
}

/// The OPT-13B preset is DistServe's published fit, copied verbatim.
#[test]
fn opt_13b_preset_is_distserves_fit() {
    const PATH: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../data/calibration/distserve_profiler-a100-80g.vllm.json"
    );
    let text = std::fs::read_to_string(PATH)
        .unwrap_or_else(|e| panic!("calibration data {PATH} is required: {e}"));
    let json: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let m = &json["facebook/opt-13b"]["1"];
    let get = |k: &str| -> Vec<f64> {
        m[k].as_array()
            .unwrap_or_else(|| panic!("{k} missing from {PATH}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let p = models::gpu::step_time::OPT_13B_A100_VLLM;
    assert_eq!(get("prefill"), p.prefill);
    assert_eq!(get("decoding_smallbs"), p.decode_small);
    assert_eq!(get("decoding_largebs"), p.decode_large);
    assert_eq!(
        m["decoding_large_small_bs_threshold"].as_u64(),
        Some(p.threshold as u64)
    );
}
