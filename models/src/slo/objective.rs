//! An objective in parts per million, parsed from decimal text exactly.

use policies::burn_rate::PPM;
use sim_core::time::Time;

/// An objective in parts per million, strictly between 0 and 10⁶ (a 100% objective leaves no
/// budget, so nothing about it could be measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Objective(u64);

impl Objective {
    pub fn from_ppm(ppm: u64) -> Result<Objective, String> {
        if ppm == 0 || ppm >= PPM {
            return Err(format!(
                "an objective must be above 0% and below 100%, found {ppm} ppm"
            ));
        }
        Ok(Objective(ppm))
    }

    /// A percentage written as decimal text: `"99.9"` or `"99.9%"`, at most four decimals
    /// (a whole number of ppm).
    pub fn parse_percent(text: &str) -> Result<Objective, String> {
        let t = text.trim();
        let digits = t.strip_suffix('%').unwrap_or(t).trim_end();
        let ppm = decimal_scaled(digits, 4).map_err(|e| {
            format!("objective \"{text}\": {e} (write it like \"99.9\" or \"99.9%\")")
        })?;
        Objective::from_ppm(ppm)
    }

    /// A fraction written as decimal text, `"0.999"`, at most six decimals.
    pub fn parse_fraction(text: &str) -> Result<Objective, String> {
        let ppm = decimal_scaled(text.trim(), 6)
            .map_err(|e| format!("objective {text}: {e} (write it like 0.999)"))?;
        Objective::from_ppm(ppm)
    }

    /// A fraction given as a number, read through its shortest decimal representation (the one
    /// the user wrote: `0.999` prints as `"0.999"`), so no binary rounding leaks in.
    pub fn from_fraction(x: f64) -> Result<Objective, String> {
        if !x.is_finite() || x <= 0.0 || x >= 1.0 {
            return Err(format!(
                "an objective given as a number must be a fraction between 0 and 1 (like \
                 0.999), found {x}; write percentages as strings: \"99.9\" or \"99.9%\""
            ));
        }
        Objective::parse_fraction(&format!("{x}"))
    }

    pub fn ppm(self) -> u64 {
        self.0
    }

    /// The error budget in ppm: `10⁶ − objective`.
    pub fn budget_ppm(self) -> u64 {
        PPM - self.0
    }

    /// The time a total outage may last within `window` without breaching:
    /// `window × budget`, floored to a nanosecond (exact for every whole-ppm objective and
    /// whole-second window).
    pub fn allowed_outage(self, window: Time) -> Time {
        (window as u128 * self.budget_ppm() as u128 / PPM as u128) as Time
    }

    /// The objective as a fraction, for reports.
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / PPM as f64
    }
}

/// `text` (digits with at most one decimal point) times 10^`scale`, which must be a whole
/// number: exact decimal arithmetic for objectives, targets and burn-rate factors.
pub fn decimal_scaled(text: &str, scale: u32) -> Result<u64, String> {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("not a decimal number".into());
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err("finer than one part per million".into());
    }
    let too_big = || "too large".to_string();
    let int: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| too_big())?
    };
    let frac_value: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<u64>().map_err(|_| too_big())? * 10u64.pow(scale - frac.len() as u32)
    };
    int.checked_mul(10u64.pow(scale))
        .and_then(|v| v.checked_add(frac_value))
        .ok_or_else(too_big)
}
