//! Following the logs of a step: every container of every pod, across dropped connections,
//! container restarts and pod replacements.
//!
//! Streams are read with `timestamps=true`. When one ends before its pod is done it is
//! reopened with `sinceTime` (whole seconds, so the kubelet sends part of the last second
//! again), and lines at or before the newest timestamp already printed are dropped, so no
//! line is lost or printed twice.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use tokio::task::AbortHandle;

use super::backend::{POLL, lock};
use super::retry;
use crate::exec::{LogSink, Stream};

/// Follows the logs of every container of every pod of one step.
pub(super) struct Follower {
    pub(super) pods: Api<Pod>,
    pub(super) selector: String,
    pub(super) sink: LogSink,
    pub(super) prefix_replica: bool,
    pub(super) done: Arc<AtomicBool>,
    pub(super) aborts: Arc<Mutex<Vec<AbortHandle>>>,
}

impl Follower {
    /// Follows until the step is done (`done`) and every stream it started has ended.
    pub(super) async fn run(self) {
        let mut followed = BTreeSet::new();
        let mut tasks = Vec::new();
        loop {
            // Read before listing: pods listed after the step ended are still followed once.
            let finished = self.done.load(Ordering::SeqCst);
            let lp = ListParams::default().labels(&self.selector);
            if let Ok(list) = retry(|| self.pods.list(&lp)).await {
                for pod in list.items {
                    let pod_name = pod.metadata.name.clone().unwrap_or_default();
                    let containers = pod.spec.iter().flat_map(|s| s.containers.iter());
                    for c in containers {
                        if !followed.insert((pod_name.clone(), c.name.clone())) {
                            continue;
                        }
                        let prefix = self.prefix_replica.then(|| replica(&pod_name));
                        let stream = ContainerLog {
                            pods: self.pods.clone(),
                            pod: pod_name.clone(),
                            container: c.name.clone(),
                            prefix,
                            sink: self.sink.clone(),
                        };
                        let task = tokio::spawn(stream.follow());
                        lock(&self.aborts).push(task.abort_handle());
                        tasks.push(task);
                    }
                }
            }
            if finished {
                break;
            }
            tokio::time::sleep(POLL).await;
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}

/// The replica part of a pod name: `train-master-0` → `master-0`, `prep-x7k2p` → `x7k2p`.
fn replica(pod: &str) -> String {
    for role in ["-master-", "-worker-"] {
        if let Some(i) = pod.rfind(role) {
            return pod[i + 1..].to_owned();
        }
    }
    pod.rsplit('-').next().unwrap_or(pod).to_owned()
}

/// One container's log, followed across dropped connections and restarts.
struct ContainerLog {
    pods: Api<Pod>,
    pod: String,
    container: String,
    prefix: Option<String>,
    sink: LogSink,
}

/// Lines already printed: the newest timestamp, and the lines printed at exactly it.
#[derive(Default)]
struct Printed {
    last: Option<DateTime<Utc>>,
    at_last: BTreeSet<String>,
}

impl Printed {
    /// Whether a line stamped `at` is new; records it if so.
    fn admit(&mut self, at: DateTime<Utc>, text: &str) -> bool {
        match self.last {
            Some(last) if at < last => false,
            Some(last) if at == last => self.at_last.insert(text.to_owned()),
            _ => {
                self.last = Some(at);
                self.at_last.clear();
                self.at_last.insert(text.to_owned());
                true
            }
        }
    }
}

impl ContainerLog {
    async fn follow(self) {
        let mut printed = Printed::default();
        let mut idle = 0u32;
        loop {
            let follow = self.read(&mut printed, true).await;
            // The stream ended: finished container, dropped connection, or not started yet.
            match self.pods.get_opt(&self.pod).await {
                Ok(None) => return,
                Ok(Some(p)) if finished(&p, &self.container) => {
                    // Whatever a dropped stream missed before the end.
                    let _ = self.read(&mut printed, false).await;
                    return;
                }
                _ => {}
            }
            if follow.is_err() {
                idle = (idle + 1).min(8);
                tokio::time::sleep(POLL * idle).await;
            } else {
                idle = 0;
                tokio::time::sleep(POLL / 5).await;
            }
        }
    }

    /// Reads from just after the last printed line; `Err` when the stream did not open.
    async fn read(&self, printed: &mut Printed, follow: bool) -> Result<(), ()> {
        let lp = LogParams {
            container: Some(self.container.clone()),
            follow,
            timestamps: true,
            since_time: printed.last,
            ..LogParams::default()
        };
        let stream = self.pods.log_stream(&self.pod, &lp).await.map_err(|_| ())?;
        let mut lines = stream.lines();
        while let Some(Ok(raw)) = lines.next().await {
            let (stamp, text) = raw.split_once(' ').unwrap_or((raw.as_str(), ""));
            let Ok(at) = DateTime::parse_from_rfc3339(stamp) else {
                self.deliver(&raw);
                continue;
            };
            if printed.admit(at.with_timezone(&Utc), text) {
                self.deliver(text);
            }
        }
        Ok(())
    }

    fn deliver(&self, text: &str) {
        match &self.prefix {
            Some(p) => self.sink.line(Stream::Stdout, &format!("[{p}] {text}")),
            None => self.sink.line(Stream::Stdout, text),
        }
    }
}

/// Whether `container` of `pod` has ended for good (the pod is done).
fn finished(pod: &Pod, container: &str) -> bool {
    let Some(status) = &pod.status else {
        return false;
    };
    if matches!(status.phase.as_deref(), Some("Succeeded" | "Failed")) {
        return true;
    }
    let _ = container;
    false
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn printed_lines_are_admitted_once() {
        let at = |n: u32| DateTime::from_timestamp(1_800_000_000, n).unwrap();
        let mut p = Printed::default();
        assert!(p.admit(at(1), "a"));
        assert!(p.admit(at(2), "b"));
        assert!(p.admit(at(2), "c"), "same stamp, other text");
        // A reopened stream starts over at the second.
        assert!(!p.admit(at(1), "a"));
        assert!(!p.admit(at(2), "b"));
        assert!(!p.admit(at(2), "c"));
        assert!(p.admit(at(3), "d"));
    }

    #[test]
    fn replica_names() {
        assert_eq!(replica("t-train-1a2b-master-0"), "master-0");
        assert_eq!(replica("t-train-1a2b-worker-12"), "worker-12");
        assert_eq!(replica("t-prep-29d11c27-x7k2p"), "x7k2p");
    }
}
