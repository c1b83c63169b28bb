//! Every figure README.md's "Built-in examples" table states, and the deterministic figures the
//! Performance table states about examples (event and preemption counts), reproduced by running
//! the example as the README prints it.
//!
//! Each claim names the exact README text that states it (the test fails if that text is not in
//! the README, so a claim cannot drift away from it), the figure as printed, and how to get the
//! figure from a run: a metric, a figure derived from metrics or the report's time series, or
//! the canonical scenario the report carries (for the figures that describe the set-up).
//! Tolerances:
//!
//! - by default a figure must match to the precision it is printed with: "1,091" within ±0.5,
//!   "12.4" within ±0.05, "0.99996" within ±0.000005 (every run is seeded, so the figure is
//!   exact, not an estimate);
//! - figures written with "~", "≈" or "about" state their tolerance next to the claim;
//! - a few figures are bounds ("never falls below 37/s") or are checked against an interval
//!   the run implies (an alert threshold against the time the alert fired).
//!
//! Theory columns are recomputed from the scenario's parameters, compared with the printed
//! value, and must fall inside the run's 99% confidence interval, as the README says.
//!
//! Finally a coverage check finds every number in every row of the table and fails on any that
//! no claim checks. Numbers inside `code` (the `--set` arguments of a variant) and a short list
//! of labels (p99, V1, A100-40GB, the workbook rule names 1h/5m, HTTP statuses such as 429) are
//! not figures; two numbers define a measurement (retry-storm's window from 300 s, its recovery
//! level of 36/s) and must equal the constants the claims measure with.

mod common;

use common::{faultline, scratch_dir};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

// ---------------------------------------------------------------------------------------------
// The runs: every configuration the README states a figure for.
// ---------------------------------------------------------------------------------------------

/// An example, with the arguments the README prints next to the figures it states for it.
struct Run {
    id: &'static str,
    example: &'static str,
    args: &'static [&'static str],
    /// Delete the example's line that starts with this ("Without the cache (its line deleted)").
    delete_line: Option<&'static str>,
}

const fn ex(example: &'static str) -> Run {
    Run {
        id: example,
        example,
        args: &[],
        delete_line: None,
    }
}

const fn var(id: &'static str, example: &'static str, args: &'static [&'static str]) -> Run {
    Run {
        id,
        example,
        args,
        delete_line: None,
    }
}

const RUNS: &[Run] = &[
    ex("quickstart"),
    var(
        "quickstart/no-retries",
        "quickstart",
        &["--set", "gateway.retry.max_attempts=1"],
    ),
    ex("mm1"),
    ex("mmc"),
    ex("erlang-b"),
    ex("retry-feedback"),
    ex("retry-amplification"),
    ex("provider-outage"),
    ex("agent-chain"),
    var(
        "agent-chain/independent-6.5%",
        "agent-chain",
        &[
            "--set",
            "backends.model.degradation.multiplier=1",
            "--set",
            "routes.llm.soft_failures.hallucination=0.065",
        ],
    ),
    var(
        "agent-chain/independent-2%",
        "agent-chain",
        &["--set", "backends.model.degradation.multiplier=1"],
    ),
    ex("azure-code-replay"),
    var(
        "azure-code-replay/no-retries",
        "azure-code-replay",
        &["--set", "gateway.retry.max_attempts=1"],
    ),
    var(
        "azure-code-replay/no-limit",
        "azure-code-replay",
        &[
            "--set",
            "backends.provider.rate_limits.input_tokens_per_minute=1000000",
        ],
    ),
    ex("silent-model-update"),
    ex("token-runaway"),
    var(
        "token-runaway/turn-cap",
        "token-runaway",
        &["--set", "tenants.0.agent_loop.turn_cap=20"],
    ),
    var(
        "token-runaway/token-cap",
        "token-runaway",
        &["--set", "tenants.0.agent_loop.token_cap=200000"],
    ),
    ex("fallback-chain"),
    Run {
        id: "fallback-chain/no-cache",
        example: "fallback-chain",
        args: &[],
        delete_line: Some("cache = "),
    },
    var(
        "fallback-chain/no-breaker",
        "fallback-chain",
        &[
            "--set",
            "backends.llm-api.circuit_breaker.minimum_calls=1000000",
        ],
    ),
    ex("breaker-vs-retry-storm"),
    var(
        "breaker-vs-retry-storm/no-breaker",
        "breaker-vs-retry-storm",
        &[
            "--set",
            "backends.primary.circuit_breaker.minimum_calls=1000000",
        ],
    ),
    ex("fair-share"),
    var(
        "fair-share/fifo",
        "fair-share",
        &["--set", "gateway.scheduling=fifo"],
    ),
    var(
        "fair-share/round-robin",
        "fair-share",
        &["--set", "gateway.scheduling=round_robin"],
    ),
    ex("chaos-game-day"),
    var(
        "chaos-game-day/no-gate",
        "chaos-game-day",
        &["--set", "chaos.experiments.2.safety_gate.enabled=false"],
    ),
    ex("slo-burn-alerts"),
    ex("codel-overload"),
    var(
        "codel-overload/codel",
        "codel-overload",
        &[
            "--set",
            "gateway.queue_discipline={ kind = \"codel\", target = \"100ms\", interval = \"1s\" }",
        ],
    ),
    ex("retry-storm"),
    var(
        "retry-storm/jitter",
        "retry-storm",
        &["--set", "gateway.retry.backoff=full_jitter"],
    ),
    var(
        "retry-storm/budget",
        "retry-storm",
        &[
            "--set",
            "gateway.retry.backoff=full_jitter",
            "--set",
            "gateway.retry.budget={ kind = \"finagle\" }",
        ],
    ),
    var(
        "retry-storm/no-retries",
        "retry-storm",
        &["--set", "gateway.retry.max_attempts=1"],
    ),
    var(
        "retry-storm/keys",
        "retry-storm",
        &["--set", "gateway.idempotency={ keys = true }"],
    ),
    var(
        "retry-storm/no-keys",
        "retry-storm",
        &["--set", "gateway.idempotency={ keys = false }"],
    ),
    ex("noisy-neighbor"),
    var(
        "noisy-neighbor/fair",
        "noisy-neighbor",
        &["--set", "gateway.scheduling=weighted_fair"],
    ),
    var(
        "noisy-neighbor/token-limit",
        "noisy-neighbor",
        &[
            "--set",
            "gateway.rate_limits=[{ scope = \"tenant\", unit = \"tokens\", limit = 1500000, per = \"1m\", on_limit = \"delay\" }]",
        ],
    ),
    ex("breaker-soft-failures"),
    var(
        "breaker-soft-failures/no-breaker",
        "breaker-soft-failures",
        &[
            "--set",
            "backends.primary.circuit_breaker.minimum_calls=1000000",
        ],
    ),
    ex("kv-eviction-storm"),
    var(
        "kv-eviction-storm/kv-cap",
        "kv-eviction-storm",
        &["--set", "backends.pool.gpu_pool.kv_admission=1.0"],
    ),
    var(
        "kv-eviction-storm/60h",
        "kv-eviction-storm",
        &["--set", "horizon=60h", "--replications", "1"],
    ),
    ex("self-hosted-vs-api"),
    var(
        "self-hosted-vs-api/api-alone",
        "self-hosted-vs-api",
        &[
            "--set",
            "routes.chat.backend=api",
            "--set",
            "routes.chat.fallbacks=[]",
        ],
    ),
    ex("autoscale-burst"),
    var(
        "autoscale-burst/fixed-8",
        "autoscale-burst",
        &[
            "--set",
            "backends.pool.gpu_pool.replicas=8",
            "--set",
            "backends.pool.gpu_pool.autoscale.min_replicas=8",
        ],
    ),
    var(
        "autoscale-burst/utilisation",
        "autoscale-burst",
        &[
            "--set",
            "backends.pool.gpu_pool.autoscale={ target_utilisation = 0.6, max_replicas = 8 }",
        ],
    ),
    ex("oom-retry-storm"),
    ex("aws-retry-quota"),
    var(
        "aws-retry-quota/no-limit",
        "aws-retry-quota",
        &[
            "--set",
            "gateway.retry.quota.capacity=100000000",
            "--set",
            "gateway.retry.quota.tenants.batch.capacity=100000000",
        ],
    ),
    ex("adaptive-concurrency"),
    var(
        "adaptive-concurrency/gradient2",
        "adaptive-concurrency",
        &[
            "--set",
            "gateway.concurrency_limit={ algorithm = \"gradient2\", initial_limit = 5, min_limit = 1 }",
        ],
    ),
    ex("streaming-failures"),
    var(
        "streaming-failures/resume",
        "streaming-failures",
        &["--set", "backends.api.stream_failures.retry=resume"],
    ),
    ex("rag-latency-spike"),
    ex("pipeline-crash-resume"),
    var(
        "pipeline-crash-resume/restart",
        "pipeline-crash-resume",
        &["--set", "tenants.0.workflow.durable=false"],
    ),
    ex("training-checkpoint"),
    ex("ingestion-backlog"),
    var(
        "ingestion-backlog/backpressure",
        "ingestion-backlog",
        &[
            "--set",
            "work_queues.0.backpressure={ high_water = 20000, low_water = 10000 }",
        ],
    ),
    var(
        "ingestion-backlog/autoscale",
        "ingestion-backlog",
        &[
            "--set",
            "work_queues.0.autoscale={ max_workers = 400, backlog_per_worker = 1000, delay = \"2m\" }",
        ],
    ),
    var(
        "ingestion-backlog/delay",
        "ingestion-backlog",
        &["--set", "work_queues.0.low_priority=delay"],
    ),
    ex("prompt-cost-spike"),
    var(
        "oom-retry-storm/budget",
        "oom-retry-storm",
        &["--set", "gateway.retry.budget={ kind = \"finagle\" }"],
    ),
];

struct Outcome {
    report: Value,
    stderr: String,
}

fn execute(run: &Run) -> Outcome {
    let dir = scratch_dir(&format!("readme-{}", run.id.replace(['/', '%', '.'], "-")));
    let scenario = match run.delete_line {
        None => format!("example:{}", run.example),
        Some(prefix) => {
            let printed = faultline(&["examples", run.example]);
            assert!(
                printed.status.success(),
                "faultline examples {}",
                run.example
            );
            let text = String::from_utf8(printed.stdout).unwrap();
            let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with(prefix)).collect();
            assert_eq!(
                kept.len() + 1,
                text.lines().count(),
                "{}: exactly one line starts with `{prefix}`",
                run.example
            );
            let file = dir.join(format!("{}.toml", run.example));
            std::fs::write(&file, kept.join("\n") + "\n").unwrap();
            file.to_str().unwrap().to_string()
        }
    };
    let out = dir.join("out");
    let mut args = vec!["run", &scenario, "--out", out.to_str().unwrap()];
    args.extend_from_slice(run.args);
    let result = faultline(&args);
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert!(
        result.status.success(),
        "faultline {args:?} failed:\n{stderr}"
    );
    let text = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    Outcome {
        report: serde_json::from_str(&text).expect("report.json is JSON"),
        stderr,
    }
}

/// Runs every configuration once, two at a time (the machines this runs on have two cores, and
/// each run uses every core for its replications).
fn run_all() -> BTreeMap<&'static str, Outcome> {
    let next = AtomicUsize::new(0);
    let done = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(run) = RUNS.get(i) else { break };
                    let outcome = execute(run);
                    done.lock().unwrap().insert(run.id, outcome);
                }
            });
        }
    });
    done.into_inner().unwrap()
}

// ---------------------------------------------------------------------------------------------
// Reading runs.
// ---------------------------------------------------------------------------------------------

struct R {
    runs: BTreeMap<&'static str, Outcome>,
}

impl R {
    fn report(&self, id: &str) -> &Value {
        &self
            .runs
            .get(id)
            .unwrap_or_else(|| panic!("no run `{id}` in RUNS"))
            .report
    }

    fn metric(&self, id: &str, name: &str) -> &Value {
        let m = &self.report(id)["metrics"][name];
        assert!(m.is_object(), "run `{id}` has no metric `{name}`");
        m
    }

    fn field(&self, id: &str, name: &str, field: &str) -> f64 {
        self.metric(id, name)[field]
            .as_f64()
            .unwrap_or_else(|| panic!("run `{id}`: `{name}` has no {field}"))
    }

    fn mean(&self, id: &str, name: &str) -> f64 {
        self.field(id, name, "mean")
    }

    fn ci95(&self, id: &str, name: &str) -> (f64, f64) {
        (
            self.field(id, name, "ci95_low"),
            self.field(id, name, "ci95_high"),
        )
    }

    fn ci99(&self, id: &str, name: &str) -> (f64, f64) {
        (
            self.field(id, name, "ci99_low"),
            self.field(id, name, "ci99_high"),
        )
    }

    fn per(&self, id: &str, name: &str) -> Vec<f64> {
        self.metric(id, name)["per_replication"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN))
            .collect()
    }

    /// Mean over replications of the per-replication ratio `num / den`.
    fn ratio(&self, id: &str, num: &str, den: &str) -> f64 {
        let (n, d) = (self.per(id, num), self.per(id, den));
        n.iter().zip(&d).map(|(a, b)| a / b).sum::<f64>() / n.len() as f64
    }

    fn min_per(&self, id: &str, name: &str) -> f64 {
        self.per(id, name).into_iter().fold(f64::INFINITY, f64::min)
    }

    fn max_per(&self, id: &str, name: &str) -> f64 {
        self.per(id, name)
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// How many replications have `name` equal to `value`.
    fn count_per(&self, id: &str, name: &str, value: f64) -> f64 {
        self.per(id, name).iter().filter(|v| **v == value).count() as f64
    }

    fn replications(&self, id: &str) -> f64 {
        self.report(id)["replications"].as_f64().unwrap()
    }

    /// A field of the canonical scenario the report carries: dotted keys, array elements by
    /// index or by `name`, as `--set` addresses them.
    fn sc(&self, id: &str, path: &str) -> &Value {
        let mut node = &self.report(id)["scenario"];
        for key in path.split('.') {
            node = match node {
                Value::Array(items) => match key.parse::<usize>() {
                    Ok(i) => &items[i],
                    Err(_) => items
                        .iter()
                        .find(|item| item["name"] == key)
                        .unwrap_or_else(|| panic!("run `{id}`: no element `{key}` in {path}")),
                },
                _ => &node[key],
            };
            assert!(!node.is_null(), "run `{id}`: the scenario has no `{path}`");
        }
        node
    }

    fn num(&self, id: &str, path: &str) -> f64 {
        number(self.sc(id, path))
    }

    fn secs(&self, id: &str, path: &str) -> f64 {
        seconds(self.sc(id, path).as_str().expect("a duration"))
    }

    fn rate(&self, id: &str, path: &str) -> f64 {
        per_second(self.sc(id, path).as_str().expect("a rate"))
    }

    fn len(&self, id: &str, path: &str) -> f64 {
        self.sc(id, path).as_array().expect("an array").len() as f64
    }

    /// A time series' bucket width in seconds and its means across replications.
    fn series(&self, id: &str, name: &str) -> (f64, Vec<f64>) {
        let s = &self.report(id)["series"];
        let width = s["bucket_width_ns"].as_f64().unwrap() / 1e9;
        let values = s["values"][name]["mean"]
            .as_array()
            .unwrap_or_else(|| panic!("run `{id}` has no series `{name}`"))
            .iter()
            .map(|v| v.as_f64().unwrap_or(f64::NAN))
            .collect();
        (width, values)
    }

    /// The buckets that start in `[from_s, to_s)`.
    fn window(&self, id: &str, name: &str, from_s: f64, to_s: f64) -> Vec<f64> {
        let (width, values) = self.series(id, name);
        values
            .into_iter()
            .enumerate()
            .filter(|(i, _)| (from_s..to_s).contains(&(*i as f64 * width)))
            .map(|(_, v)| v)
            .collect()
    }

    fn window_mean(&self, id: &str, name: &str, from_s: f64, to_s: f64) -> f64 {
        let w = self.window(id, name, from_s, to_s);
        w.iter().sum::<f64>() / w.len() as f64
    }

    /// The start of the first bucket at or after `from_s` whose mean reaches `level`.
    fn first_reaching(&self, id: &str, name: &str, from_s: f64, level: f64) -> f64 {
        let (width, values) = self.series(id, name);
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 * width, *v))
            .find(|(t, v)| *t >= from_s && *v >= level)
            .map_or(f64::NAN, |(t, _)| t)
    }

    /// "simulated N events" from the run's standard error.
    fn events(&self, id: &str) -> f64 {
        let stderr = &self.runs[id].stderr;
        let rest = stderr
            .split("simulated ")
            .nth(1)
            .unwrap_or_else(|| panic!("run `{id}` printed no event count:\n{stderr}"));
        rest.split_whitespace().next().unwrap().parse().unwrap()
    }
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.trim_end_matches('%').parse().expect("a number"),
        other => panic!("{other} is not a number"),
    }
}

fn seconds(text: &str) -> f64 {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or_else(|| panic!("`{text}` has no unit"));
    let (n, unit) = text.split_at(split);
    let n: f64 = n.parse().unwrap();
    n * match unit {
        "ns" => 1e-9,
        "us" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => panic!("unit `{other}` in `{text}`"),
    }
}

fn per_second(text: &str) -> f64 {
    let (n, per) = text.split_once('/').expect("a rate like 2.0/s");
    let n: f64 = n.parse().unwrap();
    n / seconds(&format!("1{per}"))
}

/// The standard normal's 99th percentile: a lognormal given by median and p99 has
/// sigma = ln(p99 / median) / Z99.
const Z99: f64 = 2.326_347_874_040_841;

fn lognormal_mean(median: f64, p99: f64) -> f64 {
    let sigma = (p99 / median).ln() / Z99;
    median * (sigma * sigma / 2.0).exp()
}

/// P(Z > z) for a standard normal (Abramowitz and Stegun 7.1.26, error below 1.5e-7).
fn normal_tail(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if z >= 0.0 {
        erfc / 2.0
    } else {
        1.0 - erfc / 2.0
    }
}

// ---------------------------------------------------------------------------------------------
// Theory, from the scenario's parameters.
// ---------------------------------------------------------------------------------------------

/// λ, μ and c of a single-tenant, single-backend example.
fn queue(r: &R, id: &str) -> (f64, f64, f64) {
    (
        r.rate(id, "tenants.0.arrivals.rate"),
        1.0 / r.secs(id, "backends.0.service.mean"),
        r.num(id, "backends.0.concurrency"),
    )
}

/// Erlang C: (P(wait), Wq, W, L) of M/M/c.
fn erlang_c(r: &R, id: &str) -> (f64, f64, f64, f64) {
    let (lambda, mu, c) = queue(r, id);
    let a = lambda / mu;
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c as u32 {
        if k > 0 {
            term *= a / k as f64;
        }
        sum += term;
    }
    let top = term * a / c * c / (c - a);
    let p_wait = top / (sum + top);
    let wq = p_wait / (c * mu - lambda);
    let w = wq + 1.0 / mu;
    (p_wait, wq, w, lambda * w)
}

fn erlang_b(r: &R, id: &str) -> f64 {
    let (lambda, mu, c) = queue(r, id);
    let a = lambda / mu;
    (1..=c as u32).fold(1.0, |b, k| a * b / (k as f64 + a * b))
}

/// Retry amplification: p per attempt, n attempts.
fn amplification(r: &R) -> (f64, f64, f64) {
    let p = r.num("retry-amplification", "backends.0.failure_probability");
    let n = r.num("retry-amplification", "gateway.retry.max_attempts");
    (p, 1.0 - p.powf(n), (1.0 - p.powf(n)) / (1.0 - p))
}

/// Bernoulli feedback: (ρ, T).
fn feedback(r: &R) -> (f64, f64) {
    let (lambda, mu, _) = queue(r, "retry-feedback");
    let p = r.num("retry-feedback", "backends.0.failure_probability");
    (lambda / (mu * (1.0 - p)), 1.0 / (mu * (1.0 - p) - lambda))
}

/// provider-outage: (hours up, hours down, hours in the day, 1 − objective).
fn outage_day(r: &R, id: &str) -> (f64, f64, f64, f64) {
    let day = r.secs(id, "horizon") / 3600.0;
    let down = r.secs(id, "backends.llm-api.outages.0.duration") / 3600.0;
    let allowed = 1.0 - r.num(id, "slos.availability.objective") / 100.0;
    (day - down, down, day, allowed)
}

