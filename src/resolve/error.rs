//! Problems the resolver finds: references, the DAG, kinds, GPUs, queues and policy.

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

    /// `-p NAME=VALUE` with a value of the wrong type, or a malformed `-p`.
    #[error("{message}")]
    #[diagnostic(code(mlk::resolve::param_value), help("{help}"))]
    BadParam {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
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

    /// A setting that does not fit the step's kind.
    #[error("{message}")]
    #[diagnostic(code(mlk::resolve::kind), help("{help}"))]
    KindRule {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// The setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// A serve step that KServe's admission rules would reject.
    #[error("{message}")]
    #[diagnostic(code(mlk::resolve::serving), help("{help}"))]
    Serving {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// The setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// A GPU request the stack cannot satisfy.
    #[error("{message}")]
    #[diagnostic(code(mlk::resolve::gpu), help("{help}"))]
    Gpu {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
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

    /// The scheduler settings of the stack are incomplete.
    #[error("{message}")]
    #[diagnostic(code(mlk::resolve::scheduler), help("{help}"))]
    Scheduler {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// The stack setting.
        #[label("here")]
        at: SourceSpan,
    },

    /// A step the stack's `[policy]` forbids.
    #[error("{message}")]
    #[diagnostic(code(mlk::resolve::policy), help("{help}"))]
    Policy {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// The offending value.
        #[label("{label}")]
        at: SourceSpan,
        /// Short label.
        label: String,
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
        "Kueue 0.19 and later manage PyTorchJobs only when the `kubeflow.org/pytorchjob` integration is enabled"
    )]
    #[diagnostic(
        code(mlk::resolve::kueue_pytorchjob),
        severity(Advice),
        help(
            "ask the cluster admin to enable it, or set [training] api = \"trainjob\" in the stack"
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

    /// No MIG profile fits, or a profile name is malformed, or no table is known.
    #[error("{message}")]
    #[diagnostic(code(mlk::resolve::mig_profile), help("{help}"))]
    MigProfile {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// The request or the stack setting.
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
