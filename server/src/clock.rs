//! The server's notion of "now". Every handler reads the time through `AppState::clock` (never `SystemTime`
//! directly), so that tests can pin the instant: business hours and DST edges, bot session timeouts, the 30-minute
//! close rule of bot conversations.
//!
//! - `Clock::system()` (the default) is the wall clock.
//! - `Clock::fake()` (`--fake-clock` / `CHATFLOW_FAKE_CLOCK=1`) follows the wall clock until it is first set, then
//!   stays frozen at the set instant until set again. `PUT /v1/admin/clock {"now_ms": …}` (any app's admin token: the
//!   clock is server-wide) sets it; without the flag that route answers `unknown_route` as if it did not exist.
//!
//! Monotonic timers (WebSocket heartbeats, the 6 s typing expiry) stay on `tokio::time::Instant`: they measure
//! durations, not instants, and a frozen clock must not stall them.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::Json;
use chatflow_protocol::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::auth::AdminAuth;
use crate::error::ApiError;
use crate::http::ApiJson;
use crate::state::AppState;

/// Wall-clock Unix milliseconds.
pub fn system_now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Latest instant the fake clock accepts: 9999-12-31T23:59:59.999Z.
pub const MAX_FAKE_MS: i64 = 253_402_300_799_999;

/// Sentinel of a fake clock that was never set (it follows the wall clock).
const UNSET: i64 = i64::MIN;

/// A cheap, cloneable clock (all clones share the fake instant).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    fake: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The wall clock; `set` is refused.
    pub fn system() -> Self {
        Self { fake: None }
    }

    /// A settable clock that follows the wall clock until first set.
    pub fn fake() -> Self {
        Self { fake: Some(Arc::new(AtomicI64::new(UNSET))) }
    }

    pub fn is_fake(&self) -> bool {
        self.fake.is_some()
    }

    /// Now, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &self.fake {
            Some(v) => match v.load(Ordering::SeqCst) {
                UNSET => system_now_ms(),
                pinned => pinned,
            },
            None => system_now_ms(),
        }
    }

    /// Pins a fake clock at `now_ms`. Returns false (and changes nothing) on the system clock.
    pub fn set(&self, now_ms: i64) -> bool {
        match &self.fake {
            Some(v) => {
                v.store(now_ms, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }
}

/// Body and answer of `PUT /v1/admin/clock`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ClockSetting {
    /// Unix milliseconds, 0..=253402300799999 (year 9999).
    #[schema(minimum = 0, maximum = 253402300799999_i64)]
    pub now_ms: i64,
}

#[utoipa::path(
    put,
    path = "/v1/admin/clock",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Test servers only (`--fake-clock`): pins the server-wide clock at `now_ms` until set again. \
        The admin token is checked first (401 without one); without the flag the route then does not exist \
        (`unknown_route`).",
    request_body = ClockSetting,
    responses(
        (status = 200, description = "The clock now reads this", body = ClockSetting),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "unknown_route (the server runs on the real clock)", body = ErrorBody),
    )
)]
pub async fn put_clock(
    State(state): State<AppState>,
    admin: Result<AdminAuth, ApiError>,
    body: Result<ApiJson<ClockSetting>, ApiError>,
) -> Result<Json<ClockSetting>, ApiError> {
    // Authenticate first (an anonymous caller learns nothing about the server's clock), then the flag: on a
    // real-clock server the route does not exist, even for an admin.
    admin?;
    if !state.clock.is_fake() {
        return Err(not_enabled());
    }
    let ApiJson(req) = body?;
    if !(0..=MAX_FAKE_MS).contains(&req.now_ms) {
        return Err(ApiError::invalid_field(format!(
            "now_ms must be between 0 and {MAX_FAKE_MS} (Unix milliseconds), got {}",
            req.now_ms
        )));
    }
    if !state.clock.set(req.now_ms) {
        return Err(not_enabled());
    }
    tracing::info!(now_ms = req.now_ms, "fake clock set");
    Ok(Json(ClockSetting { now_ms: state.clock.now_ms() }))
}

/// The refusal of the clock route on a real-clock server: the route does not exist there.
pub fn not_enabled() -> ApiError {
    ApiError::new(
        ErrorCode::UnknownRoute,
        "no route for `PUT /v1/admin/clock`: the server runs on the real clock (start it with --fake-clock)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_cannot_be_set_and_fake_clock_freezes_once_set() {
        let real = Clock::system();
        assert!(!real.is_fake());
        assert!(!real.set(5));
        assert!(real.now_ms() > 1_600_000_000_000);
        let fake = Clock::fake();
        assert!(fake.now_ms() > 1_600_000_000_000, "follows the wall clock until set");
        let shared = fake.clone();
        assert!(fake.set(42));
        assert_eq!(shared.now_ms(), 42);
        assert!(shared.set(7));
        assert_eq!(fake.now_ms(), 7, "may go back");
    }
}
