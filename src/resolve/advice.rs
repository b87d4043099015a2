//! Plan-wide warnings and advice: said once per plan, not once per step (KAI's unisolated GPU
//! memory, what a TrainJob runtime must provide, Kueue's PyTorchJob integration).

use super::plan::{Gpu, StackInfo, Step};
use super::{Cx, ResolveError};
use crate::domain::{SchedulerKind, StepKind, TrainingApi};

/// Adds the plan's warnings and advice.
pub(super) fn plan(cx: &mut Cx<'_>, stack: &StackInfo, steps: &[Step]) {
    if steps
        .iter()
        .any(|s| matches!(s.gpu, Gpu::KaiFraction { .. } | Gpu::KaiMemory { .. }))
    {
        cx.detached(ResolveError::KaiSharing);
    }
    let pytorch: Vec<&Step> = steps
        .iter()
        .filter(|s| s.kind == StepKind::Pytorch)
        .collect();
    if stack.training_api == TrainingApi::Trainjob {
        let mut missing = Vec::new();
        if !pytorch.is_empty() && stack.scheduler == SchedulerKind::Kai {
            missing.push("`schedulerName: kai-scheduler`".to_owned());
        }
        if stack.scheduler == SchedulerKind::Default && pytorch.iter().any(|s| s.priority.is_some())
        {
            missing.push("`priorityClassName`".to_owned());
        }
        if let (false, Some(secret)) = (pytorch.is_empty(), &stack.env_from_secret) {
            missing.push(format!("the environment from secret `{secret}`"));
        }
        if !missing.is_empty() {
            cx.detached(ResolveError::TrainJobRuntime {
                missing: missing.join(" and "),
                runtime: stack.training_runtime.clone(),
            });
        }
    }
    if stack.scheduler == SchedulerKind::Kueue
        && stack.training_api == TrainingApi::Pytorchjob
        && !pytorch.is_empty()
    {
        cx.detached(ResolveError::KueuePytorchJob);
    }
}
