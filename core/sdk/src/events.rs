//! Events the app subscribes to, and the subscription handle.
//!
//! [`EventHub`] fans events out (a bounded broadcast channel). A subscription first *replays the current state*
//! (connection state, pending sends, unread counts), then streams changes; if a slow listener falls behind, it gets
//! [`ChatEvent::Resync`] followed by a fresh replay instead of a silent gap. Events are coarse on purpose (one per
//! page of catch-up, not one per row) because each callback crosses the FFI.
//!
//! Listener methods run on the SDK's runtime: they should hand the event to the app's own thread and return quickly.

use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use chatflow_protocol::{ConversationStatus, Reader, TypingAuthor};

use crate::model::ChatConversation;
use crate::model::{ChatMessage, MessageState};

/// The realtime connection, as the app shows it ("connecting…", "offline").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Not connected and not trying: paused (app in background), no session yet, or the client is closed.
    Offline,
    Connecting,
    /// Connected and caught up: live frames flow.
    Online,
    /// The last try failed; the next one starts at `retry_at` (Unix ms) or when `resume()` is called.
    WaitingToRetry {
        retry_at: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadCount {
    pub conversation_id: String,
    pub count: i32,
}

/// Unread counts per conversation (those with none are left out) and their total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadCounts {
    pub counts: Vec<UnreadCount>,
    pub total: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatEvent {
    /// The connection state (replayed first, then on every change).
    ConnectionChanged { state: ConnectionState },
    /// Local echoes not yet confirmed by the server, in queue order (replayed on subscribe).
    PendingSends { messages: Vec<ChatMessage> },
    /// Messages of one conversation were added or changed: a new local echo, a confirmation, a page of catch-up,
    /// a live message. One event per batch.
    MessagesChanged { conversation_id: String, messages: Vec<ChatMessage> },
    /// A queued message changed state without other changes (queued → sending, or back after a failed try).
    SendStateChanged { conversation_id: String, client_message_id: String, state: MessageState },
    /// A queued message was deleted by the app.
    MessageDeleted { conversation_id: String, client_message_id: String },
    /// Unread counts (conversations with none are left out) and their total (replayed on subscribe).
    UnreadCountsChanged { counts: Vec<UnreadCount>, total: i32 },
    /// A conversation was opened, or its status, assignee or markers changed.
    ConversationChanged { conversation: ChatConversation },
    /// Someone in the conversation started or stopped typing (stops by itself after a few seconds).
    Typing { conversation_id: String, author: TypingAuthor, typing: bool },
    /// The team (or the visitor on another device) read up to `seq`.
    ReadMarker { conversation_id: String, reader: Reader, seq: i64 },
    /// The conversation was closed or reopened.
    ConversationStatusChanged { conversation_id: String, status: ConversationStatus },
    /// Catch-up of a conversation finished: every message up to `synced_seq` is stored.
    CaughtUp { conversation_id: String, synced_seq: i64, received: i32 },
    /// This listener fell behind and missed events: reload what is on screen; a replay follows.
    Resync,
    /// A queued message's files are uploading: `bytes_sent` of `total` (all its files). At most ~10 per second per
    /// message; the last one has `bytes_sent == total`. After a cut it may go back to the server's offset.
    UploadProgress { conversation_id: String, client_message_id: String, bytes_sent: i64, total: i64 },
}

/// What the app implements to receive events. `Send + Sync` for the FFI (foreign callbacks).
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: ChatEvent);
}

impl<F: Fn(ChatEvent) + Send + Sync> EventListener for F {
    fn on_event(&self, event: ChatEvent) {
        self(event)
    }
}

/// A running background job (an event subscription). `cancel()` or dropping the handle stops it.
#[derive(Debug)]
pub struct TaskHandle {
    abort: Mutex<Option<tokio::task::AbortHandle>>,
}

impl TaskHandle {
    pub(crate) fn new(abort: tokio::task::AbortHandle) -> TaskHandle {
        TaskHandle { abort: Mutex::new(Some(abort)) }
    }

