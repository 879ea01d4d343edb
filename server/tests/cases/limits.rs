//! Abuse limits (server/src/limits): each `--limit-*` setting, set low, refuses the request past it with 429
//! `rate_limited`, `Retry-After` and a message naming what was limited; over the realtime socket, a `nack` or an
//! `error` frame with `retry_after_secs`. What other visitors, addresses and apps do is not affected. A value that is
//! not a rate stops the server at startup. The agents' limits are in `limits_agents.rs`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chatflow_protocol::{ClientFrame, ErrorCode, ServerFrame};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::feed_util::Feed;
use crate::support::*;

/// Asserts a documented 429: code, `Retry-After` in whole seconds (also in the body), a message naming `what`.
pub(super) fn assert_limited(r: &Reply, what: &str) -> u64 {
    assert_eq!(r.status, 429, "{:?}", r.body);
    assert_eq!(r.code(), "rate_limited");
    let message = r.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(what) && message.contains("retry in"), "{message}");
    let header: u64 = r.headers["retry-after"].to_str().unwrap().parse().expect("Retry-After in seconds");
    assert!(header >= 1);
    assert_eq!(r.body["retry_after_secs"], json!(header));
    header
}

async fn hello(ws: &mut Ws) {
    assert!(matches!(ws.recv().await, ServerFrame::Hello { .. }));
}

#[tokio::test]
async fn visitor_creation_is_limited_per_address() {
    let server = TestServer::start_with(&["--limit-visitor-creates-per-address", "3/1m"]);
    let api = server.api();
    for _ in 0..3 {
        api.visitor(ACME).await;
    }
    let before = server.table_counts();
    let r = api.call("POST", &format!("/v1/apps/{ACME}/visitors"), None, None).await;
    let wait = assert_limited(&r, "visitors created from this address");
    assert!((1..=20).contains(&wait), "one creation every 20 s: {wait}");
    assert_eq!(server.table_counts(), before, "a refused creation stores nothing");
}

#[tokio::test]
async fn visitor_creation_is_limited_per_app_across_addresses() {
    // Behind a trusted proxy each request names its own client address: only the app's budget is shared.
    let server = TestServer::start_with(&["--trust-proxy", "--limit-visitor-creates-per-app", "2/1m"]);
    let api = server.api();
    let create = |app: &'static str, addr: &'static str| {
        let req = api.http.post(format!("{}/v1/apps/{app}/visitors", api.base)).header("x-forwarded-for", addr);
        async move { req.send().await.unwrap() }
    };
    assert_eq!(create(ACME, "10.0.0.1").await.status(), 201);
    assert_eq!(create(ACME, "10.0.0.2").await.status(), 201);
    let refused = create(ACME, "10.0.0.3").await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("visitors created for this app"), "{body}");
    assert_eq!(create(GLOBEX, "10.0.0.3").await.status(), 201, "another app has its own budget");
}

