//! `mlk render`: manifests to stdout, or one file per object into a directory.

use std::path::PathBuf;

use clap::Args;

use super::compile::{compile, manifests};
use super::output::{Change, apply_reported, plan_dir, report_stale, unified_diff};
use super::{Exit, Global, Inputs, Reporter, write_stdout, write_stdout_parts};
use crate::render::stream_parts;

/// `mlk render` arguments.
#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Pipeline, stack and parameters.
    #[command(flatten)]
    pub inputs: Inputs,
    /// Write `<kind>-<name>.yaml` files and a kustomization.yaml into DIR instead of stdout.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Write nothing; exit 1 with a diff when DIR differs from what would be written.
    #[arg(long, requires = "output")]
    pub check: bool,
}

/// Runs `mlk render`.
pub(super) fn run(args: &RenderArgs, global: &Global, reporter: &Reporter) -> Exit {
    // A render is of no particular run: the run fills in its date (an engine's launcher),
    // unless `--run-date` gives one.
    let opts = crate::resolve::Options {
        run_date: args.inputs.run_date_or(crate::resolve::RunDate::AtRun),
        ..args.inputs.options()
    };
    let c = match compile(&args.inputs, global, &opts, reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let manifests = match manifests(&c, reporter, None) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let Some(dir) = &args.output else {
        let code = write_stdout_parts(stream_parts(&manifests).map(str::as_bytes));
        // The process exits right after this. Freeing the plan and the manifests (tens of
        // thousands of allocations for a large pipeline) would only delay that exit; the
        // operating system takes the memory back at once.
        std::mem::forget((c, manifests));
        return code;
    };

    let source = args
        .inputs
        .pipeline
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let owner = format!(
        "pipeline {}, stack {}",
        c.resolved.plan.pipeline, c.resolved.plan.stack.name
    );
    let (files, changes) = match plan_dir(dir, &manifests, &source, &owner, reporter) {
        Ok(planned) => planned,
        Err(code) => return code,
    };
    let count = |f: fn(&Change) -> bool| changes.iter().filter(|c| f(c)).count();
    let (added, modified, deleted) = (
        count(|c| matches!(c, Change::Add { .. })),
        count(|c| matches!(c, Change::Modify { .. })),
        count(|c| matches!(c, Change::Delete { .. })),
    );
    if args.check {
        if changes.is_empty() {
            reporter.status(&format!(
                "{} is up to date ({} files)",
                dir.display(),
                files.len()
            ));
            return Exit::Ok;
        }
        let code = write_stdout(unified_diff(dir, &changes).as_bytes());
        report_stale(dir, &changes, false, reporter);
        reporter.status(&format!(
            "{} is out of date: {added} to add, {modified} to change, {deleted} to delete; run `{}`",
            dir.display(),
            repair_command(args, global, dir)
        ));
        return if code == Exit::Ok { Exit::Failed } else { code };
    }
    if let Err(code) = apply_reported(dir, &changes, reporter) {
        return code;
    }
    reporter.status(&format!(
        "wrote {}: {added} added, {modified} changed, {deleted} deleted, {} unchanged",
        dir.display(),
        files.len().saturating_sub(added + modified)
    ));
    Exit::Ok
}

/// The `mlk render` command line that rewrites `dir`: the pipeline, `--stack`, `-p` and `-n`
/// given.
fn repair_command(args: &RenderArgs, global: &Global, dir: &std::path::Path) -> String {
    let dir = dir.display().to_string();
    match &global.namespace {
        Some(ns) => args.inputs.command_line("render", &["-n", ns, "-o", &dir]),
        None => args.inputs.command_line("render", &["-o", &dir]),
    }
}
