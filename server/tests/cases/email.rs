//! Email over SMTP against a real SMTP server on loopback (`support::smtp`): the admin settings, the unread-reply
//! email (one per burst, checked against the read mark when due), the transcript on close (never for bot-started
//! chats), the agents' manual transcript, STARTTLS + AUTH, retries, and nothing sent twice after a restart. Internal
//! notes never appear.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::inbox_util::{act, bot_chatflow, set_clock};
use crate::support::smtp::{Received, SinkOptions, SmtpSink};
use crate::support::*;

const T0: i64 = 1_800_000_000_000;
const VISITOR_EMAIL: &str = "ann@visitor.example";
const NOTE: &str = "INTERNAL NOTE: refund approved by finance";

fn fast() -> Vec<&'static str> {
    vec!["--fake-clock", "--email-poll-ms", "20"]
}

async fn smtp_settings(api: &Api, admin: &str, body: Value) {
    let r = api.call("PUT", "/v1/admin/email", Some(admin), Some(body)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

fn plain(sink: &SmtpSink) -> Value {
    json!({"host": "127.0.0.1", "port": sink.port, "security": "none", "from_address": "help@acme.example",
           "from_name": "Acme Support", "reopen_link": "acme://chat/{conversation_id}"})
}

/// A visitor of Acme who gave an email (email capture), with an open Support conversation holding one visitor message.
async fn visitor_conversation(api: &Api, flow: i64) -> (String, String) {
    let (_, token) = api.visitor(ACME).await;
    let props = json!({"properties": {"email": VISITOR_EMAIL, "name": "Ann"}});
    assert_eq!(api.call("PUT", "/v1/visitor/properties", Some(&token), Some(props)).await.status, 200);
    let conv = api.open(&token, flow).await;
    assert_eq!(api.send(&token, &conv, "v1", "Hello, my order is late").await.status, 201);
    (token, conv)
}

async fn note(api: &Api, conv: &str) {
    let r = act(api, ALICE, "POST", conv, "/notes", Some(json!({"body": NOTE}))).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
}

async fn close(api: &Api, conv: &str) {
    let r = act(api, ALICE, "POST", conv, "/close", None).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// Turns `transcript_on_close` on for the chatflow (admin API).
async fn transcript_on_close(api: &Api, flow: i64) {
    let mut c = api.get(&format!("/v1/admin/chatflows/{flow}"), Some(ACME_ADMIN)).await.body;
    let obj = c.as_object_mut().unwrap();
    for k in ["id", "updated_at"] {
        obj.remove(k);
    }
    obj.insert("transcript_on_close".into(), json!(true));
    let r = api.call("PUT", &format!("/v1/admin/chatflows/{flow}"), Some(ACME_ADMIN), Some(c)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

/// Lets the worker run a few polls, then checks that the sink still holds exactly `n` emails.
async fn settle(sink: &SmtpSink, n: usize) -> Vec<Received> {
    tokio::time::sleep(Duration::from_millis(400)).await;
    let got = sink.received();
    assert_eq!(got.len(), n, "{got:#?}");
    got
}

fn outbox(db: &std::path::Path) -> Vec<(String, String, i64)> {
    database::rows(db, "SELECT kind, state, attempts FROM email_outbox ORDER BY id", &[])
        .iter()
        .map(|r| (r[0].text(), r[1].text(), r[2].int()))
        .collect()
}

#[tokio::test]
async fn admin_settings_are_validated_and_the_password_is_never_returned() {
    let server = TestServer::start();
    let api = server.api();
    let r = api.get("/v1/admin/email", Some(ACME_ADMIN)).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "not_found"));
    let base = json!({"host": "smtp.acme.example", "port": 587, "security": "starttls", "username": "mailer",
                      "password": "s3cret-pass", "from_address": "help@acme.example"});
    for (field, value, named) in [
        ("port", json!(0), "port"),
        ("security", json!("ssl"), "security"),
        ("from_address", json!("help"), "from_address"),
        ("reopen_link", json!("acme://chat/{visitor_id}"), "reopen_link"),
        ("host", json!("smtp acme"), "host"),
    ] {
        let mut body = base.clone();
        body[field] = value;
        let r = api.call("PUT", "/v1/admin/email", Some(ACME_ADMIN), Some(body)).await;
        assert_eq!(r.status, 400, "{field}: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(named), "{field}: {:?}", r.body);
    }
    let mut clear = base.clone();
    clear["security"] = json!("none");
    let r = api.call("PUT", "/v1/admin/email", Some(ACME_ADMIN), Some(clear)).await;
    assert_eq!(r.status, 400, "credentials in clear to a remote host: {:?}", r.body);
    let r = api.call("PUT", "/v1/admin/email", Some(ACME_ADMIN), Some(json!({"host": "x", "extra": 1}))).await;
    assert_eq!(r.status, 400);

    smtp_settings(&api, ACME_ADMIN, base.clone()).await;
    let got = api.get("/v1/admin/email", Some(ACME_ADMIN)).await;
    assert_eq!(got.body["has_password"], true);
    assert!(!got.body.to_string().contains("s3cret-pass"), "{}", got.body);
    // A round trip without the password keeps it.
    let mut again = base.clone();
    again.as_object_mut().unwrap().remove("password");
    smtp_settings(&api, ACME_ADMIN, again).await;
    assert_eq!(api.get("/v1/admin/email", Some(ACME_ADMIN)).await.body["has_password"], true);
    assert_eq!(api.get("/v1/admin/email", Some(GLOBEX_ADMIN)).await.status, 404, "settings are per app");
    assert_eq!(api.call("DELETE", "/v1/admin/email", Some(ACME_ADMIN), None).await.status, 204);
    assert_eq!(api.call("DELETE", "/v1/admin/email", Some(ACME_ADMIN), None).await.status, 404);
}

#[tokio::test]
async fn an_unread_reply_is_emailed_once_per_burst_when_due_and_not_once_read() {
    let sink = SmtpSink::start(SinkOptions::default());
    let server = TestServer::start_with(&fast());
    let api = server.api();
    set_clock(&api, T0).await;
    smtp_settings(&api, ACME_ADMIN, plain(&sink)).await;
    let (token, conv) = visitor_conversation(&api, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "First reply: checking your order").await.status, 201);
    note(&api, &conv).await;
    set_clock(&api, T0 + 30_000).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "Second reply: it ships tomorrow").await.status, 201);

    set_clock(&api, T0 + 119_000).await;
    settle(&sink, 0).await;
    set_clock(&api, T0 + 120_000).await;
    let mail = sink.wait_for(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(mail.rcpt_to, vec![VISITOR_EMAIL.to_owned()]);
    assert_eq!(mail.mail_from, "help@acme.example");
    assert_eq!(mail.ehlo, "acme.example");
    let from = mail.header("From").unwrap();
    assert!(from.contains("Acme Support") && from.ends_with("<help@acme.example>"), "{from}");
    assert_eq!(mail.header("To").unwrap(), VISITOR_EMAIL);
    let subject = mail.header("Subject").unwrap();
    assert!(subject.contains("replied to you") && subject.contains("Acme Support"), "{subject}");
    assert!(mail.header("Message-ID").unwrap().ends_with("@acme.example>"));
    assert!(mail.header("Date").is_some());
    assert!(mail.header("Content-Type").unwrap().starts_with("text/plain; charset=utf-8"));
    let body = mail.body();
    for part in ["Hello, my order is late", "First reply: checking your order", "Second reply: it ships tomorrow"] {
        assert!(body.contains(part), "{part} missing from {body}");
    }
    assert!(body.contains(&format!("acme://chat/{conv}")), "{body}");
    assert!(!body.contains("INTERNAL NOTE") && !mail.data.contains("refund approved"), "{body}");

    // Still unread: another reply joins the same burst.
    assert_eq!(api.agent_reply(ALICE, &conv, "Third reply").await.status, 201);
    set_clock(&api, T0 + 400_000).await;
    settle(&sink, 1).await;

    // Read in time: the next burst is cancelled when due.
    let r = api.call("POST", &format!("/v1/conversations/{conv}/read"), Some(&token), Some(json!({"seq": 4}))).await;
    assert_eq!(r.status, 204, "{:?}", r.body);
    assert_eq!(api.agent_reply(ALICE, &conv, "Fourth reply").await.status, 201);
    let r = api.call("POST", &format!("/v1/conversations/{conv}/read"), Some(&token), Some(json!({"seq": 5}))).await;
    assert_eq!(r.status, 204);
    set_clock(&api, T0 + 600_000).await;
    settle(&sink, 1).await;
    let rows = outbox(&server.db);
    assert_eq!(rows.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), ["sent", "cancelled"], "{rows:?}");

    // A visitor without an address gets nothing queued.
    let (_, other) = api.visitor(ACME).await;
    let c2 = api.open(&other, FLOW_SUPPORT).await;
    assert_eq!(api.send(&other, &c2, "x1", "hi").await.status, 201);
    assert_eq!(api.agent_reply(ALICE, &c2, "hello").await.status, 201);
    assert_eq!(outbox(&server.db).len(), 2);
}

#[tokio::test]
async fn the_transcript_is_emailed_on_close_when_on_but_never_for_a_bot_started_chat() {
    let sink = SmtpSink::start(SinkOptions::default());
    let server = TestServer::start_with(&fast());
    let api = server.api();
    smtp_settings(&api, ACME_ADMIN, plain(&sink)).await;
    // Off: closing sends nothing.
    let (_, conv) = visitor_conversation(&api, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "Done, anything else?").await.status, 201);
    close(&api, &conv).await;
    settle(&sink, 0).await;

    transcript_on_close(&api, FLOW_SUPPORT).await;
    let (_, conv) = visitor_conversation(&api, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "Your parcel is on its way").await.status, 201);
    note(&api, &conv).await;
    close(&api, &conv).await;
    let mail = sink.wait_for(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(mail.rcpt_to, vec![VISITOR_EMAIL.to_owned()]);
    assert_eq!(mail.header("Subject").unwrap(), "Transcript of your conversation with Acme Support");
    let body = mail.body();
    assert!(body.contains(&format!("Transcript of conversation {conv}")), "{body}");
    assert!(body.contains("] Ann: Hello, my order is late"), "{body}");
    assert!(body.contains("Your parcel is on its way"), "{body}");
    assert!(!mail.data.contains("INTERNAL NOTE"), "{body}");
    // Closing again (already closed) sends nothing more.
    close(&api, &conv).await;

    // A bot-started conversation, taken over by an agent: no transcript.
    let bot = bot_chatflow(&api, &["ag_alice"]).await;
    transcript_on_close(&api, bot).await;
    let (_, conv) = visitor_conversation(&api, bot).await;
    assert_eq!(act(&api, ALICE, "POST", &conv, "/take-over", None).await.status, 200);
    assert_eq!(api.agent_reply(ALICE, &conv, "Taking it from here").await.status, 201);
    close(&api, &conv).await;
    settle(&sink, 1).await;
    let kinds: Vec<String> = outbox(&server.db).into_iter().map(|r| r.0).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "transcript").count(), 1, "{kinds:?}");
}

