//! A step's GPU request compiled for the stack's `[gpu] sharing` mode (SPEC §2's table):
//! whole devices, KAI fractions and GPU memory, MIG profiles, or time-sliced devices.

use std::collections::BTreeMap;
use std::ops::Range;

use super::mig::{self, Profile};
use super::plan::Gpu;
use super::{Cx, ResolveError};
use crate::load::{GpuAmount, GpuSharing, GpuTypeDef, StepDef, Toleration};
use crate::quantity::Quantity;

/// The resource name of whole NVIDIA GPUs.
pub const NVIDIA_GPU: &str = "nvidia.com/gpu";

/// What a shared request asks for.
enum Share<'a> {
    Fraction(f64, Range<usize>),
    Memory(&'a Quantity, Range<usize>),
}

impl Share<'_> {
    fn span(&self) -> Range<usize> {
        match self {
            Share::Fraction(_, s) | Share::Memory(_, s) => s.clone(),
        }
    }
}

/// Compiles a step's GPU request for the stack's sharing mode; also returns the GPU type's
/// node selector and tolerations.
pub(super) fn gpu(
    cx: &mut Cx<'_>,
    def: &StepDef,
    step: &str,
) -> (Gpu, BTreeMap<String, String>, Vec<Toleration>) {
    let l = cx.l;
    // `gpu` and `gpu_memory` are one request: a step that sets either replaces both of the
    // pipeline defaults' (a default gpu = 0.25 and a step's gpu_memory do not add up).
    let own = &def.settings.resources;
    let (amount, memory) = if own.gpu.is_some() || own.gpu_memory.is_some() {
        (own.gpu.as_ref(), own.gpu_memory.as_ref())
    } else {
        let d = &l.pipeline.defaults.resources;
        (d.gpu.as_ref(), d.gpu_memory.as_ref())
    };
    let type_ref = def.settings.resources.gpu_type.as_ref().or(l
        .pipeline
        .defaults
        .resources
        .gpu_type
        .as_ref());
    let none = (Gpu::None, BTreeMap::new(), Vec::new());
    let amount = amount
        .map(|a| (*a.get_ref(), a.span()))
        .filter(|(a, _)| !matches!(a, GpuAmount::Whole(0)));
    if amount.is_none() && memory.is_none() {
        return none;
    }

    // The GPU type: named by the step, else the stack default.
    let types = &l.stack.gpu.types;
    let (type_name, type_file, type_span) = match (type_ref, &l.stack.gpu.default_type) {
        (Some(t), _) => (Some(t.get_ref().clone()), l.pipeline_file, t.span()),
        (None, Some(t)) => (Some(t.get_ref().clone()), l.stack_file, t.span()),
        (None, None) => (None, l.pipeline_file, 0..0),
    };
    let gpu_type = match &type_name {
        Some(t) if types.contains_key(t) => Some(t.clone()),
        Some(t) => {
            let err = ResolveError::UnknownGpuType {
                name: t.clone(),
                help: super::rules::hint(t, types.keys().map(String::as_str), "GPU types"),
                at: type_span.into(),
            };
            cx.at(type_file, err);
            return none;
        }
        None => None,
    };
    let type_def = gpu_type.as_ref().and_then(|t| types.get(t));
    let (selector, tolerations) = type_def
        .map(|t| {
            (
                t.get_ref().node_selector.clone(),
                t.get_ref().tolerations.clone(),
            )
        })
        .unwrap_or_default();

    let sharing = l.stack.gpu.sharing;
    let share = match (amount, memory) {
        (Some((GpuAmount::Whole(n), _)), None) => {
            let gpu = Gpu::Whole {
                count: n,
                resource: NVIDIA_GPU.into(),
                gpu_type,
            };
            return (gpu, selector, tolerations);
        }
        (Some(_), Some(m)) => {
            cx.pipeline(ResolveError::Gpu {
                message: format!("step `{step}` sets both `gpu` and `gpu_memory`"),
                help: "ask for either a number of GPUs (gpu = 0.25) or an amount of GPU memory (gpu_memory = \"20Gi\"), not both".into(),
                at: m.span().into(),
            });
            return none;
        }
        (Some((GpuAmount::Fraction(f), span)), None) => Share::Fraction(f, span),
        (None, None) => return none,
        (None, Some(m)) => Share::Memory(m.get_ref(), m.span()),
    };

    if sharing == GpuSharing::None {
        let (message, whole, at) = match &share {
            Share::Fraction(f, s) => (
                format!("step `{step}` asks for {f} of a GPU, but the stack does not share GPUs"),
                "a whole GPU",
                s.clone(),
            ),
            Share::Memory(m, s) => (
                format!(
                    "step `{step}` asks for GPU memory ({m}), but the stack does not share GPUs"
                ),
                "whole GPUs",
                s.clone(),
            ),
        };
        cx.pipeline(ResolveError::Gpu {
            message,
            help: format!("request {whole} (gpu = 1), or use a stack with [gpu] sharing = \"kai\", \"mig\" or \"time-slicing\""),
            at: at.into(),
        });
        return none;
    }

    // Device memory of the type, and the request in bytes.
    let device = type_def.and_then(|t| t.get_ref().memory.as_ref());
    let device_bytes = device.map(|q| bytes(q.get_ref()));
    if let (Share::Memory(m, span), Some(d)) = (&share, device)
        && bytes(m) > bytes(d.get_ref())
    {
        cx.pipeline(ResolveError::GpuTooLarge {
            request: m.to_string(),
            gpu_type: gpu_type.clone().unwrap_or_default(),
            memory: d.get_ref().to_string(),
            at: span.clone().into(),
        });
        return none;
    }
    let request_bytes = match &share {
        Share::Fraction(f, _) => device_bytes.map(|d| (d as f64 * f).round() as u128),
        Share::Memory(m, _) => Some(bytes(m)),
    };
    let share_of_device = match (&share, device_bytes) {
        (Share::Fraction(f, _), _) => *f,
        (Share::Memory(m, _), Some(d)) if d > 0 => bytes(m) as f64 / d as f64,
        (Share::Memory(..), _) => 1.0,
    };
    let needs_memory = |cx: &mut Cx<'_>, why: &str| {
        let err = ResolveError::GpuTypeMemory {
            gpu_type: gpu_type.clone(),
            why: why.into(),
            at: share.span().into(),
        };
        cx.pipeline(err);
    };

    let gpu = match sharing {
        GpuSharing::None => return none,
        GpuSharing::Kai => match &share {
            Share::Fraction(f, _) => Gpu::KaiFraction {
                fraction: *f,
                gpu_type: gpu_type.clone(),
            },
            Share::Memory(m, _) => {
                if device.is_none() {
                    needs_memory(
                        cx,
                        "KAI places GPU-memory requests on devices of a known size",
                    );
                    return none;
                }
                Gpu::KaiMemory {
                    mib: u64::try_from(m.mebibytes_ceil()).unwrap_or(u64::MAX),
                    share: share_of_device,
                    gpu_type: gpu_type.clone(),
                }
            }
        },
        GpuSharing::Mig => {
            let Some(profiles) = mig_profiles(cx, type_def, gpu_type.as_deref(), &share) else {
                return none;
            };
            let Some(request) = request_bytes else {
                needs_memory(cx, "a fraction is turned into a MIG profile by memory");
                return none;
            };
            match mig::smallest_fitting(&profiles, request) {
                Some(p) => Gpu::Mig {
                    profile: p.name.clone(),
                    resource: p.resource(),
                    share: f64::from(p.slices) / 7.0,
                    gpu_type: gpu_type.clone(),
                },
                None => {
                    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
                    cx.pipeline(ResolveError::MigProfile {
                        message: format!(
                            "no MIG profile of GPU type `{}` has {} of memory",
                            gpu_type.clone().unwrap_or_default(),
                            Quantity::from_nano(
                                i128::try_from(request).unwrap_or(i128::MAX) * 1_000_000_000,
                                true
                            )
                        ),
                        help: format!(
                            "profiles of this type: {}; ask for less GPU memory or a whole GPU",
                            names.join(", ")
                        ),
                        at: share.span().into(),
                    });
                    return none;
                }
            }
        }
        GpuSharing::TimeSlicing => Gpu::TimeSliced {
            resource: l
                .stack
                .gpu
                .shared_resource
                .as_ref()
                .map(|r| r.get_ref().clone())
                .unwrap_or_else(|| NVIDIA_GPU.into()),
            share: share_of_device,
            gpu_type: gpu_type.clone(),
        },
    };
    (gpu, selector, tolerations)
}

