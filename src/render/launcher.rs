//! The launcher in a step's pods: how the mlk binary gets there, the volumes it works in, and
//! the main container's command wrapped in `mlk launch … -- COMMAND`.
//!
//! Jobs and PyTorchJobs get the binary from an init container that runs the stack's
//! `launcher_image` and copies it into an emptyDir. A TrainJob cannot add an init container
//! (Trainer v2.3's runtime patches carry no image), so its pods mount the launcher image
//! itself as an image volume (Kubernetes 1.33+, the `ImageVolume` feature). A `pvc://` store's
//! claim is mounted at `/mlk/store` in every pod that reads or writes it.

use serde_json::{Value, json};

use crate::domain::{CacheStore, Engine, StepKind, StoreKind, TrainingApi};
use crate::resolve::data::{POD_LAUNCHER, POD_ROOT, POD_STORE};
use crate::resolve::{Plan, Step};

/// When the run started, as the engine fills it in: the Workflow's creation time (RFC 3339,
/// UTC). Every step of a run reads the same one, so they agree on the run's date.
const RUN_TIME: &str = "{{workflow.creationTimestamp}}";

/// The volume the launcher keeps the binary and the step's data in.
const DATA_VOLUME: &str = "mlk";

/// The volume of a `pvc://` store's claim.
const STORE_VOLUME: &str = "mlk-store";

/// A TrainJob's image volume holding the launcher image.
const IMAGE_VOLUME: &str = "mlk-launcher";

/// Where a TrainJob's pods mount the launcher image.
const IMAGE_MOUNT: &str = "/mlk/image";

/// Where the static binary is inside the launcher image (see the Dockerfile).
pub(super) const IMAGE_BINARY: &str = "/usr/local/bin/mlk";

/// Whether the step's pods come from a TrainJob (which mounts the launcher image).
fn is_trainjob(plan: &Plan, step: &Step) -> bool {
    step.kind == StepKind::Pytorch && plan.stack.training_api == TrainingApi::Trainjob
}

/// Whether the step's pods mount the `pvc://` store's claim: every pod of a step on such a
/// store (a serve step's model is read by KServe's storage initializer instead).
fn mounts_store(plan: &Plan, step: &Step) -> bool {
    matches!(plan.stack.artifacts_kind, StoreKind::Pvc { .. }) && step.kind != StepKind::Serve
}

/// The launcher binary's path in the step's pods.
fn binary(plan: &Plan, step: &Step) -> String {
    if is_trainjob(plan, step) {
        format!("{IMAGE_MOUNT}{IMAGE_BINARY}")
    } else {
        POD_LAUNCHER.to_owned()
    }
}

/// The main container's command: the step's own, or wrapped in `mlk launch`.
pub(super) fn command(plan: &Plan, step: &Step) -> Vec<String> {
    if !step.data.launcher {
        return step.command.clone();
    }
    let mut c = vec![binary(plan, step), "launch".into()];
    c.extend(crate::launch::store_args(&plan.stack, Some(POD_STORE)));
    c.extend(crate::launch::step_args(step));
    let records = plan.stack.cache_store == CacheStore::Artifacts;
    let timezone = plan.schedule.as_ref().and_then(|s| s.timezone.as_deref());
    c.extend(crate::launch::run_args(
        &plan.pipeline,
        step,
        (RUN_TIME, timezone),
        records,
    ));
    // In an engine's run nobody checks the cache before the pod starts (a scheduled run has
    // no laptop): the launcher checks it and skips the command on a hit.
    if plan.stack.engine == Engine::Argo && step.cache.enabled && step.data.manifest.is_some() {
        c.push("--skip-if-cached".into());
    }
    c.push("--".into());
    c.extend(step.command.iter().cloned());
    c
}

/// The main container's volume mounts for the launcher and the store.
pub(super) fn mounts(plan: &Plan, step: &Step) -> Vec<Value> {
    let mut m = Vec::new();
    if step.data.launcher {
        m.push(json!({ "name": DATA_VOLUME, "mountPath": POD_ROOT }));
        if is_trainjob(plan, step) {
            m.push(json!({ "name": IMAGE_VOLUME, "mountPath": IMAGE_MOUNT, "readOnly": true }));
        }
    }
    if mounts_store(plan, step) {
        m.push(json!({ "name": STORE_VOLUME, "mountPath": POD_STORE }));
    }
    m
}

/// The pod's volumes for the launcher and the store.
pub(super) fn volumes(plan: &Plan, step: &Step) -> Vec<Value> {
    let mut v = Vec::new();
    if step.data.launcher {
        v.push(json!({ "name": DATA_VOLUME, "emptyDir": {} }));
        if let (true, Some(image)) = (is_trainjob(plan, step), &plan.stack.launcher_image) {
            v.push(json!({
                "name": IMAGE_VOLUME,
                "image": { "reference": image, "pullPolicy": "IfNotPresent" },
            }));
        }
    }
    if let (true, StoreKind::Pvc { claim }) = (mounts_store(plan, step), &plan.stack.artifacts_kind)
    {
        v.push(json!({ "name": STORE_VOLUME, "persistentVolumeClaim": { "claimName": claim } }));
    }
    v
}

/// The init container that copies the launcher binary into the pod (not for TrainJobs).
pub(super) fn init_container(plan: &Plan, step: &Step, security: Value) -> Option<Value> {
    if !step.data.launcher || is_trainjob(plan, step) {
        return None;
    }
    let image = plan.stack.launcher_image.as_ref()?;
    Some(json!({
        "name": "mlk-launcher",
        "image": image,
        "command": [IMAGE_BINARY, "launch", "--install", POD_LAUNCHER],
        "resources": {
            "requests": { "cpu": "10m", "memory": "32Mi" },
            "limits": { "memory": "64Mi" },
        },
        "securityContext": security,
        "volumeMounts": [{ "name": DATA_VOLUME, "mountPath": POD_ROOT }],
    }))
}
