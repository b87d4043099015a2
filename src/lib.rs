//! mlk compiles ML pipeline definitions (TOML) into Kubernetes manifests, and runs them.
//!
//! The crate is built like a compiler; each stage is a module with one entry point and only
//! imports the stages before it (ARCHITECTURE.md at the repository root is the map):
//!
//! - [`load`]: pipeline and stack files → models exactly as written, with spans;
//! - [`resolve`]: models → a [`resolve::Plan`] in which nothing is optional any more;
//! - `render`: plan → canonical, byte-stable Kubernetes YAML;
//! - `compile`: the stages every command shares, in order (find the stack, load, hash
//!   inputs, resolve; render);
//! - `exec`: plan → a run on a backend (`local`: local processes; `cluster`: Kubernetes);
//! - `show`: plan or run → pictures and reports as files (Mermaid, DOT, the HTML run report,
//!   lineage);
//! - [`cli`]: the command line, the only code that prints.
//!
//! Shared leaf modules: `access` (every verb mlk uses on a cluster), `domain` (the closed sets
//! of values both files and the plan name),
//! `labels` (every label and annotation key), `diag` (diagnostics tied to user files),
//! `quantity`, `duration`, `names`, [`cache`] (cache keys, input digests, record
//! stores and the hit rule), `threads` (independent work split across CPUs) and `store` (bytes
//! moved between local paths and the artifact store: S3, GCS, Azure, local directories).

pub(crate) mod access;
pub(crate) mod artifacts;
pub mod cache;
pub mod cli;
pub(crate) mod cluster;
pub(crate) mod compile;
pub(crate) mod diag;
pub(crate) mod domain;
pub(crate) mod duration;
pub(crate) mod exec;
pub(crate) mod labels;
pub(crate) mod launch;
pub mod load;
pub(crate) mod local;
pub(crate) mod names;
pub(crate) mod quantity;
pub(crate) mod render;
pub mod resolve;
pub(crate) mod show;
pub(crate) mod store;
pub(crate) mod threads;
