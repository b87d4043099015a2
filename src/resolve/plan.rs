//! The resolved plan: every step with nothing optional left, in DAG order.
//!
//! These types are what `render`, `plan -o json` and the executors consume. Field names are
//! part of the `mlk plan -o json` contract: add fields, never rename them.

use std::collections::BTreeMap;

use serde::Serialize;

use super::topology::TopologyPlacement;
use super::volumes::Volume;
use crate::domain::{
    Backend, EnvValue, GpuSharing, SchedulerKind, Security, ServingMode, StepKind, StoreKind,
    Toleration, TrainingApi,
};
use crate::labels;
use crate::load::MinMax;

/// A pipeline resolved against a stack.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Pipeline name.
    pub pipeline: String,
    /// Pipeline description.
    pub description: Option<String>,
    /// What the steps run on.
    pub stack: StackInfo,
    /// Parameter values in effect (defaults with `-p` overrides).
    pub params: BTreeMap<String, serde_json::Value>,
    /// Steps in DAG order: by depth, then by name.
    pub steps: Vec<Step>,
    /// Estimated cost, when the stack has prices (`hourly_cost`, `[cost]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<super::cost::CostEstimate>,
    /// When the stack's engine starts the pipeline (`[pipeline] schedule`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<Schedule>,
}

impl Plan {
    /// The step called `name`.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }

    /// Each step's position in [`Plan::steps`], by name.
    pub fn index(&self) -> BTreeMap<&str, usize> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), i))
            .collect()
    }
}

/// A pipeline's schedule, checked against the stack's engine.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    /// The cron expression, as written.
    pub cron: String,
    /// The IANA time zone, if one is given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// What a start does while the previous run is still going.
    pub concurrency: crate::domain::Concurrency,
}

/// The parts of the stack that shape the output.
#[derive(Debug, Clone, Serialize)]
pub struct StackInfo {
    /// Stack name.
    pub name: String,
    /// Where steps run.
    pub backend: Backend,
    /// What runs the DAG on a cluster.
    pub engine: crate::domain::Engine,
    /// Namespace of every object.
    pub namespace: String,
    /// kubeconfig context.
    pub context: Option<String>,
    /// Scheduler.
    pub scheduler: SchedulerKind,
    /// KServe deployment mode.
    pub serving_mode: ServingMode,
    /// The KServe version the stack declares.
    #[serde(skip)]
    pub kserve_version: &'static str,
    /// Training API for distributed steps.
    pub training_api: TrainingApi,
    /// TrainJob runtime name.
    pub training_runtime: String,
    /// GPU sharing mode.
    pub gpu_sharing: GpuSharing,
    /// Base URI of outputs.
    pub artifacts_uri: String,
    /// What kind of store `artifacts_uri` names.
    pub artifacts_kind: StoreKind,
    /// An S3-compatible server's endpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_endpoint: Option<String>,
    /// The object store's region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifacts_region: Option<String>,
    /// The image with the static mlk binary that moves bytes inside pods.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launcher_image: Option<String>,
    /// Service account of every pod.
    pub service_account: Option<String>,
    /// Image pull secrets of every pod.
    pub image_pull_secrets: Vec<String>,
    /// Secret whose keys become environment variables (storage credentials).
    pub env_from_secret: Option<String>,
    /// Whether training jobs get a NetworkPolicy.
    pub network_isolation: bool,
    /// Where cache records are kept (`[cache] store`).
    #[serde(skip)]
    pub cache_store: crate::domain::CacheStore,
}

impl StackInfo {
    /// What runs on this stack make mlk do on a cluster (`cluster_store`: cache records are
    /// ConfigMaps), for the permission checks.
    pub(crate) fn uses(&self, cluster_store: bool) -> crate::access::Uses {
        crate::access::Uses {
            scheduler: self.scheduler,
            cluster_store,
            training: self.training_api,
            network_isolation: self.network_isolation,
            sharing: self.gpu_sharing,
            engine: self.engine,
        }
    }
}

