//! `[[routes]]`: the logical models calls ask for (a backend, its fallback chain, soft-failure
//! rates, a response cache, an output validator), and their conversion to `models`
//! [`RouteConfig`]s. Routes a tenant implies by naming a backend are added by the tenants
//! section, after these.

use crate::build_error::{BuildError, err};
use crate::dists::{DurationDist, duration_sampler};
use crate::names::{check_name, find_backend};
use crate::sections::resilience::Fallback;
use crate::values::{Duration, Probability};
use models::cache::CacheConfig;
use models::config::{
    RouteConfig, SOFT_CATEGORIES, ValidatorAction as ModelValidatorAction, ValidatorConfig,
};
use models::{BackendConfig, BackendId};
use policies::FallbackChain;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A route: what a call asks for, served by a backend, with its own soft-failure rates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Unique; keys the route's random streams.
    pub name: String,
    /// The backend that serves the route.
    pub backend: String,
    /// Backends to fall back to, in order, when `backend` fails (default: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
    /// What triggers a fallback, and the last resorts (default: every error but bad_request,
    /// timeouts, open breakers, validation failures and context overflows; no last resorts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// Load balancing across several backends in the chain's first place (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<super::balance::Balance>,
    /// Base probability that an answer is silently bad, by category (default: none):
    /// `hallucination`, `refusal`, `format_violation`, `instruction_drift`,
    /// `quality_degradation`. Each answer has at most one; the backend's hidden degradation
    /// state and model updates multiply these rates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub soft_failures: BTreeMap<String, Probability>,
    /// Share of each call's prompt tokens the provider's prompt cache holds (a shared system
    /// prompt, earlier turns), billed at the cached-input price (default 0).
    #[serde(default)]
    pub cached_prompt_share: Probability,
    /// A response cache in front of the route's backends (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache: Option<Cache>,
    /// The output check applied to every answer on this route (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<Validator>,
}

/// A response cache, chosen by `kind`. The gateway asks it after the rate limits and before the
/// queue; a hit answers the call without a backend (and without cost).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Cache {
    /// Exact-match: each job asks for one of `catalogue_size` prompts with Zipf popularity
    /// (exponent `zipf_exponent`, default 1); `capacity` entries, least recently used evicted,
    /// entries older than `ttl` not served (default: no expiry). The hit ratio emerges from
    /// these. With `serve_stale_on_outage` (default false) expired entries are kept and served,
    /// degraded, when the route's fallback reaches `stale_cache`.
    Exact {
        catalogue_size: u64,
        #[serde(default = "default_zipf")]
        zipf_exponent: f64,
        capacity: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl: Option<Duration>,
        #[serde(default)]
        serve_stale_on_outage: bool,
    },
    /// Semantic: a hit with probability `hit_probability`; a hit is another prompt's answer (wrong
    /// but accepted) with probability `wrong_hit_rate`.
    Semantic {
        hit_probability: Probability,
        #[serde(default)]
        wrong_hit_rate: Probability,
    },
}

fn default_zipf() -> f64 {
    1.0
}

/// An output guardrail: which bad answers it catches, how often it wrongly rejects a good one,
/// how long it takes, and what happens on a rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Validator {
    /// Probability of catching a bad answer, by category (default 0 for a category not listed).
    #[serde(default)]
    pub recall: BTreeMap<String, Probability>,
    /// Probability of rejecting a good answer (default 0).
    #[serde(default)]
    pub false_positive_rate: Probability,
    /// Time the check takes (default: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<DurationDist>,
    /// On a rejection: `reask` (ask again, as a retry that counts against max_attempts, with
    /// `reask_extra_tokens` more prompt) or `error` (return an error: the bad answer never
    /// reaches the user). Default `reask`.
    #[serde(default)]
    pub action: ValidatorAction,
    /// Prompt tokens a re-ask adds (the feedback to the model; default 0).
    #[serde(default)]
    pub reask_extra_tokens: u32,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ValidatorAction {
    #[default]
    Reask,
    Error,
    /// Ask the route's next backend instead.
    Fallback,
}

/// The declared routes, in file order (a route's index keys its random streams), and their ids
/// by name for the tenants that ask for them. `backends` are already built: a fallback chain
/// needs their context windows.
pub(crate) fn build_routes<'a>(
    routes: &'a [Route],
    backend_ids: &BTreeMap<&str, usize>,
    backends: &[BackendConfig],
) -> Result<(Vec<RouteConfig>, BTreeMap<&'a str, usize>), BuildError> {
    let mut out: Vec<RouteConfig> = Vec::with_capacity(routes.len());
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in routes.iter().enumerate() {
        let path = format!("routes[{i}]");
        check_name(&r.name, &format!("{path}.name"))?;
        if ids.insert(r.name.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.name"),
                format!("another route is already named `{}`", r.name),
            ));
        }
        out.push(build_route(r, &path, backend_ids, backends)?);
    }
    Ok((out, ids))
}

