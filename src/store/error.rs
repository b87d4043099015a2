//! What can go wrong with a store, said so that a user can act on it: which operation, on which
//! address, and why, with the exit code (2: what the user wrote; 3: what the store or the local
//! file system answered). object_store's own errors carry request URLs, response bodies and
//! headers; they never reach a message raw: [`classify`] reads what it needs from them (the
//! variant, the HTTP status, the S3 error code, the I/O error kind) and [`redact`] cleans the
//! few strings that are shown.

use std::fmt;
use std::time::Duration;

use object_store::client::{HttpError, HttpErrorKind};

/// A failed store operation. Its `Display` names the operation, the address and the reason,
/// never a credential.
#[derive(Debug)]
pub(crate) struct StoreError {
    op: Op,
    target: String,
    reason: Reason,
}

/// The operation that failed, as the message says it.
#[allow(
    dead_code,
    reason = "Check, Write and Read are the executor's (issue 13)"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `Store::open`.
    Open,
    /// `Store::upload`.
    Upload,
    /// `Store::download`.
    Download,
    /// `Store::exists`.
    Check,
    /// `Store::put_bytes`.
    Write,
    /// `Store::get_bytes`.
    Read,
    /// `Store::list`.
    List,
    /// `Store::delete`.
    Delete,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::Open => "open the store",
            Op::Upload => "upload to",
            Op::Download => "download",
            Op::Check => "check",
            Op::Write => "write",
            Op::Read => "read",
            Op::List => "list",
            Op::Delete => "delete",
        }
    }
}

/// Why an operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The URI's scheme is none of the supported ones.
    Scheme(String),
    /// The URI or a setting is malformed (the text says how).
    Malformed(String),
    /// The address is not under the store's root.
    NotUnder {
        /// The store's root URI.
        store: String,
    },
    /// A `pvc://` store without a mount: not reachable from this process.
    PvcNotMounted {
        /// The claim's name.
        claim: String,
    },
    /// The bucket (or container) does not exist.
    NoBucket(String),
    /// Neither an object at the address nor objects under it.
    NotFound,
    /// The store refused the credentials' access (HTTP 403).
    Denied(Option<String>),
    /// The store did not accept the credentials (HTTP 401).
    Unauthenticated,
    /// No connection to the endpoint.
    Unreachable {
        /// The endpoint as shown (scheme, host, port).
        endpoint: String,
        /// Why, in a few words (`connection refused`).
        why: String,
    },
    /// The endpoint accepted the connection but did not answer in time.
    NoAnswer {
        /// The endpoint as shown.
        endpoint: String,
        /// How long one request may stall.
        after: Duration,
        /// How long requests were retried.
        retried: Duration,
    },
    /// Any other answer of the store (status and S3 error code when known).
    Answer(String),
    /// No CA certificates to check HTTPS servers with (an image without a CA bundle).
    NoRoots,
    /// A local file or directory could not be read, written or used.
    Local {
        /// The local path.
        path: String,
        /// What went wrong with it.
        what: String,
    },
}

impl StoreError {
    /// A failure with its operation, address and reason.
    pub(crate) fn new(op: Op, target: impl Into<String>, reason: Reason) -> StoreError {
        StoreError {
            op,
            target: redact(&target.into()),
            reason,
        }
    }

    /// A failure with a local path (reading an upload's source, writing a download).
    pub(crate) fn local(
        op: Op,
        target: &str,
        path: &std::path::Path,
        what: impl fmt::Display,
    ) -> StoreError {
        StoreError::new(
            op,
            target,
            Reason::Local {
                path: path.display().to_string(),
                what: redact(&what.to_string()),
            },
        )
    }

    /// 2 for what the user wrote (scheme, malformed URI, a pvc store not mounted here), 3 for
    /// what the store or the local file system answered.
    pub(crate) fn exit_code(&self) -> u8 {
        match self.reason {
            Reason::Scheme(_)
            | Reason::Malformed(_)
            | Reason::NotUnder { .. }
            | Reason::PvcNotMounted { .. } => 2,
            _ => 3,
        }
    }

