//! Internal notes: written and listed by agents, idempotent by client id, reported on the feed — and absent from every
//! path a visitor reads: history, catch-up, the resume backlog, realtime frames, transcripts (JSON and text).
//! (Push notifications do not exist yet; they will be fed from messages, which never hold a note.)

use chatflow_protocol::{ClientFrame, ConversationCursor, ServerFrame};
use serde_json::{json, Value};

use super::feed_util::*;
use super::inbox_util::*;
use crate::support::*;

const SECRET: &str = "internal: refund approved by finance";

async fn note(api: &Api, agent: &str, conv: &str, body: Value) -> Reply {
    api.call("POST", &format!("/v1/agent/conversations/{conv}/notes"), Some(agent), Some(body)).await
}

fn bodies(page: &Value) -> Vec<String> {
    page["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn notes_are_written_listed_idempotent_and_reported_on_the_feed() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    api.send(&token, &conv, "m1", "hello").await;
    let (mut feed, _, _) = Feed::open(&server, BOB, None).await;
    let r = note(&api, ALICE, &conv, json!({"body": SECRET, "client_message_id": "n-1"})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let created = r.body.clone();
    assert_eq!((created["after_seq"].as_u64(), created["author"]["id"].as_str()), (Some(1), Some("ag_alice")));
    assert_eq!(created["author"]["kind"], "agent");
    let event = feed.next_of("note").await;
    assert_eq!(event["note"], created, "the feed carries the same note");
    // A retry returns the stored note; the same id for something else is refused.
    let again = note(&api, ALICE, &conv, json!({"body": SECRET, "client_message_id": "n-1"})).await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &created));
    let clash = note(&api, ALICE, &conv, json!({"body": "other", "client_message_id": "n-1"})).await;
    assert_eq!((clash.status.as_u16(), clash.code()), (409, "idempotency_conflict"));
    let before = server.table_counts();
    for (body, code) in [
        (json!({"body": "  "}), "invalid_field"),
        (json!({"body": "x".repeat(4001)}), "message_too_long"),
        (json!({"body": "x", "client_message_id": ""}), "invalid_field"),
        (json!({"body": "x", "pinned": true}), "invalid_body"),
        (json!({}), "invalid_body"),
    ] {
        assert_eq!(note(&api, ALICE, &conv, body.clone()).await.code(), code, "{body}");
    }
    assert_eq!(note(&api, GINA, &conv, json!({"body": "x"})).await.status, 404, "another app's conversation");
    assert_eq!(server.table_counts(), before, "refusals write nothing");
    api.send(&token, &conv, "m2", "still there?").await;
    let second = note(&api, BOB, &conv, json!({"body": "second"})).await.body;
    assert_eq!(second["after_seq"], 2);
    let list = api.get(&format!("/v1/agent/conversations/{conv}/notes"), Some(BOB)).await;
    assert_eq!(list.body["notes"], json!([created, second]), "oldest first");
    assert_eq!(api.get(&format!("/v1/agent/conversations/{conv}/notes"), Some(GINA)).await.status, 404);
}

#[tokio::test]
async fn a_note_never_reaches_any_visitor_path() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    api.send(&token, &conv, "m1", "hello").await;
    let mut ws = ready_ws(&server, &token).await;
    assert_eq!(note(&api, ALICE, &conv, json!({"body": SECRET})).await.status, 201);
    assert_eq!(api.agent_reply(ALICE, &conv, "visible reply").await.status, 201);
    // Realtime: the next message frame is the reply; nothing carried the note.
    loop {
        match ws.recv().await {
            ServerFrame::Message { message } => {
                assert_eq!(message.body, "visible reply");
                break;
            }
            other => assert!(!format!("{other:?}").contains(SECRET), "{other:?}"),
        }
    }
    // History and catch-up.
    let history = api.messages(&token, &conv, "").await;
    assert_eq!(bodies(&history.body), ["hello", "visible reply"]);
    let catch_up = api.messages(&token, &conv, "?after_seq=0").await;
    assert_eq!(bodies(&catch_up.body), ["hello", "visible reply"]);
    assert_eq!(history.body["last_seq"], 2, "a note takes no seq");
    // The resume backlog of a new socket.
    let mut ws = Ws::connect(&server, &token).await;
    assert!(matches!(ws.recv().await, ServerFrame::Hello { .. }));
    ws.send(&ClientFrame::Resume { cursors: vec![ConversationCursor { conversation_id: conv.clone(), last_seq: 0 }] })
        .await;
    let mut backlog = Vec::new();
    loop {
        match ws.recv().await {
            ServerFrame::Backlog { messages, .. } => backlog.extend(messages.into_iter().map(|m| m.body)),
            ServerFrame::Resumed => break,
            other => assert!(!format!("{other:?}").contains(SECRET), "{other:?}"),
        }
    }
    assert_eq!(backlog, ["hello", "visible reply"]);
    // Transcripts, both formats.
    assert_eq!(act(&api, ALICE, "POST", &conv, "/close", None).await.status, 200);
    let json_transcript = api.get(&format!("/v1/agent/conversations/{conv}/transcript"), Some(ALICE)).await;
    assert_eq!(json_transcript.status, 200, "{:?}", json_transcript.body);
    assert!(!json_transcript.body.to_string().contains(SECRET));
    let text = api
        .http
        .get(format!("{}/v1/agent/conversations/{conv}/transcript.txt", api.base))
        .bearer_auth(ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 200);
    let text = text.text().await.unwrap();
    assert!(text.contains("visible reply") && !text.contains(SECRET), "{text}");
}
