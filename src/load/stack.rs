//! The stack file as written (SPEC §1.2), and the built-in `local` stack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml::Spanned;
use toml::de::DeValue;

use super::LoadError;
use super::pipeline::{ResourcesDef, Toleration, count, resources};
use super::toml::{Cx, Sp, Table};
use super::values::{check_name, choice, string_map};
use crate::duration::Duration;
use crate::quantity::Quantity;

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

/// Where steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A Kubernetes cluster.
    Kubernetes,
    /// Local processes.
    Local,
}

/// A stack file as written.
#[derive(Debug, Clone)]
pub struct StackFile {
    /// `[stack] name`.
    pub name: Sp<String>,
    /// `[stack] backend`.
    pub backend: Backend,
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
}

/// `[artifacts]`.
#[derive(Debug, Clone)]
pub struct ArtifactsDef {
    /// Base URI of step outputs.
    pub uri: Sp<String>,
    /// A Secret whose keys become environment variables of every step (storage credentials).
    pub env_from_secret: Option<String>,
}

/// Where cache records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStore {
    /// ConfigMaps in the stack namespace.
    Configmap,
    /// `.mlk/cache` on this machine.
    Local,
    /// No caching.
    None,
}

/// `[cache]`.
#[derive(Debug, Clone)]
pub struct CacheDef {
    /// The store.
    pub store: CacheStore,
    /// Default maximum age of a usable record.
    pub ttl: Option<Duration>,
}

/// The scheduler that admits workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SchedulerKind {
    /// The default kube-scheduler (priorityClassName only).
    Default,
    /// Kueue.
    Kueue,
    /// NVIDIA KAI Scheduler.
    Kai,
}

/// `[scheduler]`.
#[derive(Debug, Clone)]
pub struct SchedulerDef {
    /// Which scheduler.
    pub kind: SchedulerKind,
    /// Default queue.
    pub queue: Option<Sp<String>>,
    /// Default priority name.
    pub priority: Option<Sp<String>>,
}

/// KServe deployment mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServingMode {
    /// Raw Deployments with HPA.
    Standard,
    /// Knative with KPA.
    Knative,
}

/// Which Kubeflow training API distributed steps compile to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrainingApi {
    /// `kubeflow.org/v1` PyTorchJob.
    Pytorchjob,
    /// `trainer.kubeflow.org/v1alpha1` TrainJob.
    Trainjob,
}

/// `[training]`.
#[derive(Debug, Clone)]
pub struct TrainingDef {
    /// The API.
    pub api: TrainingApi,
    /// The TrainJob runtime (default ClusterTrainingRuntime `torch-distributed`).
    pub runtime: Option<String>,
    /// Where `api` is written (empty when defaulted).
    pub api_span: std::ops::Range<usize>,
}

/// One `[priorities]` entry.
#[derive(Debug, Clone, Serialize)]
pub struct PriorityDef {
    /// Priority value.
    pub value: i64,
    /// Whether workloads of this priority may be preempted.
    pub preemptible: Option<bool>,
    /// Description for the PriorityClass objects.
    pub description: Option<String>,
}

/// How GPUs are shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GpuSharing {
    /// Whole devices only.
    #[default]
    None,
    /// KAI fractions and GPU memory.
    Kai,
    /// MIG profiles.
    Mig,
    /// Device-plugin time-slicing.
    TimeSlicing,
}

/// `[gpu]`.
#[derive(Debug, Clone, Default)]
pub struct GpuDef {
    /// Sharing mode.
    pub sharing: GpuSharing,
    /// GPU type of steps that name none.
    pub default_type: Option<Sp<String>>,
    /// Time-slicing resource name.
    pub shared_resource: Option<Sp<String>>,
    /// Where `sharing` is written (empty when defaulted).
    pub sharing_span: std::ops::Range<usize>,
    /// `[gpu.types.*]`.
    pub types: BTreeMap<String, Sp<GpuTypeDef>>,
}

