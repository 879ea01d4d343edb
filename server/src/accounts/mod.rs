//! Agent accounts over HTTP: the web inbox's sign-in (`login`, `me`, `logout`) and the admin API that manages
//! agents and teams (`admin`). Rules live in `crate::domain::agents`; the session cookie in `crate::auth::session`.

pub mod admin;
pub mod limiter;

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chatflow_protocol::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};

use crate::auth::session::{self, Session};
use crate::auth::{hash_token, AgentAuth, AgentCredential};
use crate::domain::agents::{self, LoginRefusal, SESSION_IDLE_MS, SESSION_MAX_MS};
use crate::error::ApiError;
use crate::http::ApiJson;
use crate::state::AppState;
use crate::store::accounts::SessionRecord;
use crate::store::{AgentRecord, Store, StoreError};
use limiter::Keys;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
    /// Needed only when the same email and password sign into agents of several apps.
    #[serde(default)]
    pub app_id: Option<String>,
}

/// The signed-in agent.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentMe {
    pub id: String,
    pub app_id: String,
    pub app_name: String,
    pub display_name: String,
    /// Absent for an agent that has no sign-in email (token only).
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub avatar_url: Option<String>,
    pub available: bool,
    pub team_ids: Vec<String>,
}

/// Answer of sign-in and `me`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SessionBody {
    pub agent: AgentMe,
    /// Send it as `X-CSRF-Token` with every request that is not GET/HEAD. Empty when the request used an agent
    /// token (no CSRF header is needed then).
    pub csrf_token: String,
}

fn agent_me(s: &dyn Store, agent: AgentRecord) -> Result<AgentMe, StoreError> {
    let app_name = s.app(&agent.app_id)?.map(|a| a.name).unwrap_or_else(|| agent.app_id.clone());
    let account = s.agent_account(&agent.app_id, &agent.id)?;
    let (email, team_ids) = account.map(|a| (a.email, a.team_ids)).unwrap_or_default();
    Ok(AgentMe {
        id: agent.id,
        app_id: agent.app_id,
        app_name,
        display_name: agent.display_name,
        email,
        avatar_url: agent.avatar_url,
        available: agent.available,
        team_ids,
    })
}

/// The client's address for the rate limit (see `limits::client_address`).
fn client_address(parts: &Parts, state: &AppState) -> String {
    crate::limits::client_address(parts, state.settings.trust_proxy)
}

/// The request's parts, for handlers that also read a body.
pub struct RequestParts(pub Parts);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestParts {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RequestParts(parts.clone()))
    }
}

#[utoipa::path(
    post,
    path = "/v1/agent/login",
    tag = "accounts",
    description = "Signs an agent in to the web inbox. Sets the `cf_agent_session` cookie (HttpOnly, SameSite=Strict, \
        Path=/, Secure behind https with `--trust-proxy`) and answers the CSRF token to send as `X-CSRF-Token` with \
        every request that is not GET/HEAD. An unknown email, a wrong password and a disabled agent get the same \
        401. After 5 failures for an email or 20 from an address within 15 minutes \
        (`--limit-sign-in-failures-per-email`, `--limit-sign-in-failures-per-address`): 429 with `Retry-After` until \
        the oldest of them is 15 minutes old, even with the right password.",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = SessionBody),
        (status = 400, description = "invalid_body; invalid_field when the email and password match agents of \
            several apps (give `app_id`)", body = ErrorBody),
        (status = 401, description = "invalid_credentials", body = ErrorBody),
        (status = 429, description = "rate_limited: too many failed sign-ins for this email or from this address",
            body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let keys = Keys::new(&req.email, &client_address(&parts, &state));
    state.login_limiter.check(&keys, state.now_ms())?;
    let LoginRequest { email, password, app_id } = req;
    let outcome = state.db(move |s| agents::login(s, &email, &password, app_id.as_deref())).await?;
    let agent = match outcome {
        Ok(agent) => agent,
        Err(LoginRefusal::Invalid) => {
            state.login_limiter.record_failure(&keys, state.now_ms());
            return Err(ApiError::new(ErrorCode::InvalidCredentials, "wrong email or password"));
        }
        Err(LoginRefusal::SeveralApps(apps)) => {
            return Err(ApiError::invalid_field(format!(
                "this email and password sign into several apps ({}): give `app_id`",
                apps.join(", ")
            )));
        }
    };
    state.login_limiter.record_success(&keys);
    let token = session::new_session_token();
    let now = state.now_ms();
    let record = SessionRecord {
        token_hash: hash_token(&token),
        agent_id: agent.id.clone(),
        csrf_token: session::new_csrf_token(),
        created_at: now,
        last_seen_at: now,
    };
    let csrf_token = record.csrf_token.clone();
    let me = state
        .db(move |s| {
            s.create_session(&record, now - SESSION_MAX_MS, now - SESSION_IDLE_MS)?;
            agent_me(s, agent)
        })
        .await?;
    tracing::info!(agent = %me.id, app = %me.app_id, "agent signed in");
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, session::set_cookie(&token, session::is_https(&parts, &state.settings)));
    Ok((headers, Json(SessionBody { agent: me, csrf_token })).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/agent/me",
    tag = "accounts",
    // Either one: the agent token first, so that a client holding it is not asked for a cookie.
    security(("agent_token" = []), ("agent_session" = [])),
    description = "The signed-in agent and the session's CSRF token (the inbox calls it at start).",
    responses(
        (status = 200, description = "Signed in", body = SessionBody),
        (status = 401, description = "unauthenticated (no session, or it expired: sign in again), invalid_token",
            body = ErrorBody),
    )
)]
pub async fn me(State(state): State<AppState>, auth: AgentAuth) -> Result<Json<SessionBody>, ApiError> {
    let csrf_token = match &auth.credential {
        AgentCredential::Session(Session { csrf_token, .. }) => csrf_token.clone(),
        AgentCredential::Token => String::new(),
    };
    let agent = auth.agent;
    let me = state.db(move |s| agent_me(s, agent)).await?;
    Ok(Json(SessionBody { agent: me, csrf_token }))
}

#[utoipa::path(
    post,
    path = "/v1/agent/logout",
    tag = "accounts",
    security(("agent_session" = [])),
    description = "Ends the browser session and clears its cookie (needs `X-CSRF-Token`). An agent token cannot sign \
        out: the admin disables the agent to revoke it.",
    responses(
        (status = 204, description = "Signed out; the cookie is cleared"),
        (status = 401, description = "unauthenticated", body = ErrorBody),
        (status = 403, description = "csrf_failed; forbidden with an agent token", body = ErrorBody),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    RequestParts(parts): RequestParts,
    auth: AgentAuth,
) -> Result<Response, ApiError> {
    let AgentCredential::Session(session) = auth.credential else {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "logout ends a browser session; an agent token is revoked by disabling the agent",
        ));
    };
    state.db(move |s| s.delete_session(&session.token_hash)).await?;
    let mut headers = HeaderMap::new();
    headers.insert(SET_COOKIE, session::clear_cookie(session::is_https(&parts, &state.settings)));
    Ok((StatusCode::NO_CONTENT, headers).into_response())
}
