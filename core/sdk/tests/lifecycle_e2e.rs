//! The app going to the background and coming back, against the real server on loopback: what is queued goes out
//! before the socket closes, a quick return keeps the socket, an unreachable server leaves work for a later job.

mod support;
mod sync_common;

use std::time::Duration;

use chatflow_core::events::{ChatEvent, ConnectionState};
use chatflow_core::sync::lifecycle::BackgroundPolicy;
use support::{TestServer, FLOW_SUPPORT_EN};
use sync_common::*;

fn policy(grace_ms: u64, deadline_ms: u64) -> BackgroundPolicy {
    BackgroundPolicy::new(Duration::from_millis(grace_ms), Duration::from_millis(deadline_ms)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_written_just_before_the_app_leaves_is_sent_before_the_socket_closes() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    // Paused and offline, as a manual pause left it: before, the message waited for the next foreground.
    client.pause();
    let queued = client.send(&conv.id, "sent on the way out").unwrap();
    assert_eq!(outbox_len(&client), 1);

    let outcome = client.enter_background_with(policy(300, 20_000)).await.unwrap();
    assert_eq!(outcome.still_queued, 0, "{outcome:?}");
    assert!(!outcome.interrupted);
    assert_eq!(outbox_len(&client), 0);
    let on_server = server_messages(&server.http(), &support::visitor_token(&client), &conv.id).await;
    assert!(on_server.iter().any(|m| m.client_message_id == queued.client_message_id), "delivered before it resolved");
    wait_for("the socket closed", 10, || (client.connection_state() == ConnectionState::Offline).then_some(())).await;

    // Closed for good: a reply from the team is not received until the app is back.
    let http = server.http();
    let reply = agent_reply(&http, support::AGENT, &conv.id, "answered while away").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(stored_confirmed(&client, &conv.id).iter().all(|m| m.seq != Some(reply.seq as i64)));
    client.resume().unwrap();
    wait_for("catch-up after coming back", 30, || {
        stored_confirmed(&client, &conv.id).iter().any(|m| m.seq == Some(reply.seq as i64)).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coming_back_within_the_grace_keeps_the_socket() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    let online_events = events.snapshot().len();

    let away = tokio::spawn({
        let client = client.clone();
        async move { client.enter_background_with(policy(10_000, 20_000)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(client.connection_state(), ConnectionState::Online, "the socket stays during the grace");
    client.resume().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(5), away).await.expect("resume ends it").unwrap().unwrap();
    assert!(outcome.interrupted, "{outcome:?}");
    assert_eq!(outcome.still_queued, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = &events.snapshot()[online_events..];
    assert!(
        !later.iter().any(|e| matches!(e, ChatEvent::ConnectionChanged { .. })),
        "no disconnect, no reconnect: {later:?}"
    );
    assert_eq!(client.connection_state(), ConnectionState::Online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_leaves_the_message_queued_for_a_later_background_job() {
    let mut server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    server.stop();
    let queued = client.send(&conv.id, "written in a tunnel").unwrap();

    let outcome = client.enter_background_with(policy(0, 1_500)).await.unwrap();
    assert_eq!(outcome.still_queued, 1, "the glue schedules a later job: {outcome:?}");
    assert!(!outcome.interrupted);
    wait_for("offline, not retrying", 10, || (client.connection_state() == ConnectionState::Offline).then_some(()))
        .await;

    // The later job (WorkManager, background processing) runs another background period once the network is back.
    server.restart();
    let outcome = client.enter_background_with(policy(0, 20_000)).await.unwrap();
    assert_eq!(outcome.still_queued, 0, "{outcome:?}");
    let on_server = server_messages(&server.http(), &support::visitor_token(&client), &conv.id).await;
    assert_eq!(
        on_server.iter().filter(|m| m.client_message_id == queued.client_message_id).count(),
        1,
        "delivered once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_background_supersedes_the_first() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.enter_background_with(policy(10_000, 20_000)).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = client.enter_background_with(policy(100, 20_000)).await.unwrap();
    assert!(!second.interrupted);
    let first = tokio::time::timeout(Duration::from_secs(5), first).await.unwrap().unwrap().unwrap();
    assert!(first.interrupted, "the newer period decides: {first:?}");
    wait_for("closed by the newer period", 10, || {
        (client.connection_state() == ConnectionState::Offline).then_some(())
    })
    .await;
}
