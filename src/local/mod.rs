//! The local-process backend: every step's command as a process on this machine.
//!
//! A step runs in the pipeline file's directory, in its own process group (so a timeout or a
//! second Ctrl-C stops everything it started, and the terminal's Ctrl-C reaches mlk only),
//! with mlk's environment, the step's variables (see [`mod@env`] for secrets), and `MLK_RUN_ID`,
//! `MLK_STEP`, `MLK_PIPELINE` and, with a checkpoint, `MLK_CHECKPOINT_DIR` (a directory under
//! `.mlk/checkpoints/` that every attempt of the same work shares). PersistentVolumeClaims
//! (`volumes`) are a cluster's: they are not mounted here. Serve steps are skipped: there is no model server locally.
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
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::Sender;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::domain::StepKind;
use crate::exec::{Backend, Claim, Lease, LogSink, Process, Stop, Stream};
use crate::resolve::Step;

pub(crate) use env::MissingEnv;
use gpu::{Gpus, Machine};
use ranks::{LocalProcess, Rank};
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
    /// `mlk launch --store …`: what wraps the command of a step whose bytes the launcher
    /// moves (a stack whose artifacts are in an object store); `None` on a local store.
    launcher: Option<Vec<String>>,
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
            launcher: None,
        }
    }

    /// Wraps the commands of steps whose bytes move through `stack`'s object store in this
    /// binary's launcher (`mlk launch`), as pods do.
    pub(crate) fn with_launcher(
        mut self,
        stack: &crate::resolve::StackInfo,
    ) -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut l = vec![exe.to_string_lossy().into_owned(), "launch".to_owned()];
        l.extend(crate::launch::store_args(stack, None));
        self.launcher = Some(l);
        Ok(self)
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
        // The checkpoint directory (under `.mlk/` in the current directory, like all of mlk's
        // state) outlives the attempt: the next one finds its files.
        if let Some(c) = &step.checkpoint {
            let dir = Path::new(c);
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("creating the checkpoint directory {}: {e}", dir.display()))?;
        }
        let mut group = LocalProcess::new();
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
        let mut command = staging.rewrite_all(&step.command);
        if let (true, Some(launcher)) = (step.data.launcher, &self.launcher) {
            let mut wrapped = launcher.clone();
            wrapped.extend(crate::launch::step_args(step));
            wrapped.push("--".into());
            wrapped.append(&mut command);
            command = wrapped;
        }
        let Some((program, args)) = command.split_first() else {
            return Err("the step has no command".into());
        };
        let vars = vars.iter().map(|(k, v)| (k, staging.rewrite(v)));
        let mut command = Command::new(program);
        if let Some(c) = &step.checkpoint
            && !step.env.contains_key(crate::resolve::CHECKPOINT_ENV)
        {
            let dir =
                std::path::absolute(c).map_err(|e| format!("checkpoint directory {c}: {e}"))?;
            command.env(crate::resolve::CHECKPOINT_ENV, dir);
        }
        let mut child = command
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
