//! Push delivery: the worker that drains the persisted queue (`store::push`), one attempt per (message, device).
//!
//! The unit of work that stores a message from the team or a bot queues its pushes (`domain::push`) and, once it
//! commits, wakes the worker at once (the store's commit listener), so no polling delay is added. At send time the
//! worker skips visitors that have a live realtime connection (the socket already delivered the message), builds the
//! payload (`payload`) and sends through the platform's provider (`fcm`, `apns`). 429 and 5xx are retried with
//! exponential backoff (or the provider's `Retry-After`), at most [`PushSettings::max_attempts`] times; dead tokens
//! are forgotten. Jobs stay in the database until done, so a restart resumes them.

pub mod admin;
pub mod apns;
pub mod fcm;
pub mod keys;
pub mod payload;
pub mod provider;
pub mod seed;

use std::sync::Arc;
use std::time::Duration;

use chatflow_protocol::PushPlatform;
use tokio::sync::Notify;

use self::payload::Push;
use self::provider::{Outcome, PushProvider};
use crate::realtime::Hub;
use crate::store::push::PushJob;
use crate::store::{Store, StoreError};

/// How the server reaches the push services (server flags, see server/README.md).
#[derive(Debug, Clone)]
pub struct PushSettings {
    /// FCM HTTP v1 base URL.
    pub fcm_url: String,
    /// Replaces the service accounts' `token_uri`.
    pub fcm_oauth_url: Option<String>,
    /// Replaces the APNs hosts of both environments.
    pub apns_url: Option<String>,
    /// PEM certificates trusted in addition to the system's, for the provider URLs (a proxy's or a test CA).
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Attempts per push before giving up (429, 5xx, network errors).
    pub max_attempts: u32,
    /// First retry delay; doubled at each attempt, at most 10 minutes.
    pub backoff_base: Duration,
}

impl Default for PushSettings {
    fn default() -> Self {
        Self {
            fcm_url: fcm::DEFAULT_BASE_URL.into(),
            fcm_oauth_url: None,
            apns_url: None,
            extra_ca_pem: None,
            max_attempts: 5,
            backoff_base: Duration::from_secs(2),
        }
    }
}

/// Jobs read per round; they are sent concurrently.
const BATCH: u32 = 128;
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// The delay before attempt `attempts + 1` (attempts made so far: 1, 2, …), unless the provider named one.
pub fn backoff(settings: &PushSettings, attempts: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(after) = retry_after {
        return after.min(MAX_BACKOFF);
    }
    let factor = 1u32.checked_shl(attempts.saturating_sub(1)).unwrap_or(u32::MAX);
    settings.backoff_base.saturating_mul(factor).min(MAX_BACKOFF)
}

fn clients(settings: &PushSettings) -> Result<(reqwest::Client, reqwest::Client), String> {
    // reqwest is built without a default crypto provider (the workspace picks ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut certs = Vec::new();
    if let Some(pem) = &settings.extra_ca_pem {
        certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| format!("push CA file: {e}"))?;
    }
    let build = |h2_only: bool| {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .tls_certs_merge(certs.clone());
        if h2_only {
            b = b.http2_prior_knowledge();
        }
        b.build().map_err(|e| format!("push HTTP client: {e}"))
    };
    Ok((build(false)?, build(true)?))
}

/// The running worker's handle.
#[derive(Clone)]
pub struct PushWorker {
    wake: Arc<Notify>,
}

