//! One model replica serving requests with vLLM-style continuous batching, as a state machine
//! the world's event loop drives without an event per token.
//!
//! # Driving it
//!
//! The replica runs one *segment* at a time: a single prefill (or mixed) step, or a *decode run* —
//! consecutive decode steps of an unchanged batch. A run lasts until the batch composition next
//! changes: the shortest remaining request finishes, or the next step would need a KV block that
//! is not free. Its length is computed arithmetically and its duration is an arithmetic series
//! (see [`StepModel::decode_run_ps`]), so a request generating 10 000 tokens alone costs the same
//! few events as one generating 10.
//!
//! The world keeps at most one pending event per replica, tagged with [`Replica::generation`]:
//!
//! ```text
//! let g = replica.generation();
//! replica.admit(now, id, prompt, output)?;         // or crash / start / advance
//! if replica.generation() != g {
//!     if let Some(t) = replica.next_change() { schedule(t, GpuReplica { pool, replica, gen }) }
//! }
//! // when GpuReplica { gen, .. } pops at `now`:
//! if gen == replica.generation() { replica.advance(now, |c| on_completion(c)); reschedule as above }
//! ```
//!
//! A stale event (its generation no longer current) is dropped when popped; nothing is ever
//! removed from the heap.
//!
//! # Model
//!
//! - FCFS waiting queue; admission from its front while the batch has room (max sequences, max
//!   batched tokens per step) and the prompt's KV blocks are free.
//! - Without chunked prefill, an iteration is either a prefill of newly admitted requests (they
//!   take priority, as in vLLM's default scheduler; running requests wait that iteration) or a
//!   decode step of all running requests. With chunked prefill, every iteration decodes all
//!   running requests and fills the remaining token budget with prefill chunks (Sarathi-style);
//!   such a request's whole prefill is reserved in KV at admission.
//! - A request with `g` tokens generated holds `p + g − 1` tokens of KV (the newest token's KV is
//!   written by the next step); its next decode step attends over `p + g` tokens.
//! - When a decode step needs a block and none is free, the most recently admitted running
//!   request is **preempted by recompute**: its blocks are freed, it goes to the front of the
//!   waiting queue, and on readmission it prefills its prompt plus the tokens generated so far
//!   (`p + g`), which yields its next token. An iteration that preempted admits nothing new.
//!
//! Storage is allocated once at construction (request slots, queue, batch); the steady state
//! allocates nothing.

use std::collections::VecDeque;

use sim_core::Time;

use super::kv::blocks_for;
use super::prefix::{PrefixCache, PrefixCounters, PromptKey};
use super::step_time::{StepModel, ps_to_ns};

mod plan;

/// Sentinel for "not yet" in per-request times.
const NEVER: Time = Time::MAX;

/// Static configuration of a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaConfig {
    /// KV capacity in 16-token blocks (see [`super::kv::KvSpec::blocks`]).
    pub kv_blocks: u32,
    /// Most sequences in one batch (vLLM `max_num_seqs`).
    pub max_batch: u32,
    /// Most tokens one iteration processes (vLLM `max_num_batched_tokens`). Without chunked
    /// prefill a single prompt longer than this still runs alone, so nothing can starve.
    pub max_batched_tokens: u32,
    /// Most requests waiting; [`Replica::admit`] refuses beyond it.
    pub max_waiting: u32,
    pub chunked_prefill: bool,
    /// Automatic prefix caching (vLLM V1's default; see [`super::prefix`]): cached prompt
    /// blocks are shared and not prefilled again, freed blocks stay cached until reused.
    pub prefix_caching: bool,
    pub scheduling: Scheduling,
    pub step: StepModel,
}

