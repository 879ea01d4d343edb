//! Recognising our push notifications. The app's push handler receives every notification of the app and hands the
//! payload to us, as the platform delivers it:
//!
//! - Android: an FCM data message, `RemoteMessage.data` — a flat map of strings → [`parse_push`].
//! - iOS: the notification's `userInfo` — the APNs JSON object, with Apple's `aps` dictionary and our keys beside it at
//!   the top level, their values any JSON type (the facade serialises it back to JSON text) → [`parse_push_json`].
//!
//! Both say whether the notification is ours and which conversation to open. Anything else (another SDK's push, a
//! malformed payload, text that is not JSON) is [`PushTarget::NotOurs`]: never an error, never a panic.
//!
//! [`ChatClient::handle_push`](crate::client::ChatClient::handle_push) goes further (`handle`): it catches that
//! conversation up from the server and returns what the notification should show.

use std::collections::HashMap;

use chatflow_protocol::push_keys;
use serde_json::Value;

mod handle;

pub use handle::{PushHandling, PushNotification, PushSync};

/// What a push payload means for the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// Ours: open this conversation (of this chatflow, when the payload names it).
    Conversation { conversation_id: String, chatflow_id: Option<i64>, seq: Option<i64> },
    /// Not one of ours (or a malformed one of ours: then the app should not open anything either).
    NotOurs,
}

/// Everything one of our payloads says ([`PushTarget`] is the part `parse_push` returns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PushPayload {
    pub conversation_id: String,
    pub chatflow_id: Option<i64>,
    pub seq: Option<i64>,
    /// `cf_sender_name`: the author's display name.
    pub sender_name: Option<String>,
    /// `cf_unread`: the visitor's unread count in the conversation when the server sent it.
    pub unread: Option<i32>,
    /// `cf_preview`: the message text, present only when the app enabled previews.
    pub preview: Option<String>,
}

impl PushPayload {
    fn target(self) -> PushTarget {
        PushTarget::Conversation { conversation_id: self.conversation_id, chatflow_id: self.chatflow_id, seq: self.seq }
    }
}

/// Reads a flat string payload (an FCM data message). Pure: no store, no network, usable without a client.
pub fn parse_push(payload: &HashMap<String, String>) -> PushTarget {
    payload_of_map(payload).map_or(PushTarget::NotOurs, PushPayload::target)
}

/// Reads a payload given as the text of a JSON object (an APNs `userInfo`): our keys at its top level, beside `aps`;
/// their values may be strings or numbers (`"cf_seq": 12` and `"cf_seq": "12"` mean the same). Pure, like
/// [`parse_push`].
pub fn parse_push_json(payload: &str) -> PushTarget {
    payload_of_json(payload).map_or(PushTarget::NotOurs, PushPayload::target)
}

pub(crate) fn payload_of_map(payload: &HashMap<String, String>) -> Option<PushPayload> {
    read(|key| payload.get(key).map(|v| PushValue::Text(v)))
}

pub(crate) fn payload_of_json(payload: &str) -> Option<PushPayload> {
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(payload) else {
        return None;
    };
    read(|key| match object.get(key)? {
        Value::String(s) => Some(PushValue::Text(s)),
        Value::Number(n) => Some(PushValue::Number(n)),
        _ => None,
    })
}

/// A value of one of our keys, as a payload carries it.
enum PushValue<'a> {
    Text(&'a str),
    Number(&'a serde_json::Number),
}

impl PushValue<'_> {
    fn text(&self) -> Option<&str> {
        match self {
            PushValue::Text(s) => Some(s.trim()),
            PushValue::Number(_) => None,
        }
    }

    /// The id as text: a number is written the way JSON wrote it (`42` → "42").
    fn id(&self) -> String {
        match self {
            PushValue::Text(s) => s.trim().to_owned(),
            PushValue::Number(n) => n.to_string(),
        }
    }

    /// A non-negative integer (ids, sequence numbers and counts are never negative) that fits `T`.
    fn int<T: TryFrom<u64>>(&self) -> Option<T> {
        let n = match self {
            PushValue::Text(s) => s.trim().parse::<u64>().ok(),
            PushValue::Number(n) => n.as_u64(), // a fraction or a negative number is not an id
        };
        n.and_then(|n| T::try_from(n).ok())
    }
}

fn read<'a>(get: impl Fn(&str) -> Option<PushValue<'a>>) -> Option<PushPayload> {
    if get(push_keys::SOURCE).as_ref().and_then(PushValue::text) != Some(push_keys::SOURCE_VALUE) {
        return None;
    }
    let Some(conversation_id) = get(push_keys::CONVERSATION_ID).map(|v| v.id()).filter(|s| !s.is_empty()) else {
        tracing::warn!("a chatflow push payload without a conversation id was ignored");
        return None;
    };
    // Display texts: a value that is not a string, or only spaces, counts as absent.
    let text = |key| get(key).as_ref().and_then(PushValue::text).filter(|s| !s.is_empty()).map(str::to_owned);
    Some(PushPayload {
        conversation_id,
        chatflow_id: get(push_keys::CHATFLOW_ID).and_then(|v| v.int()),
        seq: get(push_keys::SEQ).and_then(|v| v.int()),
        sender_name: text(push_keys::SENDER_NAME),
        unread: get(push_keys::UNREAD).and_then(|v| v.int()),
        preview: text(push_keys::PREVIEW),
    })
}

impl crate::client::ChatClient {
    /// See [`parse_push`].
    pub fn parse_push(&self, payload: &HashMap<String, String>) -> PushTarget {
        parse_push(payload)
    }

    /// See [`parse_push_json`].
    pub fn parse_push_json(&self, payload: &str) -> PushTarget {
        parse_push_json(payload)
    }
}

#[cfg(test)]
mod tests;
