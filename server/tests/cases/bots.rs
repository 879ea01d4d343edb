//! Rule-based bots through the real server: a walk through every branch of a flow (quick replies tapped and typed,
//! validation errors and re-asks, properties, handoff with and without someone available, end), the session timeout
//! on a pinned clock, live delivery with quick replies, and save-time validation of the tree.
//!
//! The bot answers on its own task: tests wait until the bot session has handled the visitor's message and stored
//! everything it decided (read from the database), then compare the messages exactly. No timing is asserted.

use std::time::Duration;

use chatflow_protocol::{AuthorKind, ServerFrame};
use serde_json::{json, Value};

use crate::cases::availability::set_clock;
use crate::support::*;

fn bot_flow() -> Value {
    json!({
        "name": "Helper", "kind": "bot", "mobile_tags": ["helper"], "welcome_message": "Welcome!",
        "header": {"display_name": "Acme"}, "email_capture": {"mode": "never"},
        "routing": {"mode": "specific", "team_ids": ["support"]},
        "availability": {"mode": "team_status", "when_away": "typical_response_time",
                         "typical_response_time": "few_hours"},
        "knowledge_base": {"enabled": false}, "consent": {"process_data": {"mode": "off"}},
        "bot": {"session_timeout_minutes": 30, "message_delay_ms": 20, "error_reply": "Sorry, try again.",
            "display_name": "Helper bot", "flow": {"start": "hi", "nodes": [
            {"id": "hi", "action": "send_message", "text": "Hi, I am the helper.", "next": "topic"},
            {"id": "topic", "action": "ask", "text": "Topic?", "save_as": "topic", "next": "route", "quick_replies": [
                {"id": "billing", "label": "Billing"}, {"id": "maps", "label": "Maps"}, {"id": "other", "label": "Other"}]},
            {"id": "route", "action": "branch", "otherwise": "describe", "rules": [
                {"condition": {"subject": {"kind": "last_answer"}, "op": "equals", "value": "billing"}, "next": "seats"},
                {"condition": {"subject": {"kind": "last_answer"}, "op": "equals", "value": "maps"}, "next": "tip"}]},
            {"id": "tip", "action": "send_message", "text": "Open a trip and tap Download.", "next": "solved"},
            {"id": "solved", "action": "ask", "text": "Solved?", "next": "solved_branch", "quick_replies": [
                {"id": "yes", "label": "Yes"}, {"id": "no", "label": "No"}]},
            {"id": "solved_branch", "action": "branch", "otherwise": "email", "rules": [
                {"condition": {"subject": {"kind": "last_answer"}, "op": "equals", "value": "yes"}, "next": "bye"}]},
            {"id": "seats", "action": "ask", "text": "How many seats?", "validation": "number", "save_as": "seats",
             "next": "vip"},
            {"id": "vip", "action": "branch", "otherwise": "email", "rules": [
                {"condition": {"subject": {"kind": "property", "name": "plan"}, "op": "equals", "value": "premium"},
                 "next": "flag"}]},
            {"id": "flag", "action": "set_property", "name": "priority", "value": "high", "next": "email"},
            {"id": "describe", "action": "ask", "text": "Describe the problem.", "allow_free_text": true,
             "save_as": "issue", "next": "email"},
            {"id": "email", "action": "ask", "text": "Your email?", "validation": "email", "save_as": "email",
             "next": "human"},
            {"id": "human", "action": "handoff", "text": "Passing you to the team."},
            {"id": "bye", "action": "end", "text": "Bye!"}
        ]}}
    })
}

async fn create_bot(api: &Api) -> i64 {
    let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(bot_flow())).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    r.body["id"].as_i64().unwrap()
}

/// A visitor in a bot conversation.
struct Chat<'a> {
    server: &'a TestServer,
    api: Api,
    token: String,
    conversation: String,
    sent: u32,
}

fn visitor_properties(server: &TestServer, token_visitor: &str) -> Value {
    let found = database::rows(&server.db, "SELECT properties FROM visitors WHERE id = ?1", &[token_visitor]);
    serde_json::from_str(&found[0][0].text()).unwrap()
}

