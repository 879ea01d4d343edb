//! `POST /v1/uploads` (declare) and `GET /v1/uploads/{upload_id}` (where it stands), with their agent twins.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chatflow_protocol::attachment::{UploadRequest, UploadStatus};
use chatflow_protocol::{ErrorBody, ErrorCode};

use super::{max_bytes, Uploader};
use crate::auth::{AgentAuth, VisitorAuth};
use crate::domain::attachments::{check_declaration, expires_at, same_declaration};
use crate::error::ApiError;
use crate::http::{ApiJson, ApiPath};
use crate::limits::{AgentWrite, AgentWriteLimited};
use crate::state::AppState;
use crate::store::attachments::UploadRecord;
use crate::store::Put;

/// The status answer of an upload (its attachment when complete).
/// How long a status read waits for a `PATCH` still writing the upload (one whose connection was just cut ends in
/// milliseconds; a live one past this is reported as it stands).
const SETTLE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(3);

pub async fn status_of(state: &AppState, upload: &UploadRecord) -> Result<UploadStatus, ApiError> {
    let attachment = match &upload.attachment_id {
        Some(id) => {
            let id = id.clone();
            state.db(move |s| s.attachment(&id)).await?.map(|a| a.attachment)
        }
        None => None,
    };
    Ok(UploadStatus {
        upload_id: upload.upload_id.clone(),
        offset: upload.received,
        size: upload.size,
        complete: attachment.is_some(),
        attachment,
        expires_at: upload.expires_at,
    })
}

/// The uploader's live upload: an unknown or expired one is `not_found`.
pub async fn live_upload(state: &AppState, who: &Uploader, upload_id: &str) -> Result<UploadRecord, ApiError> {
    let (owner, id) = (who.owner.clone(), upload_id.to_owned());
    let now = state.now_ms();
    state
        .db(move |s| s.upload(&owner, &id))
        .await?
        .filter(|u| u.attachment_id.is_some() || u.expires_at > now)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no upload `{}` (unknown, another uploader's, or expired: declare it again)",
                upload_id.chars().take(64).collect::<String>()
            ))
        })
}

async fn declare(
    state: AppState,
    who: Uploader,
    req: UploadRequest,
) -> Result<(StatusCode, Json<UploadStatus>), ApiError> {
    let limit = max_bytes(&state, &who.app_id).await?;
    check_declaration(&req, limit)?;
    // A declaration repeated to resume answers the offset: let a cut PATCH finish writing first.
    state.uploads_in_flight.settled(&who.owner, &req.upload_id, SETTLE_PATIENCE).await;
    let now = state.now_ms();
    let record = UploadRecord {
        app_id: who.app_id.clone(),
        owner: who.owner.clone(),
        upload_id: req.upload_id.clone(),
        file_name: req.file_name.clone(),
        mime_type: req.mime_type.clone(),
        size: req.size,
        sha256: req.sha256.clone(),
        received: 0,
        attachment_id: None,
        created_at: now,
        expires_at: expires_at(now),
    };
    let mut put = {
        let r = record.clone();
        state.db(move |s| s.create_upload(&r)).await?
    };
    // An expired upload under the same id is gone: the declaration starts it afresh.
    if let Put::Existing(old) = &put {
        if old.attachment_id.is_none() && old.expires_at <= now {
            super::sweeper::discard(&state, old).await?;
            let r = record.clone();
            put = state.db(move |s| s.create_upload(&r)).await?;
        }
    }
    match put {
        Put::Created(u) => Ok((StatusCode::CREATED, Json(status_of(&state, &u).await?))),
        Put::Existing(u) if same_declaration(&u, &req) => Ok((StatusCode::OK, Json(status_of(&state, &u).await?))),
        Put::Existing(_) => Err(ApiError::new(
            ErrorCode::IdempotencyConflict,
            format!(
                "upload_id `{}` was already declared with another file name, type, size or checksum; use a new id for \
                 a new file",
                req.upload_id
            ),
        )),
    }
}

