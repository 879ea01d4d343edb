use chatflow_protocol::{Author, AuthorKind};

use super::*;
use crate::model::MessageState;

fn payload() -> PushPayload {
    PushPayload {
        conversation_id: "c1".into(),
        chatflow_id: Some(7),
        seq: Some(12),
        sender_name: Some("Lena".into()),
        unread: Some(3),
        preview: Some("Your refund is on its way".into()),
    }
}

fn message(seq: u64, author: Option<&str>, body: &str) -> ChatMessage {
    ChatMessage {
        local_id: seq as i64,
        conversation_id: "c1".into(),
        seq: Some(seq as i64),
        client_message_id: None,
        author: Author {
            kind: AuthorKind::Agent,
            id: Some("a1".into()),
            display_name: author.map(str::to_owned),
            avatar_url: None,
        },
        body: body.into(),
        quick_replies: Vec::new(),
        quick_reply_id: None,
        created_at: 0,
        state: MessageState::Sent,
        survey: None,
        attachments: Vec::new(),
    }
}

fn caught_up() -> PushSync {
    PushSync::CaughtUp { received: 1 }
}

fn offline() -> PushSync {
    PushSync::Offline { message: "network: connection refused".into() }
}

fn stored(announced: Option<ChatMessage>, unread: i32) -> LocalView {
    LocalView {
        announced: announced.clone(),
        newest_from_team: announced,
        unread: Some(unread),
        chatflow_id: Some(7),
        header_name: Some("Acme Support".into()),
        language: Some("en".into()),
    }
}

#[test]
fn caught_up_reads_the_store_and_offline_reads_the_payload() {
    let store = stored(Some(message(12, Some("Lena B."), "Refund sent: 42 EUR")), 4);
    let n = compose(payload(), store.clone(), caught_up());
    assert_eq!((n.title.as_str(), n.body.as_str(), n.unread_count), ("Lena", "Refund sent: 42 EUR", 4));
    assert_eq!((n.conversation_id.as_str(), n.chatflow_id, n.seq), ("c1", Some(7), Some(12)));
    assert_eq!(n.sync, caught_up());

    // Offline with nothing new stored: the payload's preview and unread count.
    let n = compose(payload(), stored(None, 1), offline());
    assert_eq!((n.title.as_str(), n.body.as_str(), n.unread_count), ("Lena", "Your refund is on its way", 3));
    assert_eq!(n.sync, offline());

    // Offline, but the socket had already stored the announced message: its text wins over the preview.
    let n = compose(payload(), store, offline());
    assert_eq!((n.body.as_str(), n.unread_count), ("Refund sent: 42 EUR", 3));
}

#[test]
fn title_falls_back_to_the_author_then_the_header_then_a_generic_line() {
    let no_name = PushPayload { sender_name: None, ..payload() };
    let store = stored(Some(message(12, Some("Lena B."), "hi")), 1);
    assert_eq!(compose(no_name.clone(), store, caught_up()).title, "Lena B.");
    let store = stored(Some(message(12, Some("  "), "hi")), 1);
    assert_eq!(compose(no_name.clone(), store, caught_up()).title, "Acme Support");
    let bare = LocalView { header_name: None, language: Some("fr-CA".into()), ..LocalView::default() };
    assert_eq!(compose(no_name.clone(), bare, offline()).title, "Nouveau message");
    assert_eq!(compose(no_name, LocalView::default(), offline()).title, "New message");
}

#[test]
fn body_without_text_anywhere_is_a_generic_line_in_the_chatflow_language() {
    let bare = PushPayload { preview: None, unread: None, sender_name: None, ..payload() };
    for (language, body) in [
        (Some("fr"), "Ouvrez la conversation pour le lire."),
        (Some("FR_fr"), "Ouvrez la conversation pour le lire."),
        (Some("de"), "Open the chat to read it."),
        (None, "Open the chat to read it."),
    ] {
        let local = LocalView { language: language.map(str::to_owned), ..LocalView::default() };
        let n = compose(bare.clone(), local, offline());
        assert_eq!((n.body.as_str(), n.unread_count), (body, 0), "{language:?}");
    }
    // A stored message with an empty body (an attachment) does not make an empty notification.
    let local = stored(Some(message(12, None, "  ")), 2);
    assert_eq!(compose(bare, local, caught_up()).body, "Open the chat to read it.");
}