/// One resolved step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Step name.
    pub name: String,
    /// The stack's `[capacity.NAME]` the step runs on (e.g. `spot`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<String>,
    /// Where the pods go in the stack's `[topology]`, if anywhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<TopologyPlacement>,
    /// PersistentVolumeClaims mounted into the containers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
    /// The directory that survives the step's attempts (`MLK_CHECKPOINT_DIR`): on a cluster
    /// under a mounted claim, locally relative to the project directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// Workload kind.
    pub kind: StepKind,
    /// Name of the Kubernetes object.
    pub object_name: String,
    /// Steps that must finish first (sorted).
    pub depends_on: Vec<String>,
    /// Depth in the DAG (0 for steps without dependencies); the Argo CD sync wave.
    pub depth: u32,
    /// Container image (empty for serve steps that use the runtime's image).
    pub image: String,
    /// Command and arguments, templates expanded.
    pub command: Vec<String>,
    /// Environment, by name.
    pub env: BTreeMap<String, EnvValue>,
    /// Pods: 1 for jobs, all replicas for PyTorch, the minimum for serve.
    pub replicas: u32,
    /// Per-pod resources.
    pub resources: Resources,
    /// GPUs per pod.
    pub gpu: Gpu,
    /// Size of `/dev/shm`, if mounted.
    pub shm: Option<String>,
    /// Queue the step is submitted to.
    pub queue: Option<String>,
    /// Priority.
    pub priority: Option<Priority>,
    /// Node selector (stack, GPU type and step entries).
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations (stack, GPU type and step entries).
    pub tolerations: Vec<Toleration>,
    /// Labels from the stack and the step (mlk's own labels are added by `render`).
    pub labels: BTreeMap<String, String>,
    /// Annotations from the stack and the step.
    pub annotations: BTreeMap<String, String>,
    /// Retries after a failure.
    pub retries: u32,
    /// Deadline in seconds.
    pub timeout_seconds: Option<u64>,
    /// Seconds the step may stay not running on a cluster before it fails (unset: waits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_timeout_seconds: Option<u64>,
    /// Expected duration in seconds (cost estimates).
    pub expected_duration_seconds: Option<u64>,
    /// Seconds finished objects are kept.
    pub ttl_after_finished_seconds: Option<u64>,
    /// Security profile.
    pub security: Security,
    /// Cache settings and key.
    pub cache: CacheInfo,
    /// Output name → URI.
    pub outputs: BTreeMap<String, String>,
    /// Input name → what is read.
    pub inputs: BTreeMap<String, Input>,
    /// What moves between the store and the step's local paths.
    pub data: Data,
    /// PyTorch settings.
    pub pytorch: Option<PytorchSpec>,
    /// Serving settings.
    pub serve: Option<ServeSpec>,
}

/// Resource requests and limits of one pod's main container, as Kubernetes quantities.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Resources {
    /// `resources.requests`.
    pub requests: BTreeMap<String, String>,
    /// `resources.limits`.
    pub limits: BTreeMap<String, String>,
}

