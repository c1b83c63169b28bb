//! Small helpers for writing scenario TOML by hand (so the file keeps comments saying where
//! each value came from).

/// A TOML basic string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A duration string for `seconds`, exact to the microsecond: "5s", "1500ms", "250us".
pub fn duration(seconds: f64) -> String {
    let us = (seconds * 1e6).round() as u64;
    if us.is_multiple_of(1_000_000) {
        format!("\"{}s\"", us / 1_000_000)
    } else if us.is_multiple_of(1_000) {
        format!("\"{}ms\"", us / 1_000)
    } else {
        format!("\"{us}us\"")
    }
}

/// A number as TOML writes it (whole numbers without a fraction).
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A scenario name: `.`, `=`, `,` and spaces (which `--set` paths cannot address) become `_`.
pub fn name(s: &str) -> String {
    let n: String = s
        .chars()
        .map(|c| {
            if matches!(c, '.' | '=' | ',' | ' ' | '"') {
                '_'
            } else {
                c
            }
        })
        .collect();
    if n.trim().is_empty() {
        "unnamed".to_string()
    } else {
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_durations_and_names() {
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(duration(5.0), "\"5s\"");
        assert_eq!(duration(1.5), "\"1500ms\"");
        assert_eq!(duration(0.00025), "\"250us\"");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(name("gpt-3.5-turbo"), "gpt-3_5-turbo");
        assert_eq!(name(""), "unnamed");
        assert_eq!(name("a b"), "a_b");
    }
}
