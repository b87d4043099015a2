//! A bound on how long the API server may take to answer a request, the same for every
//! request mlk sends.
//!
//! A server that accepts connections but never answers would otherwise leave mlk silent for
//! minutes (kube's read timeout is 295 s, kept that long for watches). [`AnswerLayer`] wraps
//! the client's whole stack: the response's status and headers must arrive within
//! [`ANSWER_WITHIN`] (connecting, TLS and credentials included); a body that streams after
//! that (a watch, a followed log) is not bounded. After [`NOTICE_AFTER`] of waiting, one line
//! says what mlk waits for, through the hook the CLI sets with [`on_slow_answer`] (this
//! module prints nothing itself). A request that gets no answer fails with [`NoAnswer`],
//! which is not retried: the next try would wait as long.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tower_layer::Layer;
use tower_service::Service;

/// Longest wait for the answer (status and headers) to one request.
pub(crate) const ANSWER_WITHIN: Duration = Duration::from_secs(15);

/// Wait before saying that mlk waits for the API server.
pub(crate) const NOTICE_AFTER: Duration = Duration::from_secs(5);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where the "waiting for the API server" line goes.
type Notice = Box<dyn Fn(&str) + Send + Sync>;

static NOTICE: OnceLock<Notice> = OnceLock::new();

/// Sets, once per process, what to do with the line that says mlk is waiting for an answer.
pub(crate) fn on_slow_answer(notice: Notice) {
    let _ = NOTICE.set(notice);
}

/// The API server did not answer a request in time.
#[derive(Debug, thiserror::Error)]
#[error("no answer from the API server within {}s", ANSWER_WITHIN.as_secs())]
pub(crate) struct NoAnswer;

/// Whether `e` or one of its sources is a [`NoAnswer`].
pub(crate) fn is_no_answer(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<NoAnswer>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// Bounds every request of a client to the API server at `server` (see the module docs).
#[derive(Clone)]
pub(crate) struct AnswerLayer {
    server: Arc<str>,
}

impl AnswerLayer {
    /// For the API server at `server` (its URL, for the notice).
    pub(crate) fn new(server: &str) -> Self {
        AnswerLayer {
            server: server.into(),
        }
    }
}

impl<S> Layer<S> for AnswerLayer {
    type Service = Answer<S>;

    fn layer(&self, inner: S) -> Answer<S> {
        Answer {
            inner,
            server: self.server.clone(),
        }
    }
}

/// A service whose answers must come within [`ANSWER_WITHIN`].
#[derive(Clone)]
pub(crate) struct Answer<S> {
    inner: S,
    server: Arc<str>,
}

impl<S, R> Service<R> for Answer<S>
where
    S: Service<R>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let answer = self.inner.call(request);
        let server = self.server.clone();
        Box::pin(async move {
            let mut answer = Box::pin(answer);
            if let Ok(r) = tokio::time::timeout(NOTICE_AFTER, &mut answer).await {
                return r.map_err(Into::into);
            }
            if let Some(notice) = NOTICE.get() {
                notice(&format!(
                    "waiting for the API server at {server} ({} s)",
                    NOTICE_AFTER.as_secs()
                ));
            }
            match tokio::time::timeout(ANSWER_WITHIN.saturating_sub(NOTICE_AFTER), answer).await {
                Ok(r) => r.map_err(Into::into),
                Err(_) => Err(Box::new(NoAnswer) as BoxError),
            }
        })
    }
}
