//! Inbox actions: assign / reassign / unassign (with `assigned` frames), reply, close and reopen, block and unblock
//! the sender, spam, unlink the contact, delete; transcripts (text and JSON, with the chatflow's alias).

use chatflow_protocol::ServerFrame;
use serde_json::json;

use super::inbox_util::*;
use crate::support::*;

fn assigned_to(frame: ServerFrame) -> Option<(String, String)> {
    match frame {
        ServerFrame::Assigned { agent, .. } => agent.map(|a| (a.id, a.display_name)),
        other => panic!("expected an assigned frame, got {other:?}"),
    }
}

#[tokio::test]
async fn assign_reassign_unassign_tell_the_visitor() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    let mut ws = ready_ws(&server, &token).await;
    let r = assign(&api, ALICE, &conv, Some("ag_bob")).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["conversation"]["assignee"]["id"], "ag_bob", "manual assignment ignores presence");
    assert_eq!(assigned_to(next_state_frame(&mut ws).await), Some(("ag_bob".into(), "Bob".into())));
    assert_eq!(inbox_ids(&api, BOB, "?view=mine").await, [conv.as_str()]);
    assert_eq!(assign(&api, BOB, &conv, Some("ag_alice")).await.status, 200);
    assert_eq!(assigned_to(next_state_frame(&mut ws).await), Some(("ag_alice".into(), "Alice".into())));
    // Same assignee again: no frame (the next frame is the unassignment's).
    assert_eq!(assign(&api, BOB, &conv, Some("ag_alice")).await.status, 200);
    let r = assign(&api, ALICE, &conv, None).await;
    assert!(r.body["conversation"].get("assignee").is_none());
    assert_eq!(assigned_to(next_state_frame(&mut ws).await), None);
    assert_eq!(inbox_ids(&api, ALICE, "?view=unassigned").await, [conv.as_str()]);
    // Refusals write nothing.
    let before = server.table_counts();
    for (body, code) in [
        (json!({"agent_id": "ag_gina"}), "invalid_field"),
        (json!({"agent_id": "ghost"}), "invalid_field"),
        (json!({}), "invalid_body"),
        (json!({"agent_id": 5}), "invalid_body"),
    ] {
        let r = act(&api, ALICE, "POST", &conv, "/assign", Some(body.clone())).await;
        assert_eq!(r.code(), code, "{body}: {:?}", r.body);
    }
    assert_eq!(server.table_counts(), before);
    // On a chatflow that uses its branding as agent alias, the visitor sees the alias.
    let sales = api.open(&token, FLOW_LEGIT).await;
    let routed = assigned_to(next_state_frame(&mut ws).await);
    assert_eq!(routed, Some(("ag_alice".into(), "Acme Ventes".into())), "routing told the visitor too");
    assert_eq!(assign(&api, ALICE, &sales, Some("ag_bob")).await.status, 200);
    assert_eq!(assigned_to(next_state_frame(&mut ws).await), Some(("ag_bob".into(), "Acme Ventes".into())));
}

#[tokio::test]
async fn reply_close_and_reopen_by_a_visitor_message() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    let mut ws = ready_ws(&server, &token).await;
    assert_eq!(api.agent_reply(BOB, &conv, "Hello, Bob here").await.status, 201);
    assert_eq!(assigned_to(next_state_frame(&mut ws).await), Some(("ag_bob".into(), "Bob".into())));
    let r = act(&api, BOB, "POST", &conv, "/close", None).await;
    assert_eq!((r.status.as_u16(), r.body["status"].as_str()), (200, Some("closed")));
    assert_eq!(next_state_frame(&mut ws).await, ServerFrame::ConversationClosed { conversation_id: conv.clone() });
    assert_eq!(inbox_ids(&api, BOB, "?status=closed").await, [conv.as_str()]);
    assert!(row(&api, BOB, &conv).await["closed_at"].is_i64());
    assert_eq!(act(&api, BOB, "POST", &conv, "/close", None).await.status, 200, "closing again is a no-op");
    assert_eq!(act(&api, BOB, "POST", &conv, "/close", Some(json!({"x": 1}))).await.code(), "invalid_body");
    assert_eq!(api.send(&token, &conv, "again-1", "One more thing").await.status, 201);
    assert_eq!(next_state_frame(&mut ws).await, ServerFrame::ConversationReopened { conversation_id: conv.clone() });
    let reopened = row(&api, BOB, &conv).await;
    assert_eq!(reopened["conversation"]["status"], "open");
    assert!(reopened.get("closed_at").is_none());
    assert_eq!(reopened["title"], "One more thing");
    assert_eq!(inbox_ids(&api, BOB, "?view=mine&status=open").await, [conv.as_str()]);
}

