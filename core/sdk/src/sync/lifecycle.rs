//! The app going to the background and coming back, decided here so both platforms behave the same.
//!
//! When the app leaves the screen the platform glue calls [`ChatClient::enter_background`] inside the little time
//! the OS grants (iOS `beginBackgroundTask`, Android's process lifecycle): the SDK sends what is queued at once
//! (skipping backoff waits), keeps the realtime socket for a grace period so a quick return to the app needs no
//! reconnect and catch-up, then closes it and stops retrying. [`ChatClient::resume`] (the app is back) cancels a
//! background that has not ended yet and reconnects otherwise. The returned [`BackgroundOutcome`] tells the glue
//! whether work is left for a later background job (Android WorkManager, iOS background processing).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::client::{ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::sync::state::SyncState;
use crate::sync::tables::outbox;

/// How long the background work may last and how long the socket stays open once the queue is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundPolicy {
    /// The socket stays open this long after the app left (a quick return needs no reconnect).
    pub grace: Duration,
    /// Sending stops this long after the app left, whatever is still queued (within iOS's ~30 s background time).
    pub flush_deadline: Duration,
}

impl Default for BackgroundPolicy {
    fn default() -> Self {
        BackgroundPolicy { grace: Duration::from_secs(10), flush_deadline: Duration::from_secs(25) }
    }
}

impl BackgroundPolicy {
    /// A policy whose grace fits inside its deadline.
    pub fn new(grace: Duration, flush_deadline: Duration) -> Result<BackgroundPolicy> {
        if grace > flush_deadline {
            return Err(Error::InvalidInput {
                field: "grace",
                message: format!(
                    "the background grace ({} ms) must not exceed the flush deadline ({} ms)",
                    grace.as_millis(),
                    flush_deadline.as_millis()
                ),
            });
        }
        Ok(BackgroundPolicy { grace, flush_deadline })
    }
}

/// What the background work ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackgroundOutcome {
    /// Entries (messages, consent records) still queued when the work ended: worth a later background job.
    pub still_queued: i32,
    /// The app came back (`resume`) or went to the background again before the work ended: the socket was left to
    /// that newer call.
    pub interrupted: bool,
}

/// The next step of a background period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Look again after at most this long (the queue may empty sooner).
    Wait(Duration),
    /// Close the socket and stop sending until the app is back.
    Close,
}

/// The rule: flush until the queue is empty or the deadline passes; with an empty queue keep the socket until the
/// grace period has passed.
pub(crate) fn decide(elapsed: Duration, still_queued: i32, policy: &BackgroundPolicy) -> Decision {
    if elapsed >= policy.flush_deadline {
        return Decision::Close;
    }
    if still_queued > 0 {
        return Decision::Wait(policy.flush_deadline - elapsed);
    }
    match policy.grace.checked_sub(elapsed) {
        Some(left) if !left.is_zero() => Decision::Wait(left),
        _ => Decision::Close,
    }
}

/// How often a background period looks at the queue while it is not empty (a store read; only for a few seconds).
const QUEUE_POLL: Duration = Duration::from_millis(200);

/// Which background period, if any, may still close the socket: every lifecycle change starts a new generation, and
/// only the period of the current one closes it (under the same lock as the change, so a `resume` that races the
/// close always wins).
#[derive(Debug, Default)]
pub(crate) struct Lifecycle {
    generation: Mutex<u64>,
    changed: Notify,
}

impl Lifecycle {
    /// Starts a new generation with sync running; returns it.
    fn begin(&self, sync: &SyncState) -> Result<u64> {
        let mut g = self.generation.lock().map_err(|_| Error::poisoned())?;
        *g += 1;
        sync.set_paused(false);
        self.changed.notify_waiters();
        Ok(*g)
    }

    /// The app is in the foreground: no background period may close the socket any more.
    pub(crate) fn foreground(&self, sync: &SyncState) -> Result<()> {
        self.begin(sync).map(|_| ())
    }

    fn is_current(&self, generation: u64) -> bool {
        self.generation.lock().map(|g| *g == generation).unwrap_or(false)
    }

    /// Pauses sync if `generation` is still the current one; false when a newer change won.
    fn close_if_current(&self, generation: u64, sync: &SyncState) -> bool {
        let Ok(g) = self.generation.lock() else { return false };
        if *g != generation {
            return false;
        }
        sync.set_paused(true);
        true
    }
}

