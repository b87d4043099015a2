//! `mlk doctor`: whether a stack can run on the cluster it points at. One [`Check`] per
//! requirement of the stack: the namespace, the API kinds and versions it needs (with the
//! operator to install), the DRA DeviceClasses, the GPU resources nodes advertise for each
//! GPU type, its queues and priority classes, and the user's permissions for every verb of
//! [`crate::access::NEEDS`] that applies and for applying each kind (the same
//! SelfSubjectAccessReviews as the run preflight).

mod gpus;
mod objects;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret, ServiceAccount};
use kube::api::{Api, ApiResource, DynamicObject};
use serde::Serialize;

use super::preflight::{operator, served};
use super::{Cluster, ClusterError, retry};
use crate::domain::{GpuSharing, SchedulerKind, ServingMode, TrainingApi};
use crate::resolve::AdminPlan;

/// What `mlk doctor` found about one requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    /// Present and usable.
    Ok,
    /// Not there.
    Missing,
    /// There, but not as the stack needs it (an old API version, another stack's object).
    Outdated,
    /// Could not be read (not allowed); not counted against the stack.
    Unknown,
}

/// One requirement and what the cluster has of it. Field names are the `-o json` contract.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Check {
    /// `namespace`, `api`, `device-class`, `gpu`, `account`, `flavor`, `queue`, `priority`,
    /// `runtime`, `permission`.
    pub area: &'static str,
    /// What is required (`PyTorchJob`, `get pods/log`, `h100: nvidia.com/gpu`).
    pub what: String,
    /// What was found.
    pub status: Status,
    /// What the cluster has, or what is missing disables.
    pub detail: String,
    /// What to do, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// Whether the stack cannot run without it (else only some steps need it).
    pub required: bool,
}

/// Whether the stack can run: no required check is missing or outdated.
pub(crate) fn can_run(checks: &[Check]) -> bool {
    checks
        .iter()
        .all(|c| !c.required || matches!(c.status, Status::Ok | Status::Unknown))
}

/// Every check of `plan` on `cluster`; `Err` only when the cluster cannot be reached or
/// refuses the user (nothing could be checked).
pub(crate) fn doctor(cluster: &Cluster, plan: &AdminPlan) -> Result<Vec<Check>, ClusterError> {
    cluster.block_on(async {
        let mut out = Vec::new();
        namespace(cluster, plan, &mut out).await?;
        kinds(cluster, plan, &mut out).await?;
        kserve_mode(cluster, plan, &mut out).await;
        gpus::gpus(cluster, plan, &mut out).await;
        accounts(cluster, plan, &mut out).await?;
        objects::admin_objects(cluster, plan, &mut out).await?;
        objects::permissions(cluster, plan, &mut out).await?;
        Ok(out)
    })
}

/// The ServiceAccount step pods run as and the Secrets they need exist in the namespace: a
/// Job whose ServiceAccount is missing gets no pods, and a missing Secret keeps its containers
/// from starting.
async fn accounts(
    cluster: &Cluster,
    plan: &AdminPlan,
    out: &mut Vec<Check>,
) -> Result<(), ClusterError> {
    let ns = &cluster.namespace;
    if let Some(sa) = &plan.service_account {
        let api: Api<ServiceAccount> = Api::namespaced(cluster.client(), ns);
        let found = retry(|| api.get_opt(sa)).await.map(|o| o.is_some());
        out.push(exists(cluster, "ServiceAccount", sa, found, || {
            format!("kubectl create serviceaccount {sa} -n {ns} (or set [stack] service_account to one that exists)")
        })?);
    }
    for name in &plan.secrets {
        let api: Api<Secret> = Api::namespaced(cluster.client(), ns);
        // Only whether it is there: its data is never read.
        let found = retry(|| api.get_metadata_opt(name))
            .await
            .map(|o| o.is_some());
        out.push(exists(cluster, "Secret", name, found, || {
            format!("create the Secret {name} in namespace {ns} (the stack names it)")
        })?);
    }
    Ok(())
}

