//! `GET /v1/agent/feed`: the agents' live feed, a WebSocket that tells an agent everything that changes in their app's
//! inbox (rows, messages, notes, visitor typing, agent presence), resumable with a cursor.
//!
//! Events come from the store's append-only log (`store::agent`), written in the unit of work of each change; the
//! hub (`hub.rs`) only wakes the app's sockets after a commit, and each socket reads the log after its cursor. So a
//! socket delivers the log in order, each event once, whether it replays after a reconnect or follows live, and a
//! later multi-node server can wake sockets from the same log. Typing and presence are live only (not logged).

pub mod hub;
mod render;
mod socket;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chatflow_protocol::{ErrorBody, Message};
use serde::{Deserialize, Serialize};

pub use hub::FeedHub;

use crate::auth::AgentAuth;
use crate::error::ApiError;
use crate::inbox::views::AgentConversationSummary;
use crate::notes::Note;
use crate::state::AppState;

/// A server → agent frame of the feed (JSON text frames, `type` first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FeedFrame {
    /// Sent once, after the replay of every event after `after` (at once when `after` is absent).
    Ready { cursor: String },
    /// A conversation of the app was created or its inbox row changed: replace the row.
    Conversation { cursor: String, row: Box<AgentConversationSummary> },
    /// A message was appended (visitor, bot, agent, system).
    Message { cursor: String, message: Message },
    /// An internal note was written.
    Note { cursor: String, note: Note },
    /// The visitor is typing (live only; `typing: true` expires by itself after 6 s without a new frame).
    Typing { conversation_id: String, typing: bool },
    /// An agent of the app changed presence (live only).
    Presence { agent_id: String, available: bool },
    /// The cursor is older than the server keeps: reload, then reconnect without `after`.
    Resync,
}

/// A cursor on the wire (opaque to clients: the log position in decimal).
pub fn cursor_string(id: i64) -> String {
    id.to_string()
}

fn parse_cursor(text: &str) -> Result<i64, ApiError> {
    let shaped = (1..=18).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    text.parse::<i64>().ok().filter(|_| shaped).ok_or_else(|| {
        ApiError::invalid_field(format!(
            "after: `{text}` is not a cursor this feed sent; reconnect without `after` to start from now"
        ))
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The last cursor received: every event after it is replayed before `ready`. Cursors are decimal log positions.
    #[param(pattern = r"^[0-9]{1,18}$")]
    pub after: Option<String>,
}

/// Upgrade to the agents' feed.
#[utoipa::path(
    get,
    path = "/v1/agent/feed",
    tag = "agent",
    security(("agent_token" = [])),
    params(FeedQuery),
    description = "WebSocket upgrade, authenticated like every agent route. Server → client JSON text frames \
        (`FeedFrame`): after the replay of every event after `after` comes `ready` with the current cursor (at once \
        without `after`); then `conversation` (replace the inbox row), `message`, `note` — each with a `cursor`, in \
        cursor order, each exactly once across reconnects that pass the last cursor seen — and live-only `typing` \
        and `presence`. Only the agent's app's events are sent. A cursor older than the kept history gets \
        `resync` and the socket closes (1000): reload, then reconnect without `after`. Client frames are ignored. \
        The server pings every heartbeat interval and closes a socket silent for two intervals. Close codes: 1001 \
        server shutting down, 1013 client too slow (reconnect with the last cursor), 4002 heartbeat timeout.",
    responses(
        (status = 101, description = "Switching protocols; frames are `FeedFrame`s", body = FeedFrame),
        (status = 400, description = "invalid_body (not a WebSocket upgrade), invalid_field (`after`)",
            body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn feed(
    State(state): State<AppState>,
    auth: AgentAuth,
    query: Result<Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|r| ApiError::invalid_field(r.body_text()))?;
    let after = q.after.as_deref().map(parse_cursor).transpose()?;
    let ws =
        ws.map_err(|r| ApiError::invalid_body(format!("expected a WebSocket upgrade request: {}", r.body_text())))?;
    let agent = auth.agent;
    Ok(ws
        .max_message_size(state.limits.settings().ws_max_frame_bytes)
        .max_frame_size(state.limits.settings().ws_max_frame_bytes)
        .on_failed_upgrade(|e| tracing::debug!(error = %e, "feed upgrade failed"))
        .on_upgrade(move |socket| socket::FeedSocket::new(state, agent, socket).run(after))
        .into_response())
}

/// Tells the app's feed sockets that the visitor is typing (or stopped) in a conversation.
pub fn publish_typing(state: &AppState, app_id: &str, conversation_id: &str, typing: bool) {
    state.feed.publish_live(app_id, &FeedFrame::Typing { conversation_id: conversation_id.to_owned(), typing });
}

/// Tells the app's feed sockets that an agent changed presence.
pub fn publish_presence(state: &AppState, app_id: &str, agent_id: &str, available: bool) {
    state.feed.publish_live(app_id, &FeedFrame::Presence { agent_id: agent_id.to_owned(), available });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_match_the_documented_shapes() {
        let f = |frame: &FeedFrame| serde_json::to_string(frame).unwrap();
        assert_eq!(f(&FeedFrame::Ready { cursor: cursor_string(12) }), r#"{"type":"ready","cursor":"12"}"#);
        assert_eq!(f(&FeedFrame::Resync), r#"{"type":"resync"}"#);
        assert_eq!(
            f(&FeedFrame::Typing { conversation_id: "c".into(), typing: true }),
            r#"{"type":"typing","conversation_id":"c","typing":true}"#
        );
        assert_eq!(
            f(&FeedFrame::Presence { agent_id: "a".into(), available: false }),
            r#"{"type":"presence","agent_id":"a","available":false}"#
        );
        assert_eq!(parse_cursor("42").unwrap(), 42);
        for bad in ["", "-1", "x", "1.5"] {
            assert!(parse_cursor(bad).is_err(), "{bad}");
        }
    }
}
