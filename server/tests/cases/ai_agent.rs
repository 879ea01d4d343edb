//! The `ai_agent` chatflow kind through the real server, on the demo seed and its bilingual knowledge base: the
//! welcome, answers to English and French questions (title, excerpt, link, then "did that answer your question?" with
//! buttons), a verdict tapped twice, "no" and a request for a person handing off to the team (routed, then silent),
//! nothing found, a message with nothing to search for, two questions sent at once, and the save-time rule.
//!
//! The agent answers on its own task: tests wait until its session has handled the visitor's message and stored
//! everything it decided (read from the database), then compare the messages. No timing is asserted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::*;

const TRAILMATE: &str = "app_trailmate";
const ADMIN: &str = "cfa_trailmate_demo_admin_token";
const CAMILLE: &str = "cfg_trailmate_camille_demo_token";
/// The demo seed's `ai_agent` chatflow (tag `assistant`, English, knowledge base 1).
const ASSISTANT: i64 = 10;

fn demo_seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/demo.json")
}

fn demo_server(dir: &tempfile::TempDir) -> TestServer {
    TestServer::start_seeded(&dir.path().join("demo.db"), &demo_seed(), &[])
}

struct Chat<'a> {
    server: &'a TestServer,
    api: Api,
    token: String,
    conversation: String,
    sent: u32,
}

impl<'a> Chat<'a> {
    async fn open(server: &'a TestServer, flow: i64) -> Chat<'a> {
        let api = server.api();
        let (_, token) = api.visitor(TRAILMATE).await;
        let conversation = api.open(&token, flow).await;
        let chat = Chat { server, api, token, conversation, sent: 0 };
        chat.settle(0).await;
        chat
    }

    async fn settle(&self, seq: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while !bot_session(self.server, &self.conversation).is_some_and(|(handled, idle)| handled >= seq && idle) {
            assert!(tokio::time::Instant::now() < deadline, "the agent never settled after seq {seq}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn messages(&self) -> Vec<Value> {
        let r = self.api.messages(&self.token, &self.conversation, "?limit=500").await;
        r.body["messages"].as_array().unwrap().clone()
    }

    /// Sends without waiting for the agent; returns the message's seq.
    async fn send(&mut self, body: &str, quick_reply: Option<&str>) -> u64 {
        self.sent += 1;
        let path = format!("/v1/conversations/{}/messages/m-{}", self.conversation, self.sent);
        let mut req = json!({"body": body});
        if let Some(q) = quick_reply {
            req["quick_reply_id"] = json!(q);
        }
        let r = self.api.call("PUT", &path, Some(&self.token), Some(req)).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["seq"].as_u64().unwrap()
    }

    /// Sends and returns what the agent said after it.
    async fn say(&mut self, body: &str, quick_reply: Option<&str>) -> Vec<Value> {
        let seq = self.send(body, quick_reply).await;
        self.settle(seq).await;
        self.after(seq).await
    }

    async fn after(&self, seq: u64) -> Vec<Value> {
        let after: Vec<Value> =
            self.messages().await.into_iter().filter(|m| m["seq"].as_u64().unwrap() > seq).collect();
        for m in &after {
            assert_eq!(m["author"]["kind"], "bot", "{m}");
        }
        after
    }

    async fn row(&self) -> Value {
        let r = self.api.get(&format!("/v1/agent/conversations/{}", self.conversation), Some(CAMILLE)).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body.clone()
    }
}

fn body(m: &Value) -> &str {
    m["body"].as_str().unwrap()
}

fn button_ids(m: &Value) -> Vec<&str> {
    m["quick_replies"].as_array().map(|q| q.iter().map(|b| b["id"].as_str().unwrap()).collect()).unwrap_or_default()
}

/// The answer to a question: the articles, then the verdict question with its buttons (returned: the "yes" id).
fn answered<'m>(said: &'m [Value], title: &str, url_part: &str, solved: &str) -> &'m str {
    assert_eq!(said.len(), 2, "{said:?}");
    let text = body(&said[0]);
    let first = text.lines().nth(2).unwrap_or_default();
    assert_eq!(first, title, "the best article comes first: {text}");
    assert!(text.contains(url_part), "{text}");
    assert_eq!(body(&said[1]), solved);
    let ids = button_ids(&said[1]);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids[0].starts_with("yes-") && ids[1].starts_with("no-") && ids[2] == "person", "{ids:?}");
    said[1]["quick_replies"][0]["id"].as_str().unwrap()
}

