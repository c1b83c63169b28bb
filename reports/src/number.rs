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
