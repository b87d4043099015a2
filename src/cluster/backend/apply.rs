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
    /// `Ok(true)`: a finished workload of the same name would be deleted and created again
    /// (as the run does); `Ok(false)`: applied; `Err`: the server's refusal.
    pub result: Result<bool, String>,
}

impl KubeBackend {
    /// Previews the objects of `steps` as the run applies them: a workload the run would
    /// replace ([`KubeBackend::stale`]) is deleted with `dryRun=All` (its pod template cannot
    /// be patched: a dry-run apply would be refused as immutable), every other object is
    /// applied with `dryRun=All`; one report per object.
    pub(crate) fn dry_run<'a>(&self, steps: impl IntoIterator<Item = &'a str>) -> Vec<ApplyReport> {
        let mut out = Vec::new();
        for step in steps {
            for m in self.manifests.get(step).into_iter().flatten() {
                let result = match self.stale(m, 1) {
                    Ok(true) => self.api(m).and_then(|api| {
                        self.cluster
                            .block_on(delete(&api, &m.name, true))
                            .map(|()| true)
                    }),
                    Ok(false) => self.cluster.block_on(self.apply(m, true)).map(|_| false),
                    Err(e) => Err(e),
                };
                out.push(ApplyReport {
                    object: format!("{}/{}", m.kind, m.name),
                    result,
                });
            }
        }
        out
    }

    /// Whether `m` exists and is a workload the run replaces rather than patches: a Job or
    /// training job (whose pod template is immutable) left by an earlier run, or by an
    /// earlier attempt (`attempt > 1`). An InferenceService is updated in place: it keeps
    /// serving. NetworkPolicies are patched.
    fn stale(&self, m: &Manifest, attempt: u32) -> Result<bool, String> {
        if matches!(m.kind.as_str(), "InferenceService" | "NetworkPolicy") {
            return Ok(false);
        }
        let api = self.api(m)?;
        match self.cluster.block_on(retry(|| api.get_opt(&m.name))) {
            Ok(Some(old)) => Ok(attempt > 1
                || old
                    .metadata
                    .labels
                    .as_ref()
                    .and_then(|l| l.get(labels::RUN))
                    != Some(&self.run_id)),
            Ok(None) => Ok(false),
            Err(e) => Err(error_chain(&e)),
        }
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
        // Objects are named by cache key: a Job (or training job) left by an earlier run or by
        // a failed attempt has an immutable pod template and a finished status, so it is
        // replaced, not patched.
        if self.stale(&workload, attempt)? {
            let api = self.api(&workload)?;
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

/// Deletes `name` (with `dryRun=All` when `dry_run`); gone already is fine.
async fn delete(api: &Api<DynamicObject>, name: &str, dry_run: bool) -> Result<(), String> {
    let dp = DeleteParams {
        dry_run,
        ..DeleteParams::background()
    };
    match retry(|| api.delete(name, &dp)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(r)) if r.code == 404 => Ok(()),
        Err(kube::Error::Api(r)) => Err(format!("{} ({} {})", r.message, r.code, r.reason)),
        Err(e) => Err(error_chain(&e)),
    }
}

/// Deletes `name` and waits (up to a minute) until it is gone.
async fn delete_and_wait(api: &Api<DynamicObject>, name: &str) -> Result<(), String> {
    delete(api, name, false).await?;
    for _ in 0..240 {
        if let Ok(None) = api.get_opt(name).await {
            return Ok(());
        }
        tokio::time::sleep(POLL).await;
    }
    Err(format!("{name} was not deleted within a minute"))
}
