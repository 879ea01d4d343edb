//! The realtime WebSocket (`GET /v1/realtime`) at the frame level: connect with the visitor token, read and write
//! protocol frames (JSON text frames, `chatflow_protocol::realtime`). Reconnects, heartbeats and what frames mean
//! live in `sync::connection`.
//!
//! A refused upgrade (401 `invalid_token`, 5xx…) becomes the same [`Error::Server`] the HTTP client produces, so the
//! session and retry rules are the same for both transports. The token travels in the `Authorization` header only
//! and is never logged.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use chatflow_protocol::limits::MAX_WS_FRAME_BYTES;
use chatflow_protocol::{ClientFrame, ServerFrame, APP_ID_HEADER};

use crate::error::{Error, Result};

/// Time for TCP connect + upgrade.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest frame the SDK reads: the server's backlog frames stay under 64 KiB of bodies; leave room for overhead.
const MAX_READ_BYTES: usize = 4 * MAX_WS_FRAME_BYTES;

/// `http(s)://host[:port][/prefix]` → `ws(s)://host[:port][/prefix]/v1/realtime`.
pub fn realtime_url(server_url: &str) -> Result<String> {
    let base = server_url.trim_end_matches('/');
    let rest = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        return Err(Error::Config {
            message: format!("server_url `{server_url}` must start with http:// or https://"),
        });
    };
    Ok(format!("{rest}/v1/realtime"))
}

/// An open realtime socket.
pub struct Socket {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Socket")
    }
}

/// What came off the socket.
#[derive(Debug)]
pub enum Incoming {
    Frame(Box<ServerFrame>),
    /// A frame that is not ours (not JSON, unknown type): the socket is still usable.
    Unreadable(String),
    /// Transport-level traffic (ping, pong): proof of life, nothing to handle.
    Control,
    /// The peer closed the socket or the connection broke.
    Closed(Option<String>),
}

/// Connects and upgrades, authenticated as the visitor; `wss://` on the client's TLS configuration (the one REST uses).
pub async fn connect(server_url: &str, app_id: &str, visitor_token: &str, tls: &Arc<ClientConfig>) -> Result<Socket> {
    let url = realtime_url(server_url)?;
    let mut request = url.as_str().into_client_request().map_err(|e| Error::Config {
        message: format!("server_url `{server_url}` does not give a valid realtime URL: {e}"),
    })?;
    let bearer = HeaderValue::from_str(&format!("Bearer {visitor_token}"))
        .map_err(|_| Error::Protocol { message: "the visitor token cannot be sent in a header".into() })?;
    let app = HeaderValue::from_str(app_id)
        .map_err(|_| Error::Config { message: format!("app_id `{app_id}` cannot be sent in an HTTP header") })?;
    request.headers_mut().insert("authorization", bearer);
    request.headers_mut().insert(APP_ID_HEADER, app);
    let config = WebSocketConfig::default().max_message_size(Some(MAX_READ_BYTES)).max_frame_size(Some(MAX_READ_BYTES));
    let connector = Connector::Rustls(tls.clone());
    let connecting = tokio_tungstenite::connect_async_tls_with_config(request, Some(config), true, Some(connector));
    match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
        Err(_) => Err(Error::Network { message: "realtime connect timed out".into() }),
        Ok(Err(e)) => Err(handshake_error(e)),
        Ok(Ok((ws, _response))) => Ok(Socket { ws }),
    }
}

fn handshake_error(e: tungstenite::Error) -> Error {
    match e {
        tungstenite::Error::Http(response) => {
            let status = reqwest::StatusCode::from_u16(response.status().as_u16())
                .unwrap_or(reqwest::StatusCode::INTERNAL_SERVER_ERROR);
            let body = response.body().as_deref().unwrap_or_default();
            crate::transport::http::server_error(status, body)
        }
        tungstenite::Error::Url(u) => Error::Config { message: format!("realtime URL: {u}") },
        other => crate::transport::tls::tls_error("realtime connect", &other)
            .unwrap_or_else(|| Error::Network { message: format!("realtime connect failed: {other}") }),
    }
}

impl Socket {
    /// Sends one frame.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<()> {
        let json = serde_json::to_string(frame)?;
        self.ws
            .send(WsMessage::text(json))
            .await
            .map_err(|e| Error::Network { message: format!("realtime write failed: {e}") })
    }

    /// Reads the next frame (waits until one arrives or the socket ends).
    pub async fn next(&mut self) -> Incoming {
        match self.ws.next().await {
            None => Incoming::Closed(None),
            Some(Err(e)) => Incoming::Closed(Some(e.to_string())),
            Some(Ok(WsMessage::Text(text))) => match serde_json::from_str::<ServerFrame>(text.as_str()) {
                Ok(frame) => Incoming::Frame(Box::new(frame)),
                Err(e) => Incoming::Unreadable(e.to_string()),
            },
            Some(Ok(WsMessage::Close(frame))) => {
                Incoming::Closed(frame.map(|f| format!("closed by the server: {} {}", u16::from(f.code), f.reason)))
            }
            Some(Ok(WsMessage::Binary(_))) => Incoming::Unreadable("binary frame".into()),
            Some(Ok(_)) => Incoming::Control,
        }
    }

    /// Closes politely (bounded: a dead peer does not hold us).
    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), self.ws.close(None)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(realtime_url("http://127.0.0.1:8080").unwrap(), "ws://127.0.0.1:8080/v1/realtime");
        assert_eq!(realtime_url("https://chat.example.com/").unwrap(), "wss://chat.example.com/v1/realtime");
        assert_eq!(realtime_url("https://x.test/api").unwrap(), "wss://x.test/api/v1/realtime");
        assert!(realtime_url("ftp://x").is_err());
    }

    #[tokio::test]
    async fn a_refused_port_is_a_network_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let tls = crate::transport::tls::client_config(&crate::config::tests::config("http://127.0.0.1:1")).unwrap();
        let err = connect(&format!("http://127.0.0.1:{port}"), "app", "t", &tls).await.unwrap_err();
        assert!(matches!(err, Error::Network { .. }), "{err:?}");
    }
}
