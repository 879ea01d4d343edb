//! Internal notes (agents only): `POST` and `GET /v1/agent/conversations/{id}/notes`.
//!
//! Notes are kept in their own table and read only by these routes and the agents' feed: the visitor's history,
//! catch-up, realtime frames and transcripts read the messages table, so a note cannot reach a visitor by
//! construction. (Push notifications do not exist yet; when they do, they are fed from messages, never from notes.)

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::{Author, AuthorKind, ErrorBody};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::AgentAuth;
use crate::domain;
use crate::domain::notes::NewNote;
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::inbox::app_conversation;
use crate::limits::{AgentWrite, AgentWriteLimited};
use crate::messages::{validate_body, validate_client_id};
use crate::state::AppState;
use crate::store::agent::NoteRecord;
use crate::store::Put;

/// An internal note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Note {
    pub id: String,
    pub conversation_id: String,
    /// The conversation's last message seq when the note was written: show the note after that message (ties by
    /// `created_at`).
    pub after_seq: u64,
    pub author: Author,
    pub body: String,
    /// Unix ms.
    pub created_at: i64,
}

impl From<NoteRecord> for Note {
    fn from(n: NoteRecord) -> Self {
        Note {
            id: n.id,
            conversation_id: n.conversation_id,
            after_seq: n.after_seq,
            author: n.author,
            body: n.body,
            created_at: n.created_at,
        }
    }
}

/// `POST /v1/agent/conversations/{id}/notes` body.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// 1..=4000 characters, not only spaces (the message limits).
    #[schema(min_length = 1, max_length = 4000, pattern = r"\S")]
    pub body: String,
    /// Makes a retried note idempotent, like a reply's `client_message_id`: 1..=64 of `[A-Za-z0-9_-]`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_-]*$")]
    pub client_message_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NoteList {
    /// Oldest first.
    pub notes: Vec<Note>,
}

#[utoipa::path(
    post,
    path = "/v1/agent/conversations/{id}/notes",
    tag = "agent",
    security(("agent_token" = [])),
    description = "Writes an internal note: agents only, never delivered to the visitor (not in their history, \
        catch-up, realtime frames or transcripts). The app's feed sockets get a `note` event. With \
        `client_message_id` a retry returns the stored note (200).",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = NoteRequest,
    responses(
        (status = 201, description = "Stored", body = Note),
        (status = 200, description = "Replay of a stored note (same client_message_id)", body = Note),
        (status = 400, description = "invalid_body, invalid_field, message_too_long", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another app's conversation)", body = ErrorBody),
        (status = 409, description = "idempotency_conflict (client id reused for another note)", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<NoteRequest>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    validate_body(&req.body)?;
    if let Some(c) = &req.client_message_id {
        validate_client_id("client_message_id", c)?;
    }
    let agent = auth.agent;
    let now = state.now_ms();
    let put = state
        .db(move |s| {
            let conv = app_conversation(s, &agent.app_id, &id)?;
            // The agent's own name: notes are read by colleagues (a chatflow's alias is for visitors).
            let new = NewNote {
                id: Uuid::now_v7().to_string(),
                app_id: agent.app_id.clone(),
                conversation_id: conv.id,
                client_message_id: req.client_message_id,
                author: Author {
                    kind: AuthorKind::Agent,
                    id: Some(agent.id.clone()),
                    display_name: Some(agent.display_name.clone()),
                    avatar_url: agent.avatar_url.clone(),
                },
                body: req.body,
                now,
            };
            domain::notes::write(s, &new)
        })
        .await?;
    Ok(match put {
        Put::Created(n) => (StatusCode::CREATED, Json(n.into())),
        Put::Existing(n) => (StatusCode::OK, Json(n.into())),
    })
}

#[utoipa::path(
    get,
    path = "/v1/agent/conversations/{id}/notes",
    tag = "agent",
    security(("agent_token" = [])),
    params(("id" = String, Path, description = "Conversation id")),
    responses(
        (status = 200, description = "The conversation's notes, oldest first", body = NoteList),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (also another app's conversation)", body = ErrorBody),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NoteList>, ApiError> {
    let app_id = auth.agent.app_id;
    let notes = state
        .db(move |s| {
            app_conversation(s, &app_id, &id)?;
            s.notes(&id)
        })
        .await?;
    Ok(Json(NoteList { notes: notes.into_iter().map(Note::from).collect() }))
}
