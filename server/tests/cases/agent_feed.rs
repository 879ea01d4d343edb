//! The agents' feed: what it reports (rows, messages, notes, typing, presence), to whom (one app only), resuming by
//! cursor (nothing missing, nothing twice), resync past retention, and a latency measurement (ignored test).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::feed_util::*;
use super::inbox_util::*;
use crate::support::*;

#[tokio::test]
async fn the_feed_reports_its_apps_rows_messages_typing_and_presence_and_nothing_of_another_app() {
    let server = TestServer::start();
    let api = server.api();
    let (mut alice, replayed, _) = Feed::open(&server, ALICE, None).await;
    assert!(replayed.is_empty(), "no replay without `after`");
    let (mut gina, _, _) = Feed::open(&server, GINA, None).await;
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let row = alice.next_row(&conv).await;
    assert_eq!(row["conversation"]["assignee"]["id"], "ag_alice", "routing shows in the new row");
    assert_eq!(api.send(&token, &conv, "m1", "hello from acme").await.status, 201);
    let m = alice.next_of("message").await;
    assert_eq!((m["message"]["seq"].as_u64(), m["message"]["body"].as_str()), (Some(1), Some("hello from acme")));
    assert!(m["cursor"].is_string());
    let row = alice.next_row(&conv).await;
    assert_eq!((row["preview"].as_str(), row["conversation"]["last_seq"].as_u64()), (Some("hello from acme"), Some(1)));
    let path = format!("/v1/conversations/{conv}/typing");
    let r = api.call("POST", &path, Some(&token), Some(json!({"typing": true}))).await;
    assert_eq!(r.status, 204);
    assert_eq!(alice.next_of("typing").await, json!({"type": "typing", "conversation_id": conv, "typing": true}));
    set_presence(&api, BOB, true).await;
    assert_eq!(alice.next_of("presence").await, json!({"type": "presence", "agent_id": "ag_bob", "available": true}));
    // Globex's agent saw none of it, and gets their own app's events.
    let (_, globex_token) = api.visitor(GLOBEX).await;
    let globex_conv = api.open(&globex_token, FLOW_GLOBEX).await;
    let first = gina.recv().await;
    assert_eq!(
        (first["type"].as_str(), first["row"]["conversation"]["id"].as_str()),
        (Some("conversation"), Some(globex_conv.as_str()))
    );
    assert_eq!(alice.try_recv(Duration::from_millis(300)).await, None, "nothing of Globex reaches Acme");
    // A replay never crosses apps either: Gina resuming from 0 sees only Globex's conversation.
    let (_, replayed, _) = Feed::open(&server, GINA, Some("0")).await;
    assert!(!replayed.is_empty());
    for f in &replayed {
        let id = f["row"]["conversation"]["id"].as_str().or(f["message"]["conversation_id"].as_str());
        assert_eq!(id, Some(globex_conv.as_str()), "{f}");
    }
}

