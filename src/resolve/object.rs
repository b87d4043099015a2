//! Object names: `<pipeline>-<step>-<8 hex>` for run-once workloads, where the hash covers
//! [`ObjectIdentity`], exactly the fields that define the object; `<pipeline>-<step>` for
//! serve steps. Also the check that no two steps get the same name.
//!
//! The identity is its own type so that adding a field to [`Step`] or to `plan -o json` can
//! never rename objects: a field joins the name only when it is added here.

use std::collections::BTreeMap;

use serde::Serialize;

use super::plan::{Gpu, Input, Priority, PytorchSpec, Resources, ServeSpec, StackInfo, Step};
use super::{Cx, ResolveError};
use crate::cache::key::digest_of;
use crate::domain::{
    Backend, EnvValue, GpuSharing, SchedulerKind, Security, ServingMode, StepKind, Toleration,
    TrainingApi,
};
use crate::load::MinMax;
use crate::names;

/// What a run-once workload's name hashes: the step's spec and the stack settings that shape
/// it. Its encoding is what names were first computed from (a step with its object name
/// still empty, then the stack), so existing names do not change.
#[derive(Serialize)]
pub(crate) struct ObjectIdentity<'a>(StepIdentity<'a>, StackIdentity<'a>);

/// The fields of a step that define its object.
#[derive(Serialize)]
struct StepIdentity<'a> {
    name: &'a str,
    kind: StepKind,
    /// Always empty: the name cannot hash itself.
    object_name: &'a str,
    depends_on: &'a [String],
    depth: u32,
    image: &'a str,
    command: &'a [String],
    env: &'a BTreeMap<String, EnvValue>,
    replicas: u32,
    resources: &'a Resources,
    gpu: &'a Gpu,
    shm: &'a Option<String>,
    queue: &'a Option<String>,
    priority: &'a Option<Priority>,
    node_selector: &'a BTreeMap<String, String>,
    tolerations: &'a [Toleration],
    labels: &'a BTreeMap<String, String>,
    annotations: &'a BTreeMap<String, String>,
    retries: u32,
    timeout_seconds: Option<u64>,
    expected_duration_seconds: Option<u64>,
    ttl_after_finished_seconds: Option<u64>,
    security: Security,
    cache: CacheIdentity<'a>,
    outputs: &'a BTreeMap<String, String>,
    inputs: &'a BTreeMap<String, Input>,
    pytorch: Option<PytorchIdentity>,
    serve: Option<ServeIdentity<'a>>,
}

#[derive(Serialize)]
struct CacheIdentity<'a> {
    enabled: bool,
    key: &'a str,
    ttl_seconds: Option<u64>,
}

#[derive(Serialize)]
struct PytorchIdentity {
    workers: u32,
    nproc_per_node: u32,
    elastic: Option<MinMax>,
}

#[derive(Serialize)]
struct ServeIdentity<'a> {
    format: &'a str,
    uri: &'a str,
    runtime: &'a Option<String>,
    min_replicas: u32,
    max_replicas: u32,
    metric: &'a Option<String>,
    target: Option<u32>,
    canary: Option<u32>,
}

/// The stack settings that shape a step's object.
#[derive(Serialize)]
struct StackIdentity<'a> {
    name: &'a str,
    backend: Backend,
    namespace: &'a str,
    context: &'a Option<String>,
    scheduler: SchedulerKind,
    serving_mode: ServingMode,
    training_api: TrainingApi,
    training_runtime: &'a str,
    gpu_sharing: GpuSharing,
    artifacts_uri: &'a str,
    service_account: &'a Option<String>,
    image_pull_secrets: &'a [String],
    env_from_secret: &'a Option<String>,
    network_isolation: bool,
}