/// Bytes of a memory quantity (rounded up; memory is never negative here).
fn bytes(q: &Quantity) -> u128 {
    u128::try_from(q.whole_ceil()).unwrap_or(0)
}

/// The MIG profiles of the step's GPU type; problems with the type itself are reported once
/// per stack by `check_stack`, so here only a missing type is.
fn mig_profiles(
    cx: &mut Cx<'_>,
    type_def: Option<&toml::Spanned<GpuTypeDef>>,
    gpu_type: Option<&str>,
    share: &Share<'_>,
) -> Option<Vec<Profile>> {
    let Some(t) = type_def else {
        cx.pipeline(ResolveError::GpuTypeMemory {
            gpu_type: None,
            why: "the mig sharing mode picks profiles from the GPU type".into(),
            at: share.span().into(),
        });
        return None;
    };
    let mut problems = 0;
    let profiles = super::admin::mig_table(gpu_type.unwrap_or_default(), t, &mut |_| problems += 1);
    (problems == 0 && !profiles.is_empty()).then_some(profiles)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! SPEC §2's table, cell by cell, through `load` and `resolve`.

    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::load::{StackRef, load};
    use crate::resolve::{InputDigests, Options, resolve};

    static N: AtomicUsize = AtomicUsize::new(0);

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
        let dir = std::env::temp_dir().join(format!(
            "mlk-gpu-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
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
        std::fs::write(dir.join("stack.toml"), stack).unwrap();
        std::fs::write(dir.join("pipeline.toml"), pipeline).unwrap();
        let loaded = load(
            &dir.join("pipeline.toml"),
            &StackRef::Path(dir.join("stack.toml")),
        );
        let out = loaded
            .and_then(|l| resolve(&l, &Options::default(), &InputDigests::new()))
            .map(|r| {
                let s = &r.plan.steps[0];
                (s.gpu.clone(), s.resources.limits.clone())
            })
            .map_err(|p| {
                p.items()
                    .iter()
                    .filter(|d| d.is_error())
                    .map(|d| d.code())
                    .collect()
            });
        std::fs::remove_dir_all(&dir).unwrap();
        out
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
            assert_eq!(e, ["mlk::resolve::gpu"], "{r}");
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
        assert!(e.contains(&"mlk::resolve::gpu".to_owned()), "{e:?}");
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
