//! Cost estimates (SPEC §2): with `hourly_cost` on GPU types or `gpu_hourly_cost` on the
//! step's `[capacity.NAME]` (which wins: a spot price), and optionally the stack's
//! `[cost] cpu_hourly` / `memory_gib_hourly`, each step's cost is
//! pods × (GPU share × GPU price + cores × CPU price + GiB × memory price) × hours, where hours
//! come from `expected_duration`, else `timeout`. Serve steps run until replaced: not estimated.

use std::collections::BTreeMap;

use serde::Serialize;

use super::plan::Step;
use crate::domain::StepKind;
use crate::load::StackFile;
use crate::quantity::Quantity;

/// The run's estimate: per step and in total.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CostEstimate {
    /// Sum of the steps' totals (steps without a duration count as 0; see `unestimated`).
    pub total: f64,
    /// Per step, by name.
    pub steps: BTreeMap<String, StepCost>,
    /// Steps with prices but neither `expected_duration` nor `timeout`.
    pub unestimated: Vec<String>,
}

/// One step's estimate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StepCost {
    /// Hours the estimate assumes.
    pub hours: Option<f64>,
    /// Whether the hours come from `expected_duration` (else from `timeout`).
    pub from_expected_duration: bool,
    /// Price of all pods for one hour.
    pub hourly: f64,
    /// `hourly × hours`, when there are hours.
    pub total: Option<f64>,
}

/// The estimate, or `None` when the stack sets no price at all.
pub(super) fn estimate(stack: &StackFile, steps: &[Step]) -> Option<CostEstimate> {
    // The capacity's GPU price (a spot price, say), else the GPU type's.
    let gpu_price = |step: &Step| {
        let capacity = step.capacity.as_ref().and_then(|c| stack.capacity.get(c));
        capacity
            .and_then(|c| c.get_ref().gpu_hourly_cost)
            .or_else(|| {
                let t = step.gpu.gpu_type()?;
                stack.gpu.types.get(t)?.get_ref().hourly_cost
            })
    };
    let priced = stack
        .gpu
        .types
        .values()
        .any(|t| t.get_ref().hourly_cost.is_some())
        || stack
            .capacity
            .values()
            .any(|c| c.get_ref().gpu_hourly_cost.is_some())
        || stack.cost.cpu_hourly.is_some()
        || stack.cost.memory_gib_hourly.is_some();
    if !priced {
        return None;
    }
    let amount = |step: &Step, res: &str, per: f64| {
        step.resources
            .requests
            .get(res)
            .and_then(|q| Quantity::parse(q).ok())
            .map(|q| q.nano() as f64 / 1e9 / per)
            .unwrap_or(0.0)
    };
    let mut out = CostEstimate {
        total: 0.0,
        steps: BTreeMap::new(),
        unestimated: Vec::new(),
    };
    for step in steps.iter().filter(|s| s.kind != StepKind::Serve) {
        let per_pod = step.gpu.per_pod() * gpu_price(step).unwrap_or(0.0)
            + amount(step, "cpu", 1.0) * stack.cost.cpu_hourly.unwrap_or(0.0)
            + amount(step, "memory", f64::from(1u32 << 30))
                * stack.cost.memory_gib_hourly.unwrap_or(0.0);
        let hourly = round(per_pod * f64::from(step.replicas));
        let seconds = step.expected_duration_seconds.or(step.timeout_seconds);
        let hours = seconds.map(|s| s as f64 / 3600.0);
        let total = hours.map(|h| round(hourly * h));
        match total {
            Some(t) => out.total += t,
            None => out.unestimated.push(step.name.clone()),
        }
        out.steps.insert(
            step.name.clone(),
            StepCost {
                hours,
                from_expected_duration: step.expected_duration_seconds.is_some(),
                hourly,
                total,
            },
        );
    }
    out.total = round(out.total);
    Some(out)
}

/// To the cent and a bit: no float noise in output.
fn round(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}
