//! `[artifacts]` and `[cache]`: where step outputs and cache records are kept.

use toml::Spanned;

use crate::domain::{Backend, CacheStore, Engine, StoreKind};
use crate::duration::Duration;
use crate::load::LoadError;
use crate::load::toml::{Cx, Sp, Table};
use crate::load::values::choice;

/// `[artifacts]`.
#[derive(Debug, Clone)]
pub struct ArtifactsDef {
    /// Base URI of step outputs.
    pub uri: Sp<String>,
    /// What kind of store `uri` names.
    pub kind: StoreKind,
    /// A Secret whose keys become environment variables of every step (storage credentials).
    pub env_from_secret: Option<String>,
    /// An S3-compatible server's endpoint (`http://minio.storage:9000`).
    pub endpoint: Option<String>,
    /// The object store's region.
    pub region: Option<String>,
    /// The image that carries the static mlk binary (the launcher), for pods that move bytes.
    pub launcher_image: Option<Sp<String>>,
}

/// `[cache]`.
#[derive(Debug, Clone)]
pub struct CacheDef {
    /// The store.
    pub store: CacheStore,
    /// Default maximum age of a usable record.
    pub ttl: Option<Duration>,
}

/// Reads `[artifacts]`; the URI defaults to `.mlk/artifacts`.
pub(super) fn artifacts(root: &mut Table<'_, '_>, cx: &mut Cx) -> ArtifactsDef {
    let mut def = ArtifactsDef {
        uri: Spanned::new(0..0, ".mlk/artifacts".into()),
        kind: StoreKind::Disk,
        env_from_secret: None,
        endpoint: None,
        region: None,
        launcher_image: None,
    };
    let Some(mut a) = root.table("artifacts", cx) else {
        return def;
    };
    if let Some(uri) = a.opt::<Sp<String>>("uri", cx) {
        match StoreKind::of(uri.get_ref()) {
            Ok(kind) => def.kind = kind,
            Err(message) => cx.error(LoadError::value(
                uri.span(),
                "not a store mlk can use",
                message,
                "s3://BUCKET/prefix, gs://BUCKET/prefix, az://CONTAINER/prefix, file:///abs/dir, pvc://CLAIM/prefix, or a local directory",
            )),
        }
        def.uri = uri;
    }
    def.env_from_secret = a.opt("env_from_secret", cx);
    if let Some(endpoint) = a.opt::<Sp<String>>("endpoint", cx) {
        let e = endpoint.get_ref();
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            cx.error(LoadError::value(
                endpoint.span(),
                "not an endpoint URL",
                format!("`{e}` is not an http:// or https:// URL"),
                "the S3-compatible server's URL, e.g. endpoint = \"http://minio.storage:9000\"",
            ));
        } else if !matches!(&def.kind, StoreKind::Object { scheme } if scheme == "s3") {
            cx.error(LoadError::value(
                endpoint.span(),
                "only for s3:// stores",
                "`endpoint` names an S3-compatible server, and this store is not s3://",
                "remove `endpoint`, or use an s3:// uri",
            ));
        }
        def.endpoint = Some(endpoint.into_inner());
    }
    def.region = a.opt("region", cx);
    def.launcher_image = a.opt("launcher_image", cx);
    a.finish(cx);
    def
}

/// Reads `[cache]`; the store defaults to what suits the backend and the engine: an
/// engine's runs have no `mlk` process to write records, so the launcher writes them into
/// the artifact store.
pub(super) fn cache(
    root: &mut Table<'_, '_>,
    (backend, engine): (Backend, Engine),
    artifacts: &ArtifactsDef,
    cx: &mut Cx,
) -> CacheDef {
    let default_store = match (backend, engine) {
        (_, Engine::Argo) => CacheStore::Artifacts,
        (Backend::Local, _) => CacheStore::Local,
        _ => CacheStore::Configmap,
    };
    match root.table("cache", cx) {
        Some(mut c) => {
            let written = c
                .raw("store")
                .and_then(|s| choice(s, &["configmap", "local", "artifacts", "none"], cx));
            let store = written.as_ref().map(|s| match *s.get_ref() {
                "configmap" => CacheStore::Configmap,
                "local" => CacheStore::Local,
                "artifacts" => CacheStore::Artifacts,
                _ => CacheStore::None,
            });
            if let (Some(s), Some(store)) = (&written, store) {
                store_fits(s.span(), store, engine, artifacts, cx);
            }
            let ttl = c.opt("ttl", cx);
            c.finish(cx);
            CacheDef {
                store: store.unwrap_or(default_store),
                ttl,
            }
        }
        None => CacheDef {
            store: default_store,
            ttl: None,
        },
    }
}

/// Records in the artifact store need an object store every `mlk` can read; an engine's
/// runs can keep them nowhere else (no `mlk` process writes ConfigMaps or local files).
fn store_fits(
    at: std::ops::Range<usize>,
    store: CacheStore,
    engine: Engine,
    artifacts: &ArtifactsDef,
    cx: &mut Cx,
) {
    if store == CacheStore::Artifacts && !matches!(artifacts.kind, StoreKind::Object { .. }) {
        cx.error(LoadError::value(
            at,
            "needs an object store",
            format!(
                "store = \"artifacts\" keeps cache records in the artifact store, and `{}` is not an s3://, gs:// or az:// store",
                artifacts.uri.get_ref()
            ),
            "set `[artifacts] uri` to an object store, or use store = \"local\" or \"configmap\"",
        ));
    } else if engine == Engine::Argo && matches!(store, CacheStore::Configmap | CacheStore::Local) {
        cx.error(LoadError::value(
            at,
            "no run writes here",
            "an Argo run has no `mlk` process to write cache records into ConfigMaps or local files: the launcher writes them into the artifact store",
            "use store = \"artifacts\" (the default with engine = \"argo\"), or \"none\"",
        ));
    }
}
