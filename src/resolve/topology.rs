//! Topology placement (`placement = { level = "nvlink", mode = "required" }`): the merged
//! placement, checked against the stack's `[topology]` levels and its scheduler, resolved to
//! the level's node label. `render` turns it into Kueue's pod-set annotations or KAI's
//! workload annotations; `mlk stack render` emits the Topology object (`render::topology`).

use serde::Serialize;

use super::settings::Settings;
use super::{Cx, ResolveError};
use crate::diag::did_you_mean;
use crate::domain::{SchedulerKind, StepKind, TopologyMode};
use crate::load::StackFile;

/// Where a step's pods go in the cluster's topology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopologyPlacement {
    /// The Topology object's name.
    pub topology: String,
    /// The level's name in the stack.
    pub level: String,
    /// The level's node label.
    pub node_label: String,
    /// Required or preferred.
    pub mode: TopologyMode,
}

/// The name of the stack's Topology object: `[topology] name`, else the stack's name.
pub(crate) fn topology_name(stack: &StackFile) -> Option<String> {
    let t = stack.topology.as_ref()?.get_ref();
    Some(
        t.name
            .as_ref()
            .map_or_else(|| stack.name.get_ref().clone(), |n| n.get_ref().clone()),
    )
}

/// The step's placement, or `None` when it asks for none or asks for one the stack cannot
/// give (reported).
pub(super) fn placement(
    cx: &mut Cx<'_>,
    set: &Settings<'_>,
    step: &str,
    kind: StepKind,
    queued: bool,
) -> Option<TopologyPlacement> {
    let p = set.topology.as_ref()?;
    let stack = &cx.l.stack;
    let Some(topology) = &stack.topology else {
        cx.at(
            p.file,
            ResolveError::NoTopology {
                at: p.span.clone().into(),
            },
        );
        return None;
    };
    // A [topology] the scheduler cannot use is reported once, on the stack (`stack::check`).
    if stack.scheduler.kind == SchedulerKind::Default {
        return None;
    }
    let levels = &topology.get_ref().levels;
    let wanted = p.value.level.get_ref();
    let Some(level) = levels.iter().find(|l| l.get_ref().name.get_ref() == wanted) else {
        let names: Vec<&str> = levels
            .iter()
            .map(|l| l.get_ref().name.get_ref().as_str())
            .collect();
        let list = format!("levels of this stack, widest first: {}", names.join(", "));
        let help = match did_you_mean(wanted, names.iter().copied()) {
            Some(m) => format!("did you mean `{m}`? ({list})"),
            None => list,
        };
        let e = ResolveError::UnknownTopologyLevel {
            name: wanted.clone(),
            help,
            at: p.value.level.span().into(),
        };
        cx.at(p.file, e);
        return None;
    };
    if stack.scheduler.kind == SchedulerKind::Kueue {
        let why = if kind == StepKind::Serve {
            Some("serve steps are not queued")
        } else if !queued {
            Some("the step has no queue")
        } else {
            None
        };
        // A placement every step inherits from the stack's [defaults] skips what Kueue does
        // not admit; one written in the pipeline is a mistake worth reporting.
        if why.is_some() && p.file == cx.l.stack_file {
            return None;
        }
        if let Some(why) = why {
            let e = ResolveError::TopologyKueue {
                step: step.into(),
                why,
                at: p.span.clone().into(),
            };
            cx.at(p.file, e);
            return None;
        }
    }
    let level = level.get_ref();
    Some(TopologyPlacement {
        topology: topology_name(stack)?,
        level: level.name.get_ref().clone(),
        node_label: level.node_label.get_ref().clone(),
        mode: p.value.mode,
    })
}

