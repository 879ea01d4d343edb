//! Agent inbox and help-desk persistence: who handles a conversation (bot or agents), views and filters, assignment,
//! blocked senders, spam, contact unlinking, tickets and their creation rules.
//!
//! The rules that change who handles a conversation (handoff, take-over, assignment, the bot close rule) and create
//! tickets live in `crate::domain`; this trait stores and reads. For the bot engine: before the bot answers a visitor
//! message, check [`InboxStore::inbox_state`]: once `handled_by == Agents` (handoff, take-over, an agent's reply or
//! assignment) the bot stays silent.

use chatflow_protocol::{Channel, ConversationStatus};
use serde::{Deserialize, Serialize};

use super::{ConversationRecord, StoreResult};

/// Who is answering a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HandledBy {
    /// The chatflow's bot; the conversation is in the `bots` view and has no assignee.
    Bot,
    /// The team (handed off, taken over, or a live chat from the start).
    Agents,
}

impl HandledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            HandledBy::Bot => "bot",
            HandledBy::Agents => "agents",
        }
    }
}

/// Inbox columns of a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxState {
    pub handled_by: HandledBy,
    /// A bot opened the conversation (it has no transcript, even after a handoff).
    pub bot_started: bool,
    /// When the bot handed the conversation to the team.
    pub handoff_at: Option<i64>,
    /// When an agent took the conversation over from the bot.
    pub taken_over_at: Option<i64>,
    pub spam: bool,
    /// The visitor is a blocked sender of the app.
    pub blocked: bool,
    pub contact_unlinked: bool,
    /// The last close (None while open).
    pub closed_at: Option<i64>,
    /// The visitor's last message (None: the visitor never wrote).
    pub last_visitor_message_at: Option<i64>,
}

/// What the conversation's visitor is known as (all `None` once the contact was unlinked).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub user_id: Option<String>,
    pub email: Option<String>,
    /// The `name` chat property, or `first_name` + `last_name`.
    pub name: Option<String>,
}

/// One conversation with everything an inbox row shows.
#[derive(Debug, Clone)]
pub struct InboxEntry {
    pub conversation: ConversationRecord,
    pub state: InboxState,
    pub contact: Contact,
    /// The last message's body.
    pub preview: Option<String>,
    pub ticket_id: Option<i64>,
    pub ticket_subject: Option<String>,
}

/// The inbox's left-hand views. Filtered conversations (blocked sender or spam) appear only in `Filtered`; bot
/// conversations only in `Bots`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InboxView {
    /// Every conversation the team handles.
    All,
    /// Assigned to the calling agent.
    Mine,
    /// Handled by the team, no assignee.
    Unassigned,
    /// Still run by a bot (never assigned to anyone).
    Bots,
    /// From blocked senders, or marked as spam.
    Filtered,
}

/// A page request of the inbox list; every filter narrows the view.
#[derive(Debug, Clone)]
pub struct InboxQuery {
    pub app_id: String,
    pub view: InboxView,
    /// The calling agent (the `Mine` view).
    pub agent_id: String,
    pub status: Option<ConversationStatus>,
    pub assignee: Option<String>,
    pub channel: Option<Channel>,
    /// Opened at or after (Unix ms).
    pub opened_from: Option<i64>,
    /// Opened before (Unix ms).
    pub opened_before: Option<i64>,
    /// Case-insensitive substring of the contact's name or email, or of any message.
    pub text: Option<String>,
    /// Continue after this `(created_at, id)` (newest first).
    pub after: Option<(i64, String)>,
    pub limit: u32,
}

/// Ticket statuses (the stages of a pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    New,
    WaitingOnContact,
    WaitingOnUs,
    Closed,
}

