//! Virtual time: integer nanoseconds, and the duration and rate strings scenario files use.
//!
//! Time is a `u64` count of nanoseconds so that event ordering never depends on floating-point
//! rounding (584 years of range). Durations and rates are parsed from strings with units because a
//! bare number in a scenario file ("timeout = 30") is ambiguous to the person reading it.

use std::fmt;

/// Virtual time and durations, in nanoseconds.
pub type Time = u64;

/// Nanoseconds in one second: the factor between [`Time`] and seconds.
pub const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Nanoseconds in each unit a duration string may use, largest first (this order is also the
/// preference when printing).
const DURATION_UNITS: &[(&str, u64)] = &[
    ("d", 86_400 * NANOS_PER_SEC),
    ("h", 3_600 * NANOS_PER_SEC),
    ("m", 60 * NANOS_PER_SEC),
    ("s", NANOS_PER_SEC),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
];

/// Extra spellings accepted on input.
const DURATION_ALIASES: &[(&str, u64)] = &[
    ("min", 60 * NANOS_PER_SEC),
    ("sec", NANOS_PER_SEC),
    ("µs", 1_000),
];

/// Why a duration or rate string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeParseError {
    /// The string was empty or only whitespace.
    #[error("empty duration; expected a number with a unit, like \"250ms\", \"4h\" or \"30d\"")]
    Empty,
    /// The string (quoted in full) is not a sequence of numbers followed by units.
    #[error(
        "`{0}` is not a duration; expected a number with a unit (ns, us, ms, s, m, h, d), like \"250ms\" or \"1h30m\""
    )]
    Syntax(String),
    /// A number carried a unit that is not a time unit.
    #[error("unknown time unit `{unit}` in `{text}`; expected one of ns, us, ms, s, m, min, h, d")]
    Unit {
        /// The unit as written.
        unit: String,
        /// The whole duration string it appeared in.
        text: String,
    },
    /// The duration does not fit in a `u64` of nanoseconds.
    #[error("duration `{0}` is too long (the limit is about 584 years)")]
    Overflow(String),
    /// A decimal fraction would need a fraction of a nanosecond (`"1.5ns"`).
    #[error("duration `{0}` is not a whole number of nanoseconds")]
    SubNanosecond(String),
    /// The string is not `COUNT/UNIT` with a finite count and a time unit.
    #[error(
        "`{0}` is not a rate; expected a positive number of events per unit, like \"20/s\", \"1200/min\" or \"3/h\""
    )]
    RateSyntax(String),
    /// The rate is zero or negative (or, through [`Rate::per_second`], not finite).
    #[error("rate `{0}` must be positive")]
    RateNotPositive(String),
}

/// Every unit a duration may be written in (canonical names, then the extra spellings): what
/// the scenario schema's pattern for durations allows.
pub fn duration_unit_names() -> impl Iterator<Item = &'static str> {
    DURATION_UNITS
        .iter()
        .chain(DURATION_ALIASES)
        .map(|(name, _)| *name)
}

fn unit_nanos(unit: &str) -> Option<u64> {
    DURATION_UNITS
        .iter()
        .chain(DURATION_ALIASES)
        .find(|(name, _)| *name == unit)
        .map(|(_, ns)| *ns)
}

