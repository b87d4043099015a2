//! The scheduler: starts steps whose upstream steps are satisfied, up to `jobs` at a time,
//! once the backend has what they need of its shared devices ([`Backend::reserve`]), each on
//! a worker thread, and hands what the workers report to the run in progress
//! ([`super::running`]), which keeps the run record, log files and cache records up to date.
//! Also the types a run is driven and watched with: [`Options`], [`Cancel`], [`Event`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use super::backend::{Backend, LogLine};
use super::record::{RunDir, RunRecord, StepRun};
use super::running::Running;
use super::select::{ExecError, Initial, StepState};
use super::worker::{Msg, Worker, run_step};
use crate::cache::store::Store;
use crate::resolve::Plan;

/// Cancellation requests, raised by the CLI's signal handler: level 1 stops scheduling new
/// steps, level 2 also terminates running ones.
#[derive(Debug, Default)]
pub(crate) struct Cancel {
    level: AtomicU8,
    /// Level 2 came from SIGTERM (`mlk delete`, a CI runner's cancel), not Ctrl-C.
    by_sigterm: AtomicBool,
}

impl Cancel {
    /// No request yet.
    pub(crate) fn new() -> Self {
        Cancel::default()
    }
    /// One more request (a Ctrl-C); returns the new level.
    pub(crate) fn request(&self) -> u8 {
        self.level
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                Some(l.saturating_add(1).min(2))
            })
            .map_or(2, |l| l.saturating_add(1).min(2))
    }
    /// Straight to level 2 (SIGTERM to mlk itself).
    pub(crate) fn terminate(&self) {
        self.by_sigterm.store(true, Ordering::SeqCst);
        self.level.store(2, Ordering::SeqCst);
    }
    /// The current level.
    pub(crate) fn level(&self) -> u8 {
        self.level.load(Ordering::SeqCst)
    }
    /// Why running steps are terminated, for their record.
    pub(crate) fn why(&self) -> &'static str {
        if self.by_sigterm.load(Ordering::SeqCst) {
            "terminated by SIGTERM"
        } else {
            "terminated by Ctrl-C"
        }
    }
}

/// Something that happened in a run, for the CLI to show.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    /// The run starts; every step with its initial state.
    Begin {
        /// Run id.
        run_id: &'a str,
        /// Steps in plan order.
        steps: &'a [StepRun],
    },
    /// An attempt of a step started.
    Started {
        /// Step.
        step: &'a str,
        /// This attempt, from 1.
        attempt: u32,
        /// Attempts allowed.
        attempts: u32,
    },
    /// One whole line of a step's output.
    Log {
        /// The line: step, replica, text.
        line: LogLine<'a>,
    },
    /// A started step is not running yet, and the backend says why (`None`: it runs now).
    Pending {
        /// Step.
        step: &'a str,
        /// Why: `suspended: waiting for Kueue admission`, `pod … is not scheduled: …`.
        reason: Option<&'a str>,
    },
    /// The backend took an attempt: its process was spawned, or its objects were applied.
    Submitted,
    /// An attempt failed and the step will be tried again.
    Retrying {
        /// Step.
        step: &'a str,
        /// The next attempt.
        attempt: u32,
        /// Attempts allowed.
        attempts: u32,
        /// Why the previous one failed.
        reason: &'a str,
    },
    /// A step ended (done or failed).
    Finished {
        /// Its record.
        step: &'a StepRun,
    },
    /// No new steps will start: a step failed (`failed`), or Ctrl-C (`None`).
    Stopping {
        /// The failed step.
        failed: Option<&'a str>,
    },
    /// Running steps are being terminated (second Ctrl-C).
    Terminating,
    /// Something went wrong that does not stop the run (e.g. a cache record not written).
    Warning {
        /// What.
        message: &'a str,
    },
}

/// Receives the events of a run; called from several threads.
pub(crate) trait Events: Send + Sync {
    /// One event.
    fn event(&self, event: &Event<'_>);
}

/// How to run.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Steps running at the same time, at least 1.
    pub jobs: usize,
    /// Time between SIGTERM and SIGKILL when terminating a step.
    pub grace: Duration,
    /// The run id (also in the plan's expanded commands).
    pub run_id: String,
    /// The pipeline file as given, for the run record.
    pub pipeline_file: String,
    /// `local` or `kubernetes`, for the run record.
    pub backend: String,
    /// A cluster run's namespace and named context, for the run record.
    pub namespace: Option<String>,
    /// See [`Options::namespace`].
    pub context: Option<String>,
}

/// What a run did.
#[derive(Debug)]
pub(crate) struct Summary {
    /// The final run record.
    pub record: RunRecord,
    /// The last log lines of every step that ran, by step.
    pub tails: BTreeMap<String, Vec<String>>,
}

impl Summary {
    /// The steps that failed.
    pub(crate) fn failed(&self) -> impl Iterator<Item = &StepRun> {
        self.record
            .steps
            .iter()
            .filter(|s| s.state == StepState::Failed)
    }
}

/// Runs the steps of `plan` that `initial` (from [`super::prepare`]) marks as waiting.
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    plan: &Plan,
    initial: &[Initial],
    backend: &dyn Backend,
    store: Option<&dyn Store>,
    runs: &RunDir,
    opts: &Options,
    cancel: &Cancel,
    events: Arc<dyn Events>,
) -> Result<Summary, ExecError> {
    let mut run = Running::begin(plan, initial, store, runs, opts, &events)?;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Msg>();
        loop {
            run.cancel(cancel.level());
            while let Some((i, lease)) = run.next(backend) {
                let step = &plan.steps[i];
                let worker = Worker {
                    backend,
                    logs: run.start(i, backend.secrets(&plan.steps[i])),
                    cancel,
                    grace: opts.grace,
                    tx: tx.clone(),
                    events: &*events,
                };
                scope.spawn(move || {
                    let outcome = run_step(i, step, &worker);
                    // Given back before the scheduler hears of the end, so the steps
                    // waiting for it find it free.
                    drop(lease);
                    let _ = worker.tx.send(Msg::Finished { step: i, outcome });
                });
            }
            if run.idle() {
                break;
            }
            run.flush_logs();
            // Woken by a worker's message, else every 25 ms for cancellation and log flushes.
            match rx.recv_timeout(Duration::from_millis(25)) {
                Ok(Msg::Started { step, attempt }) => run.started(step, attempt),
                Ok(Msg::Finished { step, outcome }) => run.finished(step, outcome),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
    });
    run.end()
}
