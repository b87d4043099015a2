//! `[params]` defaults with the command line's `-p NAME=VALUE` overrides, typed like their
//! defaults.

use std::collections::BTreeMap;

use super::{Cx, ResolveError};
use crate::diag::did_you_mean;
use crate::load::ParamValue;

/// Parameter defaults with `-p` overrides applied, typed like their defaults.
pub(super) fn params(cx: &mut Cx<'_>, overrides: &[String]) -> BTreeMap<String, serde_json::Value> {
    let defaults = &cx.l.pipeline.params;
    let mut out: BTreeMap<String, serde_json::Value> = defaults
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                serde_json::to_value(v.get_ref()).unwrap_or(serde_json::Value::Null),
            )
        })
        .collect();
    for o in overrides {
        let Some((name, value)) = o.split_once('=') else {
            cx.detached(ResolveError::ParamForm { given: o.clone() });
            continue;
        };
        let name = name.trim();
        let Some(default) = defaults.get(name) else {
            let help = match did_you_mean(name, defaults.keys().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`?"),
                None if defaults.is_empty() => "this pipeline has no [params]".into(),
                None => format!(
                    "parameters: {}",
                    defaults.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            };
            cx.detached(ResolveError::UnknownParam {
                name: name.into(),
                help,
            });
            continue;
        };
        let parsed = match default.get_ref() {
            ParamValue::String(_) => Some(serde_json::Value::String(value.into())),
            ParamValue::Integer(_) => value.trim().parse::<i64>().ok().map(Into::into),
            ParamValue::Float(_) => value
                .trim()
                .parse::<f64>()
                .ok()
                .and_then(|f| serde_json::Number::from_f64(f).map(Into::into)),
            ParamValue::Bool(_) => value.trim().parse::<bool>().ok().map(Into::into),
        };
        match parsed {
            Some(v) => {
                out.insert(name.to_owned(), v);
            }
            None => {
                let kind = match default.get_ref() {
                    ParamValue::Integer(_) => "an integer",
                    ParamValue::Float(_) => "a number",
                    _ => "true or false",
                };
                cx.detached(ResolveError::ParamValue {
                    name: name.to_owned(),
                    kind,
                    value: value.to_owned(),
                    default: serde_json::to_string(default.get_ref()).unwrap_or_default(),
                });
            }
        }
    }
    out
}
