//! The observable states against the real server on loopback: a conversation screen and a conversation list follow
//! a whole send → stored → read-by-the-team cycle, the team's reply and typing, and a refusal — and an observer that
//! joins at the end holds the same state as the ones that followed every change.

mod support;
mod sync_common;

use std::sync::{Arc, Mutex};

use chatflow_core::protocol::{AuthorKind, ErrorCode};
use chatflow_core::state::{
    ConversationListListener, ConversationListState, ConversationListUpdate, ConversationListener, ConversationState,
    ConversationUpdate, Delivery,
};
use serde_json::json;
use support::{TestServer, AGENT, FLOW_BILLING_EXPLICIT, FLOW_SUPPORT_EN};
use sync_common::*;

/// A chat screen's copy of the state, kept by applying the updates (what the Kotlin and Swift facades do).
#[derive(Default)]
struct Screen {
    state: Mutex<Option<ConversationState>>,
}

impl Screen {
    fn listener(self: &Arc<Self>) -> Arc<dyn ConversationListener> {
        let me = self.clone();
        Arc::new(move |u: ConversationUpdate| {
            let mut s = me.state.lock().unwrap();
            match u {
                ConversationUpdate::Snapshot { state } => *s = Some(state),
                u => s.as_mut().expect("the snapshot comes first").apply(u),
            }
        })
    }

    fn now(&self) -> ConversationState {
        self.state.lock().unwrap().clone().expect("a snapshot")
    }

    /// The deliveries shown (none before the snapshot arrived: it comes on the SDK's thread).
    fn deliveries(&self) -> Vec<Delivery> {
        let state = self.state.lock().unwrap();
        state.iter().flat_map(|s| s.messages.iter().map(|m| m.delivery.clone())).collect()
    }

    async fn ready(&self) {
        wait_for("the snapshot", 30, || self.state.lock().unwrap().is_some().then_some(())).await;
    }
}

#[derive(Default)]
struct List {
    state: Mutex<Option<ConversationListState>>,
}

impl List {
    fn listener(self: &Arc<Self>) -> Arc<dyn ConversationListListener> {
        let me = self.clone();
        Arc::new(move |u: ConversationListUpdate| {
            let mut s = me.state.lock().unwrap();
            match u {
                ConversationListUpdate::Snapshot { state } => *s = Some(state),
                u => s.as_mut().expect("the snapshot comes first").apply(u),
            }
        })
    }

    fn now(&self) -> ConversationListState {
        self.state.lock().unwrap().clone().expect("a snapshot")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_follows_send_stored_read_reply_and_typing() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    client.refresh_chatflows().await.unwrap();
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let (screen, list) = (Arc::new(Screen::default()), Arc::new(List::default()));
    let observer = client.observe_conversation(&conv.id, 50, screen.listener()).unwrap();
    let _list = client.observe_conversations(list.listener()).unwrap();
    screen.ready().await;
    wait_for("the list snapshot", 30, || list.state.lock().unwrap().is_some().then_some(())).await;
    wait_online(&client, 30).await;

    let echo = client.send(&conv.id, "my order never arrived").unwrap();
    wait_for("the message stored by the server", 30, || {
        (screen.deliveries().last() == Some(&Delivery::Sent)).then_some(())
    })
    .await;
    let item = screen.now().messages.into_iter().last().unwrap();
    assert_eq!(item.id, echo.local_id, "one id from local echo to server copy");
    let seq = item.message.seq.unwrap();

    let http = server.http();
    let _: Option<serde_json::Value> = http
        .post(&format!("/v1/agent/conversations/{}/read", conv.id), Some(AGENT), Some(&json!({ "seq": seq })))
        .await
        .ok();
    wait_for("read by the team", 30, || (screen.deliveries().last() == Some(&Delivery::ReadByTeam)).then_some(()))
        .await;

    http.post::<_, serde_json::Value>(
        &format!("/v1/agent/conversations/{}/typing", conv.id),
        Some(AGENT),
        Some(&json!({ "typing": true })),
    )
    .await
    .ok();
    wait_for("the team typing", 30, || (!screen.now().details.typing.is_empty()).then_some(())).await;
    agent_reply(&http, AGENT, &conv.id, "Sorry about that, let me check.").await;
    wait_for("the reply", 30, || {
        let s = screen.now();
        (s.messages.last().is_some_and(|m| m.delivery == Delivery::Received) && s.details.unread_count == 1)
            .then_some(())
    })
    .await;
    let state = screen.now();
    assert_eq!(state.messages.last().unwrap().message.author.kind, AuthorKind::Agent);
    assert_eq!(state.details.typing, [], "the agent's message ends their typing (it does not wait for its expiry)");
    assert_eq!(state.details.team_available, Some(true));
    assert!(!state.details.title.is_empty());

    wait_for("the list row", 30, || {
        let l = list.now();
        let row = l.rows.iter().find(|r| r.conversation_id == conv.id)?;
        (row.last_message.as_ref()?.preview == "Sorry about that, let me check." && l.total_unread == 1).then_some(())
    })
    .await;
    client.mark_read(&conv.id, None).unwrap();
    wait_for("the unread count cleared", 30, || {
        (screen.now().details.unread_count == 0 && list.now().total_unread == 0).then_some(())
    })
    .await;

    // Joining now gives the same state as following every change.
    let late = Arc::new(Screen::default());
    let _late = client.observe_conversation(&conv.id, 50, late.listener()).unwrap();
    late.ready().await;
    wait_for("both screens agree", 30, || {
        let (a, b) = (screen.now(), late.now());
        (a.messages == b.messages && a.details.unread_count == b.details.unread_count).then_some(())
    })
    .await;
    drop(observer);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_shows_failed_with_the_reason() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    // The chatflow list is not cached: the local consent gate cannot know, the server refuses.
    let conv = client.open_conversation(FLOW_BILLING_EXPLICIT).await.unwrap();
    let screen = Arc::new(Screen::default());
    let _observer = client.observe_conversation(&conv.id, 50, screen.listener()).unwrap();
    screen.ready().await;
    client.send(&conv.id, "about my invoice").unwrap();
    let delivery =
        wait_for("the refusal", 30, || screen.deliveries().into_iter().find(|d| matches!(d, Delivery::Failed { .. })))
            .await;
    assert!(
        matches!(delivery, Delivery::Failed { code: ErrorCode::ConsentRequired, ref message } if !message.is_empty()),
        "{delivery:?}"
    );
    assert_eq!(screen.now().details.team_available, None, "the chatflow is not cached");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn earlier_messages_load_into_the_state_on_demand() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let http = server.http();
    for i in 0..12 {
        agent_reply(&http, AGENT, &conv.id, &format!("note {i}")).await;
    }
    let screen = Arc::new(Screen::default());
    let observer = client.observe_conversation(&conv.id, 5, screen.listener()).unwrap();
    screen.ready().await;
    wait_for("the latest five", 30, || {
        let s = screen.now();
        (s.messages.last().is_some_and(|m| m.message.body == "note 11") && s.messages.len() == 5).then_some(())
    })
    .await;
    assert!(screen.now().details.has_earlier);
    observer.load_earlier(20).unwrap();
    wait_for("every message", 30, || {
        let s = screen.now();
        (!s.details.has_earlier).then_some(s.messages.len())
    })
    .await;
    let bodies: Vec<String> = screen.now().messages.iter().map(|m| m.message.body.clone()).collect();
    let notes: Vec<String> = bodies.iter().filter(|b| b.starts_with("note ")).cloned().collect();
    assert_eq!(notes, (0..12).map(|i| format!("note {i}")).collect::<Vec<_>>());
}
