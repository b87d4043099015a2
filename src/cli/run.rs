//! `mlk run`: run a pipeline on the stack's backend (local processes, or a cluster).
//!
//! Ctrl-C once stops scheduling and waits for the running steps; twice terminates them
//! (SIGTERM to their process groups, SIGKILL after a grace period). Either way mlk exits 130.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, ValueEnum};

use super::compile::{Compiled, compile};
use super::detach;
use super::run_cluster;
use super::run_progress::Progress;
use super::{Exit, Global, Inputs, Reporter, write_stdout};
use crate::cache::status::now_unix;
use crate::cache::store::{LocalStore, Store};
use crate::cache::{StoreSite, store_site};
use crate::cluster::{Cluster, ConfigMapStore};
use crate::domain::Backend as StackBackend;
use crate::exec::{self, Cancel, ExecError, Initial, RunDir, RunState, Selection, StepState};
use crate::local::LocalBackend;
use crate::resolve::{Options, Plan};

/// Time between SIGTERM and SIGKILL when steps are terminated.
const GRACE: Duration = Duration::from_secs(5);

/// `mlk run` arguments.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pipeline, stack and parameters.
    #[command(flatten)]
    pub inputs: Inputs,
    /// Run every selected step, even when its result is cached.
    #[arg(long)]
    pub no_cache: bool,
    /// Run STEP and everything downstream of it; upstream steps must be cached.
    #[arg(long, value_name = "STEP", conflicts_with = "only")]
    pub from: Option<String>,
    /// Run only STEP; the steps it reads from must be cached.
    #[arg(long, value_name = "STEP")]
    pub only: Option<String>,
    /// Steps running at the same time (default: the number of CPUs).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
    /// Go on in the background: print the run id once the first step has started, and
    /// leave the rest of the run to a background mlk process (`mlk delete RUN` stops it).
    #[arg(long, conflicts_with = "dry_run")]
    pub detach: bool,
    /// On a cluster: leave the workload of a failed step (failed, timed out, image not
    /// pulled…) for inspection; by default it is deleted (its log is kept by mlk).
    #[arg(long)]
    pub keep_failed: bool,
    /// Print what would run and what is cached, and run nothing.
    #[arg(long, value_enum, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
}

/// `--dry-run=MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Decide locally (cache records, selection); the only mode of the local backend.
    Client,
    /// Ask the cluster (needs the kubernetes backend).
    Server,
}

/// A backend for deciding what would run without connecting anywhere.
pub(super) struct NoBackend;

impl exec::Backend for NoBackend {
    fn start(
        &self,
        _step: &crate::resolve::Step,
        _attempt: u32,
        _logs: exec::LogSink,
    ) -> Result<Box<dyn exec::Process>, String> {
        Err("a client dry run starts nothing".into())
    }
}

/// What a run needs once its backend is chosen.
struct Ready {
    backend: Box<dyn exec::Backend>,
    store: Option<Box<dyn Store>>,
    cluster: Option<Arc<Cluster>>,
    initial: Vec<Initial>,
}

/// Everything about this run that does not depend on the backend.
struct Setup<'a> {
    args: &'a RunArgs,
    compiled: &'a Compiled,
    run_id: String,
    cwd: PathBuf,
    selection: Selection,
    site: StoreSite,
    cancel: Arc<Cancel>,
    /// The stack's object store, when its artifacts are in one.
    artifacts: Option<Arc<crate::artifacts::Artifacts>>,
}

impl Setup<'_> {
    fn plan(&self) -> &Plan {
        &self.compiled.resolved.plan
    }

    /// Decides what runs and what is cached, on `backend` with `store`.
    fn prepare(
        &self,
        backend: &dyn exec::Backend,
        store: Option<&dyn Store>,
    ) -> Result<Vec<Initial>, ExecError> {
        let exists = self.artifacts.as_ref().map(|a| move |m: &str| a.exists(m));
        let presence = exists
            .as_ref()
            .map(|f| crate::cache::status::Presence(f as &(dyn Fn(&str) -> bool + Sync)));
        exec::prepare(
            self.plan(),
            backend,
            store,
            presence,
            &self.selection,
            self.args.no_cache,
            now_unix(),
        )
    }

    /// The record store this machine reaches without a cluster: `.mlk/cache`, or the
    /// artifact store's manifests.
    fn local_store(&self) -> Option<Box<dyn Store>> {
        match &self.site {
            StoreSite::Local(dir) => Some(Box::new(LocalStore::new(dir))),
            StoreSite::Artifacts => self.artifacts.as_ref().map(|a| {
                Box::new(crate::artifacts::ArtifactRecords(Arc::clone(a))) as Box<dyn Store>
            }),
            StoreSite::Cluster | StoreSite::Off => None,
        }
    }
}

