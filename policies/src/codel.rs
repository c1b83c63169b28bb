//! CoDel ("controlled delay", RFC 8289): active queue management that watches how long the
//! item leaving the queue waited (its sojourn time) rather than how many wait. A queue that
//! drains now and then is a good queue and is left alone; one whose sojourn time has stayed
//! above `target` for a whole `interval` is a standing queue, and CoDel drops from its head,
//! the next drop `interval / √count` after the last, faster the longer the queue stands, until
//! a sojourn time falls below `target` again.
//!
//! For a gateway in front of an overloaded backend that means: the calls that are served waited
//! about `target`, not the seconds a FIFO queue builds; the calls dropped get a fast error
//! their clients can act on. [`Codel`] is the state machine of RFC 8289's pseudocode (its
//! `dodequeue` and `dequeue`); [`CodelQueue`] holds the waiting items with their arrival
//! times and hands the dropped ones to the caller. Here a queue holding nothing behind the
//! item leaving is never "standing" (the RFC's "no more than one packet's worth of bytes").

use crate::{PolicyError, PolicyErrorKind};
use sim_core::Time;
use std::collections::VecDeque;

/// CoDel's state: the RFC's `first_above_time`, `drop_next`, `count`, `lastcount`, `dropping`.
#[derive(Debug, Clone)]
pub struct Codel {
    target: Time,
    interval: Time,
    /// When the sojourn time will have been above target for an interval (0: it is not above).
    first_above: Time,
    drop_next: Time,
    count: u32,
    last_count: u32,
    dropping: bool,
}

impl Codel {
    /// `target` (RFC: 5 ms) and `interval` (100 ms), both positive, target below interval.
    pub fn new(target: Time, interval: Time) -> Codel {
        Codel {
            target,
            interval,
            first_above: 0,
            drop_next: 0,
            count: 0,
            last_count: 0,
            dropping: false,
        }
    }

    /// Checks `target` and `interval`: both positive (else `Zero` of the one that is not), the
    /// target shorter than the interval (else `OutOfOrder` of `target`).
    pub fn validate(target: Time, interval: Time) -> Result<(), PolicyError> {
        if target == 0 || interval == 0 {
            return Err(PolicyError::new(
                "CoDel",
                if target == 0 { "target" } else { "interval" },
                PolicyErrorKind::Zero,
                "target and interval must be longer than 0s",
            ));
        }
        if target >= interval {
            return Err(PolicyError::new(
                "CoDel",
                "target",
                PolicyErrorKind::OutOfOrder,
                format!(
                    "the target ({}) must be shorter than the interval ({})",
                    sim_core::time::format_duration(target),
                    sim_core::time::format_duration(interval)
                ),
            ));
        }
        Ok(())
    }

    /// Whether CoDel is in its dropping state.
    pub fn dropping(&self) -> bool {
        self.dropping
    }

    /// `t + interval / √count`.
    fn control_law(&self, t: Time, count: u32) -> Time {
        let step = self.interval as f64 / libm::sqrt(count.max(1) as f64);
        t.saturating_add(step.round() as Time)
    }

    /// The RFC's `dodequeue` for an item that waited `sojourn` and leaves `empty` behind it:
    /// whether it may be dropped (the sojourn time has stood above target for an interval).
    fn ok_to_drop(&mut self, now: Time, sojourn: Time, empty: bool) -> bool {
        if sojourn < self.target || empty {
            self.first_above = 0;
            false
        } else if self.first_above == 0 {
            self.first_above = now.saturating_add(self.interval);
            false
        } else {
            now >= self.first_above
        }
    }
}

/// A FIFO queue under CoDel.
#[derive(Debug, Clone)]
pub struct CodelQueue<K> {
    items: VecDeque<(K, Time)>,
    codel: Codel,
    dropped: VecDeque<K>,
}

