//! Pod templates and object metadata of a step, as JSON values for the templates.
//!
//! Everything mlk puts on an object is decided here (labels, annotations, security context,
//! resources, volumes, scheduler wiring; DRA claim references come from [`super::dra`]); the
//! templates only lay it out.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::launcher;
use crate::domain::{Engine, EnvValue, SchedulerKind, Security, ServingMode, StepKind};
use crate::labels;
use crate::resolve::{CHECKPOINT_ENV, Plan, Step};

/// Labels every object and pod template of a step carries.
pub(super) fn step_labels(
    plan: &Plan,
    step: &Step,
    run_id: Option<&str>,
) -> BTreeMap<String, String> {
    let mut labels = step.labels.clone();
    labels.insert(labels::MANAGED_BY.into(), labels::MANAGED_BY_MLK.into());
    labels.insert(labels::PART_OF.into(), plan.pipeline.clone());
    labels.insert(labels::PIPELINE.into(), plan.pipeline.clone());
    labels.insert(labels::STEP.into(), step.name.clone());
    if let Some(run) = run_id {
        labels.insert(labels::RUN.into(), run.into());
    }
    labels
}

/// Labels every pod of a step carries: the step's, and on a stack whose engine is Argo, the
/// Workflow's name (the run id there) under mlk's run label and the label Argo finds a
/// step's logs by. Only pods get them: Argo fills in `{{workflow.name}}` when it creates the
/// object, and a pod template's labels are not checked as label values before that.
fn pod_labels(plan: &Plan, step: &Step, run_id: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = step_labels(plan, step, run_id);
    if plan.stack.engine == Engine::Argo {
        labels.insert(labels::RUN.into(), super::engine::WORKFLOW_NAME.into());
        labels.insert(
            labels::ARGO_WORKFLOW.into(),
            super::engine::WORKFLOW_NAME.into(),
        );
    }
    labels
}

/// The labels that select a step's pods (for NetworkPolicies).
pub(super) fn selector(plan: &Plan, step: &Step) -> BTreeMap<String, String> {
    BTreeMap::from([
        (labels::PIPELINE.to_owned(), plan.pipeline.clone()),
        (labels::STEP.to_owned(), step.name.clone()),
    ])
}

/// `metadata` of the step's workload object.
pub(super) fn object_meta(plan: &Plan, step: &Step, run_id: Option<&str>) -> Value {
    let mut labels = step_labels(plan, step, run_id);
    let mut annotations = step.annotations.clone();
    annotations.insert(labels::CACHE_KEY.into(), step.cache.key.clone());
    annotations.insert(labels::SYNC_WAVE.into(), step.depth.to_string());
    match plan.stack.scheduler {
        SchedulerKind::Kueue if step.kind != StepKind::Serve => {
            if let Some(q) = &step.queue {
                labels.insert(labels::KUEUE_QUEUE.into(), q.clone());
            }
            if let Some(p) = &step.priority {
                labels.insert(labels::KUEUE_PRIORITY.into(), p.name.clone());
            }
        }
        SchedulerKind::Kai => kai_labels(step, &mut labels),
        _ => {}
    }
    super::topology::workload_annotations(plan.stack.scheduler, step, &mut annotations);
    if step.kind == StepKind::Serve {
        let mode = match plan.stack.serving_mode {
            ServingMode::Standard => "Standard",
            ServingMode::Knative => "Knative",
        };
        annotations.insert(labels::KSERVE_DEPLOYMENT_MODE.into(), mode.into());
    }
    json!({
        "name": step.object_name,
        "namespace": plan.stack.namespace,
        "labels": labels,
        "annotations": annotations,
    })
}

fn kai_labels(step: &Step, labels: &mut BTreeMap<String, String>) {
    if let Some(q) = &step.queue {
        labels.insert(labels::KAI_QUEUE.into(), q.clone());
    }
    if let Some(p) = &step.priority {
        labels.insert("priorityClassName".into(), p.name.clone());
    }
}

/// Whether the workload is created suspended for Kueue to admit.
pub(super) fn suspended(plan: &Plan, step: &Step) -> bool {
    plan.stack.scheduler == SchedulerKind::Kueue
        && step.queue.is_some()
        && step.kind != StepKind::Serve
}

