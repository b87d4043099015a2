//! Tests of the canonical YAML emitter: exact escapes, pinned documents, and generated
//! values read back by serde_yaml and PyYAML.

#![allow(clippy::unwrap_used)]

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
                                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
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
