//! A fake Kubernetes API server on 127.0.0.1 for the cluster tests.
//!
//! HTTP/1.1 over `std::net`, one thread per connection, `Connection: close` on every answer:
//! plain HTTP from [`FakeApi::start`], HTTPS from [`FakeApi::start_tls`] (a certificate for
//! 127.0.0.1 and localhost, signed by a [`Ca`] made for the server, as a real API server's
//! is). [`FakeApi::require_token`] makes every request need `Authorization: Bearer TOKEN`
//! (401 with a Status otherwise, as kube-apiserver answers), and [`FakeApi::kubeconfig_for`]
//! writes a kubeconfig whose user has a static token or an exec credential plugin. It serves what mlk uses: discovery (`/api`, `/apis`, `/api/v1`,
//! `/apis/<group>/<version>`), namespaces, SelfSubjectAccessReviews, server-side apply
//! (`PATCH` with `application/apply-patch+yaml`, `fieldManager`, `fieldValidation=Strict`,
//! `dryRun=All`), GET, LIST and WATCH with `labelSelector` and `fieldSelector=metadata.name=X`, DELETE, and pod logs with `follow`,
//! `timestamps` and `sinceTime` (second precision, as the kubelet has it).
//!
//! Scripted controllers stand in for the Job and training operators: when a workload of a
//! step is applied, a thread creates its pod, writes the scripted log lines, and sets the
//! workload's conditions. Faults are injected per test: an error status for the next apply,
//! a log stream that drops after some lines, a kind that is not served, a denied review,
//! watches that end with 410 Gone. Watches (`watch=true&resourceVersion=N`) stream the
//! recorded changes after N as newline-delimited JSON and end after 2 seconds.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{Value, json};

/// What the fake Kueue says of a queued job's Workload until it admits it.
pub(crate) const QUOTA_MESSAGE: &str = "couldn't assign flavors to pod set main: insufficient unused quota for nvidia.com/gpu in flavor h100-80gb, 2 more needed";

/// A Kueue Workload condition.
fn condition(ty: &str, status: &str, message: &str) -> Value {
    json!({"type": ty, "status": status, "reason": "Pending", "message": message, "lastTransitionTime": "2026-11-21T08:00:00Z"})
}

/// (group, version, kind, plural, namespaced)
const RESOURCES: &[(&str, &str, &str, &str, bool)] = &[
    ("", "v1", "Pod", "pods", true),
    ("", "v1", "ConfigMap", "configmaps", true),
    ("", "v1", "ServiceAccount", "serviceaccounts", true),
    ("", "v1", "Secret", "secrets", true),
    ("", "v1", "Namespace", "namespaces", false),
    ("", "v1", "Event", "events", true),
    ("batch", "v1", "Job", "jobs", true),
    ("kubeflow.org", "v1", "PyTorchJob", "pytorchjobs", true),
    (
        "serving.kserve.io",
        "v1beta1",
        "InferenceService",
        "inferenceservices",
        true,
    ),
    (
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
    ),
    (
        "kueue.x-k8s.io",
        "v1beta1",
        "LocalQueue",
        "localqueues",
        true,
    ),
    ("kueue.x-k8s.io", "v1beta1", "Workload", "workloads", true),
    (
        "kueue.x-k8s.io",
        "v1beta1",
        "ClusterQueue",
        "clusterqueues",
        false,
    ),
    ("", "v1", "Node", "nodes", false),
    (
        "kueue.x-k8s.io",
        "v1beta1",
        "ResourceFlavor",
        "resourceflavors",
        false,
    ),
    (
        "kueue.x-k8s.io",
        "v1beta1",
        "WorkloadPriorityClass",
        "workloadpriorityclasses",
        false,
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "PriorityClass",
        "priorityclasses",
        false,
    ),
    ("scheduling.run.ai", "v2", "Queue", "queues", false),
    (
        "trainer.kubeflow.org",
        "v1alpha1",
        "TrainJob",
        "trainjobs",
        true,
    ),
    (
        "trainer.kubeflow.org",
        "v1alpha1",
        "ClusterTrainingRuntime",
        "clustertrainingruntimes",
        false,
    ),
    ("argoproj.io", "v1alpha1", "Workflow", "workflows", true),
    (
        "argoproj.io",
        "v1alpha1",
        "WorkflowTemplate",
        "workflowtemplates",
        true,
    ),
    (
        "argoproj.io",
        "v1alpha1",
        "CronWorkflow",
        "cronworkflows",
        true,
    ),
    (
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
    ),
];

/// Kueue's v1beta2 kinds (served besides v1beta1 after [`FakeApi::serve_kueue_v1beta2`]), and
/// ClusterQueue at v1beta1.
const KUEUE_V1BETA2: &[(&str, &str, &str, &str, bool)] = &[
    (
        "kueue.x-k8s.io",
        "v1beta2",
        "LocalQueue",
        "localqueues",
        true,
    ),
    ("kueue.x-k8s.io", "v1beta2", "Workload", "workloads", true),
    (
        "kueue.x-k8s.io",
        "v1beta2",
        "ClusterQueue",
        "clusterqueues",
        false,
    ),
    (
        "kueue.x-k8s.io",
        "v1beta2",
        "ResourceFlavor",
        "resourceflavors",
        false,
    ),
    (
        "kueue.x-k8s.io",
        "v1beta2",
        "WorkloadPriorityClass",
        "workloadpriorityclasses",
        false,
    ),
];

