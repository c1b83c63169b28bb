//! The network between a tenant's clients and the gateway: a one-way delay drawn each way per
//! call (`TenantConfig::client_delay`).
//!
//! The delay belongs to the client, not to the gateway or the servers. A call is sent at the
//! client's clock: its deadline and its `call_started` run from the send, so the way out spends
//! the deadline, and the job is in the system (and its latency runs) from the first send. The
//! gateway sees the call one way out later ([`Event::ClientHop`]), and everything behind it (the
//! gateway's stages, slots, queues, service times) runs on the gateway's clock exactly as it
//! would with the client beside it. The answer reaches the client one way back after the
//! gateway is done: the next call of a chain or agent loop is sent then, and the job's end, as
//! the client sees it, is recorded then ([`Event::ClientReturn`]), while the gateway's own
//! resources (its per-tenant count of jobs in flight, a breaker permit) are freed when the
//! gateway is done. With a constant one-way delay `d`, a single-call job's latency grows by
//! exactly `2d` and the servers' timeline is only shifted by `d`.
//!
//! Both ways of a call are drawn when the call is sent (out, then back), from the tenant's own
//! stream `tenants.NAME/client_network`, so a tenant without the hop draws nothing and every
//! other stream is untouched. A world where no tenant has the hop has `None` here and pays one
//! branch per call.

use super::World;
use super::gateway::Stage;
use crate::config::{RouteId, TenantId, WorldConfig};
use crate::event::Event;
use crate::metrics::{JobEnd, Outcome};
use crate::slo::CallFacts;
use sim_core::{Key, RandomStream, Sampler, Slab, Streams, Time};

/// A job the gateway has ended whose last answer (or error) is on its way to the client.
pub(super) struct Returning {
    pub(super) tenant: TenantId,
    pub(super) route: RouteId,
    /// Everything the client will see but its latency, which runs until the answer arrives.
    pub(super) facts: CallFacts,
    pub(super) job: JobEnd,
}

/// The hops of one replication.
pub(super) struct ClientHops {
    /// Per tenant: its one-way delay and stream (`None`: no hop).
    links: Vec<Option<(Sampler, RandomStream)>>,
    /// Per job (by its slot in the request slab): the way back of its current call, drawn with
    /// the way out when the call was sent.
    back: Vec<Time>,
    /// Jobs whose end is on its way to the client.
    returning: Slab<Returning>,
}

impl ClientHops {
    /// The hops `config`'s tenants ask for; `None` when none does.
    pub(super) fn new(config: &WorldConfig, streams: &Streams) -> Option<Box<ClientHops>> {
        if config.tenants.iter().all(|t| t.client_delay.is_none()) {
            return None;
        }
        let links = config
            .tenants
            .iter()
            .map(|t| {
                t.client_delay.as_ref().map(|d| {
                    let entity = format!("tenants.{}", t.name);
                    (d.clone(), streams.stream(&entity, "client_network"))
                })
            })
            .collect();
        Some(Box::new(ClientHops {
            links,
            back: Vec::new(),
            returning: Slab::new(),
        }))
    }

    /// One way of `tenant`'s hop (`None`: the tenant has none).
    fn draw(&mut self, tenant: TenantId) -> Option<Time> {
        let (d, rng) = self.links[tenant.index()].as_mut()?;
        Some(super::to_time(d.sample(rng)))
    }

    /// The way back of `request`'s current call (0 before it was drawn).
    fn back_of(&self, request: Key) -> Time {
        self.back.get(request.index as usize).copied().unwrap_or(0)
    }

    /// The way back of `request`'s last call, forgotten: the job is over, and the next job in
    /// its slot starts from nothing.
    fn take_back(&mut self, request: Key) -> Time {
        self.back
            .get_mut(request.index as usize)
            .map_or(0, std::mem::take)
    }
}

/// When a call sent through a hop leaves the client and reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sent {
    /// The client's send: the previous call's answer arrived then (the gateway's `now` plus
    /// that answer's way back; `now` for a job's first call).
    pub(super) at: Time,
    /// The call reaches the gateway.
    pub(super) reaches_gateway: Time,
}

impl World<'_> {
    /// `request` (of `tenant`) issues a call at the gateway's `now` (its first call: the job
    /// arrived; a later one: the previous answer was accepted). With a hop, the call's ways out
    /// and back are drawn and the send and the arrival at the gateway returned; `None` without.
    pub(super) fn client_send(
        &mut self,
        now: Time,
        request: Key,
        tenant: TenantId,
        first: bool,
    ) -> Option<Sent> {
        let hops = self.client_hops.as_mut()?;
        let out = hops.draw(tenant)?;
        let back = hops.draw(tenant).expect("drawn from the same link");
        let i = request.index as usize;
        if hops.back.len() <= i {
            hops.back.resize(i + 1, 0);
        }
        let previous = if first { 0 } else { hops.back[i] };
        hops.back[i] = back;
        let at = now.saturating_add(previous);
        Some(Sent {
            at,
            reaches_gateway: at.saturating_add(out),
        })
    }

    /// How much later than the gateway the client sees what the gateway sends `request` now:
    /// its current call's way back (0 without a hop).
    pub(super) fn client_lag(&self, request: Key, tenant: TenantId) -> Time {
        match &self.client_hops {
            Some(h) if h.links[tenant.index()].is_some() => h.back_of(request),
            _ => 0,
        }
    }

    /// A call reached the gateway after its way out: it passes the gateway's stages as any
    /// call does; one that finds no room at its first attempt is blocked (a job's first call)
    /// or shed (a later one), as without a hop.
    pub(super) fn on_client_hop(&mut self, now: Time, request: Key) {
        let Some(r) = self.requests.get(request) else {
            return;
        };
        let first = r.step == 0 && r.turn == 0;
        let from = if first && !self.limits.is_empty() {
            Stage::Limits
        } else {
            Stage::Cache
        };
        if self.pass_gateway(now, request, from) {
            return;
        }
        if first {
            if let Some(rec) = &mut self.recorder {
                rec.job_ended(now, request, None, 0, 0.0);
            }
            let r = self.requests.remove(request).expect("live request");
            if let Some(h) = &mut self.client_hops {
                h.take_back(request);
            }
            self.limits.in_flight[r.tenant] -= 1;
            self.stats.blocked_on_arrival(now, r.tenant.index());
        } else {
            self.complete(now, request, Outcome::Shed);
        }
    }

    /// The gateway ended `request`'s job at `now`: with a hop, the client sees the end one way
    /// back later, so `end` is kept until then and `None` returned; else `end` is given back for
    /// recording now. (A job turned away before its first call was sent, by the tenant's
    /// budget or the input guardrail, is refused at the client's side: seen at once.)
    pub(super) fn client_return(
        &mut self,
        now: Time,
        request: Key,
        end: Returning,
    ) -> Option<Returning> {
        let Some(hops) = self.client_hops.as_mut() else {
            return Some(end);
        };
        if hops.links[end.tenant.index()].is_none() {
            return Some(end);
        }
        let back = hops.take_back(request);
        let key = hops.returning.insert(end);
        self.sched
            .schedule(now.saturating_add(back), Event::client_return(key));
        None
    }

    /// A job's end reached its client.
    pub(super) fn on_client_return(&mut self, now: Time, key: Key) {
        let Some(end) = self
            .client_hops
            .as_mut()
            .and_then(|h| h.returning.remove(key))
        else {
            return;
        };
        self.job_seen_ended(now, end);
    }
}

#[cfg(test)]
#[path = "client_hop_tests.rs"]
mod tests;
