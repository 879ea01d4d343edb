//! The realtime WebSocket: hello, live delivery, resume with backlog, send ack/nack, typing, read, close/reopen,
//! ping/pong, bad frames, heartbeats, session end.

use std::time::Duration;

use chatflow_protocol::{AuthorKind, ClientFrame, ConversationCursor, Reader, ServerFrame};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::support::*;

async fn hello(ws: &mut Ws) -> String {
    match ws.recv().await {
        ServerFrame::Hello { visitor_id, heartbeat_interval_ms, server_time } => {
            assert!(heartbeat_interval_ms > 0 && server_time > 0);
            visitor_id
        }
        other => panic!("expected hello, got {other:?}"),
    }
}

/// Skips frames until one matches.
async fn until<T>(ws: &mut Ws, mut f: impl FnMut(ServerFrame) -> Option<T>) -> T {
    loop {
        if let Some(t) = f(ws.recv().await) {
            return t;
        }
    }
}

#[tokio::test]
async fn live_messages_reach_every_socket_of_the_visitor_in_order() {
    let server = TestServer::start();
    let api = server.api();
    let (visitor_id, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    let mut phone = Ws::connect(&server, &token).await;
    let mut tablet = Ws::connect(&server, &token).await;
    assert_eq!(hello(&mut phone).await, visitor_id);
    hello(&mut tablet).await;
    // A ping round-trip proves the sockets are subscribed before the replies are published.
    for ws in [&mut phone, &mut tablet] {
        ws.send(&ClientFrame::Ping { nonce: 1 }).await;
        assert_eq!(ws.recv().await, ServerFrame::Pong { nonce: 1 });
    }
    for i in 1..=5 {
        assert_eq!(api.agent_reply(ALICE, &conv, &format!("reply {i}")).await.status, 201);
    }
    for ws in [&mut phone, &mut tablet] {
        // The first reply assigns the unassigned conversation.
        let agent = until(ws, |f| match f {
            ServerFrame::Assigned { agent, .. } => Some(agent),
            _ => None,
        })
        .await;
        assert_eq!(agent.unwrap().id, "ag_alice");
        let mut seqs = Vec::new();
        while seqs.len() < 5 {
            if let ServerFrame::Message { message } = ws.recv().await {
                assert_eq!(message.author.kind, AuthorKind::Agent);
                assert_eq!(message.conversation_id, conv);
                seqs.push(message.seq);
            }
        }
        assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
    }
    // Another visitor hears nothing.
    let (_, other) = api.visitor(ACME).await;
    let mut stranger = Ws::connect(&server, &other).await;
    hello(&mut stranger).await;
    api.agent_reply(ALICE, &conv, "private").await;
    assert!(stranger.try_recv(Duration::from_millis(300)).await.is_none());
}

#[tokio::test]
async fn resume_sends_the_backlog_then_resumed_then_live() {
    let server = TestServer::start_with(RAISED_SEND_LIMIT);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let quiet = api.open(&token, FLOW_OVERFLOW).await;
    for i in 1..=120 {
        // Long bodies so the backlog needs several frames.
        assert_eq!(api.send(&token, &conv, &format!("m{i}"), &format!("{i}:{}", "x".repeat(1_000))).await.status, 201);
    }
    let mut ws = Ws::connect(&server, &token).await;
    hello(&mut ws).await;
    let cursors = vec![
        ConversationCursor { conversation_id: conv.clone(), last_seq: 7 },
        ConversationCursor { conversation_id: quiet.clone(), last_seq: 0 },
        ConversationCursor { conversation_id: "not-mine".into(), last_seq: 0 },
    ];
    ws.send(&ClientFrame::Resume { cursors }).await;
    let mut got = Vec::new();
    let mut frames = 0;
    let mut errors = 0;
    loop {
        match ws.recv().await {
            ServerFrame::Backlog { conversation_id, messages } => {
                assert_eq!(conversation_id, conv);
                frames += 1;
                got.extend(messages.iter().map(|m| m.seq));
            }
            ServerFrame::Error { error } => {
                assert_eq!(error.code, chatflow_protocol::ErrorCode::NotFound);
                errors += 1;
            }
            ServerFrame::Resumed => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, (8..=120).collect::<Vec<_>>(), "every missed message once, in order");
    assert!(frames > 1, "the backlog is chunked");
    assert_eq!(errors, 1, "a foreign conversation is reported, the others resumed");
    // Live frames follow, without duplicates of the backlog.
    api.agent_reply(ALICE, &conv, "live").await;
    let live = until(&mut ws, |f| match f {
        ServerFrame::Message { message } => Some(message),
        _ => None,
    })
    .await;
    assert_eq!(live.seq, 121);
}

#[tokio::test]
async fn send_frames_are_acked_or_nacked_and_idempotent() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let gated = api.open(&token, FLOW_EXPLICIT).await;
    let mut ws = Ws::connect(&server, &token).await;
    hello(&mut ws).await;
    let send = |conversation_id: &str, id: &str, body: &str| ClientFrame::Send {
        conversation_id: conversation_id.into(),
        client_message_id: id.into(),
        body: body.into(),
        quick_reply_id: None,
        survey_answer: None,
        attachments: Vec::new(),
    };
    ws.send(&send(&conv, "ws-1", "over the socket")).await;
    let acked = until(&mut ws, |f| match f {
        ServerFrame::Ack { client_message_id, message } => Some((client_message_id, message)),
        _ => None,
    })
    .await;
    assert_eq!(acked.0, "ws-1");
    assert_eq!(acked.1.seq, 1);
    // The same id again: the same message, no second one.
    ws.send(&send(&conv, "ws-1", "over the socket")).await;
    let again = until(&mut ws, |f| match f {
        ServerFrame::Ack { message, .. } => Some(message),
        _ => None,
    })
    .await;
    assert_eq!(again, acked.1);
    // Refusals come back as nacks with the REST codes.
    for (frame, code) in [
        (send(&conv, "ws-1", "changed"), "idempotency_conflict"),
        (send(&gated, "ws-2", "hello"), "consent_required"),
        (send(&conv, "ws 3", "bad id"), "invalid_field"),
        (send(&conv, "ws-4", &"y".repeat(4_001)), "message_too_long"),
        (send("nope", "ws-5", "x"), "not_found"),
    ] {
        ws.send(&frame).await;
        let error = until(&mut ws, |f| match f {
            ServerFrame::Nack { error, .. } => Some(error),
            _ => None,
        })
        .await;
        assert_eq!(error.code.as_str(), code);
    }
    let page = api.messages(&token, &conv, "").await;
    assert_eq!(page.body["last_seq"], 1);
}

#[tokio::test]
async fn ping_typing_read_close_reopen_and_bad_frames() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let mut ws = Ws::connect(&server, &token).await;
    let mut other_device = Ws::connect(&server, &token).await;
    hello(&mut ws).await;
    hello(&mut other_device).await;
    ws.send(&ClientFrame::Ping { nonce: 42 }).await;
    assert_eq!(ws.recv().await, ServerFrame::Pong { nonce: 42 });
    other_device.send(&ClientFrame::Ping { nonce: 1 }).await;
    assert_eq!(other_device.recv().await, ServerFrame::Pong { nonce: 1 });
    // Bad frames: an error frame, and the socket stays usable.
    for bad in ["not json", "{\"type\":\"teleport\"}", "{\"type\":\"ping\"}", "[]"] {
        ws.send_text(bad).await;
        match ws.recv().await {
            ServerFrame::Error { error } => assert_eq!(error.code.as_str(), "invalid_body"),
            other => panic!("expected error for {bad}, got {other:?}"),
        }
    }
    ws.send_raw(WsMessage::binary(vec![1u8, 2, 3])).await;
    assert!(matches!(ws.recv().await, ServerFrame::Error { .. }));
    ws.send(&ClientFrame::Ping { nonce: 7 }).await;
    assert_eq!(ws.recv().await, ServerFrame::Pong { nonce: 7 });
    // Agent typing reaches the visitor and says when it expires.
    let r = api
        .call("POST", &format!("/v1/agent/conversations/{conv}/typing"), Some(ALICE), Some(json!({"typing": true})))
        .await;
    assert_eq!(r.status, 204);
    match ws.recv().await {
        ServerFrame::Typing { conversation_id, author, typing, expires_in_ms } => {
            assert_eq!((conversation_id, author.kind, typing), (conv.clone(), AuthorKind::Agent, true));
            assert_eq!(expires_in_ms, chatflow_protocol::TYPING_EXPIRES_MS);
        }
        other => panic!("expected typing, got {other:?}"),
    }
    // Visitor typing over the socket is recorded for the agent side.
    ws.send(&ClientFrame::Typing { conversation_id: conv.clone(), typing: true }).await;
    ws.send(&ClientFrame::Ping { nonce: 8 }).await;
    assert_eq!(ws.recv().await, ServerFrame::Pong { nonce: 8 });
    let list = api.get("/v1/agent/conversations", Some(ALICE)).await;
    assert_eq!(list.body["conversations"][0]["visitor_typing"], true);
    // Read: the agent's read mark reaches the visitor; the visitor's own read reaches its other device.
    api.agent_reply(ALICE, &conv, "hello").await;
    api.call("POST", &format!("/v1/agent/conversations/{conv}/read"), Some(ALICE), Some(json!({"seq": 1}))).await;
    let read = until(&mut ws, |f| match f {
        ServerFrame::Read { reader, seq, .. } => Some((reader, seq)),
        _ => None,
    })
    .await;
    assert_eq!(read, (Reader::Agent, 1));
    ws.send(&ClientFrame::Read { conversation_id: conv.clone(), seq: 1 }).await;
    let read = until(&mut other_device, |f| match f {
        ServerFrame::Read { reader: Reader::Visitor, seq, .. } => Some(seq),
        _ => None,
    })
    .await;
    assert_eq!(read, 1);
    ws.send(&ClientFrame::Read { conversation_id: conv.clone(), seq: 99 }).await;
    let error = until(&mut ws, |f| match f {
        ServerFrame::Error { error } => Some(error),
        _ => None,
    })
    .await;
    assert_eq!(error.code.as_str(), "invalid_field");
    // Close, then a visitor message reopens: both frames arrive, reopened before the message.
    api.call("POST", &format!("/v1/agent/conversations/{conv}/close"), Some(ALICE), None).await;
    until(&mut ws, |f| matches!(f, ServerFrame::ConversationClosed { .. }).then_some(())).await;
    api.send(&token, &conv, "after-close", "are you there?").await;
    let next = until(&mut ws, |f| match f {
        ServerFrame::ConversationReopened { .. } => Some("reopened"),
        ServerFrame::Message { .. } => Some("message"),
        _ => None,
    })
    .await;
    assert_eq!(next, "reopened");
}

