//! The world's side of a memory limit (`crate::memory`): when a call does not fit, the serving
//! process is killed and every call it held fails at once with a reset connection; the process
//! then refuses connections until it has restarted (`Transport::connect_refused`).

use super::World;
use super::maybe::Maybe;
use crate::config::BackendId;
use crate::event::Event;
use policies::ErrorClass;
use sim_core::Time;

impl World<'_> {
    /// Kills `backend`'s process at `now`: every attempt holding memory there (the one that did
    /// not fit, attempts whose callers already gave up, broken streams not yet ended) ends now
    /// with `connection_reset`, its answer's way back still taking its round trip. Attempts
    /// waiting in the gateway's queue are not on the process and stay.
    pub(super) fn oom_kill(&mut self, now: Time, backend: BackendId) {
        let mut killed = 0u64;
        for i in 0..self.attempts.capacity_used() as u32 {
            let Some(key) = self.attempts.key_at(i) else {
                continue;
            };
            let Some(a) = self.attempts.get_mut(key) else {
                continue;
            };
            if a.backend != backend || !a.holds_memory || a.slotless {
                continue;
            }
            a.holds_memory = false;
            a.cut = 0;
            a.error = Some((ErrorClass::ConnectionReset, Maybe::NONE));
            a.done_at = now.saturating_add(a.net);
            if a.net > 0 {
                self.sched.schedule(now, Event::server_done(key));
            }
            self.sched.schedule(a.done_at, Event::service_done(key));
            killed += 1;
        }
        if now >= self.config.warmup
            && let Some(t) = &mut self.backends[backend].provider.transport
        {
            t.counts.kills += 1;
            t.counts.killed += killed;
        }
    }
}
