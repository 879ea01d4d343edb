//! Identification against the SQLite store: promotion, the merge of a second device, switching users.

use crate::domain::visitors;
use crate::store::test_backends::{open_conversation, store};
use crate::store::Identify;

fn identify(current: &str, token: &str, user: &str, new_token: &str) -> Identify {
    Identify {
        current_visitor_id: current.into(),
        current_token_hash: token.into(),
        app_id: "app1".into(),
        user_id: user.into(),
        email: Some(format!("{user}@example.com")),
        fresh_visitor_id: format!("fresh-{new_token}"),
        new_token_hash: new_token.into(),
        now: 10,
    }
}

#[test]
fn identify_promotes_then_merges_a_second_device() {
    let s = store();
    s.create_visitor("app1", "v1", "t1", 1).unwrap();
    open_conversation(&*s, "c1", "v1", 1);
    let out = visitors::identify(&*s, &identify("v1", "t1", "u1", "t1b")).unwrap();
    assert_eq!(out.visitor.id, "v1");
    assert_eq!(out.visitor.user_id.as_deref(), Some("u1"));
    assert_eq!(out.merged_conversation_ids, vec!["c1".to_string()]);
    assert!(s.visitor_by_token("t1").unwrap().is_none(), "the old token is replaced");

    // Another device, anonymous first, then the same user.
    s.create_visitor("app1", "v2", "t2", 2).unwrap();
    open_conversation(&*s, "c2", "v2", 1);
    let out = visitors::identify(&*s, &identify("v2", "t2", "u1", "t2b")).unwrap();
    assert_eq!(out.visitor.id, "v1");
    assert_eq!(out.merged_conversation_ids, vec!["c2".to_string()]);
    assert_eq!(out.removed_visitor_id.as_deref(), Some("v2"));
    let mine: Vec<_> = s.visitor_conversations("v1").unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(mine.len(), 2);
    assert_eq!(s.visitor_by_token("t2b").unwrap().unwrap().id, "v1");
}

#[test]
fn identify_as_another_user_does_not_merge() {
    let s = store();
    s.create_visitor("app1", "v1", "t1", 1).unwrap();
    visitors::identify(&*s, &identify("v1", "t1", "u1", "t1b")).unwrap();
    open_conversation(&*s, "c1", "v1", 1);
    let out = visitors::identify(&*s, &identify("v1", "t1b", "u2", "t1c")).unwrap();
    assert_ne!(out.visitor.id, "v1");
    assert!(out.merged_conversation_ids.is_empty());
    assert!(s.visitor_conversations(&out.visitor.id).unwrap().is_empty());
}
