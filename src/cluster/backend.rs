//! [`KubeBackend`]: a step's objects applied with server-side apply, its workload watched
//! until its conditions say it is done, and the logs of every one of its pods followed.
//!
//! Waiting watches the workload (get, then watch from its resourceVersion; an expired watch
//! starts over with a get) and, while it is not done, looks at the step's pods as the log
//! follower's pod watch last saw them to say why nothing runs yet; a failed request is only
//! retried later, never a step failure. Logs are followed
//! by [`super::logs`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, WatchEvent, WatchParams,
};
use serde_json::Value;
use tokio::task::AbortHandle;

use super::logs::Follower;
use super::pods::Seen;
use super::preflight::Resources;
use super::wait::{Fatal, kueue_reason, outcome, pending_reason, suspended};
use super::{Cluster, error_chain, retry};
use crate::exec::{Backend, Exited, LogSink, Process, Stop, Stream};
use crate::load::StepKind;
use crate::render::Manifest;
use crate::resolve::Step;

/// The field manager of every apply.
pub const FIELD_MANAGER: &str = "mlk";

/// Time between two looks at a running step.
pub(super) const POLL: Duration = Duration::from_millis(250);

/// The key of the value [`watch_workload`] stores when the workload is gone.
const DELETED: &str = "mlk:deleted";

/// How long an image pull may keep failing before the step fails.
const PULL_LIMIT: Duration = Duration::from_secs(60);

/// Runs steps as Kubernetes objects.
pub struct KubeBackend {
    cluster: Arc<Cluster>,
    resources: Resources,
    manifests: BTreeMap<String, Vec<Manifest>>,
    pipeline: String,
    run_id: String,
}

/// What the API server said about one object of a `--dry-run=server`.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// The step.
    pub step: String,
    /// `Kind/name`.
    pub object: String,
    /// `Ok` or the server's refusal.
    pub result: Result<(), String>,
}

impl KubeBackend {
    /// A backend applying `manifests` (rendered with the run id) to `cluster`.
    pub fn new(
        cluster: Arc<Cluster>,
        resources: Resources,
        manifests: Vec<Manifest>,
        pipeline: &str,
        run_id: &str,
    ) -> Self {
        let mut by_step: BTreeMap<String, Vec<Manifest>> = BTreeMap::new();
        for m in manifests {
            by_step
                .entry(m.step.clone().unwrap_or_default())
                .or_default()
                .push(m);
        }
        KubeBackend {
            cluster,
            resources,
            manifests: by_step,
            pipeline: pipeline.into(),
            run_id: run_id.into(),
        }
    }

    /// The connection.
    pub fn cluster(&self) -> Arc<Cluster> {
        Arc::clone(&self.cluster)
    }

