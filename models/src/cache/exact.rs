//! An exact-match response cache: fixed capacity in entries, least-recently-used eviction, and an
//! optional time to live.
//!
//! Nothing here sets a hit ratio: it emerges from the key stream (Zipf popularity, see
//! [`super::Zipf`]), the capacity, LRU and the TTL, which is what makes a capacity or TTL sweep
//! meaningful.
//!
//! # Freshness and stale serving
//!
//! An entry inserted at `t` is *fresh* while `now < t + ttl` (always, without a TTL) and
//! *expired* from then on. What happens to expired entries depends on `serve_stale_on_outage`:
//!
//! - **off**: an expired entry found by [`ExactCache::lookup`] is dropped there and then, and the
//!   lookup is a [`Lookup::Miss`]. The cache then holds only what it may serve.
//! - **on**: expired entries are kept until LRU pushes them out, because during an outage an old
//!   answer beats none. [`ExactCache::lookup`] reports one as [`Lookup::Stale`], which the
//!   gateway treats as a miss (call the backend, insert on success); if the call fails, the
//!   fallback chain's stale-cache step asks [`ExactCache::stale_lookup`], and any entry present,
//!   fresh or expired, is served and marked *degraded*.
//!
//! Every reference (a lookup that finds the entry, a stale serve, an insert) makes the entry the
//! most recently used. An insert also restarts its TTL; a hit does not (the answer is as old as
//! when it was stored).
//!
//! # Layout
//!
//! Entries live in a `Vec` sized once for `min(capacity, catalogue_size)` entries (the cache can
//! never hold more distinct keys than the catalogue has), threaded into a doubly linked recency
//! list by `u32` slot indices, with a free list for slots released by expiry. The index from key
//! to slot is a `Vec<u32>` indexed by key when the catalogue has at most [`DENSE_INDEX_LIMIT`]
//! prompts (at most 16 MiB), and otherwise a `HashMap<u64, u32>` that is only ever probed, never
//! iterated, so its per-process random hashing cannot influence a result. The map is reserved for
//! twice the entries it can hold: hashbrown then always clears tombstones by rehashing in place
//! instead of growing, so no operation allocates once the cache is built. Lookups and inserts
//! are O(1).

use super::CacheCounters;
use sim_core::Time;
use std::collections::HashMap;

/// Catalogues up to this many prompts index entries with a dense `Vec<u32>` (4 bytes per prompt,
/// 16 MiB at the limit); larger ones use a hash map holding only the cached keys.
pub const DENSE_INDEX_LIMIT: u64 = 1 << 22;

/// Largest number of entries a cache may actually hold, `min(capacity, catalogue_size)`: 24
/// bytes each, so 384 MiB at the limit, per replication.
pub const MAX_RESIDENT_ENTRIES: u64 = 1 << 24;

/// "No slot": the end of a list, or a key not in the cache.
const NIL: u32 = u32::MAX;

/// What [`ExactCache::lookup`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A fresh entry: answer from the cache without calling a backend.
    Hit,
    /// An expired entry, kept because stale serving is on. For normal serving this is a miss:
    /// call the backend and insert on success. It can still be served by
    /// [`ExactCache::stale_lookup`] if the call fails.
    Stale,
    /// Nothing usable: call the backend and insert on success.
    Miss,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    key: u64,
    inserted: Time,
    /// Towards the most recently used end (`NIL` at the head).
    prev: u32,
    /// Towards the least recently used end (`NIL` at the tail); the free list's link for a
    /// free slot.
    next: u32,
}

#[derive(Debug, Clone)]
enum Index {
    Dense(Vec<u32>),
    Sparse(HashMap<u64, u32>),
}

impl Index {
    fn get(&self, key: u64) -> u32 {
        match self {
            Index::Dense(slots) => usize::try_from(key)
                .ok()
                .and_then(|k| slots.get(k))
                .copied()
                .unwrap_or(NIL),
            Index::Sparse(map) => map.get(&key).copied().unwrap_or(NIL),
        }
    }

    /// Callers only pass keys inside the catalogue, which the dense index covers.
    fn set(&mut self, key: u64, slot: u32) {
        match self {
            Index::Dense(slots) => {
                if let Some(s) = usize::try_from(key).ok().and_then(|k| slots.get_mut(k)) {
                    *s = slot;
                }
            }
            Index::Sparse(map) => {
                map.insert(key, slot);
            }
        }
    }

    fn remove(&mut self, key: u64) {
        match self {
            Index::Dense(_) => self.set(key, NIL),
            Index::Sparse(map) => {
                map.remove(&key);
            }
        }
    }
}

