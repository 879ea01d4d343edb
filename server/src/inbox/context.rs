//! What the inbox shows around a conversation: the visitor's sidebar, the view counts, reopening, and knowledge-base
//! links for the composer.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use chatflow_protocol::{ConsentRecord, ConversationStatus, DeviceInfo, ErrorBody, ErrorCode, ServerFrame};
use serde::{Deserialize, Serialize};

use super::app_conversation;
use super::views::{conversation_row, summary, AgentConversationSummary};
use crate::auth::AgentAuth;
use crate::domain;
use crate::domain::inbox::ReopenOutcome;
use crate::error::ApiError;
use crate::http::{ApiPath, ApiQuery, NoBody};
use crate::kb::query::FtsQuery;
use crate::kb::ranked_search;
use crate::limits::{AgentWrite, AgentWriteLimited};
use crate::state::AppState;
use crate::store::inbox::{InboxQuery, InboxView};
use crate::tickets::Ticket;

/// Most of the visitor's other conversations in the sidebar.
pub const MAX_OTHER_CONVERSATIONS: usize = 20;

/// `GET /v1/agent/conversations/{id}/visitor`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VisitorContext {
    pub visitor_id: String,
    /// The app identified the visitor (a user id).
    pub identified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The `name` chat property, or `first_name` + `last_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Chat properties the app (or a bot) set.
    pub properties: BTreeMap<String, String>,
    /// `null` when the app never reported a device.
    pub device: Option<DeviceInfo>,
    /// Consent records, newest first.
    pub consents: Vec<ConsentRecord>,
    /// The visitor's other conversations, newest first, at most 20.
    pub conversations: Vec<AgentConversationSummary>,
    /// Tickets of the visitor's conversations (this one included), newest first.
    pub tickets: Vec<Ticket>,
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations/{id}/visitor",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "The visitor sidebar. A conversation whose contact was unlinked shows no user id, name or email.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's visitor", body = VisitorContext),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another app's conversation)", body = ErrorBody),
    )
)]
pub async fn visitor(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<VisitorContext>, ApiError> {
    let app_id = auth.agent.app_id;
    let hub = state.hub.clone();
    let ctx = state
        .db(move |s| {
            let conv = app_conversation(s, &app_id, &id)?;
            let missing = || crate::store::StoreError::NotFound(format!("conversation `{id}` does not exist"));
            let entry = s.inbox_entry(&id)?.ok_or_else(missing)?;
            let visitor = s.visitor(&conv.visitor_id)?.ok_or_else(missing)?;
            let (agents, flows) = (s.agents(&app_id)?, s.chatflows(&app_id)?);
            let mut conversations = Vec::new();
            let mut tickets = Vec::new();
            for other in s.visitor_conversations(&visitor.id)? {
                if let Some(t) = s.ticket_of_conversation(&other.id)? {
                    tickets.push(Ticket::from(t));
                }
                if other.id == conv.id || conversations.len() >= MAX_OTHER_CONVERSATIONS {
                    continue;
                }
                if let Some(e) = s.inbox_entry(&other.id)? {
                    conversations.push(summary(e, &agents, &flows, &hub));
                }
            }
            tickets.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
            // The contact as this conversation shows it (nothing once unlinked).
            let contact = entry.contact;
            Ok(VisitorContext {
                visitor_id: visitor.id.clone(),
                identified: visitor.user_id.is_some(),
                user_id: contact.user_id,
                name: contact.name,
                email: contact.email,
                properties: s.visitor_properties(&visitor.id)?,
                device: s.visitor_device(&visitor.id)?,
                consents: s.visitor_consents(&visitor.id)?,
                conversations,
                tickets,
            })
        })
        .await?;
    Ok(Json(ctx))
}

/// Numbers per view.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ViewNumbers {
    pub all: u64,
    pub mine: u64,
    pub unassigned: u64,
    pub bots: u64,
    pub filtered: u64,
}

impl ViewNumbers {
    fn slot(&mut self, view: InboxView) -> &mut u64 {
        match view {
            InboxView::All => &mut self.all,
            InboxView::Mine => &mut self.mine,
            InboxView::Unassigned => &mut self.unassigned,
            InboxView::Bots => &mut self.bots,
            InboxView::Filtered => &mut self.filtered,
        }
    }
}

/// `GET /v1/agent/conversations/counts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboxCounts {
    /// Open conversations per view.
    #[serde(flatten)]
    pub open: ViewNumbers,
    /// Open conversations per view with a message after the agents' read mark.
    pub unread: ViewNumbers,
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations/counts",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Open conversations per view (`mine` is the calling agent's), and `unread`: those of them with a \
        message after the agents' read mark.",
    responses(
        (status = 200, description = "Counts", body = InboxCounts),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn counts(State(state): State<AppState>, auth: AgentAuth) -> Result<Json<InboxCounts>, ApiError> {
    let agent = auth.agent;
    let counts = state
        .db(move |s| {
            let mut out = InboxCounts::default();
            // The list views' own query, so the numbers always match the lists.
            for view in [InboxView::All, InboxView::Mine, InboxView::Unassigned, InboxView::Bots, InboxView::Filtered] {
                let query = InboxQuery {
                    app_id: agent.app_id.clone(),
                    view,
                    agent_id: agent.id.clone(),
                    status: Some(ConversationStatus::Open),
                    assignee: None,
                    channel: None,
                    opened_from: None,
                    opened_before: None,
                    text: None,
                    after: None,
                    limit: u32::MAX,
                };
                for entry in s.inbox_entries(&query)? {
                    *out.open.slot(view) += 1;
                    if entry.conversation.last_seq > entry.conversation.agent_read_seq {
                        *out.unread.slot(view) += 1;
                    }
                }
            }
            Ok(out)
        })
        .await?;
    Ok(Json(counts))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/reopen",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "A closed conversation back to open (assignee kept). The visitor gets `conversation_reopened`; the \
        agents' feed reports the row.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's inbox row", body = AgentConversationSummary),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        (status = 409, description = "conflict: the conversation is not closed", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn reopen(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    _: NoBody,
) -> Result<Json<AgentConversationSummary>, ApiError> {
    let app_id = auth.agent.app_id;
    let now = state.now_ms();
    let (app, conv_id) = (app_id.clone(), id.clone());
    state
        .db_publish(move |s, hub| {
            app_conversation(s, &app, &conv_id)?;
            match domain::inbox::reopen(s, &conv_id, now)? {
                ReopenOutcome::Reopened(conv) => {
                    let frame = ServerFrame::ConversationReopened { conversation_id: conv.id.clone() };
                    hub.publish(&conv.visitor_id, &frame);
                    Ok(())
                }
                ReopenOutcome::NotClosed => Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("conversation `{conv_id}` is open: only a closed conversation can be reopened"),
                )),
            }
        })
        .await?;
    Ok(Json(conversation_row(&state, app_id, id).await?))
}

