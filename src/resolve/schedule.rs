//! A pipeline's schedule against the stack's engine: only an engine that runs in the cluster
//! (Argo Workflows) can start a run when nobody runs `mlk`.

use super::plan::Schedule;
use super::{Cx, ResolveError};
use crate::domain::Engine;

/// The plan's schedule; a schedule the stack's engine cannot run is reported.
pub(super) fn schedule(cx: &mut Cx<'_>) -> Option<Schedule> {
    let def = cx.l.pipeline.schedule.as_ref()?;
    if cx.l.stack.engine != Engine::Argo {
        let e = ResolveError::ScheduleEngine {
            stack: cx.l.stack.name.get_ref().clone(),
            at: def.cron.span().into(),
        };
        cx.pipeline(e);
        return None;
    }
    Some(Schedule {
        cron: def.cron.get_ref().trim().to_owned(),
        timezone: def.timezone.as_ref().map(|t| t.get_ref().clone()),
        concurrency: def.concurrency,
    })
}
