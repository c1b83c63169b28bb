//! Building a replication's world from its validated configuration: every tenant, backend and
//! route with its named random streams, the gateway's policies, and the events scheduled before
//! the loop starts. The streams are named by entity and purpose, so adding one leaves every
//! other stream's draws unchanged.

use super::gateway::{GatewayLimits, Queue};
use super::provider::Provider;
use super::validator::Validator;
use super::{Backend, Route, Server, Tenant, World};
use crate::cache::{CacheConfig, CacheState};
use crate::config::{RetryBudgetConfig, ServiceModel, WorldConfig};
use crate::gpu::pool::Pool;
use crate::metrics::Stats;
use crate::slo::SloTracker;
use crate::workload::ArrivalState;
use policies::{AdaptiveThrottle, AnyRetryBudget, FinagleBudget, GrpcThrottle};
use sim_core::series::BucketGrid;
use sim_core::{Scheduler, Slab, Streams};
use std::collections::VecDeque;

impl<'c> World<'c> {
    /// A fresh world for replication `replication` of `config` under `seed`.
    pub fn new(config: &'c WorldConfig, seed: u64, replication: u32) -> World<'c> {
        let streams = Streams::new(seed, replication);
        let tenants = config
            .tenants
            .iter()
            .map(|t| {
                let entity = format!("tenants.{}", t.name);
                Tenant {
                    arrivals: ArrivalState::new(&t.arrivals)
                        .expect("arrival specs are validated when the world is built"),
                    injection_rng: streams.stream(&entity, "injection"),
                    cache_key_rng: streams.stream(&entity, "cache_keys"),
                    keyed_by: t
                        .steps
                        .iter()
                        .find(|s| {
                            matches!(
                                config.routes[s.route].cache,
                                Some(CacheConfig::Exact { .. })
                            )
                        })
                        .map(|s| s.route),
                    turns_rng: streams.stream(&entity, "turns"),
                    pending: None,
                    arrivals_rng: streams.stream(&entity, "arrivals"),
                    prompt_tokens: t.prompt_tokens.clone(),
                    output_tokens: t.output_tokens.clone(),
                    tokens_rng: streams.stream(&entity, "tokens"),
                    max_tokens: t.max_tokens,
                }
            })
            .collect();
        let backends = config
            .backends
            .iter()
            .map(|b| {
                let entity = format!("backends.{}", b.name);
                Backend {
                    busy: 0,
                    queue: if let Some(d) = config.gateway.overload.queue_discipline {
                        Queue::overload(d)
                    } else if let Some(fair) = &config.gateway.fair_queue {
                        Queue::Fair(fair.clone())
                    } else {
                        Queue::Fifo(VecDeque::new())
                    },
                    service_total: 0.0,
                    services: 0,
                    service_guess: match &b.service {
                        ServiceModel::Duration(d) => d.mean(),
                        ServiceModel::Tokens { ttft, .. } => ttft.mean(),
                    },
                    // A call that cannot fit one replica's KV cache overflows its context.
                    context_window: match &b.pool {
                        None => b.context_window,
                        Some(p) => {
                            let kv = p.context_tokens().min(u32::MAX as u64) as u32;
                            Some(b.context_window.map_or(kv, |w| w.min(kv)))
                        }
                    },
                    provider: Provider::new(b, &streams, &entity),
                    breaker: b.breaker.clone(),
                    cooldown: b.cooldown.clone(),
                    server: match &b.pool {
                        None => Server::Api {
                            concurrency: b.concurrency,
                        },
                        Some(p) => Server::Pool(Box::new(
                            Pool::new(
                                p,
                                BucketGrid::for_window(config.warmup, config.horizon),
                                streams.stream(&entity, "replica_crashes"),
                            )
                            .with_prefix_stream(streams.stream(&entity, "shared_prefix")),
                        )),
                    },
                }
            })
            .collect();
        let routes = config
            .routes
            .iter()
            .map(|r| {
                let entity = format!("routes.{}", r.name);
                Route {
                    cache: r
                        .cache
                        .as_ref()
                        .map(|c| CacheState::new(c).expect("validated when the world is built")),
                    cache_rng: streams.stream(&entity, "cache"),
                    validator: Validator::new(&streams, &entity),
                    balance: r
                        .balance
                        .as_ref()
                        .map(|b| super::balance::Balance::new(b, &streams, &entity)),
                }
            })
            .collect();
        World {
            config,
            sched: Scheduler::new(),
            tenants,
            backends,
            balanced: config.routes.iter().any(|r| r.balance.is_some()),
            routes,
            requests: Slab::new(),
            attempts: Slab::new(),
            slo: (!config.slos.is_empty()).then(|| {
                let tenants: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
                let routes: Vec<&str> = config.routes.iter().map(|r| r.name.as_str()).collect();
                SloTracker::new(
                    &config.slos,
                    &tenants,
                    &routes,
                    config.warmup,
                    config.horizon,
                )
                .expect("SLOs are validated when the world is built")
            }),
            faults: Vec::new(),
            fault_since: vec![None; config.backends.len()],
            retry_rng: streams.stream("gateway.retry", "jitter"),
            budget: config.gateway.retry_budget.map(|b| match b {
                RetryBudgetConfig::Grpc {
                    max_tokens,
                    token_ratio,
                } => AnyRetryBudget::Grpc(GrpcThrottle::new(max_tokens, token_ratio)),
                RetryBudgetConfig::Finagle {
                    percent,
                    min_retries_per_second,
                    window,
                } => AnyRetryBudget::Finagle(FinagleBudget::new(
                    window,
                    min_retries_per_second,
                    percent,
                )),
                RetryBudgetConfig::Adaptive { k, window } => {
                    AnyRetryBudget::Adaptive(AdaptiveThrottle::new(k, window))
                }
            }),
            budget_rng: streams.stream("gateway.retry_budget", "rejections"),
            hedge: config.gateway.hedge.clone(),
            limits: GatewayLimits::new(config),
            guardrail_rng: streams.stream("gateway.input_guardrail", "detection"),
            stats: Stats::new(config),
            arrival_log: None,
            events: 0,
            chaos: config.chaos.as_ref().map(|c| {
                let tenants: Vec<&str> = config.tenants.iter().map(|t| t.name.as_str()).collect();
                let routes: Vec<&str> = config.routes.iter().map(|r| r.name.as_str()).collect();
                crate::chaos::ChaosState::new(
                    c,
                    &config.slos,
                    &tenants,
                    &routes,
                    config.warmup,
                    streams.stream("chaos", "faults"),
                )
                .expect("chaos experiments are validated when the world is built")
            }),
            cost_guard: config
                .cost_guard
                .as_ref()
                .map(crate::cost_guard::CostGuard::new),
            recorder: None,
            overload: super::gateway::overload::Overload::new(config),
            workflows: super::workflow::Workflows::build(config, &streams),
            client_hops: super::client_hop::ClientHops::new(config, &streams),
            work_queues: config
                .work_queues
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    crate::workflow::queue::WorkQueue::new(
                        i as u16,
                        q,
                        &streams,
                        config.warmup,
                        config.horizon,
                    )
                })
                .collect(),
        }
    }
}