/// What the scripted controller does with a step's workload.
#[derive(Debug, Clone, Default)]
pub(crate) struct Script {
    /// Log lines of its pod.
    pub lines: Vec<String>,
    /// Whether it fails (exit code 3) instead of completing.
    pub fail: bool,
    /// Keep the Job suspended this long, then admit it (as Kueue does).
    pub admit_after: Option<Duration>,
    /// Restart the container after this many lines (the stream of the old one ends).
    pub restart_after: Option<usize>,
    /// The container never starts: it waits with this reason (`InvalidImageName`, …).
    pub stuck: Option<String>,
    /// After this many lines the pod fails and a new pod (another name) writes the rest.
    pub replace_after: Option<usize>,
}

impl State {
    /// The resources served now.
    fn resources(
        &self,
    ) -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str, &'static str, bool)>
    {
        let newer = if self.kueue_v1beta2 {
            KUEUE_V1BETA2
        } else {
            &[]
        };
        RESOURCES.iter().chain(newer.iter())
    }
}

#[derive(Default)]
struct State {
    rv: u64,
    objects: BTreeMap<String, Value>,
    namespaces: BTreeSet<String>,
    hidden: BTreeSet<String>,
    /// Whether Kueue's v1beta2 kinds are served too.
    kueue_v1beta2: bool,
    denied: BTreeSet<String>,
    apply_faults: VecDeque<u16>,
    /// Applies whose answer is not sent (the connection is closed instead).
    drop_apply_answers: usize,
    fail_all: Option<u16>,
    /// (part of a pod name, lines): the next followed stream of such a pod ends early.
    drop_log_after: Option<(String, usize)>,
    scripts: BTreeMap<String, Script>,
    requests: Vec<String>,
    /// The `Authorization` header of every request (same order as `requests`).
    authorizations: Vec<Option<String>>,
    /// The bearer token every request must carry, if any.
    token: Option<String>,
    /// (pod, container) → (timestamp, line).
    logs: BTreeMap<(String, String), Vec<(String, String)>>,
    /// pod → container restarts, to end streams of the old instance.
    restarts: BTreeMap<String, u32>,
    stamp: u64,
    /// Every change: (resourceVersion, type, path, object).
    events: Vec<(u64, &'static str, String, Value)>,
    /// Watches to end with a 410 Gone ERROR event instead of serving them.
    expire_watches: usize,
    /// Connections are accepted and never answered.
    silent: bool,
    /// Pods' nodes have no kubelet that answers: log requests answer 204 with no body.
    no_kubelet: bool,
    /// Controllers that are not running although their CRDs are installed: `kueue`,
    /// `kai-scheduler`, `training-operator`.
    absent: BTreeSet<String>,
}

impl State {
    /// Stores `obj` at `path` with the next resourceVersion, recording the change.
    fn put(&mut self, path: &str, mut obj: Value) -> Value {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let ty = if self.objects.contains_key(path) {
            "MODIFIED"
        } else {
            "ADDED"
        };
        self.objects.insert(path.to_owned(), obj.clone());
        self.events
            .push((self.rv, ty, path.to_owned(), obj.clone()));
        obj
    }

    /// Changes the object at `path`, if it exists.
    fn update(&mut self, path: &str, f: impl FnOnce(&mut Value)) {
        if let Some(mut o) = self.objects.get(path).cloned() {
            f(&mut o);
            self.put(path, o);
        }
    }

    fn remove(&mut self, path: &str) -> Option<Value> {
        let old = self.objects.remove(path)?;
        self.rv += 1;
        self.events
            .push((self.rv, "DELETED", path.to_owned(), old.clone()));
        Some(old)
    }
}

/// A certificate authority made for one test (an ECDSA P-256 key that lives in memory).
pub(crate) struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    /// A new self-signed CA called `name`.
    pub(crate) fn new(name: &str) -> Ca {
        let mut params = CertificateParams::default();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Ca { issuer }
    }

    /// The CA's certificate, PEM-encoded (what `certificate-authority-data` holds, in base64).
    pub(crate) fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for 127.0.0.1 and localhost signed by this CA, and its key.
    fn leaf(&self) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "kube-apiserver");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &*self.issuer).unwrap();
        (cert, key)
    }

    /// [`Ca::leaf`] as the contents of PEM files, (certificate chain, key), for servers that
    /// read files (the moto S3 server of `s3.rs`).
    pub(crate) fn server_pem(&self) -> (String, String) {
        let (cert, key) = self.leaf();
        (format!("{}{}", cert.pem(), self.pem()), key.serialize_pem())
    }

    /// A TLS server configuration (ring, TLS 1.2 and 1.3, HTTP/1.1) with a certificate for
    /// 127.0.0.1 and localhost signed by this CA.
    fn server_config(&self) -> ServerConfig {
        let (cert, key) = self.leaf();
        let chain = vec![cert.der().clone(), self.issuer.der().clone()];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        // mlk's client uses ring too (kube's `ring` feature); a loopback test server has no use
        // for the post-quantum key exchange whose absence the deprecation is about.
        #[expect(deprecated, reason = "ring is the provider mlk ships with")]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap()
    }
}

