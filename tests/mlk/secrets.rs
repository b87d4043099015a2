//! Secrets never leak: a secret value a step echoes is masked on the terminal, in the failure
//! summary and in the stored log; a credential-named variable cannot take its value from a
//! template; and a credential-looking name that is not a secret has an explicit way out.

use crate::run::Project;
use crate::{mlk, run};

/// The value of the secret the steps below read.
const SECRET: &str = "s3cr3t-v4lue-42";

#[test]
fn an_echoed_secret_is_masked_everywhere() {
    // The second line reaches mlk in two chunks, with a pause between them.
    let p = Project::new(
        r#"
[steps.a]
env = { TOKEN = { secret = "wandb", key = "api-key" } }
command = ["sh", "-c", "echo \"token=$TOKEN\"; printf 'again %s' \"${TOKEN%-42}\"; sleep 0.3; printf -- '-42 end\\n'; echo \"err $TOKEN\" >&2; exit 3"]
"#,
    );
    let out = run(p
        .command()
        .args(["run", "pipeline.toml"])
        .env("MLK_SECRET_WANDB_API_KEY", SECRET));
    assert_eq!(out.code, 1, "{}", out.stderr);
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("[a] token=***"), "{shown}");
    assert!(shown.contains("[a] again *** end"), "{shown}");
    // The failure summary repeats the last lines, masked too.
    assert!(
        out.stderr.matches("token=***").count() >= 1,
        "{}",
        out.stderr
    );
    let files = p.mlk_files();
    let logs: Vec<_> = files
        .iter()
        .filter(|(path, _)| path.extension().is_some_and(|e| e == "log"))
        .collect();
    assert!(!logs.is_empty(), "{files:?}");
    for (path, text) in &files {
        assert!(
            !text.contains(SECRET),
            "{} holds the secret",
            path.display()
        );
    }
    assert!(
        logs.iter().any(|(_, text)| text.contains("err ***")),
        "{logs:?}"
    );
    let again = p.mlk(&["logs"]);
    assert!(!again.stdout.contains(SECRET), "{}", again.stdout);
    // The run's report shows the log's tail, masked (every file was checked above).
    let report = p.mlk(&["report"]);
    assert!(report.stdout.contains("token=***"), "{}", report.stdout);
    assert!(!report.stdout.contains(SECRET));
    assert!(
        files
            .iter()
            .any(|(path, text)| path.ends_with("report.html") && text.contains("err ***"))
    );
}

/// A pipeline with `env` (TOML) on its one step and a `token` parameter.
fn templated(env: &str) -> Project {
    Project::new(&format!(
        "[params]\ntoken = \"none\"\n\n[steps.a]\nenv = {{ {env} }}\ncommand = [\"true\"]\n"
    ))
}

#[test]
fn a_credential_name_cannot_take_a_templated_value() {
    let p = templated(r#"API_TOKEN = "{{ params.token }}""#);
    for args in [
        &["render", "pipeline.toml"][..],
        &["plan", "pipeline.toml", "-o", "json"],
        &["cache", "explain", "pipeline.toml", "a"],
        &["run", "pipeline.toml"],
    ] {
        let out = p.mlk(&[args, &["-p", &format!("token={SECRET}")]].concat());
        assert_eq!(out.code, 2, "{args:?}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains("mlk::load::literal_secret"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!out.stdout.contains(SECRET) && !out.stderr.contains(SECRET));
    }
    assert!(!p.exists(".mlk/cache"));
}

#[test]
fn not_secret_lets_a_credential_looking_name_through() {
    let p = templated(r#"PASSWORD_FILE = { value = "/run/secrets/pw", not_secret = true }"#);
    let out = p.mlk(&["render", "pipeline.toml"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("- name: PASSWORD_FILE\n          value: /run/secrets/pw"),
        "{}",
        out.stdout
    );

    // Without the flag, or with it false, the name still needs a reference.
    for env in [
        r#"PASSWORD_FILE = "/run/secrets/pw""#,
        r#"PASSWORD_FILE = { value = "/run/secrets/pw", not_secret = false }"#,
    ] {
        let out = templated(env).mlk(&["render", "pipeline.toml"]);
        assert_eq!(out.code, 2, "{env}: {}", out.stderr);
        assert!(out.stderr.contains("not_secret = true"), "{}", out.stderr);
    }
    // The explicit form is for plain values only.
    let out = templated(r#"A = { value = "x", secret = "s", key = "k" }"#)
        .mlk(&["render", "pipeline.toml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let schema = mlk(&["schema", "pipeline"]).stdout;
    assert!(schema.contains("\"not_secret\""), "{schema}");
}
