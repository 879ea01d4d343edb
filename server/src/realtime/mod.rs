//! `GET /v1/realtime`: the visitor WebSocket (frames in `chatflow_protocol::realtime`).

pub mod hub;
mod socket;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

pub use hub::Hub;
pub use socket::MAX_RESUME_CURSORS;

use crate::auth::VisitorAuth;
use crate::error::ApiError;
use crate::state::AppState;

/// Upgrade to the realtime WebSocket. Authenticated by the visitor token on the upgrade request.
#[utoipa::path(
    get,
    path = "/v1/realtime",
    tag = "realtime",
    security(("visitor_token" = [])),
    description = "WebSocket upgrade. Text frames are JSON `ClientFrame`s (client → server) and `ServerFrame`s \
        (server → client). The server sends `hello` first; send `resume` with your cursors to get missed messages \
        (`backlog` frames, then `resumed`). Frames above 64 KiB (`--ws-max-frame-bytes`) close the socket (1009). \
        Frames past the socket's rate (`--limit-ws-frames-per-socket`, 100 per 10 s) and sends past the visitor's \
        (`--limit-sends-per-visitor`, 20 per 10 s) are refused: `nack` for a `send`, `error` otherwise, with code \
        `rate_limited` and `retry_after_secs`. The server pings every \
        `heartbeat_interval_ms` and closes a socket silent for two intervals. Close codes: 1001 server shutting \
        down, 1013 client too slow (reconnect and resume), 4001 session ended (identify or delete), 4002 heartbeat \
        timeout.",
    responses(
        (status = 101, description = "Switching protocols"),
        (status = 400, description = "Not a WebSocket upgrade request", body = chatflow_protocol::ErrorBody),
        (status = 401, description = "Missing or unknown visitor token", body = chatflow_protocol::ErrorBody),
    )
)]
pub async fn realtime(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let ws =
        ws.map_err(|r| ApiError::invalid_body(format!("expected a WebSocket upgrade request: {}", r.body_text())))?;
    let visitor = auth.visitor;
    let max_bytes = state.limits.settings().ws_max_frame_bytes;
    Ok(ws
        .max_message_size(max_bytes)
        .max_frame_size(max_bytes)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "WebSocket upgrade failed"))
        .on_upgrade(move |socket| socket::Connection::new(state, visitor, socket).run())
        .into_response())
}
