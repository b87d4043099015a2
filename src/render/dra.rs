//! DRA device claims of a step on a `[gpu] sharing = "dra"` stack: the ResourceClaimTemplate's
//! `devices` (DeviceClass, count, CEL selectors on the driver's `productName` and MIG `profile`
//! attributes, the driver's `GpuConfig` sharing strategy), and how pods reference the claim
//! (`spec.resourceClaims` and the container's `resources.claims`).

use serde_json::{Value, json};

use crate::resolve::{Gpu, Step};

/// The name of the claim inside the pod and of the request inside the claim.
const CLAIM: &str = "gpu";

/// The DRA driver's name, which is also the domain of its device attributes.
const DRIVER: &str = "gpu.nvidia.com";

/// The driver's API group and version of `GpuConfig`.
const CONFIG_API: &str = "resource.nvidia.com/v1beta1";

/// The ResourceClaimTemplate's name: the step's object name and `-gpu`.
pub(super) fn template_name(step: &Step) -> String {
    format!("{}-{CLAIM}", step.object_name)
}

/// `spec.spec.devices` of the step's ResourceClaimTemplate, if its GPUs are claimed.
pub(super) fn devices(step: &Step) -> Option<Value> {
    let Gpu::Dra {
        device_class,
        count,
        product,
        profile,
        sharing,
        ..
    } = &step.gpu
    else {
        return None;
    };
    let mut selectors = Vec::new();
    for (attribute, value) in [("productName", product), ("profile", profile)] {
        if let Some(v) = value {
            // A JSON string is a valid CEL string literal (same quotes and escapes).
            let literal = Value::String(v.clone()).to_string();
            let expression = format!("device.attributes['{DRIVER}'].{attribute} == {literal}");
            selectors.push(json!({ "cel": { "expression": expression } }));
        }
    }
    let mut exactly = serde_json::Map::new();
    exactly.insert("deviceClassName".into(), device_class.clone().into());
    exactly.insert("count".into(), (*count).into());
    if !selectors.is_empty() {
        exactly.insert("selectors".into(), selectors.into());
    }
    let mut devices = serde_json::Map::new();
    devices.insert(
        "requests".into(),
        json!([{ "name": CLAIM, "exactly": exactly }]),
    );
    if let Some(strategy) = sharing {
        let parameters = json!({
            "apiVersion": CONFIG_API,
            "kind": "GpuConfig",
            "sharing": { "strategy": strategy },
        });
        devices.insert(
            "config".into(),
            json!([{ "requests": [CLAIM], "opaque": { "driver": DRIVER, "parameters": parameters } }]),
        );
    }
    Some(Value::Object(devices))
}

/// The pod's `spec.resourceClaims`, if its GPUs are claimed.
pub(super) fn pod_claims(step: &Step) -> Option<Value> {
    matches!(step.gpu, Gpu::Dra { .. })
        .then(|| json!([{ "name": CLAIM, "resourceClaimTemplateName": template_name(step) }]))
}

/// The container's `resources.claims`, if its GPUs are claimed.
pub(super) fn container_claims(step: &Step) -> Option<Value> {
    matches!(step.gpu, Gpu::Dra { .. }).then(|| json!([{ "name": CLAIM }]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! The claim shapes, one per kind of DRA request.

    use super::*;
    use crate::resolve::testing::resolve_texts;

    /// The first step of a one-step pipeline with `resources` on a DRA stack with `gpu`.
    fn step(gpu: &str, resources: &str) -> Step {
        let stack = format!(
            "[stack]\nname = \"s\"\nnamespace = \"ml\"\n[artifacts]\nuri = \"s3://b/m\"\n[gpu]\nsharing = \"dra\"\n{gpu}\ndefault_type = \"h100\"\n[gpu.types.h100]\nmemory = \"80Gi\"\nproduct = 'NVIDIA \"H100\"'\n"
        );
        let pipeline = format!(
            "[pipeline]\nname = \"p\"\n[steps.s]\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\nresources = {resources}\n"
        );
        let plan = resolve_texts(&stack, &pipeline).unwrap();
        plan.steps.into_iter().next().unwrap()
    }

    #[test]
    fn whole_gpus_are_counted_devices_with_a_product_selector() {
        let s = step("", "{ gpu = 4 }");
        assert_eq!(
            devices(&s).unwrap(),
            json!({ "requests": [{ "name": "gpu", "exactly": {
                "deviceClassName": "gpu.nvidia.com",
                "count": 4,
                "selectors": [{ "cel": { "expression": "device.attributes['gpu.nvidia.com'].productName == \"NVIDIA \\\"H100\\\"\"" } }],
            } }] })
        );
        let name = template_name(&s);
        assert!(name.ends_with("-gpu"), "{name}");
        assert_eq!(
            pod_claims(&s).unwrap(),
            json!([{ "name": "gpu", "resourceClaimTemplateName": name }])
        );
        assert_eq!(container_claims(&s).unwrap(), json!([{ "name": "gpu" }]));
    }

    #[test]
    fn mig_devices_select_their_profile() {
        let d = devices(&step("", "{ gpu_memory = \"20Gi\" }")).unwrap();
        let exactly = &d["requests"][0]["exactly"];
        assert_eq!(exactly["deviceClassName"], "mig.nvidia.com");
        assert_eq!(
            exactly["selectors"][1]["cel"]["expression"],
            "device.attributes['gpu.nvidia.com'].profile == \"1g.20gb\""
        );
        assert!(d.get("config").is_none());
    }

    #[test]
    fn shared_gpus_carry_the_driver_config() {
        for (strategy, name) in [("time-slicing", "TimeSlicing"), ("mps", "MPS")] {
            let d = devices(&step(
                &format!("strategy = \"{strategy}\""),
                "{ gpu = 0.5 }",
            ))
            .unwrap();
            assert_eq!(
                d["requests"][0]["exactly"]["deviceClassName"],
                "gpu.nvidia.com"
            );
            assert_eq!(
                d["config"],
                json!([{ "requests": ["gpu"], "opaque": { "driver": "gpu.nvidia.com", "parameters": {
                    "apiVersion": "resource.nvidia.com/v1beta1",
                    "kind": "GpuConfig",
                    "sharing": { "strategy": name },
                } } }])
            );
        }
    }

    #[test]
    fn steps_without_gpus_have_no_claim() {
        let s = step("", "{ cpu = \"1\" }");
        assert!(devices(&s).is_none() && pod_claims(&s).is_none());
        assert!(container_claims(&s).is_none());
    }
}
