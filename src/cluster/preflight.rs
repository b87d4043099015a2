//! Checks made before anything is created: the namespace exists, every kind the run needs is
//! served (with the operator to install when it is not), the user may create each kind,
//! which of the other verbs mlk uses ([`crate::access::NEEDS`]) the user may not use, and
//! which cluster-scoped admin objects the steps use belong to another stack.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery;

use super::access::{self, Missing, Of};
use super::{Cluster, ClusterError, retry};
use crate::domain::SchedulerKind;
use crate::labels;
use crate::render::Manifest;
use crate::resolve::Plan;

/// The served resource of every `(apiVersion, kind)` the run applies.
pub(super) type Resources = BTreeMap<(String, String), ApiResource>;

/// Runs every check; returns every problem found, not just the first. `Ok`: the served
/// resources, and warnings (the run goes on): each verb the user may not use with what it
/// disables, each queue that belongs to another stack. `cluster_store`: the cache records
/// are ConfigMaps.
pub(crate) fn preflight(
    cluster: &Cluster,
    plan: &Plan,
    manifests: &[Manifest],
    cluster_store: bool,
) -> Result<(Resources, Vec<String>), Vec<ClusterError>> {
    cluster.block_on(run(cluster, plan, manifests, cluster_store))
}

async fn run(
    cluster: &Cluster,
    plan: &Plan,
    manifests: &[Manifest],
    cluster_store: bool,
) -> Result<(Resources, Vec<String>), Vec<ClusterError>> {
    namespace(cluster).await.map_err(|e| vec![e])?;
    let mut problems = Vec::new();
    let mut resources = Resources::new();
    let mut warnings = Vec::new();
    let fatal = async {
        kinds(cluster, manifests, &mut resources, &mut problems).await?;
        queues(cluster, plan, &mut resources, &mut problems, &mut warnings).await?;
        permissions(cluster, manifests, &resources, &mut problems).await?;
        runtimes(cluster, manifests, &mut problems).await?;
        shared_names(cluster, plan, &mut warnings).await;
        let workloads: Vec<(String, String)> = resources
            .values()
            .filter(|ar| {
                matches!(
                    ar.kind.as_str(),
                    "Job" | "PyTorchJob" | "TrainJob" | "InferenceService"
                )
            })
            .map(|ar| (ar.group.clone(), ar.plural.clone()))
            .collect();
        let attached: Vec<(String, String)> = resources
            .values()
            .filter(|ar| ar.kind == "NetworkPolicy")
            .map(|ar| (ar.group.clone(), ar.plural.clone()))
            .collect();
        let uses = plan.stack.uses(cluster_store);
        // Workloads: the kinds this run applies (discovered), not every kind the stack may.
        let targets = |of: Of| match of {
            Of::Workloads => workloads.clone(),
            Of::Attached => attached.clone(),
            _ => uses
                .targets(of)
                .into_iter()
                .map(|(g, r)| (g.to_owned(), r.to_owned()))
                .collect(),
        };
        access::missing(cluster, |w| uses.applies(w), targets).await
    };
    match fatal.await {
        Ok(missing) => warnings.extend(missing.iter().map(|m: &Missing| {
            let scope = if m.namespaced {
                format!("in namespace `{}`", cluster.namespace)
            } else {
                "cluster-wide".to_owned()
            };
            format!(
                "you may not {} {scope}, which disables {}",
                m.what, m.disables
            )
        })),
        Err(e) => problems.push(e),
    }
    if problems.is_empty() {
        Ok((resources, warnings))
    } else {
        Err(problems)
    }
}

/// That the namespace exists.
async fn namespace(cluster: &Cluster) -> Result<(), ClusterError> {
    let ns = cluster.namespace.as_str();
    let namespaces: Api<Namespace> = Api::all(cluster.client());
    match retry(|| namespaces.get_opt(ns)).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(ClusterError::NoNamespace {
            namespace: ns.into(),
            server: cluster.server.clone(),
        }),
        Err(e) => Err(ClusterError::from_kube(
            &e,
            "reading the namespace",
            cluster,
        )),
    }
}

