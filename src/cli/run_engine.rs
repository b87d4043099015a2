//! `mlk run [--detach]` on a stack whose engine is Argo Workflows: the local inputs pushed,
//! the WorkflowTemplate applied, a Workflow named after the run id created from it, the run
//! id printed; without `--detach`, the Workflow's steps followed until Argo is done.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::compile::{Compiled, compile};
use super::run::{NoBackend, RunArgs, open_artifacts, push_steps};
use super::{Exit, Global, Reporter, write_stdout};
use crate::artifacts::{ArtifactRecords, Artifacts};
use crate::cache::status::{Presence, now_unix};
use crate::cache::store::{LocalStore, Store};
use crate::cache::{StoreSite, store_site};
use crate::cluster::{Cluster, ConfigMapStore, POLL, engine};
use crate::exec::{Selection, StepState};
use crate::resolve::Options;

/// Runs the pipeline through Argo; the run id is the Workflow's name. `mlk run` compiled it
/// once with the run id already; the WorkflowTemplate is every run's, so it is compiled again
/// without one (`{{ run.id }}` reads the pod's label, which Argo fills in), quietly: the
/// first compile said its warnings.
pub(super) fn run(args: &RunArgs, global: &Global, run_id: &str, reporter: &Reporter) -> Exit {
    let opts = Options {
        params: args.inputs.params.clone(),
        run_id: None,
        artifacts_root: None,
        run_date: crate::resolve::RunDate::AtRun,
    };
    let quiet = Reporter::with(reporter.is_color(), true, false);
    let c: Compiled = match compile(&args.inputs, global, &opts, &quiet) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = &c.resolved.plan;
    if args.from.is_some()
        || args.only.is_some()
        || args.dry_run.is_some()
        || args.keep_failed
        || args.inputs.run_date.is_some()
    {
        reporter.status(
            "error: --from, --only, --dry-run, --keep-failed and --run-date are for the mlk engine; Argo runs the whole WorkflowTemplate (cached steps skip their command in the pod) on the day the Workflow is created",
        );
        return Exit::Invalid;
    }
    let manifests = match super::compile::manifests(&c, reporter, None) {
        Ok(m) => m,
        Err(code) => return code,
    };
    let artifacts = match open_artifacts(plan, reporter) {
        Ok(a) => a,
        Err(code) => return code,
    };
    let cluster = match Cluster::connect(&global.stack_target(&plan.stack)) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            reporter.diagnostic(&e);
            return Exit::Io;
        }
    };
    let cached = match cached_steps(&c, args, &cluster, artifacts.as_ref()) {
        Ok(cached) => cached,
        Err(e) => {
            reporter.status(&format!("error: {e}"));
            return Exit::Io;
        }
    };
    if let Some(a) = &artifacts {
        let to_run = plan.steps.iter().filter(|s| !cached.contains(&s.name));
        let store = &plan.stack.artifacts_uri;
        if let Err(code) = push_steps(a, &c.loaded.pipeline.dir, to_run, store, reporter) {
            return code;
        }
    }
    for step in &cached {
        reporter.status(&format!("{step}: cached (left out of the run)"));
    }
    let names = (plan.pipeline.as_str(), run_id);
    if let Err(e) = engine::submit(&cluster, &manifests, names, &cached) {
        reporter.diagnostic(&e);
        return Exit::Io;
    }
    let code = write_stdout(format!("{run_id}\n").as_bytes());
    if args.detach || code != Exit::Ok {
        return code;
    }
    follow(&cluster, plan, run_id, reporter)
}

/// The steps whose cache record and outputs exist (mlk's hit rule, as `mlk run` on the
/// `mlk` engine decides it): the run leaves them out. `--no-cache` leaves none out.
fn cached_steps(
    c: &Compiled,
    args: &RunArgs,
    cluster: &Arc<Cluster>,
    artifacts: Option<&Arc<Artifacts>>,
) -> Result<Vec<String>, crate::exec::ExecError> {
    let plan = &c.resolved.plan;
    let cwd = std::env::current_dir().unwrap_or_default();
    let store: Option<Box<dyn Store>> =
        match store_site(plan.stack.backend, c.loaded.stack.cache.store, &cwd) {
            StoreSite::Cluster => Some(Box::new(ConfigMapStore::new(Arc::clone(cluster)))),
            StoreSite::Local(dir) => Some(Box::new(LocalStore::new(&dir))),
            StoreSite::Artifacts => {
                artifacts.map(|a| Box::new(ArtifactRecords(Arc::clone(a))) as Box<dyn Store>)
            }
            StoreSite::Off => None,
        };
    let exists = artifacts.map(|a| move |m: &str| a.exists(m));
    let presence = exists
        .as_ref()
        .map(|f| Presence(f as &(dyn Fn(&str) -> bool + Sync)));
    let initial = crate::exec::prepare(
        plan,
        &NoBackend,
        store.as_deref(),
        presence,
        &Selection::All,
        args.no_cache,
        now_unix(),
    )?;
    Ok(plan
        .steps
        .iter()
        .zip(&initial)
        .filter(|(_, i)| i.state == StepState::Cached)
        .map(|(s, _)| s.name.clone())
        .collect())
}

/// Says each step's state as it changes until the Workflow is done: 0 when it succeeded.
fn follow(
    cluster: &Cluster,
    plan: &crate::resolve::Plan,
    run_id: &str,
    reporter: &Reporter,
) -> Exit {
    let steps: Vec<String> = plan.steps.iter().map(|s| s.name.clone()).collect();
    let mut said: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let state = match engine::workflow_state(cluster, &steps, run_id) {
            Ok(Some(s)) => s,
            Ok(None) => {
                reporter.status(&format!("error: Workflow {run_id} was deleted"));
                return Exit::Failed;
            }
            Err(e) => {
                reporter.diagnostic(&e);
                return Exit::Io;
            }
        };
        for (step, (phase, message)) in &state.steps {
            if said.get(step) != Some(phase) {
                if phase != "Pending" && phase != "Cached" {
                    let why = if message.is_empty() {
                        String::new()
                    } else {
                        format!(": {message}")
                    };
                    reporter.status(&format!("{step}: {}{why}", phase.to_lowercase()));
                }
                said.insert(step.clone(), phase.clone());
            }
        }
        if state.finished() {
            if state.phase == "Succeeded" {
                reporter.status(&format!("run {run_id} succeeded"));
                return Exit::Ok;
            }
            reporter.status(&format!(
                "error: run {run_id} {}",
                state.phase.to_lowercase()
            ));
            return Exit::Failed;
        }
        std::thread::sleep(POLL * 4);
    }
}
