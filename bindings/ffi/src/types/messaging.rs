//! Conversations, messages and events (remote types: see `chatflow.rs`).

use chatflow_core::events;
use chatflow_core::model;
use chatflow_core::protocol as wire;

pub use crate::error::ErrorCode;

pub type AuthorKind = wire::AuthorKind;

#[uniffi::remote(Enum)]
pub enum AuthorKind {
    Visitor,
    Agent,
    Bot,
    System,
}

pub type Author = wire::Author;

/// Who wrote a message (the chatflow's branding replaces agents' names when it is used as agent alias).
#[uniffi::remote(Record)]
pub struct Author {
    pub kind: AuthorKind,
    /// Agent id for agents, visitor id for visitors; `null` for bot and system.
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
}

pub type QuickReply = wire::QuickReply;

/// A button under a bot message; tapping it sends a message carrying its id.
#[uniffi::remote(Record)]
pub struct QuickReply {
    pub id: String,
    pub label: String,
}

pub type MessageState = model::MessageState;

/// Where a message is in its life.
#[uniffi::remote(Enum)]
pub enum MessageState {
    /// A local echo waiting for its turn (or for the network).
    Queued,
    /// A local echo on the wire right now.
    Sending,
    /// Stored by the server: it has a `seq`.
    Sent,
    /// Refused by the server with `code`: retry, edit or delete it.
    Wedged { code: ErrorCode, message: String },
}

pub type ChatMessage = model::ChatMessage;

/// One message of a conversation, confirmed or local echo.
#[uniffi::remote(Record)]
pub struct ChatMessage {
    /// Stable local id (survives the echo → confirmed transition): use it as the list item key.
    pub local_id: i64,
    pub conversation_id: String,
    /// Server sequence number; `null` until the server stored the message.
    pub seq: Option<i64>,
    pub client_message_id: Option<String>,
    pub author: Author,
    pub body: String,
    pub quick_replies: Vec<QuickReply>,
    pub quick_reply_id: Option<String>,
    /// Server clock once confirmed, device clock for a local echo (Unix ms).
    pub created_at: i64,
    pub state: MessageState,
    /// A satisfaction survey's prompt (answer it with `answerSurvey`) or the visitor's answer; `body` is its text.
    pub survey: Option<MessageSurvey>,
    /// Files and images, in the sender's order.
    pub attachments: Vec<crate::types::attachments::MessageAttachment>,
}

pub type SurveyPrompt = chatflow_core::model::SurveyPrompt;

/// The satisfaction survey's question, in the chatflow's language, with its rating scale.
#[uniffi::remote(Record)]
pub struct SurveyPrompt {
    pub question: String,
    /// The rating scale, inclusive.
    pub scale_min: i32,
    pub scale_max: i32,
    pub low_label: String,
    pub high_label: String,
    /// Invitation to leave an optional comment.
    pub comment_prompt: String,
    pub comment_max_chars: i32,
}

pub type SurveyAnswer = chatflow_core::model::SurveyAnswer;

/// The visitor's answer to the survey whose prompt is the message `survey_seq`.
#[uniffi::remote(Record)]
pub struct SurveyAnswer {
    pub survey_seq: i64,
    pub rating: i32,
    pub comment: Option<String>,
}

pub type MessageSurvey = chatflow_core::model::MessageSurvey;

/// The survey part of a message.
#[uniffi::remote(Enum)]
pub enum MessageSurvey {
    Prompt(SurveyPrompt),
    Answer(SurveyAnswer),
}

pub type HistoryPage = model::HistoryPage;

/// A page of history as the device has it.
#[uniffi::remote(Record)]
pub struct HistoryPage {
    /// Ascending, local echoes last.
    pub messages: Vec<ChatMessage>,
    /// Every message the page should hold is on the device.
    pub complete: bool,
}

pub type BackgroundOutcome = chatflow_core::sync::lifecycle::BackgroundOutcome;

// What a background period ended with (documented in the Kotlin and Swift facades; plain comments keep the
// library's metadata small).
#[uniffi::remote(Record)]
pub struct BackgroundOutcome {
    pub still_queued: i32,
    pub interrupted: bool,
}

