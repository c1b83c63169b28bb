//! Replay speed-ups as exact fractions.

use super::WorkloadError;
use sim_core::Time;
use std::fmt;

/// A replay speed-up as an exact fraction `numer / denom` (2 = twice as fast, 1/2 = half speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeScale {
    numer: u64,
    denom: u64,
}

impl Default for TimeScale {
    fn default() -> TimeScale {
        TimeScale::REAL_TIME
    }
}

impl fmt::Display for TimeScale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.denom == 1 {
            write!(f, "{}", self.numer)
        } else {
            write!(f, "{}/{}", self.numer, self.denom)
        }
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl TimeScale {
    pub const REAL_TIME: TimeScale = TimeScale { numer: 1, denom: 1 };

    /// The speed-up `numer / denom` (both positive), kept in lowest terms.
    pub fn new(numer: u64, denom: u64) -> Result<TimeScale, WorkloadError> {
        if numer == 0 || denom == 0 {
            return Err(WorkloadError::new(
                "speedup",
                format!("must be a positive fraction, found {numer}/{denom}"),
            ));
        }
        let g = gcd(numer, denom);
        Ok(TimeScale {
            numer: numer / g,
            denom: denom / g,
        })
    }

    /// Parses `"2"`, `"0.5"`, `"1.25"`, `"3/2"` (an optional trailing `x`, as in `"2x"`) exactly.
    pub fn parse(text: &str) -> Result<TimeScale, WorkloadError> {
        let bad = || {
            WorkloadError::new(
                "speedup",
                format!(
                    "expected a positive number or fraction such as \"2\", \"0.5\" or \"3/2\", found {text:?}"
                ),
            )
        };
        let s = text.trim();
        let s = s.strip_suffix(['x', 'X']).unwrap_or(s).trim();
        let decimal = |s: &str| -> Option<(u64, u64)> {
            let (int, frac) = s.split_once('.').unwrap_or((s, ""));
            if (int.is_empty() && frac.is_empty())
                || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
            {
                return None;
            }
            let frac = frac.trim_end_matches('0');
            let denom = 10u64.checked_pow(frac.len() as u32)?;
            let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
            let frac_value: u64 = if frac.is_empty() {
                0
            } else {
                frac.parse().ok()?
            };
            Some((int.checked_mul(denom)?.checked_add(frac_value)?, denom))
        };
        let (numer, denom) = match s.split_once('/') {
            Some((n, d)) => {
                let (n1, d1) = decimal(n.trim()).ok_or_else(bad)?;
                let (n2, d2) = decimal(d.trim()).ok_or_else(bad)?;
                (
                    n1.checked_mul(d2).ok_or_else(bad)?,
                    d1.checked_mul(n2).ok_or_else(bad)?,
                )
            }
            None => decimal(s).ok_or_else(bad)?,
        };
        TimeScale::new(numer, denom).map_err(|_| bad())
    }

    /// The speed-up written as the shortest decimal that reads back as `speedup` (so `2.5`
    /// is exactly 5/2, not the binary fraction nearest to it).
    pub fn from_f64(speedup: f64) -> Result<TimeScale, WorkloadError> {
        if !(speedup.is_finite() && speedup > 0.0) {
            return Err(WorkloadError::new(
                "speedup",
                format!("must be a positive finite number, found {speedup}"),
            ));
        }
        TimeScale::parse(&format!("{speedup}"))
    }

    pub fn numer(self) -> u64 {
        self.numer
    }

    pub fn denom(self) -> u64 {
        self.denom
    }

    pub fn as_f64(self) -> f64 {
        self.numer as f64 / self.denom as f64
    }

    /// A trace duration replayed at this speed: `round(d · denom / numer)`, halves rounded up,
    /// saturating at `u64::MAX`.
    pub fn apply(self, d: Time) -> Time {
        let scaled = u128::from(d) * u128::from(self.denom);
        let numer = u128::from(self.numer);
        let (q, r) = (scaled / numer, scaled % numer);
        let rounded = if 2 * r >= numer { q + 1 } else { q };
        Time::try_from(rounded).unwrap_or(Time::MAX)
    }
}