/// How the user of a kubeconfig authenticates.
#[derive(Debug, Clone)]
pub(crate) enum User {
    /// No credentials (`user: {}`).
    Anonymous,
    /// A static bearer token (`token:`).
    Token(String),
    /// An exec credential plugin: `sh -c SCRIPT`, which prints an `ExecCredential`
    /// (client.authentication.k8s.io/v1) on stdout; `interactiveMode: Never`, so its stderr
    /// is captured rather than passed through.
    Exec(String),
}

/// A connection the fake serves: plain TCP, or TLS over TCP.
trait Transport: Read + Write + Send {
    /// Ends the connection as a server closing it does (TLS: a `close_notify` alert, so the
    /// client sees the end of a body without a length as a clean end of stream).
    fn finish(&mut self) {}
}

impl Transport for TcpStream {}

impl Transport for StreamOwned<ServerConnection, TcpStream> {
    fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
    }
}

/// The fake server; lives until the test process ends.
#[derive(Clone)]
pub(crate) struct FakeApi {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// The PEM of the CA that signed the server's certificate, when it speaks HTTPS.
    ca_pem: Option<String>,
}

impl FakeApi {
    /// Starts a plain HTTP server with namespace `ml`.
    pub(crate) fn start() -> FakeApi {
        FakeApi::listen(None)
    }

    /// Starts an HTTPS server with namespace `ml`, whose certificate (for 127.0.0.1 and
    /// localhost) is signed by a CA made for it; [`FakeApi::kubeconfig`] trusts that CA.
    pub(crate) fn start_tls() -> FakeApi {
        let ca = Ca::new("fake-api CA");
        FakeApi::listen(Some((ca.pem(), Arc::new(ca.server_config()))))
    }

