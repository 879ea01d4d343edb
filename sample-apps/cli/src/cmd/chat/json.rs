//! `chat --json`: the chat as JSON Lines on stdout — every SDK event, and the outcome of every typed line — for
//! programs that drive the chat through stdin/stdout.

use chatflow_core::events::{ChatEvent, ConnectionState};
use serde_json::{json, Value};

use crate::views::{author_label, state_word, word, ConversationView, MessageView};

fn messages(list: &[chatflow_core::store::messages::ChatMessage]) -> Vec<MessageView> {
    list.iter().map(MessageView::from).collect()
}

/// One SDK event as a JSON object with an `event` field.
pub fn event(e: &ChatEvent) -> Value {
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
                chatflow_core::store::messages::MessageState::Wedged { code, message } => {
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
