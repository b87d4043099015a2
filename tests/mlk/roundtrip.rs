//! Any string a user puts in `command` or an `env` value reaches the rendered YAML intact:
//! a YAML reader gets back exactly the string that was written in the TOML.
//!
//! Strings containing `{{`, `{%` or `{#` are templates, not literal text, so the strategies
//! filter them out, and strings with NUL too, which mlk refuses when it loads the file
//! (no process can receive it; see `tests/fixtures/command-nul.toml`). The env variable is called `NOTE` because credential-like names
//! (`*_KEY`, `*_TOKEN`, …) with literal values are errors.

use std::fmt::Write as _;

use proptest::prelude::*;

use crate::mlk;

/// A TOML basic string (one line, every control character escaped) holding exactly `s`.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c < ' ' && c != '\t') || c == '\u{7f}' => {
                write!(out, "\\u{:04X}", u32::from(c)).unwrap();
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Pieces that YAML readers like to turn into something else, or that need quoting or escapes.
fn yaml_nasty() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "on",
        "yes",
        "no",
        "No",
        "off",
        "y",
        "~",
        "null",
        "Null",
        "true",
        "0755",
        "0o17",
        "0x1F",
        "1e3",
        "1_000",
        "-.5",
        ".inf",
        ".NaN",
        "12:30:00",
        "2026-11-01",
        ": ",
        " #",
        "#",
        "-",
        "- ",
        "? ",
        "---",
        "...",
        "\n",
        "\r\n",
        "\r",
        "\t",
        " ",
        "  ",
        "\"",
        "'",
        "\\",
        "\\n",
        "&a",
        "*a",
        "!tag",
        "!!str",
        "%TAG",
        "@",
        "`",
        "|",
        ">",
        "[",
        "]",
        "{",
        "}",
        ",",
        "=",
        "$(HOME)",
        "$$",
        "é",
        "日本語",
        "🦀",
        "\u{7}",
        "\u{1b}",
        "\u{7f}",
        "\u{85}",
        "\u{a0}",
        "\u{2028}",
        "\u{2029}",
        "\u{feff}",
        "\u{fffe}",
        "\u{ffff}",
        "\u{10ffff}",
    ]);
    prop::collection::vec(pieces, 0..6).prop_map(|v| v.concat())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), yaml_nasty(), "[ -~]{0,8}"]
        .prop_filter("templates are not literal text", |s| !is_template(s))
        .prop_filter("NUL is refused at load", |s| !s.contains('\0'))
}

fn pipeline(a: &str, b: &str, note: &str) -> String {
    format!(
        "[pipeline]\nname = \"roundtrip\"\n\n[steps.echo]\nimage = \"registry.acme.io/tools/echo:1.0\"\ncommand = [\"echo\", {}, {}]\nenv = {{ NOTE = {} }}\n",
        toml_string(a),
        toml_string(b),
        toml_string(note)
    )
}

/// The container of the rendered Job.
fn container(yaml: &str) -> serde_yaml::Value {
    let job: serde_yaml::Value = serde_yaml::from_str(yaml).unwrap();
    assert_eq!(job["kind"], "Job");
    job["spec"]["template"]["spec"]["containers"][0].clone()
}

fn check(dir: &std::path::Path, a: &str, b: &str, note: &str) -> Result<(), TestCaseError> {
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, pipeline(a, b, note)).unwrap();
    let out = mlk(&[
        "render".as_ref(),
        path.as_os_str(),
        "--stack".as_ref(),
        "examples/stacks/dev.toml".as_ref(),
    ]);
    prop_assert_eq!(out.code, 0, "render failed:\n{}", out.stderr);
    let c = container(&out.stdout);
    let command: Vec<String> = serde_yaml::from_value(c["command"].clone()).unwrap();
    prop_assert_eq!(command, vec!["echo".to_owned(), a.to_owned(), b.to_owned()]);
    let env = c["env"].as_sequence().unwrap();
    let value = env
        .iter()
        .find(|e| e["name"] == "NOTE")
        .and_then(|e| e["value"].as_str());
    prop_assert_eq!(value, Some(note));
    Ok(())
}

#[test]
fn the_toml_escaper_is_exact() {
    for s in ["", "a\"b\\c", "\n\r\t\u{0}\u{7f}\u{85}é", "'''"] {
        let doc: toml::Table = format!("x = {}", toml_string(s)).parse().unwrap();
        assert_eq!(doc["x"].as_str(), Some(s));
    }
}

/// Known-nasty values, every one of them, before the random ones.
#[test]
fn tricky_strings_survive_a_render() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("on", "0755", "~"),
        ("yes: no", " #comment", "- item"),
        ("1e3", "null", "\"quoted\" and 'single'"),
        ("line\nbreak", "cr\rlf\r\n", "tab\there"),
        ("bell\u{7}esc\u{1b}", "del\u{7f}", "nel\u{85}"),
        (
            "c1 \u{86}\u{9f}",
            "ls\u{2028} ps\u{2029}  x",
            "bom\u{feff}nonchar\u{fffe}\u{ffff}",
        ),
        ("$(HOME)", "", "  leading and trailing  "),
    ];
    for (a, b, note) in cases {
        if let Err(e) = check(dir.path(), a, b, note) {
            panic!("{a:?} {b:?} {note:?}: {e}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_string_survives_a_render(a in text(), b in text(), note in text()) {
        let dir = tempfile::tempdir().unwrap();
        check(dir.path(), &a, &b, &note)?;
    }
}
