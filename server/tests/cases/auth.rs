//! Token refusals, identity tokens, isolation between visitors and between apps, identify merges.

use chatflow_protocol::IdentityClaims;
use serde_json::json;

use crate::support::*;

async fn identify(api: &Api, visitor_token: &str, identity_token: &str) -> Reply {
    api.call("POST", "/v1/visitor/identify", Some(visitor_token), Some(json!({"identity_token": identity_token}))).await
}

#[tokio::test]
async fn every_identity_token_refusal_has_its_code_and_writes_nothing() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let now = now_secs();
    let expired = chatflow_server::sign_identity_token(
        ACME_SECRET.as_bytes(),
        &IdentityClaims { sub: "u1".into(), aud: ACME.into(), email: None, iat: now - 3600, exp: now - 600 },
    );
    let cases = [
        (expired, 401, "identity_token_expired"),
        (identity_token("not-the-acme-secret-at-all", ACME, "u1", 300), 401, "identity_token_forged"),
        (identity_token(GLOBEX_SECRET, GLOBEX, "u1", 300), 401, "identity_token_wrong_app"),
        ("not.a.jwt".to_owned(), 401, "identity_token_malformed"),
        ("".to_owned(), 401, "identity_token_malformed"),
    ];
    let before = server.table_counts();
    for (jwt, status, code) in cases {
        let r = identify(&api, &token, &jwt).await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{:?}", r.body);
    }
    assert_eq!(server.table_counts(), before);
    // The visitor token still works after all those refusals.
    assert_eq!(api.get("/v1/conversations", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn missing_unknown_and_foreign_tokens_are_refused() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let r = api.get("/v1/conversations", None).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "unauthenticated"));
    let r = api.get("/v1/conversations", Some("cfv_0000000000000000")).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "invalid_token"));
    // An agent token is not a visitor token, and the reverse.
    assert_eq!(api.get("/v1/conversations", Some(ALICE)).await.code(), "invalid_token");
    assert_eq!(api.get("/v1/agent/conversations", Some(&token)).await.code(), "invalid_token");
    assert_eq!(api.get("/v1/admin/chatflows", Some(ALICE)).await.code(), "invalid_token");
    // An agent of another app cannot see, answer or close this app's conversation.
    let r = api.agent_reply(GINA, &conv, "hi from globex").await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    let r = api.call("POST", &format!("/v1/agent/conversations/{conv}/close"), Some(GINA), None).await;
    assert_eq!(r.code(), "not_found");
    let list = api.get("/v1/agent/conversations", Some(GINA)).await;
    assert_eq!(list.body["conversations"], json!([]));
    // An admin of another app cannot touch this app's chatflows.
    let r = api.get(&format!("/v1/admin/chatflows/{FLOW_SUPPORT}"), Some(GLOBEX_ADMIN)).await;
    assert_eq!(r.code(), "not_found");
}

#[tokio::test]
async fn a_visitor_cannot_read_or_write_another_visitors_conversation() {
    let server = TestServer::start();
    let api = server.api();
    let (_, a) = api.visitor(ACME).await;
    let (_, b) = api.visitor(ACME).await;
    let (_, g) = api.visitor(GLOBEX).await;
    let conv = api.open(&a, FLOW_SUPPORT).await;
    api.send(&a, &conv, "m1", "private").await;
    let before = server.table_counts();
    for intruder in [&b, &g] {
        let reads = [
            api.get(&format!("/v1/conversations/{conv}"), Some(intruder)).await,
            api.messages(intruder, &conv, "").await,
            api.send(intruder, &conv, "m2", "intrusion").await,
            api.call("POST", &format!("/v1/conversations/{conv}/read"), Some(intruder), Some(json!({"seq": 1}))).await,
            api.call(
                "POST",
                &format!("/v1/conversations/{conv}/typing"),
                Some(intruder),
                Some(json!({"typing": true})),
            )
            .await,
        ];
        for r in reads {
            assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"), "{:?}", r.body);
        }
        let list = api.get("/v1/conversations", Some(intruder)).await;
        assert_eq!(list.body["conversations"], json!([]));
    }
    assert_eq!(server.table_counts(), before);
}

