//! From a scenario that reads correctly to a world that makes sense: names resolved, cross-field
//! rules checked, units converted. Errors carry the key path of the value at fault.
//!
//! [`build_world`] only orders the sections; each section's module in [`crate::sections`] holds
//! its rules and its conversion. The order is fixed, and it matters:
//!
//! 1. the scenario's own bounds (horizon, warm-up, replications, at least one tenant and
//!    backend, or work queues alone);
//! 2. `backends`, in file order: a backend's index is its id, which routes, tenants and chaos
//!    experiments refer to, and which keys its random streams in the world;
//! 3. `routes`, declared ones in file order: they need the backends' ids and context windows;
//! 4. `tenants`, in file order: they need the backends and the declared routes, and append the
//!    routes they imply by naming a backend (so implied routes follow the declared ones, in
//!    order of first use; their index keys their streams too);
//! 5. the gateway's retry rules, which need every backend's latency model;
//! 6. `slos`, which name tenants and routes (implied routes included), then checked against the
//!    horizon;
//! 7. `chaos` experiments, which name SLOs, tenants and backends, and the `cost_guard`;
//! 8. the rest of the gateway;
//! 9. `work_queues`;
//! 10. `report`, whose headline names are checked against the metric catalogue.
//!
//! A scenario with several mistakes reports the first one met in this order, so moving a step
//! changes which error a user sees first; renumbering entities changes every random stream.

use crate::build_error::{BuildError, err};
use crate::schema::Scenario;
use crate::sections::backends::build_backends;
use crate::sections::chaos::{build_chaos, build_cost_guard};
use crate::sections::gateway::{build_gateway, build_retry};
use crate::sections::overload::build_overload;
use crate::sections::report::check_report;
use crate::sections::routes::build_routes;
use crate::sections::slos::{build_slos, check_slos_fit};
use crate::sections::tenants::{Resolved, build_tenants};
use models::WorldConfig;

pub fn build_world(s: &Scenario) -> Result<WorldConfig, BuildError> {
    check_bounds(s)?;
    let (backends, backend_ids) = build_backends(&s.backends, s.gateway.attempt_timeout.is_some())?;
    let (mut routes, route_ids) = build_routes(&s.routes, &backend_ids, &backends)?;
    let known = Resolved {
        backends: &s.backends,
        backend_ids: &backend_ids,
        route_ids: &route_ids,
    };
    let tenants = build_tenants(&s.tenants, &known, &mut routes)?;
    let retry = build_retry(&s.gateway, &backends)?;

    if routes.len() > u16::MAX as usize {
        return Err(err("routes", "at most 65535 routes"));
    }
    let tenant_list: Vec<&str> = s.tenants.iter().map(|t| t.name.as_str()).collect();
    let route_list: Vec<&str> = routes.iter().map(|r| r.name.as_str()).collect();
    let workflow_list: Vec<&str> = s
        .tenants
        .iter()
        .filter(|t| t.workflow.is_some())
        .map(|t| t.name.as_str())
        .collect();
    let slos = build_slos(&s.slos, &tenant_list, &route_list, &workflow_list)?;
    check_slos_fit(&slos, &tenant_list, &route_list, s.warmup.0, s.horizon.0)?;

    let backend_list: Vec<&str> = s.backends.iter().map(|b| b.name.as_str()).collect();
    let chaos = match &s.chaos {
        Some(c) if !c.experiments.is_empty() => Some(build_chaos(
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
    let cost_guard = s.cost_guard.as_ref().map(build_cost_guard).transpose()?;
    let mut gateway = build_gateway(&s.gateway, retry)?;
    let weights: Vec<u32> = tenants.iter().map(|t| t.weight).collect();
    gateway.fair_queue = s.gateway.scheduling.fair_queue(&weights)?;
    gateway.overload = build_overload(
        s.gateway.retry.quota.as_ref(),
        s.gateway.concurrency_limit.as_ref(),
        s.gateway.queue_discipline.as_ref(),
        s.gateway.scheduling,
        &backends,
        &tenant_list,
    )?;
    let work_queues = crate::sections::work_queues::build_work_queues(&s.work_queues)?;
    check_report(&s.report)?;
    Ok(WorldConfig {
        horizon: s.horizon.0,
        warmup: s.warmup.0,
        tenants,
        backends,
        routes,
        slos,
        chaos,
        cost_guard,
        work_queues,
        max_in_flight: u64::MAX,
        gateway,
    })
}

/// The scenario's own bounds, before any section: something to simulate, and ids that fit the
/// world's 16-bit tenant and backend numbers.
fn check_bounds(s: &Scenario) -> Result<(), BuildError> {
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
    // A scenario of work queues alone simulates them without any call.
    if s.tenants.is_empty() && s.work_queues.is_empty() {
        return Err(err(
            "tenants",
            "a scenario needs at least one tenant (or a work queue)",
        ));
    }
    if s.backends.is_empty() && !s.tenants.is_empty() {
        return Err(err("backends", "a scenario needs at least one backend"));
    }
    if s.tenants.len() > u16::MAX as usize || s.backends.len() > u16::MAX as usize {
        return Err(err("tenants", "at most 65535 tenants and 65535 backends"));
    }
    Ok(())
}
