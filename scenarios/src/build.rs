//! From a scenario that reads correctly to a world that makes sense: names resolved, cross-field
//! rules checked, units converted. Errors carry the key path of the value at fault.

use crate::resilience_schema::{
    GatewayRateLimit, LimitAlgorithm, LimitScope, LimitUnit, OnLimit, RetryBudget, Scheduling,
};
use crate::schema::{
    Arrivals, BackoffKind, Cache, DurationDist, OutageMode as SchemaOutageMode, Scenario,
    TokenDist, TraceFormatName, ValidatorAction as SchemaValidatorAction,
};
use models::cache::CacheConfig;
use models::config::{
    DegradationConfig, Episode, EpisodeEffect, EpisodeTiming, GatewayLimit, LimitKind, LoopConfig,
    OutageMode, Price, ProviderLimits, RetryBudgetConfig, RouteConfig, SOFT_CATEGORIES,
    ServiceModel, StepConfig, ValidatorAction, ValidatorConfig,
};
use models::workload::{
    ArrivalSpec, DiurnalProfile, ReplayOptions, TimeScale, TokenSource, Trace, TraceFormat,
};
use models::{BackendConfig, BackendId, GatewayConfig, TenantConfig, WorldConfig};
use policies::{Backoff, ErrorClass, FallbackChain, RetryPolicy, RetryRules, RetryableClasses};
use sim_core::Sampler;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A rule broken by a scenario, at `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub path: String,
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> BuildError {
    BuildError {
        path: path.into(),
        message: message.into(),
    }
}

pub fn build_world(s: &Scenario) -> Result<WorldConfig, BuildError> {
    if s.horizon.0 == 0 {
        return Err(err("horizon", "the horizon must be longer than 0s"));
    }
    if s.warmup.0 >= s.horizon.0 {
        return Err(err(
            "warmup",
            "the warm-up must be shorter than the horizon, or nothing would be measured",
        ));
    }
    if s.replications == 0 {
        return Err(err("replications", "at least one replication is needed"));
    }
    if s.tenants.is_empty() {
        return Err(err("tenants", "a scenario needs at least one tenant"));
    }
    if s.backends.is_empty() {
        return Err(err("backends", "a scenario needs at least one backend"));
    }
    if s.tenants.len() > u16::MAX as usize || s.backends.len() > u16::MAX as usize {
        return Err(err("tenants", "at most 65535 tenants and 65535 backends"));
    }

    let mut backend_ids = BTreeMap::new();
    let mut backends = Vec::with_capacity(s.backends.len());
    for (i, b) in s.backends.iter().enumerate() {
        let path = format!("backends[{i}]");
        check_name(&b.name, &format!("{path}.name"))?;
        if backend_ids.insert(b.name.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.name"),
                format!("another backend is already named `{}`", b.name),
            ));
        }
        let pool = b
            .gpu_pool
            .as_ref()
            .map(|p| p.config(&format!("{path}.gpu_pool")))
            .transpose()?;
        if pool.is_some() && b.latency_per_inflight.is_some() {
            return Err(err(
                format!("{path}.latency_per_inflight"),
                "a GPU pool's latency already grows with its batch (its step-time model): leave out `latency_per_inflight`",
            ));
        }
        let service = match (&b.service, &b.ttft, &b.per_output_token) {
            // A pool's replicas time its calls; errors (outage episodes) take a round trip.
            (None, None, None) if pool.is_some() => {
                ServiceModel::Duration(Sampler::deterministic(0.001).expect("a positive constant"))
            }
            _ if pool.is_some() => {
                return Err(err(
                    format!("{path}.gpu_pool"),
                    "a GPU pool times its calls with its step-time model: leave out `service`, `ttft` and `per_output_token`",
                ));
            }
            (Some(d), None, None) => ServiceModel::Duration(
                duration_sampler(d).map_err(|m| err(format!("{path}.service"), m))?,
            ),
            (None, Some(ttft), Some(per)) => ServiceModel::Tokens {
                ttft: duration_sampler(ttft).map_err(|m| err(format!("{path}.ttft"), m))?,
                per_output_token: duration_sampler(per)
                    .map_err(|m| err(format!("{path}.per_output_token"), m))?,
            },
            (Some(_), _, _) => {
                return Err(err(
                    format!("{path}.service"),
                    "give either `service` or `ttft` with `per_output_token`, not both",
                ));
            }
            (None, Some(_), None) => {
                return Err(err(
                    path,
                    "`ttft` needs `per_output_token` too (the time per generated token)",
                ));
            }
            (None, None, Some(_)) => {
                return Err(err(
                    path,
                    "`per_output_token` needs `ttft` too (the time to the first token)",
                ));
            }
            (None, None, None) => {
                return Err(err(
                    path,
                    "a backend needs a latency model: `service` (one duration per attempt), or `ttft` and `per_output_token`",
                ));
            }
        };
        if b.context_window == Some(0) {
            return Err(err(
                format!("{path}.context_window"),
                "a context window must hold at least one token",
            ));
        }
        let price = b.price.as_ref().map_or(Price::default(), |p| Price {
            input_per_token: p.input_per_mtok.0 / 1e6,
            output_per_token: p.output_per_mtok.0 / 1e6,
            cached_input_per_token: p.cached_input_per_mtok.unwrap_or(p.input_per_mtok).0 / 1e6,
        });
        let mut errors = Vec::with_capacity(b.errors.len());
        for (name, p) in &b.errors {
            let class: ErrorClass = name
                .parse()
                .map_err(|e: String| err(format!("{path}.errors.{name}"), e))?;
            if matches!(
                class,
                ErrorClass::AttemptTimeout | ErrorClass::ContextOverflow
            ) {
                return Err(err(
                    format!("{path}.errors.{name}"),
                    format!(
                        "`{name}` is not drawn: timeouts come from gateway.attempt_timeout and context overflows from context_window"
                    ),
                ));
            }
            if p.0 > 0.0 {
                errors.push((class, p.0));
            }
        }
        let total: f64 = errors.iter().map(|(_, p)| p).sum();
        if total > 1.0 + 1e-12 {
            return Err(err(
                format!("{path}.errors"),
                format!(
                    "the error probabilities add up to {}, more than 1",
                    (total * 1e9).round() / 1e9
                ),
            ));
        }
        let error_latency = b
            .error_latency
            .as_ref()
            .map(|d| duration_sampler(d).map_err(|m| err(format!("{path}.error_latency"), m)))
            .transpose()?;
        let limits = match &b.rate_limits {
            None => ProviderLimits::default(),
            Some(l) => {
                for (key, v) in [
                    ("requests_per_minute", l.requests_per_minute),
                    ("input_tokens_per_minute", l.input_tokens_per_minute),
                    ("output_tokens_per_minute", l.output_tokens_per_minute),
                ] {
                    if v == Some(0) {
                        return Err(err(
                            format!("{path}.rate_limits.{key}"),
                            "a limit of 0 admits nothing; leave the limit out for none",
                        ));
                    }
                }
                ProviderLimits {
                    requests_per_minute: l.requests_per_minute,
                    input_tokens_per_minute: l.input_tokens_per_minute,
                    output_tokens_per_minute: l.output_tokens_per_minute,
                }
            }
        };
        let mut episodes = Vec::new();
        for (k, o) in b.outages.iter().enumerate() {
            let here = format!("{path}.outages[{k}]");
            let mode = match o.mode {
                SchemaOutageMode::ServerError => OutageMode::ServerError,
                SchemaOutageMode::RateLimited => OutageMode::RateLimited,
                SchemaOutageMode::ConnectionRefused => OutageMode::ConnectionRefused,
                SchemaOutageMode::Hang => {
                    if s.gateway.attempt_timeout.is_none() {
                        return Err(err(
                            format!("{here}.mode"),
                            "a hanging outage needs gateway.attempt_timeout: without one, calls would wait forever",
                        ));
                    }
                    OutageMode::Hang
                }
            };
            episodes.push(Episode {
                effect: EpisodeEffect::Outage(mode),
                timing: episode_timing(&o.start, &o.duration, &o.mtbf, &o.mttr, &here)?,
            });
        }
        for (k, o) in b.slowdowns.iter().enumerate() {
            let here = format!("{path}.slowdowns[{k}]");
            episodes.push(Episode {
                effect: EpisodeEffect::Slowdown(o.multiplier.0),
                timing: episode_timing(&o.start, &o.duration, &o.mtbf, &o.mttr, &here)?,
            });
        }
        if episodes.len() > u16::MAX as usize {
            return Err(err(path, "at most 65535 outages and slowdowns per backend"));
        }
        backends.push(BackendConfig {
            name: b.name.clone(),
            concurrency: if pool.is_some() {
                u32::MAX
            } else {
                b.concurrency.0.unwrap_or(u32::MAX)
            },
            service,
            pool,
            overload_when_busy: b.when_busy == crate::schema::WhenBusy::Overloaded,
            latency_per_inflight: b.latency_per_inflight.map_or(0.0, |k| k.0),
            failure_probability: b.failure_probability.0,
            context_window: b.context_window,
            price,
            errors,
            error_latency,
            retry_after: b.retry_after.map(|d| d.0),
            limits,
            episodes,
            breaker: b
                .circuit_breaker
                .as_ref()
                .map(|c| c.config(&format!("{path}.circuit_breaker")))
                .transpose()?,
            cooldown: b
                .cooldown
                .as_ref()
                .map(|c| c.config(&format!("{path}.cooldown")))
                .transpose()?,
            degradation: match &b.degradation {
                None => None,
                Some(d) => {
                    if d.normal_sojourn.0 == 0 || d.degraded_sojourn.0 == 0 {
                        return Err(err(
                            format!("{path}.degradation"),
                            "both sojourn times must be longer than 0s",
                        ));
                    }
                    Some(DegradationConfig {
                        normal_mean: d.normal_sojourn.0,
                        degraded_mean: d.degraded_sojourn.0,
                        multiplier: d.multiplier.0,
                    })
                }
            },
            model_updates: {
                let mut updates: Vec<(sim_core::Time, f64)> = b
                    .model_updates
                    .iter()
                    .map(|u| (u.at.0, u.multiplier.0))
                    .collect();
                updates.sort_by_key(|u| u.0);
                updates
            },
        });
    }

    // Routes: the declared ones, then one implied per backend a tenant names directly.
    let mut routes: Vec<RouteConfig> = Vec::with_capacity(s.routes.len());
    let mut route_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, r) in s.routes.iter().enumerate() {
        let path = format!("routes[{i}]");
        check_name(&r.name, &format!("{path}.name"))?;
        if route_ids.insert(r.name.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.name"),
                format!("another route is already named `{}`", r.name),
            ));
        }
        let backend = find_backend(&backend_ids, &r.backend, &format!("{path}.backend"))?;
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
                    SchemaValidatorAction::Reask => ValidatorAction::Reask,
                    SchemaValidatorAction::Error => ValidatorAction::Error,
                    SchemaValidatorAction::Fallback => ValidatorAction::Fallback,
                },
                reask_extra_tokens: v.reask_extra_tokens,
            }),
        };
        let mut fallbacks = Vec::with_capacity(r.fallbacks.len());
        for (k, f) in r.fallbacks.iter().enumerate() {
            let id = find_backend(&backend_ids, f, &format!("{path}.fallbacks[{k}]"))?;
            if id == backend || fallbacks.contains(&BackendId(id as u16)) {
                return Err(err(
                    format!("{path}.fallbacks[{k}]"),
                    format!("`{f}` is already in this route's chain"),
                ));
            }
            fallbacks.push(BackendId(id as u16));
        }
        let rules = r.fallback.clone().unwrap_or_default();
        if r.fallback.is_some()
            && fallbacks.is_empty()
            && !rules.stale_cache
            && !rules.default_response
        {
            return Err(err(
                format!("{path}.fallback"),
                "a fallback needs somewhere to go: list `fallbacks`, or enable stale_cache or default_response",
            ));
        }
        if matches!(
            validator,
            Some(ValidatorConfig {
                action: ValidatorAction::Fallback,
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
        routes.push(RouteConfig {
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
                    crate::balance_schema::build_balance(b, backend, &backend_ids, &at)
                })
                .transpose()?,
        });
    }

    let mut tenant_names = BTreeMap::new();
    let mut tenants = Vec::with_capacity(s.tenants.len());
    for (i, t) in s.tenants.iter().enumerate() {
        let path = format!("tenants[{i}]");
        check_name(&t.name, &format!("{path}.name"))?;
        if tenant_names.insert(t.name.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.name"),
                format!("another tenant is already named `{}`", t.name),
            ));
        }
        let arrivals = arrival_spec(&t.arrivals, &format!("{path}.arrivals"))?;
        let from_trace = matches!(arrivals, ArrivalSpec::Trace { .. });
        let tokens =
            |d: &Option<TokenDist>, key: &str| -> Result<Option<TokenSource>, BuildError> {
                match d {
                    Some(d) => token_sampler(d)
                        .map(|s| Some(TokenSource::Sampled(s)))
                        .map_err(|m| err(format!("{path}.{key}"), m)),
                    // A replayed trace carries its requests' token counts.
                    None if from_trace => Ok(Some(TokenSource::FromTrace)),
                    None => Ok(None),
                }
            };
        let prompt_tokens = tokens(&t.prompt_tokens, "prompt_tokens")?;
        let output_tokens = tokens(&t.output_tokens, "output_tokens")?;
        let route_of = |name: &str, at: &str| -> Result<u16, BuildError> {
            route_ids.get(name).map(|&r| r as u16).ok_or_else(|| {
                err(
                    at,
                    if route_ids.is_empty() {
                        format!("no route is named `{name}`: the scenario declares no [[routes]]")
                    } else {
                        format!(
                            "no route is named `{name}`; the routes are: {}",
                            route_ids.keys().copied().collect::<Vec<_>>().join(", ")
                        )
                    },
                )
            })
        };
        let given = [t.backend.is_some(), t.route.is_some(), !t.steps.is_empty()]
            .iter()
            .filter(|&&g| g)
            .count();
        if given != 1 {
            return Err(err(
                path.clone(),
                "a tenant needs exactly one of `backend`, `route` or `steps`",
            ));
        }
        let steps: Vec<StepConfig> = if let Some(b) = &t.backend {
            let backend = find_backend(&backend_ids, b, &format!("{path}.backend"))?;
            // A tenant naming a backend asks for a plain route to it, without soft failures.
            let implied = format!("backend:{b}");
            let route = match routes.iter().position(|r| r.name == implied) {
                Some(r) => r,
                None => {
                    routes.push(RouteConfig {
                        name: implied,
                        backend: BackendId(backend as u16),
                        fallbacks: Vec::new(),
                        chain: None,
                        soft: [0.0; 5],
                        validator: None,
                        cache: None,
                        cached_prompt_share: 0.0,
                        explicit: false,
                        balance: None,
                    });
                    routes.len() - 1
                }
            };
            vec![StepConfig {
                route: route as u16,
                prompt_tokens: None,
                output_tokens: None,
            }]
        } else if let Some(r) = &t.route {
            vec![StepConfig {
                route: route_of(r, &format!("{path}.route"))?,
                prompt_tokens: None,
                output_tokens: None,
            }]
        } else {
            if t.steps.len() > 64 {
                return Err(err(format!("{path}.steps"), "at most 64 steps per chain"));
            }
            t.steps
                .iter()
                .enumerate()
                .map(|(k, st)| {
                    let here = format!("{path}.steps[{k}]");
                    Ok(StepConfig {
                        route: route_of(&st.route, &format!("{here}.route"))?,
                        prompt_tokens: st
                            .prompt_tokens
                            .as_ref()
                            .map(|d| token_sampler(d).map(TokenSource::Sampled))
                            .transpose()
                            .map_err(|m| err(format!("{here}.prompt_tokens"), m))?,
                        output_tokens: st
                            .output_tokens
                            .as_ref()
                            .map(|d| token_sampler(d).map(TokenSource::Sampled))
                            .transpose()
                            .map_err(|m| err(format!("{here}.output_tokens"), m))?,
                    })
                })
                .collect::<Result<_, BuildError>>()?
        };
        for (k, st) in steps.iter().enumerate() {
            let backend = routes[st.route as usize].backend.0 as usize;
            if s.backends[backend].ttft.is_some()
                && st.output_tokens.is_none()
                && output_tokens.is_none()
            {
                let at = if t.steps.is_empty() {
                    format!("{path}.output_tokens")
                } else {
                    format!("{path}.steps[{k}].output_tokens")
                };
                return Err(err(
                    at,
                    format!(
                        "backend `{}` times calls per output token, so these calls need `output_tokens`",
                        s.backends[backend].name
                    ),
                ));
            }
        }
        let agent_loop = match &t.agent_loop {
            None => None,
            Some(l) => {
                if steps.len() != 1 {
                    return Err(err(
                        format!("{path}.agent_loop"),
                        "an agent loop repeats one call: give `route` (or `backend`), not `steps`",
                    ));
                }
                if l.turn_cap == 0 {
                    return Err(err(
                        format!("{path}.agent_loop.turn_cap"),
                        "the turn cap must be at least 1",
                    ));
                }
                Some(LoopConfig {
                    turns: token_sampler(&l.turns)
                        .map_err(|m| err(format!("{path}.agent_loop.turns"), m))?,
                    prompt_growth: l.prompt_growth,
                    turn_cap: l.turn_cap,
                    token_cap: l.token_cap,
                })
            }
        };
        if t.max_tokens == Some(0) {
            return Err(err(
                format!("{path}.max_tokens"),
                "max_tokens must be at least 1",
            ));
        }
        if t.weight == 0 {
            return Err(err(format!("{path}.weight"), "a weight must be at least 1"));
        }
        tenants.push(TenantConfig {
            name: t.name.clone(),
            arrivals,
            steps,
            agent_loop,
            injection_share: t.injection_share.0,
            priority: t.priority,
            weight: t.weight,
            budget_usd: t.budget_usd.map(|b| b.0),
            prompt_tokens,
            output_tokens,
            max_tokens: t.max_tokens,
        });
    }

    let r = &s.gateway.retry;
    if r.base.0 > r.cap.0 && r.backoff != BackoffKind::None {
        return Err(err(
            "gateway.retry.cap",
            format!(
                "the backoff cap ({}) is smaller than its base ({})",
                sim_core::time::format_duration(r.cap.0),
                sim_core::time::format_duration(r.base.0)
            ),
        ));
    }
    let (base, cap) = (r.base.0, r.cap.0);
    let backoff = match r.backoff {
        BackoffKind::None => Backoff::None,
        BackoffKind::Constant => Backoff::Constant { base, cap },
        BackoffKind::Exponential => Backoff::Exponential { base, cap },
        BackoffKind::FullJitter => Backoff::FullJitter { base, cap },
        BackoffKind::EqualJitter => Backoff::EqualJitter { base, cap },
        BackoffKind::DecorrelatedJitter => Backoff::DecorrelatedJitter { base, cap },
    };
    let instant_retries = matches!(r.backoff, BackoffKind::None) || base == 0 || cap == 0;
    if r.max_attempts.0.is_none()
        && instant_retries
        && let Some(b) = backends.iter().find(|b| fails_instantly(b))
    {
        return Err(err(
            "gateway.retry.max_attempts",
            format!(
                "unlimited attempts with no delay between them, and backend `{}` can fail \
                 without taking any time: a failed call would be retried at the same instant \
                 forever and virtual time would stop. Limit the attempts, give the retries a \
                 backoff with a positive base, or give the backend's failures a latency",
                b.name
            ),
        ));
    }
    if let (Some(timeout), Some(deadline)) = (s.gateway.attempt_timeout, s.gateway.deadline) {
        policies::check_timeouts(timeout.0, deadline.0)
            .map_err(|m| err("gateway.attempt_timeout", m))?;
    }
    if let Some(RetryBudget::Finagle { window, .. } | RetryBudget::Adaptive { window, .. }) =
        &r.budget
        && window.0 < sim_core::NANOS_PER_SEC
    {
        return Err(err(
            "gateway.retry.budget.window",
            "a budget window must be at least 1s",
        ));
    }
    let retryable = match &r.retry_on {
        None => RetryableClasses::default(),
        Some(names) => {
            RetryableClasses::from_names(names).map_err(|m| err("gateway.retry.retry_on", m))?
        }
    };
    if let Some(t) = s.gateway.attempt_timeout
        && t.0 == 0
    {
        return Err(err(
            "gateway.attempt_timeout",
            "a timeout must be longer than 0s",
        ));
    }

    if routes.len() > u16::MAX as usize {
        return Err(err("routes", "at most 65535 routes"));
    }
    let tenant_list: Vec<&str> = s.tenants.iter().map(|t| t.name.as_str()).collect();
    let route_list: Vec<&str> = routes.iter().map(|r| r.name.as_str()).collect();
    let slos = crate::slo_schema::build_slos(&s.slos, &tenant_list, &route_list)?;
    // What depends on the horizon (slots per window, time slices) is checked by the tracker the
    // world builds: build one per SLO here, so a scenario that validates can also run.
    for (i, slo) in slos.iter().enumerate() {
        models::slo::SloTracker::new(
            std::slice::from_ref(slo),
            &tenant_list,
            &route_list,
            s.warmup.0,
            s.horizon.0,
        )
        .map_err(|m| {
            let field = if m.contains("evaluation interval") {
                format!("slos[{i}].alerting.interval")
            } else {
                format!("slos[{i}]")
            };
            err(field, m)
        })?;
    }
    let backend_list: Vec<&str> = s.backends.iter().map(|b| b.name.as_str()).collect();
    let chaos = match &s.chaos {
        Some(c) if !c.experiments.is_empty() => Some(crate::chaos_schema::build_chaos(
            c,
            &slos,
            &tenant_list,
            &backend_list,
            &s.backends
                .iter()
                .map(|b| b.gpu_pool.is_some())
                .collect::<Vec<_>>(),
            s.gateway.attempt_timeout.is_some() || s.gateway.deadline.is_some(),
        )?),
        _ => None,
    };
    let cost_guard = s
        .cost_guard
        .as_ref()
        .map(crate::chaos_schema::build_cost_guard)
        .transpose()?;
    Ok(WorldConfig {
        horizon: s.horizon.0,
        warmup: s.warmup.0,
        tenants,
        backends,
        routes,
        slos,
        chaos,
        cost_guard,
        max_in_flight: u64::MAX,
        gateway: GatewayConfig {
            queue_capacity: s.gateway.queue_capacity.0,
            idempotency: match &s.gateway.idempotency {
                Some(_) if s.gateway.attempt_timeout.is_none() => {
                    return Err(err(
                        "gateway.idempotency",
                        "duplicates come from resends after an attempt timeout: set gateway.attempt_timeout",
                    ));
                }
                other => other.as_ref().map(|i| i.keys),
            },
            retry: RetryRules {
                policy: RetryPolicy {
                    max_attempts: r.max_attempts.0,
                    backoff,
                },
                retryable,
                retry_after_cap: Some(r.retry_after_cap.0),
                reask: false,
            },
            attempt_timeout: s.gateway.attempt_timeout.map(|d| d.0),
            deadline: s.gateway.deadline.map(|d| d.0),
            rate_limits: gateway_limits(&s.gateway.rate_limits)?,
            admission: match &s.gateway.admission {
                None => None,
                Some(a) => {
                    let adm = policies::Admission {
                        max_depth: a.max_queue_depth,
                        max_estimated_wait: a.max_estimated_wait.map(|d| d.0),
                        priority: a.priority_shedding.as_ref().map(|p| {
                            policies::PriorityShedding {
                                from_depth: p.from_depth,
                                levels: p.levels,
                            }
                        }),
                    };
                    adm.validate().map_err(|m| err("gateway.admission", m))?;
                    Some(adm)
                }
            },
            hedge: s
                .gateway
                .hedge
                .as_ref()
                .map(|h| h.policy("gateway.hedge"))
                .transpose()?,
            scheduling: match s.gateway.scheduling {
                Scheduling::Fifo => policies::Discipline::Fifo,
                Scheduling::RoundRobin => policies::Discipline::RoundRobin,
                Scheduling::WeightedFair => policies::Discipline::WeightedFair { quantum: 1 },
            },
            queue_timeout: match s.gateway.queue_timeout {
                Some(d) if d.0 == 0 => {
                    return Err(err(
                        "gateway.queue_timeout",
                        "a queue timeout must be longer than 0s",
                    ));
                }
                other => other.map(|d| d.0),
            },
            retry_budget: r.budget.as_ref().map(|b| match b {
                RetryBudget::Grpc {
                    max_tokens,
                    token_ratio,
                } => RetryBudgetConfig::Grpc {
                    max_tokens: max_tokens.0,
                    token_ratio: token_ratio.0,
                },
                RetryBudget::Finagle {
                    percent,
                    min_retries_per_second,
                    window,
                } => RetryBudgetConfig::Finagle {
                    percent: percent.0,
                    min_retries_per_second: *min_retries_per_second,
                    window: window.0,
                },
                RetryBudget::Adaptive { k, window } => RetryBudgetConfig::Adaptive {
                    k: k.0,
                    window: window.0,
                },
            }),
            input_guardrail: s
                .gateway
                .input_guardrail
                .as_ref()
                .map(|g| (g.recall.0, g.false_positive_rate.0)),
        },
    })
}

fn find_backend(ids: &BTreeMap<&str, usize>, name: &str, path: &str) -> Result<usize, BuildError> {
    ids.get(name).copied().ok_or_else(|| {
        err(
            path,
            format!(
                "no backend is named `{name}`; the backends are: {}",
                ids.keys().copied().collect::<Vec<_>>().join(", ")
            ),
        )
    })
}

/// Per-category values from a `{ category = value }` table, in [`SOFT_CATEGORIES`] order.
fn categories(
    table: &BTreeMap<String, crate::values::Probability>,
    path: &str,
) -> Result<[f64; 5], BuildError> {
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

fn check_name(name: &str, path: &str) -> Result<(), BuildError> {
    if name.trim().is_empty() {
        return Err(err(path, "names must not be empty"));
    }
    if name.contains('.') || name.contains('=') || name.contains(',') {
        return Err(err(
            path,
            format!("`{name}` contains `.`, `=` or `,`, which `--set` paths cannot address"),
        ));
    }
    Ok(())
}

/// The gateway's rate limits, each checked for validity by building it once.
fn gateway_limits(limits: &[GatewayRateLimit]) -> Result<Vec<GatewayLimit>, BuildError> {
    limits
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let path = format!("gateway.rate_limits[{i}]");
            if l.limit == 0 {
                return Err(err(format!("{path}.limit"), "a limit of 0 admits nothing"));
            }
            if l.per.0 == 0 {
                return Err(err(format!("{path}.per"), "the period must be longer than 0s"));
            }
            // Spend is counted in micro-USD, so that a call's fraction of a cent counts.
            let scale = if l.unit == LimitUnit::Usd { 1_000_000 } else { 1 };
            let limit = l.limit.checked_mul(scale).ok_or_else(|| {
                err(format!("{path}.limit"), "the limit is too large")
            })?;
            let burst = l.burst.unwrap_or(l.limit).saturating_mul(scale);
            let l = &GatewayRateLimit {
                limit,
                ..l.clone()
            };
            let kind = match (l.unit, l.algorithm) {
                (LimitUnit::Concurrency, _) => {
                    if l.on_limit == OnLimit::Delay {
                        return Err(err(
                            format!("{path}.on_limit"),
                            "a concurrency limit can only reject; `delay` needs a rate",
                        ));
                    }
                    LimitKind::Concurrency { limit: l.limit }
                }
                (_, LimitAlgorithm::Gcra | LimitAlgorithm::SlidingWindow)
                    if l.on_limit == OnLimit::Delay =>
                {
                    return Err(err(
                        format!("{path}.on_limit"),
                        "`delay` reserves tokens ahead, which needs algorithm = \"token_bucket\"",
                    ));
                }
                (_, LimitAlgorithm::TokenBucket) => {
                    policies::TokenBucket::new(burst, l.limit, l.per.0)
                        .map_err(|m| err(path.clone(), m))?;
                    LimitKind::TokenBucket {
                        capacity: burst,
                        amount: l.limit,
                        per: l.per.0,
                    }
                }
                (_, LimitAlgorithm::Gcra) => {
                    policies::Gcra::from_rate(l.limit, l.per.0, burst)
                        .map_err(|m| err(path.clone(), m))?;
                    LimitKind::Gcra {
                        limit: l.limit,
                        per: l.per.0,
                        burst,
                    }
                }
                (_, LimitAlgorithm::SlidingWindow) => {
                    // The exact log keeps one entry per admitted unit in the window.
                    if l.limit > 1_000_000 {
                        return Err(err(
                            format!("{path}.limit"),
                            "a sliding window keeps every admission it counts; above 1,000,000 use token_bucket or gcra",
                        ));
                    }
                    policies::SlidingWindowLog::new(l.limit, l.per.0)
                        .map_err(|m| err(path.clone(), m))?;
                    LimitKind::SlidingWindow {
                        limit: l.limit,
                        window: l.per.0,
                    }
                }
            };
            Ok(GatewayLimit {
                per_tenant: l.scope == LimitScope::Tenant,
                kind,
                tokens: l.unit == LimitUnit::Tokens,
                usd: l.unit == LimitUnit::Usd,
                delay: l.on_limit == OnLimit::Delay,
            })
        })
        .collect()
}

/// When an outage or slowdown happens: exactly one of a window or a process.
fn episode_timing(
    start: &Option<crate::values::Duration>,
    duration: &Option<crate::values::Duration>,
    mtbf: &Option<DurationDist>,
    mttr: &Option<DurationDist>,
    path: &str,
) -> Result<EpisodeTiming, BuildError> {
    match (start, duration, mtbf, mttr) {
        (Some(start), Some(duration), None, None) => {
            if duration.0 == 0 {
                return Err(err(
                    format!("{path}.duration"),
                    "the duration must be longer than 0s",
                ));
            }
            Ok(EpisodeTiming::Window {
                start: start.0,
                duration: duration.0,
            })
        }
        (None, None, Some(up), Some(down)) => Ok(EpisodeTiming::Process {
            up: duration_sampler(up).map_err(|m| err(format!("{path}.mtbf"), m))?,
            down: duration_sampler(down).map_err(|m| err(format!("{path}.mttr"), m))?,
        }),
        _ => Err(err(
            path,
            "give either `start` and `duration` (a scheduled window) or `mtbf` and `mttr` (an up/down process)",
        )),
    }
}

/// Whether some failure of `b` can come back in zero time: an error latency that is always
/// zero, or (without one) a service model that is.
fn fails_instantly(b: &BackendConfig) -> bool {
    let zero = |s: &Sampler| matches!(s, Sampler::Deterministic { value } if *value <= 0.0);
    let can_fail = b.failure_probability > 0.0
        || b.errors.iter().any(|(_, p)| *p > 0.0)
        || !b.episodes.is_empty();
    let latency_zero = match &b.error_latency {
        Some(s) => zero(s),
        None => match &b.service {
            ServiceModel::Duration(s) => zero(s),
            ServiceModel::Tokens { ttft, .. } => zero(ttft),
        },
    };
    can_fail && latency_zero
}

/// The arrival process of a tenant; a trace is read here, once, and shared by every replication.
fn arrival_spec(a: &Arrivals, path: &str) -> Result<ArrivalSpec, BuildError> {
    let spec = match a {
        Arrivals::Poisson { rate } => ArrivalSpec::Poisson { rate: rate.0 },
        Arrivals::Gamma { rate, cv } => ArrivalSpec::GammaRenewal {
            rate: rate.0,
            cv: cv.0,
        },
        Arrivals::Diurnal {
            rate,
            peak_to_trough,
            peak_hour,
            hourly_weights,
            start_time_of_day,
        } => {
            let profile = match (peak_to_trough, hourly_weights) {
                (Some(ratio), None) => DiurnalProfile::Sinusoid {
                    peak_to_trough: ratio.0,
                    peak_hour: peak_hour.unwrap_or(14.0),
                },
                (None, Some(w)) => {
                    if peak_hour.is_some() {
                        return Err(err(
                            format!("{path}.peak_hour"),
                            "peak_hour goes with peak_to_trough, not with hourly_weights",
                        ));
                    }
                    let weights: [f64; 24] = w.as_slice().try_into().map_err(|_| {
                        err(
                            format!("{path}.hourly_weights"),
                            format!("expected 24 weights (one per hour), found {}", w.len()),
                        )
                    })?;
                    DiurnalProfile::Hourly { weights }
                }
                (Some(_), Some(_)) => {
                    return Err(err(
                        path,
                        "give either peak_to_trough or hourly_weights, not both",
                    ));
                }
                (None, None) => {
                    return Err(err(
                        path,
                        "a diurnal profile needs peak_to_trough (e.g. 3) or 24 hourly_weights",
                    ));
                }
            };
            ArrivalSpec::Diurnal {
                rate: rate.0,
                profile,
                time_of_day_at_start: start_time_of_day.0,
            }
        }
        Arrivals::Mmpp {
            base_rate,
            burst_rate,
            mean_base,
            mean_burst,
        } => ArrivalSpec::Mmpp {
            base_rate_per_s: base_rate.0.as_per_second(),
            burst_rate_per_s: burst_rate.0.as_per_second(),
            mean_base: mean_base.0,
            mean_burst: mean_burst.0,
        },
        Arrivals::Piecewise { steps } => ArrivalSpec::Piecewise {
            steps: steps
                .iter()
                .map(|s| (s.from.0, s.rate.0.as_per_second()))
                .collect(),
        },
        Arrivals::Trace {
            path: file,
            format,
            speedup,
            start_offset,
            looping,
        } => {
            let speedup =
                TimeScale::parse(speedup).map_err(|e| err(format!("{path}.speedup"), e.message))?;
            let format = match format {
                Some(TraceFormatName::AzureCsv) => TraceFormat::AzureCsv,
                Some(TraceFormatName::MooncakeJsonl) => TraceFormat::MooncakeJsonl,
                None => TraceFormat::from_path(std::path::Path::new(file)).ok_or_else(|| {
                    err(
                        format!("{path}.path"),
                        format!(
                            "cannot tell the format of `{file}` from its extension; set format = \"azure_csv\" or \"mooncake_jsonl\""
                        ),
                    )
                })?,
            };
            let trace = match file.strip_prefix(crate::builtin_data::PREFIX) {
                Some(name) => {
                    let bytes = crate::builtin_data::read(name)
                        .map_err(|m| err(format!("{path}.path"), m))?;
                    Trace::parse(file, bytes, format)
                }
                None => Trace::load(file, format),
            }
            .map_err(|e| err(format!("{path}.path"), e.to_string()))?;
            ArrivalSpec::Trace {
                trace: Arc::new(trace),
                replay: ReplayOptions {
                    speedup,
                    start_offset: start_offset.0,
                    looping: *looping,
                },
            }
        }
    };
    spec.validate().map_err(|e| {
        let field = match e.field {
            "rate" | "cv" | "peak_to_trough" | "peak_hour" | "hourly_weights" | "speedup"
            | "start_offset" => format!("{path}.{}", e.field),
            _ => path.to_string(),
        };
        err(field, e.message)
    })?;
    Ok(spec)
}

/// A sampler of token counts (the world rounds draws and keeps them at 1 or more).
fn token_sampler(d: &TokenDist) -> Result<Sampler, String> {
    let sampler = match d {
        TokenDist::Fixed { value } => Sampler::deterministic(*value as f64),
        TokenDist::Uniform { low, high } if low > high => {
            return Err(format!("low ({low}) must not exceed high ({high})"));
        }
        // Every whole count from low to high equally likely once the world rounds the draw.
        TokenDist::Uniform { low, high } => {
            Sampler::uniform((*low as f64 - 0.5).max(0.0), *high as f64 + 0.5)
        }
        TokenDist::Exponential { mean } => Sampler::exponential(mean.0),
        TokenDist::Lognormal { median, p99 } if p99.0 <= median.0 => {
            return Err(format!(
                "p99 ({}) must be greater than the median ({})",
                p99.0, median.0
            ));
        }
        TokenDist::Lognormal { median, p99 } => Sampler::lognormal_median_p99(median.0, p99.0),
        TokenDist::Gamma { shape, mean } => Sampler::gamma(shape.0, mean.0 / shape.0),
        TokenDist::Empirical { values } => {
            Sampler::empirical(values.iter().map(|&v| v as f64).collect())
        }
    };
    sampler.map_err(|e| e.0)
}

/// A sampler of nanoseconds.
/// The longest median a `lognormal_params` duration may have: a century, in seconds.
const MAX_MEDIAN_S: f64 = 100.0 * 365.25 * 86_400.0;

pub(crate) fn duration_sampler(d: &DurationDist) -> Result<Sampler, String> {
    use sim_core::time::format_duration as show;
    let ns = |d: &crate::values::Duration| d.0 as f64;
    // Rules between duration parameters, stated in durations rather than nanoseconds.
    match d {
        DurationDist::Exponential { mean: v }
        | DurationDist::Gamma { mean: v, .. }
        | DurationDist::Hyperexponential { mean: v, .. }
        | DurationDist::Weibull { scale: v, .. }
        | DurationDist::Pareto { scale: v, .. }
        | DurationDist::Lognormal { median: v, .. }
            if v.0 == 0 =>
        {
            return Err("this distribution's mean, median or scale must be longer than 0s".into());
        }
        DurationDist::Lognormal { median, p99 } if p99 <= median => {
            return Err(format!(
                "p99 ({}) must be greater than the median ({})",
                show(p99.0),
                show(median.0)
            ));
        }
        DurationDist::Uniform { low, high } if low > high => {
            return Err(format!(
                "low ({}) must not exceed high ({})",
                show(low.0),
                show(high.0)
            ));
        }
        // e^mu seconds is the median: past a century no call would ever finish in any horizon
        // (and past about 700 it is not even a finite number).
        DurationDist::LognormalParams { mu, .. }
            if mu.is_nan() || *mu > libm::log(MAX_MEDIAN_S) =>
        {
            return Err(format!(
                "mu = {mu:e} puts the median at e^mu seconds, longer than a century of virtual \
                 time (mu must be at most {:.2}); no call would ever finish",
                libm::log(MAX_MEDIAN_S)
            ));
        }
        _ => {}
    }
    let sampler = match d {
        DurationDist::Deterministic { value } => Sampler::deterministic(ns(value)),
        DurationDist::Exponential { mean } => Sampler::exponential(ns(mean)),
        DurationDist::Uniform { low, high } => Sampler::uniform(ns(low), ns(high)),
        DurationDist::Lognormal { median, p99 } => {
            Sampler::lognormal_median_p99(ns(median), ns(p99))
        }
        DurationDist::LognormalParams { mu, sigma } => {
            // mu and sigma describe ln(seconds); shift to ln(nanoseconds).
            Sampler::lognormal(mu + libm::log(1e9), *sigma)
        }
        DurationDist::Gamma { shape, mean } => Sampler::gamma(shape.0, ns(mean) / shape.0),
        DurationDist::Weibull { shape, scale } => Sampler::weibull(shape.0, ns(scale)),
        DurationDist::Pareto { shape, scale } => Sampler::pareto(ns(scale), shape.0),
        DurationDist::Hyperexponential { mean, scv } => Sampler::hyperexponential(ns(mean), scv.0),
        DurationDist::Empirical { values } => Sampler::empirical(values.iter().map(ns).collect()),
    };
    sampler.map_err(|e| e.0)
}
