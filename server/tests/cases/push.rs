//! Push delivery against local fakes of Google's OAuth2 endpoint, FCM HTTP v1 and APNs (HTTP/2 + TLS, test CA): the
//! fakes verify the JWT signatures and check every header and payload field (`support::push_fakes`).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::push_fakes::*;
use crate::support::*;

const WAIT: Duration = Duration::from_secs(15);

/// The fakes, and a server started with their URLs and the test CA.
struct Setup {
    google: Fake,
    apns: FakeApns,
    server: TestServer,
    _dir: tempfile::TempDir,
    db: PathBuf,
    ca: PathBuf,
}

async fn fakes() -> (Fake, FakeApns, tempfile::TempDir, PathBuf) {
    let google = start_google().await;
    let apns = start_apns().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("push-ca.pem");
    std::fs::write(&ca, &apns.ca_pem).unwrap();
    (google, apns, dir, ca)
}

fn flags<'a>(google: &'a Fake, apns: &'a FakeApns, ca: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut f = vec!["--fcm-url", google.url.as_str(), "--apns-url", apns.fake.url.as_str(), "--push-ca", ca];
    f.extend_from_slice(extra);
    f
}

async fn setup(extra: &[&str]) -> Setup {
    let (google, apns, dir, ca) = fakes().await;
    let db = dir.path().join("chatflow.db");
    let server = TestServer::start_on(&db, &flags(&google, &apns, ca.to_str().unwrap(), extra));
    configure(&server.api(), &google, &apns, false).await;
    Setup { google, apns, server, _dir: dir, db, ca }
}

