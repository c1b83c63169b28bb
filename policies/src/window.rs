//! A count over a sliding time window, kept as a ring of fixed slices: O(slices) memory, no
//! per-event allocation, and expiry without timers (slices are cleared as time passes them).
//! Used by retry budgets now, and by time-based breakers and rate limits later.

use sim_core::Time;

/// A running sum of signed amounts over the last `window` of time, at the resolution of one slice
/// (an amount leaves the window whole, when its slice does).
#[derive(Debug, Clone, PartialEq)]
pub struct SlidingWindow {
    slice: Time,
    counts: Vec<i64>,
    /// Index (in slices since time 0) of the newest slice written.
    head: u64,
    total: i64,
}

impl SlidingWindow {
    /// A window of `window` split into `slices` slices (the window's resolution).
    pub fn new(window: Time, slices: usize) -> SlidingWindow {
        let slices = slices.max(1);
        SlidingWindow {
            slice: (window / slices as Time).max(1),
            counts: vec![0; slices],
            head: 0,
            total: 0,
        }
    }

    /// Drops slices that have left the window by `now`.
    fn advance(&mut self, now: Time) {
        let current = now / self.slice;
        if current <= self.head {
            return;
        }
        let n = self.counts.len() as u64;
        let steps = (current - self.head).min(n);
        for k in 1..=steps {
            let i = ((self.head + k) % n) as usize;
            self.total -= self.counts[i];
            self.counts[i] = 0;
        }
        self.head = current;
    }

    /// Adds `amount` (negative to withdraw) at `now`; times must not decrease.
    pub fn add(&mut self, now: Time, amount: i64) {
        self.advance(now);
        let i = (self.head % self.counts.len() as u64) as usize;
        self.counts[i] += amount;
        self.total += amount;
    }

    /// The sum over the window ending at `now`.
    pub fn total(&mut self, now: Time) -> i64 {
        self.advance(now);
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_expire_after_the_window() {
        let mut w = SlidingWindow::new(10, 10);
        w.add(0, 1);
        w.add(5, 2);
        assert_eq!(w.total(9), 3);
        assert_eq!(w.total(10), 2, "the slice of time 0 left the window");
        assert_eq!(w.total(15), 0);
        w.add(1_000, 4);
        assert_eq!(w.total(1_000), 4);
    }
}
