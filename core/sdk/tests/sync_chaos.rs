//! 1,000 messages sent through a fault-injecting proxy (connections cut mid-frame, chunks delayed) between the SDK
//! and the real server: the server holds each exactly once, in order, and the client store ends equal to the server.

mod support;
mod sync_common;

use std::net::SocketAddr;
use std::time::Duration;

use chatflow_core::client::ChatClient;
use support::fault_proxy::{FaultProxy, Faults};
use support::{TestServer, FLOW_SUPPORT_EN};
use sync_common::*;

const MESSAGES: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_messages_through_a_faulty_network_arrive_exactly_once_in_order() {
    let server = TestServer::start_with(support::RAISED_SEND_LIMIT);
    let upstream: SocketAddr = format!("127.0.0.1:{}", server.port).parse().unwrap();
    let seed = std::env::var("CHATFLOW_CHAOS_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_240_601);
    let proxy = FaultProxy::start(upstream, Faults { seed, cut_probability: 1.0, ..Faults::default() }).await;
    let mut config = server.config();
    config.server_url = proxy.url();
    let dir = support::storage();
    let client = ChatClient::open(config, dir.path()).unwrap();

    // Even opening the conversation goes through the faulty network: the app would retry, so does the test.
    let mut conv = None;
    for _ in 0..100 {
        match client.open_conversation(FLOW_SUPPORT_EN).await {
            Ok(c) => {
                conv = Some(c);
                break;
            }
            Err(e) => {
                assert!(e.is_recoverable(), "{e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let conv = conv.expect("a conversation through the proxy");
    client.resume().unwrap();

    let mut ids = Vec::with_capacity(MESSAGES);
    for batch in 0..(MESSAGES / 50) {
        for i in 0..50 {
            let echo = client.send(&conv.id, &format!("message {}", batch * 50 + i)).unwrap();
            ids.push(echo.client_message_id.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Most of the work happens under faults; the network heals after a bounded while so the test ends.
    for _ in 0..(60 * 50) {
        if outbox_len(&client) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let left_under_faults = outbox_len(&client);
    proxy.heal();
    client.resume().unwrap();
    wait_for("the queue to drain", 180, || (outbox_len(&client) == 0).then_some(())).await;

    let token = support::visitor_token(&client);
    let on_server = server_messages(&server.http(), &token, &conv.id).await;
    let visitor: Vec<String> = visitor_only(&on_server).iter().filter_map(|m| m.client_message_id.clone()).collect();
    assert_eq!(visitor.len(), MESSAGES, "the server holds exactly {MESSAGES} visitor messages");
    assert_eq!(visitor, ids, "in the order they were sent");

    // The store converges to the server: same seqs, ids and bodies.
    let last = on_server.last().map_or(0, |m| m.seq);
    wait_for("the store to catch up", 120, || {
        client
            .conversations()
            .unwrap()
            .into_iter()
            .find(|c| c.id == conv.id)
            .filter(|c| c.synced_seq >= last as i64)
            .map(|_| ())
    })
    .await;
    let local: Vec<(i64, Option<String>, String)> = stored_confirmed(&client, &conv.id)
        .into_iter()
        .map(|m| (m.seq.unwrap(), m.client_message_id, m.body))
        .collect();
    let remote: Vec<(i64, Option<String>, String)> =
        on_server.into_iter().map(|m| (m.seq as i64, m.client_message_id, m.body)).collect();
    assert_eq!(local, remote);
    assert!(client.pending_sends().unwrap().is_empty());

    let cuts = proxy.stats.cuts.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "fault proxy: {} (seed {seed}); {left_under_faults} messages still queued when it healed",
        proxy.summary()
    );
    assert!(cuts >= 5, "the proxy must actually have cut connections: {}", proxy.summary());
}
