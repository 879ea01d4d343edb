//! Help-desk tickets: which new conversation gets one and in which pipeline, the ticket an agent creates by hand, and
//! the subject (the first visitor message).

use crate::store::inbox::{HelpDeskScope, TicketRecord, DEFAULT_PIPELINE};
use crate::store::tx::{in_tx, NewTicket, Tx, UnitOfWork};
use crate::store::{ConversationRecord, Put, StoreError, StoreResult};

/// Longest ticket subject taken from the first visitor message, in characters.
pub const SUBJECT_CHARS: usize = 120;

/// A ticket subject from a message: its first non-empty line, at most `SUBJECT_CHARS` characters.
pub fn subject_of(body: &str) -> String {
    let line = body.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut out: String = line.chars().take(SUBJECT_CHARS).collect();
    if line.chars().count() > SUBJECT_CHARS {
        out.pop();
        out.push('…');
    }
    out
}

/// The setting that applies to a conversation: its chatflow's, else its channel's.
fn setting_for(
    tx: &mut dyn Tx,
    conv: &ConversationRecord,
) -> StoreResult<Option<crate::store::inbox::HelpDeskSetting>> {
    match tx.help_desk(&conv.app_id, &HelpDeskScope::Chatflow(conv.chatflow_id))? {
        Some(s) => Ok(Some(s)),
        None => tx.help_desk(&conv.app_id, &HelpDeskScope::Channel(conv.channel)),
    }
}

/// A conversation just opened: the ticket its help-desk setting asks for (status `new`).
pub(super) fn on_conversation_opened(tx: &mut dyn Tx, conv: &ConversationRecord) -> StoreResult<()> {
    if let Some(setting) = setting_for(tx, conv)?.filter(|s| s.create_tickets) {
        insert(tx, conv, setting.pipeline, conv.created_at)?;
    }
    Ok(())
}

/// Inserts the conversation's ticket unless it has one; a ticket created after the conversation started takes its
/// subject from the first visitor message.
fn insert(tx: &mut dyn Tx, conv: &ConversationRecord, pipeline: String, now: i64) -> StoreResult<bool> {
    let subject = tx.first_visitor_body(&conv.id)?.as_deref().map(subject_of);
    tx.insert_ticket(&NewTicket {
        app_id: conv.app_id.clone(),
        conversation_id: conv.id.clone(),
        pipeline,
        subject,
        now,
    })
}

/// Creates the conversation's ticket (or returns the existing one), in `pipeline`, else the one its chatflow's or
/// channel's setting names (even when that setting does not create tickets by itself), else the default.
pub fn create<S: UnitOfWork + ?Sized>(
    store: &S,
    conversation_id: &str,
    pipeline: Option<&str>,
    now: i64,
) -> StoreResult<Put<TicketRecord>> {
    in_tx(store, |tx| {
        if let Some(existing) = tx.ticket_of_conversation(conversation_id)? {
            return Ok(Put::Existing(existing));
        }
        let conv = super::conversation(tx, conversation_id)?;
        let pipeline = match pipeline {
            Some(p) => p.to_owned(),
            None => setting_for(tx, &conv)?.map(|s| s.pipeline).unwrap_or_else(|| DEFAULT_PIPELINE.to_owned()),
        };
        insert(tx, &conv, pipeline, now)?;
        let ticket = tx.ticket_of_conversation(conversation_id)?;
        Ok(Put::Created(ticket.ok_or_else(|| StoreError::Corrupt("ticket vanished".into()))?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_the_first_line_and_short() {
        assert_eq!(subject_of("\n  Hello there \nsecond line"), "Hello there");
        let long = subject_of(&"x".repeat(500));
        assert_eq!(long.chars().count(), SUBJECT_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(subject_of(&"é".repeat(SUBJECT_CHARS)), "é".repeat(SUBJECT_CHARS), "exactly the limit: kept");
    }
}
