//! What the machine's GPUs mean for a plan before anything runs: the plan-time check (a step
//! that could never get its GPUs here is an error on its `gpu` key, exit 2, with the
//! machine's inventory), and the steps that may wait for GPUs other steps hold, for
//! `mlk plan`. Both apply [`super::assign`]'s rule.

use std::collections::BTreeSet;

use miette::SourceSpan;

use super::Machine;
use super::assign::{Ask, Need, Table};
use crate::diag::Located;
use crate::load::Loaded;
use crate::resolve::{Plan, Step, gpu_request_at};

/// A step asks for GPUs this machine does not have (or that mlk may not use).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("step `{step}` needs {need}; this machine has {has}")]
#[diagnostic(
    code(mlk::local::gpu_unavailable),
    help(
        "this machine has {machine}.\nAsk for less, run on a stack with a cluster, or widen the stack's `[gpu] devices` or CUDA_VISIBLE_DEVICES (`mlk plan` lists the GPUs)"
    )
)]
pub(crate) struct GpuUnavailable {
    /// The step.
    pub step: String,
    /// `16 GPUs`.
    pub need: String,
    /// `7 usable`: what the machine has of it, with nothing else running.
    pub has: String,
    /// The machine's GPUs in one line.
    pub machine: String,
    /// The step's GPU request.
    #[label("asked for here")]
    pub at: Option<SourceSpan>,
}

/// A problem for every one of `steps` (from `plan`, as `l` writes them) whose GPUs `machine`
/// could never give it, even with nothing else running.
pub(crate) fn check<'a>(
    l: &Loaded,
    steps: impl IntoIterator<Item = &'a Step>,
    machine: &Machine,
) -> Vec<Located> {
    let empty = Table::new(&machine.devices);
    steps
        .into_iter()
        .filter_map(|s| {
            let short = empty.assign(&machine.devices, &Ask::of(s)).err()?;
            let at = gpu_request_at(l, &s.name);
            let e = GpuUnavailable {
                step: s.name.clone(),
                need: short.need,
                has: short.free.replace(" free", " usable"),
                machine: machine.summary(),
                at: at.as_ref().map(|(_, span)| span.clone().into()),
            };
            Some(match at {
                Some((file, _)) => Located::new(&l.sources, file, e),
                None => Located::detached(e),
            })
        })
        .collect()
}

/// The GPU steps of `plan` that may wait for GPUs when they are ready to start: those that
/// do not fit next to the GPU steps that may run at the same time (the steps neither
/// upstream nor downstream of them), each with those steps: `train-b: may wait for GPUs
/// held by train-a`. Steps that could never fit are [`check`]'s.
pub(crate) fn waits(plan: &Plan, machine: &Machine) -> Vec<String> {
    let asks: Vec<Ask> = plan.steps.iter().map(Ask::of).collect();
    let related = relatives(plan);
    let devices = &machine.devices;
    let mut out = Vec::new();
    for (i, s) in plan.steps.iter().enumerate() {
        if asks[i].need == Need::None || Table::new(devices).assign(devices, &asks[i]).is_err() {
            continue;
        }
        let mut table = Table::new(devices);
        let mut others = Vec::new();
        for (j, o) in plan.steps.iter().enumerate() {
            if j == i || asks[j].need == Need::None || related[i].contains(&j) {
                continue;
            }
            if let Ok(g) = table.assign(devices, &asks[j]) {
                table.take(&g);
                others.push(o.name.as_str());
            }
        }
        if let Err(short) = table.assign(devices, &asks[i]) {
            out.push(format!(
                "{}: may wait for GPUs held by {} (it needs {}; {} while they run)",
                s.name,
                others.join(", "),
                short.need,
                short.free
            ));
        }
    }
    out
}

/// For each step, the steps upstream and downstream of it.
fn relatives(plan: &Plan) -> Vec<BTreeSet<usize>> {
    let index = plan.index();
    let n = plan.steps.len();
    // Steps are in DAG order, so one pass in order finds every step's ancestors.
    let mut up: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (i, s) in plan.steps.iter().enumerate() {
        for d in s.depends_on.iter().filter_map(|d| index.get(d.as_str())) {
            let mut all = up[*d].clone();
            all.insert(*d);
            up[i].extend(all);
        }
    }
    let mut related = up.clone();
    for (i, ups) in up.iter().enumerate() {
        for &u in ups {
            related[u].insert(i);
        }
    }
    related
}
