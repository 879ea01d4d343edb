//! Test harness: starts the real `chatflow-server` binary on 127.0.0.1:0 with a temp database (SQLite, or PostgreSQL:
//! see `database.rs`) and the test seed, reads the port from its first stdout line, and offers small HTTP and
//! WebSocket clients.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use chatflow_protocol::{ClientFrame, IdentityClaims, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const ACME: &str = "app_acme";
pub const GLOBEX: &str = "app_globex";
pub const ACME_SECRET: &str = "acme-identity-secret-0123456789";
pub const GLOBEX_SECRET: &str = "globex-identity-secret-0123456789";
pub const ACME_ADMIN: &str = "cfa_acme_admin_test_token";
pub const GLOBEX_ADMIN: &str = "cfa_globex_admin_test_token";
pub const ALICE: &str = "cfg_acme_alice_test_token";
pub const BOB: &str = "cfg_acme_bob_test_token";
pub const GINA: &str = "cfg_globex_gina_test_token";
/// Seeded chatflow ids (server/seeds/test.json).
pub const FLOW_SUPPORT: i64 = 1;
pub const FLOW_OVERFLOW: i64 = 2;
pub const FLOW_DISABLED: i64 = 3;
pub const FLOW_EXPLICIT: i64 = 4;
pub const FLOW_LEGIT: i64 = 5;
pub const FLOW_HOURS: i64 = 6;
pub const FLOW_TEAM: i64 = 7;
pub const FLOW_GLOBEX: i64 = 101;

/// For tests that send bursts from one visitor (ordering, backlog, feed replay) and are not about rate limits: the
/// send limits (20 per 10 s per visitor, 300 per 10 s per app by default) raised out of their way. The limits' own
/// tests are `limits*.rs`.
pub const RAISED_SEND_LIMIT: &[&str] =
    &["--limit-sends-per-visitor", "100000/1s", "--limit-sends-per-app", "100000/1s"];

pub fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/test.json")
}

/// A server child process; killed on drop.
pub struct TestServer {
    pub base: String,
    pub db: PathBuf,
    child: Child,
    _stdout: BufReader<ChildStdout>,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A fresh server on a new temp database.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("chatflow.db");
        let mut s = Self::start_on(&db, &[]);
        s._dir = Some(dir);
        s
    }

    /// A server on an existing (or new) database file, with extra CLI flags.
    pub fn start_on(db: &Path, extra: &[&str]) -> Self {
        Self::start_seeded(db, &seed_path(), extra)
    }

    /// A fresh server on a new temp database with extra CLI flags (e.g. `--fake-clock`).
    pub fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = Self::start_on(&dir.path().join("chatflow.db"), extra);
        s._dir = Some(dir);
        s
    }

    /// A server on `db` with another seed file (e.g. `seeds/demo.json`).
    pub fn start_seeded(db: &Path, seed: &Path, extra: &[&str]) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatflow-server"));
        cmd.args(database::server_args(db)).arg("--bind").arg("127.0.0.1:0").arg("--seed").arg(seed).args(extra);
        cmd.env("CHATFLOW_LOG", std::env::var("CHATFLOW_TEST_LOG").unwrap_or_else(|_| "warn".into()));
        cmd.stdout(Stdio::piped()).stdin(Stdio::null());
        cmd.stderr(if std::env::var_os("CHATFLOW_TEST_LOG").is_some() { Stdio::inherit() } else { Stdio::null() });
        let mut child = cmd.spawn().expect("spawn chatflow-server");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read first line");
        let base = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?} (set CHATFLOW_TEST_LOG=info to see logs)"))
            .to_owned();
        TestServer { base, db: db.to_owned(), child, _stdout: stdout, _dir: None }
    }

    pub fn api(&self) -> Api {
        Api::new(&self.base)
    }

    /// The server process's id (memory figures read its `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ws_url(&self) -> String {
        format!("{}/v1/realtime", self.base.replacen("http://", "ws://", 1))
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().map(|s| s.success()).unwrap_or(false);
        assert!(ok, "kill -TERM failed");
        let status = self.child.wait().expect("wait");
        assert!(status.success(), "server exited with {status}");
    }

    /// Row counts of every table: "nothing was written" checks compare two of these.
    pub fn table_counts(&self) -> BTreeMap<String, i64> {
        table_counts(&self.db)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn table_counts(db: &Path) -> BTreeMap<String, i64> {
    if let Some(base) = database::postgres_base() {
        return database::postgres_table_counts(&base, db);
    }
    let conn = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open db");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = BTreeMap::new();
    for t in tables {
        let n: i64 = conn.query_row(&format!("SELECT COUNT(*) FROM \"{t}\""), [], |r| r.get(0)).unwrap();
        out.insert(t, n);
    }
    // Updates leave counts alone: fingerprint the mutable columns too.
    let fp: String = conn
        .query_row(
            "SELECT COALESCE(group_concat(id || status || last_seq || visitor_read_seq || agent_read_seq || \
             COALESCE(assignee_agent_id, '')), '') FROM conversations",
            [],
            |r| r.get(0),
        )
        .unwrap();
    out.insert(format!("conversations_fp:{fp}"), 0);
    let vfp: String = conn
        .query_row(
            "SELECT COALESCE(group_concat(id || COALESCE(user_id, '') || properties || COALESCE(device, '') || \
             COALESCE(push_token, '')), '') FROM visitors",
            [],
            |r| r.get(0),
        )
        .unwrap();
    out.insert(format!("visitors_fp:{vfp}"), 0);
    let cfp: String = conn
        .query_row("SELECT COALESCE(group_concat(id || config || updated_at), '') FROM chatflows", [], |r| r.get(0))
        .unwrap();
    out.insert(format!("chatflows_fp:{}", cfp.len()), 0);
    out
}

/// A small JSON HTTP client.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `code` of an error body.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("<no code>")
    }
}

