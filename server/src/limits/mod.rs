//! Abuse limits: how often one visitor, one client address, one app or one agent may do a thing, the realtime
//! sockets' frame size and rate, and how long a client may take to send a request's header and body.
//!
//! Every rate is a GCRA bucket (`gcra`) per key, in memory (one node; several nodes would share them through the
//! database or a cache, not built yet). A refused request is answered 429 `rate_limited` with `Retry-After`; over
//! the realtime socket a refused `send` is a `nack` (other frames an `error`) whose error carries `retry_after_secs`.
//! Sign-ins have their own limiter (`accounts::limiter`, its rates set here): it counts failures, not attempts.
//!
//! The rules live here; handlers call one `check_*` and return its refusal, and the agents' write routes take the
//! `AgentWrite` extractor. Settings: docs in server/README.md.

pub mod gcra;
pub mod serve;
pub mod timeouts;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use chatflow_protocol::limits::MAX_WS_FRAME_BYTES;

use crate::auth::AgentAuth;
use crate::error::ApiError;
use gcra::{Bucket, KeyedLimiter, Rate};

/// The limits' settings (`--limit-*`, `--ws-max-frame-bytes`, `--header-timeout-secs`, `--body-timeout-secs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// `POST /v1/apps/{app_id}/visitors` per client address.
    pub visitor_creates_per_address: Rate,
    /// `POST /v1/apps/{app_id}/visitors` per app, all addresses together.
    pub visitor_creates_per_app: Rate,
    /// `POST /v1/visitor/identify` per client address.
    pub identifies_per_address: Rate,
    /// Messages sent per visitor (REST `PUT` and socket `send` together).
    pub sends_per_visitor: Rate,
    /// Messages sent by all the visitors of one app together (checked after the visitor's own budget).
    pub sends_per_app: Rate,
    /// Typing notices per visitor (REST and socket).
    pub typing_per_visitor: Rate,
    /// Read receipts per visitor (REST and socket).
    pub reads_per_visitor: Rate,
    /// `GET /v1/kb/{kb_id}/search` per visitor.
    pub kb_searches_per_visitor: Rate,
    /// Files declared per visitor (`POST /v1/uploads`; a declaration repeated by `upload_id` counts again).
    pub uploads_per_visitor: Rate,
    /// Writes per agent: every non-GET `/v1/agent/...` route but sign-in, sign-out and upload chunks.
    pub agent_writes_per_agent: Rate,
    /// Failed sign-ins per email: `count` failures within `period` lock it (a window of failures, not GCRA).
    pub sign_in_failures_per_email: Rate,
    /// Failed sign-ins per client address, whatever the emails (same model).
    pub sign_in_failures_per_address: Rate,
    /// Frames a client may send on one WebSocket (visitor realtime and agent feed), whatever they are.
    pub ws_frames_per_socket: Rate,
    /// Largest WebSocket message (and frame) a client may send; a larger one closes the socket (1009).
    pub ws_max_frame_bytes: usize,
    /// Time a client has to send a request's whole header (and, on a kept-alive connection, the next request's).
    pub header_timeout: Duration,
    /// Time a client has to send a request's whole body once the header is in (uploads: per `PATCH`).
    pub body_timeout: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        let rate = |count, secs| Rate::new(count, Duration::from_secs(secs));
        LimitSettings {
            visitor_creates_per_address: rate(30, 60),
            visitor_creates_per_app: rate(600, 60),
            identifies_per_address: rate(30, 60),
            sends_per_visitor: rate(20, 10),
            sends_per_app: rate(300, 10),
            typing_per_visitor: rate(20, 10),
            reads_per_visitor: rate(30, 10),
            kb_searches_per_visitor: rate(30, 10),
            uploads_per_visitor: rate(20, 60),
            agent_writes_per_agent: rate(120, 60),
            sign_in_failures_per_email: rate(5, 15 * 60),
            sign_in_failures_per_address: rate(20, 15 * 60),
            ws_frames_per_socket: rate(100, 10),
            ws_max_frame_bytes: MAX_WS_FRAME_BYTES,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// What a limited request was doing: names the limiter and the words of the refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    CreateVisitor,
    Identify,
    Typing,
    Read,
    KbSearch,
    Upload,
    /// A write of an agent (`AgentWrite`).
    AgentWrite,
}

/// The live limiters (shared by every handler and socket of the server).
#[derive(Debug)]
pub struct Limits {
    settings: LimitSettings,
    visitor_creates_per_address: KeyedLimiter,
    visitor_creates_per_app: KeyedLimiter,
    identifies_per_address: KeyedLimiter,
    sends: KeyedLimiter,
    sends_per_app: KeyedLimiter,
    typing: KeyedLimiter,
    reads: KeyedLimiter,
    kb_searches: KeyedLimiter,
    uploads: KeyedLimiter,
    agent_writes: KeyedLimiter,
    /// Rates are real time, not the product clock: `--fake-clock` pins "now" for the product, never the limits.
    epoch: Instant,
}

