//! Ticket creation rules against the SQLite store: chatflow setting over channel setting, the subject from the first
//! visitor message, tickets created by hand.

use chatflow_protocol::{Author, AuthorKind, Channel};

use crate::domain::messages::NewMessage;
use crate::domain::{conversations, messages, tickets};
use crate::store::inbox::{HelpDeskScope, HelpDeskSetting, TicketStatus, TicketUpdate};
use crate::store::test_backends::store;
use crate::store::{ConversationRecord, NewConversation, Put, Store};

fn open(s: &dyn Store, id: &str) -> ConversationRecord {
    conversations::create(
        s,
        &NewConversation {
            id: id.into(),
            app_id: "app1".into(),
            chatflow_id: 1,
            visitor_id: "v1".into(),
            assignee_agent_id: None,
            now: 10,
        },
    )
    .unwrap()
}

fn visitor_says(s: &dyn Store, conv: &str, body: &str) {
    messages::append(
        s,
        &NewMessage {
            conversation_id: conv.into(),
            client_message_id: None,
            author: Author { kind: AuthorKind::Visitor, id: Some("v1".into()), display_name: None, avatar_url: None },
            body: body.into(),
            quick_reply_id: None,
            quick_replies: vec![],
            now: 20,
            owner_visitor_id: None,
            reopen: true,
            require_consent_hash: None,
            assign_if_unassigned: None,
            survey: None,
        },
    )
    .unwrap();
}

#[test]
fn chatflow_setting_wins_over_channel_and_first_message_names_the_ticket() {
    let s = store();
    s.create_visitor("app1", "v1", "t1", 1).unwrap();
    let on = |p: &str| HelpDeskSetting { create_tickets: true, pipeline: p.into() };
    assert!(s.set_help_desk("app1", &HelpDeskScope::Channel(Channel::MobileChat), &on("chan")).unwrap());
    open(&*s, "c1");
    assert_eq!(s.ticket_of_conversation("c1").unwrap().unwrap().pipeline, "chan");
    let off = HelpDeskSetting { create_tickets: false, pipeline: "x".into() };
    assert!(s.set_help_desk("app1", &HelpDeskScope::Chatflow(1), &off).unwrap());
    open(&*s, "c2");
    assert!(s.ticket_of_conversation("c2").unwrap().is_none(), "the chatflow's `false` wins");
    assert!(!s.set_help_desk("other", &HelpDeskScope::Chatflow(1), &on("p")).unwrap(), "not that app's chatflow");
    visitor_says(&*s, "c1", "My order is late\nmore");
    visitor_says(&*s, "c1", "second");
    let t = s.ticket_of_conversation("c1").unwrap().unwrap();
    assert_eq!((t.subject.as_deref(), t.status), (Some("My order is late"), TicketStatus::New));
    // A ticket created by hand later still gets the first visitor message as subject.
    visitor_says(&*s, "c2", "Refund please");
    let created = tickets::create(&*s, "c2", None, 30).unwrap();
    let Put::Created(t2) = created else { panic!("expected a new ticket") };
    assert_eq!((t2.subject.as_deref(), t2.pipeline.as_str()), (Some("Refund please"), "x"));
    assert!(matches!(tickets::create(&*s, "c2", None, 31).unwrap(), Put::Existing(_)));
    let upd = TicketUpdate { status: Some(TicketStatus::WaitingOnUs), ..Default::default() };
    let t2 = s.update_ticket("app1", t2.id, &upd, 40).unwrap().unwrap();
    assert_eq!(
        (t2.status, t2.updated_at, t2.subject.as_deref()),
        (TicketStatus::WaitingOnUs, 40, Some("Refund please"))
    );
    assert!(s.update_ticket("other", t2.id, &upd, 40).unwrap().is_none());
    let listed = s.tickets("app1", None, None, None, 10).unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), vec![t2.id, t.id], "newest first");
    assert_eq!(s.tickets("app1", Some(TicketStatus::New), None, None, 10).unwrap().len(), 1);
    assert_eq!(s.tickets("app1", None, None, Some(t2.id), 10).unwrap().len(), 1);
}
