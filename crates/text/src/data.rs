//! What the word lists under `data/` have in common: one entry per line, fields separated by a
//! TAB, `#` comment lines and blank lines. Each list is embedded with `include_str!` and parsed
//! once, at first use, by the module that reads it; each documents its own fields at its top.
//!
//! The lists are part of the binary, not input, so a line that does not parse is a programmer
//! error: parsing names the line and fails, it never skips it, and a unit test per list parses
//! the whole shipped file.

use std::fmt;

/// A line of a data file that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LineError {
    /// 1-based line number.
    pub(crate) line: usize,
    pub(crate) reason: String,
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// The entry lines of `data` with their 1-based line numbers: comments (`#` first) and empty
/// lines left out.
pub(crate) fn entries(data: &'static str) -> impl Iterator<Item = (usize, &'static str)> {
    data.lines()
        .enumerate()
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(n, line)| (n + 1, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_skip_comments_and_blank_lines_and_count_from_one() {
        let got: Vec<_> = entries("# head\n\na\tb\n#x\nc\n").collect();
        assert_eq!(got, vec![(3, "a\tb"), (5, "c")]);
        let e = LineError {
            line: 3,
            reason: "bad".into(),
        };
        assert_eq!(e.to_string(), "line 3: bad");
    }
}
