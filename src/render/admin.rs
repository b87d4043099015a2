//! A stack's admin objects (`mlk stack render`), built as values and emitted through the same
//! canonical YAML writer as workloads:
//!
//! - Kueue (`kueue.x-k8s.io/v1beta2`): a ResourceFlavor `default` for cpu/memory and one per
//!   GPU type; a ClusterQueue and a LocalQueue per `[queues.*]`; a WorkloadPriorityClass per
//!   priority.
//! - KAI (`scheduling.run.ai/v2`): a parent Queue per cohort (the stack's name for queues
//!   without one) and a leaf Queue per `[queues.*]`.
//! - PriorityClasses (`scheduling.k8s.io/v1`) for the default and KAI schedulers.
//! - For an engine, its workflow ServiceAccount, Role and RoleBinding
//!   (`super::engine::workflow_access`).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Manifest, RenderError, RenderErrorKind, sort, yaml};
use crate::domain::SchedulerKind;
use crate::labels;
use crate::quantity::Quantity;
use crate::resolve::{AdminPlan, AdminQueue, Amounts};

/// The ResourceFlavor that cpu and memory are accounted to (no node labels: any node).
pub(crate) const DEFAULT_FLAVOR: &str = "default";

/// Every admin object of the stack, sorted.
pub(crate) fn render_admin(plan: &AdminPlan) -> Result<Vec<Manifest>, RenderError> {
    let mut docs: Vec<Value> = Vec::new();
    if let Some(t) = &plan.tenant {
        super::tenant::tenant(plan, t, &mut docs);
    }
    match plan.scheduler {
        SchedulerKind::Kueue => kueue(plan, &mut docs),
        SchedulerKind::Kai => {
            kai_queues(plan, &mut docs);
            priority_classes(plan, &mut docs);
        }
        SchedulerKind::Default => priority_classes(plan, &mut docs),
    }
    super::topology::admin(plan, &mut docs);
    docs.extend(super::engine::workflow_access(plan));
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        let field = |k: &str| doc.pointer(k).and_then(Value::as_str).map(str::to_owned);
        let yaml_err = |message: String| -> RenderError {
            RenderErrorKind::Yaml {
                name: "stack".into(),
                step: plan.stack.clone(),
                message,
            }
            .into()
        };
        let value: serde_yaml::Value =
            serde_yaml::to_value(&doc).map_err(|e| yaml_err(e.to_string()))?;
        let text = yaml::emit_document(&value).map_err(|e| yaml_err(e.to_string()))?;
        out.push(Manifest {
            api_version: field("/apiVersion").unwrap_or_default(),
            kind: field("/kind").unwrap_or_default(),
            name: field("/metadata/name").unwrap_or_default(),
            namespace: field("/metadata/namespace"),
            step: None,
            yaml: text,
        });
    }
    sort(&mut out);
    Ok(out)
}

pub(super) fn meta(plan: &AdminPlan, name: &str, namespace: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), name.into());
    if let Some(ns) = namespace {
        m.insert("namespace".into(), ns.into());
    }
    m.insert(
        "labels".into(),
        json!({ labels::MANAGED_BY: labels::MANAGED_BY_MLK, labels::STACK: plan.stack }),
    );
    Value::Object(m)
}