/// agent-chain: (π_normal, π_degraded, p, multiplier) of a run.
fn chain(r: &R, id: &str) -> (f64, f64, f64, f64) {
    let normal = r.secs(id, "backends.model.degradation.normal_sojourn");
    let degraded = r.secs(id, "backends.model.degradation.degraded_sojourn");
    let p = r.num(id, "routes.llm.soft_failures.hallucination");
    let m = r.num(id, "backends.model.degradation.multiplier");
    let pi_n = normal / (normal + degraded);
    (pi_n, 1.0 - pi_n, p, m)
}

fn chain_correctness(r: &R, id: &str) -> f64 {
    let (pi_n, pi_d, p, m) = chain(r, id);
    pi_n * (1.0 - p).powi(3) + pi_d * (1.0 - p * m).powi(3)
}

/// Sample standard deviation.
fn sd(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

/// The sum of a route's soft-failure rates.
fn soft_rate(r: &R, id: &str, route: &str) -> f64 {
    let rates = r.sc(id, &format!("routes.{route}.soft_failures"));
    rates.as_object().unwrap().values().map(number).sum()
}

/// A correctness SLO's burn rate before a model update and after it.
fn burn_rates(r: &R, id: &str) -> (f64, f64) {
    let allowed = 1.0 - r.num(id, "slos.correctness.objective") / 100.0;
    let before = soft_rate(r, id, "answers") / allowed;
    (
        before,
        before * r.num(id, "backends.model.model_updates.0.multiplier"),
    )
}

/// A workbook rule (threshold b over a long and a short window, each averaged over at most the
/// time elapsed) fires at the first evaluation at which both windows' mean burn rates reach b.
/// A step of the burn rate from b0 to b1 at time T: the lower of the two window means at t
/// seconds after the step. Given the mean time the rule fired, the threshold lies in
/// (lower(t − interval), lower(t)].
fn threshold_bracket(r: &R, id: &str, rule: &str, long_s: f64, short_s: f64) -> (f64, f64) {
    let (b0, b1) = burn_rates(r, id);
    let step = r.secs(id, "backends.model.model_updates.0.at");
    let interval = r.secs(id, "slos.correctness.alerting.interval");
    let lower = |t: f64| {
        [long_s, short_s]
            .iter()
            .map(|w| {
                let span = w.min(step + t);
                (b0 * (span - t) + b1 * t) / span
            })
            .fold(f64::INFINITY, f64::min)
    };
    let t = r.mean(id, &format!("slo.correctness.detection_time_s.{rule}"));
    (lower(t - interval), lower(t))
}

/// azure-code-replay's trace: (requests, prompt tokens, output tokens, prompt tokens per minute
/// over the span of its timestamps).
fn trace() -> (f64, f64, f64, f64) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/traces/AzureLLMInferenceTrace_code.csv"
    );
    let text = std::fs::read_to_string(path).expect("the vendored Azure trace");
    let (mut n, mut prompt, mut output) = (0.0, 0.0, 0.0);
    let (mut first, mut last) = (None, 0.0);
    for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
        let cols: Vec<&str> = line.split(',').collect();
        // "2023-11-16 18:17:03.9799600": every row is on one day.
        let time = cols[0].split(' ').nth(1).unwrap();
        let hms: Vec<f64> = time.split(':').map(|x| x.parse().unwrap()).collect();
        let t = hms[0] * 3600.0 + hms[1] * 60.0 + hms[2];
        first.get_or_insert(t);
        last = t;
        n += 1.0;
        prompt += cols[1].parse::<f64>().unwrap();
        output += cols[2].parse::<f64>().unwrap();
    }
    (n, prompt, output, prompt / ((last - first.unwrap()) / 60.0))
}

/// kv-eviction-storm's KV blocks per replica, as the scenario crate builds the pool.
fn kv_blocks() -> f64 {
    let source = scenarios::Source::example("kv-eviction-storm").unwrap();
    let loaded = scenarios::load(&source, &[]).unwrap();
    let pool = loaded.world.backends[0].pool.as_ref().expect("a GPU pool");
    pool.replica.kv_blocks as f64
}

// ---------------------------------------------------------------------------------------------
// Claims.
// ---------------------------------------------------------------------------------------------

enum Check {
    /// To the precision the figure is printed with.
    Printed,
    /// |value − expected| ≤ tolerance.
    About(f64, f64),
    /// low ≤ value < high.
    Within(f64, f64),
    /// The printed figure lies in the interval (low, high] a run implies.
    Brackets(fn(&R) -> (f64, f64)),
}

struct Claim {
    /// README text that states the figure; occurs exactly once in its section.
    text: &'static str,
    /// The figure as printed in `text` (a number, or a word like "once"); "#2" after it picks
    /// its second occurrence in `text`.
    figure: &'static str,
    check: Check,
    value: fn(&R) -> f64,
}

fn printed(text: &'static str, figure: &'static str, value: fn(&R) -> f64) -> Claim {
    Claim {
        text,
        figure,
        check: Check::Printed,
        value,
    }
}

fn about(
    text: &'static str,
    figure: &'static str,
    expected: f64,
    tolerance: f64,
    value: fn(&R) -> f64,
) -> Claim {
    Claim {
        text,
        figure,
        check: Check::About(expected, tolerance),
        value,
    }
}

fn within(
    text: &'static str,
    figure: &'static str,
    low: f64,
    high: f64,
    value: fn(&R) -> f64,
) -> Claim {
    Claim {
        text,
        figure,
        check: Check::Within(low, high),
        value,
    }
}

fn brackets(text: &'static str, figure: &'static str, interval: fn(&R) -> (f64, f64)) -> Claim {
    Claim {
        text,
        figure,
        check: Check::Brackets(interval),
        value: |_| f64::NAN,
    }
}

/// A theory value that must fall inside a run's 99% confidence interval.
struct Contains {
    text: &'static str,
    theory: fn(&R) -> f64,
    ci99: fn(&R) -> (f64, f64),
}

fn contains(text: &'static str, theory: fn(&R) -> f64, ci99: fn(&R) -> (f64, f64)) -> Contains {
    Contains { text, theory, ci99 }
}

/// The window retry-storm's "goodput over 300–600 s" and "over the last 5 minutes" average.
const LATE_FROM_S: f64 = 300.0;
/// The goodput retry-storm's "back to 36/s" waits for.
const BACK_AT: f64 = 36.0;