#[tokio::test]
async fn blocked_senders_land_in_the_filtered_view_and_spam_filters_one_thread() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = api.visitor(ACME).await;
    let c1 = api.open(&token, FLOW_SUPPORT).await;
    let c2 = api.open(&token, FLOW_OVERFLOW).await;
    let (_, other) = api.visitor(ACME).await;
    let c9 = api.open(&other, FLOW_OVERFLOW).await;
    let r = act(&api, ALICE, "POST", &c1, "/block", None).await;
    assert_eq!((r.status.as_u16(), r.body["blocked"].as_bool()), (200, Some(true)));
    assert_eq!(act(&api, ALICE, "POST", &c1, "/block", None).await.status, 200, "blocking twice is fine");
    // Every conversation of the sender leaves the regular views.
    assert_eq!(inbox_ids(&api, ALICE, "?view=filtered").await, [c2.as_str(), c1.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "").await, [c9.as_str()]);
    assert!(inbox_ids(&api, ALICE, "?view=mine").await.is_empty());
    // The visitor still chats; later messages and conversations land in the filtered view, never routed.
    assert_eq!(api.send(&token, &c1, "b1", "still here").await.status, 201);
    let c3 = open_json(&api, &token, FLOW_SUPPORT).await;
    assert!(c3.get("assignee").is_none(), "a blocked sender's conversation is not routed");
    let c3 = c3["id"].as_str().unwrap().to_owned();
    assert_eq!(inbox_ids(&api, ALICE, "?view=filtered").await, [c3.as_str(), c2.as_str(), c1.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "?view=filtered&q=still").await, [c1.as_str()]);
    let mine = api.get("/v1/conversations", Some(&token)).await;
    assert_eq!(mine.body["conversations"].as_array().unwrap().len(), 3, "the visitor sees every chat");
    // Unblock: everything is back.
    let r = act(&api, BOB, "DELETE", &c2, "/block", None).await;
    assert_eq!((r.status.as_u16(), r.body["blocked"].as_bool()), (200, Some(false)));
    assert!(inbox_ids(&api, ALICE, "?view=filtered").await.is_empty());
    assert_eq!(inbox_ids(&api, ALICE, "").await, [c3.as_str(), c9.as_str(), c2.as_str(), c1.as_str()]);
    // Spam filters only this thread.
    let r = act(&api, ALICE, "POST", &c2, "/spam", None).await;
    assert_eq!(r.body["spam"], true);
    assert_eq!(inbox_ids(&api, ALICE, "?view=filtered").await, [c2.as_str()]);
    assert_eq!(inbox_ids(&api, ALICE, "").await, [c3.as_str(), c9.as_str(), c1.as_str()]);
    assert_eq!(act(&api, ALICE, "DELETE", &c2, "/spam", None).await.body["spam"], false);
    assert!(inbox_ids(&api, ALICE, "?view=filtered").await.is_empty());
    assert_eq!(act(&api, ALICE, "POST", &c2, "/spam", Some(json!([1]))).await.code(), "invalid_body");
}

