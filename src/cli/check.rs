//! `mlk check`: validate a pipeline against a stack, including rendering, without output and
//! without writing anything (not even the stat cache of `.mlk/`).

use clap::Args;

use super::compile::{compile_using, manifests};
use super::{Exit, Global, Inputs, Reporter};
use crate::compile::StatCacheUse;

/// `mlk check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Pipeline, stack and parameters.
    #[command(flatten)]
    pub inputs: Inputs,
}

/// Runs `mlk check`.
pub(super) fn run(args: &CheckArgs, global: &Global, reporter: &Reporter) -> Exit {
    let opts = args.inputs.options();
    let c = match compile_using(
        &args.inputs,
        global,
        &opts,
        reporter,
        StatCacheUse::ReadOnly,
    ) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match manifests(&c, reporter, None) {
        Ok(manifests) => {
            let plan = &c.resolved.plan;
            reporter.status(&format!(
                "ok: pipeline `{}` on stack `{}`: {} steps, {} objects",
                plan.pipeline,
                plan.stack.name,
                plan.steps.len(),
                manifests.len()
            ));
            Exit::Ok
        }
        Err(code) => code,
    }
}
