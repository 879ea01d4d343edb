//! The append of a message: who may write, idempotency by client id, the consent gate, gap-free `seq`, and what a
//! message changes in its conversation (reopen, assignment, read mark, bot take-over, ticket subject).

use chatflow_protocol::{
    Author, AuthorKind, ConsentDecision, ConsentKind, ConversationStatus, Message, MessageSurvey, QuickReply,
};

use super::tickets;
use crate::store::attachments::Owner;
use crate::store::inbox::HandledBy;
use crate::store::tx::{in_tx, ConversationChange, Tx, UnitOfWork};
use crate::store::{ConversationRecord, StoreError, StoreResult};

/// A message to append, with the checks that run in the same unit of work.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub conversation_id: String,
    pub client_message_id: Option<String>,
    pub author: Author,
    pub body: String,
    pub quick_reply_id: Option<String>,
    pub quick_replies: Vec<QuickReply>,
    pub now: i64,
    /// Refuse with `NotFound` unless the conversation belongs to this visitor (checked in the unit of work, so an
    /// identify merge racing with the send cannot slip a message into someone else's conversation).
    pub owner_visitor_id: Option<String>,
    /// Reopen a closed conversation (visitor and agent messages do).
    pub reopen: bool,
    /// Refuse with `ConsentRequired` unless the visitor has an accepted process-data record with this text hash
    /// for the conversation's chatflow (explicit consent chatflows).
    pub require_consent_hash: Option<String>,
    /// Assign the conversation to this agent if it has no assignee (an agent replying takes it).
    pub assign_if_unassigned: Option<String>,
    /// A survey prompt or answer (`domain::surveys` sets it).
    pub survey: Option<MessageSurvey>,
}

#[derive(Debug, Clone)]
pub struct Appended {
    pub message: Message,
    /// False when the client id was already stored with the same content (idempotent replay).
    pub created: bool,
    pub reopened: bool,
    pub assigned: bool,
    /// The conversation after the append.
    pub conversation: ConversationRecord,
}

/// Appends a message with the next seq, or returns the stored one for a replayed client id.
pub fn append<S: UnitOfWork + ?Sized>(store: &S, new: &NewMessage) -> StoreResult<Appended> {
    in_tx(store, |tx| append_in(tx, new))
}

/// [`append`] inside the caller's unit of work.
pub fn append_in(tx: &mut dyn Tx, new: &NewMessage) -> StoreResult<Appended> {
    append_files_in(tx, new, None)
}

/// [`append`] of a message that carries the sender's uploads (`upload_ids`, in order; see
/// `domain::attachments::resolve_in`).
pub fn append_files(
    store: &(impl UnitOfWork + ?Sized),
    new: &NewMessage,
    files: Option<(&Owner, &[String])>,
) -> StoreResult<Appended> {
    in_tx(store, |tx| append_files_in(tx, new, files))
}

