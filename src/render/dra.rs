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