    /// Why it failed.
    #[allow(dead_code, reason = "the executor's (issue 13)")]
    pub(crate) fn reason(&self) -> &Reason {
        &self.reason
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot {} {}: ", self.op.verb(), self.target)?;
        match &self.reason {
            Reason::Scheme(s) => write!(
                f,
                "unknown scheme \"{s}\" (use s3://, gs://, az://, file://, pvc:// or a local path)"
            ),
            Reason::Malformed(m) => f.write_str(m),
            Reason::NotUnder { store } => write!(f, "not an address under the store {store}"),
            Reason::PvcNotMounted { claim } => write!(
                f,
                "the PersistentVolumeClaim \"{claim}\" is not mounted here (a pvc:// store is \
                 reachable only inside the step's pods)"
            ),
            Reason::NoBucket(b) => write!(f, "bucket \"{b}\" does not exist"),
            Reason::NotFound => f.write_str("no such object, and no objects under it"),
            Reason::Denied(None) => f.write_str("access denied"),
            Reason::Denied(Some(code)) => write!(f, "access denied ({code})"),
            Reason::Unauthenticated => {
                f.write_str("the store did not accept the credentials from the environment")
            }
            Reason::Unreachable { endpoint, why } => write!(f, "cannot reach {endpoint} ({why})"),
            Reason::NoAnswer {
                endpoint,
                after,
                retried,
            } => write!(
                f,
                "no answer from {endpoint} (each request waited {} s; retried for {} s)",
                after.as_secs_f64(),
                retried.as_secs_f64()
            ),
            Reason::Answer(a) => f.write_str(a),
            Reason::NoRoots => f.write_str(
                "no CA certificates to check HTTPS servers with (none in /etc/ssl/certs, \
                 SSL_CERT_FILE or SSL_CERT_DIR): install the ca-certificates package in the \
                 image, or set SSL_CERT_FILE to a PEM bundle",
            ),
            Reason::Local { path, what } => write!(f, "{path}: {what}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Why a store's client could not be built (`Store::open`): no CA certificates on this
/// system (exit 3), or a setting object_store refused (exit 2, its message redacted).
pub(super) fn open_failure(uri: &str, err: &object_store::Error) -> StoreError {
    let reason = if chain_text(err).contains("No CA certificates") {
        Reason::NoRoots
    } else {
        Reason::Malformed(redact(first_line(&err.to_string())))
    };
    StoreError::new(Op::Open, uri, reason)
}

/// What [`classify`] needs to know about the store an error came from.
pub(super) struct Context<'a> {
    /// The bucket or container, for remote stores.
    pub bucket: Option<&'a str>,
    /// The endpoint as shown in "cannot reach" messages.
    pub endpoint: &'a str,
    /// How long one request may stall (for "no answer" messages).
    pub stall: Duration,
    /// How long requests are retried (for "no answer" messages).
    pub retry_for: Duration,
}

/// Turns one of object_store's errors into a [`StoreError`], reading only the variant, HTTP
/// status, S3 error code and I/O error kinds from it.
pub(super) fn classify(
    op: Op,
    target: &str,
    ctx: &Context<'_>,
    err: &object_store::Error,
) -> StoreError {
    StoreError::new(op, target, reason_of(ctx, err))
}

fn reason_of(ctx: &Context<'_>, err: &object_store::Error) -> Reason {
    if let Some(http) = find::<HttpError>(err) {
        return connection_reason(ctx, http);
    }
    let text = chain_text(err);
    let code = s3_code(&text);
    let no_bucket = matches!(code.as_deref(), Some("NoSuchBucket" | "ContainerNotFound"))
        || text.contains("bucket does not exist"); // Google Cloud Storage's JSON errors
    if let (true, Some(b)) = (no_bucket, ctx.bucket) {
        return Reason::NoBucket(b.to_owned());
    }
    match err {
        object_store::Error::NotFound { .. } => Reason::NotFound,
        object_store::Error::PermissionDenied { .. } => Reason::Denied(code),
        object_store::Error::Unauthenticated { .. } => Reason::Unauthenticated,
        _ => {
            if ctx.bucket.is_none()
                && let Some(io) = find::<std::io::Error>(err)
            {
                return Reason::Answer(io.to_string());
            }
            Reason::Answer(answer_text(&text, code))
        }
    }
}

/// A failure before any answer: refused, unresolved, reset or timed out.
fn connection_reason(ctx: &Context<'_>, http: &HttpError) -> Reason {
    let endpoint = ctx.endpoint.to_owned();
    match http.kind() {
        HttpErrorKind::Timeout => Reason::NoAnswer {
            endpoint,
            after: ctx.stall,
            retried: ctx.retry_for,
        },
        kind => {
            let text = chain_text(http);
            let io = find::<std::io::Error>(http);
            let why = match io.map(std::io::Error::kind) {
                Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".to_owned(),
                Some(std::io::ErrorKind::ConnectionReset) => "connection reset".to_owned(),
                Some(std::io::ErrorKind::TimedOut) => "connection timed out".to_owned(),
                _ if text.contains("dns error") || text.contains("lookup address") => {
                    "host name not resolved".to_owned()
                }
                _ => tls_refusal(&text).unwrap_or_else(|| {
                    if kind == HttpErrorKind::Connect {
                        "connection failed".to_owned()
                    } else {
                        "the connection broke".to_owned()
                    }
                }),
            };
            Reason::Unreachable { endpoint, why }
        }
    }
}

/// Why TLS refused the server, from rustls's "invalid peer certificate: UnknownIssuer".
fn tls_refusal(text: &str) -> Option<String> {
    let at = text.find("invalid peer certificate: ")? + "invalid peer certificate: ".len();
    let word: String = text[at..]
        .chars()
        .take_while(char::is_ascii_alphanumeric)
        .collect();
    Some(format!(
        "its TLS certificate is not trusted: {word}; for a private CA set SSL_CERT_FILE"
    ))
}

/// "the store answered HTTP 500 (InternalError)", from the status and error code only.
fn answer_text(text: &str, code: Option<String>) -> String {
    let status = regex::Regex::new(r"status code: (\d{3})")
        .ok()
        .and_then(|re| re.captures(text).map(|c| c[1].to_owned()));
    match (status, code) {
        (Some(s), Some(c)) => format!("the store answered HTTP {s} ({c})"),
        (Some(s), None) => format!("the store answered HTTP {s}"),
        (None, Some(c)) => format!("the store answered {c}"),
        (None, None) => format!("unexpected answer: {}", redact(first_line(text))),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// The S3 (or Azure) error code of an XML error body: `<Code>NoSuchBucket</Code>`.
fn s3_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    let code = &text[start..start + len];
    let plain = !code.is_empty() && code.len() <= 64 && code.chars().all(char::is_alphanumeric);
    plain.then(|| code.to_owned())
}

/// The first error of type `T` in `err`'s source chain (itself included).
fn find<'e, T: std::error::Error + 'static>(
    err: &'e (dyn std::error::Error + 'static),
) -> Option<&'e T> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

/// Every message of the source chain, for looking things up in (never shown raw).
fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        out.push('\n');
        out.push_str(&e.to_string());
        cur = e.source();
    }
    out
}

/// Environment variables whose values are secrets: never shown, wherever they turn up.
const SECRET_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_TOKEN",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
];

/// Removes what may be secret from a string that is about to be shown: URL query strings and
/// user info (presigned URLs, SAS tokens), and the values of the secret variables above.
pub(crate) fn redact(s: &str) -> String {
    let mut out = match regex::Regex::new(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/\s@]*@") {
        Ok(re) => re.replace_all(s, "$scheme…@").into_owned(),
        Err(_) => s.to_owned(),
    };
    if let Ok(re) = regex::Regex::new(r"(://[^\s?]*)\?[^\s]*") {
        out = re.replace_all(&out, "$1?…").into_owned();
    }
    for var in SECRET_VARS {
        if let Ok(v) = std::env::var(var)
            && v.len() >= 4
        {
            out = out.replace(&v, "…");
        }
    }
    out
}