impl PushWorker {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Starts the worker on the current runtime; it resumes whatever a previous run left in the queue.
pub fn start(store: Arc<dyn Store>, hub: Hub, settings: PushSettings) -> Result<PushWorker, String> {
    let (http, http2) = clients(&settings)?;
    let fcm: Arc<dyn PushProvider> = Arc::new(fcm::Fcm::new(http, &settings.fcm_url, settings.fcm_oauth_url.clone()));
    let apns: Arc<dyn PushProvider> = Arc::new(apns::Apns::new(http2, settings.apns_url.clone()));
    let wake = Arc::new(Notify::new());
    let listener_wake = Arc::clone(&wake);
    store.set_push_listener(Arc::new(move || listener_wake.notify_one()));
    let worker = Worker { store, hub, settings, fcm, apns, wake: Arc::clone(&wake) };
    tokio::spawn(worker.run());
    Ok(PushWorker { wake })
}

struct Worker {
    store: Arc<dyn Store>,
    hub: Hub,
    settings: PushSettings,
    fcm: Arc<dyn PushProvider>,
    apns: Arc<dyn PushProvider>,
    wake: Arc<Notify>,
}

impl Worker {
    async fn db<R: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || f(store.as_ref()))
            .await
            .unwrap_or_else(|e| Err(StoreError::Backend(format!("push store task failed: {e}"))))
    }

    async fn run(self) {
        loop {
            let now = crate::clock::system_now_ms();
            let jobs = match self.db(move |s| s.due_push_jobs(now, BATCH)).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "push queue unreadable; trying again in 1 s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if jobs.is_empty() {
                let next = self.db(|s| s.next_push_due()).await.ok().flatten();
                match next {
                    Some(at) => {
                        let wait = Duration::from_millis(u64::try_from(at - now).unwrap_or(0).max(1));
                        let _ = tokio::time::timeout(wait, self.wake.notified()).await;
                    }
                    None => self.wake.notified().await,
                }
                continue;
            }
            futures_util::future::join_all(jobs.into_iter().map(|job| self.deliver(job))).await;
        }
    }

    async fn deliver(&self, job: PushJob) {
        let id = job.id;
        let done = self.attempt(&job).await;
        let write = match done {
            Some(due_at) => self.db(move |s| s.retry_push_job(id, due_at)).await,
            None => self.db(move |s| s.finish_push_job(id)).await,
        };
        if let Err(e) = write {
            tracing::warn!(job = id, error = %e, "push queue not updated; the push may be sent again");
        }
    }

    /// One attempt; `Some(due_at)` to try again then, `None` when the job is done (sent, skipped, given up).
    async fn attempt(&self, job: &PushJob) -> Option<i64> {
        if self.hub.is_live(&job.visitor_id) {
            tracing::debug!(job = job.id, "visitor is live; push skipped");
            return None;
        }
        let (app_id, conv, seq) = (job.app_id.clone(), job.conversation_id.clone(), job.seq);
        let read = self.db(move |s| Ok((s.push_credentials(&app_id)?, s.push_content(&conv, seq)?))).await;
        let (credentials, content) = match read {
            Ok((Some(c), Some(m))) => (c, m),
            Ok(_) => return None, // Push turned off, or the message is gone.
            Err(e) => {
                tracing::warn!(job = job.id, error = %e, "push not read; retrying");
                return Some(crate::clock::system_now_ms() + 1000);
            }
        };
        let push = Push::new(&job.conversation_id, job.seq, content, credentials.previews);
        let provider = match job.platform {
            PushPlatform::Fcm => &self.fcm,
            PushPlatform::Apns => &self.apns,
        };
        let platform = match job.platform {
            PushPlatform::Fcm => "fcm",
            PushPlatform::Apns => "apns",
        };
        match provider.send(&credentials, &job.token, &push).await {
            Outcome::Sent => {
                tracing::debug!(job = job.id, platform, "push sent");
                None
            }
            Outcome::DeadToken => {
                tracing::info!(job = job.id, platform, "push token no longer valid; removed");
                let (platform, token) = (job.platform, job.token.clone());
                if let Err(e) = self.db(move |s| s.drop_push_token(platform, &token)).await {
                    tracing::warn!(error = %e, "dead push token not removed");
                }
                None
            }
            Outcome::Retry { after, reason } => {
                let attempts = job.attempts + 1;
                if attempts >= self.settings.max_attempts {
                    tracing::warn!(job = job.id, platform, attempts, %reason, "push given up");
                    return None;
                }
                let delay = backoff(&self.settings, attempts, after);
                tracing::info!(job = job.id, platform, attempts, %reason, delay_ms = delay.as_millis() as u64, "push retry");
                Some(crate::clock::system_now_ms() + i64::try_from(delay.as_millis()).unwrap_or(i64::MAX))
            }
            Outcome::Failed(reason) => {
                tracing::warn!(job = job.id, platform, %reason, "push failed");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap_and_honours_retry_after() {
        let s = PushSettings { backoff_base: Duration::from_secs(2), ..PushSettings::default() };
        assert_eq!(backoff(&s, 1, None), Duration::from_secs(2));
        assert_eq!(backoff(&s, 3, None), Duration::from_secs(8));
        assert_eq!(backoff(&s, 40, None), MAX_BACKOFF);
        assert_eq!(backoff(&s, 1, Some(Duration::from_secs(7))), Duration::from_secs(7));
    }
}
