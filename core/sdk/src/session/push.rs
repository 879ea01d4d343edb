//! Recognising our push notifications. The app's push handler receives every notification of the app; it hands the
//! data payload (string map, as FCM and APNs custom keys deliver it) to [`parse_push`], which says whether it is ours
//! and which conversation to open.

use std::collections::HashMap;

use chatflow_protocol::push_keys;

/// What a push payload means for the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// Ours: open this conversation (of this chatflow, when the payload names it).
    Conversation { conversation_id: String, chatflow_id: Option<i64>, seq: Option<u64> },
    /// Not one of ours (or a malformed one of ours: then the app should not open anything either).
    NotOurs,
}

/// Reads a push payload. Pure: no store, no network, usable from a notification extension.
pub fn parse_push(payload: &HashMap<String, String>) -> PushTarget {
    if payload.get(push_keys::SOURCE).map(String::as_str) != Some(push_keys::SOURCE_VALUE) {
        return PushTarget::NotOurs;
    }
    let Some(conversation_id) = payload.get(push_keys::CONVERSATION_ID).map(|s| s.trim()).filter(|s| !s.is_empty())
    else {
        tracing::warn!("a chatflow push payload without a conversation id was ignored");
        return PushTarget::NotOurs;
    };
    PushTarget::Conversation {
        conversation_id: conversation_id.to_owned(),
        chatflow_id: payload.get(push_keys::CHATFLOW_ID).and_then(|s| s.trim().parse().ok()),
        seq: payload.get(push_keys::SEQ).and_then(|s| s.trim().parse().ok()),
    }
}

impl crate::client::ChatClient {
    /// See [`parse_push`].
    pub fn parse_push(&self, payload: &HashMap<String, String>) -> PushTarget {
        parse_push(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn table() {
        let ours = |c: &str, f: Option<i64>, s: Option<u64>| PushTarget::Conversation {
            conversation_id: c.into(),
            chatflow_id: f,
            seq: s,
        };
        let cases = [
            (map(&[]), PushTarget::NotOurs),
            (map(&[("title", "Sale!"), ("cf_conversation_id", "c1")]), PushTarget::NotOurs),
            (map(&[("cf_source", "other"), ("cf_conversation_id", "c1")]), PushTarget::NotOurs),
            (map(&[("cf_source", "chatflow")]), PushTarget::NotOurs),
            (map(&[("cf_source", "chatflow"), ("cf_conversation_id", "  ")]), PushTarget::NotOurs),
            (map(&[("cf_source", "chatflow"), ("cf_conversation_id", "c1")]), ours("c1", None, None)),
            (
                map(&[
                    ("cf_source", "chatflow"),
                    ("cf_conversation_id", "c1"),
                    ("cf_chatflow_id", "7"),
                    ("cf_seq", "12"),
                ]),
                ours("c1", Some(7), Some(12)),
            ),
            (
                map(&[
                    ("cf_source", "chatflow"),
                    ("cf_conversation_id", "c1"),
                    ("cf_chatflow_id", "x"),
                    ("cf_seq", "-1"),
                ]),
                ours("c1", None, None),
            ),
        ];
        for (payload, expected) in cases {
            assert_eq!(parse_push(&payload), expected, "{payload:?}");
        }
    }
}
