//! Node capacity (`capacity = "spot"`): the merged capacity name, checked against the stack's
//! `[capacity.NAME]`, whose node selector and tolerations join the GPU type's layer of the
//! step's placement. Its GPU price is read by `cost`.

use super::gpu::Placed;
use super::settings::Settings;
use super::{Cx, ResolveError, hint};

/// The step's capacity name, with its node selector and tolerations added to `placed`; `None`
/// when the step names none or names one the stack does not define (reported).
pub(super) fn capacity(cx: &mut Cx<'_>, set: &Settings<'_>, placed: &mut Placed) -> Option<String> {
    let c = set.capacity.as_ref()?;
    let known = &cx.l.stack.capacity;
    let Some(def) = known.get(c.value) else {
        let e = ResolveError::UnknownCapacity {
            name: c.value.clone(),
            help: hint(c.value, known.keys().map(String::as_str), "capacities"),
            at: c.span.clone().into(),
        };
        cx.at(c.file, e);
        return None;
    };
    let def = def.get_ref();
    placed.selector.extend(def.node_selector.clone());
    placed.tolerations.extend(def.tolerations.iter().cloned());
    Some(c.value.clone())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::resolve::testing::{error_codes, resolve_texts};

    const STACK: &str = r#"
[stack]
name = "s"
namespace = "ml"
[artifacts]
uri = "s3://b/m"
[gpu.types.l4]
hourly_cost = 1.0
node_selector = { gpu = "l4" }
[capacity.spot]
node_selector = { "karpenter.sh/capacity-type" = "spot" }
tolerations = [{ key = "spot", operator = "Exists", effect = "NoSchedule" }]
gpu_hourly_cost = 0.25
[capacity.on-demand]
node_selector = { "karpenter.sh/capacity-type" = "on-demand" }
[defaults]
capacity = "spot"
"#;

    fn pipeline(step: &str) -> String {
        format!(
            "[pipeline]\nname = \"p\"\n[steps.s]\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\ntimeout = \"1h\"\nresources = {{ gpu = 4, gpu_type = \"l4\" }}\n{step}\n"
        )
    }

    #[test]
    fn the_stack_default_puts_steps_on_spot_at_the_spot_price() {
        let plan = resolve_texts(STACK, &pipeline("")).unwrap();
        let s = &plan.steps[0];
        assert_eq!(s.capacity.as_deref(), Some("spot"));
        assert_eq!(s.node_selector["karpenter.sh/capacity-type"], "spot");
        assert_eq!(s.node_selector["gpu"], "l4");
        assert!(
            s.tolerations
                .iter()
                .any(|t| t.key.as_deref() == Some("spot"))
        );
        assert_eq!(plan.cost.unwrap().steps["s"].total, Some(1.0));
    }

    #[test]
    fn a_step_overrides_the_capacity_and_pays_the_type_price() {
        let plan = resolve_texts(STACK, &pipeline("capacity = \"on-demand\"")).unwrap();
        let s = &plan.steps[0];
        assert_eq!(s.node_selector["karpenter.sh/capacity-type"], "on-demand");
        assert!(s.tolerations.is_empty());
        assert_eq!(plan.cost.unwrap().steps["s"].total, Some(4.0));
    }

    #[test]
    fn unknown_capacities_are_errors() {
        let e = resolve_texts(STACK, &pipeline("capacity = \"spto\"")).unwrap_err();
        assert_eq!(error_codes(&e), ["mlk::resolve::capacity"]);
    }
}
