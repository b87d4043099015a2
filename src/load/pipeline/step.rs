//! One `[steps.NAME]` table: kind, command, inputs and outputs, replicas, and the serve and
//! pytorch keys.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;
use serde_json::{Value, json};
use toml::Spanned;
use toml::de::DeValue;

use super::settings::{StepSettings, settings};
use super::{count, is_identifier};
use crate::domain::StepKind;
use crate::load::LoadError;
use crate::load::toml::{Cx, Decode, Sp, Table};
use crate::load::values::{check_name, choice};

/// A local path or a URI read by a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputDef {
    /// A file or directory, relative to the pipeline file; content-hashed.
    Path(String),
    /// A remote location; its identity is the URI string plus the optional version.
    Uri {
        /// The URI (may be templated).
        uri: String,
        /// An explicit version (object version, dataset tag).
        version: Option<String>,
    },
}

/// `replicas` as written: a count (job, pytorch) or a range (serve).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicasDef {
    /// A fixed count.
    Count(u32),
    /// `{ min, max }`.
    Range(MinMax),
}

/// `{ min = …, max = … }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinMax {
    /// Lower bound.
    pub min: u32,
    /// Upper bound.
    pub max: u32,
}

/// `model = { format, uri, runtime? }` of a serve step.
#[derive(Debug, Clone)]
pub struct ModelDef {
    /// Model format name (pytorch, sklearn, huggingface, …).
    pub format: Sp<String>,
    /// Where the model is (may be templated).
    pub uri: Sp<String>,
    /// A ServingRuntime to pin.
    pub runtime: Option<Sp<String>>,
}

/// `autoscale = { metric, target }` of a serve step.
#[derive(Debug, Clone)]
pub struct AutoscaleDef {
    /// `concurrency`, `rps`, `cpu` or `memory`.
    pub metric: Sp<&'static str>,
    /// Target value.
    pub target: Sp<u32>,
}

/// One `[steps.NAME]` table as written.
#[derive(Debug, Clone)]
pub struct StepDef {
    /// The step name (the table key).
    pub name: Sp<String>,
    /// The span of the step's table, for errors about the step as a whole.
    pub span: Range<usize>,
    /// `kind`, if written.
    pub kind: Option<Sp<StepKind>>,
    /// Settings that may also come from `[defaults]`.
    pub settings: StepSettings,
    /// Explicit dependencies.
    pub after: Vec<Sp<String>>,
    /// Command and arguments (may be templated).
    pub command: Option<Sp<Vec<Sp<String>>>>,
    /// Named inputs.
    pub inputs: BTreeMap<Sp<String>, Sp<InputDef>>,
    /// Output names.
    pub outputs: Vec<Sp<String>>,
    /// Replica count or range.
    pub replicas: Option<Sp<ReplicasDef>>,
    /// PyTorch elastic range.
    pub elastic: Option<Sp<MinMax>>,
    /// PyTorch processes per node.
    pub nproc_per_node: Option<Sp<u32>>,
    /// Serve: the model.
    pub model: Option<Sp<ModelDef>>,
    /// Serve: autoscaling.
    pub autoscale: Option<Sp<AutoscaleDef>>,
    /// Serve: canary traffic percent.
    pub canary: Option<Sp<u32>>,
    /// PersistentVolumeClaims mounted into the step's containers.
    pub volumes: Vec<Sp<VolumeDef>>,
    /// A directory that survives the step's attempts (`MLK_CHECKPOINT_DIR`).
    pub checkpoint: Option<Sp<String>>,
}

fn min_max(v: &Sp<DeValue<'_>>, min_floor: i64, cx: &mut Cx) -> Option<Sp<MinMax>> {
    let mut t = Table::open(v, "`{ min, max }`", cx)?;
    let min = t.raw("min").map(|m| count(m, min_floor, 10_000, cx));
    let max = t.raw("max").map(|m| count(m, 1, 10_000, cx));
    t.mark_required("min");
    t.mark_required("max");
    t.finish(cx);
    let missing = min.is_none() || max.is_none();
    let (Some(Some(min)), Some(Some(max))) = (min, max) else {
        if missing {
            cx.error(LoadError::value(
                v.span(),
                "incomplete",
                "both `min` and `max` are needed",
                "write { min = 1, max = 4 }",
            ));
        }
        return None;
    };
    if min.get_ref() > max.get_ref() {
        cx.error(LoadError::value(
            v.span(),
            "min > max",
            format!(
                "min ({}) is larger than max ({})",
                min.get_ref(),
                max.get_ref()
            ),
            "swap the two values",
        ));
        return None;
    }
    Some(Spanned::new(
        v.span(),
        MinMax {
            min: *min.get_ref(),
            max: *max.get_ref(),
        },
    ))
}

