//! `faultline import litellm`: a LiteLLM proxy or router config (`model_list`,
//! `router_settings`, `litellm_settings`) → a scenario. Each model group becomes a route whose
//! deployments share its first place (`balance`), each deployment a backend; fallbacks become
//! the route's chain; retries, timeouts and cooldowns the gateway's and backends' policies.
//! What LiteLLM's config does not say (latency, error rates, traffic) comes from the defaults
//! below, marked in the output for the user to edit. The mapping table is in the README.

use crate::Imported;
use crate::toml_out::{duration, name, number, quote};
use crate::yaml::{At, ImportError, parse};
use std::collections::BTreeMap;
use std::fmt::Write;

/// Defaults for what a LiteLLM config does not describe (README, "Importing LiteLLM").
pub mod defaults {
    /// Time to first token: lognormal, median and p99 (seconds).
    pub const TTFT_MEDIAN_S: f64 = 0.5;
    pub const TTFT_P99_S: f64 = 3.0;
    /// Time per output token after the first: uniform (seconds).
    pub const PER_TOKEN_LOW_S: f64 = 0.01;
    pub const PER_TOKEN_HIGH_S: f64 = 0.03;
    /// Share of attempts answered with a 5xx.
    pub const SERVER_ERROR: f64 = 0.002;
    /// Traffic per model group without rpm limits (calls per second).
    pub const RATE_PER_S: f64 = 1.0;
    /// Share of a group's summed rpm offered as traffic when rpm limits are given.
    pub const RPM_LOAD: f64 = 0.5;
    /// LiteLLM's `request_timeout` default (seconds).
    pub const REQUEST_TIMEOUT_S: f64 = 6000.0;
    /// LiteLLM's `DEFAULT_COOLDOWN_TIME_SECONDS` and `DEFAULT_ALLOWED_FAILS`.
    pub const COOLDOWN_S: f64 = 5.0;
    pub const ALLOWED_FAILS: u64 = 3;
}

struct Deployment {
    backend: String,
    model: String,
    rpm: Option<u64>,
    tpm: Option<u64>,
    weight: Option<f64>,
    timeout: Option<f64>,
    max_parallel: Option<u64>,
    context_window: Option<u64>,
    price: Option<(f64, f64)>,
}

struct Group {
    /// As written in the config.
    original: String,
    deployments: Vec<Deployment>,
}

/// Keys of `litellm_params` read here; the others (credentials, endpoints, API versions) do
/// not change how calls behave in a simulation and are passed over silently.
const CREDENTIALS: &[&str] = &[
    "api_key",
    "api_base",
    "api_version",
    "organization",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_region_name",
    "vertex_project",
    "vertex_location",
    "vertex_credentials",
    "custom_llm_provider",
    "base_model",
];

