//! Adaptive LIFO ("Fail at scale", Facebook, ACM Queue 2015): serve first come, first served
//! while the queue drains now and then, but once it has been non-empty for `congested_after`
//! serve the newest call first. Under a burst the newest calls are the ones whose clients
//! are still waiting; the oldest have most likely given up, so serving them first wastes the
//! backend on answers nobody reads while every call's latency grows. With LIFO the typical
//! served call waits little and the old ones time out (a queue timeout or deadline sheds
//! them), so median latency stays low under a burst.

use sim_core::Time;
use std::collections::VecDeque;

/// A queue that switches from FIFO to LIFO while it stands.
#[derive(Debug, Clone)]
pub struct AdaptiveLifo<K> {
    items: VecDeque<K>,
    congested_after: Time,
    /// Since when the queue has held something (`None`: empty).
    nonempty_since: Option<Time>,
}

impl<K> AdaptiveLifo<K> {
    /// An empty queue that turns LIFO after standing for `congested_after`.
    pub fn new(congested_after: Time) -> AdaptiveLifo<K> {
        AdaptiveLifo {
            items: VecDeque::new(),
            congested_after,
            nonempty_since: None,
        }
    }

    /// Items waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether the queue has stood long enough to serve newest first at `now`.
    pub fn congested(&self, now: Time) -> bool {
        self.nonempty_since
            .is_some_and(|since| now.saturating_sub(since) >= self.congested_after)
    }

    /// `item` joins at `now`.
    pub fn push(&mut self, item: K, now: Time) {
        if self.items.is_empty() {
            self.nonempty_since = Some(now);
        }
        self.items.push_back(item);
    }

    /// The next item to serve at `now`: the oldest, or the newest while congested.
    pub fn pop(&mut self, now: Time) -> Option<K> {
        let item = if self.congested(now) {
            self.items.pop_back()
        } else {
            self.items.pop_front()
        };
        if self.items.is_empty() {
            self.nonempty_since = None;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Time = 1_000_000;

    #[test]
    fn fifo_while_the_queue_drains() {
        let mut q = AdaptiveLifo::new(100 * MS);
        q.push(1, 0);
        q.push(2, 10 * MS);
        q.push(3, 20 * MS);
        assert_eq!(q.pop(50 * MS), Some(1));
        assert_eq!(q.pop(99 * MS), Some(2));
        assert_eq!(q.pop(99 * MS), Some(3));
        assert_eq!(q.pop(99 * MS), None);
        // Emptied: the clock starts again with the next push.
        q.push(4, 150 * MS);
        q.push(5, 160 * MS);
        assert!(!q.congested(249 * MS));
        assert_eq!(q.pop(249 * MS), Some(4));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn len_and_is_empty_follow_pushes_and_pops() {
        let mut q = AdaptiveLifo::new(100 * MS);
        assert_eq!(q.len(), 0);
        assert!(q.is_empty());
        for i in 0..3 {
            q.push(i, 0);
            assert_eq!(q.len(), i as usize + 1);
            assert!(!q.is_empty());
        }
        assert_eq!(q.pop(0), Some(0));
        assert_eq!(q.len(), 2);
        assert!(!q.is_empty());
        q.pop(0);
        q.pop(0);
        assert_eq!(q.len(), 0);
        assert!(q.is_empty());
    }

    #[test]
    fn lifo_once_it_has_stood_for_the_threshold() {
        let mut q = AdaptiveLifo::new(100 * MS);
        for i in 0..5 {
            q.push(i, i as Time * MS);
        }
        assert!(q.congested(100 * MS));
        assert_eq!(q.pop(100 * MS), Some(4));
        q.push(9, 101 * MS);
        assert_eq!(q.pop(102 * MS), Some(9));
        assert_eq!(q.pop(103 * MS), Some(3));
        // Drained: back to FIFO.
        while q.pop(104 * MS).is_some() {}
        assert!(q.is_empty());
        assert!(!q.congested(104 * MS));
        q.push(20, 200 * MS);
        q.push(21, 200 * MS);
        assert_eq!(q.pop(200 * MS), Some(20));
    }
}
