//! Template expressions inside pipeline strings (`{{ params.epochs }}`,
//! `{{ steps.train.outputs.model }}`, …): what they reference, and their expansion.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use minijinja::{Environment, Template, UndefinedBehavior};
use regex::Regex;
use serde::Serialize;

/// What one templated string refers to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Ref {
    /// `params.NAME` (or `params` as a whole: `None`).
    Param(Option<String>),
    /// `outputs.NAME` of the step itself, as a local path or its address (`.uri`).
    Output(String, Form),
    /// `steps.STEP.outputs.NAME`, as a local path or its address (`.uri`).
    Upstream(String, String, Form),
    /// `inputs.NAME`: a declared input, as a local path or its address (`.uri`).
    Input(String, Form),
    /// `run.id`.
    RunId,
    /// `run.date`: the day the run started (`YYYY-MM-DD`, the pipeline's time zone).
    RunDate,
    /// `pipeline.name` or `step.name`.
    Name,
    /// Anything else: an error for the caller to report.
    Unknown(String),
}

/// How a template reads an artifact (an input, an output, an upstream output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Form {
    /// `{{ outputs.X }}`: a local path the command reads or writes; mlk moves the bytes.
    Path,
    /// `{{ outputs.X.uri }}`: the address in the artifact store; the command moves the bytes.
    Uri,
}

/// An artifact as a template sees it: it renders as its local path, and `.uri` is its
/// address in the artifact store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The local path the command reads or writes.
    pub path: String,
    /// The address in the artifact store.
    pub uri: String,
}

impl Artifact {
    fn text(&self, field: Option<&str>) -> Option<&str> {
        match field {
            None | Some("path") => Some(&self.path),
            Some("uri") => Some(&self.uri),
            Some(_) => None,
        }
    }
}

impl minijinja::value::Object for Artifact {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Plain
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &minijinja::Value) -> Option<minijinja::Value> {
        self.text(Some(key.as_str()?)).map(minijinja::Value::from)
    }

    fn render(self: &std::sync::Arc<Self>, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.path)
    }
}

/// The expression engine: one minijinja environment, strict about undefined values.
pub struct Engine {
    env: Environment<'static>,
}

impl Default for Engine {
    fn default() -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        Engine { env }
    }
}

/// Whether `s` contains template syntax at all (most strings do not, and skip the engine).
pub fn is_templated(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Variables the values of a templated string are built from.
#[derive(Debug)]
pub struct Scope<'a> {
    /// Parameter values.
    pub params: &'a BTreeMap<String, serde_json::Value>,
    /// This step's outputs.
    pub outputs: BTreeMap<String, Artifact>,
    /// This step's declared inputs.
    pub inputs: BTreeMap<String, Artifact>,
    /// Referenced upstream steps' outputs: `steps.X.outputs.Y`.
    pub steps: BTreeMap<String, StepOutputs>,
    /// `run.id`.
    pub run: RunScope<'a>,
    /// `pipeline.name`.
    pub pipeline: NameScope<'a>,
    /// `step.name`.
    pub step: NameScope<'a>,
}

/// A [`Scope`] and, built the first time a template needs it, its minijinja value.
pub struct Bindings<'a> {
    scope: Scope<'a>,
    value: OnceCell<minijinja::Value>,
}

impl<'a> From<Scope<'a>> for Bindings<'a> {
    fn from(scope: Scope<'a>) -> Self {
        Bindings {
            scope,
            value: OnceCell::new(),
        }
    }
}