#[tokio::test]
async fn unlink_contact_and_delete() {
    let server = TestServer::start();
    let api = server.api();
    let (_, token) = visitor_with(&api, json!({"name": "Olga Petrov", "email": "olga@example.com"})).await;
    let conv = api.open(&token, FLOW_OVERFLOW).await;
    assert_eq!(api.send(&token, &conv, "u1", "hello").await.status, 201);
    assert_eq!(row(&api, ALICE, &conv).await["contact_name"], "Olga Petrov");
    assert_eq!(inbox_ids(&api, ALICE, "?q=olga").await, [conv.as_str()]);
    let r = act(&api, ALICE, "POST", &conv, "/unlink-contact", None).await;
    assert_eq!(r.status, 200);
    assert!(r.body["contact_name"].as_str().unwrap().starts_with("Visitor #"));
    assert!(r.body.get("contact_email").is_none());
    assert_eq!(r.body["contact_unlinked"], true);
    assert!(inbox_ids(&api, ALICE, "?q=olga").await.is_empty(), "the contact no longer matches");
    assert_eq!(inbox_ids(&api, ALICE, "?q=hello").await, [conv.as_str()], "the messages still do");
    assert_eq!(api.get(&format!("/v1/conversations/{conv}"), Some(&token)).await.status, 200);
    // Delete: the visitor's open conversation closes for them, then is gone for everyone.
    let mut ws = ready_ws(&server, &token).await;
    let r = act(&api, ALICE, "DELETE", &conv, "", None).await;
    assert_eq!(r.status, 204);
    assert_eq!(next_state_frame(&mut ws).await, ServerFrame::ConversationClosed { conversation_id: conv.clone() });
    assert_eq!(act(&api, ALICE, "GET", &conv, "", None).await.code(), "not_found");
    assert_eq!(act(&api, ALICE, "DELETE", &conv, "", None).await.code(), "not_found");
    assert_eq!(api.get(&format!("/v1/conversations/{conv}"), Some(&token)).await.code(), "not_found");
    assert_eq!(server.table_counts()["messages"], 0);
}

#[tokio::test]
async fn transcripts_of_closed_conversations_use_the_alias() {
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    set_clock(&api, T0).await;
    let (_, token) = visitor_with(&api, json!({"name": "Ann"})).await;
    // Sales uses its branding ("Acme Ventes") as the agent alias.
    let sales = api.open(&token, FLOW_LEGIT).await;
    assert_eq!(api.send(&token, &sales, "t1", "Bonjour\nj'ai une question").await.status, 201);
    set_clock(&api, T0 + MINUTE).await;
    assert_eq!(api.agent_reply(ALICE, &sales, "Oui ?").await.status, 201);
    let open = act(&api, ALICE, "GET", &sales, "/transcript", None).await;
    assert_eq!((open.status.as_u16(), open.code()), (403, "forbidden"), "{:?}", open.body);
    set_clock(&api, T0 + 2 * MINUTE).await;
    assert_eq!(act(&api, ALICE, "POST", &sales, "/close", None).await.status, 200);
    let t = act(&api, BOB, "GET", &sales, "/transcript", None).await;
    assert_eq!(t.status, 200, "{:?}", t.body);
    assert_eq!(t.body["contact_name"], "Ann");
    assert_eq!((t.body["opened_at"].as_i64(), t.body["closed_at"].as_i64()), (Some(T0), Some(T0 + 2 * MINUTE)));
    let who: Vec<_> = t.body["messages"].as_array().unwrap().iter().map(|m| m["author_name"].clone()).collect();
    assert_eq!(who, [json!("Ann"), json!("Acme Ventes")]);
    assert_eq!(t.body["messages"][1]["at_utc"], "2024-03-01T09:01:00Z");
    let text = api.http.get(format!("{}/v1/agent/conversations/{sales}/transcript.txt", api.base)).bearer_auth(BOB);
    let text = text.send().await.unwrap();
    assert_eq!(text.status(), 200);
    assert!(text.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = text.text().await.unwrap();
    assert!(text.starts_with(&format!("Transcript of conversation {sales}\n")), "{text}");
    assert!(text.contains("Chatflow: Sales (legitimate interest) (Chat)\n"), "{text}");
    assert!(text.contains("Opened: 2024-03-01T09:00:00Z\nClosed: 2024-03-01T09:02:00Z\n"), "{text}");
    assert!(text.contains("[2024-03-01T09:00:00Z] Ann: Bonjour\n    j'ai une question\n"), "{text}");
    assert!(text.contains("[2024-03-01T09:01:00Z] Acme Ventes: Oui ?\n"), "{text}");
    assert!(!text.contains("Alice"), "{text}");
    // Without the alias, the agent's own name.
    let support = api.open(&token, FLOW_OVERFLOW).await;
    assert_eq!(api.agent_reply(BOB, &support, "Bob here").await.status, 201);
    assert_eq!(act(&api, BOB, "POST", &support, "/close", None).await.status, 200);
    let t = act(&api, BOB, "GET", &support, "/transcript", None).await;
    assert_eq!(t.body["messages"][0]["author_name"], "Bob");
    assert_eq!(t.body["messages"][0]["author_kind"], "agent");
}
