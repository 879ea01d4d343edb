//! `chatflow-server` command line. Prints `listening on http://ADDR` as its first stdout line, logs to stderr.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chatflow_server::limits::gcra::Rate;
use chatflow_server::limits::LimitSettings;
use chatflow_server::{serve, Config, Database, Settings};
use clap::Parser;

/// The Chatflow reference server: REST + WebSocket API for the mobile SDK, on SQLite or PostgreSQL.
#[derive(Debug, Parser)]
#[command(version, about)]
// Exactly one of --db and --database-url.
#[command(group(clap::ArgGroup::new("database").required(true).args(["db", "database_url"])))]
struct Cli {
    /// SQLite database file; created (with its schema) if missing. One server process (docs/deploy.md).
    #[arg(long, env = "CHATFLOW_DB", value_name = "PATH")]
    db: Option<PathBuf>,
    /// PostgreSQL instead of SQLite: `postgres://user:password@host:port/database` (the schema is created if
    /// missing; `?pool_size=N` sets the connections per process, 16 by default). Needs --blob-dir. docs/deploy.md.
    #[arg(long, env = "CHATFLOW_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// Address to listen on. Port 0 picks a free port (read it from the first stdout line).
    #[arg(long, env = "CHATFLOW_BIND", value_name = "ADDR", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Seed file (JSON: apps, tokens, agents, teams, chatflows) applied at start; see server/README.md.
    #[arg(long, env = "CHATFLOW_SEED", value_name = "FILE")]
    seed: Option<PathBuf>,
    /// WebSocket heartbeat period in milliseconds (server pings; a socket silent for two periods is closed).
    #[arg(long, env = "CHATFLOW_HEARTBEAT_MS", value_name = "MS", default_value_t = chatflow_protocol::HEARTBEAT_INTERVAL_MS)]
    heartbeat_ms: u64,
    /// Frames queued per WebSocket before a client that reads too slowly is disconnected.
    #[arg(long, env = "CHATFLOW_WS_QUEUE", value_name = "FRAMES", default_value_t = 1024)]
    ws_queue: usize,
    /// Log filter (tracing env-filter syntax), e.g. `info` or `chatflow_server=debug`. Logs go to stderr.
    #[arg(long, env = "CHATFLOW_LOG", value_name = "FILTER", default_value = "info")]
    log: String,
    /// Test servers only: a settable clock (`PUT /v1/admin/clock {"now_ms": …}` pins "now" server-wide).
    #[arg(long, env = "CHATFLOW_FAKE_CLOCK", value_parser = clap::builder::BoolishValueParser::new())]
    fake_clock: bool,
    /// Events the agents' feed keeps for reconnecting clients (all apps together); an older cursor must resync.
    #[arg(long, env = "CHATFLOW_FEED_RETENTION", value_name = "EVENTS", default_value_t = 100_000)]
    feed_retention: u64,
    /// The server runs behind a TLS proxy you control: trust its `X-Forwarded-Proto` (https makes the inbox's
    /// session cookie `Secure`) and `X-Forwarded-For` (the client address of the sign-in rate limit).
    #[arg(long, env = "CHATFLOW_TRUST_PROXY", value_parser = clap::builder::BoolishValueParser::new())]
    trust_proxy: bool,
    /// FCM HTTP v1 base URL (push to Android).
    #[arg(long, env = "CHATFLOW_FCM_URL", value_name = "URL", default_value = chatflow_server::notify::push::fcm::DEFAULT_BASE_URL)]
    fcm_url: String,
    /// OAuth2 token endpoint used for every FCM service account instead of the file's `token_uri`.
    #[arg(long, env = "CHATFLOW_FCM_OAUTH_URL", value_name = "URL")]
    fcm_oauth_url: Option<String>,
    /// APNs base URL for both environments (default: api.push.apple.com / api.sandbox.push.apple.com).
    #[arg(long, env = "CHATFLOW_APNS_URL", value_name = "URL")]
    apns_url: Option<String>,
    /// PEM file of CA certificates trusted, besides the system's, when calling the push services.
    #[arg(long, env = "CHATFLOW_PUSH_CA", value_name = "FILE")]
    push_ca: Option<PathBuf>,
    /// Attempts per push before giving up on 429, 5xx and network errors.
    #[arg(long, env = "CHATFLOW_PUSH_MAX_ATTEMPTS", value_name = "N", default_value_t = 5)]
    push_max_attempts: u32,
    /// First push retry delay in milliseconds (doubled per attempt; a `Retry-After` wins).
    #[arg(long, env = "CHATFLOW_PUSH_BACKOFF_MS", value_name = "MS", default_value_t = 2000)]
    push_backoff_ms: u64,
    /// Seconds an agent's reply may stay unread before it is emailed to a visitor with an address (docs/email.md).
    #[arg(long, env = "CHATFLOW_EMAIL_REPLY_DELAY_SECS", value_name = "SECS", default_value_t = 120)]
    email_reply_delay_secs: u64,
    /// How often the email worker looks for due emails, in milliseconds.
    #[arg(long, env = "CHATFLOW_EMAIL_POLL_MS", value_name = "MS", default_value_t = 1000)]
    email_poll_ms: u64,
    /// Extra CA certificates (PEM) trusted for SMTP over TLS, besides the system's: a relay with a private CA.
    #[arg(long, env = "CHATFLOW_SMTP_CA_FILE", value_name = "FILE")]
    smtp_ca_file: Option<PathBuf>,
    /// Attachments' directory: `blobs/` (files by SHA-256) and `partial/` (uploads in progress). Default:
    /// `<database file>.files` beside the database (docs/attachments.md).
    #[arg(long, env = "CHATFLOW_BLOB_DIR", value_name = "DIR")]
    blob_dir: Option<PathBuf>,
    /// Where attachments' complete files are kept: `local` (a directory) or `s3` (an S3-compatible bucket, the
    /// `--s3-*` flags; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). docs/attachments.md.
    #[arg(long, env = "CHATFLOW_BLOB_STORE", value_enum, default_value_t = BlobBackend::Local)]
    blob_store: BlobBackend,
    /// S3-compatible service's base URL, e.g. `https://minio.example.com:9000` (default: AWS S3).
    #[arg(long, env = "CHATFLOW_S3_ENDPOINT", value_name = "URL")]
    s3_endpoint: Option<String>,
    /// The bucket of attachments' files (must exist); required with `--blob-store s3`.
    #[arg(long, env = "CHATFLOW_S3_BUCKET", value_name = "NAME")]
    s3_bucket: Option<String>,
    /// The bucket's region.
    #[arg(long, env = "CHATFLOW_S3_REGION", value_name = "REGION", default_value = "us-east-1")]
    s3_region: String,
    /// Accept a plain `http://` S3 endpoint (a service on loopback or a private network only).
    #[arg(long, env = "CHATFLOW_S3_ALLOW_HTTP", value_parser = clap::builder::BoolishValueParser::new())]
    s3_allow_http: bool,
    // Abuse limits (server/README.md, "Abuse limits"). A rate is N/PERIOD: a burst of N, then one every PERIOD/N;
    // past it the answer is 429 `rate_limited` with `Retry-After` (a `nack`/`error` frame over the socket).
    /// Visitors one client address may create (`POST /v1/apps/{app_id}/visitors`).
    #[arg(long, env = "CHATFLOW_LIMIT_VISITOR_CREATES_PER_ADDRESS", value_name = "RATE", default_value = "30/1m")]
    limit_visitor_creates_per_address: Rate,
    /// Visitors one app may get, all addresses together.
    #[arg(long, env = "CHATFLOW_LIMIT_VISITOR_CREATES_PER_APP", value_name = "RATE", default_value = "600/1m")]
    limit_visitor_creates_per_app: Rate,
    /// `POST /v1/visitor/identify` calls from one client address.
    #[arg(long, env = "CHATFLOW_LIMIT_IDENTIFIES_PER_ADDRESS", value_name = "RATE", default_value = "30/1m")]
    limit_identifies_per_address: Rate,
    /// Messages one visitor may send (REST and realtime socket together).
    #[arg(long, env = "CHATFLOW_LIMIT_SENDS_PER_VISITOR", value_name = "RATE", default_value = "20/10s")]
    limit_sends_per_visitor: Rate,
    /// Messages all the visitors of one app may send together (REST and socket), checked after the visitor's own limit.
    #[arg(long, env = "CHATFLOW_LIMIT_SENDS_PER_APP", value_name = "RATE", default_value = "300/10s")]
    limit_sends_per_app: Rate,
    /// Typing notices from one visitor (REST and socket).
    #[arg(long, env = "CHATFLOW_LIMIT_TYPING_PER_VISITOR", value_name = "RATE", default_value = "20/10s")]
    limit_typing_per_visitor: Rate,
    /// Read receipts from one visitor (REST and socket).
    #[arg(long, env = "CHATFLOW_LIMIT_READS_PER_VISITOR", value_name = "RATE", default_value = "30/10s")]
    limit_reads_per_visitor: Rate,
    /// Knowledge-base searches (`GET /v1/kb/{kb_id}/search`) by one visitor.
    #[arg(long, env = "CHATFLOW_LIMIT_KB_SEARCHES_PER_VISITOR", value_name = "RATE", default_value = "30/10s")]
    limit_kb_searches_per_visitor: Rate,
    /// Files one visitor may declare for upload (`POST /v1/uploads`).
    #[arg(long, env = "CHATFLOW_LIMIT_UPLOADS_PER_VISITOR", value_name = "RATE", default_value = "20/1m")]
    limit_uploads_per_visitor: Rate,
    /// Writes one agent may make (every non-GET `/v1/agent/...` route but sign-in, sign-out and upload chunks).
    #[arg(long, env = "CHATFLOW_LIMIT_AGENT_WRITES_PER_AGENT", value_name = "RATE", default_value = "120/1m")]
    limit_agent_writes_per_agent: Rate,
    /// Failed sign-ins for one email: N failures within PERIOD lock it until the oldest is PERIOD old.
    #[arg(long, env = "CHATFLOW_LIMIT_SIGN_IN_FAILURES_PER_EMAIL", value_name = "RATE", default_value = "5/15m")]
    limit_sign_in_failures_per_email: Rate,
    /// Failed sign-ins from one client address, whatever the emails (same model).
    #[arg(long, env = "CHATFLOW_LIMIT_SIGN_IN_FAILURES_PER_ADDRESS", value_name = "RATE", default_value = "20/15m")]
    limit_sign_in_failures_per_address: Rate,
    /// Frames a client may send on one WebSocket (visitor realtime and agent feed).
    #[arg(long, env = "CHATFLOW_LIMIT_WS_FRAMES_PER_SOCKET", value_name = "RATE", default_value = "100/10s")]
    limit_ws_frames_per_socket: Rate,
    /// Largest WebSocket message a client may send, in bytes; a larger one closes the socket (1009).
    #[arg(long, env = "CHATFLOW_WS_MAX_FRAME_BYTES", value_name = "BYTES", default_value_t = chatflow_protocol::limits::MAX_WS_FRAME_BYTES)]
    ws_max_frame_bytes: usize,
    /// Seconds a client has to send a request's whole header (also: the longest idle keep-alive).
    #[arg(long, env = "CHATFLOW_HEADER_TIMEOUT_SECS", value_name = "SECS", default_value_t = 10)]
    header_timeout_secs: u64,
    /// Seconds a client has to send a request's body once the header is in (upload chunks: the longest pause).
    #[arg(long, env = "CHATFLOW_BODY_TIMEOUT_SECS", value_name = "SECS", default_value_t = 30)]
    body_timeout_secs: u64,
}

