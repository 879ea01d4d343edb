//! The events the processes exchange, as JSON notification payloads.

use chatflow_protocol::ServerFrame;
use serde::{Deserialize, Serialize};

use crate::agent_feed::FeedFrame;

/// What one process tells the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A frame for every socket of the visitor.
    Visitor { visitor_id: String, frame: ServerFrame },
    /// A stored message too large for a notification: the receiver reads it back from the database.
    StoredMessage { visitor_id: String, conversation_id: String, seq: u64 },
    /// End every socket of the visitor (its session is gone).
    Kick { visitor_id: String },
    /// The visitor's typing state on a conversation (agents read it with the conversation).
    VisitorTyping { conversation_id: String, typing: bool, ttl_ms: u64 },
    /// Feed events up to `last` were committed for `apps`: wake those apps' feed sockets.
    FeedCommitted { apps: Vec<String>, last: i64 },
    /// A live-only feed frame (typing, presence) for every feed socket of the app.
    FeedLive { app_id: String, frame: FeedFrame },
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Envelope {
    /// The publishing process (a process ignores its own events: it delivered them already).
    pub node: String,
    pub event: Event,
}

/// The payload for `event`, at most `max` bytes: a message frame that does not fit travels as a reference to the
/// stored message; any other event that does not fit is dropped (with a warning).
pub fn encode(node: &str, event: Event, max: usize) -> Option<String> {
    let payload = serde_json::to_string(&Envelope { node: node.to_owned(), event: event.clone() }).ok()?;
    if payload.len() <= max {
        return Some(payload);
    }
    let Event::Visitor { visitor_id, frame: ServerFrame::Message { message } } = event else {
        tracing::warn!(bytes = payload.len(), "cluster bus: an event too large for a notification was dropped");
        return None;
    };
    let reference = Event::StoredMessage { visitor_id, conversation_id: message.conversation_id, seq: message.seq };
    serde_json::to_string(&Envelope { node: node.to_owned(), event: reference }).ok()
}

#[cfg(test)]
mod tests {
    use chatflow_protocol::{Author, AuthorKind, Message};

    use super::*;

    fn message(body: &str) -> Event {
        Event::Visitor {
            visitor_id: "v1".into(),
            frame: ServerFrame::Message {
                message: Message {
                    conversation_id: "c1".into(),
                    seq: 7,
                    client_message_id: None,
                    author: Author { kind: AuthorKind::Agent, id: None, display_name: None, avatar_url: None },
                    body: body.into(),
                    created_at: 1,
                    quick_replies: vec![],
                    quick_reply_id: None,
                    survey: None,
                    attachments: vec![],
                },
            },
        }
    }

    #[test]
    fn events_round_trip_and_a_large_message_travels_as_a_reference() {
        let small = encode("n1", message("hello"), 7900).unwrap();
        let back: Envelope = serde_json::from_str(&small).unwrap();
        assert_eq!((back.node.as_str(), back.event), ("n1", message("hello")));
        let large = encode("n1", message(&"é".repeat(5000)), 7900).unwrap();
        assert!(large.len() < 200, "{large}");
        let back: Envelope = serde_json::from_str(&large).unwrap();
        assert_eq!(back.event, Event::StoredMessage { visitor_id: "v1".into(), conversation_id: "c1".into(), seq: 7 });
        let typing = Event::FeedLive {
            app_id: "a".into(),
            frame: FeedFrame::Typing { conversation_id: "c".repeat(9000), typing: true },
        };
        assert_eq!(encode("n1", typing, 7900), None, "other events too large are dropped");
    }
}