impl<K: Copy> CodelQueue<K> {
    /// An empty queue.
    pub fn new(target: Time, interval: Time) -> CodelQueue<K> {
        CodelQueue {
            items: VecDeque::new(),
            codel: Codel::new(target, interval),
            dropped: VecDeque::new(),
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

    /// The state machine, for reports and tests.
    pub fn codel(&self) -> &Codel {
        &self.codel
    }

    /// `item` joins the tail at `now`.
    pub fn push(&mut self, item: K, now: Time) {
        self.items.push_back((item, now));
    }

    fn dodequeue(&mut self, now: Time) -> Option<(K, bool)> {
        let (item, since) = self.items.pop_front()?;
        let ok = self
            .codel
            .ok_to_drop(now, now.saturating_sub(since), self.items.is_empty());
        Some((item, ok))
    }

    /// The next item to serve at `now`; items CoDel drops on the way wait in
    /// [`next_dropped`](Self::next_dropped).
    pub fn pop(&mut self, now: Time) -> Option<K> {
        let mut r = self.dodequeue(now);
        let ok = r.is_some_and(|(_, ok)| ok);
        if self.codel.dropping {
            if !ok {
                self.codel.dropping = false;
            }
            while self.codel.dropping && now >= self.codel.drop_next {
                let (item, _) = r.expect("an item that may be dropped");
                self.dropped.push_back(item);
                self.codel.count += 1;
                r = self.dodequeue(now);
                if r.is_some_and(|(_, ok)| ok) {
                    self.codel.drop_next = self
                        .codel
                        .control_law(self.codel.drop_next, self.codel.count);
                } else {
                    self.codel.dropping = false;
                }
            }
        } else if ok {
            let (item, _) = r.expect("an item that may be dropped");
            self.dropped.push_back(item);
            r = self.dodequeue(now);
            self.codel.dropping = true;
            // Coming back into dropping soon after leaving it: resume near the old rate.
            let delta = self.codel.count.saturating_sub(self.codel.last_count);
            let recent = now.saturating_sub(self.codel.drop_next) < 16 * self.codel.interval;
            self.codel.count = if delta > 1 && recent { delta } else { 1 };
            self.codel.drop_next = self.codel.control_law(now, self.codel.count);
            self.codel.last_count = self.codel.count;
        }
        r.map(|(item, _)| item)
    }

    /// An item CoDel dropped, oldest first; the caller fails it.
    pub fn next_dropped(&mut self) -> Option<K> {
        self.dropped.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Time = 1_000_000;

    fn drain(q: &mut CodelQueue<u32>) -> Vec<u32> {
        std::iter::from_fn(|| q.next_dropped()).collect()
    }

    #[test]
    fn a_short_queue_is_never_dropped() {
        let mut q = CodelQueue::new(5 * MS, 100 * MS);
        // Items that wait under target, for a long time.
        for i in 0..1000u32 {
            let t = i as Time * 10 * MS;
            q.push(i, t);
            q.push(i + 10_000, t);
            assert_eq!(q.pop(t + 4 * MS), Some(i));
            assert_eq!(q.pop(t + 4 * MS), Some(i + 10_000));
        }
        assert!(drain(&mut q).is_empty());
    }

    #[test]
    fn a_sojourn_exactly_at_target_counts_as_above_it() {
        // RFC 8289's test is `sojourn_time < TARGET`: an item that waited exactly the target
        // starts the interval, so an interval later the head is dropped.
        let mut q = CodelQueue::new(5 * MS, 100 * MS);
        assert!(q.is_empty());
        for i in 0..5u32 {
            q.push(i, 0);
        }
        assert!(!q.is_empty());
        assert_eq!(q.len(), 5);
        assert_eq!(q.pop(5 * MS), Some(0));
        assert!(drain(&mut q).is_empty());
        assert_eq!(
            q.pop(105 * MS),
            Some(2),
            "item 1 dropped an interval after 5 ms"
        );
        assert_eq!(drain(&mut q), vec![1]);
        assert_eq!(q.len(), 2);
        assert!(!q.is_empty());
    }

    #[test]
    fn a_lone_item_is_never_dropped_however_long_it_waited() {
        let mut q = CodelQueue::new(5 * MS, 100 * MS);
        for i in 0..100u32 {
            let t = i as Time * 1_000 * MS;
            q.push(i, t);
            assert_eq!(q.pop(t + 900 * MS), Some(i));
        }
        assert!(drain(&mut q).is_empty());
    }

    #[test]
    fn a_standing_queue_is_dropped_from_the_head_after_an_interval() {
        let mut q = CodelQueue::new(5 * MS, 100 * MS);
        for i in 0..100u32 {
            q.push(i, 0);
        }
        // First dequeue at 10 ms: above target, first_above = 110 ms; served.
        assert_eq!(q.pop(10 * MS), Some(0));
        assert!(!q.codel().dropping());
        // Before the interval is up: still served in order.
        assert_eq!(q.pop(109 * MS), Some(1));
        // At 110 ms the queue has stood above target for an interval: item 2 is dropped and
        // item 3 served; the next drop is due one interval later (count 1).
        assert_eq!(q.pop(110 * MS), Some(3));
        assert_eq!(drain(&mut q), vec![2]);
        assert!(q.codel().dropping());
        assert_eq!(q.pop(150 * MS), Some(4), "no drop before drop_next");
        // At 210 ms: drop 5 (count 2), next drop 210 + 100/√2 = 280.71 ms.
        assert_eq!(q.pop(210 * MS), Some(6));
        assert_eq!(drain(&mut q), vec![5]);
        assert_eq!(q.pop(280 * MS), Some(7));
        assert!(drain(&mut q).is_empty());
        assert_eq!(q.pop(281 * MS), Some(9));
        assert_eq!(drain(&mut q), vec![8]);
        // Several drops due at once go in one dequeue: 281 + 100/√3 = 338.7 ms, then
        // + 100/√4 = 388.7 ms; at 400 ms both are due.
        assert_eq!(q.pop(400 * MS), Some(12));
        assert_eq!(drain(&mut q), vec![10, 11]);
    }

    #[test]
    fn a_sojourn_below_target_ends_dropping() {
        let mut q = CodelQueue::new(5 * MS, 100 * MS);
        for i in 0..10u32 {
            q.push(i, 0);
        }
        q.pop(10 * MS);
        q.pop(110 * MS);
        assert!(q.codel().dropping());
        q.push(100, 500 * MS);
        while q.len() > 1 {
            q.items.pop_front();
        }
        // The item waited 1 ms: below target, dropping ends, it is served.
        assert_eq!(q.pop(501 * MS), Some(100));
        assert!(!q.codel().dropping());
        assert_eq!(q.pop(502 * MS), None);
    }

    #[test]
    fn reentering_soon_resumes_the_drop_rate() {
        let mut q = CodelQueue::new(5 * MS, 100 * MS);
        for i in 0..1000u32 {
            q.push(i, 0);
        }
        q.pop(10 * MS);
        let mut t = 110 * MS;
        while q.codel.count < 5 {
            q.pop(t);
            t += MS;
        }
        // Leave dropping with a short sojourn, then come back within 16 intervals.
        let count = q.codel.count;
        q.items.push_front((5000, t));
        q.pop(t + MS);
        assert!(!q.codel().dropping());
        let back = t + 2 * MS;
        q.pop(back); // above target again: first_above set
        q.pop(back + 100 * MS);
        assert!(q.codel().dropping());
        assert_eq!(q.codel.count, count - 1, "resumes at count − lastcount");
    }

    #[test]
    fn reentering_resumes_only_within_sixteen_intervals() {
        // RFC 8289: coming back into dropping less than 16 intervals after the last drop_next
        // resumes at count − lastcount; at 16 intervals or later it starts again at 1.
        for (gap, recent) in [(16 * 100 * MS - 1, true), (16 * 100 * MS, false)] {
            let mut q = CodelQueue::new(5 * MS, 100 * MS);
            for i in 0..1000u32 {
                q.push(i, 0);
            }
            q.pop(10 * MS);
            let mut t = 110 * MS;
            while q.codel.count < 5 {
                q.pop(t);
                t += MS;
            }
            let delta = q.codel.count - q.codel.last_count;
            assert!(delta > 1);
            q.items.push_front((5000, t));
            q.pop(t + MS);
            assert!(!q.codel().dropping());
            let enter = q.codel.drop_next + gap;
            q.pop(enter - 100 * MS); // above target: dropping may start one interval later
            assert!(!q.codel().dropping());
            q.pop(enter);
            assert!(q.codel().dropping());
            let expected = if recent { delta } else { 1 };
            assert_eq!(
                q.codel.count, expected,
                "re-entered {gap} ns after drop_next"
            );
        }
    }

    #[test]
    fn validation() {
        assert!(Codel::validate(5 * MS, 100 * MS).is_ok());
        assert!(Codel::validate(0, 100 * MS).is_err());
        assert!(Codel::validate(5 * MS, 0).is_err());
        assert!(Codel::validate(100 * MS, 100 * MS).is_err());
    }

    #[test]
    fn validation_errors_name_the_parameter() {
        use crate::PolicyErrorKind as K;
        let at = |t, i| Codel::validate(t, i).map_err(|e| (e.param, e.kind));
        assert_eq!(at(0, 100 * MS), Err(("target", K::Zero)));
        assert_eq!(at(5 * MS, 0), Err(("interval", K::Zero)));
        assert_eq!(at(100 * MS, 100 * MS), Err(("target", K::OutOfOrder)));
        assert_eq!(at(100 * MS - 1, 100 * MS), Ok(()));
        assert_eq!(Codel::validate(0, 1).unwrap_err().policy, "CoDel");
    }
}
