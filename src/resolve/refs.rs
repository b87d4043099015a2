//! Template references: which strings of a step are templated, what they reference, and
//! the checks that every referenced parameter, step and output exists. The references become
//! the DAG's edges and the cache key's inputs.

use std::collections::BTreeMap;
use std::ops::Range;

use super::expr::{self, Exprs, Ref};
use super::{Cx, ResolveError};
use crate::diag::did_you_mean;
use crate::domain::EnvValue;
use crate::load::{InputDef, Loaded, StepDef};

/// One templated string of a step and what it references.
pub(crate) struct Templated {
    pub(crate) refs: Vec<Ref>,
}

/// "did you mean" for a step name, else the list of steps.
pub(super) fn step_hint(name: &str, index: &BTreeMap<&str, usize>) -> String {
    match did_you_mean(name, index.keys().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "steps in this pipeline: {}",
            index.keys().copied().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The strings of a step that may be templated, with their spans: command arguments,
/// literal environment values (the step's and `[defaults]`'), the model URI and input URIs.
pub(super) fn step_strings<'l>(l: &'l Loaded, s: &'l StepDef) -> Vec<(&'l str, Range<usize>)> {
    let mut strings: Vec<(&str, Range<usize>)> = Vec::new();
    if let Some(c) = &s.command {
        strings.extend(c.get_ref().iter().map(|a| (a.get_ref().as_str(), a.span())));
    }
    for (_, v) in s.settings.env.iter().chain(l.pipeline.defaults.env.iter()) {
        if let EnvValue::Literal(text) = v.get_ref() {
            strings.push((text.as_str(), v.span()));
        }
    }
    if let Some(m) = &s.model {
        strings.push((m.get_ref().uri.get_ref().as_str(), m.get_ref().uri.span()));
    }
    for v in s.inputs.values() {
        if let InputDef::Uri { uri, .. } = v.get_ref() {
            strings.push((uri.as_str(), v.span()));
        }
    }
    strings
}

/// The compiled form of a templated string of the pipeline, or the syntax error message.
pub(crate) fn compiled<'e, 's>(
    exprs: &'e Exprs<'s>,
    text: &str,
) -> Result<&'e expr::Expr<'s>, String> {
    match exprs.get(text) {
        Some(Ok(e)) => Ok(e),
        Some(Err(message)) => Err(message.clone()),
        // `exprs` holds every string `step_strings` returns.
        None => Err(format!("internal error: `{text}` was not compiled")),
    }
}

/// The templated strings of a step, their references checked.
pub(super) fn references(
    cx: &mut Cx<'_>,
    s: &StepDef,
    index: &BTreeMap<&str, usize>,
    params: &BTreeMap<String, serde_json::Value>,
    exprs: &Exprs<'_>,
) -> Vec<Templated> {
    let strings = step_strings(cx.l, s);
    let mut out = Vec::new();
    let own_outputs: Vec<&str> = s.outputs.iter().map(|o| o.get_ref().as_str()).collect();
    let own_inputs: Vec<&str> = s.inputs.keys().map(|i| i.get_ref().as_str()).collect();
    for (text, span) in strings {
        if !expr::is_templated(text) {
            continue;
        }
        let refs = match compiled(exprs, text) {
            Ok(e) => e.refs().to_vec(),
            Err(message) => {
                cx.pipeline(ResolveError::Template {
                    message,
                    at: span.into(),
                });
                continue;
            }
        };
        for r in &refs {
            let problem = match r {
                Ref::Param(Some(p)) if !params.contains_key(p) => Some((
                    format!("params.{p}"),
                    match did_you_mean(p, params.keys().map(String::as_str)) {
                        Some(m) => format!("did you mean `params.{m}`?"),
                        None => format!("declare it under [params]: {p} = …"),
                    },
                )),
                Ref::Output(o, _) if !own_outputs.contains(&o.as_str()) => Some((
                    format!("outputs.{o}"),
                    format!("add it to this step: outputs = [\"{o}\"]{}", if own_outputs.is_empty() { String::new() } else { format!(" (declared: {})", own_outputs.join(", ")) }),
                )),
                Ref::Upstream(up, o, _) => match index.get(up.as_str()) {
                    None => {
                        cx.pipeline(ResolveError::UnknownStep { name: up.clone(), help: step_hint(up, index), at: span.clone().into() });
                        None
                    }
                    Some(&j) => {
                        let outs: Vec<&str> = cx.l.pipeline.steps[j].outputs.iter().map(|o| o.get_ref().as_str()).collect();
                        if !outs.contains(&o.as_str()) {
                            cx.pipeline(ResolveError::UnknownOutput {
                                step: up.clone(),
                                output: o.clone(),
                                help: if outs.is_empty() {
                                    format!("step `{up}` declares no outputs; add outputs = [\"{o}\"] to it")
                                } else {
                                    format!("outputs of `{up}`: {}", outs.join(", "))
                                },
                                at: span.clone().into(),
                            });
                        }
                        None
                    }
                },
                Ref::Input(i, _) if !own_inputs.contains(&i.as_str()) => Some((
                    format!("inputs.{i}"),
                    if own_inputs.is_empty() { format!("declare it on this step: inputs = {{ {i} = \"data/…\" }}") } else { format!("inputs of this step: {}", own_inputs.join(", ")) },
                )),
                Ref::Unknown(name) => Some((
                    name.clone(),
                    "templates may use params.NAME, inputs.NAME, outputs.NAME, steps.STEP.outputs.NAME (each artifact also as .uri, its address in the store), run.id, pipeline.name and step.name".into(),
                )),
                _ => None,
            };
            if let Some((name, help)) = problem {
                cx.pipeline(ResolveError::UndefinedName {
                    name,
                    help,
                    at: span.clone().into(),
                });
            }
        }
        out.push(Templated { refs });
    }
    out
}
