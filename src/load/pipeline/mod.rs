//! The pipeline file as written (SPEC §1.1).
//!
//! This module owns the file as a whole (`[pipeline]`, `[params]`, `[defaults]`, `[steps]`);
//! `settings` reads what a step may also take from `[defaults]`, `step` a step's own keys, and
//! `docs` describes the keys in the file's JSON Schema.

mod docs;
mod settings;
mod step;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};
use toml::Spanned;
use toml::de::DeValue;

pub(super) use docs::SCHEMA_DOCS;
use settings::settings;
pub use settings::{GpuAmount, PlacementDef, ResourcesDef, StepSettings, looks_like_credential};
pub(super) use settings::{SHARED_SCHEMA_DOCS, resources};
use step::step;
pub use step::{AutoscaleDef, InputDef, MinMax, ModelDef, ReplicasDef, StepDef, VolumeDef};

use super::LoadError;
use super::toml::{Cx, Decode, Sp, Table};
use super::values::check_name;

/// A pipeline file as written.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    /// `[pipeline] name`.
    pub name: Sp<String>,
    /// `[pipeline] description`.
    pub description: Option<String>,
    /// `[pipeline] cache_salt`.
    pub cache_salt: Option<String>,
    /// `[pipeline] schedule`, `timezone`, `concurrency`.
    pub schedule: Option<super::schedule::ScheduleDef>,
    /// `[params]`: name → default value.
    pub params: BTreeMap<String, Sp<ParamValue>>,
    /// `[defaults]`.
    pub defaults: StepSettings,
    /// `[steps.*]`, sorted by name.
    pub steps: Vec<StepDef>,
    /// The directory local input paths are relative to.
    pub dir: PathBuf,
}

/// A parameter value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A string.
    String(String),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Decode for ParamValue {
    fn expected() -> String {
        "a string, number or boolean".into()
    }
    fn schema() -> Value {
        json!({ "type": ["string", "number", "boolean"] })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        Some(match v.get_ref() {
            DeValue::String(_) => ParamValue::String(String::decode(v, cx)?),
            DeValue::Integer(_) => ParamValue::Integer(i64::decode(v, cx)?),
            DeValue::Float(_) => ParamValue::Float(f64::decode(v, cx)?),
            DeValue::Boolean(b) => ParamValue::Bool(*b),
            other => {
                cx.error(LoadError::WrongType {
                    expected: Self::expected(),
                    found: super::toml::type_name(other).into(),
                    at: v.span().into(),
                });
                return None;
            }
        })
    }
}

/// Reads a whole number in `min..=max`.
pub(super) fn count(v: &Sp<DeValue<'_>>, min: i64, max: i64, cx: &mut Cx) -> Option<Sp<u32>> {
    cx.describe(
        v,
        || json!({ "type": "integer", "minimum": min, "maximum": max }),
    );
    let n = i64::decode(v, cx)?;
    if n < min || n > max {
        cx.error(LoadError::value(
            v.span(),
            "out of range",
            format!("{n} is out of range"),
            format!("use a whole number from {min} to {max}"),
        ));
        return None;
    }
    u32::try_from(n).ok().map(|n| Spanned::new(v.span(), n))
}

/// Whether `s` can be used as a template variable name.
pub(super) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Decodes a pipeline file's text.
pub(super) fn decode(text: &str, path: &Path) -> (Option<PipelineFile>, Cx) {
    decode_with(text, path, Cx::default())
}

/// [`decode`] with a given context (schema mode passes one with a recorder).
pub(super) fn decode_with(text: &str, path: &Path, mut cx: Cx) -> (Option<PipelineFile>, Cx) {
    let Some(doc) = super::parse(text, &mut cx) else {
        return (None, cx);
    };
    let mut root = Table::root(&doc);

    let (name, description, cache_salt, schedule) = match root.table("pipeline", &mut cx) {
        Some(mut p) => {
            let name: Option<Sp<String>> = p.req("name", &mut cx);
            let description = p.opt("description", &mut cx);
            let cache_salt = p.opt("cache_salt", &mut cx);
            let schedule = super::schedule::schedule(&mut p, &mut cx);
            p.finish(&mut cx);
            (name, description, cache_salt, schedule)
        }
        None => {
            if root.raw("pipeline").is_none() {
                cx.error(LoadError::MissingKey {
                    key: "pipeline",
                    table: "the pipeline file".into(),
                    expected: "a table with at least `name`".into(),
                    at: (0..0).into(),
                });
            }
            (None, None, None, None)
        }
    };
    if let Some(n) = &name {
        check_name(n, "pipeline name", &mut cx);
    }

    let mut params = BTreeMap::new();
    for (k, v) in root.entries("params", &mut cx) {
        if !is_identifier(k.get_ref()) {
            cx.error(LoadError::value(
                k.span(),
                "invalid parameter name",
                format!(
                    "parameter name `{}` cannot be used in templates",
                    k.get_ref()
                ),
                "use letters, digits and '_', starting with a letter",
            ));
            continue;
        }
        cx.describe(v, ParamValue::schema);
        if let Some(val) = <Sp<ParamValue>>::decode(v, &mut cx) {
            params.insert(k.into_inner(), val);
        }
    }

    let defaults = match root.table("defaults", &mut cx) {
        Some(mut d) => {
            let s = settings(&mut d, &mut cx);
            d.finish(&mut cx);
            s
        }
        None => StepSettings::default(),
    };

    let steps: Vec<StepDef> = root
        .entries("steps", &mut cx)
        .into_iter()
        .filter_map(|(k, v)| step(k, v, &mut cx))
        .collect();
    if steps.is_empty() && root.raw("steps").is_none() {
        cx.error(LoadError::MissingKey {
            key: "steps",
            table: "the pipeline file".into(),
            expected: "at least one [steps.NAME] table".into(),
            at: (0..0).into(),
        });
    }
    root.mark_required("pipeline");
    root.mark_required("steps");
    root.finish(&mut cx);

    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let model = name.map(|name| PipelineFile {
        name,
        description,
        cache_salt,
        schedule,
        params,
        defaults,
        steps,
        dir,
    });
    (model, cx)
}
