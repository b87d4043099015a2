//! Problems the resolver finds: one variant and one stable code per problem, each with its
//! help text beside it; and [`Shared`], one problem that several steps inherit.

use miette::{Diagnostic, LabeledSpan, SourceSpan};
use thiserror::Error;

/// A problem found while resolving a pipeline against a stack.
#[derive(Debug, Error, Diagnostic)]
pub enum ResolveError {
    /// `-p NAME=…` names no parameter of the pipeline.
    #[error("unknown parameter `{name}`")]
    #[diagnostic(code(mlk::resolve::unknown_param), help("{help}"))]
    UnknownParam {
        /// The name given.
        name: String,
        /// Known parameters or a suggestion.
        help: String,
    },

    /// `-p` not of the form `NAME=VALUE`.
    #[error("`-p {given}` is not of the form NAME=VALUE")]
    #[diagnostic(code(mlk::resolve::param_form), help("write e.g. -p epochs=20"))]
    ParamForm {
        /// What was given after `-p`.
        given: String,
    },

    /// `-p NAME=VALUE` with a value of the wrong type for the parameter's default.
    #[error("parameter `{name}` takes {kind}, not \"{value}\"")]
    #[diagnostic(
        code(mlk::resolve::param_value),
        help("its default in the pipeline is {default}")
    )]
    ParamValue {
        /// The parameter.
        name: String,
        /// What it takes: "an integer", "a number", "true or false".
        kind: &'static str,
        /// The value given.
        value: String,
        /// The default, as JSON.
        default: String,
    },

    /// A template uses a name that is not defined.
    #[error("`{name}` is not defined in this template")]
    #[diagnostic(code(mlk::resolve::undefined), help("{help}"))]
    UndefinedName {
        /// The name as used.
        name: String,
        /// What is defined.
        help: String,
        /// The string.
        #[label("uses `{name}`")]
        at: SourceSpan,
    },

    /// A template does not parse or fails to expand.
    #[error("template error: {message}")]
    #[diagnostic(
        code(mlk::resolve::template),
        help("expressions look like {{{{ params.epochs }}}}; see the README's template section")
    )]
    Template {
        /// minijinja's message.
        message: String,
        /// The string.
        #[label("in this string")]
        at: SourceSpan,
    },

    /// A dependency names a step that does not exist.
    #[error("no step named `{name}`")]
    #[diagnostic(code(mlk::resolve::unknown_step), help("{help}"))]
    UnknownStep {
        /// The name.
        name: String,
        /// A suggestion or the list of steps.
        help: String,
        /// Where it is named.
        #[label("unknown step")]
        at: SourceSpan,
    },

    /// A step reads or writes an artifact by local path where nothing can move its bytes.
    #[error("step `{step}` reads or writes {what} by local path, but {why}")]
    #[diagnostic(code(mlk::resolve::cannot_move), help("{help}"))]
    CannotMove {
        /// The step.
        step: String,
        /// The artifacts, as templates name them.
        what: String,
        /// Why nothing can move them.
        why: &'static str,
        /// What to do.
        help: String,
        /// The step.
        #[label("this step")]
        at: SourceSpan,
    },

    /// A reference to an output a step does not declare.
    #[error("step `{step}` has no output `{output}`")]
    #[diagnostic(code(mlk::resolve::unknown_output), help("{help}"))]
    UnknownOutput {
        /// The step.
        step: String,
        /// The output name.
        output: String,
        /// Declared outputs.
        help: String,
        /// Where it is used.
        #[label("unknown output")]
        at: SourceSpan,
    },

    /// The steps depend on each other in a circle.
    #[error("dependency cycle: {circle}")]
    #[diagnostic(
        code(mlk::resolve::cycle),
        help(
            "a step cannot run before itself; remove one of these dependencies (an `after` entry or a `steps.X.outputs` reference)"
        )
    )]
    Cycle {
        /// `a → b → c → a`.
        circle: String,
        /// Each step in the circle.
        #[label(collection)]
        steps: Vec<LabeledSpan>,
    },

    /// A job or pytorch step without an image.
    #[error("step `{step}` has no image")]
    #[diagnostic(
        code(mlk::resolve::missing_image),
        help("set `image = \"…\"` in the step or in [defaults]")
    )]
    MissingImage {
        /// The step.
        step: String,
        /// The step's table.
        #[label("no image")]
        at: SourceSpan,
    },

    /// A job or pytorch step without a command.
    #[error("step `{step}` has no command")]
    #[diagnostic(
        code(mlk::resolve::missing_command),
        help(
            "job and pytorch steps run a command: command = [\"python\", \"train.py\"] (mlk never falls back to the image's entrypoint)"
        )
    )]
    MissingCommand {
        /// The step.
        step: String,
        /// The step's table.
        #[label("no command")]
        at: SourceSpan,
    },

    /// `elastic` or `nproc_per_node` on a step that is not a pytorch step.
    #[error("`{key}` applies to pytorch steps; `{step}` is a {kind} step")]
    #[diagnostic(
        code(mlk::resolve::pytorch_only),
        help("remove it, or set kind = \"pytorch\"")
    )]
    PytorchOnly {
        /// The key.
        key: &'static str,
        /// The step.
        step: String,
        /// The step's kind.
        kind: &'static str,
        /// The setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// `model`, `autoscale` or `canary` on a step that is not a serve step.
    #[error("`{key}` applies to serve steps")]
    #[diagnostic(
        code(mlk::resolve::serve_only),
        help("remove it, or set kind = \"serve\"")
    )]
    ServeOnly {
        /// The key.
        key: &'static str,
        /// The setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// A job step with more than one replica.
    #[error("`replicas` applies to pytorch and serve steps")]
    #[diagnostic(
        code(mlk::resolve::job_replicas),
        help("a job step runs one pod; use kind = \"pytorch\" for distributed training")
    )]
    JobReplicas {
        /// The setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// A pytorch step with a replica range.
    #[error("a pytorch step takes a replica count, not a range")]
    #[diagnostic(
        code(mlk::resolve::replica_range),
        help(
            "write replicas = 4 (1 Master + 3 Workers); use `elastic = {{ min, max }}` for elastic training"
        )
    )]
    ReplicaRange {
        /// The setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// Elastic training with fewer than two replicas.
    #[error("elastic training needs Workers: set replicas to 2 or more")]
    #[diagnostic(
        code(mlk::resolve::elastic_replicas),
        help("replicas counts all pods: 1 Master + (replicas − 1) Workers")
    )]
    ElasticReplicas {
        /// The `elastic` setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// A serve step with a `command`.
    #[error("serve steps run their model server; `command` is not used")]
    #[diagnostic(
        code(mlk::resolve::serve_command),
        help("remove `command`; pick the server with model = {{ format, uri, runtime }}")
    )]
    ServeCommand {
        /// The command.
        #[label("here")]
        at: SourceSpan,
    },

    /// A serve step with `outputs`.
    #[error("serve steps have no outputs")]
    #[diagnostic(code(mlk::resolve::serve_outputs), help("remove `outputs`"))]
    ServeOutputs {
        /// The first output.
        #[label("here")]
        at: SourceSpan,
    },

    /// A serve step without a model.
    #[error("serve step `{step}` has no model")]
    #[diagnostic(
        code(mlk::resolve::serve_model),
        help(
            "add model = {{ format = \"pytorch\", uri = \"{{{{ steps.train.outputs.model }}}}\" }}"
        )
    )]
    ServeModel {
        /// The step.
        step: String,
        /// The step's name.
        #[label("here")]
        at: SourceSpan,
    },

    /// An autoscaling metric the stack's KServe deployment mode does not support.
    #[error("the `{metric}` metric needs KServe's {needs} mode; the stack uses {mode} mode")]
    #[diagnostic(
        code(mlk::resolve::autoscale_metric),
        help(
            "in {mode} mode use metric = {allowed}; or use a stack with [serving] mode = \"{needs}\""
        )
    )]
    AutoscaleMetric {
        /// The metric.
        metric: String,
        /// The mode it needs.
        needs: &'static str,
        /// The stack's mode.
        mode: &'static str,
        /// The metrics of the stack's mode.
        allowed: &'static str,
        /// The metric setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// An HPA utilisation target outside 1–100.
    #[error("target {target} is out of range for a {metric} metric in standard mode")]
    #[diagnostic(
        code(mlk::resolve::autoscale_target),
        help("HPA utilisation targets are percentages from 1 to 100")
    )]
    AutoscaleTarget {
        /// The target.
        target: u32,
        /// The metric.
        metric: String,
        /// The target setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// A schedule on a stack whose engine cannot start runs on its own.
    #[error("pipeline has a schedule, but stack `{stack}` has no engine that can run it")]
    #[diagnostic(
        code(mlk::resolve::schedule_engine),
        help(
            "a schedule needs an engine that runs in the cluster: set `engine = \"argo\"` in the stack's [stack] table (Argo Workflows then starts the pipeline), or remove `schedule` and start runs with `mlk run`"
        )
    )]
    ScheduleEngine {
        /// The stack's name.
        stack: String,
        /// The schedule.
        #[label("needs [stack] engine = \"argo\"")]
        at: SourceSpan,
    },

    /// A step reads `{{ run.date }}` where nothing would fill it in.
    #[error("step `{step}` reads {{{{ run.date }}}}, which only a run knows, and {why}")]
    #[diagnostic(code(mlk::resolve::run_date), help("{help}"))]
    RunDate {
        /// The step.
        step: String,
        /// Why no date can be given.
        why: &'static str,
        /// What to do.
        help: &'static str,
        /// The step.
        #[label("reads the run's date")]
        at: SourceSpan,
    },

    /// A canary rollout on a stack whose KServe mode and version cannot carry it.
    #[error("a standard-mode canary is not possible with KServe {version}: {why}")]
    #[diagnostic(code(mlk::resolve::canary_mode), help("{help}"))]
    CanaryMode {
        /// The stack's declared KServe version.
        version: &'static str,
        /// Why not, for this version.
        why: &'static str,
        /// What to do instead.
        help: &'static str,
        /// The canary setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// A fraction of a GPU on a pytorch step with several replicas.
    #[error("step `{step}` asks for a fraction of a GPU on {replicas} replicas")]
    #[diagnostic(
        code(mlk::resolve::gpu_fraction_replicas),
        help(
            "NCCL needs whole devices for distributed training: request gpu = 1 or more, or use replicas = 1"
        )
    )]
    GpuFractionReplicas {
        /// The step.
        step: String,
        /// Its replicas.
        replicas: u32,
        /// The request.
        #[label("here")]
        at: SourceSpan,
    },

    /// A request with both `gpu` and `gpu_memory`.
    #[error("step `{step}` sets both `gpu` and `gpu_memory`")]
    #[diagnostic(
        code(mlk::resolve::gpu_both),
        help(
            "ask for either a number of GPUs (gpu = 0.25) or an amount of GPU memory (gpu_memory = \"20Gi\"), not both"
        )
    )]
    GpuBoth {
        /// The step.
        step: String,
        /// `gpu_memory`.
        #[label("here")]
        at: SourceSpan,
    },

    /// A share of a GPU on a stack that does not share GPUs.
    #[error("step `{step}` asks for {request}, but the stack does not share GPUs")]
    #[diagnostic(
        code(mlk::resolve::gpu_not_shared),
        help(
            "request {whole} (gpu = 1), or use a stack with [gpu] sharing = \"kai\", \"mig\" or \"time-slicing\""
        )
    )]
    GpuNotShared {
        /// The step.
        step: String,
        /// `0.25 of a GPU` or `GPU memory (20Gi)`.
        request: String,
        /// `a whole GPU` or `whole GPUs`.
        whole: &'static str,
        /// The request.
        #[label("here")]
        at: SourceSpan,
    },

    /// A GPU type the stack does not define.
    #[error("unknown GPU type `{name}`")]
    #[diagnostic(code(mlk::resolve::gpu_type), help("{help}"))]
    UnknownGpuType {
        /// The type.
        name: String,
        /// Known types.
        help: String,
        /// Where it is named.
        #[label("not in the stack's [gpu.types]")]
        at: SourceSpan,
    },

    /// A placement on a stack without `[topology]`.
    #[error("placement needs the stack's [topology]")]
    #[diagnostic(
        code(mlk::resolve::topology),
        help(
            "declare the cluster's topology levels in the stack: [topology] levels = [{{ name = \"rack\", node_label = \"topology.kubernetes.io/rack\" }}, …], or remove placement"
        )
    )]
    NoTopology {
        /// The placement.
        #[label("the stack has no [topology]")]
        at: SourceSpan,
    },

    /// A topology level the stack does not define.
    #[error("unknown topology level `{name}`")]
    #[diagnostic(code(mlk::resolve::topology_level), help("{help}"))]
    UnknownTopologyLevel {
        /// The level.
        name: String,
        /// Known levels.
        help: String,
        /// Where it is named.
        #[label("not a level of the stack's [topology]")]
        at: SourceSpan,
    },

    /// `[topology]` on a stack whose scheduler cannot place by topology.
    #[error("the default scheduler does not place pods by topology")]
    #[diagnostic(
        code(mlk::resolve::topology_scheduler),
        help(
            "topology-aware placement needs Kueue (TAS) or KAI: set [scheduler] kind = \"kueue\" or \"kai\", or remove [topology]"
        )
    )]
    TopologyScheduler {
        /// `[topology]`.
        #[label("needs [scheduler] kind = \"kueue\" or \"kai\"")]
        at: SourceSpan,
    },

    /// `[topology]` on a Kueue stack with no flavor that can be topology-aware.
    #[error("Kueue has no ResourceFlavor to place by this topology")]
    #[diagnostic(
        code(mlk::resolve::topology_flavor),
        help(
            "Kueue's topology-aware scheduling works per ResourceFlavor, and such a flavor needs node labels: give a [gpu.types.NAME] a node_selector (mlk makes each GPU type's flavor topology-aware)"
        )
    )]
    TopologyFlavor {
        /// `[topology]`.
        #[label("no GPU type with a node_selector")]
        at: SourceSpan,
    },

    /// A placement Kueue cannot apply: a serve step, or a step in no queue.
    #[error("step `{step}`: Kueue places by topology only what it admits")]
    #[diagnostic(
        code(mlk::resolve::topology_kueue),
        help(
            "Kueue admits jobs and training steps submitted to a queue: give the step a queue, or remove its placement ({why})"
        )
    )]
    TopologyKueue {
        /// The step.
        step: String,
        /// Why Kueue does not admit it.
        why: &'static str,
        /// The placement.
        #[label("Kueue does not admit this step")]
        at: SourceSpan,
    },

    /// A volume mounted where another one (or mlk's own) is.
    #[error("step `{step}`: volume path `{path}` overlaps `{other}`")]
    #[diagnostic(
        code(mlk::resolve::volume_path),
        help(
            "mount each volume at a path of its own, not inside another volume, /mlk or /dev/shm"
        )
    )]
    VolumePath {
        /// The step.
        step: String,
        /// The path.
        path: String,
        /// The path it overlaps.
        other: String,
        /// The path as written.
        #[label("overlaps {other}")]
        at: SourceSpan,
    },

    /// A checkpoint on a serve step.
    #[error("step `{step}`: `checkpoint` applies to job and pytorch steps")]
    #[diagnostic(
        code(mlk::resolve::checkpoint_serve),
        help("a model server has no attempts to resume; remove checkpoint")
    )]
    CheckpointServe {
        /// The step.
        step: String,
        /// The checkpoint.
        #[label("on a serve step")]
        at: SourceSpan,
    },

    /// A cluster checkpoint that is not on a mounted volume: a new pod would not find it.
    #[error("step `{step}`: checkpoint `{path}` is not on one of the step's volumes")]
    #[diagnostic(
        code(mlk::resolve::checkpoint_volume),
        help(
            "a pod's own files are gone when it is preempted or retried: mount a PersistentVolumeClaim and put the checkpoint under it, e.g. volumes = [{{ claim = \"training-checkpoints\", path = \"/checkpoints\" }}] and checkpoint = \"/checkpoints/{step}\" ({mounted})"
        )
    )]
    CheckpointVolume {
        /// The step.
        step: String,
        /// The checkpoint path.
        path: String,
        /// The step's mount paths, or that it has none.
        mounted: String,
        /// The checkpoint.
        #[label("not under a volume")]
        at: SourceSpan,
    },

    /// A capacity the stack does not define.
    #[error("unknown capacity `{name}`")]
    #[diagnostic(code(mlk::resolve::capacity), help("{help}"))]
    UnknownCapacity {
        /// The capacity.
        name: String,
        /// Known capacities.
        help: String,
        /// Where it is named.
        #[label("not in the stack's [capacity]")]
        at: SourceSpan,
    },

    /// A queue the stack does not define.
    #[error("unknown queue `{name}`")]
    #[diagnostic(code(mlk::resolve::queue), help("{help}"))]
    UnknownQueue {
        /// The queue.
        name: String,
        /// Known queues.
        help: String,
        /// Where it is named.
        #[label("not a queue of this stack")]
        at: SourceSpan,
    },

    /// A priority the stack does not define.
    #[error("unknown priority `{name}`")]
    #[diagnostic(code(mlk::resolve::priority), help("{help}"))]
    UnknownPriority {
        /// The priority.
        name: String,
        /// Known priorities.
        help: String,
        /// Where it is named.
        #[label("not in the stack's [priorities]")]
        at: SourceSpan,
    },

    /// KAI GPU sharing on a stack whose scheduler is not KAI.
    #[error("[gpu] sharing = \"kai\" needs the KAI scheduler")]
    #[diagnostic(
        code(mlk::resolve::scheduler),
        help(
            "set [scheduler] kind = \"kai\" (KAI reads the gpu-fraction and gpu-memory annotations only on pods it schedules), or choose another [gpu] sharing mode"
        )
    )]
    KaiScheduler {
        /// `sharing`.
        #[label("here")]
        at: SourceSpan,
    },

    /// A step without a queue on a stack whose scheduler needs one.
    #[error("step `{step}` has no queue, and the stack's scheduler needs one")]
    #[diagnostic(
        code(mlk::resolve::no_queue),
        help("set [scheduler] queue = \"…\" in the stack (or queue = \"…\" in the step)")
    )]
    NoQueue {
        /// The step.
        step: String,
        /// The stack's name.
        #[label("here")]
        at: SourceSpan,
    },

    /// A GPU type whose name cannot name a Kueue ResourceFlavor.
    #[error("GPU type `{name}` cannot name a Kueue ResourceFlavor")]
    #[diagnostic(
        code(mlk::resolve::gpu_type_name),
        help("rename [gpu.types.{name}]: {why}")
    )]
    GpuTypeName {
        /// The type.
        name: String,
        /// What the name breaks.
        why: String,
        /// The type's table.
        #[label("here")]
        at: SourceSpan,
    },

    /// A queue with a borrowing limit but no cohort.
    #[error("queue `{queue}` has a borrowing limit but no cohort to borrow from")]
    #[diagnostic(
        code(mlk::resolve::borrowing_cohort),
        help(
            "add cohort = \"…\" to the queue (queues of one cohort lend each other unused quota), or remove borrowing_limit"
        )
    )]
    BorrowingCohort {
        /// The queue.
        queue: String,
        /// The queue's table.
        #[label("here")]
        at: SourceSpan,
    },

    /// A `[tenant.quota]` on a stack whose scheduler keeps quota in its queues.
    #[error("[tenant.quota] needs the default scheduler, not {scheduler}")]
    #[diagnostic(
        code(mlk::resolve::tenant_quota),
        help(
            "with Kueue or KAI, quota lives in the queues ([queues.NAME] quota), which they enforce when they admit workloads; a ResourceQuota beside them would refuse pods the queue admitted. Remove [tenant.quota]"
        )
    )]
    TenantQuota {
        /// The stack's scheduler.
        scheduler: String,
        /// `[tenant.quota]`.
        #[label("here")]
        at: SourceSpan,
    },

    /// A KAI queue whose cohort (its parent queue) is itself.
    #[error("queue `{queue}` names itself as its cohort")]
    #[diagnostic(
        code(mlk::resolve::self_cohort),
        help("on a KAI stack the cohort becomes the parent queue; give it another name")
    )]
    SelfCohort {
        /// The queue.
        queue: String,
        /// The queue's table.
        #[label("here")]
        at: SourceSpan,
    },

    /// An image from a registry the stack's `[policy]` does not allow.
    #[error("image `{image}` is not from an allowed registry")]
    #[diagnostic(
        code(mlk::resolve::policy),
        help("the stack allows images starting with: {allowed}")
    )]
    Registry {
        /// The image.
        image: String,
        /// The allowed prefixes.
        allowed: String,
        /// The image setting.
        #[label("registry not allowed")]
        at: SourceSpan,
    },

    /// An image without a digest on a stack whose `[policy]` requires one.
    #[error("image `{image}` is not pinned by digest")]
    #[diagnostic(
        code(mlk::resolve::digest_required),
        help(
            "the stack requires digests: write image = \"name@sha256:<64 hex digits>\" (e.g. from `crane digest` or `docker inspect`)"
        )
    )]
    DigestRequired {
        /// The image.
        image: String,
        /// The image setting.
        #[label("no @sha256: digest")]
        at: SourceSpan,
    },

    /// A step using more GPUs than the stack's `[policy] max_gpus_per_step`.
    #[error(
        "step `{step}` uses {total} GPUs ({per_pod} per pod × {pods} pods); the stack allows at most {max} per step"
    )]
    #[diagnostic(
        code(mlk::resolve::max_gpus),
        help(
            "request fewer GPUs or replicas, or ask the platform team to raise [policy] max_gpus_per_step"
        )
    )]
    MaxGpus {
        /// The step.
        step: String,
        /// GPUs of all pods.
        total: f64,
        /// GPUs per pod.
        per_pod: f64,
        /// Pods.
        pods: u32,
        /// The policy's limit.
        max: u32,
        /// The request.
        #[label("{total} GPUs")]
        at: SourceSpan,
    },

    /// A local input that cannot be hashed.
    #[error("input `{name}`: {message}")]
    #[diagnostic(code(mlk::resolve::input), help("{help}"))]
    Input {
        /// Input name.
        name: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// The input.
        #[label("here")]
        at: SourceSpan,
    },

    /// Two steps would create objects with the same name.
    #[error("steps `{first}` and `{second}` would both create `{name}`")]
    #[diagnostic(code(mlk::resolve::name_collision), help("rename one of the steps"))]
    NameCollision {
        /// Object name.
        name: String,
        /// One step.
        first: String,
        /// The other.
        second: String,
        /// The second step.
        #[label("same object name")]
        at: SourceSpan,
    },

    /// An image that can change under the same name, so cached results may be stale.
    #[error("image `{image}` is not pinned; cached results of step `{step}` may be stale")]
    #[diagnostic(
        code(mlk::resolve::mutable_image),
        severity(Warning),
        help("pin a tag other than latest, or better a digest: image = \"…@sha256:…\"")
    )]
    MutableImage {
        /// The image.
        image: String,
        /// The step.
        step: String,
        /// The image setting.
        #[label("mutable")]
        at: SourceSpan,
    },

    /// Kueue does not manage PyTorchJobs unless the cluster enables that integration.
    #[error(
        "Kueue no longer manages PyTorchJobs by default: its `kubeflow.org/pytorchjob` integration is off unless the cluster enables it, and is to be removed"
    )]
    #[diagnostic(
        code(mlk::resolve::kueue_pytorchjob),
        severity(Warning),
        help(
            "set [training] api = \"trainjob\" in the stack (Kubeflow Trainer v2, which Kueue manages by default); the training operator v1 behind PyTorchJobs lives on only as a release branch"
        )
    )]
    KueuePytorchJob,

    /// A GPU-memory request larger than one device of its type.
    #[error("{request} of GPU memory is more than one `{gpu_type}` GPU has ({memory})")]
    #[diagnostic(
        code(mlk::resolve::gpu_too_large),
        help(
            "ask for at most {memory}, or for whole GPUs (gpu = 1 or more) if the model needs more"
        )
    )]
    GpuTooLarge {
        /// The request.
        request: String,
        /// The GPU type.
        gpu_type: String,
        /// Memory of one device.
        memory: String,
        /// The request.
        #[label("more than one device")]
        at: SourceSpan,
    },

    /// A shared GPU request on a GPU type without the memory mlk needs to place it.
    #[error("{}", match gpu_type { Some(t) => format!("GPU type `{t}` has no `memory`, and {why}"), None => format!("this request needs a GPU type with `memory`: {why}") })]
    #[diagnostic(
        code(mlk::resolve::gpu_type_memory),
        help(
            "set memory = \"80Gi\" (the memory of one device) under the stack's [gpu.types.NAME], and [gpu] default_type or the step's gpu_type"
        )
    )]
    GpuTypeMemory {
        /// The type, if there is one.
        gpu_type: Option<String>,
        /// Why memory is needed.
        why: String,
        /// The request or the type.
        #[label("here")]
        at: SourceSpan,
    },

    /// A share of a GPU under `sharing = "dra"` with no strategy, on a type without MIG.
    #[error("{}", match gpu_type { Some(t) => format!("GPU type `{t}` has no MIG profiles, and the stack's [gpu] sets no DRA sharing strategy"), None => "this request needs a GPU type with MIG profiles, or a DRA sharing strategy".to_owned() })]
    #[diagnostic(
        code(mlk::resolve::dra_strategy),
        help(
            "set [gpu] strategy = \"time-slicing\" or \"mps\" to share whole GPUs through the DRA driver's GpuConfig, or give the type memory = \"80Gi\" or mig = \"h100-80gb\" for MIG devices"
        )
    )]
    DraStrategy {
        /// The type, if there is one.
        gpu_type: Option<String>,
        /// The request.
        #[label("here")]
        at: SourceSpan,
    },

    /// `[gpu] strategy` on a stack that does not claim GPUs through DRA.
    #[error("[gpu] strategy applies only to sharing = \"dra\"")]
    #[diagnostic(
        code(mlk::resolve::gpu_strategy),
        help(
            "set sharing = \"dra\" for NVIDIA's DRA driver, or delete strategy (the device plugin's modes: sharing = \"mig\" or \"time-slicing\")"
        )
    )]
    GpuStrategy {
        /// `strategy`.
        #[label("ignored by this sharing mode")]
        at: SourceSpan,
    },

    /// A DRA claim on a TrainJob, whose runtime patches cannot carry one.
    #[error("step `{step}` needs a DRA resource claim, but a TrainJob cannot carry one")]
    #[diagnostic(
        code(mlk::resolve::dra_trainjob),
        help(
            "Trainer v2.3's runtime patches have no resourceClaims: use [training] api = \"pytorchjob\" on this stack, put the claim in the TrainingRuntime itself, or use a stack without sharing = \"dra\""
        )
    )]
    DraTrainJob {
        /// The step.
        step: String,
        /// The GPU request.
        #[label("this request becomes a ResourceClaimTemplate")]
        at: SourceSpan,
    },

    /// No MIG profile of the GPU type has the memory asked for.
    #[error("no MIG profile of GPU type `{gpu_type}` has {request} of memory")]
    #[diagnostic(
        code(mlk::resolve::mig_profile),
        help("profiles of this type: {profiles}; ask for less GPU memory or a whole GPU")
    )]
    MigNoFit {
        /// The GPU type.
        gpu_type: String,
        /// The request.
        request: String,
        /// The type's profiles.
        profiles: String,
        /// The request.
        #[label("here")]
        at: SourceSpan,
    },

    /// A malformed name in a GPU type's `mig_profiles`.
    #[error("`{name}` is not a MIG profile name")]
    #[diagnostic(
        code(mlk::resolve::mig_profile_name),
        help(
            "MIG profiles look like \"1g.10gb\", \"3g.40gb\" or \"1g.10gb+me\" (compute slices, then memory)"
        )
    )]
    MigProfileName {
        /// The name.
        name: String,
        /// The name.
        #[label("here")]
        at: SourceSpan,
    },

    /// A GPU type whose memory matches no built-in MIG table.
    #[error("mlk has no built-in MIG profiles for a {memory} GPU (type `{gpu_type}`)")]
    #[diagnostic(
        code(mlk::resolve::mig_table),
        help(
            "name a built-in table with mig = \"…\" (one of {tables}), or list the profiles: mig_profiles = [\"1g.10gb\", …]"
        )
    )]
    MigTable {
        /// The type's memory.
        memory: String,
        /// The type.
        gpu_type: String,
        /// The built-in tables.
        tables: String,
        /// The type's memory.
        #[label("here")]
        at: SourceSpan,
    },

    /// KAI shares GPU memory on trust.
    #[error("KAI does not isolate GPU memory between pods that share a GPU")]
    #[diagnostic(
        code(mlk::resolve::kai_sharing),
        severity(Warning),
        help(
            "each process must stay within its share (e.g. torch.cuda.set_per_process_memory_fraction), unless the cluster enforces limits"
        )
    )]
    KaiSharing,

    /// A step whose gang can never be admitted by its queue.
    #[error(
        "step `{step}` needs {need} {resource} ({per_pod} per pod × {pods} pods), but queue `{queue}` can give at most {limit}"
    )]
    #[diagnostic(code(mlk::resolve::quota), help("{help}"))]
    Quota {
        /// The step.
        step: String,
        /// cpu, memory or GPUs.
        resource: String,
        /// The whole gang's request.
        need: String,
        /// One pod's request.
        per_pod: String,
        /// Pods.
        pods: u32,
        /// The queue.
        queue: String,
        /// Quota plus borrowing limit.
        limit: String,
        /// How the limit is made up and how to fix it.
        help: String,
        /// The step.
        #[label("never admitted")]
        at: SourceSpan,
    },

    /// TrainJob runtime patches cannot carry some pod settings; the runtime must.
    #[error("TrainJob pods get {missing} only from the ClusterTrainingRuntime `{runtime}`")]
    #[diagnostic(
        code(mlk::resolve::trainjob_runtime),
        severity(Advice),
        help(
            "a TrainJob's runtimePatches cannot set them; make sure the runtime's `node` pod template does, or use [training] api = \"pytorchjob\""
        )
    )]
    TrainJobRuntime {
        /// What the runtime must provide.
        missing: String,
        /// The runtime.
        runtime: String,
    },
}

/// One problem that several steps share because they inherit the same value (a bad
/// `[defaults]` entry): reported once, at that value, naming the steps.
#[derive(Debug)]
pub struct Shared {
    /// The problem as the first step found it.
    pub error: ResolveError,
    /// Every step that has it, in the order they were resolved.
    pub steps: Vec<String>,
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (used by {} steps: {})",
            self.error,
            self.steps.len(),
            self.steps.join(", ")
        )
    }
}

impl std::error::Error for Shared {}

impl Diagnostic for Shared {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.error.code()
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.error.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.error.help()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.error.labels()
    }
}
