//! `mlk man [DIR]`: roff manual pages generated from the same clap definitions as `--help`.
//!
//! Without DIR, the top page (`mlk.1`) goes to stdout, so `mlk man | man -l -` works. With
//! DIR, every page is written there: `mlk.1` and one per subcommand, nested ones included
//! (`mlk-render.1`, `mlk-stack-render.1`, …), each atomically.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};

use super::output::write_atomic;
use super::{Cli, Exit, Reporter, write_stdout};

/// `mlk man` arguments.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page into DIR (created if missing) instead of the top page to stdout.
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// A manual page: its file name and roff text.
pub(super) struct Page {
    /// `mlk.1`, `mlk-render.1`, …
    pub file_name: String,
    /// The roff source.
    pub roff: String,
}

/// Every page: the top one first, then each subcommand's (depth first, in definition order).
pub(super) fn pages() -> Vec<Page> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    collect(&cmd, &mut out);
    out
}

fn collect(cmd: &clap::Command, out: &mut Vec<Page>) {
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("mlk manual")
        .source(format!("mlk {}", env!("CARGO_PKG_VERSION")));
    let mut buf = Vec::new();
    // Rendering into a Vec cannot fail.
    let _ = man.render(&mut buf);
    out.push(Page {
        file_name: man.get_filename(),
        roff: examples_as_is(&String::from_utf8_lossy(&buf)),
    });
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, out);
    }
}

/// clap_mangen writes `after_help` as an `EXTRA` section of running text, which man fills
/// into one paragraph; the examples only read well line by line, so that section becomes
/// `EXAMPLES` in no-fill mode.
fn examples_as_is(roff: &str) -> String {
    const EXTRA: &str = "\n.SH EXTRA\n";
    let Some(start) = roff.find(EXTRA) else {
        return roff.to_owned();
    };
    let body_start = start + EXTRA.len();
    let body_end = roff[body_start..]
        .find("\n.SH ")
        .map_or(roff.len(), |i| body_start + i + 1);
    let body = &roff[body_start..body_end];
    let body = body.strip_prefix("Examples:\n").unwrap_or(body);
    format!(
        "{}\n.SH EXAMPLES\n.nf\n{}{}.fi\n{}",
        &roff[..start],
        body,
        if body.ends_with('\n') { "" } else { "\n" },
        &roff[body_end..]
    )
}

/// Runs `mlk man`.
pub(super) fn run(args: &ManArgs, reporter: &Reporter) -> Exit {
    let pages = pages();
    let Some(dir) = &args.dir else {
        return match pages.first() {
            Some(top) => write_stdout(top.roff.as_bytes()),
            None => Exit::Ok,
        };
    };
    match write_pages(dir, &pages) {
        Ok(()) => {
            reporter.status(&format!(
                "wrote {} manual pages to {}",
                pages.len(),
                dir.display()
            ));
            Exit::Ok
        }
        Err(e) => {
            reporter.diagnostic(&e);
            Exit::Io
        }
    }
}

fn write_pages(dir: &Path, pages: &[Page]) -> Result<(), super::output::OutputError> {
    std::fs::create_dir_all(dir).map_err(|e| super::output::OutputError {
        path: dir.display().to_string(),
        message: e.to_string(),
    })?;
    for p in pages {
        write_atomic(&dir.join(&p.file_name), &p.roff)?;
    }
    Ok(())
}
