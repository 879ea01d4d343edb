//! Admin API: chatflow CRUD for the app the admin token belongs to.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{Chatflow, ChatflowInput, ChatflowList, ErrorBody};

use crate::auth::AdminAuth;
use crate::bots::{self, ChatflowRejection, SaveError};
use crate::chatflows::validate::validate_chatflow;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::store::{Store, TeamMember};

fn validated(s: &dyn Store, app_id: &str, input: &ChatflowInput) -> Result<(), ApiError> {
    let agents = s.agents(app_id)?;
    // Validation asks whether a routed team exists: a team without members yet (POST /v1/admin/teams) counts, as
    // one entry with no agent (routing reads the real members).
    let mut members = Vec::new();
    for team in s.teams(app_id)? {
        if team.agent_ids.is_empty() {
            members.push(TeamMember { team_id: team.id, agent_id: String::new() });
        } else {
            members
                .extend(team.agent_ids.into_iter().map(|agent_id| TeamMember { team_id: team.id.clone(), agent_id }));
        }
    }
    validate_chatflow(input, &agents, &members).map_err(ApiError::invalid_field)
}

fn missing(id: i64) -> ApiError {
    ApiError::not_found(format!("chatflow {id} does not exist in this app"))
}

#[utoipa::path(
    get,
    path = "/v1/admin/chatflows",
    tag = "admin",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Every chatflow of the admin's app", body = ChatflowList),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, auth: AdminAuth) -> Result<Json<ChatflowList>, ApiError> {
    let limits = crate::attachments::limits::limits_of(&state, &auth.app.id).await?;
    let chatflows = state.db(move |s| s.chatflows(&auth.app.id)).await?;
    let etag = crate::chatflows::etag_with_limits(&chatflows, &limits);
    Ok(Json(ChatflowList { chatflows, etag, attachment_limits: limits }))
}

#[utoipa::path(
    post,
    path = "/v1/admin/chatflows",
    tag = "admin",
    security(("admin_token" = [])),
    request_body = ChatflowInput,
    responses(
        (status = 201, description = "Created", body = Chatflow),
        (status = 400, description = "invalid_body, invalid_field (the message names the field). A bot with \
            problems (unreachable or disconnected nodes, branches to missing nodes, loops without a question, bad \
            values) is `invalid_field` with every problem in `message` and in `problems`", body = ChatflowRejection),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiJson(input): ApiJson<ChatflowInput>,
) -> Result<(StatusCode, Json<Chatflow>), SaveError> {
    bots::check_chatflow(&input)?;
    let app_id = auth.app.id;
    let now = state.now_ms();
    let created = state
        .db_try(move |s| {
            validated(s, &app_id, &input)?;
            Ok(s.create_chatflow(&app_id, &input, now)?)
        })
        .await?;
    tracing::info!(chatflow = created.id, "chatflow created");
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(
    get,
    path = "/v1/admin/chatflows/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = i64, Path, description = "Chatflow id")),
    responses(
        (status = 200, description = "The chatflow", body = Chatflow),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Chatflow>, ApiError> {
    let flow = state.db(move |s| s.chatflow(&auth.app.id, id)).await?.ok_or_else(|| missing(id))?;
    Ok(Json(flow))
}

#[utoipa::path(
    put,
    path = "/v1/admin/chatflows/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    params(("id" = i64, Path, description = "Chatflow id")),
    request_body = ChatflowInput,
    responses(
        (status = 200, description = "Replaced", body = Chatflow),
        (status = 400, description = "invalid_body, invalid_field; a bot with problems lists them in `problems` \
            (see POST)", body = ChatflowRejection),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ChatflowInput>,
) -> Result<Json<Chatflow>, SaveError> {
    bots::check_chatflow(&input)?;
    let app_id = auth.app.id;
    let now = state.now_ms();
    let flow = state
        .db_try(move |s| {
            validated(s, &app_id, &input)?;
            s.update_chatflow(&app_id, id, &input, now)?.ok_or_else(|| missing(id))
        })
        .await?;
    tracing::info!(chatflow = id, "chatflow updated");
    Ok(Json(flow))
}

#[utoipa::path(
    delete,
    path = "/v1/admin/chatflows/{id}",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Deletes the chatflow. Its conversations stay; new ones cannot be opened on it.",
    params(("id" = i64, Path, description = "Chatflow id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    if !state.db(move |s| s.delete_chatflow(&auth.app.id, id)).await? {
        return Err(missing(id));
    }
    tracing::info!(chatflow = id, "chatflow deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// States in the document that a `bot` chatflow carries `bot` settings and no other kind does, and that an `ai_agent`
/// answers from an enabled knowledge base: `ChatflowInput` becomes `allOf` [its fields, `oneOf` [kind `bot` with
/// `bot`, `live_chat` without, `ai_agent` without `bot` and with `knowledge_base` enabled and a `kb_id`]].
pub fn bot_settings_follow_the_kind(components: &mut utoipa::openapi::Components) {
    use utoipa::openapi::schema::{AllOfBuilder, OneOfBuilder, Schema, Type};
    use utoipa::openapi::{ObjectBuilder, Ref, RefOr};
    let Some(RefOr::T(fields)) = components.schemas.remove("ChatflowInput") else { return };
    let kind = |kinds: &[&str]| ObjectBuilder::new().schema_type(Type::String).enum_values(Some(kinds.to_vec()));
    let with_bot = ObjectBuilder::new()
        .property("kind", kind(&["bot"]))
        .property("bot", Ref::from_schema_name("BotSettings"))
        .required("kind")
        .required("bot");
    let without_bot = ObjectBuilder::new()
        .property("kind", kind(&["live_chat"]))
        .property("bot", ObjectBuilder::new().schema_type(Type::Null))
        .required("kind");
    let enabled_base = ObjectBuilder::new()
        .property("enabled", ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([true])))
        .property("kb_id", ObjectBuilder::new().schema_type(Type::Integer))
        .required("enabled")
        .required("kb_id");
    let ai_agent = ObjectBuilder::new()
        .property("kind", kind(&["ai_agent"]))
        .property("bot", ObjectBuilder::new().schema_type(Type::Null))
        .property("knowledge_base", enabled_base)
        .required("kind")
        .required("knowledge_base");
    let shapes = OneOfBuilder::new().item(with_bot).item(without_bot).item(ai_agent);
    let description = match &fields {
        Schema::Object(o) => o.description.clone(),
        _ => None,
    };
    let schema = AllOfBuilder::new().item(fields).item(shapes).description(description);
    components.schemas.insert("ChatflowInput".to_owned(), RefOr::T(schema.into()));
}