impl ChatClient {
    /// The app went to the background: sends what is queued now, keeps the socket for [`BackgroundPolicy::grace`],
    /// then closes it and stops retrying until [`ChatClient::resume`]. Resolves when that is done (call it inside
    /// the background time the OS grants and end that time when it resolves).
    pub async fn enter_background(&self) -> Result<BackgroundOutcome> {
        self.enter_background_with(BackgroundPolicy::default()).await
    }

    /// [`ChatClient::enter_background`] with other durations.
    pub async fn enter_background_with(&self, policy: BackgroundPolicy) -> Result<BackgroundOutcome> {
        BackgroundPolicy::new(policy.grace, policy.flush_deadline)?;
        let generation = self.inner.messaging().lifecycle.begin(self.inner.messaging())?;
        let started = Instant::now();
        self.run(move |inner| background(inner, generation, started, policy)).await
    }
}

async fn background(
    inner: Arc<ClientInner>,
    generation: u64,
    started: Instant,
    policy: BackgroundPolicy,
) -> Result<BackgroundOutcome> {
    let sync = inner.messaging().clone();
    // Send now: wake the connection and every lane out of their backoff waits, as on resume.
    crate::sync::connection::start(&inner)?;
    sync.wake_connection.notify_one();
    crate::sync::sender::resume_all(&inner)?;
    loop {
        let changed = sync.lifecycle.changed.notified();
        let still_queued = queued(&sync)?;
        if !sync.lifecycle.is_current(generation) {
            return Ok(BackgroundOutcome { still_queued, interrupted: true });
        }
        match decide(started.elapsed(), still_queued, &policy) {
            Decision::Close => {
                let closed = sync.lifecycle.close_if_current(generation, &sync);
                tracing::debug!(still_queued, closed, "background period ended");
                return Ok(BackgroundOutcome { still_queued, interrupted: !closed });
            }
            Decision::Wait(left) => {
                let nap = if still_queued > 0 { left.min(QUEUE_POLL) } else { left };
                tokio::select! {
                    _ = tokio::time::sleep(nap) => {}
                    _ = changed => {}
                }
            }
        }
    }
}

fn queued(sync: &SyncState) -> Result<i32> {
    sync.store().read(|c| outbox::count(c, "queued")).map(crate::model::count)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn policy() -> BackgroundPolicy {
        BackgroundPolicy::new(S(10), S(25)).unwrap()
    }

    #[test]
    fn an_empty_queue_keeps_the_socket_for_the_grace_period_then_closes() {
        assert_eq!(decide(S(0), 0, &policy()), Decision::Wait(S(10)));
        assert_eq!(decide(S(4), 0, &policy()), Decision::Wait(S(6)));
        assert_eq!(decide(S(10), 0, &policy()), Decision::Close);
        assert_eq!(decide(S(11), 0, &policy()), Decision::Close);
    }

    #[test]
    fn queued_work_keeps_sending_past_the_grace_until_the_deadline() {
        assert_eq!(decide(S(0), 3, &policy()), Decision::Wait(S(25)));
        assert_eq!(decide(S(12), 1, &policy()), Decision::Wait(S(13)));
        assert_eq!(decide(S(25), 1, &policy()), Decision::Close);
        // Once it empties after the grace, it closes at the next look.
        assert_eq!(decide(S(12), 0, &policy()), Decision::Close);
    }

    #[test]
    fn a_zero_policy_closes_at_once() {
        let now = BackgroundPolicy::new(Duration::ZERO, Duration::ZERO).unwrap();
        assert_eq!(decide(Duration::ZERO, 0, &now), Decision::Close);
        assert_eq!(decide(Duration::ZERO, 5, &now), Decision::Close);
    }

    #[test]
    fn a_grace_longer_than_the_deadline_is_refused() {
        let err = BackgroundPolicy::new(S(30), S(25)).unwrap_err();
        assert!(err.to_string().contains("must not exceed the flush deadline"), "{err}");
    }

    #[test]
    fn only_the_current_generation_closes_and_a_resume_wins_the_race() {
        let dir = tempfile::tempdir().unwrap();
        let sync = SyncState::new(Arc::new(crate::store::Store::open(dir.path()).unwrap()));
        let first = sync.lifecycle.begin(&sync).unwrap();
        sync.lifecycle.foreground(&sync).unwrap();
        assert!(!sync.lifecycle.close_if_current(first, &sync), "the app came back: the old period must not close");
        assert!(!*sync.watch_paused().borrow());
        let second = sync.lifecycle.begin(&sync).unwrap();
        assert!(sync.lifecycle.close_if_current(second, &sync));
        assert!(*sync.watch_paused().borrow());
        sync.lifecycle.foreground(&sync).unwrap();
        assert!(!*sync.watch_paused().borrow(), "resume reopens");
    }
}
