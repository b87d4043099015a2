//! The resolved plan: every step with nothing optional left, in DAG order.
//!
//! These types are what `render`, `plan -o json` and the executors consume. Field names are
//! part of the `mlk plan -o json` contract: add fields, never rename them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::load::{
    Backend, EnvValue, GpuSharing, MinMax, SchedulerKind, Security, ServingMode, StepKind,
    Toleration, TrainingApi,
};

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
}

impl Plan {
    /// The step called `name`.
    pub fn step(&self, name: &str) -> Option<&Step> {
        self.steps.iter().find(|s| s.name == name)
    }
}

/// The parts of the stack that shape the output.
#[derive(Debug, Clone, Serialize)]
pub struct StackInfo {
    /// Stack name.
    pub name: String,
    /// Where steps run.
    pub backend: Backend,
    /// Namespace of every object.
    pub namespace: String,
    /// kubeconfig context.
    pub context: Option<String>,
    /// Scheduler.
    pub scheduler: SchedulerKind,
    /// KServe deployment mode.
    pub serving_mode: ServingMode,
    /// Training API for distributed steps.
    pub training_api: TrainingApi,
    /// TrainJob runtime name.
    pub training_runtime: String,
    /// GPU sharing mode.
    pub gpu_sharing: GpuSharing,
    /// Base URI of outputs.
    pub artifacts_uri: String,
    /// Service account of every pod.
    pub service_account: Option<String>,
    /// Image pull secrets of every pod.
    pub image_pull_secrets: Vec<String>,
    /// Secret whose keys become environment variables (storage credentials).
    pub env_from_secret: Option<String>,
    /// Whether training jobs get a NetworkPolicy.
    pub network_isolation: bool,
}

/// One resolved step.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// Step name.
    pub name: String,
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

/// GPUs of one pod, compiled for the stack's sharing mode.
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
}

impl Gpu {
    /// GPUs per pod as a number (fractions count as their fraction).
    pub fn per_pod(&self) -> f64 {
        match self {
            Gpu::None => 0.0,
            Gpu::Whole { count, .. } => f64::from(*count),
        }
    }

    /// A short human form: `2`, `-`.
    pub fn display(&self) -> String {
        match self {
            Gpu::None => "-".into(),
            Gpu::Whole {
                count,
                gpu_type: Some(t),
                ..
            } => format!("{count}×{t}"),
            Gpu::Whole { count, .. } => count.to_string(),
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

/// Cache settings of a step.
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