#[tokio::test]
async fn identify_switches_to_the_users_visitor_and_merges_conversations() {
    let server = TestServer::start();
    let api = server.api();
    // Device 1: anonymous, chats, then identifies: it becomes the user's visitor.
    let (v1, t1) = api.visitor(ACME).await;
    let c1 = api.open(&t1, FLOW_SUPPORT).await;
    let r = identify(&api, &t1, &identity_token(ACME_SECRET, ACME, "user-42", 300)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["session"]["visitor_id"], v1.as_str());
    assert_eq!(r.body["session"]["user_id"], "user-42");
    assert_eq!(r.body["session"]["email"], "user-42@example.com");
    assert_eq!(r.body["merged_conversation_ids"], json!([c1]));
    let t1b = r.body["session"]["visitor_token"].as_str().unwrap().to_owned();
    assert_eq!(api.get("/v1/conversations", Some(&t1)).await.code(), "invalid_token", "old token revoked");
    // Device 2: anonymous, chats, identifies as the same user: switches to v1, its conversation moves over.
    let (v2, t2) = api.visitor(ACME).await;
    let c2 = api.open(&t2, FLOW_SUPPORT).await;
    api.send(&t2, &c2, "m1", "from device 2").await;
    let r = identify(&api, &t2, &identity_token(ACME_SECRET, ACME, "user-42", 300)).await;
    assert_eq!(r.body["session"]["visitor_id"], v1.as_str());
    assert_eq!(r.body["merged_conversation_ids"], json!([c2]));
    let t2b = r.body["session"]["visitor_token"].as_str().unwrap().to_owned();
    assert_ne!(v2, v1);
    for t in [&t1b, &t2b] {
        let list = api.get("/v1/conversations", Some(t)).await;
        let mut ids: Vec<String> =
            list.body["conversations"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().into()).collect();
        ids.sort();
        let mut want = vec![c1.clone(), c2.clone()];
        want.sort();
        assert_eq!(ids, want);
    }
    let page = api.messages(&t1b, &c2, "").await;
    assert_eq!(page.body["messages"][0]["body"], "from device 2");
    // The same identity token on another app's visitor is refused.
    let (_, g) = api.visitor(GLOBEX).await;
    let r = identify(&api, &g, &identity_token(ACME_SECRET, ACME, "user-42", 300)).await;
    assert_eq!(r.code(), "identity_token_wrong_app");
}

#[tokio::test]
async fn visitor_profile_routes_and_deletion() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let props = json!({"properties": {"plan": "pro", "cart": "3 items"}});
    let r = api.call("PUT", "/v1/visitor/properties", Some(&token), Some(props.clone())).await;
    assert_eq!((r.status.as_u16(), r.body.clone()), (200, props));
    let many: serde_json::Map<String, serde_json::Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    let r = api.call("PUT", "/v1/visitor/properties", Some(&token), Some(json!({"properties": many}))).await;
    assert_eq!(r.code(), "too_many_properties");
    let device = json!({"platform": "android", "os_version": "15", "app_version": "1.2.3", "device_model": "Pixel",
        "locale": "fr-FR", "sdk_version": "0.1.0"});
    assert_eq!(api.call("PUT", "/v1/visitor/device", Some(&token), Some(device)).await.status, 200);
    let push = json!({"token": "fcm-token-123", "platform": "fcm"});
    assert_eq!(api.call("PUT", "/v1/visitor/push-token", Some(&token), Some(push)).await.status, 204);
    let bad_push = json!({"token": "x", "platform": "pigeon"});
    assert_eq!(api.call("PUT", "/v1/visitor/push-token", Some(&token), Some(bad_push)).await.code(), "invalid_body");
    assert_eq!(api.call("DELETE", "/v1/visitor/push-token", Some(&token), None).await.status, 204);
    let conv = api.open(&token, FLOW_SUPPORT).await;
    api.send(&token, &conv, "m1", "bye").await;
    assert_eq!(api.call("DELETE", "/v1/visitor", Some(&token), None).await.status, 204);
    assert_eq!(api.get("/v1/conversations", Some(&token)).await.code(), "invalid_token");
    let counts = server.table_counts();
    for table in ["visitors", "visitor_tokens", "conversations", "messages", "consent_records"] {
        assert_eq!(counts[table], 0, "{table} emptied");
    }
    let r = api.call("POST", "/v1/apps/app_nope/visitors", None, None).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
}
