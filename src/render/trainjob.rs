//! The parts of a TrainJob (`trainer.kubeflow.org/v1alpha1`) that come from a step: the
//! `spec.trainer` block, and the pod template patch for the runtime's `node` job.
//!
//! A TrainJob describes the trainer container only; the pod around it comes from the
//! ClusterTrainingRuntime (`torch-distributed` by default, whose replicated job and container
//! are both named `node`). Everything else mlk puts on a pod goes in through
//! `spec.runtimePatches`, which allows only some pod fields: not `schedulerName` or
//! `priorityClassName` (the runtime must set those), nor a container's `envFrom` or `resources`.

use serde_json::{Map, Value, json};

use super::pod;
use crate::resolve::{Plan, Step};

/// The name of the container and replicated job in the stock Trainer runtimes.
pub(super) const NODE: &str = "node";

/// `spec.trainer`: image, command, env, nodes, processes per node, resources per node.
pub(super) fn trainer(plan: &Plan, step: &Step) -> Value {
    let c = pod::container(plan, step, NODE);
    let mut t = Map::new();
    for k in ["image", "command", "env", "resources"] {
        if let Some(v) = c.get(k) {
            let key = if k == "resources" {
                "resourcesPerNode"
            } else {
                k
            };
            t.insert(key.into(), v.clone());
        }
    }
    t.insert("numNodes".into(), step.replicas.into());
    if let Some(p) = &step.pytorch {
        t.insert("numProcPerNode".into(), p.nproc_per_node.into());
    }
    Value::Object(t)
}

/// Pod fields a runtime patch may set (trainer v2.3.0 `ReplicatedJobPatch` pod template).
const PATCHABLE: &[&str] = &[
    "affinity",
    "imagePullSecrets",
    "nodeSelector",
    "securityContext",
    "serviceAccountName",
    "tolerations",
    "volumes",
];

/// The pod template patch (`metadata` and `spec`) of the runtime's `node` job.
pub(super) fn pod_patch(plan: &Plan, step: &Step, run_id: Option<&str>) -> Value {
    let template = pod::pod_template(plan, step, NODE, run_id);
    let mut spec = Map::new();
    if let Some(full) = template.get("spec").and_then(Value::as_object) {
        for k in PATCHABLE {
            if let Some(v) = full.get(*k) {
                spec.insert((*k).into(), v.clone());
            }
        }
    }
    let c = pod::container(plan, step, NODE);
    let mut container = Map::new();
    container.insert("name".into(), NODE.into());
    for k in ["securityContext", "volumeMounts"] {
        if let Some(v) = c.get(k) {
            container.insert(k.into(), v.clone());
        }
    }
    spec.insert("containers".into(), json!([container]));
    json!({ "metadata": template.get("metadata").cloned().unwrap_or(Value::Null), "spec": spec })
}
