//! An optional `u64` in 8 bytes, for the hot structs of the request path.

/// A `u64` (a time, or a place in the event order) that may be absent, in 8 bytes: every job
/// carries several and is moved whole, and an `Option<u64>` takes 16. `u64::MAX`, a time and
/// an event count no run reaches, stands for "none".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Maybe(u64);

impl Maybe {
    pub(super) const NONE: Maybe = Maybe(u64::MAX);

    pub(super) fn some(v: u64) -> Maybe {
        debug_assert!(v != u64::MAX, "u64::MAX stands for none");
        Maybe(v)
    }

    pub(super) fn get(self) -> Option<u64> {
        (self != Maybe::NONE).then_some(self.0)
    }

    /// The value, set to `v` first if there was none.
    pub(super) fn get_or_insert(&mut self, v: u64) -> u64 {
        if *self == Maybe::NONE {
            *self = Maybe::some(v);
        }
        self.0
    }

    pub(super) fn take(&mut self) -> Option<u64> {
        std::mem::replace(self, Maybe::NONE).get()
    }
}

impl From<Option<u64>> for Maybe {
    fn from(v: Option<u64>) -> Maybe {
        v.map_or(Maybe::NONE, Maybe::some)
    }
}