#[tokio::test]
async fn answers_english_questions_then_hands_off_when_it_did_not_help() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(&dir);
    let mut chat = Chat::open(&server, ASSISTANT).await;
    let welcome = chat.messages().await;
    assert_eq!(welcome.len(), 1);
    assert!(body(&welcome[0]).starts_with("Hi! I'm the Trailmate assistant."), "{welcome:?}");
    assert_eq!(welcome[0]["author"]["display_name"], "Trailmate assistant");
    assert_eq!(button_ids(&welcome[0]), ["person"]);

    let said = chat.say("How do I reset my password?", None).await;
    let yes =
        answered(&said, "Reset your password", "/en/articles/3-reset-your-password", "Did that answer your question?")
            .to_owned();
    // A verdict tapped twice: one thank-you.
    let said = chat.say("Yes, thanks", Some(&yes)).await;
    assert_eq!(said.iter().map(body).collect::<Vec<_>>(), ["Great! Ask me anything else whenever you need."]);
    assert!(chat.say("Yes, thanks", Some(&yes)).await.is_empty(), "a replayed verdict changes nothing");
    assert_eq!(chat.row().await["handled_by"], "bot");

    let said = chat.say("My offline maps are not loading", None).await;
    let no = said[1]["quick_replies"][1]["id"].as_str().unwrap().to_owned();
    answered(&said, "Offline maps are not loading", "/en/articles/13-", "Did that answer your question?");
    let said = chat.say("No", Some(&no)).await;
    let texts: Vec<&str> = said.iter().map(body).collect();
    assert_eq!(
        texts,
        ["Sorry that didn't help.", "I'm passing you to the team. Someone will answer here shortly."],
        "Camille (support team) is available"
    );
    let row = chat.row().await;
    assert_eq!(row["handled_by"], "agents");
    assert_eq!(row["conversation"]["assignee"]["id"], "ag_camille", "{row}");
    // Silent from now on.
    assert!(chat.say("Sync trips between phone and tablet", None).await.is_empty());
    assert!(chat.say("agent", Some("person")).await.is_empty());
}

#[tokio::test]
async fn answers_french_questions_and_hands_off_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(&dir);
    let api = server.api();
    let r = api.get(&format!("/v1/admin/chatflows/{ASSISTANT}"), Some(ADMIN)).await;
    let mut input = r.body.clone();
    for field in ["id", "updated_at"] {
        input.as_object_mut().unwrap().remove(field);
    }
    input["name"] = json!("Assistant Trailmate");
    input["language"] = json!("fr");
    input["mobile_tags"] = json!(["assistant-fr"]);
    input["welcome_message"] = json!("");
    let r = api.call("POST", "/v1/admin/chatflows", Some(ADMIN), Some(input)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let mut chat = Chat::open(&server, r.body["id"].as_i64().unwrap()).await;
    let welcome = chat.messages().await;
    assert!(body(&welcome[0]).starts_with("Bonjour ! Je suis l'assistant virtuel."), "the default welcome in French");
    assert_eq!(welcome[0]["quick_replies"][0]["label"], "Parler à un conseiller");

    let said = chat.say("Comment réinitialiser mon mot de passe ?", None).await;
    answered(&said, "Réinitialiser votre mot de passe", "/fr/articles/36-", "Cela répond-il à votre question ?");
    let said = chat.say("Les cartes hors ligne ne s'affichent pas", None).await;
    answered(
        &said,
        "Les cartes hors ligne ne s'affichent pas",
        "/fr/articles/46-",
        "Cela répond-il à votre question ?",
    );
    // Only words like "bonjour" and "comment": asked to say more, with the person button.
    let said = chat.say("Bonjour, comment je fais ?", None).await;
    assert_eq!(said.len(), 1);
    assert_eq!(body(&said[0]), "Pouvez-vous décrire votre question en quelques mots de plus ?");
    assert_eq!(button_ids(&said[0]), ["person"]);

    let said = chat.say("Je voudrais parler à un conseiller", None).await;
    assert_eq!(
        said.iter().map(body).collect::<Vec<_>>(),
        ["Je vous mets en relation avec l'équipe. Quelqu'un va vous répondre ici."]
    );
    assert_eq!(chat.row().await["handled_by"], "agents");
}

