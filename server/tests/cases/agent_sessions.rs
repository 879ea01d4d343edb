//! The web inbox's sign-in: the session cookie and its attributes, `me`, logout, expiry, CSRF on every
//! cookie-authenticated write, bearer tokens unchanged, sign-in throttling, and the origin check of WebSocket
//! upgrades made with the cookie.

use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::*;

pub const ALICE_EMAIL: &str = "alice@acme.test";
pub const ALICE_PASSWORD: &str = "alice-inbox-password";

/// A browser-like client: keeps the session cookie and the CSRF token of its last sign-in.
pub struct Browser {
    pub api: Api,
    pub cookie: Option<String>,
    pub csrf: String,
}

impl Browser {
    pub fn new(server: &TestServer) -> Self {
        Browser { api: server.api(), cookie: None, csrf: String::new() }
    }

    /// A request with the cookie; `csrf` adds the session's `X-CSRF-Token`; `extra` headers as given.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        csrf: bool,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut req =
            self.api.http.request(Method::from_bytes(method.as_bytes()).unwrap(), format!("{}{path}", self.api.base));
        if let Some(c) = &self.cookie {
            req = req.header(COOKIE, c);
        }
        if csrf {
            req = req.header("X-CSRF-Token", &self.csrf);
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let (status, headers) = (resp.status(), resp.headers().clone());
        let bytes = resp.bytes().await.unwrap();
        Reply { status, headers, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    /// Signs in; on success keeps the cookie (`name=value`) and the CSRF token.
    pub async fn login(&mut self, email: &str, password: &str, extra: &[(&str, &str)]) -> Reply {
        self.sign_in(json!({"email": email, "password": password}), extra).await
    }

    /// Sign-in naming the app (needed when the same email and password match agents of two apps).
    pub async fn login_in_app(&mut self, email: &str, password: &str, app_id: &str) -> Reply {
        self.sign_in(json!({"email": email, "password": password, "app_id": app_id}), &[]).await
    }

    async fn sign_in(&mut self, body: Value, extra: &[(&str, &str)]) -> Reply {
        let r = self.send("POST", "/v1/agent/login", Some(body), false, extra).await;
        if r.status == StatusCode::OK {
            let set = set_cookie(&r);
            self.cookie = Some(set.split(';').next().unwrap().trim().to_owned());
            self.csrf = r.body["csrf_token"].as_str().unwrap().to_owned();
        }
        r
    }

    pub async fn signed_in(server: &TestServer) -> Self {
        let mut b = Browser::new(server);
        let r = b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        b
    }
}

pub fn set_cookie(r: &Reply) -> String {
    r.headers.get(SET_COOKIE).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

async fn set_clock(api: &Api, now_ms: i64) {
    let r = api.call("PUT", "/v1/admin/clock", Some(ACME_ADMIN), Some(json!({"now_ms": now_ms}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn sign_in_sets_a_strict_http_only_cookie_that_works_on_every_agent_route() {
    let server = TestServer::start();
    let mut b = Browser::new(&server);
    // The email is compared case-insensitively and trimmed.
    let r = b.login("  ALICE@acme.TEST ", ALICE_PASSWORD, &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let agent = &r.body["agent"];
    assert_eq!(agent["id"], "ag_alice");
    assert_eq!(agent["app_id"], ACME);
    assert_eq!(agent["email"], "Alice@Acme.test");
    assert_eq!(agent["team_ids"], json!(["support"]));
    assert!(agent["app_name"].is_string() && agent["available"].is_boolean());
    assert!(b.csrf.len() >= 32);
    let cookie = set_cookie(&r);
    assert!(cookie.starts_with("cf_agent_session=cfs_"), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=604800"] {
        assert!(cookie.split("; ").any(|a| a == attr), "{attr} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http without a trusted proxy: {cookie}");

    let me = b.send("GET", "/v1/agent/me", None, false, &[]).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["csrf_token"], b.csrf.as_str());
    assert_eq!(me.body["agent"], r.body["agent"]);
    // Existing agent routes, GET included, accept the cookie.
    let list = b.send("GET", "/v1/agent/conversations", None, false, &[]).await;
    assert_eq!(list.status, 200, "{:?}", list.body);
    let agents = b.send("GET", "/v1/agent/agents", None, false, &[]).await;
    assert_eq!(agents.status, 200, "{:?}", agents.body);

    // No cookie, or a made-up one: 401.
    let anonymous = Browser::new(&server);
    assert_eq!(anonymous.send("GET", "/v1/agent/me", None, false, &[]).await.code(), "unauthenticated");
    let forged = Browser { cookie: Some("cf_agent_session=cfs_forged".into()), ..Browser::new(&server) };
    let r = forged.send("GET", "/v1/agent/me", None, false, &[]).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "unauthenticated"));
}

#[tokio::test]
async fn wrong_password_unknown_email_and_bad_email_get_the_same_answer() {
    let server = TestServer::start();
    let mut b = Browser::new(&server);
    let wrong = b.login(ALICE_EMAIL, "not-the-password", &[]).await;
    let unknown = b.login("nobody@acme.test", ALICE_PASSWORD, &[]).await;
    let malformed = b.login("not an email", ALICE_PASSWORD, &[]).await;
    for r in [&wrong, &unknown, &malformed] {
        assert_eq!((r.status.as_u16(), r.code()), (401, "invalid_credentials"), "{:?}", r.body);
        assert_eq!(r.body["message"], wrong.body["message"]);
        assert!(set_cookie(r).is_empty());
    }
    // An agent without a password (token only) cannot sign in either.
    let bob = b.login("bob@acme.test", "whatever-password", &[]).await;
    assert_eq!(bob.code(), "invalid_credentials");
    let bad = b.send("POST", "/v1/agent/login", Some(json!({"email": ALICE_EMAIL})), false, &[]).await;
    assert_eq!(bad.code(), "invalid_body");
}

#[tokio::test]
async fn cookie_writes_need_the_csrf_token_and_bearer_tokens_do_not() {
    let server = TestServer::start();
    let b = Browser::signed_in(&server).await;
    let body = || Some(json!({"available": false}));
    let none = b.send("PUT", "/v1/agent/presence", body(), false, &[]).await;
    assert_eq!((none.status.as_u16(), none.code()), (403, "csrf_failed"), "{:?}", none.body);
    let wrong = b.send("PUT", "/v1/agent/presence", body(), false, &[("X-CSRF-Token", "0123456789abcdef")]).await;
    assert_eq!(wrong.code(), "csrf_failed");
    let me = b.send("GET", "/v1/agent/me", None, false, &[]).await;
    assert_eq!(me.body["agent"]["available"], true, "a refused write changed nothing");
    let ok = b.send("PUT", "/v1/agent/presence", body(), true, &[]).await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    assert_eq!(b.send("GET", "/v1/agent/me", None, false, &[]).await.body["agent"]["available"], false);
    // Scripts with the agent token: no CSRF header needed; `me` answers no CSRF token.
    let api = server.api();
    let r = api.call("PUT", "/v1/agent/presence", Some(ALICE), Some(json!({"available": true}))).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let me = api.get("/v1/agent/me", Some(ALICE)).await;
    assert_eq!((me.body["agent"]["id"].as_str(), me.body["csrf_token"].as_str()), (Some("ag_alice"), Some("")));
}

#[tokio::test]
async fn logout_ends_the_session_and_clears_the_cookie() {
    let server = TestServer::start();
    let b = Browser::signed_in(&server).await;
    let other = Browser::signed_in(&server).await;
    assert_eq!(b.send("POST", "/v1/agent/logout", None, false, &[]).await.code(), "csrf_failed");
    let out = b.send("POST", "/v1/agent/logout", None, true, &[]).await;
    assert_eq!(out.status, 204);
    let cleared = set_cookie(&out);
    assert!(cleared.starts_with("cf_agent_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    let r = b.send("GET", "/v1/agent/me", None, false, &[]).await;
    assert_eq!((r.status.as_u16(), r.code()), (401, "unauthenticated"));
    assert_eq!(other.send("GET", "/v1/agent/me", None, false, &[]).await.status, 200, "only that session ended");
    let bearer = server.api().call("POST", "/v1/agent/logout", Some(ALICE), None).await;
    assert_eq!(bearer.code(), "forbidden");
}

#[tokio::test]
async fn sessions_expire_after_12_idle_hours_or_7_days() {
    const H: i64 = 3600 * 1000;
    const T0: i64 = 1_900_000_000_000;
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    set_clock(&api, T0).await;
    let idle = Browser::signed_in(&server).await;
    let busy = Browser::signed_in(&server).await;
    let me = |b: &Browser| {
        let b = Browser { api: b.api.clone(), cookie: b.cookie.clone(), csrf: b.csrf.clone() };
        async move { b.send("GET", "/v1/agent/me", None, false, &[]).await.status.as_u16() }
    };
    // Used every 10 hours: alive until 7 days after sign-in, however active.
    let mut t = T0;
    while t + 10 * H < T0 + 7 * 24 * H {
        t += 10 * H;
        set_clock(&api, t).await;
        assert_eq!(me(&busy).await, 200, "at {} h", (t - T0) / H);
    }
    set_clock(&api, T0 + 7 * 24 * H).await;
    assert_eq!(me(&busy).await, 401, "7 days after sign-in");
    // Unused for 12 hours.
    assert_eq!(me(&idle).await, 401);
    set_clock(&api, T0).await;
    let fresh = Browser::signed_in(&server).await;
    set_clock(&api, T0 + 12 * H - 1000).await;
    assert_eq!(me(&fresh).await, 200);
    set_clock(&api, T0 + 24 * H - 2000).await;
    assert_eq!(me(&fresh).await, 200, "the previous request restarted the idle time");
    set_clock(&api, T0 + 36 * H).await;
    assert_eq!(me(&fresh).await, 401, "12 idle hours");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_email_and_per_address() {
    const T0: i64 = 1_900_000_000_000;
    let server = TestServer::start_with(&["--fake-clock"]);
    let api = server.api();
    set_clock(&api, T0).await;
    let mut b = Browser::new(&server);
    for _ in 0..5 {
        assert_eq!(b.login(ALICE_EMAIL, "wrong-password", &[]).await.code(), "invalid_credentials");
    }
    // Locked for that email, even with the right password.
    let r = b.login("ALICE@acme.test", ALICE_PASSWORD, &[]).await;
    assert_eq!((r.status.as_u16(), r.code()), (429, "rate_limited"), "{:?}", r.body);
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(retry, 15 * 60);
    set_clock(&api, T0 + 10 * 60 * 1000).await;
    let r = b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await;
    assert_eq!(r.headers["retry-after"], "300");
    set_clock(&api, T0 + 15 * 60 * 1000).await;
    assert_eq!(b.login(ALICE_EMAIL, ALICE_PASSWORD, &[]).await.status, 200, "the window passed");

    // 20 failures from one address within 15 minutes, whatever the emails, lock the address (the first 5 have left
    // the window).
    for i in 0..20 {
        let r = b.login(&format!("user{i}@acme.test"), "wrong-password", &[]).await;
        assert_eq!(r.code(), "invalid_credentials", "attempt {i}");
    }
    let r = b.login("another@acme.test", "wrong-password", &[]).await;
    assert_eq!(r.code(), "rate_limited", "20 failures from 127.0.0.1");
    assert!(r.headers.contains_key("retry-after"));
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_cookie_is_secure_and_addresses_are_forwarded() {
    let plain = TestServer::start();
    let mut b = Browser::new(&plain);
    let r = b.login(ALICE_EMAIL, ALICE_PASSWORD, &[("X-Forwarded-Proto", "https")]).await;
    assert!(!set_cookie(&r).contains("Secure"), "the header is ignored without --trust-proxy");

    let proxied = TestServer::start_with(&["--trust-proxy"]);
    let mut b = Browser::new(&proxied);
    let r = b.login(ALICE_EMAIL, ALICE_PASSWORD, &[("X-Forwarded-Proto", "https")]).await;
    assert!(set_cookie(&r).split("; ").any(|a| a == "Secure"), "{}", set_cookie(&r));
    let out = b.send("POST", "/v1/agent/logout", None, true, &[("X-Forwarded-Proto", "https")]).await;
    assert!(set_cookie(&out).contains("Secure"));
    for i in 0..20 {
        let from = [("X-Forwarded-For", "198.51.100.7, 203.0.113.1")];
        assert_eq!(b.login(&format!("u{i}@acme.test"), "wrong-password", &from).await.code(), "invalid_credentials");
    }
    let locked = b.login("x@acme.test", "wrong-password", &[("X-Forwarded-For", "203.0.113.1")]).await;
    assert_eq!(locked.code(), "rate_limited");
    let other = b.login("x@acme.test", "wrong-password", &[("X-Forwarded-For", "203.0.113.2")]).await;
    assert_eq!(other.code(), "invalid_credentials", "another client address");
}

/// The status line's code of a raw HTTP/1.1 GET (headers as given).
async fn raw_get(server: &TestServer, path: &str, headers: &[(&str, String)]) -> (u16, String) {
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n");
    req.push_str("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read(&mut buf)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
    let code = text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

#[tokio::test]
async fn websocket_upgrades_with_the_cookie_must_come_from_our_own_origin() {
    let server = TestServer::start();
    let b = Browser::signed_in(&server).await;
    let cookie = b.cookie.clone().unwrap();
    let host = server.base.trim_start_matches("http://").to_owned();
    // Any agent route shows the extractor's rule; `me` is not a WebSocket, so an accepted upgrade answers 200.
    let evil =
        raw_get(&server, "/v1/agent/me", &[("Cookie", cookie.clone()), ("Origin", "https://evil.example".into())])
            .await;
    assert_eq!(evil.0, 403, "{}", evil.1);
    assert!(evil.1.contains("csrf_failed"), "{}", evil.1);
    let no_origin = raw_get(&server, "/v1/agent/me", &[("Cookie", cookie.clone())]).await;
    assert_eq!(no_origin.0, 403, "{}", no_origin.1);
    let ours = raw_get(&server, "/v1/agent/me", &[("Cookie", cookie), ("Origin", format!("http://{host}"))]).await;
    assert_eq!(ours.0, 200, "{}", ours.1);
    // An agent token is not sent by browsers on their own: no origin rule.
    let token = raw_get(
        &server,
        "/v1/agent/me",
        &[("Authorization", format!("Bearer {ALICE}")), ("Origin", "https://evil.example".into())],
    )
    .await;
    assert_eq!(token.0, 200, "{}", token.1);
}
