//! Chatflow list with ETag, status, admin CRUD.

use serde_json::{json, Value};

use crate::support::*;

fn input(name: &str) -> Value {
    json!({
        "name": name,
        "kind": "live_chat",
        "priority": 3,
        "mobile_tags": ["new-tag"],
        "header": {"display_name": "Acme"},
        "email_capture": {"mode": "never"},
        "routing": {"mode": "unassigned"},
        "availability": {"mode": "always", "when_away": "away_message"},
        "knowledge_base": {"enabled": false},
        "consent": {"process_data": {"mode": "off"}}
    })
}

#[tokio::test]
async fn list_has_a_strong_etag_and_answers_304() {
    let server = TestServer::start();
    let api = server.api();
    let r = api.get(&format!("/v1/apps/{ACME}/chatflows"), None).await;
    assert_eq!(r.status, 200);
    let etag = r.headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong etag: {etag}");
    assert_eq!(r.body["etag"], etag.as_str());
    let flows = r.body["chatflows"].as_array().unwrap();
    assert_eq!(flows.iter().map(|f| f["id"].as_i64().unwrap()).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6, 7]);
    assert_eq!(flows[2]["enabled"], false, "disabled chatflows are listed too");

    let url = format!("{}/v1/apps/{ACME}/chatflows", api.base);
    let not_modified = api.http.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["etag"].to_str().unwrap(), etag);
    assert!(not_modified.bytes().await.unwrap().is_empty());
    let other = api.http.get(&url).header("if-none-match", "\"stale\"").send().await.unwrap();
    assert_eq!(other.status(), 200);

    // An admin edit changes the ETag; the old one no longer matches.
    let created = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(input("Fresh"))).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let after = api.http.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(after.status(), 200);
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    // Another app's list is its own.
    let g = api.get(&format!("/v1/apps/{GLOBEX}/chatflows"), None).await;
    assert_eq!(g.body["chatflows"].as_array().unwrap().len(), 1);
    let unknown = api.get("/v1/apps/app_nope/chatflows", None).await;
    assert_eq!((unknown.status.as_u16(), unknown.code()), (404, "not_found"));
}

#[tokio::test]
async fn status_reports_availability_per_chatflow() {
    let server = TestServer::start();
    let api = server.api();
    let r = api.get(&format!("/v1/apps/{ACME}/chatflows/status"), None).await;
    assert_eq!(r.status, 200);
    let status = |body: &Value, id: i64| {
        body["statuses"].as_array().unwrap().iter().find(|s| s["chatflow_id"] == id).cloned().unwrap()
    };
    assert_eq!(status(&r.body, FLOW_SUPPORT)["available"], true);
    // Only Bob is routed on the team chatflow and Bob is away.
    assert_eq!(status(&r.body, FLOW_TEAM)["available"], false);
    // Business hours always know their next change.
    assert!(status(&r.body, FLOW_HOURS)["next_change_at"].as_i64().is_some());
    assert!(r.body["computed_at"].as_i64().unwrap() > 0);
    // Bob comes online: the team chatflow becomes available.
    let p = api.call("PUT", "/v1/agent/presence", Some(BOB), Some(json!({"available": true}))).await;
    assert_eq!(p.status, 200);
    let r = api.get(&format!("/v1/apps/{ACME}/chatflows/status"), None).await;
    assert_eq!(status(&r.body, FLOW_TEAM)["available"], true);
}

#[tokio::test]
async fn admin_crud_with_validation() {
    let server = TestServer::start();
    let api = server.api();
    let r = api.call("POST", "/v1/admin/chatflows", None, Some(input("x"))).await;
    assert_eq!(r.code(), "unauthenticated");
    let created = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(input("Fresh"))).await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_i64().unwrap();
    assert!(id > 101);
    assert_eq!(created.body["priority"], 3);
    assert_eq!(created.body["language"], "en", "defaults apply");
    let got = api.get(&format!("/v1/admin/chatflows/{id}"), Some(ACME_ADMIN)).await;
    assert_eq!(got.body, created.body);
    let mut changed = input("Renamed");
    changed["enabled"] = json!(false);
    let updated = api.call("PUT", &format!("/v1/admin/chatflows/{id}"), Some(ACME_ADMIN), Some(changed)).await;
    assert_eq!((updated.status.as_u16(), updated.body["name"].clone()), (200, json!("Renamed")));
    assert_eq!(updated.body["enabled"], false);

    let before = server.table_counts();
    let bad_cases = [
        (
            json!({"availability": {"mode": "business_hours", "time_zone": "Mars/Base", "when_away": "hide_launcher"}}),
            "Mars/Base",
        ),
        (
            json!({"availability": {"mode": "business_hours", "time_zone": "Europe/Paris", "when_away": "hide_launcher",
            "business_hours": [{"day": "monday", "start": "18:00", "end": "09:00"}]}}),
            "must be before",
        ),
        (json!({"mobile_tags": ["ok", "OK"]}), "mobile_tags[1]"),
        (json!({"mobile_tags": ["  "]}), "mobile_tags[0]"),
        (json!({"language": "french"}), "language"),
        (json!({"routing": {"mode": "specific", "agent_ids": ["ag_gina"]}}), "unknown agent `ag_gina`"),
        (json!({"consent": {"process_data": {"mode": "explicit", "text": ""}}}), "consent.process_data.text"),
        (json!({"name": ""}), "name"),
    ];
    for (patch, needle) in bad_cases {
        let mut body = input("Bad");
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(body)).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{needle}");
        assert!(r.body["message"].as_str().unwrap().contains(needle), "{} lacks {needle}", r.body["message"]);
    }
    let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(json!({"name": "no kind"}))).await;
    assert_eq!(r.code(), "invalid_body");
    // A mode is a name: serde alone would read 0 as the first variant.
    let mut numbered = input("Numbered mode");
    numbered["routing"] = json!({"mode": 0});
    let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(numbered)).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_body"));
    assert!(r.body["message"].as_str().unwrap().contains("routing.mode must be a string"), "{}", r.body["message"]);
    assert_eq!(server.table_counts(), before, "refused chatflows write nothing");

    assert_eq!(api.call("DELETE", &format!("/v1/admin/chatflows/{id}"), Some(ACME_ADMIN), None).await.status, 204);
    assert_eq!(
        api.call("DELETE", &format!("/v1/admin/chatflows/{id}"), Some(ACME_ADMIN), None).await.code(),
        "not_found"
    );
    assert_eq!(api.get("/v1/admin/chatflows/abc", Some(ACME_ADMIN)).await.code(), "not_found");
    let list = api.get("/v1/admin/chatflows", Some(ACME_ADMIN)).await;
    assert_eq!(list.body["chatflows"].as_array().unwrap().len(), 7);
}
