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
pub enum EmitError {
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
pub fn emit_document(doc: &Value) -> Result<String, EmitError> {
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
pub fn emit_documents(docs: &[Value]) -> Result<String, EmitError> {
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
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    use std::sync::LazyLock;

    use proptest::prelude::*;
    use regex::Regex;
    use serde_yaml::{Mapping, Value};

    use super::{EmitError, emit_document, emit_documents};

    /// Strings that YAML readers are known to misread or choke on.
    #[rustfmt::skip]
    const TRICKY: &[&str] = &[
        "on", "yes", "no", "y", "n", "Off", "~", "null", "NULL", "true", "0755", "0o17", "1e3",
        "0x1F", "0xA", "1_000", "12:30:00", "1:20", "2001-12-14", "<<", "=", ".inf", "-.inf",
        ".nan", "+1", "-x", "- x", "a: b", "a #b", "#c", "line1\nline2", "trail\n", "\"q'",
        "é日本🎉", "", " lead", "trail ", "\t", "\u{85}", "\u{2028}", "\u{feff}x", "\u{0}",
        "%x", "@x", "`x", "!x", "&x", "*x", "|", ">", "[", "{", "?", ",x", "2", "0.25", "-1",
        "Y", "TRUE", "False", "OFF", "On", "NO", "nULL", "Null", "1.0e+30", ".5", "0b1010",
        "190:20:30.15", "2001-12-14t21:59:43.10-05:00", "-0", "---", "...", "-inf", ".NaN",
        "\u{7f}", "\u{9f}", "\u{2029}", "\u{fffe}", "\r\n", "\\", "a\\b", "x:", ":x", "a:b",
        "? x", "\u{1b}[0m", "1E3", "1.5e", "100m ", "0x10m",
    ];

    /// Building blocks for generated strings: YAML indicators, reserved words, number
    /// fragments and characters that need escaping.
    #[rustfmt::skip]
    const PIECES: &[&str] = &[
        "on", "Off", "yes", "Y", "n", "NO", "true", "False", "null", "NULL", "~", "0", "7",
        "12", "0x", "0o", "0b", "1_000", "e", "E", "e+", "-", ".", "+", ":", " ", "#", "_",
        "/", "<<", "=", "inf", ".inf", "nan", ".NaN", "Ki", "Gi", "m", "k", "2001-12-14",
        "12:30", "\n", "\r", "\t", "\0", "\u{7f}", "\u{85}", "\u{9f}", "\u{a0}", "\u{2028}",
        "\u{2029}", "\u{feff}", "\u{fffe}", "é", "日本", "🎉", "\"", "'", "\\", "!", "&", "*",
        "%", "@", "`", "|", ">", "[", "]", "{", "}", "?", ",", "a", "x", "app.kubernetes.io/name",
        "---", "...",
    ];

    fn string(s: &str) -> Value {
        Value::String(s.to_owned())
    }

    fn mapping(entries: &[(&str, Value)]) -> Value {
        Value::Mapping(
            entries
                .iter()
                .map(|(k, v)| (string(k), v.clone()))
                .collect(),
        )
    }

    fn parse(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap_or_else(|e| panic!("cannot parse {text:?}: {e}"))
    }

    /// The implicit resolvers of YAML 1.1 (yaml.org/type/*.html), plus PyYAML's wider
    /// base-10 float and time zone.
    static YAML_1_1: LazyLock<Vec<(&str, Regex)>> = LazyLock::new(|| {
        anchored(&[
            (
                "bool",
                "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
            ),
            ("null", "~|null|Null|NULL|"),
            (
                "int",
                "[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+\
                 |[-+]?[1-9][0-9_]*(:[0-5]?[0-9])+",
            ),
            (
                "float",
                concat!(
                    r"[-+]?([0-9][0-9_]*)?\.[0-9.]*([eE][-+][0-9]+)?",
                    r"|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*",
                    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)",
                    r"|[-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?",
                ),
            ),
            (
                "timestamp",
                concat!(
                    r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
                    r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
                    r"([Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]",
                    // PyYAML's time zone; the spec's own example `... 21:59:43.10 -5` needs it.
                    r"(\.[0-9]*)?([ \t]*(Z|[-+][0-9][0-9]?(:[0-9][0-9])?))?",
                ),
            ),
            ("merge", "<<"),
            ("value", "="),
        ])
    });

    /// The YAML 1.2 core schema's resolvers.
    static YAML_1_2: LazyLock<Vec<(&str, Regex)>> = LazyLock::new(|| {
        anchored(&[
            ("null", "null|Null|NULL|~|"),
            ("bool", "true|True|TRUE|false|False|FALSE"),
            ("int", "[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"),
            (
                "float",
                r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.nan|\.NaN|\.NAN",
            ),
        ])
    });

    fn anchored(patterns: &[(&'static str, &str)]) -> Vec<(&'static str, Regex)> {
        patterns
            .iter()
            .map(|&(name, re)| (name, Regex::new(&format!("^(?:{re})$")).unwrap()))
            .collect()
    }

    /// What a plain scalar would resolve to other than a string, if anything.
    fn implicit_type(plain: &str) -> Option<String> {
        let hit = |schema: &str, resolvers: &[(&str, Regex)]| {
            resolvers
                .iter()
                .find(|(_, re)| re.is_match(plain))
                .map(|(name, _)| format!("YAML {schema} {name}"))
        };
        hit("1.1", &YAML_1_1).or_else(|| hit("1.2", &YAML_1_2))
    }

    /// The plain (unquoted) scalars in text written by this module, in order. It knows
    /// only the shapes the emitter writes (`- ` prefixes, `? key` / `: value`, `key: value`,
    /// flow `{}` and `[]`) and panics on anything else rather than miss a scalar.
    fn plain_scalars(text: &str) -> Vec<&str> {
        let mut found = Vec::new();
        for line in text.lines() {
            let mut rest = line.trim_start_matches(' ');
            while let Some(after) = rest.strip_prefix("- ") {
                rest = after;
            }
            if rest == ":" {
                continue;
            }
            if let Some(after) = rest.strip_prefix("? ").or_else(|| rest.strip_prefix(": ")) {
                rest = after;
            }
            while !rest.is_empty() {
                let end = if rest.starts_with('"') {
                    let bytes = rest.as_bytes();
                    let mut i = 1;
                    while bytes[i] != b'"' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                    i + 1
                } else {
                    let end = rest.find(':').unwrap_or(rest.len());
                    let token = &rest[..end];
                    if token != "{}" && token != "[]" {
                        found.push(token);
                    }
                    end
                };
                rest = match &rest[end..] {
                    "" | ":" => "",
                    after => after
                        .strip_prefix(": ")
                        .unwrap_or_else(|| panic!("unexpected text {after:?} in line {line:?}")),
                };
            }
        }
        found
    }

    fn assert_plain_scalars_are_strings(text: &str) {
        for plain in plain_scalars(text) {
            if let Some(kind) = implicit_type(plain) {
                panic!("plain scalar {plain:?} reads as a {kind} in {text:?}");
            }
        }
    }

    #[test]
    fn tricky_strings_round_trip_as_values_keys_items_and_documents() {
        for &s in TRICKY {
            let docs = [
                string(s),
                mapping(&[("k", string(s))]),
                mapping(&[(s, string("v"))]),
                Value::Sequence(vec![string(s), mapping(&[(s, string(s))])]),
            ];
            for doc in docs {
                let text = emit_document(&doc).unwrap();
                assert_eq!(parse(&text), doc, "emitted as {text:?}");
                assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
                assert_plain_scalars_are_strings(&text);
            }
        }
    }

    #[test]
    fn only_safe_strings_are_plain() {
        #[rustfmt::skip]
        let plain = [
            "app.kubernetes.io/name", "nvidia.com/gpu", "gpu-fraction", "_", "/", "a", "x1",
            "batch/v1", "Never", "inf", "NaN", "yess", "nope", "100m", "16Gi", "4G", "0.5Gi", "1E",
            "0755m",
        ];
        for s in plain {
            assert_eq!(emit_document(&string(s)).unwrap(), format!("{s}\n"));
            assert_eq!(
                emit_document(&mapping(&[(s, string(s))])).unwrap(),
                format!("{s}: {s}\n")
            );
        }
        #[rustfmt::skip]
        let quoted = [
            "0xA", "1e3", "1E3", "2", "0.25", "on", "yES", "~", "-x", "1.Gi", ".5Gi", "1_0m",
        ];
        for s in TRICKY.iter().chain(&quoted) {
            let text = emit_document(&string(s)).unwrap();
            assert!(
                text.starts_with('"'),
                "{s:?} should be quoted, got {text:?}"
            );
        }
    }

    #[test]
    fn escapes_are_exact() {
        let cases = [
            ("", r#""""#),
            ("a\\b\"c", r#""a\\b\"c""#),
            ("\n\t\r\0", r#""\n\t\r\0""#),
            (
                "\u{1}\u{1f}\u{7f}\u{80}\u{85}\u{9f}",
                r#""\x01\x1F\x7F\x80\x85\x9F""#,
            ),
            (
                "\u{2028}\u{2029}\u{feff}\u{fffe}\u{ffff}",
                r#""\u2028\u2029\uFEFF\uFFFE\uFFFF""#,
            ),
            ("é日本🎉\u{a0}\u{10ffff}", "\"é日本🎉\u{a0}\u{10ffff}\""),
            (" lead", r#"" lead""#),
        ];
        for (input, expected) in cases {
            assert_eq!(
                emit_document(&string(input)).unwrap(),
                format!("{expected}\n")
            );
        }
    }

    #[test]
    fn yaml_1_1_check_catches_known_misreads() {
        #[rustfmt::skip]
        let misread = [
            "y", "Y", "yes", "NO", "on", "Off", "~", "", "null", "0755", "0b101", "0x1F", "1_000",
            "12:30:00", "1:20", "190:20:30.15", "2001-12-14", "2001-12-14 21:59:43.10 -5",
            "<<", "=", ".inf", "-.Inf", ".NaN", "1.0e+30", "0.25", ".5", "+1", "0o17", "1e3",
        ];
        for s in misread {
            assert!(implicit_type(s).is_some(), "{s:?} should be caught");
        }
        for s in [
            "100m",
            "16Gi",
            "4G",
            "app.kubernetes.io/name",
            "inf",
            "1E",
            "_",
        ] {
            assert_eq!(implicit_type(s), None, "{s:?}");
        }
    }

    #[test]
    fn plain_scalar_walker_finds_every_plain_token() {
        let long = "k".repeat(1200);
        let nested = Value::Sequence(vec![Value::Sequence(vec![string("g"), string("-h")])]);
        let doc = mapping(&[
            (
                "a",
                Value::Sequence(vec![
                    string("b"),
                    string("on"),
                    Value::Sequence(vec![]),
                    nested,
                ]),
            ),
            ("c: d", mapping(&[("e", Value::Mapping(Mapping::new()))])),
            (&long, string("f")),
            (&format!("\\\"{long}"), mapping(&[("i", string("j"))])),
        ]);
        let text = emit_document(&doc).unwrap();
        let want = ["i", "j", "a", "b", "g", "e", &long, "f"];
        assert_eq!(plain_scalars(&text), want, "{text}");
    }

    #[test]
    fn job_document_is_pinned() {
        let input = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: train-resnet
  labels:
    nvidia.com/gpu: "1"
    mlk.dev/step: "on"
    app.kubernetes.io/name: train
  annotations: {}
spec:
  backoffLimit: 0
  completions: null
  suspend: false
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: trainer
          image: ghcr.io/acme/train:1.2
          args: ["--lr", "0.25", "--epochs=3"]
          env:
            - name: MODE
              value: "yes"
          resources:
            limits:
              nvidia.com/gpu: 1
              memory: 16Gi
              cpu: 500m
          volumeMounts: []
      nodeSelector: {}
  mlkMatrix:
    - [a, 4.0]
    - - - x
      - {y: 0.25}
"#;
        let expected = r#"apiVersion: batch/v1
kind: Job
metadata:
  annotations: {}
  labels:
    app.kubernetes.io/name: train
    mlk.dev/step: "on"
    nvidia.com/gpu: "1"
  name: train-resnet
spec:
  backoffLimit: 0
  completions: null
  mlkMatrix:
  - - a
    - 4.0
  - - - x
    - "y": 0.25
  suspend: false
  template:
    spec:
      containers:
      - args:
        - "--lr"
        - "0.25"
        - "--epochs=3"
        env:
        - name: MODE
          value: "yes"
        image: "ghcr.io/acme/train:1.2"
        name: trainer
        resources:
          limits:
            cpu: 500m
            memory: 16Gi
            nvidia.com/gpu: 1
        volumeMounts: []
      nodeSelector: {}
      restartPolicy: Never
"#;
        let doc = parse(input);
        let text = emit_document(&doc).unwrap();
        assert_eq!(text, expected);
        assert_eq!(parse(&text), doc);
        assert_eq!(
            emit_document(&parse(&text)).unwrap(),
            text,
            "not idempotent"
        );
    }

    #[test]
    fn documents_are_joined_with_separators() {
        assert_eq!(emit_documents(&[]).unwrap(), "");
        let docs = [
            mapping(&[("a", string("b"))]),
            string("---"),
            Value::Null,
            Value::Sequence(vec![]),
        ];
        let text = emit_documents(&docs).unwrap();
        assert_eq!(text, "a: b\n---\n\"---\"\n---\nnull\n---\n[]\n");
        // serde_yaml's multi-document reader needs the serde trait, which this crate does
        // not depend on; no line of a document is ever `---`, so splitting is exact.
        let back: Vec<Value> = text.split("---\n").map(parse).collect();
        assert_eq!(back, docs);
        assert_eq!(
            emit_document(&Value::Mapping(Mapping::new())).unwrap(),
            "{}\n"
        );
    }

    #[test]
    fn numbers_keep_their_type() {
        let cases: [(Value, &str); 12] = [
            (Value::from(0), "0"),
            (Value::from(-7), "-7"),
            (Value::from(u64::MAX), "18446744073709551615"),
            (Value::from(i64::MIN), "-9223372036854775808"),
            (Value::from(4.0), "4.0"),
            (Value::from(0.25), "0.25"),
            (Value::from(-0.0), "-0.0"),
            (Value::from(1e30), "1.0e+30"),
            (Value::from(1.5e16), "1.5e+16"),
            (Value::from(1e-7), "1.0e-7"),
            (Value::from(5e-324), "5.0e-324"),
            (Value::from(f64::MAX), "1.7976931348623157e+308"),
        ];
        for (value, expected) in cases {
            let text = emit_document(&value).unwrap();
            assert_eq!(text, format!("{expected}\n"));
            assert_eq!(parse(&text), value);
            let kind = implicit_type(expected).unwrap();
            let want = if value.as_f64().is_some() && !value.is_i64() && !value.is_u64() {
                "float"
            } else {
                "int"
            };
            assert_eq!(kind, format!("YAML 1.1 {want}"), "{expected}");
        }
        assert_eq!(emit_document(&Value::Bool(false)).unwrap(), "false\n");
    }

    #[test]
    fn long_keys_use_explicit_syntax() {
        let long = "k".repeat(1500);
        let quoted_long = format!("é{}", "\u{85}".repeat(400));
        let doc = mapping(&[
            (&long, mapping(&[("a", string("b"))])),
            (&quoted_long, Value::Sequence(vec![string("x")])),
            (
                "short",
                Value::Sequence(vec![mapping(&[(&long, string("v")), ("z", Value::Null)])]),
            ),
        ]);
        let text = emit_document(&doc).unwrap();
        assert!(
            text.starts_with(&format!("? {long}\n:\n  a: b\n")),
            "{text}"
        );
        assert!(
            text.contains(&format!("short:\n- ? {long}\n  : v\n  z: null\n")),
            "{text}"
        );
        assert_eq!(parse(&text), doc);
    }

    #[test]
    fn errors_name_the_path() {
        let labels = Value::Mapping([(Value::from(5), string("x"))].into_iter().collect());
        let doc = mapping(&[(
            "spec",
            mapping(&[(
                "template",
                mapping(&[("metadata", mapping(&[("labels", labels)]))]),
            )]),
        )]);
        let err = emit_document(&doc).unwrap_err();
        assert_eq!(
            err,
            EmitError::NonStringKey {
                path: "spec.template.metadata.labels".to_owned(),
                key: "5".to_owned()
            }
        );
        assert_eq!(
            err.to_string(),
            "mapping at `spec.template.metadata.labels` has the non-string key `5`; keys must be strings"
        );

        let tagged: Value = parse("!secret x");
        let doc = mapping(&[(
            "spec",
            mapping(&[(
                "containers",
                Value::Sequence(vec![mapping(&[("app.kubernetes.io/name", tagged)])]),
            )]),
        )]);
        assert_eq!(
            emit_document(&doc).unwrap_err(),
            EmitError::Tagged {
                path: r#"spec.containers[0]["app.kubernetes.io/name"]"#.to_owned(),
                tag: "!secret".to_owned()
            }
        );

        let docs = [Value::Null, mapping(&[("ratio", Value::from(f64::NAN))])];
        assert_eq!(
            emit_documents(&docs).unwrap_err(),
            EmitError::NonFiniteFloat {
                path: "documents[1].ratio".to_owned(),
                value: "NaN".to_owned()
            }
        );
        assert_eq!(
            emit_document(&Value::from(f64::NEG_INFINITY))
                .unwrap_err()
                .to_string(),
            "number at `<root>` is -inf; only finite numbers can be emitted"
        );
        let bool_key = Value::Mapping([(Value::Bool(true), Value::Null)].into_iter().collect());
        assert!(matches!(
            emit_document(&Value::Sequence(vec![bool_key])),
            Err(EmitError::NonStringKey { path, key }) if path == "[0]" && key == "true"
        ));
    }

    fn tricky_string() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|p| p.concat()),
            "[0-9]{1,4}(\\.[0-9]{0,3})?(Ki|Mi|Gi|m|k|M|G|E|e|e3|x|_)?",
            "[A-Za-z_/~.-][A-Za-z0-9_./ -]{0,6}",
            any::<String>(),
        ]
    }

    fn any_string() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), tricky_string()]
    }

    fn tree(leaf: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
        leaf.prop_recursive(4, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Sequence),
                prop::collection::vec((any_string(), inner), 0..6).prop_map(|entries| {
                    Value::Mapping(
                        entries
                            .into_iter()
                            .map(|(k, v)| (Value::String(k), v))
                            .collect(),
                    )
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_string_round_trips_as_value_and_key(s in any::<String>(), t in tricky_string()) {
            for s in [&s, &t] {
                let single = emit_document(&Value::String(s.clone())).unwrap();
                prop_assert_eq!(single.matches('\n').count(), 1, "{:?}", single);
                prop_assert!(
                    !single.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}', '\u{feff}']),
                    "raw line break or BOM in {:?}",
                    single
                );
                let doc = Value::Sequence(vec![
                    Value::String(s.clone()),
                    mapping(&[(s, Value::String(s.clone())), ("k", Value::String(s.clone()))]),
                ]);
                let text = emit_document(&doc).unwrap();
                prop_assert_eq!(parse(&text), doc, "{}", text);
                assert_plain_scalars_are_strings(&text);
            }
        }

        #[test]
        fn string_trees_round_trip(doc in tree(any_string().prop_map(Value::String).boxed())) {
            let text = emit_document(&doc).unwrap();
            prop_assert_eq!(parse(&text), doc, "{}", text);
            assert_plain_scalars_are_strings(&text);
        }

        #[test]
        fn mixed_trees_round_trip(doc in tree(prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            any_string().prop_map(Value::String),
        ].boxed())) {
            let text = emit_document(&doc).unwrap();
            prop_assert_eq!(parse(&text), doc, "{}", text);
        }

        #[test]
        fn floats_read_back_as_the_same_float(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let text = emit_document(&Value::from(f)).unwrap();
            let plain = text.trim_end();
            prop_assert_eq!(parse(&text).as_f64(), Some(f));
            prop_assert_eq!(implicit_type(plain), Some("YAML 1.1 float".to_owned()), "{}", plain);
            prop_assert_eq!(plain.parse::<f64>().ok(), Some(f));
        }
    }

    /// About 500 deterministic strings: the lists above, Kubernetes quantities, and
    /// LCG-generated mixes of ASCII (control characters included), non-ASCII and pieces.
    fn generated_strings() -> Vec<String> {
        let mut out: Vec<String> = TRICKY
            .iter()
            .chain(PIECES)
            .map(|s| (*s).to_owned())
            .collect();
        let alphabet: Vec<char> = (0u8..0x80)
            .map(char::from)
            .chain("é日本🎉\u{85}\u{a0}\u{9f}\u{2028}\u{2029}\u{feff}\u{fffe}\u{ffff}\u{d7ff}\u{e000}\u{10ffff}".chars())
            .collect();
        let word = b"abcXYZ019_./-";
        #[rustfmt::skip]
        let suffixes = [
            "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as usize
        };
        for i in 0..60 {
            let suffix = suffixes[next() % suffixes.len()];
            out.push(match i % 3 {
                0 => format!("{}{suffix}", next() % 5000),
                1 => format!("{}.{}{suffix}", next() % 100, next() % 1000),
                _ => format!("0{}{suffix}", next() % 100),
            });
        }
        for _ in 0..40 {
            let mut s = String::from(char::from(b"aZ_/"[next() % 4]));
            for _ in 0..next() % 8 {
                s.push(char::from(word[next() % word.len()]));
            }
            out.push(s);
        }
        out.push("k".repeat(1100));
        out.push("\u{85}".repeat(300));
        while out.len() < 520 {
            let mut s = String::new();
            for _ in 0..next() % 10 {
                if next() % 4 == 0 {
                    s.push_str(PIECES[next() % PIECES.len()]);
                } else {
                    s.push(alphabet[next() % alphabet.len()]);
                }
            }
            out.push(s);
        }
        out
    }

    /// A minimal reader for `json.dumps` output, so that the PyYAML test needs no JSON crate.
    struct Json<'a> {
        bytes: &'a [u8],
        pos: usize,
    }