/// The rules [`ExactCache::new`] enforces, without building anything.
pub(super) fn check(catalogue_size: u64, capacity: u64, ttl: Option<Time>) -> Result<(), String> {
    if catalogue_size == 0 {
        return Err("the catalogue needs at least one prompt (catalogue_size ≥ 1)".to_string());
    }
    if catalogue_size > super::zipf::MAX_CATALOGUE {
        return Err(format!(
            "catalogue_size {catalogue_size} is above the limit of {} (2^40) prompts",
            super::zipf::MAX_CATALOGUE
        ));
    }
    let resident = capacity.min(catalogue_size);
    if resident > MAX_RESIDENT_ENTRIES {
        return Err(format!(
            "the cache could hold {resident} entries (capacity {capacity}, catalogue \
                 {catalogue_size}); the limit is {MAX_RESIDENT_ENTRIES} (2^24) per replication"
        ));
    }
    if ttl == Some(0) {
        return Err(
            "the cache TTL must be positive (omit it for entries that never \
                        expire); a TTL of 0 would expire every entry as it is stored"
                .to_string(),
        );
    }
    Ok(())
}

/// An exact-match LRU cache with an optional TTL. Keys are prompt ranks in
/// `0..catalogue_size`; a key outside the catalogue is never stored and always misses.
#[derive(Debug, Clone)]
pub struct ExactCache {
    catalogue_size: u64,
    /// Entries the cache may hold: `min(capacity, catalogue_size)`.
    capacity: u32,
    ttl: Option<Time>,
    serve_stale: bool,
    entries: Vec<Entry>,
    index: Index,
    /// Most recently used entry.
    head: u32,
    /// Least recently used entry: the next to be evicted.
    tail: u32,
    /// Slots released by expiry, linked through `next`.
    free: u32,
    len: u32,
    counters: CacheCounters,
}

impl ExactCache {
    /// An empty cache. Validates the same rules as [`super::CacheConfig::validate`].
    pub fn new(
        catalogue_size: u64,
        capacity: u64,
        ttl: Option<Time>,
        serve_stale_on_outage: bool,
    ) -> Result<ExactCache, String> {
        check(catalogue_size, capacity, ttl)?;
        let resident = capacity.min(catalogue_size);
        // Both fit: resident ≤ 2^24 and the dense index is used only below 2^22 keys.
        let capacity = resident as u32;
        let index = if catalogue_size <= DENSE_INDEX_LIMIT {
            Index::Dense(vec![NIL; catalogue_size as usize])
        } else {
            Index::Sparse(HashMap::with_capacity(2 * capacity as usize))
        };
        Ok(ExactCache {
            catalogue_size,
            capacity,
            ttl,
            serve_stale: serve_stale_on_outage,
            entries: Vec::with_capacity(capacity as usize),
            index,
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
            counters: CacheCounters::default(),
        })
    }

    /// Looks `key` up at `now` for normal serving. See the module documentation for the rule on
    /// expired entries.
    pub fn lookup(&mut self, now: Time, key: u64) -> Lookup {
        self.counters.lookups += 1;
        let slot = self.index.get(key);
        if slot == NIL {
            self.counters.misses += 1;
            return Lookup::Miss;
        }
        if self.is_fresh(slot, now) {
            self.touch(slot);
            self.counters.hits += 1;
            Lookup::Hit
        } else if self.serve_stale {
            self.touch(slot);
            self.counters.stale += 1;
            Lookup::Stale
        } else {
            self.release(slot);
            self.counters.expirations += 1;
            self.counters.misses += 1;
            Lookup::Miss
        }
    }

    /// During an outage (the fallback chain's stale-cache step): whether an entry for `key` is
    /// present, fresh or expired, and may be served as a degraded answer. Always `false` when
    /// stale serving is off.
    pub fn stale_lookup(&mut self, _now: Time, key: u64) -> bool {
        let slot = if self.serve_stale {
            self.index.get(key)
        } else {
            NIL
        };
        if slot == NIL {
            self.counters.stale_misses += 1;
            return false;
        }
        self.touch(slot);
        self.counters.stale_serves += 1;
        true
    }

