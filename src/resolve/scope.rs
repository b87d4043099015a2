//! The template scope of a step and the expansion of its strings: symbolic (outputs and
//! `run.id` as placeholders, for the cache key) or real (for the manifest).

use std::collections::BTreeMap;
use std::ops::Range;

use super::data::Artifacts;
use super::expr::{Bindings, Exprs, NameScope, RunScope, Scope};
use super::refs::compiled;
use super::step::StepCx;
use super::{Cx, ResolveError};

/// Builds the template scope of a step from its artifacts (symbolic ones for the cache key,
/// real ones for the manifest: see `data`).
pub(super) fn scope_value<'a>(
    params: &'a BTreeMap<String, serde_json::Value>,
    step: &'a str,
    pipeline: &'a str,
    (run_id, run_date): (&'a str, &'a str),
    artifacts: Artifacts,
) -> Bindings<'a> {
    let scope = Scope {
        params,
        outputs: artifacts.outputs,
        inputs: artifacts.inputs,
        steps: artifacts.steps,
        run: RunScope {
            id: run_id,
            date: run_date,
        },
        pipeline: NameScope { name: pipeline },
        step: NameScope { name: step },
    };
    Bindings::from(scope)
}

/// Expands one string of the step; a template error is reported at its span.
pub(super) fn expand(
    cx: &mut Cx<'_>,
    exprs: &Exprs<'_>,
    text: &str,
    span: &Range<usize>,
    scope: &Bindings<'_>,
) -> String {
    if !super::expr::is_templated(text) {
        return text.to_owned();
    }
    match compiled(exprs, text).and_then(|e| e.expand(scope)) {
        Ok(s) => s,
        Err(message) => {
            cx.pipeline(ResolveError::Template {
                message,
                at: span.clone().into(),
            });
            String::new()
        }
    }
}

/// The step's command and arguments expanded in `scope`.
pub(super) fn expand_command(cx: &mut Cx<'_>, s: &StepCx<'_>, scope: &Bindings<'_>) -> Vec<String> {
    s.def
        .command
        .iter()
        .flat_map(|c| c.get_ref())
        .map(|a| expand(cx, s.exprs, a.get_ref(), &a.span(), scope))
        .collect()
}
