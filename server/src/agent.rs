//! The agent side of a conversation: reply, read, typing, presence. The inbox (list views, filters, assign, close,
//! block, take over, transcripts) lives in `crate::inbox`.
//!
//! Scoped to the agent token's app: a conversation of another app is `not_found`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{
    AgentReplyRequest, Author, AuthorKind, ErrorBody, Message, ReadReceipt, Reader, ServerFrame, TypingAuthor,
    TypingRequest, TYPING_EXPIRES_MS,
};
use serde::{Deserialize, Serialize};

use crate::conversations::agent_ref;
use crate::domain;
use crate::domain::messages::NewMessage;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::limits::{AgentWrite, AgentWriteLimited};
use crate::messages::{publish_appended, validate_body_with, validate_client_id};
use crate::state::AppState;
use crate::store::attachments::Owner;
use crate::store::{AgentRecord, ConversationRecord, ReaderKind, Store, StoreError};

pub use crate::inbox::views::{AgentConversationList, AgentConversationSummary};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentPresence {
    pub available: bool,
}

/// The conversation if it belongs to the agent's app.
fn app_conversation(s: &dyn Store, agent: &AgentRecord, id: &str) -> Result<ConversationRecord, StoreError> {
    s.conversation(id)?
        .filter(|c| c.app_id == agent.app_id)
        .ok_or_else(|| StoreError::NotFound(format!("conversation `{id}` does not exist")))
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
        AgentWriteLimited,
    )
)]
pub async fn reply(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AgentReplyRequest>,
) -> Result<(StatusCode, Json<Message>), ApiError> {
    validate_body_with(&req.body, !req.attachments.is_empty())?;
    if let Some(c) = &req.client_message_id {
        validate_client_id("client_message_id", c)?;
    }
    let agent = auth.agent;
    let now = state.now_ms();
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
                now,
                owner_visitor_id: None,
                reopen: true,
                require_consent_hash: None,
                assign_if_unassigned: Some(agent.id.clone()),
                survey: None,
            };
            let owner = Owner::Agent(agent.id.clone());
            let appended = domain::messages::append_files(s, &new, Some((&owner, &req.attachments)))?;
            publish_appended(hub, &appended, Some(shown));
            Ok((appended.message, appended.created))
        })
        .await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(message)))
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
        AgentWriteLimited,
    )
)]
pub async fn read(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    ApiJson(receipt): ApiJson<ReadReceipt>,
) -> Result<StatusCode, ApiError> {
    let agent = auth.agent;
    state
        .db_publish(move |s, hub| {
            app_conversation(s, &agent, &id)?;
            let rec = domain::conversations::mark_read(s, &id, ReaderKind::Agent, receipt.seq)?;
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
        AgentWriteLimited,
    )
)]
pub async fn typing(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
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
        AgentWriteLimited,
    )
)]
pub async fn presence(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiJson(p): ApiJson<AgentPresence>,
) -> Result<Json<AgentPresence>, ApiError> {
    let agent = auth.agent;
    let id = agent.id.clone();
    state.db(move |s| s.set_agent_presence(&id, p.available)).await?;
    crate::agent_feed::publish_presence(&state, &agent.app_id, &agent.id, p.available);
    Ok(Json(p))
}