/// Runs `mlk run`.
pub(super) fn run(args: &RunArgs, global: &Global, reporter: &Reporter) -> Exit {
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            reporter.status(&format!("error: cannot read the working directory: {e}"));
            return Exit::Io;
        }
    };
    let driver = detach::driver_of();
    if driver.is_some() {
        detach::become_driver();
    }
    let run_id = match &driver {
        Some(id) => id.clone(),
        None => exec::record::run_id(SystemTime::now(), exec::record::entropy()),
    };
    let opts = Options {
        params: args.inputs.params.clone(),
        run_id: Some(run_id.clone()),
        artifacts_root: Some(cwd.clone()),
        run_date: args
            .inputs
            .run_date_or(crate::resolve::RunDate::Of(exec::record::run_time(&run_id))),
    };
    let c = match compile(&args.inputs, global, &opts, reporter) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let plan = &c.resolved.plan;
    if plan.stack.backend == StackBackend::Local && args.dry_run == Some(DryRun::Server) {
        reporter.status(&format!(
            "error: --dry-run=server asks a cluster, and stack `{}` runs steps locally; use --dry-run",
            plan.stack.name
        ));
        return Exit::Invalid;
    }
    if plan.stack.engine == crate::domain::Engine::Argo {
        return super::run_engine::run(args, global, &run_id, reporter);
    }
    if args.detach && driver.is_none() {
        return detach::start(&run_id, &cwd.join(".mlk/runs"), &cwd, reporter);
    }
    let setup = Setup {
        args,
        compiled: &c,
        site: store_site(plan.stack.backend, c.loaded.stack.cache.store, &cwd),
        run_id,
        cwd,
        selection: match (&args.from, &args.only) {
            (Some(s), _) => Selection::From(s.clone()),
            (_, Some(s)) => Selection::Only(s.clone()),
            _ => Selection::All,
        },
        cancel: Arc::new(Cancel::new()),
        artifacts: match open_artifacts(plan, reporter) {
            Ok(a) => a,
            Err(code) => return code,
        },
    };
    let ready = if plan.stack.backend == StackBackend::Local {
        local(&setup, reporter)
    } else {
        cluster(&setup, global, reporter)
    };
    match ready.and_then(|r| push_inputs(&setup, &r, reporter).map(|()| r)) {
        Ok(ready) => execute(&setup, ready, driver.is_some(), reporter),
        Err(code) => code,
    }
}

/// The stack's object store, when its artifacts are in one; a store mlk cannot open is an
/// error before anything runs.
pub(super) fn open_artifacts(
    plan: &Plan,
    reporter: &Reporter,
) -> Result<Option<Arc<crate::artifacts::Artifacts>>, Exit> {
    let opened = crate::artifacts::Artifacts::open(&plan.stack).map_err(|e| {
        reporter.status(&format!("error: {e}"));
        Exit::from(&e)
    })?;
    Ok(opened.map(Arc::new))
}

/// Stores by content the local inputs that the steps about to run read through the store.
fn push_inputs(setup: &Setup<'_>, ready: &Ready, reporter: &Reporter) -> Result<(), Exit> {
    let Some(a) = &setup.artifacts else {
        return Ok(());
    };
    let plan = setup.plan();
    let to_run = plan
        .steps
        .iter()
        .zip(&ready.initial)
        .filter(|(_, i)| i.state == StepState::Waiting)
        .map(|(s, _)| s);
    let dir = setup.cwd.join(&setup.compiled.loaded.pipeline.dir);
    push_steps(a, &dir, to_run, &plan.stack.artifacts_uri, reporter)
}

/// Stores by content the local inputs `steps` read (paths relative to `dir`), saying how
/// many were uploaded to `store`; a store error is said and becomes the exit code.
pub(super) fn push_steps<'a>(
    a: &crate::artifacts::Artifacts,
    dir: &std::path::Path,
    steps: impl IntoIterator<Item = &'a crate::resolve::Step>,
    store: &str,
    reporter: &Reporter,
) -> Result<(), Exit> {
    match a.push(dir, steps, true) {
        Ok(pushed) => {
            let (stored, _, _, moved) = crate::artifacts::summary(&pushed);
            if stored > 0 {
                reporter.status(&format!(
                    "stored {stored} local input{} ({} bytes) in {store}",
                    if stored == 1 { "" } else { "s" },
                    moved.bytes,
                ));
            }
            Ok(())
        }
        Err(e) => {
            reporter.status(&format!("error: {e}"));
            Err(Exit::from(&e))
        }
    }
}