/// One declared route, its rules checked in the order of its fields below.
fn build_route(
    r: &Route,
    path: &str,
    backend_ids: &BTreeMap<&str, usize>,
    backends: &[BackendConfig],
) -> Result<RouteConfig, BuildError> {
    let backend = find_backend(backend_ids, &r.backend, &format!("{path}.backend"))?;
    let soft = categories(&r.soft_failures, &format!("{path}.soft_failures"))?;
    if soft.iter().sum::<f64>() > 1.0 + 1e-12 {
        return Err(err(
            format!("{path}.soft_failures"),
            "the soft-failure rates add up to more than 1",
        ));
    }
    let validator = match &r.validator {
        None => None,
        Some(v) => Some(ValidatorConfig {
            recall: categories(&v.recall, &format!("{path}.validator.recall"))?,
            false_positive_rate: v.false_positive_rate.0,
            latency: v
                .latency
                .as_ref()
                .map(|d| {
                    duration_sampler(d).map_err(|m| err(format!("{path}.validator.latency"), m))
                })
                .transpose()?,
            action: match v.action {
                ValidatorAction::Reask => ModelValidatorAction::Reask,
                ValidatorAction::Error => ModelValidatorAction::Error,
                ValidatorAction::Fallback => ModelValidatorAction::Fallback,
            },
            reask_extra_tokens: v.reask_extra_tokens,
        }),
    };
    let mut fallbacks = Vec::with_capacity(r.fallbacks.len());
    for (k, f) in r.fallbacks.iter().enumerate() {
        let id = find_backend(backend_ids, f, &format!("{path}.fallbacks[{k}]"))?;
        if id == backend || fallbacks.contains(&BackendId(id as u16)) {
            return Err(err(
                format!("{path}.fallbacks[{k}]"),
                format!("`{f}` is already in this route's chain"),
            ));
        }
        fallbacks.push(BackendId(id as u16));
    }
    let rules = r.fallback.clone().unwrap_or_default();
    if r.fallback.is_some() && fallbacks.is_empty() && !rules.stale_cache && !rules.default_response
    {
        return Err(err(
            format!("{path}.fallback"),
            "a fallback needs somewhere to go: list `fallbacks`, or enable stale_cache or default_response",
        ));
    }
    if matches!(
        validator,
        Some(ValidatorConfig {
            action: ModelValidatorAction::Fallback,
            ..
        })
    ) && fallbacks.is_empty()
    {
        return Err(err(
            format!("{path}.validator.action"),
            "`fallback` needs the route to list `fallbacks`",
        ));
    }
    let chain = if fallbacks.is_empty() && r.fallback.is_none() {
        None
    } else {
        // Backends without a context window accept anything: treat theirs as unbounded.
        let window = |b: usize| backends[b].context_window.unwrap_or(u32::MAX);
        let windows: Vec<u32> = std::iter::once(window(backend))
            .chain(fallbacks.iter().map(|b| window(b.0 as usize)))
            .collect();
        let triggers = rules.triggers(&format!("{path}.fallback"))?;
        Some(
            FallbackChain::new(windows, triggers, rules.stale_cache, rules.default_response)
                .map_err(|m| err(format!("{path}.fallback"), m))?,
        )
    };
    let cache = match &r.cache {
        None => None,
        Some(c) => {
            let cfg = match c {
                Cache::Exact {
                    catalogue_size,
                    zipf_exponent,
                    capacity,
                    ttl,
                    serve_stale_on_outage,
                } => CacheConfig::Exact {
                    catalogue_size: *catalogue_size,
                    zipf_exponent: *zipf_exponent,
                    capacity: *capacity,
                    ttl: ttl.map(|d| d.0),
                    serve_stale_on_outage: *serve_stale_on_outage,
                },
                Cache::Semantic {
                    hit_probability,
                    wrong_hit_rate,
                } => CacheConfig::Semantic {
                    hit_probability: hit_probability.0,
                    wrong_hit_rate: wrong_hit_rate.0,
                },
            };
            cfg.validate()
                .map_err(|m| err(format!("{path}.cache"), m))?;
            Some(cfg)
        }
    };
    Ok(RouteConfig {
        name: r.name.clone(),
        backend: BackendId(backend as u16),
        fallbacks,
        chain,
        soft,
        validator,
        cache,
        cached_prompt_share: r.cached_prompt_share.0,
        explicit: true,
        balance: r
            .balance
            .as_ref()
            .map(|b| {
                let at = format!("{path}.balance");
                super::balance::build_balance(b, backend, backend_ids, &at)
            })
            .transpose()?,
    })
}

/// Per-category values from a `{ category = value }` table, in [`SOFT_CATEGORIES`] order.
fn categories(table: &BTreeMap<String, Probability>, path: &str) -> Result<[f64; 5], BuildError> {
    let mut out = [0.0; 5];
    for (name, p) in table {
        let i = SOFT_CATEGORIES
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| {
                err(
                    format!("{path}.{name}"),
                    format!(
                        "unknown soft-failure category `{name}`; expected one of: {}",
                        SOFT_CATEGORIES.join(", ")
                    ),
                )
            })?;
        out[i] = p.0;
    }
    Ok(out)
}
