//! `mlk check`: validate a pipeline against a stack, including rendering, without output.

use clap::Args;

use super::compile::compile;
use super::{Exit, Global, Inputs, Reporter};
use crate::render::render;

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
    let templates = match c.templates(reporter) {
        Ok(t) => t,
        Err(code) => return code,
    };
    match render(&c.resolved.plan, &templates, None) {
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
        Err(e) => {
            reporter.diagnostic(&e);
            Exit::Invalid
        }
    }
}
