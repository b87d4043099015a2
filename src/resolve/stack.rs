//! A stack on its own: its own checks (run by every resolution and by `mlk stack check`), and
//! the cluster-wide objects an admin applies once (`mlk stack render|check`, SPEC §4): GPU
//! flavors with the resources their sharing mode advertises, queues with quotas, and
//! priorities. Nothing optional is left for `render`.

use std::collections::BTreeMap;

use super::ResolveError;
use super::mig;
use super::tenant::{self, Tenant};
use crate::diag::{FileId, Located, Problems, Sources};
use crate::domain::{GpuSharing, SchedulerKind, Toleration};
use crate::load::{QuotaDef, StackFile};
use crate::names;
use crate::quantity::Quantity;

/// The admin objects of a stack, checked.
#[derive(Debug, Clone)]
pub struct AdminPlan {
    /// Stack name.
    pub stack: String,
    /// Namespace of LocalQueues.
    pub namespace: String,
    /// Scheduler.
    pub scheduler: SchedulerKind,
    /// GPU sharing mode.
    pub sharing: GpuSharing,
    /// One per `[gpu.types.*]`, by name.
    pub flavors: Vec<Flavor>,
    /// Every GPU resource any flavor advertises (the covered resources of the GPU group).
    pub gpu_resources: Vec<String>,
    /// One per `[queues.*]`, by name.
    pub queues: Vec<AdminQueue>,
    /// One per `[priorities]` entry, by name.
    pub priorities: Vec<AdminPriority>,
    /// `[topology]`: the Topology object's name and its levels (name, node label), widest
    /// first.
    pub topology: Option<(String, Vec<(String, String)>)>,
    /// What runs pipelines (an engine needs its workflow account).
    pub engine: crate::domain::Engine,
    /// The training API distributed steps compile to.
    pub training_api: crate::domain::TrainingApi,
    /// `[tenant]`: the namespace and what goes in it.
    pub tenant: Option<Tenant>,
    /// Where steps run.
    pub backend: crate::domain::Backend,
    /// KServe deployment mode.
    pub serving: crate::domain::ServingMode,
    /// kubeconfig context.
    pub context: Option<String>,
    /// The TrainJob runtime (a ClusterTrainingRuntime).
    pub training_runtime: String,
    /// The DRA DeviceClasses steps claim from (DRA stacks).
    pub device_classes: Vec<&'static str>,
    /// What runs on this stack do on a cluster.
    pub(crate) uses: crate::access::Uses,
    /// The ServiceAccount every step pod runs as (`[stack] service_account`).
    pub service_account: Option<String>,
    /// Secrets every step pod needs: `[artifacts] env_from_secret`, then
    /// `[stack] image_pull_secrets`.
    pub secrets: Vec<String>,
}

/// A GPU type as a Kueue ResourceFlavor.
#[derive(Debug, Clone)]
pub struct Flavor {
    /// The type's name.
    pub name: String,
    /// Node labels that select the type.
    pub node_labels: BTreeMap<String, String>,
    /// Tolerations for the type's nodes.
    pub tolerations: Vec<Toleration>,
    /// GPU resources of one device of this type, and how many of each one device gives
    /// (1 for whole and time-sliced devices, the instance count for MIG profiles).
    pub per_device: BTreeMap<String, u32>,
}

/// A queue with its quotas.
#[derive(Debug, Clone)]
pub struct AdminQueue {
    /// Name (ClusterQueue, LocalQueue and KAI leaf queue).
    pub name: String,
    /// Cohort (Kueue) / parent queue (KAI).
    pub cohort: Option<String>,
    /// Nominal quota.
    pub quota: Amounts,
    /// Borrowing limit (only with a cohort).
    pub borrowing: Amounts,
}

/// cpu / memory / GPUs.
#[derive(Debug, Clone, Default)]
pub struct Amounts {
    /// CPU.
    pub cpu: Option<Quantity>,
    /// Memory.
    pub memory: Option<Quantity>,
    /// GPUs (devices).
    pub gpu: Option<u32>,
}

