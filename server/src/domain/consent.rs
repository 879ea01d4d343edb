//! Consent records: idempotent by the client's record id, on a chatflow of the visitor's app. (The consent gate on
//! messages is in `messages`.)

use chatflow_protocol::{ConsentRecord, ConsentRecordInput};

use crate::store::tx::{in_tx, UnitOfWork};
use crate::store::{Put, StoreError, StoreResult};

/// Stores the record, or returns the stored one when the same record id comes again with the same content
/// (`Conflict` with other content). `NotFound` when the chatflow is not one of the visitor's app.
pub fn put<S: UnitOfWork + ?Sized>(
    store: &S,
    visitor_id: &str,
    record_id: &str,
    input: &ConsentRecordInput,
    now: i64,
) -> StoreResult<Put<ConsentRecord>> {
    in_tx(store, |tx| {
        if let Some(stored) = tx.consent_record(visitor_id, record_id)? {
            if stored.input == *input {
                return Ok(Put::Existing(stored));
            }
            return Err(StoreError::Conflict(format!(
                "consent record `{record_id}` was already stored with different content; use a new record id"
            )));
        }
        let known = match tx.visitor_app_id(visitor_id)? {
            Some(app_id) => tx.chatflow(&app_id, input.chatflow_id)?.is_some(),
            None => false,
        };
        if !known {
            return Err(StoreError::NotFound(format!("chatflow {} does not exist in this app", input.chatflow_id)));
        }
        let record = ConsentRecord {
            record_id: record_id.to_owned(),
            visitor_id: visitor_id.to_owned(),
            input: input.clone(),
            recorded_at: now,
        };
        tx.insert_consent(&record)?;
        Ok(Put::Created(record))
    })
}
