//! Resolution: pipeline + stack models → a [`Plan`] in which nothing is optional any more.
//!
//! Merges stack defaults ⊕ pipeline `[defaults]` ⊕ step, checks references and the DAG,
//! resolves resources, GPUs, queues and priorities, applies the stack's `[policy]`, computes
//! cache keys (chained through the DAG) and object names. It is a pure function of its
//! inputs: local input digests are computed beforehand and passed in.

mod admin;
mod cost;
mod dag;
mod error;
pub mod expr;
mod gpu;
mod mig;
mod plan;
mod preflight;
mod rules;
mod step;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::PathBuf;

use miette::LabeledSpan;

pub use admin::{AdminPlan, AdminPriority, AdminQueue, Amounts, Flavor, resolve_stack};
pub use cost::{CostEstimate, StepCost};
pub use error::ResolveError;
pub use plan::{
    CacheInfo, Gpu, Input, Plan, Priority, PytorchSpec, Resources, ServeSpec, StackInfo, Step,
};

use crate::diag::{FileId, Located, Problems, did_you_mean};
use crate::load::{EnvValue, InputDef, Loaded, ParamValue, StepDef};
use expr::{Engine, Exprs, Ref};

/// How to resolve, beyond the two files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-p name=value` overrides, in command-line order.
    pub params: Vec<String>,
    /// The run id; `None` when rendering, where `{{ run.id }}` becomes `$(MLK_RUN_ID)`.
    pub run_id: Option<String>,
    /// Makes a relative artifacts location absolute (local runs); `None` keeps it as written.
    pub artifacts_root: Option<PathBuf>,
}

/// Content digests of local inputs, by path (the pipeline directory joined with the path as written).
pub type InputDigests = BTreeMap<PathBuf, String>;

/// A plan and the warnings found while making it.
pub struct Resolved {
    /// The plan.
    pub plan: Plan,
    /// Warnings and advice (never errors).
    pub warnings: Vec<Located>,
}

/// What `{{ run.id }}` expands to in rendered manifests: Kubernetes expands `$(VAR)` in
/// commands from the container's environment, where mlk sets `MLK_RUN_ID`.
pub const RUN_ID_PLACEHOLDER: &str = "$(MLK_RUN_ID)";

/// Shared state of one resolution.
pub(crate) struct Cx<'l> {
    pub(crate) l: &'l Loaded,
    pub(crate) problems: Problems,
}

impl Cx<'_> {
    /// Reports a problem in the pipeline file.
    pub(crate) fn pipeline(&mut self, e: ResolveError) {
        let file = self.l.pipeline_file;
        self.problems.push(&self.l.sources, file, e);
    }
    /// Reports a problem in the stack file.
    pub(crate) fn stack(&mut self, e: ResolveError) {
        let file = self.l.stack_file;
        self.problems.push(&self.l.sources, file, e);
    }
    /// Reports a problem in `file`.
    pub(crate) fn at(&mut self, file: FileId, e: ResolveError) {
        self.problems.push(&self.l.sources, file, e);
    }
}

/// One templated string of a step and what it references.
pub(crate) struct Templated {
    pub(crate) refs: Vec<Ref>,
}

