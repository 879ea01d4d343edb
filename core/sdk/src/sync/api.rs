//! The messaging API of [`ChatClient`]: send (with local echo), retry / edit / delete queued messages, history,
//! conversations, read markers, unread counts, typing, event subscription, pause/resume.
//!
//! Local calls (`send`, `conversations`, `mark_read`, …) are synchronous: they touch the store only and return at
//! once. Calls that may need the server (`open_conversation`, `messages` when a page is missing,
//! `refresh_conversations`) are `async` and run on the SDK runtime.

use std::sync::Arc;

use chatflow_protocol::limits::MAX_PAGE_SIZE;
use chatflow_protocol::{ClientFrame, Conversation, OpenConversationRequest, QuickReply, ReadReceipt, SurveyAnswer};

use crate::client::{now_ms, ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::events::{ChatEvent, ConnectionState, EventListener, TaskHandle, UnreadCount, UnreadCounts};
use crate::model::{self, ChatConversation, ChatMessage, HistoryPage};
use crate::sync::queue::Lane;
use crate::sync::state::SyncState;
use crate::sync::tables::conversations;
use crate::sync::tables::messages;
use crate::sync::{connection, receiver, sender};

impl ChatClient {
    /// Queues a message and returns its local echo at once (state `Queued`, client message id = UUIDv7); a
    /// `MessagesChanged` event announces it. Never waits for the network: the message is committed to the local
    /// queue before this returns and is delivered in order, exactly once, whenever the server is reachable.
    ///
    /// Refused before queuing: an empty or too long body, an unknown conversation, and the consent gate
    /// (`ConsentRequired` / `ConsentDeclined`). Under legitimate interest, the first message also queues the implied
    /// consent record, delivered before it.
    pub fn send(&self, conversation_id: &str, text: &str) -> Result<ChatMessage> {
        enqueue(&self.inner, conversation_id, text, None, None)
    }

    /// Sends the label of a quick reply the bot offered (the server learns which one was tapped).
    pub fn send_quick_reply(&self, conversation_id: &str, reply: &QuickReply) -> Result<ChatMessage> {
        enqueue(&self.inner, conversation_id, &reply.label, Some(&reply.id), None)
    }

    /// Answers the satisfaction survey whose prompt is the message `survey_seq` of the conversation (a message whose
    /// `survey` is a prompt): `rating` within the prompt's scale, an optional comment (at most the prompt's
    /// `comment_max_chars`, not only spaces). Goes through the send queue like [`Self::send`] (offline-safe, delivered
    /// once with its client id) and returns the answer's local echo. Refused before queuing: an unknown prompt, a
    /// rating or comment the prompt does not accept, and a survey already answered on this device.
    pub fn answer_survey(
        &self,
        conversation_id: &str,
        survey_seq: i64,
        rating: i32,
        comment: Option<String>,
    ) -> Result<ChatMessage> {
        let not_found = || Error::NotFound {
            what: format!("survey at seq {survey_seq} of conversation {conversation_id} (sync the conversation first)"),
        };
        let seq = u64::try_from(survey_seq).map_err(|_| not_found())?;
        let (prompt, answered) = self.inner.store().read(|c| {
            Ok((messages::survey_prompt(c, conversation_id, seq)?, messages::survey_answered(c, conversation_id, seq)?))
        })?;
        let prompt = prompt.ok_or_else(not_found)?;
        let in_scale = u8::try_from(rating).ok().filter(|r| (prompt.scale_min..=prompt.scale_max).contains(r));
        let rating = in_scale.ok_or_else(|| Error::InvalidInput {
            field: "survey_answer",
            message: format!(
                "survey_answer.rating must be between {} and {}, got {rating}",
                prompt.scale_min, prompt.scale_max
            ),
        })?;
        let answer = SurveyAnswer { survey_seq: seq, rating, comment: comment.map(|c| c.trim().to_owned()) };
        prompt.check(&answer).map_err(|message| Error::InvalidInput { field: "survey_answer", message })?;
        if answered {
            let message = format!("the survey at seq {survey_seq} is already answered; a survey takes one answer");
            return Err(Error::InvalidInput { field: "survey_seq", message });
        }
        enqueue(&self.inner, conversation_id, &answer.body(prompt.scale_max), None, Some(&answer))
    }

    /// Sends a queued or wedged message again now (clears its error and backoff).
    pub fn retry_send(&self, client_message_id: &str) -> Result<()> {
        let lane = self.inner.messaging().queue.retry(client_message_id)?;
        if let Lane::Conversation(conversation_id) = &lane {
            self.inner.messaging().events.emit(ChatEvent::SendStateChanged {
                conversation_id: conversation_id.clone(),
                client_message_id: client_message_id.to_owned(),
                state: crate::model::MessageState::Queued,
            });
        }
        connection::start(&self.inner)?;
        sender::kick(&self.inner, &lane)
    }

    /// Replaces the text of a queued or wedged message and queues it again. Refused while it is being sent.
    pub fn edit_queued(&self, client_message_id: &str, text: &str) -> Result<ChatMessage> {
        let (echo, lane) = self.inner.messaging().queue.edit(client_message_id, text)?;
        self.inner.messaging().events.emit(ChatEvent::MessagesChanged {
            conversation_id: echo.conversation_id.clone(),
            messages: vec![echo.clone()],
        });
        connection::start(&self.inner)?;
        sender::kick(&self.inner, &lane)?;
        Ok(echo)
    }

    /// Deletes a queued or wedged message (it is never sent). Refused while it is being sent. A message whose
    /// earlier try may have reached the server (the answer was lost) can still appear later: the server has it.
    pub fn delete_queued(&self, client_message_id: &str) -> Result<()> {
        if let Some(conversation_id) = self.inner.messaging().queue.delete(client_message_id)? {
            self.inner
                .messaging()
                .events
                .emit(ChatEvent::MessageDeleted { conversation_id, client_message_id: client_message_id.to_owned() });
        }
        Ok(())
    }

    /// Local echoes not yet confirmed (queued, sending, wedged), oldest first.
    pub fn pending_sends(&self) -> Result<Vec<ChatMessage>> {
        self.inner.messaging().queue.pending()
    }

    /// Up to `limit` messages before `before_seq` (the latest when `None`, followed by the local echoes), ascending.
    /// Answers from the store; fetches the page from the server only when the store lacks some of it (and answers
    /// with what it has when offline).
    pub async fn messages(
        &self,
        conversation_id: &str,
        before_seq: Option<i64>,
        limit: i32,
    ) -> Result<Vec<ChatMessage>> {
        let id = conversation_id.to_owned();
        let (before_seq, limit) = (before_seq.map(model::seq_arg), model::page_size(limit, MAX_PAGE_SIZE));
        self.run(move |inner| async move { history(&inner, &id, before_seq, limit).await }).await
    }

    /// The same page as [`ChatClient::messages`], from the device only, at once (no network, no task): for the
    /// first frame of a conversation screen. `complete` says whether the page holds every message it should; when
    /// it is `false`, [`ChatClient::messages`] fetches the missing part.
    pub fn messages_on_device(
        &self,
        conversation_id: &str,
        before_seq: Option<i64>,
        limit: i32,
    ) -> Result<HistoryPage> {
        let (before_seq, limit) = (before_seq.map(model::seq_arg), model::page_size(limit, MAX_PAGE_SIZE));
        let (mut messages, missing) = self.inner.store().read(|c| {
            let gap = page_gap(c, conversation_id, before_seq, limit)?;
            Ok((messages::page(c, conversation_id, before_seq, limit)?, gap.is_some()))
        })?;
        self.inner.messaging().queue.overlay(&mut messages);
        Ok(HistoryPage { messages, complete: !missing })
    }

    /// The visitor's conversations as stored (no network), newest first, with unread counts.
    pub fn conversations(&self) -> Result<Vec<ChatConversation>> {
        self.inner.store().read(conversations::list)
    }

    /// Fetches the conversation list from the server into the store.
    pub async fn refresh_conversations(&self) -> Result<Vec<ChatConversation>> {
        self.run(|inner| async move {
            let state = inner.messaging().clone();
            receiver::refresh_conversations(&inner, &state).await?;
            inner.store().read(conversations::list)
        })
        .await
    }

    /// Starts (or, when the server keeps one open, returns) the visitor's conversation on a resolved chatflow.
    /// Creates the anonymous visitor first if there is none.
    pub async fn open_conversation(&self, chatflow_id: i64) -> Result<ChatConversation> {
        let conversation = self
            .run(move |inner| async move {
                let body = OpenConversationRequest { chatflow_id };
                let session = inner.visitor_session().await?;
                let c: Conversation =
                    inner.http()?.post("/v1/conversations", Some(&session.visitor_token), Some(&body)).await?;
                let stored = inner.store().write(|tx| {
                    if !receiver::still_visitor(tx, &session.visitor_id)? {
                        return Err(Error::Closed);
                    }
                    conversations::upsert(tx, &c)?;
                    conversations::get(tx, &c.id)
                })?;
                stored.ok_or_else(|| Error::NotFound { what: format!("conversation {}", c.id) })
            })
            .await?;
        self.inner.messaging().events.emit(ChatEvent::ConversationChanged { conversation: conversation.clone() });
        connection::start(&self.inner)?;
        self.inner.messaging().wake_connection.notify_one();
        Ok(conversation)
    }

    /// The visitor read everything up to `seq` (default: the newest stored message). Moves the marker forward
    /// only; the server is told over the socket, or over REST when offline.
    pub fn mark_read(&self, conversation_id: &str, seq: Option<i64>) -> Result<()> {
        let inner = &self.inner;
        let newest = inner.store().read(|c| messages::newest_seq(c, conversation_id))?;
        let seq = seq.map_or(newest, model::seq_arg).min(newest);
        if seq == 0 {
            return Ok(());
        }
        if !inner.store().write(|tx| conversations::set_read(tx, conversation_id, seq))? {
            return Ok(());
        }
        inner.messaging().emit_unread();
        send_read_marker(inner, inner.messaging(), conversation_id, seq);
        Ok(())
    }

    /// The visitor is typing (or stopped). Throttled; sent only while the socket is online (typing is ephemeral).
    pub fn set_typing(&self, conversation_id: &str, typing: bool) -> Result<()> {
        let state = &self.inner.messaging();
        if state.connection_state() == ConnectionState::Online
            && state.typing.should_send(conversation_id, typing, now_ms())
        {
            state.send_frame(ClientFrame::Typing { conversation_id: conversation_id.to_owned(), typing });
        }
        Ok(())
    }

    /// Unread messages (from the team) per conversation and in total. Local.
    pub fn unread_counts(&self) -> Result<UnreadCounts> {
        let (counts, total) = self.inner.store().read(conversations::unread_counts)?;
        Ok(UnreadCounts {
            counts: counts.into_iter().map(|(conversation_id, count)| UnreadCount { conversation_id, count }).collect(),
            total,
        })
    }

    /// Subscribes to chat events: the current state first (connection, pending sends, unread counts), then every
    /// change. Cancel or drop the handle to stop. Also starts background sync if it is not running.
    pub fn subscribe(&self, listener: Arc<dyn EventListener>) -> Result<TaskHandle> {
        let handle = self.inner.handle()?;
        let state = self.inner.messaging().clone();
        let task = state.events.subscribe(&handle, listener, {
            let state = state.clone();
            move || state.replay()
        });
        connection::start(&self.inner)?;
        Ok(task)
    }

    /// Closes the socket and stops sending and retrying at once until [`Self::resume`]; queued messages stay queued.
    /// For the app going to the background prefer [`Self::enter_background`], which sends what is queued first.
    pub fn pause(&self) {
        self.inner.messaging().set_paused(true);
    }

    /// The app came to the foreground (or wants to go online now): connects, catches up and sends what is queued,
    /// skipping any backoff wait. Also what starts background sync after `open`.
    pub fn resume(&self) -> Result<()> {
        let state = &self.inner.messaging();
        // Also ends a background period that has not closed the socket yet.
        state.lifecycle.foreground(state)?;
        state.untrusted.store(false, std::sync::atomic::Ordering::Relaxed);
        connection::start(&self.inner)?;
        state.wake_connection.notify_one();
        sender::resume_all(&self.inner)
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.inner.messaging().connection_state()
    }
}

fn enqueue(
    inner: &Arc<ClientInner>,
    conversation_id: &str,
    body: &str,
    quick_reply_id: Option<&str>,
    survey_answer: Option<&SurveyAnswer>,
) -> Result<ChatMessage> {
    enqueue_with(inner, conversation_id, body, quick_reply_id, survey_answer, &[])
}

/// Queues a message carrying files (copied, hashed and checked first; see `attachments::local`).
pub(crate) fn enqueue_files(
    inner: &Arc<ClientInner>,
    conversation_id: &str,
    files: &[crate::attachments::OutgoingFile],
    caption: &str,
) -> Result<ChatMessage> {
    if files.is_empty() {
        return Err(Error::InvalidInput { field: "files", message: "no file given; use send() for text".into() });
    }
    enqueue_with(inner, conversation_id, caption, None, None, files)
}

fn enqueue_with(
    inner: &Arc<ClientInner>,
    conversation_id: &str,
    body: &str,
    quick_reply_id: Option<&str>,
    survey_answer: Option<&SurveyAnswer>,
    files: &[crate::attachments::OutgoingFile],
) -> Result<ChatMessage> {
    let chatflow_id = inner
        .store()
        .read(|c| conversations::chatflow_of(c, conversation_id))?
        .ok_or_else(|| Error::NotFound { what: format!("conversation {conversation_id} (open it first)") })?;
    let visitor_id = inner.session().current().map(|s| s.visitor_id);
    // The consent gate, on the cached chatflow. A chatflow missing from the cache (a conversation started on another
    // device) cannot be checked here; the server still refuses without explicit consent (the message is wedged).
    let consent = match inner.cached_chatflow(chatflow_id) {
        Ok(flow) => inner.check_before_send(&flow)?,
        Err(Error::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let client_message_id = uuid::Uuid::now_v7().to_string();
    if !files.is_empty() && !body.is_empty() {
        crate::sync::send_queue::validate_body(body)?;
    }
    let uploads = if files.is_empty() {
        Vec::new()
    } else {
        let limits = inner.attachment_limits()?;
        crate::attachments::local::prepare(&inner.data_dir(), &client_message_id, files, &limits)?
    };
    let queued = inner.messaging().queue.enqueue_with_files(
        conversation_id,
        &client_message_id,
        body,
        quick_reply_id,
        survey_answer,
        visitor_id.as_deref(),
        consent.as_ref().map(|(id, input)| (id.as_str(), input)),
        uploads.clone(),
        now_ms(),
    );
    let echo = match queued {
        Ok(echo) => echo,
        Err(e) => {
            crate::attachments::local::remove_copies(&uploads);
            return Err(e);
        }
    };
    inner
        .messaging()
        .events
        .emit(ChatEvent::MessagesChanged { conversation_id: conversation_id.to_owned(), messages: vec![echo.clone()] });
    connection::start(inner)?;
    if consent.is_some() {
        sender::kick(inner, &Lane::Consents)?;
    }
    sender::kick(inner, &Lane::Conversation(conversation_id.to_owned()))?;
    Ok(echo)
}

/// When the store lacks some of the confirmed messages of the page of `limit` before `before`: the highest seq the
/// page should hold (where a fetch of the page starts).
fn page_gap(
    conn: &rusqlite::Connection,
    conversation_id: &str,
    before: Option<u64>,
    limit: u32,
) -> Result<Option<u64>> {
    let last_seq = conversations::last_seq_of(conn, conversation_id)?
        .ok_or_else(|| Error::NotFound { what: format!("conversation {conversation_id}") })?;
    // The seqs the answer should cover: [lo, hi].
    // Seqs above the conversation's last known seq do not exist (yet): not "missing".
    let hi = match before {
        Some(b) => b.saturating_sub(1).min(last_seq),
        None => last_seq,
    };
    let lo = hi.saturating_sub(u64::from(limit) - 1).max(1);
    let missing = hi >= 1 && messages::count_in_range(conn, conversation_id, lo, hi)? < hi - lo + 1;
    Ok(missing.then_some(hi))
}

/// `messages()`: the store's page, completed from the server when some of it is missing.
async fn history(
    inner: &Arc<ClientInner>,
    conversation_id: &str,
    before: Option<u64>,
    limit: u32,
) -> Result<Vec<ChatMessage>> {
    let limit = limit.clamp(1, MAX_PAGE_SIZE);
    let state = inner.messaging().clone();
    if let Some(hi) = inner.store().read(|c| page_gap(c, conversation_id, before, limit))? {
        if let Err(e) = fetch_before(inner, &state, conversation_id, hi + 1, limit).await {
            // Offline (or refused): the store's answer is the best there is.
            tracing::debug!(error = %e, "older messages not fetched");
        }
    }
    let mut page = inner.store().read(|c| messages::page(c, conversation_id, before, limit))?;
    state.queue.overlay(&mut page);
    Ok(page)
}

/// Makes sure the store holds the page `history` answers (fetching what is missing when online).
pub(crate) async fn fill_history(
    inner: &Arc<ClientInner>,
    conversation_id: &str,
    before: Option<u64>,
    limit: u32,
) -> Result<()> {
    history(inner, conversation_id, before, limit).await.map(|_| ())
}

async fn fetch_before(
    inner: &Arc<ClientInner>,
    state: &SyncState,
    conversation_id: &str,
    before: u64,
    limit: u32,
) -> Result<()> {
    let session = inner.visitor_session().await?;
    let path = format!("/v1/conversations/{conversation_id}/messages?before_seq={before}&limit={limit}");
    let page: chatflow_protocol::MessagePage =
        match inner.http()?.get(&path, Some(&session.visitor_token), None).await? {
            crate::transport::Fetched::Fresh { body, .. } => body,
            crate::transport::Fetched::NotModified => return Ok(()),
        };
    receiver::apply_messages(state, &session.visitor_id, conversation_id, &page.messages, Some(page.last_seq))?;
    Ok(())
}

/// Tells the server about a read marker: over the socket when online, else over REST in the background.
fn send_read_marker(inner: &Arc<ClientInner>, state: &Arc<SyncState>, conversation_id: &str, seq: u64) {
    if state.connection_state() == ConnectionState::Online
        && state.send_frame(ClientFrame::Read { conversation_id: conversation_id.to_owned(), seq })
    {
        // The server echoes a `read` frame, which marks the marker synced.
        return;
    }
    let weak = Arc::downgrade(inner);
    let id = conversation_id.to_owned();
    let spawned = inner.spawn(async move {
        let Some(inner) = weak.upgrade() else { return };
        let result = async {
            let session = inner.visitor_session().await?;
            let path = format!("/v1/conversations/{id}/read");
            let _: () = inner.http()?.post(&path, Some(&session.visitor_token), Some(&ReadReceipt { seq })).await?;
            inner.store().write(|tx| {
                if receiver::still_visitor(tx, &session.visitor_id)? {
                    conversations::set_read_synced(tx, &id, seq)?;
                }
                Ok(())
            })
        }
        .await;
        if let Err(e) = result {
            tracing::debug!(error = %e, "read marker not sent; retried on the next connection");
        }
    });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "read marker not sent");
    }
}

/// Sends every read marker the server does not know yet (after a reconnect).
pub(crate) fn flush_read_markers(inner: &Arc<ClientInner>, state: &Arc<SyncState>) {
    match inner.store().read(conversations::unsynced_read_markers) {
        Ok(markers) => {
            for (conversation_id, seq) in markers {
                send_read_marker(inner, state, &conversation_id, seq);
            }
        }
        Err(e) => tracing::debug!(error = %e, "read markers unavailable"),
    }
}
