//! Conversations: opening (who handles it first, the help-desk ticket), closing, read marks.

use chatflow_protocol::{Chatflow, ConversationStatus, Message};

use super::{conversation, reread, surveys, tickets};
use crate::routing::{self, starts_with_bot};
use crate::store::inbox::HandledBy;
use crate::store::tx::{in_tx, ConversationChange, Tx, UnitOfWork};
use crate::store::{ConversationRecord, NewConversation, ReaderKind, StoreError, StoreResult, VisitorRecord};

/// Opens a conversation. One on a `bot` (or `ai_agent`) chatflow, not assigned, starts with the bot (handled by the
/// bot, no routing until the handoff); a chatflow's or channel's help-desk rule may give it a ticket.
pub fn create<S: UnitOfWork + ?Sized>(store: &S, new: &NewConversation) -> StoreResult<ConversationRecord> {
    in_tx(store, |tx| create_in(tx, new))
}

/// [`create`] inside the caller's unit of work.
pub fn create_in(tx: &mut dyn Tx, new: &NewConversation) -> StoreResult<ConversationRecord> {
    let bot = tx.chatflow(&new.app_id, new.chatflow_id)?.is_some_and(|f| starts_with_bot(f.kind));
    let handled_by = if bot && new.assignee_agent_id.is_none() { HandledBy::Bot } else { HandledBy::Agents };
    tx.insert_conversation(new, handled_by)?;
    let created = reread(tx, &new.id)?;
    tickets::on_conversation_opened(tx, &created)?;
    Ok(created)
}

/// Opens a conversation of the visitor on `chatflow` (enabled, checked by the caller) and routes it, in one unit of
/// work: a live chat gets its assignee now (`crate::routing`), a bot conversation when the bot hands off.
pub fn open<S: UnitOfWork + ?Sized>(
    store: &S,
    chatflow: &Chatflow,
    visitor: &VisitorRecord,
    id: String,
    now: i64,
) -> StoreResult<ConversationRecord> {
    in_tx(store, |tx| {
        let assignee = if starts_with_bot(chatflow.kind) {
            None
        } else {
            routing::route(tx, &visitor.app_id, chatflow, &visitor.id, None)?
        };
        let new = NewConversation {
            id,
            app_id: visitor.app_id.clone(),
            chatflow_id: chatflow.id,
            visitor_id: visitor.id.clone(),
            assignee_agent_id: assignee,
            now,
        };
        create_in(tx, &new)
    })
}

/// Closes the conversation; the bool says whether it was open.
pub fn close<S: UnitOfWork + ?Sized>(store: &S, id: &str, now: i64) -> StoreResult<(ConversationRecord, bool)> {
    in_tx(store, |tx| {
        let conv = conversation(tx, id)?;
        if conv.status == ConversationStatus::Closed {
            return Ok((conv, false));
        }
        Ok((close_in(tx, id, now)?.0, true))
    })
}

/// Closes an open conversation (the caller checked it is open) and appends the satisfaction survey when its
/// chatflow asks for one: the closed record, and the survey's message to deliver.
pub(super) fn close_in(tx: &mut dyn Tx, id: &str, now: i64) -> StoreResult<(ConversationRecord, Option<Message>)> {
    let change = ConversationChange {
        status: Some(ConversationStatus::Closed),
        updated_at: Some(now),
        closed_at: Some(Some(now)),
        ..Default::default()
    };
    tx.update_conversation(id, &change)?;
    let closed = reread(tx, id)?;
    let (closed, survey) = match surveys::on_closed(tx, &closed, now)? {
        Some(survey) => (reread(tx, id)?, Some(survey)),
        None => (closed, None),
    };
    super::email::on_closed_in(tx, &closed, now)?;
    Ok((closed, survey))
}

/// Raises the reader's read mark to `seq` (never lowers it); refuses a seq beyond the last message.
pub fn mark_read<S: UnitOfWork + ?Sized>(
    store: &S,
    id: &str,
    reader: ReaderKind,
    seq: u64,
) -> StoreResult<ConversationRecord> {
    in_tx(store, |tx| {
        let conv = conversation(tx, id)?;
        if seq > conv.last_seq {
            return Err(StoreError::Invalid(format!(
                "seq {seq} is beyond the conversation's last message ({})",
                conv.last_seq
            )));
        }
        let change = match reader {
            ReaderKind::Visitor if seq > conv.visitor_read_seq => {
                ConversationChange { visitor_read_seq: Some(seq), ..Default::default() }
            }
            ReaderKind::Agent if seq > conv.agent_read_seq => {
                ConversationChange { agent_read_seq: Some(seq), ..Default::default() }
            }
            _ => return Ok(conv),
        };
        tx.update_conversation(id, &change)?;
        reread(tx, id)
    })
}
