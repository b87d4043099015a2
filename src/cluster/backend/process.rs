//! [`KubeProcess`]: one running attempt of a step on the cluster, judged from its workload
//! as [`super::workload`] last saw it (done or failed by [`outcome`]) and, while it is not
//! done, from the step's pods as the log follower's pod watch last saw them (why nothing
//! runs yet, by [`pending_reason`], or Kueue's why-pending message while it is suspended).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use serde_json::Value;
use tokio::task::AbortHandle;

use super::workload::{Latest, Workload};
use crate::cluster::pods::Seen;
use crate::cluster::wait::{
    Fatal, PULL_LIMIT, kueue_reason, not_running, outcome, pending_reason, started, suspended,
};
use crate::cluster::{Cluster, POLL, error_chain, lock, retry};
use crate::exec::{Exited, LogSink, Process, Stop, Stream};
use crate::labels;

/// One running attempt of a step on the cluster.
pub(super) struct KubeProcess {
    pub(super) cluster: Arc<Cluster>,
    pub(super) api: Api<DynamicObject>,
    pub(super) pods: Api<Pod>,
    pub(super) kind: String,
    pub(super) name: String,
    pub(super) selector: String,
    pub(super) sink: LogSink,
    pub(super) next_poll: Instant,
    pub(super) pull_failing_since: Option<Instant>,
    pub(super) reason: Option<String>,
    /// Set when the step is done: the log follower stops looking for new pods.
    pub(super) done: Arc<AtomicBool>,
    /// The log follower.
    pub(super) task: Option<tokio::task::JoinHandle<()>>,
    pub(super) aborts: Arc<Mutex<Vec<AbortHandle>>>,
    /// Stopped: detached (signal 2: no longer watched, left running) or terminated
    /// (signal 15: deleted).
    pub(super) stopped: Option<i32>,
    /// The workload as its watch last saw it.
    pub(super) latest: Latest,
    pub(super) watcher: AbortHandle,
    /// The step's pods, kept up to date by the log follower's pod watch.
    pub(super) seen: Seen,
    /// Kueue's Workloads and the workload's uid: where to read why it is suspended.
    pub(super) kueue: Option<(Api<DynamicObject>, String)>,
    /// Looks while suspended (Kueue's Workload is read every fourth).
    pub(super) polls: u32,
    /// `--keep-failed`: the workload of a failed attempt is left, not deleted.
    pub(super) keep_failed: bool,
    /// When the attempt started, and how long it may stay not running (`pending_timeout`).
    pub(super) pending: (Instant, Option<Duration>),
    /// Whether a pod of the attempt has started.
    pub(super) started: bool,
}

impl Drop for KubeProcess {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Ended with exit code `code`.
fn exited(code: i32) -> Exited {
    Exited {
        code: Some(code),
        signal: None,
    }
}

impl KubeProcess {
    /// Deletes the workload (its pods go with it), unless `--keep-failed`: a failed attempt
    /// holds no quota and leaves nothing to clean up; its log is kept by mlk. Either way the
    /// step's log says what became of it.
    fn failed(&mut self, code: i32) -> Exited {
        if self.keep_failed {
            self.sink.line(
                Stream::Stderr,
                &format!(
                    "mlk: {} {} is kept (--keep-failed); `mlk delete RUN` deletes it",
                    self.kind, self.name
                ),
            );
            return exited(code);
        }
        let dp = DeleteParams::background();
        let note = match self
            .cluster
            .block_on(retry(|| self.api.delete(&self.name, &dp)))
        {
            Ok(_) => format!(
                "mlk: {} {} deleted (--keep-failed keeps a failed step's workload)",
                self.kind, self.name
            ),
            Err(kube::Error::Api(r)) if r.code == 404 => return exited(code),
            Err(e) => format!(
                "mlk: {} {} could not be deleted: {}",
                self.kind,
                self.name,
                error_chain(&e)
            ),
        };
        self.sink.line(Stream::Stderr, &note);
        exited(code)
    }

    /// Records why the step is not running ([`Process::pending`] shows it on the progress
    /// line); the step's log gets it too, once per change, so `mlk logs` keeps it.
    fn waiting(&mut self, reason: Option<String>) {
        if reason != self.reason {
            if let Some(r) = &reason {
                self.sink.line(Stream::Stderr, &format!("mlk: {r}"));
            }
            self.reason = reason;
        }
    }

    /// Whether the step is still not running after its `pending_timeout`: then why, said in
    /// its log, and the attempt fails.
    fn pending_too_long(&mut self, data: &Value) -> Option<Exited> {
        let pods: Vec<Pod> = lock(&self.seen).values().cloned().collect();
        self.started = self.started || started(&pods);
        let (since, limit) = self.pending;
        let limit = limit.filter(|l| !self.started && since.elapsed() >= *l)?;
        let suspended = suspended(data);
        let kueue = match &self.kueue {
            Some((api, uid)) if suspended => {
                let lp = ListParams::default()
                    .labels(&labels::selector(&[(labels::KUEUE_JOB_UID, uid)]));
                let list = self.cluster.block_on(retry(|| api.list(&lp))).ok();
                list.map(|l| !l.items.is_empty())
            }
            _ => None,
        };
        let why = not_running(&self.kind, &self.name, suspended, kueue, &pods)
            .or_else(|| self.reason.clone())
            .unwrap_or_else(|| format!("{} {} has no running pod", self.kind, self.name));
        self.sink.line(
            Stream::Stderr,
            &format!(
                "mlk: not running after {}s (pending_timeout): {why}",
                limit.as_secs()
            ),
        );
        self.reason = Some(why);
        Some(self.failed(1))
    }