#[rustfmt::skip]
fn example_claims() -> Vec<Claim> {
    vec![
        // quickstart
        about("two tenants share an LLM API", "two", 2.0, 0.0, |r| r.len("quickstart", "tenants")),
        printed("3% failures", "3", |r| 100.0 * r.num("quickstart", "backends.llm-api.failure_probability")),
        printed("10 s timeouts", "10", |r| r.secs("quickstart", "gateway.attempt_timeout")),
        printed("3 attempts with full jitter", "3", |r| r.num("quickstart", "gateway.retry.max_attempts")),
        printed("lift success from 96.5%", "96.5", |r| 100.0 * r.mean("quickstart/no-retries", "success_ratio")),
        printed("to 99.996%, for", "99.996", |r| 100.0 * r.mean("quickstart", "success_ratio")),
        printed("for 3.6% extra attempts", "3.6", |r| 100.0 * (r.mean("quickstart", "attempts_per_request") - 1.0)),
        printed("success 0.99996 [0.99992, 1.0]", "0.99996", |r| r.mean("quickstart", "success_ratio")),
        printed("success 0.99996 [0.99992, 1.0]", "0.99992", |r| r.ci99("quickstart", "success_ratio").0),
        printed("success 0.99996 [0.99992, 1.0]", "1.0", |r| r.ci99("quickstart", "success_ratio").1),
        printed("attempts 1.0360 [1.0347, 1.0374]", "1.0360", |r| r.mean("quickstart", "attempts_per_request")),
        printed("attempts 1.0360 [1.0347, 1.0374]", "1.0347", |r| r.ci99("quickstart", "attempts_per_request").0),
        printed("attempts 1.0360 [1.0347, 1.0374]", "1.0374", |r| r.ci99("quickstart", "attempts_per_request").1),
        // mm1
        printed("M/M/1, λ = 0.8, μ = 1 (V1)", "1", |r| queue(r, "mm1").2),
        printed("M/M/1, λ = 0.8, μ = 1 (V1)", "0.8", |r| queue(r, "mm1").0),
        printed("M/M/1, λ = 0.8, μ = 1 (V1)", "1#2", |r| queue(r, "mm1").1),
        printed("W = 5, Wq = 4, L = 4", "5", |r| { let (l, m, _) = queue(r, "mm1"); 1.0 / (m - l) }),
        printed("W = 5, Wq = 4, L = 4", "4", |r| { let (l, m, _) = queue(r, "mm1"); l / m / (m - l) }),
        printed("W = 5, Wq = 4, L = 4", "4#2", |r| { let (l, m, _) = queue(r, "mm1"); l / (m - l) }),
        printed("W 5.0224 [4.8928, 5.1521]", "5.0224", |r| r.mean("mm1", "time_in_system_mean_s")),
        printed("W 5.0224 [4.8928, 5.1521]", "4.8928", |r| r.ci99("mm1", "time_in_system_mean_s").0),
        printed("W 5.0224 [4.8928, 5.1521]", "5.1521", |r| r.ci99("mm1", "time_in_system_mean_s").1),
        printed("Wq 4.0221 [3.8949, 4.1493]", "4.0221", |r| r.mean("mm1", "queue_wait_mean_s")),
        printed("Wq 4.0221 [3.8949, 4.1493]", "3.8949", |r| r.ci99("mm1", "queue_wait_mean_s").0),
        printed("Wq 4.0221 [3.8949, 4.1493]", "4.1493", |r| r.ci99("mm1", "queue_wait_mean_s").1),
        printed("L 4.0204 [3.9153, 4.1254]", "4.0204", |r| r.mean("mm1", "number_in_system_mean")),
        printed("L 4.0204 [3.9153, 4.1254]", "3.9153", |r| r.ci99("mm1", "number_in_system_mean").0),
        printed("L 4.0204 [3.9153, 4.1254]", "4.1254", |r| r.ci99("mm1", "number_in_system_mean").1),
        // mmc
        printed("M/M/4, ρ = 0.8", "4", |r| queue(r, "mmc").2),
        printed("M/M/4, ρ = 0.8", "0.8", |r| { let (l, m, c) = queue(r, "mmc"); l / (c * m) }),
        printed("P(wait) = 0.596432", "0.596432", |r| erlang_c(r, "mmc").0),
        printed("Wq = 0.745541", "0.745541", |r| erlang_c(r, "mmc").1),
        printed("W = 1.745541", "1.745541", |r| erlang_c(r, "mmc").2),
        printed("L = 5.585730", "5.585730", |r| erlang_c(r, "mmc").3),
        printed("P(wait) 0.59832 [0.59519, 0.60146]", "0.59832", |r| r.mean("mmc", "queue_wait_probability")),
        printed("P(wait) 0.59832 [0.59519, 0.60146]", "0.59519", |r| r.ci99("mmc", "queue_wait_probability").0),
        printed("P(wait) 0.59832 [0.59519, 0.60146]", "0.60146", |r| r.ci99("mmc", "queue_wait_probability").1),
        printed("Wq 0.75567 [0.7362, 0.77515]", "0.75567", |r| r.mean("mmc", "queue_wait_mean_s")),
        printed("Wq 0.75567 [0.7362, 0.77515]", "0.7362", |r| r.ci99("mmc", "queue_wait_mean_s").0),
        printed("Wq 0.75567 [0.7362, 0.77515]", "0.77515", |r| r.ci99("mmc", "queue_wait_mean_s").1),
        printed("W 1.7563 [1.7353, 1.7774]", "1.7563", |r| r.mean("mmc", "time_in_system_mean_s")),
        printed("W 1.7563 [1.7353, 1.7774]", "1.7353", |r| r.ci99("mmc", "time_in_system_mean_s").0),
        printed("W 1.7563 [1.7353, 1.7774]", "1.7774", |r| r.ci99("mmc", "time_in_system_mean_s").1),
        printed("L 5.6238 [5.5563, 5.6914]", "5.6238", |r| r.mean("mmc", "number_in_system_mean")),
        printed("L 5.6238 [5.5563, 5.6914]", "5.5563", |r| r.ci99("mmc", "number_in_system_mean").0),
        printed("L 5.6238 [5.5563, 5.6914]", "5.6914", |r| r.ci99("mmc", "number_in_system_mean").1),
        // erlang-b
        printed("10 servers, no queue, 7 Erlang", "10", |r| queue(r, "erlang-b").2),
        about("10 servers, no queue, 7 Erlang", "no", 0.0, 0.0, |r| r.num("erlang-b", "gateway.queue_capacity")),
        printed("10 servers, no queue, 7 Erlang", "7", |r| { let (l, m, _) = queue(r, "erlang-b"); l / m }),
        printed("P(block) = 0.078741", "0.078741", |r| erlang_b(r, "erlang-b")),
        printed("0.078987 [0.078311, 0.079662]", "0.078987", |r| r.mean("erlang-b", "block_probability")),
        printed("0.078987 [0.078311, 0.079662]", "0.078311", |r| r.ci99("erlang-b", "block_probability").0),
        printed("0.078987 [0.078311, 0.079662]", "0.079662", |r| r.ci99("erlang-b", "block_probability").1),
        // retry-feedback
        printed("failed services (p = 0.2)", "0.2", |r| r.num("retry-feedback", "backends.0.failure_probability")),
        printed("ρ = 0.625, T = 3.3333", "0.625", |r| feedback(r).0),
        printed("ρ = 0.625, T = 3.3333", "3.3333", |r| feedback(r).1),
        printed("ρ 0.62634 [0.62398, 0.6287]", "0.62634", |r| r.mean("retry-feedback", "backend.server.utilisation")),
        printed("ρ 0.62634 [0.62398, 0.6287]", "0.62398", |r| r.ci99("retry-feedback", "backend.server.utilisation").0),
        printed("ρ 0.62634 [0.62398, 0.6287]", "0.6287", |r| r.ci99("retry-feedback", "backend.server.utilisation").1),
        printed("T 3.3649 [3.3281, 3.4016]", "3.3649", |r| r.mean("retry-feedback", "time_in_system_mean_s")),
        printed("T 3.3649 [3.3281, 3.4016]", "3.3281", |r| r.ci99("retry-feedback", "time_in_system_mean_s").0),
        printed("T 3.3649 [3.3281, 3.4016]", "3.4016", |r| r.ci99("retry-feedback", "time_in_system_mean_s").1),
        // retry-amplification
        printed("p = 0.5, four attempts", "0.5", |r| amplification(r).0),
        about("p = 0.5, four attempts", "four", 4.0, 0.0, |r| r.num("retry-amplification", "gateway.retry.max_attempts")),
        about("infinite servers (V6)", "infinite", 1.0, 0.0, |r| f64::from(r.sc("retry-amplification", "backends.0.concurrency") == "unlimited")),
        printed("success 0.9375, attempts 1.875", "0.9375", |r| amplification(r).1),
        printed("success 0.9375, attempts 1.875", "1.875", |r| amplification(r).2),
        printed("0.93745 [0.93697, 0.93794]", "0.93745", |r| r.mean("retry-amplification", "success_ratio")),
        printed("0.93745 [0.93697, 0.93794]", "0.93697", |r| r.ci99("retry-amplification", "success_ratio").0),
        printed("0.93745 [0.93697, 0.93794]", "0.93794", |r| r.ci99("retry-amplification", "success_ratio").1),
        printed("1.8752 [1.873, 1.8775]", "1.8752", |r| r.mean("retry-amplification", "attempts_per_request")),
        printed("1.8752 [1.873, 1.8775]", "1.873", |r| r.ci99("retry-amplification", "attempts_per_request").0),
        printed("1.8752 [1.873, 1.8775]", "1.8775", |r| r.ci99("retry-amplification", "attempts_per_request").1),
        // provider-outage
        about("503s from 10:00 to 14:00 of a 24 h day", "10:00", 10.0, 0.0, |r| r.secs("provider-outage", "backends.llm-api.outages.0.start") / 3600.0),
        about("503s from 10:00 to 14:00 of a 24 h day", "14:00", 14.0, 0.0, |r| (r.secs("provider-outage", "backends.llm-api.outages.0.start") + r.secs("provider-outage", "backends.llm-api.outages.0.duration")) / 3600.0),
        printed("503s from 10:00 to 14:00 of a 24 h day", "24", |r| outage_day(r, "provider-outage").2),
        printed("99.5% availability SLO over the day", "99.5", |r| r.num("provider-outage", "slos.availability.objective")),
        about("99.5% availability SLO over the day", "day", 86400.0, 0.0, |r| r.secs("provider-outage", "slos.availability.time_window.duration")),
        printed("33.4× the day's error budget burned", "33.4", |r| r.mean("provider-outage", "slo.availability.budget_consumed")),
        printed("gone 438 s into the outage", "438", |r| r.mean("provider-outage", "slo.availability.time_to_exhaustion_s") - r.secs("provider-outage", "backends.llm-api.outages.0.start")),
        about("the 1h/5m page fires first, 288 s after it starts on average", "first", 0.0, 0.0, |r| r.mean("provider-outage", "slo.availability.detection_time_s.page-1h-5m") - r.mean("provider-outage", "slo.availability.detection_time_s")),
        printed("the 6h/30m page after 678 s", "678", |r| r.mean("provider-outage", "slo.availability.detection_time_s.page-6h-30m")),
        about("the 3d/6h ticket is not armed in a 24 h run", "not armed", 0.0, 0.0, |r| r.max_per("provider-outage", "slo.availability.armed.ticket-3d-6h")),
        printed("the 3d/6h ticket is not armed in a 24 h run", "24", |r| r.secs("provider-outage", "horizon") / 3600.0),
        printed("the 1h/5m page fires first, 288 s after it starts on average", "288", |r| r.mean("provider-outage", "slo.availability.detection_time_s.page-1h-5m")),
        printed("(precision 1, recall 1)", "1", |r| r.mean("provider-outage", "slo.availability.alert_precision")),
        printed("(precision 1, recall 1)", "1#2", |r| r.mean("provider-outage", "slo.availability.alert_recall")),
        printed("availability 20/24 = 0.83333", "20", |r| outage_day(r, "provider-outage").0),
        printed("availability 20/24 = 0.83333", "24", |r| outage_day(r, "provider-outage").2),
        printed("availability 20/24 = 0.83333", "0.83333", |r| { let (up, _, day, _) = outage_day(r, "provider-outage"); up / day }),
        printed("budget (4/24)/0.005 = 33.3", "4", |r| outage_day(r, "provider-outage").1),
        printed("budget (4/24)/0.005 = 33.3", "24", |r| outage_day(r, "provider-outage").2),
        printed("budget (4/24)/0.005 = 33.3", "0.005", |r| outage_day(r, "provider-outage").3),
        printed("budget (4/24)/0.005 = 33.3", "33.3", |r| { let (_, down, day, allowed) = outage_day(r, "provider-outage"); down / day / allowed }),
        printed("SLI 0.83283 [0.83144, 0.83422]", "0.83283", |r| r.mean("provider-outage", "slo.availability.sli")),
        printed("SLI 0.83283 [0.83144, 0.83422]", "0.83144", |r| r.ci99("provider-outage", "slo.availability.sli").0),
        printed("SLI 0.83283 [0.83144, 0.83422]", "0.83422", |r| r.ci99("provider-outage", "slo.availability.sli").1),
        printed("budget consumed 33.43 [33.16, 33.71]", "33.43", |r| r.mean("provider-outage", "slo.availability.budget_consumed")),
        printed("budget consumed 33.43 [33.16, 33.71]", "33.16", |r| r.ci99("provider-outage", "slo.availability.budget_consumed").0),
        printed("budget consumed 33.43 [33.16, 33.71]", "33.71", |r| r.ci99("provider-outage", "slo.availability.budget_consumed").1),
        printed("first detection (the page) 288 [270, 306] s (95%)", "288", |r| r.mean("provider-outage", "slo.availability.detection_time_s")),
        printed("first detection (the page) 288 [270, 306] s (95%)", "270", |r| r.ci95("provider-outage", "slo.availability.detection_time_s").0),
        printed("first detection (the page) 288 [270, 306] s (95%)", "306", |r| r.ci95("provider-outage", "slo.availability.detection_time_s").1),
        // agent-chain
        about("three chained calls on one model", "three", 3.0, 0.0, |r| r.len("agent-chain", "tenants.0.steps")),
        printed("(normal 45 min, degraded 15 min, ×10: 2% → 20%)", "45", |r| r.secs("agent-chain", "backends.model.degradation.normal_sojourn") / 60.0),
        printed("(normal 45 min, degraded 15 min, ×10: 2% → 20%)", "15", |r| r.secs("agent-chain", "backends.model.degradation.degraded_sojourn") / 60.0),
        printed("(normal 45 min, degraded 15 min, ×10: 2% → 20%)", "10", |r| chain(r, "agent-chain").3),
        printed("(normal 45 min, degraded 15 min, ×10: 2% → 20%)", "2", |r| 100.0 * chain(r, "agent-chain").2),
        printed("(normal 45 min, degraded 15 min, ×10: 2% → 20%)", "20", |r| { let (_, _, p, m) = chain(r, "agent-chain"); 100.0 * p * m }),
        printed("independent failures at the same 6.5%", "6.5", |r| { let (pi_n, pi_d, p, m) = chain(r, "agent-chain"); 100.0 * (pi_n * p + pi_d * p * m) }),
        printed("independent failures at the same 6.5%", "6.5", |r| 100.0 * chain(r, "agent-chain/independent-6.5%").2),
        printed(": 0.8176 [0.8164, 0.8188])", "0.8176", |r| r.mean("agent-chain/independent-6.5%", "correctness")),
        printed(": 0.8176 [0.8164, 0.8188])", "0.8164", |r| r.ci99("agent-chain/independent-6.5%", "correctness").0),
        printed(": 0.8176 [0.8164, 0.8188])", "0.8188", |r| r.ci99("agent-chain/independent-6.5%", "correctness").1),
        printed("the 99% CI is 16× wider", "16", |r| {
            let width = |id| { let (lo, hi) = r.ci99(id, "correctness"); hi - lo };
            width("agent-chain") / width("agent-chain/independent-6.5%")
        }),
        printed("vary 11× more (sd 1,566 vs 144)", "11", |r| sd(&r.per("agent-chain", "wrong_accepted")) / sd(&r.per("agent-chain/independent-6.5%", "wrong_accepted"))),
        printed("vary 11× more (sd 1,566 vs 144)", "1,566", |r| sd(&r.per("agent-chain", "wrong_accepted"))),
        printed("vary 11× more (sd 1,566 vs 144)", "144", |r| sd(&r.per("agent-chain/independent-6.5%", "wrong_accepted"))),
        printed("27% of 5-minute slices fall below 75% correct (0.2% independent)", "27", |r| 100.0 * (1.0 - r.mean("agent-chain", "slo.chain-correctness.sli"))),
        printed("27% of 5-minute slices fall below 75% correct (0.2% independent)", "5", |r| r.secs("agent-chain", "slos.chain-correctness.time_slice_window") / 60.0),
        printed("27% of 5-minute slices fall below 75% correct (0.2% independent)", "75", |r| r.num("agent-chain", "slos.chain-correctness.time_slice_target")),
        printed("27% of 5-minute slices fall below 75% correct (0.2% independent)", "0.2", |r| 100.0 * (1.0 - r.mean("agent-chain/independent-6.5%", "slo.chain-correctness.sli"))),
        printed("alone: independent 2%, 0.941", "2", |r| { let (_, _, p, m) = chain(r, "agent-chain/independent-2%"); 100.0 * p * m }),
        printed("alone: independent 2%, 0.941", "0.941", |r| r.mean("agent-chain/independent-2%", "correctness")),
        printed("= 0.75·0.98³ + 0.25·0.8³ = 0.833894", "0.75", |r| chain(r, "agent-chain").0),
        printed("= 0.75·0.98³ + 0.25·0.8³ = 0.833894", "0.98", |r| 1.0 - chain(r, "agent-chain").2),
        printed("= 0.75·0.98³ + 0.25·0.8³ = 0.833894", "0.25", |r| chain(r, "agent-chain").1),
        printed("= 0.75·0.98³ + 0.25·0.8³ = 0.833894", "0.8", |r| { let (_, _, p, m) = chain(r, "agent-chain"); 1.0 - p * m }),
        printed("= 0.75·0.98³ + 0.25·0.8³ = 0.833894", "0.833894", |r| chain_correctness(r, "agent-chain")),
        printed("independent 0.935³ = 0.817400", "0.935", |r| 1.0 - chain(r, "agent-chain/independent-6.5%").2),
        printed("independent 0.935³ = 0.817400", "0.817400", |r| chain_correctness(r, "agent-chain/independent-6.5%")),
        printed("correctness 0.82766 [0.80838, 0.84694]", "0.82766", |r| r.mean("agent-chain", "correctness")),
        printed("correctness 0.82766 [0.80838, 0.84694]", "0.80838", |r| r.ci99("agent-chain", "correctness").0),
        printed("correctness 0.82766 [0.80838, 0.84694]", "0.84694", |r| r.ci99("agent-chain", "correctness").1),
        // azure-code-replay
        printed("against a 400,000 input-tokens-per-minute limit", "400,000", |r| r.num("azure-code-replay", "backends.provider.rate_limits.input_tokens_per_minute")),
        printed("4 attempts honouring Retry-After", "4", |r| r.num("azure-code-replay", "gateway.retry.max_attempts")),
        printed("the limit is 27% above the trace's mean rate", "27", |r| 100.0 * (r.num("azure-code-replay", "backends.provider.rate_limits.input_tokens_per_minute") / trace().3 - 1.0)),
        printed("throttle 1,091 requests (12.4%) without retries", "1,091", |r| r.mean("azure-code-replay/no-retries", "throttled")),
        printed("throttle 1,091 requests (12.4%) without retries", "12.4", |r| 100.0 * r.ratio("azure-code-replay/no-retries", "throttled", "arrivals")),
        printed("retries lift success only to 89.2%", "89.2", |r| 100.0 * r.mean("azure-code-replay", "success_ratio")),
        printed("sending 4,736 requests into 429s", "4,736", |r| r.mean("azure-code-replay", "errors.rate_limited")),
        about("serves all, $9.40", "all", 1.0, 0.0, |r| r.mean("azure-code-replay/no-limit", "success_ratio")),
        printed("serves all, $9.40", "9.40", |r| r.mean("azure-code-replay/no-limit", "cost_usd")),
        printed("8,819 jobs; 18,059,974 prompt and 245,896 output tokens", "8,819", |_| trace().0),
        printed("8,819 jobs; 18,059,974 prompt and 245,896 output tokens", "18,059,974", |_| trace().1),
        printed("8,819 jobs; 18,059,974 prompt and 245,896 output tokens", "245,896", |_| trace().2),
        // "exactly those": the run without the limit bills every token of the file.
        printed("8,819 jobs; 18,059,974 prompt and 245,896 output tokens", "8,819", |r| r.mean("azure-code-replay/no-limit", "arrivals")),
        printed("8,819 jobs; 18,059,974 prompt and 245,896 output tokens", "18,059,974", |r| r.mean("azure-code-replay/no-limit", "input_tokens_billed")),
        printed("8,819 jobs; 18,059,974 prompt and 245,896 output tokens", "245,896", |r| r.mean("azure-code-replay/no-limit", "output_tokens_billed")),
        printed("success 0.89224 [0.89125, 0.89323]", "0.89224", |r| r.mean("azure-code-replay", "success_ratio")),
        printed("success 0.89224 [0.89125, 0.89323]", "0.89125", |r| r.ci99("azure-code-replay", "success_ratio").0),
        printed("success 0.89224 [0.89125, 0.89323]", "0.89323", |r| r.ci99("azure-code-replay", "success_ratio").1),
        // silent-model-update
        printed("soft-failure rates ×5 at 12 h of 36 h (1% → 5% silently bad)", "5", |r| r.num("silent-model-update", "backends.model.model_updates.0.multiplier")),
        printed("soft-failure rates ×5 at 12 h of 36 h (1% → 5% silently bad)", "12", |r| r.secs("silent-model-update", "backends.model.model_updates.0.at") / 3600.0),
        printed("soft-failure rates ×5 at 12 h of 36 h (1% → 5% silently bad)", "36", |r| r.secs("silent-model-update", "horizon") / 3600.0),
        printed("soft-failure rates ×5 at 12 h of 36 h (1% → 5% silently bad)", "1", |r| 100.0 * soft_rate(r, "silent-model-update", "answers")),
        printed("soft-failure rates ×5 at 12 h of 36 h (1% → 5% silently bad)", "5#2", |r| 100.0 * soft_rate(r, "silent-model-update", "answers") * r.num("silent-model-update", "backends.model.model_updates.0.multiplier")),
        printed("correctness SLO 98% with the workbook preset", "98", |r| r.num("silent-model-update", "slos.correctness.objective")),
        printed("(1.5× over 2h/30m, for 10m)", "1.5", |r| r.num("silent-model-update", "slos.correctness.alerting.rules.quality-drift.burn_rate")),
        printed("(1.5× over 2h/30m, for 10m)", "2", |r| r.secs("silent-model-update", "slos.correctness.alerting.rules.quality-drift.long_window") / 3600.0),
        printed("(1.5× over 2h/30m, for 10m)", "30", |r| r.secs("silent-model-update", "slos.correctness.alerting.rules.quality-drift.short_window") / 60.0),
        printed("(1.5× over 2h/30m, for 10m)", "10", |r| r.secs("silent-model-update", "slos.correctness.alerting.rules.quality-drift.for") / 60.0),
        printed("burn rate 0.5 → 2.5 is invisible to the workbook's pages", "0.5", |r| burn_rates(r, "silent-model-update").0),
        printed("burn rate 0.5 → 2.5 is invisible to the workbook's pages", "2.5", |r| burn_rates(r, "silent-model-update").1),
        about("burn rate 0.5 → 2.5 is invisible to the workbook's pages", "invisible", 0.0, 0.0, |r| r.mean("silent-model-update", "slo.correctness.alerts.page-1h-5m") + r.mean("silent-model-update", "slo.correctness.alerts.page-6h-30m")),
        about("its ticket is not armed in 36 h", "not armed", 0.0, 0.0, |r| r.max_per("silent-model-update", "slo.correctness.armed.ticket-3d-6h")),
        printed("its ticket is not armed in 36 h", "36", |r| r.secs("silent-model-update", "horizon") / 3600.0),
        about("fires once per replication, 69 min after on average", "once", 1.0, 0.0, |r| r.count_per("silent-model-update", "slo.correctness.alerts.quality-drift", 1.0) / r.replications("silent-model-update")),
        printed("fires once per replication, 69 min after on average", "69", |r| r.mean("silent-model-update", "slo.correctness.detection_time_s.quality-drift") / 60.0),
        printed("`slo.correctness.detection_time_s.quality-drift` 4,128 s", "4,128", |r| r.mean("silent-model-update", "slo.correctness.detection_time_s.quality-drift")),
        printed("correctness 0.99/3 + 0.95·2/3 = 0.963333", "0.99", |r| 1.0 - soft_rate(r, "silent-model-update", "answers")),
        printed("correctness 0.99/3 + 0.95·2/3 = 0.963333", "3", |r| r.secs("silent-model-update", "horizon") / r.secs("silent-model-update", "backends.model.model_updates.0.at")),
        printed("correctness 0.99/3 + 0.95·2/3 = 0.963333", "0.95", |r| 1.0 - soft_rate(r, "silent-model-update", "answers") * r.num("silent-model-update", "backends.model.model_updates.0.multiplier")),
        printed("correctness 0.99/3 + 0.95·2/3 = 0.963333", "2", |r| (r.secs("silent-model-update", "horizon") - r.secs("silent-model-update", "backends.model.model_updates.0.at")) / r.secs("silent-model-update", "backends.model.model_updates.0.at")),
        printed("correctness 0.99/3 + 0.95·2/3 = 0.963333", "3#2", |r| r.secs("silent-model-update", "horizon") / r.secs("silent-model-update", "backends.model.model_updates.0.at")),
        printed("correctness 0.99/3 + 0.95·2/3 = 0.963333", "0.963333", smu_theory),
        printed("| 0.96356 [0.96300, 0.96412] |", "0.96356", |r| r.mean("silent-model-update", "correctness")),
        printed("| 0.96356 [0.96300, 0.96412] |", "0.96300", |r| r.ci99("silent-model-update", "correctness").0),
        printed("| 0.96356 [0.96300, 0.96412] |", "0.96412", |r| r.ci99("silent-model-update", "correctness").1),
        // token-runaway
        printed("plus 1,500 tokens per turn", "1,500", |r| r.num("token-runaway", "tenants.0.agent_loop.prompt_growth")),
        printed("(median 6, p99 120)", "6", |r| r.num("token-runaway", "tenants.0.agent_loop.turns.median")),
        printed("(median 6, p99 120)", "120", |r| r.num("token-runaway", "tenants.0.agent_loop.turns.p99")),
        printed("only the 128k context window stops it", "128", |r| r.num("token-runaway", "backends.model.context_window") / 1000.0),
        printed("$10,083 per 12 h", "10,083", |r| r.mean("token-runaway", "cost_usd")),
        printed("$10,083 per 12 h", "12", |r| r.secs("token-runaway", "horizon") / 3600.0),
        printed("$1.21 per successful task", "1.21", |r| r.mean("token-runaway", "cost_per_success_usd")),
        printed("372,717 tokens per job", "372,717", |r| r.mean("token-runaway", "tokens_per_job_mean")),
        printed("3% of jobs overflow the context", "3", |r| 100.0 * r.ratio("token-runaway", "context_overflows", "completions")),
        printed(": $3,548 (−65%), 17% of tasks stopped", "3,548", |r| r.mean("token-runaway/turn-cap", "cost_usd")),
        printed(": $3,548 (−65%), 17% of tasks stopped", "65", |r| 100.0 * (1.0 - r.mean("token-runaway/turn-cap", "cost_usd") / r.mean("token-runaway", "cost_usd"))),
        printed(": $3,548 (−65%), 17% of tasks stopped", "17", |r| 100.0 * r.ratio("token-runaway/turn-cap", "turn_cap_stops", "completions")),
        printed(": $2,290 (−77%), 26% stopped", "2,290", |r| r.mean("token-runaway/token-cap", "cost_usd")),
        printed(": $2,290 (−77%), 26% stopped", "77", |r| 100.0 * (1.0 - r.mean("token-runaway/token-cap", "cost_usd") / r.mean("token-runaway", "cost_usd"))),
        printed(": $2,290 (−77%), 26% stopped", "26", |r| 100.0 * r.ratio("token-runaway/token-cap", "token_cap_stops", "completions")),
        printed("P(turns > 20) = 0.170", "20", |r| r.num("token-runaway/turn-cap", "tenants.0.agent_loop.turn_cap")),
        printed("P(turns > 20) = 0.170", "0.170", turns_over_cap),
        printed("turn-cap stops 16.96% of jobs", "16.96", |r| 100.0 * r.ratio("token-runaway/turn-cap", "turn_cap_stops", "completions")),
        // fallback-chain
        printed("(50,000 Zipf prompts, 10,000 entries, 1 h TTL, stale entries kept)", "50,000", |r| r.num("fallback-chain", "routes.chat.cache.catalogue_size")),
        printed("(50,000 Zipf prompts, 10,000 entries, 1 h TTL, stale entries kept)", "10,000", |r| r.num("fallback-chain", "routes.chat.cache.capacity")),
        printed("(50,000 Zipf prompts, 10,000 entries, 1 h TTL, stale entries kept)", "1", |r| r.secs("fallback-chain", "routes.chat.cache.ttl") / 3600.0),
        printed("the SLO holds through the 4-hour outage", "4", |r| r.secs("fallback-chain", "backends.llm-api.outages.0.duration") / 3600.0),
        printed("the cache answers 55% of calls", "55", |r| 100.0 * r.mean("fallback-chain", "route.chat.cache_hit_ratio")),
        printed("availability over the day 0.99983 instead of 0.83283", "0.99983", |r| r.mean("fallback-chain", "slo.availability.sli")),
        printed("availability over the day 0.99983 instead of 0.83283", "0.83283", |r| r.mean("provider-outage", "slo.availability.sli")),
        printed("3.5% of the day's error budget used", "3.5", |r| 100.0 * r.mean("fallback-chain", "slo.availability.budget_consumed")),
        about("no alert fires", "no", 0.0, 0.0, |r| r.mean("fallback-chain", "slo.availability.alerts")),
        printed("$265 for the day", "265", |r| r.mean("fallback-chain", "cost_usd")),
        printed("availability 0.99916, 17% of the budget, $591", "0.99916", |r| r.mean("fallback-chain/no-cache", "slo.availability.sli")),
        printed("availability 0.99916, 17% of the budget, $591", "17", |r| 100.0 * r.mean("fallback-chain/no-cache", "slo.availability.budget_consumed")),
        printed("availability 0.99916, 17% of the budget, $591", "591", |r| r.mean("fallback-chain/no-cache", "cost_usd")),
        printed("503s to 1,303, against 19,201", "1,303", |r| r.mean("fallback-chain", "errors.unavailable")),
        printed("503s to 1,303, against 19,201", "19,201", |r| r.mean("fallback-chain/no-breaker", "errors.unavailable")),
        printed("depth-1 share (of calls past the cache) = 4 h / 24 h = 0.16667", "4", |r| r.secs("fallback-chain", "backends.llm-api.outages.0.duration") / 3600.0),
        printed("depth-1 share (of calls past the cache) = 4 h / 24 h = 0.16667", "24", |r| r.secs("fallback-chain", "horizon") / 3600.0),
        printed("depth-1 share (of calls past the cache) = 4 h / 24 h = 0.16667", "0.16667", fallback_theory),
        printed("SLI 0.99983; depth-1 share 0.1654", "0.99983", |r| r.mean("fallback-chain", "slo.availability.sli")),
        printed("SLI 0.99983; depth-1 share 0.1654", "0.1654", |r| r.mean("fallback-chain", "fallback.depth1_share")),
        // codel-overload
        printed("12 calls/s for a provider of 10 slots, 1 s a call", "12", |r| r.rate("codel-overload", "tenants.0.arrivals.rate")),
        printed("12 calls/s for a provider of 10 slots, 1 s a call", "10", |r| r.num("codel-overload", "backends.0.concurrency")),
        printed("12 calls/s for a provider of 10 slots, 1 s a call", "1", |r| r.secs("codel-overload", "backends.0.service.mean")),
        printed("1.2× its capacity, for 10 minutes", "1.2", |r| {
            let id = "codel-overload";
            r.rate(id, "tenants.0.arrivals.rate") * r.secs(id, "backends.0.service.mean") / r.num(id, "backends.0.concurrency")
        }),
        printed("1.2× its capacity, for 10 minutes", "10", |r| r.secs("codel-overload", "horizon") / 60.0),
        printed("served calls waited 60.3 s on average and p50 latency was 65 s", "60.3", |r| r.mean("codel-overload", "queue_wait_mean_s")),
        printed("served calls waited 60.3 s on average and p50 latency was 65 s", "65", |r| r.mean("codel-overload", "latency_p50_s")),
        printed("they waited 0.54 s, under target + interval, and p50 latency was 1.17 s", "0.54", |r| r.mean("codel-overload/codel", "queue_wait_mean_s")),
        printed("they waited 0.54 s, under target + interval, and p50 latency was 1.17 s", "1.17", |r| r.mean("codel-overload/codel", "latency_p50_s")),
        printed("CoDel dropped 1,198 calls (about the 2/s excess)", "1,198", |r| r.mean("codel-overload/codel", "codel.dropped")),
        // The excess is arrivals minus capacity, 12 − 10/1 s = 2/s; the drop rate over the
        // measured window is within 0.3/s of it.
        about("CoDel dropped 1,198 calls (about the 2/s excess)", "2", 2.0, 0.3, |r| {
            let id = "codel-overload/codel";
            r.mean(id, "codel.dropped") / (r.secs(id, "horizon") - r.secs(id, "warmup"))
        }),
        printed("goodput stayed at 9.66/s (9.67/s first come, first served)", "9.66", |r| r.mean("codel-overload/codel", "goodput_per_s")),
        printed("goodput stayed at 9.66/s (9.67/s first come, first served)", "9.67", |r| r.mean("codel-overload", "goodput_per_s")),
        printed("mean wait under CoDel < target + interval = 1.1 s", "1.1", |r| {
            let id = "codel-overload/codel";
            r.secs(id, "gateway.queue_discipline.target") + r.secs(id, "gateway.queue_discipline.interval")
        }),
        printed("wait 0.54 [0.42, 0.67] s vs 60.3 [47.7, 72.8] s", "0.54", |r| r.mean("codel-overload/codel", "queue_wait_mean_s")),
        printed("wait 0.54 [0.42, 0.67] s vs 60.3 [47.7, 72.8] s", "0.42", |r| r.ci99("codel-overload/codel", "queue_wait_mean_s").0),
        printed("wait 0.54 [0.42, 0.67] s vs 60.3 [47.7, 72.8] s", "0.67", |r| r.ci99("codel-overload/codel", "queue_wait_mean_s").1),
        printed("wait 0.54 [0.42, 0.67] s vs 60.3 [47.7, 72.8] s", "60.3", |r| r.mean("codel-overload", "queue_wait_mean_s")),
        printed("wait 0.54 [0.42, 0.67] s vs 60.3 [47.7, 72.8] s", "47.7", |r| r.ci99("codel-overload", "queue_wait_mean_s").0),
        printed("wait 0.54 [0.42, 0.67] s vs 60.3 [47.7, 72.8] s", "72.8", |r| r.ci99("codel-overload", "queue_wait_mean_s").1),
        // aws-retry-quota
        printed("two tenants at 10 calls/s each", "10", |r| r.rate("aws-retry-quota", "tenants.0.arrivals.rate")),
        printed("fails 2% of calls with a transient error", "2", |r| 100.0 * r.num("aws-retry-quota", "backends.0.errors.server_error")),
        printed("down for 2 of the 10 minutes", "2", |r| r.secs("aws-retry-quota", "backends.0.outages.0.duration") / 60.0),
        printed("down for 2 of the 10 minutes", "10", |r| r.secs("aws-retry-quota", "horizon") / 60.0),
        printed("3 attempts under the AWS SDKs' standard retry quota", "3", |r| r.num("aws-retry-quota", "gateway.retry.max_attempts")),
        printed("(500 tokens, 5 a retry, 1 back per answer; the batch tenant's holds 100)", "500", |r| r.num("aws-retry-quota", "gateway.retry.quota.capacity")),
        printed("(500 tokens, 5 a retry, 1 back per answer; the batch tenant's holds 100)", "5", |r| r.num("aws-retry-quota", "gateway.retry.quota.retry_cost")),
        printed("(500 tokens, 5 a retry, 1 back per answer; the batch tenant's holds 100)", "1", |r| r.num("aws-retry-quota", "gateway.retry.quota.refill_per_success")),
        printed("(500 tokens, 5 a retry, 1 back per answer; the batch tenant's holds 100)", "100", |r| r.num("aws-retry-quota", "gateway.retry.quota.tenants.batch.capacity")),
        printed("124 retries into the 503s instead of 4,812", "124", |r| r.mean("aws-retry-quota", "retries.unavailable")),
        printed("124 retries into the 503s instead of 4,812", "4,812", |r| r.mean("aws-retry-quota/no-limit", "retries.unavailable")),
        printed("1.027 attempts per call instead of 1.417", "1.027", |r| r.mean("aws-retry-quota", "attempts_per_request")),
        printed("1.027 attempts per call instead of 1.417", "1.417", |r| r.mean("aws-retry-quota/no-limit", "attempts_per_request")),
        printed("success unchanged (0.7993 vs 0.8027)", "0.7993", |r| r.mean("aws-retry-quota", "success_ratio")),
        printed("success unchanged (0.7993 vs 0.8027)", "0.8027", |r| r.mean("aws-retry-quota/no-limit", "success_ratio")),
        printed("retries into the outage ≈ 500/5 + 100/5 = 120", "500", |r| r.num("aws-retry-quota", "gateway.retry.quota.capacity")),
        printed("retries into the outage ≈ 500/5 + 100/5 = 120", "5", |r| r.num("aws-retry-quota", "gateway.retry.quota.retry_cost")),
        printed("retries into the outage ≈ 500/5 + 100/5 = 120", "100", |r| r.num("aws-retry-quota", "gateway.retry.quota.tenants.batch.capacity")),
        printed("retries into the outage ≈ 500/5 + 100/5 = 120", "5#2", |r| r.num("aws-retry-quota", "gateway.retry.quota.retry_cost")),
        printed("retries into the outage ≈ 500/5 + 100/5 = 120", "120", |r| {
            let id = "aws-retry-quota";
            (r.num(id, "gateway.retry.quota.capacity") + r.num(id, "gateway.retry.quota.tenants.batch.capacity"))
                / r.num(id, "gateway.retry.quota.retry_cost")
        }),
        // The quotas pay for 120 retries into the 503s, plus the few that answers arriving in
        // the outage's first seconds (calls started before it) refill: within 6 of it.
        about("retries into the outage ≈ 500/5 + 100/5 = 120", "≈", 120.0, 6.0, |r| r.mean("aws-retry-quota", "retries.unavailable")),
        printed("attempts 1.0266 [1.0247, 1.0284] vs 1.4166 [1.4061, 1.4271]", "1.0266", |r| r.mean("aws-retry-quota", "attempts_per_request")),
        printed("attempts 1.0266 [1.0247, 1.0284] vs 1.4166 [1.4061, 1.4271]", "1.0247", |r| r.ci99("aws-retry-quota", "attempts_per_request").0),
        printed("attempts 1.0266 [1.0247, 1.0284] vs 1.4166 [1.4061, 1.4271]", "1.0284", |r| r.ci99("aws-retry-quota", "attempts_per_request").1),
        printed("attempts 1.0266 [1.0247, 1.0284] vs 1.4166 [1.4061, 1.4271]", "1.4166", |r| r.mean("aws-retry-quota/no-limit", "attempts_per_request")),
        printed("attempts 1.0266 [1.0247, 1.0284] vs 1.4166 [1.4061, 1.4271]", "1.4061", |r| r.ci99("aws-retry-quota/no-limit", "attempts_per_request").0),
        printed("attempts 1.0266 [1.0247, 1.0284] vs 1.4166 [1.4061, 1.4271]", "1.4271", |r| r.ci99("aws-retry-quota/no-limit", "attempts_per_request").1),
        // adaptive-concurrency
        printed("30 calls/s for a provider of 20 slots, about 1 s a call", "30", |r| r.rate("adaptive-concurrency", "tenants.0.arrivals.rate")),
        printed("30 calls/s for a provider of 20 slots, about 1 s a call", "20", |r| r.num("adaptive-concurrency", "backends.0.concurrency")),
        printed("30 calls/s for a provider of 20 slots, about 1 s a call", "1", |r| r.secs("adaptive-concurrency", "backends.0.service.median")),
        printed("(lognormal, p99 1.2 s)", "1.2", |r| r.secs("adaptive-concurrency", "backends.0.service.p99")),
        printed("1.5× its capacity", "1.5", |r| {
            let id = "adaptive-concurrency";
            r.rate(id, "tenants.0.arrivals.rate") * r.secs(id, "backends.0.service.median") / r.num(id, "backends.0.concurrency")
        }),
        printed("the gateway does not know the 20", "20", |r| r.num("adaptive-concurrency", "backends.0.concurrency")),
        printed("with Vegas, from 5", "5", |r| r.num("adaptive-concurrency", "gateway.concurrency_limit.initial_limit")),
        printed("the limit settles at 21.2 on average, near the provider's 20 slots", "21.2", |r| r.mean("adaptive-concurrency", "backend.api.concurrency_limit_mean")),
        printed("the limit settles at 21.2 on average, near the provider's 20 slots", "20", |r| r.num("adaptive-concurrency", "backends.0.concurrency")),
        printed("turned away at once (6,581 calls)", "6,581", |r| r.mean("adaptive-concurrency", "concurrency_limit.rejected")),
        printed("wait 0.076 s in the queue, for goodput 17.6/s of the 20/s possible", "0.076", |r| r.mean("adaptive-concurrency", "queue_wait_mean_s")),
        printed("wait 0.076 s in the queue, for goodput 17.6/s of the 20/s possible", "17.6", |r| r.mean("adaptive-concurrency", "goodput_per_s")),
        printed("wait 0.076 s in the queue, for goodput 17.6/s of the 20/s possible", "20", |r| {
            let id = "adaptive-concurrency";
            r.num(id, "backends.0.concurrency") / r.secs(id, "backends.0.service.median")
        }),
        printed("settles at 34.8 and its calls wait 0.64 s", "34.8", |r| r.mean("adaptive-concurrency/gradient2", "backend.api.concurrency_limit_mean")),
        printed("settles at 34.8 and its calls wait 0.64 s", "0.64", |r| r.mean("adaptive-concurrency/gradient2", "queue_wait_mean_s")),
        printed("limit ≈ C = 20", "20", |r| r.num("adaptive-concurrency", "backends.0.concurrency")),
        // Near the capacity: within 10% of it.
        about("limit ≈ C = 20", "≈", 20.0, 2.0, |r| r.mean("adaptive-concurrency", "backend.api.concurrency_limit_mean")),
        printed("limit 21.24 [20.85, 21.62]", "21.24", |r| r.mean("adaptive-concurrency", "backend.api.concurrency_limit_mean")),
        printed("limit 21.24 [20.85, 21.62]", "20.85", |r| r.ci99("adaptive-concurrency", "backend.api.concurrency_limit_mean").0),
        printed("limit 21.24 [20.85, 21.62]", "21.62", |r| r.ci99("adaptive-concurrency", "backend.api.concurrency_limit_mean").1),
        // streaming-failures
        printed("20 answers/s of 200–400 tokens", "20", |r| r.rate("streaming-failures", "tenants.0.arrivals.rate")),
        printed("20 answers/s of 200–400 tokens", "200", |r| r.num("streaming-failures", "tenants.0.output_tokens.low")),
        printed("20 answers/s of 200–400 tokens", "400", |r| r.num("streaming-failures", "tenants.0.output_tokens.high")),
        printed("streamed at 20 ms a token after a 400 ms first token", "20", |r| 1000.0 * r.secs("streaming-failures", "backends.0.per_output_token.value")),
        printed("streamed at 20 ms a token after a 400 ms first token", "400", |r| 1000.0 * r.secs("streaming-failures", "backends.0.ttft.value")),
        printed("5% of streams break at a uniform point", "5", |r| 100.0 * r.num("streaming-failures", "backends.0.stream_failures.probability")),
        printed("the streamed tokens billed; 2 attempts", "2", |r| r.num("streaming-failures", "gateway.retry.max_attempts")),
        printed("638 streams break, 95,439 streamed tokens are billed for nothing, p99 latency is 11.85 s", "638", |r| r.mean("streaming-failures", "backend.api.streams_broken")),
        printed("638 streams break, 95,439 streamed tokens are billed for nothing, p99 latency is 11.85 s", "95,439", |r| r.mean("streaming-failures", "backend.api.broken_stream_tokens")),
        printed("638 streams break, 95,439 streamed tokens are billed for nothing, p99 latency is 11.85 s", "11.85", |r| r.mean("streaming-failures", "latency_p99_s")),
        printed("the SLO over unbroken streams (99.9%) reads 0.99762 and is missed", "99.9", |r| r.num("streaming-failures", "slos.0.objective")),
        printed("the SLO over unbroken streams (99.9%) reads 0.99762 and is missed", "0.99762", |r| r.mean("streaming-failures", "slo.unbroken-streams.sli")),
        about("the SLO over unbroken streams (99.9%) reads 0.99762 and is missed", "missed", 0.0, 0.0, |r| r.mean("streaming-failures", "slo.unbroken-streams.met")),
        printed("cuts p99 latency to 8.37 s and the cost from $92.20 to $91.17", "8.37", |r| r.mean("streaming-failures/resume", "latency_p99_s")),
        printed("cuts p99 latency to 8.37 s and the cost from $92.20 to $91.17", "92.20", |r| r.mean("streaming-failures", "cost_usd")),
        printed("cuts p99 latency to 8.37 s and the cost from $92.20 to $91.17", "91.17", |r| r.mean("streaming-failures/resume", "cost_usd")),
        printed("broken share p² = 0.0025", "0.0025", |r| r.num("streaming-failures", "backends.0.stream_failures.probability").powi(2)),
        printed("SLI 0.99762 [0.9965, 0.99874]", "0.99762", |r| r.mean("streaming-failures", "slo.unbroken-streams.sli")),
        printed("SLI 0.99762 [0.9965, 0.99874]", "0.9965", |r| r.ci99("streaming-failures", "slo.unbroken-streams.sli").0),
        printed("SLI 0.99762 [0.9965, 0.99874]", "0.99874", |r| r.ci99("streaming-failures", "slo.unbroken-streams.sli").1),
        // rag-latency-spike
        printed("retrieval slows 25-fold", "25", |r| r.num("rag-latency-spike", "backends.vector-db.slowdowns.0.multiplier")),
        printed("for 30 minutes of a 2-hour run", "30", |r| r.secs("rag-latency-spike", "backends.vector-db.slowdowns.0.duration") / 60.0),
        printed("for 30 minutes of a 2-hour run", "2", |r| r.secs("rag-latency-spike", "horizon") / 3600.0),
        printed("a 1 s start-to-close timeout and 3 attempts", "1", |r| r.secs("rag-latency-spike", "tenants.rag.workflow.activities.retrieve.start_to_close_timeout")),
        printed("a 1 s start-to-close timeout and 3 attempts", "3", |r| r.num("rag-latency-spike", "tenants.rag.workflow.activities.retrieve.retry.maximum_attempts")),
        printed("DLQ share ≈ spike / run = 30/120", "30", |r| r.secs("rag-latency-spike", "backends.vector-db.slowdowns.0.duration") / 60.0),
        printed("DLQ share ≈ spike / run = 30/120", "120", |r| r.secs("rag-latency-spike", "horizon") / 60.0),
        printed("DLQ share 0.24895 [0.2444, 0.2535]", "0.24895", |r| r.mean("rag-latency-spike", "workflow.rag.dlq_share")),
        printed("DLQ share 0.24895 [0.2444, 0.2535]", "0.2444", |r| r.ci99("rag-latency-spike", "workflow.rag.dlq_share").0),
        printed("DLQ share 0.24895 [0.2444, 0.2535]", "0.2535", |r| r.ci99("rag-latency-spike", "workflow.rag.dlq_share").1),
        printed("A 99% success SLO over the executions", "99", |r| r.num("rag-latency-spike", "slos.pipeline-success.objective")),
        printed("reads 0.75105 and is missed", "0.75105", |r| r.mean("rag-latency-spike", "slo.pipeline-success.sli")),
        about("reads 0.75105 and is missed", "missed", 0.0, 0.0, |r| r.mean("rag-latency-spike", "slo.pipeline-success.met")),
        printed("its 14.4× page fires 552 s into the spike", "14.4", |r| r.num("rag-latency-spike", "slos.pipeline-success.alerting.rules.0.burn_rate")),
        printed("its 14.4× page fires 552 s into the spike", "552", |r| r.mean("rag-latency-spike", "slo.pipeline-success.detection_time_s.page")),
        // pipeline-crash-resume
        printed("workers that crash every 10 minutes on average", "10", |r| r.secs("pipeline-crash-resume", "tenants.research.workflow.worker_crashes.mtbf") / 60.0),
        printed("loses 1.8× the work", "1.8", |r| r.mean("pipeline-crash-resume/restart", "workflow.research.lost_work_s") / r.mean("pipeline-crash-resume", "workflow.research.lost_work_s")),
        printed("(3,012 s against 1,681 s per replication)", "3,012", |r| r.mean("pipeline-crash-resume/restart", "workflow.research.lost_work_s")),
        printed("(3,012 s against 1,681 s per replication)", "1,681", |r| r.mean("pipeline-crash-resume", "workflow.research.lost_work_s")),
        printed("repeats side effects 17× as often", "17", |r| r.mean("pipeline-crash-resume/restart", "workflow.research.duplicate_effects") / r.mean("pipeline-crash-resume", "workflow.research.duplicate_effects")),
        printed("(58.7 against 3.5 per replication)", "58.7", |r| r.mean("pipeline-crash-resume/restart", "workflow.research.duplicate_effects")),
        printed("(58.7 against 3.5 per replication)", "3.5", |r| r.mean("pipeline-crash-resume", "workflow.research.duplicate_effects")),
        printed("raises p99 latency from 127 s to 144 s", "127", |r| r.mean("pipeline-crash-resume", "workflow.research.latency_p99_s")),
        printed("raises p99 latency from 127 s to 144 s", "144", |r| r.mean("pipeline-crash-resume/restart", "workflow.research.latency_p99_s")),
        printed("lost work 1,681 s (durable) vs 3,012 s", "1,681", |r| r.mean("pipeline-crash-resume", "workflow.research.lost_work_s")),
        printed("lost work 1,681 s (durable) vs 3,012 s", "3,012", |r| r.mean("pipeline-crash-resume/restart", "workflow.research.lost_work_s")),
        // training-checkpoint
        printed("24-hour fine-tuning jobs", "24", |r| r.secs("training-checkpoint", "tenants.finetune.workflow.activities.train.compute.work") / 3600.0),
        printed("crash every 8 hours on average", "8", |r| r.secs("training-checkpoint", "tenants.finetune.workflow.activities.train.compute.mtbf") / 3600.0),
        printed("at a cost of 5 minutes", "5", |r| r.secs("training-checkpoint", "tenants.finetune.workflow.activities.train.compute.checkpoint_cost") / 60.0),
        printed("10 minutes to restart", "10", |r| r.secs("training-checkpoint", "tenants.finetune.workflow.activities.train.compute.restart") / 60.0),
        printed("a job takes 28.4 hours on average", "28.4", |r| r.mean("training-checkpoint", "workflow.finetune.latency_mean_s") / 3600.0),
        printed("1.18× its work", "1.18", |r| r.mean("training-checkpoint", "workflow.finetune.latency_mean_s") / r.secs("training-checkpoint", "tenants.finetune.workflow.activities.train.compute.work")),
        printed("Young/Daly's optimum (69.3 min)", "69.3", |r| {
            let c = "tenants.finetune.workflow.activities.train.compute";
            let cost = r.secs("training-checkpoint", &format!("{c}.checkpoint_cost"));
            let mtbf = r.secs("training-checkpoint", &format!("{c}.mtbf"));
            (2.0 * cost * mtbf).sqrt() / 60.0
        }),
        printed("Daly's E[T] = 102,344 s", "102,344", daly_expected_completion),
        printed("102,335 [102,254, 102,416] s", "102,335", |r| r.mean("training-checkpoint", "workflow.finetune.latency_mean_s")),
        printed("102,335 [102,254, 102,416] s", "102,254", |r| r.ci99("training-checkpoint", "workflow.finetune.latency_mean_s").0),
        printed("102,335 [102,254, 102,416] s", "102,416", |r| r.ci99("training-checkpoint", "workflow.finetune.latency_mean_s").1),
        // ingestion-backlog
        printed("40 workers (~95.6 documents/s)", "40", |r| r.num("ingestion-backlog", "work_queues.0.workers")),
        printed("40 workers (~95.6 documents/s)", "95.6", ingestion_capacity),
        printed("take users' uploads (20/s)", "20", |r| r.rate("ingestion-backlog", "work_queues.0.steady.rate")),
        printed("bulk-uploads 500,000 low-priority documents at 1,000/s", "500,000", |r| r.num("ingestion-backlog", "work_queues.0.bulk_upload.items")),
        printed("bulk-uploads 500,000 low-priority documents at 1,000/s", "1,000", |r| r.rate("ingestion-backlog", "work_queues.0.bulk_upload.rate")),
        printed("the backlog peaks at 462,031", "462,031", |r| r.mean("ingestion-backlog", "work_queue.ingest.backlog_max")),
        printed("the oldest document waits 4,836 s", "4,836", |r| r.mean("ingestion-backlog", "work_queue.ingest.oldest_age_max_s")),
        printed("caps the backlog at 20,000", "20,000", |r| r.mean("ingestion-backlog/backpressure", "work_queue.ingest.backlog_max")),
        printed("the oldest age at 213 s", "213", |r| r.mean("ingestion-backlog/backpressure", "work_queue.ingest.oldest_age_max_s")),
        printed("the upload takes 5,208 s instead of 500", "5,208", |r| r.mean("ingestion-backlog/backpressure", "work_queue.ingest.upload_s")),
        printed("the upload takes 5,208 s instead of 500", "500", |r| r.mean("ingestion-backlog", "work_queue.ingest.upload_s")),
        printed("94,131 users' uploads are refused", "94,131", |r| r.mean("ingestion-backlog/backpressure", "work_queue.ingest.refused")),
        printed("autoscaling to at most 400 workers", "400", |r| r.num("ingestion-backlog/autoscale", "work_queues.0.autoscale.max_workers")),
        printed("brings the oldest age to 1,178 s", "1,178", |r| r.mean("ingestion-backlog/autoscale", "work_queue.ingest.oldest_age_max_s")),
        printed("for $32.13 of worker-hours instead of $24", "32.13", |r| r.mean("ingestion-backlog/autoscale", "work_queue.ingest.cost_usd")),
        printed("for $32.13 of worker-hours instead of $24", "24", |r| r.mean("ingestion-backlog", "work_queue.ingest.cost_usd")),
        printed("serves users' documents after 0.008 s", "0.008", |r| r.mean("ingestion-backlog/delay", "work_queue.ingest.high_wait_mean_s")),
        printed("while the bulk's wait 3,057 s", "3,057", |r| r.mean("ingestion-backlog/delay", "work_queue.ingest.low_wait_mean_s")),
        printed("(1,020 − 95.62)·500 = 462,192", "1,020", |r| r.rate("ingestion-backlog", "work_queues.0.steady.rate") + r.rate("ingestion-backlog", "work_queues.0.bulk_upload.rate")),
        printed("(1,020 − 95.62)·500 = 462,192", "95.62", ingestion_capacity),
        printed("(1,020 − 95.62)·500 = 462,192", "500", |r| r.num("ingestion-backlog", "work_queues.0.bulk_upload.items") / r.rate("ingestion-backlog", "work_queues.0.bulk_upload.rate")),
        printed("(1,020 − 95.62)·500 = 462,192", "462,192", ingestion_peak),
        printed("peak 462,031 [461,514, 462,547]", "462,031", |r| r.mean("ingestion-backlog", "work_queue.ingest.backlog_max")),
        printed("peak 462,031 [461,514, 462,547]", "461,514", |r| r.ci99("ingestion-backlog", "work_queue.ingest.backlog_max").0),
        printed("peak 462,031 [461,514, 462,547]", "462,547", |r| r.ci99("ingestion-backlog", "work_queue.ingest.backlog_max").1),
        // prompt-cost-spike
        printed("at 1 execution/s for 12 h", "1", |r| r.rate("prompt-cost-spike", "tenants.0.arrivals.rate")),
        printed("at 1 execution/s for 12 h", "12", |r| r.secs("prompt-cost-spike", "horizon") / 3600.0),
        printed("at 6 h a system prompt update makes the answer's prompt 3 times", "6", |r| r.secs("prompt-cost-spike", "tenants.0.workflow.activities.answer.prompt_update.at") / 3600.0),
        printed("at 6 h a system prompt update makes the answer's prompt 3 times", "3", |r| r.num("prompt-cost-spike", "tenants.0.workflow.activities.answer.prompt_update.multiplier")),
        printed("runs 50% above the mean of the three hours", "50", |r| 100.0 * r.num("prompt-cost-spike", "cost_guard.anomaly_threshold")),
        printed("goes from $0.01548 to $0.03697, 2.39 times", "0.01548", |r| r.mean("prompt-cost-spike", "workflow.support.cost_mean_before_update_usd")),
        printed("goes from $0.01548 to $0.03697, 2.39 times", "0.03697", |r| r.mean("prompt-cost-spike", "workflow.support.cost_mean_after_update_usd")),
        printed("goes from $0.01548 to $0.03697, 2.39 times", "2.39", |r| r.mean("prompt-cost-spike", "workflow.support.cost_mean_after_update_usd") / r.mean("prompt-cost-spike", "workflow.support.cost_mean_before_update_usd")),
        printed("(not 3: the answers' output tokens", "3", |r| r.num("prompt-cost-spike", "tenants.0.workflow.activities.answer.prompt_update.multiplier")),
        printed("the anomaly alert fires 2,313 s after the update", "2,313", |r| r.mean("prompt-cost-spike", "cost_guard.first_anomaly_alert_s") - r.secs("prompt-cost-spike", "tenants.0.workflow.activities.answer.prompt_update.at")),
        printed("once more in the next hour: 2 alerts", "2", |r| r.mean("prompt-cost-spike", "cost_guard.anomaly_alerts")),
        printed("E[prompt]·$3/M (×3 after) + E[output]·$15/M + $0.0002", "3", |r| r.num("prompt-cost-spike", "backends.llm-api.price.input_per_mtok")),
        printed("E[prompt]·$3/M (×3 after) + E[output]·$15/M + $0.0002", "3#2", |r| r.num("prompt-cost-spike", "tenants.0.workflow.activities.answer.prompt_update.multiplier")),
        printed("E[prompt]·$3/M (×3 after) + E[output]·$15/M + $0.0002", "15", |r| r.num("prompt-cost-spike", "backends.llm-api.price.output_per_mtok")),
        printed("E[prompt]·$3/M (×3 after) + E[output]·$15/M + $0.0002", "0.0002", |r| r.num("prompt-cost-spike", "backends.vector-db.price.per_call_usd")),
        printed("= $0.015427 → $0.036925 (×2.393)", "0.015427", |r| prompt_cost(r).0),
        printed("= $0.015427 → $0.036925 (×2.393)", "0.036925", |r| prompt_cost(r).1),
        printed("= $0.015427 → $0.036925 (×2.393)", "2.393", |r| prompt_cost(r).1 / prompt_cost(r).0),
        printed("alert at 6 h + (1.5/2.393) h = 23,856 s", "6", |r| r.secs("prompt-cost-spike", "tenants.0.workflow.activities.answer.prompt_update.at") / 3600.0),
        printed("alert at 6 h + (1.5/2.393) h = 23,856 s", "1.5", |r| 1.0 + r.num("prompt-cost-spike", "cost_guard.anomaly_threshold")),
        printed("alert at 6 h + (1.5/2.393) h = 23,856 s", "2.393", |r| prompt_cost(r).1 / prompt_cost(r).0),
        printed("alert at 6 h + (1.5/2.393) h = 23,856 s", "23,856", prompt_alert),
        printed("$0.01548 [0.01529, 0.01567] → $0.03697", "0.01548", |r| r.mean("prompt-cost-spike", "workflow.support.cost_mean_before_update_usd")),
        printed("$0.01548 [0.01529, 0.01567] → $0.03697", "0.01529", |r| r.ci99("prompt-cost-spike", "workflow.support.cost_mean_before_update_usd").0),
        printed("$0.01548 [0.01529, 0.01567] → $0.03697", "0.01567", |r| r.ci99("prompt-cost-spike", "workflow.support.cost_mean_before_update_usd").1),
        printed("→ $0.03697 [0.03619, 0.03775]; alert", "0.03697", |r| r.mean("prompt-cost-spike", "workflow.support.cost_mean_after_update_usd")),
        printed("→ $0.03697 [0.03619, 0.03775]; alert", "0.03619", |r| r.ci99("prompt-cost-spike", "workflow.support.cost_mean_after_update_usd").0),
        printed("→ $0.03697 [0.03619, 0.03775]; alert", "0.03775", |r| r.ci99("prompt-cost-spike", "workflow.support.cost_mean_after_update_usd").1),
        printed("alert 23,913 [23,701, 24,126] s", "23,913", |r| r.mean("prompt-cost-spike", "cost_guard.first_anomaly_alert_s")),
        printed("alert 23,913 [23,701, 24,126] s", "23,701", |r| r.ci99("prompt-cost-spike", "cost_guard.first_anomaly_alert_s").0),
        printed("alert 23,913 [23,701, 24,126] s", "24,126", |r| r.ci99("prompt-cost-spike", "cost_guard.first_anomaly_alert_s").1),
        // breaker-vs-retry-storm
        printed("hangs for 20 of 120 minutes under 20 calls/s", "20", |r| r.secs("breaker-vs-retry-storm", "backends.primary.outages.0.duration") / 60.0),
        printed("hangs for 20 of 120 minutes under 20 calls/s", "120", |r| r.secs("breaker-vs-retry-storm", "horizon") / 60.0),
        printed("hangs for 20 of 120 minutes under 20 calls/s", "20#2", |r| r.rate("breaker-vs-retry-storm", "tenants.0.arrivals.rate")),
        printed("10 s attempt timeout, 3 attempts, then", "10", |r| r.secs("breaker-vs-retry-storm", "gateway.attempt_timeout")),
        printed("10 s attempt timeout, 3 attempts, then", "3", |r| r.num("breaker-vs-retry-storm", "gateway.retry.max_attempts")),
        printed("latency p50 1.55 s and p99 9.4 s", "1.55", |r| r.mean("breaker-vs-retry-storm", "latency_p50_s")),
        printed("latency p50 1.55 s and p99 9.4 s", "9.4", |r| r.mean("breaker-vs-retry-storm", "latency_p99_s")),
        printed("24,317 calls skip the dead provider", "24,317", |r| r.mean("breaker-vs-retry-storm", "backend.primary.breaker_rejected")),
        printed("fill its 48 slots", "48", |r| r.num("breaker-vs-retry-storm", "backends.primary.concurrency")),
        // "About an hour" (stated: 50 to 70 minutes): from the outage's end until the mean queue
        // falls below 1% of its peak.
        within("the backlog outlives the outage by about an hour", "hour", 50.0, 70.0, |r| {
            let id = "breaker-vs-retry-storm/no-breaker";
            let end = r.secs(id, "backends.primary.outages.0.start") + r.secs(id, "backends.primary.outages.0.duration");
            let (_, queue) = r.series(id, "queue_length_mean");
            let peak = queue.iter().cloned().fold(0.0, f64::max);
            (r.first_reaching_below(id, "queue_length_mean", end, 0.01 * peak) - end) / 60.0
        }),
        printed("p50 277 s, p99 1,651 s, mean queue wait 366 s", "277", |r| r.mean("breaker-vs-retry-storm/no-breaker", "latency_p50_s")),
        printed("p50 277 s, p99 1,651 s, mean queue wait 366 s", "1,651", |r| r.mean("breaker-vs-retry-storm/no-breaker", "latency_p99_s")),
        printed("p50 277 s, p99 1,651 s, mean queue wait 366 s", "366", |r| r.mean("breaker-vs-retry-storm/no-breaker", "queue_wait_mean_s")),
        printed("p99 9.45 [8.66, 10.24] s vs 1,651 [1,645, 1,657] s", "9.45", |r| r.mean("breaker-vs-retry-storm", "latency_p99_s")),
        printed("p99 9.45 [8.66, 10.24] s vs 1,651 [1,645, 1,657] s", "8.66", |r| r.ci99("breaker-vs-retry-storm", "latency_p99_s").0),
        printed("p99 9.45 [8.66, 10.24] s vs 1,651 [1,645, 1,657] s", "10.24", |r| r.ci99("breaker-vs-retry-storm", "latency_p99_s").1),
        printed("p99 9.45 [8.66, 10.24] s vs 1,651 [1,645, 1,657] s", "1,651", |r| r.mean("breaker-vs-retry-storm/no-breaker", "latency_p99_s")),
        printed("p99 9.45 [8.66, 10.24] s vs 1,651 [1,645, 1,657] s", "1,645", |r| r.ci99("breaker-vs-retry-storm/no-breaker", "latency_p99_s").0),
        printed("p99 9.45 [8.66, 10.24] s vs 1,651 [1,645, 1,657] s", "1,657", |r| r.ci99("breaker-vs-retry-storm/no-breaker", "latency_p99_s").1),
        // fair-share
        printed("bursts (8 long calls/s for ~3 min, every ~20 min)", "8", |r| r.rate("fair-share", "tenants.batch.arrivals.burst_rate")),
        printed("bursts (8 long calls/s for ~3 min, every ~20 min)", "3", |r| r.secs("fair-share", "tenants.batch.arrivals.mean_burst") / 60.0),
        printed("bursts (8 long calls/s for ~3 min, every ~20 min)", "20", |r| r.secs("fair-share", "tenants.batch.arrivals.mean_base") / 60.0),
        printed("(4 short calls/s) share 32 slots", "4", |r| r.rate("fair-share", "tenants.interactive.arrivals.rate")),
        printed("(4 short calls/s) share 32 slots", "32", |r| r.num("fair-share", "backends.llm-api.concurrency")),
        printed("interactive p99 latency 8.5 s under weighted fair queuing (weights 4:1)", "8.5", |r| r.mean("fair-share", "tenant.interactive.latency_p99_s")),
        printed("interactive p99 latency 8.5 s under weighted fair queuing (weights 4:1)", "4", |r| r.num("fair-share", "tenants.interactive.weight")),
        printed("interactive p99 latency 8.5 s under weighted fair queuing (weights 4:1)", "1", |r| r.num("fair-share", "tenants.batch.weight")),
        printed("799 s under FIFO", "799", |r| r.mean("fair-share/fifo", "tenant.interactive.latency_p99_s")),
        printed("525 s under round robin", "525", |r| r.mean("fair-share/round-robin", "tenant.interactive.latency_p99_s")),
        printed("(cost $732 vs $735)", "732", |r| r.mean("fair-share", "tenant.batch.cost_usd")),
        printed("(cost $732 vs $735)", "735", |r| r.mean("fair-share/fifo", "tenant.batch.cost_usd")),
        printed("(mean 294 s vs 213 s)", "294", |r| r.mean("fair-share", "tenant.batch.time_in_system_mean_s")),
        printed("(mean 294 s vs 213 s)", "213", |r| r.mean("fair-share/fifo", "tenant.batch.time_in_system_mean_s")),
        printed("interactive p99 8.49 [8.39, 8.59] s; FIFO 799 [210, 1,389] s", "8.49", |r| r.mean("fair-share", "tenant.interactive.latency_p99_s")),
        printed("interactive p99 8.49 [8.39, 8.59] s; FIFO 799 [210, 1,389] s", "8.39", |r| r.ci99("fair-share", "tenant.interactive.latency_p99_s").0),
        printed("interactive p99 8.49 [8.39, 8.59] s; FIFO 799 [210, 1,389] s", "8.59", |r| r.ci99("fair-share", "tenant.interactive.latency_p99_s").1),
        printed("interactive p99 8.49 [8.39, 8.59] s; FIFO 799 [210, 1,389] s", "799", |r| r.mean("fair-share/fifo", "tenant.interactive.latency_p99_s")),
        printed("interactive p99 8.49 [8.39, 8.59] s; FIFO 799 [210, 1,389] s", "210", |r| r.ci99("fair-share/fifo", "tenant.interactive.latency_p99_s").0),
        printed("interactive p99 8.49 [8.39, 8.59] s; FIFO 799 [210, 1,389] s", "1,389", |r| r.ci99("fair-share/fifo", "tenant.interactive.latency_p99_s").1),
        // chaos-game-day
        about("three experiments an hour apart", "three", 3.0, 0.0, |r| r.len("chaos-game-day", "chaos.experiments")),
        about("three experiments an hour apart", "hour", 3600.0, 0.0, |r| {
            let starts: Vec<f64> = (0..3).map(|i| r.secs("chaos-game-day", &format!("chaos.experiments.{i}.start"))).collect();
            if starts[2] - starts[1] == starts[1] - starts[0] { starts[1] - starts[0] } else { f64::NAN }
        }),
        printed("latency probes (10 min before/after)", "10", |r| same_in_every_experiment(r, "steady_state.window") / 60.0),
        printed("(2× burn over 5 min, every 10 s)", "2", |r| same_in_every_experiment_num(r, "safety_gate.max_burn_rate")),
        printed("(2× burn over 5 min, every 10 s)", "5", |r| same_in_every_experiment(r, "safety_gate.window") / 60.0),
        printed("(2× burn over 5 min, every 10 s)", "10", |r| same_in_every_experiment(r, "safety_gate.interval")),
        printed("on a 99.9% availability SLO", "99.9", |r| r.num("chaos-game-day", "slos.availability.objective")),
        printed("a chat route (10 calls/s, primary → fallback)", "10", |r| r.rate("chaos-game-day", "tenants.chat.arrivals.rate")),
        printed("a documents route (0.3/s)", "0.3", |r| r.rate("chaos-game-day", "tenants.docs.arrivals.rate")),
        about("on two self-hosted Llama-2-7B replicas (A100-40GB)", "two", 2.0, 0.0, |r| r.num("chaos-game-day", "backends.pool.gpu_pool.replicas")),
        printed("a 20-min 100% 429 storm on the primary", "20", |r| r.secs("chaos-game-day", "chaos.experiments.429-storm.method.0.duration") / 60.0),
        printed("a 20-min 100% 429 storm on the primary", "100", |r| 100.0 * r.num("chaos-game-day", "chaos.experiments.429-storm.method.0.share")),
        printed("+3 s latency on the primary for 20 min", "3", |r| r.secs("chaos-game-day", "chaos.experiments.latency-injection.method.0.add")),
        printed("+3 s latency on the primary for 20 min", "20", |r| r.secs("chaos-game-day", "chaos.experiments.latency-injection.method.0.duration") / 60.0),
        printed("(2 extra documents calls/s with 3,500-token prompts for 20 min)", "2", |r| r.rate("chaos-game-day", "chaos.experiments.kv-storm.method.0.rate")),
        printed("(2 extra documents calls/s with 3,500-token prompts for 20 min)", "3,500", |r| r.num("chaos-game-day", "chaos.experiments.kv-storm.method.0.prompt_tokens")),
        printed("(2 extra documents calls/s with 3,500-token prompts for 20 min)", "20", |r| r.secs("chaos-game-day", "chaos.experiments.kv-storm.method.0.duration") / 60.0),
        about("exactly the KV storm is aborted, in every replication", "exactly", 0.0, 0.0, |r| r.mean("chaos-game-day", "chaos.429-storm.aborted") + r.mean("chaos-game-day", "chaos.latency-injection.aborted")),
        about("exactly the KV storm is aborted, in every replication", "every", 1.0, 0.0, |r| r.min_per("chaos-game-day", "chaos.kv-storm.aborted")),
        printed("50–60 s in (10,854 s on average; burn rate 3.8 at the abort)", "50", |r| r.min_per("chaos-game-day", "chaos.kv-storm.method_s")),
        printed("50–60 s in (10,854 s on average; burn rate 3.8 at the abort)", "60", |r| r.max_per("chaos-game-day", "chaos.kv-storm.method_s")),
        printed("50–60 s in (10,854 s on average; burn rate 3.8 at the abort)", "10,854", |r| r.mean("chaos-game-day", "chaos.kv-storm.aborted_at_s")),
        printed("50–60 s in (10,854 s on average; burn rate 3.8 at the abort)", "3.8", |r| r.mean("chaos-game-day", "chaos.kv-storm.abort_burn_rate")),
        printed("start timing out at 30 s", "30", |r| r.secs("chaos-game-day", "gateway.attempt_timeout")),
        printed("has not returned 10 minutes later in 10/10 replications", "10", |r| r.secs("chaos-game-day", "chaos.experiments.kv-storm.steady_state.window") / 60.0),
        printed("has not returned 10 minutes later in 10/10 replications", "10#2", |r| r.count_per("chaos-game-day", "chaos.kv-storm.steady_after", 0.0)),
        printed("has not returned 10 minutes later in 10/10 replications", "10#3", |r| r.replications("chaos-game-day")),
        printed("(first fallback answer 2.2 s after the fault, within the 30 s SLA in 10/10; 0.006% of the budget)", "2.2", |r| r.mean("chaos-game-day", "chaos.429-storm.fallback_s")),
        printed("(first fallback answer 2.2 s after the fault, within the 30 s SLA in 10/10; 0.006% of the budget)", "30", |r| r.secs("chaos-game-day", "chaos.experiments.429-storm.fallback_sla")),
        printed("(first fallback answer 2.2 s after the fault, within the 30 s SLA in 10/10; 0.006% of the budget)", "10", |r| r.count_per("chaos-game-day", "chaos.429-storm.fallback_within_sla", 1.0)),
        printed("(first fallback answer 2.2 s after the fault, within the 30 s SLA in 10/10; 0.006% of the budget)", "10#2", |r| r.replications("chaos-game-day")),
        printed("(first fallback answer 2.2 s after the fault, within the 30 s SLA in 10/10; 0.006% of the budget)", "0.006", |r| 100.0 * r.mean("chaos-game-day", "chaos.429-storm.budget_burned")),
        printed("burns almost no availability budget (0.0004%)", "0.0004", |r| 100.0 * r.mean("chaos-game-day", "chaos.latency-injection.budget_burned")),
        printed("2,648 failed calls, 9.8% of the 30-day budget, 524 preemptions, 1.57 M prompt tokens prefilled again, 46% of documents calls fail", "2,648", |r| r.mean("chaos-game-day/no-gate", "chaos.kv-storm.bad_calls")),
        printed("2,648 failed calls, 9.8% of the 30-day budget, 524 preemptions, 1.57 M prompt tokens prefilled again, 46% of documents calls fail", "9.8", |r| 100.0 * r.mean("chaos-game-day/no-gate", "chaos.kv-storm.budget_burned")),
        printed("2,648 failed calls, 9.8% of the 30-day budget, 524 preemptions, 1.57 M prompt tokens prefilled again, 46% of documents calls fail", "30", |r| r.secs("chaos-game-day/no-gate", "slos.availability.time_window.duration") / 86400.0),
        printed("2,648 failed calls, 9.8% of the 30-day budget, 524 preemptions, 1.57 M prompt tokens prefilled again, 46% of documents calls fail", "524", |r| r.mean("chaos-game-day/no-gate", "pool.pool.preemptions")),
        printed("2,648 failed calls, 9.8% of the 30-day budget, 524 preemptions, 1.57 M prompt tokens prefilled again, 46% of documents calls fail", "1.57", |r| r.mean("chaos-game-day/no-gate", "pool.pool.reprefill_tokens") / 1e6),
        printed("2,648 failed calls, 9.8% of the 30-day budget, 524 preemptions, 1.57 M prompt tokens prefilled again, 46% of documents calls fail", "46", |r| 100.0 * (1.0 - r.mean("chaos-game-day/no-gate", "tenant.docs.success_ratio"))),
        printed("The cost guard ($250/h, anomaly +30%) stays quiet", "250", |r| r.num("chaos-game-day", "cost_guard.budget_usd_per_hour")),
        printed("The cost guard ($250/h, anomaly +30%) stays quiet", "30", |r| 100.0 * r.num("chaos-game-day", "cost_guard.anomaly_threshold")),
        about("The cost guard ($250/h, anomaly +30%) stays quiet", "quiet", 0.0, 0.0, |r| {
            ["chaos-game-day", "chaos-game-day/no-gate"].iter().map(|id| r.mean(id, "cost_guard.budget_alerts") + r.mean(id, "cost_guard.anomaly_alerts")).sum()
        }),
        printed("KV-storm abort 10,854 [10,849, 10,859] s", "10,854", |r| r.mean("chaos-game-day", "chaos.kv-storm.aborted_at_s")),
        printed("KV-storm abort 10,854 [10,849, 10,859] s", "10,849", |r| r.ci99("chaos-game-day", "chaos.kv-storm.aborted_at_s").0),
        printed("KV-storm abort 10,854 [10,849, 10,859] s", "10,859", |r| r.ci99("chaos-game-day", "chaos.kv-storm.aborted_at_s").1),
        printed("429-storm fallback 2.17 [1.68, 2.67] s", "2.17", |r| r.mean("chaos-game-day", "chaos.429-storm.fallback_s")),
        printed("429-storm fallback 2.17 [1.68, 2.67] s", "1.68", |r| r.ci99("chaos-game-day", "chaos.429-storm.fallback_s").0),
        printed("429-storm fallback 2.17 [1.68, 2.67] s", "2.67", |r| r.ci99("chaos-game-day", "chaos.429-storm.fallback_s").1),
        // slo-burn-alerts
        printed("a broken silent model update at 6 h of 12 h", "6", |r| r.secs("slo-burn-alerts", "backends.model.model_updates.0.at") / 3600.0),
        printed("a broken silent model update at 6 h of 12 h", "12", |r| r.secs("slo-burn-alerts", "horizon") / 3600.0),
        printed("soft failures ×40 (0.5% → 20% of answers silently bad", "40", |r| r.num("slo-burn-alerts", "backends.model.model_updates.0.multiplier")),
        printed("soft failures ×40 (0.5% → 20% of answers silently bad", "0.5", |r| 100.0 * soft_rate(r, "slo-burn-alerts", "answers")),
        printed("soft failures ×40 (0.5% → 20% of answers silently bad", "20", |r| 100.0 * soft_rate(r, "slo-burn-alerts", "answers") * r.num("slo-burn-alerts", "backends.model.model_updates.0.multiplier")),
        printed("correctness SLO 99%, SRE-workbook alerts", "99", |r| r.num("slo-burn-alerts", "slos.correctness.objective")),
        brackets("the 14.4×/1h/5m page fires once, 43.2 min after the update", "14.4", |r| threshold_bracket(r, "slo-burn-alerts", "page-1h-5m", 3600.0, 300.0)),
        about("the 14.4×/1h/5m page fires once, 43.2 min after the update", "once", 1.0, 0.0, |r| r.count_per("slo-burn-alerts", "slo.correctness.alerts.page-1h-5m", 1.0) / r.replications("slo-burn-alerts")),
        printed("the 14.4×/1h/5m page fires once, 43.2 min after the update", "43.2", |r| r.mean("slo-burn-alerts", "slo.correctness.detection_time_s.page-1h-5m") / 60.0),
        printed("ground truth: recall 1)", "1", |r| r.mean("slo-burn-alerts", "slo.correctness.alert_recall")),
        brackets("the 6×/6h/30m page at 1.70 h", "6", |r| threshold_bracket(r, "slo-burn-alerts", "page-6h-30m", 6.0 * 3600.0, 1800.0)),
        printed("the 6×/6h/30m page at 1.70 h", "1.70", |r| r.mean("slo-burn-alerts", "slo.correctness.detection_time_s.page-6h-30m") / 3600.0),
        about("the 3d/6h ticket is not armed in a 12 h run", "not armed", 0.0, 0.0, |r| r.max_per("slo-burn-alerts", "slo.correctness.armed.ticket-3d-6h")),
        printed("the 3d/6h ticket is not armed in a 12 h run", "12", |r| r.secs("slo-burn-alerts", "horizon") / 3600.0),
        printed("is the mild case (×5, invisible to the pages)", "5", |r| r.num("silent-model-update", "backends.model.model_updates.0.multiplier")),
        about("is the mild case (×5, invisible to the pages)", "invisible", 0.0, 0.0, |r| r.mean("silent-model-update", "slo.correctness.alerts.page-1h-5m") + r.mean("silent-model-update", "slo.correctness.alerts.page-6h-30m")),
        brackets("page after (14.4 − 0.5)/(20 − 0.5) h = 2,566 s + ≤ 60 s", "14.4", |r| threshold_bracket(r, "slo-burn-alerts", "page-1h-5m", 3600.0, 300.0)),
        printed("page after (14.4 − 0.5)/(20 − 0.5) h = 2,566 s + ≤ 60 s", "0.5", |r| burn_rates(r, "slo-burn-alerts").0),
        printed("page after (14.4 − 0.5)/(20 − 0.5) h = 2,566 s + ≤ 60 s", "20", |r| burn_rates(r, "slo-burn-alerts").1),
        printed("page after (14.4 − 0.5)/(20 − 0.5) h = 2,566 s + ≤ 60 s", "0.5#2", |r| burn_rates(r, "slo-burn-alerts").0),
        printed("page after (14.4 − 0.5)/(20 − 0.5) h = 2,566 s + ≤ 60 s", "2,566", |r| { let (b0, b1) = burn_rates(r, "slo-burn-alerts"); (14.4 - b0) / (b1 - b0) * 3600.0 }),
        printed("page after (14.4 − 0.5)/(20 − 0.5) h = 2,566 s + ≤ 60 s", "60", |r| r.secs("slo-burn-alerts", "slos.correctness.alerting.interval")),
        // "+ ≤ 60 s": the page's mean detection time lies within one interval after the theory.
        within("page after (14.4 − 0.5)/(20 − 0.5) h = 2,566 s + ≤ 60 s", "60", 0.0, 60.0, |r| {
            let (b0, b1) = burn_rates(r, "slo-burn-alerts");
            r.mean("slo-burn-alerts", "slo.correctness.detection_time_s.page-1h-5m") - (14.4 - b0) / (b1 - b0) * 3600.0
        }),
        printed("page 2,592 [2,565, 2,619] s (95%)", "2,592", |r| r.mean("slo-burn-alerts", "slo.correctness.detection_time_s.page-1h-5m")),
        printed("page 2,592 [2,565, 2,619] s (95%)", "2,565", |r| r.ci95("slo-burn-alerts", "slo.correctness.detection_time_s.page-1h-5m").0),
        printed("page 2,592 [2,565, 2,619] s (95%)", "2,619", |r| r.ci95("slo-burn-alerts", "slo.correctness.detection_time_s.page-1h-5m").1),
        // oom-retry-storm
        printed("killed past 8,000 MB of memory at 40 MB per call in service and takes 20 s to restart", "8,000", |r| r.num("oom-retry-storm", "backends.self-hosted.memory.limit_mb")),
        printed("killed past 8,000 MB of memory at 40 MB per call in service and takes 20 s to restart", "40", |r| r.num("oom-retry-storm", "backends.self-hosted.memory.per_call_mb")),
        printed("killed past 8,000 MB of memory at 40 MB per call in service and takes 20 s to restart", "20", |r| r.secs("oom-retry-storm", "backends.self-hosted.memory.restart")),
        printed("40 calls/s, and 200 calls/s for 5 s from 60 s", "40", |r| r.rate("oom-retry-storm", "tenants.app.arrivals.steps.0.rate")),
        printed("40 calls/s, and 200 calls/s for 5 s from 60 s", "5", |r| r.secs("oom-retry-storm", "tenants.app.arrivals.steps.2.from") - r.secs("oom-retry-storm", "tenants.app.arrivals.steps.1.from")),
        printed("40 calls/s, and 200 calls/s for 5 s from 60 s", "200", |r| r.rate("oom-retry-storm", "tenants.app.arrivals.steps.1.rate")),
        printed("40 calls/s, and 200 calls/s for 5 s from 60 s", "60", |r| r.secs("oom-retry-storm", "tenants.app.arrivals.steps.1.from")),
        printed("5 s attempt timeout, 6 attempts with exponential backoff from 1 s", "5", |r| r.secs("oom-retry-storm", "gateway.attempt_timeout")),
        printed("5 s attempt timeout, 6 attempts with exponential backoff from 1 s", "6", |r| r.num("oom-retry-storm", "gateway.retry.max_attempts")),
        printed("5 s attempt timeout, 6 attempts with exponential backoff from 1 s", "1", |r| r.secs("oom-retry-storm", "gateway.retry.base")),
        printed("26 OOM kills in 10 minutes and goodput 4.3/s", "26", |r| r.mean("oom-retry-storm", "backend.self-hosted.oom_kills")),
        printed("26 OOM kills in 10 minutes and goodput 4.3/s", "10", |r| r.secs("oom-retry-storm", "horizon") / 60.0),
        printed("26 OOM kills in 10 minutes and goodput 4.3/s", "4.3", |r| r.mean("oom-retry-storm", "goodput_per_s")),
        about("the spike's kill is the only one and goodput is 38.6/s", "one", 1.0, 0.0, |r| r.mean("oom-retry-storm/budget", "backend.self-hosted.oom_kills")),
        printed("the spike's kill is the only one and goodput is 38.6/s", "38.6", |r| r.mean("oom-retry-storm/budget", "goodput_per_s")),
        // The same count in every replication: the interval is a point.
        printed("OOM kills 26 vs 1 in every replication", "26", |r| { let (lo, hi) = r.ci99("oom-retry-storm", "backend.self-hosted.oom_kills"); if lo == hi { lo } else { f64::NAN } }),
        printed("OOM kills 26 vs 1 in every replication", "1", |r| { let (lo, hi) = r.ci99("oom-retry-storm/budget", "backend.self-hosted.oom_kills"); if lo == hi { lo } else { f64::NAN } }),
        printed("goodput 4.31 vs 38.61", "4.31", |r| r.mean("oom-retry-storm", "goodput_per_s")),
        printed("goodput 4.31 vs 38.61", "38.61", |r| r.mean("oom-retry-storm/budget", "goodput_per_s")),
        // retry-storm
        printed("latency grows 1% per call in service", "1", |r| 100.0 * r.num("retry-storm", "backends.llm-api.latency_per_inflight")),
        printed("serves 40 calls/s (~70 in service, ~1.7 s each, 3 s client timeout)", "40", |r| r.rate("retry-storm", "tenants.app.arrivals.steps.0.rate")),
        // "~" is 5% here: calls in service and time per call (Little's law) before the spike,
        // from 10 s (once the first calls have left) to 60 s.
        about("serves 40 calls/s (~70 in service, ~1.7 s each, 3 s client timeout)", "70", 70.0, 3.5, in_service_before_spike),
        about("serves 40 calls/s (~70 in service, ~1.7 s each, 3 s client timeout)", "1.7", 1.7, 0.085, |r| in_service_before_spike(r) / r.window_mean("retry-storm", "throughput_per_s", 10.0, 60.0)),
        printed("serves 40 calls/s (~70 in service, ~1.7 s each, 3 s client timeout)", "3", |r| r.secs("retry-storm", "gateway.attempt_timeout")),
        printed("a 5 s spike to 200 calls/s at 60 s", "5", |r| r.secs("retry-storm", "tenants.app.arrivals.steps.2.from") - r.secs("retry-storm", "tenants.app.arrivals.steps.1.from")),
        printed("a 5 s spike to 200 calls/s at 60 s", "200", |r| r.rate("retry-storm", "tenants.app.arrivals.steps.1.rate")),
        printed("a 5 s spike to 200 calls/s at 60 s", "60", |r| r.secs("retry-storm", "tenants.app.arrivals.steps.1.from")),
        printed("with immediate retries (3 attempts, the example as written)", "3", |r| r.num("retry-storm", "gateway.retry.max_attempts")),
        // From the first bucket after the spike began from which goodput is zero to the end.
        printed("every attempt times out from 66 s on", "66", |r| {
            let (width, goodput) = r.series("retry-storm", "goodput_per_s");
            let spike = r.secs("retry-storm", "tenants.app.arrivals.steps.1.from");
            let last_nonzero = goodput.iter().rposition(|g| *g != 0.0).map_or(0.0, |i| i as f64);
            ((last_nonzero + 1.0) * width).max(spike)
        }),
        printed("(7,283 in service on average)", "7,283", |r| r.mean("retry-storm", "backend.llm-api.busy_mean")),
        printed("goodput stays at 0 to the end of the 10 minutes", "0", |r| r.window("retry-storm", "goodput_per_s", 66.0, f64::INFINITY).iter().cloned().fold(0.0, f64::max)),
        printed("goodput stays at 0 to the end of the 10 minutes", "10", |r| r.secs("retry-storm", "horizon") / 60.0),
        printed("(4.3/s over the run, 2.79 attempts per call)", "4.3", |r| r.mean("retry-storm", "goodput_per_s")),
        printed("(4.3/s over the run, 2.79 attempts per call)", "2.79", |r| r.mean("retry-storm", "attempts_per_request")),
        about("changes nothing;", "nothing", 0.0, 0.05, |r| r.window_mean("retry-storm/jitter", "goodput_per_s", LATE_FROM_S, f64::INFINITY)),
        printed("brings goodput back to 36/s by 104 s and 39.95/s over the last 5 minutes (1.04 attempts per call)", "104", |r| r.first_reaching("retry-storm/budget", "goodput_per_s", 66.0, BACK_AT)),
        printed("brings goodput back to 36/s by 104 s and 39.95/s over the last 5 minutes (1.04 attempts per call)", "39.95", |r| r.window_mean("retry-storm/budget", "goodput_per_s", LATE_FROM_S, f64::INFINITY)),
        printed("brings goodput back to 36/s by 104 s and 39.95/s over the last 5 minutes (1.04 attempts per call)", "5", |r| (r.secs("retry-storm/budget", "horizon") - LATE_FROM_S) / 60.0),
        printed("brings goodput back to 36/s by 104 s and 39.95/s over the last 5 minutes (1.04 attempts per call)", "1.04", |r| r.mean("retry-storm/budget", "attempts_per_request")),
        printed("it is back by 82 s", "82", |r| r.first_reaching("retry-storm/no-retries", "goodput_per_s", 66.0, BACK_AT)),
        printed("(1,898 duplicates, all absorbed, no duplicate work)", "1,898", |r| r.mean("retry-storm/keys", "idempotency.duplicates")),
        about("(1,898 duplicates, all absorbed, no duplicate work)", "all", 1.0, 0.0, |r| r.mean("retry-storm/keys", "idempotency.absorbed") / r.mean("retry-storm/keys", "idempotency.duplicates")),
        about("(1,898 duplicates, all absorbed, no duplicate work)", "no", 0.0, 0.0, |r| r.mean("retry-storm/keys", "idempotency.duplicate_work_s")),
        // A bound: the lowest 2-second goodput from the spike on is 37/s or more (and below 38).
        within("goodput never falls below 37/s, spike included", "37", 37.0, 38.0, |r| {
            let spike = r.secs("retry-storm/keys", "tenants.app.arrivals.steps.1.from");
            r.window("retry-storm/keys", "goodput_per_s", spike, f64::INFINITY).iter().cloned().fold(f64::INFINITY, f64::min)
        }),
        printed("and 99.7% of calls succeed", "99.7", |r| 100.0 * r.mean("retry-storm/keys", "success_ratio")),
        printed("the report counts 44,013 duplicates and 2.35 million provider-seconds", "44,013", |r| r.mean("retry-storm/no-keys", "idempotency.duplicates")),
        printed("the report counts 44,013 duplicates and 2.35 million provider-seconds", "2.35", |r| r.mean("retry-storm/no-keys", "idempotency.duplicate_work_s") / 1e6),
        printed("goodput over 300–600 s: 0.0 (storm) vs 39.95 (budget)", "600", |r| r.secs("retry-storm", "horizon")),
        printed("goodput over 300–600 s: 0.0 (storm) vs 39.95 (budget)", "0.0", |r| r.window_mean("retry-storm", "goodput_per_s", LATE_FROM_S, f64::INFINITY)),
        printed("goodput over 300–600 s: 0.0 (storm) vs 39.95 (budget)", "39.95", |r| r.window_mean("retry-storm/budget", "goodput_per_s", LATE_FROM_S, f64::INFINITY)),
        // noisy-neighbor
        printed("(chat 4 calls/s, search 2/s) share 32 slots", "4", |r| r.rate("noisy-neighbor", "tenants.chat.arrivals.rate")),
        printed("(chat 4 calls/s, search 2/s) share 32 slots", "2", |r| r.rate("noisy-neighbor", "tenants.search.arrivals.rate")),
        printed("(chat 4 calls/s, search 2/s) share 32 slots", "32", |r| r.num("noisy-neighbor", "backends.llm-api.concurrency")),
        printed("sends 6 long-context calls/s", "6", |r| r.rate("noisy-neighbor", "tenants.bulk.arrivals.steps.1.rate")),
        printed("(~30,000-token prompts, ~1,200-token answers, ~21 s each)", "30,000", |r| r.num("noisy-neighbor", "tenants.bulk.prompt_tokens.median")),
        printed("(~30,000-token prompts, ~1,200-token answers, ~21 s each)", "1,200", |r| r.num("noisy-neighbor", "tenants.bulk.output_tokens.median")),
        // "~" is 5% here: mean TTFT plus mean answer length times mean time per token.
        about("(~30,000-token prompts, ~1,200-token answers, ~21 s each)", "21", 21.0, 1.05, |r| {
            let id = "noisy-neighbor";
            let ttft = lognormal_mean(r.secs(id, "backends.llm-api.ttft.median"), r.secs(id, "backends.llm-api.ttft.p99"));
            let tokens = lognormal_mean(r.num(id, "tenants.bulk.output_tokens.median"), r.num(id, "tenants.bulk.output_tokens.p99"));
            let per_token = (r.secs(id, "backends.llm-api.per_output_token.low") + r.secs(id, "backends.llm-api.per_output_token.high")) / 2.0;
            ttft + tokens * per_token
        }),
        printed("for 5 minutes at 20 min", "5", |r| (r.secs("noisy-neighbor", "tenants.bulk.arrivals.steps.2.from") - r.secs("noisy-neighbor", "tenants.bulk.arrivals.steps.1.from")) / 60.0),
        printed("for 5 minutes at 20 min", "20", |r| r.secs("noisy-neighbor", "tenants.bulk.arrivals.steps.1.from") / 60.0),
        printed("chat p99 latency is 972 s and search 971 s", "972", |r| r.mean("noisy-neighbor", "tenant.chat.latency_p99_s")),
        printed("chat p99 latency is 972 s and search 971 s", "971", |r| r.mean("noisy-neighbor", "tenant.search.latency_p99_s")),
        printed("weights 8:4:1) brings them to 9.9 s and 8.5 s", "8", |r| r.num("noisy-neighbor/fair", "tenants.chat.weight")),
        printed("weights 8:4:1) brings them to 9.9 s and 8.5 s", "4", |r| r.num("noisy-neighbor/fair", "tenants.search.weight")),
        printed("weights 8:4:1) brings them to 9.9 s and 8.5 s", "1", |r| r.num("noisy-neighbor/fair", "tenants.bulk.weight")),
        printed("weights 8:4:1) brings them to 9.9 s and 8.5 s", "9.9", |r| r.mean("noisy-neighbor/fair", "tenant.chat.latency_p99_s")),
        printed("weights 8:4:1) brings them to 9.9 s and 8.5 s", "8.5", |r| r.mean("noisy-neighbor/fair", "tenant.search.latency_p99_s")),
        printed("a per-tenant token limit of 1.5 M tokens/min", "1.5", |r| {
            let id = "noisy-neighbor/token-limit";
            r.num(id, "gateway.rate_limits.0.limit") / 1e6 * 60.0 / r.secs(id, "gateway.rate_limits.0.per")
        }),
        printed("to 14.8 s and 13.0 s (1,884 calls delayed)", "14.8", |r| r.mean("noisy-neighbor/token-limit", "tenant.chat.latency_p99_s")),
        printed("to 14.8 s and 13.0 s (1,884 calls delayed)", "13.0", |r| r.mean("noisy-neighbor/token-limit", "tenant.search.latency_p99_s")),
        printed("to 14.8 s and 13.0 s (1,884 calls delayed)", "1,884", |r| r.mean("noisy-neighbor/token-limit", "rate_limit.delayed")),
        printed("is served in full either way ($205.94)", "205.94", |r| r.mean("noisy-neighbor", "tenant.bulk.cost_usd")),
        printed("is served in full either way ($205.94)", "205.94", |r| r.mean("noisy-neighbor/fair", "tenant.bulk.cost_usd")),
        printed("is served in full either way ($205.94)", "205.94", |r| r.mean("noisy-neighbor/token-limit", "tenant.bulk.cost_usd")),
        printed("mean 780 s (fair) or 1,036 s (limit) instead of 470 s", "780", |r| r.mean("noisy-neighbor/fair", "tenant.bulk.time_in_system_mean_s")),
        printed("mean 780 s (fair) or 1,036 s (limit) instead of 470 s", "1,036", |r| r.mean("noisy-neighbor/token-limit", "tenant.bulk.time_in_system_mean_s")),
        printed("mean 780 s (fair) or 1,036 s (limit) instead of 470 s", "470", |r| r.mean("noisy-neighbor", "tenant.bulk.time_in_system_mean_s")),
        printed("chat p99: FIFO 972 s, fair 9.9 s, token limit 14.8 s", "972", |r| r.mean("noisy-neighbor", "tenant.chat.latency_p99_s")),
        printed("chat p99: FIFO 972 s, fair 9.9 s, token limit 14.8 s", "9.9", |r| r.mean("noisy-neighbor/fair", "tenant.chat.latency_p99_s")),
        printed("chat p99: FIFO 972 s, fair 9.9 s, token limit 14.8 s", "14.8", |r| r.mean("noisy-neighbor/token-limit", "tenant.chat.latency_p99_s")),
        // breaker-soft-failures
        printed("silently updated at 2 h of 6 h (format violations 1% → 8%", "2", |r| r.secs("breaker-soft-failures", "backends.primary.model_updates.0.at") / 3600.0),
        printed("silently updated at 2 h of 6 h (format violations 1% → 8%", "6", |r| r.secs("breaker-soft-failures", "horizon") / 3600.0),
        printed("silently updated at 2 h of 6 h (format violations 1% → 8%", "1", |r| 100.0 * r.num("breaker-soft-failures", "routes.chat.soft_failures.format_violation")),
        printed("silently updated at 2 h of 6 h (format violations 1% → 8%", "8", |r| 100.0 * r.num("breaker-soft-failures", "routes.chat.soft_failures.format_violation") * r.num("breaker-soft-failures", "backends.primary.model_updates.0.multiplier")),
        printed("a validator catches 80% and re-asks", "80", |r| 100.0 * r.num("breaker-soft-failures", "routes.chat.validator.recall.format_violation")),
        printed("over a 60 s time window", "60", |r| {
            assert_eq!(r.sc("breaker-soft-failures", "backends.primary.circuit_breaker.window"), "time");
            r.num("breaker-soft-failures", "backends.primary.circuit_breaker.window_size")
        }),
        about("no opening before the update", "no", 0.0, 0.0, |r| r.window("breaker-soft-failures", "backend.primary.breaker_openings", 0.0, r.secs("breaker-soft-failures", "backends.primary.model_updates.0.at")).iter().sum()),
        printed("after it, open or half-open 98% of the time (65% of the run; 45 openings)", "98", |r| {
            let id = "breaker-soft-failures";
            let at = r.secs(id, "backends.primary.model_updates.0.at");
            let open = r.window(id, "backend.primary.breaker_open", at, f64::INFINITY);
            let half = r.window(id, "backend.primary.breaker_half_open", at, f64::INFINITY);
            100.0 * open.iter().zip(&half).map(|(o, h)| o + h).sum::<f64>() / open.len() as f64
        }),
        printed("after it, open or half-open 98% of the time (65% of the run; 45 openings)", "65", |r| 100.0 * (r.mean("breaker-soft-failures", "backend.primary.breaker_open_share") + r.mean("breaker-soft-failures", "backend.primary.breaker_half_open_share"))),
        printed("after it, open or half-open 98% of the time (65% of the run; 45 openings)", "45", |r| r.mean("breaker-soft-failures", "backend.primary.breaker_opened")),
        printed("64% of answers from the backup", "64", |r| 100.0 * r.mean("breaker-soft-failures", "fallback.depth1_share")),
        printed("wrong answers reaching users 245 instead of 1,284", "245", |r| r.mean("breaker-soft-failures", "wrong_accepted")),
        printed("wrong answers reaching users 245 instead of 1,284", "1,284", |r| r.mean("breaker-soft-failures/no-breaker", "wrong_accepted")),
        printed("re-asks 1,009 instead of 4,895", "1,009", |r| r.mean("breaker-soft-failures", "retries.soft_failure")),
        printed("re-asks 1,009 instead of 4,895", "4,895", |r| r.mean("breaker-soft-failures/no-breaker", "retries.soft_failure")),
        printed("for $723 instead of $611 and p99 26.8 s instead of 20.8 s", "723", |r| r.mean("breaker-soft-failures", "cost_usd")),
        printed("for $723 instead of $611 and p99 26.8 s instead of 20.8 s", "611", |r| r.mean("breaker-soft-failures/no-breaker", "cost_usd")),
        printed("for $723 instead of $611 and p99 26.8 s instead of 20.8 s", "26.8", |r| r.mean("breaker-soft-failures", "latency_p99_s")),
        printed("for $723 instead of $611 and p99 26.8 s instead of 20.8 s", "20.8", |r| r.mean("breaker-soft-failures/no-breaker", "latency_p99_s")),
        printed("wrong answers 245 vs 1,284", "245", |r| r.mean("breaker-soft-failures", "wrong_accepted")),
        printed("wrong answers 245 vs 1,284", "1,284", |r| r.mean("breaker-soft-failures/no-breaker", "wrong_accepted")),
        // kv-eviction-storm
        about("two Llama-2-7B replicas on A100-40GB (2,809 KV blocks each)", "two", 2.0, 0.0, |r| r.num("kv-eviction-storm", "backends.pool.gpu_pool.replicas")),
        printed("two Llama-2-7B replicas on A100-40GB (2,809 KV blocks each)", "2,809", |_| kv_blocks()),
        printed("serve chat (3/s, short)", "3", |r| r.rate("kv-eviction-storm", "tenants.chat.arrivals.rate")),
        printed("(about 3 min in 20 at 1/s, 2,500–3,000-token prompts, 600–1,000-token answers)", "3", |r| r.secs("kv-eviction-storm", "tenants.docs.arrivals.mean_burst") / 60.0),
        printed("(about 3 min in 20 at 1/s, 2,500–3,000-token prompts, 600–1,000-token answers)", "20", |r| r.secs("kv-eviction-storm", "tenants.docs.arrivals.mean_base") / 60.0),
        printed("(about 3 min in 20 at 1/s, 2,500–3,000-token prompts, 600–1,000-token answers)", "1", |r| r.rate("kv-eviction-storm", "tenants.docs.arrivals.burst_rate")),
        printed("(about 3 min in 20 at 1/s, 2,500–3,000-token prompts, 600–1,000-token answers)", "2,500", |r| r.num("kv-eviction-storm", "tenants.docs.prompt_tokens.low")),
        printed("(about 3 min in 20 at 1/s, 2,500–3,000-token prompts, 600–1,000-token answers)", "3,000", |r| r.num("kv-eviction-storm", "tenants.docs.prompt_tokens.high")),
        printed("(about 3 min in 20 at 1/s, 2,500–3,000-token prompts, 600–1,000-token answers)", "600", |r| r.num("kv-eviction-storm", "tenants.docs.output_tokens.low")),
        printed("(about 3 min in 20 at 1/s, 2,500–3,000-token prompts, 600–1,000-token answers)", "1,000", |r| r.num("kv-eviction-storm", "tenants.docs.output_tokens.high")),
        printed("5,684 preemptions in 6 h (up to 73 a minute), 5.9 M prompt tokens prefilled again, chat TTFT p99 332 s.", "5,684", |r| r.mean("kv-eviction-storm", "pool.pool.preemptions")),
        printed("5,684 preemptions in 6 h (up to 73 a minute), 5.9 M prompt tokens prefilled again, chat TTFT p99 332 s.", "6", |r| r.secs("kv-eviction-storm", "horizon") / 3600.0),
        printed("5,684 preemptions in 6 h (up to 73 a minute), 5.9 M prompt tokens prefilled again, chat TTFT p99 332 s.", "73", |r| r.series("kv-eviction-storm", "pool.pool.preemptions_per_min").1.into_iter().fold(0.0, f64::max)),
        printed("5,684 preemptions in 6 h (up to 73 a minute), 5.9 M prompt tokens prefilled again, chat TTFT p99 332 s.", "5.9", |r| r.mean("kv-eviction-storm", "pool.pool.reprefill_tokens") / 1e6),
        printed("5,684 preemptions in 6 h (up to 73 a minute), 5.9 M prompt tokens prefilled again, chat TTFT p99 332 s.", "332", |r| r.mean("kv-eviction-storm", "tenant.chat.ttft_p99_s")),
        printed("0 preemptions, pool-side TTFT p99 0.22 s, chat TTFT p99 8.6 s", "0", |r| r.mean("kv-eviction-storm/kv-cap", "pool.pool.preemptions")),
        printed("0 preemptions, pool-side TTFT p99 0.22 s, chat TTFT p99 8.6 s", "0.22", |r| r.mean("kv-eviction-storm/kv-cap", "pool.pool.ttft_p99_s")),
        printed("0 preemptions, pool-side TTFT p99 0.22 s, chat TTFT p99 8.6 s", "8.6", |r| r.mean("kv-eviction-storm/kv-cap", "tenant.chat.ttft_p99_s")),
        printed("1.66 attempts per call overall, TTFT p99 172 s, 20% fail after 20 attempts", "1.66", |r| r.mean("kv-eviction-storm/kv-cap", "attempts_per_request")),
        printed("1.66 attempts per call overall, TTFT p99 172 s, 20% fail after 20 attempts", "172", |r| r.mean("kv-eviction-storm/kv-cap", "tenant.docs.ttft_p99_s")),
        printed("1.66 attempts per call overall, TTFT p99 172 s, 20% fail after 20 attempts", "20", |r| 100.0 * (1.0 - r.mean("kv-eviction-storm/kv-cap", "tenant.docs.success_ratio"))),
        printed("1.66 attempts per call overall, TTFT p99 172 s, 20% fail after 20 attempts", "20#2", |r| r.num("kv-eviction-storm/kv-cap", "gateway.retry.max_attempts")),
        printed("chat TTFT p99 332 [126, 537] s (95% CI) vs 8.65 [3.32, 13.98] s", "332", |r| r.mean("kv-eviction-storm", "tenant.chat.ttft_p99_s")),
        printed("chat TTFT p99 332 [126, 537] s (95% CI) vs 8.65 [3.32, 13.98] s", "126", |r| r.ci95("kv-eviction-storm", "tenant.chat.ttft_p99_s").0),
        printed("chat TTFT p99 332 [126, 537] s (95% CI) vs 8.65 [3.32, 13.98] s", "537", |r| r.ci95("kv-eviction-storm", "tenant.chat.ttft_p99_s").1),
        printed("chat TTFT p99 332 [126, 537] s (95% CI) vs 8.65 [3.32, 13.98] s", "8.65", |r| r.mean("kv-eviction-storm/kv-cap", "tenant.chat.ttft_p99_s")),
        printed("chat TTFT p99 332 [126, 537] s (95% CI) vs 8.65 [3.32, 13.98] s", "3.32", |r| r.ci95("kv-eviction-storm/kv-cap", "tenant.chat.ttft_p99_s").0),
        printed("chat TTFT p99 332 [126, 537] s (95% CI) vs 8.65 [3.32, 13.98] s", "13.98", |r| r.ci95("kv-eviction-storm/kv-cap", "tenant.chat.ttft_p99_s").1),
        // self-hosted-vs-api
        about("two self-hosted Llama-2-7B replicas ($2/GPU-hour)", "two", 2.0, 0.0, |r| r.num("self-hosted-vs-api", "backends.pool.gpu_pool.replicas")),
        printed("two self-hosted Llama-2-7B replicas ($2/GPU-hour)", "2", |r| r.num("self-hosted-vs-api", "backends.pool.gpu_pool.usd_per_gpu_hour")),
        printed("overflow to an API ($0.50/$1.50 per M tokens)", "0.50", |r| r.num("self-hosted-vs-api", "backends.api.price.input_per_mtok")),
        printed("overflow to an API ($0.50/$1.50 per M tokens)", "1.50", |r| r.num("self-hosted-vs-api", "backends.api.price.output_per_mtok")),
        about("under a diurnal day, 6/s mean, peak 4× the trough", "day", 86400.0, 0.0, |r| r.secs("self-hosted-vs-api", "horizon")),
        printed("under a diurnal day, 6/s mean, peak 4× the trough", "6", |r| r.rate("self-hosted-vs-api", "tenants.chat.arrivals.rate")),
        printed("under a diurnal day, 6/s mean, peak 4× the trough", "4", |r| r.num("self-hosted-vs-api", "tenants.chat.arrivals.peak_to_trough")),
        printed("the pool answers 99.4%, 0.6% overflow at the peak", "99.4", |r| 100.0 * r.mean("self-hosted-vs-api", "fallback.depth0_share")),
        printed("the pool answers 99.4%, 0.6% overflow at the peak", "0.6", |r| 100.0 * r.mean("self-hosted-vs-api", "fallback.depth1_share")),
        printed("the day costs $98.59 with TTFT p50 0.081 s, p99 0.90 s", "98.59", |r| r.mean("self-hosted-vs-api", "cost_usd")),
        printed("the day costs $98.59 with TTFT p50 0.081 s, p99 0.90 s", "0.081", |r| r.mean("self-hosted-vs-api", "ttft_p50_s")),
        printed("the day costs $98.59 with TTFT p50 0.081 s, p99 0.90 s", "0.90", |r| r.mean("self-hosted-vs-api", "ttft_p99_s")),
        printed("costs $429.83 for the same calls, TTFT p50 0.40 s, p99 2.0 s", "429.83", |r| r.mean("self-hosted-vs-api/api-alone", "backend.api.cost_usd")),
        printed("costs $429.83 for the same calls, TTFT p50 0.40 s, p99 2.0 s", "0.40", |r| r.mean("self-hosted-vs-api/api-alone", "ttft_p50_s")),
        printed("costs $429.83 for the same calls, TTFT p50 0.40 s, p99 2.0 s", "2.0", |r| r.mean("self-hosted-vs-api/api-alone", "ttft_p99_s")),
        printed("cost $98.59 [97.999, 99.173] (95% CI)", "98.59", |r| r.mean("self-hosted-vs-api", "cost_usd")),
        printed("cost $98.59 [97.999, 99.173] (95% CI)", "97.999", |r| r.ci95("self-hosted-vs-api", "cost_usd").0),
        printed("cost $98.59 [97.999, 99.173] (95% CI)", "99.173", |r| r.ci95("self-hosted-vs-api", "cost_usd").1),
        // autoscale-burst
        printed("(1–8 replicas, 120 s provisioning)", "1", |r| r.num("autoscale-burst", "backends.pool.gpu_pool.autoscale.min_replicas")),
        printed("(1–8 replicas, 120 s provisioning)", "8", |r| r.num("autoscale-burst", "backends.pool.gpu_pool.autoscale.max_replicas")),
        printed("(1–8 replicas, 120 s provisioning)", "120", |r| r.secs("autoscale-burst", "backends.pool.gpu_pool.autoscale.provisioning_delay")),
        printed("under bursts from 2/s to 12/s", "2", |r| r.rate("autoscale-burst", "tenants.chat.arrivals.base_rate")),
        printed("under bursts from 2/s to 12/s", "12", |r| r.rate("autoscale-burst", "tenants.chat.arrivals.burst_rate")),
        printed("2.4 replicas on average, $57.73 per 12 h against $192 for 8 fixed replicas", "2.4", |r| r.mean("autoscale-burst", "pool.pool.replicas_mean")),
        printed("2.4 replicas on average, $57.73 per 12 h against $192 for 8 fixed replicas", "57.73", |r| r.mean("autoscale-burst", "cost_usd")),
        printed("2.4 replicas on average, $57.73 per 12 h against $192 for 8 fixed replicas", "12", |r| r.secs("autoscale-burst", "horizon") / 3600.0),
        printed("2.4 replicas on average, $57.73 per 12 h against $192 for 8 fixed replicas", "192", |r| r.mean("autoscale-burst/fixed-8", "cost_usd")),
        printed("2.4 replicas on average, $57.73 per 12 h against $192 for 8 fixed replicas", "8", |r| r.mean("autoscale-burst/fixed-8", "pool.pool.replicas_mean")),
        printed("TTFT p99 240 s against 0.25 s", "240", |r| r.mean("autoscale-burst", "ttft_p99_s")),
        printed("TTFT p99 240 s against 0.25 s", "0.25", |r| r.mean("autoscale-burst/fixed-8", "ttft_p99_s")),
        printed("keeps 7.8 replicas", "7.8", |r| r.mean("autoscale-burst/utilisation", "pool.pool.replicas_mean")),
        printed("replicas 2.41 [1.91, 2.90] (95% CI)", "2.41", |r| r.mean("autoscale-burst", "pool.pool.replicas_mean")),
        printed("replicas 2.41 [1.91, 2.90] (95% CI)", "1.91", |r| r.ci95("autoscale-burst", "pool.pool.replicas_mean").0),
        printed("replicas 2.41 [1.91, 2.90] (95% CI)", "2.90", |r| r.ci95("autoscale-burst", "pool.pool.replicas_mean").1),
    ]
}

