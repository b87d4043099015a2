//! `mlk doctor`'s checks of what an admin applies (queues, priority classes) and of the
//! user's permissions.

use kube::api::{Api, DynamicObject};

use super::{Check, Status, check, fatal, find};
use crate::access::{APPLY_VERBS, Of};
use crate::cluster::access::{self, review};
use crate::cluster::preflight::owned_elsewhere;
use crate::cluster::{Cluster, ClusterError, retry};
use crate::domain::{SchedulerKind, TrainingApi};
use crate::resolve::AdminPlan;

/// An admin object the stack needs: its check's area, `(group, versions)`, kind, name, and
/// whether it is namespaced.
struct Wanted<'a> {
    area: &'static str,
    group: &'a str,
    versions: &'a [&'a str],
    kind: &'a str,
    name: String,
    namespaced: bool,
}

/// The stack's queues and priority classes exist and are this stack's; a TrainJob stack's
/// ClusterTrainingRuntime exists.
pub(super) async fn admin_objects(
    cluster: &Cluster,
    plan: &AdminPlan,
    out: &mut Vec<Check>,
) -> Result<(), ClusterError> {
    const KUEUE: &[&str] = &["v1beta2", "v1beta1"];
    let wanted = |area, group, versions, kind, name: &str, namespaced| Wanted {
        area,
        group,
        versions,
        kind,
        name: name.to_owned(),
        namespaced,
    };
    let mut all = Vec::new();
    for q in &plan.queues {
        match plan.scheduler {
            SchedulerKind::Kueue => all.push(wanted(
                "queue",
                "kueue.x-k8s.io",
                KUEUE,
                "LocalQueue",
                &q.name,
                true,
            )),
            SchedulerKind::Kai => all.push(wanted(
                "queue",
                "scheduling.run.ai",
                &["v2"],
                "Queue",
                &q.name,
                false,
            )),
            SchedulerKind::Default => {}
        }
    }
    if plan.scheduler == SchedulerKind::Kueue {
        for f in &plan.flavors {
            all.push(wanted(
                "flavor",
                "kueue.x-k8s.io",
                KUEUE,
                "ResourceFlavor",
                &f.name,
                false,
            ));
        }
    }
    for p in &plan.priorities {
        all.push(if plan.scheduler == SchedulerKind::Kueue {
            wanted(
                "priority",
                "kueue.x-k8s.io",
                KUEUE,
                "WorkloadPriorityClass",
                &p.name,
                false,
            )
        } else {
            wanted(
                "priority",
                "scheduling.k8s.io",
                &["v1"],
                "PriorityClass",
                &p.name,
                false,
            )
        });
    }
    if plan.uses.training == TrainingApi::Trainjob {
        let runtime = &plan.training_runtime;
        all.push(wanted(
            "runtime",
            "trainer.kubeflow.org",
            &["v1alpha1"],
            "ClusterTrainingRuntime",
            runtime,
            false,
        ));
    }
    for Wanted {
        area,
        group,
        versions,
        kind,
        name,
        namespaced,
    } in all
    {
        let found = find(cluster, group, versions, kind)
            .await?
            .map(|(ar, _)| ar);
        let mut c = check(area, format!("{kind} {name}"), Status::Missing, "not found");
        c.fix = Some(if area == "runtime" {
            "install Kubeflow Trainer's training runtimes, or name one that exists in [training] runtime".into()
        } else {
            format!(
                "apply `mlk stack render {}` (the cluster admin)",
                plan.stack
            )
        });
        if let Some(ar) = found {
            let api: Api<DynamicObject> = if namespaced {
                Api::namespaced_with(cluster.client(), &cluster.namespace, &ar)
            } else {
                Api::all_with(cluster.client(), &ar)
            };
            match retry(|| api.get_opt(&name)).await {
                Ok(Some(live)) => match owned_elsewhere(&live, kind, &plan.stack, "objects") {
                    Some(w) => {
                        c.status = Status::Outdated;
                        c.detail = w;
                        // Applying this stack again would only take the name back from the
                        // other one.
                        c.fix = Some(format!(
                            "rename this stack's {kind} (another stack uses `{name}`), apply `mlk stack render {}`, and render its pipelines again",
                            plan.stack
                        ));
                    }
                    None => {
                        c.status = Status::Ok;
                        c.detail = "exists".into();
                        c.fix = None;
                    }
                },
                Ok(None) => {}
                Err(e) => {
                    c.status = Status::Unknown;
                    c.detail = fatal(ClusterError::from_kube(
                        &e,
                        "reading admin objects",
                        cluster,
                    ))?
                    .to_string();
                    c.fix = None;
                }
            }
        } else {
            c.detail = format!("{kind} is not served");
        }
        out.push(c);
    }
    Ok(())
}

/// Every verb a run on this stack uses, and applying each kind it applies.
pub(super) async fn permissions(
    cluster: &Cluster,
    plan: &AdminPlan,
    out: &mut Vec<Check>,
) -> Result<(), ClusterError> {
    let u = &plan.uses;
    let owned = |of: Of| -> Vec<(String, String)> {
        u.targets(of)
            .into_iter()
            .map(|(g, r)| (g.to_owned(), r.to_owned()))
            .collect()
    };
    let fix = format!(
        "ask the cluster admin for it: the runner Role of `mlk stack render {}` ([tenant]) holds every verb mlk needs",
        plan.stack
    );
    let mut denied = 0;
    for a in u.applied() {
        for verb in APPLY_VERBS {
            let allowed = match review(cluster, verb, a.group, a.plural, &cluster.namespace).await {
                Ok(allowed) => allowed,
                Err(e) => {
                    fatal(e)?;
                    true // not known: the SelfSubjectAccessReview itself failed
                }
            };
            if !allowed {
                denied += 1;
                let what = if a.group.is_empty() {
                    format!("{verb} {}", a.plural)
                } else {
                    format!("{verb} {}.{}", a.plural, a.group)
                };
                let mut c = check(
                    "permission",
                    what,
                    Status::Missing,
                    format!("mlk cannot apply {}s", a.kind),
                );
                c.fix = Some(fix.clone());
                out.push(c);
            }
        }
    }
    let missing = match access::missing(cluster, |w| u.applies(w), owned).await {
        Ok(m) => m,
        Err(e) => {
            fatal(e)?;
            Vec::new()
        }
    };
    for m in &missing {
        let mut c = check(
            "permission",
            &m.what,
            Status::Missing,
            format!("without it: {}", m.disables),
        );
        c.fix = Some(fix.clone());
        out.push(c);
    }
    if denied + missing.len() == 0 {
        out.push(check(
            "permission",
            "every verb mlk run uses",
            Status::Ok,
            format!("allowed in namespace {}", cluster.namespace),
        ));
    }
    Ok(())
}