/// Parses `"250ms"`, `"1.5s"`, `"4h"`, `"30d"` or a sequence such as `"1h30m"` into nanoseconds.
/// Decimal fractions are computed exactly in integers, never through `f64`.
pub fn parse_duration(text: &str) -> Result<Time, TimeParseError> {
    let s = text.trim();
    if s.is_empty() {
        return Err(TimeParseError::Empty);
    }
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut total: u128 = 0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &s[start..i];
        let mut frac_part = "";
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            let fs = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            frac_part = &s[fs..i];
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(TimeParseError::Syntax(text.to_string()));
        }
        let us = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let unit = s[us..i].trim();
        if unit.is_empty() {
            return Err(TimeParseError::Syntax(text.to_string()));
        }
        let per = unit_nanos(unit).ok_or_else(|| TimeParseError::Unit {
            unit: unit.to_string(),
            text: text.to_string(),
        })? as u128;
        let overflow = || TimeParseError::Overflow(text.to_string());
        let int_value: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse::<u128>().map_err(|_| overflow())?
        };
        let mut part = int_value.checked_mul(per).ok_or_else(overflow)?;
        if !frac_part.is_empty() {
            let digits = frac_part.trim_end_matches('0');
            if digits.len() > 30 {
                return Err(TimeParseError::SubNanosecond(text.to_string()));
            }
            if !digits.is_empty() {
                let numerator: u128 = digits.parse().map_err(|_| overflow())?;
                let denominator = 10u128.pow(digits.len() as u32);
                let scaled = numerator.checked_mul(per).ok_or_else(overflow)?;
                if !scaled.is_multiple_of(denominator) {
                    return Err(TimeParseError::SubNanosecond(text.to_string()));
                }
                part = part
                    .checked_add(scaled / denominator)
                    .ok_or_else(overflow)?;
            }
        }
        total = total.checked_add(part).ok_or_else(overflow)?;
        if total > u64::MAX as u128 {
            return Err(overflow());
        }
    }
    Ok(total as Time)
}

/// Prints a duration in the largest unit that represents it exactly (`250ms`, `90m`, `1500ms`),
/// so that printing and parsing round-trip.
pub fn format_duration(ns: Time) -> String {
    if ns == 0 {
        return "0s".to_string();
    }
    for (name, per) in DURATION_UNITS {
        if ns.is_multiple_of(*per) {
            return format!("{}{}", ns / per, name);
        }
    }
    unreachable!("every duration is a whole number of nanoseconds")
}

/// A sampled duration in nanoseconds, rounded to the nearest whole nanosecond; NaN and negatives
/// become 0 and huge values saturate (samplers are validated, so neither happens in practice).
/// Every sampled gap, service time and delay becomes virtual time through this one conversion.
#[inline]
pub fn to_time(ns: f64) -> Time {
    if ns.is_nan() || ns <= 0.0 {
        0
    } else if ns >= Time::MAX as f64 {
        Time::MAX
    } else {
        (ns + 0.5) as Time
    }
}

/// Seconds as `f64`, for reporting only (never for ordering).
pub fn as_secs_f64(ns: Time) -> f64 {
    ns as f64 / NANOS_PER_SEC as f64
}

/// An event rate, stored per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    per_second: f64,
}

impl Rate {
    /// A rate of `per_second` events per second; must be positive and finite.
    pub fn per_second(per_second: f64) -> Result<Rate, TimeParseError> {
        if per_second.is_finite() && per_second > 0.0 {
            Ok(Rate { per_second })
        } else {
            Err(TimeParseError::RateNotPositive(per_second.to_string()))
        }
    }

    /// Events per second.
    pub fn as_per_second(self) -> f64 {
        self.per_second
    }

    /// Mean gap between events, in nanoseconds (as `f64`, for samplers).
    pub fn mean_interval_ns(self) -> f64 {
        NANOS_PER_SEC as f64 / self.per_second
    }

    /// Parses `"20/s"`, `"1200/min"`, `"0.5/s"`, `"3/h"`, `"100/d"`.
    pub fn parse(text: &str) -> Result<Rate, TimeParseError> {
        let s = text.trim();
        let (count, unit) = s
            .split_once('/')
            .ok_or_else(|| TimeParseError::RateSyntax(text.to_string()))?;
        let count: f64 = count
            .trim()
            .parse()
            .map_err(|_| TimeParseError::RateSyntax(text.to_string()))?;
        if !count.is_finite() {
            return Err(TimeParseError::RateSyntax(text.to_string()));
        }
        let unit = unit.trim();
        // "1200/min" and "20/s" are the usual forms; "20/2s" (a count per multi-unit span) also works.
        let per_ns = if unit.chars().next().is_some_and(|c| c.is_ascii_digit()) {
            parse_duration(unit).map_err(|_| TimeParseError::RateSyntax(text.to_string()))?
        } else {
            unit_nanos(unit).ok_or_else(|| TimeParseError::RateSyntax(text.to_string()))?
        };
        if count <= 0.0 || per_ns == 0 {
            return Err(TimeParseError::RateNotPositive(text.to_string()));
        }
        Rate::per_second(count * NANOS_PER_SEC as f64 / per_ns as f64)
    }
}

