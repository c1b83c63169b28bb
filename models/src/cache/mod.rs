//! Response caches at the gateway (ARCHITECTURE.md §4: cost budget → input guardrails → rate
//! limits → **cache** → admission / queue → …).
//!
//! Two kinds, because they fail differently:
//!
//! - An **exact-match** cache ([`ExactCache`]) answers only a prompt it has seen, byte for byte.
//!   Requests carry a prompt key drawn from a Zipf popularity over a catalogue ([`Zipf`]); the
//!   hit ratio *emerges* from the catalogue, the exponent, the capacity, LRU eviction and the TTL.
//!   A hit is always the right answer. It can also keep expired entries to answer, degraded,
//!   while the backends are down.
//! - A **semantic** cache ([`SemanticCache`]) answers prompts that embed close to a stored one.
//!   Its hit ratio depends on an embedding model and threshold that faultline does not simulate,
//!   so it is a parameter, and so is the share of hits that return the answer to a *different*
//!   prompt: the world counts those as wrong-but-accepted, which is the price of a semantic
//!   cache's higher hit ratio.
//!
//! # How the world uses it
//!
//! One [`CacheState`] per replication, built with [`CacheState::new`] from a validated
//! [`CacheConfig`]. For each call reaching the cache step:
//!
//! - **Exact**: the call's key was drawn at arrival with [`CacheState::draw_key`] from a stream
//!   of its own (so every architecture fed the same seed sees the same prompts, whatever the
//!   stages before the cache decide). [`ExactCache::lookup`]`(now, key)`: on [`Lookup::Hit`] the call is
//!   answered from the cache (correct, no backend call, no provider cost); on [`Lookup::Stale`] or
//!   [`Lookup::Miss`] it continues to admission, and when a backend answers successfully the
//!   world calls [`ExactCache::insert`]`(now, key)`. If every backend fails and the fallback
//!   chain reaches its stale-cache step, [`ExactCache::stale_lookup`]`(now, key)`: `true` → the
//!   call is answered *degraded*; `false` → the chain continues with
//!   `FallbackTrigger::CacheMiss`.
//! - **Semantic**: [`SemanticCache::lookup`]`(rng)`: [`SemanticLookup::Hit`] → answered
//!   correctly from the cache; [`SemanticLookup::WrongHit`] → answered from the cache,
//!   wrong-but-accepted; [`SemanticLookup::Miss`] → continue to admission. There is nothing to
//!   insert, and nothing to serve stale.

mod exact;
mod zipf;

pub use exact::{DENSE_INDEX_LIMIT, ExactCache, Lookup, MAX_RESIDENT_ENTRIES};
pub use zipf::{MAX_CATALOGUE, MAX_EXPONENT, Zipf};

use sim_core::{RandomStream, Time};

/// A cache at the gateway, as the scenario describes it.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheConfig {
    Exact {
        /// Distinct prompts requests are drawn from, in `1..=2^40`.
        catalogue_size: u64,
        /// Zipf exponent `s` of prompt popularity (`P(rank k) ∝ k^-s`), in `[0, 100]`; 0 is
        /// uniform. Measured LLM and web request popularity is typically 0.6–1.2.
        zipf_exponent: f64,
        /// Entries held; the least recently used is evicted to make room. 0 holds nothing.
        /// `min(capacity, catalogue_size)` may be at most 2^24.
        capacity: u64,
        /// Entries older than this are not served normally; `None`: entries never expire.
        /// Must be positive.
        ttl: Option<Time>,
        /// Keep expired entries (until LRU evicts them) and serve them, degraded, when every
        /// backend has failed.
        serve_stale_on_outage: bool,
    },
    Semantic {
        /// Probability that a call finds a close-enough stored answer, independently per call.
        hit_probability: f64,
        /// Given a hit, probability that the stored answer belongs to a different prompt.
        wrong_hit_rate: f64,
    },
}

