//! `mlk wait KIND NAME`: one workload followed until mlk's rules say it succeeded or failed
//! ([`outcome`]), saying why it is not running yet ([`pending_reason`], [`not_running`])
//! whenever that changes. An engine's wait task runs it in the cluster, so these lines end
//! up in the engine's logs; it works from any machine with a kubeconfig too.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DynamicObject, ListParams};

use super::lifecycle::run_kind;
use super::preflight::served;
use super::wait::{Fatal, PULL_LIMIT, not_running, outcome, pending_reason, suspended};
use super::{Cluster, ClusterError, retry};
use crate::labels;

/// How a wait ended, when the cluster answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// Succeeded (an InferenceService: Ready).
    Succeeded,
    /// Failed, and why.
    Failed(String),
}

/// How long nothing may run before [`not_running`] is asked why.
const NOT_RUNNING_AFTER: Duration = Duration::from_secs(60);

/// Follows `kind`/`name` in the cluster's namespace until it is done; `run` narrows its pods
/// to one run's (`mlk.dev/run`). `say` gets each why-pending line once per change.
pub(crate) fn wait_for(
    cluster: &Cluster,
    kind: &str,
    name: &str,
    run: Option<&str>,
    poll: Duration,
    say: &mut dyn FnMut(&str),
) -> Result<Ended, ClusterError> {
    let Some((group, version, _)) = run_kind(kind) else {
        return Ok(Ended::Failed(format!("mlk does not run {kind} objects")));
    };
    let Some(ar) = cluster.block_on(served(cluster, group, version, kind))? else {
        return Ok(Ended::Failed(format!(
            "the cluster does not serve {kind} ({group}/{version}): is its controller installed?"
        )));
    };
    let api: Api<DynamicObject> = Api::namespaced_with(cluster.client(), &cluster.namespace, &ar);
    let pods: Api<Pod> = Api::namespaced(cluster.client(), &cluster.namespace);
    let since = Instant::now();
    let mut said: Option<String> = None;
    let mut pull_failing: Option<Instant> = None;
    loop {
        let what = format!("reading {kind} {name}");
        let obj = cluster
            .block_on(retry(|| api.get_opt(name)))
            .map_err(|e| ClusterError::from_kube(&e, &what, cluster))?;
        let Some(obj) = obj else {
            return Ok(Ended::Failed(format!(
                "{kind} {name} is not in namespace {} (deleted?)",
                cluster.namespace
            )));
        };
        match outcome(kind, &obj.data) {
            Some(Ok(())) => return Ok(Ended::Succeeded),
            Some(Err(why)) => return Ok(Ended::Failed(why)),
            None => {}
        }
        let selector = pod_selector(&obj, run);
        let lp = ListParams::default().labels(&selector);
        let listed = cluster
            .block_on(retry(|| pods.list(&lp)))
            .map_err(|e| ClusterError::from_kube(&e, "listing pods", cluster))?;
        let (mut reason, fatal) = pending_reason(&listed.items);
        match fatal {
            Some(Fatal::Now) => return Ok(Ended::Failed(reason.unwrap_or_default())),
            Some(Fatal::Pull) => {
                let first = *pull_failing.get_or_insert_with(Instant::now);
                if first.elapsed() >= PULL_LIMIT {
                    return Ok(Ended::Failed(reason.unwrap_or_default()));
                }
            }
            None => pull_failing = None,
        }
        let held = suspended(&obj.data);
        if reason.is_none() && held {
            reason = Some(format!(
                "{kind} {name} is suspended (waiting for admission)"
            ));
        }
        if reason.is_none() && since.elapsed() >= NOT_RUNNING_AFTER {
            reason = not_running(kind, name, held, None, &listed.items);
        }
        if reason.is_some() && reason != said {
            say(reason.as_deref().unwrap_or_default());
        }
        said = reason;
        std::thread::sleep(poll);
    }
}

/// The labels that select a workload's pods: its pipeline and step (mlk puts them on the
/// object and its pods alike), and the run when known.
fn pod_selector(obj: &DynamicObject, run: Option<&str>) -> String {
    let label = |k: &str| {
        obj.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(k))
            .cloned()
            .unwrap_or_default()
    };
    let (pipeline, step) = (label(labels::PIPELINE), label(labels::STEP));
    let mut pairs = vec![
        (labels::PIPELINE, pipeline.as_str()),
        (labels::STEP, step.as_str()),
    ];
    if let Some(r) = run {
        pairs.push((labels::RUN, r));
    }
    labels::selector(&pairs)
}
