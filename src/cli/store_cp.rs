//! `mlk store-cp SRC DST` (hidden, for developers and the transfer benchmark): one upload or
//! download through the artifact store layer, exactly as runs move bytes. One of SRC and DST
//! is a store URI (`s3://…`, `gs://…`, `az://…`, `file://…`), the other a local path.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use super::{Exit, Reporter};
use crate::store::{Reason, Store, StoreError, StoreSpec, Timeouts};

/// `mlk store-cp` arguments.
#[derive(Debug, Args)]
pub struct StoreCpArgs {
    /// What to copy: a local file or directory, or a store URI.
    #[arg(value_name = "SRC")]
    pub src: String,
    /// Where to: a store URI, or a local path.
    #[arg(value_name = "DST")]
    pub dst: String,
    /// S3-compatible endpoint (path-style requests; http allowed).
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region (S3).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Give up on a request that receives nothing for this many seconds (retries included,
    /// the whole wait is bounded by twice that).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
}

/// Runs `mlk store-cp`.
pub(super) fn run(args: &StoreCpArgs, reporter: &Reporter) -> Exit {
    let started = Instant::now();
    match copy(args) {
        Ok((verb, t)) => {
            reporter.status(&format!(
                "{verb} {} file{}, {} bytes in {:.2} s",
                t.files,
                if t.files == 1 { "" } else { "s" },
                t.bytes,
                started.elapsed().as_secs_f64()
            ));
            if let Some(kib) = peak_rss_kib() {
                reporter.verbose(&format!("peak memory (VmHWM): {kib} KiB"));
            }
            Exit::Ok
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::from(&e)
        }
    }
}

fn copy(args: &StoreCpArgs) -> Result<(&'static str, crate::store::Transfer), StoreError> {
    let upload = is_uri(&args.dst);
    let (uri, local) = match (is_uri(&args.src), upload) {
        (false, true) => (&args.dst, &args.src),
        (true, false) => (&args.src, &args.dst),
        _ => {
            return Err(StoreError::new(
                crate::store::Op::Open,
                format!("{} → {}", args.src, args.dst),
                Reason::Malformed(
                    "one of SRC and DST must be a store URI, the other a local path".into(),
                ),
            ));
        }
    };
    let spec = StoreSpec {
        uri: parent_uri(uri).to_owned(),
        endpoint: args.endpoint.clone(),
        region: args.region.clone(),
        mount: None,
    };
    let mut timeouts = Timeouts::default();
    if let Some(secs) = args.timeout {
        timeouts.stall = Duration::from_secs(secs.max(1));
        timeouts.retry_for = timeouts.stall;
    }
    let store = Store::open_with(&spec, timeouts)?;
    let local = PathBuf::from(local);
    if upload {
        Store::block_on(store.upload(&local, uri)).map(|t| ("uploaded", t))
    } else {
        Store::block_on(store.download(uri, &local)).map(|t| ("downloaded", t))
    }
}

/// This process's peak resident set size, from /proc/self/status (Linux).
pub(super) fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether `s` is a URI (`scheme://…`) rather than a local path.
fn is_uri(s: &str) -> bool {
    s.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric())
    })
}

/// The store root for one address: the address without its last segment
/// (`s3://b/a/x` → `s3://b/a`), or the address itself when that would leave no bucket.
fn parent_uri(uri: &str) -> &str {
    let trimmed = uri.trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((parent, _))
            if parent
                .split_once("://")
                .is_some_and(|(_, rest)| !rest.is_empty()) =>
        {
            parent
        }
        _ => trimmed,
    }
}

#[cfg(test)]
mod tests {
    use super::parent_uri;

    #[test]
    fn the_store_root_is_the_parent_address() {
        assert_eq!(parent_uri("s3://b/a/x"), "s3://b/a");
        assert_eq!(parent_uri("s3://b/x/"), "s3://b");
        assert_eq!(parent_uri("s3://b"), "s3://b");
        assert_eq!(parent_uri("file:///tmp/x"), "file:///tmp");
        assert_eq!(parent_uri("file:///x"), "file:///x");
    }
}