/// The deterministic figures of the Performance table's rows about examples.
#[rustfmt::skip]
fn performance_claims() -> Vec<Claim> {
    vec![
        printed("`faultline run example:mmc --threads 1` (6.4 M events)", "6.4", |r| r.events("mmc") / 1e6),
        printed("(5 × 6 h, 1.43 M events, 5,684 preemptions per replication)", "5", |r| r.replications("kv-eviction-storm")),
        printed("(5 × 6 h, 1.43 M events, 5,684 preemptions per replication)", "6", |r| r.secs("kv-eviction-storm", "horizon") / 3600.0),
        printed("(5 × 6 h, 1.43 M events, 5,684 preemptions per replication)", "1.43", |r| r.events("kv-eviction-storm") / 1e6),
        printed("(5 × 6 h, 1.43 M events, 5,684 preemptions per replication)", "5,684", |r| r.mean("kv-eviction-storm", "pool.pool.preemptions")),
        printed("60 h in one replication (`--set horizon=60h --replications 1`): 2.95 M events, 39,927 preemptions", "60", |r| r.secs("kv-eviction-storm/60h", "horizon") / 3600.0),
        about("60 h in one replication (`--set horizon=60h --replications 1`): 2.95 M events, 39,927 preemptions", "one", 1.0, 0.0, |r| r.replications("kv-eviction-storm/60h")),
        printed("60 h in one replication (`--set horizon=60h --replications 1`): 2.95 M events, 39,927 preemptions", "2.95", |r| r.events("kv-eviction-storm/60h") / 1e6),
        printed("60 h in one replication (`--set horizon=60h --replications 1`): 2.95 M events, 39,927 preemptions", "39,927", |r| r.mean("kv-eviction-storm/60h", "pool.pool.preemptions")),
    ]
}

