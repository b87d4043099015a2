//! What can go wrong talking to a cluster, as diagnostics with stable codes.

use std::error::Error;

use kube::client::AuthError;

use super::error_chain;

/// A cluster failure (exit code 3).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub(crate) enum ClusterError {
    /// The kubeconfig could not be read or used.
    #[error("cannot use the kubeconfig: {message}")]
    #[diagnostic(
        code(mlk::cluster::kubeconfig),
        help(
            "mlk reads --kubeconfig, else $KUBECONFIG, else ~/.kube/config, as kubectl does; check that `kubectl config view` works"
        )
    )]
    Kubeconfig {
        /// What failed.
        message: String,
    },
    /// The context named by `--context` or the stack is not in the kubeconfig.
    #[error("no context `{name}` in the kubeconfig")]
    #[diagnostic(
        code(mlk::cluster::context),
        help(
            "contexts in the kubeconfig: {known}; pass --context NAME or set `context` in the stack"
        )
    )]
    NoContext {
        /// The context asked for.
        name: String,
        /// The contexts that exist.
        known: String,
    },
    /// Neither a context was named nor is there a current one.
    #[error("the kubeconfig has no current context")]
    #[diagnostic(
        code(mlk::cluster::context),
        help(
            "pass --context NAME, set `context` in the stack, or run `kubectl config use-context NAME`"
        )
    )]
    NoCurrentContext,
    /// The API server did not answer.
    #[error("cannot reach the API server at {server}: {message}")]
    #[diagnostic(
        code(mlk::cluster::unreachable),
        help("check the network (VPN?) and the server address of context `{context}`")
    )]
    Unreachable {
        /// Server URL.
        server: String,
        /// Context name.
        context: String,
        /// The error.
        message: String,
    },
    /// The kubeconfig user's `exec` credential plugin failed, so there is no token to send.
    #[error("the credential plugin of context `{context}` {message}")]
    #[diagnostic(
        code(mlk::cluster::credentials),
        help(
            "mlk runs the `exec` plugin of the context's user as kubectl does; do what its message says (often: log in again), then check that `kubectl get namespaces` works"
        )
    )]
    CredentialPlugin {
        /// Context name.
        context: String,
        /// How it failed (`exited with status 1: …`), with what it wrote to stderr; never its
        /// command line.
        message: String,
    },
    /// The server's TLS certificate is not signed by a CA the kubeconfig trusts (or is not
    /// valid for the server's address).
    #[error("the certificate of the API server at {server} is not trusted: {reason}")]
    #[diagnostic(
        code(mlk::cluster::unreachable),
        help(
            "mlk trusts the `certificate-authority-data` (or `certificate-authority`) of the cluster of context `{context}`, else the system's roots; check that the kubeconfig is the one for this server, or get it again if the cluster's CA has changed"
        )
    )]
    Untrusted {
        /// Server URL.
        server: String,
        /// Context name.
        context: String,
        /// What TLS found wrong with the certificate.
        reason: String,
    },
    /// 401: the credentials were refused.
    #[error("the API server at {server} refused the credentials (401 Unauthorized)")]
    #[diagnostic(
        code(mlk::cluster::unauthorized),
        help(
            "the token or certificate of context `{context}` is invalid or expired; log in again"
        )
    )]
    Unauthorized {
        /// Server URL.
        server: String,
        /// Context name.
        context: String,
    },
    /// 403: the user may not do something mlk needs.
    #[error("forbidden: {message}")]
    #[diagnostic(
        code(mlk::cluster::forbidden),
        help("ask a cluster admin for a Role in namespace `{namespace}` that allows it")
    )]
    Forbidden {
        /// The server's message.
        message: String,
        /// Namespace.
        namespace: String,
    },
    /// `mlk logs` read no line, and the log of some container could not be read.
    #[error("no log of the run could be read: {failures}")]
    #[diagnostic(
        code(mlk::cluster::logs),
        help(
            "the API server reads logs from the kubelet of each pod's node: check that the nodes are Ready (`kubectl get nodes`) and that you may get pods/log"
        )
    )]
    LogsUnread {
        /// `pod P (container C): why`, for each log that could not be read.
        failures: String,
    },
    /// The namespace does not exist.
    #[error("namespace `{namespace}` does not exist on {server}")]
    #[diagnostic(
        code(mlk::cluster::namespace),
        help(
            "create it (`mlk stack render` writes the stack's admin objects) or pick another with -n"
        )
    )]
    NoNamespace {
        /// Namespace.
        namespace: String,
        /// Server URL.
        server: String,
    },
    /// The training runtime a TrainJob names does not exist.
    #[error("{kind} `{name}` does not exist (step `{step}` runs on it)")]
    #[diagnostic(
        code(mlk::cluster::runtime_missing),
        help(
            "install Kubeflow Trainer's runtimes (`kubectl get clustertrainingruntimes` lists them), or name one that exists in the stack's [training] runtime"
        )
    )]
    NoRuntime {
        /// `ClusterTrainingRuntime` or `TrainingRuntime`.
        kind: String,
        /// Its name.
        name: String,
        /// First step that uses it.
        step: String,
    },
    /// A kind the run needs is not served by the cluster.
    #[error("the cluster does not serve {kind} ({api_version}), which step `{step}` needs")]
    #[diagnostic(code(mlk::cluster::crd_missing), help("install {operator}"))]
    KindMissing {
        /// Kind.
        kind: String,
        /// apiVersion.
        api_version: String,
        /// First step that needs it.
        step: String,
        /// The operator that provides it.
        operator: String,
    },
    /// A queue a step names does not exist.
    #[error("{kind} `{queue}` does not exist (step `{step}` is queued to it)")]
    #[diagnostic(
        code(mlk::cluster::queue_missing),
        help(
            "`mlk stack render STACK` writes the stack's queues for a cluster admin to apply; {scope}"
        )
    )]
    NoQueue {
        /// `LocalQueue` or `Queue`.
        kind: String,
        /// Queue name.
        queue: String,
        /// First step that uses it.
        step: String,
        /// Where such a queue must be: a LocalQueue in the run's namespace, a KAI Queue
        /// cluster-wide.
        scope: String,
    },
    /// A SelfSubjectAccessReview said no.
    #[error("you may not create {kind} in namespace `{namespace}`")]
    #[diagnostic(
        code(mlk::cluster::denied),
        help("ask a cluster admin for a Role that allows `create` on {resource}")
    )]
    Denied {
        /// Kind.
        kind: String,
        /// Resource (plural).
        resource: String,
        /// Namespace.
        namespace: String,
    },
    /// Any other API failure.
    #[error("{what}: {message}")]
    #[diagnostic(code(mlk::cluster::api))]
    Api {
        /// What mlk was doing.
        what: String,
        /// The error.
        message: String,
    },
}

