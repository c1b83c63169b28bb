//! Scenarios embedded in the binary, run as `example:NAME`. Each is also a test fixture: the
//! test suite runs every one and checks its documented finding.

pub struct Example {
    pub name: &'static str,
    /// One line for `faultline examples`.
    pub summary: &'static str,
    pub toml: &'static str,
}

pub const ALL: &[Example] = &[
    Example {
        name: "quickstart",
        summary: "an LLM API shared by two tenants, with timeouts, retries and jittered backoff",
        toml: include_str!("../examples/quickstart.toml"),
    },
    Example {
        name: "mm1",
        summary: "M/M/1 queue, rho = 0.8 (V1): W = 5 s",
        toml: include_str!("../examples/mm1.toml"),
    },
    Example {
        name: "mmc",
        summary: "M/M/4 queue, rho = 0.8 (V2, Erlang C): P(wait) = 0.5964",
        toml: include_str!("../examples/mmc.toml"),
    },
    Example {
        name: "erlang-b",
        summary: "10 servers, no queue, 7 Erlang offered (V3): P(block) = 0.0787",
        toml: include_str!("../examples/erlang-b.toml"),
    },
    Example {
        name: "retry-feedback",
        summary: "immediate retries as Bernoulli feedback into an M/M/1 (V5): T = 3.333 s",
        toml: include_str!("../examples/retry-feedback.toml"),
    },
    Example {
        name: "retry-amplification",
        summary: "p = 0.5 failures, 4 attempts (V6): 93.75% success at 1.875 attempts",
        toml: include_str!("../examples/retry-amplification.toml"),
    },
];

pub fn find(name: &str) -> Option<&'static Example> {
    ALL.iter().find(|e| e.name == name)
}
