//! Rules a step must satisfy against its stack: image policy, serving modes, GPUs, queues
//! and priorities. Each returns the resolved value and reports problems to [`Cx`].

use toml::Spanned;

use super::plan::{Priority, ServeSpec, StackInfo};
use super::{Cx, ResolveError};
use crate::diag::{FileId, did_you_mean};
use crate::load::{ReplicasDef, SchedulerKind, ServingMode, StepDef};

pub(super) fn hint<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
    what: &str,
) -> String {
    match did_you_mean(name, known.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let all: Vec<&str> = known.into_iter().collect();
            if all.is_empty() {
                format!("the stack defines no {what}")
            } else {
                format!("{what} of this stack: {}", all.join(", "))
            }
        }
    }
}

/// Applies `[policy]` to an image and warns when a cached step uses a mutable one.
pub(super) fn check_image(cx: &mut Cx<'_>, image: &Spanned<String>, step: &str) {
    let policy = &cx.l.stack.policy;
    let text = image.get_ref();
    if let Some(allowed) = &policy.allowed_registries
        && !allowed
            .get_ref()
            .iter()
            .any(|p| text.starts_with(p.as_str()))
    {
        let list = allowed.get_ref().join(", ");
        cx.pipeline(ResolveError::Policy {
            message: format!("image `{text}` is not from an allowed registry"),
            help: format!("the stack allows images starting with: {list}"),
            at: image.span().into(),
            label: "registry not allowed".into(),
        });
    }
    let pinned = text
        .split_once("@sha256:")
        .is_some_and(|(_, d)| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()));
    if policy.require_digest && !pinned {
        cx.pipeline(ResolveError::Policy {
            message: format!("image `{text}` is not pinned by digest"),
            help: "the stack requires digests: write image = \"name@sha256:<64 hex digits>\" (e.g. from `crane digest` or `docker inspect`)".into(),
            at: image.span().into(),
            label: "no @sha256: digest".into(),
        });
    }
    if !pinned {
        let last = text.rsplit('/').next().unwrap_or(text);
        let tag = last.split_once(':').map(|(_, t)| t);
        if matches!(tag, None | Some("latest")) {
            cx.pipeline(ResolveError::MutableImage {
                image: text.clone(),
                step: step.into(),
                at: image.span().into(),
            });
        }
    }
}

/// Checks a serve step against the stack's KServe deployment mode.
pub(super) fn serve_spec(cx: &mut Cx<'_>, def: &StepDef, stack: &StackInfo) -> Option<ServeSpec> {
    let name = def.name.get_ref();
    let serving = |cx: &mut Cx<'_>, at: std::ops::Range<usize>, message: String, help: String| {
        cx.pipeline(ResolveError::Serving {
            message,
            help,
            at: at.into(),
        });
    };
    if let Some(c) = &def.command {
        serving(
            cx,
            c.span(),
            "serve steps run their model server; `command` is not used".into(),
            "remove `command`; pick the server with model = { format, uri, runtime }".into(),
        );
    }
    if let Some(o) = def.outputs.first() {
        serving(
            cx,
            o.span(),
            "serve steps have no outputs".into(),
            "remove `outputs`".into(),
        );
    }
    let Some(model) = &def.model else {
        serving(
            cx,
            def.name.span(),
            format!("serve step `{name}` has no model"),
            "add model = { format = \"pytorch\", uri = \"{{ steps.train.outputs.model }}\" }"
                .into(),
        );
        return None;
    };
    let (min, max) = match def.replicas.as_ref().map(|r| *r.get_ref()) {
        Some(ReplicasDef::Range(r)) => (r.min, r.max),
        Some(ReplicasDef::Count(n)) => (n, n),
        None => (1, 1),
    };
    let mode = stack.serving_mode;
    let mode_name = if mode == ServingMode::Knative {
        "knative"
    } else {
        "standard"
    };
    let (metric, target) = match &def.autoscale {
        Some(a) => {
            let metric = *a.get_ref().metric.get_ref();
            let target = *a.get_ref().target.get_ref();
            match mode {
                ServingMode::Standard if !matches!(metric, "cpu" | "memory") => serving(
                    cx,
                    a.get_ref().metric.span(),
                    format!("the `{metric}` metric needs KServe's knative mode; the stack uses standard mode"),
                    "in standard mode (HPA) use metric = \"cpu\" or \"memory\" with a target of 1–100 (percent); or use a stack with [serving] mode = \"knative\"".into(),
                ),
                ServingMode::Standard if !(1..=100).contains(&target) => serving(
                    cx,
                    a.get_ref().target.span(),
                    format!("target {target} is out of range for a {metric} metric in standard mode"),
                    "HPA utilisation targets are percentages from 1 to 100".into(),
                ),
                ServingMode::Knative if !matches!(metric, "concurrency" | "rps") => serving(
                    cx,
                    a.get_ref().metric.span(),
                    format!("the `{metric}` metric needs KServe's standard mode; the stack uses knative mode"),
                    "in knative mode (KPA) use metric = \"concurrency\" or \"rps\"".into(),
                ),
                _ => {}
            }
            (Some(metric.to_owned()), Some(target))
        }
        None => (None, None),
    };
    let canary = def.canary.as_ref().map(|c| *c.get_ref());
    if let (Some(c), ServingMode::Standard) = (&def.canary, mode) {
        serving(
            cx,
            c.span(),
            format!(
                "canary rollouts need KServe's knative mode; the stack's [serving] mode is {mode_name}"
            ),
            "remove `canary`, or use a stack with [serving] mode = \"knative\"".into(),
        );
    }
    Some(ServeSpec {
        format: model.get_ref().format.get_ref().clone(),
        uri: model.get_ref().uri.get_ref().clone(),
        runtime: model
            .get_ref()
            .runtime
            .as_ref()
            .map(|r| r.get_ref().clone()),
        min_replicas: min,
        max_replicas: max,
        metric,
        target,
        canary,
    })
}

