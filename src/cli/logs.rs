//! `mlk logs RUN [STEP] [-f]`: a local run's log files in `.mlk/runs/RUN/`, followed with
//! `-f` while the run goes on; a run that is not there (or with `--cluster`) has its pods'
//! logs read from the cluster.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use clap::Args;

use super::status::{find, runs_dir};
use super::{Exit, Global, Reporter, write_stdout};
use crate::exec::{LogLine, RunRecord, RunState, StepRun, record};
use crate::labels;

/// How often `-f` looks for new lines in a local run's log files.
const FOLLOW_POLL: Duration = Duration::from_millis(100);

/// `mlk logs` arguments.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Run id, or `latest`.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Only this step's log (unprefixed for a local run).
    #[arg(value_name = "STEP")]
    pub step: Option<String>,
    /// Follow the logs until the run ends (a cluster run: until every workload of the run
    /// has finished).
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Read the logs from the cluster (pods labelled `mlk.dev/run=RUN`) even when the run is
    /// in the local `.mlk/runs`; the default for runs that are not.
    #[arg(long)]
    pub cluster: bool,
}

/// Runs `mlk logs`: from the local record, else (or with `--cluster`) from the cluster.
pub(super) fn logs(args: &LogsArgs, global: &Global, reporter: &Reporter) -> Exit {
    let local =
        args.run == "latest" || record::list(&runs_dir()).is_ok_and(|ids| ids.contains(&args.run));
    if args.cluster || !local {
        return cluster_logs(args, global, reporter);
    }
    let r = match find(reporter, Some(&args.run)) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let steps: Vec<&StepRun> = match &args.step {
        Some(s) => match r.steps.iter().find(|x| &x.name == s) {
            Some(x) => vec![x],
            None => {
                let names: Vec<&str> = r.steps.iter().map(|x| x.name.as_str()).collect();
                reporter.status(&format!(
                    "error: run {} has no step `{s}` (steps: {})",
                    r.run_id,
                    names.join(", ")
                ));
                return Exit::Invalid;
            }
        },
        None => r.steps.iter().collect(),
    };
    let mut files: Vec<LogFile> = steps
        .iter()
        .map(|s| LogFile {
            step: s.name.clone(),
            prefix: args.step.is_none(),
            replicas: s.replicas,
            read: 0,
            partial: Vec::new(),
        })
        .collect();
    let dir = runs_dir().join(&r.run_id);
    if !args.follow {
        let mut out = Vec::new();
        for f in &mut files {
            if let Err(code) = f.read_new(&dir, true, &mut out, reporter) {
                return code;
            }
        }
        return write_stdout(&out);
    }
    follow(&r, &dir, &mut files, reporter)
}

/// One step's log file, read as it grows.
struct LogFile {
    step: String,
    /// Lines get `[step] ` (or `[step/replica] `) in front.
    prefix: bool,
    /// Its lines start with `[replica] ` (from a step with several pods).
    replicas: bool,
    /// Bytes read so far.
    read: u64,
    /// The start of a line whose end has not been written yet.
    partial: Vec<u8>,
}

impl LogFile {
    /// Appends what was written since the last call to `out`: whole lines, and with `all`
    /// (the run has ended) an unfinished last line too.
    fn read_new(
        &mut self,
        dir: &Path,
        all: bool,
        out: &mut Vec<u8>,
        reporter: &Reporter,
    ) -> Result<(), Exit> {
        let path = record::log_path(dir, &self.step);
        let mut new = Vec::new();
        let read = std::fs::File::open(&path).and_then(|mut f| {
            f.seek(SeekFrom::Start(self.read))?;
            f.read_to_end(&mut new)
        });
        match read {
            Ok(n) => self.read += n as u64,
            // Not started (yet), or never: nothing to show.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                reporter.status(&format!(
                    "error: cannot read the log of `{}`: {e}",
                    self.step
                ));
                return Err(Exit::Io);
            }
        }
        self.partial.extend_from_slice(&new);
        let mut rest = std::mem::take(&mut self.partial);
        let whole = match rest.iter().rposition(|&b| b == b'\n') {
            Some(i) => {
                self.partial = rest.split_off(i + 1);
                rest
            }
            None if all => rest,
            None => {
                self.partial = rest;
                return Ok(());
            }
        };
        if all && !self.partial.is_empty() {
            let mut tail = std::mem::take(&mut self.partial);
            tail.push(b'\n');
            self.emit(&[whole, tail].concat(), out);
        } else {
            self.emit(&whole, out);
        }
        Ok(())
    }

    fn emit(&self, bytes: &[u8], out: &mut Vec<u8>) {
        if !self.prefix {
            out.extend_from_slice(bytes);
            return;
        }
        for line in String::from_utf8_lossy(bytes).lines() {
            let line = LogLine::from_stored(&self.step, self.replicas, line);
            out.extend_from_slice(format!("{line}\n").as_bytes());
        }
    }
}

