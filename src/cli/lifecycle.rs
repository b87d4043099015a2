//! `mlk delete RUN` and `mlk status RUN --cluster`: a cluster run's objects, found by the
//! `mlk.dev/run` label in the namespace of `-n` (else the context's, as kubectl). `mlk delete`
//! first stops the run's mlk process when it still runs on this machine, and only when that
//! process is known to be the run's (see [`crate::exec::liveness`]). A run handed to Argo
//! (`engine = "argo"`) is its Workflow, named after the run id: its status is read from the
//! Workflow's nodes, and deleting the Workflow deletes the objects it owns.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clap::Args;

use super::{Exit, Global, Reporter, write_stdout};
use crate::cluster::{
    Cluster, RunObject, applied_again, delete_run, engine, run_kinds, run_objects_in,
};
use crate::exec::liveness::{self, Liveness};
use crate::exec::{RunRecord, record};

/// `mlk delete` arguments.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The run id (`mlk run` prints it).
    #[arg(value_name = "RUN")]
    pub run: String,
}

pub(super) fn connect(global: &Global, reporter: &Reporter) -> Result<Cluster, Exit> {
    Cluster::connect(&global.target()).map_err(|e| {
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

/// Run `id`'s record in `.mlk/runs`, if it is there.
pub(super) fn recorded(id: &str) -> Option<RunRecord> {
    let runs = super::status::runs_dir();
    record::list(&runs)
        .ok()
        .filter(|ids| ids.iter().any(|i| i == id))
        .and_then(|_| record::load(&runs, id).ok())
}

/// The connection options for a run recorded here: its namespace and context, unless the
/// command line names others.
pub(super) fn where_it_ran(global: &Global, r: Option<&RunRecord>) -> Global {
    let mut global = global.clone();
    if let Some(r) = r {
        global.namespace = global.namespace.or_else(|| r.namespace.clone());
        global.context = global.context.or_else(|| r.context.clone());
    }
    global
}

/// How long `mlk delete` waits for a run's mlk process to stop its steps and end.
const STOP_WAIT: Duration = Duration::from_secs(30);

/// Runs `mlk delete`: the run's mlk process stopped if it still runs here (a detached run, or
/// one in another terminal), then every object of the run, workloads first (their pods go with
/// them).
pub(super) fn delete(args: &DeleteArgs, global: &Global, reporter: &Reporter) -> Exit {
    let runs = super::status::runs_dir();
    let local = recorded(&args.run);
    if let Some(r) = &local {
        if r.in_progress()
            && let Some(pid) = r.pid
            && let Err(code) = stop(r, pid, reporter)
        {
            return code;
        }
        if r.backend.as_deref() == Some(crate::domain::Backend::Local.as_str()) {
            if !r.in_progress() {
                reporter.status(&format!(
                    "run {} ran on the local stack and has ended: nothing to delete (its logs stay in {})",
                    r.run_id,
                    runs.join(&r.run_id).display()
                ));
            }
            return Exit::Ok;
        }
    }
    let cluster = match connect(&where_it_ran(global, local.as_ref()), reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match delete_run(&cluster, &args.run) {
        Ok(deleted) if deleted.is_empty() => match engine::delete_workflow(&cluster, &args.run) {
            Ok(true) => write_stdout(format!("deleted Workflow/{}\n", args.run).as_bytes()),
            Ok(false) => nothing(reporter, &args.run, &cluster),
            Err(e) => {
                reporter.diagnostic(&e);
                Exit::Io
            }
        },
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

/// Stops the mlk process `pid` running `r` (SIGTERM: it terminates the run's steps) and waits
/// until its record says the run has ended. A process that cannot be told from another one
/// that reused its pid is not signalled.
fn stop(r: &RunRecord, pid: u32, reporter: &Reporter) -> Result<(), Exit> {
    if pid == std::process::id() {
        return Ok(());
    }
    if r.liveness() == Liveness::Unverifiable {
        reporter.status(&format!(
            "error: process {pid} may not be the mlk process of run {} any more (its record, from an older mlk, has no process start time): not signalling it; stop it yourself if it is",
            r.run_id
        ));
        return Err(Exit::Io);
    }
    if let Err(e) = liveness::signal(pid, Some(nix::sys::signal::Signal::SIGTERM)) {
        reporter.status(&format!(
            "error: cannot stop mlk process {pid}, which runs {}: {e}",
            r.run_id
        ));
        return Err(Exit::Io);
    }
    reporter.status(&format!("stopping run {} (mlk process {pid})", r.run_id));
    let runs = super::status::runs_dir();
    let until = Instant::now() + STOP_WAIT;
    while Instant::now() < until {
        match record::load(&runs, &r.run_id) {
            Ok(now) if now.in_progress() => {}
            _ => {
                reporter.status(&format!("stopped run {}", r.run_id));
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reporter.status(&format!(
        "error: mlk process {pid} has not ended its run {} after {}s",
        r.run_id,
        STOP_WAIT.as_secs()
    ));
    Err(Exit::Io)
}

/// `mlk status RUN --cluster`: one row per object of the run, in the pipeline's order; with
/// the run's record here, also its steps' objects that a later run applied again (an
/// InferenceService serving the same model), with that run's id.
pub(super) fn status(run: &str, global: &Global, reporter: &Reporter) -> Exit {
    let record = recorded(run);
    let cluster = match connect(&where_it_ran(global, record.as_ref()), reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    // One discovery for the run's objects and for those a later run applied again.
    let found =
        run_kinds(&cluster).and_then(|kinds| Ok((run_objects_in(&cluster, &kinds, run)?, kinds)));
    let (objects, kinds) = match found {
        Ok(found) => found,
        Err(e) => {
            reporter.diagnostic(&e);
            return Exit::Io;
        }
    };
    if objects.is_empty() {
        // No objects: a run handed to Argo is then read from its Workflow's nodes.
        match engine::find_workflow(&cluster, run) {
            Ok(Some(state)) => return workflow_status(&cluster, run, &state),
            Ok(None) => {}
            Err(e) => {
                reporter.diagnostic(&e);
                return Exit::Io;
            }
        }
    }
    let mut rows: Vec<(RunObject, Option<String>)> =
        objects.into_iter().map(|o| (o, None)).collect();
    if let Some(r) = &record {
        let missing: BTreeMap<String, String> = r
            .steps
            .iter()
            .filter(|s| !rows.iter().any(|(o, _)| o.step == s.name))
            .map(|s| (s.name.clone(), s.key.clone()))
            .collect();
        if !missing.is_empty() {
            match applied_again(&cluster, &kinds, &r.pipeline, &missing, run) {
                Ok(again) => rows.extend(again.into_iter().map(|(o, by)| (o, Some(by)))),
                Err(e) => {
                    reporter.diagnostic(&e);
                    return Exit::Io;
                }
            }
        }
        // The pipeline's order (a stable sort keeps each step's objects in creation order).
        let order = |step: &str| r.steps.iter().position(|s| s.name == step);
        rows.sort_by_key(|(o, _)| order(&o.step));
    }
    if rows.is_empty() {
        return nothing(reporter, run, &cluster);
    }
    let mut table = vec![["STEP", "OBJECT", "STATE"].map(String::from)];
    for (o, by) in &rows {
        table.push([
            o.step.clone(),
            format!("{}/{}", o.kind, o.name),
            match by {
                Some(by) => format!("{} (applied again by run {by})", o.state),
                None => o.state.clone(),
            },
        ]);
    }
    let mut out = format!("run {run} in namespace {}\n", cluster.namespace);
    out.push_str(&super::table::aligned(&table));
    write_stdout(out.as_bytes())
}

/// `mlk status RUN --cluster` of a run handed to Argo: its steps from the Workflow's nodes.
fn workflow_status(cluster: &Cluster, run: &str, state: &engine::WorkflowState) -> Exit {
    let mut rows = vec![["STEP", "STATE", "MESSAGE"].map(String::from)];
    for (step, (phase, message)) in &state.steps {
        rows.push([step.clone(), phase.clone(), message.clone()]);
    }
    let phase = if state.phase.is_empty() {
        "Pending"
    } else {
        &state.phase
    };
    let mut out = format!(
        "run {run} (Workflow {run}, {phase}) in namespace {}\n",
        cluster.namespace
    );
    out.push_str(&super::table::aligned(&rows));
    write_stdout(out.as_bytes())
}
