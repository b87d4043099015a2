//! `mlk report [RUN] [-o FILE]`: a run's self-contained HTML report (`crate::show`), from
//! its directory under `.mlk/runs/` and the local cache records; no pipeline file, cluster
//! or server needed. `mlk run` writes the same report as `report.html` in the run's
//! directory when it ends; this command writes it again, for any run (one going on too).

use std::path::PathBuf;

use clap::Args;

use super::status::{find, runs_dir};
use super::{Exit, Reporter, write_stdout};
use crate::cache::store::{LocalStore, Store};

/// `mlk report` arguments.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run id (default: the latest run); `latest` works too.
    #[arg(value_name = "RUN")]
    pub run: Option<String>,
    /// Write the report to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Runs `mlk report`.
pub(super) fn run(args: &ReportArgs, reporter: &Reporter) -> Exit {
    let r = match find(reporter, args.run.as_deref()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let store = LocalStore::new(crate::cache::local_store_path());
    let html = match crate::show::report(&runs_dir(), &r.run_id, Some(&store as &dyn Store)) {
        Ok(html) => html,
        Err(e) => return unreadable(reporter, &r.run_id, &e),
    };
    match &args.output {
        None => write_stdout(html.as_bytes()),
        Some(path) => match std::fs::write(path, &html) {
            Ok(()) => {
                reporter.status(&format!("wrote {}", path.display()));
                Exit::Ok
            }
            Err(e) => {
                reporter.status(&format!("error: cannot write {}: {e}", path.display()));
                Exit::Io
            }
        },
    }
}

/// The error of a run whose graph or record cannot be read.
pub(super) fn unreadable(reporter: &Reporter, id: &str, e: &std::io::Error) -> Exit {
    if e.kind() == std::io::ErrorKind::NotFound {
        reporter.status(&format!(
            "error: run {id} has no {}: it was started by an mlk older than reports; run the pipeline again",
            crate::show::GRAPH_FILE
        ));
        return Exit::Invalid;
    }
    reporter.status(&format!("error: cannot read run {id}: {e}"));
    Exit::Io
}