/// Resolves a loaded pipeline against its stack.
pub fn resolve(l: &Loaded, opts: &Options, digests: &InputDigests) -> Result<Resolved, Problems> {
    let mut cx = Cx {
        l,
        problems: Problems::default(),
    };
    let params = params(&mut cx, &opts.params);
    check_stack(&mut cx);
    let steps = &l.pipeline.steps;

    // Each distinct templated string is normalized and compiled once, then reused for its
    // references and both expansions (cache key and manifest) in every step that has it.
    let engine = Engine::default();
    let mut normalized: BTreeMap<&str, Cow<'_, str>> = BTreeMap::new();
    for s in steps {
        for (text, _) in step_strings(l, s) {
            if expr::is_templated(text) {
                normalized
                    .entry(text)
                    .or_insert_with(|| expr::normalize(text));
            }
        }
    }
    let exprs: Exprs<'_> = normalized
        .iter()
        .map(|(text, source)| (*text, engine.compile(source)))
        .collect();

    let index: BTreeMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.get_ref().as_str(), i))
        .collect();

    // References and edges.
    let mut deps: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); steps.len()];
    let mut templated: Vec<Vec<Templated>> = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        for a in &s.after {
            match index.get(a.get_ref().as_str()) {
                Some(&j) => {
                    deps[i].insert(j);
                }
                None => cx.pipeline(ResolveError::UnknownStep {
                    name: a.get_ref().clone(),
                    help: step_hint(a.get_ref(), &index),
                    at: a.span().into(),
                }),
            }
        }
        let t = references(&mut cx, s, &index, &params, &exprs);
        for r in t.iter().flat_map(|t| &t.refs) {
            if let Ref::Upstream(up, _) = r
                && let Some(&j) = index.get(up.as_str())
            {
                deps[i].insert(j);
            }
        }
        templated.push(t);
    }

    let order = match dag::order(&deps) {
        Ok(o) => Some(o),
        Err(circle) => {
            let names: Vec<&str> = circle
                .iter()
                .map(|&i| steps[i].name.get_ref().as_str())
                .collect();
            let mut labels: Vec<LabeledSpan> = Vec::new();
            for (n, &i) in circle
                .iter()
                .enumerate()
                .take(circle.len().saturating_sub(1))
            {
                let next = names.get(n + 1).copied().unwrap_or_default();
                labels.push(LabeledSpan::new_with_span(
                    Some(format!("`{}` needs `{next}`", names[n])),
                    steps[i].name.span(),
                ));
            }
            cx.pipeline(ResolveError::Cycle {
                circle: names.join(" → "),
                steps: labels,
            });
            None
        }
    };

    if cx.problems.has_errors() {
        return Err(cx.problems);
    }
    let Some((order, depth)) = order else {
        return Err(cx.problems);
    };

    let mut resolved: Vec<Option<Step>> = vec![None; steps.len()];
    for &i in &order {
        let upstream: BTreeMap<&str, &Step> = deps[i]
            .iter()
            .filter_map(|&j| {
                resolved[j]
                    .as_ref()
                    .map(|s| (steps[j].name.get_ref().as_str(), s))
            })
            .collect();
        let ctx = step::StepCx {
            def: &steps[i],
            templated: &templated[i],
            depth: depth[i],
            upstream,
            params: &params,
            exprs: &exprs,
            digests,
            opts,
        };
        resolved[i] = step::resolve_step(&mut cx, ctx);
    }

    let mut plan_steps: Vec<Step> = order.iter().filter_map(|&i| resolved[i].take()).collect();
    check_names(&mut cx, &mut plan_steps);

    if plan_steps.len() != steps.len() || cx.problems.has_errors() {
        return Err(cx.problems);
    }
    preflight::check(&mut cx, &plan_steps);
    if cx.problems.has_errors() {
        return Err(cx.problems);
    }
    let stack = step::stack_info(l);
    if plan_steps
        .iter()
        .any(|s| matches!(s.gpu, Gpu::KaiFraction { .. } | Gpu::KaiMemory { .. }))
    {
        cx.problems
            .push_located(Located::detached(ResolveError::KaiSharing));
    }
    if stack.training_api == crate::load::TrainingApi::Trainjob {
        let pytorch: Vec<&Step> = plan_steps
            .iter()
            .filter(|s| s.kind == crate::load::StepKind::Pytorch)
            .collect();
        let mut missing = Vec::new();
        if !pytorch.is_empty() && stack.scheduler == crate::load::SchedulerKind::Kai {
            missing.push("`schedulerName: kai-scheduler`".to_owned());
        }
        if stack.scheduler == crate::load::SchedulerKind::Default
            && pytorch.iter().any(|s| s.priority.is_some())
        {
            missing.push("`priorityClassName`".to_owned());
        }
        if let (false, Some(secret)) = (pytorch.is_empty(), &stack.env_from_secret) {
            missing.push(format!("the environment from secret `{secret}`"));
        }
        if !missing.is_empty() {
            cx.problems
                .push_located(Located::detached(ResolveError::TrainJobRuntime {
                    missing: missing.join(" and "),
                    runtime: stack.training_runtime.clone(),
                }));
        }
    }
    if stack.scheduler == crate::load::SchedulerKind::Kueue
        && stack.training_api == crate::load::TrainingApi::Pytorchjob
        && plan_steps
            .iter()
            .any(|s| s.kind == crate::load::StepKind::Pytorch)
    {
        cx.problems
            .push_located(Located::detached(ResolveError::KueuePytorchJob));
    }
    let warnings = cx.problems.take_warnings();
    let plan = Plan {
        pipeline: l.pipeline.name.get_ref().clone(),
        description: l.pipeline.description.clone(),
        stack,
        params,
        cost: cost::estimate(&l.stack, &plan_steps),
        steps: plan_steps,
    };
    Ok(Resolved { plan, warnings })
}

