//! `mlk delete RUN` and `mlk status RUN --cluster`: a cluster run's objects, found by the
//! `mlk.dev/run` label in the namespace of `-n` (else the context's, as kubectl).

use clap::Args;

use super::{Exit, Global, Reporter, write_stdout};
use crate::cluster::{Cluster, Target, delete_run, run_objects};

/// `mlk delete` arguments.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The run id (`mlk run` prints it).
    #[arg(value_name = "RUN")]
    pub run: String,
}

pub(super) fn connect(global: &Global, reporter: &Reporter) -> Result<Cluster, Exit> {
    let target = Target {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
        namespace: global.namespace.clone(),
    };
    Cluster::connect(&target).map_err(|e| {
        reporter.diagnostic(&e);
        Exit::Io
    })
}

fn nothing(reporter: &Reporter, run: &str, cluster: &Cluster) -> Exit {
    reporter.status(&format!(
        "error: no objects labelled mlk.dev/run={run} in namespace `{}` (pass -n NAMESPACE for another)",
        cluster.namespace
    ));
    Exit::Invalid
}

/// Runs `mlk delete`: every object of the run, workloads first (their pods go with them).
pub fn delete(args: &DeleteArgs, global: &Global, reporter: &Reporter) -> Exit {
    let cluster = match connect(global, reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match delete_run(&cluster, &args.run) {
        Ok(deleted) if deleted.is_empty() => nothing(reporter, &args.run, &cluster),
        Ok(deleted) => {
            let text: String = deleted.iter().map(|d| format!("deleted {d}\n")).collect();
            write_stdout(text.as_bytes())
        }
        Err(e) => {
            reporter.diagnostic(&e);
            Exit::Io
        }
    }
}

/// `mlk status RUN --cluster`: one row per object of the run.
pub fn status(run: &str, global: &Global, reporter: &Reporter) -> Exit {
    let cluster = match connect(global, reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let objects = match run_objects(&cluster, run) {
        Ok(o) if o.is_empty() => return nothing(reporter, run, &cluster),
        Ok(o) => o,
        Err(e) => {
            reporter.diagnostic(&e);
            return Exit::Io;
        }
    };
    let mut rows = vec![["STEP", "OBJECT", "STATE"].map(String::from)];
    for o in &objects {
        rows.push([
            o.step.clone(),
            format!("{}/{}", o.kind, o.name),
            o.state.clone(),
        ]);
    }
    let mut out = format!("run {run} in namespace {}\n", cluster.namespace);
    out.push_str(&super::table::aligned(&rows));
    write_stdout(out.as_bytes())
}
