//! End to end: the lazy anonymous visitor, identify + merge, switching users, logout and clear_user_data isolation.

mod support;

use std::collections::HashMap;

use chatflow_core::protocol::{DeviceInfo, ErrorCode, PushPlatform};
use chatflow_core::Error;
use support::*;

/// Puts a conversation and one message in the local store, as the sync layer would after a catch-up.
fn cache_conversation(client: &chatflow_core::client::ChatClient, id: &str) {
    client
        .store()
        .write(|tx| {
            tx.execute(
                "INSERT INTO conversations (id, chatflow_id, status, created_at) VALUES (?1, 1, 'open', 1)",
                [id],
            )?;
            tx.execute(
                "INSERT INTO messages (conversation_id, seq, author_kind, body, created_at, state)
                 VALUES (?1, 1, 'visitor', 'my secret order number', 1, 'sent')",
                [id],
            )?;
            Ok(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_anonymous_visitor_is_created_lazily_and_persisted() {
    let mut server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    assert!(client.session_info().is_none());
    // Setting device info and properties does not create a visitor.
    client
        .set_device_info(DeviceInfo { platform: "android".into(), locale: "fr-CA".into(), ..Default::default() })
        .await
        .unwrap();
    client.set_chat_properties(HashMap::from([("plan".into(), "gold".into())])).await.unwrap();
    assert!(client.session_info().is_none());

    let info = client.ensure_session().await.unwrap();
    let visitor_id = info.visitor_id.clone().expect("a visitor");
    assert_eq!(info.user_id, None);
    // The stored profile follows the new visitor to the server (in the background).
    let synced = eventually(|| {
        client.store().meta_get("visitor.synced.device").unwrap().is_some()
            && client.store().meta_get("visitor.synced.properties").unwrap().is_some()
    })
    .await;
    assert!(synced, "device and properties were not pushed to the new visitor");
    drop(client);

    // Reopened offline: the same visitor, no network needed.
    server.stop();
    let client = open(&server, dir.path());
    assert_eq!(client.session_info().unwrap().visitor_id, Some(visitor_id.clone()));
    assert_eq!(client.ensure_session().await.unwrap().visitor_id, Some(visitor_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_merges_and_switching_users_never_shows_the_previous_users_data() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.ensure_session().await.unwrap();
    let anon_conv = open_conversation(&client, &server, FLOW_SUPPORT_EN).await;
    cache_conversation(&client, &anon_conv);

    // Alice identifies: her anonymous conversation is merged and stays visible.
    let alice = client.identify(identity_token("alice", Some("alice@example.com"), 600), None).await.unwrap();
    assert!(!alice.pending && !alice.switched_user);
    assert_eq!(alice.merged_conversation_ids, vec![anon_conv.clone()]);
    assert_eq!(client.session_info().unwrap().user_id.as_deref(), Some("alice"));
    assert_eq!(count(&client, "conversations"), 1, "same user: the cache is kept");
    let alice_token = visitor_token(&client);
    assert_eq!(server_conversations(&server, &alice_token).await.unwrap(), vec![anon_conv.clone()]);
    client.register_push_token("fcm-token-123".into(), PushPlatform::Fcm).await.unwrap();
    assert!(eventually(|| client.store().meta_get("visitor.synced.push").unwrap().is_some()).await);

    // Bob identifies on the same device: Alice's rows are gone before anything of Bob's is shown.
    let bob = client.identify(identity_token("bob", None, 600), Some("bob@example.com".into())).await.unwrap();
    assert!(bob.switched_user && !bob.pending);
    assert!(bob.merged_conversation_ids.is_empty(), "nothing of Alice may be merged into Bob");
    for table in ["conversations", "messages", "outbox", "consents"] {
        assert_eq!(count(&client, table), 0, "{table} still holds Alice's rows");
    }
    let props = client.chat_properties().unwrap();
    assert_eq!(props.get("email").map(String::as_str), Some("bob@example.com"));
    let bob_token = visitor_token(&client);
    assert_ne!(bob_token, alice_token);
    assert!(server_conversations(&server, &bob_token).await.unwrap().is_empty());
    // Alice's push registration was removed from the server-side visitor (no cleanup left pending).
    assert_eq!(client.store().meta_get("device.pending_cleanup").unwrap(), None);

    // Alice comes back: the server still has her conversation (the merge was server-side).
    let again = client.identify(identity_token("alice", None, 600), None).await.unwrap();
    assert!(again.switched_user);
    assert_eq!(server_conversations(&server, &visitor_token(&client)).await.unwrap(), vec![anon_conv]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_wipes_the_visitor_and_the_next_session_is_a_new_anonymous_visitor() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.identify(identity_token("carol", None, 600), Some("carol@example.com".into())).await.unwrap();
    let first = client.session_info().unwrap().visitor_id.unwrap();
    let conv = open_conversation(&client, &server, FLOW_SUPPORT_EN).await;
    cache_conversation(&client, &conv);
    client.refresh_chatflows().await.unwrap();
    client.accept_consent(FLOW_BILLING_EXPLICIT, None).unwrap();
    client.register_push_token("apns-token".into(), PushPlatform::Apns).await.unwrap();
    let old_token = visitor_token(&client);

    client.logout().await.unwrap();
    assert!(client.session_info().is_none());
    for table in ["conversations", "messages", "outbox", "consents", "properties", "session"] {
        assert_eq!(count(&client, table), 0, "{table} survived logout");
    }
    // The chatflow cache and the device's own settings are not the user's: they stay.
    assert_eq!(count(&client, "chatflows"), 6);
    assert!(client.store().meta_get("device.push_token").unwrap().is_some());
    // Logout keeps the server-side visitor (the user may log in again elsewhere)…
    assert_eq!(server_conversations(&server, &old_token).await.unwrap(), vec![conv]);

    let next = client.ensure_session().await.unwrap();
    assert_ne!(next.visitor_id.as_deref(), Some(first.as_str()));
    assert_eq!(next.user_id, None);

    // …clear_user_data deletes it on the server too: its token stops working.
    let token = visitor_token(&client);
    client.clear_user_data().await.unwrap();
    let err = server_conversations(&server, &token).await.unwrap_err();
    assert!(matches!(err, Error::Server { code: ErrorCode::InvalidToken, .. }), "{err:?}");
    assert!(client.session_info().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_offline_wipes_at_once_and_cleans_the_server_later() {
    let mut server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.ensure_session().await.unwrap();
    client.register_push_token("fcm-offline".into(), PushPlatform::Fcm).await.unwrap();
    assert!(eventually(|| client.store().meta_get("visitor.synced.push").unwrap().is_some()).await);
    let token = visitor_token(&client);

    server.stop();
    client.clear_user_data().await.unwrap();
    assert_eq!(count(&client, "session"), 0);
    assert!(client.store().meta_get("device.pending_cleanup").unwrap().is_some(), "cleanup must be remembered");

    server.restart();
    // The next session retries the cleanup in the background.
    client.ensure_session().await.unwrap();
    assert!(eventually(|| client.store().meta_get("device.pending_cleanup").unwrap().is_none()).await);
    let err = server_conversations(&server, &token).await.unwrap_err();
    assert!(matches!(err, Error::Server { code: ErrorCode::InvalidToken, .. }), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_refusals_are_precise_and_keep_the_session() {
    let server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    client.ensure_session().await.unwrap();
    let before = client.session_info().unwrap();

    let forged = {
        let t = identity_token("mallory", None, 600);
        let (head, _) = t.rsplit_once('.').unwrap();
        format!("{head}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    };
    let err = client.identify(forged, None).await.unwrap_err();
    assert!(matches!(err, Error::Server { code: ErrorCode::IdentityTokenForged, .. }), "{err:?}");
    let err = client.identify("not-a-jwt".into(), None).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { field: "identity_token", .. }), "{err:?}");
    let err = client.identify(identity_token("dan", None, 600), Some("dan at example".into())).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { field: "email", .. }), "{err:?}");
    let after = client.session_info().unwrap();
    assert_eq!(after, before, "a refused identification changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identify_offline_is_pending_and_completes_on_the_next_need() {
    let mut server = TestServer::start();
    let dir = storage();
    let client = open(&server, dir.path());
    server.stop();
    let out = client.identify(identity_token("erin", None, 600), None).await.unwrap();
    assert!(out.pending);
    let info = client.session_info().unwrap();
    assert!(info.identify_pending);
    assert_eq!(info.user_id.as_deref(), Some("erin"));

    server.restart();
    let info = client.ensure_session().await.unwrap();
    assert!(!info.identify_pending);
    assert_eq!(info.user_id.as_deref(), Some("erin"));
    assert!(server_conversations(&server, &visitor_token(&client)).await.is_ok());
}
