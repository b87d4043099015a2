//! Following the logs of a step: every container of every pod, across dropped connections,
//! container restarts and pod replacements.
//!
//! Pods are found by [`super::pods::PodWatch`] (kube-runtime's watcher). Once the step is done
//! the pods are listed once more, so that a pod created just before the end is still
//! followed.
//!
//! Streams are read with `timestamps=true`. When one ends before its pod is done it is
//! reopened with `sinceTime` (whole seconds, so the kubelet sends part of the last second
//! again), and lines at or before the newest timestamp already printed are dropped, so no
//! line is lost or printed twice.
//!
//! A log that cannot be read is said once per container, with the reason ([`LogReport`]): an
//! error the API server answered (500 when the kubelet of the pod's node does not answer), or
//! 204 with an empty body (what it answers for a pod that is on no node). `mlk logs` that could read nothing, and was refused, fails.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::{RoundMode, Timestamp, TimestampRound, Unit};
use kube::api::{Api, ApiResource, LogParams};
use kube::client::Body;
use tokio::task::AbortHandle;

use super::lifecycle::{run_kinds, run_objects_in};
use super::pods::{PodWatch, Seen};
use super::{Cluster, ClusterError, POLL, RunObject, error_chain, lock};
use crate::exec::{LogLine, LogSink, Stream};
use crate::labels;

/// Follows the logs of every container of every pod of one step.
pub(super) struct Follower {
    pub(super) pods: Api<Pod>,
    pub(super) selector: String,
    pub(super) sink: LogSink,
    /// Lines are delivered with their pod's replica (a step with more than one pod).
    pub(super) by_replica: bool,
    pub(super) done: Arc<AtomicBool>,
    pub(super) aborts: Arc<Mutex<Vec<AbortHandle>>>,
    /// Where the step's pods are kept as they change.
    pub(super) seen: Seen,
}

/// What the readers of a step's or a run's logs got: how many lines, and why each container
/// whose log could not be read could not (`pod (container c)` → reason).
#[derive(Debug, Default)]
pub(super) struct LogReport {
    lines: AtomicUsize,
    failures: Mutex<BTreeMap<String, String>>,
}

impl LogReport {
    /// Records that the log of `pod`'s `container` could not be read; `true` the first time.
    fn failed(&self, pod: &str, container: &str, why: String) -> bool {
        let key = format!("pod {pod} (container {container})");
        let mut failures = lock(&self.failures);
        if failures.contains_key(&key) {
            return false;
        }
        failures.insert(key, why);
        true
    }
}

impl Follower {
    /// Follows until the step is done (`done`) and every stream it started has ended.
    pub(super) async fn run(self) {
        let report = Arc::new(LogReport::default());
        let watch = PodWatch {
            pods: self.pods.clone(),
            selector: self.selector.clone(),
            seen: Some(Arc::clone(&self.seen)),
        };
        follow_pods(watch, &self.done, &self.aborts, |pod, container| {
            let name = pod.metadata.name.clone().unwrap_or_default();
            ContainerLog {
                pods: self.pods.clone(),
                replica: self.by_replica.then(|| replica(&name)),
                pod: name,
                container: container.to_owned(),
                sink: self.sink.clone(),
                follow: true,
                report: Arc::clone(&report),
            }
        })
        .await;
    }
}

/// Follows every container of every pod `watch` finds until `done`, then waits for the
/// streams to end; `stream` makes the reader of one container of one pod.
async fn follow_pods(
    watch: PodWatch,
    done: &AtomicBool,
    aborts: &Mutex<Vec<AbortHandle>>,
    mut stream: impl FnMut(&Pod, &str) -> ContainerLog,
) {
    let mut followed = BTreeSet::new();
    let mut tasks = Vec::new();
    watch
        .run(done, |pod| {
            let name = pod.metadata.name.clone().unwrap_or_default();
            for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
                if followed.insert((name.clone(), c.name.clone())) {
                    let task = tokio::spawn(stream(pod, &c.name).follow());
                    lock(aborts).push(task.abort_handle());
                    tasks.push(task);
                }
            }
        })
        .await;
    for t in tasks {
        let _ = t.await;
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
    /// The replica the lines are delivered with (see [`LogLine::replica`]).
    replica: Option<String>,
    sink: LogSink,
    /// `false`: print what is there and return.
    follow: bool,
    /// Shared by the readers of one step or run.
    report: Arc<LogReport>,
}

