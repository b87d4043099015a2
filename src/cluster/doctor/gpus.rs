//! `mlk doctor`'s GPU checks: the resources each GPU type's nodes advertise.

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};

use super::{Check, Status, check};
use crate::cluster::{Cluster, ClusterError, retry};
use crate::domain::GpuSharing;
use crate::resolve::AdminPlan;

/// For each GPU type, the resources its sharing mode requests, on nodes its node selector
/// picks; without types, `nvidia.com/gpu` anywhere (only GPU steps need it).
pub(super) async fn gpus(cluster: &Cluster, plan: &AdminPlan, out: &mut Vec<Check>) {
    if plan.sharing == GpuSharing::Dra {
        return; // DRA GPUs are devices of DeviceClasses, not node resources
    }
    let api: Api<Node> = Api::all(cluster.client());
    let params = ListParams::default();
    let nodes = match retry(|| api.list(&params)).await {
        Ok(list) => list.items,
        Err(e) => {
            let mut c = check(
                "gpu",
                "GPU resources of nodes",
                Status::Unknown,
                format!(
                    "cannot list nodes: {}",
                    ClusterError::from_kube(&e, "listing nodes", cluster)
                ),
            );
            c.required = false;
            out.push(c);
            return;
        }
    };
    // Nodes that advertise `resource` and match `selector`: (ready and schedulable, others).
    let advertised = |selector: &std::collections::BTreeMap<String, String>, resource: &str| {
        let matching = nodes.iter().filter(|n| {
            let labels = n.metadata.labels.clone().unwrap_or_default();
            selector.iter().all(|(k, v)| labels.get(k) == Some(v))
                && n.status
                    .as_ref()
                    .and_then(|s| s.allocatable.as_ref())
                    .and_then(|a| a.get(resource))
                    .is_some_and(|q| q.0 != "0")
        });
        let (usable, other): (Vec<&Node>, Vec<&Node>) = matching.partition(|n| usable(n));
        (usable.len(), other.len())
    };
    let wanted: Vec<(
        String,
        std::collections::BTreeMap<String, String>,
        String,
        bool,
    )> = if plan.flavors.is_empty() {
        vec![(
            "any GPU".into(),
            Default::default(),
            crate::resolve::NVIDIA_GPU.into(),
            false,
        )]
    } else {
        plan.flavors
            .iter()
            .flat_map(|f| {
                f.per_device
                    .keys()
                    .filter(|r| {
                        // MIG nodes advertise their instances; time-sliced ones the shared resource.
                        let mig_or_shared = f.per_device.len() > 1;
                        !(mig_or_shared && r.as_str() == crate::resolve::NVIDIA_GPU)
                    })
                    .map(|r| (f.name.clone(), f.node_labels.clone(), r.clone(), true))
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    for (name, selector, resource, required) in wanted {
        let (n, unusable) = advertised(&selector, &resource);
        let others = if unusable > 0 {
            format!(" ({unusable} more not ready or cordoned)")
        } else {
            String::new()
        };
        let mut c = check(
            "gpu",
            format!("{name}: {resource}"),
            Status::Ok,
            format!("{n} node(s) advertise it{others}"),
        );
        c.required = required;
        if n == 0 && unusable > 0 {
            c.status = Status::Missing;
            c.detail =
                format!("{unusable} node(s) advertise it, but none is ready and schedulable");
            c.fix = Some("check the GPU nodes (kubectl get nodes; kubectl describe node NAME): a node that is NotReady or cordoned runs no step".into());
        } else if n == 0 {
            c.status = Status::Missing;
            c.detail = if selector.is_empty() {
                "no node advertises it".into()
            } else {
                format!(
                    "no node labelled {} advertises it",
                    selector
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            };
            c.fix = Some(match plan.sharing {
                GpuSharing::Mig => "configure MIG on the type's nodes (NVIDIA GPU operator, mig.strategy=mixed) with this profile".into(),
                GpuSharing::TimeSlicing => "configure the NVIDIA device plugin's time-slicing with renameByDefault so nodes advertise this resource".into(),
                _ => "install the NVIDIA GPU operator (or device plugin) on the GPU nodes, and check the type's node_selector matches their labels".into(),
            });
        }
        out.push(c);
    }
}

/// Whether pods can be scheduled on `node`: its Ready condition is True and it is not
/// cordoned.
fn usable(node: &Node) -> bool {
    let cordoned = node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    ready && !cordoned
}
