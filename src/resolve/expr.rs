//! Template expressions inside pipeline strings (`{{ params.epochs }}`,
//! `{{ steps.train.outputs.model }}`, …): what they reference, and their expansion.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::{Environment, UndefinedBehavior};
use regex::Regex;
use serde::Serialize;

/// What one templated string refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    /// `params.NAME` (or `params` as a whole: `None`).
    Param(Option<String>),
    /// `outputs.NAME` of the step itself.
    Output(String),
    /// `steps.STEP.outputs.NAME`.
    Upstream(String, String),
    /// `run.id`.
    RunId,
    /// `pipeline.name` or `step.name`.
    Name,
    /// Anything else: an error for the caller to report.
    Unknown(String),
}

/// The expression engine: one minijinja environment, strict about undefined values.
pub struct Engine {
    env: Environment<'static>,
}

impl Default for Engine {
    fn default() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        Engine { env }
    }
}

/// Whether `s` contains template syntax at all (most strings do not, and skip the engine).
pub fn is_templated(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Variables the values of a templated string are built from.
#[derive(Debug, Serialize)]
pub struct Scope<'a> {
    /// Parameter values.
    pub params: &'a BTreeMap<String, serde_json::Value>,
    /// This step's output URIs.
    pub outputs: BTreeMap<String, String>,
    /// Referenced upstream steps' outputs: `steps.X.outputs.Y`.
    pub steps: BTreeMap<String, StepOutputs>,
    /// `run.id`.
    pub run: RunScope<'a>,
    /// `pipeline.name`.
    pub pipeline: NameScope<'a>,
    /// `step.name`.
    pub step: NameScope<'a>,
}

/// The outputs of one upstream step.
#[derive(Debug, Serialize)]
pub struct StepOutputs {
    /// Output name → URI.
    pub outputs: BTreeMap<String, String>,
}

/// `{ id: … }`.
#[derive(Debug, Serialize)]
pub struct RunScope<'a> {
    /// The run id.
    pub id: &'a str,
}

/// `{ name: … }`.
#[derive(Debug, Serialize)]
pub struct NameScope<'a> {
    /// The name.
    pub name: &'a str,
}

/// `steps.NAME.` where NAME has a '-', which Jinja would read as a subtraction.
static HYPHENATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bsteps\.([a-z0-9][a-z0-9]*(?:-[a-z0-9]+)+)\.").unwrap_or_else(|_| unreachable!())
});

/// `steps["NAME"].outputs.OUT` or `steps["NAME"].outputs["OUT"]`.
static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bsteps\s*\[\s*["']([^"']+)["']\s*\]\s*\.\s*outputs\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])"#)
        .unwrap_or_else(|_| unreachable!())
});

/// Rewrites `steps.my-step.outputs.x` as `steps["my-step"].outputs.x`, so step names with
/// hyphens (the usual DNS-label style) can be written the natural way.
pub fn normalize(source: &str) -> Cow<'_, str> {
    HYPHENATED.replace_all(source, r#"steps["$1"]."#)
}

impl Engine {
    /// The references of a templated string, or the syntax error message.
    pub fn refs(&self, source: &str) -> Result<Vec<Ref>, String> {
        let source = normalize(source);
        let tmpl = self
            .env
            .template_from_str(&source)
            .map_err(|e| detail(&e))?;
        let mut refs = Vec::new();
        for var in tmpl.undeclared_variables(true) {
            match classify(&var) {
                // Subscripted step names: find them in the text.
                Ref::Unknown(v) if v == "steps" => {
                    let found: Vec<Ref> = SUBSCRIPT
                        .captures_iter(&source)
                        .filter_map(|c| {
                            let step = c.get(1)?.as_str().to_owned();
                            let out = c.get(2).or_else(|| c.get(3))?.as_str().to_owned();
                            Some(Ref::Upstream(step, out))
                        })
                        .collect();
                    if found.is_empty() {
                        refs.push(Ref::Unknown(v));
                    }
                    refs.extend(found);
                }
                r => refs.push(r),
            }
        }
        refs.sort();
        refs.dedup();
        Ok(refs)
    }

    /// Expands a templated string with `scope`; the error message on failure.
    pub fn expand(&self, source: &str, scope: &minijinja::Value) -> Result<String, String> {
        let source = normalize(source);
        let tmpl = self
            .env
            .template_from_str(&source)
            .map_err(|e| detail(&e))?;
        tmpl.render(scope).map_err(|e| detail(&e))
    }
}

fn detail(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(d) = e.detail() {
        msg.push_str(": ");
        msg.push_str(d);
    }
    msg
}

fn classify(path: &str) -> Ref {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["params"] => Ref::Param(None),
        ["params", p, ..] => Ref::Param(Some((*p).to_owned())),
        ["outputs", o, ..] => Ref::Output((*o).to_owned()),
        ["steps", s, "outputs", o, ..] => Ref::Upstream((*s).to_owned(), (*o).to_owned()),
        ["run", "id"] => Ref::RunId,
        ["pipeline", "name"] | ["step", "name"] => Ref::Name,
        _ => Ref::Unknown(path.to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn classifies_references() {
        let e = Engine::default();
        let refs = e.refs("{{ params.epochs }} {{ steps.prep.outputs.data }} {{ outputs.model }} {{ run.id }} {{ nope }}").unwrap();
        assert_eq!(
            refs,
            vec![
                Ref::Param(Some("epochs".into())),
                Ref::Output("model".into()),
                Ref::Upstream("prep".into(), "data".into()),
                Ref::RunId,
                Ref::Unknown("nope".into()),
            ]
        );
        assert!(e.refs("{{ unclosed").is_err());
        assert_eq!(
            e.refs("{{ steps.score-0.outputs.x }} {{ steps['a-b'].outputs['y'] }}")
                .unwrap(),
            vec![
                Ref::Upstream("a-b".into(), "y".into()),
                Ref::Upstream("score-0".into(), "x".into())
            ]
        );
    }
}
