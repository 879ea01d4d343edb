//! Shared harness of the SDK's end-to-end tests: runs the REAL `chatflow-server` binary on 127.0.0.1 with a temp
//! SQLite file and the SDK seed (`tests/fixtures/sdk_seed.json`, the server's seed format), and signs identity
//! tokens with the server's own `sign_identity_token`.
//!
//! Finding the binary: `CHATFLOW_SERVER_BIN` when set (CI may prebuild it); otherwise the first test of the process
//! runs `cargo build -p chatflow-server --bin chatflow-server --message-format=json` (same `CARGO_TARGET_DIR`, so
//! usually a no-op) and takes the executable path from cargo's own output — no guessing of target directories.
//! Cargo releases its build lock while tests run, so this nested build cannot deadlock.
//!
//! Server logs go to a file next to its database; set `CHATFLOW_TEST_LOG=debug` to change the level. A failing test
//! prints the log path.
#![allow(dead_code)]

pub mod fault_proxy;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chatflow_core::client::ChatClient;
use chatflow_core::config::{Config, Environment};
use chatflow_core::protocol::{ConsentRecordInput, IdentityClaims};
use chatflow_core::transport::HttpClient;
use chatflow_test_server::{Launch, ServerProcess};
use serde_json::Value;

pub const APP: &str = "app_sdk";
pub const SECRET: &str = "sdk-identity-secret-0123456789";
pub const ADMIN: &str = "cfa_sdk_admin_test_token_0001";
pub const AGENT: &str = "cfg_sdk_sam_test_token_0001";
/// Seeded chatflow ids (tests/fixtures/sdk_seed.json).
pub const FLOW_SUPPORT_EN: i64 = 1;
pub const FLOW_SUPPORT_FR: i64 = 2;
pub const FLOW_SUPPORT_DISABLED: i64 = 3;
pub const FLOW_BILLING_EXPLICIT: i64 = 4;
pub const FLOW_SALES_LEGIT: i64 = 5;
pub const FLOW_NIGHT_HIDDEN: i64 = 6;

/// For tests that push bursts of messages through faults (chaos proxy, restarts, kills) and are not about rate
/// limits: the server's send limits (20 per 10 s per visitor, 300 per 10 s per app by default) raised out of their
/// way, so that they measure delivery, not the limit. The limit's own SDK test is `rate_limits.rs`.
pub const RAISED_SEND_LIMIT: &[&str] =
    &["--limit-sends-per-visitor", "100000/1s", "--limit-sends-per-app", "100000/1s"];

/// For tests and benchmarks that fill a conversation with thousands of team replies through the agent API: each
/// agent's writes (120 per minute by default) raised out of their way.
pub const RAISED_AGENT_WRITES: &[&str] = &["--limit-agent-writes-per-agent", "1000000/1s"];

pub fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sdk_seed.json")
}

/// A running server (killed on drop) on a temp database that survives `stop`/`restart`.
pub struct TestServer {
    pub url: String,
    pub port: u16,
    process: Option<ServerProcess>,
    dir: tempfile::TempDir,
    /// Extra server flags, kept for restarts.
    extra: Vec<String>,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// A server started with extra flags (e.g. a low `--limit-sends-per-visitor`).
    pub fn start_with(extra: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let extra = extra.iter().map(|s| s.to_string()).collect();
        let mut s = TestServer { url: String::new(), port: 0, process: None, dir, extra };
        s.spawn("127.0.0.1:0");
        s
    }

    fn spawn(&mut self, bind: &str) {
        let (db, seed, log) = (self.dir.path().join("server.db"), seed_path(), self.log_path());
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let process = ServerProcess::spawn_with(
            &Launch { db: &db, database_url: None, seed: &seed, bind, log: Some(&log) },
            &extra,
        );
        self.url = process.url.clone();
        self.port = process.port;
        self.process = Some(process);
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    /// Kills the server (the SDK sees connection refused): "offline".
    pub fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill();
        }
    }

    /// Starts it again on the same port and database.
    pub fn restart(&mut self) {
        self.stop();
        let bind = format!("127.0.0.1:{}", self.port);
        self.spawn(&bind);
    }

    pub fn config(&self) -> Config {
        config_for(&self.url)
    }

    pub fn http(&self) -> HttpClient {
        HttpClient::for_config(&self.config()).expect("http client")
    }

    /// Replaces chatflow `id` through the admin API, after `edit` changed its JSON.
    pub async fn admin_edit_chatflow(&self, id: i64, edit: impl FnOnce(&mut Value)) {
        let path = format!("/v1/admin/chatflows/{id}");
        let mut flow: Value = match self.http().get(&path, Some(ADMIN), None).await.expect("admin get") {
            chatflow_core::transport::Fetched::Fresh { body, .. } => body,
            other => panic!("{other:?}"),
        };
        edit(&mut flow);
        let _: Value = self.http().put(&path, Some(ADMIN), &flow).await.expect("admin put");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("chatflow-server log: {}", self.log_path().display());
            // Keep the directory so the log can be read.
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
            let _ = dir.keep();
        }
    }
}

