//! A run in progress, as the scheduling thread keeps it: the run record and its event log,
//! the steps' log files and last lines, which waiting steps are ready to start, and the cache
//! records written as steps succeed.
//!
//! Every event costs the same whatever the size of the run: a ready step is found in a set
//! of ready steps (not by scanning the plan; only ready steps that wait for the backend's
//! devices are passed over), a finished step makes ready only its own
//! downstream steps, only running steps' log files are flushed, and a state change appends
//! one line to the event log (see [`super::record`]) instead of rewriting the record.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use super::backend::{Backend, Lease, LogLine, LogSink};
use super::mask::Mask;
use super::record::{Journal, RUN_FORMAT, RunDir, RunRecord, RunState, StepRun, now_ms};
use super::schedule::{Event, Events, Options, Summary};
use super::select::{ExecError, Initial, StepState};
use super::worker::Outcome;
use crate::cache::store::{RECORD_FORMAT, Record, Store};
use crate::resolve::Plan;

/// Log lines kept per step for the failure report.
const TAIL: usize = 20;

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

/// Which waiting steps may start.
struct Ready {
    /// The steps that depend on each step.
    downstream: Vec<Vec<usize>>,
    /// How many of each step's upstream steps are not done, cached or skipped yet.
    blocking: Vec<usize>,
    /// Waiting steps that nothing blocks, started in plan order.
    ready: BTreeSet<usize>,
    /// Ready steps the backend cannot start yet, and the reason last shown.
    waiting: BTreeMap<usize, String>,
}

impl Ready {
    fn new(plan: &Plan, steps: &[StepRun]) -> Self {
        let index = plan.index();
        let n = plan.steps.len();
        let mut downstream = vec![Vec::new(); n];
        let mut blocking = vec![0; n];
        for (i, s) in plan.steps.iter().enumerate() {
            for &d in s.depends_on.iter().filter_map(|d| index.get(d.as_str())) {
                downstream[d].push(i);
                if !steps[d].state.satisfies() {
                    blocking[i] += 1;
                }
            }
        }
        let ready = (0..n)
            .filter(|&i| steps[i].state == StepState::Waiting && blocking[i] == 0)
            .collect();
        Ready {
            downstream,
            blocking,
            ready,
            waiting: BTreeMap::new(),
        }
    }

    /// Step `i` succeeded: those of its downstream steps that waited only for it are ready.
    fn done(&mut self, i: usize, steps: &[StepRun]) {
        for &j in &self.downstream[i] {
            self.blocking[j] = self.blocking[j].saturating_sub(1);
            if self.blocking[j] == 0 && steps[j].state == StepState::Waiting {
                self.ready.insert(j);
            }
        }
    }
}

/// A run in progress (see the module documentation).
pub(crate) struct Running<'a> {
    plan: &'a Plan,
    opts: &'a Options,
    store: Option<&'a dyn Store>,
    events: &'a Arc<dyn Events>,
    dir: &'a RunDir,
    journal: Journal,
    record: RunRecord,
    logs: Vec<Arc<Mutex<StepLog>>>,
    ready: Ready,
    running: BTreeSet<usize>,
    /// No new steps start: a step failed, or Ctrl-C.
    stopping: bool,
    interrupted: bool,
    terminating: bool,
}

impl<'a> Running<'a> {
    /// Starts the record of a run of `plan` whose steps start as `initial` says.
    pub(crate) fn begin(
        plan: &'a Plan,
        initial: &[Initial],
        store: Option<&'a dyn Store>,
        dir: &'a RunDir,
        opts: &'a Options,
        events: &'a Arc<dyn Events>,
    ) -> Result<Self, ExecError> {
        let record = new_record(plan, initial, opts);
        let journal = dir.begin(&record)?;
        events.event(&Event::Begin {
            run_id: &opts.run_id,
            steps: &record.steps,
        });
        let logs = (0..plan.steps.len())
            .map(|_| {
                Arc::new(Mutex::new(StepLog {
                    file: None,
                    tail: VecDeque::new(),
                    replicas: false,
                }))
            })
            .collect();
        Ok(Running {
            plan,
            opts,
            store,
            events,
            dir,
            journal,
            ready: Ready::new(plan, &record.steps),
            record,
            logs,
            running: BTreeSet::new(),
            stopping: false,
            interrupted: false,
            terminating: false,
        })
    }

