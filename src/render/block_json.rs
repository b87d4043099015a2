//! A fast reader for the YAML that templates usually produce: block mappings whose values
//! are plain words, integers or one-line JSON (`labels: {{ meta.labels }}` renders as
//! `labels: {"app":"x"}`).
//!
//! Reading rendered text back with `serde_yaml` dominated the time of `mlk render` (libyaml
//! scans every byte of the JSON values). [`parse`] reads this subset with a line scanner and
//! `serde_json`, and returns `None` for anything outside it, where the caller falls back to
//! `serde_yaml`. It accepts only text that `serde_yaml` reads as exactly the same value, so
//! the choice never shows in the output; the tests compare the two readers.

use serde::Deserialize;
use serde_yaml::{Mapping, Number, Value};

/// Deepest block nesting read here; deeper documents go to `serde_yaml`.
const MAX_DEPTH: usize = 32;

/// Longest mapping key read here, in bytes. libyaml gives up on implicit keys longer than
/// 1024 characters; written as JSON, a key of this length stays far below that.
const MAX_KEY: usize = 160;

/// Reads `text` as one YAML document, or `None` when it is outside the subset.
pub(super) fn parse(text: &str) -> Option<Value> {
    if !chars_ok(text) {
        return None;
    }
    let lines: Vec<Line<'_>> = text
        .split('\n')
        .filter(|l| !l.trim_start_matches(' ').is_empty())
        .map(|l| {
            let rest = l.trim_start_matches(' ');
            Line {
                indent: l.len() - rest.len(),
                rest,
            }
        })
        .collect();
    let first = lines.first()?;
    let mut pos = 0;
    let map = mapping(&lines, &mut pos, first.indent, 0)?;
    (pos == lines.len()).then_some(Value::Mapping(map))
}

/// A non-blank line: its indentation and the text after it.
struct Line<'a> {
    indent: usize,
    rest: &'a str,
}

/// Whether every character of `text` means the same inside a JSON string and a YAML
/// double-quoted scalar on one line: no tabs or carriage returns (YAML whitespace rules),
/// and none of the characters libyaml rejects or reads as line breaks.
fn chars_ok(text: &str) -> bool {
    let ascii_ok = |b: u8| b == b'\n' || (0x20..0x7f).contains(&b);
    if text.bytes().all(ascii_ok) {
        return true;
    }
    text.chars().all(|c| {
        if c.is_ascii() {
            u8::try_from(c).is_ok_and(ascii_ok)
        } else {
            matches!(c, '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
                && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
        }
    })
}

/// Reads the block mapping whose keys are at `indent`, starting at `lines[*pos]`.
fn mapping(lines: &[Line<'_>], pos: &mut usize, indent: usize, depth: usize) -> Option<Mapping> {
    if depth > MAX_DEPTH {
        return None;
    }
    let mut map = Mapping::new();
    while let Some(line) = lines.get(*pos) {
        if line.indent < indent {
            break;
        }
        if line.indent > indent {
            return None;
        }
        let (key, value) = line.rest.split_once(':')?;
        if !is_word(key) || key.len() > MAX_KEY {
            return None;
        }
        *pos += 1;
        let value = match value.strip_prefix(' ') {
            _ if value.is_empty() => None,
            Some(v) if !v.trim_end_matches(' ').is_empty() => Some(v.trim_start_matches(' ')),
            Some(_) => None,
            // `key:value` is one plain scalar in YAML, not a key.
            None => return None,
        };
        let value = match value {
            Some(v) => scalar_or_json(v)?,
            None => match lines.get(*pos) {
                Some(next) if next.indent > indent => {
                    Value::Mapping(mapping(lines, pos, next.indent, depth + 1)?)
                }
                _ => Value::Null,
            },
        };
        if map.insert(Value::String(key.to_owned()), value).is_some() {
            // serde_yaml rejects duplicate keys; let it say so.
            return None;
        }
    }
    Some(map)
}

/// A value written on the key's line: JSON, or a plain word or integer.
fn scalar_or_json(v: &str) -> Option<Value> {
    if v.starts_with(['{', '[', '"']) {
        return json(v);
    }
    let v = v.trim_end_matches(' ');
    match v {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        "null" => return Some(Value::Null),
        _ => {}
    }
    if let Some(n) = integer(v) {
        return Some(Value::Number(n));
    }
    is_word(v).then(|| Value::String(v.to_owned()))
}

/// A decimal integer without sign tricks or leading zeros, as serde_yaml reads it.
fn integer(v: &str) -> Option<Number> {
    let digits = v.strip_prefix('-').unwrap_or(v);
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    if !plain || v == "-0" {
        return None;
    }
    if v.starts_with('-') {
        v.parse::<i64>().ok().map(Number::from)
    } else {
        v.parse::<u64>().ok().map(Number::from)
    }
}

/// A plain scalar that YAML reads as this very string: a letter, then letters, digits and
/// `_ . / -`, and none of the words YAML 1.1 or 1.2 readers turn into something else.
fn is_word(s: &str) -> bool {
    let mut bytes = s.bytes();
    let starts_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic());
    let rest_ok =
        bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'));
    let special = [
        "true", "false", "null", "y", "n", "yes", "no", "on", "off", "inf", "infinity", "nan",
    ]
    .iter()
    .any(|w| s.eq_ignore_ascii_case(w));
    starts_ok && rest_ok && !special
}

/// One line of JSON. Floats are left to serde_yaml, whose float parsing may round
/// differently; so are surrogate escapes (`\ud83d`), which libyaml rejects.
fn json(v: &str) -> Option<Value> {
    if has_surrogate_escape(v) {
        return None;
    }
    let mut de = serde_json::Deserializer::from_str(v);
    let value = Value::deserialize(&mut de).ok()?;
    de.end().ok()?;
    json_ok(&value).then_some(value)
}

/// Whether `v` holds an escape `\\uD800`–`\\uDFFF`; an escaped backslash followed by `uD8…`
/// is text, not an escape.
fn has_surrogate_escape(v: &str) -> bool {
    let b = v.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'u')
            && matches!(b.get(i + 2), Some(b'd' | b'D'))
            && matches!(b.get(i + 3), Some(b'8'..=b'9' | b'a'..=b'f' | b'A'..=b'F'))
        {
            return true;
        }
        // The backslash and the character it escapes.
        i += 2;
    }
    false
}