/// The test app's SDK config for a server (or a proxy in front of it) at `url`; child processes build it too.
pub fn config_for(url: &str) -> Config {
    Config {
        server_url: url.to_owned(),
        app_id: APP.into(),
        environment: Environment::Development,
        default_tag: "support".into(),
        language: None,
        extra_root_certificates: None,
        pinned_spki_sha256: Vec::new(),
        attachment_cache_bytes: None,
    }
}

pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// An identity token for `sub` expiring `exp_in_secs` from now (negative: already expired).
pub fn identity_token(sub: &str, email: Option<&str>, exp_in_secs: i64) -> String {
    let now = now_secs();
    let claims = IdentityClaims {
        sub: sub.into(),
        aud: APP.into(),
        email: email.map(str::to_owned),
        // Issued ten minutes before it expires (an expired token was valid once: `iat` < `exp`).
        iat: now + exp_in_secs - 600,
        exp: now + exp_in_secs,
    };
    chatflow_server::auth::sign_identity_token(SECRET.as_bytes(), &claims)
}

/// A fresh storage directory for a client.
pub fn storage() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

pub fn open(server: &TestServer, dir: &Path) -> Arc<ChatClient> {
    ChatClient::open(server.config(), dir).expect("open client")
}

/// The visitor token the client holds (tests only: the public API never exposes it).
pub fn visitor_token(client: &ChatClient) -> String {
    client
        .store()
        .read(|c| Ok(c.query_row("SELECT visitor_token FROM session WHERE id = 1", [], |r| r.get(0))?))
        .expect("a session row")
}

pub fn count(client: &ChatClient, table: &str) -> i64 {
    client.store().read(|c| Ok(c.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))?)).unwrap()
}

/// Delivers the queued consent records like the send queue does (`PUT /v1/consents/{id}` with the visitor token),
/// for tests of the consent layer that must not depend on the sender. Returns how many were delivered.
pub async fn deliver_consents(client: &ChatClient, server: &TestServer) -> usize {
    let rows: Vec<(String, String)> = client
        .store()
        .read(|c| {
            let mut s = c.prepare("SELECT client_id, payload FROM outbox WHERE kind = 'consent' ORDER BY id")?;
            let rows = s.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
        .unwrap();
    let token = visitor_token(client);
    for (id, payload) in &rows {
        let input: ConsentRecordInput = serde_json::from_str(payload).unwrap();
        let _: Value =
            server.http().put(&format!("/v1/consents/{id}"), Some(&token), &input).await.expect("put consent");
        client
            .store()
            .write(|tx| {
                tx.execute("DELETE FROM outbox WHERE client_id = ?1", [id])?;
                tx.execute("UPDATE consents SET synced = 1 WHERE record_id = ?1", [id])?;
                Ok(())
            })
            .unwrap();
    }
    rows.len()
}

/// Opens a conversation on `chatflow_id` as the client's visitor; returns its id.
pub async fn open_conversation(client: &ChatClient, server: &TestServer, chatflow_id: i64) -> String {
    let body = serde_json::json!({ "chatflow_id": chatflow_id });
    let conv: Value =
        server.http().post("/v1/conversations", Some(&visitor_token(client)), Some(&body)).await.expect("open conv");
    conv["id"].as_str().or(conv["conversation"]["id"].as_str()).expect("conversation id").to_owned()
}

/// `PUT` a visitor message straight to the server (what the send queue would do).
pub async fn put_message(
    client: &ChatClient,
    server: &TestServer,
    conversation_id: &str,
    body: &str,
) -> chatflow_core::Result<Value> {
    let id = uuid::Uuid::now_v7().to_string();
    let req = serde_json::json!({ "body": body });
    server
        .http()
        .put(&format!("/v1/conversations/{conversation_id}/messages/{id}"), Some(&visitor_token(client)), &req)
        .await
}

/// Ids of the conversations the server lists for `token`.
pub async fn server_conversations(server: &TestServer, token: &str) -> chatflow_core::Result<Vec<String>> {
    let page: Value = match server.http().get("/v1/conversations", Some(token), None).await? {
        chatflow_core::transport::Fetched::Fresh { body, .. } => body,
        chatflow_core::transport::Fetched::NotModified => Value::Null,
    };
    let list = page["conversations"].as_array().or(page.as_array()).cloned().unwrap_or_default();
    Ok(list.iter().filter_map(|c| c["id"].as_str().map(str::to_owned)).collect())
}

/// Waits (bounded) until `cond` holds; returns whether it did. Not a timing assertion: a generous ceiling for
/// background work to finish.
pub async fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    cond()
}