/// Reads `text` (from `file`) and writes the scenario.
pub fn import(file: &str, text: &str) -> Result<Imported, ImportError> {
    let root_node = parse(file, text)?;
    let root = At::root(file, &root_node);
    let mut warnings = Vec::new();
    let mut model_list = None;
    let mut router = None;
    let mut settings = None;
    for (key, at) in root.entries()? {
        match key {
            "model_list" => model_list = Some(at),
            "router_settings" => router = Some(at),
            "litellm_settings" => settings = Some(at),
            "general_settings" | "environment_variables" | "guardrails" | "mcp_servers" => {
                warnings.push(at.warning(
                    "proxy administration (keys, database, auth, guardrail hooks) is not \
                     simulated; ignored",
                ));
            }
            _ => warnings.push(at.warning("not a LiteLLM config section faultline maps; ignored")),
        }
    }
    let Some(model_list) = model_list else {
        return Err(root.error("expected a `model_list` with at least one deployment"));
    };
    let groups = read_model_list(&model_list, &mut warnings)?;
    let mut s = Settings::default();
    if let Some(at) = &settings {
        read_settings(at, &mut s, &mut warnings, false)?;
    }
    if let Some(at) = &router {
        read_settings(at, &mut s, &mut warnings, true)?;
    }
    for list in [&s.fallbacks, &s.context_fallbacks] {
        for (from, to, at) in list {
            for g in std::iter::once(from).chain(to.iter()) {
                if !groups.contains_key(g.as_str()) {
                    return Err(at.clone().error(format!(
                        "no model group is named `{g}`; the model_list has: {}",
                        groups.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
            }
        }
    }
    let toml = write(file, &groups, &s, &mut warnings);
    Ok(Imported { toml, warnings })
}

/// A fallback list and the place it was read from.
type Fallbacks<'a> = Vec<(String, Vec<String>, At<'a>)>;

#[derive(Default)]
struct Settings<'a> {
    strategy: Option<(String, At<'a>)>,
    num_retries: Option<u64>,
    retry_after: Option<f64>,
    timeout: Option<f64>,
    allowed_fails: Option<u64>,
    cooldown_time: Option<f64>,
    disable_cooldowns: bool,
    latency_buffer: Option<f64>,
    latency_samples: Option<u64>,
    fallbacks: Fallbacks<'a>,
    context_fallbacks: Fallbacks<'a>,
    /// Per error class: retries allowed (LiteLLM's `retry_policy`).
    retry_policy: Vec<(String, u64, At<'a>)>,
}

fn read_model_list<'a>(
    list: &At<'a>,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, Group>, ImportError> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut used = BTreeMap::new();
    let items = list.items()?;
    if items.is_empty() {
        return Err(list.error("expected at least one deployment"));
    }
    for item in items {
        let mut group = None;
        let mut params = None;
        let mut info = None;
        let (mut rpm, mut tpm) = (None, None);
        for (key, at) in item.entries()? {
            match key {
                "model_name" => group = Some(at.str()?.to_string()),
                "litellm_params" => params = Some(at),
                "model_info" => info = Some(at),
                "rpm" => rpm = Some(at.u64()?),
                "tpm" => tpm = Some(at.u64()?),
                _ => warnings.push(at.warning("not mapped; ignored")),
            }
        }
        let Some(group) = group else {
            return Err(item.error("expected `model_name`, the deployment's model group"));
        };
        let Some(params) = params else {
            return Err(item.error("expected `litellm_params` with the deployment's `model`"));
        };
        let mut d = Deployment {
            backend: String::new(),
            model: String::new(),
            rpm,
            tpm,
            weight: None,
            timeout: None,
            max_parallel: None,
            context_window: None,
            price: None,
        };
        for (key, at) in params.entries()? {
            match key {
                "model" => d.model = at.str()?.to_string(),
                "rpm" => d.rpm = Some(positive(&at)?),
                "tpm" => d.tpm = Some(positive(&at)?),
                "weight" => {
                    let w = at.f64()?;
                    if w < 0.0 {
                        return Err(at.error(format!("expected a weight of at least 0, found {w}")));
                    }
                    d.weight = Some(w);
                }
                "timeout" => d.timeout = Some(seconds(&at)?),
                "max_parallel_requests" => d.max_parallel = Some(positive(&at)?),
                k if CREDENTIALS.contains(&k) => {}
                _ => warnings.push(at.warning("not mapped; ignored")),
            }
        }
        if d.model.is_empty() {
            return Err(params.error("expected `model`, the provider/model this deployment calls"));
        }
        let mut input_cost = None;
        let mut output_cost = None;
        if let Some(info) = &info {
            for (key, at) in info.entries()? {
                match key {
                    "max_input_tokens" | "max_tokens" => {
                        d.context_window = Some(positive(&at)?);
                    }
                    "input_cost_per_token" => input_cost = Some(at.f64()?),
                    "output_cost_per_token" => output_cost = Some(at.f64()?),
                    "id" | "base_model" | "mode" => {}
                    _ => warnings.push(at.warning("not mapped; ignored")),
                }
            }
        }
        if input_cost.is_some() || output_cost.is_some() {
            d.price = Some((
                input_cost.unwrap_or(0.0) * 1e6,
                output_cost.unwrap_or(0.0) * 1e6,
            ));
        }
        let g = groups.entry(group.clone()).or_insert_with(|| Group {
            original: group.clone(),
            deployments: Vec::new(),
        });
        let base = format!("{}-{}", name(&group), g.deployments.len() + 1);
        let n = used.entry(base.clone()).or_insert(0u32);
        *n += 1;
        d.backend = if *n == 1 { base } else { format!("{base}-{n}") };
        g.deployments.push(d);
    }
    Ok(groups)
}

fn positive(at: &At) -> Result<u64, ImportError> {
    let v = at.u64()?;
    if v == 0 {
        return Err(at.error("expected a whole number of at least 1, found `0`"));
    }
    Ok(v)
}

fn seconds(at: &At) -> Result<f64, ImportError> {
    let v = at.f64()?;
    if v <= 0.0 || v > 1e7 {
        return Err(at.error(format!("expected seconds above 0, found {}", at.found())));
    }
    Ok(v)
}

/// Reads `router_settings` (`router`) or `litellm_settings`; router settings win.
fn read_settings<'a>(
    at: &At<'a>,
    s: &mut Settings<'a>,
    warnings: &mut Vec<String>,
    router: bool,
) -> Result<(), ImportError> {
    for (key, v) in at.entries()? {
        match key {
            "routing_strategy" if router => s.strategy = Some((v.str()?.to_string(), v.clone())),
            "num_retries" => {
                if router || s.num_retries.is_none() {
                    s.num_retries = Some(v.u64()?);
                }
            }
            "retry_after" if router => s.retry_after = Some(v.f64()?.max(0.0)),
            "timeout" | "request_timeout" => {
                let t = seconds(&v)?;
                if router || s.timeout.is_none() {
                    s.timeout = Some(t);
                }
            }
            "allowed_fails" => s.allowed_fails = Some(v.u64()?),
            "cooldown_time" => s.cooldown_time = Some(seconds(&v)?),
            "disable_cooldowns" => s.disable_cooldowns = v.bool()?,
            "fallbacks" | "default_fallbacks" => read_fallbacks(&v, &mut s.fallbacks)?,
            "context_window_fallbacks" => read_fallbacks(&v, &mut s.context_fallbacks)?,
            "content_policy_fallbacks" => warnings.push(v.warning(
                "content-policy violations are not an outcome faultline simulates; these \
                 fallbacks are not mapped",
            )),
            "retry_policy" if router => {
                for (class, n) in v.entries()? {
                    s.retry_policy
                        .push((class.to_string(), n.u64()?, n.clone()));
                }
            }
            "allowed_fails_policy" if router => {
                let mut least: Option<u64> = None;
                for (_, n) in v.entries()? {
                    let x = n.u64()?;
                    least = Some(least.map_or(x, |l| l.min(x)));
                }
                if let Some(l) = least {
                    s.allowed_fails = Some(l);
                }
                warnings.push(v.warning(
                    "faultline's cooldown counts every failure alike: the smallest allowance \
                     of the policy is used for all",
                ));
            }
            "routing_strategy_args" if router => {
                for (arg, n) in v.entries()? {
                    match arg {
                        "lowest_latency_buffer" => s.latency_buffer = Some(n.f64()?),
                        "max_latency_list_size" => s.latency_samples = Some(positive(&n)?),
                        _ => warnings.push(n.warning("not mapped; ignored")),
                    }
                }
            }
            _ => warnings.push(v.warning("not mapped; ignored")),
        }
    }
    Ok(())
}

/// `[{"gpt-4o": ["claude", "gpt-4o-mini"]}, ...]`
fn read_fallbacks<'a>(
    at: &At<'a>,
    out: &mut Vec<(String, Vec<String>, At<'a>)>,
) -> Result<(), ImportError> {
    for item in at.items()? {
        for (from, to) in item.entries()? {
            let mut list = Vec::new();
            for t in to.items()? {
                list.push(t.str()?.to_string());
            }
            out.push((from.to_string(), list, to));
        }
    }
    Ok(())
}

fn strategy(s: &Settings, warnings: &mut Vec<String>) -> &'static str {
    match &s.strategy {
        None => "simple_shuffle",
        Some((name, at)) => match name.as_str() {
            "simple-shuffle" => "simple_shuffle",
            "least-busy" => "least_busy",
            "latency-based-routing" => "latency_based",
            "usage-based-routing" | "usage-based-routing-v2" => "usage_based",
            other => {
                warnings.push(at.warning(format!(
                    "routing strategy `{other}` is not simulated; using simple shuffle"
                )));
                "simple_shuffle"
            }
        },
    }
}

/// The faultline error classes behind each of LiteLLM's `retry_policy` keys.
fn policy_classes(key: &str) -> Option<&'static [&'static str]> {
    Some(match key {
        "RateLimitErrorRetries" => &["rate_limited"],
        "TimeoutErrorRetries" => &["attempt_timeout"],
        "InternalServerErrorRetries" => &[
            "server_error",
            "bad_gateway",
            "unavailable",
            "gateway_timeout",
            "overloaded",
            "connection_reset",
            "connection_refused",
        ],
        "BadRequestErrorRetries" => &["bad_request"],
        "AuthenticationErrorRetries" => &["unauthorized"],
        _ => return None,
    })
}

