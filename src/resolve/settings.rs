//! The merge stage: stack `[defaults]` ⊕ pipeline `[defaults]` ⊕ step, layered once into one
//! [`Settings`] per step.
//!
//! This is the only place that decides which layer a setting comes from. Every later rule
//! (GPU placement, kind rules, policy, queues) reads the merged value together with the file
//! and span it was written at, so a problem with an inherited value points at the `[defaults]`
//! line that set it, in whichever file that is.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use crate::diag::FileId;
use crate::domain::{EnvValue, LimitsMode, Security, StepKind, Toleration};
use crate::load::{GpuAmount, Loaded, PlacementDef, ResourcesDef, StepDef, StepSettings};
use crate::quantity::Quantity;

/// A merged value and where it was written.
#[derive(Debug)]
pub(crate) struct Set<'a, T> {
    /// The value.
    pub value: &'a T,
    /// The file of the layer it came from.
    pub file: FileId,
    /// Its span in that file.
    pub span: Range<usize>,
}

impl<T> Clone for Set<'_, T> {
    fn clone(&self) -> Self {
        Set {
            value: self.value,
            file: self.file,
            span: self.span.clone(),
        }
    }
}

impl<'a, T> Set<'a, T> {
    fn new(file: FileId, v: &'a Spanned<T>) -> Self {
        Set {
            value: v.get_ref(),
            file,
            span: v.span(),
        }
    }
}

/// A GPU request: `gpu` and `gpu_memory` are one request, taken together from one layer (a
/// default `gpu = 0.25` and a step's `gpu_memory` do not add up).
#[derive(Debug, Clone, Default)]
pub(crate) struct GpuRequest<'a> {
    /// `gpu`.
    pub amount: Option<Set<'a, GpuAmount>>,
    /// `gpu_memory`.
    pub memory: Option<Set<'a, Quantity>>,
}

/// Node selector and tolerations in two layers, because the GPU type's sit between them:
/// stack `[defaults]`, then the GPU type, then pipeline `[defaults]` and the step.
#[derive(Debug, Clone, Default)]
pub(crate) struct Placement {
    stack: (BTreeMap<String, String>, Vec<Toleration>),
    own: (BTreeMap<String, String>, Vec<Toleration>),
}

impl Placement {
    /// The pods' node selector and tolerations with the GPU type's layered in between.
    pub(crate) fn with_gpu_type(
        &self,
        selector: &BTreeMap<String, String>,
        tolerations: &[Toleration],
    ) -> (BTreeMap<String, String>, Vec<Toleration>) {
        let mut s = self.stack.0.clone();
        s.extend(selector.clone());
        s.extend(self.own.0.clone());
        let mut t = self.stack.1.clone();
        t.extend(tolerations.iter().cloned());
        t.extend(self.own.1.iter().cloned());
        t.sort();
        t.dedup();
        (s, t)
    }
}