/// Query of `GET /v1/agent/kb/search`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct KbLinkQuery {
    /// What the agent typed (word-less text gives no hit).
    #[serde(default)]
    pub q: String,
    /// Hits, 1..=20 (default 5).
    #[param(minimum = 1, maximum = 20)]
    pub limit: Option<u32>,
}

/// One article for the composer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KbLink {
    pub article_id: i64,
    pub kb_id: i64,
    pub title: String,
    pub url: String,
    pub snippet: String,
    pub language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KbLinks {
    pub hits: Vec<KbLink>,
}

/// Most hits of one agent search.
pub const MAX_KB_LINKS: u32 = 20;

#[utoipa::path(
    get,
    path = "/v1/agent/kb/search",
    tag = "inbox",
    security(("agent_token" = [])),
    description = "Searches the knowledge bases the app's chatflows offer, with the SDK's rules (any language), best \
        first across bases.",
    params(KbLinkQuery),
    responses(
        (status = 200, description = "Hits", body = KbLinks),
        (status = 400, description = "invalid_paging (limit), invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn kb_search(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiQuery(q): ApiQuery<KbLinkQuery>,
) -> Result<Json<KbLinks>, ApiError> {
    let limit = q.limit.unwrap_or(5);
    if limit == 0 || limit > MAX_KB_LINKS {
        return Err(ApiError::new(
            ErrorCode::InvalidPaging,
            format!("limit must be between 1 and {MAX_KB_LINKS}, got {limit}"),
        ));
    }
    let app_id = auth.agent.app_id;
    let hits = state
        .db(move |s| {
            let Some(query) = FtsQuery::parse(&q.q) else { return Ok(Vec::new()) };
            let mut kb_ids: Vec<i64> = s
                .chatflows(&app_id)?
                .iter()
                .filter(|f| f.knowledge_base.enabled)
                .filter_map(|f| f.knowledge_base.kb_id)
                .collect();
            kb_ids.sort_unstable();
            kb_ids.dedup();
            let mut scored = Vec::new();
            for kb_id in kb_ids {
                for hit in ranked_search(s, &app_id, kb_id, &query, None, limit, 0)? {
                    let language =
                        s.kb_article(&app_id, kb_id, hit.article_id)?.map(|a| a.language).unwrap_or_default();
                    let link = KbLink {
                        article_id: hit.article_id,
                        kb_id,
                        title: hit.title,
                        url: hit.url,
                        snippet: hit.snippet,
                        language,
                    };
                    scored.push((hit.score, link));
                }
            }
            scored.sort_by(|a, b| b.0.total_cmp(&a.0));
            Ok(scored.into_iter().take(limit as usize).map(|(_, l)| l).collect())
        })
        .await?;
    Ok(Json(KbLinks { hits }))
}
