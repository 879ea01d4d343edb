//! Help desk: a chatflow or a channel may create a **ticket** for each new conversation (id, status, pipeline,
//! subject from the first visitor message). Agents list, read and update tickets and may create one by hand for a
//! conversation; admins set the creation rule per chatflow or per channel (the chatflow's rule wins). The rule is a
//! server-side setting, not part of the `Chatflow` the SDK reads.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::limits::MAX_PAGE_SIZE;
use chatflow_protocol::{Channel, ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::auth::{AdminAuth, AgentAuth};
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath, ApiQuery, NoBody};
use crate::inbox::app_conversation;
use crate::inbox::views::channel_label;
use crate::limits::{AgentWrite, AgentWriteLimited};
use crate::state::AppState;
use crate::store::inbox::{HelpDeskScope, HelpDeskSetting, TicketRecord, TicketStatus, TicketUpdate, DEFAULT_PIPELINE};
use crate::store::{Put, StoreError};

/// Longest ticket subject an agent may set, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// A help-desk ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub conversation_id: String,
    pub chatflow_id: i64,
    pub channel_label: String,
    pub pipeline: String,
    pub status: TicketStatus,
    /// The first visitor message (first line, shortened) until an agent changes it; absent before the visitor wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The conversation's assignee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_agent_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<TicketRecord> for Ticket {
    fn from(t: TicketRecord) -> Self {
        Ticket {
            id: t.id,
            conversation_id: t.conversation_id,
            chatflow_id: t.chatflow_id,
            channel_label: channel_label(t.channel).to_owned(),
            pipeline: t.pipeline,
            status: t.status,
            subject: t.subject,
            assignee_agent_id: t.assignee_agent_id,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TicketList {
    pub tickets: Vec<Ticket>,
    /// Pass as `cursor` (same filters) for the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TicketListQuery {
    pub status: Option<TicketStatus>,
    /// 1..=64 of `[A-Za-z0-9_-]`.
    #[param(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub pipeline: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = r"^-?[0-9]{1,18}$")]
    pub cursor: Option<String>,
    /// Page size, 1..=500 (default 100), newest first.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// `PATCH /v1/agent/tickets/{id}`: the fields to change (at least one; `null` is refused, leave the field out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub status: Option<TicketStatus>,
    /// 1..=64 of `[A-Za-z0-9_-]`.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub pipeline: Option<String>,
    /// 1..=200 characters, not only spaces (surrounding spaces are dropped).
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, min_length = 1, max_length = 200, pattern = r"\S")]
    pub subject: Option<String>,
}

/// States "at least one field" in the document: utoipa 5.5 writes `#[schema(min_properties)]` as `maxProperties`.
pub fn require_one_patch_field(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::{RefOr, Schema};
    if let Some(RefOr::T(Schema::Object(o))) = components.schemas.get_mut("TicketPatch") {
        o.min_properties = Some(1);
    }
}

/// A field that may be left out but not given as `null` (the document says which fields a patch may carry).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// `PUT /v1/admin/.../help-desk` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HelpDeskInput {
    /// Create a ticket for each new conversation.
    pub create_tickets: bool,
    /// Pipeline of the created tickets, 1..=64 of `[A-Za-z0-9_-]` (default `support`).
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub pipeline: Option<String>,
}

/// Where the effective help-desk setting comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HelpDeskSource {
    Chatflow,
    Channel,
    /// Nothing set: no tickets.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HelpDeskAnswer {
    pub create_tickets: bool,
    pub pipeline: String,
    pub source: HelpDeskSource,
}

fn valid_pipeline(p: &str) -> Result<(), ApiError> {
    let ok = !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        let shown: String = p.chars().take(65).collect();
        Err(ApiError::invalid_field(format!("pipeline must be 1..=64 of [A-Za-z0-9_-], got `{shown}`")))
    }
}

fn ticket_missing(id: i64) -> ApiError {
    ApiError::not_found(format!("ticket {id} does not exist"))
}

