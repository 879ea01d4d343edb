//! What a push carries (docs/protocol.md, "Push"): our keys at top level — `cf_source`, `cf_conversation_id`,
//! `cf_chatflow_id`, `cf_seq`, `cf_sender_name`, `cf_unread`, and `cf_preview` only when the app enabled previews —
//! in an FCM data message (strings) or beside `aps` in an APNs payload (numbers for `cf_seq` and `cf_unread`).

use chatflow_protocol::push_keys as keys;
use serde_json::{json, Map, Value};

use crate::store::push::PushContent;

/// Longest preview: a notification shows a couple of lines, and APNs caps the whole payload at 4 KB.
pub const MAX_PREVIEW_CHARS: usize = 500;

/// One push, ready for either provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    pub conversation_id: String,
    pub chatflow_id: i64,
    pub seq: u64,
    pub sender_name: String,
    pub unread: u64,
    pub unread_total: u64,
    pub preview: Option<String>,
    /// The chatflow's language: the generic line when there is no preview.
    pub language: String,
}

impl Push {
    pub fn new(conversation_id: &str, seq: u64, content: PushContent, previews: bool) -> Self {
        let preview = previews.then(|| truncate(&content.body, MAX_PREVIEW_CHARS));
        Push {
            conversation_id: conversation_id.to_owned(),
            chatflow_id: content.chatflow_id,
            seq,
            sender_name: content.sender_name,
            unread: content.unread,
            unread_total: content.unread_total,
            preview,
            language: content.language,
        }
    }

    /// The `message` of an FCM HTTP v1 send request for `token`.
    pub fn fcm_message(&self, token: &str) -> Value {
        let mut data = Map::new();
        data.insert(keys::SOURCE.into(), keys::SOURCE_VALUE.into());
        data.insert(keys::CONVERSATION_ID.into(), self.conversation_id.clone().into());
        data.insert(keys::CHATFLOW_ID.into(), self.chatflow_id.to_string().into());
        data.insert(keys::SEQ.into(), self.seq.to_string().into());
        data.insert(keys::SENDER_NAME.into(), self.sender_name.clone().into());
        data.insert(keys::UNREAD.into(), self.unread.to_string().into());
        if let Some(p) = &self.preview {
            data.insert(keys::PREVIEW.into(), p.clone().into());
        }
        json!({
            "message": {
                "token": token,
                "data": data,
                "android": { "priority": "HIGH", "collapse_key": self.conversation_id },
            }
        })
    }

    /// The APNs JSON payload.
    pub fn apns_payload(&self) -> Value {
        let body = self.preview.clone().unwrap_or_else(|| generic_line(&self.language).to_owned());
        let mut out = Map::new();
        out.insert(
            "aps".into(),
            json!({
                "alert": { "title": self.sender_name, "body": body },
                "badge": self.unread_total,
                "sound": "default",
                "mutable-content": 1,
                "thread-id": self.conversation_id,
            }),
        );
        out.insert(keys::SOURCE.into(), keys::SOURCE_VALUE.into());
        out.insert(keys::CONVERSATION_ID.into(), self.conversation_id.clone().into());
        out.insert(keys::CHATFLOW_ID.into(), self.chatflow_id.to_string().into());
        out.insert(keys::SEQ.into(), self.seq.into());
        out.insert(keys::SENDER_NAME.into(), self.sender_name.clone().into());
        out.insert(keys::UNREAD.into(), self.unread.into());
        if let Some(p) = &self.preview {
            out.insert(keys::PREVIEW.into(), p.clone().into());
        }
        Value::Object(out)
    }
}

/// The alert body when previews are off, in the chatflow's language (English for the others).
pub fn generic_line(language: &str) -> &'static str {
    let primary = language.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    match primary.as_str() {
        "fr" => "Vous avez un nouveau message",
        "es" => "Tienes un mensaje nuevo",
        "de" => "Sie haben eine neue Nachricht",
        "it" => "Hai un nuovo messaggio",
        "pt" => "Você tem uma nova mensagem",
        "nl" => "Je hebt een nieuw bericht",
        _ => "You have a new message",
    }
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(previews: bool, language: &str) -> Push {
        let content = PushContent {
            chatflow_id: 7,
            language: language.into(),
            sender_name: "Camille".into(),
            body: "Votre colis est parti".into(),
            unread: 2,
            unread_total: 3,
        };
        Push::new("conv-1", 12, content, previews)
    }

    #[test]
    fn fcm_data_is_all_strings_and_the_preview_only_when_enabled() {
        let m = push(true, "fr").fcm_message("tok");
        let data = m["message"]["data"].as_object().unwrap();
        assert!(data.values().all(Value::is_string));
        assert_eq!(data["cf_seq"], "12");
        assert_eq!(data["cf_unread"], "2");
        assert_eq!(data["cf_preview"], "Votre colis est parti");
        assert_eq!(m["message"]["android"], json!({"priority": "HIGH", "collapse_key": "conv-1"}));
        assert!(push(false, "fr").fcm_message("tok")["message"]["data"].get("cf_preview").is_none());
    }

    #[test]
    fn apns_alert_uses_the_chatflow_language_without_previews() {
        let p = push(false, "fr-CA").apns_payload();
        assert_eq!(p["aps"]["alert"]["body"], "Vous avez un nouveau message");
        assert_eq!(p["aps"]["alert"]["title"], "Camille");
        assert_eq!(p["aps"]["badge"], 3);
        assert_eq!(p["cf_seq"], 12);
        assert!(p.get("cf_preview").is_none());
        assert_eq!(push(false, "ja").apns_payload()["aps"]["alert"]["body"], "You have a new message");
        assert_eq!(push(true, "en").apns_payload()["aps"]["alert"]["body"], "Votre colis est parti");
        assert_eq!(truncate("ééé", 2), "éé…");
    }
}
