//! What each kind of step takes: the keys that belong to one kind only, replicas (a job runs
//! one pod, a pytorch step a count, a serve step a range), and the pytorch and serve settings.

use super::plan::{PytorchSpec, ServeSpec, StackInfo};
use super::serve::serve_spec;
use super::settings::Settings;
use super::{Cx, ResolveError};
use crate::domain::StepKind;
use crate::load::{GpuAmount, ReplicasDef, StepDef};

/// A step's pods and its kind's settings.
pub(super) struct Shape {
    /// Pods: 1 for jobs, all replicas for pytorch, the minimum for serve.
    pub replicas: u32,
    /// Pods at most (a serve step's maximum), for the GPU policy.
    pub max_pods: u32,
    /// PyTorch settings.
    pub pytorch: Option<PytorchSpec>,
    /// Serving settings.
    pub serve: Option<ServeSpec>,
}

/// Checks the keys that belong to other kinds and resolves the step's replicas and its
/// kind's settings.
pub(super) fn shape(
    cx: &mut Cx<'_>,
    def: &StepDef,
    kind: StepKind,
    set: &Settings<'_>,
    stack: &StackInfo,
) -> Shape {
    check_keys(cx, def, kind);
    let mut shape = Shape {
        replicas: 1,
        max_pods: 1,
        pytorch: None,
        serve: None,
    };
    match kind {
        StepKind::Job => {
            if let Some(r) = &def.replicas
                && !matches!(r.get_ref(), ReplicasDef::Count(1))
            {
                cx.pipeline(ResolveError::JobReplicas {
                    at: r.span().into(),
                });
            }
        }
        StepKind::Pytorch => {
            shape.pytorch = Some(pytorch(cx, def, set, &mut shape.replicas));
            shape.max_pods = shape.replicas;
        }
        StepKind::Serve => {
            shape.serve = serve_spec(cx, def, stack);
            if let Some(s) = &shape.serve {
                shape.replicas = s.min_replicas;
                shape.max_pods = s.max_replicas.max(1);
            }
        }
    }
    shape
}

/// Keys that apply to one kind only, on a step of another kind.
fn check_keys(cx: &mut Cx<'_>, def: &StepDef, kind: StepKind) {
    if kind != StepKind::Pytorch {
        let kind_name = match kind {
            StepKind::Job => "job",
            StepKind::Pytorch => "pytorch",
            StepKind::Serve => "serve",
        };
        for (key, span) in [
            ("elastic", def.elastic.as_ref().map(|e| e.span())),
            (
                "nproc_per_node",
                def.nproc_per_node.as_ref().map(|n| n.span()),
            ),
        ] {
            if let Some(span) = span {
                cx.pipeline(ResolveError::PytorchOnly {
                    key,
                    step: def.name.get_ref().clone(),
                    kind: kind_name,
                    at: span.into(),
                });
            }
        }
    }
    if kind != StepKind::Serve {
        for (key, span) in [
            ("model", def.model.as_ref().map(|m| m.span())),
            ("autoscale", def.autoscale.as_ref().map(|a| a.span())),
            ("canary", def.canary.as_ref().map(|c| c.span())),
        ] {
            if let Some(span) = span {
                cx.pipeline(ResolveError::ServeOnly {
                    key,
                    at: span.into(),
                });
            }
        }
    }
}

/// A pytorch step's replicas (1 Master + Workers) and settings; `nproc_per_node` defaults to
/// the whole GPUs per pod.
fn pytorch(cx: &mut Cx<'_>, def: &StepDef, set: &Settings<'_>, replicas: &mut u32) -> PytorchSpec {
    match def.replicas.as_ref().map(|r| (r.span(), *r.get_ref())) {
        Some((_, ReplicasDef::Count(n))) => *replicas = n,
        Some((span, ReplicasDef::Range(_))) => {
            cx.pipeline(ResolveError::ReplicaRange { at: span.into() })
        }
        None => {}
    }
    if let Some(e) = &def.elastic
        && *replicas < 2
    {
        cx.pipeline(ResolveError::ElasticReplicas {
            at: e.span().into(),
        });
    }
    let amount = set.gpu.amount.as_ref();
    if let Some(g) = amount
        && matches!(g.value, GpuAmount::Fraction(_))
        && *replicas > 1
    {
        let e = ResolveError::GpuFractionReplicas {
            step: def.name.get_ref().clone(),
            replicas: *replicas,
            at: g.span.clone().into(),
        };
        cx.at(g.file, e);
    }
    let whole = match amount.map(|g| *g.value) {
        Some(GpuAmount::Whole(n)) if n > 0 => n,
        _ => 1,
    };
    PytorchSpec {
        workers: replicas.saturating_sub(1),
        nproc_per_node: def.nproc_per_node.as_ref().map_or(whole, |n| *n.get_ref()),
        elastic: def.elastic.as_ref().map(|e| *e.get_ref()),
    }
}
