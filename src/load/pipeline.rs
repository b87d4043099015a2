//! The pipeline file as written (SPEC §1.1).

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Value, json};
use toml::Spanned;
use toml::de::DeValue;

use super::LoadError;
use super::toml::{Cx, Decode, Sp, Table};
use super::values::{check_name, choice, string_map};
use crate::duration::Duration;
use crate::quantity::Quantity;

/// A pipeline file as written.
#[derive(Debug, Clone)]
pub struct PipelineFile {
    /// `[pipeline] name`.
    pub name: Sp<String>,
    /// `[pipeline] description`.
    pub description: Option<String>,
    /// `[pipeline] cache_salt`.
    pub cache_salt: Option<String>,
    /// `[params]`: name → default value.
    pub params: BTreeMap<String, Sp<ParamValue>>,
    /// `[defaults]`.
    pub defaults: StepSettings,
    /// `[steps.*]`, sorted by name.
    pub steps: Vec<StepDef>,
    /// The directory local input paths are relative to.
    pub dir: PathBuf,
}

/// A parameter value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// A string.
    String(String),
    /// An integer.
    Integer(i64),
    /// A float.
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl Decode for ParamValue {
    fn expected() -> String {
        "a string, number or boolean".into()
    }
    fn schema() -> Value {
        json!({ "type": ["string", "number", "boolean"] })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        Some(match v.get_ref() {
            DeValue::String(_) => ParamValue::String(String::decode(v, cx)?),
            DeValue::Integer(_) => ParamValue::Integer(i64::decode(v, cx)?),
            DeValue::Float(_) => ParamValue::Float(f64::decode(v, cx)?),
            DeValue::Boolean(b) => ParamValue::Bool(*b),
            other => {
                cx.error(LoadError::WrongType {
                    expected: Self::expected(),
                    found: super::toml::type_name(other).into(),
                    at: v.span().into(),
                });
                return None;
            }
        })
    }
}

/// Settings a step may take from `[defaults]`.
#[derive(Debug, Clone, Default)]
pub struct StepSettings {
    /// Container image.
    pub image: Option<Sp<String>>,
    /// Environment variables by name.
    pub env: BTreeMap<Sp<String>, Sp<EnvValue>>,
    /// Resource requests.
    pub resources: ResourcesDef,
    /// Expected run time, for cost estimates only.
    pub expected_duration: Option<Sp<Duration>>,
    /// Retries after a failure.
    pub retries: Option<Sp<u32>>,
    /// Deadline for the whole step.
    pub timeout: Option<Sp<Duration>>,
    /// Whether the step may be skipped on a cache hit.
    pub cache: Option<Sp<bool>>,
    /// Maximum age of a usable cache record.
    pub cache_ttl: Option<Sp<Duration>>,
    /// Extra node selector entries.
    pub node_selector: BTreeMap<String, String>,
    /// Extra tolerations.
    pub tolerations: Vec<Toleration>,
    /// Extra labels on the objects and pods.
    pub labels: BTreeMap<String, String>,
    /// Extra annotations on the objects.
    pub annotations: BTreeMap<String, String>,
    /// A priority name from the stack.
    pub priority: Option<Sp<String>>,
    /// A queue name from the stack.
    pub queue: Option<Sp<String>>,
}

/// `resources = { … }` as written.
#[derive(Debug, Clone, Default)]
pub struct ResourcesDef {
    /// CPU request.
    pub cpu: Option<Sp<Quantity>>,
    /// Memory request.
    pub memory: Option<Sp<Quantity>>,
    /// Ephemeral storage request.
    pub ephemeral_storage: Option<Sp<Quantity>>,
    /// GPUs: whole or a fraction.
    pub gpu: Option<Sp<GpuAmount>>,
    /// GPU memory instead of a GPU count.
    pub gpu_memory: Option<Sp<Quantity>>,
    /// A GPU type from the stack's `[gpu.types]`.
    pub gpu_type: Option<Sp<String>>,
    /// Size of the memory-backed `/dev/shm`.
    pub shm: Option<Sp<Quantity>>,
}

