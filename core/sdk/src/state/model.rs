//! The observable states a chat screen sits on, and the updates that move them: pure data and pure functions.
//!
//! Every update is either a snapshot or a change a UI applies without re-reading anything: changed items carry their
//! whole record, and the new order of ids comes only when the sequence of ids changed. [`ConversationState::apply`]
//! and [`ConversationListState::apply`] are the reference reducers; the Kotlin and Swift facades apply the same rules.

use chatflow_protocol::{AgentRef, Author, ConversationStatus, ErrorCode, QuickReply, TypingAuthor};

use crate::model::SurveyPrompt;

use crate::events::ConnectionState;
use crate::model::ChatMessage;

/// Where a message stands, as a chat screen shows it. The visitor's own messages go
/// `Queued → Sending → Sent → ReadByTeam`, or end `Failed`; the team's messages are `Received`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Committed on the device, waiting for its turn or for the network.
    Queued,
    /// On the wire right now.
    Sending,
    /// Stored by the server: the team's inbox has it.
    Sent,
    /// The team read it.
    ReadByTeam,
    /// Refused by the server (`code`, and a message naming why): the app may retry, edit or delete it.
    Failed { code: ErrorCode, message: String },
    /// From the team (agent, bot, system).
    Received,
}

/// One message of a conversation state. `id` is the message's local id: the same from local echo to server copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageItem {
    pub id: i64,
    pub delivery: Delivery,
    pub message: ChatMessage,
}

/// A survey waiting for the visitor's answer: answer it with `ChatClient::answer_survey(conversation, seq, …)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingSurvey {
    pub seq: i64,
    pub prompt: SurveyPrompt,
}

/// Everything about one conversation but its messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationDetails {
    pub conversation_id: String,
    pub chatflow_id: i64,
    pub status: ConversationStatus,
    pub assignee: Option<AgentRef>,
    /// What the header shows: the assigned agent's name, else the chatflow's header name (the chatflow's
    /// branding when it replaces agents' names).
    pub title: String,
    pub avatar_url: Option<String>,
    /// Messages from the team the visitor has not read.
    pub unread_count: i32,
    /// The team read the visitor's messages up to this `seq`.
    pub team_read_seq: i64,
    /// Who of the team is typing now.
    pub typing: Vec<TypingAuthor>,
    /// Whether the team is available now by the chatflow's rules; `None` when the chatflow is not cached.
    pub team_available: Option<bool>,
    /// Buttons the newest message offers (empty once the visitor said anything after it).
    pub quick_replies: Vec<QuickReply>,
    /// The newest satisfaction survey of the conversation not answered yet.
    pub pending_survey: Option<PendingSurvey>,
    pub connection: ConnectionState,
    /// Older messages exist (on the device or on the server) before the first one of the state.
    pub has_earlier: bool,
}

/// A conversation screen's state: its details and its latest messages, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationState {
    pub details: ConversationDetails,
    pub messages: Vec<MessageItem>,
}

/// How a conversation state moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationUpdate {
    /// The whole state: first on observing, and again after the observer fell behind.
    Snapshot { state: ConversationState },
    /// A change: `details` when they changed; `upserted` messages (new ones, or changed ones, whole); `order` the
    /// ids of every message, oldest first, when the sequence of ids changed (ids missing from it are gone).
    Changed { details: Option<ConversationDetails>, upserted: Vec<MessageItem>, order: Option<Vec<i64>> },
}

/// The last message of a conversation, for a list row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastMessage {
    pub author: Author,
    /// The text, or the first file's name when the message is only files.
    pub preview: String,
    /// Unix ms (server clock once confirmed).
    pub at: i64,
    pub delivery: Delivery,
}

/// One row of the conversation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationRow {
    pub conversation_id: String,
    pub chatflow_id: i64,
    pub title: String,
    pub avatar_url: Option<String>,
    pub status: ConversationStatus,
    pub last_message: Option<LastMessage>,
    pub unread_count: i32,
    /// The last message's time, else when the conversation started (Unix ms): rows are sorted by it, newest first.
    pub updated_at: i64,
}

/// The conversation list: rows newest first, and the total of unread messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationListState {
    pub rows: Vec<ConversationRow>,
    pub total_unread: i32,
}

/// How the conversation list moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConversationListUpdate {
    Snapshot {
        state: ConversationListState,
    },
    /// `upserted` rows (whole); `order` every row's id, newest first, when the sequence of ids changed.
    Changed {
        upserted: Vec<ConversationRow>,
        order: Option<Vec<String>>,
        total_unread: i32,
    },
}

/// Replaces items by id, then arranges them by `order` when given. The one rule both states follow.
fn merge<T: Clone, K: PartialEq + Clone>(
    items: &mut Vec<T>,
    upserted: &[T],
    order: Option<&[K]>,
    key: impl Fn(&T) -> K,
) {
    let mut fresh: Vec<T> = upserted.to_vec();
    for item in items.iter_mut() {
        if let Some(i) = fresh.iter().position(|u| key(u) == key(item)) {
            *item = fresh.swap_remove(i);
        }
    }
    let Some(order) = order else {
        items.extend(fresh);
        return;
    };
    let mut pool: Vec<T> = std::mem::take(items);
    pool.extend(fresh);
    *items = order.iter().filter_map(|k| pool.iter().position(|t| key(t) == *k).map(|i| pool.swap_remove(i))).collect();
}

impl ConversationState {
    pub fn apply(&mut self, update: ConversationUpdate) {
        match update {
            ConversationUpdate::Snapshot { state } => *self = state,
            ConversationUpdate::Changed { details, upserted, order } => {
                if let Some(d) = details {
                    self.details = d;
                }
                merge(&mut self.messages, &upserted, order.as_deref(), |m| m.id);
            }
        }
    }

    /// What moves `self` to `next` (`None` when nothing changed).
    pub fn diff(&self, next: &ConversationState) -> Option<ConversationUpdate> {
        let details = (self.details != next.details).then(|| next.details.clone());
        let upserted: Vec<MessageItem> = next.messages.iter().filter(|m| !self.messages.contains(m)).cloned().collect();
        let same_ids = self.messages.len() == next.messages.len()
            && self.messages.iter().zip(&next.messages).all(|(a, b)| a.id == b.id);
        let order = (!same_ids).then(|| next.messages.iter().map(|m| m.id).collect());
        (details.is_some() || !upserted.is_empty() || order.is_some()).then_some(ConversationUpdate::Changed {
            details,
            upserted,
            order,
        })
    }
}

impl ConversationListState {
    pub fn apply(&mut self, update: ConversationListUpdate) {
        match update {
            ConversationListUpdate::Snapshot { state } => *self = state,
            ConversationListUpdate::Changed { upserted, order, total_unread } => {
                merge(&mut self.rows, &upserted, order.as_deref(), |r| r.conversation_id.clone());
                self.total_unread = total_unread;
            }
        }
    }

    pub fn diff(&self, next: &ConversationListState) -> Option<ConversationListUpdate> {
        let upserted: Vec<ConversationRow> = next.rows.iter().filter(|r| !self.rows.contains(r)).cloned().collect();
        let same_ids = self.rows.len() == next.rows.len()
            && self.rows.iter().zip(&next.rows).all(|(a, b)| a.conversation_id == b.conversation_id);
        let order = (!same_ids).then(|| next.rows.iter().map(|r| r.conversation_id.clone()).collect());
        (!upserted.is_empty() || order.is_some() || self.total_unread != next.total_unread)
            .then_some(ConversationListUpdate::Changed { upserted, order, total_unread: next.total_unread })
    }
}
