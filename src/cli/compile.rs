//! The compile path as commands see it: [`crate::compile`]'s stages, with every diagnostic
//! printed and turned into an exit code.

use super::hash_progress::HashProgress;
use super::{Exit, Global, Inputs, Reporter};
pub(super) use crate::compile::Compiled;
use crate::compile::{StatCacheUse, find_stack};
use crate::diag::Located;
use crate::load::StackRef;
use crate::render::Manifest;
use crate::resolve::Options;

/// [`Compiled::manifests`], with a problem printed (exit 2).
pub(super) fn manifests(
    c: &Compiled,
    reporter: &Reporter,
    run_id: Option<&str>,
) -> Result<Vec<Manifest>, Exit> {
    let manifests = c.manifests(run_id).map_err(|e| {
        reporter.diagnostic(&e);
        Exit::Invalid
    })?;
    for warning in crate::render::engine::too_large(&manifests) {
        reporter.status(&format!("warning: {warning}"));
    }
    Ok(manifests)
}

/// Finds the stack, loads, hashes inputs (updating the stat cache) and resolves; prints every
/// diagnostic and the warnings; returns the exit code on failure.
pub(super) fn compile(
    inputs: &Inputs,
    global: &Global,
    opts: &Options,
    reporter: &Reporter,
) -> Result<Compiled, Exit> {
    compile_using(inputs, global, opts, reporter, StatCacheUse::Update)
}

/// [`compile`], with the stat cache used as `stat_cache` says.
pub(super) fn compile_using(
    inputs: &Inputs,
    global: &Global,
    opts: &Options,
    reporter: &Reporter,
    stat_cache: StatCacheUse,
) -> Result<Compiled, Exit> {
    let stack = find_stack(inputs.stack.as_deref()).map_err(|d| {
        reporter.diagnostic(&d);
        Exit::Invalid
    })?;
    reporter.verbose(&format!(
        "stack: {}",
        match &stack {
            StackRef::BuiltinLocal => "built-in local".to_owned(),
            StackRef::Path(p) => p.display().to_string(),
        }
    ));
    let progress = HashProgress::new(global.quiet);
    let c = crate::compile::compile(
        &inputs.pipeline,
        &stack,
        global.namespace.as_deref(),
        opts,
        &progress,
        stat_cache,
    )
    .map_err(|problems| fail(reporter, problems.items()))?;
    reporter.diagnostics(&c.resolved.warnings);
    Ok(c)
}

/// Prints load or resolve problems and their count; the exit code is 3 when a file could
/// not be read for a reason the user cannot fix by editing, else 2. Every command that loads
/// files decides its exit code here, so a problem has one code whatever the command.
pub(super) fn fail(reporter: &Reporter, items: &[Located]) -> Exit {
    reporter.diagnostics(items);
    let n = items.iter().filter(|d| d.is_error()).count();
    reporter.status(&format!(
        "error: {n} problem{} found",
        if n == 1 { "" } else { "s" }
    ));
    if items.iter().any(|d| d.code() == "mlk::load::io") && !items.iter().any(is_not_found) {
        Exit::Io
    } else {
        Exit::Invalid
    }
}

fn is_not_found(d: &Located) -> bool {
    d.code() == "mlk::load::io" && d.to_string().contains("No such file")
}
