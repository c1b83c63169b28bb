//! The refactoring guard: every built-in example's `results_digest`, as recorded.
//!
//! The digest covers every result byte a run produces (metrics per replication, series, latency
//! distributions and journals), so a change that is meant to move no number (a refactoring, a
//! speed-up) must leave this table exactly as it is. Each example runs as written (its own seed
//! and replications; each takes under two seconds in release).
//!
//! When a deliberate model change moves a number, regenerate the table with the new build:
//!
//! ```sh
//! for e in $(target/release/faultline examples | awk 'NF>1 && $1!="Run"{print $1}'); do
//!   printf '    ("%s", "%s"),\n' $e "$(target/release/faultline run example:$e \
//!     --out /tmp/digests/$e --format json \
//!     | python3 -c 'import json,sys; print(json.load(sys.stdin)["results_digest"])')"
//! done
//! ```
//!
//! and say in the commit message which examples changed and why. A refactoring that needs
//! this table edited is not a refactoring.

mod common;
use common::{faultline, scratch_dir};

/// (example, results digest), in the order `faultline examples` lists them.
#[rustfmt::skip]
const DIGESTS: &[(&str, &str)] = &[
    ("quickstart", "sha256:cfda12cdbb84a12d110af17e524bf7dc9eef7d35b05683efba28443cc54a6b73"),
    ("mm1", "sha256:6d73d9aa862f36ae5f17a0ed970173e21d67b3724c1e095e1e4f21275d2965a9"),
    ("mmc", "sha256:cb76301c3589e81b898fae904410db6b20dfef7ae4f70177958799c3a89a1673"),
    ("erlang-b", "sha256:a65a67f905f7ee1a7830e9bbaf7548423612641d58ffd39fb6bab14dd8e72def"),
    ("retry-feedback", "sha256:933b27359055e5c1dbfcb82f06af9d7bee5378d08efada77fa618300ffb4ded1"),
    ("retry-amplification", "sha256:95d66b1dc740aa21af1e75bf5d6b845031331dcffe4c91d5eee52bd4f8da866f"),
    ("provider-outage", "sha256:74314a0818483ef7536edd6041203ad8d0be9dcba37e48e2165820778efe13f9"),
    ("agent-chain", "sha256:e582f412f7ec59421699a5539df03ec3740ed823fb84b4012ba825e3bceb1398"),
    ("azure-code-replay", "sha256:6365006552a01b9ab01e64e2ca3c8e31a36a38c556e9795e810f0fd02434ec1b"),
    ("silent-model-update", "sha256:6fadbe5fa588e9f4474dffb51125bb5f3303de6e3d512f59911b481e4bef54f1"),
    ("token-runaway", "sha256:afe44cd8dd0e1f8792b2090138aeb23e26671c90c90fd2307e20889bd6f541e0"),
    ("fallback-chain", "sha256:292630b38887ef60d69e351f8d2df44ad57207c94c5360fe5b120f619bc6887f"),
    ("breaker-vs-retry-storm", "sha256:079fbc68e9eb71cb8ce9eef25003d5b259cca4087e947de09c48ac6f0d0ac810"),
    ("fair-share", "sha256:4f10fe564053f56dccab077807267e4b345961020d11f525d69140725d499976"),
    ("chaos-game-day", "sha256:f7c69ba9804326ff89586e647e754564eaca45a074039e93425c7dca30a011b7"),
    ("retry-storm", "sha256:3fa31f287c6ff2c643c45c82881fbd6af8e7cc85aaad10598afc7bfe2caa5490"),
    ("noisy-neighbor", "sha256:d56df38ea9859076d125268192ea65c89dab2f80545fe2d4daa282b9e170535b"),
    ("breaker-soft-failures", "sha256:8a2a18922f2cf6be0fbea87a0ffd0218f7224041b5037a8d96337281d7093408"),
    ("kv-eviction-storm", "sha256:847935086961b39f696b0f24eb86e74c9c9ee0968c090c06150182a8af154c6b"),
    ("self-hosted-vs-api", "sha256:67bcb50a7fedbc5958493b3dae397e3e5febe18785b392413cb84d57fcacf1cf"),
    ("autoscale-burst", "sha256:1fd9bf3ef5975ab28a5f8f0553faf4bfe96694e3b5123382e4f59a78dd17f215"),
    ("slo-burn-alerts", "sha256:9edb39a799468bdc1975a5eaa49a47a2ed74c390af1bad3838d44b984c37f4ad"),
    ("rag-latency-spike", "sha256:4fad2220d560c83e175b5edd36a7d17cb4f242fa271a6208e2dd35642e2b1539"),
    ("pipeline-crash-resume", "sha256:2b3614413e777cf2822097ad79989e9430b5b0dbed5e8773d5ded49c3a781379"),
    ("training-checkpoint", "sha256:2d1a1135f44e41cbcb7bbdeba429dc42a753bfd6b51db5b8ecc7f8a54c88355b"),
];

