//! The cluster half of `mlk run`: connect, render with the run id, preflight, and
//! `--dry-run=server`.

use std::sync::Arc;

use super::compile::Compiled;
use super::{Exit, Global, Reporter, write_stdout};
use crate::cluster::{Cluster, KubeBackend, delete_run, preflight};
use crate::exec::{Initial, StepState};

/// Connects to the stack's cluster, checks it can run the plan, and returns the backend.
/// `keep_failed`: the workload of a failed step is left (`--keep-failed`), not deleted;
/// `cluster_store`: the cache records are ConfigMaps (their verbs are checked too).
pub(super) fn backend(
    c: &Compiled,
    global: &Global,
    run_id: &str,
    (keep_failed, cluster_store): (bool, bool),
    reporter: &Reporter,
) -> Result<KubeBackend, Exit> {
    let plan = &c.resolved.plan;
    let manifests = super::compile::manifests(c, reporter, Some(run_id))?;
    let cluster = Cluster::connect(&global.stack_target(&plan.stack)).map_err(|e| {
        reporter.diagnostic(&e);
        Exit::Io
    })?;
    reporter.verbose(&format!(
        "cluster: {} (namespace {})",
        cluster.server, cluster.namespace
    ));
    let (resources, warnings) =
        preflight(&cluster, plan, &manifests, cluster_store).map_err(|problems| {
            for p in &problems {
                reporter.diagnostic(p);
            }
            Exit::Io
        })?;
    for w in &warnings {
        reporter.status(&format!("warning: {w}"));
    }
    Ok(KubeBackend::new(
        Arc::new(cluster),
        resources,
        manifests,
        &plan.pipeline,
        run_id,
        keep_failed,
    ))
}

/// `--dry-run=server`: every object of the steps that would run, applied with `dryRun=All`;
/// one line per object with what the API server said. Exit 2 when it refused any.
pub(super) fn dry_run(backend: &KubeBackend, initial: &[Initial], reporter: &Reporter) -> Exit {
    let steps = initial
        .iter()
        .filter(|i| i.state == StepState::Waiting)
        .map(|i| i.name.as_str());
    let reports = backend.dry_run(steps);
    let width = reports
        .iter()
        .map(|r| r.object.len())
        .max()
        .unwrap_or(6)
        .max(6);
    let mut out = format!("{:<width$}  RESULT\n", "OBJECT");
    let mut refused = 0;
    for r in &reports {
        match &r.result {
            Ok(false) => out.push_str(&format!("{:<width$}  accepted\n", r.object)),
            Ok(true) => out.push_str(&format!(
                "{:<width$}  would replace: an earlier run's object of this name is deleted and created again\n",
                r.object
            )),
            Err(why) => {
                refused += 1;
                out.push_str(&format!("{:<width$}  refused: {why}\n", r.object));
            }
        }
    }
    let code = write_stdout(out.as_bytes());
    if refused > 0 {
        reporter.status(&format!(
            "error: the API server refused {refused} of {} objects",
            reports.len()
        ));
        return Exit::Invalid;
    }
    code
}

/// After a second Ctrl-C: asks whether to delete the run's objects (on a terminal), or says
/// they were left running and how to delete them.
pub(super) fn after_interrupt(cluster: &Cluster, run_id: &str, reporter: &Reporter) {
    use std::io::{BufRead, IsTerminal, Write};
    let leave = format!(
        "the objects of run {run_id} are left running in namespace `{}`; delete them with `mlk delete {run_id} -n {}`",
        cluster.namespace, cluster.namespace
    );
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        reporter.status(&leave);
        return;
    }
    eprint!("delete the objects of run {run_id} from the cluster? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if !matches!(answer.trim(), "y" | "Y" | "yes") {
        reporter.status(&leave);
        return;
    }
    match delete_run(cluster, run_id) {
        Ok(deleted) => reporter.status(&format!("deleted {} objects", deleted.len())),
        Err(e) => reporter.diagnostic(&e),
    }
}
