//! Observable state for chat screens: the conversation list and one conversation, each delivered as a snapshot
//! first and then as changes a UI applies without re-reading (see [`model`] for the records and the reducers).
//!
//! Each observer reads its state from what the SDK holds after every batch of events (the store, the send queue,
//! typing, the connection) and delivers the difference. Its memory is bounded: a listener that falls behind gets one
//! fresh snapshot. Messages keep one id (`MessageItem::id`, the local id) from local echo to server copy.

pub mod model;
mod observer;
mod read;

#[cfg(test)]
mod tests;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

pub use model::{
    ConversationDetails, ConversationListState, ConversationListUpdate, ConversationRow, ConversationState,
    ConversationUpdate, Delivery, LastMessage, MessageItem, PendingSurvey,
};
pub use observer::{ConversationListListener, ConversationListener};

use chatflow_protocol::limits::MAX_PAGE_SIZE;

use crate::client::{now_ms, ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::events::TaskHandle;
use crate::sync::connection;
use observer::WindowControl;

/// How many messages a conversation state holds at most, whatever `load_earlier` asks: a screen pages further back
/// with `ChatClient::messages`.
pub const MAX_WINDOW: u32 = 5_000;

/// A running conversation observer. Drop it (or `cancel()`) to stop the updates.
#[derive(Debug)]
pub struct ConversationObserver {
    task: TaskHandle,
    control: Arc<WindowControl>,
    conversation_id: String,
    client: Weak<ClientInner>,
}

impl ConversationObserver {
    /// Holds `more` older messages in the state (at most [`MAX_WINDOW`] in all), fetching them from the server
    /// when the device lacks them (offline: what the device has). Returns at once; the state's update follows.
    pub fn load_earlier(&self, more: i32) -> Result<()> {
        let inner = self.client.upgrade().ok_or(Error::Closed)?;
        let more = crate::model::page_size(more, MAX_PAGE_SIZE);
        let before = match self.control.first_seq.load(Ordering::Relaxed) {
            0 => None,
            seq => Some(crate::model::seq_arg(seq)),
        };
        let (id, control, fetch) = (self.conversation_id.clone(), self.control.clone(), inner.clone());
        inner.spawn(async move {
            if let Err(e) = crate::sync::fill_history(&fetch, &id, before, more).await {
                tracing::debug!(error = %e, "earlier messages not loaded; the state keeps what the device has");
            }
            let limit = control.limit.load(Ordering::Relaxed);
            control.limit.store(limit.saturating_add(more).min(MAX_WINDOW), Ordering::Relaxed);
            control.wake.notify_one();
        })?;
        Ok(())
    }

    pub fn cancel(&self) {
        self.task.cancel();
    }
}

impl ChatClient {
    /// Follows conversation `conversation_id` (opened or listed before): `listener` gets the state with its latest
    /// `limit` messages first (1..=500), then every change. Starts background sync if it is not running.
    pub fn observe_conversation(
        &self,
        conversation_id: &str,
        limit: i32,
        listener: Arc<dyn ConversationListener>,
    ) -> Result<ConversationObserver> {
        let limit = crate::model::page_size(limit, MAX_PAGE_SIZE);
        let sync = self.inner.messaging().clone();
        // Subscribed before reading: a change in between is seen (at worst twice), never missed.
        let rx = sync.event_receiver();
        let state = read::conversation_state(&sync, conversation_id, limit, now_ms())?.ok_or_else(|| {
            Error::NotFound { what: format!("conversation {conversation_id} (open it or refresh the list first)") }
        })?;
        let control = Arc::new(WindowControl::new(limit));
        let feed =
            observer::ConversationFeed::boxed(sync, conversation_id.to_owned(), control.clone(), listener, state);
        let task = self.inner.spawn(observer::follow(feed, rx, control.wake.clone()))?;
        connection::start(&self.inner)?;
        Ok(ConversationObserver {
            task: TaskHandle::new(task.abort_handle()),
            control,
            conversation_id: conversation_id.to_owned(),
            client: self.downgrade(),
        })
    }

    /// Follows the conversation list: `listener` gets every stored conversation as a row (newest activity first)
    /// with the unread total, then every change. Starts background sync if it is not running.
    pub fn observe_conversations(&self, listener: Arc<dyn ConversationListListener>) -> Result<TaskHandle> {
        let sync = self.inner.messaging().clone();
        let rx = sync.event_receiver();
        let state = read::list_state(&sync)?;
        let feed = observer::ListFeed::boxed(sync, listener, state);
        let task = self.inner.spawn(observer::follow(feed, rx, Arc::new(tokio::sync::Notify::new())))?;
        connection::start(&self.inner)?;
        Ok(TaskHandle::new(task.abort_handle()))
    }
}
