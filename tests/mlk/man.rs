//! `mlk man`: roff pages for mlk and every subcommand; and every subcommand's `--help` shows
//! examples.

use crate::mlk;

#[test]
fn man_dir_writes_a_page_per_subcommand() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("man1");
    let out = mlk(&["man", dir.to_str().unwrap()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    for page in [
        "mlk.1",
        "mlk-render.1",
        "mlk-check.1",
        "mlk-init.1",
        "mlk-stack-render.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        let name = page.trim_end_matches(".1");
        assert!(
            text.contains(&format!(".TH {name} 1 ")),
            "{page} has no roff title header:\n{text}"
        );
        assert!(text.contains(".SH NAME"), "{page}");
        assert!(text.contains(".SH SYNOPSIS"), "{page}");
    }
    let render = std::fs::read_to_string(dir.join("mlk-render.1")).unwrap();
    assert!(render.contains(".SH EXAMPLES\n.nf\n"), "{render}");
    // Every file is a page; no temporary files are left behind.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(name.starts_with("mlk") && name.ends_with(".1"), "{name}");
        assert!(
            std::fs::metadata(dir.join(&name)).unwrap().len() > 0,
            "{name}"
        );
    }
}

#[test]
fn man_without_dir_prints_the_top_page() {
    let out = mlk(&["man"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains(".TH mlk 1 "), "{}", out.stdout);
    assert!(out.stdout.contains("render"), "{}", out.stdout);
}

#[test]
fn every_subcommand_help_has_examples() {
    let help = mlk(&["--help"]);
    assert_eq!(help.code, 0);
    let commands: Vec<String> = help
        .stdout
        .split("Commands:\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() > 5, "{commands:?}");
    let missing: Vec<&String> = commands
        .iter()
        .filter(|c| !mlk(&[c.as_str(), "--help"]).stdout.contains("Examples:"))
        .collect();
    assert!(missing.is_empty(), "no Examples: in --help of {missing:?}");
}