    fn warn(&self, message: &str) {
        self.events.event(&Event::Warning { message });
    }

    /// Appends the state of step `i` to the event log.
    fn save(&mut self, i: usize) {
        if let Err(e) = self.journal.step(i, &self.record.steps[i]) {
            self.warn(&e.to_string());
        }
    }

    /// Takes note of the cancellation level (1: stop starting steps, 2: also terminate).
    pub(crate) fn cancel(&mut self, level: u8) {
        if level >= 1 && !self.interrupted {
            self.interrupted = true;
            self.stopping = true;
            self.events.event(&Event::Stopping { failed: None });
        }
        if level >= 2 && !self.terminating {
            self.terminating = true;
            self.events.event(&Event::Terminating);
        }
    }

    /// The next step to start and what it holds of `backend`'s devices, if one is ready,
    /// fewer than `jobs` steps run, and the backend has what it needs. Ready steps are tried
    /// in plan order; one that must wait lets the next one start, and says why (as
    /// [`Event::Pending`]) when no more steps can start.
    pub(crate) fn next(&mut self, backend: &dyn Backend) -> Option<(usize, Lease)> {
        if self.stopping || self.running.len() >= self.opts.jobs.max(1) {
            return None;
        }
        let mut found = None;
        let mut waits = Vec::new();
        for &i in &self.ready.ready {
            match backend.reserve(&self.plan.steps[i]) {
                Ok(lease) => {
                    found = Some((i, lease));
                    break;
                }
                Err(why) => waits.push((i, why)),
            }
        }
        if found.is_none() {
            self.say_waits(waits);
        }
        let (i, lease) = found?;
        self.ready.ready.remove(&i);
        self.ready.waiting.remove(&i);
        Some((i, lease))
    }

    /// Shows why each of `waits` waits, when that changed. Said only once no more steps can
    /// start, so a burst of starts shows where it left the waiting steps, not each step on
    /// the way.
    fn say_waits(&mut self, waits: Vec<(usize, String)>) {
        for (i, why) in waits {
            if self.ready.waiting.insert(i, why.clone()).as_ref() != Some(&why) {
                self.events.event(&Event::Pending {
                    step: &self.plan.steps[i].name,
                    reason: Some(&why),
                });
            }
        }
    }

    /// Whether no step runs.
    pub(crate) fn idle(&self) -> bool {
        self.running.is_empty()
    }

    /// Step `i` starts: its state and log file, and the sink its lines go to, which masks the
    /// `secrets` the backend gave the step before a line is stored, kept or shown.
    pub(crate) fn start(&mut self, i: usize, secrets: Vec<String>) -> LogSink {
        let plan = self.plan;
        let step = &plan.steps[i];
        self.record.steps[i].state = StepState::Running;
        self.record.steps[i].started_unix_ms = Some(now_ms());
        self.running.insert(i);
        let path = self.dir.log_path(&step.name);
        match File::create(&path) {
            Ok(f) => lock(&self.logs[i]).file = Some(BufWriter::new(f)),
            Err(e) => self.warn(&format!("cannot write {}: {e}", path.display())),
        }
        // On disk before the step can start: whoever hears it has started (a detached run's
        // first mlk, say) reads `running` in the record.
        self.save(i);
        let log = Arc::clone(&self.logs[i]);
        let events = Arc::clone(self.events);
        let mask = Mask::new(secrets);
        LogSink::new(&step.name, move |_stream, line| {
            let text = mask.apply(line.text);
            let line = LogLine {
                text: &text,
                ..line
            };
            // Terminal and file get the same order: both under the step's lock.
            let mut log = lock(&log);
            log.replicas |= line.replica.is_some();
            log.push(&line.stored());
            events.event(&Event::Log { line });
        })
    }

    /// Flushes the log files of running steps (readable while the run goes on: `mlk logs RUN
    /// -f`), once per scheduler wake-up rather than once per line, and records which steps'
    /// lines come from several pods.
    pub(crate) fn flush_logs(&mut self) {
        let mut changed = Vec::new();
        for &i in &self.running {
            let mut log = lock(&self.logs[i]);
            if let Some(f) = &mut log.file {
                let _ = f.flush();
            }
            if log.replicas && !self.record.steps[i].replicas {
                self.record.steps[i].replicas = true;
                changed.push(i);
            }
        }
        for i in changed {
            self.save(i);
        }
    }

