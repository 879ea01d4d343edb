//! Every one-shot command end to end: the real `chatflow` binary against the real server (test seed).

mod support;

use predicates::prelude::*;
use serde_json::Value;
use support::{stderr, stdout, Env, APP, SECRET};

fn error_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stderr).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {}", stderr(out)))
}

#[test]
fn config_errors_are_precise_and_exit_3() {
    let env = Env::start();
    // No config at all (and no ./chatflow.json in the temp working dir).
    let out =
        env.cli().env_remove("CHATFLOW_CONFIG").current_dir(env.dir.path().join("..")).arg("resolve").output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("--config FILE"), "{}", stderr(&out));

    // A missing file is named.
    env.cli()
        .args(["--config", "/nonexistent/cf.json", "resolve"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("/nonexistent/cf.json").and(predicate::str::contains("cannot be read")));

    // The SDK's validation message: field, value, expectation.
    let bad = env.dir.path().join("bad.json");
    std::fs::write(
        &bad,
        format!(r#"{{"server_url":"{}","app_id":"{APP}","environment":"prod","default_tag":"support"}}"#, env.url),
    )
    .unwrap();
    let out = env.cli().arg("--config").arg(&bad).args(["--json", "resolve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty(), "errors never go to stdout with --json");
    let e = error_json(&out);
    assert_eq!(e["error"]["kind"], "config");
    assert_eq!(e["error"]["exit_code"], 3);
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("`environment`") && msg.contains("`prod`") && msg.contains("production"), "{msg}");

    // Plain http:// to a non-loopback host is refused by the SDK with its reason.
    std::fs::write(
        &bad,
        r#"{"server_url":"http://chat.example.com","app_id":"a","environment":"development","default_tag":"t"}"#,
    )
    .unwrap();
    env.cli().arg("--config").arg(&bad).arg("explain").assert().code(3).stderr(predicate::str::contains("loopback"));

    // Usage errors are clap's (exit 2).
    env.cli().args(["resolve", "--no-such-flag"]).assert().code(2);
}

#[test]
fn resolve_and_explain_report_the_winner_and_why() {
    let env = Env::start();
    env.cli()
        .arg("resolve")
        .assert()
        .success()
        .stdout(predicate::str::contains("chatflow 1 \"Support\"").and(predicate::str::contains("available now")));

    let r = env.json(&["resolve", "--tag", "support"]);
    assert_eq!(r["outcome"], "found");
    assert_eq!(r["chatflow"]["chatflow_id"], 1);
    assert_eq!(r["chatflow"]["kind"], "live_chat");
    assert_eq!(r["cache"]["stale"], false);
    assert_eq!(r["cache"]["chatflow_count"], 7);

    let r = env.json(&["resolve", "--tag", "billing"]);
    assert_eq!(r["chatflow"]["consent"]["process_data_mode"], "explicit");
    assert_eq!(r["chatflow"]["consent"]["process_data_text_version"].as_str().unwrap().len(), 64);

    let e = env.json(&["explain", "--tag", "support"]);
    assert_eq!(e["winner_id"], 1);
    let verdicts: Vec<(i64, String)> = e["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["chatflow_id"].as_i64().unwrap(), c["verdict"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(verdicts, [(1, "chosen".to_owned()), (2, "lower_priority".to_owned()), (3, "disabled".to_owned())]);
    assert!(e["known_tags"].as_array().unwrap().iter().any(|t| t == "billing"));
    env.cli()
        .args(["explain", "--tag", "support"])
        .assert()
        .success()
        .stdout(predicate::str::contains("winner: chatflow 1 \"Support\"").and(predicate::str::contains("disabled")));

    // A tag nobody carries: not found (7), with the tags that exist.
    env.cli()
        .args(["resolve", "--tag", "nope"])
        .assert()
        .code(7)
        .stdout(predicate::str::contains("no enabled chatflow"));
    env.cli().args(["explain", "--tag", "nope"]).assert().code(7);
    env.cli()
        .args(["send", "--tag", "nope", "hi"])
        .assert()
        .code(7)
        .stderr(predicate::str::contains("tags that exist").and(predicate::str::contains("support")));
}

#[test]
fn resolve_works_offline_from_the_cache_and_says_so() {
    let mut env = Env::start();
    env.json(&["resolve"]);
    env.stop();
    let out = env.cli().args(["--json", "resolve"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["chatflow"]["chatflow_id"], 1);
    assert_eq!(r["cache"]["stale"], true);
    assert!(stderr(&out).contains("network"), "{}", stderr(&out));
    // --offline does not even try.
    let out = env.cli().args(["resolve", "--offline"]).output().unwrap();
    assert!(out.status.success());
    assert!(!stderr(&out).contains("network"), "{}", stderr(&out));

    // A fresh data dir with the server down: nothing cached, a network error (4).
    let out =
        env.cli().env("CHATFLOW_DATA_DIR", env.dir.path().join("fresh")).args(["--json", "resolve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(error_json(&out)["error"]["kind"], "network");
    env.cli()
        .env("CHATFLOW_DATA_DIR", env.dir.path().join("fresh"))
        .args(["resolve", "--offline"])
        .assert()
        .code(7)
        .stderr(predicate::str::contains("never fetched"));
}

#[test]
fn consent_gates_sending_until_accepted() {
    let env = Env::start();
    let c = env.json(&["consent", "--tag", "billing"]);
    assert_eq!(c["consent"]["status"], "awaiting_decision");
    assert_eq!(c["consent"]["can_send"], false);

    // Refused locally before anything is queued: exit 6.
    let out = env.cli().args(["send", "--tag", "billing", "hello"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("explicit consent"), "{}", stderr(&out));

    let c = env.json(&["consent", "accept", "--tag", "billing"]);
    assert_eq!(c["recorded"], true);
    assert_eq!(c["delivered"], true, "the record reached the server");
    assert_eq!(c["consent"]["status"], "accepted");
    let s = env.json(&["send", "--tag", "billing", "hello", "billing"]);
    assert_eq!(s["delivered"], true);
    assert_eq!(s["message"]["seq"], 1);
    assert_eq!(s["message"]["body"], "hello billing");

    // Declining blocks again; a chatflow without consent refuses a decision (usage, 2).
    let c = env.json(&["consent", "decline", "--tag", "billing"]);
    assert_eq!(c["consent"]["status"], "declined");
    env.cli().args(["send", "--tag", "billing", "again"]).assert().code(6);
    env.cli()
        .args(["consent", "accept", "--tag", "support"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("does not ask for consent"));

    // The communications opt-in (French sales chatflow, legitimate interest).
    let c = env.json(&["consent", "--tag", "sales", "--communicate", "true"]);
    assert_eq!(c["consent"]["status"], "notice_to_show");
    assert_eq!(c["consent"]["communicate"]["opted_in"], true);
    assert_eq!(c["consent"]["communicate"]["subscription_type"], "product_updates");
    env.cli()
        .args(["consent", "--tag", "billing"])
        .assert()
        .success()
        .stdout(predicate::str::contains("declined").and(predicate::str::contains("Acme stores your messages")));
}

#[test]
fn send_history_agent_reply_and_status() {
    let env = Env::start();
    let s = env.json(&["send", "hello", "from", "the", "cli"]);
    assert_eq!(s["delivered"], true);
    assert_eq!(s["chatflow_id"], 1);
    let conversation = s["conversation_id"].as_str().unwrap().to_owned();
    assert_eq!(s["message"]["body"], "hello from the cli");
    assert_eq!(s["message"]["state"], "sent");

    // The next send continues the same conversation.
    let s2 = env.json(&["send", "second"]);
    assert_eq!(s2["conversation_id"], conversation.as_str());
    assert_eq!(s2["message"]["seq"], 2);

    // The agent (helper: the seed's assigned agent) replies; history shows it.
    env.cli()
        .args(["agent-reply", "--seed"])
        .arg(support::seed_path())
        .args(["--typing-ms", "50", "Hello, how can I help?"])
        .assert()
        .success()
        .stdout(predicate::str::contains("replied #3"));
    let h = env.json(&["history"]);
    assert_eq!(h["conversation"]["id"], conversation.as_str());
    let bodies: Vec<&str> = h["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["hello from the cli", "second", "Hello, how can I help?"]);
    assert_eq!(h["messages"][2]["author_kind"], "agent");
    let h = env.json(&["history", "--conversation", &conversation, "--limit", "1"]);
    assert_eq!(h["messages"].as_array().unwrap().len(), 1);
    assert_eq!(h["messages"][0]["seq"], 3);
    env.cli()
        .arg("history")
        .assert()
        .success()
        .stdout(predicate::str::contains("you: second").and(predicate::str::contains(": Hello, how can I help?")));
    env.cli().args(["history", "--conversation", "nope"]).assert().code(7);

    // --wait-reply is bounded and says when nothing came.
    let out = env.cli().args(["send", "--wait-reply", "1", "anyone?"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no reply from the team"), "{}", stderr(&out));

    let st = env.json(&["status"]);
    assert_eq!(st["app_id"], APP);
    assert!(st["session"]["visitor_id"].is_string());
    assert_eq!(st["pending_messages"].as_array().unwrap().len(), 0);
    assert_eq!(st["conversations"][0]["id"], conversation.as_str());
    assert_eq!(st["conversations"][0]["last_seq"], 4);

    // Empty messages are refused before anything happens (usage, 2).
    env.cli().args(["send", "  "]).assert().code(2);
}

#[test]
fn offline_sends_are_kept_and_delivered_after_reconnect() {
    let mut env = Env::start();
    let first = env.json(&["send", "online"]);
    let conversation = first["conversation_id"].as_str().unwrap().to_owned();
    env.stop();

    // Queued without waiting.
    let q = env.json(&["send", "--no-wait", "written offline"]);
    assert_eq!(q["delivered"], false);
    assert_eq!(q["message"]["state"], "queued");
    assert_eq!(q["conversation_id"], conversation.as_str());
    // Waiting: a network error (4) that says the message stays queued.
    let out = env.cli().args(["send", "--timeout", "2", "still offline"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(stderr(&out).contains("stays queued"), "{}", stderr(&out));
    let st = env.json(&["status"]);
    assert_eq!(st["pending_messages"].as_array().unwrap().len(), 2);

    env.restart();
    let s = env.json(&["send", "back online"]);
    assert_eq!(s["delivered"], true);
    let h = env.json(&["history"]);
    let bodies: Vec<&str> = h["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["online", "written offline", "still offline", "back online"], "in order, exactly once");
    assert!(h["messages"].as_array().unwrap().iter().all(|m| m["state"] == "sent"));
    assert_eq!(env.json(&["status"])["pending_messages"].as_array().unwrap().len(), 0);
}

#[test]
fn identify_and_logout() {
    let env = Env::start();
    env.json(&["send", "anonymous hello"]);
    let token = support::identity_token(SECRET.as_bytes(), "user-42", Some("ada@example.com"), 600);
    let i = env.json(&["identify", &token]);
    assert_eq!(i["user_id"], "user-42");
    assert_eq!(i["pending"], false);
    assert_eq!(env.json(&["status"])["session"]["user_id"], "user-42");

    // A forged token: the server refuses (5) with its code.
    let forged = support::identity_token(b"not-the-app-secret-0123456789", "user-42", None, 600);
    let out = env.cli().args(["--json", "identify", &forged]).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert_eq!(error_json(&out)["error"]["code"], "identity_token_forged");

    let l = env.json(&["logout"]);
    assert_eq!(l["previous"]["user_id"], "user-42");
    let st = env.json(&["status"]);
    assert!(st["session"].is_null(), "{st}");
    assert_eq!(st["conversations"].as_array().unwrap().len(), 0, "local data wiped");
    let h = env.json(&["history"]);
    assert!(h["conversation"].is_null());
    env.cli().args(["logout", "--delete"]).assert().success().stdout(predicate::str::contains("logged out"));
}

#[test]
fn search_syncs_the_knowledge_base_and_works_offline() {
    let mut env = Env::with_knowledge_base();
    let r = env.json(&["search", "reset", "password"]);
    assert_eq!(r["kb_id"], 1);
    assert!(r["sync"]["articles"].as_u64().unwrap() > 50, "{r}");
    assert!(r["sync"]["error"].is_null());
    assert_eq!(r["hits"][0]["title"], "Reset your password", "{r}");
    let article = r["hits"][0]["article_id"].as_i64().unwrap().to_string();
    env.cli()
        .args(["search", "--article", &article])
        .assert()
        .success()
        .stdout(predicate::str::contains("Reset your password").and(predicate::str::contains("article ")));
    let fr = env.json(&["search", "--lang", "fr", "mot de passe"]);
    assert!(fr["hits"][0]["title"].as_str().unwrap().contains("mot de passe"), "{fr}");
    env.cli()
        .args(["search", "-n", "2", "offline", "maps"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Offline maps").and(predicate::str::contains("articles indexed locally")));

    // Offline: the sync fails (said on stdout/JSON), the local index answers.
    env.stop();
    let out = env.cli().args(["--json", "search", "refund"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["sync"]["error"].as_str().unwrap().contains("network"), "{r}");
    assert_eq!(r["hits"][0]["title"], "Request a refund", "{r}");
}

#[test]
fn search_needs_a_knowledge_base() {
    let env = Env::start();
    // The test seed's support chatflows have the knowledge base off: a precise not-found (7).
    env.cli().args(["search", "password"]).assert().code(7).stderr(predicate::str::contains("has no knowledge base"));
    env.cli().args(["search", "--article", "12345"]).assert().code(7).stderr(predicate::str::contains("article 12345"));
}

#[test]
fn demo_config_writes_a_valid_sdk_config() {
    let env = Env::start();
    let path = env.dir.path().join("demo.json");
    env.cli()
        .env_remove("CHATFLOW_CONFIG")
        .args(["demo-config", "--server-url", &env.url, "--seed"])
        .arg(support::seed_path())
        .arg("--out")
        .arg(&path)
        .assert()
        .success();
    let c: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(c["app_id"], APP);
    assert_eq!(c["server_url"], env.url.as_str());
    env.cli().arg("--config").arg(&path).arg("resolve").assert().success();
    let out =
        env.cli().args(["demo-config", "--server-url", &env.url, "--seed", "/nonexistent.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(stdout(&out).is_empty());
}

#[test]
fn send_file_and_download() {
    let env = Env::start();
    let mut pdf = b"%PDF-1.7\n".to_vec();
    pdf.extend((0..50_000u32).map(|i| (i % 251) as u8));
    let path = env.dir.path().join("receipt.pdf");
    std::fs::write(&path, &pdf).unwrap();

    let s = env.json(&["send", "--file", path.to_str().unwrap(), "my", "receipt"]);
    assert_eq!(s["delivered"], true);
    assert_eq!(s["message"]["body"], "my receipt");
    let attachment = &s["message"]["attachments"][0];
    assert_eq!(attachment["file_name"], "receipt.pdf");
    assert_eq!(attachment["mime_type"], "application/pdf");
    assert_eq!(attachment["size"], pdf.len());
    let id = attachment["id"].as_str().expect("the server's attachment id").to_owned();

    // The file comes back byte-identical, and history lists it under its message.
    let out = env.dir.path().join("again.pdf");
    let d = env.json(&["download", &id, "--out", out.to_str().unwrap()]);
    assert_eq!(d["size"], pdf.len());
    assert_eq!(std::fs::read(&out).unwrap(), pdf);
    env.cli().arg("history").assert().success().stdout(predicate::str::contains("📎 receipt.pdf (application/pdf"));

    // A declared type the bytes contradict is refused before anything is queued.
    let lying = env.cli().args(["send", "--mime", "image/png", "--file", path.to_str().unwrap()]).output().unwrap();
    assert!(!lying.status.success());
    assert!(stderr(&lying).contains("content_mismatch"), "{}", stderr(&lying));
    assert_eq!(env.json(&["status"])["pending_messages"].as_array().unwrap().len(), 0);
}