/// Lines already printed: the newest timestamp, and the lines printed at exactly it.
#[derive(Default)]
struct Printed {
    last: Option<Timestamp>,
    at_last: BTreeSet<String>,
}

impl Printed {
    /// Whether a line stamped `at` is new; records it if so.
    fn admit(&mut self, at: Timestamp, text: &str) -> bool {
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
        if !self.follow {
            let read = self.read(&mut printed, false).await;
            let _ = self.judge(read, &printed).await;
            return;
        }
        let mut idle = 0u32;
        loop {
            let follow = self.read(&mut printed, true).await;
            let follow = self.judge(follow, &printed).await;
            // The stream ended: finished container, dropped connection, or not started yet.
            match self.pods.get_opt(&self.pod).await {
                Ok(None) => return,
                Ok(Some(p)) if finished(&p, &self.container) => {
                    // Whatever a dropped stream missed before the end.
                    let read = self.read(&mut printed, false).await;
                    let _ = self.judge(read, &printed).await;
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

    /// Says once why the log could not be read, when `read` failed or nothing was ever
    /// printed and the API server answers 204 (no kubelet). `Err` when it could not.
    async fn judge(&self, read: Result<(), String>, printed: &Printed) -> Result<(), String> {
        let read = match read {
            Ok(()) if printed.last.is_none() => match self.why_empty().await {
                Some(why) => Err(why),
                None => Ok(()),
            },
            other => other,
        };
        if let Err(why) = &read
            && self.report.failed(&self.pod, &self.container, why.clone())
        {
            self.sink.line(
                Stream::Stderr,
                &format!(
                    "mlk: cannot read the log of pod {} (container {}): {why}",
                    self.pod, self.container
                ),
            );
        }
        read
    }

    /// Why a log stream that gave nothing had nothing: `Some` when the API server answers 204
    /// with an empty body, as kube-apiserver v1.28 does for a pod on no node (a container that
    /// wrote nothing answers 200).
    async fn why_empty(&self) -> Option<String> {
        let lp = LogParams {
            container: Some(self.container.clone()),
            limit_bytes: Some(1),
            ..LogParams::default()
        };
        let request = kube::core::Request::new(self.pods.resource_url())
            .logs(&self.pod, &lp)
            .ok()?;
        let client = self.pods.clone().into_client();
        let answer = client.send(request.map(Body::from)).await.ok()?;
        (answer.status().as_u16() == 204).then(|| {
            "the API server answered 204 with no content: no kubelet serves this pod's log (is the pod on a node?)".into()
        })
    }

    /// Reads from just after the last printed line; `Err` (why) when the stream did not open.
    async fn read(&self, printed: &mut Printed, follow: bool) -> Result<(), String> {
        let lp = LogParams {
            container: Some(self.container.clone()),
            follow,
            timestamps: true,
            since_time: printed.last.map(whole_second),
            ..LogParams::default()
        };
        let stream = self
            .pods
            .log_stream(&self.pod, &lp)
            .await
            .map_err(|e| match e {
                kube::Error::Api(r) => format!("{} ({})", r.message, r.code),
                other => error_chain(&other),
            })?;
        let mut lines = stream.lines();
        while let Some(Ok(raw)) = lines.next().await {
            let (stamp, text) = raw.split_once(' ').unwrap_or((raw.as_str(), ""));
            let Ok(at) = stamp.parse::<Timestamp>() else {
                self.deliver(&raw);
                continue;
            };
            if printed.admit(at, text) {
                self.deliver(text);
            }
        }
        Ok(())
    }

    fn deliver(&self, text: &str) {
        self.report.lines.fetch_add(1, Ordering::Relaxed);
        match &self.replica {
            Some(r) => self.sink.line_from(Stream::Stdout, r, text),
            None => self.sink.line(Stream::Stdout, text),
        }
    }
}

/// `at` cut down to its second: a reopened stream starts at the beginning of the second of the
/// last printed line (kube-rs would round to the nearest second, and so could skip lines).
fn whole_second(at: Timestamp) -> Timestamp {
    let trunc = TimestampRound::new()
        .smallest(Unit::Second)
        .mode(RoundMode::Trunc);
    at.round(trunc).unwrap_or(at)
}

/// How often `mlk logs -f` looks whether the run's workloads have finished.
const OBJECTS_POLL: Duration = Duration::from_secs(2);

/// Where [`run_logs`] sends each line (with its replica for steps with more than one pod).
pub(crate) type RunLine = dyn Fn(LogLine<'_>) + Send + Sync;

/// Whether every workload of a run has finished (InferenceServices, which serve until
/// deleted, and NetworkPolicies are not waited for).
fn all_finished(objects: &[RunObject]) -> bool {
    objects
        .iter()
        .filter(|o| !matches!(o.kind.as_str(), "InferenceService" | "NetworkPolicy"))
        .all(|o| matches!(o.state.as_str(), "Complete" | "Succeeded" | "Failed"))
}

/// `mlk logs RUN [STEP]` for a cluster run: the logs of every container of every pod
/// labelled `mlk.dev/run=RUN` (and `mlk.dev/step=STEP`), each line sent to `out`. Without
/// `follow` what is there is read once, pod by pod; with it every container is followed (new
/// pods too, across dropped streams and restarts, as for `mlk run`) until every workload of
/// the run has finished (for a run handed to Argo: until its Workflow has). `Ok(false)`: the run has neither objects nor pods; an error when no
/// line could be read and some log could not ([`ClusterError::LogsUnread`]).
pub(crate) fn run_logs(
    cluster: &Cluster,
    run_id: &str,
    step: Option<&str>,
    follow: bool,
    out: Arc<RunLine>,
) -> Result<bool, ClusterError> {
    let pods: Api<Pod> = Api::namespaced(cluster.client(), &cluster.namespace);
    let mut pairs = vec![(labels::RUN, run_id)];
    if let Some(s) = step {
        pairs.push((labels::STEP, s));
    }
    let selector = labels::selector(&pairs);
    let of_step = |objects: Vec<RunObject>| -> Vec<RunObject> {
        objects
            .into_iter()
            .filter(|o| step.is_none_or(|s| o.step == s))
            .collect()
    };
    // Discovered once: following refreshes the objects by listing them only.
    let kinds = run_kinds(cluster)?;
    let objects = of_step(run_objects_in(cluster, &kinds, run_id)?);
    let watch = PodWatch {
        pods: pods.clone(),
        selector,
        seen: None,
    };
    let list = cluster
        .block_on(watch.list())
        .map_err(|e| ClusterError::from_kube(&e, "listing pods", cluster))?;
    // A run handed to Argo is its Workflow: its objects carry no run label, its pods do.
    let workflow = |c: &Cluster| super::engine::find_workflow(c, run_id).ok().flatten();
    let mut engine_going = workflow(cluster).map(|w| !w.finished());
    if objects.is_empty() && list.items.is_empty() && engine_going.is_none() {
        return Ok(false);
    }
    let objects = Arc::new(Mutex::new(objects));
    let report = Arc::new(LogReport::default());
    let stream = {
        let objects = Arc::clone(&objects);
        let report = Arc::clone(&report);
        move |pod: &Pod, container: &str| ContainerLog {
            replica: of_replica(pod, &lock(&objects)),
            ..ContainerLog::new(&pods, pod, container, Arc::clone(&out), follow, &report)
        }
    };
    if !follow {
        for pod in &list.items {
            for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
                cluster.block_on(stream(pod, &c.name).follow());
            }
        }
        return unread(&report).map(|()| true);
    }
    let done = Arc::new(AtomicBool::new(false));
    let task = cluster.rt.spawn({
        let done = Arc::clone(&done);
        async move {
            let aborts = Mutex::new(Vec::new());
            follow_pods(watch, &done, &aborts, stream).await;
        }
    });
    // The workloads' states only say when to stop: looked at every OBJECTS_POLL.
    let workloads: Vec<ApiResource> = kinds
        .into_iter()
        .filter(|k| k.kind != "NetworkPolicy")
        .collect();
    while !all_finished(&lock(&objects)) || engine_going == Some(true) {
        std::thread::sleep(OBJECTS_POLL);
        if let Ok(o) = run_objects_in(cluster, &workloads, run_id) {
            *lock(&objects) = of_step(o);
        }
        if engine_going.is_some() {
            engine_going = workflow(cluster).map(|w| !w.finished());
        }
    }
    // Pods created until now are still followed: the watch lists once more.
    done.store(true, Ordering::SeqCst);
    let _ = cluster.block_on(task);
    unread(&report).map(|()| true)
}

/// An error when the readers of a run's logs got no line and some log could not be read.
fn unread(report: &LogReport) -> Result<(), ClusterError> {
    let failures = lock(&report.failures);
    if report.lines.load(Ordering::Relaxed) > 0 || failures.is_empty() {
        return Ok(());
    }
    Err(ClusterError::LogsUnread {
        failures: failures
            .iter()
            .map(|(log, why)| format!("{log}: {why}"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

impl ContainerLog {
    /// The log of `container` of `pod` of a run, its lines sent to `out` (without a replica).
    fn new(
        pods: &Api<Pod>,
        pod: &Pod,
        container: &str,
        out: Arc<RunLine>,
        follow: bool,
        report: &Arc<LogReport>,
    ) -> Self {
        let step = step_of(pod).to_owned();
        ContainerLog {
            pods: pods.clone(),
            pod: pod.metadata.name.clone().unwrap_or_default(),
            container: container.to_owned(),
            replica: None,
            sink: LogSink::new(&step, move |_, line| out(line)),
            follow,
            report: Arc::clone(report),
        }
    }
}

/// The step of a pod of a run, from its `mlk.dev/step` label.
fn step_of(pod: &Pod) -> &str {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(labels::STEP))
        .map_or("", String::as_str)
}

/// The replica `pod`'s lines are shown with, when its step has more than one pod (as the
/// run's `objects` say, else as the pod's name says).
fn of_replica(pod: &Pod, objects: &[RunObject]) -> Option<String> {
    let name = pod.metadata.name.as_deref().unwrap_or_default();
    let step = step_of(pod);
    let multi = if objects.iter().any(|o| o.step == step) {
        objects.iter().any(|o| o.step == step && o.multi_pod)
    } else {
        // The workload is gone: PyTorch pods are named by their replica.
        name.contains("-master-") || name.contains("-worker-")
    };
    multi.then(|| replica(name))
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
        let at = |n: i32| Timestamp::new(1_800_000_000, n).unwrap();
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
    fn reopened_streams_start_at_the_second_of_the_last_line() {
        let at: Timestamp = "2027-01-01T12:00:00.7Z".parse().unwrap();
        assert_eq!(whole_second(at).to_string(), "2027-01-01T12:00:00Z");
    }

    #[test]
    fn replica_names() {
        assert_eq!(replica("t-train-1a2b-master-0"), "master-0");
        assert_eq!(replica("t-train-1a2b-worker-12"), "worker-12");
        assert_eq!(replica("t-prep-29d11c27-x7k2p"), "x7k2p");
    }
}
