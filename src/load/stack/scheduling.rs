//! `[scheduler]`, `[priorities]` and `[queues.*]`: how workloads are admitted.

use std::collections::BTreeMap;

use serde::Serialize;
use toml::Spanned;
use toml::de::DeValue;

use crate::domain::SchedulerKind;
use crate::load::LoadError;
use crate::load::pipeline::count;
use crate::load::toml::{Cx, Sp, Table};
use crate::load::values::{check_name, choice};
use crate::quantity::Quantity;

/// `[scheduler]`.
#[derive(Debug, Clone)]
pub struct SchedulerDef {
    /// Which scheduler.
    pub kind: SchedulerKind,
    /// Default queue.
    pub queue: Option<Sp<String>>,
    /// Default priority name.
    pub priority: Option<Sp<String>>,
}

/// One `[priorities]` entry.
#[derive(Debug, Clone, Serialize)]
pub struct PriorityDef {
    /// Priority value.
    pub value: i64,
    /// Whether workloads of this priority may be preempted.
    pub preemptible: Option<bool>,
    /// Description for the PriorityClass objects.
    pub description: Option<String>,
}

/// `[queues.NAME]`.
#[derive(Debug, Clone, Default)]
pub struct QueueDef {
    /// Cohort to borrow within.
    pub cohort: Option<String>,
    /// Nominal quota.
    pub quota: QuotaDef,
    /// How much may be borrowed beyond the quota.
    pub borrowing_limit: QuotaDef,
}

/// cpu / memory / gpu amounts of a queue.
#[derive(Debug, Clone, Default)]
pub struct QuotaDef {
    /// CPU.
    pub cpu: Option<Sp<Quantity>>,
    /// Memory.
    pub memory: Option<Sp<Quantity>>,
    /// GPUs.
    pub gpu: Option<Sp<u32>>,
}

fn quota(v: &Sp<DeValue<'_>>, what: String, cx: &mut Cx) -> QuotaDef {
    let Some(mut t) = Table::open(v, what, cx) else {
        return QuotaDef::default();
    };
    let q = QuotaDef {
        cpu: t.opt("cpu", cx),
        memory: t.opt("memory", cx),
        gpu: t.raw("gpu").and_then(|g| count(g, 0, 1_000_000, cx)),
    };
    t.finish(cx);
    q
}

/// Reads `[scheduler]`.
pub(super) fn scheduler(root: &mut Table<'_, '_>, cx: &mut Cx) -> SchedulerDef {
    match root.table("scheduler", cx) {
        Some(mut s) => {
            let kind = s
                .raw("kind")
                .and_then(|k| choice(k, &["default", "kueue", "kai"], cx))
                .map(|k| match *k.get_ref() {
                    "kueue" => SchedulerKind::Kueue,
                    "kai" => SchedulerKind::Kai,
                    _ => SchedulerKind::Default,
                });
            let queue = s.opt("queue", cx);
            let priority = s.opt("priority", cx);
            s.finish(cx);
            SchedulerDef {
                kind: kind.unwrap_or(SchedulerKind::Default),
                queue,
                priority,
            }
        }
        None => SchedulerDef {
            kind: SchedulerKind::Default,
            queue: None,
            priority: None,
        },
    }
}

/// Reads the `[priorities]` entries.
pub(super) fn priorities(
    root: &mut Table<'_, '_>,
    cx: &mut Cx,
) -> BTreeMap<String, Sp<PriorityDef>> {
    let mut priorities = BTreeMap::new();
    for (k, v) in root.entries("priorities", cx) {
        check_name(&k, "priority name", cx);
        let Some(mut t) = Table::open(v, format!("[priorities.{}]", k.get_ref()), cx) else {
            continue;
        };
        let value = t.req::<Sp<i64>>("value", cx);
        let preemptible = t.opt("preemptible", cx);
        let description = t.opt("description", cx);
        t.finish(cx);
        if let Some(value) = value {
            if !(-2_147_483_648..=1_000_000_000).contains(value.get_ref()) {
                cx.error(LoadError::value(
                    value.span(),
                    "out of range",
                    "priority values must be at most 1000000000",
                    "Kubernetes reserves higher values for system priority classes",
                ));
                continue;
            }
            priorities.insert(
                k.into_inner(),
                Spanned::new(
                    v.span(),
                    PriorityDef {
                        value: *value.get_ref(),
                        preemptible,
                        description,
                    },
                ),
            );
        }
    }
    priorities
}

/// Reads the `[queues.*]` tables.
pub(super) fn queues(root: &mut Table<'_, '_>, cx: &mut Cx) -> BTreeMap<String, Sp<QueueDef>> {
    let mut queues = BTreeMap::new();
    for (k, v) in root.entries("queues", cx) {
        check_name(&k, "queue name", cx);
        let Some(mut t) = Table::open(v, format!("[queues.{}]", k.get_ref()), cx) else {
            continue;
        };
        let name = k.get_ref().clone();
        let def = QueueDef {
            cohort: t.opt("cohort", cx),
            quota: t
                .raw("quota")
                .map(|q| quota(q, format!("[queues.{name}.quota]"), cx))
                .unwrap_or_default(),
            borrowing_limit: t
                .raw("borrowing_limit")
                .map(|q| quota(q, format!("[queues.{name}.borrowing_limit]"), cx))
                .unwrap_or_default(),
        };
        t.finish(cx);
        queues.insert(k.into_inner(), Spanned::new(v.span(), def));
    }
    queues
}
