//! Shared state of the handlers and the bridge from async handlers to the blocking store.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::agent_feed::FeedHub;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::realtime::Hub;
use crate::store::{Store, StoreError};

/// Tunables that tests and the load tool change.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Server WebSocket ping period; a socket silent for two periods is closed.
    pub heartbeat_interval: Duration,
    /// Frames buffered per socket before a slow client is disconnected.
    pub ws_queue_frames: usize,
    /// Settable clock (`--fake-clock`): enables `PUT /v1/admin/clock` (tests only).
    pub fake_clock: bool,
    /// Events the agents' feed log keeps (all apps together); a cursor older than that gets `resync`.
    pub feed_retention_events: u64,
    /// Behind a TLS proxy the operator controls (`--trust-proxy`): `X-Forwarded-Proto: https` makes the session
    /// cookie `Secure`, and the last `X-Forwarded-For` address is the client's (sign-in rate limit).
    pub trust_proxy: bool,
    /// Push providers' URLs, extra CA, retry policy.
    pub push: crate::notify::push::PushSettings,
    /// The email outbox's worker: reply delay, polling, SMTP timeout, extra CA.
    pub email: crate::email::EmailConfig,
    /// Attachments' directory (`--blob-dir`): `blobs/` (the local blob store) and `partial/` (uploads in
    /// progress). `None`: `<database file>.files` beside the database.
    pub blob_dir: Option<std::path::PathBuf>,
    /// `--blob-store s3`: attachments' files in this S3-compatible bucket; `None`: the local directory.
    pub s3: Option<crate::blobs::s3::S3Config>,
    /// Abuse limits: request rates, WebSocket frames, header and body timeouts (`crate::limits`).
    pub limits: crate::limits::LimitSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_millis(chatflow_protocol::HEARTBEAT_INTERVAL_MS),
            ws_queue_frames: 1024,
            fake_clock: false,
            feed_retention_events: 100_000,
            trust_proxy: false,
            push: crate::notify::push::PushSettings::default(),
            email: crate::email::EmailConfig::default(),
            blob_dir: None,
            s3: None,
            limits: crate::limits::LimitSettings::default(),
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub hub: Hub,
    /// Wakes the agents' feed sockets after commits; carries their live-only frames (typing, presence).
    pub feed: FeedHub,
    pub settings: Arc<Settings>,
    /// "Now" for every handler (see `clock`): the wall clock, or a settable one with `--fake-clock`.
    pub clock: Clock,
    /// Failed sign-ins per email and per client address (`--limit-sign-in-failures-*`; in memory: one node).
    pub login_limiter: Arc<crate::accounts::limiter::LoginLimiter>,
    /// Request and frame rates by visitor, address and app (`crate::limits`).
    pub limits: Arc<crate::limits::Limits>,
    /// Attachments' bytes (content-addressed); `serve` sets the configured backend.
    pub blobs: Arc<dyn crate::blobs::BlobStore>,
    /// Uploads in progress: one partial file per upload (always local, whatever the blob backend).
    pub partial_dir: std::path::PathBuf,
    /// Uploads being written, and their hash state between `PATCH`es.
    pub uploads_in_flight: Arc<crate::attachments::inflight::InFlight>,
    /// Serializes writes that emit realtime events with their publication (see `db_publish`).
    events: Arc<Mutex<()>>,
}

/// The wall clock in Unix milliseconds. Handlers read `AppState::clock` instead, so that tests can pin "now".
pub fn now_ms() -> i64 {
    crate::clock::system_now_ms()
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Self {
        let hub = Hub::new(settings.ws_queue_frames);
        let feed = FeedHub::new(settings.ws_queue_frames);
        feed.attach(store.as_ref(), settings.feed_retention_events);
        let clock = if settings.fake_clock { Clock::fake() } else { Clock::system() };
        let limits = crate::limits::Limits::new(settings.limits.clone());
        let login_limiter = Arc::new(crate::accounts::limiter::LoginLimiter::new(
            settings.limits.sign_in_failures_per_email,
            settings.limits.sign_in_failures_per_address,
        ));
        Self {
            limits,
            store,
            hub,
            feed,
            settings: Arc::new(settings),
            clock,
            login_limiter,
            blobs: Arc::new(crate::blobs::Unconfigured),
            partial_dir: std::path::PathBuf::new(),
            uploads_in_flight: Arc::default(),
            events: Arc::new(Mutex::new(())),
        }
    }

    /// Now, in Unix milliseconds, from the server's clock.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// Runs a store call on the blocking pool.
    pub async fn db<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(r) => r.map_err(ApiError::from),
            Err(e) => Err(ApiError::internal(format!("store task failed: {e}"))),
        }
    }

    /// Like `db`, for closures that mix store calls with API-level checks.
    pub async fn db_try<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&dyn Store) -> Result<R, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(r) => r,
            Err(e) => Err(ApiError::internal(format!("store task failed: {e}"))),
        }
    }

    /// Runs a write and publishes its events under one lock, so that sockets receive events in commit order
    /// (message `seq` 5 is never delivered after 6). Publishing only enqueues on bounded channels: it never waits.
    pub async fn db_publish<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&dyn Store, &Hub) -> Result<R, ApiError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        let hub = self.hub.clone();
        let events = Arc::clone(&self.events);
        let task = tokio::task::spawn_blocking(move || {
            // The guarded value is `()`: a poisoned lock carries no broken state.
            let _order = events.lock().unwrap_or_else(PoisonError::into_inner);
            f(store.as_ref(), &hub)
        });
        match task.await {
            Ok(r) => r,
            Err(e) => Err(ApiError::internal(format!("store task failed: {e}"))),
        }
    }
}
