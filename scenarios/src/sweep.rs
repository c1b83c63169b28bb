//! Sweep grids: `--set path=SPEC` arguments expanded into the points of a sweep.
//!
//! A SPEC is one of
//! - a list, `a,b,c` (commas inside `{}`, `[]` or quotes do not split, so inline tables work);
//! - a range, `1..5` (integers, step 1) or `0.1..0.5:0.1` (a step is required for decimals),
//!   with an optional unit shared by the bounds, `100ms..500ms:100ms`;
//! - a log range, `log:1..1000:4` (four points, evenly spaced in the logarithm).
//!
//! Ranges are computed in exact decimal arithmetic, so `0.1..0.3:0.1` gives `0.1,0.2,0.3` and
//! never `0.30000000000000004` or a missing end point. Values are kept as the text an override
//! would be given, so a point's settings read exactly as a user would type them.

use crate::overrides::Override;

/// The most points a single axis may have: beyond it a typo (a step of 0.0001) is likelier
/// than intent, and the sweep would not finish anyway.
const MAX_AXIS_POINTS: usize = 100_000;

/// One swept parameter: a key path and the values it takes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Axis {
    pub path: String,
    pub values: Vec<String>,
    /// Whether the values came from a `log:` range: spaced evenly in the logarithm, so a plot
    /// of the sweep reads on a log axis.
    pub log: bool,
}

/// One point of a sweep: its index in the grid, and a value for every axis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    pub index: usize,
    /// `(path, value)` for every axis, in axis order.
    pub settings: Vec<(String, String)>,
}

impl Point {
    /// The overrides that turn the base scenario into this point.
    pub fn overrides(&self) -> Vec<Override> {
        self.settings
            .iter()
            .map(|(path, value)| {
                Override::parse(&format!("{path}={value}")).expect("axis paths were validated")
            })
            .collect()
    }
}

/// How axes combine into points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combine {
    /// Every combination; the first axis varies slowest.
    Grid,
    /// The i-th value of every axis together; all axes must have the same length.
    Zip,
}

/// Parses `path=SPEC`.
pub fn parse_axis(arg: &str) -> Result<Axis, String> {
    let (path, spec) = arg.split_once('=').ok_or_else(|| {
        format!("`{arg}` is not a sweep setting; expected KEY.PATH=SPEC, like gateway.retry.max_attempts=1..5")
    })?;
    // The path rules are the override rules: reuse them so sweeps accept exactly what `--set` does.
    Override::parse(&format!("{path}=0"))
        .map_err(|e| e.replace(&format!("`{path}=0`"), &format!("`{arg}`")))?;
    let path = path.trim().to_string();
    let values = parse_spec(spec.trim()).map_err(|e| format!("`{arg}`: {e}"))?;
    let log = spec.trim().starts_with("log:");
    Ok(Axis { path, values, log })
}

/// Expands `spec` into values.
pub fn parse_spec(spec: &str) -> Result<Vec<String>, String> {
    if spec.is_empty() {
        return Err("the value list is empty".to_string());
    }
    if let Some(rest) = spec.strip_prefix("log:") {
        return log_range(rest);
    }
    let items = split_list(spec)?;
    if items.len() == 1 && looks_like_range(spec) {
        return linear_range(spec);
    }
    Ok(items)
}

/// Expands axes into points.
pub fn points(axes: &[Axis], combine: Combine) -> Result<Vec<Point>, String> {
    if axes.is_empty() {
        return Ok(vec![Point {
            index: 0,
            settings: Vec::new(),
        }]);
    }
    for (i, a) in axes.iter().enumerate() {
        if axes[..i].iter().any(|b| b.path == a.path) {
            return Err(format!("`{}` is swept twice", a.path));
        }
    }
    match combine {
        Combine::Zip => {
            let n = axes[0].values.len();
            if let Some(a) = axes.iter().find(|a| a.values.len() != n) {
                return Err(format!(
                    "--zip pairs values one to one, but `{}` has {} values and `{}` has {}",
                    axes[0].path,
                    n,
                    a.path,
                    a.values.len()
                ));
            }
            Ok((0..n)
                .map(|index| Point {
                    index,
                    settings: axes
                        .iter()
                        .map(|a| (a.path.clone(), a.values[index].clone()))
                        .collect(),
                })
                .collect())
        }
        Combine::Grid => {
            let total = axes.iter().try_fold(1usize, |n, a| {
                n.checked_mul(a.values.len())
                    .filter(|&n| n <= MAX_AXIS_POINTS * 10)
            });
            let Some(total) = total else {
                return Err(format!(
                    "the grid has more than {} points; sweep fewer values",
                    MAX_AXIS_POINTS * 10
                ));
            };
            Ok((0..total)
                .map(|index| {
                    let mut rest = index;
                    let mut settings = vec![(String::new(), String::new()); axes.len()];
                    for (slot, a) in settings.iter_mut().zip(axes).rev() {
                        let n = a.values.len();
                        *slot = (a.path.clone(), a.values[rest % n].clone());
                        rest /= n;
                    }
                    Point { index, settings }
                })
                .collect())
        }
    }
}