impl<'a> ObjectIdentity<'a> {
    /// The identity of `s` on `stack`.
    pub(crate) fn of(s: &'a Step, stack: &'a StackInfo) -> Self {
        let pytorch = s.pytorch.as_ref().map(|p: &PytorchSpec| PytorchIdentity {
            workers: p.workers,
            nproc_per_node: p.nproc_per_node,
            elastic: p.elastic,
        });
        let serve = s.serve.as_ref().map(|v: &'a ServeSpec| ServeIdentity {
            format: &v.format,
            uri: &v.uri,
            runtime: &v.runtime,
            min_replicas: v.min_replicas,
            max_replicas: v.max_replicas,
            metric: &v.metric,
            target: v.target,
            canary: v.canary,
        });
        let step = StepIdentity {
            name: &s.name,
            kind: s.kind,
            object_name: "",
            depends_on: &s.depends_on,
            depth: s.depth,
            image: &s.image,
            command: &s.command,
            env: &s.env,
            replicas: s.replicas,
            resources: &s.resources,
            gpu: &s.gpu,
            shm: &s.shm,
            queue: &s.queue,
            priority: &s.priority,
            node_selector: &s.node_selector,
            tolerations: &s.tolerations,
            labels: &s.labels,
            annotations: &s.annotations,
            retries: s.retries,
            timeout_seconds: s.timeout_seconds,
            expected_duration_seconds: s.expected_duration_seconds,
            ttl_after_finished_seconds: s.ttl_after_finished_seconds,
            security: s.security,
            cache: CacheIdentity {
                enabled: s.cache.enabled,
                key: &s.cache.key,
                ttl_seconds: s.cache.ttl_seconds,
            },
            outputs: &s.outputs,
            inputs: &s.inputs,
            pytorch,
            serve,
        };
        ObjectIdentity(step, stack.into())
    }
}

impl<'a> From<&'a StackInfo> for StackIdentity<'a> {
    fn from(s: &'a StackInfo) -> Self {
        StackIdentity {
            name: &s.name,
            backend: s.backend,
            namespace: &s.namespace,
            context: &s.context,
            scheduler: s.scheduler,
            serving_mode: s.serving_mode,
            training_api: s.training_api,
            training_runtime: &s.training_runtime,
            gpu_sharing: s.gpu_sharing,
            artifacts_uri: &s.artifacts_uri,
            service_account: &s.service_account,
            image_pull_secrets: &s.image_pull_secrets,
            env_from_secret: &s.env_from_secret,
            network_isolation: s.network_isolation,
        }
    }
}

/// The name of a step's object in `pipeline` on `stack`.
pub(super) fn object_name(pipeline: &str, step: &Step, stack: &StackInfo) -> String {
    match step.kind {
        StepKind::Serve => names::serve_name(pipeline, &step.name),
        _ => names::workload_name(
            pipeline,
            &step.name,
            &digest_of(&ObjectIdentity::of(step, stack)),
        ),
    }
}

/// Checks that object names are unique.
pub(super) fn check_unique(cx: &mut Cx<'_>, steps: &[Step]) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for s in steps {
        if let Some(first) = seen.insert(&s.object_name, &s.name) {
            let span = cx.step_span(&s.name);
            cx.pipeline(ResolveError::NameCollision {
                name: s.object_name.clone(),
                first: first.to_owned(),
                second: s.name.clone(),
                at: span.into(),
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::resolve::testing::resolve_texts;

    const STACK: &str =
        "[stack]\nname = \"s\"\nnamespace = \"ml\"\n[artifacts]\nuri = \"s3://b/m\"\n";
    const PIPELINE: &str =
        "[pipeline]\nname = \"p\"\n[steps.train]\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\n";

    #[test]
    fn the_name_hashes_the_identity_not_the_plan_json() {
        let plan = resolve_texts(STACK, PIPELINE).unwrap();
        let step = &plan.steps[0];
        // Pinned: a different value here renames every Job of every user.
        assert_eq!(step.object_name, "p-train-38aabfb9");
        assert_eq!(object_name("p", step, &plan.stack), step.object_name);

        // A field outside the identity (the name itself; any field added to `Step` later
        // unless it is added to `StepIdentity` on purpose) changes the step's JSON, not its name.
        let mut later = step.clone();
        later.object_name = "something-else".into();
        assert_ne!(
            serde_json::to_string(&later).unwrap(),
            serde_json::to_string(step).unwrap()
        );
        assert_eq!(object_name("p", &later, &plan.stack), step.object_name);

        // A field of the identity does rename it.
        let mut bigger = step.clone();
        bigger.retries = 3;
        assert_ne!(object_name("p", &bigger, &plan.stack), step.object_name);
    }
}
