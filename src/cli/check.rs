//! `mlk check`: validate a pipeline against a stack, including rendering, without output.

use clap::Args;

use super::compile::{compile, manifests};
use super::{Exit, Global, Inputs, Reporter};

/// `mlk check` arguments.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Pipeline, stack and parameters.
    #[command(flatten)]
    pub inputs: Inputs,
}

/// Runs `mlk check`.
pub fn run(args: &CheckArgs, global: &Global, reporter: &Reporter) -> Exit {
    let opts = args.inputs.options();
    let c = match compile(&args.inputs, global, &opts, reporter) {
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