/// Theory that must lie in a run's 99% confidence interval.
#[rustfmt::skip]
fn theory_in_ci99() -> Vec<Contains> {
    vec![
        contains("broken share p² = 0.0025", |r| 1.0 - r.num("streaming-failures", "backends.0.stream_failures.probability").powi(2), |r| r.ci99("streaming-failures", "slo.unbroken-streams.sli")),
        contains("W = 5, Wq = 4, L = 4", |r| { let (l, m, _) = queue(r, "mm1"); 1.0 / (m - l) }, |r| r.ci99("mm1", "time_in_system_mean_s")),
        contains("W = 5, Wq = 4, L = 4", |r| { let (l, m, _) = queue(r, "mm1"); l / m / (m - l) }, |r| r.ci99("mm1", "queue_wait_mean_s")),
        contains("W = 5, Wq = 4, L = 4", |r| { let (l, m, _) = queue(r, "mm1"); l / (m - l) }, |r| r.ci99("mm1", "number_in_system_mean")),
        contains("P(wait) = 0.596432", |r| erlang_c(r, "mmc").0, |r| r.ci99("mmc", "queue_wait_probability")),
        contains("Wq = 0.745541", |r| erlang_c(r, "mmc").1, |r| r.ci99("mmc", "queue_wait_mean_s")),
        contains("W = 1.745541", |r| erlang_c(r, "mmc").2, |r| r.ci99("mmc", "time_in_system_mean_s")),
        contains("L = 5.585730", |r| erlang_c(r, "mmc").3, |r| r.ci99("mmc", "number_in_system_mean")),
        contains("P(block) = 0.078741", |r| erlang_b(r, "erlang-b"), |r| r.ci99("erlang-b", "block_probability")),
        contains("ρ = 0.625, T = 3.3333", |r| feedback(r).0, |r| r.ci99("retry-feedback", "backend.server.utilisation")),
        contains("ρ = 0.625, T = 3.3333", |r| feedback(r).1, |r| r.ci99("retry-feedback", "time_in_system_mean_s")),
        contains("success 0.9375, attempts 1.875", |r| amplification(r).1, |r| r.ci99("retry-amplification", "success_ratio")),
        contains("success 0.9375, attempts 1.875", |r| amplification(r).2, |r| r.ci99("retry-amplification", "attempts_per_request")),
        contains("availability 20/24 = 0.83333", |r| { let (up, _, day, _) = outage_day(r, "provider-outage"); up / day }, |r| r.ci99("provider-outage", "slo.availability.sli")),
        contains("budget (4/24)/0.005 = 33.3", |r| { let (_, down, day, allowed) = outage_day(r, "provider-outage"); down / day / allowed }, |r| r.ci99("provider-outage", "slo.availability.budget_consumed")),
        contains("= 0.75·0.98³ + 0.25·0.8³ = 0.833894", |r| chain_correctness(r, "agent-chain"), |r| r.ci99("agent-chain", "correctness")),
        contains("independent 0.935³ = 0.817400", |r| chain_correctness(r, "agent-chain/independent-6.5%"), |r| r.ci99("agent-chain/independent-6.5%", "correctness")),
        contains("correctness 0.99/3 + 0.95·2/3 = 0.963333", smu_theory, |r| r.ci99("silent-model-update", "correctness")),
        contains("P(turns > 20) = 0.170", turns_over_cap, |r| { let (lo, hi) = r.ci99("token-runaway/turn-cap", "success_ratio"); (1.0 - hi, 1.0 - lo) }),
        contains("depth-1 share (of calls past the cache) = 4 h / 24 h = 0.16667", fallback_theory, |r| r.ci99("fallback-chain", "fallback.depth1_share")),
    ]
}