/// Discovers the kind of every manifest into `resources`; a kind the cluster does not serve
/// is a problem, a failed discovery ends the checks.
async fn kinds(
    cluster: &Cluster,
    manifests: &[Manifest],
    resources: &mut Resources,
    problems: &mut Vec<ClusterError>,
) -> Result<(), ClusterError> {
    // Kinds in apply order, each with the first step that needs it.
    let mut needed: BTreeMap<(String, String), String> = BTreeMap::new();
    for m in manifests {
        needed
            .entry((m.api_version.clone(), m.kind.clone()))
            .or_insert_with(|| m.step.clone().unwrap_or_default());
    }
    for ((api_version, kind), step) in &needed {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version.as_str()),
        };
        match served(cluster, group, version, kind).await? {
            Some(ar) => {
                resources.insert((api_version.clone(), kind.clone()), ar);
            }
            None => problems.push(missing(api_version, kind, step)),
        }
    }
    Ok(())
}

/// That mlk may create every kind it applies (a SelfSubjectAccessReview each); a denial is
/// a problem, a failed review ends the checks.
async fn permissions(
    cluster: &Cluster,
    manifests: &[Manifest],
    resources: &Resources,
    problems: &mut Vec<ClusterError>,
) -> Result<(), ClusterError> {
    let ns = cluster.namespace.as_str();
    for ((api_version, _), ar) in resources {
        if manifests
            .iter()
            .all(|m| &m.api_version != api_version || m.kind != ar.kind)
        {
            continue; // a scheduler kind: mlk only reads it
        }
        if !access::review(cluster, "create", &ar.group, &ar.plural, ns).await? {
            problems.push(ClusterError::Denied {
                kind: ar.kind.clone(),
                resource: if ar.group.is_empty() {
                    ar.plural.clone()
                } else {
                    format!("{}.{}", ar.plural, ar.group)
                },
                namespace: ns.into(),
            });
        }
    }
    Ok(())
}

/// The API resource of `group/version` `kind` when the cluster serves it, `None` when it
/// does not; other failures (unreachable, forbidden…) are errors.
pub(super) async fn served(
    cluster: &Cluster,
    group: &str,
    version: &str,
    kind: &str,
) -> Result<Option<ApiResource>, ClusterError> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let client = cluster.client();
    match retry(|| discovery::pinned_kind(&client, &gvk)).await {
        Ok((ar, _)) => Ok(Some(ar)),
        Err(kube::Error::Api(r)) if r.code == 404 => Ok(None),
        Err(kube::Error::Discovery(_)) => Ok(None),
        Err(e) => Err(ClusterError::from_kube(
            &e,
            "discovering API resources",
            cluster,
        )),
    }
}

