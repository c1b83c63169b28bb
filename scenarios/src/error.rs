//! Errors that point at the exact place in a scenario: file, line, column, key path, and what
//! was expected.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// Where the text came from: a file path, `example:NAME`, or a report.
    pub origin: String,
    /// 1-based line and column, when the place is known.
    pub position: Option<(usize, usize)>,
    /// Dotted key path of the offending value (`gateway.retry.max_attempts`), empty for errors
    /// about the text as a whole.
    pub key_path: String,
    pub message: String,
    /// The source line, to print under the message.
    pub source_line: Option<String>,
    /// The `--set` argument that introduced the value, if it came from one.
    pub from_override: Option<String>,
}

impl ScenarioError {
    pub fn new(origin: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            origin: origin.to_string(),
            position: None,
            key_path: String::new(),
            message: message.into(),
            source_line: None,
            from_override: None,
        }
    }

    pub(crate) fn at_offset(mut self, text: &str, offset: usize) -> ScenarioError {
        let (line, column, source_line) = line_column(text, offset);
        self.position = Some((line, column));
        self.source_line = Some(source_line);
        self
    }

    pub(crate) fn at_line_column(
        mut self,
        text: &str,
        line: usize,
        column: usize,
    ) -> ScenarioError {
        self.position = Some((line.max(1), column.max(1)));
        self.source_line = text.lines().nth(line.max(1) - 1).map(str::to_string);
        self
    }

    pub(crate) fn with_path(mut self, path: impl Into<String>) -> ScenarioError {
        self.key_path = path.into();
        self
    }
}

/// 1-based line and column (in characters) of a byte offset, and the text of that line.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize, String) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    (
        line,
        column,
        text[line_start..line_end]
            .trim_end_matches('\r')
            .to_string(),
    )
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.from_override {
            Some(arg) => write!(f, "--set {arg}")?,
            None => {
                write!(f, "{}", self.origin)?;
                if let Some((line, column)) = self.position {
                    write!(f, ":{line}:{column}")?;
                }
            }
        }
        if !self.key_path.is_empty() {
            write!(f, ": at `{}`", self.key_path)?;
        }
        write!(f, ": {}", self.message)?;
        if self.from_override.is_none()
            && let (Some((line, column)), Some(src)) = (self.position, &self.source_line)
        {
            let gutter = line.to_string().len();
            let (shown, caret) = snippet(src, column);
            write!(
                f,
                "\n{:gutter$} |\n{line} | {shown}\n{:gutter$} | {}^",
                "",
                "",
                " ".repeat(caret)
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// At most this many characters of a source line are shown under an error.
const SNIPPET_WIDTH: usize = 160;

/// The part of `line` to show so that (1-based) `column` is visible, and the caret's offset in
/// it: the line's start when the column is near it, else a window around the column marked with
/// `…` at the cut ends (a minified one-line JSON scenario can be megabytes long).
fn snippet(line: &str, column: usize) -> (String, usize) {
    let at = column.saturating_sub(1);
    let length = line.chars().count();
    if length <= SNIPPET_WIDTH || at < SNIPPET_WIDTH - 20 {
        let shown: String = line.chars().take(SNIPPET_WIDTH).collect();
        return (shown, at);
    }
    let start = at.saturating_sub(SNIPPET_WIDTH / 2);
    let end = (start + SNIPPET_WIDTH).min(length);
    let mut shown = String::from("…");
    shown.extend(line.chars().skip(start).take(end - start));
    if end < length {
        shown.push('…');
    }
    (shown, at - start + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters() {
        let text = "a = 1\nbé = \"x\"\n";
        assert_eq!(line_column(text, 0), (1, 1, "a = 1".into()));
        let off = text.find('"').unwrap();
        assert_eq!(line_column(text, off), (2, 6, "bé = \"x\"".into()));
    }

    #[test]
    fn display_shows_the_line_and_a_caret() {
        let e = ScenarioError::new(
            "s.toml",
            "expected a probability between 0 and 1, found 1.5",
        )
        .with_path("backends[0].failure_probability")
        .at_offset("x = 1\nfailure_probability = 1.5\n", 28);
        let shown = e.to_string();
        assert!(
            shown.starts_with("s.toml:2:23: at `backends[0].failure_probability`"),
            "{shown}"
        );
        assert!(shown.contains("2 | failure_probability = 1.5"), "{shown}");
        // The caret sits under the value.
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines[3].find('^'), lines[2].find("1.5"), "{shown}");
    }

    #[test]
    fn a_column_far_along_a_long_line_is_shown_with_its_caret() {
        // Past column 65,535 the old padding-based caret panicked in `fmt`.
        for column in [1, 100, 150, 170, 65_535, 65_536, 200_000] {
            let mut line = "x".repeat(column - 1);
            line.push('@');
            line.push_str(&"y".repeat(300));
            let e = ScenarioError::new("big.json", "bad value").at_line_column(&line, 1, column);
            let shown = e.to_string();
            let lines: Vec<&str> = shown.lines().collect();
            let source: Vec<char> = lines[2].chars().collect();
            let caret = lines[3].chars().position(|c| c == '^').unwrap();
            assert_eq!(source[caret], '@', "column {column}: {shown}");
            assert!(lines[2].chars().count() <= SNIPPET_WIDTH + 10, "{column}");
            assert!(shown.starts_with(&format!("big.json:1:{column}:")));
            // Near its start the line is shown from the start; further along, a window cut at
            // both ends around the column.
            let cut = lines[2].contains('…');
            assert_eq!(cut, column > SNIPPET_WIDTH - 20, "column {column}: {shown}");
            if cut {
                assert!(
                    lines[2].starts_with("1 | …") && lines[2].ends_with('…'),
                    "{shown}"
                );
                let at = source.iter().position(|c| *c == '@').unwrap();
                assert_eq!(
                    at - 5,
                    SNIPPET_WIDTH / 2,
                    "the column sits mid-window: {shown}"
                );
            }
        }
        // A short line is shown whole, wherever the column.
        let e = ScenarioError::new("s.toml", "bad").at_line_column("a = 1", 1, 5);
        assert!(e.to_string().contains("1 | a = 1\n"), "{e}");
    }
}
