//! The world's side of a backend's transport and process: the network between the gateway and
//! the backend (`crate::network`), streams that break after their first token
//! (`crate::streaming`) and the memory limit of the serving process (`crate::memory`; the kill
//! itself is `super::memory`).
//!
//! `Transport::connect_refused` comes first when an attempt starts: a refused connection (or a
//! process restarting after a kill) sends nothing. [`Transport::carry`] then settles, once the
//! provider has drawn the attempt's latency, whether the stream breaks or the connection resets
//! (the earlier wins), the memory the call holds, and its round trip. An attempt with a round
//! trip has two ends: `ServerDone` when the server is done (its slot and memory free) and
//! `ServiceDone` when the answer is back at the gateway, one round trip later.

use super::call::Attempt;
use super::maybe::Maybe;
use super::{Backend, ROUND_TRIP, World};
use crate::config::{BackendConfig, WorldConfig};
use crate::memory::{Admit, Memory};
use crate::network::Link;
use crate::streaming::{StreamFailures, StreamRetry, cut_time};
use policies::ErrorClass;
use sim_core::summary::MetricSet;
use sim_core::{Key, Streams, Time};

/// What happened on a backend's transport after the warm-up.
#[derive(Debug, Default)]
pub(super) struct Counts {
    refused: u64,
    resets: u64,
    round_trips: u64,
    round_trip_ns: f64,
    broken: u64,
    broken_tokens: u64,
    pub(super) kills: u64,
    pub(super) killed: u64,
}

/// A backend's link, stream failures and memory, with what they did.
pub(super) struct Transport {
    link: Option<Link>,
    stream: Option<StreamFailures>,
    pub(super) memory: Option<Memory>,
    pub(super) counts: Counts,
}

impl Transport {
    /// The backend's transport, `None` when it configures none of its parts (every other
    /// backend pays one branch per attempt).
    pub(super) fn new(
        b: &BackendConfig,
        streams: &Streams,
        entity: &str,
    ) -> Option<Box<Transport>> {
        let link = b
            .link
            .as_ref()
            .filter(|l| l.is_active())
            .map(|l| Link::new(l, streams, entity));
        let stream = b
            .stream_failures
            .as_ref()
            .map(|s| StreamFailures::new(s, streams, entity));
        let memory = b.memory.as_ref().map(Memory::new);
        if link.is_none() && stream.is_none() && memory.is_none() {
            return None;
        }
        Some(Box::new(Transport {
            link,
            stream,
            memory,
            counts: Counts::default(),
        }))
    }

    /// An attempt starting at `now` has been given its latency (`a.ttft`, and `service` from
    /// its start to its server's end). Its stream may break or its connection reset (the
    /// earlier wins; both shorten the server's work), an answer holds memory (`killed`: it did
    /// not fit and the process dies), and its answer takes the round trip back. Returns the
    /// server's time, the round trip, and whether the process was killed.
    pub(super) fn carry(
        &mut self,
        now: Time,
        a: &mut Attempt,
        service: Time,
        refused: bool,
        warmup: Time,
    ) -> (Time, Time, bool) {
        let counted = now >= warmup;
        let mut service = service;
        let mut killed = false;
        if a.error.is_none() {
            let cut = self.stream.as_mut().and_then(|s| s.cut(a.output_tokens));
            let cut_at = cut.map(|k| (k, cut_time(a.ttft, service, a.output_tokens, k)));
            let reset = self.link.as_mut().and_then(|l| l.reset_after(service));
            match (cut_at, reset) {
                (Some((k, at)), r) if r.is_none_or(|r| at <= r) => {
                    a.cut = k;
                    a.error = Some((ErrorClass::StreamInterrupted, Maybe::NONE));
                    service = at;
                }
                (_, Some(at)) => {
                    a.error = Some((ErrorClass::ConnectionReset, Maybe::NONE));
                    service = at;
                    self.counts.resets += counted as u64;
                }
                _ => {}
            }
            if let Some(m) = &mut self.memory {
                let cost = m.config.cost(a.prompt_tokens, a.output_tokens);
                a.holds_memory = cost > 0;
                killed = m.admit(now, cost) == Admit::Killed;
            }
        }
        let mut net = self.link.as_mut().map_or(0, |l| l.round_trip());
        if counted && net > 0 {
            self.counts.round_trips += 1;
            self.counts.round_trip_ns += net as f64;
        }
        if refused {
            // A refusal is one round trip (the connection's SYN and RST), never instant.
            net = net.max(ROUND_TRIP);
            self.counts.refused += counted as u64;
        }
        a.ttft = a.ttft.saturating_add(net);
        a.net = net;
        (service, net, killed)
    }

