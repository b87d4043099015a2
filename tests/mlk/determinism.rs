//! Same inputs, same bytes: rendering twice, from another directory, and from a pipeline file
//! whose tables (and inline-table keys) are written in another order.

use std::fmt::Write as _;
use std::path::Path;

use crate::{command, matrix, mlk, root, run};

#[test]
fn rendering_twice_gives_the_same_bytes() {
    for pair in matrix() {
        assert!(
            pair.render() == pair.render(),
            "two renders of {pair:?} differ"
        );
    }
}

/// CI renders from another working directory with absolute paths; so does this test.
#[test]
fn the_working_directory_does_not_matter() {
    let elsewhere = tempfile::tempdir().unwrap();
    for pair in matrix() {
        let here = pair.render();
        let out = run(command().current_dir(elsewhere.path()).args([
            "render".as_ref(),
            root().join(pair.pipeline_path()).as_os_str(),
            "--stack".as_ref(),
            root().join(pair.stack_path()).as_os_str(),
        ]));
        assert_eq!(out.code, 0, "{pair:?}: {}", out.stderr);
        assert!(
            out.stdout == here,
            "{pair:?}: rendering from another directory changed the output"
        );
    }
}

/// A TOML file cut at its top-level `[table]` headers: the text before the first header,
/// then one piece per table.
struct Sections {
    preamble: String,
    tables: Vec<String>,
}

fn sections(text: &str) -> Sections {
    let mut s = Sections {
        preamble: String::new(),
        tables: Vec::new(),
    };
    for line in text.split_inclusive('\n') {
        // Headers start in column 0; script lines inside multi-line strings of the examples
        // do not (the parsed-table comparison below would catch it if one ever did).
        if line.starts_with('[') {
            s.tables.push(String::new());
        }
        match s.tables.last_mut() {
            Some(t) => t.push_str(line),
            None => s.preamble.push_str(line),
        }
    }
    for t in &mut s.tables {
        if !t.ends_with('\n') {
            t.push('\n');
        }
    }
    s
}

impl Sections {
    fn join(&self, order: &[usize]) -> String {
        let mut out = self.preamble.clone();
        for &i in order {
            out.push_str(&self.tables[i]);
        }
        out
    }
}

/// `key = { a = 1, b = { c = 2, d = 3 } }` lines rewritten with every inline table's keys
/// sorted, ascending or descending (one of the two differs from any order with two or more
/// keys). Lines that are not a single TOML key with an inline table are kept.
fn sort_inline_tables(text: &str, descending: bool) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_end();
        let parsed = trimmed
            .split_once(" = {")
            .filter(|_| trimmed.ends_with('}') && !trimmed.starts_with(' '))
            .and_then(|_| trimmed.parse::<toml::Table>().ok());
        match parsed {
            Some(t) if t.len() == 1 && t.values().all(toml::Value::is_table) => {
                let (key, value) = t.iter().next().unwrap();
                write!(out, "{} = {}", toml_key(key), inline(value, descending)).unwrap();
                out.push_str(&line[trimmed.len()..]);
            }
            _ => out.push_str(line),
        }
    }
    out
}

fn toml_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        toml::Value::String(k.to_owned()).to_string()
    }
}

fn inline(v: &toml::Value, descending: bool) -> String {
    match v {
        toml::Value::Table(t) => {
            let mut entries: Vec<(&String, &toml::Value)> = t.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            if descending {
                entries.reverse();
            }
            let items: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), inline(v, descending)))
                .collect();
            format!("{{ {} }}", items.join(", "))
        }
        toml::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|v| inline(v, descending)).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// A copy of a pipeline in the original's directory (so relative inputs still resolve),
/// removed when dropped.
fn sibling(original: &Path, text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::Builder::new()
        .prefix(".mlk-test-reordered-")
        .suffix(".toml")
        .tempfile_in(original.parent().unwrap())
        .unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    f
}

#[test]
fn table_and_key_order_do_not_change_a_byte() {
    for pair in matrix() {
        let original = root().join(pair.pipeline_path());
        let text = std::fs::read_to_string(&original).unwrap();
        let s = sections(&text);
        let n = s.tables.len();
        assert!(n >= 4, "{}: found only {n} tables", pair.pipeline_path());
        let reversed: Vec<usize> = (0..n).rev().collect();
        let rotated: Vec<usize> = (0..n).map(|i| (i + n / 2) % n).collect();
        let variants = [
            ("tables reversed", s.join(&reversed)),
            ("tables rotated", s.join(&rotated)),
            (
                "tables reversed, inline-table keys sorted",
                sort_inline_tables(&s.join(&reversed), false),
            ),
            (
                "tables rotated, inline-table keys sorted in reverse",
                sort_inline_tables(&s.join(&rotated), true),
            ),
        ];
        assert_ne!(
            variants[2].1,
            sort_inline_tables(&s.join(&reversed), true),
            "{}: no inline table with two or more keys was rewritten",
            pair.pipeline
        );
        let expected = pair.render();
        let original_value: toml::Table = text.parse().unwrap();
        for (what, variant) in variants {
            assert_ne!(variant, text, "{what}: the rewrite changed nothing");
            let value: toml::Table = variant.parse().unwrap_or_else(|e| {
                panic!("{what} of {}: not TOML: {e}\n{variant}", pair.pipeline)
            });
            assert_eq!(
                value, original_value,
                "{what} of {} changed the document, not just its order",
                pair.pipeline
            );
            let copy = sibling(&original, &variant);
            let out = mlk(&[
                "render".as_ref(),
                copy.path().as_os_str(),
                "--stack".as_ref(),
                root().join(pair.stack_path()).as_os_str(),
            ]);
            assert_eq!(out.code, 0, "{what} of {pair:?}: {}", out.stderr);
            assert!(
                out.stdout == expected,
                "{what} of {pair:?} renders different bytes"
            );
        }
    }
}

#[test]
fn inline_tables_are_really_reordered() {
    let text = "resources = { cpu = \"1\", memory = \"2Gi\" }\nenv = { B = { secret = \"s\", key = \"k\" }, \"x.y\" = \"1\" }\n    parts = {\"a\": 1}\nname = \"x\"\n";
    assert_eq!(
        sort_inline_tables(text, true),
        "resources = { memory = \"2Gi\", cpu = \"1\" }\nenv = { \"x.y\" = \"1\", B = { secret = \"s\", key = \"k\" } }\n    parts = {\"a\": 1}\nname = \"x\"\n"
    );
    assert_eq!(
        sort_inline_tables(text, false),
        "resources = { cpu = \"1\", memory = \"2Gi\" }\nenv = { B = { key = \"k\", secret = \"s\" }, \"x.y\" = \"1\" }\n    parts = {\"a\": 1}\nname = \"x\"\n"
    );
}
