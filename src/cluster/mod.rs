//! The Kubernetes backend: connecting, preflight checks, applying, waiting and logs.
//!
//! This is the only module that talks to the network. Connection settings follow kubectl:
//! `--kubeconfig`, else `$KUBECONFIG` (a `:`-separated list, merged), else `~/.kube/config`;
//! `--context`, else the stack's `context`, else the current context; `-n/--namespace` over
//! the stack's namespace. kube-rs does the HTTP (rustls with `ring` for TLS); this module runs
//! it on its own small tokio runtime so the executor above stays plain threads.
//!
//! Every request must be answered within [`answer::ANSWER_WITHIN`] (see [`answer`]), with a
//! notice on stderr while mlk waits.
//!
//! Every call that may fail transiently (429, 5xx, a reset connection, a 409 from a concurrent
//! apply) goes through [`retry`]: such errors are retried with backoff and never become a
//! step failure.

pub(crate) mod access;
mod answer;

pub(crate) use answer::on_slow_answer;
mod backend;
mod doctor;
pub(crate) mod engine;
mod errors;
mod lifecycle;
mod logs;
mod pods;
mod preflight;
mod store;
mod until_done;
mod wait;

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{KubeConfigOptions, Kubeconfig, KubeconfigError};
use kube::runtime::utils::Backoff;
use kube::{Client, Config};

pub(crate) use backend::KubeBackend;
pub(crate) use doctor::{Check, Status, can_run, doctor};
pub(crate) use errors::ClusterError;
use errors::{plugin_failure, untrusted_certificate};
pub(crate) use lifecycle::{RunObject, applied_again, delete_run, run_kinds, run_objects_in};
pub(crate) use logs::{RunLine, run_logs};
pub(crate) use preflight::preflight;
pub(crate) use store::ConfigMapStore;
pub(crate) use until_done::{Ended, wait_for};

/// Time between two looks at a running step, and the first wait before a request is tried
/// again.
pub(crate) const POLL: Duration = Duration::from_millis(250);

/// Locks `m`; a thread that panicked while holding it left nothing half-done that matters.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long to wait after a failed list or watch: an expired watch is routine, so [`POLL`]
/// first, then twice as long after each failure in a row, up to 4 s; any answer starts over.
#[derive(Debug, Default)]
pub(crate) struct Retry(u32);

impl Iterator for Retry {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let wait = POLL * 2u32.pow(self.0.min(4));
        self.0 += 1;
        Some(wait)
    }
}

impl Backoff for Retry {
    fn reset(&mut self) {
        self.0 = 0;
    }
}

/// Where to connect, from the command line and the stack.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// `--kubeconfig`.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`, else the stack's `context`.
    pub context: Option<String>,
    /// `-n/--namespace`, else the stack's namespace; `None`: the context's (as kubectl).
    pub namespace: Option<String>,
}

/// A connection to one cluster, with the runtime its requests run on.
pub(crate) struct Cluster {
    rt: tokio::runtime::Runtime,
    client: Client,
    /// The namespace every object goes to.
    pub namespace: String,
    /// The API server's URL (for messages).
    pub server: String,
    /// The kubeconfig context in use, if named.
    pub context: Option<String>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.server)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// The pod's own service account, when mlk runs in a pod (an engine's task) with no
/// kubeconfig given and none in the environment.
fn in_cluster(target: &Target) -> Option<Config> {
    let none_given = target.kubeconfig.is_none()
        && std::env::var_os("KUBECONFIG").is_none()
        && target.context.is_none();
    let home_config = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".kube/config"))
        .is_some_and(|p| p.exists());
    if !none_given || home_config || std::env::var_os("KUBERNETES_SERVICE_HOST").is_none() {
        return None;
    }
    Config::incluster().ok()
}

