//! What the sync tasks share: the event hub, the send queue, the connection state, the live socket link (outgoing
//! frames + ack waiters), the registry of sender tasks and the switches `pause()`/`resume()` flip.
//!
//! Lives in `ClientInner` behind an `Arc`; background tasks hold this `Arc` (cheap, does not keep the client alive)
//! plus a `Weak<ClientInner>` they upgrade only for the duration of one step.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot, watch, Notify};

use chatflow_protocol::{ClientFrame, ErrorBody, Message};

use crate::error::{Error, Result};
use crate::events::{ChatEvent, ConnectionState, EventHub, UnreadCount};
use crate::store::Store;
use crate::sync::lifecycle::Lifecycle;
use crate::sync::queue::Lane;
use crate::sync::send_queue::SendQueue;
use crate::sync::tables::conversations;
use crate::sync::typing::Typing;
use crate::transport::backoff::Backoff;

/// The server's answer to a `send` frame.
#[derive(Debug)]
// One short-lived value per send on its way back from the socket: boxing the message would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum AckOutcome {
    Ack(Message),
    Nack(ErrorBody),
}

/// The socket while it is online: where to put outgoing frames and who waits for which ack.
#[derive(Debug, Clone)]
pub(crate) struct Link {
    pub frames: mpsc::UnboundedSender<ClientFrame>,
    pub acks: Arc<Mutex<HashMap<String, oneshot::Sender<AckOutcome>>>>,
}

#[derive(Debug)]
pub(crate) struct SyncState {
    pub(super) events: EventHub,
    pub(super) queue: SendQueue,
    connection: watch::Sender<ConnectionState>,
    /// `pause()` sets it: no socket, no sends.
    paused: watch::Sender<bool>,
    /// Background tasks started (on first use).
    started: AtomicBool,
    /// Wakes the connection manager (resume, a send kicked while waiting to retry).
    pub(super) wake_connection: Notify,
    /// A send over the socket was not acknowledged in time: the connection manager drops the socket.
    pub(super) suspect: Notify,
    /// The server's certificate was refused on the last send attempt: senders stop poking each other until
    /// `resume()` clears it (so does any send attempt that ends otherwise).
    pub(super) untrusted: AtomicBool,
    link: Mutex<Option<Link>>,
    /// Running sender tasks, by lane, with the notifier that wakes each.
    lanes: Mutex<HashMap<Lane, Arc<Notify>>>,
    /// Conversations with a catch-up running.
    catching_up: Mutex<HashSet<String>>,
    pub(super) typing: Typing,
    /// Background / foreground generations (`lifecycle`).
    pub(super) lifecycle: Lifecycle,
}

impl SyncState {
    pub fn new(store: Arc<Store>) -> SyncState {
        SyncState {
            events: EventHub::new(),
            queue: SendQueue::new(store, Backoff::SEND),
            connection: watch::Sender::new(ConnectionState::Offline),
            paused: watch::Sender::new(false),
            started: AtomicBool::new(false),
            wake_connection: Notify::new(),
            suspect: Notify::new(),
            untrusted: AtomicBool::new(false),
            link: Mutex::new(None),
            lanes: Mutex::new(HashMap::new()),
            catching_up: Mutex::new(HashSet::new()),
            typing: Typing::default(),
            lifecycle: Lifecycle::default(),
        }
    }

    /// Tells every subscriber (the app's listeners, the observed states).
    pub fn emit(&self, event: ChatEvent) {
        self.events.emit(event);
    }

    /// A new subscription to the events, from now on.
    pub fn event_receiver(&self) -> tokio::sync::broadcast::Receiver<ChatEvent> {
        self.events.receiver()
    }

    /// Shows the queue's live state (sending, wedged) on messages read from the store.
    pub fn overlay_pending(&self, messages: &mut [crate::model::ChatMessage]) {
        self.queue.overlay(messages);
    }

    /// Who of the team is typing in `conversation_id` now.
    pub fn typing_in(&self, conversation_id: &str) -> Vec<chatflow_protocol::TypingAuthor> {
        self.typing.typing_in(conversation_id)
    }

    /// Records the new declaration of a message's file (its copy was hashed again).
    pub fn replace_upload(
        &self,
        client_message_id: &str,
        index: usize,
        upload: &crate::attachments::PendingUpload,
    ) -> Result<()> {
        self.queue.replace_upload(client_message_id, index, upload)
    }

    /// Tests of the capabilities built on messaging (the observed states, attachments) drive its parts directly.
    #[cfg(test)]
    pub(crate) fn parts(&self) -> (&EventHub, &SendQueue, &Typing) {
        (&self.events, &self.queue, &self.typing)
    }

    pub fn store(&self) -> &Arc<Store> {
        self.queue.store()
    }