/// A GPU request.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum GpuAmount {
    /// Whole devices (0 means none).
    Whole(u32),
    /// A fraction of one device, strictly between 0 and 1.
    Fraction(f64),
}

/// An environment variable's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum EnvValue {
    /// A literal (may be templated).
    Literal(String),
    /// A key of a Secret.
    Secret {
        /// Secret name.
        name: String,
        /// Key in the Secret.
        key: String,
    },
    /// A key of a ConfigMap.
    ConfigMap {
        /// ConfigMap name.
        name: String,
        /// Key in the ConfigMap.
        key: String,
    },
}

/// A Kubernetes toleration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    /// Taint key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `Exists` or `Equal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Taint value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
    /// How long a NoExecute taint is tolerated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

impl Decode for Toleration {
    fn expected() -> String {
        "a toleration table such as { key = \"nvidia.com/gpu\", operator = \"Exists\", effect = \"NoSchedule\" }".into()
    }
    fn schema() -> Value {
        // The keys come from the table `decode` opens (see `load::schema`).
        json!({ "type": "object" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        let mut t = Table::open(v, "a toleration", cx)?;
        let key = t.opt::<String>("key", cx);
        let operator = t
            .raw("operator")
            .and_then(|o| choice(o, &["Exists", "Equal"], cx))
            .map(|s| s.get_ref().to_string());
        let value = t.opt::<String>("value", cx);
        let effect = t
            .raw("effect")
            .and_then(|o| choice(o, &["NoSchedule", "PreferNoSchedule", "NoExecute"], cx))
            .map(|s| s.get_ref().to_string());
        let toleration_seconds = t.opt::<i64>("toleration_seconds", cx);
        t.finish(cx);
        Some(Toleration {
            key,
            operator,
            value,
            effect,
            toleration_seconds,
        })
    }
}

/// The kind of workload a step compiles to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum StepKind {
    /// A batch/v1 Job.
    Job,
    /// A distributed PyTorchJob (or TrainJob).
    Pytorch,
    /// A KServe InferenceService.
    Serve,
}

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
}

