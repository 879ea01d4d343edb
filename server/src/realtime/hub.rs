//! The realtime hub: per-visitor subscriber lists and fan-out of server frames.
//!
//! Each socket owns a bounded channel. Publishing serializes a frame once and `try_send`s it to every socket of the
//! visitor: it never waits, so a slow client cannot hold up anyone else. A socket whose channel is full is dropped from
//! the hub; it drains what it already has, then closes with 1013 and the client catches up on reconnect (`resume`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ws::Utf8Bytes;
use chatflow_protocol::ServerFrame;
use tokio::sync::{mpsc, watch};

use crate::cluster::{Bus, Event as ClusterEvent};

/// One serialized frame, shared by every socket it goes to.
#[derive(Debug)]
pub struct Frame {
    /// `(conversation_id, seq)` for `message` frames: sockets drop ones they already delivered (after a resume).
    pub message: Option<(String, u64)>,
    pub json: Utf8Bytes,
}

pub type Event = Arc<Frame>;

/// Why the hub let go of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Still subscribed (or the socket ended on its own).
    None,
    /// The socket's queue overflowed: the client reads too slowly.
    Overflow,
    /// The visitor's session ended (identify merged it away, or the visitor was deleted).
    Kicked,
    /// The server is shutting down.
    Shutdown,
}

impl EndReason {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => EndReason::Overflow,
            2 => EndReason::Kicked,
            3 => EndReason::Shutdown,
            _ => EndReason::None,
        }
    }
}

struct Subscriber {
    id: u64,
    tx: mpsc::Sender<Event>,
    end: Arc<AtomicU8>,
}

struct Inner {
    subscribers: Mutex<HashMap<String, Vec<Subscriber>>>,
    next_id: AtomicU64,
    capacity: usize,
    shutdown: watch::Sender<bool>,
    /// conversation id -> until when its visitor counts as typing.
    visitor_typing: Mutex<HashMap<String, Instant>>,
    /// Socket tasks still running (shutdown waits for them to send their close frame).
    live_sockets: AtomicUsize,
    /// Other server processes on the same database (PostgreSQL): what this hub delivers, they deliver too.
    bus: OnceLock<Bus>,
}

/// Counts a running socket task for as long as it lives.
pub struct SocketGuard(Hub);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.inner.live_sockets.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

/// The guarded maps stay consistent on every path (no panics between related updates), so a poisoned lock is safe.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A socket's end of the hub. Dropping it unsubscribes.
pub struct Subscription {
    hub: Hub,
    visitor_id: String,
    id: u64,
    pub rx: mpsc::Receiver<Event>,
    end: Arc<AtomicU8>,
}

impl Subscription {
    pub fn end_reason(&self) -> EndReason {
        EndReason::from_u8(self.end.load(Ordering::Acquire))
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut subs = lock(&self.hub.inner.subscribers);
        if let Some(list) = subs.get_mut(&self.visitor_id) {
            list.retain(|s| s.id != self.id);
            if list.is_empty() {
                subs.remove(&self.visitor_id);
            }
        }
    }
}

impl Hub {
    pub fn new(capacity: usize) -> Self {
        let (shutdown, _) = watch::channel(false);
        Hub {
            inner: Arc::new(Inner {
                subscribers: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                capacity: capacity.max(1),
                shutdown,
                visitor_typing: Mutex::new(HashMap::new()),
                live_sockets: AtomicUsize::new(0),
                bus: OnceLock::new(),
            }),
        }
    }

    pub fn subscribe(&self, visitor_id: &str) -> Subscription {
        let (tx, rx) = mpsc::channel(self.inner.capacity);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let end = Arc::new(AtomicU8::new(0));
        lock(&self.inner.subscribers).entry(visitor_id.to_owned()).or_default().push(Subscriber {
            id,
            tx,
            end: Arc::clone(&end),
        });
        Subscription { hub: self.clone(), visitor_id: visitor_id.to_owned(), id, rx, end }
    }

    /// From now on, every event is also published for the other processes (`crate::cluster`).
    pub fn attach_bus(&self, bus: Bus) {
        let _ = self.inner.bus.set(bus);
    }

    fn to_other_nodes(&self, event: impl FnOnce() -> ClusterEvent) {
        if let Some(bus) = self.inner.bus.get() {
            bus.send(event());
        }
    }

    /// Sends `frame` to every socket of the visitor, on every node. Never blocks.
    pub fn publish(&self, visitor_id: &str, frame: &ServerFrame) {
        self.publish_local(visitor_id, frame);
        self.to_other_nodes(|| ClusterEvent::Visitor { visitor_id: visitor_id.to_owned(), frame: frame.clone() });
    }

