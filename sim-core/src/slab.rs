//! Storage for in-flight things (requests, attempts) with free-list reuse and generations.
//!
//! A slab keeps the steady state allocation-free: a finished request's slot is reused by the next
//! one. Every slot carries a generation that changes on reuse, so an event that refers to a slot
//! (a timeout for an attempt, say) can tell whether the thing it was scheduled for still lives
//! there; that is how events are cancelled without searching the heap. Keys carry 16 bits of the
//! generation to keep events at 8 bytes; handlers that need certainty also compare the time the
//! event was scheduled for with the time the live occupant expects (see `models`).

/// A reference to a slab slot as it was when the key was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// The slot's position in the slab.
    pub index: u32,
    /// The slot's generation when the key was made; it wraps after 65,536 reuses of one slot.
    pub generation: u16,
}

struct Slot<T> {
    generation: u16,
    value: Option<T>,
}

/// Values of type `T` addressed by [`Key`]s that go stale when their value is removed, so an event
/// holding one can find out its target is gone. Memory is the peak number of live values.
pub struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab; allocates nothing until the first insert.
    pub fn new() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
        }
    }

    /// Stores `value`, reusing the most recently freed slot if there is one (with its generation
    /// advanced, so old keys to that slot no longer match). Panics past 2^32 slots.
    #[inline]
    pub fn insert(&mut self, value: T) -> Key {
        self.live += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.generation = slot.generation.wrapping_add(1);
            slot.value = Some(value);
            Key {
                index,
                generation: slot.generation,
            }
        } else {
            let index = u32::try_from(self.slots.len()).expect("more than 2^32 live entries");
            self.slots.push(Slot {
                generation: 0,
                value: Some(value),
            });
            Key {
                index,
                generation: 0,
            }
        }
    }

    /// The value if `key` still refers to it.
    #[inline]
    pub fn get(&self, key: Key) -> Option<&T> {
        let slot = self.slots.get(key.index as usize)?;
        if slot.generation == key.generation {
            slot.value.as_ref()
        } else {
            None
        }
    }

    /// The value, mutably, if `key` still refers to it.
    #[inline]
    pub fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation == key.generation {
            slot.value.as_mut()
        } else {
            None
        }
    }

    /// Removes and returns the value if `key` still refers to it.
    #[inline]
    pub fn remove(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index as usize)?;
        if slot.generation != key.generation {
            return None;
        }
        let value = slot.value.take()?;
        self.free.push(key.index);
        self.live -= 1;
        Some(value)
    }

    /// The key of the live value at `index`, for components that hold plain indices (a GPU
    /// replica knows its requests by a `u32` id and keeps them until it reports them back).
    pub fn key_at(&self, index: u32) -> Option<Key> {
        let slot = self.slots.get(index as usize)?;
        slot.value.as_ref().map(|_| Key {
            index,
            generation: slot.generation,
        })
    }

    /// The number of live values.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no value is live.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Slots ever allocated: the high-water mark of live entries.
    pub fn capacity_used(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_keys_do_not_reach_a_reused_slot() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_eq!(a.index, b.index, "the freed slot is reused");
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.capacity_used(), 1);
    }
}
