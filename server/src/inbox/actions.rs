//! Inbox actions on one conversation: assign / reassign / unassign, take a bot conversation over, close (with the
//! 30-minute rule of bot conversations), block and unblock the sender, mark and unmark as spam, unlink the contact,
//! delete. Each answers the conversation's inbox row (close: the `Conversation`, as before) and tells the visitor
//! what concerns them (`assigned`, `conversation_closed`); blocking, spam and unlinking are invisible to the visitor.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{Conversation, ConversationStatus, ErrorBody, ErrorCode, ServerFrame};
use serde::{Deserialize, Deserializer, Serialize};

use super::transcript::fmt_utc;
use super::views::{conversation_row, AgentConversationSummary};
use super::{app_conversation, publish_assigned, BOT_CLOSE_IDLE_MINUTES};
use crate::auth::AgentAuth;
use crate::conversations::to_wire;
use crate::domain;
use crate::domain::inbox::CloseOutcome;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath, NoBody};
use crate::limits::{AgentWrite, AgentWriteLimited};
use crate::state::AppState;

/// `POST /v1/agent/conversations/{id}/assign` body: either `{"agent_id": …}` or `{"team_id": …}`, never both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged, expecting = "either {\"agent_id\": an agent id or null} or {\"team_id\": a team id}, not both")]
pub enum AssignRequest {
    Agent(AssignToAgent),
    Team(AssignToTeam),
}

/// Assign to an agent, or unassign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignToAgent {
    /// The new assignee (any agent of the app, available or away), or `null` to unassign.
    #[serde(deserialize_with = "nullable")]
    #[schema(required = true, min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub agent_id: Option<String>,
}

/// Assign to a team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignToTeam {
    /// A team of the app: its routing picks an available member (round-robin), or leaves the conversation
    /// unassigned in that team when none is available.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub team_id: String,
}

/// A field that must be present but may be `null` (serde would take a missing `Option` as `null`).
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(d)
}

fn row_response(row: AgentConversationSummary) -> Json<AgentConversationSummary> {
    Json(row)
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/assign",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Assigns, reassigns (`agent_id`) or unassigns (`null`) the conversation; or assigns it to a team \
        (`team_id`): an available member by the team's round-robin, else unassigned (recorded as the team's). Manual \
        assignment to an agent ignores presence. Assigning a bot conversation to an agent takes it over from the \
        bot. The visitor gets an `assigned` frame when the assignee changed.",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = AssignRequest,
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 400, description = "invalid_body (neither or both of agent_id and team_id), invalid_field (no \
            such agent or team in this app)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn assign(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    let app_id = auth.agent.app_id;
    let now = state.now_ms();
    let (app, conv_id) = (app_id.clone(), id.clone());
    state
        .db_publish(move |s, hub| {
            app_conversation(s, &app, &conv_id)?;
            let a = match req {
                AssignRequest::Agent(a) => domain::inbox::assign(s, &conv_id, a.agent_id.as_deref(), false, now)?,
                AssignRequest::Team(t) => domain::inbox::assign_team(s, &conv_id, &t.team_id, now)?,
            };
            if a.changed {
                publish_assigned(s, hub, &a.conversation)?;
            }
            Ok(())
        })
        .await?;
    Ok(row_response(conversation_row(&state, app_id, id).await?))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/take-over",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Takes a bot conversation over: the bot stops, the conversation is assigned to the calling agent and \
        leaves the `bots` view for `all` / `mine`. Repeating it is a no-op for the agent who took it.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "forbidden (not a bot conversation)", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn take_over(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    _: NoBody,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    let agent = auth.agent;
    let now = state.now_ms();
    let (app_id, conv_id) = (agent.app_id.clone(), id.clone());
    state
        .db_publish(move |s, hub| {
            app_conversation(s, &app_id, &conv_id)?;
            let a = domain::inbox::take_over(s, &conv_id, &agent.id, now)?;
            if a.taken_over {
                if a.changed {
                    publish_assigned(s, hub, &a.conversation)?;
                }
                return Ok(());
            }
            let state = s.inbox_state(&conv_id)?;
            let mine = a.conversation.assignee_agent_id.as_deref() == Some(agent.id.as_str());
            if mine && state.is_some_and(|st| st.taken_over_at.is_some()) {
                return Ok(());
            }
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "conversation `{conv_id}` is handled by agents, not by a bot; use POST \
                     /v1/agent/conversations/{conv_id}/assign to change its assignee"
                ),
            ))
        })
        .await?;
    Ok(row_response(conversation_row(&state, agent.app_id, id).await?))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/close",
    tag = "agent",
    security(("agent_token" = [])),
    description = "Closes the conversation (no-op if closed). The visitor gets `conversation_closed`; a new visitor \
        (or agent) message reopens it. A bot conversation whose visitor never reached the handoff can only be closed \
        after 30 minutes of visitor inactivity (`forbidden` before, with the instant it becomes possible). When the \
        chatflow has `csat_survey` on, a mobile chat gets the satisfaction survey as its next message (author \
        `system`, `survey.type = prompt`), in the same transaction as the close.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The closed conversation", body = Conversation),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "forbidden (bot conversation active less than 30 minutes ago)", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn close(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    _: NoBody,
) -> Result<Json<Conversation>, ApiError> {
    let agent = auth.agent;
    let now = state.now_ms();
    let conv = state
        .db_publish(move |s, hub| {
            app_conversation(s, &agent.app_id, &id)?;
            let idle_ms = BOT_CLOSE_IDLE_MINUTES * 60_000;
            let rec = match domain::inbox::close_checked(s, &id, now, idle_ms)? {
                CloseOutcome::Closed { conversation, changed, survey } => {
                    if changed {
                        let frame = ServerFrame::ConversationClosed { conversation_id: conversation.id.clone() };
                        hub.publish(&conversation.visitor_id, &frame);
                    }
                    if let Some(message) = survey {
                        hub.publish(&conversation.visitor_id, &ServerFrame::Message { message: *message });
                    }
                    conversation
                }
                CloseOutcome::BotStillActive { closable_at } => {
                    let minutes = (closable_at - now + 59_999) / 60_000;
                    return Err(ApiError::new(
                        ErrorCode::Forbidden,
                        format!(
                            "conversation `{id}` is still run by its bot and the visitor never reached the handoff: \
                             it can be closed after {BOT_CLOSE_IDLE_MINUTES} minutes of visitor inactivity, at {} \
                             (in {minutes} min); take it over to close it now",
                            fmt_utc(closable_at)
                        ),
                    ));
                }
            };
            let agents = s.agents(&agent.app_id)?;
            let flows: Vec<_> = s.chatflow(&agent.app_id, rec.chatflow_id)?.into_iter().collect();
            Ok(to_wire(rec, &agents, &flows))
        })
        .await?;
    Ok(Json(conv))
}

