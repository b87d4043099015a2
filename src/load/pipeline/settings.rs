//! Settings a step may also take from `[defaults]`: image, environment, resources, retries,
//! scheduling hints, tolerations; with the descriptions of the keys both files share.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};
use toml::Spanned;
use toml::de::DeValue;

use super::count;
use crate::domain::{EnvValue, Toleration, TopologyMode};
use crate::duration::Duration;
use crate::load::LoadError;
use crate::load::toml::{Cx, Decode, Sp, Table};
use crate::load::values::{choice, string_map};
use crate::quantity::Quantity;

/// Settings a step may take from `[defaults]`.
#[derive(Debug, Clone, Default)]
pub struct StepSettings {
    /// Container image.
    pub image: Option<Sp<String>>,
    /// Environment variables by name.
    pub env: BTreeMap<Sp<String>, Sp<EnvValue>>,
    /// Resource requests.
    pub resources: ResourcesDef,
    /// Expected run time, for cost estimates only.
    pub expected_duration: Option<Sp<Duration>>,
    /// Retries after a failure.
    pub retries: Option<Sp<u32>>,
    /// Deadline for the whole step.
    pub timeout: Option<Sp<Duration>>,
    /// On a cluster: how long the step may stay not running (queued, unscheduled, no pod).
    pub pending_timeout: Option<Sp<Duration>>,
    /// Whether the step may be skipped on a cache hit.
    pub cache: Option<Sp<bool>>,
    /// Maximum age of a usable cache record.
    pub cache_ttl: Option<Sp<Duration>>,
    /// Extra node selector entries.
    pub node_selector: BTreeMap<String, String>,
    /// Extra tolerations.
    pub tolerations: Vec<Toleration>,
    /// Extra labels on the objects and pods.
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on the objects.
    pub annotations: BTreeMap<String, String>,
    /// A priority name from the stack.
    pub priority: Option<Sp<String>>,
    /// A queue name from the stack.
    pub queue: Option<Sp<String>>,
    /// A capacity name from the stack's `[capacity.*]` (e.g. `spot`).
    pub capacity: Option<Sp<String>>,
    /// Where the step's pods go in the stack's `[topology]`.
    pub placement: Option<Sp<PlacementDef>>,
}

/// `placement = { level = "nvlink", mode = "required" }` as written.
#[derive(Debug, Clone)]
pub struct PlacementDef {
    /// A level name from the stack's `[topology]`.
    pub level: Sp<String>,
    /// Whether the pods must share one domain of that level (`required`, the default) or
    /// should (`preferred`).
    pub mode: TopologyMode,
}

