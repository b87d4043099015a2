//! One step, stage by stage: the merged settings, the kind's rules, GPU placement,
//! resources, policy, queue and priority, then the cache key, the expanded strings and the
//! object name. Each stage lives in the module named after it; this one only orders them.

use std::collections::BTreeMap;

use super::expr::Exprs;
use super::gpu::Placed;
use super::plan::{CacheInfo, Resources, StackInfo, Step};
use super::settings::Settings;
use super::{Cx, InputDigests, Options, ResolveError, Templated};
use super::{
    capacity, gpu, key, kind, object, outputs, policy, queue, settings, topology, volumes,
};
use crate::domain::{CacheStore, LimitsMode, StepKind};
use crate::load::{Loaded, StepDef};

/// Everything `resolve_step` needs about one step.
pub(super) struct StepCx<'a> {
    pub def: &'a StepDef,
    pub templated: &'a [Templated],
    pub depth: u32,
    pub upstream: BTreeMap<&'a str, &'a Step>,
    pub params: &'a BTreeMap<String, serde_json::Value>,
    pub exprs: &'a Exprs<'a>,
    pub digests: &'a InputDigests,
    pub opts: &'a Options,
    /// `{{ run.date }}`, or `None` when only the run knows it.
    pub run_date: Option<&'a str>,
}

/// The stack settings every step shares.
pub(super) fn stack_info(l: &Loaded) -> StackInfo {
    let s = &l.stack;
    StackInfo {
        name: s.name.get_ref().clone(),
        backend: s.backend,
        engine: s.engine,
        namespace: s.namespace.get_ref().clone(),
        context: s.context.clone(),
        scheduler: s.scheduler.kind,
        serving_mode: s.serving,
        kserve_version: s.kserve,
        training_api: s.training.api,
        training_runtime: s
            .training
            .runtime
            .clone()
            .unwrap_or_else(|| super::TRAINING_RUNTIME.into()),
        gpu_sharing: s.gpu.sharing,
        artifacts_uri: s.artifacts.uri.get_ref().trim_end_matches('/').to_owned(),
        artifacts_kind: s.artifacts.kind.clone(),
        artifacts_endpoint: s.artifacts.endpoint.clone(),
        artifacts_region: s.artifacts.region.clone(),
        launcher_image: s
            .artifacts
            .launcher_image
            .as_ref()
            .map(|i| i.get_ref().clone()),
        service_account: s.service_account.clone(),
        image_pull_secrets: s.image_pull_secrets.clone(),
        env_from_secret: s.artifacts.env_from_secret.clone(),
        network_isolation: s.policy.network_isolation,
        cache_store: s.cache.store,
    }
}