impl<'a> Chat<'a> {
    async fn open(server: &'a TestServer, flow: i64) -> Chat<'a> {
        let api = server.api();
        let (_, token) = api.visitor(ACME).await;
        Self::open_as(server, flow, token).await
    }

    async fn open_as(server: &'a TestServer, flow: i64, token: String) -> Chat<'a> {
        let api = server.api();
        let conversation = api.open(&token, flow).await;
        let chat = Chat { server, api, token, conversation, sent: 0 };
        chat.settle(0).await;
        chat
    }

    /// Waits until the bot handled visitor seq `seq` and stored everything it decided.
    async fn settle(&self, seq: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if bot_session(self.server, &self.conversation).is_some_and(|(handled, idle)| handled >= seq && idle) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the bot never settled after seq {seq}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn messages(&self) -> Vec<Value> {
        let r = self.api.messages(&self.token, &self.conversation, "?limit=500").await;
        r.body["messages"].as_array().unwrap().clone()
    }

    /// Sends a message (a tap when `quick_reply` is set) and returns the bot's answers as bodies.
    async fn say(&mut self, body: &str, quick_reply: Option<&str>) -> Vec<String> {
        self.sent += 1;
        let path = format!("/v1/conversations/{}/messages/m-{}", self.conversation, self.sent);
        let mut req = json!({"body": body});
        if let Some(q) = quick_reply {
            req["quick_reply_id"] = json!(q);
        }
        let r = self.api.call("PUT", &path, Some(&self.token), Some(req)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        let seq = r.body["seq"].as_u64().unwrap();
        self.settle(seq).await;
        self.bot_after(seq).await
    }

    async fn bot_after(&self, seq: u64) -> Vec<String> {
        let all = self.messages().await;
        let after: Vec<&Value> = all.iter().filter(|m| m["seq"].as_u64().unwrap() > seq).collect();
        for m in &after {
            assert_eq!(m["author"]["kind"], "bot", "{m}");
        }
        after.iter().map(|m| m["body"].as_str().unwrap().to_owned()).collect()
    }

    fn visitor_id(&self, all: &[Value]) -> String {
        all.iter().find(|m| m["author"]["kind"] == "visitor").unwrap()["author"]["id"].as_str().unwrap().to_owned()
    }
}

fn bodies(messages: &[Value]) -> Vec<&str> {
    messages.iter().map(|m| m["body"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_walk_through_every_branch() {
    let server = TestServer::start();
    let api = server.api();
    let flow = create_bot(&api).await;

    // 1. Billing (tapped), a premium visitor: number validation, property branch, set_property, email validation,
    //    handoff to the available team (routing assigns Alice).
    let (_, token) = api.visitor(ACME).await;
    let r =
        api.call("PUT", "/v1/visitor/properties", Some(&token), Some(json!({"properties": {"plan": "premium"}}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut chat = Chat::open_as(&server, flow, token).await;
    let opening = chat.messages().await;
    assert_eq!(bodies(&opening), ["Welcome!", "Hi, I am the helper.", "Topic?"]);
    for (i, m) in opening.iter().enumerate() {
        assert_eq!(m["seq"], i as u64 + 1, "consecutive seq");
        assert_eq!(m["author"]["kind"], "bot");
        assert_eq!(m["author"]["display_name"], "Helper bot");
        let id = m["client_message_id"].as_str().unwrap();
        assert_eq!(id, format!("bot:{}:{}", chat.conversation, i + 1), "idempotent, globally unique ids");
    }
    assert_eq!(
        opening[2]["quick_replies"],
        json!([{"id": "billing", "label": "Billing"},
        {"id": "maps", "label": "Maps"}, {"id": "other", "label": "Other"}])
    );
    assert_eq!(chat.say("Billing", Some("billing")).await, ["How many seats?"]);
    assert_eq!(chat.say("a lot", None).await, ["Sorry, try again.", "How many seats?"]);
    assert_eq!(chat.say("3", None).await, ["Your email?"]);
    assert_eq!(chat.say("ann at example", None).await, ["Sorry, try again.", "Your email?"]);
    assert_eq!(chat.say("ann@example.com", None).await, ["Passing you to the team."]);
    let conv = api.get(&format!("/v1/conversations/{}", chat.conversation), Some(&chat.token)).await;
    assert_eq!(conv.body["assignee"]["id"], "ag_alice", "the handoff routed the conversation");
    let visitor = chat.visitor_id(&chat.messages().await);
    assert_eq!(
        visitor_properties(&server, &visitor),
        json!({"plan": "premium", "topic": "Billing", "seats": "3", "priority": "high", "email": "ann@example.com"})
    );
    // After the handoff the bot is silent; a replayed message does not wake it either.
    let path = format!("/v1/conversations/{}/messages/m-{}", chat.conversation, chat.sent);
    let replay = api.call("PUT", &path, Some(&chat.token), Some(json!({"body": "ann@example.com"}))).await;
    assert_eq!(replay.status, 200);
    assert_eq!(chat.say("Hello?", None).await, Vec::<String>::new());

    // 2. Maps, typed instead of tapped (the label counts), solved → end; the bot stays silent afterwards.
    let mut chat = Chat::open(&server, flow).await;
    assert_eq!(chat.say("  maps ", None).await, ["Open a trip and tap Download.", "Solved?"]);
    assert_eq!(chat.say("Yes", Some("yes")).await, ["Bye!"]);
    assert_eq!(chat.say("one more thing", None).await, Vec::<String>::new());
    let conv = api.get(&format!("/v1/conversations/{}", chat.conversation), Some(&chat.token)).await;
    assert!(conv.body["assignee"].is_null(), "an ended flow is not handed off");

    // 3. Maps, not solved → email; billing for a visitor without a plan skips the priority flag.
    let mut chat = Chat::open(&server, flow).await;
    chat.say("Maps", Some("maps")).await;
    assert_eq!(chat.say("No", Some("no")).await, ["Your email?"]);
    let mut chat = Chat::open(&server, flow).await;
    chat.say("Billing", Some("billing")).await;
    assert_eq!(chat.say("-2,5", None).await, ["Your email?"]);
    let visitor = chat.visitor_id(&chat.messages().await);
    assert_eq!(visitor_properties(&server, &visitor), json!({"topic": "Billing", "seats": "-2,5"}));

    // 4. Text that is no quick reply is refused (no free text here); "Other" → free text → handoff while the whole
    //    team is away: the chatflow's typical response time instead of the handoff text, and nobody is assigned.
    let r = api.call("PUT", "/v1/agent/presence", Some(ALICE), Some(json!({"available": false}))).await;
    assert_eq!(r.status, 200);
    let mut chat = Chat::open(&server, flow).await;
    assert_eq!(chat.say("my watch", None).await, ["Sorry, try again.", "Topic?"]);
    assert_eq!(chat.say("Other", Some("other")).await, ["Describe the problem."]);
    assert_eq!(chat.say("My watch does not sync", None).await, ["Your email?"]);
    assert_eq!(
        chat.say("bea@example.com", None).await,
        ["The team is away right now. They typically reply in a few hours."]
    );
    let last = chat.messages().await;
    assert_eq!(last.last().unwrap()["author"]["kind"], "bot");
}

#[tokio::test]
async fn an_idle_visitor_starts_again_from_the_top_unless_the_flow_was_completed() {
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    let t0 = 1_780_000_000_000;
    set_clock(&api, t0).await;
    let flow = create_bot(&api).await;
    let mut chat = Chat::open(&server, flow).await;
    set_clock(&api, t0 + 20 * 60_000).await;
    assert_eq!(chat.say("Maps", Some("maps")).await, ["Open a trip and tap Download.", "Solved?"]);
    // 25 minutes after the last answer (45 after the opening): still the same session.
    set_clock(&api, t0 + 45 * 60_000).await;
    assert_eq!(chat.say("maybe", None).await, ["Sorry, try again.", "Solved?"]);
    // 31 minutes idle: the flow starts from the top and the message is not taken as an answer.
    set_clock(&api, t0 + 76 * 60_000).await;
    assert_eq!(chat.say("Yes", Some("yes")).await, ["Welcome!", "Hi, I am the helper.", "Topic?"]);
    assert_eq!(chat.say("Maps", Some("maps")).await, ["Open a trip and tap Download.", "Solved?"]);
    assert_eq!(chat.say("Yes", Some("yes")).await, ["Bye!"]);
    // Completed: hours later the bot does not start again.
    set_clock(&api, t0 + 10 * 3_600_000).await;
    assert_eq!(chat.say("Hello again", None).await, Vec::<String>::new());
}

#[tokio::test]
async fn bot_messages_arrive_live_with_their_quick_replies() {
    let server = TestServer::start();
    let api = server.api();
    let flow = create_bot(&api).await;
    let (_, token) = api.visitor(ACME).await;
    let mut ws = Ws::connect(&server, &token).await;
    assert!(matches!(ws.recv().await, ServerFrame::Hello { .. }));
    let conversation = api.open(&token, flow).await;
    let mut seqs = Vec::new();
    let mut question = None;
    while seqs.len() < 3 {
        match ws.recv().await {
            ServerFrame::Message { message } => {
                assert_eq!(
                    (message.conversation_id.as_str(), message.author.kind),
                    (conversation.as_str(), AuthorKind::Bot)
                );
                seqs.push(message.seq);
                if !message.quick_replies.is_empty() {
                    question = Some(message);
                }
            }
            ServerFrame::Typing { author, .. } => assert_eq!(author.kind, AuthorKind::Bot),
            _ => {}
        }
    }
    assert_eq!(seqs, [1, 2, 3], "in order, without gaps");
    let question = question.expect("the question carries its quick replies");
    assert_eq!(question.body, "Topic?");
    let ids: Vec<&str> = question.quick_replies.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids, ["billing", "maps", "other"]);
    // A tap is a normal message that references the reply id; the answer comes live too.
    let r = api
        .call(
            "PUT",
            &format!("/v1/conversations/{conversation}/messages/tap-1"),
            Some(&token),
            Some(json!({"body": "Maps", "quick_reply_id": "maps"})),
        )
        .await;
    assert_eq!((r.status.as_u16(), r.body["quick_reply_id"].as_str()), (201, Some("maps")));
    let mut bodies = Vec::new();
    while bodies.len() < 3 {
        if let ServerFrame::Message { message } = ws.recv().await {
            bodies.push((message.seq, message.body));
        }
    }
    assert_eq!(bodies, [(4, "Maps".into()), (5, "Open a trip and tap Download.".into()), (6, "Solved?".into())]);
}

#[tokio::test]
async fn broken_trees_are_refused_with_every_problem() {
    let server = TestServer::start();
    let api = server.api();
    let before = server.table_counts();
    let mut broken = bot_flow();
    broken["bot"]["flow"] = json!({"start": "hi", "nodes": [
        {"id": "hi", "action": "send_message", "text": "Hi", "next": "loop"},
        {"id": "loop", "action": "set_property", "name": "x", "value": "y", "next": "hi"},
        {"id": "ask", "action": "ask", "text": "?", "next": "nowhere"},
        {"id": "hi", "action": "end"},
        {"id": "split", "action": "branch", "rules": [
            {"condition": {"subject": {"kind": "last_answer"}, "op": "equals", "value": "a"}, "next": "gone"}]}
    ]});
    for (method, path) in
        [("POST", "/v1/admin/chatflows".to_owned()), ("PUT", format!("/v1/admin/chatflows/{FLOW_SUPPORT}"))]
    {
        let r = api.call(method, &path, Some(ACME_ADMIN), Some(broken.clone())).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{method}: {:?}", r.body);
        let problems = r.body["problems"].as_array().unwrap();
        let has = |kind: &str, node: &str| problems.iter().any(|p| p["kind"] == kind && p["node_id"] == node);
        assert!(has("cycle_without_question", "hi"), "{problems:?}");
        assert!(has("missing_target", "ask") && has("missing_target", "split"), "{problems:?}");
        assert!(has("unreachable", "ask") && has("unreachable", "split"), "{problems:?}");
        assert!(has("duplicate_node", "hi"), "{problems:?}");
        let message = r.body["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("the bot has {} problems: ", problems.len())), "{message}");
        assert!(message.contains("bot.flow.nodes[2].next: points to unknown node `nowhere`"), "{message}");
    }
    // The same checks apply to the settings.
    let mut bad = bot_flow();
    bad["bot"]["session_timeout_minutes"] = json!(0);
    let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(bad)).await;
    assert_eq!(r.body["problems"][0]["field"], "bot.session_timeout_minutes");
    assert_eq!(server.table_counts(), before, "nothing was written");
    // Bot settings on a live chat are still refused as before (a plain ErrorBody).
    let mut live = bot_flow();
    live["kind"] = json!("live_chat");
    let r = api.call("POST", "/v1/admin/chatflows", Some(ACME_ADMIN), Some(live)).await;
    assert_eq!(r.code(), "invalid_field");
    assert!(r.body.get("problems").is_none());
}
