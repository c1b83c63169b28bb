//! Scalar values with units and ranges, validated as they are read so that the reader's error
//! carries the file position of the offending value.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use sim_core::time::{Rate, Time, format_duration, parse_duration};
use std::fmt;

/// A duration written with a unit: `"250ms"`, `"4h"`, `"1h30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Duration(pub Time);

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration string with a unit, like \"250ms\", \"4h\" or \"30d\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
                parse_duration(v).map(Duration).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A rate written with a unit: `"20/s"`, `"1200/min"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateValue(pub Rate);

impl Serialize for RateValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for RateValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RateValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a rate string with a unit, like \"20/s\" or \"1200/min\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RateValue, E> {
                Rate::parse(v).map(RateValue).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A probability in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize)]
pub struct Probability(pub f64);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let p = f64::deserialize(d)?;
        if (0.0..=1.0).contains(&p) {
            Ok(Probability(p))
        } else {
            Err(de::Error::custom(format!(
                "expected a probability between 0 and 1, found {p}"
            )))
        }
    }
}

/// A finite number greater than zero (shapes, coefficients of variation).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Positive(pub f64);

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = f64::deserialize(d)?;
        if x.is_finite() && x > 0.0 {
            Ok(Positive(x))
        } else {
            Err(de::Error::custom(format!(
                "expected a positive number, found {x}"
            )))
        }
    }
}

/// A finite number of zero or more (prices).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize)]
pub struct NonNegative(pub f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = f64::deserialize(d)?;
        if x.is_finite() && x >= 0.0 {
            Ok(NonNegative(x))
        } else {
            Err(de::Error::custom(format!(
                "expected a number of zero or more, found {x}"
            )))
        }
    }
}

/// A count with a lower bound `MIN`, or the string `"unlimited"` (stored as `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<const MIN: u32>(pub Option<u32>);

impl<const MIN: u32> Limit<MIN> {
    pub const UNLIMITED: Limit<MIN> = Limit(None);

    pub fn finite(n: u32) -> Limit<MIN> {
        Limit(Some(n))
    }
}

impl<const MIN: u32> Serialize for Limit<MIN> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(n) => s.serialize_u32(n),
            None => s.serialize_str("unlimited"),
        }
    }
}

impl<'de, const MIN: u32> Deserialize<'de> for Limit<MIN> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const MIN: u32>;
        impl<const MIN: u32> Visitor<'_> for V<MIN> {
            type Value = Limit<MIN>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "an integer of at least {MIN}, or \"unlimited\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                if v < i64::from(MIN) || v > i64::from(u32::MAX - 1) {
                    return Err(E::custom(format!(
                        "expected an integer from {MIN} to {}, or \"unlimited\"; found {v}",
                        u32::MAX - 1
                    )));
                }
                Ok(Limit(Some(v as u32)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v == "unlimited" {
                    Ok(Limit(None))
                } else {
                    Err(E::invalid_value(de::Unexpected::Str(v), &self))
                }
            }
        }
        d.deserialize_any(V::<MIN>)
    }
}
