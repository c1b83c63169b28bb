//! From a scenario that reads correctly to a world that makes sense: names resolved, cross-field
//! rules checked, units converted. Errors carry the key path of the value at fault.

use crate::schema::{Arrivals, BackoffKind, DurationDist, Scenario};
use models::{ArrivalProcess, BackendConfig, BackendId, GatewayConfig, TenantConfig, WorldConfig};
use policies::{Backoff, RetryPolicy};
use sim_core::Sampler;
use std::collections::BTreeMap;

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
        backends.push(BackendConfig {
            name: b.name.clone(),
            concurrency: b.concurrency.0.unwrap_or(u32::MAX),
            service: duration_sampler(&b.service).map_err(|m| err(format!("{path}.service"), m))?,
            failure_probability: b.failure_probability.0,
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
        let backend = *backend_ids.get(t.backend.as_str()).ok_or_else(|| {
            err(
                format!("{path}.backend"),
                format!(
                    "no backend is named `{}`; the backends are: {}",
                    t.backend,
                    backend_ids.keys().copied().collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
        let arrivals = match &t.arrivals {
            Arrivals::Poisson { rate } => ArrivalProcess::Poisson { rate: rate.0 },
        };
        tenants.push(TenantConfig {
            name: t.name.clone(),
            arrivals,
            backend: BackendId(backend as u16),
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
    if let Some(t) = s.gateway.attempt_timeout
        && t.0 == 0
    {
        return Err(err(
            "gateway.attempt_timeout",
            "a timeout must be longer than 0s",
        ));
    }

    Ok(WorldConfig {
        horizon: s.horizon.0,
        warmup: s.warmup.0,
        tenants,
        backends,
        gateway: GatewayConfig {
            queue_capacity: s.gateway.queue_capacity.0,
            retry: RetryPolicy {
                max_attempts: r.max_attempts.0,
                backoff,
            },
            attempt_timeout: s.gateway.attempt_timeout.map(|d| d.0),
        },
    })
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

/// A sampler of nanoseconds.
fn duration_sampler(d: &DurationDist) -> Result<Sampler, String> {
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
