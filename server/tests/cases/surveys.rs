//! The satisfaction survey: appended when a conversation of a chatflow with `csat_survey` on is closed, answered once
//! by the visitor (REST or the realtime `send` frame), shown to agents, summarised per chatflow, agent and period.

use chatflow_protocol::{ClientFrame, MessageSurvey, ServerFrame, SurveyAnswer};
use serde_json::{json, Value};

use super::inbox_util::*;
use crate::support::*;

/// Turns the chatflow's survey on or off (admin API).
pub async fn set_survey(api: &Api, flow: i64, on: bool) {
    let path = format!("/v1/admin/chatflows/{flow}");
    let mut body = api.get(&path, Some(ACME_ADMIN)).await.body;
    body["csat_survey"] = json!(on);
    let r = api.call("PUT", &path, Some(ACME_ADMIN), Some(body)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

async fn close(api: &Api, conv: &str) -> Reply {
    act(api, ALICE, "POST", conv, "/close", None).await
}

async fn answer(api: &Api, token: &str, conv: &str, client_id: &str, answer: Value) -> Reply {
    let path = format!("/v1/conversations/{conv}/messages/{client_id}");
    api.call("PUT", &path, Some(token), Some(json!({"body": "rating", "survey_answer": answer}))).await
}

async fn summary(api: &Api, query: &str) -> Value {
    let r = api.get(&format!("/v1/agent/surveys/summary{query}"), Some(BOB)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body
}

/// A visitor's conversation on `flow` that Alice answered (so she is its assignee), then closed.
async fn closed_chat(api: &Api, flow: i64) -> (String, String) {
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, flow).await;
    assert_eq!(api.send(&token, &conv, "q1", "Hello?").await.status, 201);
    assert_eq!(api.agent_reply(ALICE, &conv, "Hi, how can I help?").await.status, 201);
    assert_eq!(close(api, &conv).await.status, 200);
    (token, conv)
}

#[tokio::test]
async fn closing_appends_the_survey_and_the_answer_is_stored_once() {
    let server = TestServer::start();
    let api = server.api();
    set_survey(&api, FLOW_SUPPORT, true).await;
    let (_, token) = api.visitor(ACME).await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    assert_eq!(api.send(&token, &conv, "q1", "Hello?").await.status, 201);
    assert_eq!(api.agent_reply(ALICE, &conv, "Hi!").await.status, 201);
    let mut ws = ready_ws(&server, &token).await;
    let r = close(&api, &conv).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "closed");
    assert!(matches!(ws.recv().await, ServerFrame::ConversationClosed { .. }));
    let ServerFrame::Message { message: prompt } = ws.recv().await else { panic!("the survey is delivered live") };
    assert_eq!(prompt.seq, 3);
    let Some(MessageSurvey::Prompt(p)) = &prompt.survey else { panic!("a prompt: {prompt:?}") };
    assert_eq!((p.scale_min, p.scale_max, p.question.as_str()), (1, 5, "How would you rate this conversation?"));
    assert!(prompt.body.starts_with("How would you rate"), "readable without knowing surveys");

    // Refusals, each precise, none stored.
    let r = answer(&api, &token, &conv, "a0", json!({"survey_seq": 3, "rating": 6})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("between 1 and 5, got 6"));
    let r = answer(&api, &token, &conv, "a0", json!({"survey_seq": 2, "rating": 3})).await;
    assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{:?}", r.body);
    let long = "x".repeat(1001);
    let r = answer(&api, &token, &conv, "a0", json!({"survey_seq": 3, "rating": 3, "comment": long})).await;
    assert!(r.body["message"].as_str().unwrap().contains("1001 characters"), "{:?}", r.body);
    let (_, other) = api.visitor(ACME).await;
    assert_eq!(answer(&api, &other, &conv, "a0", json!({"survey_seq": 3, "rating": 3})).await.status, 404);

    let r = answer(&api, &token, &conv, "a1", json!({"survey_seq": 3, "rating": 4, "comment": " Quick answer "})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["body"], "★★★★☆ 4/5\nQuick answer");
    assert_eq!(r.body["survey"], json!({"type": "answer", "survey_seq": 3, "rating": 4, "comment": "Quick answer"}));
    // A replay is the same message; the same id for another rating, or a second answer, is refused.
    let again =
        answer(&api, &token, &conv, "a1", json!({"survey_seq": 3, "rating": 4, "comment": "Quick answer"})).await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &r.body));
    let r = answer(&api, &token, &conv, "a1", json!({"survey_seq": 3, "rating": 2})).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "idempotency_conflict"), "{:?}", r.body);
    let r = answer(&api, &token, &conv, "a2", json!({"survey_seq": 3, "rating": 2})).await;
    assert_eq!((r.status.as_u16(), r.code()), (409, "conflict"), "{:?}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("already answered"));

    // The answer does not reopen the conversation; agents see both parts in the thread.
    assert_eq!(row(&api, ALICE, &conv).await["conversation"]["status"], "closed");
    let thread = act(&api, BOB, "GET", &conv, "/messages", None).await.body;
    let kinds: Vec<&str> =
        thread["messages"].as_array().unwrap().iter().filter_map(|m| m["survey"]["type"].as_str()).collect();
    assert_eq!(kinds, ["prompt", "answer"]);
    let s = summary(&api, "").await;
    assert_eq!((s["sent"].as_u64(), s["answered"].as_u64(), s["average"].as_f64()), (Some(1), Some(1), Some(4.0)));
    assert_eq!(s["distribution"][3], json!({"rating": 4, "answers": 1}));
}

