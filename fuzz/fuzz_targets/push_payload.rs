//! Push payloads: the app hands every notification to the SDK — an FCM data map (`parse_push`) or an APNs `userInfo`
//! as JSON text (`parse_push_json`). Never a panic, and a payload is read as ours only when it says so and names a
//! conversation.
//!
//! Input: the bytes go to `parse_push_json` as they are; they also become a string map for `parse_push` (a JSON
//! object of strings, else `key=value` lines). When the bytes are a JSON object of strings, both readers agree.
#![no_main]

use std::collections::HashMap;

use chatflow_core::protocol::push_keys;
use chatflow_core::session::{parse_push, parse_push_json, PushTarget};
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
    let from_json = parse_push_json(&String::from_utf8_lossy(data));
    if let Ok(strings) = serde_json::from_slice::<HashMap<String, String>>(data) {
        assert_eq!(parse_push(&strings), from_json, "the FCM and APNs readers disagree on a map of strings");
    }
    let payload = payload(data);
    match parse_push(&payload) {
        PushTarget::Conversation { conversation_id, .. } => {
            // Values are read with surrounding white space trimmed, the source too.
            assert_eq!(payload.get(push_keys::SOURCE).map(|s| s.trim()), Some(push_keys::SOURCE_VALUE));
            let sent = payload.get(push_keys::CONVERSATION_ID).map(|s| s.trim());
            assert!(!conversation_id.is_empty() && sent == Some(conversation_id.as_str()));
        }
        PushTarget::NotOurs => {}
    }
});