#[tokio::test]
async fn an_agent_emails_a_transcript_to_chosen_addresses() {
    let sink = SmtpSink::start(SinkOptions::default());
    let server = TestServer::start_with(&fast());
    let api = server.api();
    let (_, conv) = visitor_conversation(&api, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "Sorted").await.status, 201);
    note(&api, &conv).await;
    let path = "/transcript/email";
    let to = json!({"to": ["boss@acme.example", "Boss@Acme.example", "ops@acme.example"], "subject": "Order #42"});
    let r = act(&api, ALICE, "POST", &conv, path, Some(to.clone())).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "open: {:?}", r.body);
    close(&api, &conv).await;
    let r = act(&api, ALICE, "POST", &conv, path, Some(to.clone())).await;
    assert_eq!((r.status.as_u16(), r.code()), (403, "forbidden"), "no SMTP settings: {:?}", r.body);
    smtp_settings(&api, ACME_ADMIN, plain(&sink)).await;
    for bad in [json!({"to": []}), json!({"to": ["nope"]}), json!({"to": ["a@b.io"], "subject": "a\nb"})] {
        let r = act(&api, ALICE, "POST", &conv, path, Some(bad.clone())).await;
        assert_eq!(r.status, 400, "{bad}: {:?}", r.body);
    }
    let many: Vec<String> = (0..11).map(|i| format!("u{i}@acme.example")).collect();
    let r = act(&api, ALICE, "POST", &conv, path, Some(json!({ "to": many }))).await;
    assert_eq!(r.status, 400, "{:?}", r.body);
    let r = act(&api, GINA, "POST", &conv, path, Some(to.clone())).await;
    assert_eq!(r.status, 404, "another app's agent");

    let r = act(&api, ALICE, "POST", &conv, path, Some(to)).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    assert_eq!(r.body["to"], json!(["boss@acme.example", "ops@acme.example"]));
    let mail = sink.wait_for(1, Duration::from_secs(10)).await.remove(0);
    assert_eq!(mail.rcpt_to, ["boss@acme.example", "ops@acme.example"]);
    assert_eq!(mail.header("Subject").unwrap(), "Order #42");
    assert_eq!(mail.header("To").unwrap(), "boss@acme.example, ops@acme.example");
    assert!(mail.body().contains("Sorted") && !mail.data.contains("INTERNAL NOTE"));
    settle(&sink, 1).await;
}