impl Bindings<'_> {
    /// The scope as a minijinja value.
    pub fn value(&self) -> &minijinja::Value {
        self.value.get_or_init(|| {
            let s = &self.scope;
            let artifacts = |m: &BTreeMap<String, Artifact>| {
                m.iter()
                    .map(|(k, a)| (k.clone(), minijinja::Value::from_object(a.clone())))
                    .collect::<BTreeMap<_, _>>()
            };
            let steps: BTreeMap<&str, minijinja::Value> = s
                .steps
                .iter()
                .map(|(name, o)| {
                    let outputs = minijinja::Value::from(artifacts(&o.outputs));
                    let step = BTreeMap::from([("outputs", outputs)]);
                    (name.as_str(), minijinja::Value::from(step))
                })
                .collect();
            minijinja::context! {
                params => minijinja::value::Serde(s.params),
                outputs => artifacts(&s.outputs),
                inputs => artifacts(&s.inputs),
                steps => steps,
                run => minijinja::value::Serde(&s.run),
                pipeline => minijinja::value::Serde(&s.pipeline),
                step => minijinja::value::Serde(&s.step),
            }
        })
    }

    /// The text a plain variable path renders as, when it names a string, number or boolean.
    fn lookup(&self, path: &[&str]) -> Option<Cow<'_, str>> {
        let s = &self.scope;
        let text = match path {
            ["params", p] => {
                return match s.params.get(*p)? {
                    serde_json::Value::String(v) => Some(Cow::Borrowed(v)),
                    // minijinja has its own spelling of numbers and booleans (`1.0`, `True`).
                    v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => Some(
                        Cow::Owned(minijinja::Value::from(minijinja::value::Serde(v)).to_string()),
                    ),
                    _ => None,
                };
            }
            ["outputs", o, field @ ..] => s.outputs.get(*o)?.text(field.first().copied())?,
            ["inputs", i, field @ ..] => s.inputs.get(*i)?.text(field.first().copied())?,
            ["steps", step, "outputs", o, field @ ..] => s
                .steps
                .get(*step)?
                .outputs
                .get(*o)?
                .text(field.first().copied())?,
            ["run", "id"] => s.run.id,
            ["run", "date"] => s.run.date,
            ["pipeline", "name"] => s.pipeline.name,
            ["step", "name"] => s.step.name,
            _ => return None,
        };
        Some(Cow::Borrowed(text))
    }
}

/// The outputs of one upstream step.
#[derive(Debug)]
pub struct StepOutputs {
    /// Output name → the artifact.
    pub outputs: BTreeMap<String, Artifact>,
}

/// `{ id: …, date: … }`.
#[derive(Debug, Serialize)]
pub struct RunScope<'a> {
    /// The run id.
    pub id: &'a str,
    /// The run's date.
    pub date: &'a str,
}

/// `{ name: … }`.
#[derive(Debug, Serialize)]
pub struct NameScope<'a> {
    /// The name.
    pub name: &'a str,
}

/// `steps.NAME.` where NAME has a '-', which Jinja would read as a subtraction.
static HYPHENATED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\bsteps\.([a-z0-9][a-z0-9]*(?:-[a-z0-9]+)+)\.").unwrap_or_else(|_| unreachable!())
});

/// `steps["NAME"].outputs.OUT` or `steps["NAME"].outputs["OUT"]`.
static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bsteps\s*\[\s*["']([^"']+)["']\s*\]\s*\.\s*outputs\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])(\s*\.\s*uri\b)?"#)
        .unwrap_or_else(|_| unreachable!())
});

/// Rewrites `steps.my-step.outputs.x` as `steps["my-step"].outputs.x`, so step names with
/// hyphens (the usual DNS-label style) can be written the natural way.
pub fn normalize(source: &str) -> Cow<'_, str> {
    HYPHENATED.replace_all(source, r#"steps["$1"]."#)
}

/// A templated string checked and compiled once, with its references, for any number of
/// expansions.
pub struct Expr<'s> {
    engine: &'s Engine,
    /// The normalized source.
    source: &'s str,
    refs: Vec<Ref>,
    /// The string as text and variable paths, when that is all it is.
    plain: Option<Vec<Piece<'s>>>,
    /// The compiled template of a string that is not plain. Plain strings drop theirs (each
    /// holds kilobytes of preallocated buffers) and compile again in the rare expansion that
    /// needs minijinja.
    tmpl: Option<Template<'s, 's>>,
}

/// A part of a template made only of text and `{{ variable.path }}` expressions.
#[derive(Debug, PartialEq)]
enum Piece<'s> {
    Text(&'s str),
    Path(Vec<&'s str>),
}

/// Compiled templated strings by their text as written, or the syntax error message.
pub type Exprs<'s> = BTreeMap<&'s str, Result<Expr<'s>, String>>;

impl Engine {
    /// Compiles a normalized templated string (see [`normalize`]); the error message on
    /// failure.
    pub fn compile<'s>(&'s self, normalized: &'s str) -> Result<Expr<'s>, String> {
        let tmpl = self
            .env
            .template_from_str(normalized)
            .map_err(|e| detail(&e))?;
        let refs = refs_of(&tmpl, normalized);
        let plain = plain_pieces(normalized);
        Ok(Expr {
            engine: self,
            source: normalized,
            refs,
            tmpl: if plain.is_some() { None } else { Some(tmpl) },
            plain,
        })
    }

    /// The references of a templated string, or the syntax error message.
    pub fn refs(&self, source: &str) -> Result<Vec<Ref>, String> {
        let source = normalize(source);
        Ok(self.compile(&source)?.refs)
    }

    /// Expands a templated string with `scope`; the error message on failure.
    pub fn expand(&self, source: &str, scope: &Bindings<'_>) -> Result<String, String> {
        let source = normalize(source);
        self.compile(&source)?.expand(scope)
    }
}

impl Expr<'_> {
    /// What the string references, sorted and without duplicates.
    pub fn refs(&self) -> &[Ref] {
        &self.refs
    }

    /// Expands the string with `scope`; the error message on failure.
    pub fn expand(&self, scope: &Bindings<'_>) -> Result<String, String> {
        // Nearly every templated string is text and variable paths; substituting them
        // directly gives minijinja's output without building and walking its scope value.
        if let Some(text) = self.plain.as_deref().and_then(|p| substitute(p, scope)) {
            return Ok(text);
        }
        let compiled;
        let tmpl = match &self.tmpl {
            Some(t) => t,
            None => {
                compiled = self
                    .engine
                    .env
                    .template_from_str(self.source)
                    .map_err(|e| detail(&e))?;
                &compiled
            }
        };
        tmpl.render(scope.value()).map_err(|e| detail(&e))
    }
}

