//! Automatic prefix caching, as vLLM V1's KV-cache manager does it: physical blocks with
//! reference counts, a hash chain naming each full block by its content and everything before
//! it, and an LRU queue of free blocks whose contents stay findable until they are reused.
//!
//! - A block's hash is `chain(parent hash, block key)`: two prompts share block `j` exactly when
//!   they agree on blocks `0..=j`. The block key comes from what the request says about its
//!   prompt ([`PromptKey`]): a shared-prefix group's id, a trace's `hash_ids`, or nothing (every
//!   block unique to the request). Blocks past the prompt (generated tokens, or a prompt's last
//!   partial block) are always unique to the request.
//! - Admission looks up the longest run of the prompt's leading block hashes in the cache (at
//!   most `tokens − 1` tokens, so one token is always computed, as vLLM does); those blocks are
//!   shared (their reference counts rise, and a free one leaves the free queue) and their tokens
//!   are not prefilled.
//! - A block's hash is registered once its tokens are scheduled (prefill) or computed (decode);
//!   a hash already held by another block is not registered twice.
//! - Freed blocks go to the tail of the free queue, a request's blocks in reverse order (its
//!   tail first, so its prefix is evicted last); allocation takes the head, and a reused block's
//!   hash is forgotten (eviction). Cached free blocks count as free capacity.
//!
//! Everything is allocated at construction except the per-slot block tables and hash lists,
//! which keep their capacity when a slot is reused.

use std::collections::HashMap;

use super::kv::{BLOCK_TOKENS, blocks_for};

const NIL: u32 = u32::MAX;

/// What a request says about its prompt's content, for prefix caching.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PromptKey<'a> {
    /// Nothing shared: every block is unique to the request.
    #[default]
    Unique,
    /// The first `tokens` tokens are the shared prefix (system prompt) of group `group`; the
    /// rest is unique to the request.
    Shared { group: u64, tokens: u32 },
    /// Content ids of consecutive spans of `tokens_per_id` tokens (Mooncake's `hash_ids`, 512
    /// tokens each): two prompts agree on a span when their ids agree on it and on every span
    /// before it. Tokens past the last id are unique to the request.
    Ids { ids: &'a [u64], tokens_per_id: u32 },
}

/// A 64-bit mixer (splitmix64's finaliser): well spread, never used as a random stream.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The hash of a block from its parent's hash and its own key; never 0 (0 marks "no hash").
#[inline]
pub fn chain(parent: u64, key: u64) -> u64 {
    mix(parent ^ mix(key)).max(1)
}

/// Tag bits keeping the three kinds of block key apart.
const TAG_GROUP: u64 = 1 << 62;
const TAG_IDS: u64 = 2 << 62;
const TAG_UNIQUE: u64 = 3 << 62;

/// The key of block `j` of a request whose own unique salt is `salt`.
fn block_key(key: &PromptKey<'_>, prompt: u32, salt: u64, j: u64) -> u64 {
    let bt = BLOCK_TOKENS as u64;
    let end = (j + 1) * bt;
    let unique = mix(salt ^ TAG_UNIQUE) ^ j;
    if end > prompt as u64 {
        return unique;
    }
    match *key {
        PromptKey::Unique => unique,
        PromptKey::Shared { group, tokens } if end <= tokens as u64 => mix(group) ^ TAG_GROUP,
        PromptKey::Ids { ids, tokens_per_id } if tokens_per_id > 0 => {
            // Block j lies in span `first`; it is covered only if it does not cross into a
            // span past the last id.
            let per = tokens_per_id as u64;
            let (first, last) = ((j * bt) / per, (end - 1) / per);
            if last < ids.len() as u64 {
                // A block straddling two spans depends on both.
                mix(ids[first as usize] ^ TAG_IDS)
                    ^ mix(ids[last as usize]).rotate_left(17)
                    ^ (j % (per / bt).max(1))
            } else {
                unique
            }
        }
        _ => unique,
    }
}

/// Running totals of lookups, in tokens (as vLLM's `prefix_cache_queries` / `_hits`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PrefixCounters {
    /// Tokens looked up at admissions (the prefill length each time, capped at `tokens − 1`).
    pub query_tokens: u64,
    /// Tokens found cached.
    pub hit_tokens: u64,
    /// Cached blocks reused for another hash (evictions).
    pub evictions: u64,
}

