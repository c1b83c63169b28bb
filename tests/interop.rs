//! `faultline import litellm`, `import openslo` and `export prometheus`: configs written after
//! LiteLLM's, OpenSLO's and sloth's documented examples (tests/fixtures/interop/) are imported,
//! the scenarios run, and the mapped policies are checked to act.

mod common;

use common::{faultline, mean, run_report, scratch_dir};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/interop/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// Imports a LiteLLM config into `dir/NAME.toml`; returns the path and stderr.
fn import_litellm(dir: &Path, name: &str) -> (PathBuf, String) {
    let out = dir.join(format!("{name}.toml"));
    let r = faultline(&[
        "import",
        "litellm",
        &fixture(&format!("{name}.yaml")),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    assert!(r.status.success(), "import failed: {stderr}");
    (out, stderr)
}

#[test]
fn simple_shuffle_weights_from_litellm_split_the_traffic() {
    let dir = scratch_dir("litellm-shuffle");
    let (toml, stderr) = import_litellm(&dir, "litellm-loadbalance");
    // Unmapped keys are named, with their place.
    assert!(stderr.contains("litellm-loadbalance.yaml:31:15: at `router_settings.redis_host`"));
    assert!(stderr.contains("at `general_settings`"));
    let report = run_report(
        toml.to_str().unwrap(),
        &[
            "--set",
            "horizon=20m",
            "--set",
            "gateway.attempt_timeout=1h",
            "--replications",
            "2",
        ],
    )
    .0;
    // No timeouts (and 0.2% server errors): no cooldowns move traffic. LiteLLM's weights 9 : 1 : 0 (simple_shuffle.py): 90% and 10% of first attempts, none
    // to the weight-0 deployment. About 7,500 calls per replication (half of 1,100 rpm): the
    // share's standard error is about 0.0035; 0.02 is over five of them.
    let a = mean(&report, "backend.gpt-3_5-turbo-1.attempts");
    let b = mean(&report, "backend.gpt-3_5-turbo-2.attempts");
    let c = mean(&report, "backend.gpt-3_5-turbo-3.attempts");
    assert_eq!(c, 0.0, "weight 0 gets no calls");
    let share = a / (a + b);
    assert!((share - 0.9).abs() < 0.02, "share {share}");
}

/// A balanced group of two deployments, one down for the whole run, and LiteLLM's v1
/// cooldown (`allowed_fails`, `cooldown_time`), with or without cooldowns.
fn outage_scenario(dir: &Path, cooldowns: bool) -> PathBuf {
    let yaml = format!(
        "model_list:\n\
         \x20 - model_name: chat\n    litellm_params: {{ model: azure/a }}\n\
         \x20 - model_name: chat\n    litellm_params: {{ model: openai/b }}\n\
         router_settings:\n  routing_strategy: simple-shuffle\n  num_retries: 0\n  \
         allowed_fails: 2\n  cooldown_time: 30\n  disable_cooldowns: {}\n",
        !cooldowns
    );
    let cfg = dir.join(format!("outage-{cooldowns}.yaml"));
    std::fs::write(&cfg, yaml).unwrap();
    let out = dir.join(format!("outage-{cooldowns}.toml"));
    let r = faultline(&[
        "import",
        "litellm",
        cfg.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // The first deployment is down for the whole run.
    let text = std::fs::read_to_string(&out).unwrap().replace(
        "name = \"chat-1\"\n",
        "name = \"chat-1\"\noutages = [{ start = \"0s\", duration = \"2h\", mode = \"server_error\" }]\n",
    );
    std::fs::write(&out, text).unwrap();
    out
}

#[test]
fn a_cooled_down_deployment_receives_no_calls_during_its_cooldown() {
    let dir = scratch_dir("litellm-cooldown");
    let args = [
        "--set",
        "horizon=10m",
        "--set",
        "tenants.chat-clients.arrivals.rate=20/s",
        "--replications",
        "2",
    ];
    let on = run_report(outage_scenario(&dir, true).to_str().unwrap(), &args).0;
    let off = run_report(outage_scenario(&dir, false).to_str().unwrap(), &args).0;
    // 20 calls/s, half of them drawn for the broken deployment when it is available. Each
    // cooldown starts at its third failure (allowed_fails = 2) and lasts 30 s: over 600 s at
    // most 20 cooldowns, so the broken deployment takes at most 3 calls per cooldown plus
    // those in flight when one starts (each fails in one time to first token, well under a
    // second: at most 25 × 3 s = 75 more per cooldown, a generous bound).
    let attempts_on = mean(&on, "backend.chat-1.attempts");
    let cooldowns = mean(&on, "backend.chat-1.cooldowns");
    assert!((15.0..=21.0).contains(&cooldowns), "cooldowns {cooldowns}");
    assert!(attempts_on <= cooldowns * 78.0, "attempts {attempts_on}");
    // Without cooldowns it takes its full half of the traffic: about 6,000 calls (binomial
    // standard deviation about 55 per replication).
    let attempts_off = mean(&off, "backend.chat-1.attempts");
    assert!(
        (attempts_off - 6_000.0).abs() < 300.0,
        "attempts {attempts_off}"
    );
    assert!(
        attempts_on < attempts_off / 10.0,
        "{attempts_on} vs {attempts_off}"
    );
    assert!(mean(&on, "success_ratio") > mean(&off, "success_ratio") + 0.3);
}

#[test]
fn fallbacks_and_latency_routing_import_and_run() {
    let dir = scratch_dir("litellm-fallbacks");
    let (toml, stderr) = import_litellm(&dir, "litellm-fallbacks");
    assert!(
        stderr.contains("at `router_settings.content_policy_fallbacks`"),
        "{stderr}"
    );
    let text = std::fs::read_to_string(&toml).unwrap();
    // zephyr-beta falls back to gpt-4o's deployment; gpt-4o to claude on context overflow only.
    assert!(text.contains("backend = \"zephyr-beta-1\"\nfallbacks = [\"gpt-4o-1\"]"));
    assert!(text.contains("on_context_overflow = true"));
    assert!(
        text.contains("cooldown = { allowed_fails = 1, cooldown = \"30s\", window = \"30s\" }")
    );
    assert!(text.contains("max_attempts = 4"));
    // Authentication errors are not retried (AuthenticationErrorRetries: 0).
    assert!(!text.contains("\"unauthorized\""));
    let report = run_report(
        toml.to_str().unwrap(),
        &["--set", "horizon=10m", "--replications", "2"],
    )
    .0;
    // One allowed failure and 30 s cooldowns: the long answers that pass the 10 s timeout cool
    // deployments down, and zephyr-beta's calls then move down its chain to gpt-4o.
    assert!(mean(&report, "backend.zephyr-beta-1.cooldowns") > 0.0);
    assert!(mean(&report, "backend.zephyr-beta-1.cooldown_skips") > 0.0);
    assert!(mean(&report, "fallbacks") > 0.0);
    let (latency, _) = import_litellm(&dir, "litellm-latency");
    let text = std::fs::read_to_string(&latency).unwrap();
    assert!(text.contains("strategy = \"latency_based\"\nlatency_buffer = 0.1"));
    let report = run_report(
        latency.to_str().unwrap(),
        &["--set", "horizon=10m", "--replications", "2"],
    )
    .0;
    let a = mean(&report, "backend.claude-1.attempts");
    let b = mean(&report, "backend.claude-2.attempts");
    assert!(a > 0.0 && b > 0.0, "both deployments serve: {a} {b}");
}

#[test]
fn latency_based_routing_prefers_the_faster_deployment() {
    let dir = scratch_dir("balance-latency");
    let toml = dir.join("s.toml");
    let scenario = |strategy: &str| {
        format!(
            "horizon = \"20m\"\nreplications = 2\n\
             [[tenants]]\nname = \"t\"\nroute = \"r\"\narrivals = {{ process = \"poisson\", rate = \"20/s\" }}\n\
             [[routes]]\nname = \"r\"\nbackend = \"fast\"\n\
             balance = {{ strategy = \"{strategy}\", deployments = [{{ backend = \"fast\" }}, {{ backend = \"slow\" }}] }}\n\
             [[backends]]\nname = \"fast\"\nconcurrency = \"unlimited\"\nservice = {{ dist = \"exponential\", mean = \"200ms\" }}\n\
             [[backends]]\nname = \"slow\"\nconcurrency = \"unlimited\"\nservice = {{ dist = \"exponential\", mean = \"2s\" }}\n"
        )
    };
    std::fs::write(&toml, scenario("latency_based")).unwrap();
    let latency = run_report(toml.to_str().unwrap(), &[]).0;
    std::fs::write(&toml, scenario("least_busy")).unwrap();
    let busy = run_report(toml.to_str().unwrap(), &[]).0;
    std::fs::write(&toml, scenario("simple_shuffle")).unwrap();
    let shuffle = run_report(toml.to_str().unwrap(), &[]).0;
    let share = |r: &serde_json::Value| {
        let f = mean(r, "backend.fast.attempts");
        f / (f + mean(r, "backend.slow.attempts"))
    };
    // Shuffle: half each. Least busy: in flight is proportional to the mean service time at
    // equal arrival rates, so the fast one is picked far more. Latency based: the mean of the
    // last ten exponential samples of 0.2 s is below one of 2 s almost always.
    assert!((share(&shuffle) - 0.5).abs() < 0.02, "{}", share(&shuffle));
    assert!(share(&busy) > 0.75, "{}", share(&busy));
    assert!(share(&latency) > 0.9, "{}", share(&latency));
    assert!(mean(&latency, "time_in_system_mean_s") < mean(&shuffle, "time_in_system_mean_s"));
}

#[test]
fn openslo_and_sloth_slos_import_into_a_scenario_that_runs() {
    let dir = scratch_dir("openslo");
    let (base, _) = import_litellm(&dir, "litellm-latency");
    let out = dir.join("with-slos.toml");
    let r = faultline(&[
        "import",
        "openslo",
        &fixture("openslo-llm.yaml"),
        &fixture("sloth-llm.yaml"),
        "--into",
        base.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{stderr}");
    assert!(stderr.contains("openslo-llm.yaml:59:21: at `spec.condition.lookbackWindow`"));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("name = \"llm-availability\"\ndescription = \"Calls answered without an error\"\nindicator = { kind = \"availability\" }\nobjective = \"99.5\""));
    assert!(text.contains("burn_rate = 14.4, for = \"2m\""));
    assert!(text.contains("{ kind = \"latency\", threshold = \"8s\" }"));
    assert!(text.contains("name = \"llm-gateway-requests-availability\""));
    assert!(text.contains("preset = \"sloth\""));
    let report = run_report(
        out.to_str().unwrap(),
        &["--set", "horizon=10m", "--replications", "2"],
    )
    .0;
    // Availability: only the default 0.2% server errors fail. Latency under 8 s: a time to
    // first token of median 0.5 s plus 10-30 ms per output token (median 200, p99 1,500), so
    // a real share of calls is slower: the SLI is well below 1 but above half.
    for slo in ["llm-availability", "llm-gateway-requests-availability"] {
        let sli = mean(&report, &format!("slo.{slo}.sli"));
        assert!(sli > 0.99 && sli <= 1.0, "{slo}: {sli}");
    }
    let sli = mean(&report, "slo.llm-latency.sli");
    assert!(sli > 0.5 && sli < 0.95, "llm-latency: {sli}");
}

#[test]
fn prometheus_rules_carry_the_scenarios_windows_and_factors() {
    let r = faultline(&["export", "prometheus", "example:slo-burn-alerts"]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let yaml = String::from_utf8(r.stdout).unwrap();
    let alerts = interop::prometheus::check(&yaml).expect("valid rule groups");
    // The rules the simulation evaluates for this scenario, from its own world.
    let src = scenarios::Source::example("slo-burn-alerts").unwrap();
    let loaded = scenarios::load(&src, &[]).unwrap();
    let rules = &loaded.world.slos[0].alerting.rules;
    assert!(!rules.is_empty());
    assert_eq!(alerts.len(), rules.len());
    for (rule, (_, labels)) in rules.iter().zip(&alerts) {
        let get = |k: &str| {
            labels
                .iter()
                .find(|l| l.0 == k)
                .map(|l| l.1.clone())
                .unwrap()
        };
        assert_eq!(
            get("long_window"),
            interop::prometheus::prom_duration(rule.long)
        );
        assert_eq!(
            get("short_window"),
            interop::prometheus::prom_duration(rule.short)
        );
        let factor: f64 = get("burn_rate").parse().unwrap();
        assert_eq!((factor * 1e6).round() as u64, rule.factor);
        let sev = if rule.severity == policies::Severity::Page {
            "page"
        } else {
            "ticket"
        };
        assert_eq!(get("severity"), sev);
    }
    // The SRE workbook's page rule, and the budget of a 99% objective, appear in the query.
    assert!(yaml.contains("slo:sli_error:ratio_rate1h{slo=\\\"correctness\\\"} > (14.4 * 0.01)"));
    promtool_check(&yaml);
}

/// `promtool check rules` on the YAML; skipped, saying so on stderr, where promtool is absent
/// (`.ci/run` installs Debian's prometheus package).
fn promtool_check(yaml: &str) {
    let dir = scratch_dir("promtool");
    let path = dir.join("rules.yaml");
    std::fs::write(&path, yaml).unwrap();
    match std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&path)
        .output()
    {
        Err(_) => eprintln!(
            "SKIPPED: promtool check rules (promtool not installed; apt-get install prometheus)"
        ),
        Ok(out) => assert!(
            out.status.success(),
            "promtool rejected the rules:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[test]
fn bad_imported_files_name_file_line_column_and_key() {
    let dir = scratch_dir("interop-bad");
    let cases: [(&str, &str, &str); 5] = [
        ("model_list: [1, 2\nx: 3\n", "bad.yaml:2:2:", "invalid YAML"),
        (
            "model_list:\n  - model_name: a\n    litellm_params: { model: x }\nrouter_settings:\n  num_retries: many\n",
            "bad.yaml:5:16: at `router_settings.num_retries`",
            "expected a number, found \"many\"",
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params: { model: x, rpm: 0 }\n",
            "bad.yaml:3:38: at `model_list[0].litellm_params.rpm`",
            "at least 1",
        ),
        (
            "model_list:\n  - model_name: a\n    litellm_params: { model: x }\nrouter_settings:\n  fallbacks: [{a: [nope]}]\n",
            "bad.yaml:5:19: at `router_settings.fallbacks[0].a`",
            "no model group is named `nope`",
        ),
        (
            "router_settings: {}\n",
            "bad.yaml:1:1: at `(document)`",
            "model_list",
        ),
    ];
    for (yaml, place, what) in cases {
        let path = dir.join("bad.yaml");
        std::fs::write(&path, yaml).unwrap();
        let r = faultline(&["import", "litellm", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&r.stderr);
        assert_eq!(r.status.code(), Some(2), "{yaml}: {stderr}");
        assert!(
            stderr.contains(place) && stderr.contains(what),
            "{yaml}: {stderr}"
        );
        assert!(!stderr.contains("panicked"));
    }
    let path = dir.join("slo.yaml");
    std::fs::write(&path, "apiVersion: openslo/v1\nkind: SLO\nmetadata: { name: x }\nspec:\n  indicatorRef: missing\n  objectives: [{ target: 0.99 }]\n").unwrap();
    let r = faultline(&["import", "openslo", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2));
    assert!(
        stderr
            .contains("slo.yaml:5:17: at `spec.indicatorRef`: no SLI document is named `missing`"),
        "{stderr}"
    );
}

#[test]
fn a_balanced_route_must_list_its_own_backend() {
    let dir = scratch_dir("balance-bad");
    let path = dir.join("s.toml");
    std::fs::write(
        &path,
        "horizon = \"1m\"\n[[tenants]]\nname = \"t\"\nroute = \"r\"\narrivals = { process = \"poisson\", rate = \"1/s\" }\n\
         [[routes]]\nname = \"r\"\nbackend = \"a\"\nbalance = { strategy = \"least_busy\", deployments = [{ backend = \"b\" }] }\n\
         [[backends]]\nname = \"a\"\nservice = { dist = \"exponential\", mean = \"1s\" }\n\
         [[backends]]\nname = \"b\"\nservice = { dist = \"exponential\", mean = \"1s\" }\n",
    )
    .unwrap();
    let r = faultline(&["validate", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(2));
    assert!(stderr.contains("routes[0].balance.deployments"), "{stderr}");
    assert!(
        stderr.contains("must be one of its deployments"),
        "{stderr}"
    );
}
