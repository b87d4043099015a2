//! `mlk run` over HTTPS with credentials, against [`FakeApi::start_tls`]: the TLS and
//! authentication paths of the real client (a CA from `certificate-authority-data`, a static
//! bearer token, an exec credential plugin), and what mlk says when each of them fails.
//!
//! Every server here requires [`TOKEN`]; no output of mlk may ever contain it.

use super::{Cluster, PIPELINE, STACK};
use crate::Run;
use crate::fake_api::{Ca, FakeApi, User};

/// The token every server requires.
const TOKEN: &str = "kT0k3n-5ecret-1f9e27";

/// A project for an HTTPS fake server that requires [`TOKEN`]; the kubeconfig's user is
/// `user`, and it trusts `ca` (PEM), else the server's own CA.
fn secured(user: &User, ca: Option<&str>) -> Cluster {
    let api = FakeApi::start_tls();
    api.require_token(TOKEN);
    let c = Cluster::with_api(api, PIPELINE, STACK);
    let own = c.api.ca_pem().unwrap();
    c.api
        .kubeconfig_for(c.path(), user, Some(ca.unwrap_or(&own)));
    c
}

/// `mlk run` in `c`; asserts that the token is nowhere in what mlk printed.
fn run(c: &Cluster) -> Run {
    let out = c.run(&[]);
    for (name, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        assert!(
            !text.contains(TOKEN),
            "the token is in mlk's {name}:\n{text}"
        );
    }
    out
}

/// Asserts a run of all three steps with their logs, every request with the token.
fn assert_ran_with_token(c: &Cluster, out: &Run) {
    assert_eq!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    for step in ["prep", "train", "eval"] {
        let line = format!("hello from {step}");
        assert_eq!(all.matches(&line).count(), 1, "{line} in:\n{all}");
    }
    let requests = c.api.requests();
    assert_eq!(c.applied().len(), 3, "{requests:#?}");
    // The streaming answers (a body without a length, ended by the TLS close) work too.
    assert!(
        requests.iter().any(|r| r.contains("watch=true")),
        "{requests:#?}"
    );
    assert!(
        requests.iter().any(|r| r.contains("/log?")),
        "{requests:#?}"
    );
    let bearer = format!("Bearer {TOKEN}");
    let authorizations = c.api.authorizations();
    assert_eq!(authorizations.len(), requests.len());
    for (request, authorization) in requests.iter().zip(&authorizations) {
        assert_eq!(authorization.as_deref(), Some(bearer.as_str()), "{request}");
    }
}

/// An exec plugin script that prints an ExecCredential with `token`.
fn plugin(token: &str) -> String {
    format!(
        r#"printf '%s\n' '{{"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential", "status": {{"token": "{token}", "expirationTimestamp": "2999-01-01T00:00:00Z"}}}}'"#
    )
}

/// Asserts exit code 3 with diagnostic `code`; returns stderr with the diagnostic's wrapped
/// lines joined again and the server's port masked.
fn diagnostic(out: &Run, code: &str) -> String {
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains(code), "{code} in:\n{}", out.stderr);
    let wrapped = regex::Regex::new(r"\n  (│|     ) *").unwrap();
    let port = regex::Regex::new(r"127\.0\.0\.1:\d+").unwrap();
    let joined = wrapped.replace_all(&out.stderr, " ");
    port.replace_all(&joined, "127.0.0.1:[port]").into_owned()
}

#[test]
fn a_run_over_https_with_a_token() {
    let c = secured(&User::Token(TOKEN.into()), None);
    let out = run(&c);
    assert_ran_with_token(&c, &out);
}

#[test]
fn a_run_over_https_with_an_exec_credential_plugin() {
    let c = secured(&User::Exec(plugin(TOKEN)), None);
    let config = std::fs::read_to_string(c.path().join("kubeconfig")).unwrap();
    assert!(!config.contains("token:"), "{config}");
    let out = run(&c);
    assert_ran_with_token(&c, &out);
}

#[test]
fn a_server_certificate_from_another_ca_is_not_trusted() {
    let other = Ca::new("someone else's CA");
    let c = secured(&User::Token(TOKEN.into()), Some(&other.pem()));
    let out = run(&c);
    let text = diagnostic(&out, "mlk::cluster::unreachable");
    let said = "the certificate of the API server at https://127.0.0.1:[port]/ is not trusted: it is signed by an unknown authority";
    assert!(text.contains(said), "{said}\nin:\n{text}");
    assert!(text.contains("certificate-authority-data"), "{text}");
    // The handshake failed, so no request (and no token) reached the server.
    assert_eq!(c.api.requests(), Vec::<String>::new());
    c.snapshot("cluster-untrusted", &out);
}

#[test]
fn a_wrong_token_is_unauthorized() {
    let c = secured(&User::Token("wrong-token-0000".into()), None);
    let out = run(&c);
    let text = diagnostic(&out, "mlk::cluster::unauthorized");
    assert!(
        text.contains("the API server at https://127.0.0.1:[port]/ refused the credentials"),
        "{text}"
    );
    assert!(!text.contains("wrong-token-0000"), "{text}");
    let authorizations = c.api.authorizations();
    assert!(!authorizations.is_empty());
    assert!(
        authorizations
            .iter()
            .all(|a| a.as_deref() == Some("Bearer wrong-token-0000")),
        "{authorizations:?}"
    );
    let requests = c.api.requests();
    assert!(
        !requests.iter().any(|r| r.starts_with("PATCH")),
        "{requests:?}"
    );
}

#[test]
fn a_failing_exec_plugin_says_why() {
    // The plugin never prints the token after `exit 1`, but it is on its command line: a
    // diagnostic that showed the command would leak it.
    let script = format!(
        "echo 'error: the SSO session has expired; run `sso login` again' >&2; exit 1; {}",
        plugin(TOKEN)
    );
    let c = secured(&User::Exec(script), None);
    let out = run(&c);
    let text = diagnostic(&out, "mlk::cluster::credentials");
    let said = "the credential plugin of context `fake` exited with status 1: error: the SSO session has expired; run `sso login` again";
    assert!(text.contains(said), "{said}\nin:\n{text}");
    assert_eq!(c.api.requests(), Vec::<String>::new());
    c.snapshot("cluster-credential-plugin", &out);
}

#[test]
fn an_exec_plugin_that_fails_to_refresh_the_token_says_why() {
    // A token that has expired already: kube-rs runs the plugin again before the first
    // request, and that second run fails.
    let c = secured(&User::Anonymous, None);
    let used = c.path().join("plugin-ran");
    let first = plugin(TOKEN).replace("2999-01-01", "2001-01-01");
    let script = format!(
        "if [ -e '{used}' ]; then echo 'error: the refresh token was revoked' >&2; exit 1; fi; touch '{used}'; {first}",
        used = used.display()
    );
    let own = c.api.ca_pem().unwrap();
    c.api
        .kubeconfig_for(c.path(), &User::Exec(script), Some(&own));
    let out = run(&c);
    assert!(used.exists(), "the plugin ran once for the client");
    let text = diagnostic(&out, "mlk::cluster::credentials");
    let said = "the credential plugin of context `fake` exited with status 1: error: the refresh token was revoked";
    assert!(text.contains(said), "{said}\nin:\n{text}");
    assert_eq!(c.api.requests(), Vec::<String>::new());
}
