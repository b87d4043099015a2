//! `[tenant]` checked: the namespace's Pod Security profile, its ResourceQuota (default
//! scheduler only: Kueue and KAI keep quota in their queues), the requests its LimitRange
//! gives, who runs and who reads, and where its pods may connect.

use std::collections::BTreeMap;

use super::{ResolveError, hint};
use crate::access::Uses;
use crate::domain::{Backend, CacheStore, SchedulerKind, Security};
use crate::load::{StackFile, TenantDef};
use crate::quantity::Quantity;

/// The tenant objects of a stack, checked.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The Pod Security Standards profile the namespace enforces.
    pub security: Security,
    /// The runner's ServiceAccount.
    pub runner: String,
    /// `[stack] service_account`, the pods' ServiceAccount, when it is not the runner's.
    pub pods_account: Option<String>,
    /// Groups bound to the read-only Role.
    pub readers: Vec<String>,
    /// Namespaces whose pods may connect to this namespace's pods.
    pub ingress_from: Vec<String>,
    /// Egress to the artifact store: CIDRs.
    pub artifact_cidrs: Vec<String>,
    /// Egress to the artifact store: its namespace.
    pub artifact_namespace: Option<String>,
    /// The ResourceQuota (default scheduler only).
    pub quota: Option<TenantQuota>,
    /// The LimitRange's default requests (cpu, memory). No default limits: a pod that
    /// requests more than a default limit would be refused.
    pub requests: BTreeMap<String, Quantity>,
}

/// The namespace's ResourceQuota.
#[derive(Debug, Clone)]
pub struct TenantQuota {
    /// `hard`: resource → amount.
    pub hard: BTreeMap<String, String>,
    /// Only pods of these PriorityClasses count.
    pub priorities: Vec<String>,
}

/// The checks of `[tenant]` (reported once per stack).
pub(super) fn check(stack: &StackFile, report: &mut impl FnMut(ResolveError)) {
    let Some(t) = &stack.tenant else { return };
    if let Some(q) = &t.quota {
        if stack.scheduler.kind != SchedulerKind::Default {
            report(ResolveError::TenantQuota {
                scheduler: format!("{:?}", stack.scheduler.kind).to_lowercase(),
                at: q.span().into(),
            });
        }
        for p in &q.get_ref().priorities {
            if !stack.priorities.contains_key(p.get_ref()) {
                report(ResolveError::UnknownPriority {
                    name: p.get_ref().clone(),
                    help: hint(
                        p.get_ref(),
                        stack.priorities.keys().map(String::as_str),
                        "priorities",
                    ),
                    at: p.span().into(),
                });
            }
        }
    }
}

/// The tenant of a checked stack; `gpu_resources` are the GPU resources one device of the
/// stack's types advertises, with how many each device gives.
pub(super) fn tenant(
    stack: &StackFile,
    t: &TenantDef,
    gpu_resources: &BTreeMap<String, u32>,
) -> Tenant {
    let d = &stack.defaults;
    let mut requests = BTreeMap::new();
    if let Some(c) = &d.resources.cpu {
        requests.insert("cpu".to_owned(), c.get_ref().clone());
    }
    if let Some(m) = &d.resources.memory {
        requests.insert("memory".to_owned(), m.get_ref().clone());
    }
    let quota = t.quota.as_ref().map(|q| {
        let q = q.get_ref();
        let mut hard = BTreeMap::new();
        if let Some(c) = &q.cpu {
            hard.insert("requests.cpu".to_owned(), c.to_string());
        }
        if let Some(m) = &q.memory {
            hard.insert("requests.memory".to_owned(), m.to_string());
        }
        if let Some(g) = q.gpu {
            for (res, per) in gpu_resources {
                hard.insert(
                    format!("requests.{res}"),
                    (u64::from(g) * u64::from(*per)).to_string(),
                );
            }
        }
        if let Some(n) = q.pvcs {
            hard.insert("persistentvolumeclaims".to_owned(), n.to_string());
        }
        TenantQuota {
            hard,
            priorities: q.priorities.iter().map(|p| p.get_ref().clone()).collect(),
        }
    });
    Tenant {
        security: d.security,
        runner: t.runner.clone(),
        pods_account: stack.service_account.clone().filter(|a| *a != t.runner),
        readers: t.readers.clone(),
        ingress_from: t.ingress_from.clone(),
        artifact_cidrs: t
            .artifact_cidrs
            .iter()
            .map(|c| c.get_ref().clone())
            .collect(),
        artifact_namespace: t.artifact_namespace.clone(),
        quota,
        requests,
    }
}

/// What runs on `stack` do on a cluster (the runner's and readers' Roles, `mlk doctor`).
pub(super) fn uses(stack: &StackFile) -> Uses {
    Uses {
        scheduler: stack.scheduler.kind,
        cluster_store: stack.cache.store == CacheStore::Configmap
            && stack.backend == Backend::Kubernetes,
        training: stack.training.api,
        network_isolation: stack.policy.network_isolation,
        sharing: stack.gpu.sharing,
        engine: stack.engine,
    }
}
