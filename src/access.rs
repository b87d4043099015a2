//! Every verb mlk uses on a cluster and what a missing one disables ([`NEEDS`], the one table
//! of them), with the kinds a stack's runs apply ([`Uses::applied`]). `mlk run`'s preflight
//! and `mlk doctor` check them with SelfSubjectAccessReviews (`cluster::access`); `mlk stack
//! render` grants exactly them to the runner and the readers (`render::tenant`).

use crate::domain::{Engine, GpuSharing, SchedulerKind, TrainingApi};

/// Which resource a [`Need`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Of {
    /// One core resource in the namespace (`pods`, `pods/log`, `configmaps`).
    Core(&'static str),
    /// One resource of an API group in the namespace: `(group, plural)`.
    In(&'static str, &'static str),
    /// One cluster-scoped resource: `(group, plural)`.
    Cluster(&'static str, &'static str),
    /// One cluster-scoped resource read only to notice an object of another stack: granted
    /// to the runner, but neither the preflight nor `mlk doctor` checks it (without it, that
    /// warning is all that is lost, and many users may not read cluster-scoped objects).
    Owner(&'static str, &'static str),
    /// Each workload kind the run applies (Job, PyTorchJob, TrainJob, InferenceService).
    Workloads,
    /// The NetworkPolicies applied beside training workloads (`mlk status` and `mlk delete`
    /// find them by the run's label).
    Attached,
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
    /// The stack's scheduler is KAI.
    Kai,
    /// The stack's scheduler uses PriorityClasses (default or KAI).
    PriorityClasses,
    /// The stack's distributed steps are TrainJobs.
    TrainJob,
    /// The stack isolates training jobs (`[policy] network_isolation`).
    NetworkIsolation,
    /// The stack hands runs to Argo Workflows (`[stack] engine = "argo"`).
    Argo,
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
    /// Whether someone who only reads (`mlk status`, `mlk logs`) needs it too.
    pub reader: bool,
    /// What does not work without it.
    pub disables: &'static str,
}

/// The verbs that apply an object (server-side apply patches it, and creates it when it is
/// new): every kind in [`Uses::applied`] needs both.
pub(crate) const APPLY_VERBS: &[&str] = &["create", "patch"];

const fn need(
    verb: &'static str,
    of: Of,
    when: When,
    reader: bool,
    disables: &'static str,
) -> Need {
    Need {
        verb,
        of,
        when,
        reader,
        disables,
    }
}

/// Every verb mlk uses besides applying the kinds of [`Uses::applied`], and what a missing
/// one disables.
pub(crate) const NEEDS: &[Need] = &[
    need(
        "get",
        Of::Core("namespaces"),
        When::Always,
        false,
        "the preflight's check that the namespace exists",
    ),
    need(
        "list",
        Of::Core("pods"),
        When::Always,
        true,
        "step logs, why a step is pending, failed steps' exit codes",
    ),
    need(
        "watch",
        Of::Core("pods"),
        When::Always,
        true,
        "step logs and why a step is pending (new pods are never found)",
    ),
    need(
        "get",
        Of::Core("pods"),
        When::Always,
        true,
        "noticing that a container's log has ended (its stream is reopened until the step ends)",
    ),
    need(
        "get",
        Of::Core("pods/log"),
        When::Always,
        true,
        "step logs (mlk run, mlk logs)",
    ),
    need(
        "get",
        Of::Workloads,
        When::Always,
        true,
        "replacing an earlier run's workload of the same name",
    ),
    need(
        "watch",
        Of::Workloads,
        When::Always,
        true,
        "knowing when a step is done (it would wait forever)",
    ),
    need(
        "list",
        Of::Workloads,
        When::Always,
        true,
        "mlk status, mlk logs and mlk delete of a run",
    ),
    need(
        "delete",
        Of::Workloads,
        When::Always,
        false,
        "re-running a step, deleting failed and timed-out steps, mlk delete",
    ),
    need(
        "list",
        Of::Attached,
        When::NetworkIsolation,
        true,
        "mlk status and mlk delete of a run's NetworkPolicies",
    ),
    need(
        "delete",
        Of::Attached,
        When::NetworkIsolation,
        false,
        "mlk delete of a run's NetworkPolicies",
    ),
    need(
        "get",
        Of::In("kueue.x-k8s.io", "localqueues"),
        When::Kueue,
        false,
        "the preflight's check that the step's LocalQueue exists",
    ),
    need(
        "list",
        Of::In("kueue.x-k8s.io", "workloads"),
        When::Kueue,
        false,
        "why a step waits for Kueue admission, and the pending timeout's reason",
    ),
    need(
        "get",
        Of::Owner("kueue.x-k8s.io", "resourceflavors"),
        When::Kueue,
        false,
        "noticing a GPU flavor that belongs to another stack",
    ),
    need(
        "get",
        Of::Owner("kueue.x-k8s.io", "workloadpriorityclasses"),
        When::Kueue,
        false,
        "noticing a priority class that belongs to another stack",
    ),
    need(
        "get",
        Of::Cluster("scheduling.run.ai", "queues"),
        When::Kai,
        false,
        "the preflight's check that the step's KAI Queue exists",
    ),
    need(
        "get",
        Of::Owner("scheduling.k8s.io", "priorityclasses"),
        When::PriorityClasses,
        false,
        "noticing a PriorityClass that belongs to another stack",
    ),
    need(
        "get",
        Of::Cluster("trainer.kubeflow.org", "clustertrainingruntimes"),
        When::TrainJob,
        false,
        "the preflight's check that the TrainJob's runtime exists",
    ),
    need(
        "get",
        Of::Core("configmaps"),
        When::ClusterStore,
        false,
        "cache hits from the cluster's cache store",
    ),
    need(
        "list",
        Of::Core("configmaps"),
        When::ClusterStore,
        false,
        "mlk cache list and prune on the cluster's cache store",
    ),
    need(
        "patch",
        Of::Core("configmaps"),
        When::ClusterStore,
        false,
        "recording results in the cluster's cache store (nothing is cached)",
    ),
    need(
        "create",
        Of::Core("configmaps"),
        When::ClusterStore,
        false,
        "recording a step's first result in the cluster's cache store",
    ),
    need(
        "delete",
        Of::Core("configmaps"),
        When::ClusterStore,
        false,
        "mlk cache prune on the cluster's cache store",
    ),
    need(
        "get",
        Of::In("argoproj.io", "workflows"),
        When::Argo,
        true,
        "following a run handed to Argo, and mlk status of it",
    ),
    need(
        "delete",
        Of::In("argoproj.io", "workflows"),
        When::Argo,
        false,
        "mlk delete of a run handed to Argo",
    ),
];

