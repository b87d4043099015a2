//! Topology-aware placement, both halves: the annotations a step's workload and pods carry
//! (Kueue's pod-set annotations, KAI's workload annotations), and the admin objects of a
//! stack with `[topology]` (`mlk stack render`):
//!
//! - Kueue: a `Topology` (`kueue.x-k8s.io/v1beta2`), `spec.topologyName` on every GPU
//!   ResourceFlavor, and each ClusterQueue's resources in one group of those flavors. Kueue's
//!   topology-aware scheduling gives a pod set a single flavor, so on such a stack cpu and
//!   memory are quota of each GPU flavor rather than of the node-agnostic `default` flavor.
//! - KAI: a `Topology` (`kai.scheduler/v1alpha1`) whose levels carry the stack's level names
//!   as aliases (KAI v0.17).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::admin::DEFAULT_FLAVOR;
use crate::domain::{SchedulerKind, StepKind, TopologyMode, TrainingApi};
use crate::labels;
use crate::resolve::{AdminPlan, Plan, Step};

/// Pod template annotations of a step on a Kueue stack (`podset-required-topology` or
/// `podset-preferred-topology`, the level's node label). A PyTorchJob's Master and Worker are
/// two pod sets: `podset-group-name` makes Kueue place them in one domain together.
pub(super) fn pod_annotations(
    plan: &Plan,
    step: &Step,
    annotations: &mut BTreeMap<String, String>,
) {
    let (SchedulerKind::Kueue, Some(p)) = (plan.stack.scheduler, &step.placement) else {
        return;
    };
    let key = match p.mode {
        TopologyMode::Required => labels::KUEUE_REQUIRED_TOPOLOGY,
        TopologyMode::Preferred => labels::KUEUE_PREFERRED_TOPOLOGY,
    };
    annotations.insert(key.into(), p.node_label.clone());
    if step.kind == StepKind::Pytorch
        && plan.stack.training_api == TrainingApi::Pytorchjob
        && step.replicas > 1
    {
        annotations.insert(labels::KUEUE_PODSET_GROUP.into(), step.name.clone());
    }
}

/// Workload annotations of a step on a KAI stack: the Topology's name and the required or
/// preferred placement (the level's node label).
pub(super) fn workload_annotations(
    scheduler: SchedulerKind,
    step: &Step,
    annotations: &mut BTreeMap<String, String>,
) {
    let (SchedulerKind::Kai, Some(p)) = (scheduler, &step.placement) else {
        return;
    };
    annotations.insert(labels::KAI_TOPOLOGY.into(), p.topology.clone());
    let key = match p.mode {
        TopologyMode::Required => labels::KAI_REQUIRED_PLACEMENT,
        TopologyMode::Preferred => labels::KAI_PREFERRED_PLACEMENT,
    };
    annotations.insert(key.into(), p.node_label.clone());
}

/// The stack's Topology object, with the Kueue flavors and queues made topology-aware.
pub(crate) fn admin(plan: &AdminPlan, docs: &mut Vec<Value>) {
    let Some((name, levels)) = &plan.topology else {
        return;
    };
    let meta = json!({
        "name": name,
        "labels": { labels::MANAGED_BY: labels::MANAGED_BY_MLK, labels::STACK: plan.stack },
    });
    match plan.scheduler {
        SchedulerKind::Kueue => {
            let levels: Vec<Value> = levels
                .iter()
                .map(|(_, label)| json!({ "nodeLabel": label }))
                .collect();
            kueue_tas(plan, name, docs);
            docs.push(json!({
                "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Topology",
                "metadata": meta, "spec": { "levels": levels },
            }));
        }
        SchedulerKind::Kai => {
            let levels: Vec<Value> = levels
                .iter()
                .map(|(alias, label)| json!({ "nodeLabel": label, "alias": alias }))
                .collect();
            docs.push(json!({
                "apiVersion": "kai.scheduler/v1alpha1", "kind": "Topology",
                "metadata": meta, "spec": { "levels": levels },
            }));
        }
        // Refused by `resolve` (`mlk::resolve::topology_scheduler`).
        SchedulerKind::Default => {}
    }
}

