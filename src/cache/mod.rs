//! Caching: the content-hash cache key of a step, the digests of local inputs, and the store
//! of cache records.
//!
//! The key (SPEC §3) is a versioned [`key::KeyComponents`] struct streamed into SHA-256, so
//! its format is explicit and any change to it is deliberate. Local inputs are hashed by
//! [`digest`], with file digests remembered in [`stat_cache`]; this is the only I/O of the
//! compile path besides reading the TOML files. [`store`] keeps the records of successful
//! steps and [`status`] compares a plan's keys with them.
//!
//! mlk's state lives in [`STATE_DIR`] (`.mlk/`) in the current directory: the stat cache
//! (`.mlk/stat-cache`), the local cache store (`.mlk/cache/`) and local artifacts.

use std::path::{Path, PathBuf};

use crate::domain::{Backend, CacheStore};

pub mod digest;
pub mod key;
pub mod stat_cache;
pub mod status;
pub mod store;

/// mlk's state directory, relative to the current directory.
pub const STATE_DIR: &str = ".mlk";

/// The stat cache file: `.mlk/stat-cache`.
pub fn stat_cache_path() -> PathBuf {
    PathBuf::from(STATE_DIR).join("stat-cache")
}

/// The local cache store's directory: `.mlk/cache`.
pub fn local_store_path() -> PathBuf {
    PathBuf::from(STATE_DIR).join("cache")
}

/// Where a stack's cache records are kept, as every command sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreSite {
    /// JSON files under this directory (`.mlk/cache` of the working directory).
    Local(PathBuf),
    /// ConfigMaps in the stack's namespace: reachable only through its cluster.
    Cluster,
    /// Inside the output manifests in the stack's artifact store (an object store).
    Artifacts,
    /// `store = "none"`: caching is off.
    Off,
}

/// The one rule for where a stack keeps its cache records: `store = "configmap"` needs a
/// cluster, so a stack whose steps run locally keeps them in `.mlk/cache` under `root` (the
/// working directory) like `store = "local"`.
pub fn store_site(backend: Backend, store: CacheStore, root: &Path) -> StoreSite {
    match store {
        CacheStore::None => StoreSite::Off,
        CacheStore::Artifacts => StoreSite::Artifacts,
        CacheStore::Configmap if backend != Backend::Local => StoreSite::Cluster,
        CacheStore::Local | CacheStore::Configmap => {
            StoreSite::Local(root.join(local_store_path()))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Backend, CacheStore, StoreSite, store_site};

    #[test]
    fn one_store_rule_for_every_command() {
        let root = Path::new("/w");
        let local = StoreSite::Local(Path::new("/w/.mlk/cache").to_path_buf());
        let site = |b, s| store_site(b, s, root);
        assert_eq!(site(Backend::Local, CacheStore::Local), local);
        assert_eq!(site(Backend::Local, CacheStore::Configmap), local);
        assert_eq!(site(Backend::Kubernetes, CacheStore::Local), local);
        assert_eq!(
            site(Backend::Kubernetes, CacheStore::Configmap),
            StoreSite::Cluster
        );
        assert_eq!(site(Backend::Local, CacheStore::None), StoreSite::Off);
        assert_eq!(site(Backend::Kubernetes, CacheStore::None), StoreSite::Off);
    }
}
