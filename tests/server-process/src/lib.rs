//! The reference chatflow-server as a child process of an end-to-end test: the binary, started on 127.0.0.1 with a
//! database, a seed and a log file, and its URL once it listens. Shared by the SDK's, the FFI crate's and the CLI's
//! tests (the server's own tests use its binary directly).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The server executable: `CHATFLOW_SERVER_BIN` (the test command sets it), else built once with cargo — the path
/// comes from cargo's own JSON output, so it honours `CARGO_TARGET_DIR`.
pub fn server_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(p) = std::env::var_os("CHATFLOW_SERVER_BIN") {
            return PathBuf::from(p);
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(workspace())
            .args(["build", "-p", "chatflow-server", "--bin", "chatflow-server", "--message-format=json"])
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build -p chatflow-server");
        assert!(out.status.success(), "cargo build -p chatflow-server failed");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["target"]["name"] == "chatflow-server")
            .find_map(|v| v["executable"].as_str().map(PathBuf::from))
            .expect("cargo did not report the chatflow-server executable")
    })
    .clone()
}

/// How to start one server.
pub struct Launch<'a> {
    /// The SQLite file; with `database_url`, the attachments' directory goes beside it (`<db>.files`) instead.
    pub db: &'a Path,
    /// A PostgreSQL database (`postgres://…`) instead of the SQLite file: see [`fresh_postgres_database`].
    pub database_url: Option<&'a str>,
    pub seed: &'a Path,
    /// `127.0.0.1:0` for a free port; the same address again to restart on the same port.
    pub bind: &'a str,
    /// Where its log goes (appended, so restarts keep one file); `None` drops it.
    pub log: Option<&'a Path>,
}

/// A running server; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    pub port: u16,
}

impl ServerProcess {
    /// Starts the server and waits for its first stdout line, `listening on URL`. Logs at `CHATFLOW_TEST_LOG`
    /// (default `info`).
    pub fn spawn(launch: &Launch<'_>) -> ServerProcess {
        Self::spawn_with(launch, &[])
    }

    /// [`Self::spawn`] with extra command-line flags (e.g. `--limit-sends-per-visitor 2/4s`).
    pub fn spawn_with(launch: &Launch<'_>, extra: &[&str]) -> ServerProcess {
        let stderr = match launch.log {
            Some(path) => Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .unwrap_or_else(|e| panic!("server log {}: {e}", path.display())),
            ),
            None => Stdio::null(),
        };
        let bin = server_bin();
        let database: Vec<std::ffi::OsString> = match launch.database_url {
            None => vec!["--db".into(), launch.db.into()],
            Some(url) => {
                vec!["--database-url".into(), url.into(), "--blob-dir".into(), launch.db.with_extension("files").into()]
            }
        };
        let mut child = Command::new(&bin)
            .args(database)
            .args(["--bind", launch.bind, "--seed"])
            .arg(launch.seed)
            .args(extra)
            .env("CHATFLOW_LOG", std::env::var("CHATFLOW_TEST_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} ({e}): cargo build -p chatflow-server", bin.display()));
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("first stdout line");
        let log = launch.log.map_or_else(|| "dropped".to_owned(), |p| p.display().to_string());
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}; server log: {log}"))
            .to_owned();
        let port = url.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port in the first line");
        ServerProcess { child, url, port }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// SIGKILL and wait: a crash, as far as clients can tell.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// Creates a database of its own on the PostgreSQL cluster at `base` (`postgres://user@host:port`, e.g.
/// `CHATFLOW_TEST_POSTGRES`) and returns its URL. The cluster is the test run's: it is removed with its databases.
pub fn fresh_postgres_database(base: &str) -> String {
    let name = format!("sdk_{}", std::process::id()) + &format!("_{}", NEXT_DATABASE.fetch_add(1, Ordering::Relaxed));
    let (admin, create) = (format!("{base}/postgres"), format!("CREATE DATABASE {name}"));
    // The synchronous client may not run inside a test's async runtime: a thread of its own.
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls).expect("connect to the test cluster");
        client.batch_execute(&create).expect("create the test database");
    })
    .join()
    .expect("creating the test database");
    format!("{base}/{name}")
}

static NEXT_DATABASE: AtomicUsize = AtomicUsize::new(0);
