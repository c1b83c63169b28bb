//! Choosing a replica's next segment: a prefill (or mixed) step that admits from the waiting
//! queue, or a closed-form decode run, preempting when memory runs out.

use sim_core::Time;

use super::{Phase, Replica, Segment};
use crate::gpu::kv::{BLOCK_TOKENS, blocks_for};
use crate::gpu::step_time::ps_to_ns;

impl Replica {
    /// Head of the waiting queue: the tokens its prefill computes (less any cached prefix) and
    /// the free KV blocks admitting it takes.
    pub(super) fn head_need(&self) -> Option<(u32, u64)> {
        let &s = self.waiting.front()?;
        let r = &self.reqs[s as usize];
        let len = r.prompt + r.generated;
        Some(match &self.paged {
            Some(p) => {
                let (hits, free_hits) = p.probe(s as usize, len as u64);
                (
                    len - hits * BLOCK_TOKENS,
                    blocks_for(len as u64) - hits as u64 + free_hits as u64,
                )
            }
            None => (len, blocks_for(len as u64)),
        })
    }

    /// Chooses the next segment starting at `t`. Only called with no segment in progress.
    pub(super) fn plan(&mut self, t: Time) {
        if matches!(self.segment, Segment::Down { .. }) {
            return;
        }
        let mut preempted = false;
        // Every pass either sets a segment or preempts one running request, so this terminates.
        loop {
            let started = if self.cfg.chunked_prefill {
                self.plan_mixed_step(t, &mut preempted)
            } else {
                !preempted && self.plan_prefill_step(t)
            };
            if started {
                return;
            }
            if self.running.is_empty() {
                if !self.waiting.is_empty() && preempted {
                    // Everything was evicted: start over with admissions.
                    preempted = false;
                    continue;
                }
                self.segment = Segment::Idle;
                return;
            }
            if self.plan_run(t) {
                return;
            }
            self.preempt_last();
            preempted = true;
        }
    }

    /// Without chunking: admits from the queue and starts a prefill-only step.
    fn plan_prefill_step(&mut self, t: Time) -> bool {
        let mut sum_tokens = 0u64;
        let mut sum_sq = 0u128;
        while let Some((len, blocks)) = self.head_need() {
            if self.running.len() >= self.cfg.max_batch as usize
                || blocks > self.free_blocks()
                || (sum_tokens > 0 && sum_tokens + len as u64 > self.cfg.max_batched_tokens as u64)
            {
                break;
            }
            let i = self.admit_head(t);
            let slot = self.running[i] as usize;
            let r = &mut self.reqs[slot];
            debug_assert_eq!(r.prefill_len - r.prefilled, len);
            r.chunk = len;
            let done = r.prefilled as u128;
            sum_tokens += len as u64;
            sum_sq += len as u128 * (len as u128 + 2 * done);
            self.register(slot, done as u64 + len as u64);
        }
        if sum_tokens == 0 {
            return false;
        }
        let ps = self.cfg.step.prefill_ps(sum_tokens, sum_sq);
        self.segment = Segment::Step {
            start: t,
            end: t.saturating_add(ps_to_ns(ps)),
        };
        true
    }

