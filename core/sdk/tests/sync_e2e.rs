//! End-to-end messaging against the real server on loopback: send with local echo and ack, offline queue, live
//! agent replies, unread counts and read markers, typing, history, pause/resume, events.

mod support;
mod sync_common;

use std::collections::HashSet;

use chatflow_core::events::{ChatEvent, ConnectionState};
use chatflow_core::model::MessageState;
use chatflow_core::protocol::AuthorKind;
use serde_json::json;
use support::{TestServer, AGENT, FLOW_BILLING_EXPLICIT, FLOW_SALES_LEGIT, FLOW_SUPPORT_EN};
use sync_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_message_is_echoed_at_once_then_confirmed_once() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;

    let echo = client.send(&conv.id, "hello there").unwrap();
    assert_eq!(echo.seq, None);
    assert!(matches!(echo.state, MessageState::Queued | MessageState::Sending));
    let cid = echo.client_message_id.clone().unwrap();
    assert_eq!(uuid::Uuid::parse_str(&cid).unwrap().get_version_num(), 7, "client ids are UUIDv7");

    let confirmed = wait_for("the ack", 30, || {
        stored_confirmed(&client, &conv.id).into_iter().find(|m| m.client_message_id.as_deref() == Some(&cid))
    })
    .await;
    assert_eq!(confirmed.local_id, echo.local_id, "the echo row became the confirmed message");
    assert_eq!(confirmed.state, MessageState::Sent);
    assert!(client.pending_sends().unwrap().is_empty());
    assert_eq!(outbox_len(&client), 0);

    let on_server = server_messages(&server.http(), &support::visitor_token(&client), &conv.id).await;
    let mine: Vec<_> = on_server.iter().filter(|m| m.client_message_id.as_deref() == Some(&cid)).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].body, "hello there");
    assert_eq!(Some(mine[0].seq as i64), confirmed.seq);

    // Events: the replay came first, then the echo, then its confirmation.
    let seen = events.snapshot();
    assert!(matches!(seen[0], ChatEvent::ConnectionChanged { .. }), "{:?}", seen[0]);
    assert!(matches!(seen[1], ChatEvent::PendingSends { .. }));
    assert!(matches!(seen[2], ChatEvent::UnreadCountsChanged { .. }));
    let echo_at = seen
        .iter()
        .position(|e| matches!(e, ChatEvent::MessagesChanged { messages, .. } if messages.iter().any(|m| m.seq.is_none() && m.client_message_id.as_deref() == Some(&cid))))
        .expect("the echo was announced");
    let confirmed_at = wait_for("the confirmation event", 10, || {
        events.snapshot().iter().position(|e| matches!(e, ChatEvent::MessagesChanged { messages, .. } if messages.iter().any(|m| m.seq.is_some() && m.client_message_id.as_deref() == Some(&cid))))
    })
    .await;
    assert!(echo_at < confirmed_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_sent_offline_are_delivered_once_in_order_when_the_server_is_back() {
    let mut server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    server.stop();
    wait_for("the client to notice", 60, || (client.connection_state() != ConnectionState::Online).then_some(())).await;

    let mut ids = Vec::new();
    for i in 0..5 {
        let echo = client.send(&conv.id, &format!("offline {i}")).unwrap();
        ids.push(echo.client_message_id.unwrap());
    }
    assert_eq!(client.pending_sends().unwrap().len(), 5);
    // A few failed tries while the server is down change nothing.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(outbox_len(&client), 5);

    server.restart();
    client.resume().unwrap();
    wait_for("the queue to drain", 60, || (outbox_len(&client) == 0).then_some(())).await;
    let on_server = server_messages(&server.http(), &support::visitor_token(&client), &conv.id).await;
    let visitor: Vec<_> = visitor_only(&on_server).into_iter().filter_map(|m| m.client_message_id.clone()).collect();
    assert_eq!(visitor, ids, "each queued message exactly once, in order");
    let local: Vec<_> = stored_confirmed(&client, &conv.id)
        .into_iter()
        .filter(|m| m.author.kind == AuthorKind::Visitor)
        .filter_map(|m| m.client_message_id)
        .collect();
    assert_eq!(local, ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_replies_arrive_live_count_as_unread_until_read() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    let before = client.unread_counts().unwrap().total;

    let reply = agent_reply(&server.http(), AGENT, &conv.id, "how can I help?").await;
    wait_for("the live reply", 30, || {
        stored_confirmed(&client, &conv.id).into_iter().find(|m| m.seq == Some(reply.seq as i64))
    })
    .await;
    let unread = client.unread_counts().unwrap();
    assert_eq!(unread.total, before + 1);
    assert!(unread.counts.iter().any(|c| c.conversation_id == conv.id));
    // Events reach the listener on its own thread, just after the store write the wait above saw.
    wait_for("the unread count event", 30, || {
        events.any(|e| matches!(e, ChatEvent::UnreadCountsChanged { total, .. } if *total == before + 1)).then_some(())
    })
    .await;

    client.mark_read(&conv.id, None).unwrap();
    assert_eq!(client.unread_counts().unwrap().total, 0);
    // The server learns it (read receipt over the socket, echoed back as a `read` frame).
    let token = support::visitor_token(&client);
    let http = server.http();
    for _ in 0..250 {
        let c: serde_json::Value =
            match http.get(&format!("/v1/conversations/{}", conv.id), Some(&token), None).await.unwrap() {
                chatflow_core::transport::Fetched::Fresh { body, .. } => body,
                _ => unreachable!(),
            };
        if c["visitor_read_seq"].as_u64() == Some(reply.seq) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the server never got the read receipt");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_typing_shows_then_expires_by_itself() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    // Our own typing goes out throttled (no assertion on the server's view: ephemeral).
    client.set_typing(&conv.id, true).unwrap();
    client.set_typing(&conv.id, false).unwrap();

    let _: () = server
        .http()
        .post(&format!("/v1/agent/conversations/{}/typing", conv.id), Some(AGENT), Some(&json!({ "typing": true })))
        .await
        .unwrap();
    let is_typing = |typing: bool| move |e: &ChatEvent| matches!(e, ChatEvent::Typing { author, typing: t, .. } if author.kind == AuthorKind::Agent && *t == typing);
    wait_for("typing on", 30, || events.any(is_typing(true)).then_some(())).await;
    // Nobody sends "stopped": it expires on its own.
    wait_for("typing to expire", 30, || events.any(is_typing(false)).then_some(())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_answers_from_the_store_and_fetches_missing_pages() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    client.pause();
    let http = server.http();
    for i in 0..30 {
        agent_reply(&http, AGENT, &conv.id, &format!("old {i}")).await;
    }
    let total = server_messages(&http, &support::visitor_token(&client), &conv.id).await.len() as i64;
    // Offline-paused client: the conversation row says nothing is stored yet; the latest page is fetched.
    client.refresh_conversations().await.unwrap();
    let before_fetch = client.messages_on_device(&conv.id, None, 10).unwrap();
    assert!(!before_fetch.complete, "nothing stored yet: the device page is incomplete");
    assert!(before_fetch.messages.iter().all(|m| m.seq.is_none()), "{:?}", before_fetch.messages);
    let latest = client.messages(&conv.id, None, 10).await.unwrap();
    let on_device = client.messages_on_device(&conv.id, None, 10).unwrap();
    assert!(on_device.complete);
    assert_eq!(on_device.messages, latest, "the device answers the fetched page as it is");
    assert!(!client.messages_on_device(&conv.id, Some(total - 9), 10).unwrap().complete, "older page not fetched yet");
    let seqs: Vec<i64> = latest.iter().filter_map(|m| m.seq).collect();
    assert_eq!(seqs, ((total - 9)..=total).collect::<Vec<_>>());
    let older = client.messages(&conv.id, Some(total - 9), 10).await.unwrap();
    let seqs: Vec<i64> = older.iter().filter_map(|m| m.seq).collect();
    assert_eq!(seqs, ((total - 19)..=(total - 10)).collect::<Vec<_>>());
    // Already stored: answered locally even with the server gone.
    drop(server);
    let again = client.messages(&conv.id, Some(total - 9), 10).await.unwrap();
    assert_eq!(again, older);
    let on_device = client.messages_on_device(&conv.id, Some(total - 9), 10).unwrap();
    assert_eq!((on_device.messages, on_device.complete), (older, true));
    let unknown = client.messages_on_device("no-such-conversation", None, 10).unwrap_err();
    assert!(matches!(unknown, chatflow_core::Error::NotFound { .. }), "{unknown:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_goes_offline_and_resume_catches_up() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let events = Recorder::new();
    let _sub = client.subscribe(events.clone()).unwrap();
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    client.pause();
    wait_for("offline", 30, || (client.connection_state() == ConnectionState::Offline).then_some(())).await;
    let http = server.http();
    let mut expected = HashSet::new();
    for i in 0..7 {
        expected.insert(agent_reply(&http, AGENT, &conv.id, &format!("while paused {i}")).await.seq as i64);
    }
    let queued = client.send(&conv.id, "written in the background").unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(outbox_len(&client), 1, "paused: nothing is sent");
    client.resume().unwrap();
    wait_online(&client, 30).await;
    wait_for("catch-up and the queued send", 30, || {
        let stored = stored_confirmed(&client, &conv.id);
        let seqs: HashSet<i64> = stored.iter().filter_map(|m| m.seq).collect();
        (expected.is_subset(&seqs) && stored.iter().any(|m| m.client_message_id == queued.client_message_id))
            .then_some(())
    })
    .await;
    assert!(events.any(|e| matches!(e, ChatEvent::ConnectionChanged { state: ConnectionState::Offline })));
    let conv_now = client.conversations().unwrap().into_iter().find(|c| c.id == conv.id).unwrap();
    assert_eq!(conv_now.synced_seq, conv_now.last_seq);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_can_be_edited_and_deleted() {
    let mut server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    server.stop();
    let a = client.send(&conv.id, "tpyo").unwrap();
    let b = client.send(&conv.id, "never mind").unwrap();
    let a_id = a.client_message_id.unwrap();
    let b_id = b.client_message_id.unwrap();
    // Edits and deletes may be refused while a try is on the wire; a few attempts settle it.
    let mut edited = None;
    for _ in 0..200 {
        if let Ok(m) = client.edit_queued(&a_id, "typo") {
            edited = Some(m);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(edited.expect("edit accepted").body, "typo");
    let mut deleted = false;
    for _ in 0..200 {
        if client.delete_queued(&b_id).is_ok() {
            deleted = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(deleted);
    assert!(client.delete_queued(&b_id).is_err(), "already gone");
    assert!(matches!(client.send(&conv.id, "   "), Err(chatflow_core::Error::InvalidInput { .. })));
    assert!(matches!(client.send(&conv.id, &"x".repeat(4001)), Err(chatflow_core::Error::InvalidInput { .. })));

    server.restart();
    client.resume().unwrap();
    wait_for("the queue to drain", 60, || (outbox_len(&client) == 0).then_some(())).await;
    let on_server = server_messages(&server.http(), &support::visitor_token(&client), &conv.id).await;
    let bodies: Vec<&str> = visitor_only(&on_server).iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, vec!["typo"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_is_wedged_with_the_code_and_goes_after_consent_on_retry() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    // The chatflow list is not cached yet, so the local gate cannot know consent is required: the server refuses.
    let conv = client.open_conversation(FLOW_BILLING_EXPLICIT).await.unwrap();
    let first = client.send(&conv.id, "about my invoice").unwrap();
    let later = client.send(&conv.id, "and another thing").unwrap();
    let wedged =
        wait_for("the refusal", 30, || {
            client.pending_sends().unwrap().into_iter().find(|m| {
                m.client_message_id == first.client_message_id && matches!(m.state, MessageState::Wedged { .. })
            })
        })
        .await;
    assert!(
        matches!(&wedged.state, MessageState::Wedged { code: chatflow_core::protocol::ErrorCode::ConsentRequired, .. }),
        "{:?}",
        wedged.state
    );
    // The next message was not blocked by the wedged one (it is refused for the same reason).
    wait_for("the second refusal", 30, || {
        client
            .pending_sends()
            .unwrap()
            .into_iter()
            .find(|m| m.client_message_id == later.client_message_id && matches!(m.state, MessageState::Wedged { .. }))
    })
    .await;

    // Now the app shows the consent text, the visitor accepts, and the app retries.
    client.refresh_chatflows().await.unwrap();
    assert!(
        matches!(client.send(&conv.id, "blocked"), Err(chatflow_core::Error::ConsentRequired { .. })),
        "the local gate now knows"
    );
    client.accept_consent(FLOW_BILLING_EXPLICIT, None).unwrap();
    client.retry_send(first.client_message_id.as_deref().unwrap()).unwrap();
    client.retry_send(later.client_message_id.as_deref().unwrap()).unwrap();
    wait_for("the queue to drain", 60, || (outbox_len(&client) == 0).then_some(())).await;
    let on_server = server_messages(&server.http(), &support::visitor_token(&client), &conv.id).await;
    let ids: Vec<_> = visitor_only(&on_server).iter().map(|m| m.client_message_id.clone()).collect();
    assert_eq!(ids, vec![first.client_message_id, later.client_message_id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legitimate_interest_queues_an_implied_consent_delivered_before_the_first_message() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    client.refresh_chatflows().await.unwrap();
    let conv = client.open_conversation(FLOW_SALES_LEGIT).await.unwrap();
    client.send(&conv.id, "hi sales").unwrap();
    client.send(&conv.id, "second").unwrap();
    wait_for("the queue to drain", 60, || (outbox_len(&client) == 0).then_some(())).await;
    let synced: i64 = client
        .store()
        .read(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM consents WHERE decision = 'implied' AND synced = 1", [], |r| {
                r.get(0)
            })?)
        })
        .unwrap();
    assert_eq!(synced, 1, "one implied record, delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_stops_the_old_visitors_sync_and_the_next_visitor_starts_clean() {
    let server = TestServer::start();
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    client.pause();
    client.send(&conv.id, "never sent").unwrap();
    client.logout().await.unwrap();
    assert_eq!(outbox_len(&client), 0);
    assert!(client.conversations().unwrap().is_empty());
    assert!(client.pending_sends().unwrap().is_empty());
    client.resume().unwrap();
    // No visitor any more: nothing to connect as.
    wait_for("offline without a visitor", 30, || (client.connection_state() == ConnectionState::Offline).then_some(()))
        .await;

    let fresh = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    assert_ne!(fresh.id, conv.id);
    wait_online(&client, 30).await;
    let echo = client.send(&fresh.id, "new visitor").unwrap();
    wait_for("delivery", 30, || (outbox_len(&client) == 0).then_some(())).await;
    let ids: Vec<_> = client.conversations().unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![fresh.id.clone()], "nothing of the previous visitor came back");
    let stored = stored_confirmed(&client, &fresh.id);
    assert!(stored.iter().any(|m| m.client_message_id == echo.client_message_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_survey_arrives_typed_and_an_offline_answer_is_delivered_once() {
    use chatflow_core::model::MessageSurvey;
    use chatflow_core::protocol::MessageSurvey as WireSurvey;
    let mut server = TestServer::start();
    server.admin_edit_chatflow(FLOW_SUPPORT_EN, |f| f["csat_survey"] = json!(true)).await;
    let dir = support::storage();
    let client = support::open(&server, dir.path());
    let conv = client.open_conversation(FLOW_SUPPORT_EN).await.unwrap();
    wait_online(&client, 30).await;
    client.send(&conv.id, "hello").unwrap();
    wait_for("the ack", 30, || (outbox_len(&client) == 0).then_some(())).await;
    agent_reply(&server.http(), AGENT, &conv.id, "Hi! Solved?").await;
    let path = format!("/v1/agent/conversations/{}/close", conv.id);
    let _: serde_json::Value = server.http().post(&path, Some(AGENT), None::<&serde_json::Value>).await.unwrap();

    let prompt = wait_for("the survey", 30, || {
        stored_confirmed(&client, &conv.id).into_iter().find(|m| matches!(m.survey, Some(MessageSurvey::Prompt(_))))
    })
    .await;
    let seq = prompt.seq.unwrap();
    assert_eq!(prompt.author.kind, AuthorKind::System);
    let Some(MessageSurvey::Prompt(p)) = &prompt.survey else { unreachable!() };
    assert_eq!((p.scale_min, p.scale_max), (1, 5));
    // Checked before queuing.
    let err = client.answer_survey(&conv.id, seq, 6, None).unwrap_err().to_string();
    assert!(err.contains("between 1 and 5, got 6"), "{err}");
    assert!(client.answer_survey(&conv.id, seq - 1, 3, None).is_err(), "not a survey");
    // Kotlin and Swift pass signed numbers: out-of-range ones are refused with the same errors, never wrapped.
    let err = client.answer_survey(&conv.id, seq, -1, None).unwrap_err().to_string();
    assert!(err.contains("between 1 and 5, got -1"), "{err}");
    let err = client.answer_survey(&conv.id, seq, 261, None).unwrap_err().to_string();
    assert!(err.contains("between 1 and 5, got 261"), "{err}");
    let err = client.answer_survey(&conv.id, -seq, 3, None).unwrap_err().to_string();
    assert!(err.contains(&format!("survey at seq -{seq}")), "{err}");

    // Answered offline: queued with its echo, delivered once when the server is back.
    server.stop();
    wait_for("the client to notice", 60, || (client.connection_state() != ConnectionState::Online).then_some(())).await;
    let echo = client.answer_survey(&conv.id, seq, 5, Some("great help".into())).unwrap();
    assert_eq!(echo.body, "★★★★★ 5/5\ngreat help");
    assert!(matches!(echo.survey, Some(MessageSurvey::Answer(ref a)) if a.rating == 5 && a.survey_seq == seq));
    let again = client.answer_survey(&conv.id, seq, 4, None).unwrap_err().to_string();
    assert!(again.contains("already answered"), "{again}");
    server.restart();
    client.resume().unwrap();
    wait_for("the queue to drain", 60, || (outbox_len(&client) == 0).then_some(())).await;
    let on_server = server_messages(&server.http(), &support::visitor_token(&client), &conv.id).await;
    let answers: Vec<_> = on_server.iter().filter(|m| matches!(m.survey, Some(WireSurvey::Answer(_)))).collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].client_message_id, echo.client_message_id);
    let local = stored_confirmed(&client, &conv.id);
    assert!(local
        .iter()
        .any(|m| m.local_id == echo.local_id && m.survey == answers[0].survey.as_ref().map(Into::into)));
}