pub(super) use super::gpu::gpu;

fn report(cx: &mut Cx<'_>, file: FileId, e: ResolveError) {
    cx.at(file, e);
}

/// The step's queue: the step's, the pipeline default's or the stack's.
pub(super) fn queue(cx: &mut Cx<'_>, def: &StepDef) -> Option<String> {
    let l = cx.l;
    let stack = &l.stack;
    let from_pipeline = def
        .settings
        .queue
        .as_ref()
        .or(l.pipeline.defaults.queue.as_ref());
    let mut known: Vec<&str> = stack.queues.keys().map(String::as_str).collect();
    if let Some(q) = &stack.scheduler.queue {
        known.push(q.get_ref().as_str());
    }
    known.sort_unstable();
    known.dedup();
    match (from_pipeline, &stack.scheduler.queue) {
        (Some(q), _) => {
            if !known.contains(&q.get_ref().as_str()) {
                cx.pipeline(ResolveError::UnknownQueue {
                    name: q.get_ref().clone(),
                    help: hint(q.get_ref(), known.iter().copied(), "queues"),
                    at: q.span().into(),
                });
                return None;
            }
            Some(q.get_ref().clone())
        }
        (None, Some(q)) => Some(q.get_ref().clone()),
        (None, None) => {
            if matches!(
                stack.scheduler.kind,
                SchedulerKind::Kueue | SchedulerKind::Kai
            ) {
                cx.stack(ResolveError::Scheduler {
                    message: format!(
                        "step `{}` has no queue, and the stack's scheduler needs one",
                        def.name.get_ref()
                    ),
                    help:
                        "set [scheduler] queue = \"…\" in the stack (or queue = \"…\" in the step)"
                            .into(),
                    at: stack.name.span().into(),
                });
            }
            None
        }
    }
}

/// KAI's built-in PriorityClasses and their values (KAI v0.13 docs/priority).
pub const KAI_PRIORITIES: &[(&str, i64)] = &[
    ("train", 50),
    ("build-preemptible", 75),
    ("build", 100),
    ("inference", 125),
];

/// The step's priority: the step's, the pipeline default's or the stack's.
pub(super) fn priority(cx: &mut Cx<'_>, def: &StepDef) -> Option<Priority> {
    let l = cx.l;
    let stack = &l.stack;
    let (name, file) = match (
        def.settings
            .priority
            .as_ref()
            .or(l.pipeline.defaults.priority.as_ref()),
        &stack.scheduler.priority,
    ) {
        (Some(p), _) => (p, l.pipeline_file),
        (None, Some(p)) => (p, l.stack_file),
        (None, None) => return None,
    };
    // KAI's built-in priority classes exist on every KAI cluster; a stack need not define them.
    let kai_builtin = (stack.scheduler.kind == SchedulerKind::Kai)
        .then(|| KAI_PRIORITIES.iter().find(|(n, _)| n == name.get_ref()))
        .flatten();
    match stack.priorities.get(name.get_ref()) {
        Some(p) => Some(Priority {
            name: name.get_ref().clone(),
            value: p.get_ref().value,
        }),
        None if kai_builtin.is_some() => kai_builtin.map(|(n, v)| Priority {
            name: (*n).to_owned(),
            value: *v,
        }),
        None => {
            let err = ResolveError::UnknownPriority {
                name: name.get_ref().clone(),
                help: hint(
                    name.get_ref(),
                    stack.priorities.keys().map(String::as_str),
                    "priorities",
                ),
                at: name.span().into(),
            };
            report(cx, file, err);
            None
        }
    }
}
