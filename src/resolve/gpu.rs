//! GPU placement: a step's merged GPU request compiled for the stack's `[gpu] sharing` mode
//! (SPEC §2's table): whole devices, KAI fractions and GPU memory, MIG profiles,
//! time-sliced devices, or DRA device claims (and where a claim cannot go); and the GPU
//! type's node selector and tolerations.

use std::collections::BTreeMap;
use std::ops::Range;

use miette::SourceSpan;
use toml::Spanned;

use super::mig;
use super::plan::Gpu;
use super::settings::{self, Settings};
use super::{Cx, ResolveError, hint};
use crate::diag::FileId;
use crate::domain::{DraStrategy, GpuSharing, StepKind, Toleration, TrainingApi};
use crate::load::{GpuAmount, GpuTypeDef, Loaded};
use crate::quantity::Quantity;

/// The resource name of whole NVIDIA GPUs.
pub(crate) const NVIDIA_GPU: &str = "nvidia.com/gpu";

/// The DRA driver's DeviceClass of whole (or shared) GPUs.
pub(crate) const DRA_GPU_CLASS: &str = "gpu.nvidia.com";

/// The DRA driver's DeviceClass of MIG devices.
pub(crate) const DRA_MIG_CLASS: &str = "mig.nvidia.com";

/// What a shared request asks for.
enum Share<'a> {
    Fraction(f64),
    Memory(&'a Quantity),
}

/// A shared request and where it is written.
struct Request<'a> {
    share: Share<'a>,
    file: FileId,
    span: Range<usize>,
}

impl Request<'_> {
    fn report(&self, cx: &mut Cx<'_>, e: impl FnOnce(SourceSpan) -> ResolveError) {
        cx.at(self.file, e(self.span.clone().into()));
    }
}

/// A step's GPUs, and the node selector and tolerations of its GPU type.
pub(super) struct Placed {
    /// The GPUs of one pod.
    pub gpu: Gpu,
    /// The GPU type's node selector.
    pub selector: BTreeMap<String, String>,
    /// The GPU type's tolerations.
    pub tolerations: Vec<Toleration>,
}

impl Default for Placed {
    fn default() -> Self {
        Placed {
            gpu: Gpu::None,
            selector: BTreeMap::new(),
            tolerations: Vec::new(),
        }
    }
}

/// The GPU type a request runs on, checked against the stack's `[gpu.types]`.
struct Type<'a> {
    name: Option<String>,
    def: Option<&'a Spanned<GpuTypeDef>>,
}

/// Compiles a step's merged GPU request for the stack's sharing mode.
pub(super) fn place(cx: &mut Cx<'_>, set: &Settings<'_>, step: &str, kind: StepKind) -> Placed {
    let placed = place_request(cx, set, step);
    if matches!(placed.gpu, Gpu::Dra { .. })
        && kind == StepKind::Pytorch
        && cx.l.stack.training.api == TrainingApi::Trainjob
    {
        let (file, span) = match (&set.gpu.amount, &set.gpu.memory) {
            (Some(a), _) => (a.file, a.span.clone()),
            (None, Some(m)) => (m.file, m.span.clone()),
            (None, None) => return Placed::default(),
        };
        let e = ResolveError::DraTrainJob {
            step: step.to_owned(),
            at: span.into(),
        };
        cx.at(file, e);
        return Placed::default();
    }
    placed
}

