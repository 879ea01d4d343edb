//! `handle_push` against the real server: an agent replies through the agent API while the app is not running; the
//! push wakes a client opened fresh from the same store (a cold start), which catches the conversation up and returns
//! the notification from the store. Then the cases where it cannot: offline (the payload's preview and unread
//! count), no session on the device, another visitor's conversation, and payloads that are not ours.

mod support;
mod sync_common;

use std::collections::HashMap;

use chatflow_core::session::{PushHandling, PushNotification, PushSync};
use support::{TestServer, AGENT, FLOW_SUPPORT_EN, FLOW_SUPPORT_FR};
use sync_common::*;

fn fcm(pairs: &[(&str, String)]) -> HashMap<String, String> {
    let mut data: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    data.insert("cf_source".into(), "chatflow".into());
    data
}

fn notification(handling: PushHandling) -> PushNotification {
    match handling {
        PushHandling::Notification { notification } => notification,
        PushHandling::NotOurs => panic!("our payload was not recognised"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_after_a_cold_start_catches_up_and_shows_the_stored_reply() {
    let mut server = TestServer::start();
    let http = server.http();
    let dir = support::storage();
    let conversation_id = {
        let app = support::open(&server, dir.path());
        app.refresh_chatflows().await.unwrap();
        let conversation = app.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
        wait_online(&app, 30).await;
        app.pause();
        conversation.id
    }; // the app is gone: its client (and socket) with it

    let reply = agent_reply(&http, AGENT, &conversation_id, "Your refund is on its way").await;
    let seq = reply.seq.to_string();

    // Cold start: a new client on the same storage, started only to handle the push. No preview in the payload (the
    // app disabled previews): the text can only come from the catch-up.
    let app = support::open(&server, dir.path());
    assert!(app
        .messages_on_device(&conversation_id, None, 50)
        .unwrap()
        .messages
        .iter()
        .all(|m| m.seq != Some(reply.seq as i64)));
    let data = fcm(&[
        ("cf_conversation_id", conversation_id.clone()),
        ("cf_chatflow_id", FLOW_SUPPORT_EN.to_string()),
        ("cf_seq", seq.clone()),
        ("cf_sender_name", "Sam".into()),
        ("cf_unread", "1".into()),
    ]);
    let n = notification(app.handle_push(&data).await);
    assert!(matches!(n.sync, PushSync::CaughtUp { received } if received >= 1), "{:?}", n.sync);
    assert_eq!((n.title.as_str(), n.body.as_str()), ("Sam", "Your refund is on its way"));
    assert_eq!(
        (n.conversation_id.as_str(), n.chatflow_id, n.seq),
        (conversation_id.as_str(), Some(FLOW_SUPPORT_EN), Some(reply.seq as i64))
    );
    let unread = app.unread_counts().unwrap().total;
    assert!(unread >= 1);
    assert_eq!(n.unread_count, unread, "the unread count is the store's after the catch-up");
    // Tapping it opens a chat that is already up to date.
    let page = app.messages_on_device(&conversation_id, None, 50).unwrap();
    assert!(page.complete);
    assert_eq!(page.messages.last().map(|m| m.body.as_str()), Some("Your refund is on its way"));

    // The same push again needs no server: the store already holds the message.
    server.stop();
    let again = notification(app.handle_push(&data).await);
    assert_eq!((again.sync, again.body.as_str()), (PushSync::CaughtUp { received: 0 }, "Your refund is on its way"));
    server.restart();

    // The APNs form (JSON userInfo, numbers beside `aps`), without a sender name: the stored author's name.
    let second = agent_reply(&http, AGENT, &conversation_id, "Anything else?").await;
    let json = format!(
        r#"{{"aps": {{"alert": {{"title": "x", "body": "y"}}, "badge": 2, "mutable-content": 1}},
            "cf_source": "chatflow", "cf_conversation_id": "{conversation_id}", "cf_seq": {}}}"#,
        second.seq
    );
    let n = notification(app.handle_push_json(&json).await);
    assert_eq!(n.sync, PushSync::CaughtUp { received: 1 });
    assert_eq!(n.body, "Anything else?");
    // The author's name as stored (the seed's chatflow shows its team name for agents), else the header's.
    assert_eq!(n.title, second.author.display_name.clone().unwrap_or_else(|| "Chatflow Test Team".into()));
    assert_eq!(n.chatflow_id, Some(FLOW_SUPPORT_EN), "taken from the stored conversation");
    assert_eq!(n.unread_count, app.unread_counts().unwrap().total);

    // Offline: the notification comes from the payload, and says so.
    let third = agent_reply(&http, AGENT, &conversation_id, "Closing soon").await;
    server.stop();
    let offline = fcm(&[
        ("cf_conversation_id", conversation_id.clone()),
        ("cf_seq", third.seq.to_string()),
        ("cf_sender_name", "Sam".into()),
        ("cf_unread", "7".into()),
        ("cf_preview", "Closing soon (preview)".into()),
    ]);
    let n = notification(app.handle_push(&offline).await);
    assert!(matches!(n.sync, PushSync::Offline { .. }), "{:?}", n.sync);
    assert_eq!((n.title.as_str(), n.body.as_str(), n.unread_count), ("Sam", "Closing soon (preview)", 7));
    // Offline without a preview: a generic line in the chatflow's language (en).
    let no_preview: HashMap<_, _> = offline.into_iter().filter(|(k, _)| k != "cf_preview").collect();
    assert_eq!(notification(app.handle_push(&no_preview).await).body, "Open the chat to read it.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_without_a_session_or_for_another_visitor_is_marked_and_fetches_nothing() {
    let server = TestServer::start();
    let http = server.http();
    let owner_dir = support::storage();
    let owner = support::open(&server, owner_dir.path());
    owner.ensure_session().await.unwrap();
    let conversation_id = support::open_conversation(&owner, &server, FLOW_SUPPORT_FR).await;
    let reply = agent_reply(&http, AGENT, &conversation_id, "Bonjour !").await;
    let data = fcm(&[
        ("cf_conversation_id", conversation_id.clone()),
        ("cf_chatflow_id", FLOW_SUPPORT_FR.to_string()),
        ("cf_seq", reply.seq.to_string()),
        ("cf_unread", "2".into()),
    ]);

    // A device where the chat was never used (only the chatflow list is cached): no visitor is created for a push,
    // and the lines come from the payload, the chatflow's header and its language (French).
    let empty_dir = support::storage();
    let empty = support::open(&server, empty_dir.path());
    empty.refresh_chatflows().await.unwrap();
    let n = notification(empty.handle_push(&data).await);
    assert_eq!(n.sync, PushSync::NoSession);
    assert_eq!(
        (n.title.as_str(), n.body.as_str(), n.unread_count),
        ("Chatflow Test Team", "Ouvrez la conversation pour le lire.", 2)
    );
    assert!(empty.session_info().is_none(), "handling a push created a visitor");

    // Another visitor's device: the server refuses the catch-up and nothing of that conversation is stored.
    let other_dir = support::storage();
    let other = support::open(&server, other_dir.path());
    other.ensure_session().await.unwrap();
    let n = notification(other.handle_push(&data).await);
    assert!(matches!(n.sync, PushSync::Refused { .. }), "{:?}", n.sync);
    assert!(stored_confirmed(&other, &conversation_id).is_empty());

    // Payloads that are not ours, or malformed ones of ours: never an error.
    let foreign: HashMap<String, String> = [("campaign_id", "spring-sale"), ("title", "Sale")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(owner.handle_push(&foreign).await, PushHandling::NotOurs);
    assert_eq!(owner.handle_push_json("{not json").await, PushHandling::NotOurs);
    assert_eq!(
        owner.handle_push_json(r#"{"cf_source": "chatflow", "cf_conversation_id": ""}"#).await,
        PushHandling::NotOurs
    );
}