/// What the OpenAI and Anthropic SDKs retry: faultline's default `retry_on`.
const DEFAULT_RETRY_ON: &[&str] = &[
    "rate_limited",
    "server_error",
    "bad_gateway",
    "unavailable",
    "gateway_timeout",
    "overloaded",
    "connection_reset",
    "connection_refused",
    "attempt_timeout",
];

fn write(
    file: &str,
    groups: &BTreeMap<String, Group>,
    s: &Settings,
    warnings: &mut Vec<String>,
) -> String {
    let mut o = String::new();
    let strategy = strategy(s, warnings);
    let _ = writeln!(
        o,
        "# Imported by `faultline import litellm` from {}.\n\
         # Values marked DEFAULT are not in a LiteLLM config (latency, errors, traffic): edit\n\
         # them to match your providers and load.",
        file.replace('\n', " ")
    );
    let _ = writeln!(
        o,
        "description = {}",
        quote(&format!("LiteLLM router config {file}"))
    );
    let _ = writeln!(o, "seed = 1\nreplications = 10\nhorizon = \"1h\"\n");

    // Traffic: one tenant per model group.
    for (g, group) in groups {
        let rpm: Option<u64> = group.deployments.iter().map(|d| d.rpm).sum();
        let tpm: Option<u64> = group.deployments.iter().map(|d| d.tpm).sum();
        // Half of what the group's rpm and tpm allow (the prompts below average about 1,500
        // tokens), else one call a second.
        let by_rpm = rpm.map(|r| r as f64 * defaults::RPM_LOAD / 60.0);
        let by_tpm = tpm.map(|t| t as f64 * defaults::RPM_LOAD / 60.0 / 1500.0);
        let rate = match (by_rpm, by_tpm) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => defaults::RATE_PER_S,
        };
        let rate = rate.max(0.001);
        let _ = writeln!(o, "[[tenants]]  # DEFAULT traffic");
        let _ = writeln!(o, "name = {}", quote(&format!("{}-clients", name(g))));
        let _ = writeln!(o, "route = {}", quote(&name(g)));
        let _ = writeln!(
            o,
            "arrivals = {{ process = \"poisson\", rate = \"{}/s\" }}",
            number((rate * 1000.0).round() / 1000.0)
        );
        let _ = writeln!(
            o,
            "prompt_tokens = {{ dist = \"lognormal\", median = 1000, p99 = 8000 }}\n\
             output_tokens = {{ dist = \"lognormal\", median = 200, p99 = 1500 }}\n"
        );
    }

    // Routes: one per model group.
    for (g, group) in groups {
        let _ = writeln!(o, "[[routes]]  # model group {}", quote(&group.original));
        let _ = writeln!(o, "name = {}", quote(&name(g)));
        let _ = writeln!(o, "backend = {}", quote(&group.deployments[0].backend));
        let mut chain: Vec<&str> = Vec::new();
        let general: Vec<&String> = s
            .fallbacks
            .iter()
            .filter(|f| &f.0 == g)
            .flat_map(|f| f.1.iter())
            .collect();
        let context: Vec<&String> = s
            .context_fallbacks
            .iter()
            .filter(|f| &f.0 == g)
            .flat_map(|f| f.1.iter())
            .collect();
        for to in general.iter().chain(context.iter()) {
            for d in &groups[to.as_str()].deployments {
                if !chain.contains(&d.backend.as_str())
                    && !group.deployments.iter().any(|m| m.backend == d.backend)
                {
                    chain.push(&d.backend);
                }
            }
        }
        if !chain.is_empty() {
            let list: Vec<String> = chain.iter().map(|b| quote(b)).collect();
            let _ = writeln!(o, "fallbacks = [{}]", list.join(", "));
            if general.is_empty() {
                // Only context-window fallbacks: nothing but an overflow moves a call on.
                let _ = writeln!(
                    o,
                    "fallback = {{ on_errors = [], on_timeout = false, on_breaker_open = false, \
                     on_context_overflow = true }}"
                );
            } else if !context.is_empty() {
                let at = &s
                    .context_fallbacks
                    .iter()
                    .find(|f| &f.0 == g)
                    .expect("some")
                    .2;
                warnings.push(at.warning(format!(
                    "model group `{g}` has both fallbacks and context-window fallbacks: \
                     faultline's chain is one list, so both lead to [{}] in that order",
                    chain.join(", ")
                )));
            }
        }
        if group.deployments.len() > 1 {
            let _ = writeln!(o, "[routes.balance]");
            let _ = writeln!(o, "strategy = \"{strategy}\"");
            if strategy == "latency_based" {
                if let Some(b) = s.latency_buffer {
                    let _ = writeln!(o, "latency_buffer = {}", number(b));
                }
                if let Some(n) = s.latency_samples {
                    let _ = writeln!(o, "latency_samples = {n}");
                }
            }
            // simple_shuffle.py: `weight` if the first deployment has one, else rpm, else tpm.
            let first = &group.deployments[0];
            let weight = |d: &Deployment| -> f64 {
                if first.weight.is_some() {
                    d.weight.unwrap_or(0.0)
                } else if first.rpm.is_some() {
                    d.rpm.unwrap_or(0) as f64
                } else if first.tpm.is_some() {
                    d.tpm.unwrap_or(0) as f64
                } else {
                    1.0
                }
            };
            let _ = writeln!(o, "deployments = [");
            for d in &group.deployments {
                let mut fields = vec![
                    format!("backend = {}", quote(&d.backend)),
                    format!("weight = {}", number(weight(d))),
                ];
                if let Some(r) = d.rpm {
                    fields.push(format!("rpm = {r}"));
                }
                if let Some(t) = d.tpm {
                    fields.push(format!("tpm = {t}"));
                }
                let _ = writeln!(o, "    {{ {} }},  # {}", fields.join(", "), d.model);
            }
            let _ = writeln!(o, "]");
        }
        let _ = writeln!(o);
    }

    // Backends: one per deployment.
    let cooldown = cooldown(s, warnings);
    for group in groups.values() {
        for d in &group.deployments {
            let _ = writeln!(
                o,
                "[[backends]]  # {} in model group {}",
                d.model,
                quote(&group.original)
            );
            let _ = writeln!(o, "name = {}", quote(&d.backend));
            match d.max_parallel {
                Some(n) => {
                    let _ = writeln!(o, "concurrency = {n}  # max_parallel_requests");
                }
                None => {
                    let _ = writeln!(o, "concurrency = \"unlimited\"");
                }
            }
            let _ = writeln!(
                o,
                "ttft = {{ dist = \"lognormal\", median = {}, p99 = {} }}  # DEFAULT\n\
                 per_output_token = {{ dist = \"uniform\", low = {}, high = {} }}  # DEFAULT\n\
                 errors = {{ server_error = {} }}  # DEFAULT",
                duration(defaults::TTFT_MEDIAN_S),
                duration(defaults::TTFT_P99_S),
                duration(defaults::PER_TOKEN_LOW_S),
                duration(defaults::PER_TOKEN_HIGH_S),
                defaults::SERVER_ERROR
            );
            if let Some(w) = d.context_window {
                let _ = writeln!(o, "context_window = {w}  # model_info.max_input_tokens");
            }
            if let Some((i, out)) = d.price {
                let _ = writeln!(
                    o,
                    "price = {{ input_per_mtok = {}, output_per_mtok = {} }}",
                    number(i),
                    number(out)
                );
            }
            let mut limits = Vec::new();
            if let Some(r) = d.rpm {
                limits.push(format!("requests_per_minute = {r}"));
            }
            if let Some(t) = d.tpm {
                limits.push(format!("input_tokens_per_minute = {t}"));
            }
            if !limits.is_empty() {
                let _ = writeln!(
                    o,
                    "rate_limits = {{ {} }}  # the deployment's rpm / tpm, as the provider's quota",
                    limits.join(", ")
                );
            }
            if let Some((allowed, cool, window)) = cooldown
                && (group.deployments.len() > 1 || s.allowed_fails.is_some())
            {
                let _ = writeln!(
                    o,
                    "cooldown = {{ allowed_fails = {allowed}, cooldown = {}, window = {} }}",
                    duration(cool),
                    duration(window)
                );
            }
            let _ = writeln!(o);
        }
    }

    // Gateway: timeouts and retries.
    let timeouts: Vec<f64> = groups
        .values()
        .flat_map(|g| g.deployments.iter().filter_map(|d| d.timeout))
        .collect();
    let timeout = s
        .timeout
        .or_else(|| timeouts.iter().copied().reduce(f64::max));
    if timeouts.iter().any(|&t| Some(t) != timeout) {
        warnings.push(format!(
            "warning: {file}: deployments set different `timeout`s; faultline has one \
             attempt timeout for the gateway: {} s is used",
            number(timeout.unwrap_or(defaults::REQUEST_TIMEOUT_S))
        ));
    }
    let _ = writeln!(o, "[gateway]");
    let _ = writeln!(
        o,
        "attempt_timeout = {}",
        duration(timeout.unwrap_or(defaults::REQUEST_TIMEOUT_S))
    );
    let retries = s.num_retries.unwrap_or(0);
    let mut max_retries = retries;
    let mut retry_on: Vec<&str> = DEFAULT_RETRY_ON.to_vec();
    for (key, n, at) in &s.retry_policy {
        match policy_classes(key) {
            Some(classes) => {
                if *n == 0 {
                    retry_on.retain(|c| !classes.contains(c));
                } else {
                    for c in classes {
                        if !retry_on.contains(c) {
                            retry_on.push(c);
                        }
                    }
                    max_retries = max_retries.max(*n);
                }
                if *n != 0 && *n != retries {
                    warnings.push(at.warning(format!(
                        "faultline's retry count is one for every class: {} retries are \
                         allowed for each class retried",
                        max_retries
                    )));
                }
            }
            None => warnings.push(at.warning("no faultline error class matches; ignored")),
        }
    }
    let _ = writeln!(o, "\n[gateway.retry]");
    let _ = writeln!(o, "max_attempts = {}  # num_retries + 1", max_retries + 1);
    if max_retries > 0 {
        // LiteLLM's sleep between retries: openai's exponential backoff from 0.5 s to 8 s
        // (`_calculate_retry_after`), at least `retry_after`, or the server's Retry-After.
        let base = s.retry_after.unwrap_or(0.0).max(0.5);
        let _ = writeln!(
            o,
            "backoff = \"exponential\"\nbase = {}\ncap = {}",
            duration(base),
            duration(8.0f64.max(base))
        );
        let list: Vec<String> = retry_on.iter().map(|c| quote(c)).collect();
        let _ = writeln!(o, "retry_on = [{}]", list.join(", "));
    }
    o
}

/// `(allowed_fails, cooldown, window)` for every deployment, or none with cooldowns disabled.
fn cooldown(s: &Settings, warnings: &mut Vec<String>) -> Option<(u64, f64, f64)> {
    if s.disable_cooldowns {
        return None;
    }
    let cool = s.cooldown_time.unwrap_or(defaults::COOLDOWN_S);
    match s.allowed_fails {
        // LiteLLM's v1 rule: more than `allowed_fails` failures, counted in an entry that
        // lives `cooldown_time` after the last, cool the deployment down.
        Some(a) => Some((a, cool, cool.max(1.0))),
        None => {
            warnings.push(format!(
                "warning: router_settings: without `allowed_fails` LiteLLM cools a deployment \
                 down on a 429 or when more than half its calls in a minute fail; faultline \
                 approximates this with more than {} failures in 60 s (the v1 rule)",
                defaults::ALLOWED_FAILS
            ));
            Some((defaults::ALLOWED_FAILS, cool, 60.0))
        }
    }
}
