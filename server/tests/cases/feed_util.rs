//! A client of the agents' feed (`GET /v1/agent/feed`), frames as JSON values.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

pub struct Feed {
    inner: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

pub fn feed_url(server: &TestServer, after: Option<&str>) -> String {
    let base = server.base.replacen("http://", "ws://", 1);
    match after {
        Some(c) => format!("{base}/v1/agent/feed?after={c}"),
        None => format!("{base}/v1/agent/feed"),
    }
}

impl Feed {
    pub fn from_stream(
        inner: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    ) -> Self {
        Feed { inner }
    }

    /// Connects as `agent` and returns the socket with the cursor of its `ready` frame (replayed frames before it
    /// are returned too).
    pub async fn open(server: &TestServer, agent: &str, after: Option<&str>) -> (Feed, Vec<Value>, String) {
        let mut req = feed_url(server, after).into_client_request().unwrap();
        req.headers_mut().insert("authorization", format!("Bearer {agent}").parse().unwrap());
        let (inner, _) = tokio_tungstenite::connect_async(req).await.expect("feed connects");
        let mut feed = Feed { inner };
        let mut replayed = Vec::new();
        loop {
            let frame = feed.recv().await;
            if frame["type"] == "ready" {
                let cursor = frame["cursor"].as_str().expect("ready has a cursor").to_owned();
                return (feed, replayed, cursor);
            }
            replayed.push(frame);
        }
    }

    /// Sends a text frame (the feed reads none but counts them).
    pub async fn send_text(&mut self, text: &str) {
        self.inner.send(WsMessage::text(text)).await.expect("feed send");
    }

    pub async fn recv(&mut self) -> Value {
        self.try_recv(WS_WAIT).await.expect("a feed frame before the timeout")
    }

    /// The next JSON frame, or `None` on timeout or close.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.inner.next()).await.ok()??.ok()?;
            match msg {
                WsMessage::Text(t) => return Some(serde_json::from_str(t.as_str()).expect("feed frame is JSON")),
                WsMessage::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next frame of type `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let f = self.recv().await;
            if f["type"] == kind {
                return f;
            }
        }
    }

    /// The next `conversation` frame about `conversation`.
    pub async fn next_row(&mut self, conversation: &str) -> Value {
        loop {
            let f = self.next_of("conversation").await;
            if f["row"]["conversation"]["id"] == conversation {
                return f["row"].clone();
            }
        }
    }

    /// Waits for the close frame; returns its code.
    pub async fn closed_with(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WS_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await.ok()? {
                Some(Ok(WsMessage::Close(Some(f)))) => return Some(f.code.into()),
                Some(Ok(WsMessage::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }
}
