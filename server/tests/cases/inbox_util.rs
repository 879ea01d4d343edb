//! Helpers of the inbox, routing and ticket cases.

use chatflow_protocol::{ClientFrame, ServerFrame};
use serde_json::{json, Value};

use crate::support::*;

/// 2024-03-01T09:00:00Z: the instant fake-clock cases start at.
pub const T0: i64 = 1_709_283_600_000;
pub const MINUTE: i64 = 60_000;

/// `GET /v1/agent/conversations{query}` as `agent`.
pub async fn inbox(api: &Api, agent: &str, query: &str) -> Reply {
    api.get(&format!("/v1/agent/conversations{query}"), Some(agent)).await
}

/// Conversation ids of an inbox page (asserting it is a 200).
pub async fn inbox_ids(api: &Api, agent: &str, query: &str) -> Vec<String> {
    let r = inbox(api, agent, query).await;
    assert_eq!(r.status, 200, "{query}: {:?}", r.body);
    r.body["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["conversation"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The inbox row of one conversation.
pub async fn row(api: &Api, agent: &str, conversation: &str) -> Value {
    let r = api.get(&format!("/v1/agent/conversations/{conversation}"), Some(agent)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// `METHOD /v1/agent/conversations/{conversation}{suffix}` as `agent`.
pub async fn act(api: &Api, agent: &str, method: &str, conversation: &str, suffix: &str, body: Option<Value>) -> Reply {
    api.call(method, &format!("/v1/agent/conversations/{conversation}{suffix}"), Some(agent), body).await
}

pub async fn assign(api: &Api, agent: &str, conversation: &str, to: Option<&str>) -> Reply {
    act(api, agent, "POST", conversation, "/assign", Some(json!({ "agent_id": to }))).await
}

/// A new visitor of Acme with these chat properties.
pub async fn visitor_with(api: &Api, properties: Value) -> (String, String) {
    let (id, token) = api.visitor(ACME).await;
    let r = api.call("PUT", "/v1/visitor/properties", Some(&token), Some(json!({ "properties": properties }))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    (id, token)
}

pub async fn set_clock(api: &Api, now_ms: i64) {
    let r = api.call("PUT", "/v1/admin/clock", Some(ACME_ADMIN), Some(json!({ "now_ms": now_ms }))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

pub async fn set_presence(api: &Api, agent: &str, available: bool) {
    let r = api.call("PUT", "/v1/agent/presence", Some(agent), Some(json!({ "available": available }))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// Opens a conversation and returns its JSON.
pub async fn open_json(api: &Api, token: &str, chatflow: i64) -> Value {
    let r = api.call("POST", "/v1/conversations", Some(token), Some(json!({ "chatflow_id": chatflow }))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body
}

/// Creates (admin API) a `bot` chatflow that asks two questions before handing off, routed to `agent_ids`.
pub async fn bot_chatflow(api: &Api, agent_ids: &[&str]) -> i64 {
    let input = json!({
        "name": "Helper bot", "kind": "bot", "enabled": true, "priority": 1, "mobile_tags": ["helper"],
        "language": "en", "welcome_message": "Hi!", "header": {"display_name": "Helper"},
        "email_capture": {"mode": "never"},
        "routing": {"mode": "specific", "agent_ids": agent_ids, "available_agents_only": false},
        "availability": {"mode": "always", "when_away": "away_message", "away_message": "Away"},
        "knowledge_base": {"enabled": false}, "consent": {"process_data": {"mode": "off"}},
        "bot": {"session_timeout_minutes": 600, "message_delay_ms": 0, "display_name": "Helper bot", "flow": {
            "start": "first",
            "nodes": [
                {"id": "first", "action": "ask", "text": "What do you need?", "allow_free_text": true, "next": "second"},
                {"id": "second", "action": "ask", "text": "Anything else?", "allow_free_text": true, "next": "human"},
                {"id": "human", "action": "handoff", "text": "Getting someone."}
            ]
        }}
    });
    let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(input)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_i64().unwrap()
}

/// A socket that has said hello and is subscribed (a ping round-trip proves it).
pub async fn ready_ws(server: &TestServer, token: &str) -> Ws {
    let mut ws = Ws::connect(server, token).await;
    assert!(matches!(ws.recv().await, ServerFrame::Hello { .. }));
    ws.send(&ClientFrame::Ping { nonce: 7 }).await;
    loop {
        if ws.recv().await == (ServerFrame::Pong { nonce: 7 }) {
            return ws;
        }
    }
}

/// The next frame that is not a `message` / `typing` frame (bot chatter is skipped).
pub async fn next_state_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        match ws.recv().await {
            ServerFrame::Message { .. } | ServerFrame::Typing { .. } => continue,
            other => return other,
        }
    }
}