/// Reads a whole number in `min..=max`.
pub(super) fn count(v: &Sp<DeValue<'_>>, min: i64, max: i64, cx: &mut Cx) -> Option<Sp<u32>> {
    cx.describe(
        v,
        || json!({ "type": "integer", "minimum": min, "maximum": max }),
    );
    let n = i64::decode(v, cx)?;
    if n < min || n > max {
        cx.error(LoadError::value(
            v.span(),
            "out of range",
            format!("{n} is out of range"),
            format!("use a whole number from {min} to {max}"),
        ));
        return None;
    }
    u32::try_from(n).ok().map(|n| Spanned::new(v.span(), n))
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

fn gpu_amount(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Sp<GpuAmount>> {
    cx.describe(v, || {
        json!({ "anyOf": [
            { "type": "integer", "minimum": 0, "maximum": 1024 },
            { "type": "number", "exclusiveMinimum": 0, "maximum": 1024 },
        ] })
    });
    let amount = match v.get_ref() {
        DeValue::Integer(_) => GpuAmount::Whole(*count(v, 0, 1024, cx)?.get_ref()),
        DeValue::Float(_) => {
            let f = f64::decode(v, cx)?;
            if f > 0.0 && f < 1.0 {
                GpuAmount::Fraction(f)
            } else if f >= 1.0 && f.fract() == 0.0 && f <= 1024.0 {
                GpuAmount::Whole(f as u32)
            } else {
                cx.error(LoadError::value(
                    v.span(),
                    "not a GPU amount",
                    format!("{f} GPUs cannot be requested"),
                    "use a whole number of GPUs (gpu = 2) or a fraction of one GPU between 0 and 1 (gpu = 0.25)",
                ));
                return None;
            }
        }
        _ => {
            cx.error(LoadError::WrongType {
                expected: "a whole number or a fraction between 0 and 1".into(),
                found: super::toml::type_name(v.get_ref()).into(),
                at: v.span().into(),
            });
            return None;
        }
    };
    Some(Spanned::new(v.span(), amount))
}

pub(super) fn resources(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> ResourcesDef {
    let Some(mut t) = Table::open(v, "`resources`", cx) else {
        return ResourcesDef::default();
    };
    let r = ResourcesDef {
        cpu: t.opt("cpu", cx),
        memory: t.opt("memory", cx),
        ephemeral_storage: t.opt("ephemeral_storage", cx),
        gpu: t.raw("gpu").and_then(|g| gpu_amount(g, cx)),
        gpu_memory: t.opt("gpu_memory", cx),
        gpu_type: t.opt("gpu_type", cx),
        shm: t.opt("shm", cx),
    };
    t.finish(cx);
    r
}

/// Whether an environment variable name suggests a credential (SPEC §1.1).
pub fn looks_like_credential(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    n.ends_with("_KEY") || n.ends_with("_TOKEN") || n.ends_with("_SECRET") || n.contains("PASSWORD")
}

fn env(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> BTreeMap<Sp<String>, Sp<EnvValue>> {
    // The values' schemas come from the entries: literal strings and reference tables.
    cx.describe(v, || json!({ "type": "object" }));
    let DeValue::Table(table) = v.get_ref() else {
        cx.error(LoadError::WrongType {
            expected: "a table of environment variables".into(),
            found: super::toml::type_name(v.get_ref()).into(),
            at: v.span().into(),
        });
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    for (k, val) in table.iter() {
        let name = k.get_ref().to_string();
        if name.is_empty() || name.contains('=') || !name.chars().all(|c| c.is_ascii_graphic()) {
            cx.error(LoadError::value(
                k.span(),
                "invalid name",
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits, '_', '-' and '.', without '='",
            ));
            continue;
        }
        let value = match val.get_ref() {
            DeValue::String(s) => {
                cx.describe(val, String::schema);
                if looks_like_credential(&name) && !s.trim().is_empty() && !s.contains("{{") {
                    cx.redact.push(val.span());
                    cx.error(LoadError::LiteralSecret {
                        name: name.clone(),
                        at: k.span().into(),
                    });
                    continue;
                }
                EnvValue::Literal(s.to_string())
            }
            DeValue::Table(_) => {
                let Some(mut t) = Table::open(val, format!("env `{name}`"), cx) else {
                    continue;
                };
                let secret = t.opt::<String>("secret", cx);
                let config_map = t.opt::<String>("config_map", cx);
                let key = t.req::<String>("key", cx);
                t.finish(cx);
                match (secret, config_map, key) {
                    (Some(name), None, Some(key)) => EnvValue::Secret { name, key },
                    (None, Some(name), Some(key)) => EnvValue::ConfigMap { name, key },
                    (Some(_), Some(_), _) | (None, None, _) => {
                        cx.error(LoadError::value(
                            val.span(),
                            "ambiguous reference",
                            format!("env `{name}` must reference exactly one of `secret` or `config_map`"),
                            "write { secret = \"name\", key = \"key\" } or { config_map = \"name\", key = \"key\" }",
                        ));
                        continue;
                    }
                    _ => continue,
                }
            }
            DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
                cx.error(LoadError::WrongType {
                    expected: "a string (environment values are text: quote it)".into(),
                    found: super::toml::type_name(val.get_ref()).into(),
                    at: val.span().into(),
                });
                continue;
            }
            other => {
                cx.error(LoadError::WrongType {
                    expected: "a string or { secret, key } / { config_map, key }".into(),
                    found: super::toml::type_name(other).into(),
                    at: val.span().into(),
                });
                continue;
            }
        };
        out.insert(
            Spanned::new(k.span(), name),
            Spanned::new(val.span(), value),
        );
    }
    out
}

/// Reads the fields shared by `[defaults]` and steps from `t`.
pub(super) fn settings(t: &mut Table<'_, '_>, cx: &mut Cx) -> StepSettings {
    let mut s = StepSettings {
        image: t.opt("image", cx),
        env: t.raw("env").map(|v| env(v, cx)).unwrap_or_default(),
        resources: t
            .raw("resources")
            .map(|v| resources(v, cx))
            .unwrap_or_default(),
        expected_duration: t.opt("expected_duration", cx),
        retries: t.raw("retries").and_then(|v| count(v, 0, 100, cx)),
        timeout: t.opt("timeout", cx),
        cache: t.opt("cache", cx),
        cache_ttl: t.opt("cache_ttl", cx),
        node_selector: t
            .raw("node_selector")
            .and_then(|v| string_map(v, "node selector", true, cx))
            .unwrap_or_default(),
        tolerations: t.opt("tolerations", cx).unwrap_or_default(),
        labels: t
            .raw("labels")
            .and_then(|v| string_map(v, "label", true, cx))
            .unwrap_or_default(),
        annotations: t
            .raw("annotations")
            .and_then(|v| string_map(v, "annotation", false, cx))
            .unwrap_or_default(),
        priority: t.opt("priority", cx),
        queue: t.opt("queue", cx),
    };
    if let Some(image) = &s.image
        && (image.get_ref().trim().is_empty() || image.get_ref().chars().any(char::is_whitespace))
    {
        cx.error(LoadError::value(
            image.span(),
            "invalid image",
            "an image reference cannot be empty or contain spaces",
            "write e.g. image = \"registry.acme.io/team/train:1.4\"",
        ));
        s.image = None;
    }
    s
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
                found: super::toml::type_name(other).into(),
                at: v.span().into(),
            });
            return None;
        }
    };
    Some(Spanned::new(v.span(), def))
}

