//! Diagnostics tied to the user's files.
//!
//! Every stage reports problems as its own `thiserror` + `miette::Diagnostic` enum whose labels
//! are byte spans. This module owns the registry of source files ([`Sources`]) and the
//! [`Located`] wrapper that attaches a file to such a diagnostic, so that miette can print
//! `file:line:col` with a snippet. Problems are collected into [`Problems`] so that a command
//! reports everything wrong with its input at once instead of stopping at the first error.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode};

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(usize);

/// The user files a command read, kept for diagnostics.
///
/// Secret-looking literal values are blanked out ([`Sources::redact`]) before any diagnostic can
/// show a snippet, so that no error message ever echoes them.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<(String, Arc<String>)>,
}

impl Sources {
    /// Registers a file's text under the name diagnostics show for it.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push((name.into(), Arc::new(text.into())));
        FileId(self.files.len() - 1)
    }

    /// The name a file was registered under.
    pub fn name(&self, file: FileId) -> &str {
        &self.files[file.0].0
    }

    /// The (redacted) text of a file.
    pub fn text(&self, file: FileId) -> &str {
        &self.files[file.0].1
    }

    /// Replaces every byte in `range` by `*` so no diagnostic can show it. Offsets stay valid.
    pub fn redact(&mut self, file: FileId, range: Range<usize>) {
        let text = Arc::make_mut(&mut self.files[file.0].1);
        let end = range.end.min(text.len());
        let start = range.start.min(end);
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return;
        }
        let stars = "*".repeat(text[start..end].chars().count());
        text.replace_range(start..end, &stars);
    }

    fn named(&self, file: FileId) -> NamedSource<Arc<String>> {
        let (name, text) = &self.files[file.0];
        NamedSource::new(name.clone(), Arc::clone(text)).with_language("toml")
    }
}

/// A diagnostic together with the file its spans point into (if any).
pub struct Located {
    source: Option<NamedSource<Arc<String>>>,
    inner: Box<dyn Diagnostic + Send + Sync + 'static>,
}

impl Located {
    /// Attaches `file` to `inner`.
    pub fn new(
        sources: &Sources,
        file: FileId,
        inner: impl Diagnostic + Send + Sync + 'static,
    ) -> Self {
        Located {
            source: Some(sources.named(file)),
            inner: Box::new(inner),
        }
    }

    /// A diagnostic about no particular file (command-line arguments, the environment).
    pub fn detached(inner: impl Diagnostic + Send + Sync + 'static) -> Self {
        Located {
            source: None,
            inner: Box::new(inner),
        }
    }

    /// Whether this is an error (as opposed to a warning or advice).
    pub fn is_error(&self) -> bool {
        matches!(self.inner.severity(), None | Some(Severity::Error))
    }

    /// The stable code, e.g. `mlk::load::unknown_key`.
    pub fn code(&self) -> String {
        self.inner.code().map(|c| c.to_string()).unwrap_or_default()
    }
}

impl fmt::Debug for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.inner)
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)
    }
}

impl std::error::Error for Located {}

impl Diagnostic for Located {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.code()
    }
    fn severity(&self) -> Option<Severity> {
        self.inner.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.help()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.inner.url()
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.source.is_some() {
            self.inner.labels()
        } else {
            None
        }
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        self.inner.related()
    }
}

/// Everything a stage found wrong (errors) or worth saying (warnings), in report order.
#[derive(Debug, Default)]
pub struct Problems {
    items: Vec<Located>,
}

impl Problems {
    /// Adds a diagnostic about `file`.
    pub fn push(
        &mut self,
        sources: &Sources,
        file: FileId,
        d: impl Diagnostic + Send + Sync + 'static,
    ) {
        self.items.push(Located::new(sources, file, d));
    }

    /// Adds an already located diagnostic.
    pub fn push_located(&mut self, d: Located) {
        self.items.push(d);
    }

    /// Moves every item of `other` to the end of this list.
    pub fn extend(&mut self, other: Problems) {
        self.items.extend(other.items);
    }

    /// Whether any item is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Located::is_error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    /// All items, errors and warnings, in report order.
    pub fn items(&self) -> &[Located] {
        &self.items
    }

    /// Splits off the warnings, leaving only errors.
    pub fn take_warnings(&mut self) -> Vec<Located> {
        let (errors, warnings) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(Located::is_error);
        self.items = errors;
        warnings
    }
}

impl IntoIterator for Problems {
    type Item = Located;
    type IntoIter = std::vec::IntoIter<Located>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// The closest known word to `word`, for "did you mean" hints.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(word, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}
