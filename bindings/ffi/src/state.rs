//! Observable state through the FFI: the listeners the facades implement and the observer handle. Forwarding only.
//! Plain `//` comments on purpose: apps use the Kotlin and Swift facades over these, and doc comments would be
//! carried into the library's binding metadata (every byte counts against the size gate).

use std::sync::Arc;

use chatflow_core::state as core;

use crate::callbacks::TaskHandle;
use crate::client::ChatClient;
use crate::error::ChatflowError;
use crate::types::state::{ConversationListUpdate, ConversationUpdate};

type Result<T, E = ChatflowError> = std::result::Result<T, E>;

// Receives a conversation's state: a snapshot first, then changes. Called on an SDK thread, in order. Implemented
// by the app's side only (a callback interface: Rust never hands one back).
#[uniffi::export(callback_interface)]
pub trait ConversationStateListener: Send + Sync {
    fn on_update(&self, update: ConversationUpdate) -> Result<()>;
}

// Receives the conversation list: a snapshot first, then changes. Called on an SDK thread, in order.
#[uniffi::export(callback_interface)]
pub trait ConversationListStateListener: Send + Sync {
    fn on_update(&self, update: ConversationListUpdate) -> Result<()>;
}

struct ConversationBridge(Box<dyn ConversationStateListener>);

impl core::ConversationListener for ConversationBridge {
    fn on_update(&self, update: ConversationUpdate) {
        if let Err(e) = self.0.on_update(update) {
            tracing::warn!(target: "chatflow_ffi", error = %e, "the app's state listener failed; update dropped");
        }
    }
}

struct ListBridge(Box<dyn ConversationListStateListener>);

impl core::ConversationListListener for ListBridge {
    fn on_update(&self, update: ConversationListUpdate) {
        if let Err(e) = self.0.on_update(update) {
            tracing::warn!(target: "chatflow_ffi", error = %e, "the app's list listener failed; update dropped");
        }
    }
}

// A running conversation observer: `cancel()` (or releasing it) stops the updates.
#[derive(Debug, uniffi::Object)]
pub struct ConversationObserver(core::ConversationObserver);

#[uniffi::export]
impl ConversationObserver {
    // Holds `count` more older messages in the state, fetching them when the device lacks them. Returns at once;
    // the state's update follows.
    pub fn load_earlier(&self, count: i32) -> Result<()> {
        Ok(self.0.load_earlier(count)?)
    }

    pub fn cancel(&self) {
        self.0.cancel();
    }
}

#[uniffi::export(name = "NativeChatClient")]
impl ChatClient {
    // Follows a conversation: its state with the latest `limit` messages first (1..=500), then every change.
    pub fn observe_conversation(
        &self,
        conversation_id: String,
        limit: i32,
        listener: Box<dyn ConversationStateListener>,
    ) -> Result<Arc<ConversationObserver>> {
        let observer =
            self.core.observe_conversation(&conversation_id, limit, Arc::new(ConversationBridge(listener)))?;
        Ok(Arc::new(ConversationObserver(observer)))
    }

    // Follows the conversation list: every conversation as a row, newest activity first, then every change.
    pub fn observe_conversations(&self, listener: Box<dyn ConversationListStateListener>) -> Result<Arc<TaskHandle>> {
        Ok(Arc::new(TaskHandle(self.core.observe_conversations(Arc::new(ListBridge(listener)))?)))
    }
}