fn step(name: Sp<String>, v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<StepDef> {
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
    let command = match t.raw("command") {
        Some(c) if matches!(c.get_ref(), DeValue::String(_)) => {
            cx.error(LoadError::value(
                c.span(),
                "a string",
                "`command` is a list of arguments, not one string",
                "split it into a list: command = [\"python\", \"train.py\", \"--epochs\", \"10\"] (or [\"sh\", \"-c\", \"…\"] for a shell line)",
            ));
            None
        }
        Some(c) => {
            cx.describe(c, <Vec<String>>::schema);
            Decode::decode(c, cx)
        }
        None => None,
    };
    let inputs = t
        .entries("inputs", cx)
        .into_iter()
        .filter_map(|(k, v)| input(v, cx).map(|i| (k, i)))
        .collect();
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
    let replicas = t.raw("replicas").and_then(|r| match r.get_ref() {
        DeValue::Table(_) => {
            min_max(r, 0, cx).map(|m| Spanned::new(r.span(), ReplicasDef::Range(*m.get_ref())))
        }
        _ => count(r, 1, 10_000, cx)
            .map(|n| Spanned::new(r.span(), ReplicasDef::Count(*n.get_ref()))),
    });
    let elastic = t.raw("elastic").and_then(|e| min_max(e, 1, cx));
    let nproc_per_node = t.raw("nproc_per_node").and_then(|n| count(n, 1, 1024, cx));
    let model = t.raw("model").and_then(|m| {
        let mut mt = Table::open(m, format!("[steps.{}.model]", name.get_ref()), cx)?;
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
    });
    let autoscale = t.raw("autoscale").and_then(|a| {
        let mut at = Table::open(a, format!("[steps.{}.autoscale]", name.get_ref()), cx)?;
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
    });
    let canary = t.raw("canary").and_then(|c| count(c, 0, 100, cx));
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
    })
}

/// Whether `s` can be used as a template variable name.
pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Decodes a pipeline file's text.
pub(super) fn decode(text: &str, path: &Path) -> (Option<PipelineFile>, Cx) {
    decode_with(text, path, Cx::default())
}