/// One `[gpu.types.NAME]`.
#[derive(Debug, Clone, Default)]
pub struct GpuTypeDef {
    /// Memory of one device.
    pub memory: Option<Sp<Quantity>>,
    /// Node labels that select this type.
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for nodes of this type.
    pub tolerations: Vec<Toleration>,
    /// Price of one device-hour.
    pub hourly_cost: Option<f64>,
    /// MIG profiles, overriding the built-in table.
    pub mig_profiles: Option<Vec<Sp<String>>>,
    /// Which built-in MIG profile table applies (else chosen by `memory`).
    pub mig: Option<Sp<&'static str>>,
}

/// The built-in MIG profile tables a `[gpu.types.X] mig` key may name.
pub const MIG_TABLES: &[&str] = &[
    "a100-40gb",
    "a100-80gb",
    "h100-80gb",
    "h100-nvl-94gb",
    "h200-141gb",
];

/// `[cost]`: prices for estimates beyond GPUs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CostDef {
    /// Price of one CPU core for one hour.
    pub cpu_hourly: Option<f64>,
    /// Price of one GiB of memory for one hour.
    pub memory_gib_hourly: Option<f64>,
}

/// Which resources get limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitsMode {
    /// Memory limit = request, no CPU limit.
    #[default]
    Memory,
    /// CPU and memory limits = requests.
    All,
    /// No CPU or memory limits.
    None,
}

/// Pod Security Standards profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// `restricted`.
    #[default]
    Restricted,
    /// `baseline`.
    Baseline,
}

/// `[defaults]` of a stack.
#[derive(Debug, Clone, Default)]
pub struct StackDefaults {
    /// Default resources.
    pub resources: ResourcesDef,
    /// Which limits are set.
    pub limits: LimitsMode,
    /// Security profile.
    pub security: Security,
    /// Labels on every object.
    pub labels: BTreeMap<String, String>,
    /// Annotations on every object.
    pub annotations: BTreeMap<String, String>,
    /// How long finished jobs are kept.
    pub ttl_after_finished: Option<Duration>,
    /// Node selector for every pod.
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for every pod.
    pub tolerations: Vec<Toleration>,
}

/// `[policy]`.
#[derive(Debug, Clone, Default)]
pub struct PolicyDef {
    /// Image prefixes that are allowed.
    pub allowed_registries: Option<Sp<Vec<String>>>,
    /// Whether images must be pinned by digest.
    pub require_digest: bool,
    /// Most GPUs one step may use (all replicas).
    pub max_gpus_per_step: Option<Sp<u32>>,
    /// Whether training jobs get a NetworkPolicy.
    pub network_isolation: bool,
}

/// `[queues.NAME]`.
#[derive(Debug, Clone, Default)]
pub struct QueueDef {
    /// Cohort to borrow within.
    pub cohort: Option<String>,
    /// Nominal quota.
    pub quota: QuotaDef,
    /// How much may be borrowed beyond the quota.
    pub borrowing_limit: QuotaDef,
}

/// cpu / memory / gpu amounts of a queue.
#[derive(Debug, Clone, Default)]
pub struct QuotaDef {
    /// CPU.
    pub cpu: Option<Sp<Quantity>>,
    /// Memory.
    pub memory: Option<Sp<Quantity>>,
    /// GPUs.
    pub gpu: Option<Sp<u32>>,
}

