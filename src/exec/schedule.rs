//! The scheduler: starts steps whose upstream steps are satisfied, up to `jobs` at a time,
//! and keeps the run record, log files and cache records up to date as they end.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::backend::{Backend, LogLine, LogSink, Stream};
use super::record::{RUN_FORMAT, RunDir, RunRecord, RunState, StepRun, now_ms};
use super::select::{ExecError, Initial, StepState};
use super::worker::{Msg, Worker, run_step};
use crate::cache::store::{RECORD_FORMAT, Record, Store};
use crate::resolve::Plan;

/// Log lines kept per step for the failure report.
const TAIL: usize = 20;

/// Cancellation requests, raised by the CLI's signal handler: level 1 stops scheduling new
/// steps, level 2 also terminates running ones.
#[derive(Debug, Default)]
pub struct Cancel {
    level: AtomicU8,
    /// Level 2 came from SIGTERM (`mlk delete`, a CI runner's cancel), not Ctrl-C.
    by_sigterm: AtomicBool,
}

impl Cancel {
    /// No request yet.
    pub fn new() -> Self {
        Cancel::default()
    }
    /// One more request (a Ctrl-C); returns the new level.
    pub fn request(&self) -> u8 {
        self.level
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| {
                Some(l.saturating_add(1).min(2))
            })
            .map_or(2, |l| l.saturating_add(1).min(2))
    }
    /// Straight to level 2 (SIGTERM to mlk itself).
    pub fn terminate(&self) {
        self.by_sigterm.store(true, Ordering::SeqCst);
        self.level.store(2, Ordering::SeqCst);
    }
    /// The current level.
    pub fn level(&self) -> u8 {
        self.level.load(Ordering::SeqCst)
    }
    /// Why running steps are terminated, for their record.
    pub fn why(&self) -> &'static str {
        if self.by_sigterm.load(Ordering::SeqCst) {
            "terminated by SIGTERM"
        } else {
            "terminated by Ctrl-C"
        }
    }
}

