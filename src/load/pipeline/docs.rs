//! Descriptions of the pipeline file's keys, for its JSON Schema.

/// Descriptions of the keys of the pipeline file's JSON Schema, by path (a suffix of the key's
/// dotted path; `*` is an entry of a free-form table, `[]` an array element).
pub(crate) const SCHEMA_DOCS: &[(&str, &str)] = &[
    ("pipeline", "The pipeline: its name and description."),
    (
        "pipeline.name",
        "The pipeline's name (a DNS-1123 label); the prefix of every object name.",
    ),
    ("pipeline.description", "Free text."),
    (
        "pipeline.schedule",
        "A cron expression (minute hour day-of-month month day-of-week, or @daily, @every 1h): the stack's engine starts the pipeline on this schedule (needs `[stack] engine = \"argo\"`).",
    ),
    (
        "pipeline.timezone",
        "The IANA time zone of `schedule` (default the engine's, usually UTC).",
    ),
    (
        "pipeline.concurrency",
        "What a scheduled start does while the previous run is still going: \"forbid\" (default: skip it), \"allow\" or \"replace\".",
    ),
    (
        "pipeline.cache_salt",
        "Part of every cache key of this pipeline: change it to run every step again.",
    ),
    (
        "params",
        "Parameter defaults, used in templates as {{ params.NAME }}; override with `-p NAME=VALUE`.",
    ),
    (
        "defaults",
        "Settings applied to every step unless the step sets them.",
    ),
    (
        "steps",
        "The steps, by name (a DNS-1123 label). They form a DAG from `after` and {{ steps.NAME… }} references.",
    ),
    (
        "kind",
        "What the step compiles to: a Job, a PyTorchJob (or TrainJob) or a KServe InferenceService.",
    ),
    (
        "after",
        "Steps that must finish first, in addition to those referenced in templates.",
    ),
    (
        "command",
        "Program and arguments (templated). A list, not one string.",
    ),
    (
        "inputs",
        "What the step reads, for its cache key: a local path (content-hashed), a URI, or { uri, version }.",
    ),
    ("inputs.*.uri", "The input's URI (templated)."),
    (
        "inputs.*.version",
        "An explicit version, part of the input's identity.",
    ),
    (
        "outputs",
        "Output names; each gets the URI {artifacts.uri}/{pipeline}/{step}/{cache_key}/{output}, found as {{ outputs.NAME }}.",
    ),
    (
        "replicas",
        "job/pytorch: the number of pods (pytorch: 1 Master + Workers); serve: { min, max }.",
    ),
    (
        "replicas.min",
        "Fewest replicas; 0 scales a serve step to zero.",
    ),
    ("replicas.max", "Most replicas."),
    (
        "elastic",
        "pytorch: elastic training between min and max nodes.",
    ),
    ("elastic.min", "Fewest nodes."),
    ("elastic.max", "Most nodes."),
    (
        "nproc_per_node",
        "pytorch: processes per node (default: the step's whole-GPU count, or 1).",
    ),
    ("model", "serve: the model to serve."),
    (
        "model.format",
        "Model format name, e.g. pytorch, sklearn, huggingface.",
    ),
    (
        "model.uri",
        "Where the model is (templated), e.g. {{ steps.train.outputs.model }}.",
    ),
    ("model.runtime", "A KServe ServingRuntime to pin."),
    (
        "autoscale",
        "serve: the autoscaling metric and target; the stack's serving mode decides which metrics are legal.",
    ),
    (
        "autoscale.metric",
        "concurrency or rps (Knative mode); cpu or memory (standard mode).",
    ),
    (
        "autoscale.target",
        "Target value of the metric (1-100 for cpu and memory).",
    ),
    (
        "canary",
        "serve: percent of traffic to the new revision (Knative mode only).",
    ),
    (
        "image",
        "Container image. The stack's [policy] may restrict it.",
    ),
    (
        "env",
        "Environment variables: a string, { value, not_secret }, or { secret, key } / { config_map, key }. Credential-looking names need a reference or not_secret = true.",
    ),
    ("env.*.value", "The value, a string (templated)."),
    (
        "env.*.not_secret",
        "The value is not a secret although the name looks like a credential (a path, say).",
    ),
    ("env.*.secret", "Name of the Secret."),
    ("env.*.config_map", "Name of the ConfigMap."),
    ("env.*.key", "Key in the Secret or ConfigMap."),
    (
        "expected_duration",
        "Expected run time, for cost estimates in `mlk plan` only.",
    ),
    ("retries", "Retries after a failure (backoffLimit)."),
    (
        "timeout",
        "Deadline for the whole step (activeDeadlineSeconds).",
    ),
    (
        "pending_timeout",
        "On a cluster: fail the step when it is still not running after this long (suspended by the queue, not scheduled, no pod created), saying why. Over the stack's [defaults] pending_timeout; unset: wait.",
    ),
    (
        "cache",
        "false: always run the step, never reuse a cached result.",
    ),
    ("cache_ttl", "Cache records older than this are misses."),
    ("priority", "A priority name from the stack's [priorities]."),
    ("queue", "A queue name from the stack."),
    (
        "capacity",
        "A capacity name from the stack's [capacity.NAME] (e.g. spot): its node selector and tolerations apply.",
    ),
    (
        "volumes",
        "PersistentVolumeClaims mounted into the step's containers (on a cluster; the local backend mounts none).",
    ),
    (
        "volumes[].claim",
        "The claim's name, in the stack's namespace.",
    ),
    (
        "volumes[].path",
        "Where the containers see it: an absolute path, not inside another volume, /mlk or /dev/shm.",
    ),
    (
        "checkpoint",
        "A directory every attempt of the same work finds again (MLK_CHECKPOINT_DIR): on a cluster under one of the step's volumes (<checkpoint>/<cache key>), locally under .mlk/checkpoints/.",
    ),
    (
        "placement",
        "Where the pods go in the stack's [topology]: { level = \"nvlink\", mode = \"required\" } (all pods in one domain of that level, or none start; the default) or mode = \"preferred\" (one domain if possible).",
    ),
    (
        "placement.level",
        "A level name from the stack's [topology].",
    ),
    ("placement.mode", "required (the default) or preferred."),
];