/// A kind a stack's runs apply: `(group, plural)` as RBAC names it, and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    /// API group (empty for core).
    pub group: &'static str,
    /// Plural resource name.
    pub plural: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Whether it is a workload ([`Of::Workloads`]).
    pub workload: bool,
}

/// What a stack makes mlk do on a cluster: decides which [`NEEDS`] apply and which kinds its
/// runs apply.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Uses {
    /// The scheduler.
    pub scheduler: SchedulerKind,
    /// Cache records are ConfigMaps.
    pub cluster_store: bool,
    /// The training API.
    pub training: TrainingApi,
    /// `[policy] network_isolation`.
    pub network_isolation: bool,
    /// GPU sharing (DRA applies ResourceClaimTemplates).
    pub sharing: GpuSharing,
    /// What runs the DAG (Argo: mlk applies the WorkflowTemplate and creates a Workflow).
    pub engine: Engine,
}

impl Uses {
    /// Whether needs of `when` apply.
    pub(crate) fn applies(&self, when: When) -> bool {
        match when {
            When::Always => true,
            When::ClusterStore => self.cluster_store,
            When::Kueue => self.scheduler == SchedulerKind::Kueue,
            When::Kai => self.scheduler == SchedulerKind::Kai,
            When::PriorityClasses => self.scheduler != SchedulerKind::Kueue,
            When::TrainJob => self.training == TrainingApi::Trainjob,
            When::NetworkIsolation => self.network_isolation,
            When::Argo => self.engine == Engine::Argo,
        }
    }

    /// Every kind a run on this stack may apply, workloads first.
    pub(crate) fn applied(&self) -> Vec<Applied> {
        let kind = |group, plural, kind, workload| Applied {
            group,
            plural,
            kind,
            workload,
        };
        let mut out = vec![
            kind("batch", "jobs", "Job", true),
            match self.training {
                TrainingApi::Pytorchjob => kind("kubeflow.org", "pytorchjobs", "PyTorchJob", true),
                TrainingApi::Trainjob => {
                    kind("trainer.kubeflow.org", "trainjobs", "TrainJob", true)
                }
            },
            kind(
                "serving.kserve.io",
                "inferenceservices",
                "InferenceService",
                true,
            ),
        ];
        if self.network_isolation {
            out.push(kind(
                "networking.k8s.io",
                "networkpolicies",
                "NetworkPolicy",
                false,
            ));
        }
        if self.sharing == GpuSharing::Dra {
            out.push(kind(
                "resource.k8s.io",
                "resourceclaimtemplates",
                "ResourceClaimTemplate",
                false,
            ));
        }
        if self.engine == Engine::Argo {
            out.push(kind(
                "argoproj.io",
                "workflowtemplates",
                "WorkflowTemplate",
                false,
            ));
            out.push(kind("argoproj.io", "workflows", "Workflow", false));
        }
        out
    }

    /// The `(group, plural)` targets of `of`, from [`Uses::applied`].
    pub(crate) fn targets(&self, of: Of) -> Vec<(&'static str, &'static str)> {
        match of {
            Of::Core(r) => vec![("", r)],
            Of::In(g, r) | Of::Cluster(g, r) | Of::Owner(g, r) => vec![(g, r)],
            Of::Workloads => self
                .applied()
                .iter()
                .filter(|a| a.workload)
                .map(|a| (a.group, a.plural))
                .collect(),
            Of::Attached => self
                .applied()
                .iter()
                .filter(|a| a.kind == "NetworkPolicy")
                .map(|a| (a.group, a.plural))
                .collect(),
        }
    }
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

    #[test]
    fn readers_never_write() {
        for n in NEEDS.iter().filter(|n| n.reader) {
            assert!(matches!(n.verb, "get" | "list" | "watch"), "{n:?}");
        }
    }
}