/// The order of the waiting queue and the choice of preemption victim, as vLLM's two
/// scheduling policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scheduling {
    /// First come, first served; the victim is the most recently scheduled running request,
    /// and it goes back to the front of the queue.
    #[default]
    Fcfs,
    /// Most important first (a larger priority is more important, faultline's convention;
    /// vLLM's smaller value), then earliest arrival; the victim is the least important running
    /// request, the latest arrival among equals, and it rejoins the queue in that order.
    Priority,
}

/// Why [`Replica::admit`] refused a request. All are immediate: the request never entered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdmitError {
    /// The replica is crashed or still cold-starting.
    Down,
    /// The waiting queue is at `max_waiting`.
    QueueFull,
    /// Prompt plus output can never fit in this replica's KV cache (a context overflow): admitting
    /// it would preempt itself forever.
    NeverFits { blocks_needed: u64, kv_blocks: u32 },
}

/// A finished request, reported by [`Replica::advance`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub id: u32,
    /// When [`Replica::admit`] accepted it.
    pub arrival: Time,
    /// When it first entered the batch (queue wait = `first_scheduled − arrival`).
    pub first_scheduled: Time,
    /// End of its first prefill (time to first token = `first_token − arrival`).
    pub first_token: Time,
    pub finish: Time,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    /// Times it was evicted by recompute preemption (each was followed by one restart).
    pub preemptions: u32,
    /// Tokens prefilled again after preemptions.
    pub reprefill_tokens: u64,
}

/// A request removed by [`Replica::crash`]; the world decides whether it fails or re-queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub id: u32,
    pub arrival: Time,
    /// Output tokens already generated (and streamed, if the world streams).
    pub generated: u32,
    /// Whether it was in the batch (true) or still waiting (false).
    pub was_running: bool,
}

/// Running totals, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplicaCounters {
    pub admitted: u64,
    pub completed: u64,
    pub preemptions: u64,
    pub reprefill_tokens: u64,
    pub prefill_steps: u64,
    pub decode_steps: u64,
    /// Segments completed (each is one event for the world).
    pub segments: u64,
    pub output_tokens: u64,
    /// Virtual time spent executing steps.
    pub busy_ns: u64,
    pub crashes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Free,
    Waiting,
    Prefill,
    Decode,
}

#[derive(Debug, Clone, Copy)]
struct Req {
    id: u32,
    prompt: u32,
    output: u32,
    generated: u32,
    /// Tokens to prefill at this admission: `prompt + generated`.
    prefill_len: u32,
    prefilled: u32,
    /// Prefill tokens processed by the step in progress.
    chunk: u32,
    /// Whether the step in progress decodes this request.
    step_decode: bool,
    blocks: u32,
    arrival: Time,
    first_scheduled: Time,
    first_token: Time,
    preemptions: u32,
    reprefill_tokens: u64,
    phase: Phase,
    priority: u8,
    /// Arrival order on this replica (ties of priority go to the earlier).
    seq: u64,
}

impl Req {
    const EMPTY: Req = Req {
        id: 0,
        prompt: 0,
        output: 0,
        generated: 0,
        prefill_len: 0,
        prefilled: 0,
        chunk: 0,
        step_decode: false,
        blocks: 0,
        arrival: 0,
        first_scheduled: NEVER,
        first_token: NEVER,
        preemptions: 0,
        reprefill_tokens: 0,
        phase: Phase::Free,
        priority: 0,
        seq: 0,
    };

    /// Tokens held in KV while decoding: `p + g − 1`.
    #[inline]
    fn kv_tokens(&self) -> u64 {
        (self.prompt as u64 + self.generated as u64).saturating_sub(1)
    }