async fn configure(api: &Api, google: &Fake, apns: &FakeApns, previews: bool) -> Reply {
    let body = json!({
        "previews": previews,
        "fcm": {"service_account": service_account(&format!("{}/token", google.url))},
        "apns": {"team_id": TEAM_ID, "key_id": KEY_ID, "private_key": apns.key_pem, "topic": TOPIC,
                 "environment": "sandbox"},
    });
    let r = api.call("PUT", "/v1/admin/push", Some(ACME_ADMIN), Some(body)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r
}

async fn register(api: &Api, token: &str, device: &str, platform: &str) {
    let r =
        api.call("PUT", "/v1/visitor/push-token", Some(token), Some(json!({"token": device, "platform": platform})));
    assert_eq!(r.await.status, 204);
}

fn no_violations(s: &Setup) {
    assert!(s.google.violations().is_empty(), "FCM/OAuth fake: {:?}", s.google.violations());
    assert!(s.apns.fake.violations().is_empty(), "APNs fake: {:?}", s.apns.fake.violations());
}

fn push_tokens(db: &std::path::Path) -> Vec<String> {
    database::rows(db, "SELECT token FROM push_tokens ORDER BY token", &[]).iter().map(|r| r[0].text()).collect()
}

fn queued(db: &std::path::Path) -> i64 {
    database::rows(db, "SELECT COUNT(*) FROM push_queue", &[])[0][0].int()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_reply_reaches_every_device_of_an_offline_visitor_through_fcm_and_apns() {
    let s = setup(&[]).await;
    let api = s.server.api();
    let (_, token) = api.visitor(ACME).await;
    register(&api, &token, "fcm-device-1", "fcm").await;
    register(&api, &token, "apns-device-1", "apns").await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    assert_eq!(api.send(&token, &conv, "v1", "where is my order?").await.status, 201);
    assert_eq!(queued(&s.db), 0, "a visitor's own message queues nothing");

    let reply = api.agent_reply(ALICE, &conv, "It left this morning").await;
    assert_eq!(reply.status, 201);
    let seq = reply.body["seq"].as_u64().unwrap();
    let fcm = s.google.wait_for(1, WAIT).await;
    let apns = s.apns.fake.wait_for(1, WAIT).await;
    no_violations(&s);

    let data = &fcm[0].body["message"]["data"];
    assert_eq!(fcm[0].token, "fcm-device-1");
    assert_eq!(data["cf_conversation_id"], conv.as_str());
    assert_eq!(data["cf_chatflow_id"], FLOW_SUPPORT.to_string());
    assert_eq!(data["cf_seq"], seq.to_string());
    assert_eq!(data["cf_sender_name"], "Alice");
    assert_eq!(data["cf_unread"], "1");
    assert!(data.get("cf_preview").is_none(), "previews are off: {data}");

    let p = &apns[0].body;
    assert_eq!(apns[0].token, "apns-device-1");
    assert_eq!(p["aps"]["alert"], json!({"title": "Alice", "body": "You have a new message"}));
    assert_eq!(p["aps"]["badge"], 1);
    assert_eq!(p["cf_seq"], seq);
    assert_eq!(p["cf_unread"], 1);
    assert!(p.get("cf_preview").is_none());

    // A second reply: the OAuth2 access token is reused, the unread count grows.
    assert_eq!(api.agent_reply(ALICE, &conv, "Tracking: 42").await.status, 201);
    let fcm = s.google.wait_for(2, WAIT).await;
    s.apns.fake.wait_for(2, WAIT).await;
    assert_eq!(fcm[1].body["message"]["data"]["cf_unread"], "2");
    assert_eq!(s.google.token_requests(), 1, "the access token is cached until it expires");
    // Reading resets the count.
    let path = format!("/v1/conversations/{conv}/read");
    let r = api.call("POST", &path, Some(&token), Some(json!({"seq": seq + 1}))).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(api.agent_reply(ALICE, &conv, "Anything else?").await.status, 201);
    let apns = s.apns.fake.wait_for(3, WAIT).await;
    assert_eq!(apns[2].body["cf_unread"], 1);
    assert_eq!(apns[2].body["aps"]["badge"], 1);
    no_violations(&s);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.google.received().len() + s.apns.fake.received().len(), 6, "one push per message and device");
    assert_eq!(queued(&s.db), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_carry_the_text_and_the_generic_line_follows_the_chatflow_language() {
    let s = setup(&[]).await;
    let api = s.server.api();
    let (_, token) = api.visitor(ACME).await;
    register(&api, &token, "apns-fr", "apns").await;
    let conv = api.open(&token, FLOW_LEGIT).await; // a French chatflow
    assert_eq!(api.agent_reply(ALICE, &conv, "Bonjour !").await.status, 201);
    let got = s.apns.fake.wait_for(1, WAIT).await;
    assert_eq!(got[0].body["aps"]["alert"]["body"], "Vous avez un nouveau message");

    configure(&api, &s.google, &s.apns, true).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "Votre colis est parti").await.status, 201);
    let got = s.apns.fake.wait_for(2, WAIT).await;
    assert_eq!(got[1].body["aps"]["alert"]["body"], "Votre colis est parti");
    assert_eq!(got[1].body["cf_preview"], "Votre colis est parti");
    no_violations(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_live_on_the_realtime_socket_gets_no_push() {
    let s = setup(&[]).await;
    let api = s.server.api();
    let (_, token) = api.visitor(ACME).await;
    register(&api, &token, "fcm-live", "fcm").await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let mut ws = Ws::connect(&s.server, &token).await;
    // The hub knows the socket once it answers a frame.
    ws.send(&chatflow_protocol::ClientFrame::Ping { nonce: 1 }).await;
    let _ = ws.recv().await;
    assert_eq!(api.agent_reply(ALICE, &conv, "you are here").await.status, 201);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(s.google.received().is_empty(), "a live visitor got a push");
    assert_eq!(queued(&s.db), 0, "the skipped push left the queue");

    drop(ws);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "and now you left").await.status, 201);
    let got = s.google.wait_for(1, WAIT).await;
    assert_eq!(got.len(), 1);
    no_violations(&s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_retried_with_backoff_and_dead_tokens_are_removed() {
    let s = setup(&["--push-backoff-ms", "100", "--push-max-attempts", "3"]).await;
    let api = s.server.api();
    let (_, token) = api.visitor(ACME).await;
    for (device, platform) in
        [("fcm-busy", "fcm"), ("fcm-gone", "fcm"), ("apns-flaky", "apns"), ("apns-gone", "apns"), ("apns-bad", "apns")]
    {
        register(&api, &token, device, platform).await;
    }
    register(&api, &token, "apns-down", "apns").await;
    s.google
        .script("fcm-busy", vec![Answer::new(429, json!({"error": {"status": "RESOURCE_EXHAUSTED"}})).retry_after(1)]);
    s.google.script("fcm-gone", vec![fcm_unregistered()]);
    s.apns.fake.script("apns-flaky", vec![Answer::new(500, json!({"reason": "InternalServerError"}))]);
    s.apns.fake.script("apns-gone", vec![Answer::new(410, json!({"reason": "Unregistered", "timestamp": 1}))]);
    s.apns.fake.script("apns-bad", vec![Answer::new(400, json!({"reason": "BadDeviceToken"}))]);
    s.apns.fake.always("apns-down", Answer::new(503, json!({"reason": "ServiceUnavailable"})));
    let conv = api.open(&token, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "hello").await.status, 201);

    // fcm-busy twice (429 then 200), fcm-gone once; apns-flaky twice, the dead ones once, apns-down 3 attempts.
    s.google.wait_for(3, WAIT).await;
    s.apns.fake.wait_for(2 + 1 + 1 + 3, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    no_violations(&s);
    let by = |f: &Fake, t: &str| f.received().into_iter().filter(|r| r.token == t).collect::<Vec<_>>();
    let busy = by(&s.google, "fcm-busy");
    assert_eq!(busy.len(), 2);
    assert!(busy[1].at - busy[0].at >= Duration::from_millis(950), "Retry-After: 1 was honoured");
    assert_eq!(by(&s.google, "fcm-gone").len(), 1);
    assert_eq!(by(&s.apns.fake, "apns-flaky").len(), 2);
    let down = by(&s.apns.fake, "apns-down");
    assert_eq!(down.len(), 3, "bounded retries");
    assert!(down[2].at - down[1].at > down[1].at - down[0].at, "the backoff grows");
    assert_eq!(push_tokens(&s.db), ["apns-down", "apns-flaky", "fcm-busy"], "dead tokens removed");
    assert_eq!(queued(&s.db), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_push_survives_a_restart() {
    let (google, apns, dir, ca) = fakes().await;
    let db = dir.path().join("chatflow.db");
    let ca = ca.to_str().unwrap().to_owned();
    let server = TestServer::start_on(&db, &flags(&google, &apns, &ca, &[]));
    let api = server.api();
    configure(&api, &google, &apns, false).await;
    let (_, token) = api.visitor(ACME).await;
    register(&api, &token, "fcm-restart", "fcm").await;
    // The first attempt is told to come back in 2 s; the server stops before that.
    google.script("fcm-restart", vec![Answer::new(503, json!({})).retry_after(2)]);
    let conv = api.open(&token, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "before the restart").await.status, 201);
    google.wait_for(1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.stop();
    assert_eq!(queued(&db), 1, "the push waits in the database");

    let server = TestServer::start_on(&db, &flags(&google, &apns, &ca, &[]));
    let got = google.wait_for(2, WAIT).await;
    assert_eq!(got[1].body["message"]["data"]["cf_conversation_id"], conv.as_str());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(google.received().len(), 2, "sent once after the restart, not more");
    assert_eq!(queued(&db), 0);
    assert!(google.violations().is_empty(), "{:?}", google.violations());
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_push_configuration_keeps_secrets_write_only_and_refuses_bad_keys() {
    let s = setup(&[]).await;
    let api = s.server.api();
    let got = api.get("/v1/admin/push", Some(ACME_ADMIN)).await;
    assert_eq!(got.status, 200);
    let text = got.body.to_string();
    assert!(!text.contains("PRIVATE KEY") && !text.contains("private_key"), "{text}");
    assert_eq!(got.body["apns"]["topic"], TOPIC);
    assert_eq!(got.body["fcm"]["project_id"], PROJECT_ID);

    let bad = |apns: Value| json!({"apns": apns});
    let good_apns = json!({"team_id": TEAM_ID, "key_id": KEY_ID, "private_key": s.apns.key_pem, "topic": TOPIC,
                           "environment": "production"});
    let mut wrong_key = good_apns.clone();
    wrong_key["private_key"] = json!(fcm_key_pem());
    let mut wrong_env = good_apns.clone();
    wrong_env["environment"] = json!("staging");
    let mut wrong_team = good_apns.clone();
    wrong_team["team_id"] = json!("abc");
    for (body, field) in
        [(wrong_key, "apns.private_key"), (wrong_env, "apns.environment"), (wrong_team, "apns.team_id")]
    {
        let r = api.call("PUT", "/v1/admin/push", Some(ACME_ADMIN), Some(bad(body))).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "invalid_field"), "{:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains(field), "{:?}", r.body);
    }
    let r = api.call("PUT", "/v1/admin/push", Some(ACME_ADMIN), Some(json!({"apns": good_apns, "extra": 1}))).await;
    assert_eq!(r.code(), "invalid_body");
    assert_eq!(api.get("/v1/admin/push", Some(GLOBEX_ADMIN)).await.status, 404, "per app");
    assert_eq!(api.get("/v1/admin/push", None).await.status, 401);

    // Devices: one row each; removing one keeps the other; DELETE without a token removes all.
    let (_, token) = api.visitor(ACME).await;
    register(&api, &token, "phone", "fcm").await;
    register(&api, &token, "tablet", "apns").await;
    assert_eq!(push_tokens(&s.db), ["phone", "tablet"]);
    assert_eq!(api.call("DELETE", "/v1/visitor/push-token?token=phone", Some(&token), None).await.status, 204);
    assert_eq!(push_tokens(&s.db), ["tablet"]);
    assert_eq!(api.call("DELETE", "/v1/visitor/push-token", Some(&token), None).await.status, 204);
    assert!(push_tokens(&s.db).is_empty());

    assert_eq!(api.call("DELETE", "/v1/admin/push", Some(ACME_ADMIN), None).await.status, 204);
    register(&api, &token, "phone", "fcm").await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "no push configured").await.status, 201);
    assert_eq!(queued(&s.db), 0, "an app without push queues nothing");
    let _ = &s.ca;
}

/// Push latency: message stored (its `created_at`) → request received by the fake FCM, over 1,000 agent replies to an
/// offline visitor, one at a time. Run: `cargo nextest run -p chatflow-server --run-ignored only push_latency
/// --no-capture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints push latency percentiles"]
async fn push_latency() {
    let s = setup(&[]).await;
    let api = s.server.api();
    let (_, token) = api.visitor(ACME).await;
    register(&api, &token, "fcm-bench", "fcm").await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    let n = 1000;
    let mut stored_to_push = Vec::with_capacity(n);
    let mut request_to_push = Vec::with_capacity(n);
    // The floor: the same reply's own round trip (request sent → `201` back), the work every message costs anyway.
    let mut reply_round_trip = Vec::with_capacity(n);
    for i in 0..n {
        let sent = std::time::Instant::now();
        let reply = api.agent_reply(ALICE, &conv, &format!("message {i}")).await;
        reply_round_trip.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(reply.status, 201);
        let created_ms = reply.body["created_at"].as_i64().unwrap() as f64;
        let got = s.google.wait_for(i + 1, WAIT).await;
        let r = &got[i];
        stored_to_push.push(r.at_us as f64 / 1000.0 - created_ms);
        request_to_push.push((r.at - sent).as_secs_f64() * 1000.0);
    }
    no_violations(&s);
    let pct = |v: &mut Vec<f64>, p: f64| {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[((v.len() as f64 * p).ceil() as usize).saturating_sub(1)]
    };
    println!(
        "push latency over {n} messages: stored→received p50 {:.2} ms, p99 {:.2} ms; reply request sent→received \
         p50 {:.2} ms, p99 {:.2} ms; floor (reply round trip) p50 {:.2} ms, p99 {:.2} ms",
        pct(&mut stored_to_push, 0.50),
        pct(&mut stored_to_push, 0.99),
        pct(&mut request_to_push, 0.50),
        pct(&mut request_to_push, 0.99),
        pct(&mut reply_round_trip, 0.50),
        pct(&mut reply_round_trip, 0.99),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identified_user_keeps_the_devices_of_every_session_and_each_gets_the_push() {
    let s = setup(&[]).await;
    let api = s.server.api();
    let identify = |token: String| {
        let api = api.clone();
        async move {
            let body = json!({"identity_token": identity_token(ACME_SECRET, ACME, "user-7", 300)});
            let r = api.call("POST", "/v1/visitor/identify", Some(&token), Some(body)).await;
            assert_eq!(r.status, 200, "{:?}", r.body);
            r.body["session"]["visitor_token"].as_str().unwrap().to_owned()
        }
    };
    // The phone signs in first; the tablet's anonymous visitor is then merged into the user's.
    let (_, phone) = api.visitor(ACME).await;
    register(&api, &phone, "apns-phone", "apns").await;
    let phone = identify(phone).await;
    let (_, tablet) = api.visitor(ACME).await;
    register(&api, &tablet, "fcm-tablet", "fcm").await;
    let _tablet = identify(tablet).await;
    let owners = database::rows(&s.db, "SELECT COUNT(DISTINCT visitor_id) FROM push_tokens", &[])[0][0].int();
    assert_eq!((owners, push_tokens(&s.db).len()), (1, 2), "both devices belong to the user");

    let conv = api.open(&phone, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "to both devices").await.status, 201);
    s.google.wait_for(1, WAIT).await;
    let apns = s.apns.fake.wait_for(1, WAIT).await;
    assert_eq!(apns[0].body["aps"]["alert"]["title"], "Alice");
    no_violations(&s);

    // At most 10 devices: the oldest registration is forgotten.
    for i in 0..11 {
        register(&api, &phone, &format!("fcm-extra-{i:02}"), "fcm").await;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let tokens = push_tokens(&s.db);
    assert_eq!(tokens.len(), 10);
    assert!(!tokens.contains(&"apns-phone".to_owned()) && !tokens.contains(&"fcm-extra-00".to_owned()), "{tokens:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_reads_push_keys_from_the_files_it_names_and_skips_missing_ones() {
    let (google, apns, dir, ca) = fakes().await;
    std::fs::write(dir.path().join("sa.json"), service_account(&format!("{}/token", google.url)).to_string()).unwrap();
    std::fs::write(dir.path().join("apns.p8"), &apns.key_pem).unwrap();
    let mut seed: Value = serde_json::from_str(&std::fs::read_to_string(seed_path()).unwrap()).unwrap();
    seed["apps"][0]["push"] = json!({
        "previews": true,
        "fcm": {"service_account_file": "sa.json"},
        "apns": {"team_id": TEAM_ID, "key_id": KEY_ID, "topic": TOPIC, "environment": "sandbox",
                 "private_key_file": "apns.p8"},
    });
    seed["apps"][1]["push"] = json!({"fcm": {"service_account_file": "missing.json"}});
    let seed_file = dir.path().join("seed.json");
    std::fs::write(&seed_file, seed.to_string()).unwrap();
    let db = dir.path().join("chatflow.db");
    let ca = ca.to_str().unwrap().to_owned();
    let server = TestServer::start_seeded(&db, &seed_file, &flags(&google, &apns, &ca, &[]));
    let api = server.api();
    let got = api.get("/v1/admin/push", Some(ACME_ADMIN)).await;
    assert_eq!((got.body["previews"].as_bool(), got.body["apns"]["topic"].as_str()), (Some(true), Some(TOPIC)));
    assert_eq!(got.body["fcm"]["project_id"], PROJECT_ID);
    let globex = api.get("/v1/admin/push", Some(GLOBEX_ADMIN)).await;
    assert_eq!((globex.status.as_u16(), &globex.body["fcm"]), (200, &Value::Null), "a missing file: provider off");

    let (_, token) = api.visitor(ACME).await;
    register(&api, &token, "apns-seeded", "apns").await;
    let conv = api.open(&token, FLOW_SUPPORT).await;
    assert_eq!(api.agent_reply(ALICE, &conv, "from the seeded keys").await.status, 201);
    let got = apns.fake.wait_for(1, WAIT).await;
    assert_eq!(got[0].body["cf_preview"], "from the seeded keys");
    assert!(apns.fake.violations().is_empty(), "{:?}", apns.fake.violations());
}
