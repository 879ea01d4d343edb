//! The messaging half of [`ChatClient`]: send queue, history, conversations, read markers, unread counts, typing,
//! events, pause/resume. Forwarding only, like `client.rs`.

use std::sync::Arc;

use crate::callbacks::{ChatEventListener, ListenerBridge, TaskHandle};
use crate::client::ChatClient;
use crate::error::ChatflowError;
use crate::types::messaging::{
    BackgroundOutcome, ChatConversation, ChatMessage, ConnectionState, HistoryPage, QuickReply, UnreadCounts,
};

type Result<T, E = ChatflowError> = std::result::Result<T, E>;

#[uniffi::export(name = "NativeChatClient")]
impl ChatClient {
    /// Queues a message and returns its local echo at once (state `Queued`). Never waits for the network: the
    /// message is committed on the device and delivered in order, exactly once, whenever the server is reachable.
    /// Refused before queuing: empty or too long body, unknown conversation, missing consent (`ConsentRequired`).
    pub fn send(&self, conversation_id: String, text: String) -> Result<ChatMessage> {
        Ok(self.core.send(&conversation_id, &text)?)
    }

    /// Answers the satisfaction survey whose prompt is message `survey_seq` of the conversation: `rating` within the
    /// prompt's scale, an optional comment. Queued like `send` (offline-safe, delivered once); returns the echo.
    /// Refused before queuing: unknown prompt, rating or comment out of bounds, a survey already answered.
    pub fn answer_survey(
        &self,
        conversation_id: String,
        survey_seq: i64,
        rating: i32,
        comment: Option<String>,
    ) -> Result<ChatMessage> {
        Ok(self.core.answer_survey(&conversation_id, survey_seq, rating, comment)?)
    }

    /// Sends the label of a quick reply the bot offered.
    pub fn send_quick_reply(&self, conversation_id: String, reply: QuickReply) -> Result<ChatMessage> {
        Ok(self.core.send_quick_reply(&conversation_id, &reply)?)
    }

    /// Sends a queued or wedged message again now.
    pub fn retry_send(&self, client_message_id: String) -> Result<()> {
        Ok(self.core.retry_send(&client_message_id)?)
    }

    /// Replaces the text of a queued or wedged message and queues it again.
    pub fn edit_queued(&self, client_message_id: String, text: String) -> Result<ChatMessage> {
        Ok(self.core.edit_queued(&client_message_id, &text)?)
    }

    /// Deletes a queued or wedged message (it is never sent).
    pub fn delete_queued(&self, client_message_id: String) -> Result<()> {
        Ok(self.core.delete_queued(&client_message_id)?)
    }

    /// Local echoes not yet confirmed (queued, sending, wedged), oldest first.
    pub fn pending_sends(&self) -> Result<Vec<ChatMessage>> {
        Ok(self.core.pending_sends()?)
    }

    /// One page of history: up to `limit` messages before `before_seq` (`null`: the latest, then the local echoes),
    /// ascending. From the device; fetched from the server only when part of the page is missing.
    pub async fn messages(
        &self,
        conversation_id: String,
        before_seq: Option<i64>,
        limit: i32,
    ) -> Result<Vec<ChatMessage>> {
        Ok(self.core.messages(&conversation_id, before_seq, limit).await?)
    }

    /// The same page as `messages`, from the device only, at once (no network): for a conversation screen's first
    /// frame. `complete` is `false` when part of the page is not on the device yet (`messages` fetches it).
    pub fn messages_on_device(
        &self,
        conversation_id: String,
        before_seq: Option<i64>,
        limit: i32,
    ) -> Result<HistoryPage> {
        Ok(self.core.messages_on_device(&conversation_id, before_seq, limit)?)
    }

    /// The visitor's conversations on the device, newest first, with unread counts. No network.
    pub fn conversations(&self) -> Result<Vec<ChatConversation>> {
        Ok(self.core.conversations()?)
    }

    /// Fetches the conversation list from the server.
    pub async fn refresh_conversations(&self) -> Result<Vec<ChatConversation>> {
        Ok(self.core.refresh_conversations().await?)
    }

    /// Starts (or returns the open) conversation of the visitor on `chatflow_id`.
    pub async fn open_conversation(&self, chatflow_id: i64) -> Result<ChatConversation> {
        Ok(self.core.open_conversation(chatflow_id).await?)
    }

    /// The visitor read everything up to `seq` (`null`: the newest message on the device).
    pub fn mark_read(&self, conversation_id: String, seq: Option<i64>) -> Result<()> {
        Ok(self.core.mark_read(&conversation_id, seq)?)
    }

    /// The visitor is typing (or stopped). Throttled; only sent while online.
    pub fn set_typing(&self, conversation_id: String, typing: bool) -> Result<()> {
        Ok(self.core.set_typing(&conversation_id, typing)?)
    }

    /// Unread messages per conversation and in total. Local.
    pub fn unread_counts(&self) -> Result<UnreadCounts> {
        Ok(self.core.unread_counts()?)
    }

    /// Subscribes to chat events: the current state first (connection, pending sends, unread counts), then every
    /// change. Also starts background sync. Cancel the returned handle to stop.
    pub fn subscribe(&self, listener: Arc<dyn ChatEventListener>) -> Result<Arc<TaskHandle>> {
        let handle = self.core.subscribe(Arc::new(ListenerBridge(listener)))?;
        Ok(Arc::new(TaskHandle(handle)))
    }

    /// Closes the socket and pauses sending at once until `resume` (messages stay queued).
    pub fn pause(&self) {
        self.core.pause();
    }

    // The app went to the background: send what is queued, keep the socket for a grace period, then close and stop
    // retrying until `resume` (the facades document it).
    pub async fn enter_background(&self) -> Result<BackgroundOutcome> {
        Ok(self.core.enter_background().await?)
    }

    /// The app came back (or wants to go online now): connect, catch up, send what is queued, skipping backoff.
    pub fn resume(&self) -> Result<()> {
        Ok(self.core.resume()?)
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.core.connection_state()
    }
}