/// Everything a step takes from the three layers, merged.
#[derive(Debug, Clone)]
pub(crate) struct Settings<'a> {
    /// Container image; a serve step never inherits one (see [`merge`]).
    pub image: Option<Set<'a, String>>,
    /// Environment, pipeline `[defaults]` under the step's, with each value's span.
    pub env: BTreeMap<String, (EnvValue, Range<usize>)>,
    /// `resources.cpu`.
    pub cpu: Option<Set<'a, Quantity>>,
    /// `resources.memory`.
    pub memory: Option<Set<'a, Quantity>>,
    /// `resources.ephemeral_storage`.
    pub ephemeral_storage: Option<Set<'a, Quantity>>,
    /// `resources.gpu` and `resources.gpu_memory`.
    pub gpu: GpuRequest<'a>,
    /// `resources.gpu_type`, else the stack's `[gpu] default_type`.
    pub gpu_type: Option<Set<'a, String>>,
    /// `resources.shm`.
    pub shm: Option<Set<'a, Quantity>>,
    /// Which CPU and memory limits are set (stack only).
    pub limits: LimitsMode,
    /// Security profile (stack only).
    pub security: Security,
    /// Retries after a failure.
    pub retries: u32,
    /// Deadline.
    pub timeout_seconds: Option<u64>,
    /// How long the step may stay not running, else the stack's.
    pub pending_timeout_seconds: Option<u64>,
    /// Expected run time.
    pub expected_duration_seconds: Option<u64>,
    /// How long finished objects are kept (stack only).
    pub ttl_after_finished_seconds: Option<u64>,
    /// `cache` as written (the kind and the store also decide; see `key`).
    pub cache: bool,
    /// Maximum age of a usable record, else the stack's `[cache] ttl`.
    pub cache_ttl_seconds: Option<u64>,
    /// Node selector and tolerations.
    pub placement: Placement,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    pub annotations: BTreeMap<String, String>,
    /// Queue name, else the stack's `[scheduler] queue`.
    pub queue: Option<Set<'a, String>>,
    /// Priority name, else the stack's `[scheduler] priority`.
    pub priority: Option<Set<'a, String>>,
    /// Capacity name, else the stack's `[defaults] capacity`.
    pub capacity: Option<Set<'a, String>>,
    /// Topology placement, else pipeline then stack `[defaults] placement`.
    pub topology: Option<Set<'a, PlacementDef>>,
}

/// The first layer, in priority order, that sets a value.
fn first<'a, T, const N: usize>(
    layers: [(FileId, Option<&'a Spanned<T>>); N],
) -> Option<Set<'a, T>> {
    layers
        .into_iter()
        .find_map(|(file, v)| v.map(|v| Set::new(file, v)))
}

/// A key only a pipeline sets: the step's, else the pipeline `[defaults]`'.
fn own<'a, T>(
    file: FileId,
    [step, pipe]: [&'a StepSettings; 2],
    f: impl Fn(&'a StepSettings) -> Option<&'a Spanned<T>>,
) -> Option<Set<'a, T>> {
    first([(file, f(step)), (file, f(pipe))])
}

