//! Push payloads (`parse_push`): the app hands every notification's data map to the SDK. Never a panic, and a payload
//! is read as ours only when it says so and names a conversation.
//!
//! Input: a JSON object of strings (the shape FCM data and APNs custom keys arrive in); anything else is read as
//! `key=value` lines. The call is kept thin so the target follows `parse_push` when its input type changes.
#![no_main]

use std::collections::HashMap;

use chatflow_core::protocol::push_keys;
use chatflow_core::session::{parse_push, PushTarget};
use libfuzzer_sys::fuzz_target;

fn payload(data: &[u8]) -> HashMap<String, String> {
    if let Ok(map) = serde_json::from_slice::<HashMap<String, String>>(data) {
        return map;
    }
    String::from_utf8_lossy(data)
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let payload = payload(data);
    match parse_push(&payload) {
        PushTarget::Conversation { conversation_id, .. } => {
            assert_eq!(payload.get(push_keys::SOURCE).map(String::as_str), Some(push_keys::SOURCE_VALUE));
            let sent = payload.get(push_keys::CONVERSATION_ID).map(|s| s.trim());
            assert!(!conversation_id.is_empty() && sent == Some(conversation_id.as_str()));
        }
        PushTarget::NotOurs => {}
    }
});