fn smu_theory(r: &R) -> f64 {
    let id = "silent-model-update";
    let bad = soft_rate(r, id, "answers");
    let share_before = r.secs(id, "backends.model.model_updates.0.at") / r.secs(id, "horizon");
    let m = r.num(id, "backends.model.model_updates.0.multiplier");
    share_before * (1.0 - bad) + (1.0 - share_before) * (1.0 - bad * m)
}

/// P(turns > cap) for turns = round(lognormal): the sample is at least cap + 0.5.
fn turns_over_cap(r: &R) -> f64 {
    let id = "token-runaway/turn-cap";
    let median = r.num(id, "tenants.0.agent_loop.turns.median");
    let p99 = r.num(id, "tenants.0.agent_loop.turns.p99");
    let cap = r.num(id, "tenants.0.agent_loop.turn_cap");
    let sigma = (p99 / median).ln() / Z99;
    normal_tail(((cap + 0.5) / median).ln() / sigma)
}

/// The depth shares count the calls a fresh cache hit did not answer. During the outage every
/// such call goes to the second provider (the breaker skips the first, or its retries fail);
/// outside it the first answers. The cache's hit ratio does not change with who answers a miss,
/// so the second provider's share is the outage's share of the day.
/// Daly's exact expected completion time of `training-checkpoint`'s job, from its scenario:
/// each segment needing `s` (a checkpoint interval plus its cost, or what is left) takes
/// M·e^(R/M)·(e^(s/M) − 1) with exponential crashes of mean M and a restart of R.
/// `ingestion-backlog`'s workers' capacity, documents per second: c / E[S].
fn ingestion_capacity(r: &R) -> f64 {
    let id = "ingestion-backlog";
    let mean = lognormal_mean(
        r.secs(id, "work_queues.0.service.median"),
        r.secs(id, "work_queues.0.service.p99"),
    );
    r.num(id, "work_queues.0.workers") / mean
}

