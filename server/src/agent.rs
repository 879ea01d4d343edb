//! The minimal agent side: list conversations, reply, close, read, typing, presence.
//!
//! Scoped to the agent token's app: a conversation of another app is `not_found`. The full inbox (views, filters,
//! assign, block) will extend this module; `AgentConversationSummary` is the row it will grow.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::limits::MAX_PAGE_SIZE;
use chatflow_protocol::{
    AgentReplyRequest, Author, AuthorKind, Conversation, ConversationStatus, ErrorBody, Message, ReadReceipt, Reader,
    ServerFrame, TypingAuthor, TypingRequest, TYPING_EXPIRES_MS,
};
use serde::{Deserialize, Serialize};

use crate::auth::AgentAuth;
use crate::conversations::{agent_ref, to_wire};
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath, ApiQuery, NoBody};
use crate::messages::{publish_appended, validate_body, validate_client_id};
use crate::state::{now_ms, AppState};
use crate::store::{AgentRecord, ConversationRecord, NewMessage, ReaderKind, Store, StoreError};

/// One row of the agent's conversation list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentConversationSummary {
    pub conversation: Conversation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_user_id: Option<String>,
    /// The visitor is typing now (expires 6 s after the last typing signal).
    pub visitor_typing: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentConversationList {
    pub conversations: Vec<AgentConversationSummary>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentPresence {
    pub available: bool,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentListQuery {
    /// Only conversations with this status.
    pub status: Option<ConversationStatus>,
    /// At most this many, most recently active first (1..=500, default 100).
    pub limit: Option<u32>,
}

/// The conversation if it belongs to the agent's app.
fn app_conversation(s: &dyn Store, agent: &AgentRecord, id: &str) -> Result<ConversationRecord, StoreError> {
    s.conversation(id)?
        .filter(|c| c.app_id == agent.app_id)
        .ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations",
    tag = "agent",
    security(("agent_token" = [])),
    params(AgentListQuery),
    responses(
        (status = 200, description = "Conversations of the agent's app", body = AgentConversationList),
        (status = 400, description = "invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiQuery(q): ApiQuery<AgentListQuery>,
) -> Result<Json<AgentConversationList>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        return Err(ApiError::invalid_field(format!("limit must be between 1 and {MAX_PAGE_SIZE}")));
    }
    let app_id = auth.agent.app_id;
    let rows = state
        .db(move |s| {
            let recs = s.app_conversations(&app_id, q.status, limit)?;
            let agents = s.agents(&app_id)?;
            let flows = s.chatflows(&app_id)?;
            let mut rows = Vec::with_capacity(recs.len());
            for rec in recs {
                let user = s.visitor(&rec.visitor_id)?.and_then(|v| v.user_id);
                rows.push((to_wire(rec, &agents, &flows), user));
            }
            Ok(rows)
        })
        .await?;
    let conversations = rows
        .into_iter()
        .map(|(conversation, visitor_user_id)| AgentConversationSummary {
            visitor_typing: state.hub.visitor_typing(&conversation.id),
            conversation,
            visitor_user_id,
        })
        .collect();
    Ok(Json(AgentConversationList { conversations }))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/messages",
    tag = "agent",
    security(("agent_token" = [])),
    description = "Replies as the agent; delivered live to the visitor. An unassigned conversation is assigned to \
        the replying agent; a closed one reopens. With `client_message_id` the reply is idempotent like a visitor \
        send (200 for a replay).",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = AgentReplyRequest,
    responses(
        (status = 201, description = "Stored and delivered", body = Message),
        (status = 200, description = "Replay of an already stored reply", body = Message),
        (status = 400, description = "invalid_body, invalid_field, message_too_long", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another app's conversation)", body = ErrorBody),
        (status = 409, description = "idempotency_conflict", body = ErrorBody),
    )
)]
pub async fn reply(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AgentReplyRequest>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    validate_body(&req.body)?;
    if let Some(c) = &req.client_message_id {
        validate_client_id("client_message_id", c)?;
    }
    let agent = auth.agent;
    let (message, created) = state
        .db_publish(move |s, hub| {
            let conv = app_conversation(s, &agent, &id)?;
            let chatflow = s.chatflow(&conv.app_id, conv.chatflow_id)?;
            let shown = agent_ref(&agent, chatflow.as_ref());
            let new = NewMessage {
                conversation_id: conv.id,
                client_message_id: req.client_message_id,
                author: Author {
                    kind: AuthorKind::Agent,
                    id: Some(agent.id.clone()),
                    display_name: Some(shown.display_name.clone()),
                    avatar_url: shown.avatar_url.clone(),
                },
                body: req.body,
                quick_reply_id: None,
                quick_replies: Vec::new(),
                now: now_ms(),
                owner_visitor_id: None,
                reopen: true,
                require_consent_hash: None,
                assign_if_unassigned: Some(agent.id.clone()),
            };
            let appended = s.append_message(&new)?;
            publish_appended(hub, &appended, Some(shown));
            Ok((appended.message, appended.created))
        })
        .await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(message)))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/close",
    tag = "agent",
    security(("agent_token" = [])),
    description = "Closes the conversation (no-op if closed). The visitor gets `conversation_closed`.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The closed conversation", body = Conversation),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn close(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
    _: NoBody,
) -> Result<Json<Conversation>, ApiError> {
    let agent = auth.agent;
    let conv = state
        .db_publish(move |s, hub| {
            app_conversation(s, &agent, &id)?;
            let (rec, changed) = s.close_conversation(&id, now_ms())?;
            if changed {
                hub.publish(&rec.visitor_id, &ServerFrame::ConversationClosed { conversation_id: rec.id.clone() });
            }
            let agents = s.agents(&agent.app_id)?;
            let flows: Vec<_> = s.chatflow(&agent.app_id, rec.chatflow_id)?.into_iter().collect();
            Ok(to_wire(rec, &agents, &flows))
        })
        .await?;
    Ok(Json(conv))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/read",
    tag = "agent",
    security(("agent_token" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    request_body = ReadReceipt,
    responses(
        (status = 204, description = "Read mark raised; the visitor gets a `read` frame"),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn read(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(receipt): ApiJson<ReadReceipt>,
) -> Result<StatusCode, ApiError> {
    let agent = auth.agent;
    state
        .db_publish(move |s, hub| {
            app_conversation(s, &agent, &id)?;
            let rec = s.mark_read(&id, ReaderKind::Agent, receipt.seq)?;
            let frame =
                ServerFrame::Read { conversation_id: rec.id.clone(), reader: Reader::Agent, seq: rec.agent_read_seq };
            hub.publish(&rec.visitor_id, &frame);
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/typing",
    tag = "agent",
    security(("agent_token" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    request_body = TypingRequest,
    responses(
        (status = 204, description = "The visitor gets a `typing` frame that expires after 6 s"),
        (status = 400, description = "invalid_body", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn typing(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<TypingRequest>,
) -> Result<StatusCode, ApiError> {
    let agent = auth.agent;
    state
        .db_publish(move |s, hub| {
            let conv = app_conversation(s, &agent, &id)?;
            let chatflow = s.chatflow(&conv.app_id, conv.chatflow_id)?;
            let shown = agent_ref(&agent, chatflow.as_ref());
            let frame = ServerFrame::Typing {
                conversation_id: conv.id,
                author: TypingAuthor { kind: AuthorKind::Agent, display_name: Some(shown.display_name) },
                typing: req.typing,
                expires_in_ms: TYPING_EXPIRES_MS,
            };
            hub.publish(&conv.visitor_id, &frame);
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put,
    path = "/v1/agent/presence",
    tag = "agent",
    security(("agent_token" = [])),
    description = "Sets the agent's presence, which drives `team_status` availability and available-only routing.",
    request_body = AgentPresence,
    responses(
        (status = 200, description = "Stored", body = AgentPresence),
        (status = 400, description = "invalid_body", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn presence(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiJson(p): ApiJson<AgentPresence>,
) -> Result<Json<AgentPresence>, ApiError> {
    state.db(move |s| s.set_agent_presence(&auth.agent.id, p.available)).await?;
    Ok(Json(p))
}
