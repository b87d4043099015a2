//! Every label and annotation key mlk writes or reads on Kubernetes objects, in one place
//! (K8S-CONVENTIONS.md says where each comes from). Templates do not name keys: `render`
//! builds labels and annotations from these and hands them to the templates.

/// Label: who manages the object (value [`MANAGED_BY_MLK`]).
pub(crate) const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The value of [`MANAGED_BY`] on everything mlk creates.
pub(crate) const MANAGED_BY_MLK: &str = "mlk";
/// Label: the application (pipeline) an object is part of.
pub(crate) const PART_OF: &str = "app.kubernetes.io/part-of";
/// Label: the pipeline's name.
pub(crate) const PIPELINE: &str = "mlk.dev/pipeline";
/// Label: the step's name.
pub(crate) const STEP: &str = "mlk.dev/step";
/// Label: the run id, on objects created by `mlk run`.
pub(crate) const RUN: &str = "mlk.dev/run";
/// Label: the Argo Workflow that created a pod (Argo finds a step's logs by it).
pub(crate) const ARGO_WORKFLOW: &str = "workflows.argoproj.io/workflow";
/// Label: the stack whose admin objects these are (`mlk stack render`).
pub(crate) const STACK: &str = "mlk.dev/stack";
/// Label on cache-record ConfigMaps (value [`CACHE_RECORD`]).
pub(crate) const CACHE: &str = "mlk.dev/cache";
/// The value of [`CACHE`] on a cache record.
pub(crate) const CACHE_RECORD: &str = "record";
/// Annotation on workloads (label on cache records, shortened): the step's cache key.
pub(crate) const CACHE_KEY: &str = "mlk.dev/cache-key";
/// Annotation: Argo CD's sync wave, the step's depth in the DAG.
pub(crate) const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";
/// Label: Kueue's LocalQueue of a workload.
pub(crate) const KUEUE_QUEUE: &str = "kueue.x-k8s.io/queue-name";
/// Label: Kueue's WorkloadPriorityClass of a workload.
pub(crate) const KUEUE_PRIORITY: &str = "kueue.x-k8s.io/priority-class";
/// Label Kueue puts on a Workload: the uid of the job it admits.
pub(crate) const KUEUE_JOB_UID: &str = "kueue.x-k8s.io/job-uid";
/// Pod template annotation: Kueue TAS, all pods of the pod set in one domain of this level.
pub(crate) const KUEUE_REQUIRED_TOPOLOGY: &str = "kueue.x-k8s.io/podset-required-topology";
/// Pod template annotation: Kueue TAS, pods in one domain of this level if possible.
pub(crate) const KUEUE_PREFERRED_TOPOLOGY: &str = "kueue.x-k8s.io/podset-preferred-topology";
/// Pod template annotation: Kueue TAS, pod sets of one group share a flavor and a domain.
pub(crate) const KUEUE_PODSET_GROUP: &str = "kueue.x-k8s.io/podset-group-name";
/// Workload annotation: the KAI Topology a workload is placed in.
pub(crate) const KAI_TOPOLOGY: &str = "kai.scheduler/topology";
/// Workload annotation: KAI, all pods in one domain of this level.
pub(crate) const KAI_REQUIRED_PLACEMENT: &str = "kai.scheduler/topology-required-placement";
/// Workload annotation: KAI, pods in one domain of this level if possible.
pub(crate) const KAI_PREFERRED_PLACEMENT: &str = "kai.scheduler/topology-preferred-placement";
/// JobSet or Job annotation: how many pods KAI's PodGroup needs at once (the gang size).
pub(crate) const KAI_BATCH_MIN_MEMBER: &str = "kai.scheduler/batch-min-member";
/// Label: KAI's queue of a workload and its pods.
pub(crate) const KAI_QUEUE: &str = "kai.scheduler/queue";
/// Pod annotation: KAI's GPU fraction.
pub(crate) const KAI_GPU_FRACTION: &str = "gpu-fraction";
/// Pod annotation: KAI's GPU memory, in MiB.
pub(crate) const KAI_GPU_MEMORY: &str = "gpu-memory";
/// Annotation: KServe's deployment mode (`Standard` / `Knative`).
pub(crate) const KSERVE_DEPLOYMENT_MODE: &str = "serving.kserve.io/deploymentMode";

/// A label selector `key=value,key=value`.
pub(crate) fn selector(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}