/// `-f` on a local run: prints new lines every [`FOLLOW_POLL`] until the run has ended (at
/// once for a run that has), then says how it ended.
fn follow(r: &RunRecord, dir: &Path, files: &mut [LogFile], reporter: &Reporter) -> Exit {
    use std::io::Write;
    let runs = runs_dir();
    let mut last = r.clone();
    loop {
        // Read the record first: lines written before it said "ended" are all read below.
        if let Ok(now) = record::load(&runs, &r.run_id) {
            last = now;
        }
        let ended = !last.in_progress();
        let mut out = Vec::new();
        for f in files.iter_mut() {
            f.replicas |= last.steps.iter().any(|s| s.name == f.step && s.replicas);
            if let Err(code) = f.read_new(dir, ended, &mut out, reporter) {
                return code;
            }
        }
        if !out.is_empty() {
            let mut stdout = std::io::stdout().lock();
            if stdout
                .write_all(&out)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                // `mlk logs RUN -f | head`: the reader is gone.
                return Exit::Ok;
            }
        }
        if ended {
            break;
        }
        std::thread::sleep(FOLLOW_POLL);
    }
    let state = match last.state {
        RunState::Succeeded => "succeeded",
        RunState::Failed => "failed",
        RunState::Interrupted => "was interrupted",
        RunState::Running => "was abandoned: the mlk process running it has ended",
    };
    reporter.status(&format!("run {} {state}", r.run_id));
    Exit::Ok
}

/// `mlk logs` for a run in the cluster, found by its `mlk.dev/run` label.
fn cluster_logs(args: &LogsArgs, global: &Global, reporter: &Reporter) -> Exit {
    let global =
        &super::lifecycle::where_it_ran(global, super::lifecycle::recorded(&args.run).as_ref());
    let cluster = match crate::cluster::Cluster::connect(&global.target()) {
        Ok(c) => c,
        // No usable kubeconfig and no `--cluster`: most likely a mistyped local run id.
        Err(e) if !args.cluster => {
            let code = find(reporter, Some(&args.run))
                .err()
                .unwrap_or(Exit::Invalid);
            reporter.status(&format!("note: the cluster was not searched: {e}"));
            return code;
        }
        Err(e) => {
            reporter.diagnostic(&e);
            return Exit::Io;
        }
    };
    let out: std::sync::Arc<crate::cluster::RunLine> = std::sync::Arc::new(|line: LogLine<'_>| {
        let text = format!("{line}\n");
        // One write under stdout's lock: lines of two pods never interleave. A closed
        // pipe (`mlk logs … | head`) is not an error.
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    });
    // `latest` is the newest local run; its pods are looked for by its id.
    let run = &match args.run.as_str() {
        "latest" => match find(reporter, None) {
            Ok(r) => r.run_id,
            Err(code) => return code,
        },
        id => id.to_owned(),
    };
    match crate::cluster::run_logs(&cluster, run, args.step.as_deref(), args.follow, out) {
        Ok(true) => Exit::Ok,
        Ok(false) => {
            let what = match &args.step {
                Some(s) => labels::selector(&[(labels::RUN, run), (labels::STEP, s)]),
                None => labels::selector(&[(labels::RUN, run)]),
            };
            reporter.status(&format!(
                "error: no run `{run}` in .mlk/runs, and no objects or pods labelled {what} in namespace `{}` (pass -n NAMESPACE for another)",
                cluster.namespace
            ));
            Exit::Invalid
        }
        Err(e) => {
            reporter.diagnostic(&e);
            Exit::Io
        }
    }
}