fn place_request(cx: &mut Cx<'_>, set: &Settings<'_>, step: &str) -> Placed {
    let req = &set.gpu;
    let amount = req
        .amount
        .as_ref()
        .filter(|a| !matches!(a.value, GpuAmount::Whole(0)));
    if amount.is_none() && req.memory.is_none() {
        return Placed::default();
    }
    let Some(t) = gpu_type(cx, set) else {
        return Placed::default();
    };
    let (selector, tolerations) = t
        .def
        .map(|d| {
            (
                d.get_ref().node_selector.clone(),
                d.get_ref().tolerations.clone(),
            )
        })
        .unwrap_or_default();
    let placed = |gpu| Placed {
        gpu,
        selector: selector.clone(),
        tolerations: tolerations.clone(),
    };
    let request = match (amount, &req.memory) {
        (Some(a), None) => match *a.value {
            GpuAmount::Whole(count) if cx.l.stack.gpu.sharing == GpuSharing::Dra => {
                return placed(Gpu::Dra {
                    device_class: DRA_GPU_CLASS.into(),
                    count,
                    product: product(&t),
                    profile: None,
                    sharing: None,
                    share: f64::from(count),
                    gpu_type: t.name,
                });
            }
            GpuAmount::Whole(count) => {
                return placed(Gpu::Whole {
                    count,
                    resource: NVIDIA_GPU.into(),
                    gpu_type: t.name,
                });
            }
            GpuAmount::Fraction(f) => Request {
                share: Share::Fraction(f),
                file: a.file,
                span: a.span.clone(),
            },
        },
        (Some(_), Some(m)) => {
            let e = ResolveError::GpuBoth {
                step: step.to_owned(),
                at: m.span.clone().into(),
            };
            cx.at(m.file, e);
            return Placed::default();
        }
        (None, Some(m)) => Request {
            share: Share::Memory(m.value),
            file: m.file,
            span: m.span.clone(),
        },
        (None, None) => return Placed::default(),
    };
    match shared(cx, &request, &t, step) {
        Some(gpu) => placed(gpu),
        None => Placed::default(),
    }
}

/// Where step `step`'s merged GPU request is written (its `gpu` or `gpu_memory`, else its
/// `gpu_type`), for a problem with the request found after resolution: the local machine's
/// GPUs (`crate::local::gpu`). The merge stays the one in `settings`.
pub fn request_at(l: &Loaded, step: &str) -> Option<(FileId, Range<usize>)> {
    let def = l.pipeline.steps.iter().find(|s| s.name.get_ref() == step)?;
    let kind = def.kind.as_ref().map_or(StepKind::Job, |k| *k.get_ref());
    let set = settings::merge(l, def, kind);
    let at = |file: FileId, span: &Range<usize>| (file, span.clone());
    set.gpu
        .amount
        .as_ref()
        .map(|a| at(a.file, &a.span))
        .or_else(|| set.gpu.memory.as_ref().map(|m| at(m.file, &m.span)))
        .or_else(|| set.gpu_type.as_ref().map(|t| at(t.file, &t.span)))
}

/// The request's GPU type: the merged `gpu_type` (else `[gpu] default_type`), which the
/// stack must define.
fn gpu_type<'l>(cx: &mut Cx<'l>, set: &Settings<'_>) -> Option<Type<'l>> {
    let types = &cx.l.stack.gpu.types;
    let Some(t) = &set.gpu_type else {
        return Some(Type {
            name: None,
            def: None,
        });
    };
    match types.get(t.value) {
        Some(def) => Some(Type {
            name: Some(t.value.clone()),
            def: Some(def),
        }),
        None => {
            let e = ResolveError::UnknownGpuType {
                name: t.value.clone(),
                help: hint(t.value, types.keys().map(String::as_str), "GPU types"),
                at: t.span.clone().into(),
            };
            cx.at(t.file, e);
            None
        }
    }
}

/// Bytes of a memory quantity (rounded up; memory is never negative here).
fn bytes(q: &Quantity) -> u128 {
    u128::try_from(q.whole_ceil()).unwrap_or(0)
}

