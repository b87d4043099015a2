//! Serve steps against the stack's KServe deployment mode: what a serve step may not have
//! (a command, outputs), its model, its replica range, the autoscaling metric and target each
//! mode accepts, and the canary rule (a one-model canary needs knative mode, whatever the
//! declared KServe version; see `canary_error`).

use super::plan::{ServeSpec, StackInfo};
use super::{Cx, ResolveError};
use crate::domain::ServingMode;
use crate::load::{AutoscaleDef, ReplicasDef, StepDef};

/// Checks a serve step against the stack's KServe deployment mode.
pub(super) fn serve_spec(cx: &mut Cx<'_>, def: &StepDef, stack: &StackInfo) -> Option<ServeSpec> {
    if let Some(c) = &def.command {
        cx.pipeline(ResolveError::ServeCommand {
            at: c.span().into(),
        });
    }
    if let Some(o) = def.outputs.first() {
        cx.pipeline(ResolveError::ServeOutputs {
            at: o.span().into(),
        });
    }
    let Some(model) = &def.model else {
        cx.pipeline(ResolveError::ServeModel {
            step: def.name.get_ref().clone(),
            at: def.name.span().into(),
        });
        return None;
    };
    let (min, max) = match def.replicas.as_ref().map(|r| *r.get_ref()) {
        Some(ReplicasDef::Range(r)) => (r.min, r.max),
        Some(ReplicasDef::Count(n)) => (n, n),
        None => (1, 1),
    };
    let mode = stack.serving_mode;
    let (metric, target) = match &def.autoscale {
        Some(a) => {
            check_autoscale(cx, a.get_ref(), mode);
            (
                Some((*a.get_ref().metric.get_ref()).to_owned()),
                Some(*a.get_ref().target.get_ref()),
            )
        }
        None => (None, None),
    };
    if let (Some(c), ServingMode::Standard) = (&def.canary, mode) {
        cx.pipeline(canary_error(stack.kserve_version, c.span()));
    }
    let m = model.get_ref();
    Some(ServeSpec {
        format: m.format.get_ref().clone(),
        uri: m.uri.get_ref().clone(),
        runtime: m.runtime.as_ref().map(|r| r.get_ref().clone()),
        min_replicas: min,
        max_replicas: max,
        metric,
        target,
        canary: def.canary.as_ref().map(|c| *c.get_ref()),
    })
}

/// The error for `canary` in standard mode. Before KServe 0.20 standard mode has no canary at
/// all; 0.20 added `spec.canary[]` (kserve PR #5672), whose entries each carry a *named* canary
/// predictor next to the stable `spec.predictor`. A step's `canary = N` names one model and
/// leans on knative remembering the last good revision, so it cannot fill that form: the
/// stable model is not in the pipeline. mlk rejects it with the reason for the declared version.
fn canary_error(version: &'static str, at: std::ops::Range<usize>) -> ResolveError {
    let (why, help) = if version < "0.20" {
        (
            "standard mode has no canary before KServe 0.20",
            "remove `canary`, use a stack with [serving] mode = \"knative\", or declare \
             [serving] kserve = \"0.20\" if the cluster runs it",
        )
    } else {
        (
            "its spec.canary[] needs the stable model next to the canary one, and `canary` \
             names only the step's model",
            "remove `canary`, or use a stack with [serving] mode = \"knative\", where KServe \
             keeps the last good revision as the stable one",
        )
    };
    ResolveError::CanaryMode {
        version,
        why,
        help,
        at: at.into(),
    }
}

/// Standard mode scales on cpu or memory utilisation (HPA, percent); knative mode on
/// concurrency or requests per second (KPA).
fn check_autoscale(cx: &mut Cx<'_>, a: &AutoscaleDef, mode: ServingMode) {
    let metric = *a.metric.get_ref();
    let target = *a.target.get_ref();
    let (allowed, mode_name, other, metrics): (&[&str], _, _, _) = match mode {
        ServingMode::Standard => (
            &["cpu", "memory"],
            "standard",
            "knative",
            "\"cpu\" or \"memory\" (HPA) with a target of 1–100 (percent)",
        ),
        ServingMode::Knative => (
            &["concurrency", "rps"],
            "knative",
            "standard",
            "\"concurrency\" or \"rps\" (KPA)",
        ),
    };
    if !allowed.contains(&metric) {
        cx.pipeline(ResolveError::AutoscaleMetric {
            metric: metric.to_owned(),
            needs: other,
            mode: mode_name,
            allowed: metrics,
            at: a.metric.span().into(),
        });
    } else if mode == ServingMode::Standard && !(1..=100).contains(&target) {
        cx.pipeline(ResolveError::AutoscaleTarget {
            target,
            metric: metric.to_owned(),
            at: a.target.span().into(),
        });
    }
}