fn kueue(plan: &AdminPlan, docs: &mut Vec<Value>) {
    const API: &str = "kueue.x-k8s.io/v1beta2";
    docs.push(json!({
        "apiVersion": API, "kind": "ResourceFlavor",
        "metadata": meta(plan, DEFAULT_FLAVOR, None), "spec": {},
    }));
    for f in &plan.flavors {
        let mut spec = Map::new();
        if !f.node_labels.is_empty() {
            spec.insert("nodeLabels".into(), json!(f.node_labels));
        }
        if !f.tolerations.is_empty() {
            spec.insert("tolerations".into(), json!(f.tolerations));
        }
        docs.push(json!({
            "apiVersion": API, "kind": "ResourceFlavor",
            "metadata": meta(plan, &f.name, None), "spec": spec,
        }));
    }
    for q in &plan.queues {
        let borrow = q.cohort.as_ref().map(|_| &q.borrowing);
        let quantity =
            |n: Option<&Quantity>| n.map(|q| q.to_string()).unwrap_or_else(|| "0".into());
        let mut cpu_mem = Vec::new();
        for (res, quota, limit) in [
            (
                "cpu",
                q.quota.cpu.as_ref(),
                borrow.and_then(|b| b.cpu.as_ref()),
            ),
            (
                "memory",
                q.quota.memory.as_ref(),
                borrow.and_then(|b| b.memory.as_ref()),
            ),
        ] {
            let mut r = json!({ "name": res, "nominalQuota": quantity(quota) });
            if let Some(l) = limit {
                r["borrowingLimit"] = l.to_string().into();
            }
            cpu_mem.push(r);
        }
        let mut groups = vec![json!({
            "coveredResources": ["cpu", "memory"],
            "flavors": [{ "name": DEFAULT_FLAVOR, "resources": cpu_mem }],
        })];
        if !plan.flavors.is_empty() {
            let gpus = q.quota.gpu.unwrap_or(0);
            let flavors: Vec<Value> = plan
                .flavors
                .iter()
                .map(|f| {
                    let resources: Vec<Value> = plan
                        .gpu_resources
                        .iter()
                        .map(|res| {
                            let per = f.per_device.get(res).copied().unwrap_or(0);
                            let mut r = json!({ "name": res, "nominalQuota": gpus * per });
                            if let Some(b) = borrow.and_then(|b| b.gpu) {
                                r["borrowingLimit"] = (b * per).into();
                            }
                            r
                        })
                        .collect();
                    json!({ "name": f.name, "resources": resources })
                })
                .collect();
            groups.push(json!({ "coveredResources": plan.gpu_resources, "flavors": flavors }));
        }
        let mut spec = Map::new();
        spec.insert("namespaceSelector".into(), json!({}));
        if let Some(c) = &q.cohort {
            spec.insert("cohortName".into(), c.clone().into());
        }
        spec.insert("resourceGroups".into(), groups.into());
        docs.push(json!({
            "apiVersion": API, "kind": "ClusterQueue",
            "metadata": meta(plan, &q.name, None), "spec": spec,
        }));
        docs.push(json!({
            "apiVersion": API, "kind": "LocalQueue",
            "metadata": meta(plan, &q.name, Some(&plan.namespace)),
            "spec": { "clusterQueue": q.name },
        }));
    }
    for p in &plan.priorities {
        let mut doc = json!({
            "apiVersion": API, "kind": "WorkloadPriorityClass",
            "metadata": meta(plan, &p.name, None), "value": p.value,
        });
        if let Some(d) = &p.description {
            doc["description"] = d.clone().into();
        }
        docs.push(doc);
    }
}

/// One KAI resource: quota, limit and over-quota weight, always all three.
#[derive(Clone, Copy)]
struct KaiAmount {
    quota: i128,
    limit: i128,
}

impl KaiAmount {
    fn value(self) -> Value {
        json!({ "quota": self.quota, "limit": self.limit, "overQuotaWeight": 1 })
    }
}

