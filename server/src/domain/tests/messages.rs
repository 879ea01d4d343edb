//! The append's rules against the SQLite store: gap-free seq under concurrent writers, idempotent replays, reopen,
//! read marks, the consent gate.

use std::sync::Arc;

use chatflow_protocol::ConversationStatus;

use super::{setup, visitor_msg};
use crate::domain::{conversations, messages};
use crate::store::tx::in_tx;
use crate::store::{Paging, ReaderKind, StoreError};

#[test]
fn seq_is_allocated_without_gaps_under_concurrent_writers() {
    let store = setup();
    let s = store.shared();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let s = Arc::clone(&s);
            std::thread::spawn(move || {
                for i in 0..25 {
                    messages::append(&*s, &visitor_msg(&format!("m{t}-{i}"), "hi")).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let page = s.messages("c1", Paging::After(0), 500).unwrap();
    let seqs: Vec<u64> = page.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    assert_eq!(page.last_seq, 200);
}

#[test]
fn replay_returns_the_stored_message_and_a_changed_body_conflicts() {
    let s = setup();
    let first = messages::append(&*s, &visitor_msg("a", "hello")).unwrap();
    assert!(first.created);
    let again = messages::append(&*s, &visitor_msg("a", "hello")).unwrap();
    assert!(!again.created);
    assert_eq!(again.message, first.message);
    assert!(matches!(messages::append(&*s, &visitor_msg("a", "other")), Err(StoreError::Conflict(_))));
    assert_eq!(s.messages("c1", Paging::Latest, 10).unwrap().messages.len(), 1);
    let mut intruder = visitor_msg("b", "hello");
    intruder.owner_visitor_id = Some("v2".into());
    assert!(matches!(messages::append(&*s, &intruder), Err(StoreError::NotFound(_))));
}

#[test]
fn closed_conversation_reopens_on_a_visitor_message_and_read_marks_only_rise() {
    let s = setup();
    messages::append(&*s, &visitor_msg("a", "x")).unwrap();
    let (_, changed) = conversations::close(&*s, "c1", 3).unwrap();
    assert!(changed);
    assert!(!conversations::close(&*s, "c1", 3).unwrap().1);
    let out = messages::append(&*s, &visitor_msg("b", "y")).unwrap();
    assert!(out.reopened);
    assert_eq!(out.conversation.status, ConversationStatus::Open);
    assert_eq!(conversations::mark_read(&*s, "c1", ReaderKind::Agent, 2).unwrap().agent_read_seq, 2);
    assert_eq!(conversations::mark_read(&*s, "c1", ReaderKind::Agent, 1).unwrap().agent_read_seq, 2);
    assert!(matches!(conversations::mark_read(&*s, "c1", ReaderKind::Agent, 3), Err(StoreError::Invalid(_))));
}

#[test]
fn consent_gate_runs_inside_the_append() {
    let s = setup();
    let mut m = visitor_msg("a", "x");
    m.require_consent_hash = Some("h".repeat(64));
    assert!(matches!(messages::append(&*s, &m), Err(StoreError::ConsentRequired(_))));
    assert_eq!(s.conversation("c1").unwrap().unwrap().last_seq, 0, "a refusal writes nothing");
}

#[test]
fn a_rolled_back_unit_of_work_gives_its_seq_back() {
    let s = setup();
    let refused: Result<(), StoreError> = in_tx(&*s, |tx| {
        assert_eq!(tx.next_seq("c1")?, 1);
        Err(StoreError::Invalid("refused after allocating".into()))
    });
    assert!(matches!(refused, Err(StoreError::Invalid(_))));
    assert_eq!(s.conversation("c1").unwrap().unwrap().last_seq, 0, "the refusal wrote nothing");
    let appended = messages::append(&*s, &visitor_msg("a", "x")).unwrap();
    assert_eq!(appended.message.seq, 1, "no gap");
    assert_eq!(Some(appended.conversation), s.conversation("c1").unwrap(), "the record returned is the stored one");
    assert!(matches!(in_tx(&*s, |tx| tx.next_seq("missing")), Err(StoreError::NotFound(_))));
}

#[test]
fn an_agent_reply_reopens_assigns_and_returns_the_stored_record() {
    let s = setup();
    messages::append(&*s, &visitor_msg("a", "x")).unwrap();
    conversations::close(&*s, "c1", 3).unwrap();
    let reply = messages::NewMessage {
        client_message_id: Some("r".into()),
        author: chatflow_protocol::Author {
            kind: chatflow_protocol::AuthorKind::Agent,
            id: Some("ag1".into()),
            display_name: None,
            avatar_url: None,
        },
        owner_visitor_id: None,
        assign_if_unassigned: Some("ag1".into()),
        survey: None,
        now: 4,
        ..visitor_msg("r", "hello")
    };
    let out = messages::append(&*s, &reply).unwrap();
    assert!(out.reopened && out.assigned);
    let stored = s.conversation("c1").unwrap().unwrap();
    assert_eq!((stored.assignee_agent_id.as_deref(), stored.agent_read_seq, stored.last_seq), (Some("ag1"), 2, 2));
    assert_eq!(out.conversation, stored);
    assert_eq!(s.inbox_state("c1").unwrap().unwrap().closed_at, None, "open again");
}