/// The local backend, after a client dry run and the check of the variables steps need.
fn local(setup: &Setup<'_>, reporter: &Reporter) -> Result<Ready, Exit> {
    let plan = setup.plan();
    let dir = setup.cwd.join(&setup.compiled.loaded.pipeline.dir);
    let backend = LocalBackend::new(
        dir,
        &plan.pipeline,
        &setup.run_id,
        Box::new(|name| std::env::var(name).ok()),
    );
    let store = setup.local_store();
    let initial = setup
        .prepare(&backend, store.as_deref())
        .map_err(|e| exec_error(reporter, &e))?;
    if setup.args.dry_run.is_some() {
        return Err(write_stdout(dry_run_table(&initial, plan).as_bytes()));
    }
    let to_run = || {
        plan.steps
            .iter()
            .zip(&initial)
            .filter(|(_, i)| i.state == StepState::Waiting)
            .map(|(s, _)| s)
    };
    let machine = super::plan::local_gpus(setup.compiled, to_run(), reporter)?;
    let mut backend = backend.with_gpus(machine);
    if plan.steps.iter().any(|s| s.data.launcher) {
        backend = backend.with_launcher(&plan.stack).map_err(|e| {
            reporter.status(&format!(
                "error: cannot find the mlk binary (the launcher): {e}"
            ));
            Exit::Io
        })?;
    }
    let missing = backend.missing_env(to_run());
    if !missing.is_empty() {
        for m in &missing {
            reporter.diagnostic(m);
        }
        return Err(Exit::Invalid);
    }
    Ok(Ready {
        backend: Box::new(backend),
        store,
        cluster: None,
        initial,
    })
}

/// The cluster backend, after a client or server dry run. A client dry run connects nowhere,
/// so it reads only local records.
fn cluster(setup: &Setup<'_>, global: &Global, reporter: &Reporter) -> Result<Ready, Exit> {
    let plan = setup.plan();
    if setup.args.dry_run == Some(DryRun::Client) {
        let store = setup.local_store();
        let initial = setup
            .prepare(&NoBackend, store.as_deref())
            .map_err(|e| exec_error(reporter, &e))?;
        return Err(write_stdout(dry_run_table(&initial, plan).as_bytes()));
    }
    let kube = run_cluster::backend(
        setup.compiled,
        global,
        &setup.run_id,
        (setup.args.keep_failed, setup.site == StoreSite::Cluster),
        reporter,
    )?;
    let store: Option<Box<dyn Store>> = match setup.site {
        StoreSite::Cluster => Some(Box::new(ConfigMapStore::new(kube.cluster()))),
        StoreSite::Local(_) | StoreSite::Artifacts | StoreSite::Off => setup.local_store(),
    };
    let initial = setup
        .prepare(&kube, store.as_deref())
        .map_err(|e| exec_error(reporter, &e))?;
    if setup.args.dry_run == Some(DryRun::Server) {
        return Err(run_cluster::dry_run(&kube, &initial, reporter));
    }
    Ok(Ready {
        cluster: Some(kube.cluster()),
        backend: match &setup.artifacts {
            Some(a) => Box::new(crate::artifacts::Finishing {
                inner: Box::new(kube),
                artifacts: Arc::clone(a),
            }),
            None => Box::new(kube),
        },
        store,
        initial,
    })
}

/// Runs the DAG and reports how it ended.
fn execute(setup: &Setup<'_>, ready: Ready, detached: bool, reporter: &Reporter) -> Exit {
    let plan = setup.plan();
    let runs = match RunDir::create(&setup.cwd.join(".mlk/runs"), &setup.run_id) {
        Ok(r) => r,
        Err(e) => return exec_error(reporter, &e),
    };
    if let Err(e) = crate::show::begin(runs.path(), plan, &ready.initial) {
        reporter.status(&format!("warning: no report for this run: {e}"));
    }
    if let Err(e) = watch_signals(Arc::clone(&setup.cancel)) {
        reporter.status(&format!("warning: Ctrl-C handling is off: {e}"));
    }
    let progress = Arc::new(Progress::new(reporter, plan, !detached));
    let events: Arc<dyn exec::Events> = if detached {
        Arc::new(detach::Ready::new(
            Arc::clone(&progress) as Arc<dyn exec::Events>
        ))
    } else {
        Arc::clone(&progress) as Arc<dyn exec::Events>
    };
    let events = crate::show::Recorder::wrap(runs.path(), events);
    let cluster = ready.cluster.as_ref();
    let exec_opts = exec::Options {
        jobs: setup.args.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        ),
        grace: GRACE,
        run_id: setup.run_id.clone(),
        pipeline_file: setup.args.inputs.pipeline.display().to_string(),
        backend: plan.stack.backend.as_str().to_owned(),
        namespace: cluster.map(|c| c.namespace.clone()),
        context: cluster.and_then(|c| c.context.clone()),
    };
    let summary = match exec::execute(
        plan,
        &ready.initial,
        ready.backend.as_ref(),
        ready.store.as_deref(),
        &runs,
        &exec_opts,
        &setup.cancel,
        events,
    ) {
        Ok(s) => s,
        Err(e) => return exec_error(reporter, &e),
    };
    progress.finish(&summary.record);
    if let Err(e) = crate::show::write_report(runs.path(), ready.store.as_deref()) {
        reporter.status(&format!("warning: cannot write the run's report: {e}"));
    }
    outcome(setup, &summary, &runs, cluster, reporter)
}

