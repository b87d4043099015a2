//! Every verb mlk uses on a cluster beyond creating the objects it applies, and what a
//! missing one disables ([`NEEDS`], the one table of them), checked with
//! SelfSubjectAccessReviews ([`review`], [`missing`]). `mlk run`'s preflight checks them
//! before anything is created and says which features a missing one disables; creating each
//! applied kind is checked by [`super::preflight`] (a run cannot do without it).

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

use super::{Cluster, ClusterError, retry};

/// Which resource a [`Need`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Of {
    /// One core resource (`pods`, `pods/log`, `configmaps`).
    Core(&'static str),
    /// Each workload kind the run applies (Job, PyTorchJob, TrainJob, InferenceService).
    Workloads,
    /// Kueue's Workloads (stacks whose scheduler is Kueue).
    KueueWorkloads,
}

/// When a [`Need`] applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum When {
    /// Every cluster run.
    Always,
    /// The stack keeps cache records in ConfigMaps (`[cache] store = "configmap"`).
    ClusterStore,
    /// The stack's scheduler is Kueue.
    Kueue,
}

/// One verb mlk uses, and what it is for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Need {
    /// The verb (`get`, `list`, `watch`, `delete`, `patch`).
    pub verb: &'static str,
    /// On what.
    pub of: Of,
    /// When mlk uses it.
    pub when: When,
    /// What does not work without it.
    pub disables: &'static str,
}

/// Every verb mlk uses besides `create` of the applied kinds, and what a missing one
/// disables.
pub(crate) const NEEDS: &[Need] = &[
    Need {
        verb: "list",
        of: Of::Core("pods"),
        when: When::Always,
        disables: "step logs, why a step is pending, failed steps' exit codes",
    },
    Need {
        verb: "watch",
        of: Of::Core("pods"),
        when: When::Always,
        disables: "step logs and why a step is pending (new pods are never found)",
    },
    Need {
        verb: "get",
        of: Of::Core("pods"),
        when: When::Always,
        disables: "noticing that a container's log has ended (its stream is reopened until the step ends)",
    },
    Need {
        verb: "get",
        of: Of::Core("pods/log"),
        when: When::Always,
        disables: "step logs (mlk run, mlk logs)",
    },
    Need {
        verb: "get",
        of: Of::Workloads,
        when: When::Always,
        disables: "replacing an earlier run's workload of the same name",
    },
    Need {
        verb: "watch",
        of: Of::Workloads,
        when: When::Always,
        disables: "knowing when a step is done (it would wait forever)",
    },
    Need {
        verb: "list",
        of: Of::Workloads,
        when: When::Always,
        disables: "mlk status, mlk logs and mlk delete of a run",
    },
    Need {
        verb: "delete",
        of: Of::Workloads,
        when: When::Always,
        disables: "re-running a step, deleting failed and timed-out steps, mlk delete",
    },
    Need {
        verb: "list",
        of: Of::KueueWorkloads,
        when: When::Kueue,
        disables: "why a step waits for Kueue admission, and the pending timeout's reason",
    },
    Need {
        verb: "get",
        of: Of::Core("configmaps"),
        when: When::ClusterStore,
        disables: "cache hits from the cluster's cache store",
    },
    Need {
        verb: "list",
        of: Of::Core("configmaps"),
        when: When::ClusterStore,
        disables: "mlk cache list and prune on the cluster's cache store",
    },
    Need {
        verb: "patch",
        of: Of::Core("configmaps"),
        when: When::ClusterStore,
        disables: "recording results in the cluster's cache store (nothing is cached)",
    },
];

/// A verb the user may not use, and what that disables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Missing {
    /// `list pods`, `get pods/log`, `delete jobs.batch`.
    pub what: String,
    /// From [`Need::disables`].
    pub disables: &'static str,
}

/// Whether the user may `verb` `resource` (`plural` or `plural/subresource`) of `group` in
/// `namespace`: one SelfSubjectAccessReview.
pub(crate) async fn review(
    cluster: &Cluster,
    verb: &str,
    group: &str,
    resource: &str,
    namespace: &str,
) -> Result<bool, ClusterError> {
    let (resource, subresource) = match resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_owned())),
        None => (resource, None),
    };
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                namespace: Some(namespace.into()),
                verb: Some(verb.into()),
                group: Some(group.into()),
                resource: Some(resource.into()),
                subresource,
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    let reviews: Api<SelfSubjectAccessReview> = Api::all(cluster.client());
    let post = PostParams::default();
    match retry(|| reviews.create(&post, &review)).await {
        Ok(r) => Ok(r.status.is_some_and(|s| s.allowed)),
        Err(e) => Err(ClusterError::from_kube(&e, "checking permissions", cluster)),
    }
}

/// The [`NEEDS`] that apply (`when` says which do) and that the user may not use;
/// `workloads` and `kueue` are the `(group, plural)` of the applied workload kinds and of
/// Kueue's Workloads.
pub(crate) async fn missing(
    cluster: &Cluster,
    when: impl Fn(When) -> bool,
    workloads: &[(String, String)],
    kueue: Option<(String, String)>,
) -> Result<Vec<Missing>, ClusterError> {
    let mut out = Vec::new();
    for need in NEEDS.iter().filter(|n| when(n.when)) {
        let targets: Vec<(String, String)> = match need.of {
            Of::Core(r) => vec![(String::new(), r.to_owned())],
            Of::Workloads => workloads.to_vec(),
            Of::KueueWorkloads => kueue.iter().cloned().collect(),
        };
        for (group, resource) in targets {
            if !review(cluster, need.verb, &group, &resource, &cluster.namespace).await? {
                let what = if group.is_empty() {
                    format!("{} {resource}", need.verb)
                } else {
                    format!("{} {resource}.{group}", need.verb)
                };
                out.push(Missing {
                    what,
                    disables: need.disables,
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_need_says_what_it_disables_once() {
        let mut seen = std::collections::BTreeSet::new();
        for n in NEEDS {
            assert!(!n.disables.is_empty());
            assert!(
                seen.insert((n.verb, format!("{:?}", n.of))),
                "{} {:?} twice",
                n.verb,
                n.of
            );
        }
    }
}