/// The main container, named `name` (`pytorch` for PyTorchJobs).
pub(super) fn container(plan: &Plan, step: &Step, name: &str) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("name".into(), name.into());
    c.insert("image".into(), step.image.clone().into());
    if !step.command.is_empty() {
        c.insert("command".into(), launcher::command(plan, step).into());
    }
    c.insert("env".into(), env(plan, step));
    if let Some(secret) = &plan.stack.env_from_secret {
        c.insert(
            "envFrom".into(),
            json!([{ "secretRef": { "name": secret } }]),
        );
    }
    c.insert("resources".into(), resources(step));
    c.insert("securityContext".into(), container_security());
    let mut mounts = Vec::new();
    if step.shm.is_some() {
        mounts.push(json!({ "name": "dshm", "mountPath": "/dev/shm" }));
    }
    mounts.extend(launcher::mounts(plan, step));
    for (i, v) in step.volumes.iter().enumerate() {
        mounts.push(json!({ "name": volume_name(i), "mountPath": v.path }));
    }
    if !mounts.is_empty() {
        c.insert("volumeMounts".into(), mounts.into());
    }
    Value::Object(c)
}

fn resources(step: &Step) -> Value {
    let mut r = serde_json::Map::new();
    if !step.resources.requests.is_empty() {
        r.insert("requests".into(), json!(step.resources.requests));
    }
    if !step.resources.limits.is_empty() {
        r.insert("limits".into(), json!(step.resources.limits));
    }
    if let Some(claims) = super::dra::container_claims(step) {
        r.insert("claims".into(), claims);
    }
    Value::Object(r)
}

/// The step's environment plus `MLK_PIPELINE`, `MLK_STEP`, `MLK_RUN_ID` (from the pod's
/// `mlk.dev/run` label, so `$(MLK_RUN_ID)` in commands expands to the run id) and, with a
/// checkpoint, `MLK_CHECKPOINT_DIR`.
fn env(plan: &Plan, step: &Step) -> Value {
    let mut out: Vec<Value> = step
        .env
        .iter()
        .map(|(k, v)| match v {
            EnvValue::Literal(s) => json!({ "name": k, "value": s }),
            EnvValue::Secret { name, key } => json!({ "name": k, "valueFrom": { "secretKeyRef": { "name": name, "key": key } } }),
            EnvValue::ConfigMap { name, key } => {
                json!({ "name": k, "valueFrom": { "configMapKeyRef": { "name": name, "key": key } } })
            }
        })
        .collect();
    let user_has = |n: &str| step.env.contains_key(n);
    if !user_has("MLK_PIPELINE") {
        out.push(json!({ "name": "MLK_PIPELINE", "value": plan.pipeline }));
    }
    if !user_has("MLK_STEP") {
        out.push(json!({ "name": "MLK_STEP", "value": step.name }));
    }
    if !user_has("MLK_RUN_ID") {
        out.push(json!({ "name": "MLK_RUN_ID", "valueFrom": { "fieldRef": { "fieldPath": "metadata.labels['mlk.dev/run']" } } }));
    }
    if let (Some(dir), false) = (&step.checkpoint, user_has(CHECKPOINT_ENV)) {
        out.push(json!({ "name": CHECKPOINT_ENV, "value": dir }));
    }
    // Kubernetes expands $(VAR) only from variables defined earlier in the list.
    let (mlk, user): (Vec<Value>, Vec<Value>) = out
        .into_iter()
        .partition(|v| v["name"].as_str().is_some_and(|n| n.starts_with("MLK_")));
    Value::Array(mlk.into_iter().chain(user).collect())
}

/// The pod volume of a step's `i`-th claim (claim names may hold dots; volume names may not).
fn volume_name(i: usize) -> String {
    format!("volume-{i}")
}

pub(super) fn container_security() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": { "drop": ["ALL"] },
    })
}

fn pod_security(step: &Step) -> Value {
    match step.security {
        Security::Restricted => {
            json!({ "runAsNonRoot": true, "seccompProfile": { "type": "RuntimeDefault" } })
        }
        Security::Baseline => json!({ "seccompProfile": { "type": "RuntimeDefault" } }),
    }
}

