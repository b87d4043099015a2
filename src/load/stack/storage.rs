//! `[artifacts]` and `[cache]`: where step outputs and cache records are kept.

use toml::Spanned;

use crate::domain::{Backend, CacheStore};
use crate::duration::Duration;
use crate::load::toml::{Cx, Sp, Table};
use crate::load::values::choice;

/// `[artifacts]`.
#[derive(Debug, Clone)]
pub struct ArtifactsDef {
    /// Base URI of step outputs.
    pub uri: Sp<String>,
    /// A Secret whose keys become environment variables of every step (storage credentials).
    pub env_from_secret: Option<String>,
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
    match root.table("artifacts", cx) {
        Some(mut a) => {
            let uri = a.opt::<Sp<String>>("uri", cx);
            let env_from_secret = a.opt("env_from_secret", cx);
            a.finish(cx);
            ArtifactsDef {
                uri: uri.unwrap_or_else(|| Spanned::new(0..0, ".mlk/artifacts".into())),
                env_from_secret,
            }
        }
        None => ArtifactsDef {
            uri: Spanned::new(0..0, ".mlk/artifacts".into()),
            env_from_secret: None,
        },
    }
}

/// Reads `[cache]`; the store defaults to what suits the backend.
pub(super) fn cache(root: &mut Table<'_, '_>, backend: Backend, cx: &mut Cx) -> CacheDef {
    let default_store = if backend == Backend::Local {
        CacheStore::Local
    } else {
        CacheStore::Configmap
    };
    match root.table("cache", cx) {
        Some(mut c) => {
            let store = c
                .raw("store")
                .and_then(|s| choice(s, &["configmap", "local", "none"], cx))
                .map(|s| match *s.get_ref() {
                    "configmap" => CacheStore::Configmap,
                    "local" => CacheStore::Local,
                    _ => CacheStore::None,
                });
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