    /// Stores the response for `key` at `now` (after a successful backend call), evicting the
    /// least recently used entry if the cache is full. Storing a key already present refreshes
    /// it. Ignored when the cache holds nothing (capacity 0) or `key` is outside the catalogue.
    pub fn insert(&mut self, now: Time, key: u64) {
        if self.capacity == 0 || key >= self.catalogue_size {
            return;
        }
        self.counters.inserts += 1;
        let existing = self.index.get(key);
        if existing != NIL {
            self.entries[existing as usize].inserted = now;
            self.touch(existing);
            return;
        }
        let slot = if self.len == self.capacity {
            let victim = self.tail;
            self.unlink(victim);
            self.index.remove(self.entries[victim as usize].key);
            self.len -= 1;
            self.counters.evictions += 1;
            victim
        } else if self.free != NIL {
            let slot = self.free;
            self.free = self.entries[slot as usize].next;
            slot
        } else {
            // Within the capacity reserved in `new`: no reallocation.
            self.entries.push(Entry {
                key,
                inserted: now,
                prev: NIL,
                next: NIL,
            });
            (self.entries.len() - 1) as u32
        };
        self.entries[slot as usize] = Entry {
            key,
            inserted: now,
            prev: NIL,
            next: NIL,
        };
        self.push_front(slot);
        self.index.set(key, slot);
        self.len += 1;
    }

    /// Whether `key` is present (fresh or expired), without counting or touching anything.
    pub fn contains(&self, key: u64) -> bool {
        self.index.get(key) != NIL
    }

