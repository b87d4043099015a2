//! Reading a workload's state: done or failed from its conditions, and why its pods are not
//! running yet (with whether that can heal by waiting).

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use serde_json::Value;

/// How long an image pull may keep failing before the step fails.
pub(super) const PULL_LIMIT: Duration = Duration::from_secs(60);

/// `Some(Ok)` when the workload succeeded, `Some(Err(why))` when it failed, `None` while not
/// done. An InferenceService is done when it is Ready.
pub(super) fn outcome(kind: &str, obj: &Value) -> Option<Result<(), String>> {
    let (good, bad) = match kind {
        "PyTorchJob" => ("Succeeded", "Failed"),
        "InferenceService" => ("Ready", ""),
        _ => ("Complete", "Failed"),
    };
    let conditions = obj.pointer("/status/conditions")?.as_array()?;
    for c in conditions {
        if c.get("status").and_then(Value::as_str) != Some("True") {
            continue;
        }
        let ty = c.get("type").and_then(Value::as_str).unwrap_or_default();
        if ty == good {
            return Some(Ok(()));
        }
        if !bad.is_empty() && ty == bad {
            let text = |k: &str| {
                c.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let why = [text("reason"), text("message")]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            return Some(Err(if why.is_empty() { "failed".into() } else { why }));
        }
    }
    None
}

/// Whether a workload is suspended: a Job's or TrainJob's `spec.suspend`, a PyTorchJob's
/// `spec.runPolicy.suspend` (where Kueue holds them until it admits them).
pub(super) fn suspended(obj: &Value) -> bool {
    [
        obj.pointer("/spec/suspend"),
        obj.pointer("/spec/runPolicy/suspend"),
    ]
    .into_iter()
    .any(|v| v == Some(&Value::Bool(true)))
}

/// Why Kueue has not admitted a suspended workload, from its Workload's conditions: evicted
/// (`Evicted`), or no quota reserved yet (`QuotaReserved` false, whose message names the
/// flavor and resource that do not fit). `None` when the Workload says nothing useful.
pub(super) fn kueue_reason(workload: &Value) -> Option<String> {
    let conditions = workload.pointer("/status/conditions")?.as_array()?;
    let find = |ty: &str, status: &str| {
        conditions.iter().find(|c| {
            c.get("type").and_then(Value::as_str) == Some(ty)
                && c.get("status").and_then(Value::as_str) == Some(status)
        })
    };
    let text = |c: &Value, k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(c) = find("Evicted", "True") {
        let why = text(c, "message").or_else(|| text(c, "reason"))?;
        return Some(format!("evicted by Kueue: {why}"));
    }
    let c = find("QuotaReserved", "False")?;
    let why = text(c, "message").or_else(|| text(c, "reason"))?;
    Some(format!("waiting for Kueue admission: {why}"))
}

/// Whether any pod has started: a container running or ended, or the pod done.
pub(super) fn started(pods: &[Pod]) -> bool {
    pods.iter().filter_map(|p| p.status.as_ref()).any(|s| {
        matches!(s.phase.as_deref(), Some("Running" | "Succeeded" | "Failed"))
            || s.container_statuses
                .iter()
                .flatten()
                .filter_map(|c| c.state.as_ref())
                .any(|st| st.running.is_some() || st.terminated.is_some())
    })
}

/// Why a step is still not running, in words a user can act on, when something it needs is
/// missing: no Workload for a suspended job (Kueue's controller), no pod for a workload (its
/// operator), a pod no scheduler has looked at (a pod without conditions). `kueue`: whether
/// Kueue made a Workload for it (`None`: not a Kueue stack, or unknown).
pub(super) fn not_running(
    kind: &str,
    name: &str,
    suspended: bool,
    kueue: Option<bool>,
    pods: &[Pod],
) -> Option<String> {
    if suspended {
        let integration = match kind {
            "PyTorchJob" => "kubeflow.org/pytorchjob",
            "TrainJob" => "trainer.kubeflow.org/trainjob",
            _ => "batch/job",
        };
        return (kueue == Some(false)).then(|| {
            format!(
                "no Workload was created for {kind} {name}: is Kueue running, with the {integration} integration on?"
            )
        });
    }
    if pods.is_empty() {
        let controller = match kind {
            "PyTorchJob" => "the Kubeflow training operator",
            "TrainJob" => "Kubeflow Trainer's controller manager",
            "InferenceService" => "KServe's controller",
            _ => "the Job controller (kube-controller-manager)",
        };
        return Some(format!(
            "no pod was created for {kind} {name}: is {controller} running?"
        ));
    }
    let p = pods.iter().find(|p| {
        p.status
            .as_ref()
            .is_none_or(|s| s.conditions.as_ref().is_none_or(Vec::is_empty))
    })?;
    let scheduler = p
        .spec
        .as_ref()
        .and_then(|s| s.scheduler_name.clone())
        .unwrap_or_else(|| "default-scheduler".into());
    Some(format!(
        "pod {} was never looked at by a scheduler: is `{scheduler}` running?",
        p.metadata.name.as_deref().unwrap_or_default()
    ))
}

/// Errors that will not heal by waiting.
pub(super) enum Fatal {
    /// Right away (an invalid image name, a missing ConfigMap or Secret key).
    Now,
    /// After [`PULL_LIMIT`] (the registry may come back).
    Pull,
}

/// Why the step's pods are not running, and whether that is fatal.
pub(super) fn pending_reason(pods: &[Pod]) -> (Option<String>, Option<Fatal>) {
    for p in pods {
        let name = p.metadata.name.clone().unwrap_or_default();
        let Some(status) = &p.status else { continue };
        for c in status.container_statuses.iter().flatten() {
            let Some(w) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
                continue;
            };
            let reason = w.reason.clone().unwrap_or_default();
            let message = w.message.clone().unwrap_or_default();
            let text = format!("pod {name}: {reason} {message}")
                .trim_end()
                .to_owned();
            match reason.as_str() {
                "ErrImagePull" | "ImagePullBackOff" => return (Some(text), Some(Fatal::Pull)),
                "InvalidImageName" | "CreateContainerConfigError" | "CreateContainerError" => {
                    return (Some(text), Some(Fatal::Now));
                }
                _ => {}
            }
        }
        for c in status.conditions.iter().flatten() {
            if c.type_ == "PodScheduled" && c.status == "False" {
                let why = c.message.clone().or(c.reason.clone()).unwrap_or_default();
                return (Some(format!("pod {name} is not scheduled: {why}")), None);
            }
        }
    }
    (None, None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outcomes_by_kind() {
        let job = |ty: &str, status: &str| json!({"status": {"conditions": [{"type": ty, "status": status, "reason": "BackoffLimitExceeded", "message": "too many"}]}});
        assert_eq!(outcome("Job", &job("Complete", "True")), Some(Ok(())));
        assert_eq!(outcome("Job", &job("Complete", "False")), None);
        assert_eq!(
            outcome("Job", &job("Failed", "True")),
            Some(Err("BackoffLimitExceeded: too many".into()))
        );
        assert_eq!(
            outcome("PyTorchJob", &job("Succeeded", "True")),
            Some(Ok(()))
        );
        assert_eq!(outcome("PyTorchJob", &job("Complete", "True")), None);
        assert_eq!(
            outcome("InferenceService", &job("Ready", "True")),
            Some(Ok(()))
        );
        assert_eq!(outcome("InferenceService", &job("Failed", "True")), None);
        assert_eq!(outcome("Job", &json!({})), None);
    }

    #[test]
    fn suspension_and_kueue_reasons() {
        assert!(suspended(&json!({"spec": {"suspend": true}})));
        assert!(suspended(
            &json!({"spec": {"runPolicy": {"suspend": true}}})
        ));
        assert!(!suspended(&json!({"spec": {"suspend": false}})));
        assert!(!suspended(&json!({})));

        let wl = |conditions: Value| json!({"status": {"conditions": conditions}});
        let quota = "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor h100-80gb, 2 more needed";
        assert_eq!(
            kueue_reason(&wl(json!([
                {"type": "QuotaReserved", "status": "False", "reason": "Pending", "message": quota}
            ]))),
            Some(format!("waiting for Kueue admission: {quota}"))
        );
        // Eviction says more than the quota condition that follows it.
        assert_eq!(
            kueue_reason(&wl(json!([
                {"type": "QuotaReserved", "status": "False", "reason": "Pending", "message": quota},
                {"type": "Evicted", "status": "True", "reason": "Preempted", "message": "Preempted to accommodate a higher priority Workload"}
            ]))),
            Some("evicted by Kueue: Preempted to accommodate a higher priority Workload".into())
        );
        // Without a message, the reason; admitted or no conditions: nothing to say.
        assert_eq!(
            kueue_reason(&wl(
                json!([{"type": "QuotaReserved", "status": "False", "reason": "Inadmissible"}])
            )),
            Some("waiting for Kueue admission: Inadmissible".into())
        );
        assert_eq!(
            kueue_reason(&wl(json!([{"type": "QuotaReserved", "status": "True"}]))),
            None
        );
        assert_eq!(kueue_reason(&json!({})), None);
    }

    #[test]
    fn what_is_missing_when_nothing_runs() {
        let pod = |v: Value| -> Pod { serde_json::from_value(v).unwrap() };
        assert_eq!(
            not_running("Job", "j", true, Some(false), &[]).as_deref(),
            Some(
                "no Workload was created for Job j: is Kueue running, with the batch/job integration on?"
            )
        );
        // A Workload exists (or this is no Kueue stack): Kueue's own reason says more.
        assert_eq!(not_running("Job", "j", true, Some(true), &[]), None);
        assert_eq!(not_running("Job", "j", true, None, &[]), None);
        assert!(
            not_running("PyTorchJob", "p", false, None, &[])
                .unwrap()
                .contains("is the Kubeflow training operator running?")
        );
        let unlooked = pod(
            json!({"metadata": {"name": "p-0"}, "spec": {"schedulerName": "kai-scheduler", "containers": []}, "status": {"phase": "Pending"}}),
        );
        assert_eq!(
            not_running("Job", "j", false, None, std::slice::from_ref(&unlooked)).as_deref(),
            Some("pod p-0 was never looked at by a scheduler: is `kai-scheduler` running?")
        );
        assert!(!started(&[unlooked]));
        let unschedulable = pod(
            json!({"metadata": {"name": "p-1"}, "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False"}]}}),
        );
        assert_eq!(not_running("Job", "j", false, None, &[unschedulable]), None);
        assert!(started(&[pod(
            json!({"metadata": {"name": "p-2"}, "status": {"phase": "Running"}})
        )]));
    }

    #[test]
    fn pending_reasons() {
        let pod = |status: Value| -> Pod {
            serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
        };
        let waiting = |reason: &str| {
            pod(
                json!({"containerStatuses": [{"name": "main", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": reason, "message": "m"}}}]}),
            )
        };
        let (why, fatal) = pending_reason(&[waiting("ImagePullBackOff")]);
        assert_eq!(why.as_deref(), Some("pod p: ImagePullBackOff m"));
        assert!(matches!(fatal, Some(Fatal::Pull)));
        assert!(matches!(
            pending_reason(&[waiting("InvalidImageName")]).1,
            Some(Fatal::Now)
        ));
        assert!(pending_reason(&[waiting("ContainerCreating")]).0.is_none());
        let unscheduled = pod(
            json!({"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available"}]}),
        );
        let (why, fatal) = pending_reason(&[unscheduled]);
        assert_eq!(
            why.as_deref(),
            Some("pod p is not scheduled: 0/3 nodes are available")
        );
        assert!(fatal.is_none());
    }
}
