//! What is queued in the email outbox, and the outbox's claim / finish states (no email claimed twice, an interrupted
//! send never resumed).

use std::collections::BTreeMap;

use chatflow_protocol::{Author, AuthorKind};

use super::{setup, visitor_msg};
use crate::domain::messages::{self, NewMessage};
use crate::store::email::{EmailKind, EmailOutcome, EmailState, SmtpSecurity, SmtpSettings};
use crate::store::tx::in_tx;
use crate::store::Store;

const DELAY: i64 = 120_000;

fn agent_msg(client_id: &str, now: i64) -> NewMessage {
    let mut m = visitor_msg(client_id, "a reply");
    m.author = Author { kind: AuthorKind::Agent, id: Some("ag1".into()), display_name: None, avatar_url: None };
    m.owner_visitor_id = None;
    m.now = now;
    m
}

fn configured(s: &dyn Store) {
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port: 25,
        security: SmtpSecurity::None,
        username: None,
        password: None,
        from_address: "help@app.example".into(),
        from_name: None,
        reopen_link: None,
        updated_at: 1,
    };
    s.put_email_settings("app1", &settings).unwrap();
}

fn with_email(s: &dyn Store) {
    let props = BTreeMap::from([("email".to_owned(), "v@visitor.example".to_owned())]);
    in_tx(s, |tx| tx.set_visitor_properties("v1", &props)).unwrap();
}

fn rows(s: &dyn Store) -> Vec<(EmailKind, Option<u64>, EmailState)> {
    s.conversation_emails("c1").unwrap().into_iter().map(|e| (e.kind, e.first_seq, e.state)).collect()
}

#[test]
fn one_unread_reply_email_per_burst_and_only_for_a_visitor_with_an_address_in_an_app_with_smtp() {
    let s = setup();
    messages::append(&*s, &agent_msg("a0", 5)).unwrap();
    assert!(rows(&*s).is_empty(), "no SMTP settings: nothing queued");
    configured(&*s);
    messages::append(&*s, &agent_msg("a1", 6)).unwrap();
    assert!(rows(&*s).is_empty(), "no address: nothing queued");
    with_email(&*s);
    messages::append(&*s, &visitor_msg("v1", "question")).unwrap(); // seq 3, read up to 3
    messages::append(&*s, &agent_msg("a2", 10)).unwrap(); // seq 4 starts a burst
    messages::append(&*s, &agent_msg("a3", 11)).unwrap(); // joins it
    assert_eq!(rows(&*s), [(EmailKind::UnreadReply, Some(4), EmailState::Pending)]);

    assert!(s.claim_due_emails(10 + DELAY - 1, DELAY, 10).unwrap().is_empty(), "not due yet");
    let claimed = s.claim_due_emails(10 + DELAY, DELAY, 10).unwrap();
    assert_eq!((claimed.len(), claimed[0].attempts, claimed[0].state), (1, 1, EmailState::Sending));
    assert!(s.claim_due_emails(10 + DELAY, DELAY, 10).unwrap().is_empty(), "claimed once");
    s.finish_email(claimed[0].id, &EmailOutcome::Sent, 10 + DELAY).unwrap();
    messages::append(&*s, &agent_msg("a4", 200_000)).unwrap();
    assert_eq!(rows(&*s).len(), 1, "still unread: the same burst, already emailed");

    messages::append(&*s, &visitor_msg("v2", "thanks")).unwrap(); // seq 7: the visitor read everything
    messages::append(&*s, &agent_msg("a5", 300_000)).unwrap(); // seq 8: a new burst
    assert_eq!(rows(&*s)[1], (EmailKind::UnreadReply, Some(8), EmailState::Pending));
}

#[test]
fn retries_wait_their_turn_and_an_interrupted_send_is_never_resumed() {
    let s = setup();
    configured(&*s);
    with_email(&*s);
    messages::append(&*s, &agent_msg("a1", 10)).unwrap();
    messages::append(&*s, &visitor_msg("v1", "hi")).unwrap();
    messages::append(&*s, &agent_msg("a2", 20)).unwrap();
    let claimed = s.claim_due_emails(1_000_000, DELAY, 10).unwrap();
    assert_eq!(claimed.len(), 2);
    let retry = EmailOutcome::Retry { at: 2_000_000, error: "451 busy".into() };
    s.finish_email(claimed[0].id, &retry, 1_000_000).unwrap();
    assert!(s.claim_due_emails(1_999_999, DELAY, 10).unwrap().is_empty(), "the retry waits; the other is sending");
    // The server stops while the second is in the SMTP exchange: at the next start it is failed, not sent again.
    assert_eq!(s.abandon_interrupted_emails(1_500_000).unwrap(), 1);
    let again = s.claim_due_emails(2_000_000, DELAY, 10).unwrap();
    assert_eq!((again.len(), again[0].id, again[0].attempts), (1, claimed[0].id, 2));
    let states: Vec<EmailState> = rows(&*s).into_iter().map(|r| r.2).collect();
    assert_eq!(states, [EmailState::Sending, EmailState::Failed]);
    // A finish for an email that is not `sending` any more changes nothing.
    s.finish_email(claimed[1].id, &EmailOutcome::Sent, 2_000_000).unwrap();
    assert_eq!(rows(&*s)[1].2, EmailState::Failed);
}
