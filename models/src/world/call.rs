//! The data a job carries: the job itself (`Request`: its tenant, chain step, agent-loop turn,
//! tokens, deadline and outcome so far) and each attempt of its current call. Kept apart from
//! the code that moves jobs (`job`) and calls (`gateway`), which both read and write them.

use super::idempotency::Orphan;
use super::maybe::Maybe;
use crate::config::{BackendId, RouteId, TenantId};
use crate::workload::{TokenSource, token_count};
use policies::{Deadline, ErrorClass, Permit};
use sim_core::{Key, RandomStream, Time};

/// `Request::poisoned` when every answer so far was good.
pub(super) const CLEAN: u16 = u16::MAX;

/// `Request::poisoned` when an undetected prompt injection got in.
pub(super) const INPUT_HOP: u16 = u16::MAX - 1;

/// A job, and the call it is making now.
pub(super) struct Request {
    pub(super) tenant: TenantId,
    pub(super) route: RouteId,
    pub(super) backend: BackendId,
    /// The chain step, and the agent-loop turn, of the current call.
    pub(super) step: u16,
    pub(super) turn: u32,
    /// Turns the task needs (1 without an agent loop).
    pub(super) turns: u32,
    pub(super) arrived: Time,
    /// When the current call was issued.
    pub(super) call_started: Time,
    /// Attempts of the current call (what the retry rules count), and of the whole job.
    pub(super) attempts: u32,
    pub(super) job_attempts: u32,
    /// Tokens of the job's answered calls so far (prompt plus output).
    pub(super) tokens_used: u64,
    /// The first hop whose bad answer got through: [`CLEAN`], [`INPUT_HOP`] or a hop index.
    pub(super) poisoned: u16,
    /// The answer under validation: its soft-failure category + 1 (0: good) and the verdict.
    pub(super) pending_soft: u8,
    pub(super) pending_detected: bool,
    pub(super) validate_at: Time,
    /// When the job's first answer began to stream (its time to first token).
    pub(super) first_token: Maybe,
    /// Spend on the job's attempts so far, in USD.
    pub(super) cost: f64,
    /// Position in the route's fallback chain: 0 is the primary backend.
    pub(super) depth: u8,
    /// The call's deadline (unbounded unless the gateway sets one).
    pub(super) deadline: Deadline,
    /// The breaker permit of the answer under validation: the breaker hears how it went.
    pub(super) permit: Option<Permit>,
    /// Some call of the job was answered by a fallback (or a default response).
    pub(super) degraded: bool,
    /// The current call moved down its chain after a failure, not only because a backend was
    /// at capacity (a 529): an answer it gets is `degraded`, not planned overflow.
    pub(super) failed_over: bool,
    /// Some call of the job was answered by a fallback backend the primary's capacity sent it
    /// to (planned overflow).
    pub(super) overflowed: bool,
    /// The call's latest attempt was turned away because its backend was full (the 529 a
    /// backend that sheds at capacity answers), not refused by the provider.
    pub(super) at_capacity: bool,
    /// Held by a gateway rate limit that delays rather than rejects.
    pub(super) gate_hold: bool,
    /// The call's deadline refused a retry.
    pub(super) deadline_hit: bool,
    /// Which call of the job this is (attempts of an earlier one are losers), how many of its
    /// attempts are out, how many hedges it sent, and when the next hedge is due.
    pub(super) call_seq: u32,
    pub(super) in_flight: u8,
    pub(super) extra_sent: u8,
    pub(super) hedge_at: Time,
    /// The place in the event order of a hedge timer due at `hedge_at` that is not in the heap
    /// (reserved, or left out because the call's attempt ends first; see `arm_hedge`).
    pub(super) dormant_hedge: Maybe,
    /// The prompt the job asks for (exact caches), and whether this call was answered from a
    /// cache.
    pub(super) cache_key: u64,
    pub(super) from_cache: bool,
    /// This call was answered by a stale cache entry (a last resort), and every call of the
    /// job so far by a fresh cache hit.
    pub(super) stale: bool,
    pub(super) all_cached: bool,
    pub(super) last_delay: Time,
    pub(super) retry_at: Time,
    pub(super) prompt_tokens: u32,
    pub(super) output_tokens: u32,
    /// What the call asks for: its `max_tokens`, or its output tokens.
    pub(super) max_tokens: u32,
    /// The call's latest attempt its client timed out on (idempotency studies only).
    pub(super) orphan: Option<Orphan>,
    /// When the client saw the call's first token, from a broken stream the call resumes.
    pub(super) streamed: Maybe,
    /// Retry-quota tokens the call's last retry took (0: none), given back if it answers.
    pub(super) quota_cost: u32,
    /// Holds a token reserved from its tenant's client rate limiter, waiting for it to fill in.
    pub(super) client_token: bool,
    /// The workflow activity attempt this job is, if any (`workflow`).
    pub(super) workflow: super::workflow::WorkflowLink,
}

