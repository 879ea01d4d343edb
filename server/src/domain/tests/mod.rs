//! Tests of the domain rules, on SQLite or on PostgreSQL (`store::test_backends`: the `postgres` stage of the test
//! command runs them again with `CHATFLOW_TEST_POSTGRES`).

mod consent;
mod email;
mod inbox;
mod messages;
mod tickets;
mod visitors;

pub(super) use crate::store::test_backends::visitor_msg;
use crate::store::test_backends::{store_with_conversation, TestStore};

/// The test store with visitor `v1` and its conversation `c1` (chatflow 1, live chat) opened at 1.
pub(super) fn setup() -> TestStore {
    setup_at(1)
}

/// Like [`setup`], the conversation opened at `now`.
pub(super) fn setup_at(now: i64) -> TestStore {
    store_with_conversation(now)
}
