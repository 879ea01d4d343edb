//! `handle_push`: one of our notifications arrived (the app may have been started just for it, from the store: a cold
//! start). Catch its conversation up from the server, then say what the notification should show, so that tapping it
//! opens a chat that is already up to date.
//!
//! # Rules
//! * Never an error: a payload that is not ours is [`PushHandling::NotOurs`]; a failure to reach the server still
//!   gives the notification, made from the payload, and [`PushSync`] says so.
//! * No visitor is created for a push: without a session on the device nothing is fetched ([`PushSync::NoSession`]).
//! * Bounded: the catch-up gets [`CATCH_UP_BUDGET`], well inside what a push handler is allowed (FCM: 20 s for
//!   `onMessageReceived`; iOS: about 30 s in a notification service extension).
//! * No request when the store already holds the announced message (the socket delivered it).
//! * What it shows, best source first — title: `cf_sender_name`, the stored message's author, the chatflow header's
//!   display name, a generic line; body: the stored message (the one at `cf_seq`, else the newest from the team once
//!   caught up), `cf_preview`, a generic line; unread count: the store once caught up, else `cf_unread`, else the
//!   store. Generic lines follow the chatflow's language (English and French; English otherwise).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chatflow_protocol::ErrorCode;

use super::{payload_of_json, payload_of_map, PushPayload};
use crate::client::{ChatClient, ClientInner};
use crate::error::{Error, Result};
use crate::model::ChatMessage;
use crate::session::is_session_refusal;
use crate::sync::receiver;
use crate::sync::tables::{conversations, messages};

/// The longest the catch-up of a push may take before the notification is made from the payload.
pub const CATCH_UP_BUDGET: Duration = Duration::from_secs(8);

/// What [`ChatClient::handle_push`] made of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushHandling {
    /// Ours: show this notification; tapping it should open `conversation_id`.
    Notification { notification: PushNotification },
    /// Not one of ours (another SDK's push, or a malformed one of ours): let the app handle it.
    NotOurs,
}

/// What a chat notification needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushNotification {
    pub conversation_id: String,
    /// From the payload, else the stored conversation's.
    pub chatflow_id: Option<i64>,
    /// The message the push announced (`cf_seq`), when the payload says.
    pub seq: Option<i64>,
    /// Who wrote: the sender's name, else the chatflow header's display name, else a generic line.
    pub title: String,
    /// The message text (from the store after the catch-up; the payload's preview when offline), else a generic line.
    pub body: String,
    /// Unread messages from the team in this conversation.
    pub unread_count: i32,
    /// Where the content came from.
    pub sync: PushSync,
}

/// Whether the conversation was caught up before the notification was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushSync {
    /// The device holds the conversation up to the server's latest message (`received` of them fetched now): body
    /// and unread count come from the local store, and opening the chat shows them without waiting.
    CaughtUp { received: i32 },
    /// The server could not be reached in time or failed (`message` says what happened): body and unread count
    /// come from the payload. The next connection catches up.
    Offline { message: String },
    /// The server refused: the visitor on this device cannot read that conversation (a push for a previous user of
    /// the device, or a deleted conversation). The app should not show it.
    Refused { message: String },
    /// No visitor on this device (the chat was never used, or the user logged out): nothing was fetched. The app
    /// should not show it.
    NoSession,
}

impl ChatClient {
    /// Handles a flat string payload (an FCM data message, `RemoteMessage.data`): when it is ours, catches its
    /// conversation up from the server (at most [`CATCH_UP_BUDGET`]) and returns the notification to show. Never
    /// fails; see the [module rules](self).
    pub async fn handle_push(&self, payload: &HashMap<String, String>) -> PushHandling {
        match payload_of_map(payload) {
            Some(p) => PushHandling::Notification { notification: self.notification_for(p).await },
            None => PushHandling::NotOurs,
        }
    }

    /// [`Self::handle_push`] for a payload given as the text of a JSON object (an APNs `userInfo`).
    pub async fn handle_push_json(&self, payload: &str) -> PushHandling {
        match payload_of_json(payload) {
            Some(p) => PushHandling::Notification { notification: self.notification_for(p).await },
            None => PushHandling::NotOurs,
        }
    }

    async fn notification_for(&self, payload: PushPayload) -> PushNotification {
        let for_task = payload.clone();
        let sync = self
            .run(move |inner| async move {
                Ok(match tokio::time::timeout(CATCH_UP_BUDGET, catch_up(&inner, &for_task)).await {
                    Ok(sync) => sync,
                    Err(_) => PushSync::Offline {
                        message: format!("the server did not answer within {} s", CATCH_UP_BUDGET.as_secs()),
                    },
                })
            })
            .await
            .unwrap_or_else(|e| PushSync::Offline { message: e.to_string() });
        let local = match local_view(&self.inner, &payload) {
            Ok(local) => local,
            Err(e) => {
                // An unreadable store still leaves the payload to show.
                tracing::warn!(error = %e, "the local store could not be read for a push");
                LocalView::default()
            }
        };
        compose(payload, local, sync)
    }
}

