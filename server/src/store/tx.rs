//! The unit of work: one write transaction of the backend, and the per-capability operations the domain services
//! (`crate::domain`) run inside it.
//!
//! A domain service reads what its rule needs, decides, and writes — all through one `&mut dyn Tx`, so the rule holds
//! under concurrency: either every write of the service commits, or none does. The store only stores: no operation
//! here decides anything about the product.
//!
//! Backends: SQLite runs the work on its single writer connection in an `IMMEDIATE` transaction (writers are
//! serialized, so every read inside sees the latest commit and nothing changes under it). A PostgreSQL backend runs it
//! in a transaction on a pooled connection; the locking contracts below say which rows it must lock so that the same
//! rules hold with several writers on several nodes.

use std::collections::BTreeMap;

use chatflow_protocol::{Chatflow, ConsentDecision, ConsentKind, ConsentRecord, ConversationStatus, Message};

use crate::bots::engine::BotSession;

use super::agent::NoteRecord;
pub use super::email::EmailTx;
use super::inbox::{HandledBy, HelpDeskScope, HelpDeskSetting, InboxState, TicketRecord};
use super::survey::{StoredAnswer, SurveyRecord};
use super::{AgentRecord, ConversationRecord, NewConversation, StoreError, StoreResult, TeamMember, VisitorRecord};

/// What the work asks of its transaction when it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Commit,
    Rollback,
}

/// A store that runs work in one transaction.
pub trait UnitOfWork {
    /// Begins a write transaction, runs `work` on it once, then commits or rolls back as `work` says (and rolls back
    /// when it returns an error). An error to begin or commit is returned as is.
    fn transaction(&self, work: &mut dyn FnMut(&mut dyn Tx) -> StoreResult<Finish>) -> StoreResult<()>;
}

/// Runs `f` in one transaction of `store`: commits when it returns `Ok`, rolls back when it returns `Err` (a domain
/// refusal writes nothing).
pub fn in_tx<S, R, E>(store: &S, f: impl FnOnce(&mut dyn Tx) -> Result<R, E>) -> Result<R, E>
where
    S: UnitOfWork + ?Sized,
    E: From<StoreError>,
{
    let mut f = Some(f);
    let mut out: Option<Result<R, E>> = None;
    store.transaction(&mut |tx| {
        let Some(f) = f.take() else {
            return Err(StoreError::Backend("a unit of work ran its body twice".into()));
        };
        let result = f(tx);
        let finish = if result.is_ok() { Finish::Commit } else { Finish::Rollback };
        out = Some(result);
        Ok(finish)
    })?;
    out.unwrap_or_else(|| Err(StoreError::Backend("a unit of work ended without running its body".into()).into()))
}

/// Columns of a conversation a domain service changes (`None` keeps the value). `last_seq` is not here: only
/// [`MessageTx::next_seq`] moves it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversationChange {
    pub status: Option<ConversationStatus>,
    pub updated_at: Option<i64>,
    /// `Some(None)` clears the assignee.
    pub assignee_agent_id: Option<Option<String>>,
    pub handled_by: Option<HandledBy>,
    pub handoff_at: Option<i64>,
    pub taken_over_at: Option<i64>,
    /// `Some(None)`: open again.
    pub closed_at: Option<Option<i64>>,
    pub visitor_read_seq: Option<u64>,
    pub agent_read_seq: Option<u64>,
}

impl ConversationChange {
    /// The record after this change (the inbox columns are not part of it), without reading it back.
    pub fn apply_to(&self, rec: &mut ConversationRecord) {
        if let Some(s) = self.status {
            rec.status = s;
        }
        if let Some(at) = self.updated_at {
            rec.updated_at = at;
        }
        if let Some(a) = &self.assignee_agent_id {
            rec.assignee_agent_id.clone_from(a);
        }
        if let Some(seq) = self.visitor_read_seq {
            rec.visitor_read_seq = seq;
        }
        if let Some(seq) = self.agent_read_seq {
            rec.agent_read_seq = seq;
        }
    }
}

/// A ticket to insert (status `new`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTicket {
    pub app_id: String,
    pub conversation_id: String,
    pub pipeline: String,
    pub subject: Option<String>,
    pub now: i64,
}