#[tokio::test]
async fn upgrade_needs_a_valid_visitor_token_and_sessions_end_cleanly() {
    let server = TestServer::start();
    let api = server.api();
    assert!(Ws::try_connect(&server, "cfv_unknown").await.is_err());
    assert!(Ws::try_connect(&server, ALICE).await.is_err(), "agent tokens are not visitor tokens");
    let (_, token) = api.visitor(ACME).await;
    let mut ws = Ws::connect(&server, &token).await;
    hello(&mut ws).await;
    // Deleting the visitor ends its sockets with 4001.
    assert_eq!(api.call("DELETE", "/v1/visitor", Some(&token), None).await.status, 204);
    assert_eq!(ws.closed_with().await, Some(4001));
}

#[tokio::test]
async fn server_pings_and_closes_silent_sockets_and_shutdown_says_going_away() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_on(&dir.path().join("hb.db"), &["--heartbeat-ms", "300"]);
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    // A raw socket that never reads nor answers: tungstenite answers pings only when we read, so it goes silent.
    let mut silent = Ws::connect(&server, &token).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // The silent socket is closed after two heartbeats.
    assert_eq!(silent.closed_with().await, Some(4002));
    // A responsive one stays open across several heartbeats (it reads, so pongs are sent).
    let mut alive = Ws::connect(&server, &token).await;
    hello(&mut alive).await;
    for n in 0..4 {
        alive.send(&ClientFrame::Ping { nonce: n }).await;
        assert_eq!(alive.recv().await, ServerFrame::Pong { nonce: n });
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut waiting = Ws::connect(&server, &token).await;
    hello(&mut waiting).await;
    server.stop();
    assert_eq!(waiting.closed_with().await, Some(1001));
}