/// Catches the conversation up, unless the store already holds the announced message.
async fn catch_up(inner: &Arc<ClientInner>, payload: &PushPayload) -> PushSync {
    let Some(session) = inner.cached_session() else { return PushSync::NoSession };
    let id = &payload.conversation_id;
    let known = match inner.store().read(|c| conversations::get(c, id)) {
        Ok(known) => known,
        Err(e) => return PushSync::Offline { message: e.to_string() },
    };
    if let (Some(c), Some(seq)) = (&known, payload.seq) {
        if c.synced_seq >= seq {
            return PushSync::CaughtUp { received: 0 };
        }
    }
    let state = inner.messaging().clone();
    let attempt = || async {
        if known.is_none() {
            // First heard of (started on another device, or the store was reset): its row comes with the list.
            receiver::refresh_conversations(inner, &state).await?;
        }
        receiver::catch_up(inner, &state, id).await
    };
    let result = match attempt().await {
        Err(e) if is_session_refusal(&e) => match inner.renew_session(&session.visitor_token).await {
            Ok(_) => attempt().await,
            Err(e) => Err(e),
        },
        other => other,
    };
    match result {
        Ok(received) => PushSync::CaughtUp { received: crate::model::count(received) },
        Err(e) if is_refusal(&e) => PushSync::Refused { message: e.to_string() },
        Err(e) => PushSync::Offline { message: e.to_string() },
    }
}

/// The server said this visitor has no such conversation (as opposed to "try again later").
fn is_refusal(e: &Error) -> bool {
    match e {
        Error::NotFound { .. } => true,
        Error::Server { status, code, .. } => {
            matches!(status, 403 | 404) || matches!(code, ErrorCode::NotFound | ErrorCode::Forbidden)
        }
        _ => false,
    }
}

/// What the store knows that a notification can use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct LocalView {
    /// The message at the payload's `seq`.
    announced: Option<ChatMessage>,
    /// The newest message from the team.
    newest_from_team: Option<ChatMessage>,
    unread: Option<i32>,
    chatflow_id: Option<i64>,
    header_name: Option<String>,
    language: Option<String>,
}

fn local_view(inner: &ClientInner, payload: &PushPayload) -> Result<LocalView> {
    let id = &payload.conversation_id;
    let mut view = inner.store().read(|c| {
        let conversation = conversations::get(c, id)?;
        Ok(LocalView {
            announced: payload.seq.map(|seq| messages::confirmed_at(c, id, seq)).transpose()?.flatten(),
            newest_from_team: messages::newest_from_team(c, id)?,
            unread: conversation.as_ref().map(|c| c.unread_count),
            // 0: a row created by a message before the conversation list came (chatflow unknown).
            chatflow_id: conversation.map(|c| c.chatflow_id).filter(|&f| f != 0),
            ..LocalView::default()
        })
    })?;
    let flow = payload.chatflow_id.or(view.chatflow_id).and_then(|f| inner.cached_chatflow(f).ok());
    view.header_name = flow.as_ref().map(|f| f.header.display_name.trim().to_owned()).filter(|n| !n.is_empty());
    view.language = flow.map(|f| f.language).or_else(|| inner.config().language.clone());
    Ok(view)
}

/// The notification from the payload, what the store holds and how the catch-up went. Pure.
fn compose(payload: PushPayload, local: LocalView, sync: PushSync) -> PushNotification {
    let caught_up = matches!(sync, PushSync::CaughtUp { .. });
    // The announced message when stored; without it, the newest from the team is the best guess only once caught up.
    let message = local.announced.or(if caught_up { local.newest_from_team } else { None });
    let message = message.filter(|m| !m.body.trim().is_empty());
    let generic = Generic::for_language(local.language.as_deref());
    let title = payload
        .sender_name
        .or_else(|| message.as_ref().and_then(|m| m.author.display_name.clone()).filter(|n| !n.trim().is_empty()))
        .or(local.header_name)
        .unwrap_or_else(|| generic.title.to_owned());
    let body = message.map(|m| m.body).or(payload.preview).unwrap_or_else(|| generic.body.to_owned());
    let unread_count = if caught_up { local.unread.or(payload.unread) } else { payload.unread.or(local.unread) };
    PushNotification {
        conversation_id: payload.conversation_id,
        chatflow_id: payload.chatflow_id.or(local.chatflow_id),
        seq: payload.seq,
        title,
        body,
        unread_count: unread_count.unwrap_or(0),
        sync,
    }
}

/// The lines shown when neither the payload nor the store has the text.
struct Generic {
    title: &'static str,
    body: &'static str,
}

impl Generic {
    fn for_language(language: Option<&str>) -> Generic {
        let primary = language.and_then(|l| l.split(['-', '_']).next()).unwrap_or("en").to_ascii_lowercase();
        match primary.as_str() {
            "fr" => Generic { title: "Nouveau message", body: "Ouvrez la conversation pour le lire." },
            _ => Generic { title: "New message", body: "Open the chat to read it." },
        }
    }
}

#[cfg(test)]
mod tests;
