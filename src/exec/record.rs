//! Run records on disk: `.mlk/runs/<run-id>/run.json`, `events.jsonl` while the run goes
//! on, and one `<step>.log` per step.
//!
//! Run ids are `YYYYMMDD-HHMMSS-xxxx` (UTC, then 4 random hex digits). [`list`] orders runs
//! by that second and, within one second, by the start time in their record, so
//! `mlk status` finds the latest run even when two started in the same second.
//!
//! A record costs the same per state change whatever the size of the run: an append-only
//! event log with a final compaction. When a run starts, `run.json` is written (atomically)
//! with every step in its initial state; then each change of a step appends that step's whole
//! new [`StepRun`] as one line (one `write`) to `events.jsonl`; when the run ends, the final
//! record replaces `run.json` atomically and the event log is removed. [`load`] replays the
//! log onto a `run.json` that still says `running`, so a run read while it goes on, or whose
//! mlk was killed at any moment, reads as of its last whole line (a torn last line is
//! ignored). Runs written before the event log existed have no `events.jsonl` and read as
//! before.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub(crate) use super::liveness::signal;
use super::liveness::{Liveness, liveness};
use super::select::{ExecError, StepState};

/// The environment variable that makes `mlk run` the background half of the detached run it
/// names (`mlk run --detach` sets it; an environment variable rather than a hidden flag,
/// because shell completions list hidden flags too). The local backend does not pass it on
/// to steps.
pub(crate) const DRIVER_ENV: &str = "MLK_DETACHED_RUN";

/// Bump when the layout of `run.json` changes incompatibly.
pub(crate) const RUN_FORMAT: u32 = 1;

/// The run record, in the run's directory.
const RECORD: &str = "run.json";

/// The event log of a run that goes on, in the run's directory.
const EVENTS: &str = "events.jsonl";

/// How a run as a whole is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RunState {
    /// Still running (or mlk was killed before it could say otherwise).
    Running,
    /// Every selected step is done or cached.
    Succeeded,
    /// A step failed.
    Failed,
    /// Stopped by Ctrl-C.
    Interrupted,
}

/// `run.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    /// [`RUN_FORMAT`].
    pub format: u32,
    /// The run id.
    pub run_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// Pipeline file as given on the command line.
    pub pipeline_file: String,
    /// Stack name.
    pub stack: String,
    /// Overall state.
    pub state: RunState,
    /// Start, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// End, in milliseconds since the Unix epoch.
    pub ended_unix_ms: Option<u64>,
    /// Where the steps run: `local` or `kubernetes` (absent in records of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    /// The id of the mlk process running it, to tell a run in progress from one whose mlk
    /// was killed (absent in records of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// When that process started (clock ticks since boot, `/proc/PID/stat` field 22), so that
    /// a reused pid is not taken for it (absent in records of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_start: Option<u64>,
    /// A cluster run's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A cluster run's kubeconfig context, when one was named (`--context` or the stack's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Every step, in plan order.
    pub steps: Vec<StepRun>,
}

/// One step of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StepRun {
    /// Step name.
    pub name: String,
    /// State.
    pub state: StepState,
    /// Full cache key.
    pub key: String,
    /// Why it is cached, skipped or failed.
    pub note: Option<String>,
    /// Attempts started.
    pub attempts: u32,
    /// Exit code of the last attempt.
    pub exit_code: Option<i32>,
    /// Start of the first attempt, in milliseconds since the Unix epoch.
    pub started_unix_ms: Option<u64>,
    /// Seconds from the first start to the end of the last attempt.
    pub duration_seconds: Option<f64>,
    /// Whether its log lines come from several pods, each written `[replica] line`
    /// (`[master-0] …`) in its log file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replicas: bool,
}

