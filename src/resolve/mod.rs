//! Resolution: pipeline + stack models → a [`Plan`] in which nothing is optional any more.
//!
//! This module owns the entry point and the order of the stages; each rule lives in the
//! module named after it: `params`, `refs` (template references, the DAG's edges), `dag`,
//! `settings` (the merge stage: stack ⊕ pipeline `[defaults]` ⊕ step), `kind` (what each
//! kind takes, replicas), `serve`, `gpu` and `mig` (GPU placement), `policy`, `queue` (queues
//! and priorities), `key` (cache key assembly), `outputs` (output URIs and the expansion of
//! templates), `object` (object names), `quota` (the queue quota check), `advice`
//! (plan-wide warnings), `stack` (the stack's own checks and admin objects) and `step` (one
//! step, stage by stage). It is a pure function of its inputs: local input digests are
//! computed beforehand and passed in. Problems are collected in `Cx`, which reports a
//! problem that several steps inherit from one `[defaults]` value once.

mod advice;
mod capacity;
mod cost;
mod dag;
pub mod data;
mod error;
pub mod expr;
mod gpu;
mod key;
mod kind;
mod mig;
mod object;
mod outputs;
mod params;
mod plan;
mod policy;
mod queue;
mod quota;
mod refs;
pub mod run_date;
mod schedule;
mod scope;
mod serve;
mod settings;
mod stack;
mod step;
mod tenant;

/// The ClusterTrainingRuntime of TrainJobs when `[training] runtime` names none.
pub(crate) const TRAINING_RUNTIME: &str = "torch-distributed";
#[cfg(test)]
pub(crate) mod testing;
mod topology;
mod volumes;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use miette::{Diagnostic, LabeledSpan};

pub use cost::{CostEstimate, StepCost};
pub use error::ResolveError;
pub(crate) use gpu::NVIDIA_GPU;
pub use gpu::request_at as gpu_request_at;
pub use plan::{
    CacheInfo, Data, Fetch, Gpu, Input, Plan, Priority, Publish, Push, PytorchSpec, Resources,
    Schedule, ServeSpec, StackInfo, Step,
};
pub use stack::{AdminPlan, AdminPriority, AdminQueue, Amounts, Flavor, resolve_stack};
pub use tenant::{Tenant, TenantQuota};
pub use topology::TopologyPlacement;
pub use volumes::{CHECKPOINT_ENV, Volume};

pub use error::Shared;

use crate::diag::{FileId, Located, Problems};
use crate::load::Loaded;
use expr::{Engine, Exprs, Ref};
use refs::Templated;

/// How to resolve, beyond the two files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-p name=value` overrides, in command-line order.
    pub params: Vec<String>,
    /// The run id; `None` when rendering, where `{{ run.id }}` becomes `$(MLK_RUN_ID)`.
    pub run_id: Option<String>,
    /// Makes a relative artifacts location absolute (local runs); `None` keeps it as written.
    pub artifacts_root: Option<PathBuf>,
    /// What `{{ run.date }}` is.
    pub run_date: RunDate,
}

/// What `{{ run.date }}` is (`YYYY-MM-DD`): the run's own date where mlk starts the run,
/// the date only the run knows (`$(MLK_RUN_DATE)`, filled in by the launcher) where an
/// engine starts it.
#[derive(Debug, Clone, Default)]
pub enum RunDate {
    /// Left to the run: `mlk render`. On a stack whose runs mlk starts, a step that reads
    /// `{{ run.date }}` cannot be rendered without a date.
    #[default]
    AtRun,
    /// The date of this instant in the pipeline's time zone (`mlk run`, `mlk plan`); on an
    /// engine's stack the run's own, as for [`RunDate::AtRun`].
    Of(jiff::Timestamp),
    /// A date given on the command line (`--run-date`).
    Given(String),
}

pub use crate::cache::key::RUN_DATE_PLACEHOLDER;

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

/// Shared state of one resolution: the inputs and the problems found so far.
pub(crate) struct Cx<'l> {
    pub(crate) l: &'l Loaded,
    /// The step being resolved: a problem it reports where another step already reported
    /// the same one (an inherited `[defaults]` value) joins that report instead.
    step: Option<String>,
    reports: Vec<Report>,
}