impl Api {
    pub fn new(base: &str) -> Self {
        // reqwest is built with rustls but no default crypto provider; plain http does not use it, but the client
        // builder wants one installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
        Api { http, base: base.to_owned() }
    }

    pub async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        Self::reply(resp).await
    }

    pub async fn raw(&self, method: &str, path: &str, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Reply {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, format!("{}{path}", self.base)).header("content-type", content_type);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.body(body).send().await.expect("request");
        Self::reply(resp).await
    }

    async fn reply(resp: reqwest::Response) -> Reply {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Reply { status, headers, body }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call("GET", path, token, None).await
    }

    /// A new anonymous visitor of `app`: (visitor_id, token).
    pub async fn visitor(&self, app: &str) -> (String, String) {
        let r = self.call("POST", &format!("/v1/apps/{app}/visitors"), None, None).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        (r.body["visitor_id"].as_str().unwrap().into(), r.body["visitor_token"].as_str().unwrap().into())
    }

    /// Opens a conversation on `chatflow`, returns its id.
    pub async fn open(&self, token: &str, chatflow: i64) -> String {
        let r = self.call("POST", "/v1/conversations", Some(token), Some(json!({"chatflow_id": chatflow}))).await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().unwrap().into()
    }

    pub async fn send(&self, token: &str, conversation: &str, client_id: &str, body: &str) -> Reply {
        let path = format!("/v1/conversations/{conversation}/messages/{client_id}");
        self.call("PUT", &path, Some(token), Some(json!({"body": body}))).await
    }

    pub async fn messages(&self, token: &str, conversation: &str, query: &str) -> Reply {
        self.get(&format!("/v1/conversations/{conversation}/messages{query}"), Some(token)).await
    }

    pub async fn agent_reply(&self, agent: &str, conversation: &str, body: &str) -> Reply {
        let path = format!("/v1/agent/conversations/{conversation}/messages");
        self.call("POST", &path, Some(agent), Some(json!({"body": body}))).await
    }
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

pub fn identity_token(secret: &str, app: &str, sub: &str, exp_in: i64) -> String {
    let now = now_secs();
    let claims = IdentityClaims {
        sub: sub.into(),
        aud: app.into(),
        email: Some(format!("{sub}@example.com")),
        iat: now - 5,
        exp: now + exp_in,
    };
    chatflow_server::sign_identity_token(secret.as_bytes(), &claims)
}

/// A WebSocket client speaking the realtime frames.
pub struct Ws {
    inner: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
}

pub const WS_WAIT: Duration = Duration::from_secs(10);

impl Ws {
    pub async fn connect(server: &TestServer, token: &str) -> Self {
        Self::try_connect(server, token).await.expect("websocket connect")
    }

    pub async fn try_connect(server: &TestServer, token: &str) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut req = server.ws_url().into_client_request().unwrap();
        req.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
        let (inner, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Ws { inner })
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_text(&serde_json::to_string(frame).unwrap()).await;
    }

    pub async fn send_text(&mut self, text: &str) {
        self.inner.send(WsMessage::text(text)).await.expect("ws send");
    }

    pub async fn send_raw(&mut self, msg: WsMessage) {
        self.inner.send(msg).await.expect("ws send");
    }

    /// The next JSON frame (WebSocket pings/pongs skipped); panics after `WS_WAIT`.
    pub async fn recv(&mut self) -> ServerFrame {
        self.try_recv(WS_WAIT).await.expect("a frame before the timeout")
    }

    /// The next JSON frame, or `None` on timeout or close.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.inner.next()).await.ok()??.ok()?;
            match msg {
                WsMessage::Text(t) => return Some(serde_json::from_str(t.as_str()).expect("server frame parses")),
                WsMessage::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Waits for the close frame; returns its code.
    pub async fn closed_with(&mut self) -> Option<u16> {
        let deadline = tokio::time::Instant::now() + WS_WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.inner.next()).await.ok()? {
                Some(Ok(WsMessage::Close(Some(f)))) => return Some(f.code.into()),
                Some(Ok(WsMessage::Close(None))) | None | Some(Err(_)) => return None,
                Some(Ok(_)) => continue,
            }
        }
    }
}
/// A bot or AI-agent session's progress, read from the database: (handled visitor seq, nothing left to store or hand
/// off). `None` before the session exists.
pub fn bot_session(server: &TestServer, conversation: &str) -> Option<(u64, bool)> {
    let found = database::rows(
        &server.db,
        "SELECT handled_seq, pending = '[]' AND NOT handoff_due AND runs > 0 FROM bot_sessions WHERE conversation_id = ?1",
        &[conversation],
    );
    found.first().map(|r| (r[0].int() as u64, r[1].int() != 0))
}

pub mod blob_conformance;
pub mod database;
pub mod moto;
pub mod push_fakes;
pub mod smtp;
