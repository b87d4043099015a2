//! The [`Backend`] trait: what the executor needs from a place that runs steps, and the
//! [`LogLine`]s a step writes, with the one place that says how a line is kept in a step's
//! log file and how it is shown after its `[step/replica]` prefix.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::resolve::Step;

/// Which output stream a log line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exited {
    /// Exit code, when the process exited by itself.
    pub code: Option<i32>,
    /// Signal number, when a signal ended it.
    pub signal: Option<i32>,
}

impl Exited {
    /// Exit code 0.
    pub(crate) fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// `exit code 3`, `signal 9`.
    pub(crate) fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => "unknown exit status".into(),
        }
    }
}

/// How to stop a running attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Ask it to stop (SIGTERM locally; a cluster deletes its workload): it timed out.
    Terminate,
    /// Make it stop (SIGKILL locally).
    Kill,
    /// The user is leaving (a second Ctrl-C): stop following it. Where a step can outlive
    /// mlk (a cluster) it is left running for the user to keep or delete; elsewhere this is
    /// [`Stop::Terminate`].
    Detach,
}

/// One whole line a step wrote, without its line ending.
///
/// Shown as `[step] text`, or `[step/master-0] text` for a line of one of a step's several
/// pods ([`fmt::Display`]); the step's own log file keeps it as `text`, or
/// `[master-0] text` ([`LogLine::stored`], read back by [`LogLine::from_stored`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogLine<'a> {
    /// The step.
    pub step: &'a str,
    /// The pod it comes from, for a step with more than one (`master-0`, `worker-1`, …).
    pub replica: Option<&'a str>,
    /// The line.
    pub text: &'a str,
}

impl<'a> LogLine<'a> {
    /// What the line is shown after, live and by `mlk logs`: `[step]`, or `[step/master-0]`.
    pub(crate) fn prefix(&self) -> String {
        match self.replica {
            Some(r) => format!("[{}/{r}]", self.step),
            None => format!("[{}]", self.step),
        }
    }

    /// The line as the step's log file keeps it: `text`, or `[master-0] text`.
    pub(crate) fn stored(&self) -> Cow<'a, str> {
        match self.replica {
            Some(r) => Cow::Owned(format!("[{r}] {}", self.text)),
            None => Cow::Borrowed(self.text),
        }
    }

    /// A line of `step`'s log file read back. `replicas`: the step ran more than one pod, so
    /// its lines start with `[replica] ` (a line that does not, `mlk: …`, is kept whole).
    pub(crate) fn from_stored(step: &'a str, replicas: bool, line: &'a str) -> Self {
        let split = line
            .strip_prefix('[')
            .and_then(|rest| rest.split_once("] "))
            .filter(|_| replicas);
        match split {
            Some((replica, text)) => LogLine {
                step,
                replica: Some(replica),
                text,
            },
            None => LogLine {
                step,
                replica: None,
                text: line,
            },
        }
    }
}

impl fmt::Display for LogLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.prefix(), self.text)
    }
}

