//! [`ChatClient`]: the object the app holds. Each method forwards to `chatflow_core::client::ChatClient` and maps its
//! error; nothing else happens here.
//!
//! Async methods need no runtime of their own here: the core runs their work on its own tokio runtime and any
//! executor (Kotlin coroutines, Swift concurrency) can await it.

use std::collections::HashMap;
use std::sync::Arc;

use chatflow_core::client::ChatClient as CoreClient;

use crate::callbacks::{IdentityTokenProvider, TokenProviderBridge};
use crate::error::ChatflowError;
use crate::types::chatflow::{CacheInfo, ChatflowConfig, ChatflowResolution, Explanation, RefreshOutcome};
use crate::types::session::{
    ConsentState, DeviceInfo, EmailPrompt, IdentifyOutcome, PushHandling, PushPlatform, PushTarget, SessionInfo,
};

type Result<T, E = ChatflowError> = std::result::Result<T, E>;

/// The SDK's entry point for one app configuration and one storage directory. Thread-safe; share one instance.
///
/// Foreign name `NativeChatClient`: apps use the facades' `ChatflowClient`, which wraps it.
#[derive(Debug, uniffi::Object)]
#[uniffi(name = "NativeChatClient")]
pub struct ChatClient {
    pub(crate) core: Arc<CoreClient>,
}

#[uniffi::export(name = "NativeChatClient")]
impl ChatClient {
    /// Opens (or creates) the local database in `storage_dir` (app-private: it holds the visitor token) and loads the
    /// cached session. No network; a few milliseconds.
    #[uniffi::constructor]
    pub fn open(config: ChatflowConfig, storage_dir: String) -> Result<Arc<Self>> {
        Ok(Arc::new(ChatClient { core: CoreClient::open(config, storage_dir)? }))
    }

    /// The configuration this client was opened with.
    pub fn config(&self) -> ChatflowConfig {
        self.core.config().clone()
    }

    // ------------------------------------------------------------------------- chatflows

    /// Fetches the chatflow list and team statuses (conditional request: cheap when nothing changed).
    pub async fn refresh_chatflows(&self) -> Result<RefreshOutcome> {
        Ok(self.core.refresh_chatflows().await?)
    }

    /// The chatflow to show for `tag` (default: the config's `default_tag`), from the cached list. `languages`: the
    /// visitor's preferred languages, best first (empty: the config's `language`). Local only.
    pub fn resolve(&self, tag: Option<String>, languages: Vec<String>) -> Result<ChatflowResolution> {
        Ok(self.core.resolve(tag, languages)?.into())
    }

    /// Why `resolve` picks what it picks: every chatflow carrying the tag with its verdict.
    pub fn explain(&self, tag: Option<String>, languages: Vec<String>) -> Result<Explanation> {
        Ok(self.core.explain(tag, languages)?.into())
    }

    pub fn chatflow_cache_info(&self) -> Result<CacheInfo> {
        Ok(self.core.chatflow_cache_info()?)
    }

    /// Whether to ask for the visitor's email now on `chatflow_id`, and with which text.
    pub fn email_capture_prompt(&self, chatflow_id: i64) -> Result<EmailPrompt> {
        Ok(self.core.email_capture_prompt(chatflow_id)?)
    }

    // ------------------------------------------------------------------------- consent

    pub fn consent_state(&self, chatflow_id: i64) -> Result<ConsentState> {
        Ok(self.core.consent_state(chatflow_id)?)
    }

    /// The visitor tapped "I agree". `shown_text_version`: the `text_version` the UI displayed (checked against
    /// the current text). Recorded locally at once and synced to the server in the background.
    pub fn accept_consent(&self, chatflow_id: i64, shown_text_version: Option<String>) -> Result<ConsentState> {
        Ok(self.core.accept_consent(chatflow_id, shown_text_version)?)
    }

    /// The visitor declined: sending on this chatflow is refused until they accept.
    pub fn decline_consent(&self, chatflow_id: i64, shown_text_version: Option<String>) -> Result<ConsentState> {
        Ok(self.core.decline_consent(chatflow_id, shown_text_version)?)
    }

