//! Cache key assembly: what a step's result depends on (SPEC §3), gathered into
//! [`KeyComponents`]. Strings are expanded with outputs and `run.id` left symbolic: their
//! identity is covered by the upstream keys and would otherwise be circular.

use std::collections::BTreeMap;

use super::Cx;
use super::expr::Ref;
use super::scope::{expand, expand_command, scope_value};
use super::settings::Settings;
use super::step::StepCx;
use crate::cache::key::{KEY_FORMAT, KeyComponents, SYMBOLIC_DATE, UpstreamOutput, undated_key};
use crate::domain::EnvValue;
use crate::load::InputDef;

/// The components of a step's cache key.
pub(super) fn components(cx: &mut Cx<'_>, s: &StepCx<'_>, set: &Settings<'_>) -> KeyComponents {
    let l = cx.l;
    let def = s.def;
    let (used_params, upstream, dated) = referenced(s);
    let symbolic = scope_value(
        s.params,
        def.name.get_ref(),
        l.pipeline.name.get_ref(),
        ("<run.id>", SYMBOLIC_DATE),
        super::data::symbolic(s),
    );
    let command = expand_command(cx, s, &symbolic);
    let mut env = BTreeMap::new();
    for (k, (v, span)) in &set.env {
        let text = match v {
            EnvValue::Literal(t) => expand(cx, s.exprs, t, span, &symbolic),
            EnvValue::Secret { name, key } => format!("secret:{name}/{key}"),
            EnvValue::ConfigMap { name, key } => format!("config_map:{name}/{key}"),
        };
        env.insert(k.clone(), text);
    }
    let mut inputs = BTreeMap::new();
    for (k, v) in &def.inputs {
        let identity = match v.get_ref() {
            InputDef::Path(p) => match s.digests.get(&l.pipeline.dir.join(p)) {
                Some(d) => d.clone(),
                None => continue,
            },
            InputDef::Uri { uri, version } => {
                let identity = expand(cx, s.exprs, uri, &v.span(), &symbolic);
                match version {
                    Some(ver) => format!("{identity}#{ver}"),
                    None => identity,
                }
            }
        };
        inputs.insert(k.get_ref().clone(), identity);
    }
    KeyComponents {
        format: KEY_FORMAT,
        salt: l.pipeline.cache_salt.clone(),
        image: set
            .image
            .as_ref()
            .map(|i| i.value.clone())
            .unwrap_or_default(),
        command,
        env,
        params: used_params,
        inputs,
        upstream,
        run_date: dated.then(|| s.run_date.unwrap_or(super::RUN_DATE_PLACEHOLDER).to_owned()),
    }
}

/// The parameters the step's templates use, the upstream outputs they read, and whether the
/// step is dated (`run_date`): it reads `{{ run.date }}` or a dated step's outputs.
fn referenced(
    s: &StepCx<'_>,
) -> (
    BTreeMap<String, serde_json::Value>,
    BTreeMap<String, UpstreamOutput>,
    bool,
) {
    let mut used_params = BTreeMap::new();
    let mut upstream = BTreeMap::new();
    let mut dated = false;
    for r in s.templated.iter().flat_map(|t| &t.refs) {
        match r {
            Ref::Param(Some(p)) => {
                if let Some(v) = s.params.get(p) {
                    used_params.insert(p.clone(), v.clone());
                }
            }
            Ref::Param(None) => {
                used_params.extend(s.params.iter().map(|(k, v)| (k.clone(), v.clone())))
            }
            Ref::Upstream(up, o, _) => {
                if let Some(u) = s.upstream.get(up.as_str()) {
                    let up_dated = u.cache.components.run_date.is_some();
                    dated |= up_dated;
                    upstream.insert(
                        format!("steps.{up}.outputs.{o}"),
                        UpstreamOutput {
                            step: up.clone(),
                            output: o.clone(),
                            key: undated_key(&u.cache.key, up_dated),
                        },
                    );
                }
            }
            Ref::RunDate => dated = true,
            _ => {}
        }
    }
    (used_params, upstream, dated)
}