    /// Entries held, fresh or expired.
    pub fn len(&self) -> u64 {
        u64::from(self.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Entries the cache can hold: `min(capacity, catalogue_size)`.
    pub fn capacity(&self) -> u64 {
        u64::from(self.capacity)
    }

    pub fn catalogue_size(&self) -> u64 {
        self.catalogue_size
    }

    pub fn ttl(&self) -> Option<Time> {
        self.ttl
    }

    pub fn serves_stale(&self) -> bool {
        self.serve_stale
    }

    pub fn counters(&self) -> &CacheCounters {
        &self.counters
    }

    /// Zeroes the counters (at the end of a warm-up) without touching the entries.
    pub fn reset_counters(&mut self) {
        self.counters = CacheCounters::default();
    }

    /// Keys from most to least recently used: for tests and debugging (O(len)).
    pub fn keys_by_recency(&self) -> impl Iterator<Item = u64> + '_ {
        let mut slot = self.head;
        std::iter::from_fn(move || {
            if slot == NIL {
                return None;
            }
            let entry = &self.entries[slot as usize];
            slot = entry.next;
            Some(entry.key)
        })
    }

    fn is_fresh(&self, slot: u32, now: Time) -> bool {
        match self.ttl {
            None => true,
            // A clock that went backwards reads as age 0 rather than wrapping.
            Some(ttl) => now.saturating_sub(self.entries[slot as usize].inserted) < ttl,
        }
    }

    /// Makes `slot` the most recently used.
    fn touch(&mut self, slot: u32) {
        if self.head != slot {
            self.unlink(slot);
            self.push_front(slot);
        }
    }

    /// Drops an entry and puts its slot on the free list.
    fn release(&mut self, slot: u32) {
        self.unlink(slot);
        self.index.remove(self.entries[slot as usize].key);
        self.entries[slot as usize].next = self.free;
        self.free = slot;
        self.len -= 1;
    }

    fn unlink(&mut self, slot: u32) {
        let Entry { prev, next, .. } = self.entries[slot as usize];
        if prev == NIL {
            self.head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
    }

    fn push_front(&mut self, slot: u32) {
        let old_head = self.head;
        {
            let entry = &mut self.entries[slot as usize];
            entry.prev = NIL;
            entry.next = old_head;
        }
        if old_head == NIL {
            self.tail = slot;
        } else {
            self.entries[old_head as usize].prev = slot;
        }
        self.head = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(capacity: u64, ttl: Option<Time>, stale: bool) -> ExactCache {
        ExactCache::new(100, capacity, ttl, stale).unwrap()
    }

    #[test]
    fn evicts_the_least_recently_used() {
        let mut c = cache(2, None, false);
        c.insert(0, 1);
        c.insert(1, 2);
        // Touching 1 makes 2 the least recently used.
        assert_eq!(c.lookup(2, 1), Lookup::Hit);
        c.insert(3, 3);
        assert!(c.contains(1) && c.contains(3) && !c.contains(2));
        assert_eq!(c.keys_by_recency().collect::<Vec<_>>(), [3, 1]);
        assert_eq!(c.counters().evictions, 1);
        // Re-inserting a present key refreshes it and evicts nothing.
        c.insert(4, 1);
        assert_eq!(c.keys_by_recency().collect::<Vec<_>>(), [1, 3]);
        assert_eq!(c.counters().evictions, 1);
        c.insert(5, 4);
        assert_eq!(c.keys_by_recency().collect::<Vec<_>>(), [4, 1]);
        assert_eq!(c.lookup(6, 3), Lookup::Miss);
    }

    #[test]
    fn a_miss_does_not_change_recency() {
        let mut c = cache(2, None, false);
        c.insert(0, 1);
        c.insert(0, 2);
        assert_eq!(c.lookup(1, 9), Lookup::Miss);
        c.insert(2, 3);
        assert_eq!(c.keys_by_recency().collect::<Vec<_>>(), [3, 2]);
    }

    #[test]
    fn capacity_one_and_zero() {
        let mut c = cache(1, None, false);
        c.insert(0, 5);
        c.insert(0, 6);
        assert_eq!(c.keys_by_recency().collect::<Vec<_>>(), [6]);
        let mut z = cache(0, None, true);
        z.insert(0, 5);
        assert_eq!(z.lookup(0, 5), Lookup::Miss);
        assert!(!z.stale_lookup(0, 5));
        assert!(z.is_empty());
    }

    #[test]
    fn ttl_expires_and_drops_without_stale_serving() {
        let mut c = cache(4, Some(10), false);
        c.insert(100, 1);
        assert_eq!(c.lookup(100, 1), Lookup::Hit);
        assert_eq!(c.lookup(109, 1), Lookup::Hit);
        // A hit does not restart the TTL.
        assert_eq!(c.lookup(110, 1), Lookup::Miss);
        assert!(!c.contains(1));
        assert_eq!(c.counters().expirations, 1);
        assert!(!c.stale_lookup(110, 1));
        // The freed slot is reused.
        c.insert(111, 2);
        assert_eq!(c.len(), 1);
        assert_eq!(c.lookup(120, 2), Lookup::Hit);
        // Inserting again restarts the TTL.
        c.insert(120, 2);
        assert_eq!(c.lookup(129, 2), Lookup::Hit);
        assert_eq!(c.lookup(130, 2), Lookup::Miss);
    }

    #[test]
    fn expired_entries_are_kept_for_stale_serving() {
        let mut c = cache(2, Some(10), true);
        c.insert(0, 1);
        assert_eq!(c.lookup(10, 1), Lookup::Stale);
        assert_eq!(c.lookup(1_000, 1), Lookup::Stale);
        assert!(c.stale_lookup(1_000, 1));
        assert!(!c.stale_lookup(1_000, 2));
        // A fresh entry may be served in an outage too.
        c.insert(1_000, 2);
        assert!(c.stale_lookup(1_001, 2));
        // Expired entries still leave by LRU: 1 is least recently used.
        c.insert(1_002, 3);
        assert!(!c.contains(1));
        let k = c.counters();
        assert_eq!((k.stale, k.stale_serves, k.stale_misses), (2, 2, 1));
        assert_eq!(k.lookups, k.hits + k.misses + k.stale);
    }

    #[test]
    fn keys_outside_the_catalogue_always_miss() {
        let mut c = cache(4, None, true);
        c.insert(0, 100);
        c.insert(0, u64::MAX);
        assert_eq!(c.lookup(0, 100), Lookup::Miss);
        assert!(!c.stale_lookup(0, u64::MAX));
        assert!(c.is_empty());
    }

    #[test]
    fn time_going_backwards_reads_as_fresh() {
        let mut c = cache(1, Some(5), false);
        c.insert(100, 1);
        assert_eq!(c.lookup(50, 1), Lookup::Hit);
    }

    #[test]
    fn sparse_index_behaves_like_the_dense_one() {
        let mut dense = ExactCache::new(DENSE_INDEX_LIMIT, 3, Some(7), false).unwrap();
        let mut sparse = ExactCache::new(DENSE_INDEX_LIMIT + 1, 3, Some(7), false).unwrap();
        assert!(matches!(dense.index, Index::Dense(_)));
        assert!(matches!(sparse.index, Index::Sparse(_)));
        let mut rng = sim_core::RandomStream::from_seed(11);
        for t in 0..20_000u64 {
            let key = rng.below(6);
            assert_eq!(dense.lookup(t, key), sparse.lookup(t, key));
            if rng.bernoulli(0.5) {
                dense.insert(t, key);
                sparse.insert(t, key);
            }
        }
        assert_eq!(dense.counters(), sparse.counters());
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(ExactCache::new(0, 1, None, false).is_err());
        assert!(ExactCache::new(10, 1, Some(0), false).is_err());
        assert!(ExactCache::new(u64::MAX, 1, None, false).is_err());
        assert!(ExactCache::new(1 << 30, 1 << 30, None, false).is_err());
        // A capacity above the catalogue is fine: only the catalogue's worth is reserved.
        assert_eq!(
            ExactCache::new(10, u64::MAX, None, false)
                .unwrap()
                .capacity(),
            10
        );
    }
}
