//! chatflow-server: the Chatflow reference server (REST + WebSocket over axum, SQLite store).
//!
//! `serve(config)` opens the store, applies the seed, binds and starts serving in the background; the returned
//! [`Server`] gives the bound address and a graceful `shutdown`. The binary (`main.rs`) is a thin CLI around it, and
//! tests can start a server in-process the same way.

pub mod accounts;
pub mod admin;
pub mod agent;
pub mod agent_feed;
pub mod ai_agent;
pub mod attachments;
pub mod auth;
pub mod blobs;
pub mod bots;
pub mod canned;
pub mod chatflows;
pub mod clock;
pub mod cluster;
pub mod consent;
pub mod conversations;
pub mod domain;
pub mod email;
pub mod error;
pub mod http;
pub mod inbox;
pub mod kb;
pub mod limits;
pub mod messages;
pub mod notes;
pub mod notify;
pub mod openapi;
pub mod realtime;
pub mod routing;
pub mod seed;
pub mod state;
pub mod store;
pub mod surveys;
pub mod tickets;
pub mod visitors;
pub mod web_inbox;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use chatflow_protocol::limits::MAX_BODY_BYTES;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use auth::sign_identity_token;
pub use state::{AppState, Settings};

use store::{PostgresStore, SqliteStore, Store, StoreError};

/// Where the server keeps its data.
#[derive(Clone)]
pub enum Database {
    /// A SQLite database file (created if missing): one server process (the default).
    Sqlite(PathBuf),
    /// A PostgreSQL database (`postgres://…`); its schema is created if missing.
    Postgres(String),
}