/// Splits on commas that are not inside brackets, braces or quotes.
pub fn split_list(spec: &str) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in spec.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '{' | '[') => depth += 1,
            (None, '}' | ']') => depth -= 1,
            (None, ',') if depth == 0 => {
                items.push(spec[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    if quote.is_some() || depth != 0 {
        return Err("unbalanced quotes or brackets in the value list".to_string());
    }
    items.push(spec[start..].trim().to_string());
    if let Some(i) = items.iter().position(String::is_empty) {
        return Err(format!("value {} of the list is empty", i + 1));
    }
    Ok(items)
}

fn looks_like_range(spec: &str) -> bool {
    spec.contains("..") && !spec.starts_with(['"', '\'', '{', '['])
}

/// A decimal number as an integer mantissa and a count of decimal places, plus its unit suffix.
#[derive(Debug, Clone, PartialEq)]
struct Decimal {
    mantissa: i128,
    scale: u32,
    unit: String,
}

fn parse_decimal(text: &str) -> Result<Decimal, String> {
    let text = text.trim();
    let digits_end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(text.len(), |(i, _)| i);
    let (number, unit) = text.split_at(digits_end);
    let bad = || format!("`{text}` is not a number (optionally followed by a unit, like 250ms)");
    let (sign, body) = match number.strip_prefix('-') {
        Some(b) => (-1, b),
        None => (1, number.strip_prefix('+').unwrap_or(number)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if body.contains('.') && (frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad());
    }
    if int.len() + frac.len() > 30 {
        return Err(format!("`{text}` has too many digits"));
    }
    let digits = format!("{int}{frac}");
    let mantissa: i128 = digits.parse().map_err(|_| bad())?;
    Ok(Decimal {
        mantissa: sign * mantissa,
        scale: frac.len() as u32,
        unit: unit.to_string(),
    })
}

/// `d` as a whole number of `10^-scale` units, or `None` when that does not fit in an `i128`.
fn rescale(d: &Decimal, scale: u32) -> Option<i128> {
    10i128
        .checked_pow(scale - d.scale)
        .and_then(|p| d.mantissa.checked_mul(p))
}

fn format_scaled(m: i128, scale: u32, unit: &str) -> String {
    if scale == 0 {
        return format!("{m}{unit}");
    }
    let p = 10i128.pow(scale);
    let sign = if m < 0 { "-" } else { "" };
    let a = m.abs();
    format!(
        "{sign}{}.{:0width$}{unit}",
        a / p,
        a % p,
        width = scale as usize
    )
}

/// `LO..HI` or `LO..HI:STEP`, both ends included.
fn linear_range(spec: &str) -> Result<Vec<String>, String> {
    let (bounds, step) = match spec.rsplit_once(':') {
        Some((b, s)) => (b, Some(s)),
        None => (spec, None),
    };
    let (lo, hi) = bounds
        .split_once("..")
        .ok_or_else(|| format!("`{spec}` is not a range; expected LO..HI or LO..HI:STEP"))?;
    let lo = parse_decimal(lo)?;
    let hi = parse_decimal(hi)?;
    if lo.unit != hi.unit {
        return Err(format!(
            "the bounds of `{spec}` have different units (`{}` and `{}`); use one unit for both",
            lo.unit, hi.unit
        ));
    }
    let step = match step {
        Some(s) => {
            let s = parse_decimal(s)?;
            if !s.unit.is_empty() && s.unit != lo.unit {
                return Err(format!(
                    "the step of `{spec}` is in `{}` but the bounds are in `{}`",
                    s.unit, lo.unit
                ));
            }
            s
        }
        None if lo.scale == 0 && hi.scale == 0 => Decimal {
            mantissa: 1,
            scale: 0,
            unit: String::new(),
        },
        None => {
            return Err(format!(
                "`{spec}` has decimal bounds, so it needs a step: LO..HI:STEP, like 0.1..0.5:0.1"
            ));
        }
    };
    let scale = lo.scale.max(hi.scale).max(step.scale);
    let too_big = || {
        format!(
            "`{spec}` needs more precision than a sweep range holds (bounds and step together \
             must fit in 38 significant digits); use fewer decimal places or smaller bounds"
        )
    };
    let (a, b, s) = (
        rescale(&lo, scale).ok_or_else(too_big)?,
        rescale(&hi, scale).ok_or_else(too_big)?,
        rescale(&step, scale).ok_or_else(too_big)?,
    );
    if s <= 0 {
        return Err(format!("the step of `{spec}` must be positive"));
    }
    if a > b {
        return Err(format!(
            "`{spec}` runs downwards; write the smaller bound first"
        ));
    }
    let count = b.checked_sub(a).ok_or_else(too_big)? / s + 1;
    if count > MAX_AXIS_POINTS as i128 {
        return Err(format!(
            "`{spec}` has {count} values; at most {MAX_AXIS_POINTS} are allowed"
        ));
    }
    Ok((0..count)
        .map(|i| format_scaled(a + i * s, scale, &lo.unit))
        .collect())
}

/// `LO..HI:N`: N values from LO to HI, evenly spaced in the logarithm.
fn log_range(spec: &str) -> Result<Vec<String>, String> {
    let shape =
        || format!("`log:{spec}` is not a log range; expected log:LO..HI:N, like log:1..1000:4");
    let (bounds, n) = spec.rsplit_once(':').ok_or_else(shape)?;
    let (lo, hi) = bounds.split_once("..").ok_or_else(shape)?;
    let n: usize = n
        .trim()
        .parse()
        .map_err(|_| format!("the count in `log:{spec}` must be a whole number of points"))?;
    let lo = parse_decimal(lo)?;
    let hi = parse_decimal(hi)?;
    if lo.unit != hi.unit {
        return Err(format!(
            "the bounds of `log:{spec}` have different units; use one unit for both"
        ));
    }
    if !(2..=MAX_AXIS_POINTS).contains(&n) {
        return Err(format!(
            "a log range needs between 2 and {MAX_AXIS_POINTS} points"
        ));
    }
    let value = |d: &Decimal| d.mantissa as f64 / 10f64.powi(d.scale as i32);
    let (a, b) = (value(&lo), value(&hi));
    if a <= 0.0 || b <= a {
        return Err(format!(
            "`log:{spec}` needs 0 < LO < HI (a logarithm of zero or a negative number does not exist)"
        ));
    }
    let integral = lo.scale == 0 && hi.scale == 0;
    let values: Vec<String> = (0..n)
        .map(|i| {
            let t = i as f64 / (n - 1) as f64;
            let v = libm::exp(libm::log(a) + t * (libm::log(b) - libm::log(a)));
            if integral {
                format!("{}{}", libm::round(v) as i128, lo.unit)
            } else {
                format!("{}{}", significant(v, 6), lo.unit)
            }
        })
        .collect();
    if values.windows(2).any(|w| w[0] == w[1]) {
        return Err(format!(
            "`log:{spec}` repeats values once rounded; ask for fewer points or a wider range"
        ));
    }
    Ok(values)
}

/// `v` rounded to `digits` significant digits, without trailing zeros.
fn significant(v: f64, digits: i32) -> String {
    let magnitude = libm::floor(libm::log10(v.abs())) as i32;
    let decimals = (digits - 1 - magnitude).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Parses `I/N`, as in `--shard 1/4`.
pub fn parse_shard(text: &str) -> Result<(usize, usize), String> {
    let bad = || format!("`{text}` is not a shard; expected I/N with 0 <= I < N, like 0/4");
    let (i, n) = text.split_once('/').ok_or_else(bad)?;
    let i: usize = i.trim().parse().map_err(|_| bad())?;
    let n: usize = n.trim().parse().map_err(|_| bad())?;
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spec(s: &str) -> Vec<String> {
        parse_spec(s).unwrap()
    }

    #[test]
    fn lists_keep_inline_tables_whole() {
        assert_eq!(spec("a, b,c"), ["a", "b", "c"]);
        assert_eq!(
            spec(
                "{ dist = \"exponential\", mean = \"1s\" },{ dist = \"deterministic\", value = \"1s\" }"
            ),
            [
                "{ dist = \"exponential\", mean = \"1s\" }",
                "{ dist = \"deterministic\", value = \"1s\" }"
            ]
        );
        assert_eq!(spec("\"a,b\",c"), ["\"a,b\"", "c"]);
    }

    #[test]
    fn integer_and_decimal_ranges_are_exact() {
        assert_eq!(spec("1..5"), ["1", "2", "3", "4", "5"]);
        assert_eq!(spec("1..9:4"), ["1", "5", "9"]);
        assert_eq!(spec("1..10:4"), ["1", "5", "9"]);
        assert_eq!(spec("0.1..0.5:0.1"), ["0.1", "0.2", "0.3", "0.4", "0.5"]);
        assert_eq!(spec("0..1:0.25"), ["0.00", "0.25", "0.50", "0.75", "1.00"]);
        assert_eq!(spec("-1..1"), ["-1", "0", "1"]);
        assert_eq!(spec("-0.2..0.2:0.2"), ["-0.2", "0.0", "0.2"]);
        assert_eq!(spec("100ms..300ms:100ms"), ["100ms", "200ms", "300ms"]);
        assert_eq!(spec("1s..3s"), ["1s", "2s", "3s"]);
    }

    #[test]
    fn ranges_that_overflow_are_refused_not_wrapped() {
        // 10^29 at 20 decimal places is 10^49: past i128, where it used to wrap silently.
        let big = format!("1{}", "0".repeat(29));
        for bad in [
            format!("{big}..{big}:0.00000000000000000001"),
            format!("-{big}..{big}:0.0000000001"),
        ] {
            let e = parse_spec(&bad).unwrap_err();
            assert!(e.contains("more precision"), "{bad}: {e}");
        }
        // Near the limit but representable: exact.
        assert_eq!(spec(&format!("{big}..{big}")), std::slice::from_ref(&big));
    }

    #[test]
    fn log_ranges_round_to_readable_values() {
        assert_eq!(spec("log:1..1000:4"), ["1", "10", "100", "1000"]);
        assert_eq!(spec("log:0.001..0.1:3"), ["0.001", "0.01", "0.1"]);
        assert_eq!(spec("log:1..100:3"), ["1", "10", "100"]);
    }

    #[test]
    fn bad_specs_say_what_was_expected() {
        for (s, needle) in [
            ("", "empty"),
            ("a,,b", "value 2 of the list is empty"),
            ("0.1..0.5", "needs a step"),
            ("5..1", "downwards"),
            ("1..5:0", "must be positive"),
            ("1..x", "not a number"),
            ("1ms..1s:1ms", "different units"),
            ("1..2:0.0000001", "at most"),
            ("log:0..10:3", "0 < LO < HI"),
            ("log:1..10", "expected log:LO..HI:N"),
            ("log:1..2:50", "repeats values"),
            ("{a,b", "unbalanced"),
        ] {
            let e = parse_spec(s).unwrap_err();
            assert!(e.contains(needle), "`{s}` gave `{e}`, expected `{needle}`");
        }
        assert!(parse_axis("retry").unwrap_err().contains("KEY.PATH=SPEC"));
        // A log range says so, for the plots; a list of the same values does not.
        assert!(parse_axis("a.b=log:1..100:3").unwrap().log);
        assert!(!parse_axis("a.b=1,10,100").unwrap().log);
        assert!(parse_axis("a..b=1").unwrap_err().contains("empty key"));
    }

    #[test]
    fn grids_vary_the_last_axis_fastest_and_zip_pairs() {
        let axes = vec![parse_axis("a=1,2").unwrap(), parse_axis("b=x,y,z").unwrap()];
        let grid = points(&axes, Combine::Grid).unwrap();
        assert_eq!(grid.len(), 6);
        assert_eq!(
            grid[4].settings,
            [("a".into(), "2".into()), ("b".into(), "y".into())]
        );
        assert!(points(&axes, Combine::Zip).unwrap_err().contains("--zip"));
        let zipped = points(
            &[parse_axis("a=1,2").unwrap(), parse_axis("b=x,y").unwrap()],
            Combine::Zip,
        )
        .unwrap();
        assert_eq!(
            zipped[1].settings,
            [("a".into(), "2".into()), ("b".into(), "y".into())]
        );
        let twice = [parse_axis("a=1").unwrap(), parse_axis("a=2").unwrap()];
        assert!(points(&twice, Combine::Grid).unwrap_err().contains("twice"));
    }

    #[test]
    fn shards_parse() {
        assert_eq!(parse_shard("1/4"), Ok((1, 4)));
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("0/0").is_err());
        assert!(parse_shard("x").is_err());
    }

    proptest! {
        /// Every integer range has the expected count, starts at LO and never passes HI.
        #[test]
        fn integer_ranges_cover_their_bounds(lo in -1000i64..1000, len in 0i64..500, step in 1i64..50) {
            let hi = lo + len;
            let values = parse_spec(&format!("{lo}..{hi}:{step}")).unwrap();
            prop_assert_eq!(values.len() as i64, len / step + 1);
            prop_assert_eq!(values[0].parse::<i64>().unwrap(), lo);
            prop_assert!(values.last().unwrap().parse::<i64>().unwrap() <= hi);
        }

        /// Arbitrary text never panics the parser.
        #[test]
        fn any_text_parses_or_errors(s in ".{0,40}") {
            let _ = parse_spec(&s);
            let _ = parse_axis(&s);
        }
    }
}