/// The scheduler is installed and every queue the steps name exists: Kueue LocalQueues in
/// the namespace (`v1beta2`, else `v1beta1`), KAI Queues (cluster-wide). Kueue's Workload
/// kind goes into `resources` too: a suspended step's progress line reads why from it.
async fn queues(
    cluster: &Cluster,
    plan: &Plan,
    resources: &mut Resources,
    problems: &mut Vec<ClusterError>,
    warnings: &mut Vec<String>,
) -> Result<(), ClusterError> {
    let (group, versions, kind, namespaced): (&str, &[&str], &str, bool) =
        match plan.stack.scheduler {
            SchedulerKind::Kueue => (
                "kueue.x-k8s.io",
                &["v1beta2", "v1beta1"],
                "LocalQueue",
                true,
            ),
            SchedulerKind::Kai => ("scheduling.run.ai", &["v2"], "Queue", false),
            SchedulerKind::Default => return Ok(()),
        };
    let client = cluster.client();
    let mut found = None;
    for version in versions {
        found = served(cluster, group, version, kind).await?;
        if found.is_some() {
            break;
        }
    }
    let first = plan
        .steps
        .first()
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let Some(ar) = found else {
        problems.push(missing(&format!("{group}/{}", versions[0]), kind, &first));
        return Ok(());
    };
    if plan.stack.scheduler == SchedulerKind::Kueue
        && let Ok(Some(workloads)) = served(cluster, group, &ar.version, "Workload").await
    {
        resources.insert((ar.api_version.clone(), "Workload".into()), workloads);
    }
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(client, &cluster.namespace, &ar)
    } else {
        Api::all_with(client, &ar)
    };
    let mut names = BTreeMap::new();
    for s in &plan.steps {
        if let Some(q) = &s.queue {
            names.entry(q.clone()).or_insert_with(|| s.name.clone());
        }
    }
    for (queue, step) in names {
        match retry(|| api.get_opt(&queue)).await {
            Ok(Some(live)) => {
                warnings.extend(owned_elsewhere(&live, kind, &plan.stack.name, "queues"));
            }
            Ok(None) => problems.push(ClusterError::NoQueue {
                kind: kind.into(),
                queue,
                step,
                scope: if namespaced {
                    format!("a LocalQueue must be in namespace `{}`", cluster.namespace)
                } else {
                    "KAI Queues are cluster-scoped: one Queue serves every namespace".into()
                },
            }),
            Err(e) => return Err(ClusterError::from_kube(&e, "reading queues", cluster)),
        }
    }
    Ok(())
}

/// That the training runtime every TrainJob names (`spec.runtimeRef`: a cluster-wide
/// ClusterTrainingRuntime, or a TrainingRuntime in the namespace) exists.
async fn runtimes(
    cluster: &Cluster,
    manifests: &[Manifest],
    problems: &mut Vec<ClusterError>,
) -> Result<(), ClusterError> {
    let mut named = BTreeMap::new();
    for m in manifests.iter().filter(|m| m.kind == "TrainJob") {
        let doc: serde_json::Value = serde_yaml::from_str(&m.yaml).unwrap_or_default();
        let text = |p: &str| doc.pointer(p).and_then(|v| v.as_str()).map(str::to_owned);
        let kind = text("/spec/runtimeRef/kind").unwrap_or_else(|| "ClusterTrainingRuntime".into());
        if let Some(name) = text("/spec/runtimeRef/name") {
            named
                .entry((kind, name))
                .or_insert_with(|| m.step.clone().unwrap_or_default());
        }
    }
    for ((kind, name), step) in named {
        let Some(ar) = served(cluster, "trainer.kubeflow.org", "v1alpha1", &kind).await? else {
            problems.push(missing("trainer.kubeflow.org/v1alpha1", &kind, &step));
            continue;
        };
        let api: Api<DynamicObject> = if kind == "TrainingRuntime" {
            Api::namespaced_with(cluster.client(), &cluster.namespace, &ar)
        } else {
            Api::all_with(cluster.client(), &ar)
        };
        match retry(|| api.get_opt(&name)).await {
            Ok(Some(_)) => {}
            Ok(None) => problems.push(ClusterError::NoRuntime { kind, name, step }),
            Err(e) => {
                return Err(ClusterError::from_kube(
                    &e,
                    "reading training runtimes",
                    cluster,
                ));
            }
        }
    }
    Ok(())
}