/// `source` as text and variable paths, or `None` when it has anything else: statements,
/// comments, whitespace control, filters, operators, literals, or a trailing newline (which
/// minijinja drops).
fn plain_pieces(source: &str) -> Option<Vec<Piece<'_>>> {
    let text_ok = |t: &str| !["{%", "{#", "}}", "%}", "#}"].iter().any(|m| t.contains(m));
    if source.ends_with(['\n', '\r']) {
        return None;
    }
    let mut pieces = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find("{{") {
        let (text, after) = (&rest[..open], &rest[open + 2..]);
        let close = after.find("}}")?;
        if !text_ok(text) {
            return None;
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        pieces.push(Piece::Path(path(after[..close].trim_matches(' '))?));
        rest = &after[close + 2..];
    }
    if !text_ok(rest) {
        return None;
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Some(pieces)
}

/// `a.b["c"].d` as `["a", "b", "c", "d"]`: identifiers after dots, quoted names (without
/// escapes) in brackets.
fn path(expr: &str) -> Option<Vec<&str>> {
    let ident = |s: &str| -> usize {
        let b = s.as_bytes();
        if !b
            .first()
            .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        {
            return 0;
        }
        b.iter()
            .position(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .unwrap_or(b.len())
    };
    let first = ident(expr);
    if first == 0 {
        return None;
    }
    let mut parts = vec![&expr[..first]];
    let mut rest = &expr[first..];
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let n = ident(after);
            if n == 0 {
                return None;
            }
            parts.push(&after[..n]);
            rest = &after[n..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let quote = after.chars().next().filter(|q| matches!(q, '"' | '\''))?;
            let inner = &after[1..];
            let end = inner.find(quote)?;
            let name = &inner[..end];
            if name.contains('\\') {
                return None;
            }
            parts.push(name);
            rest = inner[end + 1..].strip_prefix(']')?;
        } else {
            return None;
        }
    }
    Some(parts)
}

/// The expansion of plain pieces, or `None` when a path does not name a string, number or
/// boolean (minijinja then renders it, or reports the error).
fn substitute(pieces: &[Piece<'_>], scope: &Bindings<'_>) -> Option<String> {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Path(p) => out.push_str(&scope.lookup(p)?),
        }
    }
    Some(out)
}

/// The references of a compiled template whose normalized source is `source`.
fn refs_of(tmpl: &Template<'_, '_>, source: &str) -> Vec<Ref> {
    let mut refs = Vec::new();
    for var in tmpl.undeclared_variables(true) {
        match classify(&var) {
            // Subscripted step names: find them in the text.
            Ref::Unknown(v) if v == "steps" => {
                let found: Vec<Ref> = SUBSCRIPT
                    .captures_iter(source)
                    .filter_map(|c| {
                        let step = c.get(1)?.as_str().to_owned();
                        let out = c.get(2).or_else(|| c.get(3))?.as_str().to_owned();
                        let form = if c.get(4).is_some() {
                            Form::Uri
                        } else {
                            Form::Path
                        };
                        Some(Ref::Upstream(step, out, form))
                    })
                    .collect();
                if found.is_empty() {
                    refs.push(Ref::Unknown(v));
                }
                refs.extend(found);
            }
            r => refs.push(r),
        }
    }
    refs.sort();
    refs.dedup();
    refs
}

fn detail(e: &minijinja::Error) -> String {
    let mut msg = e.kind().to_string();
    if let Some(d) = e.detail() {
        msg.push_str(": ");
        msg.push_str(d);
    }
    msg
}

