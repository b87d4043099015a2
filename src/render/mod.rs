//! Rendering: plan → canonical Kubernetes YAML.
//!
//! One minijinja template per kind (`templates/`, embedded in the binary, overridable per
//! file through a stack's `templates_dir`: [`Templates`], which also checks what an override
//! renders). Values reach templates JSON-escaped, so any string
//! is a safe YAML scalar. Every rendered document is parsed back and re-emitted canonically by
//! [`yaml`]: keys sorted, null fields dropped, quoting safe for YAML 1.1 and 1.2 readers, so
//! template whitespace and formatting never reach the output.

pub(crate) mod admin;
mod block_json;
mod dra;
pub(crate) mod engine;
pub(crate) mod launcher;
mod pod;
mod templates;
mod tenant;
mod topology;
mod trainjob;
pub(crate) mod yaml;

use miette::{Diagnostic, NamedSource, SourceSpan};
use minijinja::context;
use minijinja::value::Serde;
use serde::Deserialize;
use thiserror::Error;

pub(crate) use templates::Templates;
use templates::parse_step_documents;

use crate::domain::StepKind;
use crate::resolve::{Plan, Step};

/// The built-in templates, by file name.
pub(crate) const BUILTIN_TEMPLATES: &[(&str, &str)] = &[
    ("job.yaml", include_str!("../../templates/job.yaml")),
    (
        "pytorchjob.yaml",
        include_str!("../../templates/pytorchjob.yaml"),
    ),
    (
        "inferenceservice.yaml",
        include_str!("../../templates/inferenceservice.yaml"),
    ),
    (
        "networkpolicy.yaml",
        include_str!("../../templates/networkpolicy.yaml"),
    ),
    (
        "trainjob.yaml",
        include_str!("../../templates/trainjob.yaml"),
    ),
    (
        "resourceclaimtemplate.yaml",
        include_str!("../../templates/resourceclaimtemplate.yaml"),
    ),
];

/// A problem while rendering (boxed: it carries template sources, and results stay small).
#[derive(Debug, Error, Diagnostic)]
#[error(transparent)]
#[diagnostic(transparent)]
pub(crate) struct RenderError(Box<RenderErrorKind>);

impl From<RenderErrorKind> for RenderError {
    fn from(k: RenderErrorKind) -> Self {
        RenderError(Box::new(k))
    }
}

/// The kinds of [`RenderError`].
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum RenderErrorKind {
    /// A template failed to parse or render.
    #[error("template {name}: {message}")]
    #[diagnostic(code(mlk::render::template), help("{help}"))]
    Template {
        /// Template file name.
        name: String,
        /// minijinja's message.
        message: String,
        /// How to fix it.
        help: String,
        /// The template.
        #[source_code]
        src: NamedSource<String>,
        /// Where.
        #[label("here")]
        at: Option<SourceSpan>,
    },

    /// A template produced text that is not valid YAML, or not a Kubernetes object.
    #[error("template {name} produced invalid YAML for step `{step}`: {message}")]
    #[diagnostic(
        code(mlk::render::yaml),
        help(
            "check the template's indentation; values are inserted as JSON, so write `key: {{{{ value }}}}` without quotes"
        )
    )]
    Yaml {
        /// Template file name.
        name: String,
        /// The step.
        step: String,
        /// The parser's message.
        message: String,
    },

    /// A template rendered no object for a step.
    #[error("template {name} rendered no object for step `{step}`")]
    #[diagnostic(
        code(mlk::render::empty),
        help(
            "a template must produce the step's object; delete the override to use the built-in one"
        )
    )]
    Empty {
        /// Template file name.
        name: String,
        /// The step.
        step: String,
    },

    /// A template produced a field that gives pods access to the host.
    #[error("template {name} sets `{field}` for step `{step}`, which mlk never emits")]
    #[diagnostic(
        code(mlk::render::host_access),
        help(
            "mlk never emits privileged, hostPath, hostNetwork, hostPID or hostIPC; remove it from the override (a cluster admission policy is the place for exceptions)"
        )
    )]
    HostAccess {
        /// Template file name.
        name: String,
        /// The step.
        step: String,
        /// The field.
        field: String,
    },

    /// A template override directory could not be read.
    #[error("cannot read template override {path}: {message}")]
    #[diagnostic(code(mlk::render::io), help("check the stack's templates_dir"))]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        message: String,
    },
}

