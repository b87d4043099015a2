//! Output URIs (`{artifacts}/{pipeline}/{step}/{cache key}/{output}`) and the real expansion
//! of a step's templated strings with them: command, environment, input URIs and a serve
//! step's model URI (addresses), with the local paths `data` decides.

use std::collections::BTreeMap;

use super::data;
use super::expr::{Artifact, StepOutputs};
use super::plan::{Data, Input, StackInfo};
use super::scope::{expand, expand_command, scope_value};
use super::settings::Settings;
use super::step::StepCx;
use super::{Cx, RUN_DATE_PLACEHOLDER, RUN_ID_PLACEHOLDER};
use crate::domain::EnvValue;
use crate::load::InputDef;

/// A step's strings after expansion.
pub(super) struct Expanded {
    /// Output name → URI.
    pub outputs: BTreeMap<String, String>,
    /// Command and arguments.
    pub command: Vec<String>,
    /// Environment.
    pub env: BTreeMap<String, EnvValue>,
    /// Inputs.
    pub inputs: BTreeMap<String, Input>,
    /// A serve step's model URI.
    pub model_uri: Option<String>,
    /// What moves between the store and the step's local paths.
    pub data: Data,
}

/// The URI of each output of a step whose cache key is `key`.
fn uris(s: &StepCx<'_>, stack: &StackInfo, pipeline: &str, key: &str) -> BTreeMap<String, String> {
    let base = match &s.opts.artifacts_root {
        Some(root)
            if !stack.artifacts_uri.contains("://") && !stack.artifacts_uri.starts_with('/') =>
        {
            root.join(&stack.artifacts_uri)
                .to_string_lossy()
                .into_owned()
        }
        _ => stack.artifacts_uri.clone(),
    };
    let name = s.def.name.get_ref();
    s.def
        .outputs
        .iter()
        .map(|o| {
            let o = o.get_ref();
            (o.clone(), format!("{base}/{pipeline}/{name}/{key}/{o}"))
        })
        .collect()
}

/// Expands the step's strings with its outputs, its upstream outputs, its inputs and the
/// run id; decides what moves for it (`data`).
pub(super) fn expand_step(
    cx: &mut Cx<'_>,
    s: &StepCx<'_>,
    set: &Settings<'_>,
    stack: &StackInfo,
    key: &str,
) -> Expanded {
    let l = cx.l;
    let def = s.def;
    let pipeline = l.pipeline.name.get_ref();
    let outputs = uris(s, stack, pipeline, key);
    let run_id = s.opts.run_id.as_deref().unwrap_or(RUN_ID_PLACEHOLDER);
    let run = (run_id, s.run_date.unwrap_or(RUN_DATE_PLACEHOLDER));
    let scope = |artifacts| scope_value(s.params, def.name.get_ref(), pipeline, run, artifacts);
    // Input URIs and a serve step's model URI are addresses: every artifact in them is too.
    let addresses = scope(by_address(s, &outputs));
    let mut inputs = BTreeMap::new();
    for (k, v) in &def.inputs {
        let input = match v.get_ref() {
            InputDef::Path(p) => match s.digests.get(&l.pipeline.dir.join(p)) {
                Some(d) => Input::Path {
                    path: p.clone(),
                    digest: d.clone(),
                },
                None => continue,
            },
            InputDef::Uri { uri, version } => Input::Uri {
                uri: expand(cx, s.exprs, uri, &v.span(), &addresses),
                version: version.clone(),
            },
        };
        inputs.insert(k.get_ref().clone(), input);
    }
    let model_uri = def.model.as_ref().map(|m| {
        let uri = &m.get_ref().uri;
        expand(cx, s.exprs, uri.get_ref(), &uri.span(), &addresses)
    });
    let mover = data::mover(s, stack, pipeline, key);
    let mut artifacts = data::artifacts(cx, s, stack, &mover, &outputs, &inputs);
    let mut moved = std::mem::take(&mut artifacts.data);
    // A dated step whose date only the run knows needs the launcher to fill it in.
    if crate::cache::key::date_left_to_run(key) && matches!(mover, data::Mover::Launcher { .. }) {
        moved.launcher = true;
    }
    let real = scope(artifacts);
    let command = expand_command(cx, s, &real);
    let mut env = BTreeMap::new();
    for (k, (v, span)) in &set.env {
        let v = match v {
            EnvValue::Literal(t) => EnvValue::Literal(expand(cx, s.exprs, t, span, &real)),
            other => other.clone(),
        };
        env.insert(k.clone(), v);
    }
    Expanded {
        outputs,
        command,
        env,
        inputs,
        model_uri,
        data: moved,
    }
}

/// Every artifact of the step as its address, in both forms.
fn by_address(s: &StepCx<'_>, outputs: &BTreeMap<String, String>) -> data::Artifacts {
    let art = |uri: &String| Artifact {
        path: uri.clone(),
        uri: uri.clone(),
    };
    data::Artifacts {
        outputs: outputs.iter().map(|(k, u)| (k.clone(), art(u))).collect(),
        inputs: BTreeMap::new(),
        steps: s
            .upstream
            .iter()
            .map(|(name, up)| {
                let outputs = up
                    .outputs
                    .iter()
                    .map(|(k, u)| (k.clone(), art(u)))
                    .collect();
                ((*name).to_owned(), StepOutputs { outputs })
            })
            .collect(),
        data: Data::default(),
    }
}
