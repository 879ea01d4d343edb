//! The messaging capability's tables and their typed queries: conversations (with their sync cursor and read
//! markers), messages (server copies and local echoes) and the outbox (what waits to be sent). No other capability
//! writes SQL on these tables: they call these functions (checked by `tests/layout.rs`).

pub mod conversations;
pub mod messages;
pub mod outbox;

/// Deletes the visitor's conversations, messages and queued sends (logout, another user), in the caller's
/// transaction.
pub(crate) fn wipe_visitor(tx: &rusqlite::Transaction<'_>) -> crate::error::Result<()> {
    tx.execute_batch("DELETE FROM messages; DELETE FROM outbox; DELETE FROM conversations;")?;
    Ok(())
}