/// The `account` check of a namespaced object `kind`/`name` that `found` says is there or
/// not; a read the user may not make is `unknown`.
fn exists(
    cluster: &Cluster,
    kind: &str,
    name: &str,
    found: Result<bool, kube::Error>,
    fix: impl FnOnce() -> String,
) -> Result<Check, ClusterError> {
    let what = format!("{kind} {name}");
    Ok(match found {
        Ok(true) => check("account", what, Status::Ok, "exists"),
        Ok(false) => {
            let mut c = check("account", what, Status::Missing, "not found");
            c.fix = Some(fix());
            c
        }
        Err(e) => {
            let e = fatal(ClusterError::from_kube(
                &e,
                &format!("reading {kind}s"),
                cluster,
            ))?;
            check("account", what, Status::Unknown, e.to_string())
        }
    })
}

pub(super) fn check(
    area: &'static str,
    what: impl Into<String>,
    status: Status,
    detail: impl Into<String>,
) -> Check {
    Check {
        area,
        what: what.into(),
        status,
        detail: detail.into(),
        fix: None,
        required: true,
    }
}

/// Errors that mean nothing can be checked (exit 3); others become a check's `unknown`.
pub(super) fn fatal(e: ClusterError) -> Result<ClusterError, ClusterError> {
    match e {
        ClusterError::Unreachable { .. }
        | ClusterError::Unauthorized { .. }
        | ClusterError::Untrusted { .. }
        | ClusterError::CredentialPlugin { .. } => Err(e),
        other => Ok(other),
    }
}

/// The first of `versions` at which `group` serves `kind`, and its index; `None` when none
/// does or discovery fails for another reason than a fatal one.
pub(super) async fn find(
    cluster: &Cluster,
    group: &str,
    versions: &[&str],
    kind: &str,
) -> Result<Option<(ApiResource, usize)>, ClusterError> {
    for (i, v) in versions.iter().enumerate() {
        match served(cluster, group, v, kind).await {
            Ok(Some(ar)) => return Ok(Some((ar, i))),
            Ok(None) => {}
            Err(e) => {
                fatal(e)?;
            }
        }
    }
    Ok(None)
}

async fn namespace(
    cluster: &Cluster,
    plan: &AdminPlan,
    out: &mut Vec<Check>,
) -> Result<(), ClusterError> {
    let ns = cluster.namespace.clone();
    let api: Api<Namespace> = Api::all(cluster.client());
    let mut c = check("namespace", &ns, Status::Ok, "exists");
    match retry(|| api.get_opt(&ns)).await {
        Ok(Some(_)) => {}
        Ok(None) => {
            c.status = Status::Missing;
            c.detail = "no such namespace".into();
            c.fix = Some(format!(
                "create it: apply `mlk stack render {}` (with [tenant], its Namespace comes first), or kubectl create namespace {ns}",
                plan.stack
            ));
        }
        Err(e) => {
            let e = fatal(ClusterError::from_kube(
                &e,
                "reading the namespace",
                cluster,
            ))?;
            c.status = Status::Unknown;
            c.detail = e.to_string();
        }
    }
    out.push(c);
    Ok(())
}