    /// Why Kueue has not admitted the workload, from the Workload labelled with its uid.
    fn kueue_reason(&self) -> Option<String> {
        let (api, uid) = self.kueue.as_ref()?;
        let lp = ListParams::default().labels(&labels::selector(&[(labels::KUEUE_JOB_UID, uid)]));
        let list = self.cluster.block_on(api.list(&lp)).ok()?;
        let workload = list.items.first()?;
        let doc = serde_json::to_value(workload).ok()?;
        kueue_reason(&doc)
    }

    /// The first failed container's exit code, else 1.
    fn exit_code(&self) -> i32 {
        let lp = ListParams::default().labels(&self.selector);
        let Ok(pods) = self.cluster.block_on(self.pods.list(&lp)) else {
            return 1;
        };
        pods.items
            .iter()
            .filter_map(|p| p.status.as_ref()?.container_statuses.as_ref())
            .flatten()
            .filter_map(|c| c.state.as_ref()?.terminated.as_ref())
            .map(|t| t.exit_code)
            .find(|c| *c != 0)
            .unwrap_or(1)
    }

    /// How the workload ended, by its conditions; `None` while it has not.
    fn ended(&mut self, data: &Value) -> Option<Exited> {
        match outcome(&self.kind, data)? {
            Ok(()) => Some(exited(0)),
            Err(why) => {
                self.sink.line(
                    Stream::Stderr,
                    &format!("mlk: {} {} failed: {why}", self.kind, self.name),
                );
                let code = self.exit_code();
                Some(self.failed(code))
            }
        }
    }

    /// While the workload is suspended: Kueue's why-pending message, every fourth look.
    fn suspended(&mut self) {
        self.polls += 1;
        if self.polls % 4 == 1 {
            let why = self
                .kueue_reason()
                .unwrap_or_else(|| "waiting for Kueue admission".into());
            self.waiting(Some(format!("suspended: {why}")));
        }
    }

    /// Why the step's pods do not run yet; `Some` when that fails the step (at once, or an
    /// image pull failing for [`PULL_LIMIT`]).
    fn pods_pending(&mut self) -> Option<Exited> {
        // The pods as the log follower's watch last saw them: no request of its own.
        let pods: Vec<Pod> = lock(&self.seen).values().cloned().collect();
        let (reason, fatal) = pending_reason(&pods);
        match fatal {
            Some(Fatal::Now) => {
                self.waiting(reason);
                return Some(self.failed(1));
            }
            Some(Fatal::Pull) => {
                let since = *self.pull_failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= PULL_LIMIT {
                    self.waiting(reason);
                    self.sink.line(
                        Stream::Stderr,
                        &format!(
                            "mlk: the image could not be pulled for {}s; giving up",
                            PULL_LIMIT.as_secs()
                        ),
                    );
                    return Some(self.failed(1));
                }
            }
            None => self.pull_failing_since = None,
        }
        self.waiting(reason);
        None
    }
}

impl Process for KubeProcess {
    fn try_wait(&mut self) -> std::io::Result<Option<Exited>> {
        if let Some(signal) = self.stopped {
            return Ok(Some(Exited {
                code: None,
                signal: Some(signal),
            }));
        }
        if Instant::now() < self.next_poll {
            return Ok(None);
        }
        self.next_poll = Instant::now() + POLL;
        let data = match lock(&self.latest).clone() {
            Workload::Unseen => return Ok(None),
            Workload::Seen(data) => data,
            Workload::Deleted => {
                self.sink.line(
                    Stream::Stderr,
                    &format!("mlk: {} {} was deleted", self.kind, self.name),
                );
                return Ok(Some(exited(1)));
            }
        };
        if let Some(e) = self.ended(&data) {
            return Ok(Some(e));
        }
        if let Some(e) = self.pending_too_long(&data) {
            return Ok(Some(e));
        }
        if suspended(&data) {
            self.suspended();
            return Ok(None);
        }
        Ok(self.pods_pending())
    }

    fn stop(&mut self, how: Stop) -> std::io::Result<()> {
        if how == Stop::Detach {
            // The user decides after the run whether to delete (see `mlk run`).
            self.stopped = Some(2);
            return Ok(());
        }
        let dp = DeleteParams::background();
        match self
            .cluster
            .block_on(retry(|| self.api.delete(&self.name, &dp)))
        {
            Ok(_) => {}
            Err(kube::Error::Api(r)) if r.code == 404 => {}
            Err(e) => return Err(std::io::Error::other(error_chain(&e))),
        }
        self.stopped = Some(15);
        Ok(())
    }

    fn pending(&self) -> Option<String> {
        self.reason.clone()
    }

    fn drain(&mut self, limit: Duration) {
        self.watcher.abort();
        self.done.store(true, Ordering::SeqCst);
        if let Some(task) = self.task.take() {
            let finished = self
                .cluster
                .block_on(async { tokio::time::timeout(limit, task).await.is_ok() });
            if !finished {
                for a in lock(&self.aborts).iter() {
                    a.abort();
                }
            }
        }
    }
}
