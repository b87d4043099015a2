//! `[capacity.NAME]`: the kinds of node capacity steps may ask for (`capacity = "spot"`), each
//! mapped to node labels and tolerations, and its GPU price.

use std::collections::BTreeMap;

use toml::Spanned;

use crate::domain::Toleration;
use crate::load::toml::{Cx, Sp, Table};
use crate::load::values::string_map;

/// One `[capacity.NAME]`.
#[derive(Debug, Clone, Default)]
pub struct CapacityDef {
    /// Node labels that select nodes of this capacity (e.g. `karpenter.sh/capacity-type`).
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for those nodes' taints.
    pub tolerations: Vec<Toleration>,
    /// Price of one GPU-hour on this capacity, for cost estimates (over the GPU type's).
    pub gpu_hourly_cost: Option<f64>,
}

/// Reads `[capacity.*]`.
pub(super) fn capacity(root: &mut Table<'_, '_>, cx: &mut Cx) -> BTreeMap<String, Sp<CapacityDef>> {
    let mut out = BTreeMap::new();
    for (k, v) in root.entries("capacity", cx) {
        let Some(mut t) = Table::open(v, format!("[capacity.{}]", k.get_ref()), cx) else {
            continue;
        };
        let def = CapacityDef {
            node_selector: t
                .raw("node_selector")
                .and_then(|v| string_map(v, "node selector", true, cx))
                .unwrap_or_default(),
            tolerations: t.opt("tolerations", cx).unwrap_or_default(),
            gpu_hourly_cost: t.opt("gpu_hourly_cost", cx),
        };
        t.finish(cx);
        out.insert(k.into_inner(), Spanned::new(v.span(), def));
    }
    out
}