#[utoipa::path(
    get,
    path = "/v1/agent/tickets",
    tag = "tickets",
    security(("agent_token" = [])),
    params(TicketListQuery),
    responses(
        (status = 200, description = "The app's tickets, newest first", body = TicketList),
        (status = 400, description = "invalid_field, invalid_paging", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiQuery(q): ApiQuery<TicketListQuery>,
) -> Result<Json<TicketList>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_PAGE_SIZE {
        let msg = format!("limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}");
        return Err(ApiError::new(ErrorCode::InvalidPaging, msg));
    }
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            let digits = c.strip_prefix('-').unwrap_or(c);
            let shaped = (1..=18).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
            Some(c.parse::<i64>().ok().filter(|_| shaped).ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidPaging, "cursor is not a `next_cursor` this server returned")
            })?)
        }
    };
    if let Some(p) = &q.pipeline {
        valid_pipeline(p)?;
    }
    let app_id = auth.agent.app_id;
    let mut rows = state.db(move |s| s.tickets(&app_id, q.status, q.pipeline.as_deref(), before, limit + 1)).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|t| t.id.to_string())
    } else {
        None
    };
    Ok(Json(TicketList { tickets: rows.into_iter().map(Ticket::from).collect(), next_cursor }))
}

#[utoipa::path(
    get,
    path = "/v1/agent/tickets/{id}",
    tag = "tickets",
    security(("agent_token" = [])),
    params(("id" = i64, Path, description = "Ticket id")),
    responses(
        (status = 200, description = "The ticket", body = Ticket),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another app's ticket)", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Ticket>, ApiError> {
    let app_id = auth.agent.app_id;
    let t = state.db(move |s| s.ticket(&app_id, id)).await?.ok_or_else(|| ticket_missing(id))?;
    Ok(Json(t.into()))
}

#[utoipa::path(
    patch,
    path = "/v1/agent/tickets/{id}",
    tag = "tickets",
    security(("agent_token" = [])),
    description = "Changes the ticket's status, pipeline or subject (the fields present).",
    params(("id" = i64, Path, description = "Ticket id")),
    request_body = TicketPatch,
    responses(
        (status = 200, description = "The updated ticket", body = Ticket),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<i64>,
    ApiJson(patch): ApiJson<TicketPatch>,
) -> Result<Json<Ticket>, ApiError> {
    if patch == TicketPatch::default() {
        return Err(ApiError::invalid_field("give at least one of `status`, `pipeline`, `subject`"));
    }
    if let Some(p) = &patch.pipeline {
        valid_pipeline(p)?;
    }
    let subject = match patch.subject.as_deref().map(str::trim) {
        Some(s) if s.is_empty() || s.chars().count() > MAX_SUBJECT_CHARS => {
            return Err(ApiError::invalid_field(format!("subject must have 1..={MAX_SUBJECT_CHARS} characters")))
        }
        other => other.map(str::to_owned),
    };
    let update = TicketUpdate { status: patch.status, pipeline: patch.pipeline, subject };
    let (app_id, now) = (auth.agent.app_id, state.now_ms());
    let t = state.db(move |s| s.update_ticket(&app_id, id, &update, now)).await?.ok_or_else(|| ticket_missing(id))?;
    Ok(Json(t.into()))
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/ticket",
    tag = "tickets",
    security(("agent_token" = [])),
    description = "Creates the conversation's ticket (pipeline from its chatflow or channel setting, else `support`), \
        or returns the one it has.",
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 201, description = "Created", body = Ticket),
        (status = 200, description = "The conversation already had this ticket", body = Ticket),
        (status = 400, description = "invalid_body (a body was sent)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn create_for_conversation(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    _: NoBody,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let (app_id, now) = (auth.agent.app_id, state.now_ms());
    let put = state
        .db(move |s| {
            app_conversation(s, &app_id, &id)?;
            crate::domain::tickets::create(s, &id, None, now)
        })
        .await?;
    Ok(match put {
        Put::Created(t) => (StatusCode::CREATED, Json(t.into())),
        Put::Existing(t) => (StatusCode::OK, Json(t.into())),
    })
}

