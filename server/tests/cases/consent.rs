//! The consent gate: explicit consent refused → accepted → notice changed → refused again; legitimate interest.

use serde_json::{json, Value};

use crate::support::*;

fn sha256_hex(s: &str) -> String {
    chatflow_server::auth::sha256_hex(s.as_bytes())
}

fn record(chatflow: i64, decision: &str, text: &str) -> Value {
    json!({"chatflow_id": chatflow, "kind": "process_data", "decision": decision, "text_hash": sha256_hex(text),
        "decided_at": 1_700_000_000_000i64})
}

#[tokio::test]
async fn explicit_consent_gate_follows_the_current_notice() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_EXPLICIT).await;
    let flow = api.get(&format!("/v1/admin/chatflows/{FLOW_EXPLICIT}"), Some(ACME_ADMIN)).await.body;
    let notice = flow["consent"]["process_data"]["text"].as_str().unwrap().to_owned();

    // No record: refused, nothing written.
    let before = server.table_counts();
    let r = api.send(&token, &conv, "m1", "hello").await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "consent_required"));
    assert_eq!(server.table_counts(), before);

    // Accepted on another text: still refused. Declined: refused.
    let r =
        api.call("PUT", "/v1/consents/r-old", Some(&token), Some(record(FLOW_EXPLICIT, "accepted", "old text"))).await;
    assert_eq!(r.status, 201);
    assert_eq!(api.send(&token, &conv, "m1", "hello").await.code(), "consent_required");
    let r = api.call("PUT", "/v1/consents/r-no", Some(&token), Some(record(FLOW_EXPLICIT, "declined", &notice))).await;
    assert_eq!(r.status, 201);
    assert_eq!(api.send(&token, &conv, "m1", "hello").await.code(), "consent_required");

    // Accepted on the current notice: the message goes through. The record PUT is idempotent.
    let accept = record(FLOW_EXPLICIT, "accepted", &notice);
    let r = api.call("PUT", "/v1/consents/r-yes", Some(&token), Some(accept.clone())).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["record_id"], "r-yes");
    assert_eq!(r.body["text_hash"], sha256_hex(&notice).as_str());
    let again = api.call("PUT", "/v1/consents/r-yes", Some(&token), Some(accept)).await;
    assert_eq!((again.status.as_u16(), again.body.clone()), (200, r.body.clone()));
    let conflict =
        api.call("PUT", "/v1/consents/r-yes", Some(&token), Some(record(FLOW_EXPLICIT, "declined", &notice))).await;
    assert_eq!(conflict.code(), "idempotency_conflict");
    assert_eq!(api.send(&token, &conv, "m1", "hello").await.status, 201);

    // The admin changes the notice: consent must be given again.
    let mut edited = flow.clone();
    for k in ["id", "updated_at"] {
        edited.as_object_mut().unwrap().remove(k);
    }
    edited["consent"]["process_data"]["text"] = json!("New privacy notice, version 2.");
    let r = api.call("PUT", &format!("/v1/admin/chatflows/{FLOW_EXPLICIT}"), Some(ACME_ADMIN), Some(edited)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(api.send(&token, &conv, "m2", "still there?").await.code(), "consent_required");
    // A replay of the already stored message is still answered (idempotency comes first).
    assert_eq!(api.send(&token, &conv, "m1", "hello").await.status, 200);
    let r = api
        .call(
            "PUT",
            "/v1/consents/r-v2",
            Some(&token),
            Some(record(FLOW_EXPLICIT, "accepted", "New privacy notice, version 2.")),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(api.send(&token, &conv, "m2", "still there?").await.status, 201);
}

#[tokio::test]
async fn legitimate_interest_needs_no_record_and_records_are_validated() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_LEGIT).await;
    assert_eq!(api.send(&token, &conv, "m1", "bonjour").await.status, 201);
    // The SDK's implied record and a communicate opt-in are stored like any record.
    let implied = record(FLOW_LEGIT, "implied", "Acme traite vos données pour vous répondre.");
    assert_eq!(api.call("PUT", "/v1/consents/imp-1", Some(&token), Some(implied)).await.status, 201);
    let optin = json!({"chatflow_id": FLOW_LEGIT, "kind": "communicate", "decision": "accepted",
        "text_hash": sha256_hex("Recevoir les nouveautés produit"), "subscription_type": "product_updates",
        "decided_at": 1});
    assert_eq!(api.call("PUT", "/v1/consents/com-1", Some(&token), Some(optin)).await.status, 201);
    let before = server.table_counts();
    let bad = [
        (
            json!({"chatflow_id": FLOW_LEGIT, "kind": "process_data", "decision": "accepted", "text_hash": "nothex",
            "decided_at": 1}),
            "invalid_field",
        ),
        (
            json!({"chatflow_id": FLOW_LEGIT, "kind": "communicate", "decision": "accepted",
            "text_hash": sha256_hex("x"), "decided_at": 1}),
            "invalid_field",
        ),
        (record(FLOW_GLOBEX, "accepted", "x"), "not_found"),
        (json!({"chatflow_id": FLOW_LEGIT, "kind": "maybe"}), "invalid_body"),
    ];
    for (body, code) in bad {
        let r = api.call("PUT", "/v1/consents/bad-1", Some(&token), Some(body)).await;
        assert_eq!(r.code(), code);
    }
    let r = api.call("PUT", "/v1/consents/bad%20id", Some(&token), Some(record(FLOW_LEGIT, "implied", "x"))).await;
    assert_eq!(r.code(), "invalid_field");
    assert_eq!(server.table_counts(), before);
}
