//! Canonical YAML output for rendered manifests.
//!
//! This module owns the exact text mlk writes for a `serde_yaml::Value`: sorted keys,
//! two-space indentation, kubectl-style sequences, and scalars that every common reader
//! takes back unchanged. `serde_yaml`'s own serializer is not used because it leaves strings
//! such as `on`, `y`, `1_000`, `12:30:00` or `<<` unquoted, and YAML 1.1 readers (Go's
//! `yaml.v2` behind kubectl, `PyYAML`) turn those into booleans, numbers, timestamps or merge
//! keys. Here a string is written plain only when it is provably a string under both YAML
//! 1.1 and YAML 1.2; everything else is double-quoted with explicit escapes.

use std::fmt::Write as _;

use serde_yaml::{Mapping, Number, Value};

/// Why a value cannot be written as canonical YAML.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum EmitError {
    /// A mapping key is not a string; Kubernetes objects only have string keys, and other
    /// key types would not survive a trip through JSON.
    #[error("mapping at `{path}` has the non-string key `{key}`; keys must be strings")]
    NonStringKey {
        /// Where the mapping is, e.g. `spec.template.metadata.labels`.
        path: String,
        /// The offending key, shown as YAML-ish text.
        key: String,
    },
    /// A value carries an explicit YAML tag such as `!secret`, which has no meaning in a
    /// Kubernetes manifest.
    #[error("value at `{path}` has the YAML tag `{tag}`; tagged values cannot be emitted")]
    Tagged {
        /// Where the tagged value is.
        path: String,
        /// The tag, including its leading `!`.
        tag: String,
    },
    /// A float is NaN or infinite, which JSON, and so the Kubernetes API, cannot represent.
    #[error("number at `{path}` is {value}; only finite numbers can be emitted")]
    NonFiniteFloat {
        /// Where the number is.
        path: String,
        /// `NaN`, `inf` or `-inf`.
        value: String,
    },
}

/// Emits one document (no leading `---`), ending in exactly one "\n".
///
/// # Errors
///
/// Fails on a non-string mapping key, a tagged value or a NaN/infinite float, naming
/// where in the document it is.
pub(crate) fn emit_document(doc: &Value) -> Result<String, EmitError> {
    let mut out = String::with_capacity(1024);
    write_document(&mut out, doc, &Path::Root(None))?;
    Ok(out)
}

/// Emits several documents separated by "---\n" (no leading separator), LF only, one trailing newline. An empty slice gives "".
///
/// # Errors
///
/// Fails like [`emit_document`] on the first document that cannot be written; the path
/// then starts with `documents[i]`.
#[cfg(test)]
pub(crate) fn emit_documents(docs: &[Value]) -> Result<String, EmitError> {
    let mut out = String::with_capacity(1024 * docs.len());
    for (index, doc) in docs.iter().enumerate() {
        if index > 0 {
            out.push_str("---\n");
        }
        write_document(&mut out, doc, &Path::Root(Some(index)))?;
    }
    Ok(out)
}

/// Longest key text written as an implicit `key: value`. YAML readers (`libyaml`, `PyYAML`)
/// reject implicit keys longer than 1024 characters, so longer ones use `? key`.
const MAX_IMPLICIT_KEY: usize = 1000;

/// Where a node sits in the document, kept on the stack so that a path string is only
/// built when an error needs one.
enum Path<'a> {
    /// The document root; `Some(index)` inside `emit_documents`.
    Root(Option<usize>),
    /// A mapping value.
    Key(&'a Path<'a>, &'a str),
    /// A sequence item.
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        let mut out = String::new();
        self.render_into(&mut out);
        if out.is_empty() {
            out.push_str("<root>");
        }
        out
    }

    fn render_into(&self, out: &mut String) {
        match self {
            Path::Root(None) => {}
            Path::Root(Some(index)) => {
                let _ = write!(out, "documents[{index}]");
            }
            Path::Key(parent, key) => {
                parent.render_into(out);
                let simple = !key.is_empty()
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if simple {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(key);
                } else {
                    let _ = write!(out, "[{key:?}]");
                }
            }
            Path::Index(parent, index) => {
                parent.render_into(out);
                let _ = write!(out, "[{index}]");
            }
        }
    }
}

