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
    Example {
        name: "provider-outage",
        summary: "a 4-hour outage of the only provider: 83.3% availability, 33x the day's SLO budget",
        toml: include_str!("../examples/provider-outage.toml"),
    },
    Example {
        name: "agent-chain",
        summary: "three chained calls on a model with a hidden degradation state: correlated failures",
        toml: include_str!("../examples/agent-chain.toml"),
    },
    Example {
        name: "azure-code-replay",
        summary: "Azure's code-completion trace against an input-token rate limit: 429s and retries",
        toml: include_str!("../examples/azure-code-replay.toml"),
    },
    Example {
        name: "silent-model-update",
        summary: "soft failures x5 after a silent model update: which burn-rate alert catches it, when",
        toml: include_str!("../examples/silent-model-update.toml"),
    },
    Example {
        name: "token-runaway",
        summary: "an agent loop whose prompt grows every turn: the cost explosion and what caps save",
        toml: include_str!("../examples/token-runaway.toml"),
    },
    Example {
        name: "fallback-chain",
        summary: "the provider-outage day with a cache, a second provider and a breaker: 99.98% availability, the SLO holds",
        toml: include_str!("../examples/fallback-chain.toml"),
    },
    Example {
        name: "breaker-vs-retry-storm",
        summary: "a provider hangs for 20 min: retries fill its queue for about an hour more unless a breaker opens",
        toml: include_str!("../examples/breaker-vs-retry-storm.toml"),
    },
    Example {
        name: "fair-share",
        summary: "a batch tenant's bursts starve an interactive one under FIFO; weighted fair queuing fixes it",
        toml: include_str!("../examples/fair-share.toml"),
    },
    Example {
        name: "chaos-game-day",
        summary: "three chaos experiments (429 storm, latency injection, KV storm); the safety gate aborts one",
        toml: include_str!("../examples/chaos-game-day.toml"),
    },
    Example {
        name: "retry-storm",
        summary: "a 5 s load spike on a provider that slows with load: immediate retries keep goodput at zero; a retry budget recovers",
        toml: include_str!("../examples/retry-storm.toml"),
    },
    Example {
        name: "noisy-neighbor",
        summary: "a bulk tenant's long-context burst starves interactive tenants under FIFO; fair queuing or per-tenant token limits fix it",
        toml: include_str!("../examples/noisy-neighbor.toml"),
    },
    Example {
        name: "breaker-soft-failures",
        summary: "a breaker counting validator-caught soft failures opens on a silently degraded model: 81% fewer wrong answers",
        toml: include_str!("../examples/breaker-soft-failures.toml"),
    },
    Example {
        name: "kv-eviction-storm",
        summary: "long-context bursts overfill a GPU pool's KV cache: a preemption storm; a KV admission cap ends it",
        toml: include_str!("../examples/kv-eviction-storm.toml"),
    },
    Example {
        name: "self-hosted-vs-api",
        summary: "two self-hosted replicas with overflow to an API provider, against the API alone",
        toml: include_str!("../examples/self-hosted-vs-api.toml"),
    },
    Example {
        name: "autoscale-burst",
        summary: "a GPU pool autoscaling on queue depth under bursts: the cost saved and the provisioning gap",
        toml: include_str!("../examples/autoscale-burst.toml"),
    },
    Example {
        name: "slo-burn-alerts",
        summary: "a broken silent model update (0.5% -> 20% bad answers): the 14.4x page fires 43 min later",
        toml: include_str!("../examples/slo-burn-alerts.toml"),
    },
    Example {
        name: "oom-retry-storm",
        summary: "retries without a budget keep a memory-limited service dying after one spike",
        toml: include_str!("../examples/oom-retry-storm.toml"),
    },
    Example {
        name: "codel-overload",
        summary: "1.2x overload for 10 minutes: FIFO waits a minute, CoDel holds the wait near 0.5 s",
        toml: include_str!("../examples/codel-overload.toml"),
    },
    Example {
        name: "aws-retry-quota",
        summary: "AWS-style retry quotas per tenant through a 2-minute outage: retries stop after the bucket drains",
        toml: include_str!("../examples/aws-retry-quota.toml"),
    },
    Example {
        name: "adaptive-concurrency",
        summary: "Vegas finds a 20-slot provider's capacity under 1.5x load: the limit settles near 20",
        toml: include_str!("../examples/adaptive-concurrency.toml"),
    },
    Example {
        name: "streaming-failures",
        summary: "5% of streams break mid-answer: restart vs resume, and an SLO over broken streams",
        toml: include_str!("../examples/streaming-failures.toml"),
    },
    Example {
        name: "rag-latency-spike",
        summary: "a RAG workflow whose vector database slows 25-fold for 30 min: 25% of executions dead-lettered",
        toml: include_str!("../examples/rag-latency-spike.toml"),
    },
    Example {
        name: "pipeline-crash-resume",
        summary: "a six-activity pipeline on crashing workers: durable resume vs starting over",
        toml: include_str!("../examples/pipeline-crash-resume.toml"),
    },
    Example {
        name: "training-checkpoint",
        summary: "a 24 h GPU job checkpointing hourly on a node with 8 h MTBF: Daly's E[T] = 1705.7 min",
        toml: include_str!("../examples/training-checkpoint.toml"),
    },
    Example {
        name: "ingestion-backlog",
        summary: "a bulk upload of 500k documents into a 40-worker queue: backlog, oldest age, backpressure, scaling",
        toml: include_str!("../examples/ingestion-backlog.toml"),
    },
    Example {
        name: "prompt-cost-spike",
        summary: "a system prompt 3x longer at 6 h: cost per execution and when the cost guard fires",
        toml: include_str!("../examples/prompt-cost-spike.toml"),
    },
];

pub fn find(name: &str) -> Option<&'static Example> {
    ALL.iter().find(|e| e.name == name)
}
