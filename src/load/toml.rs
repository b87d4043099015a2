//! A small typed reader over toml's spanned document tree.
//!
//! serde stops at the first error; users want every problem of a file at once. So the loader
//! parses with [`toml::de::DeTable::parse_recoverable`] (which also reports every syntax error
//! and duplicate key) and then walks the tree with [`Decode`], which records a diagnostic and
//! carries on whenever a value has the wrong type or form. [`Table`] remembers which keys the
//! format asked for, so unknown keys are found with a "did you mean" hint for free.
//!
//! The same walk produces the JSON Schemas of `mlk schema`: with a [`Recorder`] in [`Cx`]
//! ("schema mode"), every table reports the keys it asked for and every decoder the JSON
//! Schema fragment of the value it read, so the schema can never list a key the loader does
//! not read, or miss one it does (see [`super::schema`]).

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::{Value, json};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::LoadError;
use crate::diag::did_you_mean;

/// A value as written, with the byte range it came from.
pub type Sp<T> = Spanned<T>;

/// Collects the problems found while decoding one file.
#[derive(Default)]
pub struct Cx {
    /// Problems found so far, in the order found.
    pub errors: Vec<LoadError>,
    /// Byte ranges of values that must never be shown (credential-looking literals).
    pub redact: Vec<Range<usize>>,
    /// Set in schema mode only: what the decoders asked for and read.
    pub schema: Option<Recorder>,
}

/// What one decoding walk asked for, by the byte range of each value (schema mode).
#[derive(Default, Debug)]
pub struct Recorder {
    /// Value span → the JSON Schema fragment of the decoder that read it (first one wins:
    /// outer decoders describe a value before inner ones see it).
    pub fragments: BTreeMap<(usize, usize), Value>,
    /// Table span → the keys its decoder asked for, in order.
    pub tables: BTreeMap<(usize, usize), Vec<KeyRecord>>,
}

/// One key a table decoder asked for.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    /// The key.
    pub key: &'static str,
    /// Whether it was read with [`Table::req`].
    pub required: bool,
    /// Whether it was read with [`Table::entries`] (a table with free-form keys).
    pub free_form: bool,
    /// The value's schema when the decoder is known from the call (`opt`, `req`).
    pub fragment: Option<Value>,
}

impl Cx {
    /// Records a problem.
    pub fn error(&mut self, e: LoadError) {
        self.errors.push(e);
    }

    /// In schema mode, records the JSON Schema fragment of the value `v` unless an outer
    /// decoder already did. `fragment` is only called in schema mode.
    pub fn describe(&mut self, v: &Sp<DeValue<'_>>, fragment: impl FnOnce() -> Value) {
        if let Some(r) = &mut self.schema {
            let span = v.span();
            r.fragments
                .entry((span.start, span.end))
                .or_insert_with(fragment);
        }
    }

    fn wrong_type(&mut self, v: &Sp<DeValue<'_>>, expected: String) {
        self.error(LoadError::WrongType {
            expected,
            found: type_name(v.get_ref()).to_owned(),
            at: v.span().into(),
        });
    }
}

/// The TOML type of a value, as users call it.
pub fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

/// A type that can be read from a TOML value, reporting problems to [`Cx`].
pub trait Decode: Sized {
    /// What a correct value looks like, for "expected …, found …" messages.
    fn expected() -> String;
    /// The JSON Schema of a correct value (for `mlk schema`).
    fn schema() -> Value;
    /// Reads the value; on a problem, records it and returns `None`.
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self>;
}