/// [`append_files`] inside the caller's unit of work.
pub fn append_files_in(tx: &mut dyn Tx, new: &NewMessage, files: Option<(&Owner, &[String])>) -> StoreResult<Appended> {
    let conv = tx
        .conversation_for_update(&new.conversation_id)?
        .filter(|c| new.owner_visitor_id.as_ref().is_none_or(|owner| *owner == c.visitor_id))
        .ok_or_else(|| StoreError::NotFound(format!("conversation `{}` does not exist", new.conversation_id)))?;
    let files = match files {
        Some((owner, ids)) if !ids.is_empty() => super::attachments::resolve_in(tx, owner, ids)?,
        _ => Vec::new(),
    };
    // Idempotency first: a replay returns the stored message even if the conversation changed since.
    if let Some(client_id) = &new.client_message_id {
        if let Some(stored) = tx.message_by_client_id(&conv.id, client_id)? {
            let same_files = stored.attachments.iter().map(|a| &a.id).eq(files.iter().map(|f| &f.attachment.id));
            if !same_content(&stored, new) || !same_files {
                return Err(StoreError::Conflict(format!(
                    "client_message_id `{client_id}` was already used in this conversation for a different message; \
                     generate a new id for a new message"
                )));
            }
            return Ok(Appended {
                message: stored,
                created: false,
                reopened: false,
                assigned: false,
                conversation: conv,
            });
        }
    }
    if let Some(hash) = &new.require_consent_hash {
        // The latest record on that exact text decides (a later `declined` withdraws an earlier `accepted`).
        let decision =
            tx.latest_consent_decision(&conv.visitor_id, conv.chatflow_id, ConsentKind::ProcessData, hash)?;
        if decision != Some(ConsentDecision::Accepted) {
            return Err(StoreError::ConsentRequired(format!(
                "chatflow {} requires explicit consent to process data: store an `accepted` process_data record whose \
                 text_hash is the SHA-256 of the current notice (PUT /v1/consents/{{record_id}}), then send again",
                conv.chatflow_id
            )));
        }
    }
    let seq = tx.next_seq(&conv.id)?;
    let message = Message {
        conversation_id: conv.id.clone(),
        seq,
        client_message_id: new.client_message_id.clone(),
        author: new.author.clone(),
        body: new.body.clone(),
        quick_replies: new.quick_replies.clone(),
        quick_reply_id: new.quick_reply_id.clone(),
        created_at: new.now,
        survey: new.survey.clone(),
        attachments: files.iter().map(|f| f.attachment.clone()).collect(),
    };
    super::attachments::claim_in(tx, &files, &conv.id, seq)?;
    tx.insert_message(&message)?;
    super::email::on_message_in(tx, &conv, &message)?;
    let reopened = new.reopen && conv.status == ConversationStatus::Closed;
    let assigned = conv.assignee_agent_id.is_none() && new.assign_if_unassigned.is_some();
    let change = conversation_change(tx, &conv, new, seq, reopened, assigned)?;
    tx.update_conversation(&conv.id, &change)?;
    // The row is held: the record after the change is known without reading it back (the hot path of every send).
    let mut conversation = conv;
    change.apply_to(&mut conversation);
    conversation.last_seq = seq;
    super::push::queue_in(tx, &conversation, &message)?;
    Ok(Appended { message, created: true, reopened, assigned, conversation })
}

/// What the message changes: activity time; the author has read up to it; a reopened conversation is open again; an
/// agent's reply takes an unassigned conversation and a bot conversation over; the first visitor message names the
/// conversation's ticket.
fn conversation_change(
    tx: &mut dyn Tx,
    conv: &ConversationRecord,
    new: &NewMessage,
    seq: u64,
    reopened: bool,
    assigned: bool,
) -> StoreResult<ConversationChange> {
    let mut change = ConversationChange { updated_at: Some(new.now), ..Default::default() };
    match new.author.kind {
        AuthorKind::Visitor => change.visitor_read_seq = Some(seq),
        _ => change.agent_read_seq = Some(seq),
    }
    if reopened {
        change.status = Some(ConversationStatus::Open);
        change.closed_at = Some(None);
    }
    if assigned {
        change.assignee_agent_id = Some(new.assign_if_unassigned.clone());
    }
    match new.author.kind {
        AuthorKind::Visitor => tx.set_ticket_subject_if_empty(&conv.id, &tickets::subject_of(&new.body), new.now)?,
        AuthorKind::Agent => {
            let bot = tx.inbox_state(&conv.id)?.is_some_and(|s| s.handled_by == HandledBy::Bot);
            if bot {
                change.handled_by = Some(HandledBy::Agents);
                change.taken_over_at = Some(new.now);
            }
        }
        AuthorKind::Bot | AuthorKind::System => {}
    }
    Ok(change)
}

fn same_content(stored: &Message, new: &NewMessage) -> bool {
    stored.body == new.body
        && stored.quick_reply_id == new.quick_reply_id
        && stored.author.kind == new.author.kind
        && stored.author.id == new.author.id
        && stored.survey == new.survey
}