fn write_document(out: &mut String, doc: &Value, path: &Path<'_>) -> Result<(), EmitError> {
    match doc {
        Value::Mapping(map) if !map.is_empty() => write_mapping(out, map, 0, false, path),
        Value::Sequence(seq) if !seq.is_empty() => write_sequence(out, seq, 0, false, path),
        _ => {
            write_inline(out, doc, path)?;
            out.push('\n');
            Ok(())
        }
    }
}

/// Writes a value that fits on the current line: a scalar or an empty collection.
/// Non-empty collections never reach here.
fn write_inline(out: &mut String, value: &Value, path: &Path<'_>) -> Result<(), EmitError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number, path)?,
        Value::String(s) => write_string(out, s),
        Value::Sequence(_) => out.push_str("[]"),
        Value::Mapping(_) => out.push_str("{}"),
        Value::Tagged(tagged) => {
            return Err(EmitError::Tagged {
                path: path.render(),
                tag: tagged.tag.to_string(),
            });
        }
    }
    Ok(())
}

/// Writes the entries of a non-empty mapping at `indent`. With `inline_first`, the
/// cursor already sits at the first entry's column (right after `- `).
fn write_mapping(
    out: &mut String,
    map: &Mapping,
    indent: usize,
    inline_first: bool,
    path: &Path<'_>,
) -> Result<(), EmitError> {
    let mut entries = Vec::with_capacity(map.len());
    for (key, value) in map {
        match key {
            Value::String(key) => entries.push((key.as_str(), value)),
            other => {
                return Err(EmitError::NonStringKey {
                    path: path.render(),
                    key: describe_key(other),
                });
            }
        }
    }
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));

    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 || !inline_first {
            push_indent(out, indent);
        }
        let path = Path::Key(path, key);
        let key_start = out.len();
        write_string(out, key);
        if out.len() - key_start > MAX_IMPLICIT_KEY {
            out.insert_str(key_start, "? ");
            out.push('\n');
            push_indent(out, indent);
            out.push(':');
            // Under an explicit `:` a nested collection is indented like any block node.
            write_value_after_indicator(out, value, indent + 2, indent + 2, &path)?;
        } else {
            out.push(':');
            write_value_after_indicator(out, value, indent + 2, indent, &path)?;
        }
    }
    Ok(())
}

/// Writes a mapping value after its `:`: scalars on the same line, nested mappings at
/// `map_indent`, nested sequences at `seq_indent`.
fn write_value_after_indicator(
    out: &mut String,
    value: &Value,
    map_indent: usize,
    seq_indent: usize,
    path: &Path<'_>,
) -> Result<(), EmitError> {
    match value {
        Value::Mapping(map) if !map.is_empty() => {
            out.push('\n');
            write_mapping(out, map, map_indent, false, path)
        }
        Value::Sequence(seq) if !seq.is_empty() => {
            out.push('\n');
            write_sequence(out, seq, seq_indent, false, path)
        }
        _ => {
            out.push(' ');
            write_inline(out, value, path)?;
            out.push('\n');
            Ok(())
        }
    }
}

/// Writes the items of a non-empty sequence as `- item` lines at `indent`.
fn write_sequence(
    out: &mut String,
    seq: &[Value],
    indent: usize,
    inline_first: bool,
    path: &Path<'_>,
) -> Result<(), EmitError> {
    for (i, item) in seq.iter().enumerate() {
        if i > 0 || !inline_first {
            push_indent(out, indent);
        }
        out.push_str("- ");
        let path = Path::Index(path, i);
        match item {
            Value::Mapping(map) if !map.is_empty() => {
                write_mapping(out, map, indent + 2, true, &path)?;
            }
            Value::Sequence(inner) if !inner.is_empty() => {
                write_sequence(out, inner, indent + 2, true, &path)?;
            }
            _ => {
                write_inline(out, item, &path)?;
                out.push('\n');
            }
        }
    }
    Ok(())
}

fn push_indent(out: &mut String, indent: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = indent;
    while left > 0 {
        let n = left.min(SPACES.len());
        out.push_str(&SPACES[..n]);
        left -= n;
    }
}

fn describe_key(key: &Value) -> String {
    match key {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Sequence(_) => "[...]".to_owned(),
        Value::Mapping(_) => "{...}".to_owned(),
        Value::Tagged(tagged) => format!("{} ...", tagged.tag),
    }
}