/// GPUs of one pod, compiled for the stack's sharing mode (SPEC §2).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "mode", rename_all = "kebab-case")]
pub enum Gpu {
    /// No GPU.
    None,
    /// Whole devices through an extended resource.
    Whole {
        /// Devices per pod.
        count: u32,
        /// The resource name (`nvidia.com/gpu`).
        resource: String,
        /// GPU type, if the stack defines types.
        gpu_type: Option<String>,
    },
    /// A fraction of one device, shared by KAI: pod annotation `gpu-fraction`.
    KaiFraction {
        /// The fraction, strictly between 0 and 1.
        fraction: f64,
        /// GPU type, if the stack defines types.
        gpu_type: Option<String>,
    },
    /// An amount of device memory, shared by KAI: pod annotation `gpu-memory` (MiB).
    KaiMemory {
        /// Mebibytes.
        mib: u64,
        /// Share of one device (mib / device memory), for quotas and cost.
        share: f64,
        /// GPU type.
        gpu_type: Option<String>,
    },
    /// One MIG instance, through the device plugin's `mixed` strategy resource.
    Mig {
        /// Profile, e.g. `1g.20gb`.
        profile: String,
        /// `nvidia.com/mig-<profile>` (`+` as `.`).
        resource: String,
        /// Compute slices of 7: the share of the device used for quotas and cost.
        share: f64,
        /// GPU type.
        gpu_type: Option<String>,
    },
    /// One time-sliced device (`nvidia.com/gpu` or the stack's `shared_resource`).
    TimeSliced {
        /// The resource name.
        resource: String,
        /// The share asked for (a fraction, or memory / device memory; 1 when unknown).
        share: f64,
        /// GPU type.
        gpu_type: Option<String>,
    },
    /// Devices claimed through NVIDIA's DRA driver: a ResourceClaimTemplate the pod references.
    Dra {
        /// `gpu.nvidia.com` (whole or shared GPUs) or `mig.nvidia.com` (MIG devices).
        device_class: String,
        /// Devices per pod.
        count: u32,
        /// The devices' `productName` (the GPU type's `product`), selected by CEL.
        product: Option<String>,
        /// The MIG profile of a `mig.nvidia.com` device, selected by CEL.
        profile: Option<String>,
        /// The driver's `GpuConfig` sharing strategy (`TimeSlicing`, `MPS`) of a shared GPU.
        sharing: Option<String>,
        /// Devices per pod for quotas and cost (a share for shared GPUs and MIG devices).
        share: f64,
        /// GPU type.
        gpu_type: Option<String>,
    },
}

impl Gpu {
    /// GPUs per pod as a number of devices (shared requests count as their share).
    pub fn per_pod(&self) -> f64 {
        match self {
            Gpu::None => 0.0,
            Gpu::Whole { count, .. } => f64::from(*count),
            Gpu::KaiFraction { fraction, .. } => *fraction,
            Gpu::KaiMemory { share, .. }
            | Gpu::Mig { share, .. }
            | Gpu::TimeSliced { share, .. }
            | Gpu::Dra { share, .. } => *share,
        }
    }

    /// The GPU type, if any.
    pub fn gpu_type(&self) -> Option<&str> {
        match self {
            Gpu::None => None,
            Gpu::Whole { gpu_type, .. }
            | Gpu::KaiFraction { gpu_type, .. }
            | Gpu::KaiMemory { gpu_type, .. }
            | Gpu::Mig { gpu_type, .. }
            | Gpu::TimeSliced { gpu_type, .. }
            | Gpu::Dra { gpu_type, .. } => gpu_type.as_deref(),
        }
    }

    /// The extended resource and amount a container's limits carry, if any (KAI sharing
    /// uses annotations instead).
    pub fn limit(&self) -> Option<(&str, u32)> {
        match self {
            Gpu::Whole {
                count, resource, ..
            } => Some((resource, *count)),
            Gpu::Mig { resource, .. } | Gpu::TimeSliced { resource, .. } => Some((resource, 1)),
            _ => None,
        }
    }

    /// Pod annotations the request needs (KAI: `gpu-fraction` / `gpu-memory`).
    pub fn annotations(&self) -> BTreeMap<String, String> {
        match self {
            Gpu::KaiFraction { fraction, .. } => {
                BTreeMap::from([(labels::KAI_GPU_FRACTION.to_owned(), fraction.to_string())])
            }
            Gpu::KaiMemory { mib, .. } => {
                BTreeMap::from([(labels::KAI_GPU_MEMORY.to_owned(), mib.to_string())])
            }
            _ => BTreeMap::new(),
        }
    }

