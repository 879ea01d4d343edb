//! Bot conversations in the inbox: the `bots` view, taking over (explicitly, by replying, by assigning), the
//! 30-minute close rule (on the injected clock), no transcript; and the fake clock itself.

use chatflow_protocol::ServerFrame;
use serde_json::json;

use super::inbox_util::*;
use crate::support::*;

#[tokio::test]
async fn bot_conversations_wait_in_the_bots_view_until_an_agent_takes_them_over() {
    let server = TestServer::start();
    let api = server.api();
    let flow = bot_chatflow(&api, &["ag_alice"]).await;
    let (_, token) = api.visitor(ACME).await;
    let opened = open_json(&api, &token, flow).await;
    assert!(opened.get("assignee").is_none(), "a bot conversation is not routed when it opens");
    let conv = opened["id"].as_str().unwrap().to_owned();
    assert_eq!(inbox_ids(&api, BOB, "?view=bots").await, [conv.as_str()]);
    assert!(inbox_ids(&api, BOB, "").await.is_empty());
    assert!(inbox_ids(&api, BOB, "?view=unassigned").await.is_empty());
    assert_eq!(row(&api, BOB, &conv).await["handled_by"], "bot");
    let mut ws = ready_ws(&server, &token).await;
    // Take over: the bot stops, Bob has it, it leaves the bots view for all / mine.
    let r = act(&api, BOB, "POST", &conv, "/take-over", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["handled_by"].as_str(), r.body["conversation"]["assignee"]["id"].as_str()),
        (Some("agents"), Some("ag_bob"))
    );
    match next_state_frame(&mut ws).await {
        ServerFrame::Assigned { agent: Some(a), .. } => assert_eq!(a.id, "ag_bob"),
        other => panic!("expected assigned, got {other:?}"),
    }
    assert!(inbox_ids(&api, BOB, "?view=bots").await.is_empty());
    assert_eq!(inbox_ids(&api, BOB, "").await, [conv.as_str()]);
    assert_eq!(inbox_ids(&api, BOB, "?view=mine").await, [conv.as_str()]);
    assert_eq!(act(&api, BOB, "POST", &conv, "/take-over", None).await.status, 200, "again: a no-op");
    let r = act(&api, ALICE, "POST", &conv, "/take-over", None).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    assert!(r.body["message"].as_str().unwrap().contains("/assign"));
    let live = api.open(&token, FLOW_OVERFLOW).await;
    assert_eq!(act(&api, ALICE, "POST", &live, "/take-over", None).await.code(), "forbidden");
    assert_eq!(act(&api, ALICE, "POST", &live, "/take-over", Some(json!({"a": 1}))).await.code(), "invalid_body");
    // Taken over: it closes at once; started by a bot, it has no transcript.
    assert_eq!(act(&api, BOB, "POST", &conv, "/close", None).await.status, 200);
    let t = act(&api, BOB, "GET", &conv, "/transcript", None).await;
    assert_eq!((t.status.as_u16(), t.code()), (403, "forbidden"));
    assert!(t.body["message"].as_str().unwrap().contains("bot"), "{:?}", t.body);
    // An agent's reply takes a bot conversation over, and so does assigning it.
    let (_, token2) = api.visitor(ACME).await;
    let replied = api.open(&token2, flow).await;
    assert_eq!(api.agent_reply(ALICE, &replied, "Hi, Alice here").await.status, 201);
    let r = row(&api, ALICE, &replied).await;
    assert_eq!(
        (r["handled_by"].as_str(), r["conversation"]["assignee"]["id"].as_str()),
        (Some("agents"), Some("ag_alice"))
    );
    let assigned = api.open(&token2, flow).await;
    assert_eq!(inbox_ids(&api, ALICE, "?view=bots").await, [assigned.as_str()]);
    assert_eq!(assign(&api, ALICE, &assigned, Some("ag_bob")).await.body["handled_by"], "agents");
    assert!(inbox_ids(&api, ALICE, "?view=bots").await.is_empty());
    assert_eq!(inbox_ids(&api, BOB, "?view=mine").await, [assigned.as_str(), conv.as_str()]);
}

