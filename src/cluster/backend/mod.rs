//! [`KubeBackend`]: runs a step as Kubernetes objects. Starting an attempt applies the
//! step's objects ([`apply`]: server-side apply), starts watching its workload
//! ([`workload`]: kube-runtime's watcher) and following the logs of every one of its pods
//! ([`super::logs`]); the attempt is then a [`process::KubeProcess`], which judges the
//! workload and the pods until the step is done. A failed attempt's workload (pods with it)
//! is deleted, whatever the failure, unless `--keep-failed` leaves it.

mod apply;
mod process;
mod workload;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject};

pub(super) use apply::FIELD_MANAGER;
use process::KubeProcess;
use workload::watch_workload;

use super::logs::Follower;
use super::preflight::Resources;
use super::{Cluster, lock};
use crate::domain::StepKind;
use crate::exec::{Backend, LogSink, Process};
use crate::labels;
use crate::render::Manifest;
use crate::resolve::Step;

/// Runs steps as Kubernetes objects.
pub(crate) struct KubeBackend {
    cluster: Arc<Cluster>,
    resources: Resources,
    manifests: BTreeMap<String, Vec<Manifest>>,
    pipeline: String,
    run_id: String,
    /// `--keep-failed`: a failed step's workload is left for inspection, not deleted.
    keep_failed: bool,
}

impl KubeBackend {
    /// A backend applying `manifests` (rendered with the run id) to `cluster`.
    pub(crate) fn new(
        cluster: Arc<Cluster>,
        resources: Resources,
        manifests: Vec<Manifest>,
        pipeline: &str,
        run_id: &str,
        keep_failed: bool,
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
            keep_failed,
        }
    }

    /// The connection.
    pub(crate) fn cluster(&self) -> Arc<Cluster> {
        Arc::clone(&self.cluster)
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
        labels::selector(&[
            (labels::PIPELINE, &self.pipeline),
            (labels::STEP, &step.name),
            (labels::RUN, &self.run_id),
        ])
    }
}

impl Backend for KubeBackend {
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
            by_replica: step.replicas > 1 || step.kind == StepKind::Pytorch,
            done: Arc::clone(&done),
            aborts: Arc::clone(&aborts),
            seen: Arc::clone(&seen),
        };
        let task = self.cluster.rt.spawn(follower.run());
        lock(&aborts).push(task.abort_handle());
        let latest = Arc::default();
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
            keep_failed: self.keep_failed,
            pending: (
                Instant::now(),
                step.pending_timeout_seconds.map(Duration::from_secs),
            ),
            started: false,
        }))
    }
}