impl StepRun {
    /// A step before the run starts it: `state` (waiting, cached or skipped) and why.
    pub(crate) fn initial(
        name: String,
        state: StepState,
        key: String,
        note: Option<String>,
    ) -> Self {
        StepRun {
            name,
            state,
            key,
            note,
            attempts: 0,
            exit_code: None,
            started_unix_ms: None,
            duration_seconds: None,
            replicas: false,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A run id for a run starting at `at`, made unique by `entropy`.
pub(crate) fn run_id(at: SystemTime, entropy: u64) -> String {
    let stamp = humantime::format_rfc3339_seconds(at).to_string();
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    let (date, time) = digits.split_at(digits.len().min(8));
    format!("{date}-{time}-{:04x}", entropy & 0xffff)
}

/// When the run `id` started (its first 15 characters, `YYYYMMDD-HHMMSS` in UTC); now for
/// an id of another shape. A detached run's driver gets the same date as the run it drives.
pub(crate) fn run_time(id: &str) -> jiff::Timestamp {
    id.get(..15)
        .and_then(|s| jiff::civil::DateTime::strptime("%Y%m%d-%H%M%S", s).ok())
        .and_then(|t| t.to_zoned(jiff::tz::TimeZone::UTC).ok())
        .map_or_else(jiff::Timestamp::now, |z| z.timestamp())
}

/// Random bits for [`run_id`], from the standard library's per-process random hash keys.
pub(crate) fn entropy() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// The directory of one run.
#[derive(Debug, Clone)]
pub(crate) struct RunDir {
    dir: PathBuf,
}

fn io(path: &Path, e: &std::io::Error) -> ExecError {
    ExecError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl RunDir {
    /// Creates `<runs>/<id>` for a new run; fails if it holds a run already. (The directory
    /// itself may exist: `mlk run --detach` makes it first, for the log of the process it
    /// starts.)
    pub(crate) fn create(runs: &Path, id: &str) -> Result<Self, ExecError> {
        fs::create_dir_all(runs).map_err(|e| io(runs, &e))?;
        let dir = runs.join(id);
        match fs::create_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(io(&dir, &e)),
            _ => {}
        }
        let record = dir.join(RECORD);
        if record.exists() {
            return Err(io(
                &record,
                &std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        Ok(RunDir { dir })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }

    /// Where the log of `step` goes.
    pub(crate) fn log_path(&self, step: &str) -> PathBuf {
        log_path(&self.dir, step)
    }

    /// Starts the record of a run: an empty event log, then `run.json` with `record` (every
    /// step in its initial state). The log comes first, so that a reader who finds a
    /// `run.json` that says `running` also finds its log.
    pub(crate) fn begin(&self, record: &RunRecord) -> Result<Journal, ExecError> {
        let path = self.dir.join(EVENTS);
        let file = fs::File::create(&path).map_err(|e| io(&path, &e))?;
        self.write(record)?;
        Ok(Journal {
            file,
            path,
            line: Vec::new(),
        })
    }

    /// Writes `run.json` atomically.
    fn write(&self, record: &RunRecord) -> Result<(), ExecError> {
        let path = self.dir.join(RECORD);
        let mut text = serde_json::to_vec_pretty(record).map_err(|e| io(&path, &e.into()))?;
        text.push(b'\n');
        let mut tmp = tempfile::Builder::new()
            .prefix(".run-")
            .tempfile_in(&self.dir)
            .map_err(|e| io(&self.dir, &e))?;
        tmp.write_all(&text).map_err(|e| io(&path, &e))?;
        tmp.persist(&path).map_err(|e| io(&path, &e.error))?;
        Ok(())
    }
}

/// The event log of a run that goes on (see the module documentation).
#[derive(Debug)]
pub(crate) struct Journal {
    file: fs::File,
    path: PathBuf,
    /// The line being written, kept to reuse its allocation.
    line: Vec<u8>,
}

/// One line of `events.jsonl`: the whole new state of step `index` (in plan order).
#[derive(Serialize, Deserialize)]
struct StepEvent<S> {
    index: usize,
    step: S,
}

impl Journal {
    /// Appends the new state of step `index`, in one `write` call.
    pub(crate) fn step(&mut self, index: usize, step: &StepRun) -> Result<(), ExecError> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, &StepEvent { index, step })
            .map_err(|e| io(&self.path, &e.into()))?;
        self.line.push(b'\n');
        self.file
            .write_all(&self.line)
            .map_err(|e| io(&self.path, &e))
    }

    /// Ends the run's record: `record` replaces `run.json` atomically, then the event log,
    /// now part of it, is removed.
    pub(crate) fn finish(self, dir: &RunDir, record: &RunRecord) -> Result<(), ExecError> {
        dir.write(record)?;
        drop(self.file);
        fs::remove_file(&self.path).map_err(|e| io(&self.path, &e))
    }
}

/// The log file of `step` in the run directory `dir`.
pub(crate) fn log_path(dir: &Path, step: &str) -> PathBuf {
    dir.join(format!("{step}.log"))
}

/// The ids of every run under `runs`, oldest first.
pub(crate) fn list(runs: &Path) -> std::io::Result<Vec<String>> {
    let entries = match fs::read_dir(runs) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    // Ids sort by their second; runs started within the same second are ordered by the
    // start time their record holds (the id's random suffix says nothing about order).
    let mut runs_found: Vec<(u64, String)> = Vec::new();
    for entry in entries {
        let entry = entry?;
        let id = entry.file_name().to_string_lossy().into_owned();
        let record = entry.path().join(RECORD);
        if record.is_file() {
            let started = started_ms(&record);
            runs_found.push((started, id));
        }
    }
    runs_found.sort_by(|a, b| {
        a.1[..a.1.len().min(15)]
            .cmp(&b.1[..b.1.len().min(15)])
            .then(a.0.cmp(&b.0))
            .then(a.1.cmp(&b.1))
    });
    Ok(runs_found.into_iter().map(|(_, id)| id).collect())
}

/// The start time in a run record, reading nothing else of it (0 if unreadable).
fn started_ms(path: &Path) -> u64 {
    #[derive(serde::Deserialize)]
    struct Started {
        started_unix_ms: u64,
    }
    fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Started>(&t).ok())
        .map_or(0, |s| s.started_unix_ms)
}

impl RunRecord {
    /// Whether the run still goes on: its record says running, and the mlk process running it
    /// is not known to be gone (see [`Liveness`]; a record without a pid, from an older
    /// version, is taken at its word).
    pub(crate) fn in_progress(&self) -> bool {
        self.state == RunState::Running && self.liveness() != Liveness::Gone
    }

    /// Its record says running, but the mlk process that ran it is gone (killed, or its
    /// machine restarted; its pid may name another process since): nothing will finish it.
    pub(crate) fn abandoned(&self) -> bool {
        self.state == RunState::Running && self.liveness() == Liveness::Gone
    }

    /// What became of the mlk process running it (by pid and start time).
    pub(crate) fn liveness(&self) -> Liveness {
        liveness(self.pid, self.pid_start)
    }
}

/// Reads the record of run `id` under `runs`: its `run.json`, with the events of its event
/// log replayed while that says the run goes on.
pub(crate) fn load(runs: &Path, id: &str) -> std::io::Result<RunRecord> {
    let dir = runs.join(id);
    // The log is read first: if the run ends in between, the final `run.json` read next says
    // not to replay it; if not, the log read is a prefix of the events since that `run.json`.
    let events = match fs::read(dir.join(EVENTS)) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let text = fs::read(dir.join(RECORD))?;
    let mut record: RunRecord = serde_json::from_slice(&text)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    if record.state == RunState::Running {
        replay(&mut record, &events);
    }
    Ok(record)
}

/// Applies the whole lines of an event log to `record`, in order. A line that does not parse
/// (the last one, torn by a crash while it was written) is skipped.
fn replay(record: &mut RunRecord, events: &[u8]) {
    for line in events.split(|&b| b == b'\n') {
        if let Ok(e) = serde_json::from_slice::<StepEvent<StepRun>>(line)
            && let Some(slot) = record.steps.get_mut(e.index)
        {
            *slot = e.step;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_the_same_second_list_in_start_order() {
        let dir = tempfile::tempdir().unwrap();
        // "ffff" sorts after "0000" by name, but started first.
        for (id, started) in [
            ("20261121-084530-ffff", 1_000),
            ("20261121-084530-0000", 2_000),
        ] {
            let run = dir.path().join(id);
            fs::create_dir_all(&run).unwrap();
            let text = serde_json::json!({"started_unix_ms": started}).to_string();
            fs::write(run.join("run.json"), text).unwrap();
        }
        let ids = list(dir.path()).unwrap();
        assert_eq!(ids, ["20261121-084530-ffff", "20261121-084530-0000"]);
    }

    fn record(steps: &[&str]) -> RunRecord {
        RunRecord {
            format: RUN_FORMAT,
            run_id: "20261121-084530-abcd".into(),
            pipeline: "p".into(),
            pipeline_file: "p.toml".into(),
            stack: "local".into(),
            state: RunState::Running,
            started_unix_ms: 1_000,
            ended_unix_ms: None,
            backend: Some("local".into()),
            pid: Some(std::process::id()),
            pid_start: None,
            namespace: None,
            context: None,
            steps: steps
                .iter()
                .map(|name| StepRun::initial((*name).into(), StepState::Waiting, "k".into(), None))
                .collect(),
        }
    }

    #[test]
    fn a_run_in_progress_reads_as_of_its_last_whole_event() {
        let runs = tempfile::tempdir().unwrap();
        let id = "20261121-084530-abcd";
        let dir = RunDir::create(runs.path(), id).unwrap();
        let mut r = record(&["a", "b"]);
        let mut journal = dir.begin(&r).unwrap();
        assert_eq!(
            load(runs.path(), id).unwrap().steps[0].state,
            StepState::Waiting
        );

        r.steps[0].state = StepState::Running;
        journal.step(0, &r.steps[0]).unwrap();
        r.steps[0].state = StepState::Done;
        r.steps[0].exit_code = Some(0);
        journal.step(0, &r.steps[0]).unwrap();
        r.steps[1].state = StepState::Running;
        journal.step(1, &r.steps[1]).unwrap();
        let now = load(runs.path(), id).unwrap();
        assert_eq!(now.state, RunState::Running);
        assert_eq!(now.steps[0].state, StepState::Done);
        assert_eq!(now.steps[0].exit_code, Some(0));
        assert_eq!(now.steps[1].state, StepState::Running);
        // run.json itself still holds the start only: nothing is rewritten per change.
        let start: RunRecord =
            serde_json::from_slice(&fs::read(dir.path().join(RECORD)).unwrap()).unwrap();
        assert_eq!(start.steps[0].state, StepState::Waiting);

        // A crash in the middle of a write leaves a torn last line: skipped.
        let mut torn = fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join(EVENTS))
            .unwrap();
        torn.write_all(br#"{"index":1,"step":{"name":"b","sta"#)
            .unwrap();
        assert_eq!(
            load(runs.path(), id).unwrap().steps[1].state,
            StepState::Running
        );

        r.steps[1].state = StepState::Failed;
        r.state = RunState::Failed;
        r.ended_unix_ms = Some(2_000);
        journal.finish(&dir, &r).unwrap();
        assert!(!dir.path().join(EVENTS).exists());
        let end = load(runs.path(), id).unwrap();
        assert_eq!(end.state, RunState::Failed);
        assert_eq!(end.steps[1].state, StepState::Failed);
    }

    #[test]
    fn a_record_without_an_event_log_reads_as_it_is() {
        // Runs of versions before the event log: run.json only, rewritten on every change.
        let runs = tempfile::tempdir().unwrap();
        let id = "20261121-084530-0000";
        fs::create_dir_all(runs.path().join(id)).unwrap();
        let mut r = record(&["a"]);
        r.steps[0].state = StepState::Running;
        fs::write(
            runs.path().join(id).join(RECORD),
            serde_json::to_string_pretty(&r).unwrap(),
        )
        .unwrap();
        let read = load(runs.path(), id).unwrap();
        assert_eq!(read.steps[0].state, StepState::Running);
        assert_eq!(list(runs.path()).unwrap(), [id]);
    }

    #[test]
    fn run_ids_sort_by_time() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_795_250_700);
        let id = run_id(t, 0xabcd_1234);
        assert_eq!(id.len(), "20261121-084500-1234".len(), "{id}");
        assert!(id.ends_with("-1234"), "{id}");
        assert_eq!(run_time(&id).as_second(), 1_795_250_700);
        let later = run_id(t + std::time::Duration::from_secs(1), 0);
        assert!(later > id, "{later} <= {id}");
    }
}