#[tokio::test]
async fn identify_is_limited_per_address() {
    let server = TestServer::start_with(&["--limit-identifies-per-address", "2/1m"]);
    let api = server.api();
    let identify = |token: String, sub: &'static str| {
        let jwt = identity_token(ACME_SECRET, ACME, sub, 300);
        let api = &api;
        async move { api.call("POST", "/v1/visitor/identify", Some(&token), Some(json!({"identity_token": jwt}))).await }
    };
    for sub in ["u1", "u2"] {
        let (_, token) = api.visitor(ACME).await;
        assert_eq!(identify(token, sub).await.status, 200);
    }
    let (_, token) = api.visitor(ACME).await;
    assert_limited(&identify(token.clone(), "u3").await, "identify requests from this address");
    // The refused call changed nothing: the presented token still works.
    assert_eq!(api.get("/v1/conversations", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn sends_are_limited_per_visitor_over_rest_and_the_socket_together() {
    let server = TestServer::start_with(&["--limit-sends-per-visitor", "3/1m"]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    for i in 0..2 {
        assert_eq!(api.send(&token, &conv, &format!("m{i}"), "hi").await.status, 201);
    }
    let mut ws = Ws::connect(&server, &token).await;
    hello(&mut ws).await;
    let send = |id: &str| ClientFrame::Send {
        conversation_id: conv.clone(),
        client_message_id: id.into(),
        body: "hi".into(),
        quick_reply_id: None,
        survey_answer: None,
        attachments: vec![],
    };
    ws.send(&send("m2")).await;
    loop {
        match ws.recv().await {
            ServerFrame::Ack { client_message_id, .. } => break assert_eq!(client_message_id, "m2"),
            ServerFrame::Message { .. } => continue,
            other => panic!("expected ack, got {other:?}"),
        }
    }
    ws.send(&send("m3")).await;
    let error = loop {
        match ws.recv().await {
            ServerFrame::Nack { client_message_id, error } => {
                assert_eq!(client_message_id, "m3");
                break error;
            }
            ServerFrame::Message { .. } => continue,
            other => panic!("expected nack, got {other:?}"),
        }
    };
    assert_eq!(error.code, ErrorCode::RateLimited);
    assert!(error.retry_after_secs.is_some_and(|s| (1..=20).contains(&s)), "{error:?}");
    assert!(error.message.contains("messages sent by this visitor"), "{}", error.message);
    assert_limited(&api.send(&token, &conv, "m4", "hi").await, "messages sent by this visitor");
    let stored = api.messages(&token, &conv, "").await;
    let visitor_messages =
        stored.body["messages"].as_array().unwrap().iter().filter(|m| m["author"]["kind"] == "visitor").count();
    assert_eq!(visitor_messages, 3, "refused sends store nothing");
    // Another visitor sends at once.
    let (_, other) = api.visitor(ACME).await;
    let other_conv = api.open(&other, FLOW_OVERFLOW).await;
    assert_eq!(api.send(&other, &other_conv, "x", "hello").await.status, 201);
}

fn send_frame(conversation: &str, id: &str) -> ClientFrame {
    ClientFrame::Send {
        conversation_id: conversation.into(),
        client_message_id: id.into(),
        body: "hi".into(),
        quick_reply_id: None,
        survey_answer: None,
        attachments: vec![],
    }
}

/// The socket's answer to the `send` of `id`: `Ok` for an ack, the error of a nack.
async fn send_outcome(ws: &mut Ws, id: &str) -> Result<(), chatflow_protocol::ErrorBody> {
    loop {
        match ws.recv().await {
            ServerFrame::Ack { client_message_id, .. } if client_message_id == id => return Ok(()),
            ServerFrame::Nack { client_message_id, error } if client_message_id == id => return Err(error),
            ServerFrame::Ack { .. } | ServerFrame::Nack { .. } => panic!("an answer to another send"),
            _ => continue,
        }
    }
}

fn visitor_messages(r: &Reply) -> usize {
    r.body["messages"].as_array().unwrap().iter().filter(|m| m["author"]["kind"] == "visitor").count()
}

#[tokio::test]
async fn sends_are_limited_per_app_across_its_visitors_over_rest_and_the_socket() {
    let server = TestServer::start_with(&["--limit-sends-per-app", "3/1m"]);
    let api = server.api();
    let mut visitors = Vec::new();
    for _ in 0..3 {
        let (_, token) = api.visitor(ACME).await;
        let conv = api.open(&token, FLOW_OVERFLOW).await;
        visitors.push((token, conv));
    }
    let [(a, a_conv), (b, b_conv), (c, c_conv)] = &visitors[..] else { unreachable!() };
    for id in ["a1", "a2"] {
        assert_eq!(api.send(a, a_conv, id, "hi").await.status, 201);
    }
    let mut ws = Ws::connect(&server, b).await;
    hello(&mut ws).await;
    ws.send(&send_frame(b_conv, "b1")).await;
    assert_eq!(send_outcome(&mut ws, "b1").await, Ok(()), "the app's third message");
    // Each visitor is far below its own limit (20 per 10 s): the app's budget is what refuses.
    ws.send(&send_frame(b_conv, "b2")).await;
    let error = send_outcome(&mut ws, "b2").await.unwrap_err();
    assert_eq!(error.code, ErrorCode::RateLimited);
    assert!(error.retry_after_secs.is_some_and(|s| (1..=20).contains(&s)), "{error:?}");
    assert!(error.message.contains("messages sent by this app's visitors (limit 3/1m)"), "{}", error.message);
    let before = server.table_counts();
    let wait =
        assert_limited(&api.send(c, c_conv, "c1", "hi").await, "messages sent by this app's visitors (limit 3/1m)");
    assert!((1..=20).contains(&wait), "one message every 20 s: {wait}");
    assert_eq!(server.table_counts(), before, "a refused send stores nothing");
    assert_eq!(visitor_messages(&api.messages(b, b_conv, "").await), 1);
    assert_eq!(visitor_messages(&api.messages(c, c_conv, "").await), 0);
    // Another app has its own budget.
    let (_, g) = api.visitor(GLOBEX).await;
    let g_conv = api.open(&g, FLOW_GLOBEX).await;
    assert_eq!(api.send(&g, &g_conv, "g1", "hello").await.status, 201);
}

#[tokio::test]
async fn a_send_refused_by_one_send_budget_is_not_counted_by_the_other() {
    // The visitor's budget: 2 a minute (one back every 30 s). The app's: 1 every 2 s, no burst.
    let server = TestServer::start_with(&["--limit-sends-per-visitor", "2/1m", "--limit-sends-per-app", "1/2s"]);
    let api = server.api();
    let (_, a) = api.visitor(ACME).await;
    let a_conv = api.open(&a, FLOW_OVERFLOW).await;
    let (_, b) = api.visitor(ACME).await;
    let b_conv = api.open(&b, FLOW_OVERFLOW).await;
    assert_eq!(api.send(&a, &a_conv, "a1", "hi").await.status, 201);
    assert_limited(&api.send(&a, &a_conv, "a2", "hi").await, "messages sent by this app's visitors (limit 1/2s)");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // Refused by the app, the send gave the visitor its token back: this is the visitor's second, not its third.
    assert_eq!(api.send(&a, &a_conv, "a2", "hi").await.status, 201);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    // Refused by its own budget, the visitor's sends never reach the app's: the app's one token is left for b.
    for id in ["a3", "a4", "a5"] {
        assert_limited(&api.send(&a, &a_conv, id, "hi").await, "messages sent by this visitor (limit 2/1m)");
    }
    assert_eq!(api.send(&b, &b_conv, "b1", "hi").await.status, 201);
    assert_eq!(visitor_messages(&api.messages(&a, &a_conv, "").await), 2);
}

#[tokio::test]
async fn typing_and_read_receipts_are_limited_per_visitor() {
    let server = TestServer::start_with(&["--limit-typing-per-visitor", "2/1m", "--limit-reads-per-visitor", "2/1m"]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    assert_eq!(api.send(&token, &conv, "m1", "hi").await.status, 201);
    let typing = format!("/v1/conversations/{conv}/typing");
    let read = format!("/v1/conversations/{conv}/read");
    for _ in 0..2 {
        assert_eq!(api.call("POST", &typing, Some(&token), Some(json!({"typing": true}))).await.status, 204);
        assert_eq!(api.call("POST", &read, Some(&token), Some(json!({"seq": 1}))).await.status, 204);
    }
    let r = api.call("POST", &typing, Some(&token), Some(json!({"typing": false}))).await;
    assert_limited(&r, "typing notices from this visitor");
    assert_limited(&api.call("POST", &read, Some(&token), Some(json!({"seq": 1}))).await, "read receipts");
    // Over the socket the refusal is an `error` frame; the socket stays open.
    let mut ws = Ws::connect(&server, &token).await;
    hello(&mut ws).await;
    ws.send(&ClientFrame::Typing { conversation_id: conv.clone(), typing: true }).await;
    match ws.recv().await {
        ServerFrame::Error { error } => {
            assert_eq!(error.code, ErrorCode::RateLimited);
            assert!(error.retry_after_secs.is_some());
        }
        other => panic!("expected error, got {other:?}"),
    }
    ws.send(&ClientFrame::Ping { nonce: 7 }).await;
    assert_eq!(ws.recv().await, ServerFrame::Pong { nonce: 7 });
}

#[tokio::test]
async fn knowledge_base_searches_are_limited_per_visitor() {
    let server = TestServer::start_with(&["--limit-kb-searches-per-visitor", "2/1m"]);
    let api = server.api();
    super::kb::offer_kb(&api).await;
    let (_, token) = api.visitor(ACME).await;
    let path = "/v1/kb/7/search?q=export";
    for _ in 0..2 {
        assert_eq!(api.get(path, Some(&token)).await.status, 200);
    }
    assert_limited(&api.get(path, Some(&token)).await, "knowledge-base searches by this visitor");
    let (_, other) = api.visitor(ACME).await;
    assert_eq!(api.get(path, Some(&other)).await.status, 200);
}

#[tokio::test]
async fn file_declarations_are_limited_per_visitor() {
    let server = TestServer::start_with(&["--limit-uploads-per-visitor", "2/1m"]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let declaration = |id: &str| {
        json!({"upload_id": id, "file_name": "receipt.pdf", "mime_type": "application/pdf", "size": 1000,
            "sha256": "00".repeat(32)})
    };
    for id in ["one", "two"] {
        assert_eq!(api.call("POST", "/v1/uploads", Some(&token), Some(declaration(id))).await.status, 201);
    }
    let r = api.call("POST", "/v1/uploads", Some(&token), Some(declaration("three"))).await;
    assert_limited(&r, "files declared by this visitor");
    assert_eq!(api.get("/v1/uploads/three", Some(&token)).await.status, 404, "a refused declaration stores nothing");
    let (_, other) = api.visitor(ACME).await;
    assert_eq!(api.call("POST", "/v1/uploads", Some(&other), Some(declaration("three"))).await.status, 201);
}

#[tokio::test]
async fn a_socket_past_its_frame_budget_gets_refusals_and_stays_open() {
    let server = TestServer::start_with(&["--limit-ws-frames-per-socket", "3/1m"]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    let mut ws = Ws::connect(&server, &token).await;
    hello(&mut ws).await;
    for nonce in 0..3 {
        ws.send(&ClientFrame::Ping { nonce }).await;
        assert_eq!(ws.recv().await, ServerFrame::Pong { nonce });
    }
    ws.send(&ClientFrame::Ping { nonce: 3 }).await;
    match ws.recv().await {
        ServerFrame::Error { error } => {
            assert_eq!(error.code, ErrorCode::RateLimited);
            assert!(error.message.contains("frames on this socket"), "{}", error.message);
            assert!(error.retry_after_secs.is_some_and(|s| (1..=20).contains(&s)));
        }
        other => panic!("expected error, got {other:?}"),
    }
    let send = ClientFrame::Send {
        conversation_id: conv.clone(),
        client_message_id: "late".into(),
        body: "hi".into(),
        quick_reply_id: None,
        survey_answer: None,
        attachments: vec![],
    };
    ws.send(&send).await;
    match ws.recv().await {
        ServerFrame::Nack { client_message_id, error } => {
            assert_eq!(client_message_id, "late");
            assert_eq!(error.code, ErrorCode::RateLimited);
        }
        other => panic!("expected nack, got {other:?}"),
    }
    // A new socket has its own budget.
    let mut fresh = Ws::connect(&server, &token).await;
    hello(&mut fresh).await;
    fresh.send(&ClientFrame::Ping { nonce: 9 }).await;
    assert_eq!(fresh.recv().await, ServerFrame::Pong { nonce: 9 });
}

#[tokio::test]
async fn frames_above_the_size_limit_close_both_sockets() {
    let server = TestServer::start_with(&["--ws-max-frame-bytes", "2048"]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let mut ws = Ws::connect(&server, &token).await;
    hello(&mut ws).await;
    // Under the limit: an ordinary refusal of a bad frame, the socket stays.
    ws.send_text(&format!("{{\"type\":\"ping\",\"nonce\":1,\"pad\":\"{}\"}}", "x".repeat(1500))).await;
    assert_eq!(ws.recv().await, ServerFrame::Pong { nonce: 1 });
    ws.send_raw(WsMessage::text("x".repeat(3000))).await;
    assert_eq!(ws.closed_with().await, Some(1009), "message too big");
    let (mut feed, _, _) = Feed::open(&server, ALICE, None).await;
    feed.send_text(&"x".repeat(3000)).await;
    assert_eq!(feed.closed_with().await, Some(1009));
}

#[tokio::test]
async fn an_agent_feed_flooding_frames_is_closed() {
    let server = TestServer::start_with(&["--limit-ws-frames-per-socket", "3/1m"]);
    let (mut feed, _, _) = Feed::open(&server, ALICE, None).await;
    for _ in 0..3 {
        feed.send_text("{}").await;
    }
    feed.send_text("{}").await;
    assert_eq!(feed.closed_with().await, Some(1008), "policy violation");
}

/// Runs the server binary with `args` and `env`, which it must refuse: returns its stderr.
fn refused_at_startup(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatflow-server"))
        .args(database::server_args(&dir.path().join("chatflow.db")))
        .args(["--bind", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn chatflow-server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server started with {args:?} {env:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success(), "{args:?} {env:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_limit_that_is_not_a_rate_stops_the_server_at_startup_naming_the_flag() {
    for flag in [
        "--limit-sends-per-app",
        "--limit-agent-writes-per-agent",
        "--limit-sign-in-failures-per-email",
        "--limit-sign-in-failures-per-address",
    ] {
        let err = refused_at_startup(&[flag, "0/1s"], &[]);
        assert!(err.contains(flag) && err.contains("at least one request"), "{flag}: {err}");
        let err = refused_at_startup(&[flag, "often"], &[]);
        assert!(err.contains(flag) && err.contains("`often` is not a rate"), "{flag}: {err}");
    }
    // The same from the environment: the message still names the flag.
    let err = refused_at_startup(&[], &[("CHATFLOW_LIMIT_AGENT_WRITES_PER_AGENT", "5/0s")]);
    assert!(err.contains("--limit-agent-writes-per-agent") && err.contains("at least one request"), "{err}");
    let err = refused_at_startup(&[], &[("CHATFLOW_LIMIT_SIGN_IN_FAILURES_PER_EMAIL", "5/1d")]);
    assert!(err.contains("--limit-sign-in-failures-per-email") && err.contains("not a rate"), "{err}");
}
