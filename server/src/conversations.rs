//! Visitor conversations: open on a chatflow (routing picks an assignee), list, read one.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{
    AgentRef, Chatflow, Conversation, ConversationList, ErrorBody, ErrorCode, OpenConversationRequest, Routing,
    RoutingTarget, ServerFrame,
};
use uuid::Uuid;

use crate::auth::VisitorAuth;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::messages::own_conversation;
use crate::state::{now_ms, AppState};
use crate::store::{AgentRecord, ConversationRecord, NewConversation, TeamMember};

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

/// Agents a chatflow's routing may pick, ascending id, before any presence filter. `None` means "anyone of the app"
/// (unassigned or contact-owner routing: the owner can be any agent).
fn routed_ids(routing: &Routing, members: &[TeamMember]) -> Option<Vec<String>> {
    match &routing.target {
        RoutingTarget::Specific { agent_ids, team_ids } => {
            let mut ids: Vec<String> = agent_ids
                .iter()
                .cloned()
                .chain(members.iter().filter(|m| team_ids.contains(&m.team_id)).map(|m| m.agent_id.clone()))
                .collect();
            ids.sort();
            ids.dedup();
            Some(ids)
        }
        RoutingTarget::Unassigned | RoutingTarget::ContactOwner { .. } => None,
    }
}

/// Is anyone the chatflow routes to available? (`team_status` availability.) `None` when no agent is known.
pub fn team_available(routing: &Routing, agents: &[AgentRecord], members: &[TeamMember]) -> Option<bool> {
    let routed: Vec<&AgentRecord> = match routed_ids(routing, members) {
        Some(ids) => agents.iter().filter(|a| ids.contains(&a.id)).collect(),
        None => agents.iter().collect(),
    };
    (!routed.is_empty()).then(|| routed.iter().any(|a| a.available))
}

/// Picks the assignee of a new conversation: round-robin (by `cursor`) over the specific agents and team members,
/// or the contact owner's fallback; only available agents when the chatflow says so.
pub fn pick_assignee(routing: &Routing, agents: &[AgentRecord], members: &[TeamMember], cursor: u64) -> Option<String> {
    let eligible = |a: &&AgentRecord| !routing.available_agents_only || a.available;
    match &routing.target {
        RoutingTarget::Unassigned => None,
        RoutingTarget::ContactOwner { fallback_agent_id } => {
            // Visitors of the mobile channel have no contact owner yet: the fallback takes the conversation.
            let id = fallback_agent_id.as_deref()?;
            agents.iter().find(|a| a.id == id).filter(eligible).map(|a| a.id.clone())
        }
        RoutingTarget::Specific { .. } => {
            let ids = routed_ids(routing, members).unwrap_or_default();
            let pool: Vec<&AgentRecord> = agents.iter().filter(|a| ids.contains(&a.id)).filter(eligible).collect();
            if pool.is_empty() {
                return None;
            }
            Some(pool[(cursor % pool.len() as u64) as usize].id.clone())
        }
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
            let agents = s.agents(&visitor.app_id)?;
            let members = s.team_members(&visitor.app_id)?;
            let assignee = match chatflow.routing.target {
                RoutingTarget::Specific { .. } => {
                    let cursor = s.next_routing_cursor(chatflow.id)?;
                    pick_assignee(&chatflow.routing, &agents, &members, cursor)
                }
                _ => pick_assignee(&chatflow.routing, &agents, &members, 0),
            };
            let rec = s.create_conversation(&NewConversation {
                id: Uuid::now_v7().to_string(),
                app_id: visitor.app_id.clone(),
                chatflow_id: chatflow.id,
                visitor_id: visitor.id.clone(),
                assignee_agent_id: assignee,
                now: now_ms(),
            })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(id: &str, available: bool) -> AgentRecord {
        AgentRecord { id: id.into(), app_id: "a".into(), display_name: id.into(), avatar_url: None, available }
    }

    fn specific(agents: &[&str], teams: &[&str], only_available: bool) -> Routing {
        Routing {
            target: RoutingTarget::Specific {
                agent_ids: agents.iter().map(|s| s.to_string()).collect(),
                team_ids: teams.iter().map(|s| s.to_string()).collect(),
            },
            available_agents_only: only_available,
        }
    }

    #[test]
    fn round_robin_over_agents_and_team_members() {
        let agents = [agent("a1", true), agent("a2", false), agent("a3", true), agent("x", true)];
        let members = [TeamMember { team_id: "t".into(), agent_id: "a3".into() }];
        let r = specific(&["a1", "a2"], &["t"], false);
        let picks: Vec<_> = (0..4).map(|c| pick_assignee(&r, &agents, &members, c).unwrap()).collect();
        assert_eq!(picks, ["a1", "a2", "a3", "a1"]);
        let r = specific(&["a1", "a2"], &["t"], true);
        let picks: Vec<_> = (0..3).map(|c| pick_assignee(&r, &agents, &members, c).unwrap()).collect();
        assert_eq!(picks, ["a1", "a3", "a1"]);
        assert_eq!(pick_assignee(&specific(&["a2"], &[], true), &agents, &members, 0), None);
    }

    #[test]
    fn contact_owner_falls_back_and_team_presence() {
        let agents = [agent("a1", false), agent("a2", true)];
        let owner = |fallback: Option<&str>, only: bool| Routing {
            target: RoutingTarget::ContactOwner { fallback_agent_id: fallback.map(str::to_owned) },
            available_agents_only: only,
        };
        assert_eq!(pick_assignee(&owner(Some("a1"), false), &agents, &[], 0).as_deref(), Some("a1"));
        assert_eq!(pick_assignee(&owner(Some("a1"), true), &agents, &[], 0), None);
        assert_eq!(pick_assignee(&owner(None, false), &agents, &[], 0), None);
        assert_eq!(team_available(&specific(&["a1"], &[], false), &agents, &[]), Some(false));
        assert_eq!(team_available(&specific(&["a1", "a2"], &[], false), &agents, &[]), Some(true));
        assert_eq!(team_available(&specific(&["nobody"], &[], false), &agents, &[]), None);
        assert_eq!(team_available(&owner(None, false), &agents, &[]), Some(true));
    }
}