impl CacheConfig {
    /// Checks every field; the message names the field and the accepted range.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            CacheConfig::Exact {
                catalogue_size,
                zipf_exponent,
                capacity,
                ttl,
                serve_stale_on_outage: _,
            } => {
                Zipf::new(catalogue_size, zipf_exponent).map_err(|e| format!("cache: {e}"))?;
                exact::check(catalogue_size, capacity, ttl).map_err(|e| format!("cache: {e}"))?;
                Ok(())
            }
            CacheConfig::Semantic {
                hit_probability,
                wrong_hit_rate,
            } => SemanticCache::new(hit_probability, wrong_hit_rate)
                .map(|_| ())
                .map_err(|e| format!("cache: {e}")),
        }
    }
}

fn probability(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{name} must be a probability in [0, 1], found {value}"
        ))
    }
}

/// Tallies of what a cache did, since it was built or since [`ExactCache::reset_counters`].
///
/// For an exact cache `lookups = hits + misses + stale`; for a semantic one
/// `lookups = hits + wrong_hits + misses`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheCounters {
    pub lookups: u64,
    /// Answered from the cache (for a semantic cache: with the right answer).
    pub hits: u64,
    /// Semantic cache only: answered from the cache with another prompt's answer.
    pub wrong_hits: u64,
    /// Nothing usable; includes lookups that found an expired entry and dropped it.
    pub misses: u64,
    /// Exact cache with stale serving: found an expired entry, kept it, and called the backend.
    pub stale: u64,
    /// Expired entries dropped by a lookup (stale serving off); each is also a miss.
    pub expirations: u64,
    pub inserts: u64,
    /// Entries pushed out by LRU to make room.
    pub evictions: u64,
    /// Outage answers served from the cache (degraded).
    pub stale_serves: u64,
    /// Outage lookups that found nothing to serve.
    pub stale_misses: u64,
}

impl CacheCounters {
    /// Share of lookups answered from the cache (right or wrong); 0 before any lookup.
    pub fn hit_ratio(&self) -> f64 {
        if self.lookups == 0 {
            0.0
        } else {
            (self.hits + self.wrong_hits) as f64 / self.lookups as f64
        }
    }
}

/// What [`SemanticCache::lookup`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SemanticLookup {
    /// Nothing close enough: call the backend.
    Miss,
    /// Answered from the cache with the right answer.
    Hit,
    /// Answered from the cache with another prompt's answer: wrong-but-accepted.
    WrongHit,
}

/// A semantic cache as two probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct SemanticCache {
    hit_probability: f64,
    wrong_hit_rate: f64,
    counters: CacheCounters,
}

impl SemanticCache {
    pub fn new(hit_probability: f64, wrong_hit_rate: f64) -> Result<SemanticCache, String> {
        probability("hit_probability", hit_probability)?;
        probability("wrong_hit_rate", wrong_hit_rate)?;
        Ok(SemanticCache {
            hit_probability,
            wrong_hit_rate,
            counters: CacheCounters::default(),
        })
    }

    /// Decides one call. Always consumes exactly two uniforms, whatever the outcome, so that
    /// the stream stays aligned across configurations (a higher hit probability must not shift
    /// which later calls hit wrongly).
    pub fn lookup(&mut self, rng: &mut RandomStream) -> SemanticLookup {
        let hit = rng.next_f64() < self.hit_probability;
        let wrong = rng.next_f64() < self.wrong_hit_rate;
        self.counters.lookups += 1;
        match (hit, wrong) {
            (false, _) => {
                self.counters.misses += 1;
                SemanticLookup::Miss
            }
            (true, false) => {
                self.counters.hits += 1;
                SemanticLookup::Hit
            }
            (true, true) => {
                self.counters.wrong_hits += 1;
                SemanticLookup::WrongHit
            }
        }
    }

    pub fn hit_probability(&self) -> f64 {
        self.hit_probability
    }

