//! The observer tasks: each keeps the last state it delivered, and after every batch of relevant events reads the
//! state again and delivers only what changed. Memory stays bounded: events wait in the hub's bounded channel, and an
//! observer that fell behind (its listener was slow) gets one fresh snapshot instead of the backlog.

use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::Arc;

use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, Notify};

use crate::client::now_ms;
use crate::events::ChatEvent;
use crate::state::model::{ConversationListState, ConversationListUpdate, ConversationState, ConversationUpdate};
use crate::state::read;
use crate::sync::state::SyncState;

/// What a conversation screen implements to follow a conversation. Runs on the SDK's threads: hand the update to
/// the UI thread and return quickly.
pub trait ConversationListener: Send + Sync {
    fn on_update(&self, update: ConversationUpdate);
}

impl<F: Fn(ConversationUpdate) + Send + Sync> ConversationListener for F {
    fn on_update(&self, update: ConversationUpdate) {
        self(update)
    }
}

/// What a conversation list implements to follow the list.
pub trait ConversationListListener: Send + Sync {
    fn on_update(&self, update: ConversationListUpdate);
}

impl<F: Fn(ConversationListUpdate) + Send + Sync> ConversationListListener for F {
    fn on_update(&self, update: ConversationListUpdate) {
        self(update)
    }
}

/// Does `event` change what a conversation state shows?
fn touches_conversation(event: &ChatEvent, id: &str) -> bool {
    match event {
        ChatEvent::MessagesChanged { conversation_id, .. }
        | ChatEvent::SendStateChanged { conversation_id, .. }
        | ChatEvent::MessageDeleted { conversation_id, .. }
        | ChatEvent::Typing { conversation_id, .. }
        | ChatEvent::ReadMarker { conversation_id, .. }
        | ChatEvent::ConversationStatusChanged { conversation_id, .. }
        | ChatEvent::CaughtUp { conversation_id, .. } => conversation_id == id,
        ChatEvent::ConversationChanged { conversation } => conversation.id == id,
        ChatEvent::ConnectionChanged { .. } | ChatEvent::UnreadCountsChanged { .. } | ChatEvent::Resync => true,
        ChatEvent::PendingSends { .. } | ChatEvent::UploadProgress { .. } => false,
    }
}

/// Does `event` change what the conversation list shows?
fn touches_list(event: &ChatEvent) -> bool {
    !matches!(
        event,
        ChatEvent::Typing { .. }
            | ChatEvent::ConnectionChanged { .. }
            | ChatEvent::UploadProgress { .. }
            | ChatEvent::PendingSends { .. }
    )
}

/// One observed state: which events touch it, and how to read it again and tell the listener.
pub(crate) trait Observed: Send + Sync {
    /// Delivers the state read when observing started, as the first snapshot.
    fn first(&mut self);
    fn touched_by(&self, event: &ChatEvent) -> bool;
    /// Reads the state again and delivers it: whole after missed events, else what changed. False when the state
    /// is gone for good (its conversation was removed).
    fn refresh(&mut self, lagged: bool) -> bool;
}

/// Follows one observed state until the hub closes, the state is gone or the task is aborted. One task shape for
/// every kind of state: the library carries one copy of this loop.
pub(crate) async fn follow(mut observed: Box<dyn Observed>, mut rx: broadcast::Receiver<ChatEvent>, wake: Arc<Notify>) {
    observed.first();
    while let Some(lagged) = next_batch(&mut rx, &wake, observed.as_ref()).await {
        if !observed.refresh(lagged) {
            return;
        }
    }
}

/// Waits for the next relevant event (or a wake-up), then takes every event already waiting: one read per batch.
/// Returns `None` when the hub is gone, else whether events were missed.
async fn next_batch(rx: &mut broadcast::Receiver<ChatEvent>, wake: &Notify, observed: &dyn Observed) -> Option<bool> {
    let mut lagged = false;
    loop {
        tokio::select! {
            received = rx.recv() => match received {
                Ok(event) if observed.touched_by(&event) => break,
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => {
                    lagged = true;
                    break;
                }
                Err(RecvError::Closed) => return None,
            },
            _ = wake.notified() => break,
        }
    }
    loop {
        match rx.try_recv() {
            Ok(_) => {}
            Err(TryRecvError::Lagged(_)) => lagged = true,
            Err(TryRecvError::Empty) => return Some(lagged),
            Err(TryRecvError::Closed) => return None,
        }
    }
}