impl Limits {
    pub fn new(settings: LimitSettings) -> Arc<Self> {
        Arc::new(Limits {
            visitor_creates_per_address: KeyedLimiter::new(settings.visitor_creates_per_address),
            visitor_creates_per_app: KeyedLimiter::new(settings.visitor_creates_per_app),
            identifies_per_address: KeyedLimiter::new(settings.identifies_per_address),
            sends: KeyedLimiter::new(settings.sends_per_visitor),
            sends_per_app: KeyedLimiter::new(settings.sends_per_app),
            typing: KeyedLimiter::new(settings.typing_per_visitor),
            reads: KeyedLimiter::new(settings.reads_per_visitor),
            kb_searches: KeyedLimiter::new(settings.kb_searches_per_visitor),
            uploads: KeyedLimiter::new(settings.uploads_per_visitor),
            agent_writes: KeyedLimiter::new(settings.agent_writes_per_agent),
            settings,
            epoch: Instant::now(),
        })
    }

    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    fn now_us(&self) -> i64 {
        self.epoch.elapsed().as_micros() as i64
    }

    /// A new visitor from `address` for `app_id`: both its address's and its app's budgets.
    pub fn check_visitor_create(&self, app_id: &str, address: &str) -> Result<(), ApiError> {
        let now = self.now_us();
        self.visitor_creates_per_address.check(address, now).map_err(|wait| {
            refusal("visitors created from this address", self.visitor_creates_per_address.rate(), wait)
        })?;
        self.visitor_creates_per_app
            .check(app_id, now)
            .map_err(|wait| refusal("visitors created for this app", self.visitor_creates_per_app.rate(), wait))
    }

    /// A message from `visitor_id` of `app_id` (REST or socket): the visitor's budget first, then the app's. A send
    /// its visitor's budget refuses never reaches the app's, so one flooding visitor does not spend its app's budget
    /// for the others; a send the app's budget refuses gives the visitor's token back: a refused send counts nowhere.
    pub fn check_send(&self, app_id: &str, visitor_id: &str) -> Result<(), ApiError> {
        let now = self.now_us();
        self.sends
            .check(visitor_id, now)
            .map_err(|wait| refusal("messages sent by this visitor", self.sends.rate(), wait))?;
        self.sends_per_app.check(app_id, now).map_err(|wait| {
            self.sends.refund(visitor_id);
            refusal("messages sent by this app's visitors", self.sends_per_app.rate(), wait)
        })
    }

    /// `action` by `key`: the visitor id for visitor actions, the client address for `Identify`, the agent id for
    /// `AgentWrite`.
    pub fn check(&self, action: Action, key: &str) -> Result<(), ApiError> {
        let (limiter, what) = match action {
            Action::CreateVisitor => (&self.visitor_creates_per_address, "visitors created from this address"),
            Action::Identify => (&self.identifies_per_address, "identify requests from this address"),
            Action::Typing => (&self.typing, "typing notices from this visitor"),
            Action::Read => (&self.reads, "read receipts from this visitor"),
            Action::KbSearch => (&self.kb_searches, "knowledge-base searches by this visitor"),
            Action::Upload => (&self.uploads, "files declared by this visitor"),
            Action::AgentWrite => (&self.agent_writes, "actions by this agent"),
        };
        limiter.check(key, self.now_us()).map_err(|wait| refusal(what, limiter.rate(), wait))
    }

    /// A fresh per-socket frame budget.
    pub fn socket_frames(self: &Arc<Self>) -> SocketFrames {
        SocketFrames { limits: Arc::clone(self), bucket: Bucket::default() }
    }
}

/// One WebSocket's frame budget (`ws_frames_per_socket`).
#[derive(Debug)]
pub struct SocketFrames {
    limits: Arc<Limits>,
    bucket: Bucket,
}

impl SocketFrames {
    /// Takes one incoming frame, or the refusal to send back and how long until the next frame is allowed.
    pub fn take(&mut self) -> Result<(), (ApiError, Duration)> {
        let rate = self.limits.settings.ws_frames_per_socket;
        let now = self.limits.now_us();
        self.bucket.take(&rate, now).map_err(|wait| (refusal("frames on this socket", rate, wait), wait))
    }
}

/// Whether a WebSocket read failed because the client's message or frame was over `ws_max_frame_bytes`. axum
/// hides tungstenite's error type (of its own version) behind `axum::Error`; its text is the only stable handle:
/// tungstenite's `Error::Capacity` reads "Space limit exceeded: …".
pub fn is_too_large(e: &axum::Error) -> bool {
    e.to_string().contains("Space limit exceeded")
}

/// The 429: what was limited, the limit, and when to retry (whole seconds, rounded up).
pub(crate) fn refusal(what: &str, rate: Rate, wait: Duration) -> ApiError {
    let seconds = wait.as_millis().div_ceil(1000).max(1) as u64;
    ApiError::rate_limited(format!("too many {what} (limit {rate}): retry in {seconds} s"), seconds)
}

