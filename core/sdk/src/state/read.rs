//! Reads the states from what the SDK holds: the store (messages, conversations, cached chatflows), the send queue
//! (which echo is on the wire), the typing indicators and the connection. A state is a function of these only, so an
//! observer that joins late computes the same state as one that followed every change.

use std::collections::HashMap;

use rusqlite::Connection;

use chatflow_protocol::{AuthorKind, Chatflow};

use crate::chatflow::{available_now, cache};
use crate::error::Result;
use crate::model::ChatConversation;
use crate::model::MessageSurvey;
use crate::model::{ChatMessage, MessageState};
use crate::state::model::{
    ConversationDetails, ConversationListState, ConversationRow, ConversationState, Delivery, LastMessage, MessageItem,
    PendingSurvey,
};
use crate::sync::state::SyncState;
use crate::sync::tables::conversations;
use crate::sync::tables::messages;

/// The delivery state of `m` given how far the team has read.
pub fn delivery(m: &ChatMessage, team_read_seq: i64) -> Delivery {
    if m.author.kind != AuthorKind::Visitor {
        return Delivery::Received;
    }
    match (&m.state, m.seq) {
        (MessageState::Wedged { code, message }, _) => Delivery::Failed { code: *code, message: message.clone() },
        (MessageState::Queued, _) => Delivery::Queued,
        (MessageState::Sending, _) => Delivery::Sending,
        (MessageState::Sent, Some(seq)) if seq <= team_read_seq => Delivery::ReadByTeam,
        (MessageState::Sent, _) => Delivery::Sent,
    }
}

/// Header title and avatar: the assignee's, unless the chatflow brands agents' messages; else the chatflow's.
fn title(c: &ChatConversation, flow: Option<&Chatflow>) -> (String, Option<String>) {
    let branded = flow.is_some_and(|f| f.header.use_branding_as_agent_alias);
    match (&c.assignee, flow) {
        (Some(agent), _) if !branded => (agent.display_name.clone(), agent.avatar_url.clone()),
        (_, Some(f)) => (f.header.display_name.clone(), f.header.avatar_url.clone()),
        (Some(agent), None) => (agent.display_name.clone(), agent.avatar_url.clone()),
        (None, None) => (String::new(), None),
    }
}

/// The latest `limit` messages of a conversation (local echoes last). Mark the echoes on the wire with
/// `SendQueue::overlay` only once the store's reader is released: the sender takes the in-flight lock, then the
/// reader, so taking them the other way round can deadlock.
fn window(conn: &Connection, conversation_id: &str, limit: u32) -> Result<Vec<ChatMessage>> {
    let mut list = messages::page(conn, conversation_id, None, limit)?;
    let extra = list.len().saturating_sub(limit as usize);
    list.drain(..extra);
    Ok(list)
}

/// The state of `conversation_id` with its latest `limit` messages; `None` when the conversation is not stored.
pub fn conversation_state(
    sync: &SyncState,
    conversation_id: &str,
    limit: u32,
    now: i64,
) -> Result<Option<ConversationState>> {
    let read = sync.store().read(|conn| {
        let Some(c) = conversations::get(conn, conversation_id)? else { return Ok(None) };
        let flow = cache::get(conn, c.chatflow_id)?;
        let statuses = if flow.is_some() { cache::load(conn)?.1 } else { HashMap::new() };
        let list = window(conn, conversation_id, limit)?;
        Ok(Some((c, flow, statuses, list)))
    })?;
    let Some((c, flow, statuses, mut list)) = read else { return Ok(None) };
    sync.overlay_pending(&mut list);
    let (title, avatar_url) = title(&c, flow.as_ref());
    let first_seq = list.iter().find_map(|m| m.seq);
    let has_earlier = match first_seq {
        Some(seq) => seq > 1,
        None => c.last_seq > 0,
    };
    let quick_replies = match list.last() {
        Some(m) if m.author.kind != AuthorKind::Visitor => m.quick_replies.clone(),
        _ => Vec::new(),
    };
    let details = ConversationDetails {
        conversation_id: c.id.clone(),
        chatflow_id: c.chatflow_id,
        status: c.status,
        assignee: c.assignee.clone(),
        title,
        avatar_url,
        unread_count: c.unread_count,
        team_read_seq: c.agent_read_seq,
        typing: sync.typing_in(conversation_id),
        team_available: flow.as_ref().map(|f| available_now(f, &statuses, now)),
        quick_replies,
        pending_survey: pending_survey(&list),
        connection: sync.connection_state(),
        has_earlier,
    };
    let messages = list
        .into_iter()
        .map(|m| MessageItem { id: m.local_id, delivery: delivery(&m, c.agent_read_seq), message: m })
        .collect();
    Ok(Some(ConversationState { details, messages }))
}

/// The newest survey prompt of the window that no answer (sent or queued) refers to.
fn pending_survey(list: &[ChatMessage]) -> Option<PendingSurvey> {
    let answered =
        |seq: i64| list.iter().any(|m| matches!(&m.survey, Some(MessageSurvey::Answer(a)) if a.survey_seq == seq));
    list.iter().rev().find_map(|m| match (&m.survey, m.seq) {
        (Some(MessageSurvey::Prompt(prompt)), Some(seq)) if !answered(seq) => {
            Some(PendingSurvey { seq, prompt: prompt.clone() })
        }
        _ => None,
    })
}

/// Every stored conversation as a list row, newest activity first.
pub fn list_state(sync: &SyncState) -> Result<ConversationListState> {
    let (list, flows, mut lasts) = sync.store().read(|conn| {
        let list = conversations::list(conn)?;
        let flows: HashMap<i64, Chatflow> = cache::load(conn)?.0.into_iter().map(|f| (f.id, f)).collect();
        let mut lasts = Vec::with_capacity(list.len());
        for c in &list {
            lasts.push(window(conn, &c.id, 1)?.pop());
        }
        Ok((list, flows, lasts))
    })?;
    for last in lasts.iter_mut().flatten() {
        sync.overlay_pending(std::slice::from_mut(last));
    }
    let mut rows: Vec<ConversationRow> = Vec::with_capacity(list.len());
    let built = list.iter().zip(lasts).map(|(c, last)| {
        let (title, avatar_url) = title(c, flows.get(&c.chatflow_id));
        let last_message = last.map(|m| LastMessage {
            preview: if m.body.is_empty() {
                m.attachments.first().map(|a| a.file_name.clone()).unwrap_or_default()
            } else {
                m.body.clone()
            },
            at: m.created_at,
            delivery: delivery(&m, c.agent_read_seq),
            author: m.author,
        });
        ConversationRow {
            conversation_id: c.id.clone(),
            chatflow_id: c.chatflow_id,
            title,
            avatar_url,
            status: c.status,
            updated_at: last_message.as_ref().map_or(c.created_at, |m| m.at.max(c.created_at)),
            last_message,
            unread_count: c.unread_count,
        }
    });
    // Newest activity first, ties by id. A visitor has a handful of conversations: placing each row in turn keeps
    // the library free of another instance of the general sort.
    for row in built {
        let at = rows
            .iter()
            .position(|r| (row.updated_at, &r.conversation_id) > (r.updated_at, &row.conversation_id))
            .unwrap_or(rows.len());
        rows.insert(at, row);
    }
    let total_unread = rows.iter().map(|r| r.unread_count).sum();
    Ok(ConversationListState { rows, total_unread })
}
