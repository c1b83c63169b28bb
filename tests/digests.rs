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
    ("quickstart", "sha256:c0cc7a8fd0b2ba2a159a985a92cb14b248d60e7db9f1663646b76dd062e9cefe"),
    ("mm1", "sha256:abbedd2f93b543bb8d0390a67fd8b39a475710045e390f8985e59f4582983112"),
    ("mmc", "sha256:1a9dfcc20fc91343eacd9a012d7da1f238852dbaa042fc2eb35a04758c94caee"),
    ("erlang-b", "sha256:5937a190f67d19b0d07cec9231ccd04c599511b4832ca0a266b49af8ffde9e28"),
    ("retry-feedback", "sha256:5874b33579a62190d6c93d338472d00d947be046306eebce80ce6d7ede6a3913"),
    ("retry-amplification", "sha256:ade8d8d141e7a8b58e8534dedbea27cbc859a2d35a7debd879bf386451e9fe5c"),
    ("provider-outage", "sha256:74314a0818483ef7536edd6041203ad8d0be9dcba37e48e2165820778efe13f9"),
    ("agent-chain", "sha256:e9bea58884970204b817c3fe1d31087a81371d1f03b66a314a13962b180e791a"),
    ("azure-code-replay", "sha256:b6ee366197d0c148febcd2de975452f53a0b5ad8675471a37e0ba0854df3c56d"),
    ("silent-model-update", "sha256:78100d2d11ad7153a3820864d6b114e234e8ab38baed2a9598677c4e1cde6866"),
    ("token-runaway", "sha256:e75edea0daa62dcf0a818ee3fa5b5a0c2b38ab92e9ceafd53548e071c1e3674e"),
    ("fallback-chain", "sha256:ba241564e5524404e8e6dfe32c988cc83b790d1c86d2046608c2fc73596111db"),
    ("breaker-vs-retry-storm", "sha256:079fbc68e9eb71cb8ce9eef25003d5b259cca4087e947de09c48ac6f0d0ac810"),
    ("fair-share", "sha256:4f10fe564053f56dccab077807267e4b345961020d11f525d69140725d499976"),
    ("chaos-game-day", "sha256:2191882d64ec6deffb614f41f4bcae518a5e5887db8004fc0bb0ab5e65aa1e6e"),
    ("retry-storm", "sha256:a482b8e4eecac8250794a8d1f5933a4c4f20c80944f298ea2ae8adc60e8b4d69"),
    ("noisy-neighbor", "sha256:d56df38ea9859076d125268192ea65c89dab2f80545fe2d4daa282b9e170535b"),
    ("breaker-soft-failures", "sha256:8a2a18922f2cf6be0fbea87a0ffd0218f7224041b5037a8d96337281d7093408"),
    ("kv-eviction-storm", "sha256:67e33e6cea7ebdb52b84c5ce8d6a844a9c2e54889c8cb0ec63a5482b0af6c61b"),
    ("self-hosted-vs-api", "sha256:9859ed957c6c740591b045889399a71041b93d69cb6f86a22309ea024c2242c3"),
    ("autoscale-burst", "sha256:d90b4dab5fe6b1b17da2ce70b20dbd7079d8f0a80ad9b1ffa1a394488de0b362"),
    ("slo-burn-alerts", "sha256:3d1c28e3bf7dc5f3ca8efb4214b6e208e0f1697a2aa02811b89137b5e9867479"),
    ("oom-retry-storm", "sha256:0bd0dcf50cfa3c6c19163aa440742cbc09e8ce8b55e371a299ce2317ee0dfdf7"),
    ("codel-overload", "sha256:88e9bc2a3b6cc9b4dd909c86bcd3007eff6e1ee6b14b7b829c38494a171c82ec"),
    ("aws-retry-quota", "sha256:ff57f7e27391e2bd44cba1be805c99c2694ea5f58bc09694248130db97b3628c"),
    ("adaptive-concurrency", "sha256:8f81dd0a4b2d7ee68f09651bd53dbfc7e2da0bd6923b98b952369f026baec5c8"),
    ("streaming-failures", "sha256:163f209dbc9a52b2c36073c984cf80eb8053bbba52f048222e34acb773f35457"),
    ("rag-latency-spike", "sha256:edf0f288bf51e78173aa8d93521d62731f5cb1ffa8e1bb768be3db8ad858ead9"),
    ("pipeline-crash-resume", "sha256:1ad4e286afef687611fb7b0e2735a7d03f18bf1b6973a1dc14fe24de93559aa2"),
    ("training-checkpoint", "sha256:b63ff4f6aac2136164ac890eb9475f4d51e6e91307414227624782d847cd24c0"),
    ("ingestion-backlog", "sha256:619b75d62e832ceb2d1a69549c540d66a1f8392e1bfea8d045a997e0091be2e7"),
    ("prompt-cost-spike", "sha256:fa5e5164c05203ad855173fb9d708913dd98cc68841575bcf7351b43e15071cd"),
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
    ("fallback-chain", "{ quantile = 0.95 }", "sha256:a3c664a2f347f9c5a1a33073ca1ec2534d32b3be8891c049cbbdfa10962c8319"),
    ("retry-storm", "{ delay = \"300ms\", max_extra = 2 }", "sha256:cd3e337c50e8273289b4f1f17b2bac18ac6fbdbbf11fa4f1bcad4afc623c82e4"),
    ("breaker-vs-retry-storm", "{ quantile = 0.5, max_extra = 3, min_observations = 10 }", "sha256:5939a79437374df6d91ce0e81c2aef93aa91ade2532cfcc6fad75084ef9d8422"),
    ("provider-outage", "{ quantile = 0.5, max_extra = 3, min_observations = 10 }", "sha256:d3b3f8f2916c78c0a6cc433ce670dc3caef6ee88a51790eaf735fef6fe577ae1"),
    ("chaos-game-day", "{ quantile = 0.95 }", "sha256:91d8320f489141806a54690939661df80e7aaf1154d253692b3fd19efc3c8450"),
    ("noisy-neighbor", "{ delay = \"300ms\", max_extra = 2 }", "sha256:3cf92f8b3eb353b5c45e25ed48c37cc07d0ab3ea038f90df64b0aff464f3d10e"),
    ("self-hosted-vs-api", "{ quantile = 0.5, max_extra = 3, min_observations = 10 }", "sha256:3859ba63720c0624213932f33595a5018eeb4b955f5756a6f2c44e1011c16591"),
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