    /// Sends `frame` to this node's sockets of the visitor. Never blocks.
    pub fn publish_local(&self, visitor_id: &str, frame: &ServerFrame) {
        let json = match serde_json::to_string(frame) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(error = %e, "server frame does not serialize");
                return;
            }
        };
        let message = match frame {
            ServerFrame::Message { message } => Some((message.conversation_id.clone(), message.seq)),
            _ => None,
        };
        let event = Arc::new(Frame { message, json: Utf8Bytes::from(json) });
        let mut subs = lock(&self.inner.subscribers);
        let Some(list) = subs.get_mut(visitor_id) else { return };
        list.retain(|s| match s.tx.try_send(Arc::clone(&event)) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(subscriber = s.id, "realtime client too slow: queue full, disconnecting it");
                s.end.store(1, Ordering::Release);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        });
        if list.is_empty() {
            subs.remove(visitor_id);
        }
    }

    /// Ends every socket of the visitor (its session is gone), on every node.
    pub fn kick(&self, visitor_id: &str) {
        self.kick_local(visitor_id);
        self.to_other_nodes(|| ClusterEvent::Kick { visitor_id: visitor_id.to_owned() });
    }

    /// Ends every socket of this node that may have missed events (the other nodes' events stopped arriving for a
    /// while): the clients reconnect and catch up from their cursors.
    pub fn resync_all(&self) {
        for list in lock(&self.inner.subscribers).drain().map(|(_, v)| v) {
            for s in list {
                s.end.store(1, Ordering::Release);
            }
        }
    }

    /// Ends this node's sockets of the visitor.
    pub fn kick_local(&self, visitor_id: &str) {
        if let Some(list) = lock(&self.inner.subscribers).remove(visitor_id) {
            for s in list {
                s.end.store(2, Ordering::Release);
            }
        }
    }

    /// Ends every socket: they send a 1001 close and stop.
    pub fn shutdown(&self) {
        let all: Vec<Subscriber> = lock(&self.inner.subscribers).drain().flat_map(|(_, v)| v).collect();
        for s in all {
            s.end.store(3, Ordering::Release);
        }
        self.inner.shutdown.send_replace(true);
    }

    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Registers a running socket task until the guard drops.
    pub fn socket_guard(&self) -> SocketGuard {
        self.inner.live_sockets.fetch_add(1, Ordering::AcqRel);
        SocketGuard(self.clone())
    }

    /// Socket tasks still running.
    pub fn live_sockets(&self) -> usize {
        self.inner.live_sockets.load(Ordering::Acquire)
    }

    /// Number of subscribed sockets (all visitors).
    pub fn connection_count(&self) -> usize {
        lock(&self.inner.subscribers).values().map(Vec::len).sum()
    }

    /// Records (or clears) the visitor's typing state on a conversation, on every node; it expires by itself.
    pub fn set_visitor_typing(&self, conversation_id: &str, typing: bool, ttl: Duration) {
        self.set_visitor_typing_local(conversation_id, typing, ttl);
        self.to_other_nodes(|| ClusterEvent::VisitorTyping {
            conversation_id: conversation_id.to_owned(),
            typing,
            ttl_ms: u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX),
        });
    }

    pub fn set_visitor_typing_local(&self, conversation_id: &str, typing: bool, ttl: Duration) {
        let mut map = lock(&self.inner.visitor_typing);
        let now = Instant::now();
        map.retain(|_, until| *until > now);
        if typing {
            map.insert(conversation_id.to_owned(), now + ttl);
        } else {
            map.remove(conversation_id);
        }
    }

    pub fn visitor_typing(&self, conversation_id: &str) -> bool {
        lock(&self.inner.visitor_typing).get(conversation_id).is_some_and(|until| *until > Instant::now())
    }

    /// The visitor has a live socket (it receives messages as they come: no push needed).
    pub fn is_live(&self, visitor_id: &str) -> bool {
        lock(&self.inner.subscribers).get(visitor_id).is_some_and(|list| list.iter().any(|s| !s.tx.is_closed()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pong(n: u64) -> ServerFrame {
        ServerFrame::Pong { nonce: n }
    }

    #[tokio::test]
    async fn publish_reaches_every_socket_of_the_visitor_only() {
        let hub = Hub::new(8);
        let mut a1 = hub.subscribe("a");
        let mut a2 = hub.subscribe("a");
        let mut b = hub.subscribe("b");
        hub.publish("a", &pong(1));
        assert_eq!(a1.rx.recv().await.unwrap().json.as_str(), r#"{"type":"pong","nonce":1}"#);
        assert!(a2.rx.recv().await.is_some());
        assert!(b.rx.try_recv().is_err());
        assert_eq!(hub.connection_count(), 3);
        drop(a2);
        assert_eq!(hub.connection_count(), 2);
    }

    #[tokio::test]
    async fn a_full_queue_drops_only_that_socket_which_still_drains_in_order() {
        let hub = Hub::new(2);
        let mut slow = hub.subscribe("a");
        let mut fast = hub.subscribe("a");
        for n in 0..3 {
            hub.publish("a", &pong(n));
            // The fast socket keeps up.
            assert!(fast.rx.recv().await.is_some());
        }
        assert_eq!(slow.end_reason(), EndReason::Overflow);
        assert!(slow.rx.recv().await.unwrap().json.as_str().contains("\"nonce\":0"));
        assert!(slow.rx.recv().await.unwrap().json.as_str().contains("\"nonce\":1"));
        assert!(slow.rx.recv().await.is_none(), "closed after draining");
        hub.publish("a", &pong(9));
        assert!(fast.rx.recv().await.is_some(), "others are unaffected");
    }

    #[tokio::test]
    async fn kick_and_shutdown_close_with_a_reason() {
        let hub = Hub::new(4);
        let mut a = hub.subscribe("a");
        let mut b = hub.subscribe("b");
        hub.kick("a");
        assert!(a.rx.recv().await.is_none());
        assert_eq!(a.end_reason(), EndReason::Kicked);
        let mut signal = hub.shutdown_signal();
        hub.shutdown();
        assert!(b.rx.recv().await.is_none());
        assert_eq!(b.end_reason(), EndReason::Shutdown);
        assert!(signal.changed().await.is_ok());
    }

    #[test]
    fn typing_expires() {
        let hub = Hub::new(1);
        hub.set_visitor_typing("c", true, Duration::from_secs(60));
        assert!(hub.visitor_typing("c"));
        hub.set_visitor_typing("c", false, Duration::from_secs(60));
        assert!(!hub.visitor_typing("c"));
        hub.set_visitor_typing("c", true, Duration::ZERO);
        assert!(!hub.visitor_typing("c"));
    }
}
