//! The verbs of [`crate::access::NEEDS`], checked with SelfSubjectAccessReviews ([`review`],
//! [`missing`]). `mlk run`'s preflight checks them before anything is created and says which
//! features a missing one disables, and `mlk doctor` reports them; creating each applied kind
//! is checked by [`super::preflight`] (a run cannot do without it).

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use kube::api::{Api, PostParams};

use super::{Cluster, ClusterError, retry};
use crate::access::NEEDS;
pub(crate) use crate::access::{Need, Of, When};

/// A verb the user may not use, and what that disables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Missing {
    /// `list pods`, `get pods/log`, `delete jobs.batch`.
    pub what: String,
    /// From [`Need::disables`].
    pub disables: &'static str,
    /// Whether it is about the namespace (else cluster-wide).
    pub namespaced: bool,
}

/// Whether the user may `verb` `resource` (`plural` or `plural/subresource`) of `group` in
/// `namespace` (empty: a cluster-scoped resource): one SelfSubjectAccessReview.
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
                namespace: (!namespace.is_empty()).then(|| namespace.into()),
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
/// `targets` gives the `(group, plural)` of each [`Of`] (the workload kinds a run applies).
pub(crate) async fn missing(
    cluster: &Cluster,
    when: impl Fn(When) -> bool,
    targets: impl Fn(Of) -> Vec<(String, String)>,
) -> Result<Vec<Missing>, ClusterError> {
    let mut out = Vec::new();
    for need in NEEDS.iter().filter(|n| when(n.when)) {
        let namespace = match need.of {
            Of::Owner(..) => continue, // only a warning would be lost: not worth one
            Of::Cluster(..) => "",
            _ => cluster.namespace.as_str(),
        };
        for (group, resource) in targets(need.of) {
            if !review(cluster, need.verb, &group, &resource, namespace).await? {
                out.push(Missing {
                    what: what(need, &group, &resource),
                    disables: need.disables,
                    namespaced: !namespace.is_empty(),
                });
            }
        }
    }
    Ok(out)
}

/// `list pods`, `get pods/log`, `delete jobs.batch`.
fn what(need: &Need, group: &str, resource: &str) -> String {
    if group.is_empty() {
        format!("{} {resource}", need.verb)
    } else {
        format!("{} {resource}.{group}", need.verb)
    }
}
