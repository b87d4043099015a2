//! Applying a step's objects: server-side apply with mlk's field manager and strict field
//! validation (also as `--dry-run=server`), and replacing a finished workload of the same
//! name before a new run or attempt.

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::Value;

use super::KubeBackend;
use crate::cluster::{POLL, error_chain, retry};
use crate::labels;
use crate::render::Manifest;
use crate::resolve::Step;

/// The field manager of every apply.
pub(crate) const FIELD_MANAGER: &str = "mlk";

/// What the API server said about one object of a `--dry-run=server`.
#[derive(Debug, Clone)]
pub(crate) struct ApplyReport {
    /// `Kind/name`.
    pub object: String,
    /// `Ok` or the server's refusal.
    pub result: Result<(), String>,
}

impl KubeBackend {
    /// Applies the objects of `steps` with `dryRun=All`; one report per object.
    pub(crate) fn dry_run<'a>(&self, steps: impl IntoIterator<Item = &'a str>) -> Vec<ApplyReport> {
        let mut out = Vec::new();
        for step in steps {
            for m in self.manifests.get(step).into_iter().flatten() {
                let result = self.cluster.block_on(self.apply(m, true)).map(|_| ());
                out.push(ApplyReport {
                    object: format!("{}/{}", m.kind, m.name),
                    result,
                });
            }
        }
        out
    }

    pub(super) fn api(&self, m: &Manifest) -> Result<Api<DynamicObject>, String> {
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
    pub(super) fn submit(
        &self,
        step: &Step,
        attempt: u32,
    ) -> Result<(Manifest, Option<String>), String> {
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
                        .and_then(|l| l.get(labels::RUN))
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
}

/// Deletes `name` and waits (up to a minute) until it is gone.
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
