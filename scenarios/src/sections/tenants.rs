//! `[[tenants]]`: the sources of traffic (arrivals, token shapes, what each job calls: a
//! backend, a route, a chain of steps or an agent loop), and their conversion to `models`
//! [`TenantConfig`]s. A tenant naming a backend directly implies a plain route to it, which is
//! added here after the declared routes.

use crate::build_error::{BuildError, err};
use crate::dists::{DurationDist, TokenDist, duration_sampler, token_sampler};
use crate::names::{check_name, find_backend};
use crate::sections::arrivals::{Arrivals, arrival_spec};
use crate::sections::backends::Backend;
use crate::sections::workflow::{Target, Workflow, build_workflow};
use crate::values::{NonNegative, Probability};
use models::config::{LoopConfig, RouteConfig, StepConfig};
use models::workload::{ArrivalSpec, TokenSource};
use models::{BackendId, RouteId, TenantConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

fn default_weight() -> u32 {
    1
}

/// One step of an agent chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The route this step calls.
    pub route: String,
    /// Token counts of this step's call (default: the tenant's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<TokenDist>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<TokenDist>,
}

/// An agent loop: the job calls its route turn after turn, the prompt growing each turn by
/// what came before (the context), until it is done or a cap stops it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentLoop {
    /// Turns the task needs, drawn per job.
    pub turns: TokenDist,
    /// Prompt tokens each turn adds besides the previous answer (default 0): a turn's prompt is
    /// the previous prompt, plus the previous answer, plus this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_growth: Option<u32>,
    /// Turns after which the job is stopped (default 50).
    #[serde(default = "default_turn_cap")]
    pub turn_cap: u32,
    /// Tokens (prompt plus output, over all turns) after which the job is stopped (default:
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_cap: Option<u64>,
}

fn default_turn_cap() -> u32 {
    50
}

/// A source of traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tenant {
    /// Unique; also keys the tenant's random streams, so renaming a tenant changes its traffic.
    pub name: String,
    /// Name of the backend that serves this tenant's calls (or give `route`, `steps` or
    /// `agent_loop` with `route`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// Name of the route this tenant's calls ask for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// A chain of calls per job, each to its own route: an agent pipeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
    /// Each job runs this workflow: activities with retry policies and timeouts, durable or
    /// not, on workers that may crash (`[tenants.workflow]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<Workflow>,
    /// Repeat the call (to `route`) turn after turn: an agent loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_loop: Option<AgentLoop>,
    /// Scheduling priority, higher is more important (default 0); used by priority shedding.
    #[serde(default)]
    pub priority: u8,
    /// Share under weighted fair scheduling (default 1).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Share of this tenant's requests that are prompt injections (default 0).
    #[serde(default)]
    pub injection_share: Probability,
    /// Spend after which the tenant's new jobs are rejected, in USD over the run (default: no
    /// cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_usd: Option<NonNegative>,
    pub arrivals: Arrivals,
    /// Prompt (input) tokens per call (default: none; needed by token prices and context windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<TokenDist>,
    /// Output tokens a call generates (default: none; needed by per-token latency and prices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<TokenDist>,
    /// The `max_tokens` a call asks for (default: its output tokens). Checked against the
    /// backend's context window together with the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// The network between this tenant's clients and the gateway (default: none, the clients
    /// sit at the gateway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<ClientNetwork>,
    /// Shared system prompts: each call's prompt starts with one of `groups` system prompts of
    /// `tokens` tokens, drawn per call, so a GPU pool with prefix caching prefills it once
    /// (default: none, every prompt its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_prefix: Option<SharedPrefixSpec>,
}

/// `shared_prefix = { groups = 4, tokens = 512 }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SharedPrefixSpec {
    /// Distinct system prompts, each call drawing one uniformly (at least 1).
    pub groups: u32,
    /// Tokens of each system prompt (at least 1); a prompt shorter than this is all prefix.
    pub tokens: u32,
}

/// The hop between a tenant's clients and the gateway. Its delay counts toward the call's
/// deadline and the job's latency, but not toward the gateway's or the backends' slots,
/// queues or service times.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientNetwork {
    /// One-way delay, drawn each way per call (client to gateway, and back).
    pub delay: DurationDist,
}

/// What the tenants section needs from the sections built before it.
pub(crate) struct Resolved<'a, 'b> {
    /// The scenario's backends, for the rules that depend on their latency model.
    pub backends: &'a [Backend],
    pub backend_ids: &'a BTreeMap<&'b str, usize>,
    /// The declared routes' ids by name.
    pub route_ids: &'a BTreeMap<&'b str, usize>,
}

/// The tenants, in file order (a tenant's index keys its random streams). `routes` holds the
/// declared routes; a route implied by a tenant naming a backend is appended the first time a
/// tenant names it, so implied routes follow the declared ones in order of first use.
pub(crate) fn build_tenants(
    tenants: &[Tenant],
    known: &Resolved,
    routes: &mut Vec<RouteConfig>,
) -> Result<Vec<TenantConfig>, BuildError> {
    let mut names = BTreeMap::new();
    let mut out = Vec::with_capacity(tenants.len());
    for (i, t) in tenants.iter().enumerate() {
        let path = format!("tenants[{i}]");
        check_name(&t.name, &format!("{path}.name"))?;
        if names.insert(t.name.as_str(), i).is_some() {
            return Err(err(
                format!("{path}.name"),
                format!("another tenant is already named `{}`", t.name),
            ));
        }
        out.push(build_tenant(t, &path, known, routes)?);
    }
    Ok(out)
}