fn write_number(out: &mut String, number: &Number, path: &Path<'_>) -> Result<(), EmitError> {
    // Writing into a String cannot fail, so the fmt::Result is ignored here, in
    // `write_float` and in `Path::render_into`.
    if let Some(n) = number.as_u64() {
        let _ = write!(out, "{n}");
    } else if let Some(n) = number.as_i64() {
        let _ = write!(out, "{n}");
    } else if let Some(f) = number.as_f64() {
        write_float(out, f, path)?;
    }
    Ok(())
}

/// Writes a finite float in Rust's shortest round-trip form, adjusted so that YAML 1.1
/// also reads it as a float: its float pattern needs a `.` in the mantissa and a sign on
/// the exponent (`1.0e+30`, not `1e30`).
fn write_float(out: &mut String, f: f64, path: &Path<'_>) -> Result<(), EmitError> {
    if !f.is_finite() {
        let value = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        return Err(EmitError::NonFiniteFloat {
            path: path.render(),
            value: value.to_owned(),
        });
    }
    let start = out.len();
    let _ = write!(out, "{f:?}");
    match out[start..].find('e') {
        Some(e) => {
            let e = start + e;
            let mut exponent = e + 1;
            if !out[start..e].contains('.') {
                out.insert_str(e, ".0");
                exponent += 2;
            }
            if !out[exponent..].starts_with('-') {
                out.insert(exponent, '+');
            }
        }
        None => {
            if !out[start..].contains('.') {
                out.push_str(".0");
            }
        }
    }
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else {
        write_quoted(out, s);
    }
}

/// Whether `s` reads back as this same string when written unquoted, under YAML 1.1 and
/// YAML 1.2 alike. Deliberately narrow: identifier-like words that are not booleans or
/// nulls, and Kubernetes quantities such as `100m` or `16Gi`.
fn is_plain_safe(s: &str) -> bool {
    is_plain_word(s) || is_quantity(s)
}

/// `^[A-Za-z_/][A-Za-z0-9_./-]*$`, minus the YAML 1.1 booleans and nulls in any case.
fn is_plain_word(s: &str) -> bool {
    const RESERVED: [&str; 9] = ["y", "yes", "n", "no", "true", "false", "on", "off", "null"];
    let bytes = s.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b'/') {
        return false;
    }
    if !rest
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
    {
        return false;
    }
    !RESERVED.iter().any(|word| word.eq_ignore_ascii_case(s))
}

/// `^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)$`. The suffix keeps every
/// YAML reader from taking it for a number; hexadecimal (`0xA`) and exponent (`1e3`)
/// forms do not match.
fn is_quantity(s: &str) -> bool {
    const SUFFIXES: [&str; 15] = [
        "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
    ];
    let Some(number) = SUFFIXES.iter().find_map(|suffix| s.strip_suffix(suffix)) else {
        return false;
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(whole) && fraction.is_none_or(digits)
}

/// Writes `s` as a double-quoted scalar on a single line.
fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    let mut clean_from = 0;
    for (i, c) in s.char_indices() {
        let named = match c {
            '\\' => "\\\\",
            '"' => "\\\"",
            '\n' => "\\n",
            '\t' => "\\t",
            '\r' => "\\r",
            '\0' => "\\0",
            _ if needs_hex_escape(c) => "",
            _ => continue,
        };
        out.push_str(&s[clean_from..i]);
        if named.is_empty() {
            push_hex_escape(out, c);
        } else {
            out.push_str(named);
        }
        clean_from = i + c.len_utf8();
    }
    out.push_str(&s[clean_from..]);
    out.push('"');
}

/// Characters outside YAML's printable set, plus DEL, the C1 controls (NEL among them),
/// U+2028/U+2029 (YAML 1.1 line breaks) and U+FEFF (a byte-order mark).
fn needs_hex_escape(c: char) -> bool {
    !matches!(
        u32::from(c),
        0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0xA0..=0x2027 | 0x202A..=0xD7FF
            | 0xE000..=0xFEFE | 0xFF00..=0xFFFD | 0x10000..=0x10_FFFF
    )
}

fn push_hex_escape(out: &mut String, c: char) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let code = u32::from(c);
    // Every character above U+FFFF is printable, so `\U` is never needed.
    let (prefix, digits) = if code <= 0xFF { ("\\x", 2) } else { ("\\u", 4) };
    out.push_str(prefix);
    for shift in (0..digits).rev() {
        out.push(char::from(HEX[((code >> (shift * 4)) & 0xF) as usize]));
    }
}

#[cfg(test)]
mod tests;