impl Decode for PlacementDef {
    fn expected() -> String {
        "a placement such as { level = \"nvlink\", mode = \"required\" }".into()
    }
    fn schema() -> Value {
        // The keys come from the table `decode` opens (see `load::schema`).
        json!({ "type": "object" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        let mut t = Table::open(v, "placement", cx)?;
        let level = t.req::<Sp<String>>("level", cx);
        let mode = t
            .raw("mode")
            .and_then(|m| choice(m, &["required", "preferred"], cx))
            .map_or(TopologyMode::Required, |m| {
                if *m.get_ref() == "preferred" {
                    TopologyMode::Preferred
                } else {
                    TopologyMode::Required
                }
            });
        t.finish(cx);
        Some(PlacementDef {
            level: level?,
            mode,
        })
    }
}

/// `resources = { … }` as written.
#[derive(Debug, Clone, Default)]
pub struct ResourcesDef {
    /// CPU request.
    pub cpu: Option<Sp<Quantity>>,
    /// Memory request.
    pub memory: Option<Sp<Quantity>>,
    /// Ephemeral storage request.
    pub ephemeral_storage: Option<Sp<Quantity>>,
    /// GPUs: whole or a fraction.
    pub gpu: Option<Sp<GpuAmount>>,
    /// GPU memory instead of a GPU count.
    pub gpu_memory: Option<Sp<Quantity>>,
    /// A GPU type from the stack's `[gpu.types]`.
    pub gpu_type: Option<Sp<String>>,
    /// Size of the memory-backed `/dev/shm`.
    pub shm: Option<Sp<Quantity>>,
}

/// A GPU request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GpuAmount {
    /// Whole devices (0 means none).
    Whole(u32),
    /// A fraction of one device, strictly between 0 and 1.
    Fraction(f64),
}

impl Decode for Toleration {
    fn expected() -> String {
        "a toleration table such as { key = \"nvidia.com/gpu\", operator = \"Exists\", effect = \"NoSchedule\" }".into()
    }
    fn schema() -> Value {
        // The keys come from the table `decode` opens (see `load::schema`).
        json!({ "type": "object" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        let mut t = Table::open(v, "a toleration", cx)?;
        let key = t.opt::<String>("key", cx);
        let operator = t
            .raw("operator")
            .and_then(|o| choice(o, &["Exists", "Equal"], cx))
            .map(|s| s.get_ref().to_string());
        let value = t.opt::<String>("value", cx);
        let effect = t
            .raw("effect")
            .and_then(|o| choice(o, &["NoSchedule", "PreferNoSchedule", "NoExecute"], cx))
            .map(|s| s.get_ref().to_string());
        let toleration_seconds = t.opt::<i64>("toleration_seconds", cx);
        t.finish(cx);
        Some(Toleration {
            key,
            operator,
            value,
            effect,
            toleration_seconds,
        })
    }
}

fn gpu_amount(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Sp<GpuAmount>> {
    cx.describe(v, || {
        json!({ "anyOf": [
            { "type": "integer", "minimum": 0, "maximum": 1024 },
            { "type": "number", "exclusiveMinimum": 0, "maximum": 1024 },
        ] })
    });
    let amount = match v.get_ref() {
        DeValue::Integer(_) => GpuAmount::Whole(*count(v, 0, 1024, cx)?.get_ref()),
        DeValue::Float(_) => {
            let f = f64::decode(v, cx)?;
            if f > 0.0 && f < 1.0 {
                GpuAmount::Fraction(f)
            } else if f >= 1.0 && f.fract() == 0.0 && f <= 1024.0 {
                GpuAmount::Whole(f as u32)
            } else {
                cx.error(LoadError::value(
                    v.span(),
                    "not a GPU amount",
                    format!("{f} GPUs cannot be requested"),
                    "use a whole number of GPUs (gpu = 2) or a fraction of one GPU between 0 and 1 (gpu = 0.25)",
                ));
                return None;
            }
        }
        _ => {
            cx.error(LoadError::WrongType {
                expected: "a whole number or a fraction between 0 and 1".into(),
                found: crate::load::toml::type_name(v.get_ref()).into(),
                at: v.span().into(),
            });
            return None;
        }
    };
    Some(Spanned::new(v.span(), amount))
}

pub(crate) fn resources(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> ResourcesDef {
    let Some(mut t) = Table::open(v, "`resources`", cx) else {
        return ResourcesDef::default();
    };
    let r = ResourcesDef {
        cpu: t.opt("cpu", cx),
        memory: t.opt("memory", cx),
        ephemeral_storage: t.opt("ephemeral_storage", cx),
        gpu: t.raw("gpu").and_then(|g| gpu_amount(g, cx)),
        gpu_memory: t.opt("gpu_memory", cx),
        gpu_type: t.opt("gpu_type", cx),
        shm: t.opt("shm", cx),
    };
    t.finish(cx);
    r
}

/// Whether an environment variable name suggests a credential (SPEC §1.1).
pub fn looks_like_credential(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.ends_with("_KEY") || n.ends_with("_TOKEN") || n.ends_with("_SECRET") || n.contains("PASSWORD")
}

fn env(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> BTreeMap<Sp<String>, Sp<EnvValue>> {
    // The values' schemas come from the entries: literal strings and reference tables.
    cx.describe(v, || json!({ "type": "object" }));
    let DeValue::Table(table) = v.get_ref() else {
        cx.error(LoadError::WrongType {
            expected: "a table of environment variables".into(),
            found: crate::load::toml::type_name(v.get_ref()).into(),
            at: v.span().into(),
        });
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (k, val) in table.iter() {
        let name = k.get_ref().to_string();
        if name.is_empty() || name.contains('=') || !name.chars().all(|c| c.is_ascii_graphic()) {
            cx.error(LoadError::value(
                k.span(),
                "invalid name",
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits, '_', '-' and '.', without '='",
            ));
            continue;
        }
        let name = Spanned::new(k.span(), name);
        let Some(value) = env_value(&name, val, cx) else {
            continue;
        };
        out.insert(name, Spanned::new(val.span(), value));
    }
    out
}

/// Reads the fields shared by `[defaults]` and steps from `t`.
pub(super) fn settings(t: &mut Table<'_, '_>, cx: &mut Cx) -> StepSettings {
    let mut s = StepSettings {
        image: t.opt("image", cx),
        env: t.raw("env").map(|v| env(v, cx)).unwrap_or_default(),
        resources: t
            .raw("resources")
            .map(|v| resources(v, cx))
            .unwrap_or_default(),
        expected_duration: t.opt("expected_duration", cx),
        retries: t.raw("retries").and_then(|v| count(v, 0, 100, cx)),
        timeout: t.opt("timeout", cx),
        pending_timeout: t.opt("pending_timeout", cx),
        cache: t.opt("cache", cx),
        cache_ttl: t.opt("cache_ttl", cx),
        node_selector: t
            .raw("node_selector")
            .and_then(|v| string_map(v, "node selector", true, cx))
            .unwrap_or_default(),
        tolerations: t.opt("tolerations", cx).unwrap_or_default(),
        labels: t
            .raw("labels")
            .and_then(|v| string_map(v, "label", true, cx))
            .unwrap_or_default(),
        annotations: t
            .raw("annotations")
            .and_then(|v| string_map(v, "annotation", false, cx))
            .unwrap_or_default(),
        priority: t.opt("priority", cx),
        queue: t.opt("queue", cx),
        capacity: t.opt("capacity", cx),
        placement: t.opt("placement", cx),
    };
    if let Some(image) = &s.image
        && (image.get_ref().trim().is_empty() || image.get_ref().chars().any(char::is_whitespace))
    {
        cx.error(LoadError::value(
            image.span(),
            "invalid image",
            "an image reference cannot be empty or contain spaces",
            "write e.g. image = \"registry.acme.io/team/train:1.4\"",
        ));
        s.image = None;
    }
    s
}

/// Descriptions of keys shared by both files (resources, tolerations, env references).
pub(crate) const SHARED_SCHEMA_DOCS: &[(&str, &str)] = &[
    ("resources", "Per-pod resource requests."),
    (
        "resources.cpu",
        "CPU request, a Kubernetes quantity (\"2\", \"500m\").",
    ),
    (
        "resources.memory",
        "Memory request, a Kubernetes quantity (\"4Gi\").",
    ),
    (
        "resources.ephemeral_storage",
        "Ephemeral storage request, a Kubernetes quantity.",
    ),
    (
        "resources.gpu",
        "GPUs: a whole number, or a fraction of one GPU between 0 and 1 (per the stack's GPU sharing mode).",
    ),
    (
        "resources.gpu_memory",
        "GPU memory instead of a GPU count (per the stack's GPU sharing mode).",
    ),
    (
        "resources.gpu_type",
        "A GPU type from the stack's [gpu.types].",
    ),
    ("resources.shm", "Size of a memory-backed /dev/shm."),
    ("node_selector", "Node labels the pods must match."),
    ("tolerations", "Tolerations added to the pods."),
    ("tolerations[].key", "Taint key."),
    ("tolerations[].operator", "Exists or Equal."),
    ("tolerations[].value", "Taint value (with Equal)."),
    (
        "tolerations[].effect",
        "NoSchedule, PreferNoSchedule or NoExecute.",
    ),
    (
        "tolerations[].toleration_seconds",
        "How long a NoExecute taint is tolerated.",
    ),
    ("labels", "Extra labels on the objects and pods."),
    ("annotations", "Extra annotations on the objects."),
];

/// The value of the variable `name`: a plain string, `{ value, not_secret }`, or a reference.
fn env_value(name: &Sp<String>, val: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<EnvValue> {
    match val.get_ref() {
        DeValue::String(_) => {
            cx.describe(val, String::schema);
            plain_value(name, val, false, cx)
        }
        DeValue::Table(t) if t.iter().any(|(k, _)| k.get_ref() == "value") => {
            let mut t = Table::open(val, format!("env `{}`", name.get_ref()), cx)?;
            // Present: this form is chosen by its `value` key.
            let value = t.raw("value")?;
            t.mark_required("value");
            cx.describe(value, String::schema);
            let not_secret = t.opt::<bool>("not_secret", cx).unwrap_or(false);
            t.finish(cx);
            plain_value(name, value, not_secret, cx)
        }
        DeValue::Table(_) => reference(name.get_ref(), val, cx),
        DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
            cx.error(LoadError::WrongType {
                expected: "a string (environment values are text: quote it)".into(),
                found: crate::load::toml::type_name(val.get_ref()).into(),
                at: val.span().into(),
            });
            None
        }
        other => {
            cx.error(LoadError::WrongType {
                expected: "a string or { secret, key } / { config_map, key }".into(),
                found: crate::load::toml::type_name(other).into(),
                at: val.span().into(),
            });
            None
        }
    }
}

/// A plain (possibly templated) value of the variable `name`. A credential-looking name may
/// not take one, literal or template alike (a template's value, from `-p` say, would land in
/// the manifests, the plan and the cache records), unless marked `not_secret`.
fn plain_value(
    name: &Sp<String>,
    val: &Sp<DeValue<'_>>,
    not_secret: bool,
    cx: &mut Cx,
) -> Option<EnvValue> {
    if let DeValue::String(s) = val.get_ref()
        && !not_secret
        && looks_like_credential(name.get_ref())
        && !s.trim().is_empty()
    {
        cx.redact.push(val.span());
        cx.error(LoadError::LiteralSecret {
            name: name.get_ref().clone(),
            at: name.span().into(),
        });
        return None;
    }
    // Decoded like any string, so the rules on strings (no NUL) apply here too.
    String::decode(val, cx).map(EnvValue::Literal)
}

/// A `{ secret, key }` or `{ config_map, key }` reference of the variable `name`.
fn reference(name: &str, val: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<EnvValue> {
    let mut t = Table::open(val, format!("env `{name}`"), cx)?;
    let secret = t.opt::<String>("secret", cx);
    let config_map = t.opt::<String>("config_map", cx);
    let key = t.req::<String>("key", cx);
    t.finish(cx);
    match (secret, config_map, key) {
        (Some(name), None, Some(key)) => Some(EnvValue::Secret { name, key }),
        (None, Some(name), Some(key)) => Some(EnvValue::ConfigMap { name, key }),
        (Some(_), Some(_), _) | (None, None, _) => {
            cx.error(LoadError::value(
                val.span(),
                "ambiguous reference",
                format!("env `{name}` must reference exactly one of `secret` or `config_map`"),
                "write { secret = \"name\", key = \"key\" } or { config_map = \"name\", key = \"key\" }",
            ));
            None
        }
        _ => None,
    }
}