#[tokio::test]
async fn starttls_and_auth_with_a_private_ca() {
    let sink = SmtpSink::start(SinkOptions { starttls: true, auth: Some(("mailer".into(), "pa55-word".into())) });
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, sink.ca_pem.as_ref().unwrap()).unwrap();
    let mut flags = fast();
    flags.extend(["--smtp-ca-file", ca.to_str().unwrap()]);
    let server = TestServer::start_with(&flags);
    let api = server.api();
    let mut settings = plain(&sink);
    settings["security"] = json!("starttls");
    settings["username"] = json!("mailer");
    settings["password"] = json!("pa55-word");
    smtp_settings(&api, ACME_ADMIN, settings).await;
    let (_, conv) = visitor_conversation(&api, FLOW_SUPPORT).await;
    close(&api, &conv).await;
    let r = act(&api, ALICE, "POST", &conv, "/transcript/email", Some(json!({"to": ["a@acme.example"]}))).await;
    assert_eq!(r.status, 202, "{:?}", r.body);
    let mail = sink.wait_for(1, Duration::from_secs(10)).await.remove(0);
    assert!(mail.tls, "the message went over TLS");
    assert_eq!(mail.auth_user.as_deref(), Some("mailer"));
}

#[tokio::test]
async fn transient_failures_retry_with_backoff_and_nothing_is_sent_twice_after_a_restart() {
    let sink = SmtpSink::start(SinkOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chatflow.db");
    let server = TestServer::start_on(&db, &fast());
    let api = server.api();
    set_clock(&api, T0).await;
    smtp_settings(&api, ACME_ADMIN, plain(&sink)).await;
    let (_, conv) = visitor_conversation(&api, FLOW_SUPPORT).await;
    close(&api, &conv).await;
    sink.fail_next(1);
    let send = |n: usize| json!({"to": [format!("r{n}@acme.example")]});
    assert_eq!(act(&api, ALICE, "POST", &conv, "/transcript/email", Some(send(0))).await.status, 202);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(outbox(&db), [("manual_transcript".to_owned(), "pending".to_owned(), 1)], "a 451 waits");
    set_clock(&api, T0 + 29_000).await;
    settle(&sink, 0).await;
    set_clock(&api, T0 + 31_000).await;
    sink.wait_for(1, Duration::from_secs(10)).await;
    for n in 1..=3 {
        assert_eq!(act(&api, ALICE, "POST", &conv, "/transcript/email", Some(send(n))).await.status, 202);
    }
    sink.wait_for(4, Duration::from_secs(10)).await;
    // The sink has the 4th email a moment before the server records it sent: stop only once it has.
    let sent = |db: &std::path::Path| outbox(db).iter().all(|r| r.1 == "sent");
    for _ in 0..500 {
        if sent(&db) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(sent(&db), "{:?}", outbox(&db));
    server.stop();

    // An email a stop interrupted mid-send (claimed, outcome unknown) must not go out again either.
    database::execute(&db, "UPDATE email_outbox SET state = 'sending' WHERE id = 4", &[]);
    let server = TestServer::start_on(&db, &fast());
    let got = settle(&sink, 4).await;
    let mut rcpts: Vec<String> = got.iter().flat_map(|m| m.rcpt_to.clone()).collect();
    rcpts.sort();
    assert_eq!(rcpts, ["r0@acme.example", "r1@acme.example", "r2@acme.example", "r3@acme.example"]);
    let states: Vec<String> = outbox(&server.db).into_iter().map(|r| r.1).collect();
    assert_eq!(states, ["sent", "sent", "sent", "failed"]);
}

/// The outbox's throughput to the loopback sink: `cargo nextest run -p chatflow-server --run-ignored only
/// email_throughput --no-capture`. Emails are queued first (their first attempt is refused: nothing listens), then
/// the SMTP settings point to the sink and the clock moves past the retry: the time to drain is the outbox's alone.
#[tokio::test]
#[ignore = "measurement, not a test: run it on demand"]
async fn email_throughput() {
    let n: usize = std::env::var("EMAIL_THROUGHPUT_N").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let sink = SmtpSink::start(SinkOptions::default());
    // One agent queues all the emails: its write budget (120 a minute by default) is raised out of the way.
    let server = TestServer::start_with(&[fast(), vec!["--limit-agent-writes-per-agent", "100000/1s"]].concat());
    let api = server.api();
    set_clock(&api, T0).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut dead = plain(&sink);
    dead["port"] = json!(dead_port);
    smtp_settings(&api, ACME_ADMIN, dead).await;
    let (_, conv) = visitor_conversation(&api, FLOW_SUPPORT).await;
    for i in 0..20 {
        assert_eq!(api.agent_reply(ALICE, &conv, &format!("reply {i}")).await.status, 201);
    }
    close(&api, &conv).await;
    for i in 0..n {
        let r = act(&api, ALICE, "POST", &conv, "/transcript/email", Some(json!({"to": [format!("r{i}@x.example")]})));
        assert_eq!(r.await.status, 202);
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while outbox(&server.db).iter().any(|r| r.0 == "manual_transcript" && r.2 == 0) {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    smtp_settings(&api, ACME_ADMIN, plain(&sink)).await;
    let start = Instant::now();
    set_clock(&api, T0 + 60_000).await;
    let got = sink.wait_for(n, Duration::from_secs(600)).await;
    let secs = start.elapsed().as_secs_f64();
    let bytes: usize = got.iter().map(|m| m.data.len()).sum();
    println!(
        "email outbox: {n} emails in {secs:.2} s = {:.0} emails/s to the loopback sink ({} connections, {:.1} KB/email)",
        n as f64 / secs,
        sink.connections(),
        bytes as f64 / n as f64 / 1024.0
    );
}
