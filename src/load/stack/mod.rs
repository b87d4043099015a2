//! The stack file as written (SPEC §1.2), and the built-in `local` stack.
//!
//! This module owns the file as a whole and its `[stack]` table; each other table is read by
//! the module named after its concern (`storage`, `scheduling`, `workloads`, `gpu`,
//! `capacity`, `defaults`), and `docs` describes the keys in the file's JSON Schema.

mod capacity;
mod defaults;
mod docs;
mod gpu;
mod scheduling;
mod storage;
mod tenant;
mod topology;
mod workloads;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;

pub use capacity::CapacityDef;
pub use defaults::{CostDef, PolicyDef, StackDefaults};
pub(super) use docs::SCHEMA_DOCS;
pub use gpu::{DeviceRef, GpuDef, GpuTypeDef, MIG_TABLES};
pub use scheduling::{PriorityDef, QueueDef, QuotaDef, SchedulerDef};
pub use storage::{ArtifactsDef, CacheDef};
pub use tenant::{TenantDef, TenantQuotaDef};
pub use topology::{TopologyDef, TopologyLevelDef};
pub use workloads::TrainingDef;

use super::LoadError;
use super::toml::{Cx, Sp, Table};
use super::values::{check_name, choice};
use crate::domain::{Backend, Engine, ServingMode};

/// The text of the built-in `local` stack (also the reference for `examples/stacks/local.toml`).
pub const LOCAL_STACK_TOML: &str = r#"# The built-in local stack: steps run as processes on this machine.
[stack]
name = "local"
backend = "local"
namespace = "default"

[artifacts]
uri = ".mlk/artifacts"

[cache]
store = "local"

[scheduler]
kind = "default"

[defaults]
resources = { cpu = "1", memory = "2Gi" }
"#;

/// A stack file as written.
#[derive(Debug, Clone)]
pub struct StackFile {
    /// `[stack] name`.
    pub name: Sp<String>,
    /// `[stack] backend`.
    pub backend: Backend,
    /// `[stack] engine`.
    pub engine: Engine,
    /// Where `engine` is written (empty when defaulted).
    pub engine_span: std::ops::Range<usize>,
    /// `[stack] namespace`.
    pub namespace: Sp<String>,
    /// `[stack] context`.
    pub context: Option<String>,
    /// `[stack] service_account`.
    pub service_account: Option<String>,
    /// `[stack] image_pull_secrets`.
    pub image_pull_secrets: Vec<String>,
    /// `[stack] templates_dir`, resolved against the stack file's directory.
    pub templates_dir: Option<Sp<PathBuf>>,
    /// `[artifacts]`.
    pub artifacts: ArtifactsDef,
    /// `[cache]`.
    pub cache: CacheDef,
    /// `[scheduler]`.
    pub scheduler: SchedulerDef,
    /// `[serving] mode`.
    pub serving: ServingMode,
    /// `[serving] kserve`: the declared KServe version (default the newest known).
    pub kserve: &'static str,
    /// `[training]`.
    pub training: TrainingDef,
    /// `[priorities]`.
    pub priorities: BTreeMap<String, Sp<PriorityDef>>,
    /// `[gpu]`.
    pub gpu: GpuDef,
    /// `[defaults]`.
    pub defaults: StackDefaults,
    /// `[policy]`.
    pub policy: PolicyDef,
    /// `[queues.*]`.
    pub queues: BTreeMap<String, Sp<QueueDef>>,
    /// `[cost]`.
    pub cost: CostDef,
    /// `[capacity.*]`.
    pub capacity: BTreeMap<String, Sp<CapacityDef>>,
    /// `[topology]`.
    pub topology: Option<Sp<TopologyDef>>,
    /// `[tenant]`: the namespace and what `mlk stack render` puts in it.
    pub tenant: Option<TenantDef>,
}

/// Decodes a stack file's text; `dir` is the stack file's directory (None for built-ins).
pub(super) fn decode(text: &str, dir: Option<&Path>) -> (Option<StackFile>, Cx) {
    decode_with(text, dir, Cx::default())
}

