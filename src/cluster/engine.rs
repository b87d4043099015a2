//! A run handed to Argo Workflows (`[stack] engine = "argo"`): the WorkflowTemplate and the
//! steps' supporting objects applied, a Workflow named after the run id created from the
//! template, and the Workflow's nodes read back as step states.

use std::collections::{BTreeMap, BTreeSet};

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::backend::FIELD_MANAGER;
use super::preflight::served;
use super::{Cluster, ClusterError, retry};
use crate::labels;
use crate::render::Manifest;
use crate::render::engine::{create_task, skip_parameter, wait_task};

/// Argo's group and version.
const ARGO: (&str, &str) = ("argoproj.io", "v1alpha1");

/// Why a run could not be handed to Argo.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum EngineError {
    /// The cluster does not serve Argo's Workflow kind.
    #[error(
        "the cluster does not serve argoproj.io/v1alpha1 Workflow: Argo Workflows is not installed"
    )]
    #[diagnostic(
        code(mlk::cluster::argo_missing),
        help(
            "install the Argo Workflows v4 controller and its CRDs in the cluster, or remove `engine = \"argo\"` from the stack to run the DAG from mlk"
        )
    )]
    ArgoMissing,
    /// The cluster refused or failed a request.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Cluster(#[from] ClusterError),
    /// An object was refused.
    #[error("{object} was refused: {message}")]
    #[diagnostic(
        code(mlk::cluster::engine_apply),
        help(
            "check the object with `mlk render … | kubectl apply --dry-run=server -f -`, and that the Argo CRDs are v4's"
        )
    )]
    Refused {
        /// `Kind/name`.
        object: String,
        /// What the API server said.
        message: String,
    },
}

/// Applies `manifests` (the WorkflowTemplate and supporting objects) and creates the
/// Workflow `run_id` from the template `pipeline`, leaving out the steps of `cached`.
pub(crate) fn submit(
    cluster: &Cluster,
    manifests: &[Manifest],
    (pipeline, run_id): (&str, &str),
    cached: &[String],
) -> Result<(), EngineError> {
    if cluster
        .block_on(served(cluster, ARGO.0, ARGO.1, "Workflow"))?
        .is_none()
    {
        return Err(EngineError::ArgoMissing);
    }
    let mut workflow = json!({
        "apiVersion": format!("{}/{}", ARGO.0, ARGO.1),
        "kind": "Workflow",
        "metadata": {
            "name": run_id,
            "labels": {
                labels::MANAGED_BY: labels::MANAGED_BY_MLK,
                labels::PIPELINE: pipeline,
                labels::RUN: run_id,
            },
        },
        "spec": { "workflowTemplateRef": { "name": pipeline } },
    });
    let skip: Vec<Value> = cached
        .iter()
        .map(|s| json!({ "name": skip_parameter(s), "value": "true" }))
        .collect();
    if !skip.is_empty() {
        workflow["spec"]["arguments"] = json!({ "parameters": skip });
    }
    let mut docs = Vec::new();
    for m in manifests {
        let doc: Value = serde_yaml::from_str(&m.yaml).map_err(|e| EngineError::Refused {
            object: format!("{}/{}", m.kind, m.name),
            message: e.to_string(),
        })?;
        docs.push(doc);
    }
    docs.push(workflow);
    for doc in docs {
        apply(cluster, doc)?;
    }
    Ok(())
}

/// Server-side apply of one document in the cluster's namespace.
fn apply(cluster: &Cluster, mut doc: Value) -> Result<(), EngineError> {
    let text = |p: &str| {
        doc.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let (api_version, kind, name) = (text("/apiVersion"), text("/kind"), text("/metadata/name"));
    let object = format!("{kind}/{name}");
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    let Some(ar) = cluster.block_on(served(cluster, group, version, &kind))? else {
        return Err(EngineError::Refused {
            object,
            message: format!("the cluster does not serve {api_version} {kind}"),
        });
    };
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("namespace".into(), cluster.namespace.clone().into());
    }
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client(), &cluster.namespace, &ar);
    let params = PatchParams::apply(FIELD_MANAGER).validation_strict();
    let patch = Patch::Apply(&doc);
    cluster
        .block_on(retry(|| api.patch(&name, &params, &patch)))
        .map(|_| ())
        .map_err(|e| match e {
            kube::Error::Api(r) => EngineError::Refused {
                object,
                message: format!("{} ({} {})", r.message, r.code, r.reason),
            },
            other => ClusterError::from_kube(&other, "applying the workflow", cluster).into(),
        })
}

