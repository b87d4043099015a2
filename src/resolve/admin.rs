//! A stack on its own, resolved into the cluster-wide objects an admin applies once
//! (`mlk stack render|check`, SPEC §4): GPU flavors with the resources their sharing mode
//! advertises, queues with quotas, and priorities. Nothing optional is left for `render`.

use std::collections::BTreeMap;

use super::ResolveError;
use super::mig;
use crate::diag::{FileId, Located, Problems, Sources};
use crate::load::{GpuSharing, GpuTypeDef, QuotaDef, SchedulerKind, StackFile, Toleration};
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

/// Checks a stack's admin settings and resolves its admin objects.
pub fn resolve_stack(
    stack: &StackFile,
    file: FileId,
    sources: &Sources,
) -> Result<(AdminPlan, Vec<Located>), Problems> {
    let mut problems = Problems::default();
    let mut report = |e: ResolveError| problems.push(sources, file, e);
    if stack.gpu.sharing == GpuSharing::Kai && stack.scheduler.kind != SchedulerKind::Kai {
        report(ResolveError::Scheduler {
            message: "[gpu] sharing = \"kai\" needs the KAI scheduler".into(),
            help: "set [scheduler] kind = \"kai\" (KAI reads the gpu-fraction and gpu-memory annotations only on pods it schedules), or choose another [gpu] sharing mode".into(),
            at: stack.gpu.sharing_span.clone().into(),
        });
    }

    let mut flavors = Vec::new();
    for (name, t) in &stack.gpu.types {
        if !names::is_dns1123_label(name) {
            report(ResolveError::Scheduler {
                message: format!("GPU type `{name}` cannot name a Kueue ResourceFlavor"),
                help: format!(
                    "rename [gpu.types.{name}]: {}",
                    names::explain_dns1123_label(name)
                ),
                at: t.span().into(),
            });
        }
        let def = t.get_ref();
        let mut per_device = BTreeMap::from([(super::gpu::NVIDIA_GPU.to_owned(), 1)]);
        match stack.gpu.sharing {
            GpuSharing::Mig => {
                let profiles = mig_table(name, t, &mut report);
                for p in profiles {
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
            GpuSharing::None | GpuSharing::Kai => {}
        }
        flavors.push(Flavor {
            name: name.clone(),
            node_labels: def.node_selector.clone(),
            tolerations: def.tolerations.clone(),
            per_device,
        });
    }
    let mut gpu_resources: Vec<String> = flavors
        .iter()
        .flat_map(|f| f.per_device.keys().cloned())
        .collect();
    gpu_resources.sort();
    gpu_resources.dedup();

    let mut queues = Vec::new();
    for (name, q) in &stack.queues {
        let def = q.get_ref();
        let has_borrowing = def.borrowing_limit.cpu.is_some()
            || def.borrowing_limit.memory.is_some()
            || def.borrowing_limit.gpu.is_some();
        if has_borrowing && def.cohort.is_none() {
            report(ResolveError::Scheduler {
                message: format!("queue `{name}` has a borrowing limit but no cohort to borrow from"),
                help: "add cohort = \"…\" to the queue (queues of one cohort lend each other unused quota), or remove borrowing_limit".into(),
                at: q.span().into(),
            });
        }
        if stack.scheduler.kind == SchedulerKind::Kai && def.cohort.as_deref() == Some(name) {
            report(ResolveError::Scheduler {
                message: format!("queue `{name}` names itself as its cohort"),
                help: "on a KAI stack the cohort becomes the parent queue; give it another name"
                    .into(),
                at: q.span().into(),
            });
        }
        queues.push(AdminQueue {
            name: name.clone(),
            cohort: def.cohort.clone(),
            quota: amounts(&def.quota),
            borrowing: amounts(&def.borrowing_limit),
        });
    }

    let priorities = stack
        .priorities
        .iter()
        .map(|(name, p)| AdminPriority {
            name: name.clone(),
            value: p.get_ref().value,
            description: p.get_ref().description.clone(),
        })
        .collect();

    if problems.has_errors() {
        return Err(problems);
    }
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
        },
        warnings,
    ))
}

/// The MIG profiles of GPU type `name`: its `mig_profiles`, else the built-in table named by
/// its `mig` key, else the built-in table matching its `memory`. Problems go to `report`.
pub(super) fn mig_table(
    name: &str,
    t: &toml::Spanned<GpuTypeDef>,
    report: &mut impl FnMut(ResolveError),
) -> Vec<mig::Profile> {
    let def = t.get_ref();
    match (&def.mig_profiles, &def.mig, &def.memory) {
        (Some(list), _, _) => {
            let mut out = Vec::new();
            for p in list {
                match mig::parse(p.get_ref()) {
                    Some(profile) => out.push(profile),
                    None => report(ResolveError::MigProfile {
                        message: format!("`{}` is not a MIG profile name", p.get_ref()),
                        help: "MIG profiles look like \"1g.10gb\", \"3g.40gb\" or \"1g.10gb+me\" (compute slices, then memory)".into(),
                        at: p.span().into(),
                    }),
                }
            }
            out
        }
        (None, Some(m), _) => mig::table(m.get_ref()).unwrap_or_default(),
        (None, None, Some(memory)) => {
            let bytes = u128::try_from(memory.get_ref().whole_ceil()).unwrap_or(0);
            match mig::table_for_memory(bytes) {
                Some((_, p)) => p,
                None => {
                    report(ResolveError::MigProfile {
                        message: format!(
                            "mlk has no built-in MIG profiles for a {} GPU (type `{name}`)",
                            memory.get_ref()
                        ),
                        help: format!(
                            "name a built-in table with mig = \"…\" (one of {}), or list the profiles: mig_profiles = [\"1g.10gb\", …]",
                            crate::load::MIG_TABLES.join(", ")
                        ),
                        at: memory.span().into(),
                    });
                    Vec::new()
                }
            }
        }
        (None, None, None) => {
            report(ResolveError::GpuTypeMemory {
                gpu_type: Some(name.to_owned()),
                why: "the mig sharing mode picks the profile table by the type's memory".into(),
                at: t.span().into(),
            });
            Vec::new()
        }
    }
}