/// The paged KV cache of one replica with prefix caching.
#[derive(Debug, Clone)]
pub struct PrefixCache {
    /// Per physical block: its registered hash (0: none), reference count and free-queue links.
    hash: Vec<u64>,
    refs: Vec<u32>,
    prev: Vec<u32>,
    next: Vec<u32>,
    head: u32,
    tail: u32,
    free: u32,
    /// Hash → block, only ever probed.
    index: HashMap<u64, u32>,
    /// Per request slot: its block table, its known block hashes (prompt blocks from admission,
    /// later blocks as they are registered), how many of its table's blocks are registered, and
    /// its unique salt.
    tables: Vec<Vec<u32>>,
    hashes: Vec<Vec<u64>>,
    registered: Vec<u32>,
    salts: Vec<u64>,
    counters: PrefixCounters,
}

impl PrefixCache {
    /// `blocks` free blocks, none cached.
    pub fn new(blocks: u32) -> PrefixCache {
        let mut c = PrefixCache {
            hash: vec![0; blocks as usize],
            refs: vec![0; blocks as usize],
            prev: vec![NIL; blocks as usize],
            next: vec![NIL; blocks as usize],
            head: NIL,
            tail: NIL,
            free: 0,
            index: HashMap::with_capacity(blocks as usize),
            tables: Vec::new(),
            hashes: Vec::new(),
            registered: Vec::new(),
            salts: Vec::new(),
            counters: PrefixCounters::default(),
        };
        c.reset();
        c
    }

    /// Every block free and uncached, in block order (a crash loses the cache).
    pub fn reset(&mut self) {
        let n = self.hash.len() as u32;
        self.index.clear();
        for b in 0..n {
            self.hash[b as usize] = 0;
            self.refs[b as usize] = 0;
            self.prev[b as usize] = if b == 0 { NIL } else { b - 1 };
            self.next[b as usize] = if b + 1 == n { NIL } else { b + 1 };
        }
        self.head = if n == 0 { NIL } else { 0 };
        self.tail = if n == 0 { NIL } else { n - 1 };
        self.free = n;
        for t in &mut self.tables {
            t.clear();
        }
        self.registered.iter_mut().for_each(|r| *r = 0);
    }

    pub fn free_blocks(&self) -> u32 {
        self.free
    }

    pub fn counters(&self) -> PrefixCounters {
        self.counters
    }

    /// Blocks cached (holding a registered hash), in use or free.
    pub fn cached_blocks(&self) -> usize {
        self.index.len()
    }

    fn ensure_slot(&mut self, slot: usize) {
        while self.tables.len() <= slot {
            self.tables.push(Vec::new());
            self.hashes.push(Vec::new());
            self.registered.push(0);
            self.salts.push(0);
        }
    }

    /// A new request in `slot`: its prompt's full-block hashes are computed once, here.
    pub fn set_prompt(&mut self, slot: usize, key: PromptKey<'_>, prompt: u32, salt: u64) {
        self.ensure_slot(slot);
        self.salts[slot] = salt;
        self.registered[slot] = 0;
        self.tables[slot].clear();
        let h = &mut self.hashes[slot];
        h.clear();
        let mut parent = 0u64;
        for j in 0..(prompt / BLOCK_TOKENS) as u64 {
            parent = chain(parent, block_key(&key, prompt, salt, j));
            h.push(parent);
        }
    }

    /// Blocks of `slot`'s prefill of `tokens` tokens found cached (a leading run of its hashes,
    /// at most `tokens − 1` tokens' worth), and how many of those are free (they leave the free
    /// queue when taken, so they cost free capacity like new ones).
    pub fn probe(&self, slot: usize, tokens: u64) -> (u32, u32) {
        let cap = (tokens.saturating_sub(1) / BLOCK_TOKENS as u64) as usize;
        let (mut hits, mut free) = (0u32, 0u32);
        for &h in self.hashes[slot].iter().take(cap) {
            match self.index.get(&h) {
                Some(&b) => {
                    hits += 1;
                    if self.refs[b as usize] == 0 {
                        free += 1;
                    }
                }
                None => break,
            }
        }
        (hits, free)
    }

