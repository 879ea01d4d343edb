//! Push on a stored message: a message from the team or a bot queues one push per device of the visitor, in the unit
//! of work that stores it, so a restart between the commit and the send loses none. Whether the visitor is live (then
//! nothing is sent), what the push says and the delivery itself are the worker's (`crate::notify::push`).

use chatflow_protocol::{AuthorKind, Message};

use crate::store::tx::Tx;
use crate::store::{ConversationRecord, StoreResult};

/// Queues the pushes of a newly stored message; returns how many.
pub fn queue_in(tx: &mut dyn Tx, conversation: &ConversationRecord, message: &Message) -> StoreResult<usize> {
    match message.author.kind {
        AuthorKind::Agent | AuthorKind::Bot => tx.enqueue_pushes(
            &conversation.app_id,
            &conversation.visitor_id,
            &conversation.id,
            message.seq,
            // The queue runs on the wall clock (a test server's pinned clock must not hold pushes back).
            crate::clock::system_now_ms(),
        ),
        AuthorKind::Visitor | AuthorKind::System => Ok(0),
    }
}
