//! A pipeline for an engine that runs in the cluster (`[stack] engine = "argo"`): one Argo
//! Workflows `WorkflowTemplate` per pipeline, and a `CronWorkflow` for a scheduled one.
//!
//! Each step is two DAG tasks. `create-STEP` is a resource template that creates exactly the
//! object mlk renders for the step (launcher included); `wait-STEP` runs `mlk wait KIND NAME`
//! in the launcher image and ends when mlk's own rule says the object succeeded or failed
//! (`cluster::wait::outcome`). Argo's `successCondition` cannot pick one entry of
//! `status.conditions` (argo#2288), and every rule mlk has for its kinds is such a condition,
//! so the wait is always a task: its why-pending lines end up in Argo's logs too. Retries and
//! timeouts stay in the object (`backoffLimit`, `activeDeadlineSeconds`): the tasks carry no
//! `retryStrategy`, so nothing is retried twice. A step's downstream tasks depend on its
//! wait task, so the DAG is the pipeline's.
//!
//! Objects that support a step (NetworkPolicies, ResourceClaimTemplates) do not change from
//! run to run: they stay plain documents next to the template.

use serde_json::{Value, json};

use super::{Manifest, RenderError, RenderErrorKind, Templates, launcher, sort, yaml};
use crate::domain::{Engine, StepKind, TrainingApi};
use crate::labels;
use crate::resolve::{AdminPlan, Plan, Schedule, Step};

/// The ServiceAccount Argo runs a pipeline's pods as (`mlk stack render` emits it with its
/// Role and RoleBinding).
pub(crate) const WORKFLOW_SERVICE_ACCOUNT: &str = "mlk-workflow";

/// The Workflow's name as Argo fills it in: a run's id on an engine's stack.
pub(crate) const WORKFLOW_NAME: &str = "{{workflow.name}}";

/// The create task's output (and the wait task's input) that names the created workload.
const NAME_PARAMETER: &str = "name";

/// Argo's API version.
const ARGO_API: &str = "argoproj.io/v1alpha1";

/// The DAG template every Workflow of the pipeline starts at.
const ENTRYPOINT: &str = "pipeline";

/// The kinds a step's workload can have: a task creates it; anything else supports it.
const WORKLOAD_KINDS: &[&str] = &["Job", "PyTorchJob", "TrainJob", "InferenceService"];

/// The name of the task (and template) that creates a step's object.
pub(crate) fn create_task(step: &str) -> String {
    format!("create-{step}")
}

/// The name of the task (and template) that waits for a step's object.
pub(crate) fn wait_task(step: &str) -> String {
    format!("wait-{step}")
}

/// The Workflow parameter that leaves a cached step out of a run (`"true"`).
pub(crate) fn skip_parameter(step: &str) -> String {
    format!("skip-{step}")
}

/// The WorkflowTemplate (and CronWorkflow) of a plan, with its steps' supporting objects.
pub(crate) fn workflows(plan: &Plan, templates: &Templates) -> Result<Vec<Manifest>, RenderError> {
    let objects = super::render(plan, templates, None)?;
    let (workloads, mut out): (Vec<Manifest>, Vec<Manifest>) = objects
        .into_iter()
        .partition(|m| WORKLOAD_KINDS.contains(&m.kind.as_str()));
    out.push(workflow_template(plan, &workloads)?);
    if let Some(s) = &plan.schedule {
        out.push(cron_workflow(plan, s)?);
    }
    sort(&mut out);
    Ok(out)
}

/// Labels of the Workflow objects (and of the Workflows a CronWorkflow starts).
fn workflow_labels(plan: &Plan) -> Value {
    json!({
        labels::MANAGED_BY: labels::MANAGED_BY_MLK,
        labels::PART_OF: plan.pipeline,
        labels::PIPELINE: plan.pipeline,
        labels::STACK: plan.stack.name,
    })
}

