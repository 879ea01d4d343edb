//! When the product emails someone (the outbox rows; `crate::email` renders and sends them). Each rule runs in the unit
//! of work of its cause, so a stored reply or a close never loses its email to a restart, and a rolled-back cause
//! queues nothing.
//!
//! - **Unread reply:** an agent's message after the visitor's read mark starts an *unread burst*; further agent
//!   messages before the visitor reads join it. One email per burst, due a delay after its first message, and only if
//!   the visitor has still not read that message then (checked when sending).
//! - **Transcript on close:** when the chatflow's `transcript_on_close` is on and the conversation was not started by
//!   a bot (opened on a `bot` or `ai_agent` chatflow: `bot_started`, kept after a handoff or take-over).
//! - **Manual transcript:** an agent sends a closed, agent-started conversation's transcript to chosen addresses.
//!
//! The visitor's email is the one identification gave (`email` of the identity token) or, failing that, the `email`
//! chat property (email capture, a bot's `save_as: email`). Without SMTP settings for the app nothing is queued.

use chatflow_protocol::{AuthorKind, ConversationStatus, Message};

use super::conversation;
use crate::store::email::{EmailKind, EmailState, NewEmail};
use crate::store::tx::{in_tx, Tx, UnitOfWork};
use crate::store::{ConversationRecord, StoreError, StoreResult};

/// The address emails to the visitor go to, if any.
pub fn visitor_email(tx: &mut dyn Tx, visitor_id: &str) -> StoreResult<Option<String>> {
    let stored = tx.visitor(visitor_id)?.and_then(|v| v.email);
    let email = match stored.filter(|e| !e.trim().is_empty()) {
        Some(e) => Some(e),
        None => tx.visitor_properties(visitor_id)?.remove("email"),
    };
    Ok(email.map(|e| e.trim().to_owned()).filter(|e| !e.is_empty()))
}

fn message_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// After a stored message: an agent's reply may start an unread burst. `before` is the conversation as it was before
/// the append (its visitor read mark is the one that counts: an agent message never moves it).
pub fn on_message_in(tx: &mut dyn Tx, before: &ConversationRecord, message: &Message) -> StoreResult<()> {
    if message.author.kind != AuthorKind::Agent || !tx.email_configured(&before.app_id)? {
        return Ok(());
    }
    if let Some(latest) = tx.latest_email(&before.id, EmailKind::UnreadReply)? {
        let live = matches!(latest.state, EmailState::Pending | EmailState::Sending | EmailState::Sent);
        if live && latest.first_seq.is_some_and(|first| first > before.visitor_read_seq) {
            return Ok(()); // The visitor has not read since this burst began: the reply joins it.
        }
    }
    if visitor_email(tx, &before.visitor_id)?.is_none() {
        return Ok(());
    }
    tx.insert_email(&NewEmail {
        app_id: before.app_id.clone(),
        conversation_id: before.id.clone(),
        kind: EmailKind::UnreadReply,
        recipients: Vec::new(),
        subject: None,
        first_seq: Some(message.seq),
        up_to_seq: message.seq,
        now: message.created_at,
        message_id: message_id(),
    })?;
    Ok(())
}

/// After a close: the transcript to the visitor when the chatflow sends one.
pub fn on_closed_in(tx: &mut dyn Tx, closed: &ConversationRecord, now: i64) -> StoreResult<()> {
    let on = tx.chatflow(&closed.app_id, closed.chatflow_id)?.is_some_and(|f| f.transcript_on_close);
    if !on || closed.last_seq == 0 || !tx.email_configured(&closed.app_id)? {
        return Ok(());
    }
    if tx.inbox_state(&closed.id)?.is_none_or(|s| s.bot_started) {
        return Ok(());
    }
    if visitor_email(tx, &closed.visitor_id)?.is_none() {
        return Ok(());
    }
    tx.insert_email(&NewEmail {
        app_id: closed.app_id.clone(),
        conversation_id: closed.id.clone(),
        kind: EmailKind::Transcript,
        recipients: Vec::new(),
        subject: None,
        first_seq: None,
        up_to_seq: closed.last_seq,
        now,
        message_id: message_id(),
    })?;
    Ok(())
}

/// Why a manual transcript was refused.
#[derive(Debug)]
pub enum ManualRefusal {
    Open,
    BotStarted,
    NotConfigured,
}

/// Queues the transcript of a closed, agent-started conversation to `recipients` (validated by the caller); returns
/// the outbox id.
pub fn send_transcript<S: UnitOfWork + ?Sized>(
    store: &S,
    conversation_id: &str,
    recipients: Vec<String>,
    subject: Option<String>,
    now: i64,
) -> StoreResult<Result<i64, ManualRefusal>> {
    in_tx(store, |tx| {
        let conv = conversation(tx, conversation_id)?;
        if conv.status != ConversationStatus::Closed {
            return Ok(Err(ManualRefusal::Open));
        }
        let state = tx
            .inbox_state(conversation_id)?
            .ok_or_else(|| StoreError::Corrupt(format!("conversation `{conversation_id}` has no inbox state")))?;
        if state.bot_started {
            return Ok(Err(ManualRefusal::BotStarted));
        }
        if !tx.email_configured(&conv.app_id)? {
            return Ok(Err(ManualRefusal::NotConfigured));
        }
        let id = tx.insert_email(&NewEmail {
            app_id: conv.app_id.clone(),
            conversation_id: conv.id.clone(),
            kind: EmailKind::ManualTranscript,
            recipients,
            subject,
            first_seq: None,
            up_to_seq: conv.last_seq,
            now,
            message_id: message_id(),
        })?;
        Ok(Ok(id))
    })
}