#[tokio::test]
async fn a_bot_conversation_closes_only_after_30_minutes_of_visitor_inactivity() {
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    set_clock(&api, T0).await;
    let flow = bot_chatflow(&api, &["ag_alice"]).await;
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, flow).await;
    let r = act(&api, ALICE, "POST", &conv, "/close", None).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"));
    assert!(r.body["message"].as_str().unwrap().contains("2024-03-01T09:30:00Z"), "{:?}", r.body);
    // The visitor answers the bot at +10 min (the bot asks its second question: no handoff).
    set_clock(&api, T0 + 10 * MINUTE).await;
    assert_eq!(api.send(&token, &conv, "a1", "I need help with my order").await.status, 201);
    set_clock(&api, T0 + 39 * MINUTE).await;
    let r = act(&api, ALICE, "POST", &conv, "/close", None).await;
    assert_eq!(r.code(), "forbidden", "29 minutes after the visitor's last message");
    assert!(r.body["message"].as_str().unwrap().contains("2024-03-01T09:40:00Z"), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("in 1 min"), "{:?}", r.body);
    assert_eq!(row(&api, ALICE, &conv).await["conversation"]["status"], "open");
    set_clock(&api, T0 + 40 * MINUTE).await;
    let r = act(&api, ALICE, "POST", &conv, "/close", None).await;
    assert_eq!((r.status.as_u16(), r.body["status"].as_str()), (200, Some("closed")), "{:?}", r.body);
    assert_eq!(inbox_ids(&api, ALICE, "?view=bots&status=closed").await, [conv.as_str()]);
    assert_eq!(row(&api, ALICE, &conv).await["closed_at"], T0 + 40 * MINUTE);
}

#[tokio::test]
async fn the_clock_route_exists_only_on_fake_clock_servers() {
    let real = TestServer::start();
    let api = real.api();
    // Authentication comes first: a caller without an admin token learns nothing about the server's clock.
    for (token, status, code) in
        [(Some(ACME_ADMIN), 404, "unknown_route"), (None, 401, "unauthenticated"), (Some(ALICE), 401, "invalid_token")]
    {
        let r = api.call("PUT", "/v1/admin/clock", token, Some(json!({"now_ms": T0}))).await;
        assert_eq!((r.status.as_u16(), r.code()), (status, code), "{:?}", r.body);
    }
    drop(real);
    let fake = TestServer::start_with(&["--fake-clock"]);
    let api = fake.api();
    let set = |token: Option<&'static str>, body| api.call("PUT", "/v1/admin/clock", token, Some(body));
    assert_eq!(set(None, json!({"now_ms": T0})).await.code(), "unauthenticated");
    assert_eq!(set(Some(ALICE), json!({"now_ms": T0})).await.code(), "invalid_token");
    assert_eq!(set(Some(ACME_ADMIN), json!({"now_ms": -1})).await.code(), "invalid_field");
    assert_eq!(set(Some(ACME_ADMIN), json!({"now_ms": "soon"})).await.code(), "invalid_body");
    assert_eq!(set(Some(ACME_ADMIN), json!({"now": T0})).await.code(), "invalid_body");
    // Saturday 2024-03-02 12:00 Paris: the office-hours chatflow is closed; Monday 10:00 Paris it is open.
    let saturday = T0 + 26 * 60 * MINUTE;
    let r = set(Some(GLOBEX_ADMIN), json!({"now_ms": saturday})).await;
    assert_eq!(r.body, json!({"now_ms": saturday}), "any app's admin sets the server-wide clock");
    let status = api.get(&format!("/v1/apps/{ACME}/chatflows/status"), None).await;
    assert_eq!(status.body["computed_at"], saturday);
    let hours = |s: &serde_json::Value| {
        s["statuses"].as_array().unwrap().iter().find(|c| c["chatflow_id"] == FLOW_HOURS).unwrap()["available"].clone()
    };
    assert_eq!(hours(&status.body), false);
    let monday_10_paris = T0 + 3 * 24 * 60 * MINUTE;
    set_clock(&api, monday_10_paris).await;
    assert_eq!(hours(&api.get(&format!("/v1/apps/{ACME}/chatflows/status"), None).await.body), true);
    let (_, token) = api.visitor(ACME).await;
    assert_eq!(open_json(&api, &token, FLOW_OVERFLOW).await["created_at"], monday_10_paris);
}
