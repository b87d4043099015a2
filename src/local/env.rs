//! The environment of a local step: literal values, and secret or ConfigMap references
//! looked up in mlk's own environment.
//!
//! A reference `{ secret = "wandb", key = "api-key" }` reads `MLK_SECRET_WANDB_API_KEY`: the
//! prefix `MLK_SECRET_`, then the secret name, `_`, and the key, upper-cased, with every
//! character other than a letter or a digit replaced by `_`. ConfigMap references use
//! `MLK_CONFIGMAP_` the same way. Values are passed to the step and never shown: the secret
//! ones ([`secret_values`]) are masked in the step's log lines.

use std::collections::BTreeMap;

use crate::domain::EnvValue;
use crate::resolve::Step;

/// The variable that holds a secret (`secret = true`) or ConfigMap key.
pub(crate) fn variable(secret: bool, name: &str, key: &str) -> String {
    let prefix = if secret {
        "MLK_SECRET_"
    } else {
        "MLK_CONFIGMAP_"
    };
    let tail: String = format!("{name}_{key}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}{tail}")
}

/// A reference whose variable is not set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("{variable} is not set: step `{step}` reads {what} `{name}` key `{key}` into {env}")]
#[diagnostic(
    code(mlk::local::missing_secret),
    help(
        "on the local backend, references are read from mlk's environment: export {variable}=… before `mlk run`"
    )
)]
pub(crate) struct MissingEnv {
    /// Step.
    pub step: String,
    /// `secret` or `configmap`.
    pub what: &'static str,
    /// Secret or ConfigMap name.
    pub name: String,
    /// Key in it.
    pub key: String,
    /// The step's variable.
    pub env: String,
    /// The variable to set.
    pub variable: String,
}

/// The step's variables with references looked up through `lookup`.
pub(crate) fn step_env(
    step: &Step,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, Vec<MissingEnv>> {
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for (k, v) in &step.env {
        let (secret, name, key) = match v {
            EnvValue::Literal(text) => {
                out.insert(k.clone(), text.clone());
                continue;
            }
            EnvValue::Secret { name, key } => (true, name, key),
            EnvValue::ConfigMap { name, key } => (false, name, key),
        };
        let var = variable(secret, name, key);
        match lookup(&var) {
            Some(value) => {
                out.insert(k.clone(), value);
            }
            None => missing.push(MissingEnv {
                step: step.name.clone(),
                what: if secret { "secret" } else { "configmap" },
                name: name.clone(),
                key: key.clone(),
                env: k.clone(),
                variable: var,
            }),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

/// The values of `step`'s secret references that `lookup` finds (ConfigMap values are not
/// secret).
pub(crate) fn secret_values(step: &Step, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    step.env
        .values()
        .filter_map(|v| match v {
            EnvValue::Secret { name, key } => lookup(&variable(true, name, key)),
            EnvValue::Literal(_) | EnvValue::ConfigMap { .. } => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_names() {
        assert_eq!(
            variable(true, "wandb", "api-key"),
            "MLK_SECRET_WANDB_API_KEY"
        );
        assert_eq!(
            variable(false, "s3.config", "region"),
            "MLK_CONFIGMAP_S3_CONFIG_REGION"
        );
    }
}