    /// Stops the job; no callback starts after this returns (one already running finishes).
    pub fn cancel(&self) {
        if let Ok(mut slot) = self.abort.lock() {
            if let Some(handle) = slot.take() {
                handle.abort();
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        self.abort.lock().map(|slot| slot.as_ref().is_none_or(|h| h.is_finished())).unwrap_or(true)
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// How many events a subscription may fall behind before it is resynced.
const CAPACITY: usize = 1024;

/// Fans events out to subscriptions.
#[derive(Debug, Clone)]
pub struct EventHub {
    tx: broadcast::Sender<ChatEvent>,
}

impl Default for EventHub {
    fn default() -> Self {
        EventHub::new()
    }
}

impl EventHub {
    pub fn new() -> EventHub {
        EventHub { tx: broadcast::channel(CAPACITY).0 }
    }

    /// Sends to every current subscriber (nothing happens without one).
    pub fn emit(&self, event: ChatEvent) {
        let _ = self.tx.send(event);
    }

    /// A receiver of every event from now on (the state observers read their own snapshot after taking it).
    pub(crate) fn receiver(&self) -> broadcast::Receiver<ChatEvent> {
        self.tx.subscribe()
    }

    pub fn has_subscribers(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Starts a subscription on `runtime`: `replay()` (the current state) first, then every event. The receiver is
    /// registered before the replay is computed, so nothing that happens in between is lost (at worst seen twice).
    pub fn subscribe(
        &self,
        runtime: &tokio::runtime::Handle,
        listener: Arc<dyn EventListener>,
        replay: impl Fn() -> Vec<ChatEvent> + Send + 'static,
    ) -> TaskHandle {
        let mut rx = self.tx.subscribe();
        let task = runtime.spawn(async move {
            for event in replay() {
                listener.on_event(event);
            }
            loop {
                match rx.recv().await {
                    Ok(event) => listener.on_event(event),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        listener.on_event(ChatEvent::Resync);
                        for event in replay() {
                            listener.on_event(event);
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        TaskHandle::new(task.abort_handle())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn collector() -> (Arc<Mutex<Vec<ChatEvent>>>, Arc<dyn EventListener>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let listener: Arc<dyn EventListener> = Arc::new(move |e: ChatEvent| sink.lock().unwrap().push(e));
        (seen, listener)
    }

    async fn wait_for(seen: &Arc<Mutex<Vec<ChatEvent>>>, n: usize) {
        for _ in 0..200 {
            if seen.lock().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        panic!("only {:?}", seen.lock().unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn replays_first_then_streams_and_stops_on_drop() {
        let hub = EventHub::new();
        let (seen, listener) = collector();
        let handle = hub.subscribe(&tokio::runtime::Handle::current(), listener, || {
            vec![ChatEvent::ConnectionChanged { state: ConnectionState::Offline }]
        });
        wait_for(&seen, 1).await;
        hub.emit(ChatEvent::ConnectionChanged { state: ConnectionState::Connecting });
        wait_for(&seen, 2).await;
        assert_eq!(
            *seen.lock().unwrap(),
            vec![
                ChatEvent::ConnectionChanged { state: ConnectionState::Offline },
                ChatEvent::ConnectionChanged { state: ConnectionState::Connecting },
            ]
        );
        drop(handle);
        for _ in 0..200 {
            if !hub.has_subscribers() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(!hub.has_subscribers(), "the subscription outlived its handle");
        hub.emit(ChatEvent::Resync);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_lagging_listener_is_resynced() {
        let hub = EventHub::new();
        let (seen, listener) = collector();
        let gate = Arc::new(std::sync::Barrier::new(2));
        let g = gate.clone();
        let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let slow: Arc<dyn EventListener> = Arc::new(move |e: ChatEvent| {
            if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                g.wait();
            }
            listener.on_event(e)
        });
        let handle = hub.subscribe(&tokio::runtime::Handle::current(), slow, Vec::new);
        hub.emit(ChatEvent::Resync);
        // The listener is blocked on its first event while more than CAPACITY events pile up. (A blocking sleep: the
        // only worker, which drives the timers, is parked in the listener.)
        std::thread::sleep(Duration::from_millis(20));
        for seq in 0..(CAPACITY as i64 + 10) {
            hub.emit(ChatEvent::ReadMarker { conversation_id: "c".into(), reader: Reader::Agent, seq });
        }
        gate.wait();
        wait_for(&seen, 2).await;
        let seen = seen.lock().unwrap();
        assert_eq!(seen[1], ChatEvent::Resync, "{:?}", &seen[..3]);
        handle.cancel();
        assert!(seen.len() < CAPACITY + 12);
    }
}
