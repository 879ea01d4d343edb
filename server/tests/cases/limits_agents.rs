//! The agents' limits: writes per agent (`--limit-agent-writes-per-agent`), every write route sharing one budget
//! and reads not counted; failed sign-ins per email and per client address (`--limit-sign-in-failures-per-*`).

use serde_json::json;

use super::agent_sessions::{set_cookie, Browser, ALICE_EMAIL, ALICE_PASSWORD};
use super::inbox_util::act;
use super::limits::assert_limited;
use crate::support::*;

/// Agent routes that are not counted as writes: sign-in (its own limiter), sign-out, and the chunks of a declared
/// upload (a large file is many chunks; the declaration is what is counted).
const NOT_WRITES: &[(&str, &str)] =
    &[("POST", "/v1/agent/login"), ("POST", "/v1/agent/logout"), ("PATCH", "/v1/agent/uploads/{upload_id}")];

#[tokio::test]
async fn agent_writes_are_limited_per_agent_and_reads_are_not() {
    let server = TestServer::start_with(&["--limit-agent-writes-per-agent", "3/1m"]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    assert_eq!(api.send(&token, &conv, "m1", "hello").await.status, 201);
    // A reply, a typing notice and a read receipt: three writes of one budget.
    assert_eq!(api.agent_reply(ALICE, &conv, "hi").await.status, 201);
    assert_eq!(act(&api, ALICE, "POST", &conv, "/typing", Some(json!({"typing": true}))).await.status, 204);
    assert_eq!(act(&api, ALICE, "POST", &conv, "/read", Some(json!({"seq": 2}))).await.status, 204);
    let before = server.table_counts();
    let wait =
        assert_limited(&api.agent_reply(ALICE, &conv, "one too many").await, "actions by this agent (limit 3/1m)");
    assert!((1..=20).contains(&wait), "one write every 20 s: {wait}");
    let note = act(&api, ALICE, "POST", &conv, "/notes", Some(json!({"body": "a note"}))).await;
    assert_limited(&note, "actions by this agent");
    assert_limited(&act(&api, ALICE, "POST", &conv, "/close", None).await, "actions by this agent");
    assert_eq!(server.table_counts(), before, "refused writes store nothing");
    // Reads are not counted.
    for path in [
        "/v1/agent/conversations".to_owned(),
        format!("/v1/agent/conversations/{conv}"),
        format!("/v1/agent/conversations/{conv}/messages"),
        format!("/v1/agent/conversations/{conv}/notes"),
        "/v1/agent/conversations/counts".to_owned(),
    ] {
        assert_eq!(api.get(&path, Some(ALICE)).await.status, 200, "{path}");
    }
    let page = api.get(&format!("/v1/agent/conversations/{conv}/messages"), Some(ALICE)).await;
    let agent_messages = page.body["messages"].as_array().unwrap().iter().filter(|m| m["author"]["kind"] == "agent");
    assert_eq!(agent_messages.count(), 1);
    // Another agent of the app, and an agent of another app, have their own budgets.
    assert_eq!(api.agent_reply(BOB, &conv, "Bob here").await.status, 201);
    let (_, globex) = api.visitor(GLOBEX).await;
    let globex_conv = api.open(&globex, FLOW_GLOBEX).await;
    assert_eq!(api.agent_reply(GINA, &globex_conv, "Gina here").await.status, 201);
}

#[tokio::test]
async fn every_agent_write_route_takes_from_the_budget() {
    let server = TestServer::start_with(&["--limit-agent-writes-per-agent", "1/1h"]);
    let api = server.api();
    let r = api.call("PUT", "/v1/agent/presence", Some(ALICE), Some(json!({"available": true}))).await;
    assert_eq!(r.status, 200, "the one write of the hour");
    // The budget is taken before the path and body are read: any request to a write route is refused now.
    let mut writes = 0;
    for &(method, path) in chatflow_server::ROUTES {
        if !path.starts_with("/v1/agent/") || method == "GET" || NOT_WRITES.contains(&(method, path)) {
            continue;
        }
        let concrete = path.replace("{id}", "1").replace("{upload_id}", "u1");
        let r = api.call(method, &concrete, Some(ALICE), None).await;
        assert_limited(&r, "actions by this agent (limit 1/1h)");
        writes += 1;
    }
    assert!(writes >= 20, "{writes} write routes");
    // The documented 429 of each of them.
    let doc = api.get("/openapi.json", None).await.body;
    for &(method, path) in chatflow_server::ROUTES {
        let op = &doc["paths"][path][method.to_lowercase()];
        let limited = op["responses"]["429"]["description"].as_str().unwrap_or_default();
        if path.starts_with("/v1/agent/") && method != "GET" && !NOT_WRITES.contains(&(method, path)) {
            assert!(limited.contains("--limit-agent-writes-per-agent"), "{method} {path}: {limited:?}");
            assert!(op["responses"]["429"]["headers"]["Retry-After"].is_object(), "{method} {path}");
        }
    }
    // Bob's budget is whole.
    let r = api.call("PUT", "/v1/agent/presence", Some(BOB), Some(json!({"available": true}))).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn failed_sign_ins_are_limited_by_their_flags() {
    let server = TestServer::start_with(&[
        "--trust-proxy",
        "--limit-sign-in-failures-per-email",
        "2/1m",
        "--limit-sign-in-failures-per-address",
        "3/10m",
    ]);
    let mut b = Browser::new(&server);
    let from = |address: &'static str| [("X-Forwarded-For", address)];
    for _ in 0..2 {
        let r = b.login(ALICE_EMAIL, "wrong-password", &from("198.51.100.1")).await;
        assert_eq!(r.code(), "invalid_credentials");
    }
    // Two failures lock the email for a minute, from any address, even with the right password.
    let before = server.table_counts();
    let r = b.login(ALICE_EMAIL, ALICE_PASSWORD, &from("198.51.100.2")).await;
    let wait = assert_limited(&r, "failed sign-ins for this email (limit 2/1m)");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(set_cookie(&r).is_empty(), "no session");
    assert_eq!(server.table_counts(), before, "a refused sign-in stores nothing");
    // Another email is not locked; its failure is the address's third within ten minutes.
    let r = b.login("nobody@acme.test", "wrong-password", &from("198.51.100.1")).await;
    assert_eq!(r.code(), "invalid_credentials");
    let r = b.login("someone@acme.test", "wrong-password", &from("198.51.100.1")).await;
    let wait = assert_limited(&r, "failed sign-ins from this address (limit 3/10m)");
    assert!((541..=600).contains(&wait), "the oldest failure leaves the window in about ten minutes: {wait}");
    // Another address is not locked.
    let r = b.login("someone@acme.test", "wrong-password", &from("198.51.100.3")).await;
    assert_eq!(r.code(), "invalid_credentials");
}