fn quota(v: &Sp<DeValue<'_>>, what: String, cx: &mut Cx) -> QuotaDef {
    let Some(mut t) = Table::open(v, what, cx) else {
        return QuotaDef::default();
    };
    let q = QuotaDef {
        cpu: t.opt("cpu", cx),
        memory: t.opt("memory", cx),
        gpu: t.raw("gpu").and_then(|g| count(g, 0, 1_000_000, cx)),
    };
    t.finish(cx);
    q
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
            namespace = s.opt::<Sp<String>>("namespace", cx);
            context = s.opt("context", cx);
            service_account = s.opt("service_account", cx);
            image_pull_secrets = s.opt("image_pull_secrets", cx).unwrap_or_default();
            templates_dir = s.opt::<Sp<String>>("templates_dir", cx).map(|d| {
                let path = dir
                    .map(|base| base.join(d.get_ref()))
                    .unwrap_or_else(|| PathBuf::from(d.get_ref()));
                Spanned::new(d.span(), path)
            });
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

    let artifacts = match root.table("artifacts", cx) {
        Some(mut a) => {
            let uri = a.opt::<Sp<String>>("uri", cx);
            let env_from_secret = a.opt("env_from_secret", cx);
            a.finish(cx);
            ArtifactsDef {
                uri: uri.unwrap_or_else(|| Spanned::new(0..0, ".mlk/artifacts".into())),
                env_from_secret,
            }
        }
        None => ArtifactsDef {
            uri: Spanned::new(0..0, ".mlk/artifacts".into()),
            env_from_secret: None,
        },
    };

    let default_store = if backend == Backend::Local {
        CacheStore::Local
    } else {
        CacheStore::Configmap
    };
    let cache = match root.table("cache", cx) {
        Some(mut c) => {
            let store = c
                .raw("store")
                .and_then(|s| choice(s, &["configmap", "local", "none"], cx))
                .map(|s| match *s.get_ref() {
                    "configmap" => CacheStore::Configmap,
                    "local" => CacheStore::Local,
                    _ => CacheStore::None,
                });
            let ttl = c.opt("ttl", cx);
            c.finish(cx);
            CacheDef {
                store: store.unwrap_or(default_store),
                ttl,
            }
        }
        None => CacheDef {
            store: default_store,
            ttl: None,
        },
    };

    let scheduler = match root.table("scheduler", cx) {
        Some(mut s) => {
            let kind = s
                .raw("kind")
                .and_then(|k| choice(k, &["default", "kueue", "kai"], cx))
                .map(|k| match *k.get_ref() {
                    "kueue" => SchedulerKind::Kueue,
                    "kai" => SchedulerKind::Kai,
                    _ => SchedulerKind::Default,
                });
            let queue = s.opt("queue", cx);
            let priority = s.opt("priority", cx);
            s.finish(cx);
            SchedulerDef {
                kind: kind.unwrap_or(SchedulerKind::Default),
                queue,
                priority,
            }
        }
        None => SchedulerDef {
            kind: SchedulerKind::Default,
            queue: None,
            priority: None,
        },
    };

    let serving = match root.table("serving", cx) {
        Some(mut s) => {
            let mode = s
                .raw("mode")
                .and_then(|m| choice(m, &["standard", "knative"], cx));
            s.finish(cx);
            if mode.is_some_and(|m| *m.get_ref() == "knative") {
                ServingMode::Knative
            } else {
                ServingMode::Standard
            }
        }
        None => ServingMode::Standard,
    };

    let training = match root.table("training", cx) {
        Some(mut t) => {
            let api = t
                .raw("api")
                .and_then(|a| choice(a, &["pytorchjob", "trainjob"], cx));
            let runtime = t.opt("runtime", cx);
            t.finish(cx);
            let api_span = api.as_ref().map(|a| a.span()).unwrap_or(0..0);
            let api = if api.is_some_and(|a| *a.get_ref() == "trainjob") {
                TrainingApi::Trainjob
            } else {
                TrainingApi::Pytorchjob
            };
            TrainingDef {
                api,
                runtime,
                api_span,
            }
        }
        None => TrainingDef {
            api: TrainingApi::Pytorchjob,
            runtime: None,
            api_span: 0..0,
        },
    };

    let mut priorities = BTreeMap::new();
    for (k, v) in root.entries("priorities", cx) {
        check_name(&k, "priority name", cx);
        let Some(mut t) = Table::open(v, format!("[priorities.{}]", k.get_ref()), cx) else {
            continue;
        };
        let value = t.req::<Sp<i64>>("value", cx);
        let preemptible = t.opt("preemptible", cx);
        let description = t.opt("description", cx);
        t.finish(cx);
        if let Some(value) = value {
            if !(-2_147_483_648..=1_000_000_000).contains(value.get_ref()) {
                cx.error(LoadError::value(
                    value.span(),
                    "out of range",
                    "priority values must be at most 1000000000",
                    "Kubernetes reserves higher values for system priority classes",
                ));
                continue;
            }
            priorities.insert(
                k.into_inner(),
                Spanned::new(
                    v.span(),
                    PriorityDef {
                        value: *value.get_ref(),
                        preemptible,
                        description,
                    },
                ),
            );
        }
    }

    let gpu = match root.table("gpu", cx) {
        Some(mut g) => {
            let sharing = g
                .raw("sharing")
                .and_then(|s| choice(s, &["none", "kai", "mig", "time-slicing"], cx));
            let sharing_span = sharing.as_ref().map(|s| s.span()).unwrap_or(0..0);
            let sharing = sharing.map(|s| match *s.get_ref() {
                "kai" => GpuSharing::Kai,
                "mig" => GpuSharing::Mig,
                "time-slicing" => GpuSharing::TimeSlicing,
                _ => GpuSharing::None,
            });
            let default_type = g.opt("default_type", cx);
            let shared_resource = g.opt("shared_resource", cx);
            let mut types = BTreeMap::new();
            for (k, v) in g.entries("types", cx) {
                let Some(mut t) = Table::open(v, format!("[gpu.types.{}]", k.get_ref()), cx) else {
                    continue;
                };
                let def = GpuTypeDef {
                    memory: t.opt("memory", cx),
                    node_selector: t
                        .raw("node_selector")
                        .and_then(|v| string_map(v, "node selector", true, cx))
                        .unwrap_or_default(),
                    tolerations: t.opt("tolerations", cx).unwrap_or_default(),
                    hourly_cost: t.opt("hourly_cost", cx),
                    mig_profiles: t.opt("mig_profiles", cx),
                    mig: t.raw("mig").and_then(|m| choice(m, MIG_TABLES, cx)),
                };
                t.finish(cx);
                types.insert(k.into_inner(), Spanned::new(v.span(), def));
            }
            g.finish(cx);
            GpuDef {
                sharing: sharing.unwrap_or_default(),
                default_type,
                shared_resource,
                sharing_span,
                types,
            }
        }
        None => GpuDef::default(),
    };

    let defaults = match root.table("defaults", cx) {
        Some(mut d) => {
            let resources = d
                .raw("resources")
                .map(|v| resources(v, cx))
                .unwrap_or_default();
            let limits = d
                .raw("limits")
                .and_then(|l| choice(l, &["memory", "all", "none"], cx))
                .map(|l| match *l.get_ref() {
                    "all" => LimitsMode::All,
                    "none" => LimitsMode::None,
                    _ => LimitsMode::Memory,
                });
            let security = d
                .raw("security")
                .and_then(|s| choice(s, &["restricted", "baseline"], cx))
                .map(|s| {
                    if *s.get_ref() == "baseline" {
                        Security::Baseline
                    } else {
                        Security::Restricted
                    }
                });
            let out = StackDefaults {
                resources,
                limits: limits.unwrap_or_default(),
                security: security.unwrap_or_default(),
                labels: d
                    .raw("labels")
                    .and_then(|v| string_map(v, "label", true, cx))
                    .unwrap_or_default(),
                annotations: d
                    .raw("annotations")
                    .and_then(|v| string_map(v, "annotation", false, cx))
                    .unwrap_or_default(),
                ttl_after_finished: d.opt("ttl_after_finished", cx),
                node_selector: d
                    .raw("node_selector")
                    .and_then(|v| string_map(v, "node selector", true, cx))
                    .unwrap_or_default(),
                tolerations: d.opt("tolerations", cx).unwrap_or_default(),
            };
            d.finish(cx);
            out
        }
        None => StackDefaults::default(),
    };

    let policy = match root.table("policy", cx) {
        Some(mut p) => {
            let out = PolicyDef {
                allowed_registries: p.opt("allowed_registries", cx),
                require_digest: p.opt("require_digest", cx).unwrap_or(false),
                max_gpus_per_step: p
                    .raw("max_gpus_per_step")
                    .and_then(|v| count(v, 0, 1_000_000, cx)),
                network_isolation: p.opt("network_isolation", cx).unwrap_or(false),
            };
            p.finish(cx);
            out
        }
        None => PolicyDef::default(),
    };

    let mut queues = BTreeMap::new();
    for (k, v) in root.entries("queues", cx) {
        check_name(&k, "queue name", cx);
        let Some(mut t) = Table::open(v, format!("[queues.{}]", k.get_ref()), cx) else {
            continue;
        };
        let name = k.get_ref().clone();
        let def = QueueDef {
            cohort: t.opt("cohort", cx),
            quota: t
                .raw("quota")
                .map(|q| quota(q, format!("[queues.{name}.quota]"), cx))
                .unwrap_or_default(),
            borrowing_limit: t
                .raw("borrowing_limit")
                .map(|q| quota(q, format!("[queues.{name}.borrowing_limit]"), cx))
                .unwrap_or_default(),
        };
        t.finish(cx);
        queues.insert(k.into_inner(), Spanned::new(v.span(), def));
    }
    let cost = match root.table("cost", cx) {
        Some(mut c) => {
            let out = CostDef {
                cpu_hourly: c.opt("cpu_hourly", cx),
                memory_gib_hourly: c.opt("memory_gib_hourly", cx),
            };
            c.finish(cx);
            out
        }
        None => CostDef::default(),
    };
    root.mark_required("stack");
    root.finish(cx);

    let stack = name.map(|name| StackFile {
        namespace: namespace.unwrap_or_else(|| Spanned::new(0..0, "default".into())),
        name,
        backend,
        context,
        service_account,
        image_pull_secrets,
        templates_dir,
        artifacts,
        cache,
        scheduler,
        serving,
        training,
        priorities,
        gpu,
        defaults,
        policy,
        queues,
        cost,
    });
    (stack, std::mem::take(cx))
}

