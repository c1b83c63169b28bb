//! The metric-name catalogue: the name patterns that producers (`models`) build and readers
//! (`reports`) parse, kept in one place so both sides agree byte for byte. A report finds an
//! SLO, an experiment or a backend by the shape of a metric's name, so a producer that spelled a
//! name differently would make a section silently vanish; with both sides building and parsing
//! through this module, that cannot happen.
//!
//! A scoped name is `SCOPE.ENTITY.WHAT` (`backend.api.utilisation`, `slo.availability.met`);
//! the error family is `errors.CLASS` (`errors.rate_limited`, series `errors.failed_per_s`).

/// A family of metrics about one named entity (a backend, tenant, route, SLO or chaos
/// experiment): `SCOPE.ENTITY.WHAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope(&'static str);

/// Per backend: `backend.NAME.utilisation`, `.cost_usd`, `.breaker_open`, …
pub const BACKEND: Scope = Scope("backend");
/// Per tenant: `tenant.NAME.latency_p99_s`, …; `tenant.NAME` names its latency distribution.
pub const TENANT: Scope = Scope("tenant");
/// Per declared route: `route.NAME.latency_p99_s`, …
pub const ROUTE: Scope = Scope("route");
/// Per SLO: `slo.NAME.met`, `.sli`, `.budget_remaining`, …
pub const SLO: Scope = Scope("slo");
/// Per chaos experiment: `chaos.NAME.ran`, `.aborted`, …
pub const CHAOS: Scope = Scope("chaos");
/// Per work queue: `work_queue.NAME.backlog_max`, and its series `work_queue.NAME.backlog`, ….
pub const WORK_QUEUE: Scope = Scope("work_queue");
/// A work queue's series of items waiting, read at each bucket's end.
pub const WORK_QUEUE_BACKLOG: &str = "backlog";

/// `slo.NAME.met`: 1 when the SLO held; its presence is what makes `NAME` an SLO.
pub const SLO_MET: &str = "met";
/// `slo.NAME.sli`: the service level indicator.
pub const SLO_SLI: &str = "sli";
/// `slo.NAME.budget_remaining`: the metric and the series.
pub const SLO_BUDGET_REMAINING: &str = "budget_remaining";
/// `slo.NAME.alerts`: firings of all the SLO's rules.
pub const SLO_ALERTS: &str = "alerts";
/// `slo.NAME.armed.RULE`: 1 when the rule's long window was filled by measured data before the
/// end of the run (a rule never armed was never evaluated).
pub const SLO_ARMED: &str = "armed";
/// `slo.NAME.burn_rate`: the burn-rate series.
pub const SLO_BURN_RATE: &str = "burn_rate";
/// `slo.NAME.alert_firing`: the 0/1 series of buckets with a rule firing.
pub const SLO_ALERT_FIRING: &str = "alert_firing";
/// `chaos.NAME.ran`: 1 when the experiment's method started; its presence makes `NAME` an
/// experiment.
pub const CHAOS_RAN: &str = "ran";
/// `chaos.NAME.aborted`: 1 when the experiment was aborted.
pub const CHAOS_ABORTED: &str = "aborted";
/// `chaos.NAME.aborted_at_s`: when it was aborted (NaN: not aborted).
pub const CHAOS_ABORTED_AT_S: &str = "aborted_at_s";
/// `chaos.NAME.abort_burn_rate`: the burn rate that aborted it.
pub const CHAOS_ABORT_BURN_RATE: &str = "abort_burn_rate";
/// `chaos.NAME.gate_limit`: the gate's burn-rate limit.
pub const CHAOS_GATE_LIMIT: &str = "gate_limit";
/// `chaos.NAME.steady_before`: 1 when the steady state held before the method.
pub const CHAOS_STEADY_BEFORE: &str = "steady_before";
/// `chaos.NAME.steady_after`: 1 when it held after (NaN when the method did not run).
pub const CHAOS_STEADY_AFTER: &str = "steady_after";
/// `chaos.NAME.bad_calls`: bad calls during the method.
pub const CHAOS_BAD_CALLS: &str = "bad_calls";
/// `chaos.NAME.budget_burned`: the share of the error budget they burned.
pub const CHAOS_BUDGET_BURNED: &str = "budget_burned";
/// `chaos.NAME.fallback_s`: from the first fault to the first fallback answer.
pub const CHAOS_FALLBACK_S: &str = "fallback_s";
/// `chaos.NAME.fallback_within_sla`: 1 when that was within the experiment's `fallback_sla`.
pub const CHAOS_FALLBACK_WITHIN_SLA: &str = "fallback_within_sla";
/// `backend.NAME.utilisation`: busy slots over concurrency (metric and series).
pub const UTILISATION: &str = "utilisation";
/// `backend.NAME.breaker_openings`: breaker openings per bucket (series).
pub const BREAKER_OPENINGS: &str = "breaker_openings";
/// A backend's adaptive concurrency limit over time (`backend.NAME.concurrency_limit`).
pub const CONCURRENCY_LIMIT: &str = "concurrency_limit";
/// `backend.NAME.breaker_open`: the share of each bucket the breaker spent open (series).
pub const BREAKER_OPEN: &str = "breaker_open";
/// `backend.NAME.breaker_half_open`: the share spent half-open (series).
pub const BREAKER_HALF_OPEN: &str = "breaker_half_open";