fn step_hint(name: &str, index: &BTreeMap<&str, usize>) -> String {
    match did_you_mean(name, index.keys().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!(
            "steps in this pipeline: {}",
            index.keys().copied().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Parameter defaults with `-p` overrides applied, typed like their defaults.
fn params(cx: &mut Cx<'_>, overrides: &[String]) -> BTreeMap<String, serde_json::Value> {
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
            cx.problems
                .push_located(Located::detached(ResolveError::BadParam {
                    message: format!("`-p {o}` is not of the form NAME=VALUE"),
                    help: "write e.g. -p epochs=20".into(),
                }));
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
            cx.problems
                .push_located(Located::detached(ResolveError::UnknownParam {
                    name: name.into(),
                    help,
                }));
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
                cx.problems
                    .push_located(Located::detached(ResolveError::BadParam {
                        message: format!("parameter `{name}` takes {kind}, not \"{value}\""),
                        help: format!(
                            "its default in the pipeline is {}",
                            serde_json::to_string(default.get_ref()).unwrap_or_default()
                        ),
                    }));
            }
        }
    }
    out
}

/// The strings of a step that may be templated, with their spans: command arguments,
/// literal environment values (the step's and `[defaults]`'), the model URI and input URIs.
fn step_strings<'l>(l: &'l Loaded, s: &'l StepDef) -> Vec<(&'l str, Range<usize>)> {
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
fn references(
    cx: &mut Cx<'_>,
    s: &StepDef,
    index: &BTreeMap<&str, usize>,
    params: &BTreeMap<String, serde_json::Value>,
    exprs: &Exprs<'_>,
) -> Vec<Templated> {
    let strings = step_strings(cx.l, s);
    let mut out = Vec::new();
    let own_outputs: Vec<&str> = s.outputs.iter().map(|o| o.get_ref().as_str()).collect();
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
                Ref::Output(o) if !own_outputs.contains(&o.as_str()) => Some((
                    format!("outputs.{o}"),
                    format!("add it to this step: outputs = [\"{o}\"]{}", if own_outputs.is_empty() { String::new() } else { format!(" (declared: {})", own_outputs.join(", ")) }),
                )),
                Ref::Upstream(up, o) => match index.get(up.as_str()) {
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
                Ref::Unknown(name) => Some((
                    name.clone(),
                    "templates may use params.NAME, outputs.NAME, steps.STEP.outputs.NAME, run.id, pipeline.name and step.name".into(),
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

/// Stack settings that only make sense together, and the MIG tables of a MIG stack's types
/// (reported here once, not once per step).
fn check_stack(cx: &mut Cx<'_>) {
    let stack = &cx.l.stack;
    if stack.gpu.sharing == crate::load::GpuSharing::Mig {
        for (name, t) in &stack.gpu.types {
            admin::mig_table(name, t, &mut |e| cx.stack(e));
        }
    }
    if stack.gpu.sharing == crate::load::GpuSharing::Kai
        && stack.scheduler.kind != crate::load::SchedulerKind::Kai
    {
        let span = stack.gpu.sharing_span.clone();
        cx.stack(ResolveError::Scheduler {
            message: "[gpu] sharing = \"kai\" needs the KAI scheduler".into(),
            help: "set [scheduler] kind = \"kai\" (KAI reads the gpu-fraction and gpu-memory annotations only on pods it schedules), or choose another [gpu] sharing mode".into(),
            at: span.into(),
        });
    }
}

/// Checks that object names are unique.
fn check_names(cx: &mut Cx<'_>, steps: &mut [Step]) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for s in steps.iter() {
        if let Some(first) = seen.insert(s.object_name.clone(), s.name.clone()) {
            let span =
                cx.l.pipeline
                    .steps
                    .iter()
                    .find(|d| d.name.get_ref() == &s.name)
                    .map(|d| d.name.span())
                    .unwrap_or(0..0);
            cx.pipeline(ResolveError::NameCollision {
                name: s.object_name.clone(),
                first,
                second: s.name.clone(),
                at: span.into(),
            });
        }
    }
}