/// Resolves one step; `None` when it has errors (reported to `cx`).
pub(super) fn resolve_step(cx: &mut Cx<'_>, s: StepCx<'_>) -> Option<Step> {
    let l = cx.l;
    let def = s.def;
    let name = def.name.get_ref().clone();
    let kind = def.kind.as_ref().map_or(StepKind::Job, |k| *k.get_ref());
    let errors_before = cx.error_count();
    let stack = stack_info(l);
    let set = settings::merge(l, def, kind);

    match &set.image {
        Some(image) => policy::check_image(cx, image, &name),
        None if kind != StepKind::Serve => cx.pipeline(ResolveError::MissingImage {
            step: name.clone(),
            at: def.name.span().into(),
        }),
        None => {}
    }
    if def.command.is_none() && kind != StepKind::Serve {
        cx.pipeline(ResolveError::MissingCommand {
            step: name.clone(),
            at: def.name.span().into(),
        });
    }
    let mut shape = kind::shape(cx, def, kind, &set, &stack);
    let mut placed = gpu::place(cx, &set, &name, kind);
    let capacity = capacity::capacity(cx, &set, &mut placed);
    policy::check_gpus(cx, &set, &placed.gpu, shape.max_pods, &name);
    let queue = queue::queue(cx, &set, &name);
    let priority = queue::priority(cx, &set);
    let topology = topology::placement(cx, &set, &name, kind, queue.is_some());
    if cx.error_count() > errors_before {
        return None;
    }

    let components = key::components(cx, &s, &set);
    let cache_key = components.key();
    let (volumes, checkpoint) =
        volumes::volumes(cx, def, kind, &cache_key, l.pipeline.name.get_ref());
    let expanded = outputs::expand_step(cx, &s, &set, &stack, &cache_key);
    if let (Some(serve), Some(uri)) = (shape.serve.as_mut(), expanded.model_uri) {
        serve.uri = uri;
    }
    let (node_selector, tolerations) = set
        .placement
        .with_gpu_type(&placed.selector, &placed.tolerations);
    let mut depends_on: Vec<String> = s.upstream.keys().map(|k| (*k).to_owned()).collect();
    depends_on.sort();
    let mut step = Step {
        name,
        capacity,
        placement: topology,
        volumes,
        checkpoint,
        kind,
        object_name: String::new(),
        depends_on,
        depth: s.depth,
        image: set
            .image
            .as_ref()
            .map(|i| i.value.clone())
            .unwrap_or_default(),
        command: expanded.command,
        env: expanded.env,
        replicas: shape.replicas,
        resources: resources(&set, &placed),
        gpu: placed.gpu,
        shm: set.shm.as_ref().map(|q| q.value.to_string()),
        queue,
        priority,
        node_selector,
        tolerations,
        labels: set.labels,
        annotations: set.annotations,
        retries: set.retries,
        timeout_seconds: set.timeout_seconds,
        pending_timeout_seconds: set.pending_timeout_seconds,
        expected_duration_seconds: set.expected_duration_seconds,
        ttl_after_finished_seconds: set.ttl_after_finished_seconds,
        security: set.security,
        cache: CacheInfo {
            // A serve step is long-lived: there is no result to reuse.
            enabled: kind != StepKind::Serve
                && l.stack.cache.store != CacheStore::None
                && set.cache,
            key: cache_key,
            ttl_seconds: set.cache_ttl_seconds,
            components,
        },
        outputs: expanded.outputs,
        inputs: expanded.inputs,
        data: expanded.data,
        pytorch: shape.pytorch,
        serve: shape.serve,
    };
    engine_records(&mut step, &stack, l.pipeline.name.get_ref());
    step.object_name = object::object_name(l.pipeline.name.get_ref(), &step, &stack);
    if cx.error_count() > errors_before {
        return None;
    }
    Some(step)
}

/// In an engine's run no `mlk` process writes cache records or checks them: every cached
/// step runs through the launcher, which checks its record in the pod and writes it into the
/// step's manifest (`{uri}/{pipeline}/{step}/{key}/.manifest.json`, also for a step without
/// outputs).
fn engine_records(step: &mut Step, stack: &StackInfo, pipeline: &str) {
    let object_store = matches!(
        stack.artifacts_kind,
        crate::domain::StoreKind::Object { .. }
    );
    if stack.engine != crate::domain::Engine::Argo
        || !step.cache.enabled
        || !object_store
        || stack.launcher_image.is_none()
    {
        return;
    }
    if step.data.manifest.is_none() {
        step.data.manifest = Some(format!(
            "{}/{pipeline}/{}/{}/{}",
            stack.artifacts_uri,
            step.name,
            step.cache.key,
            super::data::MANIFEST
        ));
    }
    step.data.launcher = true;
}

/// Requests of the merged quantities, limits as the stack's `[defaults] limits` says, and the
/// GPU's extended resource (whose limit is its request).
fn resources(set: &Settings<'_>, placed: &Placed) -> Resources {
    let mut resources = Resources::default();
    for (k8s, q) in [
        ("cpu", &set.cpu),
        ("memory", &set.memory),
        ("ephemeral-storage", &set.ephemeral_storage),
    ] {
        let Some(q) = q else { continue };
        resources.requests.insert(k8s.into(), q.value.to_string());
        let limited = match set.limits {
            LimitsMode::Memory => k8s == "memory",
            LimitsMode::All => k8s == "memory" || k8s == "cpu",
            LimitsMode::None => false,
        };
        if limited {
            resources.limits.insert(k8s.into(), q.value.to_string());
        }
    }
    if let Some((resource, count)) = placed.gpu.limit() {
        resources
            .limits
            .insert(resource.to_owned(), count.to_string());
    }
    resources
}
