//! A visitor token the server stopped accepting (401 `invalid_token`) while messages are queued: the messages wait
//! (never wedged, never dropped) while the session layer gets a fresh identity token from the app's provider, then
//! go out exactly once.

mod support;
mod sync_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use chatflow_core::events::{ChatEvent, ConnectionState};
use chatflow_core::model::MessageState;
use chatflow_core::protocol::{IdentifyRequest, IdentifyResponse};
use chatflow_core::session::{IdentityTokenProvider, TokenProviderError};
use support::*;
use sync_common::*;

struct Backend {
    calls: AtomicUsize,
}

impl IdentityTokenProvider for Backend {
    fn fresh_identity_token(&self, user_id: String) -> Result<String, TokenProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(identity_token(&user_id, None, 600))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_wait_for_a_renewed_session_and_are_delivered_once() {
    let mut server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    let backend = Arc::new(Backend { calls: AtomicUsize::new(0) });
    client.set_identity_token_provider(Some(backend.clone())).unwrap();
    client.identify(identity_token("ivy", None, 600), None).await.unwrap();
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    wait_online(&client, 30).await;

    // Offline, the visitor writes; meanwhile the token this device holds stops being valid on the server (here: the
    // same session identified again elsewhere, which rotates the token).
    client.pause();
    server.stop();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(client.send(&conv.id, &format!("while away {i}")).unwrap().client_message_id.unwrap());
    }
    server.restart();
    let stale = visitor_token(&client);
    let rotated: IdentifyResponse = server
        .http()
        .post(
            "/v1/visitor/identify",
            Some(&stale),
            Some(&IdentifyRequest { identity_token: identity_token("ivy", None, 600) }),
        )
        .await
        .unwrap();
    assert_ne!(rotated.session.visitor_token, stale);

    client.resume().unwrap();
    wait_for("the queue to drain", 60, || (outbox_len(&client) == 0).then_some(())).await;
    assert!(backend.calls.load(Ordering::SeqCst) >= 1, "the provider was asked for a fresh identity token");
    assert_ne!(visitor_token(&client), stale);
    let on_server = server_messages(&server.http(), &visitor_token(&client), &conv.id).await;
    let visitor: Vec<String> = visitor_only(&on_server).iter().filter_map(|m| m.client_message_id.clone()).collect();
    assert_eq!(visitor, ids);
    assert!(
        !events.any(|e| matches!(e, ChatEvent::MessagesChanged { messages, .. } if messages.iter().any(|m| matches!(m.state, MessageState::Wedged { .. })))),
        "a refused token must never wedge a message"
    );
    wait_online(&client, 30).await;
    assert_eq!(client.connection_state(), ConnectionState::Online);
}