#[tokio::test]
async fn nothing_found_hands_off_with_the_away_text_when_nobody_is_there() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(&dir);
    // Camille goes away: nobody of the support team is available.
    let r = server.api().call("PUT", "/v1/agent/presence", Some(CAMILLE), Some(json!({"available": false}))).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let mut chat = Chat::open(&server, ASSISTANT).await;
    let said = chat.say("Do you sell kayaks?", None).await;
    let texts: Vec<&str> = said.iter().map(body).collect();
    assert_eq!(
        texts,
        ["I couldn't find an article about that.", "The team is away right now. They typically reply in a few hours."]
    );
    assert_eq!(chat.row().await["handled_by"], "agents");
}

#[tokio::test]
async fn two_questions_sent_at_once_are_both_answered_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(&dir);
    let mut chat = Chat::open(&server, ASSISTANT).await;
    let (first, second) = tokio::join!(
        chat.api.send(&chat.token, &chat.conversation, "q-1", "How do I import a GPX track?"),
        chat.api.send(&chat.token, &chat.conversation, "q-2", "Request a refund")
    );
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (201, 201));
    let (first_seq, second_seq) = (first.body["seq"].as_u64().unwrap(), second.body["seq"].as_u64().unwrap());
    chat.settle(first_seq.max(second_seq)).await;
    // The agent may answer the earlier question before the later one is stored: take the bot's
    // messages after the earlier question, whatever sits between them.
    let said: Vec<Value> = chat
        .messages()
        .await
        .into_iter()
        .filter(|m| m["seq"].as_u64().unwrap() > first_seq.min(second_seq) && m["author"]["kind"] == "bot")
        .collect();
    assert_eq!(said.len(), 4, "{said:?}");
    let order: Vec<&str> = if first_seq < second_seq {
        vec!["Import a GPX track", "Request a refund"]
    } else {
        vec!["Request a refund", "Import a GPX track"]
    };
    assert_eq!(body(&said[0]).lines().nth(2), Some(order[0]));
    assert_eq!(body(&said[2]).lines().nth(2), Some(order[1]));
    // Only the latest answer's verdict counts: the first one's "no" is stale.
    let stale_no = said[1]["quick_replies"][1]["id"].as_str().unwrap().to_owned();
    assert!(chat.say("No", Some(&stale_no)).await.is_empty());
    assert_eq!(chat.row().await["handled_by"], "bot");
}

#[tokio::test]
async fn an_ai_agent_without_a_knowledge_base_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = demo_server(&dir);
    let api = server.api();
    let mut input = api.get(&format!("/v1/admin/chatflows/{ASSISTANT}"), Some(ADMIN)).await.body;
    for field in ["id", "updated_at"] {
        input.as_object_mut().unwrap().remove(field);
    }
    input["knowledge_base"] = json!({"enabled": false});
    let before = server.table_counts();
    for (method, path) in
        [("POST", "/v1/admin/chatflows".to_owned()), ("PUT", format!("/v1/admin/chatflows/{ASSISTANT}"))]
    {
        let r = api.call(method, &path, Some(ADMIN), Some(input.clone())).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{method} {:?}", r.body);
        let message = r.body["message"].as_str().unwrap();
        assert!(message.contains("`ai_agent` chatflow answers from its knowledge base"), "{message}");
    }
    assert_eq!(server.table_counts(), before, "nothing written");
}