pub trait ConversationTx {
    /// The conversation, held against concurrent writers until the unit of work ends (SQLite: the writer lock every
    /// write transaction holds; PostgreSQL: `SELECT … FOR UPDATE`). Read it before deciding on it.
    fn conversation_for_update(&mut self, id: &str) -> StoreResult<Option<ConversationRecord>>;
    /// Inbox columns of the conversation (read after [`Self::conversation_for_update`], which holds the row).
    fn inbox_state(&mut self, id: &str) -> StoreResult<Option<InboxState>>;
    /// Inserts an open mobile-chat conversation with `last_seq` 0, handled by `handled_by` (`Bot`: started by a bot).
    fn insert_conversation(&mut self, new: &NewConversation, handled_by: HandledBy) -> StoreResult<()>;
    /// Writes the given columns; `NotFound` when the conversation does not exist.
    fn update_conversation(&mut self, id: &str, change: &ConversationChange) -> StoreResult<()>;
    fn chatflow(&mut self, app_id: &str, id: i64) -> StoreResult<Option<Chatflow>>;
    fn agent_exists(&mut self, app_id: &str, agent_id: &str) -> StoreResult<bool>;
}

pub trait MessageTx {
    /// The message stored under this client id in the conversation.
    fn message_by_client_id(&mut self, conversation_id: &str, client_id: &str) -> StoreResult<Option<Message>>;
    /// Allocates the conversation's next `seq` and records it as its `last_seq`, atomically: two units of work never
    /// get the same value, and a value is never skipped once both commit (gap-free), because the conversation row
    /// stays locked until commit (SQLite: the single writer; PostgreSQL: `UPDATE … SET last_seq = last_seq + 1 …
    /// RETURNING last_seq` takes the row lock). A rolled-back unit of work gives its value back.
    fn next_seq(&mut self, conversation_id: &str) -> StoreResult<u64>;
    /// Inserts a message; `(conversation, seq)` and `(conversation, client id)` are unique.
    fn insert_message(&mut self, message: &Message) -> StoreResult<()>;
    /// The body of the conversation's first visitor message.
    fn first_visitor_body(&mut self, conversation_id: &str) -> StoreResult<Option<String>>;
}

pub trait ConsentTx {
    /// The app of the visitor.
    fn visitor_app_id(&mut self, visitor_id: &str) -> StoreResult<Option<String>>;
    /// The visitor's record stored under this client record id.
    fn consent_record(&mut self, visitor_id: &str, record_id: &str) -> StoreResult<Option<ConsentRecord>>;
    /// Inserts a record; `(visitor, record id)` is unique.
    fn insert_consent(&mut self, record: &ConsentRecord) -> StoreResult<()>;
    /// The decision of the visitor's latest record of `kind` on exactly this text hash for the chatflow.
    fn latest_consent_decision(
        &mut self,
        visitor_id: &str,
        chatflow_id: i64,
        kind: ConsentKind,
        text_hash: &str,
    ) -> StoreResult<Option<ConsentDecision>>;
}

pub trait TicketTx {
    fn help_desk(&mut self, app_id: &str, scope: &HelpDeskScope) -> StoreResult<Option<HelpDeskSetting>>;
    fn ticket_of_conversation(&mut self, conversation_id: &str) -> StoreResult<Option<TicketRecord>>;
    /// Inserts the ticket unless the conversation has one (one ticket per conversation); true when inserted.
    fn insert_ticket(&mut self, ticket: &NewTicket) -> StoreResult<bool>;
    /// Sets the subject of the conversation's ticket if it has none yet.
    fn set_ticket_subject_if_empty(&mut self, conversation_id: &str, subject: &str, now: i64) -> StoreResult<()>;
}

/// What routing reads (and the round-robin cursor it advances) in the unit of work that assigns.
pub trait RoutingTx {
    /// The app's agents with their presence, ascending id.
    fn agents(&mut self, app_id: &str) -> StoreResult<Vec<AgentRecord>>;
    fn team_members(&mut self, app_id: &str) -> StoreResult<Vec<TeamMember>>;
    fn is_blocked(&mut self, app_id: &str, visitor_id: &str) -> StoreResult<bool>;
    /// The assignee of the visitor's latest other conversation still linked to the contact.
    fn contact_owner(&mut self, visitor_id: &str, except_conversation: Option<&str>) -> StoreResult<Option<String>>;
    /// Returns the chatflow's round-robin cursor and advances it, atomically (SQLite: the single writer; PostgreSQL:
    /// `UPDATE … RETURNING` locks the chatflow's row), so concurrent openings take successive values.
    fn next_routing_cursor(&mut self, chatflow_id: i64) -> StoreResult<u64>;
}

