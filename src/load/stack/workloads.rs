//! `[serving]` and `[training]`: which APIs serve and distributed steps compile to, and the
//! KServe version the stack declares (it decides whether a standard-mode canary is possible).

use crate::domain::{ServingMode, TrainingApi};
use crate::load::toml::{Cx, Table};
use crate::load::values::choice;

/// `[training]`.
#[derive(Debug, Clone)]
pub struct TrainingDef {
    /// The API.
    pub api: TrainingApi,
    /// The TrainJob runtime (default ClusterTrainingRuntime `torch-distributed`).
    pub runtime: Option<String>,
    /// Where `api` is written (empty when defaulted).
    pub api_span: std::ops::Range<usize>,
}

/// The KServe versions `[serving] kserve` may name, oldest first; the last is the default.
const KSERVE_VERSIONS: &[&str] = &["0.15", "0.16", "0.17", "0.18", "0.19", "0.20"];

/// Reads `[serving]`: the deployment mode and the declared KServe version.
pub(super) fn serving(root: &mut Table<'_, '_>, cx: &mut Cx) -> (ServingMode, &'static str) {
    let newest = KSERVE_VERSIONS[KSERVE_VERSIONS.len() - 1];
    let Some(mut s) = root.table("serving", cx) else {
        return (ServingMode::Standard, newest);
    };
    let mode = s
        .raw("mode")
        .and_then(|m| choice(m, &["standard", "knative"], cx));
    let kserve = s.raw("kserve").and_then(|v| choice(v, KSERVE_VERSIONS, cx));
    s.finish(cx);
    let mode = if mode.is_some_and(|m| *m.get_ref() == "knative") {
        ServingMode::Knative
    } else {
        ServingMode::Standard
    };
    (mode, kserve.map_or(newest, |v| *v.get_ref()))
}

/// Reads `[training]`.
pub(super) fn training(root: &mut Table<'_, '_>, cx: &mut Cx) -> TrainingDef {
    match root.table("training", cx) {
        Some(mut t) => {
            let api = t
                .raw("api")
                .and_then(|a| choice(a, &["pytorchjob", "trainjob"], cx));
            let runtime = t.opt("runtime", cx);
            t.finish(cx);
            let api_span = api.as_ref().map(|a| a.span()).unwrap_or(0..0);
            let api = if api.is_some_and(|a| *a.get_ref() == "trainjob") {
                TrainingApi::Trainjob
            } else {
                TrainingApi::Pytorchjob
            };
            TrainingDef {
                api,
                runtime,
                api_span,
            }
        }
        None => TrainingDef {
            api: TrainingApi::Pytorchjob,
            runtime: None,
            api_span: 0..0,
        },
    }
}
