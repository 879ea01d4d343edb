//! Two server processes on one PostgreSQL database: what one node stores reaches the other node's sockets live
//! (LISTEN/NOTIFY, `server/src/cluster`). Runs when the suite runs on PostgreSQL (`CHATFLOW_TEST_POSTGRES`); with
//! `CHATFLOW_REQUIRE_POSTGRES=1` and no cluster it fails instead of skipping.

use std::time::Duration;

use chatflow_protocol::{ClientFrame, ServerFrame};
use serde_json::json;

use super::feed_util::Feed;
use crate::support::*;

/// Two nodes on one database, or `None` on SQLite (one process per file).
fn two_nodes(dir: &tempfile::TempDir) -> Option<(TestServer, TestServer)> {
    if database::postgres_base().is_none() {
        assert!(
            std::env::var("CHATFLOW_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
            "CHATFLOW_REQUIRE_POSTGRES=1 but CHATFLOW_TEST_POSTGRES is not set: the two-node tests cannot run"
        );
        eprintln!("skipped: two nodes need PostgreSQL (CHATFLOW_TEST_POSTGRES)");
        return None;
    }
    let db = dir.path().join("shared.db");
    let a = TestServer::start_on(&db, &[]);
    let b = TestServer::start_on(&db, &[]);
    Some((a, b))
}

/// The next frame of the socket that `pick` accepts, skipping others.
async fn next_where<T>(ws: &mut Ws, mut pick: impl FnMut(ServerFrame) -> Option<T>) -> T {
    loop {
        let frame = ws.try_recv(Duration::from_secs(10)).await.expect("a frame from the other node in time");
        if let Some(found) = pick(frame) {
            return found;
        }
    }
}

/// A visitor's socket on node A that is subscribed (a ping answered) before anything is published.
async fn subscribed(node: &TestServer, token: &str) -> Ws {
    let mut ws = Ws::connect(node, token).await;
    ws.send(&ClientFrame::Ping { nonce: 1 }).await;
    next_where(&mut ws, |f| matches!(f, ServerFrame::Pong { nonce: 1 }).then_some(())).await;
    ws
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reply_through_one_node_reaches_the_visitor_socket_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let Some((a, b)) = two_nodes(&dir) else { return };
    let (_, token) = a.api().visitor(ACME).await;
    let conv = a.api().open(&token, FLOW_SUPPORT).await;
    let mut ws = subscribed(&a, &token).await;
    assert_eq!(b.api().agent_reply(ALICE, &conv, "answered on node B").await.status, 201);
    let message = next_where(&mut ws, |f| match f {
        ServerFrame::Message { message } => Some(message),
        _ => None,
    })
    .await;
    assert_eq!((message.seq, message.body.as_str()), (1, "answered on node B"));
    // A long reply (over a notification's 8000 bytes) arrives too: read back from the database.
    let long = "é".repeat(3000);
    assert_eq!(b.api().agent_reply(ALICE, &conv, &long).await.status, 201);
    let message = next_where(&mut ws, |f| match f {
        ServerFrame::Message { message } => Some(message),
        _ => None,
    })
    .await;
    assert_eq!((message.seq, message.body.len()), (2, long.len()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_feed_on_one_node_shows_what_a_visitor_does_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let Some((a, b)) = two_nodes(&dir) else { return };
    let (mut feed, _, _) = Feed::open(&b, ALICE, None).await;
    let (_, token) = a.api().visitor(ACME).await;
    let conv = a.api().open(&token, FLOW_SUPPORT).await;
    assert_eq!(a.api().send(&token, &conv, "m1", "sent through node A").await.status, 201);
    let m = feed.next_of("message").await;
    assert_eq!(m["message"]["body"], "sent through node A");
    let path = format!("/v1/conversations/{conv}/typing");
    assert_eq!(a.api().call("POST", &path, Some(&token), Some(json!({"typing": true}))).await.status, 204);
    assert_eq!(feed.next_of("typing").await, json!({"type": "typing", "conversation_id": conv, "typing": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_deleted_through_one_node_loses_its_socket_on_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let Some((a, b)) = two_nodes(&dir) else { return };
    let (_, token) = a.api().visitor(ACME).await;
    let mut ws = subscribed(&a, &token).await;
    assert_eq!(b.api().call("DELETE", "/v1/visitor", Some(&token), None).await.status, 204);
    assert!(ws.closed_with().await.is_some(), "the socket on node A closes");
}
