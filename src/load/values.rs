//! Decoders for the value types the formats share: quantities, durations, names, choices,
//! and string maps for labels and selectors.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use toml::Spanned;
use toml::de::DeValue;

use super::LoadError;
use super::toml::{Cx, Decode, Sp};
use crate::diag::did_you_mean;
use crate::duration::Duration;
use crate::names;
use crate::quantity::Quantity;

impl Decode for Quantity {
    fn expected() -> String {
        "a Kubernetes quantity such as \"2\", \"500m\" or \"16Gi\"".into()
    }
    fn schema() -> Value {
        json!({
            "type": ["string", "number"],
            "pattern": "^[+]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][-+]?[0-9]+|[numkMGTPE]|[KMGTPE]i)?$",
            "minimum": 0,
        })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        // Integers and floats are accepted as a convenience: `cpu = 2` means "2".
        let text = match v.get_ref() {
            DeValue::String(s) => s.to_string(),
            DeValue::Integer(_) | DeValue::Float(_) => {
                let n = f64::decode(v, cx)?;
                format!("{n}")
            }
            _ => {
                String::decode(v, cx)?;
                return None;
            }
        };
        match Quantity::parse(&text) {
            Ok(q) if q.is_negative() => {
                cx.error(LoadError::BadQuantity {
                    message: format!("\"{text}\" is negative"),
                    help: "resource amounts must be zero or more".into(),
                    at: v.span().into(),
                });
                None
            }
            Ok(q) => Some(q),
            Err(e) => {
                cx.error(LoadError::BadQuantity {
                    message: e.to_string(),
                    help: e.help(),
                    at: v.span().into(),
                });
                None
            }
        }
    }
}

impl Decode for Duration {
    fn expected() -> String {
        "a duration such as \"90s\", \"30m\", \"6h\" or \"2d\"".into()
    }
    fn schema() -> Value {
        json!({ "type": "string", "examples": ["90s", "30m", "6h", "2d"] })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        let text = String::decode(v, cx)?;
        match Duration::parse(&text) {
            Ok(d) => Some(d),
            Err(e) => {
                cx.error(LoadError::BadDuration {
                    message: e.to_string(),
                    help: e.help(),
                    at: v.span().into(),
                });
                None
            }
        }
    }
}

/// Checks that a name (pipeline, step, queue, …) is a DNS-1123 label.
pub(super) fn check_name(name: &Sp<String>, what: &'static str, cx: &mut Cx) -> bool {
    if names::is_dns1123_label(name.get_ref()) {
        return true;
    }
    cx.error(LoadError::BadName {
        what,
        value: name.get_ref().clone(),
        reason: names::explain_dns1123_label(name.get_ref()),
        at: name.span().into(),
    });
    false
}

/// Reads a string that must be one of `options`.
pub(super) fn choice(
    v: &Sp<DeValue<'_>>,
    options: &[&'static str],
    cx: &mut Cx,
) -> Option<Sp<&'static str>> {
    cx.describe(v, || json!({ "type": "string", "enum": options }));
    let s = String::decode(v, cx)?;
    if let Some(o) = options.iter().find(|o| **o == s) {
        return Some(Spanned::new(v.span(), *o));
    }
    let quoted: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    let help = match did_you_mean(&s, options.iter().copied()) {
        Some(m) => format!("did you mean \"{m}\"? (one of {})", quoted.join(", ")),
        None => format!("use one of {}", quoted.join(", ")),
    };
    cx.error(LoadError::value(
        v.span(),
        "not allowed here",
        format!("\"{s}\" is not one of {}", quoted.join(", ")),
        help,
    ));
    None
}

/// Reads a table of string values whose keys are Kubernetes label or annotation keys.
///
/// `label_values` also checks the values against the label-value syntax.
pub(super) fn string_map(
    v: &Sp<DeValue<'_>>,
    what: &str,
    label_values: bool,
    cx: &mut Cx,
) -> Option<BTreeMap<String, String>> {
    cx.describe(v, || {
        let value = if label_values {
            json!({
                "type": "string",
                "maxLength": 63,
                "pattern": "^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$",
            })
        } else {
            json!({ "type": "string" })
        };
        json!({ "type": "object", "additionalProperties": value })
    });
    let map: BTreeMap<Sp<String>, Sp<String>> = Decode::decode(v, cx)?;
    let mut out = BTreeMap::new();
    let mut ok = true;
    for (k, val) in map {
        if !names::is_qualified_name(k.get_ref()) {
            ok = false;
            cx.error(LoadError::value(
                k.span(),
                "invalid key",
                format!("`{}` is not a valid {what} key", k.get_ref()),
                "keys are an optional DNS subdomain prefix and '/', then at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            ));
        }
        if label_values && !names::is_label_value(val.get_ref()) {
            ok = false;
            cx.error(LoadError::value(
                val.span(),
                "invalid label value",
                format!("\"{}\" is not a valid {what} value", val.get_ref()),
                "label values are at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit (or empty)",
            ));
        }
        out.insert(k.into_inner(), val.into_inner());
    }
    ok.then_some(out)
}
