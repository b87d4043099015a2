//! The compiled templates: the built-ins with a stack's `templates_dir` overrides in place
//! (read by the loader's file rules), template errors as diagnostics, and what an override's
//! output must satisfy: at least one object per step, and nothing that reaches the host.

use std::path::{Path, PathBuf};

use miette::{NamedSource, SourceSpan};
use minijinja::{Environment, UndefinedBehavior};

use super::{BUILTIN_TEMPLATES, Manifest, RenderError, RenderErrorKind, parse_documents};

/// The compiled templates: built-ins, with a stack's overrides in place.
pub(crate) struct Templates {
    pub(super) env: Environment<'static>,
    sources: Vec<(String, String, Option<PathBuf>)>,
}

impl Templates {
    /// The built-in templates, with files of `overrides` (if any) replacing them by name.
    pub(crate) fn new(overrides: Option<&Path>) -> Result<Templates, RenderError> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        let mut sources = Vec::new();
        for (name, text) in BUILTIN_TEMPLATES {
            let mut chosen = ((*text).to_owned(), None);
            if let Some(dir) = overrides {
                let path = dir.join(name);
                // The loader's rules: regular files only, bounded, UTF-8, CRLF as LF.
                match crate::load::read_file(&path) {
                    Ok(t) => chosen = (t, Some(path)),
                    Err(crate::load::LoadError::Io {
                        not_found: true, ..
                    }) => {}
                    Err(e) => {
                        let message = match e {
                            crate::load::LoadError::NotAFile { kind, .. } => {
                                format!("it is {kind}, not a regular file")
                            }
                            crate::load::LoadError::Io { message, .. } => message,
                            e => e.to_string(),
                        };
                        return Err(RenderErrorKind::Io {
                            path: path.display().to_string(),
                            message,
                        }
                        .into());
                    }
                }
            }
            sources.push(((*name).to_owned(), chosen.0, chosen.1));
        }
        for (name, text, path) in &sources {
            env.add_template_owned(name.clone(), text.clone())
                .map_err(|e| template_error(name, text, path.as_deref(), &e))?;
        }
        Ok(Templates { env, sources })
    }

    /// The override file that replaced built-in template `name`, if any.
    fn override_path(&self, name: &str) -> Option<&Path> {
        self.sources
            .iter()
            .find(|(n, _, _)| n == name)
            .and_then(|(_, _, p)| p.as_deref())
    }

    pub(super) fn error(&self, name: &str, e: &minijinja::Error) -> RenderError {
        let (text, path) = self
            .sources
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, t, p)| (t.as_str(), p.as_deref()))
            .unwrap_or(("", None));
        template_error(name, text, path, e)
    }
}

fn template_error(
    name: &str,
    text: &str,
    path: Option<&Path>,
    e: &minijinja::Error,
) -> RenderError {
    let shown = shown_name(name, path);
    let mut message = e.kind().to_string();
    if let Some(d) = e.detail() {
        message = format!("{message}: {d}");
    }
    let at = e.range().map(SourceSpan::from).or_else(|| {
        e.line().map(|line| {
            let start: usize = text
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(str::len)
                .sum();
            let len = text[start.min(text.len())..].find('\n').unwrap_or(0);
            SourceSpan::from(start..start + len)
        })
    });
    RenderErrorKind::Template {
        name: name.into(),
        message,
        help: "the variables are documented in the README (\"Template overrides\")".into(),
        src: NamedSource::new(shown, text.to_owned()),
        at,
    }
    .into()
}

fn shown_name(name: &str, path: Option<&Path>) -> String {
    path.map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("<built-in>/{name}"))
}

/// [`parse_documents`] for a step's template: it must produce at least one object, and an
/// override none that reaches the host (the built-ins are known not to; checking them would
/// cost a second parse of every object).
pub(super) fn parse_step_documents(
    text: &str,
    template: &str,
    t: &Templates,
    step: &str,
    out: &mut Vec<Manifest>,
) -> Result<(), RenderError> {
    let before = out.len();
    parse_documents(text, template, step, out)?;
    let path = t.override_path(template);
    let shown = shown_name(template, path);
    if out.len() == before {
        return Err(RenderErrorKind::Empty {
            name: shown,
            step: step.into(),
        }
        .into());
    }
    if path.is_none() {
        return Ok(());
    }
    for m in &out[before..] {
        // The canonical YAML parses back; a failure here would be mlk's own bug.
        let value: serde_yaml::Value = serde_yaml::from_str(&m.yaml).unwrap_or_default();
        if let Some(field) = host_access(&value) {
            return Err(RenderErrorKind::HostAccess {
                name: shown,
                step: step.into(),
                field,
            }
            .into());
        }
    }
    Ok(())
}

/// The first field of `v` (at any depth) that gives a pod access to its host: `hostPath`
/// whatever its value; `privileged`, `hostNetwork`, `hostPID` and `hostIPC` when true.
fn host_access(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::Mapping(m) => m.iter().find_map(|(k, val)| {
            let key = k.as_str().unwrap_or_default();
            let granted = match key {
                "hostPath" => true,
                "privileged" | "hostNetwork" | "hostPID" | "hostIPC" => val.as_bool() == Some(true),
                _ => false,
            };
            if granted {
                Some(key.to_owned())
            } else {
                host_access(val)
            }
        }),
        serde_yaml::Value::Sequence(s) => s.iter().find_map(host_access),
        _ => None,
    }
}
