//! The world's side of load balancing (`policies::load_balance`): which of a route's
//! deployments takes a call's first place, and what the balancer learns from each attempt.
//! A route without `balance` is untouched.

use super::World;
use crate::config::{BackendId, RouteId};
use policies::{BreakerState, LoadBalancer};
use sim_core::{Key, RandomStream, Streams, Time};

/// A route's balancer and the stream its random picks draw from.
pub(super) struct Balance {
    lb: LoadBalancer,
    rng: RandomStream,
}

impl Balance {
    pub(super) fn new(
        cfg: &crate::config::BalanceConfig,
        streams: &Streams,
        entity: &str,
    ) -> Balance {
        Balance {
            lb: cfg.balancer.clone(),
            rng: streams.stream(entity, "balance"),
        }
    }
}

impl World<'_> {
    /// Points a call at its first place in the chain on a balanced route: the member the
    /// strategy picks among those not cooling down and whose breaker is not open (none: the
    /// route's own backend, whose gate then sends the call down the chain).
    pub(super) fn rebalance(&mut self, now: Time, request: Key) {
        let Some(r) = self.requests.get(request) else {
            return;
        };
        let route = r.route;
        let (Some(cfg), Some(b)) = (
            &self.config.routes[route].balance,
            &mut self.routes[route].balance,
        ) else {
            return;
        };
        if r.depth != 0 {
            return;
        }
        let tokens = r.prompt_tokens as u64;
        let mut open = 0u64;
        for (i, id) in cfg.members.iter().enumerate() {
            let backend = &mut self.backends[*id];
            let cooling = backend
                .cooldown
                .as_ref()
                .is_some_and(|c| !c.is_available(now));
            let tripped = backend
                .breaker
                .as_mut()
                .is_some_and(|br| matches!(br.state(now), BreakerState::Open { .. }));
            if !cooling && !tripped {
                open |= 1 << i;
            }
        }
        let backends = &self.backends;
        let in_flight = |i: usize| {
            let b = &backends[cfg.members[i]];
            b.busy.saturating_add(b.queue.len() as u32)
        };
        let pick =
            b.lb.pick(now, tokens, |i| open >> i & 1 == 1, in_flight, &mut b.rng);
        let backend = match pick {
            Some(i) => cfg.members[i],
            None => self.config.routes[route].backend,
        };
        if let Some(r) = self.requests.get_mut(request) {
            r.backend = backend;
        }
    }

    /// An attempt on `route` at `backend` answered after `latency`.
    pub(super) fn balance_answered(
        &mut self,
        now: Time,
        route: RouteId,
        backend: BackendId,
        latency: Time,
        tokens: (u32, u32),
    ) {
        if !self.balanced {
            return;
        }
        if let Some(i) = self.member(route, backend) {
            let b = self.routes[route]
                .balance
                .as_mut()
                .expect("a route with balance config has a balancer");
            let total = tokens.0 as u64 + tokens.1 as u64;
            b.lb.answered(now, i, latency, tokens.1, total);
        }
    }

    /// An attempt on `route` at `backend` timed out.
    pub(super) fn balance_timed_out(&mut self, route: RouteId, backend: BackendId) {
        if !self.balanced {
            return;
        }
        if let Some(i) = self.member(route, backend) {
            let b = self.routes[route]
                .balance
                .as_mut()
                .expect("a route with balance config has a balancer");
            b.lb.timed_out(i);
        }
    }

    fn member(&self, route: RouteId, backend: BackendId) -> Option<usize> {
        let cfg = self.config.routes[route].balance.as_ref()?;
        cfg.members.iter().position(|&m| m == backend)
    }
}
