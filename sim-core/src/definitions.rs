//! What every metric means: its definition, unit and the section of the summary it belongs to,
//! beside the name catalogue in [`crate::names`]. `faultline metrics [GLOB]` prints this table,
//! the terminal summary groups its rows by [`Section`], and a scenario's `[report] headline`
//! names are checked against it.
//!
//! A pattern is a metric name with `*` for the parts a scenario chooses (a tenant, backend,
//! route, pool, SLO, experiment, rule, error class or soft-failure category). `*` matches any
//! run of characters, dots included, because those names may hold dots themselves.

mod operations;
mod workflow;

/// The group of rows a metric is shown in, in the order the summary prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// The gateway's view of every call: arrivals, outcomes, latency, retries, errors.
    Calls,
    /// Per tenant.
    Tenants,
    /// Per backend and per route.
    Backends,
    /// Self-hosted GPU pools.
    Pools,
    /// Service level objectives and their alerts.
    Slos,
    /// Chaos experiments.
    Chaos,
    /// Tokens, prices, spend and the cost guard.
    Cost,
}

impl Section {
    /// Every section, in print order.
    pub const ALL: [Section; 7] = [
        Section::Calls,
        Section::Tenants,
        Section::Backends,
        Section::Pools,
        Section::Slos,
        Section::Chaos,
        Section::Cost,
    ];

    /// The section's heading in the summary.
    pub fn title(self) -> &'static str {
        match self {
            Section::Calls => "calls",
            Section::Tenants => "tenants",
            Section::Backends => "backends and routes",
            Section::Pools => "GPU pools",
            Section::Slos => "SLOs",
            Section::Chaos => "chaos",
            Section::Cost => "cost",
        }
    }
}

/// One metric family: its name pattern, unit and definition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Definition {
    /// The name, `*` standing for a scenario's own names.
    pub pattern: &'static str,
    /// The unit (`1` for a pure number, `ratio` for a share in [0, 1]).
    pub unit: &'static str,
    /// What it counts, over the measured window `[warmup, horizon]` unless it says otherwise.
    pub meaning: &'static str,
}

pub(crate) const fn d(
    pattern: &'static str,
    unit: &'static str,
    meaning: &'static str,
) -> Definition {
    Definition {
        pattern,
        unit,
        meaning,
    }
}