/// A fraction of a GPU or an amount of GPU memory, compiled for the sharing mode.
fn shared(cx: &mut Cx<'_>, r: &Request<'_>, t: &Type<'_>, step: &str) -> Option<Gpu> {
    let sharing = cx.l.stack.gpu.sharing;
    if sharing == GpuSharing::None {
        let (request, whole) = match &r.share {
            Share::Fraction(f) => (format!("{f} of a GPU"), "a whole GPU"),
            Share::Memory(m) => (format!("GPU memory ({m})"), "whole GPUs"),
        };
        r.report(cx, |at| ResolveError::GpuNotShared {
            step: step.to_owned(),
            request,
            whole,
            at,
        });
        return None;
    }
    // Device memory of the type, and the request in bytes.
    let device = t.def.and_then(|d| d.get_ref().memory.as_ref());
    let device_bytes = device.map(|q| bytes(q.get_ref()));
    if let (Share::Memory(m), Some(d)) = (&r.share, device)
        && bytes(m) > bytes(d.get_ref())
    {
        r.report(cx, |at| ResolveError::GpuTooLarge {
            request: m.to_string(),
            gpu_type: t.name.clone().unwrap_or_default(),
            memory: d.get_ref().to_string(),
            at,
        });
        return None;
    }
    let share_of_device = match (&r.share, device_bytes) {
        (Share::Fraction(f), _) => *f,
        (Share::Memory(m), Some(d)) if d > 0 => bytes(m) as f64 / d as f64,
        (Share::Memory(_), _) => 1.0,
    };
    let gpu_type = t.name.clone();
    match sharing {
        GpuSharing::None => None,
        GpuSharing::Kai => match &r.share {
            Share::Fraction(f) => Some(Gpu::KaiFraction {
                fraction: *f,
                gpu_type,
            }),
            Share::Memory(_) if device.is_none() => {
                needs_memory(
                    cx,
                    r,
                    t,
                    "KAI places GPU-memory requests on devices of a known size",
                );
                None
            }
            Share::Memory(m) => Some(Gpu::KaiMemory {
                mib: u64::try_from(m.mebibytes_ceil()).unwrap_or(u64::MAX),
                share: share_of_device,
                gpu_type,
            }),
        },
        GpuSharing::Mig => mig_instance(cx, r, t, device_bytes),
        GpuSharing::Dra => dra_shared(cx, r, t, device_bytes),
        GpuSharing::TimeSlicing => Some(Gpu::TimeSliced {
            resource: cx
                .l
                .stack
                .gpu
                .shared_resource
                .as_ref()
                .map_or_else(|| NVIDIA_GPU.into(), |r| r.get_ref().clone()),
            share: share_of_device,
            gpu_type,
        }),
    }
}

/// The DRA driver's `productName` of the type's devices, if the stack names it.
fn product(t: &Type<'_>) -> Option<String> {
    t.def
        .and_then(|d| d.get_ref().product.as_ref())
        .map(|p| p.get_ref().clone())
}

/// A fraction or memory request under `sharing = "dra"`: a MIG device (strategy `mig`, or no
/// strategy on a type with MIG profiles), else one GPU shared by the driver's `GpuConfig`.
///
/// Each pod's claim from a ResourceClaimTemplate is allocated a device of its own, so a
/// time-sliced or MPS GPU is shared by the processes of that pod, not with other pods: it
/// counts as a whole device for quotas and cost. A MIG device counts as its slices.
fn dra_shared(
    cx: &mut Cx<'_>,
    r: &Request<'_>,
    t: &Type<'_>,
    device_bytes: Option<u128>,
) -> Option<Gpu> {
    let has_mig = t.def.is_some_and(|d| {
        let name = t.name.as_deref().unwrap_or_default();
        !mig::profiles_of(name, d, &mut |_| {}).is_empty()
    });
    let strategy = match cx.l.stack.gpu.strategy.as_ref().map(|s| *s.get_ref()) {
        Some(s) => s,
        None if has_mig => DraStrategy::Mig,
        None => {
            r.report(cx, |at| ResolveError::DraStrategy {
                gpu_type: t.name.clone(),
                at,
            });
            return None;
        }
    };
    let sharing = match strategy {
        DraStrategy::Mig => {
            let Gpu::Mig { profile, share, .. } = mig_instance(cx, r, t, device_bytes)? else {
                return None;
            };
            return Some(Gpu::Dra {
                device_class: DRA_MIG_CLASS.into(),
                count: 1,
                product: product(t),
                profile: Some(profile),
                sharing: None,
                share,
                gpu_type: t.name.clone(),
            });
        }
        DraStrategy::TimeSlicing => "TimeSlicing",
        DraStrategy::Mps => "MPS",
    };
    Some(Gpu::Dra {
        device_class: DRA_GPU_CLASS.into(),
        count: 1,
        product: product(t),
        profile: None,
        sharing: Some(sharing.into()),
        share: 1.0,
        gpu_type: t.name.clone(),
    })
}