#[test]
fn without_a_seq_the_newest_team_message_is_used_only_once_caught_up() {
    let no_seq = PushPayload { seq: None, preview: None, ..payload() };
    let local = LocalView {
        newest_from_team: Some(message(9, None, "older reply")),
        unread: Some(1),
        language: Some("en".into()),
        ..LocalView::default()
    };
    assert_eq!(compose(no_seq.clone(), local.clone(), caught_up()).body, "older reply");
    // Offline it could be an older message than the one announced: not shown as if it were the new one.
    assert_eq!(compose(no_seq, local, offline()).body, "Open the chat to read it.");
}

#[test]
fn refused_and_no_session_still_describe_the_payload() {
    for sync in [PushSync::NoSession, PushSync::Refused { message: "not found".into() }] {
        let n = compose(payload(), LocalView::default(), sync.clone());
        assert_eq!((n.body.as_str(), n.unread_count, n.sync), ("Your refund is on its way", 3, sync));
    }
}

#[test]
fn the_chatflow_comes_from_the_store_when_the_payload_lacks_it() {
    let p = PushPayload { chatflow_id: None, ..payload() };
    assert_eq!(compose(p, stored(None, 0), offline()).chatflow_id, Some(7));
}

#[test]
fn payloads_with_the_new_keys() {
    let json = r#"{"aps": {"alert": {"title": "Lena", "body": "x"}, "badge": 5}, "cf_source": "chatflow",
        "cf_conversation_id": "c1", "cf_chatflow_id": 7, "cf_seq": 12, "cf_sender_name": " Lena ", "cf_unread": 3,
        "cf_preview": "Your refund is on its way"}"#;
    assert_eq!(payload_of_json(json), Some(payload()));
    let map: HashMap<String, String> = [
        ("cf_source", "chatflow"),
        ("cf_conversation_id", "c1"),
        ("cf_chatflow_id", "7"),
        ("cf_seq", "12"),
        ("cf_sender_name", "Lena"),
        ("cf_unread", "3"),
        ("cf_preview", "Your refund is on its way"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    assert_eq!(payload_of_map(&map), Some(payload()));
    // Wrong types or blanks count as absent, and never make the payload foreign.
    let odd = r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_sender_name": 5, "cf_unread": "many",
        "cf_preview": "   "}"#;
    let p = payload_of_json(odd).unwrap();
    assert_eq!((p.sender_name, p.unread, p.preview), (None, None, None));
    let negative = r#"{"cf_source": "chatflow", "cf_conversation_id": "c1", "cf_unread": -2}"#;
    assert_eq!(payload_of_json(negative).unwrap().unread, None);
}

#[test]
fn foreign_payloads_are_not_ours_without_a_client_call() {
    assert_eq!(payload_of_json("not json"), None);
    assert_eq!(payload_of_json(r#"{"aps": {}, "campaign": "sale"}"#), None);
    assert_eq!(payload_of_map(&HashMap::new()), None);
}

/// tests/bindings/fixtures/push/notifications.properties: what each payload gives on a device without a session
/// (the Kotlin and Swift tests check the same list).
#[tokio::test(flavor = "current_thread")]
async fn shared_fixtures_on_a_device_without_a_session() {
    let storage = tempfile::tempdir().unwrap();
    let config = crate::config::Config::from_json_str(
        r#"{"server_url":"http://127.0.0.1:9","app_id":"a","environment":"development","default_tag":"t"}"#,
    )
    .unwrap();
    let client = ChatClient::open(config, storage.path()).unwrap();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/bindings/fixtures/push");
    let expected = std::fs::read_to_string(dir.join("notifications.properties")).unwrap();
    let mut checked = 0;
    for line in expected.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let (file, outcome) = line.split_once('=').unwrap();
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        let handled = if file.ends_with(".properties") {
            let map = text
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .collect();
            client.handle_push(&map).await
        } else {
            client.handle_push_json(&text).await
        };
        let actual = match handled {
            PushHandling::NotOurs => "not-ours".to_owned(),
            PushHandling::Notification { notification: n } => {
                assert_eq!(n.sync, PushSync::NoSession, "{file}");
                format!("{}|{}|{}", n.title, n.body, n.unread_count)
            }
        };
        assert_eq!(actual, outcome, "{file}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} fixtures listed");
    assert!(client.session_info().is_none(), "a push created a visitor");
}