/// The client configuration of the kubeconfig's context, and the context's name.
fn from_kubeconfig(
    rt: &tokio::runtime::Runtime,
    target: &Target,
) -> Result<(Config, Option<String>), ClusterError> {
    let kubeconfig = match &target.kubeconfig {
        Some(p) => Kubeconfig::read_from(p),
        None => Kubeconfig::read(),
    }
    .map_err(|e| ClusterError::Kubeconfig {
        message: error_chain(&e),
    })?;
    let contexts: Vec<String> = kubeconfig.contexts.iter().map(|c| c.name.clone()).collect();
    let context = target
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone());
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = rt
        .block_on(Config::from_custom_kubeconfig(kubeconfig, &options))
        .map_err(|e| match e {
            KubeconfigError::LoadContext(name) => ClusterError::NoContext {
                name,
                known: if contexts.is_empty() {
                    "none".into()
                } else {
                    contexts.join(", ")
                },
            },
            KubeconfigError::CurrentContextNotSet => ClusterError::NoCurrentContext,
            other => ClusterError::Kubeconfig {
                message: error_chain(&other),
            },
        })?;
    Ok((config, context))
}

impl Cluster {
    /// Reads the kubeconfig and builds a client; nothing is sent yet.
    pub(crate) fn connect(target: &Target) -> Result<Cluster, ClusterError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| ClusterError::Api {
                what: "starting the network runtime".into(),
                message: e.to_string(),
            })?;
        let (config, context) = match in_cluster(target) {
            Some(config) => (config, None),
            None => from_kubeconfig(&rt, target)?,
        };
        let server = config.cluster_url.to_string();
        let default_namespace = config.default_namespace.clone();
        let mut config = config;
        // kube's default is 30 s: too long to learn that the VPN is down.
        config.connect_timeout = Some(Duration::from_secs(10));
        let client = {
            let _guard = rt.enter();
            // An `exec` credential plugin runs here, for the first token.
            ClientBuilder::try_from(config)
                .map(|b| b.with_layer(&answer::AnswerLayer::new(&server)).build())
                .map_err(|e| match plugin_failure(&e) {
                    Some(message) => ClusterError::CredentialPlugin {
                        context: context.clone().unwrap_or_else(|| "(current)".into()),
                        message,
                    },
                    None => ClusterError::Kubeconfig {
                        message: error_chain(&e),
                    },
                })?
        };
        Ok(Cluster {
            rt,
            client,
            namespace: target.namespace.clone().unwrap_or(default_namespace),
            server,
            context,
        })
    }

    /// Whether the API server answers (the namespace may be read) within `limit`; one try.
    pub(crate) fn probe(&self, limit: Duration) -> Result<(), ClusterError> {
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(self.client());
        let get = namespaces.get_opt(&self.namespace);
        match self.block_on(async { tokio::time::timeout(limit, get).await }) {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(ClusterError::from_kube(&e, "reading the namespace", self)),
            Err(_) => Err(ClusterError::Unreachable {
                server: self.server.clone(),
                context: self.context.clone().unwrap_or_default(),
                message: format!("no answer within {}s", limit.as_secs()),
            }),
        }
    }

    /// Runs `f` to completion on this connection's runtime.
    pub(crate) fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The kube client.
    pub(crate) fn client(&self) -> Client {
        self.client.clone()
    }
}

/// `e` and its sources, joined with `: ` (for a failed credential plugin, only how it failed:
/// kube-rs's message would show its command line).
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(failure) = plugin_failure(e) {
        return format!("the credential plugin {failure}");
    }
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// Whether an error may go away by itself: rate limiting, server errors, a conflicting
/// concurrent write, a lost connection (but not an untrusted certificate, a credential
/// plugin that failed to refresh the token, nor a server that does not answer at all).
pub(crate) fn is_transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(r) => matches!(r.code, 409 | 429 | 500 | 502 | 503 | 504),
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            plugin_failure(e).is_none()
                && untrusted_certificate(e).is_none()
                && !answer::is_no_answer(e)
        }
        _ => false,
    }
}

/// Attempts before a transient error is given up on.
const ATTEMPTS: u32 = 6;

/// Calls `f` until it succeeds, fails for good, or failed transiently `ATTEMPTS` times;
/// waits 100 ms, 200 ms, 400 ms… between attempts.
pub(crate) async fn retry<T, F, Fut>(mut f: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut delay = Duration::from_millis(100);
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if attempt < ATTEMPTS && is_transient(&e) => {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
                attempt += 1;
            }
            other => return other,
        }
    }
}
