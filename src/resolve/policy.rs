//! The stack's `[policy]`: allowed registries, pinned digests and the most GPUs one step may
//! use; and the warning for a cached step whose image can change under its name.

use super::plan::Gpu;
use super::settings::{Set, Settings};
use super::{Cx, ResolveError};

/// Applies `[policy]` to an image and warns when a cached step uses a mutable one.
pub(super) fn check_image(cx: &mut Cx<'_>, image: &Set<'_, String>, step: &str) {
    let policy = &cx.l.stack.policy;
    let text = image.value;
    let at = || image.span.clone().into();
    if let Some(allowed) = &policy.allowed_registries
        && !allowed
            .get_ref()
            .iter()
            .any(|p| text.starts_with(p.as_str()))
    {
        let allowed = allowed.get_ref().join(", ");
        let e = ResolveError::Registry {
            image: text.clone(),
            allowed,
            at: at(),
        };
        cx.at(image.file, e);
    }
    let pinned = text
        .split_once("@sha256:")
        .is_some_and(|(_, d)| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()));
    if policy.require_digest && !pinned {
        let e = ResolveError::DigestRequired {
            image: text.clone(),
            at: at(),
        };
        cx.at(image.file, e);
    }
    if !pinned {
        let last = text.rsplit('/').next().unwrap_or(text);
        let tag = last.split_once(':').map(|(_, t)| t);
        if matches!(tag, None | Some("latest")) {
            let e = ResolveError::MutableImage {
                image: text.clone(),
                step: step.into(),
                at: at(),
            };
            cx.at(image.file, e);
        }
    }
}

/// Applies `[policy] max_gpus_per_step` to all of a step's pods (`pods`: its replicas, or a
/// serve step's most replicas).
pub(super) fn check_gpus(cx: &mut Cx<'_>, set: &Settings<'_>, gpu: &Gpu, pods: u32, step: &str) {
    let Some(max) = &cx.l.stack.policy.max_gpus_per_step else {
        return;
    };
    let total = gpu.per_pod() * f64::from(pods);
    if total <= f64::from(*max.get_ref()) {
        return;
    }
    let (file, span) = match &set.gpu.amount {
        Some(g) => (g.file, g.span.clone()),
        None => (cx.l.pipeline_file, cx.step_span(step)),
    };
    let e = ResolveError::MaxGpus {
        step: step.to_owned(),
        total,
        per_pod: gpu.per_pod(),
        pods,
        max: *max.get_ref(),
        at: span.into(),
    };
    cx.at(file, e);
}