impl fmt::Display for Rate {
    /// Canonical form: events per second, printed so that parsing gives back the same `f64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}/s", self.per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_durations() {
        assert_eq!(parse_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("4h"), Ok(4 * 3600 * NANOS_PER_SEC));
        assert_eq!(parse_duration("30d"), Ok(30 * 86_400 * NANOS_PER_SEC));
        assert_eq!(parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400 * NANOS_PER_SEC));
        assert_eq!(parse_duration("0.000000001s"), Ok(1));
        assert_eq!(parse_duration(" 2min "), Ok(120 * NANOS_PER_SEC));
    }

    #[test]
    fn rejects_bad_durations() {
        assert_eq!(parse_duration(""), Err(TimeParseError::Empty));
        assert!(matches!(
            parse_duration("250"),
            Err(TimeParseError::Syntax(_))
        ));
        assert!(matches!(
            parse_duration("-5s"),
            Err(TimeParseError::Syntax(_))
        ));
        assert!(matches!(
            parse_duration("5 parsecs"),
            Err(TimeParseError::Unit { .. })
        ));
        assert!(matches!(
            parse_duration("0.5ns"),
            Err(TimeParseError::SubNanosecond(_))
        ));
        assert!(matches!(
            parse_duration("600y"),
            Err(TimeParseError::Unit { .. })
        ));
        assert!(matches!(
            parse_duration("300000d"),
            Err(TimeParseError::Overflow(_))
        ));
        assert!(matches!(
            parse_duration("99999999999999999999999999999999999999999d"),
            Err(TimeParseError::Overflow(_))
        ));
    }

    #[test]
    fn durations_print_exactly_and_round_trip() {
        for ns in [
            0,
            1,
            999,
            250_000_000,
            1_500_000_000,
            5_400 * NANOS_PER_SEC,
            u64::MAX,
        ] {
            assert_eq!(parse_duration(&format_duration(ns)), Ok(ns), "{ns}");
        }
        assert_eq!(format_duration(250_000_000), "250ms");
        assert_eq!(format_duration(5_400 * NANOS_PER_SEC), "90m");
    }

    #[test]
    fn parses_rates() {
        assert_eq!(Rate::parse("20/s").unwrap().as_per_second(), 20.0);
        assert_eq!(Rate::parse("1200/min").unwrap().as_per_second(), 20.0);
        assert_eq!(Rate::parse("3600/h").unwrap().as_per_second(), 1.0);
        assert_eq!(Rate::parse("10/2s").unwrap().as_per_second(), 5.0);
        assert!(matches!(
            Rate::parse("-1/s"),
            Err(TimeParseError::RateNotPositive(_))
        ));
        assert!(matches!(
            Rate::parse("0/s"),
            Err(TimeParseError::RateNotPositive(_))
        ));
        assert!(matches!(
            Rate::parse("20"),
            Err(TimeParseError::RateSyntax(_))
        ));
        assert!(matches!(
            Rate::parse("x/s"),
            Err(TimeParseError::RateSyntax(_))
        ));
        assert!(matches!(
            Rate::parse("5/fortnight"),
            Err(TimeParseError::RateSyntax(_))
        ));
    }

    #[test]
    fn rates_round_trip_through_display() {
        for text in ["1/min", "0.8/s", "7/h", "1200/min"] {
            let r = Rate::parse(text).unwrap();
            assert_eq!(Rate::parse(&r.to_string()).unwrap(), r);
        }
    }
}
