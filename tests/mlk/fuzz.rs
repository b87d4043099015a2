//! The fuzz target over the loader, the resolver and `mlk check` (issue 12): it mutates the
//! example pipelines and stacks (delete, duplicate, swap and insert lines, odd values, odd
//! characters, truncation) and also writes TOML-ish text from their keys, then requires that
//! nothing panics and that every failure is a diagnostic with an `mlk::` code.
//!
//! Load and resolve run in-process (fast, many cases); rendering is only reachable through the
//! binary, so `mlk check` runs as a process for a twentieth of the cases. `MLK_FUZZ_CASES` sets
//! the in-process count (default 200, so `cargo test` stays fast); the long run is
//! `bench/fuzz.sh` (`MLK_FUZZ_CASES=100000 cargo test --release --test mlk fuzz`).

use std::path::Path;
use std::sync::OnceLock;

use mlk::cache::digest::digest_path;
use mlk::load::{InputDef, StackRef, load};
use mlk::resolve::{InputDigests, Options, resolve};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

use super::{command, files, root, run};

/// Values that are odd somewhere: numbers at the limits, quantities, durations, unicode, NUL,
/// template syntax, wrong types.
const ODD_VALUES: &[&str] = &[
    "0",
    "-1",
    "-0",
    "9223372036854775807",
    "-9223372036854775808",
    "1e308",
    "nan",
    "inf",
    "-inf",
    "0.5",
    "true",
    "[]",
    "{}",
    "[1, \"a\"]",
    "{ a = 1 }",
    "{ secret = \"\", key = \"\" }",
    "\"\"",
    "\" \"",
    "\"0\"",
    "\"-1\"",
    "\"-1Gi\"",
    "\"1e999\"",
    "\"1E+308\"",
    "\"99999999999999999999999Ei\"",
    "\"0.0000000001m\"",
    "\"18446744073709551616\"",
    "\"1.5\"",
    "\"1.5Gi\"",
    "\"1Zi\"",
    "\"1ki\"",
    "\"m\"",
    "\"h\"",
    "\"0s\"",
    "\"-5m\"",
    "\"1h-5m\"",
    "\"1h1h\"",
    "\"99999999999999999999h\"",
    "\"18446744073709551615s\"",
    "\"\\u0000\"",
    "\"a\\u0000b\"",
    "\"é🙂\u{202e}\"",
    "\"\u{ff10}\"",
    "\"{{\"",
    "\"}}\"",
    "\"{{ }}\"",
    "\"{{ params. }}\"",
    "\"{{ params.x }}\"",
    "\"{{ params.dataset }}{{\"",
    "\"{{ steps.x.outputs.y }}\"",
    "\"{{ steps.train.outputs.model }}\"",
    "\"{{ outputs. }}\"",
    "\"{{ run.id }}{{ run.id }}\"",
    "\"{{{{ params.epochs }}}}\"",
    "\"../../../../etc/passwd\"",
    "\"/\"",
    "\"data/\"",
    "\"/dev/zero\"",
    "\"s3://\"",
    "\"registry.example/x@sha256:\"",
];

/// Single characters to insert anywhere.
const ODD_CHARS: &[char] = &[
    '\0', '"', '\'', '[', ']', '{', '}', '=', '\n', '#', '\\', '.', ',', 'é', '🙂', '\u{feff}',
    '\u{7f}', '\r', '\t', '\u{2028}',
];