/// The form of an artifact reference from what follows its name: nothing or `.path` is the
/// local path, `.uri` the address; anything else is not a field of an artifact.
fn form(rest: &[&str]) -> Option<Form> {
    match rest {
        [] | ["path"] => Some(Form::Path),
        ["uri"] => Some(Form::Uri),
        _ => None,
    }
}

fn classify(path: &str) -> Ref {
    let parts: Vec<&str> = path.split('.').collect();
    match parts.as_slice() {
        ["params"] => Ref::Param(None),
        ["params", p, ..] => Ref::Param(Some((*p).to_owned())),
        ["outputs", o, rest @ ..] => match form(rest) {
            Some(f) => Ref::Output((*o).to_owned(), f),
            None => Ref::Unknown(path.to_owned()),
        },
        ["inputs", i, rest @ ..] => match form(rest) {
            Some(f) => Ref::Input((*i).to_owned(), f),
            None => Ref::Unknown(path.to_owned()),
        },
        ["steps", s, "outputs", o, rest @ ..] => match form(rest) {
            Some(f) => Ref::Upstream((*s).to_owned(), (*o).to_owned(), f),
            None => Ref::Unknown(path.to_owned()),
        },
        ["run", "id"] => Ref::RunId,
        ["run", "date"] => Ref::RunDate,
        ["pipeline", "name"] | ["step", "name"] => Ref::Name,
        _ => Ref::Unknown(path.to_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn params() -> BTreeMap<String, serde_json::Value> {
        serde_json::from_str(
            r#"{"s": "x y", "i": 7, "neg": -3, "big": 18446744073709551615, "f": 0.001,
                "whole": 10.0, "huge": 1e300, "b": true, "empty": ""}"#,
        )
        .unwrap()
    }

    fn bindings(params: &BTreeMap<String, serde_json::Value>) -> Bindings<'_> {
        let art = |path: &str, uri: &str| Artifact {
            path: path.into(),
            uri: uri.into(),
        };
        let outputs = [(
            "model".to_owned(),
            art("/mlk/out/model", "s3://b/p/train/k/model"),
        )]
        .into();
        let upstream = StepOutputs {
            outputs: [(
                "data".to_owned(),
                art("/mlk/in/prep-0/data", "s3://b/p/prep-0/k/data"),
            )]
            .into(),
        };
        Bindings::from(Scope {
            params,
            outputs,
            inputs: [("raw".to_owned(), art("/mlk/inputs/raw", "s3://b/in/raw"))].into(),
            steps: [("prep-0".to_owned(), upstream)].into(),
            run: RunScope {
                id: "$(MLK_RUN_ID)",
                date: "2026-12-06",
            },
            pipeline: NameScope { name: "p" },
            step: NameScope { name: "train" },
        })
    }

    /// What minijinja alone makes of `source`.
    fn minijinja(e: &Engine, source: &str, b: &Bindings<'_>) -> Result<String, String> {
        let normalized = normalize(source);
        let tmpl = e
            .env
            .template_from_str(&normalized)
            .map_err(|e| detail(&e))?;
        tmpl.render(b.value()).map_err(|e| detail(&e))
    }

    /// `Expr::expand` (plain substitution where it applies) gives minijinja's text and errors.
    fn same_as_minijinja(source: &str) {
        let e = Engine::default();
        let params = params();
        let b = bindings(&params);
        let normalized = normalize(source);
        let fast = e.compile(&normalized).and_then(|x| x.expand(&b));
        assert_eq!(fast, minijinja(&e, source, &b), "source: {source:?}");
    }

    #[test]
    fn plain_substitution_matches_minijinja() {
        for source in [
            "{{ params.s }}",
            "--n={{ params.i }}/{{ params.neg }}/{{ params.big }}",
            "{{ params.f }} {{ params.whole }} {{ params.huge }} {{ params.b }} [{{ params.empty }}]",
            "{{ outputs.model }}",
            "{{outputs.model}}",
            "{{   run.id   }}",
            "data/{{ run.date }}/part",
            "{{ pipeline.name }}/{{ step.name }}",
            "{{ steps.prep-0.outputs.data }}",
            "{{ steps['prep-0'].outputs['data'] }}",
            "{{ steps[\"prep-0\"].outputs.data }}",
            "{{ params.nope }}",
            "{{ params.s.x }}",
            "{{ params }}",
            "{{ outputs.nope }}",
            "{{ steps.prep-0.outputs.nope }}",
            "{{ nope }}",
            "{{ true }}",
            "{{ params.i + 1 }}",
            "{{ params.s | upper }}",
            "{{- params.s }}",
            "{{ params.s -}} x",
            "a }} b {{ params.s }}",
            "{{ params.s }}\n",
            "{% if true %}{{ params.s }}{% endif %}",
            "{# c #}{{ params.s }}",
            "{{ params.s }",
            "{{ params['s'] }}",
            "{{ params[\"s\\\"\"] }}",
        ] {
            same_as_minijinja(source);
        }
    }

    proptest! {
        /// Random mixes of text, paths and template syntax: the same text or error.
        #[test]
        fn expansion_never_differs(pieces in prop::collection::vec(prop_oneof![
            Just("{{ ".to_owned()), Just(" }}".to_owned()), Just("{{".to_owned()),
            Just("}}".to_owned()), Just("{%".to_owned()), Just("{#".to_owned()),
            Just("-".to_owned()), Just("|".to_owned()), Just(".".to_owned()),
            Just("[".to_owned()), Just("]".to_owned()), Just("'".to_owned()),
            Just("\"".to_owned()), Just("\n".to_owned()), Just(" ".to_owned()),
            Just("params".to_owned()), Just("outputs".to_owned()), Just("steps".to_owned()),
            Just("prep-0".to_owned()), Just("run".to_owned()), Just("id".to_owned()),
            Just("s".to_owned()), Just("i".to_owned()), Just("f".to_owned()), Just("b".to_owned()),
            Just("{{ params.s }}".to_owned()), Just("{{ params.f }}".to_owned()),
            Just("{{ outputs.model }}".to_owned()), Just("{{ run.id }}".to_owned()),
            Just("{{ steps.prep-0.outputs.data }}".to_owned()),
            "[a-z0-9 /:=_-]{0,5}",
        ], 1..12)) {
            same_as_minijinja(&pieces.concat());
        }
    }

    #[test]
    fn classifies_references() {
        let e = Engine::default();
        let refs = e.refs("{{ params.epochs }} {{ steps.prep.outputs.data }} {{ outputs.model }} {{ run.id }} {{ run.date }} {{ nope }}").unwrap();
        assert_eq!(
            refs,
            vec![
                Ref::Param(Some("epochs".into())),
                Ref::Output("model".into(), Form::Path),
                Ref::Upstream("prep".into(), "data".into(), Form::Path),
                Ref::RunId,
                Ref::RunDate,
                Ref::Unknown("nope".into()),
            ]
        );
        assert!(e.refs("{{ unclosed").is_err());
        assert_eq!(
            e.refs("{{ steps.score-0.outputs.x }} {{ steps['a-b'].outputs['y'] }}")
                .unwrap(),
            vec![
                Ref::Upstream("a-b".into(), "y".into(), Form::Path),
                Ref::Upstream("score-0".into(), "x".into(), Form::Path)
            ]
        );
    }

    #[test]
    fn artifacts_render_as_paths_and_have_addresses() {
        let e = Engine::default();
        let refs = e
            .refs("{{ outputs.m.uri }} {{ inputs.raw }} {{ steps['a-b'].outputs.y.uri }} {{ steps.c-d.outputs.z.uri }} {{ outputs.m.size }}")
            .unwrap();
        assert_eq!(
            refs,
            vec![
                Ref::Output("m".into(), Form::Uri),
                Ref::Upstream("a-b".into(), "y".into(), Form::Uri),
                Ref::Upstream("c-d".into(), "z".into(), Form::Uri),
                Ref::Input("raw".into(), Form::Path),
                Ref::Unknown("outputs.m.size".into()),
            ]
        );
        let params = params();
        let b = bindings(&params);
        for (source, want) in [
            ("{{ outputs.model }}", "/mlk/out/model"),
            ("{{ outputs.model.uri }}", "s3://b/p/train/k/model"),
            ("{{ outputs.model.path }}", "/mlk/out/model"),
            ("{{ inputs.raw }}/x", "/mlk/inputs/raw/x"),
            ("{{ inputs.raw.uri }}", "s3://b/in/raw"),
            ("{{ steps.prep-0.outputs.data }}", "/mlk/in/prep-0/data"),
            (
                "{{ steps.prep-0.outputs.data.uri }}",
                "s3://b/p/prep-0/k/data",
            ),
            // Through minijinja itself (a filter): the same values.
            ("{{ outputs.model | upper }}", "/MLK/OUT/MODEL"),
            ("{{ outputs.model.uri | upper }}", "S3://B/P/TRAIN/K/MODEL"),
        ] {
            assert_eq!(e.expand(source, &b).unwrap(), want, "{source}");
            same_as_minijinja(source);
        }
    }
}
