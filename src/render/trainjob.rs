//! The parts of a TrainJob (`trainer.kubeflow.org/v1alpha1`) that come from a step: the
//! `spec.trainer` block, and the pod template patch for the runtime's `node` job.
//!
//! A TrainJob describes the trainer container only; the pod around it comes from the
//! ClusterTrainingRuntime (`torch-distributed` by default, whose replicated job and container
//! are both named `node`). Everything else mlk puts on a pod goes in through
//! `spec.runtimePatches`, which allows only some pod fields: not `schedulerName` or
//! `priorityClassName` (the runtime must set those), nor a container's `envFrom` or `resources`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::pod;
use crate::domain::SchedulerKind;
use crate::labels;
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

/// Annotations of the JobSet the TrainJob becomes, on a KAI stack. KAI groups a TrainJob's pods
/// by its JobSet (the TrainJob is a skipped top owner) and reads the JobSet's annotations:
/// the gang size, because since v0.15 a JobSet's PodGroup has `minMember` 1 unless
/// `kai.scheduler/batch-min-member` says otherwise (a multi-node step could start with some
/// of its nodes), and the topology placement.
pub(super) fn jobset_annotations(plan: &Plan, step: &Step) -> BTreeMap<String, String> {
    let mut a = BTreeMap::new();
    if plan.stack.scheduler != SchedulerKind::Kai {
        return a;
    }
    if step.replicas > 1 {
        a.insert(
            labels::KAI_BATCH_MIN_MEMBER.into(),
            step.replicas.to_string(),
        );
    }
    super::topology::workload_annotations(plan.stack.scheduler, step, &mut a);
    a
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resolve::testing::resolve_texts;

    fn plan(scheduler: &str, replicas: u32) -> Plan {
        let stack = format!(
            "[stack]\nname = \"s\"\nnamespace = \"ml\"\n[artifacts]\nuri = \"s3://b/m\"\n[scheduler]\nkind = \"{scheduler}\"\nqueue = \"q\"\n[queues.q]\nquota = {{ gpu = 16 }}\n[training]\napi = \"trainjob\"\n"
        );
        let pipeline = format!(
            "[pipeline]\nname = \"p\"\n[steps.s]\nkind = \"pytorch\"\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\nreplicas = {replicas}\nresources = {{ gpu = 1 }}\n"
        );
        resolve_texts(&stack, &pipeline).unwrap()
    }

    #[test]
    fn kai_trainjobs_of_several_nodes_ask_for_the_whole_gang() {
        let p = plan("kai", 4);
        let a = jobset_annotations(&p, &p.steps[0]);
        assert_eq!(
            a.get(labels::KAI_BATCH_MIN_MEMBER).map(String::as_str),
            Some("4")
        );
        let p = plan("kai", 1);
        assert!(jobset_annotations(&p, &p.steps[0]).is_empty());
        let p = plan("kueue", 4);
        assert!(jobset_annotations(&p, &p.steps[0]).is_empty());
    }
}
