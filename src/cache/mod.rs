//! Caching: the content-hash cache key of a step and the digests of local inputs.
//!
//! The key (SPEC §3) is a versioned [`key::KeyComponents`] struct streamed into SHA-256, so
//! its format is explicit and any change to it is deliberate. Local inputs are hashed by
//! [`digest`]; this is the only I/O of the compile path besides reading the TOML files.

pub mod digest;
pub mod key;
pub mod store;