    /// Applies the objects of `steps` with `dryRun=All`; one report per object.
    pub fn dry_run<'a>(&self, steps: impl IntoIterator<Item = &'a str>) -> Vec<ApplyReport> {
        let mut out = Vec::new();
        for step in steps {
            for m in self.manifests.get(step).into_iter().flatten() {
                let result = self.cluster.block_on(self.apply(m, true)).map(|_| ());
                out.push(ApplyReport {
                    step: step.into(),
                    object: format!("{}/{}", m.kind, m.name),
                    result,
                });
            }
        }
        out
    }

    fn api(&self, m: &Manifest) -> Result<Api<DynamicObject>, String> {
        let ar = self
            .resources
            .get(&(m.api_version.clone(), m.kind.clone()))
            .ok_or_else(|| format!("{} {} was not discovered", m.api_version, m.kind))?;
        Ok(Api::namespaced_with(
            self.cluster.client(),
            &self.cluster.namespace,
            ar,
        ))
    }

    /// Server-side apply of one object (strict field validation), retrying transient errors.
    async fn apply(&self, m: &Manifest, dry_run: bool) -> Result<DynamicObject, String> {
        let api = self.api(m)?;
        let mut doc: Value = serde_yaml::from_str(&m.yaml).map_err(|e| e.to_string())?;
        if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("namespace".into(), self.cluster.namespace.clone().into());
        }
        let mut params = PatchParams::apply(FIELD_MANAGER).validation_strict();
        if dry_run {
            params = params.dry_run();
        }
        let patch = Patch::Apply(&doc);
        retry(|| api.patch(&m.name, &params, &patch))
            .await
            .map_err(|e| match e {
                kube::Error::Api(r) => format!("{} ({} {})", r.message, r.code, r.reason),
                other => error_chain(&other),
            })
    }

    /// Applies the objects of one step (replacing a finished workload of the same name);
    /// returns its workload, and the uid the API server gave it.
    fn submit(&self, step: &Step, attempt: u32) -> Result<(Manifest, Option<String>), String> {
        let manifests = self.manifests.get(&step.name).cloned().unwrap_or_default();
        let workload = manifests
            .iter()
            .rev()
            .find(|m| m.kind != "NetworkPolicy")
            .cloned()
            .ok_or("the step rendered no workload")?;
        let api = self.api(&workload)?;
        // Objects are named by cache key: a Job (or training job) left by an earlier run or by
        // a failed attempt has an immutable pod template and a finished status, so it is
        // replaced, not patched. An InferenceService is updated in place: it keeps serving.
        let replaceable = workload.kind != "InferenceService";
        let stale = match self.cluster.block_on(retry(|| api.get_opt(&workload.name))) {
            Ok(Some(_)) if !replaceable => false,
            Ok(Some(old)) => {
                attempt > 1
                    || old
                        .metadata
                        .labels
                        .as_ref()
                        .and_then(|l| l.get("mlk.dev/run"))
                        != Some(&self.run_id)
            }
            Ok(None) => false,
            Err(e) => return Err(error_chain(&e)),
        };
        if stale {
            self.cluster
                .block_on(delete_and_wait(&api, &workload.name))?;
        }
        let mut uid = None;
        for m in &manifests {
            let applied = self.cluster.block_on(self.apply(m, false))?;
            if m.kind == workload.kind && m.name == workload.name {
                uid = applied.metadata.uid;
            }
        }
        Ok((workload, uid))
    }

    /// Kueue's Workloads in the namespace, when the stack's scheduler is Kueue.
    fn kueue_workloads(&self) -> Option<Api<DynamicObject>> {
        let ar = self
            .resources
            .iter()
            .find(|((v, kind), _)| kind == "Workload" && v.starts_with("kueue.x-k8s.io/"))?
            .1;
        Some(Api::namespaced_with(
            self.cluster.client(),
            &self.cluster.namespace,
            ar,
        ))
    }

    fn selector(&self, step: &Step) -> String {
        format!(
            "mlk.dev/pipeline={},mlk.dev/step={},mlk.dev/run={}",
            self.pipeline, step.name, self.run_id
        )
    }
}

impl Backend for KubeBackend {
    fn outputs_present(&self, _outputs: &BTreeMap<String, String>) -> bool {
        // Outputs live in object storage, which mlk does not read.
        true
    }

    fn start(&self, step: &Step, attempt: u32, logs: LogSink) -> Result<Box<dyn Process>, String> {
        let (workload, uid) = self.submit(step, attempt)?;
        let kueue = self.kueue_workloads().zip(uid);
        let api = self.api(&workload)?;
        let done = Arc::new(AtomicBool::new(false));
        let aborts = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(Mutex::new(BTreeMap::new()));
        let follower = Follower {
            pods: Api::namespaced(self.cluster.client(), &self.cluster.namespace),
            selector: self.selector(step),
            sink: logs.clone(),
            prefix_replica: step.replicas > 1 || step.kind == StepKind::Pytorch,
            done: Arc::clone(&done),
            aborts: Arc::clone(&aborts),
            seen: Arc::clone(&seen),
        };
        let task = self.cluster.rt.spawn(follower.run());
        lock(&aborts).push(task.abort_handle());
        let latest = Arc::new(Mutex::new(None));
        let watcher = self
            .cluster
            .rt
            .spawn(watch_workload(
                api.clone(),
                workload.name.clone(),
                Arc::clone(&latest),
            ))
            .abort_handle();
        Ok(Box::new(KubeProcess {
            cluster: Arc::clone(&self.cluster),
            api,
            pods: Api::namespaced(self.cluster.client(), &self.cluster.namespace),
            kind: workload.kind,
            name: workload.name,
            selector: self.selector(step),
            sink: logs,
            next_poll: Instant::now(),
            pull_failing_since: None,
            reason: None,
            done,
            task: Some(task),
            aborts,
            stopped: None,
            latest,
            watcher,
            seen,
            kueue,
            polls: 0,
        }))
    }
}

