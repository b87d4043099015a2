//! `[defaults]`, `[policy]` and `[cost]`: what applies to every step on the stack.

use std::collections::BTreeMap;

use crate::domain::{LimitsMode, Security, Toleration};
use crate::duration::Duration;
use crate::load::pipeline::{PlacementDef, ResourcesDef, count, resources};
use crate::load::toml::{Cx, Sp, Table};
use crate::load::values::{choice, string_map};

/// `[cost]`: prices for estimates beyond GPUs.
#[derive(Debug, Clone, Copy, Default)]
pub struct CostDef {
    /// Price of one CPU core for one hour.
    pub cpu_hourly: Option<f64>,
    /// Price of one GiB of memory for one hour.
    pub memory_gib_hourly: Option<f64>,
}

/// `[defaults]` of a stack.
#[derive(Debug, Clone, Default)]
pub struct StackDefaults {
    /// Default resources.
    pub resources: ResourcesDef,
    /// Which limits are set.
    pub limits: LimitsMode,
    /// Security profile.
    pub security: Security,
    /// Labels on every object.
    pub labels: BTreeMap<String, String>,
    /// Annotations on every object.
    pub annotations: BTreeMap<String, String>,
    /// How long finished jobs are kept.
    pub ttl_after_finished: Option<Duration>,
    /// How long a step may stay not running before it fails.
    pub pending_timeout: Option<Duration>,
    /// Node selector for every pod.
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for every pod.
    pub tolerations: Vec<Toleration>,
    /// Capacity of every step that names none (a `[capacity.NAME]`).
    pub capacity: Option<Sp<String>>,
    /// Topology placement of every step that names none.
    pub placement: Option<Sp<PlacementDef>>,
}

/// `[policy]`.
#[derive(Debug, Clone, Default)]
pub struct PolicyDef {
    /// Image prefixes that are allowed.
    pub allowed_registries: Option<Sp<Vec<String>>>,
    /// Whether images must be pinned by digest.
    pub require_digest: bool,
    /// Most GPUs one step may use (all replicas).
    pub max_gpus_per_step: Option<Sp<u32>>,
    /// Whether training jobs get a NetworkPolicy.
    pub network_isolation: bool,
}

/// Reads `[defaults]`.
pub(super) fn defaults(root: &mut Table<'_, '_>, cx: &mut Cx) -> StackDefaults {
    match root.table("defaults", cx) {
        Some(mut d) => {
            let resources = d
                .raw("resources")
                .map(|v| resources(v, cx))
                .unwrap_or_default();
            let limits = d
                .raw("limits")
                .and_then(|l| choice(l, &["memory", "all", "none"], cx))
                .map(|l| match *l.get_ref() {
                    "all" => LimitsMode::All,
                    "none" => LimitsMode::None,
                    _ => LimitsMode::Memory,
                });
            let security = d
                .raw("security")
                .and_then(|s| choice(s, &["restricted", "baseline"], cx))
                .map(|s| {
                    if *s.get_ref() == "baseline" {
                        Security::Baseline
                    } else {
                        Security::Restricted
                    }
                });
            let out = StackDefaults {
                resources,
                limits: limits.unwrap_or_default(),
                security: security.unwrap_or_default(),
                labels: d
                    .raw("labels")
                    .and_then(|v| string_map(v, "label", true, cx))
                    .unwrap_or_default(),
                annotations: d
                    .raw("annotations")
                    .and_then(|v| string_map(v, "annotation", false, cx))
                    .unwrap_or_default(),
                ttl_after_finished: d.opt("ttl_after_finished", cx),
                pending_timeout: d.opt("pending_timeout", cx),
                node_selector: d
                    .raw("node_selector")
                    .and_then(|v| string_map(v, "node selector", true, cx))
                    .unwrap_or_default(),
                tolerations: d.opt("tolerations", cx).unwrap_or_default(),
                capacity: d.opt("capacity", cx),
                placement: d.opt("placement", cx),
            };
            d.finish(cx);
            out
        }
        None => StackDefaults::default(),
    }
}

/// Reads `[policy]`.
pub(super) fn policy(root: &mut Table<'_, '_>, cx: &mut Cx) -> PolicyDef {
    match root.table("policy", cx) {
        Some(mut p) => {
            let out = PolicyDef {
                allowed_registries: p.opt("allowed_registries", cx),
                require_digest: p.opt("require_digest", cx).unwrap_or(false),
                max_gpus_per_step: p
                    .raw("max_gpus_per_step")
                    .and_then(|v| count(v, 0, 1_000_000, cx)),
                network_isolation: p.opt("network_isolation", cx).unwrap_or(false),
            };
            p.finish(cx);
            out
        }
        None => PolicyDef::default(),
    }
}

/// Reads `[cost]`.
pub(super) fn cost(root: &mut Table<'_, '_>, cx: &mut Cx) -> CostDef {
    match root.table("cost", cx) {
        Some(mut c) => {
            let out = CostDef {
                cpu_hourly: c.opt("cpu_hourly", cx),
                memory_gib_hourly: c.opt("memory_gib_hourly", cx),
            };
            c.finish(cx);
            out
        }
        None => CostDef::default(),
    }
}
