//! Tests of the canonical YAML emitter: exact escapes, pinned documents, and generated
//! values read back by serde_yaml and PyYAML.
//!
//! This module holds what they share: the tricky strings, and a check that no plain scalar
//! would be read as anything but a string (tested here too). The tests themselves are in
//! [`examples`], [`properties`] and [`pyyaml`].

#![allow(clippy::unwrap_used)]

mod examples;
mod properties;
mod pyyaml;

use std::sync::LazyLock;

use regex::Regex;
use serde_yaml::{Mapping, Value};

use super::emit_document;

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