impl Decode for String {
    fn expected() -> String {
        "a string".into()
    }
    fn schema() -> Value {
        json!({ "type": "string" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        match v.get_ref() {
            // Every string may end up as a process argument, an environment value or an
            // object field, none of which can carry NUL: refuse it here, once for all keys.
            DeValue::String(s) if s.contains('\0') => {
                cx.error(LoadError::value(
                    v.span(),
                    "contains NUL",
                    "this string contains a NUL character (\\u0000)",
                    "remove the \\u0000: no command argument, environment value or name can hold it",
                ));
                None
            }
            DeValue::String(s) => Some(s.to_string()),
            _ => {
                cx.wrong_type(v, Self::expected());
                None
            }
        }
    }
}

impl Decode for bool {
    fn expected() -> String {
        "a boolean (true or false)".into()
    }
    fn schema() -> Value {
        json!({ "type": "boolean" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                cx.wrong_type(v, Self::expected());
                None
            }
        }
    }
}

impl Decode for i64 {
    fn expected() -> String {
        "an integer".into()
    }
    fn schema() -> Value {
        json!({ "type": "integer" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        match v.get_ref() {
            DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Some(n),
                Err(_) => {
                    cx.error(LoadError::OutOfRange {
                        what: "integer".into(),
                        at: v.span().into(),
                    });
                    None
                }
            },
            _ => {
                cx.wrong_type(v, Self::expected());
                None
            }
        }
    }
}

impl Decode for f64 {
    fn expected() -> String {
        "a number".into()
    }
    fn schema() -> Value {
        json!({ "type": "number" })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        match v.get_ref() {
            DeValue::Float(f) => match f.as_str().replace('_', "").parse::<f64>() {
                Ok(n) if n.is_finite() => Some(n),
                _ => {
                    cx.error(LoadError::OutOfRange {
                        what: "number".into(),
                        at: v.span().into(),
                    });
                    None
                }
            },
            DeValue::Integer(_) => i64::decode(v, cx).map(|n| n as f64),
            _ => {
                cx.wrong_type(v, Self::expected());
                None
            }
        }
    }
}

impl<T: Decode> Decode for Sp<T> {
    fn expected() -> String {
        T::expected()
    }
    fn schema() -> Value {
        T::schema()
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        T::decode(v, cx).map(|t| Spanned::new(v.span(), t))
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn expected() -> String {
        format!("an array of {}", strip_article(&T::expected()))
    }
    fn schema() -> Value {
        json!({ "type": "array", "items": T::schema() })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        match v.get_ref() {
            DeValue::Array(items) => {
                let decoded: Vec<Option<T>> = items.iter().map(|i| T::decode(i, cx)).collect();
                decoded.into_iter().collect()
            }
            _ => {
                cx.wrong_type(v, Self::expected());
                None
            }
        }
    }
}

/// A table whose keys are free-form (labels, params, steps); keys keep their spans.
impl<T: Decode> Decode for BTreeMap<Sp<String>, T> {
    fn expected() -> String {
        format!("a table of {}", strip_article(&T::expected()))
    }
    fn schema() -> Value {
        json!({ "type": "object", "additionalProperties": T::schema() })
    }
    fn decode(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Self> {
        match v.get_ref() {
            DeValue::Table(t) => {
                let mut out = BTreeMap::new();
                let mut ok = true;
                for (k, val) in t.iter() {
                    match T::decode(val, cx) {
                        Some(d) => {
                            out.insert(Spanned::new(k.span(), k.get_ref().to_string()), d);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(out)
            }
            _ => {
                cx.wrong_type(v, Self::expected());
                None
            }
        }
    }
}

fn strip_article(s: &str) -> &str {
    s.strip_prefix("an ")
        .or_else(|| s.strip_prefix("a "))
        .unwrap_or(s)
}

/// A TOML table being read field by field.
pub struct Table<'a, 'i> {
    map: &'a DeTable<'i>,
    span: Range<usize>,
    what: String,
    known: Vec<&'static str>,
    asked: Vec<KeyRecord>,
}

impl<'a, 'i> Table<'a, 'i> {
    /// Opens `v` as the table called `what` (e.g. `[steps.train]`), or records a type error.
    pub fn open(v: &'a Sp<DeValue<'i>>, what: impl Into<String>, cx: &mut Cx) -> Option<Self> {
        match v.get_ref() {
            DeValue::Table(map) => Some(Table {
                map,
                span: v.span(),
                what: what.into(),
                known: Vec::new(),
                asked: Vec::new(),
            }),
            _ => {
                cx.wrong_type(v, "a table".into());
                None
            }
        }
    }

    /// Opens the document root.
    pub fn root(v: &'a Sp<DeTable<'i>>) -> Self {
        Table {
            map: v.get_ref(),
            span: v.span(),
            what: "the top level".into(),
            known: Vec::new(),
            asked: Vec::new(),
        }
    }

    /// The span of the whole table.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The raw value of `key`, marking it as known.
    pub fn raw(&mut self, key: &'static str) -> Option<&'a Sp<DeValue<'i>>> {
        self.known.push(key);
        self.asked.push(KeyRecord {
            key,
            required: false,
            free_form: false,
            fragment: None,
        });
        self.map
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(_, v)| v)
    }

    /// The span of `key` itself (not its value), if present.
    pub fn key_span(&self, key: &str) -> Option<Range<usize>> {
        self.map
            .iter()
            .find(|(k, _)| k.get_ref() == key)
            .map(|(k, _)| k.span())
    }

    /// Reads an optional field.
    pub fn opt<T: Decode>(&mut self, key: &'static str, cx: &mut Cx) -> Option<T> {
        let v = self.raw(key);
        self.note::<T>(false, cx);
        v.and_then(|v| T::decode(v, cx))
    }

    /// In schema mode, gives the key asked for last the schema of `T`.
    fn note<T: Decode>(&mut self, required: bool, cx: &Cx) {
        if cx.schema.is_some()
            && let Some(k) = self.asked.last_mut()
        {
            k.required = required;
            k.fragment = Some(T::schema());
        }
    }

    /// Reads a field the format requires; a missing one is reported on the table.
    pub fn req<T: Decode>(&mut self, key: &'static str, cx: &mut Cx) -> Option<T> {
        let v = self.raw(key);
        self.note::<T>(true, cx);
        match v {
            Some(v) => T::decode(v, cx),
            None => {
                cx.error(LoadError::MissingKey {
                    key,
                    table: self.what.clone(),
                    expected: T::expected(),
                    at: self.span.clone().into(),
                });
                None
            }
        }
    }

    /// Marks `key` as required in the schema, for keys whose absence the decoder reports
    /// itself (several keys at once, or a table that must exist).
    pub fn mark_required(&mut self, key: &'static str) {
        for k in self.asked.iter_mut().filter(|k| k.key == key) {
            k.required = true;
        }
    }

    /// Opens a sub-table field, if present.
    pub fn table(&mut self, key: &'static str, cx: &mut Cx) -> Option<Table<'a, 'i>> {
        let what = format!(
            "{}.{key}",
            self.what.trim_start_matches('[').trim_end_matches(']')
        );
        let what = if self.what == "the top level" {
            format!("[{key}]")
        } else {
            format!("[{what}]")
        };
        self.raw(key).and_then(|v| Table::open(v, what, cx))
    }

    /// Iterates over the entries of a free-form table field (steps, queues, GPU types),
    /// marking the field as known.
    pub fn entries(
        &mut self,
        key: &'static str,
        cx: &mut Cx,
    ) -> Vec<(Sp<String>, &'a Sp<DeValue<'i>>)> {
        let v = self.raw(key);
        if let Some(k) = self.asked.last_mut() {
            k.free_form = true;
        }
        match v {
            Some(v) => match v.get_ref() {
                DeValue::Table(t) => t
                    .iter()
                    .map(|(k, v)| (Spanned::new(k.span(), k.get_ref().to_string()), v))
                    .collect(),
                _ => {
                    cx.wrong_type(v, "a table".into());
                    Vec::new()
                }
            },
            None => Vec::new(),
        }
    }

    /// Reports every key that was not asked for, with a "did you mean" hint.
    pub fn finish(self, cx: &mut Cx) {
        if let Some(r) = &mut cx.schema {
            r.tables
                .entry((self.span.start, self.span.end))
                .or_default()
                .extend(self.asked.iter().cloned());
        }
        for (k, _) in self.map.iter() {
            let key = k.get_ref().as_ref();
            if self.known.contains(&key) {
                continue;
            }
            let suggestion = did_you_mean(key, self.known.iter().copied()).map(str::to_owned);
            let mut known: Vec<&str> = self.known.clone();
            known.sort_unstable();
            known.dedup();
            cx.error(LoadError::UnknownKey {
                key: key.to_owned(),
                table: self.what.clone(),
                help: match suggestion {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known keys here: {}", known.join(", ")),
                },
                at: k.span().into(),
            });
        }
    }
}
