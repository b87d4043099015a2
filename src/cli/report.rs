//! Diagnostics and status lines on stderr, with colour decided once.

use std::io::IsTerminal;

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme};

use super::{ColorChoice, Global};
use crate::diag::Located;

/// Prints diagnostics and status messages to stderr.
pub struct Reporter {
    handler: GraphicalReportHandler,
    color: bool,
    quiet: bool,
    verbose: bool,
    advice: bool,
}

impl Reporter {
    /// A reporter for the global flags and environment (`NO_COLOR`).
    pub fn new(g: &Global) -> Self {
        let color = match g.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Reporter::with(color, g.quiet, g.verbose)
    }

    /// A reporter with explicit settings (tests use colour off).
    pub fn with(color: bool, quiet: bool, verbose: bool) -> Self {
        let theme = if color {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_width(100)
            .with_context_lines(1);
        Reporter {
            handler,
            color,
            quiet,
            verbose,
            advice: true,
        }
    }

    /// Whether output may use colours.
    pub fn is_color(&self) -> bool {
        self.color
    }

    /// Whether only errors are printed (`-q`).
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// The same reporter without advice-level notes (for data commands such as `render`,
    /// whose output is usually piped; `plan` and `check` show them).
    pub fn without_advice(mut self) -> Self {
        self.advice = false;
        self
    }

    /// A diagnostic as text. A warning's or advice's first line starts with the word
    /// (`warning: mlk::…`, `advice: mlk::…`): the handler's marker (`⚠`, `☞`) alone does not
    /// say it, least of all with colours off.
    pub fn format(&self, d: &dyn Diagnostic) -> String {
        let mut s = String::new();
        if self.handler.render_report(&mut s, d).is_err() {
            s = format!("error: {d}\n");
        }
        let word = match d.severity() {
            Some(miette::Severity::Warning) => "warning",
            Some(miette::Severity::Advice) => "advice",
            Some(miette::Severity::Error) | None => return s,
        };
        if s.starts_with(char::is_whitespace) {
            format!("{word}:\n{s}")
        } else {
            format!("{word}: {s}")
        }
    }

    /// Prints diagnostics (warnings only when not quiet).
    pub fn diagnostics<'a>(&self, items: impl IntoIterator<Item = &'a Located>) {
        for d in items {
            let advice = matches!(d.severity(), Some(miette::Severity::Advice));
            if d.is_error() || (!self.quiet && (self.advice || !advice)) {
                eprint!("{}", self.format(d));
            }
        }
    }

    /// Prints a one-off diagnostic.
    pub fn diagnostic(&self, d: &dyn Diagnostic) {
        eprint!("{}", self.format(d));
    }

    /// Prints a status line unless quiet.
    pub fn status(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }

    /// Prints a line only with `-v`.
    pub fn verbose(&self, msg: &str) {
        if self.verbose {
            eprintln!("{msg}");
        }
    }
}