#[tokio::test]
async fn no_survey_when_off_and_no_repeat_without_news() {
    let server = TestServer::start();
    let api = server.api();
    let (token, conv) = closed_chat(&api, FLOW_SUPPORT).await;
    let page = api.messages(&token, &conv, "").await.body;
    assert_eq!(page["last_seq"], 2, "the survey is off by default");
    set_survey(&api, FLOW_SUPPORT, true).await;
    let (token, conv) = closed_chat(&api, FLOW_SUPPORT).await;
    assert_eq!(api.messages(&token, &conv, "").await.body["last_seq"], 3);
    // Reopened and closed again with nothing said: no second prompt. After a new message: a new one.
    assert_eq!(act(&api, ALICE, "POST", &conv, "/reopen", None).await.status, 200);
    assert_eq!(close(&api, &conv).await.status, 200);
    assert_eq!(api.messages(&token, &conv, "").await.body["last_seq"], 3);
    assert_eq!(api.agent_reply(ALICE, &conv, "One more thing").await.status, 201);
    assert_eq!(close(&api, &conv).await.status, 200);
    let page = api.messages(&token, &conv, "").await.body;
    assert_eq!((page["last_seq"].as_u64(), page["messages"][4]["survey"]["type"].as_str()), (Some(5), Some("prompt")));
    assert_eq!(summary(&api, "").await["sent"], 2);
}

#[tokio::test]
async fn french_chatflows_ask_in_french_and_the_socket_answers_too() {
    let server = TestServer::start();
    let api = server.api();
    set_survey(&api, FLOW_LEGIT, true).await;
    let (token, conv) = closed_chat(&api, FLOW_LEGIT).await;
    let prompt = &api.messages(&token, &conv, "").await.body["messages"][2];
    assert_eq!(prompt["survey"]["question"], "Comment évaluez-vous cette conversation ?");
    let mut ws = ready_ws(&server, &token).await;
    let survey_answer = Some(SurveyAnswer { survey_seq: 3, rating: 2, comment: None });
    let frame = ClientFrame::Send {
        conversation_id: conv.clone(),
        client_message_id: "ws1".into(),
        body: "2/5".into(),
        quick_reply_id: None,
        survey_answer,
        attachments: Vec::new(),
    };
    ws.send(&frame).await;
    let ack = loop {
        if let ServerFrame::Ack { message, .. } = ws.recv().await {
            break message;
        }
    };
    assert_eq!((ack.seq, ack.body.as_str()), (4, "★★☆☆☆ 2/5"));
    let s = summary(&api, &format!("?chatflow_id={FLOW_LEGIT}")).await;
    assert_eq!((s["answered"].as_u64(), s["average"].as_f64()), (Some(1), Some(2.0)));
}

#[tokio::test]
async fn the_summary_filters_by_chatflow_agent_and_period() {
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    set_clock(&api, 1_000_000).await;
    set_survey(&api, FLOW_SUPPORT, true).await;
    set_survey(&api, FLOW_LEGIT, true).await;
    let mut answered = Vec::new();
    for (flow, rating, at) in [(FLOW_SUPPORT, 5, 1_000_000), (FLOW_SUPPORT, 3, 2_000_000), (FLOW_LEGIT, 1, 3_000_000)] {
        set_clock(&api, at).await;
        let (token, conv) = closed_chat(&api, flow).await;
        let r = answer(&api, &token, &conv, "a", json!({"survey_seq": 3, "rating": rating})).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        answered.push(conv);
    }
    closed_chat(&api, FLOW_SUPPORT).await; // sent, never answered
    let all = summary(&api, "").await;
    assert_eq!(
        (all["sent"].as_u64(), all["answered"].as_u64(), all["average"].as_f64()),
        (Some(4), Some(3), Some(3.0))
    );
    let counts: Vec<u64> =
        all["distribution"].as_array().unwrap().iter().map(|d| d["answers"].as_u64().unwrap()).collect();
    assert_eq!(counts, [1, 0, 1, 0, 1]);
    let support = summary(&api, &format!("?chatflow_id={FLOW_SUPPORT}")).await;
    assert_eq!((support["sent"].as_u64(), support["average"].as_f64()), (Some(3), Some(4.0)));
    assert_eq!(summary(&api, "?agent_id=ag_bob").await["sent"], 0);
    assert_eq!(summary(&api, "?agent_id=ag_alice").await["sent"], 4);
    let period = summary(&api, "?from=1500000&to=3000000").await;
    assert_eq!((period["sent"].as_u64(), period["average"].as_f64()), (Some(1), Some(3.0)));
    let admin = api.get("/v1/admin/surveys/summary", Some(ACME_ADMIN)).await;
    assert_eq!(admin.body, all);
    let globex = api.get("/v1/admin/surveys/summary", Some(GLOBEX_ADMIN)).await;
    assert_eq!(globex.body["sent"], 0, "another app's surveys are not counted");
    for (q, needle) in
        [("?from=5&to=5", "must be after"), ("?agent_id=a%20b", "agent_id"), ("?from=-1", "from"), ("?x=1", "x")]
    {
        let r = api.get(&format!("/v1/agent/surveys/summary{q}"), Some(BOB)).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{q}: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(needle), "{q}: {:?}", r.body);
    }
    assert_eq!(api.get("/v1/agent/surveys/summary", None).await.status, 401);
}
