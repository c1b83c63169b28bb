//! Resends of timed-out attempts, with and without idempotency keys.
//!
//! A client that times out re-sends, but the provider never hears that it gave up: it finishes
//! the first attempt anyway. Without idempotency keys the resend is new work, served and billed
//! again: a *duplicate*. With keys (Stripe's `Idempotency-Key`, one per call, the same on every
//! attempt) the provider recognises the resend: while the first attempt still runs, the resend
//! attaches to it and gets its answer when it finishes; once it has finished, the resend gets the
//! stored result after a round trip (errors included, as Stripe stores them). Either way no new
//! work and no new bill: the duplicate is *absorbed*.
//!
//! Only the call's latest timed-out attempt is remembered (an attached attempt that times out
//! again is that attempt once more), and only for the call and backend it belongs to: after a
//! fallback the key would reach another provider, which has never seen it. Hedges are deliberate
//! duplicates and are sent as they are.

use super::maybe::Maybe;
use super::{Attempt, ROUND_TRIP, World};
use crate::config::BackendId;
use crate::event::Event;
use policies::{ErrorClass, Permit};
use sim_core::{Key, Time};

/// A call's latest attempt that its client timed out on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Orphan {
    attempt: Key,
    call_seq: u32,
    backend: BackendId,
    /// `None` while the provider works on it; then what it produced: an answer (`None` inside)
    /// or the error it ended with.
    finished: Option<Option<ErrorClass>>,
}

/// What becomes of an attempt about to be sent.
pub(super) enum Resend {
    /// Not a resend of a timed-out attempt the provider worked on: sent as usual.
    Fresh,
    /// A duplicate without keys: sent as usual, and its work and cost counted as duplicate.
    Duplicate,
    /// A duplicate the provider absorbed: nothing more to send.
    Absorbed,
}

impl World<'_> {
    /// The client timed out attempt `attempt` of `request`'s call `call_seq` at `backend`.
    pub(super) fn orphaned(
        &mut self,
        request: Key,
        attempt: Key,
        call_seq: u32,
        backend: BackendId,
    ) {
        if self.config.gateway.idempotency.is_none() {
            return;
        }
        if let Some(r) = self.requests.get_mut(request) {
            r.orphan = Some(Orphan {
                attempt,
                call_seq,
                backend,
                finished: None,
            });
        }
    }

    /// The provider finished an attempt its client had abandoned. `result`: what it produced
    /// (see [`Orphan::finished`]), or `None` for an error decided when it started (an outage, a
    /// provider limit, the error mix), which did no work worth keeping.
    pub(super) fn orphan_finished(
        &mut self,
        request: Key,
        attempt: Key,
        result: Option<Option<ErrorClass>>,
    ) {
        let Some(r) = self.requests.get_mut(request) else {
            return;
        };
        if r.orphan.is_some_and(|o| o.attempt == attempt) {
            match result {
                Some(res) => {
                    if let Some(o) = &mut r.orphan {
                        o.finished = Some(res);
                    }
                }
                None => r.orphan = None,
            }
        }
    }

    /// `request` is about to send an attempt (its breaker `permit` in hand): a duplicate when
    /// the provider has worked on an earlier attempt of the same call at the same backend that
    /// the client timed out on. With keys the duplicate is absorbed here: attached to the
    /// running attempt, or answered with its stored result; the permit goes with it.
    pub(super) fn resend(&mut self, now: Time, request: Key, permit: Option<Permit>) -> Resend {
        let Some(keys) = self.config.gateway.idempotency else {
            return Resend::Fresh;
        };
        let r = self.requests.get_mut(request).expect("live request");
        let Some(o) = r.orphan.take() else {
            return Resend::Fresh;
        };
        if o.call_seq != r.call_seq || o.backend != r.backend {
            return Resend::Fresh;
        }
        let running = o.finished.is_none()
            && self
                .attempts
                .get(o.attempt)
                .is_some_and(|a| a.request == request && a.abandoned);
        if !running && o.finished.is_none() {
            return Resend::Fresh;
        }
        self.stats.resilience.duplicate_resend(keys);
        if !keys {
            return Resend::Duplicate;
        }
        r.attempts += 1;
        r.job_attempts += 1;
        r.in_flight += 1;
        if running {
            // Attach: the caller waits for the running attempt, under a fresh timeout.
            let (timeout, too_slow) = self.timeout_rule(request, now);
            let a = self
                .attempts
                .get_mut(o.attempt)
                .expect("a running original attempt is live (checked above)");
            a.abandoned = false;
            a.permit = permit;
            a.too_slow = too_slow;
            a.timeout_at = 0;
            if let Some(t) = timeout
                && now.saturating_add(t) < a.done_at
            {
                a.timeout_at = now + t;
                let at = a.timeout_at;
                self.sched.schedule(at, Event::attempt_timeout(o.attempt));
            }
        } else {
            // Replay the stored result after a round trip: no slot, no work, no bill.
            let result = o
                .finished
                .expect("an original that is not running has finished (checked above)");
            let attempt = self.attempts.insert(Attempt {
                started: now,
                done_at: now + ROUND_TRIP,
                error: result.map(|class| (class, Maybe::NONE)),
                reserved_output: 0,
                slotless: true,
                replay: true,
                ..Attempt::of(request, r, now, permit, false)
            });
            if let Some(rec) = &mut self.recorder {
                let kind = crate::record::Kind::Replay;
                rec.attempt_sent(now, attempt, request, r.backend.0, kind, false);
            }
            self.sched
                .schedule(now + ROUND_TRIP, Event::service_done(attempt));
        }
        Resend::Absorbed
    }
}