/// Descriptions of the keys of the stack file's JSON Schema, by path (a suffix of the key's
/// dotted path; `*` is an entry of a free-form table, `[]` an array element).
pub(super) const SCHEMA_DOCS: &[(&str, &str)] = &[
    ("stack", "The stack: where and how pipelines run."),
    ("stack.name", "The stack's name (a DNS-1123 label)."),
    (
        "stack.backend",
        "Where `mlk run` runs steps: on a cluster, or as local processes.",
    ),
    (
        "stack.namespace",
        "Namespace of every namespaced object (default \"default\").",
    ),
    ("stack.context", "kubeconfig context."),
    ("stack.service_account", "Service account of every pod."),
    (
        "stack.image_pull_secrets",
        "Image pull secrets of every pod.",
    ),
    (
        "stack.templates_dir",
        "Overrides of the built-in templates, relative to the stack file.",
    ),
    ("artifacts", "Where step outputs are stored."),
    (
        "artifacts.uri",
        "Base of output URIs: {uri}/{pipeline}/{step}/{cache_key}/{output} (default .mlk/artifacts).",
    ),
    (
        "artifacts.env_from_secret",
        "A Secret with the storage credentials, given to every step.",
    ),
    ("cache", "Where cache records are kept."),
    (
        "cache.store",
        "configmap (in the namespace), local (.mlk/cache) or none.",
    ),
    ("cache.ttl", "Records older than this are misses."),
    ("scheduler", "Which scheduler admits the workloads."),
    (
        "scheduler.kind",
        "default (priorityClassName only), kueue or kai.",
    ),
    (
        "scheduler.queue",
        "Default queue: the Kueue LocalQueue or the KAI leaf queue.",
    ),
    (
        "scheduler.priority",
        "Default priority name, from [priorities].",
    ),
    ("serving", "KServe settings."),
    (
        "serving.mode",
        "KServe deployment mode; decides which serve settings are legal.",
    ),
    ("training", "Distributed training settings."),
    (
        "training.api",
        "pytorchjob (kubeflow.org/v1) or trainjob (trainer.kubeflow.org/v1alpha1).",
    ),
    (
        "training.runtime",
        "The ClusterTrainingRuntime of TrainJobs (default torch-distributed).",
    ),
    ("priorities", "Priority names steps may use, by name."),
    ("priorities.*.value", "Priority value (at most 1000000000)."),
    (
        "priorities.*.preemptible",
        "Whether workloads of this priority may be preempted.",
    ),
    (
        "priorities.*.description",
        "Description of the priority class.",
    ),
    ("gpu", "GPU sharing and types."),
    (
        "gpu.sharing",
        "How fractional GPU requests compile: none, kai, mig or time-slicing.",
    ),
    (
        "gpu.default_type",
        "The GPU type of steps that do not set gpu_type.",
    ),
    (
        "gpu.shared_resource",
        "time-slicing only: the resource name, e.g. nvidia.com/gpu.shared.",
    ),
    ("gpu.types", "GPU types, by name."),
    ("types.*.memory", "Memory of one device."),
    (
        "types.*.node_selector",
        "Node labels that select nodes with this GPU.",
    ),
    (
        "types.*.tolerations",
        "Tolerations for those nodes' taints.",
    ),
    (
        "types.*.hourly_cost",
        "Price of one GPU for one hour, for cost estimates.",
    ),
    (
        "types.*.mig_profiles",
        "MIG profiles of this type, overriding the built-in table.",
    ),
    (
        "types.*.mig",
        "Which built-in MIG profile table applies (else chosen by memory).",
    ),
    ("defaults", "Defaults of every step and object."),
    (
        "defaults.limits",
        "Which CPU/memory limits are set: memory (memory limit = request), all or none.",
    ),
    (
        "defaults.security",
        "Pod Security Standards profile of every container.",
    ),
    (
        "defaults.ttl_after_finished",
        "How long finished jobs are kept (ttlSecondsAfterFinished).",
    ),
    ("policy", "Rules every pipeline on this stack must follow."),
    (
        "policy.allowed_registries",
        "Image prefixes that are allowed, e.g. \"registry.acme.io/\".",
    ),
    (
        "policy.require_digest",
        "Images must be pinned by @sha256 digest.",
    ),
    (
        "policy.max_gpus_per_step",
        "Most GPUs a step may use, counting all its replicas.",
    ),
    (
        "policy.network_isolation",
        "Emit a NetworkPolicy per training job.",
    ),
    (
        "queues",
        "Queues, by name (Kueue ClusterQueue + LocalQueue, or KAI queue).",
    ),
    (
        "queues.*.cohort",
        "The Kueue cohort the queue borrows within.",
    ),
    ("queues.*.quota", "Nominal quota."),
    (
        "queues.*.borrowing_limit",
        "How much the queue may borrow beyond its quota.",
    ),
    ("quota.cpu", "CPU cores, a Kubernetes quantity."),
    ("quota.memory", "Memory, a Kubernetes quantity."),
    ("quota.gpu", "Number of GPUs."),
    ("borrowing_limit.cpu", "CPU cores, a Kubernetes quantity."),
    ("borrowing_limit.memory", "Memory, a Kubernetes quantity."),
    ("borrowing_limit.gpu", "Number of GPUs."),
    ("cost", "Prices for cost estimates beyond GPUs."),
    ("cost.cpu_hourly", "Price of one CPU core for one hour."),
    (
        "cost.memory_gib_hourly",
        "Price of one GiB of memory for one hour.",
    ),
];