/// A Workflow as mlk reads it: its phase and its steps' states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WorkflowState {
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Error` (empty before the controller
    /// saw it).
    pub phase: String,
    /// Step → its state (`Pending`, `Running`, `Succeeded`, `Failed`) and a failed node's
    /// message.
    pub steps: BTreeMap<String, (String, String)>,
}

impl WorkflowState {
    /// Whether Argo is done with the Workflow.
    pub(crate) fn finished(&self) -> bool {
        matches!(self.phase.as_str(), "Succeeded" | "Failed" | "Error")
    }
}

/// The Workflow `run_id`, read once; `None` when it does not exist.
pub(crate) fn workflow_state(
    cluster: &Cluster,
    steps: &[String],
    run_id: &str,
) -> Result<Option<WorkflowState>, EngineError> {
    let Some(api) = workflows(cluster)? else {
        return Err(EngineError::ArgoMissing);
    };
    let wf = cluster
        .block_on(retry(|| api.get_opt(run_id)))
        .map_err(|e| ClusterError::from_kube(&e, "reading the workflow", cluster))?;
    Ok(wf.map(|wf| state_of(&wf.data, steps)))
}

/// The Workflow `run_id` when the cluster serves Workflows and has it, with the steps its
/// nodes name (for `mlk status RUN --cluster`, which has no plan).
pub(crate) fn find_workflow(
    cluster: &Cluster,
    run_id: &str,
) -> Result<Option<WorkflowState>, ClusterError> {
    let Some(api) = workflows(cluster)? else {
        return Ok(None);
    };
    let wf = cluster
        .block_on(retry(|| api.get_opt(run_id)))
        .map_err(|e| ClusterError::from_kube(&e, "reading the workflow", cluster))?;
    Ok(wf.map(|wf| {
        let steps: BTreeSet<String> = wf
            .data
            .pointer("/status/nodes")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
            .filter_map(|n| n.get("templateName").and_then(Value::as_str))
            .filter_map(|t| {
                t.strip_prefix("create-")
                    .or_else(|| t.strip_prefix("wait-"))
            })
            .map(str::to_owned)
            .collect();
        let steps: Vec<String> = steps.into_iter().collect();
        state_of(&wf.data, &steps)
    }))
}

/// Deletes the Workflow `run_id` (Argo's garbage collection deletes the objects it owns);
/// whether there was one.
pub(crate) fn delete_workflow(cluster: &Cluster, run_id: &str) -> Result<bool, ClusterError> {
    let Some(api) = workflows(cluster)? else {
        return Ok(false);
    };
    let dp = DeleteParams::background();
    match cluster.block_on(retry(|| api.delete(run_id, &dp))) {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(r)) if r.code == 404 => Ok(false),
        Err(e) => Err(ClusterError::from_kube(
            &e,
            "deleting the workflow",
            cluster,
        )),
    }
}

/// The Workflows of the cluster's namespace, when the cluster serves them.
fn workflows(cluster: &Cluster) -> Result<Option<Api<DynamicObject>>, ClusterError> {
    let ar = cluster.block_on(served(cluster, ARGO.0, ARGO.1, "Workflow"))?;
    Ok(ar.map(|ar| Api::namespaced_with(cluster.client(), &cluster.namespace, &ar)))
}

/// A step's state from its create and wait nodes: failed when either failed, succeeded when
/// its wait node succeeded, running once its create node started, pending before.
fn state_of(data: &Value, steps: &[String]) -> WorkflowState {
    let phase = data
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let nodes: Vec<&Value> = data
        .pointer("/status/nodes")
        .and_then(Value::as_object)
        .map(|m| m.values().collect())
        .unwrap_or_default();
    let node = |template: &str| {
        nodes.iter().find(|n| {
            n.get("templateName").and_then(Value::as_str) == Some(template)
                || n.get("displayName").and_then(Value::as_str) == Some(template)
        })
    };
    let field = |n: &Value, k: &str| {
        n.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let mut out = BTreeMap::new();
    for step in steps {
        let create = node(&create_task(step));
        let wait = node(&wait_task(step));
        let failed = [create, wait]
            .into_iter()
            .flatten()
            .find(|n| matches!(field(n, "phase").as_str(), "Failed" | "Error"));
        let state = match (failed, wait.map(|n| field(n, "phase"))) {
            (Some(n), _) => ("Failed".to_owned(), field(n, "message")),
            (None, Some(p)) if p == "Succeeded" => ("Succeeded".into(), String::new()),
            (None, Some(p)) if p == "Skipped" || p == "Omitted" => ("Cached".into(), String::new()),
            _ if create.is_some() => ("Running".into(), String::new()),
            _ => ("Pending".into(), String::new()),
        };
        out.insert(step.clone(), state);
    }
    WorkflowState { phase, steps: out }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn steps_read_from_nodes() {
        let wf = json!({"status": {"phase": "Failed", "nodes": {
            "a": {"templateName": "create-prep", "phase": "Succeeded"},
            "b": {"templateName": "wait-prep", "phase": "Succeeded"},
            "c": {"templateName": "create-train", "phase": "Succeeded"},
            "d": {"templateName": "wait-train", "phase": "Failed", "message": "exit code 1"},
        }}});
        let steps = ["prep", "train", "eval"].map(String::from);
        let s = state_of(&wf, &steps);
        assert!(s.finished());
        assert_eq!(s.steps["prep"].0, "Succeeded");
        assert_eq!(s.steps["train"], ("Failed".into(), "exit code 1".into()));
        assert_eq!(s.steps["eval"].0, "Pending");
    }
}
