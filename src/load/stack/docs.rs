//! Descriptions of the stack file's keys, for its JSON Schema.

/// Descriptions of the keys of the stack file's JSON Schema, by path (a suffix of the key's
/// dotted path; `*` is an entry of a free-form table, `[]` an array element).
pub(crate) const SCHEMA_DOCS: &[(&str, &str)] = &[
    ("stack", "The stack: where and how pipelines run."),
    ("stack.name", "The stack's name (a DNS-1123 label)."),
    (
        "stack.backend",
        "Where `mlk run` runs steps: on a cluster, or as local processes.",
    ),
    (
        "stack.engine",
        "What runs a pipeline's DAG on a cluster: \"mlk\" (default: `mlk run` submits each step) or \"argo\" (`mlk render` emits an Argo Workflows WorkflowTemplate per pipeline, and a CronWorkflow for a scheduled one).",
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
        "The artifact store: s3://, gs://, az://, file://, pvc://CLAIM/prefix or a local directory (default .mlk/artifacts); outputs live at {uri}/{pipeline}/{step}/{cache_key}/{output}.",
    ),
    (
        "artifacts.env_from_secret",
        "A Secret with the storage credentials, given to every step.",
    ),
    (
        "artifacts.endpoint",
        "An S3-compatible server's URL (MinIO, Ceph): path-style requests to it.",
    ),
    ("artifacts.region", "The object store's region."),
    (
        "artifacts.launcher_image",
        "An image with the static mlk binary: moves step inputs and outputs inside pods.",
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
    (
        "serving.kserve",
        "The KServe version the cluster runs (default the newest, 0.20).",
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
        "How GPU requests compile: none, kai, mig, time-slicing, or dra (ResourceClaimTemplates for NVIDIA's DRA driver, resource.k8s.io/v1, Kubernetes 1.34+).",
    ),
    (
        "gpu.strategy",
        "dra only: how fraction and memory requests share a GPU: mig (a mig.nvidia.com device), time-slicing or mps (a shared gpu.nvidia.com device with the driver's GpuConfig). Unset: MIG on types with MIG profiles, else an error.",
    ),
    (
        "gpu.default_type",
        "The GPU type of steps that do not set gpu_type.",
    ),
    (
        "gpu.shared_resource",
        "time-slicing only: the resource name, e.g. nvidia.com/gpu.shared.",
    ),
    (
        "gpu.devices",
        "Local stacks: the only GPUs mlk hands to steps, by nvidia-smi index or device/MIG UUID (default: every GPU of the machine).",
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
    (
        "types.*.product",
        "dra only: the DRA driver's productName of these devices (e.g. NVIDIA H100 80GB HBM3); claims select it by CEL.",
    ),
    (
        "capacity",
        "Kinds of node capacity steps may ask for (capacity = \"spot\"), by name.",
    ),
    (
        "capacity.*.node_selector",
        "Node labels that select nodes of this capacity, e.g. karpenter.sh/capacity-type = spot.",
    ),
    (
        "capacity.*.tolerations",
        "Tolerations for those nodes' taints.",
    ),
    (
        "capacity.*.gpu_hourly_cost",
        "Price of one GPU for one hour on this capacity, for cost estimates (instead of the GPU type's hourly_cost).",
    ),
    ("defaults.capacity", "The capacity of steps that name none."),
    (
        "defaults.placement",
        "The topology placement of steps that name none ({ level = \"rack\", mode = \"preferred\" }); on Kueue, steps it does not admit (serve steps, steps without a queue) skip it.",
    ),
    ("defaults.placement.level", "A level name from [topology]."),
    (
        "defaults.placement.mode",
        "required (the default) or preferred.",
    ),
    (
        "topology",
        "The cluster's node topology for topology-aware placement (Kueue TAS or KAI); mlk stack render emits it as a Topology.",
    ),
    (
        "topology.name",
        "Name of the Topology object (default: the stack's name).",
    ),
    (
        "topology.levels",
        "Levels, widest first (block, rack, …), each { name, node_label }; kubernetes.io/hostname may only be the last.",
    ),
    (
        "topology.levels[].name",
        "The level's name, used by placement = { level = … } (and as KAI's level alias).",
    ),
    (
        "topology.levels[].node_label",
        "The node label whose value is the same on every node of one domain of this level.",
    ),
    ("defaults", "Defaults of every step and object."),
    (
        "defaults.resources",
        "Default resources of every step, under the pipeline's [defaults] and the step's own: every key applies as in a step (gpu and gpu_memory are one request, taken from one layer).",
    ),
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
    (
        "defaults.pending_timeout",
        "Fail a step that is still not running after this long (suspended by the queue, not scheduled, no pod created), saying why; a step's pending_timeout overrides it. Unset: wait.",
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
    (
        "tenant",
        "The team's namespace: `mlk stack render` emits it (Pod Security labels from [defaults] security), its ResourceQuota, a LimitRange with [defaults] resources as default requests, the runner's ServiceAccount, Role and RoleBinding, a read-only Role, and NetworkPolicies.",
    ),
    (
        "tenant.runner",
        "The ServiceAccount `mlk run` acts as (CI, a pod); its Role holds exactly the verbs runs on this stack use (default mlk-runner).",
    ),
    (
        "tenant.readers",
        "Groups bound to the read-only Role (status and logs).",
    ),
    (
        "tenant.ingress_from",
        "Namespaces whose pods may connect to this namespace's pods (e.g. knative-serving); all other ingress from outside the namespace is denied.",
    ),
    (
        "tenant.artifact_cidrs",
        "The artifact store's addresses (CIDRs): pods may then reach only DNS, the namespace's pods and the store.",
    ),
    (
        "tenant.artifact_namespace",
        "The namespace the artifact store runs in (e.g. minio): pods may then reach only DNS, the namespace's pods and the store.",
    ),
    (
        "tenant.quota",
        "The namespace's ResourceQuota (scheduler default only: Kueue and KAI keep quota in [queues]).",
    ),
    ("tenant.quota.cpu", "CPU requests, a Kubernetes quantity."),
    (
        "tenant.quota.memory",
        "Memory requests, a Kubernetes quantity.",
    ),
    (
        "tenant.quota.gpu",
        "GPUs (devices); MIG and shared resources get as many as these devices give.",
    ),
    ("tenant.quota.pvcs", "PersistentVolumeClaims."),
    (
        "tenant.quota.priorities",
        "Only pods of these priorities (from [priorities]) count against the quota (scopeSelector on PriorityClass).",
    ),
];