/// Kueue: `topologyName` on every flavor with node labels, and each ClusterQueue's cpu and
/// memory moved into the GPU group, as quota of each GPU flavor.
fn kueue_tas(plan: &AdminPlan, topology: &str, docs: &mut [Value]) {
    let tas: Vec<&str> = plan
        .flavors
        .iter()
        .filter(|f| !f.node_labels.is_empty())
        .map(|f| f.name.as_str())
        .collect();
    for doc in docs.iter_mut() {
        let kind = doc
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let name = doc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if kind == "ResourceFlavor" && tas.contains(&name.as_str()) {
            doc["spec"]["topologyName"] = topology.into();
        }
        if kind == "ClusterQueue"
            && let Some(groups) = doc
                .pointer_mut("/spec/resourceGroups")
                .and_then(Value::as_array_mut)
        {
            merge_groups(groups, &tas);
        }
    }
}

/// One resource group: the cpu/memory quotas of the `default` flavor join every topology-aware
/// GPU flavor's. Queues without such flavors keep their groups.
fn merge_groups(groups: &mut Vec<Value>, tas: &[&str]) {
    let [cpu_mem, gpu] = groups.as_slice() else {
        return;
    };
    let Some(base) = cpu_mem
        .pointer("/flavors")
        .and_then(Value::as_array)
        .and_then(|f| f.iter().find(|f| f["name"] == DEFAULT_FLAVOR))
        .and_then(|f| f["resources"].as_array())
        .cloned()
    else {
        return;
    };
    let mut covered = cpu_mem["coveredResources"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    covered.extend(
        gpu["coveredResources"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    let flavors: Vec<Value> = gpu["flavors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["name"].as_str().is_some_and(|n| tas.contains(&n)))
        .map(|f| {
            let mut resources = base.clone();
            resources.extend(f["resources"].as_array().cloned().unwrap_or_default());
            json!({ "name": f["name"], "resources": resources })
        })
        .collect();
    if flavors.is_empty() {
        return;
    }
    *groups = vec![json!({ "coveredResources": covered, "flavors": flavors })];
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resolve::testing::resolve_texts;

    fn annotations(api: &str, kind: &str, replicas: u32) -> BTreeMap<String, String> {
        let stack = format!(
            "[stack]\nname = \"s\"\nnamespace = \"ml\"\n[artifacts]\nuri = \"s3://b/m\"\n[scheduler]\nkind = \"kueue\"\nqueue = \"q\"\n[queues.q]\nquota = {{ gpu = 16 }}\n[training]\napi = \"{api}\"\n[gpu.types.h100]\nnode_selector = {{ gpu = \"h100\" }}\n[topology]\nlevels = [{{ name = \"rack\", node_label = \"example.com/rack\" }}]\n"
        );
        let pipeline = format!(
            "[pipeline]\nname = \"p\"\n[steps.s]\nkind = \"{kind}\"\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\nreplicas = {replicas}\nplacement = {{ level = \"rack\" }}\n"
        );
        let plan = resolve_texts(&stack, &pipeline).unwrap();
        let mut a = BTreeMap::new();
        pod_annotations(&plan, &plan.steps[0], &mut a);
        a
    }

    #[test]
    fn a_pytorchjobs_master_and_workers_are_one_kueue_podset_group() {
        let a = annotations("pytorchjob", "pytorch", 2);
        assert_eq!(a[labels::KUEUE_REQUIRED_TOPOLOGY], "example.com/rack");
        assert_eq!(a[labels::KUEUE_PODSET_GROUP], "s");
        // One pod set: a Master alone, a TrainJob's node job, a Job.
        for (api, kind, replicas) in [
            ("pytorchjob", "pytorch", 1),
            ("trainjob", "pytorch", 2),
            ("pytorchjob", "job", 1),
        ] {
            let a = annotations(api, kind, replicas);
            assert!(
                a.contains_key(labels::KUEUE_REQUIRED_TOPOLOGY),
                "{api} {kind}"
            );
            assert!(!a.contains_key(labels::KUEUE_PODSET_GROUP), "{api} {kind}");
        }
    }
}