/// The last lines of a run: success, each failed step with its log tail and the command
/// that resumes it, or an interruption.
fn outcome(
    setup: &Setup<'_>,
    summary: &exec::Summary,
    runs: &RunDir,
    cluster: Option<&Arc<Cluster>>,
    reporter: &Reporter,
) -> Exit {
    let (run_id, cwd) = (&setup.run_id, &setup.cwd);
    let logs = relative(runs.path(), cwd);
    match summary.record.state {
        RunState::Succeeded => {
            reporter.status(&format!("run {run_id} succeeded; logs in {logs}"));
            Exit::Ok
        }
        RunState::Failed | RunState::Running => {
            // An error: shown with -q too.
            let mut text = String::new();
            for f in summary.failed() {
                let why = f.note.as_deref().unwrap_or("failed");
                text.push_str(&format!("\nerror: step `{}` failed: {why}\n", f.name));
                if let Some(tail) = summary.tails.get(&f.name).filter(|t| !t.is_empty()) {
                    let n = tail.len();
                    let s = if n == 1 { "" } else { "s" };
                    text.push_str(&format!("last {n} line{s} of its log:\n"));
                    for line in tail {
                        text.push_str(&format!("  {line}\n"));
                    }
                }
                text.push_str(&format!(
                    "full log: {}\nto resume: {}\n",
                    relative(&runs.log_path(&f.name), cwd),
                    resume_command(setup.args, &f.name)
                ));
            }
            eprint!("{text}");
            Exit::Failed
        }
        RunState::Interrupted => {
            reporter.status(&format!("run {run_id} interrupted; logs in {logs}"));
            if let Some(cluster) = cluster
                && setup.cancel.level() >= 2
            {
                run_cluster::after_interrupt(cluster, run_id, reporter);
            }
            Exit::Interrupted
        }
    }
}

fn exec_error(reporter: &Reporter, e: &ExecError) -> Exit {
    reporter.diagnostic(e);
    if e.is_invalid() {
        Exit::Invalid
    } else {
        Exit::Io
    }
}

/// Counts SIGINTs into `cancel`; SIGTERM goes straight to terminating the steps.
fn watch_signals(cancel: Arc<Cancel>) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if sig == SIGTERM {
                cancel.terminate();
            } else {
                cancel.request();
            }
        }
    });
    Ok(())
}

/// `path` relative to `base` when it is inside it.
pub(super) fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .map(Path::to_path_buf)
        .unwrap_or_else(|_| PathBuf::from(path))
        .display()
        .to_string()
}

/// The command line that resumes this run at `step`.
fn resume_command(args: &RunArgs, step: &str) -> String {
    args.inputs.command_line("run", &["--from", step])
}

/// `--dry-run`: one row per step saying what a run would do.
fn dry_run_table(initial: &[Initial], plan: &crate::resolve::Plan) -> String {
    let width = initial
        .iter()
        .map(|i| i.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let mut out = format!("{:<width$}  {:<7}  {:<12}  NOTE\n", "STEP", "ACTION", "KEY");
    for (i, s) in initial.iter().zip(&plan.steps) {
        let action = match i.state {
            StepState::Waiting => "run",
            StepState::Cached => "cached",
            _ => "skip",
        };
        let key = if s.cache.enabled {
            s.cache.key.get(..12).unwrap_or_default()
        } else {
            "off"
        };
        let line = format!(
            "{:<width$}  {action:<7}  {key:<12}  {}",
            i.name,
            i.note.as_deref().unwrap_or("")
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
