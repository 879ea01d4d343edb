//! Catch-up of 10,000 messages missed while offline: everything lands in the store, contiguous, in batches (one
//! event per page, not per row), with the right unread count.

mod support;
mod sync_common;

use std::time::Duration;

use chatflow_core::events::{ChatEvent, ConnectionState};
use chatflow_core::protocol::AuthorKind;
use futures_util::future::join_all;
use support::{TestServer, AGENT, FLOW_SUPPORT_EN};
use sync_common::*;

const MISSED: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_missed_offline_are_caught_up_in_batches() {
    let server = TestServer::start_with(support::RAISED_AGENT_WRITES);
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    client.pause();
    wait_for("offline", 30, || (client.connection_state() == ConnectionState::Offline).then_some(())).await;

    let http = server.http();
    for chunk in 0..(MISSED / 100) {
        let posts = (0..100).map(|i| {
            let http = http.clone();
            let id = conv.id.clone();
            async move { agent_reply(&http, AGENT, &id, &format!("missed {}", chunk * 100 + i)).await }
        });
        join_all(posts).await;
    }
    let on_server = server_messages(&http, &support::visitor_token(&client), &conv.id).await;
    let last = on_server.last().unwrap().seq;
    assert!(on_server.len() >= MISSED);

    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    client.resume().unwrap();
    wait_for("the catch-up", 300, || {
        client
            .conversations()
            .unwrap()
            .into_iter()
            .find(|c| c.id == conv.id)
            .filter(|c| c.synced_seq == last as i64)
            .map(|_| ())
    })
    .await;

    let stored = stored_confirmed(&client, &conv.id);
    let seqs: Vec<i64> = stored.iter().map(|m| m.seq.unwrap()).collect();
    assert_eq!(seqs, (1..=last as i64).collect::<Vec<_>>(), "contiguous, nothing missing, nothing twice");
    let remote: Vec<(i64, String)> = on_server.iter().map(|m| (m.seq as i64, m.body.clone())).collect();
    let local: Vec<(i64, String)> = stored.iter().map(|m| (m.seq.unwrap(), m.body.clone())).collect();
    assert_eq!(local, remote);
    let from_team = stored.iter().filter(|m| m.author.kind != AuthorKind::Visitor).count() as i32;
    assert_eq!(client.unread_counts().unwrap().total, from_team);

    wait_online(&client, 30).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let batches = events
        .snapshot()
        .iter()
        .filter(|e| matches!(e, ChatEvent::MessagesChanged { conversation_id, .. } if *conversation_id == conv.id))
        .count();
    assert!(batches <= MISSED / 100, "{batches} message events for {MISSED} messages: not batched");
    assert!(events.any(|e| matches!(e, ChatEvent::CaughtUp { received, .. } if *received as usize >= MISSED)));
}