/// Every metric family faultline reports. More specific patterns come first where two match
/// (`slo.*.alerts.*` before `slo.*.alerts`).
pub const DEFINITIONS: &[Definition] = &[
    // Calls.
    d(
        "arrivals",
        "jobs",
        "jobs that arrived (a chain or agent loop is one job)",
    ),
    d(
        "arrival_rate_per_s",
        "1/s",
        "arrivals per second of measured time",
    ),
    d(
        "admitted_rate_per_s",
        "1/s",
        "arrivals not blocked at the door, per second",
    ),
    d(
        "blocked",
        "jobs",
        "jobs refused on arrival because the queue was full",
    ),
    d(
        "block_probability",
        "ratio",
        "blocked on arrival / arrivals",
    ),
    d(
        "completions",
        "jobs",
        "jobs that arrived in the window and ended in it, with any outcome: the population of \
         `arrivals`, so never more than it",
    ),
    d(
        "completions_from_warmup",
        "jobs",
        "jobs that arrived during the warm-up and ended after it: in no per-job figure \
         (outcomes, latency, attempts), only in the time series and the number in system",
    ),
    d(
        "cache_served",
        "jobs",
        "jobs every call of which a fresh cache hit answered (no backend saw them); counted \
         apart from latency and attempts per request",
    ),
    d(
        "cache_served_latency_mean_s",
        "s",
        "mean time from arrival to outcome of the cache_served jobs",
    ),
    d("throughput_per_s", "1/s", "completions per second"),
    d("goodput_per_s", "1/s", "jobs ended `correct`, per second"),
    d(
        "success_ratio",
        "ratio",
        "jobs ended correct, wrong_accepted or degraded / completions",
    ),
    d(
        "attempts_per_request",
        "attempts/job",
        "attempts sent to backends (retries and hedges included) per completed job, over the jobs \
         not answered wholly by a cache (cache_served jobs make none and are not in it)",
    ),
    d(
        "retries.*",
        "attempts",
        "retries caused by an error of that class",
    ),
    d("retries", "attempts", "attempts after the first of a call"),
    d(
        "attempt_failures",
        "attempts",
        "attempts that ended in an error or timed out",
    ),
    d(
        "timeouts",
        "attempts",
        "attempts abandoned at the attempt timeout",
    ),
    d(
        "errors.*",
        "attempts",
        "attempts that ended with this error class",
    ),
    d(
        "queue_wait_mean_s",
        "s",
        "mean wait in the gateway's queue, per attempt",
    ),
    d(
        "queue_wait_probability",
        "ratio",
        "share of attempts that waited at all",
    ),
    d(
        "queue_length_mean",
        "calls",
        "time-weighted mean number of calls waiting",
    ),
    d(
        "time_in_system_mean_s",
        "s",
        "mean time from arrival to the final outcome, over every completed job (cache-served \
         ones included, so that L = λW holds)",
    ),
    d(
        "number_in_system_mean",
        "jobs",
        "time-weighted mean number of jobs in the system",
    ),
    d(
        "latency_p50_s",
        "s",
        "median time from arrival to outcome, over completed jobs not answered wholly by a cache \
         (those are cache_served, with their own latency)",
    ),
    d(
        "latency_p95_s",
        "s",
        "95th percentile of that latency (cache-served jobs not in it)",
    ),
    d(
        "latency_p99_s",
        "s",
        "99th percentile of that latency (cache-served jobs not in it)",
    ),
    d(
        "ttft_p50_s",
        "s",
        "median time to first token of answered calls",
    ),
    d("ttft_p95_s", "s", "95th percentile time to first token"),
    d("ttft_p99_s", "s", "99th percentile time to first token"),
    d(
        "context_overflows",
        "calls",
        "calls whose prompt + max_tokens exceeded the context window",
    ),
    d(
        "throttled",
        "jobs",
        "jobs that ended `throttled` (a 429 or a gateway limit had the last word)",
    ),
    d("correct", "jobs", "jobs ended `correct`"),
    d(
        "wrong_accepted",
        "jobs",
        "jobs ended with a silently bad answer let through",
    ),
    d(
        "detected_handled",
        "jobs",
        "jobs whose bad answer or injection was caught and ended in an error",
    ),
    d(
        "degraded",
        "jobs",
        "jobs answered after a failure: by a fallback backend the chain reached after an error, \
         timeout, open breaker or rejection, a stale cache entry or a default response (planned \
         overflow is `overflow`)",
    ),
    d(
        "overflow",
        "jobs",
        "jobs answered by a fallback backend only because the backend before it was full and \
         turned the call away (a GPU pool's kv_admission cap, overload_when_busy): planned \
         overflow, ended `correct` (or `wrong_accepted`), not degraded",
    ),
    d(
        "correctness",
        "ratio",
        "correct / (correct + wrong_accepted)",
    ),
    d(
        "fallbacks",
        "calls",
        "calls that moved down their route's fallback chain",
    ),
    d(
        "default_responses",
        "calls",
        "calls answered by the route's default response",
    ),
    d(
        "fallback.depth*_share",
        "ratio",
        "share of answered calls not answered by a fresh cache hit that the backend at that \
         depth of the fallback chain answered (0: the primary); with stale_share and \
         default_share the shares sum to 1",
    ),
    d(
        "fallback.stale_share",
        "ratio",
        "share of those calls a stale cache entry answered, as a last resort",
    ),
    d(
        "fallback.default_share",
        "ratio",
        "share of those calls the route's default response answered, as a last resort",
    ),
    d(
        "fallback.too_slow",
        "calls",
        "fallbacks skipped because the deadline left too little time",
    ),
    d(
        "soft.*.detected",
        "answers",
        "silently bad answers of the category the validator caught",
    ),
    d(
        "soft.*.missed",
        "answers",
        "silently bad answers of the category it let through",
    ),
    d("soft.*", "answers", "silently bad answers of the category"),
    d(
        "validator.false_positives",
        "answers",
        "good answers the validator rejected",
    ),
    d(
        "guardrail.injections_blocked",
        "jobs",
        "prompt injections the input guardrail blocked",
    ),
    d(
        "guardrail.injections_missed",
        "jobs",
        "prompt injections it let through",
    ),
    d(
        "guardrail.clean_blocked",
        "jobs",
        "clean prompts it blocked",
    ),
    d(
        "chain.*.wrong_let_in",
        "jobs",
        "jobs whose first bad answer came from that chain step",
    ),
    d(
        "chain.*.detected",
        "answers",
        "validator rejections at that chain step",
    ),
    d(
        "turns_per_job_mean",
        "turns",
        "mean agent-loop turns per job",
    ),
    d(
        "tokens_per_job_mean",
        "tokens",
        "mean tokens (prompt + output) per agent-loop job",
    ),
    d("turn_cap_stops", "jobs", "agent loops stopped at turn_cap"),
    d(
        "token_cap_stops",
        "jobs",
        "agent loops stopped at token_cap",
    ),
    d(
        "prompt_limit_stops",
        "jobs",
        "agent loops stopped because the prompt outgrew the context window",
    ),
    d(
        "budget_rejections",
        "jobs",
        "jobs turned away because their tenant's budget was spent",
    ),
    d(
        "rate_limit.delayed",
        "calls",
        "calls a gateway rate limit delayed",
    ),
    d(
        "rate_limit.rejected",
        "calls",
        "calls a gateway rate limit rejected",
    ),
    d(
        "retry_budget.denied",
        "attempts",
        "retries the retry budget refused",
    ),
    d(
        "adaptive_throttle.rejected_locally",
        "calls",
        "calls adaptive throttling refused without sending",
    ),
    d(
        "retry_quota.denied",
        "attempts",
        "retries a tenant's retry quota could not pay for, all tenants",
    ),
    d(
        "retry_quota.exhausted",
        "count",
        "times a tenant's retry quota ran dry (a denial after a granted retry), all tenants",
    ),
    d(
        "client_rate.delayed",
        "attempts",
        "attempts an adaptive client rate limiter held until its token filled in",
    ),
    d(
        "client_rate.throttles",
        "attempts",
        "throttling errors (429, 529) the adaptive client rate limiters saw",
    ),
    d(
        "concurrency_limit.rejected",
        "calls",
        "calls an adaptive concurrency limit turned away, all backends",
    ),
    d(
        "codel.dropped",
        "calls",
        "calls CoDel dropped from the head of a backend's queue (shed)",
    ),
    d("shed.*", "calls", "calls shed, by reason"),
    d("hedges_sent", "attempts", "hedged attempts sent"),
    d(
        "hedges_won",
        "attempts",
        "hedged attempts that answered first",
    ),
    d("deadline_exceeded", "jobs", "jobs ended by their deadline"),
    d(
        "idempotency.duplicates",
        "attempts",
        "attempts the provider worked on twice",
    ),
    d(
        "idempotency.absorbed",
        "attempts",
        "resends attached to an attempt still running, under an idempotency key",
    ),
    d(
        "idempotency.duplicate_work_s",
        "s",
        "provider time spent on duplicate work",
    ),
    d(
        "idempotency.duplicate_cost_usd",
        "USD",
        "spend on duplicate work",
    ),
    d("faults.*", "1", "fault activity"),
    // Tenants.
    d("tenant.*.arrivals", "jobs", "the tenant's arrivals"),
    d(
        "tenant.*.blocked",
        "jobs",
        "the tenant's jobs blocked on arrival",
    ),
    d(
        "tenant.*.success_ratio",
        "ratio",
        "the tenant's success ratio",
    ),
    d("tenant.*.correctness", "ratio", "the tenant's correctness"),
    d(
        "tenant.*.time_in_system_mean_s",
        "s",
        "the tenant's mean time in system",
    ),
    d(
        "tenant.*.latency_p99_s",
        "s",
        "the tenant's 99th percentile latency (cache-served jobs not in it)",
    ),
    d(
        "tenant.*.ttft_p99_s",
        "s",
        "the tenant's 99th percentile time to first token",
    ),
    d(
        "tenant.*.retry_quota.denied",
        "attempts",
        "retries the tenant's retry quota could not pay for",
    ),
    d(
        "tenant.*.retry_quota.exhausted",
        "count",
        "times the tenant's retry quota ran dry",
    ),
    d("tenant.*.cost_usd", "USD", "the tenant's spend"),
    // Backends and routes.
    d(
        "backend.*.busy_mean",
        "slots",
        "time-weighted mean attempts in service (busy slots), abandoned attempts the backend \
         still works on included",
    ),
    d(
        "backend.*.utilisation",
        "ratio",
        "busy_mean / concurrency, only for a backend with a finite concurrency (an unlimited one \
         has no utilisation: its busy_mean is the figure)",
    ),
    d(
        "backend.*.attempts",
        "attempts",
        "attempts the backend started",
    ),
    d(
        "backend.*.cost_usd",
        "USD",
        "the backend's spend (GPU-hours for a pool)",
    ),
    d(
        "backend.*.degraded_fraction",
        "ratio",
        "share of time in the hidden degraded state",
    ),
    d(
        "backend.*.outage_fraction",
        "ratio",
        "share of time in an outage",
    ),
    d(
        "backend.*.breaker_opened",
        "count",
        "times the breaker opened",
    ),
    d(
        "backend.*.breaker_half_opened",
        "count",
        "times it went half-open",
    ),
    d(
        "backend.*.breaker_recovered",
        "count",
        "times it closed again",
    ),
    d(
        "backend.*.breaker_rejected",
        "calls",
        "calls it turned away",
    ),
    d(
        "backend.*.breaker_open_share",
        "ratio",
        "share of time open",
    ),
    d(
        "backend.*.breaker_half_open_share",
        "ratio",
        "share of time half-open",
    ),
    d("backend.*.cooldowns", "count", "cooldowns started"),
    d(
        "backend.*.concurrency_limit_mean",
        "calls",
        "the backend's adaptive concurrency limit, time-averaged",
    ),
    d(
        "backend.*.concurrency_limit_rejected",
        "calls",
        "calls the backend's adaptive concurrency limit turned away",
    ),
    d(
        "backend.*.cooldown_skips",
        "calls",
        "calls that skipped the backend while it cooled down",
    ),
    d(
        "backend.*.round_trip_mean_s",
        "s",
        "mean network round trip between the gateway and the backend, per attempt",
    ),
    d(
        "backend.*.connections_refused",
        "attempts",
        "attempts whose connection was refused (by the network, or a process restarting after a kill)",
    ),
    d(
        "backend.*.connections_reset",
        "attempts",
        "attempts whose connection the network reset during the call",
    ),
    d(
        "backend.*.streams_broken",
        "attempts",
        "streamed answers that broke after their first token",
    ),
    d(
        "backend.*.broken_stream_tokens",
        "tokens",
        "output tokens streamed (and billed) before their stream broke",
    ),
    d(
        "backend.*.oom_kills",
        "count",
        "times the serving process was killed for passing its memory limit",
    ),
    d(
        "backend.*.oom_killed_calls",
        "attempts",
        "attempts in service that failed because their process was killed",
    ),
    d(
        "backend.*.memory_peak_ratio",
        "ratio",
        "the most memory held at once over the whole run, as a share of the limit",
    ),
    d(
        "route.*.attempts_billed",
        "attempts",
        "billed attempts of the route's calls",
    ),
    d(
        "route.*.bad_answers",
        "answers",
        "silently bad answers on the route",
    ),
    d("route.*.cost_usd", "USD", "the route's spend"),
    d(
        "route.*.latency_p50_s",
        "s",
        "median latency of the route's calls, from issue to answer (fresh cache hits not in it)",
    ),
    d(
        "route.*.latency_p99_s",
        "s",
        "99th percentile of that latency",
    ),
    d(
        "route.*.cache_lookups",
        "calls",
        "cache lookups on the route",
    ),
    d("route.*.cache_hit_ratio", "ratio", "cache hits / lookups"),
    d(
        "route.*.cache_stale_served",
        "calls",
        "stale entries served as a last resort",
    ),
    d(
        "route.*.cache_wrong_hits",
        "calls",
        "semantic hits that answered the wrong question",
    ),
];

