//! `mlk run --detach`: the run goes on in a background mlk process, and the command returns
//! its id as soon as its first step has been handed to the backend.
//!
//! mlk has no server and no controller: the background process *is* `mlk run`, started again
//! with the same arguments in a session of its own (so neither Ctrl-C in this terminal nor
//! closing it stops the run), its messages going to `.mlk/runs/RUN/driver.log` and its step
//! logs to the run's log files as usual. It tells this process on a pipe when a step has been
//! submitted; if it ends before that (invalid input, a failed preflight, every step cached),
//! its messages are shown here and its exit code becomes this command's.
//!
//! `mlk status RUN`, `mlk logs RUN -f` and `mlk delete RUN` work on a detached run as on any
//! other; a cluster run's steps go on in the cluster, but steps that wait for others are only
//! submitted while the background process lives (it is stopped with `mlk delete RUN`, or ends
//! with the machine).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use super::{Exit, Reporter, write_stdout};
use crate::exec::record::DRIVER_ENV;
use crate::exec::{Event, Events};

/// What the background process writes on its stdout once a step has been submitted.
const READY: &str = "ready";

/// The file the background process's messages go to, in the run's directory.
const DRIVER_LOG: &str = "driver.log";

/// Starts the background process of run `run_id` and waits until it has submitted a step
/// or ended.
pub(super) fn start(run_id: &str, runs: &Path, cwd: &Path, reporter: &Reporter) -> Exit {
    let dir = runs.join(run_id);
    let log_path = dir.join(DRIVER_LOG);
    let shown = super::run::relative(&log_path, cwd);
    let log = match std::fs::create_dir_all(&dir).and_then(|()| std::fs::File::create(&log_path)) {
        Ok(f) => f,
        Err(e) => {
            reporter.status(&format!("error: cannot write {shown}: {e}"));
            return Exit::Io;
        }
    };
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            reporter.status(&format!("error: cannot find the mlk executable: {e}"));
            return Exit::Io;
        }
    };
    let argv: Vec<OsString> = std::env::args_os()
        .skip(1)
        .filter(|a| a != "--detach")
        .collect();
    let mut child = match Command::new(exe)
        .args(argv)
        .env(DRIVER_ENV, run_id)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            reporter.status(&format!("error: cannot start the background mlk: {e}"));
            return Exit::Io;
        }
    };
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            let _ = tx.send(line);
        });
    }
    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupted));
    }
    let relay = || {
        if let Ok(text) = std::fs::read(&log_path) {
            let _ = std::io::stderr().lock().write_all(&text);
        }
    };
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(line) if line.trim_end() == READY => {
                relay();
                reporter.status(&format!(
                    "run {run_id} goes on in the background (mlk process {}, messages in {shown})\n  follow it:  mlk logs {run_id} -f\n  its state:  mlk status {run_id}\n  stop it:    mlk delete {run_id}",
                    child.id()
                ));
                return write_stdout(format!("{run_id}\n").as_bytes());
            }
            // Its stdout closed without the word: it has ended, or is about to.
            Ok(_) | Err(RecvTimeoutError::Disconnected) => {
                let status = child.wait();
                relay();
                let code = match status.map(|s| s.code()) {
                    Ok(Some(0)) => Exit::Ok,
                    Ok(Some(1)) => Exit::Failed,
                    Ok(Some(2)) => Exit::Invalid,
                    Ok(Some(130)) => Exit::Interrupted,
                    _ => Exit::Io,
                };
                if code == Exit::Ok {
                    return write_stdout(format!("{run_id}\n").as_bytes());
                }
                return code;
            }
            Err(RecvTimeoutError::Timeout) if interrupted.load(Ordering::SeqCst) => {
                // Not detached yet: Ctrl-C here stops the background process too.
                let _ = crate::exec::record::signal(
                    child.id(),
                    Some(nix::sys::signal::Signal::SIGTERM),
                );
                let _ = child.wait();
                relay();
                return Exit::Interrupted;
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

/// The run this process is the background half of, if it is one.
pub(super) fn driver_of() -> Option<String> {
    std::env::var(DRIVER_ENV)
        .ok()
        .filter(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
}

/// In the background process, first of all: a session of its own, so that the terminal's
/// Ctrl-C and hang-up do not reach it.
pub(super) fn become_driver() {
    let _ = nix::unistd::setsid();
}

/// The background process's events: shown as usual (into its log), and the first submitted
/// or finished step says [`READY`] to the process waiting for it.
pub(super) struct Ready {
    inner: Arc<dyn Events>,
    said: AtomicBool,
}

impl Ready {
    /// Passes every event on to `inner`.
    pub(super) fn new(inner: Arc<dyn Events>) -> Self {
        Ready {
            inner,
            said: AtomicBool::new(false),
        }
    }
}

impl Events for Ready {
    fn event(&self, event: &Event<'_>) {
        self.inner.event(event);
        let ready = match event {
            Event::Submitted => true,
            Event::Finished { step } => step.state == crate::exec::StepState::Done,
            _ => false,
        };
        if ready && !self.said.swap(true, Ordering::SeqCst) {
            // Nobody reads it any more once the first process has returned: errors ignored.
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{READY}");
            let _ = out.flush();
        }
    }
}