/// [`decode`] with a given context (schema mode passes one with a recorder).
pub(super) fn decode_with(text: &str, path: &Path, mut cx: Cx) -> (Option<PipelineFile>, Cx) {
    let Some(doc) = super::parse(text, &mut cx) else {
        return (None, cx);
    };
    let mut root = Table::root(&doc);

    let (name, description, cache_salt) = match root.table("pipeline", &mut cx) {
        Some(mut p) => {
            let name: Option<Sp<String>> = p.req("name", &mut cx);
            let description = p.opt("description", &mut cx);
            let cache_salt = p.opt("cache_salt", &mut cx);
            p.finish(&mut cx);
            (name, description, cache_salt)
        }
        None => {
            if root.raw("pipeline").is_none() {
                cx.error(LoadError::MissingKey {
                    key: "pipeline",
                    table: "the pipeline file".into(),
                    expected: "a table with at least `name`".into(),
                    at: (0..0).into(),
                });
            }
            (None, None, None)
        }
    };
    if let Some(n) = &name {
        check_name(n, "pipeline name", &mut cx);
    }

    let mut params = BTreeMap::new();
    for (k, v) in root.entries("params", &mut cx) {
        if !is_identifier(k.get_ref()) {
            cx.error(LoadError::value(
                k.span(),
                "invalid parameter name",
                format!(
                    "parameter name `{}` cannot be used in templates",
                    k.get_ref()
                ),
                "use letters, digits and '_', starting with a letter",
            ));
            continue;
        }
        cx.describe(v, ParamValue::schema);
        if let Some(val) = <Sp<ParamValue>>::decode(v, &mut cx) {
            params.insert(k.into_inner(), val);
        }
    }

    let defaults = match root.table("defaults", &mut cx) {
        Some(mut d) => {
            let s = settings(&mut d, &mut cx);
            d.finish(&mut cx);
            s
        }
        None => StepSettings::default(),
    };

    let steps: Vec<StepDef> = root
        .entries("steps", &mut cx)
        .into_iter()
        .filter_map(|(k, v)| step(k, v, &mut cx))
        .collect();
    if steps.is_empty() && root.raw("steps").is_none() {
        cx.error(LoadError::MissingKey {
            key: "steps",
            table: "the pipeline file".into(),
            expected: "at least one [steps.NAME] table".into(),
            at: (0..0).into(),
        });
    }
    root.mark_required("pipeline");
    root.mark_required("steps");
    root.finish(&mut cx);

    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let model = name.map(|name| PipelineFile {
        name,
        description,
        cache_salt,
        params,
        defaults,
        steps,
        dir,
    });
    (model, cx)
}

