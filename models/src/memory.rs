//! A self-hosted service's memory: a limit, a cost per call in flight that grows with its
//! tokens, and the kill when a new call would pass the limit.
//!
//! This is the failure behind "retries made the service run out of memory": callers that time
//! out and retry leave the abandoned calls running, so the calls in flight (and the memory they
//! hold) grow with the retries; past the limit the process is killed, every call it held fails
//! at once, and it takes `restart` to come back, refusing connections meanwhile. Those failures
//! are retried too, so without a retry budget the kills repeat.
//!
//! The state machine is pure: [`Memory::admit`] says whether a call fits or kills the process;
//! the world fails the calls and counts.

use sim_core::Time;

/// A backend's memory as configured, in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryConfig {
    /// What the process may hold before it is killed.
    pub limit: u64,
    /// Memory a call in flight holds whatever its size.
    pub per_call: u64,
    /// Memory per token of a call in flight (its prompt and its output: a KV cache's growth).
    pub per_token: u64,
    /// How long the killed process takes to serve again.
    pub restart: Time,
}

impl MemoryConfig {
    /// What a call of `prompt` and `output` tokens holds while in flight.
    pub fn cost(&self, prompt: u32, output: u32) -> u64 {
        let tokens = prompt as u64 + output as u64;
        self.per_call
            .saturating_add(self.per_token.saturating_mul(tokens))
    }
}

/// What [`Memory::admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// The call holds its memory until it leaves.
    Held,
    /// The call would pass the limit: the process is killed with everything it held.
    Killed,
}

/// A process's memory now.
#[derive(Debug, Clone)]
pub struct Memory {
    pub config: MemoryConfig,
    used: u64,
    /// The most held at once, and when the process serves again after a kill.
    peak: u64,
    down_until: Time,
}

impl Memory {
    pub fn new(config: &MemoryConfig) -> Memory {
        Memory {
            config: config.clone(),
            used: 0,
            peak: 0,
            down_until: 0,
        }
    }

    /// Whether the process is restarting after a kill at `now` (it refuses connections).
    pub fn is_down(&self, now: Time) -> bool {
        now < self.down_until
    }

    /// A call holding `cost` starts at `now`. Past the limit the process dies: it holds nothing
    /// and is down for the restart delay.
    pub fn admit(&mut self, now: Time, cost: u64) -> Admit {
        let want = self.used.saturating_add(cost);
        if want > self.config.limit {
            self.used = 0;
            self.down_until = now.saturating_add(self.config.restart);
            return Admit::Killed;
        }
        self.used = want;
        self.peak = self.peak.max(want);
        Admit::Held
    }

    /// A call that held `cost` leaves.
    pub fn release(&mut self, cost: u64) {
        self.used = self.used.saturating_sub(cost);
    }

    pub fn used(&self) -> u64 {
        self.used
    }

    /// The most held at once, as a share of the limit.
    pub fn peak_share(&self) -> f64 {
        self.peak as f64 / self.config.limit.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Memory {
        Memory::new(&MemoryConfig {
            limit: 1000,
            per_call: 100,
            per_token: 2,
            restart: 50,
        })
    }

    #[test]
    fn a_call_costs_its_fixed_part_and_its_tokens() {
        let m = memory();
        assert_eq!(m.config.cost(0, 0), 100);
        assert_eq!(m.config.cost(30, 20), 200);
    }

    #[test]
    fn calls_are_held_up_to_the_limit_and_the_next_one_kills() {
        let mut m = memory();
        for _ in 0..5 {
            assert_eq!(m.admit(10, 200), Admit::Held);
        }
        assert_eq!(m.used(), 1000, "exactly at the limit is still alive");
        assert!(!m.is_down(10));
        assert_eq!(m.admit(10, 1), Admit::Killed);
        assert_eq!(m.used(), 0, "a killed process holds nothing");
        assert!(m.is_down(10) && m.is_down(59));
        assert!(!m.is_down(60), "back after the restart delay");
        assert!((m.peak_share() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn releases_free_memory_for_later_calls() {
        let mut m = memory();
        assert_eq!(m.admit(0, 600), Admit::Held);
        assert_eq!(m.admit(0, 300), Admit::Held);
        m.release(600);
        assert_eq!(m.used(), 300);
        assert_eq!(m.admit(1, 700), Admit::Held);
        assert_eq!(m.used(), 1000);
        m.release(5000);
        assert_eq!(m.used(), 0, "a release never goes below nothing");
        assert!((m.peak_share() - 1.0).abs() < 1e-12);
        assert_eq!(memory().peak_share(), 0.0);
    }
}