    pub fn wrong_hit_rate(&self) -> f64 {
        self.wrong_hit_rate
    }

    pub fn counters(&self) -> &CacheCounters {
        &self.counters
    }

    pub fn reset_counters(&mut self) {
        self.counters = CacheCounters::default();
    }
}

/// An exact cache together with the popularity its keys are drawn from.
#[derive(Debug, Clone)]
pub struct ExactCacheState {
    pub cache: ExactCache,
    pub zipf: Zipf,
}

/// One replication's cache.
#[derive(Debug, Clone)]
pub enum CacheState {
    Exact(ExactCacheState),
    Semantic(SemanticCache),
}

impl CacheState {
    /// An empty cache for one replication; fails with [`CacheConfig::validate`]'s message.
    pub fn new(config: &CacheConfig) -> Result<CacheState, String> {
        config.validate()?;
        match *config {
            CacheConfig::Exact {
                catalogue_size,
                zipf_exponent,
                capacity,
                ttl,
                serve_stale_on_outage,
            } => Ok(CacheState::Exact(ExactCacheState {
                cache: ExactCache::new(catalogue_size, capacity, ttl, serve_stale_on_outage)?,
                zipf: Zipf::new(catalogue_size, zipf_exponent)?,
            })),
            CacheConfig::Semantic {
                hit_probability,
                wrong_hit_rate,
            } => Ok(CacheState::Semantic(SemanticCache::new(
                hit_probability,
                wrong_hit_rate,
            )?)),
        }
    }

    pub fn counters(&self) -> &CacheCounters {
        match self {
            CacheState::Exact(state) => state.cache.counters(),
            CacheState::Semantic(cache) => cache.counters(),
        }
    }

    pub fn reset_counters(&mut self) {
        match self {
            CacheState::Exact(state) => state.cache.reset_counters(),
            CacheState::Semantic(cache) => cache.reset_counters(),
        }
    }

