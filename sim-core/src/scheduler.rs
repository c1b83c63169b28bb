//! The future-event list: a binary heap ordered by `(time, sequence)`.
//!
//! The sequence number is a global insertion counter, so events at the same instant run in the
//! order they were scheduled; this is what makes a run a pure function of its seed. Entries are
//! kept small (time, sequence and an 8-byte event: 24 bytes) because heap operations dominate the
//! engine's cost and move whole entries. Nothing is ever removed from the middle of the heap:
//! cancellation is lazy (see [`crate::slab`]), and a stale event is dropped by its handler.

use crate::time::Time;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    time: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Entry<E> {
    /// `(time, seq)` as one number, so that ordering two entries is one wide comparison
    /// rather than two dependent ones.
    #[inline]
    fn key(&self) -> u128 {
        (u128::from(self.time) << 64) | u128::from(self.seq)
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest entry first.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// A deterministic event scheduler over events of type `E`.
pub struct Scheduler<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
    now: Time,
    /// The sequence number of the entry popped last (the event being handled).
    now_seq: u64,
}

impl<E: Copy> Default for Scheduler<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Scheduler<E> {
    /// An empty scheduler at time 0. Room for 1,024 pending events is reserved up front so a typical
    /// run's heap never grows after the first moments.
    pub fn new() -> Self {
        Scheduler {
            heap: BinaryHeap::with_capacity(1024),
            next_seq: 0,
            now: 0,
            now_seq: 0,
        }
    }

    /// The time of the event most recently popped.
    pub fn now(&self) -> Time {
        self.now
    }

    /// Schedules `event` at absolute time `at`. Scheduling in the past is a logic error; the
    /// event is clamped to `now` so time never runs backwards.
    pub fn schedule(&mut self, at: Time, event: E) {
        debug_assert!(at >= self.now, "event scheduled in the past");
        let time = at.max(self.now);
        self.heap.push(Entry {
            time,
            seq: self.next_seq,
            event,
        });
        self.next_seq += 1;
    }

    /// Takes the next place in the order of events without scheduling anything yet. An event
    /// that will most likely be dropped as stale when it comes due (a timer whose work will be
    /// over by then) can be kept out of the heap: [`schedule_reserved`](Self::schedule_reserved)
    /// puts it in later, if it turns out to matter, exactly where it would have been.
    pub fn reserve(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    /// Schedules `event` at `at` in the place `seq` taken by [`reserve`](Self::reserve): among
    /// events at the same instant it runs as if it had been scheduled when `seq` was reserved.
    /// An event of an earlier place than the one being handled must not be due before it.
    pub fn schedule_reserved(&mut self, at: Time, seq: u64, event: E) {
        debug_assert!(seq < self.next_seq, "a place never reserved");
        debug_assert!(
            (at, seq) > (self.now, self.now_seq),
            "a reserved event would run in the past"
        );
        self.heap.push(Entry {
            time: at.max(self.now),
            seq,
            event,
        });
    }

    /// Whether an event reserved at `(at, seq)` is still ahead of the one being handled, i.e.
    /// would not have run yet had it been scheduled.
    pub fn is_ahead(&self, at: Time, seq: u64) -> bool {
        (at, seq) > (self.now, self.now_seq)
    }

    /// Schedules `event` after `delay`, saturating at the end of representable time.
    pub fn schedule_in(&mut self, delay: Time, event: E) {
        self.schedule(self.now.saturating_add(delay), event);
    }

    /// Removes and returns the earliest event, advancing `now` to its time.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        let entry = self.heap.pop()?;
        self.now = entry.time;
        self.now_seq = entry.seq;
        Some((entry.time, entry.event))
    }

    /// The time of the earliest pending event.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.time)
    }

    /// Events pending, including stale ones whose handler will drop them.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// Whether no event is pending: the run has nothing left to do.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Events scheduled so far (a cheap measure of the work a run did).
    pub fn scheduled_total(&self) -> u64 {
        self.next_seq
    }

    /// Size of one heap entry in bytes; tests pin this so entries stay compact.
    pub const fn entry_size() -> usize {
        std::mem::size_of::<Entry<E>>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut s = Scheduler::new();
        s.schedule(30, 'c');
        s.schedule(10, 'a');
        s.schedule(30, 'd');
        s.schedule(10, 'b');
        s.schedule(20, 'x');
        let order: Vec<_> = std::iter::from_fn(|| s.pop()).collect();
        assert_eq!(
            order,
            vec![(10, 'a'), (10, 'b'), (20, 'x'), (30, 'c'), (30, 'd')]
        );
        assert_eq!(s.now(), 30);
    }

    #[test]
    fn schedule_in_is_relative_to_the_last_popped_time() {
        let mut s = Scheduler::new();
        s.schedule(100, 1u64);
        s.pop();
        s.schedule_in(5, 2);
        assert_eq!(s.pop(), Some((105, 2)));
        s.schedule_in(u64::MAX, 3);
        assert_eq!(s.pop(), Some((u64::MAX, 3)));
    }

    #[test]
    fn a_reserved_event_runs_in_its_reserved_place() {
        let mut s = Scheduler::new();
        s.schedule(10, 'a');
        let seq = s.reserve();
        s.schedule(10, 'c');
        s.schedule(5, 'x');
        assert_eq!(s.pop(), Some((5, 'x')));
        assert!(s.is_ahead(10, seq));
        s.schedule_reserved(10, seq, 'b');
        let order: Vec<_> = std::iter::from_fn(|| s.pop()).collect();
        assert_eq!(order, vec![(10, 'a'), (10, 'b'), (10, 'c')]);
        // Behind the event being handled: (10, 'c') was scheduled after the reservation.
        assert!(!s.is_ahead(10, seq));
        assert!(s.is_ahead(11, seq));
    }

    #[test]
    fn entries_stay_compact() {
        assert_eq!(Scheduler::<u64>::entry_size(), 24);
    }
}