    /// Marks the background tasks started; true for the one caller that must start them.
    pub fn claim_start(&self) -> bool {
        !self.started.swap(true, Ordering::SeqCst)
    }

    /// Whether background sync runs (started by `subscribe`, `resume`, a send or an observer).
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    pub fn connection_state(&self) -> ConnectionState {
        *self.connection.borrow()
    }

    pub fn set_connection_state(&self, state: ConnectionState) {
        if self.connection.send_if_modified(|s| std::mem::replace(s, state) != state) {
            tracing::debug!(?state, "realtime connection");
            self.events.emit(ChatEvent::ConnectionChanged { state });
        }
    }

    pub fn watch_paused(&self) -> watch::Receiver<bool> {
        self.paused.subscribe()
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.send_if_modified(|p| std::mem::replace(p, paused) != paused);
    }

    pub fn link(&self) -> Option<Link> {
        self.link.lock().ok().and_then(|l| l.clone())
    }

    /// Installs (or, with `None`, removes) the live link. Removing it drops every ack waiter: their sends fail as
    /// recoverable and go again.
    pub fn set_link(&self, link: Option<Link>) {
        let old = self.link.lock().map(|mut l| std::mem::replace(&mut *l, link)).ok().flatten();
        if let Some(old) = old {
            if let Ok(mut acks) = old.acks.lock() {
                acks.clear();
            }
        }
    }

    /// Sends a frame if the socket is online; false otherwise.
    pub fn send_frame(&self, frame: ClientFrame) -> bool {
        self.link().is_some_and(|l| l.frames.send(frame).is_ok())
    }

    /// The notifier of `lane`'s task and whether the caller must spawn the task (none was running).
    pub fn lane_notifier(&self, lane: &Lane) -> Result<(Arc<Notify>, bool)> {
        let mut lanes = self.lanes.lock().map_err(|_| Error::poisoned())?;
        if let Some(n) = lanes.get(lane) {
            return Ok((n.clone(), false));
        }
        let n = Arc::new(Notify::new());
        lanes.insert(lane.clone(), n.clone());
        Ok((n, true))
    }

    /// Called by a lane task that found nothing to do. Under the registry lock, re-checks the queue (a send may have
    /// committed since) and unregisters only when the lane is still idle. True when the task may stop.
    pub fn lane_may_stop(&self, lane: &Lane, still_idle: impl FnOnce() -> bool) -> bool {
        let Ok(mut lanes) = self.lanes.lock() else { return true };
        if !still_idle() {
            return false;
        }
        lanes.remove(lane);
        true
    }

    /// Forgets a lane task that ended abnormally.
    pub fn lane_gone(&self, lane: &Lane) {
        if let Ok(mut lanes) = self.lanes.lock() {
            lanes.remove(lane);
        }
    }

    /// Wakes every running lane (after a reconnect, a consent delivery, a session renewal).
    pub fn wake_lanes(&self) {
        if let Ok(lanes) = self.lanes.lock() {
            for n in lanes.values() {
                n.notify_one();
            }
        }
    }

    /// Marks a catch-up of `conversation` as running; false when one already is.
    pub fn begin_catch_up(&self, conversation: &str) -> bool {
        self.catching_up.lock().map(|mut s| s.insert(conversation.to_owned())).unwrap_or(false)
    }

    pub fn end_catch_up(&self, conversation: &str) {
        if let Ok(mut s) = self.catching_up.lock() {
            s.remove(conversation);
        }
    }

    /// Current unread counts as an event.
    pub fn unread_event(&self) -> Result<ChatEvent> {
        let (counts, total) = self.store().read(conversations::unread_counts)?;
        Ok(ChatEvent::UnreadCountsChanged {
            counts: counts.into_iter().map(|(conversation_id, count)| UnreadCount { conversation_id, count }).collect(),
            total,
        })
    }

    /// Emits the unread counts (when anyone listens).
    pub fn emit_unread(&self) {
        if !self.events.has_subscribers() {
            return;
        }
        match self.unread_event() {
            Ok(e) => self.events.emit(e),
            Err(e) => tracing::warn!(error = %e, "unread counts unavailable"),
        }
    }

    /// The state a new subscription starts from: connection, pending sends, unread counts.
    pub fn replay(&self) -> Vec<ChatEvent> {
        let mut out = vec![ChatEvent::ConnectionChanged { state: self.connection_state() }];
        match self.queue.pending() {
            Ok(messages) => out.push(ChatEvent::PendingSends { messages }),
            Err(e) => tracing::warn!(error = %e, "pending sends unavailable for the replay"),
        }
        match self.unread_event() {
            Ok(e) => out.push(e),
            Err(e) => tracing::warn!(error = %e, "unread counts unavailable for the replay"),
        }
        out
    }
}
