//! Harness of the CLI's end-to-end tests: the REAL `chatflow-server` binary on 127.0.0.1 with a temp database and
//! the server's test seed (`server/seeds/test.json`), and the real `chatflow` binary with a temp config and data dir.
//!
//! The server process comes from `chatflow-test-server` (`CHATFLOW_SERVER_BIN`, else built with cargo). Server logs go
//! to `server.log` next to its database; the path is printed when a test fails.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use chatflow_test_server::{Launch, ServerProcess};
use serde_json::Value;

pub const APP: &str = "app_acme";
/// Agent tokens of the test seed.
pub const ALICE: &str = "cfg_acme_alice_test_token";
pub const SECRET: &str = "acme-identity-secret-0123456789";

#[allow(unused_imports)] // each test file uses a part
pub use chatflow_test_server::{server_bin, workspace};

pub fn seed_path() -> PathBuf {
    workspace().join("server/seeds/test.json")
}

/// The `chatflow` binary cargo built for these tests.
pub fn cli_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_chatflow"))
}

/// A running server (killed on drop) and a client environment: config file + data dir.
pub struct Env {
    pub url: String,
    pub port: u16,
    pub seed: PathBuf,
    process: Option<ServerProcess>,
    pub dir: tempfile::TempDir,
}

impl Env {
    /// The server with the test seed.
    pub fn start() -> Env {
        Env::start_with(|_| {})
    }

    /// The test seed with chatflow 1 (`support`) offering knowledge base 1: the server's sample articles
    /// (`server/seeds/kb-articles.json`, English and French).
    pub fn with_knowledge_base() -> Env {
        Env::start_with(|seed| {
            let app = &mut seed["apps"][0];
            // The demo's 69 articles instead of the test seed's three.
            app.as_object_mut().expect("app").remove("kb_articles");
            app["kb_articles_file"] = workspace().join("server/seeds/kb-articles.json").display().to_string().into();
            for flow in app["chatflows"].as_array_mut().expect("chatflows") {
                if flow["id"] == 1 {
                    flow["knowledge_base"] = serde_json::json!({ "enabled": true, "kb_id": 1 });
                }
            }
        })
    }

    /// The test seed plus a rule-based bot on tag `bot` (chatflow 20): a question with two quick replies, then a
    /// closing message.
    pub fn with_bot() -> Env {
        Env::start_with(|seed| {
            let flows = seed["apps"][0]["chatflows"].as_array_mut().expect("chatflows");
            let mut bot = flows[0].clone();
            bot["id"] = 20.into();
            bot["name"] = "Fruit bot".into();
            bot["kind"] = "bot".into();
            bot["mobile_tags"] = serde_json::json!(["bot"]);
            bot["welcome_message"] = "Welcome to the fruit bot!".into();
            bot["bot"] = serde_json::json!({
                "session_timeout_minutes": 30,
                "display_name": "Fruit bot",
                "error_reply": "Please pick a button.",
                "flow": { "start": "ask", "nodes": [
                    { "id": "ask", "action": "ask", "text": "Apples or bananas?",
                      "quick_replies": [{ "id": "a", "label": "Apples" }, { "id": "b", "label": "Bananas" }],
                      "next": "thanks" },
                    { "id": "thanks", "action": "end", "text": "Thanks, noted!" }
                ]}
            });
            flows.push(bot);
        })
    }

    /// The server with the test seed after `edit` (written into the temp dir).
    pub fn start_with(edit: impl FnOnce(&mut Value)) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut seed: Value = serde_json::from_str(&std::fs::read_to_string(seed_path()).expect("test seed")).unwrap();
        edit(&mut seed);
        let path = dir.path().join("seed.json");
        std::fs::write(&path, seed.to_string()).expect("write seed");
        let mut env = Env { url: String::new(), port: 0, seed: path, process: None, dir };
        env.spawn("127.0.0.1:0");
        env.write_config(&env.url.clone());
        env
    }

    fn spawn(&mut self, bind: &str) {
        let (db, log) = (self.dir.path().join("server.db"), self.log_path());
        let process =
            ServerProcess::spawn(&Launch { db: &db, database_url: None, seed: &self.seed, bind, log: Some(&log) });
        self.url = process.url.clone();
        self.port = process.port;
        self.process = Some(process);
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("chatflow.json")
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn write_config(&self, url: &str) {
        let config = serde_json::json!({
            "server_url": url, "app_id": APP, "environment": "development", "default_tag": "support" });
        std::fs::write(self.config_path(), config.to_string()).expect("write config");
    }

    /// Kills the server: the CLI sees "connection refused".
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

    /// `chatflow` with this environment's config and data dir (env vars, as a script would).
    pub fn cli(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::new(cli_bin());
        c.env("CHATFLOW_CONFIG", self.config_path())
            .env("CHATFLOW_DATA_DIR", self.data_dir())
            .env_remove("CHATFLOW_AGENT_TOKEN")
            .env_remove("NO_COLOR")
            .timeout(Duration::from_secs(120));
        c
    }

    /// The team (agent Alice) reads `conversation_id` up to `seq`, and does nothing else: the agent API's read
    /// receipt, `POST /v1/agent/conversations/{id}/read`, as one plain HTTP/1.1 request to the server.
    pub fn agent_read(&self, conversation_id: &str, seq: u64) {
        let body = serde_json::json!({ "seq": seq }).to_string();
        let request = format!(
            "POST /v1/agent/conversations/{conversation_id}/read HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Authorization: Bearer {ALICE}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the server");
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        stream.write_all(request.as_bytes()).expect("send the read receipt");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("the server's answer");
        assert!(response.starts_with("HTTP/1.1 204"), "read receipt refused:\n{response}");
    }

    /// Runs `chatflow --json ARGS`, asserts success, parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.cli().arg("--json").args(args).output().expect("run chatflow");
        assert!(
            out.status.success(),
            "chatflow --json {args:?} failed ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("stdout of {args:?} is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout))
        })
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!("chatflow-server log: {}", self.log_path().display());
            let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("temp dir"));
            let _ = dir.keep();
        }
    }
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An HS256 identity token, signed like the app's backend does (the server's `sign_identity_token` format).
pub fn identity_token(secret: &[u8], sub: &str, email: Option<&str>, exp_in_secs: i64) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use hmac::{Hmac, KeyInit, Mac};
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = chatflow_core::protocol::IdentityClaims {
        sub: sub.into(),
        aud: APP.into(),
        email: email.map(str::to_owned),
        iat: now + exp_in_secs - 600,
        exp: now + exp_in_secs,
    };
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let input = format!("{header}.{payload}");
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}
