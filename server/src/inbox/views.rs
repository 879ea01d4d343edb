//! Inbox views and filters: the conversation list (views all / mine / unassigned / bots / filtered; status,
//! assignee, channel, opened-at range, text search; newest first with a cursor), one conversation, its messages, and
//! the team's agents with their presence.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chatflow_protocol::limits::MAX_PAGE_SIZE;
use chatflow_protocol::{Channel, Chatflow, Conversation, ConversationStatus, ErrorBody, ErrorCode, MessagePage};
use serde::{Deserialize, Serialize};

use super::app_conversation;
use crate::auth::AgentAuth;
use crate::conversations::to_wire;
use crate::error::ApiError;
use crate::http::{ApiPath, ApiQuery};
use crate::messages::{paging, MessagesQuery};
use crate::realtime::Hub;
use crate::state::AppState;
use crate::store::inbox::{HandledBy, InboxEntry, InboxQuery, InboxView};
use crate::store::AgentRecord;

/// Longest `q` search text, in characters.
pub const MAX_SEARCH_CHARS: usize = 200;
/// Longest message preview in a row, in characters.
pub const PREVIEW_CHARS: usize = 140;
/// Default page size of the conversation list.
pub const DEFAULT_LIST_LIMIT: u32 = 100;

/// One row of the inbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentConversationSummary {
    /// The conversation as the visitor sees it (assignee with the chatflow's alias applied).
    pub conversation: Conversation,
    /// The identified user id (absent for anonymous visitors and unlinked contacts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_user_id: Option<String>,
    /// The visitor is typing now (expires 6 s after the last typing signal).
    pub visitor_typing: bool,
    /// The contact's name (chat property `name`, or `first_name` + `last_name`), else their email, else
    /// `Visitor #<last 8 characters of the visitor id>`.
    pub contact_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_email: Option<String>,
    /// What the row shows: the ticket subject, else the last message (shortened), else `(no messages yet)`.
    pub title: String,
    /// The last message, at most 140 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<String>,
    /// When the conversation was opened (Unix ms).
    pub opened_at: i64,
    /// The last close (Unix ms), absent while open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<i64>,
    /// `Chat` (mobile chat), `Email`, `Form`, `Messenger`, `WhatsApp` or `Call`.
    pub channel_label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chatflow_name: Option<String>,
    pub handled_by: HandledBy,
    /// The visitor is a blocked sender (the row is in the `filtered` view).
    pub blocked: bool,
    /// Marked as spam (the row is in the `filtered` view).
    pub spam: bool,
    pub contact_unlinked: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentConversationList {
    pub conversations: Vec<AgentConversationSummary>,
    /// Pass as `cursor` (with the same filters) for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AgentListQuery {
    /// `all` (default: conversations the team handles), `mine`, `unassigned`, `bots` (still run by a bot, never
    /// assigned), `filtered` (blocked senders and spam; shown in no other view).
    pub view: Option<InboxView>,
    /// Only conversations with this status.
    pub status: Option<ConversationStatus>,
    /// Only conversations assigned to this agent id (an agent of the app: another id is `not_found`).
    #[param(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub assignee: Option<String>,
    /// Only conversations of this channel (the inbox's per-channel views).
    pub channel: Option<Channel>,
    /// Opened at or after this instant (Unix ms).
    pub from: Option<i64>,
    /// Opened before this instant (Unix ms). With `from`, a range that holds no instant (`to <= from`) gives an
    /// empty page.
    pub to: Option<i64>,
    /// Case-insensitive text searched in the contact's name and email and in every message (1..=200 characters,
    /// not only spaces).
    #[param(min_length = 1, max_length = 200, pattern = r"\S")]
    pub q: Option<String>,
    /// `next_cursor` of the previous page: a position in the list, `{opened_at}:{conversation id}`.
    #[param(pattern = r"^-?[0-9]{1,18}:[\s\S]+$")]
    pub cursor: Option<String>,
    /// Page size, 1..=500 (default 100), newest first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// A cursor is a plain keyset position: any `{opened_at}:{id}` is a valid place to continue from.
fn encode_cursor(created_at: i64, id: &str) -> String {
    format!("{created_at}:{id}")
}

fn decode_cursor(cursor: &str) -> Result<(i64, String), ApiError> {
    let bad = || ApiError::new(ErrorCode::InvalidPaging, "cursor is not a `next_cursor` this server returned");
    let (at, id) = cursor.split_once(':').ok_or_else(bad)?;
    let digits = at.strip_prefix('-').unwrap_or(at);
    if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let at = at.parse::<i64>().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((at, id.to_owned()))
}

/// The label the inbox shows for a channel.
pub fn channel_label(channel: Channel) -> &'static str {
    match channel {
        Channel::MobileChat => "Chat",
        Channel::Email => "Email",
        Channel::Form => "Form",
        Channel::Messenger => "Messenger",
        Channel::Whatsapp => "WhatsApp",
        Channel::Call => "Call",
    }
}