fn needs_memory(cx: &mut Cx<'_>, r: &Request<'_>, t: &Type<'_>, why: &str) {
    r.report(cx, |at| ResolveError::GpuTypeMemory {
        gpu_type: t.name.clone(),
        why: why.into(),
        at,
    });
}

/// The smallest MIG profile of the type that fits the request. Problems with the type's
/// table itself are reported once per stack by `stack::check`, so here only a missing type
/// is.
fn mig_instance(
    cx: &mut Cx<'_>,
    r: &Request<'_>,
    t: &Type<'_>,
    device_bytes: Option<u128>,
) -> Option<Gpu> {
    let Some(def) = t.def else {
        needs_memory(
            cx,
            r,
            t,
            "the mig sharing mode picks profiles from the GPU type",
        );
        return None;
    };
    let mut problems = 0;
    let profiles = mig::profiles_of(t.name.as_deref().unwrap_or_default(), def, &mut |_| {
        problems += 1
    });
    if problems > 0 || profiles.is_empty() {
        return None;
    }
    let request = match &r.share {
        Share::Fraction(f) => device_bytes.map(|d| (d as f64 * f).round() as u128),
        Share::Memory(m) => Some(bytes(m)),
    };
    let Some(request) = request else {
        needs_memory(
            cx,
            r,
            t,
            "a fraction is turned into a MIG profile by memory",
        );
        return None;
    };
    let Some(p) = mig::smallest_fitting(&profiles, request) else {
        let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
        r.report(cx, |at| ResolveError::MigNoFit {
            gpu_type: t.name.clone().unwrap_or_default(),
            request: Quantity::from_nano(
                i128::try_from(request).unwrap_or(i128::MAX) * 1_000_000_000,
                true,
            )
            .to_string(),
            profiles: names.join(", "),
            at,
        });
        return None;
    };
    Some(Gpu::Mig {
        profile: p.name.clone(),
        resource: p.resource(),
        share: f64::from(p.slices) / 7.0,
        gpu_type: t.name.clone(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! SPEC §2's table, cell by cell, through `load` and `resolve`.

    use super::*;
    use crate::resolve::testing::{error_codes, resolve_texts};

    const H100: &str = r#"
[gpu.types.h100]
memory = "80Gi"
"#;

    /// Resolves one job step with `resources` on a stack with `[gpu] sharing`; returns the
    /// step's GPU and container limits, or the error codes.
    fn compile(
        gpu: &str,
        types: &str,
        resources: &str,
    ) -> Result<(Gpu, BTreeMap<String, String>), Vec<String>> {
        compile_step(gpu, types, &format!("resources = {resources}"))
    }

    fn compile_step(
        gpu: &str,
        types: &str,
        step: &str,
    ) -> Result<(Gpu, BTreeMap<String, String>), Vec<String>> {
        let scheduler = if gpu.contains("kai") {
            "[scheduler]\nkind = \"kai\"\nqueue = \"q\"\n"
        } else {
            ""
        };
        let stack = format!(
            "[stack]\nname = \"s\"\nnamespace = \"ml\"\n[artifacts]\nuri = \"s3://b/m\"\n{scheduler}[gpu]\n{gpu}\ndefault_type = \"h100\"\n{types}"
        );
        let pipeline = format!(
            "[pipeline]\nname = \"p\"\n[steps.s]\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\n{step}\n"
        );
        resolve_texts(&stack, &pipeline)
            .map(|plan| {
                let s = &plan.steps[0];
                (s.gpu.clone(), s.resources.limits.clone())
            })
            .map_err(|p| error_codes(&p))
    }

    fn mig_profile(types: &str, resources: &str) -> String {
        match compile("sharing = \"mig\"", types, resources).unwrap().0 {
            Gpu::Mig { profile, .. } => profile,
            other => panic!("not a MIG profile: {other:?}"),
        }
    }

    #[test]
    fn whole_gpus_are_the_same_in_every_mode() {
        for mode in ["none", "kai", "mig", "time-slicing"] {
            let (gpu, limits) =
                compile(&format!("sharing = \"{mode}\""), H100, "{ gpu = 2 }").unwrap();
            assert!(matches!(gpu, Gpu::Whole { count: 2, .. }), "{mode}");
            assert_eq!(
                limits.get("nvidia.com/gpu").map(String::as_str),
                Some("2"),
                "{mode}"
            );
        }
    }

    #[test]
    fn none_rejects_fractions_and_memory() {
        for r in ["{ gpu = 0.25 }", "{ gpu_memory = \"20Gi\" }"] {
            let e = compile("sharing = \"none\"", H100, r).unwrap_err();
            assert_eq!(e, ["mlk::resolve::gpu_not_shared"], "{r}");
        }
    }

    #[test]
    fn kai_fraction_is_an_annotation_without_a_gpu_limit() {
        let (gpu, limits) = compile("sharing = \"kai\"", H100, "{ gpu = 0.25 }").unwrap();
        assert_eq!(
            gpu.annotations().get("gpu-fraction").map(String::as_str),
            Some("0.25")
        );
        assert!(
            !limits.keys().any(|k| k.starts_with("nvidia.com/")),
            "{limits:?}"
        );
    }

    #[test]
    fn kai_memory_is_mebibytes_rounded_up() {
        for (q, mib) in [("20Gi", "20480"), ("1G", "954"), ("80Gi", "81920")] {
            let (gpu, limits) = compile(
                "sharing = \"kai\"",
                H100,
                &format!("{{ gpu_memory = \"{q}\" }}"),
            )
            .unwrap();
            assert_eq!(
                gpu.annotations().get("gpu-memory").map(String::as_str),
                Some(mib),
                "{q}"
            );
            assert!(!limits.keys().any(|k| k.starts_with("nvidia.com/")));
        }
    }

    #[test]
    fn more_memory_than_the_device_is_an_error_in_every_sharing_mode() {
        for mode in ["kai", "mig", "time-slicing"] {
            let e = compile(
                &format!("sharing = \"{mode}\""),
                H100,
                "{ gpu_memory = \"81Gi\" }",
            )
            .unwrap_err();
            assert_eq!(e, ["mlk::resolve::gpu_too_large"], "{mode}");
        }
    }

    #[test]
    fn kai_memory_needs_the_type_memory() {
        let e = compile(
            "sharing = \"kai\"",
            "[gpu.types.h100]\n",
            "{ gpu_memory = \"8Gi\" }",
        )
        .unwrap_err();
        assert_eq!(e, ["mlk::resolve::gpu_type_memory"]);
        // A fraction does not.
        assert!(compile("sharing = \"kai\"", "[gpu.types.h100]\n", "{ gpu = 0.5 }").is_ok());
    }

    #[test]
    fn mig_picks_the_smallest_profile_that_fits() {
        assert_eq!(mig_profile(H100, "{ gpu = 0.25 }"), "1g.20gb");
        assert_eq!(mig_profile(H100, "{ gpu = 0.125 }"), "1g.10gb");
        assert_eq!(mig_profile(H100, "{ gpu = 0.5 }"), "3g.40gb");
        assert_eq!(mig_profile(H100, "{ gpu = 0.75 }"), "7g.80gb");
        assert_eq!(mig_profile(H100, "{ gpu_memory = \"10Gi\" }"), "1g.10gb");
        assert_eq!(mig_profile(H100, "{ gpu_memory = \"10241Mi\" }"), "1g.20gb");
        assert_eq!(mig_profile(H100, "{ gpu_memory = \"80Gi\" }"), "7g.80gb");
        let a100 = "[gpu.types.h100]\nmemory = \"40Gi\"\nmig = \"a100-40gb\"\n";
        assert_eq!(mig_profile(a100, "{ gpu = 0.25 }"), "1g.10gb");
        assert_eq!(mig_profile(a100, "{ gpu = 0.125 }"), "1g.5gb");
        let h200 = "[gpu.types.h100]\nmemory = \"141Gi\"\n";
        // A quarter of 141Gi is 35.25Gi: just over 1g.35gb.
        assert_eq!(mig_profile(h200, "{ gpu = 0.25 }"), "3g.71gb");
        assert_eq!(mig_profile(h200, "{ gpu = 0.2 }"), "1g.35gb");
    }

    #[test]
    fn mig_resources_replace_plus_with_a_dot() {
        let me =
            "[gpu.types.h100]\nmemory = \"80Gi\"\nmig_profiles = [\"1g.10gb+me\", \"3g.40gb\"]\n";
        let (gpu, limits) = compile("sharing = \"mig\"", me, "{ gpu = 0.1 }").unwrap();
        assert!(matches!(gpu, Gpu::Mig { ref profile, .. } if profile == "1g.10gb+me"));
        assert_eq!(
            limits.get("nvidia.com/mig-1g.10gb.me").map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn mig_fraction_needs_the_type_memory() {
        let keyed = "[gpu.types.h100]\nmig = \"h100-80gb\"\n";
        let e = compile("sharing = \"mig\"", keyed, "{ gpu = 0.25 }").unwrap_err();
        assert_eq!(e, ["mlk::resolve::gpu_type_memory"]);
        // A memory request needs only the table.
        assert_eq!(mig_profile(keyed, "{ gpu_memory = \"20Gi\" }"), "1g.20gb");
    }

    #[test]
    fn time_slicing_gives_one_shared_device() {
        for r in ["{ gpu = 0.25 }", "{ gpu_memory = \"20Gi\" }"] {
            let (_, limits) = compile("sharing = \"time-slicing\"", H100, r).unwrap();
            assert_eq!(
                limits.get("nvidia.com/gpu").map(String::as_str),
                Some("1"),
                "{r}"
            );
            let renamed = "sharing = \"time-slicing\"\nshared_resource = \"nvidia.com/gpu.shared\"";
            let (_, limits) = compile(renamed, H100, r).unwrap();
            assert_eq!(
                limits.get("nvidia.com/gpu.shared").map(String::as_str),
                Some("1"),
                "{r}"
            );
            assert!(!limits.contains_key("nvidia.com/gpu"));
        }
    }

    #[test]
    fn fractions_on_multi_replica_pytorch_are_errors() {
        let step = "kind = \"pytorch\"\nreplicas = 2\nresources = { gpu = 0.5 }";
        let e = compile_step("sharing = \"kai\"", H100, step).unwrap_err();
        assert!(
            e.contains(&"mlk::resolve::gpu_fraction_replicas".to_owned()),
            "{e:?}"
        );
    }

    /// The DRA claim of a request on a `sharing = "dra"` stack.
    fn dra(gpu: &str, types: &str, step: &str) -> Gpu {
        let (gpu, limits) = compile_step(gpu, types, step).unwrap();
        assert!(
            !limits.keys().any(|k| k.starts_with("nvidia.com/")),
            "a claim replaces extended resources: {limits:?}"
        );
        gpu
    }

    const H100_DRA: &str =
        "[gpu.types.h100]\nmemory = \"80Gi\"\nproduct = \"NVIDIA H100 80GB HBM3\"\n";

    #[test]
    fn dra_whole_and_typed_requests_claim_gpu_devices() {
        let g = dra("sharing = \"dra\"", H100_DRA, "resources = { gpu = 4 }");
        assert_eq!(
            g,
            Gpu::Dra {
                device_class: DRA_GPU_CLASS.into(),
                count: 4,
                product: Some("NVIDIA H100 80GB HBM3".into()),
                profile: None,
                sharing: None,
                share: 4.0,
                gpu_type: Some("h100".into()),
            }
        );
        // A type without `product` claims any GPU of the class (its node selector still
        // applies).
        let g = dra("sharing = \"dra\"", H100, "resources = { gpu = 1 }");
        assert!(
            matches!(
                g,
                Gpu::Dra {
                    count: 1,
                    product: None,
                    ..
                }
            ),
            "{g:?}"
        );
        // Multi-replica PyTorchJobs: one claim per pod, from the same template.
        let step = "kind = \"pytorch\"\nreplicas = 2\nresources = { gpu = 8 }";
        let g = dra("sharing = \"dra\"", H100_DRA, step);
        assert!(matches!(g, Gpu::Dra { count: 8, .. }), "{g:?}");
    }

    #[test]
    fn dra_shares_take_mig_devices_by_default_on_types_with_profiles() {
        for (r, profile) in [
            ("{ gpu = 0.25 }", "1g.20gb"),
            ("{ gpu_memory = \"30Gi\" }", "3g.40gb"),
        ] {
            let g = dra("sharing = \"dra\"", H100_DRA, &format!("resources = {r}"));
            assert!(
                matches!(&g, Gpu::Dra { device_class, profile: Some(p), count: 1, sharing: None, .. }
                    if device_class == DRA_MIG_CLASS && p == profile),
                "{r}: {g:?}"
            );
        }
    }

    #[test]
    fn dra_strategies_share_one_gpu_with_the_driver_config() {
        for (strategy, config) in [("time-slicing", "TimeSlicing"), ("mps", "MPS")] {
            let stack = format!("sharing = \"dra\"\nstrategy = \"{strategy}\"");
            for r in ["{ gpu = 0.25 }", "{ gpu_memory = \"20Gi\" }"] {
                let g = dra(&stack, H100_DRA, &format!("resources = {r}"));
                assert!(
                    matches!(&g, Gpu::Dra { device_class, sharing: Some(s), profile: None, count: 1, share, .. }
                        if device_class == DRA_GPU_CLASS && s == config && *share == 1.0),
                    "{strategy} {r}: {g:?}"
                );
            }
        }
        // strategy = "mig" forces MIG devices.
        let g = dra(
            "sharing = \"dra\"\nstrategy = \"mig\"",
            H100_DRA,
            "resources = { gpu = 0.5 }",
        );
        assert!(matches!(g, Gpu::Dra { profile: Some(ref p), .. } if p == "3g.40gb"));
    }

    #[test]
    fn dra_impossible_combinations_are_errors() {
        let trainjob = format!("{H100_DRA}[training]\napi = \"trainjob\"\n");
        let cases = [
            // No strategy, and a type without MIG profiles (an unknown memory size).
            (
                "sharing = \"dra\"",
                "[gpu.types.h100]\nmemory = \"24Gi\"\n",
                "resources = { gpu = 0.5 }",
                "mlk::resolve::dra_strategy",
            ),
            // MIG devices need a profile that fits.
            (
                "sharing = \"dra\"\nstrategy = \"mig\"",
                H100_DRA,
                "resources = { gpu_memory = \"81Gi\" }",
                "mlk::resolve::gpu_too_large",
            ),
            // A TrainJob's runtime patches cannot carry a claim.
            (
                "sharing = \"dra\"",
                &trainjob,
                "kind = \"pytorch\"\nreplicas = 2\nresources = { gpu = 2 }",
                "mlk::resolve::dra_trainjob",
            ),
            // Fractions stay one-pod only.
            (
                "sharing = \"dra\"",
                H100_DRA,
                "kind = \"pytorch\"\nreplicas = 2\nresources = { gpu = 0.5 }",
                "mlk::resolve::gpu_fraction_replicas",
            ),
        ];
        for (gpu, types, step, code) in cases {
            let e = compile_step(gpu, types, step).unwrap_err();
            assert!(e.contains(&code.to_owned()), "{step}: {e:?}");
        }
    }

    #[test]
    fn unknown_gpu_types_are_errors() {
        let e = compile(
            "sharing = \"mig\"",
            H100,
            "{ gpu = 0.25, gpu_type = \"a100\" }",
        )
        .unwrap_err();
        assert_eq!(e, ["mlk::resolve::gpu_type"]);
    }
}
