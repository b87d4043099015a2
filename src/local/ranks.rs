//! The processes of one attempt: one for a job step, `replicas` for a PyTorch step, each
//! with its GPUs ([`super::gpu::Gpus::env`]) and, for PyTorch, the environment a
//! PyTorchJob's pods get and `torch.distributed`'s `env://` start-up reads: `MASTER_ADDR =
//! 127.0.0.1`, `MASTER_PORT` (a free port), `WORLD_SIZE`, `RANK`, `LOCAL_RANK`,
//! `LOCAL_WORLD_SIZE`. Each replica is one process (`nproc_per_node` is the cluster's); its
//! log lines carry `rank-N` as their replica. The processes share one process group
//! ([`LocalProcess`]): the first that fails ends the attempt and stops the others, and only
//! rank 0's outputs are published.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::process::Child;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::staging::Staging;
use crate::exec::{Exited, Process, Stop};

use crate::domain::StepKind;
use crate::resolve::Step;

/// What one process of an attempt gets besides the step's own environment.
pub(crate) struct Rank {
    /// Its replica name in log lines (`rank-1`), for a step with several.
    pub replica: Option<String>,
    /// GPU and torchrun variables.
    pub env: BTreeMap<String, String>,
}

/// The processes of an attempt of `step`, given each replica's GPU variables (`gpu_env`,
/// one map per replica, or one for a step without replicas).
pub(crate) fn ranks(
    step: &Step,
    gpu_env: Vec<BTreeMap<String, String>>,
) -> Result<Vec<Rank>, String> {
    let pytorch = step.kind == StepKind::Pytorch;
    let n = if pytorch {
        step.replicas.max(1) as usize
    } else {
        1
    };
    let mut envs = gpu_env;
    envs.resize(n, BTreeMap::new());
    if pytorch {
        let port = free_port()?;
        for (rank, env) in envs.iter_mut().enumerate() {
            for (k, v) in [
                ("MASTER_ADDR", "127.0.0.1".to_owned()),
                ("MASTER_PORT", port.to_string()),
                ("WORLD_SIZE", n.to_string()),
                ("LOCAL_WORLD_SIZE", n.to_string()),
                ("RANK", rank.to_string()),
                ("LOCAL_RANK", rank.to_string()),
            ] {
                env.insert(k.into(), v);
            }
        }
    }
    Ok(envs
        .into_iter()
        .enumerate()
        .map(|(rank, env)| Rank {
            replica: (n > 1).then(|| format!("rank-{rank}")),
            env,
        })
        .collect())
}

/// A port on 127.0.0.1 that nothing listens on now (rank 0 binds it soon after).
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1 for MASTER_PORT: {e}"))
}

/// The processes of one attempt, in one process group.
pub(crate) struct LocalProcess {
    /// Each process, and how it ended once it has.
    pub(super) ranks: Vec<(Child, Option<Exited>)>,
    /// The group: the first process's id.
    pub(super) pgid: Option<i32>,
    /// Each output reader says here when its stream ends.
    pub(super) done: (Sender<()>, Receiver<()>),
    pub(super) readers: usize,
    /// Where each process's outputs are written until rank 0's are published.
    pub(super) staging: Vec<Staging>,
    /// The first process that failed: the attempt's end.
    failed: Option<Exited>,
    /// When the others were asked to stop because one failed; they are killed after
    /// [`RANK_GRACE`].
    stopping: Option<Instant>,
}

impl LocalProcess {
    /// No process yet.
    pub(super) fn new() -> Self {
        LocalProcess {
            ranks: Vec::new(),
            pgid: None,
            done: std::sync::mpsc::channel(),
            readers: 0,
            staging: Vec::new(),
            failed: None,
            stopping: None,
        }
    }
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