/// `--blob-store`: where attachments' complete files are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BlobBackend {
    Local,
    S3,
}

/// The S3 settings of `--blob-store s3`, `None` for `local`; `--s3-*` flags without `s3`, or `s3` without a bucket,
/// are refused rather than ignored.
fn s3_config(cli: &Cli) -> Result<Option<chatflow_server::blobs::s3::S3Config>, String> {
    match cli.blob_store {
        BlobBackend::Local => {
            if cli.s3_endpoint.is_some() || cli.s3_bucket.is_some() || cli.s3_allow_http {
                return Err("the --s3-* flags need --blob-store s3".into());
            }
            Ok(None)
        }
        BlobBackend::S3 => {
            let bucket = cli.s3_bucket.clone().filter(|b| !b.is_empty());
            let bucket = bucket.ok_or("--blob-store s3 needs --s3-bucket NAME")?;
            Ok(Some(chatflow_server::blobs::s3::S3Config {
                endpoint: cli.s3_endpoint.clone(),
                bucket,
                region: cli.s3_region.clone(),
                allow_http: cli.s3_allow_http,
            }))
        }
    }
}

/// Listens for SIGINT and SIGTERM from now on and returns what completes on the first one. Called before the address
/// is printed: a stop sent as soon as the address is known must also shut down gracefully, not kill the process.
#[cfg(unix)]
fn stop_requested() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let listen = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| tracing::error!(error = %e, "cannot listen for {name}")).ok()
    };
    let (mut term, mut int) = (listen(SignalKind::terminate(), "SIGTERM"), listen(SignalKind::interrupt(), "SIGINT"));
    async move {
        tokio::select! {
            _ = next_signal(&mut term) => {}
            _ = next_signal(&mut int) => {}
        }
    }
}