/// The prefix of the error family: `errors.CLASS` counts, `errors.KIND_per_s` series.
pub const ERRORS: &str = "errors.";

impl Scope {
    /// The scope's own word (`backend`).
    pub fn word(self) -> &'static str {
        self.0
    }

    /// `SCOPE.ENTITY`: the prefix of an entity's metrics, and the name of its distribution.
    pub fn entity_name(self, entity: &str) -> String {
        format!("{}.{entity}", self.0)
    }

    /// `SCOPE.ENTITY.WHAT`.
    pub fn metric(self, entity: &str, what: &str) -> String {
        format!("{}.{entity}.{what}", self.0)
    }

    /// The entity of `name` when it is `SCOPE.ENTITY.WHAT` with a non-empty entity (which may
    /// itself hold dots: `backend.a.b.utilisation` is backend `a.b`).
    pub fn entity<'a>(self, name: &'a str, what: &str) -> Option<&'a str> {
        name.strip_prefix(self.0)?
            .strip_prefix('.')?
            .strip_suffix(what)?
            .strip_suffix('.')
            .filter(|e| !e.is_empty())
    }

    /// What follows `SCOPE.` in `name` (a distribution's entity), if `name` is in the scope.
    pub fn strip(self, name: &str) -> Option<&str> {
        name.strip_prefix(self.0)?.strip_prefix('.')
    }
}

/// Which way a metric is better, so a comparison can say "better" or "worse" rather than
/// "up" or "down": lower latency is better, higher success is better, more arrivals is neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Less is better: latency, errors, cost.
    Lower,
    /// More is better: success, SLIs, budget left.
    Higher,
    /// A load, a size or a count with no good direction (arrivals, utilisation, tokens).
    Neither,
}

/// Last name segments of metrics where less is better.
const LOWER: &[&str] = &[
    "attempt_failures",
    "attempt_timeout",
    "attempts_per_request",
    "bad_answers",
    "bad_calls",
    "block_probability",
    "blocked",
    "breaker_rejected",
    "budget_burned",
    "budget_consumed",
    "budget_consumed_max",
    "cache_wrong_hits",
    "context_overflow",
    "context_overflows",
    "default_responses",
    "degraded",
    "degraded_fraction",
    "depth1_share",
    "detection_time_s",
    "fallback_s",
    "fallbacks",
    "false_positives",
    "incidents",
    "missed",
    "mttr_s",
    "number_in_system_mean",
    "outage_fraction",
    "preempted_requests",
    "preemptions",
    "preemptions_per_min",
    "queue_length_mean",
    "queue_wait_mean_s",
    "queue_wait_probability",
    "reprefill_tokens",
    "reset_time_s",
    "restarts_per_request_max",
    "restarts_per_request_mean",
    "retries",
    "sojourn_mean_s",
    "throttled",
    "time_in_system_mean_s",
    "timeouts",
    "windows_breached",
    "wrong_accepted",
    "wrong_let_in",
    "aborted",
];

/// Last name segments of metrics where more is better.
const HIGHER: &[&str] = &[
    "alert_precision",
    "alert_recall",
    "budget_remaining",
    "cache_hit_ratio",
    "correct",
    "depth0_share",
    "detected",
    "detected_handled",
    "fallback_within_sla",
    "goodput_per_s",
    "met",
    "mtbf_s",
    "sli",
    "steady_after",
    "steady_before",
    "success_ratio",
    "time_to_exhaustion_s",
];