/// One rendered Kubernetes object.
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    /// `apiVersion`.
    pub api_version: String,
    /// `kind`.
    pub kind: String,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`, if namespaced.
    pub namespace: Option<String>,
    /// The step it was rendered for.
    pub step: Option<String>,
    /// Canonical YAML of this one document (ends with a newline, no `---`).
    pub yaml: String,
}

impl Manifest {
    /// `<kind>-<name>.yaml` in lower case, the file name of `render -o DIR`.
    pub(crate) fn file_name(&self) -> String {
        format!("{}-{}.yaml", self.kind, self.name).to_lowercase()
    }
}

/// Apply order of kinds: cluster-wide admin objects first, then accounts and policies, then
/// workloads, then the workflows that create workloads.
pub(crate) fn kind_rank(kind: &str) -> u32 {
    match kind {
        "Namespace" => 0,
        "ResourceQuota" => 1,
        "LimitRange" => 2,
        "ServiceAccount" => 3,
        "ClusterRole" => 4,
        "Role" => 5,
        "ClusterRoleBinding" => 6,
        "RoleBinding" => 7,
        "PriorityClass" => 8,
        "WorkloadPriorityClass" => 9,
        "Topology" => 10,
        "ResourceFlavor" => 11,
        "ClusterQueue" => 12,
        "Queue" => 13,
        "LocalQueue" => 14,
        "ConfigMap" => 15,
        "NetworkPolicy" => 16,
        "ResourceClaimTemplate" => 17,
        "Job" => 18,
        "PyTorchJob" => 19,
        "TrainJob" => 20,
        "InferenceService" => 21,
        "WorkflowTemplate" => 22,
        "CronWorkflow" => 23,
        _ => 30,
    }
}

/// Sorts manifests by (kind order, namespace, name).
pub(crate) fn sort(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| {
        (kind_rank(&a.kind), &a.kind, &a.namespace, &a.name).cmp(&(
            kind_rank(&b.kind),
            &b.kind,
            &b.namespace,
            &b.name,
        ))
    });
}

/// All manifests as one `---`-separated stream, in pieces, for writing without building the
/// whole stream.
pub(crate) fn stream_parts(manifests: &[Manifest]) -> impl Iterator<Item = &str> {
    manifests.iter().enumerate().flat_map(|(i, m)| {
        let separator = if i > 0 { "---\n" } else { "" };
        [separator, m.yaml.as_str()]
    })
}

/// Renders every step of a plan; `run_id` adds the `mlk.dev/run` label.
pub(crate) fn render(
    plan: &Plan,
    templates: &Templates,
    run_id: Option<&str>,
) -> Result<Vec<Manifest>, RenderError> {
    // Steps render independently: large plans are split across CPUs (see `threads`).
    let parts = crate::threads::map_chunks(&plan.steps, MIN_STEPS_PER_THREAD, |steps| {
        let mut out = Vec::with_capacity(steps.len());
        for step in steps {
            render_step(plan, step, templates, run_id, &mut out)?;
        }
        Ok::<_, RenderError>(out)
    });
    let mut out = Vec::with_capacity(plan.steps.len());
    for part in parts {
        out.extend(part?);
    }
    sort(&mut out);
    Ok(out)
}

/// Fewest steps worth a thread of their own: below this, starting it costs more than it saves.
const MIN_STEPS_PER_THREAD: usize = 32;

fn render_step(
    plan: &Plan,
    step: &Step,
    t: &Templates,
    run_id: Option<&str>,
    out: &mut Vec<Manifest>,
) -> Result<(), RenderError> {
    let meta = pod::object_meta(plan, step, run_id);
    let suspend = pod::suspended(plan, step);
    let (name, ctx) = match step.kind {
        StepKind::Job => (
            "job.yaml",
            context! { step => Serde(step), meta => Serde(meta), suspend, pod => Serde(pod::pod_template(plan, step, "main", run_id)) },
        ),
        StepKind::Pytorch if plan.stack.training_api == crate::domain::TrainingApi::Trainjob => (
            "trainjob.yaml",
            context! { step => Serde(step), meta => Serde(meta), suspend, runtime => plan.stack.training_runtime.clone(), trainer => Serde(trainjob::trainer(plan, step)), pod => Serde(trainjob::pod_patch(plan, step, run_id)), jobset_annotations => Serde(trainjob::jobset_annotations(plan, step)) },
        ),
        StepKind::Pytorch => (
            "pytorchjob.yaml",
            context! { step => Serde(step), meta => Serde(meta), suspend, pod => Serde(pod::pod_template(plan, step, "pytorch", run_id)) },
        ),
        StepKind::Serve => (
            "inferenceservice.yaml",
            context! { step => Serde(step), meta => Serde(meta), predictor => Serde(pod::predictor(plan, step, run_id)) },
        ),
    };
    let tmpl = t.env.get_template(name).map_err(|e| t.error(name, &e))?;
    let text = tmpl.render(ctx).map_err(|e| t.error(name, &e))?;
    parse_step_documents(&text, name, t, &step.name, out)?;
    if let Some(devices) = dra::devices(step) {
        let name = "resourceclaimtemplate.yaml";
        let mut meta = support_meta(plan, step, run_id);
        meta["name"] = dra::template_name(step).into();
        let ctx = context! { step => Serde(step), meta => Serde(meta), devices => Serde(devices) };
        let tmpl = t.env.get_template(name).map_err(|e| t.error(name, &e))?;
        let text = tmpl.render(ctx).map_err(|e| t.error(name, &e))?;
        parse_step_documents(&text, name, t, &step.name, out)?;
    }
    if step.kind == StepKind::Pytorch && plan.stack.network_isolation {
        let name = "networkpolicy.yaml";
        let meta = support_meta(plan, step, run_id);
        let selector = pod::selector(plan, step);
        let ctx =
            context! { step => Serde(step), meta => Serde(meta), selector => Serde(selector) };
        let tmpl = t.env.get_template(name).map_err(|e| t.error(name, &e))?;
        let text = tmpl.render(ctx).map_err(|e| t.error(name, &e))?;
        parse_step_documents(&text, name, t, &step.name, out)?;
    }
    Ok(())
}

/// `metadata` of an object that supports a step's workload: the workload's, without the
/// queue and priority labels, which belong to workloads only.
fn support_meta(plan: &Plan, step: &Step, run_id: Option<&str>) -> serde_json::Value {
    let mut meta = pod::object_meta(plan, step, run_id);
    if let Some(labels) = meta.get_mut("labels").and_then(|l| l.as_object_mut()) {
        labels.retain(|k, _| {
            !k.starts_with("kueue.x-k8s.io/")
                && !k.starts_with("kai.scheduler/")
                && k != "priorityClassName"
        });
    }
    meta
}

/// Parses rendered text back and stores each document canonically.
pub(crate) fn parse_documents(
    text: &str,
    template: &str,
    step: &str,
    out: &mut Vec<Manifest>,
) -> Result<(), RenderError> {
    let yaml_err = |message: String| -> RenderError {
        RenderErrorKind::Yaml {
            name: template.into(),
            step: step.into(),
            message,
        }
        .into()
    };
    let text = escape_unprintable(text);
    // Most rendered text is block mappings of JSON values, which `block_json` reads several
    // times faster than serde_yaml, and to the same value; anything else goes to serde_yaml.
    let fast = block_json::parse(&text);
    let documents = fast
        .is_none()
        .then(|| serde_yaml::Deserializer::from_str(&text));
    let documents = documents
        .into_iter()
        .flatten()
        .map(serde_yaml::Value::deserialize);
    for value in fast.map(Ok).into_iter().chain(documents) {
        let mut value = value.map_err(|e| yaml_err(e.to_string()))?;
        if value.is_null() {
            continue;
        }
        drop_nulls(&mut value);
        let field =
            |v: &serde_yaml::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_owned);
        let (Some(api_version), Some(kind)) = (field(&value, "apiVersion"), field(&value, "kind"))
        else {
            return Err(yaml_err("a document has no apiVersion or kind".into()));
        };
        let meta = value.get("metadata");
        let Some(name) = meta.and_then(|m| field(m, "name")) else {
            return Err(yaml_err(format!("the {kind} has no metadata.name")));
        };
        let namespace = meta.and_then(|m| field(m, "namespace"));
        let yaml = yaml::emit_document(&value).map_err(|e| yaml_err(e.to_string()))?;
        out.push(Manifest {
            api_version,
            kind,
            name,
            namespace,
            step: Some(step.into()),
            yaml,
        });
    }
    Ok(())
}

/// Escapes DEL, the C1 controls, U+2028/U+2029, U+FEFF and U+FFFE/U+FFFF as `\uXXXX`.
///
/// Values reach templates as JSON, which leaves these characters raw; a YAML reader rejects
/// some of them and reads NEL, U+2028 and U+2029 as line breaks inside a quoted string (NEL
/// becomes a space, the spaces after a break are dropped). They can only come from inside
/// JSON strings, where `\uXXXX` is the same character to both JSON and YAML.
fn escape_unprintable(text: &str) -> std::borrow::Cow<'_, str> {
    let bad = |c: char| {
        matches!(
            c,
            '\u{7f}'..='\u{9f}' | '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
        )
    };
    // Rendered text is nearly always ASCII without DEL; checking that is much faster than
    // decoding every character.
    let plain_ascii = text.is_ascii() && !text.contains('\u{7f}');
    if plain_ascii || !text.contains(bad) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{:04X}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Removes mapping entries whose value is null: the API server drops them anyway, and
/// optional template fields render as null when absent.
fn drop_nulls(v: &mut serde_yaml::Value) {
    match v {
        serde_yaml::Value::Mapping(m) => {
            m.retain(|_, val| !val.is_null());
            for (_, val) in m.iter_mut() {
                drop_nulls(val);
            }
        }
        serde_yaml::Value::Sequence(s) => s.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