    impl Json<'_> {
        fn peek(&mut self) -> u8 {
            while self.bytes[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            self.bytes[self.pos]
        }

        fn expect(&mut self, byte: u8) {
            assert_eq!(self.peek(), byte, "at byte {}", self.pos);
            self.pos += 1;
        }

        fn value(&mut self) -> Value {
            match self.peek() {
                b'{' => {
                    self.pos += 1;
                    let mut map = Mapping::new();
                    if self.peek() == b'}' {
                        self.pos += 1;
                        return Value::Mapping(map);
                    }
                    loop {
                        let key = self.string();
                        self.expect(b':');
                        map.insert(Value::String(key), self.value());
                        if self.peek() == b'}' {
                            self.pos += 1;
                            return Value::Mapping(map);
                        }
                        self.expect(b',');
                    }
                }
                b'[' => {
                    self.pos += 1;
                    let mut seq = Vec::new();
                    if self.peek() == b']' {
                        self.pos += 1;
                        return Value::Sequence(seq);
                    }
                    loop {
                        seq.push(self.value());
                        if self.peek() == b']' {
                            self.pos += 1;
                            return Value::Sequence(seq);
                        }
                        self.expect(b',');
                    }
                }
                b'"' => Value::String(self.string()),
                _ => {
                    let start = self.pos;
                    while self.pos < self.bytes.len()
                        && matches!(self.bytes[self.pos], b'a'..=b'z' | b'0'..=b'9' | b'-' | b'+' | b'.' | b'E')
                    {
                        self.pos += 1;
                    }
                    let token = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap();
                    match token {
                        "null" => Value::Null,
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        _ if token.contains(['.', 'e', 'E']) => {
                            Value::from(token.parse::<f64>().unwrap())
                        }
                        _ => token
                            .parse::<u64>()
                            .map(Value::from)
                            .unwrap_or_else(|_| Value::from(token.parse::<i64>().unwrap())),
                    }
                }
            }
        }

        fn hex4(&mut self) -> u32 {
            let hex = std::str::from_utf8(&self.bytes[self.pos..self.pos + 4]).unwrap();
            self.pos += 4;
            u32::from_str_radix(hex, 16).unwrap()
        }

        fn string(&mut self) -> String {
            self.expect(b'"');
            let mut out = Vec::new();
            loop {
                let byte = self.bytes[self.pos];
                self.pos += 1;
                match byte {
                    b'"' => return String::from_utf8(out).unwrap(),
                    b'\\' => {
                        let escape = self.bytes[self.pos];
                        self.pos += 1;
                        let c = match escape {
                            b'u' => {
                                let high = self.hex4();
                                if (0xD800..0xDC00).contains(&high) {
                                    self.pos += 2; // the `\u` of the low surrogate
                                    let low = self.hex4();
                                    char::from_u32(
                                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00),
                                    )
                                    .unwrap()
                                } else {
                                    char::from_u32(high).unwrap()
                                }
                            }
                            b'n' => '\n',
                            b't' => '\t',
                            b'r' => '\r',
                            b'b' => '\u{8}',
                            b'f' => '\u{c}',
                            other => char::from(other),
                        };
                        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                    }
                    _ => out.push(byte),
                }
            }
        }
    }

    #[test]
    fn pyyaml_reads_what_serde_yaml_reads() {
        let has_pyyaml = Command::new("python3")
            .args(["-c", "import yaml"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if !has_pyyaml {
            eprintln!("skipped pyyaml_reads_what_serde_yaml_reads: python3 with PyYAML not found");
            return;
        }
        let strings = generated_strings();
        assert!(strings.len() >= 500);
        let all = |strings: &[String]| Value::Sequence(strings.iter().map(|s| string(s)).collect());
        let mut doc = mapping(&[
            ("strings", all(&strings)),
            (
                "keys",
                Value::Mapping(strings.iter().map(|s| (string(s), string(s))).collect()),
            ),
            ("nested", Value::Sequence(vec![all(&strings[..20])])),
        ]);
        assert_plain_scalars_are_strings(&emit_document(&doc).unwrap());

        #[rustfmt::skip]
        let floats = [0.0, 4.0, 0.25, -0.0, 1e30, 1.5e16, 1e-7, 5e-324, f64::MAX, 123_456.789];
        let ints = [
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            Value::from(-3),
        ];
        let numbers = floats.into_iter().map(Value::from).chain(ints).collect();
        let other = vec![
            Value::Null,
            Value::Bool(true),
            Value::Mapping(Mapping::new()),
        ];
        if let Value::Mapping(map) = &mut doc {
            map.insert(string("numbers"), Value::Sequence(numbers));
            map.insert(string("other"), Value::Sequence(other));
        }
        let text = emit_document(&doc).unwrap();

        let mut child = Command::new("python3")
            .args([
                "-c",
                "import sys,yaml,json; print(json.dumps(yaml.safe_load(sys.stdin)))",
            ])
            .env("PYTHONIOENCODING", "utf-8")
            .env("PYTHONUTF8", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap().unwrap();
        assert!(
            output.status.success(),
            "PyYAML failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );

        let back = Json {
            bytes: &output.stdout,
            pos: 0,
        }
        .value();
        let (Value::Mapping(back), Value::Mapping(want)) = (&back, &doc) else {
            panic!("PyYAML did not read a mapping");
        };
        for (key, value) in want {
            match (value, &back[key]) {
                (Value::Sequence(want), Value::Sequence(got)) => {
                    assert_eq!(want.len(), got.len());
                    for (w, g) in want.iter().zip(got) {
                        assert_eq!(w, g, "under {key:?}");
                    }
                }
                (want, got) => assert_eq!(want, got, "under {key:?}"),
            }
        }
        assert_eq!(back.len(), want.len());
    }
}