/// A priority.
#[derive(Debug, Clone)]
pub struct AdminPriority {
    /// Name.
    pub name: String,
    /// Value.
    pub value: i64,
    /// Description.
    pub description: Option<String>,
}

fn amounts(q: &QuotaDef) -> Amounts {
    Amounts {
        cpu: q.cpu.as_ref().map(|c| c.get_ref().clone()),
        memory: q.memory.as_ref().map(|m| m.get_ref().clone()),
        gpu: q.gpu.as_ref().map(|g| *g.get_ref()),
    }
}

/// The stack's own checks, reported once per stack (not once per step): settings that only
/// make sense together, GPU type names, queues' cohorts, and the MIG tables of a MIG stack's
/// types. `resolve` and `mlk stack check` both run them.
pub(super) fn check(stack: &StackFile, report: &mut impl FnMut(ResolveError)) {
    if let (Some(t), SchedulerKind::Default) = (&stack.topology, stack.scheduler.kind) {
        report(ResolveError::TopologyScheduler {
            at: t.span().into(),
        });
    }
    // Kueue places by topology within a ResourceFlavor, and a topology-aware flavor needs
    // node labels: mlk's are the GPU types' (`render::topology`).
    if let (Some(t), SchedulerKind::Kueue) = (&stack.topology, stack.scheduler.kind)
        && !stack
            .gpu
            .types
            .values()
            .any(|g| !g.get_ref().node_selector.is_empty())
    {
        report(ResolveError::TopologyFlavor {
            at: t.span().into(),
        });
    }
    tenant::check(stack, report);
    if stack.gpu.sharing == GpuSharing::Kai && stack.scheduler.kind != SchedulerKind::Kai {
        report(ResolveError::KaiScheduler {
            at: stack.gpu.sharing_span.clone().into(),
        });
    }
    if let (Some(s), false) = (&stack.gpu.strategy, stack.gpu.sharing == GpuSharing::Dra) {
        report(ResolveError::GpuStrategy {
            at: s.span().into(),
        });
    }
    for (name, t) in &stack.gpu.types {
        if !names::is_dns1123_label(name) {
            report(ResolveError::GpuTypeName {
                name: name.clone(),
                why: names::explain_dns1123_label(name),
                at: t.span().into(),
            });
        }
        if stack.gpu.sharing == GpuSharing::Mig {
            mig::profiles_of(name, t, report);
        }
    }
    for (name, q) in &stack.queues {
        let def = q.get_ref();
        let has_borrowing = def.borrowing_limit.cpu.is_some()
            || def.borrowing_limit.memory.is_some()
            || def.borrowing_limit.gpu.is_some();
        if has_borrowing && def.cohort.is_none() {
            report(ResolveError::BorrowingCohort {
                queue: name.clone(),
                at: q.span().into(),
            });
        }
        if stack.scheduler.kind == SchedulerKind::Kai && def.cohort.as_deref() == Some(name) {
            report(ResolveError::SelfCohort {
                queue: name.clone(),
                at: q.span().into(),
            });
        }
    }
}