/// Maps with the higher layers' entries over the lower ones'.
fn layered<K: Ord + Clone, V: Clone, const N: usize>(maps: [&BTreeMap<K, V>; N]) -> BTreeMap<K, V> {
    let mut out = BTreeMap::new();
    for m in maps {
        out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out
}

/// Merges the stack's `[defaults]`, the pipeline's `[defaults]` and the step's own settings.
pub(crate) fn merge<'a>(l: &'a Loaded, def: &'a StepDef, kind: StepKind) -> Settings<'a> {
    let (pf, sf) = (l.pipeline_file, l.stack_file);
    let (step, pipe, stack) = (&def.settings, &l.pipeline.defaults, &l.stack.defaults);
    let resource = |f: fn(&'a ResourcesDef) -> Option<&'a Spanned<Quantity>>| {
        first([
            (pf, f(&step.resources)),
            (pf, f(&pipe.resources)),
            (sf, f(&stack.resources)),
        ])
    };
    let stack_ttl = l.stack.cache.ttl.as_ref().map(|d| d.secs());
    let secs = |d: Option<Set<'_, crate::duration::Duration>>| d.map(|d| d.value.secs());
    // A stack has no `env`: the pipeline `[defaults]`' under the step's.
    let env = pipe
        .env
        .iter()
        .chain(step.env.iter())
        .map(|(k, v)| (k.get_ref().clone(), (v.get_ref().clone(), v.span())))
        .collect();
    Settings {
        // A serve step's image replaces the KServe runtime's server, so it is never
        // inherited from [defaults] (which usually names the training image).
        image: match kind {
            StepKind::Serve => step.image.as_ref().map(|i| Set::new(pf, i)),
            _ => own(pf, [step, pipe], |s| s.image.as_ref()),
        },
        env,
        cpu: resource(|r| r.cpu.as_ref()),
        memory: resource(|r| r.memory.as_ref()),
        ephemeral_storage: resource(|r| r.ephemeral_storage.as_ref()),
        gpu: gpu_request([
            (pf, &step.resources),
            (pf, &pipe.resources),
            (sf, &stack.resources),
        ]),
        gpu_type: first([
            (pf, step.resources.gpu_type.as_ref()),
            (pf, pipe.resources.gpu_type.as_ref()),
            (sf, stack.resources.gpu_type.as_ref()),
        ])
        .or_else(|| l.stack.gpu.default_type.as_ref().map(|t| Set::new(sf, t))),
        shm: resource(|r| r.shm.as_ref()),
        limits: stack.limits,
        security: stack.security,
        retries: own(pf, [step, pipe], |s| s.retries.as_ref()).map_or(0, |r| *r.value),
        timeout_seconds: secs(own(pf, [step, pipe], |s| s.timeout.as_ref())),
        pending_timeout_seconds: secs(own(pf, [step, pipe], |s| s.pending_timeout.as_ref()))
            .or(stack.pending_timeout.as_ref().map(|d| d.secs())),
        expected_duration_seconds: secs(own(pf, [step, pipe], |s| s.expected_duration.as_ref())),
        ttl_after_finished_seconds: stack.ttl_after_finished.as_ref().map(|d| d.secs()),
        cache: own(pf, [step, pipe], |s| s.cache.as_ref()).is_none_or(|c| *c.value),
        cache_ttl_seconds: secs(own(pf, [step, pipe], |s| s.cache_ttl.as_ref())).or(stack_ttl),
        placement: Placement {
            stack: (stack.node_selector.clone(), stack.tolerations.clone()),
            own: (
                layered([&pipe.node_selector, &step.node_selector]),
                pipe.tolerations
                    .iter()
                    .chain(&step.tolerations)
                    .cloned()
                    .collect(),
            ),
        },
        labels: layered([&stack.labels, &pipe.labels, &step.labels]),
        annotations: layered([&stack.annotations, &pipe.annotations, &step.annotations]),
        queue: first([
            (pf, step.queue.as_ref()),
            (pf, pipe.queue.as_ref()),
            (sf, l.stack.scheduler.queue.as_ref()),
        ]),
        priority: first([
            (pf, step.priority.as_ref()),
            (pf, pipe.priority.as_ref()),
            (sf, l.stack.scheduler.priority.as_ref()),
        ]),
        capacity: first([
            (pf, step.capacity.as_ref()),
            (pf, pipe.capacity.as_ref()),
            (sf, stack.capacity.as_ref()),
        ]),
        topology: first([
            (pf, step.placement.as_ref()),
            (pf, pipe.placement.as_ref()),
            (sf, stack.placement.as_ref()),
        ]),
    }
}

/// The GPU request of the first layer that sets `gpu` or `gpu_memory`.
fn gpu_request<'a>(layers: [(FileId, &'a ResourcesDef); 3]) -> GpuRequest<'a> {
    layers
        .into_iter()
        .find(|(_, r)| r.gpu.is_some() || r.gpu_memory.is_some())
        .map(|(file, r)| GpuRequest {
            amount: r.gpu.as_ref().map(|g| Set::new(file, g)),
            memory: r.gpu_memory.as_ref().map(|m| Set::new(file, m)),
        })
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::resolve::plan::Gpu;
    use crate::resolve::testing::{error_codes, resolve_texts};

    const STACK: &str = r#"
