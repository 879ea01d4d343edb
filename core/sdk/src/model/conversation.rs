//! A conversation and its messages, as the app sees them.

use chatflow_protocol::{AgentRef, Author, ConversationStatus, ErrorCode, QuickReply};

use crate::attachments::MessageAttachment;
use crate::model::MessageSurvey;

/// A conversation as the app sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatConversation {
    pub id: String,
    pub chatflow_id: i64,
    pub status: ConversationStatus,
    pub assignee: Option<AgentRef>,
    pub created_at: i64,
    /// Highest `seq` known to exist on the server.
    pub last_seq: i64,
    /// Every message up to this `seq` is in the local store.
    pub synced_seq: i64,
    /// The visitor read everything up to this `seq`.
    pub read_seq: i64,
    /// The team read everything up to this `seq` ("seen").
    pub agent_read_seq: i64,
    /// Messages from the team (agent, bot, system) after `read_seq`.
    pub unread_count: i32,
}

/// Where a message stands, as the app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageState {
    /// A local echo waiting for its turn (or for the network).
    Queued,
    /// A local echo on the wire right now.
    Sending,
    /// Stored by the server: it has a `seq`.
    Sent,
    /// Refused by the server with `code`; the app may retry, edit or delete it.
    Wedged { code: ErrorCode, message: String },
}

/// One message of a conversation, confirmed or local.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// Stable local id (survives the echo → confirmed transition).
    pub local_id: i64,
    pub conversation_id: String,
    /// Server sequence number; `None` until the server stored the message.
    pub seq: Option<i64>,
    pub client_message_id: Option<String>,
    pub author: Author,
    pub body: String,
    pub quick_replies: Vec<QuickReply>,
    pub quick_reply_id: Option<String>,
    /// Server clock once confirmed, device clock for a local echo (Unix ms).
    pub created_at: i64,
    pub state: MessageState,
    /// A satisfaction survey's prompt (answer it with `ChatClient::answer_survey`) or the visitor's answer.
    pub survey: Option<MessageSurvey>,
    /// Files and images, in the sender's order (an outgoing one keeps its local copy's path).
    pub attachments: Vec<MessageAttachment>,
}

/// A page of history as the device has it ([`crate::client::ChatClient::messages_on_device`]).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPage {
    /// Ascending, local echoes last (like [`crate::client::ChatClient::messages`]).
    pub messages: Vec<ChatMessage>,
    /// Every message the page should hold is on the device.
    pub complete: bool,
}
