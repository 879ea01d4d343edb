//! Garbage, wrong shapes and oversized bodies on every route: always a 4xx with an ErrorBody, never a panic, never
//! a write. Unknown routes and wrong methods answer JSON too.

use chatflow_protocol::limits::MAX_BODY_BYTES;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

struct Ctx {
    visitor: String,
    conversation: String,
}

/// The route's path with real ids, and the token that gets past authentication.
fn concrete(path: &str, ctx: &Ctx) -> (String, Option<String>) {
    let p = path
        .replace("{app_id}", ACME)
        .replace("{client_message_id}", "robust-1")
        .replace("{client_record_id}", "robust-rec-1");
    let p = if p.starts_with("/v1/admin/") {
        p.replace("{id}", &FLOW_SUPPORT.to_string())
    } else {
        p.replace("{id}", &ctx.conversation)
    };
    let token = if p.starts_with("/v1/admin/") {
        Some(ACME_ADMIN.to_owned())
    } else if p.starts_with("/v1/agent/") {
        Some(ALICE.to_owned())
    } else if p.starts_with("/v1/apps/") || p == "/healthz" || p == "/openapi.json" {
        None
    } else {
        Some(ctx.visitor.clone())
    };
    (p, token)
}

#[tokio::test]
async fn garbage_and_oversized_bodies_on_every_route() {
    let server = TestServer::start();
    let api = server.api();
    let (_, visitor) = api.visitor(ACME).await;
    let conversation = api.open(&visitor, FLOW_SUPPORT).await;
    let ctx = Ctx { visitor, conversation };
    let before = server.table_counts();
    let oversized = vec![b'a'; MAX_BODY_BYTES + 1];
    let mut huge_json = b"{\"body\":\"".to_vec();
    huge_json.extend(std::iter::repeat_n(b'x', MAX_BODY_BYTES));
    huge_json.extend(b"\"}");
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("application/json", b"{{{ not json".to_vec()),
        ("application/json", b"[1, 2, 3]".to_vec()),
        ("application/json", b"\"just a string\"".to_vec()),
        ("application/json", b"{\"body\": 42, \"typing\": \"yes\", \"seq\": -1}".to_vec()),
        ("application/json", vec![0xff, 0xfe, 0x00, 0x80]),
        ("text/plain", b"hello".to_vec()),
        ("application/json", oversized.clone()),
        ("application/json", huge_json.clone()),
    ];
    for (method, path) in chatflow_server::ROUTES {
        let (p, token) = concrete(path, &ctx);
        for (ctype, body) in &bodies {
            let r = api.raw(method, &p, token.as_deref(), ctype, body.clone()).await;
            assert!(r.status.is_client_error(), "{method} {p} with {} bytes of {ctype}: {}", body.len(), r.status);
            assert!(r.body["code"].is_string() && r.body["message"].is_string(), "{method} {p}: {:?}", r.body);
            // An upload's PATCH streams its body to disk: the JSON size limit is not its rule (it refuses these
            // bodies for their content type).
            let streamed = *method == "PATCH" && p.contains("/uploads/");
            if body.len() > MAX_BODY_BYTES && !streamed {
                assert_eq!(r.code(), "payload_too_large", "{method} {p}");
            }
        }
    }
    assert_eq!(server.table_counts(), before, "no refused request wrote anything");
    assert_eq!(api.get("/healthz", None).await.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn chunked_oversized_body_is_refused() {
    let server = TestServer::start();
    let api = server.api();
    let (_, visitor) = api.visitor(ACME).await;
    let conversation = api.open(&visitor, FLOW_SUPPORT).await;
    let before = server.table_counts();
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PUT /v1/conversations/{conversation}/messages/chunky HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {visitor}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 16 * 1024];
    let mut sent = 0;
    // Write until the server answers or the body passes the limit comfortably.
    while sent < MAX_BODY_BYTES * 2 {
        let frame = [format!("{:x}\r\n", chunk.len()).into_bytes(), chunk.clone(), b"\r\n".to_vec()].concat();
        if tcp.write_all(&frame).await.is_err() {
            break;
        }
        sent += chunk.len();
    }
    let _ = tcp.write_all(b"0\r\n\r\n").await;
    let mut answer = Vec::new();
    let _ = tcp.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413") || text.starts_with("HTTP/1.1 400"), "{text}");
    assert_eq!(server.table_counts(), before);
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json() {
    let server = TestServer::start();
    let api = server.api();
    for path in ["/", "/v1", "/v2/conversations", "/v1/conversations/x/y/z", "/v1/apps/app_acme/nothing"] {
        let r = api.get(path, None).await;
        assert_eq!((r.status.as_u16(), r.code()), (404, "unknown_route"), "{path}");
    }
    let cases = [
        ("DELETE", "/v1/conversations"),
        ("POST", "/v1/apps/app_acme/chatflows"),
        ("PATCH", "/v1/visitor/properties"),
        ("GET", "/v1/visitor/identify"),
        ("POST", "/healthz"),
    ];
    for (method, path) in cases {
        let r = api.call(method, path, None, None).await;
        assert_eq!((r.status.as_u16(), r.code()), (405, "method_not_allowed"), "{method} {path}");
        // With a body too: the method is what is wrong, not the body (which GET and DELETE never take).
        let r = api.call(method, path, None, Some(json!({"a": 1}))).await;
        assert_eq!((r.status.as_u16(), r.code()), (405, "method_not_allowed"), "{method} {path} with a body");
        assert!(r.headers.get("allow").is_some(), "{method} {path}: 405 names the allowed methods");
    }
    let r = api.call("DELETE", "/v1/agent/conversations/x/block", None, Some(json!({"a": 1}))).await;
    assert_eq!(r.code(), "invalid_body", "a body on a route that serves DELETE is still refused");
    // The realtime route refuses a plain GET (no upgrade) with a JSON error once authenticated.
    let (_, token) = api.visitor(ACME).await;
    let r = api.get("/v1/realtime", Some(&token)).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "invalid_body");
    assert_eq!(api.get("/v1/realtime", None).await.code(), "unauthenticated");
}

#[tokio::test]
async fn openapi_document_covers_every_route() {
    let server = TestServer::start();
    let doc = server.api().get("/openapi.json", None).await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (method, path) in chatflow_server::ROUTES {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not documented");
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in
        ["Message", "MessagePage", "ChatflowList", "ErrorBody", "ClientFrame", "ServerFrame", "ConsentRecordInput"]
    {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    // Every reference resolves (the inbox's `view` parameter once pointed at an undefined `InboxView`).
    fn refs<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r);
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 50, "{}", all.len());
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or_else(|| panic!("unexpected reference {r}"));
        assert!(schemas.contains_key(name), "{r} is referenced but not defined");
    }
}
