//! The provider trait, what a send attempt comes to, and the HTTP details both providers share.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::payload::Push;
use crate::store::push::PushCredentials;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// The provider says the device token is no longer valid: forget it.
    DeadToken,
    /// Try again later (429, 5xx, network error, expired credentials), not before `after` when the provider said.
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Will not work by retrying (bad request, wrong credentials): give up on this push.
    Failed(String),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A push service (FCM, APNs).
pub trait PushProvider: Send + Sync {
    /// Sends `push` to the device `token` with the app's credentials (the caller checked the platform has some).
    fn send<'a>(&'a self, credentials: &'a PushCredentials, token: &'a str, push: &'a Push) -> SendFuture<'a>;
}

/// `Retry-After` in seconds (the HTTP-date form is rare from these services; the backoff covers it).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers.get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(secs.min(3600)))
}

/// The outcome of a status no provider-specific rule claimed.
pub fn by_status(status: reqwest::StatusCode, headers: &HeaderMap, detail: &str) -> Outcome {
    if status.is_success() {
        Outcome::Sent
    } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
        Outcome::Retry { after: retry_after(headers), reason: format!("HTTP {status} {detail}") }
    } else {
        Outcome::Failed(format!("HTTP {status} {detail}"))
    }
}

/// A transport error is worth retrying (the service may be back soon).
pub fn network(e: reqwest::Error) -> Outcome {
    // Without the URL: it holds the device token (APNs) and is of no use to the operator.
    Outcome::Retry { after: None, reason: format!("network: {}", e.without_url()) }
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    crate::clock::system_now_ms() / 1000
}
