//! WebSocket frames of `GET /v1/realtime` (text frames, JSON, tagged by `type`).
//!
//! The visitor authenticates the upgrade with `Authorization: Bearer <visitor_token>`. After `hello`, the client may
//! send `resume` with its last seen `seq` per conversation: the server first sends every missed message (in order),
//! then `resumed`, then live frames. Live `message` frames carry `seq`; a client that sees a gap catches up over
//! REST (`after_seq`).

use serde::{Deserialize, Serialize};

use crate::conversation::{AgentRef, Message};
use crate::error::ErrorBody;

/// Frames the client sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Send the missed messages of these conversations, then `resumed`.
    Resume { cursors: Vec<ConversationCursor> },
    /// Send a message: same semantics as the idempotent PUT; answered by `ack` or `nack`.
    Send {
        conversation_id: String,
        client_message_id: String,
        body: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quick_reply_id: Option<String>,
        /// Answers a satisfaction survey (see `SendMessageRequest::survey_answer`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        survey_answer: Option<crate::survey::SurveyAnswer>,
        /// Complete upload ids (see `SendMessageRequest::attachments`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<String>,
    },
    /// The visitor is typing (or stopped). Clients throttle this.
    Typing { conversation_id: String, typing: bool },
    /// Everything up to `seq` was read.
    Read { conversation_id: String, seq: u64 },
    /// Heartbeat; answered by `pong` with the same nonce.
    Ping { nonce: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationCursor {
    pub conversation_id: String,
    /// Highest `seq` the client holds (0 = nothing).
    pub last_seq: u64,
}

/// Frames the server sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame after the upgrade.
    Hello {
        visitor_id: String,
        server_time: i64,
        heartbeat_interval_ms: u64,
    },
    /// Missed messages of one conversation after a `resume` (ascending, possibly several frames per conversation).
    Backlog {
        conversation_id: String,
        messages: Vec<Message>,
    },
    /// The backlog of a `resume` is complete; live frames follow.
    Resumed,
    /// A new message (any author, including the visitor's own from another device).
    Message {
        message: Message,
    },
    /// A `send` was stored (or was already stored: same message returned).
    Ack {
        client_message_id: String,
        message: Message,
    },
    /// A `send` was refused; `error.code` says why (4xx semantics: do not retry unchanged).
    Nack {
        client_message_id: String,
        error: ErrorBody,
    },
    /// Someone is typing. Expires by itself after `expires_in_ms` unless renewed.
    Typing {
        conversation_id: String,
        author: TypingAuthor,
        typing: bool,
        expires_in_ms: u64,
    },
    /// The team (or the visitor on another device) read up to `seq`.
    Read {
        conversation_id: String,
        reader: Reader,
        seq: u64,
    },
    /// The conversation was assigned (or unassigned: `agent` absent).
    Assigned {
        conversation_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentRef>,
    },
    ConversationClosed {
        conversation_id: String,
    },
    ConversationReopened {
        conversation_id: String,
    },
    Pong {
        nonce: u64,
    },
    /// A frame the server could not accept; the socket stays open.
    Error {
        error: ErrorBody,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypingAuthor {
    pub kind: crate::conversation::AuthorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    Visitor,
    Agent,
}

/// How often the server pings and how long a silent socket lives.
pub const HEARTBEAT_INTERVAL_MS: u64 = 20_000;
/// A typing indicator disappears after this long unless renewed.
pub const TYPING_EXPIRES_MS: u64 = 6_000;
