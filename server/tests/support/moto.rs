//! An S3-compatible service for tests: moto in server mode (`scripts/moto.sh` installs it in `build/venv-moto`),
//! started on a free loopback port and stopped when dropped. Each test makes its own bucket.
//!
//! Without moto a test is skipped with the reason printed, unless `CHATFLOW_REQUIRE_S3=1` (the test command sets it):
//! then a missing moto fails the test.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Credentials moto accepts (it checks none); the server reads them from the environment.
pub const ACCESS_KEY: &str = "chatflow-test-key";
pub const SECRET_KEY: &str = "chatflow-test-secret";
pub const REGION: &str = "us-east-1";

/// A running moto server; killed on drop.
pub struct Moto {
    pub endpoint: String,
    child: Child,
    _log: tempfile::NamedTempFile,
}

fn python() -> PathBuf {
    match std::env::var_os("CHATFLOW_MOTO_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../build/venv-moto/bin/python"),
    }
}

impl Moto {
    /// Starts moto, or returns `None` after printing why the test is skipped (moto not installed and
    /// `CHATFLOW_REQUIRE_S3` unset). Panics when moto is required but missing, or does not start.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        // reqwest is built without a default TLS provider: the test's own clients need one installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let python = python();
        if !python.exists() {
            let why = format!("{} not found: run `bash scripts/moto.sh` to install moto", python.display());
            if std::env::var("CHATFLOW_REQUIRE_S3").is_ok_and(|v| v == "1") {
                panic!("CHATFLOW_REQUIRE_S3=1 but {why}");
            }
            eprintln!("SKIPPED {test}: {why} (or set CHATFLOW_MOTO_PYTHON)");
            return None;
        }
        Some(Self::start(&python))
    }

    fn start(python: &PathBuf) -> Self {
        // A free port: bound then released; the window in which another process takes it is tiny.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log = tempfile::NamedTempFile::new().unwrap();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {} -m moto.server: {e}", python.display()));
        let mut moto = Self { endpoint: format!("http://127.0.0.1:{port}"), child, _log: log };
        moto.wait_ready();
        moto
    }

    /// Polls until moto answers HTTP (it takes seconds to import on a busy machine).
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let log = std::fs::read_to_string(self._log.path()).unwrap_or_default();
                panic!("moto exited ({status}) before answering:\n{log}");
            }
            if answers(&self.endpoint) {
                return;
            }
            assert!(Instant::now() < deadline, "moto did not answer on {} within 90 s", self.endpoint);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A new, empty bucket with a unique name.
    pub async fn create_bucket(&self) -> String {
        let bucket = format!("chatflow-{}", uuid::Uuid::new_v4().simple());
        let status = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .expect("create bucket")
            .status();
        assert!(status.is_success(), "create bucket {bucket}: {status}");
        bucket
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether an HTTP server answers at `endpoint`: a raw HTTP/1.0 request, so that it works inside or outside an async
/// runtime (moto's own page; any status will do).
fn answers(endpoint: &str) -> bool {
    use std::io::{Read, Write};
    let addr = endpoint.trim_start_matches("http://");
    let Ok(mut conn) = std::net::TcpStream::connect(addr) else { return false };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = [0u8; 8];
    conn.write_all(format!("GET /moto-api/ HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes()).is_ok()
        && conn.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.")
}
