//! The [`Backend`] trait: what the executor needs from a place that runs steps.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::resolve::Step;

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exited {
    /// Exit code, when the process exited by itself.
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
}

impl Exited {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// `exit code 3`, `signal 9`.
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "unknown exit status".into(),
        }
    }
}

/// How to stop a running attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Ask it to stop (SIGTERM locally; a cluster deletes its workload): it timed out.
    Terminate,
    /// Make it stop (SIGKILL locally).
    Kill,
    /// The user is leaving (a second Ctrl-C): stop following it. Where a step can outlive
    /// mlk (a cluster) it is left running for the user to keep or delete; elsewhere this is
    /// [`Stop::Terminate`].
    Detach,
}

/// The function behind a [`LogSink`]: stream, source (the replica of a step with more than
/// one pod, `master-0`, …), line.
type LineFn = dyn Fn(Stream, Option<&str>, &str) + Send + Sync;

/// Where a backend delivers log lines: whole lines, without the line ending.
#[derive(Clone)]
pub struct LogSink(Arc<LineFn>);

impl LogSink {
    /// A sink calling `f` for every line.
    pub fn new(f: impl Fn(Stream, Option<&str>, &str) + Send + Sync + 'static) -> Self {
        LogSink(Arc::new(f))
    }

    /// Delivers one line.
    pub fn line(&self, stream: Stream, line: &str) {
        (self.0)(stream, None, line);
    }

    /// Delivers one line of one of a step's pods (`source`: `master-0`, `worker-1`, …).
    pub fn line_from(&self, stream: Stream, source: &str, line: &str) {
        (self.0)(stream, Some(source), line);
    }
}

impl std::fmt::Debug for LogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogSink")
    }
}

/// A place that runs steps: local processes, or a Kubernetes cluster.
pub trait Backend: Send + Sync {
    /// Why `step` cannot run here, if it cannot; the executor skips it with this notice.
    fn skip_reason(&self, step: &Step) -> Option<String> {
        let _ = step;
        None
    }

    /// Whether the outputs named by a cache record still exist (a hit needs them).
    fn outputs_present(&self, outputs: &BTreeMap<String, String>) -> bool {
        let _ = outputs;
        true
    }

    /// Starts attempt `attempt` (from 1) of `step`. Every line the step writes goes to `logs`
    /// until [`Process::drain`] returns. An error is a message saying why it could not start.
    fn start(&self, step: &Step, attempt: u32, logs: LogSink) -> Result<Box<dyn Process>, String>;
}

/// One running attempt of a step.
pub trait Process: Send {
    /// How it ended, or `None` while it runs.
    fn try_wait(&mut self) -> std::io::Result<Option<Exited>>;
    /// Asks or forces it to stop (all of its processes, not just the first).
    fn stop(&mut self, how: Stop) -> std::io::Result<()>;
    /// After it ended: waits up to `limit` for its remaining log lines to be delivered.
    fn drain(&mut self, limit: Duration);
    /// Why it has not started running yet (waiting for a scheduler, an image…), if it has
    /// not; asked after every [`Process::try_wait`] that returned `None`.
    fn pending(&self) -> Option<String> {
        None
    }
}
