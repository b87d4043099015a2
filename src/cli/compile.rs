//! The compile path as commands see it: [`crate::compile`]'s stages, with every diagnostic
//! printed and turned into an exit code.

use super::hash_progress::HashProgress;
use super::{Exit, Global, Inputs, Reporter};
pub use crate::compile::Compiled;
use crate::compile::find_stack;
use crate::diag::{Located, Problems};
use crate::load::StackRef;
use crate::render::Manifest;
use crate::resolve::Options;

/// [`Compiled::manifests`], with a problem printed (exit 2).
pub fn manifests(
    c: &Compiled,
    reporter: &Reporter,
    run_id: Option<&str>,
) -> Result<Vec<Manifest>, Exit> {
    c.manifests(run_id).map_err(|e| {
        reporter.diagnostic(&e);
        Exit::Invalid
    })
}

/// Finds the stack, loads, hashes inputs and resolves; prints every diagnostic and the
/// warnings; returns the exit code on failure.
pub fn compile(
    inputs: &Inputs,
    global: &Global,
    opts: &Options,
    reporter: &Reporter,
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
    )
    .map_err(|problems| fail(reporter, &problems))?;
    reporter.diagnostics(&c.resolved.warnings);
    Ok(c)
}

fn fail(reporter: &Reporter, problems: &Problems) -> Exit {
    reporter.diagnostics(problems.items());
    let n = problems.error_count();
    reporter.status(&format!(
        "error: {n} problem{} found",
        if n == 1 { "" } else { "s" }
    ));
    if problems.items().iter().any(|d| d.code() == "mlk::load::io")
        && !problems.items().iter().any(is_not_found)
    {
        Exit::Io
    } else {
        Exit::Invalid
    }
}

fn is_not_found(d: &Located) -> bool {
    d.code() == "mlk::load::io" && d.to_string().contains("No such file")
}