/// [`decode`] with a given context (schema mode passes one with a recorder).
pub(super) fn decode_with(text: &str, dir: Option<&Path>, mut cx: Cx) -> (Option<StackFile>, Cx) {
    let Some(doc) = super::parse(text, &mut cx) else {
        return (None, cx);
    };
    let cx = &mut cx;
    let mut root = Table::root(&doc);

    let mut name = None;
    let mut backend = Backend::Kubernetes;
    let mut engine = None;
    let mut namespace = None;
    let mut context = None;
    let mut service_account = None;
    let mut image_pull_secrets = Vec::new();
    let mut templates_dir = None;
    match root.table("stack", cx) {
        Some(mut s) => {
            name = s.req::<Sp<String>>("name", cx);
            if let Some(b) = s
                .raw("backend")
                .and_then(|b| choice(b, &["kubernetes", "local"], cx))
            {
                backend = if *b.get_ref() == "local" {
                    Backend::Local
                } else {
                    Backend::Kubernetes
                };
            }
            engine = s
                .raw("engine")
                .and_then(|e| choice(e, &["mlk", "argo"], cx));
            namespace = s.opt::<Sp<String>>("namespace", cx);
            context = s.opt("context", cx);
            service_account = s.opt("service_account", cx);
            image_pull_secrets = s.opt("image_pull_secrets", cx).unwrap_or_default();
            templates_dir = s
                .opt::<Sp<String>>("templates_dir", cx)
                .and_then(|d| existing_templates_dir(&d, dir, cx));
            s.finish(cx);
        }
        None => cx.error(LoadError::MissingKey {
            key: "stack",
            table: "the stack file".into(),
            expected: "a table with at least `name`".into(),
            at: (0..0).into(),
        }),
    }
    if let Some(n) = &name {
        check_name(n, "stack name", cx);
    }
    if let Some(ns) = &namespace {
        check_name(ns, "namespace", cx);
    }

    let artifacts = storage::artifacts(&mut root, cx);
    let engine_span = engine.as_ref().map(|e| e.span()).unwrap_or(0..0);
    let engine = match engine.map(|e| *e.get_ref()) {
        Some("argo") => Engine::Argo,
        _ => Engine::Mlk,
    };
    if engine == Engine::Argo {
        engine_fits(backend, &artifacts, &engine_span, cx);
    }
    let cache = storage::cache(&mut root, (backend, engine), &artifacts, cx);
    let scheduler = scheduling::scheduler(&mut root, cx);
    let (serving, kserve) = workloads::serving(&mut root, cx);
    let training = workloads::training(&mut root, cx);
    let priorities = scheduling::priorities(&mut root, cx);
    let gpu = gpu::gpu(&mut root, cx);
    let defaults = defaults::defaults(&mut root, cx);
    let policy = defaults::policy(&mut root, cx);
    let queues = scheduling::queues(&mut root, cx);
    let cost = defaults::cost(&mut root, cx);
    let capacity = capacity::capacity(&mut root, cx);
    let topology = topology::topology(&mut root, cx);
    let tenant = tenant::tenant(&mut root, cx);
    root.mark_required("stack");
    root.finish(cx);

    let stack = name.map(|name| StackFile {
        namespace: namespace.unwrap_or_else(|| Spanned::new(0..0, "default".into())),
        name,
        backend,
        engine,
        engine_span,
        context,
        service_account,
        image_pull_secrets,
        templates_dir,
        artifacts,
        cache,
        scheduler,
        serving,
        kserve,
        training,
        priorities,
        gpu,
        defaults,
        policy,
        queues,
        cost,
        capacity,
        topology,
        tenant,
    });
    (stack, std::mem::take(cx))
}

/// Whether the rest of the stack can use `engine = "argo"`: it runs in a cluster, and its
/// tasks run the mlk binary of the launcher image (to wait for a step's workload).
fn engine_fits(
    backend: Backend,
    artifacts: &ArtifactsDef,
    at: &std::ops::Range<usize>,
    cx: &mut Cx,
) {
    if backend == Backend::Local {
        cx.error(LoadError::value(
            at.clone(),
            "needs a cluster",
            "engine \"argo\" runs pipelines in a cluster, but this stack's backend is \"local\"",
            "use `backend = \"kubernetes\"` with Argo Workflows installed in the cluster, or remove `engine`",
        ));
    }
    if artifacts.launcher_image.is_none() {
        cx.error(LoadError::value(
            at.clone(),
            "needs a launcher image",
            "engine \"argo\" needs `[artifacts] launcher_image`: its tasks run the mlk binary to wait for each step and to move its data",
            "set `[artifacts] launcher_image` (see docs/launcher.md), or remove `engine`",
        ));
    }
}

/// `templates_dir`, resolved against the stack file's directory (`dir`, absent for the
/// built-in stack and in schema mode) and required to be a directory there.
fn existing_templates_dir(d: &Sp<String>, dir: Option<&Path>, cx: &mut Cx) -> Option<Sp<PathBuf>> {
    let Some(base) = dir else {
        return Some(Spanned::new(d.span(), PathBuf::from(d.get_ref())));
    };
    let path = base.join(d.get_ref());
    if !path.is_dir() {
        cx.error(LoadError::value(
            d.span(),
            "no such directory",
            format!("templates_dir `{}` is not a directory", super::display_path(&path)),
            "it is relative to the stack file's directory; create it, or remove templates_dir to use the built-in templates",
        ));
        return None;
    }
    Some(Spanned::new(d.span(), path))
}