impl Request {
    /// A job of `tenant` arriving at `now`, needing `turns` turns and asking for prompt
    /// `cache_key`; its first call is set up by `start_call`.
    pub(super) fn new(now: Time, tenant: TenantId, turns: u32, cache_key: u64) -> Request {
        Request {
            tenant,
            route: RouteId(0),
            backend: BackendId(0),
            step: 0,
            turn: 0,
            turns,
            arrived: now,
            call_started: now,
            attempts: 0,
            job_attempts: 0,
            tokens_used: 0,
            poisoned: CLEAN,
            pending_soft: 0,
            pending_detected: false,
            validate_at: 0,
            first_token: Maybe::NONE,
            cost: 0.0,
            depth: 0,
            deadline: Deadline::unbounded(),
            permit: None,
            degraded: false,
            failed_over: false,
            overflowed: false,
            at_capacity: false,
            gate_hold: false,
            deadline_hit: false,
            call_seq: 0,
            in_flight: 0,
            extra_sent: 0,
            hedge_at: 0,
            dormant_hedge: Maybe::NONE,
            cache_key,
            from_cache: false,
            stale: false,
            all_cached: true,
            last_delay: 0,
            retry_at: 0,
            prompt_tokens: 0,
            output_tokens: 0,
            max_tokens: 0,
            orphan: None,
            streamed: Maybe::NONE,
            quota_cost: 0,
            client_token: false,
            workflow: super::workflow::WorkflowLink::NONE,
        }
    }
}

pub(super) struct Attempt {
    pub(super) request: Key,
    pub(super) backend: BackendId,
    /// Copied from the request: an abandoned attempt is billed after its request may be gone.
    pub(super) tenant: TenantId,
    pub(super) route: RouteId,
    pub(super) prompt_tokens: u32,
    pub(super) output_tokens: u32,
    pub(super) enqueued: Time,
    /// When service started and how long until its first token (0 without a token model).
    pub(super) started: Time,
    pub(super) ttft: Time,
    pub(super) done_at: Time,
    pub(super) timeout_at: Time,
    /// The caller stopped waiting (timeout); the backend still works until `done_at`.
    pub(super) abandoned: bool,
    /// Set when the attempt was doomed at its start (error mix, outage, provider limit), with
    /// the `Retry-After` its answer carries.
    pub(super) error: Option<(ErrorClass, Maybe)>,
    /// Output tokens taken from the provider's output bucket up front, reconciled at the end.
    pub(super) reserved_output: u32,
    /// Leave from the backend's breaker; handed back with the attempt's result.
    pub(super) permit: Option<Permit>,
    /// Waiting in the backend's queue (and until when, with a queue timeout).
    pub(super) queued: bool,
    pub(super) queued_until: Time,
    /// An instant `overloaded` answer that never held a backend slot (or one whose slot freed
    /// when its server finished, while its answer travels back: `network`).
    pub(super) slotless: bool,
    /// The call it belongs to ([`Request::call_seq`]), and whether it is a hedge.
    pub(super) call_seq: u32,
    pub(super) hedge: bool,
    /// Its timeout is the route's `latency_over`: reaching it falls back rather than retries.
    pub(super) too_slow: bool,
    /// A resend, without idempotency keys, of an attempt the provider worked on anyway.
    pub(super) duplicate: bool,
    /// A stored result the provider replays for an idempotency key: no work, no bill.
    pub(super) replay: bool,
    /// The GPU replica serving it, or [`NO_REPLICA`].
    pub(super) replica: u16,
    /// The round trip its answer takes after the server's end (a backend's network delay).
    pub(super) net: Time,
    /// Tokens streamed before its stream broke (0: it did not).
    pub(super) cut: u32,
    /// It holds memory on a backend with a memory limit. How much follows from its tokens
    /// (`Attempt::held_memory`), so it is not stored: an attempt is moved whole, and 128
    /// bytes is the size the compiler still moves without a `memcpy` call.
    pub(super) holds_memory: bool,
    /// Attempts out under the backend's adaptive concurrency limit when this one was sent, it
    /// included (0: not under a limit).
    pub(super) limit_in_flight: u32,
}

impl Attempt {
    /// The tokens by which it holds memory on its backend (`None`: it holds none).
    pub(super) fn held_memory(&self) -> Option<(u32, u32)> {
        self.holds_memory
            .then_some((self.prompt_tokens, self.output_tokens))
    }
}

/// `Attempt::replica` of an attempt not on a GPU replica.
pub(super) const NO_REPLICA: u16 = u16::MAX;

impl Attempt {
    /// A fresh attempt of `request`'s current call on its current backend, sent at `now`.
    pub(super) fn of(
        key: Key,
        r: &Request,
        now: Time,
        permit: Option<Permit>,
        queued: bool,
    ) -> Attempt {
        Attempt {
            request: key,
            backend: r.backend,
            tenant: r.tenant,
            route: r.route,
            prompt_tokens: r.prompt_tokens,
            output_tokens: r.output_tokens,
            enqueued: now,
            started: 0,
            ttft: 0,
            done_at: 0,
            timeout_at: 0,
            abandoned: false,
            error: None,
            reserved_output: r.max_tokens,
            permit,
            queued,
            queued_until: 0,
            slotless: false,
            call_seq: r.call_seq,
            hedge: false,
            too_slow: false,
            duplicate: false,
            replay: false,
            replica: NO_REPLICA,
            net: 0,
            cut: 0,
            holds_memory: false,
            limit_in_flight: 0,
        }
    }
}

/// A call's token count: drawn, or the replayed trace's; no source means the call carries no
/// tokens.
#[inline]
pub(super) fn draw_tokens(
    source: Option<&TokenSource>,
    recorded: Option<u32>,
    rng: &mut RandomStream,
) -> u32 {
    match source {
        None => 0,
        Some(TokenSource::Sampled(s)) => token_count(s.sample(rng)),
        Some(TokenSource::FromTrace) => recorded.unwrap_or(1),
    }
}