/// Pod-level fields shared by pod templates and KServe predictors.
fn pod_fields(plan: &Plan, step: &Step) -> serde_json::Map<String, Value> {
    let mut s = serde_json::Map::new();
    if let Some(sa) = &plan.stack.service_account {
        s.insert("serviceAccountName".into(), sa.clone().into());
    }
    if !plan.stack.image_pull_secrets.is_empty() {
        let secrets: Vec<Value> = plan
            .stack
            .image_pull_secrets
            .iter()
            .map(|n| json!({ "name": n }))
            .collect();
        s.insert("imagePullSecrets".into(), secrets.into());
    }
    if !step.node_selector.is_empty() {
        s.insert("nodeSelector".into(), json!(step.node_selector));
    }
    if !step.tolerations.is_empty() {
        s.insert("tolerations".into(), json!(step.tolerations));
    }
    if let Some(claims) = super::dra::pod_claims(step) {
        s.insert("resourceClaims".into(), claims);
    }
    match plan.stack.scheduler {
        SchedulerKind::Default => {
            if let Some(p) = &step.priority {
                s.insert("priorityClassName".into(), p.name.clone().into());
            }
        }
        SchedulerKind::Kai => {
            s.insert("schedulerName".into(), "kai-scheduler".into());
        }
        SchedulerKind::Kueue => {}
    }
    s.insert("securityContext".into(), pod_security(step));
    let mut volumes = Vec::new();
    if let Some(shm) = &step.shm {
        volumes
            .push(json!({ "name": "dshm", "emptyDir": { "medium": "Memory", "sizeLimit": shm } }));
    }
    volumes.extend(launcher::volumes(plan, step));
    for (i, v) in step.volumes.iter().enumerate() {
        volumes.push(
            json!({ "name": volume_name(i), "persistentVolumeClaim": { "claimName": v.claim } }),
        );
    }
    if !volumes.is_empty() {
        s.insert("volumes".into(), volumes.into());
    }
    s
}

/// A pod template (`metadata` and `spec`) whose container is called `container_name`.
pub(super) fn pod_template(
    plan: &Plan,
    step: &Step,
    container_name: &str,
    run_id: Option<&str>,
) -> Value {
    let mut labels = pod_labels(plan, step, run_id);
    if plan.stack.scheduler == SchedulerKind::Kai {
        kai_labels(step, &mut labels);
    }
    let mut spec = pod_fields(plan, step);
    if step.kind == StepKind::Job {
        spec.insert("restartPolicy".into(), "Never".into());
    }
    if let Some(init) = launcher::init_container(plan, step, container_security()) {
        spec.insert("initContainers".into(), json!([init]));
    }
    spec.insert(
        "containers".into(),
        json!([container(plan, step, container_name)]),
    );
    let mut metadata = serde_json::Map::new();
    metadata.insert("labels".into(), json!(labels));
    let mut annotations = step.gpu.annotations();
    super::topology::pod_annotations(plan, step, &mut annotations);
    if !annotations.is_empty() {
        metadata.insert("annotations".into(), json!(annotations));
    }
    json!({ "metadata": metadata, "spec": spec })
}

/// The `spec.predictor` of an InferenceService.
pub(super) fn predictor(plan: &Plan, step: &Step, run_id: Option<&str>) -> Value {
    let mut p = pod_fields(plan, step);
    let mut labels = pod_labels(plan, step, run_id);
    if plan.stack.scheduler == SchedulerKind::Kai {
        kai_labels(step, &mut labels);
    }
    p.insert("labels".into(), json!(labels));
    // KAI reads the sharing annotations from the pod; KServe copies these to it.
    let gpu_annotations = step.gpu.annotations();
    if !gpu_annotations.is_empty() {
        p.insert("annotations".into(), json!(gpu_annotations));
    }
    let Some(serve) = &step.serve else {
        return Value::Object(p);
    };
    p.insert("minReplicas".into(), serve.min_replicas.into());
    p.insert("maxReplicas".into(), serve.max_replicas.into());
    if let (Some(metric), Some(target)) = (&serve.metric, serve.target) {
        p.insert("scaleMetric".into(), metric.clone().into());
        p.insert("scaleTarget".into(), target.into());
    }
    if let Some(c) = serve.canary {
        p.insert("canaryTrafficPercent".into(), c.into());
    }
    let mut model = serde_json::Map::new();
    model.insert("modelFormat".into(), json!({ "name": serve.format }));
    if let Some(r) = &serve.runtime {
        model.insert("runtime".into(), r.clone().into());
    }
    model.insert("storageUri".into(), serve.uri.clone().into());
    if !step.image.is_empty() {
        model.insert("image".into(), step.image.clone().into());
    }
    model.insert("env".into(), env(plan, step));
    model.insert("resources".into(), resources(step));
    model.insert("securityContext".into(), container_security());
    if step.shm.is_some() {
        model.insert(
            "volumeMounts".into(),
            json!([{ "name": "dshm", "mountPath": "/dev/shm" }]),
        );
    }
    p.insert("model".into(), Value::Object(model));
    Value::Object(p)
}