/// A problem, where it is, and the steps that have it.
struct Report {
    file: Option<FileId>,
    error: ResolveError,
    steps: Vec<String>,
    /// What makes two steps' problems the same one: see [`sameness`].
    same: Option<String>,
}

/// A problem's code, first span and message with the step's name left out; `None` for a
/// problem without a span, which is never merged.
fn sameness(e: &ResolveError, step: &str) -> Option<String> {
    let code = e.code().map(|c| c.to_string()).unwrap_or_default();
    let span = e.labels().and_then(|mut l| l.next())?;
    let message = e.to_string().replace(&format!("`{step}`"), "`…`");
    Some(format!("{code} {}+{} {message}", span.offset(), span.len()))
}

impl<'l> Cx<'l> {
    fn new(l: &'l Loaded) -> Self {
        Cx {
            l,
            step: None,
            reports: Vec::new(),
        }
    }
    /// Reports a problem in the pipeline file.
    pub(crate) fn pipeline(&mut self, e: ResolveError) {
        self.at(self.l.pipeline_file, e);
    }
    /// Reports a problem in the stack file.
    pub(crate) fn stack(&mut self, e: ResolveError) {
        self.at(self.l.stack_file, e);
    }
    /// Reports a problem in `file`.
    pub(crate) fn at(&mut self, file: FileId, error: ResolveError) {
        let step = self.step.clone();
        let same = step.as_deref().and_then(|s| sameness(&error, s));
        if let (Some(step), Some(key)) = (&step, &same)
            && let Some(r) = self
                .reports
                .iter_mut()
                .find(|r| r.file == Some(file) && r.same.as_ref() == Some(key))
        {
            if !r.steps.contains(step) {
                r.steps.push(step.clone());
            }
            return;
        }
        self.reports.push(Report {
            file: Some(file),
            error,
            steps: step.into_iter().collect(),
            same,
        });
    }
    /// Reports a problem about no particular file.
    pub(crate) fn detached(&mut self, error: ResolveError) {
        self.reports.push(Report {
            file: None,
            error,
            steps: Vec::new(),
            same: None,
        });
    }
    /// The span of a step's name in the pipeline file (where a problem of the whole step is
    /// shown).
    pub(crate) fn step_span(&self, step: &str) -> std::ops::Range<usize> {
        self.l
            .pipeline
            .steps
            .iter()
            .find(|d| d.name.get_ref() == step)
            .map(|d| d.name.span())
            .unwrap_or(0..0)
    }
    /// Number of errors (not warnings) so far.
    pub(crate) fn error_count(&self) -> usize {
        self.reports
            .iter()
            .filter(|r| matches!(r.error.severity(), None | Some(miette::Severity::Error)))
            .count()
    }
    /// Whether there are errors.
    pub(crate) fn has_errors(&self) -> bool {
        self.error_count() > 0
    }
    /// The problems, in report order; one several steps share names them all.
    fn into_problems(self) -> Problems {
        let mut problems = Problems::default();
        let sources = &self.l.sources;
        for r in self.reports {
            match (r.file, r.steps.len() > 1) {
                (Some(file), true) => problems.push(
                    sources,
                    file,
                    Shared {
                        error: r.error,
                        steps: r.steps,
                    },
                ),
                (Some(file), false) => problems.push(sources, file, r.error),
                (None, _) => problems.push_located(Located::detached(r.error)),
            }
        }
        problems
    }
}

