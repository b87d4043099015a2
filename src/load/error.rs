//! The loader's error type: every problem a pipeline or stack file can have on its own, each
//! with a stable code, a label on its span and a help saying how to fix it.

use miette::{Diagnostic, SourceSpan};
use thiserror::Error;

/// A problem in a pipeline or stack file.
#[derive(Debug, Error, Diagnostic)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    #[diagnostic(code(mlk::load::io), help("check the path and its permissions"))]
    Io {
        /// The path as given.
        path: String,
        /// What the operating system said.
        message: String,
        /// Whether the file does not exist (invalid input) rather than being unreadable.
        not_found: bool,
    },

    /// The path names something other than a regular file (a FIFO, a device, a directory).
    #[error("{path} is {kind}, not a regular file")]
    #[diagnostic(
        code(mlk::load::not_a_file),
        help("pass the path of a TOML file; mlk does not read pipes, devices or directories")
    )]
    NotAFile {
        /// The path as given.
        path: String,
        /// What it is instead ("a FIFO (named pipe)", "a directory", …).
        kind: &'static str,
    },

    /// The file is larger than any pipeline or stack should be.
    #[error("{path} is larger than {limit_mib} MiB")]
    #[diagnostic(
        code(mlk::load::too_large),
        help("check the path: pipeline and stack files are small TOML files")
    )]
    TooLarge {
        /// The path as given.
        path: String,
        /// The limit, in MiB.
        limit_mib: u64,
    },

    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8: byte {byte} cannot start or continue a character")]
    #[diagnostic(
        code(mlk::load::encoding),
        help("TOML files are UTF-8; convert it (for example `iconv -f latin1 -t utf-8`)")
    )]
    NotUtf8 {
        /// The first invalid byte, as `0xE9`.
        byte: String,
        /// Where.
        #[label("not UTF-8")]
        at: SourceSpan,
    },

    /// TOML syntax error, including duplicate keys.
    #[error("{message}")]
    #[diagnostic(code(mlk::load::syntax), help("{help}"))]
    Syntax {
        /// The parser's message.
        message: String,
        /// How to fix it.
        help: String,
        /// Where.
        #[label("here")]
        at: SourceSpan,
    },

    /// A key the format does not define.
    #[error("unknown key `{key}` in {table}")]
    #[diagnostic(code(mlk::load::unknown_key), help("{help}"))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The table it is in.
        table: String,
        /// A "did you mean" hint or the list of known keys.
        help: String,
        /// The key.
        #[label("unknown key")]
        at: SourceSpan,
    },

    /// A required key is missing.
    #[error("{table} needs `{key}`")]
    #[diagnostic(
        code(mlk::load::missing_key),
        help("add `{key} = …` ({expected}) to {table}")
    )]
    MissingKey {
        /// The missing key.
        key: &'static str,
        /// The table that needs it.
        table: String,
        /// What its value looks like.
        expected: String,
        /// The table.
        #[label("in this table")]
        at: SourceSpan,
    },

    /// A value of the wrong TOML type.
    #[error("expected {expected}, found {found}")]
    #[diagnostic(code(mlk::load::wrong_type), help("write {expected} here"))]
    WrongType {
        /// What the format wants.
        expected: String,
        /// What was written.
        found: String,
        /// The value.
        #[label("{found}")]
        at: SourceSpan,
    },

    /// A number that does not fit.
    #[error("this {what} is out of range")]
    #[diagnostic(code(mlk::load::out_of_range), help("use a smaller {what}"))]
    OutOfRange {
        /// "integer" or "number".
        what: String,
        /// The value.
        #[label("out of range")]
        at: SourceSpan,
    },

    /// Not a Kubernetes resource quantity.
    #[error("{message}")]
    #[diagnostic(code(mlk::load::quantity), help("{help}"))]
    BadQuantity {
        /// What is wrong.
        message: String,
        /// How to write it.
        help: String,
        /// The value.
        #[label("not a Kubernetes quantity")]
        at: SourceSpan,
    },

    /// Not a duration.
    #[error("{message}")]
    #[diagnostic(code(mlk::load::duration), help("{help}"))]
    BadDuration {
        /// What is wrong.
        message: String,
        /// How to write it.
        help: String,
        /// The value.
        #[label("not a duration")]
        at: SourceSpan,
    },

    /// A name that Kubernetes would reject.
    #[error("{what} `{value}` is not a valid name: {reason}")]
    #[diagnostic(
        code(mlk::load::name),
        help(
            "names are DNS-1123 labels: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
        )
    )]
    BadName {
        /// What is being named ("step name", "pipeline name").
        what: &'static str,
        /// The name as written.
        value: String,
        /// Why it is not valid.
        reason: String,
        /// The name.
        #[label("invalid name")]
        at: SourceSpan,
    },

    /// A value outside the allowed set or range.
    #[error("{message}")]
    #[diagnostic(code(mlk::load::value), help("{help}"))]
    BadValue {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// The value.
        #[label("{label}")]
        at: SourceSpan,
        /// Short label text.
        label: String,
    },

    /// `[pipeline] schedule` is not a cron expression Argo's scheduler accepts.
    #[error("{message}")]
    #[diagnostic(
        code(mlk::load::cron),
        help(
            "five fields: minute hour day-of-month month day-of-week, e.g. \"0 2 * * *\" (02:00 every day) or \"30 6 * * MON-FRI\"; or @hourly, @daily, @weekly, @monthly, @yearly, @every 1h"
        )
    )]
    BadCron {
        /// What is wrong with which schedule, naming the field.
        message: String,
        /// The bad field (the whole value when its position is unknown).
        #[label("{label}")]
        at: SourceSpan,
        /// Short label text.
        label: &'static str,
    },

    /// `[pipeline] timezone` is not an IANA time zone name.
    #[error("unknown time zone `{name}`")]
    #[diagnostic(code(mlk::load::timezone), help("{help}"))]
    UnknownTimezone {
        /// The name as written.
        name: String,
        /// A suggestion, or how to find a name.
        help: String,
        /// The value.
        #[label("not an IANA time zone")]
        at: SourceSpan,
    },

    /// A plain value (literal or template) in an environment variable whose name looks like a
    /// credential.
    #[error("`{name}` looks like a credential but its value is not a secret reference")]
    #[diagnostic(
        code(mlk::load::literal_secret),
        help(
            "never put secrets in pipeline files; reference a Kubernetes Secret instead:\n    {name} = {{ secret = \"<secret-name>\", key = \"<key>\" }}\nor, if the value is not a secret (a path, say), say so:\n    {name} = {{ value = \"…\", not_secret = true }}"
        )
    )]
    LiteralSecret {
        /// The variable name.
        name: String,
        /// The variable's key (the value itself is redacted and never shown).
        #[label("use a secret reference")]
        at: SourceSpan,
    },
}

impl LoadError {
    /// Whether the problem is the environment's (exit 3) rather than the input's (exit 2).
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            LoadError::Io {
                not_found: false,
                ..
            }
        )
    }

    /// A value-range problem with a label, a message and a fix.
    pub fn value(
        at: std::ops::Range<usize>,
        label: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        LoadError::BadValue {
            message: message.into(),
            help: help.into(),
            at: at.into(),
            label: label.into(),
        }
    }
}
