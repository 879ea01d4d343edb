//! Conversations and messages.

use serde::{Deserialize, Serialize};

use crate::bot::QuickReply;
use crate::survey::{MessageSurvey, SurveyAnswer};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: String,
    pub chatflow_id: i64,
    pub visitor_id: String,
    pub status: ConversationStatus,
    pub channel: Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<AgentRef>,
    pub created_at: i64,
    /// Highest `seq` in the conversation (0 when empty).
    pub last_seq: u64,
    /// Highest `seq` the team has read (for the visitor's "seen" marks).
    #[serde(default)]
    pub agent_read_seq: u64,
    /// Highest `seq` the visitor has read.
    #[serde(default)]
    pub visitor_read_seq: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    Open,
    Closed,
}

/// Where a conversation came from. Mobile chat is what the SDK opens; the inbox models the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    MobileChat,
    Email,
    Form,
    Messenger,
    Whatsapp,
    Call,
}

/// An agent as a visitor sees them (alias applied when the chatflow's branding is used as agent alias).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRef {
    pub id: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

/// `POST /v1/conversations` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenConversationRequest {
    pub chatflow_id: i64,
}

/// `GET /v1/conversations` answer: the visitor's conversations, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConversationList {
    pub conversations: Vec<Conversation>,
}

/// One message. `(conversation_id, seq)` is unique and `seq` runs 1, 2, 3, … without gaps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub conversation_id: String,
    pub seq: u64,
    /// The sender's idempotency key (visitor messages always have one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_message_id: Option<String>,
    pub author: Author,
    pub body: String,
    /// Buttons the visitor may tap (bot questions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_replies: Vec<QuickReply>,
    /// Set on a visitor message sent by tapping a quick reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_reply_id: Option<String>,
    /// Server clock (Unix ms).
    pub created_at: i64,
    /// A satisfaction survey's prompt or answer (`crate::survey`); the body carries its readable text.
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "crate::survey::lenient")]
    pub survey: Option<MessageSurvey>,
    /// Files and images (`crate::attachment`), in the order the sender listed them. Older clients ignore the field;
    /// the body may then be empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<crate::attachment::Attachment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Author {
    pub kind: AuthorKind,
    /// Agent id for agents; visitor id for visitors; absent for bot/system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    Visitor,
    Agent,
    Bot,
    System,
}

/// `PUT /v1/conversations/{id}/messages/{client_message_id}` body. Idempotent: the same id returns the stored
/// message (200) instead of creating a second one (201). The same id with another body is `idempotency_conflict`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SendMessageRequest {
    /// At most 4000 characters. Not only spaces — except that a message with attachments may have an empty body.
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    #[serde(default)]
    pub body: String,
    /// The quick reply the visitor tapped: 1..=64 of `[A-Za-z0-9_-]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$"))]
    pub quick_reply_id: Option<String>,
    /// Answers the survey at `survey_seq` in this conversation (one answer per survey). The server checks it against
    /// the prompt (rating within the scale, comment length) and stores the answer's own rendering as the body
    /// (`SurveyAnswer::body`), so `body` only needs to be a non-blank placeholder. An answer does not reopen a closed
    /// conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub survey_answer: Option<SurveyAnswer>,
    /// Complete uploads of this visitor to attach (`crate::attachment`), at most
    /// `attachment::MAX_ATTACHMENTS_PER_MESSAGE`, each used by one message only (`upload_not_ready` otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

/// `GET /v1/conversations/{id}/messages?after_seq=N&limit=L` (catch-up, ascending) or `?before_seq=N&limit=L`
/// (history, the `L` messages just before `N`, returned ascending). Without either: the latest page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessagePage {
    /// Always in ascending `seq`.
    pub messages: Vec<Message>,
    /// More messages exist in the paging direction.
    pub has_more: bool,
    /// The conversation's highest `seq` at the time of the answer.
    pub last_seq: u64,
}

/// `POST /v1/conversations/{id}/read`: everything up to `seq` was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadReceipt {
    pub seq: u64,
}

/// `POST /v1/agent/conversations/{id}/messages` body (agent token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentReplyRequest {
    /// At most 4000 characters. Not only spaces — except that a message with attachments may have an empty body.
    #[cfg_attr(feature = "openapi", schema(max_length = 4000))]
    #[serde(default)]
    pub body: String,
    /// Optional idempotency key for agent tools that retry: 1..=64 of `[A-Za-z0-9_-]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$"))]
    pub client_message_id: Option<String>,
    /// Complete uploads of this agent to attach (see `SendMessageRequest::attachments`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<String>,
}

/// `POST /v1/conversations/{id}/typing` body (REST twin of the realtime `typing` frame). Clients throttle this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypingRequest {
    pub typing: bool,
}
