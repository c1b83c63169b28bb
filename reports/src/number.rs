//! How every output writes a number: about six significant digits, no exponent noise for
//! everyday magnitudes. One place, so the terminal table, verdicts, journals and sweep tables
//! agree.

/// A number with about six significant digits, without exponent noise for everyday magnitudes.
pub fn format_number(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs();
    if x.fract() == 0.0 && magnitude < 1e12 {
        return format!("{x:.0}");
    }
    if (1e-3..1e9).contains(&magnitude) {
        let digits = (5 - magnitude.log10().floor() as i32).clamp(0, 8) as usize;
        let s = format!("{x:.digits$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        return s;
    }
    format!("{x:.4e}")
}

/// `n` and the noun, singular for exactly 1: `1 backend`, `2 backends`, `0.5 alerts`.
pub fn count_of(n: f64, singular: &str, plural: &str) -> String {
    format!(
        "{} {}",
        format_number(n),
        if n == 1.0 { singular } else { plural }
    )
}

/// `x` as 0 when it is within a few ulps of 0 relative to `scale` (the magnitude of the numbers
/// it was computed from): `0.1 + 0.2 − 0.3` is 5.6e-17, which is rounding, not a difference.
pub fn snap_zero(x: f64, scale: f64) -> f64 {
    if x.abs() <= 16.0 * f64::EPSILON * scale.abs() {
        0.0
    } else {
        x
    }
}

/// A count or time people read: three significant digits, thousands separated.
pub fn short(x: f64) -> String {
    if !x.is_finite() {
        return "—".to_string();
    }
    let a = x.abs();
    if a >= 1000.0 {
        let r = x.round() as i64;
        let digits = r.unsigned_abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if r < 0 {
            out.insert(0, '-');
        }
        out
    } else if a >= 100.0 || x.fract() == 0.0 {
        format!("{}", x.round())
    } else if a >= 10.0 {
        format_number((x * 10.0).round() / 10.0)
    } else {
        format_number((x * 100.0).round() / 100.0)
    }
}

/// The unit a duration of `secs` seconds reads best in, and seconds per that unit: seconds up
/// to 5 minutes, minutes up to 3 hours, hours up to 2 days, days beyond (the thresholds of the
/// plots' time axes), so a 34-hour job reads `34.3 h`, not `123456.7 s`.
pub fn duration_unit(secs: f64) -> (&'static str, f64) {
    let a = secs.abs();
    if !a.is_finite() || a <= 300.0 {
        ("s", 1.0)
    } else if a <= 3.0 * 3600.0 {
        ("min", 60.0)
    } else if a <= 48.0 * 3600.0 {
        ("h", 3600.0)
    } else {
        ("d", 86_400.0)
    }
}

/// A duration in seconds in words people read: `43.3 s`, `12.5 min`, `34.3 h`, `3.5 d`.
pub fn duration_text(secs: f64) -> String {
    if !secs.is_finite() {
        return "—".to_string();
    }
    let (unit, per) = duration_unit(secs);
    format!("{} {unit}", short(secs / per))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_noise_snaps_to_zero_and_real_differences_stay() {
        let noise = (0.1 + 0.2) - 0.3;
        assert_ne!(noise, 0.0);
        assert_eq!(snap_zero(noise, 0.3), 0.0);
        assert_eq!(format_number(snap_zero(noise, 0.3)), "0");
        assert_eq!(snap_zero(2.2204e-17, 1.0), 0.0);
        // A difference of a millionth of the operands is real.
        assert_eq!(snap_zero(1e-6, 1.0), 1e-6);
        // Small operands keep small differences.
        assert_eq!(snap_zero(1e-20, 1e-19), 1e-20);
        assert_eq!(snap_zero(-3.0, 0.0), -3.0);
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(count_of(1.0, "backend", "backends"), "1 backend");
        assert_eq!(count_of(2.0, "backend", "backends"), "2 backends");
        assert_eq!(count_of(0.0, "alert", "alerts"), "0 alerts");
        assert_eq!(count_of(1.5, "alert", "alerts"), "1.5 alerts");
    }
}
