//! A corpus of bad input, run through the `faultline` binary the way a user would meet it.
//!
//! Every case is one entry of a table: the files to put in a fresh directory (from
//! `tests/corpus/`, literal text, or derived from a real report or sweep made once per run), the
//! arguments (run from that directory, so relative names appear in messages as given), the exact
//! exit code (2 bad input or usage, 1 a run-time failure) and what stderr must say: for scenario
//! files `FILE:LINE:COL` with the line that holds the mistake, and the key path; for `--set` the
//! argument as typed; for other files their path. No case may print "panicked".
//!
//! `KNOWN_FAILING` holds cases whose behaviour is wrong today (the expectation there is the
//! right behaviour, not the current one). The test runs and prints them without asserting; when
//! one starts passing the output says so, and it should move to `CASES`.
//!
//! Run with `cargo test --release --test bad_input_corpus -- --nocapture` to see the report;
//! with `FAULTLINE_CORPUS_VERBOSE=1` it also prints the first line of every case's stderr.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{LazyLock, OnceLock};
use std::time::{Duration, Instant};

/// The longest any case may take; beyond it the process is killed and the case fails as a hang.
const CASE_TIMEOUT: Duration = Duration::from_secs(120);

/// Where a file or directory of a case comes from.
#[derive(Clone, Copy)]
enum Src {
    /// A file under `tests/corpus/`.
    Corpus(&'static str),
    /// Literal text.
    Text(&'static str),
    /// Bytes computed from the fixtures (a real report, a real sweep plan).
    Derived(fn(&Fixtures) -> Vec<u8>),
    /// A copy of the fixture sweep directory, then changed by the function.
    SweepDir(fn(&Path)),
    /// A copy of the fixture report's directory (report.json, report.html, plots/).
    ReportDir,
    /// An empty directory.
    EmptyDir,
}

/// What stderr (or stdout) must contain.
#[derive(Clone)]
enum Expect {
    /// `FILE:LINE:COL: ` somewhere in stderr; column 0 accepts any column.
    At(String, usize, usize),
    /// A substring of stderr.
    Has(String),
    /// A substring of stdout.
    Stdout(String),
}

#[derive(Clone)]
struct Case {
    name: String,
    files: Vec<(String, Src)>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    code: i32,
    expect: Vec<Expect>,
    /// For `KNOWN_FAILING`: what is wrong today.
    why: &'static str,
}

impl Case {
    fn new(name: &str) -> Case {
        Case {
            name: name.to_string(),
            files: Vec::new(),
            args: Vec::new(),
            env: Vec::new(),
            code: 2,
            expect: Vec::new(),
            why: "",
        }
    }

    /// `NAME` placed in the case's directory.
    fn file(mut self, name: &str, src: Src) -> Case {
        self.files.push((name.to_string(), src));
        self
    }

    fn args(mut self, args: &[&str]) -> Case {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    fn env(mut self, key: &str, value: &str) -> Case {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    fn code(mut self, code: i32) -> Case {
        self.code = code;
        self
    }

    /// The error is located at `LINE:COL` of the case's first file (column 0: any column).
    fn at(self, line: usize, col: usize) -> Case {
        let file = self.files[0].0.clone();
        self.at_in(&file, line, col)
    }

    fn at_in(mut self, file: &str, line: usize, col: usize) -> Case {
        self.expect.push(Expect::At(file.to_string(), line, col));
        self
    }

    /// The message names this key path (a more precise path below it also matches).
    fn key(mut self, path: &str) -> Case {
        self.expect.push(Expect::Has(format!("at `{path}")));
        self
    }

    fn says(mut self, text: &str) -> Case {
        self.expect.push(Expect::Has(text.to_string()));
        self
    }

    fn prints(mut self, text: &str) -> Case {
        self.expect.push(Expect::Stdout(text.to_string()));
        self
    }

    fn why(mut self, why: &'static str) -> Case {
        self.why = why;
        self
    }
}

/// `faultline validate` of `tests/corpus/scenario/FILE`.
fn scn(file: &str) -> Case {
    let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
    Case::new(&format!("scenario/{stem}"))
        .file(file, Src::Corpus(leak(format!("scenario/{file}"))))
        .args(&["validate", file])
}

/// `faultline validate` of a scenario replaying `tests/corpus/trace/FILE` (as `trace.csv` or
/// `trace.jsonl`, named on line 6, column 40 of `replay.toml`).
fn trace(file: &str) -> Case {
    let ext = file.rsplit_once('.').map_or("", |(_, e)| e);
    Case::new(&format!("trace/{file}"))
        .file(
            "replay.toml",
            Src::Corpus(leak(format!("trace/replay_{ext}.toml"))),
        )
        .file(
            leak(format!("trace.{ext}")),
            Src::Corpus(leak(format!("trace/{file}"))),
        )
        .args(&["validate", "replay.toml"])
        .at(6, 40)
        .key("tenants[0].arrivals.path")
}

/// A command on the valid base scenario (`base.toml`, the 11-line scenario of
/// `tests/corpus/valid/base.toml`).
fn on_base(name: &str, args: &[&str]) -> Case {
    Case::new(name)
        .file("base.toml", Src::Corpus("valid/base.toml"))
        .args(args)
}

/// `faultline validate base.toml --set ARG`.
fn set(name: &str, arg: &str) -> Case {
    on_base(
        &format!("set/{name}"),
        &["validate", "base.toml", "--set", arg],
    )
    .says(arg)
}

/// `faultline sweep base.toml --set SPEC --out sweep` (short runs when the spec is accepted).
fn sweep(name: &str, extra: &[&str]) -> Case {
    on_base(
        &format!("sweep/{name}"),
        &[
            "sweep",
            "base.toml",
            "--replications",
            "1",
            "--set",
            "horizon=10s",
            "--out",
            "sweep",
        ],
    )
    .args(extra)
}

/// `faultline COMMAND report.json` with `report.json` from `src`.
fn report(name: &str, command: &str, src: Src) -> Case {
    let mut c = Case::new(&format!("{command}/{name}"))
        .file("report.json", src)
        .args(&[command, "report.json"]);
    if command == "plot" {
        c = c.args(&["--out", "plotted"]);
    }
    c
}

/// `faultline merge sweep` of the fixture sweep changed by `change`.
fn merge(name: &str, change: fn(&Path)) -> Case {
    Case::new(&format!("merge/{name}"))
        .file("sweep", Src::SweepDir(change))
        .args(&["merge", "sweep"])
}

fn cli(name: &str, args: &[&str]) -> Case {
    Case::new(&format!("cli/{name}")).args(args)
}

fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

// ------------------------------------------------------------------------------------------
// Fixtures: a real report and a real sweep, made once per test run.

struct Fixtures {
    report_dir: PathBuf,
    report: Value,
    sweep_dir: PathBuf,
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        let dir = common::scratch_dir("corpus-fixtures");
        let report_dir = dir.join("report");
        let o = common::faultline(&[
            "run",
            "example:mm1",
            "--set",
            "horizon=100s",
            "--set",
            "warmup=0s",
            "--replications",
            "2",
            "--out",
            report_dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(report_dir.join("report.json")).unwrap();
        let sweep_dir = dir.join("sweep");
        let o = common::faultline(&[
            "sweep",
            "example:mm1",
            "--set",
            "horizon=100s,200s",
            "--set",
            "warmup=0s",
            "--replications",
            "1",
            "--out",
            sweep_dir.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        Fixtures {
            report_dir,
            report: serde_json::from_str(&text).unwrap(),
            sweep_dir,
        }
    })
}

/// The fixture report, changed by `edit`, pretty-printed.
fn report_with(f: &Fixtures, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut r = f.report.clone();
    edit(&mut r);
    serde_json::to_vec_pretty(&r).unwrap()
}

fn remove_key(v: &mut Value, key: &str) {
    v.as_object_mut().unwrap().remove(key);
}

/// Rewrites a JSON file of a sweep directory.
fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

// ------------------------------------------------------------------------------------------
// The corpus.

static CASES: LazyLock<Vec<Case>> = LazyLock::new(|| {
    let mut c = Vec::new();
    c.extend(scenario_cases());
    c.extend(json_cases());
    c.extend(trace_cases());
    c.extend(set_cases());
    c.extend(sweep_cases());
    c.extend(report_cases());
    c.extend(merge_cases());
    c.extend(output_cases());
    c.extend(cli_cases());
    c.extend(runtime_cases());
    c
});

fn scenario_cases() -> Vec<Case> {
    vec![
        // TOML syntax: the parser's own position.
        scn("syntax_unterminated_string.toml")
            .at(9, 12)
            .says("invalid basic string"),
        scn("syntax_missing_equals.toml")
            .at(4, 6)
            .says("expected `=`"),
        scn("syntax_duplicate_key.toml")
            .at(10, 1)
            .says("duplicate key"),
        scn("syntax_duplicate_table.toml")
            .at(16, 2)
            .says("duplicate key"),
        scn("syntax_unclosed_array.toml")
            .at(16, 19)
            .says("unclosed array"),
        scn("syntax_bad_escape.toml")
            .at(4, 11)
            .says("escaped value"),
        scn("syntax_bare_value.toml")
            .at(1, 11)
            .says("must be quoted"),
        scn("syntax_table_vs_array.toml")
            .at(13, 2)
            .says("duplicate key"),
        scn("syntax_only_comments.toml")
            .at(1, 1)
            .says("missing field `horizon`"),
        scn("syntax_invalid_utf8.toml").at(4, 10).says("not UTF-8"),
        scn("syntax_nul_byte.toml").at(9, 10),
        // Unknown keys, at every level of nesting.
        scn("unknown_top.toml")
            .at(2, 1)
            .key("horizn")
            .says("unknown field `horizn`")
            .says("expected one of"),
        scn("unknown_tenant.toml")
            .at(6, 1)
            .key("tenants[0].rate")
            .says("unknown field `rate`"),
        scn("unknown_arrivals.toml")
            .at(6, 0)
            .key("tenants[0].arrivals")
            .says("unknown field `burst`"),
        scn("unknown_backend.toml")
            .at(11, 1)
            .key("backends[0].failure_probabilty")
            .says("unknown field `failure_probabilty`"),
        scn("unknown_service.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("unknown field `sd`"),
        // Workflows and dependencies: each mistake names its key path.
        scn("workflow_unknown_field.toml")
            .at(16, 1)
            .key("tenants[0].workflow.activities[0].checkpoint")
            .says("unknown field `checkpoint`"),
        scn("workflow_backoff_below_one.toml")
            .at(16, 58)
            .key("tenants[0].workflow.activities[0].retry.backoff_coefficient")
            .says("at least 1"),
        scn("workflow_activity_without_target.toml")
            .at(13, 1)
            .key("tenants[0].workflow.activities[0]")
            .says("exactly one of `route`, `backend` or `compute`"),
        scn("workflow_unknown_error_type.toml")
            .at(16, 40)
            .key("tenants[0].workflow.activities[0].retry.non_retryable_error_types[0]")
            .says("unknown error type `timeout`"),
        scn("workflow_unknown_backend.toml")
            .at(19, 11)
            .key("tenants[0].workflow.activities[1].backend")
            .says("no backend is named `lml`"),
        scn("workflow_prompt_update_on_compute.toml")
            .at(13, 17)
            .key("tenants[0].workflow.activities[0].prompt_update")
            .says("no prompt to update"),
        // SLOs over a workflow's executions.
        scn("workflow_slo_not_a_workflow.toml")
            .at(25, 0)
            .key("slos[0].workflow")
            .says("no tenant named `chat` runs a workflow (tenants with one: rag)"),
        scn("workflow_slo_ttft.toml")
            .at(26, 0)
            .key("slos[0].indicator.kind")
            .says("a workflow execution has no first token"),
        // Work queues.
        scn("work_queue_low_water_above_high.toml")
            .at(11, 48)
            .key("work_queues[0].backpressure.low_water")
            .says("must be below the high-water mark"),
        scn("work_queue_drop_without_mark.toml")
            .at(6, 1)
            .key("work_queues[0].drop_above")
            .says("needs the backlog to drop at"),
        scn("workflow_restart_beyond_mtbf.toml")
            .at(15, 59)
            .key("tenants[0].workflow.activities[0].compute.mtbf")
            .says("a tenth of the restart time"),
        scn("workflow_timeout_zero.toml")
            .at(16, 26)
            .key("tenants[0].workflow.activities[0].start_to_close_timeout")
            .says("longer than 0s"),
        scn("dependency_with_token_latency.toml")
            .at(20, 20)
            .key("backends[0].per_output_token")
            .says("only an `llm` backend"),
        scn("unknown_gateway.toml")
            .at(15, 1)
            .key("gateway.queue_size")
            .says("unknown field `queue_size`"),
        scn("unknown_retry.toml")
            .at(15, 1)
            .key("gateway.retry.max_retries")
            .says("unknown field `max_retries`"),
        scn("unknown_retry_budget.toml")
            .at(15, 0)
            .key("gateway.retry.budget")
            .says("unknown field `tokens`"),
        scn("unknown_admission.toml")
            .at(15, 1)
            .key("gateway.admission.max_depth")
            .says("unknown field `max_depth`"),
        scn("unknown_rate_limit.toml")
            .at(15, 1)
            .key("gateway.rate_limits[0].window")
            .says("unknown field `window`"),
        scn("unknown_hedge.toml")
            .at(15, 1)
            .key("gateway.hedge.max_hedges")
            .says("unknown field `max_hedges`"),
        scn("unknown_idempotency.toml")
            .at(15, 30)
            .key("gateway.idempotency.ttl")
            .says("unknown field `ttl`"),
        scn("unknown_guardrail.toml")
            .at(15, 1)
            .key("gateway.input_guardrail.precision")
            .says("unknown field `precision`"),
        scn("unknown_route.toml")
            .at(14, 1)
            .key("routes[0].fallback_backends")
            .says("unknown field `fallback_backends`"),
        scn("unknown_validator.toml")
            .at(15, 52)
            .key("routes[0].validator.strictness")
            .says("unknown field `strictness`"),
        scn("unknown_validator_category.toml")
            .at(15, 39)
            .key("routes[0].validator.recall.formatting")
            .says("unknown soft-failure category `formatting`"),
        scn("unknown_soft_failure_category.toml")
            .at(15, 36)
            .key("routes[0].soft_failures.hallucinations")
            .says("unknown soft-failure category `hallucinations`"),
        scn("unknown_fallback.toml")
            .at(15, 44)
            .key("routes[0].fallback.on_429")
            .says("unknown field `on_429`"),
        scn("unknown_cache.toml")
            .at(15, 0)
            .key("routes[0].cache")
            .says("unknown field `size`"),
        scn("unknown_breaker.toml")
            .at(21, 39)
            .key("backends[0].circuit_breaker.failure_threshold")
            .says("unknown field `failure_threshold`"),
        scn("unknown_cooldown.toml")
            .at(21, 33)
            .key("backends[0].cooldown.duration")
            .says("unknown field `duration`"),
        scn("unknown_price.toml")
            .at(21, 31)
            .key("backends[0].price.output_per_ktok")
            .says("unknown field `output_per_ktok`"),
        scn("unknown_provider_limits.toml")
            .at(21, 17)
            .key("backends[0].rate_limits.requests_per_second")
            .says("unknown field `requests_per_second`"),
        scn("unknown_outage.toml")
            .at(21, 46)
            .key("backends[0].outages[0].severity")
            .says("unknown field `severity`"),
        scn("unknown_slowdown.toml")
            .at(21, 64)
            .key("backends[0].slowdowns[0].factor")
            .says("unknown field `factor`"),
        scn("unknown_degradation.toml")
            .at(21, 84)
            .key("backends[0].degradation.start")
            .says("unknown field `start`"),
        scn("unknown_model_update.toml")
            .at(21, 48)
            .key("backends[0].model_updates[0].version")
            .says("unknown field `version`"),
        scn("unknown_error_class.toml")
            .at(21, 42)
            .key("backends[0].errors.teapot")
            .says("unknown error class `teapot`"),
        scn("unknown_step.toml")
            .at(6, 48)
            .key("tenants[0].steps[1].temperature")
            .says("unknown field `temperature`"),
        scn("unknown_agent_loop.toml")
            .at(8, 55)
            .key("tenants[0].agent_loop.max_turns")
            .says("unknown field `max_turns`"),
        scn("unknown_token_dist.toml")
            .at(8, 0)
            .key("tenants[0].prompt_tokens")
            .says("unknown field `p50`"),
        scn("unknown_gpu_pool.toml")
            .at(18, 1)
            .key("backends[0].gpu_pool.gpus")
            .says("unknown field `gpus`"),
        scn("unknown_gpu_kv.toml")
            .at(17, 70)
            .key("backends[0].gpu_pool.kv.dtype")
            .says("unknown field `dtype`"),
        scn("unknown_gpu_autoscale.toml")
            .at(23, 1)
            .key("backends[0].gpu_pool.autoscale.min")
            .says("unknown field `min`"),
        scn("unknown_gpu_crashes.toml")
            .at(18, 109)
            .key("backends[0].gpu_pool.crashes.rate")
            .says("unknown field `rate`"),
        scn("unknown_slo.toml")
            .at(17, 1)
            .key("slos[0].target")
            .says("unknown field `target`"),
        scn("unknown_slo_time_window.toml")
            .at(17, 35)
            .key("slos[0].time_window.rolling")
            .says("unknown field `rolling`"),
        scn("unknown_slo_alerting.toml")
            .at(17, 39)
            .key("slos[0].alerting.channel")
            .says("unknown field `channel`"),
        scn("unknown_slo_rule.toml")
            .at(17, 147)
            .key("slos[0].alerting.rules[0].colour")
            .says("unknown field `colour`"),
        scn("unknown_chaos.toml")
            .at(19, 1)
            .key("chaos.dry_run")
            .says("unknown field `dry_run`"),
        scn("unknown_chaos_experiment.toml")
            .at(22, 1)
            .key("chaos.experiments[0].owner")
            .says("unknown field `owner`"),
        scn("unknown_chaos_method.toml")
            .at(21, 76)
            .key("chaos.experiments[0].method[0].severity")
            .says("unknown field `severity`"),
        scn("unknown_chaos_steady_state.toml")
            .at(22, 47)
            .key("chaos.experiments[0].steady_state.tolerance")
            .says("unknown field `tolerance`"),
        scn("unknown_chaos_probe.toml")
            .at(22, 52)
            .key("chaos.experiments[0].steady_state.probes[0].margin")
            .says("unknown field `margin`"),
        scn("unknown_chaos_gate.toml")
            .at(22, 36)
            .key("chaos.experiments[0].safety_gate.abort")
            .says("unknown field `abort`"),
        scn("unknown_cost_guard.toml")
            .at(15, 1)
            .key("cost_guard.budget_usd_per_day")
            .says("unknown field `budget_usd_per_day`"),
        // Wrong types.
        scn("type_name_number.toml")
            .at(4, 8)
            .key("tenants[0].name")
            .says("expected a string"),
        scn("type_concurrency_word.toml")
            .at(10, 15)
            .key("backends[0].concurrency")
            .says("\"sixteen\""),
        scn("type_concurrency_float.toml")
            .at(10, 15)
            .key("backends[0].concurrency")
            .says("1.5"),
        scn("type_tenants_table.toml")
            .at(3, 1)
            .key("tenants")
            .says("expected a sequence"),
        scn("type_backends_string.toml")
            .at(2, 12)
            .key("backends")
            .says("expected a sequence"),
        scn("type_probability_string.toml")
            .at(11, 23)
            .key("backends[0].failure_probability")
            .says("\"10%\""),
        scn("type_max_attempts_bool.toml")
            .at(14, 16)
            .key("gateway.retry.max_attempts")
            .says("boolean"),
        scn("type_retry_on_string.toml")
            .at(15, 12)
            .key("gateway.retry.retry_on")
            .says("expected a sequence"),
        scn("type_outages_table.toml")
            .at(21, 11)
            .key("backends[0].outages")
            .says("expected a sequence"),
        scn("type_description_number.toml")
            .at(1, 15)
            .key("description")
            .says("expected a string"),
        scn("type_seed_string.toml")
            .at(2, 8)
            .key("seed")
            .says("\"seven\""),
        scn("type_arrivals_string.toml")
            .at(6, 12)
            .key("tenants[0].arrivals")
            .says("\"poisson\""),
        scn("type_gateway_array.toml").at(13, 1).key("gateway"),
        scn("type_fallbacks_string.toml")
            .at(14, 13)
            .key("routes[0].fallbacks")
            .says("expected a sequence"),
        // Out of range.
        scn("range_probability_high.toml")
            .at(11, 23)
            .key("backends[0].failure_probability")
            .says("probability between 0 and 1, found 1.5"),
        scn("range_probability_negative.toml")
            .at(11, 23)
            .key("backends[0].failure_probability")
            .says("found -0.1"),
        scn("range_probability_nan.toml")
            .at(11, 23)
            .key("backends[0].failure_probability")
            .says("found NaN"),
        scn("range_probability_inf.toml")
            .at(11, 23)
            .key("backends[0].failure_probability")
            .says("found inf"),
        scn("range_concurrency_zero.toml")
            .at(10, 15)
            .key("backends[0].concurrency")
            .says("found 0"),
        scn("range_concurrency_negative.toml")
            .at(10, 15)
            .key("backends[0].concurrency")
            .says("found -4"),
        scn("range_concurrency_huge.toml")
            .at(10, 15)
            .key("backends[0].concurrency")
            .says("found 4294967296"),
        scn("range_queue_capacity_negative.toml")
            .at(14, 18)
            .key("gateway.queue_capacity")
            .says("found -1"),
        scn("range_max_attempts_zero.toml")
            .at(14, 16)
            .key("gateway.retry.max_attempts")
            .says("found 0"),
        scn("range_replications_zero.toml")
            .at(2, 16)
            .key("replications")
            .says("at least one replication"),
        scn("range_replications_negative.toml")
            .at(2, 16)
            .key("replications")
            .says("-3"),
        scn("range_seed_negative.toml")
            .at(2, 8)
            .key("seed")
            .says("-1"),
        scn("range_priority_u8.toml")
            .at(6, 12)
            .key("tenants[0].priority")
            .says("300"),
        scn("range_errors_sum.toml")
            .at(21, 10)
            .key("backends[0].errors")
            .says("add up to 1.2"),
        scn("range_soft_failures_sum.toml")
            .at(15, 17)
            .key("routes[0].soft_failures")
            .says("add up to more than 1"),
        scn("range_injection_share.toml")
            .at(8, 19)
            .key("tenants[0].injection_share")
            .says("found 2"),
        scn("range_slo_objective.toml")
            .at(15, 13)
            .key("slos[0].objective")
            .says("below 100%"),
        scn("range_slo_objective_text.toml")
            .at(15, 13)
            .key("slos[0].objective")
            .says("\"high\""),
        scn("range_breaker_threshold.toml")
            .at(21, 46)
            .key("backends[0].circuit_breaker.failure_rate_threshold")
            .says("found 2"),
        scn("range_hedge_quantile.toml")
            .at(29, 22)
            .key("gateway.hedge.quantile")
            .says("found 1.5"),
        scn("range_max_tokens_negative.toml")
            .at(8, 14)
            .key("tenants[0].max_tokens")
            .says("-1"),
        scn("range_budget_negative.toml")
            .at(8, 14)
            .key("tenants[0].budget_usd")
            .says("found -5"),
        scn("range_warmup_past_horizon.toml")
            .at(2, 10)
            .key("warmup")
            .says("shorter than the horizon"),
        scn("range_horizon_zero.toml")
            .at(1, 11)
            .key("horizon")
            .says("longer than 0s"),
        scn("range_horizon_too_long.toml")
            .at(1, 11)
            .key("horizon")
            .says("unknown time unit `y`"),
        scn("range_horizon_overflow.toml")
            .at(1, 11)
            .key("horizon")
            .says("too long"),
        scn("range_gpu_replicas_zero.toml")
            .at(15, 12)
            .key("backends[0].gpu_pool.replicas")
            .says("at least one replica"),
        scn("range_gpu_kv_admission.toml")
            .at(18, 16)
            .key("backends[0].gpu_pool.kv_admission")
            .says("found 0"),
        scn("range_step_count.toml")
            .at(6, 9)
            .key("tenants[0].steps")
            .says("at most 64 steps"),
        // Missing required fields.
        scn("missing_horizon.toml")
            .at(1, 1)
            .says("missing field `horizon`"),
        scn("missing_tenants.toml")
            .at(1, 1)
            .says("missing field `tenants`"),
        scn("missing_backends.toml")
            .at(1, 1)
            .says("missing field `backends`"),
        scn("empty_tenants.toml")
            .at(2, 11)
            .key("tenants")
            .says("at least one tenant"),
        scn("missing_tenant_name.toml")
            .at(3, 1)
            .key("tenants[0]")
            .says("missing field `name`"),
        scn("missing_arrivals.toml")
            .at(3, 1)
            .key("tenants[0]")
            .says("missing field `arrivals`"),
        scn("missing_tenant_target.toml")
            .at(3, 1)
            .key("tenants[0]")
            .says("exactly one of `backend`, `route`, `steps` or `workflow`"),
        scn("missing_service.toml")
            .at(8, 1)
            .key("backends[0]")
            .says("needs a latency model"),
        scn("missing_route_backend.toml")
            .at(11, 1)
            .key("routes[0]")
            .says("missing field `backend`"),
        scn("missing_slo_indicator.toml")
            .at(13, 1)
            .key("slos[0]")
            .says("missing field `indicator`"),
        scn("missing_experiment_method.toml")
            .at(18, 1)
            .key("chaos.experiments[0]")
            .says("missing field `method`"),
        scn("missing_rate.toml")
            .at(6, 12)
            .key("tenants[0].arrivals")
            .says("missing field `rate`"),
        scn("missing_process.toml")
            .at(6, 12)
            .key("tenants[0].arrivals")
            .says("missing field `process`"),
        scn("missing_dist.toml")
            .at(10, 11)
            .key("backends[0].service")
            .says("missing field `dist`"),
        scn("missing_output_tokens_for_ttft.toml")
            .at(4, 1)
            .key("tenants[0].output_tokens")
            .says("need `output_tokens`"),
        // Distributions.
        scn("dist_unknown.toml")
            .at(10, 20)
            .key("backends[0].service.dist")
            .says("unknown variant `normal`"),
        scn("dist_unknown_multiline.toml")
            .at(13, 8)
            .key("backends[0].service.dist")
            .says("unknown variant `exponentiall`"),
        scn("dist_lognormal_p99_below_median.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("must be greater than the median"),
        scn("dist_uniform_inverted.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("must not exceed high"),
        scn("dist_empirical_empty.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("at least one value"),
        scn("dist_gamma_shape_zero.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("found 0"),
        scn("dist_weibull_shape_negative.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("found -1"),
        scn("dist_hyperexp_scv_low.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("at least 1, found 0.5"),
        scn("dist_lognormal_params_sigma.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("sigma must be non-negative"),
        scn("dist_lognormal_params_nan.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("mu = NaN"),
        scn("dist_lognormal_params_huge.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("mu = 1e308"),
        scn("dist_pareto_missing_scale.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("missing field `scale`"),
        scn("dist_deterministic_negative.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("`-1s` is not a duration"),
        scn("dist_exponential_zero_mean.toml")
            .at(10, 0)
            .key("backends[0].service")
            .says("longer than 0s"),
        scn("dist_token_uniform_inverted.toml")
            .at(8, 0)
            .key("tenants[0].prompt_tokens")
            .says("low (900) must not exceed high (100)"),
        scn("dist_token_duration_given.toml")
            .at(8, 0)
            .key("tenants[0].prompt_tokens")
            .says("\"800\""),
        scn("dist_token_unknown_multiline.toml")
            .at(11, 8)
            .key("tenants[0].prompt_tokens.dist")
            .says("unknown variant `poisson`"),
        // Durations and rates.
        scn("duration_number.toml")
            .at(1, 11)
            .key("horizon")
            .says("a duration string with a unit"),
        scn("duration_unknown_unit.toml")
            .at(1, 11)
            .key("horizon")
            .says("unknown time unit `parsecs`"),
        scn("duration_no_unit.toml")
            .at(1, 11)
            .key("horizon")
            .says("`1h30` is not a duration"),
        scn("duration_nan.toml")
            .at(1, 11)
            .key("horizon")
            .says("`NaNs` is not a duration"),
        scn("duration_two_dots.toml")
            .at(1, 11)
            .key("horizon")
            .says("`1.5.5s` is not a duration"),
        scn("rate_no_unit.toml")
            .at(6, 0)
            .key("tenants[0].arrivals")
            .says("`2` is not a rate"),
        scn("rate_bad_unit.toml")
            .at(6, 0)
            .key("tenants[0].arrivals")
            .says("`2/fortnight` is not a rate"),
        scn("rate_negative.toml")
            .at(6, 0)
            .key("tenants[0].arrivals")
            .says("rate `-2/s` must be positive"),
        scn("rate_zero.toml")
            .at(6, 0)
            .key("tenants[0].arrivals")
            .says("rate `0/s` must be positive"),
        scn("rate_number.toml")
            .at(6, 0)
            .key("tenants[0].arrivals")
            .says("a rate string with a unit"),
        scn("deadline_before_timeout.toml")
            .at(14, 19)
            .key("gateway.attempt_timeout")
            .says("shorter than the call deadline"),
        scn("timeout_zero.toml")
            .at(14, 19)
            .key("gateway.attempt_timeout")
            .says("longer than 0s"),
        scn("hang_without_timeout.toml")
            .at(12, 53)
            .key("backends[0].outages[0].mode")
            .says("needs gateway.attempt_timeout"),
        scn("outage_start_and_mtbf.toml")
            .at(12, 12)
            .key("backends[0].outages[0]")
            .says("give either `start` and `duration`"),
        scn("outage_no_timing.toml")
            .at(12, 12)
            .key("backends[0].outages[0]")
            .says("give either `start` and `duration`"),
        scn("piecewise_first_step_late.toml")
            .at(6, 0)
            .key("tenants[0].arrivals")
            .says("must start at 0s"),
        scn("piecewise_unordered.toml")
            .at(6, 0)
            .key("tenants[0].arrivals")
            .says("increasing time order"),
        scn("diurnal_weights_count.toml")
            .at(6, 66)
            .key("tenants[0].arrivals.hourly_weights")
            .says("expected 24 weights"),
        scn("diurnal_peak_hour.toml")
            .at(6, 81)
            .key("tenants[0].arrivals.peak_hour")
            .says("found 25"),
        scn("instant_retry_loop.toml")
            .at(15, 16)
            .key("gateway.retry.max_attempts")
            .says("backend `api`"),
        // Duplicate names and dangling references.
        scn("dup_tenant.toml")
            .at(14, 8)
            .key("tenants[1].name")
            .says("already named `web`"),
        scn("dup_backend.toml")
            .at(14, 8)
            .key("backends[1].name")
            .says("already named `api`"),
        scn("dup_route.toml")
            .at(31, 8)
            .key("routes[1].name")
            .says("already named `chat`"),
        scn("dup_slo.toml")
            .at(19, 8)
            .key("slos[1].name")
            .says("named `availability`"),
        scn("dup_experiment.toml")
            .at(24, 8)
            .key("chaos.experiments[1].name")
            .says("named `storm`"),
        scn("ref_tenant_backend.toml")
            .at(5, 11)
            .key("tenants[0].backend")
            .says("no backend is named `apii`; the backends are: api"),
        scn("ref_tenant_route.toml")
            .at(6, 9)
            .key("tenants[0].route")
            .says("no route is named `chatt`"),
        scn("ref_route_backend.toml")
            .at(13, 11)
            .key("routes[0].backend")
            .says("no backend is named `primery`"),
        scn("ref_route_fallback.toml")
            .at(14, 27)
            .key("routes[0].fallbacks[1]")
            .says("no backend is named `tertiary`"),
        scn("ref_fallback_self.toml")
            .at(14, 14)
            .key("routes[0].fallbacks[0]")
            .says("already in this route's chain"),
        scn("ref_step_route.toml")
            .at(6, 40)
            .key("tenants[0].steps[1].route")
            .says("no route is named `plan`"),
        scn("ref_both_backend_and_route.toml")
            .at(4, 1)
            .key("tenants[0]")
            .says("exactly one of"),
        scn("ref_chaos_backend.toml")
            .at(21, 68)
            .key("chaos.experiments[0].method[0].backends[0]")
            .says("no backend is named `ap1`"),
        scn("ref_chaos_tenant.toml")
            .at(21, 67)
            .key("chaos.experiments[0].method[0].tenants[0]")
            .says("no tenant is named `mobile`"),
        scn("ref_chaos_slo.toml")
            .at(22, 7)
            .key("chaos.experiments[0].slo")
            .says("no SLO is named `latency`"),
        scn("ref_probe_slo.toml")
            .at(22, 36)
            .key("chaos.experiments[0].steady_state.probes[0].slo")
            .says("no SLO is named `latency`"),
        scn("ref_slo_tenant.toml")
            .at(17, 12)
            .key("slos[0].tenants[0]")
            .says("no tenant is named `mobile`"),
        scn("ref_retry_on_class.toml")
            .at(15, 12)
            .key("gateway.retry.retry_on")
            .says("unknown error class `teapot`"),
        // Chaos, SLO, GPU-pool and resilience sections.
        scn("chaos_without_slo.toml")
            .at(13, 1)
            .key("chaos.experiments[0].slo")
            .says("define one under [[slos]]"),
        scn("chaos_kind_unknown.toml")
            .at(21, 20)
            .key("chaos.experiments[0].method[0].kind")
            .says("unknown variant `meteor_strike`"),
        scn("chaos_hang_without_timeout.toml")
            .at(21, 46)
            .key("chaos.experiments[0].method[0].mode")
            .says("needs gateway.attempt_timeout"),
        scn("chaos_method_empty.toml")
            .at(21, 10)
            .key("chaos.experiments[0].method")
            .says("at least one fault"),
        scn("chaos_tolerance_bad.toml")
            .at(22, 64)
            .key("chaos.experiments[0].steady_state.probes[0].tolerance")
            .says("\"lots\""),
        scn("chaos_gate_burn_zero.toml")
            .at(22, 33)
            .key("chaos.experiments[0].safety_gate.max_burn_rate")
            .says("found 0"),
        scn("chaos_latency_without_effect.toml")
            .at(21, 11)
            .key("chaos.experiments[0].method[0]")
            .says("needs `add`"),
        scn("chaos_share_high.toml")
            .at(21, 64)
            .key("chaos.experiments[0].method[0].share")
            .says("found 1.5"),
        scn("slo_kind_unknown.toml")
            .at(16, 22)
            .key("slos[0].indicator.kind")
            .says("unknown variant `happiness`"),
        scn("slo_latency_without_threshold.toml")
            .at(16, 13)
            .key("slos[0].indicator")
            .says("missing field `threshold`"),
        scn("slo_alert_severity.toml")
            .at(17, 68)
            .key("slos[0].alerting.rules[0].severity")
            .says("unknown variant `urgent`"),
        scn("slo_short_window_longer.toml")
            .at(17, 111)
            .key("slos[0].alerting.rules[0].short_window")
            .says("short window (1h) is longer than the long window (5m)"),
        scn("slo_preset_unknown.toml")
            .at(17, 23)
            .key("slos[0].alerting.preset")
            .says("unknown variant `nagios`"),
        scn("slo_budgeting_unknown.toml")
            .at(17, 20)
            .key("slos[0].budgeting_method")
            .says("unknown variant `vibes`"),
        scn("slo_threshold_without_timeslices.toml")
            .at(13, 1)
            .key("slos[0].budgeting_method")
            .says("timeslices"),
        scn("gpu_preset_unknown.toml")
            .at(16, 13)
            .key("backends[0].gpu_pool.step_time")
            .says("unknown step-time preset `llama9-1t-tpu`"),
        scn("gpu_model_unknown.toml")
            .at(17, 37)
            .key("backends[0].gpu_pool.kv.model")
            .says("unknown model `gpt-5`"),
        scn("gpu_weights_exceed_memory.toml")
            .at(17, 6)
            .key("backends[0].gpu_pool.kv")
            .says("do not fit"),
        scn("gpu_with_service.toml")
            .at(15, 1)
            .key("backends[0].gpu_pool")
            .says("leave out `service`"),
        scn("gpu_autoscale_min_over_max.toml")
            .at(20, 1)
            .key("backends[0].gpu_pool.autoscale")
            .says("min_replicas (5) and max_replicas (2)"),
        scn("gpu_autoscale_no_target.toml")
            .at(20, 1)
            .key("backends[0].gpu_pool.autoscale")
            .says("target_utilisation"),
        scn("gpu_routing_unknown.toml")
            .at(18, 11)
            .key("backends[0].gpu_pool.routing")
            .says("unknown variant `random`"),
        scn("breaker_window_zero.toml")
            .at(21, 35)
            .key("backends[0].circuit_breaker.window_size")
            .says("at least 1"),
        scn("network_empty.toml")
            .at(21, 11)
            .key("backends[0].network")
            .says("needs a `delay`"),
        scn("network_unknown_field.toml")
            .at(21, 13)
            .key("backends[0].network.latency")
            .says("unknown field `latency`"),
        scn("stream_failures_zero.toml")
            .at(21, 35)
            .key("backends[0].stream_failures.probability")
            .says("never breaks a stream"),
        scn("memory_free_calls.toml")
            .at(21, 10)
            .key("backends[0].memory")
            .says("give `per_call_mb` or `per_token_kb`"),
        scn("memory_restart_zero.toml")
            .at(21, 54)
            .key("backends[0].memory.restart")
            .says("longer than 0s"),
        scn("errors_stream_interrupted.toml")
            .at(21, 33)
            .key("backends[0].errors.stream_interrupted")
            .says("broken streams from stream_failures"),
        scn("rate_limit_gcra_delay.toml")
            .at(16, 12)
            .key("gateway.rate_limits[0].on_limit")
            .says("token_bucket"),
        scn("rate_limit_missing_limit.toml")
            .at(13, 1)
            .key("gateway.rate_limits[0]")
            .says("missing field `limit`"),
        scn("budget_kind_unknown.toml")
            .at(15, 19)
            .key("gateway.retry.budget.kind")
            .says("unknown variant `netflix`"),
        scn("scheduling_unknown.toml")
            .at(14, 14)
            .key("gateway.scheduling")
            .says("unknown variant `lifo`"),
        scn("backoff_unknown.toml")
            .at(15, 11)
            .key("gateway.retry.backoff")
            .says("unknown variant `fibonacci`"),
        scn("hedge_both_delay_and_quantile.toml")
            .at(29, 9)
            .key("gateway.hedge")
            .says("either `delay`"),
        scn("idempotency_without_timeout.toml")
            .at(14, 15)
            .key("gateway.idempotency")
            .says("set gateway.attempt_timeout"),
        scn("fallback_without_chain.toml")
            .at(14, 12)
            .key("routes[0].fallback")
            .says("needs somewhere to go"),
        scn("validator_fallback_without_chain.toml")
            .at(14, 61)
            .key("routes[0].validator.action")
            .says("needs the route to list `fallbacks`"),
        scn("cost_guard_empty.toml")
            .at(13, 1)
            .key("cost_guard")
            .says("`budget_usd_per_hour`, `anomaly_threshold`"),
        scn("when_busy_unknown.toml")
            .at(10, 13)
            .key("backends[0].when_busy")
            .says("unknown variant `drop`"),
    ]
}

fn json_cases() -> Vec<Case> {
    vec![
        scn("json_trailing_comma.json")
            .at(15, 5)
            .says("trailing comma"),
        scn("json_single_quotes.json")
            .at(5, 7)
            .says("key must be a string"),
        scn("json_comment.json")
            .at(2, 3)
            .says("key must be a string"),
        scn("json_truncated.json").at(10, 1).says("EOF"),
        scn("json_top_level_array.json")
            .at(1, 1)
            .says("expected a JSON object"),
        scn("json_duplicate_key.json")
            .at(3, 11)
            .says("duplicate field `horizon`"),
        scn("json_nan.json")
            .at(14, 30)
            .key("backends[0].failure_probability"),
        scn("json_huge_number.json")
            .at(14, 34)
            .key("backends[0].failure_probability")
            .says("out of range"),
        scn("json_unknown_key.json")
            .at(7, 12)
            .key("tenants[0].rate")
            .says("unknown field `rate`"),
        scn("json_wrong_type.json")
            .at(5, 14)
            .key("tenants[0].name")
            .says("expected a string"),
        scn("json_dangling_backend.json")
            .at(6, 23)
            .key("tenants[0].backend")
            .says("no backend is named `apii`"),
        scn("json_missing_horizon.json")
            .says("json_missing_horizon.json:16:1: missing field `horizon`"),
        scn("json_empty.json").at(1, 1).says("empty"),
        scn("json_null.json")
            .at(1, 1)
            .says("expected a JSON object"),
        scn("json_tagged_inner.json")
            .at(13, 0)
            .key("backends[0].service")
            .says("a duration string with a unit"),
    ]
}

fn trace_cases() -> Vec<Case> {
    vec![
        trace("empty.csv").says("trace.csv: the file is empty"),
        trace("header_only.csv").says("trace.csv: the trace holds no requests"),
        trace("bad_header.csv").says("trace.csv:1: missing column `TIMESTAMP`"),
        trace("missing_column.csv").says("trace.csv:1: missing column `GeneratedTokens`"),
        trace("bad_number.csv").says("trace.csv:3: ContextTokens"),
        trace("negative_tokens.csv").says("trace.csv:3: ContextTokens"),
        trace("fractional_tokens.csv").says("trace.csv:3: GeneratedTokens"),
        trace("huge_tokens.csv").says("trace.csv:3: GeneratedTokens"),
        trace("not_monotonic.csv").says("trace.csv:3: timestamp"),
        trace("bad_timestamp.csv").says("trace.csv:3: TIMESTAMP"),
        trace("impossible_date.csv").says("trace.csv:3: TIMESTAMP"),
        trace("bad_hour.csv").says("trace.csv:2: TIMESTAMP"),
        trace("short_row.csv").says("trace.csv:3: expected at least 3 fields"),
        trace("unterminated_quote.csv").says("trace.csv:3:"),
        trace("span_too_long.csv").says("trace.csv:3: TIMESTAMP: more than 584 years"),
        trace("empty.jsonl").says("trace.jsonl: the trace holds no requests"),
        trace("blank_lines.jsonl").says("trace.jsonl: the trace holds no requests"),
        trace("not_json.jsonl").says("trace.jsonl:2: not valid JSON"),
        trace("missing_field.jsonl").says("trace.jsonl:2: missing field `output_length`"),
        trace("string_timestamp.jsonl").says("trace.jsonl:1: timestamp"),
        trace("negative_timestamp.jsonl").says("trace.jsonl:1: timestamp"),
        trace("fractional_timestamp.jsonl").says("trace.jsonl:2: timestamp"),
        trace("huge_timestamp.jsonl").says("trace.jsonl:1: timestamp"),
        trace("not_monotonic.jsonl").says("trace.jsonl:2: timestamp 3 ms is earlier"),
        trace("truncated_line.jsonl").says("trace.jsonl:2: not valid JSON"),
        trace("negative_tokens.jsonl").says("trace.jsonl:1: input_length"),
        trace("nan_timestamp.jsonl").says("trace.jsonl:1: not valid JSON"),
        // The trace file itself is missing, a directory, of an unknown kind, or misdeclared.
        Case::new("trace/missing_file")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .args(&["validate", "replay.toml"])
            .at(6, 40)
            .key("tenants[0].arrivals.path")
            .says("trace.csv: cannot read the trace"),
        Case::new("trace/set_missing_file")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .file("trace.csv", Src::Corpus("trace/good.csv"))
            .args(&[
                "validate",
                "replay.toml",
                "--set",
                "tenants.replay.arrivals.path=nope.csv",
            ])
            .says("--set tenants.replay.arrivals.path=nope.csv")
            .key("tenants[0].arrivals.path")
            .says("nope.csv: cannot read the trace"),
        Case::new("trace/set_directory")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .file("data.csv", Src::EmptyDir)
            .args(&[
                "validate",
                "replay.toml",
                "--set",
                "tenants.0.arrivals.path=data.csv",
            ])
            .says("--set tenants.0.arrivals.path=data.csv")
            .says("data.csv"),
        Case::new("trace/unknown_extension")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .file("trace.txt", Src::Corpus("trace/good.csv"))
            .args(&[
                "validate",
                "replay.toml",
                "--set",
                "tenants.0.arrivals.path=trace.txt",
            ])
            .says("--set tenants.0.arrivals.path=trace.txt")
            .says("cannot tell the format of")
            .says("trace.txt"),
        Case::new("trace/csv_declared_jsonl")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .file("trace.csv", Src::Corpus("trace/good.csv"))
            .args(&[
                "validate",
                "replay.toml",
                "--set",
                "tenants.0.arrivals.format=mooncake_jsonl",
            ])
            .key("tenants[0].arrivals.path")
            .says("trace.csv:1: not valid JSON"),
        Case::new("trace/builtin_unknown")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .args(&[
                "validate",
                "replay.toml",
                "--set",
                "tenants.0.arrivals.path=builtin:traces/nope.csv",
            ])
            .says("--set tenants.0.arrivals.path=builtin:traces/nope.csv")
            .says("no embedded data named `builtin:traces/nope.csv`"),
        Case::new("trace/speedup_zero")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .file("trace.csv", Src::Corpus("trace/good.csv"))
            .args(&[
                "validate",
                "replay.toml",
                "--set",
                "tenants.0.arrivals.speedup=\"0\"",
            ])
            .says("--set tenants.0.arrivals.speedup=\"0\"")
            .key("tenants[0].arrivals")
            .says("found \"0\""),
        Case::new("trace/speedup_number")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .file("trace.csv", Src::Corpus("trace/good.csv"))
            .args(&[
                "validate",
                "replay.toml",
                "--set",
                "tenants.0.arrivals.speedup=2",
            ])
            .says("--set tenants.0.arrivals.speedup=2")
            .key("tenants[0].arrivals")
            .says("expected a string"),
    ]
}

fn set_cases() -> Vec<Case> {
    vec![
        // Overload controls: retry quotas, adaptive concurrency limits, queue disciplines.
        set("quota_empty", "gateway.retry.quota={ capacity = 0 }")
            .key("gateway.retry.quota.capacity")
            .says("at least 1 token"),
        set(
            "quota_timeout_dearer_than_capacity",
            "gateway.retry.quota={ capacity = 8 }",
        )
        .key("gateway.retry.quota.timeout_cost")
        .says("costs more"),
        set("quota_unknown_field", "gateway.retry.quota={ tokens = 5 }")
            .key("gateway.retry.quota")
            .says("unknown field `tokens`"),
        set(
            "quota_unknown_tenant",
            "gateway.retry.quota={ tenants = { mobile = { capacity = 50 } } }",
        )
        .key("gateway.retry.quota.tenants.mobile")
        .says("no tenant is named `mobile`"),
        set(
            "quota_tenant_retry_dearer_than_capacity",
            "gateway.retry.quota={ tenants = { web = { capacity = 4 } } }",
        )
        .key("gateway.retry.quota.tenants.web.retry_cost")
        .says("costs more"),
        set(
            "quota_tenant_unknown_field",
            "gateway.retry.quota={ tenants = { web = { size = 4 } } }",
        )
        .key("gateway.retry.quota.tenants.web")
        .says("unknown field `size`"),
        // The network between a tenant's clients and the gateway.
        set("client_network_empty", "tenants.0.network={}")
            .key("tenants[0].network")
            .says("missing field `delay`"),
        set(
            "client_network_negative_delay",
            "tenants.0.network={ delay = { dist = \"deterministic\", value = \"-5ms\" } }",
        )
        .key("tenants[0].network.delay"),
        set(
            "client_network_unknown_field",
            "tenants.0.network={ delay = { dist = \"deterministic\", value = \"5ms\" }, reset = 0.1 }",
        )
        .key("tenants[0].network")
        .says("unknown field `reset`"),
        // A broken stream is an outcome an SLO may name; a misspelt one is refused.
        set(
            "slo_outcome_misspelt",
            "slos=[{ name = \"s\", objective = \"99\", indicator = { kind = \"ratio\", good = [\"correct\"], total = [\"broken_streams\"] } }]",
        )
        .key("slos[0].indicator")
        .says("broken_stream"),
        set(
            "limit_unknown_algorithm",
            "gateway.concurrency_limit={ algorithm = \"bbr\" }",
        )
        .key("gateway.concurrency_limit")
        .says("unknown variant `bbr`"),
        set(
            "limit_backoff_ratio",
            "gateway.concurrency_limit={ algorithm = \"aimd\", backoff_ratio = 1.0 }",
        )
        .key("gateway.concurrency_limit.backoff_ratio")
        .says("[0.5, 1)"),
        set(
            "limit_initial_above_max",
            "gateway.concurrency_limit={ algorithm = \"gradient2\", initial_limit = 500 }",
        )
        .key("gateway.concurrency_limit.initial_limit")
        .says("must lie in [20, 200]"),
        set(
            "codel_target_over_interval",
            "gateway.queue_discipline={ kind = \"codel\", target = \"1s\", interval = \"100ms\" }",
        )
        .key("gateway.queue_discipline.target")
        .says("shorter than the interval"),
        on_base(
            "set/discipline_with_fair_scheduling",
            &[
                "validate",
                "base.toml",
                "--set",
                "gateway.scheduling=\"round_robin\"",
                "--set",
                "gateway.queue_discipline={ kind = \"adaptive_lifo\" }",
            ],
        )
        .key("gateway.queue_discipline")
        .says("cannot be combined with fair scheduling"),
        set("no_equals", "horizon").says("expected KEY.PATH=VALUE"),
        set("empty_key", "=5").says("empty key"),
        set("leading_dot", ".horizon=1h").says("empty key"),
        set("double_dot", "horizon..x=1").says("empty key"),
        set("unknown_top", "horizn=2h").says("unknown field `horizn`"),
        set("no_element", "backends.nope.concurrency=2")
            .says("no element named `nope`; expected an index or one of: api"),
        set("index_out_of_range", "backends.5.concurrency=2").says("index 5 is out of range"),
        set("negative_index", "backends.-1.name=x").says("no element named `-1`"),
        set("through_scalar", "tenants.0.name.first=x").says("is a single value"),
        set("probability", "backends.api.failure_probability=2")
            .key("backends[0].failure_probability")
            .says("probability between 0 and 1, found 2"),
        set("negative_concurrency", "backends.api.concurrency=-1")
            .key("backends[0].concurrency")
            .says("found -1"),
        set("duration_number", "horizon=5")
            .key("horizon")
            .says("a duration string with a unit"),
        set("duration_empty", "horizon=")
            .key("horizon")
            .says("empty duration"),
        set("max_attempts_zero", "gateway.retry.max_attempts=0")
            .key("gateway.retry.max_attempts")
            .says("found 0"),
        set("dist_unknown", "backends.api.service={ dist = \"normal\" }")
            .key("backends[0].service.dist")
            .says("unknown variant `normal`"),
        set("dist_inner", "backends.api.service.mean=fast")
            .key("backends[0].service")
            .says("`fast` is not a duration"),
        set("inline_table_broken", "backends.api.service={ dist = ").key("backends[0].service"),
        set("no_tenants", "tenants=[]")
            .key("tenants")
            .says("at least one tenant"),
        set("backend_not_table", "backends.api=3").key("backends[0]"),
        set("backoff_unknown", "gateway.retry.backoff=fibonacci")
            .key("gateway.retry.backoff")
            .says("unknown variant `fibonacci`"),
        set("seed_negative", "seed=-1").key("seed"),
        set("dangling_backend", "tenants.web.backend=nope")
            .key("tenants[0].backend")
            .says("no backend is named `nope`"),
        set("scalar_into_table", "description.x=1").key("description"),
        // A valid override of a file with an error elsewhere still points into the file.
        Case::new("set/file_error_kept")
            .file("s.toml", Src::Corpus("scenario/ref_tenant_backend.toml"))
            .args(&["validate", "s.toml", "--set", "horizon=2h"])
            .at(5, 11)
            .key("tenants[0].backend"),
        // The shorthands are overrides too.
        on_base(
            "set/replications_flag_zero",
            &["validate", "base.toml", "--replications", "0"],
        )
        .key("replications")
        .says("at least one replication"),
        on_base(
            "set/seed_flag_negative",
            &["validate", "base.toml", "--seed", "-1"],
        )
        .says("'-1'"),
        on_base(
            "set/seed_flag_too_big",
            &["validate", "base.toml", "--seed", "18446744073709551616"],
        )
        .says("18446744073709551616"),
        on_base(
            "set/replications_flag_too_big",
            &["validate", "base.toml", "--replications", "4294967296"],
        )
        .says("4294967296"),
        // `compare --variant` takes the same settings.
        on_base(
            "set/variant_not_override",
            &[
                "compare",
                "base.toml",
                "--variant",
                "backends.api.concurrency",
            ],
        )
        .says("`backends.api.concurrency` is not an override"),
        on_base(
            "set/variant_no_element",
            &[
                "compare",
                "base.toml",
                "--variant",
                "backends.nope.concurrency=2",
            ],
        )
        .says("backends.nope.concurrency=2")
        .says("no element named `nope`"),
        on_base(
            "set/variant_empty_list",
            &["compare", "base.toml", "--variant", ",,"],
        )
        .says("--variant `,,`")
        .says("empty"),
    ]
}

fn sweep_cases() -> Vec<Case> {
    let s = |name: &str, spec: &str| sweep(name, &["--set", spec]).says(spec);
    vec![
        s("open_range", "gateway.retry.max_attempts=1..").says("is not a number"),
        s("downward_range", "gateway.retry.max_attempts=5..1").says("runs downwards"),
        s("zero_step", "gateway.retry.max_attempts=1..5:0").says("must be positive"),
        s("negative_step", "gateway.retry.max_attempts=1..5:-1").says("must be positive"),
        s("decimal_without_step", "backends.api.failure_probability=0.1..0.5")
            .says("needs a step"),
        s("log_from_zero", "backends.api.concurrency=log:0..100:3").says("0 < LO < HI"),
        s("log_downward", "backends.api.concurrency=log:100..1:3").says("0 < LO < HI"),
        s("log_one_point", "backends.api.concurrency=log:1..100:1")
            .says("between 2 and 100000 points"),
        s("log_count_word", "backends.api.concurrency=log:1..100:x")
            .says("must be a whole number"),
        s("empty_list_item", "backends.api.concurrency=1,,2").says("value 2 of the list is empty"),
        s(
            "unbalanced_braces",
            "backends.api.service={ dist = \"exponential\", mean = \"1s\" ,{ dist = \"deterministic\", value = \"1s\" }",
        )
        .says("unbalanced"),
        s("mixed_units", "gateway.attempt_timeout=100ms..1s:100ms").says("different units"),
        s("too_many_points", "backends.api.concurrency=1..9999999").says("at most 100000"),
        s("words", "backends.api.concurrency=a..b").says("`a` is not a number"),
        s("empty_spec", "gateway.retry.max_attempts=").says("the value list is empty"),
        s("no_equals", "gateway.retry.max_attempts").says("is not a sweep setting"),
        // Every point is checked before any runs: the bad value at the end of a range is named.
        sweep(
            "invalid_last_point",
            &["--set", "backends.api.failure_probability=0.5..1.5:0.5"],
        )
        .says("sweep point 0002 (backends.api.failure_probability=1.5)")
        .says("--set backends.api.failure_probability=1.5")
        .key("backends[0].failure_probability"),
        sweep(
            "zip_lengths",
            &[
                "--zip",
                "--set",
                "gateway.retry.max_attempts=1..3",
                "--set",
                "backends.api.concurrency=1,2",
            ],
        )
        .says("`gateway.retry.max_attempts` has 3 values and `backends.api.concurrency` has 2"),
        // Shards.
        sweep("shard_index_too_big", &["--shard", "3/2"]).says("`3/2` is not a shard"),
        sweep("shard_equal", &["--shard", "2/2"]).says("`2/2` is not a shard"),
        sweep("shard_zero_count", &["--shard", "1/0"]).says("`1/0` is not a shard"),
        sweep("shard_words", &["--shard", "a/b"]).says("`a/b` is not a shard"),
        sweep("shard_no_slash", &["--shard", "1"]).says("`1` is not a shard"),
        sweep("shard_three_parts", &["--shard", "0/2/3"]).says("`0/2/3` is not a shard"),
        sweep("shard_negative", &["--shard", "-1/2"]).says("'-1'"),
        sweep("slurm_without_count", &[])
            .env("SLURM_ARRAY_TASK_ID", "1")
            .says("SLURM_ARRAY_TASK_COUNT is not"),
        sweep("slurm_not_a_number", &[])
            .env("SLURM_ARRAY_TASK_ID", "one")
            .env("SLURM_ARRAY_TASK_COUNT", "4")
            .says("SLURM_ARRAY_TASK_ID=one is not a whole number"),
        sweep("slurm_outside_array", &[])
            .env("SLURM_ARRAY_TASK_ID", "7")
            .env("SLURM_ARRAY_TASK_COUNT", "4")
            .says("SLURM_ARRAY_TASK_ID=7 is outside the array"),
        sweep("k8s_without_shards", &[])
            .env("JOB_COMPLETION_INDEX", "0")
            .says("FAULTLINE_SHARDS"),
        sweep("k8s_index_too_big", &[])
            .env("JOB_COMPLETION_INDEX", "3")
            .env("FAULTLINE_SHARDS", "2")
            .says("JOB_COMPLETION_INDEX=3 is not below FAULTLINE_SHARDS=2"),
        // Objectives and constraints.
        sweep("objective_direction", &["--objective", "best:success_ratio"])
            .says("--objective `best:success_ratio`"),
        sweep("objective_no_metric", &["--objective", "min:"]).says("--objective `min:`"),
        sweep("objective_pareto_one", &["--objective", "pareto:min:a"])
            .says("at least two metrics"),
        sweep("constraint_alone", &["--constraint", "success_ratio>=0.9"])
            .says("--constraint needs an --objective"),
        sweep(
            "constraint_operator",
            &["--objective", "min:x", "--constraint", "success_ratio~0.9"],
        )
        .says("--constraint `success_ratio~0.9` is not a comparison"),
        sweep(
            "constraint_value",
            &["--objective", "min:x", "--constraint", "success_ratio>=abc"],
        )
        .says("--constraint `success_ratio>=abc`"),
        sweep(
            "constraint_field",
            &[
                "--objective",
                "max:success_ratio",
                "--constraint",
                "success_ratio@ci42_low>=0.5",
            ],
        )
        .says("`@ci42_low` is not a metric field"),
        sweep(
            "objective_unknown_metric",
            &[
                "--set",
                "backends.api.concurrency=1,2",
                "--objective",
                "min:no_such_metric",
            ],
        )
        .says("no point has a metric `no_such_metric`"),
        sweep("threads_zero", &["--threads", "0"]).says("--threads must be at least 1"),
        // An output directory that holds something else.
        sweep("out_not_empty", &["--set", "backends.api.concurrency=1,2"])
            .file("sweep/notes.txt", Src::Text("mine\n"))
            .says("sweep is not empty and holds no sweep plan (notes.txt)"),
        sweep("out_other_sweep", &["--set", "backends.api.concurrency=1,2"])
            .file("sweep", Src::SweepDir(|_| {}))
            .says("sweep already holds a different sweep"),
    ]
}

fn report_cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for command in ["rerun", "plot"] {
        let r = |name: &str, src: Src| report(name, command, src);
        cases.extend([
            r("not_json", Src::Corpus("report/not_json.json"))
                .says("report.json:1:")
                .says("not a faultline report"),
            r("empty", Src::Corpus("report/empty.json"))
                .says("report.json:1:")
                .says("not a faultline report"),
            r("array", Src::Corpus("report/array.json")).says("report.json:1:"),
            r("null", Src::Corpus("report/null.json")).says("report.json:1:"),
            r("only_version", Src::Corpus("report/only_version.json"))
                .says("report.json:1:")
                .says("missing field"),
            r("a_scenario", Src::Corpus("report/scenario_file.json"))
                .says("report.json:")
                .says("not a faultline report"),
            r(
                "format_version_2",
                Src::Derived(|f| report_with(f, |r| r["format_version"] = 2.into())),
            )
            .says("report.json: report format version 2 is not supported"),
            r(
                "format_version_string",
                Src::Derived(|f| report_with(f, |r| r["format_version"] = "1".into())),
            )
            .says("report.json:2:")
            .says("invalid type: string \"1\""),
            r(
                "no_scenario",
                Src::Derived(|f| report_with(f, |r| remove_key(r, "scenario"))),
            )
            .says("report.json:")
            .says("missing field `scenario`"),
            r(
                "no_metrics",
                Src::Derived(|f| report_with(f, |r| remove_key(r, "metrics"))),
            )
            .says("missing field `metrics`"),
            r(
                "no_digest",
                Src::Derived(|f| report_with(f, |r| remove_key(r, "results_digest"))),
            )
            .says("missing field `results_digest`"),
            r(
                "no_tool",
                Src::Derived(|f| report_with(f, |r| remove_key(r, "tool"))),
            )
            .says("missing field `tool`"),
            r(
                "seed_string",
                Src::Derived(|f| report_with(f, |r| r["seed"] = "one".into())),
            )
            .says("report.json:")
            .says("\"one\""),
            r(
                "metrics_array",
                Src::Derived(|f| report_with(f, |r| r["metrics"] = serde_json::json!([1, 2]))),
            )
            .says("report.json:")
            .says("invalid type: sequence"),
            r(
                "metric_mean_string",
                Src::Derived(|f| {
                    report_with(f, |r| r["metrics"]["completions"]["mean"] = "x".into())
                }),
            )
            .says("report.json:")
            .says("\"x\""),
            r(
                "series_number",
                Src::Derived(|f| report_with(f, |r| r["series"] = 5.into())),
            )
            .says("report.json:")
            .says("invalid type: integer `5`"),
            r(
                "truncated",
                Src::Derived(|f| report_with(f, |_| {})[..500].to_vec()),
            )
            .says("report.json:")
            .says("EOF"),
        ]);
    }
    cases.extend([
        // Only rerun reads the embedded scenario.
        report(
            "seed_disagrees",
            "rerun",
            Src::Derived(|f| report_with(f, |r| r["seed"] = 99.into())),
        )
        .says("report.json: the embedded scenario's seed or replications disagree"),
        report(
            "embedded_scenario_invalid",
            "rerun",
            Src::Derived(|f| {
                report_with(f, |r| {
                    r["scenario"]["backends"][0]["failure_probability"] = 1.5.into()
                })
            }),
        )
        .says("report.json (embedded scenario):5:")
        .key("backends[0].failure_probability")
        .says("found 1.5"),
        report(
            "embedded_scenario_unknown_key",
            "rerun",
            Src::Derived(|f| report_with(f, |r| r["scenario"]["bogus"] = 1.into())),
        )
        .says("report.json (embedded scenario):")
        .key("bogus")
        .says("unknown field `bogus`"),
        report(
            "embedded_trace_missing",
            "rerun",
            Src::Derived(|f| {
                report_with(f, |r| {
                    r["scenario"]["tenants"][0]["arrivals"] = serde_json::json!({
                        "process": "trace",
                        "path": "/nonexistent/faultline/trace.csv"
                    })
                })
            }),
        )
        .says("report.json (embedded scenario):")
        .key("tenants[0].arrivals.path")
        .says("/nonexistent/faultline/trace.csv"),
        // Not files at all.
        cli("rerun_missing", &["rerun", "no-such-report.json"]).says("no-such-report.json"),
        cli("plot_missing", &["plot", "no-such-report.json"]).says("no-such-report.json"),
        Case::new("rerun/directory")
            .file("report.json", Src::EmptyDir)
            .args(&["rerun", "report.json"])
            .says("report.json"),
        Case::new("plot/directory")
            .file("report.json", Src::EmptyDir)
            .args(&["plot", "report.json"])
            .says("report.json"),
        Case::new("rerun/threads_zero")
            .file("r", Src::ReportDir)
            .args(&["rerun", "r/report.json", "--threads", "0"])
            .says("--threads must be at least 1"),
    ]);
    cases
}

fn merge_cases() -> Vec<Case> {
    vec![
        cli("merge/nonexistent", &["merge", "no-such-dir"])
            .says("no-such-dir/sweep-plan.json: cannot read the sweep plan"),
        Case::new("merge/empty_dir")
            .file("sweep", Src::EmptyDir)
            .args(&["merge", "sweep"])
            .says("sweep/sweep-plan.json: cannot read the sweep plan"),
        Case::new("merge/a_file")
            .file("sweep", Src::Text("not a directory\n"))
            .args(&["merge", "sweep"])
            .says("sweep/sweep-plan.json"),
        merge("plan_not_json", |d| {
            std::fs::write(d.join("sweep-plan.json"), "nope").unwrap()
        })
        .says("sweep/sweep-plan.json:1:")
        .says("not a faultline sweep plan"),
        merge("plan_empty", |d| {
            std::fs::write(d.join("sweep-plan.json"), "").unwrap()
        })
        .says("sweep/sweep-plan.json:1:")
        .says("not a faultline sweep plan"),
        merge("plan_format_version", |d| {
            edit_json(&d.join("sweep-plan.json"), |p| {
                p["format_version"] = 9.into()
            })
        })
        .says("sweep/sweep-plan.json: sweep format version 9 is not supported"),
        merge("plan_no_points", |d| {
            edit_json(&d.join("sweep-plan.json"), |p| remove_key(p, "points"))
        })
        .says("sweep/sweep-plan.json:")
        .says("missing field `points`"),
        merge("plan_points_string", |d| {
            edit_json(&d.join("sweep-plan.json"), |p| p["points"] = "x".into())
        })
        .says("sweep/sweep-plan.json:")
        .says("invalid type: string \"x\""),
        merge("plan_base_scenario_invalid", |d| {
            edit_json(&d.join("sweep-plan.json"), |p| {
                p["scenario"]["backends"][0]["failure_probability"] = 1.5.into()
            })
        })
        .says("sweep-plan.json (the sweep's base scenario)")
        .key("backends[0].failure_probability"),
        merge("point_not_json", |d| {
            std::fs::write(d.join("points/0001/report.json"), "garbage").unwrap()
        })
        .says("sweep/points/0001/report.json:1:")
        .says("not a faultline report"),
        merge("point_from_another_sweep", |d| {
            edit_json(&d.join("points/0001/report.json"), |r| {
                r["scenario"]["seed"] = 5.into();
                r["seed"] = 5.into();
            })
        })
        .says("sweep/points/0001/report.json: this report's scenario is not point 0001"),
        merge("point_id_is_a_path", |d| {
            edit_json(&d.join("sweep-plan.json"), |p| {
                p["points"][0]["id"] = "../../escape/0000".into()
            })
        })
        .says("../../escape/0000")
        .says("not a plain name"),
        Case::new("merge/two_sweeps")
            .file("a", Src::SweepDir(|_| {}))
            .file(
                "b",
                Src::SweepDir(|d| {
                    edit_json(&d.join("sweep-plan.json"), |p| {
                        p["fixed"] = serde_json::json!(["replications=2", "warmup=0s"])
                    })
                }),
            )
            .args(&["merge", "a", "b"])
            .says("a and b hold different sweeps"),
        Case::new("merge/same_point_differs")
            .file("a", Src::SweepDir(|_| {}))
            .file(
                "b",
                Src::SweepDir(|d| {
                    edit_json(&d.join("points/0001/report.json"), |r| {
                        r["results_digest"] = "sha256:00".into()
                    })
                }),
            )
            .args(&["merge", "a", "b"])
            .says("a/points/0001/report.json and b/points/0001/report.json differ"),
        merge("objective", |_| {})
            .args(&["--objective", "min"])
            .says("--objective `min`"),
        cli("merge/no_dirs", &["merge"]).says("required"),
    ]
}

fn output_cases() -> Vec<Case> {
    vec![
        // A directory that cannot be made is a run-time failure naming it.
        on_base(
            "out/unwritable",
            &[
                "run",
                "base.toml",
                "--set",
                "horizon=10s",
                "--replications",
                "1",
                "--out",
                "/proc/faultline-cannot-write-here",
            ],
        )
        .code(1)
        .says("/proc/faultline-cannot-write-here/report.json"),
        on_base("out/empty", &["run", "base.toml", "--out", ""]).says("--out"),
        // `compare` with a directory in the way of a variant report.
        on_base(
            "out/compare_variant_blocked",
            &[
                "compare",
                "base.toml",
                "--variant",
                "backends.api.concurrency=2",
                "--set",
                "horizon=10s",
                "--replications",
                "2",
                "--out",
                "cmp",
            ],
        )
        .file("cmp/variants", Src::Text("a file where a directory goes\n"))
        .code(1)
        .says("cmp/variants/0/report.json"),
    ]
}

fn cli_cases() -> Vec<Case> {
    vec![
        cli("no_command", &[]).says("Usage"),
        cli("unknown_command", &["frobnicate"]).says("'frobnicate'"),
        cli("run_without_scenario", &["run"]).says("required"),
        cli("validate_without_scenario", &["validate"]).says("required"),
        cli("rerun_without_report", &["rerun"]).says("required"),
        cli("plot_without_report", &["plot"]).says("required"),
        cli("compare_without_scenarios", &["compare"]).says("required"),
        on_base("cli/unknown_flag", &["run", "base.toml", "--bogus"]).says("'--bogus'"),
        on_base("cli/extra_argument", &["run", "base.toml", "extra.toml"]).says("'extra.toml'"),
        on_base(
            "cli/format_unknown",
            &["run", "base.toml", "--format", "xml"],
        )
        .says("'xml'"),
        on_base("cli/threads_zero", &["run", "base.toml", "--threads", "0"])
            .says("--threads must be at least 1"),
        on_base(
            "cli/threads_negative",
            &["run", "base.toml", "--threads", "-1"],
        )
        .says("'-1'"),
        on_base("cli/seed_decimal", &["run", "base.toml", "--seed", "1.5"]).says("'1.5'"),
        on_base(
            "cli/seed_word",
            &["run", "base.toml", "--seed", "minus-one"],
        )
        .says("'minus-one'"),
        on_base(
            "cli/replications_negative",
            &["run", "base.toml", "--replications", "-2"],
        )
        .says("'-2'"),
        cli("example_unknown", &["run", "example:nope"]).says("no built-in example named `nope`"),
        cli("example_empty", &["run", "example:"]).says("no built-in example named ``"),
        cli("example_case", &["validate", "example:MM1"]).says("no built-in example named `MM1`"),
        cli("examples_unknown", &["examples", "nope"]).says("no built-in example named `nope`"),
        cli("examples_extra", &["examples", "mm1", "extra"]).says("'extra'"),
        cli("scenario_missing", &["run", "no-such-scenario.toml"])
            .says("no-such-scenario.toml: cannot read the scenario file"),
        cli("scenario_empty_path", &["validate", ""]).says("cannot read the scenario file"),
        Case::new("cli/scenario_directory")
            .file("dir.toml", Src::EmptyDir)
            .args(&["validate", "dir.toml"])
            .says("dir.toml: cannot read the scenario file"),
        on_base("cli/compare_one_scenario", &["compare", "base.toml"])
            .says("compare needs two scenarios"),
        on_base(
            "cli/compare_both_forms",
            &[
                "compare",
                "base.toml",
                "base.toml",
                "--variant",
                "backends.api.concurrency=2",
            ],
        )
        .says("not both"),
        on_base(
            "cli/compare_missing_arm",
            &["compare", "base.toml", "no-such.toml"],
        )
        .says("no-such.toml: cannot read the scenario file"),
        on_base(
            "cli/variant_without_value",
            &["compare", "base.toml", "--variant"],
        )
        .says("'--variant <SETS>'"),
        // The positive controls: the valid bases of the corpus are valid.
        Case::new("valid/base")
            .file("base.toml", Src::Corpus("valid/base.toml"))
            .args(&["validate", "base.toml"])
            .code(0)
            .prints("base.toml: valid"),
        Case::new("valid/base_json")
            .file("base.json", Src::Corpus("valid/base.json"))
            .args(&["validate", "base.json"])
            .code(0)
            .prints("base.json: valid"),
        Case::new("valid/llm")
            .file("llm.toml", Src::Corpus("valid/llm.toml"))
            .args(&["validate", "llm.toml"])
            .code(0)
            .prints("llm.toml: valid"),
        Case::new("valid/gpu")
            .file("gpu.toml", Src::Corpus("valid/gpu.toml"))
            .args(&["validate", "gpu.toml"])
            .code(0)
            .prints("gpu.toml: valid"),
        Case::new("valid/slo_chaos")
            .file("slo_chaos.toml", Src::Corpus("valid/slo_chaos.toml"))
            .args(&["validate", "slo_chaos.toml"])
            .code(0)
            .prints("slo_chaos.toml: valid"),
        Case::new("valid/instant_failures")
            .file("loop.toml", Src::Corpus("valid/instant_failures.toml"))
            .args(&["validate", "loop.toml"])
            .code(0)
            .prints("loop.toml: valid"),
        Case::new("valid/traces")
            .file("replay.toml", Src::Corpus("trace/replay_csv.toml"))
            .file("trace.csv", Src::Corpus("trace/good.csv"))
            .file("replay_jsonl.toml", Src::Corpus("trace/replay_jsonl.toml"))
            .file("trace.jsonl", Src::Corpus("trace/good.jsonl"))
            .args(&[
                "validate",
                "replay.toml",
                "--set",
                "tenants.0.arrivals.path=trace.jsonl",
            ])
            .code(0)
            .prints("replay.toml: valid"),
    ]
}

/// Failures of the run itself: exit 1.
fn runtime_cases() -> Vec<Case> {
    vec![
        // A finite but enormous attempt limit passes validation; the watchdog stops the run.
        Case::new("runtime/stalled_run")
            .file("loop.toml", Src::Corpus("valid/instant_failures.toml"))
            .args(&[
                "run",
                "loop.toml",
                "--set",
                "gateway.retry.max_attempts=4000000000",
                "--out",
                "out",
            ])
            .code(1)
            .says("replication 0: virtual time stopped advancing")
            .says("tenant `web`")
            .says("backend `api`"),
        Case::new("runtime/stalled_sweep_point")
            .file("loop.toml", Src::Corpus("valid/instant_failures.toml"))
            .args(&[
                "sweep",
                "loop.toml",
                "--set",
                "gateway.retry.max_attempts=2,4000000000",
                "--threads",
                "1",
                "--out",
                "sweep",
            ])
            .code(1)
            .says("point 0001")
            .says("virtual time stopped advancing"),
        Case::new("runtime/stalled_compare_arm")
            .file("loop.toml", Src::Corpus("valid/instant_failures.toml"))
            .args(&[
                "compare",
                "loop.toml",
                "--variant",
                "gateway.retry.max_attempts=4000000000",
                "--replications",
                "2",
                "--out",
                "cmp",
            ])
            .code(1)
            .says("virtual time stopped advancing"),
        // A report whose results were edited does not reproduce.
        report(
            "edited_results",
            "rerun",
            Src::Derived(|f| {
                report_with(f, |r| {
                    r["metrics"]["completions"]["per_replication"][0] = 1.0.into()
                })
            }),
        )
        .code(1)
        .prints("differs: `completions`"),
        // An SLO evaluation interval so short that its rolling windows need more than 2^21 slots:
        // refused by `validate` and `run` alike (it once passed validation and panicked in a run).
        cli(
            "slo_interval_too_short_validate",
            &[
                "validate",
                "example:provider-outage",
                "--set",
                "slos.0.alerting.interval=1ms",
            ],
        )
        .says("--set slos.0.alerting.interval=1ms")
        .key("slos[0].alerting.interval"),
        cli(
            "slo_interval_too_short_run",
            &[
                "run",
                "example:provider-outage",
                "--replications",
                "1",
                "--set",
                "slos.0.alerting.interval=1ms",
                "--out",
                "out",
            ],
        )
        .says("--set slos.0.alerting.interval=1ms")
        .key("slos[0].alerting.interval"),
        // `--out` naming an existing file is bad usage (exit 2), found before any work (it once
        // ran the whole simulation, then failed to write with exit 1).
        on_base(
            "out/run_out_is_a_file",
            &[
                "run",
                "base.toml",
                "--set",
                "horizon=10s",
                "--replications",
                "1",
                "--out",
                "taken",
            ],
        )
        .file("taken", Src::Text("a file\n"))
        .says("taken"),
        on_base(
            "out/run_out_under_a_file",
            &[
                "run",
                "base.toml",
                "--set",
                "horizon=10s",
                "--replications",
                "1",
                "--out",
                "taken/sub",
            ],
        )
        .file("taken", Src::Text("a file\n"))
        .says("taken/sub"),
        sweep("out_is_a_file", &["--set", "backends.api.concurrency=1,2"])
            .file("sweep", Src::Text("a file\n"))
            .says("sweep"),
        on_base(
            "out/compare_out_is_a_file",
            &[
                "compare",
                "base.toml",
                "--variant",
                "backends.api.concurrency=2",
                "--set",
                "horizon=10s",
                "--replications",
                "2",
                "--out",
                "taken",
            ],
        )
        .file("taken", Src::Text("a file\n"))
        .says("taken"),
        Case::new("out/plot_out_is_a_file")
            .file("r", Src::ReportDir)
            .file("taken", Src::Text("a file\n"))
            .args(&["plot", "r/report.json", "--out", "taken"])
            .says("taken"),
        merge("out_is_a_file", |_| {})
            .file("taken", Src::Text("a file\n"))
            .args(&["--out", "taken"])
            .says("taken"),
        // Unknown keys next to an SLI kind without parameters (once silently accepted: serde lets a
        // unit variant of an internally tagged enum ignore other keys).
        scn("unknown_slo_indicator.toml")
            .at(16, 0)
            .key("slos[0].indicator")
            .says("unknown field `threshold`"),
        scn("unknown_slo_indicator_goodput.toml")
            .at(16, 0)
            .key("slos[0].indicator")
            .says("unknown field `bogus`"),
        // A Mooncake line that is a JSON array (once read as a request: timestamp 0, 10 and 6 tokens).
        trace("array_line.jsonl").says("trace.jsonl:1:"),
        // A sweep `--set` with an empty key names the argument as given.
        sweep("empty_key", &["--set", "=1..5"]).says("=1..5"),
        sweep("double_dot_key", &["--set", "backends..concurrency=1,2"])
            .says("backends..concurrency=1,2"),
        // merge names the missing points and the report paths it looked for.
        merge("missing_point", |d| {
            std::fs::remove_dir_all(d.join("points/0001")).unwrap()
        })
        .says("sweep/points/0001"),
        merge("point_report_is_a_directory", |d| {
            std::fs::remove_file(d.join("points/0001/report.json")).unwrap();
            std::fs::create_dir(d.join("points/0001/report.json")).unwrap();
        })
        .says("sweep/points/0001/report.json"),
    ]
}

/// Cases whose behaviour is wrong today. Each expectation is the right behaviour; `why` says
/// what happens instead. Move a case to `CASES` once it passes.
static KNOWN_FAILING: LazyLock<Vec<Case>> = LazyLock::new(|| {
    vec![
        // KNOWN-FAILING: errors inside a tagged table (`dist`, `process`, `kind`) written as a
        // multi-line [table] point at the table's header line and stop the key path at the table.
        scn("rate_multiline_bad.toml")
            .at(9, 8)
            .key("tenants[0].arrivals.rate")
            .says("`2 per second` is not a rate")
            .why("reported at 7:1 (the `[tenants.arrivals]` header), path `tenants[0].arrivals`"),
        scn("unknown_arrivals_multiline.toml")
            .at(10, 1)
            .key("tenants[0].arrivals.burst")
            .says("unknown field `burst`")
            .why("reported at 7:1 (the `[tenants.arrivals]` header), path `tenants[0].arrivals`"),
        scn("dist_inner_bad_value_multiline.toml")
            .at(14, 8)
            .key("backends[0].service.mean")
            .says("a duration string with a unit")
            .why("reported at 12:1 (the `[backends.service]` header), path `backends[0].service`"),
        scn("dist_inner_unknown_multiline.toml")
            .at(15, 1)
            .key("backends[0].service.sd")
            .says("unknown field `sd`")
            .why("reported at 12:1 (the `[backends.service]` header), path `backends[0].service`"),
        scn("budget_inner_bad_multiline.toml")
            .at(18, 14)
            .key("gateway.retry.budget.max_tokens")
            .says("found -10")
            .why("reported at 16:1 (the `[gateway.retry.budget]` header), path `gateway.retry.budget`"),
        // KNOWN-FAILING: a JSON number checked by faultline (a probability) is located at the next
        // token, which is on the next line when the value ends its line.
        scn("json_probability_high.json")
            .at(14, 0)
            .key("backends[0].failure_probability")
            .says("found 1.5")
            .why("reported at 15:5 (the `}` on the next line) instead of line 14"),
    ]
});

// ------------------------------------------------------------------------------------------
// Running a case.

struct Outcome {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn materialise(dir: &Path, files: &[(String, Src)]) {
    for (name, src) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        match src {
            Src::Corpus(rel) => {
                std::fs::copy(corpus_dir().join(rel), &path)
                    .unwrap_or_else(|e| panic!("corpus file {rel}: {e}"));
            }
            Src::Text(text) => std::fs::write(&path, text).unwrap(),
            Src::Derived(make) => std::fs::write(&path, make(fixtures())).unwrap(),
            Src::SweepDir(change) => {
                copy_dir(&fixtures().sweep_dir, &path);
                change(&path);
            }
            Src::ReportDir => copy_dir(&fixtures().report_dir, &path),
            Src::EmptyDir => std::fs::create_dir_all(&path).unwrap(),
        }
    }
}

fn run_case(case: &Case) -> Outcome {
    let dir = common::scratch_dir("corpus");
    materialise(&dir, &case.files);
    let out_file = dir.with_extension("stdout");
    let err_file = dir.with_extension("stderr");
    let mut command = Command::new(env!("CARGO_BIN_EXE_faultline"));
    command
        .args(&case.args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_file).unwrap())
        .stderr(std::fs::File::create(&err_file).unwrap());
    for var in [
        "SLURM_ARRAY_TASK_ID",
        "SLURM_ARRAY_TASK_COUNT",
        "SLURM_ARRAY_TASK_MIN",
        "JOB_COMPLETION_INDEX",
        "FAULTLINE_SHARDS",
    ] {
        command.env_remove(var);
    }
    for (k, v) in &case.env {
        command.env(k, v);
    }
    let mut child = command.spawn().expect("the faultline binary starts");
    let started = Instant::now();
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break (Some(status), false);
        }
        if started.elapsed() > CASE_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Outcome {
        code: status.and_then(|s| s.code()),
        stdout: std::fs::read_to_string(&out_file).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_file).unwrap_or_default(),
        timed_out,
    }
}

/// `FILE:LINE:COL: ` in `text`; `col` 0 accepts any column.
fn located(text: &str, file: &str, line: usize, col: usize) -> bool {
    let head = format!("{file}:{line}:");
    text.match_indices(&head).any(|(i, _)| {
        let rest = &text[i + head.len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        !digits.is_empty()
            && rest[digits.len()..].starts_with(": ")
            && (col == 0 || digits == col.to_string())
    })
}

/// What is wrong with the outcome of `case`, if anything.
fn problems(case: &Case, o: &Outcome) -> Vec<String> {
    let mut p = Vec::new();
    if o.timed_out {
        p.push(format!("did not finish within {CASE_TIMEOUT:?}"));
    }
    if o.stderr.contains("panicked") || o.stdout.contains("panicked") {
        p.push("panicked".to_string());
    }
    if o.code != Some(case.code) {
        p.push(format!("exit code {:?}, expected {}", o.code, case.code));
    }
    for e in &case.expect {
        match e {
            Expect::At(file, line, col) if !located(&o.stderr, file, *line, *col) => {
                let col = if *col == 0 {
                    "COL".to_string()
                } else {
                    col.to_string()
                };
                p.push(format!(
                    "stderr does not locate it at `{file}:{line}:{col}: `"
                ));
            }
            Expect::Has(s) if !o.stderr.contains(s.as_str()) => {
                p.push(format!("stderr lacks `{s}`"));
            }
            Expect::Stdout(s) if !o.stdout.contains(s.as_str()) => {
                p.push(format!("stdout lacks `{s}`"));
            }
            _ => {}
        }
    }
    p
}

fn shell_words(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@".contains(c))
            {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn describe(case: &Case, o: &Outcome, problems: &[String]) -> String {
    let files: Vec<String> = case
        .files
        .iter()
        .map(|(name, src)| match src {
            Src::Corpus(rel) => format!("{name} <- tests/corpus/{rel}"),
            Src::Text(_) => format!("{name} <- text"),
            Src::Derived(_) => format!("{name} <- derived from the fixture report"),
            Src::SweepDir(_) => format!("{name}/ <- the fixture sweep, changed"),
            Src::ReportDir => format!("{name}/ <- the fixture report directory"),
            Src::EmptyDir => format!("{name}/ <- empty directory"),
        })
        .collect();
    let env: String = case.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
    format!(
        "--- {}\n    files: {}\n    command: {env}faultline {}\n    problems: {}\n    exit {:?}; stderr:\n{}{}",
        case.name,
        if files.is_empty() {
            "(none)".to_string()
        } else {
            files.join(", ")
        },
        shell_words(&case.args),
        problems.join("; "),
        o.code,
        indent(&o.stderr),
        if case.why.is_empty() {
            String::new()
        } else {
            format!("    known: {}\n", case.why)
        }
    )
}

fn indent(text: &str) -> String {
    text.lines()
        .take(12)
        .map(|l| format!("      | {l}\n"))
        .collect()
}

#[test]
fn every_bad_input_is_refused_with_its_location() {
    let cases = &*CASES;
    let verbose = std::env::var_os("FAULTLINE_CORPUS_VERBOSE").is_some();
    let mut failures = Vec::new();
    for case in cases {
        let o = run_case(case);
        let p = problems(case, &o);
        if verbose {
            println!(
                "{:<48} exit {:?}: {}",
                case.name,
                o.code,
                o.stderr.lines().next().unwrap_or("")
            );
        }
        if !p.is_empty() {
            failures.push(describe(case, &o, &p));
        }
    }
    println!(
        "bad-input corpus: {} cases, {} failed",
        cases.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn known_failing_cases_are_reported_not_asserted() {
    let mut still = 0;
    for case in KNOWN_FAILING.iter() {
        let o = run_case(case);
        let p = problems(case, &o);
        if p.is_empty() {
            println!(
                "KNOWN_FAILING case {} now passes: move it to CASES",
                case.name
            );
        } else {
            still += 1;
            println!("{}", describe(case, &o, &p));
        }
    }
    println!(
        "known failing: {still} of {} still fail",
        KNOWN_FAILING.len()
    );
}

#[test]
fn the_table_is_well_formed() {
    let all: Vec<&Case> = CASES.iter().chain(KNOWN_FAILING.iter()).collect();
    assert!(all.len() >= 150, "only {} cases", all.len());
    let mut names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    for pair in names.windows(2) {
        assert_ne!(pair[0], pair[1], "two cases are named {}", pair[0]);
    }
    for c in &all {
        assert!(
            !c.expect.is_empty() || c.code == 0,
            "{} checks nothing",
            c.name
        );
        assert!(
            CASES.iter().any(|k| std::ptr::eq(k, *c)) || !c.why.is_empty(),
            "known-failing case {} says what is wrong",
            c.name
        );
    }
    // Every corpus file is used by some case, so none rots unnoticed.
    let used: Vec<&str> = all
        .iter()
        .flat_map(|c| c.files.iter())
        .filter_map(|(_, s)| match s {
            Src::Corpus(rel) => Some(*rel),
            _ => None,
        })
        .collect();
    let mut stack = vec![corpus_dir()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path
                .strip_prefix(corpus_dir())
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            assert!(
                used.contains(&rel.as_str()),
                "tests/corpus/{rel} is used by no case"
            );
        }
    }
}
