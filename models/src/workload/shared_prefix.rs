//! Shared prompt prefixes of a tenant's calls: each call's prompt starts with one of a few
//! system prompts, so a GPU pool with prefix caching finds that prefix's KV blocks cached and
//! prefills only the rest.
//!
//! A tenant declares `groups` system prompts of `tokens` tokens each. Each call that reaches a
//! replica draws its group, uniformly, from the pool's `shared_prefix` stream (drawn only for
//! tenants that declare shared prefixes, so no other draw of a scenario moves); its first
//! `min(tokens, prompt)` prompt tokens are that group's system prompt and the rest are its own.
//! Groups of different tenants never share blocks.

use sim_core::RandomStream;

/// A tenant's shared-prefix groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedPrefix {
    /// Distinct system prompts (at least 1).
    pub groups: u32,
    /// Tokens of each system prompt (at least 1).
    pub tokens: u32,
}

impl SharedPrefix {
    /// The group of a call of tenant `tenant`, drawn from `rng` (no draw with one group):
    /// the tenant in the high 32 bits, so groups of different tenants never coincide.
    pub fn draw_group(&self, tenant: usize, rng: &mut RandomStream) -> u64 {
        let group = if self.groups <= 1 {
            0
        } else {
            rng.below(self.groups as u64)
        };
        ((tenant as u64) << 32) | group
    }
}