pub type ConversationStatus = wire::ConversationStatus;

#[uniffi::remote(Enum)]
pub enum ConversationStatus {
    Open,
    Closed,
}

pub type AgentRef = wire::AgentRef;

#[uniffi::remote(Record)]
pub struct AgentRef {
    pub id: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
}

pub type ChatConversation = model::ChatConversation;

/// A conversation as stored on the device.
#[uniffi::remote(Record)]
pub struct ChatConversation {
    pub id: String,
    pub chatflow_id: i64,
    pub status: ConversationStatus,
    pub assignee: Option<AgentRef>,
    pub created_at: i64,
    /// Highest `seq` known to exist on the server.
    pub last_seq: i64,
    /// Every message up to this `seq` is on the device.
    pub synced_seq: i64,
    /// The visitor read everything up to this `seq`.
    pub read_seq: i64,
    /// The team read everything up to this `seq` ("seen").
    pub agent_read_seq: i64,
    /// Messages from the team after `read_seq`.
    pub unread_count: i32,
}

// ----------------------------------------------------------------------------- events

pub type ConnectionState = events::ConnectionState;

/// The realtime connection, as the app shows it.
#[uniffi::remote(Enum)]
pub enum ConnectionState {
    /// Not connected and not trying (paused, no session yet, closed).
    Offline,
    Connecting,
    /// Connected and caught up.
    Online,
    /// The last try failed; the next starts at `retry_at` (Unix ms) or on `resume()`.
    WaitingToRetry {
        retry_at: i64,
    },
}

pub type UnreadCount = events::UnreadCount;

#[uniffi::remote(Record)]
pub struct UnreadCount {
    pub conversation_id: String,
    pub count: i32,
}

pub type UnreadCounts = events::UnreadCounts;

/// Unread messages (from the team) per conversation (those with none left out) and in total.
#[uniffi::remote(Record)]
pub struct UnreadCounts {
    pub counts: Vec<UnreadCount>,
    pub total: i32,
}

pub type Reader = wire::Reader;

#[uniffi::remote(Enum)]
pub enum Reader {
    Visitor,
    Agent,
}

pub type TypingAuthor = wire::TypingAuthor;

#[uniffi::remote(Record)]
pub struct TypingAuthor {
    pub kind: AuthorKind,
    pub display_name: Option<String>,
}

pub type ChatEvent = events::ChatEvent;

/// What a subscription delivers. The current state is replayed first (connection, pending sends, unread counts).
#[uniffi::remote(Enum)]
pub enum ChatEvent {
    ConnectionChanged {
        state: ConnectionState,
    },
    /// Local echoes not yet confirmed, in queue order.
    PendingSends {
        messages: Vec<ChatMessage>,
    },
    /// Messages of one conversation were added or changed (one event per batch).
    MessagesChanged {
        conversation_id: String,
        messages: Vec<ChatMessage>,
    },
    SendStateChanged {
        conversation_id: String,
        client_message_id: String,
        state: MessageState,
    },
    MessageDeleted {
        conversation_id: String,
        client_message_id: String,
    },
    /// Unread counts (conversations with none left out) and their total.
    UnreadCountsChanged {
        counts: Vec<UnreadCount>,
        total: i32,
    },
    ConversationChanged {
        conversation: ChatConversation,
    },
    Typing {
        conversation_id: String,
        author: TypingAuthor,
        typing: bool,
    },
    ReadMarker {
        conversation_id: String,
        reader: Reader,
        seq: i64,
    },
    ConversationStatusChanged {
        conversation_id: String,
        status: ConversationStatus,
    },
    /// Every message up to `synced_seq` is on the device.
    CaughtUp {
        conversation_id: String,
        synced_seq: i64,
        received: i32,
    },
    /// This listener fell behind: reload what is on screen; a replay follows.
    Resync,
    /// A queued message's files are uploading (throttled, ~10 per second at most).
    UploadProgress {
        conversation_id: String,
        client_message_id: String,
        bytes_sent: i64,
        total: i64,
    },
}
