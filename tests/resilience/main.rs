//! The resilience policies through the gateway, run the way a user runs them: fallback chains,
//! circuit breakers, cooldowns, retry budgets, deadlines, gateway rate limits, admission control
//! and fair scheduling. The policies' own state machines are unit- and property-tested in
//! `policies`; these tests check that the gateway wires them in the documented order, with
//! deterministic traces where the expected counts can be worked out by hand, and 99% intervals at
//! fixed seeds otherwise.
//!
//! One module per policy; the helpers they share are in `tests/common/resilience.rs`.

#[path = "../common/mod.rs"]
mod common;

mod admission;
mod breaker;
mod deadline;
mod determinism;
mod examples;
mod fallback;
mod hedge;
mod idempotency;
mod overload;
mod rate_limit;
mod retry_budget;
