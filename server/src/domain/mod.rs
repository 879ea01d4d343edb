//! The product's rules, backend-neutral: each service reads what its rule needs, decides, and writes inside one unit
//! of work (`store::tx`), so the rule holds under concurrent requests whatever backend stores the data. Handlers parse,
//! authorise, call one service and map its errors; the store only stores.
//!
//! - `agents` — agent accounts: emails, password policy and hashing, sign-in, session expiry.
//! - `bots` — saving a bot's session with the visitor properties it sets (the properties cap).
//! - `consent` — consent records, idempotent by record id.
//! - `conversations` — opening (a bot chatflow's conversation starts with its bot; help-desk rules create a ticket),
//!   closing, read marks (never lowered, never beyond the last message).
//! - `messages` — the append: ownership, idempotency by client id, the consent gate, gap-free `seq`, reopen on reply,
//!   an agent's reply takes the conversation (assignment, bot take-over), the first visitor message names the ticket.
//! - `inbox` — assignment, take-over of a bot conversation, handoff marking, the bot close rule.
//! - `visitors` — identification: which visitor a user's session becomes, the anonymous visitor's merge.
//! - `tickets` — the ticket subject, the pipeline of a ticket created by hand.
//! - `notes` — internal notes, idempotent by client id, placed after the conversation's last message.
//! - `push` — a message from the team or a bot queues a push per device of the visitor (same unit of work).
//! - `email` — what is emailed and when: an agent reply left unread, the transcript on close, a manual transcript.
//! - `surveys` — the satisfaction survey appended on close, the visitor's answer (one per survey), the summary.
//!
//! Each service has a `…_in(tx, …)` form that runs inside a caller's unit of work (to compose several rules in one
//! transaction) and a form that opens its own.

pub mod agents;
pub mod attachments;
pub mod bots;
pub mod consent;
pub mod conversations;
pub mod email;
pub mod inbox;
pub mod messages;
pub mod notes;
pub mod push;
pub mod surveys;
pub mod tickets;
pub mod visitors;

#[cfg(test)]
mod tests;

use crate::store::tx::Tx;
use crate::store::{ConversationRecord, StoreError, StoreResult};

/// The conversation, held for the rest of the unit of work; `NotFound` when missing.
fn conversation(tx: &mut dyn Tx, id: &str) -> StoreResult<ConversationRecord> {
    tx.conversation_for_update(id)?.ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))
}

/// Reads the conversation again after writes of the same unit of work.
fn reread(tx: &mut dyn Tx, id: &str) -> StoreResult<ConversationRecord> {
    tx.conversation_for_update(id)?.ok_or_else(|| StoreError::Corrupt("conversation vanished".into()))
}
