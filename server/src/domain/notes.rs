//! Internal notes: written by an agent in a conversation of their app, idempotent by client id, placed after the
//! conversation's last message. Notes live in their own table: no visitor path reads it.

use chatflow_protocol::Author;

use super::conversation;
use crate::store::agent::NoteRecord;
use crate::store::tx::{in_tx, UnitOfWork};
use crate::store::{Put, StoreError, StoreResult};

/// A note to write (`id` is fresh; a replayed client id returns the stored note instead).
#[derive(Debug, Clone)]
pub struct NewNote {
    pub id: String,
    pub app_id: String,
    pub conversation_id: String,
    pub client_message_id: Option<String>,
    pub author: Author,
    pub body: String,
    pub now: i64,
}

/// Stores the note after the conversation's last message, or returns the one stored under the same client id
/// (`Conflict` when that one has another body or author). `NotFound` for a conversation of another app.
pub fn write<S: UnitOfWork + ?Sized>(store: &S, new: &NewNote) -> StoreResult<Put<NoteRecord>> {
    in_tx(store, |tx| {
        let conv = conversation(tx, &new.conversation_id)?;
        if conv.app_id != new.app_id {
            return Err(StoreError::NotFound(format!("conversation `{}` does not exist", new.conversation_id)));
        }
        if let Some(client_id) = &new.client_message_id {
            if let Some(stored) = tx.note_by_client_id(&conv.id, client_id)? {
                if stored.body != new.body || stored.author.id != new.author.id {
                    return Err(StoreError::Conflict(format!(
                        "client_message_id `{client_id}` was already used in this conversation for a different \
                         note; generate a new id for a new note"
                    )));
                }
                return Ok(Put::Existing(stored));
            }
        }
        let note = NoteRecord {
            id: new.id.clone(),
            app_id: conv.app_id.clone(),
            conversation_id: conv.id.clone(),
            client_message_id: new.client_message_id.clone(),
            after_seq: conv.last_seq,
            author: new.author.clone(),
            body: new.body.clone(),
            created_at: new.now,
        };
        tx.insert_note(&note)?;
        Ok(Put::Created(note))
    })
}
