use super::*;

const GROUP: PromptKey<'static> = PromptKey::Shared {
    group: 7,
    tokens: 100,
};

#[test]
fn a_shared_system_prompt_hits_its_full_blocks_only() {
    // 566-token prompts whose first 100 tokens are group 7's system prompt: blocks 0..=5
    // (tokens 0..96) are the system prompt's alone; block 6 (96..112) mixes in the question.
    let mut c = PrefixCache::new(100);
    c.set_prompt(0, GROUP, 566, 1);
    assert_eq!(c.probe(0, 566), (0, 0));
    assert_eq!(c.need(0, 566), 36);
    assert_eq!(c.acquire(0, 566), 0);
    c.register(0, 566);
    // 566 / 16 = 35 full blocks registered; the 36th holds 6 tokens and is not.
    assert_eq!(c.cached_blocks(), 35);
    assert_eq!(c.free_blocks(), 64);
    c.set_prompt(1, GROUP, 566, 2);
    // Six blocks hit, all held by request 0: they cost no free block.
    assert_eq!(c.probe(1, 566), (6, 0));
    assert_eq!(c.need(1, 566), 30);
    assert_eq!(c.acquire(1, 566), 96);
    assert_eq!(c.free_blocks(), 34);
    // Another group shares nothing.
    c.set_prompt(
        2,
        PromptKey::Shared {
            group: 8,
            tokens: 100,
        },
        566,
        3,
    );
    assert_eq!(c.probe(2, 566), (0, 0));
    let k = c.counters();
    assert_eq!((k.query_tokens, k.hit_tokens), (565 * 2, 96));
}

#[test]
fn the_whole_prompt_is_never_a_hit() {
    // A prompt of exactly two blocks seen before: only the first may hit, so one token is
    // computed (vLLM caps hits at tokens − 1).
    let ids = [5u64];
    let key = PromptKey::Ids {
        ids: &ids,
        tokens_per_id: 512,
    };
    let mut c = PrefixCache::new(10);
    c.set_prompt(0, key, 32, 1);
    c.acquire(0, 32);
    c.register(0, 32);
    c.set_prompt(1, key, 32, 2);
    assert_eq!(c.probe(1, 32), (1, 0));
    // With 33 tokens (the same ids) both full blocks may hit.
    c.set_prompt(2, key, 33, 3);
    assert_eq!(c.probe(2, 33), (2, 0));
}

#[test]
fn freed_blocks_stay_cached_until_lru_eviction() {
    // 40 blocks. Request 0 takes blocks 0..36 and registers 35 of them; freed, they join the
    // free queue's tail last block first: 36 37 38 39 35 34 … 0.
    let mut c = PrefixCache::new(40);
    c.set_prompt(0, GROUP, 566, 1);
    c.acquire(0, 566);
    c.register(0, 566);
    c.release(0);
    assert_eq!(c.free_blocks(), 40);
    assert_eq!(c.cached_blocks(), 35);
    // A unique request of 160 tokens takes 10 blocks from the head: 36..39 (never used), then
    // 35 (unhashed), 34, 33, 32, 31, 30 (five cached blocks evicted).
    c.set_prompt(1, PromptKey::Unique, 160, 2);
    assert_eq!(c.acquire(1, 160), 0);
    assert_eq!(c.counters().evictions, 5);
    assert_eq!(c.cached_blocks(), 30);
    // The group's prefix (blocks 0..6) is still cached, and free: taking it costs free blocks.
    c.set_prompt(2, GROUP, 566, 3);
    assert_eq!(c.probe(2, 566), (6, 6));
    assert_eq!(c.need(2, 566), 36);
    // Request 0 itself, readmitted (its hashes are those of its prompt), finds 30 blocks.
    c.set_prompt(3, GROUP, 566, 1);
    assert_eq!(c.probe(3, 566), (30, 30));
}

#[test]
fn shared_blocks_are_freed_only_by_their_last_holder() {
    let mut c = PrefixCache::new(100);
    c.set_prompt(0, GROUP, 566, 1);
    c.acquire(0, 566);
    c.register(0, 566);
    c.set_prompt(1, GROUP, 566, 2);
    c.acquire(1, 566);
    assert_eq!(c.free_blocks(), 100 - 36 - 30);
    c.release(0);
    // Request 0's 30 own blocks are free; the 6 shared ones are still held by request 1,
    // which holds 36 in all.
    assert_eq!(c.free_blocks(), 100 - 36);
    c.release(1);
    assert_eq!(c.free_blocks(), 100);
}

#[test]
fn generated_blocks_are_registered_and_unique_to_their_request() {
    let mut c = PrefixCache::new(100);
    c.set_prompt(0, GROUP, 20, 1);
    c.acquire(0, 20);
    c.register(0, 20);
    // Decoding to 40 tokens of KV: blocks 0 (prompt) and 1 (prompt tail + generated) full.
    c.grow(0, 3);
    c.register(0, 40);
    assert_eq!(c.cached_blocks(), 2);
    c.release(0);
    // Preempted and readmitted in its slot, it finds both (the second holds its own generated
    // tokens) and recomputes only the rest.
    assert_eq!(c.probe(0, 41), (2, 2));
    // Another request of the group finds block 0 only.
    c.set_prompt(2, GROUP, 20, 9);
    assert_eq!(c.probe(2, 41), (1, 1));
}

#[test]
fn reset_forgets_everything() {
    let mut c = PrefixCache::new(10);
    c.set_prompt(0, GROUP, 100, 1);
    c.acquire(0, 100);
    c.register(0, 100);
    c.reset();
    assert_eq!(c.free_blocks(), 10);
    assert_eq!(c.cached_blocks(), 0);
    c.set_prompt(1, GROUP, 100, 2);
    assert_eq!(c.probe(1, 100), (0, 0));
}