    /// A short human form: `2`, `2×h100`, `0.25×h100 (kai)`, `mig 1g.20gb`, `-`.
    pub fn display(&self) -> String {
        let typed = |what: String, t: &Option<String>| match t {
            Some(t) => format!("{what}×{t}"),
            None => what,
        };
        match self {
            Gpu::None => "-".into(),
            Gpu::Whole {
                count, gpu_type, ..
            } => typed(count.to_string(), gpu_type),
            Gpu::KaiFraction { fraction, gpu_type } => {
                format!("{} (kai)", typed(fraction.to_string(), gpu_type))
            }
            Gpu::KaiMemory { mib, gpu_type, .. } => {
                format!("{} (kai)", typed(format!("{mib}Mi"), gpu_type))
            }
            Gpu::Mig { profile, .. } => format!("mig {profile}"),
            Gpu::TimeSliced { resource, .. } => format!("1 {resource} (shared)"),
            Gpu::Dra {
                count,
                profile,
                sharing,
                gpu_type,
                ..
            } => match (profile, sharing) {
                (Some(p), _) => format!("mig {p} (dra)"),
                (None, Some(s)) => format!("{} (dra {s})", typed("1 shared".into(), gpu_type)),
                (None, None) => format!("{} (dra)", typed(count.to_string(), gpu_type)),
            },
        }
    }
}

/// A resolved priority.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Priority {
    /// Name (PriorityClass / WorkloadPriorityClass).
    pub name: String,
    /// Value.
    pub value: i64,
}

/// Cache settings of a step. Its cache *status* is not here: that depends on a store and a
/// clock, so `mlk plan` looks it up (`exec::cache_status`) and adds it to its output.
#[derive(Debug, Clone, Serialize)]
pub struct CacheInfo {
    /// Whether a hit may skip the step.
    pub enabled: bool,
    /// Full hex cache key.
    pub key: String,
    /// Records older than this are misses.
    pub ttl_seconds: Option<u64>,
    /// Every component of the key (for cache records and `mlk cache explain`).
    #[serde(skip)]
    pub components: crate::cache::key::KeyComponents,
}

/// What an input reads.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Input {
    /// A local file or directory.
    Path {
        /// Path as written, relative to the pipeline file.
        path: String,
        /// Content digest.
        digest: String,
    },
    /// A URI.
    Uri {
        /// The URI, templates expanded.
        uri: String,
        /// Explicit version.
        version: Option<String>,
    },
}

/// PyTorch settings of a step.
#[derive(Debug, Clone, Serialize)]
pub struct PytorchSpec {
    /// Workers (replicas − 1).
    pub workers: u32,
    /// Processes per node.
    pub nproc_per_node: u32,
    /// Elastic range.
    pub elastic: Option<MinMax>,
}

/// Serving settings of a step.
#[derive(Debug, Clone, Serialize)]
pub struct ServeSpec {
    /// Model format.
    pub format: String,
    /// Model URI.
    pub uri: String,
    /// Pinned runtime.
    pub runtime: Option<String>,
    /// Replica range.
    pub min_replicas: u32,
    /// Replica range.
    pub max_replicas: u32,
    /// Autoscaling metric.
    pub metric: Option<String>,
    /// Autoscaling target.
    pub target: Option<u32>,
    /// Canary percent (knative mode).
    pub canary: Option<u32>,
}

/// What moves between the artifact store and a step's local paths (SPEC §6).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Data {
    /// Whether the step's command runs under the launcher (`mlk launch`), which fetches and
    /// publishes for it.
    pub launcher: bool,
    /// Fetched before the command: what it reads by path.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fetch: Vec<Fetch>,
    /// Published after the command succeeds, in this order, then the manifest.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub publish: Vec<Publish>,
    /// Written after every output is in the store: its presence means they all are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// Local inputs stored by content before the step can run (`mlk push`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub push: Vec<Push>,
}

/// One address fetched to a local path.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Fetch {
    /// The address: an object, or a prefix holding a directory tree.
    pub uri: String,
    /// Where the command reads it.
    pub path: String,
}

/// One output published.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Publish {
    /// The output's name.
    pub output: String,
    /// Its address.
    pub uri: String,
    /// Where the command writes it; `None` when the command writes the address itself (then
    /// it is only checked for presence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// One local input stored by content.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Push {
    /// The path as written, relative to the pipeline file.
    pub path: String,
    /// Its content address.
    pub uri: String,
    /// Its content digest.
    pub digest: String,
}
