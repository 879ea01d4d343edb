//! The observable states a chat screen sits on (remote types: see `chatflow.rs`).

use chatflow_core::state;

use crate::types::messaging::{
    AgentRef, Author, ChatMessage, ConnectionState, ConversationStatus, ErrorCode, QuickReply, SurveyPrompt,
    TypingAuthor,
};

pub type Delivery = state::Delivery;

/// Where a message stands: the visitor's own go `Queued → Sending → Sent → ReadByTeam` or end `Failed`; the team's
/// are `Received`.
#[uniffi::remote(Enum)]
pub enum Delivery {
    Queued,
    Sending,
    Sent,
    ReadByTeam,
    Failed { code: ErrorCode, message: String },
    Received,
}

pub type MessageItem = state::MessageItem;

/// One message of a conversation state; `id` stays the same from local echo to server copy.
#[uniffi::remote(Record)]
pub struct MessageItem {
    pub id: i64,
    pub delivery: Delivery,
    pub message: ChatMessage,
}

pub type PendingSurvey = state::PendingSurvey;

#[uniffi::remote(Record)]
pub struct PendingSurvey {
    pub seq: i64,
    pub prompt: SurveyPrompt,
}

pub type ConversationDetails = state::ConversationDetails;

#[uniffi::remote(Record)]
pub struct ConversationDetails {
    pub conversation_id: String,
    pub chatflow_id: i64,
    pub status: ConversationStatus,
    pub assignee: Option<AgentRef>,
    pub title: String,
    pub avatar_url: Option<String>,
    pub unread_count: i32,
    pub team_read_seq: i64,
    pub typing: Vec<TypingAuthor>,
    pub team_available: Option<bool>,
    pub quick_replies: Vec<QuickReply>,
    pub pending_survey: Option<PendingSurvey>,
    pub connection: ConnectionState,
    pub has_earlier: bool,
}

pub type ConversationState = state::ConversationState;

#[uniffi::remote(Record)]
pub struct ConversationState {
    pub details: ConversationDetails,
    pub messages: Vec<MessageItem>,
}

pub type ConversationUpdate = state::ConversationUpdate;

/// A snapshot, or a change: replace `upserted` messages by id, then arrange them by `order` when present.
#[uniffi::remote(Enum)]
pub enum ConversationUpdate {
    Snapshot { state: ConversationState },
    Changed { details: Option<ConversationDetails>, upserted: Vec<MessageItem>, order: Option<Vec<i64>> },
}

pub type LastMessage = state::LastMessage;

#[uniffi::remote(Record)]
pub struct LastMessage {
    pub author: Author,
    pub preview: String,
    pub at: i64,
    pub delivery: Delivery,
}

pub type ConversationRow = state::ConversationRow;

#[uniffi::remote(Record)]
pub struct ConversationRow {
    pub conversation_id: String,
    pub chatflow_id: i64,
    pub title: String,
    pub avatar_url: Option<String>,
    pub status: ConversationStatus,
    pub last_message: Option<LastMessage>,
    pub unread_count: i32,
    pub updated_at: i64,
}

pub type ConversationListState = state::ConversationListState;

#[uniffi::remote(Record)]
pub struct ConversationListState {
    pub rows: Vec<ConversationRow>,
    pub total_unread: i32,
}

pub type ConversationListUpdate = state::ConversationListUpdate;

/// A snapshot, or a change: replace `upserted` rows by id, then arrange them by `order` when present.
#[uniffi::remote(Enum)]
pub enum ConversationListUpdate {
    Snapshot { state: ConversationListState },
    Changed { upserted: Vec<ConversationRow>, order: Option<Vec<String>>, total_unread: i32 },
}