/// The client's address for the limits: the TCP peer, or behind a trusted proxy (`--trust-proxy`) the address the
/// proxy appended last to `X-Forwarded-For` (earlier entries are the client's own say).
pub fn client_address(parts: &Parts, trust_proxy: bool) -> String {
    if trust_proxy {
        let forwarded = parts.headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
        if let Some(last) = forwarded.and_then(|v| v.rsplit(',').next()).map(str::trim).filter(|v| !v.is_empty()) {
            return last.to_owned();
        }
    }
    parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()).unwrap_or_default()
}

/// Extractor of the agents' write routes: the agent (`AgentAuth`), once its write budget (`agent_writes_per_agent`)
/// admitted the request. Counted before the path and body are read, so a flood of invalid requests is held back
/// too; the agents' reads take `AgentAuth` and are not counted.
pub struct AgentWrite(pub AgentAuth);

impl FromRequestParts<crate::state::AppState> for AgentWrite {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &crate::state::AppState) -> Result<Self, Self::Rejection> {
        let auth = AgentAuth::from_request_parts(parts, state).await?;
        state.limits.check(Action::AgentWrite, &auth.agent.id)?;
        Ok(AgentWrite(auth))
    }
}

/// OpenAPI: the refusal every agent write route documents (`responses(..., AgentWriteLimited)`).
#[derive(utoipa::IntoResponses)]
#[response(
    status = 429,
    description = "rate_limited: the agent's write budget (`--limit-agent-writes-per-agent`, 120 per minute, every \
        agent write route together) is spent; retry after `Retry-After` seconds",
    headers(("Retry-After" = u64, description = "Seconds to wait"))
)]
pub struct AgentWriteLimited(pub chatflow_protocol::ErrorBody);

/// Extractor: the client's address (see `client_address`).
pub struct ClientAddress(pub String);

impl FromRequestParts<crate::state::AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::state::AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(client_address(parts, state.settings.trust_proxy)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatflow_protocol::ErrorCode;

    #[test]
    fn a_refusal_names_the_limit_and_rounds_the_wait_up() {
        let e = refusal(
            "messages sent by this visitor",
            Rate::new(20, Duration::from_secs(10)),
            Duration::from_millis(1200),
        );
        assert_eq!(e.code, ErrorCode::RateLimited);
        assert_eq!(e.retry_after_secs, Some(2));
        assert_eq!(e.message, "too many messages sent by this visitor (limit 20/10s): retry in 2 s");
        let tiny = refusal("x", Rate::new(1, Duration::from_secs(1)), Duration::from_micros(1));
        assert_eq!(tiny.retry_after_secs, Some(1), "never 0: `Retry-After: 0` would invite a busy loop");
    }

    #[test]
    fn visitor_creation_is_limited_per_address_and_per_app() {
        let settings = LimitSettings {
            visitor_creates_per_address: Rate::new(2, Duration::from_secs(60)),
            visitor_creates_per_app: Rate::new(3, Duration::from_secs(60)),
            ..LimitSettings::default()
        };
        let l = Limits::new(settings);
        assert!(l.check_visitor_create("app", "10.0.0.1").is_ok());
        assert!(l.check_visitor_create("app", "10.0.0.1").is_ok());
        let e = l.check_visitor_create("app", "10.0.0.1").unwrap_err();
        assert!(e.message.contains("from this address"), "{}", e.message);
        assert!(l.check_visitor_create("app", "10.0.0.2").is_ok(), "the third for the app");
        let e = l.check_visitor_create("app", "10.0.0.3").unwrap_err();
        assert!(e.message.contains("for this app"), "{}", e.message);
        assert!(l.check_visitor_create("other", "10.0.0.4").is_ok());
    }

    #[test]
    fn sends_are_counted_per_visitor_first_then_per_app_and_a_refusal_counts_once_at_most() {
        let settings = LimitSettings {
            sends_per_visitor: Rate::new(2, Duration::from_secs(60)),
            sends_per_app: Rate::new(3, Duration::from_secs(60)),
            ..LimitSettings::default()
        };
        let l = Limits::new(settings);
        assert!(l.check_send("app", "v1").is_ok());
        assert!(l.check_send("app", "v1").is_ok());
        // Refused by v1's own budget: the app's is not touched.
        for _ in 0..5 {
            let e = l.check_send("app", "v1").unwrap_err();
            assert!(e.message.contains("messages sent by this visitor (limit 2/1m)"), "{}", e.message);
        }
        assert!(l.check_send("app", "v2").is_ok(), "the app's third");
        // Refused by the app's budget: v3's own token is given back.
        let e = l.check_send("app", "v3").unwrap_err();
        assert!(e.message.contains("messages sent by this app's visitors (limit 3/1m)"), "{}", e.message);
        assert_eq!(e.retry_after_secs, Some(20));
        assert!(l.check_send("other", "v3").is_ok());
        assert!(l.check_send("other", "v3").is_ok(), "v3's refused send did not count against it");
        assert!(l.check_send("other", "v3").is_err());
    }
}
