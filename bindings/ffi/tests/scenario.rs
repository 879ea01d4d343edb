//! The cross-language scenario (tests/bindings/README.md) in Rust, through the FFI crate's API (the same objects,
//! records and callbacks Kotlin and Swift get), against the real chatflow-server. Same steps and fixtures as
//! android/src/test/kotlin/io/chatflow/ScenarioTest.kt and ios/Tests/ChatflowTests/ScenarioTests.swift.
//!
//! Needs the server binary: `CHATFLOW_SERVER_BIN`, or `target/debug/chatflow-server` (`cargo build -p chatflow-server`).

mod common;

use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::{Events, Fixtures, Recorder, Server};

use chatflow_ffi::types::chatflow::{ChatflowConfig, Environment, ProcessDataMode, ResolveOutcome};
use chatflow_ffi::types::messaging::{AuthorKind, ChatEvent, ChatMessage, ConnectionState, MessageState};
use chatflow_ffi::{ChatClient, ChatflowError};

fn message_where(event: ChatEvent, pred: impl Fn(&ChatMessage) -> bool) -> Option<ChatMessage> {
    match event {
        ChatEvent::MessagesChanged { messages, .. } => messages.into_iter().find(|m| pred(m)),
        _ => None,
    }
}

const WAIT: Duration = Duration::from_secs(15);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_conversation() {
    let fx = Fixtures::load();
    let mut server = Server::start();
    let storage = tempfile::tempdir().unwrap();
    let config = ChatflowConfig {
        server_url: server.url(),
        app_id: fx.get("app_id"),
        environment: Environment::Development,
        default_tag: fx.get("support.tag"),
        language: Some("en".into()),
        extra_root_certificates: None,
        pinned_spki_sha256: Vec::new(),
        attachment_cache_bytes: None,
    };
    let chat = ChatClient::open(config, storage.path().display().to_string()).unwrap();
    let (tx, rx) = mpsc::channel();
    let subscription = chat.subscribe(Arc::new(Recorder { tx: Mutex::new(tx) })).unwrap();
    let events = Events { rx };
    events.wait("the subscription's replay", WAIT, |e| matches!(e, ChatEvent::ConnectionChanged { .. }).then_some(()));

    // Resolve `support`: the enabled chatflow with the highest priority wins; explain says why.
    chat.refresh_chatflows().await.unwrap();
    let ResolveOutcome::Found { chatflow: support } =
        chat.resolve(Some(fx.get("support.tag")), vec![]).unwrap().outcome
    else {
        panic!("support tag not resolved")
    };
    assert_eq!(support.chatflow_id, fx.id("support.winner_id"));
    assert_eq!(
        chat.explain(Some(fx.get("support.tag")), vec![]).unwrap().chosen_chatflow_id,
        Some(support.chatflow_id)
    );

    // Explicit consent on `billing`: refused before any decision, refused after declining, then accepted.
    let ResolveOutcome::Found { chatflow: billing } =
        chat.resolve(Some(fx.get("consent.tag")), vec![]).unwrap().outcome
    else {
        panic!("billing tag not resolved")
    };
    assert_eq!(billing.chatflow_id, fx.id("consent.chatflow_id"));
    assert_eq!(billing.consent.process_data_mode, ProcessDataMode::Explicit);
    let conversation = chat.open_conversation(billing.chatflow_id).await.unwrap();
    let first = fx.text("message.first");
    let refused = chat.send(conversation.id.clone(), first.clone()).unwrap_err();
    assert!(matches!(refused, ChatflowError::ConsentRequired { declined: false, .. }), "{refused:?}");
    let version = Some(billing.consent.process_data_text_version.clone());
    chat.decline_consent(billing.chatflow_id, version.clone()).unwrap();
    let refused = chat.send(conversation.id.clone(), first.clone()).unwrap_err();
    assert!(matches!(refused, ChatflowError::ConsentRequired { declined: true, .. }), "{refused:?}");
    assert!(chat.accept_consent(billing.chatflow_id, version).unwrap().can_send);

    // Knowledge-base search: Billing offers one; synced to the device, then searched there.
    assert!(billing.knowledge_base_enabled);
    let kb_id = billing.knowledge_base_id.expect("Billing's knowledge base");
    assert!(chat.sync_knowledge_base(kb_id, None).await.unwrap().articles > 0);
    let found = chat.search_kb(fx.get("scenario.kb_query"), None, 5, 0).await.unwrap();
    assert_eq!(found.hits.first().map(|h| h.title.as_str()), Some(fx.get("scenario.kb_expected_title").as_str()));

    // Send: a local echo at once, then the server's confirmation as an event.
    let echo = chat.send(conversation.id.clone(), first.clone()).unwrap();
    assert_eq!(echo.state, MessageState::Queued);
    let sent = events.wait("confirmation of the first message", WAIT, |e| {
        message_where(e, |m| m.client_message_id == echo.client_message_id && m.state == MessageState::Sent)
    });
    assert_eq!(sent.local_id, echo.local_id);

    // An agent replies through the agent API: it arrives as an event.
    let reply_text = fx.get("agent.reply");
    server.agent_reply(&conversation.id, &reply_text, &fx.get("agent.token"));
    let reply = events.wait("the agent's reply", WAIT, |e| message_where(e, |m| m.body == reply_text));
    assert_eq!(reply.author.kind, AuthorKind::Agent);

    // History: one coarse call, ascending, both messages with server seqs.
    let history = chat.messages(conversation.id.clone(), None, 50).await.unwrap();
    let bodies: Vec<&str> = history.iter().map(|m| m.body.as_str()).collect();
    let (i_first, i_reply) = (bodies.iter().position(|b| *b == first), bodies.iter().position(|b| *b == reply_text));
    assert!(matches!((i_first, i_reply), (Some(a), Some(b)) if a < b), "history: {bodies:?}");
    let seqs: Vec<i64> = history.iter().filter_map(|m| m.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ascending: {seqs:?}");

    // Unread: the reply counts until the visitor reads it.
    assert!(chat.unread_counts().unwrap().total >= 1);
    chat.mark_read(conversation.id.clone(), None).unwrap();
    events.wait("unread back to zero", WAIT, |e| {
        matches!(e, ChatEvent::UnreadCountsChanged { total: 0, .. }).then_some(())
    });
    assert_eq!(chat.unread_counts().unwrap().total, 0);

    // The connection dies (server down): a message sent now waits on the device...
    server.stop();
    events.wait("connection lost", WAIT, |e| match e {
        ChatEvent::ConnectionChanged { state } if state != ConnectionState::Online => Some(()),
        _ => None,
    });
    let offline_text = fx.text("message.offline");
    let offline = chat.send(conversation.id.clone(), offline_text.clone()).unwrap();
    assert!(chat.pending_sends().unwrap().iter().any(|m| m.client_message_id == offline.client_message_id));
    // ...and is delivered exactly once when the server is back (resume skips the backoff wait).
    server.restart();
    chat.resume().unwrap();
    events.wait("offline message delivered", Duration::from_secs(30), |e| {
        message_where(e, |m| m.client_message_id == offline.client_message_id && m.state == MessageState::Sent)
    });
    assert!(chat.pending_sends().unwrap().is_empty());
    let after = chat.messages(conversation.id.clone(), None, 100).await.unwrap();
    assert_eq!(after.iter().filter(|m| m.body == offline_text).count(), 1, "delivered once");

    // Logout clears everything on the device.
    let visitor = chat.session_info().and_then(|s| s.visitor_id);
    chat.logout().await.unwrap();
    assert!(chat.conversations().unwrap().is_empty());
    assert!(chat.pending_sends().unwrap().is_empty());
    assert_eq!(chat.unread_counts().unwrap().total, 0);
    assert_ne!(chat.session_info().and_then(|s| s.visitor_id), visitor);
    subscription.cancel();
}