/// A leaf's cpu (millicores), memory (MB) and gpu (devices). An unset quota is unlimited (-1);
/// the limit is quota + borrowing limit, unlimited when the queue may borrow without a limit
/// (a cohort and no borrowing limit), and the quota itself without a cohort.
fn kai_leaf(q: &AdminQueue) -> [(&'static str, KaiAmount); 3] {
    let unit = |a: &Amounts| {
        [
            a.cpu.as_ref().map(Quantity::millis_ceil),
            a.memory.as_ref().map(Quantity::megabytes_ceil),
            a.gpu.map(i128::from),
        ]
    };
    let quota = unit(&q.quota);
    let borrow = unit(&q.borrowing);
    let names = ["cpu", "memory", "gpu"];
    std::array::from_fn(|i| {
        let amount = match (quota[i], borrow[i], q.cohort.is_some()) {
            (None, _, _) => KaiAmount {
                quota: -1,
                limit: -1,
            },
            (Some(n), Some(b), true) => KaiAmount {
                quota: n,
                limit: n + b,
            },
            (Some(n), None, true) => KaiAmount {
                quota: n,
                limit: -1,
            },
            (Some(n), _, false) => KaiAmount { quota: n, limit: n },
        };
        (names[i], amount)
    })
}

fn kai_queues(plan: &AdminPlan, docs: &mut Vec<Value>) {
    const API: &str = "scheduling.run.ai/v2";
    let mut parents: BTreeMap<String, Vec<[(&str, KaiAmount); 3]>> = BTreeMap::new();
    for q in &plan.queues {
        let parent = q.cohort.clone().unwrap_or_else(|| plan.stack.clone());
        let leaf = kai_leaf(q);
        let resources: Map<String, Value> = leaf
            .iter()
            .map(|(k, a)| ((*k).to_owned(), a.value()))
            .collect();
        docs.push(json!({
            "apiVersion": API, "kind": "Queue",
            "metadata": meta(plan, &q.name, None),
            "spec": { "parentQueue": parent, "resources": resources },
        }));
        parents.entry(parent).or_default().push(leaf);
    }
    // A parent's quota is the sum of its leaves' (unlimited if any leaf is); it may use
    // whatever the cluster has beyond that.
    for (name, leaves) in parents {
        let mut resources = Map::new();
        for (i, res) in ["cpu", "memory", "gpu"].iter().enumerate() {
            let quotas: Vec<i128> = leaves.iter().map(|l| l[i].1.quota).collect();
            let quota = if quotas.contains(&-1) {
                -1
            } else {
                quotas.iter().sum()
            };
            resources.insert((*res).into(), KaiAmount { quota, limit: -1 }.value());
        }
        docs.push(json!({
            "apiVersion": API, "kind": "Queue",
            "metadata": meta(plan, &name, None),
            "spec": { "resources": resources },
        }));
    }
}

fn priority_classes(plan: &AdminPlan, docs: &mut Vec<Value>) {
    for p in &plan.priorities {
        let mut doc = json!({
            "apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": meta(plan, &p.name, None), "value": p.value,
        });
        if let Some(d) = &p.description {
            doc["description"] = d.clone().into();
        }
        docs.push(doc);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn queue(
        cpu: &str,
        memory: &str,
        gpu: u32,
        cohort: bool,
        borrow_gpu: Option<u32>,
    ) -> AdminQueue {
        AdminQueue {
            name: "q".into(),
            cohort: cohort.then(|| "c".to_owned()),
            quota: Amounts {
                cpu: Some(Quantity::parse(cpu).unwrap()),
                memory: Some(Quantity::parse(memory).unwrap()),
                gpu: Some(gpu),
            },
            borrowing: Amounts {
                gpu: borrow_gpu,
                ..Amounts::default()
            },
        }
    }

    #[test]
    fn kai_units_are_millicores_megabytes_and_devices() {
        let leaf = kai_leaf(&queue("1.5", "1Gi", 4, false, None));
        let get = |k: &str| leaf.iter().find(|(n, _)| *n == k).unwrap().1;
        assert_eq!(get("cpu").quota, 1500);
        assert_eq!(get("memory").quota, 1074); // 1073741824 bytes, in MB rounded up
        assert_eq!(get("gpu").quota, 4);
        // Outside a cohort a queue cannot borrow: limit = quota.
        assert_eq!(get("gpu").limit, 4);
    }

    #[test]
    fn kai_limits_follow_the_borrowing_limit() {
        let leaf = kai_leaf(&queue("8", "8G", 4, true, Some(2)));
        let get = |k: &str| leaf.iter().find(|(n, _)| *n == k).unwrap().1;
        assert_eq!(get("gpu").limit, 6);
        assert_eq!(get("memory").quota, 8000);
        // In a cohort without a borrowing limit: no limit.
        assert_eq!(get("cpu").limit, -1);
    }
}