    fn listen(tls: Option<(String, Arc<ServerConfig>)>) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        state.lock().unwrap().namespaces.insert("ml".into());
        let (ca_pem, config) = tls.unzip();
        let api = FakeApi {
            addr,
            state,
            ca_pem,
        };
        let server = api.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let conn: Box<dyn Transport> = match &config {
                    // The handshake happens on the first read, in the connection's thread.
                    Some(config) => match ServerConnection::new(config.clone()) {
                        Ok(tls) => Box::new(StreamOwned::new(tls, conn)),
                        Err(_) => continue,
                    },
                    None => Box::new(conn),
                };
                let s = server.clone();
                std::thread::spawn(move || s.serve(conn));
            }
        });
        api
    }

    /// The server's URL as kube-rs writes it (`https://127.0.0.1:PORT/` or `http://…/`).
    pub(crate) fn server(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}/", self.addr)
    }

    /// The PEM of the CA that signed the server's certificate (HTTPS servers only).
    pub(crate) fn ca_pem(&self) -> Option<String> {
        self.ca_pem.clone()
    }

    /// From now on every request must carry `Authorization: Bearer TOKEN`; others get 401.
    pub(crate) fn require_token(&self, token: &str) {
        self.state().token = Some(token.into());
    }

    /// The `Authorization` header of every request so far (`None` where there was none).
    pub(crate) fn authorizations(&self) -> Vec<Option<String>> {
        self.state().authorizations.clone()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Writes `dir/kubeconfig` (context `fake`, no credentials; for an HTTPS server, trusting
    /// its CA) and returns its path.
    pub(crate) fn kubeconfig(&self, dir: &Path) -> PathBuf {
        self.kubeconfig_for(dir, &User::Anonymous, self.ca_pem.as_deref())
    }

    /// Writes `dir/kubeconfig` (context `fake`) whose user is `user` and, for an HTTPS server,
    /// whose `certificate-authority-data` is `ca` (PEM; `None`: none, so the system's roots).
    pub(crate) fn kubeconfig_for(&self, dir: &Path, user: &User, ca: Option<&str>) -> PathBuf {
        use base64::Engine as _;
        let path = dir.join("kubeconfig");
        let cluster = match (&self.ca_pem, ca) {
            (None, _) => format!("server: http://{}", self.addr),
            (Some(_), None) => format!("server: https://{}", self.addr),
            (Some(_), Some(ca)) => format!(
                "server: https://{}\n    certificate-authority-data: {}",
                self.addr,
                base64::engine::general_purpose::STANDARD.encode(ca)
            ),
        };
        // JSON strings are YAML strings: no quoting surprises in tokens or scripts.
        let quote = |s: &str| Value::from(s).to_string();
        let user = match user {
            User::Anonymous => "{}".to_owned(),
            User::Token(token) => format!("\n    token: {}", quote(token)),
            User::Exec(script) => format!(
                "\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: [\"-c\", {}]\n      interactiveMode: Never",
                quote(script)
            ),
        };
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    {cluster}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\ncurrent-context: fake\nusers:\n- name: fake\n  user: {user}\n"
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Stores `obj` at `path` (an object's URL path), as if someone had created it.
    pub(crate) fn create(&self, path: &str, obj: Value) {
        self.state().objects.insert(path.into(), obj);
    }

    /// Removes the object at `path`, as if someone had deleted it.
    pub(crate) fn remove(&self, path: &str) {
        self.state().objects.remove(path);
    }

    /// Stores the workload `obj` at `path` as an engine's task creates it: its scripted
    /// controller runs as for an apply by mlk.
    pub(crate) fn create_workload(&self, path: &str, obj: Value) {
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("ml")
            .to_owned();
        let obj = self.state().put(path, obj);
        self.control(path.to_owned(), ns, obj);
    }

    /// Scripts the workload of `step`.
    pub(crate) fn script(&self, step: &str, script: Script) {
        self.state().scripts.insert(step.into(), script);
    }

    /// The next apply answers `code` (once per call).
    pub(crate) fn fail_next_apply(&self, code: u16) {
        self.state().apply_faults.push_back(code);
    }

    /// The next apply is carried out, but its connection is closed without an answer (a
    /// connection reset after the server acted: the client cannot tell whether it did).
    pub(crate) fn drop_next_apply_answer(&self) {
        self.state().drop_apply_answers += 1;
    }

    /// Every request outside discovery answers `code` (401 for a bad token, 403, …).
    pub(crate) fn fail_all(&self, code: u16) {
        self.state().fail_all = Some(code);
    }

    /// The next `n` watches end at once with a 410 Gone ERROR event.
    pub(crate) fn expire_watches(&self, n: usize) {
        self.state().expire_watches += n;
    }

    /// The next followed log stream of a pod whose name contains `pod` ends after `n` lines.
    pub(crate) fn drop_next_log_after(&self, pod: &str, n: usize) {
        self.state().drop_log_after = Some((pod.into(), n));
    }

    /// From now on log requests answer 204 No Content with an empty body, as kube-apiserver
    /// does for a pod bound to a node whose kubelet does not answer.
    pub(crate) fn no_kubelet(&self) {
        self.state().no_kubelet = true;
    }

    /// The controller `name` is not running, although its kinds are served: `kueue` (a
    /// queued Job stays suspended and no Workload is made), `kai-scheduler` (pods stay
    /// Pending with no conditions: nothing schedules them), `training-operator` (a
    /// PyTorchJob never gets a pod).
    pub(crate) fn without(&self, name: &str) {
        self.state().absent.insert(name.into());
    }

    /// Serves Kueue's v1beta2 kinds besides v1beta1 (a Kueue release that has both).
    pub(crate) fn serve_kueue_v1beta2(&self) {
        self.state().kueue_v1beta2 = true;
    }

    /// Stops serving `kind` (as if its CRD were not installed).
    pub(crate) fn hide(&self, kind: &str) {
        self.state().hidden.insert(kind.into());
    }

    /// SelfSubjectAccessReviews for `resource` (`plural` or `plural/subresource`, any verb;
    /// or `VERB resource`, that verb only) answer "not allowed".
    pub(crate) fn deny(&self, resource: &str) {
        self.state().denied.insert(resource.into());
    }

    /// Every request so far, as `METHOD path?query`.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }

    /// Stored objects of a kind (plural), by name.
    pub(crate) fn objects(&self, plural: &str) -> BTreeMap<String, Value> {
        self.state()
            .objects
            .iter()
            .filter(|(k, _)| k.split('/').rev().nth(1) == Some(plural))
            .map(|(k, v)| {
                (
                    k.rsplit('/').next().unwrap_or_default().to_owned(),
                    v.clone(),
                )
            })
            .collect()
    }

    /// From now on, connections are accepted and then left without an answer (a server that
    /// hangs, or a firewall that swallows the traffic).
    pub(crate) fn stop_answering(&self) {
        self.state().silent = true;
    }

    /// Serves the one request of a connection, then closes it.
    fn serve(&self, conn: Box<dyn Transport>) {
        if self.state().silent {
            // Held open (not closed, which the client would notice) until the test is over.
            std::thread::sleep(std::time::Duration::from_secs(120));
            drop(conn);
            return;
        }
        let mut reader = BufReader::new(conn);
        self.exchange(&mut reader);
        reader.get_mut().finish();
    }

    /// Reads a request through `reader` and writes the answer to the stream under it.
    fn exchange(&self, reader: &mut BufReader<Box<dyn Transport>>) {
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut length = 0;
        let mut content_type = String::new();
        let mut authorization = None;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
            let (name, value) = h.split_once(':').unwrap_or((&h, ""));
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "content-type" => content_type = value.trim().to_owned(),
                "authorization" => authorization = Some(value.trim().to_owned()),
                _ => {}
            }
        }
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let query = parse_query(query);
        let refused = {
            let mut st = self.state();
            st.requests.push(format!("{method} {target}"));
            let refused = st.token.as_ref().is_some_and(|token| {
                authorization.as_deref() != Some(format!("Bearer {token}").as_str())
            });
            st.authorizations.push(authorization);
            refused
        };
        let conn = reader.get_mut();
        if refused {
            // What kube-apiserver answers when no authenticator accepts the request.
            let mut answer = status(401, "Unauthorized", "Unauthorized");
            answer["metadata"] = json!({});
            return respond(conn, 401, &answer);
        }
        if method == "GET" && path.ends_with("/log") {
            return self.logs(conn, path, &query);
        }
        if method == "GET" && query.get("watch").map(String::as_str) == Some("true") {
            return self.watch(conn, path, &query);
        }
        let (code, answer) = self.answer(&method, path, &query, &content_type, &body);
        if code == 0 {
            // No answer: the connection is closed.
            return;
        }
        respond(conn, code, &answer);
    }

    fn answer(
        &self,
        method: &str,
        path: &str,
        query: &BTreeMap<String, String>,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let mut st = self.state();
        if let Some(code) = st.fail_all {
            return (code, status(code, "injected for every request", "Injected"));
        }
        if path == "/api" {
            return (200, json!({"kind": "APIVersions", "versions": ["v1"]}));
        }
        if path == "/apis" {
            let groups: BTreeSet<(&str, &str)> = st
                .resources()
                .filter(|r| !r.0.is_empty())
                .map(|r| (r.0, r.1))
                .collect();
            let groups: Vec<Value> = groups
                .iter()
                .map(|(g, v)| {
                    let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
                    json!({"name": g, "versions": [gv], "preferredVersion": gv})
                })
                .collect();
            return (
                200,
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            );
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // Discovery of one group version.
        let (group, version, rest) = match segments.as_slice() {
            ["api", v, rest @ ..] => ("", *v, rest),
            ["apis", g, v, rest @ ..] => (*g, *v, rest),
            _ => return not_found("path"),
        };
        let served: Vec<_> = st
            .resources()
            .filter(|r| r.0 == group && r.1 == version && !st.hidden.contains(r.2))
            .collect();
        if served.is_empty() {
            return not_found("group version");
        }
        if rest.is_empty() {
            let resources: Vec<Value> = served
                .iter()
                .map(|r| json!({"name": r.3, "singularName": r.2.to_lowercase(), "namespaced": r.4, "kind": r.2, "verbs": ["create", "delete", "get", "list", "patch", "watch"]}))
                .collect();
            let gv = if group.is_empty() {
                version.to_owned()
            } else {
                format!("{group}/{version}")
            };
            return (
                200,
                json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
            );
        }
        let (ns, plural, name) = match rest {
            ["namespaces", ns, plural, name @ ..] => (Some(*ns), *plural, name.first().copied()),
            ["namespaces", ns] if method == "GET" => {
                return if st.namespaces.contains(*ns) {
                    (
                        200,
                        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
                    )
                } else {
                    not_found("namespace")
                };
            }
            [plural, name @ ..] => (None, *plural, name.first().copied()),
            [] => return not_found("path"),
        };
        let Some(res) = served.iter().find(|r| r.3 == plural) else {
            return not_found("resource");
        };
        if res.2 == "SelfSubjectAccessReview" && method == "POST" {
            let mut review: Value = serde_json::from_slice(body).unwrap_or_default();
            let attr = |k: &str| {
                review
                    .pointer(&format!("/spec/resourceAttributes/{k}"))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            let mut resource = attr("resource");
            if !attr("subresource").is_empty() {
                resource = format!("{resource}/{}", attr("subresource"));
            }
            let verb = attr("verb");
            let denied =
                st.denied.contains(&resource) || st.denied.contains(&format!("{verb} {resource}"));
            review["status"] = json!({"allowed": !denied});
            return (201, review);
        }
        let collection = match name {
            Some(n) => path
                .strip_suffix(&format!("/{n}"))
                .unwrap_or(path)
                .to_owned(),
            None => path.to_owned(),
        };
        match (method, name) {
            ("GET", None) => {
                let selector = query.get("labelSelector").cloned().unwrap_or_default();
                let named = query
                    .get("fieldSelector")
                    .and_then(|f| f.strip_prefix("metadata.name="));
                let items: Vec<Value> = st
                    .objects
                    .iter()
                    .filter(|(k, v)| {
                        let (of, object) = k.rsplit_once('/').unwrap_or_default();
                        of == collection
                            && named.is_none_or(|n| n == object)
                            && matches(v, &selector)
                    })
                    .map(|(_, v)| v.clone())
                    .collect();
                (
                    200,
                    json!({"kind": format!("{}List", res.2), "apiVersion": "v1", "metadata": {"resourceVersion": st.rv.to_string()}, "items": items}),
                )
            }
            ("GET", Some(_)) => match st.objects.get(path) {
                Some(o) => (200, o.clone()),
                None => not_found(plural),
            },
            // A dry run is asked in the query or in the body's DeleteOptions (as kube-rs does).
            ("DELETE", Some(_))
                if query.get("dryRun").map(String::as_str) == Some("All")
                    || serde_json::from_slice::<Value>(body)
                        .is_ok_and(|o| o.get("dryRun") == Some(&json!(["All"]))) =>
            {
                match st.objects.get(path) {
                    Some(_) => (
                        200,
                        json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}),
                    ),
                    None => not_found(plural),
                }
            }
            ("DELETE", Some(_)) => match st.remove(path) {
                Some(_) => (
                    200,
                    json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "code": 200}),
                ),
                None => not_found(plural),
            },
            ("PATCH", Some(n)) => {
                if let Some(code) = st.apply_faults.pop_front() {
                    return (code, status(code, "injected fault", "InternalError"));
                }
                if content_type != "application/apply-patch+yaml"
                    || query.get("fieldManager").map(String::as_str) != Some("mlk")
                {
                    return (
                        400,
                        status(400, "not a server-side apply by mlk", "BadRequest"),
                    );
                }
                let mut obj: Value = serde_json::from_slice(body).unwrap_or_default();
                if query.get("fieldValidation").map(String::as_str) == Some("Strict")
                    && let Some(o) = obj.as_object()
                    && let Some(k) = o.keys().find(|k| {
                        !["apiVersion", "kind", "metadata", "spec", "data"].contains(&k.as_str())
                    })
                {
                    return (
                        422,
                        status(
                            422,
                            &format!("strict decoding error: unknown field \"{k}\""),
                            "Invalid",
                        ),
                    );
                }
                if let Some(refusal) = immutable(res.2, n, st.objects.get(path), &obj) {
                    return (422, refusal);
                }
                obj["metadata"]["resourceVersion"] = json!((st.rv + 1).to_string());
                obj["metadata"]["uid"] = json!(format!("uid-{n}"));
                // Whole seconds, as kube-apiserver has them; one per change here, so objects
                // created one after the other sort in that order.
                let rv = st.rv + 1;
                obj["metadata"]["creationTimestamp"] = json!(format!(
                    "2026-11-21T{:02}:{:02}:{:02}Z",
                    8 + rv / 3600,
                    (rv / 60) % 60,
                    rv % 60
                ));
                if let Some(old) = st.objects.get(path) {
                    obj["metadata"]["creationTimestamp"] =
                        old["metadata"]["creationTimestamp"].clone();
                    if let Some(s) = old.get("status") {
                        obj["status"] = s.clone();
                    }
                }
                if query.get("dryRun").map(String::as_str) == Some("All") {
                    return (200, obj);
                }
                let created = !st.objects.contains_key(path);
                let obj = st.put(path, obj);
                let dropped = st.drop_apply_answers > 0;
                st.drop_apply_answers = st.drop_apply_answers.saturating_sub(1);
                drop(st);
                if created && matches!(res.2, "Job" | "PyTorchJob") {
                    self.control(
                        path.to_owned(),
                        ns.unwrap_or_default().to_owned(),
                        obj.clone(),
                    );
                }
                if dropped {
                    return (0, Value::Null);
                }
                (200, obj)
            }
            _ => (405, status(405, "method not allowed", "MethodNotAllowed")),
        }
    }

    /// For a job in a Kueue queue whose script delays admission: Kueue's Workload for it,
    /// made before the apply is answered (as Kueue's webhook and controller do within
    /// milliseconds), labelled with the job's uid and saying why it waits. Its path.
    fn kueue_workload(&self, ns: &str, obj: &Value) -> Option<String> {
        let queue = obj.pointer("/metadata/labels/kueue.x-k8s.io~1queue-name")?;
        let step = obj.pointer("/metadata/labels/mlk.dev~1step")?.as_str()?;
        self.state().scripts.get(step)?.admit_after?;
        let name = format!("job-{}-5b4c1", obj.pointer("/metadata/name")?.as_str()?);
        let path = format!("/apis/kueue.x-k8s.io/v1beta1/namespaces/{ns}/workloads/{name}");
        self.state().put(&path, json!({
            "apiVersion": "kueue.x-k8s.io/v1beta1", "kind": "Workload",
            "metadata": {"name": name, "namespace": ns, "labels": {"kueue.x-k8s.io/job-uid": obj["metadata"]["uid"].clone()}},
            "spec": {"queueName": queue.clone()},
            "status": {"conditions": [condition("QuotaReserved", "False", QUOTA_MESSAGE)]},
        }));
        Some(path)
    }

    /// The scripted controller of one workload.
    fn control(&self, path: String, ns: String, obj: Value) {
        let absent = |c: &str| self.state().absent.contains(c);
        let queued = obj
            .pointer("/metadata/labels/kueue.x-k8s.io~1queue-name")
            .is_some();
        if (queued && absent("kueue"))
            || (obj["kind"] == "PyTorchJob" && absent("training-operator"))
        {
            return;
        }
        if obj.pointer("/spec/template/spec/schedulerName") == Some(&json!("kai-scheduler"))
            && absent("kai-scheduler")
        {
            let name = obj["metadata"]["name"].as_str().unwrap_or_default();
            let pod = format!("{name}-x7k2p");
            let template = &obj["spec"]["template"];
            self.state().put(&format!("/api/v1/namespaces/{ns}/pods/{pod}"), json!({
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": pod, "namespace": ns, "labels": template.pointer("/metadata/labels").cloned().unwrap_or_default()},
                "spec": template["spec"].clone(),
                "status": {"phase": "Pending", "qosClass": "BestEffort"},
            }));
            return;
        }
        let workload = self.kueue_workload(&ns, &obj);
        let api = self.clone();
        std::thread::spawn(move || {
            let step = obj
                .pointer("/metadata/labels/mlk.dev~1step")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let script = api
                .state()
                .scripts
                .get(&step)
                .cloned()
                .unwrap_or_else(|| Script {
                    lines: vec![format!("hello from {step}")],
                    ..Script::default()
                });
            let name = obj
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
            if let Some(wait) = script.admit_after {
                std::thread::sleep(wait);
                if let Some(workload) = &workload {
                    api.state().update(workload, |w| {
                        w["status"]["conditions"] = json!([
                            condition(
                                "QuotaReserved",
                                "True",
                                "Quota reserved in ClusterQueue team"
                            ),
                            condition("Admitted", "True", "The workload is admitted"),
                        ]);
                    });
                }
                api.state()
                    .update(&path, |o| o["spec"]["suspend"] = json!(false));
            }
            let template = if kind == "Job" {
                obj.pointer("/spec/template")
            } else {
                obj.pointer("/spec/pytorchReplicaSpecs/Master/template")
            };
            let template = template.cloned().unwrap_or_default();
            let mut pod = if kind == "Job" {
                format!("{name}-x7k2p")
            } else {
                format!("{name}-master-0")
            };
            let container = template
                .pointer("/spec/containers/0/name")
                .and_then(Value::as_str)
                .unwrap_or("main")
                .to_owned();
            let set_pod = |pod: &str, phase: &str, state: Value| {
                let mut st = api.state();
                st.put(&format!("/api/v1/namespaces/{ns}/pods/{pod}"), json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pod, "namespace": ns, "labels": template.pointer("/metadata/labels").cloned().unwrap_or_default()},
                    "spec": template["spec"].clone(),
                    "status": {"phase": phase, "containerStatuses": [{"name": container, "ready": phase == "Running", "restartCount": 0, "image": "x", "imageID": "", "state": state}]},
                }));
            };
            if let Some(reason) = &script.stuck {
                set_pod(
                    &pod,
                    "Pending",
                    json!({"waiting": {"reason": reason, "message": "as scripted"}}),
                );
                return;
            }
            set_pod(&pod, "Running", json!({"running": {}}));
            std::thread::sleep(Duration::from_millis(50));
            for (i, line) in script.lines.iter().enumerate() {
                if script.replace_after == Some(i) {
                    set_pod(&pod, "Failed", json!({"terminated": {"exitCode": 137}}));
                    pod = format!("{name}-b8m3q");
                    set_pod(&pod, "Running", json!({"running": {}}));
                    std::thread::sleep(Duration::from_millis(100));
                }
                if script.restart_after == Some(i) {
                    *api.state().restarts.entry(pod.clone()).or_default() += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                let mut st = api.state();
                st.stamp += 1;
                let stamp = format!("2026-11-21T08:00:00.{:09}Z", st.stamp);
                st.logs
                    .entry((pod.clone(), container.clone()))
                    .or_default()
                    .push((stamp, line.clone()));
                drop(st);
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(50));
            let (phase, code, condition) = if script.fail {
                ("Failed", 3, "Failed")
            } else if kind == "Job" {
                ("Succeeded", 0, "Complete")
            } else {
                ("Succeeded", 0, "Succeeded")
            };
            set_pod(&pod, phase, json!({"terminated": {"exitCode": code}}));
            api.state().update(&path, |o| {
                o["status"] = json!({"conditions": [{"type": condition, "status": "True", "reason": if script.fail { "BackoffLimitExceeded" } else { "Done" }, "message": if script.fail { "Job has reached the specified backoff limit" } else { "" }}]});
            });
        });
    }

    /// `GET <collection>?watch=true&resourceVersion=N`: newline-delimited JSON events after
    /// N that match `fieldSelector=metadata.name=X` and `labelSelector`; the watch ends after
    /// 2 s (as `timeoutSeconds` would), or at once with a 410 ERROR event when expired.
    fn watch(&self, conn: &mut dyn Write, path: &str, query: &BTreeMap<String, String>) {
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
        );
        let expired = {
            let mut st = self.state();
            let e = st.expire_watches > 0;
            st.expire_watches = st.expire_watches.saturating_sub(1);
            e
        };
        if expired {
            let event = json!({"type": "ERROR", "object": status(410, "too old resource version", "Expired")});
            let _ = writeln!(conn, "{event}");
            return;
        }
        let mut after: u64 = query
            .get("resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let name = query
            .get("fieldSelector")
            .and_then(|f| f.strip_prefix("metadata.name="))
            .map(str::to_owned);
        let labels = query.get("labelSelector").cloned().unwrap_or_default();
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            let events: Vec<_> = self
                .state()
                .events
                .iter()
                .filter(|e| e.0 > after)
                .cloned()
                .collect();
            for (rv, ty, p, obj) in events {
                after = rv;
                let (collection, object) = p.rsplit_once('/').unwrap_or_default();
                if collection != path
                    || name.as_deref().is_some_and(|n| n != object)
                    || !matches(&obj, &labels)
                {
                    continue;
                }
                if writeln!(conn, "{}", json!({"type": ty, "object": obj})).is_err() {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `GET …/pods/NAME/log`.
    fn logs(&self, conn: &mut dyn Write, path: &str, query: &BTreeMap<String, String>) {
        let pod = path
            .trim_end_matches("/log")
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let container = query
            .get("container")
            .cloned()
            .unwrap_or_else(|| "main".into());
        let follow = query.get("follow").map(String::as_str) == Some("true");
        let stamps = query.get("timestamps").map(String::as_str) == Some("true");
        // sinceTime has whole seconds: every line of that second is sent again.
        let since = query
            .get("sinceTime")
            .map(|s| s.trim_end_matches('Z').to_owned());
        let (pod_path, drop_after, restarts) = {
            let mut st = self.state();
            let p = st
                .objects
                .keys()
                .find(|k| k.ends_with(&format!("/pods/{pod}")))
                .cloned();
            let d = match &st.drop_log_after {
                Some((part, n)) if follow && pod.contains(part.as_str()) => {
                    let n = *n;
                    st.drop_log_after = None;
                    Some(n)
                }
                _ => None,
            };
            (p, d, st.restarts.get(&pod).copied().unwrap_or(0))
        };
        if pod_path.is_none() {
            let text = status(404, "pod not found", "NotFound").to_string();
            let _ = write!(
                conn,
                "HTTP/1.1 404 X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
            return;
        }
        if self.state().no_kubelet {
            // As kube-apiserver v1.28 answers: 204 for a pod on no node, 500 with the dial
            // error when the node's kubelet refuses the connection.
            let node = pod_path.as_ref().and_then(|p| {
                self.state()
                    .objects
                    .get(p)?
                    .pointer("/spec/nodeName")
                    .cloned()
            });
            match node.as_ref().and_then(Value::as_str) {
                Some(node) => respond(
                    conn,
                    500,
                    &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "code": 500,
                    "message": format!("Get \"https://{node}:10250/containerLogs/ml/{pod}/{container}\": dial tcp {node}:10250: connect: connection refused")}),
                ),
                None => {
                    let _ = write!(conn, "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
                }
            }
            return;
        }
        let _ = write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
        );
        let mut sent = 0usize;
        let mut next = 0usize;
        loop {
            let (lines, done, restarted) = {
                let st = self.state();
                let lines = st
                    .logs
                    .get(&(pod.clone(), container.clone()))
                    .cloned()
                    .unwrap_or_default();
                let phase = pod_path
                    .as_ref()
                    .and_then(|p| st.objects.get(p))
                    .and_then(|o| o.pointer("/status/phase"))
                    .and_then(Value::as_str)
                    .unwrap_or("Succeeded")
                    .to_owned();
                let restarted = st.restarts.get(&pod).copied().unwrap_or(0) != restarts;
                (lines, phase != "Running", restarted)
            };
            for (stamp, line) in lines.iter().skip(next) {
                next += 1;
                if since
                    .as_ref()
                    .is_some_and(|s| stamp.get(..19).unwrap_or_default() < s.as_str())
                {
                    continue;
                }
                let text = if stamps {
                    format!("{stamp} {line}\n")
                } else {
                    format!("{line}\n")
                };
                if conn.write_all(text.as_bytes()).is_err() {
                    return;
                }
                sent += 1;
                if drop_after == Some(sent) {
                    return;
                }
            }
            if !follow || done || restarted {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Writes a JSON answer with a length.
fn respond(conn: &mut dyn Write, code: u16, answer: &Value) {
    let text = answer.to_string();
    let _ = write!(
        conn,
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), decode(v)))
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `obj`'s labels match `a=b,c=d`.
fn matches(obj: &Value, selector: &str) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|term| {
        let (k, v) = term.split_once('=').unwrap_or((term, ""));
        obj.pointer("/metadata/labels")
            .and_then(|l| l.get(k))
            .and_then(Value::as_str)
            == Some(v)
    })
}

/// As kube-apiserver v1.28 refuses a change to a Job's pod template (dry run or not): 422
/// Invalid, with the field in `details.causes`. A suspended Job that never started may change
/// its pod template's labels, annotations, node selector, tolerations and scheduling gates
/// (what Kueue changes when it admits a Job).
fn immutable(kind: &str, name: &str, old: Option<&Value>, new: &Value) -> Option<Value> {
    let old = old?;
    let never_started = old.pointer("/spec/suspend") == Some(&json!(true))
        && old.pointer("/status/startTime").is_none();
    let fixed = |job: &Value| {
        let mut t = job.pointer("/spec/template").cloned().unwrap_or_default();
        if never_started {
            t.as_object_mut().map(|o| o.remove("metadata"));
            if let Some(spec) = t.get_mut("spec").and_then(Value::as_object_mut) {
                for k in ["nodeSelector", "tolerations", "schedulingGates"] {
                    spec.remove(k);
                }
            }
        }
        t
    };
    if kind != "Job" || fixed(old) == fixed(new) {
        return None;
    }
    let message = format!(
        "Job.batch \"{name}\" is invalid: spec.template: Invalid value: core.PodTemplateSpec{{...}}: field is immutable"
    );
    let mut refusal = status(422, &message, "Invalid");
    refusal["details"] = json!({"name": name, "group": "batch", "kind": "Job", "causes": [{"reason": "FieldValueInvalid", "message": "Invalid value: core.PodTemplateSpec{...}: field is immutable", "field": "spec.template"}]});
    Some(refusal)
}

fn status(code: u16, message: &str, reason: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code})
}

fn not_found(what: &str) -> (u16, Value) {
    (404, status(404, &format!("{what} not found"), "NotFound"))
}
