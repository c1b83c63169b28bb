//! Tests of the metric catalogue: glob matching, pattern order, units and sections.

use super::*;
use crate::summary::Domain;

#[test]
fn stars_match_any_run_of_characters() {
    assert!(glob_match("slo.*.sli", "slo.availability.sli"));
    assert!(glob_match("slo.*.sli", "slo.a.b.sli"));
    assert!(!glob_match("slo.*.sli", "slo.availability.sli_after"));
    assert!(glob_match("*p99*", "tenant.chat.latency_p99_s"));
    assert!(!glob_match("*p99", "latency_p99_s"));
    assert!(glob_match("latency_p?9_s", "latency_p99_s"));
    assert!(glob_match("*", ""));
    assert!(!glob_match("", "x"));
    assert!(glob_match("a*b*c", "aXbYbZc"));
    assert!(!glob_match("a*b*c", "aXbYbZ"));
    // A star in the pattern is a wildcard even where the name holds a star itself, so
    // `slo.*` selects the catalogue's `slo.*.sli`.
    assert!(glob_match("slo.*", "slo.*.sli"));
    assert!(glob_match("*.sli", "slo.*.sli"));
}

#[test]
fn specific_patterns_win_over_general_ones() {
    let p = |n: &str| definition(n).map(|d| d.pattern);
    assert_eq!(p("slo.a.alerts.page-1h-5m"), Some("slo.*.alerts.*"));
    assert_eq!(p("slo.a.alerts"), Some("slo.*.alerts"));
    assert_eq!(
        p("slo.a.budget_consumed_max"),
        Some("slo.*.budget_consumed_max")
    );
    assert_eq!(p("retries"), Some("retries"));
    assert_eq!(p("retries.server_error"), Some("retries.*"));
    assert_eq!(p("soft.refusal.missed"), Some("soft.*.missed"));
    assert_eq!(p("chaos.kv.aborted_at_s"), Some("chaos.*.aborted_at_s"));
    assert_eq!(p("no_such_metric"), None);
}

/// A metric the catalogue calls a ratio is one the summary's intervals are clipped to
/// [0, 1] for, and a metric clipped to [0, 1] is a ratio or a 0/1 verdict.
#[test]
fn ratio_units_agree_with_the_interval_domains() {
    for def in all() {
        let example = def.pattern.replace('*', "x");
        let domain = Domain::of(&example);
        if def.unit == "ratio" {
            assert_eq!(domain, Domain::Unit, "{}", def.pattern);
        }
        if domain == Domain::Unit {
            assert!(["ratio", "0/1"].contains(&def.unit), "{}", def.pattern);
        }
    }
}

#[test]
fn sections_follow_the_scope() {
    assert_eq!(section("tenant.chat.latency_p99_s"), Section::Tenants);
    assert_eq!(section("route.llm.cost_usd"), Section::Backends);
    assert_eq!(section("cost_usd"), Section::Cost);
    assert_eq!(section("input_tokens_billed"), Section::Cost);
    assert_eq!(section("slo.a.sli"), Section::Slos);
    assert_eq!(section("latency_p50_s"), Section::Calls);
}
