//! From a [`StoreSpec`] to an object_store client: the URI's scheme and parts, the cloud's
//! builder read from its standard environment, and the HTTP client's timeouts and retries.
//! No network I/O happens here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use super::StoreSpec;
use super::error::{Op, Reason, StoreError};

/// How long requests may take, and how they are retried (5xx, 429, timeouts, broken
/// connections: object_store's retry loop with exponential backoff).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeouts {
    /// Connecting to the endpoint.
    pub connect: Duration,
    /// The longest a request may go without receiving a byte. There is no bound on a whole
    /// request: a large object streams for as long as bytes keep coming.
    pub stall: Duration,
    /// Retries of one request.
    pub retries: usize,
    /// The time after which a request is not retried any more.
    pub retry_for: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            connect: Duration::from_secs(5),
            stall: Duration::from_secs(30),
            retries: 5,
            retry_for: Duration::from_secs(60),
        }
    }
}

/// Where a URI points, by scheme.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Location {
    /// `s3://bucket/prefix`.
    S3 { bucket: String, prefix: String },
    /// `gs://bucket/prefix`.
    Gcs { bucket: String, prefix: String },
    /// `az://container/prefix`.
    Azure { container: String, prefix: String },
    /// `file:///abs`, a plain path, or a mounted `pvc://`: a local directory.
    Dir(PathBuf),
}

/// What [`open`] builds: the client, the object path of the root, and the names errors show.
pub(super) struct Opened {
    pub inner: Arc<dyn ObjectStore>,
    pub base: ObjectPath,
    pub bucket: Option<String>,
    pub endpoint: String,
}

/// Reads the URI of `spec` into a [`Location`].
pub(super) fn locate(spec: &StoreSpec) -> Result<Location, StoreError> {
    let uri = spec.uri.as_str();
    let bad = |reason| StoreError::new(Op::Open, uri, reason);
    let Some((scheme, rest)) = uri.split_once("://") else {
        if uri.is_empty() {
            return Err(bad(Reason::Malformed("the URI is empty".into())));
        }
        return Ok(Location::Dir(absolute(uri)));
    };
    let (first, prefix) = match rest.split_once('/') {
        Some((f, p)) => (f.to_owned(), p.trim_matches('/').to_owned()),
        None => (rest.to_owned(), String::new()),
    };
    let need_first = |what: &str| {
        if first.is_empty() {
            Err(bad(Reason::Malformed(format!(
                "no {what} after {scheme}://"
            ))))
        } else {
            Ok(())
        }
    };
    match scheme {
        "s3" => need_first("bucket").map(|()| Location::S3 {
            bucket: first.clone(),
            prefix,
        }),
        "gs" => need_first("bucket").map(|()| Location::Gcs {
            bucket: first.clone(),
            prefix,
        }),
        "az" => need_first("container").map(|()| Location::Azure {
            container: first.clone(),
            prefix,
        }),
        "file" if first.is_empty() || first == "localhost" => {
            Ok(Location::Dir(PathBuf::from(format!("/{prefix}"))))
        }
        "file" => Err(bad(Reason::Malformed(
            "a file:// URI names no host: use file:///absolute/path".into(),
        ))),
        "pvc" => {
            need_first("claim")?;
            match &spec.mount {
                Some(mount) => Ok(Location::Dir(absolute(mount).join(&prefix))),
                None => Err(bad(Reason::PvcNotMounted { claim: first })),
            }
        }
        other => Err(bad(Reason::Scheme(other.to_owned()))),
    }
}

fn absolute(p: impl AsRef<Path>) -> PathBuf {
    std::path::absolute(p.as_ref()).unwrap_or_else(|_| p.as_ref().to_path_buf())
}