/// What a flag action changes.
#[derive(Debug, Clone, Copy)]
enum Flag {
    Blocked(bool),
    Spam(bool),
    Unlinked,
}

async fn set_flag(
    state: &AppState,
    auth: AgentAuth,
    id: String,
    flag: Flag,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    let agent = auth.agent;
    let now = state.now_ms();
    let (app_id, conv_id) = (agent.app_id.clone(), id.clone());
    state
        .db(move |s| {
            let conv = app_conversation(s, &app_id, &conv_id)?;
            let changed = match flag {
                Flag::Blocked(on) => s.set_blocked(&app_id, &conv.visitor_id, on, &agent.id, now)?,
                Flag::Spam(on) => s.set_spam(&conv_id, on)?,
                Flag::Unlinked => s.unlink_contact(&conv_id)?,
            };
            if changed {
                tracing::info!(conversation = %conv_id, agent = %agent.id, ?flag, "inbox flag changed");
            }
            Ok(())
        })
        .await?;
    Ok(row_response(conversation_row(state, agent.app_id, id).await?))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/block",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Blocks the conversation's sender: all their conversations, and everything they send later, show \
        only in the `filtered` view and are never routed. The visitor still sees and uses the chat.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn block(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    _: NoBody,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    set_flag(&state, auth, id, Flag::Blocked(true)).await
}

#[utoipa::path(
    delete,
    path = "/v1/agent/conversations/{id}/block",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Unblocks the sender: their conversations come back to the regular views.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn unblock(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    set_flag(&state, auth, id, Flag::Blocked(false)).await
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/spam",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Marks this conversation (only this one) as spam: it moves to the `filtered` view.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn spam(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    _: NoBody,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    set_flag(&state, auth, id, Flag::Spam(true)).await
}

#[utoipa::path(
    delete,
    path = "/v1/agent/conversations/{id}/spam",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Not spam after all: the conversation returns to the regular views (unless its sender is blocked).",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn unspam(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    set_flag(&state, auth, id, Flag::Spam(false)).await
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/unlink-contact",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Removes the association between the conversation and the contact: the row shows `Visitor #…`, \
        searching the contact's name or email no longer finds it, and it no longer makes its assignee the contact's \
        owner. The visitor's own access is unchanged.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn unlink_contact(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    _: NoBody,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    set_flag(&state, auth, id, Flag::Unlinked).await
}

#[utoipa::path(
    delete,
    path = "/v1/agent/conversations/{id}",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Deletes the conversation with its messages and ticket, for everyone. An open conversation is \
        closed for the visitor first (`conversation_closed`); afterwards it is `not_found` for them too.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let agent = auth.agent;
    state
        .db_publish(move |s, hub| {
            let conv = app_conversation(s, &agent.app_id, &id)?;
            if !s.delete_conversation(&id)? {
                return Err(ApiError::not_found(format!("conversation `{id}` does not exist")));
            }
            if conv.status == ConversationStatus::Open {
                hub.publish(&conv.visitor_id, &ServerFrame::ConversationClosed { conversation_id: conv.id.clone() });
            }
            tracing::info!(conversation = %id, agent = %agent.id, "conversation deleted");
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
