//! `[gpu]`: how GPUs are shared, the GPU types steps may ask for, and (local stacks) which of
//! the machine's devices mlk may hand out (`devices`).

use std::collections::BTreeMap;

use toml::Spanned;

use serde_json::{Value, json};
use toml::de::DeValue;

use crate::domain::{DraStrategy, GpuSharing, Toleration};
use crate::load::error::LoadError;
use crate::load::toml::{Cx, Decode, Sp, Table};
use crate::load::values::{choice, string_map};
use crate::quantity::Quantity;

/// `[gpu]`.
#[derive(Debug, Clone, Default)]
pub struct GpuDef {
    /// Sharing mode.
    pub sharing: GpuSharing,
    /// GPU type of steps that name none.
    pub default_type: Option<Sp<String>>,
    /// Time-slicing resource name.
    pub shared_resource: Option<Sp<String>>,
    /// Where `sharing` is written (empty when defaulted).
    pub sharing_span: std::ops::Range<usize>,
    /// `sharing = "dra"`: how fraction and memory requests share a GPU (else MIG where the
    /// type has MIG profiles).
    pub strategy: Option<Sp<DraStrategy>>,
    /// `[gpu.types.*]`.
    pub types: BTreeMap<String, Sp<GpuTypeDef>>,
    /// Local stacks: the only devices mlk hands out (else every device of the machine).
    pub devices: Option<Vec<Sp<DeviceRef>>>,
}

/// One entry of `[gpu] devices`: a device index as `nvidia-smi` numbers them (`0`), or a
/// device or MIG instance UUID (`"GPU-…"`, `"MIG-…"`, as `nvidia-smi -L` prints them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceRef {
    /// `nvidia-smi`'s index.
    Index(u32),
    /// A UUID, or the start of one.
    Uuid(String),
}

impl Decode for DeviceRef {
    fn expected() -> String {
        "a device index or UUID".into()
    }
    fn schema() -> Value {
        json!({ "oneOf": [{ "type": "integer", "minimum": 0 }, { "type": "string" }] })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        cx.describe(v, Self::schema);
        match v.get_ref() {
            DeValue::Integer(_) => {
                let n = i64::decode(v, cx)?;
                match u32::try_from(n) {
                    Ok(i) => Some(DeviceRef::Index(i)),
                    Err(_) => {
                        cx.error(LoadError::value(
                            v.span(),
                            "not a device index",
                            format!("{n} is not a device index"),
                            "device indices are 0, 1, … as `nvidia-smi -L` numbers them",
                        ));
                        None
                    }
                }
            }
            _ => String::decode(v, cx).map(DeviceRef::Uuid),
        }
    }
}

/// One `[gpu.types.NAME]`.
#[derive(Debug, Clone, Default)]
pub struct GpuTypeDef {
    /// Memory of one device.
    pub memory: Option<Sp<Quantity>>,
    /// Node labels that select this type.
    pub node_selector: BTreeMap<String, String>,
    /// Tolerations for nodes of this type.
    pub tolerations: Vec<Toleration>,
    /// Price of one device-hour.
    pub hourly_cost: Option<f64>,
    /// MIG profiles, overriding the built-in table.
    pub mig_profiles: Option<Vec<Sp<String>>>,
    /// Which built-in MIG profile table applies (else chosen by `memory`).
    pub mig: Option<Sp<&'static str>>,
    /// The DRA driver's `productName` attribute of this type's devices (`sharing = "dra"`).
    pub product: Option<Sp<String>>,
}

/// The built-in MIG profile tables a `[gpu.types.X] mig` key may name.
pub const MIG_TABLES: &[&str] = &[
    "a100-40gb",
    "a100-80gb",
    "h100-80gb",
    "h100-nvl-94gb",
    "h200-141gb",
];

/// Reads `[gpu]` and its `[gpu.types.*]`.
pub(super) fn gpu(root: &mut Table<'_, '_>, cx: &mut Cx) -> GpuDef {
    match root.table("gpu", cx) {
        Some(mut g) => {
            let sharing = g
                .raw("sharing")
                .and_then(|s| choice(s, &["none", "kai", "mig", "time-slicing", "dra"], cx));
            let sharing_span = sharing.as_ref().map(|s| s.span()).unwrap_or(0..0);
            let sharing = sharing.map(|s| match *s.get_ref() {
                "kai" => GpuSharing::Kai,
                "mig" => GpuSharing::Mig,
                "time-slicing" => GpuSharing::TimeSlicing,
                "dra" => GpuSharing::Dra,
                _ => GpuSharing::None,
            });
            let strategy = g.raw("strategy").and_then(|s| {
                let c = choice(s, &["mig", "time-slicing", "mps"], cx)?;
                let strategy = match *c.get_ref() {
                    "mig" => DraStrategy::Mig,
                    "time-slicing" => DraStrategy::TimeSlicing,
                    _ => DraStrategy::Mps,
                };
                Some(Spanned::new(c.span(), strategy))
            });
            let default_type = g.opt("default_type", cx);
            let shared_resource = g.opt("shared_resource", cx);
            let mut types = BTreeMap::new();
            for (k, v) in g.entries("types", cx) {
                let Some(mut t) = Table::open(v, format!("[gpu.types.{}]", k.get_ref()), cx) else {
                    continue;
                };
                let def = GpuTypeDef {
                    memory: t.opt("memory", cx),
                    node_selector: t
                        .raw("node_selector")
                        .and_then(|v| string_map(v, "node selector", true, cx))
                        .unwrap_or_default(),
                    tolerations: t.opt("tolerations", cx).unwrap_or_default(),
                    hourly_cost: t.opt("hourly_cost", cx),
                    mig_profiles: t.opt("mig_profiles", cx),
                    mig: t.raw("mig").and_then(|m| choice(m, MIG_TABLES, cx)),
                    product: t.opt("product", cx),
                };
                t.finish(cx);
                types.insert(k.into_inner(), Spanned::new(v.span(), def));
            }
            let devices = g.opt("devices", cx);
            g.finish(cx);
            GpuDef {
                sharing: sharing.unwrap_or_default(),
                default_type,
                shared_resource,
                sharing_span,
                strategy,
                types,
                devices,
            }
        }
        None => GpuDef::default(),
    }
}