/// The stack's Topology for `mlk stack render`: its name and levels (name, node label).
pub(super) fn admin(stack: &StackFile) -> Option<(String, Vec<(String, String)>)> {
    let levels = stack.topology.as_ref()?.get_ref().levels.iter();
    let levels = levels
        .map(|l| {
            let l = l.get_ref();
            (l.name.get_ref().clone(), l.node_label.get_ref().clone())
        })
        .collect();
    Some((topology_name(stack)?, levels))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::domain::TopologyMode;
    use crate::resolve::testing::{error_codes, resolve_texts};

    fn stack(kind: &str, defaults: &str) -> String {
        format!(
            r#"
[stack]
name = "s"
namespace = "ml"
[artifacts]
uri = "s3://b/m"
[scheduler]
kind = "{kind}"
queue = "q"
[queues.q]
quota = {{ gpu = 16 }}
[gpu.types.h100]
memory = "80Gi"
product = "NVIDIA H100 80GB HBM3"
node_selector = {{ "nvidia.com/gpu.product" = "NVIDIA-H100-80GB-HBM3" }}
[topology]
levels = [
  {{ name = "rack", node_label = "example.com/rack" }},
  {{ name = "nvlink", node_label = "nvidia.com/gpu.clique" }},
  {{ name = "host", node_label = "kubernetes.io/hostname" }},
]
[defaults]
{defaults}
"#
        )
    }

    fn pipeline(step: &str) -> String {
        format!(
            "[pipeline]\nname = \"p\"\n[steps.s]\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\nkind = \"pytorch\"\nreplicas = 2\nresources = {{ gpu = 4 }}\n{step}\n[steps.web]\nkind = \"serve\"\nmodel = {{ uri = \"s3://b/m\", format = \"sklearn\" }}\n"
        )
    }

    #[test]
    fn a_step_placement_names_the_level_and_its_node_label() {
        for kind in ["kueue", "kai"] {
            let plan = resolve_texts(
                &stack(kind, ""),
                &pipeline("placement = { level = \"nvlink\" }"),
            )
            .unwrap();
            let p = plan.steps.iter().find(|s| s.name == "s").unwrap();
            let p = p.placement.as_ref().unwrap();
            assert_eq!(p.node_label, "nvidia.com/gpu.clique");
            assert_eq!(p.mode, TopologyMode::Required);
            assert_eq!(p.topology, "s");
        }
    }

    #[test]
    fn the_stack_default_skips_what_kueue_does_not_admit() {
        let defaults = "placement = { level = \"rack\", mode = \"preferred\" }";
        let plan = resolve_texts(&stack("kueue", defaults), &pipeline("")).unwrap();
        let by = |n: &str| plan.steps.iter().find(|s| s.name == n).unwrap();
        assert_eq!(
            by("s").placement.as_ref().unwrap().mode,
            TopologyMode::Preferred
        );
        assert!(by("web").placement.is_none());
        // KAI places serve steps too.
        let plan = resolve_texts(&stack("kai", defaults), &pipeline("")).unwrap();
        let web = plan.steps.iter().find(|s| s.name == "web").unwrap();
        assert_eq!(web.placement.as_ref().unwrap().level, "rack");
    }

    /// The GPU matrix, extended: in every sharing mode on both schedulers that place by
    /// topology, a placement leaves the GPU request's compilation as it is, for whole,
    /// typed, fractional and multi-replica requests.
    #[test]
    fn placement_leaves_every_gpu_shape_as_it_compiles_without_one() {
        let shapes = [
            ("job", 1, "{ gpu = 4 }"),
            ("job", 1, "{ gpu = 4, gpu_type = \"h100\" }"),
            ("job", 1, "{ gpu = 0.5 }"),
            ("job", 1, "{ gpu_memory = \"20Gi\" }"),
            ("pytorch", 2, "{ gpu = 8 }"),
        ];
        let (mut placed, mut refused) = (0, 0);
        for scheduler in ["kueue", "kai"] {
            for sharing in ["none", "kai", "mig", "time-slicing", "dra"] {
                if sharing == "kai" && scheduler != "kai" {
                    continue;
                }
                let stack = stack(scheduler, "").replace(
                    "[gpu.types.h100]",
                    &format!(
                        "[gpu]\nsharing = \"{sharing}\"\ndefault_type = \"h100\"\n[gpu.types.h100]"
                    ),
                );
                for (kind, replicas, resources) in shapes {
                    let step = |placement: &str| {
                        format!(
                            "[pipeline]\nname = \"p\"\n[steps.s]\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\nkind = \"{kind}\"\nreplicas = {replicas}\nresources = {resources}\n{placement}\n"
                        )
                    };
                    let at = format!("{scheduler}/{sharing}/{kind}/{resources}");
                    let without = resolve_texts(&stack, &step(""));
                    let with = resolve_texts(&stack, &step("placement = { level = \"nvlink\" }"));
                    match (without, with) {
                        (Ok(a), Ok(b)) => {
                            let (a, b) = (&a.steps[0], &b.steps[0]);
                            assert_eq!(format!("{:?}", a.gpu), format!("{:?}", b.gpu), "{at}");
                            assert_eq!(a.resources.limits, b.resources.limits, "{at}");
                            assert!(a.placement.is_none(), "{at}");
                            let p = b.placement.as_ref().unwrap();
                            assert_eq!(p.node_label, "nvidia.com/gpu.clique", "{at}");
                            placed += 1;
                        }
                        // An impossible request stays impossible, with the same errors.
                        (Err(a), Err(b)) => {
                            assert_eq!(error_codes(&a), error_codes(&b), "{at}");
                            refused += 1;
                        }
                        (a, b) => panic!("{at}: {:?} vs {:?}", a.is_ok(), b.is_ok()),
                    }
                }
            }
        }
        // 9 stacks × 5 shapes: only `none` refuses the fraction and the memory request.
        assert_eq!((placed, refused), (41, 4));
    }

    #[test]
    fn impossible_placements_are_errors() {
        let e = resolve_texts(
            &stack("kueue", ""),
            &pipeline("placement = { level = \"nvlnk\" }"),
        )
        .unwrap_err();
        assert_eq!(error_codes(&e), ["mlk::resolve::topology_level"]);
        let e = resolve_texts(&stack("default", ""), &pipeline("")).unwrap_err();
        assert_eq!(error_codes(&e), ["mlk::resolve::topology_scheduler"]);
        let no_flavor = stack("kueue", "").replace("node_selector", "# node_selector");
        let e = resolve_texts(&no_flavor, &pipeline("")).unwrap_err();
        assert_eq!(error_codes(&e), ["mlk::resolve::topology_flavor"]);
        // KAI places by node labels alone.
        let no_labels = stack("kai", "").replace("node_selector", "# node_selector");
        assert!(resolve_texts(&no_labels, &pipeline("")).is_ok());
        let serve = "[pipeline]\nname = \"p\"\n[steps.web]\nkind = \"serve\"\nmodel = { uri = \"s3://b/m\", format = \"sklearn\" }\nplacement = { level = \"rack\" }\n";
        let e = resolve_texts(&stack("kueue", ""), serve).unwrap_err();
        assert_eq!(error_codes(&e), ["mlk::resolve::topology_kueue"]);
    }
}
