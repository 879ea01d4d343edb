//! Helpers shared by the sync tests (`sync_*.rs`): bounded waits, an event recorder, and server-side views through
//! the real REST API.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatflow_core::client::ChatClient;
use chatflow_core::events::{ChatEvent, ConnectionState, EventListener};
use chatflow_core::model::{ChatMessage, MessageState};
use chatflow_core::protocol::{AuthorKind, Message, MessagePage};
use chatflow_core::transport::{Fetched, HttpClient};
use serde_json::json;

/// Polls `f` every 20 ms until it returns `Some`, for at most `secs` seconds (a ceiling for background work, not a
/// timing assertion); panics with `what` otherwise.
pub async fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let rounds = secs * 50;
    for _ in 0..rounds {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f().unwrap_or_else(|| panic!("timed out after {secs}s waiting for {what}"))
}

/// Records every event a subscription delivers.
#[derive(Default)]
pub struct Recorder {
    pub events: Mutex<Vec<ChatEvent>>,
}

impl EventListener for Recorder {
    fn on_event(&self, event: ChatEvent) {
        self.events.lock().unwrap().push(event);
    }
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder::default())
    }

    pub fn snapshot(&self) -> Vec<ChatEvent> {
        self.events.lock().unwrap().clone()
    }

    pub fn any(&self, pred: impl Fn(&ChatEvent) -> bool) -> bool {
        self.events.lock().unwrap().iter().any(pred)
    }
}

pub async fn wait_online(client: &ChatClient, secs: u64) {
    wait_for("the connection to be online", secs, || {
        (client.connection_state() == ConnectionState::Online).then_some(())
    })
    .await;
}

/// Every message of a conversation on the server, ascending (REST `after_seq` pages).
pub async fn server_messages(http: &HttpClient, token: &str, conversation_id: &str) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for _ in 0..10_000 {
        let after = out.last().map_or(0, |m| m.seq);
        let path = format!("/v1/conversations/{conversation_id}/messages?after_seq={after}&limit=500");
        let page: MessagePage = match http.get(&path, Some(token), None).await.expect("server page") {
            Fetched::Fresh { body, .. } => body,
            Fetched::NotModified => panic!("304 on a plain GET"),
        };
        let more = page.has_more;
        out.extend(page.messages);
        if !more {
            break;
        }
    }
    out
}

/// Visitor messages only (the server may add welcome or system messages).
pub fn visitor_only(messages: &[Message]) -> Vec<&Message> {
    messages.iter().filter(|m| m.author.kind == AuthorKind::Visitor).collect()
}

/// An agent reply through the agent API.
pub async fn agent_reply(http: &HttpClient, agent_token: &str, conversation_id: &str, body: &str) -> Message {
    http.post(
        &format!("/v1/agent/conversations/{conversation_id}/messages"),
        Some(agent_token),
        Some(&json!({ "body": body })),
    )
    .await
    .expect("agent reply")
}

/// Every message the client store holds for a conversation, confirmed and local, via the public API.
pub async fn local_messages(client: &ChatClient, conversation_id: &str) -> Vec<ChatMessage> {
    client.messages(conversation_id, None, 500).await.expect("local messages")
}

pub fn all_sent(messages: &[ChatMessage]) -> bool {
    messages.iter().all(|m| m.state == MessageState::Sent && m.seq.is_some())
}

/// Confirmed messages of a conversation straight from the store (all of them, no paging limit).
pub fn stored_confirmed(client: &ChatClient, conversation_id: &str) -> Vec<ChatMessage> {
    client
        .store()
        .read(|c| chatflow_core::sync::tables::messages::confirmed_after(c, conversation_id, 0))
        .expect("stored messages")
}

pub fn outbox_len(client: &ChatClient) -> i64 {
    client.store().read(|c| Ok(c.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?)).unwrap()
}
