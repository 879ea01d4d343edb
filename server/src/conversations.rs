//! Visitor conversations: open on a chatflow (routing picks an assignee), list, read one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{
    AgentRef, Chatflow, Conversation, ConversationList, ErrorBody, ErrorCode, OpenConversationRequest, ServerFrame,
};
use uuid::Uuid;

use crate::auth::VisitorAuth;
use crate::domain;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::messages::own_conversation;
use crate::state::AppState;
use crate::store::{AgentRecord, ConversationRecord};

/// Routing moved to `crate::routing`; re-exported for existing callers.
pub use crate::routing::{pick_assignee, team_available};

/// How an agent appears to visitors on this chatflow: the chat header's branding when it is used as agent alias.
pub fn agent_ref(agent: &AgentRecord, chatflow: Option<&Chatflow>) -> AgentRef {
    match chatflow.map(|c| &c.header) {
        Some(h) if h.use_branding_as_agent_alias => {
            AgentRef { id: agent.id.clone(), display_name: h.display_name.clone(), avatar_url: h.avatar_url.clone() }
        }
        _ => AgentRef {
            id: agent.id.clone(),
            display_name: agent.display_name.clone(),
            avatar_url: agent.avatar_url.clone(),
        },
    }
}

/// The wire shape of a stored conversation.
pub fn to_wire(rec: ConversationRecord, agents: &[AgentRecord], flows: &[Chatflow]) -> Conversation {
    let chatflow = flows.iter().find(|f| f.id == rec.chatflow_id);
    let assignee = rec
        .assignee_agent_id
        .as_deref()
        .and_then(|id| agents.iter().find(|a| a.id == id))
        .map(|a| agent_ref(a, chatflow));
    Conversation {
        id: rec.id,
        chatflow_id: rec.chatflow_id,
        visitor_id: rec.visitor_id,
        status: rec.status,
        channel: rec.channel,
        assignee,
        created_at: rec.created_at,
        last_seq: rec.last_seq,
        agent_read_seq: rec.agent_read_seq,
        visitor_read_seq: rec.visitor_read_seq,
    }
}

#[utoipa::path(
    post,
    path = "/v1/conversations",
    tag = "conversations",
    security(("visitor_token" = [])),
    request_body = OpenConversationRequest,
    responses(
        (status = 201, description = "Opened (routing may have assigned it)", body = Conversation),
        (status = 400, description = "invalid_body", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "chatflow_disabled", body = ErrorBody),
        (status = 404, description = "not_found (no such chatflow in this app)", body = ErrorBody),
    )
)]
pub async fn open_conversation(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiJson(req): ApiJson<OpenConversationRequest>,
) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    let visitor = auth.visitor;
    let now = state.now_ms();
    let conversation = state
        .db_publish(move |s, hub| {
            let chatflow = s.chatflow(&visitor.app_id, req.chatflow_id)?.ok_or_else(|| {
                ApiError::not_found(format!("chatflow {} does not exist in this app", req.chatflow_id))
            })?;
            if !chatflow.enabled {
                return Err(ApiError::new(
                    ErrorCode::ChatflowDisabled,
                    format!("chatflow {} is disabled; resolve the tag again to get the current one", chatflow.id),
                ));
            }
            // Routed in the same unit of work; a bot conversation is routed when the bot hands off (`inbox::hand_off`).
            let rec = domain::conversations::open(s, &chatflow, &visitor, Uuid::now_v7().to_string(), now)?;
            let agents = s.agents(&visitor.app_id)?;
            let conversation = to_wire(rec, &agents, std::slice::from_ref(&chatflow));
            if conversation.assignee.is_some() {
                // Other devices of the visitor learn about the assignment too.
                let frame = ServerFrame::Assigned {
                    conversation_id: conversation.id.clone(),
                    agent: conversation.assignee.clone(),
                };
                hub.publish(&visitor.id, &frame);
            }
            Ok(conversation)
        })
        .await?;
    // On a bot chatflow the bot greets and asks its first question (its own task: `bots::runner`).
    crate::bots::conversation_opened(&state, &conversation.id);
    Ok((StatusCode::CREATED, Json(conversation)))
}

#[utoipa::path(
    get,
    path = "/v1/conversations",
    tag = "conversations",
    security(("visitor_token" = [])),
    responses(
        (status = 200, description = "The visitor's conversations, newest first", body = ConversationList),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn list_conversations(
    State(state): State<AppState>,
    auth: VisitorAuth,
) -> Result<Json<ConversationList>, ApiError> {
    let visitor = auth.visitor;
    let list = state
        .db(move |s| {
            let recs = s.visitor_conversations(&visitor.id)?;
            let agents = s.agents(&visitor.app_id)?;
            let flows = s.chatflows(&visitor.app_id)?;
            Ok(recs.into_iter().map(|r| to_wire(r, &agents, &flows)).collect())
        })
        .await?;
    Ok(Json(ConversationList { conversations: list }))
}

#[utoipa::path(
    get,
    path = "/v1/conversations/{id}",
    tag = "conversations",
    security(("visitor_token" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another visitor's conversation)", body = ErrorBody),
    )
)]
pub async fn get_conversation(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Conversation>, ApiError> {
    let visitor = auth.visitor;
    let conv = state
        .db(move |s| {
            let rec = own_conversation(s, &visitor.id, &id)?;
            let agents = s.agents(&visitor.app_id)?;
            let flows: Vec<Chatflow> = s.chatflow(&visitor.app_id, rec.chatflow_id)?.into_iter().collect();
            Ok(to_wire(rec, &agents, &flows))
        })
        .await?;
    Ok(Json(conv))
}