impl ClusterError {
    /// Classifies a failed request made while doing `what`.
    pub(crate) fn from_kube(e: &kube::Error, what: &str, cluster: &super::Cluster) -> ClusterError {
        let context = cluster
            .context
            .clone()
            .unwrap_or_else(|| "(current)".into());
        if let Some(message) = plugin_failure(e) {
            return ClusterError::CredentialPlugin { context, message };
        }
        if let Some(reason) = untrusted_certificate(e) {
            return ClusterError::Untrusted {
                server: cluster.server.clone(),
                context,
                reason,
            };
        }
        match e {
            kube::Error::Api(r) if r.code == 401 => ClusterError::Unauthorized {
                server: cluster.server.clone(),
                context,
            },
            kube::Error::Api(r) if r.code == 403 => ClusterError::Forbidden {
                message: r.message.clone(),
                namespace: cluster.namespace.clone(),
            },
            kube::Error::Api(r) => ClusterError::Api {
                what: what.into(),
                message: format!("{} ({})", r.message, r.code),
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => ClusterError::Unreachable {
                server: cluster.server.clone(),
                context,
                message: error_chain(e),
            },
            other => ClusterError::Api {
                what: what.into(),
                message: error_chain(other),
            },
        }
    }
}

/// Why the credential plugin failed, if that is what `e` (or an error under it) says.
///
/// kube-rs's own message for a plugin that exits non-zero shows its command line and
/// environment, which may hold secrets; this says only how it ended and what it wrote on stderr
/// (what kubectl shows too).
pub(crate) fn plugin_failure(e: &(dyn Error + 'static)) -> Option<String> {
    let mut source = Some(e);
    while let Some(s) = source {
        match s.downcast_ref::<AuthError>() {
            Some(AuthError::AuthExecRun { out, .. }) => {
                let status = out.status;
                let ended = status.code().map_or_else(
                    || format!("ended with {status}"),
                    |code| format!("exited with status {code}"),
                );
                // Empty when the plugin may interact: its stderr went to the terminal.
                let said = String::from_utf8_lossy(&out.stderr);
                return Some(match said.trim() {
                    "" => ended,
                    said => format!("{ended}: {said}"),
                });
            }
            Some(AuthError::AuthExecStart(e)) => {
                return Some(format!("could not be started: {e}"));
            }
            Some(AuthError::AuthExecParse(e)) => {
                return Some(format!(
                    "printed something that is not an ExecCredential: {e}"
                ));
            }
            Some(AuthError::ExecPluginFailed) => {
                return Some("printed an ExecCredential without a status".into());
            }
            _ => source = s.source(),
        }
    }
    None
}

/// What TLS found wrong with the server's certificate, if that is why `e` happened.
///
/// rustls's error comes wrapped in an `io::Error` inside hyper's and kube's errors, and mlk
/// does not link rustls itself, so its message is what is recognised.
pub(crate) fn untrusted_certificate(e: &(dyn Error + 'static)) -> Option<String> {
    let mut source = Some(e);
    while let Some(s) = source {
        let text = s.to_string();
        if let Some(reason) = text.split("invalid peer certificate: ").nth(1) {
            return Some(match reason {
                "UnknownIssuer" => "it is signed by an unknown authority (UnknownIssuer)".into(),
                "Expired" => "it has expired (Expired)".into(),
                other => other.to_owned(),
            });
        }
        source = s.source();
    }
    None
}