/// Whether `name` matches `pattern`, where `*` stands for any run of characters (dots
/// included) and `?` for one character. Metric names are flat strings, not paths, so a
/// path-aware glob crate would only add rules (`*` stopping at `/`) that do not apply.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    // Iterative wildcard matching with one backtrack point: linear in practice, never
    // exponential.
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < n.len() {
        if i < p.len() && p[i] == '*' {
            star = Some((i, j));
            i += 1;
        } else if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == '*')
}

/// Every definition, in the order they are searched: [`DEFINITIONS`] (calls, tenants,
/// backends, routes), then the pools', SLOs', chaos experiments' and cost guard's, then the
/// workflow metrics' and the work queues'.
pub fn all() -> impl Iterator<Item = &'static Definition> {
    DEFINITIONS
        .iter()
        .chain(operations::DEFINITIONS)
        .chain(workflow::DEFINITIONS)
        .chain(workflow::QUEUE_DEFINITIONS)
}

/// The definition of the metric `name`, if faultline reports such a metric.
pub fn definition(name: &str) -> Option<&'static Definition> {
    all().find(|d| glob_match(d.pattern, name))
}

/// The section of the summary the metric `name` is shown in.
pub fn section(name: &str) -> Section {
    let first = name.split('.').next().unwrap_or(name);
    match first {
        "tenant" | "workflow" | "work_queue" => Section::Tenants,
        "backend" | "route" => Section::Backends,
        "pool" => Section::Pools,
        "slo" => Section::Slos,
        "chaos" => Section::Chaos,
        "cost_guard" => Section::Cost,
        _ if name.ends_with("_usd") || name.ends_with("_billed") => Section::Cost,
        _ => Section::Calls,
    }
}

#[cfg(test)]
#[path = "definitions_tests.rs"]
mod tests;