/// Checks a stack's admin settings and resolves its admin objects.
pub fn resolve_stack(
    stack: &StackFile,
    file: FileId,
    sources: &Sources,
) -> Result<(AdminPlan, Vec<Located>), Problems> {
    let mut problems = Problems::default();
    check(stack, &mut |e| problems.push(sources, file, e));
    if problems.has_errors() {
        return Err(problems);
    }
    let flavors = flavors(stack);
    let mut gpu_resources: Vec<String> = flavors
        .iter()
        .flat_map(|f| f.per_device.keys().cloned())
        .collect();
    gpu_resources.sort();
    gpu_resources.dedup();
    let queues = stack
        .queues
        .iter()
        .map(|(name, q)| AdminQueue {
            name: name.clone(),
            cohort: q.get_ref().cohort.clone(),
            quota: amounts(&q.get_ref().quota),
            borrowing: amounts(&q.get_ref().borrowing_limit),
        })
        .collect();
    let priorities = stack
        .priorities
        .iter()
        .map(|(name, p)| AdminPriority {
            name: name.clone(),
            value: p.get_ref().value,
            description: p.get_ref().description.clone(),
        })
        .collect();
    // What one device gives of each GPU resource (the most any type gives).
    let mut per_device: BTreeMap<String, u32> =
        BTreeMap::from([(super::gpu::NVIDIA_GPU.to_owned(), 1)]);
    for f in &flavors {
        for (res, n) in &f.per_device {
            let e = per_device.entry(res.clone()).or_insert(0);
            *e = (*e).max(*n);
        }
    }
    let tenant = stack
        .tenant
        .as_ref()
        .map(|t| tenant::tenant(stack, t, &per_device));
    let warnings = problems.take_warnings();
    Ok((
        AdminPlan {
            stack: stack.name.get_ref().clone(),
            namespace: stack.namespace.get_ref().clone(),
            scheduler: stack.scheduler.kind,
            sharing: stack.gpu.sharing,
            flavors,
            gpu_resources,
            queues,
            priorities,
            topology: super::topology::admin(stack),
            engine: stack.engine,
            training_api: stack.training.api,
            tenant,
            backend: stack.backend,
            serving: stack.serving,
            context: stack.context.clone(),
            training_runtime: stack
                .training
                .runtime
                .clone()
                .unwrap_or_else(|| super::TRAINING_RUNTIME.into()),
            device_classes: device_classes(stack),
            service_account: stack.service_account.clone(),
            secrets: stack
                .artifacts
                .env_from_secret
                .iter()
                .chain(&stack.image_pull_secrets)
                .cloned()
                .collect(),
            uses: tenant::uses(stack),
        },
        warnings,
    ))
}

/// One flavor per GPU type, with the resources one device of it advertises.
fn flavors(stack: &StackFile) -> Vec<Flavor> {
    let mut flavors = Vec::new();
    for (name, t) in &stack.gpu.types {
        let def = t.get_ref();
        let mut per_device = BTreeMap::from([(super::gpu::NVIDIA_GPU.to_owned(), 1)]);
        match stack.gpu.sharing {
            GpuSharing::Mig => {
                for p in mig::profiles_of(name, t, &mut |_| {}) {
                    // Overrides carry no instance count: a profile of G slices fits 7 / G times.
                    let n = if p.per_gpu > 0 {
                        p.per_gpu
                    } else {
                        7 / p.slices.max(1)
                    };
                    per_device.insert(p.resource(), n.max(1));
                }
            }
            GpuSharing::TimeSlicing => {
                if let Some(r) = &stack.gpu.shared_resource {
                    per_device.insert(r.get_ref().clone(), 1);
                }
            }
            GpuSharing::None | GpuSharing::Kai | GpuSharing::Dra => {}
        }
        flavors.push(Flavor {
            name: name.clone(),
            node_labels: def.node_selector.clone(),
            tolerations: def.tolerations.clone(),
            per_device,
        });
    }
    flavors
}

/// The DRA DeviceClasses a DRA stack's claims name: whole and shared GPUs, and MIG devices
/// with the `mig` strategy.
fn device_classes(stack: &StackFile) -> Vec<&'static str> {
    if stack.gpu.sharing != GpuSharing::Dra {
        return Vec::new();
    }
    let mut out = vec![super::gpu::DRA_GPU_CLASS];
    if stack
        .gpu
        .strategy
        .as_ref()
        .is_some_and(|s| *s.get_ref() == crate::domain::DraStrategy::Mig)
    {
        out.push(super::gpu::DRA_MIG_CLASS);
    }
    out
}