fn workflow_template(plan: &Plan, workloads: &[Manifest]) -> Result<Manifest, RenderError> {
    let mut tasks = Vec::new();
    let mut parameters = Vec::new();
    let mut templates = vec![Value::Null];
    for step in &plan.steps {
        let Some(object) = workloads
            .iter()
            .find(|m| m.step.as_deref() == Some(&step.name))
        else {
            continue;
        };
        let create = create_task(&step.name);
        let wait = wait_task(&step.name);
        let upstream: Vec<String> = step.depends_on.iter().map(|d| wait_task(d)).collect();
        let mut task = json!({ "name": create, "template": create });
        if !upstream.is_empty() {
            task["dependencies"] = json!(upstream);
        }
        let mut wait_task = json!({ "name": wait, "template": wait, "dependencies": [create] });
        if step.kind != StepKind::Serve {
            wait_task["arguments"] = json!({ "parameters": [{
                "name": NAME_PARAMETER,
                "value": format!("{{{{tasks.{create}.outputs.parameters.{NAME_PARAMETER}}}}}"),
            }] });
        }
        // A run can leave out a step whose cache record and outputs it found (`mlk run`
        // sets the parameter); its downstream tasks go on, as after a skipped task.
        if step.cache.enabled {
            let when = format!(
                "{{{{workflow.parameters.{}}}}} != true",
                skip_parameter(&step.name)
            );
            task["when"] = when.clone().into();
            wait_task["when"] = when.into();
            parameters.push(json!({ "name": skip_parameter(&step.name), "value": "false" }));
        }
        tasks.push(task);
        tasks.push(wait_task);
        templates.push(
            create_template(step, object).map_err(|message| RenderErrorKind::Yaml {
                name: object.name.clone(),
                step: step.name.clone(),
                message,
            })?,
        );
        templates.push(wait_template(plan, step, object));
    }
    templates[0] = json!({ "name": ENTRYPOINT, "dag": { "tasks": tasks } });
    let doc = json!({
        "apiVersion": ARGO_API,
        "kind": "WorkflowTemplate",
        "metadata": {
            "name": plan.pipeline,
            "namespace": plan.stack.namespace,
            "labels": workflow_labels(plan),
        },
        "spec": {
            "entrypoint": ENTRYPOINT,
            "arguments": { "parameters": parameters },
            "serviceAccountName": WORKFLOW_SERVICE_ACCOUNT,
            "podMetadata": { "labels": { labels::MANAGED_BY: labels::MANAGED_BY_MLK, labels::PIPELINE: plan.pipeline } },
            "templates": templates,
        },
    });
    manifest(plan, doc, "WorkflowTemplate")
}

/// The resource template that creates a step's object. A serve step's InferenceService
/// outlives the run (it is the service): it is applied and not owned by the Workflow.
/// A run-once workload is created and owned by the Workflow, so deleting the Workflow
/// deletes it.
///
/// A run-once workload is created under a name the API server makes unique
/// (`generateName: NAME-`): the same spec is created by every run of the template (every
/// night of a schedule), and the runs before may still exist. The name the server chose is
/// the task's output parameter, which the wait task waits for.
fn create_template(step: &Step, object: &Manifest) -> Result<Value, String> {
    let serve = step.kind == StepKind::Serve;
    let mut manifest = object.yaml.clone();
    if !serve {
        let line = format!("\n  name: {}\n", object.name);
        let Some(at) = manifest.find(&line) else {
            return Err(format!("no `name: {}` in {}", object.name, object.kind));
        };
        manifest.replace_range(
            at..at + line.len(),
            &format!(
                "\n  generateName: {}\n",
                crate::names::generate_prefix(&object.name)
            ),
        );
    }
    let mut resource = json!({
        "action": if serve { "apply" } else { "create" },
        "manifest": manifest,
    });
    let mut template = json!({ "name": create_task(&step.name) });
    if !serve {
        resource["setOwnerReference"] = true.into();
        template["outputs"] = json!({ "parameters": [{
            "name": NAME_PARAMETER,
            "valueFrom": { "jsonPath": "{.metadata.name}" },
        }] });
    }
    template["resource"] = resource;
    Ok(template)
}

/// The container that waits for a step's object with mlk's rules: a run-once workload by
/// the name its create task reports, a serve step's InferenceService by its own.
fn wait_template(plan: &Plan, step: &Step, object: &Manifest) -> Value {
    let image = plan.stack.launcher_image.clone().unwrap_or_default();
    let serve = step.kind == StepKind::Serve;
    let name = if serve {
        object.name.clone()
    } else {
        format!("{{{{inputs.parameters.{NAME_PARAMETER}}}}}")
    };
    let mut template = json!({
        "name": wait_task(&step.name),
        "metadata": { "labels": { labels::STEP: step.name } },
        // The launcher image runs as a non-root user: the pod passes `restricted` Pod Security.
        "securityContext": { "runAsNonRoot": true, "seccompProfile": { "type": "RuntimeDefault" } },
        "container": {
            "name": "main",
            "image": image,
            "command": [
                launcher::IMAGE_BINARY, "wait", object.kind, name,
                "--namespace", plan.stack.namespace, "--run", WORKFLOW_NAME,
            ],
            "resources": {
                "requests": { "cpu": "10m", "memory": "32Mi" },
                "limits": { "memory": "64Mi" },
            },
            "securityContext": super::pod::container_security(),
        },
    });
    if !serve {
        template["inputs"] = json!({ "parameters": [{ "name": NAME_PARAMETER }] });
    }
    template
}

