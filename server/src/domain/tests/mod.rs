//! Tests of the domain rules against the embedded SQLite store (the rules are backend-neutral; another backend runs
//! the same cases).

mod consent;
mod inbox;
mod messages;
mod tickets;
mod visitors;

use chatflow_protocol::{Author, AuthorKind};

use crate::domain::conversations;
use crate::domain::messages::NewMessage;
use crate::store::sqlite::test_support::store;
use crate::store::{NewConversation, SqliteStore, VisitorStore};

/// The test store with visitor `v1` and its conversation `c1` (chatflow 1, live chat) opened at 1.
pub(super) fn setup() -> (tempfile::TempDir, SqliteStore) {
    setup_at(1)
}

/// Like [`setup`], the conversation opened at `now`.
pub(super) fn setup_at(now: i64) -> (tempfile::TempDir, SqliteStore) {
    let (dir, s) = store();
    s.create_visitor("app1", "v1", "t1", 1).unwrap();
    let new = NewConversation {
        id: "c1".into(),
        app_id: "app1".into(),
        chatflow_id: 1,
        visitor_id: "v1".into(),
        assignee_agent_id: None,
        now,
    };
    conversations::create(&s, &new).unwrap();
    (dir, s)
}

/// A message of visitor `v1` in `c1`, idempotent by `client_id`.
pub(super) fn visitor_msg(client_id: &str, body: &str) -> NewMessage {
    NewMessage {
        conversation_id: "c1".into(),
        client_message_id: Some(client_id.into()),
        author: Author { kind: AuthorKind::Visitor, id: Some("v1".into()), display_name: None, avatar_url: None },
        body: body.into(),
        quick_reply_id: None,
        quick_replies: vec![],
        now: 2,
        owner_visitor_id: Some("v1".into()),
        reopen: true,
        require_consent_hash: None,
        assign_if_unassigned: None,
    }
}
