//! Harness shared by the FFI crate's integration tests: the real server, the shared fixtures, an event recorder.

#![allow(dead_code)] // each test file uses a part

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use chatflow_ffi::types::messaging::ChatEvent;
use chatflow_ffi::{ChatEventListener, ChatflowError};
use chatflow_test_server::{Launch, ServerProcess};

pub use chatflow_test_server::workspace;

/// tests/bindings/fixtures/scenario.properties, shared with Kotlin and Swift.
pub struct Fixtures(HashMap<String, String>);

impl Fixtures {
    pub fn load() -> Fixtures {
        let path = workspace().join("tests/bindings/fixtures/scenario.properties");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let map = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        Fixtures(map)
    }

    pub fn get(&self, key: &str) -> String {
        self.0.get(key).unwrap_or_else(|| panic!("fixture `{key}` missing")).clone()
    }

    pub fn id(&self, key: &str) -> i64 {
        self.get(key).parse().unwrap()
    }

    /// A body with `{lang}` replaced by `rust`.
    pub fn text(&self, key: &str) -> String {
        self.get(key).replace("{lang}", "rust")
    }
}

/// The real server on 127.0.0.1, random port, temp database, test seed.
pub struct Server {
    process: Option<ServerProcess>,
    addr: String,
    dir: tempfile::TempDir,
    seed: PathBuf,
}

impl Server {
    /// With the test seed (server/seeds/test.json).
    pub fn start() -> Server {
        Server::with_seed("test.json")
    }

    /// With another seed of server/seeds/ (e.g. `demo.json`).
    pub fn with_seed(file: &str) -> Server {
        let seed = workspace().join("server/seeds").join(file);
        let mut server = Server { process: None, addr: "127.0.0.1:0".into(), dir: tempfile::tempdir().unwrap(), seed };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let db = self.dir.path().join("server.db");
        let process = ServerProcess::spawn(&Launch {
            db: &db,
            database_url: None,
            seed: &self.seed,
            bind: &self.addr,
            log: None,
        });
        self.addr = process.addr().to_owned();
        self.process = Some(process);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: a crash, as far as clients can tell.
    pub fn stop(&mut self) {
        if let Some(process) = self.process.take() {
            process.kill();
        }
    }

    /// Back on the same port and database.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// POST /v1/agent/conversations/{id}/messages over a plain HTTP/1.1 connection.
    pub fn agent_reply(&self, conversation_id: &str, body: &str, token: &str) {
        let json = format!("{{\"body\":{body:?}}}");
        let request = format!(
            "POST /v1/agent/conversations/{conversation_id}/messages HTTP/1.1\r\nHost: {}\r\n\
             Authorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{json}",
            self.addr,
            json.len()
        );
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 2"), "agent reply refused: {answer}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A foreign-style listener: events go into a channel the test waits on.
pub struct Recorder {
    pub tx: Mutex<mpsc::Sender<ChatEvent>>,
}

impl ChatEventListener for Recorder {
    fn on_event(&self, event: ChatEvent) -> Result<(), ChatflowError> {
        let _ = self.tx.lock().unwrap().send(event);
        Ok(())
    }
}

pub struct Events {
    pub rx: mpsc::Receiver<ChatEvent>,
}

impl Events {
    /// Waits for the first event `pick` accepts (skipping the others).
    pub fn wait<T>(&self, what: &str, timeout: Duration, mut pick: impl FnMut(ChatEvent) -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(event) => {
                    if let Some(found) = pick(event) {
                        return found;
                    }
                }
                Err(_) => panic!("no event: {what} within {timeout:?}"),
            }
        }
    }
}
