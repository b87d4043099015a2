//! A run's objects on the cluster, found by the `mlk.dev/run` label: listing them for
//! `mlk status`, deleting them for `mlk delete` and after an interrupted run.

use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams};
use serde_json::Value;

use super::preflight::served;
use super::{Cluster, ClusterError, retry};
use crate::labels;

/// The kinds mlk applies for a run, workloads first.
const RUN_KINDS: &[(&str, &str, &str)] = &[
    ("serving.kserve.io", "v1beta1", "InferenceService"),
    ("trainer.kubeflow.org", "v1alpha1", "TrainJob"),
    ("kubeflow.org", "v1", "PyTorchJob"),
    ("batch", "v1", "Job"),
    ("networking.k8s.io", "v1", "NetworkPolicy"),
];

/// The group and version of a workload kind mlk runs (`None` for other kinds).
pub(super) fn run_kind(kind: &str) -> Option<(&'static str, &'static str, &'static str)> {
    RUN_KINDS
        .iter()
        .find(|(_, _, k)| *k == kind && *k != "NetworkPolicy")
        .copied()
}

/// One object of a run.
#[derive(Debug, Clone)]
pub(crate) struct RunObject {
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// The `mlk.dev/step` label.
    pub step: String,
    /// The first condition whose status is True (`Complete`, `Failed`, `Ready`…), or
    /// `Suspended` / `Pending`.
    pub state: String,
    /// Whether its step has more than one pod (a PyTorchJob, a parallel Job): log lines are
    /// prefixed with the replica.
    pub multi_pod: bool,
}

/// The kinds of [`RUN_KINDS`] the cluster serves, workloads first.
pub(super) async fn served_kinds(cluster: &Cluster) -> Result<Vec<ApiResource>, ClusterError> {
    let mut out = Vec::new();
    for (group, version, kind) in RUN_KINDS {
        out.extend(served(cluster, group, version, kind).await?);
    }
    Ok(out)
}

/// Every object labelled with `run_id` in the cluster's namespace (kinds the cluster does not
/// serve are skipped), with the API of its kind.
async fn find(
    cluster: &Cluster,
    run_id: &str,
) -> Result<Vec<(Api<DynamicObject>, DynamicObject)>, ClusterError> {
    find_in(cluster, &served_kinds(cluster).await?, run_id).await
}

/// [`find`] among `kinds` (from [`served_kinds`]).
async fn find_in(
    cluster: &Cluster,
    kinds: &[ApiResource],
    run_id: &str,
) -> Result<Vec<(Api<DynamicObject>, DynamicObject)>, ClusterError> {
    list_in(cluster, kinds, &[(labels::RUN, run_id)]).await
}

/// Every object of `kinds` in the cluster's namespace whose labels match `selector`.
async fn list_in(
    cluster: &Cluster,
    kinds: &[ApiResource],
    selector: &[(&str, &str)],
) -> Result<Vec<(Api<DynamicObject>, DynamicObject)>, ClusterError> {
    let client = cluster.client();
    let lp = ListParams::default().labels(&labels::selector(selector));
    let mut out = Vec::new();
    for ar in kinds {
        let kind = &ar.kind;
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &cluster.namespace, ar);
        let list = retry(|| api.list(&lp))
            .await
            .map_err(|e| ClusterError::from_kube(&e, &format!("listing {kind}s"), cluster))?;
        for mut obj in list.items {
            obj.types.get_or_insert_with(|| kube::core::TypeMeta {
                api_version: ar.api_version.clone(),
                kind: ar.kind.clone(),
            });
            out.push((api.clone(), obj));
        }
    }
    Ok(out)
}

/// The kinds a run's objects may have that the cluster serves (one discovery), for
/// [`run_objects_in`] and [`applied_again`].
pub(crate) fn run_kinds(cluster: &Cluster) -> Result<Vec<ApiResource>, ClusterError> {
    cluster.block_on(served_kinds(cluster))
}

/// The objects of a run among `kinds` (from [`run_kinds`]): no discovery requests. In the
/// order they were created, which is the pipeline's (steps are applied in DAG order); objects
/// created in the same second keep the order of [`RUN_KINDS`], then their names.
pub(crate) fn run_objects_in(
    cluster: &Cluster,
    kinds: &[ApiResource],
    run_id: &str,
) -> Result<Vec<RunObject>, ClusterError> {
    let mut found = cluster.block_on(find_in(cluster, kinds, run_id))?;
    // A stable sort: `find_in` lists kind by kind, each by name.
    found.sort_by_key(|(_, o)| o.metadata.creation_timestamp.as_ref().map(|t| t.0));
    Ok(found.iter().map(|(_, o)| run_object(o)).collect())
}

