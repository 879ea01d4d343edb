//! The accept loop: HTTP/1.1 over hyper with a deadline on each request's header (`--header-timeout-secs`), which
//! axum's `serve` cannot set. A client that opens a connection and sends half a header (or nothing), then stalls, is
//! disconnected when the deadline passes; so is a kept-alive connection that sends no next request in that time.
//!
//! Also: `TCP_NODELAY` on every connection, the peer address as `ConnectInfo` (rate limits by address), upgrades
//! (the WebSockets), and a graceful stop that lets requests in flight finish.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves `app` on `listener` until `stop` completes, then waits for the open connections to finish their requests
/// (the caller bounds that wait).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    stop: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    // Dropped on stop: every connection sees it and shuts down gracefully.
    let (stopping_tx, stopping_rx) = watch::channel(());
    // Every connection holds a receiver; `closed()` completes when the last one is gone.
    let (open_tx, open_rx) = watch::channel(());
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors, a connection reset before accept: wait a moment, keep serving.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Small frames (an `ack` then the `message`) must leave at once: without TCP_NODELAY, Nagle's algorithm
        // holds the second write until the client's delayed ACK, adding ~40 ms to every other send.
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!(%err, "TCP_NODELAY not set");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            // A `Router` is always ready: calling it without `poll_ready` is what axum's own `serve` does.
            let mut app = app.clone();
            async move {
                Ok::<_, Infallible>(tower_service::Service::call(&mut app, req).await.unwrap_or_else(|e| match e {}))
            }
        });
        let mut stopping = stopping_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout);
            let conn = builder.serve_connection(TokioIo::new(stream), service).with_upgrades();
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                result = conn.as_mut() => log_end(result, peer),
                _ = stopping.changed() => {
                    conn.as_mut().graceful_shutdown();
                    log_end(conn.await, peer);
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(stopping_tx);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

fn log_end(result: Result<(), hyper::Error>, peer: SocketAddr) {
    if let Err(e) = result {
        // A header deadline, a client gone mid-request: the client's doing, not a server fault.
        tracing::debug!(error = %e, %peer, "connection ended");
    }
}
