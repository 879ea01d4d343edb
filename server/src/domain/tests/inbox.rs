//! Handoff and assignment rules against the SQLite store.

use super::setup_at;
use crate::domain::inbox;
use crate::store::inbox::HandledBy;
use crate::store::StoreError;

#[test]
fn live_chat_conversations_are_handled_by_agents_and_handoff_is_a_no_op() {
    let s = setup_at(1_000);
    let state = s.inbox_state("c1").unwrap().unwrap();
    assert_eq!(state.handled_by, HandledBy::Agents);
    assert!(!state.bot_started && !state.blocked && state.closed_at.is_none());
    let h = inbox::mark_handoff(&*s, "c1", 5).unwrap();
    assert!(!h.changed);
    assert!(matches!(inbox::mark_handoff(&*s, "nope", 5), Err(StoreError::NotFound(_))));
}

#[test]
fn assignment_checks_the_agent_and_blocking_is_idempotent() {
    let s = setup_at(1_000);
    assert!(matches!(inbox::assign(&*s, "c1", Some("ghost"), false, 2), Err(StoreError::Invalid(_))));
    let a = inbox::assign(&*s, "c1", Some("ag1"), false, 2).unwrap();
    assert!(a.changed && !a.taken_over);
    assert!(!inbox::assign(&*s, "c1", None, true, 2).unwrap().changed, "only_if_unassigned leaves it");
    assert!(inbox::assign(&*s, "c1", None, false, 2).unwrap().changed);
    assert!(s.set_blocked("app1", "v1", true, "ag1", 3).unwrap());
    assert!(!s.set_blocked("app1", "v1", true, "ag1", 3).unwrap());
    assert!(s.inbox_state("c1").unwrap().unwrap().blocked);
    assert!(s.set_blocked("app1", "v1", false, "ag1", 3).unwrap());
    assert!(!s.is_blocked("app1", "v1").unwrap());
}