fn run_object(o: &DynamicObject) -> RunObject {
    RunObject {
        kind: o.types.as_ref().map(|t| t.kind.clone()).unwrap_or_default(),
        name: o.metadata.name.clone().unwrap_or_default(),
        step: label(o, labels::STEP).unwrap_or_default(),
        state: state(&o.data),
        multi_pod: multi_pod(o),
    }
}

fn label(o: &DynamicObject, key: &str) -> Option<String> {
    o.metadata.labels.as_ref()?.get(key).cloned()
}

/// The objects of `pipeline`'s steps that a later run applied again: same step and cache key
/// (`steps`: step → key), now labelled with another run, which is returned with each. Every
/// run that serves the same model re-applies its InferenceService (it is patched, not
/// replaced), and a `--no-cache` run replaces a step's workload with its own; either way the
/// object's run label names the last run, and an earlier run's status finds it here.
/// `kinds` come from [`run_kinds`].
pub(crate) fn applied_again(
    cluster: &Cluster,
    kinds: &[ApiResource],
    pipeline: &str,
    steps: &std::collections::BTreeMap<String, String>,
    run_id: &str,
) -> Result<Vec<(RunObject, String)>, ClusterError> {
    cluster.block_on(async {
        let found = list_in(cluster, kinds, &[(labels::PIPELINE, pipeline)]).await?;
        let mut out: Vec<(RunObject, String)> = found
            .iter()
            .filter(|(_, o)| {
                let key = o
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(labels::CACHE_KEY));
                let step = label(o, labels::STEP);
                step.and_then(|s| steps.get(&s))
                    .is_some_and(|k| Some(k) == key)
            })
            .filter_map(|(_, o)| {
                let by = label(o, labels::RUN)?;
                (by != run_id).then(|| (run_object(o), by))
            })
            .collect();
        out.sort_by(|a, b| {
            (&a.0.step, &a.0.kind, &a.0.name).cmp(&(&b.0.step, &b.0.kind, &b.0.name))
        });
        Ok(out)
    })
}

fn multi_pod(o: &DynamicObject) -> bool {
    let kind = o
        .types
        .as_ref()
        .map(|t| t.kind.as_str())
        .unwrap_or_default();
    let more = |ptr: &str| o.data.pointer(ptr).and_then(Value::as_i64).unwrap_or(1) > 1;
    kind == "PyTorchJob"
        || more("/spec/parallelism")
        || more("/spec/completions")
        || more("/spec/trainer/numNodes")
}

fn state(data: &Value) -> String {
    let conditions = data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let true_types: Vec<&str> = conditions
        .iter()
        .filter(|c| c.get("status").and_then(Value::as_str) == Some("True"))
        .filter_map(|c| c.get("type").and_then(Value::as_str))
        .collect();
    for done in ["Complete", "Succeeded", "Failed", "Ready"] {
        if true_types.contains(&done) {
            return done.into();
        }
    }
    if data.pointer("/spec/suspend") == Some(&Value::Bool(true)) {
        return "Suspended".into();
    }
    if data.get("status").is_some() || data.get("spec").is_some() {
        "Running".into()
    } else {
        "-".into()
    }
}

/// Deletes every object of a run (pods go with their owners); returns `Kind/name` of each.
pub(crate) fn delete_run(cluster: &Cluster, run_id: &str) -> Result<Vec<String>, ClusterError> {
    cluster.block_on(async {
        let found = find(cluster, run_id).await?;
        let dp = DeleteParams::background();
        let mut deleted = Vec::new();
        for (api, obj) in found {
            let name = obj.metadata.name.clone().unwrap_or_default();
            match retry(|| api.delete(&name, &dp)).await {
                Ok(_) => {}
                Err(kube::Error::Api(r)) if r.code == 404 => {}
                Err(e) => {
                    return Err(ClusterError::from_kube(
                        &e,
                        &format!("deleting {name}"),
                        cluster,
                    ));
                }
            }
            let kind = obj.types.map(|t| t.kind).unwrap_or_default();
            deleted.push(format!("{kind}/{name}"));
        }
        Ok(deleted)
    })
}
