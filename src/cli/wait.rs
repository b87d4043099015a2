//! `mlk wait KIND NAME` (hidden): follows one workload until mlk's rules say it succeeded or
//! failed ([`crate::cluster::wait_for`]). An engine's wait task runs it in the launcher image
//! (`render::engine`), with the pod's service account; from a laptop it uses the kubeconfig.

use clap::Args;

use super::{Exit, Global, Reporter};
use crate::cluster::{Cluster, Ended, POLL, wait_for};

/// `mlk wait` arguments.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The workload's kind.
    #[arg(value_parser = ["Job", "PyTorchJob", "TrainJob", "InferenceService"])]
    pub kind: String,
    /// The workload's name.
    pub name: String,
    /// Only this run's pods (their `mlk.dev/run` label) say why the workload is pending.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
}

/// Runs `mlk wait`: 0 when the workload succeeded, 1 when it failed, 3 when the cluster
/// could not be read.
pub(super) fn run(args: &WaitArgs, global: &Global, reporter: &Reporter) -> Exit {
    let cluster = match Cluster::connect(&global.target()) {
        Ok(c) => c,
        Err(e) => {
            reporter.diagnostic(&e);
            return Exit::Io;
        }
    };
    let poll = POLL * 8;
    let mut say = |line: &str| reporter.status(&format!("mlk: {line}"));
    match wait_for(
        &cluster,
        &args.kind,
        &args.name,
        args.run.as_deref(),
        poll,
        &mut say,
    ) {
        Ok(Ended::Succeeded) => {
            reporter.status(&format!("mlk: {} {} succeeded", args.kind, args.name));
            Exit::Ok
        }
        Ok(Ended::Failed(why)) => {
            reporter.status(&format!("error: {} {} failed: {why}", args.kind, args.name));
            Exit::Failed
        }
        Err(e) => {
            reporter.diagnostic(&e);
            Exit::Io
        }
    }
}