    /// The visitor ticked or unticked the communications checkbox.
    pub fn set_communication_opt_in(&self, chatflow_id: i64, opted_in: bool) -> Result<ConsentState> {
        Ok(self.core.set_communication_opt_in(chatflow_id, opted_in)?)
    }

    // ------------------------------------------------------------------------- session

    /// The session without network (`null` before the first need).
    pub fn session_info(&self) -> Option<SessionInfo> {
        self.core.session_info()
    }

    /// Creates the anonymous visitor now if needed (otherwise done on first need).
    pub async fn ensure_session(&self) -> Result<SessionInfo> {
        Ok(self.core.ensure_session().await?)
    }

    /// Binds the session to a user of the app with an identity token signed by the app's backend.
    pub async fn identify(&self, identity_token: String, email: Option<String>) -> Result<IdentifyOutcome> {
        Ok(self.core.identify(identity_token, email).await?)
    }

    /// Installs (or removes, with `null`) the provider of fresh identity tokens.
    pub fn set_identity_token_provider(&self, provider: Option<Arc<dyn IdentityTokenProvider>>) -> Result<()> {
        let bridged = provider.map(|p| Arc::new(TokenProviderBridge(p)) as Arc<_>);
        Ok(self.core.set_identity_token_provider(bridged)?)
    }

    /// Forgets the visitor on this device: local data wiped, a new anonymous visitor on next use.
    pub async fn logout(&self) -> Result<()> {
        Ok(self.core.logout().await?)
    }

    /// Deletes everything the server and this device hold about the visitor (right to erasure), then logs out.
    pub async fn clear_user_data(&self) -> Result<()> {
        Ok(self.core.clear_user_data().await?)
    }

    // ------------------------------------------------------------------------- profile and push

    /// Replaces the visitor's chat properties (at most 50).
    pub async fn set_chat_properties(&self, properties: HashMap<String, String>) -> Result<()> {
        Ok(self.core.set_chat_properties(properties).await?)
    }

    pub fn chat_properties(&self) -> Result<HashMap<String, String>> {
        Ok(self.core.chat_properties()?)
    }

    /// Reports the device (the facades fill it from platform APIs).
    pub async fn set_device_info(&self, device: DeviceInfo) -> Result<()> {
        Ok(self.core.set_device_info(device).await?)
    }

    pub async fn register_push_token(&self, token: String, platform: PushPlatform) -> Result<()> {
        Ok(self.core.register_push_token(token, platform).await?)
    }

    /// The visitor typed their email in the chat.
    pub async fn provide_email(&self, email: String) -> Result<()> {
        Ok(self.core.provide_email(email).await?)
    }

    pub fn known_email(&self) -> Result<Option<String>> {
        Ok(self.core.known_email()?)
    }

    /// A push arrived (an FCM data message's `data`): when it is ours, catches its conversation up from the server
    /// (a few seconds at most) and returns the notification to show. Never throws; `NotOurs` for anything else.
    pub async fn handle_push(&self, payload: HashMap<String, String>) -> PushHandling {
        self.core.handle_push(&payload).await
    }

    /// `handle_push` for a payload given as JSON text (an APNs `userInfo`).
    pub async fn handle_push_json(&self, payload_json: String) -> PushHandling {
        self.core.handle_push_json(&payload_json).await
    }
}

/// Reads a flat string push payload (an FCM data message, `RemoteMessage.data`): is it ours, and which conversation
/// to open. Pure: usable without a client.
#[uniffi::export]
pub fn parse_push(payload: HashMap<String, String>) -> PushTarget {
    chatflow_core::session::parse_push(&payload)
}

/// Reads a push payload given as JSON text (an APNs `userInfo`, our keys beside `aps`; values strings or numbers).
/// Text that is not a JSON object is `NotOurs`. Pure: usable from a notification service extension.
#[uniffi::export]
pub fn parse_push_json(payload_json: String) -> PushTarget {
    chatflow_core::session::parse_push_json(&payload_json)
}
