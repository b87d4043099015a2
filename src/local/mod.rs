//! The local-process backend: every step's command as a process on this machine.
//!
//! A step runs in the pipeline file's directory, in its own process group (so a timeout or a
//! second Ctrl-C stops everything it started, and the terminal's Ctrl-C reaches mlk only),
//! with mlk's environment, the step's variables (see [`mod@env`] for secrets), and `MLK_RUN_ID`,
//! `MLK_STEP` and `MLK_PIPELINE`. Serve steps are skipped: there is no model server locally.
//!
//! A step never writes where other steps read: [`Staging`] hands its command run-private
//! output paths (`<key dir>/../.staging/<run>/<key>/<output>`, on the same filesystem), and
//! only when it succeeds are they renamed into their published paths, before the executor
//! writes any record. A reader sees a whole output or none, whatever other runs of the same
//! step do at the same time.
//!
//! GPUs ([`gpu`]): a step gets the devices it asks for, exclusively or packed by memory, and
//! waits while they are held ([`Backend::reserve`]). A PyTorch step runs one process per
//! replica ([`ranks`]), all in one process group; the first to fail stops the others, and
//! only rank 0's outputs are published (the others write to places of their own, removed
//! with the attempt).

pub(crate) mod env;
pub(crate) mod gpu;
mod ranks;
mod staging;

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::domain::StepKind;
use crate::exec::{Backend, Claim, Exited, Lease, LogSink, Process, Stop, Stream};
use crate::resolve::Step;

pub(crate) use env::MissingEnv;
use gpu::{Gpus, Machine};
use ranks::Rank;
use staging::Staging;

/// Looks up an environment variable of mlk (injected so tests need no real environment).
pub(crate) type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Runs steps as local processes.
pub(crate) struct LocalBackend {
    dir: PathBuf,
    pipeline: String,
    run_id: String,
    lookup: Lookup,
    /// The machine's GPUs and who holds them; `None`: GPUs are not looked at.
    gpus: Option<Arc<Gpus>>,
}

impl LocalBackend {
    /// Steps of `pipeline` run in `dir` (the pipeline file's directory) for run `run_id`.
    pub(crate) fn new(dir: PathBuf, pipeline: &str, run_id: &str, lookup: Lookup) -> Self {
        LocalBackend {
            dir,
            pipeline: pipeline.into(),
            run_id: run_id.into(),
            lookup,
            gpus: None,
        }
    }

    /// Hands out `machine`'s GPUs to steps (see [`gpu`]).
    #[must_use]
    pub(crate) fn with_gpus(mut self, machine: Machine) -> Self {
        self.gpus = Some(Gpus::new(machine));
        self
    }

    /// Every secret or ConfigMap reference of `steps` that cannot be resolved.
    pub(crate) fn missing_env<'a>(
        &self,
        steps: impl IntoIterator<Item = &'a Step>,
    ) -> Vec<MissingEnv> {
        steps
            .into_iter()
            .filter_map(|s| env::step_env(s, &*self.lookup).err())
            .flatten()
            .collect()
    }
}

impl Backend for LocalBackend {
    fn skip_reason(&self, step: &Step) -> Option<String> {
        (step.kind == StepKind::Serve)
            .then(|| "serve steps do not run on the local backend (no model server)".into())
    }