    /// With chunking: decodes every decoding request and fills the token budget with prefill
    /// chunks. Returns false (allocating nothing) when there is no prefill work, so that the
    /// caller plans a closed-form decode run instead.
    fn plan_mixed_step(&mut self, t: Time, preempted: &mut bool) -> bool {
        let has_prefill = |me: &Self| {
            me.running
                .iter()
                .any(|&s| me.reqs[s as usize].phase == Phase::Prefill)
        };
        let decode_need = |me: &Self| -> u64 {
            me.running
                .iter()
                .map(|&s| {
                    let r = &me.reqs[s as usize];
                    if r.phase == Phase::Decode {
                        blocks_for(r.kv_tokens() + 1) - r.blocks as u64
                    } else {
                        0
                    }
                })
                .sum()
        };
        let head_fits = |me: &Self, need: u64| {
            me.head_need().is_some_and(|(_, b)| {
                me.running.len() < me.cfg.max_batch as usize
                    && b <= me.free_blocks().saturating_sub(need)
            })
        };
        let mut need = decode_need(self);
        if !has_prefill(self) && (*preempted || !head_fits(self, need)) {
            return false;
        }
        while need > self.free_blocks() && !self.running.is_empty() {
            self.preempt_last();
            *preempted = true;
            need = decode_need(self);
        }
        if !has_prefill(self) && (*preempted || !head_fits(self, need)) {
            return false;
        }
        // Decodes first, one token each.
        let mut budget = self.cfg.max_batched_tokens as u64;
        let mut sum_ctx = 0u128;
        let mut decodes = 0u32;
        let mut sum_tokens = 0u64;
        let mut sum_sq = 0u128;
        for i in 0..self.running.len() {
            let s = self.running[i] as usize;
            let r = &mut self.reqs[s];
            if r.phase == Phase::Decode {
                let blocks = blocks_for(r.kv_tokens() + 1) as u32;
                r.step_decode = true;
                sum_ctx += r.kv_tokens() as u128 + 1;
                decodes += 1;
                budget -= 1;
                self.set_blocks(s, blocks);
            }
        }
        // Then chunks of prefills already under way, in admission order.
        for i in 0..self.running.len() {
            let s = self.running[i] as usize;
            let r = &mut self.reqs[s];
            if r.phase == Phase::Prefill && budget > 0 {
                let c = ((r.prefill_len - r.prefilled) as u64).min(budget);
                r.chunk = c as u32;
                budget -= c;
                sum_tokens += c;
                sum_sq += c as u128 * (c as u128 + 2 * r.prefilled as u128);
                let upto = r.prefilled as u64 + c;
                self.register(s, upto);
            }
        }
        // Then new admissions, unless this iteration preempted.
        if !*preempted {
            while budget > 0 && head_fits(self, 0) {
                let i = self.admit_head(t);
                let s = self.running[i] as usize;
                let r = &mut self.reqs[s];
                let c = ((r.prefill_len - r.prefilled) as u64).min(budget);
                r.chunk = c as u32;
                budget -= c;
                sum_tokens += c;
                sum_sq += c as u128 * (c as u128 + 2 * r.prefilled as u128);
                let upto = r.prefilled as u64 + c;
                self.register(s, upto);
            }
        }
        let ps = self.cfg.step.mixed_ps(sum_tokens, sum_sq, sum_ctx, decodes);
        self.segment = Segment::Step {
            start: t,
            end: t.saturating_add(ps_to_ns(ps)),
        };
        true
    }

    /// Plans a closed-form decode run of the whole batch: as many steps as possible until the
    /// shortest remaining request finishes or the next step would lack a KV block. Returns false
    /// when not even one step fits in memory.
    fn plan_run(&mut self, t: Time) -> bool {
        let mut k_finish = u64::MAX;
        let mut s0 = 0u128;
        for &s in &self.running {
            let r = &self.reqs[s as usize];
            k_finish = k_finish.min((r.output - r.generated) as u64);
            s0 += r.kv_tokens() as u128;
        }
        let free = self.free_blocks();
        // Largest j ≤ k_finish with blocks_needed(j) ≤ free (monotone in j).
        let (mut lo, mut hi) = (0u64, k_finish);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.blocks_needed_for_steps(mid) <= free {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if lo == 0 {
            return false;
        }
        let batch = self.running.len() as u32;
        let ps = self.cfg.step.decode_run_ps(lo, batch, s0);
        self.segment = Segment::Run {
            start: t,
            end: t.saturating_add(ps_to_ns(ps)),
            k: lo,
            batch,
            s0,
        };
        true
    }
}
