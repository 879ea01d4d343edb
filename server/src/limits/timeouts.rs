//! The body deadline (`--body-timeout-secs`): once a request's header is in, its body must arrive within the
//! timeout, or reading it fails; the handler answers 400 `invalid_body` naming the timeout and the connection is
//! closed (its unread bytes cannot be skipped). A client trickling a body byte by byte cannot hold a connection.
//!
//! Upload chunks (`PATCH` of an upload) may be large on a slow network: for them the timeout is the longest pause
//! between two pieces of the body, not the whole body.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::state::AppState;

/// Middleware: wraps the body of every request that has one in the deadline.
pub async fn body_deadline(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).map(str::trim);
    let has_body = declared.is_some_and(|n| n != "0") || req.headers().contains_key(TRANSFER_ENCODING);
    if !has_body {
        return next.run(req).await;
    }
    let timeout = state.limits.settings().body_timeout;
    let per_piece = req.method() == Method::PATCH && req.uri().path().contains("/uploads/");
    let expired = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&expired);
    let mut response = next.run(req.map(|body| timed(body, timeout, per_piece, flag))).await;
    if expired.load(Ordering::Relaxed) {
        // The rest of the body may still come, slowly: never wait for it to reuse the connection.
        response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// `body`, failing with a timeout error when it is not all in within `timeout` (or, `per_piece`, when a pause
/// between two pieces is longer than that).
fn timed(body: Body, timeout: Duration, per_piece: bool, expired: Arc<AtomicBool>) -> Body {
    let deadline = Instant::now() + timeout;
    let state = Some((body.into_data_stream(), deadline));
    let stream = futures_util::stream::unfold(state, move |state| {
        let expired = Arc::clone(&expired);
        async move {
            let (mut stream, deadline) = state?;
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(bytes))) => {
                    let next = if per_piece { Instant::now() + timeout } else { deadline };
                    Some((Ok(bytes), Some((stream, next))))
                }
                Ok(Some(Err(e))) => Some((Err(std::io::Error::other(e)), None)),
                Ok(None) => None,
                Err(_) => {
                    expired.store(true, Ordering::Relaxed);
                    let what = if per_piece { "paused for longer than" } else { "was not all received within" };
                    let e = std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("the request body {what} {} s", timeout.as_secs()),
                    );
                    Some((Err(e), None))
                }
            }
        }
    });
    Body::from_stream(stream)
}