#[test]
fn every_example_has_a_recorded_digest() {
    let out = faultline(&["examples"]);
    assert!(out.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let name = words.next()?;
            (words.next().is_some() && name != "Run").then(|| name.to_string())
        })
        .collect();
    let recorded: Vec<&str> = DIGESTS.iter().map(|(n, _)| *n).collect();
    assert_eq!(listed, recorded, "the examples and the digest table differ");
}

#[test]
fn every_example_reproduces_its_recorded_digest() {
    let mut wrong = Vec::new();
    for (name, expected) in DIGESTS {
        let dir = scratch_dir(&format!("digest-{name}"));
        let scenario = format!("example:{name}");
        let out = faultline(&[
            "run",
            &scenario,
            "--out",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert!(
            out.status.success(),
            "{scenario} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("the report is JSON");
        let digest = report["results_digest"].as_str().expect("a results digest");
        if digest != *expected {
            wrong.push(format!("{name}: recorded {expected}, now {digest}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "results digests changed:\n{}",
        wrong.join("\n")
    );
}

/// No built-in example hedges, so hedging gets its own guard: examples run with a hedge policy
/// (2 hours, 2 replications, a 20 s attempt timeout), as recorded before hedge timers whose
/// attempt ends first were kept out of the event heap. Fixed delays and quantiles, several hedges
/// per call, retries and fallbacks inside the hedge delay, queues, pools, idempotency keys.
#[rustfmt::skip]
const HEDGED: &[(&str, &str, &str)] = &[
    ("fallback-chain", "{ quantile = 0.95 }", "sha256:9cb82df9720896167c5429d91563a61aacbde677e885fd4544208d6e8a325dc2"),
    ("retry-storm", "{ delay = \"300ms\", max_extra = 2 }", "sha256:f633c5a8ecc8e480044178457e6ef6576ba62a3ecb9ee0349569aca0b4facb9d"),
    ("breaker-vs-retry-storm", "{ quantile = 0.5, max_extra = 3, min_observations = 10 }", "sha256:5939a79437374df6d91ce0e81c2aef93aa91ade2532cfcc6fad75084ef9d8422"),
    ("provider-outage", "{ quantile = 0.5, max_extra = 3, min_observations = 10 }", "sha256:d3b3f8f2916c78c0a6cc433ce670dc3caef6ee88a51790eaf735fef6fe577ae1"),
    ("chaos-game-day", "{ quantile = 0.95 }", "sha256:5f86d01c1676ed528b3e6d586c59c79445ccae60624bae769211029f410bb2c7"),
    ("noisy-neighbor", "{ delay = \"300ms\", max_extra = 2 }", "sha256:3cf92f8b3eb353b5c45e25ed48c37cc07d0ab3ea038f90df64b0aff464f3d10e"),
    ("self-hosted-vs-api", "{ quantile = 0.5, max_extra = 3, min_observations = 10 }", "sha256:13789efef27903d886c14e5c811c10898522b4fe22c5fab533ddc73c4d369546"),
    ("breaker-soft-failures", "{ delay = \"300ms\", max_extra = 2 }", "sha256:66c86e685bc4c7b39319ba2684ef836211b00ecac95d7776dfaec58907eb4f8a"),
];

#[test]
fn hedged_examples_reproduce_their_recorded_digests() {
    let mut wrong = Vec::new();
    for (name, hedge, expected) in HEDGED {
        let dir = scratch_dir(&format!("digest-hedged-{name}"));
        let scenario = format!("example:{name}");
        let hedge = format!("gateway.hedge={hedge}");
        let out = faultline(&[
            "run",
            &scenario,
            "--replications",
            "2",
            "--set",
            "horizon=2h",
            "--set",
            &hedge,
            "--set",
            "gateway.attempt_timeout=20s",
            "--out",
            dir.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert!(
            out.status.success(),
            "{scenario} with {hedge} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("the report is JSON");
        let digest = report["results_digest"].as_str().expect("a results digest");
        if digest != *expected {
            wrong.push(format!(
                "{name} with {hedge}: recorded {expected}, now {digest}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "results digests changed:\n{}",
        wrong.join("\n")
    );
}
