//! Masking of secret values in step log lines: the one point every line passes before mlk
//! stores it (the step's log file), keeps it (the failure summary's last lines) or shows it
//! (the terminal).
//!
//! The backend says which secret values it gave a step ([`super::Backend::secrets`]); each
//! one is replaced by [`MASK`] wherever it occurs in a whole, assembled line, so a value the
//! step's output split across several reads is masked too. A value spanning several lines is
//! masked line by line. Values shorter than [`MIN_LEN`] characters are left alone: masking
//! every `1` or `on` would hide the output without protecting anything.

use std::borrow::Cow;

/// What a secret value is replaced by.
pub(crate) const MASK: &str = "***";

/// Shorter (lines of) values are not masked.
pub(crate) const MIN_LEN: usize = 4;

/// The secret values to mask in one step's lines.
#[derive(Debug, Clone, Default)]
pub(crate) struct Mask {
    /// Longest first, so a value that contains another is masked whole.
    values: Vec<String>,
}

impl Mask {
    /// A mask of `values`: each of their lines of at least [`MIN_LEN`] characters.
    pub(crate) fn new(values: impl IntoIterator<Item = String>) -> Self {
        let mut values: Vec<String> = values
            .into_iter()
            .flat_map(|v| {
                v.lines()
                    .map(|l| l.trim_end_matches('\r').to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|l| l.chars().count() >= MIN_LEN)
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        Mask { values }
    }

    /// `line` with every secret value replaced by [`MASK`].
    pub(crate) fn apply<'a>(&self, line: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(line);
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = Cow::Owned(out.replace(v.as_str(), MASK));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_occurrence_longest_first() {
        let m = Mask::new(["abcd".to_owned(), "abcdefgh".to_owned()]);
        assert_eq!(m.apply("x abcdefgh y abcd z"), "x *** y *** z");
        assert!(matches!(m.apply("nothing here"), Cow::Borrowed(_)));
    }

    #[test]
    fn short_values_are_left_and_long_ones_masked_line_by_line() {
        let m = Mask::new(["on".to_owned(), "first-line\r\nsecond-line\n".to_owned()]);
        assert_eq!(m.apply("on: first-line"), "on: ***");
        assert_eq!(m.apply("second-line."), "***.");
        assert_eq!(Mask::new(Vec::new()).apply("abc"), "abc");
    }
}