    /// The prompt key for a new call: a Zipf rank for an exact cache, 0 for a semantic one
    /// (which draws nothing here, so the stream is untouched).
    pub fn draw_key(&self, rng: &mut RandomStream) -> u64 {
        match self {
            CacheState::Exact(state) => state.zipf.sample(rng),
            CacheState::Semantic(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(catalogue_size: u64, zipf_exponent: f64, capacity: u64) -> CacheConfig {
        CacheConfig::Exact {
            catalogue_size,
            zipf_exponent,
            capacity,
            ttl: None,
            serve_stale_on_outage: false,
        }
    }

    #[test]
    fn validation_names_the_field() {
        let err = |c: CacheConfig| c.validate().unwrap_err();
        assert!(err(exact(0, 1.0, 1)).contains("catalogue_size"));
        assert!(err(exact(10, -1.0, 1)).contains("Zipf exponent"));
        assert!(err(exact(1 << 30, 1.0, 1 << 30)).contains("limit"));
        let ttl0 = CacheConfig::Exact {
            catalogue_size: 10,
            zipf_exponent: 1.0,
            capacity: 1,
            ttl: Some(0),
            serve_stale_on_outage: true,
        };
        assert!(err(ttl0).contains("TTL"));
        let semantic = |h, w| CacheConfig::Semantic {
            hit_probability: h,
            wrong_hit_rate: w,
        };
        assert!(err(semantic(1.5, 0.0)).contains("hit_probability"));
        assert!(err(semantic(0.5, f64::NAN)).contains("wrong_hit_rate"));
        assert!(semantic(0.0, 1.0).validate().is_ok());
        assert!(exact(1 << 40, 1.0, 1 << 24).validate().is_ok());
        assert!(CacheState::new(&semantic(2.0, 0.0)).is_err());
    }

    #[test]
    fn semantic_extremes() {
        let mut rng = RandomStream::from_seed(1);
        let mut never = SemanticCache::new(0.0, 1.0).unwrap();
        let mut always_wrong = SemanticCache::new(1.0, 1.0).unwrap();
        let mut always_right = SemanticCache::new(1.0, 0.0).unwrap();
        for _ in 0..1_000 {
            assert_eq!(never.lookup(&mut rng), SemanticLookup::Miss);
            assert_eq!(always_wrong.lookup(&mut rng), SemanticLookup::WrongHit);
            assert_eq!(always_right.lookup(&mut rng), SemanticLookup::Hit);
        }
        // The hit ratio counts wrong hits as hits: the cache answered.
        assert_eq!(never.counters().hit_ratio(), 0.0);
        assert_eq!(always_wrong.counters().wrong_hits, 1_000);
        assert_eq!(always_wrong.counters().hit_ratio(), 1.0);
        assert_eq!(always_right.counters().hit_ratio(), 1.0);
        let mixed = CacheCounters {
            lookups: 8,
            hits: 1,
            wrong_hits: 3,
            misses: 4,
            ..CacheCounters::default()
        };
        assert_eq!(mixed.hit_ratio(), 0.5);
        assert_eq!(CacheCounters::default().hit_ratio(), 0.0, "no lookup yet");
    }

    #[test]
    fn semantic_consumes_two_uniforms_per_call() {
        let mut a = RandomStream::from_seed(5);
        let mut b = RandomStream::from_seed(5);
        let mut cache = SemanticCache::new(0.3, 0.5).unwrap();
        for _ in 0..100 {
            cache.lookup(&mut a);
            b.next_f64();
            b.next_f64();
        }
        assert_eq!(a.next_u64(), b.next_u64());
    }
    #[test]
    fn cache_state_keeps_its_configuration_and_counts_per_kind() {
        // An exact cache over 100 keys (Zipf 0.8) holding 10, TTL 5 s, serving stale.
        let config = CacheConfig::Exact {
            catalogue_size: 100,
            zipf_exponent: 0.8,
            capacity: 10,
            ttl: Some(5_000_000_000),
            serve_stale_on_outage: true,
        };
        let mut state = CacheState::new(&config).unwrap();
        let mut rng = RandomStream::from_seed(3);
        let CacheState::Exact(exact) = &mut state else {
            panic!("an exact configuration builds an exact cache")
        };
        assert_eq!(exact.cache.catalogue_size(), 100);
        assert_eq!(exact.cache.capacity(), 10);
        assert_eq!(exact.cache.ttl(), Some(5_000_000_000));
        assert!(exact.cache.serves_stale());
        assert_eq!(
            (exact.zipf.catalogue_size(), exact.zipf.exponent()),
            (100, 0.8)
        );
        assert_eq!(exact.cache.lookup(0, 7), Lookup::Miss);
        assert_eq!(state.counters().lookups, 1);
        state.reset_counters();
        assert_eq!(state.counters(), &CacheCounters::default());
        assert!((0..1_000).all(|_| state.draw_key(&mut rng) < 100));

        // A semantic cache: its probabilities as given, no key drawn (the stream untouched).
        let mut state = CacheState::new(&CacheConfig::Semantic {
            hit_probability: 0.25,
            wrong_hit_rate: 0.5,
        })
        .unwrap();
        let mut a = RandomStream::from_seed(9);
        let b = a.clone();
        assert_eq!(state.draw_key(&mut a), 0);
        assert_eq!(a.next_u64(), b.clone().next_u64());
        let CacheState::Semantic(semantic) = &mut state else {
            panic!("a semantic configuration builds a semantic cache")
        };
        assert_eq!(semantic.hit_probability(), 0.25);
        assert_eq!(semantic.wrong_hit_rate(), 0.5);
        semantic.lookup(&mut a);
        assert_eq!(state.counters().lookups, 1);
        state.reset_counters();
        assert_eq!(state.counters().lookups, 0);
    }
}