fn input(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Sp<InputDef>> {
    if let DeValue::String(_) = v.get_ref() {
        cx.describe(v, String::schema);
    }
    let def = match v.get_ref() {
        DeValue::String(s) if s.contains("://") || s.contains("{{") => InputDef::Uri {
            uri: s.to_string(),
            version: None,
        },
        DeValue::String(s) if s.is_empty() => {
            cx.error(LoadError::value(
                v.span(),
                "empty",
                "an input path cannot be empty",
                "write a path relative to the pipeline file, or a URI",
            ));
            return None;
        }
        DeValue::String(s) => InputDef::Path(s.to_string()),
        DeValue::Table(_) => {
            let mut t = Table::open(v, "an input", cx)?;
            let uri = t.req::<String>("uri", cx);
            let version = t.opt::<String>("version", cx);
            t.finish(cx);
            InputDef::Uri { uri: uri?, version }
        }
        other => {
            cx.error(LoadError::WrongType {
                expected: "a path, a URI or { uri, version }".into(),
                found: crate::load::toml::type_name(other).into(),
                at: v.span().into(),
            });
            return None;
        }
    };
    Some(Spanned::new(v.span(), def))
}

pub(super) fn step(name: Sp<String>, v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<StepDef> {
    check_name(&name, "step name", cx);
    let mut t = Table::open(v, format!("[steps.{}]", name.get_ref()), cx)?;
    let kind = t
        .raw("kind")
        .and_then(|k| choice(k, &["job", "pytorch", "serve"], cx))
        .map(|k| {
            let kind = match *k.get_ref() {
                "pytorch" => StepKind::Pytorch,
                "serve" => StepKind::Serve,
                _ => StepKind::Job,
            };
            Spanned::new(k.span(), kind)
        });
    let settings = settings(&mut t, cx);
    let after: Vec<Sp<String>> = t.opt("after", cx).unwrap_or_default();
    let command = t.raw("command").and_then(|c| command(c, cx));
    let inputs = t
        .entries("inputs", cx)
        .into_iter()
        .filter_map(|(k, v)| input(v, cx).map(|i| (k, i)))
        .collect();
    let outputs = outputs(&mut t, cx);
    let replicas = t.raw("replicas").and_then(|r| match r.get_ref() {
        DeValue::Table(_) => {
            min_max(r, 0, cx).map(|m| Spanned::new(r.span(), ReplicasDef::Range(*m.get_ref())))
        }
        _ => count(r, 1, 10_000, cx)
            .map(|n| Spanned::new(r.span(), ReplicasDef::Count(*n.get_ref()))),
    });
    let elastic = t.raw("elastic").and_then(|e| min_max(e, 1, cx));
    let nproc_per_node = t.raw("nproc_per_node").and_then(|n| count(n, 1, 1024, cx));
    let model = t.raw("model").and_then(|m| model(m, name.get_ref(), cx));
    let autoscale = t
        .raw("autoscale")
        .and_then(|a| autoscale(a, name.get_ref(), cx));
    let canary = t.raw("canary").and_then(|c| count(c, 0, 100, cx));
    let volumes: Vec<Sp<VolumeDef>> = t.opt("volumes", cx).unwrap_or_default();
    let checkpoint = t
        .opt::<Sp<String>>("checkpoint", cx)
        .filter(|c| container_path(c, "checkpoint", cx));
    t.finish(cx);
    Some(StepDef {
        name,
        span: v.span(),
        kind,
        settings,
        after,
        command,
        inputs,
        outputs,
        replicas,
        elastic,
        nproc_per_node,
        model,
        autoscale,
        canary,
        volumes,
        checkpoint,
    })
}

/// `volumes = [{ claim, path }]`: one PersistentVolumeClaim mounted at `path`.
#[derive(Debug, Clone)]
pub struct VolumeDef {
    /// The claim's name (it must exist in the stack's namespace).
    pub claim: Sp<String>,
    /// Where the containers see it: an absolute path.
    pub path: Sp<String>,
}

impl Decode for VolumeDef {
    fn expected() -> String {
        "a volume such as { claim = \"training-checkpoints\", path = \"/checkpoints\" }".into()
    }
    fn schema() -> Value {
        // The keys come from the table `decode` opens (see `load::schema`).
        json!({ "type": "object" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        let mut t = Table::open(v, "a volume", cx)?;
        let claim = t.req::<Sp<String>>("claim", cx);
        let path = t.req::<Sp<String>>("path", cx);
        t.finish(cx);
        let claim = claim?;
        if !crate::names::is_dns1123_subdomain(claim.get_ref()) {
            cx.error(LoadError::value(
                claim.span(),
                "invalid claim name",
                format!("\"{}\" is not a valid PersistentVolumeClaim name", claim.get_ref()),
                "a claim name is lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
            ));
            return None;
        }
        let path = path.filter(|p| container_path(p, "volume path", cx))?;
        Some(VolumeDef { claim, path })
    }
}

/// Whether `p` is an absolute, normalized container path other than `/` (no `.` or `..`
/// parts, no trailing `/`); reports it if not.
fn container_path(p: &Sp<String>, what: &str, cx: &mut Cx) -> bool {
    let s = p.get_ref();
    let parts_ok = s.strip_prefix('/').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != "..")
    });
    if !parts_ok {
        cx.error(LoadError::value(
            p.span(),
            "not an absolute path",
            format!("{what} \"{s}\" is not an absolute path below /"),
            "write an absolute path such as \"/checkpoints/run\", without `.`, `..`, `//` or a trailing `/`",
        ));
    }
    parts_ok
}

/// `command`: a list of arguments; one string is an error that says how to split it.
fn command(c: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Sp<Vec<Sp<String>>>> {
    if matches!(c.get_ref(), DeValue::String(_)) {
        cx.error(LoadError::value(
            c.span(),
            "a string",
            "`command` is a list of arguments, not one string",
            "split it into a list: command = [\"python\", \"train.py\", \"--epochs\", \"10\"] (or [\"sh\", \"-c\", \"…\"] for a shell line)",
        ));
        return None;
    }
    cx.describe(c, <Vec<String>>::schema);
    let command: Sp<Vec<Sp<String>>> = Decode::decode(c, cx)?;
    if command.get_ref().is_empty() {
        cx.error(LoadError::value(
            c.span(),
            "empty command",
            "`command` is an empty list",
            "name the program and its arguments: command = [\"python\", \"train.py\"]; remove the key on a serve step",
        ));
        return None;
    }
    Some(command)
}

/// `outputs`: names templates can use.
fn outputs(t: &mut Table<'_, '_>, cx: &mut Cx) -> Vec<Sp<String>> {
    let outputs: Vec<Sp<String>> = t.opt("outputs", cx).unwrap_or_default();
    for o in &outputs {
        if !is_identifier(o.get_ref()) {
            cx.error(LoadError::value(
                o.span(),
                "invalid output name",
                format!(
                    "output name \"{}\" cannot be used in templates",
                    o.get_ref()
                ),
                "use letters, digits and '_', starting with a letter: outputs = [\"model\"]",
            ));
        }
    }
    outputs
}

/// A serve step's `model = { format, uri, runtime? }`.
fn model(m: &Sp<DeValue<'_>>, step: &str, cx: &mut Cx) -> Option<Sp<ModelDef>> {
    let mut mt = Table::open(m, format!("[steps.{step}.model]"), cx)?;
    let format = mt.req("format", cx);
    let uri = mt.req("uri", cx);
    let runtime = mt.opt("runtime", cx);
    mt.finish(cx);
    Some(Spanned::new(
        m.span(),
        ModelDef {
            format: format?,
            uri: uri?,
            runtime,
        },
    ))
}

/// A serve step's `autoscale = { metric, target }`.
fn autoscale(a: &Sp<DeValue<'_>>, step: &str, cx: &mut Cx) -> Option<Sp<AutoscaleDef>> {
    let mut at = Table::open(a, format!("[steps.{step}.autoscale]"), cx)?;
    let metric = at
        .raw("metric")
        .and_then(|m| choice(m, &["concurrency", "rps", "cpu", "memory"], cx));
    let target = at.raw("target").and_then(|n| count(n, 1, 1_000_000, cx));
    if at.raw("metric").is_none() || at.raw("target").is_none() {
        cx.error(LoadError::value(
            a.span(),
            "incomplete",
            "`autoscale` needs `metric` and `target`",
            "write autoscale = { metric = \"concurrency\", target = 80 }",
        ));
    }
    at.mark_required("metric");
    at.mark_required("target");
    at.finish(cx);
    Some(Spanned::new(
        a.span(),
        AutoscaleDef {
            metric: metric?,
            target: target?,
        },
    ))
}
