//! Canned responses: CRUD per app, shortcut rules and conflicts, precise validation errors, isolation between apps.

use serde_json::json;

use crate::support::*;

const PATH: &str = "/v1/agent/canned-responses";

#[tokio::test]
async fn canned_responses_crud_sorted_by_shortcut_and_unique_per_app() {
    let server = TestServer::start();
    let api = server.api();
    let body = |shortcut: &str| json!({"shortcut": shortcut, "title": "Greeting", "text": "Hi {visitor_first_name}!"});
    let hello = api.call("POST", PATH, Some(ALICE), Some(body("hello"))).await;
    assert_eq!(hello.status, 201, "{:?}", hello.body);
    let id = hello.body["id"].as_str().unwrap().to_owned();
    assert!(hello.body["updated_at"].is_i64());
    let bye = api.call("POST", PATH, Some(BOB), Some(body("bye"))).await;
    assert_eq!(bye.status, 201);
    let list = api.get(PATH, Some(ALICE)).await;
    let shortcuts: Vec<&str> =
        list.body["canned_responses"].as_array().unwrap().iter().map(|c| c["shortcut"].as_str().unwrap()).collect();
    assert_eq!(shortcuts, ["bye", "hello"], "the app's, by shortcut");
    // Same shortcut in the app: conflict; in another app: fine.
    let dup = api.call("POST", PATH, Some(BOB), Some(body("hello"))).await;
    assert_eq!((dup.status.as_u16(), dup.code()), (409, "conflict"));
    assert_eq!(api.call("POST", PATH, Some(GINA), Some(body("hello"))).await.status, 201);
    assert_eq!(api.get(PATH, Some(GINA)).await.body["canned_responses"].as_array().unwrap().len(), 1);
    // Update (renaming onto a taken shortcut conflicts), delete.
    let put = api
        .call("PUT", &format!("{PATH}/{id}"), Some(BOB), Some(json!({"shortcut": "hi", "title": "T", "text": "Hey"})))
        .await;
    assert_eq!(
        (put.status.as_u16(), put.body["shortcut"].as_str(), put.body["id"].as_str()),
        (200, Some("hi"), Some(id.as_str()))
    );
    let clash = api.call("PUT", &format!("{PATH}/{id}"), Some(BOB), Some(body("bye"))).await;
    assert_eq!(clash.status, 409);
    assert_eq!(api.call("PUT", &format!("{PATH}/{id}"), Some(GINA), Some(body("x"))).await.status, 404, "not Globex's");
    assert_eq!(api.call("DELETE", &format!("{PATH}/{id}"), Some(GINA), None).await.status, 404);
    assert_eq!(api.call("DELETE", &format!("{PATH}/{id}"), Some(ALICE), None).await.status, 204);
    assert_eq!(api.call("DELETE", &format!("{PATH}/{id}"), Some(ALICE), None).await.status, 404);
    assert_eq!(api.call("PUT", &format!("{PATH}/missing"), Some(ALICE), Some(body("x"))).await.status, 404);
    assert_eq!(api.get(PATH, None).await.status, 401);
}

#[tokio::test]
async fn canned_response_fields_are_validated_precisely() {
    let server = TestServer::start();
    let api = server.api();
    let before = server.table_counts();
    for (body, field) in [
        (json!({"shortcut": "Hello", "title": "t", "text": "x"}), "shortcut"),
        (json!({"shortcut": "", "title": "t", "text": "x"}), "shortcut"),
        (json!({"shortcut": "a".repeat(33), "title": "t", "text": "x"}), "shortcut"),
        (json!({"shortcut": "ok", "title": " ", "text": "x"}), "title"),
        (json!({"shortcut": "ok", "title": "t".repeat(101), "text": "x"}), "title"),
        (json!({"shortcut": "ok", "title": "t", "text": ""}), "text"),
        (json!({"shortcut": "ok", "title": "t", "text": "x".repeat(4001)}), "text"),
        (json!({"shortcut": "ok", "title": "t", "text": "Hi {visitor_nickname}"}), "{visitor_nickname}"),
    ] {
        let r = api.call("POST", PATH, Some(ALICE), Some(body.clone())).await;
        assert_eq!(r.code(), "invalid_field", "{body}");
        assert!(r.body["message"].as_str().unwrap().contains(field), "{body}: {:?}", r.body);
    }
    for body in
        [json!({"shortcut": "ok", "title": "t"}), json!({"shortcut": "ok", "title": "t", "text": "x", "tags": []})]
    {
        assert_eq!(api.call("POST", PATH, Some(ALICE), Some(body.clone())).await.code(), "invalid_body", "{body}");
    }
    assert_eq!(server.table_counts(), before);
}