/// `Visitor #` and the last 8 characters of the visitor id (its random part).
pub fn anonymous_name(visitor_id: &str) -> String {
    let compact: Vec<char> = visitor_id.chars().filter(|c| *c != '-').collect();
    let tail: String = compact[compact.len().saturating_sub(8)..].iter().collect();
    format!("Visitor #{tail}")
}

fn shorten(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut out: String = flat.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// Builds a row from a store entry.
pub fn summary(entry: InboxEntry, agents: &[AgentRecord], flows: &[Chatflow], hub: &Hub) -> AgentConversationSummary {
    let InboxEntry { conversation: rec, state, contact, preview, ticket_id, ticket_subject } = entry;
    let preview = preview.map(|p| shorten(&p, PREVIEW_CHARS));
    let title = ticket_subject
        .filter(|s| !s.trim().is_empty())
        .or_else(|| preview.clone())
        .unwrap_or_else(|| "(no messages yet)".to_owned());
    let contact_name =
        contact.name.or_else(|| contact.email.clone()).unwrap_or_else(|| anonymous_name(&rec.visitor_id));
    let chatflow_name = flows.iter().find(|f| f.id == rec.chatflow_id).map(|f| f.name.clone());
    let conversation = to_wire(rec, agents, flows);
    AgentConversationSummary {
        visitor_typing: hub.visitor_typing(&conversation.id),
        visitor_user_id: contact.user_id,
        contact_name,
        contact_email: contact.email,
        title,
        preview,
        opened_at: conversation.created_at,
        closed_at: state.closed_at,
        channel_label: channel_label(conversation.channel).to_owned(),
        chatflow_name,
        handled_by: state.handled_by,
        blocked: state.blocked,
        spam: state.spam,
        contact_unlinked: state.contact_unlinked,
        ticket_id,
        conversation,
    }
}

/// The row of one conversation of the agent's app (`not_found` otherwise).
pub async fn conversation_row(
    state: &AppState,
    app_id: String,
    id: String,
) -> Result<AgentConversationSummary, ApiError> {
    let (entry, agents, flows) = state
        .db(move |s| {
            app_conversation(s, &app_id, &id)?;
            let entry = s
                .inbox_entry(&id)?
                .ok_or_else(|| crate::store::StoreError::NotFound(format!("conversation `{id}` does not exist")))?;
            Ok((entry, s.agents(&app_id)?, s.chatflows(&app_id)?))
        })
        .await?;
    Ok(summary(entry, &agents, &flows, &state.hub))
}

fn validate_query(q: &AgentListQuery, agents: &[AgentRecord]) -> Result<(), ApiError> {
    if let Some(a) = &q.assignee {
        if !agents.iter().any(|x| &x.id == a) {
            return Err(ApiError::not_found(format!("assignee: no agent `{a}` in this app")));
        }
    }
    if let Some(text) = &q.q {
        let n = text.trim().chars().count();
        if n == 0 || n > MAX_SEARCH_CHARS {
            return Err(ApiError::invalid_field(format!(
                "q must have 1..={MAX_SEARCH_CHARS} characters besides surrounding spaces, got {n}"
            )));
        }
    }
    Ok(())
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "The inbox: one view (`all`, `mine`, `unassigned`, `bots`, `filtered`) narrowed by filters, newest \
        first (by opening time), `limit` rows per page; follow `next_cursor` with the same filters for the next page.",
    params(AgentListQuery),
    responses(
        (status = 200, description = "A page of the view", body = AgentConversationList),
        (status = 400, description = "invalid_field (unknown parameter, bad search), invalid_paging", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (`assignee` is not an agent of the app)", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiQuery(q): ApiQuery<AgentListQuery>,
) -> Result<Json<AgentConversationList>, ApiError> {
    let limit = q.limit.unwrap_or(DEFAULT_LIST_LIMIT);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(ApiError::new(
            ErrorCode::InvalidPaging,
            format!("limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}"),
        ));
    }
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let agent = auth.agent;
    let (entries, agents, flows) = state
        .db_try(move |s| {
            let agents = s.agents(&agent.app_id)?;
            validate_query(&q, &agents)?;
            let query = InboxQuery {
                app_id: agent.app_id.clone(),
                view: q.view.unwrap_or(InboxView::All),
                agent_id: agent.id.clone(),
                status: q.status,
                assignee: q.assignee,
                channel: q.channel,
                opened_from: q.from,
                opened_before: q.to,
                text: q.q.map(|t| t.trim().to_owned()),
                after,
                limit: limit + 1,
            };
            Ok((s.inbox_entries(&query)?, agents, s.chatflows(&agent.app_id)?))
        })
        .await?;
    let mut rows: Vec<AgentConversationSummary> =
        entries.into_iter().map(|e| summary(e, &agents, &flows, &state.hub)).collect();
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|r| encode_cursor(r.opened_at, &r.conversation.id))
    } else {
        None
    };
    Ok(Json(AgentConversationList { conversations: rows, next_cursor }))
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations/{id}",
    tag = "inbox",
    security(("agent_token" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another app's conversation)", body = ErrorBody),
    )
)]
pub async fn get_one(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    Ok(Json(conversation_row(&state, auth.agent.app_id, id).await?))
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations/{id}/messages",
    tag = "inbox",
    security(("agent_token" = [])),
    params(("id" = String, Path, description = "Conversation id"), MessagesQuery),
    responses(
        (status = 200, description = "A page, ascending seq (same paging as the visitor route)", body = MessagePage),
        (status = 400, description = "invalid_paging", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn messages(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<MessagesQuery>, QueryRejection>,
) -> Result<Json<MessagePage>, ApiError> {
    let Query(q) = query.map_err(|r| ApiError::new(ErrorCode::InvalidPaging, r.body_text()))?;
    let (paging, limit) = paging(&q)?;
    let app_id = auth.agent.app_id;
    let page = state
        .db(move |s| {
            app_conversation(s, &app_id, &id)?;
            s.messages(&id, paging, limit)
        })
        .await?;
    Ok(Json(page))
}

/// An agent of the team, for assignment menus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamAgent {
    pub id: String,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    /// Presence: away agents receive no new conversations from routing.
    pub available: bool,
    pub team_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamAgentList {
    pub agents: Vec<TeamAgent>,
}

#[utoipa::path(
    get,
    path = "/v1/agent/agents",
    tag = "inbox",
    security(("agent_token" = [])),
    responses(
        (status = 200, description = "The app's agents with presence and teams, by id", body = TeamAgentList),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn agents(State(state): State<AppState>, auth: AgentAuth) -> Result<Json<TeamAgentList>, ApiError> {
    let app_id = auth.agent.app_id;
    let (agents, members) = state.db(move |s| Ok((s.agents(&app_id)?, s.team_members(&app_id)?))).await?;
    let agents = agents
        .into_iter()
        .map(|a| TeamAgent {
            team_ids: members.iter().filter(|m| m.agent_id == a.id).map(|m| m.team_id.clone()).collect(),
            id: a.id,
            display_name: a.display_name,
            avatar_url: a.avatar_url,
            available: a.available,
        })
        .collect();
    Ok(Json(TeamAgentList { agents }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_invalid_paging() {
        let c = encode_cursor(1_700_000_000_000, "0190-abc");
        assert_eq!(decode_cursor(&c).unwrap(), (1_700_000_000_000, "0190-abc".to_owned()));
        assert_eq!(decode_cursor("-5:x:y").unwrap(), (-5, "x:y".to_owned()));
        for bad in ["", "!!!", "x:y", "12:", "+12:x", ":x", "1234567890123456789:x"] {
            assert_eq!(decode_cursor(bad).unwrap_err().code, ErrorCode::InvalidPaging, "{bad}");
        }
    }

    #[test]
    fn row_texts() {
        assert_eq!(anonymous_name("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"), "Visitor #2e3f4a5b");
        assert_eq!(anonymous_name("ab"), "Visitor #ab");
        assert_eq!(shorten("  a\n b  ", 10), "a b");
        assert_eq!(shorten(&"x".repeat(20), 10).chars().count(), 10);
        assert_eq!(channel_label(Channel::Whatsapp), "WhatsApp");
    }
}