/// One tenant, its rules checked in the order of its fields below.
fn build_tenant(
    t: &Tenant,
    path: &str,
    known: &Resolved,
    routes: &mut Vec<RouteConfig>,
) -> Result<TenantConfig, BuildError> {
    let arrivals = arrival_spec(&t.arrivals, &format!("{path}.arrivals"))?;
    let from_trace = matches!(arrivals, ArrivalSpec::Trace { .. });
    let tokens = |d: &Option<TokenDist>, key: &str| -> Result<Option<TokenSource>, BuildError> {
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
    let given = [
        t.backend.is_some(),
        t.route.is_some(),
        !t.steps.is_empty(),
        t.workflow.is_some(),
    ]
    .iter()
    .filter(|&&g| g)
    .count();
    if given != 1 {
        return Err(err(
            path,
            "a tenant needs exactly one of `backend`, `route`, `steps` or `workflow`",
        ));
    }
    let (workflow, steps) = match &t.workflow {
        Some(w) => {
            let wpath = format!("{path}.workflow");
            let (config, targets) = build_workflow(w, &wpath)?;
            let mut steps = Vec::with_capacity(targets.len());
            let calls = w
                .activities
                .iter()
                .enumerate()
                .filter(|(_, a)| a.compute.is_none());
            for ((target, mut step), (i, _)) in targets.into_iter().zip(calls) {
                let here = format!("{wpath}.activities[{i}]");
                step.route = match target {
                    Target::Route(r) => route_of(known.route_ids, r, &format!("{here}.route"))?,
                    Target::Backend(b) => {
                        implied_route(known, routes, b, &format!("{here}.backend"))?
                    }
                };
                steps.push(step);
            }
            (Some(config), steps)
        }
        None => (None, steps(t, path, known, routes)?),
    };
    if workflow.is_some() && t.agent_loop.is_some() {
        return Err(err(
            format!("{path}.agent_loop"),
            "a workflow's activities are its calls: leave out `agent_loop`",
        ));
    }
    for (k, st) in steps.iter().enumerate() {
        let backend = &known.backends[routes[st.route].backend];
        if backend.ttft.is_some() && st.output_tokens.is_none() && output_tokens.is_none() {
            let at = if t.workflow.is_some() {
                format!("{path}.workflow.activities")
            } else if t.steps.is_empty() {
                format!("{path}.output_tokens")
            } else {
                format!("{path}.steps[{k}].output_tokens")
            };
            return Err(err(
                at,
                format!(
                    "backend `{}` times calls per output token, so these calls need `output_tokens`",
                    backend.name
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
    let client_delay = match &t.network {
        None => None,
        Some(_) if workflow.is_some() => {
            return Err(err(
                format!("{path}.network"),
                "a workflow's worker calls the gateway itself: a client network applies to \
                 tenants that call a backend, a route or a chain of steps",
            ));
        }
        Some(n) => {
            Some(duration_sampler(&n.delay).map_err(|m| err(format!("{path}.network.delay"), m))?)
        }
    };
    let shared_prefix = match t.shared_prefix {
        None => None,
        Some(s) if s.groups == 0 => {
            return Err(err(
                format!("{path}.shared_prefix.groups"),
                "shared-prefix groups must be at least 1",
            ));
        }
        Some(s) if s.tokens == 0 => {
            return Err(err(
                format!("{path}.shared_prefix.tokens"),
                "a shared prefix must be at least 1 token",
            ));
        }
        Some(s) => Some(models::workload::SharedPrefix {
            groups: s.groups,
            tokens: s.tokens,
        }),
    };
    Ok(TenantConfig {
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
        workflow,
        client_delay,
        shared_prefix,
    })
}

/// What each job of the tenant calls: one step to a backend's implied route or to a declared
/// route, or a chain of steps.
fn steps(
    t: &Tenant,
    path: &str,
    known: &Resolved,
    routes: &mut Vec<RouteConfig>,
) -> Result<Vec<StepConfig>, BuildError> {
    Ok(if let Some(b) = &t.backend {
        vec![StepConfig {
            route: implied_route(known, routes, b, &format!("{path}.backend"))?,
            prompt_tokens: None,
            output_tokens: None,
        }]
    } else if let Some(r) = &t.route {
        vec![StepConfig {
            route: route_of(known.route_ids, r, &format!("{path}.route"))?,
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
                    route: route_of(known.route_ids, &st.route, &format!("{here}.route"))?,
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
    })
}

/// The plain route a tenant (or a workflow activity) naming backend `b` asks for, without
/// soft failures: added the first time a backend is named this way.
fn implied_route(
    known: &Resolved,
    routes: &mut Vec<RouteConfig>,
    b: &str,
    at: &str,
) -> Result<RouteId, BuildError> {
    let backend = find_backend(known.backend_ids, b, at)?;
    let implied = format!("backend:{b}");
    Ok(RouteId::at(
        match routes.iter().position(|r| r.name == implied) {
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
        },
    ))
}

/// The id of the declared route named `name`, or an error at `at` listing the routes.
fn route_of(
    route_ids: &BTreeMap<&str, usize>,
    name: &str,
    at: &str,
) -> Result<RouteId, BuildError> {
    route_ids.get(name).map(|&r| RouteId::at(r)).ok_or_else(|| {
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
}
