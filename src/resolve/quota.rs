//! The queue quota check (SPEC §2's preflight): a step whose whole gang (all replicas) asks
//! for more cpu, memory or GPUs than its queue's quota plus borrowing limit can never be
//! admitted, so it is an error now rather than a workload that waits forever.

use super::plan::Step;
use super::{Cx, ResolveError};
use crate::domain::StepKind;
use crate::load::QuotaDef;
use crate::quantity::Quantity;

/// Checks every queued step of the plan against its `[queues.NAME]` entry.
pub(super) fn check(cx: &mut Cx<'_>, steps: &[Step]) {
    let l = cx.l;
    for step in steps {
        // Serve steps are not admitted as gangs by a queue.
        if step.kind == StepKind::Serve {
            continue;
        }
        let Some(queue) = step.queue.as_ref().and_then(|q| l.stack.queues.get(q)) else {
            continue;
        };
        let q = queue.get_ref();
        // Kueue lets a queue borrow only within a cohort.
        let borrow = q.cohort.as_ref().map(|_| &q.borrowing_limit);
        let pods = step.replicas;
        let at = cx.step_span(&step.name);
        let queue_name = step.queue.clone().unwrap_or_default();
        let mut problems = Vec::new();
        for (resource, binary, get) in [
            ("cpu", false, (|d: &QuotaDef| d.cpu.as_ref()) as Getter),
            ("memory", true, |d: &QuotaDef| d.memory.as_ref()),
        ] {
            let Some(quota) = get(&q.quota) else { continue };
            let Some(per_pod) = step
                .resources
                .requests
                .get(resource)
                .and_then(|r| Quantity::parse(r).ok())
            else {
                continue;
            };
            let borrowed = borrow.and_then(|b| get(b)).map(|b| b.get_ref().nano());
            // In a cohort without a borrowing limit, a queue may borrow without bound.
            if borrow.is_some() && borrowed.is_none() {
                continue;
            }
            let limit = quota.get_ref().nano() + borrowed.unwrap_or(0);
            let need = per_pod.nano().saturating_mul(i128::from(pods));
            if need > limit {
                problems.push((
                    resource,
                    Quantity::from_nano(need, binary).to_string(),
                    per_pod.to_string(),
                    Quantity::from_nano(limit, binary).to_string(),
                    made_of(
                        quota.get_ref().to_string(),
                        borrowed.map(|b| Quantity::from_nano(b, binary).to_string()),
                    ),
                ));
            }
        }
        if let Some(quota) = &q.quota.gpu {
            let per_pod = step.gpu.per_pod();
            let need = per_pod * f64::from(pods);
            let borrowed = borrow.and_then(|b| b.gpu.as_ref()).map(|b| *b.get_ref());
            let unbounded = borrow.is_some() && borrowed.is_none();
            let limit = f64::from(*quota.get_ref()) + f64::from(borrowed.unwrap_or(0));
            if !unbounded && need > limit + 1e-9 {
                problems.push((
                    "GPUs",
                    round(need),
                    round(per_pod),
                    round(limit),
                    made_of(quota.get_ref().to_string(), borrowed.map(|b| b.to_string())),
                ));
            }
        }
        for (resource, need, per_pod, limit, made_of) in problems {
            cx.pipeline(ResolveError::Quota {
                step: step.name.clone(),
                resource: resource.into(),
                need,
                per_pod,
                pods,
                queue: queue_name.clone(),
                limit,
                help: format!(
                    "the stack's [queues.{queue_name}]: {made_of}; ask for fewer replicas or smaller pods, or have the queue's quota raised"
                ),
                at: at.clone().into(),
            });
        }
    }
}

type Getter = fn(&QuotaDef) -> Option<&toml::Spanned<Quantity>>;

fn made_of(quota: String, borrowed: Option<String>) -> String {
    match borrowed {
        Some(b) => format!("quota {quota} + borrowing limit {b}"),
        None => format!("quota {quota}; the queue is in no cohort, so it cannot borrow"),
    }
}

/// A GPU amount without float noise: `0.75`, `8`.
fn round(x: f64) -> String {
    let r = (x * 1000.0).round() / 1000.0;
    r.to_string()
}