    /// Free blocks admitting `slot` for `tokens` tokens takes: new blocks plus cached free ones.
    pub fn need(&self, slot: usize, tokens: u64) -> u64 {
        let (hits, free_hits) = self.probe(slot, tokens);
        blocks_for(tokens) - hits as u64 + free_hits as u64
    }

    /// Admits `slot` for a prefill of `tokens` tokens: takes its cached prefix and allocates the
    /// rest. Returns the tokens found cached (not to be prefilled). The caller has checked that
    /// [`PrefixCache::need`] blocks are free.
    pub fn acquire(&mut self, slot: usize, tokens: u64) -> u32 {
        let (hits, _) = self.probe(slot, tokens);
        self.counters.query_tokens += tokens.saturating_sub(1).max(1);
        self.counters.hit_tokens += hits as u64 * BLOCK_TOKENS as u64;
        let mut table = std::mem::take(&mut self.tables[slot]);
        table.clear();
        for j in 0..hits as usize {
            let b = self.index[&self.hashes[slot][j]];
            if self.refs[b as usize] == 0 {
                self.unlink(b);
            }
            self.refs[b as usize] += 1;
            table.push(b);
        }
        self.tables[slot] = table;
        self.registered[slot] = hits;
        self.grow(slot, blocks_for(tokens) as u32);
        hits * BLOCK_TOKENS
    }

    /// Extends `slot`'s table to `blocks` blocks from the head of the free queue.
    pub fn grow(&mut self, slot: usize, blocks: u32) {
        let mut table = std::mem::take(&mut self.tables[slot]);
        while (table.len() as u32) < blocks {
            let b = self.head;
            debug_assert!(b != NIL, "allocation beyond the free blocks");
            if b == NIL {
                break;
            }
            self.unlink(b);
            let h = self.hash[b as usize];
            if h != 0 {
                if self.index.get(&h) == Some(&b) {
                    self.index.remove(&h);
                }
                self.hash[b as usize] = 0;
                self.counters.evictions += 1;
            }
            self.refs[b as usize] = 1;
            table.push(b);
        }
        self.tables[slot] = table;
    }

    /// Registers the hashes of `slot`'s full blocks among its first `tokens` tokens.
    pub fn register(&mut self, slot: usize, tokens: u64) {
        let full = ((tokens / BLOCK_TOKENS as u64) as usize).min(self.tables[slot].len());
        let from = self.registered[slot] as usize;
        if full <= from {
            return;
        }
        for j in from..full {
            let h = match self.hashes[slot].get(j) {
                Some(&h) => h,
                None => {
                    let parent = if j == 0 { 0 } else { self.hashes[slot][j - 1] };
                    let h = chain(parent, mix(self.salts[slot] ^ TAG_UNIQUE) ^ j as u64);
                    self.hashes[slot].push(h);
                    h
                }
            };
            let b = self.tables[slot][j];
            if self.hash[b as usize] == 0 && !self.index.contains_key(&h) {
                self.hash[b as usize] = h;
                self.index.insert(h, b);
            }
        }
        self.registered[slot] = full as u32;
    }

    /// Frees `slot`'s blocks, last first; blocks no other request holds join the free queue's
    /// tail with their hashes still findable.
    pub fn release(&mut self, slot: usize) {
        let mut table = std::mem::take(&mut self.tables[slot]);
        for &b in table.iter().rev() {
            let r = &mut self.refs[b as usize];
            *r -= 1;
            if *r == 0 {
                self.push_tail(b);
            }
        }
        table.clear();
        self.tables[slot] = table;
        self.registered[slot] = 0;
    }

    fn unlink(&mut self, b: u32) {
        let (p, n) = (self.prev[b as usize], self.next[b as usize]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p as usize] = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.prev[n as usize] = p;
        }
        self.prev[b as usize] = NIL;
        self.next[b as usize] = NIL;
        self.free -= 1;
    }

    fn push_tail(&mut self, b: u32) {
        self.prev[b as usize] = self.tail;
        self.next[b as usize] = NIL;
        if self.tail == NIL {
            self.head = b;
        } else {
            self.next[self.tail as usize] = b;
        }
        self.tail = b;
        self.free += 1;
    }
}

#[cfg(test)]
#[path = "prefix_tests.rs"]
mod tests;
