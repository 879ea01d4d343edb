//! The in-process side of the agents' feed: after a commit that wrote events for an app, every feed socket of that app
//! is woken (a `watch` of the newest event id: it never fills up, a socket reads the log at its own pace). Frames that
//! are never logged (visitor typing, agent presence) go to each socket's bounded queue; a full queue ends that socket,
//! which closes with 1013 and resumes from its cursor.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::{mpsc, watch};

use super::FeedFrame;
use crate::cluster::{Bus, Event};
use crate::store::Store;

struct LiveSub {
    id: u64,
    tx: mpsc::Sender<Utf8Bytes>,
    overflow: Arc<AtomicBool>,
}

struct AppFeed {
    wake: watch::Sender<i64>,
    live: Vec<LiveSub>,
}

struct Inner {
    apps: Mutex<HashMap<String, AppFeed>>,
    next_id: AtomicU64,
    capacity: usize,
    /// Other server processes on the same database (PostgreSQL): their feed sockets are woken too.
    bus: OnceLock<Bus>,
}

#[derive(Clone)]
pub struct FeedHub {
    inner: Arc<Inner>,
}

/// The maps stay consistent on every path (no panics between related updates), so a poisoned lock is safe.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A feed socket's end of the hub; dropping it unsubscribes.
pub struct FeedSubscription {
    hub: FeedHub,
    app_id: String,
    id: u64,
    /// Changes when the app's log grows.
    pub wake: watch::Receiver<i64>,
    /// Live-only frames, already serialized.
    pub live: mpsc::Receiver<Utf8Bytes>,
    overflow: Arc<AtomicBool>,
}

impl FeedSubscription {
    /// The live queue overflowed: the client reads too slowly.
    pub fn overflowed(&self) -> bool {
        self.overflow.load(Ordering::Acquire)
    }
}

impl Drop for FeedSubscription {
    fn drop(&mut self) {
        let mut apps = lock(&self.hub.inner.apps);
        if let Some(app) = apps.get_mut(&self.app_id) {
            app.live.retain(|s| s.id != self.id);
            if app.live.is_empty() {
                apps.remove(&self.app_id);
            }
        }
    }
}

impl FeedHub {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Inner {
                apps: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                capacity,
                bus: OnceLock::new(),
            }),
        }
    }

    /// From now on, commits and live frames are also published for the other processes (`crate::cluster`).
    pub fn attach_bus(&self, bus: Bus) {
        let _ = self.inner.bus.set(bus);
    }

    fn to_other_nodes(&self, event: impl FnOnce() -> Event) {
        if let Some(bus) = self.inner.bus.get() {
            bus.send(event());
        }
    }

    /// Listens to the store's commits and sets the log's retention.
    pub fn attach(&self, store: &dyn Store, retention_events: u64) {
        let hub = self.clone();
        store.set_feed_retention(retention_events);
        store.set_feed_listener(Arc::new(move |apps, last| hub.committed(apps, last)));
    }

    pub fn subscribe(&self, app_id: &str) -> FeedSubscription {
        let (tx, live) = mpsc::channel(self.inner.capacity.max(1));
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let overflow = Arc::new(AtomicBool::new(false));
        let mut apps = lock(&self.inner.apps);
        let app =
            apps.entry(app_id.to_owned()).or_insert_with(|| AppFeed { wake: watch::Sender::new(0), live: Vec::new() });
        app.live.push(LiveSub { id, tx, overflow: Arc::clone(&overflow) });
        let wake = app.wake.subscribe();
        FeedSubscription { hub: self.clone(), app_id: app_id.to_owned(), id, wake, live, overflow }
    }

    /// The store committed events up to `last` for `apps`: wake their sockets, on every node.
    pub fn committed(&self, apps: &[String], last: i64) {
        self.committed_local(apps, last);
        self.to_other_nodes(|| Event::FeedCommitted { apps: apps.to_vec(), last });
    }

    /// Wakes this node's feed sockets of `apps`.
    pub fn committed_local(&self, apps: &[String], last: i64) {
        let map = lock(&self.inner.apps);
        for app in apps {
            if let Some(feed) = map.get(app) {
                feed.wake.send_replace(last);
            }
        }
    }

    /// Sends a live-only frame to every feed socket of the app, on every node. Never blocks.
    pub fn publish_live(&self, app_id: &str, frame: &FeedFrame) {
        self.publish_live_local(app_id, frame);
        self.to_other_nodes(|| Event::FeedLive { app_id: app_id.to_owned(), frame: frame.clone() });
    }

    /// Sends a live-only frame to this node's feed sockets of the app. Never blocks.
    pub fn publish_live_local(&self, app_id: &str, frame: &FeedFrame) {
        let json = match serde_json::to_string(frame) {
            Ok(j) => Utf8Bytes::from(j),
            Err(e) => {
                tracing::error!(error = %e, "feed frame does not serialize");
                return;
            }
        };
        let mut apps = lock(&self.inner.apps);
        let Some(app) = apps.get_mut(app_id) else { return };
        app.live.retain(|s| match s.tx.try_send(json.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(subscriber = s.id, "agent feed client too slow: queue full, disconnecting it");
                s.overflow.store(true, Ordering::Release);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
    }

    /// Feed sockets subscribed now (all apps).
    pub fn connection_count(&self) -> usize {
        lock(&self.inner.apps).values().map(|a| a.live.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(available: bool) -> FeedFrame {
        FeedFrame::Presence { agent_id: "ag".into(), available }
    }

    #[tokio::test]
    async fn wakes_and_live_frames_reach_only_the_apps_sockets() {
        let hub = FeedHub::new(4);
        let mut a = hub.subscribe("a");
        let mut b = hub.subscribe("b");
        hub.committed(&["a".to_owned()], 7);
        a.wake.changed().await.unwrap();
        assert_eq!(*a.wake.borrow(), 7);
        assert!(!b.wake.has_changed().unwrap());
        hub.publish_live("a", &presence(true));
        assert!(a.live.recv().await.unwrap().as_str().contains("\"presence\""));
        assert!(b.live.try_recv().is_err());
        drop(b);
        assert_eq!(hub.connection_count(), 1);
    }

    #[tokio::test]
    async fn a_full_live_queue_ends_that_socket_only() {
        let hub = FeedHub::new(1);
        let mut slow = hub.subscribe("a");
        let mut fast = hub.subscribe("a");
        hub.publish_live("a", &presence(true));
        assert!(fast.live.recv().await.is_some());
        hub.publish_live("a", &presence(false));
        assert!(slow.overflowed());
        assert!(slow.live.recv().await.is_some(), "what was queued is still delivered");
        assert!(slow.live.recv().await.is_none(), "then the queue ends");
        assert!(fast.live.recv().await.is_some());
    }
}