/// Visitors and their session tokens (identification).
pub trait VisitorTx {
    fn visitor(&mut self, id: &str) -> StoreResult<Option<VisitorRecord>>;
    /// The app's visitor identified as `user_id`.
    fn visitor_of_user(&mut self, app_id: &str, user_id: &str) -> StoreResult<Option<VisitorRecord>>;
    /// Inserts an identified visitor (no token yet).
    fn insert_user_visitor(&mut self, id: &str, app_id: &str, user_id: &str, now: i64) -> StoreResult<()>;
    fn set_visitor_user(&mut self, visitor_id: &str, user_id: &str) -> StoreResult<()>;
    fn set_visitor_email(&mut self, visitor_id: &str, email: &str) -> StoreResult<()>;
    /// The visitor's conversation ids, oldest first.
    fn conversation_ids_of(&mut self, visitor_id: &str) -> StoreResult<Vec<String>>;
    /// Moves everything `from` owns to `into` — conversations, consent records (a record id `into` already has is
    /// dropped), the device description and push token when `from` has them — then deletes `from`.
    fn fold_visitor(&mut self, from: &str, into: &str) -> StoreResult<()>;
    /// Replaces a session token: the old one stops working, the new one opens `visitor_id`.
    fn replace_token(&mut self, old_hash: &str, new_hash: &str, visitor_id: &str, now: i64) -> StoreResult<()>;
}

/// Bot sessions and the visitor properties a bot writes.
pub trait BotTx {
    /// Inserts or replaces the conversation's session.
    fn upsert_bot_session(&mut self, session: &BotSession, now: i64) -> StoreResult<()>;
    /// The visitor's chat properties; `NotFound` when the visitor does not exist.
    fn visitor_properties(&mut self, visitor_id: &str) -> StoreResult<BTreeMap<String, String>>;
    /// Replaces the visitor's chat properties.
    fn set_visitor_properties(&mut self, visitor_id: &str, properties: &BTreeMap<String, String>) -> StoreResult<()>;
}

/// Internal notes and team assignment (the agents' side).
pub trait AgentTx {
    /// The note stored under this client id in the conversation.
    fn note_by_client_id(&mut self, conversation_id: &str, client_id: &str) -> StoreResult<Option<NoteRecord>>;
    /// Inserts a note; `(conversation, client id)` is unique.
    fn insert_note(&mut self, note: &NoteRecord) -> StoreResult<()>;
    /// Records the team the conversation was assigned to (`None`: no team).
    fn set_conversation_team(&mut self, conversation_id: &str, team_id: Option<&str>) -> StoreResult<()>;
    /// Returns the team's round-robin cursor and advances it, atomically (like [`RoutingTx::next_routing_cursor`]).
    fn next_team_cursor(&mut self, app_id: &str, team_id: &str) -> StoreResult<u64>;
}

/// Satisfaction surveys: the record of a prompt, its answer.
pub trait SurveyTx {
    /// Inserts the survey (its prompt message is inserted by the same unit of work).
    fn insert_survey(&mut self, survey: &SurveyRecord) -> StoreResult<()>;
    /// The survey whose prompt is at `seq` in the conversation.
    fn survey(&mut self, conversation_id: &str, seq: u64) -> StoreResult<Option<SurveyRecord>>;
    /// The conversation's latest survey.
    fn latest_survey(&mut self, conversation_id: &str) -> StoreResult<Option<SurveyRecord>>;
    /// Records the answer unless the survey has one; true when recorded.
    fn set_survey_answer(&mut self, conversation_id: &str, seq: u64, answer: &StoredAnswer) -> StoreResult<bool>;
}

/// Everything a domain service may do inside one unit of work.
pub trait Tx:
    ConversationTx
    + MessageTx
    + ConsentTx
    + TicketTx
    + RoutingTx
    + BotTx
    + VisitorTx
    + AgentTx
    + super::push::PushTx
    + EmailTx
    + SurveyTx
    + super::attachments::AttachmentTx
{
}

impl<T> Tx for T where
    T: ConversationTx
        + MessageTx
        + ConsentTx
        + TicketTx
        + RoutingTx
        + BotTx
        + VisitorTx
        + AgentTx
        + super::push::PushTx
        + EmailTx
        + SurveyTx
        + super::attachments::AttachmentTx
        + ?Sized
{
}
