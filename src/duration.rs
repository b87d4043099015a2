//! Durations such as `90s`, `30m`, `6h`, `2d` or `1h30m`.
//!
//! This module owns how mlk reads and writes time spans (deadlines, TTLs, queue minimum
//! runtimes). Parsing is humantime's; on top of it a duration must be positive and a whole
//! number of seconds, because the Kubernetes fields it ends up in count whole seconds.

use std::fmt;

const HELP: &str = "write a number followed by s, m, h or d, e.g. 90s, 30m, 6h, 2d \
                    (units may be combined: 1h30m)";
/// Units `from_secs` writes, largest first.
const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];

/// A positive whole number of seconds, with the text as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duration {
    text: String,
    secs: u64,
}

/// Why a string is not a usable duration. [`DurationError::help`] says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is empty or only whitespace.
    #[error("a duration cannot be empty")]
    Empty,
    /// The text starts with a minus sign.
    #[error("{text:?} is not a duration: it cannot be negative")]
    Negative {
        /// The text as written.
        text: String,
    },
    /// humantime could not read the text, e.g. `6` (no unit) or `6 parsecs`.
    #[error("{text:?} is not a duration: {reason}")]
    Invalid {
        /// The text as written.
        text: String,
        /// humantime's explanation.
        reason: String,
    },
    /// The duration is zero, e.g. `0s`.
    #[error("{text:?} is zero; a duration must be longer than that")]
    Zero {
        /// The text as written.
        text: String,
    },
    /// The duration is not a whole number of seconds, e.g. `1500ms`.
    #[error("{text:?} is not a whole number of seconds")]
    Fractional {
        /// The text as written.
        text: String,
        /// The whole seconds in it, rounded down.
        secs: u64,
    },
}

impl DurationError {
    /// A one-line hint saying how to write the duration correctly.
    pub fn help(&self) -> String {
        match self {
            Self::Empty | Self::Negative { .. } | Self::Invalid { .. } | Self::Zero { .. } => {
                HELP.to_owned()
            }
            Self::Fractional { secs: 0, .. } => {
                "Kubernetes counts these durations in whole seconds: write 1s".to_owned()
            }
            Self::Fractional { secs, .. } => format!(
                "Kubernetes counts these durations in whole seconds: write {} or {}",
                Duration::from_secs(*secs),
                Duration::from_secs(secs.saturating_add(1)),
            ),
        }
    }
}

impl Duration {
    /// Parses a positive, whole-second duration in humantime syntax, e.g. `90s` or `1h30m`.
    pub fn parse(s: &str) -> Result<Duration, DurationError> {
        let text = || s.to_owned();
        if s.trim().is_empty() {
            return Err(DurationError::Empty);
        }
        // humantime's own message for this is "expected number at 0", which hides the point.
        if s.trim_start().starts_with('-') {
            return Err(DurationError::Negative { text: text() });
        }
        let parsed = humantime::parse_duration(s).map_err(|e| DurationError::Invalid {
            text: text(),
            reason: e.to_string(),
        })?;
        if parsed.is_zero() {
            return Err(DurationError::Zero { text: text() });
        }
        if parsed.subsec_nanos() != 0 {
            return Err(DurationError::Fractional {
                text: text(),
                secs: parsed.as_secs(),
            });
        }
        Ok(Duration {
            text: text(),
            secs: parsed.as_secs(),
        })
    }

    /// The number of seconds.
    pub fn secs(&self) -> u64 {
        self.secs
    }

    /// The text as written (or the compact text of [`Duration::from_secs`]).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A duration of `secs` seconds written compactly with d, h, m and s: 5400 is `1h30m`,
    /// 172800 is `2d`, 90 is `1m30s`. Zero is written `0s`, which [`Duration::parse`]
    /// itself would reject.
    pub fn from_secs(secs: u64) -> Duration {
        let mut text = String::new();
        let mut rest = secs;
        for (unit, suffix) in UNITS {
            if rest >= unit {
                text.push_str(&format!("{}{suffix}", rest / unit));
                rest %= unit;
            }
        }
        if text.is_empty() {
            text.push_str("0s");
        }
        Duration { text, secs }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: &str) -> u64 {
        Duration::parse(s).unwrap().secs()
    }

    fn err(s: &str) -> DurationError {
        Duration::parse(s).unwrap_err()
    }

    #[test]
    fn parses_units_and_combinations() {
        let cases = [
            ("90s", 90),
            ("30m", 1800),
            ("6h", 21_600),
            ("2d", 172_800),
            ("1h30m", 5400),
            ("1h 30m", 5400),
            ("6hours", 21_600),
            ("1500ms500ms", 2),
            ("1w", 604_800),
            ("1.5h", 5400),
        ];
        for (text, expected) in cases {
            assert_eq!(secs(text), expected, "{text}");
            let parsed = Duration::parse(text).unwrap();
            assert_eq!(parsed.as_str(), text);
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn rejects_empty_negative_and_unreadable_text() {
        for text in ["", "  "] {
            assert_eq!(err(text), DurationError::Empty);
        }
        assert_eq!(err("").to_string(), "a duration cannot be empty");
        assert_eq!(
            err("-1h").to_string(),
            r#""-1h" is not a duration: it cannot be negative"#
        );
        for text in ["6", "6 parsecs", "h", "abc", "1e3s"] {
            let e = err(text);
            assert!(matches!(e, DurationError::Invalid { .. }), "{text}: {e:?}");
            assert!(
                e.to_string()
                    .starts_with(&format!("{text:?} is not a duration: "))
            );
        }
        for text in ["", "-1h", "6", "0s"] {
            assert_eq!(err(text).help(), HELP);
        }
    }

    #[test]
    fn rejects_zero() {
        for text in ["0s", "0", "0h0m"] {
            assert!(matches!(err(text), DurationError::Zero { .. }), "{text}");
        }
        assert_eq!(
            err("0s").to_string(),
            r#""0s" is zero; a duration must be longer than that"#
        );
    }

    #[test]
    fn rejects_fractions_of_a_second() {
        let e = err("1500ms");
        assert_eq!(
            e.to_string(),
            r#""1500ms" is not a whole number of seconds"#
        );
        assert_eq!(
            e.help(),
            "Kubernetes counts these durations in whole seconds: write 1s or 2s"
        );
        assert_eq!(
            err("1h1ms").help(),
            "Kubernetes counts these durations in whole seconds: write 1h or 1h1s"
        );
        assert!(matches!(
            err("0.5s"),
            DurationError::Fractional { secs: 0, .. }
        ));
        assert_eq!(
            err("500ms").help(),
            "Kubernetes counts these durations in whole seconds: write 1s"
        );
    }

    #[test]
    fn writes_compact_text() {
        let cases = [
            (5400, "1h30m"),
            (172_800, "2d"),
            (90, "1m30s"),
            (1, "1s"),
            (59, "59s"),
            (3600, "1h"),
            (90_061, "1d1h1m1s"),
            (86_460, "1d1m"),
            (0, "0s"),
        ];
        for (secs, text) in cases {
            let built = Duration::from_secs(secs);
            assert_eq!(built.as_str(), text);
            assert_eq!(built.secs(), secs);
        }
    }

    proptest! {
        #[test]
        fn compact_text_parses_back(secs in 1u64..10_000_000_000) {
            let built = Duration::from_secs(secs);
            prop_assert_eq!(Duration::parse(built.as_str()).unwrap(), built);
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,16}") {
            let _ = Duration::parse(&text);
        }
    }
}