[stack]
name = "s"
namespace = "ml"
[artifacts]
uri = "s3://b/m"
[gpu]
sharing = "SHARING"
[gpu.types.h100]
memory = "80Gi"
node_selector = { "gpu" = "h100" }
[defaults]
resources = { cpu = "2", memory = "8Gi", gpu = GPU, gpu_type = "h100", shm = "1Gi" }
"#;

    fn stack(sharing: &str, gpu: &str) -> String {
        STACK.replace("SHARING", sharing).replace("GPU", gpu)
    }

    fn pipeline(steps: &[(&str, &str)]) -> String {
        let mut p = "[pipeline]\nname = \"p\"\n[defaults]\nimage = \"r.io/i:1\"\n".to_owned();
        for (name, extra) in steps {
            p.push_str(&format!("[steps.{name}]\ncommand = [\"x\"]\n{extra}\n"));
        }
        p
    }

    #[test]
    fn stack_default_gpu_type_and_shm_reach_a_step_and_a_step_overrides_them() {
        let plan = resolve_texts(
            &stack("none", "1"),
            &pipeline(&[
                ("inherits", ""),
                ("overrides", "resources = { gpu = 0, shm = \"64Mi\" }"),
            ]),
        )
        .unwrap();
        let s = plan.step("inherits").unwrap();
        assert!(
            matches!(&s.gpu, Gpu::Whole { count: 1, gpu_type: Some(t), .. } if t == "h100"),
            "{:?}",
            s.gpu
        );
        assert_eq!(s.resources.limits.get("nvidia.com/gpu").unwrap(), "1");
        assert_eq!(s.shm.as_deref(), Some("1Gi"));
        assert_eq!(s.node_selector.get("gpu").unwrap(), "h100");
        assert_eq!(s.resources.requests.get("cpu").unwrap(), "2");
        let o = plan.step("overrides").unwrap();
        assert_eq!(o.gpu, Gpu::None);
        assert!(!o.resources.limits.contains_key("nvidia.com/gpu"));
        assert_eq!(o.shm.as_deref(), Some("64Mi"));
        assert!(o.node_selector.is_empty());
    }

    #[test]
    fn a_pipeline_default_gpu_memory_replaces_the_stack_default_gpu() {
        let p = pipeline(&[("s", "")]).replace(
            "[defaults]\n",
            "[defaults]\nresources = { gpu_memory = \"20Gi\" }\n",
        );
        let plan = resolve_texts(
            &stack("kai", "2").replace(
                "[defaults]",
                "[scheduler]\nkind = \"kai\"\nqueue = \"q\"\n[defaults]",
            ),
            &p,
        )
        .unwrap();
        assert!(
            matches!(plan.steps[0].gpu, Gpu::KaiMemory { mib: 20480, .. }),
            "{:?}",
            plan.steps[0].gpu
        );
    }

    #[test]
    fn a_bad_stack_default_is_one_problem_in_the_stack_file_for_every_step() {
        let problems = resolve_texts(
            &stack("none", "0.25"),
            &pipeline(&[("a", ""), ("b", ""), ("c", "")]),
        )
        .unwrap_err();
        assert_eq!(error_codes(&problems), ["mlk::resolve::gpu_not_shared"]);
        let text = problems[0].to_string();
        assert!(text.ends_with("(used by 3 steps: a, b, c)"), "{text}");
    }

    #[test]
    fn the_same_value_with_different_problems_is_reported_per_step() {
        let s =
            stack("none", "2").replace("[defaults]", "[policy]\nmax_gpus_per_step = 4\n[defaults]");
        let p = pipeline(&[
            ("a", "kind = \"pytorch\"\nreplicas = 3"),
            ("b", "kind = \"pytorch\"\nreplicas = 4"),
            ("c", "kind = \"pytorch\"\nreplicas = 3"),
        ]);
        let problems = resolve_texts(&s, &p).unwrap_err();
        // a and c use 6 GPUs, b uses 8: two problems at the stack's `gpu = 2`.
        assert_eq!(
            error_codes(&problems),
            ["mlk::resolve::max_gpus", "mlk::resolve::max_gpus"]
        );
        assert!(problems[0].to_string().ends_with("(used by 2 steps: a, c)"));
        assert!(problems[1].to_string().contains("step `b` uses 8 GPUs"));
    }
}
