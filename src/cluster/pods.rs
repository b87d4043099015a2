//! Finding the pods of a step or a run as kubectl and stern do: one list, then a watch from
//! the list's resourceVersion, so following a running step costs one open request instead
//! of a list every [`POLL`].

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, ObjectList, WatchEvent, WatchParams};

use super::{POLL, lock, retry};

/// The pods that match a label selector: listed, then watched from the list's
/// resourceVersion. A watch that ends is resumed from the last version seen; one that fails
/// (410 Gone, a dropped connection, an error answer) starts over with a list.
pub(super) struct PodWatch {
    pub(super) pods: Api<Pod>,
    pub(super) selector: String,
    /// Kept up to date with every pod the list and the watch report, by name (deleted pods
    /// removed), for whoever wants to look at them without a request of its own.
    pub(super) seen: Option<Seen>,
}

/// The pods of a step as last seen by a [`PodWatch`], by name.
pub(super) type Seen = Arc<Mutex<BTreeMap<String, Pod>>>;

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

impl PodWatch {
    /// The pods now, with the version to watch from.
    pub(super) async fn list(&self) -> Result<ObjectList<Pod>, kube::Error> {
        let lp = ListParams::default().labels(&self.selector);
        retry(|| self.pods.list(&lp)).await
    }

    /// Calls `found` with every pod listed or reported added or modified until `done`, then
    /// with every pod of one more list. `first` stands for the first list.
    pub(super) async fn run(
        &self,
        mut first: Option<ObjectList<Pod>>,
        done: &AtomicBool,
        mut found: impl FnMut(&Pod),
    ) {
        let wp = WatchParams::default().labels(&self.selector);
        // Where to watch from; `None`: list first.
        let mut version: Option<String> = None;
        // Failed lists and watches in a row.
        let mut failures = 0u32;
        loop {
            // Read before listing: pods listed after the end are still found once.
            let finished = done.load(Ordering::SeqCst);
            if finished || version.is_none() {
                let list = match first.take() {
                    Some(l) if !finished => Ok(l),
                    _ => self.list().await,
                };
                match list {
                    Ok(list) => {
                        if let Some(seen) = &self.seen {
                            *lock(seen) = list.items.iter().map(|p| (name(p), p.clone())).collect();
                        }
                        list.items.iter().for_each(&mut found);
                        version = list.metadata.resource_version;
                        // Nothing to watch from: list again, after a while.
                        failures += u32::from(version.is_none());
                    }
                    Err(_) => failures += 1,
                }
                if finished {
                    return;
                }
            }
            if let Some(from) = version.take() {
                let opened = Instant::now();
                match self.watch(&wp, from, done, &mut found).await {
                    Ok(last) => {
                        failures = 0;
                        version = Some(last);
                        if opened.elapsed() < POLL {
                            // A watch that ends at once must not become a busy loop.
                            unless_done(done, tokio::time::sleep(POLL)).await;
                        }
                    }
                    Err(()) => failures += 1,
                }
            }
            if failures > 1 {
                // The first failure is retried at once: an expired version is routine.
                let wait = POLL * 2u32.pow((failures - 2).min(3));
                unless_done(done, tokio::time::sleep(wait)).await;
            }
        }
    }

    /// Watches from `version` until the watch ends or `done` (`Ok`: the last version seen),
    /// or fails.
    async fn watch(
        &self,
        wp: &WatchParams,
        mut version: String,
        done: &AtomicBool,
        found: &mut impl FnMut(&Pod),
    ) -> Result<String, ()> {
        let stream = match unless_done(done, self.pods.watch(wp, &version)).await {
            None => return Ok(version),
            Some(Ok(s)) => s,
            Some(Err(_)) => return Err(()),
        };
        let mut stream = std::pin::pin!(stream);
        loop {
            let event = match unless_done(done, stream.next()).await {
                None | Some(None) => return Ok(version),
                Some(Some(e)) => e,
            };
            match event {
                Ok(WatchEvent::Added(pod) | WatchEvent::Modified(pod)) => {
                    if let Some(seen) = &self.seen {
                        lock(seen).insert(name(&pod), pod.clone());
                    }
                    found(&pod);
                    version = pod.metadata.resource_version.unwrap_or(version);
                }
                Ok(WatchEvent::Deleted(pod)) => {
                    if let Some(seen) = &self.seen {
                        lock(seen).remove(&name(&pod));
                    }
                    version = pod.metadata.resource_version.unwrap_or(version);
                }
                Ok(WatchEvent::Bookmark(b)) => version = b.metadata.resource_version,
                // 410 Gone (the version is too old) or any other error: list again.
                Ok(WatchEvent::Error(_)) | Err(_) => return Err(()),
            }
        }
    }
}

/// Awaits `f`, unless `done` is set first (looked at every [`POLL`]): `None`.
pub(super) async fn unless_done<F: Future>(done: &AtomicBool, f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    while !done.load(Ordering::SeqCst) {
        if let Ok(out) = tokio::time::timeout(POLL, f.as_mut()).await {
            return Some(out);
        }
    }
    None
}