    /// Whether an attempt starting at `now` finds no connection: the process is restarting
    /// after a kill, or the link refuses it (one draw, only with a refusal rate).
    pub(super) fn connect_refused(&mut self, now: Time) -> bool {
        self.memory.as_ref().is_some_and(|m| m.is_down(now))
            || self.link.as_mut().is_some_and(|l| l.refused())
    }

    /// A call that held memory for its `(prompt, output)` tokens leaves the server.
    pub(super) fn release(&mut self, held: Option<(u32, u32)>) {
        if let (Some(m), Some((prompt, output))) = (&mut self.memory, held) {
            m.release(m.config.cost(prompt, output));
        }
    }
}

impl World<'_> {
    /// The server finished an attempt whose answer is still on its way back: the slot and the
    /// memory free now; the answer arrives at its `ServiceDone`.
    pub(super) fn on_server_done(&mut self, now: Time, attempt: Key) {
        let Some(a) = self.attempts.get_mut(attempt) else {
            return;
        };
        if a.slotless || a.done_at.saturating_sub(a.net) != now {
            return; // stale: killed, or already freed
        }
        a.slotless = true;
        let (backend, memory) = (a.backend, a.held_memory());
        a.holds_memory = false;
        self.free_slot(now, backend, attempt, memory);
    }

    /// An attempt ended in an error: if its stream broke after `a.cut` tokens, the provider
    /// bills the prompt and those tokens, and under `resume` the call's next attempt asks only
    /// for the rest (the streamed tokens join its prompt; the client saw its first token now).
    /// Returns the output tokens produced.
    pub(super) fn stream_broken(&mut self, now: Time, a: &Attempt) -> u32 {
        let k = a.cut;
        if k == 0 {
            return 0;
        }
        let backend = a.backend;
        let b = &mut self.backends[backend];
        let cached = self.config.routes[a.route].cached_prompt_share;
        let cost = b.provider.bill(a.prompt_tokens, k, cached);
        let mut resume = false;
        if let Some(t) = &mut b.provider.transport {
            if now >= self.config.warmup {
                t.counts.broken += 1;
                t.counts.broken_tokens += k as u64;
            }
            resume = t
                .stream
                .as_ref()
                .is_some_and(|s| s.config.retry == StreamRetry::Resume);
        }
        if let Some(r) = self.requests.get_mut(a.request) {
            r.cost += cost;
            // Only the call's own attempt, while the caller still waits, resumes it.
            if resume
                && !a.abandoned
                && r.call_seq == a.call_seq
                && r.output_tokens == a.output_tokens
                && r.prompt_tokens == a.prompt_tokens
            {
                r.streamed.get_or_insert(a.started + a.ttft);
                r.prompt_tokens = r.prompt_tokens.saturating_add(k);
                r.output_tokens -= k;
                r.max_tokens = r.max_tokens.saturating_sub(k).max(1);
            }
        }
        let (tenant, route) = (a.tenant.index(), a.route.index());
        self.stats
            .billed(backend.index(), tenant, route, a.prompt_tokens, k, cost);
        self.stats.series.billed_at(now, cost);
        if let Some(g) = &mut self.cost_guard {
            g.billed(now, cost);
        }
        k
    }
}

/// Each backend's transport metrics, for the parts it configures.
pub(super) fn push_metrics(backends: &[Backend], config: &WorldConfig, m: &mut MetricSet) {
    for (b, cfg) in backends.iter().zip(&config.backends) {
        let Some(t) = &b.provider.transport else {
            continue;
        };
        let c = &t.counts;
        let name = |what: &str| format!("backend.{}.{what}", cfg.name);
        if let Some(l) = &cfg.link {
            if l.delay.is_some() {
                let mean = if c.round_trips == 0 {
                    f64::NAN
                } else {
                    c.round_trip_ns / c.round_trips as f64 / 1e9
                };
                m.push(name("round_trip_mean_s"), mean);
            }
            if l.reset > 0.0 {
                m.push(name("connections_reset"), c.resets as f64);
            }
        }
        if cfg.can_fail_with(ErrorClass::ConnectionRefused) {
            m.push(name("connections_refused"), c.refused as f64);
        }
        if cfg.stream_failures.is_some() {
            m.push(name("streams_broken"), c.broken as f64);
            m.push(name("broken_stream_tokens"), c.broken_tokens as f64);
        }
        if let Some(mem) = &t.memory {
            m.push(name("oom_kills"), c.kills as f64);
            m.push(name("oom_killed_calls"), c.killed as f64);
            m.push(name("memory_peak_ratio"), mem.peak_share());
        }
    }
}
