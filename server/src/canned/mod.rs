//! Canned responses of an app (`/v1/agent/canned-responses`): saved replies agents insert from the composer by
//! shortcut. Placeholders in the text (`{visitor_name}`, `{visitor_first_name}`, `{visitor_email}`, `{agent_name}`)
//! are expanded by the composer; any other `{word}` is refused so that a typo never reaches a visitor.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::limits::MAX_MESSAGE_CHARS;
use chatflow_protocol::ErrorBody;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::AgentAuth;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::limits::{AgentWrite, AgentWriteLimited};
use crate::state::AppState;
use crate::store::agent::CannedRecord;

/// Longest shortcut, in characters (`[a-z0-9_-]`).
pub const MAX_SHORTCUT_CHARS: usize = 32;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// The placeholders the composer expands.
pub const PLACEHOLDERS: [&str; 4] = ["visitor_name", "visitor_first_name", "visitor_email", "agent_name"];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CannedResponse {
    pub id: String,
    pub shortcut: String,
    pub title: String,
    pub text: String,
    /// Unix ms of the last create or update.
    pub updated_at: i64,
}

impl From<CannedRecord> for CannedResponse {
    fn from(c: CannedRecord) -> Self {
        Self { id: c.id, shortcut: c.shortcut, title: c.title, text: c.text, updated_at: c.updated_at }
    }
}

/// Body of `POST` and `PUT`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedInput {
    /// `[a-z0-9_-]{1,32}`, unique in the app.
    #[schema(min_length = 1, max_length = 32, pattern = r"^[a-z0-9_-]*$")]
    pub shortcut: String,
    /// 1..=100 characters, not only spaces.
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub title: String,
    /// 1..=4000 characters, not only spaces; placeholders `{visitor_name}`, `{visitor_first_name}`,
    /// `{visitor_email}`, `{agent_name}` (any other `{word}` of a-z and `_` is refused).
    #[schema(
        min_length = 1,
        max_length = 4000,
        pattern = r"^(?![\s\S]*\{(?!(?:visitor_name|visitor_first_name|visitor_email|agent_name)\})[a-z_]+\})[\s\S]*\S"
    )]
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CannedList {
    /// Sorted by shortcut.
    pub canned_responses: Vec<CannedResponse>,
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// Checks a canned response; the error names the field and what is accepted.
pub fn validate(input: &CannedInput) -> Result<(), ApiError> {
    let n = chars(&input.shortcut);
    let ok_chars = input.shortcut.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if n == 0 || n > MAX_SHORTCUT_CHARS || !ok_chars {
        return Err(ApiError::invalid_field(format!(
            "shortcut must be 1..={MAX_SHORTCUT_CHARS} characters among a-z, 0-9, `_` and `-`, got `{}`",
            input.shortcut
        )));
    }
    let title = chars(input.title.trim());
    if title == 0 || chars(&input.title) > MAX_TITLE_CHARS {
        return Err(ApiError::invalid_field(format!(
            "title must have 1..={MAX_TITLE_CHARS} characters and not only spaces, got {}",
            chars(&input.title)
        )));
    }
    if chars(input.text.trim()) == 0 || chars(&input.text) > MAX_MESSAGE_CHARS {
        return Err(ApiError::invalid_field(format!(
            "text must have 1..={MAX_MESSAGE_CHARS} characters and not only spaces, got {}",
            chars(&input.text)
        )));
    }
    if let Some(unknown) = unknown_placeholder(&input.text) {
        return Err(ApiError::invalid_field(format!(
            "text: unknown placeholder `{{{unknown}}}`; use one of {}",
            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
        )));
    }
    Ok(())
}

/// The first `{word}` (a-z and `_`) that is not a known placeholder. Other braces are plain text.
fn unknown_placeholder(text: &str) -> Option<&str> {
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let word_len = after.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(after.len());
        let word = &after[..word_len];
        if !word.is_empty() && after[word_len..].starts_with('}') && !PLACEHOLDERS.contains(&word) {
            return Some(word);
        }
        rest = after;
    }
    None
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("canned response `{id}` does not exist"))
}