impl TicketStatus {
    pub const ALL: [TicketStatus; 4] =
        [TicketStatus::New, TicketStatus::WaitingOnContact, TicketStatus::WaitingOnUs, TicketStatus::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::New => "new",
            TicketStatus::WaitingOnContact => "waiting_on_contact",
            TicketStatus::WaitingOnUs => "waiting_on_us",
            TicketStatus::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRecord {
    pub id: i64,
    pub app_id: String,
    pub conversation_id: String,
    pub chatflow_id: i64,
    pub channel: Channel,
    pub pipeline: String,
    pub status: TicketStatus,
    pub subject: Option<String>,
    /// The conversation's assignee.
    pub assignee_agent_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Fields of a ticket an agent changes (`None` keeps the value).
#[derive(Debug, Clone, Default)]
pub struct TicketUpdate {
    pub status: Option<TicketStatus>,
    pub pipeline: Option<String>,
    pub subject: Option<String>,
}

/// Whether new conversations of a chatflow or channel get a ticket, and in which pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HelpDeskSetting {
    pub create_tickets: bool,
    pub pipeline: String,
}

/// Where a help-desk setting applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelpDeskScope {
    Chatflow(i64),
    Channel(Channel),
}

/// Default pipeline of new tickets.
pub const DEFAULT_PIPELINE: &str = "support";

pub trait InboxStore {
    fn inbox_state(&self, conversation_id: &str) -> StoreResult<Option<InboxState>>;
    /// A page of the inbox, newest first; at most `limit` entries.
    fn inbox_entries(&self, query: &InboxQuery) -> StoreResult<Vec<InboxEntry>>;
    fn inbox_entry(&self, conversation_id: &str) -> StoreResult<Option<InboxEntry>>;
    /// Blocks or unblocks a visitor of the app; true when that changed something.
    fn set_blocked(&self, app_id: &str, visitor_id: &str, blocked: bool, by: &str, now: i64) -> StoreResult<bool>;
    fn is_blocked(&self, app_id: &str, visitor_id: &str) -> StoreResult<bool>;
    fn set_spam(&self, conversation_id: &str, spam: bool) -> StoreResult<bool>;
    fn unlink_contact(&self, conversation_id: &str) -> StoreResult<bool>;
    /// Deletes the conversation, its messages and its ticket.
    fn delete_conversation(&self, conversation_id: &str) -> StoreResult<bool>;
    /// The visitor's contact owner: the assignee of their latest other conversation still linked to the contact.
    fn contact_owner(&self, visitor_id: &str, except_conversation: Option<&str>) -> StoreResult<Option<String>>;
}

pub trait TicketStore {
    /// The app's tickets, newest first, with ids below `before_id`.
    fn tickets(
        &self,
        app_id: &str,
        status: Option<TicketStatus>,
        pipeline: Option<&str>,
        before_id: Option<i64>,
        limit: u32,
    ) -> StoreResult<Vec<TicketRecord>>;
    fn ticket(&self, app_id: &str, id: i64) -> StoreResult<Option<TicketRecord>>;
    fn ticket_of_conversation(&self, conversation_id: &str) -> StoreResult<Option<TicketRecord>>;
    fn update_ticket(
        &self,
        app_id: &str,
        id: i64,
        update: &TicketUpdate,
        now: i64,
    ) -> StoreResult<Option<TicketRecord>>;
    fn help_desk(&self, app_id: &str, scope: &HelpDeskScope) -> StoreResult<Option<HelpDeskSetting>>;
    /// Stores the setting; false when the chatflow does not exist in the app.
    fn set_help_desk(&self, app_id: &str, scope: &HelpDeskScope, setting: &HelpDeskSetting) -> StoreResult<bool>;
    /// Stores the setting unless the scope has one already (seeds never undo an admin's change); true if stored.
    fn seed_help_desk(&self, app_id: &str, scope: &HelpDeskScope, setting: &HelpDeskSetting) -> StoreResult<bool>;
}

/// `%text%` for LIKE (both backends' inbox search), with the wildcards of `text` escaped (`\` is the escape character).
pub(crate) fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for ch in text.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out.push('%');
    out
}