/// No floats, and no key too long for an implicit key.
fn json_ok(v: &Value) -> bool {
    match v {
        Value::Number(n) => !n.is_f64(),
        Value::Sequence(s) => s.iter().all(json_ok),
        Value::Mapping(m) => m
            .iter()
            .all(|(k, v)| k.as_str().is_some_and(|k| k.len() <= MAX_KEY) && json_ok(v)),
        Value::Null | Value::Bool(_) | Value::String(_) => true,
        Value::Tagged(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What serde_yaml reads, if it reads exactly one non-null document.
    fn reference(text: &str) -> Option<Value> {
        let mut docs = Vec::new();
        for doc in serde_yaml::Deserializer::from_str(text) {
            docs.push(Value::deserialize(doc).ok()?);
        }
        match docs.as_slice() {
            [v] if !v.is_null() => Some(v.clone()),
            _ => None,
        }
    }

    /// `parse` either declines or agrees with serde_yaml.
    fn agrees(text: &str) {
        if let Some(fast) = parse(text) {
            assert_eq!(Some(fast), reference(text), "text: {text:?}");
        }
    }

    #[test]
    fn reads_template_output() {
        let text = r#"apiVersion: batch/v1
kind: Job
metadata:
  name: "train-0123abcd"
  labels: {"app.kubernetes.io/managed-by":"mlk","team":"ml"}
  annotations: {}
spec:
  backoffLimit: 2
  suspend: true
  template:
    metadata: {"labels":{"a":"b"}}
    spec: {"containers":[{"command":["python","-c","print(\"hi\")\n"],"env":[{"name":"A","value":"é ☃ \u0000"}]}],"n":-3,"z":null}
  rdzvBackend: c10d
  cleanPodPolicy: None
  empty:
  nprocPerNode: "2"
"#;
        let fast = parse(text).unwrap();
        assert_eq!(Some(fast), reference(text));
    }

    /// The built-in workload templates render inside the subset, so they take the fast path.
    #[test]
    fn builtin_templates_render_inside_the_subset() {
        let templates = super::super::Templates::new(None).unwrap();
        let meta = serde_json::json!({
            "name": "p-train-0123abcd", "namespace": "ml",
            "labels": {"app.kubernetes.io/managed-by": "mlk", "mlk.dev/step": "train"},
            "annotations": {"mlk.dev/cache-key": "ab12", "argocd.argoproj.io/sync-wave": "1"},
        });
        let pod = serde_json::json!({
            "metadata": {"labels": {"mlk.dev/step": "train"}},
            "spec": {"restartPolicy": "Never", "containers": [{
                "name": "main", "image": "python:3.12-slim",
                "command": ["python", "-c", "print('a: b # c')\n", "{{ x }}", "é"],
                "env": [{"name": "A", "value": "1"}],
                "resources": {"requests": {"cpu": "1"}, "limits": {"nvidia.com/gpu": "2"}},
            }]},
        });
        let step = serde_json::json!({
            "retries": 2, "timeout_seconds": 3600, "ttl_after_finished_seconds": 86400,
            "pytorch": {"workers": 3, "nproc_per_node": 2, "elastic": {"min": 2, "max": 4}},
        });
        for (name, suspend) in [
            ("job.yaml", true),
            ("job.yaml", false),
            ("pytorchjob.yaml", true),
            ("inferenceservice.yaml", false),
        ] {
            let ctx = minijinja::context! {
                step => minijinja::Value::from(minijinja::value::Serde(&step)),
                meta => minijinja::Value::from(minijinja::value::Serde(&meta)),
                pod => minijinja::Value::from(minijinja::value::Serde(&pod)),
                predictor => minijinja::Value::from(minijinja::value::Serde(&pod["spec"])),
                suspend,
            };
            let text = templates
                .env
                .get_template(name)
                .unwrap()
                .render(ctx)
                .unwrap();
            assert!(parse(&text).is_some(), "{name} left the subset:\n{text}");
            agrees(&text);
        }
    }

    #[test]
    fn only_real_surrogate_escapes_count() {
        assert!(has_surrogate_escape(r#""\ud83d""#));
        assert!(has_surrogate_escape(r#""x\\\uDFFF""#));
        // An escaped backslash, then the text `uD8`: found by the property test below.
        assert!(!has_surrogate_escape(r#""\\uD8""#));
        assert!(!has_surrogate_escape(r#""\u00e9\\""#));
        assert_eq!(
            parse("a: {\"\\\\uD8\": null}\n").map(|v| v["a"]["\\uD8"].is_null()),
            Some(true)
        );
    }

    #[test]
    fn declines_what_it_does_not_know() {
        for text in [
            "a: 1.5\n",
            "a: {\"x\": 1.0}\n",
            "a: 1e3\n",
            "a: [1e3]\n",
            "a: 0x10\n",
            "a: 010\n",
            "a: -0\n",
            "a: +1\n",
            "a: 99999999999999999999\n",
            "a: yes\n",
            "a: True\n",
            "a: ~\n",
            "a: Null\n",
            "on: x\n",
            "a: 'x'\n",
            "a: x y\n",
            "a: x # c\n",
            "# c\na: 1\n",
            "a: {\"x\": 1} # c\n",
            "a: {\"x\": 1}}\n",
            "a: \"\\ud83d\\ude00\"\n",
            "a: \"\u{2028}\"\n",
            "a: \"\u{85}\"\n",
            "a:\t1\n",
            "a: 1\r\n",
            "a: 1\na: 2\n",
            "a: {\"x\":1,\"x\":2}\n",
            "a:b\n",
            "a: |\n  x\n",
            "a:\n- x\n",
            "- a\n",
            "---\na: 1\n",
            "a: 1\n---\nb: 2\n",
            "a: 1\n  b: 2\n",
            "a:\n    b: 1\n  c: 2\n",
            "a: &x 1\n",
            "a: !t 1\n",
            "\"a\": 1\n",
            "",
            "\n\n",
        ] {
            assert_eq!(parse(text), None, "text: {text:?}");
            agrees(text);
        }
        let long_key = format!("a: {{\"{}\": 1}}\n", "k".repeat(2000));
        assert_eq!(parse(&long_key), None);
    }

    #[test]
    fn blank_lines_indentation_and_nulls_match() {
        for text in [
            "a:\n\n  b: 1\n\nc:\n",
            "  a: 1\n  b:\n    c: x\n",
            "a:\nb: 2\n",
            "a:   \n  b: 1  \n",
            "a: \"x\"   \n",
            "a: []\nb: {}\nc: \"\"\nd: -7\ne: 0\n",
        ] {
            assert!(parse(text).is_some(), "text: {text:?}");
            agrees(text);
        }
    }

    fn piece() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("\n".to_owned()),
            Just(" ".to_owned()),
            Just("  ".to_owned()),
            Just(": ".to_owned()),
            Just(":".to_owned()),
            Just("-".to_owned()),
            Just("#".to_owned()),
            Just("key".to_owned()),
            Just("k.io/x-y_z".to_owned()),
            Just("true".to_owned()),
            Just("null".to_owned()),
            Just("yes".to_owned()),
            Just("0".to_owned()),
            Just("12".to_owned()),
            Just("1.5".to_owned()),
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just("\"".to_owned()),
            Just("\"s\"".to_owned()),
            Just("\\".to_owned()),
            Just("\\u00e9".to_owned()),
            Just("\\ud800".to_owned()),
            Just("é".to_owned()),
            Just("\t".to_owned()),
            Just("'".to_owned()),
            Just("&a".to_owned()),
            Just("*a".to_owned()),
            Just("!".to_owned()),
            Just("|".to_owned()),
            Just("---".to_owned()),
            "[a-z0-9 :\\[\\]{},\"\n-]{1,6}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Random text built from YAML and JSON tokens: never a disagreement.
        #[test]
        fn never_disagrees_with_serde_yaml(pieces in prop::collection::vec(piece(), 1..40)) {
            agrees(&pieces.concat());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// Text shaped like template output, with odd keys, values and spacing: never a
        /// disagreement.
        #[test]
        fn never_disagrees_on_lines(
            entries in prop::collection::vec(
                (key(), sep(), prop_oneof![
                    2 => value().prop_map(|v| (v, Vec::new())),
                    1 => prop::collection::vec((key(), sep(), value()), 0..4)
                        .prop_map(|nested| (String::new(), nested)),
                ]),
                1..6,
            ),
            nested_indent in 1..4usize,
        ) {
            let mut text = String::new();
            for (key, sep, (value, nested)) in &entries {
                text.push_str(&format!("{key}{sep}{value}\n"));
                for (k, s, v) in nested {
                    text.push_str(&format!("{}{k}{s}{v}\n", " ".repeat(nested_indent)));
                }
            }
            agrees(&text);
        }

        /// Documents of the accepted shape, with random JSON values: always read, and equal.
        #[test]
        fn reads_generated_documents(
            keys in prop::collection::vec("[a-z][a-zA-Z0-9._/-]{0,12}", 1..8),
            values in prop::collection::vec(json_value(), 1..8),
        ) {
            let mut text = String::from("apiVersion: v1\nkind: X\nspec:\n");
            let mut seen = std::collections::BTreeSet::new();
            for (k, v) in keys.iter().zip(&values) {
                if is_word(k) && seen.insert(k.clone()) {
                    text.push_str(&format!("  {k}: {}\n", serde_json::to_string(v).unwrap()));
                }
            }
            agrees(&text);
            // Line separators and the like are left to serde_yaml on purpose.
            prop_assert!(!chars_ok(&text) || parse(&text).is_some(), "declined: {text:?}");
        }
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![8 => "[a-z]{1,3}", 1 => "on|true|x.y/z|-|\"q\"|a b"]
    }

    fn sep() -> impl Strategy<Value = &'static str> {
        prop_oneof![8 => Just(": "), 1 => Just(":"), 1 => Just(":  ")]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => json_value().prop_map(|v| serde_json::to_string(&v).unwrap_or_default()),
            2 => "|x|-?[0-9]{1,3}|0[0-9]|[A-Za-z][a-z0-9./_-]{0,4}|true|True|no|~|1.5",
            1 => prop::collection::vec(piece(), 0..4).prop_map(|p| p.concat()),
        ]
    }

    fn json_value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::String),
            "[ -~]{0,12}".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map("[ -~]{0,8}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
