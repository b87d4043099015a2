//! The committed shell completions in `completions/` are exactly what `mlk completions SHELL`
//! prints. `MLK_UPDATE_COMPLETIONS=1 cargo test completions` rewrites them.

use crate::mlk;

/// Shell name for `mlk completions` → file under `completions/`.
const SHELLS: &[(&str, &str)] = &[
    ("bash", "mlk.bash"),
    ("zsh", "_mlk"),
    ("fish", "mlk.fish"),
    ("powershell", "_mlk.ps1"),
    ("elvish", "mlk.elv"),
];

#[test]
fn committed_completions_are_up_to_date() {
    let update = std::env::var_os("MLK_UPDATE_COMPLETIONS").is_some_and(|v| !v.is_empty());
    let mut stale = Vec::new();
    for (shell, file) in SHELLS {
        let out = mlk(&["completions", shell]);
        assert_eq!(out.code, 0, "mlk completions {shell}: {}", out.stderr);
        assert!(
            out.stdout.contains("mlk"),
            "mlk completions {shell} printed no script"
        );
        let rel = format!("completions/{file}");
        if crate::stale_generated_file(&rel, &out.stdout, update) {
            stale.push(rel);
        }
    }
    assert!(
        stale.is_empty(),
        "{} differ from `mlk completions SHELL`; regenerate them with\n\n    MLK_UPDATE_COMPLETIONS=1 cargo test completions\n\nand commit the result",
        stale.join(", ")
    );
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = mlk(&["completions", "tcsh"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
}