/// One edit of a file's text; indices are taken modulo the text's size.
#[derive(Debug, Clone)]
enum Edit {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    ReplaceValue(usize, usize),
    CopyLine(usize, usize),
    InsertChar(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let n = 0..10_000usize;
    prop_oneof![
        3 => n.clone().prop_map(Edit::DeleteLine),
        2 => n.clone().prop_map(Edit::DuplicateLine),
        2 => (n.clone(), n.clone()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
        6 => (n.clone(), n.clone()).prop_map(|(a, b)| Edit::ReplaceValue(a, b)),
        2 => (n.clone(), n.clone()).prop_map(|(a, b)| Edit::CopyLine(a, b)),
        2 => (n.clone(), n.clone()).prop_map(|(a, b)| Edit::InsertChar(a, b)),
        1 => n.prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, e: &Edit) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let at = |i: usize| i % lines.len();
    match *e {
        Edit::DeleteLine(i) => {
            let i = at(i);
            lines.remove(i);
        }
        Edit::DuplicateLine(i) => {
            let i = at(i);
            lines.insert(i, lines[i].clone());
        }
        Edit::SwapLines(a, b) => {
            let (a, b) = (at(a), at(b));
            lines.swap(a, b);
        }
        Edit::ReplaceValue(i, v) => {
            let i = at(i);
            let value = ODD_VALUES[v % ODD_VALUES.len()];
            lines[i] = match lines[i].split_once('=') {
                Some((key, _)) => format!("{key}= {value}"),
                None => format!("x = {value}"),
            };
        }
        Edit::CopyLine(from, to) => {
            let line = lines[at(from)].clone();
            let to = at(to);
            lines.insert(to, line);
        }
        Edit::InsertChar(pos, c) => {
            let joined = lines.join("\n");
            let cut = char_boundary(&joined, pos);
            let c = ODD_CHARS[c % ODD_CHARS.len()];
            return format!("{}{c}{}", &joined[..cut], &joined[cut..]);
        }
        Edit::Truncate(pos) => {
            let joined = lines.join("\n");
            return joined[..char_boundary(&joined, pos)].to_owned();
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// The char boundary at or before `pos % (len + 1)`.
fn char_boundary(s: &str, pos: usize) -> usize {
    let mut cut = pos % (s.len() + 1);
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    cut
}

/// The seed texts and what TOML-ish text is built from.
struct Seeds {
    pipelines: Vec<String>,
    stacks: Vec<String>,
    /// Every `[header]` line of the seeds.
    headers: Vec<String>,
    /// Every key (the text before `=`) of the seeds.
    keys: Vec<String>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let read = |dir: &str| -> Vec<String> {
            files(dir, ".toml")
                .iter()
                .map(|p| std::fs::read_to_string(p).unwrap())
                .collect()
        };
        let pipelines = read("examples/pipelines");
        let stacks = read("examples/stacks");
        let mut headers = Vec::new();
        let mut keys = Vec::new();
        for line in pipelines.iter().chain(&stacks).flat_map(|t| t.lines()) {
            let line = line.trim();
            if line.starts_with('[') {
                headers.push(line.to_owned());
            } else if let Some((key, _)) = line.split_once('=')
                && !line.starts_with('#')
            {
                keys.push(key.trim().to_owned());
            }
        }
        headers.sort();
        headers.dedup();
        keys.sort();
        keys.dedup();
        Seeds {
            pipelines,
            stacks,
            headers,
            keys,
        }
    })
}

/// How one file of a case is made.
#[derive(Debug, Clone)]
enum Text {
    /// Seed number `.0` with the edits applied in order.
    Mutated(usize, Vec<Edit>),
    /// Lines of `[header]` or `key = odd value`, from indices into the seeds' lists.
    Built(Vec<(bool, usize, usize)>),
}

fn text() -> impl Strategy<Value = Text> {
    prop_oneof![
        8 => (0..100usize, prop::collection::vec(edit(), 0..6))
            .prop_map(|(s, e)| Text::Mutated(s, e)),
        1 => prop::collection::vec((prop::bool::weighted(0.2), 0..10_000usize, 0..10_000usize), 0..25)
            .prop_map(Text::Built),
    ]
}

fn make(t: &Text, seeds_of: &[String]) -> String {
    let s = seeds();
    match t {
        Text::Mutated(seed, edits) => edits
            .iter()
            .fold(seeds_of[seed % seeds_of.len()].clone(), |text, e| {
                apply(&text, e)
            }),
        Text::Built(lines) => {
            let mut out = String::new();
            for &(header, a, b) in lines {
                if header {
                    out.push_str(&s.headers[a % s.headers.len()]);
                } else {
                    let key = &s.keys[a % s.keys.len()];
                    let value = ODD_VALUES[b % ODD_VALUES.len()];
                    out.push_str(&format!("{key} = {value}"));
                }
                out.push('\n');
            }
            out
        }
    }
}

/// A directory holding one case: `pipeline.toml`, `stack.toml` and the examples' `data/`.
fn case_dir(pipeline: &str, stack: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pipeline.toml"), pipeline).unwrap();
    std::fs::write(dir.path().join("stack.toml"), stack).unwrap();
    std::os::unix::fs::symlink(
        root().join("examples/pipelines/data"),
        dir.path().join("data"),
    )
    .unwrap();
    dir
}

/// Every diagnostic of a failure (or warning) must carry an `mlk::` code.
fn coded(
    what: &str,
    items: &[impl std::fmt::Debug],
    codes: &[String],
) -> Result<(), TestCaseError> {
    for (item, code) in items.iter().zip(codes) {
        prop_assert!(
            code.starts_with("mlk::"),
            "{what} diagnostic without an mlk:: code: {item:?}"
        );
    }
    Ok(())
}

/// Load then resolve in-process; panics propagate to proptest, which shrinks them.
fn load_and_resolve(dir: &Path) -> Result<(), TestCaseError> {
    let loaded = match load(
        &dir.join("pipeline.toml"),
        &StackRef::Path(dir.join("stack.toml")),
    ) {
        Ok(l) => l,
        Err(p) => {
            let codes: Vec<String> = p.items().iter().map(|i| i.code()).collect();
            return coded("load", p.items(), &codes);
        }
    };
    let mut digests = InputDigests::new();
    for step in &loaded.pipeline.steps {
        for input in step.inputs.values() {
            if let InputDef::Path(rel) = input.get_ref() {
                let full = loaded.pipeline.dir.join(rel);
                if let Ok(d) = digest_path(&full) {
                    digests.insert(full, d);
                }
            }
        }
    }
    match resolve(&loaded, &Options::default(), &digests) {
        Ok(r) => {
            let codes: Vec<String> = r.warnings.iter().map(|i| i.code()).collect();
            coded("resolve warning", &r.warnings, &codes)
        }
        Err(p) => {
            let codes: Vec<String> = p.items().iter().map(|i| i.code()).collect();
            coded("resolve", p.items(), &codes)
        }
    }
}

/// `mlk check` as a process: exit 0 or 2 (invalid input), never a panic, and a failure
/// names an `mlk::` code.
fn check(dir: &Path) -> Result<(), TestCaseError> {
    let out =
        run(command()
            .current_dir(dir)
            .args(["check", "pipeline.toml", "--stack", "stack.toml"]));
    prop_assert!(
        !out.stderr.contains("panicked"),
        "mlk check panicked:\n{}",
        out.stderr
    );
    prop_assert!(
        out.code == 0 || out.code == 2,
        "mlk check exited {}:\n{}",
        out.code,
        out.stderr
    );
    if out.code != 0 {
        prop_assert!(
            out.stderr.contains("mlk::"),
            "mlk check failed without a code:\n{}",
            out.stderr
        );
    }
    Ok(())
}

/// The in-process case count: `MLK_FUZZ_CASES`, else 200.
fn cases() -> u32 {
    std::env::var("MLK_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200)
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(cases()))]

    #[test]
    fn fuzz_load_and_resolve_never_panic(pipeline in text(), stack in text()) {
        let s = seeds();
        let dir = case_dir(&make(&pipeline, &s.pipelines), &make(&stack, &s.stacks));
        load_and_resolve(dir.path())?;
    }
}

proptest! {
    #![proptest_config(config((cases() / 20).max(10)))]

    #[test]
    fn fuzz_check_never_panics(pipeline in text(), stack in text()) {
        let s = seeds();
        let dir = case_dir(&make(&pipeline, &s.pipelines), &make(&stack, &s.stacks));
        check(dir.path())?;
    }
}