/// The effective setting of a scope (the chatflow's own, else its channel's, else none).
async fn effective(state: &AppState, app_id: String, scope: HelpDeskScope) -> Result<HelpDeskAnswer, ApiError> {
    state
        .db(move |s| {
            if let HelpDeskScope::Chatflow(id) = scope {
                if s.chatflow(&app_id, id)?.is_none() {
                    return Err(StoreError::NotFound(format!("chatflow {id} does not exist")));
                }
                if let Some(h) = s.help_desk(&app_id, &scope)? {
                    return Ok(HelpDeskAnswer {
                        create_tickets: h.create_tickets,
                        pipeline: h.pipeline,
                        source: HelpDeskSource::Chatflow,
                    });
                }
            }
            // Server conversations are mobile chats: a chatflow falls back to that channel's setting.
            let channel = match scope {
                HelpDeskScope::Channel(c) => c,
                HelpDeskScope::Chatflow(_) => Channel::MobileChat,
            };
            Ok(match s.help_desk(&app_id, &HelpDeskScope::Channel(channel))? {
                Some(h) => HelpDeskAnswer {
                    create_tickets: h.create_tickets,
                    pipeline: h.pipeline,
                    source: HelpDeskSource::Channel,
                },
                None => HelpDeskAnswer {
                    create_tickets: false,
                    pipeline: DEFAULT_PIPELINE.to_owned(),
                    source: HelpDeskSource::Default,
                },
            })
        })
        .await
}

async fn store_setting(
    state: &AppState,
    app_id: String,
    scope: HelpDeskScope,
    input: HelpDeskInput,
) -> Result<HelpDeskAnswer, ApiError> {
    let pipeline = input.pipeline.unwrap_or_else(|| DEFAULT_PIPELINE.to_owned());
    valid_pipeline(&pipeline)?;
    let setting = HelpDeskSetting { create_tickets: input.create_tickets, pipeline };
    let (app, sc) = (app_id.clone(), scope.clone());
    let stored = state.db(move |s| s.set_help_desk(&app, &sc, &setting)).await?;
    if !stored {
        if let HelpDeskScope::Chatflow(id) = scope {
            return Err(ApiError::not_found(format!("chatflow {id} does not exist")));
        }
    }
    effective(state, app_id, scope).await
}

#[utoipa::path(
    get,
    path = "/v1/admin/chatflows/{id}/help-desk",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = i64, Path, description = "Chatflow id")),
    responses(
        (status = 200, description = "Effective ticket creation for this chatflow", body = HelpDeskAnswer),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn get_chatflow_help_desk(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<HelpDeskAnswer>, ApiError> {
    Ok(Json(effective(&state, auth.app.id, HelpDeskScope::Chatflow(id)).await?))
}

#[utoipa::path(
    put,
    path = "/v1/admin/chatflows/{id}/help-desk",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Sets whether each new conversation of this chatflow creates a ticket (overrides the channel's rule).",
    params(("id" = i64, Path, description = "Chatflow id")),
    request_body = HelpDeskInput,
    responses(
        (status = 200, description = "Stored", body = HelpDeskAnswer),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn put_chatflow_help_desk(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<HelpDeskInput>,
) -> Result<Json<HelpDeskAnswer>, ApiError> {
    Ok(Json(store_setting(&state, auth.app.id, HelpDeskScope::Chatflow(id), input).await?))
}

#[utoipa::path(
    get,
    path = "/v1/admin/channels/{channel}/help-desk",
    tag = "admin",
    security(("admin_token" = [])),
    params(("channel" = Channel, Path, description = "Channel")),
    responses(
        (status = 200, description = "Ticket creation for this channel", body = HelpDeskAnswer),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown channel)", body = ErrorBody),
    )
)]
pub async fn get_channel_help_desk(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(channel): ApiPath<Channel>,
) -> Result<Json<HelpDeskAnswer>, ApiError> {
    Ok(Json(effective(&state, auth.app.id, HelpDeskScope::Channel(channel)).await?))
}

#[utoipa::path(
    put,
    path = "/v1/admin/channels/{channel}/help-desk",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Sets whether each new conversation of this channel creates a ticket (chatflow rules win).",
    params(("channel" = Channel, Path, description = "Channel")),
    request_body = HelpDeskInput,
    responses(
        (status = 200, description = "Stored", body = HelpDeskAnswer),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown channel)", body = ErrorBody),
    )
)]
pub async fn put_channel_help_desk(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(channel): ApiPath<Channel>,
    ApiJson(input): ApiJson<HelpDeskInput>,
) -> Result<Json<HelpDeskAnswer>, ApiError> {
    Ok(Json(store_setting(&state, auth.app.id, HelpDeskScope::Channel(channel), input).await?))
}

