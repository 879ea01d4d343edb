//! Tests of the domain rules against the embedded SQLite store (the rules are backend-neutral; another backend runs
//! the same cases).

mod consent;
mod email;
mod inbox;
mod messages;
mod tickets;
mod visitors;

use crate::store::sqlite::test_support::store_with_conversation;
pub(super) use crate::store::sqlite::test_support::visitor_msg;
use crate::store::SqliteStore;

/// The test store with visitor `v1` and its conversation `c1` (chatflow 1, live chat) opened at 1.
pub(super) fn setup() -> (tempfile::TempDir, SqliteStore) {
    setup_at(1)
}

/// Like [`setup`], the conversation opened at `now`.
pub(super) fn setup_at(now: i64) -> (tempfile::TempDir, SqliteStore) {
    store_with_conversation(now)
}