fn cron_workflow(plan: &Plan, s: &Schedule) -> Result<Manifest, RenderError> {
    let mut spec = json!({
        "schedules": [s.cron],
        "concurrencyPolicy": s.concurrency.argo(),
        "workflowMetadata": { "labels": workflow_labels(plan) },
        "workflowSpec": { "workflowTemplateRef": { "name": plan.pipeline } },
    });
    if let Some(tz) = &s.timezone {
        spec["timezone"] = tz.clone().into();
    }
    let doc = json!({
        "apiVersion": ARGO_API,
        "kind": "CronWorkflow",
        "metadata": {
            "name": plan.pipeline,
            "namespace": plan.stack.namespace,
            "labels": workflow_labels(plan),
        },
        "spec": spec,
    });
    manifest(plan, doc, "CronWorkflow")
}

/// One Argo document, canonically.
fn manifest(plan: &Plan, doc: Value, kind: &str) -> Result<Manifest, RenderError> {
    let err = |message: String| -> RenderError {
        RenderErrorKind::Yaml {
            name: "engine".into(),
            step: plan.pipeline.clone(),
            message,
        }
        .into()
    };
    let value = serde_yaml::to_value(&doc).map_err(|e| err(e.to_string()))?;
    let text = yaml::emit_document(&value).map_err(|e| err(e.to_string()))?;
    Ok(Manifest {
        api_version: ARGO_API.into(),
        kind: kind.into(),
        name: plan.pipeline.clone(),
        namespace: Some(plan.stack.namespace.clone()),
        step: None,
        yaml: text,
    })
}

/// The most bytes one object may have as Kubernetes stores it by default: etcd's
/// `--max-request-bytes` (1.5 MiB), which also bounds the object's managed fields and status.
const OBJECT_LIMIT: usize = 1536 * 1024;

/// What to say of the engine's documents that the API server would refuse for their size:
/// a WorkflowTemplate holds every step's object, so a pipeline of hundreds of steps outgrows
/// what one Kubernetes object may be.
pub(crate) fn too_large(manifests: &[Manifest]) -> Vec<String> {
    manifests
        .iter()
        .filter(|m| m.kind == "WorkflowTemplate" && m.yaml.len() > OBJECT_LIMIT)
        .map(|m| {
            format!(
                "WorkflowTemplate {} is {:.1} MiB, and a Kubernetes object may be at most 1.5 MiB by default (etcd's --max-request-bytes; Argo also stores the Workflow's status beside it): the API server will likely refuse it. Split the pipeline into smaller ones, or use the mlk engine, which applies each step's object on its own",
                m.name,
                m.yaml.len() as f64 / (1024.0 * 1024.0)
            )
        })
        .collect()
}

/// The workflow ServiceAccount, Role and RoleBinding an engine needs in the stack's
/// namespace (none for mlk's own engine): exactly the verbs its tasks use. A create task
/// creates a step's workload and Argo reads it back (a serve step's is applied: get, create,
/// patch); a wait task reads the workload and lists its pods (`mlk wait`); Argo's executor
/// reports each task's result as a WorkflowTaskResult.
pub(crate) fn workflow_access(plan: &AdminPlan) -> Vec<Value> {
    if plan.engine != Engine::Argo {
        return Vec::new();
    }
    let training = match plan.training_api {
        TrainingApi::Pytorchjob => ("kubeflow.org", "pytorchjobs"),
        TrainingApi::Trainjob => ("trainer.kubeflow.org", "trainjobs"),
    };
    let run_once = ["create", "get", "list", "watch"];
    let rules = json!([
        { "apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"] },
        { "apiGroups": ["argoproj.io"], "resources": ["workflowtaskresults"], "verbs": ["create", "patch"] },
        { "apiGroups": ["batch"], "resources": ["jobs"], "verbs": run_once },
        { "apiGroups": [training.0], "resources": [training.1], "verbs": run_once },
        { "apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": ["create", "get", "list", "patch", "watch"] },
    ]);
    let meta = json!({
        "name": WORKFLOW_SERVICE_ACCOUNT,
        "namespace": plan.namespace,
        "labels": { labels::MANAGED_BY: labels::MANAGED_BY_MLK, labels::STACK: plan.stack },
    });
    vec![
        json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta }),
        json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta, "rules": rules }),
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": WORKFLOW_SERVICE_ACCOUNT },
            "subjects": [{ "kind": "ServiceAccount", "name": WORKFLOW_SERVICE_ACCOUNT, "namespace": plan.namespace }],
        }),
    ]
}