    /// Attempt `attempt` of step `i` started.
    pub(crate) fn started(&mut self, i: usize, attempt: u32) {
        let attempts = self.plan.steps[i].retries.saturating_add(1);
        self.record.steps[i].attempts = attempt;
        if attempt > 1 {
            let mut log = lock(&self.logs[i]);
            if let Some(f) = &mut log.file {
                let _ = writeln!(f, "mlk: attempt {attempt} of {attempts}");
            }
        }
        self.save(i);
    }

    /// Step `i` ended: its log closed, its state, its cache record, and the steps it
    /// unblocks, or no more new steps when it failed.
    pub(crate) fn finished(&mut self, i: usize, outcome: Outcome) {
        self.running.remove(&i);
        let plan = self.plan;
        let name = &plan.steps[i].name;
        let ended = now_ms();
        {
            let mut log = lock(&self.logs[i]);
            self.record.steps[i].replicas |= log.replicas;
            if let Some(mut f) = log.file.take()
                && let Err(e) = f.flush()
            {
                self.warn(&format!("cannot write the log of `{name}`: {e}"));
            }
        }
        let r = &mut self.record.steps[i];
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
        if outcome.ok {
            self.cache(i);
            self.ready.done(i, &self.record.steps);
        }
        self.events.event(&Event::Finished {
            step: &self.record.steps[i],
        });
        if !outcome.ok && !self.stopping {
            self.stopping = true;
            self.events.event(&Event::Stopping { failed: Some(name) });
        }
        self.save(i);
    }

    /// Writes the cache record of step `i`, which succeeded, when it is cached. A step
    /// succeeds only once its backend has published its outputs ([`super::Process::publish`],
    /// in the worker, before it reports the outcome), so a record never names an output that
    /// is not in place.
    fn cache(&self, i: usize) {
        let s = &self.plan.steps[i];
        let Some(store) = self.store.filter(|_| s.cache.enabled) else {
            return;
        };
        let rec = Record {
            format: RECORD_FORMAT,
            pipeline: self.plan.pipeline.clone(),
            step: s.name.clone(),
            key: s.cache.key.clone(),
            components: s.cache.components.clone(),
            outputs: s.outputs.clone(),
            created_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            run_id: self.opts.run_id.clone(),
        };
        if let Err(e) = store.put(&rec) {
            self.warn(&format!("cache record of `{}` not written: {e}", s.name));
        }
    }

    /// The run ended: steps that never started are `not-run`, the run's state, and the final
    /// record in place of the event log.
    pub(crate) fn end(mut self) -> Result<Summary, ExecError> {
        for s in &mut self.record.steps {
            if s.state == StepState::Waiting {
                s.state = StepState::NotRun;
            }
        }
        self.record.state = if self.interrupted {
            RunState::Interrupted
        } else if self
            .record
            .steps
            .iter()
            .any(|s| s.state == StepState::Failed)
        {
            RunState::Failed
        } else {
            RunState::Succeeded
        };
        self.record.ended_unix_ms = Some(now_ms());
        self.journal.finish(self.dir, &self.record)?;
        let tails = self
            .record
            .steps
            .iter()
            .zip(&self.logs)
            .filter(|(s, _)| s.attempts > 0)
            .map(|(s, l)| (s.name.clone(), lock(l).tail.iter().cloned().collect()))
            .collect();
        Ok(Summary {
            record: self.record,
            tails,
        })
    }
}

/// The record of a run that starts: every step in its initial state.
fn new_record(plan: &Plan, initial: &[Initial], opts: &Options) -> RunRecord {
    RunRecord {
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
        pid_start: super::liveness::start_time(std::process::id()),
        namespace: opts.namespace.clone(),
        context: opts.context.clone(),
        steps: plan
            .steps
            .iter()
            .zip(initial)
            .map(|(s, init)| {
                StepRun::initial(
                    s.name.clone(),
                    init.state,
                    s.cache.key.clone(),
                    init.note.clone(),
                )
            })
            .collect(),
    }
}

/// Locks a mutex, also after a panic on another thread (a log is still worth writing).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