async fn delete_and_wait(api: &Api<DynamicObject>, name: &str) -> Result<(), String> {
    let dp = DeleteParams::background();
    match retry(|| api.delete(name, &dp)).await {
        Ok(_) => {}
        Err(kube::Error::Api(r)) if r.code == 404 => return Ok(()),
        Err(e) => return Err(error_chain(&e)),
    }
    for _ in 0..240 {
        if let Ok(None) = api.get_opt(name).await {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!("{name} was not deleted within a minute"))
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

struct KubeProcess {
    cluster: Arc<Cluster>,
    api: Api<DynamicObject>,
    pods: Api<Pod>,
    kind: String,
    name: String,
    selector: String,
    sink: LogSink,
    next_poll: Instant,
    pull_failing_since: Option<Instant>,
    reason: Option<String>,
    done: Arc<AtomicBool>,
    task: Option<tokio::task::JoinHandle<()>>,
    aborts: Arc<Mutex<Vec<AbortHandle>>>,
    /// Stopped: detached (signal 2: no longer watched, left running) or terminated
    /// (signal 15: deleted).
    stopped: Option<i32>,
    /// The workload as last seen by [`watch_workload`] (without `metadata`).
    latest: Arc<Mutex<Option<Value>>>,
    watcher: AbortHandle,
    /// The step's pods, kept up to date by the log follower's pod watch.
    seen: Seen,
    /// Kueue's Workloads and the workload's uid: where to read why it is suspended.
    kueue: Option<(Api<DynamicObject>, String)>,
    /// Looks while suspended (Kueue's Workload is read every fourth).
    polls: u32,
}

impl Drop for KubeProcess {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// Keeps `latest` up to date: get, then watch from its resourceVersion; a watch that ends is
/// resumed from the last version seen, one that expired (410 Gone) or failed starts over with
/// a get. Errors only delay the next look.
async fn watch_workload(api: Api<DynamicObject>, name: String, latest: Arc<Mutex<Option<Value>>>) {
    let wp = WatchParams::default()
        .fields(&format!("metadata.name={name}"))
        .timeout(290);
    loop {
        let mut version = match api.get_opt(&name).await {
            Ok(Some(o)) => {
                let v = o.metadata.resource_version.clone().unwrap_or_default();
                *lock(&latest) = Some(o.data);
                v
            }
            Ok(None) => {
                *lock(&latest) = Some(serde_json::json!({DELETED: true}));
                return;
            }
            Err(_) => {
                tokio::time::sleep(POLL).await;
                continue;
            }
        };
        'watch: loop {
            let Ok(stream) = api.watch(&wp, &version).await else {
                break 'watch;
            };
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(WatchEvent::Added(o) | WatchEvent::Modified(o)) => {
                        version = o.metadata.resource_version.clone().unwrap_or(version);
                        *lock(&latest) = Some(o.data);
                    }
                    Ok(WatchEvent::Bookmark(b)) => version = b.metadata.resource_version,
                    Ok(WatchEvent::Deleted(_)) => {
                        *lock(&latest) = Some(serde_json::json!({DELETED: true}));
                        return;
                    }
                    // 410 Gone (the version is too old) or any other error: get again.
                    Ok(WatchEvent::Error(_)) | Err(_) => break 'watch,
                }
            }
        }
        tokio::time::sleep(POLL).await;
    }
}

impl KubeProcess {
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

    /// Why Kueue has not admitted the workload, from the Workload labelled with its uid.
    fn kueue_reason(&self) -> Option<String> {
        let (api, uid) = self.kueue.as_ref()?;
        let lp = ListParams::default().labels(&format!("kueue.x-k8s.io/job-uid={uid}"));
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
        let Some(data) = lock(&self.latest).clone() else {
            return Ok(None);
        };
        if data.get(DELETED).is_some() {
            self.sink.line(
                Stream::Stderr,
                &format!("mlk: {} {} was deleted", self.kind, self.name),
            );
            return Ok(Some(Exited {
                code: Some(1),
                signal: None,
            }));
        }
        match outcome(&self.kind, &data) {
            Some(Ok(())) => {
                return Ok(Some(Exited {
                    code: Some(0),
                    signal: None,
                }));
            }
            Some(Err(why)) => {
                self.sink.line(
                    Stream::Stderr,
                    &format!("mlk: {} {} failed: {why}", self.kind, self.name),
                );
                let code = self.exit_code();
                return Ok(Some(Exited {
                    code: Some(code),
                    signal: None,
                }));
            }
            None => {}
        }
        if suspended(&data) {
            self.polls += 1;
            if self.polls % 4 == 1 {
                let why = self
                    .kueue_reason()
                    .unwrap_or_else(|| "waiting for Kueue admission".into());
                self.waiting(Some(format!("suspended: {why}")));
            }
            return Ok(None);
        }
        // The pods as the log follower's watch last saw them: no request of its own.
        let pods: Vec<Pod> = lock(&self.seen).values().cloned().collect();
        let (reason, fatal) = pending_reason(&pods);
        match fatal {
            Some(Fatal::Now) => {
                self.waiting(reason);
                return Ok(Some(Exited {
                    code: Some(1),
                    signal: None,
                }));
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
                    return Ok(Some(Exited {
                        code: Some(1),
                        signal: None,
                    }));
                }
            }
            None => self.pull_failing_since = None,
        }
        self.waiting(reason);
        Ok(None)
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
