//! Queue and priority resolution: the merged setting (step, pipeline `[defaults]`, stack
//! `[scheduler]`) checked against the queues and priorities the stack defines.

use super::plan::Priority;
use super::settings::Settings;
use super::{Cx, ResolveError, hint};
use crate::domain::SchedulerKind;

/// The step's queue; a scheduler that admits by queue needs one.
pub(super) fn queue(cx: &mut Cx<'_>, set: &Settings<'_>, step: &str) -> Option<String> {
    let stack = &cx.l.stack;
    let Some(q) = &set.queue else {
        if matches!(
            stack.scheduler.kind,
            SchedulerKind::Kueue | SchedulerKind::Kai
        ) {
            cx.stack(ResolveError::NoQueue {
                step: step.to_owned(),
                at: stack.name.span().into(),
            });
        }
        return None;
    };
    let mut known: Vec<&str> = stack.queues.keys().map(String::as_str).collect();
    if let Some(q) = &stack.scheduler.queue {
        known.push(q.get_ref().as_str());
    }
    known.sort_unstable();
    known.dedup();
    if !known.contains(&q.value.as_str()) {
        cx.at(
            q.file,
            ResolveError::UnknownQueue {
                name: q.value.clone(),
                help: hint(q.value, known.iter().copied(), "queues"),
                at: q.span.clone().into(),
            },
        );
        return None;
    }
    Some(q.value.clone())
}

/// KAI's built-in PriorityClasses and their values (KAI v0.13 docs/priority).
pub(super) const KAI_PRIORITIES: &[(&str, i64)] = &[
    ("train", 50),
    ("build-preemptible", 75),
    ("build", 100),
    ("inference", 125),
];

/// The step's priority, with its value from the stack's `[priorities]` (or KAI's built-ins).
pub(super) fn priority(cx: &mut Cx<'_>, set: &Settings<'_>) -> Option<Priority> {
    let stack = &cx.l.stack;
    let name = set.priority.as_ref()?;
    if let Some(p) = stack.priorities.get(name.value) {
        return Some(Priority {
            name: name.value.clone(),
            value: p.get_ref().value,
        });
    }
    // KAI's built-in priority classes exist on every KAI cluster; a stack need not define them.
    let kai_builtin = (stack.scheduler.kind == SchedulerKind::Kai)
        .then(|| KAI_PRIORITIES.iter().find(|(n, _)| n == name.value))
        .flatten();
    if let Some((n, v)) = kai_builtin {
        return Some(Priority {
            name: (*n).to_owned(),
            value: *v,
        });
    }
    let err = ResolveError::UnknownPriority {
        name: name.value.clone(),
        help: hint(
            name.value,
            stack.priorities.keys().map(String::as_str),
            "priorities",
        ),
        at: name.span.clone().into(),
    };
    cx.at(name.file, err);
    None
}