/// Which way `metric` (a full name: `latency_p99_s`, `backend.api.cost_usd`,
/// `slo.avail.detection_time_s.page-1h-5m`) is better. Decided by the name's shape: the error,
/// retry and shedding families, latencies and costs are better lower; success, SLIs, budgets
/// left and detection are better higher; anything else is neither.
pub fn better(metric: &str) -> Better {
    if metric.starts_with(ERRORS)
        || metric.starts_with("retries.")
        || metric.starts_with("shed.")
        || metric.starts_with("soft.")
    {
        return Better::Lower;
    }
    let mut segments = metric.rsplit('.');
    let last = segments.next().unwrap_or(metric);
    // Per-rule and per-SLO suffixes: `detection_time_s.RULE`, `sli_after.SLO`.
    match segments.next() {
        Some("detection_time_s") => return Better::Lower,
        Some("sli_after" | "sli_before") => return Better::Higher,
        _ => {}
    }
    let timing = ["latency_", "ttft_", "tpot_", "e2e_", "cost_"];
    if LOWER.contains(&last)
        || timing.iter().any(|p| last.starts_with(p))
        || last.ends_with("cost_usd")
        || last == "max_period_usd"
    {
        Better::Lower
    } else if HIGHER.contains(&last) {
        Better::Higher
    } else {
        Better::Neither
    }
}

/// `errors.CLASS` (or a series `errors.KIND_per_s`).
pub fn error(class: &str) -> String {
    format!("{ERRORS}{class}")
}

/// The class of an `errors.CLASS` name, when non-empty.
pub fn error_class(name: &str) -> Option<&str> {
    name.strip_prefix(ERRORS).filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_and_parsers_agree() {
        let name = SLO.metric("availability", SLO_MET);
        assert_eq!(name, "slo.availability.met");
        assert_eq!(SLO.entity(&name, SLO_MET), Some("availability"));
        assert_eq!(SLO.entity(&name, SLO_SLI), None);
        assert_eq!(CHAOS.entity(&name, SLO_MET), None);
        assert_eq!(BACKEND.entity_name("api"), "backend.api");
        assert_eq!(ROUTE.word(), "route");
        assert_eq!(TENANT.strip("tenant.a.b"), Some("a.b"));
        assert_eq!(TENANT.strip("tenants.a"), None);
        assert_eq!(error("rate_limited"), "errors.rate_limited");
        assert_eq!(error_class("errors.rate_limited"), Some("rate_limited"));
        assert_eq!(error_class("errors."), None);
        assert_eq!(error_class("error.x"), None);
    }

    #[test]
    fn an_entity_may_hold_dots_but_not_be_empty() {
        assert_eq!(
            BACKEND.entity("backend.a.b.utilisation", UTILISATION),
            Some("a.b")
        );
        assert_eq!(BACKEND.entity("backend.utilisation", UTILISATION), None);
        assert_eq!(BACKEND.entity("backend..utilisation", UTILISATION), None);
        assert_eq!(BACKEND.entity("backend.a.xutilisation", UTILISATION), None);
        assert_eq!(BACKEND.entity("backendx.a.utilisation", UTILISATION), None);
    }

    #[test]
    fn directions_follow_the_metric_names() {
        for name in [
            "latency_p99_s",
            "ttft_p50_s",
            "tenant.chat.e2e_p99_s",
            "cost_usd",
            "backend.api.cost_usd",
            "pool.gpu.gpu_cost_usd",
            "cost_per_success_usd",
            "errors.rate_limited",
            "retries.server_error",
            "slo.a.detection_time_s.page-1h-5m",
            "slo.a.budget_consumed",
            "queue_wait_mean_s",
            "chaos.kv.aborted",
        ] {
            assert_eq!(better(name), Better::Lower, "{name}");
        }
        for name in [
            "success_ratio",
            "tenant.chat.success_ratio",
            "goodput_per_s",
            "slo.a.sli",
            "slo.a.met",
            "slo.a.budget_remaining",
            "slo.a.alert_recall",
            "chaos.kv.sli_after.availability",
            "cache_hit_ratio",
        ] {
            assert_eq!(better(name), Better::Higher, "{name}");
        }
        for name in [
            "arrivals",
            "throughput_per_s",
            "backend.api.utilisation",
            "input_tokens_billed",
            "slo.a.alerts.page-1h-5m",
            "slo.a.armed.page-1h-5m",
        ] {
            assert_eq!(better(name), Better::Neither, "{name}");
        }
    }
}