/// Warnings for the cluster-scoped admin objects the steps use besides queues (Kueue
/// ResourceFlavors of their GPU types and WorkloadPriorityClasses, or PriorityClasses) that
/// belong to another stack. Only warnings: a kind not served, an object not there or a read
/// that is not allowed says nothing here (the permission check names that read).
async fn shared_names(cluster: &Cluster, plan: &Plan, warnings: &mut Vec<String>) {
    let mut wanted: Vec<(&str, &[&str], &str, String, &str)> = Vec::new();
    let kueue = plan.stack.scheduler == SchedulerKind::Kueue;
    const KUEUE: (&str, &[&str]) = ("kueue.x-k8s.io", &["v1beta2", "v1beta1"]);
    for s in &plan.steps {
        if let (true, Some(t)) = (kueue, s.gpu.gpu_type()) {
            wanted.push((
                KUEUE.0,
                KUEUE.1,
                "ResourceFlavor",
                t.to_owned(),
                "GPU types",
            ));
        }
        if let Some(p) = &s.priority {
            wanted.push(if kueue {
                (
                    KUEUE.0,
                    KUEUE.1,
                    "WorkloadPriorityClass",
                    p.name.clone(),
                    "priorities",
                )
            } else {
                (
                    "scheduling.k8s.io",
                    &["v1"],
                    "PriorityClass",
                    p.name.clone(),
                    "priorities",
                )
            });
        }
    }
    wanted.sort();
    wanted.dedup();
    for (group, versions, kind, name, what) in wanted {
        let mut found = None;
        for version in versions {
            if let Ok(Some(ar)) = served(cluster, group, version, kind).await {
                found = Some(ar);
                break;
            }
        }
        let Some(ar) = found else { continue };
        let api: Api<DynamicObject> = Api::all_with(cluster.client(), &ar);
        if let Ok(Some(live)) = retry(|| api.get_opt(&name)).await {
            warnings.extend(owned_elsewhere(&live, kind, &plan.stack.name, what));
        }
    }
}

/// A warning when `live` (an admin object the run uses) is labelled as another stack's
/// (`mlk.dev/stack`, which `mlk stack render` puts on every admin object): cluster-scoped
/// names are shared by every stack, so the last stack applied overwrote it, or will. `what`
/// names what the user renames (`queues`, `GPU types`, `priorities`).
pub(super) fn owned_elsewhere(
    live: &DynamicObject,
    kind: &str,
    stack: &str,
    what: &str,
) -> Option<String> {
    let owner = live.metadata.labels.as_ref()?.get(labels::STACK)?;
    let name = live.metadata.name.as_deref().unwrap_or_default();
    (owner != stack).then(|| {
        format!(
            "{kind} `{name}` belongs to stack `{owner}` (its {} label), not `{stack}`: whichever stack is applied last sets it for both; give this stack's {what} names of their own",
            labels::STACK
        )
    })
}

fn missing(api_version: &str, kind: &str, step: &str) -> ClusterError {
    ClusterError::KindMissing {
        kind: kind.into(),
        api_version: api_version.into(),
        step: step.into(),
        operator: operator(kind).into(),
    }
}

/// What to install for `kind`.
pub(super) fn operator(kind: &str) -> &'static str {
    match kind {
        "PyTorchJob" => {
            "the Kubeflow training operator (https://github.com/kubeflow/training-operator)"
        }
        "TrainJob" | "ClusterTrainingRuntime" | "TrainingRuntime" => {
            "Kubeflow Trainer (https://github.com/kubeflow/trainer)"
        }
        "InferenceService" => "KServe (https://kserve.github.io/website/)",
        "Service" => {
            "Knative Serving (https://knative.dev/docs/install/), which KServe's Knative mode needs"
        }
        "LocalQueue" | "ClusterQueue" | "ResourceFlavor" | "WorkloadPriorityClass" => {
            "Kueue (https://kueue.sigs.k8s.io/)"
        }
        "Queue" => "the KAI Scheduler (https://github.com/NVIDIA/KAI-Scheduler)",
        "DeviceClass" | "ResourceClaimTemplate" => {
            "Kubernetes 1.34 or later (resource.k8s.io/v1, Dynamic Resource Allocation)"
        }
        "Workflow" | "WorkflowTemplate" | "CronWorkflow" => {
            "Argo Workflows v4 (https://argo-workflows.readthedocs.io/), its controller watching this namespace"
        }
        _ => "the operator that serves this kind, or pick a stack that matches this cluster",
    }
}