impl Database {
    /// How logs and errors name it: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) => redact_password(url),
        }
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db` (and `password=***` in the key-value form): a
/// password never reaches a log.
fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url
            .split(' ')
            .map(|pair| if pair.starts_with("password=") { "password=***" } else { pair })
            .collect::<Vec<_>>()
            .join(" ");
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some(parts) => parts,
        None => return url.to_owned(),
    };
    match auth.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// How the server starts.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: Database,
    /// Address to listen on; port 0 picks a free one.
    pub bind: String,
    /// Seed file applied at start.
    pub seed: Option<PathBuf>,
    pub settings: Settings,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("database {database}: {source}")]
    Store { database: String, source: StoreError },
    #[error(
        "with --database-url, say where attachments' files go: --blob-dir DIR (uploads in progress are kept there)"
    )]
    BlobDirRequired,
    #[error(transparent)]
    Seed(#[from] seed::SeedError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("push: {0}")]
    Push(String),
    #[error("attachments directory {path}: {source}")]
    Blobs { path: PathBuf, source: blobs::BlobError },
    #[error("--blob-store s3: {0}")]
    S3(blobs::BlobError),
}

/// Every route as `(method, path)`, in the router's syntax. Tests iterate it (robustness, OpenAPI completeness).
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/v1/apps/{app_id}/chatflows"),
    ("GET", "/v1/apps/{app_id}/chatflows/status"),
    ("POST", "/v1/apps/{app_id}/visitors"),
    ("POST", "/v1/visitor/identify"),
    ("PUT", "/v1/visitor/properties"),
    ("PUT", "/v1/visitor/device"),
    ("PUT", "/v1/visitor/push-token"),
    ("DELETE", "/v1/visitor/push-token"),
    ("DELETE", "/v1/visitor"),
    ("POST", "/v1/conversations"),
    ("GET", "/v1/conversations"),
    ("GET", "/v1/conversations/{id}"),
    ("PUT", "/v1/conversations/{id}/messages/{client_message_id}"),
    ("GET", "/v1/conversations/{id}/messages"),
    ("POST", "/v1/conversations/{id}/read"),
    ("POST", "/v1/conversations/{id}/typing"),
    ("PUT", "/v1/consents/{client_record_id}"),
    ("GET", "/v1/realtime"),
    ("GET", "/v1/agent/conversations"),
    ("POST", "/v1/agent/conversations/{id}/messages"),
    ("POST", "/v1/agent/conversations/{id}/close"),
    ("POST", "/v1/agent/conversations/{id}/read"),
    ("POST", "/v1/agent/conversations/{id}/typing"),
    ("PUT", "/v1/agent/presence"),
    ("GET", "/v1/agent/agents"),
    ("GET", "/v1/agent/conversations/{id}"),
    ("DELETE", "/v1/agent/conversations/{id}"),
    ("GET", "/v1/agent/conversations/{id}/messages"),
    ("POST", "/v1/agent/conversations/{id}/assign"),
    ("POST", "/v1/agent/conversations/{id}/take-over"),
    ("POST", "/v1/agent/conversations/{id}/block"),
    ("DELETE", "/v1/agent/conversations/{id}/block"),
    ("POST", "/v1/agent/conversations/{id}/spam"),
    ("DELETE", "/v1/agent/conversations/{id}/spam"),
    ("POST", "/v1/agent/conversations/{id}/unlink-contact"),
    ("GET", "/v1/agent/conversations/{id}/transcript"),
    ("GET", "/v1/agent/conversations/{id}/transcript.txt"),
    ("POST", "/v1/agent/conversations/{id}/ticket"),
    ("GET", "/v1/agent/feed"),
    ("GET", "/v1/agent/conversations/counts"),
    ("GET", "/v1/agent/conversations/{id}/visitor"),
    ("POST", "/v1/agent/conversations/{id}/reopen"),
    ("POST", "/v1/agent/conversations/{id}/notes"),
    ("GET", "/v1/agent/conversations/{id}/notes"),
    ("GET", "/v1/agent/canned-responses"),
    ("POST", "/v1/agent/canned-responses"),
    ("PUT", "/v1/agent/canned-responses/{id}"),
    ("DELETE", "/v1/agent/canned-responses/{id}"),
    ("GET", "/v1/agent/kb/search"),
    ("GET", "/v1/agent/tickets"),
    ("GET", "/v1/agent/tickets/{id}"),
    ("PATCH", "/v1/agent/tickets/{id}"),
    ("GET", "/v1/admin/chatflows"),
    ("POST", "/v1/admin/chatflows"),
    ("GET", "/v1/admin/chatflows/{id}"),
    ("PUT", "/v1/admin/chatflows/{id}"),
    ("DELETE", "/v1/admin/chatflows/{id}"),
    ("PUT", "/v1/admin/clock"),
    ("GET", "/v1/admin/chatflows/{id}/help-desk"),
    ("PUT", "/v1/admin/chatflows/{id}/help-desk"),
    ("GET", "/v1/admin/channels/{channel}/help-desk"),
    ("PUT", "/v1/admin/channels/{channel}/help-desk"),
    ("GET", "/v1/kb/{kb_id}/changes"),
    ("GET", "/v1/kb/{kb_id}/search"),
    ("POST", "/v1/agent/login"),
    ("GET", "/v1/agent/me"),
    ("POST", "/v1/agent/logout"),
    ("GET", "/v1/admin/agents"),
    ("POST", "/v1/admin/agents"),
    ("POST", "/v1/admin/agents/{id}/disable"),
    ("POST", "/v1/admin/agents/{id}/enable"),
    ("POST", "/v1/admin/agents/{id}/password"),
    ("GET", "/v1/admin/teams"),
    ("POST", "/v1/admin/teams"),
    ("PUT", "/v1/admin/teams/{team_id}/members/{agent_id}"),
    ("DELETE", "/v1/admin/teams/{team_id}/members/{agent_id}"),
    ("GET", "/v1/admin/kb/{kb_id}/articles"),
    ("POST", "/v1/admin/kb/{kb_id}/articles"),
    ("GET", "/v1/admin/kb/{kb_id}/articles/{id}"),
    ("PUT", "/v1/admin/kb/{kb_id}/articles/{id}"),
    ("DELETE", "/v1/admin/kb/{kb_id}/articles/{id}"),
    // Push delivery (#16).
    ("GET", "/v1/admin/push"),
    ("PUT", "/v1/admin/push"),
    ("DELETE", "/v1/admin/push"),
    // Email over SMTP.
    ("GET", "/v1/admin/email"),
    ("PUT", "/v1/admin/email"),
    ("DELETE", "/v1/admin/email"),
    ("POST", "/v1/agent/conversations/{id}/transcript/email"),
    // Satisfaction survey results.
    ("GET", "/v1/agent/surveys/summary"),
    ("GET", "/v1/admin/surveys/summary"),
    // Attachments (#17).
    ("POST", "/v1/uploads"),
    ("GET", "/v1/uploads/{upload_id}"),
    ("PATCH", "/v1/uploads/{upload_id}"),
    ("POST", "/v1/agent/uploads"),
    ("GET", "/v1/agent/uploads/{upload_id}"),
    ("PATCH", "/v1/agent/uploads/{upload_id}"),
    ("GET", "/v1/attachments/{attachment_id}"),
    ("GET", "/v1/attachments/{attachment_id}/thumbnail"),
    ("GET", "/v1/agent/attachments/{attachment_id}"),
    ("GET", "/v1/agent/attachments/{attachment_id}/thumbnail"),
    ("GET", "/v1/admin/attachments"),
    ("PUT", "/v1/admin/attachments"),
];

/// The HTTP application: every route of `ROUTES`, the web inbox's files (`/inbox/`, not API routes), JSON 404/405
/// fallbacks, body limits.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(openapi::health))
        .route("/openapi.json", get(openapi::openapi_json))
        .route("/v1/apps/{app_id}/chatflows", get(chatflows::list_chatflows))
        .route("/v1/apps/{app_id}/chatflows/status", get(chatflows::chatflow_status))
        .route("/v1/apps/{app_id}/visitors", post(visitors::create_visitor))
        .route("/v1/visitor/identify", post(visitors::identify))
        .route("/v1/visitor/properties", put(visitors::put_properties))
        .route("/v1/visitor/device", put(visitors::put_device))
        .route("/v1/visitor/push-token", put(visitors::put_push_token).delete(visitors::delete_push_token))
        .route("/v1/visitor", axum::routing::delete(visitors::delete_visitor))
        .route("/v1/conversations", post(conversations::open_conversation).get(conversations::list_conversations))
        .route("/v1/conversations/{id}", get(conversations::get_conversation))
        .route("/v1/conversations/{id}/messages/{client_message_id}", put(messages::put_message))
        .route("/v1/conversations/{id}/messages", get(messages::list_messages))
        .route("/v1/conversations/{id}/read", post(messages::post_read))
        .route("/v1/conversations/{id}/typing", post(messages::post_typing))
        .route("/v1/consents/{client_record_id}", put(consent::put_consent))
        .route("/v1/realtime", get(realtime::realtime))
        .route("/v1/agent/conversations", get(inbox::views::list))
        .route("/v1/agent/conversations/{id}/messages", post(agent::reply).get(inbox::views::messages))
        .route("/v1/agent/conversations/{id}/close", post(inbox::actions::close))
        .route("/v1/agent/conversations/{id}/read", post(agent::read))
        .route("/v1/agent/conversations/{id}/typing", post(agent::typing))
        .route("/v1/agent/presence", put(agent::presence))
        .route("/v1/agent/agents", get(inbox::views::agents))
        .route("/v1/agent/conversations/{id}", get(inbox::views::get_one).delete(inbox::actions::delete))
        .route("/v1/agent/conversations/{id}/assign", post(inbox::actions::assign))
        .route("/v1/agent/conversations/{id}/take-over", post(inbox::actions::take_over))
        .route("/v1/agent/conversations/{id}/block", post(inbox::actions::block).delete(inbox::actions::unblock))
        .route("/v1/agent/conversations/{id}/spam", post(inbox::actions::spam).delete(inbox::actions::unspam))
        .route("/v1/agent/conversations/{id}/unlink-contact", post(inbox::actions::unlink_contact))
        .route("/v1/agent/conversations/{id}/transcript", get(inbox::transcript::json))
        .route("/v1/agent/conversations/{id}/transcript.txt", get(inbox::transcript::text))
        .route("/v1/agent/conversations/{id}/ticket", post(tickets::create_for_conversation))
        .route("/v1/agent/feed", get(agent_feed::feed))
        // A static segment wins over `{id}` in axum's router: `counts` is never taken as a conversation id.
        .route("/v1/agent/conversations/counts", get(inbox::context::counts))
        .route("/v1/agent/conversations/{id}/visitor", get(inbox::context::visitor))
        .route("/v1/agent/conversations/{id}/reopen", post(inbox::context::reopen))
        .route("/v1/agent/conversations/{id}/notes", post(notes::create).get(notes::list))
        .route("/v1/agent/canned-responses", get(canned::list).post(canned::create))
        .route("/v1/agent/canned-responses/{id}", put(canned::update).delete(canned::delete))
        .route("/v1/agent/kb/search", get(inbox::context::kb_search))
        .route("/v1/agent/tickets", get(tickets::list))
        .route("/v1/agent/tickets/{id}", get(tickets::get).patch(tickets::update))
        .route("/v1/admin/chatflows", get(admin::list).post(admin::create))
        .route("/v1/admin/chatflows/{id}", get(admin::get).put(admin::update).delete(admin::delete))
        .route("/v1/admin/clock", put(clock::put_clock))
        .route(
            "/v1/admin/chatflows/{id}/help-desk",
            get(tickets::get_chatflow_help_desk).put(tickets::put_chatflow_help_desk),
        )
        .route(
            "/v1/admin/channels/{channel}/help-desk",
            get(tickets::get_channel_help_desk).put(tickets::put_channel_help_desk),
        )
        .route("/v1/kb/{kb_id}/changes", get(kb::changes))
        .route("/v1/kb/{kb_id}/search", get(kb::search))
        .route("/v1/admin/kb/{kb_id}/articles", get(kb::admin_list).post(kb::admin_create))
        .route("/v1/admin/kb/{kb_id}/articles/{id}", get(kb::admin_get).put(kb::admin_update).delete(kb::admin_delete))
        .route("/v1/agent/login", post(accounts::login))
        .route("/v1/agent/me", get(accounts::me))
        .route("/v1/agent/logout", post(accounts::logout))
        .route("/v1/admin/agents", get(accounts::admin::list_agents).post(accounts::admin::create_agent))
        .route("/v1/admin/agents/{id}/disable", post(accounts::admin::disable_agent))
        .route("/v1/admin/agents/{id}/enable", post(accounts::admin::enable_agent))
        .route("/v1/admin/agents/{id}/password", post(accounts::admin::reset_password))
        .route("/v1/admin/teams", get(accounts::admin::list_teams).post(accounts::admin::create_team))
        .route(
            "/v1/admin/teams/{team_id}/members/{agent_id}",
            put(accounts::admin::add_member).delete(accounts::admin::remove_member),
        )
        // Push delivery (#16).
        .route(
            "/v1/admin/push",
            get(notify::push::admin::get).put(notify::push::admin::put).delete(notify::push::admin::delete),
        )
        // Email over SMTP.
        .route("/v1/admin/email", get(email::settings::get).put(email::settings::put).delete(email::settings::delete))
        .route("/v1/agent/conversations/{id}/transcript/email", post(email::manual::send))
        // Satisfaction survey results.
        .route("/v1/agent/surveys/summary", get(surveys::agent_summary))
        .route("/v1/admin/surveys/summary", get(surveys::admin_summary))
        // Attachments (#17).
        .route("/v1/uploads", post(attachments::uploads::visitor_declare))
        .route(
            "/v1/uploads/{upload_id}",
            get(attachments::uploads::visitor_status).patch(attachments::patch::visitor_append),
        )
        .route("/v1/agent/uploads", post(attachments::uploads::agent_declare))
        .route(
            "/v1/agent/uploads/{upload_id}",
            get(attachments::uploads::agent_status).patch(attachments::patch::agent_append),
        )
        .route("/v1/attachments/{attachment_id}", get(attachments::download::visitor_file))
        .route("/v1/attachments/{attachment_id}/thumbnail", get(attachments::download::visitor_thumbnail))
        .route("/v1/agent/attachments/{attachment_id}", get(attachments::download::agent_file))
        .route("/v1/agent/attachments/{attachment_id}/thumbnail", get(attachments::download::agent_thumbnail))
        .route("/v1/admin/attachments", get(attachments::limits::get).put(attachments::limits::put))
        .route("/inbox", get(web_inbox::redirect))
        .route("/inbox/", get(web_inbox::index))
        .route("/inbox/{*file}", get(web_inbox::file))
        .fallback(http::unknown_route)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::timeouts::body_deadline))
        .layer(axum::middleware::from_fn(http::body_guard))
        .layer(axum::middleware::from_fn(http::log_requests))
        .with_state(state)
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, closes every WebSocket with 1001, and waits (up to 5 s) for in-flight requests.
    pub async fn shutdown(mut self) -> Result<(), ServerError> {
        self.state.hub.shutdown();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Upgraded sockets live outside axum's graceful shutdown: give them time to send their close frame.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while self.state.hub.live_sockets() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        match tokio::time::timeout(Duration::from_secs(5), &mut self.task).await {
            Ok(Ok(r)) => r.map_err(ServerError::Serve),
            Ok(Err(join)) => Err(ServerError::Serve(std::io::Error::other(join))),
            Err(_) => {
                tracing::warn!("connections still open after 5 s; dropping them");
                self.task.abort();
                Ok(())
            }
        }
    }
}

/// Opens the store, applies the seed, binds and starts serving in the background.
pub async fn serve(config: Config) -> Result<Server, ServerError> {
    let database = config.database.clone();
    let seed = config.seed.clone();
    let files = match (&config.settings.blob_dir, &config.database) {
        (Some(dir), _) => dir.clone(),
        (None, Database::Sqlite(path)) => blobs::default_dir(path),
        (None, Database::Postgres(_)) => return Err(ServerError::BlobDirRequired),
    };
    let opened = tokio::task::spawn_blocking(move || -> Result<Arc<dyn Store>, ServerError> {
        let store_error = |source| ServerError::Store { database: database.describe(), source };
        let store: Arc<dyn Store> = match &database {
            Database::Sqlite(path) => Arc::new(SqliteStore::open(path).map_err(store_error)?),
            Database::Postgres(url) => Arc::new(PostgresStore::connect(url).map_err(store_error)?),
        };
        if let Some(seed) = seed {
            seed::apply(store.as_ref(), &seed, state::now_ms())?;
        }
        Ok(store)
    })
    .await
    .map_err(|e| ServerError::Serve(std::io::Error::other(e)))??;
    let mut state = AppState::new(opened, config.settings);
    // On PostgreSQL, other processes may serve the same database: exchange live events with them.
    if let Database::Postgres(url) = &config.database {
        cluster::start(url, Arc::clone(&state.store), state.hub.clone(), state.feed.clone());
    }
    let local = blobs::LocalBlobStore::open(&files.join("blobs"))
        .and_then(|b| std::fs::create_dir_all(files.join("partial")).map(|()| b).map_err(Into::into))
        .map_err(|source| ServerError::Blobs { path: files.clone(), source })?;
    state.blobs = Arc::new(local);
    // `--blob-store s3`: complete files go to the bucket (uploads in progress stay in `partial/`); one request now so
    // that a wrong endpoint, bucket or key stops the start instead of failing the first upload.
    if let Some(s3) = &state.settings.s3 {
        let store = blobs::s3::S3BlobStore::from_env(s3).map_err(ServerError::S3)?;
        store.check().await.map_err(ServerError::S3)?;
        state.blobs = Arc::new(store);
    }
    state.partial_dir = files.join("partial");
    // Pushes queued before a stop are sent now; new ones wake the worker as they commit.
    notify::push::start(Arc::clone(&state.store), state.hub.clone(), state.settings.push.clone())
        .map_err(ServerError::Push)?;
    let listener = TcpListener::bind(&config.bind)
        .await
        .map_err(|source| ServerError::Bind { addr: config.bind.clone(), source })?;
    let addr = listener.local_addr().map_err(ServerError::Serve)?;
    let app = router(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let header_timeout = state.settings.limits.header_timeout;
    let task = tokio::spawn(limits::serve::serve(listener, app, header_timeout, async {
        let _ = stopped.await;
    }));
    tracing::info!(%addr, "serving");
    // Bot work a previous stop interrupted (messages decided but not stored, handoffs not marked).
    bots::resume(&state);
    // The email outbox's sender (settles emails a stop interrupted, then drains).
    email::start(&state);
    // Incomplete uploads past their expiry lose their partial files.
    attachments::sweeper::start(&state);
    Ok(Server { addr, state, stop: Some(stop), task })
}
