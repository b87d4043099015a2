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

use std::path::PathBuf;

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