/// Something that happened in a run, for the CLI to show.
#[derive(Debug)]
pub enum Event<'a> {
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
        /// Stream.
        stream: Stream,
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
    Submitted {
        /// Step.
        step: &'a str,
    },
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
pub trait Events: Send + Sync {
    /// One event.
    fn event(&self, event: &Event<'_>);
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
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
pub struct Summary {
    /// The final run record.
    pub record: RunRecord,
    /// The last log lines of every step that ran, by step.
    pub tails: BTreeMap<String, Vec<String>>,
}

impl Summary {
    /// The steps that failed.
    pub fn failed(&self) -> impl Iterator<Item = &StepRun> {
        self.record
            .steps
            .iter()
            .filter(|s| s.state == StepState::Failed)
    }
}

/// A step's log: its file and its last lines.
struct StepLog {
    file: Option<BufWriter<File>>,
    tail: VecDeque<String>,
    /// A line came from one of several pods.
    replicas: bool,
}

impl StepLog {
    fn push(&mut self, line: &str) {
        if let Some(f) = &mut self.file {
            let _ = writeln!(f, "{line}");
        }
        if self.tail.len() == TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line.to_owned());
    }
}

/// Runs the steps of `plan` that `initial` (from [`super::prepare`]) marks as waiting.
#[allow(clippy::too_many_arguments)]
pub fn execute(
    plan: &Plan,
    initial: &[Initial],
    backend: &dyn Backend,
    store: Option<&dyn Store>,
    runs: &RunDir,
    opts: &Options,
    cancel: &Cancel,
    events: Arc<dyn Events>,
) -> Result<Summary, ExecError> {
    let n = plan.steps.len();
    let index: BTreeMap<&str, usize> = plan
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let deps: Vec<Vec<usize>> = plan
        .steps
        .iter()
        .map(|s| {
            s.depends_on
                .iter()
                .filter_map(|d| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    let mut record = RunRecord {
        format: RUN_FORMAT,
        run_id: opts.run_id.clone(),
        pipeline: plan.pipeline.clone(),
        pipeline_file: opts.pipeline_file.clone(),
        stack: plan.stack.name.clone(),
        state: RunState::Running,
        started_unix_ms: now_ms(),
        ended_unix_ms: None,
        backend: Some(opts.backend.clone()),
        pid: Some(std::process::id()),
        namespace: opts.namespace.clone(),
        context: opts.context.clone(),
        steps: plan
            .steps
            .iter()
            .zip(initial)
            .map(|(s, init)| StepRun {
                name: s.name.clone(),
                state: init.state,
                key: s.cache.key.clone(),
                note: init.note.clone(),
                attempts: 0,
                exit_code: None,
                started_unix_ms: None,
                duration_seconds: None,
                replicas: false,
            })
            .collect(),
    };
    runs.write(&record)?;
    events.event(&Event::Begin {
        run_id: &opts.run_id,
        steps: &record.steps,
    });
    let logs: Vec<Arc<Mutex<StepLog>>> = (0..n)
        .map(|_| {
            Arc::new(Mutex::new(StepLog {
                file: None,
                tail: VecDeque::new(),
                replicas: false,
            }))
        })
        .collect();
    let warn = |message: String| events.event(&Event::Warning { message: &message });
    let save = |record: &RunRecord| {
        if let Err(e) = runs.write(record) {
            warn(e.to_string());
        }
    };

    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<Msg>();
        let mut running = 0usize;
        let mut stopping = false;
        let mut interrupted = false;
        let mut terminating = false;
        loop {
            let level = cancel.level();
            if level >= 1 && !interrupted {
                interrupted = true;
                stopping = true;
                events.event(&Event::Stopping { failed: None });
            }
            if level >= 2 && !terminating {
                terminating = true;
                events.event(&Event::Terminating);
            }
            if !stopping {
                for i in 0..n {
                    if running >= opts.jobs.max(1) {
                        break;
                    }
                    if record.steps[i].state != StepState::Waiting
                        || !deps[i].iter().all(|&d| record.steps[d].state.satisfies())
                    {
                        continue;
                    }
                    let step = &plan.steps[i];
                    record.steps[i].state = StepState::Running;
                    record.steps[i].started_unix_ms = Some(now_ms());
                    running += 1;
                    let path = runs.log_path(&step.name);
                    match File::create(&path) {
                        Ok(f) => lock(&logs[i]).file = Some(BufWriter::new(f)),
                        Err(e) => warn(format!("cannot write {}: {e}", path.display())),
                    }
                    let sink = {
                        let log = Arc::clone(&logs[i]);
                        let events = Arc::clone(&events);
                        LogSink::new(&step.name, move |stream, line| {
                            // Terminal and file get the same order: both under the step's lock.
                            let mut log = lock(&log);
                            log.replicas |= line.replica.is_some();
                            log.push(&line.stored());
                            events.event(&Event::Log { stream, line });
                        })
                    };
                    let worker = Worker {
                        backend,
                        logs: sink,
                        cancel,
                        grace: opts.grace,
                        tx: tx.clone(),
                        events: &*events,
                    };
                    // On disk before the step can start: whoever hears it has started (a
                    // detached run's first mlk, say) reads `running` in the record.
                    save(&record);
                    scope.spawn(move || {
                        let outcome = run_step(i, step, &worker);
                        let _ = worker.tx.send(Msg::Finished { step: i, outcome });
                    });
                }
            }
            if running == 0 {
                break;
            }
            // Log files are readable while the run goes on (`mlk logs RUN -f`): flushed here,
            // every 25 ms at most, rather than once per line.
            let mut changed = false;
            for (i, log) in logs.iter().enumerate() {
                let mut log = lock(log);
                if let Some(f) = &mut log.file {
                    let _ = f.flush();
                }
                if log.replicas && !record.steps[i].replicas {
                    record.steps[i].replicas = true;
                    changed = true;
                }
            }
            if changed {
                save(&record);
            }
            match rx.recv_timeout(Duration::from_millis(25)) {
                Ok(Msg::Started { step: i, attempt }) => {
                    let s = &plan.steps[i];
                    let attempts = s.retries.saturating_add(1);
                    record.steps[i].attempts = attempt;
                    if attempt > 1 {
                        let mut log = lock(&logs[i]);
                        if let Some(f) = &mut log.file {
                            let _ = writeln!(f, "mlk: attempt {attempt} of {attempts}");
                        }
                    }
                    save(&record);
                }
                Ok(Msg::Finished { step: i, outcome }) => {
                    running -= 1;
                    let s = &plan.steps[i];
                    let ended = now_ms();
                    {
                        let mut log = lock(&logs[i]);
                        record.steps[i].replicas |= log.replicas;
                        if let Some(mut f) = log.file.take()
                            && let Err(e) = f.flush()
                        {
                            warn(format!("cannot write the log of `{}`: {e}", s.name));
                        }
                    }
                    let r = &mut record.steps[i];
                    r.state = if outcome.ok {
                        StepState::Done
                    } else {
                        StepState::Failed
                    };
                    r.exit_code = outcome.exited.and_then(|e| e.code);
                    r.note = outcome.reason;
                    r.duration_seconds = r
                        .started_unix_ms
                        .map(|t| ended.saturating_sub(t) as f64 / 1000.0);
                    if outcome.ok
                        && s.cache.enabled
                        && let Some(store) = store
                    {
                        let rec = Record {
                            format: RECORD_FORMAT,
                            pipeline: plan.pipeline.clone(),
                            step: s.name.clone(),
                            key: s.cache.key.clone(),
                            components: s.cache.components.clone(),
                            outputs: s.outputs.clone(),
                            created_unix: SystemTime::now()
                                .duration_since(UNIX_EPOCH)
                                .map_or(0, |d| d.as_secs()),
                            run_id: opts.run_id.clone(),
                        };
                        if let Err(e) = store.put(&rec) {
                            warn(format!("cache record of `{}` not written: {e}", s.name));
                        }
                    }
                    events.event(&Event::Finished { step: r });
                    if !outcome.ok && !stopping {
                        stopping = true;
                        events.event(&Event::Stopping {
                            failed: Some(&s.name),
                        });
                    }
                    save(&record);
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {}
            }
        }
        for s in &mut record.steps {
            if s.state == StepState::Waiting {
                s.state = StepState::NotRun;
            }
        }
        record.state = if interrupted {
            RunState::Interrupted
        } else if record.steps.iter().any(|s| s.state == StepState::Failed) {
            RunState::Failed
        } else {
            RunState::Succeeded
        };
    });
    record.ended_unix_ms = Some(now_ms());
    runs.write(&record)?;
    let tails = record
        .steps
        .iter()
        .zip(&logs)
        .filter(|(s, _)| s.attempts > 0)
        .map(|(s, l)| (s.name.clone(), lock(l).tail.iter().cloned().collect()))
        .collect();
    Ok(Summary { record, tails })
}

/// Locks a mutex, also after a panic on another thread (a log is still worth writing).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