/// Builds the client for `spec`: credentials from each cloud's standard environment.
pub(super) fn open(spec: &StoreSpec, t: &Timeouts) -> Result<Opened, StoreError> {
    let location = locate(spec)?;
    let uri = spec.uri.as_str();
    let bad = |m: String| StoreError::new(Op::Open, uri, Reason::Malformed(m));
    if spec.endpoint.is_some() && !matches!(location, Location::S3 { .. }) {
        return Err(bad("`endpoint` applies to s3:// stores only".into()));
    }
    // One ring provider per process for every rustls client; an Err means one is installed.
    // Deprecated for lacking post-quantum key exchange, but ring is the project's provider
    // (no aws-lc), the same kube uses.
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: t.retries,
        retry_timeout: t.retry_for,
    };
    let built = |r: object_store::Result<Arc<dyn ObjectStore>>| {
        r.map_err(|e| super::error::open_failure(uri, &e))
    };
    let (inner, bucket, prefix, endpoint) = match location {
        Location::S3 { bucket, prefix } => {
            let (store, endpoint) = s3(spec, &bucket, t, retry)?;
            (store, Some(bucket), prefix, endpoint)
        }
        Location::Gcs { bucket, prefix } => {
            let b = object_store::gcp::GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(&bucket)
                .with_retry(retry)
                .with_client_options(client_options(t));
            let store = built(b.build().map(arc))?;
            (
                store,
                Some(bucket),
                prefix,
                "Google Cloud Storage".to_owned(),
            )
        }
        Location::Azure { container, prefix } => {
            let b = object_store::azure::MicrosoftAzureBuilder::from_env()
                .with_container_name(&container)
                .with_retry(retry)
                .with_client_options(client_options(t));
            let store = built(b.build().map(arc))?;
            (
                store,
                Some(container),
                prefix,
                "Azure Blob Storage".to_owned(),
            )
        }
        Location::Dir(dir) => {
            let prefix = dir.to_string_lossy().trim_matches('/').to_owned();
            let store: Arc<dyn ObjectStore> = Arc::new(object_store::local::LocalFileSystem::new());
            (store, None, prefix, dir.display().to_string())
        }
    };
    let base = object_path(&prefix).map_err(bad)?;
    Ok(Opened {
        inner,
        base,
        bucket,
        endpoint,
    })
}

/// The S3 client of `bucket`, and its endpoint as messages show it.
fn s3(
    spec: &StoreSpec,
    bucket: &str,
    t: &Timeouts,
    retry: RetryConfig,
) -> Result<(Arc<dyn ObjectStore>, String), StoreError> {
    let uri = spec.uri.as_str();
    let mut b = object_store::aws::AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_retry(retry);
    let mut client = client_options(t);
    if let Some(ep) = &spec.endpoint {
        if !(ep.starts_with("http://") || ep.starts_with("https://")) {
            let m = format!("endpoint \"{ep}\" is not an http:// or https:// URL");
            return Err(StoreError::new(Op::Open, uri, Reason::Malformed(m)));
        }
        b = b
            .with_endpoint(ep.trim_end_matches('/'))
            .with_virtual_hosted_style_request(false);
        // Plain HTTP needs no CA certificates: without the system's, an image with no CA
        // bundle can still reach an in-cluster endpoint (and HTTPS fails closed).
        client = client
            .with_allow_http(true)
            .with_no_system_certificates(ep.starts_with("http://"));
    }
    if let Some(r) = &spec.region {
        b = b.with_region(r);
    }
    let endpoint = spec
        .endpoint
        .clone()
        .unwrap_or_else(|| format!("the S3 endpoint of bucket \"{bucket}\""));
    let store = b
        .with_client_options(client)
        .build()
        .map_err(|e| super::error::open_failure(uri, &e))?;
    Ok((Arc::new(store), endpoint))
}

fn arc<S: ObjectStore>(s: S) -> Arc<dyn ObjectStore> {
    Arc::new(s)
}

fn client_options(t: &Timeouts) -> ClientOptions {
    ClientOptions::new()
        .with_connect_timeout(t.connect)
        .with_read_timeout(t.stall)
        .with_timeout_disabled()
}

/// `a/b/c` → the object path with those segments; empty, `.` and `..` segments are refused.
pub(super) fn object_path(rel: &str) -> Result<ObjectPath, String> {
    let mut path = ObjectPath::default();
    for seg in rel.split('/').filter(|s| !s.is_empty()) {
        if seg == "." || seg == ".." {
            return Err(format!("\"{seg}\" is not allowed in an object address"));
        }
        path = path.join(seg);
    }
    Ok(path)
}