/// Resolves a loaded pipeline against its stack.
pub fn resolve(l: &Loaded, opts: &Options, digests: &InputDigests) -> Result<Resolved, Problems> {
    let mut cx = Cx::new(l);
    let params = params::params(&mut cx, &opts.params);
    let run_date = run_date::date(l, &opts.run_date);
    stack::check(&l.stack, &mut |e| cx.stack(e));
    let schedule = schedule::schedule(&mut cx);
    let normalized = normalized(l);
    // Each distinct templated string is compiled once, then reused for its references and
    // both expansions (cache key and manifest) in every step that has it.
    let engine = Engine::default();
    let exprs: Exprs<'_> = normalized
        .iter()
        .map(|(text, source)| (*text, engine.compile(source)))
        .collect();
    let (deps, templated) = edges(&mut cx, &params, &exprs);
    let order = order(&mut cx, &deps);
    if cx.has_errors() {
        return Err(cx.into_problems());
    }
    let Some((order, depth)) = order else {
        return Err(cx.into_problems());
    };

    let steps = &l.pipeline.steps;
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
        if upstream.len() != deps[i].len() {
            // A step it depends on has errors: this one is not checked against a guess.
            continue;
        }
        let ctx = step::StepCx {
            def: &steps[i],
            templated: &templated[i],
            depth: depth[i],
            upstream,
            params: &params,
            exprs: &exprs,
            digests,
            opts,
            run_date: run_date.as_deref(),
        };
        cx.step = Some(steps[i].name.get_ref().clone());
        resolved[i] = step::resolve_step(&mut cx, ctx);
        cx.step = None;
    }

    let plan_steps: Vec<Step> = order.iter().filter_map(|&i| resolved[i].take()).collect();
    object::check_unique(&mut cx, &plan_steps);
    if plan_steps.len() != steps.len() || cx.has_errors() {
        return Err(cx.into_problems());
    }
    run_date::check(&mut cx, &plan_steps, run_date.is_some());
    if cx.has_errors() {
        return Err(cx.into_problems());
    }
    quota::check(&mut cx, &plan_steps);
    if let Some(image) = &l.stack.artifacts.launcher_image
        && plan_steps.iter().any(|s| s.data.launcher)
    {
        let set = settings::Set {
            value: image.get_ref(),
            file: l.stack_file,
            span: image.span(),
        };
        policy::check_image(&mut cx, &set, "the launcher");
    }
    if cx.has_errors() {
        return Err(cx.into_problems());
    }
    let stack = step::stack_info(l);
    advice::plan(&mut cx, &stack, &plan_steps);
    let warnings = cx.into_problems().take_warnings();
    let plan = Plan {
        pipeline: l.pipeline.name.get_ref().clone(),
        description: l.pipeline.description.clone(),
        stack,
        params,
        cost: cost::estimate(&l.stack, &plan_steps),
        schedule,
        steps: plan_steps,
    };
    Ok(Resolved { plan, warnings })
}

/// Every distinct templated string of the pipeline, normalized for the template engine.
fn normalized(l: &Loaded) -> BTreeMap<&str, Cow<'_, str>> {
    let mut normalized: BTreeMap<&str, Cow<'_, str>> = BTreeMap::new();
    for s in &l.pipeline.steps {
        for (text, _) in refs::step_strings(l, s) {
            if expr::is_templated(text) {
                normalized
                    .entry(text)
                    .or_insert_with(|| expr::normalize(text));
            }
        }
    }
    normalized
}

/// The DAG's edges (from `after` and `steps.X.outputs` references) and each step's
/// templated strings, references checked.
fn edges(
    cx: &mut Cx<'_>,
    params: &BTreeMap<String, serde_json::Value>,
    exprs: &Exprs<'_>,
) -> (Vec<BTreeSet<usize>>, Vec<Vec<Templated>>) {
    let steps = &cx.l.pipeline.steps;
    let index: BTreeMap<&str, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.get_ref().as_str(), i))
        .collect();
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
                    help: refs::step_hint(a.get_ref(), &index),
                    at: a.span().into(),
                }),
            }
        }
        let t = refs::references(cx, s, &index, params, exprs);
        for r in t.iter().flat_map(|t| &t.refs) {
            if let Ref::Upstream(up, _, _) = r
                && let Some(&j) = index.get(up.as_str())
            {
                deps[i].insert(j);
            }
        }
        templated.push(t);
    }
    (deps, templated)
}

/// The steps in DAG order with their depths; a cycle is reported with every step on it.
fn order(cx: &mut Cx<'_>, deps: &[BTreeSet<usize>]) -> Option<(Vec<usize>, Vec<u32>)> {
    let circle = match dag::order(deps) {
        Ok(o) => return Some(o),
        Err(circle) => circle,
    };
    let steps = &cx.l.pipeline.steps;
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

/// Did-you-mean help for a name from the stack, else the list of `what` it defines.
pub(crate) fn hint<'a>(
    name: &str,
    known: impl IntoIterator<Item = &'a str> + Clone,
    what: &str,
) -> String {
    match crate::diag::did_you_mean(name, known.clone()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let all: Vec<&str> = known.into_iter().collect();
            if all.is_empty() {
                format!("the stack defines no {what}")
            } else {
                format!("{what} of this stack: {}", all.join(", "))
            }
        }
    }
}