/// Descriptions of the keys of the pipeline file's JSON Schema, by path (a suffix of the key's
/// dotted path; `*` is an entry of a free-form table, `[]` an array element).
pub(super) const SCHEMA_DOCS: &[(&str, &str)] = &[
    ("pipeline", "The pipeline: its name and description."),
    (
        "pipeline.name",
        "The pipeline's name (a DNS-1123 label); the prefix of every object name.",
    ),
    ("pipeline.description", "Free text."),
    (
        "pipeline.cache_salt",
        "Part of every cache key of this pipeline: change it to run every step again.",
    ),
    (
        "params",
        "Parameter defaults, used in templates as {{ params.NAME }}; override with `-p NAME=VALUE`.",
    ),
    (
        "defaults",
        "Settings applied to every step unless the step sets them.",
    ),
    (
        "steps",
        "The steps, by name (a DNS-1123 label). They form a DAG from `after` and {{ steps.NAME… }} references.",
    ),
    (
        "kind",
        "What the step compiles to: a Job, a PyTorchJob (or TrainJob) or a KServe InferenceService.",
    ),
    (
        "after",
        "Steps that must finish first, in addition to those referenced in templates.",
    ),
    (
        "command",
        "Program and arguments (templated). A list, not one string.",
    ),
    (
        "inputs",
        "What the step reads, for its cache key: a local path (content-hashed), a URI, or { uri, version }.",
    ),
    ("inputs.*.uri", "The input's URI (templated)."),
    (
        "inputs.*.version",
        "An explicit version, part of the input's identity.",
    ),
    (
        "outputs",
        "Output names; each gets the URI {artifacts.uri}/{pipeline}/{step}/{cache_key}/{output}, found as {{ outputs.NAME }}.",
    ),
    (
        "replicas",
        "job/pytorch: the number of pods (pytorch: 1 Master + Workers); serve: { min, max }.",
    ),
    (
        "replicas.min",
        "Fewest replicas; 0 scales a serve step to zero.",
    ),
    ("replicas.max", "Most replicas."),
    (
        "elastic",
        "pytorch: elastic training between min and max nodes.",
    ),
    ("elastic.min", "Fewest nodes."),
    ("elastic.max", "Most nodes."),
    (
        "nproc_per_node",
        "pytorch: processes per node (default: the step's whole-GPU count, or 1).",
    ),
    ("model", "serve: the model to serve."),
    (
        "model.format",
        "Model format name, e.g. pytorch, sklearn, huggingface.",
    ),
    (
        "model.uri",
        "Where the model is (templated), e.g. {{ steps.train.outputs.model }}.",
    ),
    ("model.runtime", "A KServe ServingRuntime to pin."),
    (
        "autoscale",
        "serve: the autoscaling metric and target; the stack's serving mode decides which metrics are legal.",
    ),
    (
        "autoscale.metric",
        "concurrency or rps (Knative mode); cpu or memory (standard mode).",
    ),
    (
        "autoscale.target",
        "Target value of the metric (1-100 for cpu and memory).",
    ),
    (
        "canary",
        "serve: percent of traffic to the new revision (Knative mode only).",
    ),
    (
        "image",
        "Container image. The stack's [policy] may restrict it.",
    ),
    (
        "env",
        "Environment variables: a string, or { secret, key } / { config_map, key }. Credential-looking names need a reference.",
    ),
    ("env.*.secret", "Name of the Secret."),
    ("env.*.config_map", "Name of the ConfigMap."),
    ("env.*.key", "Key in the Secret or ConfigMap."),
    (
        "expected_duration",
        "Expected run time, for cost estimates in `mlk plan` only.",
    ),
    ("retries", "Retries after a failure (backoffLimit)."),
    (
        "timeout",
        "Deadline for the whole step (activeDeadlineSeconds).",
    ),
    (
        "cache",
        "false: always run the step, never reuse a cached result.",
    ),
    ("cache_ttl", "Cache records older than this are misses."),
    ("priority", "A priority name from the stack's [priorities]."),
    ("queue", "A queue name from the stack."),
];

/// Descriptions of keys shared by both files (resources, tolerations, env references).
pub(super) const SHARED_SCHEMA_DOCS: &[(&str, &str)] = &[
    ("resources", "Per-pod resource requests."),
    (
        "resources.cpu",
        "CPU request, a Kubernetes quantity (\"2\", \"500m\").",
    ),
    (
        "resources.memory",
        "Memory request, a Kubernetes quantity (\"4Gi\").",
    ),
    (
        "resources.ephemeral_storage",
        "Ephemeral storage request, a Kubernetes quantity.",
    ),
    (
        "resources.gpu",
        "GPUs: a whole number, or a fraction of one GPU between 0 and 1 (per the stack's GPU sharing mode).",
    ),
    (
        "resources.gpu_memory",
        "GPU memory instead of a GPU count (per the stack's GPU sharing mode).",
    ),
    (
        "resources.gpu_type",
        "A GPU type from the stack's [gpu.types].",
    ),
    ("resources.shm", "Size of a memory-backed /dev/shm."),
    ("node_selector", "Node labels the pods must match."),
    ("tolerations", "Tolerations added to the pods."),
    ("tolerations[].key", "Taint key."),
    ("tolerations[].operator", "Exists or Equal."),
    ("tolerations[].value", "Taint value (with Equal)."),
    (
        "tolerations[].effect",
        "NoSchedule, PreferNoSchedule or NoExecute.",
    ),
    (
        "tolerations[].toleration_seconds",
        "How long a NoExecute taint is tolerated.",
    ),
    ("labels", "Extra labels on the objects and pods."),
    ("annotations", "Extra annotations on the objects."),
];
