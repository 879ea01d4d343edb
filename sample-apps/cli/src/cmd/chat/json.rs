//! `chat --json`: the chat as JSON Lines on stdout — every SDK event, and the outcome of every typed line — for
//! programs that drive the chat through stdin/stdout.

use chatflow_core::events::{ChatEvent, ConnectionState};
use chatflow_core::protocol::AuthorKind;
use chatflow_core::state::Delivery;
use serde_json::{json, Value};

use super::render::Chat;
use crate::views::{author_label, state_word, word, ConversationView, MessageView};

impl Chat<'_> {
    /// `--json`: one SDK event as a JSON line.
    pub fn on_event(&mut self, event: ChatEvent) {
        self.emit(event_json(&event));
        if let ChatEvent::MessagesChanged { messages, .. } = &event {
            let confirmed = messages.iter().filter(|m| m.author.kind == AuthorKind::Visitor && m.seq.is_some());
            self.confirmed_in_events.extend(confirmed.filter_map(|m| m.client_message_id.clone()));
        }
    }

    /// `--json`, leaving: the messages sent from this chat that the conversation state shows stored by the server
    /// but whose event is still on its way (the SDK's event and the state reach the chat separately), as one
    /// `messages` event, so a program reading the output sees every confirmation.
    pub fn settle(&mut self) {
        let Some(state) = self.state.as_ref().filter(|_| self.ctx.out.json) else { return };
        let late: Vec<MessageView> = state
            .messages
            .iter()
            .filter(|m| self.sent_here.contains(&m.id) && matches!(m.delivery, Delivery::Sent | Delivery::ReadByTeam))
            .filter(|m| m.message.client_message_id.as_ref().is_some_and(|id| !self.confirmed_in_events.contains(id)))
            .map(|m| MessageView::from(&m.message))
            .collect();
        if !late.is_empty() {
            self.emit(
                json!({ "event": "messages", "conversation_id": state.details.conversation_id, "messages": late }),
            );
        }
    }
}

fn messages(list: &[chatflow_core::model::ChatMessage]) -> Vec<MessageView> {
    list.iter().map(MessageView::from).collect()
}

/// One SDK event as a JSON object with an `event` field.
fn event_json(e: &ChatEvent) -> Value {
    match e {
        ChatEvent::ConnectionChanged { state } => {
            let (name, retry_at) = match state {
                ConnectionState::Offline => ("offline", None),
                ConnectionState::Connecting => ("connecting", None),
                ConnectionState::Online => ("online", None),
                ConnectionState::WaitingToRetry { retry_at } => ("waiting_to_retry", Some(*retry_at)),
            };
            json!({ "event": "connection", "state": name, "retry_at": retry_at })
        }
        ChatEvent::PendingSends { messages: list } => json!({ "event": "pending_sends", "messages": messages(list) }),
        ChatEvent::MessagesChanged { conversation_id, messages: list } => {
            json!({ "event": "messages", "conversation_id": conversation_id, "messages": messages(list) })
        }
        ChatEvent::SendStateChanged { conversation_id, client_message_id, state } => json!({
            "event": "send_state", "conversation_id": conversation_id, "client_message_id": client_message_id,
            "state": state_word(state),
            "error": match state {
                chatflow_core::model::MessageState::Wedged { code, message } => {
                    Some(format!("{}: {message}", word(code)))
                }
                _ => None,
            },
        }),
        ChatEvent::MessageDeleted { conversation_id, client_message_id } => json!({
            "event": "message_deleted", "conversation_id": conversation_id, "client_message_id": client_message_id }),
        ChatEvent::UnreadCountsChanged { counts, total } => json!({
            "event": "unread", "total": total,
            "counts": counts.iter().map(|c| json!({ "conversation_id": c.conversation_id, "count": c.count }))
                .collect::<Vec<_>>() }),
        ChatEvent::ConversationChanged { conversation } => {
            json!({ "event": "conversation", "conversation": ConversationView::from(conversation) })
        }
        ChatEvent::Typing { conversation_id, author, typing } => json!({
            "event": "typing", "conversation_id": conversation_id, "author_kind": author.kind,
            "author": author_label(author.kind, author.display_name.as_deref()), "typing": typing }),
        ChatEvent::ReadMarker { conversation_id, reader, seq } => {
            json!({ "event": "read", "conversation_id": conversation_id, "reader": reader, "seq": seq })
        }
        ChatEvent::ConversationStatusChanged { conversation_id, status } => {
            json!({ "event": "conversation_status", "conversation_id": conversation_id, "status": status })
        }
        ChatEvent::CaughtUp { conversation_id, synced_seq, received } => json!({
            "event": "caught_up", "conversation_id": conversation_id, "synced_seq": synced_seq, "received": received }),
        ChatEvent::Resync => json!({ "event": "resync" }),
        ChatEvent::UploadProgress { conversation_id, client_message_id, bytes_sent, total } => json!({
            "event": "upload_progress", "conversation_id": conversation_id, "client_message_id": client_message_id,
            "bytes_sent": bytes_sent, "total": total }),
    }
}