/// The function behind a [`LogSink`].
type LineFn = dyn Fn(Stream, LogLine<'_>) + Send + Sync;

/// Where a backend delivers the log lines of one step: whole lines, without the line ending.
#[derive(Clone)]
pub(crate) struct LogSink {
    step: Arc<str>,
    f: Arc<LineFn>,
}

impl LogSink {
    /// A sink for the lines of `step`, calling `f` for every line.
    pub(crate) fn new(step: &str, f: impl Fn(Stream, LogLine<'_>) + Send + Sync + 'static) -> Self {
        LogSink {
            step: Arc::from(step),
            f: Arc::new(f),
        }
    }

    /// Delivers one line.
    pub(crate) fn line(&self, stream: Stream, text: &str) {
        self.deliver(stream, None, text);
    }

    /// Delivers one line of one of a step's pods (`replica`: `master-0`, `worker-1`, …).
    pub(crate) fn line_from(&self, stream: Stream, replica: &str, text: &str) {
        self.deliver(stream, Some(replica), text);
    }

    fn deliver(&self, stream: Stream, replica: Option<&str>, text: &str) {
        let line = LogLine {
            step: &self.step,
            replica,
            text,
        };
        (self.f)(stream, line);
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LogSink").field(&self.step).finish()
    }
}

/// A held claim on a step's work ([`Backend::claim`]), released when dropped.
pub(crate) type Claim = Box<dyn Send>;

/// What a step holds of a backend's devices while it runs ([`Backend::reserve`]), given
/// back when dropped.
pub(crate) type Lease = Box<dyn Send>;

/// A place that runs steps: local processes, or a Kubernetes cluster.
pub(crate) trait Backend: Send + Sync {
    /// Why `step` cannot run here, if it cannot; the executor skips it with this notice.
    fn skip_reason(&self, step: &Step) -> Option<String> {
        let _ = step;
        None
    }

    /// The secret values this backend gives `step`, which mlk masks in the step's log lines
    /// (see [`super::mask`]). A backend whose secrets mlk never sees (a cluster's) has none.
    fn secrets(&self, step: &Step) -> Vec<String> {
        let _ = step;
        Vec::new()
    }

    /// Claims `step`'s work for this run while its attempts run, so that two runs sharing
    /// this backend's state never run the same work (same cache key) at once: `Ok(Some(claim))`
    /// is held until dropped, `Ok(None)` means another run holds it now (the worker waits).
    /// Backends with nothing shared between runs claim nothing.
    fn claim(&self, step: &Step) -> std::io::Result<Option<Claim>> {
        let _ = step;
        Ok(Some(Box::new(())))
    }

    /// Takes what `step` needs of devices this backend's steps share (a local machine's
    /// GPUs) for as long as it runs, or says why it must wait (`waiting for 2 GPUs (1
    /// free)`); the scheduler asks again when a step ends. Asked on the scheduling thread,
    /// before the step starts.
    fn reserve(&self, step: &Step) -> Result<Lease, String> {
        let _ = step;
        Ok(Box::new(()))
    }

    /// Starts attempt `attempt` (from 1) of `step`. Every line the step writes goes to `logs`
    /// until [`Process::drain`] returns. An error is a message saying why it could not start.
    fn start(&self, step: &Step, attempt: u32, logs: LogSink) -> Result<Box<dyn Process>, String>;
}

/// One running attempt of a step.
pub(crate) trait Process: Send {
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
    /// After it succeeded, before any record says so: makes its outputs visible to other
    /// steps (the local backend renames them out of their run-private place). An error says
    /// why they could not be, and fails the step.
    fn publish(&mut self) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::LogLine;

    /// A line of `step`'s log file as `mlk logs` shows it with every step.
    fn shown(step: &str, replicas: bool, line: &str) -> String {
        format!("{}\n", LogLine::from_stored(step, replicas, line))
    }

    #[test]
    fn replica_lines_get_the_step_and_replica_in_one_prefix() {
        assert_eq!(
            shown("train", true, "[master-0] epoch 1"),
            "[train/master-0] epoch 1\n"
        );
        assert_eq!(shown("train", false, "[x] y"), "[train] [x] y\n");
        // A line of a replica step that does not carry a replica: kept whole.
        assert_eq!(
            shown("train", true, "mlk: attempt 2 of 3"),
            "[train] mlk: attempt 2 of 3\n"
        );
        assert_eq!(shown("prep", false, ""), "[prep] \n");
    }

    #[test]
    fn stored_lines_read_back_as_they_were_delivered() {
        for replica in [None, Some("worker-1")] {
            let line = LogLine {
                step: "train",
                replica,
                text: "loss 0.25 [ok] done",
            };
            let stored = line.stored();
            assert_eq!(LogLine::from_stored("train", true, &stored), line);
        }
        let line = LogLine {
            step: "train",
            replica: Some("master-0"),
            text: "x",
        };
        assert_eq!(line.stored(), "[master-0] x");
        assert_eq!(line.prefix(), "[train/master-0]");
    }
}