#[utoipa::path(
    post,
    path = "/v1/uploads",
    tag = "attachments",
    security(("visitor_token" = [])),
    description = "Declares a file before its bytes (resumable upload, docs/protocol.md). Idempotent by `upload_id`: \
        the same declaration again answers the current status (200).",
    request_body = UploadRequest,
    responses(
        (status = 201, description = "Declared", body = UploadStatus),
        (status = 200, description = "Declared before with the same file: its current status", body = UploadStatus),
        (status = 400, description = "invalid_body, invalid_field (name, checksum, size 0, upload_id)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 409, description = "idempotency_conflict (the id names another file)", body = ErrorBody),
        (status = 413, description = "file_too_large (above the app's limit)", body = ErrorBody),
        (status = 415, description = "unsupported_media_type (declared type not accepted)", body = ErrorBody),
        (status = 429, description = "rate_limited: the visitor's upload budget (`--limit-uploads-per-visitor`, 20 \
            per minute) is spent", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn visitor_declare(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<(StatusCode, Json<UploadStatus>), ApiError> {
    state.limits.check(crate::limits::Action::Upload, &auth.visitor.id)?;
    declare(state, (&auth).into(), req).await
}

#[utoipa::path(
    post,
    path = "/v1/agent/uploads",
    tag = "attachments",
    security(("agent_token" = []), ("agent_session" = [])),
    description = "An agent declares a file (as `POST /v1/uploads`).",
    request_body = UploadRequest,
    responses(
        (status = 201, description = "Declared", body = UploadStatus),
        (status = 200, description = "Declared before with the same file: its current status", body = UploadStatus),
        (status = 400, description = "invalid_body, invalid_field (name, checksum, size 0, upload_id)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 403, description = "csrf_failed (inbox session without its CSRF header)", body = ErrorBody),
        (status = 409, description = "idempotency_conflict (the id names another file)", body = ErrorBody),
        (status = 413, description = "file_too_large (above the app's limit)", body = ErrorBody),
        (status = 415, description = "unsupported_media_type (declared type not accepted)", body = ErrorBody),
        AgentWriteLimited,
    )
)]
pub async fn agent_declare(
    State(state): State<AppState>,
    AgentWrite(auth): AgentWrite,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<(StatusCode, Json<UploadStatus>), ApiError> {
    declare(state, (&auth).into(), req).await
}

#[utoipa::path(
    get,
    path = "/v1/uploads/{upload_id}",
    tag = "attachments",
    security(("visitor_token" = [])),
    description = "Where the upload stands: `offset` is where the next `PATCH` starts.",
    params(("upload_id" = String, Path, description = "The client's upload id")),
    responses(
        (status = 200, description = "The upload", body = UploadStatus),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown, another uploader's, or expired)", body = ErrorBody),
    )
)]
pub async fn visitor_status(
    State(state): State<AppState>,
    auth: VisitorAuth,
    ApiPath(upload_id): ApiPath<String>,
) -> Result<Json<UploadStatus>, ApiError> {
    let who: Uploader = (&auth).into();
    state.uploads_in_flight.settled(&who.owner, &upload_id, SETTLE_PATIENCE).await;
    let upload = live_upload(&state, &who, &upload_id).await?;
    Ok(Json(status_of(&state, &upload).await?))
}

#[utoipa::path(
    get,
    path = "/v1/agent/uploads/{upload_id}",
    tag = "attachments",
    security(("agent_token" = []), ("agent_session" = [])),
    description = "Where the agent's upload stands.",
    params(("upload_id" = String, Path, description = "The client's upload id")),
    responses(
        (status = 200, description = "The upload", body = UploadStatus),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
        (status = 404, description = "not_found (unknown, another uploader's, or expired)", body = ErrorBody),
    )
)]
pub async fn agent_status(
    State(state): State<AppState>,
    auth: AgentAuth,
    ApiPath(upload_id): ApiPath<String>,
) -> Result<Json<UploadStatus>, ApiError> {
    let who: Uploader = (&auth).into();
    state.uploads_in_flight.settled(&who.owner, &upload_id, SETTLE_PATIENCE).await;
    let upload = live_upload(&state, &who, &upload_id).await?;
    Ok(Json(status_of(&state, &upload).await?))
}
