//! Domain values: the closed sets and plain values a pipeline or a stack names (step kinds,
//! backends, schedulers, serving modes, GPU sharing modes, cache stores, security profiles,
//! environment values, tolerations). The model (`load`) reads them from the files and the plan
//! (`resolve`) carries them to `render`, `exec` and the backends, which so never see a model
//! type. They hold no spans, no defaults and no rules.

use serde::Serialize;

/// An environment variable's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EnvValue {
    /// A literal (may be templated).
    Literal(String),
    /// A key of a Secret.
    Secret {
        /// Secret name.
        name: String,
        /// Key in the Secret.
        key: String,
    },
    /// A key of a ConfigMap.
    ConfigMap {
        /// ConfigMap name.
        name: String,
        /// Key in the ConfigMap.
        key: String,
    },
}

/// A Kubernetes toleration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    /// Taint key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `Exists` or `Equal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Taint value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    /// How long a NoExecute taint is tolerated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

/// How strictly a step's pods share one domain of a topology level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TopologyMode {
    /// All pods in one domain, or none start.
    Required,
    /// One domain if possible, else the next wider level.
    Preferred,
}

/// The kind of workload a step compiles to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A batch/v1 Job.
    Job,
    /// A distributed PyTorchJob (or TrainJob).
    Pytorch,
    /// A KServe InferenceService.
    Serve,
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

/// What runs a pipeline's DAG on a cluster (`[stack] engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// mlk itself: `mlk run` submits each step when its upstream steps are done.
    #[default]
    Mlk,
    /// Argo Workflows: a WorkflowTemplate per pipeline, run by Argo's controller.
    Argo,
}

/// What a schedule does when the previous run is still going (`[pipeline] concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Concurrency {
    /// Start the new run anyway.
    Allow,
    /// Skip the new run.
    #[default]
    Forbid,
    /// Stop the running one and start the new run.
    Replace,
}

impl Concurrency {
    /// Argo's spelling (`concurrencyPolicy`).
    pub fn argo(self) -> &'static str {
        match self {
            Concurrency::Allow => "Allow",
            Concurrency::Forbid => "Forbid",
            Concurrency::Replace => "Replace",
        }
    }
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
    /// Dynamic resource allocation through NVIDIA's DRA driver (ResourceClaimTemplates).
    Dra,
}

/// How `sharing = "dra"` shares one GPU among fraction and memory requests (`[gpu] strategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DraStrategy {
    /// A MIG device of DeviceClass `mig.nvidia.com`.
    Mig,
    /// A shared GPU with the driver's `GpuConfig` sharing strategy `TimeSlicing`.
    TimeSlicing,
    /// A shared GPU with the driver's `GpuConfig` sharing strategy `MPS`.
    Mps,
}

/// Where cache records are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheStore {
    /// ConfigMaps in the stack namespace.
    Configmap,
    /// `.mlk/cache` on this machine.
    Local,
    /// In the artifact store, inside each step's output manifest (written by the launcher).
    Artifacts,
    /// No caching.
    None,
}

/// Where steps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A Kubernetes cluster.
    Kubernetes,
    /// Local processes.
    Local,
}

impl Backend {
    /// As written in a stack file (and in run records): `kubernetes`, `local`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Kubernetes => "kubernetes",
            Backend::Local => "local",
        }
    }
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

/// What kind of artifact store a stack's `[artifacts] uri` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum StoreKind {
    /// A directory on this machine, as written (relative to where mlk runs) or `file:///abs`.
    Disk,
    /// An object store: `s3://`, `gs://` or `az://`.
    Object {
        /// `s3`, `gs` or `az`.
        scheme: String,
    },
    /// A PersistentVolumeClaim mounted into each step's pods: `pvc://CLAIM/prefix`.
    Pvc {
        /// The claim's name.
        claim: String,
    },
}

impl StoreKind {
    /// The kind of store `uri` names, or what is wrong with it.
    pub fn of(uri: &str) -> Result<StoreKind, String> {
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Ok(StoreKind::Disk);
        };
        let first = rest.split('/').next().unwrap_or_default();
        match scheme {
            "file" if rest.starts_with('/') => Ok(StoreKind::Disk),
            "file" => Err("a file:// URI needs an absolute path: file:///path/to/dir".into()),
            "s3" | "gs" | "az" if first.is_empty() => Err(format!(
                "{scheme}:// needs a bucket: {scheme}://BUCKET/prefix"
            )),
            "s3" | "gs" | "az" => Ok(StoreKind::Object {
                scheme: scheme.into(),
            }),
            "pvc" if crate::names::is_dns1123_subdomain(first) => Ok(StoreKind::Pvc {
                claim: first.into(),
            }),
            "pvc" => Err(format!(
                "`{first}` is not a PersistentVolumeClaim name: pvc://CLAIM/prefix, CLAIM a DNS subdomain"
            )),
            other => Err(format!(
                "mlk cannot store artifacts in `{other}://`: use s3://, gs://, az://, file:// or pvc://"
            )),
        }
    }

    /// Whether bytes in this store are on this machine's disk.
    pub fn is_disk(&self) -> bool {
        matches!(self, StoreKind::Disk)
    }
}