/// Every inbox action that changes a row gives a `conversation` event with the new row.
#[tokio::test]
async fn every_row_change_is_reported() {
    let server = TestServer::start();
    let api = server.api();
    let (mut feed, _, _) = Feed::open(&server, ALICE, None).await;
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    feed.next_row(&conv).await;
    api.send(&token, &conv, "m1", "hi").await;
    feed.next_row(&conv).await;
    let read = act(&api, ALICE, "POST", &conv, "/read", Some(json!({"seq": 1}))).await;
    assert_eq!(read.status, 204);
    assert_eq!(feed.next_row(&conv).await["conversation"]["agent_read_seq"], 1);
    let r = api.call("POST", &format!("/v1/conversations/{conv}/read"), Some(&token), Some(json!({"seq": 1}))).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(api.agent_reply(ALICE, &conv, "hello").await.status, 201);
    let row = feed.next_row(&conv).await;
    assert_eq!(row["conversation"]["last_seq"], 2);
    assert_eq!(assign(&api, ALICE, &conv, Some("ag_bob")).await.status, 200);
    assert_eq!(feed.next_row(&conv).await["conversation"]["assignee"]["id"], "ag_bob");
    assert_eq!(act(&api, ALICE, "POST", &conv, "/close", None).await.status, 200);
    assert_eq!(feed.next_row(&conv).await["conversation"]["status"], "closed");
    assert_eq!(act(&api, ALICE, "POST", &conv, "/reopen", None).await.status, 200);
    assert_eq!(feed.next_row(&conv).await["conversation"]["status"], "open");
    assert_eq!(act(&api, ALICE, "POST", &conv, "/spam", None).await.status, 200);
    assert_eq!(feed.next_row(&conv).await["spam"], true);
    assert_eq!(act(&api, ALICE, "POST", &conv, "/block", None).await.status, 200);
    assert_eq!(feed.next_row(&conv).await["blocked"], true);
    assert_eq!(act(&api, ALICE, "POST", &conv, "/unlink-contact", None).await.status, 200);
    assert_eq!(feed.next_row(&conv).await["contact_unlinked"], true);
    let r = act(&api, ALICE, "POST", &conv, "/ticket", None).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let row = feed.next_row(&conv).await;
    assert!(row["ticket_id"].is_number(), "{row}");
    let ticket = row["ticket_id"].as_i64().unwrap();
    let path = format!("/v1/agent/tickets/{ticket}");
    let r = api.call("PATCH", &path, Some(ALICE), Some(json!({"subject": "Refund due"}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(feed.next_row(&conv).await["title"], "Refund due");
    let props = json!({"properties": {"name": "Zoé"}});
    assert_eq!(api.call("PUT", "/v1/visitor/properties", Some(&token), Some(props)).await.status, 200);
    let name = feed.next_row(&conv).await["contact_name"].as_str().unwrap().to_owned();
    assert!(name.starts_with("Visitor #"), "unlinked: the name stays hidden, got {name}");
    let (_, token2) = api.visitor(ACME).await;
    let other = api.open(&token2, FLOW_SUPPORT).await;
    assert_eq!(feed.next_row(&other).await["conversation"]["id"], other.as_str());
}

/// Drops the socket in the middle of a burst and resumes from the last cursor seen: every message arrives exactly
/// once, in cursor order.
#[tokio::test]
async fn resuming_mid_burst_misses_nothing_and_repeats_nothing() {
    const BURST: u64 = 120;
    let server = TestServer::start_with(RAISED_SEND_LIMIT);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let (mut feed, _, mut cursor) = Feed::open(&server, ALICE, None).await;
    let sender = {
        let (api, token, conv) = (api.clone(), token.clone(), conv.clone());
        tokio::spawn(async move {
            for i in 1..=BURST {
                assert_eq!(api.send(&token, &conv, &format!("b{i}"), &format!("burst {i}")).await.status, 201);
            }
        })
    };
    let mut seen: Vec<u64> = Vec::new();
    let mut cursors: Vec<u64> = Vec::new();
    let mut take = |f: &Value, seen: &mut Vec<u64>, cursor: &mut String| {
        if let Some(c) = f["cursor"].as_str() {
            cursors.push(c.parse().unwrap());
            c.clone_into(cursor);
        }
        if f["type"] == "message" {
            seen.push(f["message"]["seq"].as_u64().unwrap());
        }
    };
    while seen.len() < 30 {
        let f = feed.recv().await;
        take(&f, &mut seen, &mut cursor);
    }
    drop(feed);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let (mut feed, replayed, _) = Feed::open(&server, ALICE, Some(&cursor)).await;
    for f in &replayed {
        take(f, &mut seen, &mut cursor);
    }
    while seen.len() < BURST as usize {
        let f = feed.recv().await;
        take(&f, &mut seen, &mut cursor);
    }
    sender.await.unwrap();
    assert_eq!(seen, (1..=BURST).collect::<Vec<_>>(), "every message once, in order");
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "cursors strictly increase across the reconnect");
    assert_eq!(feed.try_recv(Duration::from_millis(200)).await.filter(|f| f["type"] == "message"), None);
}

#[tokio::test]
async fn a_cursor_older_than_retention_gets_resync_and_bad_requests_are_refused() {
    let server = TestServer::start_with(&["--feed-retention", "5"]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    for i in 0..6 {
        api.send(&token, &conv, &format!("m{i}"), "x").await;
    }
    let (_, _, now) = Feed::open(&server, ALICE, None).await;
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(feed_url(&server, Some("1")))
            .unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {ALICE}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut old = Feed::from_stream(ws);
    assert_eq!(old.recv().await, json!({"type": "resync"}));
    assert_eq!(old.closed_with().await, Some(1000));
    // The current cursor resumes fine; one beyond the log (another database) must resync.
    let (_, replayed, _) = Feed::open(&server, ALICE, Some(&now)).await;
    assert!(replayed.is_empty());
    let beyond = (now.parse::<i64>().unwrap() + 1000).to_string();
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(feed_url(
        &server,
        Some(&beyond),
    ))
    .unwrap();
    req.headers_mut().insert("authorization", format!("Bearer {ALICE}").parse().unwrap());
    let (ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(Feed::from_stream(ws).recv().await, json!({"type": "resync"}));
    // Not an upgrade, a bad cursor, no token.
    let r = api.get("/v1/agent/feed", Some(ALICE)).await;
    assert_eq!(r.code(), "invalid_body");
    let r = api.get("/v1/agent/feed?after=abc", Some(ALICE)).await;
    assert_eq!(r.code(), "invalid_field");
    assert_eq!(api.get("/v1/agent/feed", None).await.status, 401);
    assert_eq!(api.get("/v1/agent/feed", Some(&token)).await.status, 401, "a visitor token is not an agent's");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// Latency from a visitor's `PUT …/messages` to the `message` frame on an agent's feed, over 200 messages on
/// loopback. Measured, never asserted: `cargo nextest run -p chatflow-server --run-ignored only feed_latency`.
#[tokio::test]
#[ignore = "benchmark: prints figures"]
async fn feed_latency() {
    let server = TestServer::start_with(RAISED_SEND_LIMIT);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let (mut feed, _, _) = Feed::open(&server, ALICE, None).await;
    let mut ws = ready_ws(&server, &token).await;
    let (mut lat, mut floor) = (Vec::new(), Vec::new());
    for i in 0..220 {
        let client_id = format!("l{i}");
        let start = Instant::now();
        let send = api.send(&token, &conv, &client_id, "latency probe");
        let feed_frame = async {
            loop {
                if feed.recv().await["type"] == "message" {
                    return Instant::now();
                }
            }
        };
        // The floor: the same message pushed to the visitor's own socket straight from the hub (no log read).
        let visitor_frame = async {
            loop {
                if matches!(ws.recv().await, chatflow_protocol::ServerFrame::Message { .. }) {
                    return Instant::now();
                }
            }
        };
        let (reply, at_feed, at_visitor) = tokio::join!(send, feed_frame, visitor_frame);
        assert_eq!(reply.status, 201);
        if i >= 20 {
            lat.push(at_feed - start);
            floor.push(at_visitor - start);
        }
    }
    lat.sort();
    floor.sort();
    println!(
        "feed latency over {} messages: p50 {:?} p99 {:?}; visitor socket (hub, floor) p50 {:?} p99 {:?}",
        lat.len(),
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&floor, 0.5),
        percentile(&floor, 0.99)
    );
}

#[tokio::test]
async fn a_server_stop_closes_the_feed_with_1001() {
    let server = TestServer::start();
    let (mut feed, _, _) = Feed::open(&server, ALICE, None).await;
    let stopping = tokio::task::spawn_blocking(move || server.stop());
    assert_eq!(feed.closed_with().await, Some(1001));
    stopping.await.unwrap();
}
