//! Admin API for the app's agents and teams (admin token): create an agent, list, disable/enable, reset a password,
//! create and list teams, add and remove members. Routing picks team members from the same tables.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::auth::AdminAuth;
use crate::domain::agents::{self, AccountError, AgentInput};
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::state::AppState;
use crate::store::accounts::{AgentAccount, Team};

/// An agent as the admin sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdminAgent {
    pub id: String,
    pub display_name: String,
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    pub available: bool,
    /// A disabled agent cannot sign in; its sessions and token are refused; routing skips it.
    pub disabled: bool,
    /// Whether the agent can sign in to the web inbox (has a password).
    pub has_password: bool,
    pub team_ids: Vec<String>,
}

impl From<AgentAccount> for AdminAgent {
    fn from(a: AgentAccount) -> Self {
        AdminAgent {
            id: a.agent.id,
            display_name: a.agent.display_name,
            email: a.email,
            avatar_url: a.agent.avatar_url,
            available: a.agent.available,
            disabled: a.disabled,
            has_password: a.has_password,
            team_ids: a.team_ids,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AdminAgentList {
    pub agents: Vec<AdminAgent>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAgentRequest {
    /// 1 to 64 of `[A-Za-z0-9_-]`, unique on the server; generated (`ag_…`) when absent.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub id: Option<String>,
    /// Sign-in email, unique in the app (case-insensitive): `name@domain`, no spaces, at most 254 characters.
    // `normalize_email`'s rule: surrounding spaces dropped, then `local@domain` without spaces or control characters,
    // one `@`, a domain not starting with `.`.
    #[schema(
        max_length = 254,
        pattern = r"^\s*[^\s\x00-\x1f\x7f-\x9f@]+@[^\s\x00-\x1f\x7f-\x9f@.][^\s\x00-\x1f\x7f-\x9f@]*\s*$"
    )]
    pub email: String,
    /// 1 to 100 characters, not only spaces (surrounding spaces are dropped).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub display_name: String,
    /// An `http://` or `https://` URL of at most 2048 characters.
    #[serde(default)]
    #[schema(max_length = 2048, pattern = r"^https?://")]
    pub avatar_url: Option<String>,
    /// 10 to 256 characters; generated and answered once when absent.
    #[serde(default)]
    #[schema(min_length = 10, max_length = 256)]
    pub password: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedAgentBody {
    pub agent: AdminAgent,
    /// The generated password, shown only here (absent when the request gave one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// The agent's API token for scripts (`Authorization: Bearer`), shown only here.
    pub api_token: String,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The new password (10 to 256 characters); generated and answered once when absent.
    #[serde(default)]
    #[schema(min_length = 10, max_length = 256)]
    pub password: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PasswordResetBody {
    /// The generated password (absent when the request gave one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamBody {
    pub id: String,
    pub agent_ids: Vec<String>,
}

impl From<Team> for TeamBody {
    fn from(t: Team) -> Self {
        TeamBody { id: t.id, agent_ids: t.agent_ids }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TeamList {
    pub teams: Vec<TeamBody>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeamRequest {
    /// 1 to 64 of `[A-Za-z0-9_-]`, unique in the app.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub id: String,
}

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Invalid(m) => ApiError::invalid_field(m),
            AccountError::Store(s) => s.into(),
        }
    }
}

fn no_agent(id: &str) -> ApiError {
    ApiError::not_found(format!("agent `{id}` does not exist in this app"))
}

#[utoipa::path(
    get,
    path = "/v1/admin/agents",
    tag = "accounts",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "Every agent of the app, disabled ones included, by id", body = AdminAgentList),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn list_agents(State(state): State<AppState>, auth: AdminAuth) -> Result<Json<AdminAgentList>, ApiError> {
    let agents = state.db(move |s| s.agent_accounts(&auth.app.id)).await?;
    Ok(Json(AdminAgentList { agents: agents.into_iter().map(AdminAgent::from).collect() }))
}

#[utoipa::path(
    post,
    path = "/v1/admin/agents",
    tag = "accounts",
    security(("admin_token" = [])),
    description = "Creates an agent who can sign in to the web inbox, away until they set their presence. Answers \
        its API token, and the password when it was generated: both only here.",
    request_body = CreateAgentRequest,
    responses(
        (status = 201, description = "Created", body = CreatedAgentBody),
        (status = 400, description = "invalid_body; invalid_field (bad email, password policy, id)", body = ErrorBody),
        (status = 409, description = "conflict: the id or the email is taken", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn create_agent(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiJson(req): ApiJson<CreateAgentRequest>,
) -> Result<(StatusCode, Json<CreatedAgentBody>), ApiError> {
    let input = AgentInput {
        id: req.id,
        email: req.email,
        display_name: req.display_name,
        avatar_url: req.avatar_url,
        password: req.password,
    };
    let app_id = auth.app.id;
    let created = state.db_try(move |s| Ok(agents::create_agent(s, &app_id, input)?)).await?;
    tracing::info!(agent = %created.account.agent.id, "agent created");
    let body = CreatedAgentBody {
        agent: created.account.into(),
        password: created.generated_password,
        api_token: created.api_token,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

async fn set_disabled(
    state: AppState,
    auth: AdminAuth,
    id: String,
    disabled: bool,
) -> Result<Json<AdminAgent>, ApiError> {
    let agent_id = id.clone();
    let account = state
        .db(move |s| s.set_agent_disabled(&auth.app.id, &agent_id, disabled))
        .await?
        .ok_or_else(|| no_agent(&id))?;
    tracing::info!(agent = %id, disabled, "agent access changed");
    Ok(Json(account.into()))
}

#[utoipa::path(
    post,
    path = "/v1/admin/agents/{id}/disable",
    tag = "accounts",
    security(("admin_token" = [])),
    description = "Disables the agent at once: sign-in refused, browser sessions ended, API token refused, left out of \
        routing and assignment. Idempotent.",
    params(("id" = String, Path, description = "Agent id")),
    responses(
        (status = 200, description = "Disabled", body = AdminAgent),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn disable_agent(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminAgent>, ApiError> {
    set_disabled(state, auth, id, true).await
}

#[utoipa::path(
    post,
    path = "/v1/admin/agents/{id}/enable",
    tag = "accounts",
    security(("admin_token" = [])),
    description = "Enables a disabled agent again (its old sessions stay ended: it signs in again). Idempotent.",
    params(("id" = String, Path, description = "Agent id")),
    responses(
        (status = 200, description = "Enabled", body = AdminAgent),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn enable_agent(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<AdminAgent>, ApiError> {
    set_disabled(state, auth, id, false).await
}

#[utoipa::path(
    post,
    path = "/v1/admin/agents/{id}/password",
    tag = "accounts",
    security(("admin_token" = [])),
    description = "Sets a new password and ends the agent's browser sessions (its API token keeps working). Body \
        `{}` generates one, answered once.",
    params(("id" = String, Path, description = "Agent id")),
    request_body = PasswordResetRequest,
    responses(
        (status = 200, description = "Password replaced", body = PasswordResetBody),
        (status = 400, description = "invalid_body; invalid_field (password policy)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found", body = ErrorBody),
    )
)]
pub async fn reset_password(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PasswordResetRequest>,
) -> Result<Json<PasswordResetBody>, ApiError> {
    let agent_id = id.clone();
    let app_id = auth.app.id;
    let generated = state
        .db_try(move |s| Ok(agents::reset_password(s, &app_id, &agent_id, req.password)?))
        .await?
        .ok_or_else(|| no_agent(&id))?;
    tracing::info!(agent = %id, "agent password reset");
    Ok(Json(PasswordResetBody { password: generated }))
}

#[utoipa::path(
    get,
    path = "/v1/admin/teams",
    tag = "accounts",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The app's teams with their members, by id", body = TeamList),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn list_teams(State(state): State<AppState>, auth: AdminAuth) -> Result<Json<TeamList>, ApiError> {
    let teams = state.db(move |s| s.teams(&auth.app.id)).await?;
    Ok(Json(TeamList { teams: teams.into_iter().map(TeamBody::from).collect() }))
}

#[utoipa::path(
    post,
    path = "/v1/admin/teams",
    tag = "accounts",
    security(("admin_token" = [])),
    description = "Creates an empty team; chatflow routing can name it (`team_ids`).",
    request_body = CreateTeamRequest,
    responses(
        (status = 201, description = "Created", body = TeamBody),
        (status = 400, description = "invalid_body; invalid_field (bad id)", body = ErrorBody),
        (status = 409, description = "conflict: the team exists", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn create_team(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiJson(req): ApiJson<CreateTeamRequest>,
) -> Result<(StatusCode, Json<TeamBody>), ApiError> {
    agents::check_id("id", &req.id).map_err(ApiError::invalid_field)?;
    let (id, now) = (req.id.clone(), state.now_ms());
    if !state.db(move |s| s.create_team(&auth.app.id, &id, now)).await? {
        return Err(ApiError::new(ErrorCode::Conflict, format!("team `{}` already exists", req.id)));
    }
    Ok((StatusCode::CREATED, Json(TeamBody { id: req.id, agent_ids: Vec::new() })))
}

#[utoipa::path(
    put,
    path = "/v1/admin/teams/{team_id}/members/{agent_id}",
    tag = "accounts",
    security(("admin_token" = [])),
    description = "Adds the agent to the team (idempotent). Routing to the team includes it from the next conversation.",
    params(("team_id" = String, Path, description = "Team id"), ("agent_id" = String, Path, description = "Agent id")),
    responses(
        (status = 204, description = "Member"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (team or agent)", body = ErrorBody),
    )
)]
pub async fn add_member(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath((team_id, agent_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.db(move |s| s.add_team_member(&auth.app.id, &team_id, &agent_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    delete,
    path = "/v1/admin/teams/{team_id}/members/{agent_id}",
    tag = "accounts",
    security(("admin_token" = [])),
    params(("team_id" = String, Path, description = "Team id"), ("agent_id" = String, Path, description = "Agent id")),
    responses(
        (status = 204, description = "No longer a member"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (team, or the agent is not a member)", body = ErrorBody),
    )
)]
pub async fn remove_member(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiPath((team_id, agent_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (t, a) = (team_id.clone(), agent_id.clone());
    if !state.db(move |s| s.remove_team_member(&auth.app.id, &t, &a)).await? {
        return Err(ApiError::not_found(format!("agent `{agent_id}` is not a member of team `{team_id}`")));
    }
    Ok(StatusCode::NO_CONTENT)
}
