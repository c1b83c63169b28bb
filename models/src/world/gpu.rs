//! The world's side of self-hosted GPU pools: a replica's batch steps, letting waiting calls
//! in, crashes and repairs, and autoscaling. The pools' own state and rules live in
//! [`crate::gpu`].

use super::call::NO_REPLICA;
use super::maybe::Maybe;
use super::{Server, World, to_time};
use crate::config::BackendId;
use crate::event::Event;
use crate::gpu::pool::OnCrash;
use policies::ErrorClass;
use sim_core::Time;

impl World<'_> {
    /// After anything happened to GPU replica `i` of `backend` (whose generation was `before`;
    /// `None` when unknown): the pool's statistics catch up, and the replica's next change is
    /// scheduled if it moved. A duplicate of a pending event is dropped as stale when popped.
    pub(super) fn replica_changed(
        &mut self,
        now: Time,
        backend: BackendId,
        i: usize,
        before: Option<u32>,
    ) {
        let Some(pool) = self.backends[backend].pool_mut() else {
            return;
        };
        pool.touch(now, i);
        if let Some(rec) = &mut self.recorder {
            rec.replica(now, backend.index(), i, pool);
        }
        let r = &pool.replicas[i];
        if before != Some(r.generation())
            && let Some(at) = r.next_change()
        {
            self.sched.schedule(
                at,
                Event::GpuStep {
                    backend: backend.0,
                    replica: i as u16,
                    generation: r.generation() as u16,
                },
            );
        }
    }

    /// A replica's segment (or cold start) ended: finished calls are answered, waiting calls
    /// may enter.
    pub(super) fn on_gpu_step(&mut self, now: Time, backend: BackendId, i: usize, generation: u16) {
        let Some(pool) = self.backends[backend].pool_mut() else {
            return;
        };
        let r = &pool.replicas[i];
        if r.generation() as u16 != generation || r.next_change() != Some(now) {
            return; // stale: the replica changed since this was scheduled
        }
        let before = r.generation();
        let mut done = std::mem::take(&mut pool.completions);
        done.clear();
        pool.replicas[i].advance(now, |c| done.push(c));
        let came_up = pool.came_up(now, i);
        self.replica_changed(now, backend, i, Some(before));
        if came_up {
            self.schedule_crash(now, backend, i);
        }
        for c in done.drain(..) {
            let Some(attempt) = self.attempts.key_at(c.id) else {
                continue;
            };
            let Some(a) = self.attempts.get_mut(attempt) else {
                continue;
            };
            let b = &mut self.backends[backend];
            let Server::Pool(pool) = &mut b.server else {
                continue;
            };
            pool.record(&c);
            pool.release(now, i, a.prompt_tokens, a.output_tokens);
            a.ttft = c.first_token.saturating_sub(a.started);
            a.done_at = now;
            a.replica = NO_REPLICA;
            b.service_total += now.saturating_sub(a.started) as f64;
            b.services += 1;
            self.on_service_done(now, attempt);
        }
        if let Some(pool) = self.backends[backend].pool_mut() {
            pool.completions = done;
        }
        self.pump_pool(now, backend);
    }

    /// Lets calls waiting at the gateway onto the pool's replicas, in queue order, while they
    /// fit.
    pub(super) fn pump_pool(&mut self, now: Time, backend: BackendId) {
        loop {
            let b = &mut self.backends[backend];
            let Server::Pool(pool) = &mut b.server else {
                return;
            };
            let Some(next) = pool.held.take().or_else(|| b.queue.pop(now)) else {
                self.shed_dropped(now, backend);
                return;
            };
            let Some(a) = self.attempts.get(next) else {
                continue;
            };
            if a.abandoned {
                self.attempts.remove(next);
                continue;
            }
            if !pool.fits(a.prompt_tokens, a.output_tokens) {
                pool.held = Some(next);
                self.shed_dropped(now, backend);
                return;
            }
            self.start_service(now, next, true);
        }
    }

    /// Draws when replica `i`, serving from `now`, next crashes (if the pool has crashes).
    pub(super) fn schedule_crash(&mut self, now: Time, backend: BackendId, i: usize) {
        let Some(crashes) = self.config.backends[backend]
            .pool
            .as_ref()
            .and_then(|p| p.crashes.as_ref())
        else {
            return;
        };
        let Some(pool) = self.backends[backend].pool_mut() else {
            return;
        };
        let up = to_time(crashes.mtbf.sample(&mut pool.crash_rng));
        let at = now.saturating_add(up.max(1));
        if at <= self.config.horizon {
            let epoch = pool.epoch[i];
            self.sched.schedule(
                at,
                Event::ReplicaFault {
                    backend: backend.0,
                    replica: i as u16,
                    epoch,
                },
            );
        }
    }

    /// Replica `i` crashes now: its calls fail or go back to the gateway queue, and it is
    /// repaired after a draw of the time to repair.
    pub(super) fn crash_replica(&mut self, now: Time, backend: BackendId, i: usize) {
        let cfg = &self.config.backends[backend];
        let Some(pool) = self.backends[backend].pool_mut() else {
            return;
        };
        let before = pool.replicas[i].generation();
        pool.crash(now, i);
        let repair = match cfg.pool.as_ref().and_then(|p| p.crashes.as_ref()) {
            Some(c) => to_time(c.mttr.sample(&mut pool.crash_rng)),
            None => 0,
        };
        let epoch = pool.epoch[i];
        let on_crash = pool.on_crash();
        let drained = std::mem::take(&mut pool.drained);
        self.sched.schedule(
            now.saturating_add(repair),
            Event::ReplicaRepair {
                backend: backend.0,
                replica: i as u16,
                epoch,
            },
        );
        self.replica_changed(now, backend, i, Some(before));
        for d in &drained {
            let Some(attempt) = self.attempts.key_at(d.id) else {
                continue;
            };
            let Some(a) = self.attempts.get_mut(attempt) else {
                continue;
            };
            a.replica = NO_REPLICA;
            match on_crash {
                OnCrash::Fail => {
                    a.error = Some((ErrorClass::ConnectionReset, Maybe::NONE));
                    a.reserved_output = 0;
                    a.done_at = now;
                    self.on_service_done(now, attempt);
                }
                OnCrash::Requeue => {
                    // Back to the gateway queue, from scratch; it holds no slot meanwhile, and
                    // the statistics see it leave service and join the queue.
                    if let Some(rec) = &mut self.recorder {
                        rec.attempt_ended(now, attempt, crate::record::End::Requeued);
                    }
                    let b = &mut self.backends[backend];
                    b.busy -= 1;
                    a.queued = true;
                    a.enqueued = now;
                    b.queue.push(a.tenant, attempt, now);
                    self.stats.service_ended(now, backend.index());
                    self.stats.enqueued(now);
                }
            }
        }
        if let Some(pool) = self.backends[backend].pool_mut() {
            pool.drained = drained;
        }
        self.pump_pool(now, backend);
    }

    pub(super) fn on_replica_repair(
        &mut self,
        now: Time,
        backend: BackendId,
        i: usize,
        epoch: u16,
    ) {
        let cold_start = self.config.backends[backend]
            .pool
            .as_ref()
            .map_or(0, |p| p.cold_start);
        let Some(pool) = self.backends[backend].pool_mut() else {
            return;
        };
        if pool.epoch[i] != epoch {
            return;
        }
        let before = pool.replicas[i].generation();
        pool.repair(now, i, cold_start);
        self.replica_changed(now, backend, i, Some(before));
    }

    pub(super) fn on_autoscale(&mut self, now: Time, backend: BackendId) {
        let b = &mut self.backends[backend];
        let queued = b.queue.len() as u32;
        let Server::Pool(pool) = &mut b.server else {
            return;
        };
        pool.autoscale(now, queued);
        let changed = std::mem::take(&mut pool.changed);
        for &i in &changed {
            self.replica_changed(now, backend, i, None);
        }
        if let Some(pool) = self.backends[backend].pool_mut() {
            pool.changed = changed;
        }
        self.pump_pool(now, backend);
        let interval = self.config.backends[backend]
            .pool
            .as_ref()
            .and_then(|p| p.autoscale.as_ref())
            .map_or(0, |a| a.interval);
        let next = now.saturating_add(interval);
        if interval > 0 && next <= self.config.horizon {
            self.sched
                .schedule(next, Event::Autoscale { backend: backend.0 });
        }
    }
}