    fn claim(&self, step: &Step) -> std::io::Result<Option<Claim>> {
        // Only work that writes outputs can collide; a lock file per (pipeline, step, key)
        // under `.mlk/locks`, held (flock) while the attempts run and their outputs publish.
        if step.outputs.is_empty() {
            return Ok(Some(Box::new(())));
        }
        let dir = PathBuf::from(crate::cache::STATE_DIR).join("locks");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!(
            "{}-{}-{}.lock",
            self.pipeline, step.name, step.cache.key
        ));
        let file = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(held) => Ok(Some(Box::new(held))),
            Err((_, Errno::EWOULDBLOCK)) => Ok(None),
            Err((_, e)) => Err(std::io::Error::from(e)),
        }
    }

    fn secrets(&self, step: &Step) -> Vec<String> {
        env::secret_values(step, &*self.lookup)
    }

    fn reserve(&self, step: &Step) -> Result<Lease, String> {
        match &self.gpus {
            Some(g) => g.reserve(step),
            None => Ok(Box::new(())),
        }
    }

    fn start(&self, step: &Step, _attempt: u32, logs: LogSink) -> Result<Box<dyn Process>, String> {
        let vars = env::step_env(step, &*self.lookup).map_err(|missing| {
            missing
                .iter()
                .map(|m| format!("{} is not set", m.variable))
                .collect::<Vec<_>>()
                .join(", ")
        })?;
        let gpu_env = match &self.gpus {
            Some(g) => g.env(step)?,
            None => Vec::new(),
        };
        let mut group = LocalProcess {
            ranks: Vec::new(),
            pgid: None,
            done: mpsc::channel(),
            readers: 0,
            staging: Vec::new(),
            failed: None,
            stopping: None,
        };
        for (r, rank) in ranks::ranks(step, gpu_env)?.into_iter().enumerate() {
            // Rank 0's outputs are the step's; the others' go to places of their own.
            let run = match r {
                0 => self.run_id.clone(),
                r => format!("{}-rank{r}", self.run_id),
            };
            let staging = Staging::new(step, &run)?;
            if let Err(e) = self.spawn(step, &vars, &staging, rank, &logs, &mut group) {
                let _ = group.stop(Stop::Kill);
                return Err(e);
            }
            group.staging.push(staging);
        }
        Ok(Box::new(group))
    }
}

impl LocalBackend {
    /// Starts one process of an attempt of `step` into `group`: the first starts the
    /// group's process group, the others join it.
    fn spawn(
        &self,
        step: &Step,
        vars: &std::collections::BTreeMap<String, String>,
        staging: &Staging,
        rank: Rank,
        logs: &LogSink,
        group: &mut LocalProcess,
    ) -> Result<(), String> {
        let command = staging.rewrite_all(&step.command);
        let Some((program, args)) = command.split_first() else {
            return Err("the step has no command".into());
        };
        let vars = vars.iter().map(|(k, v)| (k, staging.rewrite(v)));
        let mut child = Command::new(program)
            .args(args)
            .current_dir(&self.dir)
            .envs(vars)
            .envs(&rank.env)
            .env_remove(crate::exec::record::DRIVER_ENV)
            .env("MLK_RUN_ID", &self.run_id)
            .env("MLK_STEP", &step.name)
            .env("MLK_PIPELINE", &self.pipeline)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(group.pgid.unwrap_or(0))
            .spawn()
            .map_err(|e| format!("`{program}`: {e}"))?;
        let done = &group.done.0;
        if let Some(out) = child.stdout.take() {
            pump(
                out,
                Stream::Stdout,
                logs.clone(),
                rank.replica.clone(),
                done.clone(),
            );
            group.readers += 1;
        }
        if let Some(err) = child.stderr.take() {
            pump(
                err,
                Stream::Stderr,
                logs.clone(),
                rank.replica,
                done.clone(),
            );
            group.readers += 1;
        }
        let pid = i32::try_from(child.id()).map_err(|e| e.to_string())?;
        group.pgid.get_or_insert(pid);
        group.ranks.push((child, None));
        Ok(())
    }
}

/// The longest output line kept: the rest of a longer line is dropped (a step that prints
/// 100 MB without a newline must not make mlk hold 100 MB).
const MAX_LINE: usize = 64 << 10;

/// Said once per stream, after the first line cut to [`MAX_LINE`].
const TRUNCATED: &str = "mlk: line longer than 64 KiB truncated";

/// Reads whole lines of one stream on a thread of its own, each cut to [`MAX_LINE`] bytes,
/// as lines of `replica` when the step has several.
fn pump(
    r: impl Read + Send + 'static,
    stream: Stream,
    logs: LogSink,
    replica: Option<String>,
    done: Sender<()>,
) {
    std::thread::spawn(move || {
        let mut r = BufReader::new(r);
        let mut buf = Vec::new();
        let mut said = false;
        while let Ok(Some(cut)) = read_line(&mut r, &mut buf, MAX_LINE) {
            while buf.last().is_some_and(|b| *b == b'\r') {
                buf.pop();
            }
            let line = |text: &str| match &replica {
                Some(r) => logs.line_from(stream, r, text),
                None => logs.line(stream, text),
            };
            line(&String::from_utf8_lossy(&buf));
            if cut && !said {
                line(TRUNCATED);
                said = true;
            }
        }
        let _ = done.send(());
    });
}

