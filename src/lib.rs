//! mlk compiles ML pipeline definitions (TOML) into Kubernetes manifests.
//!
//! The crate is built like a compiler; each stage is a module with one entry point and only
//! imports the stages before it:
//!
//! - [`load`]: pipeline and stack files → models exactly as written, with spans;
//! - [`resolve`]: models → a [`resolve::Plan`] in which nothing is optional any more;
//! - [`render`]: plan → canonical, byte-stable Kubernetes YAML;
//! - [`exec`]: plan → a run on a backend ([`local`]: local processes);
//! - [`cli`]: the command line, the only code that prints.
//!
//! Shared leaf modules: [`diag`] (diagnostics tied to user files), [`quantity`],
//! [`duration`], [`names`], [`cache`] (cache keys and input digests) and [`threads`]
//! (independent work split across CPUs).

pub mod cache;
pub mod cli;
pub mod cluster;
pub mod compile;
pub mod diag;
pub mod domain;
pub mod duration;
pub mod exec;
pub mod labels;
pub mod load;
pub mod local;
pub mod names;
pub mod quantity;
pub mod render;
pub mod resolve;
pub mod threads;
