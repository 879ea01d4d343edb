//! Foreign traits the app implements (besides the logger): the identity-token provider and the event listener,
//! and the handle that stops a subscription.
//! Their methods return `Result` so an exception thrown by app code becomes an error value, never a panic.

use std::sync::Arc;

use chatflow_core::events::EventListener as CoreListener;
use chatflow_core::session::{IdentityTokenProvider as CoreTokenProvider, TokenProviderError};

use crate::error::ChatflowError;
use crate::types::messaging::ChatEvent;

/// Hands the SDK a fresh identity token (signed by the app's backend) when the server says the current one expired.
/// Called on an SDK worker thread, never the main thread: it may block on a network call to the backend.
#[uniffi::export(with_foreign)]
pub trait IdentityTokenProvider: Send + Sync {
    /// A fresh identity token for `user_id` (the `sub` of the expired one). Throw when none can be had (the user
    /// signed out of the app): queued messages wait until `identify` is called again.
    fn fresh_identity_token(&self, user_id: String) -> Result<String, ChatflowError>;
}

/// Adapts the foreign provider to the core's trait.
pub(crate) struct TokenProviderBridge(pub(crate) Arc<dyn IdentityTokenProvider>);

impl CoreTokenProvider for TokenProviderBridge {
    fn fresh_identity_token(&self, user_id: String) -> Result<String, TokenProviderError> {
        self.0.fresh_identity_token(user_id).map_err(|e| TokenProviderError { message: e.to_string() })
    }
}

/// Receives the chat's events (see `subscribe`). Called on an SDK thread, one event at a time and in order: hand the
/// event to the app's own thread and return quickly.
#[uniffi::export(with_foreign)]
pub trait ChatEventListener: Send + Sync {
    fn on_event(&self, event: ChatEvent) -> Result<(), ChatflowError>;
}

/// Adapts the foreign listener to the core's trait. A listener that throws loses that one event (logged).
pub(crate) struct ListenerBridge(pub(crate) Arc<dyn ChatEventListener>);

impl CoreListener for ListenerBridge {
    fn on_event(&self, event: ChatEvent) {
        if let Err(e) = self.0.on_event(event) {
            tracing::warn!(target: "chatflow_ffi", error = %e, "the app's event listener failed; event dropped");
        }
    }
}

/// A running subscription. `cancel()` (or releasing the handle) stops it: no callback starts afterwards.
#[derive(Debug, uniffi::Object)]
pub struct TaskHandle(pub(crate) chatflow_core::events::TaskHandle);

#[uniffi::export]
impl TaskHandle {
    pub fn cancel(&self) {
        self.0.cancel();
    }

    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }
}
