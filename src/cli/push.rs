//! `mlk push`: store a pipeline's local inputs in its stack's artifact store under the content
//! addresses `mlk render` writes into the manifests, so that rendered objects applied by
//! GitOps or CI find their data. `mlk run` does the same by itself before its steps start.

use clap::Args;

use super::compile::compile_using;
use super::{Exit, Global, Inputs, Reporter};
use crate::artifacts::{Artifacts, Outcome, summary};
use crate::compile::StatCacheUse;

/// `mlk push` arguments.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Pipeline, stack and parameters.
    #[command(flatten)]
    pub inputs: Inputs,
    /// Upload nothing; exit 1 when an input is not in the store yet.
    #[arg(long)]
    pub check: bool,
}

/// Runs `mlk push`.
pub(super) fn run(args: &PushArgs, global: &Global, reporter: &Reporter) -> Exit {
    let opts = args.inputs.options();
    let c = match compile_using(&args.inputs, global, &opts, reporter, StatCacheUse::Update) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = &c.resolved.plan;
    let artifacts = match Artifacts::open(&plan.stack) {
        Ok(Some(a)) => a,
        Ok(None) => {
            reporter.status(&format!(
                "nothing to push: stack `{}` keeps artifacts at {}, which steps read in place",
                plan.stack.name, plan.stack.artifacts_uri
            ));
            return Exit::Ok;
        }
        Err(e) => {
            reporter.status(&format!("error: {e}"));
            return Exit::from(&e);
        }
    };
    let dir = c.loaded.pipeline.dir.clone();
    let pushed = match artifacts.push(&dir, &plan.steps, !args.check) {
        Ok(p) => p,
        Err(e) => {
            reporter.status(&format!("error: {e}"));
            return Exit::from(&e);
        }
    };
    let mut out = String::new();
    for p in &pushed {
        let (what, moved) = match p.outcome {
            Outcome::Stored(t) => (
                "stored",
                format!(
                    " ({} file{}, {} bytes)",
                    t.files,
                    if t.files == 1 { "" } else { "s" },
                    t.bytes
                ),
            ),
            Outcome::Present => ("present", String::new()),
            Outcome::Missing => ("missing", String::new()),
        };
        out.push_str(&format!("{what:<8} {} → {}{moved}\n", p.path, p.uri));
    }
    if super::write_stdout(out.as_bytes()) != Exit::Ok {
        return Exit::Io;
    }
    let (stored, present, missing, moved) = summary(&pushed);
    let store = &plan.stack.artifacts_uri;
    reporter.status(&if args.check {
        format!("{present} present, {missing} missing in {store}")
    } else {
        format!(
            "{stored} stored ({} bytes), {present} already present in {store}",
            moved.bytes
        )
    });
    if missing > 0 { Exit::Failed } else { Exit::Ok }
}
