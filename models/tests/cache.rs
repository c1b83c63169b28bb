//! The response cache against theory: the Zipf sampler against its exact pmf, LRU against Che's
//! approximation, the TTL against renewal arithmetic, and the whole cache against a naive
//! reference model under arbitrary operation sequences.
//!
//! Every statistical test runs at fixed seeds, so it is deterministic; the tolerances are chosen
//! so that a correct implementation would fail them at a random seed only rarely (stated per
//! test), while a wrong one (an off-by-one rank, a biased sampler, MRU instead of LRU, a TTL
//! that restarts on hits) misses them by far more.

// A counting global allocator must implement the unsafe GlobalAlloc trait.
#![allow(unsafe_code)]

use models::cache::{
    CacheConfig, CacheState, ExactCache, Lookup, SemanticCache, SemanticLookup, Zipf,
};
use proptest::prelude::*;

mod reach;
use sim_core::{NANOS_PER_SEC, RandomStream, Streams, Time};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations per thread, so the steady-state test can assert there are none while
/// other tests run on other threads.
struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|a| a.set(a.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

// ---------------------------------------------------------------------------------------------
// Exact Zipf probabilities.

/// `Σ_{k=a..=b} k^-s`, summed from the smallest term up for accuracy.
fn partial_sum(a: u64, b: u64, s: f64) -> f64 {
    (a..=b).rev().map(|k| (k as f64).powf(-s)).sum()
}

/// The generalised harmonic number `H(N, s) = Σ_{k=1..N} k^-s`. Up to 10⁶ terms it is summed
/// exactly; beyond, the first 10⁴ terms are summed and the rest is the Euler–Maclaurin formula
/// `Σ_{k=a..b} f(k) = ∫_a^b f + (f(a) + f(b))/2 + (f'(b) − f'(a))/12 − (f'''(b) − f'''(a))/720 + R`
/// with `f(x) = x^-s`, whose remainder at `a = 10⁴` is below 10⁻²⁰ of the sum.
fn harmonic(n: u64, s: f64) -> f64 {
    if n <= 1_000_000 {
        return partial_sum(1, n, s);
    }
    let a = 10_001.0f64;
    let b = n as f64;
    let f = |x: f64| x.powf(-s);
    let f1 = |x: f64| -s * x.powf(-s - 1.0);
    let f3 = |x: f64| -s * (s + 1.0) * (s + 2.0) * x.powf(-s - 3.0);
    let integral = if (s - 1.0).abs() < 1e-12 {
        (b / a).ln()
    } else {
        (b.powf(1.0 - s) - a.powf(1.0 - s)) / (1.0 - s)
    };
    partial_sum(1, 10_000, s) + integral + (f(a) + f(b)) / 2.0 + (f1(b) - f1(a)) / 12.0
        - (f3(b) - f3(a)) / 720.0
}

/// Probabilities of ranks 1..=n (index 0 is rank 1).
fn pmf(n: u64, s: f64) -> Vec<f64> {
    let h = harmonic(n, s);
    (1..=n).map(|k| (k as f64).powf(-s) / h).collect()
}

/// Upper 0.1% point of the chi-square distribution with `df` degrees of freedom, by the
/// Wilson–Hilferty cube-root normal approximation (within 1% of the exact point for df ≥ 5).
fn chi2_critical_999(df: usize) -> f64 {
    let k = df as f64;
    let z = 3.090_232_306;
    let c = 1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt();
    k * c * c * c
}

/// Pearson's statistic over bins of consecutive ranks, merged from the most popular down until
/// each expects at least 20 draws (the last bin absorbs any remainder, including every rank
/// past `probabilities.len()`). Returns (statistic, degrees of freedom).
fn chi_square(counts: &[u64], probabilities: &[f64], draws: u64) -> (f64, usize) {
    let mut bins: Vec<(f64, u64)> = Vec::new();
    let (mut expected, mut observed) = (0.0, 0);
    for (p, &c) in probabilities.iter().zip(counts) {
        expected += p * draws as f64;
        observed += c;
        if expected >= 20.0 {
            bins.push((expected, observed));
            (expected, observed) = (0.0, 0);
        }
    }
    // Everything past the listed ranks.
    let listed: f64 = probabilities.iter().sum();
    expected += (1.0 - listed).max(0.0) * draws as f64;
    observed += counts[probabilities.len()..].iter().sum::<u64>();
    match bins.last_mut() {
        Some(last) if expected < 20.0 => {
            last.0 += expected;
            last.1 += observed;
        }
        _ => bins.push((expected, observed)),
    }
    let statistic = bins.iter().map(|&(e, o)| (o as f64 - e).powi(2) / e).sum();
    (statistic, bins.len() - 1)
}

/// Draws `draws` ranks and tallies the first `tracked` individually; the last slot counts all
/// ranks past them.
fn tally(zipf: &Zipf, seed: u64, draws: u64, tracked: usize) -> Vec<u64> {
    let mut rng = RandomStream::from_seed(seed);
    let mut counts = vec![0u64; tracked + 1];
    for _ in 0..draws {
        let rank = zipf.sample(&mut rng);
        assert!(rank < zipf.catalogue_size());
        counts[(rank as usize).min(tracked)] += 1;
    }
    counts
}

/// Chi-square goodness of fit against the exact pmf at the 0.1% level, at three fixed seeds
/// (a correct sampler fails one of these cases at a random seed with probability about 3% over
/// the whole table). Covers the uniform case, exponents on both sides of 1 and at 1 exactly
/// (where the sampler switches to its series), steep exponents, and catalogues far too large
/// for a table (the top ranks individually, the rest as one bin, normalised by
/// Euler–Maclaurin).
#[test]
fn zipf_frequencies_match_the_exact_pmf() {
    let cases: &[(u64, f64, usize)] = &[
        // (catalogue, exponent, ranks tracked individually)
        (1, 1.0, 1),
        (2, 0.5, 2),
        (10, 1.0, 10),
        (50, 0.0, 50),
        (1_000, 0.8, 1_000),
        (1_000, 1.0, 1_000),
        (1_000, 1.0 - 1e-9, 1_000),
        (1_000, 1.0 + 1e-9, 1_000),
        (1_000, 1.2, 1_000),
        (100, 2.5, 100),
        (20, 7.0, 20),
        (1_000_000, 0.6, 2_000),
        (1_000_000_000, 1.1, 2_000),
        (1 << 40, 0.9, 2_000),
    ];
    let draws = 200_000;
    for &(n, s, tracked) in cases {
        let zipf = Zipf::new(n, s).unwrap();
        let probabilities: Vec<f64> = if n as usize == tracked {
            pmf(n, s)
        } else {
            let h = harmonic(n, s);
            (1..=tracked as u64)
                .map(|k| (k as f64).powf(-s) / h)
                .collect()
        };
        for seed in 1..=3 {
            let counts = tally(&zipf, seed, draws, tracked);
            if n == 1 {
                assert_eq!(counts[0], draws);
                continue;
            }
            let (statistic, df) = chi_square(&counts, &probabilities, draws);
            let critical = chi2_critical_999(df.max(1));
            println!(
                "zipf n={n} s={s} seed={seed}: chi2 = {statistic:.1} on {df} df (0.1% point {critical:.1})"
            );
            assert!(
                statistic < critical,
                "n={n} s={s} seed={seed}: chi2 {statistic:.1} ≥ {critical:.1} on {df} df"
            );
        }
    }
}

/// Rank 1's share alone, with a tight interval, at a heavy sample: a sampler that is off by one
/// rank, or loses the region of rank 1 below 1.5, misses it by several percent.
#[test]
fn zipf_top_rank_share_is_exact() {
    for (n, s) in [(1_000u64, 1.0), (1_000_000, 0.8), (10, 2.0)] {
        let zipf = Zipf::new(n, s).unwrap();
        let draws = 1_000_000u64;
        let counts = tally(&zipf, 99, draws, 1);
        let p = 1.0 / harmonic(n, s);
        let share = counts[0] as f64 / draws as f64;
        // 4 standard errors: exceeded with probability 6e-5 at a random seed.
        let bound = 4.0 * (p * (1.0 - p) / draws as f64).sqrt();
        println!("zipf n={n} s={s}: rank-1 share {share:.5}, exact {p:.5} ± {bound:.5}");
        assert!((share - p).abs() < bound, "n={n} s={s}: {share} vs {p}");
    }
}

/// Results users have reported must not change under them: the first draws at a fixed seed are
/// pinned (they move only if the sampler, the libm functions or the stream change).
#[test]
fn zipf_draws_are_pinned() {
    let zipf = Zipf::new(1_000, 1.0).unwrap();
    let mut rng = Streams::new(42, 0).stream("tenants.chat", "cache-keys");
    let draws: Vec<u64> = (0..12).map(|_| zipf.sample(&mut rng)).collect();
    assert_eq!(draws, PINNED_DRAWS, "{draws:?}");
}

const PINNED_DRAWS: [u64; 12] = [18, 272, 7, 28, 68, 25, 0, 3, 114, 20, 26, 6];

// ---------------------------------------------------------------------------------------------
// LRU under the independent reference model: Che's approximation.

/// Runs an exact cache under the independent reference model (every request's key an
/// independent Zipf draw; a miss is inserted at once) and returns the hit ratio measured after
/// `warmup` requests.
fn irm_hit_ratio(
    cache: &mut ExactCache,
    zipf: &Zipf,
    seed: u64,
    warmup: u64,
    requests: u64,
) -> f64 {
    let mut rng = RandomStream::from_seed(seed);
    for i in 0..warmup + requests {
        if i == warmup {
            cache.reset_counters();
        }
        let key = zipf.sample(&mut rng);
        if cache.lookup(i, key) != Lookup::Hit {
            cache.insert(i, key);
        }
        assert!(cache.len() <= cache.capacity());
    }
    cache.counters().hit_ratio()
}

/// Che's approximation (Che, Tung & Wang, IEEE JSAC 2002; justified by Fricker, Robert &
/// Roberts, ITC 2012).
///
/// Derivation. Let requests arrive as a Poisson process of rate 1, each for item `i` with
/// probability `p_i` independently (the IRM), so item `i`'s requests are a Poisson process of
/// rate `p_i`. Under LRU, item `i` is in the cache at time `t` iff fewer than `C` distinct
/// *other* items have been requested since its last request. Let `T_C` be the *characteristic
/// time*: how long it takes, from some instant, for `C` distinct items to be requested. Item `i`
/// is then in the cache iff it was requested within the last `T_C`. Che's step is to treat `T_C`
/// as a constant, the same for every item (for large catalogues it concentrates, and excluding
/// item `i` from the count changes it little). Then item `i` is in the cache with probability
/// `P(at least one request for i in T_C) = 1 − e^{−p_i T_C}`, and since the cache holds exactly `C` items once full,
/// `Σ_i (1 − e^{−p_i T_C}) = C`, which fixes `T_C`. A request for `i` is a hit iff `i` is in
/// the cache at that moment (by PASTA, the time-stationary probability), so the hit ratio is
/// `Σ_i p_i (1 − e^{−p_i T_C})`. (The test below steps requests, not Poisson time: LRU only
/// sees the order of requests, which is the same i.i.d. sequence either way.)
///
/// `Σ_i (1 − e^{−p_i T})` increases from 0 to `N` in `T`, so for `C < N` the root is unique
/// and bisection finds it.
fn che_hit_ratio(p: &[f64], capacity: u64) -> f64 {
    let occupancy = |t: f64| p.iter().map(|&pi| 1.0 - (-pi * t).exp()).sum::<f64>();
    let (mut low, mut high) = (0.0f64, 1.0f64);
    while occupancy(high) < capacity as f64 {
        high *= 2.0;
    }
    for _ in 0..200 {
        let mid = 0.5 * (low + high);
        if occupancy(mid) < capacity as f64 {
            low = mid;
        } else {
            high = mid;
        }
    }
    let t = 0.5 * (low + high);
    p.iter().map(|&pi| pi * (1.0 - (-pi * t).exp())).sum()
}

/// The measured LRU hit ratio matches Che's approximation within 0.5 percentage points over
/// 2·10⁶ requests after a warm-up of 2·10⁵ (measured: within 0.07 point in every case). The
/// sampling error of one run is about 0.1 point. The tolerance separates LRU from its
/// neighbours: FIFO or random eviction (whose IRM hit ratio is `Σ p_i² T/(1 + p_i T)` with
/// `Σ p_i T/(1 + p_i T) = C`) sits 2.3–6.0 points below Che's value in these cases, and a
/// perfect-frequency cache holding the top `C` prompts 8–14 points above.
#[test]
fn lru_hit_ratio_matches_ches_approximation() {
    let cases: &[(u64, f64, u64)] = &[
        // (catalogue, exponent, capacity)
        (10_000, 0.8, 100),
        (10_000, 0.8, 1_000),
        (100_000, 1.0, 1_000),
        (1_000, 1.2, 50),
        (5_000, 0.6, 2_500),
    ];
    for (case, &(n, s, capacity)) in cases.iter().enumerate() {
        let zipf = Zipf::new(n, s).unwrap();
        let mut cache = ExactCache::new(n, capacity, None, false).unwrap();
        let measured = irm_hit_ratio(&mut cache, &zipf, 1_000 + case as u64, 200_000, 2_000_000);
        let che = che_hit_ratio(&pmf(n, s), capacity);
        println!(
            "LRU n={n} s={s} C={capacity}: measured {:.4}, Che {:.4}, diff {:+.2} pp",
            measured,
            che,
            100.0 * (measured - che)
        );
        assert!(
            (measured - che).abs() < 0.005,
            "n={n} s={s} C={capacity}: measured {measured:.4}, Che {che:.4}"
        );
    }
}

/// With no TTL and room for the whole catalogue nothing is ever evicted, so every key misses
/// exactly once (its first request) and the hit ratio tends to 1: after `r` requests it is
/// exactly `1 − distinct/r`, and once every prompt has been seen, every lookup hits.
#[test]
fn whole_catalogue_without_ttl_only_misses_first_requests() {
    let (n, s) = (2_000u64, 0.9);
    let zipf = Zipf::new(n, s).unwrap();
    let mut cache = ExactCache::new(n, n, None, true).unwrap();
    let mut rng = RandomStream::from_seed(8);
    let mut seen = vec![false; n as usize];
    let mut distinct = 0u64;
    let mut ratios = Vec::new();
    let requests = 1_000_000u64;
    for i in 1..=requests {
        let key = zipf.sample(&mut rng);
        let first = !std::mem::replace(&mut seen[key as usize], true);
        distinct += u64::from(first);
        let result = cache.lookup(i, key);
        assert_eq!(result == Lookup::Miss, first);
        if result != Lookup::Hit {
            cache.insert(i, key);
        }
        if i % 250_000 == 0 {
            ratios.push(cache.counters().hit_ratio());
        }
    }
    let k = *cache.counters();
    assert_eq!((k.misses, k.hits), (distinct, requests - distinct));
    assert_eq!(k.evictions, 0);
    assert!(ratios.windows(2).all(|w| w[0] < w[1]), "{ratios:?}");
    println!("whole catalogue: hit ratio {ratios:?} after each 250k requests");
    // Every prompt has been seen (the rarest has probability 1.3e-4 per request).
    assert_eq!(distinct, n);
    cache.reset_counters();
    for i in 0..100_000 {
        let key = zipf.sample(&mut rng);
        assert_eq!(cache.lookup(requests + i, key), Lookup::Hit);
    }
    assert_eq!(cache.counters().hit_ratio(), 1.0);
}

/// Once built, no lookup, insert, stale lookup or key draw allocates: with the dense index and
/// with the hash-map index (where evictions and expiries leave tombstones that hashbrown must
/// clear in place rather than by growing), over a long churn of evictions and expiries.
#[test]
fn steady_state_operations_do_not_allocate() {
    for catalogue in [100_000u64, 1 << 30] {
        let zipf = Zipf::new(catalogue, 1.2).unwrap();
        let mut cache = ExactCache::new(catalogue, 1_000, Some(800), false).unwrap();
        let mut rng = RandomStream::from_seed(12);
        let before = ALLOCATIONS.with(Cell::get);
        for i in 0..500_000u64 {
            let key = zipf.sample(&mut rng);
            if cache.lookup(i, key) != Lookup::Hit {
                cache.insert(i, key);
            }
            if i % 7 == 0 {
                cache.stale_lookup(i, key);
            }
        }
        let allocations = ALLOCATIONS.with(Cell::get) - before;
        let k = cache.counters();
        assert!(k.evictions > 10_000 && k.expirations > 10_000, "{k:?}");
        assert_eq!(allocations, 0, "catalogue {catalogue}");
    }
}

// ---------------------------------------------------------------------------------------------
// TTL against renewal arithmetic.

/// With room for the whole catalogue and a TTL `τ`, under Poisson arrivals of total rate `Λ`,
/// key `i` is requested as a Poisson process of rate `λ_i = Λ p_i`. A miss stores the key at
/// that instant; the requests in the next `τ` hit (a hit does not restart the TTL), and the
/// first request after that misses and stores it again. So each key runs through renewal cycles
/// of one miss followed by a Poisson(`λ_i τ`) number of hits (memorylessness: the wait past
/// `τ` does not matter), and by the renewal-reward theorem its hit ratio is exactly
/// `λ_i τ / (1 + λ_i τ)`; overall `Σ_i p_i λ_i τ / (1 + λ_i τ)`. This is exact, not an
/// approximation, so the tolerance is only sampling error: 0.5 point against a standard error
/// of about 0.1 point over 10⁶ requests.
///
/// Run both with stale serving off (expired entries dropped, lookups miss) and on (kept,
/// lookups report `Stale`): the same requests hit either way.
#[test]
fn ttl_hit_ratio_matches_renewal_arithmetic() {
    let (n, s) = (1_000u64, 0.9);
    let rate_per_s = 1_000.0;
    let ttl: Time = NANOS_PER_SEC;
    let zipf = Zipf::new(n, s).unwrap();
    let p = pmf(n, s);
    let tau = ttl as f64 / NANOS_PER_SEC as f64;
    let expected: f64 = p
        .iter()
        .map(|&pi| {
            let x = rate_per_s * pi * tau;
            pi * x / (1.0 + x)
        })
        .sum();
    let mut outcomes = Vec::new();
    for stale in [false, true] {
        let mut cache = ExactCache::new(n, n, Some(ttl), stale).unwrap();
        let mut rng = RandomStream::from_seed(21);
        let mut now: Time = 0;
        let warmup = 100_000;
        for i in 0..warmup + 1_000_000 {
            if i == warmup {
                cache.reset_counters();
            }
            let gap_s = -rng.next_open01().ln() / rate_per_s;
            now += (gap_s * NANOS_PER_SEC as f64) as Time;
            let key = zipf.sample(&mut rng);
            if cache.lookup(now, key) != Lookup::Hit {
                cache.insert(now, key);
            }
        }
        let k = *cache.counters();
        println!(
            "TTL stale={stale}: measured {:.4}, renewal {expected:.4}",
            k.hit_ratio()
        );
        assert!((k.hit_ratio() - expected).abs() < 0.005);
        if stale {
            assert_eq!(k.expirations, 0);
        } else {
            assert_eq!(k.stale, 0);
            assert!(k.expirations > 0);
        }
        outcomes.push(k);
    }
    assert_eq!(outcomes[0].hits, outcomes[1].hits);
    assert_eq!(outcomes[0].expirations, outcomes[1].stale);
}

// ---------------------------------------------------------------------------------------------
// Semantic cache and the per-replication state.

/// Hit and wrong-hit shares match `h (1 − w)` and `h w` within 4 standard errors.
#[test]
fn semantic_shares_match_their_probabilities() {
    let (h, w) = (0.35, 0.08);
    let mut cache = SemanticCache::new(h, w).unwrap();
    let mut rng = RandomStream::from_seed(4);
    let draws = 1_000_000u64;
    let mut wrong = 0u64;
    for _ in 0..draws {
        wrong += u64::from(cache.lookup(&mut rng) == SemanticLookup::WrongHit);
    }
    let k = cache.counters();
    assert_eq!(k.wrong_hits, wrong);
    assert_eq!(k.lookups, k.hits + k.wrong_hits + k.misses);
    for (observed, p) in [(k.hits, h * (1.0 - w)), (k.wrong_hits, h * w)] {
        let share = observed as f64 / draws as f64;
        let bound = 4.0 * (p * (1.0 - p) / draws as f64).sqrt();
        assert!((share - p).abs() < bound, "{share} vs {p}");
    }
}

/// One seed reproduces everything: two replications built from the same config and stream
/// agree on every key and counter.
#[test]
fn cache_state_is_deterministic() {
    let config = CacheConfig::Exact {
        catalogue_size: 50_000,
        zipf_exponent: 1.05,
        capacity: 500,
        ttl: Some(30 * NANOS_PER_SEC),
        serve_stale_on_outage: true,
    };
    let run = || {
        let mut state = CacheState::new(&config).unwrap();
        let mut rng = Streams::new(7, 2).stream("tenants.chat", "cache-keys");
        for i in 0..200_000u64 {
            let key = state.draw_key(&mut rng);
            let now = i * 1_000_000;
            let CacheState::Exact(exact) = &mut state else {
                unreachable!()
            };
            if exact.cache.lookup(now, key) != Lookup::Hit {
                if i % 10 == 0 {
                    exact.cache.stale_lookup(now, key);
                } else {
                    exact.cache.insert(now, key);
                }
            }
        }
        *state.counters()
    };
    let first = run();
    assert_eq!(first, run());
    assert!(first.hits > 0 && first.evictions > 0 && first.stale > 0 && first.stale_serves > 0);
}

// ---------------------------------------------------------------------------------------------
// Properties against a reference model.

#[derive(Debug, Clone)]
enum Op {
    Lookup(u64),
    Insert(u64),
    Stale(u64),
    Advance(Time),
}

fn op(catalogue: u64) -> impl Strategy<Value = Op> {
    // Keys run one past the catalogue so out-of-catalogue keys are exercised too.
    prop_oneof![
        3 => (0..=catalogue).prop_map(Op::Lookup),
        3 => (0..=catalogue).prop_map(Op::Insert),
        1 => (0..=catalogue).prop_map(Op::Stale),
        2 => (0..8u64).prop_map(Op::Advance),
    ]
}

/// The obvious implementation: a `Vec` of (key, inserted), most recently used first.
struct Reference {
    catalogue: u64,
    capacity: usize,
    ttl: Option<Time>,
    stale: bool,
    entries: Vec<(u64, Time)>,
}

impl Reference {
    fn position(&self, key: u64) -> Option<usize> {
        self.entries.iter().position(|&(k, _)| k == key)
    }

    fn promote(&mut self, i: usize) {
        let e = self.entries.remove(i);
        self.entries.insert(0, e);
    }

    fn lookup(&mut self, now: Time, key: u64) -> Lookup {
        let Some(i) = self.position(key) else {
            return Lookup::Miss;
        };
        let fresh = self
            .ttl
            .is_none_or(|ttl| now.saturating_sub(self.entries[i].1) < ttl);
        if fresh {
            self.promote(i);
            Lookup::Hit
        } else if self.stale {
            self.promote(i);
            Lookup::Stale
        } else {
            self.entries.remove(i);
            Lookup::Miss
        }
    }

    fn stale_lookup(&mut self, key: u64) -> bool {
        match self.position(key) {
            Some(i) if self.stale => {
                self.promote(i);
                true
            }
            _ => false,
        }
    }

    fn insert(&mut self, now: Time, key: u64) {
        if self.capacity == 0 || key >= self.catalogue {
            return;
        }
        if let Some(i) = self.position(key) {
            self.entries.remove(i);
        } else if self.entries.len() == self.capacity {
            self.entries.pop();
        }
        self.entries.insert(0, (key, now));
    }
}

fn setup() -> impl Strategy<Value = (u64, u64, Option<Time>, bool, Vec<Op>)> {
    (
        1..12u64,
        0..8u64,
        proptest::option::of(1..20u64),
        any::<bool>(),
    )
        .prop_flat_map(|(catalogue, capacity, ttl, stale)| {
            (
                Just(catalogue),
                Just(capacity),
                Just(ttl),
                Just(stale),
                proptest::collection::vec(op(catalogue), 0..200),
            )
        })
}

/// Every answer, the recency order and the size agree with the reference model after every
/// operation; the cache never holds more than its capacity; counters add up. LRU evicts in
/// about 47% (the test asks for 20%) of the cases, an entry expires (dropped or served stale) in about 32% (the test asks for 15%), and
/// a lookup hits in about 79% (the test asks for 40%).
#[test]
fn matches_the_reference_model() {
    reach::check(
        512,
        setup(),
        [
            ("an eviction", 0.2),
            ("an expired entry found", 0.15),
            ("a hit", 0.4),
        ],
        |(catalogue, capacity, ttl, stale, ops)| {
            let mut cache = ExactCache::new(catalogue, capacity, ttl, stale).unwrap();
            let mut reference = Reference {
                catalogue,
                capacity: capacity.min(catalogue) as usize,
                ttl,
                stale,
                entries: Vec::new(),
            };
            let mut now: Time = 0;
            for op in ops {
                match op {
                    Op::Lookup(key) => {
                        prop_assert_eq!(cache.lookup(now, key), reference.lookup(now, key))
                    }
                    Op::Insert(key) => {
                        cache.insert(now, key);
                        reference.insert(now, key);
                    }
                    Op::Stale(key) => {
                        prop_assert_eq!(cache.stale_lookup(now, key), reference.stale_lookup(key))
                    }
                    Op::Advance(dt) => now += dt,
                }
                prop_assert!(cache.len() <= capacity);
                prop_assert_eq!(cache.len() as usize, reference.entries.len());
                let order: Vec<u64> = cache.keys_by_recency().collect();
                let expected: Vec<u64> = reference.entries.iter().map(|&(k, _)| k).collect();
                prop_assert_eq!(order, expected);
            }
            let k = cache.counters();
            prop_assert_eq!(k.lookups, k.hits + k.misses + k.stale);
            Ok([k.evictions > 0, k.expirations + k.stale > 0, k.hits > 0])
        },
    );
}

/// Whatever came before, a key of the catalogue just inserted is a hit at the same instant (any
/// capacity ≥ 1, any TTL, stale serving on or off). The insert has to evict (the cache full,
/// the key not in it) in about 37% (the test asks for 15%) of the cases.
#[test]
fn a_key_just_inserted_is_a_hit() {
    reach::check(
        512,
        (setup(), any::<u64>()),
        [("the insert evicts", 0.15)],
        |((catalogue, capacity, ttl, stale, ops), pick)| {
            let mut cache = ExactCache::new(catalogue, capacity.max(1), ttl, stale).unwrap();
            let mut now: Time = 0;
            for op in ops {
                match op {
                    Op::Lookup(key) => {
                        cache.lookup(now, key);
                    }
                    Op::Insert(key) => cache.insert(now, key),
                    Op::Stale(key) => {
                        cache.stale_lookup(now, key);
                    }
                    Op::Advance(dt) => now += dt,
                }
            }
            let key = pick % catalogue;
            let evictions = cache.counters().evictions;
            cache.insert(now, key);
            prop_assert_eq!(cache.lookup(now, key), Lookup::Hit);
            prop_assert!(cache.len() <= capacity.max(1));
            Ok([cache.counters().evictions > evictions])
        },
    );
}

/// No parameters can make the constructors or the sampler panic. An exact cache is valid and
/// built in about 62% (the test asks for 30%) of the cases, a semantic one in about 75% (the test asks for 35%): each
/// parameter is drawn from its valid range three times in four and from anything otherwise
/// (drawn from anything alone, a catalogue of at most 2^20 prompts came up in 2^-44 of the
/// cases and the exact cache was never built).
#[test]
fn no_input_panics() {
    let anything_or = |valid: std::ops::Range<f64>| prop_oneof![3 => valid, 1 => any::<f64>()];
    let strategy = (
        prop_oneof![3 => 1u64..1 << 12, 1 => any::<u64>()],
        anything_or(0.0..3.0),
        any::<u64>(),
        proptest::option::of(any::<u64>()),
        anything_or(0.0..1.0),
        anything_or(0.0..1.0),
        any::<u64>(),
    );
    reach::check(
        256,
        strategy,
        [
            ("an exact cache built", 0.3),
            ("a semantic cache built", 0.35),
        ],
        |(catalogue, exponent, capacity, ttl, h, w, seed)| {
            let exact = CacheConfig::Exact {
                catalogue_size: catalogue,
                zipf_exponent: exponent,
                capacity,
                ttl,
                serve_stale_on_outage: true,
            };
            // Only build what validation accepts and is small enough to allocate in a test.
            let mut built = [false; 2];
            if exact.validate().is_ok() && catalogue <= 1 << 20 {
                let state = CacheState::new(&exact).unwrap();
                let mut rng = RandomStream::from_seed(seed);
                for _ in 0..20 {
                    let key = state.draw_key(&mut rng);
                    prop_assert!(key < catalogue);
                }
                built[0] = true;
            }
            let _ = Zipf::new(catalogue, exponent)
                .map(|z| z.sample(&mut RandomStream::from_seed(seed)));
            let semantic = CacheConfig::Semantic {
                hit_probability: h,
                wrong_hit_rate: w,
            };
            if let Ok(CacheState::Semantic(mut cache)) = CacheState::new(&semantic) {
                cache.lookup(&mut RandomStream::from_seed(seed));
                built[1] = true;
            }
            Ok(built)
        },
    );
}