/// Reads the next line of `r` into `buf` (cleared first, without the newline), keeping at
/// most `max` bytes of it and skipping the rest up to its newline. `None` at the end of the stream; else whether the
/// line was cut.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut read_any = false;
    let mut cut = false;
    loop {
        let available = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(read_any.then_some(cut));
        }
        read_any = true;
        let newline = available.iter().position(|b| *b == b'\n');
        let content = newline.unwrap_or(available.len());
        let keep = content.min(max - buf.len());
        buf.extend_from_slice(&available[..keep]);
        cut |= keep < content;
        r.consume(newline.map_or(content, |i| i + 1));
        if newline.is_some() {
            return Ok(Some(cut));
        }
    }
}

/// The processes of one attempt, in one process group.
struct LocalProcess {
    /// Each process, and how it ended once it has.
    ranks: Vec<(Child, Option<Exited>)>,
    /// The group: the first process's id.
    pgid: Option<i32>,
    /// Each output reader says here when its stream ends.
    done: (Sender<()>, Receiver<()>),
    readers: usize,
    /// Where each process's outputs are written until rank 0's are published.
    staging: Vec<Staging>,
    /// The first process that failed: the attempt's end.
    failed: Option<Exited>,
    /// When the others were asked to stop because one failed; they are killed after
    /// [`RANK_GRACE`].
    stopping: Option<Instant>,
}

/// How long the other processes of a PyTorch step have to stop after one of them failed.
const RANK_GRACE: Duration = Duration::from_secs(5);

impl Process for LocalProcess {
    fn try_wait(&mut self) -> std::io::Result<Option<Exited>> {
        let mut newly_failed = false;
        for (child, exited) in &mut self.ranks {
            if exited.is_some() {
                continue;
            }
            if let Some(s) = child.try_wait()? {
                let e = Exited {
                    code: s.code(),
                    signal: s.signal(),
                };
                *exited = Some(e);
                if !e.success() && self.failed.is_none() {
                    self.failed = Some(e);
                    newly_failed = true;
                }
            }
        }
        // One failed replica fails the step: the others would wait for it for ever.
        if newly_failed && self.ranks.len() > 1 {
            self.stop(Stop::Terminate)?;
            self.stopping = Some(Instant::now());
        }
        if self.stopping.is_some_and(|at| at.elapsed() >= RANK_GRACE) {
            self.stop(Stop::Kill)?;
            self.stopping = None;
        }
        if self.ranks.iter().any(|(_, e)| e.is_none()) {
            return Ok(None);
        }
        Ok(self.failed.or_else(|| self.ranks.first().and_then(|r| r.1)))
    }

    fn stop(&mut self, how: Stop) -> std::io::Result<()> {
        let signal = match how {
            // A local step cannot outlive mlk's process group on its own terms: detaching
            // from it ends it as a timeout does.
            Stop::Terminate | Stop::Detach => Signal::SIGTERM,
            Stop::Kill => Signal::SIGKILL,
        };
        let Some(pgid) = self.pgid else {
            return Ok(());
        };
        match killpg(Pid::from_raw(pgid), signal) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn drain(&mut self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.readers > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if self.done.1.recv_timeout(left).is_err() {
                // Something the step started in the background still holds its output open:
                // the step is over, so is its process group.
                let _ = self.stop(Stop::Kill);
                return;
            }
            self.readers -= 1;
        }
    }

    fn publish(&mut self) -> Result<(), String> {
        self.staging.first().map_or(Ok(()), Staging::publish)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_the_next_line_is_whole() {
        let text = format!("{}\nshort\nlast", "x".repeat(100));
        // A small reader buffer, so a line spans several reads.
        let mut r = BufReader::with_capacity(7, text.as_bytes());
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while let Some(cut) = read_line(&mut r, &mut buf, 10).unwrap() {
            lines.push((String::from_utf8(buf.clone()).unwrap(), cut));
        }
        assert_eq!(
            lines,
            [
                ("xxxxxxxxxx".to_owned(), true),
                ("short".to_owned(), false),
                ("last".to_owned(), false)
            ]
        );
    }
}