/// Its backlog at the end of the upload, growing at λ − c/E[S] for the upload's duration.
fn ingestion_peak(r: &R) -> f64 {
    let id = "ingestion-backlog";
    let bulk = r.rate(id, "work_queues.0.bulk_upload.rate");
    let lambda = r.rate(id, "work_queues.0.steady.rate") + bulk;
    (lambda - ingestion_capacity(r)) * r.num(id, "work_queues.0.bulk_upload.items") / bulk
}

/// `prompt-cost-spike`'s expected spend per execution before and after the prompt update.
fn prompt_cost(r: &R) -> (f64, f64) {
    let id = "prompt-cost-spike";
    let tokens = |k: &str| {
        lognormal_mean(
            r.num(id, &format!("tenants.0.{k}.median")),
            r.num(id, &format!("tenants.0.{k}.p99")),
        )
    };
    let input = tokens("prompt_tokens") * r.num(id, "backends.llm-api.price.input_per_mtok") / 1e6;
    let output =
        tokens("output_tokens") * r.num(id, "backends.llm-api.price.output_per_mtok") / 1e6;
    let call = r.num(id, "backends.vector-db.price.per_call_usd");
    let m = r.num(
        id,
        "tenants.0.workflow.activities.answer.prompt_update.multiplier",
    );
    (input + output + call, m * input + output + call)
}

