//! The per-app file size limit: `GET/PUT /v1/admin/attachments` (admin token). The SDK reads it in
//! `ChatflowList::attachment_limits`.

use axum::extract::State;
use axum::Json;
use chatflow_protocol::attachment::{AttachmentLimits, MAX_ATTACHMENT_BYTES_CEILING};
use chatflow_protocol::ErrorBody;
use serde::{Deserialize, Serialize};

use crate::auth::AdminAuth;
use crate::error::ApiError;
use crate::http::ApiJson;
use crate::state::AppState;

/// The app's attachment settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentSettings {
    /// Largest file, in bytes: 1..=104857600 (100 MiB).
    #[schema(minimum = 1, maximum = 104857600)]
    pub max_bytes: u64,
}

/// The limits the app's SDKs see.
pub async fn limits_of(state: &AppState, app_id: &str) -> Result<AttachmentLimits, ApiError> {
    Ok(AttachmentLimits { max_bytes: super::max_bytes(state, app_id).await?, ..Default::default() })
}

/// Checks an admin's limit.
pub fn check_max_bytes(max_bytes: u64) -> Result<(), ApiError> {
    if (1..=MAX_ATTACHMENT_BYTES_CEILING).contains(&max_bytes) {
        Ok(())
    } else {
        Err(ApiError::invalid_field(format!(
            "max_bytes must be 1..={MAX_ATTACHMENT_BYTES_CEILING} (bytes), got {max_bytes}"
        )))
    }
}

#[utoipa::path(
    get,
    path = "/v1/admin/attachments",
    tag = "admin",
    security(("admin_token" = [])),
    description = "The app's attachment settings (the protocol's default until set).",
    responses(
        (status = 200, description = "The settings", body = AttachmentSettings),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn get(State(state): State<AppState>, auth: AdminAuth) -> Result<Json<AttachmentSettings>, ApiError> {
    Ok(Json(AttachmentSettings { max_bytes: super::max_bytes(&state, &auth.app.id).await? }))
}

#[utoipa::path(
    put,
    path = "/v1/admin/attachments",
    tag = "admin",
    security(("admin_token" = [])),
    description = "Sets the app's largest file. Uploads declared before keep the limit they were declared under; \
        the chatflow list (and its ETag) reports the new one.",
    request_body = AttachmentSettings,
    responses(
        (status = 200, description = "Stored", body = AttachmentSettings),
        (status = 400, description = "invalid_body, invalid_field (max_bytes out of range)", body = ErrorBody),
        (status = 401, description = "unauthenticated, invalid_token", body = ErrorBody),
    )
)]
pub async fn put(
    State(state): State<AppState>,
    auth: AdminAuth,
    ApiJson(req): ApiJson<AttachmentSettings>,
) -> Result<Json<AttachmentSettings>, ApiError> {
    check_max_bytes(req.max_bytes)?;
    let (app, max, now) = (auth.app.id.clone(), req.max_bytes, state.now_ms());
    state.db(move |s| s.set_attachment_max_bytes(&app, max, now)).await?;
    Ok(Json(req))
}