/// A help-desk rule of the seed file: `{"chatflow_id": 1, "create_tickets": true, "pipeline": "support"}` or
/// `{"channel": "mobile_chat", "create_tickets": true}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedHelpDesk {
    #[serde(default)]
    pub chatflow_id: Option<i64>,
    #[serde(default)]
    pub channel: Option<Channel>,
    pub create_tickets: bool,
    #[serde(default)]
    pub pipeline: Option<String>,
}

/// Checks the seed's rules of one app: one scope each, a chatflow of that app's seed (fixed id), a valid pipeline.
pub fn prepare_seed_rules(
    rules: Vec<SeedHelpDesk>,
    chatflows: &[crate::seed::SeedChatflow],
) -> Result<Vec<(HelpDeskScope, HelpDeskSetting)>, String> {
    let mut out = Vec::with_capacity(rules.len());
    for (i, r) in rules.into_iter().enumerate() {
        let scope = match (r.chatflow_id, r.channel) {
            (Some(id), None) if chatflows.iter().any(|c| c.id == Some(id)) => HelpDeskScope::Chatflow(id),
            (Some(id), None) => {
                return Err(format!("help_desk[{i}].chatflow_id {id} is not a chatflow (with a fixed id) of this app"))
            }
            (None, Some(channel)) => HelpDeskScope::Channel(channel),
            _ => return Err(format!("help_desk[{i}] needs exactly one of `chatflow_id` and `channel`")),
        };
        let pipeline = r.pipeline.unwrap_or_else(|| DEFAULT_PIPELINE.to_owned());
        valid_pipeline(&pipeline).map_err(|e| format!("help_desk[{i}]: {}", e.message))?;
        out.push((scope, HelpDeskSetting { create_tickets: r.create_tickets, pipeline }));
    }
    Ok(out)
}

/// Stores the seed's rules where the admin API has not set one yet.
pub fn apply_seed_rules(
    store: &dyn crate::store::Store,
    app_id: &str,
    rules: &[(HelpDeskScope, HelpDeskSetting)],
) -> Result<(), StoreError> {
    for (scope, setting) in rules {
        store.seed_help_desk(app_id, scope, setting)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flows() -> Vec<crate::seed::SeedChatflow> {
        let flow = |id: Option<i64>| crate::seed::SeedChatflow {
            id,
            input: crate::store::sqlite::test_support::chatflow_input("F"),
        };
        vec![flow(Some(1)), flow(None)]
    }

    fn parse(rules: serde_json::Value) -> Result<Vec<(HelpDeskScope, HelpDeskSetting)>, String> {
        prepare_seed_rules(serde_json::from_value(rules).map_err(|e| e.to_string())?, &flows())
    }

    #[test]
    fn seed_rules_name_one_scope_of_the_app() {
        let ok = parse(serde_json::json!([
            {"chatflow_id": 1, "create_tickets": true, "pipeline": "vip"},
            {"channel": "mobile_chat", "create_tickets": false}
        ]))
        .unwrap();
        assert_eq!(
            ok[0],
            (HelpDeskScope::Chatflow(1), HelpDeskSetting { create_tickets: true, pipeline: "vip".into() })
        );
        assert_eq!(ok[1].1.pipeline, DEFAULT_PIPELINE);
        let err = parse(serde_json::json!([{"chatflow_id": 2, "create_tickets": true}])).unwrap_err();
        assert!(err.contains("help_desk[0].chatflow_id 2"), "{err}");
        let err =
            parse(serde_json::json!([{"chatflow_id": 1, "channel": "email", "create_tickets": true}])).unwrap_err();
        assert!(err.contains("exactly one"), "{err}");
        assert!(parse(serde_json::json!([{"create_tickets": true}])).unwrap_err().contains("exactly one"));
        let err =
            parse(serde_json::json!([{"channel": "email", "create_tickets": true, "pipeline": "a b"}])).unwrap_err();
        assert!(err.contains("help_desk[0]: pipeline"), "{err}");
        assert!(parse(serde_json::json!([{"channel": "email", "create_tickets": true, "x": 1}])).is_err());
    }
}
