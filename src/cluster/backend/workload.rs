//! Watching a step's workload: kube-runtime's [`watch_object`] (list by name, then watch from
//! the list's resourceVersion; a watch that ends is resumed, one that expired (410 Gone) or
//! failed starts over with a list), its latest state kept for [`super::process`] to judge.
//! A failed request only delays the next look ([`Retry`]), it never fails the step.

use std::sync::{Arc, Mutex};

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::watch_object;
use serde_json::Value;

use crate::cluster::{Retry, lock};

/// The workload as last seen.
#[derive(Debug, Clone, Default)]
pub(super) enum Workload {
    /// Not seen yet.
    #[default]
    Unseen,
    /// Its state (everything but `metadata`).
    Seen(Value),
    /// Gone: deleted, or not found.
    Deleted,
}

/// The latest state of a workload, shared between its watch and the process judging it.
pub(super) type Latest = Arc<Mutex<Workload>>;

/// Keeps `latest` up to date with the workload `name` until it is deleted (or the task is
/// aborted).
pub(super) async fn watch_workload(api: Api<DynamicObject>, name: String, latest: Latest) {
    let mut changes = std::pin::pin!(watch_object(api, &name).backoff(Retry::default()));
    while let Some(change) = changes.next().await {
        match change {
            Ok(Some(o)) => *lock(&latest) = Workload::Seen(o.data),
            Ok(None) => {
                *lock(&latest) = Workload::Deleted;
                return;
            }
            Err(_) => {}
        }
    }
}