/// The kinds the stack needs, each at the versions mlk emits (newest first; a kind served
/// only at an older one is outdated).
async fn kinds(
    cluster: &Cluster,
    plan: &AdminPlan,
    out: &mut Vec<Check>,
) -> Result<(), ClusterError> {
    let u = &plan.uses;
    let mut wanted: Vec<(&str, &[&str], &str, bool, &str)> =
        vec![("batch", &["v1"], "Job", true, "")];
    wanted.push(match u.training {
        TrainingApi::Pytorchjob => ("kubeflow.org", &["v1"], "PyTorchJob", true, ""),
        TrainingApi::Trainjob => ("trainer.kubeflow.org", &["v1alpha1"], "TrainJob", true, ""),
    });
    wanted.push((
        "serving.kserve.io",
        &["v1beta1"],
        "InferenceService",
        false,
        " (serve steps only)",
    ));
    if plan.serving == ServingMode::Knative {
        wanted.push((
            "serving.knative.dev",
            &["v1"],
            "Service",
            false,
            " (serve steps in KServe's Knative mode only)",
        ));
    }
    match u.scheduler {
        SchedulerKind::Kueue => {
            for kind in [
                "LocalQueue",
                "ClusterQueue",
                "ResourceFlavor",
                "WorkloadPriorityClass",
                "Workload",
            ] {
                wanted.push(("kueue.x-k8s.io", &["v1beta2", "v1beta1"], kind, true, ""));
            }
        }
        SchedulerKind::Kai => wanted.push(("scheduling.run.ai", &["v2"], "Queue", true, "")),
        SchedulerKind::Default => {}
    }
    if u.sharing == GpuSharing::Dra {
        wanted.push(("resource.k8s.io", &["v1"], "DeviceClass", true, ""));
        wanted.push((
            "resource.k8s.io",
            &["v1"],
            "ResourceClaimTemplate",
            true,
            "",
        ));
    }
    if u.training == TrainingApi::Trainjob {
        wanted.push((
            "trainer.kubeflow.org",
            &["v1alpha1"],
            "ClusterTrainingRuntime",
            true,
            "",
        ));
    }
    if u.engine == crate::domain::Engine::Argo {
        for kind in ["WorkflowTemplate", "Workflow", "CronWorkflow"] {
            let note = if kind == "CronWorkflow" {
                " (scheduled pipelines only)"
            } else {
                ""
            };
            wanted.push((
                "argoproj.io",
                &["v1alpha1"],
                kind,
                kind != "CronWorkflow",
                note,
            ));
        }
    }
    for (group, versions, kind, required, note) in wanted {
        let newest = format!("{group}/{}", versions[0]);
        let mut c = check(
            "api",
            kind,
            Status::Missing,
            format!("{newest} is not served{note}"),
        );
        c.required = required;
        if let Some((_, i)) = find(cluster, group, versions, kind).await? {
            c.status = if i == 0 { Status::Ok } else { Status::Outdated };
            c.detail = format!("{group}/{} is served", versions[i]);
        }
        c.fix = match c.status {
            Status::Missing => Some(format!("install {}", operator(kind))),
            Status::Outdated => Some(format!(
                "upgrade to a release that serves {newest}: mlk emits {newest} ({})",
                operator(kind)
            )),
            _ => None,
        };
        out.push(c);
    }
    for class in &plan.device_classes {
        let found = match find(cluster, "resource.k8s.io", &["v1"], "DeviceClass").await? {
            Some((ar, _)) => {
                let api: Api<DynamicObject> = Api::all_with(cluster.client(), &ar);
                retry(|| api.get_opt(class)).await.ok().flatten().is_some()
            }
            None => false,
        };
        let mut c = check("device-class", *class, Status::Ok, "exists");
        if !found {
            c.status = Status::Missing;
            c.detail = "no such DeviceClass".into();
            c.fix = Some("install NVIDIA's DRA driver for GPUs (it creates gpu.nvidia.com and mig.nvidia.com)".into());
        }
        out.push(c);
    }
    Ok(())
}

/// KServe's default deployment mode (`deploy` in ConfigMap `kserve/inferenceservice-config`),
/// for information: mlk sets each InferenceService's mode itself. Unknown when unreadable.
async fn kserve_mode(cluster: &Cluster, plan: &AdminPlan, out: &mut Vec<Check>) {
    let api: Api<ConfigMap> = Api::namespaced(cluster.client(), "kserve");
    let mine = match plan.serving {
        ServingMode::Standard => "Standard",
        ServingMode::Knative => "Knative",
    };
    let mut c = check("api", "KServe default deployment mode", Status::Unknown, "");
    c.required = false;
    c.detail = match retry(|| api.get_opt("inferenceservice-config")).await {
        Ok(Some(cm)) => {
            let deploy = cm
                .data
                .and_then(|d| d.get("deploy").cloned())
                .unwrap_or_default();
            let mode = serde_json::from_str::<serde_json::Value>(&deploy)
                .ok()
                .and_then(|v| v.get("defaultDeploymentMode")?.as_str().map(str::to_owned));
            match mode {
                Some(m) => {
                    c.status = Status::Ok;
                    format!(
                        "{m}; mlk annotates each InferenceService with {mine}, the stack's mode"
                    )
                }
                None => "the ConfigMap names no defaultDeploymentMode".into(),
            }
        }
        Ok(None) => "no ConfigMap kserve/inferenceservice-config".into(),
        Err(e) => format!(
            "cannot read kserve/inferenceservice-config: {}",
            ClusterError::from_kube(&e, "reading KServe's configuration", cluster)
        ),
    };
    out.push(c);
}