/// The next delivery of `signal`; never, when it could not be listened to.
#[cfg(unix)]
async fn next_signal(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

#[cfg(not(unix))]
fn stop_requested() -> impl std::future::Future<Output = ()> {
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}

/// The signal mask is inherited across `exec`: a launcher that blocks SIGTERM/SIGINT in its own threads (some test
/// runners and process APIs do) would start a server that `kill` cannot stop gracefully. Unblocked before any
/// thread starts, so that every thread inherits the open mask.
#[cfg(unix)]
fn accept_stop_signals() {
    // SAFETY: plain libc calls on a local, initialised signal set; no other thread exists yet.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

fn main() -> ExitCode {
    #[cfg(unix)]
    accept_stop_signals();
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|e| {
        eprintln!("invalid --log filter `{}` ({e}); using `info`", cli.log);
        tracing_subscriber::EnvFilter::new("info")
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let extra_ca_pem = match cli.push_ca.as_deref().map(std::fs::read).transpose() {
        Ok(pem) => pem,
        Err(e) => {
            let path = cli.push_ca.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
            eprintln!("chatflow-server: --push-ca {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let s3 = match s3_config(&cli) {
        Ok(s3) => s3,
        Err(e) => {
            eprintln!("chatflow-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    let push = chatflow_server::notify::push::PushSettings {
        fcm_url: cli.fcm_url,
        fcm_oauth_url: cli.fcm_oauth_url,
        apns_url: cli.apns_url,
        extra_ca_pem,
        max_attempts: cli.push_max_attempts.max(1),
        backoff_base: Duration::from_millis(cli.push_backoff_ms),
    };
    let smtp_ca_pem = match &cli.smtp_ca_file {
        None => None,
        Some(path) => match std::fs::read(path) {
            Ok(pem) => Some(std::sync::Arc::new(pem)),
            Err(e) => {
                eprintln!("chatflow-server: --smtp-ca-file {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        },
    };
    let email = chatflow_server::email::EmailConfig {
        reply_delay: Duration::from_secs(cli.email_reply_delay_secs),
        poll_interval: Duration::from_millis(cli.email_poll_ms.max(10)),
        extra_ca_pem: smtp_ca_pem,
        ..Default::default()
    };
    let database = match (cli.database_url, cli.db) {
        (Some(url), _) => Database::Postgres(url),
        (None, Some(path)) => Database::Sqlite(path),
        (None, None) => {
            eprintln!(
                "chatflow-server: say where the data goes: --db FILE (SQLite) or --database-url URL (PostgreSQL)"
            );
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let config = Config {
            database,
            bind: cli.bind,
            seed: cli.seed,
            settings: Settings {
                heartbeat_interval: Duration::from_millis(cli.heartbeat_ms.max(100)),
                ws_queue_frames: cli.ws_queue.max(1),
                fake_clock: cli.fake_clock,
                feed_retention_events: cli.feed_retention.max(1),
                trust_proxy: cli.trust_proxy,
                push,
                email,
                blob_dir: cli.blob_dir,
                s3,
                limits: LimitSettings {
                    visitor_creates_per_address: cli.limit_visitor_creates_per_address,
                    visitor_creates_per_app: cli.limit_visitor_creates_per_app,
                    identifies_per_address: cli.limit_identifies_per_address,
                    sends_per_visitor: cli.limit_sends_per_visitor,
                    sends_per_app: cli.limit_sends_per_app,
                    typing_per_visitor: cli.limit_typing_per_visitor,
                    reads_per_visitor: cli.limit_reads_per_visitor,
                    kb_searches_per_visitor: cli.limit_kb_searches_per_visitor,
                    uploads_per_visitor: cli.limit_uploads_per_visitor,
                    agent_writes_per_agent: cli.limit_agent_writes_per_agent,
                    sign_in_failures_per_email: cli.limit_sign_in_failures_per_email,
                    sign_in_failures_per_address: cli.limit_sign_in_failures_per_address,
                    ws_frames_per_socket: cli.limit_ws_frames_per_socket,
                    ws_max_frame_bytes: cli.ws_max_frame_bytes.max(1024),
                    header_timeout: Duration::from_secs(cli.header_timeout_secs.max(1)),
                    body_timeout: Duration::from_secs(cli.body_timeout_secs.max(1)),
                },
            },
        };
        let server = match serve(config).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("chatflow-server: {e}");
                return ExitCode::FAILURE;
            }
        };
        let stop = stop_requested();
        // The first stdout line is a contract with scripts and tests: they read the port from it.
        let mut out = std::io::stdout().lock();
        if writeln!(out, "listening on http://{}", server.local_addr()).and_then(|()| out.flush()).is_err() {
            eprintln!("chatflow-server: cannot write to stdout");
        }
        drop(out);
        stop.await;
        tracing::info!("shutting down");
        match server.shutdown().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("chatflow-server: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
