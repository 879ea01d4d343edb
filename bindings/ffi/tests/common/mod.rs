//! Harness shared by the FFI crate's integration tests: the real server, the shared fixtures, an event recorder.

#![allow(dead_code)] // each test file uses a part

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use chatflow_ffi::types::messaging::ChatEvent;
use chatflow_ffi::{ChatEventListener, ChatflowError};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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
    child: Option<Child>,
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
        let mut server = Server { child: None, addr: "127.0.0.1:0".into(), dir: tempfile::tempdir().unwrap(), seed };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let bin = std::env::var_os("CHATFLOW_SERVER_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target/debug/chatflow-server"));
        let mut child = Command::new(&bin)
            .arg("--db")
            .arg(self.dir.path().join("server.db"))
            .args(["--bind", &self.addr, "--seed"])
            .arg(&self.seed)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}): cargo build -p chatflow-server", bin.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("server said {line:?}"));
        self.addr = url.trim_start_matches("http://").to_owned();
        self.child = Some(child);
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: a crash, as far as clients can tell.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
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