    fn completion(&self, finish: Time) -> Completion {
        Completion {
            id: self.id,
            arrival: self.arrival,
            first_scheduled: self.first_scheduled,
            first_token: self.first_token,
            finish,
            prompt_tokens: self.prompt,
            output_tokens: self.output,
            preemptions: self.preemptions,
            reprefill_tokens: self.reprefill_tokens,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    /// Nothing to do until a request arrives.
    Idle,
    /// Crashed; `ready_at` is set once a restart is under way.
    Down { ready_at: Option<Time> },
    /// One prefill or mixed iteration; per-request work is in `Req::chunk` / `step_decode`.
    Step { start: Time, end: Time },
    /// `k` decode steps of the whole batch.
    Run {
        start: Time,
        end: Time,
        k: u64,
        batch: u32,
        s0: u128,
    },
}

/// One replica. See the module documentation for how the world drives it.
#[derive(Debug, Clone)]
pub struct Replica {
    cfg: ReplicaConfig,
    reqs: Vec<Req>,
    free_slots: Vec<u32>,
    waiting: VecDeque<u32>,
    /// Slots in the batch, in admission order (the last is the preemption victim).
    running: Vec<u32>,
    used_blocks: u32,
    /// The paged cache with prefix caching; `None`: blocks are only counted.
    paged: Option<Box<PrefixCache>>,
    /// Admissions so far: each request's unique salt for its own blocks' hashes.
    salt: u64,
    segment: Segment,
    generation: u32,
    counters: ReplicaCounters,
}

impl Replica {
    /// A replica that is up and idle. Errors on a configuration that could never serve.
    pub fn new(cfg: ReplicaConfig) -> Result<Replica, String> {
        if cfg.kv_blocks == 0 {
            return Err("kv_blocks must be at least 1".into());
        }
        if cfg.max_batch == 0 {
            return Err("max_batch must be at least 1".into());
        }
        if cfg.max_batched_tokens == 0 {
            return Err("max_batched_tokens must be at least 1".into());
        }
        if cfg.chunked_prefill && cfg.max_batched_tokens <= cfg.max_batch {
            return Err(format!(
                "with chunked prefill max_batched_tokens ({}) must exceed max_batch ({}) so a \
                 full batch of decodes still leaves room for prefill",
                cfg.max_batched_tokens, cfg.max_batch
            ));
        }
        let slots = cfg.max_waiting as usize + cfg.max_batch as usize;
        if slots > (u32::MAX as usize) {
            return Err("max_waiting + max_batch exceeds u32".into());
        }
        // Slots are allocated as calls arrive (and reused), never up front: a limit of two
        // billion waiting calls must not reserve memory for them.
        Ok(Replica {
            reqs: Vec::new(),
            free_slots: Vec::new(),
            waiting: VecDeque::new(),
            running: Vec::new(),
            used_blocks: 0,
            paged: cfg
                .prefix_caching
                .then(|| Box::new(PrefixCache::new(cfg.kv_blocks))),
            salt: 0,
            segment: Segment::Idle,
            generation: 0,
            counters: ReplicaCounters::default(),
            cfg,
        })
    }

    pub fn config(&self) -> &ReplicaConfig {
        &self.cfg
    }

    /// Changes whenever [`Replica::next_change`] may have changed; events carry it so stale ones
    /// are dropped.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// When the replica next needs [`Replica::advance`]: the end of the segment in progress, or
    /// the end of a cold start. `None` when idle or crashed with no restart under way.
    pub fn next_change(&self) -> Option<Time> {
        match self.segment {
            Segment::Idle | Segment::Down { ready_at: None } => None,
            Segment::Down { ready_at } => ready_at,
            Segment::Step { end, .. } | Segment::Run { end, .. } => Some(end),
        }
    }

    pub fn is_up(&self) -> bool {
        !matches!(self.segment, Segment::Down { .. })
    }

    pub fn waiting_len(&self) -> u32 {
        self.waiting.len() as u32
    }

    pub fn running_len(&self) -> u32 {
        self.running.len() as u32
    }

    /// Requests on the replica, waiting or running.
    pub fn outstanding(&self) -> u32 {
        self.waiting_len() + self.running_len()
    }

    /// KV blocks allocated as of the last segment boundary (a decode run allocates its blocks
    /// when it ends).
    pub fn kv_used_blocks(&self) -> u32 {
        self.used_blocks
    }

    pub fn kv_blocks(&self) -> u32 {
        self.cfg.kv_blocks
    }

    /// KV blocks the waiting requests will need to start, for KV-aware routing.
    pub fn kv_demand_waiting(&self) -> u64 {
        self.waiting
            .iter()
            .map(|&s| {
                let r = &self.reqs[s as usize];
                let len = r.prompt as u64 + r.generated as u64;
                match &self.paged {
                    Some(p) => p.need(s as usize, len),
                    None => blocks_for(len),
                }
            })
            .sum()
    }

    /// Prefix-cache lookups and hits so far, with prefix caching on.
    pub fn prefix_counters(&self) -> Option<PrefixCounters> {
        self.paged.as_ref().map(|p| p.counters())
    }

    pub fn counters(&self) -> ReplicaCounters {
        self.counters
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    #[inline]
    fn free_blocks(&self) -> u64 {
        self.cfg.kv_blocks.saturating_sub(self.used_blocks) as u64
    }

    /// Grows the request in `slot` to hold `blocks` blocks.
    fn set_blocks(&mut self, slot: usize, blocks: u32) {
        let r = &mut self.reqs[slot];
        match &mut self.paged {
            Some(p) => {
                p.grow(slot, blocks);
                self.used_blocks = self.cfg.kv_blocks - p.free_blocks();
            }
            None => self.used_blocks += blocks - r.blocks,
        }
        r.blocks = blocks;
    }

    /// Frees the blocks of the request in `slot` (shared ones stay with their other holders).
    fn free_blocks_of(&mut self, slot: usize) {
        let r = &mut self.reqs[slot];
        match &mut self.paged {
            Some(p) => {
                p.release(slot);
                self.used_blocks = self.cfg.kv_blocks - p.free_blocks();
            }
            None => self.used_blocks -= r.blocks,
        }
        r.blocks = 0;
    }

    /// Makes the full blocks among the first `tokens` tokens of `slot` findable by later
    /// requests (prefix caching only).
    #[inline]
    fn register(&mut self, slot: usize, tokens: u64) {
        if let Some(p) = &mut self.paged {
            p.register(slot, tokens);
        }
    }

    /// Accepts a request at `now`. It waits in the queue until the batch has room for it; the
    /// replica never reports completions from here (they come only from [`Replica::advance`]).
    /// `output_tokens` below 1 counts as 1 (the prefill always produces a token). Its prompt
    /// shares nothing with others ([`PromptKey::Unique`]).
    pub fn admit(
        &mut self,
        now: Time,
        id: u32,
        prompt_tokens: u32,
        output_tokens: u32,
    ) -> Result<(), AdmitError> {
        self.admit_keyed(now, id, prompt_tokens, output_tokens, PromptKey::Unique)
    }

    /// [`Replica::admit`] with what the prompt shares with others, for prefix caching (ignored
    /// without it).
    pub fn admit_keyed(
        &mut self,
        now: Time,
        id: u32,
        prompt_tokens: u32,
        output_tokens: u32,
        key: PromptKey<'_>,
    ) -> Result<(), AdmitError> {
        self.admit_with(now, id, prompt_tokens, output_tokens, 0, key)
    }

    /// [`Replica::admit_keyed`] with a priority (used under [`Scheduling::Priority`]; larger is
    /// more important).
    pub fn admit_with(
        &mut self,
        now: Time,
        id: u32,
        prompt_tokens: u32,
        output_tokens: u32,
        priority: u8,
        key: PromptKey<'_>,
    ) -> Result<(), AdmitError> {
        if !self.is_up() {
            return Err(AdmitError::Down);
        }
        let prompt = prompt_tokens.max(1);
        let output = output_tokens.max(1);
        // The last decode step holds p + n − 1 tokens; the longest re-prefill is the same.
        let blocks_needed = blocks_for(prompt as u64 + output as u64 - 1);
        if blocks_needed > self.cfg.kv_blocks as u64 {
            return Err(AdmitError::NeverFits {
                blocks_needed,
                kv_blocks: self.cfg.kv_blocks,
            });
        }
        if self.waiting.len() >= self.cfg.max_waiting as usize {
            return Err(AdmitError::QueueFull);
        }
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None if self.reqs.len()
                < self.cfg.max_waiting as usize + self.cfg.max_batch as usize =>
            {
                self.reqs.push(Req::EMPTY);
                (self.reqs.len() - 1) as u32
            }
            None => return Err(AdmitError::QueueFull),
        };
        self.salt += 1;
        self.reqs[slot as usize] = Req {
            id,
            prompt,
            output,
            arrival: now,
            phase: Phase::Waiting,
            priority,
            seq: self.salt,
            ..Req::EMPTY
        };
        if let Some(p) = &mut self.paged {
            p.set_prompt(slot as usize, key, prompt, self.salt);
        }
        match self.cfg.scheduling {
            Scheduling::Fcfs => self.waiting.push_back(slot),
            Scheduling::Priority => self.enqueue_by_priority(slot),
        }
        self.counters.admitted += 1;
        match self.segment {
            Segment::Idle => {
                self.plan(now);
                self.bump();
            }
            Segment::Run {
                start,
                k,
                batch,
                s0,
                end,
            } => {
                // The new request can start once the step in flight at `now` ends, if it would
                // fit then; cut the run there. (Blocks only get scarcer during a run, so if it
                // would not fit then, it will not fit before the run ends either.)
                let done = self.whole_steps_by(now, start, k, batch, s0);
                let cut = (done + 1).min(k);
                if cut < k && self.head_fits_after(cut) {
                    let new_end =
                        start.saturating_add(ps_to_ns(self.cfg.step.decode_run_ps(cut, batch, s0)));
                    debug_assert!(new_end <= end);
                    self.segment = Segment::Run {
                        start,
                        end: new_end,
                        k: cut,
                        batch,
                        s0,
                    };
                    self.bump();
                }
            }
            Segment::Step { .. } | Segment::Down { .. } => {}
        }
        Ok(())
    }

    /// Whole decode steps of a run started at `start` that have ended by `now`.
    fn whole_steps_by(&self, now: Time, start: Time, k: u64, batch: u32, s0: u128) -> u64 {
        let budget = now.saturating_sub(start) as u128 * 1000;
        let (mut lo, mut hi) = (0u64, k);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.cfg.step.decode_run_ps(mid, batch, s0) <= budget {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    /// New blocks the running batch needs for its next `j` decode steps.
    fn blocks_needed_for_steps(&self, j: u64) -> u64 {
        self.running
            .iter()
            .map(|&s| {
                let r = &self.reqs[s as usize];
                blocks_for(r.kv_tokens() + j) - r.blocks as u64
            })
            .sum()
    }

    /// Whether the head of the waiting queue could be admitted after `j` more decode steps.
    fn head_fits_after(&self, j: u64) -> bool {
        if self.waiting.is_empty() {
            return false;
        }
        if self.running.len() >= self.cfg.max_batch as usize {
            return false;
        }
        let need = self.head_need().map_or(0, |(_, b)| b);
        let free = self
            .free_blocks()
            .saturating_sub(self.blocks_needed_for_steps(j));
        need <= free
    }

    /// Applies every segment that has ended by `now`, reporting completions in the order they
    /// happen (ties in batch admission order), and plans the next segment. Calling it early is
    /// harmless: nothing happens before the segment in progress ends.
    pub fn advance(&mut self, now: Time, mut out: impl FnMut(Completion)) {
        let mut changed = false;
        // Each pass ends a segment of positive duration or leaves the loop, so this terminates.
        loop {
            match self.segment {
                Segment::Step { start, end } if end <= now => {
                    self.finish_step(start, end, &mut out);
                    self.plan(end);
                }
                Segment::Run {
                    start,
                    end,
                    k,
                    batch,
                    ..
                } if end <= now => {
                    self.finish_run(start, end, k, batch, &mut out);
                    self.plan(end);
                }
                Segment::Down {
                    ready_at: Some(ready),
                } if ready <= now => {
                    self.segment = Segment::Idle;
                    self.plan(ready);
                }
                _ => break,
            }
            changed = true;
        }
        if changed {
            self.bump();
        }
    }

    fn finish_step(&mut self, start: Time, end: Time, out: &mut impl FnMut(Completion)) {
        self.counters.segments += 1;
        self.counters.prefill_steps += 1;
        self.counters.busy_ns += end - start;
        let mut i = 0;
        while i < self.running.len() {
            let slot = self.running[i] as usize;
            let r = &mut self.reqs[slot];
            let mut produced = false;
            if r.step_decode {
                r.step_decode = false;
                r.generated += 1;
                produced = true;
            } else if r.phase == Phase::Prefill && r.chunk > 0 {
                r.prefilled += r.chunk;
                r.chunk = 0;
                if r.prefilled >= r.prefill_len {
                    r.phase = Phase::Decode;
                    r.generated += 1;
                    if r.first_token == NEVER {
                        r.first_token = end;
                    }
                    produced = true;
                }
            }
            if produced {
                self.counters.output_tokens += 1;
                let kv = r.kv_tokens();
                self.register(slot, kv);
            }
            let r = &self.reqs[slot];
            if produced && r.generated >= r.output {
                self.complete(i, end, out);
            } else {
                i += 1;
            }
        }
    }

    fn finish_run(
        &mut self,
        start: Time,
        end: Time,
        k: u64,
        batch: u32,
        out: &mut impl FnMut(Completion),
    ) {
        self.counters.segments += 1;
        self.counters.decode_steps += k;
        self.counters.busy_ns += end - start;
        self.counters.output_tokens += k * batch as u64;
        let mut i = 0;
        while i < self.running.len() {
            let slot = self.running[i] as usize;
            let r = &mut self.reqs[slot];
            // k ≤ remaining output by construction, so this fits in u32.
            r.generated = r.generated.saturating_add(k as u32);
            let kv = r.kv_tokens();
            self.set_blocks(slot, blocks_for(kv) as u32);
            self.register(slot, kv);
            let r = &self.reqs[slot];
            if r.generated >= r.output {
                self.complete(i, end, out);
            } else {
                i += 1;
            }
        }
    }

    /// Removes `running[i]` as finished.
    fn complete(&mut self, i: usize, end: Time, out: &mut impl FnMut(Completion)) {
        let slot = self.running.remove(i);
        self.free_blocks_of(slot as usize);
        let r = &mut self.reqs[slot as usize];
        let done = r.completion(end);
        *r = Req::EMPTY;
        self.free_slots.push(slot);
        self.counters.completed += 1;
        out(done);
    }

    /// Whether the request in slot `a` goes before the one in slot `b` under priority
    /// scheduling.
    fn outranks(&self, a: u32, b: u32) -> bool {
        let (a, b) = (&self.reqs[a as usize], &self.reqs[b as usize]);
        (a.priority, std::cmp::Reverse(a.seq)) > (b.priority, std::cmp::Reverse(b.seq))
    }

    /// Puts `slot` in the waiting queue after every request that outranks it.
    fn enqueue_by_priority(&mut self, slot: u32) {
        let at = self.waiting.partition_point(|&w| self.outranks(w, slot));
        self.waiting.insert(at, slot);
    }

    /// Evicts the scheduling policy's victim (see [`Scheduling`]) back to the waiting queue.
    fn preempt_last(&mut self) {
        let victim = match self.cfg.scheduling {
            Scheduling::Fcfs => self.running.pop(),
            Scheduling::Priority => {
                let mut v = None;
                for (i, &s) in self.running.iter().enumerate() {
                    if v.is_none_or(|j: usize| self.outranks(self.running[j], s)) {
                        v = Some(i);
                    }
                }
                v.map(|i| self.running.remove(i))
            }
        };
        let Some(slot) = victim else {
            return;
        };
        self.free_blocks_of(slot as usize);
        let r = &mut self.reqs[slot as usize];
        r.phase = Phase::Waiting;
        r.prefilled = 0;
        r.chunk = 0;
        r.step_decode = false;
        r.preemptions += 1;
        self.counters.preemptions += 1;
        match self.cfg.scheduling {
            Scheduling::Fcfs => self.waiting.push_front(slot),
            Scheduling::Priority => self.enqueue_by_priority(slot),
        }
    }

    /// Moves the head of the waiting queue into the batch with its whole prefill reserved in KV.
    fn admit_head(&mut self, t: Time) -> usize {
        let slot = self.waiting.pop_front().unwrap_or_default();
        let r = &mut self.reqs[slot as usize];
        r.prefill_len = r.prompt + r.generated;
        r.phase = Phase::Prefill;
        let blocks = blocks_for(r.prefill_len as u64) as u32;
        r.prefilled = match &mut self.paged {
            Some(p) => {
                let cached = p.acquire(slot as usize, r.prefill_len as u64);
                self.used_blocks = self.cfg.kv_blocks - p.free_blocks();
                cached
            }
            None => {
                self.used_blocks += blocks;
                0
            }
        };
        r.blocks = blocks;
        if r.first_scheduled == NEVER {
            r.first_scheduled = t;
        }
        if r.preemptions > 0 {
            let computed = (r.prefill_len - r.prefilled) as u64;
            r.reprefill_tokens += computed;
            self.counters.reprefill_tokens += computed;
        }
        self.running.push(slot);
        self.running.len() - 1
    }

    /// Crashes the replica at `now`: every request on it (running first, in admission order, then
    /// waiting in queue order) is handed to `out`, all KV is freed, and the replica stays down
    /// until [`Replica::start`]. Work in flight is lost; steps completed before `now` are not
    /// credited to requests (they are reported with the tokens of the last segment boundary).
    pub fn crash(&mut self, _now: Time, mut out: impl FnMut(Drained)) {
        for &s in &self.running {
            let r = &self.reqs[s as usize];
            out(Drained {
                id: r.id,
                arrival: r.arrival,
                generated: r.generated,
                was_running: true,
            });
        }
        for &s in &self.waiting {
            let r = &self.reqs[s as usize];
            out(Drained {
                id: r.id,
                arrival: r.arrival,
                generated: r.generated,
                was_running: false,
            });
        }
        for s in self.running.drain(..).chain(self.waiting.drain(..)) {
            self.reqs[s as usize] = Req::EMPTY;
            self.free_slots.push(s);
        }
        self.used_blocks = 0;
        if let Some(p) = &mut self.paged {
            p.reset();
        }
        self.counters.crashes += 1;
        self.segment = Segment::Down { ready_at: None };
        self.bump();
    }

    /// Takes an empty replica out of service (a scale-down), without counting a crash. Returns
    /// `false`, changing nothing, while requests are still on it.
    pub fn stop(&mut self) -> bool {
        if self.outstanding() > 0 {
            return false;
        }
        self.segment = Segment::Down { ready_at: None };
        self.bump();
        true
    }

    /// Begins a restart at `now`: the replica accepts requests after `cold_start_ns` (model load
    /// and warm-up). A no-op if the replica is up.
    pub fn start(&mut self, now: Time, cold_start_ns: Time) {
        if let Segment::Down { .. } = self.segment {
            self.segment = Segment::Down {
                ready_at: Some(now.saturating_add(cold_start_ns)),
            };
            self.bump();
        }
    }
}