/// Shared between a conversation observer's task and its handle.
#[derive(Debug)]
pub(crate) struct WindowControl {
    /// How many of the latest messages the state holds.
    pub limit: AtomicU32,
    /// The `seq` of the first confirmed message of the last state (0: none), where earlier pages start.
    pub first_seq: AtomicI64,
    pub wake: Arc<Notify>,
}

impl WindowControl {
    pub fn new(limit: u32) -> WindowControl {
        WindowControl { limit: AtomicU32::new(limit), first_seq: AtomicI64::new(0), wake: Arc::new(Notify::new()) }
    }

    fn note(&self, state: &ConversationState) {
        let first = state.messages.iter().find_map(|m| m.message.seq).unwrap_or(0);
        self.first_seq.store(first, Ordering::Relaxed);
    }
}

/// A conversation's state as one listener last received it.
pub(crate) struct ConversationFeed {
    sync: Arc<SyncState>,
    conversation_id: String,
    control: Arc<WindowControl>,
    listener: Arc<dyn ConversationListener>,
    current: ConversationState,
}

impl ConversationFeed {
    /// `current`: the state read after subscribing to the events.
    pub fn boxed(
        sync: Arc<SyncState>,
        conversation_id: String,
        control: Arc<WindowControl>,
        listener: Arc<dyn ConversationListener>,
        current: ConversationState,
    ) -> Box<dyn Observed> {
        Box::new(ConversationFeed { sync, conversation_id, control, listener, current })
    }
}

impl Observed for ConversationFeed {
    fn first(&mut self) {
        self.control.note(&self.current);
        self.listener.on_update(ConversationUpdate::Snapshot { state: self.current.clone() });
    }

    fn touched_by(&self, event: &ChatEvent) -> bool {
        touches_conversation(event, &self.conversation_id)
    }

    fn refresh(&mut self, lagged: bool) -> bool {
        let limit = self.control.limit.load(Ordering::Relaxed);
        let next = match read::conversation_state(&self.sync, &self.conversation_id, limit, now_ms()) {
            Ok(Some(next)) => next,
            // Removed (the user's data was cleared): nothing more to show.
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(error = %e, "conversation state unavailable; the next change tries again");
                return true;
            }
        };
        self.control.note(&next);
        if lagged {
            self.listener.on_update(ConversationUpdate::Snapshot { state: next.clone() });
        } else if let Some(update) = self.current.diff(&next) {
            self.listener.on_update(update);
        }
        self.current = next;
        true
    }
}

/// The conversation list as one listener last received it.
pub(crate) struct ListFeed {
    sync: Arc<SyncState>,
    listener: Arc<dyn ConversationListListener>,
    current: ConversationListState,
}

impl ListFeed {
    pub fn boxed(
        sync: Arc<SyncState>,
        listener: Arc<dyn ConversationListListener>,
        current: ConversationListState,
    ) -> Box<dyn Observed> {
        Box::new(ListFeed { sync, listener, current })
    }
}

impl Observed for ListFeed {
    fn first(&mut self) {
        self.listener.on_update(ConversationListUpdate::Snapshot { state: self.current.clone() });
    }

    fn touched_by(&self, event: &ChatEvent) -> bool {
        touches_list(event)
    }

    fn refresh(&mut self, lagged: bool) -> bool {
        let next = match read::list_state(&self.sync) {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = %e, "conversation list unavailable; the next change tries again");
                return true;
            }
        };
        if lagged {
            self.listener.on_update(ConversationListUpdate::Snapshot { state: next.clone() });
        } else if let Some(update) = self.current.diff(&next) {
            self.listener.on_update(update);
        }
        self.current = next;
        true
    }
}