/// When the anomaly alert fires: an hour's spend at the new rate crosses (1 + threshold) × the
/// old hourly spend after (1 + threshold)/ratio of the hour.
fn prompt_alert(r: &R) -> f64 {
    let id = "prompt-cost-spike";
    let (before, after) = prompt_cost(r);
    let at = r.secs(id, "tenants.0.workflow.activities.answer.prompt_update.at");
    at + (1.0 + r.num(id, "cost_guard.anomaly_threshold")) / (after / before) * 3600.0
}

fn daly_expected_completion(r: &R) -> f64 {
    let id = "training-checkpoint";
    let c = "tenants.finetune.workflow.activities.train.compute";
    let secs = |k: &str| r.secs(id, &format!("{c}.{k}"));
    let (work, tau, cost, m, restart) = (
        secs("work"),
        secs("checkpoint_every"),
        secs("checkpoint_cost"),
        secs("mtbf"),
        secs("restart"),
    );
    let segment = |s: f64| m * (restart / m).exp() * ((s / m).exp() - 1.0);
    let whole = (work / tau).floor();
    let rest = work - whole * tau;
    whole * segment(tau + cost)
        + if rest > 0.0 {
            segment(rest + cost)
        } else {
            0.0
        }
}

fn fallback_theory(r: &R) -> f64 {
    let id = "fallback-chain";
    r.secs(id, "backends.llm-api.outages.0.duration") / r.secs(id, "horizon")
}

fn in_service_before_spike(r: &R) -> f64 {
    let id = "retry-storm";
    let spike = r.secs(id, "tenants.app.arrivals.steps.1.from");
    r.window_mean(id, "backend.llm-api.busy_mean", 10.0, spike)
}

/// A duration every chaos-game-day experiment has the same value of.
fn same_in_every_experiment(r: &R, path: &str) -> f64 {
    let values: BTreeSet<u64> = (0..3)
        .map(|i| {
            r.secs("chaos-game-day", &format!("chaos.experiments.{i}.{path}"))
                .to_bits()
        })
        .collect();
    assert_eq!(values.len(), 1, "experiments differ in {path}");
    f64::from_bits(*values.first().unwrap())
}

fn same_in_every_experiment_num(r: &R, path: &str) -> f64 {
    let values: BTreeSet<u64> = (0..3)
        .map(|i| {
            r.num("chaos-game-day", &format!("chaos.experiments.{i}.{path}"))
                .to_bits()
        })
        .collect();
    assert_eq!(values.len(), 1, "experiments differ in {path}");
    f64::from_bits(*values.first().unwrap())
}

impl R {
    /// The start of the first bucket at or after `from_s` whose mean is below `level`.
    fn first_reaching_below(&self, id: &str, name: &str, from_s: f64, level: f64) -> f64 {
        let (width, values) = self.series(id, name);
        values
            .iter()
            .enumerate()
            .map(|(i, v)| (i as f64 * width, *v))
            .find(|(t, v)| *t >= from_s && *v < level)
            .map_or(f64::NAN, |(t, _)| t)
    }
}

// ---------------------------------------------------------------------------------------------
// Locating figures in the README, and the coverage check.
// ---------------------------------------------------------------------------------------------

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// The byte range of a `## ` section of the README.
fn section(readme: &str, heading: &str) -> std::ops::Range<usize> {
    let start = readme
        .find(&format!("\n## {heading}\n"))
        .unwrap_or_else(|| panic!("README.md has no section `## {heading}`"));
    let end = readme[start + 1..]
        .find("\n## ")
        .map_or(readme.len(), |e| start + 1 + e);
    start..end
}

/// Labels in the table that contain digits but are not figures.
const LABELS: &[&str] = &[
    // The validation cases' names.
    "(V1)",
    "(V2, Erlang C)",
    "(V3)",
    "(V5)",
    "(V6)",
    // Model and GPU names.
    "Llama-2-7B",
    "A100-40GB",
    // The SRE workbook's rule names (the report's page-1h-5m, ...).
    "1h/5m",
    "6h/30m",
    "3d/6h",
    // Interval levels.
    "99% CI",
    "95% CI",
    "(95%)",
    // The name of a metric (fallback.depth1_share).
    "depth-1",
    // Formula constants: 1 − p.
    "(1−p)³",
    "(1−pm)³",
];

/// HTTP statuses, wherever they stand (429s, 503s, the 429-storm experiment).
const STATUSES: &[&str] = &["429", "503", "529"];

/// Figures that define a measurement rather than state a result: each must be the constant the
/// claims measure with.
const DEFINITIONS: &[(&str, &str, f64)] = &[
    // The start of the window retry-storm's late goodput averages over.
    ("goodput over 300–600 s:", "300", LATE_FROM_S),
    // The goodput retry-storm's recovery times wait for.
    ("brings goodput back to 36/s by 104 s", "36", BACK_AT),
];

/// Every number in `text` outside `code` spans and labels, as (byte offset, token). A number
/// may hold thousands separators and a decimal point ("1,091", "0.99996") or be a time of day
/// ("10:00"); a digit right after a letter belongs to a name (p99, V1).
fn numbers(text: &str) -> Vec<(usize, String)> {
    let mut bytes = text.as_bytes().to_vec();
    let mut in_code = false;
    for b in bytes.iter_mut() {
        if *b == b'`' {
            in_code = !in_code;
            *b = b' ';
        } else if in_code {
            *b = b' ';
        }
    }
    for label in LABELS {
        let masked = String::from_utf8(bytes.clone()).unwrap();
        for (at, _) in masked.match_indices(label) {
            bytes[at..at + label.len()].fill(b' ');
        }
    }
    let digit = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_digit);
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !digit(i) {
            i += 1;
            continue;
        }
        let start = i;
        loop {
            while digit(i) {
                i += 1;
            }
            match bytes.get(i) {
                Some(b'.' | b',') if digit(i + 1) => i += 1,
                Some(b':') if digit(i + 1) && digit(i + 2) && !digit(i + 3) => i += 1,
                _ => break,
            }
        }
        let token = String::from_utf8(bytes[start..i].to_vec()).unwrap();
        let after_letter = start > 0 && bytes[start - 1].is_ascii_alphabetic();
        if !after_letter && !STATUSES.contains(&token.as_str()) {
            found.push((start, token));
        }
    }
    found
}

/// Where `figure` ("12.4", "12.4#2" for its second occurrence, or a word) stands in `text`: a
/// number as the coverage scan reads it, or a whole word.
fn locate(text: &str, figure: &str) -> Option<usize> {
    let (figure, nth) = match figure.split_once('#') {
        Some((f, n)) => (f, n.parse::<usize>().unwrap()),
        None => (figure, 1),
    };
    if figure.starts_with(|c: char| c.is_ascii_digit()) {
        return numbers(text)
            .into_iter()
            .filter(|(_, token)| token == figure)
            .nth(nth - 1)
            .map(|(at, _)| at);
    }
    let bytes = text.as_bytes();
    text.match_indices(figure)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = at.checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(at + figure.len()).copied();
            !before.is_some_and(|b| b.is_ascii_alphabetic())
                && !after.is_some_and(|b| b.is_ascii_alphabetic())
        })
        .nth(nth - 1)
}

/// The printed value of a figure and half a unit of its last digit.
fn printed_value(figure: &str) -> (f64, f64) {
    let clean = figure.split('#').next().unwrap().replace(',', "");
    let value: f64 = clean
        .parse()
        .unwrap_or_else(|_| panic!("`{figure}` is not a number: state the expected value"));
    let decimals = clean.split_once('.').map_or(0, |(_, d)| d.len());
    (value, 0.5 * 10f64.powi(-(decimals as i32)))
}

/// Checks each claim; returns the absolute README positions of the figures it checked and the
/// failures.
fn check_claims(
    readme: &str,
    range: std::ops::Range<usize>,
    claims: &[Claim],
    runs: &R,
) -> (BTreeSet<usize>, Vec<String>) {
    let text = &readme[range.clone()];
    let mut positions = BTreeSet::new();
    let mut failures = Vec::new();
    for claim in claims {
        let mut at = text.match_indices(claim.text).map(|(i, _)| i);
        let Some(start) = at.next() else {
            failures.push(format!("README.md no longer says {:?}", claim.text));
            continue;
        };
        if at.next().is_some() {
            failures.push(format!(
                "{:?} occurs more than once in the section: quote more of it",
                claim.text
            ));
            continue;
        }
        let Some(offset) = locate(claim.text, claim.figure) else {
            failures.push(format!("no figure {:?} in {:?}", claim.figure, claim.text));
            continue;
        };
        positions.insert(range.start + start + offset);
        let value = (claim.value)(runs);
        let describe = |expected: String| {
            format!(
                "{:?} in {:?}: {expected}, the run gives {value}",
                claim.figure, claim.text
            )
        };
        match claim.check {
            Check::Printed => {
                let (expected, half) = printed_value(claim.figure);
                if (value - expected).abs() > half * (1.0 + 1e-9) + 1e-12 || value.is_nan() {
                    failures.push(describe(format!("printed as {expected} ± {half}")));
                }
            }
            Check::About(expected, tolerance) => {
                let figure = claim.figure.split('#').next().unwrap().replace(',', "");
                if let Ok(number) = figure.parse::<f64>() {
                    assert_eq!(
                        number, expected,
                        "{:?}: the claim expects another figure",
                        claim.text
                    );
                }
                if (value - expected).abs() > tolerance || value.is_nan() {
                    failures.push(describe(format!("stated as {expected} ± {tolerance}")));
                }
            }
            Check::Within(low, high) => {
                if !(low <= value && value < high) {
                    failures.push(describe(format!("stated to lie in [{low}, {high})")));
                }
            }
            Check::Brackets(interval) => {
                let (expected, _) = printed_value(claim.figure);
                let (low, high) = interval(runs);
                if !(low < expected && expected <= high) {
                    failures.push(format!(
                        "{:?} in {:?}: the run implies a value in ({low}, {high}]",
                        claim.figure, claim.text
                    ));
                }
            }
        }
    }
    (positions, failures)
}

#[test]
fn every_figure_in_the_readme_about_an_example_is_what_the_example_gives() {
    let readme = readme();
    let runs = R { runs: run_all() };
    let examples = section(&readme, "Built-in examples");
    let performance = section(&readme, "Performance");

    let claims = example_claims();
    let (mut covered, mut failures) = check_claims(&readme, examples.clone(), &claims, &runs);
    let perf = performance_claims();
    failures.extend(check_claims(&readme, performance.clone(), &perf, &runs).1);

    for c in theory_in_ci99() {
        if !readme[examples.clone()].contains(c.text) {
            failures.push(format!("README.md no longer says {:?}", c.text));
            continue;
        }
        let theory = (c.theory)(&runs);
        let (low, high) = (c.ci99)(&runs);
        if !(low <= theory && theory <= high) {
            failures.push(format!(
                "{:?}: theory {theory} outside the run's 99% CI [{low}, {high}]",
                c.text
            ));
        }
    }

    for (text, figure, constant) in DEFINITIONS {
        match readme[examples.clone()].find(text) {
            Some(at) => {
                covered.insert(examples.start + at + locate(text, figure).unwrap());
                if printed_value(figure).0 != *constant {
                    failures.push(format!(
                        "{figure:?} in {text:?}: the claims measure with {constant}"
                    ));
                }
            }
            None => failures.push(format!("README.md no longer says {text:?}")),
        }
    }

    // Coverage: every number in every row of the table is a figure some claim checked.
    let table = &readme[examples.clone()];
    let mut rows = 0;
    let mut figures = 0;
    let mut line_start = examples.start;
    for line in table.split_inclusive('\n') {
        if line.starts_with("| `") {
            rows += 1;
            for (offset, token) in numbers(line) {
                figures += 1;
                if !covered.contains(&(line_start + offset)) {
                    let name = line.split('`').nth(1).unwrap_or("?");
                    let context: String =
                        line[offset.saturating_sub(40)..].chars().take(80).collect();
                    failures.push(format!(
                        "`{name}`: no claim checks the figure {token} in …{context}…"
                    ));
                }
            }
        }
        line_start += line.len();
    }
    assert_eq!(
        rows,
        scenarios::examples::ALL.len(),
        "the table has a row per built-in example"
    );

    eprintln!(
        "{} claims ({} in the Performance table) over {} runs; {figures} numbers in {rows} rows, \
         each checked",
        claims.len() + perf.len(),
        perf.len(),
        RUNS.len()
    );
    assert!(
        failures.is_empty(),
        "{} README claims fail:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn the_figure_scanner_finds_numbers_and_skips_code_and_labels() {
    let found: Vec<String> = numbers(
        "a 1,091 (12.4%) from 10:00 p99 `--set x=5` Llama-2-7B 429s 8:4:1 (V2, Erlang C) 0.5 → 20%",
    )
    .into_iter()
    .map(|(_, t)| t)
    .collect();
    assert_eq!(
        found,
        ["1,091", "12.4", "10:00", "8", "4", "1", "0.5", "20"]
    );
    assert_eq!(locate("0.8 in 0.817400 and 0.8³", "0.8"), Some(0));
    assert_eq!(locate("0.817400 and 0.8³", "0.8"), Some(13));
    assert_eq!(locate("10/10 and 10", "10#2"), Some(3));
    assert_eq!(locate("1,091", "091"), None);
    assert_eq!(locate("Llama-2-7B ($2/GPU-hour)", "2"), Some(13));
    assert_eq!(locate("fires once, once", "once#2"), Some(12));
    assert_eq!(printed_value("1,091"), (1091.0, 0.5));
    assert_eq!(printed_value("0.070"), (0.07, 0.0005));
    assert!(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).exists());
}