#[utoipa::path(
    get,
    path = "/v1/agent/canned-responses",
    tag = "agent",
    security(("agent_token" = [])),
    responses(
        (status = 200, description = "The app's canned responses, by shortcut", body = CannedList),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn list(State(state): State<AppState>, auth: AgentAuth) -> Result<Json<CannedList>, ApiError> {
    let app_id = auth.agent.app_id;
    let rows = state.db(move |s| s.canned_responses(&app_id)).await?;
    Ok(Json(CannedList { canned_responses: rows.into_iter().map(CannedResponse::from).collect() }))
}

#[utoipa::path(
    post,
    path = "/v1/agent/canned-responses",
    tag = "agent",
    security(("agent_token" = [])),
    request_body = CannedInput,
    responses(
        (status = 201, description = "Created", body = CannedResponse),
        (status = 400, description = "invalid_body, invalid_field (shortcut, title, text, placeholder)",
            body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 409, description = "conflict: the shortcut is taken in this app", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiJson(input): ApiJson<CannedInput>,
) -> Result<(StatusCode, Json<CannedResponse>), ApiError> {
    validate(&input)?;
    let rec = CannedRecord {
        id: Uuid::now_v7().to_string(),
        app_id: auth.agent.app_id,
        shortcut: input.shortcut,
        title: input.title,
        text: input.text,
        updated_at: state.now_ms(),
    };
    let stored = rec.clone();
    state.db(move |s| s.insert_canned(&stored)).await?;
    Ok((StatusCode::CREATED, Json(rec.into())))
}

#[utoipa::path(
    put,
    path = "/v1/agent/canned-responses/{id}",
    tag = "agent",
    security(("agent_token" = [])),
    params(("id" = String, Path, description = "Canned response id")),
    request_body = CannedInput,
    responses(
        (status = 200, description = "Replaced", body = CannedResponse),
        (status = 400, description = "invalid_body, invalid_field", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another app's)", body = ErrorBody),
        (status = 409, description = "conflict: the shortcut is taken in this app", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn update(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    ApiJson(input): ApiJson<CannedInput>,
) -> Result<Json<CannedResponse>, ApiError> {
    validate(&input)?;
    let rec = CannedRecord {
        id: id.clone(),
        app_id: auth.agent.app_id,
        shortcut: input.shortcut,
        title: input.title,
        text: input.text,
        updated_at: state.now_ms(),
    };
    let stored = state.db(move |s| s.update_canned(&rec)).await?.ok_or_else(|| missing(&id))?;
    Ok(Json(stored.into()))
}

#[utoipa::path(
    delete,
    path = "/v1/agent/canned-responses/{id}",
    tag = "agent",
    security(("agent_token" = [])),
    params(("id" = String, Path, description = "Canned response id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another app's)", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let (app_id, key) = (auth.agent.app_id, id.clone());
    if state.db(move |s| s.delete_canned(&app_id, &key)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(missing(&id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(shortcut: &str, title: &str, text: &str) -> CannedInput {
        CannedInput { shortcut: shortcut.into(), title: title.into(), text: text.into() }
    }

    #[test]
    fn shortcut_title_text_and_placeholder_rules() {
        assert!(validate(&input("hello_1-x", "Hi", "Hello {visitor_first_name}, I am {agent_name}. {x y} {}")).is_ok());
        assert!(validate(&input(&"a".repeat(32), &"t".repeat(100), &"é".repeat(MAX_MESSAGE_CHARS))).is_ok());
        let refused = |i: CannedInput| validate(&i).unwrap_err().message;
        assert!(refused(input("", "t", "x")).contains("shortcut"));
        assert!(refused(input("Hello", "t", "x")).contains("shortcut"));
        assert!(refused(input("a b", "t", "x")).contains("shortcut"));
        assert!(refused(input(&"a".repeat(33), "t", "x")).contains("shortcut"));
        assert!(refused(input("a", "  ", "x")).contains("title"));
        assert!(refused(input("a", &"t".repeat(101), "x")).contains("title"));
        assert!(refused(input("a", "t", " \n")).contains("text"));
        assert!(refused(input("a", "t", &"x".repeat(MAX_MESSAGE_CHARS + 1))).contains("text"));
        assert!(refused(input("a", "t", "Hi {visitor_nmae}")).contains("`{visitor_nmae}`"));
    }
}
